//! The CT as the analysis reads it: HU by index, trilinear HU at a patient
//! point, and the in-plane directions a slice shows (anterior, lateral), so
//! the rest works on any axial series, tilted or not. A series stored
//! sagittal or coronal, or with an axis running the other way (right to
//! left, front to back, feet up), is read through a copy with its axes
//! reordered into the usual axial order, so that the slices the analysis
//! walks are axial and it reads every series of one CT alike; its labels
//! go back to the stored order at the end ([`Grid::placed`]). Pixels
//! finer than the analysis is tested on, and a series of more
//! than [`MOST_ANALYSED_VOXELS`] (a whole-spine CT of 2,500 thin slices),
//! are read in blocks averaged into one voxel, and the labels go back to
//! every voxel of each block, their edges placed by the stored voxels
//! ([`Grid::place_edges`]). A patient lying turned on the table is read
//! with each slice turned back (`crate::turn`).

use std::borrow::Cow;

use glam::{DMat4, DVec2, DVec3, UVec3};
use insitu_segment::Labelmap;
use insitu_volume::{Geometry, Volume, Voxels};

use crate::SpineError;
use crate::stack::EvenStack;
use crate::turn::Turn;

/// Read-only view of a volume as axial slices.
pub(crate) struct Grid<'a> {
    volume: Source<'a>,
    /// The volume as stored, whose voxels place the labels' edges where
    /// the grid reads it in blocks ([`Grid::placed`]).
    stored: &'a Volume,
    /// An unevenly spaced series' even stack, which the axes are of.
    stack: Option<EvenStack>,
    /// The patient's turn on the table, which the slices are read back by.
    turn: Option<Turn>,
    /// A labelmap read onto the turned slices ([`Grid::labels_of`]), kept
    /// as it was before turning, so that the voxels a revision leaves
    /// alone go back as they were (see [`Turn::back_keeping`]).
    kept: Option<Vec<u8>>,
    /// The grid's axes as the stored volume's (or its even stack's).
    axes: Axes,
    /// Stored voxels averaged into each of the grid's.
    blocks: Blocks,
    /// A stored voxel's volume (ml).
    pub stored_voxel_ml: f64,
    pub dims: [usize; 3],
    /// In-plane pixel size (mm) along i and j, and the slice step.
    pub spacing: DVec3,
    /// Patient anterior (−y) and left (+x) as unit vectors in a slice's
    /// (i mm, j mm) plane.
    pub anterior: DVec2,
    pub lateral: DVec2,
    /// The patient's anterior in patient space: −y, or turned with a
    /// patient lying turned (see [`crate::turn`]), so that a body's frame
    /// ([`crate::measure::across`]) is the body's own.
    pub front: DVec3,
    /// How bone is read (see [`Reading`]).
    pub reading: Reading,
    /// The CT's noise, and whether the blocks are for it.
    pub noise: Noise,
    /// The vertebral bodies' marrow (HU, the median along the column) as
    /// the first, strict reading of this grid measured it; none until it
    /// has, or where it found no column.
    pub marrow_hu: Option<f64>,
    /// The grid's voxel-to-patient matrix and its inverse, made once:
    /// `Geometry::index_of` inverts a 4×4 matrix per call, and the analysis
    /// samples and places points by the million.
    to_world: DMat4,
    to_index: DMat4,
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

/// How the analysis reads a volume: the axes it walks, the blocks it
/// averages (for fine pixels, a very long series or noise) and the CT's
/// noise. Choosing the blocks reads the CT for its noise, so the plan is
/// made once ([`ReadPlan::of`]), checked for the room the analysis needs
/// ([`ReadPlan::fits_in`]), then read by ([`crate::Analyser::planned`],
/// [`crate::revise_labels_planned`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadPlan {
    /// The stored volume's voxels per axis (a plan is for that volume).
    stored_dims: UVec3,
    axes: Axes,
    blocks: Blocks,
    noise: Noise,
    /// Where the blocks are for the noise, the blocks without it: read
    /// too where the readings in those blocks find a vertebra that looks
    /// wrong (see [`ReadPlan::without_noise_blocks`]).
    unaveraged: Option<Blocks>,
}

impl ReadPlan {
    /// The plan for `volume`; refused when none of its three planes is
    /// roughly axial.
    pub fn of(volume: &Volume) -> Result<Self, SpineError> {
        let geometry = match EvenStack::of(volume) {
            Some(stack) => stack.geometry(volume.geometry()),
            None => *volume.geometry(),
        };
        let axes = Axes::axial_for(&geometry)?;
        let noise_at = |blocks: Blocks| crate::noise::noise_hu(volume, axes.stored_sizes(blocks));
        let (dims, spacing) = (axes.grid_dims(), axes.grid_spacing(&geometry));
        let (blocks, noise) = Blocks::for_grid(dims, spacing, noise_at);
        let unaveraged = noise
            .averaged
            .then(|| Blocks::for_grid(dims, spacing, |_| None).0);
        Ok(Self {
            stored_dims: volume.geometry().dims,
            axes,
            blocks,
            noise,
            unaveraged,
        })
    }

