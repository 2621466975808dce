// Pass 3 of marching cubes (after mc_common.wgsl and the scans): write each
// owned vertex (fractional voxel index + index-space gradient) at its scanned
// slot, and each triangle's global vertex ids at the cube's scanned slot.

@group(0) @binding(3) var<storage, read> vertex_offsets: array<u32>;
@group(0) @binding(4) var<storage, read> triangle_offsets: array<u32>;
@group(0) @binding(5) var<storage, read_write> vertices: array<f32>;
@group(0) @binding(6) var<storage, read_write> triangles: array<u32>;

// Start corner of cube edge e (insitu-mesh's EDGES table): x edges start at
// corners 0, 2, 4, 6; y edges at 0, 1, 4, 5; z edges at 0, 1, 2, 3.
fn edge_start(e: u32) -> u32 {
    if (e < 4u) { return 2u * e; }
    if (e < 8u) { return ((e - 4u) & 1u) | (((e - 4u) >> 1u) << 2u); }
    return e - 8u;
}

// One-sided differences next to the background padding. No NaN tricks:
// GPU compilers may assume NaN never occurs.
fn axis_gradient(lo: f32, hi: f32, here: f32, span: f32) -> f32 {
    var l = lo;
    var h = hi;
    if (l == BACKGROUND && h == BACKGROUND) { return 0.0; }
    if (l == BACKGROUND) { l = here; }
    if (h == BACKGROUND) { h = here; }
    if (l == BACKGROUND || h == BACKGROUND) { return 0.0; }
    return (h - l) / span;
}

fn gradient(x: u32, y: u32, z: u32) -> vec3<f32> {
    let here = sample(x, y, z);
    let x0 = select(x - 1u, 0u, x == 0u);
    let x1 = min(x + 1u, params.grid_x - 1u);
    let y0 = select(y - 1u, 0u, y == 0u);
    let y1 = min(y + 1u, params.grid_y - 1u);
    let z0 = select(z - 1u, 0u, z == 0u);
    let z1 = min(z + 1u, params.grid_z - 1u);
    return vec3<f32>(
        axis_gradient(sample(x0, y, z), sample(x1, y, z), here, f32(max(x1 - x0, 1u))),
        axis_gradient(sample(x, y0, z), sample(x, y1, z), here, f32(max(y1 - y0, 1u))),
        axis_gradient(sample(x, y, z0), sample(x, y, z1), here, f32(max(z1 - z0, 1u))),
    );
}

fn local_index(x: u32, y: u32, z: u32) -> u32 {
    return x + params.grid_x * (y + params.grid_y * (z - params.z0));
}

// Global id of the vertex on the edge leaving (x, y, z) along `axis`.
fn vertex_id(x: u32, y: u32, z: u32, axis: u32) -> u32 {
    let mask = cut_mask(x, y, z);
    let rank = cut_count(mask & ((1u << axis) - 1u));
    return params.vertex_base + vertex_offsets[local_index(x, y, z)] + rank;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = invocation_index(gid);
    if (i >= params.grid_x * params.grid_y * params.layers) { return; }
    let v = slab_voxel(i);
    let x = v.x;
    let y = v.y;
    let z = v.z;
    if (z >= params.z1) { return; }
    let pad = f32(params.pad);
    let mask = cut_mask(x, y, z);
    var slot = vertex_offsets[i];
    for (var axis = 0u; axis < 3u; axis++) {
        if ((mask & (1u << axis)) == 0u) { continue; }
        let step = vec3<u32>(select(0u, 1u, axis == 0u), select(0u, 1u, axis == 1u), select(0u, 1u, axis == 2u));
        let n = vec3<u32>(x, y, z) + step;
        let v0 = sample(x, y, z);
        let v1 = sample(n.x, n.y, n.z);
        let t = clamp((params.iso - v0) / (v1 - v0), 0.0, 1.0);
        let p = vec3<f32>(f32(x), f32(y), f32(z)) + vec3<f32>(step) * t - vec3<f32>(pad);
        let g = gradient(x, y, z) * (1.0 - t) + gradient(n.x, n.y, n.z) * t;
        let at = slot * 6u;
        vertices[at] = p.x;
        vertices[at + 1u] = p.y;
        vertices[at + 2u] = p.z;
        vertices[at + 3u] = g.x;
        vertices[at + 4u] = g.y;
        vertices[at + 5u] = g.z;
        slot += 1u;
    }
    if (x + 1u >= params.grid_x || y + 1u >= params.grid_y || z + 1u >= params.grid_z) { return; }
    let case_index = cube_case(x, y, z);
    let count = case_triangles(case_index);
    let base = triangle_offsets[i];
    for (var t = 0u; t < count; t++) {
        for (var k = 0u; k < 3u; k++) {
            let e = cases[case_index * 16u + t * 3u + k];
            let o = corner_offset(edge_start(e));
            triangles[(base + t) * 3u + k] = vertex_id(x + o.x, y + o.y, z + o.z, e / 4u);
        }
    }
}
