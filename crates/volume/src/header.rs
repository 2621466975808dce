//! The per-file facts that grouping, sorting and decoding need.

use dicom_dictionary_std::{tags, uids};
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use glam::DVec3;

use crate::error::Problem;
use dicom_core::{Tag, header::HasLength};

/// Rescale from stored values to output units (HU for CT).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rescale {
    /// RescaleSlope.
    pub slope: f64,
    /// RescaleIntercept.
    pub intercept: f64,
}

impl Rescale {
    /// Stored values pass through unchanged.
    pub const IDENTITY: Self = Self {
        slope: 1.0,
        intercept: 0.0,
    };

    /// Integer slope and intercept: results are exact integers.
    pub fn is_integral(&self) -> bool {
        self.slope.fract() == 0.0 && self.intercept.fract() == 0.0
    }
}

/// How stored samples are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelFormat {
    /// 8 or 16.
    pub bits_allocated: u16,
    /// Meaningful bits per sample.
    pub bits_stored: u16,
    /// Most significant stored bit.
    pub high_bit: u16,
    /// Two's complement samples.
    pub signed: bool,
    /// Minimum value displays white; inverted for non-HU data.
    pub monochrome1: bool,
}

/// Where one frame lies and how its values convert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameHeader {
    /// ImagePositionPatient of the first transmitted pixel (mm, LPS).
    pub position: Option<DVec3>,
    /// Row and column direction cosines (ImageOrientationPatient).
    pub orientation: Option<[DVec3; 2]>,
    /// Spacing between rows, between columns (mm).
    pub pixel_spacing: Option<[f64; 2]>,
    /// Stored → output value conversion.
    pub rescale: Rescale,
}

/// What loading needs from one DICOM image file. Holds the series UID for
/// grouping (in memory only) and nothing else that identifies anyone.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageHeader {
    /// SeriesInstanceUID, the grouping key (never persisted).
    pub series_uid: String,
    /// SeriesNumber, for display.
    pub series_number: Option<i32>,
    /// Modality (CT, MR, …).
    pub modality: String,
    /// SeriesDescription, for display.
    pub description: String,
    /// InstanceNumber, a tie-breaker only.
    pub instance_number: Option<i32>,
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
    /// SliceThickness, a fallback spacing for single slices.
    pub slice_thickness: Option<f64>,
    /// SpacingBetweenSlices, a fallback spacing when positions are absent.
    pub spacing_between_slices: Option<f64>,
    /// Sample layout.
    pub pixel: PixelFormat,
    /// PixelPaddingValue as a stored value.
    pub padding: Option<i32>,
    /// Transfer syntax UID.
    pub transfer_syntax: String,
    /// One entry per frame (one for single-frame images).
    pub frames: Vec<FrameHeader>,
}

fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_owned())
}

fn numbers(
    obj: &InMemDicomObject,
    tag: Tag,
    keyword: &'static str,
) -> Result<Option<Vec<f64>>, Problem> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.is_empty() => Ok(None),
        Some(e) => e
            .to_multi_float64()
            .map(Some)
            .map_err(|err| Problem::BadValue {
                tag: keyword.into(),
                why: err.to_string(),
            }),
    }
}

fn integer(
    obj: &InMemDicomObject,
    tag: Tag,
    keyword: &'static str,
) -> Result<Option<i64>, Problem> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.is_empty() => Ok(None),
        Some(e) => e
            .to_int::<i64>()
            .map(Some)
            .map_err(|err| Problem::BadValue {
                tag: keyword.into(),
                why: err.to_string(),
            }),
    }
}

fn required_u16(obj: &InMemDicomObject, tag: Tag, keyword: &'static str) -> Result<u16, Problem> {
    let v = integer(obj, tag, keyword)?.ok_or(Problem::MissingTag(keyword.into()))?;
    u16::try_from(v).map_err(|_| Problem::BadValue {
        tag: keyword.into(),
        why: format!("{v} out of range"),
    })
}

fn vec3(values: &[f64]) -> DVec3 {
    DVec3::new(values[0], values[1], values[2])
}

fn position(obj: &InMemDicomObject) -> Result<Option<DVec3>, Problem> {
    match numbers(obj, tags::IMAGE_POSITION_PATIENT, "ImagePositionPatient")? {
        None => Ok(None),
        Some(v) if v.len() == 3 && v.iter().all(|x| x.is_finite()) => Ok(Some(vec3(&v))),
        Some(v) => Err(Problem::BadValue {
            tag: "ImagePositionPatient".into(),
            why: format!("{} values, 3 finite expected", v.len()),
        }),
    }
}

