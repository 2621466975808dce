//! Images drawn offscreen and read back: PNG snapshots at a chosen size
//! (larger than the canvas for print or slides), turntable frames, and the
//! way tests check what a backend drew (WebGPU canvases cannot be
//! screenshot in headless browsers; a texture copied to a buffer can).

use crate::GpuError;
use crate::readback::read_buffer;

/// A texture to draw one image into, in the format the renderers' pipelines
/// were built for.
pub struct Snapshot {
    texture: wgpu::Texture,
    size: (u32, u32),
    format: wgpu::TextureFormat,
}

/// A drawn image on its way back to the CPU.
pub struct PendingImage {
    /// Kept until the copy is read: a WebGPU texture dropped is destroyed
    /// at once, failing the copy still in flight.
    _texture: wgpu::Texture,
    device: wgpu::Device,
    buffer: wgpu::Buffer,
    size: (u32, u32),
    row_bytes: u32,
    bgra: bool,
}

impl Snapshot {
    /// An image of `size` pixels (clamped to the device's 2D texture limit)
    /// in `format` (the canvas's: the pipelines draw into that).
    pub fn new(device: &wgpu::Device, size: (u32, u32), format: wgpu::TextureFormat) -> Self {
        let max = device.limits().max_texture_dimension_2d;
        let size = (size.0.clamp(1, max), size.1.clamp(1, max));
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("snapshot"),
            size: wgpu::Extent3d {
                width: size.0,
                height: size.1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        Self {
            texture,
            size,
            format,
        }
    }

    /// Pixels across and down.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Where to draw.
    pub fn view(&self) -> wgpu::TextureView {
        self.texture.create_view(&Default::default())
    }

    /// Copies the drawn image into a readable buffer and submits `encoder`
    /// (holding the draw); read it with [`PendingImage::rgba`].
    pub fn finish(
        self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        mut encoder: wgpu::CommandEncoder,
    ) -> PendingImage {
        let (w, h) = self.size;
        let row_bytes = (w * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("snapshot readback"),
            size: u64::from(row_bytes) * u64::from(h),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        encoder.copy_texture_to_buffer(
            self.texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row_bytes),
                    rows_per_image: None,
                },
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        queue.submit([encoder.finish()]);
        PendingImage {
            _texture: self.texture,
            device: device.clone(),
            buffer,
            size: self.size,
            row_bytes,
            bgra: matches!(
                self.format,
                wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
            ),
        }
    }
}

impl PendingImage {
    /// Pixels across and down.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The image as RGBA rows, top row first.
    pub async fn rgba(self) -> Result<Vec<u8>, GpuError> {
        let bytes = read_buffer(&self.device, &self.buffer).await?;
        let (w, h) = self.size;
        let mut out = Vec::with_capacity((w * h * 4) as usize);
        for row in bytes.chunks_exact(self.row_bytes as usize).take(h as usize) {
            out.extend_from_slice(&row[..(w * 4) as usize]);
        }
        if self.bgra {
            for px in out.chunks_exact_mut(4) {
                px.swap(0, 2);
            }
        }
        Ok(out)
    }
}
