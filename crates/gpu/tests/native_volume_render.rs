//! Volume rendering on a real Vulkan driver (lavapipe in CI): known volumes
//! drawn offscreen and read back. A lit ball is brighter on the light's
//! side, a clip plane removes exactly the half it should, a transfer
//! function that makes soft tissue transparent shows the bone behind it,
//! and the projections (MIP, MinIP, mean) show what they should.
#![cfg(not(target_arch = "wasm32"))]

use glam::{DMat4, DVec3, Vec3};
use insitu_gpu::{DrawTarget, GpuContext, Orbit, Quality, Snapshot, VolumeRenderer, wgpu};
use insitu_look::{ClipPlane, Look, Point, Preset, TransferFunction};
use insitu_volume::display::f16_bits;

const N: u32 = 40;
const SIZE: u32 = 96;
const CT: (f32, f32) = (-1024.0, 3071.0);

/// An `N`³ grid at 1 mm whose HU at voxel centre `p` (mm from the grid's
/// centre) is `hu(p)`.
fn volume(hu: impl Fn(DVec3) -> f32) -> Vec<u16> {
    let centre = DVec3::splat(f64::from(N - 1) / 2.0);
    let mut texels = Vec::with_capacity((N * N * N) as usize);
    for k in 0..N {
        for j in 0..N {
            for i in 0..N {
                let p = DVec3::new(i.into(), j.into(), k.into()) - centre;
                texels.push(f16_bits(hu(p)));
            }
        }
    }
    texels
}

/// Draws `texels` with `look` from the front (anterior, −y), straight on,
/// and returns RGBA rows of a `SIZE`² image.
fn render(ctx: &GpuContext, texels: &[u16], look: &Look) -> Vec<u8> {
    render_with(
        ctx,
        texels,
        look,
        Quality::Fine,
        wgpu::TextureFormat::Rgba8Unorm,
    )
}

/// [`render`] at a chosen quality into a chosen format.
fn render_with(
    ctx: &GpuContext,
    texels: &[u16],
    look: &Look,
    quality: Quality,
    format: wgpu::TextureFormat,
) -> Vec<u8> {
    render_skipping(ctx, texels, look, quality, format, true)
}

/// [`render_with`], skipping empty bricks or not.
fn render_skipping(
    ctx: &GpuContext,
    texels: &[u16],
    look: &Look,
    quality: Quality,
    format: wgpu::TextureFormat,
    skipping: bool,
) -> Vec<u8> {
    let mut renderer = VolumeRenderer::new(&ctx.device, format);
    renderer.set_empty_space_skipping(skipping);
    let centre = DVec3::splat(f64::from(N - 1) / 2.0);
    renderer.set_volume(
        &ctx.device,
        &ctx.queue,
        [N; 3],
        DMat4::from_translation(-centre),
        texels,
    );
    renderer.set_look(&ctx.queue, look, CT);
    let mut orbit = Orbit::framing(Vec3::splat(-20.0), Vec3::splat(20.0));
    orbit.pitch = 0.0;
    let target = Snapshot::new(&ctx.device, (SIZE, SIZE), format);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    renderer.draw(
        DrawTarget::of(ctx, &target.view(), (SIZE, SIZE), &orbit),
        &mut encoder,
        quality,
        wgpu::Color::BLACK,
    );
    pollster::block_on(target.finish(&ctx.device, &ctx.queue, encoder).rgba()).expect("read back")
}

fn pixel(pixels: &[u8], x: u32, y: u32) -> [u8; 3] {
    let at = ((y * SIZE + x) * 4) as usize;
    [pixels[at], pixels[at + 1], pixels[at + 2]]
}

fn brightness(pixels: &[u8], x: u32, y: u32) -> u32 {
    pixel(pixels, x, y).iter().map(|&c| u32::from(c)).sum()
}

/// Mean brightness over a 5×5 patch centred at (x, y).
fn patch(pixels: &[u8], x: u32, y: u32) -> f64 {
    let mut sum = 0;
    for dy in 0..5 {
        for dx in 0..5 {
            sum += brightness(pixels, x + dx - 2, y + dy - 2);
        }
    }
    f64::from(sum) / 25.0
}

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::headless()).expect("Vulkan adapter (lavapipe)")
}

fn ball(radius: f64) -> Vec<u16> {
    volume(|p| if p.length() < radius { 1000.0 } else { -1000.0 })
}

