//! Loading a series: the cache first (a hit reads the volume back without
//! decoding), else decoding, by decoder workers for a large compressed
//! series or here a batch of files at a time; then the volume becomes the
//! study's and is written to the cache after the UI has it. A new folder
//! is loaded beside the open study, which is kept on cancel or failure.

use std::cell::RefCell;
use std::rc::Rc;

use insitu_store::{FilesStamp, Store};
use insitu_volume::phantom::{PhantomSize, Variant};
use insitu_volume::{BuildError, Loaded, MemoryFile, Reduction, Scan, budget};

use super::cache::Cache;
use super::cache::CachedVolume;
use super::files::{DroppedFiles, FILES_PER_BATCH, Incoming, ScanHooks, Scanning};
use super::later::{Later, VolumeJob};
use super::{Worker, now_ms, post};
use crate::cache::{AfterLookup, after_lookup, recent_failure};
use crate::decoders::{self, DecodedBy, Parallel};
use crate::envelope::Attachments;
use crate::laps::Laps;
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
/// Its first files give the folder's stamp, looked up in the cache before
/// any file is read: a folder dropped again opens from there at once, and
/// all its files are read and checked afterwards. Timed from
/// `chosen_at_ms` (the user's choice) when given.
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
    let mut hooks = Opening {
        worker,
        before: Before::default(),
        known: None,
    };
    let (scan, early) = match files
        .scan(in_all, &incoming, &worker.cancel, &worker.laps, &mut hooks)
        .await
    {
        Scanning::Scanned(scan, early) => (scan, early),
        Scanning::Cancelled | Scanning::Stopped => return worker.cancelled(),
        // A cancel that came while the cache was asked keeps the open study.
        Scanning::Known if worker.cancel.get() => return worker.cancelled(),
        Scanning::Known => {
            let (key, cached) = hooks.known.take().expect("known by its stamp");
            let folder = (files, in_all, &incoming);
            return open_known(worker, folder, key, cached, hooks.before, started).await;
        }
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
        hooks.before,
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

/// What an opening learnt of its folder before the load: the folder's
/// stamp (to keep with its volume), and why an entry the stamp found was
/// not used (said instead of a plain miss).
#[derive(Default)]
struct Before {
    stamp: Option<FilesStamp>,
    not_used: Option<CacheOutcome>,
    /// Why the cache could not be opened (not asked again: an upgrade an
    /// older tab blocks is waited for once).
    no_store: Option<CacheOutcome>,
}

/// A new folder's scan: the cache asked for the folder by its stamp
/// first, its progress shown, an uncompressed series converted as it is
/// read.
struct Opening<'a> {
    worker: &'a Worker,
    before: Before,
    /// The volume the stamp found, with its key.
    known: Option<(String, CachedVolume)>,
}

impl ScanHooks for Opening<'_> {
    fn convert_early(&self) -> bool {
        true
    }

    async fn first_files(&mut self, files: &DroppedFiles, in_all: usize) -> bool {
        if self.worker.cache.keeps_nothing() {
            return false;
        }
        let stamp = files.stamp(in_all).await;
        self.before.stamp = Some(stamp);
        let store = match self.worker.cache.store().await {
            Ok(store) => store,
            Err(why) => {
                self.before.no_store = Some(why);
                return false;
            }
        };
        let known = store.volume_of_files(stamp).await;
        self.worker.laps.borrow_mut().lap("cache: the files' stamp");
        let Ok(Some((key, record))) = known else {
            return false;
        };
        show_opening_views(self.worker, &store, &key).await;
        // The record the lookup read: only the voxels are read now.
        let found = Cache::volume_of(&store, &key, record, &self.worker.laps)
            .await
            .map(Some);
        match not_used(&store, &key, &found).await {
            None => {
                let cached = found.ok().flatten().expect("a hit");
                self.known = Some((key, cached));
                true
            }
            Some(why) => {
                // A damaged entry is said; a refused read is tried again
                // by the content key.
                if matches!(why, CacheOutcome::Rebuilt { .. }) {
                    self.before.not_used = Some(why);
                }
                false
            }
        }
    }

    async fn file_done(&mut self) -> bool {
        true
    }

    fn batch_done(&mut self, read: usize, in_all: usize) {
        progress(Phase::Reading, read, in_all);
    }
}

