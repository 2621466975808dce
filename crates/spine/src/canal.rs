//! The spinal canal: in each axial slice, a pocket of soft tissue (CSF, cord,
//! epidural fat) closed all round by bone, 5 to 35 mm across; across slices,
//! the longest chain of such pockets that moves little from slice to slice.
//! Nothing else in a CT is a long soft tube inside a bony ring, which is why
//! the spine is found from its canal rather than from "the biggest bone".

use glam::DVec2;

use crate::SpineError;
use crate::grid::{CellIndex, Grid};

/// A canal cross-section found in one slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pocket {
    pub k: usize,
    /// Centre in the slice's (i mm, j mm) plane.
    pub centre: DVec2,
    /// Extent along the patient's anterior-posterior axis (mm).
    pub ap_mm: f64,
}

/// The brightest a canal pocket is on average (HU) in the reading that
/// splits pockets at their necks: CSF (0–15), cord (30–40) and epidural
/// fat (−100) with some partial volume of the walls. Fatty marrow in an
/// osteoporotic body reads 70–110 and, walled in by cortex, makes a pocket
/// too (on TotalSegmentator's CT with 1.5 mm pixels and 3 mm slices, one in
/// S1's body ended the canal's chain, held the column straight through the
/// sacrum and lost the L5–S1 disc). Only there: elsewhere it moved the
/// column enough to tilt S1's top read by 4°.
const CANAL_MOST_HU: f32 = 60.0;

/// Necks this wide (mm) or narrower are cut where a pocket is too big or
/// ragged to be a canal: where the canal opens into a foramen or between
/// the laminae (at the lumbosacral junction, on both sides at once) it
/// joins the fat beyond into one region 35–50 mm across.
const NECK_MM: f64 = 6.0;

/// Area bounds (mm²) of an open pocket's cells.
const MIN_OPEN_POCKET_MM2: f64 = 30.0;
const MAX_POCKET_MM2: f64 = 700.0;

/// One slice read at a stride that keeps cells at about 1.5 mm (thin
/// cortex still counts: a cell is bone when any of its pixels is).
struct Cells {
    w: usize,
    h: usize,
    bone: Vec<bool>,
    /// Mean HU per cell.
    mean: Vec<f32>,
    /// Cell size (mm) along i and j.
    pixel: DVec2,
}

impl Cells {
    fn read(grid: &Grid, k: usize) -> Self {
        let stride = (1.5 / grid.spacing.x.min(grid.spacing.y)).round().max(1.0) as usize;
        let index = CellIndex::new(grid.dims, stride);
        let (w, h) = (index.w, index.h);
        let mut bone = vec![false; w * h];
        let mut mean = vec![0f32; w * h];
        let bone_hu = grid.bone_hu();
        grid.each_row(k, |j, row| {
            let first = index.of(0, j);
            let (bone, mean) = (&mut bone[first..first + w], &mut mean[first..first + w]);
            // The usual strides as fixed-size chunks the compiler unrolls.
            match stride {
                1 => add_row::<1>(row, bone_hu, bone, mean),
                2 => add_row::<2>(row, bone_hu, bone, mean),
                3 => add_row::<3>(row, bone_hu, bone, mean),
                _ => {
                    for (x, pixels) in row.chunks(stride).enumerate() {
                        add_pixels(pixels, bone_hu, &mut bone[x], &mut mean[x]);
                    }
                }
            }
        });
        // Pixels per cell: `stride` squared, fewer along the right and
        // bottom edges.
        let [ni, nj, _] = grid.dims;
        let span = |c: usize, n: usize| stride.min(n - c * stride);
        for (y, row) in mean.chunks_exact_mut(w).enumerate() {
            for (x, m) in row.iter_mut().enumerate() {
                *m /= (span(x, ni) * span(y, nj)) as f32;
            }
        }
        let pixel = DVec2::new(grid.spacing.x, grid.spacing.y) * stride as f64;
        Self {
            w,
            h,
            bone,
            mean,
            pixel,
        }
    }

