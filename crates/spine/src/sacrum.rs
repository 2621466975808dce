//! The sacrum below the spine's column. The column (and with it the
//! envelope the vertebrae are split in) ends with the sacral canal; below
//! it everything bony was reached from the sacrum outside the envelope and
//! called pelvis, the lower sacrum and the coccyx too. They are told from
//! the pelvis slice by slice: bone that continues the slice above's sacrum
//! and lies within its width is sacrum; the iliac and ischial bones beside
//! it are apart from it there (sacrospinous and sacrotuberous ligaments,
//! not bone, join them) or outside its width. Then its marrow, which
//! dim bone leaves out of every reading, is filled in slice by slice, and
//! the ilium's inner wall, taken across the sacroiliac joint, is given back
//! to the pelvis.

use std::collections::VecDeque;

use crate::canal::Pocket;
use crate::column::Disc;
use crate::grid::Grid;
use crate::holes::DISC_REACH_MM;
use crate::naming::{PELVIS_LABEL, label_of};
use crate::plane::components_inside;
use crate::steps::{Steps, steps_to_bone};
use crate::thick::euclidean;

/// Gives the sacrum's label to pelvis voxels that continue it down the
/// slices (towards lower slice indices where `down_is_lower_k`), in each
/// slice those 8-connected to the slice before's sacrum (within one pixel)
/// and no further to either side than it reached there.
pub(crate) fn continue_down(grid: &Grid, labels: &mut [u8], down_is_lower_k: bool) {
    let sacrum = label_of(24);
    let [ni, nj, nk] = grid.dims;
    let plane = ni * nj;
    // The sacrum's last slice down.
    let Some(start) = (0..nk)
        .map(|o| if down_is_lower_k { o } else { nk - 1 - o })
        .find(|&k| labels[k * plane..(k + 1) * plane].contains(&sacrum))
    else {
        return;
    };
    let lateral = |p: usize| {
        grid.plane_mm((p % ni) as f64, (p / ni) as f64)
            .dot(grid.lateral)
    };
    let mut previous: Vec<usize> = (0..plane)
        .filter(|&p| labels[start * plane + p] == sacrum)
        .collect();
    let (mut mid, mut half) = extent(&previous, lateral);
    let midline = mid;
    let mut k = start;
    let mut taken = vec![false; plane];
    let mut queue = VecDeque::new();
    loop {
        k = match (down_is_lower_k, k) {
            (true, 0) => break,
            (true, k) => k - 1,
            (false, k) if k + 1 >= nk => break,
            (false, k) => k + 1,
        };
        let slice = &labels[k * plane..(k + 1) * plane];
        taken.fill(false);
        for &p in &previous {
            queue_pelvis_around(p, [ni, nj], slice, &mut taken, &mut queue);
        }
        let mut kept = Vec::new();
        while let Some(p) = queue.pop_front() {
            if (lateral(p) - mid).abs() <= half {
                kept.push(p);
            }
            queue_pelvis_around(p, [ni, nj], slice, &mut taken, &mut queue);
        }
        let near = |&p: &usize| (lateral(p) - midline).abs() <= MIDLINE_REACH_MM;
        if !kept.iter().any(near) {
            break;
        }
        for &p in &kept {
            labels[k * plane + p] = sacrum;
        }
        // The sacrum narrows down to the coccyx: never wider than above.
        let (m, h) = extent(&kept, lateral);
        mid = m;
        half = half.min(h + grid.spacing.x.max(grid.spacing.y));
        previous = kept;
    }
}

/// How far (mm) from the sacrum's middle, where it leaves the column, the
/// bone that continues it down must reach in some slice. The sacrum and the
/// coccyx end at the midline. An ilium joined to the sacrum at the
/// sacroiliac joint goes on down beside it, past the coccyx's end: on
/// TotalSegmentator's CT at 0.75 mm pixels one reading took the right ilium
/// and acetabulum down to the scan's end as sacrum (196 ml, against 125).
const MIDLINE_REACH_MM: f64 = 15.0;

