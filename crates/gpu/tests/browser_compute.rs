//! Compute and readback on WebGPU in headless Chromium (SwiftShader): the
//! browser tier of the same `insitu-gpu` code the native tests run.
#![cfg(target_arch = "wasm32")]
mod common;

use common::assert_same;
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

/// The whole marching-cubes pipeline on WebGPU (SwiftShader in CI) equals
/// the CPU extractor, in one slab and in forced small slabs.
#[wasm_bindgen_test]
async fn webgpu_marching_cubes_equals_the_cpu() {
    use glam::{DVec3, UVec3};
    use insitu_mesh::{MarchingOptions, extract_surface};
    use insitu_volume::{Geometry, Volume, Voxels};

    let ctx = GpuContext::headless().await.expect("WebGPU adapter");
    let dims = UVec3::new(20, 18, 14);
    let g = Geometry::axis_aligned(dims, DVec3::new(0.8, 0.8, 1.5), DVec3::new(-5.0, 3.0, 40.0))
        .unwrap();
    // A lumpy blob: a sphere plus ripples, as i16 HU.
    let centre = DVec3::new(9.5, 8.5, 6.5);
    let mut voxels = Vec::new();
    for k in 0..dims.z {
        for j in 0..dims.y {
            for i in 0..dims.x {
                let p = DVec3::new(i.into(), j.into(), k.into());
                let r = (p - centre).length();
                let hu = 600.0 - 90.0 * r + 60.0 * (p.x * 0.9).sin() * (p.y * 0.7).cos();
                voxels.push(hu as i16);
            }
        }
    }
    let volume = Volume::new(g, Voxels::I16(voxels)).unwrap();
    let options = MarchingOptions {
        iso: 100.0,
        close_borders: true,
    };
    let cpu = extract_surface(&volume, options);
    assert!(cpu.triangle_count() > 100);
    let mc = insitu_gpu::GpuMarchingCubes::new(&ctx).unwrap();
    for slab in [None, Some(3)] {
        let (gpu, _) = mc.extract(&ctx, &volume, options, slab).await.unwrap();
        assert_same(&gpu, &cpu, &volume, &format!("lumpy blob, slab {slab:?}"));
    }
}
