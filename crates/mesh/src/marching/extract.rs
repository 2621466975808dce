//! The CPU extractor, parallel over z layers natively, identical output
//! single-threaded.

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

/// A scalar grid, optionally padded by one background voxel per side.
struct Field<'a, T> {
    data: &'a [T],
    dims: [usize; 3],
    pad: usize,
}

impl<T: Copy + Into<f32>> Field<'_, T> {
    /// Dimensions of the (virtual) grid.
    fn grid(&self) -> [usize; 3] {
        self.dims.map(|d| d + 2 * self.pad)
    }
}

const STEP: [[usize; 3]; 3] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];

/// Layers processed by one task: enough to amortise the rolling planes.
const LAYERS_PER_TASK: usize = 8;

/// One virtual z layer materialised as f32 (background in the padding), so
/// the inner loops index without bounds logic.
fn fill_plane<T: Copy + Into<f32>>(field: &Field<'_, T>, z: usize, out: &mut [f32]) {
    let [gx, gy, _] = field.grid();
    let p = field.pad;
    let [nx, ny, nz] = field.dims;
    if z < p || z >= nz + p {
        out.fill(BACKGROUND);
        return;
    }
    let real = &field.data[(z - p) * nx * ny..(z - p + 1) * nx * ny];
    if p == 0 {
        for (o, v) in out.iter_mut().zip(real) {
            *o = (*v).into();
        }
        return;
    }
    out[..gx].fill(BACKGROUND);
    out[(gy - 1) * gx..].fill(BACKGROUND);
    for y in 0..ny {
        let row = &mut out[(y + 1) * gx..(y + 2) * gx];
        row[0] = BACKGROUND;
        row[gx - 1] = BACKGROUND;
        for (o, v) in row[1..=nx].iter_mut().zip(&real[y * nx..(y + 1) * nx]) {
            *o = (*v).into();
        }
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

/// Cut-edge masks of layer z (bit a: edge along axis a is cut), from the
/// planes of z and z + 1 (`above` is `None` on the last layer), with each
/// row's span.
fn cut_masks(
    here: &[f32],
    above: Option<&[f32]>,
    gx: usize,
    gy: usize,
    iso: f32,
    masks: &mut [u8],
    rows: &mut [RowSpan],
) {
    // Branch-free row loops over zipped slices, so the compiler vectorises them.
    for (y, row) in masks.chunks_exact_mut(gx).enumerate() {
        let h = &here[y * gx..(y + 1) * gx];
        for ((m, a), b) in row.iter_mut().zip(h).zip(&h[1..]) {
            *m = u8::from((*a >= iso) != (*b >= iso));
        }
        row[gx - 1] = 0;
        if y + 1 < gy {
            let next = &here[(y + 1) * gx..(y + 2) * gx];
            for ((m, a), b) in row.iter_mut().zip(h).zip(next) {
                *m |= u8::from((*a >= iso) != (*b >= iso)) << 1;
            }
        }
        if let Some(above) = above {
            let up = &above[y * gx..(y + 1) * gx];
            for ((m, a), b) in row.iter_mut().zip(h).zip(up) {
                *m |= u8::from((*a >= iso) != (*b >= iso)) << 2;
            }
        }
        let axes = row.iter().fold(0, |acc, &m| acc | m);
        rows[y] = if axes == 0 {
            RowSpan::default()
        } else {
            RowSpan {
                axes,
                lo: row.iter().position(|&m| m != 0).unwrap_or(0),
                hi: row.iter().rposition(|&m| m != 0).unwrap_or(0),
            }
        };
    }
}

/// First vertex id of every voxel with cut edges (exclusive prefix of the
/// cuts, rows without cuts skipped); returns the id after the layer's last.
fn first_ids(masks: &[u8], rows: &[RowSpan], gx: usize, base: u32, first: &mut [u32]) -> u32 {
    let mut next = base;
    for (y, span) in rows.iter().enumerate() {
        if span.axes == 0 {
            continue;
        }
        let range = y * gx + span.lo..=y * gx + span.hi;
        for (f, m) in first[range.clone()].iter_mut().zip(&masks[range]) {
            *f = next;
            next += m.count_ones();
        }
    }
    next
}

/// Gradient in index space from up to four consecutive planes.
struct Neighbourhood<'a> {
    below: Option<&'a [f32]>,
    here: &'a [f32],
    above: Option<&'a [f32]>,
    gx: usize,
    gy: usize,
}

impl Neighbourhood<'_> {
    fn gradient(&self, x: usize, y: usize) -> DVec3 {
        let (gx, gy) = (self.gx, self.gy);
        let i = x + gx * y;
        let here = self.here[i];
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
        let below = self.below.map_or(here, |p| p[i]);
        let above = self.above.map_or(here, |p| p[i]);
        let zspan =
            (usize::from(self.below.is_some()) + usize::from(self.above.is_some())).max(1) as f64;
        DVec3::new(
            axis(
                self.here[x0 + gx * y],
                self.here[x1 + gx * y],
                (x1 - x0).max(1) as f64,
            ),
            axis(
                self.here[x + gx * y0],
                self.here[x + gx * y1],
                (y1 - y0).max(1) as f64,
            ),
            axis(below, above, zspan),
        )
    }
}

