//! GPU work for insitu on wgpu: device set-up with capability tiers, compute
//! passes and (later) renderers.
//!
//! The same code runs natively (CLI, tests on Mesa lavapipe) and in the
//! browser (WebGPU, or the WebGL2 backend as a render-only fallback). It knows
//! volumes and meshes, never the DOM or DICOM metadata. Each pass's WGSL lives
//! in `shaders/`, one file per pass, compiled into the binary.

mod context;
mod count_above;
pub mod engine;
mod marching;
pub mod pacing;
mod readback;
pub mod shaders;
mod slice_view;
mod snapshot;
mod surface_view;
mod target;
mod volume_view;

#[cfg(target_arch = "wasm32")]
mod canvas;

#[cfg(target_arch = "wasm32")]
pub use canvas::CanvasTarget;
pub use context::{AdapterSummary, DeviceKind, GpuAdapter, GpuContext, GpuError, Tier};
pub use count_above::count_at_or_above;
pub use engine::{CanvasBackend, CpuReason, EngineChoice};
pub use marching::{GpuMarchingCubes, GpuPhases, GpuSurfaceStats};
pub use pacing::FramePacing;
pub use readback::work_done;
pub use slice_view::{SliceRenderer, SliceUpload, SliceView, SliceVolume};
pub use snapshot::{PendingImage, Snapshot};
pub use surface_view::{BONE, MeshArrays, MeshPart, Orbit, SurfaceRenderer};
pub use target::DrawTarget;
pub use volume_view::{Quality, VolumeRenderer};
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

/// A colour attachment keeping what the target holds (drawing over it).
pub(crate) fn loaded_attachment(target: &wgpu::TextureView) -> wgpu::RenderPassColorAttachment<'_> {
    wgpu::RenderPassColorAttachment {
        view: target,
        depth_slice: None,
        resolve_target: None,
        ops: wgpu::Operations {
            load: wgpu::LoadOp::Load,
            store: wgpu::StoreOp::Store,
        },
    }
}

/// A render pipeline drawing one full-screen triangle (`vs_main`) shaded by
/// `fs_main` of `module`, with one bind group of `layout`, into `format`:
/// how the ray caster and the slice reslicer both draw.
pub(crate) fn full_screen_pipeline(
    device: &wgpu::Device,
    label: &str,
    module: &wgpu::ShaderModule,
    layout: &wgpu::BindGroupLayout,
    format: wgpu::TextureFormat,
) -> wgpu::RenderPipeline {
    full_screen_pipeline_with(device, label, module, &[layout], format, "fs_main", None)
}

/// [`full_screen_pipeline`] with several bind groups, another fragment
/// entry point and a blend (drawing over what a target already holds).
pub(crate) fn full_screen_pipeline_with(
    device: &wgpu::Device,
    label: &str,
    module: &wgpu::ShaderModule,
    layouts: &[&wgpu::BindGroupLayout],
    format: wgpu::TextureFormat,
    fragment: &str,
    blend: Option<wgpu::BlendState>,
) -> wgpu::RenderPipeline {
    let layouts: Vec<Option<&wgpu::BindGroupLayout>> = layouts.iter().copied().map(Some).collect();
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &layouts,
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(fragment),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: Default::default(),
        multiview_mask: None,
        cache: None,
    })
}
