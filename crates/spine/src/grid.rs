//! The CT as the analysis reads it: HU by index, trilinear HU at a patient
//! point, and the in-plane directions a slice shows (anterior, lateral), so
//! the rest works on any axial series, tilted or not, without a copy.

use glam::{DVec2, DVec3};
use insitu_volume::{Volume, Voxels};

use crate::SpineError;

/// Read-only view of an axial volume.
pub(crate) struct Grid<'a> {
    volume: &'a Volume,
    pub dims: [usize; 3],
    /// In-plane pixel size (mm) along i and j, and the slice step.
    pub spacing: DVec3,
    /// Patient anterior (−y) and left (+x) as unit vectors in a slice's
    /// (i mm, j mm) plane.
    pub anterior: DVec2,
    pub lateral: DVec2,
    /// How bone is read (see [`Reading`]).
    pub reading: Reading,
}

/// How the analysis reads bone. A young adult's CT on thin slices shows
/// cortex and cancellous bone well above 180 HU and the canal closed by
/// bone at each pedicle; osteoporotic bone (marrow at 50–150 HU) or 3 mm
/// voxels (cortex averaged with soft tissue) need a lower threshold, a
/// canal whose ring may be open and cortical rings filled across gaps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reading {
    /// Bone from this HU up.
    pub bone_hu: f32,
    /// Open-ringed canal pockets, and holes filled across cortical gaps.
    pub lenient: bool,
    /// Open pockets too big or ragged for a canal are cut at their necks,
    /// and pockets as bright as fatty marrow are no canal (see `canal`):
    /// where the canal leaks into the foramina and between the laminae at
    /// the lumbosacral junction, which on fine pixels with 3 mm slices left
    /// the sacral canal unfound, the column straight through S1 and L5
    /// merged with the sacrum. Last: the parts are half canals elsewhere,
    /// and move the column where a whole canal was found.
    pub split_necks: bool,
}

impl Reading {
    /// Tried in order until one gives a plausible spine.
    pub const LADDER: [Reading; 4] = [
        Reading {
            bone_hu: 180.0,
            lenient: false,
            split_necks: false,
        },
        Reading {
            bone_hu: 150.0,
            lenient: true,
            split_necks: false,
        },
        Reading {
            bone_hu: 125.0,
            lenient: true,
            split_necks: false,
        },
        Reading {
            bone_hu: 125.0,
            lenient: true,
            split_necks: true,
        },
    ];
}

/// Which cell of a grid `stride` pixels to a side each pixel of a slice
/// falls in, by lookup: a division per pixel, in passes that read every
/// slice, was a tenth of the whole analysis.
pub(crate) struct CellIndex {
    column: Vec<usize>,
    row: Vec<usize>,
    /// Pixels to a cell's side.
    pub stride: usize,
    /// Cells across and down.
    pub w: usize,
    pub h: usize,
}

impl CellIndex {
    pub fn new(dims: [usize; 3], stride: usize) -> Self {
        let (w, h) = (dims[0].div_ceil(stride), dims[1].div_ceil(stride));
        Self {
            column: (0..dims[0]).map(|i| i / stride).collect(),
            row: (0..dims[1]).map(|j| (j / stride) * w).collect(),
            stride,
            w,
            h,
        }
    }

    /// The cell (row by row) of pixel (i, j).
    pub fn of(&self, i: usize, j: usize) -> usize {
        self.row[j] + self.column[i]
    }
}

impl<'a> Grid<'a> {
    /// Refuses a volume whose slices are not roughly axial.
    pub fn new(volume: &'a Volume) -> Result<Self, SpineError> {
        let g = volume.geometry();
        let dirs = g.directions();
        let normal = dirs[0].cross(dirs[1]).normalize();
        if normal.z.abs() < 45f64.to_radians().cos() {
            return Err(SpineError::NotAxial {
                degrees: normal.z.abs().acos().to_degrees(),
            });
        }
        let along = |v: DVec3| DVec2::new(dirs[0].dot(v), dirs[1].dot(v)).normalize_or_zero();
        let d = g.dims;
        Ok(Self {
            volume,
            dims: [d.x as usize, d.y as usize, d.z as usize],
            spacing: g.spacing(),
            anterior: along(DVec3::NEG_Y),
            lateral: along(DVec3::X),
            reading: Reading::LADDER[0],
        })
    }

