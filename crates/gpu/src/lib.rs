//! GPU work for insitu on wgpu: device set-up with capability tiers, compute
//! passes and (later) renderers.
//!
//! The same code runs natively (CLI, tests on Mesa lavapipe) and in the
//! browser (WebGPU, or the WebGL2 backend as a render-only fallback). It knows
//! volumes and meshes, never the DOM or DICOM metadata. Each pass's WGSL lives
//! in `shaders/`, one file per pass, compiled into the binary.

mod context;
mod count_above;
mod marching;
mod readback;
pub mod shaders;
mod slice_view;
mod surface_view;
mod volume_view;

#[cfg(target_arch = "wasm32")]
mod canvas;

#[cfg(target_arch = "wasm32")]
pub use canvas::CanvasTarget;
pub use context::{AdapterSummary, GpuContext, GpuError, Tier};
pub use count_above::count_at_or_above;
pub use marching::{GpuMarchingCubes, GpuSurfaceStats};
pub use slice_view::{SliceRenderer, SliceView};
pub use surface_view::{BONE, MeshPart, Orbit, SurfaceRenderer};
pub use volume_view::{VolumeRenderer, VolumeStyle, hu_to_byte};
pub use wgpu;

/// A colour attachment cleared to `background` and stored: how every pass
/// that draws a whole view starts.
pub(crate) fn cleared_attachment(
    target: &wgpu::TextureView,
    background: wgpu::Color,
) -> wgpu::RenderPassColorAttachment<'_> {
    wgpu::RenderPassColorAttachment {
        view: target,
        depth_slice: None,
        resolve_target: None,
        ops: wgpu::Operations {
            load: wgpu::LoadOp::Clear(background),
            store: wgpu::StoreOp::Store,
        },
    }
}
