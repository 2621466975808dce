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
//! frames draw a lighter copy of it, and a lighter one still where those
//! take longer too. On a real GPU frames take a few
//! milliseconds and nothing changes: one pass, all pixels, all triangles.

use insitu_mesh::preview::{DRAG_COPY_TIER_RATIO, DRAG_COPY_TIERS};

/// A drag frame should take at most this long (ms): under the 50 ms a
/// browser counts as a long task, with room for the page's own work.
pub const MOVING_FRAME_MS: f64 = 40.0;

/// A fine frame expected to take longer than this (ms) is cast in bands.
pub const FINE_FRAME_MS: f64 = 60.0;

/// Each band of a fine frame should take about this long (ms): short
/// enough that a drag starting meanwhile waits little for it.
pub const BAND_MS: f64 = 25.0;

/// The lightest tier of the surfaces' drag copies.
const LIGHTEST_DRAG_COPY_TIER: usize = DRAG_COPY_TIERS.len() - 1;

/// Coarsest drag frame: the width and height divided by this.
pub const MAX_DIVISOR: u32 = 8;

/// Fewest rows in a band (a band's fixed cost is not worth less).
const MIN_BAND_ROWS: u32 = 8;

/// Segments drawn in a drag frame should take at most this long (ms);
/// beyond it drag frames leave them out.
pub const PARTS_IN_DRAG_MS: f64 = MOVING_FRAME_MS / 4.0;

/// Triangles of the segments drawn in the first step of a fine frame cast
/// in bands, before this GPU's pace is measured: within [`BAND_MS`] on a
/// software GPU (SwiftShader drew 1.6–2.5 M triangles a second here).
const FIRST_PARTS_STEP: u64 = 40_000;

/// Fewest triangles in a step of the segments (a step's fixed cost is not
/// worth less).
const MIN_PARTS_STEP: u64 = 4_000;

/// What the frames measured so far say about this GPU.
#[derive(Debug, Clone, PartialEq)]
pub struct FramePacing {
    /// Drag frames divide the width and height by this.
    divisor: u32,
    /// GPU time per ray-cast pixel and sample (ms), on average over the
    /// last frame measured whole (a frame in one pass, a drag frame, or a
    /// fine frame once all its bands are); `None` until one is measured.
    ms_per_sample: Option<f64>,
    /// GPU time of each row of the last fine frame cast in bands (ms; `None`
    /// where not measured yet), for frames of `row_ms_size`: the next
    /// frame's bands are sized by it, because rows differ tenfold (the
    /// empty background above the spine, its bone in the middle) and a band
    /// sized by the average would hold the GPU for hundreds of ms there.
    row_ms: Vec<Option<f64>>,
    row_ms_size: (u32, u32),
    /// The last frame of the whole surface took longer than a drag frame
    /// may.
    heavy_surface: bool,
    /// Which tier of drag copies drag frames draw (0 the heaviest).
    drag_copy_tier: usize,
    /// GPU time per triangle of the segments (ms), from the last step of
    /// them measured; `None` until one is.
    ms_per_triangle: Option<f64>,
    /// Triangles per step of the segments, once a step was measured.
    parts_step: Option<u64>,
}

