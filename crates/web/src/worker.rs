//! The study worker: receives [`Request`]s, runs them on the [`Study`] one at
//! a time, and posts [`Reply`]s with their buffers transferred. Reading,
//! decoding, reslicing and meshing all happen here, off the UI thread.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use insitu_gpu::{GpuContext, GpuMarchingCubes, SliceRenderer, SliceView};
use insitu_mesh::{SurfaceOptions, extract_surface};
use insitu_store::{Store, StoreError};
use insitu_volume::{MemoryFile, Voxels, phantom::PhantomSize};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, File, MessageEvent};

use crate::decoders::{self, Parallel};
use crate::laps::Laps;
use crate::protocol::{Engine, Reply, Request, SurfaceRequest, ViewRequest};
use crate::study::Study;

/// The worker's GPU device, set up on first use: WebGPU when the browser has
/// it, else WebGL2 on an offscreen canvas (render-only). The error says why
/// neither.
type Device = Result<Rc<GpuContext>, String>;

/// A GPU resource built on first use; the error says why it could not be.
type Built<T> = Rc<Result<T, String>>;

/// Separate cells: the message handler touches only the queue, so a
/// request may hold the study across an `await` (GPU readback).
#[derive(Default)]
struct Worker {
    study: RefCell<Study>,
    queue: RefCell<VecDeque<JsValue>>,
    busy: Cell<bool>,
    /// Set by a `cancel` message, which jumps the queue: the load in
    /// progress checks it whenever it yields (between files read, between
    /// decoder replies) and drops what it had begun.
    cancel: Cell<bool>,
    device: RefCell<Option<Device>>,
    /// GPU marching cubes on `device`, built on first use.
    marching: RefCell<Option<Built<GpuMarchingCubes>>>,
    /// The cache database, opened on first use.
    store: RefCell<Option<Result<Rc<Store>, String>>>,
    /// The user's "keep nothing on this computer" setting.
    keep_nothing: Cell<bool>,
    /// The loaded volume on `device` for the 2D views, tagged with the
    /// study's volume generation it was uploaded from.
    slices: RefCell<Option<(u64, Built<SliceRenderer>)>>,
    /// Content key of the loaded volume once it is in the cache.
    volume_key: RefCell<Option<String>>,
    /// Where the request in progress spends its time.
    laps: RefCell<Laps>,
    /// Reslice on the GPU even when it is a software rasterizer (tests).
    slices_on_gpu: bool,
    /// The volume generation the 2D views were last drawn from.
    drawn_generation: Cell<u64>,
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Posts `reply` with `buffers` transferred (not copied) to the UI thread.
fn post(reply: &Reply, buffers: Vec<JsValue>) {
    let message = Object::new();
    let msg = serde_wasm_bindgen::to_value(reply).expect("replies serialise");
    let transfer = Array::new();
    let list = Array::new();
    for b in buffers {
        let buffer = b
            .dyn_ref::<js_sys::ArrayBuffer>()
            .cloned()
            .unwrap_or_else(|| b.unchecked_ref::<js_sys::Uint8Array>().buffer());
        transfer.push(&buffer);
        list.push(&b);
    }
    let _ = Reflect::set(&message, &"msg".into(), &msg);
    let _ = Reflect::set(&message, &"buffers".into(), &list);
    if let Err(e) = scope().post_message_with_transfer(&message, &transfer) {
        web_sys::console::error_2(&"insitu worker: post failed".into(), &e);
    }
}

fn bytes(data: &[u8]) -> JsValue {
    Uint8Array::from(data).into()
}

fn floats(data: &[f32]) -> JsValue {
    js_sys::Float32Array::from(data).into()
}

fn words(data: &[u32]) -> JsValue {
    js_sys::Uint32Array::from(data).into()
}

/// Bytes of this worker's wasm heap: what the open study costs in memory.
/// A wasm heap never shrinks, so closing a study ends the worker; the
/// end-to-end test reads this to check that the memory really comes back.
#[wasm_bindgen(js_name = heapBytes)]
pub fn heap_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// Entry point of the worker binary.
pub fn start() {
    console_error_panic_hook::set_once();
    if crate::decoders::is_decoder() {
        crate::decoders::start_decoder();
        return;
    }
    let worker = Rc::new(Worker {
        slices_on_gpu: decoders::setting("slices").as_deref() == Some("gpu"),
        ..Worker::default()
    });
    worker
        .keep_nothing
        .set(decoders::setting("cache").as_deref() == Some("off"));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if kind_of(&event.data()).as_deref() == Some("cancel") {
            worker.cancel.set(true);
            return;
        }
        worker.queue.borrow_mut().push_back(event.data());
        if !worker.busy.replace(true) {
            wasm_bindgen_futures::spawn_local(drain(worker.clone()));
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&Reply::Ready, vec![]);
}

/// Whether a queued message is a request of this kind (for coalescing).
fn kind_of(message: &JsValue) -> Option<String> {
    Reflect::get(message, &"msg".into())
        .ok()
        .and_then(|m| Reflect::get(&m, &"kind".into()).ok())
        .and_then(|k| k.as_string())
}

/// Runs queued requests in order. Only the newest of consecutive redraw or
/// cursor requests runs: the UI asks faster than a large volume redraws.
async fn drain(worker: Rc<Worker>) {
    loop {
        let message = {
            let mut queue = worker.queue.borrow_mut();
            let Some(mut message) = queue.pop_front() else {
                worker.busy.set(false);
                return;
            };
            let kind = kind_of(&message);
            while matches!(kind.as_deref(), Some("render" | "probe"))
                && queue.front().map(kind_of) == Some(kind.clone())
            {
                message = queue.pop_front().expect("checked");
            }
            message
        };
        handle(&worker, message).await;
    }
}

async fn handle(worker: &Worker, message: JsValue) {
    let request: Request = match Reflect::get(&message, &"msg".into())
        .map_err(|_| "no msg".to_owned())
        .and_then(|m| serde_wasm_bindgen::from_value(m).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            post(
                &Reply::Failed {
                    during: "reading a request".into(),
                    message: e,
                },
                vec![],
            );
            return;
        }
    };
    match request {
        Request::Open => {
            let files: Array = Reflect::get(&message, &"files".into())
                .map(JsCast::unchecked_into)
                .unwrap_or_default();
            let names: Option<Array> = Reflect::get(&message, &"names".into())
                .ok()
                .filter(|n| n.is_object())
                .map(JsCast::unchecked_into);
            let started = now_ms();
            worker.laps.borrow_mut().restart();
            worker.cancel.set(false);
            let Some(read) = read_files(&files, names.as_ref(), &worker.cancel).await else {
                cancelled(worker);
                return;
            };
            post(
                &Reply::Progress {
                    phase: "scanning".into(),
                    done: read.len(),
                    total: read.len(),
                },
                vec![],
            );
            // The new folder is loaded beside the open study, which stays
            // until the new one is ready: a cancel or a failure keeps it.
            worker.laps.borrow_mut().lap("read");
            let mut incoming = Study::default();
            let (scanned, first) = incoming.open(read);
            post(&scanned, vec![]);
            worker.laps.borrow_mut().lap("scan");
            let Some(index) = first else {
                post(
                    &Reply::Failed {
                        during: "opening".into(),
                        message: "no image series found in these files".into(),
                    },
                    vec![],
                );
                // Its skipped list says why; the open study stays loaded.
                return;
            };
            let previous = worker.study.replace(incoming);
            if load(worker, index, started).await != Loading::Loaded {
                worker.study.replace(previous);
                repost_scan(worker);
                if worker.cancel.get() {
                    cancelled(worker);
                }
            }
        }
        Request::LoadSeries { index } => {
            worker.laps.borrow_mut().restart();
            worker.cancel.set(false);
            if load(worker, index, now_ms()).await == Loading::Cancelled {
                cancelled(worker);
            }
        }
        Request::Cancel => {}
        Request::SetCache { keep } => worker.keep_nothing.set(!keep),
        Request::OpenCached { key } => open_cached(worker, key).await,
        Request::Demo => {
            let started = now_ms();
            post(
                &Reply::Progress {
                    phase: "building the demo spine".into(),
                    done: 0,
                    total: 0,
                },
                vec![],
            );
            let mut reply = worker.study.borrow_mut().demo(PhantomSize::DEMO);
            if let Reply::Loaded(summary) = &mut reply {
                summary.load_ms = now_ms() - started;
            }
            post(&reply, vec![]);
        }
        Request::Render { views } => render(worker, views).await,
        Request::Probe { axis, world } => post(&worker.study.borrow().probe(axis, world), vec![]),
        Request::Surface(request) => surface(worker, request).await,
        Request::Export { format } => match worker.study.borrow().export(&format) {
            Ok((file_name, mime, data)) => {
                post(&Reply::Exported { file_name, mime }, vec![bytes(&data)])
            }
            Err(failure) => post(&failure.into(), vec![]),
        },
        Request::VolumeTexture => post_volume_texture(worker),
        Request::Tags { series } => post(&worker.study.borrow().tags(series), vec![]),
    }
}

