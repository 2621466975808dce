//! The editing tools. Each works inside a crop box, writes one label (0
//! erases) and returns the [`Change`] it made, for undo. By default a tool
//! writes only voxels that are empty or already its own label; with
//! `overwrite` it takes voxels from other segments too.
//!
//! Connectivity is 6-connected throughout (faces, not edges or corners), as
//! in 3D Slicer's islands and grow tools: bone touching another bone at a
//! corner stays two pieces.

use std::collections::VecDeque;

use glam::DVec3;
use insitu_volume::{Geometry, Volume, Voxels};

use serde::{Deserialize, Serialize};

use crate::{Change, CropBox, Labelmap, SegmentTable};

/// An inclusive range of values (HU for CT).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValueRange {
    /// Lowest value inside.
    pub low: f32,
    /// Highest value inside.
    pub high: f32,
}

impl ValueRange {
    /// Whether `v` is inside (NaN never is).
    pub fn contains(&self, v: f32) -> bool {
        v >= self.low && v <= self.high
    }

    /// Named ranges for CT, in menu order: (name, range).
    pub const PRESETS: [(&'static str, ValueRange); 4] = [
        (
            "bone",
            ValueRange {
                low: 226.0,
                high: 3071.0,
            },
        ),
        (
            "cortical bone",
            ValueRange {
                low: 662.0,
                high: 3071.0,
            },
        ),
        (
            "soft tissue",
            ValueRange {
                low: -100.0,
                high: 100.0,
            },
        ),
        (
            "teeth (enamel)",
            ValueRange {
                low: 1553.0,
                high: 3071.0,
            },
        ),
    ];
}

/// What a tool writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The label written (0 erases).
    pub label: u8,
    /// Take voxels of other segments too (else only empty voxels and the
    /// label's own).
    pub overwrite: bool,
    /// Write only voxels that hold this label now (an eraser of one
    /// segment).
    pub only: Option<u8>,
}

impl Target {
    /// Writes `label` into empty voxels and its own.
    pub fn label(label: u8) -> Self {
        Self {
            label,
            overwrite: false,
            only: None,
        }
    }

    /// Clears the voxels of `label`, leaving every other segment's.
    pub fn erase(label: u8) -> Self {
        Self {
            label: 0,
            overwrite: true,
            only: Some(label),
        }
    }

    fn may_write(&self, current: u8) -> bool {
        match self.only {
            Some(only) => current == only,
            None => self.overwrite || current == 0 || current == self.label,
        }
    }
}

fn value(volume: &Volume, index: usize) -> f32 {
    volume.voxels().get_f32(index).unwrap_or(f32::NAN)
}

/// Sets every voxel inside `crop` whose value is in `range` to the target.
pub fn threshold(
    volume: &Volume,
    map: &mut Labelmap,
    crop: &CropBox,
    range: ValueRange,
    target: Target,
) -> Change {
    // The voxel type is decided once, and rows are compared as stored:
    // i16 against whole-number bounds (the same voxels as comparing as f32).
    let picked = match volume.voxels() {
        Voxels::I16(v) => {
            let (low, high) = whole_bounds(range);
            pick_rows(v, map, crop, |x| (low..=high).contains(&x), target)
        }
        Voxels::F32(v) => pick_rows(v, map, crop, |x| range.contains(x), target),
    };
    let mut change = Change::default();
    for n in picked {
        change.set(map, n, target.label);
    }
    change
}

/// The i16 values `range` holds, as an inclusive pair (empty: low > high).
fn whole_bounds(range: ValueRange) -> (i16, i16) {
    if range.low.is_nan() || range.high.is_nan() {
        return (1, 0);
    }
    let clamp = |v: f32| v.clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
    let (low, high) = (range.low.ceil(), range.high.floor());
    if low > f32::from(i16::MAX) || high < f32::from(i16::MIN) {
        return (1, 0);
    }
    (clamp(low), clamp(high))
}

