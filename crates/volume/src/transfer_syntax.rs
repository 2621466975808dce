//! The transfer syntaxes we decode — the same set natively and in wasm32,
//! because every codec used is pure Rust.

use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

use crate::error::Problem;

/// (UID, name) of every transfer syntax whose pixel data we decode.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
    (
        "1.2.840.10008.1.2.1.99",
        "Deflated Explicit VR Little Endian",
    ),
    ("1.2.840.10008.1.2.2", "Explicit VR Big Endian"),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (8-bit)"),
    ("1.2.840.10008.1.2.4.51", "JPEG Extended (12-bit)"),
    ("1.2.840.10008.1.2.4.57", "JPEG Lossless (any predictor)"),
    ("1.2.840.10008.1.2.4.70", "JPEG Lossless SV1"),
    ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
];

/// Human name of a transfer syntax UID (ours, else the registry's).
pub fn name_of(uid: &str) -> String {
    SUPPORTED
        .iter()
        .find(|(u, _)| *u == uid)
        .map(|(_, n)| (*n).to_owned())
        .or_else(|| {
            TransferSyntaxRegistry
                .get(uid)
                .map(|ts| ts.name().to_owned())
        })
        .unwrap_or_else(|| "unknown transfer syntax".to_owned())
}

/// Compressed pixel data in fragments (JPEG, JPEG-LS, JPEG 2000, RLE):
/// decoding, not reading, is then what a load waits for.
pub fn is_encapsulated(uid: &str) -> bool {
    !matches!(
        uid,
        "1.2.840.10008.1.2"
            | "1.2.840.10008.1.2.1"
            | "1.2.840.10008.1.2.1.99"
            | "1.2.840.10008.1.2.2"
    )
}

/// JPEG-LS is decoded by our own decoder (`codec::jpeg_ls`).
pub(crate) fn is_jpeg_ls(uid: &str) -> bool {
    matches!(uid, "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81")
}

/// `Ok` when pixel data in `uid` can be decoded here.
pub fn check_supported(uid: &str) -> Result<(), Problem> {
    let ours = SUPPORTED.iter().any(|(u, _)| *u == uid);
    let registry = is_jpeg_ls(uid)
        || TransferSyntaxRegistry
            .get(uid)
            .is_some_and(|ts| ts.can_decode_all());
    if ours && registry {
        return Ok(());
    }
    Err(Problem::UnsupportedTransferSyntax {
        name: name_of(uid),
        uid: uid.to_owned(),
        supported: SUPPORTED
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_syntax_has_a_decoder() {
        for (uid, name) in SUPPORTED {
            assert_eq!(check_supported(uid), Ok(()), "{name}");
        }
    }

    #[test]
    fn htj2k_is_refused_by_name() {
        let err = check_supported("1.2.840.10008.1.2.4.201")
            .unwrap_err()
            .to_string();
        assert!(err.contains("1.2.840.10008.1.2.4.201"), "{err}");
        assert!(
            err.contains("JPEG-LS Lossless, JPEG-LS Near-Lossless"),
            "{err}"
        );
        assert!(err.contains("JPEG 2000 Lossless"), "{err}");
    }
}
