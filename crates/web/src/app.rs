//! Start-up: GPU tier detection and the first frame.

use insitu_gpu::{CanvasTarget, wgpu};
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

use crate::dom::{by_test_id, document, set_data};

/// Entry point called from `main` once the wasm module is instantiated.
pub fn start() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        init_gpu().await;
        // End-to-end tests wait for this before reading the page.
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-app", "running");
        }
    });
}

/// Decides the GPU tier once and shows it in `gpu-info`.
async fn init_gpu() {
    let info = by_test_id("gpu-info");
    let canvas: HtmlCanvasElement = by_test_id("viewport")
        .dyn_into()
        .expect("viewport is a canvas");
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    canvas.set_width((f64::from(canvas.client_width()) * ratio).round().max(1.0) as u32);
    canvas.set_height((f64::from(canvas.client_height()) * ratio).round().max(1.0) as u32);

    match CanvasTarget::new(canvas).await {
        Ok(target) => {
            let summary = &target.context.summary;
            info.set_text_content(Some(&summary.to_string()));
            set_data(&info, "backend", &summary.backend);
            set_data(&info, "tier", &summary.tier.to_string());
            set_data(&info, "state", "ok");
            let background = wgpu::Color {
                r: 0.02,
                g: 0.03,
                b: 0.05,
                a: 1.0,
            };
            if let Err(e) = target.clear(background) {
                web_sys::console::warn_1(&format!("first frame failed: {e}").into());
            }
            // The target lives as long as the page; later issues hand it to the viewer.
            std::mem::forget(target);
        }
        Err(e) => {
            info.set_text_content(Some(&format!("No GPU: {e}. 2D views only.")));
            set_data(&info, "backend", "none");
            set_data(&info, "tier", "none");
            set_data(&info, "state", "error");
            web_sys::console::warn_1(&format!("GPU unavailable: {e}").into());
        }
    }
}
