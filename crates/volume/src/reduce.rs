//! Reading a series smaller than it is, when the whole would not fit the
//! memory a volume may take (`budget`): every second (or fourth) slice,
//! and/or blocks of 2×2 pixels averaged into one. The geometry stays
//! right: a block's voxel sits at the centre of the pixels it averages, a
//! kept slice where it was, so the reduced volume covers the same patient
//! space. The user chooses; nothing is reduced without being asked.

use glam::UVec3;
use serde::{Deserialize, Serialize};

use crate::load::{BuildError, Scan};
use crate::series::{SeriesPlan, Warning};
use crate::{Geometry, budget};

/// How a series is read smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reduction {
    /// Every `slice_step`-th slice, from the first (1: every slice).
    pub slice_step: u32,
    /// Blocks of `block` × `block` pixels averaged into one (1: none).
    pub block: u32,
}

impl Reduction {
    /// The reductions offered, least lossy first: through-plane resolution
    /// goes before in-plane (a thin-slice CT has slices to spare; a fine
    /// in-plane grid is what fractures and canals are judged on).
    pub const OFFERED: [Reduction; 4] = [
        Reduction {
            slice_step: 2,
            block: 1,
        },
        Reduction {
            slice_step: 1,
            block: 2,
        },
        Reduction {
            slice_step: 2,
            block: 2,
        },
        Reduction {
            slice_step: 4,
            block: 2,
        },
    ];
}

/// A reduced load that fits, as offered to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReducedLoad {
    /// The series, in the scan's list.
    pub series: usize,
    /// How it would be read.
    pub reduction: Reduction,
    /// Its voxels along i, j, k.
    pub dims: [u32; 3],
    /// Its voxel size (mm).
    pub spacing_mm: [f64; 3],
    /// Bytes its voxels would take.
    pub bytes: u64,
}

impl SeriesPlan {
    /// Pixels averaged along each in-plane axis (1 unless read reduced):
    /// such a series' frames are averaged as they are assembled.
    pub fn block(&self) -> u32 {
        self.block
    }

    /// This plan read with `reduction` (`None` when nothing would be left).
    pub(crate) fn reduced(&self, reduction: Reduction) -> Option<SeriesPlan> {
        let step = reduction.slice_step.max(1);
        let block = reduction.block.max(1);
        let g = &self.geometry;
        let slices: Vec<_> = self.slices.iter().step_by(step as usize).copied().collect();
        let dims = UVec3::new(g.dims.x / block, g.dims.y / block, slices.len() as u32);
        // A block's voxel at the centre of the pixels it averages.
        let half = f64::from(block - 1) / 2.0;
        let origin = g.origin + g.steps[0] * half + g.steps[1] * half;
        let steps = [
            g.steps[0] * f64::from(block),
            g.steps[1] * f64::from(block),
            g.steps[2] * f64::from(step),
        ];
        let geometry = Geometry::new(dims, steps, origin).ok()?;
        let spacing = geometry.spacing();
        let mut info = self.info.clone();
        info.dims = dims.to_array();
        info.spacing_mm = spacing.to_array();
        info.warnings.push(Warning::Reduced {
            slice_step: step,
            block,
        });
        Some(SeriesPlan {
            info,
            geometry,
            slice_offsets_mm: self
                .slice_offsets_mm
                .as_ref()
                .map(|offsets| offsets.iter().step_by(step as usize).copied().collect()),
            slices,
            padding_output: self.padding_output,
            invert: self.invert,
            block,
            input_dims: self.input_dims,
        })
    }
}

impl Scan {
    /// The reduced loads of series `index` that fit `budget_bytes`, in the
    /// order of [`Reduction::OFFERED`].
    pub fn reduced_loads(&self, index: usize, float: bool, budget_bytes: u64) -> Vec<ReducedLoad> {
        let Some(plan) = self.series.get(index) else {
            return Vec::new();
        };
        Reduction::OFFERED
            .iter()
            .filter_map(|&reduction| {
                let reduced = plan.reduced(reduction)?;
                let bytes = budget::voxel_bytes(reduced.geometry.voxel_count() as u64, float);
                (bytes <= budget_bytes).then_some(ReducedLoad {
                    series: index,
                    reduction,
                    dims: reduced.info.dims,
                    spacing_mm: reduced.info.spacing_mm,
                    bytes,
                })
            })
            .collect()
    }

    /// This scan with series `index` read with `reduction`: its plan, its
    /// decode jobs and its volume are the reduced ones.
    pub fn with_reduction(&self, index: usize, reduction: Reduction) -> Result<Scan, BuildError> {
        let plan = self
            .series
            .get(index)
            .ok_or(BuildError::NoSuchSeries(index))?;
        let reduced = plan
            .reduced(reduction)
            .ok_or(BuildError::NoSuchSeries(index))?;
        let mut scan = self.clone();
        scan.series[index] = reduced;
        Ok(scan)
    }
}

/// Averages `block` × `block` pixels of a `cols` × `rows` frame into each
/// pixel of `out` (`cols / block` wide); `mean(sum, n)` makes a voxel.
pub(crate) fn block_average<T: Copy>(
    frame: &[T],
    cols: usize,
    block: usize,
    out: &mut [T],
    value: impl Fn(T) -> f64,
    mean: impl Fn(f64, f64) -> T,
) {
    let out_cols = cols / block;
    if out_cols == 0 {
        return;
    }
    let n = (block * block) as f64;
    for (oy, row) in out.chunks_mut(out_cols).enumerate() {
        for (ox, o) in row.iter_mut().enumerate() {
            let mut sum = 0.0;
            for dy in 0..block {
                let start = (oy * block + dy) * cols + ox * block;
                sum += frame[start..start + block]
                    .iter()
                    .map(|&v| value(v))
                    .sum::<f64>();
            }
            *o = mean(sum, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_averaged_and_rounded() {
        // 4 x 2 frame, 2 x 2 blocks: two outputs.
        let frame: [i16; 8] = [0, 1, 10, 20, 2, 3, 30, 41];
        let mut out = [0i16; 2];
        block_average(&frame, 4, 2, &mut out, f64::from, |s, n| {
            (s / n).round() as i16
        });
        assert_eq!(out, [2, 25]);
    }
}
