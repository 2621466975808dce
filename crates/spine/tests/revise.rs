//! The user's corrections on the demo spine, whose first analysis is known
//! to be right (see `demo.rs`): measuring the labels again changes nothing;
//! merging L1 into L2 renames every vertebra above from the sacrum up; a
//! split at the disc that merge hid gives back the first analysis, names,
//! voxels and heights; a height line placed by hand grades its body on it
//! and is kept; and corrections that make no sense are refused with the
//! reason.

mod common;

use common::{Overlap, by_name, names};
use insitu_spine::{
    Analysis, Flag, HeightAt, HeightLine, Revision, RevisionError, Spine, SpineReading, analyse,
    revise,
};
use insitu_volume::Volume;
use insitu_volume::phantom::{PhantomSize, Variant, demo_spine_with_truth};

/// Dice of label `a` in `x` against label `b` in `y`.
fn dice(x: &Analysis, a: u8, y: &Analysis, b: u8) -> f64 {
    Overlap::of(x.labelmap.labels(), a, y.labelmap.labels(), b).dice()
}

fn demo() -> (Volume, Analysis) {
    let (volume, _) = demo_spine_with_truth(PhantomSize::DEMO, Variant::Normal);
    let first = analyse(&volume, &mut |_, _| true).expect("a spine");
    (volume, first)
}