#[test]
fn a_lit_ball_is_brighter_on_the_side_the_light_comes_from() {
    let ctx = gpu();
    let texels = ball(12.0);
    let mut look = Preset::CtBone.look(CT);
    // The light comes from the camera's upper left.
    look.lighting.from_camera = [-0.6, 0.6, 0.5];
    let lit = render(&ctx, &texels, &look);
    // Pixel x's centre is x + 0.5: columns c − r − 1 and c + r lie alike
    // about the image's centre line.
    let (c, r) = (SIZE / 2, 9);
    let (near, far) = (c - r - 1, c + r);
    let upper_left = patch(&lit, near, near);
    let lower_right = patch(&lit, far, far);
    println!("lit ball: upper left {upper_left:.0}, lower right {lower_right:.0}");
    assert!(
        upper_left > lower_right * 1.3,
        "light side {upper_left} vs far side {lower_right}"
    );
    assert_eq!(pixel(&lit, 1, 1), [0, 0, 0], "the corner is background");
    // Unlit, the two sides are alike: the difference is the shading's.
    look.lighting.enabled = false;
    let flat = render(&ctx, &texels, &look);
    let (a, b) = (patch(&flat, near, near), patch(&flat, far, far));
    assert!((a - b).abs() < a * 0.1, "unlit sides {a} vs {b}");
    // The light follows the camera: from the lower right it flips.
    look.lighting.enabled = true;
    look.lighting.from_camera = [0.6, -0.6, 0.5];
    let flipped = render(&ctx, &texels, &look);
    assert!(patch(&flipped, far, far) > patch(&flipped, near, near) * 1.3);
}

#[test]
fn ambient_occlusion_darkens_the_bottom_of_a_pit_and_leaves_an_open_face_alone() {
    let ctx = gpu();
    // A bone block whose face (y = −6 mm) looks at the camera, with a pit
    // 7 mm wide and 10 mm deep drilled into it towards the camera.
    let texels = volume(|p| {
        let pit = p.x.abs() < 3.5 && p.z.abs() < 3.5 && p.y < 4.0;
        if p.y > -6.0 && !pit { 1000.0 } else { -1000.0 }
    });
    let mut look = Preset::CtBone.look(CT);
    look.lighting.occlusion = 0.0;
    let plain = render(&ctx, &texels, &look);
    look.lighting.occlusion = 1.0;
    let occluded = render(&ctx, &texels, &look);
    let c = SIZE / 2;
    let (floor_plain, floor_occluded) = (patch(&plain, c, c), patch(&occluded, c, c));
    let face = (c + 20, c);
    let (face_plain, face_occluded) = (
        patch(&plain, face.0, face.1),
        patch(&occluded, face.0, face.1),
    );
    println!(
        "pit floor {floor_plain:.0} -> {floor_occluded:.0} with occlusion; open face {face_plain:.0} -> {face_occluded:.0}"
    );
    assert!(
        floor_plain > 150.0,
        "the pit's floor is seen: {floor_plain}"
    );
    assert!(
        floor_occluded < floor_plain * 0.8,
        "the floor darkens: {floor_plain} -> {floor_occluded}"
    );
    assert!(face_plain > 150.0, "the face is seen: {face_plain}");
    assert!(
        (face_occluded - face_plain).abs() <= face_plain * 0.03,
        "an open face keeps its shade: {face_plain} -> {face_occluded}"
    );
}

#[test]
fn a_clip_plane_removes_exactly_the_half_it_should() {
    let ctx = gpu();
    let texels = ball(12.0);
    let look = Preset::CtBone.look(CT);
    let whole = render(&ctx, &texels, &look);
    let shown = |pixels: &[u8], x: u32, y: u32| brightness(pixels, x, y) > 30;
    let mut clipped_look = look.clone();
    // Keep x ≥ the middle: patient left, the right of the image from the front.
    clipped_look.clip = Some(ClipPlane::across_axis(0, 0.0, false));
    let clipped = render(&ctx, &texels, &clipped_look);
    let (mut before, mut after, mut wrong_side) = (0, 0, 0);
    for y in 0..SIZE {
        for x in 0..SIZE {
            before += u32::from(shown(&whole, x, y));
            let kept = shown(&clipped, x, y);
            after += u32::from(kept);
            // Image column SIZE/2 is the plane (one pixel of slack for
            // the perspective of the cut face).
            if kept && x + 1 < SIZE / 2 {
                wrong_side += 1;
            }
        }
    }
    let fraction = f64::from(after) / f64::from(before);
    println!("clip: {after} of {before} pixels kept ({fraction:.3}), {wrong_side} on the cut side");
    assert!(before > 500, "the ball shows ({before} pixels)");
    assert_eq!(wrong_side, 0, "nothing drawn on the removed side");
    assert!(
        (0.45..0.55).contains(&fraction),
        "kept {fraction} of the ball"
    );
    // Flipped, the other half stays.
    let mut other = look.clone();
    other.clip = Some(ClipPlane::across_axis(0, 0.0, true));
    let other = render(&ctx, &texels, &other);
    assert!(shown(&other, SIZE / 2 - 6, SIZE / 2) && !shown(&other, SIZE / 2 + 6, SIZE / 2));
}

