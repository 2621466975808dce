//! One segment per vertebra. The disc planes cut the body column into
//! slabs; each slab's body core seeds its vertebra; every bone voxel of the
//! spine's envelope then goes to the body it is nearest to *through bone*
//! (a multi-source shortest path), so a pedicle and most of the arch
//! follow their own body even where a facet joint touches the next
//! vertebra; a spinous process's tip, nearer the body below through that
//! joint, is then given back to its own (`spinous`). Bone outside the
//! envelope reached from a vertebra is a rib (or, from the sacrum, the
//! pelvis), unless it is small and near: then it is that vertebra's own
//! transverse process tip.

use glam::{DVec2, DVec3};

use crate::SpineError;
use crate::column::{Column, Disc};
use crate::grid::Grid;
use crate::thick::Thick;

/// A slab between two disc planes (or a scan edge) and what was found in it.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub upper: Option<Disc>,
    pub lower: Option<Disc>,
    pub voxels: usize,
    pub centroid: DVec3,
    /// Bone reached outside the envelope from this vertebra: voxels and
    /// the farthest lateral reach from the canal (mm).
    pub outside_voxels: usize,
    pub outside_reach_mm: f64,
    /// Wide bone beside the body's top (sacral alae), and how it was seen.
    pub alae: Option<Alae>,
    /// Bone beside it reaches far out: it bears ribs.
    pub ribs: bool,
    /// It touches the first or last slice.
    pub partial: bool,
}

impl Candidate {
    fn contains(&self, p: DVec3) -> bool {
        self.upper
            .is_none_or(|d| (p - d.centre).dot(d.normal) < 0.0)
            && self
                .lower
                .is_none_or(|d| (p - d.centre).dot(d.normal) >= 0.0)
    }
}

/// Labels on the full grid: 0, a candidate (1 + index), or bone reached
/// outside the envelope from candidate c (`OUTSIDE + c`).
pub(crate) struct Split {
    pub labels: Vec<u8>,
    pub candidates: Vec<Candidate>,
}

pub(crate) const OUTSIDE: u8 = 128;

/// Bone beside a vertebra reaching this far from the canal is a rib (a
/// first rib reaches about 60 mm; a lumbar transverse process about 50).
const RIB_REACH_MM: f64 = 58.0;

/// Seeds: bone within this fraction of the body's estimated half-width and
/// half-depth, between two disc planes, goes to that slab's vertebra. Not
/// the body's whole outline (rib heads and vessels lie beside it), but most
/// of it: with 0.7 the paths through bone handed T12 the back of the
/// T12–L1 disc and 3 mm of L1 beneath it (TotalSegmentator's CT, 3 mm).
const SEED_CORE: f64 = 0.9;

/// The owner of what a contrast-filled vessel's seed reaches first.
const VESSEL: u8 = u8::MAX;

/// A surface voxel below this is more soft tissue than bone (HU).
const EDGE_HU: f32 = 350.0;

/// The sternum's place: this far in front of the body column (mm) and
/// within `STERNUM_HALF_WIDTH_MM` of its midline. A rib flood stops there,
/// so calcified costal cartilage does not carry "ribs" into the sternum and
/// on through the clavicles to the scapulae.
const STERNUM_AHEAD_MM: f64 = 40.0;
/// See `STERNUM_AHEAD_MM`.
const STERNUM_HALF_WIDTH_MM: f64 = 40.0;

/// The envelope of the spine in a slice, relative to the canal centre:
/// its bounds worked out once per slice, not per pixel.
struct SliceEnvelope {
    canal: DVec2,
    /// How far in front of the canal centre (mm).
    front: f64,
    /// How far to either side (mm).
    half_width: f64,
}

impl SliceEnvelope {
    fn of(grid: &Grid, s: &crate::column::SliceColumn) -> Self {
        Self {
            canal: s.canal,
            front: (s.body - s.canal).dot(grid.anterior) + s.half_depth + front_margin(grid),
            half_width: (1.9 * s.half_width).clamp(28.0, 55.0),
        }
    }

    /// Whether the in-plane point `p` (mm) lies in it.
    fn contains(&self, grid: &Grid, p: DVec2) -> bool {
        let d = p - self.canal;
        let (a, l) = (d.dot(grid.anterior), d.dot(grid.lateral));
        l.abs() <= self.half_width && a <= self.front && a >= -75.0
    }
}

/// Beside the front half of the body, clear of its side: nothing of a
/// vertebra is there (rib heads meet the body's back half), but the aorta
/// and the vena cava are, bright with contrast. Not the vertebra's bone.
fn beside_front(grid: &Grid, s: &crate::column::SliceColumn, p: DVec2) -> bool {
    let d = p - s.body;
    d.dot(grid.anterior) > 0.3 * s.half_depth
        && d.dot(grid.lateral).abs() > 1.15 * s.half_width + 5.0
}

/// In front of the body's middle and outside its estimated outline, with
/// room (its axial extents are smoothed over ±20 mm): where the aorta, the
/// vena cava and the iliac vessels run, and no sacral ala reaches.
fn clear_of_body(grid: &Grid, s: &crate::column::SliceColumn, p: DVec2) -> bool {
    let (a, l) = s.body_units(grid, p);
    a > 0.0 && a * a + l * l > 1.3 * 1.3
}

/// How far (mm) the envelope reaches in front of the estimated body. In a
/// lenient reading the body's estimate is rough (its extent is read from
/// dim cortex and smoothed over ±20 mm, which lags where the column turns
/// at L5–S1), so the envelope reaches further.
fn front_margin(grid: &Grid) -> f64 {
    if grid.reading.lenient { 25.0 } else { 12.0 }
}

/// What a split reads that its discs do not change: built once per column
/// and reading, so the second split of one reading (with a disc the first
/// missed, see `merged`) does not build it again (about half a split's
/// time on a 512²×300 CT).
pub(crate) struct Prepared {
    /// The envelope mask over the window, on the column's slices.
    envelope: Envelope,
    /// Bone in the envelope, holes filled (not the canal), over the same.
    region: Vec<bool>,
    thick: Thick,
    /// Region voxels a contrast-filled vessel holds (see `vessels`).
    vessel_seeds: Vec<usize>,
    /// The region's step weights (see [`crate::paths::step_weights`]).
    weight: crate::paths::StepWeights,
}

