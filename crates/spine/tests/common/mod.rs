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
