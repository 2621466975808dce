//! The CPU extractor: parallel over runs of z layers natively; in the
//! browser counted first and written once at its exact size. The output is
//! the same either way.

use glam::{DMat3, DVec3, Vec3};
use insitu_volume::{Volume, Voxels};

use super::cases::{EDGES, case_table, corner, joined_faces};
use crate::Mesh;

/// Value of the padding layer added by `close_borders`: far below any iso.
pub const BACKGROUND: f32 = -1.0e9;

/// How close to a grid point a vertex may come, as a fraction of its edge.
/// A voxel exactly at the iso would otherwise put the vertex of every cut
/// edge it touches on that one point, and the triangles between them would
/// have no area: degenerate facets that slicers must repair. 1/256 of a
/// voxel is far below any print or display resolution.
pub const EDGE_MARGIN: f32 = 1.0 / 256.0;

/// Where along a cut edge (from the value `v0` to `v1`) the iso is crossed,
/// kept strictly inside the edge ([`EDGE_MARGIN`]). The GPU computes the
/// same f32 expression.
pub fn edge_fraction(iso: f32, v0: f32, v1: f32) -> f32 {
    ((iso - v0) / (v1 - v0)).clamp(EDGE_MARGIN, 1.0 - EDGE_MARGIN)
}

/// What to extract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarchingOptions {
    /// Iso level (HU); voxels at or above it are inside.
    pub iso: f32,
    /// Pad the grid with background so the surface is closed at the border.
    pub close_borders: bool,
}

impl Default for MarchingOptions {
    fn default() -> Self {
        Self {
            iso: 300.0,
            close_borders: true,
        }
    }
}

/// Index → world mapping, with true slice offsets for non-uniform stacks.
#[derive(Debug, Clone)]
pub struct WorldTransform {
    origin: DVec3,
    steps: [DVec3; 3],
    normal_matrix: DMat3,
    offsets: Option<Vec<f64>>,
    stack_direction: DVec3,
}

impl WorldTransform {
    /// World position (mm) of a fractional voxel index.
    pub fn position(&self, ijk: DVec3) -> DVec3 {
        let planar = self.origin + self.steps[0] * ijk.x + self.steps[1] * ijk.y;
        match &self.offsets {
            None => planar + self.steps[2] * ijk.z,
            Some(offsets) => {
                let last = offsets.len() - 1;
                let k = ijk.z.clamp(-1.0, last as f64 + 1.0);
                let below = (k.floor().max(0.0) as usize).min(last.saturating_sub(1));
                let above = (below + 1).min(last);
                let span = offsets[above] - offsets[below];
                let step = if above > below {
                    span
                } else {
                    self.steps[2].length()
                };
                let t = offsets[below] + (k - below as f64) * step;
                planar + self.stack_direction * t
            }
        }
    }

    /// World direction of an index-space gradient (for normals).
    pub fn normal(&self, gradient: DVec3) -> DVec3 {
        self.normal_matrix * gradient
    }
}

/// The voxel→world mapping of a volume as used for mesh vertices.
pub fn world_transform(volume: &Volume) -> WorldTransform {
    let g = volume.geometry();
    let m = DMat3::from_cols(g.steps[0], g.steps[1], g.steps[2]);
    WorldTransform {
        origin: g.origin,
        steps: g.steps,
        normal_matrix: m.inverse().transpose(),
        offsets: volume.slice_offsets_mm().map(<[f64]>::to_vec),
        stack_direction: g.steps[2].normalize(),
    }
}

/// A voxel type the extractor reads, compared with the iso as stored:
/// the same answer as `f32::from(v) >= iso`, without converting each
/// voxel where the type allows (an integer is at or above the iso exactly
/// when it is at or above the iso rounded up).
pub(crate) trait Voxel: Copy + Into<f32> {
    /// What a voxel is compared with.
    type Threshold: Copy;
    /// The iso as this type compares it.
    fn threshold(iso: f32) -> Self::Threshold;
    /// `f32::from(self) >= iso`.
    fn reaches(self, threshold: Self::Threshold) -> bool;
    /// `out[i] = 1` where `values[i]` reaches the threshold, else 0: one
    /// branch-free loop the compiler vectorises.
    fn flag_row(values: &[Self], threshold: Self::Threshold, out: &mut [u8]) {
        for (o, v) in out.iter_mut().zip(values) {
            *o = u8::from(v.reaches(threshold));
        }
    }
}

impl Voxel for f32 {
    type Threshold = f32;
    fn threshold(iso: f32) -> f32 {
        iso
    }
    fn reaches(self, iso: f32) -> bool {
        self >= iso
    }
}

impl Voxel for i16 {
    type Threshold = i32;
    fn threshold(iso: f32) -> i32 {
        // NaN compares false with everything: nothing is inside.
        if iso.is_nan() {
            i32::MAX
        } else {
            iso.ceil().clamp(-1.0e9, 1.0e9) as i32
        }
    }
    fn reaches(self, threshold: i32) -> bool {
        i32::from(self) >= threshold
    }
    /// Compared as i16 (eight to a SIMD lane group), the threshold
    /// clamped to the type's range first.
    fn flag_row(values: &[i16], threshold: i32, out: &mut [u8]) {
        if threshold > i32::from(i16::MAX) {
            out.fill(0);
            return;
        }
        let threshold = threshold.max(i32::from(i16::MIN)) as i16;
        for (o, &v) in out.iter_mut().zip(values) {
            *o = u8::from(v >= threshold);
        }
    }
}

