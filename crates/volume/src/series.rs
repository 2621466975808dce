//! Frames → series: group, split, sort along the slice normal, measure
//! spacing, and say plainly what is odd about the stack.

use std::collections::BTreeMap;
use std::fmt;

use glam::{DVec3, UVec3};
use serde::{Deserialize, Serialize};

use crate::header::{FrameHeader, ImageHeader, Rescale};
use crate::{FileError, Geometry};

/// Something about a series the user must know; the volume is still built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// Slices are sheared: the stack direction is not the slice normal.
    GantryTilt {
        /// Angle between stacking direction and slice normal.
        degrees: f64,
    },
    /// Distances between neighbouring slices differ.
    NonUniformSpacing {
        /// Smallest distance (mm).
        min_mm: f64,
        /// Largest distance (mm).
        max_mm: f64,
    },
    /// A distance is a multiple of the usual one: slices are missing.
    MissingSlices {
        /// Index of the slice before the gap (in stacking order).
        after_slice: usize,
        /// Estimated number of slices missing there.
        missing: usize,
    },
    /// Several images share one position; only the first is kept.
    DuplicatePositions {
        /// Images dropped.
        dropped: usize,
    },
    /// Slices carry different rescale slope/intercept (each is applied).
    MixedRescale {
        /// Number of distinct (slope, intercept) pairs.
        distinct: usize,
    },
    /// The DICOM series also holds images of another size or orientation
    /// (localizer, summary page); they are listed as separate stacks.
    SplitSeries {
        /// Number of stacks the series was split into.
        stacks: usize,
    },
    /// No usable ImagePositionPatient/Orientation: stacked by InstanceNumber
    /// with an assumed slice distance.
    NoGeometry {
        /// Slice distance used (mm).
        assumed_mm: f64,
    },
    /// PixelSpacing absent: 1 mm assumed in-plane.
    NoPixelSpacing,
    /// MONOCHROME1 data without physical units was inverted.
    Monochrome1Inverted,
    /// Read smaller to fit the memory a volume may take, as the user chose.
    Reduced {
        /// Every this many slices kept.
        slice_step: u32,
        /// Pixels averaged along each in-plane axis.
        block: u32,
    },
    /// One slice could not be read; it is filled with background.
    SliceFailed {
        /// Index of the slice in stacking order.
        slice: usize,
        /// The file and the problem.
        error: FileError,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::GantryTilt { degrees } => write!(
                f,
                "gantry tilt {degrees:.1}° (volume kept as acquired, sheared)"
            ),
            Warning::NonUniformSpacing { min_mm, max_mm } => {
                write!(
                    f,
                    "non-uniform slice spacing {min_mm:.2}–{max_mm:.2} mm (true slice positions kept)"
                )
            }
            Warning::MissingSlices {
                after_slice,
                missing,
            } => {
                write!(
                    f,
                    "about {missing} slice(s) missing after slice {after_slice}"
                )
            }
            Warning::DuplicatePositions { dropped } => {
                write!(f, "{dropped} image(s) at duplicate positions dropped")
            }
            Warning::MixedRescale { distinct } => {
                write!(f, "{distinct} different rescale slope/intercept pairs")
            }
            Warning::SplitSeries { stacks } => {
                write!(
                    f,
                    "series split into {stacks} stacks by image size/orientation"
                )
            }
            Warning::NoGeometry { assumed_mm } => {
                write!(
                    f,
                    "no slice positions: stacked by instance number, {assumed_mm} mm apart"
                )
            }
            Warning::NoPixelSpacing => write!(f, "no pixel spacing: 1 mm assumed"),
            Warning::Monochrome1Inverted => write!(f, "MONOCHROME1 values inverted"),
            Warning::Reduced { slice_step, block } => {
                let slices = match slice_step {
                    1 => "every slice".to_owned(),
                    2 => "every second slice".to_owned(),
                    n => format!("every {n}th slice"),
                };
                let pixels = match block {
                    1 => "full in-plane resolution".to_owned(),
                    b => format!("{b}×{b} pixel blocks averaged"),
                };
                write!(f, "read reduced to fit memory: {slices}, {pixels}")
            }
            Warning::SliceFailed { slice, error } => {
                write!(f, "slice {slice} unreadable, left blank: {error}")
            }
        }
    }
}

