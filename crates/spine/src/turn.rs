//! A patient lying turned about the long axis, read as if lying straight.
//! The analysis looks for the sacrum's alae, the canal's walls and the
//! body's front along a slice's lateral and anterior directions; with the
//! patient turned 10° or more on the table (a wedge under one side, a
//! scoliotic trunk) those directions cut across the anatomy: on
//! TotalSegmentator's CT turned 10–20° the sacrum's alae were missed and
//! the levels named from an assumption, T6–T12 for T12–L5. The turn is
//! read off the bone's cross-section (the pelvis and the rib cage are
//! wider than deep), each slice is read turned back by it, and the labels
//! are turned again onto the slices as stored.

use glam::{DVec2, DVec3};
use insitu_volume::{Geometry, Volume, Voxels};

/// Bone (HU) whose cross-section gives the turn: cortex at any density,
/// and above the soft tissue and most of a table.
const BONE_HU: f32 = 200.0;

/// Least bone (mm²) in a slice for its cross-section to count.
const LEAST_BONE_MM2: f64 = 1800.0;

/// Least ratio of the cross-section's two second moments for it to have
/// a direction (a round head or neck has none).
const LEAST_ELONGATION: f64 = 2.0;

/// Least slices that must give a direction.
const LEAST_SLICES: usize = 5;

/// Least turn (degrees) that is read turned back. Every resampling costs a
/// little (TotalSegmentator's 3 mm CT read turned 2°: 0.01–0.04 of Dice),
/// and the estimate reads 1.3° on that CT lying straight (its bone is not
/// symmetric to a degree), which is read as stored; turned −5° it reads
/// −3.8°, and read as stored L4's front came out 6.4 mm short, turned
/// back within 0.2 mm. The LIDC chest CT reads 3.6° and is read turned
/// back, as right as before.
const LEAST_TURN_DEG: f64 = 3.0;

/// How each slice's pixels are turned: by `radians` about the slice's
/// centre (positive from the slice's first axis towards its second), onto
/// finer pixels where the stored ones are coarser than
/// [`COARSEST_TURNED_MM`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Turn {
    radians: f64,
    stored: Pixels,
    turned: Pixels,
    slices: usize,
}

/// A slice's pixels: how many across and down, and their size (mm).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pixels {
    count: [usize; 2],
    size: DVec2,
}

impl Pixels {
    fn len(self) -> usize {
        self.count[0] * self.count[1]
    }

    fn centre(self) -> DVec2 {
        DVec2::new(self.count[0] as f64 - 1.0, self.count[1] as f64 - 1.0) / 2.0
    }

    /// Pixel (i, j)'s centre in mm from the slice's centre.
    fn offset_mm(self, i: usize, j: usize) -> DVec2 {
        (DVec2::new(i as f64, j as f64) - self.centre()) * self.size
    }

    /// The fractional pixel at `p` (mm from the slice's centre).
    fn at(self, p: DVec2) -> DVec2 {
        p / self.size + self.centre()
    }

    /// The nearest pixel's index in the slice to `p`, if inside.
    fn nearest(self, p: DVec2) -> Option<usize> {
        let f = self.at(p).round();
        let [ni, nj] = self.count;
        (f.x >= 0.0 && f.y >= 0.0 && f.x < ni as f64 && f.y < nj as f64)
            .then(|| f.y as usize * ni + f.x as usize)
    }

    /// Each pixel's centre, row by row.
    fn centres(self) -> impl Iterator<Item = DVec2> {
        let [ni, nj] = self.count;
        (0..nj).flat_map(move |j| (0..ni).map(move |i| self.offset_mm(i, j)))
    }
}

/// Pixels coarser than this (mm) are turned onto finer ones: on
/// TotalSegmentator's 3 mm CT turned 10–20°, slices turned back on 3 mm
/// pixels lost the sacrum or named one level off at +10°, +15° and +20°
/// (every cortex a pixel thick, blurred by any resampling), and read every
/// turn but −20° right on 1.5 mm pixels. Finer pixels also make the
/// labels' way back exact: each stored pixel's nearest turned pixel lies
/// within a third of a pixel, nearer it than any other stored pixel.
const COARSEST_TURNED_MM: f64 = 2.0;

