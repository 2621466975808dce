//! How noisy a CT is, as the analysis would read it. Thin slices of a
//! thick body (a lumbar CT through the pelvis at 1 mm or less) carry noise
//! of 30–60 HU. The analysis, tested on quiet CTs, read such a CT wrongly
//! voxel by voxel (TotalSegmentator's CT at 1 mm with 32 HU of added
//! noise: its column ran into the pelvis, no sacrum, the levels from
//! nothing); read in blocks averaged over about 2 mm, the noise halves and
//! it reads right (see `grid::Blocks::for_noise`).

use insitu_volume::{Volume, Voxels};

/// Stored slices sampled, spread evenly through the series, and every
/// how many rows and columns of a plane a residual is taken: the estimate
/// runs before each analysis (twice in the browser), and a 512² plane
/// gives tens of thousands of soft-tissue residuals even so.
const SAMPLED_SLICES: usize = 16;
const RESIDUAL_STEP: usize = 2;

/// A voxel's residual (its HU less its eight in-plane neighbours' mean)
/// counts when all nine lie in this range (HU, no air, fat's far side nor
/// bone) and the neighbours' mean is soft tissue, enhanced or not: it is
/// then noise, not an edge.
const SOFT_RANGE_HU: (f32, f32) = (-300.0, 450.0);
const SOFT_MEAN_HU: (f32, f32) = (-20.0, 140.0);

/// Fewest soft-tissue voxels for an estimate: fewer (a tight crop of
/// bone, a phantom of bone in air) say nothing.
const FEWEST_VOXELS: usize = 2000;

/// The noise (HU, a standard deviation) of `volume` read in blocks
/// `sizes[a]` stored voxels long along each stored axis a, from the median
/// absolute residual of soft-tissue voxels in sampled planes of blocks: a
/// residual ignores anatomy that changes smoothly, and the median the
/// edges left. `None` where too little soft tissue is seen to tell.
pub(crate) fn noise_hu(volume: &Volume, sizes: [usize; 3]) -> Option<f32> {
    let d = volume.geometry().dims;
    let stored = [d.x as usize, d.y as usize, d.z as usize];
    match volume.voxels() {
        Voxels::I16(v) => noise_of(v, stored, sizes, f32::from),
        Voxels::F32(v) => noise_of(v, stored, sizes, |hu| hu),
    }
}

/// [`noise_hu`] of voxels of one type, `stored` their dims.
fn noise_of<T: Copy>(
    voxels: &[T],
    stored: [usize; 3],
    sizes: [usize; 3],
    hu: impl Fn(T) -> f32,
) -> Option<f32> {
    let reduced = [0, 1, 2].map(|a| stored[a] / sizes[a]);
    if reduced.iter().any(|&n| n < 3) {
        return None;
    }
    let per_block = (sizes[0] * sizes[1] * sizes[2]) as f32;
    let mut plane = vec![0f32; reduced[0] * reduced[1]];
    let mut residuals = Vec::new();
    let samples = SAMPLED_SLICES.min(reduced[2]);
    for n in 0..samples {
        let k = (2 * n + 1) * reduced[2] / (2 * samples);
        plane.fill(0.0);
        for dk in 0..sizes[2] {
            let slice = (k * sizes[2] + dk) * stored[0] * stored[1];
            for j in 0..reduced[1] * sizes[1] {
                let row = &voxels[slice + j * stored[0]..][..reduced[0] * sizes[0]];
                let out = &mut plane[(j / sizes[1]) * reduced[0]..][..reduced[0]];
                for (o, block) in out.iter_mut().zip(row.chunks_exact(sizes[0])) {
                    *o += block.iter().map(|&v| hu(v)).sum::<f32>();
                }
            }
        }
        plane.iter_mut().for_each(|v| *v /= per_block);
        soft_residuals(&plane, reduced[0], reduced[1], &mut residuals);
    }
    if residuals.len() < FEWEST_VOXELS {
        return None;
    }
    let middle = residuals.len() / 2;
    let (_, median, _) = residuals.select_nth_unstable_by(middle, f32::total_cmp);
    // A normal's median absolute value is 0.6745 σ; a residual of white
    // noise has σ √(1 + 1/8).
    Some(*median / 0.6745 / (1.0f32 + 1.0 / 8.0).sqrt())
}

/// Pushes the absolute residual of every [`RESIDUAL_STEP`]th soft-tissue
/// voxel along the rows and columns of a plane `ni` × `nj`.
fn soft_residuals(plane: &[f32], ni: usize, nj: usize, out: &mut Vec<f32>) {
    for j in (1..nj - 1).step_by(RESIDUAL_STEP) {
        for i in (1..ni - 1).step_by(RESIDUAL_STEP) {
            let mut sum = 0f32;
            let mut inside = true;
            for dj in 0..3 {
                for di in 0..3 {
                    let v = plane[(j + dj - 1) * ni + i + di - 1];
                    inside &= (SOFT_RANGE_HU.0..=SOFT_RANGE_HU.1).contains(&v);
                    sum += v;
                }
            }
            let v = plane[j * ni + i];
            let mean = (sum - v) / 8.0;
            if inside && (SOFT_MEAN_HU.0..=SOFT_MEAN_HU.1).contains(&mean) {
                out.push((v - mean).abs());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::{DVec3, UVec3};
    use insitu_volume::Geometry;

    /// A 64³ volume of 1 mm voxels, `hu(n, noise)` at voxel n with a
    /// standard normal `noise`.
    fn volume(hu: impl Fn(usize, f32) -> f32) -> Volume {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let voxels = (0..64 * 64 * 64)
            .map(|n| {
                let (a, b) = (uniform(), uniform());
                let normal = (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos();
                hu(n, normal as f32).round() as i16
            })
            .collect();
        let steps = [DVec3::X, DVec3::Y, DVec3::Z];
        let geometry = Geometry::new(UVec3::splat(64), steps, DVec3::ZERO).expect("a grid");
        Volume::new(geometry, Voxels::I16(voxels)).expect("a volume")
    }

    #[test]
    fn white_noise_on_soft_tissue_is_measured_and_averages_down_in_blocks() {
        // Muscle at 50 HU, with a bright bar (bone) whose edges the
        // median leaves out.
        let ct = volume(|n, z| if n % 64 < 8 { 700.0 } else { 50.0 } + 30.0 * z);
        let single = noise_hu(&ct, [1, 1, 1]).expect("soft tissue");
        assert!((single - 30.0).abs() < 3.0, "{single}");
        // Eight voxels averaged: σ / √8.
        let blocks = noise_hu(&ct, [2, 2, 2]).expect("soft tissue");
        assert!((blocks - 30.0 / 8f32.sqrt()).abs() < 1.5, "{blocks}");
    }

    #[test]
    fn without_soft_tissue_the_noise_is_not_told() {
        let bone_in_air = volume(|n, z| if n % 64 < 32 { 700.0 } else { -1000.0 } + 30.0 * z);
        assert_eq!(noise_hu(&bone_in_air, [1, 1, 1]), None);
    }
}
