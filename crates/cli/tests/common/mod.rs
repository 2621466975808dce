//! What the CLI's test files share: the fixtures folder and running the
//! `insitu` binary.

use std::path::PathBuf;
use std::process::Command;

/// `../shared/fixtures` (or `INSITU_FIXTURES`).
pub fn fixtures() -> PathBuf {
    std::env::var_os("INSITU_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
}

/// Runs `insitu` with `args`: (succeeded, stdout, stderr).
pub fn insitu(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_insitu"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
