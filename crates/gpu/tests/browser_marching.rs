//! GPU marching cubes on WebGPU in headless Chromium equals the CPU
//! extractor compiled to wasm32: the same code path the web app uses.
#![cfg(target_arch = "wasm32")]

use glam::{DVec3, UVec3};
use insitu_gpu::{GpuContext, GpuMarchingCubes, Tier};
use insitu_mesh::{SurfaceOptions, extract_surface};
use insitu_volume::{Geometry, Volume, Voxels};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn webgpu_marching_cubes_equals_the_cpu() {
    let ctx = GpuContext::headless()
        .await
        .expect("WebGPU adapter (Chromium with --enable-unsafe-webgpu)");
    assert_eq!(ctx.summary.backend, "webgpu", "{}", ctx.summary);
    assert_eq!(ctx.summary.tier, Tier::Compute);
    let mut state = 9u64;
    let g = Geometry::axis_aligned(
        UVec3::new(23, 19, 17),
        DVec3::new(0.6, 0.6, 1.0),
        DVec3::ZERO,
    )
    .unwrap();
    let voxels = (0..g.voxel_count())
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 2000) as i16 - 1000
        })
        .collect();
    let volume = Volume::new(g, Voxels::I16(voxels)).unwrap();
    let options = SurfaceOptions {
        iso: 0.0,
        close_borders: true,
    };
    let cpu = extract_surface(&volume, options);
    let mc = GpuMarchingCubes::new(&ctx).unwrap();
    for slab in [None, Some(4)] {
        let scope = ctx.device.push_error_scope(insitu_gpu::wgpu::ErrorFilter::Validation);
        let result = mc.extract(&ctx, &volume, options, slab).await;
        if let Some(e) = scope.pop().await {
            panic!("validation error: {e}");
        }
        let (gpu, _) = result.unwrap();
        assert!(
            gpu.triangles == cpu.triangles,
            "triangles differ (slab {slab:?})"
        );
        let worst = gpu
            .positions
            .iter()
            .zip(&cpu.positions)
            .map(|(a, b)| (*a - *b).abs().max_element())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "positions differ by {worst}");
    }
    assert!(cpu.triangle_count() > 1000);
}

#[wasm_bindgen_test]
async fn webgpu_count_pass_reads_back() {
    let ctx = GpuContext::headless().await.expect("WebGPU adapter");
    let voxels: Vec<i16> = (0..10_001).map(|i| (i % 700) as i16 - 350).collect();
    let expected = voxels.iter().filter(|&&v| v >= 100).count() as u64;
    assert_eq!(insitu_gpu::count_at_or_above(&ctx, &voxels, 100).await.unwrap(), expected);
}