/// How a load ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loading {
    /// The volume is the study's; `Loaded` was posted.
    Loaded,
    /// It could not be built; `Failed` was posted.
    Failed,
    /// The user cancelled; the study's volume is unchanged.
    Cancelled,
}

// The study stays borrowed while decoder workers run: requests run one at a
// time (`drain`), and the message handler only touches the queue and the
// cancel flag.
#[allow(clippy::await_holding_refcell_ref)]
async fn load(worker: &Worker, index: usize, started: f64) -> Loading {
    post(
        &Reply::Progress {
            phase: "decoding".into(),
            done: 0,
            total: 0,
        },
        vec![],
    );
    // Posting is synchronous: the UI sees progress while decoding runs.
    let report = |done: usize, total: usize| {
        if done == total || done.is_multiple_of((total / 50).max(1)) {
            post(
                &Reply::Progress {
                    phase: "decoding".into(),
                    done,
                    total,
                },
                vec![],
            );
        }
    };
    let mut cache = if worker.keep_nothing.get() {
        "off".to_owned()
    } else {
        "miss".to_owned()
    };
    let key = if worker.keep_nothing.get() {
        None
    } else {
        let study = worker.study.borrow();
        study
            .scan()
            .and_then(|scan| scan.content_key(index, study.files()).ok())
    };
    worker.laps.borrow_mut().lap("content key");
    let store = match key {
        Some(_) => open_store(worker).await,
        None => None,
    };
    if key.is_some()
        && store.is_none()
        && let Some(Err(why)) = worker.store.borrow().as_ref()
    {
        cache = format!("unavailable: {why}");
    }
    if let (Some(key), Some(store)) = (&key, &store) {
        match cached_volume(store, key, &worker.laps).await {
            Ok(Some((volume, value_range, _))) => {
                if worker.cancel.get() {
                    return Loading::Cancelled;
                }
                let warnings = worker
                    .study
                    .borrow()
                    .scan()
                    .and_then(|scan| scan.series.get(index))
                    .map(|plan| plan.info.warnings.clone())
                    .unwrap_or_default();
                let built = Ok(insitu_volume::Loaded { volume, warnings });
                let mut reply =
                    worker
                        .study
                        .borrow_mut()
                        .take_loaded(index, built, Some(value_range));
                worker.laps.borrow_mut().lap("summary");
                worker.laps.borrow().log("cache hit");
                if let Reply::Loaded(summary) = &mut reply {
                    summary.load_ms = now_ms() - started;
                    summary.cache = "hit".into();
                    *worker.volume_key.borrow_mut() = Some(key.clone());
                }
                post(&reply, vec![]);
                return Loading::Loaded;
            }
            Ok(None) => worker.laps.borrow_mut().lap("cache lookup"),
            Err(StoreError::Corrupt(why)) => {
                // Never shown as if valid: dropped, decoded again, and said.
                web_sys::console::warn_1(&format!("insitu: cache entry dropped: {why}").into());
                let _ = store.delete_volume(key).await;
                cache = format!("rebuilt: {why}");
            }
            Err(e) => {
                // Not damage (the browser refused the read): decoded, and
                // the entry is left as it is.
                web_sys::console::warn_1(&format!("insitu: cache not read: {e}").into());
            }
        }
    }
    let (slices, voxels, decode_bound) = worker
        .study
        .borrow()
        .scan()
        .and_then(|scan| Some((scan.series.get(index)?, scan.is_decode_bound(index))))
        .map_or((0, 0, false), |(plan, bound)| {
            let voxels = plan.geometry.voxel_count();
            (plan.info.dims[2] as usize, voxels, bound)
        });
    let count = decoders::decoders_for(slices, voxels, decode_bound);
    let mut decoded_by = 0;
    let mut built = None;
    if count >= 2 {
        let study = worker.study.borrow();
        if let Some(scan) = study.scan() {
            match decoders::decode_in_parallel(
                scan,
                study.files(),
                index,
                count,
                &report,
                &worker.cancel,
            )
            .await
            {
                Parallel::Done(result) => {
                    built = Some(result);
                    decoded_by = count;
                }
                Parallel::Cancelled => return Loading::Cancelled,
                Parallel::Unavailable => {}
            }
        }
    }
    let built = match built {
        Some(built) => built,
        None => {
            let study = worker.study.borrow();
            let Some(scan) = study.scan() else {
                return Loading::Failed;
            };
            // Synchronous: a cancel sent meanwhile is seen when it is done.
            scan.build_with_progress(index, study.files(), &report)
        }
    };
    if worker.cancel.get() {
        return Loading::Cancelled;
    }
    worker.laps.borrow_mut().lap("decode");
    let mut reply = worker.study.borrow_mut().take_loaded(index, built, None);
    worker.laps.borrow_mut().lap("summary");
    let outcome = match &mut reply {
        Reply::Loaded(summary) => {
            summary.load_ms = now_ms() - started;
            summary.decoders = decoded_by;
            summary.cache = cache;
            Loading::Loaded
        }
        _ => Loading::Failed,
    };
    post(&reply, vec![]);
    *worker.volume_key.borrow_mut() = None;
    if let (Loading::Loaded, Some(key), Some(store)) = (outcome, key, store) {
        // After `Loaded`: the user sees the study while it is written.
        store_volume(worker, &store, &key, &reply).await;
        worker.laps.borrow_mut().lap("cache write");
    }
    worker.laps.borrow().log("load");
    outcome
}

