//! Bone too thick to be a rib. A rib cut by an axial slice is a band a few
//! millimetres thick; a contrast-filled aorta or heart chamber is above
//! the bone threshold too, but 20–60 mm across. Where a rib touches one, a
//! flood along the ribs would run on through the vessels into the heart,
//! so the rib flood stays out of thick regions: per slice, the cells more
//! than `CORE_MM` inside bright tissue, grown back by the same distance.

use glam::DVec2;

use crate::grid::{CellIndex, Grid};
use crate::lesser;

/// Half a rib's thickness, with room: deeper than this inside bright
/// tissue is a vessel's lumen, a chamber or a joint's head.
const CORE_MM: f64 = 7.0;

/// Cell size (mm) the pass works at.
const CELL_MM: f64 = 2.0;

/// Grown past the core by this much more than the core's depth: a
/// lumen's rim is blurred with its wall, and chamfer distances run short.
const RIM_MM: f32 = 4.0;

/// Per slice, which ~2 mm cells are thick bright tissue.
pub(crate) struct Thick {
    stride: usize,
    w: usize,
    h: usize,
    first: usize,
    bits: Vec<u64>,
}

impl Thick {
    /// Thick regions of slices `first..=last`, not counting the vertebral
    /// body's own: the thick core holding `body(k)` (a slice's body centre,
    /// in plane mm) and all thick tissue around it belong to the spine (a
    /// body, a sacrum with its alae).
    pub fn find(
        grid: &Grid,
        first: usize,
        last: usize,
        body: impl Fn(usize) -> Option<DVec2>,
    ) -> Self {
        // ~2 mm cells: a lumen 20 mm and more across still has a core,
        // and the pass costs a fraction of what pixel-fine cells would.
        let stride = (CELL_MM / grid.spacing.x.min(grid.spacing.y))
            .round()
            .max(1.0) as usize;
        let index = CellIndex::new(grid.dims, stride);
        let (w, h) = (index.w, index.h);
        let cells = w * h;
        let mut bits = vec![0u64; ((last + 1 - first) * cells).div_ceil(64)];
        let mut slice = SliceCells {
            index,
            pixel: (grid.spacing.x.max(grid.spacing.y) * stride as f64) as f32,
            bright: vec![false; cells],
            inside: vec![0f32; cells],
            from_core: vec![0f32; cells],
        };
        for k in first..=last {
            let at_body = body(k).map(|centre| {
                (
                    (centre.x / (grid.spacing.x * stride as f64)) as usize,
                    (centre.y / (grid.spacing.y * stride as f64)) as usize,
                )
            });
            slice.mark_thick(grid, k, at_body, &mut bits, (k - first) * cells);
        }
        Self {
            stride,
            w,
            h,
            first,
            bits,
        }
    }

    /// Whether voxel (i, j, k) lies in thick bright tissue.
    pub fn contains(&self, i: usize, j: usize, k: usize) -> bool {
        let Some(slice) = k.checked_sub(self.first) else {
            return false;
        };
        let (x, y) = (i / self.stride, j / self.stride);
        if x >= self.w || y >= self.h {
            return false;
        }
        let bit = slice * self.w * self.h + y * self.w + x;
        self.bits
            .get(bit / 64)
            .is_some_and(|word| word & (1 << (bit % 64)) != 0)
    }
}

/// One row's pixels into its cells `S` pixels wide (the last may be
/// narrower): a cell stays bright when all its pixels are.
fn bright_row<const S: usize>(row: &[f32], bone: f32, cells: &mut [bool]) {
    let (whole, rest) = row.as_chunks::<S>();
    for (cell, pixels) in cells.iter_mut().zip(whole) {
        *cell &= all_bright(pixels, bone);
    }
    if !rest.is_empty() {
        cells[whole.len()] &= all_bright(rest, bone);
    }
}

/// Whether every pixel is at least `bone` HU.
#[inline(always)]
fn all_bright(pixels: &[f32], bone: f32) -> bool {
    pixels.iter().fold(true, |all, &hu| all & (hu >= bone))
}

/// One slice's ~2 mm cells and their distances, reused from slice to slice.
struct SliceCells {
    index: CellIndex,
    /// A cell's side (mm).
    pixel: f32,
    bright: Vec<bool>,
    inside: Vec<f32>,
    from_core: Vec<f32>,
}

