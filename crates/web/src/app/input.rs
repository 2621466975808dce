//! Mouse and wheel on the views: in 2D, wheel scrolls, ctrl-wheel zooms,
//! click moves the crosshair, drag sets window/level, right- or
//! shift-drag pans, double-click resets, and the cursor's HU is read out;
//! with a segment tool, a click grows or keeps a piece, a drag paints or
//! erases, or moves the crop box's nearest edge; without one, a drag
//! that starts on the end of a body's height line moves that end (see
//! `height_grips`). In 3D, drag orbits,
//! shift-drag pans, wheel zooms, and a click selects the segment under it
//! (or keeps the piece clicked).

use std::cell::Cell;
use std::rc::Rc;

use insitu_volume::reslice::ViewAxis;
use web_sys::{HtmlCanvasElement, MouseEvent, WheelEvent};

use glam::{DMat4, DVec3};
use insitu_segment::{BrushShape, CropBox, Edit};
use insitu_spine::{HeightLine, Revision};

use super::controls::set_window;
use super::height_grips::Grip;
use super::link::send;
use super::segments::{self, Tool};
use super::{app, redraw, views};
use crate::dom::{on, on_active, typed};
use crate::protocol::{ClickTool, Request};

fn axis_of(name: &str) -> ViewAxis {
    match name {
        "coronal" => ViewAxis::Coronal,
        "sagittal" => ViewAxis::Sagittal,
        _ => ViewAxis::Axial,
    }
}

/// Mouse position in canvas (device) pixels.
fn canvas_position(canvas: &HtmlCanvasElement, e: &MouseEvent) -> (f64, f64) {
    let rect = canvas.get_bounding_client_rect();
    let sx = f64::from(canvas.width()) / rect.width().max(1.0);
    let sy = f64::from(canvas.height()) / rect.height().max(1.0);
    (
        (f64::from(e.client_x()) - rect.left()) * sx,
        (f64::from(e.client_y()) - rect.top()) * sy,
    )
}

/// Drag state: button, start position, window at start, moved yet, and
/// what a segment tool is doing with it.
#[derive(Clone, Copy)]
struct Drag {
    button: i16,
    shift: bool,
    x: f64,
    y: f64,
    window: f64,
    level: f64,
    moved: bool,
    action: Action,
}

/// What a left-button drag in a 2D view does.
#[derive(Clone, Copy, PartialEq)]
enum Action {
    /// Window and level (or pan, with shift or another button).
    Window,
    /// A brush stroke (erasing when `erase`).
    Stroke { erase: bool },
    /// Moving one face of the crop box: voxel axis, and whether it is the
    /// box's high end.
    CropFace { axis: usize, high: bool },
    /// Moving one end of a body's height line; the line as last moved.
    HeightEnd {
        grip: Grip,
        line: Option<HeightLine>,
    },
}

/// Sends a height line moved by hand, if it was moved.
fn place_height(action: Action) {
    if let Action::HeightEnd {
        grip,
        line: Some(line),
    } = action
    {
        super::spine::revise_heights(Revision::SetHeight {
            label: grip.label,
            at: grip.at,
            line,
        });
    }
}

/// A dab of the brush at `world` in the view of `axis`.
fn dab(axis: ViewAxis, world: DVec3, erase: bool, continues: bool) {
    let (radius_mm, ball, range) = segments::brush();
    let (_, _, normal) = axis.basis();
    send(Request::Edit(Edit::Paint {
        centre: world.to_array(),
        radius_mm,
        shape: if ball {
            BrushShape::Sphere
        } else {
            BrushShape::Disc {
                normal: normal.to_array(),
            }
        },
        range,
        erase,
        continues,
    }));
}

/// The volume's voxel → world matrix, grid size and crop box.
fn grid() -> Option<(DMat4, [u32; 3], CropBox)> {
    let app = app();
    let volume = app.volume.borrow();
    let volume = volume.as_ref()?;
    let crop = app
        .segments
        .borrow()
        .as_ref()
        .map_or(CropBox::whole(volume.dims), |s| s.crop);
    Some((
        DMat4::from_cols_array(&volume.voxel_to_world),
        volume.dims,
        crop,
    ))
}

