//! The UI thread's link to the study worker: starting it (with the page's
//! settings in its name), sending requests (held until it says `Ready`),
//! receiving replies, and replacing it (a wasm heap never shrinks, so
//! ending the worker is what gives a closed study's memory back).

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

use super::{app, replies, storage};
use crate::envelope::{self, Attachments, Target};
use crate::protocol::{Reply, Request};

/// Starts the study worker (built by Trunk from `insitu-worker`), or takes
/// over the one `www/boot.js` started as the page began loading. Settings
/// in the page address reach it, so tests and the benchmark can compare
/// both ways in one run: `?decoders=N` (how many decoder workers a
/// compressed series gets; 0: decode in the study worker), `?job-kb=N`
/// (the most KiB of samples in one decoder job), `?decoder-wait-ms=N` (how
/// long a silent decoder is waited for) and
/// `?slices=gpu` (reslice the 2D views on the GPU even when it is a
/// software rasterizer); `?demo=512` builds the demo at 512²×300 (the
/// spine benchmark's size); `?preview=N` draws surfaces over N triangles
/// as a preview (the end-to-end test's way to see one on a small volume);
/// `?cache-step-ms=N` waits N ms after each step of a volume's cache write
/// (the end-to-end test's way to send a request while one is under way).
pub fn spawn_worker() -> Worker {
    let setting = crate::dom::page_setting;
    let mut name = "insitu-study".to_owned();
    if let Some(n) = setting("decoders").and_then(|n| n.parse::<usize>().ok()) {
        name.push_str(&format!(";decoders={n}"));
    }
    if let Some(n) = setting("job-kb").and_then(|n| n.parse::<usize>().ok()) {
        name.push_str(&format!(";job-kb={n}"));
    }
    if let Some(n) = setting("decoder-wait-ms").and_then(|n| n.parse::<u32>().ok()) {
        name.push_str(&format!(";decoder-wait-ms={n}"));
    }
    if setting("slices").as_deref() == Some("gpu") {
        name.push_str(";slices=gpu");
    }
    if setting("demo").as_deref() == Some("512") {
        name.push_str(";demo=512");
    }
    if let Some(n) = setting("preview").and_then(|n| n.parse::<usize>().ok()) {
        name.push_str(&format!(";preview={n}"));
    }
    if let Some(n) = setting("cache-step-ms").and_then(|n| n.parse::<u32>().ok()) {
        name.push_str(&format!(";cache-step-ms={n}"));
    }
    if storage::keep_nothing() {
        name.push_str(";cache=off");
    }
    let (worker, replies, errors) = take_early_worker(&name).unwrap_or_else(|| {
        let options = web_sys::WorkerOptions::new();
        options.set_name(&name);
        let worker = Worker::new_with_options("./insitu-worker_loader.js", &options)
            .expect("the worker script is served beside the page");
        (worker, js_sys::Array::new(), js_sys::Array::new())
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        on_reply(&event.data());
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // An uncaught error in the worker (a panic, or a wasm that did not
    // start): said, not waited for. One from a worker already replaced is
    // not this study's.
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new({
        let this = worker.clone();
        move |event: web_sys::Event| {
            event.prevent_default();
            if js_sys::Object::is(&app().worker.borrow(), &this) {
                super::controls::worker_stopped(&error_text(&event));
            }
        }
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    // Replies (or an error) that came before the page listened, once the
    // app is set up (this runs while it is being made).
    if replies.length() > 0 || errors.length() > 0 {
        wasm_bindgen_futures::spawn_local(async move {
            for reply in replies.iter() {
                on_reply(&reply);
            }
            if let Some(why) = errors.iter().next() {
                super::controls::worker_stopped(&why.as_string().unwrap_or_default());
            }
        });
    }
    worker
}

/// What a worker's `error` event says: its message, or its type (a script
/// that did not load has no message).
pub fn error_text(event: &web_sys::Event) -> String {
    event
        .dyn_ref::<web_sys::ErrorEvent>()
        .map_or_else(|| event.type_(), web_sys::ErrorEvent::message)
}

/// The worker `boot.js` started as the page began loading, with the
/// replies and errors it kept, when it was named `name`; one named
/// otherwise ends. Taken once: a later study gets a worker of its own.
fn take_early_worker(name: &str) -> Option<(Worker, js_sys::Array, js_sys::Array)> {
    use js_sys::Reflect;
    let global = js_sys::global();
    let key = JsValue::from_str("insituEarlyWorker");
    let early = Reflect::get(&global, &key).ok().filter(|e| e.is_object())?;
    let _ = Reflect::set(&global, &key, &JsValue::UNDEFINED);
    let worker: Worker = Reflect::get(&early, &"worker".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let replies: js_sys::Array = Reflect::get(&early, &"replies".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let errors: js_sys::Array = Reflect::get(&early, &"errors".into())
        .ok()
        .and_then(|e| e.dyn_into().ok())
        .unwrap_or_default();
    let early_name = Reflect::get(&early, &"name".into()).ok()?.as_string();
    if early_name.as_deref() != Some(name) {
        worker.terminate();
        return None;
    }
    Some((worker, replies, errors))
}

/// Sends a request with what goes beside it (files).
pub fn send_with(request: Request, attachments: Attachments) {
    let app = app();
    if app.worker_ready.get() {
        envelope::post(Target::Worker(&app.worker.borrow()), &request, attachments);
    } else {
        app.outbox.borrow_mut().push((request, attachments));
    }
}

/// Sends a request.
pub fn send(request: Request) {
    send_with(request, Attachments::default());
}

/// Replaces the study worker with a fresh one.
pub fn restart_worker() {
    let app = app();
    super::decoders::stop_all();
    app.worker.borrow().terminate();
    app.worker_ready.set(false);
    app.outbox.borrow_mut().clear();
    *app.worker.borrow_mut() = spawn_worker();
}

/// The worker is listening: what waited is sent.
pub fn worker_ready() {
    let app = app();
    app.worker_ready.set(true);
    for (request, attachments) in app.outbox.take() {
        envelope::post(Target::Worker(&app.worker.borrow()), &request, attachments);
    }
}

fn performance_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// A message from the worker. Slow handling is logged: the UI thread must
/// never block for 100 ms.
fn on_reply(data: &JsValue) {
    let started = performance_now();
    let (reply, attachments): (Reply, Attachments) = match envelope::open(data) {
        Ok(opened) => opened,
        Err(e) => {
            web_sys::console::error_1(&format!("insitu: unreadable reply: {e}").into());
            return;
        }
    };
    let kind = reply.name();
    replies::handle(reply, attachments);
    let took = performance_now() - started;
    if took > 40.0 {
        web_sys::console::info_1(&format!("insitu: handling '{kind}' took {took:.0} ms").into());
    }
}
