//! Installs what is missing, each piece only when missing, saying what it does.
//!
//! Everything comes from the package registries (crates.io, Debian, npm):
//! nothing is downloaded from anywhere else, so this works on a machine that
//! reaches only those mirrors.

use std::path::Path;
use std::process::Command;

use crate::proc::{Result, cargo, output_of, run, step};
use crate::root;

/// Trunk release known to build with rustc 1.95 (0.22 needs a newer rustc).
pub const TRUNK_VERSION: &str = "0.21.14";

/// Debian packages the browser and GPU tests need.
const APT_PACKAGES: &[&str] = &[
    "chromium",
    "chromium-driver",
    // The Firefox ESR many hospital machines run: one end-to-end test.
    "firefox-esr",
    "mesa-vulkan-drivers",
    "libvulkan1",
    "fonts-dejavu-core",
    // The phantom generator: dcmtk transcodes, a venv holds pydicom.
    "dcmtk",
    "python3-venv",
    // STL checked as a slicer checks it (no degenerate facet, nothing to fix).
    "admesh",
];

/// Everything: web build tools, browsers, Vulkan driver, e2e packages.
pub fn all() -> Result {
    web_tools()?;
    apt_packages()?;
    npm_packages()
}

/// What `trunk build` needs: wasm target, exact wasm-bindgen, Trunk, crates.
pub fn web_tools() -> Result {
    wasm_target()?;
    wasm_bindgen_cli()?;
    trunk()?;
    // Trunk builds with --offline: fetch every crate first.
    step("cargo fetch (Trunk builds offline)");
    run(cargo(&root()).arg("fetch"))
}

/// The wasm32 standard library for rustc.
pub fn wasm_target() -> Result {
    let installed = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    step("installing the wasm32-unknown-unknown target (rustup)");
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The version of `package` recorded in Cargo.lock.
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            let version = lines.next()?.trim();
            return Some(
                version
                    .strip_prefix("version = \"")?
                    .strip_suffix('"')?
                    .to_owned(),
            );
        }
    }
    None
}

/// wasm-bindgen CLI at exactly the version of the wasm-bindgen crate in Cargo.lock.
fn wasm_bindgen_cli() -> Result {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock unreadable: {e}"))?;
    let version =
        locked_version(&lock, "wasm-bindgen").ok_or("Cargo.lock has no wasm-bindgen entry")?;
    let trunk_toml = std::fs::read_to_string(root().join("Trunk.toml")).unwrap_or_default();
    if !trunk_toml.contains(&format!("wasm_bindgen = \"{version}\"")) {
        return Err(format!(
            "Trunk.toml [tools] wasm_bindgen must be \"{version}\" to match Cargo.lock"
        ));
    }
    let want = format!("wasm-bindgen {version}");
    let have = output_of("wasm-bindgen", &["--version"]);
    let runner = output_of("wasm-bindgen-test-runner", &["--version"]);
    if have.as_deref() == Some(want.as_str()) && runner.is_some_and(|r| r.ends_with(&version)) {
        return Ok(());
    }
    step(&format!(
        "installing wasm-bindgen-cli {version} (found {}); takes about 6 minutes",
        have.as_deref().unwrap_or("none")
    ));
    // Not --locked: its lockfile pins a crate version the registry lacks.
    run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &version]))
}

/// Trunk, the wasm web bundler.
fn trunk() -> Result {
    let want = format!("trunk {TRUNK_VERSION}");
    let have = output_of("trunk", &["--version"]);
    if have.as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    step(&format!(
        "installing trunk {TRUNK_VERSION} (found {}); takes about 9 minutes",
        have.as_deref().unwrap_or("none")
    ));
    run(Command::new("cargo").args(["install", &format!("trunk@{TRUNK_VERSION}"), "--locked"]))
}

fn dpkg_installed(package: &str) -> bool {
    output_of("dpkg-query", &["-W", "-f=${Status}", package])
        .is_some_and(|s| s == "install ok installed")
}

/// Chromium, chromedriver and Mesa's lavapipe Vulkan driver from Debian.
pub fn apt_packages() -> Result {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing Debian packages: {}",
        missing.join(" ")
    ));
    let is_root = output_of("id", &["-u"]).is_some_and(|u| u == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if is_root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q"]);
    install.args(&missing);
    run(&mut install)
}

/// playwright-core and puppeteer-core for the end-to-end tests (they drive
/// the system Chromium and Firefox ESR; neither downloads a browser).
pub fn npm_packages() -> Result {
    npm_ci("tests/e2e", "end-to-end test packages")
}

/// `npm ci` in `dir` (relative to the repository) unless its tree is
/// already the lockfile's.
pub fn npm_ci(dir: &str, what: &str) -> Result {
    let path = root().join(dir);
    if is_npm_tree_current(&path) {
        return Ok(());
    }
    step(&format!("installing {what} (npm ci in {dir})"));
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .current_dir(&path))
}

fn is_npm_tree_current(dir: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(&dir.join("node_modules/.package-lock.json")),
        modified(&dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::locked_version;

    #[test]
    fn reads_versions_from_a_lockfile() {
        let lock = "[[package]]\nname = \"wasm-bindgen-test\"\nversion = \"0.3.80\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            locked_version(lock, "wasm-bindgen-test").as_deref(),
            Some("0.3.80")
        );
        assert_eq!(locked_version(lock, "trunk"), None);
    }
}
