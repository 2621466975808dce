//! The segment panel: the list, the crop box's numbers, the value range,
//! the tools and their modes, undo and redo, and the exports. It sends
//! typed edits and shows what the worker answers; what a tool does is
//! decided in the segment crate.

use std::cell::Cell;

use glam::{DMat4, DVec3};
use insitu_mesh::PartsFormat;
use insitu_segment::files::LabelmapFormat;
use insitu_segment::{Anatomy, CropBox, Edit, Islands, OverlayStyle, SegmentName, ValueRange};
use js_sys::Array;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};

use super::link::send;
use super::{app, redraw};
use crate::dom::{by_test_id, element, number, on, set_data, set_enabled, typed};
use crate::protocol::{
    ClickTool, Failure, Request, SegmentExport, SegmentSurfaceSummary, SegmentsSummary,
    VolumeSummary,
};

/// What a click or drag in a 2D view does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    /// Move the crosshair (and window/level by dragging), as without
    /// segments.
    #[default]
    Navigate,
    /// A click grows the active segment from the clicked voxel.
    Grow,
    /// Dragging paints the active segment.
    Paint,
    /// Dragging erases the active segment.
    Erase,
    /// A click keeps only the piece clicked.
    KeepPiece,
    /// Dragging moves the crop box's nearest edge.
    Crop,
    /// A click cuts the active segment along the view's horizontal line
    /// there (the part above becomes a new segment): a vertebra split at a
    /// disc in a sagittal or coronal view.
    Cut,
    /// Clicks draw a measurement.
    Measure(insitu_measure::Kind),
    /// A click on a disc splits the vertebra there in two, and the
    /// vertebrae are named again (the spine panel's tool).
    SplitVertebra,
}

thread_local! {
    static TOOL: Cell<Tool> = const { Cell::new(Tool::Navigate) };
}

/// The tool in use.
pub fn tool() -> Tool {
    TOOL.with(Cell::get)
}

pub fn set_tool(tool: Tool) {
    let chosen = if self::tool() == tool {
        Tool::Navigate
    } else {
        tool
    };
    TOOL.with(|t| t.set(chosen));
    for (id, t) in [
        ("tool-grow", Tool::Grow),
        ("tool-paint", Tool::Paint),
        ("tool-erase", Tool::Erase),
        ("tool-crop", Tool::Crop),
        ("tool-cut", Tool::Cut),
        ("spine-split", Tool::SplitVertebra),
    ] {
        let _ = by_test_id(id).set_attribute("aria-pressed", &(chosen == t).to_string());
    }
    for (id, kind) in super::measure::TOOLS {
        let pressed = chosen == Tool::Measure(kind);
        let _ = by_test_id(id).set_attribute("aria-pressed", &pressed.to_string());
    }
    let name = match chosen {
        Tool::Measure(kind) => format!("measure-{kind:?}").to_lowercase(),
        other => format!("{other:?}").to_lowercase(),
    };
    set_data(&by_test_id("views"), "tool", &name);
}

/// The value range the panel sets.
pub fn range() -> ValueRange {
    let low = number("range-low").unwrap_or(226.0);
    let high = number("range-high").unwrap_or(3071.0);
    ValueRange {
        low: low.min(high) as f32,
        high: low.max(high) as f32,
    }
}

/// Brush radius (mm), shape and range as the panel sets them.
pub fn brush() -> (f64, bool, Option<ValueRange>) {
    let checked = |id| typed::<HtmlInputElement>(id).checked();
    (
        number("brush-mm").unwrap_or(5.0).clamp(0.5, 100.0),
        checked("brush-3d"),
        checked("brush-range").then(range),
    )
}

/// How segments are drawn over the 2D views: the fill slider and the
/// outline box.
pub fn overlay_style() -> OverlayStyle {
    OverlayStyle {
        opacity: (number("overlay-opacity").unwrap_or(40.0) / 100.0).clamp(0.0, 1.0) as f32,
        outline: typed::<HtmlInputElement>("overlay-outline").checked(),
    }
}

