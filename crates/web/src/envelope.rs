//! Every message between the page's threads (UI ↔ study worker ↔ decoder
//! workers) in one shape: `{msg, buffers, files, names}`. `msg` is the
//! serialised request or reply; `buffers` are typed arrays or ArrayBuffers
//! whose memory is transferred, never copied (or a `MessagePort`, handed
//! over); `files` are `File` handles
//! (cheap to pass: the bytes stay with the browser) with their display
//! names, or the one Blob of an export.

use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// What travels beside a message.
#[derive(Debug, Default)]
pub struct Attachments {
    /// Typed arrays (or ArrayBuffers, or MessagePorts), transferred.
    pub buffers: Array,
    /// `File` handles (or an export's Blob).
    pub files: Array,
    /// Display names of `files` (folder paths), when the sender knows them.
    pub names: Option<Array>,
}

impl Attachments {
    /// Buffers only.
    pub fn buffers(buffers: impl IntoIterator<Item = JsValue>) -> Self {
        Self {
            buffers: buffers.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Files and (optionally) their names.
    pub fn files(files: Array, names: Option<Array>) -> Self {
        Self {
            files,
            names,
            ..Self::default()
        }
    }

    /// Buffer `i` as a typed array of type `T` (as it was attached).
    pub fn buffer<T: JsCast>(&self, i: u32) -> T {
        self.buffers.get(i).unchecked_into()
    }
}

/// Where a message is posted.
pub enum Target<'a> {
    /// From a worker to whoever started it.
    Parent(&'a web_sys::DedicatedWorkerGlobalScope),
    /// To a worker we started.
    Worker(&'a web_sys::Worker),
    /// Over a port (between the study worker and a decoder).
    Port(&'a web_sys::MessagePort),
}

/// The message object and its transfer list.
fn pack(message: &impl Serialize, attachments: &Attachments) -> (Object, Array) {
    let envelope = Object::new();
    let msg = serde_wasm_bindgen::to_value(message).expect("messages serialise");
    let transfer = Array::new();
    for b in attachments.buffers.iter() {
        if b.is_instance_of::<js_sys::ArrayBuffer>() || b.is_instance_of::<web_sys::MessagePort>() {
            transfer.push(&b);
        } else {
            transfer.push(&b.unchecked_ref::<js_sys::Uint8Array>().buffer());
        }
    }
    let _ = Reflect::set(&envelope, &"msg".into(), &msg);
    let _ = Reflect::set(&envelope, &"buffers".into(), &attachments.buffers);
    let _ = Reflect::set(&envelope, &"files".into(), &attachments.files);
    if let Some(names) = &attachments.names {
        let _ = Reflect::set(&envelope, &"names".into(), names);
    }
    (envelope, transfer)
}

/// Posts `message` with its attachments, buffers transferred.
pub fn post(target: Target<'_>, message: &impl Serialize, attachments: Attachments) {
    let (envelope, transfer) = pack(message, &attachments);
    let posted = match target {
        Target::Parent(scope) => scope.post_message_with_transfer(&envelope, &transfer),
        Target::Worker(worker) => worker.post_message_with_transfer(&envelope, &transfer),
        Target::Port(port) => port.post_message_with_transferable(&envelope, &transfer),
    };
    if let Err(e) = posted {
        web_sys::console::error_2(&"insitu: a message could not be posted".into(), &e);
    }
}

/// The message and attachments of a received envelope; the error says why
/// it could not be read.
pub fn open<M: DeserializeOwned>(data: &JsValue) -> Result<(M, Attachments), String> {
    let field = |name: &str| Reflect::get(data, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let message = serde_wasm_bindgen::from_value(field("msg")).map_err(|e| e.to_string())?;
    let array = |value: JsValue| value.dyn_into::<Array>().ok();
    Ok((
        message,
        Attachments {
            buffers: array(field("buffers")).unwrap_or_default(),
            files: array(field("files")).unwrap_or_default(),
            names: array(field("names")),
        },
    ))
}