/// Opens a cached volume with no files (the Recent list): it replaces the
/// open study only once it has been read and verified.
async fn open_cached(worker: &Worker, key: String) {
    let started = now_ms();
    worker.laps.borrow_mut().restart();
    let fail = |message: String| {
        post(
            &Reply::Failed {
                during: "opening from the cache".into(),
                message,
            },
            vec![],
        )
    };
    let Some(store) = open_store(worker).await else {
        return fail("the cache is off or unavailable".into());
    };
    match cached_volume(&store, &key, &worker.laps).await {
        Ok(Some((volume, value_range, modality))) => {
            let mut reply = worker
                .study
                .borrow_mut()
                .from_cache(volume, modality, value_range);
            worker.laps.borrow_mut().lap("summary");
            worker.laps.borrow().log("open from the cache");
            if let Reply::Loaded(summary) = &mut reply {
                summary.load_ms = now_ms() - started;
                summary.cache = "hit".into();
            }
            *worker.volume_key.borrow_mut() = Some(key);
            post(&reply, vec![]);
        }
        Ok(None) => fail("it is no longer in the cache".into()),
        Err(StoreError::Corrupt(why)) => {
            let _ = store.delete_volume(&key).await;
            fail(format!(
                "the cached copy was damaged and has been removed ({why})"
            ));
        }
        Err(e) => fail(format!("the browser could not read it ({e})")),
    }
}

