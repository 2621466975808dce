//! The 3D view's renderer on a real Vulkan driver (lavapipe in CI): a sphere
//! from marching cubes, drawn offscreen and read back, is lit where it should
//! be and background elsewhere.
#![cfg(not(target_arch = "wasm32"))]

use glam::{DVec3, UVec3, Vec3};
use insitu_gpu::{DrawTarget, GpuContext, Orbit, Snapshot, SurfaceRenderer, wgpu};
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
    let target = Snapshot::new(&ctx.device, (w, h), format);
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
        DrawTarget::of(&ctx, &target.view(), (w, h), &orbit),
        &mut encoder,
        wgpu::Color::BLACK,
    );
    let pixels = pollster::block_on(target.finish(&ctx.device, &ctx.queue, encoder).rgba())
        .expect("read back");
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
    let target = Snapshot::new(&ctx.device, (w, h), format);
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
        DrawTarget::of(&ctx, &target.view(), (w, h), &orbit),
        &mut encoder,
        wgpu::Color::BLACK,
    );
    let pixels = pollster::block_on(target.finish(&ctx.device, &ctx.queue, encoder).rgba())
        .expect("read back");
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
