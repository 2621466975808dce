//! Volume rendering for the 3D view: rays cast through the volume's own
//! values (16-bit floats in a 3D texture, uploaded a few slices at a time),
//! classified by a baked transfer-function table, lit by a light that
//! follows the camera, cut by the crop box and a free clip plane; bricks
//! that the table makes invisible are skipped. A render pass only (no
//! compute), so it runs on WebGL2 as on WebGPU, and natively on lavapipe in
//! tests.

use crate::DrawTarget;
use glam::{DMat4, UVec3};
use insitu_look::{Blend, LUT_SIZE, Look};

use crate::shaders;

/// Texels per side of a brick for empty-space skipping: 8³ = 512 texels
/// each, so a 512² × 300 volume has 150 k bricks (a 150 kB table).
const BRICK: u32 = 8;

/// How much work a frame may take: at rest two samples per voxel on every
/// pixel; while the user orbits one sample per voxel on fewer pixels (the
/// width and height divided, scaled up), so dragging stays fluid on a
/// weak or software GPU. The view is redrawn finely afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    /// Two samples per voxel, every pixel.
    Fine,
    /// One sample per voxel, the width and height divided by this.
    Moving(u32),
}

/// Draws a texture over a whole target (the reduced frame, scaled up).
struct Blit {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
}

/// Premultiplied-alpha "over": what a ray gathered in front of a segment
/// covers it by its alpha.
const OVER: wgpu::BlendState = wgpu::BlendState {
    color: wgpu::BlendComponent {
        src_factor: wgpu::BlendFactor::One,
        dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
        operation: wgpu::BlendOperation::Add,
    },
    alpha: wgpu::BlendComponent {
        src_factor: wgpu::BlendFactor::One,
        dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
        operation: wgpu::BlendOperation::Add,
    },
};

impl Blit {
    fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("blit.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shaders::blit().into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("blit"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let pipeline = crate::full_screen_pipeline(device, "blit", &module, &layout, format);
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("blit"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        Self {
            pipeline,
            layout,
            sampler,
        }
    }
}

/// A frame drawn off the canvas and then drawn onto it (scaled up when it
/// is a drag's reduced frame), kept between frames.
struct OffscreenFrame {
    texture: wgpu::Texture,
    size: (u32, u32),
    bind_group: wgpu::BindGroup,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    inverse_view_proj: [[f32; 4]; 4],
    world_to_texture: [[f32; 4]; 4],
    texture_to_world: [[f32; 4]; 4],
    gradient_to_world: [[f32; 4]; 4],
    settings: [f32; 4],
    dims: [f32; 4],
    light: [f32; 4],
    shading: [f32; 4],
    clip: [f32; 4],
    crop_low: [f32; 4],
    crop_high: [f32; 4],
    background: [f32; 4],
    occlusion: [f32; 4],
}

/// Lowest and highest value in each brick (widened by its neighbours', since
/// linear filtering reads one texel across a brick's faces).
struct BrickRanges {
    bricks: UVec3,
    low: Vec<f32>,
    high: Vec<f32>,
}

impl BrickRanges {
    fn new(dims: UVec3) -> Self {
        let bricks = (dims + UVec3::splat(BRICK - 1)) / BRICK;
        let n = bricks.element_product() as usize;
        Self {
            bricks,
            low: vec![f32::INFINITY; n],
            high: vec![f32::NEG_INFINITY; n],
        }
    }

    fn index(&self, b: UVec3) -> usize {
        ((b.z * self.bricks.y + b.y) * self.bricks.x + b.x) as usize
    }

