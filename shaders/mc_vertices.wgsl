// Pass 3a of marching cubes (after mc_common.wgsl and the scans): write each
// owned vertex (fractional voxel index + index-space gradient) at its scanned
// slot. Split from the triangle pass and written with loops, not repeated
// calls, to keep the compiled shader small (see cut_mask).

@group(0) @binding(3) var<storage, read> vertex_offsets: array<u32>;
@group(0) @binding(5) var<storage, read_write> vertices: array<f32>;

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

// Central differences, clamped at the grid faces (as the CPU extractor).
fn gradient(p: vec3<u32>) -> vec3<f32> {
    let here = sample(p.x, p.y, p.z);
    let top = vec3<u32>(params.grid_x - 1u, params.grid_y - 1u, params.grid_z - 1u);
    var g = vec3<f32>(0.0);
    for (var axis = 0u; axis < 3u; axis++) {
        let s = axis_step(axis);
        let lo = p - min(p, s);
        let hi = min(p + s, top);
        let d = hi - lo;
        let span = f32(max(d.x + d.y + d.z, 1u));
        g += vec3<f32>(s) * axis_gradient(sample(lo.x, lo.y, lo.z), sample(hi.x, hi.y, hi.z), here, span);
    }
    return g;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = invocation_index(gid);
    if (i >= params.grid_x * params.grid_y * params.layers) { return; }
    let v = slab_voxel(i);
    if (v.z >= params.z1) { return; }
    let mask = cut_mask(v.x, v.y, v.z);
    if (mask == 0u) { return; }
    let pad = f32(params.pad);
    let v0 = sample(v.x, v.y, v.z);
    var slot = vertex_offsets[i];
    for (var axis = 0u; axis < 3u; axis++) {
        if ((mask & (1u << axis)) == 0u) { continue; }
        let s = axis_step(axis);
        let n = v + s;
        let v1 = sample(n.x, n.y, n.z);
        // Strictly inside the edge, as insitu-mesh's `edge_fraction`.
        let t = clamp((params.iso - v0) / (v1 - v0), EDGE_MARGIN, 1.0 - EDGE_MARGIN);
        let p = vec3<f32>(v) + vec3<f32>(s) * t - vec3<f32>(pad);
        var g = vec3<f32>(0.0);
        for (var end = 0u; end < 2u; end++) {
            g += gradient(select(v, n, end == 1u)) * select(1.0 - t, t, end == 1u);
        }
        let at = slot * 6u;
        vertices[at] = p.x;
        vertices[at + 1u] = p.y;
        vertices[at + 2u] = p.z;
        vertices[at + 3u] = g.x;
        vertices[at + 4u] = g.y;
        vertices[at + 5u] = g.z;
        slot += 1u;
    }
}
