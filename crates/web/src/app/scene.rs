//! The 3D view: the surface, or volume rendering (a preset's look, edited
//! and clipped), drawn with wgpu on the `view-3d` canvas; orbit with the
//! mouse, zoom with the wheel, pan with shift. While the user drags, rays
//! take one sample per voxel on fewer pixels, and a surface too slow to
//! draw at a drag's pace is drawn as its lighter copy; the view is drawn
//! finely once they stop.

use glam::Vec3;
use insitu_gpu::{
    CanvasTarget, DrawTarget, FramePacing, MeshPart, Orbit, PendingImage, Quality, Snapshot,
    SurfaceRenderer, VolumeRenderer, wgpu,
};
use insitu_look::{Histogram, Look, Preset};

use wasm_bindgen::JsCast;

use super::canvas_size::fit_canvas;
use super::views::NameWriter;

mod refine;
use refine::{Refining, refine};

/// Dark blue-grey, so white bone stands out.
const BACKGROUND: wgpu::Color = wgpu::Color {
    r: 0.02,
    g: 0.03,
    b: 0.05,
    a: 1.0,
};

/// Quiet time after the last drag before the fine redraw.
const SETTLE_MS: i32 = 180;

/// Bins of the histogram under the editor's curve.
const HISTOGRAM_BINS: usize = 256;

/// A box in patient mm: its lowest and highest corners.
type Bounds = ([f32; 3], [f32; 3]);

/// What the 3D view shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// The marching-cubes surface.
    Surface,
    /// Volume rendering, starting from this preset.
    Volume(Preset),
}

impl Mode {
    /// From the `render-mode` menu's value.
    pub fn from_name(name: &str) -> Self {
        Preset::from_word(name).map_or(Mode::Surface, Mode::Volume)
    }
}

