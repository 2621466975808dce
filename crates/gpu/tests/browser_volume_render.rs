//! Volume rendering in headless Chromium on both browser backends: the demo
//! spine drawn with the bone preset through WebGPU and through WebGL2 (an
//! offscreen canvas) gives the same image, read back from a texture (a
//! WebGPU canvas never shows in a headless screenshot), ambient occlusion
//! darkening it alike on both. Each frame's time is logged per backend.
#![cfg(target_arch = "wasm32")]

use glam::DMat4;
use insitu_gpu::{DrawTarget, GpuContext, Orbit, Quality, Snapshot, VolumeRenderer, wgpu};
use insitu_look::{Lighting, Preset};
use insitu_volume::display::RenderGrid;
use insitu_volume::phantom::{PhantomSize, demo_spine};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const SIZE: (u32, u32) = (320, 400);

/// The demo spine at a third of the app's resolution, drawn from the front
/// with the bone preset, as RGBA rows; with the milliseconds a frame takes
/// from encoding to its pixels back (best of three after a first).
async fn spine_image(ctx: &GpuContext, occlusion: f32) -> (Vec<u8>, f64) {
    let volume = demo_spine(PhantomSize {
        matrix: 96,
        slices: 100,
        pixel_mm: 3.6,
        slice_mm: 3.0,
    });
    let grid = RenderGrid::new(&volume, None, VolumeRenderer::max_side(&ctx.device));
    let mut texels = vec![0u16; grid.slice_texels() * grid.dims[2] as usize];
    grid.fill(&volume, 0, &mut texels);
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let mut renderer = VolumeRenderer::new(&ctx.device, format);
    renderer.set_volume(
        &ctx.device,
        &ctx.queue,
        grid.dims,
        DMat4::from_cols_array(&grid.voxel_to_world),
        &texels,
    );
    let mut look = Preset::CtBone.look(volume.value_range());
    look.lighting.occlusion = occlusion;
    renderer.set_look(&ctx.queue, &look, volume.value_range());
    let (low, high) = insitu_volume::reslice::world_bounds(&volume);
    let orbit = Orbit::framing(low.as_vec3(), high.as_vec3());
    // One frame to compile the pipeline and warm the caches, then the best
    // of three, each from encoding to its pixels back on the CPU.
    let mut best = f64::MAX;
    let mut pixels = Vec::new();
    for frame in 0..4 {
        let started = js_sys::Date::now();
        let image = Snapshot::new(&ctx.device, SIZE, format);
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        renderer.draw(
            DrawTarget::of(ctx, &image.view(), image.size(), &orbit),
            &mut encoder,
            Quality::Fine,
            wgpu::Color::BLACK,
        );
        pixels = image
            .finish(&ctx.device, &ctx.queue, encoder)
            .rgba()
            .await
            .expect("read back");
        if frame > 0 {
            best = best.min(js_sys::Date::now() - started);
        }
    }
    (pixels, best)
}

/// Share of pixels brighter than the background.
fn foreground(pixels: &[u8]) -> f64 {
    let lit = pixels
        .chunks_exact(4)
        .filter(|p| u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]) > 60)
        .count();
    lit as f64 / (pixels.len() / 4) as f64
}

