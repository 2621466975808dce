//! Connected parts of one slice's grid of cells, side by side (4-connected).

/// The 4-connected components of the cells of a `w` × `h` grid (row by
/// row) that `keep` accepts, each listed from its first cell in row order.
pub(crate) fn components(w: usize, h: usize, keep: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || !keep(start) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut members = Vec::new();
        while let Some(c) = stack.pop() {
            members.push(c);
            let (x, y) = (c % w, c / w);
            let near = [
                (x > 0).then(|| c - 1),
                (x + 1 < w).then(|| c + 1),
                (y > 0).then(|| c - w),
                (y + 1 < h).then(|| c + w),
            ];
            for n in near.into_iter().flatten() {
                if !seen[n] && keep(n) {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
        out.push(members);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_touching_side_by_side_are_one_part_and_corners_are_not() {
        // 1 1 0
        // 0 0 1
        // 1 0 1
        let kept = [true, true, false, false, false, true, true, false, true];
        let parts = components(3, 3, |c| kept[c]);
        let mut sorted: Vec<Vec<usize>> = parts
            .into_iter()
            .map(|mut p| {
                p.sort_unstable();
                p
            })
            .collect();
        sorted.sort();
        assert_eq!(sorted, vec![vec![0, 1], vec![5, 8], vec![6]]);
    }
}