/// The cache database, unless the user keeps nothing or IndexedDB refuses
/// (then the app works on without it, says why in the console, and keeps
/// the reason in `worker.store` for the load's status).
async fn open_store(worker: &Worker) -> Option<Rc<Store>> {
    if worker.keep_nothing.get() {
        return None;
    }
    // A failure is tried again next time: an older tab that blocked the
    // upgrade may have been closed since.
    if !matches!(worker.store.borrow().as_ref(), Some(Ok(_))) {
        let opened = Store::open(crate::cache::DATABASE)
            .await
            .map_err(|e| e.to_string());
        if let Err(e) = &opened {
            web_sys::console::warn_1(&format!("insitu: no cache: {e}").into());
        }
        *worker.store.borrow_mut() = Some(opened.map(Rc::new));
    }
    worker
        .store
        .borrow()
        .as_ref()
        .and_then(|s| s.as_ref().ok().cloned())
}

/// The cached volume of `key` (with its value range and modality code),
/// read straight into a new voxel buffer with every chunk's checksum
/// checked; `Corrupt` says what is damaged, `Idb` that it could not be read
/// (then it is left alone).
async fn cached_volume(
    store: &Store,
    key: &str,
    laps: &RefCell<Laps>,
) -> Result<Option<(insitu_volume::Volume, (f32, f32), &'static str)>, StoreError> {
    let Some(record) = store.volume_record(key).await? else {
        return Ok(None);
    };
    laps.borrow_mut().lap("cache record");
    let voxels = match record.voxel {
        insitu_store::VoxelKind::I16 => store.read_voxels(key, &record).await.map(Voxels::I16),
        insitu_store::VoxelKind::F32 => store.read_voxels(key, &record).await.map(Voxels::F32),
    }?;
    laps.borrow_mut().lap("cache voxels");
    let volume = crate::cache::volume_of(&record, voxels).map_err(StoreError::Corrupt)?;
    Ok(Some((volume, record.value_range, record.modality.code())))
}

