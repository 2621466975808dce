//! The segment workbench of one open volume: the labelmap, the table, the
//! crop box, the segment being edited and the undo history, changed only by
//! typed [`Edit`]s. The web app's worker holds one and applies what the UI
//! asks; tests drive it the same way. Tool policy (which voxels a tool
//! takes, the grow limit, brush strokes as one undo step) lives here.

use glam::DVec3;
use insitu_volume::Volume;
use serde::{Deserialize, Serialize};

use crate::stats::LabelStats;
use crate::tools::{self, Brush, GrowError, Target, ValueRange};
use crate::{Anatomy, Change, CropBox, History, Labelmap, SegmentName, SegmentTable, TableFull};

/// A grow stops (changing nothing) past this share of the crop box or
/// this many voxels, whichever is smaller: a region that large has leaked.
pub const GROW_LIMIT_VOXELS: usize = 40 << 20;

/// A brush's shape on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrushShape {
    /// A ball.
    Sphere,
    /// A disc in the plane of the view painted in (unit normal, LPS).
    Disc {
        /// The view's normal.
        normal: [f64; 3],
    },
}

/// What to do with the pieces (6-connected) of the active segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Islands {
    /// Keep the largest piece.
    KeepLargest,
    /// Keep the piece that holds this voxel.
    KeepAt {
        /// A voxel of the piece (clicked in 2D or picked in 3D).
        voxel: [u32; 3],
    },
    /// Remove pieces smaller than this many voxels.
    RemoveSmallerThan {
        /// Voxels.
        voxels: usize,
    },
    /// Make each piece but the largest a new segment.
    Split,
}

/// One change a user asks for. Adjacently tagged, so it can ride inside
/// another tagged message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", content = "with", rename_all = "snake_case")]
pub enum Edit {
    /// A new segment (a vocabulary name, or numbered), made active.
    Add {
        /// Its name from the vocabulary, or `None` for "Segment N".
        anatomy: Option<Anatomy>,
    },
    /// Removes a segment and clears its voxels.
    Remove {
        /// Its label.
        label: u8,
    },
    /// Makes a segment the one the tools edit.
    Select {
        /// Its label.
        label: u8,
    },
    /// Renames a segment (typed names stay in memory).
    Rename {
        /// Its label.
        label: u8,
        /// The new name.
        name: SegmentName,
    },
    /// Shows or hides a segment in 2D, 3D and exports.
    Show {
        /// Its label.
        label: u8,
        /// Shown.
        visible: bool,
    },
    /// Sets the crop box.
    Crop {
        /// The box (clamped to the grid).
        crop: CropBox,
    },
    /// Voxels in `range` inside the crop box join the active segment.
    Threshold {
        /// The values taken.
        range: ValueRange,
    },
    /// The connected region in `range` holding `seed` joins the active
    /// segment.
    Grow {
        /// The clicked voxel.
        seed: [u32; 3],
        /// The values taken.
        range: ValueRange,
    },
    /// A dab of the brush (`erase`: back to no segment).
    Paint {
        /// Brush centre, patient mm.
        centre: [f64; 3],
        /// Radius, mm.
        radius_mm: f64,
        /// Ball or disc.
        shape: BrushShape,
        /// Only voxels in this range.
        range: Option<ValueRange>,
        /// Erase rather than paint.
        erase: bool,
        /// Continues the stroke before it (one undo step per stroke).
        continues: bool,
    },
    /// Pieces of the active segment.
    Islands(Islands),
    /// Closed cavities of the active segment become inside.
    FillHoles,
    /// Grows (positive) or shrinks the active segment, in mm.
    Margin {
        /// Millimetres.
        mm: f64,
    },
    /// Cuts the active segment by a plane: its voxels on the normal's side
    /// (inside the crop box) become a new segment, made active.
    Cut {
        /// A point of the plane, patient mm.
        point: [f64; 3],
        /// The plane's normal (the side that moves).
        normal: [f64; 3],
    },
    /// Another segment's voxels join the active one (logical add); the
    /// other segment is removed.
    Merge {
        /// The segment merged in.
        from: u8,
    },
    /// Undoes the last step.
    Undo,
    /// Redoes the last undone step.
    Redo,
}

