//! Where one drawing of the 3D view goes, taken by every renderer's draw
//! call: built once per frame by the caller instead of six arguments
//! repeated in each call.

use crate::{GpuContext, Orbit};

/// The device and queue that draw, the texture view drawn into and its
/// size in pixels, and the camera the scene is seen from.
#[derive(Clone, Copy)]
pub struct DrawTarget<'a> {
    /// The device the renderers' resources live on.
    pub device: &'a wgpu::Device,
    /// Its queue (uniforms are written through it).
    pub queue: &'a wgpu::Queue,
    /// The texture view drawn into.
    pub view: &'a wgpu::TextureView,
    /// Its width and height in pixels.
    pub size: (u32, u32),
    /// The camera.
    pub orbit: &'a Orbit,
}

impl<'a> DrawTarget<'a> {
    /// A frame drawn by `ctx`'s device into `view`.
    pub fn of(
        ctx: &'a GpuContext,
        view: &'a wgpu::TextureView,
        size: (u32, u32),
        orbit: &'a Orbit,
    ) -> Self {
        Self {
            device: &ctx.device,
            queue: &ctx.queue,
            view,
            size,
            orbit,
        }
    }

    /// The same frame drawn into another texture (a drag's smaller frame).
    pub fn onto(self, view: &'a wgpu::TextureView, size: (u32, u32)) -> Self {
        Self { view, size, ..self }
    }
}