/// Writes the loaded volume under `key` and tells the UI how it went.
// The study is read while the chunks are written: requests run one at a
// time (`drain`).
#[allow(clippy::await_holding_refcell_ref)]
async fn store_volume(worker: &Worker, store: &Store, key: &str, loaded: &Reply) {
    let Reply::Loaded(summary) = loaded else {
        return;
    };
    let result = {
        let study = worker.study.borrow();
        let Some(volume) = study.volume() else {
            return;
        };
        let record =
            crate::cache::record_of(volume, &summary.modality, summary.value_range, now_ms());
        store
            .put_volume(key, record, crate::cache::voxel_bytes(volume.voxels()))
            .await
    };
    let (state, note) = match result {
        Ok(()) => {
            *worker.volume_key.borrow_mut() = Some(key.to_owned());
            ("stored", String::new())
        }
        Err(e) if e.is_quota() => {
            let _ = store.delete_volume(key).await;
            (
                "failed",
                "the browser's storage for this app is full; working without the cache".to_owned(),
            )
        }
        Err(e) => {
            let _ = store.delete_volume(key).await;
            ("failed", e.to_string())
        }
    };
    post(
        &Reply::CacheUpdate {
            state: state.into(),
            note,
        },
        vec![],
    );
}

/// Tells the UI the load stopped and what is still open.
fn cancelled(worker: &Worker) {
    let still_open = worker.study.borrow().volume().is_some();
    post(&Reply::Cancelled { still_open }, vec![]);
}

/// Shows the open study's series again (after a new folder did not load).
fn repost_scan(worker: &Worker) {
    if let Some(scanned) = worker.study.borrow().scanned() {
        post(&scanned, vec![]);
    }
}

/// The reduced 8-bit volume for volume rendering (nothing without a volume).
fn post_volume_texture(worker: &Worker) {
    if let Some((dims, voxel_to_world, bytes_)) = worker.study.borrow().volume_texture(256) {
        post(
            &Reply::VolumeTexture {
                dims,
                voxel_to_world,
            },
            vec![bytes(&bytes_)],
        );
    }
}

/// Reads every `File` into memory, reporting progress. A file that cannot be
/// read becomes an empty buffer, which the scan then lists as skipped; a
/// large file whose first bytes show it is not DICOM (a CD's viewer
/// program, a video, a NumPy array) is not read past them.
async fn read_files(
    files: &Array,
    names: Option<&Array>,
    cancel: &Cell<bool>,
) -> Option<Vec<MemoryFile>> {
    // Files are read a batch at a time, each batch as one Blob.
    const BATCH: usize = 64;
    // Files above this size are looked at before they are read.
    const SNIFF_ABOVE: f64 = 1024.0 * 1024.0;
    let list: Vec<File> = (0..files.length())
        .map(|n| files.get(n).unchecked_into())
        .collect();
    let total = list.len();
    let heads = settled(list.iter().map(|file| {
        (file.size() > SNIFF_ABOVE)
            .then(|| file.slice_with_f64_and_f64(0.0, insitu_volume::DICOM_HEAD_BYTES as f64))
            .and_then(Result::ok)
            .map(|head| head.array_buffer())
    }))
    .await;
    let not_dicom: Vec<bool> = heads
        .iter()
        .map(|head| {
            head.as_deref()
                .is_some_and(|h| !insitu_volume::could_be_dicom(h))
        })
        .collect();
    let wanted: Vec<usize> = (0..total).filter(|&n| !not_dicom[n]).collect();
    let batches: Vec<&[usize]> = wanted.chunks(BATCH).collect();
    let start =
        |batch: &[usize]| BatchRead::start(batch.iter().map(|&n| list[n].clone()).collect());
    let mut data: Vec<Option<Vec<u8>>> = vec![None; total];
    // Two batches in flight: the browser reads the next one while this one
    // is copied into memory.
    let mut next = batches.first().map(|b| start(b));
    for (k, batch) in batches.iter().enumerate() {
        let current = next.take().expect("started before its turn");
        next = batches.get(k + 1).map(|b| start(b));
        for (&n, bytes) in batch.iter().zip(current.finish().await) {
            data[n] = bytes;
        }
        if cancel.get() {
            return None;
        }
        post(
            &Reply::Progress {
                phase: "reading".into(),
                done: total - wanted.len() + (k * BATCH + batch.len()),
                total,
            },
            vec![],
        );
    }
    let out = list
        .iter()
        .zip(heads)
        .zip(data)
        .enumerate()
        .map(|(n, ((file, head), data))| {
            let relative = Reflect::get(file, &"webkitRelativePath".into())
                .ok()
                .and_then(|p| p.as_string())
                .filter(|p| !p.is_empty());
            let dropped_path = names.and_then(|list| list.get(n as u32).as_string());
            let name = relative.or(dropped_path).unwrap_or_else(|| file.name());
            // Not DICOM: its head is enough for the scan to say so.
            let bytes = if not_dicom[n] { head } else { data };
            MemoryFile {
                name,
                bytes: bytes.unwrap_or_default(),
            }
        })
        .collect();
    Some(out)
}

