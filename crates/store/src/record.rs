//! What the cache persists, as types that cannot hold an identifier: numbers,
//! enums and our own hashes, never a string taken from DICOM (no names,
//! IDs, dates, UIDs, institutions, descriptions). Pure Rust, so the schema
//! is tested natively and shown to the user (the privacy panel) as it is.

use serde::{Deserialize, Serialize};

/// Version of the database layout; an entry of another version is dropped
/// and rebuilt, never read.
pub const SCHEMA_VERSION: u32 = 3;

/// Bytes per stored chunk of voxels: one 158 MB value never finished in
/// Chromium, 4–64 MB chunks write and read at hundreds of MB/s.
pub const CHUNK_BYTES: usize = 16 << 20;

/// Imaging modality, as a closed set: DICOM's Modality is a code, but kept
/// as an enum no free text can slip through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Modality {
    /// Computed tomography (also CBCT).
    Ct,
    /// Magnetic resonance.
    Mr,
    /// Positron emission tomography.
    Pt,
    /// Nuclear medicine.
    Nm,
    /// Anything else.
    Other,
}

impl Modality {
    /// From DICOM's Modality code.
    pub fn from_code(code: &str) -> Self {
        match code.trim() {
            "CT" => Self::Ct,
            "MR" => Self::Mr,
            "PT" => Self::Pt,
            "NM" => Self::Nm,
            _ => Self::Other,
        }
    }

    /// The DICOM code shown to the user.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ct => "CT",
            Self::Mr => "MR",
            Self::Pt => "PT",
            Self::Nm => "NM",
            Self::Other => "OT",
        }
    }
}

/// How voxels are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoxelKind {
    /// Little-endian i16 HU.
    I16,
    /// Little-endian f32.
    F32,
}

impl VoxelKind {
    /// Bytes per voxel.
    pub fn size(self) -> usize {
        match self {
            Self::I16 => 2,
            Self::F32 => 4,
        }
    }
}

/// A small grey preview for the Recent list: the middle axial slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// One grey byte per pixel, rows top to bottom.
    pub grey: Vec<u8>,
}

/// A cached volume: geometry, value facts and where its voxels are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeRecord {
    /// [`SCHEMA_VERSION`] when written.
    pub schema: u32,
    /// Voxels per axis.
    pub dims: [u32; 3],
    /// Patient-space step per voxel along i, j, k (mm).
    pub steps_mm: [[f64; 3]; 3],
    /// Centre of voxel (0, 0, 0) in patient space (mm).
    pub origin_mm: [f64; 3],
    /// True slice positions of a non-uniform stack (mm from slice 0).
    pub slice_offsets_mm: Option<Vec<f64>>,
    /// Storage type.
    pub voxel: VoxelKind,
    /// Smallest and largest value.
    pub value_range: (f32, f32),
    /// Modality.
    pub modality: Modality,
    /// XXH3-128 (hex) of each chunk of voxel bytes, in order.
    pub chunk_hashes: Vec<String>,
    /// When it was cached (ms since 1970, this computer's clock).
    pub cached_at_ms: f64,
    /// Preview.
    pub thumbnail: Thumbnail,
}

impl VolumeRecord {
    /// Bytes of voxel data.
    pub fn voxel_bytes(&self) -> usize {
        self.dims.iter().map(|&d| d as usize).product::<usize>() * self.voxel.size()
    }

    /// Number of chunks the voxel bytes take.
    pub fn chunk_count(&self) -> usize {
        self.voxel_bytes().div_ceil(CHUNK_BYTES)
    }
}

/// The surface options a cached mesh was made with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeshOptions {
    /// Iso level (HU).
    pub iso: f32,
    /// Largest piece only.
    pub largest: bool,
    /// Pieces under this many triangles dropped.
    pub min_island: Option<usize>,
    /// Taubin smoothing iterations.
    pub smooth: u32,
    /// Triangle budget (decimation).
    pub decimate: Option<usize>,
}

