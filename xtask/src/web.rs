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
    let build_id = stamp_service_worker()?;
    eprintln!("dist/ ready; CSP stamped with the loader's hash; service worker cache {build_id}");
    Ok(())
}

/// Names the service worker's cache after the build's contents, so a new
/// build replaces the cached app shell and an unchanged one keeps it.
fn stamp_service_worker() -> Result<String> {
    use sha2::{Digest, Sha256};
    let dist = root().join("dist");
    let mut names: Vec<_> = std::fs::read_dir(&dist)
        .map_err(|e| format!("{}: {e}", dist.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && !path.ends_with("sw.js"))
        .collect();
    names.sort();
    let mut hasher = Sha256::new();
    for path in &names {
        hasher.update(path.file_name().unwrap_or_default().as_encoded_bytes());
        hasher.update(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let id: String = hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sw = dist.join("sw.js");
    let script = std::fs::read_to_string(&sw).map_err(|e| format!("{}: {e}", sw.display()))?;
    if !script.contains("INSITU_BUILD_ID") {
        return Err("dist/sw.js has no INSITU_BUILD_ID placeholder".into());
    }
    std::fs::write(&sw, script.replace("INSITU_BUILD_ID", &id))
        .map_err(|e| format!("{}: {e}", sw.display()))?;
    Ok(id)
}
