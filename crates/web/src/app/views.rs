//! The three 2D views: their planes, window/level, crosshair, zoom and pan,
//! and drawing the worker's pixels with orientation letters, crosshair and
//! a scale bar.

use glam::DVec3;
use insitu_volume::reslice::{Plane, ViewAxis};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use super::canvas_size::fitted_size;
use crate::dom::typed;
use crate::protocol::{PlaneMsg, ViewRequest, VolumeSummary};

/// Interaction state shared by the three views.
pub struct Views {
    /// Linked cursor: every view's plane passes through it (LPS mm).
    pub crosshair: DVec3,
    /// Window width, HU.
    pub window: f64,
    /// Window centre, HU.
    pub level: f64,
    zoom: [f64; 3],
    pan_mm: [(f64, f64); 3],
    bounds: (DVec3, DVec3),
    spacing: DVec3,
    /// Planes of the last draw, to map the mouse to patient space.
    planes: [Option<Plane>; 3],
    /// Vertebra names, where to write them and their label.
    pub names: Vec<VertebraName>,
    /// The labels shown now (a name whose segment is gone or hidden is
    /// not written).
    pub present: Vec<u8>,
    /// Write them.
    pub show_names: bool,
    /// Where each body's heights were read, drawn on a view across it.
    pub heights: Vec<BodyHeights>,
    /// Draw them.
    pub show_heights: bool,
    /// The vertebra picked in the spine list (its label): its heights'
    /// values are written beside its lines.
    pub picked_vertebra: Option<u8>,
    /// The measurements, drawn on the views whose plane holds them.
    pub measurements: Vec<insitu_measure::Measurement>,
    /// Clicks of the measurement being drawn.
    pub pending: Vec<DVec3>,
    /// The measurement picked in the list.
    pub selected_measurement: Option<u32>,
}

/// A vertebra's name on the 2D views.
#[derive(Debug, Clone)]
pub struct VertebraName {
    pub name: String,
    /// Where it is written (patient mm): in front of the body.
    pub at: DVec3,
    /// The body's centre (patient mm).
    pub body: DVec3,
    /// The body's axes (unit vectors) with its half-extent along each
    /// (mm); none where the body was not measured.
    pub extent: Option<[(DVec3, f64); 3]>,
    /// Its label in the segments (a hidden segment's name is not written).
    pub label: u8,
}

impl VertebraName {
    /// Whether a plane through `point` across `normal` cuts the body (a
    /// box on its axes): the views such a plane draws write the name. A
    /// body not measured counts as reaching [`NAME_REACH_MM`].
    fn cut_by(&self, point: DVec3, normal: DVec3) -> bool {
        let reach = self.extent.map_or(NAME_REACH_MM, |axes| {
            axes.iter()
                .map(|(axis, half)| axis.dot(normal).abs() * half)
                .sum()
        });
        (self.body - point).dot(normal).abs() <= reach
    }
}

/// A body's three height lines (patient mm) on the 2D views: what its
/// listed heights measured, as a vertebral morphometry's six points show.
#[derive(Debug, Clone)]
pub struct BodyHeights {
    pub name: String,
    /// Its label in the segments (hidden with it).
    pub label: u8,
    /// Front, middle and back, each from the lower endplate to the upper.
    pub lines: [(DVec3, DVec3); 3],
    /// The body's centre, its left–right axis and half-width: a view
    /// across that axis draws the lines (see [`BodyHeights::shown_by`]).
    pub centre: DVec3,
    pub lateral: DVec3,
    pub half_width_mm: f64,
    /// Graded a fracture: drawn in the warning colour.
    pub fractured: bool,
}

impl BodyHeights {
    /// Whether a plane through `point` across `normal` is a sagittal cut
    /// through the middle half of the body's width, where the lines lie
    /// (a bundle's median line is at most a fifth of the half-width aside).
    fn shown_by(&self, point: DVec3, normal: DVec3) -> bool {
        normal.dot(self.lateral).abs() >= 0.9
            && (self.centre - point).dot(normal).abs() <= 0.5 * self.half_width_mm
    }
}

/// The height lines' colour, and a fractured body's.
const HEIGHT_COLOUR: &str = "#4fd1ff";
const FRACTURE_COLOUR: &str = "#ff9f43";

