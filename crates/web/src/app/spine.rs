//! The spine panel: find the vertebrae, the list of them with their
//! heights and flags, the spine's angles, how sure the level names are, and
//! moving the names by a level; the names drawn on the 2D views. What is
//! found and measured is decided in `insitu_spine`; this shows it.

use glam::DVec3;
use insitu_spine::{Anchor, Flag, ReportFormat, Revision, Spine};
use insitu_volume::phantom::Variant;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};

use super::link::send;
use super::views::{BodyHeights, VertebraName};
use super::{app, redraw};
use crate::dom::{by_test_id, element, on, set_data, set_enabled, typed};
use crate::protocol::{Failure, Request, SpineCause};

/// Hooks up the panel.
pub fn wire() {
    on(&by_test_id("spine-run"), "click", |_: web_sys::Event| {
        find()
    });
    on(&by_test_id("quiz-start"), "click", |_: web_sys::Event| {
        toggle_quiz()
    });
    on(&by_test_id("explode"), "input", |_: web_sys::Event| {
        explode()
    });
    on(&by_test_id("spine-cancel"), "click", |_: web_sys::Event| {
        send(Request::Cancel)
    });
    for (id, by) in [("spine-shift-up", -1), ("spine-shift-down", 1)] {
        on(&by_test_id(id), "click", move |_: web_sys::Event| {
            send(Request::ShiftLevels { by });
            send(Request::SegmentSurfaces);
        });
    }
    on(&by_test_id("spine-split"), "click", |_: web_sys::Event| {
        super::segments::set_tool(super::segments::Tool::SplitVertebra)
    });
    // One listener for the list (it is rebuilt with every report): a merge
    // button merges, a "measured" button drops the height lines placed by
    // hand; a click elsewhere on a vertebra's row goes to it.
    on(&by_test_id("spine-list"), "click", |e: web_sys::Event| {
        let Some(target) = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let label = target
            .get_attribute("data-label")
            .and_then(|l| l.parse::<u8>().ok());
        match (target.get_attribute("data-testid").as_deref(), label) {
            (Some("spine-merge"), Some(label)) => {
                info("Merging…", "running");
                send(Request::ReviseSpine(Revision::MergeWithBelow { label }));
                send(Request::SegmentSurfaces);
            }
            (Some("spine-heights-measured"), Some(label)) => {
                revise_heights(Revision::MeasureHeights { label });
            }
            _ => {
                if let Ok(Some(row)) = target.closest("li") {
                    go_to(&row);
                }
            }
        }
    });
    on(
        &by_test_id("labels-toggle"),
        "change",
        |_: web_sys::Event| apply_names_shown(),
    );
    for (id, format) in [
        ("spine-export-csv", ReportFormat::Csv),
        ("spine-export-json", ReportFormat::Json),
    ] {
        on(&by_test_id(id), "click", move |_: web_sys::Event| {
            send(Request::ExportSpine(format))
        });
    }
    on(
        &by_test_id("heights-toggle"),
        "change",
        |_: web_sys::Event| {
            if let Some(views) = app().views.borrow_mut().as_mut() {
                views.show_heights = heights_shown();
            }
            redraw();
        },
    );
    let variants: HtmlSelectElement = typed("demo-variant");
    for (variant, text) in [
        (Variant::Normal, "normal"),
        (Variant::Scoliosis, "scoliosis 25°"),
        (Variant::L1Wedge, "L1 wedge fracture"),
    ] {
        let option = element("option", text);
        let _ = option.set_attribute("value", variant.key());
        let _ = variants.append_child(&option);
    }
}

/// A click with the split tool in a 2D view: the vertebra there is two;
/// the tool is put down after one split.
pub fn split_at(world: DVec3) {
    super::segments::set_tool(super::segments::Tool::SplitVertebra);
    info("Splitting…", "running");
    send(Request::ReviseSpine(Revision::SplitAt {
        point: world.to_array(),
    }));
    send(Request::SegmentSurfaces);
}

/// A click with the split tool in the 3D view: the vertebra where it
/// points is split at the gap nearest the point it hits.
pub fn split_along(origin: DVec3, direction: DVec3) {
    super::segments::set_tool(super::segments::Tool::SplitVertebra);
    info("Splitting…", "running");
    send(Request::SplitVertebraAlong {
        origin: origin.to_array(),
        direction: direction.to_array(),
    });
    send(Request::SegmentSurfaces);
}

