//! A body's height line dragged by one end on a 2D view: what a reader of
//! vertebral morphometry does where a point lies off the endplate's edge.
//! The end under the mouse is taken, follows the mouse in the body's
//! mid-sagittal plane (the lines are drawn there, values and all), and the
//! line, once let go, goes to the worker, which grades the body on it
//! (`insitu_spine::Revision::SetHeight`).

use glam::DVec3;
use insitu_spine::{HeightAt, HeightLine};
use insitu_volume::reslice::ViewAxis;

use super::views::{Views, overlay_scale};

/// How near a line's end (canvas pixels on a 400-pixel view) the mouse
/// must be to take it: a little more than the end's dot.
const GRIP_PX: f64 = 8.0;

/// The three lines in the order [`super::views::BodyHeights::lines`] holds them.
const LINES: [HeightAt; 3] = [HeightAt::Anterior, HeightAt::Middle, HeightAt::Posterior];

/// One end of one body's height line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grip {
    /// The body's label.
    pub label: u8,
    /// Which line.
    pub at: HeightAt,
    /// Its upper end (on the superior endplate), else its lower.
    pub superior: bool,
}

impl Views {
    /// The end of a drawn height line nearest canvas pixel (x, y) of the
    /// view of `axis`, within [`GRIP_PX`].
    pub fn height_grip_at(&self, axis: ViewAxis, x: f64, y: f64) -> Option<Grip> {
        let plane = self.plane(axis)?;
        let (_, _, normal) = axis.basis();
        let reach = GRIP_PX * overlay_scale(&plane);
        let mut nearest: Option<(f64, Grip)> = None;
        for body in self.heights_on(plane.centre, normal) {
            for (at, (from, to)) in LINES.into_iter().zip(body.lines) {
                for (superior, end) in [(false, from), (true, to)] {
                    let (px, py) = plane.pixel_of_world(end);
                    let distance = (px - x).hypot(py - y);
                    if distance <= reach && nearest.is_none_or(|(d, _)| distance < d) {
                        let grip = Grip {
                            label: body.label,
                            at,
                            superior,
                        };
                        nearest = Some((distance, grip));
                    }
                }
            }
        }
        nearest.map(|(_, grip)| grip)
    }

    /// Moves `grip`'s end to `world` (a point of a view's plane), kept as
    /// far aside as the end was (the body's mid-sagittal plane may lie a
    /// little off the view's); the line it makes now.
    pub fn move_height_end(&mut self, grip: Grip, world: DVec3) -> Option<HeightLine> {
        let body = self.heights.iter_mut().find(|b| b.label == grip.label)?;
        let line = &mut body.lines[LINES.iter().position(|&a| a == grip.at)?];
        let end = if grip.superior {
            &mut line.1
        } else {
            &mut line.0
        };
        *end = world + body.lateral * (*end - world).dot(body.lateral);
        Some(HeightLine {
            from: line.0,
            to: line.1,
        })
    }
}
