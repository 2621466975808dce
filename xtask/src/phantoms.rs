//! Phantom DICOM series from `../shared/tools/make_series.py`, generated
//! once into the cache: the ground truth (manifest + HU array) that the
//! volume tests compare against.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::proc::{Result, output_of, run, step};
use crate::root;

/// Small phantoms for the tests: one per transfer syntax, the awkward
/// geometry variant and an Enhanced CT multi-frame file.
const TEST_SERIES: &[(&str, &[&str])] = &[
    ("ele", &["--ts", "ele"]),
    ("ile", &["--ts", "ile"]),
    ("ebe", &["--ts", "ebe"]),
    ("deflate", &["--ts", "deflate"]),
    ("rle", &["--ts", "rle"]),
    ("j2k-lossless", &["--ts", "j2k-lossless"]),
    ("jpeg-ls-lossless", &["--ts", "jpeg-ls-lossless"]),
    ("jpeg-lossless-sv1", &["--ts", "jpeg-lossless-sv1"]),
    (
        "awkward",
        &[
            "--signed",
            "--fov-padding",
            "--oblique",
            "15",
            "--descending",
            "--reverse-instance",
            "--drop",
            "3",
        ],
    ),
    ("enhanced", &["--enhanced"]),
];

/// `$XDG_CACHE_HOME/insitu` or `~/.cache/insitu`: outside any clone.
pub fn cache_root() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("insitu")
}

fn make_series() -> Result<PathBuf> {
    let script = root().join("../shared/tools/make_series.py");
    if script.is_file() {
        Ok(script)
    } else {
        Err(format!(
            "{} not found: the shared/ folder must sit beside the checkout",
            script.display()
        ))
    }
}

/// The Python packages every test and the phantom generator use, in one
/// list.
const REQUIREMENTS: &str = "tests/requirements.txt";

/// What the benchmark adds: the peers it measures insitu against.
const BENCH_REQUIREMENTS: &str = "tests/bench-requirements.txt";

/// A Python venv holding every package in [`REQUIREMENTS`]. `pip install
/// -r` runs on every call: it is idempotent, quick when all is present,
/// and a package added to the list reaches every machine on its next run
/// (a stamp file once hid a missing package on a fresh machine).
pub fn python() -> Result<PathBuf> {
    static READY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(python) = READY.get() {
        return Ok(python.clone());
    }
    let python = python_with(REQUIREMENTS)?;
    Ok(READY.get_or_init(|| python).clone())
}

/// The same venv with the benchmark's peers too ([`BENCH_REQUIREMENTS`]).
pub fn bench_python() -> Result<PathBuf> {
    python_with(BENCH_REQUIREMENTS)
}

fn python_with(requirements: &str) -> Result<PathBuf> {
    let venv = cache_root().join("pyenv");
    let python = venv.join("bin/python");
    if !python.is_file() {
        step(&format!(
            "creating a Python environment for the tests in {}",
            venv.display()
        ));
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    step(&format!("Python packages from {requirements}"));
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(root().join(requirements)))?;
    Ok(python)
}

fn generate(python: &Path, out: &Path, size: &str, slices: &str, args: &[&str]) -> Result {
    if out.join("manifest.json").is_file() {
        return Ok(());
    }
    if output_of("dcmconv", &["--version"]).is_none() {
        return Err("dcmtk (dcmconv) is missing: apt-get install dcmtk".into());
    }
    let _ = std::fs::remove_dir_all(out);
    let mut cmd = Command::new(python);
    cmd.arg(make_series()?)
        .args([
            "--phantom",
            "spine",
            "--size",
            size,
            "--slices",
            slices,
            "--save-npy",
            "--out",
        ])
        .arg(out)
        .args(args);
    run(&mut cmd)
}

/// The test phantoms, generated when missing; returns their folder.
pub fn test_series() -> Result<PathBuf> {
    let python = python()?;
    let dir = cache_root().join("phantoms/test");
    step("phantom series for the volume tests (cached)");
    for (name, args) in TEST_SERIES {
        generate(&python, &dir.join(name), "128", "40", args)?;
    }
    // Full size, for GPU = CPU marching cubes on a realistic volume.
    generate(
        &python,
        &dir.join("spine-512"),
        "512",
        "300",
        &["--ts", "ele"],
    )?;
    Ok(dir)
}

/// A real low-density lumbar CT and its reference labels (see
/// `tests/reference/ts_example.py`), made once into the cache.
pub fn low_density_ct() -> Result<PathBuf> {
    let python = python()?;
    let dir = cache_root().join("real/totalsegmentator-example");
    step("TotalSegmentator's example CT and reference labels (cached)");
    if !dir.join("reference.json").is_file() {
        let _ = std::fs::remove_dir_all(&dir);
        run(Command::new(&python)
            .arg(root().join("tests/reference/ts_example.py"))
            .arg(&dir))?;
    }
    Ok(dir)
}

/// The same real CT resampled to 0.7 mm pixels and 1 mm slices
/// (523×433×336, about as many voxels as a 512²×300 CT; see
/// `tests/reference/ts_example.py --fine`), made once into the cache: the
/// benchmark's low-density spine.
pub fn low_density_ct_fine() -> Result<PathBuf> {
    ts_example_variant(
        "ct-fine",
        "--fine",
        "TotalSegmentator's example CT at 0.7 x 0.7 x 1 mm (cached)",
    )
}

