//! The built-in demo: a synthetic spine CT in HU, generated in Rust so the
//! app works with no files, offline, and with no patient data at all; and,
//! because the generator knows where every bone is, the first test of the
//! spine analysis ([`demo_spine_with_truth`]).
//!
//! Axial slices in LPS (+x patient left, +y posterior, +z superior) from the
//! sacrum and iliac wings up to the middle of T10: waisted vertebral bodies with cortex,
//! cancellous core and concave endplates; pedicles, laminae, articular,
//! transverse and spinous processes; discs; the dural sac; ribs on T10 to
//! T12; aorta and IVC in soft tissue and fat. Variants: a normal lordosis, a
//! scoliosis of about 25°, an L1 wedge fracture. Edges are anti-aliased over
//! one voxel and a little deterministic noise is added.

mod model;
mod shapes;

use glam::{DVec3, UVec3};

use crate::{Geometry, Volume, Voxels};
use model::{SpineModel, body_ends, waist};
use shapes::noise;

/// Size and sampling of the demo phantom.
#[derive(Debug, Clone, Copy)]
pub struct PhantomSize {
    /// Columns and rows.
    pub matrix: u32,
    /// Slices.
    pub slices: u32,
    /// In-plane pixel size, mm.
    pub pixel_mm: f64,
    /// Slice spacing, mm.
    pub slice_mm: f64,
}

impl PhantomSize {
    /// What the app's "Open demo spine" loads: 288²×300 at 1.2 × 1.2 × 1 mm
    /// (50 MB of i16), T10 to the sacrum.
    pub const DEMO: Self = Self {
        matrix: 288,
        slices: 300,
        pixel_mm: 1.2,
        slice_mm: 1.0,
    };
}

/// Which spine the demo shows.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Variant {
    /// A normal lumbar lordosis (about 44° from L1 to S1).
    #[default]
    Normal,
    /// A thoracolumbar scoliosis of 25° (Cobb, T11 to L4).
    Scoliosis,
    /// An anterior wedge fracture of L1 (anterior height about 65% of the
    /// posterior: Genant grade 2).
    L1Wedge,
}

impl Variant {
    /// Every variant, in menu order.
    pub const ALL: [Variant; 3] = [Variant::Normal, Variant::Scoliosis, Variant::L1Wedge];

    /// A short stable key (cache keys, the CLI, `data-` attributes).
    pub fn key(self) -> &'static str {
        match self {
            Variant::Normal => "normal",
            Variant::Scoliosis => "scoliosis",
            Variant::L1Wedge => "l1-wedge",
        }
    }

    /// The variant a key names.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.key() == key)
    }
}

/// What the generator knows about one vertebra.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthVertebra {
    /// "T11" … "L5".
    pub name: &'static str,
    /// Body centre (patient mm).
    pub centre_mm: DVec3,
    /// Body heights (mm) anterior, middle and posterior, measured parallel
    /// to the body's axis in its mid-sagittal plane, the anterior and
    /// posterior ones at 80% of the half-depth at mid-height.
    pub heights_mm: [f64; 3],
    /// Unit normals (pointing up) of the superior and inferior endplates.
    pub superior_normal: DVec3,
    /// See `superior_normal`.
    pub inferior_normal: DVec3,
    /// Its body lies wholly inside the volume (not cut by its first or
    /// last slice).
    pub whole: bool,
}

/// Everything the generator knows: which structure holds each voxel and
/// the numbers a spine analysis should find.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Per voxel (the volume's order): 0 for none, else 1 + an index into
    /// `structures`.
    pub labels: Vec<u8>,
    /// "T11" … "L5", "sacrum", "pelvis", "ribs".
    pub structures: Vec<&'static str>,
    /// T11 … L5, top down.
    pub vertebrae: Vec<TruthVertebra>,
    /// The S1 superior endplate's normal.
    pub sacrum_normal: DVec3,
    /// Lumbar lordosis: L1 superior to S1 superior endplate, sagittal, degrees.
    pub lordosis_deg: f64,
    /// Largest coronal angle between a superior and a lower inferior
    /// endplate, among the whole vertebrae.
    pub cobb_deg: f64,
}

/// Sagittal angle (degrees) of a plane with normal `n`: positive when it
/// faces anteriorly.
pub fn sagittal_deg(n: DVec3) -> f64 {
    (-n.y).atan2(n.z).to_degrees()
}

/// Coronal angle (degrees) of a plane with normal `n`: positive when it
/// faces the patient's left.
pub fn coronal_deg(n: DVec3) -> f64 {
    n.x.atan2(n.z).to_degrees()
}

/// The normal demo spine as an i16 HU volume with axis-aligned LPS
/// geometry, centred on the origin in-plane and starting at z = 0.
pub fn demo_spine(size: PhantomSize) -> Volume {
    generate(size, Variant::Normal, false).0
}

/// A demo spine and its truth.
pub fn demo_spine_with_truth(size: PhantomSize, variant: Variant) -> (Volume, Truth) {
    let (volume, labels, model) = generate(size, variant, true);
    let g = volume.geometry();
    let z = (
        g.origin.z,
        g.origin.z + g.steps[2].z * f64::from(g.dims.z - 1),
    );
    (volume, truth(&model, labels, z))
}

/// A demo variant without its truth (what the app opens).
pub fn demo_variant(size: PhantomSize, variant: Variant) -> Volume {
    generate(size, variant, false).0
}

