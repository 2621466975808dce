//! Draws a triangle mesh, lit, from an orbiting camera: the 3D view. It only
//! needs a device and a colour target, so it draws into a page canvas in the
//! browser (WebGPU or WebGL2) and into an offscreen texture in native tests.

use crate::DrawTarget;
use glam::{Mat4, Vec3};
use std::ops::Range;

use crate::shaders;

/// Where the camera is: orbiting `target` at `distance`, angles in radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orbit {
    /// Point looked at (patient mm).
    pub target: Vec3,
    /// Distance from the target (mm).
    pub distance: f32,
    /// Rotation about the patient's superior axis; 0 looks from anterior.
    pub yaw: f32,
    /// Elevation above the axial plane.
    pub pitch: f32,
}

impl Orbit {
    /// A front (anterior) view that frames a box of the given bounds.
    pub fn framing(low: Vec3, high: Vec3) -> Self {
        let radius = ((high - low).length() / 2.0).max(1.0);
        Self {
            target: (low + high) / 2.0,
            distance: radius * 3.4,
            yaw: 0.0,
            pitch: 0.15,
        }
    }

    /// Eye position in patient mm. LPS: anterior is −y, superior is +z.
    pub fn eye(&self) -> Vec3 {
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        self.target + Vec3::new(sy * cp, -cy * cp, sp) * self.distance
    }

    /// View-projection matrix for an image of `aspect` = width / height.
    pub fn view_proj(&self, aspect: f32) -> Mat4 {
        let view = look_at(self.eye(), self.target, Vec3::Z);
        let near = (self.distance * 0.01).max(0.1);
        let proj = perspective(
            35f32.to_radians(),
            aspect.max(1e-3),
            near,
            self.distance * 4.0,
        );
        proj * view
    }

    /// The camera's axes in patient space: right, up, and towards the
    /// viewer (what a light that follows the camera is placed by).
    pub fn axes(&self) -> (Vec3, Vec3, Vec3) {
        let back = (self.eye() - self.target).normalize_or(Vec3::NEG_Y);
        let right = Vec3::Z.cross(back).normalize_or(Vec3::X);
        (right, back.cross(right), back)
    }

    /// The ray (origin, unit direction) in patient mm through a point of
    /// an image of `aspect`, given in normalised device coordinates (x
    /// right, y up, both −1..1): what a click in the 3D view points at.
    pub fn ray(&self, aspect: f32, ndc: (f32, f32)) -> (Vec3, Vec3) {
        let inverse = self.view_proj(aspect).inverse();
        let near = inverse.project_point3(Vec3::new(ndc.0, ndc.1, 0.0));
        let far = inverse.project_point3(Vec3::new(ndc.0, ndc.1, 1.0));
        (near, (far - near).normalize_or(Vec3::Z))
    }
}

/// Right-handed view matrix looking from `eye` at `target`.
fn look_at(eye: Vec3, target: Vec3, up: Vec3) -> Mat4 {
    let f = (target - eye).normalize();
    let s = f.cross(up).normalize();
    let u = s.cross(f);
    Mat4::from_cols(
        glam::Vec4::new(s.x, u.x, -f.x, 0.0),
        glam::Vec4::new(s.y, u.y, -f.y, 0.0),
        glam::Vec4::new(s.z, u.z, -f.z, 0.0),
        glam::Vec4::new(-s.dot(eye), -u.dot(eye), f.dot(eye), 1.0),
    )
}

