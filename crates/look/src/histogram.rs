//! The volume's value histogram the transfer-function editor draws under
//! its curve, so the user sees where air, tissue and bone lie.

/// Counts of values in equal bins over a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Lowest and highest value binned.
    pub domain: (f32, f32),
    /// Count per bin.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// `bins` empty bins over `domain`.
    pub fn new(domain: (f32, f32), bins: usize) -> Self {
        Self {
            domain: (domain.0, domain.1.max(domain.0 + 1.0)),
            counts: vec![0; bins.max(1)],
        }
    }

    /// Counts `values` (those outside the domain in the end bins).
    pub fn add(&mut self, values: impl IntoIterator<Item = f32>) {
        let n = self.counts.len();
        let scale = n as f32 / (self.domain.1 - self.domain.0);
        for v in values {
            let bin = ((v - self.domain.0) * scale).clamp(0.0, (n - 1) as f32) as usize;
            self.counts[bin] += 1;
        }
    }

    /// Bar heights 0..1 on a log scale (air and soft tissue dwarf bone
    /// otherwise); empty bins are 0.
    pub fn log_heights(&self) -> Vec<f32> {
        let top = self.counts.iter().copied().max().unwrap_or(0);
        let log_top = ((top + 1) as f32).ln().max(f32::EPSILON);
        self.counts
            .iter()
            .map(|&c| ((c + 1) as f32).ln() / log_top * f32::from(u8::from(c > 0)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_their_bins_and_heights_are_logarithmic() {
        let mut h = Histogram::new((0.0, 100.0), 10);
        h.add([5.0, 5.0, 15.0, 99.0, -50.0, 500.0]);
        assert_eq!(h.counts, vec![3, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
        let heights = h.log_heights();
        assert_eq!(heights[0], 1.0);
        assert_eq!(heights[2], 0.0);
        assert!(heights[1] > 0.4 && heights[1] < heights[9]);
    }
}
