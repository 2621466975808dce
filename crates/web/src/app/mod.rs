//! The UI thread: page wiring, the worker's replies, the 2D and 3D views.
//! Nothing here decodes or meshes; it only draws and asks the worker.

mod files;
mod offline;
mod panel;
mod scene;
mod storage;
mod views;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use insitu_gpu::CanvasTarget;
use insitu_volume::reslice::ViewAxis;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, MessageEvent, MouseEvent, WheelEvent, Worker};

use crate::dom::{by_test_id, document, on, on_active, set_data, set_enabled, typed};
use crate::protocol::{Reply, Request, SurfaceRequest, SurfaceSummary, VolumeSummary};
use crate::windowing::{PRESETS, initial_window};
use scene::Scene;
use views::Views;

/// Everything the UI thread holds.
pub struct App {
    worker: RefCell<Worker>,
    /// The worker said `Ready`; until then requests wait in `outbox`.
    worker_ready: Cell<bool>,
    outbox: RefCell<Vec<Object>>,
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
        worker: RefCell::new(spawn_worker()),
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
    });
    APP.with(|a| *a.borrow_mut() = Some(app));
    wire_toolbar();
    wire_window_controls();
    wire_surface_controls();
    wire_views();
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

/// Starts the study worker (built by Trunk from `insitu-worker`). Two
/// settings in the page address reach it, so tests and the benchmark can
/// compare both ways in one run: `?decoders=N` (how many decoder workers a
/// compressed series gets; 0: decode in the study worker) and
/// `?slices=gpu` (reslice the 2D views on the GPU even when it is a
/// software rasterizer).
fn spawn_worker() -> Worker {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let setting = |key: &str| {
        query
            .trim_start_matches('?')
            .split('&')
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let mut name = "insitu-study".to_owned();
    if let Some(n) = setting("decoders").and_then(|n| n.parse::<usize>().ok()) {
        name.push_str(&format!(";decoders={n}"));
    }
    if setting("slices").as_deref() == Some("gpu") {
        name.push_str(";slices=gpu");
    }
    if storage::keep_nothing() {
        name.push_str(";cache=off");
    }
    let options = web_sys::WorkerOptions::new();
    options.set_name(&name);
    let worker = Worker::new_with_options("./insitu-worker_loader.js", &options)
        .expect("the worker script is served beside the page");
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        on_reply(event.data());
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    worker
}

/// Sends a request, with `extra` fields (files) beside it.
pub fn send(request: &Request, extra: &[(&str, JsValue)]) {
    let message = Object::new();
    let msg = serde_wasm_bindgen::to_value(request).expect("requests serialise");
    let _ = Reflect::set(&message, &"msg".into(), &msg);
    for (key, value) in extra {
        let _ = Reflect::set(&message, &(*key).into(), value);
    }
    let app = app();
    if app.worker_ready.get() {
        post_to_worker(&app, &message);
    } else {
        app.outbox.borrow_mut().push(message);
    }
}

fn post_to_worker(app: &App, message: &Object) {
    if let Err(e) = app.worker.borrow().post_message(message) {
        web_sys::console::error_2(&"insitu: cannot reach the worker".into(), &e);
    }
}

/// Sets `load-status` text and state.
pub fn status(state: &str, text: &str) {
    let s = by_test_id("load-status");
    s.set_text_content(Some(text));
    set_data(&s, "state", state);
    let busy = state == "loading";
    crate::dom::set_visible("load-progress", busy);
    crate::dom::set_visible("load-cancel", busy);
}

/// Decides the GPU tier once and shows it in `gpu-info`; sets up the 3D view.
///
/// Compute (marching cubes) runs in the worker on WebGPU when the browser has
/// it. The 3D view draws through WebGL2: drawing a mesh needs no compute, and
/// WebGL2 canvases are the ones we can verify pixel by pixel in headless
/// Chromium, where even a plain WebGPU canvas clear never reaches a
/// screenshot or `toDataURL`.
async fn init_gpu() {
    let info = by_test_id("gpu-info");
    let canvas: HtmlCanvasElement = typed("view-3d");
    views::fit_canvas(&canvas);
    let compute = insitu_gpu::GpuContext::headless()
        .await
        .ok()
        .filter(insitu_gpu::GpuContext::has_compute)
        .map(|ctx| ctx.summary.clone());
    let drawing = CanvasTarget::new(canvas, insitu_gpu::wgpu::Backends::GL).await;
    let tier_source = compute
        .clone()
        .or_else(|| drawing.as_ref().ok().map(|t| t.context.summary.clone()));
    match (&drawing, tier_source) {
        (_, Some(summary)) => {
            let mut text = summary.to_string();
            if let (Ok(target), Some(_)) = (&drawing, &compute) {
                text.push_str(&format!(" · 3D view: {}", target.context.summary.name));
            }
            info.set_text_content(Some(&text));
            set_data(&info, "backend", &summary.backend);
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

fn wire_toolbar() {
    on(&by_test_id("open-demo"), "click", |_: web_sys::Event| {
        begin_loading("Building the demo spine…");
        send(&Request::Demo, &[]);
    });
    on(&by_test_id("close-study"), "click", |_: web_sys::Event| {
        close_study()
    });
    on(&by_test_id("load-cancel"), "click", |_: web_sys::Event| {
        cancel_load()
    });
}

/// Asks the worker to stop the load and keep the study that was open. A
/// load that cannot stop within a few seconds (one synchronous decode) is
/// ended with its worker instead, which loses the open study too.
fn cancel_load() {
    let app = app();
    let ticket = app.load_ticket.get() + 1;
    app.load_ticket.set(ticket);
    send(&Request::Cancel, &[]);
    status("loading", "Cancelling…");
    wasm_bindgen_futures::spawn_local(async move {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 3000);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        let app = crate::app::app();
        let still_loading = by_test_id("load-status")
            .get_attribute("data-state")
            .as_deref()
            == Some("loading");
        if app.load_ticket.get() == ticket && still_loading {
            restart_worker();
            reset_study();
            status("idle", "Cancelled (the load was stopped with its worker)");
        }
    });
}

/// Replaces the study worker with a fresh one. A wasm heap never shrinks,
/// so ending the worker is what gives a closed study's memory back.
fn restart_worker() {
    let app = app();
    app.worker.borrow().terminate();
    app.worker_ready.set(false);
    app.outbox.borrow_mut().clear();
    *app.worker.borrow_mut() = spawn_worker();
}

/// Forgets the study on both threads and frees the worker's memory.
fn close_study() {
    restart_worker();
    reset_study();
    status("idle", "Idle");
}

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
    for axis in ViewAxis::ALL {
        let c = views::canvas(axis);
        c.set_width(c.width()); // clears a 2D canvas
    }
}

/// Shows the loading state before a request that loads a volume.
pub fn begin_loading(text: &str) {
    let app = app();
    app.load_ticket.set(app.load_ticket.get() + 1);
    status("loading", text);
    let p: web_sys::HtmlProgressElement = typed("load-progress");
    let _ = p.remove_attribute("value"); // indeterminate until counts arrive
}

fn wire_window_controls() {
    let preset: web_sys::HtmlSelectElement = typed("wl-preset");
    for p in PRESETS {
        let option = crate::dom::element(
            "option",
            &format!("{} (W {} / L {})", p.name, p.window, p.level),
        );
        let _ = option.set_attribute("value", p.name);
        let _ = preset.append_child(&option);
    }
    on(&preset.clone(), "change", move |_: web_sys::Event| {
        if let Some(p) = PRESETS.iter().find(|p| p.name == preset.value()) {
            set_window(p.window, p.level);
        }
    });
    for id in ["wl-window", "wl-level"] {
        on(&by_test_id(id), "change", |_: web_sys::Event| {
            if let (Some(w), Some(l)) = (
                crate::dom::number("wl-window"),
                crate::dom::number("wl-level"),
            ) {
                set_window(w.max(1.0), l);
            }
        });
    }
}

/// Applies a window to the views and the numeric inputs.
fn set_window(window: f64, level: f64) {
    typed::<web_sys::HtmlInputElement>("wl-window").set_value(&format!("{}", window.round()));
    typed::<web_sys::HtmlInputElement>("wl-level").set_value(&format!("{}", level.round()));
    if let Some(v) = app().views.borrow_mut().as_mut() {
        v.window = window;
        v.level = level;
    }
    redraw();
}

fn wire_surface_controls() {
    on(&by_test_id("make-surface"), "click", |_: web_sys::Event| {
        make_surface()
    });
    on(
        &by_test_id("iso-input"),
        "keydown",
        |e: web_sys::KeyboardEvent| {
            if e.key() == "Enter" {
                make_surface();
            }
        },
    );
    for format in ["stl", "obj", "ply"] {
        on(
            &by_test_id(&format!("export-{format}")),
            "click",
            move |_: web_sys::Event| {
                send(
                    &Request::Export {
                        format: format.into(),
                    },
                    &[],
                );
            },
        );
    }
    let mode: web_sys::HtmlSelectElement = typed("render-mode");
    on(&mode.clone(), "change", move |_: web_sys::Event| {
        let chosen = scene::Mode::from_name(&mode.value());
        let app = app();
        if let Some(scene) = app.scene.borrow_mut().as_mut() {
            scene.set_mode(chosen, &mode.value());
        }
        let wants_texture =
            matches!(chosen, scene::Mode::Volume(_)) && app.volume.borrow().is_some();
        if wants_texture && !app.texture_requested.replace(true) {
            send(&Request::VolumeTexture, &[]);
        }
        wasm_bindgen_futures::spawn_local(show_3d());
    });
    for view in ["axial", "coronal", "sagittal", "3d"] {
        on(
            &by_test_id(&format!("png-{view}")),
            "click",
            move |_: web_sys::Event| save_png(view),
        );
    }
}

fn surface_request() -> SurfaceRequest {
    let checked = |id| typed::<web_sys::HtmlInputElement>(id).checked();
    SurfaceRequest {
        iso: crate::dom::number("iso-input").unwrap_or(300.0) as f32,
        largest: checked("opt-largest"),
        min_island: crate::dom::number("opt-islands")
            .filter(|&n| n >= 1.0)
            .map(|n| n as usize),
        smooth: crate::dom::number("opt-smooth")
            .unwrap_or(0.0)
            .clamp(0.0, 100.0) as usize,
        decimate: crate::dom::number("opt-decimate")
            .filter(|&n| n >= 100.0)
            .map(|n| n as usize),
        engine: match typed::<web_sys::HtmlSelectElement>("opt-engine")
            .value()
            .as_str()
        {
            "gpu" => crate::protocol::Engine::Gpu,
            "cpu" => crate::protocol::Engine::Cpu,
            _ => crate::protocol::Engine::Auto,
        },
    }
}

fn make_surface() {
    if app().volume.borrow().is_none() {
        return;
    }
    let request = surface_request();
    by_test_id("mesh-info")
        .set_text_content(Some(&format!("Making the {} HU surface…", request.iso)));
    set_data(&by_test_id("mesh-info"), "state", "working");
    set_enabled("make-surface", false);
    send(&Request::Surface(request), &[]);
}

/// Downloads bytes as a file (a blob URL, never a network request).
pub fn download(bytes: &JsValue, name: &str, mime: &str) {
    let parts = Array::of1(bytes);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    if let Ok(blob) = web_sys::Blob::new_with_buffer_source_sequence_and_options(&parts, &options) {
        download_blob(&blob, name);
    }
}

/// Saves a blob under `name` through a temporary blob URL.
fn download_blob(blob: &web_sys::Blob, name: &str) {
    if let Ok(url) = web_sys::Url::create_object_url_with_blob(blob) {
        click_download(&url, name);
        let _ = web_sys::Url::revoke_object_url(&url);
    }
}

fn click_download(url: &str, name: &str) {
    let a: web_sys::HtmlAnchorElement = document()
        .create_element("a")
        .expect("anchor")
        .unchecked_into();
    a.set_href(url);
    a.set_download(name);
    let _ = document().body().map(|b| b.append_child(&a));
    a.click();
    a.remove();
}

fn save_png(view: &str) {
    if view == "3d" {
        // Redraw first: a GPU canvas is readable in the task that drew it.
        if let Some(scene) = app().scene.borrow_mut().as_mut() {
            scene.draw();
        }
    }
    let canvas: HtmlCanvasElement = typed(&format!("view-{view}"));
    // toBlob encodes off the UI thread (toDataURL would block it).
    let name = format!("insitu-{view}.png");
    let done = Closure::once_into_js(move |blob: JsValue| {
        if let Some(blob) = blob.dyn_ref::<web_sys::Blob>() {
            download_blob(blob, &name);
        }
    });
    let _ = canvas.to_blob(done.unchecked_ref());
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
    send(&Request::Render { views: requests }, &[]);
}

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

fn wire_views() {
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
                send(
                    &Request::Probe {
                        axis,
                        world: world.to_array(),
                    },
                    &[],
                );
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

fn performance_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// A message from the worker. Slow handling is logged: the UI thread must
/// never block for 100 ms.
fn on_reply(data: JsValue) {
    let started = performance_now();
    let kind = Reflect::get(&data, &"msg".into())
        .ok()
        .and_then(|m| Reflect::get(&m, &"kind".into()).ok())
        .and_then(|k| k.as_string())
        .unwrap_or_default();
    handle_reply(data);
    let took = performance_now() - started;
    if took > 40.0 {
        web_sys::console::info_1(&format!("insitu: handling '{kind}' took {took:.0} ms").into());
    }
}

fn handle_reply(data: JsValue) {
    let reply: Reply = match Reflect::get(&data, &"msg".into())
        .ok()
        .and_then(|m| serde_wasm_bindgen::from_value(m).ok())
    {
        Some(r) => r,
        None => return,
    };
    let buffers: Array = Reflect::get(&data, &"buffers".into())
        .map(JsCast::unchecked_into)
        .unwrap_or_default();
    let app = app();
    match reply {
        Reply::Ready => {
            app.worker_ready.set(true);
            for message in app.outbox.take() {
                post_to_worker(&app, &message);
            }
        }
        Reply::Progress { phase, done, total } => {
            let p: web_sys::HtmlProgressElement = typed("load-progress");
            if total > 0 {
                p.set_max(total as f64);
                p.set_value(done as f64);
            }
            let text = if total > 0 {
                format!("{} {done} / {total}…", capitalised(&phase))
            } else {
                format!("{}…", capitalised(&phase))
            };
            if phase == "meshing" {
                by_test_id("mesh-info").set_text_content(Some(&text));
            } else {
                status("loading", &text);
            }
        }
        Reply::Scanned {
            series,
            skipped,
            files,
        } => panel::show_scan(&series, &skipped, files),
        Reply::Loaded(summary) => loaded(summary),
        Reply::Rendered {
            views,
            engine,
            engine_detail,
        } => {
            let label = by_test_id("slice-engine");
            let text = format!("2D: {engine}");
            if label.text_content().as_deref() != Some(&text) {
                label.set_text_content(Some(&text));
                let _ = label.set_attribute("title", &format!("2D views: {engine_detail}"));
                let kind = if engine.starts_with("GPU") {
                    "gpu"
                } else {
                    "cpu"
                };
                set_data(&label, "engine", kind);
            }
            if let Some(v) = app.views.borrow().as_ref() {
                for (i, request) in views.iter().enumerate() {
                    let pixels: js_sys::Uint8Array = buffers.get(i as u32).unchecked_into();
                    v.draw(request, &pixels.to_vec());
                }
            }
            // Tests and the benchmark see each drawing (an attribute write).
            set_data(&label, "drawn", &views.len().to_string());
            app.redraw_in_flight.set(false);
            if app.redraw_again.get() {
                redraw();
            }
        }
        Reply::Probed { axis, world, value } => {
            let text = match value {
                Some(v) => format!(
                    "{} · ({:.1}, {:.1}, {:.1}) mm",
                    if v.fract() == 0.0 {
                        format!("{v} HU")
                    } else {
                        format!("{v:.2}")
                    },
                    world[0],
                    world[1],
                    world[2]
                ),
                None => String::new(),
            };
            by_test_id(&format!("readout-{}", axis.name())).set_text_content(Some(&text));
        }
        Reply::Surface(summary) => {
            panel::show_surface(&summary);
            let reframe = app.reframe.replace(false);
            *app.surface.borrow_mut() = Some(summary.clone());
            wasm_bindgen_futures::spawn_local(show_surface(buffers, summary, reframe));
        }
        Reply::Exported { file_name, mime } => download(&buffers.get(0), &file_name, &mime),
        Reply::Tags { series, entries } => panel::show_tags(series, &entries),
        Reply::VolumeTexture {
            dims,
            voxel_to_world,
        } => {
            let bounds = app
                .volume
                .borrow()
                .as_ref()
                .map(|v| (v.bounds.0.map(|x| x as f32), v.bounds.1.map(|x| x as f32)));
            if let (Some(scene), Some(bounds)) = (app.scene.borrow_mut().as_mut(), bounds) {
                scene.set_volume(
                    dims,
                    voxel_to_world,
                    buffers.get(0).unchecked_into(),
                    bounds,
                );
            }
            wasm_bindgen_futures::spawn_local(show_3d());
        }
        Reply::CacheUpdate { state, note } => {
            let status_element = by_test_id("load-status");
            set_data(&status_element, "cache", &state);
            if state == "failed" {
                web_sys::console::warn_1(&format!("insitu: not cached: {note}").into());
                by_test_id("cache-usage").set_text_content(Some(&format!("Not cached: {note}")));
            } else {
                wasm_bindgen_futures::spawn_local(storage::refresh());
            }
        }
        Reply::Cancelled { still_open } => {
            app.load_ticket.set(app.load_ticket.get() + 1);
            match (still_open, app.volume.borrow().as_ref()) {
                (true, Some(volume)) => status(
                    "ready",
                    &format!("Cancelled; still showing {}", volume.title),
                ),
                _ => status("idle", "Cancelled"),
            }
        }
        Reply::Failed { during, message } => {
            let text = format!("Failed while {during}: {message}");
            web_sys::console::warn_1(&text.clone().into());
            if during == "making a surface" || during == "exporting" {
                by_test_id("mesh-info").set_text_content(Some(&text));
                set_enabled("make-surface", app.volume.borrow().is_some());
            } else if app.volume.borrow().is_some() && during == "reading tags" {
                // The tag browser is optional; the study stays.
            } else {
                status("error", &text);
            }
        }
    }
}

/// Shows the 3D view's mode: a waiting volume texture is uploaded in one
/// task, the first draw happens in the next (each can be slow on a
/// software GPU).
async fn show_3d() {
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.upload_volume();
    }
    next_task().await;
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.draw();
    }
}

/// Resolves on a later task, letting the browser paint and handle input.
async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Uploads a surface one array per task: a million-triangle mesh is 25 MB,
/// too much to copy and upload in one go without blocking the UI thread.
async fn show_surface(buffers: Array, summary: SurfaceSummary, reframe: bool) {
    use insitu_gpu::MeshPart;
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.begin_mesh();
    }
    for (i, part) in [MeshPart::Positions, MeshPart::Normals, MeshPart::Indices]
        .into_iter()
        .enumerate()
    {
        next_task().await;
        // The bytes of the typed array (f32 or u32) the worker transferred.
        let array: js_sys::Float32Array = buffers.get(i as u32).unchecked_into();
        let bytes = js_sys::Uint8Array::new_with_byte_offset_and_length(
            &array.buffer(),
            array.byte_offset(),
            array.byte_length(),
        )
        .to_vec();
        if let Some(scene) = app().scene.borrow_mut().as_mut() {
            scene.upload(part, &bytes);
        }
    }
    next_task().await;
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.show(summary.bounds, reframe);
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A volume is ready: show it, draw it, and (CT) make the bone surface.
fn loaded(summary: VolumeSummary) {
    let app = app();
    let (window, level) = initial_window(&summary.modality, summary.value_range);
    *app.views.borrow_mut() = Some(Views::new(&summary, window, level));
    typed::<web_sys::HtmlInputElement>("wl-window").set_value(&format!("{}", window.round()));
    typed::<web_sys::HtmlInputElement>("wl-level").set_value(&format!("{}", level.round()));
    panel::show_volume(&summary);
    if let Some(index) = summary.series {
        app.selected.set(Some(index));
        panel::select_series(index);
        send(&Request::Tags { series: index }, &[]);
    } else {
        app.selected.set(None);
        panel::show_demo(&summary);
    }
    app.reframe.set(true);
    *app.surface.borrow_mut() = None;
    let volume_mode = app.scene.borrow_mut().as_mut().is_some_and(|scene| {
        scene.clear();
        matches!(scene.mode, scene::Mode::Volume(_))
    });
    // Already showing volume rendering: the new volume's copy is needed now.
    app.texture_requested.set(volume_mode);
    if volume_mode {
        send(&Request::VolumeTexture, &[]);
    }
    let is_ct = summary.modality == "CT";
    *app.volume.borrow_mut() = Some(summary.clone());
    set_enabled("make-surface", true);
    set_enabled("close-study", true);
    let mut decoded_by = match summary.decoders {
        0 => String::new(),
        n => format!(" ({n} decoder workers)"),
    };
    match summary.cache.as_str() {
        "hit" => decoded_by.push_str(" (from the cache on this computer)"),
        why if why.starts_with("rebuilt") => {
            decoded_by.push_str(" (the cached copy was damaged, so it was decoded again)")
        }
        why if why.starts_with("unavailable: ") => {
            decoded_by.push_str(&format!(" (no cache: {})", &why["unavailable: ".len()..]))
        }
        _ => {}
    }
    let cache_state = summary.cache.split(':').next().unwrap_or("");
    set_data(&by_test_id("load-status"), "cache", cache_state);
    status(
        "ready",
        &format!(
            "Ready: {} in {:.0} ms{decoded_by}",
            summary.title, summary.load_ms
        ),
    );
    set_data(
        &by_test_id("load-status"),
        "decoders",
        &summary.decoders.to_string(),
    );
    app.redraw_in_flight.set(false);
    redraw();
    if is_ct {
        // Bone at the default iso level, so the 3D view starts useful.
        make_surface();
    }
}

/// Loads a series chosen in the list.
pub fn load_series(index: usize) {
    if app().selected.get() == Some(index) {
        return;
    }
    begin_loading("Decoding…");
    send(&Request::LoadSeries { index }, &[]);
}
