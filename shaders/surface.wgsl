// The 3D view's surface pass: a lit, two-sided triangle mesh in patient mm.
// Headlight (light at the eye) with a little specular, so bone reads as bone
// from any orbit angle.

struct Camera {
    view_proj: mat4x4<f32>,
    eye: vec4<f32>,
    color: vec4<f32>,
    // A part's shift (mm): the "explode" view moves vertebrae apart.
    offset: vec4<f32>,
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
    let to_eye = normalize(camera.eye.xyz - in.world);
    var n = normalize(in.normal);
    // Two-sided: cut surfaces and inner walls stay lit.
    if (dot(n, to_eye) < 0.0) { n = -n; }
    let diffuse = max(dot(n, to_eye), 0.0);
    let specular = pow(max(dot(reflect(-to_eye, n), to_eye), 0.0), 24.0);
    let rgb = camera.color.rgb * (0.15 + 0.7 * diffuse) + vec3<f32>(0.15) * specular;
    return vec4<f32>(rgb, 1.0);
}
