//! Labelmaps written by insitu, read back by independent implementations
//! (pynrrd for `.seg.nrrd`, nibabel for NIfTI) through
//! `tests/reference/labelmap_check.py`: geometry, label values and counts,
//! names and colours.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

use glam::{DMat3, DVec3, EulerRot, UVec3};
use insitu_segment::{Anatomy, Labelmap, LabelmapFormat, SegmentName, SegmentTable};
use insitu_volume::Geometry;

fn check(format: LabelmapFormat, bytes: &[u8]) -> serde_json::Value {
    let python = std::env::var("INSITU_PYTHON")
        .expect("INSITU_PYTHON unset: run through `cargo xtask test`");
    let path = std::env::temp_dir().join(format!(
        "insitu-labels-{}.{}",
        std::process::id(),
        format.extension()
    ));
    std::fs::write(&path, bytes).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/reference/labelmap_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"))
}

fn vec3(v: &serde_json::Value) -> DVec3 {
    let a: Vec<f64> = serde_json::from_value(v.clone()).unwrap();
    DVec3::new(a[0], a[1], a[2])
}

/// An oblique grid stacked towards the feet (left-handed), 0.7 × 0.8 ×
/// 2.5 mm, with label 1 (L4) and label 3 (a typed name) in known places.
fn example() -> (Labelmap, SegmentTable, Geometry) {
    let r = DMat3::from_euler(EulerRot::XYZ, 0.2, -0.1, 0.3);
    let grid = Geometry::new(
        UVec3::new(6, 5, 4),
        [r.x_axis * 0.7, r.y_axis * 0.8, r.z_axis * -2.5],
        DVec3::new(-120.5, 33.25, 410.0),
    )
    .unwrap();
    let mut labels = vec![0u8; 120];
    labels[0] = 3;
    labels[7..17].fill(1);
    labels[100..104].fill(3);
    let map = Labelmap::from_labels([6, 5, 4], labels).unwrap();
    let mut table = SegmentTable::default();
    table.add(Some(Anatomy::L4)).unwrap();
    table.add(None).unwrap();
    table.add(None).unwrap();
    table.remove(2);
    table.get_mut(3).unwrap().name = SegmentName::Typed("pedicle screw".into());
    (map, table, grid)
}

#[test]
fn pynrrd_reads_the_seg_nrrd_geometry_labels_names_and_colours() {
    let (map, table, grid) = example();
    let report = check(
        LabelmapFormat::SegNrrd,
        &LabelmapFormat::SegNrrd.to_bytes(&map, &table, &grid),
    );
    assert_eq!(report["space"], "left-posterior-superior");
    assert_eq!(report["sizes"], serde_json::json!([6, 5, 4]));
    for a in 0..3 {
        let d = vec3(&report["directions"][a]);
        assert!((d - grid.steps[a]).length() < 1e-9, "{a}: {d}");
    }
    assert!((vec3(&report["origin"]) - grid.origin).length() < 1e-9);
    assert_eq!(
        report["counts"],
        serde_json::json!({"0": 105, "1": 10, "3": 5})
    );
    assert_eq!(report["first_voxel"], 3);
    assert_eq!(
        report["segments"],
        serde_json::json!([
            {"name": "L4", "color": Anatomy::L4.color(), "label": 1},
            {"name": "pedicle screw", "color": SegmentTable::palette_color(3), "label": 3},
        ])
    );
}

#[test]
fn nibabel_reads_the_nifti_affine_and_labels() {
    let (map, table, grid) = example();
    let report = check(
        LabelmapFormat::Nifti,
        &LabelmapFormat::Nifti.to_bytes(&map, &table, &grid),
    );
    assert_eq!(report["shape"], serde_json::json!([6, 5, 4]));
    assert_eq!(report["sform_code"], 1);
    assert_eq!(report["qform_code"], 1);
    assert_eq!(report["intent"], "label");
    assert_eq!(
        report["counts"],
        serde_json::json!({"0": 105, "1": 10, "3": 5})
    );
    assert_eq!(report["first_voxel"], 3);
    // RAS: x and y of every LPS vector change sign.
    let flip = DVec3::new(-1.0, -1.0, 1.0);
    for which in ["affine", "qform"] {
        let m = &report[which];
        for a in 0..4 {
            let column = DVec3::new(
                m[0][a].as_f64().unwrap(),
                m[1][a].as_f64().unwrap(),
                m[2][a].as_f64().unwrap(),
            );
            let want = if a < 3 { grid.steps[a] } else { grid.origin } * flip;
            assert!(
                (column - want).length() < 1e-4,
                "{which} column {a}: {column} vs {want}"
            );
        }
    }
}
