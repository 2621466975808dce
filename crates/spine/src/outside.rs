//! Bone beyond the spine's envelope, flooded from the vertebrae it
//! touches: ribs (or, from the sacrum, the pelvis), and small near floods
//! given back to their vertebra (transverse process tips).

use crate::column::Column;
use crate::grid::Grid;
use crate::split::{Candidate, Envelope, OUTSIDE};
use crate::thick::Thick;

/// Bone beside a vertebra reaching this far from the canal is a rib (a
/// first rib reaches about 60 mm; a lumbar transverse process about 50).
const RIB_REACH_MM: f64 = 58.0;

/// The sternum's place: this far in front of the body column (mm) and
/// within `STERNUM_HALF_WIDTH_MM` of its midline. A rib flood stops there,
/// so calcified costal cartilage does not carry "ribs" into the sternum and
/// on through the clavicles to the scapulae.
const STERNUM_AHEAD_MM: f64 = 40.0;
/// See `STERNUM_AHEAD_MM`.
const STERNUM_HALF_WIDTH_MM: f64 = 40.0;

/// Bone outside the envelope, flooded from where it touches a vertebra;
/// each voxel remembers the nearest vertebra it was reached from. Small
/// floods near the spine go back to their vertebra (transverse process
/// tips); the rest stay `OUTSIDE + c` for the caller to name. Returns the
/// voxels the floods reached, so later passes visit them, not the volume.
/// Each pass is a function called per slice or per batch of voxels (see
/// `split::bone_in_envelope`: wasm optimises between calls, not during one).
pub(crate) fn outside_bone(
    grid: &Grid,
    column: &Column,
    envelope: &Envelope,
    thick: &Thick,
    labels: &mut [u8],
    candidates: &mut [Candidate],
) -> Vec<usize> {
    let below_sacrum = candidates
        .iter()
        .position(|c| c.alae.is_some())
        .unwrap_or(candidates.len());
    // With a sacrum in view, the vertebrae right above it are lumbar.
    let lumbar = if below_sacrum < candidates.len() {
        below_sacrum.saturating_sub(LUMBAR_ABOVE_SACRUM)..below_sacrum
    } else {
        0..0
    };
    let flood = OutsideFlood {
        grid,
        column,
        envelope,
        thick,
        below_sacrum,
        lumbar,
    };
    let k0 = column.first;
    // Every vertebra's voxel lies in the envelope's window. `reached` is
    // both the breadth-first queue (read from `next`) and, after it, the
    // list of voxels the floods reached.
    let mut reached = Vec::new();
    for k in k0..k0 + column.slices.len() {
        flood.seed_slice(k, labels, &mut reached);
    }
    let mut next = 0;
    while next < reached.len() {
        next = flood.spread(next, labels, &mut reached);
    }
    // How far each flood reaches beside the spine.
    for part in reached.chunks(FLOOD_BATCH) {
        flood.add_reach(part, labels, candidates);
    }
    let voxel_mm3 = grid.spacing.x * grid.spacing.y * grid.spacing.z;
    // Small floods go back to their vertebra: one pass with a label map.
    let mut back: [u8; 256] = std::array::from_fn(|l| l as u8);
    let mut ribbed = vec![false; candidates.len()];
    for (n, c) in candidates.iter_mut().enumerate() {
        let ml = c.outside_voxels as f64 * voxel_mm3 / 1000.0;
        if c.outside_voxels > 0 && ml < 4.0 && c.outside_reach_mm < RIB_REACH_MM {
            back[(OUTSIDE + n as u8) as usize] = n as u8 + 1;
        } else if n < below_sacrum
            && !flood.lumbar.contains(&n)
            && ml >= 1.0
            && c.outside_reach_mm >= RIB_REACH_MM
        {
            c.ribs = true;
            ribbed[n] = true;
        }
    }
    for part in reached.chunks(FLOOD_BATCH) {
        relabel_reached(part, labels, &back);
    }
    if !ribbed.iter().any(|&r| r) {
        return reached;
    }
    for k in k0..k0 + column.slices.len() {
        flood.rib_necks_in_slice(k, &ribbed, labels);
    }
    reached
}

