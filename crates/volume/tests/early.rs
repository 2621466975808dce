//! Decoding while scanning (`EarlyVolume`, as the browser does) gives the
//! very volume the two-pass build gives, for every phantom series in every
//! transfer syntax, and declines what it does not take (compressed,
//! multi-frame) so that the build runs instead.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use insitu_volume::{EarlyVolume, MemoryFile, Scan, ScannedFile, Source, Voxels, files_under};

/// Every file of phantom folder `name`, in memory.
fn in_memory(name: &str) -> Vec<MemoryFile> {
    files_under(&common::phantoms().join(name))
        .unwrap()
        .into_iter()
        .map(|f| MemoryFile {
            name: f.name().to_owned(),
            bytes: f.bytes().unwrap().into_owned(),
        })
        .collect()
}

/// Every file of the folder (the manifest and truth arrays too, as a user
/// drops a folder), scanned one at a time as the browser does.
fn scan_early(name: &str) -> (Vec<MemoryFile>, Scan, EarlyVolume) {
    let files = in_memory(name);
    let mut early = EarlyVolume::new(files.len(), u64::MAX);
    let scanned = files
        .iter()
        .enumerate()
        .map(|(n, file)| {
            let scanned = ScannedFile::read(file, true);
            early.offer(n, &file.bytes, &scanned);
            scanned
        })
        .collect();
    (files, Scan::from_files(scanned), early)
}

#[test]
fn uncompressed_series_come_out_of_the_scan_as_the_build_makes_them() {
    for name in ["ele", "ile", "awkward"] {
        let (files, scan, early) = scan_early(name);
        assert!(early.is_keeping(), "{name}: gave up");
        let index = scan.largest_series().unwrap();
        let built = scan.build(index, &files).unwrap();
        let taken = scan
            .take_early(index, early)
            .unwrap_or_else(|| panic!("{name}: not taken"));
        assert_eq!(taken.volume.geometry(), built.volume.geometry(), "{name}");
        assert_eq!(taken.warnings, built.warnings, "{name}");
        // Taken slice by slice as they were converted, equal to a pass
        // over the whole volume.
        assert_eq!(
            taken.value_range,
            Some(built.volume.value_range()),
            "{name}"
        );
        match (taken.volume.voxels(), built.volume.voxels()) {
            (Voxels::I16(a), Voxels::I16(b)) => assert!(a == b, "{name}: voxels differ"),
            _ => panic!("{name}: not i16"),
        }
    }
}

#[test]
fn a_folder_beyond_the_budget_is_left_to_the_build_with_nothing_reserved() {
    let files = in_memory("ele");
    let mut early = EarlyVolume::new(files.len(), 64 * 1024);
    for (n, file) in files.iter().enumerate() {
        early.offer(n, &file.bytes, &ScannedFile::read(file, false));
    }
    assert!(!early.is_keeping());
    assert_eq!(early.reserved_bytes(), 0);
}

#[test]
fn compressed_and_multi_frame_series_are_left_to_the_build() {
    for name in ["rle", "j2k-lossless", "enhanced", "deflate", "ebe"] {
        // Nothing is ever reserved for them: the heap's high-water mark
        // must not grow by a volume that is decoded elsewhere.
        let (_, scan, early) = scan_early(name);
        assert_eq!(early.reserved_bytes(), 0, "{name}");
        assert!(!early.is_keeping(), "{name}: kept");
        let index = scan.largest_series().unwrap();
        assert!(scan.take_early(index, early).is_none(), "{name}");
    }
}
