//! Developer commands for insitu: `cargo xtask <command>`.
//!
//! - `setup`      install what is missing (wasm target, exact wasm-bindgen CLI,
//!   Trunk, Chromium + chromedriver, Mesa Vulkan, e2e npm packages)
//! - `build-web`  build the app into `dist/` and stamp its CSP
//! - `serve`      build-web, then serve `dist/` on http://127.0.0.1:8080
//! - `test`       setup, then every test layer; prints counts per layer
//! - `lint`       rustfmt check and clippy (native and wasm32), warnings denied
//! - `bench`      benchmarks printing ratios against same-run baselines and
//!   the in-browser peers; `--large`: a 512²×2500 series in the browser
//! - `phantoms`   generate the phantom DICOM series the tests compare against

mod bench;
mod csp;
mod phantoms;
mod proc;
mod serve;
mod setup;
mod test;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR at run time too; prefer it: a build
    // cache shared between checkouts may hold a binary compiled elsewhere.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// True under CI: nothing may be skipped there.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <setup|build-web [--release]|serve [--port N] [--dev]|test [--no-lint]|lint|bench [--large]|phantoms>"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::all(),
        Some("build-web") => setup::web_tools().and_then(|()| web::build(flag("--release"))),
        // What users run: the optimised build, unless `--dev`.
        Some("serve") => {
            let port = args
                .iter()
                .position(|a| a == "--port")
                .and_then(|i| args.get(i + 1))
                .and_then(|p| p.parse().ok())
                .unwrap_or(8080);
            setup::web_tools()
                .and_then(|()| web::build(!flag("--dev")))
                .and_then(|()| serve::serve(&root().join("dist"), port))
        }
        Some("test") => test::run_all(!flag("--no-lint")),
        Some("bench") if flag("--large") => setup::apt_packages().and_then(|()| bench::large()),
        Some("bench") => setup::apt_packages().and_then(|()| bench::all()),
        Some("phantoms") => setup::apt_packages()
            .and_then(|()| phantoms::test_series())
            .map(|dir| {
                println!("{}", dir.display());
            }),
        Some("lint") => setup::wasm_target().and_then(|()| test::lint()),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