/// Sends an edit; the surfaces of what it changed follow.
pub fn edit(edit: Edit) {
    send(Request::Edit(edit));
    send(Request::SegmentSurfaces);
}

/// A tool clicked at `world` in a 2D view.
pub fn click_at(world: DVec3) {
    let tool = match tool() {
        Tool::Grow => ClickTool::Grow(range()),
        Tool::KeepPiece => ClickTool::KeepPiece,
        _ => return,
    };
    send(Request::ToolAt {
        world: world.to_array(),
        tool,
    });
    send(Request::SegmentSurfaces);
}

/// Hooks up the panel.
pub fn wire() {
    for id in ["overlay-opacity", "overlay-outline"] {
        on(&by_test_id(id), "input", |_: web_sys::Event| redraw());
    }
    let names: HtmlSelectElement = typed("segment-name");
    for a in Anatomy::ALL {
        let option = element("option", a.name());
        let _ = option.set_attribute("value", a.name());
        let _ = names.append_child(&option);
    }
    let presets: HtmlSelectElement = typed("range-preset");
    for (name, r) in ValueRange::PRESETS {
        let option = element("option", &format!("{name} ({} to {})", r.low, r.high));
        let _ = option.set_attribute("value", name);
        let _ = presets.append_child(&option);
    }
    on(&presets.clone(), "change", move |_: web_sys::Event| {
        if let Some((_, r)) = ValueRange::PRESETS
            .iter()
            .find(|(n, _)| *n == presets.value())
        {
            typed::<HtmlInputElement>("range-low").set_value(&r.low.to_string());
            typed::<HtmlInputElement>("range-high").set_value(&r.high.to_string());
        }
    });
    on(
        &by_test_id("segment-add"),
        "click",
        move |_: web_sys::Event| {
            let anatomy = Anatomy::from_name(&names.value());
            edit(Edit::Add { anatomy });
        },
    );
    on(
        &by_test_id("tool-threshold"),
        "click",
        |_: web_sys::Event| edit(Edit::Threshold { range: range() }),
    );
    for (id, t) in [
        ("tool-grow", Tool::Grow),
        ("tool-paint", Tool::Paint),
        ("tool-erase", Tool::Erase),
        ("tool-crop", Tool::Crop),
        ("tool-cut", Tool::Cut),
    ] {
        on(&by_test_id(id), "click", move |_: web_sys::Event| {
            set_tool(t)
        });
    }
    on(&by_test_id("tool-islands"), "click", |_: web_sys::Event| {
        let action = typed::<HtmlSelectElement>("islands-action").value();
        match action.as_str() {
            "clicked" => {
                TOOL.with(|t| t.set(Tool::Navigate));
                set_tool(Tool::KeepPiece);
                info(
                    "Click the piece to keep in a 2D view or on the 3D surface.",
                    false,
                );
            }
            "small" => edit(Edit::Islands(Islands::RemoveSmallerThan {
                voxels: number("islands-min").unwrap_or(1000.0).max(1.0) as usize,
            })),
            "split" => edit(Edit::Islands(Islands::Split)),
            _ => edit(Edit::Islands(Islands::KeepLargest)),
        }
    });
    on(
        &by_test_id("tool-fill-holes"),
        "click",
        |_: web_sys::Event| edit(Edit::FillHoles),
    );
    on(&by_test_id("tool-margin"), "click", |_: web_sys::Event| {
        edit(Edit::Margin {
            mm: number("margin-mm").unwrap_or(1.0),
        })
    });
    on(&by_test_id("tool-merge"), "click", |_: web_sys::Event| {
        if let Ok(from) = typed::<HtmlSelectElement>("merge-from").value().parse() {
            edit(Edit::Merge { from });
        }
    });
    on(&by_test_id("undo"), "click", |_: web_sys::Event| {
        edit(Edit::Undo)
    });
    on(&by_test_id("redo"), "click", |_: web_sys::Event| {
        edit(Edit::Redo)
    });
    on(&by_test_id("crop-apply"), "click", |_: web_sys::Event| {
        apply_crop_inputs()
    });
    on(&by_test_id("crop-reset"), "click", |_: web_sys::Event| {
        if let Some(v) = app().volume.borrow().as_ref() {
            edit(Edit::Crop {
                crop: CropBox::whole(v.dims),
            });
        }
    });
    for (id, what) in [
        ("export-3mf", SegmentExport::Model(PartsFormat::ThreeMf)),
        ("export-glb", SegmentExport::Model(PartsFormat::Glb)),
        (
            "export-segments-ply",
            SegmentExport::Model(PartsFormat::ColoredPly),
        ),
        ("export-segment-stl", SegmentExport::ActiveStl),
        (
            "export-seg-nrrd",
            SegmentExport::Labelmap(LabelmapFormat::SegNrrd),
        ),
        (
            "export-nifti",
            SegmentExport::Labelmap(LabelmapFormat::Nifti),
        ),
    ] {
        on(&by_test_id(id), "click", move |_: web_sys::Event| {
            send(Request::ExportSegments(what))
        });
    }
}

