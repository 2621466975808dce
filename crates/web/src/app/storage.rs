//! What this computer keeps, shown and controlled by the user: the cache
//! manager (every cached volume with its size, total usage, delete one,
//! clear all), the "keep nothing on this computer" setting (localStorage;
//! the study worker then writes nothing), and the privacy panel, written
//! from the store's own description of its schema.

use insitu_store::{Store, VolumeRecord, storage_description};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

use crate::dom::{by_test_id, element, on, set_data, typed};

use crate::cache::DATABASE;
const KEEP_NOTHING: &str = "insitu.keep-nothing";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The user asked that nothing be kept on this computer.
pub fn keep_nothing() -> bool {
    local_storage()
        .and_then(|s| s.get_item(KEEP_NOTHING).ok().flatten())
        .as_deref()
        == Some("1")
}

/// Wires the panel and fills it.
pub fn wire() {
    let toggle: HtmlInputElement = typed("keep-nothing");
    toggle.set_checked(keep_nothing());
    on(&toggle.clone(), "change", move |_: web_sys::Event| {
        let on = toggle.checked();
        if let Some(s) = local_storage() {
            let _ = if on {
                s.set_item(KEEP_NOTHING, "1")
            } else {
                s.remove_item(KEEP_NOTHING)
            };
        }
        super::link::send(crate::protocol::Request::SetCache { keep: !on });
        wasm_bindgen_futures::spawn_local(async move {
            if on {
                super::look::forget();
                clear_all().await;
            }
            refresh().await;
        });
    });
    on(&by_test_id("cache-clear"), "click", |_: web_sys::Event| {
        wasm_bindgen_futures::spawn_local(async {
            clear_all().await;
            refresh().await;
        });
    });
    let rows = by_test_id("privacy-rows");
    for (what, where_, holds) in storage_description() {
        let tr = element("tr", "");
        for text in [what, where_, holds] {
            let _ = tr.append_child(&element("td", text));
        }
        let _ = rows.append_child(&tr);
    }
    if !keep_nothing()
        && let Some(storage) = web_sys::window().map(|w| w.navigator().storage())
        && let Ok(asked) = storage.persist()
    {
        // Ask the browser not to evict the cache under storage pressure.
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(asked).await;
        });
    }
    wasm_bindgen_futures::spawn_local(refresh());
}

async fn clear_all() {
    if let Ok(store) = Store::open(DATABASE).await {
        if let Err(e) = store.clear().await {
            web_sys::console::warn_1(&format!("insitu: clearing the cache: {e}").into());
        }
        store.close();
    }
}

fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// Lists the cached volumes and the origin's usage.
pub async fn refresh() {
    let list = by_test_id("cache-entries");
    list.set_inner_html("");
    let entries = match Store::open(DATABASE).await {
        Ok(store) => {
            let entries = store.volumes().await.unwrap_or_default();
            store.close();
            entries
        }
        Err(e) => {
            list.set_text_content(Some(&format!("Cache unavailable: {e}")));
            Vec::new()
        }
    };
    set_data(&list, "count", &entries.len().to_string());
    for (key, record) in entries {
        let li = element("li", "");
        let _ = li.append_child(&thumbnail(&record));
        let _ = li.append_child(&element("span", &describe(&record)));
        let open = element("button", "Open");
        let _ = open.set_attribute("type", "button");
        let _ = open.set_attribute("class", "mini");
        let _ = open.set_attribute("data-testid", "cache-open");
        let open_key = key.clone();
        on(&open, "click", move |_: web_sys::Event| {
            let clicked_at_ms = js_sys::Date::now();
            super::begin_loading("Opening from the cache…");
            super::link::send(crate::protocol::Request::OpenCached {
                key: open_key.clone(),
                clicked_at_ms: Some(clicked_at_ms),
            });
        });
        let _ = li.append_child(&open);
        let delete = element("button", "Delete");
        let _ = delete.set_attribute("type", "button");
        let _ = delete.set_attribute("class", "mini");
        let _ = delete.set_attribute("data-testid", "cache-delete");
        on(&delete, "click", move |_: web_sys::Event| {
            let key = key.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(store) = Store::open(DATABASE).await {
                    let _ = store.delete_volume(&key).await;
                    store.close();
                }
                refresh().await;
            });
        });
        let _ = li.append_child(&delete);
        let _ = list.append_child(&li);
    }
    let usage = by_test_id("cache-usage");
    let text = match web_sys::window().map(|w| w.navigator().storage().estimate()) {
        Some(Ok(promise)) => match JsFuture::from(promise).await {
            Ok(estimate) => {
                let estimate: web_sys::StorageEstimate = estimate.unchecked_into();
                format!(
                    "{} used of {} available to this app",
                    megabytes(estimate.get_usage().unwrap_or(0.0)),
                    megabytes(estimate.get_quota().unwrap_or(0.0))
                )
            }
            Err(_) => "usage unknown".into(),
        },
        _ => "usage unknown".into(),
    };
    usage.set_text_content(Some(&text));
}

/// The record's grey preview on a small canvas.
fn thumbnail(record: &VolumeRecord) -> web_sys::Element {
    let canvas = crate::dom::document()
        .create_element("canvas")
        .expect("a canvas element");
    let t = &record.thumbnail;
    if let Ok(canvas) = canvas.clone().dyn_into::<web_sys::HtmlCanvasElement>() {
        canvas.set_width(t.width.max(1));
        canvas.set_height(t.height.max(1));
        let rgba: Vec<u8> = t.grey.iter().flat_map(|&g| [g, g, g, 255]).collect();
        if let (Some(ctx), Ok(image)) = (
            canvas
                .get_context("2d")
                .ok()
                .flatten()
                .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok()),
            web_sys::ImageData::new_with_u8_clamped_array_and_sh(
                wasm_bindgen::Clamped(&rgba),
                t.width.max(1),
                t.height.max(1),
            ),
        ) {
            let _ = ctx.put_image_data(&image, 0.0, 0.0);
        }
    }
    let _ = canvas.set_attribute("class", "thumbnail");
    canvas
}

/// One line per cached volume: modality, dims, spacing, size, date cached.
fn describe(record: &VolumeRecord) -> String {
    let spacing: Vec<String> = record
        .steps_mm
        .iter()
        .map(|s| format!("{:.2}", (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt()))
        .collect();
    format!(
        "{} · {} × {} × {} · {} mm · {} · cached {} ",
        record.modality.code(),
        record.dims[0],
        record.dims[1],
        record.dims[2],
        spacing.join(" × "),
        megabytes(record.voxel_bytes() as f64),
        day_of(record.cached_at_ms)
    )
}

/// `2026-12-01`, the local date of `ms` since the epoch: read from the
/// date's fields, since the first `toLocaleDateString` of a page loads the
/// locale's data and held the UI thread for tens of milliseconds.
fn day_of(ms: f64) -> String {
    let date = js_sys::Date::new(&ms.into());
    format!(
        "{:04}-{:02}-{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date()
    )
}
