//! What the UI does with each reply of the worker: one function per reply,
//! each matching on typed values (never on text).

use insitu_volume::Modality;
use insitu_volume::display::initial_window;
use insitu_volume::reslice::ViewAxis;
use js_sys::{Array, Uint8ClampedArray};
use wasm_bindgen::JsCast;

use super::controls::{enable_exports, make_surface, show_window};
use super::link::{send, worker_ready};
use super::{LoadState, app, panel, redraw, scene, segments, spine, status, storage, views::Views};
use crate::dom::{by_test_id, next_task, set_data, set_enabled, typed};
use crate::envelope::Attachments;
use crate::protocol::{
    CacheOutcome, CacheWrite, DrawnOn, ExportFile, Failure, Phase, Reply, Request,
    SegmentSurfaceSummary, SeriesSummary, Skipped, SurfaceSummary, Task, ViewRequest,
    VolumeSummary,
};
use insitu_store::StoreError;

/// Handles one reply.
pub fn handle(reply: Reply, attachments: Attachments) {
    match reply {
        Reply::Ready => worker_ready(),
        Reply::Progress { phase, done, total } => progress(phase, done, total),
        Reply::Scanned {
            series,
            skipped,
            files,
        } => scanned(&series, &skipped, files),
        Reply::Loaded(summary) => loaded(summary),
        Reply::FilesChecked {
            volume,
            series,
            skipped,
        } => files_checked(volume, &series, &skipped),
        Reply::CacheUpdate(write) => cache_update(write),
        Reply::Cancelled { still_open } => cancelled(still_open),
        Reply::Rendered { views, drawn_on } => rendered(&views, &drawn_on, &attachments),
        Reply::OpeningViews { views } => opening_views(&views, &attachments),
        Reply::Probed { axis, world, value } => probed(axis, world, value),
        Reply::Surface(summary) => surface(summary, attachments.buffers),
        Reply::SurfaceDragCopy => drag_copy(None, &attachments.buffers),
        Reply::SegmentDragCopy { label } => drag_copy(Some(label), &attachments.buffers),
        // Drawn again, so the views and their label say where.
        Reply::SliceVolumeSettled => super::redraw(),
        Reply::SurfaceChecked { watertight } => surface_checked(watertight),
        Reply::Exported { file } => exported(file, &attachments),
        Reply::Segments(summary) => segments::show(summary),
        Reply::SegmentSurface(summary) => segments::show_surface(summary, attachments.buffers),
        Reply::SegmentsKept { kept } => segments::kept(kept),
        Reply::Spine { spine, cause } => spine::show(&spine, cause),
        Reply::SpineSkipped => spine::skipped(),
        Reply::Measurements { items } => super::measure::show(items),
        Reply::VolumeTexture {
            dims,
            from_dims,
            voxel_to_world,
        } => volume_texture(dims, from_dims, voxel_to_world),
        Reply::VolumeSlices { first_slice, last } => {
            volume_slices(first_slice, last, &attachments);
        }
        Reply::Tags { series, entries } => panel::show_tags(series, &entries),
        Reply::Failed { during, error } => failed(during, &error),
        Reply::StartDecoders { pool, count } => super::decoders::start(pool, count),
        Reply::StopDecoders { pool } => super::decoders::stop(pool),
    }
}

fn progress(phase: Phase, done: usize, total: usize) {
    if phase == Phase::Meshing {
        let text = match done.checked_mul(100).and_then(|d| d.checked_div(total)) {
            Some(percent) => format!("{phase}… {percent}%"),
            None => format!("{phase}…"),
        };
        by_test_id("mesh-info").set_text_content(Some(&text));
        return;
    }
    let p: web_sys::HtmlProgressElement = typed("load-progress");
    if total > 0 {
        p.set_max(total as f64);
        p.set_value(done as f64);
    }
    let text = if total > 0 {
        format!("{phase} {done} / {total}…")
    } else {
        format!("{phase}…")
    };
    if phase == Phase::FindingTheSpine {
        spine::progress(done, total);
    } else {
        status(LoadState::Loading, &text);
    }
}

fn scanned(series: &[SeriesSummary], skipped: &Skipped, files: usize) {
    panel::show_scan(series, skipped, files);
}

