//! What "GPU marching cubes equals the CPU" means, shared by the native
//! (lavapipe) and in-browser (WebGPU) tests.
#![allow(dead_code)]

use insitu_mesh::Mesh;
use insitu_volume::Volume;

/// Same triangles (same vertex ids, same order), vertices within 1e-4 voxel,
/// normals agreeing within 8° on 99.9% of vertices.
pub fn assert_same(gpu: &Mesh, cpu: &Mesh, volume: &Volume, what: &str) {
    assert_eq!(
        gpu.triangles.len(),
        cpu.triangles.len(),
        "{what}: triangle count"
    );
    assert_eq!(
        gpu.positions.len(),
        cpu.positions.len(),
        "{what}: vertex count"
    );
    assert!(
        gpu.triangles == cpu.triangles,
        "{what}: triangle indices differ"
    );
    let voxel = volume.geometry().spacing().max_element() as f32;
    let worst = gpu
        .positions
        .iter()
        .zip(&cpu.positions)
        .map(|(a, b)| (*a - *b).abs().max_element())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-4 * voxel,
        "{what}: vertices differ by {worst} mm"
    );
    let normals_agree = gpu
        .normals
        .iter()
        .zip(&cpu.normals)
        .filter(|(a, b)| a.dot(**b) > 0.99)
        .count();
    eprintln!(
        "{what}: normals agreeing within 8°: {normals_agree} of {}",
        gpu.normals.len()
    );
    assert!(
        normals_agree * 1000 >= gpu.normals.len() * 999,
        "{what}: normals differ"
    );
    eprintln!(
        "{what}: {} triangles, {} vertices, max |Δ| {worst:e} mm",
        gpu.triangles.len(),
        gpu.positions.len()
    );
}