/// The crop box the numeric inputs give (inclusive voxel corners), sent,
/// and the views moved to its centre so it is seen.
fn apply_crop_inputs() {
    let Some(volume) = app().volume.borrow().clone() else {
        return;
    };
    let get = |id: &str, fallback: u32| number(id).map_or(fallback, |v| v.max(0.0) as u32);
    let d = volume.dims;
    let a = [get("crop-i0", 0), get("crop-j0", 0), get("crop-k0", 0)];
    let b = [
        get("crop-i1", d[0] - 1),
        get("crop-j1", d[1] - 1),
        get("crop-k1", d[2] - 1),
    ];
    let crop = CropBox::from_corners(a, b, d);
    edit(Edit::Crop { crop });
    let centre = DVec3::new(
        f64::from(crop.min[0] + crop.max[0]) / 2.0 - 0.5,
        f64::from(crop.min[1] + crop.max[1]) / 2.0 - 0.5,
        f64::from(crop.min[2] + crop.max[2]) / 2.0 - 0.5,
    );
    let world = DMat4::from_cols_array(&volume.voxel_to_world).transform_point3(centre);
    if let Some(v) = app().views.borrow_mut().as_mut() {
        v.crosshair = world;
    }
    redraw();
}

/// Shows a line under the tools (`error`: what failed).
pub fn info(text: &str, error: bool) {
    let p = by_test_id("segment-info");
    p.set_text_content(Some(text));
    set_data(&p, "state", if error { "error" } else { "ok" });
}

/// A new volume: an empty panel, ready for segments.
pub fn reset(volume: Option<&VolumeSummary>) {
    by_test_id("segment-list").set_inner_html("");
    by_test_id("merge-from").set_inner_html("");
    set_enabled("segment-add", volume.is_some());
    for id in [
        "undo",
        "redo",
        "export-3mf",
        "export-glb",
        "export-segments-ply",
        "export-segment-stl",
        "export-seg-nrrd",
        "export-nifti",
    ] {
        set_enabled(id, false);
    }
    *app().segments.borrow_mut() = None;
    if let Some(v) = volume {
        show_crop(&CropBox::whole(v.dims), v.dims);
    }
    info("", false);
}

/// The crop box in the numeric inputs (unless one is being typed in).
fn show_crop(crop: &CropBox, dims: [u32; 3]) {
    let focused = crate::dom::document()
        .active_element()
        .and_then(|e| e.get_attribute("data-testid"))
        .unwrap_or_default();
    for (a, axis) in ["i", "j", "k"].into_iter().enumerate() {
        for (end, value) in [("0", crop.min[a]), ("1", crop.max[a].saturating_sub(1))] {
            let id = format!("crop-{axis}{end}");
            if focused != id {
                typed::<HtmlInputElement>(&id).set_value(&value.to_string());
            }
        }
    }
    let whole = *crop == CropBox::whole(dims);
    let text = if whole {
        "whole volume".to_owned()
    } else {
        format!(
            "{} × {} × {} voxels",
            crop.max[0] - crop.min[0],
            crop.max[1] - crop.min[1],
            crop.max[2] - crop.min[2]
        )
    };
    let info = by_test_id("crop-info");
    info.set_text_content(Some(&text));
    set_data(&info, "whole", &whole.to_string());
}

