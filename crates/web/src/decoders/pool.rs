//! The study worker's side of a load's decoders: it asks the page to start
//! them ([`Reply::StartDecoders`]), takes each one's port as the page hands
//! it over ([`decoder_started`]) or its failure ([`decoder_failed`]), sends
//! jobs and waits for replies — never for ever: a decoder that fails or
//! falls silent is given up, and the caller decodes the series itself.
//! Dropping the pool tells the page to end its decoders.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, MessagePort};

use super::setting;
use crate::envelope::{self, Attachments, Target};
use crate::protocol::{DecoderReply, Reply};
use crate::worker::post;

/// How long the study worker waits for a decoder's next message (that it
/// started, or one job of at most [`super::JOB_BYTES`], which takes well
/// under a second) before it stops the decoders and decodes the series
/// itself: a decoder that could not start or stopped sends nothing, and a
/// load must never wait for it forever. `decoder-wait-ms=N` in the study
/// worker's name sets it instead (the end-to-end test of a silent decoder).
const DECODER_SILENCE_MS: f64 = 30_000.0;

fn decoder_silence_ms() -> f64 {
    setting("decoder-wait-ms")
        .and_then(|ms| ms.parse::<f64>().ok())
        .unwrap_or(DECODER_SILENCE_MS)
}

/// How often a wait for a decoder looks whether the load was cancelled.
const CANCEL_LOOK_MS: i32 = 200;

/// What came for one decoder.
enum Arrival {
    /// Its port: it has started (read as its `Ready`).
    Connected,
    /// A message on its port.
    Message(JsValue),
    /// Why it failed (its `error` event, from the page; or a message that
    /// could not be cloned).
    Failed(String),
}

/// Why a decoder's reply did not come.
pub enum Unanswered {
    /// The decoder failed, or sent what cannot be read.
    Failed(String),
    /// Nothing for this long (ms; [`DECODER_SILENCE_MS`] unless set).
    Silent(f64),
    /// The load was cancelled meanwhile.
    Cancelled,
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Failed(why) => write!(f, "failed: {why}"),
            Self::Silent(ms) => write!(f, "sent nothing for {:.1} s", ms / 1000.0),
            Self::Cancelled => write!(f, "was stopped: the load was cancelled"),
        }
    }
}

/// Says why the decoders were left, before the series is decoded here.
pub fn left_decoder(n: usize, why: &Unanswered) {
    if !matches!(why, Unanswered::Cancelled) {
        web_sys::console::warn_1(
            &format!("insitu: decoder worker {n} {why}; the series is decoded here instead").into(),
        );
    }
}

/// A port's message handler, kept alive while the port is open.
type PortHandler = Closure<dyn FnMut(MessageEvent)>;

/// One decoder: its port once it came, and what arrived not yet taken.
#[derive(Default)]
struct Inbox {
    port: RefCell<Option<MessagePort>>,
    arrivals: RefCell<VecDeque<Arrival>>,
    /// Ends a wait for the next arrival as soon as one comes.
    wake: RefCell<Option<js_sys::Function>>,
    handler: RefCell<Option<PortHandler>>,
}

impl Inbox {
    fn deliver(&self, arrival: Arrival) {
        self.arrivals.borrow_mut().push_back(arrival);
        if let Some(wake) = self.wake.borrow_mut().take() {
            let _ = wake.call0(&JsValue::NULL);
        }
    }
}

thread_local! {
    /// The pool in use: its number and its decoders.
    static CURRENT: RefCell<Option<(u32, Vec<Rc<Inbox>>)>> = const { RefCell::new(None) };
    /// The last pool's number.
    static LAST_POOL: Cell<u32> = const { Cell::new(0) };
}

/// The inbox of decoder `decoder` of pool `pool`, while that pool is in use.
fn inbox(pool: u32, decoder: usize) -> Option<Rc<Inbox>> {
    CURRENT.with_borrow(|current| match current {
        Some((id, inboxes)) if *id == pool => inboxes.get(decoder).cloned(),
        _ => None,
    })
}

