//! The user's corrections on the demo spine, whose first analysis is known
//! to be right (see `demo.rs`): measuring the labels again changes nothing;
//! merging L1 into L2 renames every vertebra above from the sacrum up; a
//! split at the disc that merge hid gives back the first analysis, names,
//! voxels and heights; and corrections that make no sense are refused
//! with the reason.

mod common;

use common::{Overlap, by_name, names};
use insitu_spine::{Analysis, Revision, RevisionError, Spine, analyse, revise};
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