/// The voxels of `crop` whose value is `inside` and that `target` may
/// write, row by row. Each 64 voxels are first asked whether any is
/// inside (a branch-free loop that vectorises); only those that hold one
/// are walked voxel by voxel.
fn pick_rows<T: Copy>(
    voxels: &[T],
    map: &Labelmap,
    crop: &CropBox,
    inside: impl Fn(T) -> bool,
    target: Target,
) -> Vec<usize> {
    let mut picked = Vec::new();
    let width = (crop.max[0] - crop.min[0]) as usize;
    for k in crop.min[2]..crop.max[2] {
        for j in crop.min[1]..crop.max[1] {
            let row = map.index([crop.min[0], j, k]);
            let labels = &map.labels()[row..row + width];
            for (c, chunk) in voxels[row..row + width].chunks(64).enumerate() {
                if !chunk.iter().fold(false, |any, &v| any | inside(v)) {
                    continue;
                }
                for (b, &v) in chunk.iter().enumerate() {
                    let n = c * 64 + b;
                    if inside(v) && target.may_write(labels[n]) {
                        picked.push(row + n);
                    }
                }
            }
        }
    }
    picked
}

/// Why a grow did not happen.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum GrowError {
    /// The seed is outside the crop box (or the volume).
    #[error("the seed is outside the crop box")]
    SeedOutsideBox,
    /// The seed's own value is outside the range.
    #[error("the clicked voxel ({value}) is outside the range {low} to {high}")]
    SeedOutsideRange {
        /// The seed's value.
        value: f32,
        /// The range's low end.
        low: f32,
        /// The range's high end.
        high: f32,
    },
    /// The region passed the size limit: it has leaked (into neighbouring
    /// bone, say). Nothing was changed.
    #[error(
        "the region grew past {limit} voxels and was stopped: narrow the range or the crop box"
    )]
    TooLarge {
        /// The limit it passed.
        limit: usize,
    },
}

/// One bit per voxel of a box, indexed in the box's own voxel order.
struct BoxBits {
    crop: CropBox,
    words: Vec<u64>,
}

impl BoxBits {
    fn new(crop: CropBox) -> Self {
        Self {
            crop,
            words: vec![0; crop.voxel_count().div_ceil(64)],
        }
    }

    fn local(&self, [i, j, k]: [u32; 3]) -> usize {
        let c = &self.crop;
        let (w, h) = (
            (c.max[0] - c.min[0]) as usize,
            (c.max[1] - c.min[1]) as usize,
        );
        (i - c.min[0]) as usize + w * ((j - c.min[1]) as usize + h * (k - c.min[2]) as usize)
    }

    /// Sets the bit of a voxel inside the box; true when it was clear.
    fn insert(&mut self, ijk: [u32; 3]) -> bool {
        let n = self.local(ijk);
        let (word, bit) = (n / 64, 1u64 << (n % 64));
        let was_clear = self.words[word] & bit == 0;
        self.words[word] |= bit;
        was_clear
    }

    fn contains(&self, ijk: [u32; 3]) -> bool {
        let n = self.local(ijk);
        self.words[n / 64] & (1 << (n % 64)) != 0
    }
}

/// The 6 face neighbours of a voxel that lie inside `crop`.
fn neighbours(ijk: [u32; 3], crop: &CropBox) -> impl Iterator<Item = [u32; 3]> + '_ {
    const STEPS: [(usize, i64); 6] = [(0, -1), (0, 1), (1, -1), (1, 1), (2, -1), (2, 1)];
    STEPS.iter().filter_map(move |&(axis, step)| {
        let v = i64::from(ijk[axis]) + step;
        if v < i64::from(crop.min[axis]) || v >= i64::from(crop.max[axis]) {
            return None;
        }
        let mut next = ijk;
        next[axis] = v as u32;
        Some(next)
    })
}

/// Visits the 6-connected region of voxels inside `crop` that holds
/// `seed` and satisfies `member`, calling `visit` on each; stops (and
/// returns false) once more than `limit` voxels were visited.
fn flood(
    crop: &CropBox,
    seed: [u32; 3],
    limit: usize,
    member: impl Fn([u32; 3]) -> bool,
    mut visit: impl FnMut([u32; 3]),
) -> bool {
    let mut seen = BoxBits::new(*crop);
    let mut queue = VecDeque::new();
    seen.insert(seed);
    queue.push_back(seed);
    let mut count = 0;
    while let Some(ijk) = queue.pop_front() {
        count += 1;
        if count > limit {
            return false;
        }
        visit(ijk);
        for next in neighbours(ijk, crop) {
            if !seen.contains(next) && member(next) && seen.insert(next) {
                queue.push_back(next);
            }
        }
    }
    true
}