/// The worker's answer to an edit: the list, the box, undo and redo, the
/// exports; the 2D views redraw with the overlay.
pub fn show(summary: SegmentsSummary) {
    super::spine::quiz_answer(summary.active);
    // The selected segment's name under the 3D view: click a vertebra
    // there (or in 2D) and it says which one it is.
    let selected = summary
        .active
        .and_then(|l| summary.segments.iter().find(|s| s.label == l))
        .map(|s| format!("Selected: {}", s.name));
    let readout = by_test_id("readout-3d");
    readout.set_text_content(selected.as_deref());
    set_data(&readout, "selected", selected.as_deref().unwrap_or(""));
    let app = app();
    // Names are written for the segments shown.
    let present: Vec<u8> = summary
        .segments
        .iter()
        .filter(|s| s.visible && s.voxels > 0)
        .map(|s| s.label)
        .collect();
    if let Some(v) = app.views.borrow_mut().as_mut() {
        v.present = present.clone();
    }
    if let Some(scene) = app.scene.borrow_mut().as_mut()
        && scene.present != present
    {
        scene.present = present;
        if !scene.names.is_empty() {
            scene.draw();
        }
    }
    let dims = app.volume.borrow().as_ref().map(|v| v.dims);
    let crop_changed = app
        .segments
        .borrow()
        .as_ref()
        .is_none_or(|old| old.crop != summary.crop);
    let list = by_test_id("segment-list");
    // A name being typed is not rebuilt under the user's fingers (the
    // next answer after it shows the list).
    let typing = crate::dom::document()
        .active_element()
        .is_some_and(|e| e.get_attribute("data-testid").as_deref() == Some("segment-name-input"));
    if !typing {
        list.set_inner_html("");
    }
    let merge = by_test_id("merge-from");
    merge.set_inner_html("");
    for row in summary.segments.iter().filter(|_| !typing) {
        let item = element("li", "");
        set_data(&item, "label", &row.label.to_string());
        set_data(&item, "voxels", &row.voxels.to_string());
        set_data(
            &item,
            "active",
            &(summary.active == Some(row.label)).to_string(),
        );
        set_data(&item, "visible", &row.visible.to_string());
        let swatch = element("span", "");
        let _ = swatch.set_attribute("class", "swatch");
        let [r, g, b] = row.color;
        if let Some(s) = swatch.dyn_ref::<web_sys::HtmlElement>() {
            let _ = s
                .style()
                .set_property("background", &format!("rgb({r}, {g}, {b})"));
        }
        let _ = swatch.set_attribute("title", "Edit this segment");
        let label = row.label;
        on(&swatch, "click", move |_: web_sys::Event| {
            edit(Edit::Select { label })
        });
        let name: HtmlInputElement = element("input", "").unchecked_into();
        name.set_type("text");
        name.set_value(&row.name);
        let _ = name.set_attribute("data-testid", "segment-name-input");
        let _ = name.set_attribute(
            "title",
            "A vocabulary name is kept with the study; text you type stays in memory and your exports only",
        );
        let typed_name = name.clone();
        on(&name, "change", move |_: web_sys::Event| {
            let text = typed_name.value();
            let name = match Anatomy::from_name(&text) {
                Some(a) => SegmentName::Anatomy(a),
                None if text.trim().is_empty() => SegmentName::Numbered(u32::from(label)),
                None => SegmentName::Typed(text.trim().to_owned()),
            };
            send(Request::Edit(Edit::Rename { label, name }));
        });
        let active = summary.active == Some(row.label);
        on(&item, "click", move |e: web_sys::Event| {
            let on_control = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|t| matches!(t.tag_name().as_str(), "INPUT" | "BUTTON"));
            if !active && !on_control {
                send(Request::Edit(Edit::Select { label }));
            }
        });
        let shown: HtmlInputElement = element("input", "").unchecked_into();
        shown.set_type("checkbox");
        shown.set_checked(row.visible);
        let _ = shown.set_attribute("title", "Shown in 2D, 3D and exports");
        let _ = shown.set_attribute("data-testid", "segment-visible");
        let checkbox = shown.clone();
        on(&shown, "change", move |_: web_sys::Event| {
            edit(Edit::Show {
                label,
                visible: checkbox.checked(),
            })
        });
        let voxels = element("span", &format!("{:.1} cm³", row.volume_mm3 / 1000.0));
        let _ = voxels.set_attribute("class", "voxels");
        let _ = voxels.set_attribute("title", &format!("{} voxels", row.voxels));
        let remove = element("button", "×");
        let _ = remove.set_attribute("class", "mini");
        let _ = remove.set_attribute("title", "Remove this segment");
        let _ = remove.set_attribute("data-testid", "segment-remove");
        on(&remove, "click", move |_: web_sys::Event| {
            edit(Edit::Remove { label })
        });
        let parts = Array::of5(&swatch, &name, &shown, &voxels, &remove);
        let _ = item.append_with_node(&parts);
        let _ = list.append_child(&item);
    }
    for row in summary
        .segments
        .iter()
        .filter(|s| summary.active != Some(s.label))
    {
        let option = element("option", &row.name);
        let _ = option.set_attribute("value", &row.label.to_string());
        let _ = merge.append_child(&option);
    }
    set_data(&list, "count", &summary.segments.len().to_string());
    set_enabled("undo", summary.undo > 0);
    set_enabled("redo", summary.redo > 0);
    let any = summary.segments.iter().any(|s| s.voxels > 0);
    for id in [
        "export-3mf",
        "export-glb",
        "export-segments-ply",
        "export-seg-nrrd",
        "export-nifti",
    ] {
        set_enabled(id, any);
    }
    let active = summary
        .segments
        .iter()
        .find(|s| Some(s.label) == summary.active);
    set_enabled("export-segment-stl", active.is_some_and(|s| s.voxels > 0));
    if let Some(dims) = dims {
        show_crop(&summary.crop, dims);
    }
    let text = match active {
        Some(s) => format!(
            "{}: {} voxels, {:.1} cm³ · last edit {} voxels in {:.0} ms",
            s.name,
            s.voxels,
            s.volume_mm3 / 1000.0,
            summary.changed,
            summary.edit_ms
        ),
        None => "Add a segment to use the tools.".into(),
    };
    info(&text, false);
    set_data(
        &by_test_id("segment-info"),
        "edit-ms",
        &format!("{:.1}", summary.edit_ms),
    );
    *app.segments.borrow_mut() = Some(summary);
    if crop_changed {
        super::replies::crop_changed();
    }
    redraw();
}

/// A segment edit that changed nothing: why, under the tools.
pub fn failed(error: &Failure) {
    if matches!(error, Failure::NothingThere) {
        // A quiz click on no vertebra is a wrong answer.
        super::spine::quiz_answer(None);
    }
    info(&error.to_string(), true);
}

/// One segment's surface (or the crop box's frame) for the 3D view.
pub fn show_surface(summary: SegmentSurfaceSummary, buffers: Array) {
    wasm_bindgen_futures::spawn_local(super::replies::show_part(summary, buffers));
}

/// The segments were (or were not) kept on this computer: counted on the
/// list, so tests know the cache holds the latest.
pub fn kept(kept: bool) {
    let list = by_test_id("segment-list");
    let attribute = if kept { "kept" } else { "not-kept" };
    let count = list
        .get_attribute(&format!("data-{attribute}"))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    set_data(&list, attribute, &(count + 1).to_string());
}