#[test]
fn corrections_rename_remeasure_and_undo_each_other() {
    let (volume, first) = demo();
    let spine = &first.spine;
    assert_eq!(
        names(spine),
        ["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "sacrum"]
    );

    // Measuring the unchanged labels again gives the same report.
    let again = revise(&volume, &first.labelmap, spine, Revision::Remeasure).expect("remeasured");
    assert_eq!(names(&again.spine), names(spine));
    for (a, b) in again.spine.vertebrae.iter().zip(&spine.vertebrae) {
        assert_eq!((a.label, a.voxels), (b.label, b.voxels), "{}", a.name);
        assert_eq!(a.heights_mm.is_some(), b.heights_mm.is_some(), "{}", a.name);
        if let (Some(x), Some(y)) = (a.heights_mm, b.heights_mm) {
            for (p, q) in [
                (x.anterior, y.anterior),
                (x.middle, y.middle),
                (x.posterior, y.posterior),
            ] {
                assert!((p - q).abs() <= 0.5, "{}: {x:?} vs {y:?}", a.name);
            }
        }
    }
    let lordosis = |s: &Spine| s.angles.lumbar_lordosis_deg.expect("L1 and S1");
    assert!((lordosis(&again.spine) - lordosis(spine)).abs() < 1.0);

    // L1 and L2 taken for one vertebra: anchored on the sacrum, L5 stays
    // L5 and every vertebra above moves one level down the names.
    let l1 = by_name(spine, "L1");
    let l2 = by_name(spine, "L2");
    let merged = revise(
        &volume,
        &first.labelmap,
        spine,
        Revision::MergeWithBelow { label: l1.label },
    )
    .expect("merged");
    eprintln!("merged: {:?}", names(&merged.spine));
    assert_eq!(
        names(&merged.spine),
        ["T11", "T12", "L1", "L2", "L3", "L4", "L5", "sacrum"]
    );
    let both = by_name(&merged.spine, "L2");
    assert_eq!(both.voxels, l1.voxels + l2.voxels);
    assert_eq!(
        by_name(&merged.spine, "L1").voxels,
        by_name(spine, "T12").voxels
    );
    assert!(dice(&merged, both.label, &first, l1.label) > 0.6);

    // Split at the disc the merge hid (clicked on the gap itself): the
    // first analysis comes back.
    let split = common::split_at_hidden_disc(&volume, spine, &merged, l1, l2);
    eprintln!("split: {:?}", names(&split.spine));
    assert_eq!(names(&split.spine), names(spine));
    for (a, b) in split.spine.vertebrae.iter().zip(&spine.vertebrae) {
        let d = dice(&split, a.label, &first, b.label);
        eprintln!("{}: Dice {d:.4} against the first analysis", a.name);
        assert!(d >= 0.98, "{}: Dice {d}", a.name);
        if let (Some(x), Some(y)) = (a.heights_mm, b.heights_mm) {
            assert!(
                (x.middle - y.middle).abs() <= 0.5,
                "{}: {x:?} vs {y:?}",
                a.name
            );
        }
    }
    assert!((lordosis(&split.spine) - lordosis(spine)).abs() < 1.0);
}

/// A reopened study measures its report again from the reading the cache
/// kept (numbers and kinds only, written as JSON): the same report, field
/// for field, as measuring the whole report's labels again gives, with the
/// first analysis's names, flags and heights.
#[test]
fn a_report_measured_again_from_its_reading_is_the_report() {
    let (volume, first) = demo();
    let spine = &first.spine;
    assert!(insitu_spine::measured_again_on_reopen(&volume));
    let kept = serde_json::to_string(&spine.reading()).expect("written");
    assert!(!kept.contains("\"name\""), "no name in the reading: {kept}");
    let reading: insitu_spine::SpineReading = serde_json::from_str(&kept).expect("read back");
    let skeleton = reading.skeleton().expect("every label a level");
    assert!(skeleton.vertebrae.iter().all(|v| v.heights_mm.is_none()));
    let from_reading =
        revise(&volume, &first.labelmap, &skeleton, Revision::Remeasure).expect("remeasured");
    let again = revise(&volume, &first.labelmap, spine, Revision::Remeasure).expect("remeasured");
    // (JSON reads a float back to within its last bit or so.)
    let (ours, theirs) = (&from_reading.spine, &again.spine);
    assert_eq!(names(ours), names(spine));
    assert_eq!(ours.levels, theirs.levels);
    assert_eq!(
        (ours.ribs_voxels, ours.pelvis_voxels),
        (theirs.ribs_voxels, theirs.pelvis_voxels)
    );
    let near = |a: f64, b: f64| (a - b).abs() < 1e-6;
    for (a, b) in ours.vertebrae.iter().zip(&theirs.vertebrae) {
        assert_eq!(
            (a.label, a.voxels, a.ribs),
            (b.label, b.voxels, b.ribs),
            "{}",
            a.name
        );
        assert_eq!(a.flags, b.flags, "{}", a.name);
        assert_eq!(a.flags, by_name(spine, &a.name).flags, "{}", a.name);
        match (a.heights_mm, b.heights_mm) {
            (Some(x), Some(y)) => assert!(
                near(x.anterior, y.anterior)
                    && near(x.middle, y.middle)
                    && near(x.posterior, y.posterior),
                "{}: {x:?} vs {y:?}",
                a.name
            ),
            (x, y) => assert_eq!(x.is_some(), y.is_some(), "{}", a.name),
        }
        assert_eq!(
            a.height_lines_mm.is_some(),
            a.heights_mm.is_some(),
            "{}",
            a.name
        );
    }
    let lordosis = |s: &Spine| s.angles.lumbar_lordosis_deg.expect("L1 and S1");
    assert!(near(lordosis(ours), lordosis(theirs)));
    eprintln!("reading kept: {} bytes of JSON", kept.len());
}

#[test]
fn corrections_that_make_no_sense_are_refused_with_the_reason() {
    let (volume, first) = demo();
    let spine = &first.spine;
    let refused = |revision| revise(&volume, &first.labelmap, spine, revision).err();
    let l5 = by_name(spine, "L5");
    assert_eq!(
        refused(Revision::MergeWithBelow { label: l5.label }),
        Some(RevisionError::NothingBelow { name: "L5".into() })
    );
    // A whole vertebra has no gap of bone in its body.
    let l3 = by_name(spine, "L3").frame.expect("a body").centre;
    assert_eq!(
        refused(Revision::SplitAt {
            point: l3.to_array()
        }),
        Some(RevisionError::NoGap { name: "L3".into() })
    );
    // Air in front of the body.
    let air = l3 + glam::DVec3::new(0.0, -120.0, 0.0);
    assert_eq!(
        refused(Revision::SplitAt {
            point: air.to_array()
        }),
        Some(RevisionError::NotAVertebra)
    );
}

/// A reader's correction of a body's height: L3's front line shortened to
/// 55% of its tallest height grades it a severe wedge (a 45% loss) on the
/// lines as placed, says they were set by hand, and leaves the others'
/// flags as they were (its back and tallest height, what they are
/// compared by, are unchanged). Measuring the labels again and a reopen
/// from the report's reading keep the line and the grade; a merge, which
/// makes the bodies anew, drops it, and so does asking for the body's
/// heights measured again. A line on the sacrum or under 2 mm is
/// refused with the reason.
#[test]
fn a_height_line_placed_by_hand_grades_its_body_and_is_kept() {
    let (volume, first) = demo();
    let spine = &first.spine;
    let l3 = by_name(spine, "L3");
    let (lines, heights) = (
        l3.height_lines_mm.expect("lines"),
        l3.heights_mm.expect("heights"),
    );
    assert!(
        !l3.flags.iter().any(|f| f.fracture_grade().is_some()),
        "{:?}",
        l3.flags
    );
    let front = lines.anterior;
    let placed = HeightLine {
        from: front.from,
        to: front.from + (front.to - front.from).normalize() * 0.55 * heights.tallest(),
    };
    let set = |spine: &Spine, label: u8, at: HeightAt, line: HeightLine| {
        revise(
            &volume,
            &first.labelmap,
            spine,
            Revision::SetHeight { label, at, line },
        )
    };
    let revised = set(spine, l3.label, HeightAt::Anterior, placed).expect("placed");
    let now = by_name(&revised.spine, "L3");
    eprintln!("L3 placed: {:?} {:?}", now.heights_mm, now.flags);
    assert!(now.flags.contains(&Flag::HeightsSetByHand));
    assert!(
        now.flags.contains(&Flag::Wedge { grade: 3 }),
        "{:?}",
        now.flags
    );
    let now_lines = now.height_lines_mm.expect("lines");
    assert_eq!(
        (now_lines.anterior, now_lines.middle, now_lines.posterior),
        (placed, lines.middle, lines.posterior)
    );
    assert!((now.heights_mm.expect("heights").anterior - 0.55 * heights.tallest()).abs() < 1e-9);
    for v in revised.spine.vertebrae.iter().filter(|v| v.name != "L3") {
        assert_eq!(v.flags, by_name(spine, &v.name).flags, "{}", v.name);
    }

    // Labels edited by hand are measured again: the line stays.
    let again = revise(
        &volume,
        &first.labelmap,
        &revised.spine,
        Revision::Remeasure,
    )
    .expect("remeasured");
    let kept = by_name(&again.spine, "L3");
    assert_eq!(
        (kept.height_lines_mm, &kept.flags),
        (now.height_lines_mm, &now.flags)
    );

    // Reopened: the reading kept with the segments measures it so again.
    let json = serde_json::to_string(&revised.spine.reading()).expect("written");
    let reading: SpineReading = serde_json::from_str(&json).expect("read back");
    let skeleton = reading.skeleton().expect("every label a level");
    let reopened =
        revise(&volume, &first.labelmap, &skeleton, Revision::Remeasure).expect("remeasured");
    let back = by_name(&reopened.spine, "L3");
    assert_eq!(back.flags, now.flags);
    let near = |a: f64, b: f64| (a - b).abs() < 1e-6;
    let (b, n) = (
        back.heights_mm.expect("heights"),
        now.heights_mm.expect("heights"),
    );
    assert!(
        near(b.anterior, n.anterior) && near(b.middle, n.middle) && near(b.posterior, n.posterior)
    );

    // Its back placed low as well, its middle left: a middle over both
    // ends is no body's shape, not graded. The middle placed low too: the
    // whole body lower, a crush against its neighbours.
    let lowered = |line: HeightLine| HeightLine {
        from: line.from,
        to: line.from + (line.to - line.from).normalize() * 0.5 * heights.tallest(),
    };
    let low_back = set(
        &revised.spine,
        l3.label,
        HeightAt::Posterior,
        lowered(lines.posterior),
    )
    .expect("placed");
    let low_back_l3 = by_name(&low_back.spine, "L3");
    eprintln!(
        "L3 front and back placed: {:?} {:?}",
        low_back_l3.heights_mm, low_back_l3.flags
    );
    assert_eq!(
        low_back_l3.height_lines_mm.expect("lines").anterior,
        placed,
        "the first line kept"
    );
    assert!(
        low_back_l3.flags.contains(&Flag::ImplausibleHeights),
        "{:?}",
        low_back_l3.flags
    );
    let crushed = set(
        &low_back.spine,
        l3.label,
        HeightAt::Middle,
        lowered(lines.middle),
    )
    .expect("placed");
    let crushed_l3 = by_name(&crushed.spine, "L3");
    eprintln!(
        "L3 all three placed: {:?} {:?}",
        crushed_l3.heights_mm, crushed_l3.flags
    );
    assert!(
        crushed_l3.flags.contains(&Flag::LowerThanNeighbours),
        "{:?}",
        crushed_l3.flags
    );
    assert!(
        crushed_l3.flags.contains(&Flag::Crush { grade: 3 }),
        "{:?}",
        crushed_l3.flags
    );

    // A merge makes the bodies anew: no line placed by hand is kept.
    let merged = revise(
        &volume,
        &first.labelmap,
        &revised.spine,
        Revision::MergeWithBelow {
            label: by_name(spine, "L2").label,
        },
    )
    .expect("merged");
    assert!(
        merged
            .spine
            .vertebrae
            .iter()
            .all(|v| !v.flags.contains(&Flag::HeightsSetByHand))
    );

    // Measured by the analysis again: as first measured.
    let restored = revise(
        &volume,
        &first.labelmap,
        &revised.spine,
        Revision::MeasureHeights { label: l3.label },
    )
    .expect("measured again");
    let again_l3 = by_name(&restored.spine, "L3");
    assert_eq!(again_l3.flags, l3.flags);
    assert_eq!(again_l3.height_lines_mm, l3.height_lines_mm);

    let sacrum = by_name(spine, "sacrum");
    assert_eq!(
        set(spine, sacrum.label, HeightAt::Middle, placed).err(),
        Some(RevisionError::NoHeights {
            name: "sacrum".into()
        })
    );
    let slip = HeightLine {
        from: front.from,
        to: front.from + glam::DVec3::new(0.0, 0.0, 1.0),
    };
    assert!(matches!(
        set(spine, l3.label, HeightAt::Anterior, slip).err(),
        Some(RevisionError::TooShort { .. })
    ));
}