/// The 3D region connected to `seed` (6-connected) of voxels inside `crop`
/// whose values are in `range`, written with the target; refused, with
/// nothing changed, when it would pass `max_voxels`.
pub fn grow(
    volume: &Volume,
    map: &mut Labelmap,
    crop: &CropBox,
    seed: [u32; 3],
    range: ValueRange,
    target: Target,
    max_voxels: usize,
) -> Result<Change, GrowError> {
    if !crop.contains(seed) || map.get(seed).is_none() {
        return Err(GrowError::SeedOutsideBox);
    }
    let seed_value = value(volume, map.index(seed));
    if !range.contains(seed_value) {
        return Err(GrowError::SeedOutsideRange {
            value: seed_value,
            low: range.low,
            high: range.high,
        });
    }
    let mut region = Vec::new();
    let member = |ijk: [u32; 3]| {
        let n = map.index(ijk);
        range.contains(value(volume, n)) && target.may_write(map.labels()[n])
    };
    if !flood(crop, seed, max_voxels, member, |ijk| region.push(ijk)) {
        return Err(GrowError::TooLarge { limit: max_voxels });
    }
    // In voxel order: the change's runs merge along rows.
    let mut indices: Vec<usize> = region.iter().map(|&v| map.index(v)).collect();
    indices.sort_unstable();
    let mut change = Change::default();
    for n in indices {
        change.set(map, n, target.label);
    }
    Ok(change)
}

/// The brush's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Brush {
    /// A ball of the radius.
    Sphere,
    /// A disc of the radius in the plane through the centre with this
    /// normal (the 2D view's): voxels whose centres lie within half a
    /// voxel of the plane.
    Disc {
        /// Unit normal of the view plane, patient space.
        normal: DVec3,
    },
}

/// Paints (or, with [`Target::erase`], erases) the voxels inside `crop` within
/// `radius_mm` of `centre` (patient mm), of the brush's shape, optionally
/// only those whose values are in `range`.
#[allow(clippy::too_many_arguments)]
pub fn paint(
    volume: &Volume,
    map: &mut Labelmap,
    crop: &CropBox,
    centre: DVec3,
    radius_mm: f64,
    brush: Brush,
    range: Option<ValueRange>,
    target: Target,
) -> Change {
    let g = volume.geometry();
    let reach = footprint(g, centre, radius_mm);
    let mut change = Change::default();
    let Some(reach) = CropBox::intersect(&reach, crop) else {
        return change;
    };
    let half_voxel = |normal: DVec3| {
        // Half the voxel's extent along the normal: its centre is in the
        // plane's slab when within it.
        g.steps.iter().map(|s| s.dot(normal).abs()).sum::<f64>() / 2.0
    };
    for k in reach.min[2]..reach.max[2] {
        for j in reach.min[1]..reach.max[1] {
            for i in reach.min[0]..reach.max[0] {
                let p = g.world_of(DVec3::new(i.into(), j.into(), k.into()));
                let d = p - centre;
                let inside = match brush {
                    Brush::Sphere => d.length() <= radius_mm,
                    Brush::Disc { normal } => {
                        let along = d.dot(normal);
                        along.abs() <= half_voxel(normal)
                            && (d - normal * along).length() <= radius_mm
                    }
                };
                if !inside {
                    continue;
                }
                let n = map.index([i, j, k]);
                if target.may_write(map.labels()[n])
                    && range.is_none_or(|r| r.contains(value(volume, n)))
                {
                    change.set(map, n, target.label);
                }
            }
        }
    }
    change
}

/// The voxel box around a ball of `radius_mm` at `centre`.
fn footprint(g: &Geometry, centre: DVec3, radius_mm: f64) -> CropBox {
    let dims = g.dims.to_array();
    let centre_ijk = g.index_of(centre);
    let mut min = [0u32; 3];
    let mut max = [0u32; 3];
    for axis in 0..3 {
        let step = g.steps[axis].length().max(1e-9);
        let reach = radius_mm / step + 1.0;
        let lo = (centre_ijk[axis] - reach).floor().max(0.0);
        let hi = (centre_ijk[axis] + reach).ceil() + 1.0;
        min[axis] = (lo as u64).min(u64::from(dims[axis])) as u32;
        max[axis] = (hi.max(0.0) as u64).min(u64::from(dims[axis])) as u32;
    }
    CropBox { min, max }
}

