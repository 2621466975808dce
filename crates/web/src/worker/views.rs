//! The 2D views: resliced on the worker's GPU from the volume's texture,
//! or on the CPU where `insitu_gpu::engine::slice_engine` says (no GPU, a
//! software one, or a volume beyond its limits); the reply says which.

use insitu_gpu::engine::slice_engine;
use insitu_gpu::{CpuReason, EngineChoice, SliceView};
use js_sys::Uint8Array;

use super::{Worker, post};
use crate::envelope::Attachments;
use crate::laps::Laps;
use crate::protocol::{DrawnOn, Failure, Reply, Task, ViewRequest};
use crate::study::render_on_cpu;

/// Draws `views` of the loaded volume and posts their pixels.
pub async fn render(worker: &Worker, views: Vec<ViewRequest>) {
    let (volume, generation) = {
        let study = worker.study.borrow();
        (study.volume(), study.volume_generation())
    };
    let Some(volume) = volume else {
        return post(
            &Reply::Failed {
                during: Task::Drawing,
                error: Failure::NoVolume,
            },
            Attachments::default(),
        );
    };
    // The first drawing of a volume (which uploads it to the GPU) is timed.
    let first = worker.drawn_generation.replace(generation) != generation;
    let mut laps = Laps::default();
    laps.restart();
    let device = worker.gpu.device().await;
    let choice = slice_engine(
        worker.slices_on_gpu,
        device.as_ref().map(|ctx| &ctx.summary),
    );
    let on_gpu = match (choice, device) {
        (EngineChoice::Gpu, Ok(ctx)) => {
            let uploaded = worker.gpu.slice_volume(&ctx, generation, &volume);
            laps.lap("upload");
            match uploaded.as_ref() {
                Ok(texture) => {
                    let slices: Vec<SliceView> = views
                        .iter()
                        .map(|v| SliceView {
                            plane: v.plane.into(),
                            window: v.window,
                            level: v.level,
                        })
                        .collect();
                    worker
                        .gpu
                        .slices()
                        .render(&ctx, texture, &slices)
                        .await
                        .map(|images| (images, DrawnOn::Gpu(ctx.summary.clone())))
                        .map_err(CpuReason::GpuFailed)
                }
                Err(e) => Err(CpuReason::GpuFailed(e.clone())),
            }
        }
        (EngineChoice::Cpu(reason), _) => Err(reason),
        (EngineChoice::Gpu, Err(e)) => Err(CpuReason::NoAdapter(e)),
    };
    let (images, drawn_on) =
        on_gpu.unwrap_or_else(|reason| (render_on_cpu(&volume, &views), DrawnOn::Cpu(reason)));
    laps.lap("draw");
    if first {
        laps.log("first 2D views");
    }
    // One copy out of wasm memory per view; the UI draws from it directly.
    let buffers = images
        .iter()
        .map(|image| Uint8Array::from(image.as_slice()).into());
    post(
        &Reply::Rendered { views, drawn_on },
        Attachments::buffers(buffers),
    );
}