/// How many positions `a` and `b` (0/1 flags) differ at, summed in bytes
/// (chunks of 255 cannot overflow one) so the loop vectorises.
fn count_differing(a: &[u8], b: &[u8]) -> usize {
    a.chunks(255)
        .zip(b.chunks(255))
        .map(|(a, b)| {
            usize::from(
                a.iter()
                    .zip(b)
                    .fold(0u8, |sum, (x, y)| sum.wrapping_add(x ^ y)),
            )
        })
        .sum()
}

/// How many edges between cells of one layer's 0/1 flags `here` (rows
/// `nx` long) join differing flags: along x (also the pairs a row's end
/// makes with the next row's start, which the caller takes off), along y,
/// and along z to the flags of the layer `below` when given. One pass
/// over the flags for all three, not one each: in wasm the count pass was
/// the extraction's largest part. Each cell adds at most 3, so sums of
/// 85 cells fit a byte and the loop vectorises.
fn count_cut_pairs(here: &[u8], below: Option<&[u8]>, nx: usize) -> usize {
    let layer = here.len();
    // Without a layer below, the layer stands in for it: a flag never
    // differs from itself, so no z pair counts.
    let below = below.unwrap_or(here);
    // Cells 0..m have a neighbour in x and in y.
    let m = layer - nx;
    let cells = here[..m]
        .chunks(85)
        .zip(here[1..m + 1].chunks(85))
        .zip(here[nx..].chunks(85))
        .zip(below[..m].chunks(85));
    let mut count: usize = cells
        .map(|(((c, r), n), b)| {
            let pairs = c.iter().zip(r).zip(n).zip(b);
            let sum = pairs.fold(0u8, |sum, (((c, r), n), b)| {
                sum.wrapping_add((c ^ r) + (c ^ n) + (c ^ b))
            });
            usize::from(sum)
        })
        .sum();
    // The last row's z pairs, and its x pairs (the last cell has none).
    count += count_differing(&below[m..], &here[m..]);
    count += count_differing(&here[m..layer - 1], &here[m + 1..]);
    count
}

/// How many 0/1 flags are set, as [`count_differing`] sums them.
fn count_set(a: &[u8]) -> usize {
    a.chunks(255)
        .map(|a| usize::from(a.iter().fold(0u8, |sum, x| sum.wrapping_add(*x))))
        .sum()
}

/// The first and last positions of a row of 0/1 flags that are set, or
/// `None` when none is: one OR over the row (it vectorises), then eight
/// flags at a time in from each end.
fn inside_extent(row: &[u8]) -> Option<(usize, usize)> {
    if row.iter().fold(0u8, |any, &f| any | f) == 0 {
        return None;
    }
    let word = |bytes: &[u8; 8]| u64::from_le_bytes(*bytes);
    let (words, tail) = row.as_chunks::<8>();
    let lo = words
        .iter()
        .position(|w| word(w) != 0)
        .map(|i| 8 * i + (word(&words[i]).trailing_zeros() / 8) as usize)
        .or_else(|| {
            tail.iter()
                .position(|&f| f != 0)
                .map(|x| 8 * words.len() + x)
        })?;
    let hi = match tail.iter().rposition(|&f| f != 0) {
        Some(x) => 8 * words.len() + x,
        None => {
            let i = words.iter().rposition(|w| word(w) != 0)?;
            8 * i + 7 - (word(&words[i]).leading_zeros() / 8) as usize
        }
    };
    Some((lo, hi))
}

/// The x extent of the inside voxels of every run of stored rows (flying
/// edges' trim), found by the count pass: every cut edge has an inside
/// end, so the write pass compares voxels with the iso, and looks for cut
/// edges, only within these extents and the ones beside them; elsewhere
/// the flags are 0. Two bytes per [`ROWS_PER_EXTENT`] rows, the ends kept
/// in steps of `nx / 256` voxels rounded outwards: 38 KB for 512²×300.
/// Exact `u16` ends per row (614 KB) grew the browser's heap by 1.1 MB on
/// that study, against an end-to-end bar of 1.15× the volume; these read
/// as fast.
struct InsideExtents {
    /// `[lo, hi]` in steps per run of rows (layer-major); `lo > hi` for a
    /// run with no inside voxel.
    runs: Vec<[u8; 2]>,
    ny: usize,
    nx: usize,
    step: usize,
}

/// Stored rows sharing one extent (the union of theirs).
const ROWS_PER_EXTENT: usize = 8;

impl InsideExtents {
    const NONE: [u8; 2] = [1, 0];

    /// Room for the rows of `dims`.
    fn new(dims: [usize; 3]) -> Self {
        let [nx, ny, nz] = dims;
        Self {
            runs: vec![Self::NONE; (ny * nz).div_ceil(ROWS_PER_EXTENT)],
            ny,
            nx,
            step: nx.div_ceil(256).max(1),
        }
    }

    /// Adds stored layer `z`'s rows from its flags (rows `nx` long).
    fn record(&mut self, z: usize, flags: &[u8]) {
        let step = self.step;
        for (y, row) in flags.chunks_exact(self.nx).enumerate() {
            if let Some((lo, hi)) = inside_extent(row) {
                let (lo, hi) = ((lo / step) as u8, (hi / step) as u8);
                let run = &mut self.runs[(z * self.ny + y) / ROWS_PER_EXTENT];
                *run = if run[0] > run[1] {
                    [lo, hi]
                } else {
                    [run[0].min(lo), run[1].max(hi)]
                };
            }
        }
    }

