//! The content key of a series: an XXH3-128 hash of what determines its voxels
//! (a digest of each file's encoded Pixel Data element, the conversion of
//! every slice, the geometry) and of nothing else. Computed from the scan
//! without decoding, so a second drop of the same study finds its cached
//! volume before any decode; the browser takes each file's digest while it
//! holds the file's bytes for the scan, so a key never reads a file again.
//! No UID, name, date or file name goes into it: an anonymised copy of a
//! study has the same key.

use crate::load::{BuildError, Scan};
use crate::source::Source;

/// Bumped whenever what a key covers, or how voxels are made from it,
/// changes: old cache entries then simply stop matching.
const KEY_VERSION: &[u8] = b"insitu content key v2";

/// XXH3-128 of a file's encoded Pixel Data element; of the whole file when
/// it cannot be found (a deflated data set), which still keys the pixels,
/// only less widely (its header is hashed too, never stored).
pub(crate) fn pixel_digest(bytes: &[u8]) -> u128 {
    let pixels = crate::parse::pixel_data_element(bytes).unwrap_or(bytes);
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&(pixels.len() as u64).to_le_bytes());
    hasher.update(pixels);
    hasher.digest128()
}

impl Scan {
    /// The content key of series `index` (hex), reading again the files
    /// whose digest the scan did not take.
    pub fn content_key<S: Source>(
        &self,
        index: usize,
        sources: &[S],
    ) -> Result<String, BuildError> {
        self.key_with(index, |file| {
            match self.digests.get(file).copied().flatten() {
                Some(digest) => Ok(digest),
                None => sources[file]
                    .bytes()
                    .map(|bytes| pixel_digest(&bytes))
                    .map_err(|e| {
                        BuildError::NothingReadable(crate::FileError::new(
                            sources[file].name(),
                            crate::Problem::Io(e.to_string()),
                        ))
                    }),
            }
        })
    }

    /// The content key of series `index` from the digests taken during the
    /// scan ([`crate::ScannedFile::read`] with digests); `None` when one is
    /// missing.
    pub fn content_key_from_scan(&self, index: usize) -> Option<String> {
        self.key_with(index, |file| {
            self.digests
                .get(file)
                .copied()
                .flatten()
                .ok_or(BuildError::NoSuchSeries(index))
        })
        .ok()
    }

    fn key_with(
        &self,
        index: usize,
        mut digest_of: impl FnMut(usize) -> Result<u128, BuildError>,
    ) -> Result<String, BuildError> {
        let plan = self
            .series
            .get(index)
            .ok_or(BuildError::NoSuchSeries(index))?;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(KEY_VERSION);
        let g = &plan.geometry;
        for v in [g.dims.x, g.dims.y, g.dims.z] {
            hasher.update(&v.to_le_bytes());
        }
        for v in g.steps.iter().chain([&g.origin]).flat_map(|v| v.to_array()) {
            hasher.update(&v.to_le_bytes());
        }
        for &t in plan.slice_offsets_mm.iter().flatten() {
            hasher.update(&t.to_le_bytes());
        }
        hasher.update(&plan.padding_output.to_le_bytes());
        hasher.update(&[u8::from(plan.invert)]);
        let mut hashed_files = std::collections::BTreeSet::new();
        for slice in &plan.slices {
            let header = self.header_of(slice.header);
            hasher.update(&slice.frame.to_le_bytes());
            hasher.update(&slice.rescale.slope.to_le_bytes());
            hasher.update(&slice.rescale.intercept.to_le_bytes());
            let file = self.file_of_header(slice.header);
            // A multi-frame file's pixels are hashed once, at its first slice.
            if !hashed_files.insert(file) {
                continue;
            }
            hasher.update(header.transfer_syntax.as_bytes());
            hasher.update(format!("{:?}|{:?}", header.pixel, header.padding).as_bytes());
            hasher.update(&digest_of(file)?.to_le_bytes());
        }
        Ok(format!("{:032x}", hasher.digest128()))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use crate::parse::{Depth, parse, pixel_data_element};
    use crate::source::Source;

    /// In every fixture with a DICM header that parses, the Pixel Data
    /// element is found and starts with its tag.
    #[test]
    fn pixel_data_is_located_in_real_files() {
        let root = crate::fixtures_root();
        let (mut found, mut images) = (0, 0);
        for dir in [
            "pydicom",
            "pydicom-data",
            "dcm_qa_ts",
            "wg04",
            "ct-ge-head-tilt",
        ] {
            for file in crate::files_under(&root.join(dir)).unwrap() {
                let bytes = file.bytes().unwrap();
                let Ok(obj) = parse(&bytes, Depth::Full) else {
                    continue;
                };
                let deflated = obj.meta().transfer_syntax() == "1.2.840.10008.1.2.1.99";
                if obj.element(dicom_dictionary_std::tags::PIXEL_DATA).is_err() || deflated {
                    continue;
                }
                images += 1;
                if let Some(element) = pixel_data_element(&bytes) {
                    let tag = &element[..4];
                    assert!(
                        tag == [0xE0, 0x7F, 0x10, 0x00] || tag == [0x7F, 0xE0, 0x00, 0x10],
                        "{}: {tag:?}",
                        file.name()
                    );
                    found += 1;
                }
            }
        }
        eprintln!("pixel data located in {found} of {images} image files");
        assert!(found * 100 >= images * 95, "{found} of {images}");
    }
}
