//! The 2D views on the GPU: the volume's HU values in a 3D texture, resliced
//! along any plane in patient space by a fragment shader and read back as
//! windowed grey RGBA, the same pixels [`insitu_volume::reslice::sample`]
//! gives on the CPU. A render pass only, so WebGL2 can run it as well as
//! WebGPU; a volume larger than the device's 3D texture limit is refused
//! with the limit named, and the caller reslices on the CPU instead.

use std::cell::OnceCell;

use insitu_volume::reslice::{IndexMap, Plane};
use insitu_volume::{Volume, Voxels};
use wgpu::util::DeviceExt;

use crate::readback::read_buffer;
use crate::{GpuContext, GpuError, shaders};

/// Output pixels: 8-bit RGBA, rows top to bottom.
const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Upload at most this many bytes per texture write, so no volume-sized
/// staging copy is ever made.
const UPLOAD_SLAB_BYTES: usize = 16 << 20;

/// One view to draw: where, and with which window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceView {
    /// The plane in patient space, and its size in pixels.
    pub plane: Plane,
    /// Window width, HU.
    pub window: f64,
    /// Window centre, HU.
    pub level: f64,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    start: [f32; 4],
    step_x: [f32; 4],
    step_y: [f32; 4],
    dims: [f32; 4],
    window: [f32; 4],
}

/// The reslicing pipelines of one device, built once and kept across
/// volumes (one per voxel type, compiled the first time a volume of that
/// type is uploaded); only the volume's texture changes with each study.
pub struct SliceRenderer {
    i16_pipeline: OnceCell<(wgpu::BindGroupLayout, wgpu::RenderPipeline)>,
    f32_pipeline: OnceCell<(wgpu::BindGroupLayout, wgpu::RenderPipeline)>,
}

/// A volume resident on the GPU, ready to be resliced along any plane by
/// the [`SliceRenderer`] that uploaded it.
pub struct SliceVolume {
    float: bool,
    volume: wgpu::TextureView,
    offsets: wgpu::TextureView,
    /// (i, j, t) of world, from [`IndexMap`].
    inverse: glam::DMat3,
    origin: glam::DVec3,
    dims: [f32; 4],
    offset_count: u32,
}

/// A volume's texture being filled a slab at a time
/// ([`SliceRenderer::begin_upload`]).
pub struct SliceUpload {
    texture: wgpu::Texture,
    size: wgpu::Extent3d,
    /// The first slice not yet written.
    next_slice: u32,
    /// What [`SliceUpload::finish`] gives once every slice is written.
    ready: SliceVolume,
}

impl SliceUpload {
    /// Writes the next slab of `volume` (the one the upload was begun
    /// with): at most 16 MB, and at least one slice. True once every slice
    /// is written.
    pub fn write_slab(&mut self, ctx: &GpuContext, volume: &Volume) -> bool {
        let depth = self.size.depth_or_array_layers;
        if self.next_slice < depth {
            let (texture, size, k) = (&self.texture, self.size, self.next_slice);
            self.next_slice = match volume.voxels() {
                Voxels::I16(v) => write_slices(ctx, texture, size, bytemuck::cast_slice(v), 2, k),
                Voxels::F32(v) => write_slices(ctx, texture, size, bytemuck::cast_slice(v), 4, k),
            };
        }
        self.next_slice >= depth
    }

    /// The volume, ready to reslice (once [`SliceUpload::write_slab`] said
    /// every slice is written).
    pub fn finish(self) -> SliceVolume {
        self.ready
    }
}

impl Default for SliceRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl SliceRenderer {
    /// A renderer with no pipeline compiled yet.
    pub fn new() -> Self {
        Self {
            i16_pipeline: OnceCell::new(),
            f32_pipeline: OnceCell::new(),
        }
    }

    /// The pipeline (and its bind group layout) for a voxel type.
    fn pipeline(
        &self,
        ctx: &GpuContext,
        float: bool,
    ) -> &(wgpu::BindGroupLayout, wgpu::RenderPipeline) {
        let (cell, sample_type, texel) = if float {
            (
                &self.f32_pipeline,
                wgpu::TextureSampleType::Float { filterable: false },
                "texture_3d<f32>",
            )
        } else {
            (
                &self.i16_pipeline,
                wgpu::TextureSampleType::Sint,
                "texture_3d<i32>",
            )
        };
        cell.get_or_init(|| {
            let layout = bind_group_layout(&ctx.device, sample_type);
            let pipeline = pipeline(&ctx.device, &layout, texel);
            (layout, pipeline)
        })
    }

