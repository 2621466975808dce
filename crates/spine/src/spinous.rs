//! Each spinous process to the vertebra it hangs from. The paths through
//! bone hand a vertebra's arch to the nearest body, and a spinous
//! process's lower half can be nearer the body below: through that body's
//! superior articular process and the facet joint, bridged on CT of 3 mm
//! or of dim bone. So the lower body took the tip of the spinous process
//! above it (TotalSegmentator's lumbar CT: 90–190 voxels of 2,200–2,500 per
//! vertebra). In the midline behind the canal, though, one spinous process
//! is parted from the next by the interspinous ligament: a piece of bone
//! there no taller than a vertebra is one process, and the upper
//! vertebra's whole. From the processes so joined the paths then run again
//! over the rest of the arches, the bone in front of them setting out
//! later, so each lamina and inferior articular process follows its own
//! (L1–L4 0.01–0.02 of Dice more on that CT, then 0.002–0.015 more).

use crate::column::{Column, Disc};
use crate::grid::Grid;
use crate::paths::neighbours;

/// Half the width (mm) of the midline band a spinous process is read in.
const MIDLINE_HALF_MM: f64 = 4.5;
/// How far behind the canal's centre (mm) the band begins: clear of the
/// body's back wall in front of the canal.
const BEHIND_CANAL_MM: f64 = 3.0;
/// How far (mm) to either side of the canal's centre the arches are assigned
/// again: the laminae and articular processes (L5's facets lie up to 30 mm
/// out), not the transverse processes' tips, which meet bone outside the
/// split's envelope. Assigned again out to the envelope's edge, an L5
/// transverse process flooded on into the ilium from L5 instead of the
/// sacrum; L5 then reached far enough to be taken for a rib-bearing
/// vertebra and 85 of its voxels were labelled rib (the denser-bone test:
/// L5 0.899 → 0.885; 0.902 with this bound).
const ARCH_HALF_MM: f64 = 35.0;
/// How much later (mm of path) than the spinous processes the owned bone
/// in front of and beside the arches sets out when they are assigned again.
/// At once, the superior articular process of the vertebra below, right
/// across the facet joint, took the upper vertebra's inferior articular
/// process (L2–L5 each took 70–120 voxels of 2,200–2,500 of the one above
/// on TotalSegmentator's CT); from the spinous processes alone, the upper
/// took the lower's superior one. 10 mm: L1–L5 Dice up by 0.002–0.015
/// in every reading of that CT but one L5 (−0.002); 15 and 20 mm raise L4
/// and L5 more but lower L1 and L2, and split a merged LIDC T6–T7 6% off
/// the first split (`revise`, which had no arch step then; it runs this one
/// too).
const FRONT_SEEDS_LATE_MM: f64 = 10.0;
/// A piece of the band taller than this many times its vertebra's height
/// (disc centre to disc centre) is two processes touching, or a thoracic
/// one lying over the lamina below, and is left as the paths gave it. One
/// lumbar process with its laminae's junction is 0.8–1.1 times its level
/// (TotalSegmentator's CT at 3 mm and resampled to 1 mm); two touching, 1.4
/// or more.
const MOST_OF_LEVEL: f64 = 1.25;
/// How tall (in levels) the lowest vertebra's share of a piece of three
/// processes is at most to be the tip of the process above it.
const TIP_OF_LEVEL: f64 = 0.4;

/// The split's window: labels and bone over slices `origin[2]..` of `dims`
/// voxels, its corner at pixel (`origin[0]`, `origin[1]`).
pub(crate) struct Window<'a> {
    pub region: &'a [bool],
    pub dims: [usize; 3],
    pub origin: [usize; 3],
}

