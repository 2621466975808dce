//! The open volume's segments as the worker holds them: the workbench,
//! which segment surfaces are stale, the surfaces made, and the replies
//! and files that describe them. Pure Rust, tested natively; the worker
//! only moves these messages and buffers.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use insitu_mesh::{MeshFormat, Part, SurfaceFacts};
use insitu_segment::{CropBox, Edit, Labelmap, SegmentName, SegmentTable, Workbench, crop_frame};
use insitu_volume::Volume;

use crate::protocol::{
    ClickTool, Failure, SegmentExport, SegmentRow, SegmentSurfaceSummary, SegmentsSummary,
};

/// The label under which the crop box's frame goes to the 3D view.
pub const FRAME: u8 = 0;

/// The frame's colour: the crop box's edge colour in 2D.
const FRAME_COLOR: [u8; 3] = [255, 209, 102];

/// A surface made (or gone) for the 3D view.
pub struct MadeSurface {
    /// What the UI needs to know of it.
    pub summary: SegmentSurfaceSummary,
    /// The mesh, when it has triangles.
    pub mesh: Option<Rc<insitu_mesh::Mesh>>,
}

/// The segments of the open volume.
pub struct Segments {
    bench: Workbench,
    /// Labels whose surfaces no longer match the labelmap ([`FRAME`]: the
    /// crop box's frame).
    stale: BTreeSet<u8>,
    surfaces: BTreeMap<u8, Rc<insitu_mesh::Mesh>>,
    changed: usize,
    edit_ms: f64,
    voxel_mm3: f64,
    /// A step changed a vertebra's voxels since the spine was last measured.
    vertebrae_touched: bool,
}

impl Segments {
    /// No segments yet on `volume`.
    pub fn new(volume: &Volume) -> Self {
        Self::with(volume, Workbench::new(volume))
    }

    /// Segments read back (the cache, a file): every surface is to make.
    pub fn restored(volume: &Volume, map: Labelmap, table: SegmentTable) -> Self {
        let mut segments = Self::with(volume, Workbench::restore(volume, map, table));
        segments.stale = segments
            .bench
            .table()
            .segments()
            .iter()
            .map(|s| s.label)
            .collect();
        segments
    }

    fn with(volume: &Volume, bench: Workbench) -> Self {
        let s = volume.geometry().spacing();
        Self {
            bench,
            stale: BTreeSet::new(),
            surfaces: BTreeMap::new(),
            changed: 0,
            edit_ms: 0.0,
            voxel_mm3: s.x * s.y * s.z,
            vertebrae_touched: false,
        }
    }

    /// The workbench (labelmap, table, crop box).
    pub fn workbench(&self) -> &Workbench {
        &self.bench
    }

    /// Applies an edit; the summary after it.
    pub fn edit(
        &mut self,
        volume: &Volume,
        edit: Edit,
        now_ms: impl Fn() -> f64,
    ) -> Result<SegmentsSummary, Failure> {
        let started = now_ms();
        let crop_before = *self.bench.crop();
        let applied = self.bench.apply(volume, edit)?;
        self.note(applied, now_ms() - started);
        if *self.bench.crop() != crop_before {
            // Every surface is cut by the box, and the frame moves.
            self.stale.insert(FRAME);
            self.stale
                .extend(self.bench.table().segments().iter().map(|s| s.label));
        }
        Ok(self.summary())
    }

    /// What a step changed: its time, its voxels, and which surfaces it
    /// made stale.
    fn note(&mut self, applied: insitu_segment::Applied, ms: f64) {
        self.edit_ms = ms;
        self.changed = applied.voxels;
        self.vertebrae_touched |= applied
            .labels
            .iter()
            .any(|&l| insitu_spine::is_spine_label(l));
        self.stale.extend(applied.labels);
    }

    /// Whether a step changed a vertebra's voxels since last asked (the
    /// spine's report is then measured again).
    pub fn take_vertebrae_touched(&mut self) -> bool {
        std::mem::take(&mut self.vertebrae_touched)
    }