/// The crop box face nearest a point of the view of `axis` (within ten
/// pixels), among the faces that cross the view.
fn nearest_face(axis: ViewAxis, world: DVec3, mm_per_pixel: f64) -> Option<Action> {
    let (matrix, _, crop) = grid()?;
    let ijk = matrix.inverse().transform_point3(world);
    let (_, _, normal) = axis.basis();
    let mut best: Option<(f64, Action)> = None;
    for a in 0..3 {
        let step = matrix.col(a).truncate();
        if step.normalize().dot(normal).abs() > 0.5 {
            continue; // this axis runs across the view, not in it
        }
        for (high, face) in [(false, crop.min[a]), (true, crop.max[a])] {
            let pixels = (ijk[a] - (f64::from(face) - 0.5)).abs() * step.length() / mm_per_pixel;
            if pixels <= 10.0 && best.is_none_or(|(d, _)| pixels < d) {
                best = Some((pixels, Action::CropFace { axis: a, high }));
            }
        }
    }
    best.map(|(_, action)| action)
}

/// The crop box with one face moved to the voxel boundary nearest `world`.
fn moved_face(world: DVec3, axis: usize, high: bool) -> Option<CropBox> {
    let (matrix, dims, mut crop) = grid()?;
    let boundary = (matrix.inverse().transform_point3(world)[axis] + 0.5)
        .round()
        .clamp(0.0, f64::from(dims[axis])) as u32;
    if high {
        crop.max[axis] = boundary.max(crop.min[axis] + 1).min(dims[axis]);
    } else {
        crop.min[axis] = boundary.min(crop.max[axis].saturating_sub(1));
    }
    Some(crop)
}