    /// Takes in whole texel slices from `first_slice` on.
    fn add_slices(&mut self, dims: UVec3, first_slice: u32, values: &[f32]) {
        let per_slice = (dims.x * dims.y) as usize;
        for (n, slice) in values.chunks_exact(per_slice).enumerate() {
            let bz = (first_slice + n as u32) / BRICK;
            for (j, row) in slice.chunks_exact(dims.x as usize).enumerate() {
                let by = j as u32 / BRICK;
                for (bx, run) in row.chunks(BRICK as usize).enumerate() {
                    let (lo, hi) = run
                        .iter()
                        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                            (a.min(v), b.max(v))
                        });
                    let at = self.index(UVec3::new(bx as u32, by, bz));
                    self.low[at] = self.low[at].min(lo);
                    self.high[at] = self.high[at].max(hi);
                }
            }
        }
    }

    /// Each brick's range joined with its 26 neighbours'.
    fn widened(&self) -> Self {
        let mut out = Self {
            bricks: self.bricks,
            low: self.low.clone(),
            high: self.high.clone(),
        };
        let b = self.bricks.as_ivec3();
        for z in 0..b.z {
            for y in 0..b.y {
                for x in 0..b.x {
                    let here = out.index(UVec3::new(x as u32, y as u32, z as u32));
                    for dz in -1..=1 {
                        for dy in -1..=1 {
                            for dx in -1..=1 {
                                let n = glam::IVec3::new(x + dx, y + dy, z + dz);
                                if n.cmplt(glam::IVec3::ZERO).any() || n.cmpge(b).any() {
                                    continue;
                                }
                                let there = self.index(n.as_uvec3());
                                out.low[here] = out.low[here].min(self.low[there]);
                                out.high[here] = out.high[here].max(self.high[there]);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// One byte per brick: 255 where some value in it is visible through
    /// `table` (entries over `domain`), 0 where the ray may skip it.
    fn occupancy(&self, table: &[[f32; 4]], domain: (f32, f32)) -> Vec<u8> {
        // Visible entries counted up to each index: any visible entry
        // between two values is then a difference of two counts.
        let mut visible_before = Vec::with_capacity(table.len() + 1);
        visible_before.push(0u32);
        for entry in table {
            visible_before.push(visible_before.last().unwrap() + u32::from(entry[3] > 0.0));
        }
        let scale = table.len() as f32 / (domain.1 - domain.0).max(f32::EPSILON);
        let bin =
            |v: f32| (((v - domain.0) * scale).floor().max(0.0) as usize).min(table.len() - 1);
        self.low
            .iter()
            .zip(&self.high)
            .map(|(&lo, &hi)| {
                if lo > hi {
                    return 0;
                }
                let (a, b) = (bin(lo), bin(hi));
                if visible_before[b + 1] > visible_before[a] {
                    255
                } else {
                    0
                }
            })
            .collect()
    }
}

/// A volume on the GPU with what the renderer keeps about it.
struct LoadedVolume {
    texture: wgpu::Texture,
    dims: UVec3,
    voxel_to_world: DMat4,
    ranges: BrickRanges,
    occupancy: wgpu::Texture,
    /// Each brick's (lowest, highest) value: MIP skips bricks that cannot
    /// raise its maximum, MinIP those that cannot lower its minimum.
    range_texture: wgpu::Texture,
    bind_group: Option<wgpu::BindGroup>,
}

/// Pipeline, sampler, transfer-function table and the current volume.
pub struct VolumeRenderer {
    pipeline: wgpu::RenderPipeline,
    /// Rays that stop at segments drawn first, blended over them.
    over_pipeline: wgpu::RenderPipeline,
    depth_layout: wgpu::BindGroupLayout,
    /// The segments' depth, copied for reading.
    depth_copy: std::cell::RefCell<Option<wgpu::Texture>>,
    params: wgpu::Buffer,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    table: wgpu::Texture,
    volume: Option<LoadedVolume>,
    look: Option<(Look, (f32, f32))>,
    format: wgpu::TextureFormat,
    /// Skip bricks the table hides (off only to measure what it saves).
    skipping: bool,
    blit: Blit,
    small: std::cell::RefCell<Option<OffscreenFrame>>,
    /// The view at rest cast band by band ([`VolumeRenderer::draw_rows`]),
    /// and the segments' depth its bands read (its own: a PNG export drawn
    /// meanwhile copies another size into `depth_copy`).
    refined: std::cell::RefCell<Option<OffscreenFrame>>,
    refined_depth: std::cell::RefCell<Option<wgpu::Texture>>,
}

impl VolumeRenderer {
    /// Builds the pipeline for colour targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("volume_render.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shaders::volume_render().into()),
        });
        let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty,
            count: None,
        };
        let texture = |dimension, filterable| wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable },
            view_dimension: dimension,
            multisampled: false,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("volume"),
            entries: &[
                entry(
                    0,
                    wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                ),
                entry(1, texture(wgpu::TextureViewDimension::D3, true)),
                entry(
                    2,
                    wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                ),
                entry(3, texture(wgpu::TextureViewDimension::D2, false)),
                entry(4, texture(wgpu::TextureViewDimension::D3, false)),
                entry(5, texture(wgpu::TextureViewDimension::D3, false)),
            ],
        });
        let pipeline = crate::full_screen_pipeline(device, "volume", &module, &layout, format);
        let depth_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("segment depth"),
            // A depth texture read as an unfilterable float one, which
            // WebGPU allows and WebGL2's GLSL can load from.
            entries: &[entry(0, texture(wgpu::TextureViewDimension::D2, false))],
        });
        let over_pipeline = crate::full_screen_pipeline_with(
            device,
            "volume over segments",
            &module,
            &[&layout, &depth_layout],
            format,
            "fs_over",
            Some(OVER),
        );
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("volume params"),
            size: std::mem::size_of::<Params>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("volume"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let table = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("transfer function"),
            size: wgpu::Extent3d {
                width: LUT_SIZE as u32,
                height: 1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            // Full floats: per-mm opacities of a few thousandths must not
            // round to zero.
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        Self {
            pipeline,
            over_pipeline,
            depth_layout,
            depth_copy: std::cell::RefCell::new(None),
            params,
            layout,
            sampler,
            table,
            volume: None,
            look: None,
            format,
            skipping: true,
            blit: Blit::new(device, format),
            small: std::cell::RefCell::new(None),
            refined: std::cell::RefCell::new(None),
            refined_depth: std::cell::RefCell::new(None),
        }
    }

    /// Most texels per side this device takes (pass to
    /// [`insitu_volume::display::RenderGrid::new`]).
    pub fn max_side(device: &wgpu::Device) -> u32 {
        device.limits().max_texture_dimension_3d
    }

    /// Starts a volume of `dims` texels whose centres map to patient mm by
    /// `voxel_to_world`; its slices follow with [`VolumeRenderer::upload_slices`],
    /// then [`VolumeRenderer::finish_volume`].
    pub fn begin_volume(&mut self, device: &wgpu::Device, dims: [u32; 3], voxel_to_world: DMat4) {
        let dims = UVec3::from(dims).max(UVec3::ONE);
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("volume"),
            size: extent(dims),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format: wgpu::TextureFormat::R16Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let ranges = BrickRanges::new(dims);
        let occupancy = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("occupied bricks"),
            size: extent(ranges.bricks),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format: wgpu::TextureFormat::R8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let range_texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("brick ranges"),
            size: extent(ranges.bricks),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format: wgpu::TextureFormat::Rg32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        self.volume = Some(LoadedVolume {
            texture,
            dims,
            voxel_to_world,
            ranges,
            occupancy,
            range_texture,
            bind_group: None,
        });
    }

    /// Uploads whole texel slices from `first_slice` on (16-bit float bits,
    /// x fastest), as [`insitu_volume::display::RenderGrid::fill`] gives them.
    /// Returns the slices' values (decoded once for the brick ranges), for
    /// a caller that counts them too (the editor's histogram).
    pub fn upload_slices(
        &mut self,
        queue: &wgpu::Queue,
        first_slice: u32,
        texels: &[u16],
    ) -> Vec<f32> {
        let Some(v) = &mut self.volume else {
            return Vec::new();
        };
        let per_slice = (v.dims.x * v.dims.y) as usize;
        let slices = (texels.len() / per_slice) as u32;
        let slices = slices.min(v.dims.z.saturating_sub(first_slice));
        if slices == 0 {
            return Vec::new();
        }
        let texels = &texels[..per_slice * slices as usize];
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &v.texture,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: 0,
                    z: first_slice,
                },
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(texels),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(v.dims.x * 2),
                rows_per_image: Some(v.dims.y),
            },
            extent(UVec3::new(v.dims.x, v.dims.y, slices)),
        );
        let values: Vec<f32> = texels
            .iter()
            .map(|&bits| insitu_volume::display::f16_value(bits))
            .collect();
        v.ranges.add_slices(v.dims, first_slice, &values);
        values
    }

    /// Ends the upload: brick ranges widened, bricks marked for the look.
    pub fn finish_volume(&mut self, device: &wgpu::Device, queue: &wgpu::Queue) {
        let Some(v) = &mut self.volume else {
            return;
        };
        v.ranges = v.ranges.widened();
        let pairs: Vec<[f32; 2]> = v
            .ranges
            .low
            .iter()
            .zip(&v.ranges.high)
            .map(|(&lo, &hi)| [lo, hi])
            .collect();
        queue.write_texture(
            v.range_texture.as_image_copy(),
            bytemuck::cast_slice(&pairs),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(v.ranges.bricks.x * 8),
                rows_per_image: Some(v.ranges.bricks.y),
            },
            extent(v.ranges.bricks),
        );
        v.bind_group = Some(device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("volume"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(
                        &v.texture.create_view(&Default::default()),
                    ),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(
                        &self.table.create_view(&Default::default()),
                    ),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: wgpu::BindingResource::TextureView(
                        &v.occupancy.create_view(&Default::default()),
                    ),
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: wgpu::BindingResource::TextureView(
                        &v.range_texture.create_view(&Default::default()),
                    ),
                },
            ],
        }));
        if let Some((look, domain)) = self.look.clone() {
            self.set_look(queue, &look, domain);
        }
    }

    /// A whole volume at once (`begin`, one upload, `finish`).
    pub fn set_volume(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        dims: [u32; 3],
        voxel_to_world: DMat4,
        texels: &[u16],
    ) {
        self.begin_volume(device, dims, voxel_to_world);
        let _ = self.upload_slices(queue, 0, texels);
        self.finish_volume(device, queue);
    }

    /// Sets how the volume looks; `domain` is the value range the table
    /// spans (the volume's own range, so no value falls outside it).
    pub fn set_look(&mut self, queue: &wgpu::Queue, look: &Look, domain: (f32, f32)) {
        let domain = (domain.0, domain.1.max(domain.0 + 1.0));
        let table = look.transfer.baked(domain);
        queue.write_texture(
            self.table.as_image_copy(),
            bytemuck::cast_slice(&table),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(LUT_SIZE as u32 * 16),
                rows_per_image: Some(1),
            },
            extent(UVec3::new(LUT_SIZE as u32, 1, 1)),
        );
        if let Some(v) = &self.volume {
            let occupied = v.ranges.occupancy(&table, domain);
            queue.write_texture(
                v.occupancy.as_image_copy(),
                &occupied,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(v.ranges.bricks.x),
                    rows_per_image: Some(v.ranges.bricks.y),
                },
                extent(v.ranges.bricks),
            );
        }
        self.look = Some((look.clone(), domain));
    }

    /// Whether rays skip bricks the transfer function hides (on by default;
    /// off gives the benchmark its baseline).
    pub fn set_empty_space_skipping(&mut self, on: bool) {
        self.skipping = on;
    }

    /// Drops the volume.
    pub fn clear(&mut self) {
        self.volume = None;
    }

    /// The volume's box (texture coordinates 0..1) → patient mm: what a
    /// [`insitu_look::ClipPlane`] is measured in.
    pub fn box_to_world(&self) -> Option<DMat4> {
        let v = self.volume.as_ref()?;
        Some(v.voxel_to_world * index_to_texture(v.dims).inverse())
    }

    /// Whether a volume is loaded and ready to draw.
    pub fn has_volume(&self) -> bool {
        self.volume.as_ref().is_some_and(|v| v.bind_group.is_some())
    }

    /// Casts rays for the pixels of `target` (`width`×`height`): all of
    /// them, or at [`Quality::Moving`] fewer, scaled up.
    pub fn draw(
        &self,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        quality: Quality,
        background: wgpu::Color,
    ) {
        let cast = Cast::Alone(background);
        let Some(small) = self.reduced_frame(to.device, to.size, quality) else {
            self.cast(to, encoder, quality, cast, None);
            return;
        };
        let view = small.texture.create_view(&Default::default());
        self.cast(to.onto(&view, small.size), encoder, quality, cast, None);
        self.scale_up(encoder, to.view, &small, background);
    }

    /// Casts rays over segments already drawn into `target` whose depth is
    /// `depth` (a [`crate::SurfaceRenderer::draw_parts`]): each ray stops at
    /// the segment it meets, and what it gathered in front is blended over
    /// it, so segments inside translucent tissue show through it.
    /// Drawn at the target's size: a drag frame's `quality` only lowers the
    /// samples per voxel ([`VolumeRenderer::draw_with_parts`] makes it small).
    pub fn draw_over(
        &self,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        quality: Quality,
        depth: &wgpu::Texture,
    ) {
        copy_depth(&self.depth_copy, to.device, encoder, depth);
        if let Some(depth) = self.depth_bind_group(&self.depth_copy, to.device) {
            self.cast(to, encoder, quality, Cast::Over(&depth), None);
        }
    }

    /// The segment depth last copied into `copy`, bound for the rays.
    fn depth_bind_group(
        &self,
        copy: &std::cell::RefCell<Option<wgpu::Texture>>,
        device: &wgpu::Device,
    ) -> Option<wgpu::BindGroup> {
        let copy = copy.borrow();
        let copy = copy.as_ref()?;
        Some(device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("segment depth"),
            layout: &self.depth_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(
                    &copy.create_view(&Default::default()),
                ),
            }],
        }))
    }

    /// The frame kept off the canvas that a fine frame is cast into band by
    /// band ([`VolumeRenderer::draw_rows`]), made or resized to `size`.
    pub fn refined_view(&self, device: &wgpu::Device, size: (u32, u32)) -> wgpu::TextureView {
        let mut refined = self.refined.borrow_mut();
        let frame = match refined.take() {
            Some(frame) if frame.size == size => frame,
            _ => self.offscreen_frame(device, size),
        };
        let view = frame.texture.create_view(&Default::default());
        *refined = Some(frame);
        view
    }

    /// Draws the triangles `span` of the segments' surfaces of `surfaces`
    /// into `to` (a [`VolumeRenderer::refined_view`]): the first steps of a
    /// fine frame cast band by band where segments are shown. The span from
    /// 0 clears the frame; the one reaching the parts' last triangle keeps
    /// their depth for the rays of [`VolumeRenderer::draw_rows`]. Spans in
    /// turn, each submitted alone, keep the segments of a software GPU from
    /// holding the page (see [`crate::SurfaceRenderer::draw_parts_span`]).
    pub fn draw_parts_step(
        &self,
        surfaces: &mut crate::SurfaceRenderer,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        span: std::ops::Range<u64>,
        background: wgpu::Color,
    ) {
        let last = span.end >= surfaces.parts_triangles();
        surfaces.draw_parts_span(to, encoder, background, span);
        if let Some(depth) = surfaces.depth().filter(|_| last) {
            copy_depth(&self.refined_depth, to.device, encoder, depth);
        }
    }

    /// Casts rows `rows` of the view at rest into `to` (a
    /// [`VolumeRenderer::refined_view`]): over the segments of `surfaces`
    /// where [`VolumeRenderer::draw_parts_step`] drew them first, each band
    /// over the band's background otherwise. Band by band, a fine frame
    /// that would hold a software GPU for a second never blocks the page
    /// (browsers without GPU compositing read each canvas frame back
    /// synchronously); [`VolumeRenderer::show_refined`] then puts it on the
    /// canvas.
    pub fn draw_rows(
        &self,
        surfaces: &crate::SurfaceRenderer,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        rows: std::ops::Range<u32>,
        background: wgpu::Color,
    ) {
        if surfaces.has_parts() {
            if let Some(depth) = self.depth_bind_group(&self.refined_depth, to.device) {
                self.cast(to, encoder, Quality::Fine, Cast::Over(&depth), Some(rows));
            }
        } else {
            self.cast(
                to,
                encoder,
                Quality::Fine,
                Cast::Alone(background),
                Some(rows),
            );
        }
    }

    /// Draws the frame [`VolumeRenderer::draw_rows`] cast onto `target`.
    pub fn show_refined(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        background: wgpu::Color,
    ) {
        if let Some(frame) = self.refined.borrow().as_ref() {
            self.scale_up(encoder, target, frame, background);
        }
    }

    /// The volume with the segments' surfaces of `surfaces`, composed by
    /// depth ([`VolumeRenderer::draw_over`]); while the user drags, both are
    /// drawn on the smaller frame and scaled up together (the caller leaves
    /// the segments out of drag frames where their triangles are slow: see
    /// [`crate::FramePacing::parts_in_drags`]).
    pub fn draw_with_parts(
        &self,
        surfaces: &mut crate::SurfaceRenderer,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        quality: Quality,
        background: wgpu::Color,
    ) {
        let small = self.reduced_frame(to.device, to.size, quality);
        let small_view = small
            .as_ref()
            .map(|s| (s.texture.create_view(&Default::default()), s.size));
        let drawn = match &small_view {
            Some((view, small_size)) => to.onto(view, *small_size),
            None => to,
        };
        surfaces.draw_parts(drawn, encoder, background);
        if let Some(depth) = surfaces.depth() {
            self.draw_over(drawn, encoder, quality, depth);
        }
        if let Some(small) = &small {
            self.scale_up(encoder, to.view, small, background);
        }
    }

    /// The smaller frame a drag at `quality` is drawn on (made or resized
    /// as needed), or `None` at rest: the full target then.
    fn reduced_frame(
        &self,
        device: &wgpu::Device,
        (width, height): (u32, u32),
        quality: Quality,
    ) -> Option<std::cell::RefMut<'_, OffscreenFrame>> {
        let Quality::Moving(divisor @ 2..) = quality else {
            return None;
        };
        let mut small = self.small.borrow_mut();
        let size = (
            width.div_ceil(divisor).max(1),
            height.div_ceil(divisor).max(1),
        );
        if small.as_ref().is_none_or(|s| s.size != size) {
            *small = Some(self.offscreen_frame(device, size));
        }
        Some(std::cell::RefMut::map(small, |s| {
            s.as_mut().expect("made above")
        }))
    }

    /// Draws the smaller frame over the whole of `target`, filtered.
    fn scale_up(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        small: &OffscreenFrame,
        background: wgpu::Color,
    ) {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("drag frame scaled up"),
            color_attachments: &[Some(crate::cleared_attachment(target, background))],
            ..Default::default()
        });
        pass.set_pipeline(&self.blit.pipeline);
        pass.set_bind_group(0, &small.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }

    fn offscreen_frame(&self, device: &wgpu::Device, size: (u32, u32)) -> OffscreenFrame {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("volume off the canvas"),
            size: extent(UVec3::new(size.0, size.1, 1)),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: self.format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("blit"),
            layout: &self.blit.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(
                        &texture.create_view(&Default::default()),
                    ),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(&self.blit.sampler),
                },
            ],
        });
        OffscreenFrame {
            texture,
            size,
            bind_group,
        }
    }

    /// One ray-casting pass into `target` of `(width, height)` pixels:
    /// cleared to the background, or drawn over the segments already there;
    /// only `rows` of them when given (a band after the first keeps the
    /// bands before it).
    fn cast(
        &self,
        to: DrawTarget,
        encoder: &mut wgpu::CommandEncoder,
        quality: Quality,
        cast: Cast,
        rows: Option<std::ops::Range<u32>>,
    ) {
        let DrawTarget {
            queue,
            view: target,
            size: (width, height),
            orbit,
            ..
        } = to;
        let later_band = rows.as_ref().is_some_and(|r| r.start > 0);
        let (attachment, background) = match cast {
            Cast::Alone(background) if later_band => (crate::loaded_attachment(target), background),
            Cast::Alone(background) => (crate::cleared_attachment(target, background), background),
            Cast::Over(_) => (crate::loaded_attachment(target), wgpu::Color::TRANSPARENT),
        };
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("volume"),
            color_attachments: &[Some(attachment)],
            ..Default::default()
        });
        if let Some(rows) = rows {
            let end = rows.end.min(height);
            let start = rows.start.min(end);
            pass.set_scissor_rect(0, start, width, end - start);
        }
        let (Some(v), Some((look, domain))) = (&self.volume, &self.look) else {
            return;
        };
        let Some(bind_group) = &v.bind_group else {
            return;
        };
        let index_to_texture = index_to_texture(v.dims);
        let texture_to_world = v.voxel_to_world * index_to_texture.inverse();
        let linear = glam::DMat3::from_mat4(v.voxel_to_world);
        let gradient_to_world = DMat4::from_mat3(linear.inverse().transpose());
        let (right, up, back) = orbit.axes();
        let [lx, ly, lz] = look.lighting.from_camera;
        let light = (right * lx + up * ly + back * lz).normalize_or(back);
        let blend = match look.blend {
            Blend::Composite => 0.0,
            Blend::Mip => 1.0,
            Blend::MinIp => 2.0,
            Blend::Average => 3.0,
        };
        let samples_per_voxel = match quality {
            Quality::Fine => 2.0,
            Quality::Moving(_) => 1.0,
        };
        let clip = look.clip.map_or([0.0; 4], |c| {
            [c.normal[0], c.normal[1], c.normal[2], c.offset]
        });
        let l = &look.lighting;
        let params = Params {
            inverse_view_proj: orbit
                .view_proj(width as f32 / height.max(1) as f32)
                .inverse()
                .to_cols_array_2d(),
            world_to_texture: (index_to_texture * v.voxel_to_world.inverse())
                .as_mat4()
                .to_cols_array_2d(),
            texture_to_world: texture_to_world.as_mat4().to_cols_array_2d(),
            gradient_to_world: gradient_to_world.as_mat4().to_cols_array_2d(),
            settings: [
                blend,
                domain.0,
                1.0 / (domain.1 - domain.0),
                samples_per_voxel,
            ],
            dims: [
                v.dims.x as f32,
                v.dims.y as f32,
                v.dims.z as f32,
                if l.enabled { 1.0 } else { 0.0 },
            ],
            light: [light.x, light.y, light.z, l.shininess],
            shading: [l.ambient, l.diffuse, l.specular, BRICK as f32],
            clip,
            // The whole texture: a crop box is applied by sending only its
            // texels (the grid of the box).
            crop_low: [0.0, 0.0, 0.0, if self.skipping { 1.0 } else { 0.0 }],
            crop_high: [1.0; 4],
            background: [
                background.r as f32,
                background.g as f32,
                background.b as f32,
                1.0,
            ],
            occlusion: [l.occlusion, insitu_look::OCCLUSION_REACH_MM, 0.0, 0.0],
        };
        queue.write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
        match cast {
            Cast::Alone(_) => pass.set_pipeline(&self.pipeline),
            Cast::Over(depth) => {
                pass.set_pipeline(&self.over_pipeline);
                pass.set_bind_group(1, depth, &[]);
            }
        }
        pass.set_bind_group(0, bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

/// The volume alone over a background, or over segments drawn first.
#[derive(Clone, Copy)]
enum Cast<'a> {
    Alone(wgpu::Color),
    Over(&'a wgpu::BindGroup),
}

/// Copies the segments' depth for the rays to read (WebGL2 would see a
/// feedback loop reading the texture the surfaces were drawn with) into
/// `copy`, made or resized to fit.
fn copy_depth(
    copy: &std::cell::RefCell<Option<wgpu::Texture>>,
    device: &wgpu::Device,
    encoder: &mut wgpu::CommandEncoder,
    depth: &wgpu::Texture,
) {
    let extent = depth.size();
    let mut copy = copy.borrow_mut();
    if copy.as_ref().is_none_or(|c| c.size() != extent) {
        *copy = Some(device.create_texture(&wgpu::TextureDescriptor {
            label: Some("segment depth, read by the rays"),
            size: extent,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: depth.format(),
            usage: wgpu::TextureUsages::COPY_DST | wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        }));
    }
    if let Some(copy) = copy.as_ref() {
        encoder.copy_texture_to_texture(depth.as_image_copy(), copy.as_image_copy(), extent);
    }
}

/// Texture coordinates put texel centre i at (i + 0.5) / n.
fn index_to_texture(dims: UVec3) -> DMat4 {
    DMat4::from_scale(1.0 / dims.as_dvec3()) * DMat4::from_translation(glam::DVec3::splat(0.5))
}

fn extent(size: UVec3) -> wgpu::Extent3d {
    wgpu::Extent3d {
        width: size.x,
        height: size.y,
        depth_or_array_layers: size.z,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bricks_whose_values_the_table_hides_are_skipped() {
        // A 16³ grid: air everywhere but one bone texel in the first brick.
        let dims = UVec3::splat(16);
        let mut values = vec![-1000.0f32; 16 * 16 * 16];
        values[(2 * 16 + 3) * 16 + 4] = 1200.0;
        let mut ranges = BrickRanges::new(dims);
        ranges.add_slices(dims, 0, &values);
        let ranges = ranges.widened();
        let bone = insitu_look::Preset::CtBone.look((-1024.0, 3071.0)).transfer;
        let domain = (-1024.0, 3071.0);
        let occupied = ranges.occupancy(&bone.baked(domain), domain);
        // Widened by neighbours, all eight bricks see the bone texel.
        assert_eq!(occupied, vec![255; 8]);
        // Unwidened, only its own brick does; air alone is skipped.
        let mut alone = BrickRanges::new(dims);
        alone.add_slices(dims, 0, &values);
        let occupied = alone.occupancy(&bone.baked(domain), domain);
        assert_eq!(occupied.iter().filter(|&&o| o == 255).count(), 1);
        assert_eq!(occupied[0], 255);
    }
}