/// The envelope, the bone region in it and what is read from them for
/// `column` in the grid's reading.
pub(crate) fn prepare(grid: &Grid, column: &Column) -> Prepared {
    let (k0, k1) = (column.first, column.first + column.slices.len() - 1);
    let win = Window::around(grid, column);
    let plane = win.wi * win.wj;
    let mut region = vec![false; plane * (k1 - k0 + 1)];
    let mut envelope = vec![false; plane * (k1 - k0 + 1)];
    let mut lumen = vec![false; plane * (k1 - k0 + 1)];
    let mut hole = vec![0u8; plane];
    // Ribs reach at most this far past the column's first and last slices.
    let beyond = (40.0 / grid.spacing.z).ceil() as usize;
    let thick = Thick::find(
        grid,
        k0.saturating_sub(beyond),
        (k1 + beyond).min(grid.dims[2] - 1),
        |k| column.at(k).map(|s| s.body),
    );
    for k in k0..=k1 {
        let s = column.at(k).expect("in the column");
        let base = (k - k0) * plane;
        let cut = Cut {
            envelope: &mut envelope[base..base + plane],
            region: &mut region[base..base + plane],
            lumen: &mut lumen[base..base + plane],
        };
        bone_in_envelope(grid, s, &thick, &win, k, cut);
        let (envelope, region) = (
            &envelope[base..base + plane],
            &mut region[base..base + plane],
        );
        let canal = s.canal - grid.plane_mm(win.ox as f64, win.oy as f64);
        fill_holes(region, envelope, &mut hole, win.wi, win.wj, grid, canal);
    }
    let dims = [win.wi, win.wj, k1 - k0 + 1];
    let window = crate::vessels::Window {
        region: &region,
        lumen: &lumen,
        dims,
        origin: [win.ox, win.oy],
    };
    let vessel_seeds = crate::vessels::seeds(grid, column, &window);
    let weight = crate::paths::step_weights(grid, &region, dims, [win.ox, win.oy, k0]);
    Prepared {
        envelope: Envelope {
            win,
            k0,
            slices: k1 - k0 + 1,
            mask: envelope,
        },
        region,
        thick,
        vessel_seeds,
        weight,
    }
}

/// Splits the spine's bone into vertebrae between `discs` (top down), in
/// what [`prepare`] read for `column`.
pub(crate) fn split(
    grid: &Grid,
    column: &Column,
    discs: &[Disc],
    prepared: &Prepared,
    progress: &mut dyn FnMut(f32) -> bool,
) -> Result<Split, SpineError> {
    let mut candidates: Vec<Candidate> = (0..=discs.len())
        .map(|n| Candidate {
            upper: n.checked_sub(1).map(|u| discs[u]),
            lower: discs.get(n).copied(),
            voxels: 0,
            centroid: DVec3::ZERO,
            outside_voxels: 0,
            outside_reach_mm: 0.0,
            alae: None,
            ribs: false,
            partial: false,
        })
        .collect();
    if candidates.len() > 100 {
        return Err(SpineError::TooManyDiscs(discs.len()));
    }
    let [ni, nj, _] = grid.dims;
    let (k0, k1) = (column.first, column.first + column.slices.len() - 1);
    let envelope = &prepared.envelope;
    let win = &envelope.win;
    let plane = win.wi * win.wj;
    let mut labels = vec![0u8; grid.len()];
    // This split's copy: vessels' voxels leave it below.
    let mut region = prepared.region.clone();
    // Seeds: the body core in each slab.
    let mut own = vec![0u8; region.len()];
    for k in k0..=k1 {
        let base = (k - k0) * plane;
        body_core(
            grid,
            column.at(k).expect("in the column"),
            &candidates,
            win,
            k,
            &region[base..base + plane],
            &mut own[base..base + plane],
        );
    }
    let (wi, wj, wk) = (win.wi, win.wj, k1 - k0 + 1);
    let dim_below_hu = edge_hu(grid);
    unseed_steep_disc_spaces(grid, column, win, discs, dim_below_hu, &mut own);
    // A body's estimated core can reach over a vessel lying on it: where a
    // vessel's seed lies the body's goes, so the footprint below is the
    // body's own. Then contrast-filled vessels compete for what lies
    // nearer to them, but not from inside a body's footprint along its
    // own axis.
    for &w in &prepared.vessel_seeds {
        own[w] = 0;
    }
    let footprints = Footprint::of_seeds(grid, win, k0, &candidates, &own);
    for &w in &prepared.vessel_seeds {
        if !footprints.iter().any(|f| f.holds(win.world(grid, k0, w))) {
            own[w] = VESSEL;
        }
    }
    let weight = &prepared.weight;
    crate::paths::nearest_seed(&region, [wi, wj, wk], grid.step_costs(), weight, &mut own);
    for (own, region) in own.chunks_mut(plane).zip(region.chunks_mut(plane)) {
        drop_vessels(own, region);
    }
    rims_above_steep_discs(grid, column, win, &candidates, &mut own);
    let window = crate::spinous::Window {
        region: &region,
        dims: [wi, wj, wk],
        origin: [win.ox, win.oy, k0],
    };
    crate::spinous::join_processes(grid, column, discs, &window, weight, &mut own);
    if !progress(0.6) {
        return Err(SpineError::Cancelled);
    }
    for kk in 0..wk {
        trim_slice(grid, win, k0, kk, dim_below_hu, &region, &mut own);
    }
    // The labels are all 0 so far: the window's rows are copied in.
    for kk in 0..wk {
        for y in 0..wj {
            let from = (kk * wj + y) * wi;
            let to = grid.index(win.ox, win.oy + y, k0 + kk);
            labels[to..to + wi].copy_from_slice(&own[from..from + wi]);
        }
    }
    drop((own, region));
    clear_disc_spaces(grid, column, win, discs, dim_below_hu, &mut labels);
    for c in candidates.iter_mut() {
        c.alae = alae_beside(grid, column, c);
    }
    let reached = outside_bone(
        grid,
        column,
        envelope,
        &prepared.thick,
        &mut labels,
        &mut candidates,
    );
    let plane = ni * nj;
    if !progress(0.85) {
        return Err(SpineError::Cancelled);
    }
    // Sizes, centroids, alae, partial. A vertebra's voxels lie in the
    // window over the column's slices, or among the bone reached outside
    // it and handed back (transverse process tips): not a pass over the
    // whole volume.
    let mut sums = vec![(0usize, DVec3::ZERO); candidates.len()];
    let w = &envelope.win;
    for k in k0..=k1 {
        add_window_sums(grid, w, k, &labels, &mut sums);
    }
    for at in reached {
        let (i, j, k) = (at % ni, (at / ni) % nj, at / plane);
        if !envelope.in_box(i, j, k) {
            add_to_sums(&mut sums, labels[at], i, j, k);
        }
    }
    for (c, (n, sum)) in candidates.iter_mut().zip(sums) {
        c.voxels = n;
        if n > 0 {
            let m = sum / n as f64;
            c.centroid = grid.world(m.x, m.y, m.z);
        }
    }
    let last = grid.dims[2] - 1;
    let (first_slice, last_slice) = (
        labels_in(&labels[..plane]),
        labels_in(&labels[last * plane..]),
    );
    for (n, c) in candidates.iter_mut().enumerate() {
        let touches = first_slice[n + 1] || last_slice[n + 1];
        c.partial = c.upper.is_none() || c.lower.is_none() || touches;
    }
    Ok(Split { labels, candidates })
}

/// Contrast-filled vessels' seeds and what they took leave one slice's
/// region.
#[inline(never)]
fn drop_vessels(own: &mut [u8], region: &mut [bool]) {
    for (o, r) in own.iter_mut().zip(region.iter_mut()) {
        if *o == VESSEL {
            *o = 0;
            *r = false;
        }
    }
}

/// Sectors of a body's footprint (see [`Footprint`]).
const FOOTPRINT_SECTORS: usize = 24;
/// How far (mm) inside its footprint's edge a vessel's seed is dropped:
/// the seeds reach 0.9 of the body's rough outline, which in a lenient
/// reading can take in a vein's wall on its front.
const FOOTPRINT_MARGIN_MM: f64 = 3.0;

