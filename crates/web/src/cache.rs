//! Between a loaded volume and its cache record: what is persisted is built
//! here from the volume's numbers alone (geometry, voxels, value range, the
//! modality code, a grey preview), never from DICOM text. Pure Rust, so the
//! round trip is tested natively.

use insitu_store::{Modality, SCHEMA_VERSION, Thumbnail, VolumeRecord, VoxelKind};
use insitu_volume::{Geometry, Volume, Voxels};

/// The IndexedDB database derived data is cached in.
pub const DATABASE: &str = "insitu-cache";

/// Preview size (pixels on the longer side).
const THUMBNAIL: u32 = 64;

/// The record of `volume` (chunk hashes are filled in by the store).
pub fn record_of(
    volume: &Volume,
    modality: &str,
    value_range: (f32, f32),
    now_ms: f64,
) -> VolumeRecord {
    let g = volume.geometry();
    VolumeRecord {
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
        modality: Modality::from_code(modality),
        chunk_hashes: Vec::new(),
        cached_at_ms: now_ms,
        thumbnail: thumbnail(volume, modality == "CT", value_range),
    }
}

/// The middle axial slice, nearest-neighbour, windowed for soft tissue (CT)
/// or to the value range.
fn thumbnail(volume: &Volume, ct: bool, (low, high): (f32, f32)) -> Thumbnail {
    let d = volume.geometry().dims;
    let scale = (d.x.max(d.y) as f32 / THUMBNAIL as f32).max(1.0);
    let (w, h) = ((d.x as f32 / scale) as u32, (d.y as f32 / scale) as u32);
    let (lo, hi) = if ct { (-160.0, 240.0) } else { (low, high) };
    let k = d.z / 2;
    let mut grey = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let (i, j) = ((x as f32 * scale) as u32, (y as f32 * scale) as u32);
            let v = volume.value(i, j, k).unwrap_or(lo);
            grey.push((((v - lo) / (hi - lo).max(1e-6)).clamp(0.0, 1.0) * 255.0) as u8);
        }
    }
    Thumbnail {
        width: w,
        height: h,
        grey,
    }
}

/// The voxels as little-endian bytes (wasm32 and x86 are little-endian).
pub fn voxel_bytes(voxels: &Voxels) -> &[u8] {
    match voxels {
        Voxels::I16(v) => bytemuck::cast_slice(v),
        Voxels::F32(v) => bytemuck::cast_slice(v),
    }
}

/// The cache's description of the clean-up a surface request asks for.
pub fn mesh_options(request: &crate::protocol::SurfaceRequest) -> insitu_store::MeshOptions {
    insitu_store::MeshOptions {
        iso: request.iso,
        largest: request.largest,
        min_island: request.min_island,
        smooth: request.smooth as u32,
        decimate: request.decimate,
    }
}

/// A mesh from its flat arrays (xyz per vertex, three indices per triangle).
pub fn mesh_of(positions: &[f32], normals: &[f32], indices: &[u32]) -> insitu_mesh::Mesh {
    let vec3 = |v: &[f32]| {
        v.chunks_exact(3)
            .map(|c| glam::Vec3::new(c[0], c[1], c[2]))
            .collect()
    };
    insitu_mesh::Mesh {
        positions: vec3(positions),
        normals: vec3(normals),
        triangles: indices
            .chunks_exact(3)
            .map(|t| [t[0], t[1], t[2]])
            .collect(),
    }
}

/// The volume a record and its voxels describe.
pub fn volume_of(record: &VolumeRecord, voxels: Voxels) -> Result<Volume, String> {
    let steps = record.steps_mm.map(glam::DVec3::from);
    let geometry = Geometry::new(
        glam::UVec3::from(record.dims),
        steps,
        glam::DVec3::from(record.origin_mm),
    )
    .map_err(|e| e.to_string())?;
    let volume = Volume::new(geometry, voxels).map_err(|e| e.to_string())?;
    Ok(match &record.slice_offsets_mm {
        Some(offsets) => volume.with_slice_offsets(offsets.clone()),
        None => volume,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use insitu_volume::phantom::{PhantomSize, demo_spine};

    /// An empty volume of the record's size and type, to read voxels into.
    fn empty_voxels(record: &VolumeRecord) -> Voxels {
        let n = record.dims.iter().map(|&d| d as usize).product();
        match record.voxel {
            VoxelKind::I16 => Voxels::I16(vec![0; n]),
            VoxelKind::F32 => Voxels::F32(vec![0.0; n]),
        }
    }

    /// The voxels as bytes to fill.
    fn voxel_bytes_mut(voxels: &mut Voxels) -> &mut [u8] {
        match voxels {
            Voxels::I16(v) => bytemuck::cast_slice_mut(v),
            Voxels::F32(v) => bytemuck::cast_slice_mut(v),
        }
    }

    #[test]
    fn a_volume_survives_its_record_and_bytes() {
        let volume = demo_spine(PhantomSize {
            matrix: 48,
            slices: 20,
            ..PhantomSize::DEMO
        });
        let record = record_of(&volume, "CT", (-1000.0, 1500.0), 5.0);
        assert_eq!(record.modality, Modality::Ct);
        assert_eq!(record.thumbnail.grey.len(), 48 * 48);
        assert!(record.thumbnail.grey.iter().any(|&g| g > 100));
        let mut voxels = empty_voxels(&record);
        voxel_bytes_mut(&mut voxels).copy_from_slice(voxel_bytes(volume.voxels()));
        assert_eq!(volume_of(&record, voxels).unwrap(), volume);
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
        let record = record_of(&volume, "MR", (0.0, 8.5), 0.0);
        let mut voxels = empty_voxels(&record);
        voxel_bytes_mut(&mut voxels).copy_from_slice(voxel_bytes(volume.voxels()));
        assert_eq!(volume_of(&record, voxels).unwrap(), volume);
    }
}
