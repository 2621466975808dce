//! `insitu spine`: a folder → vertebrae found, named and measured by
//! `insitu_spine` (the same analysis the web app runs), printed as text or
//! one JSON object; optionally the labelmap as a Slicer `.seg.nrrd` and one
//! coloured part per vertebra as 3MF/GLB/PLY.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use insitu_mesh::{ModelFormat, SurfaceOptions};
use insitu_segment::{CropBox, LabelmapFormat};
use insitu_spine::{Flag, Revision, analyse, report_json, revise, segment_table};

use crate::mesh::{as_parts, load_series, segment_parts};
use crate::{CliError, write_file};

/// Options of `insitu spine`.
pub struct SpineArgs<'a> {
    pub dir: &'a Path,
    pub series: Option<usize>,
    pub json: bool,
    /// The labelmap (.seg.nrrd, .nrrd, .nii, .nii.gz).
    pub labels: Option<&'a Path>,
    /// One part per vertebra (.3mf, .glb, .ply).
    pub meshes: Option<&'a Path>,
    /// Vertebrae to merge with the one below, by name, in order.
    pub merge: &'a [String],
    /// Points (mm) where a vertebra holding two is split, after the merges.
    pub split_at: &'a [[f64; 3]],
}

/// A correction asked for on the command line.
enum Correction<'a> {
    /// Merge the vertebra of this name with the one below.
    Merge(&'a String),
    /// Split the vertebra at this point (mm).
    Split([f64; 3]),
}

/// Runs the command.
pub fn spine(args: &SpineArgs<'_>) -> Result<(), CliError> {
    let start = Instant::now();
    let (index, volume, modality) = load_series(args.dir, args.series)?;
    insitu_spine::requires_ct(modality)
        .map_err(|e| CliError::Failed(format!("{}: series {index}: {e}", args.dir.display())))?;
    let loaded = start.elapsed();
    let mut analysis = analyse(&volume, &mut |_, _| true)
        .map_err(|e| CliError::Failed(format!("{}: series {index}: {e}", args.dir.display())))?;
    // The user's corrections, as the app makes them (`insitu_spine::revise`):
    // merges by name first, in order, then splits.
    let mut corrections = Vec::new();
    for name in args.merge {
        corrections.push((format!("--merge {name}"), Correction::Merge(name)));
    }
    for &point in args.split_at {
        let [x, y, z] = point;
        corrections.push((format!("--split-at {x},{y},{z}"), Correction::Split(point)));
    }
    for (what, correction) in corrections {
        let revision = match correction {
            Correction::Split(point) => Revision::SplitAt { point },
            Correction::Merge(name) => Revision::MergeWithBelow {
                label: analysis
                    .spine
                    .vertebrae
                    .iter()
                    .find(|v| &v.name == name)
                    .map(|v| v.label)
                    .ok_or_else(|| CliError::Failed(format!("{what}: no vertebra is named so")))?,
            },
        };
        analysis = revise(&volume, &analysis.labelmap, &analysis.spine, revision)
            .map_err(|e| CliError::Failed(format!("{what}: {e}")))?;
    }
    let analysed = start.elapsed() - loaded;
    let spine = &analysis.spine;
    let table = segment_table(spine);
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", report_json(spine))?;
    } else {
        writeln!(
            out,
            "series {index}: {} vertebrae; levels from {:?} (confidence {:.2}); load {:.2} s, analysis {:.2} s",
            spine.vertebrae.len(),
            spine.levels.anchor,
            spine.levels.confidence,
            loaded.as_secs_f64(),
            analysed.as_secs_f64()
        )?;
        for note in [spine.noise_note(), spine.turn_note()]
            .into_iter()
            .flatten()
        {
            writeln!(out, "  {note}")?;
        }
        for v in &spine.vertebrae {
            let heights = v.heights_mm.map_or(String::new(), |h| {
                format!(
                    " heights {:.1}/{:.1}/{:.1} mm",
                    h.anterior, h.middle, h.posterior
                )
            });
            let flags: Vec<String> = v.flags.iter().map(Flag::explained).collect();
            writeln!(
                out,
                "  {:<6} label {:>2}  {:6.1} ml{heights}{}{}",
                v.name,
                v.label,
                v.volume_ml,
                if v.ribs { " ribs" } else { "" },
                if flags.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", flags.join(", "))
                }
            )?;
        }
        let a = &spine.angles;
        if let Some(l) = a.lumbar_lordosis_deg {
            writeln!(out, "lumbar lordosis (L1-S1): {l:.1}°")?;
        }
        if let Some(k) = a.thoracic_kyphosis_deg {
            writeln!(out, "thoracic kyphosis (T4-T12): {k:.1}°")?;
        }
        if let Some(c) = &a.cobb {
            writeln!(
                out,
                "coronal Cobb: {:.1}° ({} to {})",
                c.degrees, c.from, c.to
            )?;
        }
    }
    let g = volume.geometry();
    if let Some(path) = args.labels {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let format = if name.ends_with(".seg.nrrd") {
            LabelmapFormat::SegNrrd
        } else if name.ends_with(".nii.gz") {
            LabelmapFormat::Nifti
        } else {
            return Err(CliError::Failed(format!(
                "{}: write .seg.nrrd or .nii.gz",
                path.display()
            )));
        };
        std::fs::write(path, format.to_bytes(&analysis.labelmap, &table, g))
            .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
    }
    if let Some(path) = args.meshes {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let format = match ModelFormat::from_extension(extension, false, true) {
            Ok(ModelFormat::Parts(p)) => p,
            _ => {
                return Err(CliError::Failed(format!(
                    "{}: write .3mf, .glb or .ply",
                    path.display()
                )));
            }
        };
        let crop = CropBox::whole([g.dims.x, g.dims.y, g.dims.z]);
        let mut sink = std::io::sink();
        let mut log: &mut dyn Write = if args.json { &mut sink } else { &mut out };
        let parts = segment_parts(
            &volume,
            &analysis.labelmap,
            &table,
            &crop,
            &SurfaceOptions::at_iso(0.0),
            &mut log,
        )?;
        write_file(path, |file| format.write(&as_parts(&parts), file))?;
    }
    Ok(())
}
