//! A series decoded as separate jobs (what browser workers each run) and
//! reassembled equals the one-piece build: single-frame and multi-frame
//! series, i16 and f32, every way of splitting, and failed slices reported
//! the same way.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{memory_files, scan_path};
use insitu_volume::{Scan, Source, run_job, scan};

/// Builds series `index` from `parts` jobs, as the browser does.
fn build_in_parts<S: Source>(
    scan: &Scan,
    index: usize,
    sources: &[S],
    parts: usize,
) -> insitu_volume::Loaded {
    let float = scan.needs_float(index).unwrap();
    let jobs = scan.decode_rounds(index, parts, usize::MAX, float).unwrap();
    assert!(jobs.len() <= parts, "{} jobs for {parts} parts", jobs.len());
    let mut assembly = scan.start_assembly(index, float).unwrap();
    for job in &jobs {
        let mine: Vec<&S> = job.files.iter().map(|&f| &sources[f]).collect();
        let (samples, outcome) = run_job(job, &mine);
        assert!(!outcome.overflow);
        assembly.put(job, &samples);
        assembly.record(&outcome);
    }
    assembly.finish(scan).unwrap()
}

#[test]
fn the_head_ct_in_parts_equals_the_whole_build() {
    let (files, scan) = scan_path("ct-ge-head-tilt");
    let index = scan.largest_series().unwrap();
    let whole = scan.build(index, &files).unwrap();
    for parts in [1, 2, 3, 4, 7, 100] {
        let jobs = scan.decode_rounds(index, parts, usize::MAX, false).unwrap();
        let slices: usize = jobs.iter().map(|j| j.slice_count()).sum();
        assert_eq!(slices, 28, "every slice in exactly one job");
        let built = build_in_parts(&scan, index, &files, parts);
        assert_eq!(built.volume, whole.volume, "{parts} parts");
        assert_eq!(built.warnings, whole.warnings, "{parts} parts");
    }
}

#[test]
fn decoders_taking_bounded_jobs_in_turn_build_the_same_volume() {
    // Three decoders, each holding at most two of the head CT's 512²
    // frames at a time: 28 slices in rounds of jobs of two.
    let (files, scan) = scan_path("ct-ge-head-tilt");
    let index = scan.largest_series().unwrap();
    let whole = scan.build(index, &files).unwrap();
    let frame_bytes = 512 * 512 * 2;
    for (most_bytes, jobs_expected) in [(2 * frame_bytes, 14), (usize::MAX, 3)] {
        let jobs = scan.decode_rounds(index, 3, most_bytes, false).unwrap();
        assert_eq!(jobs.len(), jobs_expected, "{most_bytes} bytes a job");
        assert!(
            jobs.iter()
                .all(|j| j.slice_count() * frame_bytes <= most_bytes)
        );
        let slices: usize = jobs.iter().map(|j| j.slice_count()).sum();
        assert_eq!(slices, 28, "every slice in exactly one job");
        let mut assembly = scan.start_assembly(index, false).unwrap();
        for job in &jobs {
            let mine: Vec<_> = job.files.iter().map(|&f| &files[f]).collect();
            let (samples, outcome) = run_job(job, &mine);
            assembly.put(job, &samples);
            assembly.record(&outcome);
        }
        let built = assembly.finish(&scan).unwrap();
        assert_eq!(built.volume, whole.volume);
        assert_eq!(built.warnings, whole.warnings);
    }
}

#[test]
fn a_multi_frame_series_in_parts_equals_the_whole_build() {
    let (files, scan) = scan_path("pydicom-data/emri_small.dcm");
    assert_eq!(scan.series[0].info.dims[2], 10, "ten frames in one file");
    let whole = scan.build(0, &files).unwrap();
    let built = build_in_parts(&scan, 0, &files, 3);
    assert_eq!(built.volume, whole.volume);
    assert_eq!(built.warnings, whole.warnings);
}

