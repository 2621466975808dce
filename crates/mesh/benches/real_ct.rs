//! Marching cubes on a real CT with open borders, as VTK and scikit-image
//! run it: the triangle count the benchmark compares with theirs (same
//! iso, same voxels), and the time. `cargo xtask bench` sets
//! `INSITU_BENCH_REAL_CT` (a folder) and `INSITU_BENCH_ISO`.

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::run();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::Instant;

    use insitu_mesh::{MarchingOptions, extract_surface};

    pub fn run() {
        let Some(dir) = std::env::var_os("INSITU_BENCH_REAL_CT") else {
            eprintln!("INSITU_BENCH_REAL_CT unset: run through `cargo xtask bench`");
            return;
        };
        let iso: f32 = std::env::var("INSITU_BENCH_ISO")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300.0);
        let files =
            insitu_volume::files_under(std::path::Path::new(&dir)).expect("readable folder");
        let scan = insitu_volume::scan(&files);
        let index = scan.largest_series().expect("an image series");
        let volume = scan.build(index, &files).expect("it builds").volume;
        let mut best = f64::MAX;
        let mut triangles = 0;
        for _ in 0..3 {
            let started = Instant::now();
            let mesh = extract_surface(
                &volume,
                MarchingOptions {
                    iso,
                    close_borders: false,
                },
            );
            best = best.min(started.elapsed().as_secs_f64());
            triangles = mesh.triangle_count();
        }
        println!(
            "insitu marching cubes, open borders: {triangles} triangles, best of 3 {best:.3} s"
        );
    }
}
