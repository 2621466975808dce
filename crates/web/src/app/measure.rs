//! The measurement tools: clicks on a 2D view make a distance, an angle, a
//! Cobb angle or an HU region (the shape from `insitu_measure::Kind`), the
//! worker measures it; the list with select and delete, the CSV/JSON
//! exports, and the shapes drawn on every view whose plane holds them.

use std::cell::RefCell;

use glam::DVec3;
use insitu_measure::{Kind, Measurement, Value};
use insitu_volume::reslice::ViewAxis;

use super::link::send;
use super::segments::{Tool, set_tool, tool};
use super::{app, redraw};
use crate::dom::{by_test_id, element, on, set_data, set_enabled};
use crate::protocol::{MeasurementsFormat, Request};

thread_local! {
    /// Clicks of the shape being drawn (patient mm) and their view.
    static CLICKS: RefCell<(Option<ViewAxis>, Vec<DVec3>)> = const { RefCell::new((None, Vec::new())) };
}

/// The buttons and the tool each starts.
pub const TOOLS: [(&str, Kind); 4] = [
    ("measure-distance", Kind::Distance),
    ("measure-angle", Kind::Angle),
    ("measure-cobb", Kind::Cobb),
    ("measure-roi", Kind::Region),
];

/// Hooks up the panel.
pub fn wire() {
    for (id, kind) in TOOLS {
        on(&by_test_id(id), "click", move |_: web_sys::Event| {
            CLICKS.with(|c| *c.borrow_mut() = (None, Vec::new()));
            set_tool(Tool::Measure(kind));
        });
    }
    for (id, format) in [
        ("measure-export-csv", MeasurementsFormat::Csv),
        ("measure-export-json", MeasurementsFormat::Json),
    ] {
        on(&by_test_id(id), "click", move |_: web_sys::Event| {
            send(Request::ExportMeasurements(format))
        });
    }
}

/// A click at `world` on view `axis` with a measuring tool.
pub fn click(axis: ViewAxis, world: DVec3) {
    let Tool::Measure(kind) = tool() else { return };
    let (right, down) = {
        let app = app();
        let views = app.views.borrow();
        match views.as_ref().and_then(|v| v.plane(axis)) {
            Some(p) => (p.right, p.down),
            None => return,
        }
    };
    let shape = CLICKS.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != Some(axis) {
            *c = (Some(axis), Vec::new());
        }
        c.1.push(world);
        let shape = kind.shape(&c.1, right, down);
        if shape.is_some() {
            c.1.clear();
        }
        shape
    });
    if let Some(shape) = shape {
        send(Request::Measure { shape });
    }
    if let Some(v) = app().views.borrow_mut().as_mut() {
        v.pending = CLICKS.with(|c| c.borrow().1.clone());
    }
    redraw();
}

/// The value as the list and the views show it.
pub fn value_text(m: &Measurement) -> String {
    match m.value {
        Value::Mm { value } => format!("{value:.1} mm"),
        Value::Degrees { value } => format!("{value:.1}°"),
        Value::Hu(s) => format!(
            "mean {:.0} HU, SD {:.0}, {:.0} to {:.0}, {:.0} mm²",
            s.mean, s.sd, s.min, s.max, s.area_mm2
        ),
    }
}

fn number(m: &Measurement) -> f64 {
    match m.value {
        Value::Mm { value } | Value::Degrees { value } => value,
        Value::Hu(s) => s.mean,
    }
}

/// Shows the worker's list and draws it on the views.
pub fn show(items: Vec<Measurement>) {
    let list = by_test_id("measure-list");
    list.set_inner_html("");
    for m in &items {
        let li = element("li", "");
        set_data(&li, "id", &m.id.to_string());
        set_data(&li, "kind", m.shape.kind());
        set_data(&li, "value", &format!("{:.3}", number(m)));
        let text = element(
            "span",
            &format!("{} {}: {}", m.shape.kind(), m.id, value_text(m)),
        );
        let id = m.id;
        on(&text, "click", move |_: web_sys::Event| select(id));
        let _ = li.append_child(&text);
        let delete = element("button", "×");
        let _ = delete.set_attribute("class", "mini");
        let _ = delete.set_attribute("data-testid", "measure-delete");
        let _ = delete.set_attribute("title", "Delete");
        on(&delete, "click", move |_: web_sys::Event| {
            send(Request::Unmeasure { id })
        });
        let _ = li.append_child(&delete);
        let _ = list.append_child(&li);
    }
    let any = !items.is_empty();
    set_enabled("measure-export-csv", any);
    set_enabled("measure-export-json", any);
    if let Some(v) = app().views.borrow_mut().as_mut() {
        v.measurements = items;
    }
    redraw();
}

/// Highlights one measurement and moves the views to it.
fn select(id: u32) {
    let app = app();
    if let Some(v) = app.views.borrow_mut().as_mut() {
        v.selected_measurement = Some(id);
        if let Some(m) = v.measurements.iter().find(|m| m.id == id) {
            let points = m.shape.points();
            v.crosshair = points.iter().sum::<DVec3>() / points.len() as f64;
        }
    }
    for li in 0..by_test_id("measure-list").children().length() {
        if let Some(e) = by_test_id("measure-list").children().item(li) {
            let on = e.get_attribute("data-id").as_deref() == Some(&id.to_string());
            set_data(&e, "selected", &on.to_string());
        }
    }
    redraw();
}
