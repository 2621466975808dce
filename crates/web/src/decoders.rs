//! Decoding one series on several workers at once. The study worker splits
//! the series into jobs of whole files of at most [`JOB_BYTES`] of samples
//! ([`Scan::decode_rounds`]), starts the decoder workers (the same wasm
//! binary, told apart by its worker name) and hands them the jobs in turn
//! with their files' `File` handles: each decoder reads its own files, so
//! their bytes never pass through the study worker. The samples that come
//! back are copied straight into the volume buffer, and the decoder gets
//! its next job. A decoder's heap holds one job at a time, so a
//! whole-spine series is never held twice; the decoders end with the load,
//! so their heaps are given back at once.

use insitu_volume::{BuildError, DecodeJob, JobOutcome, Loaded, MemoryFile, Scan, Voxels, run_job};
use js_sys::{Float32Array, Int16Array, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, File, MessageEvent, Worker, WorkerOptions};

use crate::envelope::{self, Attachments, Target};
use crate::protocol::{DecoderReply, DecoderRequest};
use crate::worker::files::DroppedFiles;

/// Name prefix that makes the worker binary run as a decoder.
pub const DECODER_NAME: &str = "insitu-decoder";

/// Whether this worker was started as a decoder.
pub fn is_decoder() -> bool {
    js_sys::global()
        .dyn_into::<DedicatedWorkerGlobalScope>()
        .is_ok_and(|scope| scope.name().starts_with(DECODER_NAME))
}

/// How many decoders a series is worth: none when it is not decode-bound
/// (uncompressed) or small (under 8 M voxels, where starting workers costs
/// more than it saves), else one per core, at most four, at least eight
/// slices each; fewer than two means decoding right here. `decoders=N` in
/// the study worker's name (from the page address) sets the number for a
/// decode-bound series instead: tests and the benchmark compare both ways.
pub fn decoders_for(slices: usize, voxels: usize, decode_bound: bool) -> usize {
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
        return 0;
    };
    if !decode_bound {
        return 0;
    }
    if let Some(n) = setting("decoders").and_then(|n| n.parse::<usize>().ok()) {
        return n.min(slices);
    }
    if voxels < 8 << 20 {
        return 0;
    }
    let cores = scope.navigator().hardware_concurrency() as usize;
    cores.clamp(1, 4).min(slices / 8)
}

/// Most bytes of samples one decoder job holds (32 slices of 512²). A
/// series of 2,500 such slices had been cut into one job per decoder:
/// 330 MB in each decoder's heap and again as the array sent back, beside
/// the 1.3 GB volume. `job-kb=N` in the study worker's name sets it
/// instead (the end-to-end test runs many rounds on a small series).
pub const JOB_BYTES: usize = 16 << 20;

/// A setting the page gave the study worker in its name
/// (`insitu-study;decoders=2;cache=off`).
pub fn setting(key: &str) -> Option<String> {
    let scope = js_sys::global()
        .dyn_into::<DedicatedWorkerGlobalScope>()
        .ok()?;
    scope.name().split(';').find_map(|pair| {
        pair.split_once('=')
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.to_owned())
    })
}

/// Spare buffers a decoder keeps at most (see [`SPARE`]).
const SPARE_BUFFERS: usize = 2;

thread_local! {
    /// Buffers of samples the study worker sent back
    /// ([`DecoderRequest::Recycle`]), for the next replies.
    static SPARE: std::cell::RefCell<Vec<js_sys::ArrayBuffer>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Entry point of a decoder: answers each job with its samples.
pub fn start_decoder() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        let data = event.data();
        let (request, attachments): (DecoderRequest, Attachments) = match envelope::open(&data) {
            Ok(opened) => opened,
            Err(e) => {
                // The study worker sent it: a bug, answered as a job whose
                // samples are missing, so the study worker decodes the
                // series itself rather than wait.
                web_sys::console::error_1(&format!("insitu decoder: bad request: {e}").into());
                let reply = DecoderReply::Decoded {
                    outcome: JobOutcome::default(),
                    heap_bytes: crate::worker::heap_bytes(),
                };
                post(
                    &reply,
                    Attachments::buffers([Int16Array::new_with_length(0).into()]),
                );
                return;
            }
        };
        match request {
            DecoderRequest::Recycle => {
                if let Ok(buffer) = attachments.buffers.get(0).dyn_into::<js_sys::ArrayBuffer>() {
                    SPARE.with_borrow_mut(|spare| {
                        // A reply in flight and one being made need two.
                        if spare.len() >= SPARE_BUFFERS {
                            spare.remove(0);
                        }
                        spare.push(buffer);
                    });
                }
            }
            DecoderRequest::Decode { job } => wasm_bindgen_futures::spawn_local(async move {
                let (outcome, samples) = decode(&job, attachments).await;
                let reply = DecoderReply::Decoded {
                    outcome,
                    heap_bytes: crate::worker::heap_bytes(),
                };
                post(&reply, Attachments::buffers([samples_out(&samples)]));
            }),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&DecoderReply::Ready, Attachments::default());
}

