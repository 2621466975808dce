//! Volumes with no spine in them, too small for one, at pixel sizes the
//! analysis reads in blocks: each is refused with an error, never a panic
//! (a panic in the browser's study worker ends it). A series a pixel or two
//! across at 0.3 mm pixels, or one pixel wide at 0.5 mm pixels and 8 mm
//! slices, read past its last voxel until its blocks were held to its axes.

mod common;

use common::xorshift;
use glam::{DVec3, UVec3};
use insitu_volume::{Geometry, Volume, Voxels};

/// A volume of `dims` voxels `spacing` mm apart whose voxel n reads `hu(n)`.
fn volume(dims: [u32; 3], spacing: [f64; 3], hu: impl Fn(usize) -> i16) -> Volume {
    let steps = [
        DVec3::X * spacing[0],
        DVec3::Y * spacing[1],
        DVec3::Z * spacing[2],
    ];
    let geometry = Geometry::new(UVec3::from_array(dims), steps, DVec3::ZERO).expect("a grid");
    let count = dims.iter().map(|&n| n as usize).product::<usize>();
    Volume::new(geometry, Voxels::I16((0..count).map(hu).collect())).expect("a volume")
}

/// HU by voxel index.
type Content = fn(usize) -> i16;

#[test]
fn volumes_too_small_for_a_spine_are_refused_without_a_panic() {
    let contents: [(&str, Content); 3] = [
        ("air", |_| -1000),
        ("bone", |_| 1500),
        ("speckle", |n| ((n * 7919) % 3000) as i16 - 1000),
    ];
    for dims in [[1, 1, 1], [2, 2, 2], [1, 1, 50], [64, 64, 1], [64, 64, 2]] {
        for spacing in [[1.0, 1.0, 1.0], [0.3, 0.3, 0.3], [0.5, 0.5, 8.0]] {
            for (what, hu) in contents {
                let analysed = insitu_spine::analyse(&volume(dims, spacing, hu), &mut |_, _| true);
                assert!(
                    analysed.is_err(),
                    "{what}, {dims:?} voxels of {spacing:?} mm: no spine"
                );
            }
        }
    }
}

/// Volumes the size of a spine CT's column of random HU: under four of
/// eleven draws their pieces were a 5–14-litre "L5" (or "L4") on a
/// 3.6–7.4-litre "sacrum", named from that sacrum. Pieces bigger than
/// several vertebrae run together, none looking right: refused as holding
/// no vertebra, as the other draws were (or as holding no canal).
#[test]
fn random_hu_the_size_of_a_spine_is_refused() {
    for draw in 1..12u64 {
        let mut state = draw.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let hu: Vec<i16> = (0..40 * 40 * 400)
            .map(|_| (xorshift(&mut state) % 3000) as i16 - 1000)
            .collect();
        let speckle = volume([40, 40, 400], [3.0, 3.0, 5.0], |n| hu[n]);
        let analysed = insitu_spine::analyse(&speckle, &mut |_, _| true);
        assert!(
            analysed.is_err(),
            "draw {draw}: {:?}",
            analysed.map(|a| a
                .spine
                .vertebrae
                .iter()
                .map(|v| (v.name.clone(), v.volume_ml))
                .collect::<Vec<_>>())
        );
    }
}
