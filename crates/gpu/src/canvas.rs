//! A page canvas as a wgpu render target (browser only).

use crate::{GpuContext, GpuError};

/// A configured canvas surface plus the device that draws on it.
///
/// WebGL2 cannot give an adapter without a surface, so in the browser the
/// canvas comes first and the device is created for it.
pub struct CanvasTarget {
    /// Device, queue and adapter facts.
    pub context: GpuContext,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    /// Kept alive: on WebGPU, reading a buffer back (a snapshot) fails once
    /// the instance it came from is gone.
    _instance: wgpu::Instance,
}

impl CanvasTarget {
    /// Configures `canvas` on the first of `backends` that gives an adapter
    /// (`BROWSER_WEBGPU | GL`: WebGPU when the browser has it, else WebGL2).
    pub async fn new(
        canvas: web_sys::HtmlCanvasElement,
        backends: wgpu::Backends,
    ) -> Result<Self, GpuError> {
        let (width, height) = (canvas.width().max(1), canvas.height().max(1));
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backends;
        let instance = wgpu::util::new_instance_with_webgpu_detection(desc).await;
        let (surface, adapter) =
            surface_and_adapter(&instance, wgpu::SurfaceTarget::Canvas(canvas)).await?;
        let mut config = surface
            .get_default_config(&adapter, width, height)
            .ok_or_else(|| GpuError::Surface("canvas not supported by the adapter".into()))?;
        // Colours are chosen as display values (as in CSS): prefer a
        // non-sRGB canvas format so they are not gamma-encoded a second time.
        if let Some(plain) = surface
            .get_capabilities(&adapter)
            .formats
            .into_iter()
            .find(|f| !f.is_srgb())
        {
            config.format = plain;
        }
        let context = GpuContext::from_adapter(adapter).await?;
        surface.configure(&context.device, &config);
        Ok(Self {
            context,
            surface,
            config,
            _instance: instance,
        })
    }

    /// Resizes the drawing buffer (device pixels).
    pub fn resize(&mut self, width: u32, height: u32) {
        self.config.width = width.max(1);
        self.config.height = height.max(1);
        self.surface.configure(&self.context.device, &self.config);
    }

    /// Colour format of the canvas texture (for building render pipelines).
    pub fn format(&self) -> wgpu::TextureFormat {
        self.config.format
    }

    /// Drawing-buffer size in device pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.config.width, self.config.height)
    }

    /// Acquires the next canvas texture, lets `draw` encode into it, then
    /// submits and presents.
    pub fn render(
        &self,
        draw: impl FnOnce(&wgpu::Device, &wgpu::Queue, &mut wgpu::CommandEncoder, &wgpu::TextureView),
    ) -> Result<(), GpuError> {
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(frame)
            | wgpu::CurrentSurfaceTexture::Suboptimal(frame) => frame,
            other => return Err(GpuError::Surface(format!("{other:?}"))),
        };
        let view = frame.texture.create_view(&Default::default());
        let device = &self.context.device;
        let mut encoder = device.create_command_encoder(&Default::default());
        draw(device, &self.context.queue, &mut encoder, &view);
        self.context.queue.submit([encoder.finish()]);
        self.context.queue.present(frame);
        Ok(())
    }
}

impl GpuContext {
    /// WebGL2 on an offscreen canvas: the render-only tier for a Web Worker
    /// (which has no page canvas) in browsers without WebGPU. Draws into
    /// textures; the canvas only carries the GL context.
    pub async fn offscreen_webgl() -> Result<Self, GpuError> {
        let canvas = web_sys::OffscreenCanvas::new(1, 1)
            .map_err(|e| GpuError::Surface(format!("no OffscreenCanvas: {e:?}")))?;
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::GL;
        let instance = wgpu::Instance::new(desc);
        let (surface, adapter) =
            surface_and_adapter(&instance, wgpu::SurfaceTarget::OffscreenCanvas(canvas)).await?;
        let mut context = Self::from_adapter(adapter).await?;
        context._surface = Some(surface);
        Ok(context)
    }
}

/// A surface on `target` and an adapter that can present to it: on WebGL2
/// the surface must come first, since the GL context lives in the canvas.
async fn surface_and_adapter(
    instance: &wgpu::Instance,
    target: wgpu::SurfaceTarget<'static>,
) -> Result<(wgpu::Surface<'static>, wgpu::Adapter), GpuError> {
    let surface = instance
        .create_surface(target)
        .map_err(|e| GpuError::Surface(e.to_string()))?;
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            compatible_surface: Some(&surface),
            ..Default::default()
        })
        .await
        .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
    Ok((surface, adapter))
}