fn generate(
    size: PhantomSize,
    variant: Variant,
    with_labels: bool,
) -> (Volume, Vec<u8>, SpineModel) {
    let model = SpineModel::new(variant);
    let n = size.matrix;
    let half = (f64::from(n) - 1.0) / 2.0 * size.pixel_mm;
    // The column's middle in the slice range (the model spans z_range).
    let height = f64::from(size.slices) * size.slice_mm;
    let z0 = ((model.z_range.1 - height) / 2.0).max(0.0);
    let geometry = Geometry::axis_aligned(
        UVec3::new(n, n, size.slices),
        DVec3::new(size.pixel_mm, size.pixel_mm, size.slice_mm),
        DVec3::new(-half, -half, z0),
    )
    .expect("the demo geometry is valid");
    let mut voxels = Vec::with_capacity(geometry.voxel_count());
    let mut labels = Vec::with_capacity(if with_labels {
        geometry.voxel_count()
    } else {
        0
    });
    let names = structure_names(&model);
    let bone_label: Vec<u8> = model
        .bones
        .iter()
        .map(|b| names.iter().position(|n| *n == b.name).expect("named") as u8 + 1)
        .collect();
    for k in 0..size.slices {
        let z = z0 + f64::from(k) * size.slice_mm;
        let near = model.bones_near(z);
        let centre = model.column_at(z);
        for j in 0..n {
            let y = f64::from(j) * size.pixel_mm - half;
            for i in 0..n {
                let x = f64::from(i) * size.pixel_mm - half;
                let (hu, owner) = model.sample(DVec3::new(x, y, z), size.pixel_mm, &near, centre);
                let hu = hu + 8.0 * noise(i, j, k);
                voxels.push(hu.round().clamp(-1024.0, 3071.0) as i16);
                if with_labels {
                    labels.push(owner.map_or(0, |o| bone_label[o]));
                }
            }
        }
    }
    let volume = Volume::new(geometry, Voxels::I16(voxels)).expect("sizes match");
    (volume, labels, model)
}

fn structure_names(model: &SpineModel) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for b in &model.bones {
        if !names.contains(&b.name) {
            names.push(b.name);
        }
    }
    names
}

fn truth(model: &SpineModel, labels: Vec<u8>, (z_low, z_high): (f64, f64)) -> Truth {
    let vertebrae: Vec<TruthVertebra> = model
        .vertebrae
        .iter()
        .map(|v| {
            let l = v.level;
            let offset = 0.8 * l.d * waist(0.0, l.h);
            let heights_mm = [offset, 0.0, -offset].map(|y| {
                let (bottom, top) = body_ends(0.0, y, l.w, l.d, l.h, v.wedge);
                top - bottom
            });
            let f = v.frame;
            let reach = l.h / 2.0 + 6.0;
            TruthVertebra {
                whole: f.origin.z - reach > z_low && f.origin.z + reach < z_high,
                name: l.name,
                centre_mm: f.origin,
                heights_mm,
                superior_normal: (f.up + f.anterior * (v.wedge / (2.0 * l.d))).normalize(),
                inferior_normal: f.up,
            }
        })
        .collect();
    let sacrum_normal = model.sacrum.up;
    let l1 = vertebrae
        .iter()
        .find(|v| v.name == "L1")
        .expect("L1 is modelled");
    let lordosis_deg = sagittal_deg(sacrum_normal) - sagittal_deg(l1.superior_normal);
    let mut cobb_deg: f64 = 0.0;
    let whole: Vec<&TruthVertebra> = vertebrae.iter().filter(|v| v.whole).collect();
    for (i, upper) in whole.iter().enumerate() {
        for lower in &whole[i..] {
            let angle = coronal_deg(upper.superior_normal) - coronal_deg(lower.inferior_normal);
            cobb_deg = cobb_deg.max(angle.abs());
        }
    }
    Truth {
        labels,
        structures: structure_names(model),
        vertebrae,
        sacrum_normal,
        lordosis_deg,
        cobb_deg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: PhantomSize = PhantomSize {
        matrix: 128,
        slices: 40,
        pixel_mm: 2.75,
        slice_mm: 2.5,
    };

    fn value_at(volume: &Volume, world: DVec3) -> f64 {
        let index = volume.geometry().index_of(world).round();
        f64::from(
            volume
                .value(index.x as u32, index.y as u32, index.z as u32)
                .expect("inside the grid"),
        )
    }

    #[test]
    fn anatomy_has_the_expected_densities() {
        let v = demo_spine(SMALL);
        assert_eq!(v.geometry().dims, UVec3::new(128, 128, 40));
        // Air at the corner, fat under the skin, soft tissue inside.
        let z = v.geometry().origin.z + 50.0;
        assert!(value_at(&v, DVec3::new(-170.0, -170.0, z)) < -950.0);
        assert!((value_at(&v, DVec3::new(153.0, 10.0, z)) + 100.0).abs() < 30.0);
        assert!((value_at(&v, DVec3::new(-80.0, -60.0, z)) - 45.0).abs() < 30.0);
        // Bone somewhere on every axial slice through a vertebral body.
        let bone = match v.voxels() {
            Voxels::I16(x) => x.iter().filter(|&&h| h >= 300).count(),
            Voxels::F32(_) => unreachable!(),
        };
        assert!(bone > 1000, "{bone} bone voxels");
    }

    #[test]
    fn it_is_deterministic() {
        assert!(demo_spine(SMALL).voxels() == demo_spine(SMALL).voxels());
    }
}