    /// This plan without the blocks its noise asked for, if it has them:
    /// the same CT read voxel by voxel (or in the blocks its pixel size or
    /// length ask for). The blocks were chosen on TotalSegmentator's
    /// lumbar CT resampled to 1 mm with noise added, which voxel by voxel
    /// ran into the pelvis and named nothing right; on the real chest CT
    /// (LIDC, 0.78 mm pixels, 1 mm slices) with 20–40 HU of such noise
    /// added, the 2.3 × 2.3 × 2 mm blocks merged and misnamed T2–T11 (Dice
    /// 0–0.7 against the CT without the noise), which voxel by voxel read
    /// 0.82–0.97, each named right.
    pub(crate) fn without_noise_blocks(&self) -> Option<ReadPlan> {
        let blocks = self.unaveraged?;
        Some(ReadPlan {
            blocks,
            noise: Noise {
                averaged: false,
                ..self.noise
            },
            unaveraged: None,
            ..*self
        })
    }

    /// This plan if the analysis fits in `free_bytes`
    /// ([`ReadPlan::fits_in`]), without its reading voxel by voxel (tried
    /// where a noisy CT's blocks read it wrongly) where only that would
    /// not.
    pub fn fitted(self, free_bytes: u64) -> Result<ReadPlan, SpineError> {
        self.fits_in(free_bytes)?;
        let unaveraged_fits = self
            .without_noise_blocks()
            .is_none_or(|plan| plan.fits_in(free_bytes).is_ok());
        Ok(if unaveraged_fits {
            self
        } else {
            ReadPlan {
                unaveraged: None,
                ..self
            }
        })
    }

    /// Voxels the volume stores.
    pub(crate) fn voxels_stored(&self) -> u64 {
        self.stored_dims
            .to_array()
            .iter()
            .map(|&n| u64::from(n))
            .product()
    }

    /// Voxels the grid reads.
    pub(crate) fn voxels_read(&self) -> u64 {
        self.blocks
            .dims(self.axes.grid_dims())
            .iter()
            .map(|&n| n as u64)
            .product()
    }
}

impl<'a> Grid<'a> {
    /// Refuses a volume none of whose three planes is roughly axial.
    #[cfg(test)]
    pub fn new(volume: &'a Volume) -> Result<Self, SpineError> {
        Self::planned(volume, ReadPlan::of(volume)?)
    }

    /// `volume` read as `plan` says (planned again if the plan was made
    /// of a volume of other dimensions).
    pub fn planned(volume: &'a Volume, plan: ReadPlan) -> Result<Self, SpineError> {
        let plan = if plan.stored_dims == volume.geometry().dims {
            plan
        } else {
            ReadPlan::of(volume)?
        };
        let ReadPlan {
            axes,
            blocks,
            noise,
            ..
        } = plan;
        let stored = volume.geometry().spacing();
        let stored_voxel_ml = stored.x * stored.y * stored.z / 1000.0;
        let stack = EvenStack::of(volume);
        let stored_volume = volume;
        let volume = match &stack {
            None if axes.is_stored() && blocks.is_one() => Source::Stored(volume),
            None => Source::Reordered(Box::new(axes.read_as_grid(volume, blocks))),
            Some(stack) => {
                let even = stack.read(volume);
                if axes.is_stored() && blocks.is_one() {
                    Source::Reordered(Box::new(even))
                } else {
                    Source::Reordered(Box::new(axes.read_as_grid(&even, blocks)))
                }
            }
        };
        let dirs = volume.get().geometry().directions();
        let along = |v: DVec3| DVec2::new(dirs[0].dot(v), dirs[1].dot(v)).normalize_or_zero();
        let (anterior, lateral) = (along(DVec3::NEG_Y), along(DVec3::X));
        // Turned back, a turned patient's anterior and lateral lie where
        // they would unturned.
        let turn = Turn::of(volume.get(), lateral);
        let volume = match &turn {
            Some(turn) => {
                let turned = turn.read(volume.get());
                drop(volume);
                Source::Reordered(Box::new(turned))
            }
            None => volume,
        };
        let g = volume.get().geometry();
        let (d, spacing) = (g.dims, g.spacing());
        let front = match turn {
            Some(_) => {
                let dirs = g.directions();
                (dirs[0] * anterior.x + dirs[1] * anterior.y).normalize()
            }
            None => DVec3::NEG_Y,
        };
        let to_world = g.voxel_to_world();
        let to_index = to_world.inverse();
        Ok(Self {
            volume,
            stored: stored_volume,
            stack,
            turn,
            kept: None,
            axes,
            blocks,
            stored_voxel_ml,
            dims: [d.x as usize, d.y as usize, d.z as usize],
            spacing,
            anterior,
            lateral,
            front,
            reading: Reading::LADDER[0],
            noise,
            marrow_hu: None,
            to_world,
            to_index,
        })
    }

