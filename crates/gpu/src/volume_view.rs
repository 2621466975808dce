//! Volume rendering for the 3D view: rays cast through an 8-bit copy of the
//! volume in a 3D texture, as maximum intensity projection or composited
//! with a bone / soft-tissue ramp. A render pass only (no compute), so it
//! runs on WebGL2 as well as WebGPU, and natively on lavapipe in tests.

use glam::{DMat4, Mat4};

use crate::Orbit;
use crate::shaders;

/// How the rays combine samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VolumeStyle {
    /// Maximum intensity projection, windowed to [low, high] HU.
    Mip {
        /// HU shown black.
        low: f32,
        /// HU shown white.
        high: f32,
    },
    /// Front-to-back compositing; opacity ramps from `low` to `high` HU.
    Composite {
        /// HU where opacity starts.
        low: f32,
        /// HU of full opacity.
        high: f32,
        /// Colour (linear RGB).
        color: [f32; 3],
    },
}

/// A HU value on the 0..1 scale of the texture's bytes
/// ([`insitu_volume::display::hu_to_byte`], divided by 255).
fn hu_to_unit(hu: f32) -> f32 {
    (hu + 1024.0) / 16.0 / 255.0
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    inverse_view_proj: [[f32; 4]; 4],
    world_to_texture: [[f32; 4]; 4],
    settings: [f32; 4],
    color: [f32; 4],
}

/// Pipeline, sampler and the current volume texture.
pub struct VolumeRenderer {
    pipeline: wgpu::RenderPipeline,
    params: wgpu::Buffer,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    volume: Option<(wgpu::BindGroup, Mat4)>,
}

impl VolumeRenderer {
    /// Builds the pipeline for colour targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("volume_render.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shaders::VOLUME_RENDER.into()),
        });
        let entry = |binding, visibility, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility,
            ty,
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("volume"),
            entries: &[
                entry(
                    0,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                ),
                entry(
                    1,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D3,
                        multisampled: false,
                    },
                ),
                entry(
                    2,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                ),
            ],
        });
        let pipeline = crate::full_screen_pipeline(device, "volume", &module, &layout, format);
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
        Self {
            pipeline,
            params,
            layout,
            sampler,
            volume: None,
        }
    }

    /// Uploads `bytes` (one [`insitu_volume::display::hu_to_byte`] per voxel, x fastest) of a grid
    /// of `dims` whose voxel centres map to patient mm by `voxel_to_world`.
    pub fn set_volume(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        dims: [u32; 3],
        voxel_to_world: DMat4,
        bytes: &[u8],
    ) {
        let size = wgpu::Extent3d {
            width: dims[0],
            height: dims[1],
            depth_or_array_layers: dims[2],
        };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("volume"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format: wgpu::TextureFormat::R8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        queue.write_texture(
            texture.as_image_copy(),
            bytes,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(dims[0]),
                rows_per_image: Some(dims[1]),
            },
            size,
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
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
                        &texture.create_view(&Default::default()),
                    ),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
            ],
        });
        // Texture coordinates put voxel centre i at (i + 0.5) / n.
        let n = glam::DVec3::new(dims[0].into(), dims[1].into(), dims[2].into());
        let index_to_texture =
            DMat4::from_scale(1.0 / n) * DMat4::from_translation(glam::DVec3::splat(0.5));
        let world_to_texture = (index_to_texture * voxel_to_world.inverse()).as_mat4();
        self.volume = Some((bind_group, world_to_texture));
    }

    /// Drops the volume.
    pub fn clear(&mut self) {
        self.volume = None;
    }

    /// Whether a volume is loaded.
    pub fn has_volume(&self) -> bool {
        self.volume.is_some()
    }

    /// Casts rays for every pixel of `target` (`width`×`height`).
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        (width, height): (u32, u32),
        orbit: &Orbit,
        style: VolumeStyle,
        background: wgpu::Color,
    ) {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("volume"),
            color_attachments: &[Some(crate::cleared_attachment(target, background))],
            ..Default::default()
        });
        let Some((bind_group, world_to_texture)) = &self.volume else {
            return;
        };
        let (mode, low, high, color) = match style {
            VolumeStyle::Mip { low, high } => (0.0, low, high, [1.0; 3]),
            VolumeStyle::Composite { low, high, color } => (1.0, low, high, color),
        };
        let params = Params {
            inverse_view_proj: orbit
                .view_proj(width as f32 / height.max(1) as f32)
                .inverse()
                .to_cols_array_2d(),
            world_to_texture: world_to_texture.to_cols_array_2d(),
            settings: [mode, hu_to_unit(low), hu_to_unit(high), 256.0],
            color: [color[0], color[1], color[2], 1.0],
        };
        queue.write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}