/// Why an edit changed nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum EditError {
    /// A tool needs an active segment: add one first.
    #[error("add or select a segment first")]
    NoActiveSegment,
    /// No segment has this label.
    #[error("there is no segment {0}")]
    NoSuchSegment(u8),
    /// A labelmap made on another grid.
    #[error("the labels are on another grid")]
    WrongGrid,
    /// 255 segments exist.
    #[error(transparent)]
    TableFull(#[from] TableFull),
    /// The grow did not happen.
    #[error(transparent)]
    Grow(#[from] GrowError),
    /// Nothing to undo.
    #[error("nothing to undo")]
    NothingToUndo,
    /// Nothing to redo.
    #[error("nothing to redo")]
    NothingToRedo,
}

/// What an edit did, for redrawing what it touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Labels whose voxels changed (their surfaces are stale).
    pub labels: Vec<u8>,
    /// Voxels changed.
    pub voxels: usize,
}

/// The workbench of one volume.
#[derive(Debug, Clone)]
pub struct Workbench {
    map: Labelmap,
    table: SegmentTable,
    history: History,
    crop: CropBox,
    active: Option<u8>,
    spacing: [f64; 3],
    /// Voxels and extent per label, kept up to date from each change's
    /// runs (a pass over a 78 M-voxel labelmap per brush dab would be too
    /// slow).
    stats: LabelStats,
}

impl Workbench {
    /// An empty workbench on `volume`'s grid, the crop box the whole grid.
    pub fn new(volume: &Volume) -> Self {
        let g = volume.geometry();
        let dims = [g.dims.x, g.dims.y, g.dims.z];
        Self::restore(volume, Labelmap::new(dims), SegmentTable::default())
    }

    /// A workbench holding a labelmap and table read back (from the cache
    /// or a file); the history starts empty.
    pub fn restore(volume: &Volume, map: Labelmap, table: SegmentTable) -> Self {
        let g = volume.geometry();
        let s = g.spacing();
        Self {
            stats: LabelStats::of(&map),
            crop: CropBox::whole(map.dims()),
            active: table.segments().first().map(|s| s.label),
            map,
            table,
            history: History::default(),
            spacing: [s.x, s.y, s.z],
        }
    }

    /// The labelmap.
    pub fn labelmap(&self) -> &Labelmap {
        &self.map
    }

    /// The segment table.
    pub fn table(&self) -> &SegmentTable {
        &self.table
    }

    /// The crop box.
    pub fn crop(&self) -> &CropBox {
        &self.crop
    }

    /// The segment the tools edit.
    pub fn active(&self) -> Option<u8> {
        self.active
    }

    /// Voxels of `label`.
    pub fn count(&self, label: u8) -> usize {
        self.stats.count(label)
    }

    /// The smooth surface of `label` inside the crop box (empty when it has
    /// no voxel there); only the label's own extent is searched.
    pub fn surface(&self, volume: &Volume, label: u8) -> insitu_mesh::Mesh {
        self.extent(label)
            .and_then(|e| e.intersect(&self.crop))
            .map_or_else(insitu_mesh::Mesh::default, |within| {
                crate::segment_surface(volume, &self.map, label, &within)
            })
    }

    /// A box holding every voxel of `label` (possibly larger after voxels
    /// left it; never smaller), without a pass over the labelmap.
    pub fn extent(&self, label: u8) -> Option<CropBox> {
        self.stats.extent(label)
    }

    /// Steps that can be undone and redone.
    pub fn steps(&self) -> (usize, usize) {
        (self.history.undo_steps(), self.history.redo_steps())
    }

    /// Whether any voxel is labelled (worth keeping).
    pub fn is_empty(&self) -> bool {
        self.table.segments().is_empty()
    }

    fn active_label(&self) -> Result<u8, EditError> {
        self.active
            .filter(|l| self.table.get(*l).is_some())
            .ok_or(EditError::NoActiveSegment)
    }

    fn existing(&self, label: u8) -> Result<u8, EditError> {
        self.table
            .get(label)
            .map(|s| s.label)
            .ok_or(EditError::NoSuchSegment(label))
    }

