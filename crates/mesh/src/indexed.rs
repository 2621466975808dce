//! Indexed triangle meshes with shared vertices.

use glam::Vec3;

/// A triangle mesh with shared vertices, positions in millimetres (LPS).
///
/// Indexed rather than a triangle soup so a vertex cut by marching cubes is
/// stored once: half the memory, and connectivity for clean-up comes free.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions in mm.
    pub positions: Vec<Vec3>,
    /// Unit vertex normals (outward), one per position; may be empty.
    pub normals: Vec<Vec3>,
    /// Three vertex indices per triangle, counter-clockwise seen from outside.
    pub triangles: Vec<[u32; 3]>,
}

impl Mesh {
    /// Number of triangles.
    pub fn triangle_count(&self) -> usize {
        self.triangles.len()
    }

    /// Corner positions of triangle `t`.
    pub fn corners(&self, t: usize) -> [Vec3; 3] {
        self.triangles[t].map(|i| self.positions[i as usize])
    }

    /// Unit normal of triangle `t` by the right-hand rule (zero if degenerate).
    pub fn facet_normal(&self, t: usize) -> Vec3 {
        let [a, b, c] = self.corners(t);
        (b - a).cross(c - a).normalize_or_zero()
    }

    /// Surface area (mm²).
    pub fn area(&self) -> f64 {
        (0..self.triangle_count())
            .map(|t| {
                let [a, b, c] = self.corners(t).map(|p| p.as_dvec3());
                (b - a).cross(c - a).length() / 2.0
            })
            .sum()
    }

    /// Signed enclosed volume (mm³): positive for a closed, outward-oriented mesh.
    pub fn enclosed_volume(&self) -> f64 {
        (0..self.triangle_count())
            .map(|t| {
                let [a, b, c] = self.corners(t).map(|p| p.as_dvec3());
                a.dot(b.cross(c)) / 6.0
            })
            .sum()
    }

    /// Axis-aligned bounds, `None` for an empty mesh.
    pub fn bounds(&self) -> Option<(Vec3, Vec3)> {
        let first = *self.positions.first()?;
        Some(
            self.positions
                .iter()
                .fold((first, first), |(lo, hi), &p| (lo.min(p), hi.max(p))),
        )
    }

    /// The mesh as flat arrays (xyz per vertex, xyz per normal, three
    /// indices per triangle), without a copy: what a GPU buffer, the cache
    /// and a transfer to another thread take.
    pub fn flat(&self) -> (&[f32], &[f32], &[u32]) {
        (
            bytemuck::cast_slice(&self.positions),
            bytemuck::cast_slice(&self.normals),
            bytemuck::cast_slice(&self.triangles),
        )
    }

    /// A mesh taking over flat arrays ([`Mesh::flat`]'s layout) without a
    /// copy where their allocations fit (a surface read back from the
    /// cache); else copied.
    pub fn from_flat_vecs(positions: Vec<f32>, normals: Vec<f32>, indices: Vec<u32>) -> Self {
        use bytemuck::allocation::try_cast_vec;
        let vec3 = |v: Vec<f32>| {
            try_cast_vec::<f32, Vec3>(v).unwrap_or_else(|(_, v)| {
                v.chunks_exact(3)
                    .map(|c| Vec3::new(c[0], c[1], c[2]))
                    .collect()
            })
        };
        Self {
            positions: vec3(positions),
            normals: vec3(normals),
            triangles: try_cast_vec::<u32, [u32; 3]>(indices)
                .unwrap_or_else(|(_, v)| v.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect()),
        }
    }

    /// A closed, outward-oriented unit-edge cube; a known-answer test shape.
    pub fn unit_cube() -> Self {
        let positions = (0..8)
            .map(|i| Vec3::new((i & 1) as f32, ((i >> 1) & 1) as f32, ((i >> 2) & 1) as f32))
            .collect();
        let triangles = vec![
            [0, 2, 1],
            [1, 2, 3],
            [4, 5, 6],
            [5, 7, 6],
            [0, 1, 4],
            [1, 5, 4],
            [2, 6, 3],
            [3, 6, 7],
            [0, 4, 2],
            [2, 4, 6],
            [1, 3, 5],
            [3, 7, 5],
        ];
        Self {
            positions,
            normals: Vec::new(),
            triangles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_cube_normals_point_outward() {
        let cube = Mesh::unit_cube();
        let centre = Vec3::splat(0.5);
        for t in 0..cube.triangle_count() {
            let [a, b, c] = cube.corners(t);
            let outward = (a + b + c) / 3.0 - centre;
            assert!(cube.facet_normal(t).dot(outward) > 0.0, "triangle {t}");
        }
        assert_eq!(cube.bounds(), Some((Vec3::ZERO, Vec3::ONE)));
    }

    #[test]
    fn flat_arrays_round_trip() {
        let mut cube = Mesh::unit_cube();
        crate::cleanup::recompute_normals(&mut cube);
        let (positions, normals, indices) = cube.flat();
        assert_eq!(
            (positions.len(), normals.len(), indices.len()),
            (24, 24, 36)
        );
        assert_eq!(&positions[3..6], &[1.0, 0.0, 0.0]);
        let owned = Mesh::from_flat_vecs(positions.to_vec(), normals.to_vec(), indices.to_vec());
        assert_eq!(owned, cube);
        // An allocation that does not fit three floats a vertex is copied.
        let mut odd = positions.to_vec();
        odd.reserve_exact(1);
        odd.push(9.0);
        odd.pop();
        assert_eq!(
            Mesh::from_flat_vecs(odd, normals.to_vec(), indices.to_vec()).positions,
            cube.positions
        );
    }
}