impl SliceCells {
    /// Marks the thick cells of slice `k` in `bits` from bit `base`;
    /// `at_body` is the cell of the body's centre, if known. A function
    /// per slice: wasm has no on-stack replacement, and a loop over the
    /// slices inside `find` ran in the browser's baseline code throughout.
    #[inline(never)]
    fn mark_thick(
        &mut self,
        grid: &Grid,
        k: usize,
        at_body: Option<(usize, usize)>,
        bits: &mut [u64],
        base: usize,
    ) {
        let Self {
            index,
            pixel,
            bright,
            inside,
            from_core,
        } = self;
        let (w, h, pixel) = (index.w, index.h, *pixel);
        bright.fill(true);
        // A cell is bright when all its pixels are: thin gaps between
        // bones stay gaps.
        let bone = grid.bone_hu();
        grid.each_row(k, |j, row| {
            let cells = &mut bright[index.of(0, j)..][..w];
            // The usual strides as fixed-size chunks the compiler unrolls.
            match index.stride {
                1 => bright_row::<1>(row, bone, cells),
                2 => bright_row::<2>(row, bone, cells),
                3 => bright_row::<3>(row, bone, cells),
                4 => bright_row::<4>(row, bone, cells),
                stride => {
                    for (cell, pixels) in cells.iter_mut().zip(row.chunks(stride)) {
                        *cell &= all_bright(pixels, bone);
                    }
                }
            }
        });
        if !bright.iter().any(|&b| b) {
            return;
        }
        for (d, &b) in inside.iter_mut().zip(bright.iter()) {
            *d = if b { f32::MAX } else { 0.0 };
        }
        chamfer(inside, w, h, pixel);
        let core = CORE_MM as f32;
        for (d, &inner) in from_core.iter_mut().zip(inside.iter()) {
            *d = if inner > core { 0.0 } else { f32::MAX };
        }
        // The spine's own core is not a vessel: flood it out.
        if let Some((x, y)) = at_body {
            let spine_core = (x < w && y < h)
                .then(|| nearest_core(from_core, w, h, x, y, (CORE_MM / pixel as f64) as usize))
                .flatten();
            if let Some(start) = spine_core {
                let mut stack = vec![start];
                from_core[start] = f32::MAX;
                while let Some(c) = stack.pop() {
                    for n in crate::plane::side_neighbours(c, w, h).into_iter().flatten() {
                        if from_core[n] == 0.0 {
                            from_core[n] = f32::MAX;
                            stack.push(n);
                        }
                    }
                }
            }
        }
        // Without a core but the spine's, nothing is thick here (most
        // slices of a CT without contrast): no second distance pass.
        if !from_core.contains(&0.0) {
            return;
        }
        chamfer(from_core, w, h, pixel);
        for (c, &d) in from_core.iter().enumerate() {
            if bright[c] && d <= core + RIM_MM {
                let bit = base + c;
                bits[bit / 64] |= 1 << (bit % 64);
            }
        }
    }
}

/// A core cell (0) within `reach` cells of (x, y), the nearest first.
fn nearest_core(d: &[f32], w: usize, h: usize, x: usize, y: usize, reach: usize) -> Option<usize> {
    (0..=reach).find_map(|r| {
        let (x0, x1) = (x.saturating_sub(r), (x + r).min(w - 1));
        let (y0, y1) = (y.saturating_sub(r), (y + r).min(h - 1));
        (y0..=y1)
            .flat_map(|cy| (x0..=x1).map(move |cx| cy * w + cx))
            .find(|&c| d[c] == 0.0)
    })
}

/// Exact Euclidean distance (mm) to the nearest zero cell, in place, for
/// pixels `sx` × `sy` mm (Felzenszwalb and Huttenlocher's lower envelope
/// of parabolas, along the rows, then the columns). Where a closing must
/// bridge a gap of twice its radius in any direction: [`chamfer`] reads
/// oblique distances up to 8% long.
pub(crate) fn euclidean(d: &mut [f32], w: usize, h: usize, [sx, sy]: [f64; 2]) {
    let far = f64::from(f32::MAX) / 4.0;
    let mut squared: Vec<f64> = d
        .iter()
        .map(|&v| if v == 0.0 { 0.0 } else { far })
        .collect();
    let mut line = Vec::new();
    let mut out = Vec::new();
    let mut envelope = Envelope::default();
    for row in squared.chunks_exact_mut(w) {
        line.clear();
        line.extend_from_slice(row);
        envelope.lower(&line, sx * sx, &mut out);
        row.copy_from_slice(&out);
    }
    for x in 0..w {
        line.clear();
        line.extend((0..h).map(|y| squared[y * w + x]));
        envelope.lower(&line, sy * sy, &mut out);
        for (y, &v) in out.iter().enumerate() {
            squared[y * w + x] = v;
        }
    }
    for (v, s) in d.iter_mut().zip(squared) {
        *v = if s >= far {
            f32::MAX / 4.0
        } else {
            s.sqrt() as f32
        };
    }
}

/// The parabolas' lower envelope along one line, its buffers kept from
/// line to line: the vertices kept, and where each starts to be lowest.
#[derive(Default)]
struct Envelope {
    vertex: Vec<usize>,
    from: Vec<f64>,
}

