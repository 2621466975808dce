//! `cargo xtask bench`: every benchmark, each printing ratios against a
//! baseline or a peer measured in the same run. `INSITU_BENCH_ONLY=real-ct`
//! (or `browser`, `cache`, `peers`, `render`, `segments`, `spine`) runs one part while working on it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::proc::{Result, cargo, output_of, run, step};
use crate::{phantoms, root, setup, web};

/// Every benchmark.
pub fn all() -> Result {
    let only = std::env::var("INSITU_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "real-ct" {
        real_ct()?;
    }
    if only == "real-ct" {
        return Ok(());
    }
    if only.is_empty() || only == "render" {
        render()?;
    }
    if only == "render" {
        return Ok(());
    }
    let series = phantoms::bench_series()?;
    if only.is_empty() {
        step("benchmark: DICOM series -> HU volume (release build)");
        run(cargo(&root())
            .args(["bench", "-p", "insitu-volume", "--bench", "load"])
            .env("INSITU_BENCH_SERIES", &series))?;
        step("benchmark: marching cubes at 300 HU, CPU and GPU (release build)");
        run(cargo(&root())
            .args(["bench", "-p", "insitu-gpu", "--bench", "marching"])
            .env("INSITU_BENCH_SERIES", &series))?;
    }
    let segments_native = if only.is_empty() || only == "segments" {
        Some(segments_native(&series)?)
    } else {
        None
    };
    let spine = if only.is_empty() || only == "spine" {
        // The spine rows' real low-density CT, quiet and noisy, natively
        // and in the browser.
        let cts = LowDensityCts {
            quiet: phantoms::dicom_only(&phantoms::low_density_ct_fine()?)?,
            noisy: phantoms::dicom_only(&phantoms::low_density_ct_fine_noisy()?)?,
        };
        Some((spine_native(&cts)?, cts))
    } else {
        None
    };
    browser(
        &series,
        segments_native.as_deref(),
        spine.as_ref().map(|(native, cts)| (native.as_str(), cts)),
    )
}

/// The spine rows' real low-density CT (DICOM folders): as resampled, and
/// with noise, which the analysis reads in blocks and then voxel by voxel.
struct LowDensityCts {
    quiet: PathBuf,
    noisy: PathBuf,
}

impl LowDensityCts {
    /// Hands both folders to a benchmark, which times each it is given.
    fn pass_to(&self, command: &mut Command) {
        command
            .env("INSITU_BENCH_LOW_DENSITY", &self.quiet)
            .env("INSITU_BENCH_LOW_DENSITY_NOISY", &self.noisy);
    }
}

/// Volume-rendering frame times: natively on this machine's adapter (with
/// the empty-space skipping and dragging ratios), then in Chromium through
/// WebGPU and WebGL2 (the same frame, read back on each).
fn render() -> Result {
    step("benchmark: volume rendering frames, native GPU (release build)");
    run(cargo(&root()).args(["bench", "-p", "insitu-gpu", "--bench", "volume_render"]))?;
    step("benchmark: volume rendering frames in Chromium, WebGPU and WebGL2 (release wasm)");
    setup::web_tools()?;
    let (out, _) = timed(
        cargo(&root())
            .args([
                "test",
                "--release",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "insitu-gpu",
                "--test",
                "browser_volume_render",
                "--",
                "--nocapture",
            ])
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env(
                "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
                root().join("tests/webdriver.json"),
            ),
    )?;
    let figures: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("volume rendering frame"))
        .collect();
    if figures.is_empty() {
        return Err(format!("no frame times in:\n{out}"));
    }
    for line in figures {
        println!("{line}");
    }
    Ok(())
}

/// Spine separation natively (the demo spine, and the real low-density
/// CTs); returns the JSON line the browser benchmark divides its wasm
/// times by.
fn spine_native(cts: &LowDensityCts) -> Result<String> {
    step("benchmark: spine separation, native (release build)");
    let mut bench = cargo(&root());
    bench.args(["bench", "-p", "insitu-spine", "--bench", "separation"]);
    cts.pass_to(&mut bench);
    let (out, _) = timed(&mut bench)?;
    print!("{out}");
    out.lines()
        .find_map(|l| l.strip_prefix("spine-native: "))
        .map(str::to_owned)
        .ok_or_else(|| format!("no spine-native line in:\n{out}"))
}

