//! Spine requests: the analysis of the open volume in steps (progress
//! between them, a cancel taken at each), its vertebrae put into the
//! segments as one step that undoes, moving the names by a level, the
//! user's merges and splits of vertebrae, height lines placed by hand, and
//! the report measured again after the labels were edited by hand.
//! What is found and how it is named is decided in `insitu_spine`.

use insitu_spine::{
    Analyser, Labelled, ReadPlan, Revision, Spine, SpineLabels, holds_vertebrae,
    revise_labels_planned, segment_table, segment_table_keeping, shifted,
};

use super::{Worker, fail, now_ms, post};
use crate::envelope::Attachments;
use crate::protocol::{Failure, Phase, Reply, SpineCause, Task};

/// Finds, splits, names and measures the vertebrae; their segments replace
/// the volume's segments (`if_unlabelled`: only when it has none).
pub async fn find(worker: &Worker, if_unlabelled: bool) {
    let Some(volume) = worker.study.borrow().volume() else {
        return fail(Task::FindingTheSpine, Failure::NoVolume);
    };
    let modality = worker.study.borrow().summary().map(|s| s.modality);
    if let Some(Err(e)) = modality.map(insitu_spine::requires_ct) {
        return fail(Task::FindingTheSpine, e.into());
    }
    let labelled = worker
        .study
        .borrow()
        .segments()
        .is_some_and(|s| !s.workbench().is_empty());
    if if_unlabelled && labelled {
        // Segments reopened with their spine report keep it: it answers
        // the ask again, as kept.
        let kept = worker.study.borrow().spine().cloned();
        let reply = match kept {
            Some(spine) => Reply::Spine {
                spine,
                cause: SpineCause::Reopened,
            },
            None => Reply::SpineSkipped,
        };
        return post(&reply, Attachments::default());
    }
    let started = now_ms();
    let plan = match room_for_analysis(&volume) {
        Ok(plan) => plan,
        Err(e) => return fail(Task::FindingTheSpine, e),
    };
    worker.cancel.set(false);
    let mut analyser = match Analyser::planned(&volume, plan) {
        Ok(a) => a,
        Err(e) => return fail(Task::FindingTheSpine, e.into()),
    };
    let analysis = loop {
        match analyser.step() {
            Ok(Some(done)) => break done,
            Ok(None) => {}
            Err(e) => return fail(Task::FindingTheSpine, e.into()),
        }
        let (_, fraction) = analyser.progress();
        post(
            &Reply::Progress {
                phase: Phase::FindingTheSpine,
                done: (fraction * 1000.0) as usize,
                total: 1000,
            },
            Attachments::default(),
        );
        // A `Cancel` arrives as a message; redraws are served meanwhile.
        super::serve_waiting_views(worker).await;
        if worker.cancel.replace(false) {
            return worker.cancelled();
        }
    };
    let ms = now_ms() - started;
    // Its grid and working buffers go before the labels are placed: the
    // labelmap they go into may be made now, in the room they leave.
    drop(analyser);
    let table = segment_table(&analysis.spine);
    let result = worker
        .study
        .borrow_mut()
        .segments_mut()
        .and_then(|(_, segments)| segments.replace(&analysis.labels, table, now_ms));
    match result {
        Ok(summary) => {
            worker.study.borrow_mut().set_spine(analysis.spine.clone());
            post(
                &Reply::Spine {
                    spine: analysis.spine,
                    cause: SpineCause::Analysed { ms },
                },
                Attachments::default(),
            );
            post(&Reply::Segments(summary), Attachments::default());
        }
        Err(e) => fail(Task::FindingTheSpine, e),
    }
}

