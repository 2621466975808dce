//! The 3D view: the surface drawn with wgpu on the `view-3d` canvas (WebGPU,
//! or WebGL2), orbit with the mouse, zoom with the wheel, pan with shift.

use glam::Vec3;
use insitu_gpu::{CanvasTarget, MeshPart, Orbit, SurfaceRenderer, wgpu};

use super::views::fit_canvas;

/// Dark blue-grey, so white bone stands out.
const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.02,
    g: 0.03,
    b: 0.05,
    a: 1.0,
};

/// Canvas, renderer and camera.
pub struct Scene {
    target: CanvasTarget,
    renderer: SurfaceRenderer,
    /// Camera; `None` until a surface frames it.
    pub orbit: Option<Orbit>,
}

impl Scene {
    /// Wraps the GPU target created at start-up.
    pub fn new(target: CanvasTarget) -> Self {
        let renderer = SurfaceRenderer::new(&target.context.device, target.format());
        Self {
            target,
            renderer,
            orbit: None,
        }
    }

    /// Starts replacing the surface: the old one disappears; the new one is
    /// uploaded with [`Scene::upload`], part by part, then [`Scene::show`]n.
    pub fn begin_mesh(&mut self) {
        self.renderer.clear_mesh();
    }

    /// Uploads one array of the new surface and flushes it to the GPU.
    pub fn upload(&mut self, part: MeshPart, bytes: &[u8]) {
        let ctx = &self.target.context;
        self.renderer.upload(&ctx.device, &ctx.queue, part, bytes);
        ctx.queue.submit([]);
    }

    /// Draws the uploaded surface, framing it when asked (a new volume).
    pub fn show(&mut self, bounds: ([f32; 3], [f32; 3]), reframe: bool) {
        if reframe || self.orbit.is_none() {
            self.orbit = Some(Orbit::framing(Vec3::from(bounds.0), Vec3::from(bounds.1)));
        }
        self.draw();
    }

    /// Drops the surface.
    pub fn clear(&mut self) {
        let ctx = &self.target.context;
        self.renderer
            .set_mesh(&ctx.device, &ctx.queue, &[], &[], &[]);
        self.orbit = None;
        self.draw();
    }

    /// Draws the current surface at the canvas's current size.
    pub fn draw(&mut self) {
        let canvas = match self.target_canvas() {
            Some(c) => c,
            None => return,
        };
        let size = fit_canvas(&canvas);
        if size != self.target.size() {
            self.target.resize(size.0, size.1);
        }
        let orbit = self
            .orbit
            .unwrap_or(Orbit::framing(Vec3::splat(-100.0), Vec3::splat(100.0)));
        let renderer = &mut self.renderer;
        let drawn = self.target.render(|device, queue, encoder, view| {
            renderer.draw(device, queue, encoder, view, size, &orbit, BACKGROUND);
        });
        if let Err(e) = drawn {
            web_sys::console::warn_1(&format!("3D view: {e}").into());
        }
    }

    fn target_canvas(&self) -> Option<web_sys::HtmlCanvasElement> {
        Some(crate::dom::typed("view-3d"))
    }

    /// Orbit by a mouse drag of (dx, dy) CSS pixels.
    pub fn rotate(&mut self, dx: f64, dy: f64) {
        if let Some(o) = &mut self.orbit {
            o.yaw -= (dx * 0.01) as f32;
            o.pitch = (o.pitch + (dy * 0.01) as f32).clamp(-1.5, 1.5);
            self.draw();
        }
    }

    /// Zoom by wheel notches.
    pub fn zoom(&mut self, notches: f64) {
        if let Some(o) = &mut self.orbit {
            o.distance *= 1.1f32.powf(notches as f32);
            self.draw();
        }
    }

    /// Pan by a drag of (dx, dy) CSS pixels, in the screen plane.
    pub fn pan(&mut self, dx: f64, dy: f64) {
        if let Some(o) = &mut self.orbit {
            let forward = (o.target - o.eye()).normalize();
            let right = forward.cross(Vec3::Z).normalize_or_zero();
            let up = right.cross(forward);
            let per_pixel = o.distance * 0.0015;
            o.target += (-right * dx as f32 + up * dy as f32) * per_pixel;
            self.draw();
        }
    }
}
