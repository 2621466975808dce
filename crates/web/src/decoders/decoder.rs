//! A decoder worker's side: started by the page, it says `Ready`, gets
//! the port the study worker's jobs come on, and answers each job with its
//! samples.

use std::cell::RefCell;

use insitu_volume::{DecodeJob, JobOutcome, MemoryFile, Voxels, run_job};
use js_sys::{Float32Array, Int16Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, File, MessageEvent, MessagePort};

use crate::envelope::{self, Attachments, Target};
use crate::protocol::{DecoderReply, DecoderRequest};

/// Spare buffers a decoder keeps at most (see [`SPARE`]).
const SPARE_BUFFERS: usize = 2;

thread_local! {
    /// Buffers of samples the study worker sent back
    /// ([`DecoderRequest::Recycle`]), for the next replies.
    static SPARE: RefCell<Vec<js_sys::ArrayBuffer>> = const { RefCell::new(Vec::new()) };
    /// The port to the study worker, once the page has given it.
    static PORT: RefCell<Option<MessagePort>> = const { RefCell::new(None) };
}

/// Entry point of a decoder: says `Ready` to the page, then answers each
/// job (on the port the page gives it) with its samples.
pub fn start_decoder() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(on_request);
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&DecoderReply::Ready, Attachments::default());
}

/// A message from the page (the port) or from the study worker (a job).
fn on_request(event: MessageEvent) {
    let (request, attachments): (DecoderRequest, Attachments) = match envelope::open(&event.data())
    {
        Ok(opened) => opened,
        Err(e) => {
            // The study worker sent it: a bug, answered as a job whose
            // samples are missing, so the study worker decodes the series
            // itself rather than wait.
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
        DecoderRequest::Connect => {
            if let Ok(port) = attachments.buffers.get(0).dyn_into::<MessagePort>() {
                let on_job = Closure::<dyn FnMut(MessageEvent)>::new(on_request);
                port.set_onmessage(Some(on_job.as_ref().unchecked_ref()));
                on_job.forget();
                PORT.set(Some(port));
            }
        }
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

/// To the study worker once connected; to the page (`Ready`) before.
fn post(reply: &DecoderReply, attachments: Attachments) {
    PORT.with_borrow(|port| match port {
        Some(port) => envelope::post(Target::Port(port), reply, attachments),
        None => {
            let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
            envelope::post(Target::Parent(&scope), reply, attachments);
        }
    });
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