/// The pieces (6-connected) of `label` inside `crop`: one voxel of each
/// and its size, largest first.
pub fn pieces(map: &Labelmap, label: u8, crop: &CropBox) -> Vec<([u32; 3], usize)> {
    let mut seen = BoxBits::new(*crop);
    let mut found = Vec::new();
    let mut indices = Vec::new();
    map.for_each_in(crop, |n, l| {
        if l == label {
            indices.push(n);
        }
    });
    for n in indices {
        let seed = map.voxel(n);
        if seen.contains(seed) {
            continue;
        }
        let mut size = 0;
        let member = |v: [u32; 3]| map.labels()[map.index(v)] == label;
        // Mark the piece in `seen` while sizing it.
        let mut queue = VecDeque::from([seed]);
        seen.insert(seed);
        while let Some(v) = queue.pop_front() {
            size += 1;
            for next in neighbours(v, crop) {
                if !seen.contains(next) && member(next) && seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        found.push((seed, size));
    }
    found.sort_by_key(|p| std::cmp::Reverse(p.1));
    found
}

/// Erases (to 0) the piece of `label` holding `seed`, or moves it to
/// `to`, recording into `change`.
fn relabel_piece(
    map: &mut Labelmap,
    label: u8,
    crop: &CropBox,
    seed: [u32; 3],
    to: u8,
    change: &mut Change,
) {
    let mut voxels = Vec::new();
    {
        let member = |v: [u32; 3]| map.labels()[map.index(v)] == label;
        flood(crop, seed, usize::MAX, member, |v| {
            voxels.push(map.index(v))
        });
    }
    voxels.sort_unstable();
    for n in voxels {
        change.set(map, n, to);
    }
}

/// Keeps only the largest piece of `label` inside `crop`.
pub fn keep_largest(map: &mut Labelmap, label: u8, crop: &CropBox) -> Change {
    let mut change = Change::default();
    for (seed, _) in pieces(map, label, crop).into_iter().skip(1) {
        relabel_piece(map, label, crop, seed, 0, &mut change);
    }
    change
}

/// Keeps only the piece of `label` that holds `voxel` (nothing changes
/// when the voxel is not of the label).
pub fn keep_piece_at(map: &mut Labelmap, label: u8, crop: &CropBox, voxel: [u32; 3]) -> Change {
    let mut change = Change::default();
    if map.get(voxel) != Some(label) {
        return change;
    }
    let mut keep = BoxBits::new(*crop);
    let member = |v: [u32; 3]| map.labels()[map.index(v)] == label;
    flood(crop, voxel, usize::MAX, member, |v| {
        keep.insert(v);
    });
    for (seed, _) in pieces(map, label, crop) {
        if !keep.contains(seed) {
            relabel_piece(map, label, crop, seed, 0, &mut change);
        }
    }
    change
}

/// Removes the pieces of `label` smaller than `min_voxels`.
pub fn remove_small(map: &mut Labelmap, label: u8, crop: &CropBox, min_voxels: usize) -> Change {
    let mut change = Change::default();
    for (seed, size) in pieces(map, label, crop) {
        if size < min_voxels {
            relabel_piece(map, label, crop, seed, 0, &mut change);
        }
    }
    change
}

/// Splits `label` into one segment per piece: the largest keeps the label,
/// each other gets a new numbered segment (largest first) while labels
/// last. Returns the change and the labels made.
pub fn split(
    map: &mut Labelmap,
    table: &mut SegmentTable,
    label: u8,
    crop: &CropBox,
) -> (Change, Vec<u8>) {
    let mut change = Change::default();
    let mut made = Vec::new();
    for (seed, _) in pieces(map, label, crop).into_iter().skip(1) {
        let Ok(new) = table.add(None) else {
            break;
        };
        relabel_piece(map, label, crop, seed, new, &mut change);
        made.push(new);
    }
    (change, made)
}

/// Cuts `label` by the plane through `point` (patient mm) with normal
/// `normal`: its voxels in `crop` on the normal's side become a new
/// segment (a vertebra split at a disc the analysis missed, a mandible cut
/// in two). Returns the change and the new label, if any voxel moved.
pub fn cut(
    geometry: &insitu_volume::Geometry,
    map: &mut Labelmap,
    table: &mut SegmentTable,
    label: u8,
    crop: &CropBox,
    point: DVec3,
    normal: DVec3,
) -> (Change, Option<u8>) {
    let mut change = Change::default();
    let Some(bounds) = map.bounds(label).and_then(|b| CropBox::intersect(&b, crop)) else {
        return (change, None);
    };
    let mut moving = Vec::new();
    map.for_each_in(&bounds, |n, l| {
        if l == label {
            let [i, j, k] = map.voxel(n);
            let p = geometry.world_of(DVec3::new(f64::from(i), f64::from(j), f64::from(k)));
            if (p - point).dot(normal) > 0.0 {
                moving.push(n);
            }
        }
    });
    if moving.is_empty() {
        return (change, None);
    }
    let Ok(new) = table.add(None) else {
        return (change, None);
    };
    for n in moving {
        change.set(map, n, new);
    }
    (change, Some(new))
}

/// Fills the closed cavities of `label`: empty voxels inside its bounds
/// that cannot reach the bounds' faces without crossing the label become
/// the label, so a hollow part prints as a solid.
pub fn fill_holes(map: &mut Labelmap, label: u8, crop: &CropBox) -> Change {
    let mut change = Change::default();
    let Some(bounds) = map.bounds(label).and_then(|b| CropBox::intersect(&b, crop)) else {
        return change;
    };
    let mut outside = BoxBits::new(bounds);
    let mut queue = VecDeque::new();
    let on_face = |[i, j, k]: [u32; 3]| {
        i == bounds.min[0]
            || j == bounds.min[1]
            || k == bounds.min[2]
            || i + 1 == bounds.max[0]
            || j + 1 == bounds.max[1]
            || k + 1 == bounds.max[2]
    };
    map.for_each_in(&bounds, |n, l| {
        let v = map.voxel(n);
        if l != label && on_face(v) && outside.insert(v) {
            queue.push_back(v);
        }
    });
    while let Some(v) = queue.pop_front() {
        for next in neighbours(v, &bounds) {
            if !outside.contains(next)
                && map.labels()[map.index(next)] != label
                && outside.insert(next)
            {
                queue.push_back(next);
            }
        }
    }
    let mut holes = Vec::new();
    map.for_each_in(&bounds, |n, l| {
        if l == 0 && !outside.contains(map.voxel(n)) {
            holes.push(n);
        }
    });
    for n in holes {
        change.set(map, n, label);
    }
    change
}

/// Squared Euclidean distance (mm²) from every voxel of `region` to the
/// nearest voxel where `feature` holds, by separable exact distance
/// transforms (Felzenszwalb & Huttenlocher) with the grid's spacing.
fn squared_distance(
    region: &CropBox,
    spacing: [f64; 3],
    feature: impl Fn([u32; 3]) -> bool,
) -> Vec<f64> {
    let size = [0, 1, 2].map(|a| (region.max[a] - region.min[a]) as usize);
    let at = |i: usize, j: usize, k: usize| i + size[0] * (j + size[1] * k);
    let mut d = vec![f64::INFINITY; size.iter().product()];
    for k in 0..size[2] {
        for j in 0..size[1] {
            for i in 0..size[0] {
                let v = [
                    region.min[0] + i as u32,
                    region.min[1] + j as u32,
                    region.min[2] + k as u32,
                ];
                if feature(v) {
                    d[at(i, j, k)] = 0.0;
                }
            }
        }
    }
    let mut line = Vec::new();
    let mut out = Vec::new();
    for axis in 0..3 {
        let (a, b) = match axis {
            0 => (1, 2),
            1 => (0, 2),
            _ => (0, 1),
        };
        for q in 0..size[b] {
            for p in 0..size[a] {
                let index = |t: usize| {
                    let mut c = [0; 3];
                    c[axis] = t;
                    c[a] = p;
                    c[b] = q;
                    at(c[0], c[1], c[2])
                };
                line.clear();
                line.extend((0..size[axis]).map(|t| d[index(t)]));
                distance_1d(&line, spacing[axis], &mut out);
                for (t, v) in out.iter().enumerate() {
                    d[index(t)] = *v;
                }
            }
        }
    }
    d
}

/// The 1D squared distance transform of sampled function `f` with sample
/// spacing `h` (lower envelope of parabolas).
fn distance_1d(f: &[f64], h: f64, out: &mut Vec<f64>) {
    let n = f.len();
    out.clear();
    out.resize(n, f64::INFINITY);
    let finite: Vec<usize> = (0..n).filter(|&q| f[q].is_finite()).collect();
    if finite.is_empty() {
        return;
    }
    let h2 = h * h;
    let mut v: Vec<usize> = Vec::with_capacity(finite.len());
    let mut z: Vec<f64> = Vec::with_capacity(finite.len() + 1);
    for &q in &finite {
        loop {
            let Some(&last) = v.last() else {
                v.push(q);
                z.clear();
                z.push(f64::NEG_INFINITY);
                break;
            };
            let (qf, lf) = (q as f64, last as f64);
            let s = ((f[q] + h2 * qf * qf) - (f[last] + h2 * lf * lf)) / (2.0 * h2 * (qf - lf));
            if s <= *z.last().expect("one boundary per parabola") {
                v.pop();
                z.pop();
            } else {
                v.push(q);
                z.push(s);
                break;
            }
        }
    }
    z.push(f64::INFINITY);
    let mut j = 0;
    for (x, slot) in out.iter_mut().enumerate() {
        let xf = x as f64;
        while z[j + 1] < xf {
            j += 1;
        }
        let dx = (xf - v[j] as f64) * h;
        *slot = dx * dx + f[v[j]];
    }
}

/// Grows `label` by `mm` into empty voxels (or shrinks it, for a negative
/// `mm`, back to empty), by true distance in millimetres on the grid's
/// spacing.
pub fn margin(map: &mut Labelmap, label: u8, crop: &CropBox, mm: f64, spacing: [f64; 3]) -> Change {
    let mut change = Change::default();
    let Some(bounds) = map.bounds(label) else {
        return change;
    };
    let dims = map.dims();
    let mut region = bounds;
    for axis in 0..3 {
        let pad = (mm.abs() / spacing[axis].max(1e-9)).ceil() as u32 + 1;
        region.min[axis] = region.min[axis].saturating_sub(pad);
        region.max[axis] = (region.max[axis] + pad).min(dims[axis]);
    }
    let Some(region) = CropBox::intersect(&region, crop) else {
        return change;
    };
    let size = [0, 1, 2].map(|a| (region.max[a] - region.min[a]) as usize);
    let local = |[i, j, k]: [u32; 3]| {
        (i - region.min[0]) as usize
            + size[0] * ((j - region.min[1]) as usize + size[1] * (k - region.min[2]) as usize)
    };
    let limit = mm * mm + 1e-9;
    let mut picked = Vec::new();
    if mm >= 0.0 {
        let d = squared_distance(&region, spacing, |v| map.labels()[map.index(v)] == label);
        map.for_each_in(&region, |n, l| {
            if l == 0 && d[local(map.voxel(n))] <= limit {
                picked.push((n, label));
            }
        });
    } else {
        let d = squared_distance(&region, spacing, |v| map.labels()[map.index(v)] != label);
        map.for_each_in(&region, |n, l| {
            // Distance to the nearest outside voxel: within the margin of
            // the surface, the voxel goes.
            if l == label && d[local(map.voxel(n))] <= limit {
                picked.push((n, 0));
            }
        });
    }
    for (n, to) in picked {
        change.set(map, n, to);
    }
    change
}

/// Logical "add" of two segments: `from`'s voxels inside `crop` join
/// `into`. (A labelmap holds one label per voxel, so two segments never
/// overlap: their subtraction and intersection need a second layer, which
/// this labelmap does not have.)
pub fn merge(map: &mut Labelmap, into: u8, from: u8, crop: &CropBox) -> Change {
    let mut change = Change::default();
    let mut picked = Vec::new();
    map.for_each_in(crop, |n, l| {
        if l == from {
            picked.push(n);
        }
    });
    for n in picked {
        change.set(map, n, into);
    }
    change
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_bounds_take_the_same_i16_values_as_the_f32_range() {
        let ranges = [
            (226.0, 3071.0),
            (-100.5, 99.5),
            (0.25, 0.75),
            (-40000.0, 40000.0),
            (40000.0, 50000.0),
            (-50000.0, -40000.0),
            (5.0, -5.0),
            (f32::NAN, 10.0),
        ];
        for (low, high) in ranges {
            let range = ValueRange { low, high };
            let (lo, hi) = whole_bounds(range);
            for v in (i16::MIN..=i16::MAX)
                .step_by(7)
                .chain([i16::MIN, i16::MAX, 0, 1, -1])
            {
                assert_eq!(
                    (lo..=hi).contains(&v),
                    range.contains(f32::from(v)),
                    "{v} in {low}..{high}"
                );
            }
        }
    }
}