    /// One of the grid's voxels (ml): a block of stored ones where it
    /// reads in blocks.
    pub fn voxel_ml(&self) -> f64 {
        self.spacing.x * self.spacing.y * self.spacing.z / 1000.0
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
        self.to_world.transform_point3(DVec3::new(i, j, k))
    }

    /// Fractional voxel index of a patient position.
    pub fn index_of(&self, p: DVec3) -> DVec3 {
        self.to_index.transform_point3(p)
    }

    /// Whether [`Self::sample`] reads the CT at a patient point: it lies
    /// between the outermost voxel centres. (Half a voxel further out the
    /// point still has a nearest voxel, [`Self::voxel_of`], but reads air.)
    pub fn holds(&self, p: DVec3) -> bool {
        self.held_index(p).is_some()
    }

    /// The fractional voxel index of a patient point the grid
    /// [holds](Self::holds): one transform for the test and the read.
    fn held_index(&self, p: DVec3) -> Option<DVec3> {
        let f = self.index_of(p);
        let [ni, nj, nk] = self.dims.map(|n| n as f64 - 1.0);
        (f.x >= 0.0 && f.y >= 0.0 && f.z >= 0.0 && f.x <= ni && f.y <= nj && f.z <= nk).then_some(f)
    }

    /// Trilinear HU at a patient point (−1000 where the grid does not
    /// [hold](Self::holds) it).
    pub fn sample(&self, p: DVec3) -> f32 {
        let Some(f) = self.held_index(p) else {
            return -1000.0;
        };
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
    /// `labels` in the grid's order, placed on the stored volume's grid as
    /// they are handed over (see [`crate::SpineLabels`]).
    pub fn placed(&self, labels: Vec<u8>) -> crate::SpineLabels {
        let (labels, dims) = match &self.turn {
            Some(turn) => (
                turn.back_keeping(&labels, self.kept.as_deref()),
                turn.unturned_dims(),
            ),
            None => (labels, self.dims),
        };
        let mut at = self.axes.offsets(self.blocks, dims);
        if let Some(stack) = &self.stack {
            at[2] = stack.for_stored(&at[2]);
        }
        crate::SpineLabels::new(labels, at)
    }

    /// Places the edges of `labels` (but the sacrum's) by the stored
    /// voxels, at [`crate::discspace::placed_edge_hu`], where the grid
    /// reads them in blocks (see [`crate::SpineLabels`]); whether it did.
    pub fn place_edges(&self, labels: &mut crate::SpineLabels) -> bool {
        if self.blocks.is_one() {
            return false;
        }
        let edge_hu = crate::discspace::placed_edge_hu(self);
        labels.peel_dim_edges(self.stored, edge_hu, crate::label_of(24));
        true
    }

    /// Whether the grid reads the volume in blocks, as an even stack or
    /// turned:
    /// its voxel counts are then not the labelmap's.
    pub fn is_reduced(&self) -> bool {
        !self.blocks.is_one() || self.stack.is_some() || self.turn.is_some()
    }

    /// A labelmap on the stored volume's grid in the grid's order; none
    /// when it is on another grid. On turned slices it is kept, for the
    /// labels a revision leaves alone to go back as they were.
    pub fn labels_of<'l>(&mut self, labelmap: &'l Labelmap) -> Option<Cow<'l, Labelmap>> {
        let [si, sj, sk] = self.axes.stored;
        let stored_slices = self.stack.as_ref().map_or(sk, EvenStack::stored_slices);
        if labelmap.dims().map(|n| n as usize) != [si, sj, stored_slices] {
            return None;
        }
        let even = match &self.stack {
            None if self.axes.is_stored() && self.blocks.is_one() && self.turn.is_none() => {
                return Some(Cow::Borrowed(labelmap));
            }
            None => Cow::Borrowed(labelmap.labels()),
            Some(stack) => Cow::Owned(stack.on_even(labelmap.labels(), si * sj)),
        };
        let labels = match even {
            Cow::Borrowed(stored) => self.axes.in_grid_order(stored),
            Cow::Owned(even) if self.axes.is_stored() => Cow::Owned(even),
            Cow::Owned(even) => Cow::Owned(self.axes.in_grid_order(&even).into_owned()),
        };
        let read_dims = self.turn.map_or(self.dims, |turn| turn.unturned_dims());
        let labels = self.blocks.sample(labels, self.axes.grid_dims(), read_dims);
        let labels = match &self.turn {
            Some(turn) => {
                let turned = turn.labels(&labels, true);
                self.kept = Some(labels);
                turned
            }
            None => labels,
        };
        let dims = self.dims.map(|n| n as u32);
        Some(Cow::Owned(
            Labelmap::from_labels(dims, labels).expect("sizes match"),
        ))
    }
}

