//! Decoding one series on several workers at once. The study worker splits
//! the series into jobs of whole files of at most [`JOB_BYTES`] of samples
//! ([`Scan::decode_rounds`]), has the page start the decoder workers (the
//! same wasm binary, told apart by its worker name; [`pool`]) and hands
//! them the jobs in turn over their ports, with their files' `File`
//! handles: each decoder reads its own files ([`decoder`]), so their bytes
//! never pass through the study worker. The samples that come back are
//! copied straight into the volume buffer, and the decoder gets its next
//! job. A decoder's heap holds one job at a time, so a whole-spine series
//! is never held twice; the decoders end with the load, so their heaps are
//! given back at once. A decoder that fails or falls silent leaves the
//! series to be decoded in the study worker.

mod decoder;
mod pool;

pub use decoder::start_decoder;
pub use pool::{decoder_failed, decoder_started};

use std::cell::Cell;

use insitu_volume::{BuildError, DecodeJob, Loaded, Scan};
use js_sys::{Float32Array, Int16Array, Reflect};
use wasm_bindgen::JsCast;
use web_sys::DedicatedWorkerGlobalScope;

use crate::envelope::Attachments;
use crate::protocol::{DecoderReply, DecoderRequest};
use crate::worker::files::DroppedFiles;
use pool::{Pool, left_decoder};

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
    /// It cannot finish here (no workers, a decoder that failed or fell
    /// silent, a value beyond i16): the caller decodes in place, which
    /// handles them all.
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
    cancel: &Cell<bool>,
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
    cancel: &Cell<bool>,
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
    // Dropping the pool (on every way out) ends its decoders.
    let pool = Pool::start(count);
    for n in 0..count {
        match pool.reply(n, cancel).await {
            Ok((DecoderReply::Ready, _)) => {}
            Ok(_) => return None,
            Err(why) => {
                left_decoder(n, &why);
                return None;
            }
        }
    }
    let give = |job: &DecodeJob, n: usize| {
        let (handles, names) = files.handles(&job.files);
        pool.send(
            n,
            &DecoderRequest::Decode { job: job.clone() },
            Attachments::files(handles, Some(names)),
        );
    };
    // Job n goes to decoder n % count: the first round now, each later job
    // when that decoder's job before it is back.
    for (n, job) in jobs.iter().take(count).enumerate() {
        give(job, n);
    }
    let total: usize = jobs.iter().map(DecodeJob::slice_count).sum();
    let mut done = 0;
    let mut assembly = scan.start_assembly(index, float).ok()?;
    for (n, job) in jobs.iter().enumerate() {
        let decoder = n % count;
        let (outcome, heap_bytes, samples) = match pool.reply(decoder, cancel).await {
            Ok((
                DecoderReply::Decoded {
                    outcome,
                    heap_bytes,
                },
                samples,
            )) => (outcome, heap_bytes, samples),
            Ok(_) => return None,
            Err(why) => {
                left_decoder(decoder, &why);
                return None;
            }
        };
        heaps[decoder] = heap_bytes;
        if cancel.get() {
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
            pool.send(
                decoder,
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
