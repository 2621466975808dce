//! `insitu mesh`: a folder → iso-surface → STL/OBJ/PLY/3MF/GLB, on the GPU
//! or CPU as `insitu_gpu::engine` decides, cleaned up by
//! `insitu_mesh::clean_up`: the same pipeline the web app runs. With
//! `--labels`, one smooth coloured part per label of a labelmap file; with
//! `--crop`, only what lies inside a box of the grid.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use insitu_gpu::engine::marching_engine;
use insitu_gpu::{CpuReason, EngineChoice, GpuAdapter, GpuContext, GpuError, GpuMarchingCubes};
use insitu_mesh::{
    Engine, Mesh, ModelFormat, Part, SurfaceFacts, SurfaceOptions, clean_up, topology,
};
use insitu_segment::{CropBox, LabelFile, segment_surface};

use crate::{CliError, write_file};

/// Options of `insitu mesh`.
pub struct MeshArgs<'a> {
    pub dir: &'a Path,
    pub series: Option<usize>,
    pub surface: SurfaceOptions,
    pub output: &'a Path,
    pub ascii: bool,
    /// Inclusive voxel corners `i0,j0,k0,i1,j1,k1`.
    pub crop: Option<[u32; 6]>,
    /// A labelmap on the series' grid: one coloured part per label.
    pub labels: Option<&'a Path>,
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

/// Where the crop box comes from: `i0,j0,k0,i1,j1,k1`, inclusive voxel
/// corners on the series' grid (as `insitu info` counts them).
pub fn parse_crop(text: &str) -> Result<[u32; 6], String> {
    let numbers: Vec<u32> = text
        .split(',')
        .map(|n| n.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("--crop {text}: expected six whole numbers i0,j0,k0,i1,j1,k1"))?;
    numbers
        .try_into()
        .map_err(|_| format!("--crop {text}: expected six whole numbers i0,j0,k0,i1,j1,k1"))
}

/// The crop box on a grid of `dims`; a corner outside it is an error
/// (silently clamping would print a different part than asked).
fn crop_box(corners: Option<[u32; 6]>, dims: [u32; 3]) -> Result<CropBox, CliError> {
    let Some(corners) = corners else {
        return Ok(CropBox::whole(dims));
    };
    for (a, name) in ["i", "j", "k"].into_iter().enumerate() {
        let v = corners[a].max(corners[a + 3]);
        if v >= dims[a] {
            return Err(CliError::Failed(format!(
                "--crop: {name} = {v} is outside the series ({}×{}×{} voxels; indices from 0)",
                dims[0], dims[1], dims[2]
            )));
        }
    }
    let [i0, j0, k0, i1, j1, k1] = corners;
    Ok(CropBox::from_corners([i0, j0, k0], [i1, j1, k1], dims))
}

/// Loads the series the arguments name.
fn load(args: &MeshArgs<'_>) -> Result<(usize, insitu_volume::Volume), CliError> {
    load_series(args.dir, args.series).map(|(index, volume, _)| (index, volume))
}

/// Loads series `series` of `dir` (default: the one with most slices).
pub fn load_series(
    dir: &Path,
    series: Option<usize>,
) -> Result<(usize, insitu_volume::Volume, insitu_volume::Modality), CliError> {
    let files = insitu_volume::files_under(dir)
        .map_err(|e| CliError::Failed(format!("{}: {e}", dir.display())))?;
    let scan = insitu_volume::scan(&files);
    let index = series
        .or_else(|| scan.largest_series())
        .ok_or_else(|| CliError::Failed(format!("{}: no image series found", dir.display())))?;
    let modality = scan
        .series
        .get(index)
        .map_or(insitu_volume::Modality::Other, |s| {
            insitu_volume::Modality::from_code(&s.info.modality)
        });
    let loaded = scan
        .build(index, &files)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    Ok((index, loaded.volume, modality))
}

/// One line about a surface: triangles, vertices, closed or not.
fn describe(mesh: &Mesh) -> String {
    let facts = SurfaceFacts::of(mesh, None);
    let closed = if facts.watertight == Some(true) {
        "watertight".to_owned()
    } else {
        let t = topology(mesh);
        format!(
            "not watertight ({} boundary, {} non-manifold, {} flipped edges)",
            t.boundary_edges, t.non_manifold_edges, t.inconsistent_edges
        )
    };
    format!(
        "{} triangles, {} vertices, {closed}",
        facts.triangles, facts.vertices
    )
}

