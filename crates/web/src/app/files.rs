//! Getting files from the user: the two inputs, and drag-and-drop of files
//! and whole folders (recursively, through `webkitGetAsEntry`).

use js_sys::{Array, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DragEvent, FileSystemDirectoryEntry, FileSystemEntry, FileSystemFileEntry, HtmlInputElement,
};

use crate::dom::{document, on, typed};
use crate::envelope::Attachments;
use crate::protocol::{FILES_PER_MESSAGE, Request};

/// Hooks up the inputs and the drop target.
pub fn wire() {
    for id in ["open-files", "open-folder"] {
        let input: HtmlInputElement = typed(id);
        on(&input.clone(), "change", move |_: web_sys::Event| {
            let chosen_at_ms = js_sys::Date::now();
            let Some(list) = input.files() else { return };
            let files = Array::new();
            for i in 0..list.length() {
                if let Some(f) = list.get(i) {
                    files.push(&f);
                }
            }
            // Let the same folder be chosen again later.
            input.set_value("");
            open(files, None, chosen_at_ms);
        });
    }
    let Some(workspace) = document().query_selector(".workspace").ok().flatten() else {
        return;
    };
    let w = workspace.clone();
    on(&workspace, "dragover", move |e: DragEvent| {
        e.prevent_default();
        let _ = w.class_list().add_1("drop-target");
    });
    let w = workspace.clone();
    on(&workspace, "dragleave", move |_: DragEvent| {
        let _ = w.class_list().remove_1("drop-target");
    });
    let w = workspace.clone();
    on(&workspace, "drop", move |e: DragEvent| {
        let dropped_at_ms = js_sys::Date::now();
        e.prevent_default();
        let _ = w.class_list().remove_1("drop-target");
        let Some(transfer) = e.data_transfer() else {
            return;
        };
        // Entries must be taken synchronously, inside the event. Items
        // without one (no file-system entry) still give their File.
        let items = transfer.items();
        let files = Array::new();
        let names = Array::new();
        let mut entries: Vec<FileSystemEntry> = Vec::new();
        for item in (0..items.length()).filter_map(|i| items.get(i)) {
            match item.webkit_get_as_entry().ok().flatten() {
                Some(entry) => entries.push(entry),
                None => {
                    if let Some(file) = item.get_as_file().ok().flatten() {
                        names.push(&JsValue::from(file.name()));
                        files.push(&file);
                    }
                }
            }
        }
        wasm_bindgen_futures::spawn_local(async move {
            for entry in entries {
                collect(entry, &files, &names).await;
            }
            open(files, Some(names), dropped_at_ms);
        });
    });
}

/// Sends files (and their folder paths, for dropped folders) to the worker,
/// with when the user chose them: the first [`FILES_PER_MESSAGE`] with the
/// `Open` request, the rest in messages of as many, so the worker reads
/// the first while the browser looks up the others for the messages.
fn open(files: Array, names: Option<Array>, chosen_at_ms: f64) {
    let in_all = files.length();
    if in_all == 0 {
        return;
    }
    super::begin_loading(&format!("Reading {in_all} files…"));
    let opening = OPENINGS.with(|count| {
        count.set(count.get() + 1);
        count.get()
    });
    let per_message = FILES_PER_MESSAGE as u32;
    for start in (0..in_all).step_by(FILES_PER_MESSAGE) {
        let end = (start + per_message).min(in_all);
        let part = Attachments::files(
            files.slice(start, end),
            names.as_ref().map(|n| n.slice(start, end)),
        );
        let request = if start == 0 {
            Request::Open {
                chosen_at_ms: Some(chosen_at_ms),
                opening,
                files_in_all: Some(in_all as usize),
            }
        } else {
            Request::MoreFiles { opening }
        };
        super::link::send_with(request, part);
    }
}

thread_local! {
    /// Openings sent so far: numbers each one's messages.
    static OPENINGS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Every file under `entry`, depth first. The folders are walked first,
/// then every file is asked for at once: each `file()` is a round trip to
/// the browser, which looks the file up on disk, and asked one after
/// another they held a 300-file folder back about 0.2 s before the worker
/// had any of it.
async fn collect(entry: FileSystemEntry, files: &Array, names: &Array) {
    let mut found: Vec<FileSystemFileEntry> = Vec::new();
    let mut stack = vec![entry];
    while let Some(entry) = stack.pop() {
        if entry.is_file() {
            found.push(entry.unchecked_into());
        } else if entry.is_directory() {
            let reader = entry
                .unchecked_into::<FileSystemDirectoryEntry>()
                .create_reader();
            // readEntries returns batches until an empty one.
            loop {
                let promise = Promise::new(&mut |resolve, reject| {
                    let _ = reader.read_entries_with_callback_and_callback(&resolve, &reject);
                });
                let Ok(batch) = JsFuture::from(promise).await else {
                    break;
                };
                let batch: Array = batch.unchecked_into();
                if batch.length() == 0 {
                    break;
                }
                for e in batch.iter() {
                    stack.push(e.unchecked_into());
                }
            }
        }
    }
    let asked: Array = found
        .iter()
        .map(|file_entry| {
            JsValue::from(Promise::new(&mut |resolve, reject| {
                file_entry.file_with_callback_and_callback(&resolve, &reject);
            }))
        })
        .collect();
    let Ok(results) = JsFuture::from(Promise::all_settled(&asked)).await else {
        return;
    };
    let results: Array = results.unchecked_into();
    for (file_entry, result) in found.iter().zip(results.iter()) {
        // A file that went away since the drop is left out.
        let file = js_sys::Reflect::get(&result, &"value".into()).ok();
        if let Some(file) = file.filter(|f| f.is_instance_of::<web_sys::File>()) {
            files.push(&file);
            names.push(&JsValue::from(
                file_entry.full_path().trim_start_matches('/'),
            ));
        }
    }
}