impl Default for FramePacing {
    fn default() -> Self {
        Self {
            divisor: 4,
            ms_per_sample: None,
            row_ms: Vec::new(),
            row_ms_size: (0, 0),
            heavy_surface: false,
            drag_copy_tier: 0,
            ms_per_triangle: None,
            parts_step: None,
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
            // A frame at rest drawn in one pass says more than the rows of
            // an older one cast in bands.
            self.row_ms_size = (0, 0);
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

    /// Whether a fine frame of `width`×`height` is expected to take too
    /// long to cast in one pass: it is cast in bands then
    /// ([`FramePacing::band_end`]).
    pub fn fine_in_bands(&self, size: (u32, u32)) -> bool {
        self.expected_fine_ms(size)
            .is_some_and(|ms| ms > FINE_FRAME_MS)
    }

    /// Where the band of a fine frame of `width`×`height` starting at row
    /// `start` ends (exclusive): as many rows as are expected to take
    /// [`BAND_MS`], by the rows' own times where measured.
    pub fn band_end(&self, start: u32, size: (u32, u32)) -> u32 {
        let (_, height) = size;
        let mut end = start;
        let mut ms = 0.0;
        while end < height {
            let row = self.row_expected_ms(end, size);
            if end - start >= MIN_BAND_ROWS && ms + row > BAND_MS {
                break;
            }
            ms += row;
            end += 1;
        }
        end
    }

    /// The band of `rows` rows of a fine frame of `size`, cast at rest,
    /// took `ms`: each of its rows is taken to have cost an equal share.
    pub fn band_took(&mut self, ms: f64, rows: std::ops::Range<u32>, size: (u32, u32)) {
        if !ms.is_finite() || ms < 0.0 || rows.is_empty() {
            return;
        }
        if self.row_ms_size != size {
            self.row_ms = vec![None; size.1 as usize];
            self.row_ms_size = size;
        }
        let share = ms / f64::from(rows.end - rows.start);
        for row in self
            .row_ms
            .iter_mut()
            .take(rows.end as usize)
            .skip(rows.start as usize)
        {
            *row = Some(share);
        }
        // The frame whole, once every row is measured: its average.
        if let Some(total) = self.row_ms.iter().copied().sum::<Option<f64>>() {
            self.learn(total, u64::from(size.0) * u64::from(size.1), 2.0);
        }
    }

    /// What a fine frame of `size` is expected to take (ms), row by row.
    fn expected_fine_ms(&self, size: (u32, u32)) -> Option<f64> {
        self.ms_per_sample?;
        Some((0..size.1).map(|row| self.row_expected_ms(row, size)).sum())
    }

    /// What row `row` of a fine frame of `size` is expected to take (ms):
    /// as measured in the last frame cast in bands at this size, else the
    /// average row.
    fn row_expected_ms(&self, row: u32, (width, height): (u32, u32)) -> f64 {
        let measured = (self.row_ms_size == (width, height))
            .then(|| self.row_ms.get(row as usize).copied().flatten())
            .flatten();
        measured.unwrap_or_else(|| self.ms_per_sample.unwrap_or(0.0) * 2.0 * f64::from(width))
    }

    /// Triangles of the segments to draw in the next step of a fine frame
    /// cast in bands, sized to take [`BAND_MS`].
    pub fn parts_step(&self) -> u64 {
        self.parts_step.unwrap_or(FIRST_PARTS_STEP)
    }

    /// A step of `triangles` triangles of the segments took `ms`.
    pub fn parts_took(&mut self, ms: f64, triangles: u64) {
        if triangles == 0 || !ms.is_finite() || ms < 0.0 {
            return;
        }
        self.ms_per_triangle = Some(ms / triangles as f64);
        let scaled = triangles as f64 * BAND_MS / ms.max(1.0);
        // At most doubling: one quick step (the GPU was idle) says little.
        let next = scaled.min(triangles as f64 * 2.0).floor() as u64;
        self.parts_step = Some(next.max(MIN_PARTS_STEP));
    }

    /// Whether a drag frame of volume rendering draws segments of
    /// `triangles` triangles in all: where this GPU draws them within
    /// [`PARTS_IN_DRAG_MS`] (their cost does not shrink with the drag
    /// frame's pixels: SwiftShader took about 150 ms over the demo spine's
    /// 360 k). Until a step of them is measured, a GPU whose drag frames
    /// need fewer pixels is taken to be slow for triangles too.
    pub fn parts_in_drags(&self, triangles: u64) -> bool {
        match self.ms_per_triangle {
            Some(ms) => ms * triangles as f64 <= PARTS_IN_DRAG_MS,
            None => self.divisor == 1,
        }
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

    /// A drag frame of the surface's copies of tier `tier` took `ms`:
    /// over the budget, the next drag frame draws the next (lighter) tier;
    /// well under it even at [`DRAG_COPY_TIER_RATIO`] times the triangles,
    /// the last (heavier) one.
    pub fn surface_drag_took(&mut self, ms: f64, tier: usize) {
        if !ms.is_finite() || tier != self.drag_copy_tier {
            return;
        }
        if ms > MOVING_FRAME_MS {
            self.drag_copy_tier = (tier + 1).min(LIGHTEST_DRAG_COPY_TIER);
        } else if ms * DRAG_COPY_TIER_RATIO < MOVING_FRAME_MS / 2.0 {
            self.drag_copy_tier = tier.saturating_sub(1);
        }
    }

    /// The tier of drag copies the next drag frame of the surface draws.
    pub fn drag_copy_tier(&self) -> usize {
        self.drag_copy_tier
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
        assert!(!pacing.fine_in_bands(VIEW));
        pacing.frame_took(4.0, PIXELS, 2.0, None);
        assert!(!pacing.fine_in_bands(VIEW));
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
        // 900 ms for the whole view at rest: 1.5 ms a row.
        pacing.frame_took(900.0, PIXELS, 2.0, None);
        assert!(pacing.fine_in_bands(VIEW));
        // 16 rows take 24 ms, 17 over the 25 ms.
        assert_eq!(pacing.band_end(0, VIEW), 16);
        // The last band is cut at the last row.
        assert_eq!(pacing.band_end(590, VIEW), 600);
    }

    #[test]
    fn bands_are_sized_by_the_rows_own_times() {
        let mut pacing = FramePacing::default();
        pacing.frame_took(1000.0, PIXELS, 2.0, None);
        // Cast in bands: the top 300 rows are background (1 ms a band of
        // 100), the bottom 300 are bone (5 ms a row).
        for start in (0..300).step_by(100) {
            pacing.band_took(1.0, start..start + 100, VIEW);
        }
        for start in (300..600).step_by(10) {
            pacing.band_took(50.0, start..start + 10, VIEW);
        }
        // The next frame: the background and 4 rows of bone in one band
        // (23 ms), then the bone as few rows at a time as a band has (40
        // ms), never a band sized by the background's pace across the bone.
        assert_eq!(pacing.band_end(0, VIEW), 304);
        assert_eq!(pacing.band_end(304, VIEW), 304 + MIN_BAND_ROWS);
        // The frame is expected to take 1.5 s: still in bands.
        assert!(pacing.fine_in_bands(VIEW));
        // Another size: its rows go by the last frame's average row (1503
        // ms over 600 rows of 800 pixels: 2.5 ms for a row of 800).
        assert_eq!(pacing.band_end(0, (800, 300)), 9);
    }

    #[test]
    fn a_fast_frame_at_rest_forgets_the_rows_cast_in_bands() {
        let mut pacing = FramePacing::default();
        pacing.frame_took(1000.0, PIXELS, 2.0, None);
        pacing.band_took(500.0, 0..600, VIEW);
        assert!(pacing.fine_in_bands(VIEW));
        pacing.frame_took(20.0, PIXELS, 2.0, None);
        assert!(!pacing.fine_in_bands(VIEW));
    }

    #[test]
    fn drag_frames_too_slow_for_a_copy_draw_a_lighter_one() {
        let mut pacing = FramePacing::default();
        assert_eq!(pacing.drag_copy_tier(), 0);
        // Within the budget: as it is.
        pacing.surface_drag_took(25.0, 0);
        assert_eq!(pacing.drag_copy_tier(), 0);
        // A CPU busy elsewhere: 60 ms for the heavier copy, a lighter one.
        pacing.surface_drag_took(60.0, 0);
        assert_eq!(pacing.drag_copy_tier(), 1);
        // A frame drawn before the change says nothing of the new tier.
        pacing.surface_drag_took(90.0, 0);
        assert_eq!(pacing.drag_copy_tier(), 1);
        // The lightest, however slow, stays the lightest.
        pacing.surface_drag_took(90.0, 1);
        assert_eq!(pacing.drag_copy_tier(), LIGHTEST_DRAG_COPY_TIER);
        // 15 ms for the lighter: the heavier would take about 60, too long.
        pacing.surface_drag_took(15.0, 1);
        assert_eq!(pacing.drag_copy_tier(), 1);
        // The CPU freed: 4 ms for the lighter, the heavier again.
        pacing.surface_drag_took(4.0, 1);
        assert_eq!(pacing.drag_copy_tier(), 0);
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
    fn segments_are_drawn_in_steps_of_the_band_budget() {
        let mut pacing = FramePacing::default();
        assert_eq!(pacing.parts_step(), FIRST_PARTS_STEP);
        // A software GPU: 40 k triangles in 100 ms, so 10 k in 25 ms.
        pacing.parts_took(100.0, 40_000);
        assert_eq!(pacing.parts_step(), 10_000);
        // Quicker: at most doubling; slower: never under the minimum.
        pacing.parts_took(1.0, 10_000);
        assert_eq!(pacing.parts_step(), 20_000);
        pacing.parts_took(1000.0, 20_000);
        assert_eq!(pacing.parts_step(), MIN_PARTS_STEP);
        // Nothing drawn says nothing.
        pacing.parts_took(5.0, 0);
        assert_eq!(pacing.parts_step(), MIN_PARTS_STEP);
    }

    #[test]
    fn drag_frames_leave_segments_out_where_their_triangles_are_slow() {
        let mut pacing = FramePacing::default();
        // Unmeasured, with drag frames at a quarter of the pixels: out.
        assert!(!pacing.parts_in_drags(300_000));
        // Quick drag frames bring the divisor to 1: in.
        for _ in 0..5 {
            let d = pacing.divisor();
            pacing.frame_took(3.0, PIXELS / u64::from(d * d), 1.0, Some(d));
        }
        assert!(pacing.parts_in_drags(300_000));
        // Measured at 0.6 µs a triangle (a software GPU): a spine's 300 k
        // triangles take 180 ms, out; a small segment's 10 k take 6 ms, in.
        pacing.parts_took(24.0, 40_000);
        assert!(!pacing.parts_in_drags(300_000));
        assert!(pacing.parts_in_drags(10_000));
        // A real GPU: in.
        pacing.parts_took(1.0, 300_000);
        assert!(pacing.parts_in_drags(300_000));
    }

    #[test]
    fn quick_bands_over_the_whole_frame_make_the_next_one_pass() {
        let mut pacing = FramePacing::default();
        pacing.frame_took(400.0, PIXELS, 2.0, None);
        assert!(pacing.fine_in_bands(VIEW));
        // The slow frame was a hiccup (a pause of the page, not the GPU):
        // a quick band says so of its own rows only...
        pacing.band_took(2.0, 0..100, VIEW);
        assert!(pacing.fine_in_bands(VIEW));
        // ...and bands over every row of the frame, of the frame.
        for start in (100..600).step_by(100) {
            pacing.band_took(2.0, start..start + 100, VIEW);
        }
        assert!(!pacing.fine_in_bands(VIEW));
    }
}
