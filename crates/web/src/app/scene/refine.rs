//! The fine frame on a GPU too slow to cast it in one pass (a software
//! GPU, whose canvas frames the browser reads back synchronously): off the
//! canvas, the segments a span of triangles at a time, then the rays a band
//! of rows at a time, each step once the GPU is done with the last, then
//! shown whole; and the timing of every frame that
//! [`insitu_gpu::FramePacing`] learns from.

use insitu_gpu::{DrawTarget, Orbit, Quality, wgpu};

use super::{BACKGROUND, FrameChoice, Mode, Scene};

/// A fine frame being cast band by band: the camera and size it is drawn
/// for, the segments' next triangle to draw (`None` once all are, or where
/// none are shown) and the next row to cast.
pub(super) struct Refining {
    pub orbit: Orbit,
    pub size: (u32, u32),
    pub next_triangle: Option<u64>,
    pub next_row: u32,
}

/// One step of a fine frame submitted to the GPU, to be timed.
enum Step {
    /// This many triangles of the segments (drawn before any row).
    Parts(u64),
    /// These rows of the rays.
    Rows(std::ops::Range<u32>),
}

/// Casts the fine frame of drawing `draws` a step at a time (the segments
/// a span of triangles at a time, then the rays a band of rows at a time),
/// each once the GPU is done with the last (so steps never queue up behind
/// each other), and shows it; stops when anything is drawn meanwhile.
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
        let step = {
            let app = crate::app::app();
            let mut scene = app.scene.borrow_mut();
            let Some(scene) = scene.as_mut().filter(|s| s.draws == draws) else {
                return;
            };
            scene.next_step()
        };
        let Some((step, device, queue)) = step else {
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
        match step {
            Step::Parts(triangles) => scene.pacing.parts_took(ms, triangles),
            Step::Rows(rows) => {
                let size = scene.target.size();
                scene.pacing.band_took(ms, rows, size);
            }
        }
    }
}

impl Scene {
    /// Counts the canvas frame just submitted (`size`, drawn as `choice`
    /// says) in flight until the GPU is done with it, and measures how long
    /// that takes for [`insitu_gpu::FramePacing`]: a volume frame, a frame
    /// of the whole surface, or a drag frame of its copies.
    pub(super) fn time_frame(&mut self, (w, h): (u32, u32), choice: FrameChoice) {
        self.frames_in_flight += 1;
        let casting = self.casts_rays();
        let quality = choice.quality;
        let surface = self.mode == Mode::Surface;
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
                scene.frames_in_flight = scene.frames_in_flight.saturating_sub(1);
                if casting {
                    scene.pacing.frame_took(ms, pixels, samples, divisor);
                } else if surface && divisor.is_none() {
                    scene.pacing.surface_frame_took(ms);
                } else if surface {
                    scene.pacing.surface_drag_took(ms, choice.drag_tier);
                }
            }
        });
    }

    /// Draws the next step of the fine frame being refined (a span of the
    /// segments' triangles, or a band of rows) and submits it, or, when
    /// every row is cast, shows the frame on the canvas; returns the step
    /// and what to wait on, `None` when refining is over.
    fn next_step(&mut self) -> Option<(Step, wgpu::Device, wgpu::Queue)> {
        let refining = self.refining.as_mut()?;
        let (w, h) = refining.size;
        if refining.next_triangle.is_none() && refining.next_row >= h {
            self.refining = None;
            self.show_refined();
            return None;
        }
        let orbit = refining.orbit;
        let ctx = &self.target.context;
        let (device, queue) = (&ctx.device, &ctx.queue);
        let mut encoder = device.create_command_encoder(&Default::default());
        let view = self.volume.refined_view(device, (w, h));
        let to = DrawTarget::of(ctx, &view, (w, h), &orbit);
        let step = match refining.next_triangle {
            Some(first) => {
                let total = self.surface.parts_triangles();
                let span = first..(first + self.pacing.parts_step()).min(total);
                refining.next_triangle = Some(span.end).filter(|&next| next < total);
                let triangles = span.end - span.start;
                self.volume
                    .draw_parts_step(&mut self.surface, to, &mut encoder, span, BACKGROUND);
                Step::Parts(triangles)
            }
            None => {
                let rows = refining.next_row..self.pacing.band_end(refining.next_row, (w, h));
                refining.next_row = rows.end;
                self.volume
                    .draw_rows(&self.surface, to, &mut encoder, rows.clone(), BACKGROUND);
                Step::Rows(rows)
            }
        };
        queue.submit([encoder.finish()]);
        Some((step, device.clone(), queue.clone()))
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
    pub(super) fn device_and_queue(&self) -> (wgpu::Device, wgpu::Queue) {
        let ctx = &self.target.context;
        (ctx.device.clone(), ctx.queue.clone())
    }
}
