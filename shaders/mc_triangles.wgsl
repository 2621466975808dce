// Pass 3b of marching cubes (after mc_common.wgsl and the scans): each
// cube's triangles, as global vertex ids, at the cube's scanned slot.

@group(0) @binding(3) var<storage, read> vertex_offsets: array<u32>;
@group(0) @binding(4) var<storage, read> triangle_offsets: array<u32>;
@group(0) @binding(6) var<storage, read_write> triangles: array<u32>;

// Start corner of cube edge e (insitu-mesh's EDGES table): x edges start at
// corners 0, 2, 4, 6; y edges at 0, 1, 4, 5; z edges at 0, 1, 2, 3.
fn edge_start(e: u32) -> u32 {
    if (e < 4u) { return 2u * e; }
    if (e < 8u) { return ((e - 4u) & 1u) | (((e - 4u) >> 1u) << 2u); }
    return e - 8u;
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
    if (v.z >= params.z1) { return; }
    if (v.x + 1u >= params.grid_x || v.y + 1u >= params.grid_y || v.z + 1u >= params.grid_z) { return; }
    let config = cube_config(v.x, v.y, v.z);
    let corners = case_triangles(config) * 3u;
    let base = triangle_offsets[i] * 3u;
    for (var j = 0u; j < corners; j++) {
        let e = config_edge(config, j);
        let o = corner_offset(edge_start(e));
        triangles[base + j] = vertex_id(v.x + o.x, v.y + o.y, v.z + o.z, e / 4u);
    }
}
