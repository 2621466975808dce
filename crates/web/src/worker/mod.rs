//! The study worker: receives [`Request`]s, runs them on the study one at a
//! time ([`crate::queue`]), and posts [`Reply`]s with their buffers transferred.
//! Reading, decoding, reslicing and meshing all happen here, off the UI
//! thread. Each job has its module: [`files`] (the dropped files), [`load`],
//! [`cache`], [`gpu`], [`views`] (2D), [`surface`]. No `RefCell` borrow is
//! held across an `await`: asynchronous steps hold `Rc` handles instead.

mod cache;
pub mod files;
mod gpu;
mod later;
mod load;
mod measure;
mod segments;
mod spine;
mod surface;
mod views;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::arrivals::Arrivals;
use crate::decoders;
use crate::envelope::{self, Attachments, Target};
use crate::laps::Laps;
use crate::protocol::{Failure, Reply, Request, Task};
use crate::queue::Queue;
use crate::study::{self, Study};
use files::DroppedFiles;

/// Everything the worker holds. Separate cells: the message handler
/// touches only the queue and the cancel flag.
struct Worker {
    study: RefCell<Study>,
    /// The open folder's files (`File` handles, never their bytes).
    files: RefCell<Option<Rc<DroppedFiles>>>,
    queue: RefCell<Queue<Attachments>>,
    busy: Cell<bool>,
    /// Set by a `Cancel`, which jumps the queue: a load checks it whenever
    /// it yields (between batches of files, between decoder replies) and
    /// drops what it had begun.
    cancel: Cell<bool>,
    gpu: gpu::Gpu,
    cache: cache::Cache,
    /// Where the request in progress spends its time.
    laps: RefCell<Laps>,
    /// Reslice on the GPU even when it is a software rasterizer (tests).
    slices_on_gpu: bool,
    /// The volume generation the 2D views were last drawn from.
    drawn_generation: Cell<u64>,
    /// The first views drawn of a volume, kept with it when it is cached.
    opening: RefCell<Option<views::Opening>>,
    /// Cache writes waiting for the worker to be idle.
    later: RefCell<later::Deferred>,
    /// Ends the quiet wait before a deferred write when a request comes.
    wake: RefCell<Option<js_sys::Function>>,
    /// Files of an opening sent after its first message, each part with
    /// the folder's count of files as the page then knew it.
    arrivals: RefCell<Arrivals<(Attachments, Option<usize>)>>,
    /// Ends a scan's wait for them (also called on a cancel).
    arrived: RefCell<Option<js_sys::Function>>,
    /// The scan and files of a series too large to load, kept until the
    /// user picks a reduced load or opens something else.
    too_large: RefCell<Option<(Rc<insitu_volume::Scan>, Rc<DroppedFiles>)>>,
}

impl Worker {
    /// Tells the UI the load stopped and what is still open.
    fn cancelled(&self) {
        let still_open = self.study.borrow().volume().is_some();
        post(&Reply::Cancelled { still_open }, Attachments::default());
    }

    /// Keeps the segments and measurements in the cache once idle.
    fn keep_segments_later(&self) {
        let generation = self.study.borrow().volume_generation();
        self.later
            .borrow_mut()
            .push(later::Later::Segments { generation });
    }
}

/// Between the steps of a long task (a surface, the spine analysis): lets
/// messages in, then serves the redraws and readouts waiting at the front
/// of the queue, so the 2D views follow the user meanwhile.
async fn serve_waiting_views(worker: &Worker) {
    serve_waiting(worker, Queue::take_next_view).await;
}

/// Between the steps of work beside the open study (checking its files):
/// lets messages in, then serves every waiting request until one would
/// replace the study; `false` then (the work should stop for it).
async fn serve_beside_the_study(worker: &Worker) -> bool {
    serve_waiting(worker, Queue::take_next_beside_the_study).await;
    !worker.queue.borrow().study_replaced_next()
}

/// Lets messages in, then serves the waiting requests `take` gives, in
/// order, until it gives none.
async fn serve_waiting(
    worker: &Worker,
    take: fn(&mut Queue<Attachments>) -> Option<(Request, Attachments)>,
) {
    // A message to ourselves, not `setTimeout(0)`: browsers hold a timer
    // set from a timer's callback at least 4 ms, and a long task yields
    // here between each of its steps (63 times in a spine analysis: 245 ms).
    crate::dom::next_task().await;
    loop {
        let next = take(&mut worker.queue.borrow_mut());
        let Some((request, attachments)) = next else {
            return;
        };
        // Boxed: `handle` may be what is running this long task.
        let served: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>> =
            Box::pin(handle(worker, request, attachments));
        served.await;
    }
}

