//! Decoding while scanning: the browser has each file's bytes in memory
//! once, for its header and its digest, and for an uncompressed series
//! that is the moment to convert its pixels too. Slices are kept in the
//! order the files came, in one buffer reserved for the whole folder;
//! once the series is planned they are put in order in place, so a
//! single-series folder is read once and never copied whole.
//!
//! Only the common case is taken: one series of single-frame native
//! little-endian images with an integral rescale. Anything else (a second
//! series, a compressed or multi-frame file, a value beyond i16) gives up
//! at once, frees the buffer, and the series is decoded the usual way.

use std::collections::HashMap;

use crate::Voxels;
use crate::header::Rescale;
use crate::load::{Loaded, Scan, ScannedFile, convert_frame, finish_volume};
use crate::series::Output;

/// How one file's slice was converted: the plan must agree.
#[derive(Debug, Clone, Copy)]
struct Converted {
    slot: usize,
    /// The slice's lowest and highest value.
    range: (i16, i16),
    rescale: Rescale,
    padding_output: f32,
    invert: bool,
}

/// Slices converted during the scan.
#[derive(Debug, Default)]
pub struct EarlyVolume {
    /// Files this folder has (at most this many slices are held).
    max_frames: usize,
    series_uid: Option<String>,
    frame_len: usize,
    voxels: Vec<i16>,
    by_file: HashMap<usize, Converted>,
    given_up: bool,
    reserved_bytes: usize,
    budget_bytes: u64,
}

impl EarlyVolume {
    /// Ready for a folder of `files` files, holding at most
    /// `budget_bytes` (a folder whose slices would need more is left to
    /// the build, which says it is too large).
    pub fn new(files: usize, budget_bytes: u64) -> Self {
        Self {
            max_frames: files,
            budget_bytes,
            ..Self::default()
        }
    }

    /// Bytes reserved for slices, even if freed since: a wasm heap keeps
    /// its high-water mark, so a folder that is not taken must reserve none.
    pub fn reserved_bytes(&self) -> usize {
        self.reserved_bytes
    }

    /// Whether slices are still being kept.
    pub fn is_keeping(&self) -> bool {
        !self.given_up
    }

    fn give_up(&mut self) {
        self.given_up = true;
        self.voxels = Vec::new();
        self.by_file = HashMap::new();
    }

    /// Converts file `file`'s slice (its bytes and what the scan read of
    /// them) into the buffer, or gives up for the whole folder.
    pub fn offer(&mut self, file: usize, bytes: &[u8], scanned: &ScannedFile) {
        if self.given_up {
            return;
        }
        // A file that is not an image (a DICOMDIR, a report) is no reason to stop.
        let Some(header) = scanned.header() else {
            return;
        };
        let [frame] = header.frames.as_slice() else {
            return self.give_up();
        };
        let frame_len = header.rows as usize * header.cols as usize;
        // Checked before anything is reserved: a compressed folder must not
        // raise the heap's high-water mark by a volume it never fills.
        let Some(samples) =
            crate::parse::native_pixel_value(bytes).and_then(|all| all.get(..header.frame_bytes()))
        else {
            return self.give_up();
        };
        if self.series_uid.is_none() {
            // Reserved once: the buffer never moves, so never doubles.
            let Some(total) = frame_len
                .checked_mul(self.max_frames)
                .filter(|&n| crate::budget::voxel_bytes(n as u64, false) <= self.budget_bytes)
            else {
                return self.give_up();
            };
            if self.voxels.try_reserve_exact(total).is_err() {
                return self.give_up();
            }
            self.reserved_bytes = self.voxels.capacity() * std::mem::size_of::<i16>();
            self.series_uid = Some(header.series_uid.clone());
            self.frame_len = frame_len;
        }
        let same_series = self.series_uid.as_deref() == Some(header.series_uid.as_str())
            && self.frame_len == frame_len;
        if !same_series || !frame.rescale.is_integral() || self.by_file.len() == self.max_frames {
            return self.give_up();
        }
        // As the plan will decide for the series; `take_early` checks.
        let Output {
            padding_output,
            invert,
        } = Output::of(header, frame.rescale);
        let start = self.voxels.len();
        self.voxels.resize(start + frame_len, 0);
        let out = &mut self.voxels[start..];
        if convert_frame(samples, header, frame.rescale, padding_output, invert, out).is_err() {
            return self.give_up();
        }
        // Taken while the slice is in the cache: no pass over the volume later.
        let range = crate::volume::i16_range(out);
        self.by_file.insert(
            file,
            Converted {
                slot: start / frame_len,
                range,
                rescale: frame.rescale,
                padding_output,
                invert,
            },
        );
    }
}

