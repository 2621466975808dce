// The 3D view's surface pass: a lit, two-sided triangle mesh in patient mm.
// Headlight (light at the eye) with a little specular, so bone reads as bone
// from any orbit angle.

struct Camera {
    view_proj: mat4x4<f32>,
    eye: vec4<f32>,
    color: vec4<f32>,
    // A part's shift (mm): the "explode" view moves vertebrae apart.
    offset: vec4<f32>,
    // World points p with dot(clip.xyz, p) < clip.w are cut away (the clip
    // plane volume rendering also uses); a zero normal keeps everything.
    clip: vec4<f32>,
}

@group(0) @binding(0) var<uniform> camera: Camera;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) world: vec3<f32>,
}

@vertex
fn vs_main(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>) -> VertexOut {
    var out: VertexOut;
    let moved = position + camera.offset.xyz;
    out.clip = camera.view_proj * vec4<f32>(moved, 1.0);
    out.normal = normal;
    out.world = moved;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    return shade(in);
}

struct PartsOut {
    @location(0) color: vec4<f32>,
    // The fragment's depth (0..1) in the 24 bits of r, g, b.
    @location(1) depth: vec4<f32>,
}

// Segments under volume rendering: the colour, and the depth packed into
// an RGBA8 target the rays read (WebGL2 cannot read a depth texture back
// in a shader; an RGBA8 target is renderable everywhere).
@fragment
fn fs_parts(in: VertexOut) -> PartsOut {
    var out: PartsOut;
    out.color = shade(in);
    let v = round(clamp(in.clip.z, 0.0, 1.0) * 16777215.0);
    let high = floor(v / 65536.0);
    let middle = floor((v - high * 65536.0) / 256.0);
    let low = v - high * 65536.0 - middle * 256.0;
    out.depth = vec4<f32>(high, middle, low, 255.0) / 255.0;
    return out;
}

fn shade(in: VertexOut) -> vec4<f32> {
    if (dot(camera.clip.xyz, camera.clip.xyz) > 0.0 && dot(camera.clip.xyz, in.world) < camera.clip.w) {
        discard;
    }
    let to_eye = normalize(camera.eye.xyz - in.world);
    var n = normalize(in.normal);
    // Two-sided: cut surfaces and inner walls stay lit.
    if (dot(n, to_eye) < 0.0) { n = -n; }
    let diffuse = max(dot(n, to_eye), 0.0);
    let specular = pow(max(dot(reflect(-to_eye, n), to_eye), 0.0), 24.0);
    let rgb = camera.color.rgb * (0.15 + 0.7 * diffuse) + vec3<f32>(0.15) * specular;
    return vec4<f32>(rgb, 1.0);
}