/// How many vertebrae directly above the sacrum are lumbar in every spine
/// (four lumbar vertebrae at the fewest): none of them bears a rib.
const LUMBAR_ABOVE_SACRUM: usize = 3;
/// How far (mm) to the side of the canal a lumbar vertebra's bone outside
/// the envelope reaches at most: its transverse processes' tips (L5's at
/// 45–48 mm on TotalSegmentator's lumbar CT; L3's, the longest, lost tip
/// voxels at 52). Beyond lies the iliac crest, which
/// L5's transverse process touches on CT of 3 mm or of dense bone: L5's
/// flood took 179 voxels of the right ilium there (54–81 mm out), reached
/// far enough to be called rib-bearing, and its transverse processes were
/// labelled rib (117 voxels).
const LUMBAR_REACH_MM: f64 = 56.0;

/// Voxels of the outside flood visited per call (see [`outside_bone`]).
const FLOOD_BATCH: usize = 1 << 16;

/// What the outside flood of [`outside_bone`] reads.
struct OutsideFlood<'g, 'v> {
    grid: &'g Grid<'v>,
    column: &'g Column,
    envelope: &'g Envelope,
    thick: &'g Thick,
    /// Candidates from here on are the sacrum's and below.
    below_sacrum: usize,
    /// Candidates known to be lumbar: they bear no rib, and their floods
    /// (transverse processes) stop at [`LUMBAR_REACH_MM`] from the canal.
    lumbar: std::ops::Range<usize>,
}

impl OutsideFlood<'_, '_> {
    /// Slice `k`'s column, clamped to the column's slices.
    fn slice_of(&self, k: usize) -> &crate::column::SliceColumn {
        let k0 = self.column.first;
        self.column
            .at(k.clamp(k0, k0 + self.column.slices.len() - 1))
            .expect("clamped")
    }

    /// (i, j, k) of voxel index `w`.
    fn ijk(&self, w: usize) -> (usize, usize, usize) {
        let [ni, nj, _] = self.grid.dims;
        (w % ni, (w / ni) % nj, w / (ni * nj))
    }

    /// Whether a flood from label `from` may take voxel `n` (`usize::MAX`:
    /// past the volume's edge). Floods from above the sacrum are rib
    /// floods: they stop at the sternum and at thick bone. The pelvis's
    /// reaches its own front (the pubis) unhindered.
    #[inline(always)]
    fn open(&self, n: usize, labels: &[u8], from: u8) -> bool {
        // The cheap tests first: most neighbours are soft tissue.
        let grid = self.grid;
        if n == usize::MAX || labels[n] != 0 || grid.hu(n) < grid.bone_hu() {
            return false;
        }
        let (i, j, k) = self.ijk(n);
        if self.envelope.contains(i, j, k) {
            return false;
        }
        let from = (from - OUTSIDE) as usize;
        if self.lumbar.contains(&from) && self.lateral_of_canal(i, j, k) > LUMBAR_REACH_MM {
            return false;
        }
        let rib_flood = from < self.below_sacrum;
        !(rib_flood && (self.sternum(i, j, k) || self.thick.contains(i, j, k)))
    }

    /// How far (mm) voxel (i, j, k) lies to the side of its slice's canal.
    fn lateral_of_canal(&self, i: usize, j: usize, k: usize) -> f64 {
        let p = self.grid.plane_mm(i as f64, j as f64);
        (p - self.slice_of(k).canal).dot(self.grid.lateral).abs()
    }

    /// Far in front of the body and near the midline.
    fn sternum(&self, i: usize, j: usize, k: usize) -> bool {
        let s = self.slice_of(k);
        let grid = self.grid;
        let d = grid.plane_mm(i as f64, j as f64) - s.body;
        d.dot(grid.anterior) - s.half_depth > STERNUM_AHEAD_MM
            && d.dot(grid.lateral).abs() < STERNUM_HALF_WIDTH_MM
    }

