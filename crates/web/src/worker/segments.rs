//! Segment requests: edits, clicks in 2D (at a point) and in 3D (along a
//! ray), the surfaces of what changed (after which the segments are kept
//! in the cache), exports, and segments restored with a cached volume.
//! What each does is decided in [`crate::segments`] and the segment crate.

use glam::DVec3;
use insitu_mesh::preview::PART_DRAG_COPY_TIERS;
use insitu_segment::{Edit, pick, voxel_at};
use insitu_store::SegmentsRecord;

use super::{Worker, drag_copy_attachments, fail, mesh_attachments, now_ms, post};
use crate::envelope::Attachments;
use crate::laps::Laps;
use crate::protocol::{
    ClickTool, ExportFile, Failure, Reply, SegmentExport, SegmentsSummary, Task,
};

fn answer(result: Result<SegmentsSummary, Failure>) {
    match result {
        Ok(summary) => post(&Reply::Segments(summary), Attachments::default()),
        Err(e) => fail(Task::Segmenting, e),
    }
}

/// Applies an edit.
pub fn edit(worker: &Worker, edit: Edit) {
    let result = worker
        .study
        .borrow_mut()
        .segments_mut()
        .and_then(|(volume, segments)| segments.edit(&volume, edit, now_ms));
    answer(result);
}

/// A tool at a point clicked in a 2D view.
pub fn tool_at(worker: &Worker, world: [f64; 3], tool: ClickTool) {
    let result = worker
        .study
        .borrow_mut()
        .segments_mut()
        .and_then(|(volume, segments)| {
            let voxel = voxel_at(&volume, DVec3::from(world)).ok_or(Failure::NothingThere)?;
            segments.click(&volume, voxel, tool, now_ms)
        });
    answer(result);
}

/// A tool at the first shown segment along a ray from the 3D view.
pub fn pick_at(worker: &Worker, origin: [f64; 3], direction: [f64; 3], tool: ClickTool) {
    let result = worker
        .study
        .borrow_mut()
        .segments_mut()
        .and_then(|(volume, segments)| {
            let (_, voxel) = pick(
                &volume,
                segments.workbench(),
                DVec3::from(origin),
                DVec3::from(direction),
            )
            .ok_or(Failure::NothingThere)?;
            segments.click(&volume, voxel, tool, now_ms)
        });
    answer(result);
}

/// Posts the surfaces of what changed, then keeps the segments in the
/// cache (with the volume, when it is cached).
pub async fn surfaces(worker: &Worker) {
    if worker.study.borrow().segments().is_none() {
        return; // none made or restored: nothing to mesh, nothing allocated
    }
    // Edits have settled: a vertebra edited by hand is measured again.
    super::spine::remeasure_if_touched(worker);
    let mut any = false;
    loop {
        let made = match worker.study.borrow_mut().segments_mut() {
            Ok((volume, segments)) => segments.next_stale_surface(&volume, now_ms),
            Err(_) => None,
        };
        let Some(surface) = made else {
            break;
        };
        any = true;
        let attachments = surface
            .mesh
            .as_deref()
            .map_or_else(Attachments::default, mesh_attachments);
        // Each surface is shown as it is made; the 2D views are served
        // between them (the spine's dozen vertebrae take a while).
        let label = surface.summary.label;
        post(&Reply::SegmentSurface(surface.summary), attachments);
        let copy = surface
            .mesh
            .as_deref()
            .map_or_else(Attachments::default, |mesh| {
                drag_copy_attachments(mesh, &PART_DRAG_COPY_TIERS)
            });
        post(&Reply::SegmentDragCopy { label }, copy);
        super::serve_waiting_views(worker).await;
    }
    if any {
        worker.keep_segments_later();
    }
}

/// Writes the segments and measurements to the cache, under the loaded
/// volume's key.
pub async fn keep(worker: &Worker) {
    let record = {
        let study = worker.study.borrow();
        let shapes = study.measurements().shapes();
        let made = study.segments().map(|s| {
            let bench = s.workbench();
            SegmentsRecord::of(bench.labelmap(), bench.table(), now_ms())
        });
        let made = made.or_else(|| {
            // Measurements alone: an empty labelmap codes to a few bytes.
            (!shapes.is_empty())
                .then(|| study.volume())
                .flatten()
                .map(|v| {
                    let d = v.geometry().dims;
                    let empty = insitu_segment::Labelmap::new([d.x, d.y, d.z]);
                    SegmentsRecord::of(&empty, &insitu_segment::SegmentTable::default(), now_ms())
                })
        });
        // The spine report's reading, while the segments are its vertebrae
        // (an undone analysis leaves the user's own).
        let spine = study
            .spine()
            .filter(|_| {
                study
                    .segments()
                    .is_some_and(|s| insitu_spine::holds_vertebrae(s.workbench().table()))
            })
            .map(insitu_spine::Spine::reading);
        made.map(|(mut record, coded)| {
            record.measurements = shapes;
            record.spine = spine;
            (record, coded)
        })
    };
    if let Some((record, coded)) = record {
        let kept = worker.cache.write_segments(&record, &coded).await;
        post(&Reply::SegmentsKept { kept }, Attachments::default());
    }
}

/// The segments as a file.
pub fn export(worker: &Worker, what: SegmentExport) {
    let result = worker
        .study
        .borrow_mut()
        .segments_mut()
        .and_then(|(volume, segments)| segments.export(&volume, what));
    match result {
        Ok(bytes) => super::post_export_bytes(ExportFile::Segments(what), &bytes),
        Err(e) => fail(Task::Exporting, e),
    }
}

/// How long (ms) a restore waits for the page's first views request:
/// the page asks within 10–20 ms of `Loaded` here. On a reopened
/// 2,500-slice spine the labelmap's read and count (0.5 s) otherwise stood
/// between `ready` and the views.
const RESTORE_WAITS_FOR_VIEWS_MS: i32 = 250;

/// Puts back the segments the cache kept for the loaded volume, if any,
/// and sends the list; their surfaces wait for the UI's request, which
/// follows its first 2D views. Called once `Loaded` is posted: the first
/// views the page then asks for are drawn before the labelmap (the
/// volume's size) is read back and counted, and drawn again with it.
/// Timed apart from the load (logged as "segments restored").
pub async fn restore(worker: &Worker) {
    super::wait_for_a_request(worker, RESTORE_WAITS_FOR_VIEWS_MS).await;
    super::serve_waiting_views(worker).await;
    let mut laps = Laps::default();
    laps.restart();
    let Some(kept) = worker.cache.segments().await else {
        return;
    };
    let (map, table, shapes) = (kept.map, kept.table, kept.shapes);
    laps.lap("segments read and decoded");
    if !shapes.is_empty() {
        worker.study.borrow_mut().restore_measurements(&shapes);
        super::measure::post_list(worker);
    }
    if table.segments().is_empty() {
        return; // measurements alone: no workbench to allocate
    }
    let summary = worker
        .study
        .borrow_mut()
        .restore_segments(map, table)
        .map(|s| s.summary());
    laps.lap("counted and boxed");
    if let Some(summary) = summary {
        post(&Reply::Segments(summary), Attachments::default());
    }
    if let Some(reading) = kept.spine {
        super::spine::measure_kept(worker, &reading);
        laps.lap("spine report measured again");
    }
    laps.log("segments restored");
}
