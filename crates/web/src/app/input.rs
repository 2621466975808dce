//! Mouse and wheel on the views: in 2D, wheel scrolls, ctrl-wheel zooms,
//! click moves the crosshair, drag sets window/level, right- or
//! shift-drag pans, double-click resets, and the cursor's HU is read out;
//! in 3D, drag orbits, shift-drag pans, wheel zooms.

use std::cell::Cell;
use std::rc::Rc;

use insitu_volume::reslice::ViewAxis;
use web_sys::{HtmlCanvasElement, MouseEvent, WheelEvent};

use super::controls::set_window;
use super::link::send;
use super::{app, redraw, views};
use crate::dom::{on, on_active, typed};
use crate::protocol::Request;

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

/// Drag state: button, start position, window at start, moved yet.
#[derive(Clone, Copy)]
struct Drag {
    button: i16,
    shift: bool,
    x: f64,
    y: f64,
    window: f64,
    level: f64,
    moved: bool,
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
        let d = drag.clone();
        on(&canvas, "mousedown", move |e: MouseEvent| {
            let Some(v) = app().views.borrow().as_ref().map(|v| (v.window, v.level)) else {
                return;
            };
            d.set(Some(Drag {
                button: e.button(),
                shift: e.shift_key(),
                x: f64::from(e.client_x()),
                y: f64::from(e.client_y()),
                window: v.0,
                level: v.1,
                moved: false,
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
            if drag.moved || drag.button != 0 {
                return;
            }
            let (px, py) = canvas_position(&c, &e);
            let app = app();
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
        on(&canvas, "mouseleave", move |_: MouseEvent| d.set(None));
        on(&canvas, "contextmenu", |e: MouseEvent| e.prevent_default());
        on(&canvas, "dblclick", move |_: MouseEvent| {
            if let Some(v) = app().views.borrow_mut().as_mut() {
                v.reset(axis);
            }
            redraw();
        });
    }
    wire_3d();
    // Redraw on resize so the views keep their pixels crisp.
    if let Some(window) = web_sys::window() {
        on(&window, "resize", |_: web_sys::Event| {
            redraw();
            if let Some(scene) = app().scene.borrow_mut().as_mut() {
                scene.draw();
            }
        });
    }
}

fn wire_3d() {
    let canvas: HtmlCanvasElement = typed("view-3d");
    let last: Rc<Cell<Option<(f64, f64, bool)>>> = Rc::new(Cell::new(None));
    let l = last.clone();
    on(&canvas, "mousedown", move |e: MouseEvent| {
        l.set(Some((
            f64::from(e.client_x()),
            f64::from(e.client_y()),
            e.shift_key() || e.button() != 0,
        )));
    });
    let l = last.clone();
    on(&canvas, "mousemove", move |e: MouseEvent| {
        let Some((x, y, pan)) = l.get() else { return };
        let (nx, ny) = (f64::from(e.client_x()), f64::from(e.client_y()));
        l.set(Some((nx, ny, pan)));
        if let Some(scene) = app().scene.borrow_mut().as_mut() {
            if pan {
                scene.pan(nx - x, ny - y);
            } else {
                scene.rotate(nx - x, ny - y);
            }
        }
    });
    for event in ["mouseup", "mouseleave"] {
        let l = last.clone();
        on(&canvas, event, move |_: MouseEvent| l.set(None));
    }
    on(&canvas, "contextmenu", |e: MouseEvent| e.prevent_default());
    on_active(&canvas, "wheel", |e: WheelEvent| {
        e.prevent_default();
        if let Some(scene) = app().scene.borrow_mut().as_mut() {
            scene.zoom(e.delta_y().signum());
        }
    });
}