/// Moves the 2D views to the body of the vertebra on list row `row` (its
/// measured centre, else its voxels' centre): the sagittal view then cuts
/// its middle, where its heights are drawn, their values written beside
/// them. The row is marked selected.
fn go_to(row: &web_sys::Element) {
    let Some(at) = row.get_attribute("data-at").and_then(|a| {
        let v: Vec<f64> = a.split(',').filter_map(|c| c.parse().ok()).collect();
        (v.len() == 3).then(|| DVec3::new(v[0], v[1], v[2]))
    }) else {
        return;
    };
    if let Some(views) = app().views.borrow_mut().as_mut() {
        views.crosshair = at;
        views.picked_vertebra = row.get_attribute("data-label").and_then(|l| l.parse().ok());
    }
    let rows = by_test_id("spine-list").children();
    for n in 0..rows.length() {
        if let Some(other) = rows.item(n) {
            set_data(&other, "selected", &(other == *row).to_string());
        }
    }
    redraw();
}

/// The demo variant chosen in the toolbar.
pub fn demo_variant() -> Variant {
    Variant::from_key(&typed::<HtmlSelectElement>("demo-variant").value()).unwrap_or_default()
}

/// Half a body's height (mm) where it was not measured (cut by the scan,
/// the sacrum): a thoracic body's.
const HALF_HEIGHT_UNMEASURED_MM: f64 = 10.0;

/// Whether the views write the vertebrae's names: as the toggle says,
/// and never while the quiz asks for one.
fn names_shown() -> bool {
    typed::<HtmlInputElement>("labels-toggle").checked() && !quiz_active()
}

/// Whether the sagittal view draws the body heights' lines.
fn heights_shown() -> bool {
    typed::<HtmlInputElement>("heights-toggle").checked()
}

/// Where `spine`'s body heights were read, for the 2D views.
fn body_heights(spine: &Spine) -> Vec<BodyHeights> {
    spine
        .vertebrae
        .iter()
        .filter_map(|v| {
            let (lines, frame) = (v.height_lines_mm?, v.frame?);
            Some(BodyHeights {
                name: v.name.clone(),
                label: v.label,
                lines: [lines.anterior, lines.middle, lines.posterior].map(|l| (l.from, l.to)),
                centre: frame.centre,
                lateral: frame.lateral,
                half_width_mm: frame.half_width_mm,
                fractured: v.flags.iter().any(|f| f.fracture_grade().is_some()),
            })
        })
        .collect()
}

/// Writes the names on the 2D and 3D views, or takes them off, as
/// [`names_shown`] says now.
fn apply_names_shown() {
    if let Some(views) = app().views.borrow_mut().as_mut() {
        views.show_names = names_shown();
    }
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.show_names = names_shown();
        scene.draw();
    }
    redraw();
}

/// Asks for the analysis of the open volume.
pub fn find() {
    ask(false);
}

/// Asks for it unless the volume has segments (the demo, reopened).
pub fn find_if_unlabelled() {
    ask(true);
}

fn ask(if_unlabelled: bool) {
    info("Finding the vertebrae…", "running");
    set_enabled("spine-cancel", true);
    send(Request::FindSpine { if_unlabelled });
    send(Request::SegmentSurfaces);
}

fn info(text: &str, state: &str) {
    let p = by_test_id("spine-info");
    p.set_text_content(Some(text));
    set_data(&p, "state", state);
}

/// A new volume: nothing found yet.
pub fn reset(open: bool) {
    by_test_id("spine-list").set_inner_html("");
    by_test_id("spine-angles").set_text_content(None);
    by_test_id("spine-levels").set_text_content(None);
    info(if open { "" } else { "Open a CT first." }, "idle");
    set_enabled("spine-run", open);
    set_enabled("spine-cancel", false);
    for id in [
        "spine-shift-up",
        "spine-shift-down",
        "spine-split",
        "quiz-start",
        "spine-export-csv",
        "spine-export-json",
    ] {
        set_enabled(id, false);
    }
    // A quiz on the last volume's vertebrae ends with it.
    QUIZ.with(|q| *q.borrow_mut() = Quiz::default());
    by_test_id("quiz-question").set_text_content(None);
}

