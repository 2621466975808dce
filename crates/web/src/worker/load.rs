//! Loading a series: the cache first (a hit reads the volume back without
//! decoding), else decoding, by decoder workers for a large compressed
//! series or here a batch of files at a time; then the volume becomes the
//! study's and is written to the cache after the UI has it. A new folder
//! is loaded beside the open study, which is kept on cancel or failure.

use std::rc::Rc;

use insitu_volume::phantom::{PhantomSize, Variant};
use insitu_volume::{BuildError, Loaded, MemoryFile, Reduction, Scan, budget};

use super::cache::Cache;
use super::files::{DroppedFiles, FILES_PER_BATCH, Incoming};
use super::later::{Later, VolumeJob};
use super::{Worker, now_ms, post};
use crate::cache::{AfterLookup, after_lookup, recent_failure};
use crate::decoders::{self, DecodedBy, Parallel};
use crate::envelope::Attachments;
use crate::protocol::{CacheOutcome, Failure, Phase, Reply, Task};
use crate::study;

/// How a load ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loading {
    /// The volume is the study's; `Loaded` was posted.
    Loaded,
    /// It could not be built; `Failed` was posted.
    Failed,
    /// The user cancelled; the study is unchanged.
    Cancelled,
    /// Too large for memory; `Failed` was posted with the reduced loads
    /// that would fit.
    TooLarge,
}

fn progress(phase: Phase, done: usize, total: usize) {
    post(
        &Reply::Progress { phase, done, total },
        Attachments::default(),
    );
}

fn failed(during: Task, error: Failure) {
    post(&Reply::Failed { during, error }, Attachments::default());
}

/// Opens dropped files: scan (hashing each file for the cache key as it
/// goes), then load the largest series beside the open study. `files` are
/// the first of the folder's `in_all`, the others arriving for `opening`.
/// Timed from `chosen_at_ms` (the user's choice) when given.
pub async fn open(
    worker: &Worker,
    mut files: DroppedFiles,
    in_all: usize,
    opening: u32,
    chosen_at_ms: Option<f64>,
) {
    let started = chosen_at_ms
        .filter(|&at| at <= now_ms())
        .unwrap_or_else(now_ms);
    worker.laps.borrow_mut().restart_at(started);
    worker.laps.borrow_mut().lap("files handed to the worker");
    worker.cancel.set(false);
    worker.too_large.borrow_mut().take();
    let incoming = Incoming::new(&worker.arrivals, &worker.arrived, &worker.cancel, opening);
    let Some((scan, early)) = files
        .scan(
            in_all,
            &incoming,
            &worker.cancel,
            &worker.laps,
            |done, total| progress(Phase::Reading, done, total),
        )
        .await
    else {
        worker.cancelled();
        return;
    };
    let files = Rc::new(files);
    progress(Phase::Scanning, files.len(), files.len());
    worker.laps.borrow_mut().lap("scan: plan");
    post(&study::scanned(&scan, files.len()), Attachments::default());
    let Some(index) = scan.largest_series() else {
        // Its skipped list says why; the open study stays loaded.
        failed(Task::Opening, Failure::NoImageSeries);
        return;
    };
    let from_scan = scan.take_early(index, early);
    worker.laps.borrow_mut().lap("scan: slices in order");
    let scan = Rc::new(scan);
    let loading = load(
        worker,
        scan.clone(),
        files.clone(),
        index,
        started,
        from_scan,
    )
    .await;
    if loading == Loading::TooLarge {
        // Kept for a reduced load the user may choose.
        *worker.too_large.borrow_mut() = Some((scan, files));
    }
    if loading != Loading::Loaded {
        // Show the open study's folder again.
        if let Some(scanned) = worker.study.borrow().scanned() {
            post(&scanned, Attachments::default());
        }
        if worker.cancel.get() {
            worker.cancelled();
        }
    }
}

/// Loads another series of the open folder.
pub async fn load_series(worker: &Worker, index: usize) {
    worker.laps.borrow_mut().restart();
    worker.cancel.set(false);
    let scan = worker.study.borrow().scan();
    let files = worker.files.borrow().clone();
    let (Some(scan), Some(files)) = (scan, files) else {
        return failed(Task::Loading, Failure::NoFolder);
    };
    if index >= scan.series.len() {
        return failed(Task::Loading, Failure::NoSuchSeries(index));
    }
    if load(worker, scan, files, index, now_ms(), None).await == Loading::Cancelled {
        worker.cancelled();
    }
}

