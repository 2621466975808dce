//! Marching-cubes benchmark on the 512×512×300 spine phantom at 300 HU:
//! CPU single-thread, CPU multi-thread and GPU (whatever adapter this
//! machine has), with triangles/s and the ratio to a same-run baseline of
//! one pass reading every voxel. `cargo xtask bench` runs it.

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::run();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::{Duration, Instant};

    use insitu_gpu::{GpuContext, GpuMarchingCubes};
    use insitu_mesh::{MarchingOptions, extract_surface};
    use insitu_volume::{Voxels, files_under, scan};

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

    /// The largest series of a folder of DICOM files.
    fn series(dir: &std::path::Path) -> insitu_volume::Volume {
        let files: Vec<_> = files_under(dir)
            .unwrap()
            .into_iter()
            .filter(|f| f.name.ends_with(".dcm"))
            .collect();
        let scan = scan(&files);
        scan.build(scan.largest_series().unwrap(), &files)
            .unwrap()
            .volume
    }

    /// The demo spine at `COLSxROWSxSLICES` (square slices, 0.75 mm
    /// pixels, 1 mm slices), made in memory: for a machine a series cannot
    /// be copied to (a lent GPU machine).
    fn phantom(size: &str) -> insitu_volume::Volume {
        let n: Vec<u32> = size.split('x').filter_map(|v| v.parse().ok()).collect();
        let [matrix, _, slices] = n[..] else {
            panic!("INSITU_BENCH_PHANTOM={size}: want COLSxROWSxSLICES");
        };
        insitu_volume::phantom::demo_spine(insitu_volume::phantom::PhantomSize {
            matrix,
            slices,
            pixel_mm: 0.75,
            slice_mm: 1.0,
        })
    }

    pub fn run() {
        let volume = match (
            std::env::var_os("INSITU_BENCH_SERIES"),
            std::env::var("INSITU_BENCH_PHANTOM"),
        ) {
            (Some(dir), _) => series(std::path::Path::new(&dir)),
            (None, Ok(size)) => phantom(&size),
            (None, Err(_)) => {
                eprintln!(
                    "INSITU_BENCH_SERIES unset: run `cargo xtask bench` \
                     (or INSITU_BENCH_PHANTOM=512x512x300 for the demo spine made in memory)"
                );
                std::process::exit(2);
            }
        };
        let d = volume.geometry().dims;
        let options = MarchingOptions {
            iso: 300.0,
            close_borders: true,
        };
        let runs = 3;

        let (baseline, _) = best(runs, || match volume.voxels() {
            Voxels::I16(v) => std::hint::black_box(v.iter().map(|&x| i64::from(x)).sum::<i64>()),
            Voxels::F32(v) => std::hint::black_box(v.iter().map(|&x| x as i64).sum::<i64>()),
        });
        let single_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (single, mesh) = best(runs, || {
            single_pool.install(|| extract_surface(&volume, options))
        });
        let (multi, _) = best(runs, || extract_surface(&volume, options));
        let triangles = mesh.triangle_count() as f64;
        let threads = rayon::current_num_threads();
        println!(
            "volume {}x{}x{} i16, iso 300 HU: {} triangles, {} vertices",
            d.x,
            d.y,
            d.z,
            mesh.triangle_count(),
            mesh.positions.len()
        );
        println!(
            "baseline (one pass reading every voxel): {:.4} s",
            baseline.as_secs_f64()
        );
        let line = |what: &str, t: Duration| {
            println!(
                "{what:<28} {:.3} s  {:>6.1} M triangles/s  {:>6.1}x baseline",
                t.as_secs_f64(),
                triangles / t.as_secs_f64() / 1e6,
                t.as_secs_f64() / baseline.as_secs_f64()
            );
        };
        line("CPU, 1 thread", single);
        line(&format!("CPU, {threads} threads"), multi);
        println!(
            "(peers on this machine class: VTK FlyingEdges3D 1 thread 0.19 s, 2 threads 0.11 s; skimage 1.37 s)"
        );
        match pollster::block_on(GpuContext::headless()) {
            Ok(ctx) => {
                let mc = GpuMarchingCubes::new(&ctx).unwrap();
                let (gpu, (gpu_mesh, stats)) = best(runs, || {
                    pollster::block_on(mc.extract(&ctx, &volume, options, None)).unwrap()
                });
                assert_eq!(gpu_mesh.triangles, mesh.triangles, "GPU and CPU disagree");
                line(&format!("GPU ({} slab(s))", stats.slabs), gpu);
                let p = stats.phases;
                println!(
                    "GPU phases (last run): voxels copied {:.1} ms, upload + count + scan {:.1} ms, \
                     emit + read back {:.1} ms, placed in patient space {:.1} ms",
                    p.voxels_copied.as_secs_f64() * 1e3,
                    p.counted.as_secs_f64() * 1e3,
                    p.emitted.as_secs_f64() * 1e3,
                    p.placed.as_secs_f64() * 1e3
                );
                println!("GPU adapter: {}", ctx.summary);
            }
            Err(e) => println!("GPU: none ({e})"),
        }
    }
}
