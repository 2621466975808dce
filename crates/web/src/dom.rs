//! Small typed helpers over the page's `data-testid` hooks and events.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, EventTarget, HtmlElement};

/// The page document; the app cannot run without one.
pub fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("insitu runs in a window with a document")
}

/// The element carrying `data-testid="{id}"`, which index.html guarantees.
pub fn by_test_id(id: &str) -> HtmlElement {
    typed(id)
}

/// The `data-testid` element as a specific element type.
pub fn typed<T: JsCast>(id: &str) -> T {
    document()
        .query_selector(&format!("[data-testid=\"{id}\"]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<T>().ok())
        .unwrap_or_else(|| panic!("index.html lacks data-testid={id} of the expected type"))
}

/// Sets a `data-*` attribute (`name` without the `data-` prefix).
pub fn set_data(element: &Element, name: &str, value: &str) {
    // Setting an attribute on a live element cannot fail for valid names.
    let _ = element.set_attribute(&format!("data-{name}"), value);
}

/// Creates an element with text.
pub fn element(tag: &str, text: &str) -> Element {
    let e = document()
        .create_element(tag)
        .expect("valid tag names only");
    e.set_text_content(Some(text));
    e
}

/// Enables or disables a button-like element.
pub fn set_enabled(id: &str, enabled: bool) {
    let e = by_test_id(id);
    if enabled {
        let _ = e.remove_attribute("disabled");
    } else {
        let _ = e.set_attribute("disabled", "");
    }
}

/// Shows or hides an element.
pub fn set_visible(id: &str, visible: bool) {
    by_test_id(id).set_hidden(!visible);
}

/// Adds a listener that lives as long as the page.
pub fn on<E: wasm_bindgen::convert::FromWasmAbi + 'static>(
    target: &EventTarget,
    event: &str,
    handler: impl FnMut(E) + 'static,
) {
    let closure = Closure::<dyn FnMut(E)>::new(handler);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget();
}

/// Like [`on`], but may call `preventDefault` (wheel, touch).
pub fn on_active<E: wasm_bindgen::convert::FromWasmAbi + 'static>(
    target: &EventTarget,
    event: &str,
    handler: impl FnMut(E) + 'static,
) {
    let closure = Closure::<dyn FnMut(E)>::new(handler);
    let options = web_sys::AddEventListenerOptions::new();
    options.set_passive(false);
    let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
        event,
        closure.as_ref().unchecked_ref(),
        &options,
    );
    closure.forget();
}

/// Value of a number input, if it parses.
pub fn number(id: &str) -> Option<f64> {
    typed::<web_sys::HtmlInputElement>(id)
        .value()
        .trim()
        .parse()
        .ok()
}

/// A setting from the page address (`?key=value`), for tests and the
/// benchmark to choose paths (decoders, GPU reslicing, the 3D canvas).
pub fn page_setting(key: &str) -> Option<String> {
    let query = web_sys::window()?.location().search().ok()?;
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
}

/// The 2D context of `canvas`, its drawing buffer sized to `size` first
/// (resizing clears it, so only when the size changed).
pub fn context_2d(
    canvas: &web_sys::HtmlCanvasElement,
    (w, h): (u32, u32),
) -> Option<web_sys::CanvasRenderingContext2d> {
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// A canvas not in the page, of `size`, with its 2D context: for images
/// made to be saved.
pub fn detached_canvas(
    size: (u32, u32),
) -> Option<(
    web_sys::HtmlCanvasElement,
    web_sys::CanvasRenderingContext2d,
)> {
    let canvas: web_sys::HtmlCanvasElement =
        document().create_element("canvas").ok()?.dyn_into().ok()?;
    let ctx = context_2d(&canvas, size)?;
    Some((canvas, ctx))
}

/// Resolves in a task of its own, after the tasks already queued, so the
/// browser paints and takes input in between: a message to ourselves, not
/// a 0 ms timer, which browsers hold at least 4 ms once timers nest.
pub async fn next_task() {
    let Ok(channel) = web_sys::MessageChannel::new() else {
        return;
    };
    let arrived = js_sys::Promise::new(&mut |resolve, _| {
        channel.port1().set_onmessage(Some(&resolve));
    });
    if channel.port2().post_message(&JsValue::UNDEFINED).is_ok() {
        let _ = wasm_bindgen_futures::JsFuture::from(arrived).await;
    }
    channel.port1().set_onmessage(None);
}