#[test]
fn making_soft_tissue_transparent_shows_the_bone_behind_it() {
    let ctx = gpu();
    // A bone ball behind a slab of muscle (40 HU) on the camera's side (−y).
    let texels = volume(|p| {
        if (p - DVec3::new(0.0, 7.0, 0.0)).length() < 8.0 {
            1000.0
        } else if p.y < -4.0 && p.x.abs() < 15.0 && p.z.abs() < 15.0 {
            40.0
        } else {
            -1000.0
        }
    });
    let bone = render(&ctx, &texels, &Preset::CtBone.look(CT));
    let c = SIZE / 2;
    let [r, g, b] = pixel(&bone, c, c);
    println!("bone preset at the centre: {:?}", [r, g, b]);
    assert!(
        r > 120 && g > 100 && b > 80,
        "bone shows through: {:?}",
        [r, g, b]
    );
    // The same volume with muscle opaque and red: the bone is hidden.
    let mut opaque = Preset::CtBone.look(CT);
    opaque.transfer = TransferFunction::new(vec![
        Point {
            value: -200.0,
            opacity: 0.0,
            color: [0.8, 0.1, 0.1],
        },
        Point {
            value: 0.0,
            opacity: 0.9,
            color: [0.8, 0.1, 0.1],
        },
        Point {
            value: 3071.0,
            opacity: 0.9,
            color: [0.8, 0.1, 0.1],
        },
    ]);
    let muscle = render(&ctx, &texels, &opaque);
    let [r, g, b] = pixel(&muscle, c, c);
    println!("opaque muscle at the centre: {:?}", [r, g, b]);
    assert!(
        r > 2 * g.max(b) && r > 60,
        "muscle in front: {:?}",
        [r, g, b]
    );
    // The soft-tissue preset shows the muscle too: a different image.
    let soft = render(&ctx, &texels, &Preset::CtSoftTissue.look(CT));
    let differing = soft
        .chunks_exact(4)
        .zip(bone.chunks_exact(4))
        .filter(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 8))
        .count();
    assert!(differing > 200, "{differing} pixels differ");
}

#[test]
fn projections_show_the_brightest_the_darkest_and_the_mean() {
    let ctx = gpu();
    // A block of muscle with an air pocket in the middle and a bone bead
    // beside it.
    let texels = volume(|p| {
        if (p - DVec3::new(9.0, 0.0, 0.0)).length() < 3.0 {
            1200.0
        } else if p.length() < 4.0 {
            -900.0
        } else {
            40.0
        }
    });
    let c = SIZE / 2;
    let mip = render(&ctx, &texels, &Preset::Mip.look(CT));
    let min_ip = render(&ctx, &texels, &Preset::MinIp.look(CT));
    let mean = render(&ctx, &texels, &Preset::XRay.look(CT));
    // The bead is white in the MIP, the pocket behind muscle is not.
    let bead_x = c + 12;
    println!(
        "MIP bead {}, centre {}; MinIP centre {}, muscle {}; mean centre {}, corner {}",
        brightness(&mip, bead_x, c),
        brightness(&mip, c, c),
        brightness(&min_ip, c, c),
        brightness(&min_ip, c - 14, c),
        brightness(&mean, c, c),
        brightness(&mean, c - 14, c),
    );
    assert!(brightness(&mip, bead_x, c) > 500);
    assert!(brightness(&mip, bead_x, c) > brightness(&mip, c, c) + 150);
    // The MinIP finds the pocket (darkest) inside the muscle (brighter).
    assert!(brightness(&min_ip, c - 14, c) > brightness(&min_ip, c, c) + 100);
    // The mean through the pocket is darker than through muscle alone.
    assert!(brightness(&mean, c - 14, c) > brightness(&mean, c, c) + 30);
}