/// A vertebra's body seen along its own axis (the line between its two
/// discs' centres): how far its seeds reach from the axis in each
/// direction across it, between its discs' planes. The column's estimate
/// of the body per slice is smoothed over ±20 mm and lags where the column
/// turns: L5, leaning over S1, lies in front of it at its lower end, and
/// there its lower front, seeded by no vertebra, held vessels' seeds of
/// every kind and went to the vessels beside it (TotalSegmentator's
/// osteoporotic CT with contrast at 1 mm, L5's front height 22 mm for
/// 31.5). Seen along L5's own axis that lip lies inside the footprint of
/// L5's seeds above it; a vessel lying on the body's front lies outside.
struct Footprint {
    candidate: Candidate,
    lower: DVec3,
    across: [DVec3; 2],
    reach: [f64; FOOTPRINT_SECTORS],
}

impl Footprint {
    /// The footprints of the candidates with two discs, from the seeds in
    /// `own` (window voxels, slices from `k0`).
    fn of_seeds(
        grid: &Grid,
        win: &Window,
        k0: usize,
        candidates: &[Candidate],
        own: &[u8],
    ) -> Vec<Footprint> {
        let mut prints: Vec<Option<Footprint>> = candidates
            .iter()
            .map(|c| {
                let (upper, lower) = (c.upper?, c.lower?);
                let axis = (upper.centre - lower.centre).try_normalize()?;
                let side = axis.any_orthonormal_vector();
                Some(Footprint {
                    candidate: c.clone(),
                    lower: lower.centre,
                    across: [side, axis.cross(side)],
                    reach: [0.0; FOOTPRINT_SECTORS],
                })
            })
            .collect();
        for (w, &o) in own.iter().enumerate() {
            let Some(Some(f)) = (o as usize).checked_sub(1).and_then(|c| prints.get_mut(c)) else {
                continue;
            };
            let (sector, r) = f.polar(win.world(grid, k0, w));
            f.reach[sector] = f.reach[sector].max(r);
        }
        prints.into_iter().flatten().collect()
    }

    /// The sector and distance (mm) of `p` from the axis.
    fn polar(&self, p: DVec3) -> (usize, f64) {
        let d = p - self.lower;
        let (u, v) = (d.dot(self.across[0]), d.dot(self.across[1]));
        let turn = v.atan2(u) / std::f64::consts::TAU + 0.5;
        let sector = ((turn * FOOTPRINT_SECTORS as f64) as usize).min(FOOTPRINT_SECTORS - 1);
        (sector, u.hypot(v))
    }

    /// Whether `p` lies between the discs and within the seeds' reach.
    fn holds(&self, p: DVec3) -> bool {
        self.candidate.contains(p) && {
            let (sector, r) = self.polar(p);
            r + FOOTPRINT_MARGIN_MM <= self.reach[sector]
        }
    }
}

/// Adds voxel (i, j, k) labelled `l` to its candidate's count and sum of
/// indices (vertebrae only).
#[inline(always)]
fn add_to_sums(sums: &mut [(usize, DVec3)], l: u8, i: usize, j: usize, k: usize) {
    if l > 0 && l < OUTSIDE {
        let e = &mut sums[l as usize - 1];
        e.0 += 1;
        e.1 += DVec3::new(i as f64, j as f64, k as f64);
    }
}

/// [`add_to_sums`] for the window's voxels in slice `k`, row by row.
#[inline(never)]
fn add_window_sums(grid: &Grid, w: &Window, k: usize, labels: &[u8], sums: &mut [(usize, DVec3)]) {
    for j in w.oy..w.oy + w.wj {
        let row = grid.index(0, j, k);
        for i in w.ox..w.ox + w.wi {
            add_to_sums(sums, labels[row + i], i, j, k);
        }
    }
}

/// Which labels occur in `slice`.
#[inline(never)]
fn labels_in(slice: &[u8]) -> [bool; 256] {
    let mut present = [false; 256];
    for &l in slice {
        present[usize::from(l)] = true;
    }
    present
}

/// One slice's masks, as [`bone_in_envelope`] cuts them.
struct Cut<'a> {
    envelope: &'a mut [bool],
    /// The bone in the envelope that is the spine's.
    region: &'a mut [bool],
    /// Bone in the envelope taken for a contrast-filled vessel's lumen.
    lumen: &'a mut [bool],
}

/// One slice's envelope, and the bone in it that is the spine's: not a
/// contrast-filled vessel's lumen (thick, bright and clear of the body) nor
/// what lies beside the body's front. A function per slice, not a loop in
/// `split`: wasm has no on-stack replacement, so a loop in a function
/// called once runs in the browser's baseline code to its end, while a
/// function called per slice is optimised after the first few.
#[inline(never)]
fn bone_in_envelope(
    grid: &Grid,
    s: &crate::column::SliceColumn,
    thick: &Thick,
    win: &Window,
    k: usize,
    cut: Cut,
) {
    let bone = grid.bone_hu();
    let bounds = SliceEnvelope::of(grid, s);
    for y in 0..win.wj {
        let row = grid.index(win.ox, win.oy + y, k);
        for x in 0..win.wi {
            let (i, j) = (win.ox + x, win.oy + y);
            let p = grid.plane_mm(i as f64, j as f64);
            let inside = bounds.contains(grid, p);
            let c = y * win.wi + x;
            cut.envelope[c] = inside;
            let bright = inside && grid.hu(row + x) >= bone && !beside_front(grid, s, p);
            // Thick, bright and not the spine's: a vessel with contrast.
            let lumen = bright && thick.contains(i, j, k) && clear_of_body(grid, s, p);
            cut.region[c] = bright && !lumen;
            cut.lumen[c] = lumen;
        }
    }
}

/// One slice's seeds: bone of the body's core, owned by the slab (between
/// two disc planes) it lies in.
#[inline(never)]
fn body_core(
    grid: &Grid,
    s: &crate::column::SliceColumn,
    candidates: &[Candidate],
    win: &Window,
    k: usize,
    region: &[bool],
    own: &mut [u8],
) {
    for y in 0..win.wj {
        for x in 0..win.wi {
            let w = y * win.wi + x;
            if !region[w] {
                continue;
            }
            let (i, j) = (win.ox + x, win.oy + y);
            let (a, l) = s.body_units(grid, grid.plane_mm(i as f64, j as f64));
            if a * a + l * l > SEED_CORE * SEED_CORE {
                continue;
            }
            let p = grid.world(i as f64, j as f64, k as f64);
            if let Some(c) = candidates.iter().position(|c| c.contains(p)) {
                own[w] = c as u8 + 1;
            }
        }
    }
}

