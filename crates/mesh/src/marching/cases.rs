//! The marching-cubes case table, derived rather than transcribed.
//!
//! For each of the 256 inside/outside patterns of a cube's corners, the cut
//! edges on each face are joined into segments by one fixed rule that looks
//! at that face alone — inside corners are kept apart on ambiguous faces —
//! so the two cubes sharing a face always agree and the surface is closed
//! and manifold. Segments chain into loops, each loop is fanned into
//! triangles and oriented so its normal points from inside to outside.
//! The same table drives the CPU and the GPU (uploaded as a buffer), which
//! is what makes their outputs identical.

/// Corner `c` sits at (c & 1, c >> 1 & 1, c >> 2 & 1).
pub const fn corner(c: usize) -> [usize; 3] {
    [c & 1, (c >> 1) & 1, (c >> 2) & 1]
}

/// The 12 cube edges as corner pairs. Edge `e` runs along axis `e / 4`.
pub const EDGES: [[usize; 2]; 12] = [
    [0, 1],
    [2, 3],
    [4, 5],
    [6, 7],
    [0, 2],
    [1, 3],
    [4, 6],
    [5, 7],
    [0, 4],
    [1, 5],
    [2, 6],
    [3, 7],
];

/// Faces as corners in cyclic order.
const FACES: [[usize; 4]; 6] = [
    [0, 2, 6, 4], // x = 0
    [1, 3, 7, 5], // x = 1
    [0, 1, 5, 4], // y = 0
    [2, 3, 7, 6], // y = 1
    [0, 1, 3, 2], // z = 0
    [4, 5, 7, 6], // z = 1
];

/// Most triangles any case produces.
pub const MAX_TRIANGLES: usize = 5;

/// Triangles of every case: up to [`MAX_TRIANGLES`] × 3 edge indices,
/// terminated by 255.
pub type CaseTable = [[u8; MAX_TRIANGLES * 3 + 1]; 256];

fn edge_between(a: usize, b: usize) -> usize {
    EDGES
        .iter()
        .position(|&[p, q]| (p == a && q == b) || (p == b && q == a))
        .expect("adjacent corners")
}

fn midpoint(e: usize) -> [f64; 3] {
    let [a, b] = EDGES[e];
    let (pa, pb) = (corner(a), corner(b));
    [0, 1, 2].map(|i| (pa[i] + pb[i]) as f64 / 2.0)
}

/// Triangles (edge triples) for one corner pattern; bit c set = corner c inside.
pub fn triangulate(case: u8) -> Vec<[u8; 3]> {
    let inside = |c: usize| case >> c & 1 == 1;
    // Pair cut edges face by face.
    let mut partner: [Vec<usize>; 12] = Default::default();
    for face in FACES {
        let mut pairs = Vec::new();
        for i in 0..4 {
            let (prev, this, next) = (face[(i + 3) % 4], face[i], face[(i + 1) % 4]);
            let cut_before = inside(prev) != inside(this);
            let cut_after = inside(this) != inside(next);
            // A corner whose two face edges are both cut is cut off alone
            // when it is inside, or when it is the lone outside corner.
            let lone = cut_before && cut_after;
            let isolate =
                lone && (inside(this) || face.iter().filter(|&&c| !inside(c)).count() == 1);
            if isolate {
                pairs.push((edge_between(prev, this), edge_between(this, next)));
            }
        }
        let cuts: Vec<usize> = (0..4)
            .filter(|&i| inside(face[i]) != inside(face[(i + 1) % 4]))
            .map(|i| edge_between(face[i], face[(i + 1) % 4]))
            .collect();
        if pairs.is_empty() && cuts.len() == 2 {
            pairs.push((cuts[0], cuts[1]));
        }
        for (a, b) in pairs {
            partner[a].push(b);
            partner[b].push(a);
        }
    }
    // Chain segments into loops.
    let mut used = [false; 12];
    let mut triangles = Vec::new();
    for start in 0..12 {
        if used[start] || partner[start].is_empty() {
            continue;
        }
        let mut ring = vec![start];
        used[start] = true;
        let mut previous = usize::MAX;
        let mut current = start;
        loop {
            let next = *partner[current]
                .iter()
                .find(|&&n| n != previous && (!used[n] || n == start))
                .expect("every cut edge lies on two face segments");
            if next == start {
                break;
            }
            used[next] = true;
            ring.push(next);
            previous = current;
            current = next;
        }
        // Orient: the loop's normal must point from inside to outside.
        let mut normal = [0.0f64; 3];
        for i in 0..ring.len() {
            let (p, q) = (midpoint(ring[i]), midpoint(ring[(i + 1) % ring.len()]));
            normal[0] += (p[1] - q[1]) * (p[2] + q[2]);
            normal[1] += (p[2] - q[2]) * (p[0] + q[0]);
            normal[2] += (p[0] - q[0]) * (p[1] + q[1]);
        }
        let mut outward = [0.0f64; 3];
        for &e in &ring {
            let [a, b] = EDGES[e];
            let (inner, outer) = if inside(a) { (a, b) } else { (b, a) };
            let (pi, po) = (corner(inner), corner(outer));
            for i in 0..3 {
                outward[i] += po[i] as f64 - pi[i] as f64;
            }
        }
        if normal.iter().zip(&outward).map(|(a, b)| a * b).sum::<f64>() < 0.0 {
            ring.reverse();
        }
        for i in 1..ring.len() - 1 {
            triangles.push([ring[0] as u8, ring[i] as u8, ring[i + 1] as u8]);
        }
    }
    triangles
}

