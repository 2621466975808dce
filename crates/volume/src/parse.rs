//! Bytes → DICOM object, whatever the file's framing: with or without the
//! 128-byte preamble, with or without File Meta (transfer syntax inferred).

use dicom_dictionary_std::{tags, uids};
use dicom_object::{
    DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject, OpenFileOptions, file::ReadPreamble,
};
use dicom_transfer_syntax_registry::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::Problem;

/// How much of the file to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Stop before Pixel Data: grouping and sorting need only headers.
    Headers,
    /// Everything, for decoding.
    Full,
}

/// Value representations, to tell explicit from implicit VR encoding.
const VRS: [&[u8; 2]; 34] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
];

/// Parses one file from memory.
pub(crate) fn parse(bytes: &[u8], depth: Depth) -> Result<DefaultDicomObject, Problem> {
    let body = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        Some(&bytes[128..])
    } else if bytes.starts_with(b"DICM") {
        Some(bytes)
    } else {
        None
    };
    match body {
        Some(body) => {
            check_declared_lengths(body)?;
            let mut options = OpenFileOptions::new().read_preamble(ReadPreamble::Never);
            if depth == Depth::Headers {
                options = options.read_until(tags::PIXEL_DATA);
            }
            match options.from_reader(body) {
                Ok(obj) => Ok(obj),
                // A broken File Meta group (no transfer syntax, say) still
                // leaves a readable data set behind it.
                Err(first) => match skip_meta_group(body) {
                    Some(rest) => without_meta(rest).map_err(|_| Problem::Parse(first.to_string())),
                    None => Err(Problem::Parse(first.to_string())),
                },
            }
        }
        None => without_meta(bytes),
    }
}

/// Element value lengths longer than the bytes that follow make the parser
/// reserve memory for them up front: a 2.5 kB file could claim 4 GB (found
/// by fuzzing). Every declared length is checked against the file first.
fn check_declared_lengths(body: &[u8]) -> Result<(), Problem> {
    let Some(rest) = skip_meta_group(body) else {
        return Err(Problem::Parse(
            "File Meta group runs past the end of the file".into(),
        ));
    };
    let meta = &body[4..body.len() - rest.len()];
    walk_lengths(meta, true, false)?;
    let ts = meta_transfer_syntax(meta).unwrap_or_default();
    if ts == "1.2.840.10008.1.2.1.99" {
        // Lengths refer to the inflated stream (a fuzzed deflated file made
        // the parser reserve 3 GB): inflate once here to check them.
        return walk_lengths(&inflate_data_set(rest)?, true, false);
    }
    walk_lengths(
        rest,
        ts != uids::IMPLICIT_VR_LITTLE_ENDIAN,
        ts == "1.2.840.10008.1.2.2",
    )
}

/// Largest inflated data set we accept: far beyond any real deflated image.
const MAX_INFLATED_BYTES: u64 = 1 << 30;

/// The raw-deflate data set of Deflated Explicit VR Little Endian (PS3.5 A.5).
fn inflate_data_set(deflated: &[u8]) -> Result<Vec<u8>, Problem> {
    use std::io::Read;
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| Problem::Parse(format!("deflated data set: {e}")))?;
    if inflated.len() as u64 > MAX_INFLATED_BYTES {
        return Err(Problem::Parse(
            "deflated data set inflates beyond 1 GiB".into(),
        ));
    }
    Ok(inflated)
}

/// TransferSyntaxUID (0002,0010) from raw File Meta bytes, if present.
fn meta_transfer_syntax(meta: &[u8]) -> Option<String> {
    let mut at = 0;
    while meta.len() >= at + 8 {
        let (group, element) = (
            u16::from_le_bytes([meta[at], meta[at + 1]]),
            u16::from_le_bytes([meta[at + 2], meta[at + 3]]),
        );
        let long = matches!(
            &meta[at + 4..at + 6],
            b"OB" | b"OW" | b"OF" | b"SQ" | b"UT" | b"UN" | b"UC" | b"UR"
        );
        let (header, len) = if long {
            (
                12,
                u32::from_le_bytes(meta.get(at + 8..at + 12)?.try_into().ok()?) as usize,
            )
        } else {
            (8, u16::from_le_bytes([meta[at + 6], meta[at + 7]]) as usize)
        };
        if (group, element) == (0x0002, 0x0010) {
            let value = meta.get(at + header..at + header + len)?;
            return Some(
                String::from_utf8_lossy(value)
                    .trim_end_matches(['\0', ' '])
                    .to_owned(),
            );
        }
        at += header + len;
    }
    None
}

