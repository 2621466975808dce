//! Where heavy work runs: the one policy the CLI and the web worker obey.
//!
//! A software rasterizer (SwiftShader in Chromium, lavapipe natively) runs
//! marching cubes about 200× slower than our CPU path (measured: 30 s
//! against 0.16 s for a 512²×300 spine) and reslices the 2D views about
//! 50× slower (0.65 s against 13 ms), so "Auto" treats it as no GPU. The
//! reason for the CPU is a value: shells show it, tests match it.

use std::fmt;

use insitu_mesh::Engine;
use serde::{Deserialize, Serialize};

use crate::{AdapterSummary, GpuError, Tier};

/// Where a piece of work runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EngineChoice {
    /// On the GPU.
    Gpu,
    /// On the CPU, and why.
    Cpu(CpuReason),
}

/// Why work runs on the CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuReason {
    /// The user asked for the CPU.
    Chosen,
    /// The only GPU is a software rasterizer, slower than the CPU path.
    SoftwareAdapter {
        /// The adapter's name.
        adapter: String,
    },
    /// The GPU cannot run compute passes (WebGL2 in the browser).
    NoCompute {
        /// The adapter's name.
        adapter: String,
    },
    /// There is no usable GPU at all.
    NoAdapter(GpuError),
    /// The GPU was tried and failed.
    GpuFailed(GpuError),
    /// The volume is not on the GPU yet: its copy there is made once the
    /// views are drawn and nothing else waits.
    NotUploadedYet,
}

impl CpuReason {
    /// The user's wish (or "Auto"'s rule) was followed; otherwise the CPU
    /// stands in for a GPU that could not do it.
    pub fn is_deliberate(&self) -> bool {
        matches!(
            self,
            Self::Chosen | Self::SoftwareAdapter { .. } | Self::NotUploadedYet
        )
    }
}

impl fmt::Display for CpuReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Chosen => f.write_str("chosen"),
            Self::SoftwareAdapter { adapter } => write!(
                f,
                "the GPU ({adapter}) is a software rasterizer: the CPU is faster"
            ),
            Self::NoCompute { .. } if cfg!(target_arch = "wasm32") => {
                f.write_str("no WebGPU compute in this browser")
            }
            Self::NoCompute { adapter } => write!(f, "{adapter} has no compute shaders"),
            Self::NoAdapter(e) => write!(f, "no GPU: {e}"),
            Self::GpuFailed(e) => write!(f, "the GPU failed: {e}"),
            Self::NotUploadedYet => f.write_str("the volume is still being copied to the GPU"),
        }
    }
}

impl CpuReason {
    /// "CPU (chosen)", "CPU fallback (the GPU failed: …)": how a result
    /// made on the CPU is labelled.
    pub fn label(&self) -> String {
        if self.is_deliberate() {
            format!("CPU ({self})")
        } else {
            format!("CPU fallback ({self})")
        }
    }

    /// [`CpuReason::label`] without the driver's error chain, which can
    /// run to ten lines ("noop not requested, vulkan support not compiled
    /// in, …") and is for a tooltip, not the panel a clinician reads.
    pub fn brief_label(&self) -> String {
        match self {
            Self::NoAdapter(_) => "CPU fallback (no GPU in this browser)".to_owned(),
            Self::GpuFailed(_) => "CPU fallback (the GPU failed)".to_owned(),
            _ => self.label(),
        }
    }
}

/// Where marching cubes runs: `Auto` takes the GPU only when it is a
/// hardware adapter with compute passes; `Gpu` takes any adapter that can
/// run them; `Cpu` is the CPU. Without a usable adapter it is the CPU, with
/// the reason (a shell may refuse that when the user insisted on the GPU).
pub fn marching_engine(
    preference: Engine,
    adapter: Result<&AdapterSummary, &GpuError>,
) -> EngineChoice {
    match (preference, adapter) {
        (Engine::Cpu, _) => EngineChoice::Cpu(CpuReason::Chosen),
        (_, Err(e)) => EngineChoice::Cpu(CpuReason::NoAdapter(e.clone())),
        (_, Ok(a)) if a.tier != Tier::Compute => EngineChoice::Cpu(CpuReason::NoCompute {
            adapter: a.name.clone(),
        }),
        (Engine::Auto, Ok(a)) if a.is_software() => EngineChoice::Cpu(CpuReason::SoftwareAdapter {
            adapter: a.name.clone(),
        }),
        (Engine::Auto | Engine::Gpu, Ok(_)) => EngineChoice::Gpu,
    }
}