impl Envelope {
    /// The squared distance transform of one line `f` (squared distances
    /// so far, `far` where none) with steps of squared length `step2`,
    /// into `out`.
    fn lower(&mut self, f: &[f64], step2: f64, out: &mut Vec<f64>) {
        let n = f.len();
        out.clear();
        out.resize(n, 0.0);
        let (vertex, from) = (&mut self.vertex, &mut self.from);
        vertex.clear();
        vertex.resize(n, 0);
        from.clear();
        from.resize(n + 1, f64::INFINITY);
        from[0] = f64::NEG_INFINITY;
        let mut k = 0;
        let at = |q: usize| f[q] + step2 * (q * q) as f64;
        for q in 1..n {
            // Drop the parabolas the new one lies under from where they
            // start (never the first: it starts at minus infinity).
            let s = loop {
                let v = vertex[k];
                let s = (at(q) - at(v)) / (2.0 * step2 * (q - v) as f64);
                if s > from[k] {
                    break s;
                }
                k -= 1;
            };
            k += 1;
            vertex[k] = q;
            from[k] = s;
            from[k + 1] = f64::INFINITY;
        }
        let mut k = 0;
        for (q, o) in out.iter_mut().enumerate() {
            while from[k + 1] < q as f64 {
                k += 1;
            }
            let v = vertex[k];
            let dq = q as f64 - v as f64;
            *o = step2 * dq * dq + f[v];
        }
    }
}

/// Distance (mm) to the nearest zero cell, in place: two passes of a
/// 3×3 chamfer (edge `pixel`, diagonal `pixel`·√2). Row against row, one
/// neighbour at a time, so no loop branches on a row's ends (it runs on
/// every slice of the CT).
pub(crate) fn chamfer(d: &mut [f32], w: usize, h: usize, pixel: f32) {
    let diagonal = pixel * std::f32::consts::SQRT_2;
    for y in 0..h {
        let (before, rest) = d.split_at_mut(y * w);
        let row = &mut rest[..w];
        if y > 0 {
            let above = &before[(y - 1) * w..];
            forward_from_row(row, above, pixel, diagonal);
        }
        for x in 1..w {
            row[x] = lesser(row[x], row[x - 1] + pixel);
        }
    }
    for y in (0..h).rev() {
        let (rest, after) = d.split_at_mut((y + 1) * w);
        let row = &mut rest[y * w..];
        if y + 1 < h {
            let below = &after[..w];
            forward_from_row(row, below, pixel, diagonal);
        }
        for x in (0..w.saturating_sub(1)).rev() {
            row[x] = lesser(row[x], row[x + 1] + pixel);
        }
    }
}

/// Each cell of `row` lowered to its neighbour in `other` (the row before
/// in the pass's direction) plus `pixel`, or one cell to either side plus
/// `diagonal`.
fn forward_from_row(row: &mut [f32], other: &[f32], pixel: f32, diagonal: f32) {
    let w = row.len();
    for (x, cell) in row.iter_mut().enumerate() {
        *cell = lesser(*cell, other[x] + pixel);
    }
    for x in 1..w {
        row[x] = lesser(row[x], other[x - 1] + diagonal);
    }
    for x in 0..w.saturating_sub(1) {
        row[x] = lesser(row[x], other[x + 1] + diagonal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euclidean_distances_are_exact_at_every_angle() {
        let (w, h) = (40, 30);
        let mut d = vec![1.0f32; w * h];
        d[5 * w + 3] = 0.0;
        euclidean(&mut d, w, h, [0.7, 1.2]);
        for y in 0..h {
            for x in 0..w {
                let want = ((x as f64 - 3.0) * 0.7).hypot((y as f64 - 5.0) * 1.2);
                assert!((f64::from(d[y * w + x]) - want).abs() < 1e-3, "({x}, {y})");
            }
        }
    }

    /// The distances the 3×3 chamfer defines, by repeated relaxation.
    fn relaxed(d: &[f32], w: usize, h: usize, pixel: f32) -> Vec<f32> {
        let mut d = d.to_vec();
        let diagonal = pixel * std::f32::consts::SQRT_2;
        loop {
            let mut changed = false;
            for y in 0..h as i64 {
                for x in 0..w as i64 {
                    let c = (y * w as i64 + x) as usize;
                    for (dx, dy) in [
                        (-1i64, 0i64),
                        (1, 0),
                        (0, -1),
                        (0, 1),
                        (-1, -1),
                        (1, -1),
                        (-1, 1),
                        (1, 1),
                    ] {
                        let (nx, ny) = (x + dx, y + dy);
                        if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                            continue;
                        }
                        let step = if dx != 0 && dy != 0 { diagonal } else { pixel };
                        let via = d[(ny * w as i64 + nx) as usize] + step;
                        if via < d[c] {
                            d[c] = via;
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                return d;
            }
        }
    }

    #[test]
    fn two_passes_give_the_chamfer_distance_to_the_nearest_zero() {
        let (w, h) = (13, 9);
        let mut d = vec![f32::MAX; w * h];
        for &c in &[0, 5 * w + 7, 8 * w + 12, 3 * w + 1] {
            d[c] = 0.0;
        }
        let want = relaxed(&d, w, h, 2.0);
        chamfer(&mut d, w, h, 2.0);
        for (c, (got, want)) in d.iter().zip(&want).enumerate() {
            assert!((got - want).abs() < 1e-4, "cell {c}: {got} against {want}");
        }
    }
}
