//! Per-label voxel counts and boxes, kept up to date from each change's
//! runs: the panel's counts after every brush dab and the box a segment
//! surface is made in would otherwise each cost a pass over a labelmap of
//! the volume's size.

use crate::{Change, CropBox, Labelmap};

/// Counts and extents of every label.
#[derive(Debug, Clone)]
pub(crate) struct LabelStats {
    dims: [u32; 3],
    counts: Box<[usize; 256]>,
    /// A box holding every voxel of each label: exact when counted, and
    /// after changes possibly larger than the label (voxels that left it
    /// do not shrink it), never smaller.
    extents: Box<[Option<CropBox>; 256]>,
}

impl LabelStats {
    /// Counted from the labelmap (one pass).
    pub(crate) fn of(map: &Labelmap) -> Self {
        let (counts, extents) = map.census();
        Self {
            dims: map.dims(),
            counts,
            extents,
        }
    }

    /// Voxels of `label`.
    pub(crate) fn count(&self, label: u8) -> usize {
        self.counts[label as usize]
    }

    /// A box holding every voxel of `label` (`None`: it has none).
    pub(crate) fn extent(&self, label: u8) -> Option<CropBox> {
        self.extents[label as usize].filter(|_| self.count(label) > 0)
    }

    /// Takes in `change`, replayed forwards or undone.
    pub(crate) fn apply(&mut self, change: &Change, forward: bool) {
        let [nx, ny, _] = self.dims.map(|d| d as usize);
        let voxel = |n: usize| {
            [
                (n % nx) as u32,
                ((n / nx) % ny) as u32,
                (n / (nx * ny)) as u32,
            ]
        };
        for (start, len, from, to) in change.moves(forward) {
            self.counts[from as usize] -= len;
            self.counts[to as usize] += len;
            let (a, b) = (voxel(start), voxel(start + len - 1));
            // A run within one row spans its own columns; a longer one,
            // whole rows (and whole slices when it crosses one).
            let same_row = a[1] == b[1] && a[2] == b[2];
            let run_box = CropBox {
                min: [
                    if same_row { a[0] } else { 0 },
                    if a[2] == b[2] { a[1] } else { 0 },
                    a[2],
                ],
                max: [
                    if same_row { b[0] + 1 } else { self.dims[0] },
                    if a[2] == b[2] { b[1] + 1 } else { self.dims[1] },
                    b[2] + 1,
                ],
            };
            let extent = &mut self.extents[to as usize];
            *extent = Some(extent.map_or(run_box, |e| e.union(&run_box)));
        }
        for (label, extent) in self.extents.iter_mut().enumerate() {
            if self.counts[label] == 0 {
                *extent = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Change;

    #[test]
    fn extents_always_hold_the_label_and_counts_stay_exact() {
        let dims = [7, 5, 4];
        let mut map = Labelmap::new(dims);
        let mut stats = LabelStats::of(&map);
        let mut changes = Vec::new();
        // Single voxels, a run within a row, runs across rows and slices.
        for (first, len, label) in [(3, 1, 2), (9, 4, 2), (12, 20, 3), (30, 60, 2), (40, 5, 0)] {
            let mut change = Change::default();
            for n in first..first + len {
                change.set(&mut map, n, label);
            }
            stats.apply(&change, true);
            changes.push(change);
            check(&map, &stats);
        }
        for change in changes.iter_mut().rev() {
            change.write(&mut map, None, false);
            stats.apply(change, false);
            check(&map, &stats);
        }
        assert_eq!(stats.count(2), 0);
        assert_eq!(stats.extent(2), None);
    }

    fn check(map: &Labelmap, stats: &LabelStats) {
        for label in 1..=3u8 {
            assert_eq!(stats.count(label), map.count(label), "label {label}");
            match (map.bounds(label), stats.extent(label)) {
                (None, None) => {}
                (Some(exact), Some(extent)) => {
                    assert_eq!(exact.intersect(&extent), Some(exact), "label {label}");
                }
                other => panic!("label {label}: {other:?}"),
            }
        }
    }
}
