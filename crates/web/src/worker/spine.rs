//! Spine requests: the analysis of the open volume in steps (progress
//! between them, a cancel taken at each), its vertebrae put into the
//! segments as one step that undoes, and moving the names by a level.
//! What is found and how it is named is decided in `insitu_spine`.

use insitu_spine::{Analyser, segment_table, shifted};

use super::{Worker, fail, now_ms, post};
use crate::envelope::Attachments;
use crate::protocol::{Failure, Phase, Reply, Task};

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
        return post(&Reply::SpineSkipped, Attachments::default());
    }
    worker.cancel.set(false);
    let started = now_ms();
    let mut analyser = match Analyser::new(&volume) {
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
    let table = segment_table(&analysis.spine);
    let result = worker
        .study
        .borrow_mut()
        .segments_mut()
        .and_then(|(_, segments)| segments.replace(&analysis.labelmap, table, now_ms));
    match result {
        Ok(summary) => {
            worker.study.borrow_mut().set_spine(analysis.spine.clone());
            post(
                &Reply::Spine {
                    spine: analysis.spine,
                    ms,
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
    let result = worker
        .study
        .borrow_mut()
        .segments_mut()
        .and_then(|(_, segments)| {
            let labels = segments.workbench().labelmap().clone().relabelled(&map);
            segments.replace(&labels, segment_table(&spine), now_ms)
        });
    match result {
        Ok(summary) => {
            worker.study.borrow_mut().set_spine(spine.clone());
            post(&Reply::Spine { spine, ms: 0.0 }, Attachments::default());
            post(&Reply::Segments(summary), Attachments::default());
        }
        Err(e) => fail(Task::FindingTheSpine, e),
    }
}
