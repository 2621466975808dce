//! `insitu`: the viewer's cores on the command line, for batches on
//! air-gapped machines.

mod info;
mod mesh;
mod spine;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use insitu_mesh::{Engine, SurfaceOptions};

/// Why a command stopped.
#[derive(Debug)]
pub enum CliError {
    /// The reader of our output went away (`insitu info | head`): a
    /// normal end for a command-line tool, not an error to report.
    ClosedPipe,
    /// What failed, for the user.
    Failed(String),
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Self::ClosedPipe
        } else {
            Self::Failed(e.to_string())
        }
    }
}

/// Creates `path` and lets `write` fill it through a buffer; the error
/// names the file.
pub fn write_file(
    path: &std::path::Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::Failed(format!("{}: {e}", path.display()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(failed)?);
    write(&mut file).map_err(failed)?;
    std::io::Write::flush(&mut file).map_err(failed)
}

#[derive(Parser)]
#[command(
    name = "insitu",
    version,
    about = "Local-first DICOM to volume and surface tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the series in a folder: modality, dims, spacing, tilt, warnings, skipped files.
    Info {
        /// Folder (searched recursively) or single file.
        dir: PathBuf,
        /// One JSON object per series (and one for the skipped files).
        #[arg(long)]
        json: bool,
    },
    /// Write one series as an NRRD volume in Hounsfield units (LPS geometry).
    Convert {
        /// Folder (searched recursively) or single file.
        dir: PathBuf,
        /// Series index from `insitu info` (default: the one with most slices).
        #[arg(long)]
        series: Option<usize>,
        /// Output file (.nrrd).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Extract an iso-surface (or a labelmap's segments) and write it as STL, OBJ, PLY, 3MF or GLB, in mm.
    Mesh {
        /// Folder (searched recursively) or single file.
        dir: PathBuf,
        /// Iso level in HU (bone: about 300).
        #[arg(long, required_unless_present = "labels")]
        iso: Option<f32>,
        /// Only voxels inside this box of the grid: inclusive corners
        /// i0,j0,k0,i1,j1,k1 (the surface is closed where the box cuts).
        #[arg(long, value_parser = mesh::parse_crop)]
        crop: Option<[u32; 6]>,
        /// A labelmap on the series' grid (.seg.nrrd, .nrrd, .nii, .nii.gz):
        /// one smooth, coloured part per label (write .3mf, .glb or .ply).
        #[arg(long, conflicts_with = "iso")]
        labels: Option<PathBuf>,
        /// Series index from `insitu info` (default: the one with most slices).
        #[arg(long)]
        series: Option<usize>,
        /// Keep only the largest connected piece.
        #[arg(long)]
        largest: bool,
        /// Drop pieces with fewer triangles than this.
        #[arg(long)]
        min_island: Option<usize>,
        /// Taubin smoothing iterations.
        #[arg(long, default_value_t = 0)]
        smooth: u32,
        /// Decimate to at most this many triangles (quadric edge collapse).
        #[arg(long)]
        decimate: Option<usize>,
        /// Run marching cubes on the CPU.
        #[arg(long, conflicts_with = "gpu")]
        cpu: bool,
        /// Run marching cubes on the GPU (fail when there is none).
        #[arg(long)]
        gpu: bool,
        /// Write ASCII instead of binary STL.
        #[arg(long)]
        ascii: bool,
        /// Output file: .stl, .obj, .ply, .3mf or .glb.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Find, name and measure the vertebrae: names, volumes, body heights, angles.
    Spine {
        /// Folder (searched recursively) or single file.
        dir: PathBuf,
        /// Series index from `insitu info` (default: the one with most slices).
        #[arg(long)]
        series: Option<usize>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Write the labelmap (.seg.nrrd with names and colours, or .nii.gz).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Write one coloured part per vertebra (.3mf, .glb or .ply).
        #[arg(long)]
        meshes: Option<PathBuf>,
        /// Correct the split: this vertebra and the one below are one
        /// (repeatable; names as they stand after the corrections before).
        #[arg(long, value_name = "NAME")]
        merge: Vec<String>,
        /// Correct the split: the vertebra at this patient point (mm, LPS)
        /// holds two; split it at the disc-like gap nearest the point
        /// (repeatable; applied after the merges).
        #[arg(long, value_name = "X,Y,Z", value_parser = parse_point, allow_hyphen_values = true)]
        split_at: Vec<[f64; 3]>,
    },
    /// Show the GPU adapter insitu would use and its capability tier.
    Gpu,
}

/// `x,y,z` in mm.
fn parse_point(text: &str) -> Result<[f64; 3], String> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{text}: {e}"))?;
    <[f64; 3]>::try_from(values).map_err(|_| format!("{text}: give x,y,z"))
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Info { dir, json } => info::info(&dir, json),
        Command::Convert {
            dir,
            series,
            output,
        } => info::convert(&dir, series, &output),
        Command::Mesh {
            dir,
            iso,
            crop,
            labels,
            series,
            largest,
            min_island,
            smooth,
            decimate,
            cpu,
            gpu,
            ascii,
            output,
        } => mesh::mesh(&mesh::MeshArgs {
            dir: &dir,
            series,
            surface: SurfaceOptions {
                iso: iso.unwrap_or_default(),
                largest,
                min_island,
                smooth,
                decimate,
                engine: if cpu {
                    Engine::Cpu
                } else if gpu {
                    Engine::Gpu
                } else {
                    Engine::Auto
                },
            },
            output: &output,
            ascii,
            crop,
            labels: labels.as_deref(),
        }),
        Command::Spine {
            dir,
            series,
            json,
            output,
            meshes,
            merge,
            split_at,
        } => spine::spine(&spine::SpineArgs {
            dir: &dir,
            series,
            json,
            labels: output.as_deref(),
            meshes: meshes.as_deref(),
            merge: &merge,
            split_at: &split_at,
        }),
        Command::Gpu => match pollster::block_on(insitu_gpu::GpuContext::headless()) {
            Ok(ctx) => {
                use std::io::Write;
                writeln!(std::io::stdout().lock(), "{}", ctx.summary).map_err(CliError::from)
            }
            Err(e) => Err(CliError::Failed(e.to_string())),
        },
    };
    match result {
        Ok(()) | Err(CliError::ClosedPipe) => ExitCode::SUCCESS,
        Err(CliError::Failed(e)) => {
            eprintln!("insitu: {e}");
            ExitCode::FAILURE
        }
    }
}
