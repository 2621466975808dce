// The 3D view's volume rendering: rays cast through the volume's values
// (16-bit float, at the volume's own resolution where the device allows),
// through a transfer-function table, with gradient shading from a light
// that follows the camera, a crop box and a free clip plane, early ray
// termination and empty-space skipping over bricks. MIP, MinIP and the
// mean (radiograph-like) along the ray are the other blends. A render pass
// only (no compute, no storage buffers), so it runs on WebGL2 as on WebGPU.

struct Params {
    // Clip space -> world (patient mm).
    inverse_view_proj: mat4x4<f32>,
    // World -> texture coordinates (0..1 across the voxels' box).
    world_to_texture: mat4x4<f32>,
    // Texture-coordinate vector -> world mm (linear part only).
    texture_to_world: mat4x4<f32>,
    // Index-space gradient -> world gradient (inverse transpose).
    gradient_to_world: mat4x4<f32>,
    // x: blend (0 composite, 1 MIP, 2 MinIP, 3 mean), y: table domain low,
    // z: 1 / table domain width, w: samples per voxel.
    settings: vec4<f32>,
    // xyz: texels per axis, w: lighting on (1) or off (0).
    dims: vec4<f32>,
    // xyz: direction towards the light (world), w: shininess.
    light: vec4<f32>,
    // x: ambient, y: diffuse, z: specular, w: brick size (texels).
    shading: vec4<f32>,
    // xyz: clip normal (box units), w: offset; a zero normal clips nothing.
    clip: vec4<f32>,
    // The crop box in texture coordinates; crop_low.w: skip bricks (1) or
    // sample every step (0, the benchmark's baseline).
    crop_low: vec4<f32>,
    crop_high: vec4<f32>,
    background: vec4<f32>,
    // x: ambient-occlusion strength (0 off), y: the probes' reach (mm).
    occlusion: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var volume: texture_3d<f32>;
@group(0) @binding(2) var volume_sampler: sampler;
@group(0) @binding(3) var table: texture_2d<f32>;
@group(0) @binding(4) var occupancy: texture_3d<f32>;
// Each brick's (lowest, highest) value.
@group(0) @binding(5) var brick_ranges: texture_3d<f32>;

const TABLE_SIZE: f32 = 2048.0;
const MAX_STEPS: i32 = 4096;

// The vertex stage is `full_screen.wgsl`, prepended.

fn unproject(ndc: vec2<f32>, depth: f32) -> vec3<f32> {
    let p = params.inverse_view_proj * vec4<f32>(ndc, depth, 1.0);
    return p.xyz / p.w;
}

fn value_at(p: vec3<f32>) -> f32 {
    return textureSampleLevel(volume, volume_sampler, p, 0.0).r;
}

// Colour and opacity (per mm) of a value.
fn classify(v: f32) -> vec4<f32> {
    let u = clamp((v - params.settings.y) * params.settings.z, 0.0, 1.0);
    let i = min(i32(u * TABLE_SIZE), i32(TABLE_SIZE) - 1);
    return textureLoad(table, vec2<i32>(i, 0), 0);
}

// Central differences, one texel apart, as a world-space gradient.
fn gradient(p: vec3<f32>) -> vec3<f32> {
    let h = 1.0 / params.dims.xyz;
    let g = vec3<f32>(
        value_at(p + vec3<f32>(h.x, 0.0, 0.0)) - value_at(p - vec3<f32>(h.x, 0.0, 0.0)),
        value_at(p + vec3<f32>(0.0, h.y, 0.0)) - value_at(p - vec3<f32>(0.0, h.y, 0.0)),
        value_at(p + vec3<f32>(0.0, 0.0, h.z)) - value_at(p - vec3<f32>(0.0, 0.0, h.z)),
    ) * 0.5;
    return (params.gradient_to_world * vec4<f32>(g, 0.0)).xyz;
}

// Whether texture point `p` is on the kept side of the clip plane.
fn kept(p: vec3<f32>) -> bool {
    let normal = params.clip.xyz;
    return dot(normal, normal) == 0.0 || dot(normal, p - vec3<f32>(0.5)) >= params.clip.w;
}

// Ambient occlusion at `p`: the share of probes, fanned over the half-space
// the surface faces (`outward`, world), that land in matter the transfer
// function shows (its opacity per mm), at a third of the reach and at the
// full reach. A sample on an open face sees only air (0); one at the
// bottom of a gap between bones sees their walls. Probes beyond the clip
// plane see nothing, so a cut face is not darkened by what was removed.
fn occlusion(p: vec3<f32>, outward: vec3<f32>) -> f32 {
    let side = select(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, 1.0, 0.0), abs(outward.x) > 0.7);
    let u = normalize(cross(outward, side));
    let w = cross(outward, u);
    let reach = params.occlusion.y;
    var sum = 0.0;
    for (var k = 0; k < 6; k += 1) {
        var dir = outward;
        if (k > 0) {
            let angle = f32(k) * 1.2566371;
            dir = outward * 0.5 + (u * cos(angle) + w * sin(angle)) * 0.866;
        }
        for (var ring = 0; ring < 2; ring += 1) {
            let distance = select(reach / 3.0, reach, ring == 1);
            let q = p + (params.world_to_texture * vec4<f32>(dir * distance, 0.0)).xyz;
            if (kept(q)) {
                sum += min(classify(value_at(q)).a, 1.0);
            }
        }
    }
    return sum / 12.0;
}

