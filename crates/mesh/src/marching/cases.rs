//! The marching-cubes case table, derived rather than transcribed.
//!
//! A cube's configuration is its corner pattern (256 cases) plus, for each
//! *ambiguous* face (inside corners on one diagonal, outside on the other),
//! whether the face's inside corners are joined. That choice is made by the
//! bilinear (asymptotic) decider from the face's four values
//! ([`joined_faces`]): the two cubes sharing a face see the same values, so
//! they always agree, and the surface is closed and manifold. It follows
//! the data where a fixed rule cannot: noisy bone whose inside corners
//! touch diagonally stays one piece instead of many.
//!
//! For every configuration the cut edges on each face are paired into
//! segments, segments chain into loops, each loop is fanned into triangles
//! and oriented so its normal points from inside to outside. The same table
//! drives the CPU and the GPU (uploaded as a buffer), which is what makes
//! their outputs identical.

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

/// Faces as corners in cyclic order; bit `f` of a joined-faces mask is
/// face `f`. The GPU gets this very list (`insitu-gpu`'s shader prelude).
pub const FACES: [[usize; 4]; 6] = [
    [0, 2, 6, 4], // x = 0
    [1, 3, 7, 5], // x = 1
    [0, 1, 5, 4], // y = 0
    [2, 3, 7, 6], // y = 1
    [0, 1, 3, 2], // z = 0
    [4, 5, 7, 6], // z = 1
];

/// Joined-faces masks per case: one bit per face.
pub const FACE_MASKS: usize = 64;

/// Most triangles any configuration produces (a loop through all twelve
/// edges of the checkerboard case fans into ten).
pub const MAX_TRIANGLES: usize = 10;

/// Table entries per configuration: up to [`MAX_TRIANGLES`] × 3 edge
/// indices, terminated by 255 (padded to a power of two for the GPU).
pub const STRIDE: usize = 32;

/// Triangles of every configuration, indexed by [`config_index`].
pub struct CaseTable {
    entries: Vec<[u8; STRIDE]>,
    ambiguous: [u8; 256],
}

/// Index of (case, joined faces) in the table.
pub const fn config_index(case: u8, joined: u8) -> usize {
    case as usize * FACE_MASKS + joined as usize
}

impl CaseTable {
    /// The edge triples of a configuration, three per triangle.
    pub fn triangles(&self, case: u8, joined: u8) -> impl Iterator<Item = &[u8]> {
        self.entries[config_index(case, joined)]
            .chunks(3)
            .take_while(|t| t[0] != 255)
    }

    /// Faces of `case` whose corners alternate inside/outside (bit per face).
    pub fn ambiguous_faces(&self, case: u8) -> u8 {
        self.ambiguous[case as usize]
    }

    /// The whole table as u32 words (one edge index each), for the GPU.
    pub fn words(&self) -> Vec<u32> {
        self.entries
            .iter()
            .flatten()
            .map(|&e| u32::from(e))
            .collect()
    }

    /// Bit `f` set: face `f` of `case` is ambiguous, one word per case.
    pub fn ambiguous_words(&self) -> Vec<u32> {
        self.ambiguous.iter().map(|&m| u32::from(m)).collect()
    }
}

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

/// Faces of a corner pattern whose diagonals alternate (bit per face).
pub fn ambiguous_faces(case: u8) -> u8 {
    let inside = |c: usize| case >> c & 1 == 1;
    FACES.iter().enumerate().fold(0, |mask, (f, face)| {
        let alternating = inside(face[0]) == inside(face[2])
            && inside(face[1]) == inside(face[3])
            && inside(face[0]) != inside(face[1]);
        mask | (u8::from(alternating) << f)
    })
}

/// The asymptotic decider: which ambiguous faces of `case` join their
/// inside corners, given the eight corner values. The bilinear interpolant
/// of a face has its saddle inside (≥ `iso`) exactly when the product of
/// the inside diagonal's distances to `iso` is at least the outside one's.
/// Two rounded products compared (no fused arithmetic), so the GPU
/// decides bit for bit alike.
pub fn joined_faces(ambiguous: u8, case: u8, values: &[f32; 8], iso: f32) -> u8 {
    let mut joined = 0;
    for (f, face) in FACES.iter().enumerate() {
        if ambiguous >> f & 1 == 0 {
            continue;
        }
        let w = face.map(|c| values[c] - iso);
        let (diagonal, other) = (w[0] * w[2], w[1] * w[3]);
        let inside_first = case >> face[0] & 1 == 1;
        let (inside, outside) = if inside_first {
            (diagonal, other)
        } else {
            (other, diagonal)
        };
        if inside >= outside {
            joined |= 1 << f;
        }
    }
    joined
}

/// A segment of the surface on one cube face, joining two cut edges, with
/// the face's outward normal and the direction across the segment from the
/// inside corners to the outside ones.
struct Segment {
    edges: [usize; 2],
    face_normal: [f64; 3],
    outward: [f64; 3],
}

