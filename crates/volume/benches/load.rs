//! Load benchmark: a folder of DICOM slices → HU volume, against a baseline
//! measured in the same run: reading the same files and copying their bytes
//! once into one buffer (the least any loader must do).
//!
//! `cargo xtask bench` generates a 512×512×300 Explicit VR LE phantom and runs
//! this with `INSITU_BENCH_SERIES` pointing at it. Prints MB/s, the ratio to
//! the baseline and peak heap memory against the volume size.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use insitu_volume::{files_under, scan};

    /// Counts live and peak heap bytes.
    struct Counting;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    // SAFETY: forwards to the system allocator and only keeps counters.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
                PEAK.fetch_max(live, Ordering::Relaxed);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    fn reset_peak() {
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    pub fn main() {
        let Some(dir) = std::env::var_os("INSITU_BENCH_SERIES") else {
            eprintln!("INSITU_BENCH_SERIES unset: run `cargo xtask bench`");
            std::process::exit(2);
        };
        let files: Vec<_> = files_under(std::path::Path::new(&dir))
            .expect("bench series readable")
            .into_iter()
            .filter(|f| f.name.ends_with(".dcm"))
            .collect();
        let total: u64 = files
            .iter()
            .map(|f| std::fs::metadata(&f.path).unwrap().len())
            .sum();
        let largest = files
            .iter()
            .map(|f| std::fs::metadata(&f.path).unwrap().len())
            .max()
            .unwrap() as f64;
        let mb = total as f64 / 1e6;
        let runs = 3;

        // Baseline: read every file and copy its bytes once into one buffer.
        let mut baseline = f64::MAX;
        for _ in 0..runs {
            let start = Instant::now();
            let mut all = Vec::with_capacity(total as usize);
            for f in &files {
                all.extend_from_slice(&std::fs::read(&f.path).unwrap());
            }
            std::hint::black_box(&all);
            baseline = baseline.min(start.elapsed().as_secs_f64());
        }

        let mut best = f64::MAX;
        let mut peak = 0;
        let mut volume_bytes = 0;
        let mut dims = [0; 3];
        for _ in 0..runs {
            reset_peak();
            let before = LIVE.load(Ordering::Relaxed);
            let start = Instant::now();
            let scan = scan(&files);
            let index = scan.largest_series().expect("a series");
            let loaded = scan.build(index, &files).expect("builds");
            best = best.min(start.elapsed().as_secs_f64());
            peak = PEAK.load(Ordering::Relaxed) - before;
            volume_bytes = match loaded.volume.voxels() {
                insitu_volume::Voxels::I16(v) => v.len() * 2,
                insitu_volume::Voxels::F32(v) => v.len() * 4,
            };
            dims = loaded.volume.geometry().dims.to_array();
            std::hint::black_box(&loaded);
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "series: {} files, {mb:.1} MB, volume {}x{}x{} ({:.1} MB), {threads} threads",
            files.len(),
            dims[0],
            dims[1],
            dims[2],
            volume_bytes as f64 / 1e6
        );
        println!(
            "baseline (read + copy once): {baseline:.3} s  {:.0} MB/s",
            mb / baseline
        );
        println!(
            "insitu scan + build:         {best:.3} s  {:.0} MB/s",
            mb / best
        );
        println!(
            "ratio to baseline:           {:.2}x (aim: <= 2x)",
            best / baseline
        );
        let budget = 1.3 * volume_bytes as f64 + largest;
        println!(
            "peak heap during load:       {:.1} MB = {:.2}x volume (budget 1.3x volume + largest file = {:.1} MB: {})",
            peak as f64 / 1e6,
            peak as f64 / volume_bytes as f64,
            budget / 1e6,
            if (peak as f64) <= budget {
                "within"
            } else {
                "OVER"
            }
        );
    }
}

#[cfg(not(target_arch = "wasm32"))]
use std::alloc::{GlobalAlloc, Layout, System};

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}