/// Right-handed perspective projection to wgpu clip space (depth 0..1).
fn perspective(fov_y: f32, aspect: f32, near: f32, far: f32) -> Mat4 {
    let f = 1.0 / (fov_y / 2.0).tan();
    Mat4::from_cols(
        glam::Vec4::new(f / aspect, 0.0, 0.0, 0.0),
        glam::Vec4::new(0.0, f, 0.0, 0.0),
        glam::Vec4::new(0.0, 0.0, far / (near - far), -1.0),
        glam::Vec4::new(0.0, 0.0, near * far / (near - far), 0.0),
    )
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CameraUniform {
    view_proj: [[f32; 4]; 4],
    eye: [f32; 4],
    color: [f32; 4],
    offset: [f32; 4],
    /// World points with xyz·p < w are cut away; a zero normal keeps all.
    clip: [f32; 4],
}

/// The GPU copy of one mesh.
#[derive(Default)]
struct MeshBuffers {
    positions: Option<wgpu::Buffer>,
    normals: Option<wgpu::Buffer>,
    indices: Option<(wgpu::Buffer, u32)>,
}

impl MeshBuffers {
    /// Replaces one array with `bytes` (a plain buffer filled through the
    /// queue: Chromium's SwiftShader WebGPU refuses mapped creation of a
    /// few hundred kB once it is busy).
    fn upload(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, part: MeshPart, bytes: &[u8]) {
        self.upload_range(device, queue, part, bytes.len() as u64, 0, bytes);
    }

    /// Writes `bytes` at `offset` of an array of `total` bytes; offset 0
    /// makes the array anew. Offsets and lengths are multiples of 4.
    fn upload_range(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        part: MeshPart,
        total: u64,
        offset: u64,
        bytes: &[u8],
    ) {
        if offset == 0 {
            let usage = match part {
                MeshPart::Indices => wgpu::BufferUsages::INDEX,
                _ => wgpu::BufferUsages::VERTEX,
            };
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("mesh"),
                size: total.next_multiple_of(4).max(4),
                usage: usage | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            match part {
                MeshPart::Positions => self.positions = Some(buffer),
                MeshPart::Normals => self.normals = Some(buffer),
                MeshPart::Indices => self.indices = Some((buffer, (total / 4) as u32)),
            }
        }
        let buffer = match part {
            MeshPart::Positions => self.positions.as_ref(),
            MeshPart::Normals => self.normals.as_ref(),
            MeshPart::Indices => self.indices.as_ref().map(|(b, _)| b),
        };
        if let Some(buffer) = buffer.filter(|b| offset + bytes.len() as u64 <= b.size()) {
            queue.write_buffer(buffer, offset, bytes);
        }
    }

    /// Draws the mesh once all three arrays are there.
    fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        self.draw_triangles(pass, EVERY_TRIANGLE);
    }

    /// Triangles held (0 until the indices are uploaded).
    fn triangles(&self) -> u64 {
        self.indices
            .as_ref()
            .map_or(0, |(_, count)| u64::from(*count / 3))
    }

    /// Draws the triangles of `span` (clamped to those held).
    fn draw_triangles(&self, pass: &mut wgpu::RenderPass<'_>, span: Range<u64>) {
        if let (Some(positions), Some(normals), Some((indices, count))) =
            (&self.positions, &self.normals, &self.indices)
        {
            let end = span.end.min(u64::from(*count / 3));
            if span.start >= end {
                return;
            }
            // Within `count`, a u32: the clamp above keeps the casts exact.
            let first = (span.start * 3) as u32;
            let last = (end * 3) as u32;
            pass.set_vertex_buffer(0, positions.slice(..));
            pass.set_vertex_buffer(1, normals.slice(..));
            pass.set_index_buffer(indices.slice(..), wgpu::IndexFormat::Uint32);
            pass.draw_indexed(first..last, 0, 0..1);
        }
    }
}

/// A mesh as flat arrays: xyz positions and normals, three indices per
/// triangle.
#[derive(Debug, Clone, Copy)]
pub struct MeshArrays<'a> {
    /// xyz f32 per vertex (mm).
    pub positions: &'a [f32],
    /// xyz f32 unit normal per vertex.
    pub normals: &'a [f32],
    /// Three per triangle.
    pub indices: &'a [u32],
}

