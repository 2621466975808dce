//! The 3D rendering panel: the preset menu's entries, the transfer-function
//! editor over the volume's histogram (drag the background to move the
//! curve sideways and widen it up and down, drag a point to reshape it,
//! pick its colour, double-click to add or remove a point), lighting, the
//! clip plane (also moved by alt-dragging the 3D view), and keeping the
//! look on this computer (numbers only, unless the user keeps nothing).

use std::cell::Cell;

use insitu_look::{ClipPlane, Look, Point, Preset};
use insitu_volume::reslice::ViewAxis;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement, PointerEvent};

use super::app;
use super::scene::Mode;
use crate::dom::{by_test_id, element, on, set_data, set_enabled, typed};

/// Where each preset's look is kept (localStorage), one key per preset so
/// editing the bone look leaves the soft-tissue one as the user left it.
fn kept_key(preset: Preset) -> String {
    format!("insitu.look.{}", preset.word())
}

/// Where the one look of earlier versions was kept (read once, then gone).
const LEGACY_KEPT: &str = "insitu.look";

/// Grab radius of a point, CSS pixels.
const GRAB_PX: f64 = 7.0;

/// What a drag on the editor moves.
#[derive(Debug, Clone, Copy)]
enum Drag {
    /// The whole curve: sideways shifts, up and down scales.
    Curve { x: f64, y: f64 },
    /// One point (index into the placed points).
    Point(usize),
}

/// How an edit is drawn: a drag's many small edits as drag frames (the
/// view finishes finely once they stop), a single change finely at once.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Redraw {
    Fine,
    Moving,
}