#[wasm_bindgen_test]
async fn the_bone_preset_draws_the_same_spine_through_webgpu_and_webgl2() {
    let webgpu = GpuContext::headless().await.expect("WebGPU adapter");
    assert_eq!(webgpu.summary.backend, "webgpu", "{}", webgpu.summary);
    let webgl = GpuContext::offscreen_webgl()
        .await
        .expect("WebGL2 on an OffscreenCanvas");
    let occlusion = Lighting::default().occlusion;
    let (a, a_ms) = spine_image(&webgpu, occlusion).await;
    let (b, b_ms) = spine_image(&webgl, occlusion).await;
    let (fa, fb) = (foreground(&a), foreground(&b));
    let differences: Vec<u32> = a
        .chunks_exact(4)
        .zip(b.chunks_exact(4))
        .map(|(x, y)| {
            (0..3)
                .map(|i| u32::from(x[i].abs_diff(y[i])))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mean = differences.iter().sum::<u32>() as f64 / differences.len() as f64;
    let far = differences.iter().filter(|&&d| d > 24).count() as f64 / differences.len() as f64;
    console_log!(
        "volume rendering frame, demo spine 96x96x100 at {}x{}: WebGPU {a_ms:.0} ms ({:.1}% foreground), WebGL2 {b_ms:.0} ms ({:.1}%); mean difference {mean:.2} levels, {:.2}% of pixels over 24",
        SIZE.0,
        SIZE.1,
        fa * 100.0,
        fb * 100.0,
        far * 100.0
    );
    assert!(fa > 0.05 && fb > 0.05, "the spine shows: {fa} {fb}");
    assert!(mean < 2.0, "mean difference {mean}");
    assert!(far < 0.01, "{far} of pixels differ by more than 24 levels");
    // Ambient occlusion only darkens, and does so on both backends (the
    // gaps between processes, ribs and vertebrae; the spine fills an
    // eighth of the image, so a 0.4% darker image is about 3% darker bone).
    for (name, ctx, occluded) in [("WebGPU", &webgpu, &a), ("WebGL2", &webgl, &b)] {
        let (open, _) = spine_image(ctx, 0.0).await;
        let sum = |p: &[u8]| p.iter().map(|&c| f64::from(c)).sum::<f64>();
        let darker = 1.0 - sum(occluded) / sum(&open);
        let changed = open
            .chunks_exact(4)
            .zip(occluded.chunks_exact(4))
            .filter(|(x, y)| (0..3).any(|i| x[i].abs_diff(y[i]) > 6))
            .count() as f64
            / (open.len() / 4) as f64;
        console_log!(
            "{name}: ambient occlusion {occlusion} darkens the image by {:.1}%, {:.1}% of pixels by over 6 levels",
            darker * 100.0,
            changed * 100.0
        );
        assert!(darker > 0.004, "{name}: occlusion darkened by {darker}");
        assert!(changed > 0.02, "{name}: {changed} of pixels changed");
    }
}

/// A red ball segment drawn first, then a bone ball volume behind it and a
/// muscle haze, composed by depth; the centre pixel (the segment in front).
async fn composed_centre(ctx: &GpuContext) -> [u8; 4] {
    use insitu_gpu::{MeshPart, SurfaceRenderer};
    use insitu_mesh::{MarchingOptions, extract_surface};
    use insitu_volume::{Geometry, Volume, Voxels};
    let n = 24u32;
    let g = Geometry::axis_aligned(
        glam::UVec3::splat(n),
        glam::DVec3::ONE,
        glam::DVec3::splat(-11.5),
    )
    .unwrap();
    let values = (0..n * n * n)
        .map(|i| {
            let p = glam::DVec3::new((i % n).into(), ((i / n) % n).into(), (i / (n * n)).into());
            (5.0 - (p - glam::DVec3::splat(11.5)).length()) as f32
        })
        .collect();
    let mesh = extract_surface(
        &Volume::new(g, Voxels::F32(values)).unwrap(),
        MarchingOptions {
            iso: 0.0,
            close_borders: true,
        },
    );
    let floats = |v: &[glam::Vec3]| -> Vec<u8> {
        bytemuck::cast_slice::<f32, u8>(&v.iter().flat_map(|p| p.to_array()).collect::<Vec<_>>())
            .to_vec()
    };
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let mut surfaces = SurfaceRenderer::new(&ctx.device, format);
    for (part, bytes) in [
        (MeshPart::Positions, floats(&mesh.positions)),
        (MeshPart::Normals, floats(&mesh.normals)),
        (MeshPart::Indices, bytemuck::cast_slice(&indices).to_vec()),
    ] {
        surfaces.upload_part(
            &ctx.device,
            &ctx.queue,
            1,
            [0.9, 0.1, 0.1, 1.0],
            part,
            &bytes,
        );
    }
    let side = 40u32;
    let c = f64::from(side - 1) / 2.0;
    let texels: Vec<u16> = (0..side * side * side)
        .map(|i| {
            let p = glam::DVec3::new(
                (i % side).into(),
                ((i / side) % side).into(),
                (i / (side * side)).into(),
            ) - glam::DVec3::splat(c);
            let hu = if (p - glam::DVec3::new(8.0, 12.0, 0.0)).length() < 8.0 {
                1000.0
            } else {
                -1000.0
            };
            insitu_volume::display::f16_bits(hu)
        })
        .collect();
    let mut volume = VolumeRenderer::new(&ctx.device, format);
    volume.set_volume(
        &ctx.device,
        &ctx.queue,
        [side; 3],
        DMat4::from_translation(-glam::DVec3::splat(c)),
        &texels,
    );
    let range = (-1024.0, 3071.0);
    volume.set_look(&ctx.queue, &Preset::CtBone.look(range), range);
    let mut orbit = Orbit::framing(glam::Vec3::splat(-20.0), glam::Vec3::splat(20.0));
    orbit.pitch = 0.0;
    let size = (96, 96);
    let image = Snapshot::new(&ctx.device, size, format);
    let view = image.view();
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    let to = DrawTarget::of(ctx, &view, size, &orbit);
    surfaces.draw_parts(to, &mut encoder, wgpu::Color::BLACK);
    volume.draw_over(
        to,
        &mut encoder,
        Quality::Fine,
        surfaces.depth().expect("drawn"),
    );
    let pixels = image
        .finish(&ctx.device, &ctx.queue, encoder)
        .rgba()
        .await
        .expect("read back");
    let at = |x: u32, y: u32| {
        let i = ((y * size.0 + x) * 4) as usize;
        [pixels[i], pixels[i + 1], pixels[i + 2], 0]
    };
    let (centre, bone) = (at(48, 48), at(48 + 16, 48));
    [centre[0], centre[1], bone[0], bone[1]]
}

#[wasm_bindgen_test]
async fn segments_and_the_volume_compose_by_depth_on_webgpu_and_webgl2() {
    for ctx in [
        GpuContext::offscreen_webgl().await.expect("WebGL2"),
        GpuContext::headless().await.expect("WebGPU adapter"),
    ] {
        let [red_r, red_g, bone_r, bone_g] = composed_centre(&ctx).await;
        console_log!(
            "{}: segment pixel ({red_r}, {red_g}), bone pixel ({bone_r}, {bone_g})",
            ctx.summary.backend
        );
        assert!(
            red_r > 120 && red_r > 2 * red_g,
            "{}: the segment shows",
            ctx.summary.backend
        );
        assert!(
            bone_g > 60,
            "{}: the volume's bone shows beside it",
            ctx.summary.backend
        );
    }
}
