//! A series read reduced (every second slice, 2×2 blocks averaged) is the
//! full build's every second slice with each block's mean, at the blocks'
//! centres: the same patient space, a quarter of the pixels.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use glam::DVec3;
use insitu_volume::{DiskFile, Reduction, Voxels, Warning, files_under, scan};

/// The DICOM files of phantom folder `name`.
fn dicom_files(name: &str) -> Vec<DiskFile> {
    files_under(&common::phantoms().join(name))
        .unwrap()
        .into_iter()
        .filter(|f| f.name.ends_with(".dcm"))
        .collect()
}

#[test]
fn a_reduced_series_is_the_full_one_averaged_in_the_same_place() {
    // Oblique, descending, padded and with a dropped slice: geometry that
    // a careless reduction would misplace; and RLE, decoded elsewhere.
    for name in ["awkward", "rle"] {
        let files = dicom_files(name);
        let full_scan = scan(&files);
        let index = full_scan.largest_series().unwrap();
        let full = full_scan.build(index, &files).unwrap().volume;
        let reduction = Reduction {
            slice_step: 2,
            block: 2,
        };
        let reduced_scan = full_scan.with_reduction(index, reduction).unwrap();
        let loaded = reduced_scan.build(index, &files).unwrap();
        assert!(
            loaded.warnings.iter().any(|w| matches!(
                w,
                Warning::Reduced {
                    slice_step: 2,
                    block: 2
                }
            )),
            "{name}: {:?}",
            loaded.warnings
        );
        let reduced = loaded.volume;
        let (f, r) = (full.geometry(), reduced.geometry());
        assert_eq!(r.dims.x, f.dims.x / 2, "{name}");
        assert_eq!(r.dims.y, f.dims.y / 2, "{name}");
        assert_eq!(r.dims.z, f.dims.z.div_ceil(2), "{name}");
        let (Voxels::I16(fv), Voxels::I16(rv)) = (full.voxels(), reduced.voxels()) else {
            panic!("{name}: not i16");
        };
        let at = |v: &[i16], dims: glam::UVec3, i: u32, j: u32, k: u32| {
            v[((k * dims.y + j) * dims.x + i) as usize]
        };
        for k in 0..r.dims.z {
            for j in (0..r.dims.y).step_by(7) {
                for i in (0..r.dims.x).step_by(5) {
                    let sum: f64 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                        .iter()
                        .map(|&(di, dj)| f64::from(at(fv, f.dims, 2 * i + di, 2 * j + dj, 2 * k)))
                        .sum();
                    let mean = (sum / 4.0).round() as i16;
                    assert_eq!(at(rv, r.dims, i, j, k), mean, "{name} ({i},{j},{k})");
                }
            }
            // The reduced voxel sits at the centre of the four it averages.
            let corner = |di: u32, dj: u32| {
                f.world_of(DVec3::new(f64::from(di), f64::from(dj), f64::from(2 * k)))
            };
            let centre = (corner(0, 0) + corner(1, 1)) / 2.0;
            let got = r.world_of(DVec3::new(0.0, 0.0, f64::from(k)));
            assert!(
                (got - centre).length() < 1e-6,
                "{name} slice {k}: {got} vs {centre}"
            );
        }
        // The same physical extent: the first and last kept slices where
        // the full series has them.
        assert_eq!(
            reduced.slice_offsets_mm().map(<[f64]>::len),
            full.slice_offsets_mm().map(|o| o.len().div_ceil(2)),
            "{name}"
        );
    }
}

#[test]
fn the_offers_are_the_reductions_that_fit() {
    let files = dicom_files("ele");
    let scan = scan(&files);
    let index = scan.largest_series().unwrap();
    let [x, y, z] = scan.series[index].info.dims;
    let full = 2 * u64::from(x) * u64::from(y) * u64::from(z);
    // Room for half the volume, not for all of it.
    let offers = scan.reduced_loads(index, false, full / 2 + 1);
    let kinds: Vec<_> = offers
        .iter()
        .map(|o| (o.reduction.slice_step, o.reduction.block))
        .collect();
    assert_eq!(kinds, vec![(2, 1), (1, 2), (2, 2), (4, 2)]);
    assert!(offers.iter().all(|o| o.bytes <= full / 2 + 1));
    assert_eq!(offers[1].dims, [x / 2, y / 2, z]);
    // Room for a tenth: only the strongest reductions.
    let few = scan.reduced_loads(index, false, full / 10);
    assert!(
        few.iter()
            .all(|o| o.reduction.block == 2 && o.reduction.slice_step >= 4)
    );
}
