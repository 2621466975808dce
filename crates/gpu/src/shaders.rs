//! WGSL sources from the workspace `shaders/` folder, one file per pass,
//! embedded at compile time so the browser never fetches a shader.

/// Counts voxels at or above an iso level (packed i16 input).
pub const COUNT_ABOVE: &str = include_str!("../../../shaders/count_above.wgsl");