    /// An extent holding stored row (y, z)'s inside voxels, `None` when
    /// its run of rows has none.
    fn of(&self, y: usize, z: usize) -> Option<(usize, usize)> {
        let [lo, hi] = self.runs[(z * self.ny + y) / ROWS_PER_EXTENT];
        (lo <= hi).then(|| {
            let (lo, hi) = (usize::from(lo) * self.step, usize::from(hi) * self.step);
            (lo, (hi + self.step - 1).min(self.nx - 1))
        })
    }
}

/// A scalar grid, optionally padded by one background voxel per side.
#[derive(Clone, Copy)]
struct Field<'a, T> {
    data: &'a [T],
    dims: [usize; 3],
    pad: usize,
}

impl<T: Voxel> Field<'_, T> {
    /// Dimensions of the (virtual) grid.
    fn grid(&self) -> [usize; 3] {
        self.dims.map(|d| d + 2 * self.pad)
    }

    /// The count pass, one stored layer at a time: how many grid edges
    /// the iso cuts is the mesh's vertex count, taken from the voxels as
    /// stored, each compared with the iso once (into a layer of inside
    /// flags, kept for the next layer's z edges), with the padding's
    /// background (never inside) counted where the volume's faces meet it.
    ///
    /// The cut edges of stored layer z: along x and y within it, along z
    /// to the layer `below` (its flags; `None` for the first), and to the
    /// padding; its flags are left in `here`. One call per layer, not
    /// inlined: the browser's wasm engine moves a function to optimised
    /// code between calls, never during one long call.
    #[inline(never)]
    fn layer_cut_edges(
        &self,
        z: usize,
        threshold: T::Threshold,
        below: Option<&[u8]>,
        here: &mut [u8],
    ) -> usize {
        let [nx, ny, nz] = self.dims;
        let layer = nx * ny;
        T::flag_row(&self.data[z * layer..(z + 1) * layer], threshold, here);
        // Along x (over the whole layer as one run), y and z, less the
        // pairs the x run joins across a row's end (the next row's start).
        let mut count = count_cut_pairs(here, below, nx);
        for y in 1..ny {
            count -= usize::from(here[y * nx - 1] ^ here[y * nx]);
        }
        if self.pad > 0 {
            // Each row's two ends meet the padding.
            for y in 0..ny {
                count += usize::from(here[y * nx]) + usize::from(here[y * nx + nx - 1]);
            }
        }
        if self.pad > 0 {
            // The first and last rows of every layer, and the first and
            // last layers, meet the padding (twice when there is one).
            count += count_set(&here[..nx]) + count_set(&here[layer - nx..]);
            let faces = usize::from(z == 0) + usize::from(z + 1 == nz);
            if faces > 0 {
                count += count_set(here) * faces;
            }
        }
        count
    }

    /// Row `y` of virtual layer `z` as stored (its real voxels), or `None`
    /// for a row of the padding.
    fn real_row(&self, z: usize, y: usize) -> Option<&[T]> {
        let p = self.pad;
        let [nx, ny, nz] = self.dims;
        if z < p || z >= nz + p || y < p || y >= ny + p {
            return None;
        }
        let start = ((z - p) * ny + (y - p)) * nx;
        Some(&self.data[start..start + nx])
    }

    /// Value at virtual grid position (x, y, z), background in the
    /// padding.
    fn value(&self, x: usize, y: usize, z: usize) -> f32 {
        let p = self.pad;
        let [nx, ny, nz] = self.dims;
        if x < p || y < p || z < p || x >= nx + p || y >= ny + p || z >= nz + p {
            return BACKGROUND;
        }
        self.data[((z - p) * ny + (y - p)) * nx + (x - p)].into()
    }
}

const STEP: [[usize; 3]; 3] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];

/// Layers processed by one task: enough to amortise the rolling planes.
const LAYERS_PER_TASK: usize = 8;

/// A layer of inside flags (1 at or above the iso; the padding is never
/// inside), with the x range of each row that may hold a 1: outside it
/// every flag is 0.
struct Flags {
    values: Vec<u8>,
    written: Vec<(usize, usize)>,
}

impl Flags {
    /// No row written: `lo > hi`.
    const NOTHING: (usize, usize) = (1, 0);

    /// Every flag 0.
    fn clear(&mut self) {
        self.values.fill(0);
        self.written.fill(Self::NOTHING);
    }

    fn new(gx: usize, gy: usize) -> Self {
        Self {
            values: vec![0; gx * gy],
            written: vec![Self::NOTHING; gy],
        }
    }
}