/// Most voxels a slice stack is turned onto finer pixels with: the memory
/// the analysis is checked for ([`crate::fits_in`]) counts the voxels as
/// planned, and a series this small needs a small part of it.
const MOST_FINER_VOXELS: usize = 16 << 20;

impl Turn {
    /// The turn of the patient in `volume` (axial, slices along its third
    /// axis; `lateral` the patient's left in a slice's (i mm, j mm)
    /// plane), when it is at least [`LEAST_TURN_DEG`].
    pub fn of(volume: &Volume, lateral: DVec2) -> Option<Self> {
        let g = volume.geometry();
        let dims = [g.dims.x, g.dims.y, g.dims.z].map(|n| n as usize);
        let spacing = g.spacing();
        let stored = Pixels {
            count: [dims[0], dims[1]],
            size: DVec2::new(spacing.x, spacing.y),
        };
        let mut turns: Vec<(f64, f64)> = match volume.voxels() {
            Voxels::I16(v) => slice_turns(v, stored, lateral),
            Voxels::F32(v) => slice_turns(v, stored, lateral),
        };
        if turns.len() < LEAST_SLICES {
            return None;
        }
        turns.sort_by(|a, b| a.0.total_cmp(&b.0));
        let half = turns.iter().map(|t| t.1).sum::<f64>() / 2.0;
        let mut weight = 0.0;
        let (radians, _) = *turns.iter().find(|t| {
            weight += t.1;
            weight >= half
        })?;
        if radians.abs() < LEAST_TURN_DEG.to_radians() {
            return None;
        }
        Some(Self::by(radians, stored, dims[2]))
    }

    /// `slices` of `stored` pixels turned by `radians`.
    fn by(radians: f64, stored: Pixels, slices: usize) -> Self {
        let mut fine = (stored.size.max_element() / COARSEST_TURNED_MM)
            .ceil()
            .max(1.0);
        if stored.len() * slices * (fine * fine) as usize > MOST_FINER_VOXELS {
            fine = 1.0;
        }
        let turned = Pixels {
            count: stored.count.map(|n| n * fine as usize),
            size: stored.size / fine,
        };
        Self {
            radians,
            stored,
            turned,
            slices,
        }
    }

    /// The slices' dims before turning.
    pub fn unturned_dims(&self) -> [usize; 3] {
        [self.stored.count[0], self.stored.count[1], self.slices]
    }

    /// A position (mm from the slice's centre) in the turned slice, in the
    /// stored slice; `back` the other way.
    fn turned(&self, p: DVec2, back: bool) -> DVec2 {
        let angle = if back { -self.radians } else { self.radians };
        DVec2::from_angle(angle).rotate(p)
    }

    /// `volume` with each slice turned (bilinear or cubic, see
    /// [`FINEST_BILINEAR_MM`]; air where the turned slice
    /// reaches past the stored one), and a geometry that keeps every voxel
    /// at its patient position.
    pub fn read(&self, volume: &Volume) -> Volume {
        let g = volume.geometry();
        let dirs = g.directions();
        let in_world = |v: DVec2| dirs[0] * v.x + dirs[1] * v.y;
        let axis = |v: DVec2, mm: f64| in_world(self.turned(v, false)) * mm;
        let size = self.turned.size;
        let steps = [axis(DVec2::X, size.x), axis(DVec2::Y, size.y), g.steps[2]];
        let centre = self.stored.centre();
        let fine = self.turned.centre();
        let origin =
            g.world_of(DVec3::new(centre.x, centre.y, 0.0)) - steps[0] * fine.x - steps[1] * fine.y;
        let dims = glam::UVec3::new(
            self.turned.count[0] as u32,
            self.turned.count[1] as u32,
            self.slices as u32,
        );
        let geometry = Geometry::new(dims, steps, origin).expect("the stored axes, turned");
        let voxels = if self.stored.size.max_element() <= FINEST_BILINEAR_MM {
            self.turned_volume_linear(volume)
        } else {
            self.turned_volume_cubic(volume)
        };
        Volume::new(geometry, voxels).expect("as many voxels")
    }

