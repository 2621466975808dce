//! The CT as the analysis reads it: HU by index, trilinear HU at a patient
//! point, and the in-plane directions a slice shows (anterior, lateral), so
//! the rest works on any axial series, tilted or not. A series stored
//! sagittal or coronal, or with an axis running the other way (right to
//! left, front to back, feet up), is read through a copy with its axes
//! reordered into the usual axial order, so that the slices the analysis
//! walks are axial and it reads every series of one CT alike; its labels
//! go back to the stored order at the end ([`Grid::labelmap_of`]).

use std::borrow::Cow;

use glam::{DVec2, DVec3, UVec3};
use insitu_segment::Labelmap;
use insitu_volume::{Geometry, Volume, Voxels};

use crate::SpineError;

/// Read-only view of a volume as axial slices.
pub(crate) struct Grid<'a> {
    volume: Source<'a>,
    /// The grid's axes as the stored volume's.
    axes: Axes,
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
    /// Refuses a volume none of whose three planes is roughly axial.
    pub fn new(volume: &'a Volume) -> Result<Self, SpineError> {
        let axes = Axes::axial_for(volume.geometry())?;
        let volume = if axes.is_stored() {
            Source::Stored(volume)
        } else {
            Source::Reordered(Box::new(axes.reordered(volume)))
        };
        let g = volume.get().geometry();
        let dirs = g.directions();
        let along = |v: DVec3| DVec2::new(dirs[0].dot(v), dirs[1].dot(v)).normalize_or_zero();
        let (d, spacing) = (g.dims, g.spacing());
        let (anterior, lateral) = (along(DVec3::NEG_Y), along(DVec3::X));
        Ok(Self {
            volume,
            axes,
            dims: [d.x as usize, d.y as usize, d.z as usize],
            spacing,
            anterior,
            lateral,
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
        match self.volume.get().voxels() {
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
        match self.volume.get().voxels() {
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
        self.volume.get().geometry().world_of(DVec3::new(i, j, k))
    }

    /// Fractional voxel index of a patient position.
    pub fn index_of(&self, p: DVec3) -> DVec3 {
        self.volume.get().geometry().index_of(p)
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

impl Grid<'_> {
    /// `labels` in the grid's order, as a labelmap on the stored volume's
    /// grid: what the caller's views and exports index.
    pub fn labelmap_of(&self, labels: Vec<u8>) -> Labelmap {
        let labels = self.axes.into_stored_order(labels);
        Labelmap::from_labels(self.axes.stored.map(|n| n as u32), labels).expect("sizes match")
    }

    /// A labelmap on the stored volume's grid in the grid's order; none
    /// when it is on another grid.
    pub fn labels_of<'l>(&self, labelmap: &'l Labelmap) -> Option<Cow<'l, Labelmap>> {
        if labelmap.dims().map(|n| n as usize) != self.axes.stored {
            return None;
        }
        if self.axes.is_stored() {
            return Some(Cow::Borrowed(labelmap));
        }
        let labels = self.axes.in_grid_order(labelmap.labels());
        let dims = self.dims.map(|n| n as u32);
        Some(Cow::Owned(
            Labelmap::from_labels(dims, labels).expect("sizes match"),
        ))
    }
}

/// The volume a grid reads: the caller's, or a copy with its axes
/// reordered.
enum Source<'a> {
    Stored(&'a Volume),
    Reordered(Box<Volume>),
}

impl Source<'_> {
    fn get(&self) -> &Volume {
        match self {
            Source::Stored(v) => v,
            Source::Reordered(v) => v,
        }
    }
}

/// Which stored axis each of the grid's axes is (`from[g]`), whether it
/// runs the other way (`reversed[g]`), and the stored dims.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axes {
    from: [usize; 3],
    reversed: [bool; 3],
    stored: [usize; 3],
}

/// How far (degrees) the slices may lean from axial.
const MOST_FROM_AXIAL_DEG: f64 = 45.0;

