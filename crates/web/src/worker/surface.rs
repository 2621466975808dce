//! A surface request: from the cache when the same surface of the same
//! volume was made before (and the user left the engine to "Auto"), else
//! marching cubes where `insitu_gpu::engine::marching_engine` says, then
//! the one clean-up chain; the mesh goes to the UI as transferred arrays
//! and into the cache.

use insitu_gpu::engine::marching_engine;
use insitu_gpu::{CpuReason, EngineChoice, GpuError};
use insitu_mesh::marching::{MarchingOptions, SteppedExtraction};
use insitu_mesh::preview::{DRAG_COPY_TIERS, DRAWN_WHOLE_UP_TO, preview};
use insitu_mesh::{Engine, Mesh, SurfaceOptions};
use insitu_volume::Volume;

use super::later::Later;
use super::{Worker, drag_copy_attachments, mesh_attachments, now_ms, post};
use crate::envelope::Attachments;
use crate::protocol::{Failure, MadeOn, Phase, Reply, SurfaceSummary, Task};

/// The study's mesh as arrays for the UI (copied once, out of wasm memory).
/// How long marching cubes runs before the worker serves the redraws and
/// readouts waiting: the 2D views lag the user by at most about this.
const SERVE_VIEWS_EVERY_MS: f64 = 100.0;

/// Marching cubes on the CPU a step at a time, serving the views waiting
/// every [`SERVE_VIEWS_EVERY_MS`] and saying how far it is; the mesh, and
/// the milliseconds spent on the views.
async fn extract_in_steps(
    worker: &Worker,
    volume: &Volume,
    options: MarchingOptions,
) -> (Mesh, f64) {
    let mut extraction = SteppedExtraction::new(volume, options);
    let mut serving_ms = 0.0;
    let mut since = now_ms();
    while !extraction.step() {
        if now_ms() - since >= SERVE_VIEWS_EVERY_MS {
            let paused = now_ms();
            post(
                &Reply::Progress {
                    phase: Phase::Meshing,
                    done: (extraction.progress() * 100.0) as usize,
                    total: 100,
                },
                Attachments::default(),
            );
            super::serve_waiting_views(worker).await;
            since = now_ms();
            serving_ms += since - paused;
        }
    }
    (extraction.finish(), serving_ms)
}

/// Posts `summary` with the arrays the 3D view draws: the surface itself,
/// or its preview when it is too large to draw whole (said in the summary);
/// then its lighter copies for drag frames.
fn post_surface(worker: &Worker, mut summary: SurfaceSummary) {
    let Some(mesh) = worker.study.borrow().mesh() else {
        return post(&Reply::Surface(summary), Attachments::default());
    };
    let most = crate::decoders::setting("preview")
        .and_then(|n| n.parse().ok())
        .unwrap_or(DRAWN_WHOLE_UP_TO);
    let light = preview(&mesh, most);
    if let Some(light) = &light {
        summary.drawn_triangles = Some(light.triangle_count());
    }
    let drawn = light.as_ref().unwrap_or(&mesh);
    post(&Reply::Surface(summary), mesh_attachments(drawn));
    // The UI draws it only where frames of the whole surface are slow.
    post(
        &Reply::SurfaceDragCopy,
        drag_copy_attachments(drawn, &DRAG_COPY_TIERS),
    );
}

/// Makes (or finds) the surface `options` ask for and posts it.
pub async fn surface(worker: &Worker, options: SurfaceOptions) {
    let (volume, crop) = {
        let study = worker.study.borrow();
        (study.volume(), study.crop_box())
    };
    let Some(volume) = volume else {
        return post(
            &Reply::Failed {
                during: Task::MakingASurface,
                error: Failure::NoVolume,
            },
            Attachments::default(),
        );
    };
    // Inside a crop box, the surface is of that part only (closed where
    // the box cuts), and is neither read from nor written to the cache,
    // whose surfaces are of whole volumes.
    let cropped = crop.is_some();
    let volume = match crop.and_then(|c| volume.cropped(c.min, c.max).ok()) {
        Some(part) => std::rc::Rc::new(part),
        None => volume,
    };
    post(
        &Reply::Progress {
            phase: Phase::Meshing,
            done: 0,
            total: 0,
        },
        Attachments::default(),
    );
    worker.laps.borrow_mut().restart();
    // The old surface goes before the new one is made: never two at once.
    worker.study.borrow_mut().drop_surface();
    // The same surface of the same volume was made before: no marching
    // cubes (unless the user chose where it must run).
    let cached = if options.engine == Engine::Auto && !cropped {
        let cached = worker.cache.surface(&options).await;
        worker.laps.borrow_mut().lap("cache read");
        cached
    } else {
        None
    };
    if let Some(cached) = cached {
        let summary = worker.study.borrow_mut().keep_surface(
            cached.mesh,
            cached.facts,
            options,
            MadeOn::Cache {
                cached_at_ms: cached.cached_at_ms,
            },
            0.0,
            0.0,
        );
        post_surface(worker, summary);
        worker.laps.borrow_mut().lap("post");
        worker.laps.borrow().log("surface from the cache");
        return;
    }
    let device = match options.engine {
        Engine::Cpu => Err(GpuError::NoAdapter("not asked for".into())),
        Engine::Auto | Engine::Gpu => worker.gpu.device().await,
    };
    let started = now_ms();
    let on_gpu = match (
        marching_engine(options.engine, device.as_ref().map(|ctx| &ctx.summary)),
        device,
    ) {
        (EngineChoice::Gpu, Ok(ctx)) => match worker.gpu.marching(&ctx).as_ref() {
            Ok(mc) => mc
                .extract(&ctx, &volume, options.marching(), None)
                .await
                .map(|(mesh, _)| (mesh, MadeOn::Gpu(ctx.summary.clone())))
                .map_err(CpuReason::GpuFailed),
            Err(e) => Err(CpuReason::GpuFailed(e.clone())),
        },
        (EngineChoice::Cpu(reason), _) => Err(reason),
        (EngineChoice::Gpu, Err(e)) => Err(CpuReason::NoAdapter(e)),
    };
    let (mesh, made_on, serving_ms) = match on_gpu {
        Ok((mesh, made_on)) => (mesh, made_on, 0.0),
        Err(reason) => {
            let (mesh, serving_ms) = extract_in_steps(worker, &volume, options.marching()).await;
            (mesh, MadeOn::Cpu(reason), serving_ms)
        }
    };
    // The views drawn meanwhile are not marching cubes' time.
    let extract_ms = now_ms() - started - serving_ms;
    worker
        .laps
        .borrow_mut()
        .lap("extract (with views drawn meanwhile)");
    let summary = worker
        .study
        .borrow_mut()
        .finish_surface(mesh, options, made_on, extract_ms, now_ms);
    worker.laps.borrow_mut().lap("clean-up");
    post_surface(worker, summary.clone());
    worker.laps.borrow_mut().lap("post");
    // Shown; now whether it prints as it is.
    let mut facts = summary.facts;
    facts.watertight = worker.study.borrow().check_surface();
    if let Some(watertight) = facts.watertight {
        post(
            &Reply::SurfaceChecked { watertight },
            Attachments::default(),
        );
    }
    worker.laps.borrow_mut().lap("watertight check");
    // Requests run one at a time: the volume is still the one meshed.
    let (mesh, generation) = {
        let study = worker.study.borrow();
        (study.mesh().filter(|_| !cropped), study.volume_generation())
    };
    if let Some(mesh) = mesh {
        worker.later.borrow_mut().push(Later::Surface {
            mesh,
            facts,
            options,
            generation,
        });
    }
    worker.laps.borrow().log("surface");
}