/// Extracts layers [za, zb) with rolling planes. Vertex ids are local to
/// the run, from 0, continuing into layer zb (the next run's first): adding
/// the run's first global id to every index makes them global.
fn extract_layers<T: Copy + Into<f32>>(
    field: &Field<'_, T>,
    world: &WorldTransform,
    iso: f32,
    za: usize,
    zb: usize,
) -> LayerMesh {
    let [gx, gy, gz] = field.grid();
    let plane = gx * gy;
    let pad = field.pad as f64;
    let table = case_table();
    let load = |z: usize| {
        let mut p = vec![0f32; plane];
        fill_plane(field, z, &mut p);
        p
    };
    // Planes z-1, z, z+1, z+2 (None outside the grid).
    let mut below = (za > 0).then(|| load(za - 1));
    let mut here = load(za);
    let mut above = (za + 1 < gz).then(|| load(za + 1));
    let mut above2 = (za + 2 < gz).then(|| load(za + 2));
    let mut masks_here = vec![0u8; plane];
    let mut masks_above = vec![0u8; plane];
    let mut first_here = vec![0u32; plane];
    let mut first_above = vec![0u32; plane];
    let mut rows_here = vec![RowSpan::default(); gy];
    let mut rows_above = vec![RowSpan::default(); gy];
    cut_masks(
        &here,
        above.as_deref(),
        gx,
        gy,
        iso,
        &mut masks_here,
        &mut rows_here,
    );
    let mut next_id = first_ids(&masks_here, &rows_here, gx, 0, &mut first_here);
    let mut out = LayerMesh::default();
    for z in za..zb {
        // Vertices owned by layer z.
        let hood_here = Neighbourhood {
            below: below.as_deref(),
            here: &here,
            above: above.as_deref(),
            gx,
            gy,
        };
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
                    let (nx, ny) = (x + step[0], y + step[1]);
                    let v0 = here[x + gx * y];
                    let v1 = if axis == 2 {
                        above.as_ref().expect("z edge has a plane above")[x + gx * y]
                    } else {
                        here[nx + gx * ny]
                    };
                    let t = f64::from(edge_fraction(iso, v0, v1));
                    let ijk = DVec3::new(x as f64, y as f64, z as f64)
                        + DVec3::from_array(step.map(|s| s as f64)) * t
                        - DVec3::splat(pad);
                    out.positions.push(world.position(ijk).as_vec3());
                    let g0 = hood_here.gradient(x, y);
                    let g1 = if axis == 2 {
                        Neighbourhood {
                            below: Some(&here),
                            here: above.as_deref().expect("plane above"),
                            above: above2.as_deref(),
                            gx,
                            gy,
                        }
                        .gradient(x, y)
                    } else {
                        hood_here.gradient(nx, ny)
                    };
                    let g = g0 * (1.0 - t) + g1 * t;
                    // Inside is high: the outward normal points down the gradient.
                    out.normals
                        .push((-world.normal(g)).normalize_or_zero().as_vec3());
                }
            }
        }
        let Some(above_plane) = above.as_deref() else {
            break;
        };
        cut_masks(
            above_plane,
            above2.as_deref(),
            gx,
            gy,
            iso,
            &mut masks_above,
            &mut rows_above,
        );
        next_id = first_ids(&masks_above, &rows_above, gx, next_id, &mut first_above);
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
            if !any {
                continue;
            }
            for x in lo.saturating_sub(1)..=hi.min(gx - 2) {
                let i = x + gx * y;
                let corners = [i, i + 1, i + gx, i + gx + 1];
                let mut case = 0u8;
                for (c, &at) in corners.iter().enumerate() {
                    if here[at] >= iso {
                        case |= 1 << c;
                    }
                    if above_plane[at] >= iso {
                        case |= 1 << (c + 4);
                    }
                }
                if case == 0 || case == 255 {
                    continue;
                }
                let ambiguous = table.ambiguous_faces(case);
                let joined = if ambiguous == 0 {
                    0
                } else {
                    let mut values = [0f32; 8];
                    for (c, &at) in corners.iter().enumerate() {
                        values[c] = here[at];
                        values[c + 4] = above_plane[at];
                    }
                    joined_faces(ambiguous, case, &values, iso)
                };
                let edge_id = |e: u8| -> u32 {
                    let e = e as usize;
                    let [dx, dy, dz] = corner(EDGES[e][0]);
                    let at = (x + dx) + gx * (y + dy);
                    let (masks, first) = if dz == 0 {
                        (&masks_here, &first_here)
                    } else {
                        (&masks_above, &first_above)
                    };
                    first[at] + (masks[at] & ((1u8 << (e / 4)) - 1)).count_ones()
                };
                for tri in table.triangles(case, joined) {
                    out.triangles
                        .push([edge_id(tri[0]), edge_id(tri[1]), edge_id(tri[2])]);
                }
            }
        }
        // Roll the planes up one layer.
        std::mem::swap(&mut masks_here, &mut masks_above);
        std::mem::swap(&mut first_here, &mut first_above);
        std::mem::swap(&mut rows_here, &mut rows_above);
        below = Some(std::mem::replace(
            &mut here,
            above.take().expect("checked above"),
        ));
        above = above2.take();
        above2 = (z + 3 < gz).then(|| load(z + 3));
    }
    out
}

/// Output of a run of z layers.
#[derive(Default)]
struct LayerMesh {
    positions: Vec<Vec3>,
    normals: Vec<Vec3>,
    triangles: Vec<[u32; 3]>,
}

fn extract_field<T: Copy + Into<f32> + Sync>(
    field: &Field<'_, T>,
    world: &WorldTransform,
    iso: f32,
) -> Mesh {
    let [_, _, gz] = field.grid();
    let tasks: Vec<(usize, usize)> = (0..gz)
        .step_by(LAYERS_PER_TASK)
        .map(|za| (za, (za + LAYERS_PER_TASK).min(gz)))
        .collect();
    // One pass: each run numbers its vertices from 0; a run's triangles
    // reach into the next run's first layer with ids that continue its own,
    // so offsetting by the run's first global id fixes both.
    let run = |&(za, zb): &(usize, usize)| extract_layers(field, world, iso, za, zb);
    #[cfg(not(target_arch = "wasm32"))]
    let layers: Vec<LayerMesh> = {
        use rayon::prelude::*;
        tasks.par_iter().map(run).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let layers: Vec<LayerMesh> = tasks.iter().map(run).collect();
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