/// Radius (mm) of the closing that encloses the sacrum's marrow in a
/// slice. An osteoporotic sacrum's alae hold marrow as dim as muscle
/// (TotalSegmentator's CT: half of what its reference labels sacrum and
/// we did not read under 46 HU) behind a cortex that partial volume breaks
/// into pieces, and the dorsal foramina open its back: no slice encloses
/// it. On that CT (3 mm, and 0.7 mm pixels with 1 mm slices), closings of
/// 6, 12, 15, 18 and 24 mm alone took the sacrum's Dice from 0.61 to 0.66,
/// 0.75, 0.80, 0.80 and 0.77 (0.58 to 0.62, 0.74, 0.77 and 0.78 at the
/// finer sampling): wider ones reach round the ilium's inner wall. Those
/// closings' distances were a 3×3 chamfer's, up to 8% long at an angle:
/// gaps near 30 mm stayed open (on the 3 mm CT, in the five slices across
/// S2, it enclosed 133 voxels of the reference's sacrum where an exact
/// closing encloses 479); with exact distances the Dice is 0.801 (0.783).
const MARROW_CLOSING_MM: f32 = 15.0;

/// How far (mm) a voxel of the closing looks along a line for the sacrum
/// on both sides, and on how many of four lines (along the rows, the
/// columns and both diagonals) it must find it. Marrow lies between
/// cortex across the ala (up to 45 mm from the S1 body to the sacroiliac
/// joint); the fillet a closing lays into a corner outside the bone
/// meets bone on both sides along one line only. The demo's T-shaped
/// sacrum lost 0.02 of Dice to such fillets without this test; on
/// TotalSegmentator's CT it costs 0.01–0.03.
const MARROW_SPAN_MM: f64 = 45.0;
const MARROW_LINES: u8 = 2;

/// Dimmest voxel (HU) the sacrum's marrow may hold: fatty marrow, not fat
/// or air (the vertebrae's holes have the same floor).
const MARROW_FLOOR_HU: f32 = -50.0;

/// The box of the sacrum's label in each slice (first and last column
/// and row), found in one pass over the labels that skips blocks of 0s.
/// The marrow fill and the ilium's wall each looked for the sacrum in
/// every slice, pixel by pixel: with these boxes, in V8's profile of the
/// wasm build on a 523×433×336 CT, the fill went from 518 to 373 ms and
/// the wall from 166 to 29 ms.
pub(crate) struct Extents {
    boxes: Vec<Option<SliceBox>>,
}

/// Columns `i0..=i1` and rows `j0..=j1` of a slice.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SliceBox {
    i0: usize,
    j0: usize,
    i1: usize,
    j1: usize,
}

impl SliceBox {
    /// The box of pixel (i, j) alone.
    fn at(i: usize, j: usize) -> Self {
        Self {
            i0: i,
            j0: j,
            i1: i,
            j1: j,
        }
    }

    /// The box grown to hold pixel (i, j).
    fn with(self, i: usize, j: usize) -> Self {
        Self {
            i0: self.i0.min(i),
            j0: self.j0.min(j),
            i1: self.i1.max(i),
            j1: self.j1.max(j),
        }
    }
}

impl Extents {
    /// The sacrum's box in each slice of `labels`.
    pub(crate) fn find(grid: &Grid, labels: &[u8]) -> Self {
        let [ni, nj, _] = grid.dims;
        let boxes = labels
            .chunks_exact(ni * nj)
            .map(|slice| slice_box(slice, ni))
            .collect();
        Self { boxes }
    }
}

/// The box of the sacrum's label in one slice of rows `ni` long, a block
/// of labels at a time where they are all 0. A call per slice: wasm has
/// no on-stack replacement.
#[inline(never)]
fn slice_box(slice: &[u8], ni: usize) -> Option<SliceBox> {
    let sacrum = label_of(24);
    let mut found: Option<SliceBox> = None;
    for (j, row) in slice.chunks_exact(ni).enumerate() {
        for (b, block) in row.chunks(crate::BLOCK).enumerate() {
            if crate::all_zero(block) {
                continue;
            }
            for (n, &l) in block.iter().enumerate() {
                if l == sacrum {
                    let i = b * crate::BLOCK + n;
                    found = Some(found.map_or(SliceBox::at(i, j), |f| f.with(i, j)));
                }
            }
        }
    }
    found
}

