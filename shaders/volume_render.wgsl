// The 3D view's volume rendering: rays cast through an 8-bit copy of the
// volume (HU mapped to 0..1), as maximum intensity projection or as
// front-to-back compositing with a ramp transfer function (bone, soft
// tissue). Works on WebGPU and on WebGL2 (a 3D texture, no compute).

struct Params {
    // Clip space -> world (patient mm).
    inverse_view_proj: mat4x4<f32>,
    // World -> texture coordinates (0..1 across the voxel centres' box).
    world_to_texture: mat4x4<f32>,
    // x: mode (0 MIP, 1 composite), y: ramp low, z: ramp high (texture units), w: steps.
    settings: vec4<f32>,
    // Colour for composite mode.
    color: vec4<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var volume: texture_3d<f32>;
@group(0) @binding(2) var volume_sampler: sampler;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) ndc: vec2<f32>,
}

// One triangle covering the screen.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    let x = f32(i32(index) / 2) * 4.0 - 1.0;
    let y = f32(i32(index) % 2) * 4.0 - 1.0;
    var out: VertexOut;
    out.clip = vec4<f32>(x, y, 0.0, 1.0);
    out.ndc = vec2<f32>(x, y);
    return out;
}

fn unproject(ndc: vec2<f32>, depth: f32) -> vec3<f32> {
    let p = params.inverse_view_proj * vec4<f32>(ndc, depth, 1.0);
    return p.xyz / p.w;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let near = (params.world_to_texture * vec4<f32>(unproject(in.ndc, 0.0), 1.0)).xyz;
    let far = (params.world_to_texture * vec4<f32>(unproject(in.ndc, 1.0), 1.0)).xyz;
    let dir = far - near;
    // Slab test against the unit cube in texture space.
    let inv = 1.0 / dir;
    let t0 = (vec3<f32>(0.0) - near) * inv;
    let t1 = (vec3<f32>(1.0) - near) * inv;
    let enter = max(max(min(t0.x, t1.x), min(t0.y, t1.y)), max(min(t0.z, t1.z), 0.0));
    let leave = min(min(max(t0.x, t1.x), max(t0.y, t1.y)), min(max(t0.z, t1.z), 1.0));
    let background = vec4<f32>(0.02, 0.03, 0.05, 1.0);
    if (enter >= leave) {
        return background;
    }
    let steps = params.settings.w;
    let step = (leave - enter) / steps;
    var maximum = 0.0;
    var color = vec3<f32>(0.0);
    var alpha = 0.0;
    for (var i = 0.0; i < steps; i += 1.0) {
        let p = near + dir * (enter + (i + 0.5) * step);
        let v = textureSampleLevel(volume, volume_sampler, p, 0.0).r;
        if (params.settings.x < 0.5) {
            maximum = max(maximum, v);
        } else {
            let a = smoothstep(params.settings.y, params.settings.z, v) * 0.12;
            // Darker at the ramp's foot (edges), full colour where opaque:
            // a cheap stand-in for lighting that outlines structures.
            let shade = 0.5 + 0.5 * smoothstep(params.settings.y, params.settings.z, v);
            color += (1.0 - alpha) * a * params.color.rgb * shade;
            alpha += (1.0 - alpha) * a;
            if (alpha > 0.97) { break; }
        }
    }
    if (params.settings.x < 0.5) {
        let g = smoothstep(params.settings.y, params.settings.z, maximum);
        return vec4<f32>(vec3<f32>(g), 1.0);
    }
    return vec4<f32>(color + background.rgb * (1.0 - alpha), 1.0);
}
