//! Shortest paths through bone from several seeds at once: every voxel of
//! a region goes to the seed nearest to it *through the region*, so a
//! pedicle and its spinous process follow their own body even where a
//! facet joint touches the next vertebra. Used by the first split and by
//! the user's split at a disc.

/// Dial's algorithm on a box of `dims` voxels (x fastest): `step` is the
/// integer cost of a step along each axis; `own[w] != 0` marks a seed and
/// names its owner. Every `region` voxel a seed reaches takes the owner of
/// the nearest one; voxels outside `region`, or not reached, keep theirs.
pub(crate) fn nearest_seed(region: &[bool], dims: [usize; 3], step: [u32; 3], own: &mut [u8]) {
    let [wi, wj, wk] = dims;
    let plane = wi * wj;
    debug_assert_eq!(region.len(), plane * wk);
    let ring = *step.iter().max().expect("three") as usize + 1;
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); ring];
    let mut dist = vec![u32::MAX; region.len()];
    for (w, &o) in own.iter().enumerate() {
        if o != 0 && region[w] {
            dist[w] = 0;
            buckets[0].push(w as u32);
        }
    }
    let mut pending: usize = buckets[0].len();
    let mut current = 0u32;
    while pending > 0 {
        let slot = current as usize % ring;
        while let Some(w) = buckets[slot].pop() {
            pending -= 1;
            let w = w as usize;
            if dist[w] != current {
                continue;
            }
            let (x, y, k) = (w % wi, (w / wi) % wj, w / plane);
            let neighbours = [
                (x > 0, w.wrapping_sub(1), step[0]),
                (x + 1 < wi, w + 1, step[0]),
                (y > 0, w.wrapping_sub(wi), step[1]),
                (y + 1 < wj, w + wi, step[1]),
                (k > 0, w.wrapping_sub(plane), step[2]),
                (k + 1 < wk, w + plane, step[2]),
            ];
            for (ok, n, cost) in neighbours {
                if ok && region[n] && current + cost < dist[n] {
                    dist[n] = current + cost;
                    own[n] = own[w];
                    buckets[(current + cost) as usize % ring].push(n as u32);
                    pending += 1;
                }
            }
        }
        current += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        nearest_seed(&region, dims, [1, 1, 1], &mut own);
        assert_eq!(own[0], 1, "through the region, not across the gap");
        assert_eq!(own[12], 2);
        assert_eq!(own[14], 1);
        assert_eq!(own[5], 0, "outside the region");
    }
}
