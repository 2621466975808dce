//! The 3D view: the surface, or volume rendering (MIP, bone, soft tissue),
//! drawn with wgpu on the `view-3d` canvas; orbit with the mouse, zoom with
//! the wheel, pan with shift.

use glam::Vec3;
use insitu_gpu::{
    BONE, CanvasTarget, MeshPart, Orbit, SurfaceRenderer, VolumeRenderer, VolumeStyle, wgpu,
};

use super::views::{NameWriter, fit_canvas};

/// Dark blue-grey, so white bone stands out.
const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.02,
    g: 0.03,
    b: 0.05,
    a: 1.0,
};

/// What the 3D view shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// The marching-cubes surface.
    Surface,
    /// Volume rendering in this style.
    Volume(VolumeStyle),
}

impl Mode {
    /// From the `render-mode` menu's value.
    pub fn from_name(name: &str) -> Self {
        match name {
            "mip" => Mode::Volume(VolumeStyle::Mip {
                low: -200.0,
                high: 1500.0,
            }),
            "bone" => Mode::Volume(VolumeStyle::Composite {
                low: 200.0,
                high: 700.0,
                color: [BONE[0], BONE[1], BONE[2]],
            }),
            "soft" => Mode::Volume(VolumeStyle::Composite {
                low: -300.0,
                high: 100.0,
                color: [0.85, 0.55, 0.45],
            }),
            _ => Mode::Surface,
        }
    }
}

/// A volume texture kept in JS memory until volume rendering is first shown.
struct PendingVolume {
    dims: [u32; 3],
    voxel_to_world: glam::DMat4,
    bytes: js_sys::Uint8Array,
}

/// Canvas, renderers and camera.
pub struct Scene {
    target: CanvasTarget,
    surface: SurfaceRenderer,
    volume: VolumeRenderer,
    pending: Option<PendingVolume>,
    volume_bounds: Option<([f32; 3], [f32; 3])>,
    /// What is shown.
    pub mode: Mode,
    mode_name: String,
    /// Camera; `None` until a surface or volume frames it.
    pub orbit: Option<Orbit>,
    /// Vertebra names to write over the 3D view: name, the part they
    /// belong to (so they follow the explode view) and where (mm).
    pub names: Vec<(String, u32, Vec3)>,
    /// Write them.
    pub show_names: bool,
    /// The labels shown now (names of gone or hidden segments are not
    /// written).
    pub present: Vec<u8>,
}

impl Scene {
    /// Wraps the GPU target created at start-up.
    pub fn new(target: CanvasTarget) -> Self {
        let device = &target.context.device;
        let surface = SurfaceRenderer::new(device, target.format());
        let volume = VolumeRenderer::new(device, target.format());
        Self {
            target,
            surface,
            volume,
            pending: None,
            volume_bounds: None,
            mode: Mode::Surface,
            mode_name: "surface".into(),
            orbit: None,
            names: Vec::new(),
            show_names: true,
            present: Vec::new(),
        }
    }

    /// Starts replacing the surface: the old one disappears; the new one is
    /// uploaded with [`Scene::upload`], part by part, then [`Scene::show`]n.
    pub fn begin_mesh(&mut self) {
        self.surface.clear_mesh();
    }

    /// Uploads a piece (`offset` of `total` bytes) of one array of the new
    /// surface and flushes it to the GPU.
    pub fn upload(&mut self, part: MeshPart, range: (u64, u64), bytes: &[u8]) {
        let ctx = &self.target.context;
        self.surface
            .upload_range(&ctx.device, &ctx.queue, part, range, bytes);
        ctx.queue.submit([]);
    }

    /// Draws the uploaded surface, framing it when asked (a new volume).
    pub fn show(&mut self, bounds: ([f32; 3], [f32; 3]), reframe: bool) {
        if reframe || self.orbit.is_none() {
            self.orbit = Some(framing(bounds));
        }
        self.draw();
    }

    /// Uploads one array of a segment's surface (key: its label; 0: the
    /// crop box's frame).
    pub fn upload_part(
        &mut self,
        key: u32,
        color: [f32; 4],
        part: MeshPart,
        range: (u64, u64),
        bytes: &[u8],
    ) {
        let ctx = &self.target.context;
        self.surface
            .upload_part_range(&ctx.device, &ctx.queue, key, color, part, range, bytes);
        ctx.queue.submit([]);
    }

    /// Moves parts apart (the explode view): each key by its offset (mm),
    /// then draws.
    pub fn set_part_offsets(&mut self, offsets: &[(u32, [f32; 3])]) {
        for &(key, offset) in offsets {
            self.surface.set_part_offset(key, offset);
        }
        self.draw();
    }

    /// Removes a segment's surface.
    pub fn remove_part(&mut self, key: u32) {
        self.surface.remove_part(key);
    }

    /// Draws the parts: while any segment is shown the bone surface is
    /// hidden (segments lie inside it); frames the view on the first part
    /// when nothing framed it yet.
    pub fn show_parts(&mut self, bounds: ([f32; 3], [f32; 3])) {
        let keys = self.surface.part_keys();
        let segments = keys.iter().filter(|&&k| k != 0).count();
        self.surface.set_mesh_visible(segments == 0);
        if self.orbit.is_none() && !keys.is_empty() {
            self.orbit = Some(framing(bounds));
        }
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d");
        crate::dom::set_data(&canvas, "parts", &segments.to_string());
        self.draw();
    }

