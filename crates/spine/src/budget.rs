//! Whether an analysis fits in the memory left, said before anything is
//! allocated (a wasm heap that cannot grow traps: a crashed tab).

use insitu_volume::Volume;

use crate::SpineError;
use crate::grid::ReadPlan;

/// Refuses an analysis of `volume` that would allocate more than
/// `free_bytes`: said before anything is allocated, never a crashed tab
/// (a wasm heap that cannot grow traps). What it allocates: on the grid it
/// reads (in blocks beyond [`ReadPlan`]'s limits) its copy of the voxels, its
/// labels and working buffers; and the caller's labelmap its labels are
/// written into (a byte a stored voxel, counted in case it is made for
/// them) with the undo step's record. On a 512²×2500 phantom (read in
/// 2×2×2 blocks, 82 M voxels) a study worker's heap grew by 1.07 GB: the
/// labelmap and five bytes a voxel read. Six are counted (1.15 GB), so an
/// estimate that falls short never lets an analysis start that cannot end.
pub fn fits_in(volume: &Volume, free_bytes: u64) -> Result<(), SpineError> {
    match ReadPlan::of(volume) {
        Ok(plan) => plan.fits_in(free_bytes),
        // Refused later for its orientation; counted as read whole here.
        Err(_) => room_for(volume.geometry().voxel_count() as u64, None, free_bytes),
    }
}

impl ReadPlan {
    /// [`fits_in`] for the volume this plan was made of.
    pub fn fits_in(&self, free_bytes: u64) -> Result<(), SpineError> {
        room_for(self.voxels_stored(), Some(self.voxels_read()), free_bytes)
    }
}

/// What [`fits_in`] counts: a byte a stored voxel and six a voxel read
/// (`read`, all of them when `None`).
fn room_for(stored: u64, read: Option<u64>, free_bytes: u64) -> Result<(), SpineError> {
    let needed = stored + 6 * read.unwrap_or(stored);
    if needed > free_bytes {
        return Err(SpineError::TooLarge {
            needed_mb: needed / 1_000_000,
            free_mb: free_bytes / 1_000_000,
        });
    }
    Ok(())
}

#[cfg(test)]
mod memory_tests {
    use super::*;
    use crate::grid;

    #[test]
    fn an_analysis_that_would_not_fit_is_refused_before_it_starts() {
        // 1,000 voxels of 1 mm, read whole: a labelmap and six bytes a
        // voxel read, 7,000 bytes.
        let volume = grid::blank_volume([10, 10, 10]);
        assert!(matches!(
            fits_in(&volume, 6_999),
            Err(SpineError::TooLarge { .. })
        ));
        assert!(fits_in(&volume, 7_000).is_ok());
    }
}
