//! Measurements of a labelled spine, all in patient mm and degrees: body
//! heights in each body's mid-sagittal plane, endplate planes, and the
//! angles between them (lordosis, kyphosis, segmental, coronal Cobb).
//! Edges are found where the HU crosses half-way between the endplate's
//! peak and the disc, so a height does not depend on a threshold.

use glam::DVec3;
use serde::{Deserialize, Serialize};

use crate::grid::Grid;

/// Genant's semi-quantitative grade from the largest height loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Anterior height ≥ 20% below the largest: wedge (grade in `grade`).
    Wedge {
        /// 1 mild, 2 moderate, 3 severe.
        grade: u8,
    },
    /// Middle height ≥ 20% below: biconcave.
    Biconcave {
        /// 1 mild, 2 moderate, 3 severe.
        grade: u8,
    },
    /// Posterior height ≥ 20% below its front and middle, or ≥ 20% below
    /// its neighbours' (then with [`Flag::LowerThanNeighbours`]) where the
    /// body's own heights tell no other kind (on dim bone, whatever they
    /// tell): a crush, the whole body lower.
    Crush {
        /// 1 mild, 2 moderate, 3 severe.
        grade: u8,
    },
    /// Posterior height and tallest height each ≥ 20% below its
    /// neighbours' mean (the whole body lower): the evidence for the
    /// [`Flag::Crush`] beside it.
    LowerThanNeighbours,
    /// Lumbar canal under 12 mm front to back.
    NarrowCanal,
    /// Cut by the first or last slice: heights and angles are partial.
    Partial,
    /// A disc next to it was faint: the split there may be off.
    FaintDisc,
    /// Its endplates are this many degrees apart (20 or more): the split or
    /// the measurement is off there, or it is a severe fracture; not
    /// graded, not used for the spine's angles.
    Irregular {
        /// Angle between its superior and inferior endplates.
        degrees: f64,
    },
    /// The sacrum reaches much further out on one side than on the other:
    /// an ilium joined to it at the sacroiliac joint, most likely.
    OneSided,
    /// Its middle height exceeds both its front and back heights by 20% or
    /// more. A body's endplates are flat or cupped, never domed that much:
    /// an endplate was missed (the label runs into a disc or the next
    /// body), so its heights are not graded, and it is compared with its
    /// neighbours only by the largest of them (low even so, it is low).
    ImplausibleHeights,
    /// Its three heights were read on lines the user placed (an end of one
    /// dragged on the sagittal view): graded by Genant's rule on them as
    /// they stand, kept through later measuring and a reopen.
    HeightsSetByHand,
    /// Its middle height is low only where a pit in an endplate lies: a
    /// focal defect (a Schmorl's node, most likely: disc pressed into the
    /// body, common in the thoracolumbar spine and no fracture in Genant's
    /// method), not the broad sag of a biconcave fracture. The heights are
    /// given as measured; the middle's loss is not graded.
    FocalEndplateDefect,
    /// Metal in it (an implant: pedicle screws, a cage): the hardware
    /// inside its bone stays in its outline (and in a print of it), what
    /// stands out of the bone (screw heads, rods) is left out; the bone
    /// beside the metal reads less sharply (blooming, dark streaks).
    Metal,
}

impl Flag {
    /// The Genant grade of a fracture flag (wedge, biconcave, crush);
    /// none for the others.
    pub fn fracture_grade(&self) -> Option<u8> {
        match *self {
            Flag::Wedge { grade } | Flag::Biconcave { grade } | Flag::Crush { grade } => {
                Some(grade)
            }
            _ => None,
        }
    }
}

/// How far a body's middle height may exceed the higher of its ends before
/// the heights are taken as mismeasured ([`Flag::ImplausibleHeights`]).
pub(crate) const MIDDLE_OVER_ENDS: f64 = 1.2;

/// Whether `h` is a body's shape: its middle no higher than
/// [`MIDDLE_OVER_ENDS`] times its higher end.
pub(crate) fn plausible_heights(h: &Heights) -> bool {
    h.middle <= MIDDLE_OVER_ENDS * h.anterior.max(h.posterior)
}

/// Genant grade for a fractional height loss (0 below 20%).
pub fn genant_grade(loss: f64) -> u8 {
    match loss {
        l if l >= 0.40 => 3,
        l if l >= 0.25 => 2,
        l if l >= 0.20 => 1,
        _ => 0,
    }
}

/// Heights (mm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Heights {
    /// At 80% of the half-depth in front of the centre.
    pub anterior: f64,
    /// Through the centre.
    pub middle: f64,
    /// At 80% of the half-depth behind the centre.
    pub posterior: f64,
}

/// Where a body's three heights were read: the line each height is the
/// length of (its bundle's median), from the lower endplate's edge to the
/// upper's, so a reader can see what was measured (the sagittal view draws
/// them, as a vertebral morphometry's six points are drawn).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeightLines {
    /// See [`Heights::anterior`].
    pub anterior: HeightLine,
    /// See [`Heights::middle`].
    pub middle: HeightLine,
    /// See [`Heights::posterior`].
    pub posterior: HeightLine,
}

/// One height's line (patient mm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeightLine {
    /// Its end on the inferior endplate.
    pub from: DVec3,
    /// Its end on the superior endplate.
    pub to: DVec3,
}

/// Which of a body's three heights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeightAt {
    /// See [`Heights::anterior`].
    Anterior,
    /// See [`Heights::middle`].
    Middle,
    /// See [`Heights::posterior`].
    Posterior,
}

impl HeightLine {
    /// The height it measures (mm).
    pub fn length(&self) -> f64 {
        self.from.distance(self.to)
    }
}

impl HeightLines {
    /// These lines with the one at `at` replaced by `line`.
    pub fn with(mut self, at: HeightAt, line: HeightLine) -> Self {
        *match at {
            HeightAt::Anterior => &mut self.anterior,
            HeightAt::Middle => &mut self.middle,
            HeightAt::Posterior => &mut self.posterior,
        } = line;
        self
    }

    /// The heights they measure: their lengths.
    pub fn heights(&self) -> Heights {
        Heights {
            anterior: self.anterior.length(),
            middle: self.middle.length(),
            posterior: self.posterior.length(),
        }
    }
}

impl Heights {
    /// The largest of the three: what a loss is measured from.
    pub fn tallest(&self) -> f64 {
        self.anterior.max(self.middle).max(self.posterior)
    }
}

/// A body's local frame and the endplates found on it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BodyFrame {
    /// Body centre (mm).
    pub centre: DVec3,
    /// Axis up the column, anterior and the patient's left, unit vectors.
    pub up: DVec3,
    /// See `up`.
    pub anterior: DVec3,
    /// See `up`.
    pub lateral: DVec3,
    /// Half the body's depth front to back through its centre.
    pub half_depth_mm: f64,
    /// Half its width side to side.
    pub half_width_mm: f64,
}

