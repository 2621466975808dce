//! How much of the volume rendering one frame may ask of this GPU, learned
//! from how long its frames take.
//!
//! Browsers without GPU compositing (a software GPU such as SwiftShader, a
//! virtual machine) read every WebGL canvas frame back synchronously: the
//! page then waits for the frame's whole GPU time. A fine frame there takes
//! about a second, so it is cast a band of rows at a time off the canvas
//! and shown when complete; drag frames cast fewer pixels until each takes
//! [`MOVING_FRAME_MS`]. A surface's time goes on its triangles, not its
//! pixels: when a frame of the whole surface takes longer than that, drag
//! frames draw a lighter copy of it. On a real GPU frames take a few
//! milliseconds and nothing changes: one pass, all pixels, all triangles.

/// A drag frame should take at most this long (ms): under the 50 ms a
/// browser counts as a long task, with room for the page's own work.
pub const MOVING_FRAME_MS: f64 = 40.0;

/// A fine frame expected to take longer than this (ms) is cast in bands.
pub const FINE_FRAME_MS: f64 = 60.0;

/// Each band of a fine frame should take about this long (ms): short
/// enough that a drag starting meanwhile waits little for it.
pub const BAND_MS: f64 = 25.0;

/// Coarsest drag frame: the width and height divided by this.
pub const MAX_DIVISOR: u32 = 8;

/// Fewest rows in a band (a band's fixed cost is not worth less).
const MIN_BAND_ROWS: u32 = 8;

/// What the frames measured so far say about this GPU.
#[derive(Debug, Clone, PartialEq)]
pub struct FramePacing {
    /// Drag frames divide the width and height by this.
    divisor: u32,
    /// GPU time per ray-cast pixel and sample (ms), from the last measured
    /// frame or band; `None` until one is measured.
    ms_per_sample: Option<f64>,
    /// Rows per band of a fine frame, once bands were measured.
    band_rows: Option<u32>,
    /// The last frame of the whole surface took longer than a drag frame
    /// may.
    heavy_surface: bool,
}

impl Default for FramePacing {
    fn default() -> Self {
        Self {
            divisor: 4,
            ms_per_sample: None,
            band_rows: None,
            heavy_surface: false,
        }
    }
}

impl FramePacing {
    /// The divisor for the next drag frame.
    pub fn divisor(&self) -> u32 {
        self.divisor
    }

    /// A canvas frame of `pixels` cast at `samples_per_pixel` (2 at rest, 1
    /// while dragging) took `ms`, from its submission to the GPU saying it
    /// is done. `divisor` is a drag frame's, `None` for a frame at rest.
    pub fn frame_took(
        &mut self,
        ms: f64,
        pixels: u64,
        samples_per_pixel: f64,
        divisor: Option<u32>,
    ) {
        self.learn(ms, pixels, samples_per_pixel);
        let Some(drawn_at) = divisor else {
            return;
        };
        if ms > MOVING_FRAME_MS {
            // Fewer pixels by the ratio at once: a frame a second long on
            // a software GPU must not be followed by more like it.
            let scale = (ms / MOVING_FRAME_MS).sqrt();
            let wanted = (f64::from(drawn_at) * scale).ceil() as u32;
            self.divisor = self.divisor.max(wanted.min(MAX_DIVISOR));
        } else if ms < MOVING_FRAME_MS / 2.5 && drawn_at == self.divisor {
            self.divisor = drawn_at.saturating_sub(1).max(1);
        }
    }

    /// Rows per band for a fine frame of `width`×`height`, or `None` when it
    /// is expected to be quick enough to cast in one pass.
    pub fn fine_bands(&self, (width, height): (u32, u32)) -> Option<u32> {
        let ms_per_sample = self.ms_per_sample?;
        let expected = ms_per_sample * 2.0 * f64::from(width) * f64::from(height);
        if expected <= FINE_FRAME_MS {
            return None;
        }
        let rows = self
            .band_rows
            .unwrap_or_else(|| (f64::from(height) * BAND_MS / expected).floor() as u32);
        Some(rows.clamp(MIN_BAND_ROWS, height.max(MIN_BAND_ROWS)))
    }

    /// A band of `rows` rows `width` pixels wide, cast at rest, took `ms`:
    /// the next band is sized to take [`BAND_MS`].
    pub fn band_took(&mut self, ms: f64, rows: u32, width: u32) {
        self.learn(ms, u64::from(rows) * u64::from(width), 2.0);
        let scaled = f64::from(rows) * BAND_MS / ms.max(1.0);
        // At most doubling: one quick band (the GPU was idle) says little.
        let rows = scaled.min(f64::from(rows) * 2.0).floor() as u32;
        self.band_rows = Some(rows.max(MIN_BAND_ROWS));
    }

    /// A frame of the whole surface (at rest) took `ms`.
    pub fn surface_frame_took(&mut self, ms: f64) {
        if ms > MOVING_FRAME_MS {
            self.heavy_surface = true;
        } else if ms < MOVING_FRAME_MS / 2.5 {
            self.heavy_surface = false;
        }
    }

