//! The spine report as files a reader keeps (one JSON object, the CLI's
//! `--json`; one CSV row per vertebra), and the flags' words: one home for
//! what the CLI prints, the web app lists and both save.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::measure::Flag;
use crate::report::Spine;

/// The files a spine report is saved as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// One row per vertebra (a spreadsheet's).
    Csv,
    /// Everything the report holds, angles and discs too.
    Json,
}

impl ReportFormat {
    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }

    /// Its MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Csv => "text/csv",
            Self::Json => "application/json",
        }
    }
}

/// `spine` saved as `format`.
pub fn report_text(spine: &Spine, format: ReportFormat) -> String {
    match format {
        ReportFormat::Csv => report_csv(spine),
        ReportFormat::Json => report_json(spine).to_string(),
    }
}

/// The report as one JSON object (the shape the README gives).
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

/// The CSV's columns: lengths in mm, points in patient LPS mm, empty where
/// not measured.
const CSV_HEADER: &str = "name,label,volume_ml,anterior_height_mm,middle_height_mm,\
posterior_height_mm,canal_ap_mm,ribs,body_centre_x_mm,body_centre_y_mm,body_centre_z_mm,\
genant_grade,flags";

/// One row per vertebra, top down ([`CSV_HEADER`]); a field holding a
/// comma or a quote is quoted (RFC 4180).
pub fn report_csv(spine: &Spine) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    let mm = |v: Option<f64>| v.map_or(String::new(), two_places);
    for v in &spine.vertebrae {
        let h = v.heights_mm;
        let centre = v.frame.map(|f| f.centre.to_array());
        let grade = v.flags.iter().filter_map(Flag::fracture_grade).max();
        let flags: Vec<String> = v.flags.iter().map(Flag::summary).collect();
        let fields = [
            csv_field(&v.name),
            v.label.to_string(),
            format!("{:.2}", v.volume_ml),
            mm(h.map(|h| h.anterior)),
            mm(h.map(|h| h.middle)),
            mm(h.map(|h| h.posterior)),
            mm(v.canal_ap_mm),
            v.ribs.to_string(),
            mm(centre.map(|c| c[0])),
            mm(centre.map(|c| c[1])),
            mm(centre.map(|c| c[2])),
            grade.map_or(String::new(), |g| g.to_string()),
            csv_field(&flags.join("; ")),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// `v` to two decimal places, never "-0.00" (a body centre 0.001 mm to the
/// right of the origin).
fn two_places(v: f64) -> String {
    let text = format!("{v:.2}");
    if text == "-0.00" { "0.00".into() } else { text }
}

/// `text` as one CSV field: quoted, its quotes doubled, where it holds a
/// comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

impl Flag {
    /// A few words for a list or a spreadsheet ("wedge, Genant 2").
    pub fn summary(&self) -> String {
        match self {
            Flag::Wedge { grade } => format!("wedge, Genant {grade}"),
            Flag::Biconcave { grade } => format!("biconcave, Genant {grade}"),
            Flag::Crush { grade } => format!("crush, Genant {grade}"),
            Flag::LowerThanNeighbours => "lower than neighbours".into(),
            Flag::NarrowCanal => "canal < 12 mm".into(),
            Flag::Partial => "cut by the scan".into(),
            Flag::FaintDisc => "faint disc".into(),
            Flag::FocalEndplateDefect => {
                "focal endplate pit (Schmorl's node?): middle not graded".into()
            }
            Flag::Metal => "metal (an implant) in it".into(),
            Flag::OneSided => "one-sided: an ilium joined?".into(),
            Flag::ImplausibleHeights => "middle above both ends: heights off, check".into(),
            Flag::Irregular { degrees } => format!("endplates {degrees:.0}° apart: check"),
            Flag::HeightsSetByHand => "heights set by hand".into(),
        }
    }

    /// What it means, in a sentence's words (the CLI's text report).
    pub fn explained(&self) -> String {
        match self {
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
            Flag::Metal => {
                "metal in it (an implant): what is inside the bone is in its outline".into()
            }
            Flag::OneSided => "much more of it on one side: an ilium may be joined to it".into(),
            Flag::ImplausibleHeights => {
                "middle height above both ends: an endplate was missed, heights not graded".into()
            }
            Flag::Irregular { degrees } => {
                format!("endplates {degrees:.0}° apart: check the split (or a severe fracture)")
            }
            Flag::HeightsSetByHand => {
                "heights read on lines a reader placed, and graded on them".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_with_a_comma_or_a_quote_is_quoted() {
        assert_eq!(csv_field("L1"), "L1");
        assert_eq!(csv_field("wedge, Genant 2"), "\"wedge, Genant 2\"");
        assert_eq!(csv_field("a \"b\""), "\"a \"\"b\"\"\"");
    }

    #[test]
    fn a_length_near_zero_has_no_sign() {
        assert_eq!(two_places(-0.001), "0.00");
        assert_eq!(two_places(-0.006), "-0.01");
        assert_eq!(two_places(12.345), "12.35");
    }
}