/// `samples` as a typed array to transfer: in a spare buffer large enough,
/// else a new one.
fn samples_out(samples: &Voxels) -> JsValue {
    let bytes = match samples {
        Voxels::I16(v) => v.len() * 2,
        Voxels::F32(v) => v.len() * 4,
    };
    let spare = SPARE.with_borrow_mut(|spare| {
        let at = spare
            .iter()
            .position(|b| b.byte_length() as usize >= bytes)?;
        Some(spare.swap_remove(at))
    });
    match (samples, spare) {
        (Voxels::I16(v), Some(buffer)) => {
            let out = Int16Array::new_with_byte_offset_and_length(&buffer, 0, v.len() as u32);
            out.copy_from(v);
            out.into()
        }
        (Voxels::F32(v), Some(buffer)) => {
            let out = Float32Array::new_with_byte_offset_and_length(&buffer, 0, v.len() as u32);
            out.copy_from(v);
            out.into()
        }
        (Voxels::I16(v), None) => Int16Array::from(v.as_slice()).into(),
        (Voxels::F32(v), None) => Float32Array::from(v.as_slice()).into(),
    }
}

fn post(reply: &DecoderReply, attachments: Attachments) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    envelope::post(Target::Parent(&scope), reply, attachments);
}

/// Runs one job: reads its files (handles attached, in job order), decodes.
async fn decode(job: &DecodeJob, attachments: Attachments) -> (JobOutcome, Voxels) {
    let names = attachments.names.unwrap_or_default();
    let mut files = Vec::with_capacity(job.files.len());
    for (n, file) in attachments.files.iter().enumerate() {
        let file: File = file.unchecked_into();
        let bytes = JsFuture::from(file.array_buffer())
            .await
            .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec())
            // Unreadable now: decoded as empty, so its slices are reported.
            .unwrap_or_default();
        files.push(MemoryFile {
            name: names.get(n as u32).as_string().unwrap_or_default(),
            bytes,
        });
    }
    let (samples, outcome) = run_job(job, &files);
    (outcome, samples)
}