    /// Applies `edit` to the labelmap of `volume` (the volume the
    /// workbench was made on).
    pub fn apply(&mut self, volume: &Volume, edit: Edit) -> Result<Applied, EditError> {
        let crop = self.crop;
        let whole = CropBox::whole(self.map.dims());
        let before = self.table.clone();
        let change = match edit {
            Edit::Add { anatomy } => {
                let label = self.table.add(anatomy)?;
                self.active = Some(label);
                Change::default()
            }
            Edit::Remove { label } => {
                let label = self.existing(label)?;
                let change = tools::merge(&mut self.map, 0, label, &whole);
                self.table.remove(label);
                if self.active == Some(label) {
                    self.active = self.table.segments().first().map(|s| s.label);
                }
                change
            }
            Edit::Select { label } => {
                self.active = Some(self.existing(label)?);
                return Ok(Applied::default());
            }
            Edit::Rename { label, name } => {
                self.table
                    .get_mut(self.existing(label)?)
                    .expect("checked above")
                    .name = name;
                return Ok(Applied::default());
            }
            Edit::Show { label, visible } => {
                self.table
                    .get_mut(self.existing(label)?)
                    .expect("checked above")
                    .visible = visible;
                return Ok(Applied {
                    labels: vec![label],
                    voxels: 0,
                });
            }
            Edit::Crop { crop } => {
                let dims = self.map.dims();
                self.crop = CropBox {
                    min: [0, 1, 2].map(|a| crop.min[a].min(dims[a])),
                    max: [0, 1, 2].map(|a| crop.max[a].min(dims[a]).max(crop.min[a].min(dims[a]))),
                };
                return Ok(Applied::default());
            }
            Edit::Threshold { range } => {
                let label = self.active_label()?;
                tools::threshold(volume, &mut self.map, &crop, range, Target::label(label))
            }
            Edit::Grow { seed, range } => {
                let label = self.active_label()?;
                let limit = GROW_LIMIT_VOXELS.min(crop.voxel_count() * 9 / 10).max(1);
                tools::grow(
                    volume,
                    &mut self.map,
                    &crop,
                    seed,
                    range,
                    Target::label(label),
                    limit,
                )?
            }
            Edit::Paint {
                centre,
                radius_mm,
                shape,
                range,
                erase,
                continues,
            } => {
                let label = self.active_label()?;
                let brush = match shape {
                    BrushShape::Sphere => Brush::Sphere,
                    BrushShape::Disc { normal } => Brush::Disc {
                        normal: DVec3::from(normal).normalize_or(DVec3::Z),
                    },
                };
                // The eraser clears the active segment only.
                let target = if erase {
                    Target::erase(label)
                } else {
                    Target::label(label)
                };
                let change = tools::paint(
                    volume,
                    &mut self.map,
                    &crop,
                    DVec3::from(centre),
                    radius_mm,
                    brush,
                    range,
                    target,
                );
                let applied = Applied {
                    labels: change.labels(),
                    voxels: change.voxels(),
                };
                self.stats.apply(&change, true);
                if continues {
                    self.history.extend_last(change);
                } else {
                    self.history.record(change);
                }
                return Ok(applied);
            }
            Edit::Islands(what) => {
                let label = self.active_label()?;
                match what {
                    Islands::KeepLargest => tools::keep_largest(&mut self.map, label, &crop),
                    Islands::KeepAt { voxel } => {
                        tools::keep_piece_at(&mut self.map, label, &crop, voxel)
                    }
                    Islands::RemoveSmallerThan { voxels } => {
                        tools::remove_small(&mut self.map, label, &crop, voxels)
                    }
                    Islands::Split => tools::split(&mut self.map, &mut self.table, label, &crop).0,
                }
            }
            Edit::FillHoles => {
                let label = self.active_label()?;
                tools::fill_holes(&mut self.map, label, &crop)
            }
            Edit::Margin { mm } => {
                let label = self.active_label()?;
                tools::margin(&mut self.map, label, &crop, mm, self.spacing)
            }
            Edit::Cut { point, normal } => {
                let label = self.active_label()?;
                let (change, made) = tools::cut(
                    volume.geometry(),
                    &mut self.map,
                    &mut self.table,
                    label,
                    &crop,
                    DVec3::from(point),
                    DVec3::from(normal).normalize_or(DVec3::Z),
                );
                if made.is_some() {
                    self.active = made;
                }
                change
            }
            Edit::Merge { from } => {
                let label = self.active_label()?;
                let from = self.existing(from)?;
                if from == label {
                    return Ok(Applied::default());
                }
                let change = tools::merge(&mut self.map, label, from, &whole);
                self.table.remove(from);
                change
            }
            Edit::Undo | Edit::Redo => {
                let forward = edit == Edit::Redo;
                let step = if forward {
                    self.history.redo_in(&mut self.map, Some(&mut self.table))
                } else {
                    self.history.undo_in(&mut self.map, Some(&mut self.table))
                };
                let step = step.ok_or(if forward {
                    EditError::NothingToRedo
                } else {
                    EditError::NothingToUndo
                })?;
                self.stats.apply(step, forward);
                let applied = Applied {
                    labels: step.labels(),
                    voxels: step.voxels(),
                };
                self.keep_active_valid();
                return Ok(applied);
            }
        };
        let applied = Applied {
            labels: change.labels(),
            voxels: change.voxels(),
        };
        self.stats.apply(&change, true);
        let after = self.table.clone();
        self.history.record(change.with_tables(before, after));
        Ok(applied)
    }

