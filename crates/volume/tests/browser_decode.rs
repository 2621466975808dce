//! The same transfer syntaxes decode in the browser (wasm32 in headless
//! Chromium) as natively: the dcm_qa_ts image in every supported encoding
//! gives identical pixels, J2K included (OpenJPEG translated to Rust).
#![cfg(target_arch = "wasm32")]

use insitu_volume::{MemoryFile, Voxels, scan};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! fixture {
    ($path:literal) => {
        MemoryFile {
            name: $path.to_owned(),
            bytes: include_bytes!(concat!("../../../../shared/fixtures/", $path)).to_vec(),
        }
    };
}

fn decode(file: MemoryFile) -> Result<Vec<i16>, String> {
    let files = [file];
    let scan = scan(&files);
    if let Some(e) = scan.skipped.first() {
        return Err(e.to_string());
    }
    match scan
        .build(0, &files)
        .map_err(|e| e.to_string())?
        .volume
        .voxels()
    {
        Voxels::I16(v) => Ok(v.clone()),
        Voxels::F32(_) => Err("expected exact integers".into()),
    }
}

#[wasm_bindgen_test]
fn every_supported_syntax_decodes_identically_in_the_browser() {
    let reference = decode(fixture!("dcm_qa_ts/1.dcm")).unwrap();
    assert_eq!(reference.len(), 384 * 384);
    for file in [
        fixture!("dcm_qa_ts/2.dcm"),
        fixture!("dcm_qa_ts/3.dcm"),
        fixture!("dcm_qa_ts/4.dcm"),
        fixture!("dcm_qa_ts/5.dcm"),
        fixture!("dcm_qa_ts/6.dcm"),
        fixture!("dcm_qa_ts/7.dcm"),
        fixture!("dcm_qa_ts/8.dcm"),
        fixture!("dcm_qa_ts/9.dcm"),
    ] {
        let name = file.name.clone();
        let got = decode(file).unwrap_or_else(|e| panic!("{e}"));
        assert!(got == reference, "{name} differs from 1.dcm in the browser");
    }
}

#[wasm_bindgen_test]
fn real_ct_jpeg2000_equals_rle_in_the_browser() {
    let j2k = decode(fixture!("wg04/J2KR/CT1_J2KR")).unwrap();
    let rle = decode(fixture!("wg04/RLE/CT1_RLE")).unwrap();
    let sv1 = decode(fixture!("wg04/JPLL/CT1_JPLL")).unwrap();
    assert!(j2k == rle && sv1 == rle, "lossless CT decodes differ");
    assert!(rle.iter().any(|&v| v > 1000), "bone present");
}

#[wasm_bindgen_test]
fn twelve_bit_lossy_jpeg_decodes_in_the_browser() {
    // Natively this image is checked against dcmtk's IJG decoder (codecs.rs);
    // here: it decodes, and the bad-SOS copy of it decodes the same.
    let extended = decode(fixture!("pydicom/JPGExtended.dcm")).unwrap();
    let bad_sos = decode(fixture!("pydicom/JPEG-lossy.dcm")).unwrap();
    assert_eq!(extended.len(), 256 * 1024);
    assert!(extended == bad_sos, "same entropy data, different pixels");
    assert!(extended.iter().all(|&v| (0..4096).contains(&v)));
    assert!(extended.iter().any(|&v| v > 100), "image is blank");
}
