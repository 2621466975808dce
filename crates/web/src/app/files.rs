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
            // One call, not one per file across the wasm boundary.
            let files = Array::from(&list);
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
            let mut found = Vec::new();
            for entry in entries {
                walk(entry, &mut found).await;
            }
            send_dropped(files, names, found, dropped_at_ms).await;
        });
    });
}

/// Files sent with the `Open` request, in the change event's own task: the
/// load has started when that task ends, so a cancel right after the
/// choice stops it. Few, since each costs the page a lookup on disk.
const FIRST_PART: u32 = 16;

/// Sends chosen files to the worker in parts ([`Sending`]): the first
/// [`FIRST_PART`] at once, then parts of [`FILES_PER_MESSAGE`], each looked
/// up on disk first in tasks of a bounded length ([`look_up`]): a
/// 2,500-file folder sent in one task held the UI thread 1.2 s, and even
/// one part of 64 held it 40–110 ms on a loaded 2-core machine.
fn open(files: Array, names: Option<Array>, chosen_at_ms: f64) {
    let in_all = files.length();
    if in_all == 0 {
        return;
    }
    let mut sending = Sending::new(in_all as usize, chosen_at_ms);
    let part = |start: u32, end: u32| {
        (
            files.slice(start, end),
            names.as_ref().map(|n| n.slice(start, end)),
        )
    };
    let first = FIRST_PART.min(in_all);
    let (head, head_names) = part(0, first);
    sending.send(head, head_names);
    let parts: Vec<_> = (first..in_all)
        .step_by(FILES_PER_MESSAGE)
        .map(|start| part(start, (start + FILES_PER_MESSAGE as u32).min(in_all)))
        .collect();
    wasm_bindgen_futures::spawn_local(async move {
        // The change event's task is the first one looking up.
        let mut task_began_ms = chosen_at_ms;
        for (files, names) in parts {
            look_up(&files, &mut task_began_ms).await;
            sending.send(files, names);
        }
    });
}

/// How long (ms) the page looks files up in one task before it lets the
/// browser paint and take input.
const LOOK_UP_PER_TASK_MS: f64 = 8.0;

/// Has the browser look each of `files` up on disk, yielding to the page
/// whenever a task has run [`LOOK_UP_PER_TASK_MS`] since `task_began_ms`.
/// The first time a page posts a `File` (or reads its size) Chromium looks
/// the file up on disk, synchronously: 0.2–1.7 ms a file, by how busy the
/// disk and the machine are. Once its size is known, posting it costs
/// nothing (256 files: 1–2 ms against 70–80 ms untouched).
async fn look_up(files: &Array, task_began_ms: &mut f64) {
    for file in files.iter() {
        if js_sys::Date::now() - *task_began_ms >= LOOK_UP_PER_TASK_MS {
            crate::dom::next_task().await;
            *task_began_ms = js_sys::Date::now();
        }
        if let Some(file) = file.dyn_ref::<web_sys::File>() {
            let _ = file.size();
        }
    }
}

/// Files of dropped folders asked for at once: the browser answers a part
/// in one task. Of a 2,428-file folder, parts of 64 made long tasks of
/// 50–65 ms on a loaded 2-core machine (in a bare page too); parts of 32
/// none at first, in the same time in all (1.7–1.9 s), parts of 16 none
/// either but took 2.0–2.3 s. Later, with one core kept busy, parts of 32
/// made long tasks of 51 and 81 ms in two runs of three (and 104 ms once
/// in a CI run, over the test's 100); parts of 24 none in three, and a
/// dropped 300-file series was as fast (0.87–0.95 s to `ready`, 32:
/// 0.88–1.09 s).
const ASKED_AT_ONCE: usize = 24;