/// The segment tools natively; returns the JSON line the browser
/// benchmark divides its wasm times by.
fn segments_native(series: &Path) -> Result<String> {
    step("benchmark: segment tools (grow, threshold, segment surface), native (release build)");
    let (out, _) = timed(
        cargo(&root())
            .args(["bench", "-p", "insitu-segment", "--bench", "tools"])
            .env("INSITU_BENCH_SERIES", series),
    )?;
    print!("{out}");
    out.lines()
        .find_map(|l| l.strip_prefix("segments-native: "))
        .map(str::to_owned)
        .ok_or_else(|| format!("no segments-native line in:\n{out}"))
}

/// The browser benchmark (release wasm, headless Chromium) beside the CLI;
/// `spine`: the native spine line and the low-density CTs.
fn browser(
    series: &Path,
    segments_native: Option<&str>,
    spine: Option<(&str, &LowDensityCts)>,
) -> Result {
    let j2k = phantoms::bench_series_j2k()?;
    step("benchmark: the same series in the browser (release wasm), beside the native CLI");
    setup::web_tools()?;
    // playwright-core drives Chromium here as in the end-to-end tests.
    setup::npm_packages()?;
    // The in-browser peers, pinned in their own lockfile and bundled into
    // one local page: measured in the same Chromium, on the same files.
    setup::npm_ci("tests/e2e/bench/peers", "the benchmark's in-browser peers")?;
    run(Command::new("node")
        .arg("tests/e2e/bench/peers/build.mjs")
        .current_dir(root()))?;
    run(cargo(&root()).args(["build", "--release", "-p", "insitu-cli"]))?;
    web::build(true)?;
    let mut node = Command::new("node");
    if let Some((_, cts)) = spine {
        cts.pass_to(&mut node);
    }
    run(node
        .arg("tests/e2e/bench/browser.mjs")
        .current_dir(root())
        // Folders of the series' DICOM files alone, as a user drops them.
        .env("INSITU_BENCH_SERIES", phantoms::dicom_only(series)?)
        .env("INSITU_BENCH_SERIES_J2K", phantoms::dicom_only(&j2k)?)
        .env("INSITU_CLI", target_dir().join("release/insitu"))
        .env(
            "INSITU_BENCH_SEGMENTS_NATIVE",
            segments_native.unwrap_or(""),
        )
        .env(
            "INSITU_BENCH_SPINE_NATIVE",
            spine.map_or("", |(native, _)| native),
        )
        .env("INSITU_DIST", root().join("dist"))
        .env(
            "INSITU_PEERS_SITE",
            root().join("tests/e2e/bench/peers/site"),
        ))
}

/// `cargo xtask bench --large`: a whole-spine-sized series (512²×2500) in
/// the browser and natively; minutes, so not part of `bench` or CI.
pub fn large() -> Result {
    let series = phantoms::large_series()?;
    let compressed = phantoms::large_series_compressed()?;
    step("large benchmark: 512x512x2500 in the browser (release wasm), beside the native CLI");
    setup::web_tools()?;
    setup::npm_packages()?;
    run(cargo(&root()).args(["build", "--release", "-p", "insitu-cli"]))?;
    web::build(true)?;
    run(Command::new("node")
        .arg("tests/e2e/bench/large.mjs")
        .current_dir(root())
        .env("INSITU_LARGE_SERIES", phantoms::dicom_only(&series)?)
        .env(
            "INSITU_LARGE_COMPRESSED",
            phantoms::dicom_only(&compressed)?,
        )
        .env("INSITU_CLI", target_dir().join("release/insitu"))
        .env("INSITU_DIST", root().join("dist")))
}

fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Runs `cmd`, returning its stdout and the wall time of the whole command.
fn timed(cmd: &mut Command) -> Result<(String, f64)> {
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), seconds))
}

/// The number after `key` in a JSON object printed on one line.
fn json_number(json: &str, key: &str) -> Result<f64> {
    let value: serde_json::Value =
        serde_json::from_str(json.trim()).map_err(|e| format!("{e}: {json}"))?;
    value[key]
        .as_f64()
        .ok_or_else(|| format!("no {key} in {json}"))
}