/// Unowns, in window slice `kk`, the owned voxels under `edge_hu` beside
/// soft tissue (6-connected): the bone's edge at half-way between soft
/// tissue and cortex. A voxel's fate depends on `region` and the HU only,
/// so slices are trimmed in place one after another.
#[inline(never)]
fn trim_slice(
    grid: &Grid,
    win: &Window,
    k0: usize,
    kk: usize,
    edge_hu: f32,
    region: &[bool],
    own: &mut [u8],
) {
    let (wi, wj) = (win.wi, win.wj);
    let wk = region.len() / (wi * wj);
    let soft = |x: usize, y: usize, kk: usize| {
        !region[(kk * wj + y) * wi + x]
            && grid.hu_at(win.ox + x, win.oy + y, k0 + kk) < grid.bone_hu()
    };
    for y in 0..wj {
        for x in 0..wi {
            let w = (kk * wj + y) * wi + x;
            if own[w] == 0 || grid.hu_at(win.ox + x, win.oy + y, k0 + kk) >= edge_hu {
                continue;
            }
            let beside_soft = (x > 0 && soft(x - 1, y, kk))
                || (x + 1 < wi && soft(x + 1, y, kk))
                || (y > 0 && soft(x, y - 1, kk))
                || (y + 1 < wj && soft(x, y + 1, kk))
                || (kk > 0 && soft(x, y, kk - 1))
                || (kk + 1 < wk && soft(x, y, kk + 1));
            if beside_soft {
                own[w] = 0;
            }
        }
    }
}

/// The part of a disc's half-gap cleared: its edge is where the HU is
/// half-way to the endplate, partly the endplate's rim.
const CLEARED_OF_GAP: f64 = 0.75;

/// How far (mm) from the body's estimated outline, in its slice, a disc
/// space is cleared: a disc bulges past its endplates' rim.
const DISC_BULGE: f64 = 1.2;

/// The bone's edge at half-way between soft tissue and cortex, not at the
/// low threshold that kept thin cortex connected: a voxel next to soft
/// tissue and under it is mostly soft tissue (marrow inside a body is not
/// soft tissue here: the body's holes were filled); a dim voxel in a disc
/// space is disc. In a lenient reading the cortex itself is dim
/// (osteoporosis, 3 mm voxels): half-way lies just above the bone threshold.
fn edge_hu(grid: &Grid) -> f32 {
    if grid.reading.lenient {
        grid.bone_hu() + 25.0
    } else {
        EDGE_HU
    }
}

/// A disc tilted this far (degrees) from the axial plane is crossed
/// obliquely by the slices: the lumbosacral disc, 35–50° in a lordosis.
const STEEP_DISC_DEG: f64 = 30.0;

/// Whether axial slices cut `disc` steeply enough that a slice holds the
/// front of the vertebra above and the back of the one below (see
/// [`unseed_steep_disc_spaces`]).
pub(crate) fn is_steep(disc: &Disc) -> bool {
    disc.half_gap_mm > 0.0 && disc.normal.z.abs() < STEEP_DISC_DEG.to_radians().cos()
}

/// The slices `disc` can cross within a body's reach (a lumbar body 35 mm
/// from its centre, a disc tilted 50°: 42 mm), within the column.
fn disc_slices(grid: &Grid, column: &Column, disc: &Disc) -> std::ops::RangeInclusive<usize> {
    let last = column.first + column.slices.len() - 1;
    let reach = 45.0 + disc.half_gap_mm;
    let (a, b) = (
        grid.index_of(disc.centre - DVec3::Z * reach).z,
        grid.index_of(disc.centre + DVec3::Z * reach).z,
    );
    let lo = (a.min(b).floor().max(0.0) as usize).max(column.first);
    let hi = (a.max(b).ceil().max(0.0) as usize).min(last);
    lo..=hi
}

/// The window's pixels of slice `k` near enough to the body for `disc`'s
/// space to reach them: within the bulge's outline's box.
fn disc_box(
    grid: &Grid,
    s: &crate::column::SliceColumn,
    win: &Window,
) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let reach = DISC_BULGE * s.half_width.max(s.half_depth);
    let span = |centre: f64, step: f64, from: usize, len: usize| {
        let lo = ((centre - reach) / step).floor().max(from as f64) as usize;
        let hi = (((centre + reach) / step).ceil().max(0.0) as usize + 1).min(from + len);
        lo..hi.max(lo)
    };
    (
        span(s.body.x, grid.spacing.x, win.ox, win.wi),
        span(s.body.y, grid.spacing.y, win.oy, win.wj),
    )
}

/// How far (mm) past its half-gap above a disc's mid-plane its space may
/// reach: into the upper vertebra's concave inferior endplate, whose rim
/// encloses the disc's middle in an axial slice, so the hole fill had
/// labelled it bone (L5's middle height 2.2–2.7 mm over the reference
/// labels' on TotalSegmentator's CT at 3 and 1 mm; within 0.3 mm at 1 mm
/// with this). Not below: there the lower vertebra's superior endplate
/// and S1's top moved, and the lordosis with them (61.1° → 69.3° at 1.5 mm).
const INTO_UPPER_ENDPLATE_MM: f64 = 3.0;

/// Whether voxel (i, j, k), of `hu`, lies in `disc`'s space, inside the
/// bulge: dim, and within the cleared part of its half-gap of the
/// mid-plane, or above that up to `INTO_UPPER_ENDPLATE_MM` past the
/// half-gap and joined to the cleared part by a dim line along the disc's
/// normal (no endplate between).
#[inline(always)]
fn in_disc_space(
    grid: &Grid,
    s: &crate::column::SliceColumn,
    disc: &Disc,
    (i, j, k): (usize, usize, usize),
    hu: f32,
    dim_below_hu: f32,
) -> bool {
    if hu >= dim_below_hu {
        return false;
    }
    let p = grid.world(i as f64, j as f64, k as f64);
    let height = (p - disc.centre).dot(disc.normal);
    let cleared = CLEARED_OF_GAP * disc.half_gap_mm;
    if height.abs() > cleared
        && !(height > 0.0 && height <= disc.half_gap_mm + INTO_UPPER_ENDPLATE_MM)
    {
        return false;
    }
    let (a, l) = s.body_units(grid, grid.plane_mm(i as f64, j as f64));
    if a * a + l * l > DISC_BULGE * DISC_BULGE {
        return false;
    }
    height <= cleared || dim_down_to(grid, p, disc, height - cleared, dim_below_hu)
}

/// Whether the line from `p` down `disc`'s normal for `length` mm stays
/// under `dim_below_hu` (sampled every half voxel).
fn dim_down_to(grid: &Grid, p: DVec3, disc: &Disc, length: f64, dim_below_hu: f32) -> bool {
    let step = 0.5 * grid.spacing.min_element();
    let steps = (length / step).ceil() as usize;
    (1..=steps).all(|n| grid.sample(p - disc.normal * (n as f64 * step).min(length)) < dim_below_hu)
}

/// Takes the seeds off the steep discs' spaces (`own`: the window from the
/// column's first slice). A slice through the lumbosacral disc holds L5's
/// front lower rim ahead of S1's back, and the slice's body outline is
/// S1's: the dim disc between them was seeded as S1 wherever it lay below
/// the disc's mid-plane, and the paths from those seeds, along the slice,
/// took much of L5's lower rim (TotalSegmentator's CT at 0.75 mm pixels and
/// 3 mm slices: L5's lower endplate read 24° for the reference labels'
/// 39°; now 38°). Steep discs only: unseeded at every disc, L5 took the
/// back of L4's lower body beside the L4–L5 disc on the 3 mm CT.
fn unseed_steep_disc_spaces(
    grid: &Grid,
    column: &Column,
    win: &Window,
    discs: &[Disc],
    dim_below_hu: f32,
    own: &mut [u8],
) {
    let plane = win.wi * win.wj;
    for disc in discs.iter().filter(|d| is_steep(d)) {
        for k in disc_slices(grid, column, disc) {
            let s = column.at(k).expect("in the column");
            let base = (k - column.first) * plane;
            let slice = &mut own[base..base + plane];
            let at = |i: usize, j: usize| (j - win.oy) * win.wi + (i - win.ox);
            unlabel_disc_in_slice(grid, s, win, disc, k, dim_below_hu, slice, at);
        }
    }
}

