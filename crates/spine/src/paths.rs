//! Shortest paths through bone from several seeds at once: every voxel of
//! a region goes to the seed nearest to it *through the region*, so a
//! pedicle and its spinous process follow their own body even where a
//! facet joint touches the next vertebra. Used by the first split and by
//! the user's split at a disc.

use crate::grid::Grid;

/// Bone this far above the bone threshold (HU) is dense: a step into it
/// costs its length. Dimmer bone costs up to `DIM_STEP_COST` times that: a
/// facet joint or a bridged disc between two vertebrae is a band of dim,
/// partial-volume bone, so a path that crosses one loses to a path that
/// stays in a vertebra's own cortex (measured on TotalSegmentator's example
/// CT: the upper vertebra's inferior articular processes stop going to the
/// one below; L5 Dice 0.80 → 0.86, L2 0.87 → 0.88).
const DENSE_ABOVE_HU: f32 = 200.0;
/// See `DENSE_ABOVE_HU`.
const DIM_STEP_COST: f32 = 2.0;

/// The cost factor of a step into a voxel of `hu` (1 for dense bone).
fn step_weight(grid: &Grid, hu: f32) -> u8 {
    let dim = ((grid.bone_hu() + DENSE_ABOVE_HU - hu) / DENSE_ABOVE_HU).clamp(0.0, 1.0);
    1 + (dim * (DIM_STEP_COST - 1.0)).round() as u8
}

/// Each voxel's step weight in a box, and the heaviest (which sizes the
/// search's ring of buckets): found once as the weights are made, not by
/// a pass over the box at each search (14 searches on a 512²×300 CT).
pub(crate) struct StepWeights {
    values: Vec<u8>,
    heaviest: u8,
}

impl StepWeights {
    /// Weights `values`, one per voxel of the box (none: 1 everywhere).
    pub(crate) fn new(values: Vec<u8>) -> Self {
        let heaviest = values.iter().copied().max().unwrap_or(1).max(1);
        Self { values, heaviest }
    }

    /// The factor of a step into voxel `w` (at least 1).
    #[inline(always)]
    fn of(&self, w: usize) -> u32 {
        self.values.get(w).map_or(1, |&f| u32::from(f.max(1)))
    }
}

/// [`nearest_seed`]'s `weight` for a box of `dims` voxels whose first is
/// grid voxel `origin`: each `region` voxel's step weight from its HU (1
/// outside the region, where no path steps).
pub(crate) fn step_weights(
    grid: &Grid,
    region: &[bool],
    dims: [usize; 3],
    origin: [usize; 3],
) -> StepWeights {
    let [wi, wj, _] = dims;
    let mut weight = vec![1u8; region.len()];
    // A slice per call (see `split::bone_in_envelope`: wasm optimises a
    // function between calls, not during one).
    for (kk, (region, weight)) in region
        .chunks_exact(wi * wj)
        .zip(weight.chunks_exact_mut(wi * wj))
        .enumerate()
    {
        slice_weights(
            grid,
            region,
            weight,
            wi,
            [origin[0], origin[1], origin[2] + kk],
        );
    }
    StepWeights::new(weight)
}

/// [`step_weights`] of one slice of the box, whose first voxel is grid
/// voxel `origin`.
#[inline(never)]
fn slice_weights(grid: &Grid, region: &[bool], weight: &mut [u8], wi: usize, origin: [usize; 3]) {
    for (w, (&inside, out)) in region.iter().zip(weight.iter_mut()).enumerate() {
        if inside {
            let (i, j) = (w % wi, w / wi);
            *out = step_weight(grid, grid.hu_at(origin[0] + i, origin[1] + j, origin[2]));
        }
    }
}

