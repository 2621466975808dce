//! Level names from anatomical anchors: the sacrum (the vertebra above it
//! is L5), the lowest rib-bearing vertebra with a rib-free one below (T12),
//! the highest rib-bearing one with a rib-free one above (T1). With no
//! anchor the levels are guessed and said to be.

use serde::{Deserialize, Serialize};

/// The 25 mobile levels and the sacrum, top down, with their fixed label
/// values (C1 = 1 … L5 = 24, sacrum 25), so a labelmap means the same in
/// every file and session.
pub const LEVELS: [&str; 25] = [
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
    "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "sacrum",
];

/// Label of the pelvis and of the ribs in the spine labelmap.
pub const PELVIS_LABEL: u8 = 26;
/// See [`PELVIS_LABEL`].
pub const RIBS_LABEL: u8 = 27;

/// The label value of a level's index in [`LEVELS`].
pub fn label_of(level: usize) -> u8 {
    level as u8 + 1
}

/// What the names were anchored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The sacrum: the vertebra above it is L5.
    Sacrum,
    /// The lowest rib-bearing vertebra, with a rib-free one below: T12.
    LowestRib,
    /// The highest rib-bearing vertebra, with a rib-free one above: T1.
    HighestRib,
    /// Nothing anatomical: every vertebra bears ribs (thoracic only), the
    /// lowest one in view is assumed to be T12.
    AssumedLowestThoracic,
    /// Nothing at all: the lowest vertebra in view is assumed to be L5.
    AssumedLowestLumbar,
    /// The user moved the names.
    User,
}

impl Anchor {
    /// Whether the names rest on something seen (the sacrum, a rib), not
    /// on an assumption.
    pub fn is_anatomical(self) -> bool {
        !matches!(
            self,
            Anchor::AssumedLowestThoracic | Anchor::AssumedLowestLumbar
        )
    }
}

/// How the levels were decided and how sure that is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelDecision {
    /// The anchor the names rest on.
    pub anchor: Anchor,
    /// 0..1: two agreeing anchors 0.95, one 0.8, anchors in disagreement
    /// 0.5, an anchor resting on a vertebra cut by the scan's edge 0.4 (0.3
    /// when two such disagree), an assumption 0.25; never more than 0.25
    /// when more pieces were found than the 24 mobile levels.
    pub confidence: f64,
    /// Every anchor seen and where it put the top vertebra's level index,
    /// for the user to judge a transitional vertebra.
    pub seen: Vec<(Anchor, i32)>,
}

impl LevelDecision {
    /// The anchors seen that name the top vertebra otherwise than the
    /// names do, each with the name it would give it: a transitional
    /// vertebra (six lumbar, eleven rib-bearing thoracic) or a miscount,
    /// for the user to judge and shift the names by.
    pub fn disagreeing(&self) -> Vec<(Anchor, &'static str)> {
        let named = self
            .seen
            .iter()
            .find(|(anchor, _)| *anchor == self.anchor)
            .map(|&(_, top)| top);
        self.seen
            .iter()
            .filter(|&&(anchor, top)| anchor != self.anchor && Some(top) != named)
            .filter_map(|&(anchor, top)| {
                let name = usize::try_from(top).ok().and_then(|i| LEVELS.get(i))?;
                Some((anchor, *name))
            })
            .collect()
    }
}

/// Rib-free vertebrae in a row, below rib-bearing ones, that end the
/// thorax (a rib missed on one vertebra leaves a gap of one).
const LUMBAR_GAP: usize = 2;

/// A whole vertebra this big (ml) is lumbar or low thoracic, never
/// cervical: whole cervical vertebrae are 10–25 ml, lumbar ones 50–80
/// (TotalSegmentator's CT: L1–L5 59–73 ml).
const LUMBAR_SIZED_ML: f64 = 40.0;

/// `ribs` (top down) with every flag dropped that lies [`LUMBAR_GAP`] or
/// more rib-free vertebrae below a rib-bearing one: ribs are borne by
/// consecutive vertebrae, and what reaches far out beside a vertebra under
/// the lumbar spine is an iliac wing, joined to it through a sacrum that
/// was not seen. (TotalSegmentator's CT cut 4 mm under the L5–S1 disc's
/// middle: L5 and the sacrum's top came out one piece "with ribs", so
/// T12's ribs anchored nothing and the spine was named T7–T12.)
///
/// And where the rib-free vertebrae above the first rib-bearing one are
/// lumbar-sized (`whole_ml`: each vertebra's volume, `None` where the
/// scan's edge cuts it), what reaches far out below them is the pelvis
/// too: the vertebrae above a first rib are cervical, a third or less of a
/// lumbar vertebra's size. (TotalSegmentator's CT on a grid tilted 20° about the
/// left–right axis: L5 and the sacrum came out as pieces "with ribs"
/// under four rib-free vertebrae of 24–80 ml, and the spine was named
/// C4–T2 from the "first rib".)
pub(crate) fn ribs_of_the_thorax(ribs: &[bool], whole_ml: &[Option<f64>]) -> Vec<bool> {
    if let Some(first) = ribs.iter().position(|&r| r) {
        let lumbar_sized = whole_ml[..first]
            .iter()
            .filter(|ml| ml.is_some_and(|ml| ml >= LUMBAR_SIZED_ML))
            .count();
        if lumbar_sized >= LUMBAR_GAP {
            return vec![false; ribs.len()];
        }
    }
    let (mut thorax_seen, mut free_below, mut ended) = (false, 0, false);
    ribs.iter()
        .map(|&r| {
            if ended {
                return false;
            }
            if r {
                (thorax_seen, free_below) = (true, 0);
            } else if thorax_seen {
                free_below += 1;
                ended = free_below >= LUMBAR_GAP;
            }
            r
        })
        .collect()
}

