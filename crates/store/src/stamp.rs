//! How a folder dropped again is recognised before any of its files is
//! read: a digest of its count of files, of the name, size and
//! modification time of the first files the browser hands over (16 of a
//! chosen folder, 64 of a dropped one) and of the first bytes of a few of
//! them. Reading and hashing every file (the content key) costs as much as
//! loading an uncompressed series, and even looking every file up takes
//! the browser 0.2–1.7 ms a file, so a re-drop found by its stamp opens
//! from the cache at once, and all its files are checked against the
//! content key afterwards (the app's part): the stamp is a quick guess,
//! the content key the proof.
//!
//! The stamp is two numbers. Names and header bytes go into the digest and
//! never come out of it: it is only ever compared for equality, and what
//! it is made of (header bytes with their UIDs, every file's time to the
//! millisecond) is far too varied to be guessed back.

use serde::{Deserialize, Serialize};

/// What the page knows of one dropped file without reading it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileFacts<'a> {
    /// Its path in the dropped or chosen folder.
    pub name: &'a str,
    /// Bytes.
    pub size: u64,
    /// Last modified, ms since 1970.
    pub modified_ms: f64,
}

/// A folder's stamp (XXH3-128 of its files' facts and sampled heads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilesStamp([u64; 2]);

/// Bump when what a stamp covers changes: old stamps then never match.
const STAMP_VERSION: &[u8] = b"insitu files stamp v1";

impl FilesStamp {
    /// Bytes read from the start of each sampled file: the DICOM header
    /// with its instance UIDs, rarely less than the first 4 KB.
    pub const HEAD_BYTES: usize = 8192;

    /// Which of `files` to read the first [`FilesStamp::HEAD_BYTES`] of
    /// (positions in `files`): the first, middle and last by name, so the
    /// order a browser hands the files over in does not matter.
    pub fn sampled(files: &[FileFacts]) -> Vec<usize> {
        let order = by_name(files);
        let mut picks: Vec<usize> = [0, order.len() / 2, order.len().saturating_sub(1)]
            .into_iter()
            .filter_map(|at| order.get(at).copied())
            .collect();
        picks.dedup();
        picks
    }

    /// The stamp of a folder of `in_all` files whose first (as the browser
    /// hands them over) are `files`, with `heads`, the first bytes of the
    /// files [`FilesStamp::sampled`] named, in its order (an unreadable one
    /// empty).
    pub fn of(files: &[FileFacts], in_all: u64, heads: &[&[u8]]) -> Self {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(STAMP_VERSION);
        hasher.update(&in_all.to_le_bytes());
        hasher.update(&(files.len() as u64).to_le_bytes());
        for n in by_name(files) {
            let file = &files[n];
            hasher.update(&(file.name.len() as u64).to_le_bytes());
            hasher.update(file.name.as_bytes());
            hasher.update(&file.size.to_le_bytes());
            hasher.update(&file.modified_ms.to_le_bytes());
        }
        for head in heads {
            hasher.update(&(head.len() as u64).to_le_bytes());
            hasher.update(head);
        }
        let digest = hasher.digest128();
        Self([digest as u64, (digest >> 64) as u64])
    }
}

/// Positions of `files` sorted by name (then size and time, for equal names).
fn by_name(files: &[FileFacts]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&files[a], &files[b]);
        (a.name, a.size)
            .cmp(&(b.name, b.size))
            .then(a.modified_ms.total_cmp(&b.modified_ms))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(names: &[&'static str]) -> Vec<FileFacts<'static>> {
        names
            .iter()
            .enumerate()
            .map(|(n, name)| FileFacts {
                name,
                size: 526_000 + n as u64,
                modified_ms: 1.7e12 + n as f64,
            })
            .collect()
    }

    fn stamp(files: &[FileFacts], heads: &[Vec<u8>]) -> FilesStamp {
        let heads: Vec<&[u8]> = heads.iter().map(Vec::as_slice).collect();
        FilesStamp::of(files, 40, &heads)
    }

    #[test]
    fn the_same_files_in_another_order_have_the_same_stamp() {
        let files = folder(&["s/IM3", "s/IM1", "s/IM2", "s/IM4"]);
        let mut shuffled = files.clone();
        shuffled.reverse();
        let sampled: Vec<&str> = FilesStamp::sampled(&files)
            .iter()
            .map(|&n| files[n].name)
            .collect();
        assert_eq!(sampled, ["s/IM1", "s/IM3", "s/IM4"]);
        let in_reverse: Vec<&str> = FilesStamp::sampled(&shuffled)
            .iter()
            .map(|&n| shuffled[n].name)
            .collect();
        assert_eq!(sampled, in_reverse, "the same files are sampled");
        let heads = vec![vec![1; 100], vec![2; 100], vec![3; 100]];
        assert_eq!(stamp(&files, &heads), stamp(&shuffled, &heads));
    }

    #[test]
    fn any_change_to_a_file_or_a_head_changes_the_stamp() {
        let files = folder(&["a/1", "a/2", "a/3"]);
        let heads = vec![vec![7; 64], vec![8; 64], vec![9; 64]];
        let base = stamp(&files, &heads);
        let mut touched = files.clone();
        touched[1].modified_ms += 1.0;
        assert_ne!(stamp(&touched, &heads), base, "a file saved again");
        let mut grown = files.clone();
        grown[2].size += 2;
        assert_ne!(stamp(&grown, &heads), base, "a file of another size");
        let mut renamed = files.clone();
        renamed[0].name = "b/1";
        assert_ne!(stamp(&renamed, &heads), base, "another folder");
        assert_ne!(stamp(&files[..2], &heads), base, "a file fewer");
        let head_slices: Vec<&[u8]> = heads.iter().map(Vec::as_slice).collect();
        assert_ne!(
            FilesStamp::of(&files, 41, &head_slices),
            base,
            "a folder of another count"
        );
        let mut other_heads = heads.clone();
        other_heads[1][10] ^= 1;
        assert_ne!(stamp(&files, &other_heads), base, "another header");
    }

    #[test]
    fn small_folders_sample_each_file_once() {
        assert_eq!(FilesStamp::sampled(&folder(&["only"])), [0]);
        assert_eq!(FilesStamp::sampled(&folder(&["b", "a"])), [1, 0]);
        assert!(FilesStamp::sampled(&[]).is_empty());
    }

    #[test]
    fn a_stamp_is_two_numbers_in_json() {
        let s = stamp(&folder(&["IM1"]), &[vec![0; 8]]);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with('[') && !json.contains('"'), "{json}");
        assert_eq!(serde_json::from_str::<FilesStamp>(&json).unwrap(), s);
    }
}
