// Counts voxels at or above an iso level: the cheapest whole-volume pass, used
// to size marching-cubes output and to prove a compute device really works.
//
// Voxels arrive as packed i16 pairs (two per u32, little-endian), so an i16
// Hounsfield volume is uploaded as-is, without a widening copy.

struct Params {
    voxel_count: u32,
    iso: i32,
}

@group(0) @binding(0) var<storage, read> voxels: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> total: atomic<u32>;

var<workgroup> group_total: atomic<u32>;

fn voxel_at(index: u32) -> i32 {
    let word = voxels[index >> 1u];
    let half = (word >> ((index & 1u) * 16u)) & 0xffffu;
    // Sign-extend the 16-bit value.
    return bitcast<i32>(half << 16u) >> 16u;
}

@compute @workgroup_size(256)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    if (lid == 0u) {
        atomicStore(&group_total, 0u);
    }
    workgroupBarrier();
    // Dispatches wider than the per-dimension limit fold into y.
    let index = gid.x + gid.y * groups.x * 256u;
    if (index < params.voxel_count && voxel_at(index) >= params.iso) {
        atomicAdd(&group_total, 1u);
    }
    workgroupBarrier();
    if (lid == 0u) {
        atomicAdd(&total, atomicLoad(&group_total));
    }
}