impl Axes {
    /// The grid's axes for `g`: its slice axis the one across whose two
    /// other axes' plane is the most axial, within `MOST_FROM_AXIAL_DEG`;
    /// of those two, the one nearer the patient's left-right first; each
    /// run towards the patient's left, back and head. The analysis is not
    /// blind to which way a series runs: TotalSegmentator's CT stored with
    /// rows right to left and slices head down read L5 0.844 of the
    /// reference and left it no midline voxel behind its body, for 0.899
    /// read the usual way. A series already in that order is read as it
    /// is, without a copy.
    fn axial_for(g: &Geometry) -> Result<Self, SpineError> {
        let dirs = g.directions();
        let stored = [g.dims.x, g.dims.y, g.dims.z].map(|n| n as usize);
        let across = |k: usize| {
            let (a, b) = ((k + 1) % 3, (k + 2) % 3);
            dirs[a].cross(dirs[b]).normalize().z.abs()
        };
        let k = if across(2) >= MOST_FROM_AXIAL_DEG.to_radians().cos() {
            2
        } else {
            (0..3)
                .max_by(|&a, &b| across(a).total_cmp(&across(b)))
                .expect("three axes")
        };
        if across(k) < MOST_FROM_AXIAL_DEG.to_radians().cos() {
            return Err(SpineError::NotAxial {
                degrees: across(2).acos().to_degrees(),
            });
        }
        let (a, b) = ((k + 1) % 3, (k + 2) % 3);
        let (a, b) = (a.min(b), a.max(b));
        let from = if k == 2 || dirs[a].x.abs() >= dirs[b].x.abs() {
            [a, b, k]
        } else {
            [b, a, k]
        };
        let towards = [DVec3::X, DVec3::Y, DVec3::Z];
        let reversed = [0, 1, 2].map(|g| dirs[from[g]].dot(towards[g]) < 0.0);
        Ok(Self {
            from,
            reversed,
            stored,
        })
    }

    fn is_stored(self) -> bool {
        self.from == [0, 1, 2] && self.reversed == [false; 3]
    }

    /// The stored linear index of each grid voxel, in the grid's order.
    fn stored_indices(self) -> impl Iterator<Item = usize> {
        let s = self.stored;
        let strides = [1, s[0], s[0] * s[1]];
        let [ni, nj, nk] = self.from.map(|a| s[a]);
        // Per grid axis: the stored index of its first voxel's offset and
        // the signed stride of a step along it.
        let step = |g: usize| {
            let (n, stride) = (s[self.from[g]], strides[self.from[g]] as isize);
            if self.reversed[g] {
                ((n - 1) * stride as usize, -stride)
            } else {
                (0, stride)
            }
        };
        let [(oi, si), (oj, sj), (ok, sk)] = [0, 1, 2].map(step);
        let base = (oi + oj + ok) as isize;
        (0..nk as isize).flat_map(move |k| {
            (0..nj as isize).flat_map(move |j| {
                (0..ni as isize).map(move |i| (base + i * si + j * sj + k * sk) as usize)
            })
        })
    }

    /// `volume` with its axes in the grid's order: the same voxels at the
    /// same patient positions.
    fn reordered(self, volume: &Volume) -> Volume {
        let g = volume.geometry();
        let voxels = match volume.voxels() {
            Voxels::I16(v) => Voxels::I16(self.stored_indices().map(|s| v[s]).collect()),
            Voxels::F32(v) => Voxels::F32(self.stored_indices().map(|s| v[s]).collect()),
        };
        let dims = UVec3::from_array(self.from.map(|a| self.stored[a] as u32));
        let steps = [0, 1, 2].map(|n| {
            let step = g.steps[self.from[n]];
            if self.reversed[n] { -step } else { step }
        });
        let mut first = DVec3::ZERO;
        for n in 0..3 {
            if self.reversed[n] {
                first[self.from[n]] = (self.stored[self.from[n]] - 1) as f64;
            }
        }
        let geometry = Geometry::new(dims, steps, g.world_of(first))
            .expect("the stored grid's axes, reordered");
        Volume::new(geometry, voxels).expect("as many voxels")
    }

    /// Labels in the grid's order, in the stored order.
    fn into_stored_order(self, labels: Vec<u8>) -> Vec<u8> {
        if self.is_stored() {
            return labels;
        }
        let mut stored = vec![0; labels.len()];
        for (l, s) in labels.into_iter().zip(self.stored_indices()) {
            stored[s] = l;
        }
        stored
    }

    /// Labels in the stored order, in the grid's order.
    fn in_grid_order(self, labels: &[u8]) -> Vec<u8> {
        self.stored_indices().map(|s| labels[s]).collect()
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