/// What a height's run up or down a body passes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Through {
    /// The body: a hole in its label up to [`BODY_HOLE_MM`] short of the
    /// disc's mid-plane (dim marrow, the basivertebral veins' entry at its
    /// back), up to `AXIAL_HOLE_MM` past it. The heights reported.
    Body,
    /// The label: holes up to `AXIAL_HOLE_MM` only. How much of a body a
    /// reading labelled, which the judge weighs readings by.
    Label,
}

/// The labelled body as a measuring tool sees it.
pub(crate) struct BodyProbe<'a> {
    pub grid: &'a Grid<'a>,
    pub labels: &'a [u8],
    pub label: u8,
    /// The mid-planes of the discs above and below (centre, unit normal
    /// pointing up the column), where found: where bony bridges cross.
    pub discs: [Option<(DVec3, DVec3)>; 2],
}

impl BodyProbe<'_> {
    fn label_at(&self, p: DVec3) -> Option<u8> {
        self.grid
            .voxel_of(p)
            .map(|[i, j, k]| self.labels[self.grid.index(i, j, k)])
    }

    fn is_body(&self, p: DVec3) -> bool {
        self.label_at(p) == Some(self.label)
    }

    /// Extent of the label across the body through `p` (front to back or
    /// side to side): (back, front) distances. Beyond the body's wall lie
    /// the canal and the vertebra's own arch, so only a hole of one voxel
    /// is passed over.
    fn run(&self, p: DVec3, dir: DVec3, limit: f64) -> Option<(f64, f64)> {
        let tolerance = 1.5f64.max(1.1 * self.grid.spacing.max_element());
        self.run_within(p, dir, limit, tolerance)
    }

    /// Extent of the label up and down the body through `p`: (down, up)
    /// distances. Along the axis the body ends at a disc, beyond which lies
    /// another vertebra, so a gap is passed over while this label comes back
    /// before any other: dim marrow, or the basivertebral veins' entry at
    /// the back of the body, are holes in the label, not its end (on 3 mm
    /// osteoporotic CT they cut L5's posterior height from 27 to 16 mm).
    /// Through the body, a gap up to [`BODY_HOLE_MM`] short of the disc's
    /// mid-plane; past it, or through the label, up to `AXIAL_HOLE_MM`.
    fn run_along_axis(&self, p: DVec3, up: DVec3, through: Through) -> Option<(f64, f64)> {
        if !self.is_body(p) {
            return None;
        }
        let walk = |dir: DVec3| {
            let open_until = match through {
                Through::Body => self.to_disc_plane(p, dir).unwrap_or(0.0),
                Through::Label => 0.0,
            };
            self.walk(p, dir, 60.0, |t| {
                if t < open_until {
                    BODY_HOLE_MM
                } else {
                    AXIAL_HOLE_MM
                }
            })
        };
        Some((walk(-up), walk(up)))
    }

    /// How far along `dir` from `p` the nearer disc mid-plane ahead lies.
    fn to_disc_plane(&self, p: DVec3, dir: DVec3) -> Option<f64> {
        self.discs
            .iter()
            .flatten()
            .filter_map(|&disc| along_to_plane(p, dir, disc))
            .filter(|&t| t > 0.0)
            .min_by(f64::total_cmp)
    }

    /// Extent of the label along `dir` through `p`, passing over gaps up to
    /// `tolerance` mm of unlabelled voxels; another label ends it.
    fn run_within(&self, p: DVec3, dir: DVec3, limit: f64, tolerance: f64) -> Option<(f64, f64)> {
        if !self.is_body(p) {
            return None;
        }
        let walk = |dir: DVec3| self.walk(p, dir, limit, |_| tolerance);
        Some((walk(-dir), walk(dir)))
    }

    /// How far the label runs along `dir` from `p` (at most `limit` mm),
    /// passing over a gap of unlabelled voxels while it is no longer than
    /// `tolerance(t)` at `t` mm out; another label ends it.
    fn walk(&self, p: DVec3, dir: DVec3, limit: f64, tolerance: impl Fn(f64) -> f64) -> f64 {
        let mut t = 0.0;
        let mut gap = 0.0;
        let mut last = 0.0;
        while t < limit {
            t += STEP_MM;
            match self.label_at(p + dir * t) {
                Some(l) if l == self.label => {
                    last = t;
                    gap = 0.0;
                }
                Some(0) => {
                    gap += STEP_MM;
                    if gap > tolerance(t) {
                        break;
                    }
                }
                _ => break,
            }
        }
        last
    }

    /// The edge near `t` along `dir` from `p`, at half-way between the
    /// brightest HU inside (within 3 mm) and the darkest outside; `t` where
    /// no such edge lies within reach.
    fn refine(&self, p: DVec3, dir: DVec3, t: f64) -> f64 {
        self.edge_near(p, dir, t).unwrap_or(t)
    }

    /// The edge of [`BodyProbe::refine`], none where the HU within 3 mm of
    /// `t` rises or falls by less than 100, or reads brighter than any
    /// endplate inside `t` ([`NO_ENDPLATE_HU`]: bone cement).
    fn edge_near(&self, p: DVec3, dir: DVec3, t: f64) -> Option<f64> {
        if self.beyond_any_endplate_inside(p, dir, t, 3.0) {
            return None;
        }
        let samples: Vec<(f64, f64)> = (-12..=12)
            .map(|n| t + f64::from(n) * STEP_MM)
            .map(|s| (s, self.hu_along(p, dir, s)))
            .collect();
        let (top, peak) = brightest(&samples[..13]);
        let floor = darkest(&samples[12..]);
        // The first fall past the endplate's peak: across a thin disc the
        // neighbour's endplate can lie within reach, and its far side is a
        // second such fall.
        edge_past_peak(&samples[top..], peak, floor)
    }

    /// Whether anything reads brighter than any endplate
    /// ([`NO_ENDPLATE_HU`]) up to `depth` mm inside the label's end `t`
    /// along `dir` from `p`, or a voxel deeper, as far as its blur
    /// reaches: then the brightest there is no endplate's peak, nor is
    /// half-way from it an endplate's edge.
    fn beyond_any_endplate_inside(&self, p: DVec3, dir: DVec3, t: f64, depth: f64) -> bool {
        let reach = depth + self.grid.spacing.max_element();
        (0..=(reach / STEP_MM) as i32)
            .map(|n| t - f64::from(n) * STEP_MM)
            .filter(|&s| s > 0.0)
            .any(|s| self.hu_along(p, dir, s) >= NO_ENDPLATE_HU)
    }

    /// The HU at `s` mm along `dir` from `p`.
    fn hu_along(&self, p: DVec3, dir: DVec3, s: f64) -> f64 {
        f64::from(self.grid.sample(p + dir * s))
    }

    /// A body's end along `dir` from `p`, its label ending at `t`: the
    /// endplate's edge near `t`, or, where none is there, past `t` when the
    /// label stopped short of its endplate. With contrast, the vessels on
    /// a lumbar body's front take a strip of its bone where the body meets
    /// the disc (TotalSegmentator's CT at 3 mm: L4's label ended 5 mm above
    /// its lower endplate at the front, still marrow there), and a height
    /// read at the label's end was 24 mm for 30.
    fn body_end(&self, p: DVec3, dir: DVec3, t: f64) -> f64 {
        self.edge_near(p, dir, t)
            .or_else(|| self.endplate_past_label(p, dir, t))
            .or_else(|| self.endplate_within_label(p, dir, t))
            .unwrap_or(t)
    }

    /// The edge of an endplate up to `PAST_LABEL_MM` inside the label's
    /// end `t` along `dir` from `p`, where the label runs on past it into
    /// tissue with no edge near its end: the brightest HU there, and the
    /// first fall below half-way from it to the darkest between it and 3
    /// mm past `t`, if they lie 100 or more apart. On TotalSegmentator's
    /// CT made denser, with contrast and 40 HU of noise at 1 mm, read in 2
    /// mm blocks, L5's label ran 4–5 mm past its upper endplate's front
    /// into the L4–L5 disc beside the iliac vein (117–155 HU), and its front
    /// height read 35.6 mm for 32.9 on the reference's labels (31.5 on them
    /// as scanned; 32.5 since). None where anything brighter than an
    /// endplate lies there ([`NO_ENDPLATE_HU`]: bone cement).
    fn endplate_within_label(&self, p: DVec3, dir: DVec3, t: f64) -> Option<f64> {
        if self.beyond_any_endplate_inside(p, dir, t, PAST_LABEL_MM) {
            return None;
        }
        let inside = (PAST_LABEL_MM / STEP_MM) as i32;
        let past = (3.0 / STEP_MM) as i32;
        let samples: Vec<(f64, f64)> = (-inside..=past)
            .map(|n| t + f64::from(n) * STEP_MM)
            .filter(|&s| s > 0.0)
            .map(|s| (s, self.hu_along(p, dir, s)))
            .collect();
        let within = samples.iter().take_while(|s| s.0 <= t).count();
        let (top, peak) = brightest(&samples[..within]);
        edge_past_peak(&samples[top..], peak, darkest(&samples[top..]))
    }

    /// The edge of an endplate lying up to `PAST_LABEL_MM` beyond the
    /// label's end `t` along `dir` from `p`: walking out through unlabelled
    /// voxels (another label ends the walk) while the HU climbs to the
    /// endplate's peak, at least 50 above the label's end, then falls
    /// below half-way to the disc beyond it by 100 or more. None where
    /// the HU falls from the label's end (the label reached its edge).
    fn endplate_past_label(&self, p: DVec3, dir: DVec3, t: f64) -> Option<f64> {
        let at = |s: f64| self.hu_along(p, dir, s);
        let start = at(t);
        let mut peak = (t, start);
        let mut s = t;
        while s < t + PAST_LABEL_MM {
            s += STEP_MM;
            if !matches!(self.label_at(p + dir * s), Some(l) if l == 0 || l == self.label) {
                return None;
            }
            let hu = at(s);
            if hu > peak.1 {
                peak = (s, hu);
            } else if hu < peak.1 - ENDPLATE_FALL_HU {
                break;
            }
        }
        if peak.0 < t + 1.0 || peak.1 < start + 50.0 {
            return None;
        }
        let beyond: Vec<(f64, f64)> = (0..=16)
            .map(|n| peak.0 + f64::from(n) * STEP_MM)
            .map(|s| (s, at(s)))
            .collect();
        edge_past_peak(&beyond, peak.1, darkest(&beyond))
    }

    /// The body's point nearest `centre` within `NEAREST_BODY_MM` across
    /// the axis and half that along it: `centre` itself when it is in the
    /// body. The midpoint of a vertebra's two discs can miss its body: a
    /// wedged L5 leans forward off the line between its discs' centres,
    /// and on 3 mm osteoporotic CT a body's middle can be a hole of dim
    /// marrow.
    pub fn nearest_body(&self, centre: DVec3, up: DVec3) -> Option<DVec3> {
        if self.is_body(centre) {
            return Some(centre);
        }
        let (anterior, lateral) = across(up, self.grid.front);
        let step = 0.5 * self.grid.spacing.min_element();
        let n = (NEAREST_BODY_MM / step).ceil() as i32;
        let mut best: Option<(f64, DVec3)> = None;
        for a in -n..=n {
            for l in -n..=n {
                for u in -n / 2..=n / 2 {
                    let offset = DVec3::new(f64::from(a), f64::from(l), f64::from(u)) * step;
                    let distance = offset.length();
                    if distance > NEAREST_BODY_MM || best.is_some_and(|(d, _)| d <= distance) {
                        continue;
                    }
                    let p = centre + anterior * offset.x + lateral * offset.y + up * offset.z;
                    if self.is_body(p) {
                        best = Some((distance, p));
                    }
                }
            }
        }
        best.map(|(_, p)| p)
    }

    /// The body's frame: axis `up`, anterior from the patient's −y, and the
    /// true middle of its depth along that line. Its front is the body's,
    /// not a bony bridge's on it ([`BodyProbe::bridges_a_disc`]): a bar of
    /// 6 mm on every lumbar body's front took the frames' depth with it,
    /// and the front heights, read at 80% of it, ran in the bar (L3 42.0
    /// mm for 31.3 on TotalSegmentator's CT).
    pub fn frame(&self, centre: DVec3, up: DVec3) -> Option<BodyFrame> {
        let (anterior, lateral) = across(up, self.grid.front);
        let (back, mut front) = self.run(centre, anterior, 80.0)?;
        // From a voxel inside the label's end (its edge reads half of it).
        let inside = front - self.grid.spacing.max_element();
        if self.bridges_a_disc(centre + anterior * inside, up) {
            let least = (front - BRIDGE_DEPTH_MM).max(0.0);
            front = inside;
            while front > least && self.bridges_a_disc(centre + anterior * front, up) {
                front -= STEP_MM;
            }
        }
        let centre = centre + anterior * ((front - back) / 2.0);
        let (left, right) = self.run(centre, lateral, 80.0)?;
        let centre = centre + lateral * ((right - left) / 2.0);
        Some(BodyFrame {
            centre,
            up,
            anterior,
            lateral,
            half_depth_mm: (front + back) / 2.0,
            half_width_mm: (left + right) / 2.0,
        })
    }

    /// Body height along `up` through `start`, with its line. A line whose start falls in
    /// a hole of the label (dim marrow, the basivertebral veins' entry at
    /// the back) starts at the body nearest along it instead: the height is
    /// the same line's. None where the label runs out of the scan along
    /// the line: a body cut by the scan's first or last slice has no
    /// height to read (TotalSegmentator's T12, cut by its top, read 9 mm
    /// at the back for 26 at 0.75 mm pixels).
    fn height_at(&self, start: DVec3, up: DVec3, through: Through) -> Option<(f64, HeightLine)> {
        let p = self.body_along(start, up)?;
        let (down, above) = self.run_along_axis(p, up, through)?;
        let beyond = |t: f64| self.grid.voxel_of(p + up * t).is_none();
        if beyond(-down - STEP_MM) || beyond(above + STEP_MM) {
            return None;
        }
        let (below, over) = (self.body_end(p, -up, down), self.body_end(p, up, above));
        let line = HeightLine {
            from: p - up * below,
            to: p + up * over,
        };
        Some((below + over, line))
    }

    /// Whether the line along `up` through `q` runs through bone across a
    /// disc's mid-plane: [`BRIDGE_HU`] or more all through
    /// [`BRIDGE_SPAN_MM`] about it, with no dip there below
    /// [`BRIDGE_DIP`] of the brighter bone either side (the endplates). A
    /// bony bridge (an osteophyte, an ossified ligament) joins two bodies
    /// across the disc; a disc dips, even a thin one between dense
    /// endplates on 1 mm slices (the chest CT's mid-thoracic discs dip
    /// from 750–1,150 HU to 430–800). Cement or metal there
    /// ([`NO_ENDPLATE_HU`]) is no bridge.
    fn bridges_a_disc(&self, q: DVec3, up: DVec3) -> bool {
        self.discs.iter().flatten().any(|&disc| {
            let Some(t) = along_to_plane(q, up, disc) else {
                return false;
            };
            let hu = |from: f64, to: f64| {
                let steps = ((to - from) / STEP_MM).round() as i32;
                (0..=steps).map(move |m| self.hu_along(q, up, t + from + f64::from(m) * STEP_MM))
            };
            let half = BRIDGE_SPAN_MM / 2.0;
            let (least, most) =
                hu(-half, half).fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
            let below = hu(-half - ENDPLATE_REACH_MM, -half).fold(f64::MIN, f64::max);
            let above = hu(half, half + ENDPLATE_REACH_MM).fold(f64::MIN, f64::max);
            // Cement or metal in the disc is no bridge of bone (nor a body's
            // height; `body_end` reads them apart).
            let brightest = below.max(above).max(most);
            least >= BRIDGE_HU
                && least >= BRIDGE_DIP * below.min(above)
                && brightest < NO_ENDPLATE_HU
        })
    }

    /// `p` when it is in the body, else the body's point nearest it along
    /// `up` within half of `AXIAL_HOLE_MM`.
    fn body_along(&self, p: DVec3, up: DVec3) -> Option<DVec3> {
        (0..=(AXIAL_HOLE_MM / 2.0 / STEP_MM) as i32)
            .flat_map(|n| [n, -n])
            .map(|n| p + up * (f64::from(n) * STEP_MM))
            .find(|&q| self.is_body(q))
    }

    /// Anterior, middle and posterior heights at +80%, 0 and −80% of the
    /// half-depth, each the median of a bundle of lines (see
    /// `HEIGHT_BUNDLE`), passing over what `through` says. (A bundle at
    /// the back once read L5's posterior height 13.7 mm for 27.6 on
    /// TotalSegmentator's CT at 1.5 mm pixels: the basivertebral veins'
    /// entry was a hole in the label, which `holes::close_across_bodies`
    /// now closes.)
    pub fn heights(&self, f: &BodyFrame, through: Through) -> Option<Heights> {
        self.heights_with_lines(f, through)
            .map(|(heights, _)| heights)
    }

    /// [`BodyProbe::heights`] and the line each was read on.
    pub fn heights_with_lines(
        &self,
        f: &BodyFrame,
        through: Through,
    ) -> Option<(Heights, HeightLines)> {
        let (anterior, front) = self.bundle_height(f, END_HEIGHTS_AHEAD, through)?;
        let (middle, centre) = self.bundle_height(f, 0.0, through)?;
        let (posterior, back) = self.bundle_height(f, -END_HEIGHTS_AHEAD, through)?;
        Some((
            Heights {
                anterior,
                middle,
                posterior,
            },
            HeightLines {
                anterior: front,
                middle: centre,
                posterior: back,
            },
        ))
    }

    /// The median height of the lines of `HEIGHT_BUNDLE` about the point
    /// `ahead` half-depths in front of the centre; none where fewer than
    /// half of them meet the body.
    ///
    /// In front, a line through a bony bridge ([`BodyProbe::bridges_a_disc`])
    /// is not the body's (its "height" runs to the split's cut in the
    /// bridge); where too few lines are left the bundle moves towards the
    /// centre, to 5/8 of `ahead` at most. With a 6 mm bar of 600 HU across
    /// every lumbar disc's front of TotalSegmentator's CT, L3's front
    /// height read 42.0 mm for 31.3; the chest CT's fronts, with anterior
    /// osteophytes at their discs, read 0.2–3.6 mm lower without them (T10
    /// 19.4 mm for 23.0, 0.90 of its back). Not in the middle: a calcified
    /// nucleus (TotalSegmentator's CT with 400 HU in the L2–L3 disc) is no
    /// bridge, and reading it as one lost L2's and L3's heights.
    fn bundle_height(
        &self,
        f: &BodyFrame,
        ahead: f64,
        through: Through,
    ) -> Option<(f64, HeightLine)> {
        [1.0, 0.875, 0.75, 0.625]
            .into_iter()
            .find_map(|share| self.bundle_height_about(f, share * ahead, 0.0, through))
    }

    /// The median height of the lines of `HEIGHT_BUNDLE` about the point
    /// `ahead` half-depths in front of the centre and `aside` half-widths
    /// to its left (see [`BodyProbe::bundle_height`]), with its line.
    fn bundle_height_about(
        &self,
        f: &BodyFrame,
        ahead: f64,
        aside: f64,
        through: Through,
    ) -> Option<(f64, HeightLine)> {
        let mut heights: Vec<(f64, HeightLine)> = HEIGHT_BUNDLE
            .iter()
            .filter_map(|&(a, l)| {
                let start = f.centre
                    + f.anterior * ((ahead + a) * f.half_depth_mm)
                    + f.lateral * ((aside + l) * f.half_width_mm);
                let bridged = ahead > 0.0 && self.bridges_a_disc(start, f.up);
                (!bridged)
                    .then(|| self.height_at(start, f.up, through))
                    .flatten()
            })
            .collect();
        if heights.len() * 2 <= HEIGHT_BUNDLE.len() {
            return None;
        }
        heights.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(heights[heights.len() / 2])
    }

    /// Whether a middle height `middle_loss` (a share) below `tallest`, the
    /// largest of the body's heights, is a broad loss: the bundles half-way
    /// out from the centre, in front, behind and to either side, lose (their
    /// median) at least `BROAD_LOSS_SHARE` of it. A biconcave fracture sags
    /// the endplate's middle as a dish, still three quarters as deep half
    /// way out; a Schmorl's node is a pit with steep walls, the endplate
    /// around it level. Where fewer than three of those bundles meet the
    /// body, the loss is taken as broad (graded as measured).
    pub(crate) fn middle_loss_is_broad(
        &self,
        f: &BodyFrame,
        tallest: f64,
        middle_loss: f64,
    ) -> bool {
        let mut losses: Vec<f64> = HALF_WAY_OUT
            .iter()
            .filter_map(|&(ahead, aside)| self.bundle_height_about(f, ahead, aside, Through::Body))
            .map(|(h, _)| 1.0 - h / tallest)
            .collect();
        if losses.len() < 3 {
            return true;
        }
        crate::column::median(&mut losses) >= BROAD_LOSS_SHARE * middle_loss
    }

    /// Superior and inferior endplate normals (pointing up), fitted to the
    /// edges of nine lines across the middle of the body. These lines pass
    /// over one-voxel holes only: one cut short by a larger hole is an
    /// outlier the robust fit drops, whereas bridged lines on the
    /// TotalSegmentator CT moved the lordosis from 55° to 64° (57° on the
    /// reference's labels; which endplate moved was not traced).
    pub fn endplates(&self, f: &BodyFrame) -> Option<(DVec3, DVec3)> {
        let mut top = Vec::new();
        let mut bottom = Vec::new();
        for a in [-0.5, 0.0, 0.5] {
            for l in [-0.5, 0.0, 0.5] {
                let (x, y) = (a * f.half_depth_mm, l * f.half_width_mm);
                let p = f.centre + f.anterior * x + f.lateral * y;
                let Some((down, up)) = self.run(p, f.up, 60.0) else {
                    continue;
                };
                top.push((x, y, self.refine(p, f.up, up)));
                bottom.push((x, y, -self.refine(p, -f.up, down)));
            }
        }
        let normal = |points: &[(f64, f64, f64)]| {
            let (gx, gy) = robust_plane(points)?;
            Some((f.up - f.anterior * gx - f.lateral * gy).normalize())
        };
        Some((normal(&top)?, normal(&bottom)?))
    }
}

