// The 2D views: one plane of the volume resliced in patient space, with
// trilinear interpolation, windowed to grey. A fragment shader over one
// full-screen triangle, so it runs on WebGPU, WebGL2 and natively alike.
//
// Each pixel maps to (i, j, t): fractional column and row, and mm along the
// stacking direction; t becomes the slice index k through the true slice
// offsets when the stack is not uniformly spaced (a binary search in a
// one-row texture). The voxel texture holds the HU values unchanged: i16 as
// `texture_3d<i32>`, or f32 (the host swaps the texel type for those).

struct Params {
    // (i, j, t) at the centre of pixel (0, 0).
    start: vec4<f32>,
    // Change of (i, j, t) per pixel to the right and per pixel down.
    step_x: vec4<f32>,
    step_y: vec4<f32>,
    // x, y, z: voxels per axis; w: mm per slice when uniformly spaced.
    dims: vec4<f32>,
    // x: HU shown black; y: grey levels per HU; z: number of slice offsets
    // (0 when uniformly spaced).
    window: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var volume: texture_3d<i32>;
@group(0) @binding(2) var slice_offsets: texture_2d<f32>;

// One triangle covering the screen.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    let x = f32(i32(index) / 2) * 4.0 - 1.0;
    let y = f32(i32(index) % 2) * 4.0 - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

fn offset_mm(k: i32) -> f32 {
    return textureLoad(slice_offsets, vec2<i32>(k, 0), 0).x;
}

// Fractional slice index of t mm along the stack: linear when uniform, else
// between the two true slice positions around it (extrapolated outside, so
// points beyond the stack stay outside).
fn k_of(t: f32) -> f32 {
    let n = i32(params.window.z);
    if (n == 0) {
        return t / params.dims.w;
    }
    if (n < 2) {
        return select(-1.0, 0.0, abs(t - offset_mm(0)) < 0.5);
    }
    var lo = 0;
    var hi = n;
    while (lo < hi) {
        let mid = (lo + hi) / 2;
        if (offset_mm(mid) < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let upper = clamp(lo, 1, n - 1);
    let lower = upper - 1;
    let span = max(offset_mm(upper) - offset_mm(lower), 1e-9);
    return f32(lower) + (t - offset_mm(lower)) / span;
}

fn voxel(p: vec3<i32>) -> f32 {
    return f32(textureLoad(volume, p, 0).x);
}

@fragment
fn fs_main(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let pixel = floor(position.xy);
    let ijt = params.start.xyz + params.step_x.xyz * pixel.x + params.step_y.xyz * pixel.y;
    let p = vec3<f32>(ijt.xy, k_of(ijt.z));
    let top = params.dims.xyz - 1.0;
    // Half a voxel of grace at the faces: the border voxels are whole.
    if (any(p < vec3<f32>(-0.5)) || any(p > top + 0.5)) {
        return vec4<f32>(0.0, 0.0, 0.0, 1.0);
    }
    let q = clamp(p, vec3<f32>(0.0), top);
    let base = floor(q);
    let f = q - base;
    let a = vec3<i32>(base);
    let b = min(a + 1, vec3<i32>(top));
    let c00 = mix(voxel(vec3<i32>(a.x, a.y, a.z)), voxel(vec3<i32>(b.x, a.y, a.z)), f.x);
    let c10 = mix(voxel(vec3<i32>(a.x, b.y, a.z)), voxel(vec3<i32>(b.x, b.y, a.z)), f.x);
    let c01 = mix(voxel(vec3<i32>(a.x, a.y, b.z)), voxel(vec3<i32>(b.x, a.y, b.z)), f.x);
    let c11 = mix(voxel(vec3<i32>(a.x, b.y, b.z)), voxel(vec3<i32>(b.x, b.y, b.z)), f.x);
    let value = mix(mix(c00, c10, f.y), mix(c01, c11, f.y), f.z);
    // Whole grey levels, truncated like the CPU path, so both agree.
    let grey = floor(clamp((value - params.window.x) * params.window.y, 0.0, 255.0)) / 255.0;
    return vec4<f32>(grey, grey, grey, 1.0);
}