/// What the status says about the cache after a load.
fn cache_note(outcome: &CacheOutcome) -> String {
    match outcome {
        CacheOutcome::Hit => " (from the cache on this computer)".into(),
        CacheOutcome::AlreadyKept => {
            " (decoded as it was read; already kept on this computer, with its segments and surfaces)".into()
        }
        CacheOutcome::FilesChanged => {
            " (the files differ from their cached copy, though their names, sizes and times match: read from the files)".into()
        }
        CacheOutcome::Rebuilt { .. } => {
            " (the cached copy was damaged, so it was decoded again)".into()
        }
        CacheOutcome::Unavailable(why) => format!(" (no cache: {why})"),
        CacheOutcome::Miss | CacheOutcome::Off | CacheOutcome::NotApplicable => String::new(),
    }
}

/// The files of a volume opened by their stamp hold it: its series (listed
/// with the folder's others) is selected, its title and warnings shown.
fn files_checked(summary: VolumeSummary, series: &[SeriesSummary], skipped: &Skipped) {
    panel::list_series(series, skipped);
    panel::show_volume(&summary);
    if let Some(series) = summary.series {
        app().selected.set(Some(series));
        panel::select_series(series);
        send(Request::Tags { series });
    }
    *app().volume.borrow_mut() = Some(summary);
    set_data(&by_test_id("load-status"), "checked", "same");
}

/// A volume is ready: show it, draw it, and (CT) make the bone surface.
fn loaded(summary: VolumeSummary) {
    super::first_views::begin(summary.ready_at_ms);
    let app = app();
    let (window, level) = initial_window(summary.modality, summary.value_range);
    *app.views.borrow_mut() = Some(Views::new(&summary, window, level));
    show_window(window, level);
    // The first views are asked for as soon as what the worker draws is
    // set; the rest of the set-up is the page's own (panels, the spine's
    // names and the measurements, drawn over the views when they come).
    app.redraw_in_flight.set(false);
    redraw();
    panel::show_volume(&summary);
    segments::reset(Some(&summary));
    spine::reset(true);
    super::measure::show(Vec::new());
    if let Some(index) = summary.series {
        app.selected.set(Some(index));
        panel::select_series(index);
    } else {
        app.selected.set(None);
        panel::show_demo(&summary);
    }
    app.reframe.set(true);
    *app.surface.borrow_mut() = None;
    let volume_mode = app.scene.borrow_mut().as_mut().is_some_and(|scene| {
        scene.clear();
        scene.set_domain(summary.value_range);
        matches!(scene.mode, scene::Mode::Volume(_))
    });
    app.texture_requested.set(false);
    let is_ct = summary.modality == Modality::Ct;
    *app.volume.borrow_mut() = Some(summary.clone());
    // Already showing volume rendering: the new volume's texels are needed
    // now, and its look follows its modality and value range.
    if volume_mode {
        let menu: web_sys::HtmlSelectElement = crate::dom::typed("render-mode");
        super::controls::show_mode(&menu.value());
    }
    set_enabled("make-surface", true);
    set_enabled("close-study", true);
    let mut decoded_by = match summary.decoders {
        0 => String::new(),
        n => format!(" ({n} decoder workers)"),
    };
    decoded_by.push_str(&cache_note(&summary.cache));
    let load_status = by_test_id("load-status");
    set_data(&load_status, "cache", summary.cache.word());
    // Until a volume found by its files' stamp has its files read.
    set_data(&load_status, "checked", "");
    status(
        LoadState::Ready,
        &format!(
            "Ready: {} in {:.0} ms{decoded_by}",
            summary.title, summary.load_ms
        ),
    );
    set_data(&load_status, "decoders", &summary.decoders.to_string());
    set_data(
        &load_status,
        "decoder-heap",
        &summary.decoder_heap_bytes.to_string(),
    );
    // The set-up's own redraws (the spine's and measurements' resets) are
    // in the views drawn from that request: asked again, the worker drew
    // the first views twice back to back (10-17 ms more of its time
    // before the surface, measured).
    app.redraw_again.set(false);
    if let Some(index) = summary.series {
        // The tag browser's rows, after the first views (requests run in order).
        send(Request::Tags { series: index });
    }
    // Segments kept for this volume come back with it: their surfaces
    // after the first 2D views (the worker runs requests in order).
    send(Request::SegmentSurfaces);
    if is_ct {
        // Bone at the default iso level, so the 3D view starts useful.
        make_surface();
    }
    if app.demo_opening.replace(false) {
        // The demo opens labelled (its generator knows the answer; the
        // analysis does not look).
        spine::find_if_unlabelled();
    }
}

