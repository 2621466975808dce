//! The study the worker holds: the scan of the open folder, the loaded
//! volume and the current surface, and the replies that describe them.
//! Pure Rust, so every request is tested natively; the worker only moves
//! messages and buffers. The dropped files themselves are not here: they
//! stay in the browser as `File` handles (`worker::files`).
//!
//! The volume and scan are reference-counted so that an asynchronous step
//! (a GPU readback, a cache write, decoder workers) holds its own handle
//! rather than a borrow of the study across an `await`.

use std::rc::Rc;

use insitu_mesh::{Mesh, MeshFormat, SurfaceFacts, SurfaceOptions, clean_up};
use insitu_volume::display::{RenderGrid, to_rgba};
use insitu_volume::reslice::{self, Plane, ViewAxis};
use insitu_volume::{Loaded, Modality, Scan, Volume, Warning, phantom, read_meta};

use crate::protocol::{
    CacheOutcome, Failure, MadeOn, Reply, SeriesSummary, Skipped, SurfaceSummary, ViewRequest,
    VolumeSummary,
};
use crate::segments::Segments;

/// Everything one open study holds. Dropping it frees it all.
#[derive(Default)]
pub struct Study {
    scan: Option<Rc<Scan>>,
    files: usize,
    volume: Option<(Rc<Volume>, VolumeSummary)>,
    mesh: Option<Rc<Mesh>>,
    /// The volume's segments, once the user makes one (or the cache had
    /// them).
    segments: Option<Segments>,
    /// The last spine analysis of the volume (its report; the labels are
    /// in `segments`).
    spine: Option<insitu_spine::Spine>,
    /// What the user measured on the volume.
    measurements: insitu_measure::Measurements,
    /// Counts volume changes, so GPU copies of an older volume are noticed.
    generation: u64,
}

/// Where a new volume comes from, for its title and summary.
pub enum Origin {
    /// Series `index` of the study's scan.
    Series(usize),
    /// The cache, with no files.
    Cache,
    /// The synthetic demo.
    Demo,
}

/// The scan reply for a folder: its series and skipped files.
pub fn scanned(scan: &Scan, files: usize) -> Reply {
    Reply::Scanned {
        series: series_of(scan),
        skipped: Skipped::of(&scan.skipped),
        files,
    }
}

/// What a volume opened by its files' stamp is, once its files were read
/// and found to hold it: its summary as series `index`, and the folder.
pub fn files_checked(scan: &Scan, volume: VolumeSummary) -> Reply {
    Reply::FilesChecked {
        volume,
        series: series_of(scan),
        skipped: Skipped::of(&scan.skipped),
    }
}

/// Every series of `scan`, as listed.
fn series_of(scan: &Scan) -> Vec<SeriesSummary> {
    scan.series
        .iter()
        .map(|s| SeriesSummary {
            index: s.info.index,
            modality: Modality::from_code(&s.info.modality),
            description: s.info.description.clone(),
            dims: s.info.dims,
            spacing_mm: s.info.spacing_mm,
            tilt_degrees: s.info.tilt_degrees,
            warnings: s.info.warnings.clone(),
        })
        .collect()
}

/// A series' title: its description, else its modality and number.
fn series_title(info: &insitu_volume::SeriesInfo) -> String {
    if info.description.is_empty() {
        format!("{} series {}", info.modality, info.index + 1)
    } else {
        info.description.clone()
    }
}

/// Rows of a view resliced on the CPU in one block: enough to keep the
/// loop fast, few enough that a view is never held whole in wasm memory.
pub const ROWS_PER_BLOCK: usize = 32;

/// Rows `rows` of a view resliced on the CPU and windowed to RGBA in
/// `rgba` (`values` is scratch); both are reused from block to block.
pub fn render_rows_on_cpu(
    volume: &Volume,
    view: &ViewRequest,
    rows: std::ops::Range<usize>,
    values: &mut Vec<f32>,
    rgba: &mut Vec<u8>,
) {
    let plane: Plane = view.plane.into();
    let pixels = rows.len() * plane.width as usize;
    values.resize(pixels, 0.0);
    rgba.resize(pixels * 4, 0);
    reslice::sample_rows(volume, &plane, rows, values);
    to_rgba(values, view.window, view.level, rgba);
}

