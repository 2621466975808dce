//! Small typed helpers over the page's `data-testid` hooks.

use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlElement};

/// The page document; the app cannot run without one.
pub fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("insitu runs in a window with a document")
}

/// The element carrying `data-testid="{id}"`, which index.html guarantees.
pub fn by_test_id(id: &str) -> HtmlElement {
    document()
        .query_selector(&format!("[data-testid=\"{id}\"]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        .unwrap_or_else(|| panic!("index.html lacks data-testid={id}"))
}

/// Sets a `data-*` attribute (`name` without the `data-` prefix).
pub fn set_data(element: &HtmlElement, name: &str, value: &str) {
    // Setting an attribute on a live element cannot fail for valid names.
    let _ = element.set_attribute(&format!("data-{name}"), value);
}