impl MeshArrays<'_> {
    /// The arrays on the GPU, or `None` when they hold no triangle.
    fn buffers(self, device: &wgpu::Device, queue: &wgpu::Queue) -> Option<MeshBuffers> {
        if self.indices.is_empty() || self.positions.is_empty() {
            return None;
        }
        let mut buffers = MeshBuffers::default();
        for (part, bytes) in [
            (MeshPart::Positions, bytemuck::cast_slice(self.positions)),
            (MeshPart::Normals, bytemuck::cast_slice(self.normals)),
            (MeshPart::Indices, bytemuck::cast_slice(self.indices)),
        ] {
            buffers.upload(device, queue, part, bytes);
        }
        Some(buffers)
    }
}

/// A coloured mesh of its own (a segment, the crop box's frame), with a
/// uniform of its own so each draws in its colour.
struct ColoredMesh {
    key: u32,
    color: [f32; 4],
    /// Drawn moved by this (mm): the explode view.
    offset: [f32; 3],
    buffers: MeshBuffers,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// One array of a mesh, for uploading a large mesh in steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshPart {
    /// xyz f32 per vertex (mm).
    Positions,
    /// xyz f32 unit normal per vertex.
    Normals,
    /// Three u32 per triangle.
    Indices,
}

/// Pipeline, camera uniform, depth buffer, the current (bone) mesh and
/// any coloured parts.
pub struct SurfaceRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    camera: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    depth: Option<(wgpu::TextureView, u32, u32)>,
    /// The parts' depth packed into RGBA8 (see `fs_parts`), for volume
    /// rendering to stop its rays at.
    depth_code: Option<wgpu::Texture>,
    /// Draws parts with their colour and their packed depth.
    parts_pipeline: wgpu::RenderPipeline,
    /// The world clip plane (see [`SurfaceRenderer::set_clip`]).
    clip: [f32; 4],
    mesh: Option<MeshBuffers>,
    /// Lighter copies of the bone mesh, tier by tier (heaviest first;
    /// `None` where the mesh itself is light enough for that tier), for
    /// drag frames on a GPU too slow to draw it whole at a frame's pace
    /// ([`SurfaceRenderer::draw_light`]).
    drag_copies: DragCopies,
    /// The same for coloured parts, by key (kept apart from the parts: a
    /// copy may come before its part's upload has begun).
    part_drag_copies: Vec<(u32, DragCopies)>,
    /// Draw the bone mesh (the app hides it while segments are shown).
    mesh_visible: bool,
    parts: Vec<ColoredMesh>,
}

const POSITION: [wgpu::VertexAttribute; 1] = wgpu::vertex_attr_array![0 => Float32x3];
const NORMAL: [wgpu::VertexAttribute; 1] = wgpu::vertex_attr_array![1 => Float32x3];

const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// Every triangle of every mesh drawn: a frame in one pass.
const EVERY_TRIANGLE: Range<u64> = 0..u64::MAX;

/// What a surface pass draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layers {
    /// The bone surface and the coloured parts.
    BoneAndParts,
    /// The parts only (segments shown instead of the bone).
    Parts,
    /// The parts, with their depth packed for volume rendering.
    PartsWithDepth,
}

/// Nearer fragments win.
fn depth_state() -> wgpu::DepthStencilState {
    wgpu::DepthStencilState {
        format: DEPTH_FORMAT,
        depth_write_enabled: Some(true),
        depth_compare: Some(wgpu::CompareFunction::Less),
        stencil: Default::default(),
        bias: Default::default(),
    }
}

/// Where the parts' depth is packed for volume rendering.
const DEPTH_CODE_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Bone white.
pub const BONE: [f32; 4] = [0.93, 0.89, 0.80, 1.0];

