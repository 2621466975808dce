//! Saving the 3D view for teaching: a PNG at a chosen size (drawn offscreen
//! at 1×, 2× or 4× the canvas and read back, names included), and a
//! turntable (a full turn about the target) recorded as a WebM video by the
//! browser's own encoder. Everything is made and saved locally.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, HtmlSelectElement};

use super::app;
use super::views::NameWriter;
use crate::dom::{by_test_id, detached_canvas, on, set_data, set_enabled, typed};

/// Frames in a turntable: 5° apart.
const TURNTABLE_FRAMES: u32 = 72;

/// Frames per second the video plays at.
const TURNTABLE_FPS: f64 = 24.0;

/// Hooks up the snapshot controls of the 3D view.
pub fn wire() {
    on(&by_test_id("turntable-3d"), "click", |_: web_sys::Event| {
        wasm_bindgen_futures::spawn_local(save_turntable());
    });
}

/// The size the user chose for PNGs of the 3D view (1, 2 or 4).
fn chosen_scale() -> f64 {
    typed::<HtmlSelectElement>("png-scale")
        .value()
        .parse()
        .unwrap_or(1.0)
}

/// An image of the 3D view as it is now, turned `yaw` further, read back
/// into a 2D canvas with the vertebra names written on it.
async fn frame(scale: f64, yaw: f32) -> Result<HtmlCanvasElement, String> {
    let device = app()
        .scene
        .borrow()
        .as_ref()
        .map(|scene| scene.device())
        .ok_or("no 3D view")?;
    // A drawing the GPU refused is said as such, not as a failed read.
    let scope = device.push_error_scope(insitu_gpu::wgpu::ErrorFilter::Validation);
    let drawn = app()
        .scene
        .borrow_mut()
        .as_mut()
        .and_then(|scene| scene.snapshot(scale, yaw));
    if let Some(error) = scope.pop().await {
        return Err(format!("the GPU refused the drawing: {error}"));
    }
    let (pending, orbit) = drawn.ok_or("nothing is shown in 3D yet")?;
    let (w, h) = pending.size();
    let rgba = pending.rgba().await.map_err(|e| e.to_string())?;
    let (canvas, ctx) = detached_canvas((w, h)).ok_or("no 2D canvas")?;
    let image =
        web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), w, h)
            .map_err(|e| format!("{e:?}"))?;
    let _ = ctx.put_image_data(&image, 0.0, 0.0);
    if let Some(scene) = app().scene.borrow().as_ref() {
        let mut names = NameWriter::new(&ctx, 12.0, super::scene::name_scale(w, h));
        scene.write_names(&mut names, (w, h), &orbit);
    }
    Ok(canvas)
}

/// Saves the 3D view as a PNG at the chosen size; the button says which
/// size it wrote (`data-saved`), for tests.
pub async fn save_png() {
    let scale = chosen_scale();
    match frame(scale, 0.0).await {
        Ok(canvas) => {
            let button = by_test_id("png-3d");
            set_data(
                &button,
                "saved",
                &format!("{}x{}", canvas.width(), canvas.height()),
            );
            let done = Closure::once_into_js(move |blob: JsValue| {
                if let Some(blob) = blob.dyn_ref::<web_sys::Blob>() {
                    super::controls::download_blob(blob, "insitu-3d.png");
                }
            });
            // toBlob encodes off the UI thread.
            let _ = canvas.to_blob(done.unchecked_ref());
        }
        Err(why) => web_sys::console::warn_1(&format!("3D snapshot: {why}").into()),
    }
}

/// Records a full turn about the target as a WebM video (`MediaRecorder`
/// on a canvas stream, one frame requested per image), and saves it.
async fn save_turntable() {
    let button = by_test_id("turntable-3d");
    set_enabled("turntable-3d", false);
    let result = record_turntable(&button).await;
    set_enabled("turntable-3d", true);
    match result {
        Ok(blob) => {
            set_data(&button, "saved", &blob.size().to_string());
            super::controls::download_blob(&blob, "insitu-turntable.webm");
        }
        Err(why) => {
            set_data(&button, "saved", "failed");
            web_sys::console::warn_1(&format!("turntable: {why}").into());
        }
    }
}

async fn record_turntable(button: &web_sys::HtmlElement) -> Result<web_sys::Blob, String> {
    let first = frame(1.0, 0.0).await?;
    let (canvas, ctx) = detached_canvas((first.width(), first.height())).ok_or("no 2D canvas")?;
    // Frames are pushed by hand (rate 0): each image is one video frame
    // however long it took to draw.
    let stream = canvas
        .capture_stream_with_frame_request_rate(0.0)
        .map_err(|e| format!("no canvas stream: {e:?}"))?;
    let track: web_sys::CanvasCaptureMediaStreamTrack = stream
        .get_video_tracks()
        .get(0)
        .dyn_into()
        .map_err(|_| "no video track")?;
    let options = web_sys::MediaRecorderOptions::new();
    options.set_mime_type("video/webm");
    let recorder =
        web_sys::MediaRecorder::new_with_media_stream_and_media_recorder_options(&stream, &options)
            .map_err(|e| format!("no WebM recorder in this browser: {e:?}"))?;
    let chunks = js_sys::Array::new();
    let kept = chunks.clone();
    let on_data = Closure::<dyn FnMut(web_sys::BlobEvent)>::new(move |e: web_sys::BlobEvent| {
        if let Some(data) = e.data() {
            kept.push(&data);
        }
    });
    recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
    let stopped = js_sys::Promise::new(&mut |resolve, _| {
        recorder.set_onstop(Some(&resolve));
    });
    recorder.start().map_err(|e| format!("{e:?}"))?;
    for i in 0..TURNTABLE_FRAMES {
        let image = if i == 0 {
            first.clone()
        } else {
            let yaw = i as f32 / TURNTABLE_FRAMES as f32 * std::f32::consts::TAU;
            frame(1.0, yaw).await?
        };
        let _ = ctx.draw_image_with_html_canvas_element(&image, 0.0, 0.0);
        track.request_frame();
        set_data(button, "frame", &format!("{}/{TURNTABLE_FRAMES}", i + 1));
        super::replies::wait_ms((1000.0 / TURNTABLE_FPS) as i32).await;
    }
    recorder.stop().map_err(|e| format!("{e:?}"))?;
    let _ = wasm_bindgen_futures::JsFuture::from(stopped).await;
    drop(on_data);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("video/webm");
    web_sys::Blob::new_with_blob_sequence_and_options(&chunks, &options)
        .map_err(|e| format!("{e:?}"))
}