fn cache_update(write: CacheWrite) {
    let load_status = by_test_id("load-status");
    match write {
        CacheWrite::Stored => {
            set_data(&load_status, "cache", "stored");
            wasm_bindgen_futures::spawn_local(storage::refresh());
        }
        CacheWrite::Failed(why) => {
            set_data(&load_status, "cache", "failed");
            let note = match why {
                StoreError::QuotaFull => {
                    "the browser's storage for this app is full; working without the cache"
                        .to_owned()
                }
                other => other.to_string(),
            };
            web_sys::console::warn_1(&format!("insitu: not cached: {note}").into());
            by_test_id("cache-usage").set_text_content(Some(&format!("Not cached: {note}")));
        }
    }
}

fn cancelled(still_open: bool) {
    let app = app();
    if by_test_id("spine-info")
        .get_attribute("data-state")
        .as_deref()
        == Some("running")
    {
        // A spine analysis stopped; the study and the load status stay.
        return spine::stopped(None);
    }
    app.load_ticket.set(app.load_ticket.get() + 1);
    let still_showing = match (still_open, app.volume.borrow().as_ref()) {
        (true, Some(volume)) => {
            status(
                LoadState::Ready,
                &format!("Cancelled; still showing {}", volume.title),
            );
            true
        }
        _ => {
            status(LoadState::Idle, "Cancelled");
            false
        }
    };
    // The cancelled folder's opening views may be on the canvases.
    super::views_back_to_open_study(still_showing);
}

/// Draws the views straight from the transferred pixels: they never pass
/// through this thread's wasm memory.
fn rendered(views: &[ViewRequest], drawn_on: &DrawnOn, attachments: &Attachments) {
    super::first_views::pixels_back();
    let app = app();
    let label = by_test_id("slice-engine");
    let (text, detail, kind) = match drawn_on {
        DrawnOn::Gpu(adapter) => (
            format!("2D: GPU · {}", adapter.backend_name()),
            adapter.to_string(),
            "gpu",
        ),
        DrawnOn::Cpu(reason) => ("2D: CPU".to_owned(), reason.to_string(), "cpu"),
    };
    // The reason too: views first drawn on the CPU "while the volume is
    // copied to the GPU" are drawn there again when it could not be.
    let title = format!("2D views: {detail}");
    if label.text_content().as_deref() != Some(&text)
        || label.get_attribute("title").as_deref() != Some(&title)
    {
        label.set_text_content(Some(&text));
        let _ = label.set_attribute("title", &title);
        set_data(&label, "engine", kind);
    }
    if let Some(v) = app.views.borrow().as_ref() {
        for (i, request) in views.iter().enumerate() {
            let bytes: js_sys::Uint8Array = attachments.buffer(i as u32);
            let pixels = Uint8ClampedArray::new(&bytes.buffer());
            v.draw(request, &pixels);
        }
    }
    // Tests and the benchmark see each drawing (an attribute write).
    set_data(&label, "drawn", &views.len().to_string());
    super::first_views::drawn();
    app.redraw_in_flight.set(false);
    if app.redraw_again.get() {
        redraw();
    }
}

/// A cached volume's first views, drawn while its voxels are read back:
/// the volume's own views replace them once it is loaded.
fn opening_views(views: &[ViewRequest], attachments: &Attachments) {
    for (i, request) in views.iter().enumerate() {
        let bytes: js_sys::Uint8Array = attachments.buffer(i as u32);
        let pixels = Uint8ClampedArray::new(&bytes.buffer());
        super::views::put_pixels(request, &pixels);
    }
    // Tests and the benchmark see them shown (an attribute write).
    set_data(
        &by_test_id("slice-engine"),
        "opening",
        &views.len().to_string(),
    );
}

fn probed(axis: ViewAxis, world: [f64; 3], value: Option<f32>) {
    let text = match value {
        Some(v) => format!(
            "{} · ({:.1}, {:.1}, {:.1}) mm",
            if v.fract() == 0.0 {
                format!("{v} HU")
            } else {
                format!("{v:.2}")
            },
            world[0],
            world[1],
            world[2]
        ),
        None => String::new(),
    };
    by_test_id(&format!("readout-{}", axis.name())).set_text_content(Some(&text));
}

fn surface(summary: SurfaceSummary, buffers: Array) {
    let app = app();
    panel::show_surface(&summary);
    enable_exports(summary.facts.triangles > 0);
    let reframe = app.reframe.replace(false);
    *app.surface.borrow_mut() = Some(summary.clone());
    wasm_bindgen_futures::spawn_local(show_surface(buffers, summary, reframe));
}