/// Gives each midline piece behind the canal that the paths shared between
/// a vertebra and the one below it wholly to the upper one, then the rest
/// of the arches to the nearest owner through bone again
/// (`weight` as in the first paths), so each lamina and inferior articular
/// process follows its own process. Labels in `own` are candidates' (1 +
/// index, top down); vessels' are gone by now.
pub(crate) fn join_processes(
    grid: &Grid,
    column: &Column,
    discs: &[Disc],
    window: &Window,
    weight: &crate::paths::StepWeights,
    own: &mut [u8],
) {
    let [wi, wj, wk] = window.dims;
    let plane = wi * wj;
    let mut band = vec![false; plane * wk];
    for (kk, band) in band.chunks_exact_mut(plane).enumerate() {
        if let Some(s) = column.at(window.origin[2] + kk) {
            let owned = |w: usize| window.region[kk * plane + w] && own[kk * plane + w] != 0;
            mark_band(grid, s.canal, window, owned, band);
        }
    }
    let heights = level_heights(discs);
    // The first and last candidates have one disc: the median level stands in.
    let typical = crate::column::median(&mut heights.iter().flatten().copied().collect::<Vec<_>>());
    let tallest = |upper: u8| {
        let level = heights.get(usize::from(upper) - 1).copied().flatten();
        MOST_OF_LEVEL * level.unwrap_or(typical)
    };
    let mut pieces = Pieces {
        dims: window.dims,
        band,
        erosion: crate::necks::erosion(grid.spacing.to_array()),
        stack: Vec::new(),
        piece: Vec::new(),
    };
    let edge = sliver_edge(grid, window, own);
    for kk in 0..wk {
        pieces.join_from_slice(kk, grid.spacing.z, &tallest, edge, own);
    }
    // The band's allocation, all taken, holds what the paths run through
    // again: the arches behind the canal, unowned, and the owned bone
    // beside them, their seeds.
    let mut again = pieces.band;
    for (kk, again) in again.chunks_exact_mut(plane).enumerate() {
        if let Some(s) = column.at(window.origin[2] + kk) {
            let own = &mut own[kk * plane..(kk + 1) * plane];
            let region = &window.region[kk * plane..(kk + 1) * plane];
            unown_arches(grid, s.canal, window, region, own, again);
        }
    }
    let mut late = Vec::new();
    for kk in 0..wk {
        if let Some(s) = column.at(window.origin[2] + kk) {
            mark_seeds_beside(grid, s.canal, window, kk, own, &mut again, &mut late);
        }
    }
    late.sort_unstable();
    late.dedup();
    late.retain(|&n| !again[n as usize]);
    let late = crate::paths::LateSeeds {
        voxels: &late,
        after: Grid::path_length(FRONT_SEEDS_LATE_MM),
    };
    let step = grid.step_costs();
    crate::paths::nearest_seed_with_late(&again, window.dims, step, weight, own, &late);
}

/// The window slice at the scan's edge beside the first vertebra, when the
/// scan cut that vertebra to a sliver of body too small to be one (its
/// label's bone not [`crate::finish::vertebra_sized`]). Its arch hangs
/// down behind the next body and reaches its own body only beyond the
/// scan, so the paths gave it to the next vertebra, whose own spinous
/// process lies below its body and cannot reach the edge: a midline piece
/// of the next vertebra's that reaches the edge slice is the sliver's
/// (TotalSegmentator's CT cut 4 mm above the L1–L2 disc: L1's process and
/// laminae went to L2).
fn sliver_edge(grid: &Grid, window: &Window, own: &[u8]) -> Option<usize> {
    let plane = window.dims[0] * window.dims[1];
    let wk = window.dims[2];
    // Voxels and summed slices of the first two labels.
    let (mut first, mut second) = ((0, 0), (0, 0));
    for (kk, slice) in own.chunks_exact(plane).enumerate() {
        let counts = crate::labels::label_counts(slice);
        let (a, b) = (counts[1], counts[2]);
        first = (first.0 + a, first.1 + a * kk);
        second = (second.0 + b, second.1 + b * kk);
    }
    if first.0 == 0 || second.0 == 0 || crate::finish::vertebra_sized(grid, first.0) {
        return None;
    }
    let mean = |(n, sum): (usize, usize)| sum as f64 / n as f64;
    let edge = if mean(first) > mean(second) {
        wk - 1
    } else {
        0
    };
    // Only where the scan itself ends there.
    let k = window.origin[2] + edge;
    (k == 0 || k == grid.dims[2] - 1).then_some(edge)
}