    /// The voxels of `volume`'s slices turned, read cubic.
    fn turned_volume_cubic(&self, volume: &Volume) -> Voxels {
        let sources: Vec<Option<Cubic>> = self
            .turned
            .centres()
            .map(|p| Cubic::at(self.stored.at(self.turned(p, false)), self.stored.count))
            .collect();
        let count = self.stored.count;
        match volume.voxels() {
            Voxels::I16(v) => Voxels::I16(turn_all_cubic(v, count, &sources)),
            Voxels::F32(v) => Voxels::F32(turn_all_cubic(v, count, &sources)),
        }
    }

    /// The voxels of `volume`'s slices turned, read bilinear from a table
    /// of 16 bytes a turned pixel (40 bytes made the read memory-bound).
    fn turned_volume_linear(&self, volume: &Volume) -> Voxels {
        let sources: Vec<Linear> = self
            .turned
            .centres()
            .map(|p| Linear::at(self.stored.at(self.turned(p, false)), self.stored.count))
            .collect();
        let count = self.stored.count;
        match volume.voxels() {
            Voxels::I16(v) => Voxels::I16(turn_all_linear(v, count, &sources)),
            Voxels::F32(v) => Voxels::F32(turn_all_linear(v, count, &sources)),
        }
    }

    /// `labels` of the turned slices on the stored ones, as
    /// [`Turn::labels`]; but where they revise `unturned` (a labelmap
    /// read onto the turned slices, as it was before), each stored pixel whose turned pixel the
    /// revision left alone keeps its label: nearest pixels turned there and
    /// back are not always the pixel they started from, and a remeasure
    /// or a merge would move a vertebra's surface by a voxel here and
    /// there. Such a pixel takes the label its own became where the
    /// revision renamed all of it (a merge) or none, else (a split) its
    /// turned pixel's.
    pub fn back_keeping(&self, labels: &[u8], unturned: Option<&[u8]>) -> Vec<u8> {
        let (stored_len, turned_len) = (self.stored.len(), self.turned.len());
        let Some(unturned) = unturned.filter(|u| {
            u.len() == stored_len * self.slices && labels.len() == turned_len * self.slices
        }) else {
            return self.labels(labels, false);
        };
        // The labels as read onto the turned slices, made again pixel by
        // pixel rather than kept: a byte a voxel read less to hold.
        let onto = self.sources(true);
        let before =
            |k: usize, pixel: usize| onto[pixel].map_or(0, |s| unturned[k * stored_len + s]);
        // What each label became, where all of it became one label.
        let mut renamed: [Option<Option<u8>>; 256] = [None; 256];
        for (k, slice) in labels.chunks_exact(turned_len).enumerate() {
            for (pixel, &after) in slice.iter().enumerate() {
                let r = &mut renamed[before(k, pixel) as usize];
                *r = match *r {
                    None => Some(Some(after)),
                    Some(Some(to)) if to == after => Some(Some(to)),
                    _ => Some(None),
                };
            }
        }
        let sources = self.sources(false);
        let mut out = Vec::with_capacity(unturned.len());
        for (k, own_slice) in unturned.chunks_exact(stored_len).enumerate() {
            let slice = &labels[k * turned_len..(k + 1) * turned_len];
            out.extend(sources.iter().zip(own_slice).map(|(s, &own)| {
                let renamed_own = renamed[own as usize];
                let Some(pixel) = *s else {
                    return renamed_own.flatten().unwrap_or(own);
                };
                if own == before(k, pixel) {
                    return slice[pixel];
                }
                match renamed_own {
                    Some(Some(to)) => to,
                    Some(None) => slice[pixel],
                    None => own,
                }
            }));
        }
        out
    }

    /// For each pixel of a stored slice (`onto_turned`: of a turned one),
    /// the nearest pixel of the other, if inside.
    fn sources(&self, onto_turned: bool) -> Vec<Option<usize>> {
        let (from, to) = if onto_turned {
            (self.stored, self.turned)
        } else {
            (self.turned, self.stored)
        };
        to.centres()
            .map(|p| from.nearest(self.turned(p, !onto_turned)))
            .collect()
    }