/// Progress of the analysis (thousandths).
pub fn progress(done: usize, total: usize) {
    let percent = (100 * done).checked_div(total).unwrap_or(0);
    info(&format!("Finding the vertebrae… {percent}%"), "running");
}

/// The analysis stopped: cancelled, or failed.
pub fn stopped(failure: Option<&Failure>) {
    set_enabled("spine-cancel", false);
    match failure {
        Some(f @ Failure::CannotShift) => info(&format!("{f}: a name would leave C1–L5."), "error"),
        Some(f @ (Failure::Revision(_) | Failure::NothingThere)) => {
            info(&format!("Not changed: {f}."), "error");
            // A line dragged and refused goes back to where it was.
            if let Some(views) = app().views.borrow_mut().as_mut() {
                views.heights = SHOWN_HEIGHTS.with(|h| h.borrow().clone());
            }
            redraw();
        }
        Some(f) => info(&format!("No spine: {f}"), "error"),
        None => info("Cancelled.", "idle"),
    }
}

/// Sends a change of a body's heights (placed by hand, or measured again);
/// the panel says the report is being measured again meanwhile (every
/// body is graded again: seconds on a real CT).
pub fn revise_heights(revision: Revision) {
    info("Measuring the heights again…", "running");
    send(Request::ReviseSpine(revision));
}

/// A small button on a vertebra's row in the list, for the list's one
/// click listener (`test_id`, the vertebra's `label`).
fn row_button(text: &str, test_id: &str, label: u8, title: &str) -> web_sys::Element {
    let button = element("button", text);
    for (name, value) in [
        ("type", "button"),
        ("class", "mini"),
        ("data-testid", test_id),
        ("data-label", &label.to_string()),
        ("title", title),
    ] {
        let _ = button.set_attribute(name, value);
    }
    button
}

/// The demo kept the segments made on it: no analysis.
pub fn skipped() {
    set_enabled("spine-cancel", false);
    info(
        "Kept the segments made on this demo; Find vertebrae labels it again.",
        "idle",
    );
}

fn anchor_text(anchor: Anchor) -> &'static str {
    match anchor {
        Anchor::Sacrum => "counted up from the sacrum",
        Anchor::LowestRib => "the lowest rib-bearing vertebra taken as T12",
        Anchor::HighestRib => "the highest rib-bearing vertebra taken as T1",
        Anchor::AssumedLowestThoracic => "no anchor in view: the lowest vertebra assumed to be T12",
        Anchor::AssumedLowestLumbar => "no anchor in view: the lowest vertebra assumed to be L5",
        Anchor::User => "moved by you",
    }
}

/// An anchor as the subject of a sentence.
fn anchor_noun(anchor: Anchor) -> &'static str {
    match anchor {
        Anchor::Sacrum => "the sacrum",
        Anchor::LowestRib => "the lowest rib",
        Anchor::HighestRib => "the highest rib",
        Anchor::AssumedLowestThoracic | Anchor::AssumedLowestLumbar => "an assumption",
        Anchor::User => "your shift",
    }
}