impl SurfaceRenderer {
    /// Builds the pipeline for colour targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("surface.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shaders::SURFACE.into()),
        });
        let camera = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("camera"),
            size: std::mem::size_of::<CameraUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("camera"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }],
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("camera"),
            layout: &layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: camera.as_entire_binding(),
            }],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("surface"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let vec3_buffer = |attributes| wgpu::VertexBufferLayout {
            array_stride: 12,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes,
        };
        let make = |label, fragment, targets: &[Option<wgpu::ColorTargetState>]| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some(label),
                layout: Some(&pipeline_layout),
                vertex: wgpu::VertexState {
                    module: &module,
                    entry_point: Some("vs_main"),
                    compilation_options: Default::default(),
                    buffers: &[Some(vec3_buffer(&POSITION)), Some(vec3_buffer(&NORMAL))],
                },
                fragment: Some(wgpu::FragmentState {
                    module: &module,
                    entry_point: Some(fragment),
                    compilation_options: Default::default(),
                    targets,
                }),
                primitive: wgpu::PrimitiveState::default(),
                depth_stencil: Some(depth_state()),
                multisample: Default::default(),
                multiview_mask: None,
                cache: None,
            })
        };
        let pipeline = make("surface", "fs_main", &[Some(format.into())]);
        let parts_pipeline = make(
            "surface parts over volume",
            "fs_parts",
            &[Some(format.into()), Some(DEPTH_CODE_FORMAT.into())],
        );
        Self {
            clip: [0.0; 4],
            pipeline,
            parts_pipeline,
            depth_code: None,
            layout,
            camera,
            bind_group,
            depth: None,
            mesh: None,
            drag_copies: Vec::new(),
            part_drag_copies: Vec::new(),
            mesh_visible: true,
            parts: Vec::new(),
        }
    }

    /// Shows or hides the bone mesh (parts are always drawn).
    pub fn set_mesh_visible(&mut self, visible: bool) {
        self.mesh_visible = visible;
    }

    /// Uploads one array of coloured part `key` (made on first use), in
    /// `color` (linear 0–1; sRGB bytes / 255 on an sRGB-less canvas).
    pub fn upload_part(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        key: u32,
        color: [f32; 4],
        part: MeshPart,
        bytes: &[u8],
    ) {
        let total = bytes.len() as u64;
        self.upload_part_range(device, queue, key, color, part, (total, 0), bytes);
    }

    /// Writes `bytes` at `offset` of one array (`total` bytes) of coloured
    /// part `key`: a large part uploads over several browser tasks.
    #[allow(clippy::too_many_arguments)]
    pub fn upload_part_range(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        key: u32,
        color: [f32; 4],
        part: MeshPart,
        (total, offset): (u64, u64),
        bytes: &[u8],
    ) {
        let at = match self.parts.iter().position(|p| p.key == key) {
            Some(at) => at,
            None => {
                let uniform = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("part camera"),
                    size: std::mem::size_of::<CameraUniform>() as u64,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("part camera"),
                    layout: &self.layout,
                    entries: &[wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniform.as_entire_binding(),
                    }],
                });
                self.parts.push(ColoredMesh {
                    key,
                    color,
                    offset: [0.0; 3],
                    buffers: MeshBuffers::default(),
                    uniform,
                    bind_group,
                });
                self.parts.len() - 1
            }
        };
        let p = &mut self.parts[at];
        p.color = color;
        p.buffers
            .upload_range(device, queue, part, total, offset, bytes);
    }

    /// Draws part `key` moved by `offset` (mm), for the explode view.
    pub fn set_part_offset(&mut self, key: u32, offset: [f32; 3]) {
        if let Some(p) = self.parts.iter_mut().find(|p| p.key == key) {
            p.offset = offset;
        }
    }

    /// Where part `key` is drawn moved to (mm; zero when it is not).
    pub fn part_offset(&self, key: u32) -> [f32; 3] {
        self.parts
            .iter()
            .find(|p| p.key == key)
            .map_or([0.0; 3], |p| p.offset)
    }

    /// Removes coloured part `key`.
    pub fn remove_part(&mut self, key: u32) {
        self.parts.retain(|p| p.key != key);
        self.part_drag_copies.retain(|(k, _)| *k != key);
    }

    /// Removes every coloured part.
    pub fn clear_parts(&mut self) {
        self.parts.clear();
        self.part_drag_copies.clear();
    }

    /// Keys of the coloured parts drawn.
    pub fn part_keys(&self) -> Vec<u32> {
        self.parts.iter().map(|p| p.key).collect()
    }

    /// Replaces the mesh: flat xyz positions and normals, three indices per
    /// triangle. An empty mesh clears the view.
    pub fn set_mesh(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        positions: &[f32],
        normals: &[f32],
        indices: &[u32],
    ) {
        self.clear_mesh();
        let arrays = MeshArrays {
            positions,
            normals,
            indices,
        };
        self.mesh = arrays.buffers(device, queue);
    }

    /// Drops the mesh and its lighter copy.
    pub fn clear_mesh(&mut self) {
        self.mesh = None;
        self.drag_copies.clear();
    }

    /// Holds lighter copies of the bone mesh (flat xyz positions and
    /// normals, three indices per triangle), one per tier, heaviest first,
    /// for [`SurfaceRenderer::draw_light`]; a tier of empty arrays is the
    /// mesh itself (light enough to drag whole at that tier).
    pub fn set_drag_copies<'a>(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        tiers: impl IntoIterator<Item = MeshArrays<'a>>,
    ) {
        self.drag_copies = drag_copies(device, queue, tiers);
    }

    /// [`SurfaceRenderer::set_drag_copies`] for coloured part `key`.
    pub fn set_part_drag_copies<'a>(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        key: u32,
        tiers: impl IntoIterator<Item = MeshArrays<'a>>,
    ) {
        self.part_drag_copies.retain(|(k, _)| *k != key);
        let copies = drag_copies(device, queue, tiers);
        if copies.iter().any(Option::is_some) {
            self.part_drag_copies.push((key, copies));
        }
    }

    /// Whether a lighter copy of the bone mesh or of any part is held.
    pub fn has_drag_copy(&self) -> bool {
        self.drag_copies.iter().any(Option::is_some) || !self.part_drag_copies.is_empty()
    }

    /// Uploads one array of the next mesh (replacing that array). The mesh
    /// draws once all three are there: a browser can spread a large upload
    /// over several tasks instead of blocking its UI thread.
    pub fn upload(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        part: MeshPart,
        bytes: &[u8],
    ) {
        self.mesh
            .get_or_insert_with(MeshBuffers::default)
            .upload(device, queue, part, bytes);
    }

    /// Writes `bytes` at `offset` of one array (`total` bytes) of the next
    /// mesh; offset 0 replaces that array.
    pub fn upload_range(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        part: MeshPart,
        (total, offset): (u64, u64),
        bytes: &[u8],
    ) {
        self.mesh
            .get_or_insert_with(MeshBuffers::default)
            .upload_range(device, queue, part, total, offset, bytes);
    }

    /// Draws into `to`, clearing it to `background`.
    pub fn draw(
        &mut self,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        background: wgpu::Color,
    ) {
        self.draw_span(
            to,
            encoder,
            background,
            self.shown_layers(),
            None,
            EVERY_TRIANGLE,
        );
    }

    /// The bone and the parts, or the parts alone while the bone is hidden.
    fn shown_layers(&self) -> Layers {
        if self.mesh_visible {
            Layers::BoneAndParts
        } else {
            Layers::Parts
        }
    }

    /// [`SurfaceRenderer::draw`] with each mesh's copy of drag copy tier
    /// `tier` in its place (the lightest held where `tier` is beyond it):
    /// a drag frame on a GPU whose time goes on the triangles (a software
    /// GPU draws a 400 k-triangle bone surface in about 250 ms at any
    /// canvas size).
    pub fn draw_light(
        &mut self,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        background: wgpu::Color,
        tier: usize,
    ) {
        self.draw_span(
            to,
            encoder,
            background,
            self.shown_layers(),
            Some(tier),
            EVERY_TRIANGLE,
        );
    }

    /// Draws only the coloured parts (segments), leaving their depth in
    /// [`SurfaceRenderer::depth`] for volume rendering to stop its rays
    /// at: how segments and the volume compose.
    pub fn draw_parts(
        &mut self,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        background: wgpu::Color,
    ) {
        self.draw_span(
            to,
            encoder,
            background,
            Layers::PartsWithDepth,
            None,
            EVERY_TRIANGLE,
        );
    }

    /// [`SurfaceRenderer::draw_parts`] for the triangles `span` of the parts
    /// taken one after another (see [`SurfaceRenderer::parts_triangles`]):
    /// the span from 0 clears the target and the depth, a later one draws
    /// over them. Spans in turn, each submitted on its own, draw the parts
    /// in steps short enough that a software GPU never holds the page long
    /// (SwiftShader took about 150 ms over the demo spine's 360 k).
    pub fn draw_parts_span(
        &mut self,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        background: wgpu::Color,
        span: Range<u64>,
    ) {
        self.draw_span(to, encoder, background, Layers::PartsWithDepth, None, span);
    }

    /// The parts' triangles, all parts together.
    pub fn parts_triangles(&self) -> u64 {
        self.parts.iter().map(|p| p.buffers.triangles()).sum()
    }

    /// The depth of the last [`SurfaceRenderer::draw_parts`] (0 near .. 1
    /// far, 1 where nothing is) packed into RGBA8, to be copied by whoever
    /// reads it (on WebGL2 a texture still attached to a framebuffer cannot
    /// be read in the next pass).
    pub fn depth(&self) -> Option<&wgpu::Texture> {
        self.depth_code.as_ref()
    }

    /// Cuts every surface by a world plane (unit normal, `d`: points with
    /// `normal·p < d` go), as volume rendering's clip plane cuts the
    /// volume; `None` keeps all.
    pub fn set_clip(&mut self, plane: Option<([f32; 3], f32)>) {
        self.clip = plane.map_or([0.0; 4], |(n, d)| [n[0], n[1], n[2], d]);
    }

    /// Whether any coloured part (a segment, the crop frame) is held.
    pub fn has_parts(&self) -> bool {
        !self.parts.is_empty()
    }

    /// Draws `layers`, of the parts only the triangles `span` of them taken
    /// one after another (the bone is drawn by the span from 0).
    fn draw_span(
        &mut self,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        background: wgpu::Color,
        layers: Layers,
        drag_tier: Option<usize>,
        span: Range<u64>,
    ) {
        let DrawTarget {
            device,
            queue,
            view: target,
            size: (width, height),
            orbit,
        } = to;
        let stale = self
            .depth
            .as_ref()
            .is_none_or(|(_, w, h)| (*w, *h) != (width, height));
        if stale {
            let texture = device.create_texture(&wgpu::TextureDescriptor {
                label: Some("depth"),
                size: wgpu::Extent3d {
                    width: width.max(1),
                    height: height.max(1),
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: DEPTH_FORMAT,
                // Read by volume rendering to stop rays at the segments.
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
                view_formats: &[],
            });
            self.depth = Some((texture.create_view(&Default::default()), width, height));
            self.depth_code = Some(device.create_texture(&wgpu::TextureDescriptor {
                label: Some("parts' depth, packed"),
                size: wgpu::Extent3d {
                    width: width.max(1),
                    height: height.max(1),
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: DEPTH_CODE_FORMAT,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
                view_formats: &[],
            }));
        }
        let view_proj = orbit
            .view_proj(width as f32 / height.max(1) as f32)
            .to_cols_array_2d();
        let eye = orbit.eye().extend(1.0).to_array();
        let clip = self.clip;
        let uniform = |color, offset: [f32; 3]| CameraUniform {
            clip,
            view_proj,
            eye,
            color,
            offset: [offset[0], offset[1], offset[2], 0.0],
        };
        queue.write_buffer(
            &self.camera,
            0,
            bytemuck::bytes_of(&uniform(BONE, [0.0; 3])),
        );
        for p in &self.parts {
            queue.write_buffer(
                &p.uniform,
                0,
                bytemuck::bytes_of(&uniform(p.color, p.offset)),
            );
        }
        let depth = &self.depth.as_ref().expect("created above").0;
        let code = self
            .depth_code
            .as_ref()
            .expect("created with the depth")
            .create_view(&Default::default());
        let with_depth = layers == Layers::PartsWithDepth;
        let first = span.start == 0;
        let colour = attachment(target, first.then_some(background));
        // Cleared to white: depth 1, nothing there.
        let packed = attachment(&code, first.then_some(wgpu::Color::WHITE));
        let attachments = [Some(colour), Some(packed)];
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("surface"),
            color_attachments: if with_depth {
                &attachments[..]
            } else {
                &attachments[..1]
            },
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: depth,
                depth_ops: Some(wgpu::Operations {
                    load: if first {
                        wgpu::LoadOp::Clear(1.0)
                    } else {
                        wgpu::LoadOp::Load
                    },
                    store: wgpu::StoreOp::Store,
                }),
                stencil_ops: None,
            }),
            ..Default::default()
        });
        pass.set_pipeline(if with_depth {
            &self.parts_pipeline
        } else {
            &self.pipeline
        });
        let bone = match layers {
            Layers::BoneAndParts => drag_tier
                .and_then(|tier| tier_copy(&self.drag_copies, tier))
                .or(self.mesh.as_ref()),
            Layers::Parts | Layers::PartsWithDepth => None,
        };
        if let Some(mesh) = bone.filter(|_| first) {
            pass.set_bind_group(0, &self.bind_group, &[]);
            mesh.draw(&mut pass);
        }
        // Where each part's triangles begin, the parts taken in turn.
        let mut begins = 0;
        for p in &self.parts {
            let copy = drag_tier.and_then(|tier| {
                let (_, copies) = self.part_drag_copies.iter().find(|(k, _)| *k == p.key)?;
                tier_copy(copies, tier)
            });
            let buffers = copy.unwrap_or(&p.buffers);
            let own = span.start.saturating_sub(begins)..span.end.saturating_sub(begins);
            begins += buffers.triangles();
            if own.start < own.end {
                pass.set_bind_group(0, &p.bind_group, &[]);
                buffers.draw_triangles(&mut pass, own);
            }
        }
    }
}

/// A mesh's copies for drag frames, one per tier of
/// [`insitu_mesh::preview::DRAG_COPY_TIERS`], heaviest first; `None` where
/// the mesh itself is drawn at that tier.
type DragCopies = Vec<Option<MeshBuffers>>;

/// Each tier's arrays on the GPU (`None` for empty ones: the mesh itself).
fn drag_copies<'a>(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    tiers: impl IntoIterator<Item = MeshArrays<'a>>,
) -> DragCopies {
    tiers
        .into_iter()
        .map(|c| c.buffers(device, queue))
        .collect()
}

/// The copy drawn at drag copy tier `tier` (the lightest held where `tier`
/// is beyond it); `None`: the mesh itself.
fn tier_copy(copies: &DragCopies, tier: usize) -> Option<&MeshBuffers> {
    copies.get(tier).or(copies.last())?.as_ref()
}

/// A colour attachment cleared to `clear`, or kept as it is (`None`).
fn attachment(
    target: &wgpu::TextureView,
    clear: Option<wgpu::Color>,
) -> wgpu::RenderPassColorAttachment<'_> {
    match clear {
        Some(colour) => crate::cleared_attachment(target, colour),
        None => crate::loaded_attachment(target),
    }
}
