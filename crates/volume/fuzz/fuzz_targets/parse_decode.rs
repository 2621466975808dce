//! One file's bytes through the whole single-file path: framing detection,
//! header parsing, series planning and pixel decoding. Any panic is a bug:
//! hostile input must become an error naming the file.
#![no_main]

use insitu_volume::{MemoryFile, scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = [MemoryFile {
        name: "fuzz.dcm".into(),
        bytes: data.to_vec(),
    }];
    let scan = scan(&files);
    for series in &scan.series {
        let _ = scan.build(series.info.index, &files);
    }
});