/// Unowns, in one slice, the owned bone of the arches: behind the canal
/// centred at `canal`, outside the midline band and within `ARCH_HALF_MM`
/// of it; marks it in `again`.
#[inline(never)]
fn unown_arches(
    grid: &Grid,
    canal: glam::DVec2,
    window: &Window,
    region: &[bool],
    own: &mut [u8],
    again: &mut [bool],
) {
    for (w, (o, a)) in own.iter_mut().zip(again.iter_mut()).enumerate() {
        if *o == 0 || !region[w] {
            continue;
        }
        let (ahead, side) = from_canal(grid, window, canal, w);
        if ahead <= -BEHIND_CANAL_MM && side > MIDLINE_HALF_MM && side <= ARCH_HALF_MM {
            *o = 0;
            *a = true;
        }
    }
}

/// Takes the owned bone next to the unowned arch voxels of slice `kk` as
/// seeds of the paths run again: in the midline band behind the canal
/// centred at `canal` (the spinous processes, joined) marked in `again`,
/// starting at once; elsewhere (the pedicles and superior articular
/// processes in front, bone above and below) into `late`, starting late.
#[inline(never)]
fn mark_seeds_beside(
    grid: &Grid,
    canal: glam::DVec2,
    window: &Window,
    kk: usize,
    own: &[u8],
    again: &mut [bool],
    late: &mut Vec<u32>,
) {
    let plane = window.dims[0] * window.dims[1];
    for w in kk * plane..(kk + 1) * plane {
        if !again[w] || own[w] != 0 {
            continue;
        }
        for (inside, n) in neighbours(w, window.dims) {
            if !inside || own[n] == 0 || !window.region[n] {
                continue;
            }
            if in_band(from_canal(grid, window, canal, n % plane)) {
                again[n] = true;
            } else {
                late.push(n as u32);
            }
        }
    }
}

/// Marks, in one slice of the window, the owned bone in the midline band
/// behind the canal centred at `canal` (mm). A function per slice: wasm
/// optimises a function between calls, not during one.
#[inline(never)]
fn mark_band(
    grid: &Grid,
    canal: glam::DVec2,
    window: &Window,
    owned: impl Fn(usize) -> bool,
    band: &mut [bool],
) {
    for (w, b) in band.iter_mut().enumerate() {
        if !owned(w) {
            continue;
        }
        *b = in_band(from_canal(grid, window, canal, w));
    }
}

/// Whether a pixel (`ahead`, `side`) of the canal's centre (see
/// [`from_canal`]) lies in the midline band.
fn in_band((ahead, side): (f64, f64)) -> bool {
    side <= MIDLINE_HALF_MM && ahead <= -BEHIND_CANAL_MM
}

/// Where pixel `w` of a window slice lies from the canal's centre `canal`
/// (mm): how far ahead (negative behind) and how far to the side.
fn from_canal(grid: &Grid, window: &Window, canal: glam::DVec2, w: usize) -> (f64, f64) {
    let wi = window.dims[0];
    let (x, y) = (window.origin[0] + w % wi, window.origin[1] + w / wi);
    let d = grid.plane_mm(x as f64, y as f64) - canal;
    (d.dot(grid.anterior), d.dot(grid.lateral).abs())
}

/// The band's pieces, taken out of it as they are found.
struct Pieces {
    dims: [usize; 3],
    band: Vec<bool>,
    /// How a piece too tall to be one process is eroded to part it at thin
    /// contacts (`necks::erosion`), if the voxels are fine enough.
    erosion: Option<[usize; 3]>,
    stack: Vec<usize>,
    piece: Vec<usize>,
}