fn orientation(obj: &InMemDicomObject) -> Result<Option<[DVec3; 2]>, Problem> {
    match numbers(
        obj,
        tags::IMAGE_ORIENTATION_PATIENT,
        "ImageOrientationPatient",
    )? {
        None => Ok(None),
        Some(v) if v.len() == 6 && v.iter().all(|x| x.is_finite()) => {
            let (row, col) = (vec3(&v[..3]), vec3(&v[3..]));
            if row.length() < 0.5
                || col.length() < 0.5
                || row.normalize().cross(col.normalize()).length() < 0.5
            {
                return Err(Problem::BadValue {
                    tag: "ImageOrientationPatient".into(),
                    why: "row and column directions are degenerate".into(),
                });
            }
            Ok(Some([row.normalize(), col.normalize()]))
        }
        Some(v) => Err(Problem::BadValue {
            tag: "ImageOrientationPatient".into(),
            why: format!("{} values, 6 expected", v.len()),
        }),
    }
}

fn pixel_spacing(obj: &InMemDicomObject) -> Result<Option<[f64; 2]>, Problem> {
    match numbers(obj, tags::PIXEL_SPACING, "PixelSpacing")? {
        None => Ok(None),
        Some(v) if v.len() == 2 && v.iter().all(|x| x.is_finite() && *x > 0.0) => {
            Ok(Some([v[0], v[1]]))
        }
        Some(v) => Err(Problem::BadValue {
            tag: "PixelSpacing".into(),
            why: format!("{v:?} is not two positive numbers"),
        }),
    }
}

fn rescale(obj: &InMemDicomObject) -> Result<Option<Rescale>, Problem> {
    let slope = numbers(obj, tags::RESCALE_SLOPE, "RescaleSlope")?.and_then(|v| v.first().copied());
    let intercept =
        numbers(obj, tags::RESCALE_INTERCEPT, "RescaleIntercept")?.and_then(|v| v.first().copied());
    if slope.is_none() && intercept.is_none() {
        return Ok(None);
    }
    let slope = slope.unwrap_or(1.0);
    let intercept = intercept.unwrap_or(0.0);
    if !slope.is_finite() || slope == 0.0 || !intercept.is_finite() {
        return Err(Problem::BadValue {
            tag: "RescaleSlope".into(),
            why: format!("slope {slope}, intercept {intercept}"),
        });
    }
    Ok(Some(Rescale { slope, intercept }))
}

/// The single item of a functional-group sequence, if present.
fn group_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}

/// Applies the functional groups found in one (shared or per-frame) item.
fn apply_groups(groups: &InMemDicomObject, frame: &mut FrameHeader) -> Result<(), Problem> {
    if let Some(item) = group_item(groups, tags::PLANE_POSITION_SEQUENCE) {
        frame.position = position(item)?.or(frame.position);
    }
    if let Some(item) = group_item(groups, tags::PLANE_ORIENTATION_SEQUENCE) {
        frame.orientation = orientation(item)?.or(frame.orientation);
    }
    if let Some(item) = group_item(groups, tags::PIXEL_MEASURES_SEQUENCE) {
        frame.pixel_spacing = pixel_spacing(item)?.or(frame.pixel_spacing);
    }
    if let Some(item) = group_item(groups, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE) {
        frame.rescale = rescale(item)?.unwrap_or(frame.rescale);
    }
    Ok(())
}