    /// The median position (mm along `grid.lateral`) of the bone cells.
    fn bone_middle(&self, grid: &Grid) -> Option<f64> {
        let mut across: Vec<f64> = (0..self.w * self.h)
            .filter(|&c| self.bone[c])
            .map(|c| {
                let p = DVec2::new((c % self.w) as f64 + 0.5, (c / self.w) as f64 + 0.5);
                (p * self.pixel).dot(grid.lateral)
            })
            .collect();
        if across.is_empty() {
            return None;
        }
        let half = across.len() / 2;
        Some(*across.select_nth_unstable_by(half, f64::total_cmp).1)
    }

    /// Cell holding the in-plane point `p` (mm), if inside.
    fn at(&self, p: DVec2) -> Option<usize> {
        let (x, y) = ((p.x / self.pixel.x).floor(), (p.y / self.pixel.y).floor());
        (x >= 0.0 && y >= 0.0 && (x as usize) < self.w && (y as usize) < self.h)
            .then(|| y as usize * self.w + x as usize)
    }

    /// Cells of `members`' extent along the patient's axes and their centre.
    fn describe(&self, grid: &Grid, members: &[usize], k: usize, necks: bool) -> Option<Pocket> {
        let (mut lo_a, mut hi_a, mut lo_l, mut hi_l) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        let mut centre = DVec2::ZERO;
        for &c in members {
            let p = DVec2::new((c % self.w) as f64 + 0.5, (c / self.w) as f64 + 0.5) * self.pixel;
            centre += p;
            let (a, l) = (p.dot(grid.anterior), p.dot(grid.lateral));
            lo_a = lo_a.min(a);
            hi_a = hi_a.max(a);
            lo_l = lo_l.min(l);
            hi_l = hi_l.max(l);
        }
        centre /= members.len() as f64;
        let area = members.len() as f64 * self.pixel.x * self.pixel.y;
        let (ap, lr) = (hi_a - lo_a + self.pixel.x, hi_l - lo_l + self.pixel.x);
        let fill = area / (ap * lr);
        let mean_hu = members.iter().map(|&c| self.mean[c]).sum::<f32>() / members.len() as f32;
        ((5.0..=35.0).contains(&ap)
            && (5.0..=35.0).contains(&lr)
            && fill >= 0.45
            && (mean_hu <= CANAL_MOST_HU || !necks))
            .then_some(Pocket {
                k,
                centre,
                ap_mm: ap,
            })
    }

    /// A canal-like pocket made of `members`, or, when cutting at `necks`
    /// and where they are too big or ragged for one, of the parts they fall
    /// into once necks under about [`NECK_MM`] are cut (see
    /// [`crate::plane::opened_parts`]).
    fn describe_or_split(
        &self,
        grid: &Grid,
        members: &[usize],
        k: usize,
        necks: bool,
    ) -> Vec<Pocket> {
        if let Some(pocket) = self.describe(grid, members, k, necks) {
            return vec![pocket];
        }
        if !necks {
            return Vec::new();
        }
        let cell = self.pixel.x.min(self.pixel.y);
        let radius = ((NECK_MM / cell - 1.0) / 2.0).round().max(1.0) as usize;
        crate::plane::opened_parts(self.w, members, radius)
            .into_iter()
            .filter(|part| {
                let area = part.len() as f64 * self.pixel.x * self.pixel.y;
                (MIN_OPEN_POCKET_MM2..=MAX_POCKET_MM2).contains(&area)
            })
            .filter_map(|part| self.describe(grid, &part, k, necks))
            .collect()
    }

    /// 4-connected components of the cells `keep` accepts.
    fn components(&self, keep: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
        crate::plane::components(self.w, self.h, keep)
    }

    /// Whether bone lies within `reach` mm along each of the eight compass
    /// directions, per cell. Distances are whole steps of a direction's
    /// length, added one at a time in f32 as a sweep of distances would;
    /// only how many steps fit in `reach` is worked out in mm, and the
    /// sweeps count steps in bytes (16 cells to a wasm SIMD lane, not 4).
    fn bone_within(&self, reach: f32) -> [Vec<bool>; 8] {
        COMPASS.map(|(dx, dy)| {
            let step = ((dx as f64 * self.pixel.x).powi(2) + (dy as f64 * self.pixel.y).powi(2))
                .sqrt() as f32;
            let (mut most, mut walked) = (0u8, 0f32);
            while most < FAR - 1 && walked + step <= reach {
                walked += step;
                most += 1;
            }
            crate::steps::steps_to_bone::<u8>(&self.bone, self.w, self.h, (dx, dy))
                .into_iter()
                .map(|n| n <= most)
                .collect()
        })
    }
}