impl MeshOptions {
    /// Part of the mesh's key: the options, canonically.
    pub fn key_part(&self) -> String {
        format!(
            "iso={}|largest={}|islands={:?}|smooth={}|decimate={:?}",
            self.iso, self.largest, self.min_island, self.smooth, self.decimate
        )
    }
}

/// A cached surface: indexed geometry of a cached volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeshRecord {
    /// [`SCHEMA_VERSION`] when written.
    pub schema: u32,
    /// How it was made.
    pub options: MeshOptions,
    /// Triangles.
    pub triangles: usize,
    /// Vertices.
    pub vertices: usize,
    /// Closed 2-manifold.
    pub watertight: bool,
    /// XXH3-128 (hex) of positions, normals and indices bytes, in order.
    pub hash: String,
    /// When it was cached (ms since 1970).
    pub cached_at_ms: f64,
}

/// XXH3-128 (hex) of some bytes: chunk and mesh checksums. Integrity, not
/// secrecy: it must catch damage, and be fast enough in wasm that checking
/// every byte of a 158 MB volume costs little beside reading it.
pub fn checksum(parts: &[&[u8]]) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for part in parts {
        hasher.update(part);
    }
    format!("{:032x}", hasher.digest128())
}

/// What is stored where, for the privacy panel, from the types above.
pub fn storage_description() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "DICOM files",
            "browser memory only, gone when the study is closed",
            "never written anywhere",
        ),
        (
            "Volumes",
            "IndexedDB (this browser, this computer)",
            "voxel numbers, dims, spacing, orientation, value range, modality code, a 64-pixel grey preview, date cached; keyed by a hash of the pixel data",
        ),
        (
            "Surfaces",
            "IndexedDB (this browser, this computer)",
            "triangle geometry, iso level and clean-up options",
        ),
        (
            "Settings",
            "localStorage",
            "whether to keep anything on this computer",
        ),
        (
            "Patient name, IDs, dates, UIDs, institution, descriptions",
            "nowhere",
            "read into memory for the tag browser only; no stored type can hold them",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> VolumeRecord {
        VolumeRecord {
            schema: SCHEMA_VERSION,
            dims: [512, 512, 300],
            steps_mm: [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.0]],
            origin_mm: [-128.0, -128.0, 0.0],
            slice_offsets_mm: None,
            voxel: VoxelKind::I16,
            value_range: (-1024.0, 3000.0),
            modality: Modality::Ct,
            chunk_hashes: vec![],
            cached_at_ms: 0.0,
            thumbnail: Thumbnail {
                width: 0,
                height: 0,
                grey: vec![],
            },
        }
    }

    #[test]
    fn a_512_volume_takes_ten_chunks() {
        let r = record();
        assert_eq!(r.voxel_bytes(), 512 * 512 * 300 * 2);
        assert_eq!(r.chunk_count(), 10);
    }

    #[test]
    fn records_serialise_to_numbers_and_fixed_words_only() {
        // Every string in a serialised record is a field name, an enum
        // variant or a hex hash: nothing free-form.
        let mut r = record();
        r.chunk_hashes = vec![checksum(&[b"x"])];
        let json = serde_json::to_string(&r).unwrap();
        let strings: Vec<&str> = json.split('"').skip(1).step_by(2).collect();
        for s in strings {
            let fixed = s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                || ["I16", "F32", "Ct", "Mr", "Pt", "Nm", "Other"].contains(&s)
                || (s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(fixed, "free text in a record: {s}");
        }
        assert_eq!(serde_json::from_str::<VolumeRecord>(&json).unwrap(), r);
    }

    #[test]
    fn modality_is_a_closed_set() {
        assert_eq!(Modality::from_code("CT"), Modality::Ct);
        assert_eq!(Modality::from_code("ZZPRIVACY"), Modality::Other);
        assert_eq!(Modality::Other.code(), "OT");
    }
}
