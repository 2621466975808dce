//! Segments and the crop box drawn over a 2D view's pixels: each pixel
//! shows the label of the voxel nearest its centre (the same patient-space
//! mapping the reslicer uses, true slice positions included), filled with
//! the segment's colour at an opacity and outlined where the label changes;
//! outside the crop box the image is dimmed and the box's edge is drawn.

use std::ops::Range;

use insitu_volume::Volume;
use insitu_volume::reslice::{IndexMap, Plane};
use serde::{Deserialize, Serialize};

use crate::Workbench;

/// How segments are drawn over the 2D views.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OverlayStyle {
    /// Fill opacity, 0 (outline only) to 1.
    pub opacity: f32,
    /// Draw each segment's edge in its full colour.
    pub outline: bool,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            opacity: 0.4,
            outline: true,
        }
    }
}

/// The crop box's edge colour (the crosshair is blue, bone is white).
const CROP_EDGE: [u8; 3] = [255, 209, 102];
/// What is left of the image's brightness outside the crop box.
const OUTSIDE_DIM: u16 = 115;

/// What one pixel shows: its label (0: none or hidden) and whether it is
/// inside the crop box. Outside the volume: no label, outside the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Cell {
    label: u8,
    in_box: bool,
}

/// Draws the workbench over rows `rows` of a view on `plane`, whose RGBA
/// pixels are `rgba` (those rows only). Nothing is drawn when there is no
/// segment and the crop box is the whole volume.
pub fn overlay_rows(
    rgba: &mut [u8],
    plane: &Plane,
    rows: Range<usize>,
    volume: &Volume,
    bench: &Workbench,
    style: OverlayStyle,
) {
    let crop = bench.crop();
    let whole = *crop == crate::CropBox::whole(bench.labelmap().dims());
    let mut colors: [Option<[u8; 3]>; 256] = [None; 256];
    for s in bench.table().segments().iter().filter(|s| s.visible) {
        colors[s.label as usize] = Some(s.color);
    }
    if whole && colors.iter().all(Option::is_none) {
        return;
    }
    let width = plane.width as usize;
    let height = plane.height as usize;
    let map = IndexMap::new(volume);
    let labels = bench.labelmap();
    let dims = labels.dims();
    // Cells of the rows and one row either side, for the edges.
    let first = rows.start.saturating_sub(1);
    let last = (rows.end + 1).min(height);
    let mut cells = vec![Cell::default(); (last - first) * width];
    for y in first..last {
        // The index is affine along a row (but for non-uniform slices,
        // which `index_of` handles): evaluated per pixel, it stays exact.
        for x in 0..width {
            let world = plane.world_of_pixel(x as f64, y as f64);
            let ijk = map.index_of(world).round();
            let inside = ijk.min_element() >= 0.0
                && (ijk.x as u32) < dims[0]
                && (ijk.y as u32) < dims[1]
                && (ijk.z as u32) < dims[2];
            if !inside {
                continue;
            }
            let v = [ijk.x as u32, ijk.y as u32, ijk.z as u32];
            let label = labels.labels()[labels.index(v)];
            cells[(y - first) * width + x] = Cell {
                label: if colors[label as usize].is_some() {
                    label
                } else {
                    0
                },
                in_box: crop.contains(v),
            };
        }
    }
    let cell = |x: usize, y: usize| cells[(y - first) * width + x];
    let alpha = (style.opacity.clamp(0.0, 1.0) * 256.0) as u16;
    for y in rows.clone() {
        for x in 0..width {
            let here = cell(x, y);
            let neighbours = [
                (x > 0).then(|| cell(x - 1, y)),
                (x + 1 < width).then(|| cell(x + 1, y)),
                (y > first && y > 0).then(|| cell(x, y - 1)),
                (y + 1 < last).then(|| cell(x, y + 1)),
            ];
            let at = ((y - rows.start) * width + x) * 4;
            let px = &mut rgba[at..at + 3];
            if !whole {
                if !here.in_box {
                    for c in px.iter_mut() {
                        *c = (u16::from(*c) * OUTSIDE_DIM / 256) as u8;
                    }
                    continue;
                }
                if neighbours.iter().flatten().any(|n| !n.in_box) {
                    px.copy_from_slice(&CROP_EDGE);
                    continue;
                }
            }
            let Some(color) = colors[here.label as usize] else {
                continue;
            };
            let edge = style.outline && neighbours.iter().flatten().any(|n| n.label != here.label);
            for (c, s) in px.iter_mut().zip(color) {
                *c = if edge {
                    s
                } else {
                    ((u16::from(*c) * (256 - alpha) + u16::from(s) * alpha) / 256) as u8
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Edit, ValueRange};
    use glam::{DVec3, UVec3};
    use insitu_volume::reslice::ViewAxis;
    use insitu_volume::{Geometry, Voxels};

    #[test]
    fn a_segment_shows_in_its_colour_and_the_box_edge_in_yellow() {
        // 40³ of 1 mm; a bright 10³ cube at 10..20.
        let g = Geometry::axis_aligned(UVec3::splat(40), DVec3::ONE, DVec3::ZERO).unwrap();
        let mut v = vec![0i16; 64000];
        for k in 10..20 {
            for j in 10..20 {
                for i in 10..20 {
                    v[i + 40 * (j + 40 * k)] = 1000;
                }
            }
        }
        let volume = Volume::new(g, Voxels::I16(v)).unwrap();
        let mut bench = Workbench::new(&volume);
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        let range = ValueRange {
            low: 500.0,
            high: 2000.0,
        };
        bench.apply(&volume, Edit::Threshold { range }).unwrap();
        let color = bench.table().segments()[0].color;
        // An axial view through z = 15, 1 mm pixels, 40 × 40.
        let plane = Plane::fit_bounds(
            (DVec3::ZERO, DVec3::splat(39.0)),
            ViewAxis::Axial,
            DVec3::new(19.5, 19.5, 15.0),
            (40, 40),
            1.0,
            (0.0, 0.0),
        );
        let mut rgba = vec![100u8; 40 * 40 * 4];
        let style = OverlayStyle {
            opacity: 0.5,
            outline: true,
        };
        overlay_rows(&mut rgba, &plane, 0..40, &volume, &bench, style);
        let pixel_of = |rgba: &[u8], world: DVec3| {
            let (x, y) = plane.pixel_of_world(world);
            let at = (y.round() as usize * 40 + x.round() as usize) * 4;
            [rgba[at], rgba[at + 1], rgba[at + 2]]
        };
        let pixel = |world| pixel_of(&rgba, world);
        assert_eq!(
            pixel(DVec3::new(15.0, 15.0, 15.0)),
            color.map(|c| ((100 * 128 + u16::from(c) * 128) / 256) as u8)
        );
        assert_eq!(
            pixel(DVec3::new(10.0, 15.0, 15.0)),
            color,
            "the edge in full colour"
        );
        assert_eq!(
            pixel(DVec3::new(30.0, 30.0, 15.0)),
            [100; 3],
            "no segment: unchanged"
        );
        // A crop box: dimmed outside, yellow at its edge.
        let crop = crate::CropBox::from_corners([5, 5, 5], [25, 25, 25], [40; 3]);
        bench.apply(&volume, Edit::Crop { crop }).unwrap();
        let mut rgba = vec![100u8; 40 * 40 * 4];
        overlay_rows(&mut rgba, &plane, 0..40, &volume, &bench, style);
        assert_eq!(pixel_of(&rgba, DVec3::new(30.0, 30.0, 15.0)), [44; 3]);
        assert_eq!(pixel_of(&rgba, DVec3::new(5.0, 15.0, 15.0)), CROP_EDGE);
        // Rows drawn in blocks give the same pixels as the whole view.
        let mut blocks = vec![100u8; 40 * 40 * 4];
        for first in (0..40).step_by(7) {
            let rows = first..(first + 7).min(40);
            let mut block = vec![100u8; rows.len() * 40 * 4];
            overlay_rows(&mut block, &plane, rows.clone(), &volume, &bench, style);
            blocks[first * 160..rows.end * 160].copy_from_slice(&block);
        }
        assert_eq!(blocks, rgba);
    }
}
