//! DICOM metadata for the tag browser: everything in the header, identifiers
//! included, kept in memory only. It is a separate type from [`crate::Volume`]
//! on purpose: nothing here can reach the GPU, the cache or an export.

use dicom_core::dictionary::DataDictionary;
use dicom_core::header::Header;
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::InMemDicomObject;

use crate::error::Problem;
use crate::parse::{Depth, parse};

/// One header element, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEntry {
    /// `(gggg,eeee)`.
    pub tag: String,
    /// Dictionary keyword, or empty for private tags.
    pub keyword: String,
    /// Value representation.
    pub vr: String,
    /// Value as text (long values shortened); sequences show their item count.
    pub value: String,
    /// Nesting depth inside sequences.
    pub depth: usize,
}

/// All header elements of one file (patient identifiers included): memory only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DicomMeta {
    /// Elements in file order, sequence items flattened below their sequence.
    pub entries: Vec<TagEntry>,
}

impl DicomMeta {
    /// Value of the first element with this keyword, if any.
    pub fn value_of(&self, keyword: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.keyword == keyword)
            .map(|e| e.value.as_str())
    }
}

const MAX_VALUE_CHARS: usize = 200;

fn collect(obj: &InMemDicomObject, depth: usize, out: &mut Vec<TagEntry>) {
    for element in obj.iter() {
        let tag = element.tag();
        if tag == dicom_dictionary_std::tags::PIXEL_DATA {
            continue;
        }
        let keyword = StandardDataDictionary
            .by_tag(tag)
            .map(|e| e.alias.to_owned())
            .unwrap_or_default();
        let value = match element.items() {
            Some(items) => format!("{} item(s)", items.len()),
            None => {
                let text = element
                    .to_str()
                    .map(|s| s.into_owned())
                    .unwrap_or_else(|_| "(binary)".into());
                let mut text: String = text
                    .trim_end_matches(['\0', ' '])
                    .chars()
                    .take(MAX_VALUE_CHARS)
                    .collect();
                if text.chars().count() == MAX_VALUE_CHARS {
                    text.push('…');
                }
                text
            }
        };
        out.push(TagEntry {
            tag: format!("({:04X},{:04X})", tag.group(), tag.element()),
            keyword,
            vr: element.vr().to_string().to_owned(),
            value,
            depth,
        });
        if let Some(items) = element.items() {
            for item in items {
                collect(item, depth + 1, out);
            }
        }
    }
}

/// Reads every header element of one file for display.
pub fn read_meta(bytes: &[u8]) -> Result<DicomMeta, Problem> {
    let obj = parse(bytes, Depth::Headers)?;
    let mut entries = Vec::new();
    collect(&obj, 0, &mut entries);
    Ok(DicomMeta { entries })
}