/// `insitu mesh` on a real CT (the LIDC chest CT, 512×512×275, at 300 HU),
/// whole command, against loading it with pydicom and running VTK's flying
/// edges and its STL writer, alternating three times in one run; then the
/// triangle counts of our marching cubes (open borders, as theirs) against
/// flying edges and scikit-image's Lewiner, and admesh on our STL.
fn real_ct() -> Result {
    let ct = phantoms::real_ct_uncompressed()?;
    let python = phantoms::bench_python()?;
    step("benchmark: insitu mesh on a real CT against pydicom + VTK flying edges (release build)");
    run(cargo(&root()).args(["build", "--release", "-p", "insitu-cli"]))?;
    let insitu = target_dir().join("release/insitu");
    let tmp = std::env::temp_dir().join(format!("insitu-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let ours_stl = tmp.join("insitu.stl");
    let theirs_stl = tmp.join("vtk.stl");
    let script = root().join("tests/reference/mesh_peers.py");
    // Ours: the whole command, process start to exit. Theirs: the script's
    // own clock around load + flying edges + STL, so neither Python's start
    // nor the Lewiner count afterwards is charged to the peer.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut last = (String::new(), String::new());
    for _ in 0..3 {
        let (out, seconds) = timed(
            Command::new(&insitu)
                .arg("mesh")
                .arg(&ct)
                .args(["--iso", "300", "-o"])
                .arg(&ours_stl),
        )?;
        ours.push(seconds);
        let (json, _) = timed(
            Command::new(&python)
                .arg(&script)
                .arg(&ct)
                .arg("300")
                .arg(&theirs_stl),
        )?;
        theirs.push(json_number(&json, "total_s")?);
        last = (out, json);
    }
    let (out, json) = last;
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::MAX, f64::min);
        let hi = v.iter().copied().fold(f64::MIN, f64::max);
        (lo, hi)
    };
    let (ours_lo, ours_hi) = range(&ours);
    let (theirs_lo, theirs_hi) = range(&theirs);
    println!(
        "real CT: {} (LIDC chest CT, 512x512x275, uncompressed)",
        ct.display()
    );
    for line in out.lines() {
        println!("  insitu mesh: {line}");
    }
    println!(
        "  pydicom + VTK, last run: load {:.3} s, flying edges {:.3} s, STL {:.3} s",
        json_number(&json, "load_s")?,
        json_number(&json, "flying_edges_s")?,
        json_number(&json, "write_s")?,
    );
    println!(
        "insitu mesh --iso 300, whole command: {ours_lo:.2}-{ours_hi:.2} s; pydicom load + VTK flying edges + STL: {theirs_lo:.2}-{theirs_hi:.2} s; insitu/peer {:.2}x (best of 3 each)",
        ours_lo / theirs_lo,
    );
    step("marching cubes triangle counts on the same CT (open borders, 300 HU)");
    let counted = Command::new(cargo_path())
        .current_dir(root())
        .args(["bench", "-q", "-p", "insitu-mesh", "--bench", "real_ct"])
        .env("INSITU_BENCH_REAL_CT", &ct)
        .env("INSITU_BENCH_ISO", "300")
        .output()
        .map_err(|e| e.to_string())?;
    let counted = String::from_utf8_lossy(&counted.stdout);
    let ours_count: f64 = counted
        .lines()
        .find_map(|l| {
            l.split(" triangles")
                .next()?
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no count in {counted}"))?;
    for (peer, key) in [
        ("VTK flying edges", "flying_edges_triangles"),
        ("scikit-image Lewiner", "lewiner_triangles"),
    ] {
        let theirs = json_number(&json, key)?;
        println!(
            "triangles: insitu {ours_count} vs {peer} {theirs} ({:+.2}%)",
            (ours_count - theirs) / theirs * 100.0
        );
    }
    if let Some(report) = output_of("admesh", &[ours_stl.to_str().unwrap_or_default()]) {
        for line in report.lines().filter(|l| {
            [
                "Degenerate facets",
                "Edges fixed",
                "Facets removed",
                "Facets added",
                "Facets reversed",
            ]
            .iter()
            .any(|label| l.trim_start().starts_with(label))
        }) {
            println!("admesh on insitu's STL: {}", line.trim());
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

fn cargo_path() -> std::path::PathBuf {
    std::env::var_os("CARGO")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "cargo".into())
}
