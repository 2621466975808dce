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

/// What [`carved`] carves into a vertebral body.
pub enum Carving {
    /// A pit 5 mm deep and `radius_mm` in radius under the upper
    /// endplate's middle, round-bottomed.
    Pit { radius_mm: f64 },
    /// Both endplates sagging into the body as dishes `depth_mm` deep in
    /// the middle, level at the body's rim.
    Dishes { depth_mm: f64 },
}

/// `volume` with `vertebra`'s body (its label in `labels`) carved as
/// `carving` says: disc (90 HU) fills the carving from its endplate's
/// place, and a rim of sclerotic bone (600 HU), 1 mm or a voxel thick,
/// lines it.
pub fn carved(
    volume: &insitu_volume::Volume,
    labels: &[u8],
    vertebra: &insitu_spine::Vertebra,
    carving: Carving,
) -> insitu_volume::Volume {
    let f = vertebra.frame.expect("a frame");
    let g = *volume.geometry();
    let dims = g.dims.to_array().map(|n| n as usize);
    let label_at = |p: glam::DVec3| {
        let q = g.index_of(p).round();
        let inside = (0..3).all(|a| q[a] >= 0.0 && q[a] < dims[a] as f64);
        inside.then(|| labels[(q.z as usize * dims[1] + q.y as usize) * dims[0] + q.x as usize])
    };
    // How far the body's label runs from its mid-plane at (ahead, aside)
    // mm, up (sign 1) or down (-1).
    let end = |ahead: f64, aside: f64, sign: f64| {
        let base = f.centre + f.anterior * ahead + f.lateral * aside;
        (label_at(base) == Some(vertebra.label)).then(|| {
            let mut t = 0.0;
            while t < 40.0 && label_at(base + f.up * (sign * (t + 0.25))) == Some(vertebra.label) {
                t += 0.25;
            }
            t
        })
    };
    // The carving's depth at (ahead, aside) below the endplate `sign`.
    let depth = |ahead: f64, aside: f64, sign: f64| match carving {
        Carving::Pit { radius_mm } => {
            let r2 = (ahead * ahead + aside * aside) / (radius_mm * radius_mm);
            (sign > 0.0 && r2 < 1.0).then(|| 5.0 * (1.0 - r2).sqrt())
        }
        Carving::Dishes { depth_mm } => {
            let r2 = (ahead / f.half_depth_mm).powi(2) + (aside / f.half_width_mm).powi(2);
            (r2 < 1.0).then_some(depth_mm * (1.0 - r2))
        }
    };
    let insitu_volume::Voxels::I16(hu) = volume.voxels() else {
        panic!("integer HU");
    };
    let mut hu = hu.clone();
    // On thick slices a 1 mm rim falls between voxel centres, and the
    // carving would have no floor: a voxel thick at least.
    let rim_mm = g.spacing().max_element().max(1.0);
    let centre = g.index_of(f.centre);
    let reach = g.spacing().recip() * 40.0;
    let range = |a: usize| {
        let lo = (centre[a] - reach[a]).max(0.0) as usize;
        lo..((centre[a] + reach[a]) as usize).min(dims[a])
    };
    for k in range(2) {
        for j in range(1) {
            for i in range(0) {
                let p = g.world_of(glam::DVec3::new(i as f64, j as f64, k as f64)) - f.centre;
                let (ahead, aside, up) = (p.dot(f.anterior), p.dot(f.lateral), p.dot(f.up));
                for sign in [1.0, -1.0] {
                    let Some(d) = depth(ahead, aside, sign) else {
                        continue;
                    };
                    let Some(top) = end(ahead, aside, sign) else {
                        continue;
                    };
                    let s = up * sign;
                    let n = (k * dims[1] + j) * dims[0] + i;
                    if s > top - d && s <= top + 1.0 {
                        hu[n] = 90;
                    } else if s > top - d - rim_mm && s <= top - d {
                        hu[n] = 600;
                    }
                }
            }
        }
    }
    insitu_volume::Volume::new(g, insitu_volume::Voxels::I16(hu)).expect("a volume")
}
