//! The segments of a cached volume, as kept on this computer: one label
//! per voxel (run-length coded: a labelmap is mostly empty, and coding it
//! costs one pass) and each segment's vocabulary name or number, colour and
//! visibility. A name the user typed cannot be stored: [`StoredName`] has
//! no variant for text.

use serde::{Deserialize, Serialize};

use insitu_segment::{Anatomy, Labelmap, Segment, SegmentName, SegmentTable};

use crate::StoreError;
use crate::record::{SCHEMA_VERSION, checksum};

/// A segment's name as stored: from the vocabulary, or its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredName {
    /// A structure of the vocabulary.
    Anatomy(Anatomy),
    /// "Segment N".
    Numbered(u32),
}

/// A segment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSegment {
    /// Its label value.
    pub label: u8,
    /// Its name (never typed text).
    pub name: StoredName,
    /// Its colour (sRGB).
    pub color: [u8; 3],
    /// Shown.
    pub visible: bool,
}

/// The segments of a cached volume (keyed by the volume's key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentsRecord {
    /// [`SCHEMA_VERSION`] when written.
    pub schema: u32,
    /// The labelmap's grid (the volume's).
    pub dims: [u32; 3],
    /// Every segment.
    pub segments: Vec<StoredSegment>,
    /// Bytes of the run-length coded labels.
    pub coded_bytes: usize,
    /// XXH3-128 (hex) of the coded labels.
    pub hash: String,
    /// When it was written (ms since 1970).
    pub cached_at_ms: f64,
    /// The measurements drawn on the volume: numbers and fixed kinds
    /// only (none holds text).
    #[serde(default)]
    pub measurements: Vec<insitu_measure::Shape>,
    /// How the spine report of these segments was read, where they are a
    /// spine analysis's vertebrae: numbers and fixed kinds only (no name:
    /// each follows from its label), from which a reopened study measures
    /// the report again.
    #[serde(default)]
    pub spine: Option<insitu_spine::SpineReading>,
}

impl SegmentsRecord {
    /// The record and coded labels of a workbench's labelmap and table;
    /// a typed name is stored as the segment's number.
    pub fn of(map: &Labelmap, table: &SegmentTable, now_ms: f64) -> (Self, Vec<u8>) {
        let coded = encode_runs(map.labels());
        let segments = table
            .segments()
            .iter()
            .map(|s| StoredSegment {
                label: s.label,
                name: match s.name {
                    SegmentName::Anatomy(a) => StoredName::Anatomy(a),
                    SegmentName::Numbered(n) => StoredName::Numbered(n),
                    SegmentName::Typed(_) => StoredName::Numbered(u32::from(s.label)),
                },
                color: s.color,
                visible: s.visible,
            })
            .collect();
        let record = Self {
            schema: SCHEMA_VERSION,
            dims: map.dims(),
            segments,
            coded_bytes: coded.len(),
            hash: checksum(&[&coded]),
            cached_at_ms: now_ms,
            measurements: Vec::new(),
            spine: None,
        };
        (record, coded)
    }

    /// The labelmap and table back, after checking the schema, the
    /// checksum and that the labels fill the grid exactly.
    pub fn restore(&self, coded: &[u8]) -> Result<(Labelmap, SegmentTable), StoreError> {
        if self.schema != SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "segments schema {}",
                self.schema
            )));
        }
        if coded.len() != self.coded_bytes || checksum(&[coded]) != self.hash {
            return Err(StoreError::Corrupt("segments checksum mismatch".into()));
        }
        let count = self.dims.iter().map(|&d| d as usize).product();
        let labels = decode_runs(coded, count)
            .ok_or_else(|| StoreError::Corrupt("segment labels do not fill the grid".into()))?;
        let map = Labelmap::from_labels(self.dims, labels)
            .ok_or_else(|| StoreError::Corrupt("segment labels do not fill the grid".into()))?;
        let mut table = SegmentTable::default();
        for s in &self.segments {
            let name = match s.name {
                StoredName::Anatomy(a) => SegmentName::Anatomy(a),
                StoredName::Numbered(n) => SegmentName::Numbered(n),
            };
            table.insert(Segment {
                label: s.label,
                name,
                color: s.color,
                visible: s.visible,
            });
        }
        Ok((map, table))
    }
}

/// Runs of equal labels as (label, length as LEB128) pairs.
pub fn encode_runs(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = labels;
    while let Some(&value) = rest.first() {
        let len = rest.iter().position(|&l| l != value).unwrap_or(rest.len());
        out.push(value);
        let mut n = len as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        rest = &rest[len..];
    }
    out
}

