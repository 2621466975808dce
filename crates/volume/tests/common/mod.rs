//! Shared helpers for tests on real DICOM files from `../shared/fixtures`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use insitu_volume::{
    DiskFile, Loaded, MemoryFile, Problem, Scan, Source, Voxels, files_under, scan,
};

/// The fixtures folder: `$INSITU_FIXTURES`, else `shared/fixtures` beside the
/// checkout. Missing fixtures fail the test: they are the test.
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("INSITU_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"));
    assert!(
        dir.join("README.md").is_file(),
        "DICOM fixtures not found at {} (set INSITU_FIXTURES)",
        dir.display()
    );
    dir
}

/// The generated phantom series: `$INSITU_PHANTOMS` (`cargo xtask phantoms`
/// or `cargo xtask test` makes them).
pub fn phantoms() -> PathBuf {
    let dir = std::env::var_os("INSITU_PHANTOMS")
        .map(PathBuf::from)
        .expect("INSITU_PHANTOMS unset: run `cargo xtask phantoms` (or `cargo xtask test`)");
    assert!(dir.is_dir(), "{} missing", dir.display());
    dir
}

/// Scans the files (or folder) under `relative`.
pub fn scan_path(relative: &str) -> (Vec<DiskFile>, Scan) {
    let files = files_under(&fixtures().join(relative)).expect("readable fixture path");
    let scan = scan(&files);
    (files, scan)
}

/// Loads the one image in a single fixture file, or the reason it was skipped.
pub fn load_file(relative: &str) -> Result<Loaded, String> {
    load_path(&fixtures().join(relative))
}

/// Loads the one image in a single file anywhere on disk.
pub fn load_path(path: &Path) -> Result<Loaded, String> {
    let files = files_under(path).expect("readable path");
    let scan = scan(&files);
    if let Some(e) = scan.skipped.first() {
        return Err(e.to_string());
    }
    scan.build(0, &files).map_err(|e| e.to_string())
}

/// Voxels as f64 for comparisons.
pub fn values(loaded: &Loaded) -> Vec<f64> {
    match loaded.volume.voxels() {
        Voxels::I16(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Voxels::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
    }
}

/// Skip reason of a single file, which must exist.
pub fn skip_reason(relative: &str) -> Option<Problem> {
    let (_, scan) = scan_path(relative);
    scan.skipped.first().map(|e| e.problem.clone())
}

/// The files under `relative`, read into memory (so tests can change them).
pub fn memory_files(relative: &str) -> Vec<MemoryFile> {
    files_under(&fixtures().join(relative))
        .expect("readable fixture path")
        .iter()
        .map(|f| MemoryFile {
            name: f.name().to_owned(),
            bytes: f.bytes().expect("readable fixture").into_owned(),
        })
        .collect()
}
