//! What "GPU marching cubes equals the CPU" means, shared by the native
//! (lavapipe) and in-browser (WebGPU) tests.
#![allow(dead_code)]

use insitu_gpu::{GpuContext, SliceRenderer, SliceView};
use insitu_mesh::Mesh;
use insitu_volume::reslice::{Plane, ViewAxis, sample, world_bounds};
use insitu_volume::{Geometry, Volume, Voxels};

/// Same triangles (same vertex ids, same order), vertices within 1e-4 voxel,
/// normals agreeing within 8° on 99.9% of vertices.
pub fn assert_same(gpu: &Mesh, cpu: &Mesh, volume: &Volume, what: &str) {
    assert_eq!(
        gpu.triangles.len(),
        cpu.triangles.len(),
        "{what}: triangle count"
    );
    assert_eq!(
        gpu.positions.len(),
        cpu.positions.len(),
        "{what}: vertex count"
    );
    assert!(
        gpu.triangles == cpu.triangles,
        "{what}: triangle indices differ"
    );
    let voxel = volume.geometry().spacing().max_element() as f32;
    let worst = gpu
        .positions
        .iter()
        .zip(&cpu.positions)
        .map(|(a, b)| (*a - *b).abs().max_element())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-4 * voxel,
        "{what}: vertices differ by {worst} mm"
    );
    let normals_agree = gpu
        .normals
        .iter()
        .zip(&cpu.normals)
        .filter(|(a, b)| a.dot(**b) > 0.99)
        .count();
    eprintln!(
        "{what}: normals agreeing within 8°: {normals_agree} of {}",
        gpu.normals.len()
    );
    assert!(
        normals_agree * 1000 >= gpu.normals.len() * 999,
        "{what}: normals differ"
    );
    eprintln!(
        "{what}: {} triangles, {} vertices, max |Δ| {worst:e} mm",
        gpu.triangles.len(),
        gpu.positions.len()
    );
}

/// The CPU's windowed grey for one resliced value (NaN outside: black), as
/// the viewer's CPU path draws it.
pub fn cpu_grey(value: f32, window: f64, level: f64) -> u8 {
    if value.is_nan() {
        return 0;
    }
    let low = (level - window / 2.0) as f32;
    let scale = (255.0 / window.max(1e-6)) as f32;
    ((value - low) * scale).clamp(0.0, 255.0) as u8
}

/// GPU reslicing equals the CPU's: opaque grey pixels, at most one grey
/// level apart on 99.5% of pixels (f32 vs f64 stepping and interpolation
/// order), and never more than 0.5% of pixels in or out of the volume on
/// only one side (a voxel face exactly on a pixel centre). Returns how many
/// pixels are inside the volume, so callers can check the view is not empty.
pub fn assert_same_slice(
    gpu_rgba: &[u8],
    cpu_values: &[f32],
    window: f64,
    level: f64,
    what: &str,
) -> usize {
    assert_eq!(gpu_rgba.len(), cpu_values.len() * 4, "{what}: pixel count");
    let (mut close, mut worst, mut inside) = (0usize, 0u8, 0usize);
    for (px, &value) in gpu_rgba.chunks_exact(4).zip(cpu_values) {
        assert!(
            px[0] == px[1] && px[1] == px[2] && px[3] == 255,
            "{what}: not opaque grey: {px:?}"
        );
        let want = cpu_grey(value, window, level);
        let diff = px[0].abs_diff(want);
        worst = worst.max(diff);
        close += usize::from(diff <= 1);
        inside += usize::from(!value.is_nan());
    }
    let n = cpu_values.len();
    eprintln!(
        "{what}: {close} of {n} pixels within one grey level (worst {worst}), {inside} inside"
    );
    assert!(
        close * 1000 >= n * 995,
        "{what}: only {close} of {n} pixels agree"
    );
    inside
}

/// A volume with smooth structure plus texture, so interpolation errors
/// would show; i16 or f32 voxels.
pub fn patterned_volume(geometry: Geometry, float: bool) -> Volume {
    let d = geometry.dims;
    let mut values = Vec::with_capacity(geometry.voxel_count());
    for k in 0..d.z {
        for j in 0..d.y {
            for i in 0..d.x {
                let (x, y, z) = (f64::from(i), f64::from(j), f64::from(k));
                let texture = f64::from((i * 7 + j * 13 + k * 29) % 17) * 11.0;
                values.push(
                    (800.0 * (x * 0.21).sin() * (y * 0.13).cos() + 40.0 * z - 300.0 + texture)
                        as f32,
                );
            }
        }
    }
    let voxels = if float {
        Voxels::F32(values.iter().map(|v| v + 0.25).collect())
    } else {
        Voxels::I16(values.iter().map(|&v| v.round() as i16).collect())
    };
    Volume::new(geometry, voxels).unwrap()
}

/// Every view axis through a few points, at two zooms and a pan, resliced
/// on the GPU in one submission: each equals the CPU reslicer and shows
/// part of the volume, and those through the middle more than a few grey
/// levels.
/// `renderer` may have drawn other volumes before: its pipelines are kept.
pub async fn check_slices(ctx: &GpuContext, renderer: &SliceRenderer, volume: &Volume, what: &str) {
    let uploaded = renderer.upload(ctx, volume).expect("volume fits the GPU");
    let bounds = world_bounds(volume);
    let mut views = Vec::new();
    for axis in ViewAxis::ALL {
        for (through, zoom, pan) in [
            (0.5, 1.0, (0.0, 0.0)),
            (0.3, 2.5, (3.0, -2.0)),
            (0.0, 1.0, (0.0, 0.0)),
        ] {
            let point = bounds.0 + (bounds.1 - bounds.0) * through;
            let plane = Plane::fit(volume, axis, point, (97, 64), zoom, pan);
            views.push(SliceView {
                plane,
                window: 1500.0,
                level: 200.0,
            });
        }
    }
    let images = renderer.render(ctx, &uploaded, &views).await.unwrap();
    for (n, (view, rgba)) in views.iter().zip(&images).enumerate() {
        let mut values = vec![0.0; (view.plane.width * view.plane.height) as usize];
        sample(volume, &view.plane, &mut values);
        let inside = assert_same_slice(rgba, &values, view.window, view.level, what);
        assert!(inside > 0, "{what}: the view shows the volume");
        let mut levels = [false; 256];
        for px in rgba.chunks_exact(4) {
            levels[px[0] as usize] = true;
        }
        let levels = levels.iter().filter(|&&l| l).count();
        // The views through the middle show structure (at the faces there
        // may be only air).
        let through_middle = n % 3 == 0;
        assert!(
            !through_middle || levels > 8,
            "{what}: only {levels} grey levels"
        );
    }
}