/// The volume a grid reads: the caller's, or a copy with its axes
/// reordered and its blocks averaged.
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

/// Most voxels the analysis reads (168 M: 512×512×640). Its working
/// buffers take about two bytes a voxel beside the volume's own, which a
/// browser tab holding a 512²×2500 CT (1.3 GB) could not add within
/// wasm32's 4 GiB; such a series is read in blocks (below).
pub(crate) const MOST_ANALYSED_VOXELS: usize = 160 << 20;

/// The finest pixel (mm) the analysis reads; finer ones are read in
/// blocks. It is tested from 0.7 mm pixels up. On TotalSegmentator's CT
/// resampled to 0.6 mm pixels (1 mm slices) it took L5 and the sacrum for
/// one vertebra and named nothing right; read in blocks of 2×2 (1.2 mm),
/// as at 0.7 mm. Thin slices are read as they are: at 0.5 mm, blocks of
/// two slices brought that CT's lordosis from 57° to 64° (the reference's
/// 63°) but L1's middle height from 0.6 to 3.5 mm short of the reference's.
const FINEST_PIXEL_MM: f64 = 0.65;

/// The side (mm) of the blocks a noisy CT is read in. The analysis is
/// tested on 1.5 to 3 mm voxels as on fine ones.
const NOISY_READ_MM: f64 = 2.0;

/// Most noise (HU, [`crate::noise::noise_hu`] on blocks of
/// [`NOISY_READ_MM`]) a CT is read in fine voxels with. Measured so: the
/// real chest CT (LIDC, 0.78 mm pixels, 1 mm slices) 15.1, read right
/// voxel by voxel; TotalSegmentator's CT resampled to 1 mm, 6.7 as it is,
/// 19.0 with 25 HU of noise added (read wrongly voxel by voxel where its
/// bone is osteoporotic, right in blocks), about 23 with 32 HU (wrongly, even
/// with normal-density bone).
const NOISE_LIMIT_HU: f32 = 17.0;

/// The CT's noise and whether the analysis averaged it away.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Noise {
    /// The noise (HU) in blocks of [`NOISY_READ_MM`]; `None` where too
    /// little soft tissue shows.
    pub hu: Option<f32>,
    /// The CT is read in coarser blocks than otherwise, for its noise.
    pub averaged: bool,
}

/// How many stored voxels the grid averages into one: `plane` × `plane`
/// in a slice (pixels stay square) by `slices` slices.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Blocks {
    plane: usize,
    slices: usize,
}

impl Blocks {
    /// Pixels no finer than `FINEST_PIXEL_MM`; blocks of
    /// [`NOISY_READ_MM`] where the CT is noisy there (`noise_at(blocks)`,
    /// see [`Blocks::for_noise`]); then, beyond [`MOST_ANALYSED_VOXELS`],
    /// the finer of pixel and slice step grown a voxel at a time until the
    /// grid fits (a 512²×2500 CT of 0.75 mm pixels and 0.5 mm slices is
    /// read at 1.5 mm by 1 mm).
    fn for_grid(
        dims: [usize; 3],
        spacing: DVec3,
        noise_at: impl Fn(Blocks) -> Option<f32>,
    ) -> (Self, Noise) {
        let pixel = spacing.x.max(spacing.y);
        let finest = Blocks {
            plane: ((FINEST_PIXEL_MM / pixel).ceil() as usize).max(1),
            slices: 1,
        };
        let (mut blocks, noise) = finest.for_noise(spacing, noise_at);
        while blocks.dims(dims).iter().product::<usize>() > MOST_ANALYSED_VOXELS {
            if spacing.z * blocks.slices as f64 <= pixel * blocks.plane as f64 {
                blocks.slices += 1;
            } else {
                blocks.plane += 1;
            }
        }
        // No block longer than its axis: a series a pixel or two across,
        // or a slice deep, at fine pixels read past its last voxel (a
        // panic; there is no spine in it to find, and the analysis says so).
        blocks.plane = blocks.plane.min(dims[0].min(dims[1])).max(1);
        blocks.slices = blocks.slices.min(dims[2]).max(1);
        (blocks, noise)
    }