/// Loads the series that was too large, read as `reduction`.
pub async fn load_reduced(worker: &Worker, index: usize, reduction: Reduction) {
    worker.laps.borrow_mut().restart();
    worker.cancel.set(false);
    let Some((scan, files)) = worker.too_large.borrow_mut().take() else {
        return failed(Task::Loading, Failure::NoFolder);
    };
    let reduced = match scan.with_reduction(index, reduction) {
        Ok(reduced) => Rc::new(reduced),
        Err(e) => return failed(Task::Loading, Failure::Build(e)),
    };
    progress(Phase::Decoding, 0, 0);
    if load(worker, reduced, files, index, now_ms(), None).await == Loading::Cancelled {
        worker.cancelled();
    }
}

/// Loads series `index` of `scan` (whose files are `files`) and makes it
/// the study's volume. `from_scan`: the series already decoded as it was
/// scanned, so the cache is only asked whether it holds it (for the
/// segments and surfaces kept with it): reading it back would be slower.
async fn load(
    worker: &Worker,
    scan: Rc<Scan>,
    files: Rc<DroppedFiles>,
    index: usize,
    started: f64,
    from_scan: Option<Loaded>,
) -> Loading {
    progress(Phase::Decoding, 0, 0);
    let key = (!worker.cache.keeps_nothing())
        .then(|| scan.content_key_from_scan(index))
        .flatten();
    worker.laps.borrow_mut().lap("content key");
    let store = match &key {
        Some(_) => worker.cache.store().await,
        None => Err(CacheOutcome::Off),
    };
    let mut outcome = match &store {
        Ok(_) => CacheOutcome::Miss,
        Err(why) => why.clone(),
    };
    if let (Some(key), Ok(store), true) = (&key, &store, from_scan.is_some()) {
        let found = store.volume_record(key).await;
        worker.laps.borrow_mut().lap("cache record");
        outcome = not_used(store, key, &found)
            .await
            .unwrap_or(CacheOutcome::AlreadyKept);
    } else if let (Some(key), Ok(store)) = (&key, &store) {
        let found = Cache::volume(store, key, &worker.laps).await;
        match not_used(store, key, &found).await {
            Some(why) => {
                worker.laps.borrow_mut().lap("cache lookup");
                outcome = why;
            }
            None => {
                let cached = found.ok().flatten().expect("a hit");
                if worker.cancel.get() {
                    return Loading::Cancelled;
                }
                let loaded = Loaded {
                    volume: cached.volume,
                    warnings: scan.series[index].info.warnings.clone(),
                    value_range: Some(cached.value_range),
                };
                let mut summary = worker.study.borrow_mut().take_series(
                    scan,
                    files.len(),
                    index,
                    loaded,
                    CacheOutcome::Hit,
                );
                *worker.files.borrow_mut() = Some(files);
                worker.cache.set_volume_key(Some(key.clone()));
                summary.load_ms = now_ms() - started;
                worker.laps.borrow_mut().lap("summary");
                worker.laps.borrow().log("cache hit");
                post(&Reply::Loaded(summary), Attachments::default());
                super::segments::restore(worker).await;
                return Loading::Loaded;
            }
        }
    }
    let (built, decoded_by) = match from_scan {
        Some(loaded) => (Ok(loaded), DecodedBy::default()),
        None => match decode(worker, &scan, &files, index).await {
            Some(decoded) => decoded,
            None => return Loading::Cancelled,
        },
    };
    if decoded_by.decoders > 0 {
        worker.laps.borrow_mut().lap("decode: on decoder workers");
    }
    // A cancel that came while the cache was asked (a series decoded as it
    // was scanned has no other wait left) still keeps the open study.
    if worker.cancel.get() {
        return Loading::Cancelled;
    }
    let loaded = match built {
        Ok(loaded) => loaded,
        Err(e) => {
            let too_large = matches!(&e, BuildError::TooLarge { offers, .. } if !offers.is_empty());
            failed(Task::Loading, Failure::Build(e));
            return if too_large {
                Loading::TooLarge
            } else {
                Loading::Failed
            };
        }
    };
    let mut summary =
        worker
            .study
            .borrow_mut()
            .take_series(scan, files.len(), index, loaded, outcome);
    *worker.files.borrow_mut() = Some(files);
    let kept = summary.cache == CacheOutcome::AlreadyKept;
    worker.cache.set_volume_key(key.clone().filter(|_| kept));
    summary.load_ms = now_ms() - started;
    summary.decoders = decoded_by.decoders;
    summary.decoder_heap_bytes = decoded_by.heap_bytes;
    worker.laps.borrow_mut().lap("summary");
    post(&Reply::Loaded(summary.clone()), Attachments::default());
    if kept {
        super::segments::restore(worker).await;
    } else if let (Some(key), Ok(store)) = (key, store) {
        // Once idle: the user sees the study while it is written.
        cache_later(worker, store, key, &summary);
    }
    worker.laps.borrow().log("load");
    Loading::Loaded
}