    /// Replaces every segment by the spine analysis's labels, written
    /// straight into the labelmap slice by slice (no second one beside
    /// it), and its table, as one step that undoes; the summary after it.
    pub fn replace(
        &mut self,
        labels: &insitu_spine::SpineLabels,
        table: SegmentTable,
        now_ms: impl Fn() -> f64,
    ) -> Result<SegmentsSummary, Failure> {
        self.take_whole(now_ms, |bench| {
            Ok(bench.replace_in_spans(labels.dims(), table, |put| labels.each_slice(put))?)
        })
    }

    /// Every label `l` becomes `by[l]` and the table `table` (the spine's
    /// names moved by a level), in place, as one step that undoes.
    pub fn relabel(
        &mut self,
        by: &[u8; 256],
        table: SegmentTable,
        now_ms: impl Fn() -> f64,
    ) -> Result<SegmentsSummary, Failure> {
        self.take_whole(now_ms, |bench| Ok(bench.relabel(by, table)))
    }

    /// A step that gives every segment anew (`step`), measured as an
    /// analysis: every surface before and after it is stale.
    fn take_whole(
        &mut self,
        now_ms: impl Fn() -> f64,
        step: impl FnOnce(&mut Workbench) -> Result<insitu_segment::Applied, Failure>,
    ) -> Result<SegmentsSummary, Failure> {
        let started = now_ms();
        let before: Vec<u8> = self
            .bench
            .table()
            .segments()
            .iter()
            .map(|s| s.label)
            .collect();
        let applied = step(&mut self.bench)?;
        self.note(applied, now_ms() - started);
        // The analysis that made these labels measured them.
        self.vertebrae_touched = false;
        self.stale.extend(before);
        self.stale
            .extend(self.bench.table().segments().iter().map(|s| s.label));
        Ok(self.summary())
    }

    /// A tool applied at `voxel` (clicked in 2D, or picked in 3D).
    pub fn click(
        &mut self,
        volume: &Volume,
        voxel: [u32; 3],
        tool: ClickTool,
        now_ms: impl Fn() -> f64,
    ) -> Result<SegmentsSummary, Failure> {
        let edit = match tool {
            ClickTool::Grow(range) => Edit::Grow { seed: voxel, range },
            ClickTool::KeepPiece => Edit::Islands(insitu_segment::Islands::KeepAt { voxel }),
            ClickTool::Select => {
                let label = self.bench.labelmap().get(voxel).unwrap_or(0);
                if label == 0 {
                    return Err(Failure::NothingThere);
                }
                Edit::Select { label }
            }
        };
        self.edit(volume, edit, now_ms)
    }

    /// The segments as the panel shows them.
    pub fn summary(&self) -> SegmentsSummary {
        let (undo, redo) = self.bench.steps();
        SegmentsSummary {
            segments: self
                .bench
                .table()
                .segments()
                .iter()
                .map(|s| {
                    let voxels = self.bench.count(s.label);
                    SegmentRow {
                        label: s.label,
                        name: s.name.to_string(),
                        typed: matches!(s.name, SegmentName::Typed(_)),
                        color: s.color,
                        visible: s.visible,
                        voxels,
                        volume_mm3: voxels as f64 * self.voxel_mm3,
                    }
                })
                .collect(),
            active: self.bench.active(),
            crop: *self.bench.crop(),
            undo,
            redo,
            changed: self.changed,
            edit_ms: self.edit_ms,
        }
    }

    /// Makes the stale surfaces (one per shown segment with voxels, and the
    /// frame while the box is not the whole volume); a gone or hidden
    /// segment's surface comes back empty.
    pub fn stale_surfaces(
        &mut self,
        volume: &Volume,
        now_ms: impl Fn() -> f64,
    ) -> Vec<MadeSurface> {
        std::iter::from_fn(|| self.next_stale_surface(volume, &now_ms)).collect()
    }

