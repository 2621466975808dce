// Pass 1 of marching cubes (after mc_common.wgsl): per virtual voxel of the
// slab, the number of cut edges it owns (vertices) and the number of
// triangles of the cube it anchors.

@group(0) @binding(3) var<storage, read_write> vertex_counts: array<u32>;
@group(0) @binding(4) var<storage, read_write> triangle_counts: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = invocation_index(gid);
    if (i >= params.grid_x * params.grid_y * params.layers) { return; }
    let v = slab_voxel(i);
    let x = v.x;
    let y = v.y;
    let z = v.z;
    vertex_counts[i] = cut_count(cut_mask(x, y, z));
    var triangles = 0u;
    if (z < params.z1 && x + 1u < params.grid_x && y + 1u < params.grid_y && z + 1u < params.grid_z) {
        triangles = case_triangles(cube_config(x, y, z));
    }
    triangle_counts[i] = triangles;
}
