//! Every test layer, in order, with a count per layer at the end.
//!
//! Layers: native unit/integration · native GPU (wgpu on the machine's Vulkan
//! driver, Mesa lavapipe in CI) · in-browser wasm-bindgen tests in headless
//! Chromium · end-to-end tests (Playwright driving the system Chromium
//! against the optimised build in `dist/`). A layer that fails does not
//! stop the others; the run fails at the end. Under CI an ignored test is a failure: nothing
//! may be skipped there.

use std::process::Command;

use crate::proc::{Result, cargo, run, run_tee, run_tee_all, step};
use crate::{in_ci, root, setup, web};

/// Crates that compile to wasm32 (the CLI and xtask are native only).
const WASM_CRATES: &[&str] = &[
    "insitu-volume",
    "insitu-mesh",
    "insitu-segment",
    "insitu-gpu",
    "insitu-store",
    "insitu-web",
];

/// Passed / failed / ignored counts of one layer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    passed: u32,
    failed: u32,
    ignored: u32,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

/// Sums libtest summaries: `test result: ok. 5 passed; 0 failed; 1 ignored; …`.
pub fn libtest_counts(output: &str) -> Counts {
    let mut counts = Counts::default();
    for line in output
        .lines()
        .filter(|l| l.trim_start().starts_with("test result:"))
    {
        let number_before = |word: &str| {
            line.split(';')
                .find_map(|part| {
                    part.trim()
                        .strip_suffix(word)?
                        .split_whitespace()
                        .last()?
                        .parse()
                        .ok()
                })
                .unwrap_or(0)
        };
        counts += Counts {
            passed: number_before(" passed"),
            failed: number_before(" failed"),
            ignored: number_before(" ignored"),
        };
    }
    counts
}

/// Reads node's spec reporter totals: `ℹ pass 4`, `ℹ fail 0`, `ℹ skipped 0`.
pub fn node_counts(output: &str) -> Counts {
    let total = |key: &str| {
        output
            .lines()
            .rev()
            .find_map(|l| {
                l.trim()
                    .strip_prefix('ℹ')?
                    .trim()
                    .strip_prefix(key)?
                    .trim()
                    .parse::<u32>()
                    .ok()
            })
            .unwrap_or(0)
    };
    Counts {
        passed: total("pass "),
        failed: total("fail "),
        ignored: total("skipped ") + total("todo "),
    }
}

struct Layer {
    name: &'static str,
    counts: Counts,
    error: Option<String>,
}

fn layer(name: &'static str, parse: fn(&str) -> Counts, outcome: Result<String>) -> Layer {
    match outcome {
        Ok(out) => layer_of(name, parse, &out, None),
        Err(e) => layer_of(name, parse, "", Some(e)),
    }
}

/// A layer from its output and, if it failed, why: the counts are read
/// either way, so one failing test never hides how many others passed. A
/// failure with no failed test counted (a build error) counts as one.
fn layer_of(
    name: &'static str,
    parse: fn(&str) -> Counts,
    out: &str,
    error: Option<String>,
) -> Layer {
    let mut counts = parse(out);
    if error.is_some() && counts.failed == 0 {
        counts.failed = 1;
    }
    Layer {
        name,
        counts,
        error,
    }
}

