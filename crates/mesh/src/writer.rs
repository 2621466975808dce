//! Writing many fixed-shape records fast: records are formatted a chunk at
//! a time into byte buffers (natively, several chunks in parallel), and the
//! buffers are written in order. A 2.3 M-triangle binary STL is one
//! memory-speed pass instead of millions of small writes.

use std::io::{self, Write};
use std::ops::Range;

/// Records per chunk: a few MB of output each.
const RECORDS_PER_CHUNK: usize = 1 << 16;

/// Writes records `0..count`, `fill(range, buffer)` appending the bytes of
/// `range` to `buffer`.
pub(crate) fn write_records<W: Write>(
    out: &mut W,
    count: usize,
    fill: impl Fn(Range<usize>, &mut Vec<u8>) + Sync,
) -> io::Result<()> {
    let chunks: Vec<Range<usize>> = (0..count)
        .step_by(RECORDS_PER_CHUNK)
        .map(|start| start..(start + RECORDS_PER_CHUNK).min(count))
        .collect();
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        // A few chunks per thread at a time, so memory stays bounded.
        let group = rayon::current_num_threads().max(1) * 2;
        for ranges in chunks.chunks(group) {
            let buffers: Vec<Vec<u8>> = ranges
                .par_iter()
                .map(|range| {
                    let mut buffer = Vec::new();
                    fill(range.clone(), &mut buffer);
                    buffer
                })
                .collect();
            for buffer in buffers {
                out.write_all(&buffer)?;
            }
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut buffer = Vec::new();
        for range in chunks {
            buffer.clear();
            fill(range, &mut buffer);
            out.write_all(&buffer)?;
        }
    }
    Ok(())
}

/// Appends `values` as little-endian f32.
pub(crate) fn put_f32s(buffer: &mut Vec<u8>, values: &[f32]) {
    for v in values {
        buffer.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends a float in its shortest exact decimal form.
pub(crate) fn put_decimal(buffer: &mut Vec<u8>, value: f32, scratch: &mut ryu::Buffer) {
    buffer.extend_from_slice(scratch.format(value).as_bytes());
}

/// Appends an unsigned integer in decimal.
pub(crate) fn put_integer(buffer: &mut Vec<u8>, value: u64, scratch: &mut itoa::Buffer) {
    buffer.extend_from_slice(scratch.format(value).as_bytes());
}