    /// Whether drag frames should draw the surface's lighter copy.
    pub fn light_surface_drags(&self) -> bool {
        self.heavy_surface
    }

    fn learn(&mut self, ms: f64, pixels: u64, samples_per_pixel: f64) {
        let samples = pixels as f64 * samples_per_pixel;
        if samples > 0.0 && ms.is_finite() && ms >= 0.0 {
            self.ms_per_sample = Some(ms / samples);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIEW: (u32, u32) = (800, 600);
    const PIXELS: u64 = 800 * 600;

    #[test]
    fn a_fast_gpu_draws_every_frame_whole() {
        let mut pacing = FramePacing::default();
        // Until a frame is measured, the fine frame is one pass.
        assert_eq!(pacing.fine_bands(VIEW), None);
        pacing.frame_took(4.0, PIXELS, 2.0, None);
        assert_eq!(pacing.fine_bands(VIEW), None);
        // Quick drag frames bring the divisor down to every pixel.
        for _ in 0..5 {
            let d = pacing.divisor();
            pacing.frame_took(3.0, PIXELS / u64::from(d * d), 1.0, Some(d));
        }
        assert_eq!(pacing.divisor(), 1);
    }

    #[test]
    fn one_slow_drag_frame_sets_a_divisor_that_fits_the_budget() {
        let mut pacing = FramePacing::default();
        // A software GPU: 150 ms at a quarter of the width and height
        // wants 4 × √(150 / 40) = 7.7.
        pacing.frame_took(150.0, PIXELS / 16, 1.0, Some(4));
        assert_eq!(pacing.divisor(), 8);
        // However slow, never coarser than the cap.
        pacing.frame_took(5000.0, PIXELS / 64, 1.0, Some(8));
        assert_eq!(pacing.divisor(), MAX_DIVISOR);
        // A slow frame measured late, drawn before the divisor rose, does
        // not lower it.
        let mut pacing = FramePacing::default();
        pacing.frame_took(150.0, PIXELS / 16, 1.0, Some(4));
        pacing.frame_took(50.0, PIXELS / 16, 1.0, Some(4));
        assert_eq!(pacing.divisor(), 8);
        // A quick frame at an older divisor says nothing of this one; a
        // quick frame at the divisor in use steps it down by one.
        pacing.frame_took(10.0, PIXELS / 16, 1.0, Some(4));
        assert_eq!(pacing.divisor(), 8);
        pacing.frame_took(10.0, PIXELS / 64, 1.0, Some(8));
        assert_eq!(pacing.divisor(), 7);
        // A moderately slow frame raises it by one step at least.
        pacing.frame_took(45.0, PIXELS / 49, 1.0, Some(7));
        assert_eq!(pacing.divisor(), 8);
    }

    #[test]
    fn a_slow_fine_frame_is_cast_in_bands_of_the_budget() {
        let mut pacing = FramePacing::default();
        // A second for the whole view at rest.
        pacing.frame_took(1000.0, PIXELS, 2.0, None);
        let rows = pacing.fine_bands(VIEW).expect("banded");
        // 25 ms of 1000: 15 of 600 rows.
        assert_eq!(rows, 15);
        // The GPU turns out faster: bands grow, at most doubling each time.
        pacing.band_took(5.0, rows, VIEW.0);
        assert_eq!(pacing.fine_bands(VIEW), Some(30));
        pacing.band_took(25.0, 30, VIEW.0);
        // ...and the frame, now expected to take 500 ms, stays banded.
        assert_eq!(pacing.fine_bands(VIEW), Some(30));
        // Slower: smaller bands, never under the minimum.
        pacing.band_took(300.0, 30, VIEW.0);
        assert_eq!(pacing.fine_bands(VIEW), Some(MIN_BAND_ROWS));
    }

    #[test]
    fn a_surface_too_slow_for_drag_frames_is_dragged_light() {
        let mut pacing = FramePacing::default();
        assert!(!pacing.light_surface_drags());
        // A software GPU: 250 ms for a 400 k-triangle surface.
        pacing.surface_frame_took(250.0);
        assert!(pacing.light_surface_drags());
        // Between the budget and its 2.5th part: as it was (no flapping).
        pacing.surface_frame_took(30.0);
        assert!(pacing.light_surface_drags());
        // A quick frame (a smaller surface, or the GPU freed): whole again.
        pacing.surface_frame_took(8.0);
        assert!(!pacing.light_surface_drags());
        pacing.surface_frame_took(30.0);
        assert!(!pacing.light_surface_drags());
    }

    #[test]
    fn a_quick_band_makes_the_next_fine_frame_one_pass() {
        let mut pacing = FramePacing::default();
        pacing.frame_took(400.0, PIXELS, 2.0, None);
        assert!(pacing.fine_bands(VIEW).is_some());
        // The slow frame was a hiccup (a pause of the page, not the GPU):
        // the bands say 2 ms per 100 rows.
        pacing.band_took(2.0, 100, VIEW.0);
        assert_eq!(pacing.fine_bands(VIEW), None);
    }
}