    /// Uploads `volume` (in slabs) as a 3D texture, compiling its voxel
    /// type's pipeline the first time. Fails when the grid exceeds the
    /// device's texture limits.
    pub fn upload(&self, ctx: &GpuContext, volume: &Volume) -> Result<SliceVolume, GpuError> {
        let mut upload = self.begin_upload(ctx, volume)?;
        while !upload.write_slab(ctx, volume) {}
        Ok(upload.finish())
    }

    /// Makes `volume`'s texture (compiling its voxel type's pipeline the
    /// first time), to be filled a slab at a time by
    /// [`SliceUpload::write_slab`]: a caller that serves requests can serve
    /// them between slabs. Fails when the grid exceeds the device's texture
    /// limits.
    pub fn begin_upload(&self, ctx: &GpuContext, volume: &Volume) -> Result<SliceUpload, GpuError> {
        let device = &ctx.device;
        let limits = device.limits();
        let g = volume.geometry();
        let d = g.dims;
        let largest = d.x.max(d.y).max(d.z);
        if largest > limits.max_texture_dimension_3d {
            return Err(GpuError::Limit(format!(
                "the volume has {largest} voxels along an axis; this GPU's 3D textures hold {}",
                limits.max_texture_dimension_3d
            )));
        }
        let map = IndexMap::new(volume);
        let offsets_mm = map.slice_offsets_mm();
        let offset_count = offsets_mm.map_or(0, <[f64]>::len) as u32;
        if offset_count > limits.max_texture_dimension_2d {
            return Err(GpuError::Limit(format!(
                "{offset_count} slice positions exceed this GPU's 2D texture width {}",
                limits.max_texture_dimension_2d
            )));
        }
        let float = matches!(volume.voxels(), Voxels::F32(_));
        self.pipeline(ctx, float);
        let size = wgpu::Extent3d {
            width: d.x,
            height: d.y,
            depth_or_array_layers: d.z,
        };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("slice volume"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format: if float {
                wgpu::TextureFormat::R32Float
            } else {
                wgpu::TextureFormat::R16Sint
            },
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let k_step = map.k_step_mm();
        let ready = SliceVolume {
            float,
            volume: texture.create_view(&Default::default()),
            offsets: offsets_texture(ctx, offsets_mm),
            inverse: glam::DMat3::from_cols(
                map.ijt_along(glam::DVec3::X),
                map.ijt_along(glam::DVec3::Y),
                map.ijt_along(glam::DVec3::Z),
            ),
            origin: g.origin,
            dims: [d.x as f32, d.y as f32, d.z as f32, k_step as f32],
            offset_count,
        };
        Ok(SliceUpload {
            texture,
            size,
            next_slice: 0,
            ready,
        })
    }

    /// Draws every view in one submission and returns their RGBA pixels
    /// (`width`×`height`×4 each, rows top to bottom), in order.
    pub async fn render(
        &self,
        ctx: &GpuContext,
        volume: &SliceVolume,
        views: &[SliceView],
    ) -> Result<Vec<Vec<u8>>, GpuError> {
        let device = &ctx.device;
        let (layout, pipeline) = self.pipeline(ctx, volume.float);
        let mut encoder = device.create_command_encoder(&Default::default());
        let mut readbacks = Vec::with_capacity(views.len());
        for view in views {
            let (width, height) = (view.plane.width.max(1), view.plane.height.max(1));
            let params = volume.params(view);
            let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("slice params"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("slice"),
                layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&volume.volume),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(&volume.offsets),
                    },
                ],
            });
            let target = device.create_texture(&wgpu::TextureDescriptor {
                label: Some("slice target"),
                size: wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: FORMAT,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
                view_formats: &[],
            });
            {
                let target_view = target.create_view(&Default::default());
                let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("slice"),
                    color_attachments: &[Some(crate::cleared_attachment(
                        &target_view,
                        wgpu::Color::BLACK,
                    ))],
                    ..Default::default()
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.draw(0..3, 0..1);
            }
            let padded_row = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("slice readback"),
                size: u64::from(padded_row) * u64::from(height),
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            });
            encoder.copy_texture_to_buffer(
                target.as_image_copy(),
                wgpu::TexelCopyBufferInfo {
                    buffer: &buffer,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(padded_row),
                        rows_per_image: Some(height),
                    },
                },
                wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
            );
            readbacks.push((buffer, width, padded_row));
        }
        ctx.queue.submit([encoder.finish()]);
        let mut images = Vec::with_capacity(readbacks.len());
        for (buffer, width, padded_row) in readbacks {
            let padded = read_buffer(device, &buffer).await?;
            let row = (width * 4) as usize;
            images.push(
                padded
                    .chunks_exact(padded_row as usize)
                    .flat_map(|r| &r[..row])
                    .copied()
                    .collect(),
            );
        }
        Ok(images)
    }
}

