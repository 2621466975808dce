//! The 3D view's renderer on a real Vulkan driver (lavapipe in CI): a sphere
//! from marching cubes, drawn offscreen and read back, is lit where it should
//! be and background elsewhere.
#![cfg(not(target_arch = "wasm32"))]

use glam::{DVec3, UVec3, Vec3};
use insitu_gpu::{GpuContext, Orbit, SurfaceRenderer, wgpu};
use insitu_mesh::{MarchingOptions, extract_surface};
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
        MarchingOptions {
            iso: 0.0,
            close_borders: true,
        },
    );
    let flat = |v: &[Vec3]| v.iter().flat_map(|p| p.to_array()).collect::<Vec<f32>>();
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();

    let (w, h) = (64u32, 64u32);
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let target = offscreen_target(&ctx, w, h, format);
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
    let pixels = read_texture(&ctx, &target, w, h, encoder);
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

/// Volume rendering on lavapipe: a bright ball in a dark volume shows in the
/// middle of a MIP and of a composited view, and the corners stay background.
#[test]
fn a_ball_volume_renders_in_mip_and_composite() {
    use insitu_gpu::{VolumeRenderer, VolumeStyle};
    use insitu_volume::display::hu_to_byte;
    let ctx = pollster::block_on(GpuContext::headless()).expect("Vulkan adapter (lavapipe)");
    let n = 32u32;
    let mut bytes = Vec::new();
    for k in 0..n {
        for j in 0..n {
            for i in 0..n {
                let d = DVec3::new(i.into(), j.into(), k.into()) - DVec3::splat(15.5);
                bytes.push(hu_to_byte(if d.length() < 9.0 { 1200.0 } else { -1000.0 }));
            }
        }
    }
    let voxel_to_world = glam::DMat4::from_scale(DVec3::splat(2.0));
    let (w, h) = (48u32, 48u32);
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let mut renderer = VolumeRenderer::new(&ctx.device, format);
    renderer.set_volume(&ctx.device, &ctx.queue, [n, n, n], voxel_to_world, &bytes);
    let orbit = Orbit::framing(Vec3::ZERO, Vec3::splat(62.0));
    for style in [
        VolumeStyle::Mip {
            low: -1000.0,
            high: 1500.0,
        },
        VolumeStyle::Composite {
            low: 200.0,
            high: 700.0,
            color: [0.93, 0.89, 0.8],
        },
    ] {
        let target = offscreen_target(&ctx, w, h, format);
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        renderer.draw(
            &ctx.queue,
            &mut encoder,
            &target.create_view(&Default::default()),
            (w, h),
            &orbit,
            style,
            wgpu::Color::BLACK,
        );
        let pixels = read_texture(&ctx, &target, w, h, encoder);
        let at = |x: u32, y: u32| pixels[((y * w + x) * 4) as usize];
        assert!(
            at(w / 2, h / 2) > 150,
            "{style:?}: centre {}",
            at(w / 2, h / 2)
        );
        assert!(at(1, 1) < 30, "{style:?}: corner {}", at(1, 1));
    }
}