impl Pieces {
    /// Joins every piece whose first voxel lies in slice `kk` (slices
    /// `slice_mm` apart) when two neighbouring vertebrae share it and it is
    /// no taller than `tallest(upper)` mm; a piece that is not, part by
    /// part ([`Self::join_parts`]). A piece wholly the second vertebra's
    /// that reaches slice `sliver_edge` goes to the first ([`sliver_edge`]).
    #[inline(never)]
    fn join_from_slice(
        &mut self,
        kk: usize,
        slice_mm: f64,
        tallest: &impl Fn(u8) -> f64,
        sliver_edge: Option<usize>,
        own: &mut [u8],
    ) {
        let plane = self.dims[0] * self.dims[1];
        for start in kk * plane..(kk + 1) * plane {
            if !self.band[start] {
                continue;
            }
            self.take_piece(start);
            let mut span = Span::default();
            self.piece.iter().for_each(|&w| span.add(own[w], w / plane));
            let at_edge = sliver_edge.is_some_and(|e| span.bottom <= e && e <= span.top);
            if at_edge && span.upper == 2 && span.lower == 2 {
                // The process of the vertebra the scan cut to a sliver.
                self.piece.iter().for_each(|&w| own[w] = 1);
            } else if let Some(upper) = span.one_process(slice_mm, tallest) {
                self.piece.iter().for_each(|&w| own[w] = upper);
            } else if span.lower > span.upper {
                self.join_parts(slice_mm, tallest, own);
                if span.lower >= span.upper + 2 {
                    self.return_the_lowest_tip(slice_mm, tallest, own);
                }
            }
        }
    }

    /// In a piece of three or more vertebrae's processes touching (kissing
    /// spinous processes, common in the elderly lumbar spine), the lowest
    /// vertebra's share, when it is a short tip at the piece's lower end
    /// and the least of the shares, is the tip of the process above it,
    /// reached through the facet joint as in a piece of two: it goes to the
    /// vertebra above. (TotalSegmentator's osteoporotic CT at 1 mm with 25
    /// HU of noise: L3's and L4's processes touch, L5 held L4's tip and,
    /// through it, L4's inferior articular processes; L4 0.861 → 0.884,
    /// L5 0.808 → 0.835.)
    fn return_the_lowest_tip(&self, slice_mm: f64, tallest: &impl Fn(u8) -> f64, own: &mut [u8]) {
        let plane = self.dims[0] * self.dims[1];
        // Per label, top down: its span and the sum of its slices.
        let mut shares: Vec<(u8, Span, usize)> = Vec::new();
        for &w in &self.piece {
            let at = match shares.iter().position(|s| s.0 == own[w]) {
                Some(at) => at,
                None => {
                    shares.push((own[w], Span::default(), 0));
                    shares.len() - 1
                }
            };
            shares[at].1.add(own[w], w / plane);
            shares[at].2 += w / plane;
        }
        shares.sort_by_key(|s| s.0);
        let mean = |s: &(u8, Span, usize)| s.2 as f64 / s.1.voxels as f64;
        let [first, .., above, tip] = &shares[..] else {
            return;
        };
        if tip.0 != above.0 + 1 {
            return;
        }
        // Slices may run either way: the tip lies past the share above it,
        // away from the first.
        let downwards = mean(above) - mean(first);
        let at_the_lower_end = (mean(tip) - mean(above)) * downwards > 0.0;
        let tall_mm = (tip.1.top - tip.1.bottom + 1) as f64 * slice_mm;
        let short = tall_mm <= TIP_OF_LEVEL * tallest(above.0) / MOST_OF_LEVEL;
        let least = shares
            .iter()
            .all(|s| s.0 == tip.0 || s.1.voxels > tip.1.voxels);
        if at_the_lower_end && short && least {
            let (lowest, upper) = (tip.0, above.0);
            for &w in &self.piece {
                if own[w] == lowest {
                    own[w] = upper;
                }
            }
        }
    }

    /// Joins each part of a piece too tall to be one process, or of more
    /// than two vertebrae, that thin contacts join (`necks`) as
    /// [`Self::join_from_slice`] joins whole pieces, when most of the part
    /// is the upper vertebra's already: near the contact the parts are
    /// rough, and a part of the lower vertebra's process can hold a few of
    /// the upper's voxels (L5's tip on the sacrum's tubercle, on
    /// TotalSegmentator's CT at 1 mm: without this condition the tubercle
    /// and the crest's top went to L5, Dice 0.856 → 0.796; with it
    /// 0.880).
    fn join_parts(&self, slice_mm: f64, tallest: &impl Fn(u8) -> f64, own: &mut [u8]) {
        let Some(steps) = self.erosion else {
            return;
        };
        let part = crate::necks::parts(&self.piece, self.dims, steps);
        let plane = self.dims[0] * self.dims[1];
        let in_part = || {
            self.piece
                .iter()
                .zip(&part)
                .filter(|&(_, &p)| p != crate::necks::NO_PART)
                .map(|(&w, &p)| (w, p as usize))
        };
        let count = in_part().map(|(_, p)| p + 1).max().unwrap_or(0);
        let mut span = vec![Span::default(); count];
        in_part().for_each(|(w, p)| span[p].add(own[w], w / plane));
        // The upper vertebra's voxels in each part.
        let mut upper = vec![0usize; count];
        in_part()
            .filter(|&(w, p)| own[w] == span[p].upper)
            .for_each(|(_, p)| upper[p] += 1);
        let joined: Vec<Option<u8>> = span
            .iter()
            .zip(&upper)
            .map(|(s, &u)| {
                s.one_process(slice_mm, tallest)
                    .filter(|_| 2 * u > s.voxels)
            })
            .collect();
        for (w, p) in in_part() {
            if let Some(upper) = joined[p] {
                own[w] = upper;
            }
        }
    }

