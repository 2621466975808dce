//! `insitu`: the viewer's cores on the command line, for batches on
//! air-gapped machines.

mod info;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Show the GPU adapter insitu would use and its capability tier.
    Gpu,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Info { dir, json } => info::info(&dir, json),
        Command::Convert {
            dir,
            series,
            output,
        } => info::convert(&dir, series, &output),
        Command::Gpu => pollster::block_on(insitu_gpu::GpuContext::headless())
            .map(|ctx| println!("{}", ctx.summary))
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("insitu: {e}");
            ExitCode::FAILURE
        }
    }
}