/// Where the 2D views are resliced: on any GPU that renders, except a
/// software rasterizer (unless `force_gpu`, for tests of the GPU path), and
/// only once the volume is there (`uploaded`). A new volume's first views
/// never wait for its copy to the GPU: that copy (157 MB for a 512²×300
/// CT, up to 1 GB at 2048 slices) is slower than reslicing three planes on
/// the CPU (measured in headless Chromium on SwiftShader: the write alone
/// blocked the worker 92–102 ms, the CPU drew all three views in 25–33 ms).
pub fn slice_engine(
    force_gpu: bool,
    adapter: Result<&AdapterSummary, &GpuError>,
    uploaded: bool,
) -> EngineChoice {
    match adapter {
        Err(e) => EngineChoice::Cpu(CpuReason::NoAdapter(e.clone())),
        Ok(a) if a.is_software() && !force_gpu => EngineChoice::Cpu(CpuReason::SoftwareAdapter {
            adapter: a.name.clone(),
        }),
        Ok(_) if !uploaded => EngineChoice::Cpu(CpuReason::NotUploadedYet),
        Ok(_) => EngineChoice::Gpu,
    }
}

/// Which API draws the 3D view's canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CanvasBackend {
    /// WebGPU (wgpu's browser backend).
    WebGpu,
    /// WebGL2 (wgpu's GL backend).
    WebGl2,
}

