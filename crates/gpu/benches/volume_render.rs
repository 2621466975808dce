//! Volume-rendering frame times on this machine's adapter (lavapipe in CI):
//! the demo spine (288² × 300) drawn at 512², bone preset, lit with ambient
//! occlusion. Each claim is a ratio to a baseline drawn in the same run:
//! empty-space skipping against sampling every step, the frame without
//! ambient occlusion, and a frame while dragging (one sample per voxel on a
//! quarter of the pixels) against one at rest. `cargo xtask bench` runs it.

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::run();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::{Duration, Instant};

    use glam::DMat4;
    use insitu_gpu::{DrawTarget, GpuContext, Orbit, Quality, Snapshot, VolumeRenderer, wgpu};
    use insitu_look::{Look, Preset};
    use insitu_volume::display::RenderGrid;
    use insitu_volume::phantom::{PhantomSize, demo_spine};

    const SIZE: (u32, u32) = (512, 512);

    pub fn run() {
        let ctx = pollster::block_on(GpuContext::headless()).expect("a GPU adapter");
        let volume = demo_spine(PhantomSize::DEMO);
        let grid = RenderGrid::new(&volume, None, VolumeRenderer::max_side(&ctx.device));
        let mut texels = vec![0u16; grid.slice_texels() * grid.dims[2] as usize];
        grid.fill(&volume, 0, &mut texels);
        let format = wgpu::TextureFormat::Rgba8Unorm;
        let mut renderer = VolumeRenderer::new(&ctx.device, format);
        let started = Instant::now();
        renderer.set_volume(
            &ctx.device,
            &ctx.queue,
            grid.dims,
            DMat4::from_cols_array(&grid.voxel_to_world),
            &texels,
        );
        let upload = started.elapsed();
        let range = volume.value_range();
        let (low, high) = insitu_volume::reslice::world_bounds(&volume);
        let orbit = Orbit::framing(low.as_vec3(), high.as_vec3());
        let frame = |renderer: &mut VolumeRenderer, look: &Look, quality: Quality| {
            renderer.set_look(&ctx.queue, look, range);
            best(4, || {
                let image = Snapshot::new(&ctx.device, SIZE, format);
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                renderer.draw(
                    DrawTarget::of(&ctx, &image.view(), SIZE, &orbit),
                    &mut encoder,
                    quality,
                    wgpu::Color::BLACK,
                );
                pollster::block_on(image.finish(&ctx.device, &ctx.queue, encoder).rgba())
                    .expect("read back")
            })
        };
        let bone = Preset::CtBone.look(range);
        let fine = frame(&mut renderer, &bone, Quality::Fine);
        let moving = frame(&mut renderer, &bone, Quality::Moving(2));
        let mut unoccluded = bone.clone();
        unoccluded.lighting.occlusion = 0.0;
        let without_occlusion = frame(&mut renderer, &unoccluded, Quality::Fine);
        let mip = frame(&mut renderer, &Preset::Mip.look(range), Quality::Fine);
        renderer.set_empty_space_skipping(false);
        let every_step = frame(&mut renderer, &bone, Quality::Fine);
        let mip_every_step = frame(&mut renderer, &Preset::Mip.look(range), Quality::Fine);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "volume rendering on {} ({}), {}x{}x{} texels at {}x{}:",
            ctx.summary.name,
            ctx.summary.backend,
            grid.dims[0],
            grid.dims[1],
            grid.dims[2],
            SIZE.0,
            SIZE.1
        );
        println!("  upload (16-bit, bricks ranged): {:.0} ms", ms(upload));
        println!(
            "  bone, lit, at rest: {:.0} ms a frame; without empty-space skipping {:.0} ms: skipping {:.2}x faster",
            ms(fine),
            ms(every_step),
            every_step.as_secs_f64() / fine.as_secs_f64()
        );
        println!(
            "  ambient occlusion (12 probes a lit sample): {:.0} ms a frame without it, {:.2}x the frame with it",
            ms(without_occlusion),
            fine.as_secs_f64() / without_occlusion.as_secs_f64()
        );
        println!(
            "  bone while dragging: {:.0} ms a frame, {:.2}x cheaper than at rest",
            ms(moving),
            fine.as_secs_f64() / moving.as_secs_f64()
        );
        println!(
            "  MIP at rest: {:.0} ms a frame; without skipping {:.0} ms: skipping {:.2}x faster",
            ms(mip),
            ms(mip_every_step),
            mip_every_step.as_secs_f64() / mip.as_secs_f64()
        );
    }

    fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
        let mut best = Duration::MAX;
        for _ in 0..runs {
            let start = Instant::now();
            let _ = f();
            best = best.min(start.elapsed());
        }
        best
    }
}