/// Resolves after `ms` milliseconds, letting messages in meanwhile; with
/// `wake`, also as soon as a request comes (the message handler calls it).
pub(crate) async fn sleep(ms: i32, wake: Option<&RefCell<Option<js_sys::Function>>>) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        if let Some(wake) = wake {
            *wake.borrow_mut() = Some(resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    if let Some(wake) = wake {
        wake.borrow_mut().take();
    }
}

/// [`sleep`] woken by a request, unless one came already: the message
/// handler wakes only a sleep begun before the request arrived (a request
/// that came during an earlier await, e.g. while a cached volume's
/// segments were read, left the first views of a re-dropped folder
/// waiting out the whole 100 ms).
async fn wait_for_a_request(worker: &Worker, ms: i32) {
    if worker.queue.borrow().is_empty() {
        sleep(ms, Some(&worker.wake)).await;
    }
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Posts `reply` to the UI thread, its buffers transferred.
pub(crate) fn post(reply: &Reply, attachments: Attachments) {
    envelope::post(Target::Parent(&scope()), reply, attachments);
}

fn fail(during: Task, error: Failure) {
    post(&Reply::Failed { during, error }, Attachments::default());
}

/// A mesh's arrays for the UI (copied once, out of wasm memory):
/// positions and normals (f32 xyz), indices (u32).
fn mesh_attachments(mesh: &insitu_mesh::Mesh) -> Attachments {
    let (positions, normals, indices) = mesh.flat();
    Attachments::buffers([
        js_sys::Float32Array::from(positions).into(),
        js_sys::Float32Array::from(normals).into(),
        js_sys::Uint32Array::from(indices).into(),
    ])
}

/// The arrays of `mesh`'s lighter copies (what drag frames draw on a slow
/// GPU), three per tier of at most `tiers` triangles each, heaviest first;
/// empty arrays for a tier the mesh is no larger than (dragged whole), and
/// none at all when that holds for every tier. Each tier is made from the
/// last: a quarter of the vertices to cluster.
fn drag_copy_attachments(mesh: &insitu_mesh::Mesh, tiers: &[usize]) -> Attachments {
    let mut buffers = Vec::with_capacity(3 * tiers.len());
    let mut lightest: Option<insitu_mesh::Mesh> = None;
    for &most in tiers {
        let copy = insitu_mesh::preview::preview(lightest.as_ref().unwrap_or(mesh), most);
        let arrays = mesh_attachments(copy.as_ref().unwrap_or(&insitu_mesh::Mesh::default()));
        buffers.extend(arrays.buffers.iter());
        if copy.is_some() {
            lightest = copy;
        }
    }
    if lightest.is_none() {
        return Attachments::default();
    }
    Attachments::buffers(buffers)
}

/// A file written piece by piece out of wasm memory into Blobs, here on
/// the worker's thread: a large export never needs a second copy in the
/// heap, and the UI only saves the Blob. (The UI used to build it from the
/// pieces, and for a 190 MB STL that held its thread 2.5 s.)
#[derive(Default)]
pub struct BlobParts(js_sys::Array);

impl std::io::Write for &mut BlobParts {
    fn write(&mut self, piece: &[u8]) -> std::io::Result<usize> {
        let bytes = js_sys::Array::of1(&js_sys::Uint8Array::from(piece));
        let blob = web_sys::Blob::new_with_u8_array_sequence(&bytes)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        self.0.push(&blob);
        Ok(piece.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Posts `file`, written into `parts`, as one Blob of its type.
fn post_export(file: crate::protocol::ExportFile, parts: BlobParts) {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(file.mime());
    match web_sys::Blob::new_with_blob_sequence_and_options(&parts.0, &options) {
        Ok(blob) => post(
            &Reply::Exported { file },
            Attachments::files(js_sys::Array::of1(&blob), None),
        ),
        Err(e) => fail(
            Task::Exporting,
            Failure::Write(format!("the browser did not make the file: {e:?}")),
        ),
    }
}

/// Posts `file` from its bytes (see [`post_export`]).
fn post_export_bytes(file: crate::protocol::ExportFile, bytes: &[u8]) {
    let mut parts = BlobParts::default();
    match std::io::Write::write_all(&mut &mut parts, bytes) {
        Ok(()) => post_export(file, parts),
        Err(e) => fail(Task::Exporting, Failure::Write(e.to_string())),
    }
}

/// Bytes of this worker's wasm heap: what the open study costs in memory.
/// A wasm heap never shrinks, so closing a study ends the worker; the
/// end-to-end tests and the benchmark read this.
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
    if decoders::is_decoder() {
        decoders::start_decoder();
        return;
    }
    let worker = Rc::new(Worker {
        study: RefCell::default(),
        files: RefCell::default(),
        queue: RefCell::default(),
        busy: Cell::new(false),
        cancel: Cell::new(false),
        gpu: gpu::Gpu::default(),
        cache: cache::Cache::new(decoders::setting("cache").as_deref() == Some("off")),
        laps: RefCell::default(),
        slices_on_gpu: decoders::setting("slices").as_deref() == Some("gpu"),
        drawn_generation: Cell::new(0),
        opening: RefCell::default(),
        later: RefCell::default(),
        wake: RefCell::default(),
        arrivals: RefCell::default(),
        arrived: RefCell::default(),
        too_large: RefCell::default(),
    });
    // The device is made while the user picks files, not after the load.
    let warming = worker.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = warming.gpu.device().await;
    });
    // So is the cache's database opened: a folder dropped again is looked
    // up in it as its first files come.
    let opening = worker.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = opening.cache.store().await;
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let (request, attachments) = match envelope::open::<Request>(&event.data()) {
            Ok(opened) => opened,
            Err(e) => return fail(Task::ReadingARequest, Failure::BadRequest(e)),
        };
        if let Request::MoreFiles {
            opening,
            files_in_all,
        } = request
        {
            worker
                .arrivals
                .borrow_mut()
                .push(opening, (attachments, files_in_all));
            if let Some(wake) = worker.arrived.borrow_mut().take() {
                let _ = wake.call0(&JsValue::NULL);
            }
            return;
        }
        // The load under way waits for its decoders: these jump the queue.
        match request {
            Request::DecoderStarted { pool, decoder } => {
                return decoders::decoder_started(pool, decoder, attachments.buffers.get(0));
            }
            Request::DecoderFailed { pool, decoder, why } => {
                return decoders::decoder_failed(pool, decoder, why);
            }
            _ => {}
        }
        if request == Request::Cancel {
            worker.cancel.set(true);
            // A scan waiting for its files stops waiting.
            if let Some(wake) = worker.arrived.borrow_mut().take() {
                let _ = wake.call0(&JsValue::NULL);
            }
            // A load still waiting its turn goes now: it would clear the
            // cancel as it started.
            if worker.queue.borrow_mut().drop_cancellable() > 0 {
                worker.cancelled();
            }
            return;
        }
        worker.queue.borrow_mut().push(request, attachments);
        if let Some(wake) = worker.wake.borrow_mut().take() {
            let _ = wake.call0(&JsValue::NULL);
        }
        if !worker.busy.replace(true) {
            wasm_bindgen_futures::spawn_local(drain(worker.clone()));
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&Reply::Ready, Attachments::default());
}

/// Runs queued requests in order, one at a time; when none has come for
/// a moment, the deferred cache writes.
async fn drain(worker: Rc<Worker>) {
    loop {
        let next = worker.queue.borrow_mut().take_next();
        if let Some((request, attachments)) = next {
            handle(&worker, request, attachments).await;
            continue;
        }
        if worker.later.borrow().is_empty() {
            worker.busy.set(false);
            return;
        }
        sleep(later::QUIET_MS, Some(&worker.wake)).await;
        if !worker.queue.borrow().is_empty() {
            continue;
        }
        let job = worker.later.borrow_mut().take_next();
        if let Some(job) = job {
            later::run(&worker, job).await;
        }
    }
}

async fn handle(worker: &Worker, request: Request, attachments: Attachments) {
    match request {
        Request::Open {
            chosen_at_ms,
            opening,
            files_in_all,
        } => {
            let first = DroppedFiles::new(&attachments);
            let in_all = files_in_all.unwrap_or(first.len());
            load::open(worker, first, in_all, opening, chosen_at_ms).await;
        }
        // Taken as they arrive, never queued.
        Request::MoreFiles { .. }
        | Request::DecoderStarted { .. }
        | Request::DecoderFailed { .. } => {}
        Request::LoadSeries { index } => load::load_series(worker, index).await,
        Request::LoadReduced { index, reduction } => {
            load::load_reduced(worker, index, reduction).await
        }
        Request::OpenCached { key, clicked_at_ms } => {
            load::open_cached(worker, key, clicked_at_ms).await
        }
        Request::Demo { variant } => load::demo(worker, variant).await,
        Request::FindSpine { if_unlabelled } => spine::find(worker, if_unlabelled).await,
        Request::ShiftLevels { by } => spine::shift(worker, by),
        Request::ReviseSpine(revision) => spine::revise(worker, revision),
        Request::SplitVertebraAlong { origin, direction } => {
            spine::split_along(worker, origin, direction)
        }
        Request::Measure { shape } => measure::add(worker, shape),
        Request::Unmeasure { id } => measure::remove(worker, id),
        Request::ExportMeasurements(format) => measure::export(worker, format),
        Request::ExportSpine(format) => spine::export(worker, format),
        Request::Cancel => {}
        Request::SetCache { keep } => worker.cache.set_keep(keep),
        Request::Render { views, overlay } => views::render(worker, views, overlay).await,
        Request::Probe { axis, world } => {
            let reply = worker.study.borrow().probe(axis, world);
            post(&reply, Attachments::default());
        }
        Request::Surface(options) => surface::surface(worker, options).await,
        Request::Edit(edit) => segments::edit(worker, edit),
        Request::ToolAt { world, tool } => segments::tool_at(worker, world, tool),
        Request::Pick {
            origin,
            direction,
            tool,
        } => segments::pick_at(worker, origin, direction, tool),
        Request::SegmentSurfaces => segments::surfaces(worker).await,
        Request::ExportSegments(what) => segments::export(worker, what),
        Request::Export { format } => {
            let mut laps = Laps::default();
            laps.restart();
            let mut parts = BlobParts::default();
            let exported = worker.study.borrow().export(
                format,
                std::io::BufWriter::with_capacity(4 << 20, &mut parts),
            );
            laps.lap("written");
            match exported {
                Ok(()) => post_export(crate::protocol::ExportFile::Surface(format), parts),
                Err(e) => fail(Task::Exporting, e),
            }
            laps.lap("posted");
            laps.log("export");
        }
        Request::VolumeTexture { max_side } => volume_texture(worker, max_side),
        Request::Tags { series } => tags(worker, series).await,
    }
}

/// Texel slices a message carries: about 8 MB of half floats.
const TEXELS_PER_MESSAGE: usize = 4 << 20;

/// Sends the grid volume rendering samples, a few slices at a time, each
/// filled into one reused buffer and copied once into the message's own.
fn volume_texture(worker: &Worker, max_side: u32) {
    let Some((volume, grid)) = worker.study.borrow().render_grid(max_side) else {
        return;
    };
    post(
        &Reply::VolumeTexture {
            dims: grid.dims,
            from_dims: grid.from_dims,
            voxel_to_world: grid.voxel_to_world,
        },
        Attachments::default(),
    );
    let per_slice = grid.slice_texels().max(1);
    let slices_per_message = (TEXELS_PER_MESSAGE / per_slice).max(1) as u32;
    let mut buffer = vec![0u16; per_slice * slices_per_message as usize];
    let mut first = 0;
    while first < grid.dims[2] {
        let slices = slices_per_message.min(grid.dims[2] - first);
        let texels = &mut buffer[..per_slice * slices as usize];
        grid.fill(&volume, first, texels);
        post(
            &Reply::VolumeSlices {
                first_slice: first,
                last: first + slices == grid.dims[2],
            },
            Attachments::buffers([js_sys::Uint16Array::from(&texels[..]).into()]),
        );
        first += slices;
    }
}

/// The tag browser's rows for a series: its first file is read again from
/// its `File` handle (memory only, never persisted).
async fn tags(worker: &Worker, series: usize) {
    let file = worker.study.borrow().first_file_of(series);
    let files = worker.files.borrow().clone();
    let (file, files) = match (file, files) {
        (Ok(file), Some(files)) => (file, files),
        (Err(e), _) => return fail(Task::ReadingTags, e),
        (Ok(_), None) => return fail(Task::ReadingTags, Failure::NoFolder),
    };
    match files.read(file).await {
        Some(read) => post(
            &study::tags(series, &read.name, &read.bytes),
            Attachments::default(),
        ),
        None => fail(
            Task::ReadingTags,
            Failure::File(insitu_volume::FileError::new(
                files.name(file),
                insitu_volume::Problem::Io("the browser could not read it again".into()),
            )),
        ),
    }
}