/// Gives the sacrum's label to the unlabelled voxels, no dimmer than
/// `MARROW_FLOOR_HU`, that its label encloses in each slice once closed by
/// `MARROW_CLOSING_MM` and that see it on both sides along
/// `MARROW_LINES` lines; not in the canal (the `chain`'s pocket in that
/// slice, where it has one) nor within `DISC_REACH_MM` of a disc's
/// mid-plane (S1's endplate rim encloses the disc's middle, which would
/// raise its top). Labels of other bones are never taken.
/// `extents` are the sacrum's boxes, grown here to hold what is filled.
pub(crate) fn fill_marrow(
    grid: &Grid,
    labels: &mut [u8],
    extents: &mut Extents,
    chain: &[Pocket],
    discs: &[Disc],
) {
    let [ni, nj, _] = grid.dims;
    let plane = ni * nj;
    for (k, sacrum_box) in extents.boxes.iter_mut().enumerate() {
        let Some(within) = sacrum_box else {
            continue;
        };
        let slice = &mut labels[k * plane..(k + 1) * plane];
        let canal = chain.iter().find(|p| p.k == k);
        for _ in 0..MARROW_PASSES {
            // A pass that filled nothing leaves the next the same slice.
            if !fill_marrow_in_slice(grid, slice, k, within, canal, discs) {
                break;
            }
        }
    }
}

/// Passes of [`fill_marrow`] in each slice. Where the labelled cortex is
/// sparse, the marrow's middle lies more than the closing's radius from
/// all of it and is not enclosed; the first pass's fill gives the second
/// the walls that enclose it. On TotalSegmentator's CT at 3 mm the
/// sacrum's Dice is 0.757 after one pass, 0.775 after two, 0.776 after
/// four; every other label unchanged.
const MARROW_PASSES: usize = 2;

/// [`fill_marrow`] in slice `k`, whose labels are `slice` and the
/// sacrum's box there `within` (grown to hold what is filled); whether it
/// filled any voxel. A function per slice: wasm has no on-stack
/// replacement.
#[inline(never)]
fn fill_marrow_in_slice(
    grid: &Grid,
    slice: &mut [u8],
    k: usize,
    within: &mut SliceBox,
    canal: Option<&Pocket>,
    discs: &[Disc],
) -> bool {
    let sacrum = label_of(24);
    let [ni, nj, _] = grid.dims;
    let SliceBox { i0, j0, i1, j1 } = *within;
    // The box reaches the closing's radius in pixels of the smaller side
    // (and `pixel` pads the canal's reach). It reaches past the slice's edges where the
    // sacrum comes near them: beyond an edge is outside the bone, not
    // inside the closing.
    let pixel = grid.spacing.x.min(grid.spacing.y) as f32;
    let reach = (MARROW_CLOSING_MM / pixel).ceil() as usize + 1;
    let (w, h) = (i1 - i0 + 1 + 2 * reach, j1 - j0 + 1 + 2 * reach);
    // Cell (x, y) of the box is pixel (x + i0 - reach, y + j0 - reach):
    // the box's rows and columns that lie in the slice, row by row, with
    // no division per cell to place it.
    let in_slice = |x: usize, y: usize| {
        let (x, y) = ((i0 + x).checked_sub(reach)?, (j0 + y).checked_sub(reach)?);
        (x < ni && y < nj).then_some((x, y))
    };
    let xs = reach.saturating_sub(i0)..w.min(ni + reach - i0);
    let ys = reach.saturating_sub(j0)..h.min(nj + reach - j0);
    let mut bone = vec![false; w * h];
    for y in ys.clone() {
        let row = &slice[(j0 + y - reach) * ni..][..ni];
        for x in xs.clone() {
            bone[y * w + x] = row[i0 + x - reach] == sacrum;
        }
    }
    // Closing: within the radius of the sacrum, and no nearer than the
    // radius to anything beyond that.
    let far = f32::MAX / 4.0;
    // Exact distances: a chamfer's, up to 8% long at an angle, left gaps
    // in the sacrum's outline under twice the radius open (see
    // `MARROW_CLOSING_MM`).
    let spacing = [grid.spacing.x, grid.spacing.y];
    let mut d: Vec<f32> = bone.iter().map(|&b| if b { 0.0 } else { far }).collect();
    euclidean(&mut d, w, h, spacing);
    for v in &mut d {
        *v = if *v <= MARROW_CLOSING_MM { far } else { 0.0 };
    }
    euclidean(&mut d, w, h, spacing);
    let closed = |c: usize| d[c] > MARROW_CLOSING_MM || bone[c];
    let holes = components_inside(w, h, |c| !closed(c));
    let in_canal = |(x, y): (usize, usize)| {
        canal.is_some_and(|pocket| {
            let p = grid.plane_mm(x as f64, y as f64);
            p.distance(pocket.centre) <= pocket.ap_mm / 2.0 + f64::from(pixel)
        })
    };
    let near_disc = |(x, y): (usize, usize)| {
        let p = grid.world(x as f64, y as f64, k as f64);
        discs
            .iter()
            .any(|d| (p - d.centre).dot(d.normal).abs() <= DISC_REACH_MM)
    };
    let closed_cells = ys
        .flat_map(|y| xs.clone().map(move |x| y * w + x))
        .filter(|&c| closed(c));
    let mut enclosed: Vec<(usize, usize)> = closed_cells
        .chain(holes.into_iter().flatten())
        .filter_map(|c| Some((c, in_slice(c % w, c / w)?)))
        .filter(|&(_, (x, y))| slice[y * ni + x] == 0)
        .filter(|&(_, (x, y))| grid.hu_at(x, y, k) >= MARROW_FLOOR_HU)
        .filter(|&(_, xy)| !in_canal(xy) && !near_disc(xy))
        .map(|(c, (x, y))| (c, y * ni + x))
        .collect();
    // The line sweeps (eight per pass) only where a cell is left to test.
    if enclosed.is_empty() {
        return false;
    }
    let between = lines_between(&bone, w, h, [grid.spacing.x, grid.spacing.y]);
    enclosed.retain(|&(c, _)| between[c] >= MARROW_LINES);
    for &(_, p) in &enclosed {
        slice[p] = sacrum;
        *within = within.with(p % ni, p / ni);
    }
    !enclosed.is_empty()
}