/// Rustfmt and clippy, native and wasm32, warnings denied.
pub fn lint() -> Result {
    step("cargo fmt --check");
    run(cargo(&root()).args(["fmt", "--all", "--check"]))?;
    step("clippy (native, all targets)");
    run(cargo(&root()).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("clippy (wasm32, all targets)");
    let mut wasm = cargo(&root());
    wasm.args([
        "clippy",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
    ]);
    for krate in WASM_CRATES {
        wasm.args(["-p", krate]);
    }
    run(wasm.args(["--", "-D", "warnings"]))
}

/// Installs what is missing, then runs every layer.
pub fn run_all(lint_first: bool) -> Result {
    setup::all()?;
    if lint_first {
        lint()?;
    }
    let mut layers = Vec::new();

    step("layer 1: native unit and integration tests");
    let phantoms = crate::phantoms::test_series()?;
    let mut native = cargo(&root());
    native.env("INSITU_PHANTOMS", &phantoms);
    native.env("INSITU_LOW_DENSITY_CT", crate::phantoms::low_density_ct()?);
    native.env("INSITU_PYTHON", crate::phantoms::python()?);
    // --no-fail-fast: one failing test binary must not hide the others.
    native.args([
        "test",
        "--no-fail-fast",
        "--workspace",
        "--exclude",
        "insitu-gpu",
        "--exclude",
        "insitu-web",
    ]);
    let (mut out, mut error) = run_tee_all(&mut native);
    // The web crate's pure tests (its protocol, messages and layout) run
    // natively too; its binaries are wasm-only, so its library alone.
    let mut web_lib = cargo(&root());
    web_lib.args(["test", "--no-fail-fast", "-p", "insitu-web", "--lib"]);
    let (web_out, web_error) = run_tee_all(&mut web_lib);
    out.push_str(&web_out);
    error = error.or(web_error);
    layers.push(layer_of(
        "native unit/integration",
        libtest_counts,
        &out,
        error,
    ));

    step("layer 2: native GPU tests (wgpu on this machine's adapter)");
    let mut show_adapter = cargo(&root());
    show_adapter.args(["run", "--quiet", "-p", "insitu-cli", "--", "gpu"]);
    quiet_vulkan_loader(&mut show_adapter);
    let adapter = run_tee(&mut show_adapter);
    let mut gpu = cargo(&root());
    gpu.args(["test", "--no-fail-fast", "-p", "insitu-gpu"])
        .env("INSITU_PHANTOMS", &phantoms);
    quiet_vulkan_loader(&mut gpu);
    layers.push(match adapter {
        Ok(_) => {
            let (out, error) = run_tee_all(&mut gpu);
            layer_of("native GPU", libtest_counts, &out, error)
        }
        Err(e) => layer(
            "native GPU",
            libtest_counts,
            Err(format!("no GPU adapter: {e}")),
        ),
    });

    step("layer 3: in-browser tests (wasm-bindgen-test in headless Chromium)");
    let mut wasm = cargo(&root());
    wasm.args([
        "test",
        "--no-fail-fast",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "insitu-store",
        "-p",
        "insitu-volume",
        "-p",
        "insitu-gpu",
    ])
    .env("CHROMEDRIVER", "/usr/bin/chromedriver")
    .env(
        "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
        root().join("tests/webdriver.json"),
    )
    .env("WASM_BINDGEN_TEST_TIMEOUT", "300");
    let (out, error) = run_tee_all(&mut wasm);
    layers.push(layer_of("in-browser (wasm)", libtest_counts, &out, error));

    step("layer 4: end-to-end tests (Playwright + headless Chromium on dist/)");
    // The optimised build, as users get it: the tests' UI-thread budgets
    // (no task over 100 ms) are promises about that build, and a debug
    // build's wasm runs the same handlers several times slower.
    let e2e = web::build(true).and_then(|()| {
        Ok(run_tee_all(
            Command::new("node")
                .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
                .arg("tests/e2e/")
                .env("INSITU_DIST", root().join("dist"))
                .env("INSITU_PHANTOMS", &phantoms)
                .env("INSITU_NOISY_CT", crate::phantoms::low_density_ct_noisy()?)
                .env("INSITU_PYTHON", crate::phantoms::python()?)
                .current_dir(root()),
        ))
    });
    layers.push(match e2e {
        Ok((out, error)) => layer_of("end-to-end (browser)", node_counts, &out, error),
        Err(e) => layer("end-to-end (browser)", node_counts, Err(e)),
    });

    report(&layers)
}

/// The Vulkan loader complains on every device creation when
/// `XDG_RUNTIME_DIR` is unset (as in CI); give it a private one.
fn quiet_vulkan_loader(cmd: &mut Command) {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join("insitu-xdg-runtime");
        if std::fs::create_dir_all(&dir).is_ok() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            cmd.env("XDG_RUNTIME_DIR", dir);
        }
    }
}

fn report(layers: &[Layer]) -> Result {
    eprintln!("\n==> summary");
    let mut total = Counts::default();
    for l in layers {
        eprintln!(
            "{:<26} {:>4} passed {:>3} failed {:>3} ignored{}",
            l.name,
            l.counts.passed,
            l.counts.failed,
            l.counts.ignored,
            l.error
                .as_deref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
        total += l.counts;
    }
    let empty: Vec<&str> = layers
        .iter()
        .filter(|l| l.counts.passed == 0)
        .map(|l| l.name)
        .collect();
    println!(
        "insitu: {} passed, {} failed, {} skipped",
        total.passed, total.failed, total.ignored
    );
    if total.failed > 0 || layers.iter().any(|l| l.error.is_some()) {
        return Err("some tests failed".into());
    }
    if !empty.is_empty() {
        return Err(format!("layers that ran no test: {}", empty.join(", ")));
    }
    if in_ci() && total.ignored > 0 {
        return Err(format!(
            "{} tests were skipped; CI skips nothing",
            total.ignored
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_libtest_summaries() {
        let out = "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out\n\
                   noise\n\
                   test result: FAILED. 2 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(
            libtest_counts(out),
            Counts {
                passed: 7,
                failed: 3,
                ignored: 1
            }
        );
    }

    #[test]
    fn reads_node_spec_totals() {
        let out = "✔ shell starts (1.2s)\nℹ tests 3\nℹ suites 0\nℹ pass 2\nℹ fail 1\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\n";
        assert_eq!(
            node_counts(out),
            Counts {
                passed: 2,
                failed: 1,
                ignored: 0
            }
        );
    }
}
