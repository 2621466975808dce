//! Segment tools on the 512×512×300 spine phantom, natively (the browser
//! benchmark runs the same edits in wasm): grow from a seed in a vertebral
//! body, threshold of the whole volume, and the grown vertebra's smooth
//! surface against today's 300 HU surface per triangle, each beside a
//! same-run baseline of one pass reading every voxel. `cargo xtask bench`
//! runs it; its last line (`segments-native: {json}`) is passed to the
//! browser benchmark for the wasm/native ratios.

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::run();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::{Duration, Instant};

    use glam::DVec3;
    use insitu_mesh::{MarchingOptions, extract_surface};
    use insitu_segment::{Edit, ValueRange, Workbench};
    use insitu_volume::{Volume, Voxels, files_under, scan};

    /// The seed: the vertebral body centre of `make_series.py`'s spine phantom
    /// on the middle slice (the body's cancellous bone, 250 HU), where the
    /// browser benchmark clicks too.
    fn seed(volume: &Volume) -> [u32; 3] {
        let g = volume.geometry();
        let middle = f64::from(g.dims.z / 2);
        // The phantom's z is the patient z (its first slice at 0).
        let z = g.world_of(DVec3::new(0.0, 0.0, middle)).z;
        let height = f64::from(g.dims.z) * g.spacing().z;
        let cy = 35.0 - 14.0 * (std::f64::consts::PI * z / height).sin();
        let cx = 3.0 * (2.0 * std::f64::consts::PI * z / height).sin();
        let ijk = g.index_of(DVec3::new(cx, cy, z)).round();
        [ijk.x, ijk.y, ijk.z].map(|v| v as u32)
    }

    fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
        let mut best = Duration::MAX;
        let mut last = None;
        for _ in 0..runs {
            let start = Instant::now();
            let out = f();
            best = best.min(start.elapsed());
            last = Some(out);
        }
        (best, last.expect("at least one run"))
    }

    /// A workbench with one empty segment, ready for a tool.
    fn one_segment(volume: &Volume) -> Workbench {
        let mut bench = Workbench::new(volume);
        bench
            .apply(volume, Edit::Add { anatomy: None })
            .expect("a first segment");
        bench
    }

    pub fn run() {
        let Some(dir) = std::env::var_os("INSITU_BENCH_SERIES") else {
            eprintln!("INSITU_BENCH_SERIES unset: run `cargo xtask bench`");
            std::process::exit(2);
        };
        let files: Vec<_> = files_under(std::path::Path::new(&dir))
            .expect("the series folder")
            .into_iter()
            .filter(|f| f.name.ends_with(".dcm"))
            .collect();
        let scan = scan(&files);
        let volume = scan
            .build(scan.largest_series().expect("a series"), &files)
            .expect("the series loads")
            .volume;
        let d = volume.geometry().dims;
        let runs = 3;
        let ms = |t: Duration| t.as_secs_f64() * 1e3;

        let (baseline, _) = best(runs, || match volume.voxels() {
            Voxels::I16(v) => std::hint::black_box(v.iter().map(|&x| i64::from(x)).sum::<i64>()),
            Voxels::F32(v) => std::hint::black_box(v.iter().map(|&x| x as i64).sum::<i64>()),
        });
        let bone = ValueRange {
            low: 300.0,
            high: 3071.0,
        };
        let vertebra = ValueRange {
            low: 200.0,
            high: 3071.0,
        };
        let seed = seed(&volume);

        let mut grown = None;
        let mut grow = Duration::MAX;
        for _ in 0..runs {
            let mut bench = one_segment(&volume);
            let start = Instant::now();
            let applied = bench
                .apply(
                    &volume,
                    Edit::Grow {
                        seed,
                        range: vertebra,
                    },
                )
                .expect("the seed is in a vertebral body");
            grow = grow.min(start.elapsed());
            assert!(applied.voxels > 0);
            grown = Some(bench);
        }
        let grown = grown.expect("at least one run");
        let grown_voxels = grown.count(1);

        let mut threshold = Duration::MAX;
        let mut thresholded = 0;
        for _ in 0..runs {
            let mut bench = one_segment(&volume);
            let start = Instant::now();
            bench
                .apply(&volume, Edit::Threshold { range: bone })
                .expect("bone in the phantom");
            threshold = threshold.min(start.elapsed());
            thresholded = bench.count(1);
        }

        // As the app makes it: within the segment's extent and the crop box.
        let (part, part_mesh) = best(runs, || grown.surface(&volume, 1));
        let (iso, iso_mesh) = best(runs, || {
            extract_surface(
                &volume,
                MarchingOptions {
                    iso: 300.0,
                    close_borders: true,
                },
            )
        });
        let per_triangle = |t: Duration, n: usize| t.as_secs_f64() * 1e9 / n.max(1) as f64;
        let part_ns = per_triangle(part, part_mesh.triangle_count());
        let iso_ns = per_triangle(iso, iso_mesh.triangle_count());

        println!(
            "volume {}x{}x{} i16; baseline (one pass reading every voxel) {:.1} ms",
            d.x,
            d.y,
            d.z,
            ms(baseline)
        );
        println!(
            "grow from seed {seed:?} at 200..3071 HU: {:.1} ms, {grown_voxels} voxels ({:.1}x baseline)",
            ms(grow),
            grow.as_secs_f64() / baseline.as_secs_f64()
        );
        println!(
            "threshold 300..3071 HU, whole volume: {:.1} ms, {thresholded} voxels ({:.1}x baseline)",
            ms(threshold),
            threshold.as_secs_f64() / baseline.as_secs_f64()
        );
        println!(
            "segment surface of the grown vertebra: {:.1} ms, {} triangles, {part_ns:.0} ns/triangle; \
             300 HU surface of the volume {:.1} ms, {} triangles, {iso_ns:.0} ns/triangle \
             (segment/iso per triangle {:.2}x)",
            ms(part),
            part_mesh.triangle_count(),
            ms(iso),
            iso_mesh.triangle_count(),
            part_ns / iso_ns
        );
        println!(
            "segments-native: {{\"grow_ms\":{:.2},\"grow_voxels\":{grown_voxels},\"threshold_ms\":{:.2},\"surface_ms\":{:.2},\"surface_triangles\":{}}}",
            ms(grow),
            ms(threshold),
            ms(part),
            part_mesh.triangle_count()
        );
    }
}
