//! The analysis' labels as it read them (its grid: axes in axial order,
//! blocks averaged where the series is too fine or too large), placed on
//! the stored volume's grid only as they are handed over. A whole-spine
//! CT's labels on its stored grid are 655 MB; the study worker writes them
//! slice by slice into the labelmap it already holds rather than beside
//! it, so no second volume-sized labelmap is ever made (the heap stops at
//! 4 GiB).

use insitu_segment::Labelmap;
use insitu_volume::{Volume, Voxels};

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
    /// Stored voxels (ascending indices) cleared from their block's label
    /// at its edge ([`SpineLabels::peel_dim_edges`]).
    peeled: Vec<usize>,
}

impl SpineLabels {
    /// `labels` on a grid whose stored voxels read theirs through `at`.
    pub(crate) fn new(labels: Vec<u8>, at: [Vec<usize>; 3]) -> Self {
        let plane = at[0].len() * at[1].len();
        let same = at[0].iter().enumerate().all(|(n, &o)| o == n)
            && at[1].iter().enumerate().all(|(n, &o)| o == n * at[0].len())
            && at[2].iter().enumerate().all(|(n, &o)| o == n * plane);
        Self {
            labels,
            at,
            same,
            peeled: Vec::new(),
        }
    }

    /// Clears each stored voxel on a label's outer edge (a face next to
    /// no label) whose 3×3×3 stored neighbourhood averages below `edge_hu`.
    /// A grid read in blocks labels every stored voxel of a block alike, so
    /// a label's edge lies up to a block out into the soft tissue: on
    /// TotalSegmentator's CT made denser, with contrast, at 1 mm with 40 HU
    /// of noise (read in 2 mm blocks), a voxel of tissue round each lumbar
    /// vertebra (L5: 533 voxels of 3 mm, 101 HU on average) cost 0.01–0.02
    /// of Dice. The stored voxels' own HU place the edge; the blocks still
    /// say whose it is. One layer, decided on the labels as the blocks give
    /// them, so nothing inside a label is touched. `kept`'s edge stays: the
    /// sacrum's label takes in its dim marrow and dorsal wall on purpose
    /// (`crate::sacrum`), and peeled it lost 0.05 of Dice at 0.75 mm pixels.
    pub(crate) fn peel_dim_edges(&mut self, volume: &Volume, edge_hu: f32, kept: u8) {
        if self.same {
            return;
        }
        match volume.voxels() {
            Voxels::I16(hu) => self.peel_with(|n| f32::from(hu[n]), edge_hu, kept),
            Voxels::F32(hu) => self.peel_with(|n| hu[n], edge_hu, kept),
        }
    }

