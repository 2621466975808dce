//! `insitu`: the viewer's cores on the command line, for batches on
//! air-gapped machines.

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
    /// Show the GPU adapter insitu would use and its capability tier.
    Gpu,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Gpu => match pollster::block_on(insitu_gpu::GpuContext::headless()) {
            Ok(ctx) => {
                println!("{}", ctx.summary);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("insitu: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