/// Canvas, renderers and camera.
pub struct Scene {
    target: CanvasTarget,
    surface: SurfaceRenderer,
    volume: VolumeRenderer,
    volume_bounds: Option<Bounds>,
    /// The bone surface's box, while it is uploaded.
    surface_bounds: Option<Bounds>,
    /// Each segment surface's box (key: its label; 0 the crop box's frame),
    /// where it lies before the explode view moves it.
    part_bounds: Vec<(u32, Bounds)>,
    /// The loaded volume's value range: the domain of the look's table.
    domain: (f32, f32),
    /// How volume rendering looks now.
    pub look: Option<Look>,
    /// The volume's values, for the editor.
    pub histogram: Option<Histogram>,
    quality: Quality,
    /// Counts drags; a fine redraw scheduled by an older one is skipped.
    drags: u32,
    /// A drag's frame is requested and not yet drawn.
    frame_pending: bool,
    /// A frame at rest is requested and not yet drawn ([`Scene::draw`]).
    redraw_requested: bool,
    /// Canvas frames submitted whose GPU work is not yet known done.
    frames_in_flight: u32,
    /// Counts drawings; a fine frame cast in bands for an older one stops.
    draws: u32,
    /// How much one frame may ask of this GPU (drag frames' divisor, fine
    /// frames in bands), learned from the frames drawn.
    pacing: FramePacing,
    /// The fine frame being cast band by band, if one is.
    refining: Option<Refining>,
    /// Frames at rest put on the canvas so far.
    fine_frames: u32,
    /// What is shown.
    pub mode: Mode,
    mode_name: String,
    /// Camera; `None` until a surface or volume frames it.
    pub orbit: Option<Orbit>,
    /// The camera's distance before the explode view moved it back (see
    /// [`Scene::fit_exploded`]).
    distance_before_explode: Option<f32>,
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
            volume_bounds: None,
            surface_bounds: None,
            part_bounds: Vec::new(),
            domain: (-1024.0, 3071.0),
            look: None,
            histogram: None,
            quality: Quality::Fine,
            drags: 0,
            frame_pending: false,
            redraw_requested: false,
            frames_in_flight: 0,
            draws: 0,
            pacing: FramePacing::default(),
            refining: None,
            fine_frames: 0,
            mode: Mode::Surface,
            mode_name: "surface".into(),
            orbit: None,
            distance_before_explode: None,
            names: Vec::new(),
            show_names: true,
            present: Vec::new(),
        }
    }

    /// Holds the lighter copies of the surface (`None`) or of a segment's
    /// (its key), tier by tier, that drag frames draw where frames of the
    /// whole are slow.
    pub fn set_drag_copies<'a>(
        &mut self,
        key: Option<u32>,
        tiers: impl IntoIterator<Item = insitu_gpu::MeshArrays<'a>>,
    ) {
        let ctx = &self.target.context;
        match key {
            None => self.surface.set_drag_copies(&ctx.device, &ctx.queue, tiers),
            Some(key) => self
                .surface
                .set_part_drag_copies(&ctx.device, &ctx.queue, key, tiers),
        }
    }

    /// Starts replacing the surface: the old one disappears; the new one is
    /// uploaded with [`Scene::upload`], part by part, then [`Scene::show`]n.
    pub fn begin_mesh(&mut self) {
        self.surface.clear_mesh();
        self.surface_bounds = None;
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
    pub fn show(&mut self, bounds: Bounds, reframe: bool) {
        self.surface_bounds = Some(bounds);
        if reframe || self.orbit.is_none() {
            self.frame(Some(bounds));
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

    /// Frames `bounds` afresh (no camera for none); an explode view's
    /// distance to come back to is another camera's.
    fn frame(&mut self, bounds: Option<Bounds>) {
        self.orbit = bounds.map(framing);
        self.distance_before_explode = None;
    }

    /// Keeps the vertebrae of the explode view in sight: from the distance
    /// the camera had before they moved apart, back just as far as puts
    /// every body (`centres`, [`BODY_RADIUS_MM`] around each) inside the
    /// view; at that distance again once they are together (`centres`
    /// empty). A zoom meanwhile becomes the distance to start from.
    pub fn fit_exploded(&mut self, centres: &[Vec3]) {
        let (w, h) = self.target.size();
        let aspect = w as f32 / h.max(1) as f32;
        let Some(o) = &mut self.orbit else {
            return;
        };
        if centres.is_empty() {
            if let Some(distance) = self.distance_before_explode.take() {
                o.distance = distance;
            }
            return;
        }
        o.distance = *self.distance_before_explode.get_or_insert(o.distance);
        // Moving back shrinks the picture about in proportion: a few
        // rounds settle it.
        for _ in 0..4 {
            let forward = (o.target - o.eye()).normalize();
            let right = forward.cross(Vec3::Z).normalize_or_zero();
            let up = right.cross(forward);
            let points = centres
                .iter()
                .flat_map(|&c| [right, -right, up, -up].map(|d| c + d * BODY_RADIUS_MM));
            let reach = reach_in_view(o, aspect, points);
            if reach <= IN_VIEW {
                break;
            }
            o.distance *= reach / IN_VIEW;
        }
    }

    /// Frames what is drawn now, looked at from the same side: the
    /// segments shown (where the explode view has moved them), else the
    /// bone surface; in a volume mode the volume's box. A vertebra shown
    /// alone is otherwise a small thing in the middle of a view framed on
    /// the whole scan. `false` when nothing is drawn.
    pub fn frame_shown(&mut self) -> bool {
        let Some((low, high)) = self.shown_bounds() else {
            return false;
        };
        let (w, h) = self.target.size();
        let aspect = w as f32 / h.max(1) as f32;
        let sphere = framing((low.to_array(), high.to_array()));
        let o = self.orbit.get_or_insert(sphere);
        o.target = sphere.target;
        o.distance = sphere.distance;
        fit_box(o, aspect, (low, high));
        let framed = *o;
        self.distance_before_explode = None;
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d");
        let [x, y, z] = framed.target.to_array();
        crate::dom::set_data(
            &canvas,
            "framed",
            &format!("{x:.1} {y:.1} {z:.1} {:.1}", framed.distance),
        );
        true
    }

    /// The box around what is drawn now ([`Scene::frame_shown`]).
    fn shown_bounds(&self) -> Option<(Vec3, Vec3)> {
        let corners = |(low, high): Bounds| (Vec3::from(low), Vec3::from(high));
        if let Mode::Volume(_) = self.mode {
            return self.volume_bounds.map(corners);
        }
        let segments = self
            .part_bounds
            .iter()
            .filter(|(key, _)| *key != u32::from(crate::segments::FRAME))
            .map(|&(key, bounds)| {
                let moved = Vec3::from(self.surface.part_offset(key));
                let (low, high) = corners(bounds);
                (low + moved, high + moved)
            })
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
        segments.or_else(|| self.surface_bounds.map(corners))
    }

    /// Removes a segment's surface.
    pub fn remove_part(&mut self, key: u32) {
        self.surface.remove_part(key);
        self.part_bounds.retain(|(k, _)| *k != key);
    }

    /// Makes the parts the scene, part `key` now with its surface inside
    /// `bounds` (when it has one): while any segment is shown the bone
    /// surface is hidden (segments lie inside it); frames the view on the
    /// first part when nothing framed it yet. The caller draws (after the
    /// explode view has placed the parts).
    pub fn show_parts(&mut self, key: u32, bounds: Bounds) {
        let keys = self.surface.part_keys();
        self.part_bounds.retain(|(k, _)| *k != key);
        if keys.contains(&key) {
            self.part_bounds.push((key, bounds));
        }
        let segments = keys.iter().filter(|&&k| k != 0).count();
        self.surface.set_mesh_visible(segments == 0);
        if self.orbit.is_none() && !keys.is_empty() {
            self.frame(Some(bounds));
        }
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d");
        crate::dom::set_data(&canvas, "parts", &segments.to_string());
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

    /// Starts a new volume texture of `dims` texels (its slices follow);
    /// `domain` is the volume's value range.
    pub fn begin_volume(
        &mut self,
        dims: [u32; 3],
        voxel_to_world: [f64; 16],
        domain: (f32, f32),
        bounds: ([f32; 3], [f32; 3]),
    ) {
        let device = &self.target.context.device;
        self.volume
            .begin_volume(device, dims, glam::DMat4::from_cols_array(&voxel_to_world));
        self.volume_bounds = Some(bounds);
        self.domain = domain;
        self.histogram = Some(Histogram::new(domain, HISTOGRAM_BINS));
    }

    /// Uploads texel slices from `first_slice` on (half-float bits), and
    /// counts them into the histogram.
    pub fn upload_slices(&mut self, first_slice: u32, texels: &js_sys::Uint16Array) {
        let texels = texels.to_vec();
        let ctx = &self.target.context;
        let values = self.volume.upload_slices(&ctx.queue, first_slice, &texels);
        ctx.queue.submit([]);
        if let Some(h) = &mut self.histogram {
            h.add(values);
        }
    }

    /// The last slices are in: the volume can be drawn.
    pub fn finish_volume(&mut self) {
        let ctx = &self.target.context;
        self.volume.finish_volume(&ctx.device, &ctx.queue);
        if let Some(look) = &self.look {
            self.volume.set_look(&ctx.queue, look, self.domain);
        }
        ctx.queue.submit([]);
        self.clip_surfaces();
    }

    /// Most texels per side the 3D view's device takes.
    pub fn max_side(&self) -> u32 {
        VolumeRenderer::max_side(&self.target.context.device)
    }

    /// A new volume's value range (before its texels come).
    pub fn set_domain(&mut self, domain: (f32, f32)) {
        self.domain = domain;
    }

    /// The volume's box (0..1) → patient mm, once its texels are in.
    pub fn box_to_world(&self) -> Option<glam::DMat4> {
        self.volume.box_to_world()
    }

    /// The value range the look's table spans.
    pub fn domain(&self) -> (f32, f32) {
        self.domain
    }

    /// Switches between surface and volume rendering (draw afterwards);
    /// `name` is the menu value, reported on the canvas once drawn, and
    /// `look` how a volume mode starts (a kept look, or the preset's).
    pub fn set_mode(&mut self, mode: Mode, name: &str, look: Option<Look>) {
        self.mode = mode;
        self.mode_name = name.to_owned();
        if let Some(look) = look {
            self.set_look(look);
        }
        self.clip_surfaces();
    }

    /// Sets how volume rendering looks (draw afterwards); its clip plane
    /// cuts the segments' surfaces drawn with the volume too.
    pub fn set_look(&mut self, look: Look) {
        let ctx = &self.target.context;
        self.volume.set_look(&ctx.queue, &look, self.domain);
        self.look = Some(look);
        self.clip_surfaces();
    }

    /// The look's clip plane on the surfaces, in volume modes only (the
    /// surface mode shows the whole surface).
    fn clip_surfaces(&mut self) {
        let plane = match (self.mode, &self.look, self.volume.box_to_world()) {
            (Mode::Volume(_), Some(look), Some(box_to_world)) => {
                look.clip.and_then(|c| c.in_world(box_to_world))
            }
            _ => None,
        };
        self.surface.set_clip(plane);
    }

    /// Drops the surface, the segments' surfaces and the volume.
    pub fn clear(&mut self) {
        self.surface.clear_mesh();
        self.surface.clear_parts();
        self.part_bounds.clear();
        self.surface_bounds = None;
        self.surface.set_mesh_visible(true);
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d");
        crate::dom::set_data(&canvas, "parts", "0");
        self.volume.clear();
        self.histogram = None;
        self.volume_bounds = None;
        self.frame(None);
        self.draw();
    }

    /// Draws the current mode at the canvas's current size, once for any
    /// number of requests in one task, and only once the GPU is done with
    /// the frames before: a software GPU's canvas waits for all work
    /// queued, so a second frame submitted behind a slow one (the surface
    /// and every segment) would hold the page until the first is done.
    /// Segments arriving one after another are thereby drawn in a few
    /// frames, never one a part.
    pub fn draw(&mut self) {
        if self.redraw_requested {
            return;
        }
        self.redraw_requested = true;
        let busy =
            (self.frames_in_flight > 0 || self.refining.is_some()).then(|| self.device_and_queue());
        wasm_bindgen_futures::spawn_local(async move {
            if let Some((device, queue)) = busy {
                insitu_gpu::work_done(&device, &queue).await;
            }
            if let Some(scene) = super::app().scene.borrow_mut().as_mut()
                && scene.redraw_requested
            {
                scene.draw_frame(true);
            }
        });
    }

    /// Draws now: at once, or, when this GPU is too slow for the fine
    /// frame in one pass, a drag frame first and then the fine one band by
    /// band off the canvas ([`refine`]); without `preview` no drag frame
    /// comes first (the fine frame after a drag, whose last frame shows the
    /// same). Answers any [`Scene::draw`] request made before.
    fn draw_frame(&mut self, preview: bool) {
        self.redraw_requested = false;
        self.draws = self.draws.wrapping_add(1);
        self.refining = None;
        let canvas = crate::dom::typed("view-3d");
        let size = fit_canvas(&canvas);
        if size != self.target.size() {
            self.target.resize(size.0, size.1);
        }
        if let Mode::Volume(_) = self.mode
            && self.orbit.is_none()
        {
            self.frame(self.volume_bounds);
        }
        let orbit = self
            .orbit
            .unwrap_or(Orbit::framing(Vec3::splat(-100.0), Vec3::splat(100.0)));
        let casting = self.casts_rays();
        let in_bands = self.quality == Quality::Fine && casting && self.pacing.fine_in_bands(size);
        let shown = if in_bands {
            self.refining = Some(Refining {
                orbit,
                size,
                next_triangle: self.surface.has_parts().then_some(0),
                next_row: 0,
            });
            wasm_bindgen_futures::spawn_local(refine(self.draws));
            if preview {
                self.render(size, &orbit, Quality::Moving(self.pacing.divisor()));
            }
            "refining"
        } else {
            self.render(size, &orbit, self.quality);
            match self.quality {
                Quality::Fine => {
                    self.count_fine_frame();
                    "fine"
                }
                Quality::Moving(_) => {
                    // Which copies a surface's drag frame drew (tests log it).
                    let tier = self.pacing.drag_copy_tier().to_string();
                    crate::dom::set_data(&canvas, "drag-tier", &tier);
                    "moving"
                }
            }
        };
        crate::dom::set_data(&canvas, "quality", shown);
        self.draw_names(size, &orbit);
        // What the canvas now shows (tests wait for it rather than sleep).
        let rendered = match self.mode {
            Mode::Volume(_) if !casting => "none",
            _ => self.mode_name.as_str(),
        };
        crate::dom::set_data(&canvas, "rendered", rendered);
    }

    /// Whether the view is volume rendering a loaded volume.
    fn casts_rays(&self) -> bool {
        matches!(self.mode, Mode::Volume(_)) && self.volume.has_volume()
    }

    /// Draws the mode on the canvas at `quality` in one pass, and times it.
    fn render(&mut self, size: (u32, u32), orbit: &Orbit, quality: Quality) {
        // Drag frames leave the segments out where their triangles are
        // slow (they cost the same at any frame size); frames at rest have
        // them.
        let with_parts =
            quality == Quality::Fine || self.pacing.parts_in_drags(self.surface.parts_triangles());
        let choice = FrameChoice {
            quality,
            with_parts,
            drag_tier: self.pacing.drag_copy_tier(),
        };
        let (surface, volume, mode) = (&mut self.surface, &self.volume, self.mode);
        let drawn = self.target.render(|device, queue, encoder, view| {
            let to = DrawTarget {
                device,
                queue,
                view,
                size,
                orbit,
            };
            encode(surface, volume, mode, to, choice, encoder);
        });
        if let Err(e) = drawn {
            web_sys::console::warn_1(&format!("3D view: {e}").into());
        }
        self.time_frame(size, choice);
    }

    /// One more frame at rest on the canvas: `data-fine` counts them, so a
    /// test waits for the one its change caused.
    fn count_fine_frame(&mut self) {
        self.fine_frames = self.fine_frames.wrapping_add(1);
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d");
        crate::dom::set_data(&canvas, "fine", &self.fine_frames.to_string());
    }

    /// Draws at one sample per voxel while the user drags, once per
    /// animation frame however many drag events came (so a slow GPU only
    /// delays frames and never queues them behind input), and finely once
    /// no drag has come for [`SETTLE_MS`].
    pub fn draw_moving(&mut self) {
        self.drags = self.drags.wrapping_add(1);
        if self.frame_pending {
            return;
        }
        self.frame_pending = true;
        let frame = wasm_bindgen::closure::Closure::once_into_js(move || {
            let (moving, ticket) = {
                let app = super::app();
                let mut scene = app.scene.borrow_mut();
                let Some(scene) = scene.as_mut() else {
                    return;
                };
                scene.frame_pending = false;
                // A surface is dragged as its lighter copy where frames of
                // the whole one are slow; as itself elsewhere.
                let moving = match scene.mode {
                    Mode::Volume(_) => true,
                    Mode::Surface => {
                        scene.pacing.light_surface_drags() && scene.surface.has_drag_copy()
                    }
                };
                if moving {
                    scene.quality = Quality::Moving(scene.pacing.divisor());
                }
                scene.draw_frame(true);
                scene.quality = Quality::Fine;
                (moving, scene.drags)
            };
            if moving {
                wasm_bindgen_futures::spawn_local(settle(ticket));
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(frame.unchecked_ref());
        }
    }

    /// The vertebra names over the 3D view (its own 2D canvas on top),
    /// each where its part is drawn, explode offset included.
    fn draw_names(&self, (w, h): (u32, u32), orbit: &Orbit) {
        let canvas: web_sys::HtmlCanvasElement = crate::dom::typed("view-3d-names");
        let Some(ctx) = crate::dom::context_2d(&canvas, (w, h)) else {
            return;
        };
        ctx.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));
        let mut names = NameWriter::new(&ctx, 12.0, name_scale(w, h));
        self.write_names(&mut names, (w, h), orbit);
        names.finish(&canvas);
    }

    /// Writes the shown vertebrae's names where `orbit` puts them on an
    /// image of `w`×`h` (the view, or a snapshot of it).
    pub fn write_names(&self, names: &mut NameWriter, (w, h): (u32, u32), orbit: &Orbit) {
        if !self.show_names {
            return;
        }
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

    /// Draws the view as it is now (at rest quality) into an image `scale`
    /// times the canvas's size, turned `yaw` radians further about the
    /// target (a turntable frame), on its way back to the CPU; with the
    /// camera it was drawn from, for writing names on it.
    pub fn snapshot(&mut self, scale: f64, yaw: f32) -> Option<(PendingImage, Orbit)> {
        let mut orbit = self.orbit?;
        orbit.yaw += yaw;
        let (w, h) = self.target.size();
        let size = (
            (f64::from(w) * scale).round() as u32,
            (f64::from(h) * scale).round() as u32,
        );
        let ctx = &self.target.context;
        let image = Snapshot::new(&ctx.device, size, self.target.format());
        let size = image.size();
        let view = image.view();
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        let to = DrawTarget::of(ctx, &view, size, &orbit);
        encode(
            &mut self.surface,
            &self.volume,
            self.mode,
            to,
            FrameChoice {
                quality: Quality::Fine,
                with_parts: true,
                drag_tier: 0,
            },
            &mut encoder,
        );
        Some((image.finish(&ctx.device, &ctx.queue, encoder), orbit))
    }

    /// The 3D view's device (a handle).
    pub fn device(&self) -> wgpu::Device {
        self.target.context.device.clone()
    }

    /// Orbit by a mouse drag of (dx, dy) CSS pixels.
    pub fn rotate(&mut self, dx: f64, dy: f64) {
        if let Some(o) = &mut self.orbit {
            o.yaw -= (dx * 0.01) as f32;
            o.pitch = (o.pitch + (dy * 0.01) as f32).clamp(-1.5, 1.5);
            self.draw_moving();
        }
    }

    /// Zoom by wheel notches.
    pub fn zoom(&mut self, notches: f64) {
        if let Some(o) = &mut self.orbit {
            o.distance *= 1.1f32.powf(notches as f32);
            // The explode view fits from here on.
            self.distance_before_explode = None;
            self.draw_moving();
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
            self.draw_moving();
        }
    }
}

/// How far out `points` project from the view's centre: the largest |x|
/// or |y| in normalised device coordinates (1 at the view's edge).
fn reach_in_view(o: &Orbit, aspect: f32, points: impl Iterator<Item = Vec3>) -> f32 {
    let view_proj = o.view_proj(aspect);
    points
        .map(|p| view_proj.project_point3(p))
        .map(|ndc| ndc.x.abs().max(ndc.y.abs()))
        .fold(0.0f32, f32::max)
}

/// Moves the camera along its line of sight until the box `(low, high)`
/// reaches [`IN_VIEW`] of the way to the view's nearer edge: a box framed
/// by the sphere around it ([`framing`]) fills much less of the view
/// than it could (a vertebra alone about half its width). Never nearer
/// than 1.2 of the sphere's radius, so every corner stays in front.
fn fit_box(o: &mut Orbit, aspect: f32, (low, high): (Vec3, Vec3)) {
    let corners: Vec<Vec3> = (0..8)
        .map(|n| {
            Vec3::new(
                if n & 1 == 0 { low.x } else { high.x },
                if n & 2 == 0 { low.y } else { high.y },
                if n & 4 == 0 { low.z } else { high.z },
            )
        })
        .collect();
    let nearest = 1.2 * ((high - low).length() / 2.0).max(1.0);
    // The picture scales about inversely with the distance: a few rounds
    // settle it.
    for _ in 0..4 {
        let reach = reach_in_view(o, aspect, corners.iter().copied());
        if reach <= 0.0 || (reach - IN_VIEW).abs() < 0.01 {
            break;
        }
        o.distance = (o.distance * reach / IN_VIEW).max(nearest);
    }
}

/// About a vertebra's reach from its body's centre (mm), its processes
/// included, for [`Scene::fit_exploded`].
const BODY_RADIUS_MM: f32 = 35.0;
/// How far out from the view's centre (of the way to its edge) the
/// explode view lets a vertebra reach, and Frame a box's corners.
const IN_VIEW: f32 = 0.9;

/// What one frame of the 3D view draws, beside its mode.
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameChoice {
    /// At rest or mid-drag (and how coarse).
    quality: Quality,
    /// Volume rendering draws the segments' surfaces too.
    with_parts: bool,
    /// A surface's drag frame draws its copies of this tier.
    drag_tier: usize,
}

/// Encodes the 3D view in `mode`: the surface; or the volume, over the
/// segments' surfaces when there are any and `with_parts` (rays stop at
/// them by depth, so a segment shows through translucent tissue and hides
/// what is behind it).
fn encode(
    surface: &mut SurfaceRenderer,
    volume: &VolumeRenderer,
    mode: Mode,
    to: DrawTarget,
    choice: FrameChoice,
    encoder: &mut wgpu::CommandEncoder,
) {
    let FrameChoice {
        quality,
        with_parts,
        drag_tier,
    } = choice;
    match mode {
        Mode::Surface if quality == Quality::Fine => surface.draw(to, encoder, BACKGROUND),
        Mode::Surface => surface.draw_light(to, encoder, BACKGROUND, drag_tier),
        Mode::Volume(_) if surface.has_parts() && with_parts => {
            volume.draw_with_parts(surface, to, encoder, quality, BACKGROUND)
        }
        Mode::Volume(_) => volume.draw(to, encoder, quality, BACKGROUND),
    }
}

/// The fine redraw after a drag, unless another drag came meanwhile.
async fn settle(ticket: u32) {
    super::replies::wait_ms(SETTLE_MS).await;
    let app = super::app();
    if let Some(scene) = app.scene.borrow_mut().as_mut()
        && scene.drags == ticket
    {
        scene.draw_frame(false);
    }
}

/// Name text scale for an image of `w`×`h` (a 400-pixel view at 1).
pub fn name_scale(w: u32, h: u32) -> f64 {
    (f64::from(w.min(h)) / 400.0).clamp(0.75, 5.0)
}

fn framing(bounds: Bounds) -> Orbit {
    Orbit::framing(Vec3::from(bounds.0), Vec3::from(bounds.1))
}