thread_local! {
    static DRAG: Cell<Option<Drag>> = const { Cell::new(None) };
    /// The point last grabbed: the colour picker recolours it.
    static SELECTED: Cell<Option<usize>> = const { Cell::new(None) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// `preset`'s look kept from an earlier visit, if any.
fn kept(preset: Preset) -> Option<Look> {
    let s = storage()?;
    let text = s
        .get_item(&kept_key(preset))
        .ok()
        .flatten()
        .or_else(|| s.get_item(LEGACY_KEPT).ok().flatten())?;
    Look::from_json(&text).filter(|look| look.preset == preset)
}

/// Keeps `look` for the next visit under its preset, unless the user keeps
/// nothing here.
fn keep(look: &Look) {
    if super::storage::keep_nothing() {
        return;
    }
    if let Some(s) = storage() {
        let _ = s.set_item(&kept_key(look.preset), &look.to_json());
        let _ = s.remove_item(LEGACY_KEPT);
    }
}

/// Forgets every kept look (the user chose to keep nothing).
pub fn forget() {
    if let Some(s) = storage() {
        for preset in Preset::ALL {
            let _ = s.remove_item(&kept_key(preset));
        }
        let _ = s.remove_item(LEGACY_KEPT);
    }
}

/// How `preset` starts over values in `domain`: as the user left it last
/// time, or as defined.
pub fn starting(preset: Preset, domain: (f32, f32)) -> Look {
    kept(preset).unwrap_or_else(|| preset.look(domain))
}

/// The preset the "by modality" entry stands for now.
pub fn resolve(name: &str) -> Mode {
    if name == "volume" {
        let modality = app().volume.borrow().as_ref().map(|v| v.modality);
        return Mode::Volume(Preset::for_modality(
            modality.unwrap_or(insitu_volume::Modality::Ct),
        ));
    }
    Mode::from_name(name)
}

/// Fills the menu and hooks up the panel.
pub fn wire() {
    let menu: HtmlSelectElement = typed("render-mode");
    let auto = element("option", "Volume (by modality)");
    let _ = auto.set_attribute("value", "volume");
    let _ = menu.append_child(&auto);
    for preset in Preset::ALL {
        let option = element("option", preset.label());
        let _ = option.set_attribute("value", preset.word());
        let _ = menu.append_child(&option);
    }
    let canvas: HtmlCanvasElement = typed("tf-editor");
    on(&canvas, "pointerdown", |e: PointerEvent| pointer_down(&e));
    on(&canvas, "pointermove", |e: PointerEvent| pointer_move(&e));
    on(&canvas, "pointerup", |_: PointerEvent| end_drag());
    on(&canvas, "pointercancel", |_: PointerEvent| end_drag());
    on(&canvas, "dblclick", |e: web_sys::MouseEvent| {
        double_click(&e)
    });
    on(&by_test_id("tf-reset"), "click", |_: web_sys::Event| {
        SELECTED.with(|s| s.set(None));
        edit(|look, domain| *look = look.preset.look(domain));
    });
    on(&by_test_id("tf-lighting"), "change", |_: web_sys::Event| {
        let on = typed::<HtmlInputElement>("tf-lighting").checked();
        edit(move |look, _| look.lighting.enabled = on);
    });
    // Sliding draws drag frames; letting go draws the fine one.
    on(&by_test_id("tf-occlusion"), "input", |_: web_sys::Event| {
        let strength = occlusion_from_control();
        edit_moving(move |look, _| look.lighting.occlusion = strength);
    });
    on(
        &by_test_id("tf-occlusion"),
        "change",
        |_: web_sys::Event| {
            let strength = occlusion_from_control();
            edit(move |look, _| look.lighting.occlusion = strength);
        },
    );
    for id in ["clip-axis", "clip-position", "clip-flip"] {
        on(&by_test_id(id), "input", |_: web_sys::Event| {
            let clip = clip_from_controls();
            edit_moving(move |look, _| look.clip = clip);
        });
    }
    on(&by_test_id("tf-color"), "input", |_: web_sys::Event| {
        let (Some(i), Some(rgb)) = (
            SELECTED.with(Cell::get),
            parse_hex(&typed::<HtmlInputElement>("tf-color").value()),
        ) else {
            return;
        };
        edit_moving(move |look, _| {
            bake_placement(look);
            if let Some(p) = look.transfer.points.get_mut(i) {
                p.color = rgb;
            }
        });
    });
}

/// Whether a clip plane is set on the volume shown (alt-drag in 3D moves it).
pub fn has_clip() -> bool {
    app().scene.borrow().as_ref().is_some_and(|s| {
        matches!(s.mode, Mode::Volume(_)) && s.look.as_ref().is_some_and(|l| l.clip.is_some())
    })
}

/// Moves the clip plane by `delta` box units along its normal (a drag in
/// the 3D view), keeping the slider in step.
pub fn move_clip(delta: f32) {
    edit_moving(move |look, _| {
        if let Some(c) = &mut look.clip {
            c.offset = (c.offset + delta).clamp(-0.9, 0.9);
        }
    });
    let clip = app()
        .scene
        .borrow()
        .as_ref()
        .and_then(|s| s.look.as_ref()?.clip);
    if let Some(c) = clip {
        let flipped = c.normal.iter().sum::<f32>() < 0.0;
        let position = if flipped { -c.offset } else { c.offset };
        typed::<HtmlInputElement>("clip-position").set_value(&position.to_string());
    }
}

/// Shift and scale become part of the points (so a point is edited where
/// it is drawn).
fn bake_placement(look: &mut Look) {
    look.transfer.points = look.transfer.placed();
    look.transfer.shift = 0.0;
    look.transfer.scale = 1.0;
}

/// `#rrggbb` as 0..1 channels.
fn parse_hex(hex: &str) -> Option<[f32; 3]> {
    let hex = hex.strip_prefix('#')?;
    let channel = |i: usize| {
        u8::from_str_radix(hex.get(i..i + 2)?, 16)
            .ok()
            .map(|c| f32::from(c) / 255.0)
    };
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// `#rrggbb`: the colour picker's value, and a CSS colour for the chart.
fn hex_of(rgb: [f32; 3]) -> String {
    let [r, g, b] = rgb.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The 2D view the clip plane follows, if the user chose one.
fn followed_view() -> Option<ViewAxis> {
    let chosen = typed::<HtmlSelectElement>("clip-axis").value();
    ViewAxis::ALL.into_iter().find(|a| a.name() == chosen)
}

/// The plane of 2D view `axis` through the crosshair, keeping the side
/// away from the camera (the cut face towards the user), or the other
/// side when flipped.
fn view_clip(axis: ViewAxis) -> Option<ClipPlane> {
    let app = app();
    let crosshair = app.views.borrow().as_ref()?.crosshair;
    let scene = app.scene.borrow();
    let scene = scene.as_ref()?;
    let (_, _, normal) = axis.basis();
    let eye = scene.orbit?.eye().as_dvec3();
    let facing_eye = normal.dot(eye - crosshair) > 0.0;
    let flip = typed::<HtmlInputElement>("clip-flip").checked();
    let kept = if facing_eye != flip { -normal } else { normal };
    ClipPlane::through(crosshair, kept, scene.box_to_world()?)
}

/// The 2D views moved: a clip plane that follows one moves with it.
pub fn follow_views() {
    let Some(axis) = followed_view() else {
        return;
    };
    let volume_shown = app()
        .scene
        .borrow()
        .as_ref()
        .is_some_and(|s| matches!(s.mode, Mode::Volume(_)));
    if volume_shown {
        let clip = view_clip(axis);
        edit_moving(move |look, _| look.clip = clip);
    }
}

/// The clip plane the controls describe.
fn clip_from_controls() -> Option<ClipPlane> {
    if let Some(axis) = followed_view() {
        return view_clip(axis);
    }
    let axis = match typed::<HtmlSelectElement>("clip-axis").value().as_str() {
        "x" => 0,
        "y" => 1,
        "z" => 2,
        _ => return None,
    };
    let position: f32 = typed::<HtmlInputElement>("clip-position")
        .value()
        .parse()
        .unwrap_or(0.0);
    let flip = typed::<HtmlInputElement>("clip-flip").checked();
    Some(ClipPlane::across_axis(axis, position, flip))
}

fn occlusion_from_control() -> f32 {
    typed::<HtmlInputElement>("tf-occlusion")
        .value()
        .parse::<f32>()
        .map_or(0.0, |v| v.clamp(0.0, 1.0))
}

/// Sets the panel's controls from `look` (a new mode or a kept look).
pub fn show(look: Option<&Look>) {
    by_test_id("look-panel").set_hidden(look.is_none());
    SELECTED.with(|s| s.set(None));
    set_enabled("tf-color", false);
    let Some(look) = look else {
        return;
    };
    typed::<HtmlInputElement>("tf-lighting").set_checked(look.lighting.enabled);
    typed::<HtmlInputElement>("tf-occlusion").set_value(&look.lighting.occlusion.to_string());
    let (axis, position, flip) = match look.clip {
        Some(c) => {
            let axis = (0..3)
                .max_by(|&a, &b| c.normal[a].abs().total_cmp(&c.normal[b].abs()))
                .unwrap_or(0);
            let flip = c.normal[axis] < 0.0;
            let position = if flip { -c.offset } else { c.offset };
            (["x", "y", "z"][axis], position, flip)
        }
        None => ("none", 0.0, false),
    };
    if followed_view().is_none() || look.clip.is_none() {
        typed::<HtmlSelectElement>("clip-axis").set_value(axis);
    }
    typed::<HtmlInputElement>("clip-position").set_value(&position.to_string());
    typed::<HtmlInputElement>("clip-flip").set_checked(flip);
    report(look);
    draw_editor();
}

/// Changes the look, keeps it, redraws the editor and the 3D view finely.
fn edit(change: impl FnOnce(&mut Look, (f32, f32))) {
    apply(change, Redraw::Fine);
}

/// [`edit`] during a drag: drawn as drag frames.
fn edit_moving(change: impl FnOnce(&mut Look, (f32, f32))) {
    apply(change, Redraw::Moving);
}

fn apply(change: impl FnOnce(&mut Look, (f32, f32)), redraw: Redraw) {
    let app = app();
    let look = {
        let mut scene = app.scene.borrow_mut();
        let Some(scene) = scene.as_mut() else {
            return;
        };
        let Some(mut look) = scene.look.clone() else {
            return;
        };
        change(&mut look, scene.domain());
        scene.set_look(look.clone());
        match redraw {
            Redraw::Fine => scene.draw(),
            Redraw::Moving => scene.draw_moving(),
        }
        look
    };
    keep(&look);
    report(&look);
    draw_editor();
}

/// The look's numbers on the editor, for tests to read.
fn report(look: &Look) {
    let canvas: HtmlCanvasElement = typed("tf-editor");
    set_data(&canvas, "preset", look.preset.word());
    set_data(&canvas, "shift", &look.transfer.shift.to_string());
    set_data(&canvas, "scale", &look.transfer.scale.to_string());
    set_data(&canvas, "points", &look.transfer.points.len().to_string());
    let clip = look.clip.map_or("none".to_owned(), |c| {
        format!(
            "{:.3},{:.3},{:.3};{:.4}",
            c.normal[0], c.normal[1], c.normal[2], c.offset
        )
    });
    set_data(&canvas, "clip", &clip);
}

/// The editor's size in CSS pixels and the value ↔ x mapping.
struct Frame {
    width: f64,
    height: f64,
    domain: (f32, f32),
}

impl Frame {
    fn now(canvas: &HtmlCanvasElement) -> Option<Self> {
        let domain = app().scene.borrow().as_ref()?.domain();
        Some(Self {
            width: f64::from(canvas.client_width().max(1)),
            height: f64::from(canvas.client_height().max(1)),
            domain,
        })
    }

    fn x_of(&self, value: f32) -> f64 {
        f64::from(value - self.domain.0) / f64::from(self.domain.1 - self.domain.0) * self.width
    }

    fn value_of(&self, x: f64) -> f32 {
        self.domain.0 + (x / self.width) as f32 * (self.domain.1 - self.domain.0)
    }

    /// Opacity on a square-root scale: the small per-mm opacities of soft
    /// tissue are where the editing happens.
    fn y_of(&self, opacity: f32) -> f64 {
        (1.0 - f64::from(opacity).sqrt()) * (self.height - 8.0) + 4.0
    }

    fn opacity_of(&self, y: f64) -> f32 {
        let t = (1.0 - (y - 4.0) / (self.height - 8.0)).clamp(0.0, 1.0);
        (t * t) as f32
    }
}

fn placed_points() -> Vec<Point> {
    app()
        .scene
        .borrow()
        .as_ref()
        .and_then(|s| s.look.as_ref().map(|l| l.transfer.placed()))
        .unwrap_or_default()
}

/// The point under (x, y), if any.
fn point_at(frame: &Frame, x: f64, y: f64) -> Option<usize> {
    placed_points()
        .iter()
        .position(|p| (frame.x_of(p.value) - x).hypot(frame.y_of(p.opacity) - y) <= GRAB_PX)
}

fn pointer_down(e: &PointerEvent) {
    let canvas: HtmlCanvasElement = typed("tf-editor");
    let Some(frame) = Frame::now(&canvas) else {
        return;
    };
    let (x, y) = (f64::from(e.offset_x()), f64::from(e.offset_y()));
    let _ = canvas.set_pointer_capture(e.pointer_id());
    let drag = match point_at(&frame, x, y) {
        Some(i) => {
            SELECTED.with(|s| s.set(Some(i)));
            if let Some(p) = placed_points().get(i) {
                typed::<HtmlInputElement>("tf-color").set_value(&hex_of(p.color));
            }
            set_enabled("tf-color", true);
            edit_moving(|look, _| bake_placement(look));
            Drag::Point(i)
        }
        None => Drag::Curve { x, y },
    };
    DRAG.with(|d| d.set(Some(drag)));
}

fn pointer_move(e: &PointerEvent) {
    let Some(drag) = DRAG.with(Cell::get) else {
        return;
    };
    let canvas: HtmlCanvasElement = typed("tf-editor");
    let Some(frame) = Frame::now(&canvas) else {
        return;
    };
    let (x, y) = (f64::from(e.offset_x()), f64::from(e.offset_y()));
    match drag {
        Drag::Curve { x: x0, y: y0 } => {
            let dx = frame.value_of(x) - frame.value_of(x0);
            // 100 px upwards doubles the width.
            let dy = ((y0 - y) / 100.0 * std::f64::consts::LN_2) as f32;
            edit_moving(|look, _| look.transfer = look.transfer.dragged(dx, dy));
            DRAG.with(|d| d.set(Some(Drag::Curve { x, y })));
        }
        Drag::Point(i) => {
            let (value, opacity) = (frame.value_of(x), frame.opacity_of(y));
            edit_moving(|look, _| {
                let points = &mut look.transfer.points;
                let low = if i == 0 {
                    f32::MIN
                } else {
                    points[i - 1].value
                };
                let high = points.get(i + 1).map_or(f32::MAX, |p| p.value);
                if let Some(p) = points.get_mut(i) {
                    p.value = value.clamp(low, high);
                    p.opacity = opacity;
                }
            });
        }
    }
}

fn end_drag() {
    DRAG.with(|d| d.set(None));
}

/// Double-click: removes the point under the pointer (keeping two), or
/// adds one on the curve there.
fn double_click(e: &web_sys::MouseEvent) {
    let canvas: HtmlCanvasElement = typed("tf-editor");
    let Some(frame) = Frame::now(&canvas) else {
        return;
    };
    let (x, y) = (f64::from(e.offset_x()), f64::from(e.offset_y()));
    let hit = point_at(&frame, x, y);
    let value = frame.value_of(x);
    SELECTED.with(|s| s.set(None));
    set_enabled("tf-color", false);
    edit(move |look, _| {
        bake_placement(look);
        let tf = &mut look.transfer;
        match hit {
            Some(i) if tf.points.len() > 2 => {
                tf.points.remove(i);
            }
            Some(_) => {}
            None => {
                let [r, g, b, a] = tf.at(value);
                let at = tf.points.partition_point(|p| p.value <= value);
                tf.points.insert(
                    at,
                    Point {
                        value,
                        opacity: a,
                        color: [r, g, b],
                    },
                );
            }
        }
    });
}

/// Draws the histogram, the colour bar and the opacity curve.
pub fn draw_editor() {
    let canvas: HtmlCanvasElement = typed("tf-editor");
    let Some(frame) = Frame::now(&canvas) else {
        return;
    };
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let (w, h) = (
        (frame.width * ratio).round() as u32,
        (frame.height * ratio).round() as u32,
    );
    let Some(ctx) = crate::dom::context_2d(&canvas, (w, h)) else {
        return;
    };
    let _ = ctx.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
    ctx.set_fill_style_str("#0b0e14");
    ctx.fill_rect(0.0, 0.0, frame.width, frame.height);
    let app = app();
    let scene = app.scene.borrow();
    let Some(scene) = scene.as_ref() else {
        return;
    };
    if let Some(histogram) = &scene.histogram {
        ctx.set_fill_style_str("#2a3140");
        let heights = histogram.log_heights();
        let bar = frame.width / heights.len() as f64;
        for (i, height) in heights.iter().enumerate() {
            let hpx = f64::from(*height) * (frame.height - 10.0);
            ctx.fill_rect(i as f64 * bar, frame.height - hpx, bar.ceil(), hpx);
        }
    }
    let Some(look) = &scene.look else {
        return;
    };
    // The colour bar along the bottom: the table's colour at each x.
    for x in 0..frame.width as u32 {
        let [r, g, b, _] = look.transfer.at(frame.value_of(f64::from(x)));
        ctx.set_fill_style_str(&hex_of([r, g, b]));
        ctx.fill_rect(f64::from(x), frame.height - 4.0, 1.0, 4.0);
    }
    let points = look.transfer.placed();
    ctx.set_stroke_style_str("#e8eef8");
    ctx.set_line_width(1.5);
    ctx.begin_path();
    ctx.move_to(0.0, frame.y_of(points.first().map_or(0.0, |p| p.opacity)));
    for p in &points {
        ctx.line_to(frame.x_of(p.value), frame.y_of(p.opacity));
    }
    ctx.line_to(
        frame.width,
        frame.y_of(points.last().map_or(0.0, |p| p.opacity)),
    );
    ctx.stroke();
    let selected = SELECTED.with(Cell::get);
    for (i, p) in points.iter().enumerate() {
        ctx.set_fill_style_str(&hex_of(p.color));
        ctx.begin_path();
        let radius = if selected == Some(i) { 6.5 } else { 4.5 };
        let _ = ctx.arc(
            frame.x_of(p.value),
            frame.y_of(p.opacity),
            radius,
            0.0,
            std::f64::consts::TAU,
        );
        ctx.fill();
        ctx.stroke();
    }
}
