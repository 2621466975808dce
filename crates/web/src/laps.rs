//! Where a load spent its time, phase by phase: logged to the console
//! (`insitu timings: …`) so a slow load can be explained, and read by the
//! browser benchmark to print its breakdown.

/// Phases timed since the last [`Laps::restart`].
#[derive(Debug, Default)]
pub struct Laps {
    last_ms: f64,
    phases: Vec<(&'static str, f64)>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Laps {
    /// Forgets earlier phases and starts the clock.
    pub fn restart(&mut self) {
        self.restart_at(now_ms());
    }

    /// Forgets earlier phases; the clock started at `at_ms`
    /// (`Date.now()`, which the page and its workers share).
    pub fn restart_at(&mut self, at_ms: f64) {
        self.phases.clear();
        self.last_ms = at_ms;
    }

    /// Ends `phase` now (a phase seen again adds to its total).
    pub fn lap(&mut self, phase: &'static str) {
        let now = now_ms();
        let ms = now - self.last_ms;
        self.last_ms = now;
        match self.phases.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, total)) => *total += ms,
            None => self.phases.push((phase, ms)),
        }
    }

    /// "read 450 ms · key 120 ms · …".
    pub fn summary(&self) -> String {
        self.phases
            .iter()
            .map(|(phase, ms)| format!("{phase} {ms:.0} ms"))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// Logs the phases of `what` to the console, with the wasm heap's
    /// size after them (it never shrinks: the high-water mark so far).
    pub fn log(&self, what: &str) {
        let heap_mb = crate::worker::heap_bytes() / 1e6;
        web_sys::console::info_1(&format!("{} · heap {heap_mb:.1} MB", self.line(what)).into());
    }

    /// Logs the phases of `what` on the page's thread (whose heap is not
    /// the study's: not said).
    pub fn log_on_page(&self, what: &str) {
        web_sys::console::info_1(&self.line(what).into());
    }

    /// "insitu timings: what: …", the line the benchmark reads.
    fn line(&self, what: &str) -> String {
        format!("insitu timings: {what}: {}", self.summary())
    }
}