/// How far (in half-depths) in front of and behind the body's centre its
/// anterior and posterior heights are read.
const END_HEIGHTS_AHEAD: f64 = 0.8;

/// Where [`BodyProbe::middle_loss_is_broad`] reads the endplates around
/// the middle: half-way out from the centre in front, behind and to either
/// side (half-depths ahead, half-widths aside).
const HALF_WAY_OUT: [(f64, f64); 4] = [(0.5, 0.0), (-0.5, 0.0), (0.0, 0.5), (0.0, -0.5)];

/// How much of the middle's loss the endplates half-way out must lose for
/// it to be a broad (biconcave) loss. A dish is three quarters as deep half
/// way out; a pit narrower than half the body, not at all, but a lumbar
/// body's endplates are cupped, its half-way points 11–14% below its rim
/// as scanned. Carved into real bodies (`Carving` in the tests), the half-way
/// losses over the middle's: on the chest CT's T8 (25.6 × 28 mm across) a
/// pit 10 mm across and 5 mm deep 9% of 23 (0.39; "biconcave, grade 1"
/// without this test), both endplates sagging as dishes 3.5 and 5 mm deep
/// 21% of 26 and 22% of 33 (0.81, 0.67); on TotalSegmentator's L3 at 0.7
/// × 0.7 × 1 mm a pit 14 mm across 13% of 26 (0.50), dishes 3.5 and 5 mm
/// deep 25.5% of 27 and 30% of 38 (0.94, 0.79).
const BROAD_LOSS_SHARE: f64 = 0.6;