    /// The six face neighbours of `w`; `usize::MAX` past the edge.
    #[inline(always)]
    fn neighbours(&self, w: usize) -> [usize; 6] {
        let [ni, nj, nk] = self.grid.dims;
        let plane = ni * nj;
        let (i, j, k) = self.ijk(w);
        let mut out = [usize::MAX; 6];
        if i > 0 {
            out[0] = w - 1;
        }
        if i + 1 < ni {
            out[1] = w + 1;
        }
        if j > 0 {
            out[2] = w - ni;
        }
        if j + 1 < nj {
            out[3] = w + ni;
        }
        if k > 0 {
            out[4] = w - plane;
        }
        if k + 1 < nk {
            out[5] = w + plane;
        }
        out
    }

    /// The floods' first step from the vertebrae's voxels in slice `k`.
    #[inline(never)]
    fn seed_slice(&self, k: usize, labels: &mut [u8], reached: &mut Vec<usize>) {
        let (grid, win) = (self.grid, &self.envelope.win);
        for j in win.oy..win.oy + win.wj {
            for w in grid.index(win.ox, j, k)..grid.index(win.ox + win.wi, j, k) {
                let l = labels[w];
                if l == 0 || l >= OUTSIDE {
                    continue;
                }
                for n in self.neighbours(w) {
                    if self.open(n, labels, OUTSIDE + l - 1) {
                        labels[n] = OUTSIDE + l - 1;
                        reached.push(n);
                    }
                }
            }
        }
    }

    /// Spreads from up to [`FLOOD_BATCH`] voxels of the queue from `next`;
    /// where the queue now stands.
    #[inline(never)]
    fn spread(&self, next: usize, labels: &mut [u8], reached: &mut Vec<usize>) -> usize {
        let end = (next + FLOOD_BATCH).min(reached.len());
        for at in next..end {
            let w = reached[at];
            for n in self.neighbours(w) {
                if self.open(n, labels, labels[w]) {
                    labels[n] = labels[w];
                    reached.push(n);
                }
            }
        }
        end
    }

    /// Counts `part`'s voxels to the candidates they were reached from, and
    /// how far from the canal sideways each flood reaches.
    #[inline(never)]
    fn add_reach(&self, part: &[usize], labels: &[u8], candidates: &mut [Candidate]) {
        for &w in part {
            let c = &mut candidates[(labels[w] - OUTSIDE) as usize];
            c.outside_voxels += 1;
            let (i, j, k) = self.ijk(w);
            c.outside_reach_mm = c.outside_reach_mm.max(self.lateral_of_canal(i, j, k));
        }
    }

    /// A rib-bearing vertebra's rib head and neck in slice `k`: beside the
    /// body, in front of the transverse process (which sits level with the
    /// canal or behind it); and anything past a thoracic transverse
    /// process's usual reach. Only the envelope's window can hold them.
    #[inline(never)]
    fn rib_necks_in_slice(&self, k: usize, ribbed: &[bool], labels: &mut [u8]) {
        let (grid, w) = (self.grid, &self.envelope.win);
        let s = self.column.at(k).expect("in the column");
        for j in w.oy..w.oy + w.wj {
            for i in w.ox..w.ox + w.wi {
                let at = grid.index(i, j, k);
                let l = labels[at];
                if l == 0 || l >= OUTSIDE || !ribbed[l as usize - 1] {
                    continue;
                }
                let d = grid.plane_mm(i as f64, j as f64) - s.canal;
                let lateral = d.dot(grid.lateral).abs();
                let beside = lateral > s.half_width + 1.0 && d.dot(grid.anterior) > 3.0;
                if beside || lateral > 1.75 * s.half_width {
                    labels[at] = OUTSIDE + l - 1;
                }
            }
        }
    }
}

/// Relabels `part`'s voxels through `back`.
#[inline(never)]
fn relabel_reached(part: &[usize], labels: &mut [u8], back: &[u8; 256]) {
    for &w in part {
        labels[w] = back[labels[w] as usize];
    }
}
