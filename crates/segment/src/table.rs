//! The segment table: each label's name, colour and visibility. Names come
//! from a fixed anatomical vocabulary, or are numbered; a name the user
//! types is kept in memory and in the user's own exports only, never in
//! the cache (typed text can carry an identifier).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares the vocabulary once: the enum, its menu order and its names.
macro_rules! vocabulary {
    ($($variant:ident => $name:literal,)*) => {
        /// A structure of the fixed vocabulary, with its display name and
        /// colour.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[allow(missing_docs)]
        pub enum Anatomy {
            $($variant,)*
        }

        impl Anatomy {
            /// Every structure, in menu order.
            pub const ALL: &'static [Anatomy] = &[$(Anatomy::$variant,)*];

            /// The name shown and exported.
            pub fn name(self) -> &'static str {
                match self {
                    $(Anatomy::$variant => $name,)*
                }
            }

            /// The structure a name read from a file stands for (any case).
            pub fn from_name(name: &str) -> Option<Anatomy> {
                let name = name.trim();
                Anatomy::ALL.iter().copied().find(|a| a.name().eq_ignore_ascii_case(name))
            }
        }
    };
}

vocabulary! {
    Bone => "bone",
    CorticalBone => "cortical bone",
    Skull => "skull",
    Mandible => "mandible",
    Maxilla => "maxilla",
    Teeth => "teeth",
    C1 => "C1",
    C2 => "C2",
    C3 => "C3",
    C4 => "C4",
    C5 => "C5",
    C6 => "C6",
    C7 => "C7",
    T1 => "T1",
    T2 => "T2",
    T3 => "T3",
    T4 => "T4",
    T5 => "T5",
    T6 => "T6",
    T7 => "T7",
    T8 => "T8",
    T9 => "T9",
    T10 => "T10",
    T11 => "T11",
    T12 => "T12",
    L1 => "L1",
    L2 => "L2",
    L3 => "L3",
    L4 => "L4",
    L5 => "L5",
    Sacrum => "sacrum",
    Pelvis => "pelvis",
    Ribs => "ribs",
    Sternum => "sternum",
    Clavicle => "clavicle",
    Scapula => "scapula",
    Femur => "femur",
    IntervertebralDisc => "intervertebral disc",
    SpinalCanal => "spinal canal",
    SoftTissue => "soft tissue",
    Muscle => "muscle",
    Fat => "fat",
    Vessel => "vessel",
    Lung => "lung",
    Skin => "skin",
}

impl Anatomy {
    /// Its usual colour (sRGB): bone ivory, vertebrae by region (cervical
    /// blue, thoracic green, lumbar orange, neighbours alternating light
    /// and dark),
    /// soft tissue and organs in their textbook hues.
    pub fn color(self) -> [u8; 3] {
        use Anatomy::*;
        // Neighbouring levels alternate dark and light, so two vertebrae
        // that touch never look alike.
        let level = |first: Anatomy, base: [u8; 3]| {
            let n = u16::from(self as u8 - first as u8);
            let step = n * 6 + (n % 2) * 45;
            base.map(|c| (u16::from(c) + step).min(255) as u8)
        };
        match self {
            Bone => [241, 214, 145],
            CorticalBone => [255, 240, 200],
            Skull => [236, 211, 160],
            Mandible => [222, 198, 136],
            Maxilla => [205, 180, 120],
            Teeth => [255, 250, 220],
            C1 | C2 | C3 | C4 | C5 | C6 | C7 => level(C1, [70, 120, 200]),
            T1 | T2 | T3 | T4 | T5 | T6 | T7 | T8 | T9 | T10 | T11 | T12 => {
                level(T1, [60, 150, 80])
            }
            L1 | L2 | L3 | L4 | L5 => level(L1, [220, 120, 40]),
            Sacrum => [190, 140, 90],
            Pelvis => [230, 190, 120],
            Ribs => [250, 225, 170],
            Sternum => [240, 200, 150],
            Clavicle => [215, 195, 150],
            Scapula => [200, 185, 140],
            Femur => [245, 205, 130],
            IntervertebralDisc => [120, 200, 220],
            SpinalCanal => [250, 250, 140],
            SoftTissue => [210, 140, 120],
            Muscle => [190, 70, 60],
            Fat => [240, 220, 120],
            Vessel => [200, 40, 40],
            Lung => [200, 220, 240],
            Skin => [240, 190, 160],
        }
    }
}

/// A segment's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SegmentName {
    /// From the vocabulary.
    Anatomy(Anatomy),
    /// "Segment N".
    Numbered(u32),
    /// Typed by the user: memory and the user's exports only.
    Typed(String),
}

impl SegmentName {
    /// Whether the name may be kept on this computer (not typed text).
    pub fn may_be_persisted(&self) -> bool {
        !matches!(self, SegmentName::Typed(_))
    }
}

impl fmt::Display for SegmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SegmentName::Anatomy(a) => f.write_str(a.name()),
            SegmentName::Numbered(n) => write!(f, "Segment {n}"),
            SegmentName::Typed(text) => f.write_str(text),
        }
    }
}

