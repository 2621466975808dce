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