/// Inside flags of virtual layer z: every comparison with the iso is made
/// here, once per voxel, and the cut edges and cube cases are read from
/// these bytes. With the count pass's `extents`, only each row's inside
/// extent is compared, and what an earlier layer left outside it is
/// cleared.
#[inline(never)]
fn fill_flags<T: Voxel>(
    field: &Field<'_, T>,
    z: usize,
    threshold: T::Threshold,
    extents: Option<&InsideExtents>,
    out: &mut Flags,
) {
    let [gx, _, _] = field.grid();
    let p = field.pad;
    let rows = out.values.chunks_exact_mut(gx).zip(&mut out.written);
    for (y, (row, written)) in rows.enumerate() {
        let real = field.real_row(z, y);
        let (lo, hi) = match (real, extents) {
            (None, _) => Flags::NOTHING,
            (Some(real), None) => (0, real.len() - 1),
            (Some(_), Some(extents)) => extents.of(y - p, z - p).unwrap_or(Flags::NOTHING),
        };
        // What the last layer set outside the new range goes back to 0.
        let (old_lo, old_hi) = *written;
        if old_lo <= old_hi {
            if lo > hi {
                row[old_lo..=old_hi].fill(0);
            } else {
                row[old_lo..(lo + p).clamp(old_lo, old_hi + 1)].fill(0);
                row[(hi + p + 1).clamp(old_lo, old_hi + 1)..=old_hi].fill(0);
            }
        }
        *written = match real {
            Some(real) if lo <= hi => {
                T::flag_row(&real[lo..=hi], threshold, &mut row[lo + p..=hi + p]);
                (lo + p, hi + p)
            }
            _ => Flags::NOTHING,
        };
    }
}

/// Which cut axes occur in one row, and the x range holding them: whole
/// rows, and the ends of rows, are skipped (as flying edges trims rows).
#[derive(Clone, Copy, Default)]
struct RowSpan {
    /// OR of the row's masks (0: no cut edge in the row).
    axes: u8,
    /// First and last x with a cut edge (meaningful when `axes != 0`).
    lo: usize,
    hi: usize,
}

