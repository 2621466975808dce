//! The side panel: series list, skipped files, volume facts, warnings,
//! surface facts and the tag browser.

use wasm_bindgen::JsCast;

use crate::dom::{by_test_id, element, on, set_data, set_enabled, set_visible};

use crate::protocol::{MadeOn, SeriesSummary, Skipped, SurfaceSummary, VolumeSummary};

fn clear_children(id: &str) {
    by_test_id(id).set_inner_html("");
}

/// "512 × 512 × 28 · 0.49 × 0.49 × 5.63 mm": a series entry's grid.
fn grid_text(dims: [u32; 3], spacing: [f64; 3]) -> String {
    format!(
        "{} × {} × {} · {:.2} × {:.2} × {:.2} mm",
        dims[0], dims[1], dims[2], spacing[0], spacing[1], spacing[2]
    )
}

/// The series found and the files skipped.
pub fn list_series(series: &[SeriesSummary], skipped: &Skipped) {
    clear_children("series-list");
    let list = by_test_id("series-list");
    for s in series {
        let item = element("li", "");
        set_data(&item, "index", &s.index.to_string());
        let _ = item.set_attribute("role", "option");
        let modality = s.modality.code();
        let title = if s.description.is_empty() {
            format!("{modality} series {}", s.index + 1)
        } else {
            format!("{modality} · {}", s.description)
        };
        let _ = item.append_child(&element("div", &title));
        let tilt = if s.tilt_degrees > 0.05 {
            format!(" · tilt {:.1}°", s.tilt_degrees)
        } else {
            String::new()
        };
        let _ = item.append_child(&element(
            "div",
            &format!("{}{tilt}", grid_text(s.dims, s.spacing_mm)),
        ));
        for w in &s.warnings {
            let warn = element("div", &format!("⚠ {w}"));
            let _ = warn.set_attribute("class", "warn");
            let _ = item.append_child(&warn);
        }
        let index = s.index;
        on(&item, "click", move |_: web_sys::Event| {
            super::load_series(index)
        });
        let _ = list.append_child(&item);
    }
    set_visible("series-empty", series.is_empty());
    by_test_id("skipped-count").set_text_content(Some(&skipped.in_all.to_string()));
    list_skipped(skipped);
    set_visible("skipped-files", skipped.in_all > 0);
}

/// What a folder holds, while its series is decoded.
pub fn show_scan(series: &[SeriesSummary], skipped: &Skipped, files: usize) {
    list_series(series, skipped);
    super::status(
        super::LoadState::Loading,
        &format!(
            "{files} files: {} series, {} skipped. Decoding…",
            series.len(),
            skipped.in_all
        ),
    );
}

/// The skipped files, then one line saying how many more there are.
fn list_skipped(skipped: &Skipped) {
    clear_children("skipped-list");
    let list = by_test_id("skipped-list");
    for s in &skipped.listed {
        let _ = list.append_child(&element("li", &s.to_string()));
    }
    let more = skipped.in_all - skipped.listed.len();
    if more > 0 {
        let item = element("li", &format!("… and {more} more, not listed"));
        let _ = item.set_attribute("class", "more");
        let _ = list.append_child(&item);
    }
}

/// The demo has no files: its one "series" is itself.
pub fn show_demo(v: &VolumeSummary) {
    clear_children("series-list");
    let item = element("li", "");
    let _ = item.set_attribute("role", "option");
    let _ = item.set_attribute("aria-selected", "true");
    let _ = item.append_child(&element(
        "div",
        &format!("{} · {}", v.modality.code(), v.title),
    ));
    let _ = item.append_child(&element("div", &grid_text(v.dims, v.spacing_mm)));
    let _ = by_test_id("series-list").append_child(&item);
    set_visible("series-empty", false);
    set_visible("skipped-files", false);
    clear_children("tag-rows");
}

/// Marks the loaded series in the list.
pub fn select_series(index: usize) {
    let items = by_test_id("series-list").children();
    for i in 0..items.length() {
        if let Some(item) = items.item(i) {
            let selected = item.get_attribute("data-index") == Some(index.to_string());
            let _ = item.set_attribute("aria-selected", if selected { "true" } else { "false" });
        }
    }
}

/// Dims, spacing and warnings of the loaded volume.
pub fn show_volume(v: &VolumeSummary) {
    by_test_id("volume-info").set_text_content(Some(&format!(
        "{}: {} × {} × {} voxels, {:.2} × {:.2} × {:.2} mm, {} ({:.0} to {:.0})",
        v.title,
        v.dims[0],
        v.dims[1],
        v.dims[2],
        v.spacing_mm[0],
        v.spacing_mm[1],
        v.spacing_mm[2],
        v.modality.code(),
        v.value_range.0,
        v.value_range.1
    )));
    clear_children("warnings");
    let list = by_test_id("warnings");
    for w in &v.warnings {
        let _ = list.append_child(&element("li", &w.to_string()));
    }
}