/// What the load's cache lookup of `key` found, when it is not to be used:
/// a miss, a read the browser refused (left alone and said), or a damaged
/// entry (never shown as if valid: dropped and said). `None`: use it.
async fn not_used<T>(
    store: &insitu_store::Store,
    key: &str,
    found: &Result<Option<T>, insitu_store::StoreError>,
) -> Option<CacheOutcome> {
    match after_lookup(found) {
        AfterLookup::Use => None,
        AfterLookup::Decode(why) => {
            if let Err(e) = found {
                web_sys::console::warn_1(&format!("insitu: cache not read: {e}").into());
            }
            Some(why)
        }
        AfterLookup::DropAndDecode(why) => {
            web_sys::console::warn_1(&format!("insitu: cache entry dropped: {why:?}").into());
            let _ = store.delete_volume(key).await;
            Some(why)
        }
    }
}

/// Decodes series `index`: on decoder workers when it is large and
/// compressed, else here a batch of files at a time. `None` when cancelled.
async fn decode(
    worker: &Worker,
    scan: &Scan,
    files: &DroppedFiles,
    index: usize,
) -> Option<(Result<Loaded, BuildError>, DecodedBy)> {
    let plan = &scan.series[index];
    // Said before anything is allocated: a series that cannot fit is never
    // half-built, and the open study stays.
    let float = scan.needs_float(index).unwrap_or(false);
    let needed_bytes = budget::voxel_bytes(plan.geometry.voxel_count() as u64, float);
    if needed_bytes > budget::WASM_VOLUME_BYTES {
        let too_large = BuildError::TooLarge {
            needed_bytes,
            budget_bytes: budget::WASM_VOLUME_BYTES,
            offers: scan.reduced_loads(index, float, budget::WASM_VOLUME_BYTES),
        };
        return Some((Err(too_large), DecodedBy::default()));
    }
    // Block-averaged frames are reduced as they are assembled here.
    let count = if plan.block() > 1 {
        0
    } else {
        decoders::decoders_for(
            plan.info.dims[2] as usize,
            plan.geometry.voxel_count(),
            scan.is_decode_bound(index),
        )
    };
    let report = |done: usize, total: usize| {
        if done == total || done.is_multiple_of((total / 50).max(1)) {
            progress(Phase::Decoding, done, total);
        }
    };
    if count >= 2 {
        match decoders::decode_in_parallel(scan, files, index, count, &report, &worker.cancel).await
        {
            Parallel::Done(result, by) => return Some((result, by)),
            Parallel::Cancelled => return None,
            Parallel::Unavailable => {}
        }
    }
    decode_in_place(worker, scan, files, index, &report)
        .await
        .map(|built| (built, DecodedBy::default()))
}

/// Decodes series `index` here, a batch of files at a time: the next
/// batches are read while this one decodes, and each file is copied into wasm
/// memory only while it is decoded. A cancel is seen between batches.
async fn decode_in_place(
    worker: &Worker,
    scan: &Scan,
    files: &DroppedFiles,
    index: usize,
    report: &dyn Fn(usize, usize),
) -> Option<Result<Loaded, BuildError>> {
    let total = scan.series[index].info.dims[2] as usize;
    let mut float = match scan.needs_float(index) {
        Ok(float) => float,
        Err(e) => return Some(Err(e)),
    };
    'attempt: loop {
        let (jobs, mut assembly) = match scan
            .decode_batches(index, FILES_PER_BATCH, float)
            .and_then(|jobs| Ok((jobs, scan.start_assembly(index, float)?)))
        {
            Ok(ready) => ready,
            Err(e) => return Some(Err(e)),
        };
        let mut done = 0;
        let batches: Vec<&[usize]> = jobs.iter().map(|job| &job.files[..]).collect();
        let mut reads = files.read_ahead(&batches);
        for job in &jobs {
            let read = reads.next().await.expect("one read per job");
            worker.laps.borrow_mut().lap("decode: files read");
            if worker.cancel.get() {
                return None;
            }
            let sources = job.files.iter().enumerate().map(|(i, &file)| MemoryFile {
                name: files.name(file).to_owned(),
                bytes: read.bytes(i).unwrap_or_default(),
            });
            if assembly.decode(job, sources).is_err() {
                // A value beyond i16: start again in f32.
                float = true;
                continue 'attempt;
            }
            done += job.slice_count();
            report(done, total);
            worker.laps.borrow_mut().lap("decode: pixels");
        }
        let built = assembly.finish(scan);
        worker.laps.borrow_mut().lap("decode: finish");
        return Some(built);
    }
}