fn centroid(corners: impl Iterator<Item = usize>) -> [f64; 3] {
    let (mut sum, mut n) = ([0.0; 3], 0.0);
    for c in corners {
        let p = corner(c);
        for i in 0..3 {
            sum[i] += p[i] as f64;
        }
        n += 1.0;
    }
    sum.map(|v| v / n)
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The segments of a configuration, face by face.
fn segments(case: u8, joined: u8) -> Vec<Segment> {
    let inside = |c: usize| case >> c & 1 == 1;
    let ambiguous = ambiguous_faces(case);
    let mut out = Vec::new();
    for (f, face) in FACES.iter().enumerate() {
        let face_centre = centroid(face.iter().copied());
        let face_normal = sub(face_centre, [0.5; 3]);
        if ambiguous >> f & 1 == 1 {
            // Cut off the corners that stay apart: the inside ones, or the
            // outside ones when the inside ones are joined.
            let apart_inside = joined >> f & 1 == 0;
            for i in 0..4 {
                let (prev, this, next) = (face[(i + 3) % 4], face[i], face[(i + 1) % 4]);
                if inside(this) != apart_inside {
                    continue;
                }
                let towards_centre = sub(face_centre, centroid([this].into_iter()));
                out.push(Segment {
                    edges: [edge_between(prev, this), edge_between(this, next)],
                    face_normal,
                    outward: if apart_inside {
                        towards_centre
                    } else {
                        towards_centre.map(|v| -v)
                    },
                });
            }
        } else {
            let cuts: Vec<usize> = (0..4)
                .filter(|&i| inside(face[i]) != inside(face[(i + 1) % 4]))
                .map(|i| edge_between(face[i], face[(i + 1) % 4]))
                .collect();
            if let [a, b] = cuts[..] {
                let outside = centroid(face.iter().copied().filter(|&c| !inside(c)));
                let within = centroid(face.iter().copied().filter(|&c| inside(c)));
                out.push(Segment {
                    edges: [a, b],
                    face_normal,
                    outward: sub(outside, within),
                });
            }
        }
    }
    out
}

/// A diagonal between cut edges `a` and `b` of one loop: `None` when they
/// share no ambiguous face (of `ambiguous`), else whether this cube may
/// draw it. Both cubes beside an ambiguous face know its two segments, and
/// a diagonal between them lies in the face: were both cubes to draw the
/// same one, its edge would have four triangles. So the cube for which the
/// face is low (x, y or z = 0) may only join parallel sides of the face,
/// the cube for which it is high only adjacent ones: never the same pair.
/// (Some loops cannot avoid such a diagonal; every one can under this
/// rule, which the table's derivation checks.)
fn face_diagonal(a: usize, b: usize, ambiguous: u8) -> Option<bool> {
    FACES.iter().enumerate().find_map(|(f, face)| {
        let on = |e: usize| EDGES[e].iter().all(|c| face.contains(c));
        if ambiguous >> f & 1 == 0 || !on(a) || !on(b) {
            return None;
        }
        let parallel = a / 4 == b / 4;
        let low = f % 2 == 0;
        Some(low == parallel)
    })
}

/// Triangulates an oriented loop of cut edges by dynamic programming:
/// diagonals through the cube rather than in an ambiguous face where
/// possible (and only those [`face_diagonal`] allows where not), then the
/// shortest (minimum-weight triangulation). Two cut edges of any other
/// face are a segment of the loop, never a diagonal.
fn triangulate_loop(ring: &[usize], ambiguous: u8) -> Vec<[u8; 3]> {
    const IN_A_FACE: f64 = 1e3;
    const FORBIDDEN: f64 = 1e6;
    let n = ring.len();
    let weight = |i: usize, j: usize| -> f64 {
        if j == i + 1 || (i == 0 && j == n - 1) {
            return 0.0;
        }
        let length = {
            let d = sub(midpoint(ring[i]), midpoint(ring[j]));
            dot(d, d).sqrt()
        };
        match face_diagonal(ring[i], ring[j], ambiguous) {
            Some(false) => FORBIDDEN + length,
            Some(true) => IN_A_FACE + length,
            None => length,
        }
    };
    // cost[i][j]: best triangulation of ring[i..=j]; split[i][j]: its apex.
    let mut cost = vec![vec![0.0f64; n]; n];
    let mut split = vec![vec![0usize; n]; n];
    for span in 2..n {
        for i in 0..n - span {
            let j = i + span;
            let (best, apex) = (i + 1..j)
                .map(|k| (cost[i][k] + cost[k][j] + weight(i, k) + weight(k, j), k))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .expect("a span of two has an apex");
            cost[i][j] = best;
            split[i][j] = apex;
        }
    }
    assert!(
        cost[0][n - 1] < FORBIDDEN,
        "loop {ring:?} needs a diagonal no cube may draw"
    );
    let mut triangles = Vec::new();
    let mut stack = vec![(0, n - 1)];
    while let Some((i, j)) = stack.pop() {
        if j < i + 2 {
            continue;
        }
        let k = split[i][j];
        triangles.push([ring[i] as u8, ring[k] as u8, ring[j] as u8]);
        stack.push((i, k));
        stack.push((k, j));
    }
    triangles
}

/// Triangles (edge triples) of a configuration: bit c of `case` set =
/// corner c inside; bit f of `joined` set = ambiguous face f joins its
/// inside corners (else they are kept apart).
pub fn triangulate(case: u8, joined: u8) -> Vec<[u8; 3]> {
    let segments = segments(case, joined);
    let mut partner: [Vec<usize>; 12] = Default::default();
    for s in &segments {
        let [a, b] = s.edges;
        partner[a].push(b);
        partner[b].push(a);
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
        // Orient: seen from outside, the loop runs counter-clockwise. On
        // each face that means walking a segment with the inside corners on
        // the cube's side: (direction) · (face normal × outward) < 0. The
        // neighbouring cube walks the shared segment the other way, so the
        // surface is consistently oriented. Every segment of a loop agrees.
        let votes: Vec<bool> = (0..ring.len())
            .map(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                let s = segments
                    .iter()
                    .find(|s| s.edges == [a, b] || s.edges == [b, a])
                    .expect("consecutive loop edges form a segment");
                let direction = sub(midpoint(b), midpoint(a));
                dot(direction, cross(s.face_normal, s.outward)) < 0.0
            })
            .collect();
        assert!(
            votes.iter().all(|&v| v == votes[0]),
            "case {case:08b} joined {joined:06b}: loop {ring:?} has no consistent orientation"
        );
        if !votes[0] {
            ring.reverse();
        }
        triangles.extend(triangulate_loop(&ring, ambiguous_faces(case)));
    }
    triangles
}