/// The labels of [`encode_runs`]; `None` unless they are exactly `count`.
pub fn decode_runs(coded: &[u8], count: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(count);
    let mut bytes = coded.iter();
    while let Some(&value) = bytes.next() {
        let mut len = 0u64;
        let mut shift = 0;
        loop {
            let byte = *bytes.next()?;
            len |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
            if shift > 56 {
                return None;
            }
        }
        let len = usize::try_from(len).ok()?;
        if out.len() + len > count {
            return None;
        }
        out.resize(out.len() + len, value);
    }
    (out.len() == count).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spine reading rides with the segments and comes back; a record
    /// written before readings were kept reads with none.
    #[test]
    fn a_spine_reading_comes_back_and_older_records_read_without_one() {
        let map = Labelmap::from_labels([4; 3], vec![20; 64]).unwrap();
        let mut table = SegmentTable::default();
        table.add(Some(Anatomy::L1)).unwrap();
        let (mut record, _) = SegmentsRecord::of(&map, &table, 1.0);
        let older = serde_json::to_value(&record).unwrap();
        let reading = insitu_spine::SpineReading {
            levels: insitu_spine::LevelDecision {
                anchor: insitu_spine::Anchor::Sacrum,
                confidence: 0.8,
                seen: vec![(insitu_spine::Anchor::Sacrum, 19)],
            },
            discs: vec![([0.0, 1.0, 2.0], [0.0, 0.0, 1.0])],
            bone_hu: 125.0,
            noise_hu: Some(12.5),
            read_mm: [1.5, 1.5, 1.0],
            averaged_for_noise: false,
            marrow_hu: Some(80.0),
            anterior: [0.0, -1.0, 0.0],
            vertebrae: vec![insitu_spine::VertebraReading {
                label: 20,
                ribs: false,
                canal_ap_mm: Some(17.5),
                carried: vec![insitu_spine::Flag::FaintDisc],
                lines_by_hand: None,
            }],
        };
        record.spine = Some(reading.clone());
        let json = serde_json::to_string(&record).unwrap();
        let back: SegmentsRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.spine, Some(reading));
        let mut older = older;
        older.as_object_mut().unwrap().remove("spine");
        let back: SegmentsRecord = serde_json::from_value(older).unwrap();
        assert_eq!(back.spine, None);
    }

    #[test]
    fn labels_and_names_come_back_but_typed_text_is_never_stored() {
        let mut labels = vec![0u8; 64 * 64 * 64];
        labels[1000..90_000].fill(1);
        labels[100_000] = 2;
        labels[200_000..200_300].fill(2);
        let map = Labelmap::from_labels([64; 3], labels).unwrap();
        let mut table = SegmentTable::default();
        table.add(Some(Anatomy::L2)).unwrap();
        table.add(None).unwrap();
        table.get_mut(2).unwrap().name = SegmentName::Typed("Jane Doe 1956-02-03".into());
        table.get_mut(2).unwrap().visible = false;
        let (record, coded) = SegmentsRecord::of(&map, &table, 1.0);
        assert!(coded.len() < 40, "{} bytes", coded.len());
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("Jane") && !json.contains("1956"), "{json}");
        let (back, back_table) = record.restore(&coded).unwrap();
        assert_eq!(back, map);
        assert_eq!(
            back_table.get(1).unwrap().name,
            SegmentName::Anatomy(Anatomy::L2)
        );
        assert_eq!(back_table.get(2).unwrap().name, SegmentName::Numbered(2));
        assert!(!back_table.get(2).unwrap().visible);
    }

    #[test]
    fn damage_is_caught() {
        let map =
            Labelmap::from_labels([4, 4, 4], (0..64).map(|n| (n % 3) as u8).collect()).unwrap();
        let (record, mut coded) = SegmentsRecord::of(&map, &SegmentTable::default(), 0.0);
        coded[3] ^= 1;
        assert!(record.restore(&coded).unwrap_err().is_damage());
        assert_eq!(decode_runs(&[5, 10], 9), None, "too many");
        assert_eq!(decode_runs(&[5, 3], 9), None, "too few");
        assert_eq!(decode_runs(&[5], 1), None, "cut short");
        assert_eq!(decode_runs(&[5, 0x81, 0x01], 129), Some(vec![5; 129]));
    }
}
