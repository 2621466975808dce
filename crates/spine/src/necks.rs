//! A piece of bone parted where it is thin. Two spinous processes that
//! touch (L5's tip on the sacrum's first tubercle on 1 mm CT) make one
//! piece of the midline band, joined by a contact a voxel or two thick;
//! an erosion by that much parts them, and each voxel the erosion took
//! goes back to the part nearest to it within the piece.

use crate::paths::neighbours;

/// Contacts up to twice this thick (mm) are parted: an erosion by this
/// much from either side. L5's spinous process touching the sacrum's first
/// tubercle on TotalSegmentator's CT resampled to 1 mm parts at 3 mm in
/// every reading, at 2 mm in one of the two that reached it.
pub(crate) const NECK_MM: f64 = 3.0;

/// No part: a voxel the erosion took and no part reached.
pub(crate) const NO_PART: u32 = u32::MAX;

/// How many erosion steps along each axis make `NECK_MM`: none along an
/// axis whose voxels are over half of it (3 mm slices: a step would take
/// a process's whole top and bottom slice). `None` when no axis erodes.
pub(crate) fn erosion(spacing: [f64; 3]) -> Option<[usize; 3]> {
    let steps = spacing.map(|mm| {
        if mm <= NECK_MM / 2.0 {
            (NECK_MM / mm).round() as usize
        } else {
            0
        }
    });
    (steps != [0; 3]).then_some(steps)
}

/// The part of each voxel of `piece` (indices into a box of `dims`, one
/// 6-connected piece), in `piece`'s order: the pieces an erosion by
/// `steps[a]` voxels along each axis `a` leaves apart, numbered from 0, each with
/// the eroded voxels nearest to it through the piece. All in part 0 when
/// the erosion leaves nothing.
pub(crate) fn parts(piece: &[usize], dims: [usize; 3], steps: [usize; 3]) -> Vec<u32> {
    let Some(local) = Local::around(piece, dims) else {
        return Vec::new();
    };
    let mut inside = vec![false; local.len()];
    let at: Vec<usize> = piece.iter().map(|&w| local.index(w)).collect();
    at.iter().for_each(|&v| inside[v] = true);
    let mut kept = inside.clone();
    for step in 0..steps.iter().copied().max().unwrap_or(0) {
        let along = steps.map(|n| step < n);
        let before = kept.clone();
        for &v in &at {
            if before[v] && !local.all_neighbours_in(v, along, &before) {
                kept[v] = false;
            }
        }
    }
    // The kept voxels' 6-connected parts, then the taken voxels from them
    // outwards (breadth first: nearest in steps through the piece).
    let mut part = vec![NO_PART; local.len()];
    let mut count = 0u32;
    let mut front = Vec::new();
    for &v in &at {
        if !kept[v] || part[v] != NO_PART {
            continue;
        }
        let mut stack = vec![v];
        part[v] = count;
        while let Some(u) = stack.pop() {
            front.push(u);
            for (ok, n) in neighbours(u, local.dims) {
                if ok && kept[n] && part[n] == NO_PART {
                    part[n] = count;
                    stack.push(n);
                }
            }
        }
        count += 1;
    }
    if count == 0 {
        return vec![0; piece.len()];
    }
    let mut next = Vec::new();
    while !front.is_empty() {
        for &u in &front {
            for (ok, n) in neighbours(u, local.dims) {
                if ok && inside[n] && part[n] == NO_PART {
                    part[n] = part[u];
                    next.push(n);
                }
            }
        }
        std::mem::swap(&mut front, &mut next);
        next.clear();
    }
    at.iter().map(|&v| part[v]).collect()
}

/// The box around a piece, so the erosion's copies are the piece's size,
/// not the window's.
struct Local {
    dims: [usize; 3],
    min: [usize; 3],
    outer: [usize; 3],
}

impl Local {
    fn around(piece: &[usize], outer: [usize; 3]) -> Option<Self> {
        let xyz = |w: usize| {
            [
                w % outer[0],
                (w / outer[0]) % outer[1],
                w / (outer[0] * outer[1]),
            ]
        };
        let first = xyz(*piece.first()?);
        let (mut min, mut max) = (first, first);
        for &w in piece {
            let p = xyz(w);
            for a in 0..3 {
                min[a] = min[a].min(p[a]);
                max[a] = max[a].max(p[a]);
            }
        }
        Some(Local {
            dims: [0, 1, 2].map(|a| max[a] - min[a] + 1),
            min,
            outer,
        })
    }

    fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// The local index of `w`, an index into the outer box.
    fn index(&self, w: usize) -> usize {
        let [oi, oj, _] = self.outer;
        let p = [w % oi, (w / oi) % oj, w / (oi * oj)];
        let [x, y, z] = [0, 1, 2].map(|a| p[a] - self.min[a]);
        (z * self.dims[1] + y) * self.dims[0] + x
    }

    /// Whether every neighbour of local voxel `v` along the axes `along`
    /// is in `set` (outside the box counts as out).
    fn all_neighbours_in(&self, v: usize, along: [bool; 3], set: &[bool]) -> bool {
        neighbours(v, self.dims)
            .into_iter()
            .enumerate()
            .all(|(n, (ok, u))| !along[n / 2] || (ok && set[u]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_blocks_touching_by_a_thin_neck_are_two_parts() {
        // Two 5×5×5 blocks one above the other (a 5×5×11 box), joined by a
        // single voxel column between them: one erosion parts them, and the
        // neck goes half to each.
        let dims = [5, 5, 11];
        let plane = 25;
        let mut piece = Vec::new();
        for k in 0..11 {
            for w in 0..plane {
                let neck = k == 5 && w == 12;
                if k != 5 || neck {
                    piece.push(k * plane + w);
                }
            }
        }
        let part = parts(&piece, dims, [1; 3]);
        let of = |k: usize, w: usize| part[piece.iter().position(|&p| p == k * plane + w).unwrap()];
        assert_ne!(of(0, 12), of(10, 12), "parted at the neck");
        assert_eq!(of(0, 0), of(4, 24), "a block's corners stay with it");
        assert_eq!(of(6, 0), of(10, 24));
        assert!(of(5, 12) != NO_PART);
        // Without erosion, or when erosion leaves nothing, one part.
        assert!(parts(&piece, dims, [0; 3]).iter().all(|&p| p == 0));
        assert!(parts(&piece, dims, [3; 3]).iter().all(|&p| p == 0));
    }

    #[test]
    fn only_axes_fine_enough_are_eroded() {
        assert_eq!(erosion([1.0, 1.0, 1.0]), Some([3; 3]));
        assert_eq!(erosion([0.75, 0.75, 3.0]), Some([4, 4, 0]));
        assert_eq!(erosion([1.5, 1.5, 2.0]), Some([2, 2, 0]));
        assert_eq!(erosion([3.0, 3.0, 3.0]), None);
    }
}