    /// Labels of the turned slices on the stored ones (each stored pixel
    /// the turned pixel nearest its centre), or (`onto_turned`) the other
    /// way.
    pub fn labels(&self, labels: &[u8], onto_turned: bool) -> Vec<u8> {
        let (from, to) = if onto_turned {
            (self.stored, self.turned)
        } else {
            (self.turned, self.stored)
        };
        let sources = self.sources(onto_turned);
        let mut out = Vec::with_capacity(to.len() * self.slices);
        for slice in labels.chunks_exact(from.len()) {
            out.extend(sources.iter().map(|s| s.map_or(0, |at| slice[at])));
        }
        out
    }
}

/// Each slice's turn where its bone has a direction (see [`slice_turn`]).
fn slice_turns<T: Hu>(stored: &[T], pixels: Pixels, lateral: DVec2) -> Vec<(f64, f64)> {
    stored
        .chunks_exact(pixels.len())
        .filter_map(|slice| slice_turn(slice, pixels, lateral))
        .collect()
}

/// The turn (radians, from `lateral` towards the slice's second axis, and
/// the weight: its bone's area) of a slice's bone, when it has a
/// direction.
fn slice_turn<T: Hu>(slice: &[T], pixels: Pixels, lateral: DVec2) -> Option<(f64, f64)> {
    let pixel = pixels.size;
    let (mut n, mut sx, mut sy, mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (j, row) in slice.chunks_exact(pixels.count[0]).enumerate() {
        let y = j as f64 * pixel.y;
        for (i, h) in row.iter().enumerate() {
            if h.hu() >= BONE_HU {
                let x = i as f64 * pixel.x;
                n += 1.0;
                sx += x;
                sy += y;
                sxx += x * x;
                sxy += x * y;
                syy += y * y;
            }
        }
    }
    let area = n * pixel.x * pixel.y;
    if area < LEAST_BONE_MM2 {
        return None;
    }
    let (mx, my) = (sx / n, sy / n);
    let (cxx, cxy, cyy) = (sxx / n - mx * mx, sxy / n - mx * my, syy / n - my * my);
    // The second moments' eigenvalues and the major one's direction.
    let (mean, half_gap) = (
        (cxx + cyy) / 2.0,
        ((cxx - cyy).powi(2) / 4.0 + cxy * cxy).sqrt(),
    );
    let (major, minor) = (mean + half_gap, mean - half_gap);
    if minor <= 0.0 || major / minor < LEAST_ELONGATION {
        return None;
    }
    let angle = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    let mut axis = DVec2::from_angle(angle);
    if axis.dot(lateral) < 0.0 {
        axis = -axis;
    }
    Some((lateral.perp_dot(axis).atan2(lateral.dot(axis)), area))
}

/// A cubic (Keys, a = −½) read of a slice at a fractional pixel: a
/// bilinear read averages a thin cortex with the soft tissue beside it
/// (on TotalSegmentator's 3 mm CT, a turn of 1.25° read that way lost
/// 0.11 of L1's Dice), a nearest read drops and doubles pixels.
#[derive(Debug, Clone, Copy)]
struct Cubic {
    /// The first of the four columns and rows read.
    first: [isize; 2],
    weights: [[f32; 4]; 2],
}

impl Cubic {
    /// `None` outside the slice.
    fn at(f: DVec2, [ni, nj]: [usize; 2]) -> Option<Self> {
        let (last_i, last_j) = ((ni - 1) as f64, (nj - 1) as f64);
        if !(f.x >= 0.0 && f.y >= 0.0 && f.x <= last_i && f.y <= last_j) {
            return None;
        }
        let (i0, j0) = (f.x.floor(), f.y.floor());
        Some(Self {
            first: [i0 as isize - 1, j0 as isize - 1],
            weights: [keys(f.x - i0), keys(f.y - j0)],
        })
    }

    /// The read from `slice` of `ni` × `nj` pixels (edges repeated).
    #[inline]
    fn read<T: Hu>(&self, slice: &[T], [ni, nj]: [usize; 2]) -> f32 {
        let [first_i, first_j] = self.first;
        let [wx, wy] = &self.weights;
        let inside =
            first_i >= 0 && first_j >= 0 && first_i as usize + 3 < ni && first_j as usize + 3 < nj;
        if inside {
            // Away from the edges (all but a rim two pixels wide): four
            // rows of four, each one slice of the row.
            let base = first_j as usize * ni + first_i as usize;
            let mut sum = 0.0;
            for (r, w) in wy.iter().enumerate() {
                let at = base + r * ni;
                let row: &[T; 4] = slice[at..at + 4].try_into().expect("four pixels");
                sum += w
                    * (wx[0] * row[0].hu()
                        + wx[1] * row[1].hu()
                        + wx[2] * row[2].hu()
                        + wx[3] * row[3].hu());
            }
            return sum;
        }
        let mut sum = 0.0;
        for (dj, w) in wy.iter().enumerate() {
            let j = (first_j + dj as isize).clamp(0, nj as isize - 1) as usize;
            let mut row = 0.0;
            for (di, v) in wx.iter().enumerate() {
                let i = (first_i + di as isize).clamp(0, ni as isize - 1) as usize;
                row += v * slice[j * ni + i].hu();
            }
            sum += w * row;
        }
        sum
    }
}

/// A voxel type the turned slices are read in.
trait Hu: Copy {
    /// Where the turned slice reaches past the stored one.
    const AIR: Self;
    fn hu(self) -> f32;
    fn of(hu: f32) -> Self;
}

impl Hu for i16 {
    const AIR: Self = -1000;
    fn hu(self) -> f32 {
        f32::from(self)
    }
    fn of(hu: f32) -> Self {
        // Rounded half away from zero, as `f32::round`, without its call
        // (a libm function on x86-64's baseline).
        (hu + 0.5f32.copysign(hu)) as i16
    }
}

impl Hu for f32 {
    const AIR: Self = -1000.0;
    fn hu(self) -> f32 {
        self
    }
    fn of(hu: f32) -> Self {
        hu
    }
}

/// Pixels no coarser than this (mm) are read bilinear when turned: a
/// cubic read (16 taps) of 512²×300 took 1.1 s natively, a bilinear one
/// 0.45 s, and a pixel this fine is much thinner than a cortex. Coarser
/// ones are read cubic (onto finer pixels, see [`COARSEST_TURNED_MM`]):
/// on TotalSegmentator's 3 mm CT a bilinear read averaged a thin cortex
/// with the soft tissue beside it (turned 1.25°, 0.11 of L1's Dice lost).
const FINEST_BILINEAR_MM: f64 = 1.0;

/// A bilinear read at a fractional pixel: the first pixel (`u32::MAX`
/// outside the slice), whether there is a next column and row, and the
/// weights of the next ones.
#[derive(Debug, Clone, Copy)]
struct Linear {
    first: u32,
    next: [u16; 2],
    weights: [f32; 2],
}

impl Linear {
    fn at(f: DVec2, [ni, nj]: [usize; 2]) -> Self {
        let (last_i, last_j) = ((ni - 1) as f64, (nj - 1) as f64);
        if !(f.x >= 0.0 && f.y >= 0.0 && f.x <= last_i && f.y <= last_j) {
            return Self {
                first: u32::MAX,
                next: [0; 2],
                weights: [0.0; 2],
            };
        }
        let (i0, j0) = (f.x.floor(), f.y.floor());
        let (i, j) = (i0 as usize, j0 as usize);
        Self {
            first: (j * ni + i) as u32,
            next: [u16::from(i + 1 < ni), u16::from(j + 1 < nj)],
            weights: [(f.x - i0) as f32, (f.y - j0) as f32],
        }
    }
}

/// Every stored slice (of `count` pixels) read onto `turned` pixels each
/// by `read_slice` (a function per slice: wasm has no on-stack replacement).
fn turn_all<T: Hu>(
    stored: &[T],
    [ni, nj]: [usize; 2],
    turned: usize,
    mut read_slice: impl FnMut(&[T], &mut Vec<T>),
) -> Vec<T> {
    let mut out = Vec::with_capacity(turned * (stored.len() / (ni * nj)));
    for slice in stored.chunks_exact(ni * nj) {
        read_slice(slice, &mut out);
    }
    out
}

/// Every stored slice (of `count` pixels) read bilinear at `sources`.
fn turn_all_linear<T: Hu>(stored: &[T], count: [usize; 2], sources: &[Linear]) -> Vec<T> {
    turn_all(stored, count, sources.len(), |slice, out| {
        turn_slice_linear(slice, count[0], sources, out)
    })
}

/// One stored slice (rows of `ni` pixels) read at `sources` onto the end
/// of `out`. A function per slice: wasm has no on-stack replacement.
#[inline(never)]
fn turn_slice_linear<T: Hu>(slice: &[T], ni: usize, sources: &[Linear], out: &mut Vec<T>) {
    out.extend(sources.iter().map(|s| {
        if s.first == u32::MAX {
            return T::AIR;
        }
        let first = s.first as usize;
        let [fx, fy] = s.weights;
        let at = |n: usize| slice[n].hu();
        let di = usize::from(s.next[0]);
        let below = first + usize::from(s.next[1]) * ni;
        let top = at(first) + fx * (at(first + di) - at(first));
        let bottom = at(below) + fx * (at(below + di) - at(below));
        T::of(top + fy * (bottom - top))
    }));
}

/// Every stored slice (of `count` pixels) read cubic at `sources`.
fn turn_all_cubic<T: Hu>(stored: &[T], count: [usize; 2], sources: &[Option<Cubic>]) -> Vec<T> {
    turn_all(stored, count, sources.len(), |slice, out| {
        turn_slice_cubic(slice, sources, count, out)
    })
}

/// One stored slice read at `sources` onto the end of `out`. A function
/// per slice: wasm has no on-stack replacement.
#[inline(never)]
fn turn_slice_cubic<T: Hu>(
    slice: &[T],
    sources: &[Option<Cubic>],
    count: [usize; 2],
    out: &mut Vec<T>,
) {
    out.extend(sources.iter().map(|s| match s {
        Some(cubic) => T::of(cubic.read(slice, count)),
        None => T::AIR,
    }));
}

/// Keys' cubic weights (a = −½) of the four samples around a point `t`
/// (0..1) past the second.
fn keys(t: f64) -> [f32; 4] {
    let a = -0.5;
    let near = |x: f64| (a + 2.0) * x.powi(3) - (a + 3.0) * x.powi(2) + 1.0;
    let far = |x: f64| a * x.powi(3) - 5.0 * a * x.powi(2) + 8.0 * a * x - 4.0 * a;
    [far(1.0 + t), near(t), near(1.0 - t), far(2.0 - t)].map(|w| w as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::UVec3;

    /// An axial stack of `n`² pixels of `mm`, six slices, HU from `hu(x, y)`
    /// (mm from the slice's centre).
    fn stack(n: usize, mm: f64, hu: impl Fn(f64, f64) -> f32) -> Volume {
        let steps = [DVec3::X * mm, DVec3::Y * mm, DVec3::Z * 2.0];
        let geometry =
            Geometry::new(UVec3::new(n as u32, n as u32, 6), steps, DVec3::ZERO).expect("a grid");
        let c = (n as f64 - 1.0) / 2.0;
        let slice: Vec<f32> = (0..n * n)
            .map(|p| hu(((p % n) as f64 - c) * mm, ((p / n) as f64 - c) * mm))
            .collect();
        let voxels = Voxels::F32(slice.repeat(6));
        Volume::new(geometry, voxels).expect("a volume")
    }

    /// A pelvis-like ring of bone 300 mm wide and 150 deep, its wide axis
    /// turned `degrees` from the slice's first axis towards its second.
    fn ring(degrees: f64) -> impl Fn(f64, f64) -> f32 {
        let (sin, cos) = degrees.to_radians().sin_cos();
        move |x, y| {
            let (u, v) = (cos * x + sin * y, cos * y - sin * x);
            let r = (u / 150.0).powi(2) + (v / 75.0).powi(2);
            if (0.8..=1.0).contains(&r) { 700.0 } else { 0.0 }
        }
    }

    #[test]
    fn the_bone_cross_section_gives_the_turn_and_a_straight_one_none() {
        let lateral = DVec2::X;
        for degrees in [12.0, -7.0] {
            let turn = Turn::of(&stack(200, 2.0, ring(degrees)), lateral).expect("turned");
            assert!(
                (turn.radians.to_degrees() - degrees).abs() < 0.5,
                "{degrees}°: read {}°",
                turn.radians.to_degrees()
            );
        }
        assert_eq!(Turn::of(&stack(200, 2.0, ring(1.0)), lateral), None);
        // A round cross-section has no direction.
        let round = |x: f64, y: f64| if x.hypot(y) < 100.0 { 700.0 } else { 0.0 };
        assert_eq!(Turn::of(&stack(200, 2.0, round), lateral), None);
    }

    /// `volume`'s slices turned by `degrees`.
    fn turned_by(volume: &Volume, degrees: f64) -> Turn {
        let g = volume.geometry();
        let stored = Pixels {
            count: [g.dims.x as usize, g.dims.y as usize],
            size: DVec2::new(g.spacing().x, g.spacing().y),
        };
        Turn::by(degrees.to_radians(), stored, g.dims.z as usize)
    }

    #[test]
    fn a_turned_stack_keeps_each_voxel_at_its_patient_position() {
        // HU that vary linearly across the patient, which the cubic and
        // the bilinear read give back exactly: each turned voxel reads its
        // own position. 3 mm pixels are read cubic onto 1.5 mm, 0.75 mm
        // ones bilinear.
        for (n, mm, turned_n) in [(60, 3.0, 120), (240, 0.75, 240)] {
            let volume = stack(n, mm, |x, y| (x + 2.0 * y) as f32);
            let turned = turned_by(&volume, 10.0).read(&volume);
            let g = turned.geometry();
            assert_eq!(g.dims, UVec3::new(turned_n, turned_n, 6), "{mm} mm");
            let Voxels::F32(hu) = turned.voxels() else {
                panic!("f32 in, f32 out");
            };
            let c = (n as f64 - 1.0) / 2.0 * mm;
            let (mut checked, centre) = (0, DVec3::new(c, c, 0.0));
            let side = turned_n as usize;
            for (at, &h) in hu.iter().enumerate().take(side * side) {
                let ijk = DVec3::new((at % side) as f64, (at / side) as f64, 0.0);
                let p = g.world_of(ijk) - centre;
                // Away from the edge, where the turned slice reads past
                // the stored one or the cubic read repeats the edge.
                if p.x.abs().max(p.y.abs()) < 0.8 * c {
                    assert!((f64::from(h) - (p.x + 2.0 * p.y)).abs() < 1e-3, "{p}: {h}");
                    checked += 1;
                }
            }
            assert!(checked > side * side / 3, "{mm} mm: {checked}");
        }
    }

    #[test]
    fn labels_go_back_as_they_were_unless_a_revision_changed_them() {
        let labels: Vec<u8> = (0..40 * 40 * 6).map(|n| (n * 7 % 5) as u8).collect();
        // Stored pixels that differ from `labels`, of those whose turned
        // pixel lies in the turned slice (the corners turn out of it).
        let differing = |turn: &Turn, back: &[u8], expected: &[u8]| {
            let sources = turn.sources(false);
            back.chunks_exact(1600)
                .zip(expected.chunks_exact(1600))
                .flat_map(|(b, e)| b.iter().zip(e).zip(&sources))
                .filter(|((b, e), s)| s.is_some() && b != e)
                .count()
        };
        // On finer pixels the way there and back is exact.
        let coarse = turned_by(&stack(40, 3.0, |_, _| 0.0), 13.0);
        let there = coarse.labels(&labels, true);
        assert_eq!(
            differing(&coarse, &coarse.labels(&there, false), &labels),
            0
        );
        // On pixels of the same size it is not, unless kept.
        let fine = turned_by(&stack(40, 1.0, |_, _| 0.0), 13.0);
        let there = fine.labels(&labels, true);
        assert!(differing(&fine, &fine.labels(&there, false), &labels) > 100);
        assert!(
            fine.back_keeping(&there, Some(&labels)) == labels,
            "a remeasure"
        );
        // A merge of 2 into 1: every 2 becomes 1, all else as it was.
        let merged: Vec<u8> = there.iter().map(|&l| if l == 2 { 1 } else { l }).collect();
        let expected: Vec<u8> = labels.iter().map(|&l| if l == 2 { 1 } else { l }).collect();
        assert!(
            fine.back_keeping(&merged, Some(&labels)) == expected,
            "a merge"
        );
    }
}