/// How far (mm) past the front of a slice's body outline the vertebra
/// above a steep disc takes its rim back (see [`rims_above_steep_discs`]):
/// a lumbar body is 30–40 mm deep and its lower front rim lies up to half
/// of that ahead of the outline of the body below.
const RIM_AHEAD_MM: f64 = 20.0;

/// Gives the vertebra above each steep disc its front lower rim (`own`:
/// the window from the column's first slice, after the paths). In a slice
/// through the lumbosacral disc the body outline is S1's, so L5's front
/// lower rim, ahead of it, had no seed, and the paths along the slice from
/// S1's seeds took it (TotalSegmentator's CT at 0.75 mm pixels and 3 mm
/// slices: L5's front height read 26 mm for the reference labels' 33.5).
/// What the vertebra below took above the disc's plane, ahead of the
/// outline and within its width, goes to the vertebra above; not seeded
/// before the paths, where contrast-filled vessels in front of L5 would be
/// seeded with it (L5's Dice 0.84 → 0.82).
fn rims_above_steep_discs(
    grid: &Grid,
    column: &Column,
    win: &Window,
    candidates: &[Candidate],
    own: &mut [u8],
) {
    let plane = win.wi * win.wj;
    for (n, c) in candidates.iter().enumerate().take(candidates.len() - 1) {
        let Some(disc) = c.lower.filter(is_steep) else {
            continue;
        };
        for k in disc_slices(grid, column, &disc) {
            let slice = &mut own[(k - column.first) * plane..][..plane];
            rim_in_slice(grid, column, win, c, n as u8 + 1, k, slice);
        }
    }
}

/// [`rims_above_steep_discs`] in window slice `k` for candidate `c`
/// (label `above`; the one below it is `above + 1`). A function per
/// slice: wasm has no on-stack replacement (see [`bone_in_envelope`]).
#[inline(never)]
fn rim_in_slice(
    grid: &Grid,
    column: &Column,
    win: &Window,
    c: &Candidate,
    above: u8,
    k: usize,
    slice: &mut [u8],
) {
    let s = column.at(k).expect("in the column");
    for (w, owner) in slice.iter_mut().enumerate() {
        if *owner != above + 1 {
            continue;
        }
        let (i, j) = (win.ox + w % win.wi, win.oy + w / win.wi);
        let (a, l) = s.body_units(grid, grid.plane_mm(i as f64, j as f64));
        let ahead_mm = (a - SEED_CORE) * s.half_depth;
        if l.abs() <= SEED_CORE
            && ahead_mm > 0.0
            && ahead_mm <= RIM_AHEAD_MM
            && c.contains(grid.world(i as f64, j as f64, k as f64))
        {
            *owner = above;
        }
    }
}

/// Unlabels the disc spaces: dim voxels within each disc's half-gap of its
/// mid-plane, across the body. The slices' hole fill encloses a disc cut
/// obliquely by axial slices between the bone around it, and the paths
/// through bone then hand it to one of its vertebrae, which grows into the
/// disc (on TotalSegmentator's CT, L1's middle height 2 mm long at 3 mm,
/// L5's 5 mm at 1.5 mm).
fn clear_disc_spaces(
    grid: &Grid,
    column: &Column,
    win: &Window,
    discs: &[Disc],
    dim_below_hu: f32,
    labels: &mut [u8],
) {
    for disc in discs.iter().filter(|d| d.half_gap_mm > 0.0) {
        for k in disc_slices(grid, column, disc) {
            let s = column.at(k).expect("in the column");
            let at = |i: usize, j: usize| grid.index(i, j, k);
            unlabel_disc_in_slice(grid, s, win, disc, k, dim_below_hu, labels, at);
        }
    }
}

/// Sets to 0 the labelled voxels of `disc`'s space in slice `k`, where
/// `at(i, j)` indexes `labels` (a window's slice, or the whole grid). Only
/// the box of the bulge's outline is visited.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn unlabel_disc_in_slice(
    grid: &Grid,
    s: &crate::column::SliceColumn,
    win: &Window,
    disc: &Disc,
    k: usize,
    dim_below_hu: f32,
    labels: &mut [u8],
    at: impl Fn(usize, usize) -> usize,
) {
    let (columns, rows) = disc_box(grid, s, win);
    for j in rows {
        for i in columns.clone() {
            let w = at(i, j);
            if labels[w] != 0
                && in_disc_space(grid, s, disc, (i, j, k), grid.hu_at(i, j, k), dim_below_hu)
            {
                labels[w] = 0;
            }
        }
    }
}

/// The part of each slice the envelope can reach, so working arrays hold
/// the spine's neighbourhood rather than the whole volume.
pub(crate) struct Window {
    ox: usize,
    oy: usize,
    wi: usize,
    wj: usize,
}

impl Window {
    /// Patient position of window voxel `w` (x fastest, slices from `k0`).
    fn world(&self, grid: &Grid, k0: usize, w: usize) -> DVec3 {
        let plane = self.wi * self.wj;
        let (x, y, kk) = (w % self.wi, (w % plane) / self.wi, w / plane);
        grid.world((self.ox + x) as f64, (self.oy + y) as f64, (k0 + kk) as f64)
    }

    fn around(grid: &Grid, column: &Column) -> Self {
        let (mut lo, mut hi) = (DVec2::splat(f64::MAX), DVec2::splat(f64::MIN));
        for s in &column.slices {
            let front = (s.body - s.canal).dot(grid.anterior) + s.half_depth + front_margin(grid);
            let half_width = (1.9 * s.half_width).clamp(28.0, 55.0);
            for (a, l) in [
                (front, half_width),
                (front, -half_width),
                (-75.0, half_width),
                (-75.0, -half_width),
            ] {
                let p = s.canal + grid.anterior * a + grid.lateral * l;
                lo = lo.min(p);
                hi = hi.max(p);
            }
        }
        let to_px = |v: f64, s: f64, n: usize| ((v / s).round().max(0.0) as usize).min(n - 1);
        let (ox, oy) = (
            to_px(lo.x, grid.spacing.x, grid.dims[0]),
            to_px(lo.y, grid.spacing.y, grid.dims[1]),
        );
        let (ex, ey) = (
            to_px(hi.x, grid.spacing.x, grid.dims[0]),
            to_px(hi.y, grid.spacing.y, grid.dims[1]),
        );
        Self {
            ox,
            oy,
            wi: ex - ox + 1,
            wj: ey - oy + 1,
        }
    }
}

/// The envelope mask over the window, slices `k0..`.
struct Envelope {
    win: Window,
    k0: usize,
    /// Slices from `k0` the mask covers.
    slices: usize,
    mask: Vec<bool>,
}

impl Envelope {
    /// Within the window, on the column's slices.
    fn in_box(&self, i: usize, j: usize, k: usize) -> bool {
        let w = &self.win;
        (self.k0..self.k0 + self.slices).contains(&k)
            && (w.ox..w.ox + w.wi).contains(&i)
            && (w.oy..w.oy + w.wj).contains(&j)
    }