    fn peel_with(&mut self, hu: impl Fn(usize) -> f32, edge_hu: f32, kept: u8) {
        let [nx, ny, nz] = self.dims().map(|n| n as usize);
        let plane = nx * ny;
        // The stored slices below, at and above the one peeled.
        let mut slices = [vec![0u8; plane], vec![0u8; plane], vec![0u8; plane]];
        self.fill_slice(self.at[2][0], &mut slices[1]);
        if nz > 1 {
            self.fill_slice(self.at[2][1], &mut slices[2]);
        }
        let mut peeled = Vec::new();
        for z in 0..nz {
            if z > 0 {
                slices.rotate_left(1);
                if z + 1 < nz {
                    self.fill_slice(self.at[2][z + 1], &mut slices[2]);
                }
            }
            let [below, at, above] = &slices;
            let (below, above) = ((z > 0).then_some(below), (z + 1 < nz).then_some(above));
            for y in 0..ny {
                // Rows without a label (most of a whole-spine CT's) hold no
                // edge: an OR over the row, which vectorises, skips them.
                if at[y * nx..(y + 1) * nx].iter().fold(0u8, |any, &l| any | l) == 0 {
                    continue;
                }
                for x in 0..nx {
                    let n = y * nx + x;
                    let label = at[n];
                    let on_edge = label != 0
                        && label != kept
                        && ((x > 0 && at[n - 1] == 0)
                            || (x + 1 < nx && at[n + 1] == 0)
                            || (y > 0 && at[n - nx] == 0)
                            || (y + 1 < ny && at[n + nx] == 0)
                            || below.is_some_and(|s| s[n] == 0)
                            || above.is_some_and(|s| s[n] == 0));
                    if on_edge && mean_around(&hu, [x, y, z], [nx, ny, nz]) < edge_hu {
                        peeled.push(z * plane + n);
                    }
                }
            }
        }
        self.peeled = peeled;
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
        let mut peeled = self.peeled.iter().peekable();
        for (z, &base) in self.at[2].iter().enumerate() {
            self.fill_slice(base, &mut slice);
            let first = z * plane;
            while let Some(n) = peeled.next_if(|&&n| n < first + plane) {
                slice[n - first] = 0;
            }
            put(first, &slice);
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
        for &n in &self.peeled {
            counts[self.stored_label(n) as usize] -= 1;
            counts[0] += 1;
        }
        counts
    }

    /// The grid's label for the stored voxel at index `n` (before peeling).
    fn stored_label(&self, n: usize) -> u8 {
        let [nx, ny] = [self.at[0].len(), self.at[1].len()];
        let (x, y, z) = (n % nx, n / nx % ny, n / (nx * ny));
        self.labels[self.at[0][x] + self.at[1][y] + self.at[2][z]]
    }
}

/// The mean of `hu` over the stored voxels within one of `at` along each
/// axis (fewer at the volume's faces).
fn mean_around(hu: &impl Fn(usize) -> f32, at: [usize; 3], dims: [usize; 3]) -> f32 {
    let range = |axis: usize| at[axis].saturating_sub(1)..=(at[axis] + 1).min(dims[axis] - 1);
    let (mut sum, mut count) = (0.0f32, 0.0f32);
    for z in range(2) {
        for y in range(1) {
            let row = (z * dims[1] + y) * dims[0];
            for x in range(0) {
                sum += hu(row + x);
                count += 1.0;
            }
        }
    }
    sum / count
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

    /// A row of six stored voxels, 0 HU then 400 HU from the fourth,
    /// labelled in blocks of two: none, `label`, `label`.
    fn row_half_bone(label: u8) -> (SpineLabels, Volume) {
        let labels = SpineLabels::new(
            vec![0, label, label],
            [vec![0, 0, 1, 1, 2, 2], vec![0], vec![0]],
        );
        let steps = [glam::DVec3::X, glam::DVec3::Y, glam::DVec3::Z];
        let dims = glam::UVec3::new(6, 1, 1);
        let geometry =
            insitu_volume::Geometry::new(dims, steps, glam::DVec3::ZERO).expect("a grid");
        let hu = Voxels::I16(vec![0, 0, 0, 400, 400, 400]);
        (labels, Volume::new(geometry, hu).expect("a volume"))
    }

    #[test]
    fn a_blocks_voxel_on_the_edge_that_reads_below_bone_is_peeled() {
        let (mut labels, volume) = row_half_bone(5);
        labels.peel_dim_edges(&volume, 150.0, 25);
        // The third voxel, on the edge, averages 133 HU with its
        // neighbours; the fourth is not on the edge; the last is at the
        // volume's face, which is no edge.
        assert_eq!(labels.stored_counts()[..6], [3, 0, 0, 0, 0, 3]);
        assert_eq!(labels.into_labelmap().labels(), [0, 0, 0, 5, 5, 5]);
        // Below 133 HU it stays, and the kept label is never peeled.
        let (mut labels, volume) = row_half_bone(5);
        labels.peel_dim_edges(&volume, 130.0, 25);
        assert_eq!(labels.into_labelmap().labels(), [0, 0, 5, 5, 5, 5]);
        let (mut labels, volume) = row_half_bone(25);
        labels.peel_dim_edges(&volume, 150.0, 25);
        assert_eq!(labels.into_labelmap().labels(), [0, 0, 25, 25, 25, 25]);
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
