// Shared by the marching-cubes passes (prepended to mc_count.wgsl,
// mc_vertices.wgsl and mc_triangles.wgsl, after a prelude of constants from
// the Rust case table): the scalar grid, its padding, the cut-edge rule and
// the case table (`cases`: 256 ambiguous-face masks, then the rows). Every rule here mirrors insitu-mesh's CPU extractor exactly,
// which is what makes GPU and CPU output identical.

struct McParams {
    // Virtual grid (real dims + 2 * pad on each axis).
    grid_x: u32,
    grid_y: u32,
    grid_z: u32,
    pad: u32,
    // Real volume dims.
    dim_x: u32,
    dim_y: u32,
    dim_z: u32,
    // 0: packed i16 pairs, 1: f32 bits.
    format: u32,
    // Slab: owned virtual layers [z0, z1); arrays cover [z0, z0 + layers).
    z0: u32,
    z1: u32,
    layers: u32,
    // First real layer uploaded, and the element offset into the first word.
    real_z_start: u32,
    elem_offset: u32,
    vertex_base: u32,
    groups_x: u32,
    iso: f32,
}

const BACKGROUND: f32 = -1.0e9;

@group(0) @binding(0) var<uniform> params: McParams;
@group(0) @binding(1) var<storage, read> voxels: array<u32>;
@group(0) @binding(2) var<storage, read> cases: array<u32>;

// Value at virtual grid position (x, y, z); background outside the volume.
fn sample(x: u32, y: u32, z: u32) -> f32 {
    let p = params.pad;
    if (x < p || y < p || z < p || x >= params.dim_x + p || y >= params.dim_y + p || z >= params.dim_z + p) {
        return BACKGROUND;
    }
    let rz = z - p - params.real_z_start;
    let index = (x - p) + params.dim_x * ((y - p) + params.dim_y * rz) + params.elem_offset;
    if (params.format == 0u) {
        let word = voxels[index >> 1u];
        let half = (word >> ((index & 1u) * 16u)) & 0xffffu;
        return f32(bitcast<i32>(half << 16u) >> 16u);
    }
    return bitcast<f32>(voxels[index]);
}

fn inside(x: u32, y: u32, z: u32) -> bool {
    return sample(x, y, z) >= params.iso;
}

// Unit step along axis 0 (x), 1 (y) or 2 (z).
fn axis_step(axis: u32) -> vec3<u32> {
    return vec3<u32>(select(0u, 1u, axis == 0u), select(0u, 1u, axis == 1u), select(0u, 1u, axis == 2u));
}

// Bit a set: the edge from (x, y, z) along axis a is cut. Loops rather than
// unrolled calls: SwiftShader (Chromium's software WebGPU) inlines every call
// site, and the unrolled shader lost its device at compile time.
fn cut_mask(x: u32, y: u32, z: u32) -> u32 {
    let p = vec3<u32>(x, y, z);
    let here = inside(x, y, z);
    let limit = vec3<u32>(params.grid_x, params.grid_y, params.grid_z);
    var mask = 0u;
    for (var axis = 0u; axis < 3u; axis++) {
        let n = p + axis_step(axis);
        if (all(n < limit) && inside(n.x, n.y, n.z) != here) { mask |= 1u << axis; }
    }
    return mask;
}

// Bits set among the three axis bits (portable popcount of a cut mask).
fn cut_count(mask: u32) -> u32 {
    return (mask & 1u) + ((mask >> 1u) & 1u) + ((mask >> 2u) & 1u);
}

fn corner_offset(c: u32) -> vec3<u32> {
    return vec3<u32>(c & 1u, (c >> 1u) & 1u, (c >> 2u) & 1u);
}

// The cube's table row: its corner pattern and which of its ambiguous
// faces join their inside corners (the asymptotic decider, exactly as
// insitu-mesh's `joined_faces`: two rounded products compared). The
// prelude (FACE_CORNERS, CASE_STRIDE, FACE_MASKS, CONFIGS_AT) comes from
// the Rust case table.
fn cube_config(x: u32, y: u32, z: u32) -> u32 {
    var values: array<f32, 8>;
    var case_index = 0u;
    for (var c = 0u; c < 8u; c++) {
        let o = corner_offset(c);
        let v = sample(x + o.x, y + o.y, z + o.z);
        values[c] = v;
        if (v >= params.iso) { case_index |= 1u << c; }
    }
    let ambiguous = cases[case_index];
    var joined = 0u;
    var faces = FACE_CORNERS;
    for (var f = 0u; f < 6u; f++) {
        if (((ambiguous >> f) & 1u) == 0u) { continue; }
        let face = faces[f];
        let diagonal = (values[face.x] - params.iso) * (values[face.z] - params.iso);
        let other = (values[face.y] - params.iso) * (values[face.w] - params.iso);
        let inside_first = ((case_index >> face.x) & 1u) == 1u;
        let inside = select(other, diagonal, inside_first);
        let outside = select(diagonal, other, inside_first);
        if (inside >= outside) { joined |= 1u << f; }
    }
    return case_index * FACE_MASKS + joined;
}

// Edge index `j` of a table row (255 ends the row).
fn config_edge(config: u32, j: u32) -> u32 {
    return cases[CONFIGS_AT + config * CASE_STRIDE + j];
}

fn case_triangles(config: u32) -> u32 {
    var n = 0u;
    for (var i = 0u; i < CASE_STRIDE; i += 3u) {
        if (config_edge(config, i) == 255u) { break; }
        n += 1u;
    }
    return n;
}

// Slab-local linear index of the invocation, folded over y for wide dispatches.
fn invocation_index(gid: vec3<u32>) -> u32 {
    return gid.x + gid.y * params.groups_x * 64u;
}

// Virtual grid position of slab-local voxel i.
fn slab_voxel(i: u32) -> vec3<u32> {
    let plane = params.grid_x * params.grid_y;
    return vec3<u32>(i % params.grid_x, (i / params.grid_x) % params.grid_y, params.z0 + i / plane);
}