    fn contains(&self, i: usize, j: usize, k: usize) -> bool {
        let w = &self.win;
        self.in_box(i, j, k) && self.mask[((k - self.k0) * w.wj + (j - w.oy)) * w.wi + (i - w.ox)]
    }
}

/// How far (mm) the lenient fill's flood keeps from bone, rounded to
/// pixels (at least one): on 3 mm voxels, or in osteoporotic bone whose
/// cancellous core is under the bone threshold, a body's cortical ring
/// shows gaps, and its marrow must still be filled. In mm, not pixels: one
/// pixel on TotalSegmentator's CT resampled from 3 to 1.5 mm left L1's dim
/// middle unfilled (Dice 0.79 against 0.89 at 3 mm).
const CORTEX_GAP_MM: f64 = 3.0;

/// Fills, in one slice, the holes of `region` inside the envelope: every
/// non-bone pixel not reachable from outside the envelope or from the
/// canal. In a lenient reading the flood first keeps `CORTEX_GAP_MM` from bone, so it cannot
/// slip through a gap in a cortical ring, then spreads back over the
/// margin it kept (twice as far, 4-connected steps), which reaches the
/// bone's outer surface but only a few pixels into a cavity.
#[inline(never)]
fn fill_holes(
    region: &mut [bool],
    envelope: &[bool],
    seen: &mut [u8],
    ni: usize,
    nj: usize,
    grid: &Grid,
    canal: DVec2,
) {
    let gap = if grid.reading.lenient {
        (CORTEX_GAP_MM / grid.spacing.x.min(grid.spacing.y))
            .round()
            .max(1.0) as usize
    } else {
        0
    };
    // Pixels within `gap` (square) of bone: bone within `gap` along the
    // row, then within `gap` rows of that, each by a running count (the
    // rows' counts a row at a time, not a column at a time across rows).
    let mut rows = vec![false; ni * nj];
    for (row, bone) in rows.chunks_exact_mut(ni).zip(region.chunks_exact(ni)) {
        within(bone, row, gap);
    }
    let mut near = vec![false; ni * nj];
    let mut count = vec![0u32; ni];
    let row = |j: usize| &rows[j * ni..(j + 1) * ni];
    for j in 0..gap.min(nj) {
        count
            .iter_mut()
            .zip(row(j))
            .for_each(|(c, &r)| *c += u32::from(r));
    }
    for j in 0..nj {
        if j + gap < nj {
            count
                .iter_mut()
                .zip(row(j + gap))
                .for_each(|(c, &r)| *c += u32::from(r));
        }
        let out = &mut near[j * ni..(j + 1) * ni];
        out.iter_mut().zip(&count).for_each(|(o, &c)| *o = c > 0);
        if j >= gap {
            count
                .iter_mut()
                .zip(row(j - gap))
                .for_each(|(c, &r)| *c -= u32::from(r));
        }
    }
    drop(rows);
    let neighbours = |p: usize| crate::plane::side_neighbours(p, ni, nj);
    // Outside the envelope nothing is bone for this flood.
    let open: Vec<bool> = envelope
        .iter()
        .zip(region.iter())
        .zip(&near)
        .map(|((&e, &r), &n)| !e || (!r && !n))
        .collect();
    // The flood starts outside the envelope away from bone: from the first
    // pixel of each run of such pixels along a row (the flood takes a
    // row's run at a time), then from the canal if it did not get there.
    let mut starts = Vec::new();
    for (j, (envelope, near)) in envelope
        .chunks_exact(ni)
        .zip(near.chunks_exact(ni))
        .enumerate()
    {
        let mut in_run = false;
        for (i, (&e, &n)) in envelope.iter().zip(near).enumerate() {
            let start = !e && !n;
            if start && !in_run {
                starts.push(j * ni + i);
            }
            in_run = start;
        }
    }
    let mut reached = vec![false; ni * nj];
    let keep = |p: usize| open[p];
    crate::plane::flood_runs(ni, nj, &keep, &mut reached, starts);
    let (ci, cj) = (
        (canal.x / grid.spacing.x).round(),
        (canal.y / grid.spacing.y).round(),
    );
    if ci >= 0.0 && cj >= 0.0 && (ci as usize) < ni && (cj as usize) < nj {
        let c = cj as usize * ni + ci as usize;
        if !region[c] && !reached[c] {
            crate::plane::flood_runs(ni, nj, &keep, &mut reached, vec![c]);
        }
    }
    // `seen`: 0 unreached, 1 reached by the first flood, then steps + 1.
    for (s, &r) in seen.iter_mut().zip(&reached) {
        *s = u8::from(r);
    }
    // Back over the margin, a step at a time so steps count: the first
    // step takes what the flood left next to its edge, each later one what
    // the step before reached.
    let reach = (2 * gap + 1) as u8;
    let mut front: Vec<usize> = Vec::new();
    if reach > 1 {
        for p in 0..ni * nj {
            if seen[p] == 0
                && !region[p]
                && neighbours(p).into_iter().flatten().any(|n| seen[n] == 1)
            {
                seen[p] = 2;
                front.push(p);
            }
        }
    }
    for steps in 2..reach {
        let mut next = Vec::new();
        for &p in &front {
            for n in neighbours(p).into_iter().flatten() {
                if seen[n] == 0 && !region[n] {
                    seen[n] = steps + 1;
                    next.push(n);
                }
            }
        }
        front = next;
    }
    for ((r, &e), &s) in region.iter_mut().zip(envelope).zip(seen.iter()) {
        if e && s == 0 {
            *r = true;
        }
    }
}

/// `out[x]`: whether any of `inside[x - gap..=x + gap]` (within bounds) is
/// set, by a running count rather than a scan of the window per cell.
fn within(inside: &[bool], out: &mut [bool], gap: usize) {
    let n = inside.len();
    let mut count = inside[..gap.min(n)].iter().filter(|&&b| b).count();
    for x in 0..n {
        if x + gap < n && inside[x + gap] {
            count += 1;
        }
        out[x] = count > 0;
        if x >= gap && inside[x - gap] {
            count -= 1;
        }
    }
}

