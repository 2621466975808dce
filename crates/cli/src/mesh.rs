//! `insitu mesh`: a folder → iso-surface → STL/OBJ/PLY, on the GPU or CPU
//! as `insitu_gpu::engine` decides, cleaned up by `insitu_mesh::clean_up`:
//! the same pipeline the web app runs.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use insitu_gpu::engine::marching_engine;
use insitu_gpu::{CpuReason, EngineChoice, GpuAdapter, GpuContext, GpuError, GpuMarchingCubes};
use insitu_mesh::{Engine, Mesh, MeshFormat, SurfaceFacts, SurfaceOptions, clean_up, topology};

use crate::CliError;

/// Options of `insitu mesh`.
pub struct MeshArgs<'a> {
    pub dir: &'a Path,
    pub series: Option<usize>,
    pub surface: SurfaceOptions,
    pub output: &'a Path,
    pub ascii: bool,
}

/// Marching cubes on the GPU; the label says on which adapter.
fn gpu_surface(
    ctx: &GpuContext,
    volume: &insitu_volume::Volume,
    options: &SurfaceOptions,
) -> Result<(Mesh, String), GpuError> {
    let mc = GpuMarchingCubes::new(ctx)?;
    let (mesh, stats) = pollster::block_on(mc.extract(ctx, volume, options.marching(), None))?;
    Ok((
        mesh,
        format!("GPU ({}), {} slab(s)", ctx.summary, stats.slabs),
    ))
}

/// Runs marching cubes where the engine policy says; an explicit `--gpu`
/// that cannot be honoured is an error rather than a silent fallback.
fn extract(
    volume: &insitu_volume::Volume,
    options: &SurfaceOptions,
) -> Result<(Mesh, String), CliError> {
    let cpu = |reason: CpuReason| {
        (
            insitu_mesh::extract_surface(volume, options.marching()),
            reason.label(),
        )
    };
    if options.engine == Engine::Cpu {
        return Ok(cpu(CpuReason::Chosen));
    }
    // The adapter first: a device is made only if the policy takes it.
    let adapter = pollster::block_on(GpuAdapter::headless());
    match marching_engine(options.engine, adapter.as_ref().map(|a| &a.summary)) {
        EngineChoice::Cpu(reason) if options.engine == Engine::Gpu => {
            Err(CliError::Failed(format!("--gpu: {reason}")))
        }
        EngineChoice::Cpu(reason) => Ok(cpu(reason)),
        EngineChoice::Gpu => {
            let adapter = adapter.expect("the policy chose an adapter it was given");
            let made = pollster::block_on(adapter.open())
                .and_then(|ctx| gpu_surface(&ctx, volume, options));
            match made {
                Ok(found) => Ok(found),
                Err(e) if options.engine == Engine::Gpu => Err(CliError::Failed(e.to_string())),
                Err(e) => Ok(cpu(CpuReason::GpuFailed(e))),
            }
        }
    }
}

/// Runs the command.
pub fn mesh(args: &MeshArgs<'_>) -> Result<(), CliError> {
    let start = Instant::now();
    let extension = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let format = MeshFormat::from_extension(extension, args.ascii)
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.output.display())))?;
    let files = insitu_volume::files_under(args.dir)
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.dir.display())))?;
    let scan = insitu_volume::scan(&files);
    let index = args
        .series
        .or_else(|| scan.largest_series())
        .ok_or_else(|| {
            CliError::Failed(format!("{}: no image series found", args.dir.display()))
        })?;
    let loaded = scan
        .build(index, &files)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let loaded_at = start.elapsed();
    let extract_start = Instant::now();
    let (mesh, engine) = extract(&loaded.volume, &args.surface)?;
    let extracted = extract_start.elapsed();
    let cleanup_start = Instant::now();
    let before = mesh.triangle_count();
    let mesh = clean_up(mesh, &args.surface);
    let cleaned = cleanup_start.elapsed();
    let write_start = Instant::now();
    let file = std::fs::File::create(args.output)
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.output.display())))?;
    format
        .write(&mesh, BufWriter::with_capacity(1 << 20, file))
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.output.display())))?;
    let written = write_start.elapsed();
    let facts = SurfaceFacts::of(&mesh, None);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "series {index}: iso {} HU, marching cubes on {engine}",
        args.surface.iso
    )?;
    if mesh.triangle_count() != before {
        writeln!(
            out,
            "clean-up: {before} -> {} triangles in {:.3} s",
            mesh.triangle_count(),
            cleaned.as_secs_f64()
        )?;
    }
    let closed = if facts.watertight {
        "watertight".to_owned()
    } else {
        let t = topology(&mesh);
        format!(
            "not watertight ({} boundary, {} non-manifold, {} flipped edges)",
            t.boundary_edges, t.non_manifold_edges, t.inconsistent_edges
        )
    };
    writeln!(
        out,
        "{} triangles, {} vertices, {closed}",
        facts.triangles, facts.vertices
    )?;
    let (lo, hi) = facts.bounds;
    writeln!(
        out,
        "bounds (mm): {} {} {} .. {} {} {}",
        lo[0], lo[1], lo[2], hi[0], hi[1], hi[2]
    )?;
    writeln!(
        out,
        "load {:.3} s, extract {:.3} s, write {:.3} s -> {}",
        loaded_at.as_secs_f64(),
        extracted.as_secs_f64(),
        written.as_secs_f64(),
        args.output.display()
    )?;
    Ok(())
}