// A sample's colour lit by the camera's light (two-sided: a surface seen
// from inside is lit too) and darkened by ambient occlusion; flat regions,
// whose gradient says nothing, keep the table's colour.
fn lit(color: vec3<f32>, p: vec3<f32>, view: vec3<f32>) -> vec3<f32> {
    let g = gradient(p);
    let strength = length(g);
    if (strength < 1e-3) {
        return color;
    }
    let n = g / strength;
    let l = params.light.xyz;
    let h = normalize(l + view);
    let diffuse = abs(dot(n, l));
    let specular = pow(abs(dot(n, h)), params.light.w);
    var open = 1.0;
    if (params.occlusion.x > 0.0) {
        // Values fall going out of what is shown (bone into soft tissue),
        // so the surface faces down the gradient.
        open = 1.0 - params.occlusion.x * occlusion(p, -n);
    }
    let shaded = color * (params.shading.x + params.shading.y * diffuse) * open
        + vec3<f32>(params.shading.z * specular * open);
    // Fade the shading in over the first few HU per mm of gradient.
    return mix(color, shaded, smoothstep(2.0, 20.0, strength));
}

// A pixel hash in 0..1, to start each ray at a slightly different depth
// (no wood-grain bands from the step size).
fn jitter(pixel: vec2<f32>) -> f32 {
    return fract(sin(dot(pixel, vec2<f32>(12.9898, 78.233))) * 43758.5453);
}

// Ray parameter where the ray leaves the brick holding `p`.
fn brick_exit(p: vec3<f32>, near: vec3<f32>, dir: vec3<f32>) -> f32 {
    let brick = params.shading.w / params.dims.xyz;
    let index = floor(p / brick);
    let low = index * brick;
    let high = low + brick;
    let bound = select(low, high, dir > vec3<f32>(0.0));
    let t = (bound - near) / dir;
    let big = vec3<f32>(1e9);
    let tt = select(big, t, abs(dir) > vec3<f32>(1e-9));
    return min(min(tt.x, tt.y), tt.z);
}

fn brick_at(p: vec3<f32>) -> vec3<i32> {
    let bricks = vec3<i32>(textureDimensions(occupancy));
    return clamp(vec3<i32>(p * params.dims.xyz / params.shading.w), vec3<i32>(0), bricks - 1);
}

// Whether the ray may jump past this brick: nothing in it is visible
// through the table (composite), none of its values beats the maximum
// (MIP) or the minimum (MinIP) found so far.
fn brick_skippable(p: vec3<f32>, blend: i32, extreme: f32) -> bool {
    let brick = brick_at(p);
    if (blend == 0) {
        return textureLoad(occupancy, brick, 0).r < 0.5;
    }
    let range = textureLoad(brick_ranges, brick, 0).rg;
    if (blend == 1) {
        return range.g <= extreme;
    }
    if (blend == 2) {
        return range.r >= extreme;
    }
    return false;
}

// A ray through the volume's texture space: t = 0 at the near plane, 1 at
// the far one.
struct Ray {
    near: vec3<f32>,
    dir: vec3<f32>,
    // Unit world direction towards the viewer.
    view: vec3<f32>,
}

fn ray_of(ndc: vec2<f32>) -> Ray {
    let near_world = unproject(ndc, 0.0);
    let far_world = unproject(ndc, 1.0);
    var r: Ray;
    r.near = (params.world_to_texture * vec4<f32>(near_world, 1.0)).xyz;
    let far = (params.world_to_texture * vec4<f32>(far_world, 1.0)).xyz;
    r.dir = far - r.near;
    r.view = -normalize(far_world - near_world);
    return r;
}

