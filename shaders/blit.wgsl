// Draws a texture over the whole target, linearly filtered: how a view
// rendered at a reduced size while the user drags is shown at full size.
// (The vertex stage is `full_screen.wgsl`, prepended.)

@group(0) @binding(0) var image: texture_2d<f32>;
@group(0) @binding(1) var image_sampler: sampler;

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    return textureSampleLevel(image, image_sampler, in.uv, 0.0);
}