impl ImageHeader {
    /// Reads the header of an image; `Err` says why the file is not a usable image.
    pub(crate) fn read(obj: &DefaultDicomObject) -> Result<Self, Problem> {
        let sop_class = obj
            .meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
            .to_owned();
        if sop_class == uids::MEDIA_STORAGE_DIRECTORY_STORAGE {
            return Err(Problem::DicomDir);
        }
        if obj.get(tags::ROWS).is_none() || obj.get(tags::COLUMNS).is_none() {
            let class = text(obj, tags::SOP_CLASS_UID).unwrap_or(sop_class);
            return Err(Problem::NoPixelData(class));
        }
        let rows = u32::from(required_u16(obj, tags::ROWS, "Rows")?);
        let cols = u32::from(required_u16(obj, tags::COLUMNS, "Columns")?);
        if rows == 0 || cols == 0 {
            return Err(Problem::BadValue {
                tag: "Rows".into(),
                why: format!("{rows} x {cols} image"),
            });
        }
        let samples = integer(obj, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1);
        let photometric =
            text(obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| "MONOCHROME2".into());
        if samples != 1 || !photometric.starts_with("MONOCHROME") {
            return Err(Problem::UnsupportedPixels(format!(
                "{photometric} with {samples} samples per pixel (only greyscale images form volumes)"
            )));
        }
        let bits_allocated = required_u16(obj, tags::BITS_ALLOCATED, "BitsAllocated")?;
        let bits_stored = integer(obj, tags::BITS_STORED, "BitsStored")?
            .map(|b| b as u16)
            .unwrap_or(bits_allocated);
        let high_bit = integer(obj, tags::HIGH_BIT, "HighBit")?
            .map(|b| b as u16)
            .unwrap_or(bits_stored.saturating_sub(1));
        if !matches!(bits_allocated, 8 | 16)
            || bits_stored == 0
            || bits_stored > bits_allocated
            || high_bit >= bits_allocated
            || high_bit + 1 < bits_stored
        {
            return Err(Problem::UnsupportedPixels(format!(
                "BitsAllocated {bits_allocated}, BitsStored {bits_stored}, HighBit {high_bit}"
            )));
        }
        let pixel = PixelFormat {
            bits_allocated,
            bits_stored,
            high_bit,
            signed: integer(obj, tags::PIXEL_REPRESENTATION, "PixelRepresentation")?.unwrap_or(0)
                == 1,
            monochrome1: photometric == "MONOCHROME1",
        };
        let padding = integer(obj, tags::PIXEL_PADDING_VALUE, "PixelPaddingValue")?.map(|v| {
            // US/SS ambiguity: a signed image's padding may arrive as its unsigned bit pattern.
            let v = v as i32;
            if pixel.signed && bits_allocated == 16 && v > i32::from(i16::MAX) {
                v - 65536
            } else {
                v
            }
        });
        let number_of_frames = integer(obj, tags::NUMBER_OF_FRAMES, "NumberOfFrames")?.unwrap_or(1);
        if !(1..=1_000_000).contains(&number_of_frames) {
            return Err(Problem::BadValue {
                tag: "NumberOfFrames".into(),
                why: format!("{number_of_frames}"),
            });
        }
        let base = FrameHeader {
            position: position(obj)?,
            orientation: orientation(obj)?,
            pixel_spacing: pixel_spacing(obj)?,
            rescale: rescale(obj)?.unwrap_or(Rescale::IDENTITY),
        };
        let mut shared = base;
        if let Some(groups) = group_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE) {
            apply_groups(groups, &mut shared)?;
        }
        let per_frame = obj
            .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
            .and_then(|e| e.items());
        let offsets = numbers(obj, tags::GRID_FRAME_OFFSET_VECTOR, "GridFrameOffsetVector")?;
        let mut frames = Vec::with_capacity(number_of_frames as usize);
        for k in 0..number_of_frames as usize {
            let mut frame = shared;
            if let Some(items) = per_frame {
                if let Some(item) = items.get(k) {
                    apply_groups(item, &mut frame)?;
                }
            } else if let (Some(offsets), Some(p), Some([r, c])) =
                (&offsets, base.position, base.orientation)
            {
                // RT dose and NM style: one position, offsets along the normal.
                if let Some(d) = offsets.get(k) {
                    frame.position = Some(p + r.cross(c) * *d);
                }
            } else if k > 0 {
                // Classic multi-frame without per-frame geometry: positions unknown.
                frame.position = None;
            }
            frames.push(frame);
        }
        Ok(Self {
            series_uid: text(obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
            series_number: integer(obj, tags::SERIES_NUMBER, "SeriesNumber")
                .ok()
                .flatten()
                .map(|v| v as i32),
            modality: text(obj, tags::MODALITY).unwrap_or_else(|| "OT".into()),
            description: text(obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
            instance_number: integer(obj, tags::INSTANCE_NUMBER, "InstanceNumber")
                .ok()
                .flatten()
                .map(|v| v as i32),
            rows,
            cols,
            slice_thickness: numbers(obj, tags::SLICE_THICKNESS, "SliceThickness")
                .ok()
                .flatten()
                .and_then(|v| v.first().copied())
                .filter(|v| v.is_finite() && *v > 0.0),
            spacing_between_slices: numbers(
                obj,
                tags::SPACING_BETWEEN_SLICES,
                "SpacingBetweenSlices",
            )
            .ok()
            .flatten()
            .and_then(|v| v.first().copied())
            .filter(|v| v.is_finite() && *v > 0.0),
            pixel,
            padding,
            transfer_syntax: obj
                .meta()
                .transfer_syntax()
                .trim_end_matches('\0')
                .to_owned(),
            frames,
        })
    }

    /// Bytes of one uncompressed frame.
    pub fn frame_bytes(&self) -> usize {
        self.rows as usize * self.cols as usize * usize::from(self.pixel.bits_allocated / 8)
    }
}
