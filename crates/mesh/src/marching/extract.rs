//! The CPU extractor, parallel over z layers natively, identical output
//! single-threaded.

use glam::{DMat3, DVec3, Vec3};
use insitu_volume::{Volume, Voxels};

use super::cases::{EDGES, case_table, corner};
use crate::Mesh;

/// Value of the padding layer added by `close_borders`: far below any iso.
pub const BACKGROUND: f32 = -1.0e9;

/// What to extract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceOptions {
    /// Iso level (HU); voxels at or above it are inside.
    pub iso: f32,
    /// Pad the grid with background so the surface is closed at the border.
    pub close_borders: bool,
}

impl Default for SurfaceOptions {
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

    fn value(&self, x: usize, y: usize, z: usize) -> f32 {
        let p = self.pad;
        if x < p
            || y < p
            || z < p
            || x >= self.dims[0] + p
            || y >= self.dims[1] + p
            || z >= self.dims[2] + p
        {
            return BACKGROUND;
        }
        let (x, y, z) = (x - p, y - p, z - p);
        self.data[x + self.dims[0] * (y + self.dims[1] * z)].into()
    }

    /// Central-difference gradient in index space (one-sided at the border).
    fn gradient(&self, x: usize, y: usize, z: usize) -> DVec3 {
        let g = self.grid();
        let clamp = |v: f32| if v == BACKGROUND { f32::NAN } else { v };
        let here = self.value(x, y, z);
        let axis = |lo: f32, hi: f32, span: f64| -> f64 {
            let (lo, hi) = (clamp(lo), clamp(hi));
            let (lo, hi) = match (lo.is_nan(), hi.is_nan()) {
                (false, false) => (lo, hi),
                (true, false) => (clamp(here), hi),
                (false, true) => (lo, clamp(here)),
                (true, true) => return 0.0,
            };
            if lo.is_nan() || hi.is_nan() {
                0.0
            } else {
                f64::from(hi - lo) / span
            }
        };
        let d = |c: usize, n: usize| -> (usize, usize, f64) {
            let lo = c.saturating_sub(1);
            let hi = (c + 1).min(n - 1);
            (lo, hi, (hi - lo).max(1) as f64)
        };
        let (x0, x1, sx) = d(x, g[0]);
        let (y0, y1, sy) = d(y, g[1]);
        let (z0, z1, sz) = d(z, g[2]);
        DVec3::new(
            axis(self.value(x0, y, z), self.value(x1, y, z), sx),
            axis(self.value(x, y0, z), self.value(x, y1, z), sy),
            axis(self.value(x, y, z0), self.value(x, y, z1), sz),
        )
    }
}

const STEP: [[usize; 3]; 3] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];

/// Per-layer vertex ids: `ids[(x + gx*y)*3 + axis]`, `u32::MAX` when uncut.
fn layer_ids<T: Copy + Into<f32>>(
    field: &Field<'_, T>,
    z: usize,
    iso: f32,
    base: u32,
    ids: &mut [u32],
) -> u32 {
    let [gx, gy, gz] = field.grid();
    let mut next = base;
    for y in 0..gy {
        for x in 0..gx {
            let inside = field.value(x, y, z) >= iso;
            for (axis, step) in STEP.iter().enumerate() {
                let (nx, ny, nz) = (x + step[0], y + step[1], z + step[2]);
                let slot = (x + gx * y) * 3 + axis;
                if nx < gx && ny < gy && nz < gz && (field.value(nx, ny, nz) >= iso) != inside {
                    ids[slot] = next;
                    next += 1;
                } else {
                    ids[slot] = u32::MAX;
                }
            }
        }
    }
    next - base
}

/// Output of one z layer.
#[derive(Default)]
struct LayerMesh {
    positions: Vec<Vec3>,
    normals: Vec<Vec3>,
    triangles: Vec<[u32; 3]>,
}

