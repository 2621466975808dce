//! How much memory one volume may take where memory is bounded: a wasm32
//! heap is at most 4 GiB, and the study worker also holds a labelmap (one
//! byte a voxel when segments are made), a surface and working buffers.
//! Checked before anything is allocated, so a series that cannot fit is
//! said, never half-built and never a crashed tab.

/// The most one volume's voxels may take in a wasm32 study worker (3 GiB,
/// leaving a gigabyte for everything else). Natively there is no such
/// budget: the CLI's volumes are bounded by the machine.
pub const WASM_VOLUME_BYTES: u64 = 3 << 30;

/// The most a wasm32 heap may grow to (4 GiB: 65,536 pages of 64 KiB).
pub const WASM_HEAP_BYTES: u64 = 4 << 30;

/// Bytes of `voxels` voxels as i16 (`float`: as f32).
pub fn voxel_bytes(voxels: u64, float: bool) -> u64 {
    voxels.saturating_mul(if float { 4 } else { 2 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_spine_ct_fits_and_a_9000_slice_one_does_not() {
        let slice = 512 * 512;
        assert!(voxel_bytes(slice * 2500, false) <= WASM_VOLUME_BYTES);
        assert!(voxel_bytes(slice * 9000, false) > WASM_VOLUME_BYTES);
        assert!(voxel_bytes(slice * 2500, true) <= WASM_VOLUME_BYTES);
    }
}