/// How far (mm) a view's plane may pass from the centre of a body not
/// measured for its name to be written there: about half a lumbar body's
/// width or depth, less than the distance between two bodies' centres.
const NAME_REACH_MM: f64 = 20.0;

/// Vertebra names written over a view, the 2D views and the 3D view
/// alike: white and bold, outlined in black so they read on bone and on
/// air; where each went is kept on the canvas (`data-names`) for tests.
pub struct NameWriter<'a> {
    ctx: &'a CanvasRenderingContext2d,
    drawn: Vec<String>,
    /// The text's height, canvas pixels.
    text_px: f64,
}

impl<'a> NameWriter<'a> {
    /// Sets the text style: `px` CSS pixels at `scale` 1.
    pub fn new(ctx: &'a CanvasRenderingContext2d, px: f64, scale: f64) -> Self {
        let text_px = (px * scale).round();
        ctx.set_font(&format!("bold {text_px}px system-ui, sans-serif"));
        ctx.set_text_align("center");
        ctx.set_text_baseline("middle");
        ctx.set_line_width(3.0 * scale);
        ctx.set_stroke_style_str("rgba(0, 0, 0, 0.8)");
        ctx.set_fill_style_str("#ffffff");
        Self {
            ctx,
            drawn: Vec::new(),
            text_px,
        }
    }

    /// Writes `name` centred at (x, y) canvas pixels, moved in as far as
    /// it takes to show whole (a vertebra cut by the scan's edge has its
    /// middle near the view's edge).
    pub fn write(&mut self, name: &str, x: f64, y: f64) {
        let (x, y) = self.inside(name, x, y);
        let _ = self.ctx.stroke_text(name, x, y);
        let _ = self.ctx.fill_text(name, x, y);
        self.drawn.push(format!("{name}:{x:.0},{y:.0}"));
    }

    /// (x, y) moved into the canvas by as much as `name`'s box sticks out.
    fn inside(&self, name: &str, x: f64, y: f64) -> (f64, f64) {
        let Some(canvas) = self.ctx.canvas() else {
            return (x, y);
        };
        let width = self.ctx.measure_text(name).map_or(0.0, |m| m.width());
        let line = self.ctx.line_width();
        let half_w = width / 2.0 + line;
        let half_h = self.text_px / 2.0 + line;
        let clamp = |v: f64, half: f64, size: u32| {
            let size = f64::from(size);
            if size > 2.0 * half {
                v.clamp(half, size - half)
            } else {
                v
            }
        };
        (
            clamp(x, half_w, canvas.width()),
            clamp(y, half_h, canvas.height()),
        )
    }

    /// Records on `canvas` where the names went.
    pub fn finish(self, canvas: &HtmlCanvasElement) {
        crate::dom::set_data(canvas, "names", &self.drawn.join(";"));
    }
}

/// Measurement values written beside their shapes: whole inside the view
/// and clear of the orientation letters and of the values written before
/// them (moved a line down or up at a time), outlined in black so they
/// read on bone and on air. Boxes are canvas pixels: x, y of the top
/// left, width, height.
struct ValueWriter<'a> {
    ctx: &'a CanvasRenderingContext2d,
    size: (f64, f64),
    text_px: f64,
    /// The orientation letters' places ([`Views::overlay`] writes them).
    letters: [[f64; 4]; 4],
    taken: Vec<[f64; 4]>,
}

impl<'a> ValueWriter<'a> {
    fn new(ctx: &'a CanvasRenderingContext2d, plane: &Plane, text_px: f64, scale: f64) -> Self {
        ctx.set_line_width(3.0 * scale);
        ctx.set_stroke_style_str("rgba(0, 0, 0, 0.8)");
        let (w, h) = (f64::from(plane.width), f64::from(plane.height));
        // A letter's box and its margin, as the overlay places them.
        let (pad, side) = (8.0 * scale, 16.0 * scale);
        let letters = [
            [0.0, h / 2.0 - side / 2.0, pad + side, side],
            [w - pad - side, h / 2.0 - side / 2.0, pad + side, side],
            [w / 2.0 - side / 2.0, 0.0, side, pad + 1.5 * side],
            [w / 2.0 - side / 2.0, h - pad - side, side, pad + side],
        ];
        Self {
            ctx,
            size: (w, h),
            text_px: text_px.round(),
            letters,
            taken: Vec::new(),
        }
    }

