//! Compute and readback on WebGPU in headless Chromium (SwiftShader): the
//! browser tier of the same `insitu-gpu` code the native tests run.
#![cfg(target_arch = "wasm32")]

use insitu_gpu::{GpuContext, Tier};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn webgpu_count_pass_reads_back() {
    let ctx = GpuContext::headless()
        .await
        .expect("WebGPU adapter (Chromium with --enable-unsafe-webgpu)");
    assert_eq!(ctx.summary.backend, "webgpu", "{}", ctx.summary);
    assert_eq!(ctx.summary.tier, Tier::Compute);
    let voxels: Vec<i16> = (0..10_001).map(|i| (i % 700) as i16 - 350).collect();
    let expected = voxels.iter().filter(|&&v| v >= 100).count() as u64;
    assert_eq!(
        insitu_gpu::count_at_or_above(&ctx, &voxels, 100)
            .await
            .unwrap(),
        expected
    );
}