/// Sends dropped files: the `loose` ones (with their `names`), then those
/// of the folders' `found` entries. Each entry's `File` is a round trip to
/// the browser, which looks the file up on disk: asked one after another,
/// a dropped 300-file folder waited 211–259 ms before the worker had any
/// file; asked all at once, the browser answered a 2,429-file folder in one
/// task that held the UI thread 400–600 ms. So they are asked
/// [`ASKED_AT_ONCE`] at a time, the next part while this one is sent, each
/// part in a task of its own; the worker still gets them in messages of
/// [`FILES_PER_MESSAGE`].
async fn send_dropped(
    loose: Array,
    names: Array,
    found: Vec<FileSystemFileEntry>,
    dropped_at_ms: f64,
) {
    let in_all = loose.length() as usize + found.len();
    if in_all == 0 {
        return;
    }
    let mut sending = Sending::new(in_all, dropped_at_ms);
    let (mut files, mut part_names) = (loose, names);
    let mut parts = found.chunks(ASKED_AT_ONCE);
    let mut asking = parts.next().map(|part| (part, ask_for_files(part)));
    while let Some((part, answers)) = asking.take() {
        let results: Array = answers
            .await
            .map(JsCast::unchecked_into)
            .unwrap_or_default();
        asking = parts.next().map(|part| (part, ask_for_files(part)));
        for (i, file_entry) in part.iter().enumerate() {
            let result = results.get(i as u32);
            let file = js_sys::Reflect::get(&result, &"value".into()).ok();
            match file.filter(|f| f.is_instance_of::<web_sys::File>()) {
                Some(file) => {
                    files.push(&file);
                    part_names.push(&JsValue::from(
                        file_entry.full_path().trim_start_matches('/'),
                    ));
                }
                // Gone since the drop: left out.
                None => sending.in_all -= 1,
            }
        }
        while files.length() >= FILES_PER_MESSAGE as u32 {
            send_part(&mut sending, &mut files, &mut part_names);
        }
        crate::dom::next_task().await;
    }
    // What is left (every file, if none was in a folder); an empty part if
    // none could be had, so the worker says so.
    while files.length() > 0 || !sending.started {
        send_part(&mut sending, &mut files, &mut part_names);
        crate::dom::next_task().await;
    }
}

/// Asks the browser for the `File` of each of `entries`; settles when all
/// have answered (each `value` a `File`, or a rejection).
fn ask_for_files(entries: &[FileSystemFileEntry]) -> JsFuture {
    let asked: Array = entries
        .iter()
        .map(|file_entry| {
            JsValue::from(Promise::new(&mut |resolve, reject| {
                file_entry.file_with_callback_and_callback(&resolve, &reject);
            }))
        })
        .collect();
    JsFuture::from(Promise::all_settled(&asked))
}

/// Sends up to [`FILES_PER_MESSAGE`] of `files` (and their `names`), taken
/// off their front.
fn send_part(sending: &mut Sending, files: &mut Array, names: &mut Array) {
    let take = files.length().min(FILES_PER_MESSAGE as u32);
    sending.send(files.slice(0, take), Some(names.slice(0, take)));
    *files = files.slice(take, files.length());
    *names = names.slice(take, names.length());
}

/// An opening being sent to the worker: the first [`FILES_PER_MESSAGE`]
/// files with the `Open` request, the rest in messages of as many, so
/// the worker reads the first while the browser looks the others up (the
/// first time a page sends a `File`, about 0.2 ms a file in Chromium).
struct Sending {
    opening: u32,
    chosen_at_ms: f64,
    /// Files the folder has, as far as is known (fewer when one could not
    /// be had).
    in_all: usize,
    started: bool,
}

impl Sending {
    /// An opening of `in_all` files, chosen at `chosen_at_ms`.
    fn new(in_all: usize, chosen_at_ms: f64) -> Self {
        super::begin_loading(&format!("Reading {in_all} files…"));
        let opening = OPENINGS.with(|count| {
            count.set(count.get() + 1);
            count.get()
        });
        Self {
            opening,
            chosen_at_ms,
            in_all,
            started: false,
        }
    }

    /// Sends the next part.
    fn send(&mut self, files: Array, names: Option<Array>) {
        let request = if std::mem::replace(&mut self.started, true) {
            Request::MoreFiles {
                opening: self.opening,
                files_in_all: Some(self.in_all),
            }
        } else {
            Request::Open {
                chosen_at_ms: Some(self.chosen_at_ms),
                opening: self.opening,
                files_in_all: Some(self.in_all),
            }
        };
        super::link::send_with(request, Attachments::files(files, names));
    }
}

thread_local! {
    /// Openings sent so far: numbers each one's messages.
    static OPENINGS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Every file entry under `entry`, depth first, into `found`.
async fn walk(entry: FileSystemEntry, found: &mut Vec<FileSystemFileEntry>) {
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
}