/// What the user sees about one series before loading it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesInfo {
    /// Position in the scan's list (0-based).
    pub index: usize,
    /// Modality (CT, MR, …).
    pub modality: String,
    /// SeriesDescription (display only; never persisted).
    pub description: String,
    /// SeriesNumber.
    pub series_number: Option<i32>,
    /// Columns, rows, slices.
    pub dims: [u32; 3],
    /// Voxel spacing (mm): in-plane and mean slice distance.
    pub spacing_mm: [f64; 3],
    /// Shear of the stack (0 for an ordinary one).
    pub tilt_degrees: f64,
    /// Everything odd about it.
    pub warnings: Vec<Warning>,
    /// Files contributing.
    pub files: usize,
    /// Transfer syntaxes present (names).
    pub transfer_syntaxes: Vec<String>,
}

/// One slice of the volume: which file and frame it comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SliceRef {
    /// Index into the scan's header list.
    pub header: usize,
    /// Frame within that file.
    pub frame: u32,
    /// Its rescale.
    pub rescale: Rescale,
}

/// A series ready to be built: its slices in stacking order and geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPlan {
    /// Display facts and warnings.
    pub info: SeriesInfo,
    /// Grid placement in patient space.
    pub geometry: Geometry,
    /// True slice offsets (mm along the stacking direction) when spacing is
    /// not uniform; `None` when the grid's k step is exact.
    pub slice_offsets_mm: Option<Vec<f64>>,
    pub(crate) slices: Vec<SliceRef>,
    pub(crate) padding_output: f32,
    pub(crate) invert: bool,
    /// Pixels averaged into one along i and j (1 unless read reduced).
    pub(crate) block: u32,
    /// Columns and rows of the files' frames.
    pub(crate) input_dims: [u32; 2],
}

/// How a series' stored values become output values beyond the rescale:
/// decided here for a series from its first slice, and by the browser's
/// decode-while-scanning from each file, which must agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Output {
    /// Value of padded (and unreadable) samples: air for CT, else the
    /// rescale's zero.
    pub padding_output: f32,
    /// MONOCHROME1 without physical units (not CT) is inverted.
    pub invert: bool,
}

impl Output {
    /// The output of a series whose first image is `header` with `rescale`.
    pub(crate) fn of(header: &ImageHeader, rescale: crate::header::Rescale) -> Self {
        let is_ct = crate::Modality::from_code(&header.modality) == crate::Modality::Ct;
        Self {
            padding_output: if is_ct {
                -1024.0
            } else {
                rescale.intercept as f32
            },
            invert: header.pixel.monochrome1 && !is_ct,
        }
    }
}

type Key = (String, u32, u32, Option<[i64; 6]>);

fn orientation_key(f: &FrameHeader) -> Option<[i64; 6]> {
    f.orientation.map(|[r, c]| {
        let q = |x: f64| (x * 1e3).round() as i64;
        [q(r.x), q(r.y), q(r.z), q(c.x), q(c.y), q(c.z)]
    })
}

