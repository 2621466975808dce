//! The 2D views: resliced on the worker's GPU from the volume's texture,
//! or on the CPU where `insitu_gpu::engine::slice_engine` says (no GPU, a
//! software one, a volume beyond its limits, or one whose texture is not
//! made yet: it is made once the worker is idle); the reply says which.

use insitu_gpu::engine::slice_engine;
use insitu_gpu::{CpuReason, EngineChoice, SliceView};
use js_sys::Uint8Array;

use super::later::{Later, SliceCopy, log_stepped};
use super::{Worker, now_ms, post};
use crate::envelope::Attachments;
use crate::laps::Laps;
use crate::protocol::{DrawnOn, Failure, Reply, Task, ViewRequest};
use crate::study::{ROWS_PER_BLOCK, render_rows_on_cpu};
use insitu_segment::{OverlayStyle, Workbench, overlay_rows};
use insitu_volume::Volume;
use wasm_bindgen::{JsCast, JsValue};

/// Draws `views` of the loaded volume and posts their pixels.
pub async fn render(worker: &Worker, views: Vec<ViewRequest>, overlay: OverlayStyle) {
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
    // The first drawing of a volume is timed.
    let first = worker.drawn_generation.replace(generation) != generation;
    let mut laps = Laps::default();
    laps.restart();
    let device = worker.gpu.device().await;
    laps.lap("device");
    let texture = worker.gpu.slice_volume(generation);
    let choice = slice_engine(
        worker.slices_on_gpu,
        device.as_ref().map(|ctx| &ctx.summary),
        texture.is_some(),
    );
    let on_gpu = match (choice, device, texture) {
        (EngineChoice::Gpu, Ok(ctx), Some(uploaded)) => match uploaded.as_ref() {
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
        },
        (EngineChoice::Cpu(reason), _, _) => Err(reason),
        (EngineChoice::Gpu, Err(e), _) => Err(CpuReason::NoAdapter(e)),
        // Not chosen before the upload; said so if it ever were.
        (EngineChoice::Gpu, Ok(_), None) => Err(CpuReason::NotUploadedYet),
    };
    if matches!(on_gpu, Err(CpuReason::NotUploadedYet)) {
        // Copied once nothing else waits, ahead of the cache's writes.
        worker.later.borrow_mut().first(Later::SliceVolume {
            generation,
            begun: None,
        });
    }
    // Each view's pixels go out of wasm memory once, into a JS array the UI
    // draws from directly.
    // Segments and the crop box are drawn over the pixels here, whoever
    // resliced them (the study is not borrowed across an await).
    let study = worker.study.borrow();
    let bench = study.segments().map(|s| s.workbench());
    let (buffers, drawn_on): (Vec<JsValue>, DrawnOn) = match on_gpu {
        Ok((mut images, drawn_on)) => (
            images
                .iter_mut()
                .zip(&views)
                .map(|(image, view)| {
                    if let Some(bench) = bench {
                        let rows = 0..view.plane.height as usize;
                        let plane = view.plane.into();
                        overlay_rows(image, &plane, rows, &volume, bench, overlay);
                    }
                    Uint8Array::from(image.as_slice()).into()
                })
                .collect(),
            drawn_on,
        ),
        Err(reason) => (
            views
                .iter()
                .map(|view| render_on_cpu_into_js(&volume, view, bench, overlay).into())
                .collect(),
            DrawnOn::Cpu(reason),
        ),
    };
    drop(study);
    laps.lap("draw");
    if first {
        laps.log("first 2D views");
    }
    // Copies (the page takes the buffers), kept for the cache's write of
    // this volume: none where it is already cached or nothing is kept.
    if first && !worker.cache.keeps_nothing() && worker.cache.volume_key().is_none() {
        let pixels = buffers
            .iter()
            .map(|b| {
                let array: &Uint8Array = b.unchecked_ref();
                array.slice(0, array.length())
            })
            .collect();
        *worker.opening.borrow_mut() = Some(Opening {
            generation,
            views: views.clone(),
            pixels,
        });
    }
    post(
        &Reply::Rendered { views, drawn_on },
        Attachments::buffers(buffers),
    );
}

/// The first views drawn of volume `generation` and copies of their
/// pixels: kept with the volume when it is cached, and shown while it is
/// read back when its folder is dropped again.
pub struct Opening {
    generation: u64,
    views: Vec<ViewRequest>,
    pixels: Vec<Uint8Array>,
}

