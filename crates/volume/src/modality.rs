//! Imaging modality as a closed set: DICOM's Modality is a code, kept as an
//! enum so no free text can slip through it into the cache or a message,
//! and so code decides on variants ("CT gets a bone surface") rather than
//! on strings.

use serde::{Deserialize, Serialize};

/// Imaging modality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Modality {
    /// Computed tomography (also CBCT).
    Ct,
    /// Magnetic resonance.
    Mr,
    /// Positron emission tomography.
    Pt,
    /// Nuclear medicine.
    Nm,
    /// X-ray angiography.
    Xa,
    /// Digital or computed radiography.
    Dx,
    /// Ultrasound.
    Us,
    /// Secondary capture.
    Sc,
    /// Anything else.
    Other,
}

impl Modality {
    /// From DICOM's Modality code.
    pub fn from_code(code: &str) -> Self {
        match code.trim() {
            "CT" => Self::Ct,
            "MR" => Self::Mr,
            "PT" => Self::Pt,
            "NM" => Self::Nm,
            "XA" => Self::Xa,
            "DX" | "CR" => Self::Dx,
            "US" => Self::Us,
            "SC" => Self::Sc,
            _ => Self::Other,
        }
    }

    /// The DICOM code shown to the user.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ct => "CT",
            Self::Mr => "MR",
            Self::Pt => "PT",
            Self::Nm => "NM",
            Self::Xa => "XA",
            Self::Dx => "DX",
            Self::Us => "US",
            Self::Sc => "SC",
            Self::Other => "OT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_free_text_is_other() {
        for m in [
            Modality::Ct,
            Modality::Mr,
            Modality::Pt,
            Modality::Nm,
            Modality::Xa,
            Modality::Dx,
            Modality::Us,
            Modality::Sc,
        ] {
            assert_eq!(Modality::from_code(m.code()), m);
        }
        assert_eq!(Modality::from_code(" CT "), Modality::Ct);
        assert_eq!(Modality::from_code("ZZPRIVACY"), Modality::Other);
        assert_eq!(Modality::Other.code(), "OT");
    }
}