/// Puts the study's volume in the cache once the worker is idle.
fn cache_later(
    worker: &Worker,
    store: Rc<insitu_store::Store>,
    key: String,
    summary: &crate::protocol::VolumeSummary,
) {
    let (volume, generation) = {
        let study = worker.study.borrow();
        (study.volume(), study.volume_generation())
    };
    if let Some(volume) = volume {
        worker.later.borrow_mut().push(Later::Volume(VolumeJob {
            store,
            key,
            volume: Rc::downgrade(&volume),
            modality: summary.modality,
            value_range: summary.value_range,
            generation,
            write: None,
        }));
    }
}

/// Opens a cached volume with no files (the Recent list): it replaces the
/// open study only once it has been read and verified. Timed from
/// `clicked_at_ms` (the user's click) when given.
pub async fn open_cached(worker: &Worker, key: String, clicked_at_ms: Option<f64>) {
    let started = clicked_at_ms
        .filter(|&at| at <= now_ms())
        .unwrap_or_else(now_ms);
    worker.laps.borrow_mut().restart_at(started);
    worker.laps.borrow_mut().lap("click to the worker");
    let Ok(store) = worker.cache.store().await else {
        return failed(Task::OpeningFromTheCache, Failure::CacheOff);
    };
    worker.laps.borrow_mut().lap("cache opened");
    let found = Cache::volume(&store, &key, &worker.laps).await;
    let shape = match &found {
        Ok(found) => Ok(found.as_ref().map(drop)),
        Err(e) => Err(e.clone()),
    };
    if let Some((failure, remove)) = recent_failure(&shape) {
        if remove {
            let _ = store.delete_volume(&key).await;
        }
        return failed(Task::OpeningFromTheCache, failure);
    }
    let cached = found.ok().flatten().expect("checked above");
    let mut summary =
        worker
            .study
            .borrow_mut()
            .from_cache(cached.volume, cached.modality, cached.value_range);
    *worker.files.borrow_mut() = None;
    worker.cache.set_volume_key(Some(key));
    summary.load_ms = now_ms() - started;
    worker.laps.borrow_mut().lap("summary");
    worker.laps.borrow().log("open from the cache");
    post(&Reply::Loaded(summary), Attachments::default());
    super::segments::restore(worker).await;
}

/// The demo's key in the cache: the demo is always the same volume, so a
/// teacher's segments of it come back like those of any study.
/// The demo's cache key: its variant and the generator's version.
fn demo_key(variant: Variant) -> String {
    format!("demo-spine-{}-288x288x300-v2", variant.key())
}

/// Builds the synthetic demo spine and makes it the study; it is cached
/// like a study (once), and segments kept for it come back.
pub async fn demo(worker: &Worker, variant: Variant) {
    let started = now_ms();
    progress(Phase::BuildingTheDemo, 0, 0);
    // `?demo=512`: the benchmark's 512²×300 spine, never cached.
    let large = crate::decoders::setting("demo").as_deref() == Some("512");
    let size = if large {
        PhantomSize {
            matrix: 512,
            slices: 300,
            pixel_mm: 0.7,
            slice_mm: 1.0,
        }
    } else {
        PhantomSize::DEMO
    };
    let key = demo_key(variant);
    let mut summary = worker.study.borrow_mut().demo(size, variant);
    *worker.files.borrow_mut() = None;
    worker.cache.set_volume_key(None);
    summary.load_ms = now_ms() - started;
    post(&Reply::Loaded(summary.clone()), Attachments::default());
    if !large {
        keep_demo(worker, &key, &summary).await;
    }
}

/// Puts the demo in the cache like a study (so segments made on it are
/// kept), or finds it there and restores its segments.
async fn keep_demo(worker: &Worker, key: &str, summary: &crate::protocol::VolumeSummary) {
    let Ok(store) = worker.cache.store().await else {
        return;
    };
    match store.volume_record(key).await {
        Ok(Some(_)) => {
            worker.cache.set_volume_key(Some(key.to_owned()));
            super::segments::restore(worker).await;
        }
        _ => cache_later(worker, store, key.to_owned(), summary),
    }
}
