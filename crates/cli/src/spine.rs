//! `insitu spine`: a folder → vertebrae found, named and measured by
//! `insitu_spine` (the same analysis the web app runs), printed as text or
//! one JSON object; optionally the labelmap as a Slicer `.seg.nrrd` and one
//! coloured part per vertebra as 3MF/GLB/PLY.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use insitu_mesh::{ModelFormat, SurfaceOptions};
use insitu_segment::{CropBox, LabelmapFormat};
use insitu_spine::{Flag, Revision, Spine, analyse, revise, segment_table};
use serde_json::{Value, json};

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

/// The report as one JSON object (the shape the issue and the README give).
pub fn report_json(spine: &Spine) -> Value {
    let vertebrae: Vec<Value> = spine
        .vertebrae
        .iter()
        .map(|v| {
            json!({
                "name": v.name,
                "label": v.label,
                "voxels": v.voxels,
                "volume_ml": v.volume_ml,
                "centroid_mm": v.centroid_mm,
                "body_centre_mm": v.frame.map(|f| f.centre.to_array()),
                "heights_mm": v.heights_mm,
                "height_lines_mm": v.height_lines_mm,
                "superior_endplate_normal": v.superior_normal,
                "inferior_endplate_normal": v.inferior_normal,
                "canal_ap_mm": v.canal_ap_mm,
                "ribs": v.ribs,
                "flags": v.flags,
            })
        })
        .collect();
    let a = &spine.angles;
    json!({
        "vertebrae": vertebrae,
        "angles": {
            "lumbar_lordosis_deg": a.lumbar_lordosis_deg,
            "thoracic_kyphosis_deg": a.thoracic_kyphosis_deg,
            "cobb_deg": a.cobb.as_ref().map(|c| c.degrees),
            "cobb_end_vertebrae": a.cobb.as_ref().map(|c| [&c.from, &c.to]),
            "segmental": a.segmental,
        },
        "level_confidence": spine.levels.confidence,
        "bone_hu": spine.bone_hu,
        "noise_hu": spine.noise_hu,
        "read_mm": spine.read_mm,
        "averaged_for_noise": spine.averaged_for_noise,
        "marrow_hu": spine.marrow_hu,
        "turned_deg": spine.turned_deg(),
        "level_anchor": spine.levels.anchor,
        "level_anchors_seen": spine.levels.seen,
        "ribs_voxels": spine.ribs_voxels,
        "pelvis_voxels": spine.pelvis_voxels,
        "discs": spine
            .discs
            .iter()
            .map(|(centre, normal)| json!({"centre_mm": centre, "normal": normal}))
            .collect::<Vec<_>>(),
    })
}

fn flag_text(f: &Flag) -> String {
    match f {
        Flag::Wedge { grade } => format!("wedge (Genant {grade})"),
        Flag::Biconcave { grade } => format!("biconcave (Genant {grade})"),
        Flag::Crush { grade } => format!("crush (Genant {grade})"),
        Flag::LowerThanNeighbours => "lower than its neighbours".into(),
        Flag::NarrowCanal => "canal under 12 mm".into(),
        Flag::Partial => "cut by the scan's edge".into(),
        Flag::FaintDisc => "faint disc next to it".into(),
        Flag::FocalEndplateDefect => {
            "a pit in an endplate (a Schmorl's node, most likely): its middle height is not graded"
                .into()
        }
        Flag::Metal => "metal in it (an implant): what is inside the bone is in its outline".into(),
        Flag::OneSided => "much more of it on one side: an ilium may be joined to it".into(),
        Flag::ImplausibleHeights => {
            "middle height above both ends: an endplate was missed, heights not graded".into()
        }
        Flag::Irregular { degrees } => {
            format!("endplates {degrees:.0}° apart: check the split (or a severe fracture)")
        }
    }
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
            let flags: Vec<String> = v.flags.iter().map(flag_text).collect();
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