    /// The ray (LPS mm) through canvas pixel (x, y), for picking.
    pub fn ray(&self, x: f64, y: f64) -> Option<(glam::Vec3, glam::Vec3)> {
        let (w, h) = self.target.size();
        let orbit = self.orbit?;
        let ndc = (
            ((x + 0.5) / f64::from(w) * 2.0 - 1.0) as f32,
            (1.0 - (y + 0.5) / f64::from(h) * 2.0) as f32,
        );
        Some(orbit.ray(w as f32 / h.max(1) as f32, ndc))
    }

    /// Keeps the volume's 8-bit copy until it is uploaded (draw afterwards).
    pub fn set_volume(
        &mut self,
        dims: [u32; 3],
        voxel_to_world: [f64; 16],
        bytes: js_sys::Uint8Array,
        bounds: ([f32; 3], [f32; 3]),
    ) {
        self.volume.clear();
        self.pending = Some(PendingVolume {
            dims,
            voxel_to_world: glam::DMat4::from_cols_array(&voxel_to_world),
            bytes,
        });
        self.volume_bounds = Some(bounds);
    }

    /// Switches between surface and volume rendering (draw afterwards);
    /// `name` is the menu value, reported on the canvas once drawn.
    pub fn set_mode(&mut self, mode: Mode, name: &str) {
        self.mode = mode;
        self.mode_name = name.to_owned();
    }

    /// Uploads the waiting volume texture, if any: call in a task of its
    /// own before the first volume draw, to keep UI tasks short.
    pub fn upload_volume(&mut self) {
        if let Some(p) = self.pending.take() {
            let ctx = &self.target.context;
            let bytes = p.bytes.to_vec();
            self.volume
                .set_volume(&ctx.device, &ctx.queue, p.dims, p.voxel_to_world, &bytes);
            ctx.queue.submit([]);
        }
    }

    /// Drops the surface, the segments' surfaces and the volume.
    pub fn clear(&mut self) {
        self.surface.clear_mesh();
        self.surface.clear_parts();
        self.surface.set_mesh_visible(true);
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d");
        crate::dom::set_data(&canvas, "parts", "0");
        self.volume.clear();
        self.pending = None;
        self.volume_bounds = None;
        self.orbit = None;
        self.draw();
    }

    /// Draws the current mode at the canvas's current size.
    pub fn draw(&mut self) {
        let canvas = crate::dom::typed("view-3d");
        let size = fit_canvas(&canvas);
        if size != self.target.size() {
            self.target.resize(size.0, size.1);
        }
        if let Mode::Volume(_) = self.mode {
            self.upload_volume();
            if self.orbit.is_none() {
                self.orbit = self.volume_bounds.map(framing);
            }
        }
        let orbit = self
            .orbit
            .unwrap_or(Orbit::framing(Vec3::splat(-100.0), Vec3::splat(100.0)));
        let (surface, volume, mode) = (&mut self.surface, &self.volume, self.mode);
        let drawn = self
            .target
            .render(|device, queue, encoder, view| match mode {
                Mode::Surface => {
                    surface.draw(device, queue, encoder, view, size, &orbit, BACKGROUND)
                }
                Mode::Volume(style) => {
                    volume.draw(queue, encoder, view, size, &orbit, style, BACKGROUND)
                }
            });
        if let Err(e) = drawn {
            web_sys::console::warn_1(&format!("3D view: {e}").into());
        }
        self.draw_names(size, &orbit, mode == Mode::Surface);
        // What the canvas now shows (tests wait for it rather than sleep).
        let shown = match mode {
            Mode::Volume(_) if !self.volume.has_volume() => "none",
            _ => self.mode_name.as_str(),
        };
        crate::dom::set_data(&canvas, "rendered", shown);
    }

    /// The vertebra names over the 3D view (its own 2D canvas on top),
    /// each where its part is drawn, explode offset included.
    fn draw_names(&self, (w, h): (u32, u32), orbit: &Orbit, surface: bool) {
        use wasm_bindgen::JsCast;
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d-names");
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
        let Some(ctx) = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        else {
            return;
        };
        ctx.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));
        let scale = (f64::from(w.min(h)) / 400.0).clamp(0.75, 2.5);
        let mut names = NameWriter::new(&ctx, 12.0, scale);
        if surface && self.show_names {
            let view_proj = orbit.view_proj(w as f32 / h.max(1) as f32);
            for (name, key, at) in &self.names {
                if !self.present.iter().any(|&l| u32::from(l) == *key) {
                    continue;
                }
                let moved = *at + Vec3::from(self.surface.part_offset(*key));
                let clip = view_proj * moved.extend(1.0);
                if clip.w <= 0.0 {
                    continue;
                }
                let ndc = clip.truncate() / clip.w;
                let x = (f64::from(ndc.x) + 1.0) / 2.0 * f64::from(w);
                let y = (1.0 - f64::from(ndc.y)) / 2.0 * f64::from(h);
                names.write(name, x, y);
            }
        }
        names.finish(&canvas);
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

fn framing(bounds: ([f32; 3], [f32; 3])) -> Orbit {
    Orbit::framing(Vec3::from(bounds.0), Vec3::from(bounds.1))
}
