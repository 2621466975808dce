//! `insitu mesh`: a folder → iso-surface → STL/OBJ/PLY, on the GPU or CPU.

use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use insitu_gpu::{GpuContext, GpuMarchingCubes};
use insitu_mesh::{Mesh, SurfaceOptions, cleanup, extract_surface, obj, ply, stl, topology};

/// Options of `insitu mesh`.
pub struct MeshArgs<'a> {
    pub dir: &'a Path,
    pub iso: f32,
    pub series: Option<usize>,
    pub largest: bool,
    pub min_island: Option<usize>,
    pub smooth: usize,
    pub decimate: Option<usize>,
    pub engine: Engine,
    pub output: &'a Path,
    pub ascii: bool,
}

/// Where marching cubes runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// GPU when an adapter with compute exists, else CPU (said so).
    Auto,
    Cpu,
    Gpu,
}

fn gpu_surface(
    volume: &insitu_volume::Volume,
    options: SurfaceOptions,
) -> Result<(Mesh, String), String> {
    let ctx = pollster::block_on(GpuContext::headless()).map_err(|e| e.to_string())?;
    let mc = GpuMarchingCubes::new(&ctx).map_err(|e| e.to_string())?;
    let (mesh, stats) =
        pollster::block_on(mc.extract(&ctx, volume, options, None)).map_err(|e| e.to_string())?;
    Ok((
        mesh,
        format!("GPU ({}), {} slab(s)", ctx.summary, stats.slabs),
    ))
}

/// Runs the command.
pub fn mesh(args: &MeshArgs<'_>) -> Result<(), String> {
    let start = Instant::now();
    let files =
        insitu_volume::files_under(args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let scan = insitu_volume::scan(&files);
    let index = args
        .series
        .or_else(|| scan.largest_series())
        .ok_or_else(|| format!("{}: no image series found", args.dir.display()))?;
    let loaded = scan.build(index, &files).map_err(|e| e.to_string())?;
    let loaded_at = start.elapsed();
    let options = SurfaceOptions {
        iso: args.iso,
        close_borders: true,
    };
    let extract_start = Instant::now();
    let (mut mesh, engine) = match args.engine {
        Engine::Cpu => (extract_surface(&loaded.volume, options), "CPU".to_owned()),
        Engine::Gpu => gpu_surface(&loaded.volume, options)?,
        Engine::Auto => match gpu_surface(&loaded.volume, options) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("no GPU compute ({e}); marching cubes on the CPU");
                (
                    extract_surface(&loaded.volume, options),
                    "CPU (fallback)".to_owned(),
                )
            }
        },
    };
    let extracted = extract_start.elapsed();
    if args.largest {
        mesh = cleanup::keep_largest_component(&mesh);
    }
    if let Some(min) = args.min_island {
        mesh = cleanup::remove_islands(&mesh, min);
    }
    cleanup::taubin_smooth(&mut mesh, args.smooth);
    let decimate_start = Instant::now();
    if let Some(target) = args.decimate {
        let before = mesh.triangle_count();
        mesh = insitu_mesh::decimate::decimate(&mesh, target);
        println!(
            "decimated {before} -> {} triangles in {:.3} s",
            mesh.triangle_count(),
            decimate_start.elapsed().as_secs_f64()
        );
    }
    let write_start = Instant::now();
    let file = std::fs::File::create(args.output)
        .map_err(|e| format!("{}: {e}", args.output.display()))?;
    let out = BufWriter::new(file);
    let extension = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "stl" if args.ascii => stl::write_ascii(&mesh, out),
        "stl" => stl::write_binary(&mesh, out),
        "obj" => obj::write(&mesh, out),
        "ply" => ply::write(&mesh, out),
        other => {
            return Err(format!(
                "unknown mesh format .{other}: use .stl, .obj or .ply"
            ));
        }
    }
    .map_err(|e| format!("{}: {e}", args.output.display()))?;
    let t = topology(&mesh);
    println!(
        "series {index}: iso {} HU, marching cubes on {engine}",
        args.iso
    );
    println!(
        "{} triangles, {} vertices, {}",
        mesh.triangle_count(),
        mesh.positions.len(),
        if t.is_watertight() {
            "watertight".to_owned()
        } else {
            format!(
                "not watertight ({} boundary, {} non-manifold, {} flipped edges)",
                t.boundary_edges, t.non_manifold_edges, t.inconsistent_edges
            )
        }
    );
    if let Some((lo, hi)) = mesh.bounds() {
        println!(
            "bounds (mm): {} {} {} .. {} {} {}",
            lo.x, lo.y, lo.z, hi.x, hi.y, hi.z
        );
    }
    println!(
        "load {:.3} s, extract {:.3} s, write {:.3} s -> {}",
        loaded_at.as_secs_f64(),
        extracted.as_secs_f64(),
        write_start.elapsed().as_secs_f64(),
        args.output.display()
    );
    Ok(())
}