/// Moves every vertebra's name (and label) by `by` levels.
pub fn shift(worker: &Worker, by: i32) {
    let renamed = worker
        .study
        .borrow()
        .spine()
        .and_then(|spine| shifted(spine, by));
    let Some((spine, map)) = renamed else {
        return fail(Task::FindingTheSpine, Failure::CannotShift);
    };
    if worker.study.borrow().segments().is_none() {
        return fail(Task::FindingTheSpine, Failure::CannotShift);
    }
    // In place: no second labelmap.
    adopt_with(worker, spine, SpineCause::Renamed, |segments, table| {
        segments.relabel(&map, table, now_ms)
    });
}

/// Merges or splits vertebrae as the user asked: the labels and names
/// change as one step that undoes, and the report is measured again. A
/// height line placed by hand (or dropped) changes no label: the report
/// measured so is sent and kept with the segments.
pub fn revise(worker: &Worker, revision: Revision) {
    let by_hand = match revision {
        Revision::SetHeight { .. } => Some(SpineCause::HeightPlaced),
        Revision::MeasureHeights { .. } => Some(SpineCause::HeightsMeasured),
        _ => None,
    };
    match (revised_now(worker, revision), by_hand) {
        (Some(Ok(analysis)), Some(cause)) => {
            report(worker, analysis.spine, cause);
            worker.keep_segments_later();
        }
        (Some(Ok(analysis)), None) => adopt(worker, &analysis.labels, analysis.spine),
        (Some(Err(e)), _) => fail(Task::FindingTheSpine, e),
        (None, _) => fail(Task::FindingTheSpine, Failure::CannotShift),
    }
}

/// [`revise`] with a split where a click in the 3D view points: at the
/// first shown segment's voxel along the ray.
pub fn split_along(worker: &Worker, origin: [f64; 3], direction: [f64; 3]) {
    let point = {
        let study = worker.study.borrow();
        study
            .volume()
            .zip(study.segments())
            .and_then(|(volume, segments)| {
                let (_, voxel) = insitu_segment::pick(
                    &volume,
                    segments.workbench(),
                    glam::DVec3::from(origin),
                    glam::DVec3::from(direction),
                )?;
                let ijk = glam::DVec3::from(voxel.map(f64::from));
                Some(volume.geometry().world_of(ijk).to_array())
            })
    };
    match point {
        Some(point) => revise(worker, Revision::SplitAt { point }),
        None => fail(Task::FindingTheSpine, Failure::NothingThere),
    }
}

/// After hand edits of vertebrae (segment tools, undo, redo) have settled:
/// the report measured again from the labels, names kept.
pub fn remeasure_if_touched(worker: &Worker) {
    let touched = worker
        .study
        .borrow_mut()
        .segments_mut()
        .is_ok_and(|(_, segments)| segments.take_vertebrae_touched());
    // An undone analysis leaves the user's own segments, not vertebrae.
    let vertebrae = worker
        .study
        .borrow()
        .segments()
        .is_some_and(|s| holds_vertebrae(s.workbench().table()));
    if !touched || !vertebrae {
        return;
    }
    match revised_now(worker, Revision::Remeasure) {
        Some(Ok(analysis)) => report(worker, analysis.spine, SpineCause::Revised),
        Some(Err(e)) => fail(Task::FindingTheSpine, e),
        None => {}
    }
}

/// The spine report of segments reopened from the cache, measured again
/// on their labels from the reading kept with them, and sent as an
/// analysis's is: the list, the names and heights on the views, the
/// angles, as they were. Nothing where the segments no longer hold
/// vertebrae, a label names no level, or the volume is too long to
/// measure again at once (`measured_again_on_reopen`): the user finds them
/// again.
pub fn measure_kept(worker: &Worker, reading: &insitu_spine::SpineReading) {
    let holds = {
        let study = worker.study.borrow();
        study
            .segments()
            .is_some_and(|s| holds_vertebrae(s.workbench().table()))
            && study
                .volume()
                .is_some_and(|v| insitu_spine::measured_again_on_reopen(&v))
    };
    let Some(skeleton) = reading.skeleton().filter(|_| holds) else {
        return;
    };
    // The study keeps no spine until the report is measured: a skeleton
    // (nothing measured) is never listed or saved.
    match revised_from(worker, &skeleton, Revision::Remeasure) {
        Some(Ok(analysis)) => report(worker, analysis.spine, SpineCause::Reopened),
        Some(Err(e)) => fail(Task::FindingTheSpine, e),
        None => {}
    }
}

