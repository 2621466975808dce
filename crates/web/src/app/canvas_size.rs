//! Each view canvas's drawing buffer follows its CSS box. The boxes are
//! read from a `ResizeObserver`, which reports them after the browser's own
//! layout: reading `clientWidth` inside a task that has just changed the
//! page (a reply that rebuilds the spine's list) forces that layout there
//! and then, which cost about 20 ms of such a task on the UI thread.

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, ResizeObserver, ResizeObserverEntry};

thread_local! {
    /// The observed canvases' CSS boxes (CSS px), as last reported.
    static BOXES: RefCell<Vec<(HtmlCanvasElement, (f64, f64))>> = const { RefCell::new(Vec::new()) };
}

/// The canvas's CSS box: as last observed, or read now (a forced layout)
/// before its first report.
fn css_box(canvas: &HtmlCanvasElement) -> (f64, f64) {
    BOXES
        .with(|b| {
            b.borrow()
                .iter()
                .find(|(c, _)| c == canvas)
                .map(|&(_, size)| size)
        })
        .unwrap_or_else(|| {
            (
                f64::from(canvas.client_width()),
                f64::from(canvas.client_height()),
            )
        })
}

/// The drawing buffer's size for a CSS box: device pixels, capped so a
/// redraw of three views stays fast.
fn buffer_size((w, h): (f64, f64)) -> (u32, u32) {
    let ratio = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .min(2.0);
    let scale = |css: f64| ((css * ratio).round() as u32).clamp(16, 1024);
    (scale(w), scale(h))
}

/// The drawing buffer's size that fits the canvas's CSS box now. A 2D
/// view's buffer takes it only when the worker's pixels for it arrive:
/// resizing clears a canvas, and a view would stay blank while the worker
/// is busy (a spine being analysed).
pub fn fitted_size(canvas: &HtmlCanvasElement) -> (u32, u32) {
    buffer_size(css_box(canvas))
}

/// Sizes a canvas's drawing buffer to its CSS box (one drawn at once, the
/// 3D view); returns the size.
pub fn fit_canvas(canvas: &HtmlCanvasElement) -> (u32, u32) {
    let (w, h) = fitted_size(canvas);
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    (w, h)
}

/// Observes `canvases`' CSS boxes from now on, calling `redraw` when one
/// no longer matches its drawing buffer (the window or a panel resized it).
pub fn observe(canvases: &[HtmlCanvasElement], redraw: fn()) {
    let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
        let mut stale = false;
        for entry in entries.iter() {
            let entry: ResizeObserverEntry = entry.unchecked_into();
            let Ok(canvas) = entry.target().dyn_into::<HtmlCanvasElement>() else {
                continue;
            };
            let rect = entry.content_rect();
            let size = (rect.width(), rect.height());
            BOXES.with(|b| {
                let mut boxes = b.borrow_mut();
                match boxes.iter_mut().find(|(c, _)| *c == canvas) {
                    Some((_, known)) => *known = size,
                    None => boxes.push((canvas.clone(), size)),
                }
            });
            stale |= (canvas.width(), canvas.height()) != buffer_size(size);
        }
        if stale {
            redraw();
        }
    });
    let Ok(observer) = ResizeObserver::new(callback.as_ref().unchecked_ref()) else {
        return;
    };
    callback.forget();
    for canvas in canvases {
        observer.observe(canvas);
    }
}