/// RGBA pixels of each view, resliced on the CPU, block by block.
pub fn render_on_cpu(volume: &Volume, views: &[ViewRequest]) -> Vec<Vec<u8>> {
    let (mut values, mut rgba) = (Vec::new(), Vec::new());
    views
        .iter()
        .map(|view| {
            let height = view.plane.height as usize;
            let mut image = Vec::with_capacity(height * view.plane.width as usize * 4);
            for first in (0..height).step_by(ROWS_PER_BLOCK) {
                let rows = first..(first + ROWS_PER_BLOCK).min(height);
                render_rows_on_cpu(volume, view, rows, &mut values, &mut rgba);
                image.extend_from_slice(&rgba);
            }
            image
        })
        .collect()
}

impl Study {
    /// The open folder's scan, if any (a handle: loads run beside it).
    pub fn scan(&self) -> Option<Rc<Scan>> {
        self.scan.clone()
    }

    /// What the open folder holds, as first reported.
    pub fn scanned(&self) -> Option<Reply> {
        Some(scanned(self.scan.as_ref()?, self.files))
    }

    /// Makes `loaded` the study's volume: series `index` of `scan` (a new
    /// folder's, or the open one's), built here, by decoder workers or read
    /// from the cache (its value range known when `loaded` says).
    pub fn take_series(
        &mut self,
        scan: Rc<Scan>,
        files: usize,
        index: usize,
        loaded: Loaded,
        cache: CacheOutcome,
    ) -> VolumeSummary {
        let info = &scan.series[index].info;
        let title = series_title(info);
        let modality = Modality::from_code(&info.modality);
        self.scan = Some(scan);
        self.files = files;
        self.set_volume(
            loaded.volume,
            Origin::Series(index),
            title,
            modality,
            loaded.warnings,
            loaded.value_range,
            cache,
        )
    }

    /// Replaces the study with a volume from the cache (no files, no scan),
    /// whose value range the cache kept.
    pub fn from_cache(
        &mut self,
        volume: Volume,
        modality: Modality,
        value_range: (f32, f32),
    ) -> VolumeSummary {
        self.scan = None;
        self.files = 0;
        let d = volume.geometry().dims;
        let title = format!("Cached {} {} × {} × {}", modality.code(), d.x, d.y, d.z);
        self.set_volume(
            volume,
            Origin::Cache,
            title,
            modality,
            Vec::new(),
            Some(value_range),
            CacheOutcome::Hit,
        )
    }

    /// Gives the volume opened from the cache by its files' stamp the
    /// folder's scan, once its files were read and found to hold it as
    /// series `index`: its title and warnings come from there.
    pub fn attach_scan(
        &mut self,
        scan: Rc<Scan>,
        files: usize,
        index: usize,
    ) -> Option<VolumeSummary> {
        let info = &scan.series.get(index)?.info;
        let (_, summary) = self.volume.as_mut()?;
        summary.series = Some(index);
        summary.title = series_title(info);
        summary.warnings = info.warnings.clone();
        let summary = summary.clone();
        self.scan = Some(scan);
        self.files = files;
        Some(summary)
    }