/// The surface's facts: how many triangles, closed or not, where it was
/// made and how long it took.
pub fn show_surface(s: &SurfaceSummary) {
    let info = by_test_id("mesh-info");
    // On the CPU, the whole reason (a driver's error chain) on hover.
    let (made, engine, why) = match &s.made_on {
        MadeOn::Cache { cached_at_ms } => {
            let when = js_sys::Date::new(&(*cached_at_ms).into());
            let date = String::from(
                when.to_locale_date_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED),
            );
            (
                format!("from the cache on this computer (made {date})"),
                "cache",
                String::new(),
            )
        }
        MadeOn::Gpu(adapter) => (
            format!(
                "on GPU ({adapter}) in {:.0} ms (+{:.0} ms clean-up)",
                s.extract_ms, s.cleanup_ms
            ),
            "gpu",
            String::new(),
        ),
        MadeOn::Cpu(reason) => (
            format!(
                "on {} in {:.0} ms (+{:.0} ms clean-up)",
                reason.brief_label(),
                s.extract_ms,
                s.cleanup_ms
            ),
            "cpu",
            reason.label(),
        ),
    };
    let _ = info.set_attribute("title", &why);
    // Too large to draw whole: the 3D view shows a lighter copy, and says so.
    let drawn = s.drawn_triangles.map_or_else(String::new, |n| {
        format!(" · 3D view: a preview of {n} triangles (exports and checks use all)")
    });
    info.set_text_content(Some(&format!(
        "{} triangles, {} vertices, {} · {} HU {made}{drawn}",
        s.facts.triangles,
        s.facts.vertices,
        match s.facts.watertight {
            Some(true) => "watertight",
            Some(false) => "open",
            None => "checking for holes…",
        },
        s.options.iso,
    )));
    set_data(
        &info,
        "drawn",
        &s.drawn_triangles.unwrap_or(s.facts.triangles).to_string(),
    );
    let checked = match s.facts.watertight {
        Some(true) => "yes",
        Some(false) => "no",
        None => "checking",
    };
    set_data(&info, "watertight", checked);
    set_data(&info, "triangles", &s.facts.triangles.to_string());
    set_data(&info, "engine", engine);
    set_data(&info, "state", "ready");
    set_enabled("make-surface", true);
}

/// The reduced loads a series too large for memory can be read with, as
/// buttons beside the message; none clears them.
pub fn show_reduced_offers(offers: &[insitu_volume::ReducedLoad]) {
    clear_children("reduced-offers");
    set_visible("reduced-offers", !offers.is_empty());
    let holder = by_test_id("reduced-offers");
    for offer in offers {
        let r = offer.reduction;
        let how = match (r.slice_step, r.block) {
            (1, b) => format!("{b}×{b} blocks"),
            (s, 1) => format!("every {}", nth(s)),
            (s, b) => format!("every {}, {b}×{b} blocks", nth(s)),
        };
        let [x, y, z] = offer.dims;
        let [sx, sy, sz] = offer.spacing_mm;
        let button = element(
            "button",
            &format!(
                "Load reduced: {how} ({x} × {y} × {z}, {sx:.2} × {sy:.2} × {sz:.2} mm, {:.2} GB)",
                offer.bytes as f64 / 1e9
            ),
        );
        let _ = button.set_attribute("type", "button");
        let _ = button.set_attribute("class", "mini");
        let _ = button.set_attribute("data-testid", "reduced-load");
        let _ = button.set_attribute("data-slice-step", &r.slice_step.to_string());
        let _ = button.set_attribute("data-block", &r.block.to_string());
        let (index, reduction) = (offer.series, r);
        on(&button, "click", move |_: web_sys::Event| {
            show_reduced_offers(&[]);
            super::begin_loading("Decoding, reduced…");
            super::link::send(crate::protocol::Request::LoadReduced { index, reduction });
        });
        let _ = holder.append_child(&button);
    }
}

fn nth(n: u32) -> String {
    match n {
        2 => "second slice".to_owned(),
        n => format!("{n}th slice"),
    }
}

/// The tag browser's rows (memory only; never persisted).
pub fn show_tags(_series: usize, entries: &[(String, String, String, String, usize)]) {
    clear_children("tag-rows");
    let body = by_test_id("tag-rows");
    for (tag, keyword, vr, value, depth) in entries {
        let row = element("tr", "");
        let indent = "› ".repeat(*depth);
        for text in [
            format!("{indent}{tag}"),
            keyword.clone(),
            vr.clone(),
            value.clone(),
        ] {
            let _ = row.append_child(&element("td", &text));
        }
        let _ = body.append_child(&row);
    }
    let filter: web_sys::HtmlInputElement = crate::dom::typed("tag-filter");
    filter.set_value("");
    on(&filter.clone(), "input", move |_: web_sys::Event| {
        let needle = filter.value().to_lowercase();
        let rows = by_test_id("tag-rows").children();
        for i in 0..rows.length() {
            if let Some(row) = rows
                .item(i)
                .and_then(|r| r.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let text = row.text_content().unwrap_or_default().to_lowercase();
                row.set_hidden(!needle.is_empty() && !text.contains(&needle));
            }
        }
    });
}

/// Empties everything the study filled in.
pub fn clear() {
    for id in ["series-list", "skipped-list", "warnings", "tag-rows"] {
        clear_children(id);
    }
    set_visible("series-empty", true);
    set_visible("skipped-files", false);
    by_test_id("volume-info").set_text_content(Some("—"));
    let info = by_test_id("mesh-info");
    info.set_text_content(Some("No surface yet."));
    let _ = info.remove_attribute("data-triangles");
    for id in ["make-surface", "close-study"] {
        set_enabled(id, false);
    }
    super::controls::enable_exports(false);
    for view in ["axial", "coronal", "sagittal", "3d"] {
        by_test_id(&format!("readout-{view}")).set_text_content(Some(""));
    }
}