/// One segment: a label value of the labelmap and how it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Its value in the labelmap (1–255).
    pub label: u8,
    /// Its name.
    pub name: SegmentName,
    /// Its colour (sRGB).
    pub color: [u8; 3],
    /// Shown in 2D and 3D, and exported.
    pub visible: bool,
}

/// The table is full: 255 segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("every label value (1–255) is taken: remove a segment first")]
pub struct TableFull;

/// Every segment of a labelmap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentTable {
    segments: Vec<Segment>,
}

/// Colours for numbered segments: distinct, saturated, light enough on
/// dark views (cycled).
const PALETTE: [[u8; 3]; 10] = [
    [230, 85, 70],
    [70, 160, 230],
    [120, 200, 90],
    [240, 180, 50],
    [170, 110, 220],
    [60, 200, 190],
    [240, 120, 180],
    [200, 200, 80],
    [120, 140, 240],
    [250, 150, 90],
];

impl SegmentTable {
    /// Adds a segment under the lowest free label; a numbered one is named
    /// "Segment N" with N its label.
    pub fn add(&mut self, name: Option<Anatomy>) -> Result<u8, TableFull> {
        let label = (1..=255u8)
            .find(|l| self.get(*l).is_none())
            .ok_or(TableFull)?;
        let (name, color) = match name {
            Some(a) => (SegmentName::Anatomy(a), a.color()),
            None => (
                SegmentName::Numbered(u32::from(label)),
                Self::palette_color(label),
            ),
        };
        self.segments.push(Segment {
            label,
            name,
            color,
            visible: true,
        });
        self.segments.sort_by_key(|s| s.label);
        Ok(label)
    }

    /// Adds `segment` under its own label (a labelmap read from a file
    /// keeps its values); `false` when the label is 0 or taken.
    pub fn insert(&mut self, segment: Segment) -> bool {
        if segment.label == 0 || self.get(segment.label).is_some() {
            return false;
        }
        self.segments.push(segment);
        self.segments.sort_by_key(|s| s.label);
        true
    }

    /// The colour a new numbered segment of `label` gets.
    pub fn palette_color(label: u8) -> [u8; 3] {
        PALETTE[(label.max(1) as usize - 1) % PALETTE.len()]
    }

    /// Removes a segment (its voxels are the caller's to clear).
    pub fn remove(&mut self, label: u8) -> Option<Segment> {
        let at = self.segments.iter().position(|s| s.label == label)?;
        Some(self.segments.remove(at))
    }

    /// The segment of `label`.
    pub fn get(&self, label: u8) -> Option<&Segment> {
        self.segments.iter().find(|s| s.label == label)
    }

    /// The segment of `label`, to rename, recolour or hide.
    pub fn get_mut(&mut self, label: u8) -> Option<&mut Segment> {
        self.segments.iter_mut().find(|s| s.label == label)
    }

    /// Every segment, by label.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The segments of `self`, in its order, each as `live` has it where
    /// `live` has that label: undoing or redoing a step that added or
    /// removed segments restores which segments exist, and keeps a name,
    /// colour or visibility changed since (those changes are not steps).
    pub(crate) fn with_attributes_of(&self, live: &SegmentTable) -> SegmentTable {
        SegmentTable {
            segments: self
                .segments
                .iter()
                .map(|s| live.get(s.label).unwrap_or(s).clone())
                .collect(),
        }
    }

    /// The table as it may be kept on this computer: typed names become
    /// "Segment N" (the user's text stays in memory and in exports only).
    pub fn persistable(&self) -> SegmentTable {
        SegmentTable {
            segments: self
                .segments
                .iter()
                .map(|s| Segment {
                    name: if s.name.may_be_persisted() {
                        s.name.clone()
                    } else {
                        SegmentName::Numbered(u32::from(s.label))
                    },
                    ..s.clone()
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_lowest_free_and_names_read_as_shown() {
        let mut table = SegmentTable::default();
        assert_eq!(table.add(Some(Anatomy::L1)), Ok(1));
        assert_eq!(table.add(None), Ok(2));
        assert_eq!(table.get(2).unwrap().name.to_string(), "Segment 2");
        assert_eq!(table.get(1).unwrap().name.to_string(), "L1");
        table.remove(1);
        assert_eq!(table.add(Some(Anatomy::Mandible)), Ok(1));
        for _ in 3..=255 {
            table.add(None).unwrap();
        }
        assert_eq!(table.add(None), Err(TableFull));
    }

    #[test]
    fn typed_names_never_reach_what_is_persisted() {
        let mut table = SegmentTable::default();
        let label = table.add(None).unwrap();
        table.get_mut(label).unwrap().name = SegmentName::Typed("Mr Smith's L3".into());
        let kept = table.persistable();
        assert_eq!(kept.get(label).unwrap().name, SegmentName::Numbered(1));
        assert_eq!(table.get(label).unwrap().name.to_string(), "Mr Smith's L3");
    }

    #[test]
    fn vocabulary_names_and_colours_are_distinct() {
        let names: std::collections::HashSet<_> = Anatomy::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names.len(), Anatomy::ALL.len());
        assert_ne!(Anatomy::L1.color(), Anatomy::L2.color());
        assert_ne!(Anatomy::C7.color(), Anatomy::T1.color());
    }
}