/// Whether the last of the vertebrae (top down, the first at level
/// `top`; `ml` their volumes), cut by the scan's edge (`partial`) and
/// smaller than every whole one, lies one level past L5: counted down from
/// a rib, that piece is the sacrum's top, its alae out of view, not a sixth
/// lumbar vertebra to move every name up for. (A scan ending at the L5–S1
/// disc of TotalSegmentator's CT: once that disc was found near the scan's
/// bottom, the sacrum's top came out a piece of 45 ml, and T12–L5 were
/// named T11–L4. A piece as big as a whole vertebra or bigger is not such
/// a remnant: on that CT turned on the table, a reading that cut L4 in two
/// left L5 and the sacrum one 264 ml piece.)
pub(crate) fn sacrum_cut_below_l5(top: i32, partial: &[bool], ml: &[f64]) -> bool {
    let smallest_whole = partial
        .iter()
        .zip(ml)
        .filter(|&(&cut, _)| !cut)
        .map(|(_, &ml)| ml)
        .fold(f64::INFINITY, f64::min);
    top >= 0
        && top + partial.len() as i32 - 1 == 24
        && partial.last() == Some(&true)
        && ml.last().is_some_and(|&last| last < smallest_whole)
}

/// Level index (into [`LEVELS`]) of the top vertebra. `ribs[n]` says
/// whether vertebra n (top down, sacrum excluded) bears ribs, `partial[n]`
/// whether the scan's edge cuts it (its ribs may lie outside the scan, so
/// a cut rib-free vertebra is weak evidence).
pub(crate) fn decide(ribs: &[bool], partial: &[bool], has_sacrum: bool) -> (i32, LevelDecision) {
    let n = ribs.len() as i32;
    let mut strong = Vec::new();
    let mut weak = Vec::new();
    if has_sacrum && n > 0 {
        strong.push((Anchor::Sacrum, 23 - (n - 1)));
    }
    if let Some(low) = ribs.iter().rposition(|&r| r)
        && low + 1 < ribs.len()
    {
        let whole_below = (low + 1..ribs.len()).any(|m| !partial[m]);
        let seen = (Anchor::LowestRib, 18 - low as i32);
        if whole_below {
            strong.push(seen)
        } else {
            weak.push(seen)
        }
    }
    if let Some(high) = ribs.iter().position(|&r| r)
        && high > 0
    {
        let whole_above = (0..high).any(|m| !partial[m]);
        let seen = (Anchor::HighestRib, 7 - high as i32);
        if whole_above {
            strong.push(seen)
        } else {
            weak.push(seen)
        }
    }
    let mut seen = strong.clone();
    seen.extend(&weak);
    if let Some(&(anchor, top)) = strong.first() {
        let agree = strong.iter().filter(|s| s.1 == top).count();
        let confidence = if agree == strong.len() {
            if strong.len() >= 2 { 0.95 } else { 0.8 }
        } else {
            0.5
        };
        return (
            top,
            LevelDecision {
                anchor,
                confidence,
                seen,
            },
        );
    }
    if let Some(&(anchor, top)) = weak.first() {
        let confidence = if weak.iter().all(|w| w.1 == top) {
            0.4
        } else {
            0.3
        };
        return (
            top,
            LevelDecision {
                anchor,
                confidence,
                seen,
            },
        );
    }
    let (anchor, top) = if ribs.iter().any(|&r| r) {
        (Anchor::AssumedLowestThoracic, 18 - (n - 1))
    } else {
        (Anchor::AssumedLowestLumbar, 23 - (n - 1))
    };
    (
        top,
        LevelDecision {
            anchor,
            confidence: 0.25,
            seen,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sacrum_and_the_lowest_rib_agree_on_a_lumbar_spine() {
        // T11, T12 with ribs; L1..L5 without; then the sacrum.
        let ribs = [true, true, false, false, false, false, false];
        let (top, d) = decide(&ribs, &[false; 7], true);
        assert_eq!(LEVELS[top as usize], "T11");
        assert_eq!(d.anchor, Anchor::Sacrum);
        assert_eq!(d.confidence, 0.95);
    }

    #[test]
    fn six_lumbar_vertebrae_make_the_anchors_disagree() {
        let ribs = [true, false, false, false, false, false, false];
        let (top, d) = decide(&ribs, &[false; 7], true);
        assert_eq!(LEVELS[top as usize], "T11", "the sacrum wins");
        assert_eq!(d.confidence, 0.5);
        assert_eq!(d.seen.len(), 2);
        // The lowest rib would call the top vertebra T12: said beside the names.
        assert_eq!(d.disagreeing(), vec![(Anchor::LowestRib, "T12")]);
        let moved = LevelDecision {
            anchor: Anchor::User,
            ..d.clone()
        };
        assert_eq!(moved.disagreeing().len(), 2, "{moved:?}");
    }

    #[test]
    fn agreeing_anchors_leave_nothing_to_say() {
        let ribs = [true, true, false, false, false, false, false];
        let (_, d) = decide(&ribs, &[false; 7], true);
        assert!(d.disagreeing().is_empty(), "{d:?}");
    }

    #[test]
    fn a_piece_cut_by_the_scans_bottom_one_past_l5_is_the_sacrums_top() {
        // T12 bears the ribs; below it L1–L5 and a piece the scan's bottom cuts.
        let ribs = [true, false, false, false, false, false, false];
        let mut partial = [false; 7];
        partial[6] = true;
        let mut ml = [52.0, 60.0, 60.0, 68.0, 67.0, 66.0, 45.0];
        let (top, _) = decide(&ribs, &partial, false);
        assert_eq!(LEVELS[top as usize], "T12");
        assert!(sacrum_cut_below_l5(top, &partial, &ml));
        // Whole, it is a sixth lumbar vertebra, not a remnant; ending at
        // L5, or counted from T11, there is none past L5.
        let mut whole = partial;
        whole[6] = false;
        assert!(!sacrum_cut_below_l5(top, &whole, &ml));
        assert!(!sacrum_cut_below_l5(top, &partial[..6], &ml[..6]));
        assert!(!sacrum_cut_below_l5(top - 1, &partial, &ml));
        // As big as a whole vertebra, it holds more than the sacrum's top.
        ml[6] = 264.0;
        assert!(!sacrum_cut_below_l5(top, &partial, &ml));
    }

    #[test]
    fn a_thoracic_scan_cut_at_both_ends_is_a_weak_guess() {
        let mut ribs = [true; 12];
        ribs[0] = false;
        ribs[11] = false;
        let mut partial = [false; 12];
        partial[0] = true;
        partial[11] = true;
        let (_, d) = decide(&ribs, &partial, false);
        assert!(d.confidence <= 0.4, "{d:?}");
        let (top, d) = decide(&[true; 5], &[false; 5], false);
        assert_eq!(d.anchor, Anchor::AssumedLowestThoracic);
        assert_eq!(LEVELS[top as usize + 4], "T12");
        assert_eq!(d.confidence, 0.25);
    }

    #[test]
    fn far_reaching_bone_under_the_lumbar_spine_is_no_rib() {
        // T12 with ribs, L1–L4 without, L5 joined to the pelvis.
        let ribs = [true, false, false, false, false, true];
        let kept = ribs_of_the_thorax(&ribs, &[Some(60.0); 6]);
        assert_eq!(kept, [true, false, false, false, false, false]);
        let (top, d) = decide(&kept, &[true, false, false, false, false, true], false);
        assert_eq!(LEVELS[top as usize], "T12");
        assert_eq!(d.anchor, Anchor::LowestRib);
        // A rib missed on one vertebra, and cervical vertebrae above the
        // ribs, keep every rib.
        let gap = [false, false, true, true, false, true, true];
        assert_eq!(ribs_of_the_thorax(&gap, &[Some(15.0); 7]), gap);
    }

    #[test]
    fn far_reaching_bone_under_lumbar_sized_vertebrae_is_no_rib() {
        // L1 cut by the scan's top, L2–L4, then L5 and the sacrum's top
        // joined to the pelvis: no first rib under cervical vertebrae.
        let ribs = [false, false, false, false, true, true];
        let sizes = [None, Some(62.0), Some(66.0), Some(70.0), Some(90.0), None];
        assert_eq!(ribs_of_the_thorax(&ribs, &sizes), [false; 6]);
        // Under cervical-sized vertebrae the first rib stays, and T1 with it.
        let sizes = [None, Some(14.0), Some(17.0), Some(20.0), Some(28.0), None];
        let kept = ribs_of_the_thorax(&ribs, &sizes);
        assert_eq!(kept, ribs);
        let (top, d) = decide(&kept, &[true, false, false, false, false, false], false);
        assert_eq!(LEVELS[top as usize + 4], "T1");
        assert_eq!(d.anchor, Anchor::HighestRib);
    }
}