/// Cut-edge masks of layer z (bit a: edge along axis a is cut), from its
/// inside flags and those of layer z + 1 (`above` is `None` on the last
/// layer, which has no z edges), with each row's span. A mask is set only
/// where one of the flags it compares is, so each row's masks are made
/// only over the written ranges of the flag rows it reads; masks outside
/// a row's span are left as they were, and never read.
#[inline(never)]
fn cut_masks(
    here: &Flags,
    above: Option<&Flags>,
    gx: usize,
    masks: &mut [u8],
    rows: &mut [RowSpan],
) {
    let gy = rows.len();
    // One branch-free loop per row over zipped slices, so the compiler
    // vectorises it; the three axes in that one loop (a loop per axis was
    // a sixth of the extraction in wasm).
    for (y, row) in masks.chunks_exact_mut(gx).enumerate() {
        let h = &here.values[y * gx..(y + 1) * gx];
        // The last row has no next row, the last layer no layer above: the
        // row itself stands in, and a flag never differs from itself.
        let (next, next_written) = if y + 1 < gy {
            (
                &here.values[(y + 1) * gx..(y + 2) * gx],
                here.written[y + 1],
            )
        } else {
            (h, here.written[y])
        };
        let (up, up_written) = above.map_or((h, here.written[y]), |above| {
            (&above.values[y * gx..(y + 1) * gx], above.written[y])
        });
        // x's mask reads flags x and x + 1 of this row, x of the others.
        let (mut lo, mut hi) = (usize::MAX, 0);
        for (a, b) in [here.written[y], next_written, up_written] {
            if a <= b {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        if lo > hi {
            rows[y] = RowSpan::default();
            continue;
        }
        let lo = lo.saturating_sub(1);
        // The last x has no x edge: its mask is made apart (in a row one
        // voxel long, it is the only one).
        let with_x_edge = gx.checked_sub(2).map(|last| hi.min(last));
        if let Some(end) = with_x_edge.filter(|&end| lo <= end) {
            let cells = row[lo..=end]
                .iter_mut()
                .zip(&h[lo..])
                .zip(&h[lo + 1..])
                .zip(&next[lo..])
                .zip(&up[lo..]);
            for ((((m, a), b), n), u) in cells {
                *m = (a ^ b) | (a ^ n) << 1 | (a ^ u) << 2;
            }
        }
        let last = gx - 1;
        if hi == last {
            row[last] = (h[last] ^ next[last]) << 1 | (h[last] ^ up[last]) << 2;
        }
        let made = &row[lo..=hi];
        let axes = made.iter().fold(0, |acc, &m| acc | m);
        rows[y] = if axes == 0 {
            RowSpan::default()
        } else {
            RowSpan {
                axes,
                lo: lo + made.iter().position(|&m| m != 0).unwrap_or(0),
                hi: lo + made.iter().rposition(|&m| m != 0).unwrap_or(0),
            }
        };
    }
}

/// The cut-edge masks of layer `z` (whose flags are `here`), the flags of
/// layer `z + 1`, when there is one, filled into `above` first.
#[allow(clippy::too_many_arguments)]
fn masks_of_layer<T: Voxel>(
    field: &Field<'_, T>,
    z: usize,
    threshold: T::Threshold,
    extents: Option<&InsideExtents>,
    here: &Flags,
    above: &mut Flags,
    masks: &mut [u8],
    rows: &mut [RowSpan],
) {
    let [gx, _, gz] = field.grid();
    let has_above = z + 1 < gz;
    if has_above {
        fill_flags(field, z + 1, threshold, extents, above);
    }
    cut_masks(here, has_above.then_some(&*above), gx, masks, rows);
}

/// Voxels of a row sharing one base id: three cut edges each at most, so
/// every voxel's id fits a `u16` offset from its chunk's base.
const IDS_PER_BASE: usize = 1 << 14;

/// The first vertex id of every voxel with cut edges of one layer, as a
/// base per chunk of [`IDS_PER_BASE`] voxels of a row and a `u16` offset
/// per voxel: half the memory of a `u32` per voxel.
struct FirstIds {
    bases: Vec<u32>,
    offsets: Vec<u16>,
    chunks_per_row: usize,
}

impl FirstIds {
    fn new(gx: usize, gy: usize) -> Self {
        let chunks_per_row = gx.div_ceil(IDS_PER_BASE);
        Self {
            bases: vec![0; gy * chunks_per_row],
            offsets: vec![0; gx * gy],
            chunks_per_row,
        }
    }

    /// Numbers the layer's vertices from `base` (exclusive prefix of the
    /// cuts, rows without cuts skipped); returns the id after its last.
    fn fill(&mut self, masks: &[u8], rows: &[RowSpan], gx: usize, base: u32) -> u32 {
        let mut next = base;
        for (y, span) in rows.iter().enumerate() {
            if span.axes == 0 {
                continue;
            }
            for x in span.lo..=span.hi {
                let chunk = y * self.chunks_per_row + x / IDS_PER_BASE;
                if x == span.lo || x % IDS_PER_BASE == 0 {
                    self.bases[chunk] = next;
                }
                let i = x + gx * y;
                self.offsets[i] = (next - self.bases[chunk]) as u16;
                next += masks[i].count_ones();
            }
        }
        next
    }

    /// The first id of voxel (x, y).
    fn get(&self, x: usize, y: usize, gx: usize) -> u32 {
        self.bases[y * self.chunks_per_row + x / IDS_PER_BASE] + u32::from(self.offsets[x + gx * y])
    }
}

impl<T: Voxel> Field<'_, T> {
    /// Gradient in index space at virtual grid position (x, y, z), by
    /// central differences (one-sided at the grid's faces; the padding's
    /// background stands in for nothing). Values are read from the volume
    /// as stored: they are needed only at cut edges, so no plane of values
    /// is kept.
    fn gradient(&self, x: usize, y: usize, z: usize) -> DVec3 {
        let [gx, gy, gz] = self.grid();
        let here = self.value(x, y, z);
        let axis = |lo: f32, hi: f32, span: f64| -> f64 {
            let (mut lo, mut hi) = (lo, hi);
            if lo == BACKGROUND && hi == BACKGROUND {
                return 0.0;
            }
            if lo == BACKGROUND {
                lo = here;
            }
            if hi == BACKGROUND {
                hi = here;
            }
            if lo == BACKGROUND || hi == BACKGROUND {
                0.0
            } else {
                f64::from(hi - lo) / span
            }
        };
        let (x0, x1) = (x.saturating_sub(1), (x + 1).min(gx - 1));
        let (y0, y1) = (y.saturating_sub(1), (y + 1).min(gy - 1));
        let (has_below, has_above) = (z > 0, z + 1 < gz);
        let below = if has_below {
            self.value(x, y, z - 1)
        } else {
            here
        };
        let above = if has_above {
            self.value(x, y, z + 1)
        } else {
            here
        };
        let zspan = (usize::from(has_below) + usize::from(has_above)).max(1) as f64;
        DVec3::new(
            axis(
                self.value(x0, y, z),
                self.value(x1, y, z),
                (x1 - x0).max(1) as f64,
            ),
            axis(
                self.value(x, y0, z),
                self.value(x, y1, z),
                (y1 - y0).max(1) as f64,
            ),
            axis(below, above, zspan),
        )
    }
}

/// Extracts layers [za, zb) with rolling planes. Vertex ids are local to
/// the run, from 0, continuing into layer zb (the next run's first): adding
/// the run's first global id to every index makes them global.
#[inline(never)]
fn extract_layers<T: Voxel, S: Sink>(
    field: &Field<'_, T>,
    world: &WorldTransform,
    iso: f32,
    (za, zb): (usize, usize),
    extents: Option<&InsideExtents>,
    work: &mut Workspace,
    out: &mut S,
) {
    let [gx, gy, gz] = field.grid();
    let pad = field.pad as f64;
    let table = case_table();
    let Workspace {
        masks: [masks_here, masks_above],
        first: [first_here, first_above],
        rows: [rows_here, rows_above],
        flags: [flags_here, flags_above, flags_next],
    } = work;
    let threshold = T::threshold(iso);
    fill_flags(field, za, threshold, extents, flags_here);
    masks_of_layer(
        field,
        za,
        threshold,
        extents,
        flags_here,
        flags_above,
        masks_here,
        rows_here,
    );
    let mut next_id = first_here.fill(masks_here, rows_here, gx, 0);
    for z in za..zb {
        // Vertices owned by layer z.
        for (y, span) in rows_here.iter().enumerate().filter(|(_, s)| s.axes != 0) {
            for x in span.lo..=span.hi {
                let m = masks_here[x + gx * y];
                if m == 0 {
                    continue;
                }
                for (axis, step) in STEP.iter().enumerate() {
                    if m & (1 << axis) == 0 {
                        continue;
                    }
                    let (nx, ny, nz) = (x + step[0], y + step[1], z + step[2]);
                    let v0 = field.value(x, y, z);
                    let v1 = field.value(nx, ny, nz);
                    let t = f64::from(edge_fraction(iso, v0, v1));
                    let ijk = DVec3::new(x as f64, y as f64, z as f64)
                        + DVec3::from_array(step.map(|s| s as f64)) * t
                        - DVec3::splat(pad);
                    let position = world.position(ijk).as_vec3();
                    let g0 = field.gradient(x, y, z);
                    let g1 = field.gradient(nx, ny, nz);
                    let g = g0 * (1.0 - t) + g1 * t;
                    // Inside is high: the outward normal points down the gradient.
                    out.vertex(position, (-world.normal(g)).normalize_or_zero().as_vec3());
                }
            }
        }
        if z + 1 >= gz {
            break;
        }
        masks_of_layer(
            field,
            z + 1,
            threshold,
            extents,
            flags_above,
            flags_next,
            masks_above,
            rows_above,
        );
        next_id = first_above.fill(masks_above, rows_above, gx, next_id);
        // Triangles of the cubes between z and z + 1.
        for y in 0..gy - 1 {
            // A cube's edges are owned by its corners in rows y, y + 1 of
            // both layers (z edges only below): its x range is theirs.
            let spans = [
                (rows_here[y], 7),
                (rows_here[y + 1], 7),
                (rows_above[y], 3),
                (rows_above[y + 1], 3),
            ];
            let (mut lo, mut hi, mut any) = (usize::MAX, 0, false);
            for (span, axes) in spans {
                if span.axes & axes != 0 {
                    any = true;
                    lo = lo.min(span.lo);
                    hi = hi.max(span.hi);
                }
            }
            // A grid one voxel wide has no cubes.
            if !any || gx < 2 {
                continue;
            }
            for x in lo.saturating_sub(1)..=hi.min(gx - 2) {
                let i = x + gx * y;
                let corners = [i, i + 1, i + gx, i + gx + 1];
                let case = corners.iter().enumerate().fold(0u8, |case, (c, &at)| {
                    case | flags_here.values[at] << c | flags_above.values[at] << (c + 4)
                });
                if case == 0 || case == 255 {
                    continue;
                }
                let ambiguous = table.ambiguous_faces(case);
                let joined = if ambiguous == 0 {
                    0
                } else {
                    let mut values = [0f32; 8];
                    for c in 0..4 {
                        let (cx, cy) = (x + (c & 1), y + (c >> 1));
                        values[c] = field.value(cx, cy, z);
                        values[c + 4] = field.value(cx, cy, z + 1);
                    }
                    joined_faces(ambiguous, case, &values, iso)
                };
                let edge_id = |e: u8| -> u32 {
                    let e = e as usize;
                    let [dx, dy, dz] = corner(EDGES[e][0]);
                    let (cx, cy) = (x + dx, y + dy);
                    let (masks, first) = if dz == 0 {
                        (&*masks_here, &*first_here)
                    } else {
                        (&*masks_above, &*first_above)
                    };
                    first.get(cx, cy, gx)
                        + (masks[cx + gx * cy] & ((1u8 << (e / 4)) - 1)).count_ones()
                };
                for tri in table.triangles(case, joined) {
                    out.triangle([edge_id(tri[0]), edge_id(tri[1]), edge_id(tri[2])]);
                }
            }
        }
        // Roll the layers up one; the flags let go are filled next.
        std::mem::swap(masks_here, masks_above);
        std::mem::swap(first_here, first_above);
        std::mem::swap(rows_here, rows_above);
        std::mem::swap(flags_here, flags_above);
        std::mem::swap(flags_above, flags_next);
    }
}

/// The buffers a run of layers works in, made once per extraction (per
/// task natively) and handed from run to run: an extraction allocates
/// its working memory once, whatever the number of layers.
struct Workspace {
    masks: [Vec<u8>; 2],
    first: [FirstIds; 2],
    rows: [Vec<RowSpan>; 2],
    /// Inside flags of layers z, z + 1 and z + 2.
    flags: [Flags; 3],
}

impl Workspace {
    fn new(grid: [usize; 3]) -> Self {
        let [gx, gy, _] = grid;
        let masks = || vec![0u8; gx * gy];
        let rows = || vec![RowSpan::default(); gy];
        Self {
            masks: [masks(), masks()],
            first: [FirstIds::new(gx, gy), FirstIds::new(gx, gy)],
            rows: [rows(), rows()],
            flags: [Flags::new(gx, gy), Flags::new(gx, gy), Flags::new(gx, gy)],
        }
    }
}

/// Where a run of layers puts what it finds.
trait Sink {
    /// A vertex: position and outward normal (mm, LPS).
    fn vertex(&mut self, position: Vec3, normal: Vec3);
    /// A triangle of run-local vertex ids.
    fn triangle(&mut self, ids: [u32; 3]);
}

/// Output of a run of z layers, its vertex ids local to the run.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Default)]
struct LayerMesh {
    positions: Vec<Vec3>,
    normals: Vec<Vec3>,
    triangles: Vec<[u32; 3]>,
}

#[cfg(not(target_arch = "wasm32"))]
impl Sink for LayerMesh {
    fn vertex(&mut self, position: Vec3, normal: Vec3) {
        self.positions.push(position);
        self.normals.push(normal);
    }
    fn triangle(&mut self, ids: [u32; 3]) {
        self.triangles.push(ids);
    }
}

/// Runs appended straight into one mesh, their ids offset to global ones.
struct Appended<'a> {
    mesh: &'a mut Mesh,
    base: u32,
}

