//! `insitu info` and `insitu convert`.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use insitu_volume::{DiskFile, Scan, files_under, nrrd, scan};

use crate::CliError;

fn open(dir: &Path) -> Result<(Vec<DiskFile>, Scan), CliError> {
    let files =
        files_under(dir).map_err(|e| CliError::Failed(format!("{}: {e}", dir.display())))?;
    if files.is_empty() {
        return Err(CliError::Failed(format!("{}: no files", dir.display())));
    }
    let scan = scan(&files);
    Ok((files, scan))
}

/// Prints one line (or JSON object) per series, then the skipped files.
pub fn info(dir: &Path, json: bool) -> Result<(), CliError> {
    let (files, scan) = open(dir)?;
    let mut out = std::io::stdout().lock();
    if json {
        for series in &scan.series {
            let line =
                serde_json::to_string(&series.info).map_err(|e| CliError::Failed(e.to_string()))?;
            writeln!(out, "{line}")?;
        }
        let skipped: Vec<_> = scan
            .skipped
            .iter()
            .map(|e| serde_json::json!({"file": e.file, "reason": e.problem.to_string()}))
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::json!({ "files": files.len(), "skipped": skipped })
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{} files, {} series, {} skipped",
        files.len(),
        scan.series.len(),
        scan.skipped.len()
    )?;
    for s in &scan.series {
        let i = &s.info;
        writeln!(
            out,
            "[{}] {} #{} \"{}\": {}x{}x{} voxels, spacing {:.3}x{:.3}x{:.3} mm, tilt {:.1}°, {} files, {}",
            i.index,
            i.modality,
            i.series_number.map_or("-".into(), |n| n.to_string()),
            i.description,
            i.dims[0],
            i.dims[1],
            i.dims[2],
            i.spacing_mm[0],
            i.spacing_mm[1],
            i.spacing_mm[2],
            i.tilt_degrees,
            i.files,
            i.transfer_syntaxes.join(", ")
        )?;
        for w in &i.warnings {
            writeln!(out, "    warning: {w}")?;
        }
    }
    for e in &scan.skipped {
        writeln!(out, "skipped {e}")?;
    }
    Ok(())
}

/// Builds one series and writes it as NRRD.
pub fn convert(dir: &Path, series: Option<usize>, output: &Path) -> Result<(), CliError> {
    let start = Instant::now();
    let (files, scan) = open(dir)?;
    let index = series.or_else(|| scan.largest_series()).ok_or_else(|| {
        CliError::Failed(format!(
            "{}: no image series found ({} files skipped)",
            dir.display(),
            scan.skipped.len()
        ))
    })?;
    let loaded = scan
        .build(index, &files)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    crate::write_file(output, |file| nrrd::write(&loaded.volume, file))?;
    let g = loaded.volume.geometry();
    eprintln!(
        "series {index}: {}x{}x{} written to {} in {:.2} s",
        g.dims.x,
        g.dims.y,
        g.dims.z,
        output.display(),
        start.elapsed().as_secs_f64()
    );
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