/// Dial's algorithm on a box of `dims` voxels (x fastest): `step` is the
/// integer cost (at least 1) of a step along each axis, times `weight`'s
/// for a step into voxel `w` (no weights weigh 1 everywhere); `own[w] != 0`
/// marks a seed and names its owner. Every `region` voxel a seed reaches
/// takes the owner of the nearest one; voxels outside `region`, or not
/// reached, keep theirs.
pub(crate) fn nearest_seed(
    region: &[bool],
    dims: [usize; 3],
    step: [u32; 3],
    weight: &StepWeights,
    own: &mut [u8],
) {
    nearest_seed_with_late(region, dims, step, weight, own, &LateSeeds::NONE);
}

/// Seeds that set out after the others: owned voxels outside the region
/// that start at distance `after` (the steps' units), so a voxel goes to
/// one of them only when it is that much nearer to it than to any seed
/// in the region.
pub(crate) struct LateSeeds<'a> {
    pub voxels: &'a [u32],
    pub after: u32,
}

impl LateSeeds<'_> {
    const NONE: LateSeeds<'static> = LateSeeds {
        voxels: &[],
        after: 0,
    };
}

/// [`nearest_seed`], with `late` seeds besides those in the region.
pub(crate) fn nearest_seed_with_late(
    region: &[bool],
    dims: [usize; 3],
    step: [u32; 3],
    weight: &StepWeights,
    own: &mut [u8],
    late: &LateSeeds,
) {
    let [wi, wj, wk] = dims;
    let plane = wi * wj;
    debug_assert_eq!(region.len(), plane * wk);
    debug_assert!(weight.values.is_empty() || weight.values.len() == region.len());
    debug_assert!(step.iter().all(|&s| s >= 1), "a step costs at least 1");
    let heaviest = u32::from(weight.heaviest);
    let ring = (*step.iter().max().expect("three") * heaviest) as usize + 1;
    let mut search = Search {
        buckets: vec![Vec::new(); ring],
        pending: 0,
        current: 0,
    };
    let mut near = vec![u16::UNREACHED; region.len()];
    // Seeds are few: owners are looked for a block at a time.
    for (b, block) in own.chunks(crate::BLOCK).enumerate() {
        if crate::all_zero(block) {
            continue;
        }
        for (n, &o) in block.iter().enumerate() {
            let w = b * crate::BLOCK + n;
            if o != 0 && region[w] {
                near[w] = 0;
                search.buckets[0].push(w as u32);
            }
        }
    }
    debug_assert!(late.voxels.iter().all(|&w| !region[w as usize]));
    // The late seeds count as pending from the start, so the search
    // carries on to `late.after` even where the others have run out.
    search.pending = search.buckets[0].len() + late.voxels.len();
    let space = Box3 {
        region,
        dims,
        step,
        weight,
    };
    if search.run(&space, &mut near, own, late) {
        return;
    }
    // Distances outgrew two bytes (65,534 tenths of a mm, a dim step
    // counting twice its length): the same search goes on from where it
    // stands, in four.
    let mut far: Vec<u32> = near
        .iter()
        .map(|&d| {
            if d == u16::UNREACHED {
                u32::UNREACHED
            } else {
                u32::from(d)
            }
        })
        .collect();
    drop(near);
    let finished = search.run(&space, &mut far, own, late);
    debug_assert!(finished, "four bytes hold every distance");
}

/// A distance as the search stores it: two bytes while every distance it
/// can reach fits (half the memory to fill and to touch; on a 523×433×336
/// CT the farthest is 2,548, in tenths of a mm with dim steps counting
/// twice), four after.
trait Distance: Copy {
    /// Not reached (yet): more than any distance.
    const UNREACHED: Self;
    /// The farthest distance it holds.
    const MOST: u32;
    fn of(distance: u32) -> Self;
    fn get(self) -> u32;
}

impl Distance for u16 {
    const UNREACHED: Self = u16::MAX;
    const MOST: u32 = u16::MAX as u32 - 1;
    #[inline(always)]
    fn of(distance: u32) -> Self {
        distance as u16
    }
    #[inline(always)]
    fn get(self) -> u32 {
        u32::from(self)
    }
}