/// Shows the first views drawn of cached volume `key`, as the cache kept
/// them, while its voxels are read back (a few MB against the volume's
/// size: 157 MB take 0.1–0.3 s).
async fn show_opening_views(worker: &Worker, store: &Store, key: &str) {
    if let Ok(Some(bytes)) = store.opening_views(key).await
        && super::views::show_opening(&bytes)
    {
        worker.laps.borrow_mut().lap("cache: opening views shown");
    }
}

/// How long (ms) a volume found by its files' stamp waits for the page's
/// first request for views before its files are checked.
const CHECK_WAITS_FOR_VIEWS_MS: i32 = 100;

/// A volume opened from the cache by its files' stamp: shown at once, then
/// all the folder's `in_all` files are read (those past the first arriving
/// through `incoming`; the user's requests served in between) and their
/// content key compared. The same: the study gets the folder's scan. Not
/// the same (files changed in place, their times kept): the stamp is taken
/// back and the files are loaded as they are.
async fn open_known(
    worker: &Worker,
    (mut files, in_all, incoming): (DroppedFiles, usize, &Incoming<'_>),
    key: String,
    cached: CachedVolume,
    before: Before,
    started: f64,
) {
    show_cached(
        worker,
        key.clone(),
        cached,
        started,
        "found by the files' stamp",
    )
    .await;
    let shown = worker.study.borrow().volume_generation();
    // The page asks for the first views as soon as it has the volume:
    // they go before the check, which would otherwise share the cores
    // with them (a request ends the wait).
    super::wait_for_a_request(worker, CHECK_WAITS_FOR_VIEWS_MS).await;
    if !super::serve_beside_the_study(worker).await {
        return;
    }
    // Its own laps: the requests served meanwhile keep theirs.
    let laps = RefCell::new(Laps::default());
    laps.borrow_mut().restart();
    let scanned = files
        .scan(
            in_all,
            incoming,
            &worker.cancel,
            &laps,
            &mut Checking { worker },
        )
        .await;
    let Scanning::Scanned(scan, _) = scanned else {
        // Stopped for another study, or cancelled: the volume stays,
        // without its folder.
        return;
    };
    if worker.study.borrow().volume_generation() != shown {
        return;
    }
    let files = Rc::new(files);
    let index = scan.largest_series();
    let same = index.and_then(|index| scan.content_key_from_scan(index)) == Some(key.clone());
    laps.borrow_mut().lap("content key");
    laps.borrow().log("files checked against the cache");
    let scan = Rc::new(scan);
    if let (true, Some(index)) = (same, index) {
        let checked = worker
            .study
            .borrow_mut()
            .attach_scan(scan.clone(), files.len(), index);
        *worker.files.borrow_mut() = Some(files);
        if let Some(volume) = checked {
            post(&study::files_checked(&scan, volume), Attachments::default());
        }
        return;
    }
    web_sys::console::warn_1(&"insitu: the files differ from the copy their stamp found".into());
    if let Ok(store) = worker.cache.store().await {
        let _ = store.set_files_stamp(&key, None).await;
    }
    worker.cache.set_volume_key(None);
    post(&study::scanned(&scan, files.len()), Attachments::default());
    let Some(index) = index else {
        return failed(Task::Opening, Failure::NoImageSeries);
    };
    let before = Before {
        stamp: before.stamp,
        not_used: Some(CacheOutcome::FilesChanged),
        no_store: None,
    };
    load_scanned(worker, scan, files, index, before).await;
}

/// The files of a volume already shown, read to check it: nothing
/// converted, no progress shown; between files the user's requests are
/// served (its surface, its segments, the views), and a request that
/// replaces the study stops the check.
struct Checking<'a> {
    worker: &'a Worker,
}

impl ScanHooks for Checking<'_> {
    fn convert_early(&self) -> bool {
        false
    }

    async fn first_files(&mut self, _: &DroppedFiles, _: usize) -> bool {
        false
    }

    async fn file_done(&mut self) -> bool {
        // Requests come in while files are read; served as soon as one is
        // in (a redraw waits one file's read, not a batch's).
        if self.worker.queue.borrow().is_empty() {
            return true;
        }
        super::serve_beside_the_study(self.worker).await
    }

    fn batch_done(&mut self, _: usize, _: usize) {}
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
    load_scanned(worker, scan, files, index, Before::default()).await;
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
    load_scanned(worker, reduced, files, index, Before::default()).await;
}

