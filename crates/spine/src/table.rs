//! The spine's labels as segments (names, colours, anatomy) and names
//! shifted by whole levels.

use glam::DVec3;
use insitu_segment::{Anatomy, Segment, SegmentName, SegmentTable};

use crate::angles::angles;
use crate::naming::{Anchor, LEVELS, LevelDecision, PELVIS_LABEL, RIBS_LABEL, label_of};
use crate::report::Spine;

/// The segment table for a spine labelmap: each vertebra, the sacrum,
/// pelvis and ribs under their anatomical names and colours.
pub fn segment_table(spine: &Spine) -> SegmentTable {
    let mut table = SegmentTable::default();
    let mut add = |label: u8, name: &str| {
        if let Some(anatomy) = Anatomy::from_name(name) {
            table.insert(Segment {
                label,
                name: SegmentName::Anatomy(anatomy),
                color: anatomy.color(),
                visible: true,
            });
        }
    };
    for v in &spine.vertebrae {
        add(v.label, &v.name);
    }
    if spine.pelvis_voxels > 0 {
        add(PELVIS_LABEL, "pelvis");
    }
    if spine.ribs_voxels > 0 {
        add(RIBS_LABEL, "ribs");
    }
    table
}

/// Whether `label` is one the spine labelmap gives (a level, the sacrum,
/// the pelvis or the ribs).
pub fn is_spine_label(label: u8) -> bool {
    (1..=RIBS_LABEL).contains(&label)
}

/// Whether `table` still holds the spine's vertebrae: a segment named as
/// the level its label stands for. Not so once the analysis is undone
/// (the user's own segments are back, whatever their labels), and then
/// there is nothing to re-measure.
pub fn holds_vertebrae(table: &SegmentTable) -> bool {
    table.segments().iter().any(|s| {
        (1..=label_of(24)).contains(&s.label)
            && matches!(&s.name, SegmentName::Anatomy(a)
                if a.name() == LEVELS[s.label as usize - 1])
    })
}

/// [`segment_table`] with the segments of `others` the spine does not
/// label (ones the user made after the analysis) kept.
pub fn segment_table_keeping(spine: &Spine, others: &SegmentTable) -> SegmentTable {
    let mut table = segment_table(spine);
    for s in others.segments() {
        if !is_spine_label(s.label) {
            table.insert(s.clone());
        }
    }
    table
}

/// The same spine with every vertebra's level moved by `by` (the user
/// knows better: a transitional vertebra, a thoracic-only scan), and the
/// label map old → new to apply to the labelmap; `None` when a level
/// would leave C1..L5. The sacrum, pelvis and ribs keep theirs; the level
/// decision becomes the user's.
pub fn shifted(spine: &Spine, by: i32) -> Option<(Spine, [u8; 256])> {
    let mut map: [u8; 256] = std::array::from_fn(|l| l as u8);
    let mut out = spine.clone();
    for v in out.vertebrae.iter_mut().filter(|v| v.name != "sacrum") {
        let level = i32::from(v.label) - 1 + by;
        if !(0..24).contains(&level) {
            return None;
        }
        let label = label_of(level as usize);
        map[v.label as usize] = label;
        v.label = label;
        v.name = LEVELS[level as usize].to_owned();
    }
    out.angles = angles(&out.vertebrae, DVec3::from_array(spine.anterior));
    out.levels = LevelDecision {
        anchor: Anchor::User,
        confidence: 1.0,
        seen: spine.levels.seen.clone(),
    };
    Some((out, map))
}

#[cfg(test)]
mod table_tests {
    use super::*;

    fn table(segments: &[(u8, SegmentName)]) -> SegmentTable {
        let mut table = SegmentTable::default();
        for (label, name) in segments {
            table.insert(Segment {
                label: *label,
                name: name.clone(),
                color: [200, 200, 200],
                visible: true,
            });
        }
        table
    }

    #[test]
    fn vertebrae_are_told_by_a_level_name_on_its_own_label() {
        let l1 = || SegmentName::Anatomy(Anatomy::from_name("L1").expect("L1"));
        assert!(holds_vertebrae(&table(&[(20, l1())])));
        // The user's own segments after the analysis was undone.
        assert!(!holds_vertebrae(&table(&[(1, SegmentName::Numbered(1))])));
        // A level name on another level's label is not the spine's.
        assert!(!holds_vertebrae(&table(&[(21, l1())])));
        assert!(!holds_vertebrae(&SegmentTable::default()));
    }
}
