//! Malformed and awkward files: a clear error naming the file, never a panic,
#![cfg(not(target_arch = "wasm32"))]
//! and the good files beside them still load.
mod common;

use common::{fixtures, scan_path};
use insitu_volume::{MemoryFile, Problem, scan};

/// Every malformed file from fixtures/README.md, loaded alone: it either
/// decodes or is reported with its name and a specific problem.
#[test]
fn each_malformed_file_is_reported_by_name_or_decodes() {
    let files = [
        "pydicom/MR_truncated.dcm",
        "pydicom/rtplan_truncated.dcm",
        "pydicom/JPEG2000-embedded-sequence-delimiter.dcm",
        "pydicom/JPEG-lossy.dcm",
        "pydicom/badVR.dcm",
        "pydicom/meta_missing_tsyntax.dcm",
        "pydicom/no_meta.dcm",
        "pydicom/no_meta_group_length.dcm",
        "pydicom/ExplVR_BigEndNoMeta.dcm",
        "pydicom/ExplVR_LitEndNoMeta.dcm",
        "pydicom/J2K_pixelrep_mismatch.dcm",
        "pydicom/GDCMJ2K_TextGBR.dcm",
        "pydicom/SC_rgb_small_odd.dcm",
        "pydicom/empty_charset_LEI.dcm",
        "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm",
        "pydicom-data/bad_sequence.dcm",
        "pydicom-data/explicit_VR-UN.dcm",
        "pydicom-data/693_J2KR.dcm",
        "pydicom-data/693_UNCR.dcm",
        "pydicom/693_J2KI.dcm",
    ];
    for name in files {
        let (sources, scan) = scan_path(name);
        for skipped in &scan.skipped {
            assert!(
                skipped
                    .to_string()
                    .contains(name.rsplit('/').next().unwrap()),
                "{skipped}"
            );
            eprintln!("skipped  {skipped}");
        }
        for series in &scan.series {
            match scan.build(series.info.index, &sources) {
                Ok(loaded) => {
                    for w in &loaded.warnings {
                        eprintln!("warning  {name}: {w}");
                    }
                    eprintln!("loaded   {name}: {:?}", loaded.volume.geometry().dims);
                }
                Err(e) => {
                    let text = e.to_string();
                    assert!(text.contains(name.rsplit('/').next().unwrap()), "{text}");
                    eprintln!("failed   {text}");
                }
            }
        }
    }
}

#[test]
fn truncated_pixel_data_is_named_and_explained() {
    let (sources, scan) = scan_path("pydicom/MR_truncated.dcm");
    let outcome = scan.build(0, &sources);
    let text = match (scan.skipped.first(), &outcome) {
        (Some(e), _) => e.to_string(),
        (None, Err(e)) => e.to_string(),
        (None, Ok(_)) => panic!("a truncated file loaded as if valid"),
    };
    assert!(text.contains("MR_truncated.dcm"), "{text}");
    assert!(
        text.contains("truncated") || text.contains("decode"),
        "{text}"
    );
}

#[test]
fn non_dicom_files_are_skipped_with_reasons() {
    let sources = vec![
        MemoryFile {
            name: "README.txt".into(),
            bytes: b"Patient CD. Open with the viewer.".to_vec(),
        },
        MemoryFile {
            name: ".DS_Store".into(),
            bytes: b"\0\0\0\x01Bud1\0\0\x10\0\0\0\x08\0\0".to_vec(),
        },
        MemoryFile {
            name: "DICOMDIR".into(),
            bytes: std::fs::read(fixtures().join("pydicom/dicomdirtests/DICOMDIR")).unwrap(),
        },
        MemoryFile {
            name: "report.dcm".into(),
            bytes: std::fs::read(fixtures().join("pydicom/test-SR.dcm")).unwrap(),
        },
        MemoryFile {
            name: "ct.dcm".into(),
            bytes: std::fs::read(fixtures().join("pydicom/CT_small.dcm")).unwrap(),
        },
    ];
    let scan = scan(&sources);
    assert_eq!(scan.series.len(), 1, "the CT still loads");
    let reasons: Vec<(String, Problem)> = scan
        .skipped
        .iter()
        .map(|e| (e.file.clone(), e.problem.clone()))
        .collect();
    assert!(
        matches!(&reasons[0], (f, Problem::NotDicom(_)) if f == "README.txt"),
        "{reasons:?}"
    );
    assert!(
        matches!(&reasons[1], (f, Problem::NotDicom(_)) if f == ".DS_Store"),
        "{reasons:?}"
    );
    assert!(
        matches!(&reasons[2], (f, Problem::DicomDir) if f == "DICOMDIR"),
        "{reasons:?}"
    );
    assert!(
        matches!(&reasons[3], (f, Problem::NoPixelData(_)) if f == "report.dcm"),
        "{reasons:?}"
    );
    assert!(scan.build(0, &sources).is_ok());
}