/// The open study's spine revised on its labels as they are now; `None`
/// without a volume, a spine or segments.
fn revised_now(worker: &Worker, revision: Revision) -> Option<Result<Labelled, Failure>> {
    let spine = worker.study.borrow().spine()?.clone();
    revised_from(worker, &spine, revision)
}

/// `spine` revised on the open study's labels as they are now; `None`
/// without a volume or segments.
fn revised_from(
    worker: &Worker,
    spine: &Spine,
    revision: Revision,
) -> Option<Result<Labelled, Failure>> {
    let study = worker.study.borrow();
    let (volume, segments) = (study.volume()?, study.segments()?);
    let plan = match room_for_analysis(&volume) {
        Ok(plan) => plan,
        Err(e) => return Some(Err(e)),
    };
    let labels = segments.workbench().labelmap();
    Some(revise_labels_planned(&volume, plan, labels, spine, revision).map_err(Failure::from))
}

/// How an analysis of `volume` (or a revision, which reads it again) will
/// read it, once this worker's wasm heap, which stops at 4 GiB, is known to
/// have room for it: said before anything is allocated, never a trap on a
/// failed allocation.
fn room_for_analysis(volume: &insitu_volume::Volume) -> Result<ReadPlan, Failure> {
    let free = insitu_volume::budget::WASM_HEAP_BYTES.saturating_sub(super::heap_bytes() as u64);
    ReadPlan::of(volume)
        .and_then(|plan| plan.fitted(free))
        .map_err(Failure::from)
}

/// Puts a revised spine's labels into the segments (one step that undoes;
/// segments the user made beside the spine kept) and reports.
fn adopt(worker: &Worker, labels: &SpineLabels, spine: Spine) {
    adopt_with(worker, spine, SpineCause::Revised, |segments, table| {
        segments.replace(labels, table, now_ms)
    });
}

/// Gives the segments `spine`'s labels through `step` (with the table to
/// take: the spine's segments and those the user made beside them) and
/// reports it as made by `cause`.
fn adopt_with(
    worker: &Worker,
    spine: Spine,
    cause: SpineCause,
    step: impl FnOnce(
        &mut crate::segments::Segments,
        insitu_segment::SegmentTable,
    ) -> Result<crate::protocol::SegmentsSummary, Failure>,
) {
    let result = worker
        .study
        .borrow_mut()
        .segments_mut()
        .and_then(|(_, segments)| {
            let table = segment_table_keeping(&spine, segments.workbench().table());
            step(segments, table)
        });
    match result {
        Ok(summary) => {
            report(worker, spine, cause);
            post(&Reply::Segments(summary), Attachments::default());
        }
        Err(e) => fail(Task::FindingTheSpine, e),
    }
}

/// Keeps `spine` as the study's and sends it to the page, made by `cause`.
fn report(worker: &Worker, spine: Spine, cause: SpineCause) {
    worker.study.borrow_mut().set_spine(spine.clone());
    post(&Reply::Spine { spine, cause }, Attachments::default());
}

/// The last spine report of the open study as a file (`NoSpine` before
/// any analysis).
pub fn export(worker: &Worker, format: insitu_spine::ReportFormat) {
    let text = worker
        .study
        .borrow()
        .spine()
        .map(|spine| insitu_spine::report_text(spine, format));
    match text {
        Some(text) => {
            super::post_export_bytes(crate::protocol::ExportFile::Spine(format), text.as_bytes())
        }
        None => fail(Task::Exporting, Failure::NoSpine),
    }
}
