//! The 2D views' GPU reslicing in headless Chromium, on both browser tiers:
//! WebGPU, and WebGL2 on an offscreen canvas (what a worker gets without
//! WebGPU). Each equals the CPU reslicer, as the native test checks on
//! lavapipe.
#![cfg(target_arch = "wasm32")]
mod common;

use common::{check_slices, patterned_volume};
use glam::{DVec3, UVec3};
use insitu_gpu::{GpuContext, SliceRenderer};
use insitu_volume::Geometry;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn tilted_stack() -> Geometry {
    let tilt = 15f64.to_radians();
    Geometry::new(
        UVec3::new(30, 26, 10),
        [
            DVec3::X * 0.9,
            DVec3::Y * 0.9,
            DVec3::new(0.0, tilt.sin(), tilt.cos()) * 2.5,
        ],
        DVec3::new(5.0, -3.0, 10.0),
    )
    .unwrap()
}

#[wasm_bindgen_test]
async fn webgpu_reslices_like_the_cpu() {
    let ctx = GpuContext::headless().await.expect("WebGPU adapter");
    assert_eq!(ctx.summary.backend, "webgpu", "{}", ctx.summary);
    let renderer = SliceRenderer::new();
    check_slices(
        &ctx,
        &renderer,
        &patterned_volume(tilted_stack(), false),
        "WebGPU i16",
    )
    .await;
    check_slices(
        &ctx,
        &renderer,
        &patterned_volume(tilted_stack(), true),
        "WebGPU f32",
    )
    .await;
}

#[wasm_bindgen_test]
async fn offscreen_webgl2_reslices_like_the_cpu() {
    let ctx = GpuContext::offscreen_webgl()
        .await
        .expect("WebGL2 on an OffscreenCanvas");
    assert_eq!(ctx.summary.backend, "gl", "{}", ctx.summary);
    let offsets: Vec<f64> = (0..10)
        .map(|k| f64::from(k) * 2.5 + if k > 4 { 1.0 } else { 0.0 })
        .collect();
    let volume = patterned_volume(tilted_stack(), false).with_slice_offsets(offsets);
    let renderer = SliceRenderer::new();
    check_slices(&ctx, &renderer, &volume, "WebGL2 i16, non-uniform").await;
    check_slices(
        &ctx,
        &renderer,
        &patterned_volume(tilted_stack(), true),
        "WebGL2 f32",
    )
    .await;
}