/// For each cell of a `w` × `h` grid, on how many of four lines through
/// it (rows, columns, both diagonals) `bone` lies on both sides within
/// `MARROW_SPAN_MM`, for pixels of `spacing` (mm).
fn lines_between(bone: &[bool], w: usize, h: usize, spacing: [f64; 2]) -> Vec<u8> {
    let mut lines = vec![0u8; w * h];
    let diagonal = spacing[0].hypot(spacing[1]);
    for ((dx, dy), step) in [
        ((1, 0), spacing[0]),
        ((0, 1), spacing[1]),
        ((1, 1), diagonal),
        ((1, -1), diagonal),
    ] {
        // Under the count's FAR: past `most` is "no bone within the span".
        let most = (MARROW_SPAN_MM / step).floor().min(f64::from(u16::MAX - 1)) as u16;
        // Byte counts where the span is under 255 steps (pixels over
        // 0.18 mm), as the canal's: twice the cells to a wasm SIMD register.
        match u8::try_from(most) {
            Ok(most) if most < u8::MAX => add_line::<u8>(&mut lines, bone, w, h, (dx, dy), most),
            _ => add_line::<u16>(&mut lines, bone, w, h, (dx, dy), most),
        }
    }
    lines
}

/// Adds 1 to `lines` where `bone` lies within `most` steps both ways along
/// (dx, dy) (see [`lines_between`]).
fn add_line<T: Steps + PartialOrd>(
    lines: &mut [u8],
    bone: &[bool],
    w: usize,
    h: usize,
    (dx, dy): (i64, i64),
    most: T,
) {
    let ahead = steps_to_bone::<T>(bone, w, h, (dx, dy));
    let behind = steps_to_bone::<T>(bone, w, h, (-dx, -dy));
    for ((n, a), b) in lines.iter_mut().zip(ahead).zip(behind) {
        *n += u8::from(a <= most && b <= most);
    }
}

/// Queues the pelvis pixels of `slice` (`dims` pixels) around `p` not yet
/// `taken`, and takes them.
fn queue_pelvis_around(
    p: usize,
    [ni, nj]: [usize; 2],
    slice: &[u8],
    taken: &mut [bool],
    queue: &mut VecDeque<usize>,
) {
    for q in around(p, ni, nj) {
        if !taken[q] && slice[q] == PELVIS_LABEL {
            taken[q] = true;
            queue.push_back(q);
        }
    }
}