/// A batch of files being read as one Blob (one read of many files is
/// faster than one read each).
struct BatchRead {
    files: Vec<File>,
    /// Under way from [`BatchRead::start`]; `None` when the batch is too
    /// large for one buffer.
    together: Option<JsFuture>,
}

impl BatchRead {
    /// Starts reading `files`.
    fn start(files: Vec<File>) -> Self {
        // Larger batches (big multi-frame files) are read file by file.
        const MOST_AT_ONCE: f64 = 256.0 * 1024.0 * 1024.0;
        let total: f64 = files.iter().map(|f| f.size()).sum();
        let parts: Array = files.iter().collect();
        let together = web_sys::Blob::new_with_blob_sequence(&parts)
            .ok()
            .filter(|_| total <= MOST_AT_ONCE)
            .map(|blob| JsFuture::from(blob.array_buffer()));
        Self { files, together }
    }

    /// Each file's bytes; if the read together failed, each file is read on
    /// its own, so that only the unreadable ones come back `None`.
    async fn finish(self) -> Vec<Option<Vec<u8>>> {
        let total: f64 = self.files.iter().map(|f| f.size()).sum();
        if let Some(read) = self.together
            && let Ok(buffer) = read.await
            && let Ok(buffer) = buffer.dyn_into::<js_sys::ArrayBuffer>()
            // A file changed on disk since it was listed: read each again.
            && f64::from(buffer.byte_length()) == total
        {
            let mut at = 0.0;
            return self
                .files
                .iter()
                .map(|file| {
                    let part = Uint8Array::new_with_byte_offset_and_length(
                        &buffer,
                        at as u32,
                        file.size() as u32,
                    );
                    at += file.size();
                    Some(part.to_vec())
                })
                .collect();
        }
        settled(self.files.iter().map(|file| Some(file.array_buffer()))).await
    }
}

/// Awaits every read at once; each gives its bytes, or `None` when it was
/// not asked for or failed.
async fn settled(reads: impl Iterator<Item = Option<js_sys::Promise>>) -> Vec<Option<Vec<u8>>> {
    let asked = Array::new();
    let wanted: Vec<bool> = reads
        .map(|read| {
            let wanted = read.is_some();
            asked.push(&read.map_or(JsValue::UNDEFINED, JsValue::from));
            wanted
        })
        .collect();
    let results: Array = JsFuture::from(js_sys::Promise::all_settled(&asked))
        .await
        .map(JsCast::unchecked_into)
        .unwrap_or_default();
    wanted
        .iter()
        .enumerate()
        .map(|(i, &wanted)| {
            let value = Reflect::get(&results.get(i as u32), &"value".into()).ok()?;
            (wanted && value.is_instance_of::<js_sys::ArrayBuffer>())
                .then(|| Uint8Array::new(&value).to_vec())
        })
        .collect()
}

async fn device(worker: &Worker) -> Device {
    if let Some(device) = worker.device.borrow().clone() {
        return device;
    }
    let made = match GpuContext::headless().await {
        Ok(ctx) => Ok(Rc::new(ctx)),
        Err(webgpu) => GpuContext::offscreen_webgl()
            .await
            .map(Rc::new)
            .map_err(|webgl| format!("no WebGPU ({webgpu}) and no WebGL2 ({webgl})")),
    };
    *worker.device.borrow_mut() = Some(made.clone());
    made
}