    /// The 6-connected piece of the band holding `start`, into `piece`.
    fn take_piece(&mut self, start: usize) {
        self.piece.clear();
        self.band[start] = false;
        self.stack.push(start);
        while let Some(w) = self.stack.pop() {
            self.piece.push(w);
            for (inside, n) in neighbours(w, self.dims) {
                if inside && self.band[n] {
                    self.band[n] = false;
                    self.stack.push(n);
                }
            }
        }
    }
}

/// A piece's or part's least and greatest label, bottom and top slice,
/// and voxels.
#[derive(Clone, Copy)]
struct Span {
    upper: u8,
    lower: u8,
    bottom: usize,
    top: usize,
    voxels: usize,
}

impl Default for Span {
    fn default() -> Self {
        Span {
            upper: u8::MAX,
            lower: 0,
            bottom: usize::MAX,
            top: 0,
            voxels: 0,
        }
    }
}

impl Span {
    fn add(&mut self, label: u8, slice: usize) {
        (self.upper, self.lower) = (self.upper.min(label), self.lower.max(label));
        (self.bottom, self.top) = (self.bottom.min(slice), self.top.max(slice));
        self.voxels += 1;
    }

    /// The upper vertebra, when two neighbouring vertebrae share this and
    /// it is no taller than `tallest(upper)` mm (slices `slice_mm` apart):
    /// one process, the upper's.
    fn one_process(&self, slice_mm: f64, tallest: &impl Fn(u8) -> f64) -> Option<u8> {
        let tall_mm = (self.top - self.bottom + 1) as f64 * slice_mm;
        (self.lower == self.upper + 1 && tall_mm <= tallest(self.upper)).then_some(self.upper)
    }
}