/// Steps to bone meaning "none before the grid's edge", as the byte
/// sweeps count them.
const FAR: u8 = <u8 as crate::steps::Steps>::FAR;

/// One row's pixels into its cells `S` pixels wide (the last may be
/// narrower): bone when any pixel is, HU summed for the mean.
fn add_row<const S: usize>(row: &[f32], bone_hu: f32, bone: &mut [bool], mean: &mut [f32]) {
    let (whole, rest) = row.as_chunks::<S>();
    for ((pixels, b), m) in whole.iter().zip(bone.iter_mut()).zip(mean.iter_mut()) {
        add_pixels(pixels, bone_hu, b, m);
    }
    if !rest.is_empty() {
        add_pixels(
            rest,
            bone_hu,
            &mut bone[whole.len()],
            &mut mean[whole.len()],
        );
    }
}

/// One cell's pixels of a row, added in order (the same sums as pixel
/// by pixel).
#[inline(always)]
fn add_pixels(pixels: &[f32], bone_hu: f32, bone: &mut bool, mean: &mut f32) {
    let (mut any, mut sum) = (*bone, *mean);
    for &v in pixels {
        any |= v >= bone_hu;
        sum += v;
    }
    (*bone, *mean) = (any, sum);
}

/// The eight compass directions in cells, anticlockwise from +x.
const COMPASS: [(i64, i64); 8] = [
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
    (0, -1),
    (1, -1),
];

/// Canal contents: CSF, cord and epidural fat, averaged over a cell.
fn soft(mean: f32) -> bool {
    (-150.0..=110.0).contains(&mean)
}

/// Soft-tissue regions closed all round by bone, of a canal's area: the
/// cells of each pocket closed by its bony ring.
fn ring_regions(cells: &Cells) -> Vec<Vec<usize>> {
    let cell_area = cells.pixel.x * cells.pixel.y;
    crate::plane::components_inside(cells.w, cells.h, |c| !cells.bone[c])
        .into_iter()
        .filter(|members| {
            let area = members.len() as f64 * cell_area;
            let mean = members.iter().map(|&c| cells.mean[c]).sum::<f32>() / members.len() as f32;
            (50.0..=MAX_POCKET_MM2).contains(&area) && soft(mean)
        })
        .collect()
}

/// Reach (mm) within which bone must lie for a cell to count as enclosed.
const ENCLOSED_WITHIN_MM: f64 = 30.0;

/// Regions whose bony ring is open: in most lumbar slices the canal opens
/// into the foramina and between the laminae, and on 3 mm voxels or in
/// osteoporotic bone the ring's cortex falls under the bone threshold in
/// places. A cell counts when bone lies within 30 mm in six of the eight
/// compass directions, straight ahead and straight behind among them. (A
/// pocket of such soft cells counts only with a vertebral body in front of
/// it, see [`open_pockets`]: a marrow cavity or the pelvis is enclosed too,
/// but with soft tissue ahead.)
fn open_regions(grid: &Grid, cells: &Cells) -> Vec<Vec<usize>> {
    let near = cells.bone_within(ENCLOSED_WITHIN_MM as f32);
    let compass = |v: DVec2| {
        let angle = (v.y * cells.pixel.x).atan2(v.x * cells.pixel.y);
        ((angle / std::f64::consts::FRAC_PI_4).round() as i64).rem_euclid(8) as usize
    };
    let (ahead, behind) = (compass(grid.anterior), compass(-grid.anterior));
    // Directions with bone within reach, counted a direction at a time.
    let mut reached = vec![0u8; cells.w * cells.h];
    for d in &near {
        for (n, &d) in reached.iter_mut().zip(d) {
            *n += u8::from(d);
        }
    }
    let enclosed: Vec<bool> = (0..cells.w * cells.h)
        .map(|c| {
            !cells.bone[c]
                && soft(cells.mean[c])
                && near[ahead][c]
                && near[behind][c]
                && reached[c] >= 6
        })
        .collect();
    cells
        .components(|c| enclosed[c])
        .into_iter()
        .filter(|members| {
            let area = members.len() as f64 * cells.pixel.x * cells.pixel.y;
            area >= MIN_OPEN_POCKET_MM2
        })
        .collect()
}

