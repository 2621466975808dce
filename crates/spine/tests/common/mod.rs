//! Helpers shared by the spine's integration tests.
// Each test binary compiles this module and uses part of it.
#![allow(dead_code)]

/// How label `a` of `ours` and label `b` of `theirs` (the same grid) overlap.
pub struct Overlap {
    pub both: usize,
    pub ours: usize,
    pub theirs: usize,
}

impl Overlap {
    pub fn of(ours: &[u8], a: u8, theirs: &[u8], b: u8) -> Self {
        let mut o = Overlap {
            both: 0,
            ours: 0,
            theirs: 0,
        };
        for (&x, &y) in ours.iter().zip(theirs) {
            o.ours += usize::from(x == a);
            o.theirs += usize::from(y == b);
            o.both += usize::from(x == a && y == b);
        }
        o
    }

    pub fn dice(&self) -> f64 {
        2.0 * self.both as f64 / (self.ours + self.theirs).max(1) as f64
    }
}

/// The vertebrae's names, top down.
pub fn names(spine: &insitu_spine::Spine) -> Vec<&str> {
    spine.vertebrae.iter().map(|v| v.name.as_str()).collect()
}

/// The vertebra named `name` (a panic listing the names there are if none).
pub fn by_name<'a>(spine: &'a insitu_spine::Spine, name: &str) -> &'a insitu_spine::Vertebra {
    spine
        .vertebrae
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("{name} in {:?}", names(spine)))
}

/// The largest series of the DICOM files under `dir`, loaded.
pub fn largest_series(dir: &std::path::Path) -> insitu_volume::Volume {
    let files = insitu_volume::files_under(dir).expect("the series' files");
    let scan = insitu_volume::scan(&files);
    scan.build(scan.largest_series().expect("a series"), &files)
        .expect("loads")
        .volume
}

/// `merged` (the first analysis with `upper` and `lower` merged) split
/// again by a click on the disc the first analysis found between them.
pub fn split_at_hidden_disc(
    volume: &insitu_volume::Volume,
    first: &insitu_spine::Spine,
    merged: &insitu_spine::Analysis,
    upper: &insitu_spine::Vertebra,
    lower: &insitu_spine::Vertebra,
) -> insitu_spine::Analysis {
    let mid = |v: &insitu_spine::Vertebra| v.frame.expect("a body").centre;
    let (upper, lower) = (mid(upper), mid(lower));
    let disc = first
        .discs
        .iter()
        .map(|(c, _)| glam::DVec3::from_array(*c))
        .find(|c| c.z < upper.z && c.z > lower.z)
        .expect("the disc between the two");
    insitu_spine::revise(
        volume,
        &merged.labelmap,
        &merged.spine,
        insitu_spine::Revision::SplitAt {
            point: disc.to_array(),
        },
    )
    .expect("split")
}

/// `volume` plus Gaussian noise of about `sd` HU, correlated like a CT's
/// (white noise blurred by σ 0.7 voxel and scaled back to `sd`), drawn
/// from `seed`.
pub fn with_noise(volume: &insitu_volume::Volume, sd: f32, seed: u64) -> insitu_volume::Volume {
    let dims = volume.geometry().dims.to_array().map(|n| n as usize);
    let insitu_volume::Voxels::I16(hu) = volume.voxels() else {
        panic!("integer HU");
    };
    let mut state: u64 = seed;
    let mut uniform = || ((xorshift(&mut state) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let noise: Vec<f32> = (0..hu.len())
        .map(|_| {
            let (a, b) = (uniform(), uniform());
            ((-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()) as f32
        })
        .collect();
    let noise = blurred_like_the_scan(noise, dims);
    let var = noise.iter().map(|x| x * x).sum::<f32>() / noise.len() as f32;
    let scale = sd / var.sqrt();
    let voxels = hu
        .iter()
        .zip(&noise)
        .map(|(&v, &n)| (f32::from(v) + n * scale).round() as i16)
        .collect();
    insitu_volume::Volume::new(*volume.geometry(), insitu_volume::Voxels::I16(voxels))
        .expect("a volume")
}

/// The next of Marsaglia's xorshift64 draws from `state` (not 0): the
/// tests' own repeatable random numbers, no crate needed.
pub fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `values` on a grid of `dims` blurred by a Gaussian of σ 0.7 voxel: the
/// softness of this scan's own edges, and the grain of its noise.
pub fn blurred_like_the_scan(mut values: Vec<f32>, dims: [usize; 3]) -> Vec<f32> {
    let kernel: Vec<f32> = (-3i32..=3)
        .map(|x| (-(x * x) as f32 / (2.0 * 0.49)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let strides = [1, dims[0], dims[0] * dims[1]];
    for axis in 0..3 {
        values = (0..values.len())
            .map(|n| {
                let at = n / strides[axis] % dims[axis];
                (-3i64..=3)
                    .zip(&kernel)
                    .map(|(d, w)| {
                        let m = (at as i64 + d).clamp(0, dims[axis] as i64 - 1) as usize;
                        w * values[n + m * strides[axis] - at * strides[axis]]
                    })
                    .sum::<f32>()
                    / total
            })
            .collect();
    }
    values
}