impl Sink for Appended<'_> {
    fn vertex(&mut self, position: Vec3, normal: Vec3) {
        self.mesh.positions.push(position);
        self.mesh.normals.push(normal);
    }
    fn triangle(&mut self, ids: [u32; 3]) {
        self.mesh.triangles.push(ids.map(|v| v + self.base));
    }
}

/// Runs of [`LAYERS_PER_TASK`] layers covering the grid.
fn runs(gz: usize) -> Vec<(usize, usize)> {
    (0..gz)
        .step_by(LAYERS_PER_TASK)
        .map(|za| (za, (za + LAYERS_PER_TASK).min(gz)))
        .collect()
}

/// One pass, runs in parallel: each run numbers its vertices from 0; a
/// run's triangles reach into the next run's first layer with ids that
/// continue its own, so offsetting by the run's first global id fixes
/// both. The runs' meshes and the whole one are briefly held together.
#[cfg(not(target_arch = "wasm32"))]
fn extract_field<T: Voxel + Sync>(field: &Field<'_, T>, world: &WorldTransform, iso: f32) -> Mesh {
    use rayon::prelude::*;
    let [_, _, gz] = field.grid();
    let layers: Vec<LayerMesh> = runs(gz)
        .par_iter()
        .map_init(
            || Workspace::new(field.grid()),
            |work, &run| {
                let mut out = LayerMesh::default();
                extract_layers(field, world, iso, run, None, work, &mut out);
                out
            },
        )
        .collect();
    let total: usize = layers.iter().map(|l| l.positions.len()).sum();
    let mut mesh = Mesh {
        positions: Vec::with_capacity(total),
        normals: Vec::with_capacity(total),
        triangles: Vec::with_capacity(layers.iter().map(|l| l.triangles.len()).sum()),
    };
    for l in layers {
        let base = mesh.positions.len() as u32;
        mesh.positions.extend(l.positions);
        mesh.normals.extend(l.normals);
        mesh.triangles
            .extend(l.triangles.into_iter().map(|t| t.map(|v| v + base)));
    }
    mesh
}

