//! The UI thread: it draws and asks the worker; nothing here decodes or
//! meshes. Each job has its module: the worker link ([`link`]), the
//! toolbar and panels' controls ([`controls`]), mouse input on the views
//! ([`input`]), one function per worker reply ([`replies`]), the 2D views
//! ([`views`]) and the 3D scene ([`scene`]), files from the user
//! ([`files`]), the cache panel ([`storage`]) and offline start-up
//! ([`offline`]).

mod canvas_size;
mod controls;
mod decoders;
mod files;
mod first_views;
mod height_grips;
mod input;
mod link;
mod look;
mod measure;
mod offline;
mod panel;
mod replies;
mod scene;
mod segments;
mod snapshot;
mod spine;
mod storage;
mod views;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use insitu_gpu::{CanvasBackend, CanvasTarget};
use insitu_volume::reslice::ViewAxis;
use web_sys::{HtmlCanvasElement, Worker};

use crate::dom::{by_test_id, document, set_data, typed};
use crate::envelope::Attachments;
use crate::protocol::{Request, SurfaceSummary, VolumeSummary};
use scene::Scene;
use views::Views;

/// Everything the UI thread holds.
pub struct App {
    worker: RefCell<Worker>,
    /// The worker said `Ready`; until then requests wait in `outbox`.
    worker_ready: Cell<bool>,
    outbox: RefCell<Vec<(Request, Attachments)>>,
    volume: RefCell<Option<VolumeSummary>>,
    views: RefCell<Option<Views>>,
    scene: RefCell<Option<Scene>>,
    surface: RefCell<Option<SurfaceSummary>>,
    /// A redraw is at the worker; `redraw_again` asks for one more after it.
    redraw_in_flight: Cell<bool>,
    redraw_again: Cell<bool>,
    /// Set when a new volume arrives, so its first surface is framed.
    reframe: Cell<bool>,
    /// The volume-rendering copy of this volume was asked of the worker.
    texture_requested: Cell<bool>,
    /// Series list index → currently selected.
    selected: Cell<Option<usize>>,
    /// Changes with every load begun or cancel asked, so a late fallback
    /// never stops a newer load.
    load_ticket: Cell<u64>,
    /// What the status bar says of loading.
    load_state: Cell<LoadState>,
    /// The segments as the worker last described them.
    segments: RefCell<Option<crate::protocol::SegmentsSummary>>,
    /// The crop box changed; the 3D view follows once edits settle.
    crop_pending: Cell<bool>,
    /// The demo was asked for: its spine analysis follows its first views.
    demo_opening: Cell<bool>,
}

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

/// The app, once started.
fn app() -> Rc<App> {
    APP.with(|a| a.borrow().clone()).expect("app started")
}

/// Entry point called from `main` once the wasm module is instantiated.
pub fn start() {
    console_error_panic_hook::set_once();
    let app = Rc::new(App {
        worker: RefCell::new(link::spawn_worker()),
        worker_ready: Cell::new(false),
        outbox: RefCell::new(Vec::new()),
        volume: RefCell::new(None),
        views: RefCell::new(None),
        scene: RefCell::new(None),
        surface: RefCell::new(None),
        redraw_in_flight: Cell::new(false),
        redraw_again: Cell::new(false),
        reframe: Cell::new(false),
        texture_requested: Cell::new(false),
        selected: Cell::new(None),
        load_ticket: Cell::new(0),
        load_state: Cell::new(LoadState::Idle),
        segments: RefCell::new(None),
        crop_pending: Cell::new(false),
        demo_opening: Cell::new(false),
    });
    APP.with(|a| *a.borrow_mut() = Some(app));
    controls::wire();
    look::wire();
    snapshot::wire();
    segments::wire();
    spine::wire();
    measure::wire();
    input::wire();
    files::wire();
    offline::register();
    storage::wire();
    wasm_bindgen_futures::spawn_local(async {
        init_gpu().await;
        // End-to-end tests wait for this before driving the page.
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-app", "running");
        }
    });
}

/// Where the study's loading stands (shown as `load-status[data-state]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadState {
    /// Nothing open, nothing under way.
    Idle,
    /// A load (or a cancel) is under way.
    Loading,
    /// A study is open.
    Ready,
    /// The last request failed.
    Error,
}

impl LoadState {
    fn word(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Loading => "loading",
            Self::Ready => "ready",
            Self::Error => "error",
        }
    }
}

/// Sets `load-status` text and state.
pub fn status(state: LoadState, text: &str) {
    app().load_state.set(state);
    let s = by_test_id("load-status");
    s.set_text_content(Some(text));
    set_data(&s, "state", state.word());
    let busy = state == LoadState::Loading;
    crate::dom::set_visible("load-progress", busy);
    crate::dom::set_visible("load-cancel", busy);
}