/// Loads series `index` of a folder already scanned, timed from now; a
/// cancel is said.
async fn load_scanned(
    worker: &Worker,
    scan: Rc<Scan>,
    files: Rc<DroppedFiles>,
    index: usize,
    before: Before,
) {
    if load(worker, scan, files, index, now_ms(), None, before).await == Loading::Cancelled {
        worker.cancelled();
    }
}

/// Loads series `index` of `scan` (whose files are `files`) and makes it
/// the study's volume. `from_scan`: the series already decoded as it was
/// scanned, so the cache is only asked whether it holds it (for the
/// segments and surfaces kept with it): reading it back would be slower.
/// `before`: the folder's stamp, kept with the cached volume so that the
/// next drop finds it, and what an earlier lookup found.
async fn load(
    worker: &Worker,
    scan: Rc<Scan>,
    files: Rc<DroppedFiles>,
    index: usize,
    started: f64,
    from_scan: Option<Loaded>,
    before: Before,
) -> Loading {
    progress(Phase::Decoding, 0, 0);
    let key = (!worker.cache.keeps_nothing())
        .then(|| scan.content_key_from_scan(index))
        .flatten();
    worker.laps.borrow_mut().lap("content key");
    let store = match (&key, before.no_store) {
        (Some(_), None) => worker.cache.store().await,
        (Some(_), Some(why)) => Err(why),
        (None, _) => Err(CacheOutcome::Off),
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
                ready(&mut summary, started);
                worker.laps.borrow_mut().lap("summary");
                worker.laps.borrow().log("cache hit");
                post(&Reply::Loaded(summary), Attachments::default());
                keep_stamp(store, key, before.stamp).await;
                super::segments::restore(worker).await;
                return Loading::Loaded;
            }
        }
    }
    if outcome == CacheOutcome::Miss
        && let Some(why) = before.not_used
    {
        outcome = why;
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
    ready(&mut summary, started);
    summary.decoders = decoded_by.decoders;
    summary.decoder_heap_bytes = decoded_by.heap_bytes;
    worker.laps.borrow_mut().lap("summary");
    post(&Reply::Loaded(summary.clone()), Attachments::default());
    if let (true, Some(key), Ok(store)) = (kept, &key, &store) {
        keep_stamp(store, key, before.stamp).await;
        super::segments::restore(worker).await;
    } else if let (Some(key), Ok(store)) = (key, store) {
        // Once idle: the user sees the study while it is written.
        cache_later(worker, store, key, &summary, before.stamp);
    }
    worker.laps.borrow().log("load");
    Loading::Loaded
}

/// Keeps `stamp` (the files a volume was just opened from) with the cached
/// volume `key`, so that dropping them again finds it before they are read.
async fn keep_stamp(store: &insitu_store::Store, key: &str, stamp: Option<FilesStamp>) {
    if let Some(stamp) = stamp
        && let Err(e) = store.set_files_stamp(key, Some(stamp)).await
    {
        web_sys::console::warn_1(&format!("insitu: the files' stamp not kept: {e}").into());
    }
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

/// Puts the study's volume in the cache once the worker is idle, with the
/// stamp of the files it came from.
fn cache_later(
    worker: &Worker,
    store: Rc<insitu_store::Store>,
    key: String,
    summary: &crate::protocol::VolumeSummary,
    files_stamp: Option<FilesStamp>,
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
            files_stamp,
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
    // (A volume that then fails its checks is said, and the page draws
    // its open study again.)
    show_opening_views(worker, &store, &key).await;
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
    show_cached(worker, key, cached, started, "open from the cache").await;
}

/// Makes `cached` (volume `key` of the cache) the study's, with no folder
/// yet, timed from `started` (its laps logged as `what`), and brings back
/// the segments kept with it.
async fn show_cached(worker: &Worker, key: String, cached: CachedVolume, started: f64, what: &str) {
    let mut summary =
        worker
            .study
            .borrow_mut()
            .from_cache(cached.volume, cached.modality, cached.value_range);
    *worker.files.borrow_mut() = None;
    worker.cache.set_volume_key(Some(key));
    ready(&mut summary, started);
    worker.laps.borrow_mut().lap("summary");
    worker.laps.borrow().log(what);
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
    ready(&mut summary, started);
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
        _ => cache_later(worker, store, key.to_owned(), summary, None),
    }
}

/// Stamps `summary` ready now, its load timed from `started`.
fn ready(summary: &mut crate::protocol::VolumeSummary, started: f64) {
    summary.ready_at_ms = now_ms();
    summary.load_ms = summary.ready_at_ms - started;
}