#[test]
fn a_folder_mixing_good_and_bad_files_loads_the_good_series() {
    let mut sources: Vec<MemoryFile> = std::fs::read_dir(fixtures().join("ct-ge-head-tilt"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| MemoryFile {
            name: p.file_name().unwrap().to_string_lossy().into(),
            bytes: std::fs::read(&p).unwrap(),
        })
        .collect();
    for bad in [
        "pydicom/MR_truncated.dcm",
        "pydicom/rtplan_truncated.dcm",
        "pydicom/badVR.dcm",
        "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm",
    ] {
        sources.push(MemoryFile {
            name: bad.into(),
            bytes: std::fs::read(fixtures().join(bad)).unwrap(),
        });
    }
    // A file cut in half, and random bytes.
    let half = std::fs::read(fixtures().join("ct-ge-head-tilt/01.dcm")).unwrap();
    sources.push(MemoryFile {
        name: "cut.dcm".into(),
        bytes: half[..half.len() / 3].to_vec(),
    });
    sources.push(MemoryFile {
        name: "noise.bin".into(),
        bytes: (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
    });
    let scan = scan(&sources);
    let ct = scan
        .series
        .iter()
        .find(|s| s.info.dims == [512, 512, 28])
        .expect("the head CT series");
    let loaded = scan
        .build(ct.info.index, &sources)
        .expect("good series builds");
    assert_eq!(loaded.volume.geometry().dims.z, 28);
    assert!(scan.skipped.iter().any(|e| e.file == "noise.bin"));
    assert!(
        scan.skipped
            .iter()
            .any(|e| e.file == "pydicom/rtplan_truncated.dcm")
    );
    eprintln!(
        "{} skipped: {:?}",
        scan.skipped.len(),
        scan.skipped
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
}

#[test]
fn tag_browser_lists_identifiers_that_the_volume_never_holds() {
    let bytes = std::fs::read(fixtures().join("pydicom/CT_small.dcm")).unwrap();
    let meta = insitu_volume::read_meta(&bytes).unwrap();
    let name = meta.value_of("PatientName").expect("PatientName listed");
    assert!(!name.is_empty());
    assert!(meta.entries.iter().all(|e| e.keyword != "PixelData"));
    assert!(
        meta.entries
            .iter()
            .any(|e| e.tag == "(0028,0010)" && e.value == "128")
    );
}

/// Regression inputs found by `cargo fuzz run parse_decode`: each must load
/// or fail with an error, never panic (in wasm a panic kills the worker).
#[test]
fn fuzz_regressions_fail_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let files = [MemoryFile {
            name: path.file_name().unwrap().to_string_lossy().into(),
            bytes: std::fs::read(&path).unwrap(),
        }];
        let scan = std::panic::catch_unwind(|| scan(&files)).expect("scan must not panic");
        for s in &scan.series {
            // Decoding runs outside catch_unwind's reach in the browser: call
            // the decoder path directly and require an Err, not a panic.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                scan.build(s.info.index, &files)
            }));
            let outcome = outcome.expect("build must not panic");
            if let Err(e) = outcome {
                assert!(e.to_string().contains(&files[0].name), "{e}");
            }
        }
    }
}

/// A fuzzed deflated file whose inflated data set declares lengths far past
/// its end: refused by the length walk, before the parser reserves gigabytes.
#[test]
fn deflated_data_set_with_lying_lengths_is_refused_before_parsing() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions/meta-length-oom.dcm");
    let files = [MemoryFile {
        name: "meta-length-oom.dcm".into(),
        bytes: std::fs::read(path).unwrap(),
    }];
    let scan = scan(&files);
    assert!(scan.series.is_empty());
    let reason = scan.skipped[0].to_string();
    assert!(
        reason.contains("claims") && reason.contains("remain"),
        "{reason}"
    );
}