/// Each candidate's height (mm) between its two discs' centres, top down
/// (`None` for the first and last, which have one disc).
fn level_heights(discs: &[Disc]) -> Vec<Option<f64>> {
    let mut heights = vec![None];
    heights.extend(
        discs
            .windows(2)
            .map(|pair| Some((pair[0].centre - pair[1].centre).length())),
    );
    heights.push(None);
    heights
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels of a column of `dims` (one voxel wide and deep) read top down.
    fn joined(own: &[u8], band: &[bool], tallest_mm: f64) -> Vec<u8> {
        joined_beside(own, band, tallest_mm, None)
    }

    /// [`joined`] with the first vertebra a sliver beside `sliver_edge`.
    fn joined_beside(
        own: &[u8],
        band: &[bool],
        tallest_mm: f64,
        sliver_edge: Option<usize>,
    ) -> Vec<u8> {
        let dims = [1, 1, own.len()];
        let mut pieces = Pieces {
            dims,
            band: band.to_vec(),
            erosion: None,
            stack: Vec::new(),
            piece: Vec::new(),
        };
        let mut own = own.to_vec();
        for kk in 0..own.len() {
            pieces.join_from_slice(kk, 1.0, &|_| tallest_mm, sliver_edge, &mut own);
        }
        own
    }

    #[test]
    fn a_process_shared_with_the_vertebra_below_goes_to_the_upper() {
        // Two pieces parted by a gap: the first shared by 1 and 2, the
        // second by 2 and 3.
        let own = [1, 1, 2, 2, 0, 2, 3, 3];
        let band = own.map(|l| l != 0);
        assert_eq!(joined(&own, &band, 4.0), [1, 1, 1, 1, 0, 2, 2, 2]);
    }

    #[test]
    fn the_process_reaching_the_edge_beside_a_sliver_is_the_slivers() {
        // Slice 0 is the scan's edge: a sliver of vertebra 1 there, and the
        // piece the paths gave to 2 reaching it is 1's process; 2's own
        // process, parted from it by a gap, stays 2's.
        let own = [2, 2, 2, 0, 2, 2, 0, 3];
        let band = own.map(|l| l != 0);
        assert_eq!(
            joined_beside(&own, &band, 4.0, Some(0)),
            [1, 1, 1, 0, 2, 2, 0, 3]
        );
        // Not beside a sliver: left as the paths gave it.
        assert_eq!(joined_beside(&own, &band, 4.0, None), own);
    }

    #[test]
    fn a_tall_piece_is_joined_by_the_parts_a_thin_contact_parts() {
        // Three voxels wide (x), twelve slices (k, top down): vertebra 1's
        // process in slices 0-4, its last slice given to 2 by the paths;
        // one voxel of contact in slice 5; the lower's process in 6-11, one
        // voxel of it given to 1. Too tall for one process.
        let dims = [3, 1, 12];
        let mut own = vec![0u8; 36];
        for k in 0..12 {
            for x in 0..3 {
                let contact = k == 5;
                if contact && x != 1 {
                    continue;
                }
                own[k * 3 + x] = if k < 4 { 1 } else { 2 };
            }
        }
        own[7 * 3 + 1] = 1;
        let mut pieces = Pieces {
            dims,
            band: own.iter().map(|&l| l != 0).collect(),
            erosion: Some([1, 0, 0]),
            stack: Vec::new(),
            piece: Vec::new(),
        };
        let before = own.clone();
        for kk in 0..12 {
            pieces.join_from_slice(kk, 1.0, &|_| 8.0, None, &mut own);
        }
        let slice = |k: usize| &own[k * 3..k * 3 + 3];
        assert_eq!(
            slice(4),
            [1, 1, 1],
            "the upper's part, mostly its own, is joined"
        );
        assert_eq!(
            own[7 * 3 + 1],
            1,
            "the lower's part, mostly its own, is left"
        );
        assert_eq!(slice(10), &before[30..33]);
        // Without the erosion the piece is left as it was.
        let mut left = before.clone();
        pieces.band = before.iter().map(|&l| l != 0).collect();
        pieces.erosion = None;
        for kk in 0..12 {
            pieces.join_from_slice(kk, 1.0, &|_| 8.0, None, &mut left);
        }
        assert_eq!(left, before);
    }

    #[test]
    fn the_lowest_tip_of_a_piece_of_three_goes_to_the_vertebra_above() {
        // Processes of 1 and 2 touching, 3 holding 2's tip: too tall for
        // one process, so 1 and 2 keep what the paths gave them; 3's tip
        // goes to 2. Slices may run either way.
        let own = [1, 1, 1, 1, 2, 2, 2, 2, 3];
        let band = own.map(|l| l != 0);
        assert_eq!(joined(&own, &band, 6.0), [1, 1, 1, 1, 2, 2, 2, 2, 2]);
        let mut reversed = own;
        reversed.reverse();
        let mut expected = [1, 1, 1, 1, 2, 2, 2, 2, 2];
        expected.reverse();
        assert_eq!(joined(&reversed, &band, 6.0), expected);
        // A share of the lowest as big as the others is its own process.
        let own = [1, 1, 2, 2, 3, 3];
        assert_eq!(joined(&own, &own.map(|l| l != 0), 4.0), own);
    }

    #[test]
    fn a_tall_piece_or_one_of_vertebrae_apart_is_left() {
        let own = [1, 1, 2, 2, 0, 2, 4];
        let band = own.map(|l| l != 0);
        // The first piece, four slices, is over 3 mm; 2 and 4 are not
        // neighbours.
        assert_eq!(joined(&own, &band, 3.0), own);
        // Outside the band nothing changes.
        let band = [false, true, true, false, false, true, true];
        assert_eq!(joined(&own, &band, 4.0), [1, 1, 1, 2, 0, 2, 4]);
    }
}