/// Canal pockets among the open `regions` (cut at `necks` where one is too
/// big or ragged for a canal): not within 8 mm of a `closed` one, and with
/// a vertebral body in front.
fn open_pockets(
    grid: &Grid,
    cells: &Cells,
    k: usize,
    regions: &[Vec<usize>],
    closed: &[Pocket],
    necks: bool,
) -> Vec<Pocket> {
    regions
        .iter()
        .flat_map(|members| cells.describe_or_split(grid, members, k, necks))
        .filter(|p| closed.iter().all(|c| (c.centre - p.centre).length() > 8.0))
        .filter(|p| body_ahead(grid, cells, p.centre))
        .collect()
}

/// A vertebral body in front of `centre`: its wall within 25 mm, then at
/// least 15 mm of bone or marrow (cells at 60 HU or more) in the next 45.
fn body_ahead(grid: &Grid, cells: &Cells, centre: DVec2) -> bool {
    let step = 0.5 * cells.pixel.x.min(cells.pixel.y);
    let cell = |t: f64| cells.at(centre + grid.anterior * t);
    let Some(wall) = (0..)
        .map(|n| n as f64 * step)
        .take_while(|&t| t <= 25.0)
        .find(|&t| cell(t).is_some_and(|c| cells.bone[c]))
    else {
        return false;
    };
    let dense = (0..)
        .map(|n| wall + n as f64 * step)
        .take_while(|&t| t <= wall + 45.0)
        .filter(|&t| cell(t).is_some_and(|c| cells.bone[c] || cells.mean[c] >= 60.0))
        .count();
    dense as f64 * step >= 15.0
}

/// Canal cross-sections in slice `k`: pockets closed by bone, and, when
/// the reading is lenient, open ones with a body in front.
pub(crate) fn pockets(grid: &Grid, k: usize) -> Vec<Pocket> {
    let [found] = pockets_cut_at(grid, k, [grid.reading.split_necks]);
    found
}

/// [`pockets`] for the grid's reading as it is and cut at necks, from one
/// read of the slice: the ladder's last two rungs differ only there, and
/// the read (cells, distances, regions) is most of a rung's canal search.
pub(crate) fn pockets_without_and_with_necks(grid: &Grid, k: usize) -> [Vec<Pocket>; 2] {
    pockets_cut_at(grid, k, [false, true])
}

/// [`pockets`] for each choice of cutting at necks.
fn pockets_cut_at<const N: usize>(grid: &Grid, k: usize, necks: [bool; N]) -> [Vec<Pocket>; N] {
    let cells = Cells::read(grid, k);
    let ring = ring_regions(&cells);
    let open = if grid.reading.lenient {
        open_regions(grid, &cells)
    } else {
        Vec::new()
    };
    let middle = cells.bone_middle(grid);
    necks.map(|necks| {
        let mut found: Vec<Pocket> = ring
            .iter()
            .filter_map(|members| cells.describe(grid, members, k, necks))
            .collect();
        if grid.reading.lenient {
            let open = open_pockets(grid, &cells, k, &open, &found, necks);
            found.extend(open);
        }
        if let Some(middle) = middle {
            found.retain(|p| (p.centre.dot(grid.lateral) - middle).abs() <= OFF_BONE_MIDDLE_MM);
        }
        found
    })
}

/// How far (mm) to either side of the middle of a slice's bone the canal
/// may lie. The skeleton is near symmetric about the spine: pelvis, ribs
/// and shoulders lie either side of it, and where the spine curves away
/// (scoliosis) its ribs go with it, or the slice holds little else. Fatty
/// marrow closed in by an ilium's cortex is a pocket like the canal, and
/// on TotalSegmentator's CT cut above L1 a chain of such pockets 60–76 mm
/// to the side, down through the pelvis, outnumbered the canal's.
const OFF_BONE_MIDDLE_MM: f64 = 45.0;