    /// Replaces the labelmap and table by an analysis's labels on a `dims`
    /// grid and `table` (the spine's vertebrae) as one step that undoes;
    /// the history records only the voxels that differ. The labels are
    /// handed over a span at a time: `write` calls its argument with each
    /// span's first voxel and labels, covering every voxel once. An
    /// analysis that holds its labels on a grid of its own (the spine's)
    /// places them here, never beside this labelmap in a second one.
    pub fn replace_in_spans(
        &mut self,
        dims: [u32; 3],
        table: SegmentTable,
        write: impl FnOnce(&mut dyn FnMut(usize, &[u8])),
    ) -> Result<Applied, EditError> {
        if dims != self.map.dims() {
            return Err(EditError::WrongGrid);
        }
        let mut change = Change::default();
        let map = &mut self.map;
        let mut covered = 0;
        write(&mut |start, labels| {
            covered += labels.len();
            change.set_from(map, start, labels);
        });
        debug_assert_eq!(covered, map.labels().len(), "every voxel once");
        Ok(self.record_with_table(change, table))
    }

    /// Every label `l` becomes `by[l]` and the table becomes `table` (the
    /// spine's names moved by a level), as one step that undoes: in place,
    /// with no second labelmap.
    pub fn relabel(&mut self, by: &[u8; 256], table: SegmentTable) -> Applied {
        let mut change = Change::default();
        change.relabel_all(&mut self.map, by);
        self.record_with_table(change, table)
    }

    /// Records `change`, made to the labels, with the table taken to
    /// `table`; the first segment becomes the active one.
    fn record_with_table(&mut self, change: Change, table: SegmentTable) -> Applied {
        let before = std::mem::replace(&mut self.table, table);
        self.active = self.table.segments().first().map(|s| s.label);
        let applied = Applied {
            labels: change.labels(),
            voxels: change.voxels(),
        };
        self.stats.apply(&change, true);
        let after = self.table.clone();
        self.history.record(change.with_tables(before, after));
        applied
    }