/// Groups every frame of every header into series plans, sorted by series
/// number then first appearance.
pub(crate) fn plan(headers: &[(usize, ImageHeader)]) -> Vec<SeriesPlan> {
    let mut groups: BTreeMap<Key, Vec<(usize, u32)>> = BTreeMap::new();
    let mut first_seen: Vec<Key> = Vec::new();
    for (h, (_, header)) in headers.iter().enumerate() {
        for (f, frame) in header.frames.iter().enumerate() {
            let key = (
                header.series_uid.clone(),
                header.rows,
                header.cols,
                orientation_key(frame),
            );
            let entry = groups.entry(key.clone()).or_default();
            if entry.is_empty() {
                first_seen.push(key);
            }
            entry.push((h, f as u32));
        }
    }
    let mut stacks_per_uid: BTreeMap<&str, usize> = BTreeMap::new();
    for key in &first_seen {
        *stacks_per_uid.entry(key.0.as_str()).or_default() += 1;
    }
    let mut plans: Vec<SeriesPlan> = first_seen
        .iter()
        .map(|key| {
            let stacks = stacks_per_uid[key.0.as_str()];
            plan_stack(headers, &groups[key], stacks)
        })
        .collect();
    plans.sort_by_key(|p| p.info.series_number.unwrap_or(i32::MAX));
    for (i, p) in plans.iter_mut().enumerate() {
        p.info.index = i;
    }
    plans
}

