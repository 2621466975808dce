// Work-efficient (Blelloch) exclusive prefix sum, in place, 512 elements per
// workgroup; block totals go to `sums`, which the host scans the same way
// (recursively) before `add_block_offsets` spreads them back.

struct ScanParams {
    count: u32,
    groups_x: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> scan: ScanParams;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;

const BLOCK: u32 = 512u;
var<workgroup> temp: array<u32, 512>;

@compute @workgroup_size(256)
fn scan_blocks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let block = wg.x + wg.y * scan.groups_x;
    let blocks = (scan.count + BLOCK - 1u) / BLOCK;
    if (block >= blocks) { return; }
    let base = block * BLOCK;
    let a = base + 2u * lid;
    let b = a + 1u;
    var va = 0u;
    var vb = 0u;
    if (a < scan.count) { va = data[a]; }
    if (b < scan.count) { vb = data[b]; }
    temp[2u * lid] = va;
    temp[2u * lid + 1u] = vb;
    // Up-sweep.
    var offset = 1u;
    for (var d = BLOCK >> 1u; d > 0u; d >>= 1u) {
        workgroupBarrier();
        if (lid < d) {
            let ai = offset * (2u * lid + 1u) - 1u;
            let bi = offset * (2u * lid + 2u) - 1u;
            temp[bi] += temp[ai];
        }
        offset <<= 1u;
    }
    workgroupBarrier();
    if (lid == 0u) {
        sums[block] = temp[BLOCK - 1u];
        temp[BLOCK - 1u] = 0u;
    }
    // Down-sweep.
    for (var d = 1u; d < BLOCK; d <<= 1u) {
        offset >>= 1u;
        workgroupBarrier();
        if (lid < d) {
            let ai = offset * (2u * lid + 1u) - 1u;
            let bi = offset * (2u * lid + 2u) - 1u;
            let t = temp[ai];
            temp[ai] = temp[bi];
            temp[bi] += t;
        }
    }
    workgroupBarrier();
    if (a < scan.count) { data[a] = temp[2u * lid]; }
    if (b < scan.count) { data[b] = temp[2u * lid + 1u]; }
}

@compute @workgroup_size(256)
fn add_block_offsets(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let block = wg.x + wg.y * scan.groups_x;
    let blocks = (scan.count + BLOCK - 1u) / BLOCK;
    if (block >= blocks) { return; }
    let add = sums[block];
    let a = block * BLOCK + 2u * lid;
    if (a < scan.count) { data[a] += add; }
    if (a + 1u < scan.count) { data[a + 1u] += add; }
}
