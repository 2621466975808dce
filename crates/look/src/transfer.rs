//! Transfer functions: colour and opacity as piecewise-linear curves over the
//! voxel values, moved (`shift`) and stretched (`scale`) like a window, and
//! baked into a table for the GPU.

use serde::{Deserialize, Serialize};

/// Entries of a baked table: 2 HU per entry over CT's 4,096-value range,
/// and within every GPU's 2D texture limit (WebGL2 guarantees 2,048).
pub const LUT_SIZE: usize = 2048;

/// One control point of the editor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Voxel value (HU for CT).
    pub value: f32,
    /// Opacity of a 1 mm thick layer of this value (0..1), so the image
    /// does not change with the volume's spacing or the ray's step.
    pub opacity: f32,
    /// Linear RGB, 0..1.
    pub color: [f32; 3],
}

/// Colour and opacity over the voxel values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferFunction {
    /// Control points by increasing value; values outside them take the
    /// nearest end's colour and opacity.
    pub points: Vec<Point>,
    /// Moves every point by this many value units (drag sideways).
    pub shift: f32,
    /// Stretches the points about their centre (drag up and down); 1 as
    /// defined.
    pub scale: f32,
}

impl TransferFunction {
    /// Points as given, no shift or scale.
    pub fn new(points: Vec<Point>) -> Self {
        Self {
            points,
            shift: 0.0,
            scale: 1.0,
        }
    }

    /// A grey ramp from black at `low` to white at `high` (for MIP, MinIP
    /// and the average), fully opaque.
    pub fn grey_ramp(low: f32, high: f32) -> Self {
        Self::new(vec![
            Point {
                value: low,
                opacity: 1.0,
                color: [0.0; 3],
            },
            Point {
                value: high,
                opacity: 1.0,
                color: [1.0; 3],
            },
        ])
    }

    /// At least two finite points in increasing order, opacities and
    /// colours within 0..1, a positive scale.
    pub fn is_valid(&self) -> bool {
        let unit = |x: f32| (0.0..=1.0).contains(&x);
        self.points.len() >= 2
            && self.points.windows(2).all(|w| w[0].value <= w[1].value)
            && self
                .points
                .iter()
                .all(|p| p.value.is_finite() && unit(p.opacity) && p.color.iter().all(|&c| unit(c)))
            && self.shift.is_finite()
            && self.scale.is_finite()
            && self.scale > 0.0
    }

    /// Where the points are once shifted and scaled (what the editor draws).
    pub fn placed(&self) -> Vec<Point> {
        let (Some(first), Some(last)) = (self.points.first(), self.points.last()) else {
            return Vec::new();
        };
        let centre = (first.value + last.value) / 2.0;
        self.points
            .iter()
            .map(|p| Point {
                value: centre + (p.value - centre) * self.scale + self.shift,
                ..*p
            })
            .collect()
    }

    /// Colour and opacity at `value` (RGB, opacity per mm).
    pub fn at(&self, value: f32) -> [f32; 4] {
        sample(&self.placed(), value)
    }

    /// The table the renderer samples: [`LUT_SIZE`] entries spread evenly
    /// over `domain` (entry `i` at value `low + (i + 0.5)·width/LUT_SIZE`).
    pub fn baked(&self, domain: (f32, f32)) -> Vec<[f32; 4]> {
        let placed = self.placed();
        let width = (domain.1 - domain.0).max(f32::EPSILON);
        (0..LUT_SIZE)
            .map(|i| {
                sample(
                    &placed,
                    domain.0 + (i as f32 + 0.5) * width / LUT_SIZE as f32,
                )
            })
            .collect()
    }

    /// Moves and stretches like a window drag: `dx` value units sideways,
    /// `dy` as a factor on the scale (`exp(dy)`, so up and down undo each
    /// other).
    pub fn dragged(&self, dx: f32, dy: f32) -> Self {
        Self {
            shift: self.shift + dx,
            scale: (self.scale * dy.exp()).clamp(0.05, 20.0),
            ..self.clone()
        }
    }
}

/// Piecewise-linear interpolation of `points` at `value`, ends held.
fn sample(points: &[Point], value: f32) -> [f32; 4] {
    let rgba = |p: &Point| [p.color[0], p.color[1], p.color[2], p.opacity];
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return [0.0; 4];
    };
    if value <= first.value {
        return rgba(first);
    }
    if value >= last.value {
        return rgba(last);
    }
    let after = points
        .partition_point(|p| p.value <= value)
        .min(points.len() - 1);
    let (a, b) = (&points[after - 1], &points[after]);
    let t = if b.value > a.value {
        (value - a.value) / (b.value - a.value)
    } else {
        1.0
    };
    let (a, b) = (rgba(a), rgba(b));
    std::array::from_fn(|i| a[i] + (b[i] - a[i]) * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> TransferFunction {
        TransferFunction::new(vec![
            Point {
                value: 0.0,
                opacity: 0.0,
                color: [0.0, 0.0, 0.0],
            },
            Point {
                value: 100.0,
                opacity: 1.0,
                color: [1.0, 0.5, 0.0],
            },
        ])
    }

    #[test]
    fn values_between_points_interpolate_and_ends_are_held() {
        let tf = ramp();
        assert_eq!(tf.at(50.0), [0.5, 0.25, 0.0, 0.5]);
        assert_eq!(tf.at(-500.0), [0.0, 0.0, 0.0, 0.0]);
        assert_eq!(tf.at(500.0), [1.0, 0.5, 0.0, 1.0]);
    }

    #[test]
    fn shift_and_scale_move_the_curve_like_a_window() {
        // Shifted by 100: the ramp now runs 100..200.
        let shifted = ramp().dragged(100.0, 0.0);
        assert_eq!(shifted.at(150.0)[3], 0.5);
        assert_eq!(shifted.at(100.0)[3], 0.0);
        // Scaled by 2 about its centre (50): it runs −50..150.
        let wide = ramp().dragged(0.0, 2f32.ln());
        assert!((wide.at(50.0)[3] - 0.5).abs() < 1e-5);
        assert!((wide.at(-50.0)[3]).abs() < 1e-5);
        assert!((wide.at(150.0)[3] - 1.0).abs() < 1e-5);
        // Up then down is where it started.
        let back = wide.dragged(0.0, -(2f32.ln()));
        assert!((back.scale - 1.0).abs() < 1e-6);
    }

    #[test]
    fn the_baked_table_samples_bin_centres_over_the_domain() {
        let table = ramp().baked((0.0, 100.0));
        assert_eq!(table.len(), LUT_SIZE);
        let step = 100.0 / LUT_SIZE as f32;
        for (i, entry) in table.iter().enumerate() {
            let value = (i as f32 + 0.5) * step;
            assert!((entry[3] - value / 100.0).abs() < 1e-4, "{i}");
        }
    }

    #[test]
    fn invalid_curves_are_told_apart() {
        assert!(ramp().is_valid());
        let mut reversed = ramp();
        reversed.points.reverse();
        assert!(!reversed.is_valid());
        let mut bright = ramp();
        bright.points[1].opacity = 1.5;
        assert!(!bright.is_valid());
        let mut flat = ramp();
        flat.scale = 0.0;
        assert!(!flat.is_valid());
    }
}