/// The lighter copies of the surface (or of segment `label`'s) that drag
/// frames draw on a slow GPU, three arrays per tier, heaviest first (empty
/// ones: that tier draws it whole); no arrays: always drawn whole.
fn drag_copy(label: Option<u8>, buffers: &Array) {
    let array = |i: u32| buffers.get(i);
    let tiers: Vec<_> = (0..buffers.length() / 3)
        .map(|tier| {
            (
                js_sys::Float32Array::from(array(3 * tier)).to_vec(),
                js_sys::Float32Array::from(array(3 * tier + 1)).to_vec(),
                js_sys::Uint32Array::from(array(3 * tier + 2)).to_vec(),
            )
        })
        .collect();
    let copies = tiers
        .iter()
        .map(|(positions, normals, indices)| insitu_gpu::MeshArrays {
            positions,
            normals,
            indices,
        });
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.set_drag_copies(label.map(u32::from), copies);
    }
}

/// The surface shown is now known to be watertight or not.
fn surface_checked(watertight: bool) {
    if let Some(summary) = app().surface.borrow_mut().as_mut() {
        summary.facts.watertight = Some(watertight);
        panel::show_surface(summary);
    }
}

/// Saves an export: the worker made it one Blob of its type.
fn exported(file: ExportFile, attachments: &Attachments) {
    if let Ok(blob) = attachments.files.get(0).dyn_into::<web_sys::Blob>() {
        super::controls::download_blob(&blob, &file.file_name());
    }
}

fn volume_texture(dims: [u32; 3], from_dims: [u32; 3], voxel_to_world: [f64; 16]) {
    let app = app();
    // Volume rendering samples the volume itself where the GPU allows:
    // say which grid it draws, and that the 2D views keep every voxel.
    let label = by_test_id("render-resolution");
    let [x, y, z] = dims;
    let [fx, fy, fz] = from_dims;
    let reduced = dims != from_dims;
    label.set_text_content(Some(&if reduced {
        format!("3D volume: {x}×{y}×{z} of {fx}×{fy}×{fz}")
    } else {
        format!("3D volume: {x}×{y}×{z}, full resolution")
    }));
    let _ = label.set_attribute(
        "title",
        &if reduced {
            format!(
                "Volume rendering samples block maxima (thin bone stays) of at most {} texels per side and {} M texels, what this GPU and a laptop's memory allow; the 2D views and surfaces use every voxel.",
                insitu_volume::display::RENDER_MAX_SIDE,
                insitu_volume::display::RENDER_MAX_TEXELS >> 20
            )
        } else {
            "Volume rendering samples every voxel as a 16-bit float, as do the 2D views and surfaces.".to_owned()
        },
    );
    set_data(&label, "dims", &format!("{x}x{y}x{z}"));
    set_data(&label, "from", &format!("{fx}x{fy}x{fz}"));
    label.set_hidden(false);
    let summary = app.volume.borrow();
    let Some(summary) = summary.as_ref() else {
        return;
    };
    let bounds = (
        summary.bounds.0.map(|x| x as f32),
        summary.bounds.1.map(|x| x as f32),
    );
    if let Some(scene) = app.scene.borrow_mut().as_mut() {
        scene.begin_volume(dims, voxel_to_world, summary.value_range, bounds);
    }
}

fn volume_slices(first_slice: u32, last: bool, attachments: &Attachments) {
    let app = app();
    if let Some(scene) = app.scene.borrow_mut().as_mut() {
        scene.upload_slices(first_slice, &attachments.buffer(0));
        if last {
            scene.finish_volume();
        }
    }
    if last {
        super::look::draw_editor();
        wasm_bindgen_futures::spawn_local(show_3d());
    }
}

fn failed(during: Task, error: &Failure) {
    let app = app();
    let text = format!("Failed while {during}: {error}");
    web_sys::console::warn_1(&text.clone().into());
    match during {
        Task::Segmenting => segments::failed(error),
        Task::FindingTheSpine => spine::stopped(Some(error)),
        Task::MakingASurface | Task::Exporting => {
            segments::failed(error);
            by_test_id("mesh-info").set_text_content(Some(&text));
            set_enabled("make-surface", app.volume.borrow().is_some());
        }
        // The tag browser is optional; the study stays.
        Task::ReadingTags if app.volume.borrow().is_some() => {}
        _ => {
            status(LoadState::Error, &text);
            if let Failure::Build(insitu_volume::BuildError::TooLarge { offers, .. }) = error {
                panel::show_reduced_offers(offers);
            }
            // A failed opening's views may be on the canvases.
            if matches!(
                during,
                Task::Opening | Task::Loading | Task::OpeningFromTheCache
            ) {
                let study_open = app.volume.borrow().is_some();
                super::views_back_to_open_study(study_open);
            }
        }
    }
}