impl Distance for u32 {
    const UNREACHED: Self = u32::MAX;
    const MOST: u32 = u32::MAX - 1;
    #[inline(always)]
    fn of(distance: u32) -> Self {
        distance
    }
    #[inline(always)]
    fn get(self) -> u32 {
        self
    }
}

/// Where a search stands: the ring of buckets (a bucket per distance,
/// modulo the ring), how many entries wait in them, and the distance
/// settled next.
struct Search {
    buckets: Vec<Vec<u32>>,
    pending: usize,
    current: u32,
}

impl Search {
    /// Settles distance after distance until nothing waits (true), or
    /// until the next could reach past what `D` holds (false: the caller
    /// goes on in a wider `D` from here).
    fn run<D: Distance>(
        &mut self,
        space: &Box3,
        dist: &mut [D],
        own: &mut [u8],
        late: &LateSeeds,
    ) -> bool {
        let ring = self.buckets.len();
        while self.pending > 0 {
            let current = self.current;
            if u64::from(current) + ring as u64 - 1 > u64::from(D::MOST) {
                return false;
            }
            // Taken out while it is emptied: no step costs 0 or `ring`, so
            // nothing is pushed back into it meanwhile.
            let slot = current as usize % ring;
            if current == late.after {
                // Outside the region: no path has reached them meanwhile.
                for &w in late.voxels {
                    dist[w as usize] = D::of(current);
                    self.buckets[slot].push(w);
                }
            }
            let mut bucket = std::mem::take(&mut self.buckets[slot]);
            self.pending -= bucket.len();
            self.pending += space.settle(current, &mut bucket, &mut self.buckets, dist, own);
            self.buckets[slot] = bucket;
            self.current += 1;
        }
        true
    }
}

/// What [`nearest_seed`] searches.
struct Box3<'a> {
    region: &'a [bool],
    dims: [usize; 3],
    step: [u32; 3],
    weight: &'a StepWeights,
}

impl Box3<'_> {
    /// Settles the voxels of `bucket` (last in, first out) whose distance
    /// is `current`, handing their neighbours on; how many were pushed. A
    /// call per distance, not one long loop: wasm optimises a function
    /// between calls, never during one.
    #[inline(never)]
    fn settle<D: Distance>(
        &self,
        current: u32,
        bucket: &mut Vec<u32>,
        buckets: &mut [Vec<u32>],
        dist: &mut [D],
        own: &mut [u8],
    ) -> usize {
        let (ring, step) = (buckets.len(), self.step);
        let mut pushed = 0;
        while let Some(w) = bucket.pop() {
            let w = w as usize;
            if dist[w].get() != current {
                continue;
            }
            let costs = [step[0], step[0], step[1], step[1], step[2], step[2]];
            for ((ok, n), cost) in neighbours(w, self.dims).into_iter().zip(costs) {
                if !ok || !self.region[n] {
                    continue;
                }
                let cost = cost * self.weight.of(n);
                if current + cost < dist[n].get() {
                    dist[n] = D::of(current + cost);
                    own[n] = own[w];
                    buckets[(current + cost) as usize % ring].push(n as u32);
                    pushed += 1;
                }
            }
        }
        pushed
    }
}