/// Bone outside the envelope, flooded from where it touches a vertebra;
/// each voxel remembers the nearest vertebra it was reached from. Small
/// floods near the spine go back to their vertebra (transverse process
/// tips); the rest stay `OUTSIDE + c` for the caller to name. Returns the
/// voxels the floods reached, so later passes visit them, not the volume.
/// Each pass is a function called per slice or per batch of voxels (see
/// [`bone_in_envelope`]: wasm optimises between calls, not during one).
fn outside_bone(
    grid: &Grid,
    column: &Column,
    envelope: &Envelope,
    thick: &Thick,
    labels: &mut [u8],
    candidates: &mut [Candidate],
) -> Vec<usize> {
    let below_sacrum = candidates
        .iter()
        .position(|c| c.alae.is_some())
        .unwrap_or(candidates.len());
    // With a sacrum in view, the vertebrae right above it are lumbar.
    let lumbar = if below_sacrum < candidates.len() {
        below_sacrum.saturating_sub(LUMBAR_ABOVE_SACRUM)..below_sacrum
    } else {
        0..0
    };
    let flood = OutsideFlood {
        grid,
        column,
        envelope,
        thick,
        below_sacrum,
        lumbar,
    };
    let k0 = column.first;
    // Every vertebra's voxel lies in the envelope's window. `reached` is
    // both the breadth-first queue (read from `next`) and, after it, the
    // list of voxels the floods reached.
    let mut reached = Vec::new();
    for k in k0..k0 + column.slices.len() {
        flood.seed_slice(k, labels, &mut reached);
    }
    let mut next = 0;
    while next < reached.len() {
        next = flood.spread(next, labels, &mut reached);
    }
    // How far each flood reaches beside the spine.
    for part in reached.chunks(FLOOD_BATCH) {
        flood.add_reach(part, labels, candidates);
    }
    let voxel_mm3 = grid.spacing.x * grid.spacing.y * grid.spacing.z;
    // Small floods go back to their vertebra: one pass with a label map.
    let mut back: [u8; 256] = std::array::from_fn(|l| l as u8);
    let mut ribbed = vec![false; candidates.len()];
    for (n, c) in candidates.iter_mut().enumerate() {
        let ml = c.outside_voxels as f64 * voxel_mm3 / 1000.0;
        if c.outside_voxels > 0 && ml < 4.0 && c.outside_reach_mm < RIB_REACH_MM {
            back[(OUTSIDE + n as u8) as usize] = n as u8 + 1;
        } else if n < below_sacrum
            && !flood.lumbar.contains(&n)
            && ml >= 1.0
            && c.outside_reach_mm >= RIB_REACH_MM
        {
            c.ribs = true;
            ribbed[n] = true;
        }
    }
    for part in reached.chunks(FLOOD_BATCH) {
        relabel_reached(part, labels, &back);
    }
    if !ribbed.iter().any(|&r| r) {
        return reached;
    }
    for k in k0..k0 + column.slices.len() {
        flood.rib_necks_in_slice(k, &ribbed, labels);
    }
    reached
}

/// How many vertebrae directly above the sacrum are lumbar in every spine
/// (four lumbar vertebrae at the fewest): none of them bears a rib.
const LUMBAR_ABOVE_SACRUM: usize = 3;
/// How far (mm) to the side of the canal a lumbar vertebra's bone outside
/// the envelope reaches at most: its transverse processes' tips (L5's at
/// 45–48 mm on TotalSegmentator's lumbar CT; L3's, the longest, lost tip
/// voxels at 52). Beyond lies the iliac crest, which
/// L5's transverse process touches on CT of 3 mm or of dense bone: L5's
/// flood took 179 voxels of the right ilium there (54–81 mm out), reached
/// far enough to be called rib-bearing, and its transverse processes were
/// labelled rib (117 voxels).
const LUMBAR_REACH_MM: f64 = 56.0;

/// Voxels of the outside flood visited per call (see [`outside_bone`]).
const FLOOD_BATCH: usize = 1 << 16;

/// What the outside flood of [`outside_bone`] reads.
struct OutsideFlood<'g, 'v> {
    grid: &'g Grid<'v>,
    column: &'g Column,
    envelope: &'g Envelope,
    thick: &'g Thick,
    /// Candidates from here on are the sacrum's and below.
    below_sacrum: usize,
    /// Candidates known to be lumbar: they bear no rib, and their floods
    /// (transverse processes) stop at [`LUMBAR_REACH_MM`] from the canal.
    lumbar: std::ops::Range<usize>,
}

impl OutsideFlood<'_, '_> {
    /// Slice `k`'s column, clamped to the column's slices.
    fn slice_of(&self, k: usize) -> &crate::column::SliceColumn {
        let k0 = self.column.first;
        self.column
            .at(k.clamp(k0, k0 + self.column.slices.len() - 1))
            .expect("clamped")
    }

    /// (i, j, k) of voxel index `w`.
    fn ijk(&self, w: usize) -> (usize, usize, usize) {
        let [ni, nj, _] = self.grid.dims;
        (w % ni, (w / ni) % nj, w / (ni * nj))
    }

    /// Whether a flood from label `from` may take voxel `n` (`usize::MAX`:
    /// past the volume's edge). Floods from above the sacrum are rib
    /// floods: they stop at the sternum and at thick bone. The pelvis's
    /// reaches its own front (the pubis) unhindered.
    #[inline(always)]
    fn open(&self, n: usize, labels: &[u8], from: u8) -> bool {
        // The cheap tests first: most neighbours are soft tissue.
        let grid = self.grid;
        if n == usize::MAX || labels[n] != 0 || grid.hu(n) < grid.bone_hu() {
            return false;
        }
        let (i, j, k) = self.ijk(n);
        if self.envelope.contains(i, j, k) {
            return false;
        }
        let from = (from - OUTSIDE) as usize;
        if self.lumbar.contains(&from) && self.lateral_of_canal(i, j, k) > LUMBAR_REACH_MM {
            return false;
        }
        let rib_flood = from < self.below_sacrum;
        !(rib_flood && (self.sternum(i, j, k) || self.thick.contains(i, j, k)))
    }

    /// How far (mm) voxel (i, j, k) lies to the side of its slice's canal.
    fn lateral_of_canal(&self, i: usize, j: usize, k: usize) -> f64 {
        let p = self.grid.plane_mm(i as f64, j as f64);
        (p - self.slice_of(k).canal).dot(self.grid.lateral).abs()
    }

    /// Far in front of the body and near the midline.
    fn sternum(&self, i: usize, j: usize, k: usize) -> bool {
        let s = self.slice_of(k);
        let grid = self.grid;
        let d = grid.plane_mm(i as f64, j as f64) - s.body;
        d.dot(grid.anterior) - s.half_depth > STERNUM_AHEAD_MM
            && d.dot(grid.lateral).abs() < STERNUM_HALF_WIDTH_MM
    }

    /// The six face neighbours of `w`; `usize::MAX` past the edge.
    #[inline(always)]
    fn neighbours(&self, w: usize) -> [usize; 6] {
        let [ni, nj, nk] = self.grid.dims;
        let plane = ni * nj;
        let (i, j, k) = self.ijk(w);
        let mut out = [usize::MAX; 6];
        if i > 0 {
            out[0] = w - 1;
        }
        if i + 1 < ni {
            out[1] = w + 1;
        }
        if j > 0 {
            out[2] = w - ni;
        }
        if j + 1 < nj {
            out[3] = w + ni;
        }
        if k > 0 {
            out[4] = w - plane;
        }
        if k + 1 < nk {
            out[5] = w + plane;
        }
        out
    }

    /// The floods' first step from the vertebrae's voxels in slice `k`.
    #[inline(never)]
    fn seed_slice(&self, k: usize, labels: &mut [u8], reached: &mut Vec<usize>) {
        let (grid, win) = (self.grid, &self.envelope.win);
        for j in win.oy..win.oy + win.wj {
            for w in grid.index(win.ox, j, k)..grid.index(win.ox + win.wi, j, k) {
                let l = labels[w];
                if l == 0 || l >= OUTSIDE {
                    continue;
                }
                for n in self.neighbours(w) {
                    if self.open(n, labels, OUTSIDE + l - 1) {
                        labels[n] = OUTSIDE + l - 1;
                        reached.push(n);
                    }
                }
            }
        }
    }

