//! The content key of a series covers its pixels and geometry and nothing
//! that identifies anyone: the same across file names and header edits,
//! different when a single stored pixel differs.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::memory_files;
use insitu_volume::{MemoryFile, scan};

fn head_ct() -> Vec<MemoryFile> {
    memory_files("ct-ge-head-tilt")
}

fn key_of(files: &[MemoryFile]) -> String {
    let scan = scan(files);
    scan.content_key(scan.largest_series().unwrap(), files)
        .unwrap()
}

/// Overwrites the value of the first element `tag` (explicit VR LE) with
/// same-length bytes.
fn overwrite(file: &mut MemoryFile, tag: [u8; 4], with: u8) -> bool {
    let Some(at) = file.bytes.windows(4).position(|w| w == tag) else {
        return false;
    };
    let len = u16::from_le_bytes([file.bytes[at + 6], file.bytes[at + 7]]) as usize;
    for b in &mut file.bytes[at + 8..at + 8 + len] {
        *b = with;
    }
    true
}

#[test]
fn the_key_ignores_file_names_and_identifying_headers() {
    let files = head_ct();
    let key = key_of(&files);
    assert_eq!(key.len(), 32, "XXH3-128 hex");
    let mut renamed = files.clone();
    for (n, f) in renamed.iter_mut().enumerate().rev() {
        f.name = format!("anon/{n:04}.dcm");
    }
    renamed.reverse();
    assert_eq!(key_of(&renamed), key, "names and order of files");
    let mut anonymised = files.clone();
    for f in anonymised.iter_mut().filter(|f| f.name.ends_with(".dcm")) {
        // PatientName (0010,0010) and PatientID (0010,0020) blanked out.
        assert!(overwrite(f, [0x10, 0x00, 0x10, 0x00], b'X'));
        overwrite(f, [0x10, 0x00, 0x20, 0x00], b'0');
    }
    assert_ne!(anonymised[0].bytes, files[0].bytes);
    assert_eq!(key_of(&anonymised), key, "identifiers are not in the key");
}

#[test]
fn one_changed_pixel_changes_the_key() {
    let files = head_ct();
    let key = key_of(&files);
    let mut changed = files.clone();
    let last = changed[3].bytes.len() - 10;
    changed[3].bytes[last] ^= 1;
    assert_ne!(key_of(&changed), key);
}

#[test]
fn the_pixel_data_element_is_found_in_every_kind_of_file() {
    // Each readable image fixture: the key can be computed, and a header
    // edit before Pixel Data leaves it unchanged.
    let mut checked = 0;
    for dir in ["pydicom", "pydicom-data", "dcm_qa_ts", "wg04"] {
        let files = memory_files(dir);
        let scan = scan(&files);
        for (index, _) in scan.series.iter().enumerate() {
            assert!(scan.content_key(index, &files).is_ok());
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} series");
}

#[test]
fn digests_taken_while_scanning_give_the_same_key() {
    // The browser scans a batch of files at a time and lets them go: the
    // key must then come from the scan alone, equal to the one that reads
    // the files again.
    let files = head_ct();
    let scanned: Vec<_> = files
        .iter()
        .map(|f| insitu_volume::ScannedFile::read(f, true))
        .collect();
    let streamed = insitu_volume::Scan::from_files(scanned);
    let index = streamed.largest_series().unwrap();
    assert_eq!(streamed.content_key_from_scan(index), Some(key_of(&files)));
    // Without digests, the scan alone cannot key the series.
    let plain = scan(&files);
    assert_eq!(plain.content_key_from_scan(index), None);
}