/// How much of the lean its front and back heights give a body its
/// endplates must show for it to be read as a wedge (see
/// [`endplates_lean_as_heights`]).
const LEAN_AGREES: f64 = 0.65;

/// Whether the endplates `superior` and `inferior` (normals, up) of a body
/// on frame `f` lean together towards its front by at least `LEAN_AGREES`
/// of the angle its heights `h` make between the lines they are read on.
/// A wedge's front is low because its endplates close in; a front height
/// cut short by a vessel's lumen, a hole or a blurred cortex leaves them
/// as they were. Over the spine tests' readings of TotalSegmentator's
/// osteoporotic CT and the chest CT, bodies whose front read 25–62% below
/// their back with no wedge there (contrast and noise, a patient turned,
/// pitched, a gantry tilted, a noisy CT read in blocks) leaned 0.53 of what
/// their heights said or less, half of them the other way; L2 wedged to 60%
/// in front leaned 0.77 of it at 3 mm and 0.93 at 1.5 mm.
pub(crate) fn endplates_lean_as_heights(
    f: &BodyFrame,
    superior: DVec3,
    inferior: DVec3,
    h: &Heights,
) -> bool {
    let lean = |n: DVec3| n.dot(f.anterior).clamp(-1.0, 1.0).asin();
    let together = lean(superior) - lean(inferior);
    let apart_mm = 2.0 * END_HEIGHTS_AHEAD * f.half_depth_mm;
    let by_heights = ((h.posterior - h.anterior) / apart_mm).atan();
    by_heights > 0.0 && together >= LEAN_AGREES * by_heights
}