/// The full table, built once.
pub fn case_table() -> &'static CaseTable {
    static TABLE: std::sync::OnceLock<CaseTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [[255u8; MAX_TRIANGLES * 3 + 1]; 256];
        for case in 0..=255u8 {
            let triangles = triangulate(case);
            assert!(
                triangles.len() <= MAX_TRIANGLES,
                "case {case}: {} triangles",
                triangles.len()
            );
            for (t, tri) in triangles.iter().enumerate() {
                table[case as usize][t * 3..t * 3 + 3].copy_from_slice(tri);
            }
        }
        table
    })
}

/// Triangles of a case in the table.
pub fn triangle_count(table: &CaseTable, case: u8) -> usize {
    table[case as usize]
        .iter()
        .position(|&e| e == 255)
        .unwrap_or(MAX_TRIANGLES * 3)
        / 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_and_single_corner_cases() {
        let table = case_table();
        assert_eq!(triangle_count(table, 0), 0);
        assert_eq!(triangle_count(table, 255), 0);
        for c in 0..8 {
            assert_eq!(triangle_count(table, 1 << c), 1, "corner {c}");
            assert_eq!(triangle_count(table, !(1u8 << c)), 1, "all but corner {c}");
        }
        // Half the cube inside: one quad.
        assert_eq!(triangle_count(table, 0b0101_0101), 2);
    }

    #[test]
    fn every_case_uses_exactly_its_cut_edges_twice_per_face_pairing() {
        for case in 0..=255u8 {
            let inside = |c: usize| case >> c & 1 == 1;
            let cut: Vec<usize> = (0..12)
                .filter(|&e| inside(EDGES[e][0]) != inside(EDGES[e][1]))
                .collect();
            let mut used: Vec<usize> = triangulate(case)
                .iter()
                .flatten()
                .map(|&e| e as usize)
                .collect();
            used.sort_unstable();
            used.dedup();
            assert_eq!(used, cut, "case {case:08b}");
        }
    }

    #[test]
    fn complementary_cases_are_consistent_on_shared_faces() {
        // Two cubes sharing a face see the same four corner signs there, so the
        // segments on that face must coincide: check via the per-face rule by
        // comparing each case with its mirror across x.
        let mirror = |case: u8| -> u8 {
            (0..8).fold(0u8, |m, c| {
                if case >> c & 1 == 1 {
                    m | 1 << (c ^ 1)
                } else {
                    m
                }
            })
        };
        for case in 0..=255u8 {
            assert_eq!(
                triangulate(case).len(),
                triangulate(mirror(case)).len(),
                "case {case:08b}"
            );
        }
    }
}