/// What draws the 3D view: WebGPU where the browser has a hardware WebGPU
/// adapter, WebGL2 otherwise: without WebGPU, and on a software adapter
/// (SwiftShader), whose WebGPU device headless Chromium loses the moment it
/// presents to a canvas, while its WebGL2 draws the same image (the browser
/// tests compare the two, read back from textures). `forced` (a page
/// setting) overrides, for trying either.
pub fn canvas_backend(
    webgpu: Option<&AdapterSummary>,
    forced: Option<CanvasBackend>,
) -> CanvasBackend {
    match (forced, webgpu) {
        (Some(backend), _) => backend,
        (None, Some(a)) if !a.is_software() => CanvasBackend::WebGpu,
        (None, _) => CanvasBackend::WebGl2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceKind;

    fn adapter(device: DeviceKind, tier: Tier) -> AdapterSummary {
        AdapterSummary {
            backend: "vulkan".into(),
            name: "some adapter".into(),
            driver: String::new(),
            device,
            tier,
        }
    }

    #[test]
    fn auto_meshes_on_hardware_only() {
        let hardware = adapter(DeviceKind::Discrete, Tier::Compute);
        let software = adapter(DeviceKind::Software, Tier::Compute);
        let webgl = adapter(DeviceKind::Integrated, Tier::RenderOnly);
        let none = GpuError::NoAdapter("no driver".into());
        assert_eq!(
            marching_engine(Engine::Auto, Ok(&hardware)),
            EngineChoice::Gpu
        );
        assert_eq!(
            marching_engine(Engine::Auto, Ok(&software)),
            EngineChoice::Cpu(CpuReason::SoftwareAdapter {
                adapter: "some adapter".into()
            })
        );
        assert_eq!(
            marching_engine(Engine::Auto, Ok(&webgl)),
            EngineChoice::Cpu(CpuReason::NoCompute {
                adapter: "some adapter".into()
            })
        );
        assert_eq!(
            marching_engine(Engine::Auto, Err(&none)),
            EngineChoice::Cpu(CpuReason::NoAdapter(none.clone()))
        );
    }

    #[test]
    fn explicit_choices_are_obeyed_where_possible() {
        let software = adapter(DeviceKind::Software, Tier::Compute);
        let hardware = adapter(DeviceKind::Integrated, Tier::Compute);
        assert_eq!(
            marching_engine(Engine::Gpu, Ok(&software)),
            EngineChoice::Gpu
        );
        assert_eq!(
            marching_engine(Engine::Cpu, Ok(&hardware)),
            EngineChoice::Cpu(CpuReason::Chosen)
        );
        let none = GpuError::NoAdapter("none".into());
        assert!(matches!(
            marching_engine(Engine::Gpu, Err(&none)),
            EngineChoice::Cpu(CpuReason::NoAdapter(_))
        ));
    }

    #[test]
    fn slices_skip_software_unless_forced() {
        let software = adapter(DeviceKind::Software, Tier::RenderOnly);
        let webgl = adapter(DeviceKind::Integrated, Tier::RenderOnly);
        assert!(matches!(
            slice_engine(false, Ok(&software), true),
            EngineChoice::Cpu(CpuReason::SoftwareAdapter { .. })
        ));
        assert_eq!(slice_engine(true, Ok(&software), true), EngineChoice::Gpu);
        assert_eq!(slice_engine(false, Ok(&webgl), true), EngineChoice::Gpu);
        let none = GpuError::NoAdapter("none".into());
        assert!(matches!(
            slice_engine(false, Err(&none), true),
            EngineChoice::Cpu(CpuReason::NoAdapter(_))
        ));
    }

    #[test]
    fn slices_wait_on_the_cpu_for_the_volume_to_reach_the_gpu() {
        let hardware = adapter(DeviceKind::Discrete, Tier::Compute);
        let software = adapter(DeviceKind::Software, Tier::Compute);
        let waiting = slice_engine(false, Ok(&hardware), false);
        assert_eq!(waiting, EngineChoice::Cpu(CpuReason::NotUploadedYet));
        // Drawn on the CPU by design, not as a fallback.
        assert_eq!(
            CpuReason::NotUploadedYet.label(),
            "CPU (the volume is still being copied to the GPU)"
        );
        assert_eq!(slice_engine(false, Ok(&hardware), true), EngineChoice::Gpu);
        // Forced onto a software GPU, the same wait.
        assert_eq!(
            slice_engine(true, Ok(&software), false),
            EngineChoice::Cpu(CpuReason::NotUploadedYet)
        );
        // A software GPU never gets the volume: its reason stays.
        assert!(matches!(
            slice_engine(false, Ok(&software), false),
            EngineChoice::Cpu(CpuReason::SoftwareAdapter { .. })
        ));
    }

    #[test]
    fn brief_labels_leave_the_error_chain_to_the_full_one() {
        let none = CpuReason::NoAdapter(GpuError::NoAdapter(
            "noop not requested, vulkan support not compiled in".into(),
        ));
        assert_eq!(none.brief_label(), "CPU fallback (no GPU in this browser)");
        assert!(none.label().contains("vulkan support not compiled in"));
        let failed = CpuReason::GpuFailed(GpuError::Readback("lost".into()));
        assert_eq!(failed.brief_label(), "CPU fallback (the GPU failed)");
        assert_eq!(CpuReason::Chosen.brief_label(), CpuReason::Chosen.label());
    }

    #[test]
    fn labels_say_whether_the_cpu_was_a_fallback() {
        assert_eq!(CpuReason::Chosen.label(), "CPU (chosen)");
        let failed = CpuReason::GpuFailed(GpuError::Readback("lost".into()));
        assert_eq!(
            failed.label(),
            "CPU fallback (the GPU failed: GPU readback failed: lost)"
        );
        let software = CpuReason::SoftwareAdapter {
            adapter: "llvmpipe".into(),
        };
        assert!(
            software
                .label()
                .starts_with("CPU (the GPU (llvmpipe) is a software")
        );
    }

    #[test]
    fn the_canvas_draws_through_webgpu_on_hardware_only_unless_told() {
        let hardware = adapter(DeviceKind::Integrated, Tier::Compute);
        let software = adapter(DeviceKind::Software, Tier::Compute);
        assert_eq!(canvas_backend(Some(&hardware), None), CanvasBackend::WebGpu);
        assert_eq!(canvas_backend(Some(&software), None), CanvasBackend::WebGl2);
        assert_eq!(canvas_backend(None, None), CanvasBackend::WebGl2);
        assert_eq!(
            canvas_backend(Some(&software), Some(CanvasBackend::WebGpu)),
            CanvasBackend::WebGpu
        );
        assert_eq!(
            canvas_backend(Some(&hardware), Some(CanvasBackend::WebGl2)),
            CanvasBackend::WebGl2
        );
    }
}