    /// After an undo or redo the active segment may be gone (or back).
    fn keep_active_valid(&mut self) {
        if self.active.is_none_or(|l| self.table.get(l).is_none()) {
            self.active = self.table.segments().last().map(|s| s.label);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::UVec3;
    use insitu_volume::{Geometry, Voxels};

    /// 20³ voxels of 1 mm: two bright 6³ cubes in air.
    fn two_cubes() -> Volume {
        let g = Geometry::axis_aligned(UVec3::splat(20), DVec3::ONE, DVec3::ZERO).unwrap();
        let mut v = vec![-1000i16; 8000];
        for k in 2..8 {
            for j in 2..8 {
                for i in 2..8 {
                    v[i + 20 * (j + 20 * k)] = 700;
                    v[(i + 10) + 20 * ((j + 10) + 20 * (k + 10))] = 700;
                }
            }
        }
        Volume::new(g, Voxels::I16(v)).unwrap()
    }

    const BONE: ValueRange = ValueRange {
        low: 300.0,
        high: 3000.0,
    };

    #[test]
    fn renames_and_hiding_survive_undo_and_redo_of_the_steps_before_them() {
        let volume = two_cubes();
        let mut bench = Workbench::new(&volume);
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        bench
            .apply(&volume, Edit::Threshold { range: BONE })
            .unwrap();
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        let typed = SegmentName::Typed("left femoral head".into());
        bench
            .apply(
                &volume,
                Edit::Rename {
                    label: 1,
                    name: typed.clone(),
                },
            )
            .unwrap();
        bench
            .apply(
                &volume,
                Edit::Show {
                    label: 1,
                    visible: false,
                },
            )
            .unwrap();
        let first = |bench: &Workbench| bench.table().get(1).cloned();
        // Undo the second Add: segment 1 keeps its new name and stays hidden.
        bench.apply(&volume, Edit::Undo).unwrap();
        assert_eq!(bench.table().segments().len(), 1);
        assert_eq!(
            first(&bench).map(|s| (s.name, s.visible)),
            Some((typed.clone(), false))
        );
        bench.apply(&volume, Edit::Redo).unwrap();
        assert_eq!(bench.table().segments().len(), 2);
        assert_eq!(first(&bench).map(|s| s.name), Some(typed.clone()));
        // Undo everything, segment 1's own Add too, and redo it all: the
        // name typed after that Add comes back with it.
        while bench.apply(&volume, Edit::Undo).is_ok() {}
        assert!(bench.table().segments().is_empty());
        while bench.apply(&volume, Edit::Redo).is_ok() {}
        assert_eq!(bench.table().segments().len(), 2);
        assert_eq!(
            first(&bench).map(|s| (s.name, s.visible)),
            Some((typed, false))
        );
        assert_eq!(bench.count(1), 432);
    }

    #[test]
    fn undo_three_times_returns_the_exact_labelmap_and_table() {
        let volume = two_cubes();
        let mut bench = Workbench::new(&volume);
        assert_eq!(
            bench.apply(&volume, Edit::Threshold { range: BONE }),
            Err(EditError::NoActiveSegment)
        );
        bench
            .apply(
                &volume,
                Edit::Add {
                    anatomy: Some(Anatomy::L1),
                },
            )
            .unwrap();
        bench
            .apply(
                &volume,
                Edit::Crop {
                    crop: CropBox::from_corners([0; 3], [9; 3], [20; 3]),
                },
            )
            .unwrap();
        let grown = bench
            .apply(
                &volume,
                Edit::Grow {
                    seed: [4, 4, 4],
                    range: BONE,
                },
            )
            .unwrap();
        assert_eq!(grown.voxels, 216);
        let after_grow = bench.labelmap().clone();
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        bench
            .apply(
                &volume,
                Edit::Crop {
                    crop: CropBox::whole([20; 3]),
                },
            )
            .unwrap();
        let second = bench
            .apply(&volume, Edit::Threshold { range: BONE })
            .unwrap();
        assert_eq!(second.voxels, 216, "the first cube is L1's already");
        assert_eq!(second.labels, vec![2]);
        bench.apply(&volume, Edit::Margin { mm: 1.0 }).unwrap();
        assert!(bench.labelmap().count(2) > 216);
        let steps = bench.steps().0;
        for _ in 0..3 {
            bench.apply(&volume, Edit::Undo).unwrap();
        }
        assert_eq!(bench.steps(), (steps - 3, 3));
        assert_eq!(bench.labelmap(), &after_grow);
        for label in 0..=2 {
            assert_eq!(bench.count(label), bench.labelmap().count(label), "{label}");
        }
        assert_eq!(
            bench.table().segments().len(),
            1,
            "the added segment is undone too"
        );
        assert_eq!(bench.active(), Some(1));
        bench.apply(&volume, Edit::Redo).unwrap();
        assert_eq!(bench.table().segments().len(), 2);
    }

    #[test]
    fn a_stroke_is_one_step_and_the_eraser_spares_other_segments() {
        let volume = two_cubes();
        let mut bench = Workbench::new(&volume);
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        bench
            .apply(&volume, Edit::Threshold { range: BONE })
            .unwrap();
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        for (n, x) in [4.0, 5.0, 6.0].into_iter().enumerate() {
            bench
                .apply(
                    &volume,
                    Edit::Paint {
                        centre: [x, 15.0, 4.0],
                        radius_mm: 1.5,
                        shape: BrushShape::Sphere,
                        range: None,
                        erase: false,
                        continues: n > 0,
                    },
                )
                .unwrap();
        }
        let painted = bench.labelmap().count(2);
        assert!(painted > 20);
        let steps = bench.steps().0;
        bench.apply(&volume, Edit::Undo).unwrap();
        assert_eq!(bench.labelmap().count(2), 0, "the whole stroke undone");
        assert_eq!(bench.steps().0, steps - 1);
        bench.apply(&volume, Edit::Redo).unwrap();
        // Erasing segment 2 across the first cube leaves segment 1 alone.
        let erased = bench
            .apply(
                &volume,
                Edit::Paint {
                    centre: [4.0, 10.0, 4.0],
                    radius_mm: 8.0,
                    shape: BrushShape::Sphere,
                    range: None,
                    erase: true,
                    continues: false,
                },
            )
            .unwrap();
        assert!(erased.voxels > 0);
        assert_eq!(bench.labelmap().count(1), 432);
        assert!(bench.labelmap().count(2) < painted);
    }

    #[test]
    fn a_leaking_grow_is_refused_and_a_removed_segment_comes_back_on_undo() {
        let volume = two_cubes();
        let mut bench = Workbench::new(&volume);
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        // Air everywhere: the region would be most of the box.
        let air = ValueRange {
            low: -1100.0,
            high: -900.0,
        };
        let refused = bench.apply(
            &volume,
            Edit::Grow {
                seed: [0, 0, 0],
                range: air,
            },
        );
        assert!(
            matches!(refused, Err(EditError::Grow(GrowError::TooLarge { .. }))),
            "{refused:?}"
        );
        assert_eq!(bench.labelmap().count(1), 0);
        bench
            .apply(&volume, Edit::Threshold { range: BONE })
            .unwrap();
        bench.apply(&volume, Edit::Remove { label: 1 }).unwrap();
        assert_eq!(bench.labelmap().count(1), 0);
        assert!(bench.table().get(1).is_none());
        bench.apply(&volume, Edit::Undo).unwrap();
        assert_eq!(bench.labelmap().count(1), 432);
        assert!(bench.table().get(1).is_some());
        assert_eq!(bench.active(), Some(1));
    }

    #[test]
    fn a_replacement_is_one_step_that_undoes() {
        let volume = two_cubes();
        let mut bench = Workbench::new(&volume);
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        bench
            .apply(&volume, Edit::Threshold { range: BONE })
            .unwrap();
        let before = bench.labelmap().labels().to_vec();
        let mut labels = vec![0u8; 8000];
        labels[0] = 20;
        labels[7999] = 21;
        let map = Labelmap::from_labels([20, 20, 20], labels).unwrap();
        let mut table = SegmentTable::default();
        table.add(Some(Anatomy::L1)).unwrap();
        let whole = |put: &mut dyn FnMut(usize, &[u8])| put(0, map.labels());
        let applied = bench.replace_in_spans(map.dims(), table, whole).unwrap();
        assert_eq!(bench.labelmap().labels(), map.labels());
        assert_eq!(bench.count(20), 1);
        assert!(applied.voxels > 400, "the cubes went and two voxels came");
        bench.apply(&volume, Edit::Undo).unwrap();
        assert_eq!(bench.labelmap().labels(), &before[..]);
        assert_eq!(bench.table().segments().len(), 1);
        assert!(matches!(
            bench.replace_in_spans([2, 2, 2], SegmentTable::default(), |put| put(0, &[0; 8])),
            Err(EditError::WrongGrid)
        ));
        // The same labels handed over a slice at a time: the same step.
        let mut table = SegmentTable::default();
        table.add(Some(Anatomy::L1)).unwrap();
        let by_slices = bench
            .replace_in_spans([20, 20, 20], table, |put| {
                for (z, slice) in map.labels().chunks(400).enumerate() {
                    put(z * 400, slice);
                }
            })
            .unwrap();
        assert_eq!(bench.labelmap().labels(), map.labels());
        assert_eq!(by_slices.voxels, applied.voxels);
        bench.apply(&volume, Edit::Undo).unwrap();
        assert_eq!(bench.labelmap().labels(), &before[..]);
    }

    #[test]
    fn a_cut_moves_the_part_past_the_plane_into_a_new_segment_and_undoes() {
        let volume = two_cubes();
        let mut bench = Workbench::new(&volume);
        bench.apply(&volume, Edit::Add { anatomy: None }).unwrap();
        bench
            .apply(&volume, Edit::Threshold { range: BONE })
            .unwrap();
        let whole = bench.count(1);
        // The plane z = 5 mm cuts the first cube (z 2..7) after its third layer.
        bench
            .apply(
                &volume,
                Edit::Cut {
                    point: [0.0, 0.0, 4.5],
                    normal: [0.0, 0.0, 1.0],
                },
            )
            .unwrap();
        assert_eq!(bench.active(), Some(2));
        assert_eq!(bench.count(1), 36 * 3, "layers z 2, 3, 4 stay");
        assert_eq!(bench.count(2), whole - 36 * 3, "the rest moved");
        bench.apply(&volume, Edit::Undo).unwrap();
        assert_eq!(bench.count(1), whole);
        assert_eq!(bench.table().segments().len(), 1);
    }
}