/// The six face neighbours of voxel `w` in a box of `dims` (x fastest):
/// whether each lies inside the box, and its index.
#[inline(always)]
pub(crate) fn neighbours(w: usize, dims: [usize; 3]) -> [(bool, usize); 6] {
    let [wi, wj, wk] = dims;
    let plane = wi * wj;
    let (x, y, k) = (w % wi, (w / wi) % wj, w / plane);
    [
        (x > 0, w.wrapping_sub(1)),
        (x + 1 < wi, w + 1),
        (y > 0, w.wrapping_sub(wi)),
        (y + 1 < wj, w + wi),
        (k > 0, w.wrapping_sub(plane)),
        (k + 1 < wk, w + plane),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No weights: every step weighs 1.
    fn uniform() -> StepWeights {
        StepWeights::new(Vec::new())
    }

    #[test]
    fn each_voxel_follows_the_seed_nearest_through_the_region() {
        // Two corridors joined at the right; seed 1 at the top right,
        // seed 2 at the bottom left. The top-left voxel is 2 voxels from
        // seed 2 in a straight line but 10 through the region, 4 from 1.
        let dims = [5, 3, 1];
        #[rustfmt::skip]
        let region = [
            true,  true,  true,  true,  true,
            false, false, false, false, true,
            true,  true,  true,  true,  true,
        ];
        let mut own = [0u8; 15];
        own[4] = 1;
        own[10] = 2;
        nearest_seed(&region, dims, [1, 1, 1], &uniform(), &mut own);
        assert_eq!(own[0], 1, "through the region, not across the gap");
        assert_eq!(own[12], 2);
        assert_eq!(own[14], 1);
        assert_eq!(own[5], 0, "outside the region");
    }

    #[test]
    fn a_dim_voxel_pulls_the_border_to_itself() {
        // A row of 10, seed 1 at the left end, seed 2 at the right. By
        // length the border lies between voxels 4 and 5. A dim voxel at 2
        // (weight 3) makes voxel 4 cost 1 + 3 + 1 + 1 = 6 from seed 1 and
        // 5 from seed 2: the border moves a voxel towards the dim one.
        let dims = [10, 1, 1];
        let region = [true; 10];
        let seeds = || {
            let mut own = [0u8; 10];
            own[0] = 1;
            own[9] = 2;
            own
        };
        let mut by_length = seeds();
        nearest_seed(&region, dims, [1, 1, 1], &uniform(), &mut by_length);
        assert_eq!(by_length, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
        let mut weight = vec![1u8; 10];
        weight[2] = 3;
        let mut weighted = seeds();
        nearest_seed(
            &region,
            dims,
            [1, 1, 1],
            &StepWeights::new(weight),
            &mut weighted,
        );
        assert_eq!(weighted, [1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn a_search_whose_distances_outgrow_two_bytes_goes_on_alike() {
        // A row of 12, seed 1 at the left end, seed 2 at the right, a dim
        // voxel (weight 3) at 2: steps of 10,000 reach 110,000 at the far
        // end, past what two bytes hold, and own the row as steps of 1 do.
        let dims = [12, 1, 1];
        let region = [true; 12];
        let mut weight = vec![1u8; 12];
        weight[2] = 3;
        let weight = StepWeights::new(weight);
        let owners = |step: u32| {
            let mut own = [0u8; 12];
            own[0] = 1;
            own[11] = 2;
            nearest_seed(&region, dims, [step, 1, 1], &weight, &mut own);
            own
        };
        assert_eq!(owners(10_000), owners(1));
        assert_eq!(owners(1), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn a_late_seed_takes_only_what_is_nearer_to_it_by_its_delay() {
        // A row of 10: seed 1 in the region at the left end, seed 2 outside
        // it at the right end. At the same start the border lies between
        // voxels 4 and 5; starting 4 steps late, seed 2 keeps voxels 7 and 8.
        let dims = [10, 1, 1];
        let mut region = [true; 10];
        region[9] = false;
        for (after, expected) in [
            (0, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]),
            (4, [1, 1, 1, 1, 1, 1, 1, 2, 2, 2]),
            (20, [1, 1, 1, 1, 1, 1, 1, 1, 1, 2]),
        ] {
            let mut own = [0u8; 10];
            own[0] = 1;
            own[9] = 2;
            let late = LateSeeds {
                voxels: &[9],
                after,
            };
            nearest_seed_with_late(&region, dims, [1, 1, 1], &uniform(), &mut own, &late);
            assert_eq!(own, expected, "{after} steps late");
        }
    }
}