    /// Spreads from up to [`FLOOD_BATCH`] voxels of the queue from `next`;
    /// where the queue now stands.
    #[inline(never)]
    fn spread(&self, next: usize, labels: &mut [u8], reached: &mut Vec<usize>) -> usize {
        let end = (next + FLOOD_BATCH).min(reached.len());
        for at in next..end {
            let w = reached[at];
            for n in self.neighbours(w) {
                if self.open(n, labels, labels[w]) {
                    labels[n] = labels[w];
                    reached.push(n);
                }
            }
        }
        end
    }

    /// Counts `part`'s voxels to the candidates they were reached from, and
    /// how far from the canal sideways each flood reaches.
    #[inline(never)]
    fn add_reach(&self, part: &[usize], labels: &[u8], candidates: &mut [Candidate]) {
        for &w in part {
            let c = &mut candidates[(labels[w] - OUTSIDE) as usize];
            c.outside_voxels += 1;
            let (i, j, k) = self.ijk(w);
            c.outside_reach_mm = c.outside_reach_mm.max(self.lateral_of_canal(i, j, k));
        }
    }

    /// A rib-bearing vertebra's rib head and neck in slice `k`: beside the
    /// body, in front of the transverse process (which sits level with the
    /// canal or behind it); and anything past a thoracic transverse
    /// process's usual reach. Only the envelope's window can hold them.
    #[inline(never)]
    fn rib_necks_in_slice(&self, k: usize, ribbed: &[bool], labels: &mut [u8]) {
        let (grid, w) = (self.grid, &self.envelope.win);
        let s = self.column.at(k).expect("in the column");
        for j in w.oy..w.oy + w.wj {
            for i in w.ox..w.ox + w.wi {
                let at = grid.index(i, j, k);
                let l = labels[at];
                if l == 0 || l >= OUTSIDE || !ribbed[l as usize - 1] {
                    continue;
                }
                let d = grid.plane_mm(i as f64, j as f64) - s.canal;
                let lateral = d.dot(grid.lateral).abs();
                let beside = lateral > s.half_width + 1.0 && d.dot(grid.anterior) > 3.0;
                if beside || lateral > 1.75 * s.half_width {
                    labels[at] = OUTSIDE + l - 1;
                }
            }
        }
    }
}

/// Relabels `part`'s voxels through `back`.
#[inline(never)]
fn relabel_reached(part: &[usize], labels: &mut [u8], back: &[u8; 256]) {
    for &w in part {
        labels[w] = back[labels[w] as usize];
    }
}

/// How a candidate's alae were seen (see [`alae_beside`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alae {
    /// On lines through the body's middle or 40% of the way to its back:
    /// the evidence a reading of bone is trusted on (see `Analyser::judge`).
    AtBodyDepths,
    /// Only on lines at other depths, from 20% of the body's half-depth in
    /// front of its middle to 45% behind it. A name anchor still, but the
    /// weaker one: on TotalSegmentator's osteoporotic CT with 25 HU of
    /// noise, the 150 HU reading sees alae so while splitting worse than
    /// the 125 HU reading after it (T12 lost, or L4 0.84 against 0.87).
    AtOtherDepths,
}

/// Depths of the lines an ala is sought on, as fractions of the body's
/// half-depth (+ in front), besides the middle and 40% behind it.
const ALA_DEPTHS: std::ops::RangeInclusive<f64> = -0.45..=0.2;

/// Sacral alae: bone running without a break from the body's side out
/// past 40 mm from the column, level with the body, on each side in at
/// least 30% of the slices of the slab's top 30 mm (a rib touches the body
/// only at its head, and a lumbar transverse process sits behind the
/// body). Each side counts its own slices: a pelvis rotated or tilted
/// against the slices, or dim marrow in one ala, puts the two alae's
/// unbroken runs on different slices (on TotalSegmentator's CT resampled
/// to 1.5 mm, 4 of 17 slices had both, 7 and 9 one side).
///
/// An osteoporotic ala's marrow reads as dim as muscle; what runs unbroken
/// is its front cortex, which lies at a depth that changes from slice to
/// slice (in front of the body's middle 15–30 mm below its top, 30–60%
/// behind it at the top). Lines at the middle and 40% behind it alone
/// found the alae of that CT rolled 4–5° in its coronal plane in 4 of 14
/// slices a side; lines at every depth between, in 6 and 7 of 14.
fn alae_beside(grid: &Grid, column: &Column, c: &Candidate) -> Option<Alae> {
    let top = c.upper?;
    // Osteoporotic alae are marrow (75–125 HU) inside thin cortex; the
    // psoas beside a lumbar body (40–60 HU) still breaks the run.
    let ala_hu = if grid.reading.lenient {
        grid.bone_hu() - 50.0
    } else {
        grid.bone_hu()
    };
    let bone_at = |p: DVec2, k: usize| {
        let (i, j) = (
            (p.x / grid.spacing.x).round(),
            (p.y / grid.spacing.y).round(),
        );
        i >= 0.0
            && j >= 0.0
            && (i as usize) < grid.dims[0]
            && (j as usize) < grid.dims[1]
            && grid.hu_at(i as usize, j as usize, k) >= ala_hu
    };
    // A gap of one voxel does not break an ala on 3 mm voxels.
    let tolerance = 2.0f64.max(1.1 * grid.spacing.max_element());
    let step = grid.spacing.y.min(1.0);
    // Slices with a run: [at the body's depths, at any depth] × [left, right].
    let mut seen = [[0usize; 2]; 2];
    let mut slices = 0;
    for (o, s) in column.slices.iter().enumerate() {
        let k = column.first + o;
        let centre = grid.world(
            s.body.x / grid.spacing.x,
            s.body.y / grid.spacing.y,
            k as f64,
        );
        let below = (top.centre - centre).dot(top.normal);
        if !(3.0..=30.0).contains(&below) || !c.contains(centre) {
            continue;
        }
        slices += 1;
        let reaches = |side: f64, depth: f64| {
            let mut gap = 0.0;
            let mut l = 0.8 * s.half_width;
            while l <= 42.0 {
                let p = s.body + grid.anterior * depth + grid.lateral * (side * l);
                if bone_at(p, k) {
                    gap = 0.0;
                } else {
                    gap += 0.5;
                    if gap > tolerance {
                        return false;
                    }
                }
                l += 0.5;
            }
            true
        };
        let lines = ((ALA_DEPTHS.end() - ALA_DEPTHS.start()) * s.half_depth / step) as usize;
        let other_depths = (0..=lines).map(|m| ALA_DEPTHS.end() * s.half_depth - m as f64 * step);
        for (n, side) in [-1.0, 1.0].into_iter().enumerate() {
            let at_body_depths = [0.0, -0.4 * s.half_depth]
                .into_iter()
                .any(|d| reaches(side, d));
            seen[0][n] += usize::from(at_body_depths);
            seen[1][n] +=
                usize::from(at_body_depths || other_depths.clone().any(|d| reaches(side, d)));
        }
    }
    let on_both_sides =
        |[left, right]: [usize; 2]| slices > 0 && left.min(right) * 10 >= slices * 3;
    if on_both_sides(seen[0]) {
        Some(Alae::AtBodyDepths)
    } else if on_both_sides(seen[1]) {
        Some(Alae::AtOtherDepths)
    } else {
        None
    }
}