fn plan_stack(
    headers: &[(usize, ImageHeader)],
    members: &[(usize, u32)],
    stacks: usize,
) -> SeriesPlan {
    let first = &headers[members[0].0].1;
    let frame_of = |&(h, f): &(usize, u32)| headers[h].1.frames[f as usize];
    let mut warnings = Vec::new();
    if stacks > 1 {
        warnings.push(Warning::SplitSeries { stacks });
    }
    let orientation = frame_of(&members[0]).orientation;
    let located = orientation.is_some() && members.iter().all(|m| frame_of(m).position.is_some());
    let [row_dir, col_dir] = orientation.unwrap_or([DVec3::X, DVec3::Y]);
    let normal = row_dir.cross(col_dir).normalize();
    let instance = |&(h, _): &(usize, u32)| headers[h].1.instance_number.unwrap_or(i32::MAX);

    let mut ordered: Vec<(usize, u32)> = members.to_vec();
    let mut projections = Vec::new();
    if located {
        ordered.sort_by(|a, b| {
            let pa = frame_of(a).position.unwrap().dot(normal);
            let pb = frame_of(b).position.unwrap().dot(normal);
            pa.total_cmp(&pb)
                .then(instance(a).cmp(&instance(b)))
                .then(a.cmp(b))
        });
        let before = ordered.len();
        ordered.dedup_by(|later, earlier| {
            (frame_of(later).position.unwrap() - frame_of(earlier).position.unwrap()).length()
                < 1e-3
        });
        if ordered.len() < before {
            warnings.push(Warning::DuplicatePositions {
                dropped: before - ordered.len(),
            });
        }
        projections = ordered
            .iter()
            .map(|m| frame_of(m).position.unwrap().dot(normal))
            .collect();
    } else {
        ordered.sort_by(|a, b| instance(a).cmp(&instance(b)).then(a.cmp(b)));
    }

    let n = ordered.len();
    let pixel_spacing = frame_of(&ordered[0]).pixel_spacing;
    if pixel_spacing.is_none() {
        warnings.push(Warning::NoPixelSpacing);
    }
    let [row_spacing, col_spacing] = pixel_spacing.unwrap_or([1.0, 1.0]);
    let fallback_spacing = first
        .spacing_between_slices
        .or(first.slice_thickness)
        .unwrap_or(1.0);

    let mut slice_offsets = None;
    let mut tilt = 0.0;
    let (origin, k_step) = if located {
        let p0 = frame_of(&ordered[0]).position.unwrap();
        if n > 1 {
            let p_last = frame_of(&ordered[n - 1]).position.unwrap();
            let stack = p_last - p0;
            tilt = stack
                .normalize()
                .dot(normal)
                .clamp(-1.0, 1.0)
                .acos()
                .to_degrees();
            if tilt > 0.05 {
                warnings.push(Warning::GantryTilt { degrees: tilt });
            } else {
                tilt = 0.0;
            }
            let gaps: Vec<f64> = projections.windows(2).map(|w| w[1] - w[0]).collect();
            let min = gaps.iter().copied().fold(f64::INFINITY, f64::min);
            let max = gaps.iter().copied().fold(0.0, f64::max);
            let mut sorted = gaps.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted[sorted.len() / 2];
            if max - min > (0.01 * median).max(0.01) {
                warnings.push(Warning::NonUniformSpacing {
                    min_mm: min,
                    max_mm: max,
                });
                let direction = stack.normalize();
                slice_offsets = Some(
                    ordered
                        .iter()
                        .map(|m| (frame_of(m).position.unwrap() - p0).dot(direction))
                        .collect(),
                );
                // A few isolated gaps of about a whole multiple of the usual
                // distance are missing slices; many large gaps are a protocol
                // with varying spacing (already reported above).
                let large: Vec<(usize, f64)> = gaps
                    .iter()
                    .copied()
                    .enumerate()
                    .filter(|(_, gap)| *gap > 1.5 * median)
                    .collect();
                if large.len() <= (gaps.len() / 10).max(1) {
                    for (i, gap) in large {
                        let ratio = gap / median;
                        if (ratio - ratio.round()).abs() < 0.2 {
                            warnings.push(Warning::MissingSlices {
                                after_slice: i,
                                missing: ratio.round() as usize - 1,
                            });
                        }
                    }
                }
            }
            (p0, stack / (n - 1) as f64)
        } else {
            (p0, normal * fallback_spacing)
        }
    } else {
        if n > 1 {
            warnings.push(Warning::NoGeometry {
                assumed_mm: fallback_spacing,
            });
        }
        let p0 = frame_of(&ordered[0]).position.unwrap_or(DVec3::ZERO);
        (p0, normal * fallback_spacing)
    };

    let dims = UVec3::new(first.cols, first.rows, n as u32);
    let steps = [row_dir * col_spacing, col_dir * row_spacing, k_step];
    let geometry = Geometry::new(dims, steps, origin).unwrap_or_else(|_| {
        warnings.push(Warning::NoGeometry {
            assumed_mm: fallback_spacing,
        });
        Geometry::axis_aligned(
            dims,
            glam::DVec3::new(col_spacing, row_spacing, fallback_spacing),
            DVec3::ZERO,
        )
        .expect("positive spacing and non-empty dims")
    });

    let slices: Vec<SliceRef> = ordered
        .iter()
        .map(|m| SliceRef {
            header: m.0,
            frame: m.1,
            rescale: frame_of(m).rescale,
        })
        .collect();
    let mut rescales: Vec<(u64, u64)> = slices
        .iter()
        .map(|s| (s.rescale.slope.to_bits(), s.rescale.intercept.to_bits()))
        .collect();
    rescales.sort_unstable();
    rescales.dedup();
    if rescales.len() > 1 {
        warnings.push(Warning::MixedRescale {
            distinct: rescales.len(),
        });
    }
    let Output {
        padding_output,
        invert,
    } = Output::of(first, slices[0].rescale);
    if invert {
        warnings.push(Warning::Monochrome1Inverted);
    }
    let mut files: Vec<usize> = slices.iter().map(|s| headers[s.header].0).collect();
    files.sort_unstable();
    files.dedup();
    let mut syntaxes: Vec<String> = slices
        .iter()
        .map(|s| crate::transfer_syntax::name_of(&headers[s.header].1.transfer_syntax))
        .collect();
    syntaxes.sort();
    syntaxes.dedup();
    let spacing = geometry.spacing();
    SeriesPlan {
        info: SeriesInfo {
            index: 0,
            modality: first.modality.clone(),
            description: first.description.clone(),
            series_number: first.series_number,
            dims: dims.to_array(),
            spacing_mm: [spacing.x, spacing.y, spacing.z],
            tilt_degrees: tilt,
            warnings,
            files: files.len(),
            transfer_syntaxes: syntaxes,
        },
        geometry,
        slice_offsets_mm: slice_offsets,
        padding_output,
        invert,
        slices,
        block: 1,
        input_dims: [dims.x, dims.y],
    }
}
