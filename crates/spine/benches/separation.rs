//! Spine separation natively, on the demo generator's spine at 512²×300
//! (0.7 × 0.7 × 1 mm, as a lumbar CT) and at the app's demo size: load
//! excluded, analysis only (canal, discs, split, names, measurements). The
//! browser benchmark divides its wasm time by the 512² figure (the
//! `spine-native:` line). With `INSITU_BENCH_LOW_DENSITY` (a DICOM folder:
//! a real osteoporotic CT of the same size, which needs the lenient
//! readings of bone) that CT too, and with `INSITU_BENCH_LOW_DENSITY_NOISY`
//! the same CT with noise (read in blocks, then voxel by voxel).

use std::time::Instant;

use insitu_volume::phantom::{PhantomSize, Variant, demo_variant};

fn best_of(runs: usize, volume: &insitu_volume::Volume) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let analysis = insitu_spine::analyse(volume, &mut |_, _| true).expect("the demo's spine");
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
        found = analysis.spine.vertebrae.len();
    }
    (best, found)
}

fn main() {
    let large = PhantomSize {
        matrix: 512,
        slices: 300,
        pixel_mm: 0.7,
        slice_mm: 1.0,
    };
    let volume = demo_variant(large, Variant::Normal);
    let (ms, found) = best_of(3, &volume);
    println!("spine separation, 512x512x300 demo spine: {ms:.0} ms (best of 3), {found} vertebrae");
    let demo = demo_variant(PhantomSize::DEMO, Variant::Normal);
    let (demo_ms, _) = best_of(3, &demo);
    println!("spine separation, the app's demo (288x288x300): {demo_ms:.0} ms (best of 3)");
    let low_density_ms = series_ms("INSITU_BENCH_LOW_DENSITY", "low-density lumbar CT");
    let noisy_ms = series_ms(
        "INSITU_BENCH_LOW_DENSITY_NOISY",
        "the same CT with 40 HU of noise",
    );
    let field = |name: &str, ms: Option<f64>| {
        ms.map_or(String::new(), |ms| format!(", \"{name}\": {ms:.1}"))
    };
    println!(
        "spine-native: {{\"separation_512_ms\": {ms:.1}, \"separation_demo_ms\": {demo_ms:.1}{}{}}}",
        field("separation_low_density_ms", low_density_ms),
        field("separation_low_density_noisy_ms", noisy_ms),
    );
}

/// The analysis of the largest series in the DICOM folder `variable`
/// names, if set: its best time of two (ms), printed as `what`.
fn series_ms(variable: &str, what: &str) -> Option<f64> {
    let dir = std::env::var_os(variable)?;
    let files = insitu_volume::files_under(std::path::Path::new(&dir)).expect("the series");
    let scan = insitu_volume::scan(&files);
    let volume = scan
        .build(scan.largest_series().expect("a series"), &files)
        .expect("loads")
        .volume;
    let (ms, found) = best_of(2, &volume);
    let d = volume.geometry().dims;
    println!(
        "spine separation, {what} ({}x{}x{}): {ms:.0} ms (best of 2), {found} vertebrae",
        d.x, d.y, d.z
    );
    Some(ms)
}
