//! The 3D view's renderer on a real Vulkan driver (lavapipe in CI): a sphere
//! from marching cubes, drawn offscreen and read back, is lit where it should
//! be and background elsewhere.
#![cfg(not(target_arch = "wasm32"))]

use glam::{DVec3, UVec3, Vec3};
use insitu_gpu::{GpuContext, Orbit, SurfaceRenderer, wgpu};
use insitu_mesh::{SurfaceOptions, extract_surface};
use insitu_volume::{Geometry, Volume, Voxels};

#[test]
fn a_sphere_renders_lit_in_the_middle_and_background_at_the_corners() {
    let ctx = pollster::block_on(GpuContext::headless()).expect("Vulkan adapter (lavapipe)");
    let dims = UVec3::splat(32);
    let g = Geometry::axis_aligned(dims, DVec3::ONE, DVec3::ZERO).unwrap();
    let centre = DVec3::splat(15.5);
    let mut values = Vec::new();
    for k in 0..32 {
        for j in 0..32 {
            for i in 0..32 {
                values.push(
                    (12.0 - (DVec3::new(i.into(), j.into(), k.into()) - centre).length()) as f32,
                );
            }
        }
    }
    let volume = Volume::new(g, Voxels::F32(values)).unwrap();
    let mesh = extract_surface(
        &volume,
        SurfaceOptions {
            iso: 0.0,
            close_borders: true,
        },
    );
    let flat = |v: &[Vec3]| v.iter().flat_map(|p| p.to_array()).collect::<Vec<f32>>();
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();

    let (w, h) = (64u32, 64u32);
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let target = ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let mut renderer = SurfaceRenderer::new(&ctx.device, format);
    renderer.set_mesh(
        &ctx.device,
        &ctx.queue,
        &flat(&mesh.positions),
        &flat(&mesh.normals),
        &indices,
    );
    let orbit = Orbit::framing(Vec3::splat(3.0), Vec3::splat(28.0));
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    renderer.draw(
        &ctx.device,
        &ctx.queue,
        &mut encoder,
        &target.create_view(&Default::default()),
        (w, h),
        &orbit,
        wgpu::Color::BLACK,
    );
    let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: u64::from(w * h * 4),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    encoder.copy_texture_to_buffer(
        target.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w * 4),
                rows_per_image: None,
            },
        },
        wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
    );
    ctx.queue.submit([encoder.finish()]);
    let slice = readback.slice(..);
    slice.map_async(wgpu::MapMode::Read, |r| r.expect("map"));
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    let pixels = slice.get_mapped_range().expect("mapped").to_vec();
    let at = |x: u32, y: u32| &pixels[((y * w + x) * 4) as usize..((y * w + x) * 4 + 3) as usize];
    // Facing the camera at the centre: bright bone colour, red above blue.
    let centre_px = at(w / 2, h / 2);
    assert!(
        centre_px[0] > 180 && centre_px[0] > centre_px[2],
        "centre {centre_px:?}"
    );
    assert_eq!(at(1, 1), &[0, 0, 0], "corner is background");
    let lit = pixels.chunks_exact(4).filter(|p| p[0] > 30).count();
    let fraction = lit as f64 / f64::from(w * h);
    // A sphere of radius 12 framed in a 25 mm box at 35° fov covers about a quarter.
    assert!((0.1..0.6).contains(&fraction), "lit fraction {fraction}");
}