/// The full table, built once: every case with every subset of its
/// ambiguous faces joined.
pub fn case_table() -> &'static CaseTable {
    static TABLE: std::sync::OnceLock<CaseTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut entries = vec![[255u8; STRIDE]; 256 * FACE_MASKS];
        let mut ambiguous = [0u8; 256];
        for case in 0..=255u8 {
            ambiguous[case as usize] = ambiguous_faces(case);
            for joined in 0..FACE_MASKS as u8 {
                if joined & !ambiguous[case as usize] != 0 {
                    continue;
                }
                let triangles = triangulate(case, joined);
                assert!(
                    triangles.len() <= MAX_TRIANGLES,
                    "case {case} joined {joined}: {} triangles",
                    triangles.len()
                );
                let entry = &mut entries[config_index(case, joined)];
                for (t, tri) in triangles.iter().enumerate() {
                    entry[t * 3..t * 3 + 3].copy_from_slice(tri);
                }
            }
        }
        CaseTable { entries, ambiguous }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(case: u8, joined: u8) -> usize {
        case_table().triangles(case, joined).count()
    }

    #[test]
    fn trivial_and_single_corner_cases() {
        assert_eq!(count(0, 0), 0);
        assert_eq!(count(255, 0), 0);
        for c in 0..8 {
            assert_eq!(count(1 << c, 0), 1, "corner {c}");
            assert_eq!(count(!(1u8 << c), 0), 1, "all but corner {c}");
        }
        // Half the cube inside: one quad.
        assert_eq!(count(0b0101_0101, 0), 2);
    }

    #[test]
    fn a_joined_face_makes_one_piece_of_two() {
        // Corners 0 and 3 inside: face z = 0 is ambiguous.
        let case = 0b0000_1001;
        assert_eq!(ambiguous_faces(case), 1 << 4);
        assert_eq!(count(case, 0), 2, "two corners cut off apart");
        assert_eq!(count(case, 1 << 4), 4, "one tube-like hexagon joins them");
    }

    #[test]
    fn every_configuration_uses_exactly_its_cut_edges() {
        for case in 0..=255u8 {
            let inside = |c: usize| case >> c & 1 == 1;
            let cut: Vec<usize> = (0..12)
                .filter(|&e| inside(EDGES[e][0]) != inside(EDGES[e][1]))
                .collect();
            let ambiguous = ambiguous_faces(case);
            for joined in (0..64u8).filter(|j| j & !ambiguous == 0) {
                let mut used: Vec<usize> = triangulate(case, joined)
                    .iter()
                    .flatten()
                    .map(|&e| e as usize)
                    .collect();
                used.sort_unstable();
                used.dedup();
                assert_eq!(used, cut, "case {case:08b} joined {joined:06b}");
            }
        }
    }

    #[test]
    fn the_decider_follows_the_saddle() {
        // Face z = 0 (corners 0, 1, 3, 2): 0 and 3 inside.
        let case = 0b0000_1001;
        let ambiguous = ambiguous_faces(case);
        // Inside corners well above the iso, outside ones barely below:
        // the saddle is inside, the corners join.
        let mut values = [0.0f32; 8];
        values[0] = 10.0;
        values[3] = 10.0;
        values[1] = -1.0;
        values[2] = -1.0;
        assert_eq!(joined_faces(ambiguous, case, &values, 0.0), 1 << 4);
        values[1] = -20.0;
        values[2] = -20.0;
        assert_eq!(joined_faces(ambiguous, case, &values, 0.0), 0);
        // A tie is inside (at or above the iso counts as inside).
        values[1] = -10.0;
        values[2] = -10.0;
        assert_eq!(joined_faces(ambiguous, case, &values, 0.0), 1 << 4);
    }
}
