//! The spine analysis as wasm for Node: a volume is made (the demo spine)
//! or loaded from DICOM files handed over one by one, then analysed; the
//! timing is done in JavaScript (`run.js`), so each call is one first run.

use std::cell::RefCell;

use insitu_volume::phantom::{PhantomSize, Variant, demo_variant};
use insitu_volume::{MemoryFile, Volume};
use wasm_bindgen::prelude::*;

thread_local! {
    static VOLUME: RefCell<Option<Volume>> = const { RefCell::new(None) };
    static FILES: RefCell<Vec<MemoryFile>> = const { RefCell::new(Vec::new()) };
}

/// The demo generator's spine at 512×512×300 (as the browser benchmark).
#[wasm_bindgen]
pub fn make_demo_512() {
    let size = PhantomSize {
        matrix: 512,
        slices: 300,
        pixel_mm: 0.7,
        slice_mm: 1.0,
    };
    VOLUME.with(|v| *v.borrow_mut() = Some(demo_variant(size, Variant::Normal)));
}

/// One DICOM file of the series to load.
#[wasm_bindgen]
pub fn add_file(name: String, bytes: Vec<u8>) {
    FILES.with(|f| f.borrow_mut().push(MemoryFile { name, bytes }));
}

/// Loads the largest series of the files added; its dimensions, or why not.
#[wasm_bindgen]
pub fn load_files() -> Result<String, String> {
    let files = FILES.with(|f| std::mem::take(&mut *f.borrow_mut()));
    let scan = insitu_volume::scan(&files);
    let series = scan.largest_series().ok_or("no series")?;
    let loaded = scan.build(series, &files).map_err(|e| e.to_string())?;
    let d = loaded.volume.geometry().dims;
    VOLUME.with(|v| *v.borrow_mut() = Some(loaded.volume));
    Ok(format!("{}x{}x{}", d.x, d.y, d.z))
}

/// Analyses the volume; what was found, or why nothing was, and the
/// longest step between two progress reports (a cancel waits that long).
#[wasm_bindgen]
pub fn analyse() -> Result<String, String> {
    VOLUME.with(|v| {
        let v = v.borrow();
        let volume = v.as_ref().ok_or("no volume")?;
        let mut last = js_sys::Date::now();
        let mut longest = (0.0, None);
        let analysis = insitu_spine::analyse(volume, &mut |stage, _| {
            let now = js_sys::Date::now();
            if now - last > longest.0 {
                longest = (now - last, Some(stage));
            }
            last = now;
            true
        })
        .map_err(|e| e.to_string())?;
        // The last step reports no progress: it returns the analysis.
        let last_step = js_sys::Date::now() - last;
        if last_step > longest.0 {
            longest = (last_step, None);
        }
        let names: Vec<&str> = analysis
            .spine
            .vertebrae
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        Ok(format!(
            "{}; longest step {:.0} ms, before {:?} (None: the last)",
            names.join(" "),
            longest.0,
            longest.1
        ))
    })
}