    /// HU of bone in this reading.
    pub fn bone_hu(&self) -> f32 {
        self.reading.bone_hu
    }

    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        (k * self.dims[1] + j) * self.dims[0] + i
    }

    /// HU at a voxel index.
    pub fn hu(&self, index: usize) -> f32 {
        match self.volume.voxels() {
            Voxels::I16(v) => f32::from(v[index]),
            Voxels::F32(v) => v[index],
        }
    }

    /// Calls `f(j, row)` for every row of slice `k` in HU: one match on
    /// the voxel type per slice, and whole rows for loops the compiler can
    /// unroll (per-pixel callbacks cost twice as much in wasm).
    pub fn each_row(&self, k: usize, mut f: impl FnMut(usize, &[f32])) {
        let [ni, nj, _] = self.dims;
        let range = k * ni * nj..(k + 1) * ni * nj;
        match self.volume.voxels() {
            Voxels::I16(v) => {
                let mut hu = vec![0f32; ni];
                for (j, row) in v[range].chunks_exact(ni).enumerate() {
                    for (h, &v) in hu.iter_mut().zip(row) {
                        *h = f32::from(v);
                    }
                    f(j, &hu);
                }
            }
            Voxels::F32(v) => {
                for (j, row) in v[range].chunks_exact(ni).enumerate() {
                    f(j, row);
                }
            }
        }
    }

    pub fn hu_at(&self, i: usize, j: usize, k: usize) -> f32 {
        self.hu(self.index(i, j, k))
    }

    /// Patient position (mm) of a voxel centre.
    pub fn world(&self, i: f64, j: f64, k: f64) -> DVec3 {
        self.volume.geometry().world_of(DVec3::new(i, j, k))
    }

    /// Fractional voxel index of a patient position.
    pub fn index_of(&self, p: DVec3) -> DVec3 {
        self.volume.geometry().index_of(p)
    }

    /// Trilinear HU at a patient point (−1000 outside the grid).
    pub fn sample(&self, p: DVec3) -> f32 {
        let f = self.index_of(p);
        let [ni, nj, nk] = self.dims.map(|n| n as f64 - 1.0);
        if !(f.x >= 0.0 && f.y >= 0.0 && f.z >= 0.0 && f.x <= ni && f.y <= nj && f.z <= nk) {
            return -1000.0;
        }
        let (i0, j0, k0) = (f.x.floor(), f.y.floor(), f.z.floor());
        let (fx, fy, fz) = ((f.x - i0) as f32, (f.y - j0) as f32, (f.z - k0) as f32);
        let (i0, j0, k0) = (i0 as usize, j0 as usize, k0 as usize);
        let (i1, j1, k1) = (
            (i0 + 1).min(self.dims[0] - 1),
            (j0 + 1).min(self.dims[1] - 1),
            (k0 + 1).min(self.dims[2] - 1),
        );
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let plane = |k: usize| {
            lerp(
                lerp(self.hu_at(i0, j0, k), self.hu_at(i1, j0, k), fx),
                lerp(self.hu_at(i0, j1, k), self.hu_at(i1, j1, k), fx),
                fy,
            )
        };
        lerp(plane(k0), plane(k1), fz)
    }

    /// Nearest voxel index of a patient point, if inside.
    pub fn voxel_of(&self, p: DVec3) -> Option<[usize; 3]> {
        let f = self.index_of(p).round();
        let inside = f.x >= 0.0
            && f.y >= 0.0
            && f.z >= 0.0
            && (f.x as usize) < self.dims[0]
            && (f.y as usize) < self.dims[1]
            && (f.z as usize) < self.dims[2];
        inside.then_some([f.x as usize, f.y as usize, f.z as usize])
    }

    /// Cost of one step along i, j and k in tenths of a mm, for shortest
    /// paths through bone that do not favour the coarse axis.
    pub fn step_costs(&self) -> [u32; 3] {
        self.spacing
            .to_array()
            .map(|mm| Self::path_length(mm).max(1))
    }

    /// A length (mm) in the units of [`Self::step_costs`].
    pub fn path_length(mm: f64) -> u32 {
        (mm * 10.0).round() as u32
    }

    /// In-plane (i mm, j mm) position of a pixel.
    pub fn plane_mm(&self, i: f64, j: f64) -> DVec2 {
        DVec2::new(i * self.spacing.x, j * self.spacing.y)
    }
}

/// A blank (0 HU) axial volume of `dims` voxels of 1 mm at the origin, for
/// the unit tests that need a [`Grid`].
#[cfg(test)]
pub(crate) fn blank_volume(dims: [usize; 3]) -> Volume {
    let steps = [DVec3::X, DVec3::Y, DVec3::Z];
    let size = glam::UVec3::new(dims[0] as u32, dims[1] as u32, dims[2] as u32);
    let geometry = insitu_volume::Geometry::new(size, steps, DVec3::ZERO).expect("a grid");
    let voxels = Voxels::I16(vec![0; dims.iter().product()]);
    Volume::new(geometry, voxels).expect("a volume")
}