/// The f32 path (taken for fractional rescales, or when i16 overflows)
/// gives the same values as the i16 one.
#[test]
fn float_jobs_give_the_same_values() {
    let (files, scan) = scan_path("ct-ge-head-tilt");
    let index = scan.largest_series().unwrap();
    let whole = scan.build(index, &files).unwrap();
    let mut assembly = scan.start_assembly(index, true).unwrap();
    for job in scan.decode_rounds(index, 3, usize::MAX, true).unwrap() {
        let mine: Vec<_> = job.files.iter().map(|&f| &files[f]).collect();
        let (samples, outcome) = run_job(&job, &mine);
        assert!(matches!(samples, insitu_volume::Voxels::F32(_)));
        assembly.put(&job, &samples);
        assembly.record(&outcome);
    }
    let built = assembly.finish(&scan).unwrap();
    assert_eq!(common::values(&built), common::values(&whole));
}

/// The head CT with one file damaged after the scan (its pixel data cut
/// short): the files, the scan, the series and the damaged file's index.
fn head_ct_damaged_after_the_scan(
    pick: impl Fn(&Scan, usize) -> usize,
) -> (Vec<insitu_volume::MemoryFile>, Scan, usize, usize) {
    let mut files = memory_files("ct-ge-head-tilt");
    let scan = scan(&files);
    let index = scan.largest_series().unwrap();
    let victim = pick(&scan, index);
    let len = files[victim].bytes.len();
    files[victim].bytes.truncate(len - 1000);
    (files, scan, index, victim)
}

#[test]
fn a_slice_that_fails_in_a_job_is_reported_as_the_whole_build_reports_it() {
    let (files, scan, index, victim) = head_ct_damaged_after_the_scan(|scan, index| {
        scan.decode_rounds(index, 1, usize::MAX, false).unwrap()[0].files[5]
    });
    let whole = scan.build(index, &files).unwrap();
    let built = build_in_parts(&scan, index, &files, 4);
    assert_eq!(built.volume, whole.volume);
    assert_eq!(built.warnings, whole.warnings);
    let failed = whole
        .warnings
        .iter()
        .filter(|w| w.to_string().contains(&files[victim].name))
        .count();
    assert_eq!(failed, 1, "{:?}", whole.warnings);
}

/// Builds series `index` a batch of files at a time straight into the
/// assembly, as the study worker decodes in place.
fn build_in_batches<S: Source>(
    scan: &Scan,
    index: usize,
    sources: &[S],
    files_per_batch: usize,
    float: bool,
) -> Result<insitu_volume::Loaded, insitu_volume::NeedsFloat> {
    let jobs = scan.decode_batches(index, files_per_batch, float).unwrap();
    let mut assembly = scan.start_assembly(index, float).unwrap();
    for job in &jobs {
        assert!(job.files.len() <= files_per_batch);
        assembly.decode(job, job.files.iter().map(|&f| &sources[f]))?;
    }
    Ok(assembly.finish(scan).unwrap())
}

#[test]
fn batches_decoded_in_place_equal_the_whole_build() {
    let (files, scan, index, _) = head_ct_damaged_after_the_scan(|scan, index| {
        scan.decode_batches(index, 4, false).unwrap()[1].files[2]
    });
    let whole = scan.build(index, &files).unwrap();
    for per_batch in [1, 4, 5, 28] {
        let built = build_in_batches(&scan, index, &files, per_batch, false).unwrap();
        assert_eq!(built.volume, whole.volume, "{per_batch} files per batch");
        assert_eq!(
            built.warnings, whole.warnings,
            "{per_batch} files per batch"
        );
    }
    let float = build_in_batches(&scan, index, &files, 6, true).unwrap();
    assert_eq!(common::values(&float), common::values(&whole));
    // The multi-frame Enhanced MR: one file, ten slices, one batch.
    let (files, scan) = scan_path("pydicom-data/emri_small.dcm");
    let whole = scan.build(0, &files).unwrap();
    assert_eq!(
        build_in_batches(&scan, 0, &files, 3, false).unwrap().volume,
        whole.volume
    );
}
