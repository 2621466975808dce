//! The 3D view's renderer on a real Vulkan driver (lavapipe in CI): a sphere
//! from marching cubes, drawn offscreen and read back, is lit where it should
//! be and background elsewhere.
#![cfg(not(target_arch = "wasm32"))]

use glam::{DVec3, UVec3, Vec3};
use insitu_gpu::{
    DrawTarget, GpuContext, MeshArrays, MeshPart, Orbit, Snapshot, SurfaceRenderer, wgpu,
};
use insitu_mesh::{MarchingOptions, extract_surface};
use insitu_volume::{Geometry, Volume, Voxels};

#[test]
fn a_sphere_renders_lit_in_the_middle_and_background_at_the_corners() {
    let ctx = pollster::block_on(GpuContext::headless()).expect("Vulkan adapter (lavapipe)");
    let (positions, normals, indices) = arrays(&sphere_mesh());
    let (w, h) = (64u32, 64u32);
    let mut renderer = SurfaceRenderer::new(&ctx.device, wgpu::TextureFormat::Rgba8Unorm);
    renderer.set_mesh(&ctx.device, &ctx.queue, &positions, &normals, &indices);
    let pixels = frame(&ctx, &mut renderer, None);
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
    let ball = |centre: DVec3| ball_mesh(24, centre - DVec3::splat(11.5), 8.0);
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

/// A ball of `radius` mm centred in a `side`³ grid of 1 mm voxels whose
/// first voxel is at `origin`, as marching cubes makes it.
fn ball_mesh(side: u32, origin: DVec3, radius: f64) -> insitu_mesh::Mesh {
    let g = Geometry::axis_aligned(UVec3::splat(side), DVec3::ONE, origin).unwrap();
    let centre = DVec3::splat(f64::from(side - 1) / 2.0);
    let values = (0..side * side * side)
        .map(|n| {
            let p = DVec3::new(
                (n % side).into(),
                (n / side % side).into(),
                (n / (side * side)).into(),
            );
            (radius - (p - centre).length()) as f32
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
}

/// The sphere of radius 12 mm in a 32³ grid.
fn sphere_mesh() -> insitu_mesh::Mesh {
    ball_mesh(32, DVec3::ZERO, 12.0)
}

/// Flat xyz floats and u32 indices of `mesh`, as the renderer takes them.
fn arrays(mesh: &insitu_mesh::Mesh) -> (Vec<f32>, Vec<f32>, Vec<u32>) {
    let flat = |v: &[Vec3]| v.iter().flat_map(|p| p.to_array()).collect::<Vec<f32>>();
    let indices = mesh.triangles.iter().flatten().copied().collect();
    (flat(&mesh.positions), flat(&mesh.normals), indices)
}

/// A 64² RGBA frame of `renderer` from a fixed camera: a drag frame of
/// drag copy tier `drag_tier` ([`SurfaceRenderer::draw_light`]) or, with
/// `None`, one at rest.
fn frame(ctx: &GpuContext, renderer: &mut SurfaceRenderer, drag_tier: Option<usize>) -> Vec<u8> {
    let size = (64, 64);
    let target = Snapshot::new(&ctx.device, size, wgpu::TextureFormat::Rgba8Unorm);
    let orbit = Orbit::framing(Vec3::splat(3.0), Vec3::splat(28.0));
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    let view = target.view();
    let to = DrawTarget::of(ctx, &view, size, &orbit);
    match drag_tier {
        Some(tier) => renderer.draw_light(to, &mut encoder, wgpu::Color::BLACK, tier),
        None => renderer.draw(to, &mut encoder, wgpu::Color::BLACK),
    }
    pollster::block_on(target.finish(&ctx.device, &ctx.queue, encoder).rgba()).expect("read back")
}

/// A drag frame on a slow GPU draws the surface's lighter copy of the
/// tier asked for: the same shape from fewer triangles; without a copy it
/// draws the surface itself.
#[test]
fn a_drag_frame_draws_the_lighter_copy_of_the_same_shape() {
    let ctx = pollster::block_on(GpuContext::headless()).expect("Vulkan adapter (lavapipe)");
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let mut renderer = SurfaceRenderer::new(&ctx.device, format);
    let mesh = sphere_mesh();
    let (positions, normals, indices) = arrays(&mesh);
    renderer.set_mesh(&ctx.device, &ctx.queue, &positions, &normals, &indices);
    let whole = frame(&ctx, &mut renderer, None);
    assert!(!renderer.has_drag_copy());
    assert_eq!(
        frame(&ctx, &mut renderer, Some(0)),
        whole,
        "no copy: the surface itself"
    );
    let lighter = |most| insitu_mesh::preview::preview(&mesh, most).expect("a copy");
    let copies = [
        lighter(mesh.triangle_count() / 8),
        lighter(mesh.triangle_count() / 32),
    ];
    println!(
        "drag copies: {} and {} of {} triangles",
        copies[0].triangle_count(),
        copies[1].triangle_count(),
        mesh.triangle_count()
    );
    let copy_arrays: Vec<_> = copies.iter().map(arrays).collect();
    renderer.set_drag_copies(&ctx.device, &ctx.queue, copy_arrays.iter().map(as_arrays));
    let light = frame(&ctx, &mut renderer, Some(0));
    let overlap = overlap_of(&whole, &light);
    println!("lit overlap of the copy with the surface: {overlap:.3}");
    assert!(overlap > 0.9, "the same shape: overlap {overlap:.3}");
    assert_ne!(
        light, whole,
        "the copy's coarser facets, not the surface, were drawn"
    );
    let lightest = frame(&ctx, &mut renderer, Some(1));
    let overlap = overlap_of(&whole, &lightest);
    println!("lit overlap of the lightest copy with the surface: {overlap:.3}");
    assert!(overlap > 0.85, "the same shape: overlap {overlap:.3}");
    assert_ne!(lightest, light, "the lighter tier was drawn");
    // A tier beyond those held draws the lightest.
    assert_eq!(frame(&ctx, &mut renderer, Some(5)), lightest);
    // The frame at rest still draws the whole surface.
    assert_eq!(frame(&ctx, &mut renderer, None), whole);
    // A tier of empty arrays is the surface itself at that tier.
    let empty = MeshArrays {
        positions: &[],
        normals: &[],
        indices: &[],
    };
    renderer.set_drag_copies(&ctx.device, &ctx.queue, [empty, as_arrays(&copy_arrays[1])]);
    assert_eq!(frame(&ctx, &mut renderer, Some(0)), whole);
    assert_eq!(frame(&ctx, &mut renderer, Some(1)), lightest);
    // A new surface drops the old copies with it.
    renderer.clear_mesh();
    assert!(!renderer.has_drag_copy());
    // A coloured part (a segment) is dragged as its own copy alike, and
    // empty copies mean "drag it whole".
    let red = [0.9, 0.1, 0.1, 1.0];
    let (positions, normals, indices) = arrays(&mesh);
    for (part, bytes) in [
        (
            MeshPart::Positions,
            bytemuck::cast_slice::<f32, u8>(&positions),
        ),
        (MeshPart::Normals, bytemuck::cast_slice(&normals)),
        (MeshPart::Indices, bytemuck::cast_slice(&indices)),
    ] {
        renderer.upload_part(&ctx.device, &ctx.queue, 1, red, part, bytes);
    }
    let part_whole = frame(&ctx, &mut renderer, None);
    renderer.set_part_drag_copies(
        &ctx.device,
        &ctx.queue,
        1,
        copy_arrays.iter().map(as_arrays),
    );
    let part_light = frame(&ctx, &mut renderer, Some(0));
    let overlap = overlap_of(&part_whole, &part_light);
    assert!(overlap > 0.9, "the part's copy: overlap {overlap:.3}");
    assert_ne!(part_light, part_whole, "the part's copy was drawn");
    assert_ne!(
        frame(&ctx, &mut renderer, Some(1)),
        part_light,
        "the part's lighter tier"
    );
    renderer.set_part_drag_copies(&ctx.device, &ctx.queue, 1, [empty, empty]);
    assert!(!renderer.has_drag_copy());
    assert_eq!(frame(&ctx, &mut renderer, Some(1)), part_whole);
}

/// What [`arrays`] gives, as the renderer takes it.
fn as_arrays((positions, normals, indices): &(Vec<f32>, Vec<f32>, Vec<u32>)) -> MeshArrays<'_> {
    MeshArrays {
        positions,
        normals,
        indices,
    }
}

/// Lit pixels in both of two frames over lit pixels in either.
fn overlap_of(a: &[u8], b: &[u8]) -> f64 {
    let lit = |pixels: &[u8]| -> Vec<bool> { pixels.chunks_exact(4).map(|p| p[0] > 30).collect() };
    let (a, b) = (lit(a), lit(b));
    let both = a.iter().zip(&b).filter(|(x, y)| **x && **y).count();
    let either = a.iter().zip(&b).filter(|(x, y)| **x || **y).count();
    both as f64 / either as f64
}