#[test]
fn a_frame_while_dragging_is_a_coarser_copy_of_the_fine_one_in_any_canvas_format() {
    let ctx = gpu();
    let texels = ball(12.0);
    let look = Preset::CtBone.look(CT);
    let fine = render(&ctx, &texels, &look);
    // WebGPU canvases are BGRA: read back, the image is the same.
    let bgra = render_with(
        &ctx,
        &texels,
        &look,
        Quality::Fine,
        wgpu::TextureFormat::Bgra8Unorm,
    );
    assert_eq!(fine, bgra, "BGRA read back as RGBA");
    let moving = render_with(
        &ctx,
        &texels,
        &look,
        Quality::Moving(2),
        wgpu::TextureFormat::Rgba8Unorm,
    );
    let c = SIZE / 2;
    assert!(
        brightness(&moving, c, c) > 400,
        "the ball shows while moving"
    );
    assert_eq!(pixel(&moving, 1, 1), [0, 0, 0]);
    let mean_difference = fine
        .iter()
        .zip(&moving)
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / fine.len() as f64;
    println!("moving vs fine: mean difference {mean_difference:.1} levels");
    assert!(mean_difference < 12.0, "{mean_difference}");
}

#[test]
fn skipping_empty_bricks_leaves_the_image_as_it_was() {
    let ctx = gpu();
    // Bone beads in air and muscle: many bricks the bone table hides, and
    // many a MIP ray can skip once it has met bone.
    let texels = volume(|p| {
        let bead = (p - DVec3::new(5.0, -3.0, 2.0)).length() < 5.0
            || (p - DVec3::new(-8.0, 6.0, -6.0)).length() < 3.0;
        if bead {
            1100.0
        } else if p.length() < 16.0 {
            40.0
        } else {
            -1000.0
        }
    });
    // For MinIP: muscle throughout with an air pocket to find.
    let pocket = volume(|p| {
        if (p - DVec3::new(-4.0, 2.0, 3.0)).length() < 4.0 {
            -800.0
        } else {
            40.0
        }
    });
    for (preset, texels) in [
        (Preset::CtBone, &texels),
        (Preset::Mip, &texels),
        (Preset::MinIp, &pocket),
    ] {
        let look = preset.look(CT);
        let format = wgpu::TextureFormat::Rgba8Unorm;
        let skipped = render_skipping(&ctx, texels, &look, Quality::Fine, format, true);
        let every = render_skipping(&ctx, texels, &look, Quality::Fine, format, false);
        let differing = pixels_differing(&skipped, &every);
        assert_eq!(differing, 0, "{preset:?}: {differing} pixels changed");
        // The image is not blank: the skipping had something to keep.
        let distinct: std::collections::HashSet<&[u8]> = skipped.chunks_exact(4).collect();
        assert!(
            distinct.len() > 20,
            "{preset:?} shows ({} colours)",
            distinct.len()
        );
    }
}

/// A ball of radius 5 mm at `centre` as marching cubes draws it, as the
/// arrays a part is uploaded in.
fn ball_mesh(centre: DVec3) -> [(insitu_gpu::MeshPart, Vec<u8>); 3] {
    use insitu_gpu::MeshPart;
    use insitu_mesh::{MarchingOptions, extract_surface};
    use insitu_volume::{Geometry, Volume, Voxels};
    let n = 24u32;
    let g = Geometry::axis_aligned(
        glam::UVec3::splat(n),
        DVec3::ONE,
        centre - DVec3::splat(11.5),
    )
    .unwrap();
    let values = (0..n * n * n)
        .map(|i| {
            let p = DVec3::new((i % n).into(), ((i / n) % n).into(), (i / (n * n)).into());
            (5.0 - (p - DVec3::splat(11.5)).length()) as f32
        })
        .collect();
    let mesh = extract_surface(
        &Volume::new(g, Voxels::F32(values)).unwrap(),
        MarchingOptions {
            iso: 0.0,
            close_borders: true,
        },
    );
    let floats = |v: &[Vec3]| -> Vec<u8> {
        bytemuck::cast_slice::<f32, u8>(&v.iter().flat_map(|p| p.to_array()).collect::<Vec<_>>())
            .to_vec()
    };
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();
    [
        (MeshPart::Positions, floats(&mesh.positions)),
        (MeshPart::Normals, floats(&mesh.normals)),
        (MeshPart::Indices, bytemuck::cast_slice(&indices).to_vec()),
    ]
}

