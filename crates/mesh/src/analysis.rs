//! Topology checks: is the surface closed, manifold, consistently oriented?

use std::collections::HashMap;

use crate::Mesh;

/// Edge statistics of a mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    /// Edges used by exactly one triangle (holes).
    pub boundary_edges: usize,
    /// Edges used by more than two triangles.
    pub non_manifold_edges: usize,
    /// Interior edges traversed the same way by both triangles (flipped faces).
    pub inconsistent_edges: usize,
}

impl Topology {
    /// Closed 2-manifold with consistent orientation: printable.
    pub fn is_watertight(&self) -> bool {
        self.boundary_edges == 0 && self.non_manifold_edges == 0 && self.inconsistent_edges == 0
    }
}

/// Counts boundary, non-manifold and inconsistently oriented edges.
pub fn topology(mesh: &Mesh) -> Topology {
    // For each undirected edge: (uses, uses in the a→b direction with a < b).
    let mut edges: HashMap<(u32, u32), (u32, u32)> =
        HashMap::with_capacity(mesh.triangles.len() * 2);
    for tri in &mesh.triangles {
        for i in 0..3 {
            let (a, b) = (tri[i], tri[(i + 1) % 3]);
            let entry = edges.entry((a.min(b), a.max(b))).or_default();
            entry.0 += 1;
            if a < b {
                entry.1 += 1;
            }
        }
    }
    let mut t = Topology {
        boundary_edges: 0,
        non_manifold_edges: 0,
        inconsistent_edges: 0,
    };
    for (uses, forward) in edges.values() {
        match uses {
            1 => t.boundary_edges += 1,
            2 if *forward != 1 => t.inconsistent_edges += 1,
            2 => {}
            _ => t.non_manifold_edges += 1,
        }
    }
    t
}