fn extract_layer<T: Copy + Into<f32>>(
    field: &Field<'_, T>,
    world: &WorldTransform,
    z: usize,
    iso: f32,
    bases: &[u32],
) -> LayerMesh {
    let [gx, gy, gz] = field.grid();
    let pad = field.pad as f64;
    let mut here = vec![u32::MAX; gx * gy * 3];
    layer_ids(field, z, iso, bases[z], &mut here);
    let mut out = LayerMesh::default();
    // Vertices owned by this layer, in canonical order.
    for y in 0..gy {
        for x in 0..gx {
            for (axis, step) in STEP.iter().enumerate() {
                if here[(x + gx * y) * 3 + axis] == u32::MAX {
                    continue;
                }
                let (nx, ny, nz) = (x + step[0], y + step[1], z + step[2]);
                let (v0, v1) = (field.value(x, y, z), field.value(nx, ny, nz));
                let t = f64::from((iso - v0) / (v1 - v0)).clamp(0.0, 1.0);
                let ijk = DVec3::new(x as f64, y as f64, z as f64)
                    + DVec3::from_array(step.map(|s| s as f64)) * t
                    - DVec3::splat(pad);
                out.positions.push(world.position(ijk).as_vec3());
                let g = field.gradient(x, y, z) * (1.0 - t) + field.gradient(nx, ny, nz) * t;
                // Inside is high: the outward normal points down the gradient.
                out.normals
                    .push((-world.normal(g)).normalize_or_zero().as_vec3());
            }
        }
    }
    if z + 1 >= gz {
        return out;
    }
    let mut above = vec![u32::MAX; gx * gy * 3];
    layer_ids(field, z + 1, iso, bases[z + 1], &mut above);
    let table = case_table();
    for y in 0..gy - 1 {
        for x in 0..gx - 1 {
            let mut case = 0u8;
            for c in 0..8 {
                let [dx, dy, dz] = corner(c);
                if field.value(x + dx, y + dy, z + dz) >= iso {
                    case |= 1 << c;
                }
            }
            if case == 0 || case == 255 {
                continue;
            }
            let edge_id = |e: u8| -> u32 {
                let e = e as usize;
                let [dx, dy, dz] = corner(EDGES[e][0]);
                let layer = if dz == 0 { &here } else { &above };
                layer[((x + dx) + gx * (y + dy)) * 3 + e / 4]
            };
            for tri in table[case as usize].chunks(3).take_while(|t| t[0] != 255) {
                out.triangles
                    .push([edge_id(tri[0]), edge_id(tri[1]), edge_id(tri[2])]);
            }
        }
    }
    out
}

fn extract_field<T: Copy + Into<f32> + Sync>(
    field: &Field<'_, T>,
    world: &WorldTransform,
    iso: f32,
) -> Mesh {
    let [gx, gy, gz] = field.grid();
    let count_layer = |z: usize| {
        let mut ids = vec![0u32; gx * gy * 3];
        layer_ids(field, z, iso, 0, &mut ids)
    };
    #[cfg(not(target_arch = "wasm32"))]
    let counts: Vec<u32> = {
        use rayon::prelude::*;
        (0..gz).into_par_iter().map(count_layer).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let counts: Vec<u32> = (0..gz).map(count_layer).collect();
    let mut bases = Vec::with_capacity(gz + 1);
    let mut total = 0u32;
    for c in &counts {
        bases.push(total);
        total += c;
    }
    bases.push(total);
    let layer = |z: usize| extract_layer(field, world, z, iso, &bases);
    #[cfg(not(target_arch = "wasm32"))]
    let layers: Vec<LayerMesh> = {
        use rayon::prelude::*;
        (0..gz).into_par_iter().map(layer).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let layers: Vec<LayerMesh> = (0..gz).map(layer).collect();
    let mut mesh = Mesh {
        positions: Vec::with_capacity(total as usize),
        normals: Vec::with_capacity(total as usize),
        triangles: Vec::with_capacity(layers.iter().map(|l| l.triangles.len()).sum()),
    };
    for l in layers {
        mesh.positions.extend(l.positions);
        mesh.normals.extend(l.normals);
        mesh.triangles.extend(l.triangles);
    }
    mesh
}

/// Extracts the iso-surface of `volume` as an indexed mesh in patient mm.
pub fn extract_surface(volume: &Volume, options: SurfaceOptions) -> Mesh {
    let d = volume.geometry().dims;
    let dims = [d.x as usize, d.y as usize, d.z as usize];
    let pad = usize::from(options.close_borders);
    let world = world_transform(volume);
    match volume.voxels() {
        Voxels::I16(data) => extract_field(&Field { data, dims, pad }, &world, options.iso),
        Voxels::F32(data) => extract_field(&Field { data, dims, pad }, &world, options.iso),
    }
}
