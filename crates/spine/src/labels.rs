//! Whole-volume passes over the labels (relabel, count), skipping the
//! unlabelled blocks that are most of a CT.

/// Each label replaced through `map` (which keeps 0). Most of a CT is
/// unlabelled: eight voxels at a time are skipped while all are 0, which in
/// wasm (no vectorised gather) makes the pass over the volume a fraction of
/// a lookup per voxel. In parts of a mebibyte: wasm has no on-stack
/// replacement, so one loop over the whole volume would run in the
/// browser's baseline code to its end.
pub(crate) fn relabel(labels: &mut [u8], map: &[u8; 256]) {
    for part in labels.chunks_mut(PART) {
        relabel_part(part, map);
    }
}

/// Voxels per labelled part of the volume (see [`relabel`]).
const PART: usize = 1 << 20;

#[inline(never)]
fn relabel_part(labels: &mut [u8], map: &[u8; 256]) {
    let (blocks, rest) = labels.as_chunks_mut::<BLOCK>();
    for block in blocks {
        if !block_is_zero(block) {
            block.iter_mut().for_each(|l| *l = map[*l as usize]);
        }
    }
    for l in rest {
        *l = map[*l as usize];
    }
}

/// Labels per block the whole-volume passes skip at once where all are 0
/// (most of a CT): one branch per 64 labels, not per 8. Tested as eight
/// 64-bit words ORed: a fold over the bytes ran in wasm at a third of the
/// speed of the word-at-a-time test it replaced.
pub(crate) const BLOCK: usize = 64;

/// Whether a block's labels are all 0.
#[inline(always)]
fn block_is_zero(block: &[u8; BLOCK]) -> bool {
    let (words, _) = block.as_chunks::<8>();
    words
        .iter()
        .fold(0u64, |any, &word| any | u64::from_ne_bytes(word))
        == 0
}

/// Whether labels (a [`BLOCK`] of them, or the fewer left at a row's end)
/// are all 0.
#[inline(always)]
pub(crate) fn all_zero(labels: &[u8]) -> bool {
    match labels.try_into() {
        Ok(block) => block_is_zero(block),
        Err(_) => labels.iter().all(|&l| l == 0),
    }
}

/// Voxels per label, eight unlabelled voxels at a time where they are
/// (in parts, as [`relabel`]).
pub(crate) fn label_counts(labels: &[u8]) -> [usize; 256] {
    let mut counts = [0usize; 256];
    for part in labels.chunks(PART) {
        count_part(part, &mut counts);
    }
    counts
}

/// Counts `labels` (at most [`PART`]) into `counts`. A labelled block
/// is counted into four tallies in turn: one tally for every voxel made
/// each count wait for the one before when neighbours share a label, as
/// they mostly do.
#[inline(never)]
fn count_part(labels: &[u8], counts: &mut [usize; 256]) {
    let mut tallies = [[0u32; 256]; 4];
    let (blocks, rest) = labels.as_chunks::<BLOCK>();
    let mut zero_blocks = 0;
    for block in blocks {
        if block_is_zero(block) {
            zero_blocks += 1;
        } else {
            for four in block.as_chunks::<4>().0 {
                for (tally, &l) in tallies.iter_mut().zip(four) {
                    tally[l as usize] += 1;
                }
            }
        }
    }
    counts[0] += zero_blocks * BLOCK;
    for &l in rest {
        counts[l as usize] += 1;
    }
    for tally in &tallies {
        for (count, &n) in counts.iter_mut().zip(tally) {
            *count += n as usize;
        }
    }
}