fn marching(worker: &Worker, ctx: &GpuContext) -> Built<GpuMarchingCubes> {
    if let Some(mc) = worker.marching.borrow().clone() {
        return mc;
    }
    let made = Rc::new(if ctx.has_compute() {
        GpuMarchingCubes::new(ctx).map_err(|e| e.to_string())
    } else {
        Err(format!("{} has no compute shaders", ctx.summary))
    });
    *worker.marching.borrow_mut() = Some(made.clone());
    made
}

/// The loaded volume on the GPU, uploaded once per volume (the previous
/// one's texture is freed first).
fn slice_renderer(worker: &Worker, ctx: &GpuContext) -> Built<SliceRenderer> {
    let generation = worker.study.borrow().volume_generation();
    if let Some((uploaded, renderer)) = worker.slices.borrow().as_ref()
        && *uploaded == generation
    {
        return renderer.clone();
    }
    *worker.slices.borrow_mut() = None;
    let made = Rc::new(match worker.study.borrow().volume() {
        Some(volume) => SliceRenderer::new(ctx, volume).map_err(|e| e.to_string()),
        None => Err("no volume is loaded".into()),
    });
    *worker.slices.borrow_mut() = Some((generation, made.clone()));
    made
}

/// Draws the 2D views: resliced on the GPU from the volume texture, or on
/// the CPU when there is no GPU or the volume does not fit it (the reply
/// says which, and why).
async fn render(worker: &Worker, views: Vec<ViewRequest>) {
    if worker.study.borrow().volume().is_none() {
        post(
            &Reply::Failed {
                during: "drawing".into(),
                message: "no volume is loaded".into(),
            },
            vec![],
        );
        return;
    }
    // The first drawing of a volume (which uploads it to the GPU) is timed.
    let generation = worker.study.borrow().volume_generation();
    let first = worker.drawn_generation.replace(generation) != generation;
    let mut laps = Laps::default();
    laps.restart();
    let (gpu_images, engine, engine_detail) = match device(worker).await {
        // As for marching cubes: a software rasterizer reslices far slower
        // than the CPU (measured: 0.65 s against 13 ms for the first three
        // views of a 512²×300 volume on SwiftShader).
        Ok(ctx) if ctx.summary.is_software() && !worker.slices_on_gpu => (
            None,
            "CPU".into(),
            format!(
                "the GPU ({}) is a software rasterizer: the CPU reslices faster",
                ctx.summary.name
            ),
        ),
        Ok(ctx) => match slice_renderer(worker, &ctx).as_ref() {
            Ok(renderer) => {
                laps.lap("upload");
                let slices: Vec<SliceView> = views
                    .iter()
                    .map(|v| SliceView {
                        plane: v.plane.into(),
                        window: v.window,
                        level: v.level,
                    })
                    .collect();
                match renderer.render(&ctx, &slices).await {
                    Ok(images) => (
                        Some(images),
                        format!("GPU · {}", ctx.summary.backend_name()),
                        ctx.summary.to_string(),
                    ),
                    Err(e) => (None, "CPU".into(), format!("GPU drawing failed: {e}")),
                }
            }
            Err(e) => (None, "CPU".into(), e.clone()),
        },
        Err(e) => (None, "CPU".into(), e),
    };
    let images = match gpu_images {
        Some(images) => Ok(images),
        None => worker.study.borrow().render(&views),
    };
    laps.lap("draw");
    if first {
        laps.log("first 2D views");
    }
    match images {
        Ok(images) => post(
            &Reply::Rendered {
                views,
                engine,
                engine_detail,
            },
            images.iter().map(|i| bytes(i)).collect(),
        ),
        Err(failure) => post(&failure.into(), vec![]),
    }
}

