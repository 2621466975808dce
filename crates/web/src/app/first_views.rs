//! The page's part of a volume's first 2D views, timed: from the volume's
//! arrival to the views on screen, so that every millisecond between the
//! worker's `ready` and the views the user sees is accounted for beside
//! the worker's own laps (`insitu timings: first 2D views …`).

use std::cell::RefCell;

use crate::laps::Laps;

thread_local! {
    /// The laps of the volume whose first views are still on their way.
    static FIRST: RefCell<Option<Laps>> = const { RefCell::new(None) };
}

/// A volume arrived that the worker made ready at `ready_at_ms`
/// (`Date.now()`): its first views are timed from then, the first lap
/// being the reply's way to the page.
pub fn begin(ready_at_ms: f64) {
    let mut laps = Laps::default();
    laps.restart_at(ready_at_ms);
    laps.lap("ready to the page");
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
