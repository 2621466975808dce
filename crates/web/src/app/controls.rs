//! The page's controls: the toolbar (demo, close, cancel), window/level,
//! the surface options and exports, the 3D mode and PNG saving.

use insitu_mesh::{Engine, MeshFormat, SurfaceOptions};
use insitu_volume::display::PRESETS;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

use super::link::{self, send};
use super::{LoadState, app, begin_loading, redraw, reset_study, scene, status};
use crate::dom::{by_test_id, document, on, set_data, set_enabled, typed};
use crate::protocol::Request;

/// Hooks up every control.
pub fn wire() {
    wire_toolbar();
    wire_window_controls();
    wire_surface_controls();
}

fn wire_toolbar() {
    on(&by_test_id("open-demo"), "click", |_: web_sys::Event| {
        begin_loading("Building the demo spine…");
        app().demo_opening.set(true);
        send(Request::Demo {
            variant: super::spine::demo_variant(),
        });
    });
    on(&by_test_id("close-study"), "click", |_: web_sys::Event| {
        close_study()
    });
    on(&by_test_id("load-cancel"), "click", |_: web_sys::Event| {
        cancel_load()
    });
}

/// Asks the worker to stop the load and keep the study that was open. A
/// load that cannot stop within a few seconds is ended with its worker
/// instead, which loses the open study too.
fn cancel_load() {
    let app = app();
    let ticket = app.load_ticket.get() + 1;
    app.load_ticket.set(ticket);
    send(Request::Cancel);
    status(LoadState::Loading, "Cancelling…");
    wasm_bindgen_futures::spawn_local(async move {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 3000);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        let app = super::app();
        if app.load_ticket.get() == ticket && app.load_state.get() == LoadState::Loading {
            link::restart_worker();
            reset_study();
            status(
                LoadState::Idle,
                "Cancelled (the load was stopped with its worker)",
            );
        }
    });
}

/// The study worker failed with `why` (an uncaught error: a panic, or a
/// wasm that did not start); whatever it held is lost. One that had
/// started is replaced, so the next open works; one that never started is
/// not (it would fail again): the page says to reload.
pub fn worker_stopped(why: &str) {
    let text = if app().worker_ready.get() {
        link::restart_worker();
        reset_study();
        format!("The study worker stopped ({why}); the study was closed. Open the files again.")
    } else {
        format!("The study worker could not start ({why}). Reload the page to try again.")
    };
    web_sys::console::warn_1(&text.clone().into());
    status(LoadState::Error, &text);
}

/// Forgets the study on both threads and frees the worker's memory.
fn close_study() {
    link::restart_worker();
    reset_study();
    status(LoadState::Idle, "Idle");
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

/// Shows a window in the numeric inputs.
pub fn show_window(window: f64, level: f64) {
    typed::<web_sys::HtmlInputElement>("wl-window").set_value(&format!("{}", window.round()));
    typed::<web_sys::HtmlInputElement>("wl-level").set_value(&format!("{}", level.round()));
}

/// Applies a window to the views and the numeric inputs.
pub fn set_window(window: f64, level: f64) {
    show_window(window, level);
    if let Some(v) = app().views.borrow_mut().as_mut() {
        v.window = window;
        v.level = level;
    }
    redraw();
}

/// The export button of each format the app offers.
fn export_button(format: MeshFormat) -> String {
    format!("export-{}", format.extension())
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
    for format in MeshFormat::OFFERED {
        on(
            &by_test_id(&export_button(format)),
            "click",
            move |_: web_sys::Event| send(Request::Export { format }),
        );
    }
    let mode: web_sys::HtmlSelectElement = typed("render-mode");
    on(&mode.clone(), "change", move |_: web_sys::Event| {
        show_mode(&mode.value());
        wasm_bindgen_futures::spawn_local(super::replies::show_3d());
    });
    for view in ["axial", "coronal", "sagittal", "3d"] {
        on(
            &by_test_id(&format!("png-{view}")),
            "click",
            move |_: web_sys::Event| save_png(view),
        );
    }
}

/// Shows the 3D view in the menu's mode `name`: a volume mode starts from
/// the look kept for its preset, and asks the worker for the volume's
/// texels the first time one is shown.
pub fn show_mode(name: &str) {
    let chosen = super::look::resolve(name);
    let app = app();
    let max_side = app.scene.borrow_mut().as_mut().map(|scene| {
        let look = match chosen {
            scene::Mode::Volume(preset) => Some(super::look::starting(preset, scene.domain())),
            scene::Mode::Surface => None,
        };
        scene.set_mode(chosen, name, look);
        scene.max_side()
    });
    let look = app.scene.borrow().as_ref().and_then(|s| match s.mode {
        scene::Mode::Volume(_) => s.look.clone(),
        scene::Mode::Surface => None,
    });
    super::look::show(look.as_ref());
    let wants_texture = look.is_some() && app.volume.borrow().is_some();
    if let (true, Some(max_side)) = (wants_texture, max_side)
        && !app.texture_requested.replace(true)
    {
        send(Request::VolumeTexture { max_side });
    }
}

/// Enables the exports once a surface has triangles.
pub fn enable_exports(enabled: bool) {
    for format in MeshFormat::OFFERED {
        set_enabled(&export_button(format), enabled);
    }
}

/// The surface options as the panel sets them.
fn surface_options() -> SurfaceOptions {
    let checked = |id| typed::<web_sys::HtmlInputElement>(id).checked();
    SurfaceOptions {
        iso: crate::dom::number("iso-input").unwrap_or(300.0) as f32,
        largest: checked("opt-largest"),
        min_island: crate::dom::number("opt-islands")
            .filter(|&n| n >= 1.0)
            .map(|n| n as usize),
        smooth: crate::dom::number("opt-smooth")
            .unwrap_or(0.0)
            .clamp(0.0, 100.0) as u32,
        decimate: crate::dom::number("opt-decimate")
            .filter(|&n| n >= 100.0)
            .map(|n| n as usize),
        engine: match typed::<web_sys::HtmlSelectElement>("opt-engine")
            .value()
            .as_str()
        {
            "gpu" => Engine::Gpu,
            "cpu" => Engine::Cpu,
            _ => Engine::Auto,
        },
    }
}

/// Asks for the surface the panel describes.
pub fn make_surface() {
    if app().volume.borrow().is_none() {
        return;
    }
    let options = surface_options();
    let info = by_test_id("mesh-info");
    info.set_text_content(Some(&format!("Making the {} HU surface…", options.iso)));
    set_data(&info, "state", "working");
    set_enabled("make-surface", false);
    send(Request::Surface(options));
}

/// Saves a blob under `name` through a temporary blob URL: never a
/// network request.
pub(super) fn download_blob(blob: &web_sys::Blob, name: &str) {
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
        // Drawn offscreen at the chosen size and read back: works the same
        // on a WebGPU and a WebGL2 canvas.
        wasm_bindgen_futures::spawn_local(super::snapshot::save_png());
        return;
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