/// Middle and half-width (mm) of pixels along the patient's left-right.
fn extent(pixels: &[usize], lateral: impl Fn(usize) -> f64) -> (f64, f64) {
    let (lo, hi) = pixels.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &p| {
        let l = lateral(p);
        (lo.min(l), hi.max(l))
    });
    ((lo + hi) / 2.0, (hi - lo) / 2.0)
}

/// The pixel and its eight neighbours in a slice of `ni` × `nj`.
fn around(p: usize, ni: usize, nj: usize) -> impl Iterator<Item = usize> {
    let (i, j) = ((p % ni) as i64, (p / ni) as i64);
    (-1..=1).flat_map(move |dj| {
        (-1..=1).filter_map(move |di| {
            let (x, y) = (i + di, j + dj);
            (x >= 0 && y >= 0 && x < ni as i64 && y < nj as i64)
                .then(|| y as usize * ni + x as usize)
        })
    })
}

/// Cortex (HU) that [`return_iliac_cortex`] follows: the sacrum's and the
/// ilium's walls, not the dim marrow or the joint between them. On
/// TotalSegmentator's CT at 3 mm, 100, 150, 200 and 250 HU took the
/// sacrum's Dice from 0.775 to 0.771, 0.780, 0.783 and 0.778.
const ILIAC_CORTEX_HU: f32 = 200.0;

/// Gives the pelvis back the ilium's inner wall where the sacrum's label
/// took it. An osteoporotic ilium's marrow is too dim for any reading of
/// bone, so its two walls are apart: the outer one is pelvis, the inner
/// one lies against the sacrum across the sacroiliac joint, which partial
/// volume bridges, and came out sacrum (on TotalSegmentator's CT at 3 mm,
/// 955 of the sacrum's 1,997 false voxels were the reference's ilium). In
/// each slice, pieces of the sacrum's label at `ILIAC_CORTEX_HU` or more,
/// apart from the largest such piece (the sacrum's own walls), that touch
/// the pelvis are pelvis: the joint's dark line parts the two bones' walls.
/// `extents` hold the sacrum's boxes.
pub(crate) fn return_iliac_cortex(grid: &Grid, labels: &mut [u8], extents: &Extents) {
    let [ni, nj, _] = grid.dims;
    let plane = ni * nj;
    // Marks of the pieces seen, cleared after each slice.
    let mut seen = vec![false; plane];
    for (k, sacrum_box) in extents.boxes.iter().enumerate() {
        if let Some(within) = sacrum_box {
            let slice = &mut labels[k * plane..(k + 1) * plane];
            return_iliac_cortex_in_slice(grid, slice, k, within, &mut seen);
        }
    }
}

