//! Adapter and device set-up, and the capability tier the app works in.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the GPU we got can do; decided once at start and shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tier {
    /// Compute shaders available: GPU marching cubes and ray casting.
    Compute,
    /// Rendering only (WebGL2): meshes and slices on the GPU, marching cubes on the CPU.
    RenderOnly,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Compute => "compute",
            Tier::RenderOnly => "render-only",
        })
    }
}

/// What kind of device an adapter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceKind {
    /// A GPU sharing the CPU's package and memory.
    Integrated,
    /// A GPU of its own.
    Discrete,
    /// A GPU seen through a virtual machine.
    Virtual,
    /// A software rasterizer on the CPU (SwiftShader, lavapipe, WARP).
    Software,
    /// Not reported.
    Unknown,
}

impl DeviceKind {
    fn of(device_type: wgpu::DeviceType) -> Self {
        match device_type {
            wgpu::DeviceType::IntegratedGpu => Self::Integrated,
            wgpu::DeviceType::DiscreteGpu => Self::Discrete,
            wgpu::DeviceType::VirtualGpu => Self::Virtual,
            wgpu::DeviceType::Cpu => Self::Software,
            wgpu::DeviceType::Other => Self::Unknown,
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // wgpu's words, as users and bug reports know them.
        f.write_str(match self {
            Self::Integrated => "integratedgpu",
            Self::Discrete => "discretegpu",
            Self::Virtual => "virtualgpu",
            Self::Software => "cpu",
            Self::Unknown => "other",
        })
    }
}

/// The facts about the adapter worth showing to a user or a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterSummary {
    /// Backend name: "vulkan", "webgpu", "gl", …
    pub backend: String,
    /// Adapter (device) name as the driver reports it.
    pub name: String,
    /// Driver name and version, when reported.
    pub driver: String,
    /// Integrated, discrete, software, …
    pub device: DeviceKind,
    /// What we can run on it.
    pub tier: Tier,
}

impl AdapterSummary {
    /// A software rasterizer (SwiftShader, lavapipe, WARP): our multi-threaded
    /// CPU code beats it, so callers prefer the CPU path there.
    pub fn is_software(&self) -> bool {
        self.device == DeviceKind::Software
    }

    /// The backend as users know it: "WebGPU", "WebGL2", "Vulkan", …
    pub fn backend_name(&self) -> &str {
        match self.backend.as_str() {
            "webgpu" => "WebGPU",
            // In the browser wgpu's GL backend is WebGL2.
            "gl" if cfg!(target_arch = "wasm32") => "WebGL2",
            "gl" => "OpenGL",
            "vulkan" => "Vulkan",
            "metal" => "Metal",
            "dx12" => "DirectX 12",
            other => other,
        }
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = self.backend_name();
        write!(
            f,
            "{backend} · {} ({}) · {}",
            self.name, self.device, self.tier
        )?;
        if !self.driver.is_empty() {
            write!(f, " · {}", self.driver)?;
        }
        Ok(())
    }
}

/// Why no usable GPU device could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum GpuError {
    /// No adapter matched (no driver, or the browser exposes none).
    #[error("no GPU adapter available: {0}")]
    NoAdapter(String),
    /// The adapter refused to create a device with the limits we asked for.
    #[error("GPU device could not be created: {0}")]
    Device(String),
    /// A canvas surface could not be created or configured.
    #[error("GPU surface unavailable: {0}")]
    Surface(String),
    /// Reading results back from the GPU failed.
    #[error("GPU readback failed: {0}")]
    Readback(String),
    /// The data is larger than a limit of this device (named in the text).
    #[error("beyond this GPU's limits: {0}")]
    Limit(String),
    /// The operation needs compute shaders, which this tier lacks.
    #[error("this GPU tier ({0}) has no compute shaders")]
    NoCompute(Tier),
}

/// A device, its queue and what we learnt about the adapter.
#[derive(Debug)]
pub struct GpuContext {
    /// The wgpu device, created with the adapter's real limits.
    pub device: wgpu::Device,
    /// Its submission queue.
    pub queue: wgpu::Queue,
    /// What the adapter is and which tier it gives.
    pub summary: AdapterSummary,
    /// On WebGL2 the device lives in a canvas's context: kept with it.
    pub(crate) _surface: Option<wgpu::Surface<'static>>,
    /// The adapter the device came from, kept alive with it.
    _adapter: wgpu::Adapter,
}

impl GpuContext {
    /// A device without any surface: CLI, native tests, compute-only work.
    ///
    /// Natively the backends come from `WGPU_BACKEND` when set, else the
    /// primary ones (Vulkan/Metal/DX12). Fails, never falls back silently,
    /// when no adapter exists: callers decide whether the CPU path is fine.
    pub async fn headless() -> Result<Self, GpuError> {
        GpuAdapter::headless().await?.open().await
    }

    /// Creates the device on `adapter` with the adapter's own limits, so large
    /// volumes can use every byte of storage-buffer binding the hardware has.
    pub async fn from_adapter(adapter: wgpu::Adapter) -> Result<Self, GpuError> {
        let summary = summarize(&adapter);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("insitu"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        Ok(Self {
            device,
            queue,
            summary,
            _surface: None,
            _adapter: adapter,
        })
    }

    /// Compute passes are possible on this device.
    pub fn has_compute(&self) -> bool {
        self.summary.tier == Tier::Compute
    }
}

/// An adapter found but not opened: enough to decide whether it is worth a
/// device (creating one costs about a second on a software rasterizer).
pub struct GpuAdapter {
    adapter: wgpu::Adapter,
    /// What the adapter is and which tier it gives.
    pub summary: AdapterSummary,
}

impl GpuAdapter {
    /// The adapter [`GpuContext::headless`] would open.
    pub async fn headless() -> Result<Self, GpuError> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::PRIMARY;
        let instance = wgpu::util::new_instance_with_webgpu_detection(desc.with_env()).await;
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions::default())
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        Ok(Self {
            summary: summarize(&adapter),
            adapter,
        })
    }

    /// Creates the device.
    pub async fn open(self) -> Result<GpuContext, GpuError> {
        GpuContext::from_adapter(self.adapter).await
    }
}

fn summarize(adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let compute = adapter
        .get_downlevel_capabilities()
        .flags
        .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS);
    let driver = [info.driver.as_str(), info.driver_info.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    AdapterSummary {
        backend: info.backend.to_str().to_owned(),
        name: match (info.name.is_empty(), info.device_type) {
            (false, _) => info.name,
            // Browsers hide adapter names; say what we do know.
            (true, wgpu::DeviceType::Cpu) => "software fallback adapter".to_owned(),
            (true, _) => "adapter name withheld by the browser".to_owned(),
        },
        driver,
        device: DeviceKind::of(info.device_type),
        tier: if compute {
            Tier::Compute
        } else {
            Tier::RenderOnly
        },
    }
}