impl Opening {
    /// The cache's bytes of these views ([`crate::opening_views`]), if
    /// they are of volume `generation`: put together in the browser's
    /// memory, only the header made in the wasm heap.
    pub fn bytes_of(&self, generation: u64) -> Option<Uint8Array> {
        if self.generation != generation {
            return None;
        }
        let lengths: Vec<usize> = self.pixels.iter().map(|p| p.length() as usize).collect();
        let header = crate::opening_views::header(&self.views, &lengths)?;
        let total = header.len() + lengths.iter().sum::<usize>();
        let out = Uint8Array::new_with_length(u32::try_from(total).ok()?);
        out.set(&Uint8Array::from(header.as_slice()), 0);
        let mut at = header.len() as u32;
        for p in &self.pixels {
            out.set(p, at);
            at += p.length();
        }
        Some(out)
    }
}

/// Shows the opening views the cache kept (`bytes`, as
/// [`crate::opening_views`] lays them out): their pixels go to the page as
/// they were drawn, from the browser's memory. Whether there were views
/// to show.
pub fn show_opening(bytes: &Uint8Array) -> bool {
    use crate::opening_views::{PREFIX, header_len, layout};
    let prefix = bytes.subarray(0, PREFIX as u32).to_vec();
    let Ok(end) = header_len(&prefix) else {
        return false;
    };
    let header = bytes
        .subarray(0, end.min(bytes.length() as usize) as u32)
        .to_vec();
    let Ok(views) = layout(&header, bytes.length() as usize) else {
        return false;
    };
    // Each its own buffer, transferred to the page.
    let buffers: Vec<JsValue> = views
        .iter()
        .map(|(_, at)| bytes.slice(at.start as u32, at.end as u32).into())
        .collect();
    let views = views.into_iter().map(|(view, _)| view).collect();
    post(
        &Reply::OpeningViews { views },
        Attachments::buffers(buffers),
    );
    true
}

/// A view resliced on the CPU a block of rows at a time, each block copied
/// into the JS array at once: wasm memory holds one block, not the view.
fn render_on_cpu_into_js(
    volume: &Volume,
    view: &ViewRequest,
    bench: Option<&Workbench>,
    overlay: OverlayStyle,
) -> Uint8Array {
    let (width, height) = (view.plane.width as usize, view.plane.height as usize);
    let out = Uint8Array::new_with_length((width * height * 4) as u32);
    let (mut values, mut rgba) = (Vec::new(), Vec::new());
    for first in (0..height).step_by(ROWS_PER_BLOCK) {
        let rows = first..(first + ROWS_PER_BLOCK).min(height);
        let at = (first * width * 4) as u32;
        render_rows_on_cpu(volume, view, rows.clone(), &mut values, &mut rgba);
        if let Some(bench) = bench {
            let plane = view.plane.into();
            overlay_rows(&mut rgba, &plane, rows, volume, bench, overlay);
        }
        out.subarray(at, at + rgba.len() as u32).copy_from(&rgba);
    }
    out
}

/// Copies the loaded volume (of study `generation`) to the GPU for the 2D
/// views, unless another is loaded by now: a slab at a time, from where
/// `begun` left off. When a request waits, the copy goes back to the front
/// of the idle jobs with its progress (a 2,000-slice volume is 1 GB, many
/// slabs); once done or refused, the UI is told, to draw the views again.
pub async fn upload(worker: &Worker, generation: u64, begun: Option<SliceCopy>) {
    let volume = {
        let study = worker.study.borrow();
        study
            .volume()
            .filter(|_| study.volume_generation() == generation)
    };
    let Some(volume) = volume else {
        return;
    };
    if begun.is_none() && worker.gpu.slice_volume(generation).is_some() {
        return;
    }
    let Ok(ctx) = worker.gpu.device().await else {
        return;
    };
    let begun = match begun {
        Some(begun) => Ok(begun),
        None => worker
            .gpu
            .slices()
            .begin_upload(&ctx, &volume)
            .map(|upload| SliceCopy {
                upload,
                spent_ms: 0.0,
                stops: 0,
            }),
    };
    let made = match begun {
        Ok(mut copy) => loop {
            let started = now_ms();
            let done = copy.upload.write_slab(&ctx, &volume);
            copy.spent_ms += now_ms() - started;
            if done {
                let what = "2D views' volume on the GPU: upload";
                log_stepped(what, copy.spent_ms, copy.stops);
                break Ok(copy.upload.finish());
            }
            // A request can only arrive between tasks.
            crate::dom::next_task().await;
            if !worker.queue.borrow().is_empty() {
                copy.stops += 1;
                let job = Later::SliceVolume {
                    generation,
                    begun: Some(copy),
                };
                worker.later.borrow_mut().first(job);
                return;
            }
        },
        Err(refused) => Err(refused),
    };
    worker.gpu.keep_slice_volume(generation, made);
    // Drawn again either way: on the GPU now, or on the CPU with the reason
    // the GPU could not take it (beyond its texture limits), rather than
    // "still being copied".
    post(&Reply::SliceVolumeSettled, Attachments::default());
}