    /// These blocks, or blocks of [`NOISY_READ_MM`] where the noise there
    /// (`noise_at`) exceeds [`NOISE_LIMIT_HU`]. The noise is judged on
    /// such blocks, not on single voxels: noise whose grain spans several
    /// fine voxels harms a reading more than fine-grained noise of the same
    /// standard deviation, and averaging shows that.
    fn for_noise(self, spacing: DVec3, noise_at: impl Fn(Blocks) -> Option<f32>) -> (Self, Noise) {
        let coarse = self.nearest(spacing, NOISY_READ_MM);
        let hu = noise_at(coarse);
        let averaged = coarse != self && hu.is_some_and(|hu| hu > NOISE_LIMIT_HU);
        (if averaged { coarse } else { self }, Noise { hu, averaged })
    }

    /// These blocks grown, where finer, to the whole number of voxels
    /// nearest `mm` a side. Voxels of 1.5 mm stay as they are: on
    /// TotalSegmentator's CT at 1.5 mm with 40 HU of noise, blocks of two
    /// (3 mm) read every vertebra 0.01–0.03 of Dice worse than single
    /// voxels, which read it right.
    fn nearest(self, spacing: DVec3, mm: f64) -> Self {
        let pixel = spacing.x.max(spacing.y);
        let count = |step: f64| ((mm / step).round() as usize).max(1);
        Blocks {
            plane: self.plane.max(count(pixel)),
            slices: self.slices.max(count(spacing.z)),
        }
    }

    fn is_one(self) -> bool {
        self.plane == 1 && self.slices == 1
    }

    /// The grid's dims for `full` voxels: whole blocks only (the last few
    /// voxels of an axis beyond them take the last block's label).
    fn dims(self, full: [usize; 3]) -> [usize; 3] {
        [
            (full[0] / self.plane).max(1),
            (full[1] / self.plane).max(1),
            (full[2] / self.slices).max(1),
        ]
    }

    fn sizes(self) -> [usize; 3] {
        [self.plane, self.plane, self.slices]
    }