/// Runs the command.
pub fn mesh(args: &MeshArgs<'_>) -> Result<(), CliError> {
    let start = Instant::now();
    let extension = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let format = ModelFormat::from_extension(extension, args.ascii, args.labels.is_some())
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.output.display())))?;
    let (index, volume) = load(args)?;
    let g = volume.geometry();
    let crop = crop_box(args.crop, [g.dims.x, g.dims.y, g.dims.z])?;
    let loaded_at = start.elapsed();
    let mut out = std::io::stdout().lock();
    let extract_start = Instant::now();
    let parts: Vec<(String, [u8; 3], Mesh)> = match args.labels {
        Some(path) => labelled_parts(&volume, path, &crop, &args.surface, &mut out)?,
        None => {
            let whole = crop == CropBox::whole(crop.max);
            let part;
            let volume = if whole {
                &volume
            } else {
                part = volume
                    .cropped(crop.min, crop.max)
                    .map_err(|e| CliError::Failed(format!("--crop: {e}")))?;
                &part
            };
            let (mesh, engine) = extract(volume, &args.surface)?;
            writeln!(
                out,
                "series {index}: iso {} HU, marching cubes on {engine}",
                args.surface.iso
            )?;
            if !whole {
                writeln!(
                    out,
                    "crop box: voxels {:?} to {:?} (inclusive)",
                    crop.min,
                    crop.max.map(|m| m - 1)
                )?;
            }
            let before = mesh.triangle_count();
            let cleanup_start = Instant::now();
            let mesh = clean_up(mesh, &args.surface);
            if mesh.triangle_count() != before {
                writeln!(
                    out,
                    "clean-up: {before} -> {} triangles in {:.3} s",
                    mesh.triangle_count(),
                    cleanup_start.elapsed().as_secs_f64()
                )?;
            }
            let name = format!("iso {} HU", args.surface.iso);
            vec![(name, BONE_COLOR, mesh)]
        }
    };
    let extracted = extract_start.elapsed();
    let write_start = Instant::now();
    if let (ModelFormat::Single(_), [_, _, ..]) = (format, &parts[..]) {
        return Err(CliError::Failed(format!(
            "{}: {} parts need a format that holds several: .3mf, .glb or .ply",
            args.output.display(),
            parts.len()
        )));
    }
    // Written to the file as it is formatted: never a second copy of a
    // large surface in memory.
    write_file(args.output, |file| match format {
        ModelFormat::Single(single) => single.write(&parts[0].2, file),
        ModelFormat::Parts(several) => several.write(&as_parts(&parts), file),
    })?;
    let written = write_start.elapsed();
    if let [(_, _, mesh)] = &parts[..] {
        writeln!(out, "{}", describe(mesh))?;
    }
    let bounds = parts
        .iter()
        .filter_map(|(_, _, m)| m.bounds())
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
    if let Some((lo, hi)) = bounds {
        writeln!(
            out,
            "bounds (mm): {} {} {} .. {} {} {}",
            lo.x, lo.y, lo.z, hi.x, hi.y, hi.z
        )?;
    }
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

/// The colour of an iso-surface written as a coloured model: bone.
const BONE_COLOR: [u8; 3] = [241, 214, 145];

/// One smooth, cleaned surface per label of the labelmap file, inside the
/// crop box, each named and coloured as the file says (or by label).
fn labelled_parts(
    volume: &insitu_volume::Volume,
    path: &Path,
    crop: &CropBox,
    options: &SurfaceOptions,
    out: &mut impl Write,
) -> Result<Vec<(String, [u8; 3], Mesh)>, CliError> {
    let failed = |e: &dyn std::fmt::Display| CliError::Failed(format!("{}: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| failed(&e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let file = LabelFile::read(name, &bytes).map_err(|e| failed(&e))?;
    let (map, table) = file.on_grid(volume.geometry()).map_err(|e| failed(&e))?;
    writeln!(
        out,
        "labels: {} segment(s) from {}, marching cubes on the CPU (smoothed masks)",
        table.segments().len(),
        path.display()
    )?;
    let parts = segment_parts(volume, &map, &table, crop, options, out)?;
    if parts.is_empty() {
        return Err(failed(&"no labelled voxel (inside the crop box)"));
    }
    Ok(parts)
}

/// Named, coloured meshes as the parts a multi-part writer takes.
pub fn as_parts(parts: &[(String, [u8; 3], Mesh)]) -> Vec<Part<'_>> {
    parts
        .iter()
        .map(|(name, color, mesh)| Part {
            name,
            color: *color,
            mesh,
        })
        .collect()
}

/// One smooth, cleaned surface per segment of `table` inside `crop`.
pub fn segment_parts(
    volume: &insitu_volume::Volume,
    map: &insitu_segment::Labelmap,
    table: &insitu_segment::SegmentTable,
    crop: &CropBox,
    options: &SurfaceOptions,
    out: &mut impl Write,
) -> Result<Vec<(String, [u8; 3], Mesh)>, CliError> {
    let mut parts = Vec::new();
    for segment in table.segments() {
        let voxels = map.count_in(segment.label, crop);
        if voxels == 0 {
            writeln!(
                out,
                "  label {} ({}): no voxel inside the crop box, skipped",
                segment.label, segment.name
            )?;
            continue;
        }
        let mesh = clean_up(segment_surface(volume, map, segment.label, crop), options);
        writeln!(
            out,
            "  label {} ({}): {voxels} voxels, {}",
            segment.label,
            segment.name,
            describe(&mesh)
        )?;
        parts.push((segment.name.to_string(), segment.color, mesh));
    }
    Ok(parts)
}
