//! Labelmaps as files other programs read and write: `.seg.nrrd` (3D
//! Slicer's segmentation, with names and colours), a plain labelmap NRRD
//! and NIfTI (`.nii` / `.nii.gz`). Written from the segment workbench and
//! the CLI; read by the CLI (`insitu mesh --labels`) to mesh a labelmap made
//! elsewhere, after checking that it lies on the series' grid.

mod grid;
mod nifti;
mod nrrd;

use insitu_volume::Geometry;

use crate::{Labelmap, SegmentTable};

pub use grid::{GridMismatch, MismatchReason};

/// A labelmap file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelmapFormat {
    /// 3D Slicer's `.seg.nrrd`: one label per voxel, gzip, LPS, with each
    /// segment's name, colour and label value in the header.
    SegNrrd,
    /// NIfTI-1 (`.nii.gz`): labels only, RAS affine (sform and qform).
    Nifti,
}

impl LabelmapFormat {
    /// The file name ending, without a leading dot.
    pub fn extension(self) -> &'static str {
        match self {
            LabelmapFormat::SegNrrd => "seg.nrrd",
            LabelmapFormat::Nifti => "nii.gz",
        }
    }

    /// The MIME type for downloads.
    pub fn mime(self) -> &'static str {
        match self {
            LabelmapFormat::SegNrrd => "application/octet-stream",
            LabelmapFormat::Nifti => "application/gzip",
        }
    }

    /// Writes `map` on `grid`, with the segments of `table` (names and
    /// colours where the format holds them). Typed names are written: an
    /// export is the user's own file.
    pub fn to_bytes(self, map: &Labelmap, table: &SegmentTable, grid: &Geometry) -> Vec<u8> {
        match self {
            LabelmapFormat::SegNrrd => nrrd::write_seg_nrrd(map, table, grid),
            LabelmapFormat::Nifti => nifti::write(map, grid),
        }
    }
}

/// A segment described by a labelmap file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSegment {
    /// Its value in the labelmap.
    pub label: u8,
    /// Its name, where the file holds one.
    pub name: Option<String>,
    /// Its colour (sRGB), where the file holds one.
    pub color: Option<[u8; 3]>,
}

/// A labelmap as read from a file, on the file's own grid.
#[derive(Debug, Clone)]
pub struct LabelFile {
    /// Where the file's voxels sit (LPS mm, whatever the file's space).
    pub grid: Geometry,
    /// One label per voxel, x fastest.
    pub labels: Vec<u8>,
    /// The segments the file names (seg.nrrd); empty for a plain labelmap.
    pub segments: Vec<FileSegment>,
}

/// Why a labelmap file could not be used; each says what in the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LabelFileError {
    /// The name ends in none of `.seg.nrrd`, `.nrrd`, `.nii`, `.nii.gz`.
    #[error("not a labelmap file name (expected .seg.nrrd, .nrrd, .nii or .nii.gz): {0}")]
    UnknownFormat(String),
    /// The gzip stream is damaged.
    #[error("gzip data is damaged: {0}")]
    Gzip(String),
    /// A header field is missing or unreadable.
    #[error("header field `{field}`: {problem}")]
    Header {
        /// The field (NRRD key or NIfTI header field).
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The file uses something this reader does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The voxel data is shorter than the header says.
    #[error("voxel data is truncated: {expected} bytes expected, {found} found")]
    Truncated {
        /// Bytes the header implies.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A voxel holds a value no u8 label can hold.
    #[error("voxel value {0} is not a label (labels are whole numbers 0–255)")]
    NotALabel(f64),
    /// Two layers of a Slicer segmentation label the same voxel.
    #[error(
        "{0} voxels belong to two segments (overlapping layers): insitu keeps one label per voxel"
    )]
    Overlapping(usize),
    /// The file's grid is not the series' grid.
    #[error(transparent)]
    Grid(Box<GridMismatch>),
}