/// The canal: the longest chain of pockets, consecutive members at most 30
/// mm apart along the slices and moving at most 6 mm + 80% of that
/// in-plane (a sacral canal leans 40°). Pockets are taken from the feet up,
/// and within a slice from the patient's right to left, front to back,
/// whichever way the series stores them: among chains of one length the
/// same wins when the slices run down or the rows right to left (on
/// TotalSegmentator's CT stored right to left, another pocket at the sacrum
/// won a tie, moved the column 10 mm and lost the L5–S1 disc).
pub(crate) fn chain(grid: &Grid, pockets: &[Pocket]) -> Result<Vec<Pocket>, SpineError> {
    let dz = grid.spacing.z;
    let height = |p: &Pocket| grid.world(0.0, 0.0, p.k as f64).z;
    let mut pockets = pockets.to_vec();
    pockets.sort_by(|a, b| {
        height(a)
            .total_cmp(&height(b))
            .then(
                a.centre
                    .dot(grid.lateral)
                    .total_cmp(&b.centre.dot(grid.lateral)),
            )
            .then(
                a.centre
                    .dot(grid.anterior)
                    .total_cmp(&b.centre.dot(grid.anterior)),
            )
    });
    let mut score = vec![1usize; pockets.len()];
    let mut from = vec![usize::MAX; pockets.len()];
    for b in 0..pockets.len() {
        for a in (0..b).rev() {
            let gap = pockets[b].k.abs_diff(pockets[a].k) as f64 * dz;
            if gap > 30.0 {
                break;
            }
            if gap == 0.0 {
                continue;
            }
            let step = pockets[b].centre - pockets[a].centre;
            // Open pockets are many in the pelvis: there the chain may
            // only lean forward or back (the sacrum), not wander sideways.
            let sideways = step.dot(grid.lateral).abs();
            let steady = !grid.reading.lenient || sideways <= 4.0 + 0.25 * gap;
            if step.length() <= 6.0 + 0.8 * gap && steady && score[a] + 1 > score[b] {
                score[b] = score[a] + 1;
                from[b] = a;
            }
        }
    }
    let Some(mut end) = (0..pockets.len()).max_by_key(|&b| score[b]) else {
        return Err(SpineError::NoCanal);
    };
    if score[end] < 5 {
        return Err(SpineError::NoCanal);
    }
    let mut chain = vec![pockets[end]];
    while from[end] != usize::MAX {
        end = from[end];
        chain.push(pockets[end]);
    }
    chain.sort_by_key(|p| p.k);
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether bone lies within reach along each direction, against
    /// walking to the first bone cell (steps added one by one in f32, as
    /// the distances were), false when the walk leaves the grid first.
    #[test]
    fn sweeps_find_bone_within_reach_in_each_direction() {
        let (w, h) = (11, 7);
        let bone: Vec<bool> = (0..w * h).map(|c| (c * 7 + c / 5) % 9 == 0).collect();
        let cells = Cells {
            w,
            h,
            bone: bone.clone(),
            mean: vec![0.0; w * h],
            pixel: DVec2::new(1.5, 2.0),
        };
        // Reaches falling between steps, on a step, and past the grid.
        for reach in [4.5f32, 6.0, 7.5, 9.0, 40.0] {
            let near = cells.bone_within(reach);
            for (near, (dx, dy)) in near.iter().zip(COMPASS) {
                let step = ((dx as f64 * 1.5).powi(2) + (dy as f64 * 2.0).powi(2)).sqrt() as f32;
                for (c, &got) in near.iter().enumerate() {
                    let (mut x, mut y, mut walked) = ((c % w) as i64, (c / w) as i64, 0.0f32);
                    let want = loop {
                        if bone[y as usize * w + x as usize] {
                            break walked <= reach;
                        }
                        (x, y) = (x + dx, y + dy);
                        if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
                            break false;
                        }
                        walked += step;
                    };
                    assert_eq!(got, want, "cell {c}, direction ({dx}, {dy}), reach {reach}");
                }
            }
        }
    }
}
