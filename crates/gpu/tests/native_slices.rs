//! The 2D views resliced on the GPU equal the CPU reslicer, pixel for pixel
//! within a grey level: axis-aligned, sheared (gantry tilt) and non-uniformly
//! spaced stacks, i16 and f32 voxels, zoomed and panned planes, and the real
//! tilted head CT. Runs on Mesa lavapipe in CI.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{check_slices, patterned_volume};
use glam::{DVec3, UVec3};
use insitu_gpu::{GpuContext, SliceRenderer};
use insitu_volume::{Geometry, Volume, Voxels};

fn context() -> GpuContext {
    pollster::block_on(GpuContext::headless())
        .unwrap_or_else(|e| panic!("{e}: install mesa-vulkan-drivers"))
}

fn check_views(ctx: &GpuContext, volume: &Volume, what: &str) {
    pollster::block_on(check_slices(ctx, &SliceRenderer::new(), volume, what));
}

#[test]
fn axis_aligned_i16_and_f32_volumes_reslice_as_on_the_cpu() {
    let ctx = context();
    let g = Geometry::axis_aligned(
        UVec3::new(40, 33, 21),
        DVec3::new(0.8, 0.8, 2.0),
        DVec3::new(-10.0, 4.0, 50.0),
    )
    .unwrap();
    // One renderer for every volume, as the viewer keeps it across studies:
    // i16, then f32, then i16 again through the kept pipelines.
    let renderer = SliceRenderer::new();
    for (float, what) in [
        (false, "axis-aligned i16"),
        (true, "axis-aligned f32"),
        (false, "axis-aligned i16 again"),
    ] {
        pollster::block_on(check_slices(
            &ctx,
            &renderer,
            &patterned_volume(g, float),
            what,
        ));
    }
}

#[test]
fn a_sheared_non_uniform_stack_is_resliced_in_patient_space() {
    let ctx = context();
    // A 20° gantry tilt, and slices at uneven positions.
    let tilt = 20f64.to_radians();
    let g = Geometry::new(
        UVec3::new(36, 30, 12),
        [
            DVec3::X * 0.9,
            DVec3::Y * 0.9,
            DVec3::new(0.0, tilt.sin(), tilt.cos()) * 2.0,
        ],
        DVec3::new(5.0, -3.0, 10.0),
    )
    .unwrap();
    let offsets: Vec<f64> = (0..12)
        .map(|k| f64::from(k) * 2.0 + if k > 6 { 1.5 } else { 0.0 })
        .collect();
    let v = patterned_volume(g, false).with_slice_offsets(offsets);
    assert!(v.slice_offsets_mm().is_some());
    check_views(&ctx, &v, "sheared, non-uniform");
}

#[test]
fn the_real_tilted_head_ct_reslices_as_on_the_cpu() {
    let ctx = context();
    let fixtures = std::env::var_os("INSITU_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        });
    let files: Vec<_> = insitu_volume::files_under(&fixtures.join("ct-ge-head-tilt"))
        .unwrap()
        .into_iter()
        .filter(|f| !f.name.ends_with(".npy") && !f.name.ends_with(".json"))
        .collect();
    let scan = insitu_volume::scan(&files);
    let volume = scan
        .build(scan.largest_series().expect("a series"), &files)
        .unwrap()
        .volume;
    check_views(&ctx, &volume, "ct-ge-head-tilt");
}

#[test]
fn a_volume_beyond_the_3d_texture_limit_is_refused_with_the_limit_named() {
    let ctx = context();
    let limit = ctx.device.limits().max_texture_dimension_3d;
    let g = Geometry::axis_aligned(UVec3::new(limit + 1, 1, 1), DVec3::ONE, DVec3::ZERO).unwrap();
    let v = Volume::new(g, Voxels::I16(vec![0; limit as usize + 1])).unwrap();
    let err = SliceRenderer::new()
        .upload(&ctx, &v)
        .err()
        .expect("refused");
    assert!(err.to_string().contains(&limit.to_string()), "{err}");
}

#[test]
fn a_volume_of_several_slabs_is_copied_a_slab_at_a_time_and_reslices_as_on_the_cpu() {
    // 512 × 512 × 33 i16 voxels: 17.3 MB, two slabs of at most 16 MB (32
    // slices, then 1). The study worker answers requests between slabs.
    let ctx = context();
    let g = Geometry::axis_aligned(
        UVec3::new(512, 512, 33),
        DVec3::new(0.5, 0.5, 2.0),
        DVec3::new(-128.0, -128.0, 10.0),
    )
    .unwrap();
    let volume = patterned_volume(g, false);
    let renderer = SliceRenderer::new();
    let mut upload = renderer.begin_upload(&ctx, &volume).expect("fits");
    let mut slabs = 1;
    while !upload.write_slab(&ctx, &volume) {
        slabs += 1;
    }
    assert_eq!(slabs, 2);
    // Written whole, nothing more is written.
    assert!(upload.write_slab(&ctx, &volume));
    drop(upload.finish());
    // The same path, slab by slab, through `upload`: the views match the
    // CPU's on both sides of the slabs' seam (slice 32).
    check_views(&ctx, &volume, "two slabs");
}