/// Explicit-VR elements whose length is 4 bytes after 2 reserved ones
/// (PS3.5 7.1.2); every other VR has a 2-byte length.
fn has_long_length(vr: &[u8]) -> bool {
    matches!(
        vr,
        b"OB"
            | b"OW"
            | b"OF"
            | b"OD"
            | b"OL"
            | b"OV"
            | b"SQ"
            | b"UC"
            | b"UR"
            | b"UT"
            | b"UN"
            | b"SV"
            | b"UV"
    )
}

/// Walks element headers (descending into sequences and items) and fails on
/// the first defined length that exceeds the remaining bytes.
fn walk_lengths(data: &[u8], explicit: bool, big_endian: bool) -> Result<(), Problem> {
    let u16_at = |i: usize| {
        let b = [data[i], data[i + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |i: usize| {
        let b = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let mut at = 0;
    // Inside encapsulated pixel data, items are raw fragments, not data sets.
    let mut fragments = false;
    while data.len() >= at + 8 {
        let (group, element) = (u16_at(at), u16_at(at + 2));
        // Items and delimiters always have a 4-byte length, no VR.
        let (header, len, descend) = if group == 0xFFFE {
            if element == 0xE0DD {
                fragments = false;
            }
            (8, u32_at(at + 4), element == 0xE000 && !fragments)
        } else if explicit {
            let vr = &data[at + 4..at + 6];
            let long = has_long_length(vr);
            if long {
                if data.len() < at + 12 {
                    break;
                }
                (12, u32_at(at + 8), vr == b"SQ")
            } else {
                (8, u32::from(u16_at(at + 6)), false)
            }
        } else {
            (8, u32_at(at + 4), false)
        };
        if len == u32::MAX || descend {
            if len == u32::MAX && group != 0xFFFE {
                let is_sequence = if explicit {
                    &data[at + 4..at + 6] == b"SQ"
                } else {
                    (group, element) != (0x7FE0, 0x0010)
                };
                fragments = !is_sequence;
            }
            at += header; // undefined length, or an item: walk its contents
            continue;
        }
        let end = at + header + len as usize;
        if end > data.len() {
            return Err(Problem::Parse(format!(
                "truncated or corrupt: element ({group:04X},{element:04X}) claims {len} bytes but only {} remain",
                data.len() - at - header
            )));
        }
        at = end;
    }
    Ok(())
}

/// The bytes after the File Meta group (always explicit VR little endian).
fn skip_meta_group(body: &[u8]) -> Option<&[u8]> {
    let mut at = 4; // "DICM"
    while body.len() >= at + 8 && u16::from_le_bytes([body[at], body[at + 1]]) == 0x0002 {
        let vr = &body[at + 4..at + 6];
        let long = matches!(
            vr,
            b"OB" | b"OW" | b"OF" | b"SQ" | b"UT" | b"UN" | b"UC" | b"UR"
        );
        let (header, len) = if long {
            let len = u32::from_le_bytes(body.get(at + 8..at + 12)?.try_into().ok()?);
            (12, len as usize)
        } else {
            (8, u16::from_le_bytes([body[at + 6], body[at + 7]]) as usize)
        };
        at = at.checked_add(header)?.checked_add(len)?;
    }
    body.get(at..)
}

/// The bytes of the top-level Pixel Data element (header and value, to the
/// end of the file for an undefined length), found by walking element
/// headers without parsing values. `None` for deflated data sets and files
/// whose framing is not understood.
pub(crate) fn pixel_data_element(bytes: &[u8]) -> Option<&[u8]> {
    let (data, ts) = data_set(bytes)?;
    if ts == "1.2.840.10008.1.2.1.99" {
        return None;
    }
    let explicit = ts != uids::IMPLICIT_VR_LITTLE_ENDIAN;
    let big_endian = ts == "1.2.840.10008.1.2.2";
    let start = top_level_offset(data, (0x7FE0, 0x0010), explicit, big_endian)?;
    let end = element_end(data, start, explicit, big_endian).unwrap_or(data.len());
    data.get(start..end)
}

/// The value of the top-level Pixel Data element of a native (uncompressed)
/// little-endian file, found by walking element headers: its bytes are the
/// samples as stored, so a decode needs no object tree and no copy of them.
/// `None` for any other syntax, framing or an undefined length, which then
/// go through the full parser.
pub(crate) fn native_pixel_value(bytes: &[u8]) -> Option<&[u8]> {
    let (data, ts) = data_set(bytes)?;
    let explicit = match ts.as_str() {
        uids::EXPLICIT_VR_LITTLE_ENDIAN => true,
        uids::IMPLICIT_VR_LITTLE_ENDIAN => false,
        _ => return None,
    };
    let at = top_level_offset(data, (0x7FE0, 0x0010), explicit, false)?;
    let (_, header, len, _) = element_header(data, at, explicit, false)?;
    if len == u32::MAX {
        return None;
    }
    data.get(at + header..at + header + len as usize)
}

/// A file's data set (after the File Meta group) and the transfer syntax
/// its File Meta declares; `None` without a DICM marker or a syntax.
fn data_set(bytes: &[u8]) -> Option<(&[u8], String)> {
    let body = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        &bytes[128..]
    } else if bytes.starts_with(b"DICM") {
        bytes
    } else {
        return None;
    };
    let data = skip_meta_group(body)?;
    let meta = &body[4..body.len() - data.len()];
    Some((data, meta_transfer_syntax(meta)?))
}

fn read_u16(data: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let b: [u8; 2] = data.get(at..at + 2)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// (tag, header length, value length) of the element at `at`.
fn element_header(
    data: &[u8],
    at: usize,
    explicit: bool,
    big_endian: bool,
) -> Option<((u16, u16), usize, u32, bool)> {
    let tag = (
        read_u16(data, at, big_endian)?,
        read_u16(data, at + 2, big_endian)?,
    );
    if tag.0 == 0xFFFE {
        return Some((tag, 8, read_u32(data, at + 4, big_endian)?, false));
    }
    if explicit {
        let vr = data.get(at + 4..at + 6)?;
        let long = has_long_length(vr);
        if long {
            Some((tag, 12, read_u32(data, at + 8, big_endian)?, vr == b"SQ"))
        } else {
            Some((
                tag,
                8,
                u32::from(read_u16(data, at + 6, big_endian)?),
                false,
            ))
        }
    } else {
        // Implicit VR: an undefined length outside Pixel Data is a sequence.
        let len = read_u32(data, at + 4, big_endian)?;
        Some((tag, 8, len, len == u32::MAX && tag != (0x7FE0, 0x0010)))
    }
}

/// Offset of the first element `wanted` at the top level of `data`
/// (sequences skipped, nested ones of undefined length by depth).
fn top_level_offset(
    data: &[u8],
    wanted: (u16, u16),
    explicit: bool,
    big_endian: bool,
) -> Option<usize> {
    let mut at = 0;
    let mut depth = 0usize;
    while at + 8 <= data.len() {
        let (tag, header, len, sequence) = element_header(data, at, explicit, big_endian)?;
        if depth == 0 && tag == wanted {
            return Some(at);
        }
        match tag {
            (0xFFFE, 0xE0DD) | (0xFFFE, 0xE00D) => {
                depth = depth.checked_sub(1)?;
                at += 8;
            }
            (0xFFFE, 0xE000) if len == u32::MAX => {
                depth += 1;
                at += 8;
            }
            _ if len == u32::MAX && sequence => {
                depth += 1;
                at += header;
            }
            // An undefined length that is not a sequence: encapsulated
            // pixel data nested in a sequence (an icon); skip its fragments.
            _ if len == u32::MAX => {
                at = element_end(data, at, explicit, big_endian)?;
            }
            _ => at = at.checked_add(header)?.checked_add(len as usize)?,
        }
    }
    None
}

/// End of the element at `at`: after its value, or after the sequence
/// delimiter of encapsulated pixel data.
fn element_end(data: &[u8], at: usize, explicit: bool, big_endian: bool) -> Option<usize> {
    let (_, header, len, _) = element_header(data, at, explicit, big_endian)?;
    if len != u32::MAX {
        return at.checked_add(header)?.checked_add(len as usize);
    }
    // Fragments: items of defined length up to the sequence delimiter.
    let mut at = at + header;
    while at + 8 <= data.len() {
        let tag = (
            read_u16(data, at, big_endian)?,
            read_u16(data, at + 2, big_endian)?,
        );
        let len = read_u32(data, at + 4, big_endian)?;
        at += 8;
        if tag == (0xFFFE, 0xE0DD) {
            return Some(at);
        }
        at = at.checked_add(len as usize)?;
    }
    Some(data.len())
}

/// Bytes of a file's start that [`could_be_dicom`] needs.
pub const DICOM_HEAD_BYTES: usize = 132;

/// Whether a file starting with `head` (its first [`DICOM_HEAD_BYTES`], or
/// all of it if shorter) may be DICOM: a DICM marker, or a first element laid
/// out as in a data set without File Meta. Files that fail this are skipped
/// by [`parse`] anyway; knowing it from the head lets the web app skip
/// reading the rest of a large non-DICOM file (a CD's viewer program, a
/// video) into memory.
pub fn could_be_dicom(head: &[u8]) -> bool {
    (head.len() >= 132 && &head[128..132] == b"DICM")
        || head.starts_with(b"DICM")
        || meta_free_syntax(head).is_some()
}

/// The transfer syntax of a data set without File Meta, inferred from the
/// first element's layout (as DCMTK and pydicom do); `None` when it does
/// not look like a data set.
fn meta_free_syntax(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 8 {
        return None;
    }
    let group_le = u16::from_le_bytes([bytes[0], bytes[1]]);
    let group_be = u16::from_be_bytes([bytes[0], bytes[1]]);
    let explicit = VRS.iter().any(|vr| &bytes[4..6] == *vr);
    let plausible = |g: u16| g.is_multiple_of(2) && (0x0002..=0x0028).contains(&g);
    if plausible(group_le) && explicit {
        Some(uids::EXPLICIT_VR_LITTLE_ENDIAN)
    } else if plausible(group_le) {
        Some(uids::IMPLICIT_VR_LITTLE_ENDIAN)
    } else if plausible(group_be) && explicit {
        Some("1.2.840.10008.1.2.2") // Explicit VR Big Endian (retired, still met)
    } else {
        None
    }
}

/// A data set with no File Meta, read in the transfer syntax its layout
/// shows.
fn without_meta(bytes: &[u8]) -> Result<DefaultDicomObject, Problem> {
    if bytes.len() < 8 {
        return Err(Problem::NotDicom("too short".into()));
    }
    let ts_uid = meta_free_syntax(bytes)
        .ok_or_else(|| Problem::NotDicom("no DICM marker and no recognisable data set".into()))?;
    let ts = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| Problem::Parse(format!("transfer syntax {ts_uid} not registered")))?;
    walk_lengths(
        bytes,
        ts_uid != uids::IMPLICIT_VR_LITTLE_ENDIAN,
        ts_uid == "1.2.840.10008.1.2.2",
    )?;
    // Files without File Meta are small legacy exports: parse them whole.
    let dataset = InMemDicomObject::read_dataset_with_ts(bytes, ts)
        .map_err(|e| Problem::Parse(e.to_string()))?;
    let text = |tag| {
        dataset
            .get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            .unwrap_or_default()
    };
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts_uid)
        .media_storage_sop_class_uid(text(tags::SOP_CLASS_UID))
        .media_storage_sop_instance_uid(text(tags::SOP_INSTANCE_UID))
        .build()
        .map_err(|e| Problem::Parse(e.to_string()))?;
    Ok(dataset.with_exact_meta(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_files_are_not_dicom() {
        assert!(matches!(
            parse(b"# README\nThis folder holds a CT study.\n", Depth::Headers),
            Err(Problem::NotDicom(_))
        ));
        assert!(matches!(parse(b"", Depth::Full), Err(Problem::NotDicom(_))));
        // .DS_Store starts with 00 00 00 01 "Bud1".
        let ds_store = b"\0\0\0\x01Bud1\0\0\x10\0\0\0\x08\0\0\0\x10\0";
        assert!(matches!(
            parse(ds_store, Depth::Headers),
            Err(Problem::NotDicom(_))
        ));
        assert!(!could_be_dicom(ds_store));
    }

    #[test]
    fn large_non_dicom_files_are_known_from_their_head() {
        let npy = b"\x93NUMPY\x01\0v\0{'descr': '<i2', 'fortran_order': False, 'shape': (300, 512, 512), }";
        let zip = b"PK\x03\x04\x14\0\0\0\x08\0";
        let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0";
        for head in [&npy[..], zip, exe, b"%PDF-1.7\n%", b""] {
            assert!(!could_be_dicom(head), "{head:?}");
        }
        let mut part10 = vec![0u8; 128];
        part10.extend_from_slice(b"DICM\x02\0\x01\0OB");
        assert!(could_be_dicom(&part10));
        // Implicit VR data set with no File Meta: (0008,0005) first.
        assert!(could_be_dicom(b"\x08\0\x05\0\x0a\0\0\0ISO_IR 100"));
    }

    /// The head check never turns away a file the parser reads: every real
    /// fixture that parses also passes it on its first bytes alone.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn every_parsable_fixture_passes_the_head_check() {
        use crate::source::Source;
        let root = crate::fixtures_root();
        let (mut parsed, mut refused) = (0, 0);
        for file in crate::files_under(&root).unwrap() {
            let bytes = file.bytes().unwrap();
            let head = &bytes[..bytes.len().min(DICOM_HEAD_BYTES)];
            if parse(&bytes, Depth::Headers).is_ok() {
                parsed += 1;
                assert!(
                    could_be_dicom(head),
                    "{} parses but fails the head check",
                    file.name()
                );
            } else if !could_be_dicom(head) {
                refused += 1;
            }
        }
        eprintln!("{parsed} fixtures parse and pass; {refused} others refused by their head");
        assert!(
            parsed > 100 && refused > 0,
            "{parsed} parsed, {refused} refused"
        );
    }
}
