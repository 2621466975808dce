//! What the cache persists, as types that cannot hold an identifier: numbers,
//! enums and our own hashes, never a string taken from DICOM (no names,
//! IDs, dates, UIDs, institutions, descriptions). Pure Rust, so the schema
//! is tested natively and shown to the user (the privacy panel) as it is.

use serde::{Deserialize, Serialize};

pub use insitu_mesh::SurfaceOptions;
pub use insitu_volume::Modality;
use insitu_volume::{Geometry, Volume, Voxels};

use crate::StoreError;
use crate::stamp::FilesStamp;

/// Version of the database layout; an entry of another version is dropped
/// and rebuilt, never read.
pub const SCHEMA_VERSION: u32 = 5;

/// Bytes per stored chunk of voxels: one 158 MB value never finished in
/// Chromium, 4–64 MB chunks write and read at hundreds of MB/s.
pub const CHUNK_BYTES: usize = 16 << 20;

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

/// Where a volume's voxels are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum VoxelPlace {
    /// IndexedDB Blobs, one per chunk (what records without this field have).
    #[default]
    Chunks,
    /// One file in the origin private file system, the chunks end to end.
    File,
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
    /// Where the chunks are.
    #[serde(default)]
    pub voxels_in: VoxelPlace,
    /// The stamp of the files it was last opened from, so that dropping
    /// them again finds it before they are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_stamp: Option<FilesStamp>,
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

impl VolumeRecord {
    /// The record of `volume` (chunk hashes are filled in by the store):
    /// numbers, the modality code and a grey preview, nothing else.
    pub fn of(volume: &Volume, modality: Modality, value_range: (f32, f32), now_ms: f64) -> Self {
        let g = volume.geometry();
        Self {
            schema: SCHEMA_VERSION,
            dims: g.dims.to_array(),
            steps_mm: g.steps.map(|s| s.to_array()),
            origin_mm: g.origin.to_array(),
            slice_offsets_mm: volume.slice_offsets_mm().map(<[f64]>::to_vec),
            voxel: match volume.voxels() {
                Voxels::I16(_) => VoxelKind::I16,
                Voxels::F32(_) => VoxelKind::F32,
            },
            value_range,
            modality,
            chunk_hashes: Vec::new(),
            voxels_in: VoxelPlace::Chunks,
            files_stamp: None,
            cached_at_ms: now_ms,
            thumbnail: Thumbnail::of(volume, modality, value_range),
        }
    }

    /// The volume this record and its voxels describe.
    pub fn volume(&self, voxels: Voxels) -> Result<Volume, StoreError> {
        let damaged = |e: String| StoreError::Corrupt(format!("volume record: {e}"));
        let geometry = Geometry::new(
            glam::UVec3::from(self.dims),
            self.steps_mm.map(glam::DVec3::from),
            glam::DVec3::from(self.origin_mm),
        )
        .map_err(|e| damaged(e.to_string()))?;
        let volume = Volume::new(geometry, voxels).map_err(|e| damaged(e.to_string()))?;
        Ok(match &self.slice_offsets_mm {
            Some(offsets) => volume.with_slice_offsets(offsets.clone()),
            None => volume,
        })
    }
}

impl Thumbnail {
    /// Preview size (pixels on the longer side).
    const SIZE: u32 = 64;

    /// The middle axial slice, nearest-neighbour, windowed for soft tissue
    /// (CT) or to the value range.
    fn of(volume: &Volume, modality: Modality, (low, high): (f32, f32)) -> Self {
        let d = volume.geometry().dims;
        let scale = (d.x.max(d.y) as f32 / Self::SIZE as f32).max(1.0);
        let (w, h) = ((d.x as f32 / scale) as u32, (d.y as f32 / scale) as u32);
        let (lo, hi) = if modality == Modality::Ct {
            (-160.0, 240.0)
        } else {
            (low, high)
        };
        let k = d.z / 2;
        let mut grey = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let (i, j) = ((x as f32 * scale) as u32, (y as f32 * scale) as u32);
                let v = volume.value(i, j, k).unwrap_or(lo);
                grey.push((((v - lo) / (hi - lo).max(1e-6)).clamp(0.0, 1.0) * 255.0) as u8);
            }
        }
        Self {
            width: w,
            height: h,
            grey,
        }
    }
}

/// The voxels as little-endian bytes (wasm32 and x86 are little-endian),
/// as they are stored.
pub fn voxel_bytes(voxels: &Voxels) -> &[u8] {
    match voxels {
        Voxels::I16(v) => bytemuck::cast_slice(v),
        Voxels::F32(v) => bytemuck::cast_slice(v),
    }
}

