//! Mesh clean-up for printing: keep the largest piece, drop small islands,
//! smooth without shrinking (Taubin).

use glam::Vec3;

use crate::Mesh;

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        parent[x as usize] = parent[parent[x as usize] as usize];
        x = parent[x as usize];
    }
    x
}

/// Connected component (root vertex) of every triangle; components are
/// linked through shared vertices.
fn triangle_components(mesh: &Mesh) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..mesh.positions.len() as u32).collect();
    for [a, b, c] in &mesh.triangles {
        for (x, y) in [(*a, *b), (*b, *c)] {
            let (rx, ry) = (find(&mut parent, x), find(&mut parent, y));
            if rx != ry {
                parent[rx.max(ry) as usize] = rx.min(ry);
            }
        }
    }
    mesh.triangles
        .iter()
        .map(|t| find(&mut parent, t[0]))
        .collect()
}

/// Keeps the triangles selected by `keep(component size)` and drops unused vertices.
fn retain_components(mesh: &Mesh, keep: impl Fn(u32, usize) -> bool) -> Mesh {
    let components = triangle_components(mesh);
    let mut sizes = std::collections::HashMap::<u32, usize>::new();
    for c in &components {
        *sizes.entry(*c).or_default() += 1;
    }
    let triangles: Vec<[u32; 3]> = mesh
        .triangles
        .iter()
        .zip(&components)
        .filter(|(_, c)| keep(**c, sizes[c]))
        .map(|(t, _)| *t)
        .collect();
    compact(mesh, triangles)
}

/// Rebuilds a mesh from a subset of triangles, renumbering vertices in order.
pub(crate) fn compact(mesh: &Mesh, triangles: Vec<[u32; 3]>) -> Mesh {
    let mut remap = vec![u32::MAX; mesh.positions.len()];
    let mut used: Vec<u32> = triangles.iter().flatten().copied().collect();
    used.sort_unstable();
    used.dedup();
    for (new, &old) in used.iter().enumerate() {
        remap[old as usize] = new as u32;
    }
    let with_normals = mesh.normals.len() == mesh.positions.len();
    Mesh {
        positions: used.iter().map(|&v| mesh.positions[v as usize]).collect(),
        normals: if with_normals {
            used.iter().map(|&v| mesh.normals[v as usize]).collect()
        } else {
            Vec::new()
        },
        triangles: triangles
            .iter()
            .map(|t| t.map(|v| remap[v as usize]))
            .collect(),
    }
}

/// The connected piece with the most triangles (ties: the first found).
pub fn keep_largest_component(mesh: &Mesh) -> Mesh {
    let components = triangle_components(mesh);
    let mut sizes = std::collections::HashMap::<u32, usize>::new();
    for c in &components {
        *sizes.entry(*c).or_default() += 1;
    }
    let Some(largest) = sizes
        .iter()
        .max_by_key(|(root, size)| (**size, std::cmp::Reverse(**root)))
        .map(|(r, _)| *r)
    else {
        return mesh.clone();
    };
    retain_components(mesh, |c, _| c == largest)
}

/// Drops connected pieces with fewer than `min_triangles` triangles.
pub fn remove_islands(mesh: &Mesh, min_triangles: usize) -> Mesh {
    retain_components(mesh, |_, size| size >= min_triangles)
}

/// Taubin λ|μ smoothing: a shrinking Laplacian step followed by an
/// inflating one, `iterations` times, so the part keeps its size. Nothing
/// is built when no iteration is asked for; the neighbour lists are one
/// flat array (a vertex's list is a slice of it), not a `Vec` per vertex.
pub fn taubin_smooth(mesh: &mut Mesh, iterations: usize) {
    const LAMBDA: f32 = 0.5;
    const MU: f32 = -0.53;
    if iterations == 0 {
        return;
    }
    let n = mesh.positions.len();
    // Each triangle edge makes its two ends neighbours: count, place, then
    // sort and deduplicate each vertex's slice in place.
    let mut start = vec![0u32; n + 1];
    for tri in &mesh.triangles {
        for v in tri {
            start[*v as usize + 1] += 2;
        }
    }
    for v in 0..n {
        start[v + 1] += start[v];
    }
    let mut list = vec![0u32; start[n] as usize];
    let mut fill: Vec<u32> = start[..n].to_vec();
    for [a, b, c] in &mesh.triangles {
        for (x, y) in [(*a, *b), (*b, *c), (*c, *a)] {
            for (from, to) in [(x, y), (y, x)] {
                list[fill[from as usize] as usize] = to;
                fill[from as usize] += 1;
            }
        }
    }
    // After deduplication vertex v's neighbours are list[start[v]..end[v]].
    let mut end = fill;
    for v in 0..n {
        let slot = &mut list[start[v] as usize..end[v] as usize];
        slot.sort_unstable();
        let mut kept = 0;
        for i in 0..slot.len() {
            if i == 0 || slot[i] != slot[kept - 1] {
                slot[kept] = slot[i];
                kept += 1;
            }
        }
        end[v] = start[v] + kept as u32;
    }
    let mut next = vec![Vec3::ZERO; n];
    for _ in 0..iterations {
        for factor in [LAMBDA, MU] {
            for (v, moved) in next.iter_mut().enumerate() {
                let p = mesh.positions[v];
                let around = &list[start[v] as usize..end[v] as usize];
                *moved = if around.is_empty() {
                    p
                } else {
                    let mean = around
                        .iter()
                        .map(|&u| mesh.positions[u as usize])
                        .sum::<Vec3>()
                        / around.len() as f32;
                    p + (mean - p) * factor
                };
            }
            std::mem::swap(&mut mesh.positions, &mut next);
        }
    }
    recompute_normals(mesh);
}

/// Area-weighted vertex normals from the triangles.
pub fn recompute_normals(mesh: &mut Mesh) {
    let mut normals = vec![Vec3::ZERO; mesh.positions.len()];
    for [a, b, c] in &mesh.triangles {
        let (pa, pb, pc) = (
            mesh.positions[*a as usize],
            mesh.positions[*b as usize],
            mesh.positions[*c as usize],
        );
        let n = (pb - pa).cross(pc - pa);
        for v in [a, b, c] {
            normals[*v as usize] += n;
        }
    }
    mesh.normals = normals.into_iter().map(Vec3::normalize_or_zero).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_cubes() -> Mesh {
        let mut a = Mesh::unit_cube();
        let b = Mesh::unit_cube();
        let offset = a.positions.len() as u32;
        a.positions
            .extend(b.positions.iter().map(|p| *p * 0.5 + Vec3::splat(3.0)));
        a.triangles
            .extend(b.triangles.iter().take(12).map(|t| t.map(|v| v + offset)));
        // A lone extra triangle: an island of one.
        let start = a.positions.len() as u32;
        a.positions.extend([
            Vec3::splat(9.0),
            Vec3::new(10.0, 9.0, 9.0),
            Vec3::new(9.0, 10.0, 9.0),
        ]);
        a.triangles.push([start, start + 1, start + 2]);
        a
    }

    #[test]
    fn largest_component_and_island_removal() {
        let mesh = two_cubes();
        let largest = keep_largest_component(&mesh);
        assert_eq!(largest.triangle_count(), 12);
        assert_eq!(largest.positions.len(), 8);
        assert_eq!(largest.bounds(), Some((Vec3::ZERO, Vec3::ONE)));
        let cleaned = remove_islands(&mesh, 2);
        assert_eq!(cleaned.triangle_count(), 24);
        assert_eq!(cleaned.positions.len(), 16);
    }
}
