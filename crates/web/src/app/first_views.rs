//! The page's part of a volume's first 2D views, timed: from the volume's
//! arrival to the views on screen, so that every millisecond between the
//! worker's `ready` and the views the user sees is accounted for beside
//! the worker's own laps (`insitu timings: first 2D views …`).

use std::cell::{Cell, RefCell};

use crate::laps::Laps;

thread_local! {
    /// The laps of the volume whose first views are still on their way.
    static FIRST: RefCell<Option<Laps>> = const { RefCell::new(None) };
    /// When (`Date.now()`) the files being opened were chosen.
    static CHOSEN_AT: Cell<Option<f64>> = const { Cell::new(None) };
}

/// Files were chosen (or dropped, or a Recent entry clicked) at `at_ms`:
/// the worker's load is timed from then, so the page can tell when the
/// worker said `ready`.
pub fn chosen(at_ms: f64) {
    CHOSEN_AT.with(|c| c.set(Some(at_ms)));
}

/// A volume arrived that the worker made ready `load_ms` after the files
/// were chosen: its first views are timed from then (the first lap is
/// the reply's way to the page), or from now when nothing was chosen
/// (the demo).
pub fn begin(load_ms: f64) {
    let mut laps = Laps::default();
    match CHOSEN_AT.with(Cell::take) {
        Some(chosen) => {
            laps.restart_at(chosen + load_ms);
            laps.lap("ready to the page");
        }
        None => laps.restart(),
    }
    FIRST.with(|f| *f.borrow_mut() = Some(laps));
}

/// The page set the volume up (panels, views, window) and asks for them.
pub fn asked() {
    lap("set up and asked");
}

/// Their pixels are back from the worker (its own laps say how long it drew).
pub fn pixels_back() {
    lap("at the worker and back");
}

/// Drawn on the canvases: the laps are logged and the timing ends.
pub fn drawn() {
    if let Some(mut laps) = FIRST.with(|f| f.borrow_mut().take()) {
        laps.lap("drawn on the page");
        laps.log_on_page("first 2D views, on the page");
    }
}

fn lap(phase: &'static str) {
    FIRST.with(|f| {
        if let Some(laps) = f.borrow_mut().as_mut() {
            laps.lap(phase);
        }
    });
}