/// [`return_iliac_cortex`] in slice `k`, the sacrum's box there `within`;
/// `seen` all false, and left so. A function per slice: wasm has no
/// on-stack replacement.
#[inline(never)]
fn return_iliac_cortex_in_slice(
    grid: &Grid,
    slice: &mut [u8],
    k: usize,
    within: &SliceBox,
    seen: &mut [bool],
) {
    let sacrum = label_of(24);
    let [ni, nj, _] = grid.dims;
    let wall = |p: usize| slice[p] == sacrum && grid.hu_at(p % ni, p / ni, k) >= ILIAC_CORTEX_HU;
    let mut pieces: Vec<Vec<usize>> = Vec::new();
    let starts = (within.j0..=within.j1).flat_map(|j| (j * ni + within.i0)..=(j * ni + within.i1));
    for start in starts {
        if seen[start] || !wall(start) {
            continue;
        }
        seen[start] = true;
        let mut piece = vec![start];
        let mut next = 0;
        while let Some(&p) = piece.get(next) {
            next += 1;
            for q in around(p, ni, nj) {
                if !seen[q] && wall(q) {
                    seen[q] = true;
                    piece.push(q);
                }
            }
        }
        pieces.push(piece);
    }
    for &p in pieces.iter().flatten() {
        seen[p] = false;
    }
    let Some(largest) = (0..pieces.len()).max_by_key(|&c| pieces[c].len()) else {
        return;
    };
    for (c, piece) in pieces.iter().enumerate() {
        let touches_pelvis = || {
            piece
                .iter()
                .any(|&p| around(p, ni, nj).any(|q| slice[q] == PELVIS_LABEL))
        };
        if c != largest && touches_pelvis() {
            for &p in piece {
                slice[p] = PELVIS_LABEL;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 mm grid of `dims` labelled by `draw(i, j, k)`, continued down from
    /// its top slice.
    fn continued(dims: [usize; 3], draw: impl Fn(usize, usize, usize) -> u8) -> Vec<u8> {
        let volume = crate::grid::blank_volume(dims);
        let grid = Grid::new(&volume).expect("axial");
        let mut labels: Vec<u8> = (0..dims[2])
            .flat_map(|k| (0..dims[1]).flat_map(move |j| (0..dims[0]).map(move |i| (i, j, k))))
            .map(|(i, j, k)| draw(i, j, k))
            .collect();
        continue_down(&grid, &mut labels, true);
        labels
    }

    #[test]
    fn an_ilium_beside_the_sacrum_is_not_followed_past_the_coccyx() {
        // Top slice (k = 7): the sacrum across i = 10..=50, its middle at
        // 30. Below it the pelvis: a coccyx at i = 29..=31 down to k = 4 and
        // an ilium at i = 46..=50 down to the last slice.
        let (sacrum, pelvis) = (label_of(24), PELVIS_LABEL);
        let labels = continued([60, 3, 8], |i, _, k| match (i, k) {
            (10..=50, 7) => sacrum,
            (29..=31, 4..=6) | (46..=50, 0..=6) => pelvis,
            _ => 0,
        });
        let at = |i: usize, k: usize| labels[(k * 3 + 1) * 60 + i];
        assert_eq!(at(30, 4), sacrum, "the coccyx is the sacrum's");
        assert_eq!(at(48, 5), sacrum, "beside the coccyx, within the width");
        assert_eq!(at(48, 3), pelvis, "past the coccyx's end, the ilium");
        assert_eq!(at(48, 0), pelvis);
    }

    #[test]
    fn marrow_inside_a_broken_cortex_is_sacrum_and_a_corner_outside_is_not() {
        // Two 1 mm slices (0 HU everywhere). Slice 0: a 4 mm cortex ring
        // of radius 12 round (30, 50), broken by a 5 mm gap at the back,
        // 4 mm from the slice's edge, with a pelvis voxel inside. Slice 1:
        // a T, its bar at j = 20..=22 across i = 40..=95 and its stem at
        // i = 67..=69 down to j = 80.
        let dims = [100, 100, 2];
        let volume = crate::grid::blank_volume(dims);
        let grid = Grid::new(&volume).expect("axial");
        let (sacrum, pelvis) = (label_of(24), PELVIS_LABEL);
        let mut labels = vec![0u8; 100 * 100 * 2];
        for j in 0..100 {
            for i in 0..100 {
                let (x, y) = (i as f64 - 30.0, j as f64 - 50.0);
                if (10.0..=14.0).contains(&x.hypot(y)) && !(y > 0.0 && x.abs() < 3.0) {
                    labels[j * 100 + i] = sacrum;
                }
                if (40..=95).contains(&i) && (20..=22).contains(&j)
                    || (67..=69).contains(&i) && (20..=80).contains(&j)
                {
                    labels[10_000 + j * 100 + i] = sacrum;
                }
            }
        }
        labels[50 * 100 + 30] = pelvis;
        let mut extents = Extents::find(&grid, &labels);
        fill_marrow(&grid, &mut labels, &mut extents, &[], &[]);
        let at = |i: usize, j: usize, k: usize| labels[k * 10_000 + j * 100 + i];
        assert_eq!(at(30, 45, 0), sacrum, "inside the broken ring");
        assert_eq!(at(36, 50, 0), sacrum);
        assert_eq!(at(30, 50, 0), pelvis, "another bone's voxel stays its own");
        assert_eq!(at(2, 50, 0), 0, "between the ring and the slice's edge");
        assert_eq!(at(30, 75, 0), 0, "outside the ring");
        assert_eq!(at(62, 27, 1), 0, "the corner between the T's bar and stem");
        assert_eq!(at(74, 25, 1), 0);
    }
}