/// Where the lines of a height start about its point (the centre, or 80%
/// of the half-depth ahead of or behind it), (ahead, to the side) in
/// half-depths and half-widths. One line's height on slices thicker than a
/// millimetre steps with the label's staircase: on TotalSegmentator's 3 mm
/// CT with 1 mm pixels, L5 (leaning 30°) read 25–34 mm along parallel
/// lines within 4 mm of its middle, on our labels and on the reference's
/// alike; at the front, one line read L5 30.3 mm for the reference labels'
/// 33.5 at 3 mm, the bundle 31.2 and 31.5. (The median reads a concave
/// endplate's middle a little high: 0.1–0.3 mm on the demo spines; the
/// front and back 0.1 mm higher than one line.)
const HEIGHT_BUNDLE: [(f64, f64); 9] = [
    (0.0, 0.0),
    (-0.1, 0.0),
    (0.1, 0.0),
    (0.0, -0.2),
    (0.0, 0.2),
    (-0.1, -0.2),
    (-0.1, 0.2),
    (0.1, -0.2),
    (0.1, 0.2),
];

/// How far (mm) past a body's label's end its endplate is sought
/// ([`BodyProbe::endplate_past_label`]), and inside it where the label
/// runs on past the endplate ([`BodyProbe::endplate_within_label`]): the
/// strip the vessels took from L4's front was 5 mm deep, and L5's label
/// ran 4–5 mm into the disc beside a vein.
const PAST_LABEL_MM: f64 = 8.0;

/// How far (HU) below the peak a walk out to an endplate must fall to have
/// passed it, so that a dip of noise is not taken for that fall.
const ENDPLATE_FALL_HU: f64 = 60.0;

/// The step (mm) of a walk along a line through the label.
const STEP_MM: f64 = 0.25;

/// Reach (mm) below a disc's mid-plane within which the body under it
/// must begin.
const TOP_BELOW_DISC_MM: f64 = 25.0;

/// The least (HU) a bony bridge reads all across a disc's mid-plane
/// ([`BodyProbe::bridges_a_disc`]): osteophytes and ossified ligaments are
/// cortical bone (400–1,000 HU). A disc reads below it, but for a thin one
/// between dense endplates, which [`BRIDGE_DIP`] tells apart.
const BRIDGE_HU: f64 = 350.0;

/// A line dipping across a disc's mid-plane below this share of the
/// brighter bone either side reads a disc there, not a bridge (see
/// [`BodyProbe::bridges_a_disc`]).
const BRIDGE_DIP: f64 = 0.8;

/// How far (mm) beyond [`BRIDGE_SPAN_MM`] either side the endplates a
/// disc dips from are looked for.
const ENDPLATE_REACH_MM: f64 = 4.5;

