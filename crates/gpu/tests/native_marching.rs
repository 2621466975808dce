//! GPU marching cubes equals the CPU extractor: same triangles (same vertex
//! ids, same order) and the same vertices within 1e-4 voxel, on synthetic
//! and real volumes, chunked or not. Runs on Mesa lavapipe in CI.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::assert_same;
use glam::{DVec3, UVec3};
use insitu_gpu::{GpuContext, GpuMarchingCubes};
use insitu_mesh::{MarchingOptions, Mesh, extract_surface, topology};
use insitu_volume::{Geometry, Volume, Voxels};

fn context() -> GpuContext {
    pollster::block_on(GpuContext::headless())
        .unwrap_or_else(|e| panic!("{e}: install mesa-vulkan-drivers"))
}

fn gpu_extract(
    ctx: &GpuContext,
    volume: &Volume,
    options: MarchingOptions,
    slab: Option<u32>,
) -> (Mesh, u32) {
    let mc = GpuMarchingCubes::new(ctx).unwrap();
    let (mesh, stats) = pollster::block_on(mc.extract(ctx, volume, options, slab)).unwrap();
    (mesh, stats.slabs)
}

fn noise(dims: UVec3, seed: u64) -> Volume {
    let mut state = seed;
    let g = Geometry::axis_aligned(
        dims,
        DVec3::new(0.7, 0.7, 1.25),
        DVec3::new(-20.0, 5.0, 100.0),
    )
    .unwrap();
    let v = (0..g.voxel_count())
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 3000) as i16 - 1500
        })
        .collect();
    Volume::new(g, Voxels::I16(v)).unwrap()
}

#[test]
fn gpu_equals_cpu_on_random_noise() {
    let ctx = context();
    // Odd plane size exercises the packed-i16 word offset of later slabs.
    let volume = noise(UVec3::new(37, 29, 21), 11);
    for close_borders in [true, false] {
        let options = MarchingOptions {
            iso: 0.0,
            close_borders,
        };
        let cpu = extract_surface(&volume, options);
        let (gpu, _) = gpu_extract(&ctx, &volume, options, None);
        assert_same(
            &gpu,
            &cpu,
            &volume,
            &format!("noise, close_borders={close_borders}"),
        );
    }
}

#[test]
fn gpu_equals_cpu_on_a_sphere_in_float_voxels() {
    let ctx = context();
    let g = Geometry::axis_aligned(UVec3::splat(64), DVec3::ONE, DVec3::ZERO).unwrap();
    let c = DVec3::splat(31.7);
    let mut v = Vec::with_capacity(g.voxel_count());
    for k in 0..64 {
        for j in 0..64 {
            for i in 0..64 {
                v.push((25.0 - (DVec3::new(i as f64, j as f64, k as f64) - c).length()) as f32);
            }
        }
    }
    let volume = Volume::new(g, Voxels::F32(v)).unwrap();
    let options = MarchingOptions {
        iso: 0.0,
        close_borders: true,
    };
    let cpu = extract_surface(&volume, options);
    let (gpu, _) = gpu_extract(&ctx, &volume, options, None);
    assert_same(&gpu, &cpu, &volume, "sphere");
    assert!(topology(&gpu).is_watertight());
}

#[test]
fn chunked_gpu_path_equals_the_unchunked_one() {
    let ctx = context();
    let volume = noise(UVec3::new(33, 30, 26), 5);
    let options = MarchingOptions {
        iso: 200.0,
        close_borders: true,
    };
    let (whole, one) = gpu_extract(&ctx, &volume, options, None);
    assert_eq!(one, 1);
    for slab in [1, 2, 3, 7] {
        let (chunked, slabs) = gpu_extract(&ctx, &volume, options, Some(slab));
        assert!(slabs > 1, "slab {slab}: {slabs} slabs");
        assert_eq!(chunked, whole, "slab of {slab} layers");
    }
}

fn load_largest(dir: &std::path::Path) -> Volume {
    let files: Vec<_> = insitu_volume::files_under(dir)
        .unwrap()
        .into_iter()
        .filter(|f| !f.name.ends_with(".npy") && !f.name.ends_with(".json"))
        .collect();
    let scan = insitu_volume::scan(&files);
    scan.build(scan.largest_series().expect("a series"), &files)
        .unwrap()
        .volume
}

#[test]
fn gpu_equals_cpu_on_the_tilted_real_head_ct_at_300_hu() {
    let ctx = context();
    let fixtures = std::env::var_os("INSITU_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        });
    let volume = load_largest(&fixtures.join("ct-ge-head-tilt"));
    assert!(volume.slice_offsets_mm().is_some(), "non-uniform stack");
    let options = MarchingOptions {
        iso: 300.0,
        close_borders: true,
    };
    let cpu = extract_surface(&volume, options);
    let (gpu, _) = gpu_extract(&ctx, &volume, options, None);
    assert_same(&gpu, &cpu, &volume, "ct-ge-head-tilt @ 300 HU");
    assert!(topology(&gpu).is_watertight());
}

#[test]
fn gpu_equals_cpu_on_the_512x512x300_spine_phantom() {
    let ctx = context();
    let dir = std::path::PathBuf::from(
        std::env::var_os("INSITU_PHANTOMS")
            .expect("INSITU_PHANTOMS unset: run `cargo xtask phantoms`"),
    )
    .join("spine-512");
    let volume = load_largest(&dir);
    assert_eq!(volume.geometry().dims.to_array(), [512, 512, 300]);
    let options = MarchingOptions {
        iso: 300.0,
        close_borders: true,
    };
    let cpu = extract_surface(&volume, options);
    let (gpu, slabs) = gpu_extract(&ctx, &volume, options, None);
    eprintln!("phantom: {slabs} slab(s) on this adapter");
    assert_same(&gpu, &cpu, &volume, "spine phantom 512x512x300 @ 300 HU");
    assert!(cpu.triangle_count() > 100_000);
}
