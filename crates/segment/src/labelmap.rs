//! One label per voxel on the volume's grid: 0 is no segment, 1–255 are
//! segments (the table says which is which).

use crate::CropBox;

/// Labels on a grid, x fastest, then y, then z (as the volume's voxels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelmap {
    dims: [u32; 3],
    labels: Vec<u8>,
}

impl Labelmap {
    /// An empty labelmap (every voxel 0) on a grid of `dims`.
    pub fn new(dims: [u32; 3]) -> Self {
        let n = dims.iter().map(|&d| d as usize).product();
        Self {
            dims,
            labels: vec![0; n],
        }
    }

    /// A labelmap of given labels; `None` when their number does not fit
    /// `dims`.
    pub fn from_labels(dims: [u32; 3], labels: Vec<u8>) -> Option<Self> {
        let n: usize = dims.iter().map(|&d| d as usize).product();
        (labels.len() == n).then_some(Self { dims, labels })
    }

    /// The grid.
    pub fn dims(&self) -> [u32; 3] {
        self.dims
    }

    /// Every label, in voxel order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Linear index of voxel (i, j, k) (inside the grid).
    pub fn index(&self, [i, j, k]: [u32; 3]) -> usize {
        let [nx, ny, _] = self.dims.map(|d| d as usize);
        i as usize + nx * (j as usize + ny * k as usize)
    }

    /// Voxel (i, j, k) of a linear index.
    pub fn voxel(&self, index: usize) -> [u32; 3] {
        let [nx, ny, _] = self.dims.map(|d| d as usize);
        [
            (index % nx) as u32,
            ((index / nx) % ny) as u32,
            (index / (nx * ny)) as u32,
        ]
    }

    /// The label of voxel (i, j, k), or `None` outside the grid.
    pub fn get(&self, ijk: [u32; 3]) -> Option<u8> {
        (ijk.iter().zip(&self.dims).all(|(v, d)| v < d)).then(|| self.labels[self.index(ijk)])
    }

    /// Voxels carrying `label`.
    pub fn count(&self, label: u8) -> usize {
        self.labels.iter().filter(|&&l| l == label).count()
    }

    /// Voxels carrying `label` inside `crop`.
    pub fn count_in(&self, label: u8, crop: &CropBox) -> usize {
        let mut n = 0;
        self.for_each_in(crop, |_, l| n += usize::from(l == label));
        n
    }

    /// Calls `f(index, label)` for every voxel inside `crop`, in voxel order.
    pub fn for_each_in(&self, crop: &CropBox, mut f: impl FnMut(usize, u8)) {
        for k in crop.min[2]..crop.max[2] {
            for j in crop.min[1]..crop.max[1] {
                let row = self.index([crop.min[0], j, k]);
                for (n, &l) in self.labels[row..row + (crop.max[0] - crop.min[0]) as usize]
                    .iter()
                    .enumerate()
                {
                    f(row + n, l);
                }
            }
        }
    }

    /// The labels, to change in place (the tools record what they change).
    pub(crate) fn labels_mut(&mut self) -> &mut [u8] {
        &mut self.labels
    }

    /// The smallest box holding every voxel of `label`, if any.
    pub fn bounds(&self, label: u8) -> Option<CropBox> {
        self.bounds_in(label, &CropBox::whole(self.dims))
    }

    /// Each label's voxel count and smallest box, in one pass: rows of 0
    /// (most of a labelmap) are skimmed, blocks of one label taken whole,
    /// and only the others walked voxel by voxel. A pass per label
    /// ([`Labelmap::bounds`]) took seconds on a whole-spine labelmap of 30
    /// vertebrae.
    pub fn census(&self) -> (Box<[usize; 256]>, Box<[Option<CropBox>; 256]>) {
        // Labels a row is skimmed by: a wasm SIMD register's worth.
        const BLOCK: usize = 16;
        let [nx, ny, _] = self.dims.map(|d| d as usize);
        let mut counts = Box::new([0usize; 256]);
        let mut min = [[u32::MAX; 3]; 256];
        let mut max = [[0u32; 3]; 256];
        if nx == 0 {
            return (counts, Box::new([None; 256]));
        }
        for (r, row) in self.labels.chunks_exact(nx).enumerate() {
            // An OR over the row, with no early exit, so it vectorises.
            if row.iter().fold(0u8, |any, &l| any | l) == 0 {
                counts[0] += nx;
                continue;
            }
            let (j, k) = ((r % ny) as u32, (r / ny) as u32);
            // Label `l`'s box grown to hold columns `i0..i1` of this row.
            let mut grow = |l: u8, i0: u32, i1: u32| {
                let (lo, hi) = (&mut min[l as usize], &mut max[l as usize]);
                *lo = [lo[0].min(i0), lo[1].min(j), lo[2].min(k)];
                *hi = [hi[0].max(i1), hi[1].max(j + 1), hi[2].max(k + 1)];
            };
            for (b, block) in row.chunks(BLOCK).enumerate() {
                let first = block[0];
                // One label across the block (outside a segment, or inside
                // one): counted and boxed once.
                if block.iter().fold(true, |same, &l| same & (l == first)) {
                    counts[first as usize] += block.len();
                    if first != 0 {
                        let i = (b * BLOCK) as u32;
                        grow(first, i, i + block.len() as u32);
                    }
                    continue;
                }
                for (n, &l) in block.iter().enumerate() {
                    counts[l as usize] += 1;
                    let i = (b * BLOCK + n) as u32;
                    grow(l, i, i + 1);
                }
            }
        }
        let mut extents = Box::new([None; 256]);
        for label in 1..256 {
            if counts[label] > 0 {
                extents[label] = Some(CropBox {
                    min: min[label],
                    max: max[label],
                });
            }
        }
        (counts, extents)
    }