/// The deepest (mm) a bony bridge on a body's front is taken off its
/// frame: flowing ossification is a few millimetres to a centimetre thick.
const BRIDGE_DEPTH_MM: f64 = 12.0;

/// The span (mm) along a line about a disc's mid-plane that must all read
/// as bone for a bridge: more than a disc plane's error at its edge.
const BRIDGE_SPAN_MM: f64 = 3.0;

/// Where the lines onto a body's top fall, front to back and side to side,
/// in half-depths from its middle: inside the endplate's rounded rim (on
/// the demo spine, 0.8 reached past S1's rim and read 30° for 39°; 0.4 and
/// 0.6 agree within 1.5° on every reading of TotalSegmentator's CT).
const TOP_LINES: [f64; 5] = [-0.5, -0.25, 0.0, 0.25, 0.5];

impl BodyProbe<'_> {
    /// Normal (pointing up) of the body's superior endplate under a disc
    /// with mid-plane through `centre` and normal `up`, fitted to where
    /// lines dropped along `up` onto the body first meet it, over the middle
    /// of the body's depth each way from the column's centreline. For the
    /// sacrum: its label spreads into the alae and the articular processes,
    /// which rise above S1's endplate beside and behind it, so a frame from
    /// the label's own width sends lines onto them; and a frame hung from
    /// the disc moves with the disc (on TotalSegmentator's CT the same
    /// reference labels measured 42.8° or 50.3° as the disc found moved).
    pub fn top_below(&self, centre: DVec3, up: DVec3) -> Option<DVec3> {
        let (anterior, lateral) = across(up, self.grid.front);
        let first_below = |q: DVec3, from: f64| {
            let mut t = from;
            while t <= TOP_BELOW_DISC_MM {
                if self.is_body(q - up * t) {
                    return Some(t);
                }
                t += STEP_MM;
            }
            None
        };
        let t0 = first_below(centre, 0.0)?;
        // Its depth front to back a little under the top.
        let inside = centre - up * (t0 + 4.0);
        let (back, front) = self.run(inside, anterior, 80.0)?;
        let half_depth = (front + back) / 2.0;
        let middle = centre + anterior * ((front - back) / 2.0);
        let mut top = Vec::new();
        for a in TOP_LINES {
            for l in TOP_LINES {
                let (x, y) = (a * half_depth, l * half_depth);
                let q = middle + anterior * x + lateral * y;
                let Some(t) = first_below(q, -8.0) else {
                    continue;
                };
                let edge = q - up * t;
                top.push((x, y, self.refine(edge, up, 0.0) - t));
            }
        }
        let (gx, gy) = robust_plane(&top)?;
        Some((up - anterior * gx - lateral * gy).normalize())
    }
}

/// How far (HU) an endplate's peak stands above the disc beyond it, at
/// least, for its edge to be read there.
const ENDPLATE_OVER_DISC_HU: f64 = 100.0;

/// The darkest (HU) a disc is taken to read when an endplate's edge is put
/// half-way between its peak and the disc beyond. A disc reads 50–110 HU
/// (65–99 where the column crosses TotalSegmentator's discs), but the gas
/// of a vacuum cleft within reach (−700 HU or less) put the edge past the
/// disc tissue, into the cleft: on that CT made denser, at 1.5 mm, with
/// gas in the middle of the L4–L5 disc, L4's middle height read 27.3 mm
/// for 24.4 without it (25.1 with this floor).
const DISC_FLOOR_HU: f64 = 40.0;

/// The edge past an endplate's `peak` (HU) with `floor` the darkest beyond
/// it: where `from_peak` (samples from the peak outward) first falls below
/// half-way between them; none where they lie under
/// `ENDPLATE_OVER_DISC_HU` apart.
fn edge_past_peak(from_peak: &[(f64, f64)], peak: f64, floor: f64) -> Option<f64> {
    let floor = floor.max(DISC_FLOOR_HU);
    if peak - floor < ENDPLATE_OVER_DISC_HU {
        return None;
    }
    first_fall(from_peak, (peak + floor) / 2.0)
}

/// The index and HU of the brightest of `samples` (position, HU), the
/// first where several are; (0, −∞) where there are none.
fn brightest(samples: &[(f64, f64)]) -> (usize, f64) {
    samples.iter().enumerate().fold(
        (0, f64::MIN),
        |a, (n, s)| if s.1 > a.1 { (n, s.1) } else { a },
    )
}

/// HU no endplate reads, however dense: bone cement (1,500–3,000) and
/// metal do; an endplate's thin cortex reads under it on CT. With bone
/// cement filling a body's middle (a vertebroplasty: TotalSegmentator's
/// osteoporotic CT, 2,200 HU in L2 about 4.5 mm inside its dim
/// endplates), the cement's edge was taken for theirs: L2's middle height
/// read 21.3 mm for 27.2 at 3 mm, 24.0 for 26.7 at 1.5 mm. Where cement
/// reaches an endplate, the label's end (the cement's blur past it) is
/// taken for the body's end (not measured).
const NO_ENDPLATE_HU: f64 = 1500.0;

/// The darkest HU of `samples` (position, HU).
fn darkest(samples: &[(f64, f64)]) -> f64 {
    samples.iter().map(|s| s.1).fold(f64::MAX, f64::min)
}

/// Where `samples` (position, HU; 0.25 mm apart, from an endplate's peak
/// outward) first fall below `half`, between the two samples either side.
fn first_fall(samples: &[(f64, f64)], half: f64) -> Option<f64> {
    samples
        .windows(2)
        .find(|pair| pair[0].1 >= half && pair[1].1 < half)
        .map(|pair| {
            let f = (pair[0].1 - half) / (pair[0].1 - pair[1].1);
            pair[0].0 + f * (pair[1].0 - pair[0].0)
        })
}

/// The body's anterior (from the patient's, `front`: see [`Grid::front`])
/// and lateral directions across an axis `up` (zero where `up` runs front
/// to back).
pub(crate) fn across(up: DVec3, front: DVec3) -> (DVec3, DVec3) {
    let anterior = (front - up * up.dot(front)).normalize_or_zero();
    (anterior, up.cross(anterior).normalize_or_zero())
}

/// Longest gap (mm) of unlabelled voxels passed over up or down a body:
/// the holes `holes` closes, and those it leaves (a label made elsewhere,
/// a hole along a tilted body's axis but not along the slices').
const AXIAL_HOLE_MM: f64 = crate::holes::HOLE_MM;

/// How far along `dir` (a unit vector) from `q` the plane through `centre`
/// with unit `normal` lies (negative behind); none where `dir` runs within
/// 30° of the plane, as no line up a body crosses a disc.
fn along_to_plane(q: DVec3, dir: DVec3, (centre, normal): (DVec3, DVec3)) -> Option<f64> {
    let along = dir.dot(normal);
    (along.abs() >= 0.5).then(|| (centre - q).dot(normal) / along)
}