    /// Makes the next stale surface (lowest label first), if any: one at
    /// a time, so the worker can post each and serve the views between.
    pub fn next_stale_surface(
        &mut self,
        volume: &Volume,
        now_ms: impl Fn() -> f64,
    ) -> Option<MadeSurface> {
        let label = self.stale.pop_first()?;
        let started = now_ms();
        let (mesh, color) = self.make(volume, label);
        let made_ms = now_ms() - started;
        let mesh = mesh.filter(|m| m.triangle_count() > 0).map(Rc::new);
        match &mesh {
            Some(m) if label != FRAME => {
                self.surfaces.insert(label, m.clone());
            }
            _ => {
                self.surfaces.remove(&label);
            }
        }
        Some(MadeSurface {
            summary: SegmentSurfaceSummary {
                label,
                color,
                facts: mesh
                    .as_deref()
                    .map_or_else(empty_facts, |m| SurfaceFacts::of(m, None)),
                made_ms,
            },
            mesh,
        })
    }

    /// The surface of `label` as the workbench stands (none when hidden,
    /// gone or empty), and its colour.
    fn make(&self, volume: &Volume, label: u8) -> (Option<insitu_mesh::Mesh>, [u8; 3]) {
        let crop = self.bench.crop();
        if label == FRAME {
            let whole = *crop == CropBox::whole(self.bench.labelmap().dims());
            return ((!whole).then(|| crop_frame(volume, crop)), FRAME_COLOR);
        }
        match self.bench.table().get(label) {
            Some(s) if s.visible && self.bench.count(label) > 0 => {
                (Some(self.bench.surface(volume, label)), s.color)
            }
            Some(s) => (None, s.color),
            None => (None, [0; 3]),
        }
    }

    /// The surface of `label`, made now if it is stale or was never made.
    fn surface(&mut self, volume: &Volume, label: u8) -> Option<Rc<insitu_mesh::Mesh>> {
        if self.stale.contains(&label) || !self.surfaces.contains_key(&label) {
            let (mesh, _) = self.make(volume, label);
            let mesh = Rc::new(mesh.filter(|m| m.triangle_count() > 0)?);
            self.surfaces.insert(label, mesh.clone());
            // The 3D view still needs it: it stays stale for the next
            // `stale_surfaces`.
            return Some(mesh);
        }
        self.surfaces.get(&label).cloned()
    }

    /// The segments as a file: shown segments as coloured parts, the
    /// active one as STL, or the labelmap. Typed names are written: an
    /// export is the user's own file.
    pub fn export(&mut self, volume: &Volume, what: SegmentExport) -> Result<Vec<u8>, Failure> {
        let write = |e: std::io::Error| Failure::Write(e.to_string());
        match what {
            SegmentExport::Model(format) => {
                let shown: Vec<(String, [u8; 3], u8)> = self
                    .bench
                    .table()
                    .segments()
                    .iter()
                    .filter(|s| s.visible && self.bench.count(s.label) > 0)
                    .map(|s| (s.name.to_string(), s.color, s.label))
                    .collect();
                let meshes: Vec<(String, [u8; 3], Rc<insitu_mesh::Mesh>)> = shown
                    .into_iter()
                    .filter_map(|(name, color, label)| {
                        Some((name, color, self.surface(volume, label)?))
                    })
                    .collect();
                if meshes.is_empty() {
                    return Err(Failure::NoSurface);
                }
                let parts: Vec<Part<'_>> = meshes
                    .iter()
                    .map(|(name, color, mesh)| Part {
                        name,
                        color: *color,
                        mesh,
                    })
                    .collect();
                format.to_bytes(&parts).map_err(write)
            }
            SegmentExport::ActiveStl => {
                let label = self
                    .bench
                    .active()
                    .ok_or(insitu_segment::EditError::NoActiveSegment)?;
                let mesh = self.surface(volume, label).ok_or(Failure::NoSurface)?;
                MeshFormat::Stl.to_bytes(&mesh).map_err(write)
            }
            SegmentExport::Labelmap(format) => {
                Ok(format.to_bytes(self.bench.labelmap(), self.bench.table(), volume.geometry()))
            }
        }
    }
}