impl Scan {
    /// Series `index` from the slices converted during the scan, put in
    /// order in place; `None` (the buffer freed) when they are not all
    /// there or were converted otherwise than the plan says.
    pub fn take_early(&self, index: usize, early: EarlyVolume) -> Option<Loaded> {
        let plan = self.series.get(index)?;
        if early.given_up || early.frame_len == 0 || plan.block != 1 {
            return None;
        }
        let mut order = Vec::with_capacity(plan.slices.len());
        let (mut low, mut high) = (i16::MAX, i16::MIN);
        for slice in &plan.slices {
            let converted = early.by_file.get(&self.file_of_header(slice.header))?;
            let same = slice.frame == 0
                && converted.rescale.slope.to_bits() == slice.rescale.slope.to_bits()
                && converted.rescale.intercept.to_bits() == slice.rescale.intercept.to_bits()
                && converted.padding_output.to_bits() == plan.padding_output.to_bits()
                && converted.invert == plan.invert;
            if !same {
                return None;
            }
            order.push(converted.slot);
            low = low.min(converted.range.0);
            high = high.max(converted.range.1);
        }
        let mut voxels = early.voxels;
        put_in_order(&mut voxels, early.frame_len, &order)?;
        voxels.truncate(order.len() * early.frame_len);
        // Frames reserved for files that held none (a large non-DICOM file
        // the scan met after the reservation) go back to the allocator,
        // which trims the block in place, for the surface to use.
        if voxels.capacity() > voxels.len() {
            voxels.shrink_to_fit();
        }
        let mut loaded = finish_volume(plan, Voxels::I16(voxels), Vec::new()).ok()?;
        loaded.value_range = (!order.is_empty()).then(|| (f32::from(low), f32::from(high)));
        Some(loaded)
    }
}

/// Moves frame `order[k]` to frame `k` for every k, in place with one
/// frame of scratch (the frames not named end up after them); `None` when
/// `order` names a frame twice or one that is not there.
fn put_in_order(voxels: &mut [i16], frame_len: usize, order: &[usize]) -> Option<()> {
    let frames = voxels.len() / frame_len;
    let mut named = vec![false; frames];
    for &slot in order {
        if slot >= frames || std::mem::replace(&mut named[slot], true) {
            return None;
        }
    }
    // A whole permutation: the named frames first, then the others.
    let mut source: Vec<usize> = order.to_vec();
    source.extend((0..frames).filter(|&f| !named[f]));
    let mut done = vec![false; frames];
    let mut scratch = vec![0i16; frame_len];
    for start in 0..frames {
        if done[start] || source[start] == start {
            continue;
        }
        scratch.copy_from_slice(&voxels[start * frame_len..(start + 1) * frame_len]);
        let mut to = start;
        loop {
            done[to] = true;
            let from = source[to];
            if from == start {
                voxels[to * frame_len..(to + 1) * frame_len].copy_from_slice(&scratch);
                break;
            }
            voxels.copy_within(from * frame_len..(from + 1) * frame_len, to * frame_len);
            to = from;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_put_in_order_in_place() {
        // Frames of two samples; frame f holds [f, f].
        let frames = 6;
        let mut voxels: Vec<i16> = (0..frames).flat_map(|f| [f as i16, f as i16]).collect();
        let order = [4, 0, 5, 2];
        put_in_order(&mut voxels, 2, &order).unwrap();
        let firsts: Vec<i16> = voxels.chunks(2).map(|c| c[0]).collect();
        assert_eq!(&firsts[..4], &[4, 0, 5, 2]);
        assert!(voxels.chunks(2).all(|c| c[0] == c[1]));
        let mut rest = firsts[4..].to_vec();
        rest.sort();
        assert_eq!(rest, vec![1, 3]);
        assert!(put_in_order(&mut voxels, 2, &[1, 1]).is_none());
        assert!(put_in_order(&mut voxels, 2, &[9]).is_none());
    }
}