/// Longest gap (mm) of unlabelled voxels passed over up or down a body
/// short of its disc's mid-plane when its height is read
/// ([`Through::Body`]): on TotalSegmentator's CT cut through L1, a hole of
/// dim marrow 12 mm tall and 21 mm wide under L4's upper endplate (one
/// voxel wider than `holes` closes side to side) read its back 12.0 mm for
/// 27.1. No further: on that CT with L4 slipped 15 mm forward over L5, a
/// line through L4's middle passed a longer gap short of the tilted disc's
/// plane and read 50.7 mm for 24.3.
const BODY_HOLE_MM: f64 = 2.0 * AXIAL_HOLE_MM;

/// How far (mm) from the midpoint of its discs a body is looked for.
const NEAREST_BODY_MM: f64 = 12.0;

/// Largest distance (mm) of an edge point from its endplate's plane before
/// it is taken for a hole, an osteophyte or a Schmorl's node.
const ENDPLATE_OUTLIER_MM: f64 = 1.5;

/// The plane through the edge points, dropping the worst one at a time
/// while it lies off the plane (at most a third of them): one line that
/// ran into a vein channel or a node would tilt a least-squares plane by
/// 10° or more.
fn robust_plane(points: &[(f64, f64, f64)]) -> Option<(f64, f64)> {
    let mut kept = points.to_vec();
    let least = points.len() - points.len() / 3;
    loop {
        let (gx, gy) = fit_plane(&kept)?;
        let n = kept.len() as f64;
        let c = kept.iter().map(|p| p.2 - gx * p.0 - gy * p.1).sum::<f64>() / n;
        let residual = |p: &(f64, f64, f64)| (p.2 - gx * p.0 - gy * p.1 - c).abs();
        let (worst, off) = kept
            .iter()
            .enumerate()
            .map(|(i, p)| (i, residual(p)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if off <= ENDPLATE_OUTLIER_MM || kept.len() <= least.max(4) {
            return Some((gx, gy));
        }
        kept.swap_remove(worst);
    }
}

/// Least-squares slopes (dz/dx, dz/dy) of z = a x + b y + c.
fn fit_plane(points: &[(f64, f64, f64)]) -> Option<(f64, f64)> {
    if points.len() < 4 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my, mz) = points.iter().fold((0.0, 0.0, 0.0), |a, p| {
        (a.0 + p.0 / n, a.1 + p.1 / n, a.2 + p.2 / n)
    });
    let (mut sxx, mut syy, mut sxy, mut sxz, mut syz) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, y, z) in points {
        let (x, y, z) = (x - mx, y - my, z - mz);
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
        sxz += x * z;
        syz += y * z;
    }
    let det = sxx * syy - sxy * sxy;
    if det.abs() < 1e-9 {
        return None;
    }
    Some(((sxz * syy - syz * sxy) / det, (syz * sxx - sxz * sxy) / det))
}

/// Sagittal angle (degrees) of a plane with unit normal `n`: positive when
/// it faces anteriorly.
pub fn sagittal_deg(n: DVec3) -> f64 {
    sagittal_deg_facing(n, DVec3::NEG_Y)
}

/// Coronal angle (degrees): positive when the plane faces the patient's left.
pub fn coronal_deg(n: DVec3) -> f64 {
    coronal_deg_facing(n, DVec3::NEG_Y)
}

/// [`sagittal_deg`] for a patient whose anterior is `anterior` (−y lying
/// straight; see [`crate::Spine::anterior`]).
pub(crate) fn sagittal_deg_facing(n: DVec3, anterior: DVec3) -> f64 {
    n.dot(anterior).atan2(n.z).to_degrees()
}