/// Two passes, one thread, for a memory that never shrinks (the browser's
/// wasm heap): the cut edges (the vertices) are counted first, one pass of
/// comparisons over the voxels as stored, then the runs are written
/// straight into a mesh allocated once, so extraction holds little more
/// than the mesh itself.
/// Triangles are reserved at two per vertex and a sixteenth more: a closed
/// surface has `2V − 4` per piece plus 4 per handle, so only a surface of
/// very many tunnels grows them. The same mesh as [`extract_field`].
fn extract_field_lean<T: Voxel>(field: &Field<'_, T>, world: &WorldTransform, iso: f32) -> Mesh {
    let mut lean = Lean::new(*field, world.clone(), iso);
    while !lean.step() {}
    lean.finish()
}

/// Stored layers counted per step of the count pass.
const COUNTED_PER_STEP: usize = 4 * LAYERS_PER_TASK;

/// Where a [`Lean`] extraction is.
enum LeanPhase {
    /// Counting the cut edges: stored layers `0..next` done, the flags of
    /// the last one kept in the workspace's first flags (unpadded, as the
    /// count pass lays them out) for the z edges of the next.
    Counting { next: usize, count: usize },
    /// Writing runs `0..next` into the mesh, sized by the count.
    Writing {
        next: usize,
        vertices: usize,
        mesh: Mesh,
    },
    /// Done.
    Finished(Mesh),
}

/// [`extract_field_lean`] a step at a time: a few layers counted, or one
/// run of layers written, per [`Lean::step`].
struct Lean<'d, T> {
    field: Field<'d, T>,
    world: WorldTransform,
    iso: f32,
    runs: Vec<(usize, usize)>,
    work: Workspace,
    /// Recorded by the count pass, read by the write pass.
    extents: InsideExtents,
    phase: LeanPhase,
}

impl<'d, T: Voxel> Lean<'d, T> {
    fn new(field: Field<'d, T>, world: WorldTransform, iso: f32) -> Self {
        // Working memory first, the mesh after it: neither moves again.
        // The count pass works in the write pass's flags, so it adds no
        // planes of its own to the heap.
        let work = Workspace::new(field.grid());
        let extents = InsideExtents::new(field.dims);
        Self {
            field,
            world,
            iso,
            runs: runs(field.grid()[2]),
            work,
            extents,
            phase: LeanPhase::Counting { next: 0, count: 0 },
        }
    }