    /// The smallest box holding every voxel of `label` inside `within`.
    /// Row by row: `contains` on bytes is a memchr, so rows without the
    /// label are skimmed, not walked voxel by voxel.
    pub fn bounds_in(&self, label: u8, within: &CropBox) -> Option<CropBox> {
        let within = within.intersect(&CropBox::whole(self.dims))?;
        let mut min = [u32::MAX; 3];
        let mut max = [0u32; 3];
        let (i0, i1) = (within.min[0] as usize, within.max[0] as usize);
        for k in within.min[2]..within.max[2] {
            for j in within.min[1]..within.max[1] {
                let start = self.index([0, j, k]);
                let row = &self.labels[start + i0..start + i1];
                if !row.contains(&label) {
                    continue;
                }
                let first = row.iter().position(|&l| l == label).unwrap_or(0) + i0;
                let last = row.iter().rposition(|&l| l == label).unwrap_or(0) + i0;
                min = [min[0].min(first as u32), min[1].min(j), min[2].min(k)];
                max = [
                    max[0].max(last as u32 + 1),
                    max[1].max(j + 1),
                    max[2].max(k + 1),
                ];
            }
        }
        (min[0] != u32::MAX).then_some(CropBox { min, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voxels_and_indices_agree_x_fastest() {
        let map = Labelmap::new([4, 3, 2]);
        assert_eq!(map.index([1, 2, 1]), 1 + 4 * (2 + 3));
        for n in 0..24 {
            assert_eq!(map.index(map.voxel(n)), n);
        }
        assert_eq!(map.get([4, 0, 0]), None);
        assert!(Labelmap::from_labels([2, 2, 2], vec![0; 7]).is_none());
    }

    #[test]
    fn bounds_and_counts_of_a_label() {
        let mut map = Labelmap::new([5, 5, 5]);
        for ijk in [[1, 2, 3], [3, 1, 2]] {
            let n = map.index(ijk);
            map.labels_mut()[n] = 7;
        }
        assert_eq!(map.count(7), 2);
        let b = map.bounds(7).unwrap();
        assert_eq!((b.min, b.max), ([1, 1, 2], [4, 3, 4]));
        assert_eq!(
            map.count_in(7, &CropBox::from_corners([0, 0, 0], [2, 4, 4], [5; 3])),
            1
        );
        assert_eq!(map.bounds(9), None);
    }

    #[test]
    fn one_census_agrees_with_each_labels_own_count_and_box() {
        // Rows empty, rows of runs (blocks of one label and blocks across
        // two), rows scattered by a fixed hash.
        let mut map = Labelmap::new([41, 7, 5]);
        for (n, l) in map.labels_mut().iter_mut().enumerate() {
            let (i, row) = (n % 41, n / 41);
            let h = (n as u32).wrapping_mul(2_654_435_761) >> 24;
            *l = match row % 3 {
                0 => 0,
                1 => 7 + ((i / 20 + row) % 4) as u8,
                _ if h < 160 => 0,
                _ => (h % 6) as u8 + 1,
            };
        }
        let (counts, extents) = map.census();
        assert_eq!(counts.iter().sum::<usize>(), 41 * 7 * 5);
        for label in 0..=255u8 {
            assert_eq!(counts[label as usize], map.count(label), "label {label}");
            if label > 0 {
                assert_eq!(extents[label as usize], map.bounds(label), "label {label}");
            }
        }
        assert!(counts[1..=10].iter().all(|&c| c > 0), "{:?}", &counts[..11]);
        assert_eq!(Labelmap::new([0, 4, 4]).census().0[0], 0);
    }
}