/// [`coronal_deg`] for a patient whose anterior is `anterior`.
pub(crate) fn coronal_deg_facing(n: DVec3, anterior: DVec3) -> f64 {
    n.dot(DVec3::Z.cross(anterior)).atan2(n.z).to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heights(anterior: f64, middle: f64, posterior: f64) -> Heights {
        Heights {
            anterior,
            middle,
            posterior,
        }
    }

    /// An 8×8×60 column at 1 mm: discs (100 HU) below z = 10 and above
    /// z = 41, endplates (400) at z = 10–11 and 40–41, marrow (150)
    /// between: the body's edges lie at z = 9.5 and 41.5, 32 mm apart.
    /// `label_of(z)`: each slice's label, the body's being 1.
    fn column_height(label_of: impl Fn(usize) -> u8) -> f64 {
        column_height_with(|_| None, label_of)
    }

    /// [`column_height`] with slice z's HU replaced by `instead(z)`, if any.
    fn column_height_with(
        instead: impl Fn(usize) -> Option<i16>,
        label_of: impl Fn(usize) -> u8,
    ) -> f64 {
        column_height_from(25.0, instead, label_of, [None, None], Through::Label).expect("a height")
    }

    /// The height of the column of [`column_height_with`] along the line
    /// from (4, 4, `z`), with `discs` and passing over what `through` says.
    fn column_height_from(
        z: f64,
        instead: impl Fn(usize) -> Option<i16>,
        label_of: impl Fn(usize) -> u8,
        discs: [Option<(DVec3, DVec3)>; 2],
        through: Through,
    ) -> Option<f64> {
        let [nx, ny, nz] = [8usize, 8, 60];
        let hu = |z: usize| {
            instead(z).unwrap_or(match z {
                0..=9 | 42.. => 100,
                10 | 11 | 40 | 41 => 400,
                _ => 150,
            })
        };
        let volume = crate::grid::test_volume([nx, ny, nz], |n| hu(n / (nx * ny)));
        let grid = Grid::new(&volume).expect("a grid");
        let labels: Vec<u8> = (0..nx * ny * nz).map(|n| label_of(n / (nx * ny))).collect();
        let probe = BodyProbe {
            grid: &grid,
            labels: &labels,
            label: 1,
            discs,
        };
        probe
            .height_at(DVec3::new(4.0, 4.0, z), DVec3::Z, through)
            .map(|(mm, _)| mm)
    }

    /// The body's label (1) on slices `range`, none elsewhere.
    fn body(range: std::ops::RangeInclusive<usize>) -> impl Fn(usize) -> u8 {
        move |z| u8::from(range.contains(&z))
    }

    #[test]
    fn a_label_stopping_short_of_its_endplate_is_measured_to_the_endplate() {
        // Reaching both endplates: their edges.
        let whole = column_height(body(10..=41));
        assert!((whole - 32.0).abs() < 0.3, "{whole}");
        // Stopping 6 mm above the lower endplate, in the marrow (as where
        // contrast-filled vessels took a body's lower front): the same.
        let short = column_height(body(16..=41));
        assert!((short - 32.0).abs() < 0.3, "{short}");
        // Where another label holds what lies beyond, the walk stops there:
        // the label's own end (its last voxel's outer face, z = 15.5) is
        // the body's.
        let other = column_height(|z| if z < 16 { 2 } else { body(16..=41)(z) });
        assert!((other - 26.0).abs() < 0.3, "{other}");
    }

    #[test]
    fn a_tall_hole_in_the_label_is_the_bodys_up_to_its_discs_not_the_labels() {
        // Marrow unlabelled 15 mm up (z = 20–34; dim, or the veins' entry
        // at the back), over the 10 mm a run passes on its own.
        let holed = |z: usize| u8::from((10..=41).contains(&z) && !(20..=34).contains(&z));
        let discs = [45.0, 5.0].map(|z| Some((DVec3::new(4.0, 4.0, z), DVec3::Z)));
        let height = |discs, through| {
            column_height_from(15.0, |_| None, holed, discs, through).expect("a height")
        };
        // The body's height runs on to the label beyond, short of the disc.
        let body = height(discs, Through::Body);
        assert!((body - 32.0).abs() < 0.3, "{body}");
        // The label's ends at the hole (its last voxel's face, z = 19.5).
        let label = height(discs, Through::Label);
        assert!((label - 10.0).abs() < 0.3, "{label}");
        // With no disc known, nothing says where the body ends: the same.
        let unbounded = height([None, None], Through::Body);
        assert!((unbounded - 10.0).abs() < 0.3, "{unbounded}");
    }

    #[test]
    fn a_label_running_past_its_endplate_into_the_disc_is_measured_to_the_endplate() {
        // 5 mm into the disc above (100 HU, no edge near the label's end),
        // as a vein beside the disc took a body's label there.
        let long = column_height(body(10..=46));
        assert!((long - 32.0).abs() < 0.3, "{long}");
        // Into the disc below too.
        let both = column_height(body(5..=46));
        assert!((both - 32.0).abs() < 0.3, "{both}");
    }

    #[test]
    fn gas_in_the_disc_beyond_an_endplate_leaves_its_edge() {
        // A vacuum cleft 1 mm past the upper endplate, 4 mm thick: the edge
        // stays half-way to the disc, not to the gas (32.8 mm when it was).
        let gas = |z: usize| (43..=46).contains(&z).then_some(-700);
        let height = column_height_with(gas, body(10..=41));
        assert!((height - 32.0).abs() < 0.3, "{height}");
    }

    #[test]
    fn a_low_front_is_a_wedge_only_where_the_endplates_lean_together() {
        let frame = BodyFrame {
            centre: DVec3::ZERO,
            up: DVec3::Z,
            anterior: DVec3::NEG_Y,
            lateral: DVec3::X,
            half_depth_mm: 17.0,
            half_width_mm: 22.0,
        };
        // 11 mm lower in front over the 27.2 mm between the lines: 22°.
        let low_front = heights(18.0, 23.5, 29.0);
        let leaning = |degrees: f64| {
            let (s, c) = degrees.to_radians().sin_cos();
            DVec3::new(0.0, -s, c)
        };
        let lean = |sup: f64, inf: f64| {
            endplates_lean_as_heights(&frame, leaning(sup), leaning(inf), &low_front)
        };
        // The top tilted down towards the front, as a collapsed front has it.
        assert!(lean(20.0, 0.0));
        assert!(lean(12.0, -8.0));
        // Parallel endplates, or leaning apart: the front height is off.
        assert!(!lean(0.0, 0.0));
        assert!(!lean(8.0, 0.0));
        assert!(!lean(-10.0, 5.0));
        // A front as high as the back is no wedge whatever the endplates do.
        let even = heights(29.0, 27.0, 29.0);
        assert!(!endplates_lean_as_heights(
            &frame,
            leaning(20.0),
            leaning(0.0),
            &even
        ));
    }

    #[test]
    fn a_middle_far_above_both_ends_is_a_missed_endplate() {
        // Measured on real and demo bodies: flat, cupped, wedged.
        assert!(plausible_heights(&heights(23.4, 22.2, 23.4)));
        assert!(plausible_heights(&heights(24.8, 25.8, 31.0)));
        assert!(plausible_heights(&heights(14.6, 17.2, 21.3)));
        // L3 of a noisy CT with dim marrow, its label run into a disc.
        assert!(!plausible_heights(&heights(18.1, 40.2, 23.9)));
    }

    /// A 30 × 30 mm body at 1 mm (label 1, z = 10–41, endplates of
    /// `endplate_hu` at z = 10–11 and 40–41) between discs of `disc_hu`
    /// (z = 5–9 and 42–46, mid-planes at 7 and 44) and its neighbours'
    /// bodies (labels 3 and 2, their endplates as bright); with `bar`, a
    /// 6 mm bar of 600 HU on its front from z = 0 to 59, labelled 1 between
    /// the mid-planes and as the neighbours beyond (as the split cuts a
    /// bridge). Its front, middle and back heights.
    fn heights_in_front_of(bar: bool, endplate_hu: i16, disc_hu: i16) -> Heights {
        let [nx, ny, nz] = [40usize, 50, 60];
        let in_body = |x: usize, y: usize| (5..35).contains(&x) && (15..45).contains(&y);
        let in_bar = |x: usize, y: usize| bar && (10..30).contains(&x) && (9..15).contains(&y);
        let at = |n: usize| (n % nx, (n / nx) % ny, n / (nx * ny));
        let volume = crate::grid::test_volume([nx, ny, nz], |n| {
            let (x, y, z) = at(n);
            match z {
                _ if in_bar(x, y) => 600,
                _ if !in_body(x, y) => 0,
                3 | 4 | 10 | 11 | 40 | 41 | 47 | 48 => endplate_hu,
                5..=9 | 42..=46 => disc_hu,
                _ => 150,
            }
        });
        let grid = Grid::new(&volume).expect("a grid");
        assert_eq!(grid.front, DVec3::NEG_Y, "the grid's front");
        let labels: Vec<u8> = (0..nx * ny * nz)
            .map(|n| {
                let (x, y, z) = at(n);
                let bone = in_bar(x, y) || (in_body(x, y) && !matches!(z, 5..=9 | 42..=46));
                match z {
                    _ if !bone => 0,
                    ..=6 => 3,
                    7..=43 => 1,
                    _ => 2,
                }
            })
            .collect();
        let probe = BodyProbe {
            grid: &grid,
            labels: &labels,
            label: 1,
            discs: [
                Some((DVec3::new(20.0, 30.0, 44.0), DVec3::Z)),
                Some((DVec3::new(20.0, 30.0, 7.0), DVec3::Z)),
            ],
        };
        let frame = probe
            .frame(DVec3::new(20.0, 30.0, 25.5), DVec3::Z)
            .expect("a frame");
        probe.heights(&frame, Through::Body).expect("heights")
    }

    #[test]
    fn a_bony_bridge_on_a_bodys_front_is_left_out_of_its_heights() {
        let plain = heights_in_front_of(false, 400, 100);
        for h in [plain.anterior, plain.middle, plain.posterior] {
            assert!((h - 32.0).abs() < 0.3, "{plain:?}");
        }
        // The bar took the frame 6 mm forward and the front height to the
        // split's cuts before bridges were told apart.
        assert_eq!(heights_in_front_of(true, 400, 100), plain);
        // A disc bright between dense endplates still dips (the chest CT's
        // read 430–800 between 750–1,150 HU on 1 mm slices): no bridge.
        let dense = heights_in_front_of(false, 1000, 450);
        assert_eq!(dense, plain);
        assert_eq!(heights_in_front_of(true, 1000, 450), dense);
    }
}
