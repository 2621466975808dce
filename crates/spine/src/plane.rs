//! Connected parts of one slice's grid of cells, side by side (4-connected).

/// The 4-connected components of the cells of a `w` × `h` grid (row by
/// row) that `keep` accepts, each listed from its first cell in row order.
pub(crate) fn components(w: usize, h: usize, keep: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
    components_of_unseen(w, h, keep, vec![false; w * h], (0..w, 0..h))
}

/// The 4-connected components of the cells of a `w` × `h` grid that `keep`
/// accepts and that touch none of its four edges: those touching one are
/// first swept out a row at a time (one in most slices holds every cell
/// outside the bones, and its cells are not listed). The rest are as
/// [`components`] gives them.
pub(crate) fn components_inside(
    w: usize,
    h: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<Vec<usize>> {
    // Outside the box around the cells `keep` refuses, every cell is kept
    // and reaches an edge in a straight line: only the box is swept.
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if !keep(y * w + x) {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 > x1 {
        return Vec::new();
    }
    let mut seen = vec![true; w * h];
    for y in y0..=y1 {
        seen[y * w + x0..=y * w + x1].fill(false);
    }
    // The box's own edge cells that are kept touch a cell outside it (or
    // the grid's edge).
    let edge = (x0..=x1)
        .flat_map(|x| [y0 * w + x, y1 * w + x])
        .chain((y0..=y1).flat_map(|y| [y * w + x0, y * w + x1]));
    let starts: Vec<usize> = edge.filter(|&c| keep(c)).collect();
    flood_runs(w, h, &keep, &mut seen, starts);
    components_of_unseen(w, h, keep, seen, (x0..x1 + 1, y0..y1 + 1))
}

/// Marks in `seen` every cell 4-connected to `starts` through cells `keep`
/// accepts, a run along a row at a time (a start is marked whatever `keep`
/// says of it).
pub(crate) fn flood_runs(
    w: usize,
    h: usize,
    keep: &impl Fn(usize) -> bool,
    seen: &mut [bool],
    mut stack: Vec<usize>,
) {
    while let Some(c) = stack.pop() {
        if seen[c] {
            continue;
        }
        let (row, y) = ((c / w) * w, c / w);
        let (mut lo, mut hi) = (c, c);
        while lo > row && !seen[lo - 1] && keep(lo - 1) {
            lo -= 1;
        }
        while hi + 1 < row + w && !seen[hi + 1] && keep(hi + 1) {
            hi += 1;
        }
        seen[lo..=hi].fill(true);
        // One start per run of open cells in the rows above and below.
        for next_row in [y.checked_sub(1), (y + 1 < h).then_some(y + 1)]
            .into_iter()
            .flatten()
        {
            let mut in_run = false;
            for x in lo - row..=hi - row {
                let n = next_row * w + x;
                let open = !seen[n] && keep(n);
                if open && !in_run {
                    stack.push(n);
                }
                in_run = open;
            }
        }
    }
}

/// [`components`] of the cells not already `seen`, all of which lie in
/// the box of `columns` by `rows`.
fn components_of_unseen(
    w: usize,
    h: usize,
    keep: impl Fn(usize) -> bool,
    mut seen: Vec<bool>,
    (columns, rows): (std::ops::Range<usize>, std::ops::Range<usize>),
) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let starts = rows.flat_map(|y| columns.clone().map(move |x| y * w + x));
    for start in starts {
        if seen[start] || !keep(start) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut members = Vec::new();
        while let Some(c) = stack.pop() {
            members.push(c);
            for n in side_neighbours(c, w, h).into_iter().flatten() {
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

/// The cells left, right, above and below cell `c` of a `w` × `h` grid
/// (row by row), `None` past its edge.
#[inline(always)]
pub(crate) fn side_neighbours(c: usize, w: usize, h: usize) -> [Option<usize>; 4] {
    let (x, y) = (c % w, c / w);
    [
        (x > 0).then(|| c - 1),
        (x + 1 < w).then(|| c + 1),
        (y > 0).then(|| c - w),
        (y + 1 < h).then(|| c + w),
    ]
}

/// The parts `members` (cells of a `w`-wide grid) falls into once opened
/// by a square of half-side `radius` cells: cells a (2r+1)² square of
/// members covers, that square swept back over them. Necks narrower than
/// the square (a canal leaking into a foramen, a gap between laminae) part;
/// bodies wider keep their outline.
pub(crate) fn opened_parts(w: usize, members: &[usize], radius: usize) -> Vec<Vec<usize>> {
    if members.is_empty() {
        return Vec::new();
    }
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for &c in members {
        let (x, y) = (c % w, c / w);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    // A local grid with a border of `radius` empty cells all round.
    let (bw, bh) = (x1 - x0 + 1 + 2 * radius, y1 - y0 + 1 + 2 * radius);
    let local = |c: usize| (c / w - y0 + radius) * bw + (c % w - x0 + radius);
    let mut inside = vec![false; bw * bh];
    for &c in members {
        inside[local(c)] = true;
    }
    let r = radius as i64;
    let square = |x: usize, y: usize| {
        (-r..=r).flat_map(move |dy| (-r..=r).map(move |dx| (x as i64 + dx, y as i64 + dy)))
    };
    let mut core = vec![false; bw * bh];
    for y in radius..bh - radius {
        for x in radius..bw - radius {
            core[y * bw + x] = square(x, y).all(|(sx, sy)| inside[sy as usize * bw + sx as usize]);
        }
    }
    let mut kept = vec![false; bw * bh];
    for y in radius..bh - radius {
        for x in radius..bw - radius {
            if core[y * bw + x] {
                for (sx, sy) in square(x, y) {
                    kept[sy as usize * bw + sx as usize] = true;
                }
            }
        }
    }
    let global = |l: usize| (l / bw + y0 - radius) * w + (l % bw + x0 - radius);
    components(bw, bh, |l| kept[l])
        .into_iter()
        .map(|part| part.into_iter().map(global).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each part's cells in order, and the parts in order: parts compared
    /// whatever order a search lists them in.
    fn sorted(mut parts: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
        parts.iter_mut().for_each(|p| p.sort_unstable());
        parts.sort();
        parts
    }

    #[test]
    fn cells_touching_side_by_side_are_one_part_and_corners_are_not() {
        // 1 1 0
        // 0 0 1
        // 1 0 1
        let kept = [true, true, false, false, false, true, true, false, true];
        let parts = components(3, 3, |c| kept[c]);
        assert_eq!(sorted(parts), vec![vec![0, 1], vec![5, 8], vec![6]]);
    }

    #[test]
    fn inside_components_leave_out_those_touching_an_edge() {
        // A ring of kept cells from the left edge round a pocket of cells
        // not kept (one kept cell of the ring juts into it); a kept cell on
        // the right edge, and one apart inside the grid.
        // 1 1 1 1 0 0
        // 1 0 0 1 0 1
        // 1 0 1 1 0 0
        // 1 1 1 0 0 0
        // 0 0 0 0 1 0  (row 4: one cell apart, not touching any edge)
        // 0 0 0 0 0 0
        let rows = ["111100", "100101", "101100", "111000", "000010", "000000"];
        let kept: Vec<bool> = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| b == b'1'))
            .collect();
        let inside = components_inside(6, 6, |c| kept[c]);
        assert_eq!(inside, vec![vec![28]]);
        // Against every component, those with no cell on an edge.
        let all = components(6, 6, |c| kept[c]);
        let on_edge = |c: usize| matches!(c % 6, 0 | 5) || !(6..30).contains(&c);
        let expected: Vec<Vec<usize>> = all
            .into_iter()
            .filter(|p| !p.iter().any(|&c| on_edge(c)))
            .collect();
        assert_eq!(inside, expected);
        // Not kept cells walled in: the pocket (1,1),(2,1),(1,2) is inside.
        let pockets = components_inside(6, 6, |c| !kept[c]);
        assert_eq!(sorted(pockets), vec![vec![7, 8, 13]]);
    }

    #[test]
    fn inside_components_of_a_ring_in_the_middle_of_the_grid() {
        // A 4×4 ring of refused cells at (3..7, 2..6) on a 10×9 grid, with
        // a gap in its right side on the second try: its 2×2 middle is one
        // component inside, then none.
        let ring = |x: usize, y: usize| {
            (3..7).contains(&x)
                && (2..6).contains(&y)
                && !((4..6).contains(&x) && (3..5).contains(&y))
        };
        let keep = |c: usize| !ring(c % 10, c / 10);
        assert_eq!(components_inside(10, 9, keep), vec![vec![34, 44, 45, 35]]);
        let open = |c: usize| keep(c) || c == 36;
        assert!(components_inside(10, 9, open).is_empty());
    }

    #[test]
    fn opening_parts_two_blocks_joined_by_a_thin_neck_and_keeps_their_cells() {
        // Two 5×5 blocks joined by a 1-cell neck 3 cells long, on a 16-wide grid.
        let w = 16;
        let mut members = Vec::new();
        for y in 2..7 {
            for x in (1..6).chain(9..14) {
                members.push(y * w + x);
            }
        }
        let neck: Vec<usize> = (6..9).map(|x| 4 * w + x).collect();
        members.extend(&neck);
        assert_eq!(components(w, 9, |c| members.contains(&c)).len(), 1);
        let parts = sorted(opened_parts(w, &members, 1));
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() == 25));
        assert!(parts.iter().flatten().all(|c| !neck.contains(c)));
    }
}