    /// Labels on the `full` grid read at each block's middle voxel, or
    /// where that has none, at the first of the block's that has one (the
    /// inverse of [`Axes::offsets`]: a block whose middle voxel was peeled
    /// off a label's edge, see [`crate::SpineLabels`], is still the
    /// label's, so a revision does not wear the labels away).
    fn sample(self, labels: Cow<'_, [u8]>, full: [usize; 3], reduced: [usize; 3]) -> Vec<u8> {
        if self.is_one() {
            return labels.into_owned();
        }
        let labels: &[u8] = &labels;
        let sizes = self.sizes();
        let middle = |n: usize, axis: usize| n * sizes[axis] + (sizes[axis] - 1) / 2;
        let block_label = |i: usize, j: usize, k: usize| {
            let span = |n: usize, axis: usize| n * sizes[axis]..(n + 1) * sizes[axis];
            span(k, 2)
                .flat_map(|z| span(j, 1).map(move |y| (z * full[1] + y) * full[0]))
                .flat_map(|row| span(i, 0).map(move |x| labels[row + x]))
                .find(|&label| label != 0)
                .unwrap_or(0)
        };
        let mut out = Vec::with_capacity(reduced.iter().product());
        for k in 0..reduced[2] {
            for j in 0..reduced[1] {
                let row = (middle(k, 2) * full[1] + middle(j, 1)) * full[0];
                out.extend((0..reduced[0]).map(|i| match labels[row + middle(i, 0)] {
                    0 => block_label(i, j, k),
                    label => label,
                }));
            }
        }
        out
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

    /// Stored voxels along each stored axis that `blocks` average.
    fn stored_sizes(self, blocks: Blocks) -> [usize; 3] {
        let sizes = blocks.sizes();
        let mut stored = [1; 3];
        for g in 0..3 {
            stored[self.from[g]] = sizes[g];
        }
        stored
    }

    fn is_stored(self) -> bool {
        self.from == [0, 1, 2] && self.reversed == [false; 3]
    }

    /// Voxels along the grid's axes, before blocks.
    fn grid_dims(self) -> [usize; 3] {
        self.from.map(|a| self.stored[a])
    }

    /// The voxel step (mm) along the grid's axes, before blocks.
    fn grid_spacing(self, g: &Geometry) -> DVec3 {
        let s = g.spacing();
        DVec3::from_array(self.from.map(|a| s[a]))
    }

    /// The stored linear index of each grid voxel (before blocks), in the
    /// grid's order.
    fn stored_indices(self) -> impl Iterator<Item = usize> {
        let index = self.stored_index();
        let [ni, nj, nk] = self.grid_dims();
        (0..nk).flat_map(move |k| (0..nj).flat_map(move |j| (0..ni).map(move |i| index([i, j, k]))))
    }

    /// `volume` with its axes in the grid's order and each of `blocks`
    /// averaged into one voxel at its middle: the same voxels at the same
    /// patient positions when the blocks are single voxels.
    fn read_as_grid(self, volume: &Volume, blocks: Blocks) -> Volume {
        let g = volume.geometry();
        let reduced = blocks.dims(self.grid_dims());
        let voxels = match volume.voxels() {
            Voxels::I16(v) => Voxels::I16(self.averaged(
                reduced,
                blocks,
                |s| f32::from(v[s]),
                |m| m.round() as i16,
            )),
            Voxels::F32(v) => Voxels::F32(self.averaged(reduced, blocks, |s| v[s], |m| m)),
        };
        let dims = UVec3::from_array(reduced.map(|n| n as u32));
        let sizes = blocks.sizes();
        let steps = [0, 1, 2].map(|n| {
            let step = g.steps[self.from[n]] * sizes[n] as f64;
            if self.reversed[n] { -step } else { step }
        });
        // The first block's middle, as a stored index.
        let mut first = DVec3::ZERO;
        for n in 0..3 {
            let middle = (sizes[n] - 1) as f64 / 2.0;
            first[self.from[n]] = if self.reversed[n] {
                (self.stored[self.from[n]] - 1) as f64 - middle
            } else {
                middle
            };
        }
        let geometry = Geometry::new(dims, steps, g.world_of(first))
            .expect("the stored grid's axes, reordered");
        Volume::new(geometry, voxels).expect("as many voxels")
    }

    /// The mean of each block's stored voxels (`value` by stored index),
    /// written by `store`, block by block in the grid's order.
    fn averaged<T>(
        self,
        reduced: [usize; 3],
        blocks: Blocks,
        value: impl Fn(usize) -> f32,
        store: impl Fn(f32) -> T,
    ) -> Vec<T> {
        let index = self.stored_index();
        let mut out = Vec::with_capacity(reduced.iter().product());
        for k in 0..reduced[2] {
            average_slice(k, reduced, blocks, &index, &value, &store, &mut out);
        }
        out
    }

    /// The stored linear index of a grid voxel (before blocks).
    fn stored_index(self) -> impl Fn([usize; 3]) -> usize + Copy {
        let s = self.stored;
        let strides = [1, s[0], s[0] * s[1]];
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
        move |[i, j, k]| (base + i as isize * si + j as isize * sj + k as isize * sk) as usize
    }

    /// Per stored axis, the offset into labels on the `reduced` grid (in
    /// its order, read in `blocks`) that each stored index adds; a stored
    /// voxel past an axis's last whole block reads that block.
    fn offsets(self, blocks: Blocks, reduced: [usize; 3]) -> [Vec<usize>; 3] {
        let sizes = blocks.sizes();
        let strides = [1, reduced[0], reduced[0] * reduced[1]];
        [0, 1, 2].map(|axis| {
            let g = self
                .from
                .iter()
                .position(|&a| a == axis)
                .expect("a permutation");
            let n = self.stored[axis];
            (0..n)
                .map(|s| {
                    let along = if self.reversed[g] { n - 1 - s } else { s };
                    (along / sizes[g]).min(reduced[g] - 1) * strides[g]
                })
                .collect()
        })
    }

    /// Labels in the stored order, in the grid's order (borrowed when the
    /// orders are one).
    fn in_grid_order<'l>(self, labels: &'l [u8]) -> Cow<'l, [u8]> {
        if self.is_stored() {
            return Cow::Borrowed(labels);
        }
        Cow::Owned(self.stored_indices().map(|s| labels[s]).collect())
    }
}

/// [`Axes::averaged`] for the grid's slice `k`. A function per slice: wasm
/// has no on-stack replacement, and a whole-spine CT's 655 M voxels pass
/// through here once.
#[inline(never)]
fn average_slice<T>(
    k: usize,
    reduced: [usize; 3],
    blocks: Blocks,
    index: &impl Fn([usize; 3]) -> usize,
    value: &impl Fn(usize) -> f32,
    store: &impl Fn(f32) -> T,
    out: &mut Vec<T>,
) {
    let sizes = blocks.sizes();
    let count = (sizes[0] * sizes[1] * sizes[2]) as f32;
    for j in 0..reduced[1] {
        for i in 0..reduced[0] {
            let mut sum = 0.0;
            for dk in 0..sizes[2] {
                for dj in 0..sizes[1] {
                    for di in 0..sizes[0] {
                        sum += value(index([
                            i * sizes[0] + di,
                            j * sizes[1] + dj,
                            k * sizes[2] + dk,
                        ]));
                    }
                }
            }
            out.push(store(sum / count));
        }
    }
}

/// A blank (0 HU) axial volume of `dims` voxels of 1 mm at the origin, for
/// the unit tests that need a [`Grid`].
#[cfg(test)]
pub(crate) fn blank_volume(dims: [usize; 3]) -> Volume {
    test_volume(dims, |_| 0)
}