/// Shows the 3D view's mode in a task of its own (a first volume draw can
/// be slow on a software GPU).
pub async fn show_3d() {
    next_task().await;
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.draw();
    }
}

/// Resolves after `ms` milliseconds (a task of its own).
pub async fn wait_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The crop box changed: what is drawn in 3D follows it once the edits
/// settle (the frame's surface arrives): the bone surface is made again
/// inside the box, and a shown volume rendering gets the box's voxels.
pub fn crop_changed() {
    app().crop_pending.set(true);
}

/// Uploads one segment's surface (or the crop box's frame, label 0) one
/// array per task, or removes it when it has no triangles.
pub async fn show_part(summary: SegmentSurfaceSummary, buffers: Array) {
    let key = u32::from(summary.label);
    let color = summary.color.map(|c| f32::from(c) / 255.0);
    let color = [color[0], color[1], color[2], 1.0];
    if summary.facts.triangles == 0 {
        if let Some(scene) = app().scene.borrow_mut().as_mut() {
            scene.remove_part(key);
        }
    } else {
        upload_mesh(&buffers, |scene, part, range, bytes| {
            scene.upload_part(key, color, part, range, bytes);
        })
        .await;
    }
    next_task().await;
    let app = app();
    if let Some(scene) = app.scene.borrow_mut().as_mut() {
        scene.show_parts(key, summary.facts.bounds);
    }
    if summary.label == crate::segments::FRAME {
        if let Some(scene) = app.scene.borrow_mut().as_mut() {
            scene.draw();
        }
    } else {
        // Asks for a frame with the new part in its exploded place; parts
        // arriving one after another share frames (`Scene::draw`).
        super::spine::explode();
        // The last segment surface shown, for the benchmark and tests.
        let view = by_test_id("view-3d");
        set_data(&view, "part-label", &summary.label.to_string());
        set_data(
            &view,
            "part-triangles",
            &summary.facts.triangles.to_string(),
        );
        set_data(&view, "part-ms", &format!("{:.0}", summary.made_ms));
    }
    if summary.label == crate::segments::FRAME && app.crop_pending.replace(false) {
        // Meshing a whole volume again for a crop is the user's call when
        // no surface was asked for yet.
        if app.surface.borrow().is_some() {
            super::controls::make_surface();
        }
        let max_side = app
            .scene
            .borrow()
            .as_ref()
            .filter(|s| matches!(s.mode, scene::Mode::Volume(_)))
            .map(|s| s.max_side());
        app.texture_requested.set(max_side.is_some());
        if let Some(max_side) = max_side {
            send(Request::VolumeTexture { max_side });
        }
    }
}

/// Bytes of a mesh array copied and uploaded per task.
const UPLOAD_PIECE: u32 = 2 << 20;

/// Hands a transferred mesh's arrays (positions, normals, indices) to
/// `upload` in pieces of [`UPLOAD_PIECE`] bytes, one per task, with each
/// piece's (array length, offset): a million-triangle mesh is 25 MB, too
/// much to copy and upload in one go without blocking the UI thread.
async fn upload_mesh(
    buffers: &Array,
    mut upload: impl FnMut(&mut scene::Scene, insitu_gpu::MeshPart, (u64, u64), &[u8]),
) {
    use insitu_gpu::MeshPart;
    for (i, part) in [MeshPart::Positions, MeshPart::Normals, MeshPart::Indices]
        .into_iter()
        .enumerate()
    {
        // The bytes of the typed array (f32 or u32) the worker transferred.
        let array: js_sys::Float32Array = buffers.get(i as u32).unchecked_into();
        let total = array.byte_length();
        let mut offset = 0;
        loop {
            next_task().await;
            let length = (total - offset).min(UPLOAD_PIECE);
            let bytes = js_sys::Uint8Array::new_with_byte_offset_and_length(
                &array.buffer(),
                array.byte_offset() + offset,
                length,
            )
            .to_vec();
            if let Some(scene) = app().scene.borrow_mut().as_mut() {
                upload(scene, part, (u64::from(total), u64::from(offset)), &bytes);
            }
            offset += length;
            if offset >= total {
                break;
            }
        }
    }
}

/// Uploads a surface one array per task (see [`upload_mesh`]).
async fn show_surface(buffers: Array, summary: SurfaceSummary, reframe: bool) {
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.begin_mesh();
    }
    upload_mesh(&buffers, |scene, part, range, bytes| {
        scene.upload(part, range, bytes)
    })
    .await;
    next_task().await;
    if let Some(scene) = app().scene.borrow_mut().as_mut() {
        scene.show(summary.facts.bounds, reframe);
    }
}