/// Shows a spine found (or renamed): the list, the angles, the levels, the
/// names on the views; the first time, the views go to the spine.
pub fn show(spine: &Spine, cause: SpineCause) {
    set_enabled("spine-cancel", false);
    let list = by_test_id("spine-list");
    list.set_inner_html("");
    let lowest_mobile = spine
        .vertebrae
        .iter()
        .rfind(|v| v.name != "sacrum")
        .map(|v| v.label);
    for v in &spine.vertebrae {
        let mut text = format!("{} · {:.1} ml", v.name, v.volume_ml);
        if let Some(h) = v.heights_mm {
            text.push_str(&format!(
                " · heights {:.1} / {:.1} / {:.1} mm",
                h.anterior, h.middle, h.posterior
            ));
        }
        if v.ribs {
            text.push_str(" · ribs");
        }
        let flags: Vec<String> = v.flags.iter().map(Flag::summary).collect();
        if !flags.is_empty() {
            text.push_str(&format!(" · {}", flags.join(", ")));
        }
        let li = element("li", &text);
        set_data(&li, "name", &v.name);
        set_data(&li, "label", &v.label.to_string());
        set_data(&li, "voxels", &v.voxels.to_string());
        if let Some(h) = v.heights_mm {
            set_data(
                &li,
                "heights",
                &format!("{},{},{}", h.anterior, h.middle, h.posterior),
            );
        }
        if let Some(f) = v.frame {
            let c = f.centre;
            set_data(&li, "centre", &format!("{},{},{}", c.x, c.y, c.z));
        }
        // Where a click on the row takes the views.
        let at = v.frame.map_or(DVec3::from(v.centroid_mm), |f| f.centre);
        set_data(&li, "at", &format!("{},{},{}", at.x, at.y, at.z));
        let _ = li.set_attribute("title", &format!("Go to {}", v.name));
        if v.flags.iter().any(|f| f.fracture_grade().is_some()) {
            let _ = li.class_list().add_1("flagged");
        }
        if v.name != "sacrum" && Some(v.label) != lowest_mobile {
            let title = format!(
                "{} and the vertebra below are one: merge them and name all again",
                v.name
            );
            let _ = li.append_child(&row_button("join ↓", "spine-merge", v.label, &title));
        }
        if v.flags.contains(&Flag::HeightsSetByHand) {
            let title = format!(
                "Drop the height lines placed on {} by hand: its heights as measured",
                v.name
            );
            let button = row_button("measured ↺", "spine-heights-measured", v.label, &title);
            let _ = li.append_child(&button);
        }
        let _ = list.append_child(&li);
    }
    let a = &spine.angles;
    let mut angles = Vec::new();
    let angles_el = by_test_id("spine-angles");
    if let Some(l) = a.lumbar_lordosis_deg {
        angles.push(format!("lumbar lordosis (L1–S1) {l:.1}°"));
        set_data(&angles_el, "lordosis", &format!("{l:.2}"));
    }
    if let Some(k) = a.thoracic_kyphosis_deg {
        angles.push(format!("thoracic kyphosis (T4–T12) {k:.1}°"));
        set_data(&angles_el, "kyphosis", &format!("{k:.2}"));
    }
    if let Some(c) = &a.cobb {
        angles.push(format!(
            "coronal Cobb {:.1}° ({}–{})",
            c.degrees, c.from, c.to
        ));
        set_data(&angles_el, "cobb", &format!("{:.2}", c.degrees));
    }
    angles_el.set_text_content(Some(&angles.join(" · ")));
    let levels = by_test_id("spine-levels");
    let sure = if spine.levels.confidence >= 0.8 {
        "Levels"
    } else {
        "Levels uncertain"
    };
    // Said when bone had to be read below 180 HU: the split and the
    // heights are rougher there, and a body's own front, middle and back
    // are compared only for a moderate or severe wedge (Genant 2 or 3)
    // that its endplates' lean bears out; a crushed body is told against
    // its neighbours.
    let dim = if spine.bone_hu < 180.0 {
        format!(
            " · low-density bone: read from {:.0} HU, only wedges of 25% or more graded on their own",
            spine.bone_hu
        )
    } else {
        String::new()
    };
    // Said when the CT was read in blocks for its noise: outlines are as
    // coarse as the blocks.
    let noisy = spine
        .noise_note()
        .map_or(String::new(), |note| format!(" · {note}"));
    // Said when the patient lay turned on the table.
    let turned = spine
        .turn_note()
        .map_or(String::new(), |note| format!(" · {note}"));
    // Where the anchors disagree, what each other one would call the top.
    let others: String = spine
        .levels
        .disagreeing()
        .iter()
        .map(|(anchor, name)| {
            format!(
                " · {} would name the top vertebra {name}",
                anchor_noun(*anchor)
            )
        })
        .collect();
    levels.set_text_content(Some(&format!(
        "{sure}: {} (confidence {:.0}%){others}{dim}{noisy}{turned}",
        anchor_text(spine.levels.anchor),
        spine.levels.confidence * 100.0
    )));
    set_data(&levels, "bone-hu", &format!("{:.0}", spine.bone_hu));
    set_data(
        &levels,
        "averaged-for-noise",
        &spine.averaged_for_noise.to_string(),
    );
    set_data(&levels, "confidence", &spine.levels.confidence.to_string());
    set_data(&levels, "anchor", &format!("{:?}", spine.levels.anchor));
    let count = spine.vertebrae.len();
    let done = match cause {
        SpineCause::Analysed { ms } => format!("{count} vertebrae in {:.1} s", ms / 1000.0),
        SpineCause::Renamed => format!("{count} vertebrae, renamed"),
        SpineCause::Revised => format!("{count} vertebrae, revised"),
        SpineCause::HeightPlaced => format!("{count} vertebrae, a height set by hand"),
        SpineCause::HeightsMeasured => format!("{count} vertebrae, heights measured again"),
        SpineCause::Reopened => format!("{count} vertebrae, as kept with this study"),
    };
    info(&done, "ready");
    let info_element = by_test_id("spine-info");
    let ms = match cause {
        SpineCause::Analysed { ms } => format!("{ms:.0}"),
        _ => "0".to_owned(),
    };
    set_data(&info_element, "ms", &ms);
    set_data(&info_element, "cause", cause.name());
    for id in [
        "spine-shift-up",
        "spine-shift-down",
        "spine-split",
        "quiz-start",
        "spine-export-csv",
        "spine-export-json",
    ] {
        set_enabled(id, true);
    }
    BODIES.with(|b| {
        *b.borrow_mut() = spine
            .vertebrae
            .iter()
            .filter_map(|v| v.frame.map(|f| (v.label, f.centre)))
            .collect();
    });
    explode();
    let names: Vec<VertebraName> = spine
        .vertebrae
        .iter()
        .map(|v| {
            let body = v.frame.map_or(DVec3::from(v.centroid_mm), |f| f.centre);
            let at = v
                .frame
                .map_or(body, |f| f.centre + f.anterior * (f.half_depth_mm + 10.0));
            // Half the body's height: its tallest (a concave endplate's
            // middle is the lowest).
            let half_height = v
                .heights_mm
                .map_or(HALF_HEIGHT_UNMEASURED_MM, |h| h.tallest() / 2.0);
            VertebraName {
                name: v.name.clone(),
                at,
                body,
                extent: v.frame.map(|f| {
                    [
                        (f.up, half_height),
                        (f.anterior, f.half_depth_mm),
                        (f.lateral, f.half_width_mm),
                    ]
                }),
                label: v.label,
            }
        })
        .collect();
    let app = app();
    if let Some(scene) = app.scene.borrow_mut().as_mut() {
        scene.names = spine
            .vertebrae
            .iter()
            .zip(&names)
            .map(|(v, n)| (n.name.clone(), u32::from(v.label), n.at.as_vec3()))
            .collect();
        scene.show_names = names_shown();
        scene.draw();
    }
    if let Some(views) = app.views.borrow_mut().as_mut() {
        let first = views.names.is_empty();
        views.names = names;
        views.show_names = names_shown();
        views.heights = body_heights(spine);
        SHOWN_HEIGHTS.with(|h| *h.borrow_mut() = views.heights.clone());
        views.show_heights = heights_shown();
        if first && matches!(cause, SpineCause::Analysed { .. }) {
            // The views go to the middle of the spine, once.
            let centres: Vec<DVec3> = spine
                .vertebrae
                .iter()
                .filter_map(|v| v.frame.map(|f| f.centre))
                .collect();
            if !centres.is_empty() {
                views.crosshair = centres.iter().sum::<DVec3>() / centres.len() as f64;
            }
        }
    }
    redraw();
}