/// A cached surface: indexed geometry of a cached volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeshRecord {
    /// [`SCHEMA_VERSION`] when written.
    pub schema: u32,
    /// How it was made (its identity, [`SurfaceOptions::identity`], keys it).
    pub options: SurfaceOptions,
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
    checksum_text(&hasher)
}

/// [`checksum`]'s text of what `hasher` has taken in: for bytes hashed a
/// piece at a time, the same as if they had been hashed whole.
pub(crate) fn checksum_text(hasher: &xxhash_rust::xxh3::Xxh3) -> String {
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
            "IndexedDB, the voxels in this site's private files (this browser, this computer)",
            "voxel numbers, dims, spacing, orientation, value range, modality code, a 64-pixel grey preview, the first three 2D views as drawn (windowed pixels and their planes, shown when it is opened again), date cached; keyed by a hash of the pixel data; a hash of the files' names, sizes, times and first bytes, to know them when dropped again",
        ),
        (
            "Surfaces",
            "IndexedDB (this browser, this computer)",
            "triangle geometry, iso level and clean-up options",
        ),
        (
            "Segments",
            "IndexedDB (this browser, this computer)",
            "one label number per voxel, each segment's name from the anatomical vocabulary (or its number), colour and visibility; a name you type is kept in memory and your exports only",
        ),
        (
            "Settings",
            "localStorage",
            "whether to keep anything on this computer; how the 3D view renders volumes (a preset's name, transfer-function numbers, lighting, the clip plane)",
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
            voxels_in: VoxelPlace::File,
            files_stamp: None,
            cached_at_ms: 0.0,
            thumbnail: Thumbnail {
                width: 0,
                height: 0,
                grey: vec![],
            },
        }
    }

    /// The record's voxels, as the store reads them back.
    fn read_back(volume: &Volume) -> Voxels {
        match volume.voxels() {
            Voxels::I16(v) => Voxels::I16(v.clone()),
            Voxels::F32(v) => Voxels::F32(v.clone()),
        }
    }

    #[test]
    fn a_volume_survives_its_record_and_bytes() {
        let volume = insitu_volume::phantom::demo_spine(insitu_volume::phantom::PhantomSize {
            matrix: 48,
            slices: 20,
            ..insitu_volume::phantom::PhantomSize::DEMO
        });
        let record = VolumeRecord::of(&volume, Modality::Ct, (-1000.0, 1500.0), 5.0);
        assert_eq!(record.modality, Modality::Ct);
        assert_eq!(record.thumbnail.grey.len(), 48 * 48);
        assert!(record.thumbnail.grey.iter().any(|&g| g > 100));
        assert_eq!(voxel_bytes(volume.voxels()).len(), record.voxel_bytes());
        assert_eq!(record.volume(read_back(&volume)).unwrap(), volume);
        // A buffer of the wrong size is damage, not a panic.
        assert!(matches!(
            record.volume(Voxels::I16(vec![0; 7])),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn slice_offsets_and_shear_come_back() {
        let g = Geometry::new(
            glam::UVec3::new(3, 2, 3),
            [
                glam::DVec3::X,
                glam::DVec3::Y,
                glam::DVec3::new(0.0, 0.3, 1.0),
            ],
            glam::DVec3::new(1.0, 2.0, 3.0),
        )
        .unwrap();
        let volume = Volume::new(g, Voxels::F32((0..18).map(|v| v as f32 * 0.5).collect()))
            .unwrap()
            .with_slice_offsets(vec![0.0, 1.0, 3.5]);
        let record = VolumeRecord::of(&volume, Modality::Mr, (0.0, 8.5), 0.0);
        assert_eq!(record.volume(read_back(&volume)).unwrap(), volume);
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
        // The files' stamp is made from names and header bytes, and is
        // numbers.
        let named = crate::FileFacts {
            name: "DOE^JOHN/IM0001",
            size: 526_336,
            modified_ms: 1.7e12,
        };
        r.files_stamp = Some(FilesStamp::of(&[named], 300, &[b"DOE^JOHN 1.2.840.1"]));
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("DOE") && !json.contains("1.2.840"), "{json}");
        let strings: Vec<&str> = json.split('"').skip(1).step_by(2).collect();
        for s in strings {
            let fixed = s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                || [
                    "I16", "F32", "Ct", "Mr", "Pt", "Nm", "Other", "Chunks", "File",
                ]
                .contains(&s)
                || (s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(fixed, "free text in a record: {s}");
        }
        assert_eq!(serde_json::from_str::<VolumeRecord>(&json).unwrap(), r);
        // A record written before stamps reads as unstamped.
        r.files_stamp = None;
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("files_stamp"));
        assert_eq!(serde_json::from_str::<VolumeRecord>(&json).unwrap(), r);
    }
}