/// An axial volume of `dims` voxels of 1 mm at the origin whose voxel n
/// reads `hu(n)`, for the unit tests that need a [`Grid`].
#[cfg(test)]
pub(crate) fn test_volume(dims: [usize; 3], hu: impl Fn(usize) -> i16) -> Volume {
    let steps = [DVec3::X, DVec3::Y, DVec3::Z];
    let size = glam::UVec3::new(dims[0] as u32, dims[1] as u32, dims[2] as u32);
    let geometry = insitu_volume::Geometry::new(size, steps, DVec3::ZERO).expect("a grid");
    let voxels = Voxels::I16((0..dims.iter().product()).map(hu).collect());
    Volume::new(geometry, voxels).expect("a volume")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_finer_or_larger_than_the_analysis_reads_are_read_in_blocks() {
        let at = |x: f64, z: f64| DVec3::new(x, x, z);
        let quiet = |dims, spacing| Blocks::for_grid(dims, spacing, |_| Some(10.0)).0;
        let one = Blocks {
            plane: 1,
            slices: 1,
        };
        assert_eq!(quiet([512, 512, 600], at(0.7, 1.0)), one);
        assert_eq!(quiet([512, 512, 300], at(0.68, 3.0)), one);
        assert_eq!(quiet([512, 512, 600], at(0.75, 0.5)), one);
        // Beyond the voxels read: the 0.5 mm slices two by two, then the
        // 0.75 mm pixels.
        let both = Blocks {
            plane: 2,
            slices: 2,
        };
        assert_eq!(quiet([512, 512, 2500], at(0.75, 0.5)), both);
        // 0.5 mm pixels: read two by two.
        let plane = Blocks {
            plane: 2,
            slices: 1,
        };
        assert_eq!(quiet([512, 512, 300], at(0.5, 1.0)), plane);
    }

    #[test]
    fn a_noisy_series_is_read_in_blocks_of_about_two_millimetres() {
        let at = |x: f64, z: f64| DVec3::new(x, x, z);
        let noisy = |dims, spacing| Blocks::for_grid(dims, spacing, |_| Some(30.0));
        let (blocks, noise) = noisy([512, 512, 400], at(0.7, 1.0));
        let expected = Blocks {
            plane: 3,
            slices: 2,
        };
        assert_eq!(
            (blocks, noise.averaged, noise.hu),
            (expected, true, Some(30.0))
        );
        // 3 mm voxels are read as they are, noisy or not.
        let (blocks, noise) = noisy([128, 128, 100], at(3.0, 3.0));
        assert_eq!((blocks.is_one(), noise.averaged), (true, false));
        // Unknown noise (no soft tissue seen) changes nothing.
        let (blocks, noise) = Blocks::for_grid([512, 512, 400], at(0.7, 1.0), |_| None);
        assert_eq!((blocks.is_one(), noise.averaged), (true, false));
        // A block is never longer than its axis (2 mm is 7 voxels of 0.3).
        let (blocks, _) = Blocks::for_grid([1, 1, 50], at(0.3, 0.3), |_| Some(60.0));
        assert_eq!((blocks.plane, blocks.slices), (1, 7));
        let (blocks, _) = Blocks::for_grid([2, 2, 2], at(0.3, 0.3), |_| Some(60.0));
        assert_eq!((blocks.plane, blocks.slices), (2, 2));
    }

    #[test]
    fn a_plan_in_blocks_for_noise_is_read_voxel_by_voxel_too_where_room_allows() {
        let volume = blank_volume([64, 64, 64]);
        let mut plan = ReadPlan::of(&volume).expect("axial");
        assert!(plan.without_noise_blocks().is_none(), "not noisy");
        plan.blocks = Blocks {
            plane: 2,
            slices: 2,
        };
        plan.noise = Noise {
            hu: Some(30.0),
            averaged: true,
        };
        plan.unaveraged = Some(Blocks {
            plane: 1,
            slices: 1,
        });
        let each = plan.without_noise_blocks().expect("voxel by voxel too");
        assert_eq!(
            (each.blocks.is_one(), each.noise.averaged, each.noise.hu),
            (true, false, Some(30.0))
        );
        assert!(each.without_noise_blocks().is_none(), "once");
        // Room for the blocks (a byte a stored voxel, six a voxel read),
        // not for every voxel: read in blocks only.
        let stored = 64u64.pow(3);
        let tight = plan
            .fitted(stored + 6 * stored / 8)
            .expect("fits in blocks");
        assert!(tight.without_noise_blocks().is_none());
        let roomy = plan.fitted(7 * stored).expect("fits");
        assert!(roomy.without_noise_blocks().is_some());
    }

    #[test]
    fn blocks_are_averaged_at_their_middle_and_labels_go_back_to_each_voxel() {
        // 5 × 5 × 5 voxels of 1 mm, HU = i + 10 j + 100 k; blocks of 2 × 2 × 2
        // (the fifth voxel of each axis is beyond the last whole block).
        let dims = [5usize, 5, 5];
        let steps = [DVec3::X, DVec3::Y, DVec3::Z];
        let geometry = Geometry::new(UVec3::splat(5), steps, DVec3::ZERO).expect("a grid");
        let hu = (0..125).map(|n| (n % 5 + 10 * (n / 5 % 5) + 100 * (n / 25)) as i16);
        let volume = Volume::new(geometry, Voxels::I16(hu.collect())).expect("a volume");
        let axes = Axes::axial_for(volume.geometry()).expect("axial");
        let blocks = Blocks {
            plane: 2,
            slices: 2,
        };
        let read = axes.read_as_grid(&volume, blocks);
        let g = read.geometry();
        assert_eq!(g.dims, UVec3::splat(2));
        assert_eq!(
            g.world_of(DVec3::ZERO),
            DVec3::splat(0.5),
            "the first block's middle"
        );
        assert_eq!(g.world_of(DVec3::ONE), DVec3::splat(2.5));
        let Voxels::I16(v) = read.voxels() else {
            panic!("i16 in, i16 out");
        };
        // Block (1, 0, 1), the sixth: i 2..=3, j 0..=1, k 2..=3: 2.5 + 5 + 250.
        assert_eq!(v[5], 258);
        let labels: Vec<u8> = (1..=8).collect();
        let placed = crate::SpineLabels::new(labels.clone(), axes.offsets(blocks, [2, 2, 2]));
        let spread = placed.into_labelmap().labels().to_vec();
        assert_eq!(spread.len(), 125);
        let at = |i: usize, j: usize, k: usize| spread[(k * 5 + j) * 5 + i];
        assert_eq!((at(0, 0, 0), at(1, 1, 1), at(4, 4, 4)), (1, 1, 8));
        assert_eq!(at(3, 0, 2), 6, "block (1, 0, 1)");
        assert_eq!(
            blocks.sample(Cow::Borrowed(&spread), dims, [2, 2, 2]),
            labels
        );
        // A block whose middle voxel was peeled off its label's edge is
        // still read as the label's.
        let mut peeled = spread.clone();
        peeled[(2 * 5) * 5 + 2] = 0;
        assert_eq!(
            blocks.sample(Cow::Borrowed(&peeled), dims, [2, 2, 2])[7],
            8,
            "block (1, 1, 1) without its middle voxel"
        );
    }

    #[test]
    fn labels_go_back_to_a_series_stored_across_and_the_other_way() {
        // Stored sagittal: columns run to the patient's back, rows to the
        // feet, slices to the left. The grid reads left, back, head: every
        // axis moves and the last runs the other way.
        let steps = [DVec3::Y, DVec3::NEG_Z, DVec3::X];
        let geometry = Geometry::new(UVec3::new(4, 3, 2), steps, DVec3::ZERO).expect("a grid");
        let volume = Volume::new(geometry, Voxels::I16(vec![0; 24])).expect("a volume");
        let axes = Axes::axial_for(volume.geometry()).expect("axial");
        assert!(!axes.is_stored());
        let one = Blocks {
            plane: 1,
            slices: 1,
        };
        let labels: Vec<u8> = (1..=24).collect();
        let placed = crate::SpineLabels::new(labels.clone(), axes.offsets(one, axes.grid_dims()));
        let map = placed.into_labelmap();
        for (label, stored) in labels.iter().zip(axes.stored_indices()) {
            assert_eq!(map.labels()[stored], *label);
        }
    }

    #[test]
    fn a_point_past_the_outermost_voxel_centres_is_not_held() {
        // Three slices 3 mm apart: the last centre at z = 6 mm.
        let steps = [DVec3::X, DVec3::Y, DVec3::Z * 3.0];
        let geometry = Geometry::new(UVec3::new(4, 4, 3), steps, DVec3::ZERO).expect("a grid");
        let volume = Volume::new(geometry, Voxels::I16(vec![100; 48])).expect("a volume");
        let grid = Grid::new(&volume).expect("a grid");
        let inside = grid.world(1.5, 1.5, 2.0);
        let past = inside + (grid.world(1.5, 1.5, 2.0) - grid.world(1.5, 1.5, 1.0)) * 0.4;
        assert!(grid.holds(inside) && grid.sample(inside) == 100.0);
        // Nearest the last slice, yet read as air.
        assert!(grid.voxel_of(past).is_some());
        assert!(!grid.holds(past) && grid.sample(past) == -1000.0);
        // A profile from the middle slice out past the edge stops at it.
        let up = (past - inside).normalize() * 0.5;
        let mid = grid.world(1.5, 1.5, 1.0);
        let run = crate::column::within_scan(&grid, -20..=20, 0, |n| mid + up * n as f64);
        let run = run.expect("a run");
        assert!(grid.holds(mid + up * *run.end() as f64));
        assert!(!grid.holds(mid + up * (*run.end() + 1) as f64));
    }
}
