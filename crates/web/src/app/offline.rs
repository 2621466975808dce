//! Offline use: registers the service worker (`www/sw.js`) that keeps the
//! app shell, so after one visit the app starts with no network, as an
//! air-gapped hospital machine needs.

use wasm_bindgen_futures::JsFuture;

use crate::dom::document;

/// Registers the service worker; once it controls the app shell, marks the
/// page `data-offline="ready"` (the end-to-end test waits for it). Failing
/// (a `file:` page, a browser without service workers) only loses offline
/// start-up, so it is logged, not shown as an error.
pub fn register() {
    let Some(container) = web_sys::window().map(|w| w.navigator().service_worker()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = JsFuture::from(container.register("./sw.js")).await {
            web_sys::console::info_2(&"insitu: no offline start-up:".into(), &e);
            return;
        }
        if let Ok(ready) = container.ready()
            && JsFuture::from(ready).await.is_ok()
            && let Some(root) = document().document_element()
        {
            let _ = root.set_attribute("data-offline", "ready");
        }
    });
}