/// The quiz: which vertebra to click, whether a click is being checked,
/// and the score.
#[derive(Default)]
struct Quiz {
    target: Option<(String, u8)>,
    awaiting: bool,
    right: u32,
    wrong: u32,
}

thread_local! {
    static QUIZ: std::cell::RefCell<Quiz> = std::cell::RefCell::default();
}

/// Whether a quiz is running (clicks answer it rather than move the views).
pub fn quiz_active() -> bool {
    QUIZ.with(|q| q.borrow().target.is_some())
}

/// A click (2D or 3D) went to the worker as a "select": the answer follows.
pub fn quiz_clicked() {
    QUIZ.with(|q| q.borrow_mut().awaiting = true);
}

/// Asks for a vertebra chosen at random from the list.
fn next_question() {
    let list = by_test_id("spine-list");
    let items = list.children();
    let names: Vec<(String, u8)> = (0..items.length())
        .filter_map(|i| items.item(i))
        .filter_map(|li| {
            let name = li.get_attribute("data-name")?;
            let label = li.get_attribute("data-label")?.parse().ok()?;
            (name != "sacrum").then_some((name, label))
        })
        .collect();
    if names.is_empty() {
        return;
    }
    let pick = ((js_sys::Math::random() * names.len() as f64) as usize).min(names.len() - 1);
    let (name, label) = names[pick].clone();
    let question = by_test_id("quiz-question");
    question.set_text_content(Some(&format!("Click {name} (in 2D or 3D)")));
    set_data(&question, "target", &name);
    QUIZ.with(|q| {
        let mut q = q.borrow_mut();
        q.target = Some((name, label));
        q.awaiting = false;
    });
}