    /// Writes `text` with its bottom left near (x, y).
    fn write(&mut self, text: &str, x: f64, y: f64, colour: &str) {
        let width = self.ctx.measure_text(text).map_or(0.0, |m| m.width());
        let height = self.text_px + 2.0;
        let (w, h) = self.size;
        let pad = 2.0;
        let x = x.clamp(pad, (w - width - pad).max(pad));
        let inside = |y: f64| y.clamp(height + pad, (h - pad).max(height + pad));
        let free = |y: f64| {
            let b = [x, y - height, width, height];
            !self.taken.iter().chain(&self.letters).any(|t| {
                b[0] < t[0] + t[2] && t[0] < b[0] + b[2] && b[1] < t[1] + t[3] && t[1] < b[1] + b[3]
            })
        };
        let y = [0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0]
            .iter()
            .map(|lines| inside(y + lines * height))
            .find(|&y| free(y))
            .unwrap_or(inside(y));
        self.ctx.set_fill_style_str(colour);
        let _ = self.ctx.stroke_text(text, x, y);
        let _ = self.ctx.fill_text(text, x, y);
        self.taken.push([x, y - height, width, height]);
    }

    /// The boxes written, for tests (`data-value-boxes`).
    fn boxes_text(&self) -> String {
        self.taken
            .iter()
            .map(|b| format!("{:.0},{:.0},{:.0},{:.0}", b[0], b[1], b[2], b[3]))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// Index of a view in per-view arrays.
pub fn slot(axis: ViewAxis) -> usize {
    match axis {
        ViewAxis::Axial => 0,
        ViewAxis::Coronal => 1,
        ViewAxis::Sagittal => 2,
    }
}

/// Puts a view's pixels (RGBA) on its canvas, sized to the view's plane:
/// the canvas, its context and the plane, for what is drawn over them.
pub fn put_pixels(
    request: &ViewRequest,
    rgba: &js_sys::Uint8ClampedArray,
) -> Option<(HtmlCanvasElement, CanvasRenderingContext2d, Plane)> {
    let canvas = canvas(request.axis);
    let plane: Plane = request.plane.into();
    let ctx = crate::dom::context_2d(&canvas, (plane.width, plane.height))?;
    if let Ok(image) =
        ImageData::new_with_js_u8_clamped_array_and_sh(rgba, plane.width, plane.height)
    {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
    Some((canvas, ctx, plane))
}

/// The canvas of a view.
pub fn canvas(axis: ViewAxis) -> HtmlCanvasElement {
    typed(&format!("view-{}", axis.name()))
}

impl Views {
    /// Views centred on a newly loaded volume.
    pub fn new(volume: &VolumeSummary, window: f64, level: f64) -> Self {
        let bounds = (DVec3::from(volume.bounds.0), DVec3::from(volume.bounds.1));
        Self {
            crosshair: (bounds.0 + bounds.1) / 2.0,
            window,
            level,
            zoom: [1.0; 3],
            pan_mm: [(0.0, 0.0); 3],
            bounds,
            spacing: DVec3::from(volume.spacing_mm),
            planes: [None; 3],
            names: Vec::new(),
            present: Vec::new(),
            show_names: true,
            heights: Vec::new(),
            show_heights: true,
            picked_vertebra: None,
            measurements: Vec::new(),
            pending: Vec::new(),
            selected_measurement: None,
        }
    }

    /// Requests for all three views at their canvases' current sizes.
    pub fn requests(&mut self) -> Vec<ViewRequest> {
        ViewAxis::ALL
            .iter()
            .map(|&axis| {
                let size = fitted_size(&canvas(axis));
                let i = slot(axis);
                let plane = Plane::fit_bounds(
                    self.bounds,
                    axis,
                    self.crosshair,
                    size,
                    self.zoom[i],
                    self.pan_mm[i],
                );
                self.planes[i] = Some(plane);
                ViewRequest {
                    axis,
                    plane: PlaneMsg::from(plane),
                    window: self.window,
                    level: self.level,
                }
            })
            .collect()
    }

    /// World point under canvas pixel (x, y) of a view, once it was drawn.
    pub fn world_at(&self, axis: ViewAxis, x: f64, y: f64) -> Option<DVec3> {
        self.planes[slot(axis)].map(|p| p.world_of_pixel(x, y))
    }

    /// The plane a view was last drawn on.
    pub fn plane(&self, axis: ViewAxis) -> Option<Plane> {
        self.planes[slot(axis)]
    }

    /// One wheel notch: the slice moves by a voxel along the view normal.
    pub fn scroll(&mut self, axis: ViewAxis, notches: f64) {
        let (_, _, normal) = axis.basis();
        let step = self.spacing.dot(normal.abs()).max(0.1);
        let moved = self.crosshair + normal * (notches * step);
        let along = moved.dot(normal);
        let (lo, hi) = (self.bounds.0.dot(normal), self.bounds.1.dot(normal));
        self.crosshair = moved + normal * (along.clamp(lo, hi) - along);
    }

    /// Zooms a view by `factor` (>1 magnifies).
    pub fn zoom(&mut self, axis: ViewAxis, factor: f64) {
        let z = &mut self.zoom[slot(axis)];
        *z = (*z * factor).clamp(0.25, 20.0);
    }

    /// Pans a view by a drag of (dx, dy) canvas pixels.
    pub fn pan(&mut self, axis: ViewAxis, dx: f64, dy: f64) {
        let i = slot(axis);
        if let Some(plane) = self.planes[i] {
            self.pan_mm[i].0 += dx * plane.mm_per_pixel;
            self.pan_mm[i].1 += dy * plane.mm_per_pixel;
        }
    }

    /// Back to the fitted view.
    pub fn reset(&mut self, axis: ViewAxis) {
        self.zoom[slot(axis)] = 1.0;
        self.pan_mm[slot(axis)] = (0.0, 0.0);
    }

    /// Draws a view's pixels (RGBA in the browser's memory, as the worker
    /// transferred them) and overlays.
    pub fn draw(&self, request: &ViewRequest, rgba: &js_sys::Uint8ClampedArray) {
        let Some((canvas, ctx, plane)) = put_pixels(request, rgba) else {
            return;
        };
        // Where the pixels lie in patient space, for tests that click a
        // known anatomical point.
        let v = |d: DVec3| format!("[{},{},{}]", d.x, d.y, d.z);
        crate::dom::set_data(
            &canvas,
            "plane",
            &format!(
                "{{\"centre\":{},\"right\":{},\"down\":{},\"mm_per_pixel\":{},\"width\":{},\"height\":{}}}",
                v(plane.centre),
                v(plane.right),
                v(plane.down),
                plane.mm_per_pixel,
                plane.width,
                plane.height
            ),
        );
        self.overlay(&ctx, request.axis, &plane);
    }

    /// Vertebra names in front of their bodies (none when they are not
    /// shown, which `data-names` says too), on the views whose plane cuts
    /// the body (not the name's place, which lies in front of it: a
    /// coronal plane through the bodies is 25–30 mm behind the names).
    fn draw_names(
        &self,
        ctx: &CanvasRenderingContext2d,
        axis: ViewAxis,
        plane: &Plane,
        scale: f64,
    ) {
        let (_, _, normal) = axis.basis();
        let mut names = NameWriter::new(ctx, 13.0, scale);
        for vertebra in shown_if(self.show_names, &self.names) {
            if !self.present.contains(&vertebra.label) || !vertebra.cut_by(plane.centre, normal) {
                continue;
            }
            let (x, y) = plane.pixel_of_world(vertebra.at);
            if x < 0.0 || y < 0.0 || x > f64::from(plane.width) || y > f64::from(plane.height) {
                continue;
            }
            names.write(&vertebra.name, x, y);
        }
        names.finish(&canvas(axis));
    }

    /// The body heights' lines on a view that cuts the bodies'
    /// mid-sagittal planes, a dot at each end (none when they are not
    /// shown); where each went is kept on the canvas (`data-heights`:
    /// name:x0,y0,x1,y1 for front, middle and back) for tests.
    fn draw_heights(
        &self,
        ctx: &CanvasRenderingContext2d,
        axis: ViewAxis,
        plane: &Plane,
        scale: f64,
    ) {
        let (_, _, normal) = axis.basis();
        let mut drawn = Vec::new();
        let mut values = None;
        for body in self.heights_on(plane.centre, normal) {
            // (Writing a value sets a wider line for its outline.)
            ctx.set_line_width(1.5 * scale);
            let colour = if body.fractured {
                FRACTURE_COLOUR
            } else {
                HEIGHT_COLOUR
            };
            ctx.set_stroke_style_str(colour);
            ctx.set_fill_style_str(colour);
            let mut ends = Vec::new();
            for (from, to) in body.lines {
                let (a, b) = (plane.pixel_of_world(from), plane.pixel_of_world(to));
                ctx.begin_path();
                ctx.move_to(a.0, a.1);
                ctx.line_to(b.0, b.1);
                ctx.stroke();
                for (x, y) in [a, b] {
                    ctx.begin_path();
                    let _ = ctx.arc(x, y, 2.5 * scale, 0.0, std::f64::consts::TAU);
                    ctx.fill();
                }
                ends.push(format!("{:.2},{:.2},{:.2},{:.2}", a.0, a.1, b.0, b.1));
            }
            drawn.push(format!("{}:{}", body.name, ends.join(",")));
            if self.picked_vertebra == Some(body.label) {
                values = Some(self.write_heights(ctx, plane, scale, body, colour));
            }
        }
        crate::dom::set_data(&canvas(axis), "heights", &drawn.join(";"));
        crate::dom::set_data(
            &canvas(axis),
            "height-values",
            values.as_deref().unwrap_or(""),
        );
    }

    /// The bodies whose height lines a view's plane through `point` across
    /// `normal` draws: shown, their segment shown, the plane through the
    /// middle of their width.
    pub(super) fn heights_on(
        &self,
        point: DVec3,
        normal: DVec3,
    ) -> impl Iterator<Item = &BodyHeights> {
        shown_if(self.show_heights, &self.heights)
            .iter()
            .filter(move |b| self.present.contains(&b.label) && b.shown_by(point, normal))
    }

    /// Writes `body`'s three heights ("A 25.3 · M 24.2 · P 25.5 mm") beside
    /// its back line, away from its front: what the list says, where the
    /// lines show it. Returns the text, name first.
    fn write_heights(
        &self,
        ctx: &CanvasRenderingContext2d,
        plane: &Plane,
        scale: f64,
        body: &BodyHeights,
        colour: &str,
    ) -> String {
        let [front, middle, back] = body.lines.map(|(from, to)| (to - from).length());
        let text = format!("A {front:.1} · M {middle:.1} · P {back:.1} mm");
        let centre_of = |(from, to): (DVec3, DVec3)| plane.pixel_of_world((from + to) / 2.0);
        let (f, b) = (centre_of(body.lines[0]), centre_of(body.lines[2]));
        ctx.set_font(&format!(
            "bold {}px system-ui, sans-serif",
            (12.0 * scale).round()
        ));
        ctx.set_text_align("left");
        ctx.set_text_baseline("bottom");
        let width = ctx.measure_text(&text).map_or(0.0, |m| m.width());
        let gap = 8.0 * scale;
        let x = if b.0 >= f.0 {
            b.0 + gap
        } else {
            b.0 - gap - width
        };
        ValueWriter::new(ctx, plane, 12.0 * scale, scale).write(&text, x, b.1, colour);
        format!("{}: {text}", body.name)
    }

    /// Measurements in this view's plane (within 1 mm), their values
    /// beside them; the clicks of one being drawn.
    fn draw_measurements(
        &self,
        ctx: &CanvasRenderingContext2d,
        axis: ViewAxis,
        plane: &Plane,
        scale: f64,
    ) {
        use insitu_measure::Shape;
        let (_, _, normal) = axis.basis();
        let px = |p: [f64; 3]| plane.pixel_of_world(DVec3::from(p));
        let line = |a: (f64, f64), b: (f64, f64)| {
            ctx.begin_path();
            ctx.move_to(a.0, a.1);
            ctx.line_to(b.0, b.1);
            ctx.stroke();
        };
        ctx.set_line_width(2.0 * scale);
        ctx.set_font(&format!(
            "bold {}px system-ui, sans-serif",
            (12.0 * scale).round()
        ));
        ctx.set_text_align("left");
        ctx.set_text_baseline("bottom");
        let mut drawn = Vec::new();
        // Written after every shape, so no line crosses a value.
        let mut values = Vec::new();
        for m in &self.measurements {
            if !m.shape.lies_in(plane.centre, normal, 1.0) {
                continue;
            }
            let colour = if self.selected_measurement == Some(m.id) {
                "#ff4fd8"
            } else {
                "#9dff57"
            };
            ctx.set_stroke_style_str(colour);
            ctx.set_fill_style_str(colour);
            let label_at = match m.shape {
                Shape::Distance { a, b } => {
                    line(px(a), px(b));
                    px(b)
                }
                Shape::Angle { a, vertex, c } => {
                    line(px(vertex), px(a));
                    line(px(vertex), px(c));
                    px(vertex)
                }
                Shape::Cobb { first, second } => {
                    let (a0, a1, b0, b1) =
                        (px(first[0]), px(first[1]), px(second[0]), px(second[1]));
                    line(a0, a1);
                    line(b0, b1);
                    draw_arc(ctx, (a0, a1), (b0, b1), 28.0 * scale);
                    // The pair joined midpoint to midpoint, dashed: two
                    // endplates' lines meet far outside the view at the
                    // angles a Cobb measures, and their arc with them.
                    let middle =
                        |p: (f64, f64), q: (f64, f64)| ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
                    let (ma, mb) = (middle(a0, a1), middle(b0, b1));
                    let _ = ctx.set_line_dash(&js_sys::Array::of2(
                        &(6.0 * scale).into(),
                        &(4.0 * scale).into(),
                    ));
                    line(ma, mb);
                    let _ = ctx.set_line_dash(&js_sys::Array::new());
                    middle(ma, mb)
                }
                Shape::Region { centre, u, v } => {
                    let (cx, cy) = px(centre);
                    let (u, v) = (DVec3::from(u), DVec3::from(v));
                    let rotation = u.dot(plane.down).atan2(u.dot(plane.right));
                    ctx.begin_path();
                    let _ = ctx.ellipse(
                        cx,
                        cy,
                        u.length() / plane.mm_per_pixel,
                        v.length() / plane.mm_per_pixel,
                        rotation,
                        0.0,
                        std::f64::consts::TAU,
                    );
                    ctx.stroke();
                    (cx + u.length() / plane.mm_per_pixel, cy)
                }
            };
            values.push((
                super::measure::value_text(m),
                label_at.0 + 6.0 * scale,
                label_at.1 - 4.0 * scale,
                colour,
            ));
            drawn.push(m.id.to_string());
        }
        let mut writer = ValueWriter::new(ctx, plane, 12.0 * scale, scale);
        for (text, x, y, colour) in &values {
            writer.write(text, *x, *y, colour);
        }
        crate::dom::set_data(&canvas(axis), "value-boxes", &writer.boxes_text());
        ctx.set_fill_style_str("#9dff57");
        for p in &self.pending {
            if (*p - plane.centre).dot(normal).abs() <= 1.0 {
                let (x, y) = plane.pixel_of_world(*p);
                ctx.begin_path();
                let _ = ctx.arc(x, y, 3.0 * scale, 0.0, std::f64::consts::TAU);
                ctx.fill();
            }
        }
        // Which measurements this view shows, for tests.
        crate::dom::set_data(&canvas(axis), "measurements", &drawn.join(","));
    }

    fn overlay(&self, ctx: &CanvasRenderingContext2d, axis: ViewAxis, plane: &Plane) {
        let (w, h) = (f64::from(plane.width), f64::from(plane.height));
        let scale = overlay_scale(plane);
        // Crosshair: the other two views' planes.
        let (cx, cy) = plane.pixel_of_world(self.crosshair);
        ctx.set_stroke_style_str("rgba(74, 163, 255, 0.75)");
        ctx.set_line_width(1.0 * scale);
        let gap = 10.0 * scale;
        for (x0, y0, x1, y1) in [
            (0.0, cy, cx - gap, cy),
            (cx + gap, cy, w, cy),
            (cx, 0.0, cx, cy - gap),
            (cx, cy + gap, cx, h),
        ] {
            ctx.begin_path();
            ctx.move_to(x0 + 0.5, y0 + 0.5);
            ctx.line_to(x1 + 0.5, y1 + 0.5);
            ctx.stroke();
        }
        self.draw_heights(ctx, axis, plane, scale);
        self.draw_names(ctx, axis, plane, scale);
        self.draw_measurements(ctx, axis, plane, scale);
        // Orientation letters.
        ctx.set_fill_style_str("#ffd166");
        ctx.set_font(&format!(
            "bold {}px system-ui, sans-serif",
            (14.0 * scale).round()
        ));
        ctx.set_text_baseline("middle");
        let [left, right, top, bottom] = axis.edge_letters();
        let pad = 8.0 * scale;
        ctx.set_text_align("left");
        let _ = ctx.fill_text(left, pad, h / 2.0);
        ctx.set_text_align("right");
        let _ = ctx.fill_text(right, w - pad, h / 2.0);
        ctx.set_text_align("center");
        let _ = ctx.fill_text(top, w / 2.0, pad + 14.0 * scale);
        let _ = ctx.fill_text(bottom, w / 2.0, h - pad);
        // Scale bar: a round length of about a fifth of the width.
        let target_mm = w * plane.mm_per_pixel / 5.0;
        let nice = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
            .into_iter()
            .rev()
            .find(|&l| l <= target_mm)
            .unwrap_or(1.0);
        let bar = nice / plane.mm_per_pixel;
        let (x0, y0) = (pad, h - pad - 4.0 * scale);
        ctx.set_stroke_style_str("#e6e6e6");
        ctx.set_line_width(2.0 * scale);
        ctx.begin_path();
        ctx.move_to(x0, y0);
        ctx.line_to(x0 + bar, y0);
        ctx.move_to(x0, y0 - 4.0 * scale);
        ctx.line_to(x0, y0);
        ctx.move_to(x0 + bar, y0 - 4.0 * scale);
        ctx.line_to(x0 + bar, y0);
        ctx.stroke();
        ctx.set_fill_style_str("#e6e6e6");
        ctx.set_font(&format!(
            "{}px system-ui, sans-serif",
            (11.0 * scale).round()
        ));
        ctx.set_text_align("left");
        let label = if nice >= 10.0 {
            format!("{} cm", nice / 10.0)
        } else {
            format!("{nice} mm")
        };
        let _ = ctx.fill_text(&label, x0, y0 - 10.0 * scale);
        // Slice position along the view normal.
        let (_, _, normal) = axis.basis();
        let axis_name = match axis {
            ViewAxis::Axial => "z",
            ViewAxis::Coronal => "y",
            ViewAxis::Sagittal => "x",
        };
        ctx.set_text_align("right");
        let _ = ctx.fill_text(
            &format!("{axis_name} {:.1} mm", self.crosshair.dot(normal)),
            w - pad,
            h - pad - 4.0 * scale,
        );
    }
}

/// How much larger than on a 400-pixel view lines, dots and text are
/// drawn on a view of `plane`'s size.
pub fn overlay_scale(plane: &Plane) -> f64 {
    (f64::from(plane.width).min(f64::from(plane.height)) / 400.0).clamp(0.75, 2.5)
}

/// `items` where their toggle says they are shown, else none.
fn shown_if<T>(shown: bool, items: &[T]) -> &[T] {
    if shown { items } else { &[] }
}

/// The arc of a Cobb angle where its two lines (screen pixels) meet, over
/// the acute angle between them; nothing when they are (nearly) parallel.
fn draw_arc(
    ctx: &CanvasRenderingContext2d,
    (a0, a1): ((f64, f64), (f64, f64)),
    (b0, b1): ((f64, f64), (f64, f64)),
    radius: f64,
) {
    let (da, db) = ((a1.0 - a0.0, a1.1 - a0.1), (b1.0 - b0.0, b1.1 - b0.1));
    let cross = da.0 * db.1 - da.1 * db.0;
    if cross.abs() < 1e-6 {
        return;
    }
    let t = ((b0.0 - a0.0) * db.1 - (b0.1 - a0.1) * db.0) / cross;
    let (x, y) = (a0.0 + t * da.0, a0.1 + t * da.1);
    let angle = |d: (f64, f64)| d.1.atan2(d.0);
    let (mut s, mut e) = (angle(da), angle(db));
    // The acute pair of directions.
    let mut span = (e - s).rem_euclid(std::f64::consts::TAU);
    if span > std::f64::consts::PI {
        std::mem::swap(&mut s, &mut e);
        span = std::f64::consts::TAU - span;
    }
    if span > std::f64::consts::FRAC_PI_2 {
        s += std::f64::consts::PI;
    }
    e = s + span.min(std::f64::consts::PI - span);
    ctx.begin_path();
    let _ = ctx.arc(x, y, radius, s, e);
    ctx.stroke();
}