// The study stays borrowed across the GPU readback: requests run strictly one
// at a time (`drain`), and the message handler only touches the queue.
#[allow(clippy::await_holding_refcell_ref)]
async fn surface(worker: &Worker, request: SurfaceRequest) {
    if worker.study.borrow().volume().is_none() {
        post(
            &Reply::Failed {
                during: "making a surface".into(),
                message: "open a study first".into(),
            },
            vec![],
        );
        return;
    }
    post(
        &Reply::Progress {
            phase: "meshing".into(),
            done: 0,
            total: 0,
        },
        vec![],
    );
    // The same surface of the same volume was made before: no marching cubes
    // (unless the user chose where it must run).
    let volume_key = worker
        .volume_key
        .borrow()
        .clone()
        .filter(|_| request.engine == Engine::Auto);
    worker.laps.borrow_mut().restart();
    let cached = match (volume_key, open_store(worker).await) {
        (Some(key), Some(store)) => {
            let options = crate::cache::mesh_options(&request);
            match store.mesh(&key, &options).await {
                Ok(found) => found,
                Err(e) => {
                    web_sys::console::warn_1(
                        &format!("insitu: cached surface dropped: {e}").into(),
                    );
                    None
                }
            }
        }
        _ => None,
    };
    worker.laps.borrow_mut().lap("cache read");
    if let Some((record, positions, normals, indices)) = cached {
        let mesh = crate::cache::mesh_of(&positions, &normals, &indices);
        let when = js_sys::Date::new(&record.cached_at_ms.into());
        let engine = format!(
            "the cache on this computer (made {})",
            String::from(when.to_locale_date_string("en-GB", &JsValue::UNDEFINED))
        );
        let summary =
            worker
                .study
                .borrow_mut()
                .keep_surface(mesh, request, engine, 0.0, record.watertight);
        worker.laps.borrow_mut().lap("summary");
        post(
            &Reply::Surface(summary),
            vec![floats(&positions), floats(&normals), words(&indices)],
        );
        worker.laps.borrow_mut().lap("post");
        worker.laps.borrow().log("surface from the cache");
        return;
    }
    let options = SurfaceOptions {
        iso: request.iso,
        close_borders: true,
    };
    let gpu = if request.engine == Engine::Cpu {
        None
    } else {
        Some(
            device(worker)
                .await
                .and_then(|ctx| match marching(worker, &ctx).as_ref() {
                    Ok(_) => Ok(ctx),
                    Err(e) => Err(e.clone()),
                }),
        )
    };
    let started = now_ms();
    let (mesh, engine) = {
        // Requests run one at a time, so holding the study across the GPU
        // readback is safe; the volume is never copied.
        let study = worker.study.borrow();
        let volume = study.volume().expect("checked above");
        let mut why_cpu = "CPU (chosen)".to_owned();
        let mut outcome = None;
        match &gpu {
            Some(Ok(ctx)) if ctx.summary.is_software() && request.engine == Engine::Auto => {
                why_cpu = format!(
                    "CPU (the GPU, {}, is a software rasterizer: slower than the CPU path)",
                    ctx.summary.name
                );
            }
            Some(Ok(ctx)) => match marching(worker, ctx)
                .as_ref()
                .as_ref()
                .expect("checked when the device was chosen")
                .extract(ctx, volume, options, None)
                .await
            {
                Ok((mesh, _)) => outcome = Some((mesh, format!("GPU ({})", ctx.summary))),
                Err(e) => why_cpu = format!("CPU fallback (GPU failed: {e})"),
            },
            Some(Err(e)) => {
                web_sys::console::info_1(
                    &format!("insitu: no GPU compute in the worker: {e}").into(),
                );
                why_cpu = "CPU fallback (no WebGPU compute in this browser)".into();
            }
            None => {}
        }
        outcome.unwrap_or_else(|| (extract_surface(volume, options), why_cpu))
    };
    let extract_ms = now_ms() - started;
    let cleanup_started = now_ms();
    let mut summary = worker
        .study
        .borrow_mut()
        .finish_surface(mesh, request, engine, extract_ms);
    summary.cleanup_ms = now_ms() - cleanup_started;
    let study = worker.study.borrow();
    let mesh = study.mesh().expect("just stored");
    let positions: Vec<f32> = mesh.positions.iter().flat_map(|p| p.to_array()).collect();
    let normals: Vec<f32> = mesh.normals.iter().flat_map(|n| n.to_array()).collect();
    let indices: Vec<u32> = mesh.triangles.iter().flatten().copied().collect();
    let record = insitu_store::MeshRecord {
        schema: insitu_store::SCHEMA_VERSION,
        options: crate::cache::mesh_options(&summary.request),
        triangles: summary.triangles,
        vertices: summary.vertices,
        watertight: summary.watertight,
        hash: String::new(),
        cached_at_ms: now_ms(),
    };
    drop(study);
    post(
        &Reply::Surface(summary),
        vec![floats(&positions), floats(&normals), words(&indices)],
    );
    let volume_key = worker.volume_key.borrow().clone();
    if let (Some(key), Some(store)) = (volume_key, open_store(worker).await)
        && let Err(e) = store
            .put_mesh(&key, record, &positions, &normals, &indices)
            .await
    {
        web_sys::console::warn_1(&format!("insitu: surface not cached: {e}").into());
    }
}