impl SliceVolume {
    /// The shader's inputs for a view: the CPU path's (i, j, t) stepping,
    /// in f32.
    fn params(&self, view: &SliceView) -> Params {
        let plane = &view.plane;
        let start = self.inverse * (plane.world_of_pixel(0.0, 0.0) - self.origin);
        let step_x = self.inverse * (plane.right * plane.mm_per_pixel);
        let step_y = self.inverse * (plane.down * plane.mm_per_pixel);
        let v4 = |v: glam::DVec3| [v.x as f32, v.y as f32, v.z as f32, 0.0];
        let low = view.level - view.window / 2.0;
        let scale = 255.0 / view.window.max(1e-6);
        Params {
            start: v4(start),
            step_x: v4(step_x),
            step_y: v4(step_y),
            dims: self.dims,
            window: [low as f32, scale as f32, self.offset_count as f32, 0.0],
        }
    }
}

/// Writes slices from `k` of `bytes` (x fastest, `texel` bytes each) into
/// `texture`: at most [`UPLOAD_SLAB_BYTES`], and at least one slice. The
/// first slice not written.
fn write_slices(
    ctx: &GpuContext,
    texture: &wgpu::Texture,
    size: wgpu::Extent3d,
    bytes: &[u8],
    texel: u32,
    k: u32,
) -> u32 {
    let slice_bytes = (size.width * size.height * texel) as usize;
    let per_slab = (UPLOAD_SLAB_BYTES / slice_bytes.max(1)).max(1) as u32;
    let depth = per_slab.min(size.depth_or_array_layers - k);
    let from = k as usize * slice_bytes;
    ctx.queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d { x: 0, y: 0, z: k },
            aspect: wgpu::TextureAspect::All,
        },
        &bytes[from..from + depth as usize * slice_bytes],
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(size.width * texel),
            rows_per_image: Some(size.height),
        },
        wgpu::Extent3d {
            depth_or_array_layers: depth,
            ..size
        },
    );
    k + depth
}

/// The true slice offsets as a one-row R32Float texture (a single zero
/// when the stack is uniform: the shader then never reads it).
fn offsets_texture(ctx: &GpuContext, offsets_mm: Option<&[f64]>) -> wgpu::TextureView {
    let values: Vec<f32> =
        offsets_mm.map_or_else(|| vec![0.0], |o| o.iter().map(|&v| v as f32).collect());
    let texture = ctx.device.create_texture_with_data(
        &ctx.queue,
        &wgpu::TextureDescriptor {
            label: Some("slice offsets"),
            size: wgpu::Extent3d {
                width: values.len() as u32,
                height: 1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        bytemuck::cast_slice(&values),
    );
    texture.create_view(&Default::default())
}

fn bind_group_layout(
    device: &wgpu::Device,
    volume_sample_type: wgpu::TextureSampleType,
) -> wgpu::BindGroupLayout {
    let texture = |binding, sample_type, view_dimension| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension,
            multisampled: false,
        },
        count: None,
    };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("slice"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            texture(1, volume_sample_type, wgpu::TextureViewDimension::D3),
            texture(
                2,
                wgpu::TextureSampleType::Float { filterable: false },
                wgpu::TextureViewDimension::D2,
            ),
        ],
    })
}

fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    texel: &str,
) -> wgpu::RenderPipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("slice_render.wgsl"),
        source: wgpu::ShaderSource::Wgsl(shaders::slice_render(texel).into()),
    });
    crate::full_screen_pipeline(device, "slice", &module, layout, FORMAT)
}
