//! An unevenly spaced series (missing slices, a protocol that changes its
//! spacing) read as an even stack. The loader keeps such a series' true
//! slice positions beside a mean step; the analysis walks slices one step
//! in mm apart, and read at the mean step it put every slice past a gap in
//! the wrong place: TotalSegmentator's CT at 3 mm with slices missing read
//! body heights up to 6–14 mm off those of the whole series (one slice in
//! five or seven gone over its lumbar spine, or three pairs). The even
//! stack puts a slice every usual step (the median distance) and reads
//! each from the stored slice nearest it: there 3.5, 6.4 and 11.0 mm at
//! most, and with two single slices missing 1.7 mm (2.9 read as stored)
//! and every vertebra's Dice against the whole series' labels 0.994 or
//! more (0.924). Interpolating the HU across a gap instead blurred a disc
//! into the bodies beside it (L5 split in two). Each stored slice takes
//! the labels of the even slice at its place.

use glam::UVec3;
use insitu_volume::{Geometry, Volume, Voxels};

/// Most even slices per stored one: past this the series is not one stack
/// with a few gaps (two far-apart blocks of slices), and it is read as
/// stored.
const MOST_SLICES_PER_STORED: usize = 4;

/// Stored slices (along the stored k axis) and the even slices read for
/// them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvenStack {
    /// The even step (mm): the median distance between stored slices.
    step_mm: f64,
    /// For each even slice, the stored slice nearest it.
    stored_of: Vec<usize>,
    /// For each stored slice, the even slice at its place.
    even_of: Vec<usize>,
}

impl EvenStack {
    /// The even stack of `volume`; `None` when its slices are evenly spaced
    /// already (no true positions kept) or their positions do not rise
    /// along the stack.
    pub fn of(volume: &Volume) -> Option<Self> {
        Self::of_offsets(volume.slice_offsets_mm()?)
    }

    fn of_offsets(offsets: &[f64]) -> Option<Self> {
        let mut gaps: Vec<f64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        if gaps.is_empty() || gaps.iter().any(|&g| g.is_nan() || g <= 0.0) {
            return None;
        }
        gaps.sort_by(f64::total_cmp);
        let step_mm = gaps[gaps.len() / 2];
        let span = offsets[offsets.len() - 1] - offsets[0];
        let count = (span / step_mm).round() as usize + 1;
        if count > MOST_SLICES_PER_STORED * offsets.len() {
            return None;
        }
        let nearest_stored = |mm: f64| {
            let after = offsets.partition_point(|&o| o < mm);
            match after.checked_sub(1) {
                Some(before)
                    if after == offsets.len() || mm - offsets[before] <= offsets[after] - mm =>
                {
                    before
                }
                _ => after,
            }
        };
        let stored_of = (0..count)
            .map(|u| nearest_stored(offsets[0] + u as f64 * step_mm))
            .collect();
        let even_of = offsets
            .iter()
            .map(|&o| (((o - offsets[0]) / step_mm).round() as usize).min(count - 1))
            .collect();
        Some(Self {
            step_mm,
            stored_of,
            even_of,
        })
    }

    /// How many slices the series stores.
    pub fn stored_slices(&self) -> usize {
        self.even_of.len()
    }

    /// The even stack's geometry: `stored`'s, its k axis stepped evenly.
    pub fn geometry(&self, stored: &Geometry) -> Geometry {
        let along = stored.steps[2].normalize();
        let dims = UVec3::new(stored.dims.x, stored.dims.y, self.stored_of.len() as u32);
        Geometry::new(
            dims,
            [stored.steps[0], stored.steps[1], along * self.step_mm],
            stored.origin,
        )
        .expect("the stored geometry's axes")
    }

    /// `volume`'s voxels on the even stack.
    pub fn read(&self, volume: &Volume) -> Volume {
        let g = volume.geometry();
        let plane = (g.dims.x * g.dims.y) as usize;
        let voxels = match volume.voxels() {
            Voxels::I16(v) => Voxels::I16(self.on_even(v, plane)),
            Voxels::F32(v) => Voxels::F32(self.on_even(v, plane)),
        };
        Volume::new(self.geometry(g), voxels).expect("as many voxels as the even geometry")
    }

    /// Values stored slice by slice (`plane` a slice) on the even stack.
    pub fn on_even<T: Copy>(&self, stored: &[T], plane: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(plane * self.stored_of.len());
        for &s in &self.stored_of {
            out.extend_from_slice(&stored[s * plane..(s + 1) * plane]);
        }
        out
    }

    /// `even` (per even slice, what its voxels add to reach their labels)
    /// for each stored slice instead.
    pub fn for_stored(&self, even: &[usize]) -> Vec<usize> {
        self.even_of.iter().map(|&u| even[u]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_slice_is_read_from_its_nearest_and_gives_its_labels_back() {
        // 3 mm slices with the one at 9 mm missing.
        let stack = EvenStack::of_offsets(&[0.0, 3.0, 6.0, 12.0, 15.0]).expect("uneven");
        assert_eq!(stack.step_mm, 3.0);
        assert_eq!(
            stack.stored_of,
            [0, 1, 2, 2, 3, 4],
            "the gap read from a neighbour"
        );
        assert_eq!(
            stack.even_of,
            [0, 1, 2, 4, 5],
            "each stored slice at its place"
        );
        assert_eq!(
            stack.for_stored(&[10, 11, 12, 13, 14, 15]),
            [10, 11, 12, 14, 15]
        );
        assert_eq!(stack.on_even(&[1, 2, 3, 4, 5], 1), [1, 2, 3, 3, 4, 5]);
    }

    #[test]
    fn slices_that_fall_back_or_lie_far_apart_are_read_as_stored() {
        assert!(EvenStack::of_offsets(&[0.0, 3.0, 2.0]).is_none());
        assert!(EvenStack::of_offsets(&[0.0, 1.0, 2.0, 300.0]).is_none());
    }
}