/// The same resample with 40 HU of CT-grained noise
/// (`tests/reference/ts_example.py --fine-noisy`), made once into the
/// cache: the benchmark's noisy low-density spine, read in blocks for its
/// noise and then voxel by voxel (the analysis' slowest path).
pub fn low_density_ct_fine_noisy() -> Result<PathBuf> {
    ts_example_variant(
        "ct-fine-noisy",
        "--fine-noisy",
        "TotalSegmentator's example CT at 0.7 x 0.7 x 1 mm with 40 HU of noise (cached)",
    )
}

/// The same real CT with 100 HU added inside its reference's bone (a
/// normal-density stand-in), resampled to 1 mm, with 40 HU of CT-grained
/// noise (`tests/reference/ts_example.py --noisy`), made once into the
/// cache: the end-to-end test of a noisy CT's spine analysis in the browser.
pub fn low_density_ct_noisy() -> Result<PathBuf> {
    ts_example_variant(
        "ct-noisy",
        "--noisy",
        "TotalSegmentator's example CT, denser bone, at 1 mm with 40 HU of noise (cached)",
    )
}

/// The series `ts_example.py <dir> <flag>` writes into `folder` of the
/// example CT's cache directory, made unless its manifest is there.
fn ts_example_variant(folder: &str, flag: &str, what: &str) -> Result<PathBuf> {
    let python = python()?;
    let dir = cache_root().join("real/totalsegmentator-example");
    step(what);
    let series = dir.join(folder);
    if !series.join("manifest.json").is_file() {
        let _ = std::fs::remove_dir_all(&series);
        run(Command::new(&python)
            .arg(root().join("tests/reference/ts_example.py"))
            .arg(&dir)
            .arg(flag))?;
    }
    Ok(series)
}

/// The 512×512×300 Explicit VR LE phantom of the benchmark.
pub fn bench_series() -> Result<PathBuf> {
    let python = python()?;
    let dir = cache_root().join("phantoms/bench-512x512x300-ele");
    step("512x512x300 phantom series for the benchmark (cached)");
    generate(&python, &dir, "512", "300", &["--ts", "ele"])?;
    Ok(dir)
}

/// A 512×512×2500 phantom at 0.5 mm (1.3 GB of files): a whole-spine CT's
/// size, for `cargo xtask bench --large`.
pub fn large_series() -> Result<PathBuf> {
    let python = python()?;
    let dir = cache_root().join("phantoms/large-512x512x2500-ele");
    step("512x512x2500 phantom series for the large benchmark (cached; minutes the first time)");
    generate(
        &python,
        &dir,
        "512",
        "2500",
        &["--ts", "ele", "--slice-spacing", "0.5"],
    )?;
    Ok(dir)
}

/// The same whole-spine-sized series in JPEG-LS (lossless): a compressed
/// one, decoded on the decoder workers, for their memory at that size.
pub fn large_series_compressed() -> Result<PathBuf> {
    let python = python()?;
    let dir = cache_root().join("phantoms/large-512x512x2500-jpeg-ls");
    step(
        "512x512x2500 JPEG-LS phantom series for the large benchmark (cached; minutes the first time)",
    );
    generate(
        &python,
        &dir,
        "512",
        "2500",
        &["--ts", "jpeg-ls-lossless", "--slice-spacing", "0.5"],
    )?;
    Ok(dir)
}

/// A 512×512×100 JPEG 2000 (lossless) phantom: a decode-bound load, for
/// decoder workers against one.
pub fn bench_series_j2k() -> Result<PathBuf> {
    let python = python()?;
    let dir = cache_root().join("phantoms/bench-512x512x100-j2k");
    step("512x512x100 JPEG 2000 phantom series for the benchmark (cached)");
    generate(&python, &dir, "512", "100", &["--ts", "j2k-lossless"])?;
    Ok(dir)
}

/// The real LIDC chest CT (512×512×275, RLE in `../shared/fixtures`) as
/// uncompressed Explicit VR LE (dcmtk's `dcmdrle`), so pydicom reads it at
/// its best in the benchmark; made once into the cache.
pub fn real_ct_uncompressed() -> Result<PathBuf> {
    let source = root().join("../shared/fixtures/lidc-chest-ct");
    let out = cache_root().join("real/lidc-chest-ct-ele");
    let done = out.join(".complete");
    if done.is_file() {
        return Ok(out);
    }
    step("the LIDC chest CT decompressed for the benchmark (cached)");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let entries = std::fs::read_dir(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let from = entry.path();
        if from.extension().is_some_and(|x| x == "dcm") {
            run(Command::new("dcmdrle")
                .arg(&from)
                .arg(out.join(entry.file_name())))?;
        }
    }
    std::fs::write(&done, "").map_err(|e| e.to_string())?;
    Ok(out)
}

/// The DICOM files of a generated series alone (hard links, or copies where
/// linking fails) in `<dir>-dicom`: the generator's `truth_hu.npy` would
/// otherwise be part of the folder a benchmark drops.
pub fn dicom_only(dir: &Path) -> Result<PathBuf> {
    let mut name = dir.file_name().unwrap_or_default().to_owned();
    name.push("-dicom");
    let out = dir.with_file_name(name);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let from = entry.path();
        let to = out.join(entry.file_name());
        if from.extension().is_some_and(|x| x == "dcm") && !to.exists() {
            std::fs::hard_link(&from, &to)
                .or_else(|_| std::fs::copy(&from, &to).map(drop))
                .map_err(|e| format!("{}: {e}", to.display()))?;
        }
    }
    Ok(out)
}