/// The page started decoder `decoder` of pool `pool`; `port` talks to it.
/// A port of a pool no longer in use is closed (its decoder is ended by
/// the page already).
pub fn decoder_started(pool: u32, decoder: usize, port: JsValue) {
    let Ok(port) = port.dyn_into::<MessagePort>() else {
        if let Some(inbox) = inbox(pool, decoder) {
            inbox.deliver(Arrival::Failed("the page sent no port".into()));
        }
        return;
    };
    let Some(inbox) = inbox(pool, decoder) else {
        port.close();
        return;
    };
    let on_message = PortHandler::new({
        let inbox = Rc::downgrade(&inbox);
        move |event: MessageEvent| {
            if let Some(inbox) = inbox.upgrade() {
                inbox.deliver(if event.type_() == "messageerror" {
                    Arrival::Failed("a reply that could not be received".into())
                } else {
                    Arrival::Message(event.data())
                });
            }
        }
    });
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    port.set_onmessageerror(Some(on_message.as_ref().unchecked_ref()));
    *inbox.handler.borrow_mut() = Some(on_message);
    *inbox.port.borrow_mut() = Some(port);
    inbox.deliver(Arrival::Connected);
}

/// Decoder `decoder` of pool `pool` failed: `why`, from the page.
pub fn decoder_failed(pool: u32, decoder: usize, why: String) {
    if let Some(inbox) = inbox(pool, decoder) {
        inbox.deliver(Arrival::Failed(why));
    }
}

/// A load's decoders, from the request to the page that starts them to
/// the one that ends them (on drop).
pub struct Pool {
    id: u32,
    decoders: Vec<Rc<Inbox>>,
    /// How long a decoder may stay silent (read once, from the worker's
    /// name).
    silence_ms: f64,
}

impl Pool {
    /// Asks the page for `count` decoders.
    pub fn start(count: usize) -> Self {
        let id = LAST_POOL.get().wrapping_add(1);
        LAST_POOL.set(id);
        let decoders: Vec<Rc<Inbox>> = (0..count).map(|_| Rc::default()).collect();
        CURRENT.set(Some((id, decoders.clone())));
        post(
            &Reply::StartDecoders { pool: id, count },
            Attachments::default(),
        );
        Self {
            id,
            decoders,
            silence_ms: decoder_silence_ms(),
        }
    }

    /// Sends decoder `n` a request (once it has started).
    pub fn send(&self, n: usize, request: &impl Serialize, attachments: Attachments) {
        if let Some(port) = self.decoders[n].port.borrow().as_ref() {
            envelope::post(Target::Port(port), request, attachments);
        }
    }

    /// Decoder `n`'s next reply and its samples (`Ready` when it has
    /// started), unless it fails, stays silent too long or the load is
    /// cancelled meanwhile.
    pub async fn reply(
        &self,
        n: usize,
        cancel: &Cell<bool>,
    ) -> Result<(DecoderReply, JsValue), Unanswered> {
        let inbox = &self.decoders[n];
        let since = js_sys::Date::now();
        loop {
            let next = inbox.arrivals.borrow_mut().pop_front();
            match next {
                Some(Arrival::Connected) => return Ok((DecoderReply::Ready, JsValue::UNDEFINED)),
                Some(Arrival::Message(message)) => {
                    let (reply, attachments) = envelope::open(&message)
                        .map_err(|e| Unanswered::Failed(format!("unreadable reply: {e}")))?;
                    return Ok((reply, attachments.buffers.get(0)));
                }
                Some(Arrival::Failed(why)) => return Err(Unanswered::Failed(why)),
                None if cancel.get() => return Err(Unanswered::Cancelled),
                None if js_sys::Date::now() - since > self.silence_ms => {
                    return Err(Unanswered::Silent(self.silence_ms));
                }
                None => crate::worker::sleep(CANCEL_LOOK_MS, Some(&inbox.wake)).await,
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        CURRENT.with_borrow_mut(|current| {
            if current.as_ref().is_some_and(|(id, _)| *id == self.id) {
                *current = None;
            }
        });
        for inbox in &self.decoders {
            if let Some(port) = inbox.port.borrow_mut().take() {
                port.close();
            }
        }
        post(
            &Reply::StopDecoders { pool: self.id },
            Attachments::default(),
        );
    }
}