fn show_score() {
    let (right, wrong) = QUIZ.with(|q| (q.borrow().right, q.borrow().wrong));
    let score = by_test_id("quiz-score");
    score.set_text_content(Some(&format!("{right} right, {wrong} wrong")));
    set_data(&score, "right", &right.to_string());
    set_data(&score, "wrong", &wrong.to_string());
}

/// The worker's answer to a quiz click: the segment it selected (`None`:
/// the click hit no vertebra).
pub fn quiz_answer(selected: Option<u8>) {
    let verdict = QUIZ.with(|q| {
        let mut q = q.borrow_mut();
        if !std::mem::take(&mut q.awaiting) {
            return None;
        }
        let (name, label) = q.target.clone()?;
        let right = selected == Some(label);
        if right {
            q.right += 1;
        } else {
            q.wrong += 1;
        }
        Some((right, name))
    });
    let Some((right, name)) = verdict else { return };
    let answer = by_test_id("quiz-answer");
    answer.set_text_content(Some(&if right {
        format!("Right: that is {name}.")
    } else {
        format!("Not {name}: it is highlighted in the segment list now.")
    }));
    set_data(&answer, "right", &right.to_string());
    show_score();
    next_question();
}

/// Starts (or stops) the quiz. The names leave the views while it runs
/// (a question answered by the name written on the vertebra asks
/// nothing) and come back when it stops.
fn toggle_quiz() {
    if quiz_active() {
        QUIZ.with(|q| q.borrow_mut().target = None);
        by_test_id("quiz-question").set_text_content(Some("Quiz stopped."));
    } else {
        QUIZ.with(|q| *q.borrow_mut() = Quiz::default());
        show_score();
        next_question();
    }
    apply_names_shown();
}

thread_local! {
    /// Each vertebra's label and body centre, for the explode view.
    static BODIES: std::cell::RefCell<Vec<(u8, DVec3)>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The height lines of the report shown last: what the views go back
    /// to when a line dragged by hand is refused.
    static SHOWN_HEIGHTS: std::cell::RefCell<Vec<BodyHeights>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The explode view: every vertebra moved away from the spine's middle
/// along the line to its own body, by up to 80% of that distance (the
/// slider), so discs open and each vertebra stands apart. Called again
/// when a part's surface arrives, so new parts take their place.
pub fn explode() {
    let amount = crate::dom::number("explode")
        .unwrap_or(0.0)
        .clamp(0.0, 100.0)
        / 100.0;
    let mut moved_to = Vec::new();
    let offsets: Vec<(u32, [f32; 3])> = BODIES.with(|b| {
        let bodies = b.borrow();
        if bodies.is_empty() {
            return Vec::new();
        }
        let middle = bodies.iter().map(|(_, c)| *c).sum::<DVec3>() / bodies.len() as f64;
        let mut offsets: Vec<(u32, [f32; 3])> = bodies
            .iter()
            .map(|&(label, c)| {
                let offset = (c - middle) * (0.8 * amount);
                if amount > 0.0 {
                    moved_to.push((c + offset).as_vec3());
                }
                (u32::from(label), offset.as_vec3().to_array())
            })
            .collect();
        // The pelvis moves with the sacrum it is joined to (the ribs span
        // every thoracic level and stay).
        let sacrum = u32::from(insitu_spine::label_of(24));
        if let Some(&(_, offset)) = offsets.iter().find(|(l, _)| *l == sacrum) {
            offsets.push((u32::from(insitu_spine::PELVIS_LABEL), offset));
        }
        offsets
    });
    set_data(&by_test_id("explode"), "amount", &format!("{amount:.2}"));
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.fit_exploded(&moved_to);
        scene.set_part_offsets(&offsets);
    }
}