/// Decides the GPU tier once and shows it in `gpu-info`; sets up the 3D view.
///
/// Compute (marching cubes) runs in the worker on WebGPU when the browser has
/// it. The 3D view draws through WebGPU too on a hardware adapter, WebGL2
/// otherwise (the same wgpu code; [`insitu_gpu::engine::canvas_backend`]);
/// `?canvas=webgl` or `?canvas=webgpu` chooses.
async fn init_gpu() {
    let info = by_test_id("gpu-info");
    let canvas: HtmlCanvasElement = typed("view-3d");
    canvas_size::fit_canvas(&canvas);
    // The study worker's WebGPU (compute tier), and the policy's choice of
    // what draws the canvas, made before the canvas gets a context: a
    // canvas holds a WebGPU or a WebGL2 context, never both.
    let webgpu = insitu_gpu::GpuAdapter::headless()
        .await
        .ok()
        .map(|adapter| adapter.summary)
        .filter(|summary| summary.backend == "webgpu");
    let forced = match crate::dom::page_setting("canvas").as_deref() {
        Some("webgl") => Some(CanvasBackend::WebGl2),
        Some("webgpu") => Some(CanvasBackend::WebGpu),
        _ => None,
    };
    let backends = match insitu_gpu::engine::canvas_backend(webgpu.as_ref(), forced) {
        CanvasBackend::WebGpu => insitu_gpu::wgpu::Backends::BROWSER_WEBGPU,
        CanvasBackend::WebGl2 => insitu_gpu::wgpu::Backends::GL,
    };
    let drawing = CanvasTarget::new(canvas, backends).await;
    let compute = webgpu.filter(|summary| summary.tier == insitu_gpu::Tier::Compute);
    let tier_source = compute
        .clone()
        .or_else(|| drawing.as_ref().ok().map(|t| t.context.summary.clone()));
    match (&drawing, tier_source) {
        (_, Some(summary)) => {
            let mut text = summary.to_string();
            if let (Ok(target), Some(_)) = (&drawing, &compute) {
                let drawn = &target.context.summary;
                text.push_str(&format!(" · 3D view: {} on {}", drawn.backend, drawn.name));
            }
            info.set_text_content(Some(&text));
            set_data(&info, "backend", &summary.backend);
            if let Ok(target) = &drawing {
                set_data(&info, "canvas", &target.context.summary.backend);
            }
            set_data(&info, "tier", &summary.tier.to_string());
            set_data(&info, "state", "ok");
        }
        (Err(e), None) => {
            info.set_text_content(Some(&format!("No GPU: {e}. 2D views only.")));
            set_data(&info, "backend", "none");
            set_data(&info, "tier", "none");
            set_data(&info, "state", "error");
            web_sys::console::warn_1(&format!("GPU unavailable: {e}").into());
        }
        (Ok(_), None) => unreachable!("a drawing target gives a tier"),
    }
    if let Ok(target) = drawing {
        let mut scene = Scene::new(target);
        scene.draw();
        *app().scene.borrow_mut() = Some(scene);
    }
}

/// Shows the loading state before a request that loads a volume.
pub fn begin_loading(text: &str) {
    let app = app();
    panel::show_reduced_offers(&[]);
    app.load_ticket.set(app.load_ticket.get() + 1);
    status(LoadState::Loading, text);
    let p: web_sys::HtmlProgressElement = typed("load-progress");
    let _ = p.remove_attribute("value"); // indeterminate until counts arrive
}

/// Forgets the study on the UI thread (the worker is replaced or told).
fn reset_study() {
    let app = app();
    *app.volume.borrow_mut() = None;
    *app.views.borrow_mut() = None;
    *app.surface.borrow_mut() = None;
    app.redraw_in_flight.set(false);
    app.texture_requested.set(false);
    app.selected.set(None);
    if let Some(scene) = app.scene.borrow_mut().as_mut() {
        scene.clear();
    }
    panel::clear();
    segments::reset(None);
    spine::reset(false);
    by_test_id("measure-list").set_inner_html("");
    clear_2d_views();
}

/// After an opening that did not end in a study (cancelled, failed): the
/// open study's views drawn again over any opening views the cache put on
/// the canvases, or the canvases emptied when `study_open` is false.
pub fn views_back_to_open_study(study_open: bool) {
    if study_open {
        redraw();
    } else {
        clear_2d_views();
    }
}

/// Empties the three 2D views' canvases.
pub fn clear_2d_views() {
    for axis in ViewAxis::ALL {
        let c = views::canvas(axis);
        c.set_width(c.width()); // clears a 2D canvas
    }
}

/// Asks the worker for the three views, coalescing while one is drawing.
pub fn redraw() {
    let app = app();
    if app.redraw_in_flight.get() {
        app.redraw_again.set(true);
        return;
    }
    let Some(requests) = app.views.borrow_mut().as_mut().map(Views::requests) else {
        return;
    };
    app.redraw_in_flight.set(true);
    app.redraw_again.set(false);
    first_views::asked();
    link::send(Request::Render {
        views: requests,
        overlay: segments::overlay_style(),
    });
    look::follow_views();
}

/// Loads a series chosen in the list.
pub fn load_series(index: usize) {
    if app().selected.get() == Some(index) {
        return;
    }
    begin_loading("Decoding…");
    link::send(Request::LoadSeries { index });
}