/// Hooks up mouse and wheel on the 2D views and the 3D view.
pub fn wire() {
    for name in ["axial", "coronal", "sagittal"] {
        let axis = axis_of(name);
        let canvas = views::canvas(axis);
        let drag: Rc<Cell<Option<Drag>>> = Rc::new(Cell::new(None));
        let c = canvas.clone();
        on_active(&canvas, "wheel", move |e: WheelEvent| {
            e.prevent_default();
            let notches = e.delta_y().signum();
            if let Some(v) = app().views.borrow_mut().as_mut() {
                if e.ctrl_key() {
                    v.zoom(axis, 1.15f64.powf(-notches));
                } else {
                    v.scroll(axis, notches);
                }
            }
            redraw();
            let _ = &c;
        });
        let (d, c) = (drag.clone(), canvas.clone());
        on(&canvas, "mousedown", move |e: MouseEvent| {
            let app = app();
            let views = app.views.borrow();
            let Some(v) = views.as_ref() else {
                return;
            };
            let (px, py) = canvas_position(&c, &e);
            let world = v.world_at(axis, px, py);
            let plain = e.button() == 0 && !e.shift_key();
            let action = match (segments::tool(), world) {
                (Tool::Paint | Tool::Erase, Some(world)) if plain => {
                    let erase = segments::tool() == Tool::Erase;
                    dab(axis, world, erase, false);
                    Action::Stroke { erase }
                }
                (Tool::Crop, Some(world)) if plain => v
                    .plane(axis)
                    .and_then(|p| nearest_face(axis, world, p.mm_per_pixel))
                    .unwrap_or(Action::Window),
                (Tool::Navigate, Some(_)) if plain && !super::spine::quiz_active() => v
                    .height_grip_at(axis, px, py)
                    .map_or(Action::Window, |grip| Action::HeightEnd {
                        grip,
                        line: None,
                    }),
                _ => Action::Window,
            };
            d.set(Some(Drag {
                button: e.button(),
                shift: e.shift_key(),
                x: f64::from(e.client_x()),
                y: f64::from(e.client_y()),
                window: v.window,
                level: v.level,
                moved: false,
                action,
            }));
        });
        let (d, c) = (drag.clone(), canvas.clone());
        on(&canvas, "mousemove", move |e: MouseEvent| {
            let app = app();
            let (px, py) = canvas_position(&c, &e);
            if let Some(world) = app
                .views
                .borrow()
                .as_ref()
                .and_then(|v| v.world_at(axis, px, py))
            {
                send(Request::Probe {
                    axis,
                    world: world.to_array(),
                });
            }
            let Some(mut drag) = d.get() else { return };
            let world = app
                .views
                .borrow()
                .as_ref()
                .and_then(|v| v.world_at(axis, px, py));
            match (drag.action, world) {
                (Action::Stroke { erase }, Some(world)) => {
                    drag.moved = true;
                    d.set(Some(drag));
                    return dab(axis, world, erase, true);
                }
                (Action::CropFace { axis: a, high }, Some(world)) => {
                    drag.moved = true;
                    d.set(Some(drag));
                    if let Some(crop) = moved_face(world, a, high) {
                        send(Request::Edit(Edit::Crop { crop }));
                    }
                    return;
                }
                (Action::HeightEnd { grip, .. }, Some(world)) => {
                    let line = app
                        .views
                        .borrow_mut()
                        .as_mut()
                        .and_then(|v| v.move_height_end(grip, world));
                    drag.moved = true;
                    drag.action = Action::HeightEnd { grip, line };
                    d.set(Some(drag));
                    return redraw();
                }
                _ => {}
            }
            let (dx, dy) = (
                f64::from(e.client_x()) - drag.x,
                f64::from(e.client_y()) - drag.y,
            );
            if dx.abs() + dy.abs() > 3.0 {
                drag.moved = true;
            }
            if !drag.moved {
                return;
            }
            let pan = drag.button != 0 || drag.shift;
            if pan {
                if let Some(v) = app.views.borrow_mut().as_mut() {
                    let ratio =
                        f64::from(c.width()) / c.get_bounding_client_rect().width().max(1.0);
                    v.pan(axis, (dx) * ratio, (dy) * ratio);
                }
                drag.x = f64::from(e.client_x());
                drag.y = f64::from(e.client_y());
                d.set(Some(drag));
                redraw();
            } else {
                d.set(Some(drag));
                // Right: wider window; down: higher level (as in most viewers).
                let window = (drag.window + dx * drag.window / 200.0).max(1.0);
                let level = drag.level + dy * drag.window / 400.0;
                set_window(window, level);
            }
        });
        let (d, c) = (drag.clone(), canvas.clone());
        on(&canvas, "mouseup", move |e: MouseEvent| {
            let Some(drag) = d.take() else { return };
            if matches!(drag.action, Action::Stroke { .. } | Action::CropFace { .. }) {
                // The stroke or the box is done: now its surfaces.
                return send(Request::SegmentSurfaces);
            }
            if drag.moved && matches!(drag.action, Action::HeightEnd { .. }) {
                return place_height(drag.action);
            }
            if drag.moved || drag.button != 0 {
                return;
            }
            let (px, py) = canvas_position(&c, &e);
            let app = app();
            // A click with a tool (or a quiz answer) acts at the clicked
            // point; otherwise it moves the crosshair.
            let tool = segments::tool();
            let quiz = super::spine::quiz_active() && tool == Tool::Navigate;
            if quiz
                || matches!(
                    tool,
                    Tool::Cut
                        | Tool::Measure(_)
                        | Tool::Grow
                        | Tool::KeepPiece
                        | Tool::SplitVertebra
                )
            {
                let at = app
                    .views
                    .borrow()
                    .as_ref()
                    .and_then(|v| Some((v.world_at(axis, px, py)?, v.plane(axis)?.down)));
                drop(app);
                let Some((world, down)) = at else { return };
                match tool {
                    // The part above the view's horizontal line moves.
                    Tool::Cut => segments::edit(Edit::Cut {
                        point: world.to_array(),
                        normal: (-down).to_array(),
                    }),
                    Tool::Measure(_) => super::measure::click(axis, world),
                    Tool::SplitVertebra => super::spine::split_at(world),
                    Tool::Grow | Tool::KeepPiece => segments::click_at(world),
                    _ => {
                        super::spine::quiz_clicked();
                        send(Request::ToolAt {
                            world: world.to_array(),
                            tool: ClickTool::Select,
                        });
                    }
                }
                return;
            }
            let moved = app
                .views
                .borrow_mut()
                .as_mut()
                .and_then(|v| v.world_at(axis, px, py).map(|w| v.crosshair = w))
                .is_some();
            if moved {
                redraw();
            }
        });
        let d = drag.clone();
        on(&canvas, "mouseleave", move |_: MouseEvent| {
            let Some(drag) = d.take() else { return };
            if matches!(drag.action, Action::Stroke { .. } | Action::CropFace { .. }) {
                send(Request::SegmentSurfaces);
            }
            place_height(drag.action);
        });
        on(&canvas, "contextmenu", |e: MouseEvent| e.prevent_default());
        on(&canvas, "dblclick", move |_: MouseEvent| {
            if let Some(v) = app().views.borrow_mut().as_mut() {
                v.reset(axis);
            }
            redraw();
        });
    }
    wire_3d();
    // Redraw when a view's box or the pixel ratio changes, so the views
    // keep their pixels crisp.
    let canvases: Vec<HtmlCanvasElement> = ViewAxis::ALL
        .iter()
        .map(|&axis| views::canvas(axis))
        .chain([typed("view-3d")])
        .collect();
    super::canvas_size::observe(&canvases, redraw_all);
    if let Some(window) = web_sys::window() {
        on(&window, "resize", |_: web_sys::Event| redraw_all());
    }
}

