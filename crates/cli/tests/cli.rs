//! The `insitu` binary on real data, checked by an independent reader.

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::{fixtures, insitu};

#[test]
fn info_json_reports_tilt_spacing_and_skipped_files() {
    let dir = fixtures().join("ct-ge-head-tilt");
    let (ok, stdout, stderr) = insitu(&["info", dir.to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one series, one summary: {stdout}");
    let series = &lines[0];
    assert_eq!(series["dims"], serde_json::json!([512, 512, 28]));
    assert!((series["tilt_degrees"].as_f64().unwrap() - 18.5).abs() < 0.1);
    let kinds: Vec<&str> = series["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"gantry_tilt") && kinds.contains(&"non_uniform_spacing"),
        "{kinds:?}"
    );
    let skipped = lines[1]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["file"], "LICENSE");
}

#[test]
fn convert_matches_a_pydicom_reference_voxel_for_voxel() {
    let python = std::env::var("INSITU_PYTHON").expect(
        "INSITU_PYTHON unset: run through `cargo xtask test`, which makes a venv with pydicom",
    );
    let dir = fixtures().join("ct-ge-head-tilt");
    let out = std::env::temp_dir().join(format!("insitu-tilt-{}.nrrd", std::process::id()));
    let (ok, _, stderr) = insitu(&[
        "convert",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("gantry tilt 18.5"), "{stderr}");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/nrrd_vs_pydicom.py");
    let check = Command::new(python)
        .arg(script)
        .arg(&dir)
        .arg(&out)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&check.stderr));
    std::fs::remove_file(&out).ok();
    assert!(
        check.status.success(),
        "NRRD differs from the pydicom reference"
    );
    assert!(report.contains("max |insitu - pydicom| = 0.0"), "{report}");
}

#[test]
fn convert_without_images_says_why() {
    let dir = fixtures().join("pydicom/dicomdirtests/DICOMDIR");
    let out = std::env::temp_dir().join("insitu-never.nrrd");
    let (ok, _, stderr) = insitu(&[
        "convert",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("no image series found"), "{stderr}");
}

fn numbers_after(text: &str, prefix: &str) -> Vec<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in {text}"))
        .split_whitespace()
        .filter_map(|w| w.trim_end_matches(',').parse().ok())
        .collect()
}

/// The triangle count `insitu mesh` prints ("N triangles, M vertices, …").
fn printed_triangles(stdout: &str) -> usize {
    stdout
        .lines()
        .find(|l| l.contains(" triangles, "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no triangle count in {stdout}"))
}

/// Runs `insitu mesh` on a fixture folder at 300 HU with `extra` options,
/// writing a temporary `.{extension}`; returns its stdout and the file
/// (the caller removes it).
fn mesh_fixture(fixture: &str, extra: &[&str], extension: &str) -> (String, PathBuf) {
    let dir = fixtures().join(fixture);
    let out = std::env::temp_dir().join(format!(
        "insitu-{fixture}-{}-{}.{extension}",
        extra.join(""),
        std::process::id()
    ));
    let mut args = vec!["mesh", dir.to_str().unwrap(), "--iso", "300"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-o", out.to_str().unwrap()]);
    let (ok, stdout, stderr) = insitu(&args);
    assert!(ok, "{stderr}");
    (stdout, out)
}

#[test]
fn mesh_writes_an_stl_that_an_independent_reader_agrees_with() {
    let python = std::env::var("INSITU_PYTHON")
        .expect("INSITU_PYTHON unset: run through `cargo xtask test`");
    let (stdout, out) = mesh_fixture("ct-ge-head-tilt", &["--cpu", "--largest"], "stl");
    assert!(
        stdout.contains(" watertight") && !stdout.contains("not watertight"),
        "{stdout}"
    );
    let triangles = printed_triangles(&stdout) as f64;
    let ours_bounds = numbers_after(&stdout, "bounds (mm):");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/stl_check.py");
    let check = Command::new(python).arg(script).arg(&out).output().unwrap();
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    std::fs::remove_file(&out).ok();
    assert!(
        check.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        numbers_after(&report, "triangles")[0],
        triangles,
        "{report}"
    );
    let theirs = numbers_after(&report, "bounds");
    assert_eq!(theirs.len(), 6);
    for (a, b) in ours_bounds.iter().zip(&theirs) {
        assert!(
            (a - b).abs() < 1e-3,
            "bounds {ours_bounds:?} vs numpy-stl {theirs:?}"
        );
    }
}

#[test]
fn mesh_decimates_the_head_to_the_target_and_stays_watertight() {
    let (stdout, out) = mesh_fixture(
        "ct-ge-head-tilt",
        &["--cpu", "--largest", "--decimate", "50000"],
        "ply",
    );
    std::fs::remove_file(&out).ok();
    let triangles = printed_triangles(&stdout);
    assert!(stdout.contains("clean-up: "), "{stdout}");
    assert!(triangles <= 50_000 && triangles > 45_000, "{stdout}");
    assert!(
        stdout.contains(" watertight") && !stdout.contains("not watertight"),
        "{stdout}"
    );
}

/// The value admesh reports on a line `label : original final`.
fn admesh_count(report: &str, label: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.trim_start().strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("admesh printed no {label:?}: {report}"))
}

/// A slicer takes the STL of a real CT as it is: Debian's admesh (the
/// checker PrusaSlicer grew from) finds no degenerate facet and fixes,
/// adds, removes or flips nothing. The chest CT's bone touches values
/// exactly at the iso, which once gave thousands of zero-area facets.
#[test]
fn a_real_ct_surface_needs_no_repair_in_admesh() {
    let (stdout, out) = mesh_fixture("lidc-chest-ct", &["--cpu"], "stl");
    let triangles = printed_triangles(&stdout);
    let check = Command::new("admesh")
        .arg(&out)
        .output()
        .expect("admesh (Debian package admesh) is installed by `cargo xtask test`");
    std::fs::remove_file(&out).ok();
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check.status.success(), "{report}");
    assert_eq!(admesh_count(&report, "Number of facets"), triangles as u64);
    for label in [
        "Degenerate facets",
        "Edges fixed",
        "Facets removed",
        "Facets added",
        "Facets reversed",
        "Backwards edges",
        "Normals fixed",
        "Total disconnected facets",
    ] {
        assert_eq!(admesh_count(&report, label), 0, "{label}: {report}");
    }
}

/// `insitu info DIR | head -c 1`: the reader goes away, insitu ends quietly.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = fixtures().join("ct-ge-head-tilt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_insitu"))
        .args(["info", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reading end is closed before insitu has scanned the folder, so
    // its first line already meets a closed pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Without `--gpu` on a machine whose only adapter is a software one (CI's
/// lavapipe), marching cubes runs on the CPU and says why.
#[test]
fn auto_runs_on_the_cpu_beside_a_software_gpu_and_says_why() {
    let (stdout, out) = mesh_fixture("ct-ge-head-tilt", &[], "stl");
    std::fs::remove_file(&out).ok();
    let adapter = Command::new(env!("CARGO_BIN_EXE_insitu"))
        .arg("gpu")
        .output()
        .unwrap();
    let adapter = String::from_utf8_lossy(&adapter.stdout);
    if adapter.contains("(cpu)") {
        assert!(
            stdout.contains("marching cubes on CPU (the GPU (")
                && stdout.contains("is a software rasterizer"),
            "{adapter}: {stdout}"
        );
    } else {
        // A machine with a real GPU (or none at all): the reason still shows.
        assert!(
            stdout.contains("marching cubes on GPU (") || stdout.contains("marching cubes on CPU"),
            "{adapter}: {stdout}"
        );
    }
}
