//! The fine frame on a GPU too slow to cast it in one pass (a software
//! GPU, whose canvas frames the browser reads back synchronously): cast a
//! band of rows at a time off the canvas, each once the GPU is done with the
//! last, then shown whole; and the timing of every frame that
//! [`insitu_gpu::FramePacing`] learns from.

use insitu_gpu::{DrawTarget, Orbit, Quality, wgpu};

use super::{BACKGROUND, Mode, Scene};

/// A fine frame being cast band by band: the camera and size it is drawn
/// for, the next row to cast and how many rows a band has.
pub(super) struct Refining {
    pub orbit: Orbit,
    pub size: (u32, u32),
    pub next_row: u32,
    pub rows: u32,
}

/// Casts the fine frame of drawing `draws` a band at a time, each once the
/// GPU is done with the last (so bands never queue up behind each other),
/// and shows it; stops when anything is drawn meanwhile.
pub(super) async fn refine(draws: u32) {
    // After the drag frame shown first: the page's wait for it (a software
    // GPU's canvas read back) then holds no band.
    let handles = crate::app::app()
        .scene
        .borrow()
        .as_ref()
        .map(|s| s.device_and_queue());
    if let Some((device, queue)) = handles {
        insitu_gpu::work_done(&device, &queue).await;
    }
    loop {
        let band = {
            let app = crate::app::app();
            let mut scene = app.scene.borrow_mut();
            let Some(scene) = scene.as_mut().filter(|s| s.draws == draws) else {
                return;
            };
            scene.next_band()
        };
        let Some((rows, device, queue)) = band else {
            return;
        };
        let started = js_sys::Date::now();
        insitu_gpu::work_done(&device, &queue).await;
        let ms = js_sys::Date::now() - started;
        let app = crate::app::app();
        let mut scene = app.scene.borrow_mut();
        let Some(scene) = scene.as_mut().filter(|s| s.draws == draws) else {
            return;
        };
        let width = scene.target.size().0;
        scene.pacing.band_took(ms, rows, width);
        if let Some(refining) = scene.refining.as_mut() {
            refining.rows = scene
                .pacing
                .fine_bands(refining.size)
                .unwrap_or(refining.size.1);
        }
    }
}

impl Scene {
    /// Measures how long the GPU takes over the frame just submitted
    /// (`size` at `quality`), for [`insitu_gpu::FramePacing`]: a volume
    /// frame, or a frame of the whole surface.
    pub(super) fn time_frame(&self, (w, h): (u32, u32), quality: Quality) {
        let casting = self.casts_rays();
        let whole_surface = self.mode == Mode::Surface && quality == Quality::Fine;
        if !casting && !whole_surface {
            return;
        }
        let (divisor, samples) = match quality {
            Quality::Fine => (None, 2.0),
            Quality::Moving(d) => (Some(d), 1.0),
        };
        let d = divisor.unwrap_or(1).max(1);
        let pixels = u64::from(w.div_ceil(d)) * u64::from(h.div_ceil(d));
        let (device, queue) = self.device_and_queue();
        let started = js_sys::Date::now();
        wasm_bindgen_futures::spawn_local(async move {
            insitu_gpu::work_done(&device, &queue).await;
            let ms = js_sys::Date::now() - started;
            if let Some(scene) = crate::app::app().scene.borrow_mut().as_mut() {
                if casting {
                    scene.pacing.frame_took(ms, pixels, samples, divisor);
                } else {
                    scene.pacing.surface_frame_took(ms);
                }
            }
        });
    }

    /// Casts the next band of the fine frame being refined and submits it,
    /// or, when every row is cast, shows the frame on the canvas; returns
    /// the band's rows and what to wait on, `None` when refining is over.
    fn next_band(&mut self) -> Option<(u32, wgpu::Device, wgpu::Queue)> {
        let refining = self.refining.as_mut()?;
        let (w, h) = refining.size;
        if refining.next_row >= h {
            self.refining = None;
            self.show_refined();
            return None;
        }
        let rows = refining.next_row..(refining.next_row + refining.rows).min(h);
        refining.next_row = rows.end;
        let orbit = refining.orbit;
        let ctx = &self.target.context;
        let (device, queue) = (&ctx.device, &ctx.queue);
        let mut encoder = device.create_command_encoder(&Default::default());
        let view = self.volume.refined_view(device, (w, h));
        let to = DrawTarget::of(ctx, &view, (w, h), &orbit);
        self.volume.draw_rows(
            &mut self.surface,
            to,
            &mut encoder,
            rows.clone(),
            BACKGROUND,
        );
        queue.submit([encoder.finish()]);
        Some((rows.end - rows.start, device.clone(), queue.clone()))
    }

    /// Puts the fine frame cast band by band on the canvas.
    fn show_refined(&mut self) {
        let volume = &self.volume;
        let drawn = self.target.render(|_, _, encoder, view| {
            volume.show_refined(encoder, view, BACKGROUND);
        });
        if let Err(e) = drawn {
            web_sys::console::warn_1(&format!("3D view: {e}").into());
        }
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d");
        crate::dom::set_data(&canvas, "quality", "fine");
        self.count_fine_frame();
    }

    /// The 3D view's device and queue (handles), to wait on its GPU work.
    fn device_and_queue(&self) -> (wgpu::Device, wgpu::Queue) {
        let ctx = &self.target.context;
        (ctx.device.clone(), ctx.queue.clone())
    }
}