/// Every view drawn again at its canvas's size.
fn redraw_all() {
    redraw();
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.draw();
    }
}

/// A click on the 3D view: the segment under it is selected (or, with the
/// islands tool, its piece kept).
fn pick_3d(canvas: &HtmlCanvasElement, e: &MouseEvent) {
    let app = app();
    let has_segments = app
        .segments
        .borrow()
        .as_ref()
        .is_some_and(|s| !s.segments.is_empty());
    if !has_segments {
        return;
    }
    let (px, py) = canvas_position(canvas, e);
    let Some((origin, direction)) = app.scene.borrow().as_ref().and_then(|s| s.ray(px, py)) else {
        return;
    };
    if segments::tool() == Tool::SplitVertebra {
        super::spine::split_along(origin.as_dvec3(), direction.as_dvec3());
        return;
    }
    let keep = segments::tool() == Tool::KeepPiece;
    if super::spine::quiz_active() && !keep {
        super::spine::quiz_clicked();
    }
    send(Request::Pick {
        origin: origin.as_dvec3().to_array(),
        direction: direction.as_dvec3().to_array(),
        tool: if keep {
            ClickTool::KeepPiece
        } else {
            ClickTool::Select
        },
    });
    if keep {
        send(Request::SegmentSurfaces);
    }
}

/// What a drag in the 3D view does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Drag3d {
    /// Turn the camera about the target.
    Orbit,
    /// Move the target in the screen plane (shift or a non-left button).
    Pan,
    /// Move the clip plane along its normal (alt, when one is set).
    Clip,
}

/// Where a drag in the 3D view was last, what it does, and whether it
/// moved (a click without moving picks a segment).
type Orbiting = (f64, f64, Drag3d, bool);

/// The 3D canvas's height in CSS pixels.
fn canvas_height_css() -> i32 {
    typed::<HtmlCanvasElement>("view-3d").client_height()
}

fn wire_3d() {
    let canvas: HtmlCanvasElement = typed("view-3d");
    let last: Rc<Cell<Option<Orbiting>>> = Rc::new(Cell::new(None));
    let l = last.clone();
    on(&canvas, "mousedown", move |e: MouseEvent| {
        let drag = if e.alt_key() && super::look::has_clip() {
            Drag3d::Clip
        } else if e.shift_key() || e.button() != 0 {
            Drag3d::Pan
        } else {
            Drag3d::Orbit
        };
        l.set(Some((
            f64::from(e.client_x()),
            f64::from(e.client_y()),
            drag,
            false,
        )));
    });
    let l = last.clone();
    on(&canvas, "mousemove", move |e: MouseEvent| {
        let Some((x, y, drag, _)) = l.get() else {
            return;
        };
        let (nx, ny) = (f64::from(e.client_x()), f64::from(e.client_y()));
        l.set(Some((nx, ny, drag, true)));
        if drag == Drag3d::Clip {
            // Up moves the plane forward along its normal; the canvas
            // height sweeps the whole box.
            let height = f64::from(canvas_height_css()).max(1.0);
            super::look::move_clip(((y - ny) / height) as f32);
            return;
        }
        if let Some(scene) = app().scene.borrow_mut().as_mut() {
            match drag {
                Drag3d::Pan => scene.pan(nx - x, ny - y),
                _ => scene.rotate(nx - x, ny - y),
            }
        }
    });
    let (l, c) = (last.clone(), canvas.clone());
    on(&canvas, "mouseup", move |e: MouseEvent| {
        if let Some((_, _, Drag3d::Orbit, false)) = l.take() {
            pick_3d(&c, &e);
        }
    });
    let l = last.clone();
    on(&canvas, "mouseleave", move |_: MouseEvent| l.set(None));
    on(&canvas, "contextmenu", |e: MouseEvent| e.prevent_default());
    on_active(&canvas, "wheel", |e: WheelEvent| {
        e.prevent_default();
        if let Some(scene) = app().scene.borrow_mut().as_mut() {
            scene.zoom(e.delta_y().signum());
        }
    });
    // As a 2D view's double-click brings it back, the 3D view's frames
    // what it shows; the caption's button says so.
    on(&canvas, "dblclick", |_: MouseEvent| frame_3d());
    on(
        &crate::dom::by_test_id("frame-3d"),
        "click",
        |_: web_sys::Event| frame_3d(),
    );
}

/// Frames what the 3D view shows ([`super::scene::Scene::frame_shown`]).
fn frame_3d() {
    if let Some(scene) = app().scene.borrow_mut().as_mut()
        && scene.frame_shown()
    {
        scene.draw();
    }
}