    /// Replaces the study with the synthetic demo spine.
    pub fn demo(&mut self, size: phantom::PhantomSize, variant: phantom::Variant) -> VolumeSummary {
        self.scan = None;
        self.files = 0;
        let volume = phantom::demo_variant(size, variant);
        let title = match variant {
            phantom::Variant::Normal => "Demo spine (synthetic, no patient data)",
            phantom::Variant::Scoliosis => "Demo spine, scoliosis (synthetic, no patient data)",
            phantom::Variant::L1Wedge => {
                "Demo spine, L1 wedge fracture (synthetic, no patient data)"
            }
        };
        self.set_volume(
            volume,
            Origin::Demo,
            title.into(),
            Modality::Ct,
            Vec::new(),
            None,
            CacheOutcome::NotApplicable,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn set_volume(
        &mut self,
        volume: Volume,
        origin: Origin,
        title: String,
        modality: Modality,
        warnings: Vec<Warning>,
        known_range: Option<(f32, f32)>,
        cache: CacheOutcome,
    ) -> VolumeSummary {
        let g = volume.geometry();
        let (low, high) = reslice::world_bounds(&volume);
        let summary = VolumeSummary {
            series: match origin {
                Origin::Series(index) => Some(index),
                Origin::Cache | Origin::Demo => None,
            },
            title,
            modality,
            dims: g.dims.to_array(),
            spacing_mm: g.spacing().to_array(),
            bounds: (low.to_array(), high.to_array()),
            warnings,
            value_range: known_range.unwrap_or_else(|| volume.value_range()),
            load_ms: 0.0,
            ready_at_ms: 0.0,
            decoders: 0,
            decoder_heap_bytes: 0.0,
            cache,
            voxel_to_world: g.voxel_to_world().to_cols_array(),
        };
        self.volume = Some((Rc::new(volume), summary.clone()));
        self.generation += 1;
        self.mesh = None;
        self.segments = None;
        self.spine = None;
        self.measurements = insitu_measure::Measurements::default();
        summary
    }

    /// The measurements drawn on this volume.
    pub fn measurements(&self) -> &insitu_measure::Measurements {
        &self.measurements
    }

    /// Measures `shape` and adds it to the list.
    pub fn measure(&mut self, shape: insitu_measure::Shape) -> Result<(), Failure> {
        let volume = self.volume().ok_or(Failure::NoVolume)?;
        self.measurements.add(&volume, shape);
        Ok(())
    }

    /// Removes measurement `id`.
    pub fn unmeasure(&mut self, id: u32) {
        self.measurements.remove(id);
    }

    /// Puts back measurements kept with the volume.
    pub fn restore_measurements(&mut self, shapes: &[insitu_measure::Shape]) {
        if let Some(volume) = self.volume() {
            self.measurements = insitu_measure::Measurements::from_shapes(&volume, shapes);
        }
    }

    /// The last spine analysis of this volume, if any.
    pub fn spine(&self) -> Option<&insitu_spine::Spine> {
        self.spine.as_ref()
    }

    /// Keeps a spine analysis of this volume (or its renamed copy).
    pub fn set_spine(&mut self, spine: insitu_spine::Spine) {
        self.spine = Some(spine);
    }

    /// The segments, made empty on first use; `NoVolume` without a volume.
    pub fn segments_mut(&mut self) -> Result<(Rc<Volume>, &mut Segments), Failure> {
        let volume = self.volume().ok_or(Failure::NoVolume)?;
        let segments = self.segments.get_or_insert_with(|| Segments::new(&volume));
        Ok((volume, segments))
    }

    /// The segments, if any were made.
    pub fn segments(&self) -> Option<&Segments> {
        self.segments.as_ref()
    }

    /// Puts back segments read from the cache for the loaded volume.
    pub fn restore_segments(
        &mut self,
        map: insitu_segment::Labelmap,
        table: insitu_segment::SegmentTable,
    ) -> Option<&Segments> {
        let volume = self.volume()?;
        if map.dims() != volume.geometry().dims.to_array() {
            return None;
        }
        self.segments = Some(Segments::restored(&volume, map, table));
        self.segments.as_ref()
    }

    /// Changes whenever the loaded volume does (load, demo, close).
    pub fn volume_generation(&self) -> u64 {
        self.generation
    }

    /// The loaded volume, if any (a handle: it outlives an `await`).
    pub fn volume(&self) -> Option<Rc<Volume>> {
        self.volume.as_ref().map(|(v, _)| v.clone())
    }

    /// The loaded volume's summary.
    pub fn summary(&self) -> Option<&VolumeSummary> {
        self.volume.as_ref().map(|(_, s)| s)
    }

    /// The grid volume rendering samples (at most `max_side` texels per
    /// axis), over only what is inside the crop box when there is one,
    /// with the volume it reads.
    pub fn render_grid(&self, max_side: u32) -> Option<(Rc<Volume>, RenderGrid)> {
        let volume = self.volume.as_ref()?.0.clone();
        let part = self.crop_box().map(|crop| (crop.min, crop.max));
        let grid = RenderGrid::new(&volume, part, max_side);
        Some((volume, grid))
    }

    /// The crop box, when it is not the whole volume.
    pub fn crop_box(&self) -> Option<insitu_segment::CropBox> {
        let bench = self.segments.as_ref()?.workbench();
        let crop = *bench.crop();
        (crop != insitu_segment::CropBox::whole(bench.labelmap().dims())).then_some(crop)
    }

    /// HU under the cursor.
    pub fn probe(&self, axis: ViewAxis, world: [f64; 3]) -> Reply {
        let value = self
            .volume
            .as_ref()
            .and_then(|(v, _)| reslice::value_at_world(v, world.into()));
        Reply::Probed { axis, world, value }
    }

    /// Lets the current surface go before a new one is made, so the two are
    /// never held together (the browser's heap never shrinks).
    pub fn drop_surface(&mut self) {
        self.mesh = None;
    }

    /// Cleans up a freshly extracted mesh with the one clean-up chain,
    /// keeps it, and describes it.
    pub fn finish_surface(
        &mut self,
        mesh: Mesh,
        options: SurfaceOptions,
        made_on: MadeOn,
        extract_ms: f64,
        now_ms: impl Fn() -> f64,
    ) -> SurfaceSummary {
        let started = now_ms();
        let mesh = clean_up(mesh, &options);
        // Checked after the surface is shown (`check_surface`).
        let facts = SurfaceFacts::unchecked(&mesh);
        let cleanup_ms = now_ms() - started;
        self.keep_surface(mesh, facts, options, made_on, extract_ms, cleanup_ms)
    }

    /// Keeps a finished surface (cleaned up, or read back from the cache,
    /// whose record knows its facts) and describes it.
    pub fn keep_surface(
        &mut self,
        mesh: Mesh,
        facts: SurfaceFacts,
        options: SurfaceOptions,
        made_on: MadeOn,
        extract_ms: f64,
        cleanup_ms: f64,
    ) -> SurfaceSummary {
        self.mesh = Some(Rc::new(mesh));
        SurfaceSummary {
            facts,
            made_on,
            extract_ms,
            cleanup_ms,
            options,
            drawn_triangles: None,
        }
    }

    /// Whether the current surface is watertight (one pass over its
    /// triangles: run after it is shown).
    pub fn check_surface(&self) -> Option<bool> {
        self.mesh
            .as_deref()
            .map(|mesh| insitu_mesh::topology(mesh).is_watertight())
    }

    /// The current surface, if any (a handle, like the volume).
    pub fn mesh(&self) -> Option<Rc<Mesh>> {
        self.mesh.clone()
    }

    /// The surface as a file, written to `out` as it is made (the worker
    /// passes each piece out of wasm memory at once: no second copy of a
    /// large surface is held).
    pub fn export(&self, format: MeshFormat, out: impl std::io::Write) -> Result<(), Failure> {
        let mesh = self.mesh.as_ref().ok_or(Failure::NoSurface)?;
        format
            .write(mesh.as_ref(), out)
            .map_err(|e| Failure::Write(e.to_string()))
    }

    /// Index of the file holding the first slice of `series`.
    pub fn first_file_of(&self, series: usize) -> Result<usize, Failure> {
        self.scan
            .as_ref()
            .and_then(|s| s.first_file_of(series))
            .ok_or(Failure::NoSuchSeries(series))
    }
}

/// Tag browser rows of a file's header (memory only).
pub fn tags(series: usize, name: &str, bytes: &[u8]) -> Reply {
    match read_meta(bytes) {
        Ok(meta) => Reply::Tags {
            series,
            entries: meta
                .entries
                .into_iter()
                .map(|e| (e.tag, e.keyword, e.vr, e.value, e.depth))
                .collect(),
        },
        Err(problem) => Reply::Failed {
            during: crate::protocol::Task::ReadingTags,
            error: Failure::File(insitu_volume::FileError::new(name, problem)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PlaneMsg;
    use insitu_gpu::CpuReason;
    use insitu_mesh::extract_surface;

    const SMALL: phantom::PhantomSize = phantom::PhantomSize {
        matrix: 96,
        slices: 60,
        pixel_mm: 3.6,
        slice_mm: 3.3,
    };

    #[test]
    fn demo_renders_surfaces_and_exports_a_matching_stl() {
        let mut study = Study::default();
        let summary = study.demo(SMALL, phantom::Variant::Normal);
        assert_eq!(summary.dims, [96, 96, 60]);
        assert_eq!(summary.modality, Modality::Ct);
        assert_eq!(summary.cache, CacheOutcome::NotApplicable);
        let volume = study.volume().unwrap();
        let plane = Plane::fit(
            &volume,
            ViewAxis::Axial,
            volume
                .geometry()
                .world_of(glam::DVec3::new(48.0, 48.0, 30.0)),
            (64, 64),
            1.0,
            (0.0, 0.0),
        );
        let views = [ViewRequest {
            axis: ViewAxis::Axial,
            plane: PlaneMsg::from(plane),
            window: 400.0,
            level: 40.0,
        }];
        let rgba = render_on_cpu(&volume, &views);
        assert_eq!(rgba[0].len(), 64 * 64 * 4);
        // Block by block, the same pixels as the whole plane at once.
        let mut whole = vec![0.0f32; 64 * 64];
        reslice::sample(&volume, &plane, &mut whole);
        let mut expected = vec![0u8; 64 * 64 * 4];
        to_rgba(&whole, 400.0, 40.0, &mut expected);
        assert_eq!(rgba[0], expected);
        assert!(
            rgba[0].chunks(4).any(|p| p[0] > 200),
            "bone or tissue is visible"
        );
        let options = SurfaceOptions {
            largest: true,
            min_island: Some(100),
            engine: insitu_mesh::Engine::Cpu,
            ..SurfaceOptions::at_iso(300.0)
        };
        let mesh = extract_surface(&volume, options.marching());
        let summary =
            study.finish_surface(mesh, options, MadeOn::Cpu(CpuReason::Chosen), 1.0, || 0.0);
        assert!(summary.facts.triangles > 0);
        assert_eq!(study.check_surface(), Some(true));
        assert!(study.mesh().is_some());
        study.drop_surface();
        assert_eq!(
            study.export(MeshFormat::Stl, Vec::new()),
            Err(Failure::NoSurface)
        );
        let summary = study.finish_surface(
            extract_surface(&volume, options.marching()),
            options,
            MadeOn::Cpu(CpuReason::Chosen),
            1.0,
            || 0.0,
        );
        let (_, grid) = study.render_grid(2048).unwrap();
        assert_eq!(grid.dims, [96, 96, 60]);
        let (_, reduced) = study.render_grid(32).unwrap();
        assert_eq!(reduced.dims, [32, 32, 30]);
        let mut bytes = Vec::new();
        study.export(MeshFormat::Stl, &mut bytes).unwrap();
        let count = u32::from_le_bytes(bytes[80..84].try_into().unwrap()) as usize;
        assert_eq!(count, summary.facts.triangles);
        assert_eq!(bytes.len(), 84 + 50 * count);
    }

    #[test]
    fn requests_without_a_study_fail_with_a_reason() {
        let study = Study::default();
        assert_eq!(
            study.export(MeshFormat::Stl, Vec::new()),
            Err(Failure::NoSurface)
        );
        assert_eq!(study.first_file_of(0), Err(Failure::NoSuchSeries(0)));
        assert!(study.volume().is_none() && study.scanned().is_none());
        assert!(matches!(
            tags(0, "x.dcm", b"not dicom"),
            Reply::Failed {
                error: Failure::File(_),
                ..
            }
        ));
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn a_series_from_a_scan_is_titled_and_typed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/ct-ge-head-tilt");
        let files = insitu_volume::files_under(&dir).unwrap();
        let scan = Rc::new(insitu_volume::scan(&files));
        let index = scan.largest_series().unwrap();
        let loaded = scan.build(index, &files).unwrap();
        let Reply::Scanned {
            series, skipped, ..
        } = scanned(&scan, files.len())
        else {
            panic!("a scan reply")
        };
        assert_eq!(series[index].modality, Modality::Ct);
        assert!(skipped.listed.iter().any(|e| e.file == "LICENSE"));
        let mut study = Study::default();
        let summary = study.take_series(scan, files.len(), index, loaded, CacheOutcome::Miss);
        assert_eq!(summary.series, Some(index));
        assert_eq!(summary.dims, [512, 512, 28]);
        assert!(
            summary
                .warnings
                .iter()
                .any(|w| matches!(w, Warning::GantryTilt { .. }))
        );
        assert!(study.scanned().is_some());
        assert!(study.first_file_of(index).is_ok());
    }
}
