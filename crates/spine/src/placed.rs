//! The analysis' labels as it read them (its grid: axes in axial order,
//! blocks averaged where the series is too fine or too large), placed on
//! the stored volume's grid only as they are handed over. A whole-spine
//! CT's labels on its stored grid are 655 MB; the study worker writes them
//! slice by slice into the labelmap it already holds rather than beside
//! it, so no second volume-sized labelmap is ever made (the heap stops at
//! 4 GiB).

use insitu_segment::Labelmap;

/// Labels on the analysis' grid and where each stored voxel reads its own.
pub struct SpineLabels {
    /// Labels in the grid's order.
    labels: Vec<u8>,
    /// Per stored axis, the offset into `labels` each stored index adds:
    /// a stored voxel (x, y, z) reads `labels[at[0][x] + at[1][y] + at[2][z]]`.
    at: [Vec<usize>; 3],
    /// Whether every stored voxel is the grid voxel of its own index
    /// (axes as stored, no blocks): the labels are then the labelmap's.
    same: bool,
}

impl SpineLabels {
    /// `labels` on a grid whose stored voxels read theirs through `at`.
    pub(crate) fn new(labels: Vec<u8>, at: [Vec<usize>; 3]) -> Self {
        let plane = at[0].len() * at[1].len();
        let same = at[0].iter().enumerate().all(|(n, &o)| o == n)
            && at[1].iter().enumerate().all(|(n, &o)| o == n * at[0].len())
            && at[2].iter().enumerate().all(|(n, &o)| o == n * plane);
        Self { labels, at, same }
    }

    /// The stored volume's dims (columns, rows, slices).
    pub fn dims(&self) -> [u32; 3] {
        self.at.each_ref().map(|a| a.len() as u32)
    }

    /// Calls `put(first, labels)` for each stored slice in order: `first`
    /// is the slice's first voxel's index in the stored labelmap, `labels`
    /// the slice's labels (one buffer, reused).
    pub fn each_slice(&self, mut put: impl FnMut(usize, &[u8])) {
        let plane = self.at[0].len() * self.at[1].len();
        if self.same {
            for (z, slice) in self.labels.chunks_exact(plane).enumerate() {
                put(z * plane, slice);
            }
            return;
        }
        let mut slice = vec![0u8; plane];
        for (z, &base) in self.at[2].iter().enumerate() {
            self.fill_slice(base, &mut slice);
            put(z * plane, &slice);
        }
    }

    /// One stored slice's labels (a call per slice: wasm has no on-stack
    /// replacement, and a whole-spine CT has 655 M voxels).
    #[inline(never)]
    fn fill_slice(&self, base: usize, slice: &mut [u8]) {
        let columns = &self.at[0];
        for (row, &offset) in slice.chunks_exact_mut(columns.len()).zip(&self.at[1]) {
            let from = base + offset;
            for (label, &x) in row.iter_mut().zip(columns) {
                *label = self.labels[from + x];
            }
        }
    }

    /// The labels as a labelmap on the stored grid (no copy when the grid
    /// is the stored one).
    pub fn into_labelmap(self) -> Labelmap {
        let dims = self.dims();
        let labels = if self.same {
            self.labels
        } else {
            let mut all = Vec::with_capacity(dims.iter().map(|&n| n as usize).product());
            self.each_slice(|_, slice| all.extend_from_slice(slice));
            all
        };
        Labelmap::from_labels(dims, labels).expect("sizes match")
    }

    /// Stored voxels per label, counted on the grid: each grid voxel
    /// weighs as many stored voxels as read it.
    pub(crate) fn stored_counts(&self) -> [usize; 256] {
        let runs = self.at.each_ref().map(|a| runs_of(a));
        let mut counts = [0usize; 256];
        for &(z, nz) in &runs[2] {
            for &(y, ny) in &runs[1] {
                let row = z + y;
                for &(x, nx) in &runs[0] {
                    counts[self.labels[row + x] as usize] += nx * ny * nz;
                }
            }
        }
        counts
    }
}

/// `offsets` as (offset, how many in a row): a block's stored voxels lie
/// together along each axis.
fn runs_of(offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &o in offsets {
        match runs.last_mut() {
            Some((last, n)) if *last == o => *n += 1,
            _ => runs.push((o, 1)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2×3 grid voxels in one slice, read by a 4×3×2 stored volume whose
    /// columns run the other way, in blocks of two columns, two slices.
    fn reversed_in_blocks() -> SpineLabels {
        let labels = vec![1, 2, 3, 4, 5, 6];
        let at = [vec![1, 1, 0, 0], vec![0, 2, 4], vec![0, 0]];
        SpineLabels::new(labels, at)
    }

    #[test]
    fn stored_slices_read_their_blocks() {
        let labels = reversed_in_blocks();
        assert_eq!(labels.dims(), [4, 3, 2]);
        let mut seen = Vec::new();
        labels.each_slice(|first, slice| seen.push((first, slice.to_vec())));
        let slice = vec![2, 2, 1, 1, 4, 4, 3, 3, 6, 6, 5, 5];
        assert_eq!(seen, vec![(0, slice.clone()), (12, slice.clone())]);
        let counts = labels.stored_counts();
        assert_eq!(&counts[1..7], &[4; 6]);
        let map = labels.into_labelmap();
        assert_eq!(map.labels(), [slice.clone(), slice].concat());
    }

    #[test]
    fn the_stored_grid_hands_its_labels_over_whole() {
        let at = [vec![0, 1], vec![0, 2], vec![0, 4]];
        let labels = SpineLabels::new((1..=8).collect(), at);
        assert!(labels.same);
        let mut firsts = Vec::new();
        labels.each_slice(|first, slice| firsts.push((first, slice.len())));
        assert_eq!(firsts, vec![(0, 4), (4, 4)]);
        assert_eq!(labels.stored_counts()[1..9], [1; 8]);
        assert_eq!(
            labels.into_labelmap().labels(),
            (1..=8).collect::<Vec<u8>>()
        );
    }
}
