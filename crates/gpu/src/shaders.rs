//! WGSL sources from the workspace `shaders/` folder, one file per pass,
//! embedded at compile time so the browser never fetches a shader.

/// Counts voxels at or above an iso level (packed i16 input).
pub const COUNT_ABOVE: &str = include_str!("../../../shaders/count_above.wgsl");

/// Shared marching-cubes definitions, prepended to the two MC passes
/// (WGSL has no includes).
const MC_COMMON: &str = include_str!("../../../shaders/mc_common.wgsl");

/// Constants the marching-cubes shaders share with `insitu-mesh`, written
/// from the Rust values so the two can never drift apart.
fn mc_prelude() -> String {
    use insitu_mesh::marching::{EDGE_MARGIN, cases};
    let faces: Vec<String> = cases::FACES
        .iter()
        .map(|[a, b, c, d]| format!("vec4<u32>({a}u, {b}u, {c}u, {d}u)"))
        .collect();
    format!(
        "const FACE_CORNERS = array<vec4<u32>, 6>({});\n\
         const CASE_STRIDE: u32 = {}u;\n\
         const FACE_MASKS: u32 = {}u;\n\
         const CONFIGS_AT: u32 = 256u;\n\
         const EDGE_MARGIN: f32 = {:?};\n",
        faces.join(", "),
        cases::STRIDE,
        cases::FACE_MASKS,
        EDGE_MARGIN,
    )
}

fn marching_pass(pass: &str) -> String {
    format!("{}{MC_COMMON}\n{pass}", mc_prelude())
}

/// Marching cubes pass 1: vertices and triangles per voxel.
pub fn mc_count() -> String {
    marching_pass(include_str!("../../../shaders/mc_count.wgsl"))
}

/// Marching cubes pass 3a: vertices at their scanned slots.
pub fn mc_vertices() -> String {
    marching_pass(include_str!("../../../shaders/mc_vertices.wgsl"))
}

/// Marching cubes pass 3b: triangles at their scanned slots.
pub fn mc_triangles() -> String {
    marching_pass(include_str!("../../../shaders/mc_triangles.wgsl"))
}

/// Work-efficient exclusive prefix sum (block scan + offsets).
pub const SCAN: &str = include_str!("../../../shaders/scan.wgsl");

/// The 3D view's lit surface (vertex + fragment).
pub const SURFACE: &str = include_str!("../../../shaders/surface.wgsl");

/// The vertex stage of passes that shade every pixel (WGSL has no
/// includes: prepended).
const FULL_SCREEN: &str = include_str!("../../../shaders/full_screen.wgsl");

/// The 3D view's volume rendering (ray casting in a fragment shader).
pub fn volume_render() -> String {
    format!(
        "{FULL_SCREEN}\n{}",
        include_str!("../../../shaders/volume_render.wgsl")
    )
}

/// A texture drawn over a whole target (reduced-size frames shown full size).
pub fn blit() -> String {
    format!(
        "{FULL_SCREEN}\n{}",
        include_str!("../../../shaders/blit.wgsl")
    )
}

/// The 2D views' reslicing (fragment shader), for voxels read as `texel`
/// (`texture_3d<i32>` for i16 volumes, `texture_3d<f32>` for f32 ones).
pub fn slice_render(texel: &str) -> String {
    include_str!("../../../shaders/slice_render.wgsl").replace("texture_3d<i32>", texel)
}