/// Two segments as coloured parts beside the bone mesh: with the bone
/// hidden, the left ball draws red and the right one blue, and a click's
/// ray through each ball's pixel passes through that ball.
#[test]
fn coloured_parts_draw_in_their_colours_and_rays_hit_what_is_drawn() {
    let ctx = pollster::block_on(GpuContext::headless()).expect("Vulkan adapter (lavapipe)");
    let ball = |centre: DVec3| {
        let g = Geometry::axis_aligned(UVec3::splat(24), DVec3::ONE, centre - DVec3::splat(11.5))
            .unwrap();
        let values = (0..24u32 * 24 * 24)
            .map(|n| {
                let p = DVec3::new((n % 24).into(), ((n / 24) % 24).into(), (n / 576).into());
                (8.0 - (p - DVec3::splat(11.5)).length()) as f32
            })
            .collect();
        let volume = Volume::new(g, Voxels::F32(values)).unwrap();
        extract_surface(
            &volume,
            MarchingOptions {
                iso: 0.0,
                close_borders: true,
            },
        )
    };
    let bytes = |v: Vec<f32>| bytemuck::cast_slice::<f32, u8>(&v).to_vec();
    let flat = |v: &[Vec3]| bytes(v.iter().flat_map(|p| p.to_array()).collect());
    let (w, h) = (96u32, 64u32);
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let target = offscreen_target(&ctx, w, h, format);
    let mut renderer = SurfaceRenderer::new(&ctx.device, format);
    // A bone mesh that would hide both balls, hidden.
    let bone = ball(DVec3::ZERO);
    let indices = |m: &insitu_mesh::Mesh| {
        bytemuck::cast_slice::<u32, u8>(
            &m.triangles.iter().flatten().copied().collect::<Vec<u32>>(),
        )
        .to_vec()
    };
    use insitu_gpu::MeshPart;
    renderer.upload(
        &ctx.device,
        &ctx.queue,
        MeshPart::Positions,
        &flat(&bone.positions),
    );
    renderer.upload(
        &ctx.device,
        &ctx.queue,
        MeshPart::Normals,
        &flat(&bone.normals),
    );
    renderer.upload(&ctx.device, &ctx.queue, MeshPart::Indices, &indices(&bone));
    renderer.set_mesh_visible(false);
    for (key, x, color) in [
        (1, -14.0, [1.0, 0.0, 0.0, 1.0]),
        (2, 14.0, [0.0, 0.0, 1.0, 1.0]),
    ] {
        let m = ball(DVec3::new(x, 0.0, 0.0));
        renderer.upload_part(
            &ctx.device,
            &ctx.queue,
            key,
            color,
            MeshPart::Positions,
            &flat(&m.positions),
        );
        renderer.upload_part(
            &ctx.device,
            &ctx.queue,
            key,
            color,
            MeshPart::Normals,
            &flat(&m.normals),
        );
        renderer.upload_part(
            &ctx.device,
            &ctx.queue,
            key,
            color,
            MeshPart::Indices,
            &indices(&m),
        );
    }
    assert_eq!(renderer.part_keys(), vec![1, 2]);
    let orbit = Orbit {
        target: Vec3::ZERO,
        distance: 90.0,
        yaw: 0.0,
        pitch: 0.0,
    };
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
    let pixels = read_texture(&ctx, &target, w, h, encoder);
    let at = |x: u32, y: u32| &pixels[((y * w + x) * 4) as usize..((y * w + x) * 4 + 3) as usize];
    // Seen from the front (anterior, −y), patient left (+x) is on the
    // image's right.
    let (patient_left, patient_right) = (at(w / 2 + 20, h / 2), at(w / 2 - 20, h / 2));
    assert!(
        patient_left[2] > 100 && patient_left[0] < 30,
        "the ball at +x (patient left) blue: {patient_left:?}"
    );
    assert!(
        patient_right[0] > 100 && patient_right[2] < 30,
        "the ball at -x (patient right) red: {patient_right:?}"
    );
    assert_eq!(
        at(w / 2, h / 2),
        &[0, 0, 0],
        "nothing between them: the bone is hidden"
    );
    // The ray through the blue ball's pixel passes within its radius of its centre.
    let aspect = w as f32 / h as f32;
    let ndc = ((w / 2 + 20) as f32 + 0.5) / w as f32 * 2.0 - 1.0;
    let (origin, direction) =
        orbit.ray(aspect, (ndc, 1.0 - (h as f32 / 2.0 + 0.5) / h as f32 * 2.0));
    let centre = Vec3::new(14.0, 0.0, 0.0);
    let closest = origin + direction * (centre - origin).dot(direction);
    assert!(
        (closest - centre).length() < 8.0,
        "ray misses: {origin} {direction}"
    );
    renderer.remove_part(1);
    assert_eq!(renderer.part_keys(), vec![2]);
}

/// A texture to draw into and read back, as a canvas would be.
fn offscreen_target(
    ctx: &GpuContext,
    w: u32,
    h: u32,
    format: wgpu::TextureFormat,
) -> wgpu::Texture {
    ctx.device.create_texture(&wgpu::TextureDescriptor {
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
    })
}

fn read_texture(
    ctx: &GpuContext,
    target: &wgpu::Texture,
    w: u32,
    h: u32,
    mut encoder: wgpu::CommandEncoder,
) -> Vec<u8> {
    let row = (w * 4).next_multiple_of(256);
    let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: u64::from(row * h),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    encoder.copy_texture_to_buffer(
        target.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
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
    let data = slice.get_mapped_range().expect("mapped");
    (0..h)
        .flat_map(|y| data[(y * row) as usize..(y * row + w * 4) as usize].to_vec())
        .collect()
}