/// A red segment (a ball mesh) drawn first, then the volume over it.
fn composed(ctx: &GpuContext, texels: &[u16], look: &Look, segment_centre: DVec3) -> Vec<u8> {
    composed_at(
        ctx,
        texels,
        look,
        &[segment_centre],
        Drawing::Once(Quality::Fine),
    )
}

/// How a test frame is drawn: in one pass at a quality, or at rest in steps
/// each submitted alone (as a slow GPU gets them): the segments this many
/// triangles at a time, then the rays this many rows at a time.
#[derive(Clone, Copy)]
enum Drawing {
    Once(Quality),
    Steps { triangles: u64, rows: u32 },
}

/// [`composed`] drawn as `drawing` says (a drag frame draws both smaller),
/// with a ball segment at each of `segment_centres` (red, then blue), or
/// the volume alone without any.
fn composed_at(
    ctx: &GpuContext,
    texels: &[u16],
    look: &Look,
    segment_centres: &[DVec3],
    drawing: Drawing,
) -> Vec<u8> {
    use insitu_gpu::SurfaceRenderer;
    let format = wgpu::TextureFormat::Rgba8Unorm;
    let mut surfaces = SurfaceRenderer::new(&ctx.device, format);
    let colours = [[0.9, 0.1, 0.1, 1.0], [0.1, 0.2, 0.9, 1.0]];
    for (key, (&centre, colour)) in segment_centres.iter().zip(colours).enumerate() {
        for (part, bytes) in ball_mesh(centre) {
            surfaces.upload_part(
                &ctx.device,
                &ctx.queue,
                key as u32 + 1,
                colour,
                part,
                &bytes,
            );
        }
    }
    let mut volume = VolumeRenderer::new(&ctx.device, format);
    let centre = DVec3::splat(f64::from(N - 1) / 2.0);
    volume.set_volume(
        &ctx.device,
        &ctx.queue,
        [N; 3],
        DMat4::from_translation(-centre),
        texels,
    );
    volume.set_look(&ctx.queue, look, CT);
    let mut orbit = Orbit::framing(Vec3::splat(-20.0), Vec3::splat(20.0));
    orbit.pitch = 0.0;
    let target = Snapshot::new(&ctx.device, (SIZE, SIZE), format);
    let view = target.view();
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    match drawing {
        Drawing::Once(quality) if surfaces.has_parts() => volume.draw_with_parts(
            &mut surfaces,
            DrawTarget::of(ctx, &view, (SIZE, SIZE), &orbit),
            &mut encoder,
            quality,
            wgpu::Color::BLACK,
        ),
        Drawing::Once(quality) => volume.draw(
            DrawTarget::of(ctx, &view, (SIZE, SIZE), &orbit),
            &mut encoder,
            quality,
            wgpu::Color::BLACK,
        ),
        Drawing::Steps { triangles, rows } => {
            let refined = volume.refined_view(&ctx.device, (SIZE, SIZE));
            let total = surfaces.parts_triangles();
            let mut first = 0;
            while surfaces.has_parts() {
                let span = first..(first + triangles).min(total);
                first = span.end;
                let mut step = ctx.device.create_command_encoder(&Default::default());
                volume.draw_parts_step(
                    &mut surfaces,
                    DrawTarget::of(ctx, &refined, (SIZE, SIZE), &orbit),
                    &mut step,
                    span,
                    wgpu::Color::BLACK,
                );
                ctx.queue.submit([step.finish()]);
                if first >= total {
                    break;
                }
            }
            for start in (0..SIZE).step_by(rows as usize) {
                let mut band = ctx.device.create_command_encoder(&Default::default());
                volume.draw_rows(
                    &surfaces,
                    DrawTarget::of(ctx, &refined, (SIZE, SIZE), &orbit),
                    &mut band,
                    start..(start + rows).min(SIZE),
                    wgpu::Color::BLACK,
                );
                ctx.queue.submit([band.finish()]);
            }
            volume.show_refined(&mut encoder, &view, wgpu::Color::BLACK);
        }
    }
    pollster::block_on(target.finish(&ctx.device, &ctx.queue, encoder).rgba()).expect("read back")
}