/// The facts of no surface.
fn empty_facts() -> SurfaceFacts {
    SurfaceFacts::of(&insitu_mesh::Mesh::default(), Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use insitu_mesh::PartsFormat;
    use insitu_segment::files::{LabelFile, LabelmapFormat};
    use insitu_segment::{Anatomy, ValueRange};
    use insitu_volume::phantom::{PhantomSize, demo_spine};

    const SMALL: PhantomSize = PhantomSize {
        matrix: 96,
        slices: 80,
        pixel_mm: 3.0,
        slice_mm: 2.5,
    };

    fn bone() -> ValueRange {
        ValueRange {
            low: 250.0,
            high: 3071.0,
        }
    }

    #[test]
    fn edits_summaries_surfaces_and_exports_of_the_demo_spine() {
        let volume = demo_spine(SMALL);
        let mut segments = Segments::new(&volume);
        let clock = || 0.0;
        let summary = segments
            .edit(
                &volume,
                Edit::Add {
                    anatomy: Some(Anatomy::L3),
                },
                clock,
            )
            .unwrap();
        assert_eq!(summary.segments[0].name, "L3");
        assert_eq!(summary.active, Some(1));
        // Bone inside a box around the middle of the spine.
        let crop = CropBox::from_corners([20, 20, 30], [75, 75, 50], [96, 96, 80]);
        segments.edit(&volume, Edit::Crop { crop }, clock).unwrap();
        let summary = segments
            .edit(&volume, Edit::Threshold { range: bone() }, clock)
            .unwrap();
        let voxels = summary.segments[0].voxels;
        assert!(voxels > 100, "{summary:?}");
        assert_eq!(summary.changed, voxels);
        // The frame and the segment's surface are stale; both are made.
        let made = segments.stale_surfaces(&volume, clock);
        let labels: Vec<u8> = made.iter().map(|m| m.summary.label).collect();
        assert_eq!(labels, vec![FRAME, 1]);
        let surface = &made[1].summary;
        assert!(surface.facts.triangles > 0 && surface.facts.watertight == Some(true));
        assert_eq!(surface.color, Anatomy::L3.color());
        assert!(segments.stale_surfaces(&volume, clock).is_empty());
        // Hidden: its surface goes from the 3D view.
        segments
            .edit(
                &volume,
                Edit::Show {
                    label: 1,
                    visible: false,
                },
                clock,
            )
            .unwrap();
        let made = segments.stale_surfaces(&volume, clock);
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].summary.facts.triangles, 0);
        assert!(matches!(
            segments.export(&volume, SegmentExport::Model(PartsFormat::ThreeMf)),
            Err(Failure::NoSurface)
        ));
        segments
            .edit(
                &volume,
                Edit::Show {
                    label: 1,
                    visible: true,
                },
                clock,
            )
            .unwrap();
        let bytes = segments
            .export(&volume, SegmentExport::Model(PartsFormat::Glb))
            .unwrap();
        assert_eq!(&bytes[0..4], b"glTF");
        let stl = segments.export(&volume, SegmentExport::ActiveStl).unwrap();
        assert!(stl.len() > 84);
        // The labelmap reads back on the volume's grid with its name.
        let file = segments
            .export(&volume, SegmentExport::Labelmap(LabelmapFormat::SegNrrd))
            .unwrap();
        let (map, table) = LabelFile::read("x.seg.nrrd", &file)
            .unwrap()
            .on_grid(volume.geometry())
            .unwrap();
        assert_eq!(&map, segments.workbench().labelmap());
        assert_eq!(
            table.get(1).unwrap().name,
            SegmentName::Anatomy(Anatomy::L3)
        );
    }

    #[test]
    fn clicks_grow_select_and_say_when_nothing_is_there() {
        let volume = demo_spine(SMALL);
        let mut segments = Segments::new(&volume);
        let clock = || 0.0;
        segments
            .edit(&volume, Edit::Add { anatomy: None }, clock)
            .unwrap();
        assert!(matches!(
            segments.click(&volume, [0, 0, 0], ClickTool::Select, clock),
            Err(Failure::NothingThere)
        ));
        // The first bone voxel of the middle slice is a seed.
        let seed = (0..96u32 * 96)
            .map(|n| [n % 96, n / 96, 40])
            .find(|&[i, j, k]| volume.value(i, j, k).is_some_and(|v| v > 400.0))
            .unwrap();
        let summary = segments
            .click(&volume, seed, ClickTool::Grow(bone()), clock)
            .unwrap();
        assert!(summary.segments[0].voxels > 10);
        let summary = segments
            .click(&volume, seed, ClickTool::Select, clock)
            .unwrap();
        assert_eq!(summary.active, Some(1));
    }
}
