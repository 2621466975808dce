//! The page starts and ends the study worker's decoder workers
//! ([`crate::decoders`]): Firefox can block a worker for good inside its
//! own `new Worker` (one load in about twenty on Firefox ESR 153 stalled
//! there), a page never. Each decoder, once it says `Ready`, gets one end
//! of a channel and the study worker the other; their jobs and samples
//! never pass through this thread. A decoder's failure is passed on, so
//! the load decodes the series itself at once.

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Event, MessageChannel, MessageEvent, Worker, WorkerOptions};

use super::link;
use crate::decoders::DECODER_NAME;
use crate::envelope::{self, Attachments, Target};
use crate::protocol::{DecoderRequest, Request};

/// A decoder started here, with its handlers.
struct Started {
    pool: u32,
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

thread_local! {
    static STARTED: RefCell<Vec<Started>> = const { RefCell::new(Vec::new()) };
}

/// Starts decoder workers `0..count` of pool `pool` for the study worker.
pub fn start(pool: u32, count: usize) {
    for decoder in 0..count {
        match start_one(pool, decoder) {
            Ok(started) => STARTED.with_borrow_mut(|all| all.push(started)),
            Err(e) => link::send(Request::DecoderFailed {
                pool,
                decoder,
                why: format!("not started: {e:?}"),
            }),
        }
    }
}

fn start_one(pool: u32, decoder: usize) -> Result<Started, JsValue> {
    let options = WorkerOptions::new();
    options.set_name(&format!("{DECODER_NAME}-{decoder}"));
    let worker = Worker::new_with_options("./insitu-worker_loader.js", &options)?;
    // Its one message to the page is `Ready`: it listens now.
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
        let worker = worker.clone();
        move |_: MessageEvent| connect(&worker, pool, decoder)
    });
    // A script that did not load, a wasm that did not start (the loader
    // throws it again), or a panic: handled here, and passed on.
    let on_error = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        event.prevent_default();
        let why = link::error_text(&event);
        link::send(Request::DecoderFailed { pool, decoder, why });
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Started {
        pool,
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// Gives a started decoder and the study worker each an end of a channel.
fn connect(worker: &Worker, pool: u32, decoder: usize) {
    let channel = match MessageChannel::new() {
        Ok(channel) => channel,
        Err(e) => {
            return link::send(Request::DecoderFailed {
                pool,
                decoder,
                why: format!("no channel: {e:?}"),
            });
        }
    };
    envelope::post(
        Target::Worker(worker),
        &DecoderRequest::Connect,
        Attachments::buffers([channel.port1().into()]),
    );
    link::send_with(
        Request::DecoderStarted { pool, decoder },
        Attachments::buffers([channel.port2().into()]),
    );
}

/// Ends pool `pool`'s decoders (the load is done with them).
pub fn stop(pool: u32) {
    let ending: Vec<Started> = STARTED.with_borrow_mut(|all| {
        let (ending, kept) = all.drain(..).partition(|started| started.pool == pool);
        *all = kept;
        ending
    });
    ending.into_iter().for_each(end);
}

/// Ends every decoder (the study worker they served is replaced).
pub fn stop_all() {
    STARTED.take().into_iter().for_each(end);
}

/// Ends a decoder, its handlers unhooked before they are dropped.
fn end(started: Started) {
    started.worker.set_onmessage(None);
    started.worker.set_onerror(None);
    started.worker.terminate();
}