/// A started decoder and the reply it is expected to send next.
struct Decoder {
    worker: Worker,
    next: Promise,
    resolve: std::rc::Rc<std::cell::RefCell<Option<js_sys::Function>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Decoder {
    fn start(n: usize) -> Result<Self, JsValue> {
        let options = WorkerOptions::new();
        options.set_name(&format!("{DECODER_NAME}-{n}"));
        let worker = Worker::new_with_options("./insitu-worker_loader.js", &options)?;
        let resolve = std::rc::Rc::new(std::cell::RefCell::new(None::<js_sys::Function>));
        let slot = resolve.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(resolve) = slot.borrow_mut().take() {
                let _ = resolve.call1(&JsValue::NULL, &event.data());
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let mut decoder = Self {
            worker,
            next: Promise::resolve(&JsValue::NULL),
            resolve,
            _on_message: on_message,
        };
        decoder.expect_reply();
        Ok(decoder)
    }

    /// Arms the promise for the next message.
    fn expect_reply(&mut self) {
        let slot = self.resolve.clone();
        self.next = Promise::new(&mut |resolve, _| {
            *slot.borrow_mut() = Some(resolve);
        });
    }

    async fn reply(&mut self) -> Option<(DecoderReply, JsValue)> {
        let message = JsFuture::from(self.next.clone()).await.ok()?;
        self.expect_reply();
        let (reply, attachments) = envelope::open(&message).ok()?;
        Some((reply, attachments.buffers.get(0)))
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Who decoded a series: how many decoder workers (0: the study worker),
/// and their wasm heaps at their largest, added up (bytes).
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodedBy {
    /// Decoder workers.
    pub decoders: usize,
    /// Their heaps at their largest, added up (bytes).
    pub heap_bytes: f64,
}

/// How a parallel decode ended.
pub enum Parallel {
    /// Built (or every slice failed).
    Done(Result<Loaded, BuildError>, DecodedBy),
    /// `cancel` was set; the decoders are stopped.
    Cancelled,
    /// It cannot finish here (no workers, a value beyond i16): the caller
    /// decodes in place, which handles both.
    Unavailable,
}

/// Decodes series `index` on `count` decoders, reporting slices done, and
/// stops as soon as `cancel` is set.
pub async fn decode_in_parallel(
    scan: &Scan,
    files: &DroppedFiles,
    index: usize,
    count: usize,
    progress: &dyn Fn(usize, usize),
    cancel: &std::cell::Cell<bool>,
) -> Parallel {
    match decode_jobs(scan, files, index, count, progress, cancel).await {
        _ if cancel.get() => Parallel::Cancelled,
        Some((result, by)) => Parallel::Done(result, by),
        None => Parallel::Unavailable,
    }
}

async fn decode_jobs(
    scan: &Scan,
    files: &DroppedFiles,
    index: usize,
    count: usize,
    progress: &dyn Fn(usize, usize),
    cancel: &std::cell::Cell<bool>,
) -> Option<(Result<Loaded, BuildError>, DecodedBy)> {
    let unused = DecodedBy::default();
    let float = match scan.needs_float(index) {
        Ok(float) => float,
        Err(e) => return Some((Err(e), unused)),
    };
    let job_bytes = setting("job-kb")
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(JOB_BYTES, |kb| kb.saturating_mul(1 << 10));
    let jobs = match scan.decode_rounds(index, count, job_bytes, float) {
        Ok(jobs) => jobs,
        Err(e) => return Some((Err(e), unused)),
    };
    let count = count.min(jobs.len());
    let mut heaps = vec![0f64; count];
    let mut decoders = Vec::with_capacity(count);
    for n in 0..count {
        decoders.push(Decoder::start(n).ok()?);
    }
    for decoder in &mut decoders {
        if !matches!(decoder.reply().await, Some((DecoderReply::Ready, _))) || cancel.get() {
            return None;
        }
    }
    let give = |job: &DecodeJob, decoder: &Decoder| {
        let (handles, names) = files.handles(&job.files);
        envelope::post(
            Target::Worker(&decoder.worker),
            &DecoderRequest::Decode { job: job.clone() },
            Attachments::files(handles, Some(names)),
        );
    };
    // Job n goes to decoder n % count: the first round now, each later job
    // when that decoder's job before it is back.
    for (job, decoder) in jobs.iter().zip(&decoders) {
        give(job, decoder);
    }
    let total: usize = jobs.iter().map(DecodeJob::slice_count).sum();
    let mut done = 0;
    let mut assembly = scan.start_assembly(index, float).ok()?;
    for (n, job) in jobs.iter().enumerate() {
        let decoder = &mut decoders[n % count];
        let Some((
            DecoderReply::Decoded {
                outcome,
                heap_bytes,
            },
            samples,
        )) = decoder.reply().await
        else {
            return None;
        };
        heaps[n % count] = heap_bytes;
        if cancel.get() {
            // Dropping the decoders ends them.
            return None;
        }
        let expected = job.slice_count() * job.frame_len;
        let length = Reflect::get(&samples, &"length".into())
            .ok()
            .and_then(|l| l.as_f64());
        if outcome.overflow || length != Some(expected as f64) {
            return None;
        }
        // The decoder's next job before this one's samples are copied.
        if let Some(next) = jobs.get(n + count) {
            give(next, decoder);
        }
        // Straight from the transferred buffer into each slice's place.
        let frame = job.frame_len as u32;
        let (floats, ints): (Float32Array, Int16Array) =
            (samples.clone().unchecked_into(), samples.unchecked_into());
        for (i, k) in job.order().enumerate() {
            let (from, to) = (i as u32 * frame, (i as u32 + 1) * frame);
            if let Some(out) = assembly.slice_f32(k) {
                floats.subarray(from, to).copy_to(out);
            } else if let Some(out) = assembly.slice_i16(k) {
                ints.subarray(from, to).copy_to(out);
            }
        }
        // Its buffer back, for the decoder's next reply.
        if let Ok(buffer) = Reflect::get(&floats, &"buffer".into()) {
            envelope::post(
                Target::Worker(&decoder.worker),
                &DecoderRequest::Recycle,
                Attachments::buffers([buffer]),
            );
        }
        assembly.record(&outcome);
        done += job.slice_count();
        progress(done, total);
    }
    let by = DecodedBy {
        decoders: count,
        heap_bytes: heaps.iter().sum(),
    };
    Some((assembly.finish(scan), by))
}