/// Bone behind the middle (+y, away from the camera) and a bone plate in
/// front of the lower half (−y, towards it).
fn bone_behind_and_plate_in_front() -> Vec<u16> {
    volume(|p| {
        if (p - DVec3::new(0.0, 12.0, 0.0)).length() < 10.0 || (p.y < -12.0 && p.z < -4.0) {
            1000.0
        } else {
            -1000.0
        }
    })
}

/// Pixels whose channels differ by more than 1 between two RGBA images.
fn pixels_differing(a: &[u8], b: &[u8]) -> usize {
    a.chunks_exact(4)
        .zip(b.chunks_exact(4))
        .filter(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 1))
        .count()
}

#[test]
fn a_fine_frame_cast_in_bands_is_the_one_pass_frame() {
    let ctx = gpu();
    let texels = bone_behind_and_plate_in_front();
    let bone = Preset::CtBone.look(CT);
    // Two balls overlapping on screen: the second step of the segments
    // must keep the first's colour and depth.
    let two = [DVec3::ZERO, DVec3::new(6.0, -3.0, 2.0)];
    for segments in [&[][..], &two[..1], &two[..]] {
        let once = composed_at(&ctx, &texels, &bone, segments, Drawing::Once(Quality::Fine));
        // 7 rows a band: 14 bands, the last one short; the segments in
        // steps of 97 triangles, some across the two balls.
        let steps = Drawing::Steps {
            triangles: 97,
            rows: 7,
        };
        let banded = composed_at(&ctx, &texels, &bone, segments, steps);
        let differing = pixels_differing(&once, &banded);
        assert_eq!(
            differing, 0,
            "segments {segments:?}: {differing} pixels differ"
        );
        let distinct: std::collections::HashSet<&[u8]> = banded.chunks_exact(4).collect();
        assert!(
            distinct.len() > 20,
            "the frame shows ({} colours)",
            distinct.len()
        );
    }
}

#[test]
fn segments_and_the_volume_hide_each_other_by_depth() {
    let ctx = gpu();
    let texels = bone_behind_and_plate_in_front();
    let bone = Preset::CtBone.look(CT);
    // The segment at the centre, in front of the bone behind: red shows.
    let image = composed(&ctx, &texels, &bone, DVec3::ZERO);
    let c = SIZE / 2;
    let [r, g, b] = pixel(&image, c, c);
    println!("segment in front of bone: {:?}", [r, g, b]);
    assert!(
        r > 120 && r > 2 * g.max(b),
        "the segment hides the bone behind it"
    );
    // A drag frame (a quarter of the pixels) composes alike.
    let moving = composed_at(
        &ctx,
        &texels,
        &bone,
        &[DVec3::ZERO],
        Drawing::Once(Quality::Moving(2)),
    );
    let [r, g, b] = pixel(&moving, c, c);
    assert!(
        r > 120 && u32::from(r) > 2 * u32::from(g.max(b)),
        "while dragging: {:?}",
        [r, g, b]
    );
    // Beside it (on the lit side) the bone behind shows, bone-coloured.
    let [r, g, _] = pixel(&image, c - 10, c - 2);
    assert!(
        g > 80 && r.abs_diff(g) < 80,
        "bone beside the segment: {r}, {g}"
    );
    // Moved down behind the bone plate, the segment is hidden by it.
    let hidden = composed(&ctx, &texels, &bone, DVec3::new(0.0, 0.0, -12.0));
    let [r, g, b] = pixel(&hidden, c, c + 16);
    println!("segment behind the plate: {:?}", [r, g, b]);
    assert!(
        g > 80 && u32::from(r) < 2 * u32::from(g),
        "the plate in front hides the segment"
    );
    // Without the plate the same place would be red: it was the depth.
    let open = volume(|p| {
        if (p - DVec3::new(0.0, 12.0, 0.0)).length() < 10.0 {
            1000.0
        } else {
            -1000.0
        }
    });
    let shown = composed(&ctx, &open, &bone, DVec3::new(0.0, 0.0, -12.0));
    let [r, g, b] = pixel(&shown, c, c + 16);
    assert!(
        r > 120 && r > 2 * g.max(b),
        "without the plate: {:?}",
        [r, g, b]
    );
}