impl LabelFile {
    /// Reads a labelmap file; `name` picks the reader by its ending.
    pub fn read(name: &str, bytes: &[u8]) -> Result<Self, LabelFileError> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".nrrd") {
            nrrd::read(bytes)
        } else if lower.ends_with(".nii") || lower.ends_with(".nii.gz") {
            nifti::read(bytes)
        } else {
            Err(LabelFileError::UnknownFormat(name.to_owned()))
        }
    }

    /// The labels placed on `series` (the volume's grid), and a segment
    /// table: the file's names and colours where it has them, vocabulary
    /// names recognised, every other label numbered. The file's grid may be
    /// the series' own, a part of it (Slicer crops to the segments) or the
    /// same voxels in another axis order (a NIfTI flipped to RAS), never
    /// anything that would need resampling.
    pub fn on_grid(&self, series: &Geometry) -> Result<(Labelmap, SegmentTable), LabelFileError> {
        let placement = grid::place(&self.grid, series).map_err(LabelFileError::Grid)?;
        let map = placement.labelmap(&self.labels, series);
        let mut table = SegmentTable::default();
        let mut present = [false; 256];
        for &l in map.labels() {
            present[l as usize] = true;
        }
        for label in 1..=255u8 {
            let described = self.segments.iter().find(|s| s.label == label);
            if !present[label as usize] && described.is_none() {
                continue;
            }
            table.insert(segment_of(label, described));
        }
        Ok((map, table))
    }
}

/// The table entry of `label`, from the file's description if any.
fn segment_of(label: u8, described: Option<&FileSegment>) -> crate::Segment {
    use crate::{Anatomy, SegmentName};
    let name = described.and_then(|s| s.name.as_deref());
    let anatomy = name.and_then(Anatomy::from_name);
    let name = match (anatomy, name) {
        (Some(a), _) => SegmentName::Anatomy(a),
        (None, Some(text)) if !text.trim().is_empty() => SegmentName::Typed(text.trim().to_owned()),
        _ => SegmentName::Numbered(u32::from(label)),
    };
    let color = described
        .and_then(|s| s.color)
        .or(anatomy.map(Anatomy::color))
        .unwrap_or_else(|| SegmentTable::palette_color(label));
    crate::Segment {
        label,
        name,
        color,
        visible: true,
    }
}

/// Whole-number voxel values as labels.
fn to_label(value: f64) -> Result<u8, LabelFileError> {
    if value.fract() == 0.0 && (0.0..=255.0).contains(&value) {
        Ok(value as u8)
    } else {
        Err(LabelFileError::NotALabel(value))
    }
}

/// Gunzips `bytes`.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, LabelFileError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| LabelFileError::Gzip(e.to_string()))?;
    Ok(out)
}

/// Gzips `bytes` at a level that keeps a 512²×300 labelmap quick to write
/// (mostly zeros: it shrinks well at any level).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(3));
    encoder
        .write_all(bytes)
        .expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail")
}

/// Element types of voxel data, decoded to f64 for the label check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Element {
    fn size(self) -> usize {
        match self {
            Element::I8 | Element::U8 => 1,
            Element::I16 | Element::U16 => 2,
            Element::I32 | Element::U32 | Element::F32 => 4,
            Element::F64 => 8,
        }
    }

    /// Decodes `count` values to labels, applying `scale` (value × slope +
    /// intercept, NIfTI's scaling) when given.
    fn labels(
        self,
        data: &[u8],
        count: usize,
        big_endian: bool,
        scale: Option<(f64, f64)>,
    ) -> Result<Vec<u8>, LabelFileError> {
        let expected = count * self.size();
        if data.len() < expected {
            return Err(LabelFileError::Truncated {
                expected,
                found: data.len(),
            });
        }
        if self == Element::U8 && scale.is_none() {
            return Ok(data[..count].to_vec());
        }
        let read = |b: &[u8]| -> f64 {
            macro_rules! num {
                ($t:ty) => {{
                    let a = b.try_into().expect("chunk of the element's size");
                    (if big_endian {
                        <$t>::from_be_bytes(a)
                    } else {
                        <$t>::from_le_bytes(a)
                    }) as f64
                }};
            }
            match self {
                Element::I8 => f64::from(b[0] as i8),
                Element::U8 => f64::from(b[0]),
                Element::I16 => num!(i16),
                Element::U16 => num!(u16),
                Element::I32 => num!(i32),
                Element::U32 => num!(u32),
                Element::F32 => num!(f32),
                Element::F64 => num!(f64),
            }
        };
        data[..expected]
            .chunks_exact(self.size())
            .map(|b| {
                let v = read(b);
                to_label(scale.map_or(v, |(slope, inter)| v * slope + inter))
            })
            .collect()
    }
}