// Casts `r` up to ray parameter `limit` (a surface drawn first, or 1).
// Returns the colour premultiplied by its alpha; alpha 0 where the ray met
// nothing to show.
fn march(r: Ray, pixel: vec2<f32>, limit: f32) -> vec4<f32> {
    let near = r.near;
    let dir = r.dir;
    // The ray's span inside the crop box (slab test)...
    let inv = 1.0 / dir;
    let t0 = (params.crop_low.xyz - near) * inv;
    let t1 = (params.crop_high.xyz - near) * inv;
    var enter = max(max(min(t0.x, t1.x), min(t0.y, t1.y)), max(min(t0.z, t1.z), 0.0));
    var leave = min(min(max(t0.x, t1.x), max(t0.y, t1.y)), min(max(t0.z, t1.z), limit));
    // ...and on the kept side of the clip plane.
    let normal = params.clip.xyz;
    if (dot(normal, normal) > 0.0) {
        let along = dot(normal, dir);
        let beyond = dot(normal, near - vec3<f32>(0.5)) - params.clip.w;
        if (abs(along) < 1e-9) {
            if (beyond < 0.0) { return vec4<f32>(0.0); }
        } else {
            let t = -beyond / along;
            if (along > 0.0) { enter = max(enter, t); } else { leave = min(leave, t); }
        }
    }
    if (enter >= leave) {
        return vec4<f32>(0.0);
    }
    // Steps of 1 / samples-per-voxel voxels; their length in mm scales
    // the tables' per-mm opacity.
    let voxels_per_t = length(dir * params.dims.xyz);
    let dt = 1.0 / (voxels_per_t * params.settings.w);
    let step_mm = dt * length((params.texture_to_world * vec4<f32>(dir, 0.0)).xyz);
    let blend = i32(params.settings.x + 0.5);
    var t = enter + dt * jitter(pixel);
    var color = vec3<f32>(0.0);
    var alpha = 0.0;
    var extreme = select(-1e30, 1e30, blend == 2);
    var sum = 0.0;
    var count = 0.0;
    for (var i = 0; i < MAX_STEPS; i += 1) {
        if (t >= leave) { break; }
        let p = near + dir * t;
        if (params.crop_low.w > 0.5 && brick_skippable(p, blend, extreme)) {
            // Nothing to see in this brick: jump past where the ray leaves
            // it by whole steps, so the samples taken are the very ones a
            // ray without skipping would take (the image does not change).
            t += max(ceil((brick_exit(p, near, dir) - t) / dt), 1.0) * dt;
            continue;
        }
        let v = value_at(p);
        if (blend == 0) {
            let sample = classify(v);
            if (sample.a > 0.0) {
                let a = 1.0 - pow(1.0 - min(sample.a, 0.999), step_mm);
                var rgb = sample.rgb;
                if (params.dims.w > 0.5 && a > 0.002) {
                    rgb = lit(rgb, p, r.view);
                }
                color += (1.0 - alpha) * a * rgb;
                alpha += (1.0 - alpha) * a;
                if (alpha > 0.98) { break; }
            }
        } else if (blend == 1) {
            extreme = max(extreme, v);
        } else if (blend == 2) {
            extreme = min(extreme, v);
        } else {
            sum += v;
            count += 1.0;
        }
        t += dt;
    }
    if (blend == 0) {
        return vec4<f32>(color, alpha);
    }
    if (blend == 3) {
        if (count < 1.0) { return vec4<f32>(0.0); }
        return vec4<f32>(classify(sum / count).rgb, 1.0);
    }
    if (abs(extreme) > 1e29) {
        return vec4<f32>(0.0);
    }
    return vec4<f32>(classify(extreme).rgb, 1.0);
}

// The volume alone, over the background.
@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let c = march(ray_of(in.ndc), in.clip.xy, 1.0);
    return vec4<f32>(c.rgb + params.background.rgb * (1.0 - c.a), 1.0);
}

// Depth of the segments drawn first, read by `fs_over` only.
// The segments' depth, packed in r, g, b (24 bits) by the surface pass.
@group(1) @binding(0) var surface_depth: texture_2d<f32>;

// The volume over segments drawn first (their depth at this frame's size):
// each ray stops where a segment's surface is, and what it gathered in
// front of it is blended over it (premultiplied).
@fragment
fn fs_over(in: VertexOut) -> @location(0) vec4<f32> {
    let r = ray_of(in.ndc);
    let size = vec2<i32>(textureDimensions(surface_depth));
    let texel = min(vec2<i32>(in.clip.xy), size - 1);
    let code = round(textureLoad(surface_depth, texel, 0).rgb * 255.0);
    let depth = (code.r * 65536.0 + code.g * 256.0 + code.b) / 16777215.0;
    var limit = 1.0;
    if (depth < 1.0) {
        let world = unproject(in.ndc, depth);
        let hit = (params.world_to_texture * vec4<f32>(world, 1.0)).xyz;
        limit = dot(hit - r.near, r.dir) / dot(r.dir, r.dir);
    }
    return march(r, in.clip.xy, limit);
}
