//! Steps from each cell of a slice's grid to the first bone cell in one
//! direction: the sweeps behind "bone on both sides along a line" (the
//! canal's ring, the sacrum's marrow).

/// A step count that saturates at [`Steps::FAR`]: "no bone before the
/// grid's edge", and a count that reaches it stays there. Bytes where counts
/// stay small (16 cells to a wasm SIMD lane, not 8), wider where they need not.
pub(crate) trait Steps: Copy {
    const FAR: Self;
    const ZERO: Self;
    fn after(self) -> Self;
}

impl Steps for u8 {
    const FAR: Self = u8::MAX;
    const ZERO: Self = 0;
    #[inline(always)]
    fn after(self) -> Self {
        self.saturating_add(1)
    }
}

impl Steps for u16 {
    const FAR: Self = u16::MAX;
    const ZERO: Self = 0;
    #[inline(always)]
    fn after(self) -> Self {
        self.saturating_add(1)
    }
}

/// Steps from each cell of a `w` × `h` grid (row by row) to the first
/// `bone` cell in direction (dx, dy) (each -1, 0 or 1), [`Steps::FAR`]
/// when the grid's edge comes first: each cell's count is its neighbour's
/// at (x + dx, y + dy) plus one (0 on bone). Rows in the order that has
/// that neighbour's row done first, so a diagonal or vertical sweep reads a
/// finished row slice against slice (no per-cell bounds test: a quarter of
/// the browser's analysis of a low-density CT went to them).
pub(crate) fn steps_to_bone<T: Steps>(
    bone: &[bool],
    w: usize,
    h: usize,
    (dx, dy): (i64, i64),
) -> Vec<T> {
    let mut steps = vec![T::FAR; w * h];
    let rows: Vec<usize> = if dy > 0 {
        (0..h).rev().collect()
    } else {
        (0..h).collect()
    };
    for y in rows {
        let (row, bone) = (y * w, &bone[y * w..(y + 1) * w]);
        if dy == 0 {
            // Along the row, from the side the neighbour is on.
            let row = &mut steps[row..row + w];
            let mut before = T::FAR;
            let mut next = |s: &mut T, b: bool| {
                *s = if b { T::ZERO } else { before.after() };
                before = *s;
            };
            if dx > 0 {
                row.iter_mut()
                    .zip(bone)
                    .rev()
                    .for_each(|(s, &b)| next(s, b));
            } else {
                row.iter_mut().zip(bone).for_each(|(s, &b)| next(s, b));
            }
            continue;
        }
        let ny = y as i64 + dy;
        let (cur, other) = if dy > 0 {
            let (low, high) = steps.split_at_mut(row + w);
            (&mut low[row..], (ny < h as i64).then(|| &high[..w]))
        } else {
            let (low, high) = steps.split_at_mut(row);
            (&mut high[..w], (ny >= 0).then(|| &low[row - w..]))
        };
        // Cells whose neighbour is in the grid: x + dx within 0..w.
        let (from, to) = match dx {
            1 => (0, w.saturating_sub(1)),
            -1 => (1.min(w), w),
            _ => (0, w),
        };
        if let Some(other) = other {
            let shifted = &other[(from as i64 + dx) as usize..(to as i64 + dx) as usize];
            for (s, &n) in cur[from..to].iter_mut().zip(shifted) {
                *s = n.after();
            }
        }
        for (s, &b) in cur.iter_mut().zip(bone) {
            if b {
                *s = T::ZERO;
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The count by walking from each cell, one step at a time.
    fn walked(bone: &[bool], w: usize, h: usize, (dx, dy): (i64, i64)) -> Vec<u16> {
        (0..w * h)
            .map(|c| {
                let (mut x, mut y, mut n) = ((c % w) as i64, (c / w) as i64, 0u16);
                loop {
                    if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
                        return u16::MAX;
                    }
                    if bone[y as usize * w + x as usize] {
                        return n;
                    }
                    (x, y, n) = (x + dx, y + dy, n + 1);
                }
            })
            .collect()
    }

    #[test]
    fn every_direction_counts_the_steps_a_walk_takes() {
        let (w, h) = (9, 7);
        let bone: Vec<bool> = (0..w * h).map(|c| (c * 7 + c / w) % 5 == 0).collect();
        for dx in -1..=1 {
            for dy in -1..=1 {
                if (dx, dy) == (0, 0) {
                    continue;
                }
                let got = steps_to_bone::<u16>(&bone, w, h, (dx, dy));
                assert_eq!(got, walked(&bone, w, h, (dx, dy)), "({dx}, {dy})");
            }
        }
    }

    #[test]
    fn a_byte_count_saturates() {
        let (w, h) = (300, 1);
        let mut bone = vec![false; w];
        bone[w - 1] = true;
        let got = steps_to_bone::<u8>(&bone, w, h, (1, 0));
        assert_eq!(got[w - 1], 0);
        assert_eq!(got[w - 200], 199);
        assert_eq!(got[0], u8::MAX, "299 steps: past what a byte counts");
    }
}
