//! Building the web app into `dist/`.

use std::process::Command;

use crate::csp;
use crate::proc::{Result, run, step};
use crate::root;

/// `trunk build` (debug or release), then the CSP stamp on `dist/index.html`.
pub fn build(release: bool) -> Result {
    step(if release {
        "building the web app (release) into dist/"
    } else {
        "building the web app into dist/"
    });
    let mut trunk = Command::new("trunk");
    trunk.arg("build").current_dir(root());
    if release {
        trunk.arg("--release");
    }
    // Trunk must never fetch tools: the ones on PATH are the right versions.
    trunk.env("TRUNK_SKIP_VERSION_CHECK", "true");
    run(&mut trunk)?;
    let index = root().join("dist/index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let stamped = csp::stamp(&html)?;
    std::fs::write(&index, stamped).map_err(|e| format!("{}: {e}", index.display()))?;
    eprintln!("dist/ ready; CSP stamped with the loader's hash");
    Ok(())
}