    /// Does the next piece of work; `true` once the mesh is complete.
    fn step(&mut self) -> bool {
        let nz = self.field.dims[2];
        let threshold = T::threshold(self.iso);
        match &mut self.phase {
            LeanPhase::Counting { next, count } => {
                let [nx, ny, _] = self.field.dims;
                let end = (*next + COUNTED_PER_STEP).min(nz);
                let [below, here, _] = &mut self.work.flags;
                for z in *next..end {
                    let layer = &mut here.values[..nx * ny];
                    *count += self.field.layer_cut_edges(
                        z,
                        threshold,
                        (z > 0).then_some(&below.values[..nx * ny]),
                        layer,
                    );
                    self.extents.record(z, layer);
                    std::mem::swap(below, here);
                }
                *next = end;
                if end == nz {
                    let vertices = *count;
                    // The write pass starts from flags that are all 0.
                    for flags in &mut self.work.flags {
                        flags.clear();
                    }
                    self.phase = LeanPhase::Writing {
                        next: 0,
                        vertices,
                        mesh: Mesh {
                            positions: Vec::with_capacity(vertices),
                            normals: Vec::with_capacity(vertices),
                            triangles: Vec::with_capacity(2 * vertices + vertices / 16 + 64),
                        },
                    };
                }
                false
            }
            LeanPhase::Writing {
                next,
                vertices,
                mesh,
            } => {
                if let Some(&run) = self.runs.get(*next) {
                    let base = mesh.positions.len() as u32;
                    extract_layers(
                        &self.field,
                        &self.world,
                        self.iso,
                        run,
                        Some(&self.extents),
                        &mut self.work,
                        &mut Appended { mesh, base },
                    );
                    *next += 1;
                }
                if *next < self.runs.len() {
                    return false;
                }
                debug_assert_eq!(mesh.positions.len(), *vertices, "the count pass is exact");
                let mesh = std::mem::take(mesh);
                self.phase = LeanPhase::Finished(mesh);
                true
            }
            LeanPhase::Finished(_) => true,
        }
    }

    /// How far it is, 0 to 1 (counting taken as a quarter of the work).
    fn progress(&self) -> f64 {
        match &self.phase {
            LeanPhase::Counting { next, .. } => {
                0.25 * *next as f64 / self.field.dims[2].max(1) as f64
            }
            LeanPhase::Writing { next, .. } => {
                0.25 + 0.75 * *next as f64 / self.runs.len().max(1) as f64
            }
            LeanPhase::Finished(_) => 1.0,
        }
    }

    /// The mesh (complete once [`Lean::step`] said so).
    fn finish(self) -> Mesh {
        match self.phase {
            LeanPhase::Finished(mesh) | LeanPhase::Writing { mesh, .. } => mesh,
            LeanPhase::Counting { .. } => Mesh::default(),
        }
    }
}

/// [`extract_surface_lean`] a step at a time, so a caller with one thread
/// (the browser's study worker) can let other work in between: each
/// [`SteppedExtraction::step`] counts a few layers or writes one run of
/// layers (a few milliseconds on a 512² CT). The same mesh.
pub struct SteppedExtraction<'a>(Stepping<'a>);

/// The extraction, by voxel type.
enum Stepping<'a> {
    I16(Lean<'a, i16>),
    F32(Lean<'a, f32>),
}

impl<'a> SteppedExtraction<'a> {
    /// Prepares the extraction of `volume`'s surface (its working memory
    /// is reserved here).
    pub fn new(volume: &'a Volume, options: MarchingOptions) -> Self {
        let d = volume.geometry().dims;
        let dims = [d.x as usize, d.y as usize, d.z as usize];
        let pad = usize::from(options.close_borders);
        let world = world_transform(volume);
        Self(match volume.voxels() {
            Voxels::I16(data) => {
                Stepping::I16(Lean::new(Field { data, dims, pad }, world, options.iso))
            }
            Voxels::F32(data) => {
                Stepping::F32(Lean::new(Field { data, dims, pad }, world, options.iso))
            }
        })
    }

    /// Does the next piece of work; `true` once the mesh is complete.
    pub fn step(&mut self) -> bool {
        match &mut self.0 {
            Stepping::I16(lean) => lean.step(),
            Stepping::F32(lean) => lean.step(),
        }
    }

    /// How far it is, from 0 to 1.
    pub fn progress(&self) -> f64 {
        match &self.0 {
            Stepping::I16(lean) => lean.progress(),
            Stepping::F32(lean) => lean.progress(),
        }
    }

    /// The mesh, once [`SteppedExtraction::step`] has said it is complete.
    pub fn finish(self) -> Mesh {
        match self.0 {
            Stepping::I16(lean) => lean.finish(),
            Stepping::F32(lean) => lean.finish(),
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn extract_field<T: Voxel>(field: &Field<'_, T>, world: &WorldTransform, iso: f32) -> Mesh {
    extract_field_lean(field, world, iso)
}

/// Extracts the iso-surface of `volume` as an indexed mesh in patient mm.
pub fn extract_surface(volume: &Volume, options: MarchingOptions) -> Mesh {
    let d = volume.geometry().dims;
    let dims = [d.x as usize, d.y as usize, d.z as usize];
    let pad = usize::from(options.close_borders);
    let world = world_transform(volume);
    match volume.voxels() {
        Voxels::I16(data) => extract_field(&Field { data, dims, pad }, &world, options.iso),
        Voxels::F32(data) => extract_field(&Field { data, dims, pad }, &world, options.iso),
    }
}

/// [`extract_surface`] in two passes on one thread, never holding more
/// than the finished mesh: what the browser runs (its wasm heap never
/// shrinks). The same mesh.
pub fn extract_surface_lean(volume: &Volume, options: MarchingOptions) -> Mesh {
    let d = volume.geometry().dims;
    let dims = [d.x as usize, d.y as usize, d.z as usize];
    let pad = usize::from(options.close_borders);
    let world = world_transform(volume);
    match volume.voxels() {
        Voxels::I16(data) => extract_field_lean(&Field { data, dims, pad }, &world, options.iso),
        Voxels::F32(data) => extract_field_lean(&Field { data, dims, pad }, &world, options.iso),
    }
}
