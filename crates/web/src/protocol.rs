//! Messages between the UI thread and the study worker, typed end to end:
//! errors, the cache's outcome, the modality, the export format and where
//! work ran are enums with their data, so the UI matches on variants and
//! never parses a sentence. Serialised with serde-wasm-bindgen; large
//! payloads (pixels, meshes, files) travel beside them as transferred
//! buffers or `File` handles ([`crate::envelope`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use insitu_gpu::{AdapterSummary, CpuReason};
use insitu_mesh::{MeshFormat, PartsFormat, SurfaceFacts, SurfaceOptions};
use insitu_segment::files::LabelmapFormat;
use insitu_segment::{CropBox, Edit, EditError, ValueRange};
use insitu_store::StoreError;
use insitu_volume::reslice::{Plane, ViewAxis};
use insitu_volume::{BuildError, FileError, Modality, Problem, Warning};

/// Files sent with one message, as the scan reads them: a batch each.
pub const FILES_PER_MESSAGE: usize = 64;

/// UI thread → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Read and scan the `File`s attached, then load the largest series.
    Open {
        /// When the user chose or dropped them (`Date.now()`: one clock
        /// for the page and its workers), so the load's laps and time
        /// start where the user's wait does.
        #[serde(default)]
        chosen_at_ms: Option<f64>,
        /// The page's count of its openings: the files after this
        /// message's come in [`Request::MoreFiles`] of the same opening.
        #[serde(default)]
        opening: u32,
        /// How many files the folder has, when more than come with this
        /// message.
        #[serde(default)]
        files_in_all: Option<usize>,
    },
    /// More of an opening's files (at most [`FILES_PER_MESSAGE`]), taken
    /// as they arrive, never queued: the scan reads the first ones while
    /// the page still sends these. The first time a page sends a `File`
    /// the browser looks the file up on disk, about 0.2 ms a file in
    /// Chromium (300 files sent in one message arrived after 61 ms; in
    /// messages of 64, the first arrived after 14 ms).
    MoreFiles {
        /// Which opening they belong to.
        opening: u32,
        /// How many files the folder has, as the page now knows it (fewer
        /// than the `Open` said when a dropped file could not be had).
        #[serde(default)]
        files_in_all: Option<usize>,
    },
    /// Build the synthetic demo spine and load it (the UI asks for its
    /// spine analysis after the first views: it opens labelled).
    Demo {
        /// Which spine.
        #[serde(default)]
        variant: insitu_volume::phantom::Variant,
    },
    /// Find, split, name and measure the vertebrae of the open volume;
    /// its vertebrae replace the segments (one step that undoes).
    FindSpine {
        /// Only when the volume has no segments yet (the demo opens
        /// labelled, but keeps what the user made on it).
        if_unlabelled: bool,
    },
    /// Measure a shape drawn on a 2D view and add it to the list.
    Measure {
        /// What was drawn.
        shape: insitu_measure::Shape,
    },
    /// Remove a measurement.
    Unmeasure {
        /// Its id.
        id: u32,
    },
    /// The measurements as a file.
    ExportMeasurements(MeasurementsFormat),
    /// The last spine report as a file.
    ExportSpine(insitu_spine::ReportFormat),
    /// Move every vertebra's name by `by` levels (±1).
    ShiftLevels {
        /// Levels, + towards the sacrum.
        by: i32,
    },
    /// Correct the vertebrae (merge two, split one at a disc) and name and
    /// measure them again (one step that undoes).
    ReviseSpine(insitu_spine::Revision),
    /// Split the vertebra where a click in the 3D view points (the first
    /// shown segment along the ray) at the disc-like gap nearest it.
    SplitVertebraAlong {
        /// Ray origin, LPS mm.
        origin: [f64; 3],
        /// Ray direction.
        direction: [f64; 3],
    },
    /// Build series `index` of the last scan.
    LoadSeries {
        /// Index in the scan's series list.
        index: usize,
    },
    /// Build the series that was too large, read as `reduction` (one of
    /// the offers its failure listed).
    LoadReduced {
        /// Index in that scan's series list.
        index: usize,
        /// How it is read smaller.
        reduction: insitu_volume::Reduction,
    },
    /// Sample and window the given views.
    Render {
        /// One entry per view to draw.
        views: Vec<ViewRequest>,
        /// How segments are drawn over them.
        #[serde(default)]
        overlay: insitu_segment::OverlayStyle,
    },
    /// HU at a world point (cursor readout).
    Probe {
        /// View the cursor is over (echoed back).
        axis: ViewAxis,
        /// LPS mm.
        world: [f64; 3],
    },
    /// Extract the iso-surface and clean it up.
    Surface(SurfaceOptions),
    /// Serialise the current surface.
    Export {
        /// Which file.
        format: MeshFormat,
    },
    /// Change the segments (creates the workbench on first use).
    Edit(Edit),
    /// A tool applied where the user clicked in a 2D view (patient mm):
    /// the worker finds the voxel, as the reslicer maps it.
    ToolAt {
        /// The clicked point, LPS mm.
        world: [f64; 3],
        /// What to do there.
        tool: ClickTool,
    },
    /// A tool applied where a click in the 3D view points: the first shown
    /// segment along the ray.
    Pick {
        /// Ray origin, LPS mm.
        origin: [f64; 3],
        /// Ray direction.
        direction: [f64; 3],
        /// What to do with the segment hit.
        tool: ClickTool,
    },
    /// Surfaces of the segments changed since they were last sent (asked
    /// once edits settle: not for every dab of a brush).
    SegmentSurfaces,
    /// Write the segments as a file.
    ExportSegments(SegmentExport),
    /// The volume's values for volume rendering, asked for the first time a
    /// volume mode is shown (most loads never need it).
    VolumeTexture {
        /// Most texels per side the 3D view's device takes.
        max_side: u32,
    },
    /// Header elements of a series' first file for the tag browser.
    Tags {
        /// Series index.
        series: usize,
    },
    /// Stop the load in progress, keeping the study that was open. Jumps
    /// the queue (the worker looks at it as it arrives).
    Cancel,
    /// Open a cached volume (the Recent list), with no files.
    OpenCached {
        /// Its content key.
        key: String,
        /// When the user clicked (`Date.now()`), so its laps start there.
        #[serde(default)]
        clicked_at_ms: Option<f64>,
    },
    /// Whether derived data may be kept on this computer (the user's
    /// "keep nothing" setting, also given in the worker's name at start).
    SetCache {
        /// Cache volumes and meshes in IndexedDB.
        keep: bool,
    },
    /// Decoder `decoder` of pool `pool` ([`Reply::StartDecoders`]) has
    /// started; the port to talk to it travels beside this. Jumps the
    /// queue (the load under way waits for it).
    DecoderStarted {
        /// The pool it belongs to.
        pool: u32,
        /// Which of the pool's decoders.
        decoder: usize,
    },
    /// Decoder `decoder` of pool `pool` failed (its `error` event, which
    /// reaches the page that started it). Jumps the queue.
    DecoderFailed {
        /// The pool it belongs to.
        pool: u32,
        /// Which of the pool's decoders.
        decoder: usize,
        /// The browser's message.
        why: String,
    },
}

impl Request {
    /// Redraws and cursor readouts: only the newest of a run of them is
    /// worth doing (the UI asks faster than a large volume redraws).
    pub fn supersedes_its_kind(&self) -> bool {
        matches!(self, Request::Render { .. } | Request::Probe { .. })
    }

    /// Whether a `Cancel` stops it: the loads and the spine analysis, which
    /// look for one as they go (and clear it as they start).
    pub fn is_cancellable(&self) -> bool {
        matches!(
            self,
            Request::Open { .. }
                | Request::LoadSeries { .. }
                | Request::LoadReduced { .. }
                | Request::FindSpine { .. }
        )
    }

    /// Whether it puts another volume in the study (what runs beside the
    /// open one, checking its files, stops for it).
    pub fn replaces_the_study(&self) -> bool {
        matches!(
            self,
            Request::Open { .. }
                | Request::LoadSeries { .. }
                | Request::LoadReduced { .. }
                | Request::OpenCached { .. }
                | Request::Demo { .. }
        )
    }
}

/// A plane to draw and its window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ViewRequest {
    /// Which view.
    pub axis: ViewAxis,
    /// The plane, as plain arrays.
    pub plane: PlaneMsg,
    /// Window width (HU).
    pub window: f64,
    /// Window centre (HU).
    pub level: f64,
}

/// [`Plane`] without glam types on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlaneMsg {
    /// Image centre, LPS mm.
    pub centre: [f64; 3],
    /// Screen right, unit LPS vector.
    pub right: [f64; 3],
    /// Screen down, unit LPS vector.
    pub down: [f64; 3],
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// Pixel size, mm.
    pub mm_per_pixel: f64,
}

impl From<Plane> for PlaneMsg {
    fn from(p: Plane) -> Self {
        Self {
            centre: p.centre.to_array(),
            right: p.right.to_array(),
            down: p.down.to_array(),
            width: p.width,
            height: p.height,
            mm_per_pixel: p.mm_per_pixel,
        }
    }
}

impl From<PlaneMsg> for Plane {
    fn from(p: PlaneMsg) -> Self {
        Self {
            centre: p.centre.into(),
            right: p.right.into(),
            down: p.down.into(),
            width: p.width,
            height: p.height,
            mm_per_pixel: p.mm_per_pixel,
        }
    }
}

/// Skipped files listed at most: a folder with thousands of files that
/// are not DICOM (reports, notes) sent and listed every one, which held
/// the UI thread 55–60 ms for 2,401 files on a loaded 2-core machine, and
/// no one reads such a list to its end.
pub const SKIPPED_LISTED: usize = 200;

/// The files a scan skipped, as the panel lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// At most [`SKIPPED_LISTED`], those with a problem other than not
    /// being DICOM first: a broken or unsupported slice is what the user
    /// looks for among them.
    pub listed: Vec<FileError>,
    /// How many were skipped in all.
    pub in_all: usize,
}

impl Skipped {
    /// What to list of `skipped`.
    pub fn of(skipped: &[FileError]) -> Self {
        let not_dicom = |e: &&FileError| matches!(e.problem, Problem::NotDicom(_));
        let problems = skipped.iter().filter(|e| !not_dicom(e));
        Self {
            listed: problems
                .chain(skipped.iter().filter(not_dicom))
                .take(SKIPPED_LISTED)
                .cloned()
                .collect(),
            in_all: skipped.len(),
        }
    }
}

/// Worker → UI thread. Tagged beside its body, not inside it: the UI
/// then reads a reply's fields once, straight into the variant, where a
/// tag among the fields made serde buffer every field first (a quarter of
/// the UI thread's 60–90 ms on the spine's reply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Reply {
    /// The worker listens: messages posted before this could be lost (its
    /// handler is installed only once the wasm module has started).
    Ready,
    /// Work under way.
    Progress {
        /// What is being done.
        phase: Phase,
        /// Units done.
        done: usize,
        /// Units in all (0: unknown).
        total: usize,
    },
    /// What the files hold.
    Scanned {
        /// Every series found.
        series: Vec<SeriesSummary>,
        /// Files skipped, with reasons.
        skipped: Skipped,
        /// Files read.
        files: usize,
    },
    /// A volume is ready.
    Loaded(VolumeSummary),
    /// The files of a volume opened from the cache by their stamp were
    /// read and hold it: the same volume, now with its series' title and
    /// warnings (the cache keeps no text), and what the folder holds.
    FilesChecked {
        /// The volume shown, as its series.
        volume: VolumeSummary,
        /// Every series of the folder.
        series: Vec<SeriesSummary>,
        /// Files skipped, with reasons.
        skipped: Skipped,
    },
    /// How writing the loaded volume to the cache went; the app works on
    /// without it when it failed.
    CacheUpdate(CacheWrite),
    /// A load was cancelled; the study open before it (if any) is kept.
    Cancelled {
        /// A volume is still loaded.
        still_open: bool,
    },
    /// Windowed RGBA pixels, one transferred buffer per view, in order.
    Rendered {
        /// The views drawn, matching the buffers.
        views: Vec<ViewRequest>,
        /// Who resliced them.
        drawn_on: DrawnOn,
    },
    /// The first views drawn of a cached volume, as the cache kept them
    /// (one transferred RGBA buffer per view, in order): shown while its
    /// voxels are read back, before [`Reply::Loaded`].
    OpeningViews {
        /// The views, matching the buffers.
        views: Vec<ViewRequest>,
    },
    /// HU under the cursor.
    Probed {
        /// View asked about.
        axis: ViewAxis,
        /// LPS mm.
        world: [f64; 3],
        /// None outside the volume.
        value: Option<f32>,
    },
    /// A surface, with positions, normals (f32 xyz) and indices (u32)
    /// transferred beside it.
    Surface(SurfaceSummary),
    /// A lighter copy of the surface just posted (its arrays transferred
    /// beside it, as a surface's; none when the surface is light enough to
    /// drag whole), for drag frames on a GPU too slow to draw the whole
    /// surface at a frame's pace.
    SurfaceDragCopy,
    /// The same for the segment surface of `label` just posted.
    SegmentDragCopy {
        /// The segment's label.
        label: u8,
    },
    /// File bytes transferred beside it.
    Exported {
        /// What was written.
        file: ExportFile,
    },
    /// The segments after an edit (or restored with a volume).
    Segments(SegmentsSummary),
    /// One segment's surface (label 0: the crop box's frame), with
    /// positions, normals and indices transferred beside it; no triangles
    /// when it is gone or hidden.
    SegmentSurface(SegmentSurfaceSummary),
    /// The volume's copy to the GPU for the 2D views is done, or failed:
    /// views drawn from here on are resliced there, or say why not (the
    /// ones drawn before were resliced on the CPU, "still being copied").
    SliceVolumeSettled,
    /// Whether the surface just shown is watertight (checked after it was
    /// posted).
    SurfaceChecked {
        /// Closed and consistently oriented.
        watertight: bool,
    },
    /// The segments were written to the cache with their volume (`false`:
    /// not kept: no cached volume, or the browser refused).
    SegmentsKept {
        /// Written.
        kept: bool,
    },
    /// The spine found (or renamed, revised, reopened): vertebrae,
    /// measurements, levels.
    Spine {
        /// The analysis's report.
        spine: insitu_spine::Spine,
        /// What made this report, which the panel says.
        cause: SpineCause,
    },
    /// The demo's analysis was not run: it has segments the user made.
    SpineSkipped,
    /// The measurements after a change (or restored with a volume).
    Measurements {
        /// Every one, in the order drawn.
        items: Vec<insitu_measure::Measurement>,
    },
    /// The grid volume rendering samples (its texels follow in
    /// [`Reply::VolumeSlices`]): the volume at its own resolution where the
    /// device allows, else block maxima ([`insitu_volume::display::RenderGrid`]).
    VolumeTexture {
        /// Texels per axis.
        dims: [u32; 3],
        /// Voxels per axis of what it was reduced from (the volume, or
        /// the part inside the crop box): the user is told the choice.
        from_dims: [u32; 3],
        /// Voxel centre → patient mm, column-major.
        voxel_to_world: [f64; 16],
    },
    /// Whole texel slices of that grid from `first_slice` on, as 16-bit
    /// float bits (one `Uint16Array` transferred beside it): a few MB at a
    /// time, so neither side holds a second volume-sized buffer.
    VolumeSlices {
        /// The first slice in the buffer.
        first_slice: u32,
        /// No more follow.
        last: bool,
    },
    /// Tag browser rows.
    Tags {
        /// Series index.
        series: usize,
        /// (tag, keyword, VR, value, depth).
        entries: Vec<(String, String, String, String, usize)>,
    },
    /// Something failed; the study (if any) is unchanged.
    Failed {
        /// What was being done.
        during: Task,
        /// Why.
        error: Failure,
    },
    /// Start `count` decoder workers for a load and hand each one's port
    /// back ([`Request::DecoderStarted`]). The page starts them: a worker
    /// that Firefox starts from inside another worker can block that
    /// worker for good (seen: one load in about twenty on Firefox ESR 153
    /// never got past `new Worker`), one started from a page never does.
    StartDecoders {
        /// This pool's number (replies about another pool are stale).
        pool: u32,
        /// How many.
        count: usize,
    },
    /// The load is done with pool `pool`: its decoders end, giving their
    /// heaps back.
    StopDecoders {
        /// Which pool.
        pool: u32,
    },
}

impl Reply {
    /// The reply's kind, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Progress { .. } => "progress",
            Self::Scanned { .. } => "scanned",
            Self::Loaded(_) => "loaded",
            Self::FilesChecked { .. } => "files checked",
            Self::CacheUpdate(_) => "cache update",
            Self::Cancelled { .. } => "cancelled",
            Self::Rendered { .. } => "rendered",
            Self::OpeningViews { .. } => "opening views",
            Self::Probed { .. } => "probed",
            Self::Surface(_) => "surface",
            Self::SurfaceDragCopy => "surface drag copy",
            Self::SegmentDragCopy { .. } => "segment drag copy",
            Self::Exported { .. } => "exported",
            Self::Segments(_) => "segments",
            Self::SegmentSurface(_) => "segment surface",
            Self::SegmentsKept { .. } => "segments kept",
            Self::SliceVolumeSettled => "slice volume settled",
            Self::SurfaceChecked { .. } => "surface checked",
            Self::Spine { .. } => "spine",
            Self::SpineSkipped => "spine skipped",
            Self::Measurements { .. } => "measurements",
            Self::VolumeTexture { .. } => "volume texture",
            Self::VolumeSlices { .. } => "volume slices",
            Self::Tags { .. } => "tags",
            Self::Failed { .. } => "failed",
            Self::StartDecoders { .. } => "start decoders",
            Self::StopDecoders { .. } => "stop decoders",
        }
    }
}

/// What a long request is doing (progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the dropped files.
    Reading,
    /// Reading every header.
    Scanning,
    /// Decoding slices.
    Decoding,
    /// Making the synthetic demo spine.
    BuildingTheDemo,
    /// Marching cubes and clean-up.
    Meshing,
    /// The spine analysis.
    FindingTheSpine,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Reading => "Reading",
            Self::Scanning => "Scanning",
            Self::Decoding => "Decoding",
            Self::BuildingTheDemo => "Building the demo spine",
            Self::Meshing => "Meshing",
            Self::FindingTheSpine => "Finding the vertebrae",
        })
    }
}

/// What was being done when something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Reading a message (a bug between the two threads).
    ReadingARequest,
    /// Opening dropped files.
    Opening,
    /// Building a series.
    Loading,
    /// Drawing the 2D views.
    Drawing,
    /// Making a surface.
    MakingASurface,
    /// Writing a mesh file.
    Exporting,
    /// Reading a series' header for the tag browser.
    ReadingTags,
    /// Opening a volume from the Recent list.
    OpeningFromTheCache,
    /// Editing segments.
    Segmenting,
    /// Finding or renaming the vertebrae.
    FindingTheSpine,
    /// Measuring.
    Measuring,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ReadingARequest => "reading a request",
            Self::Opening => "opening",
            Self::Loading => "loading",
            Self::Drawing => "drawing",
            Self::MakingASurface => "making a surface",
            Self::Exporting => "exporting",
            Self::ReadingTags => "reading tags",
            Self::OpeningFromTheCache => "opening from the cache",
            Self::Segmenting => "segmenting",
            Self::FindingTheSpine => "finding the vertebrae",
            Self::Measuring => "measuring",
        })
    }
}

/// Why a request could not be done, with what the user needs to know.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum Failure {
    /// The message could not be read.
    #[error("unreadable request: {0}")]
    BadRequest(String),
    /// The files hold no image series (the skipped list says why).
    #[error("no image series found in these files")]
    NoImageSeries,
    /// A series was asked for with no folder open.
    #[error("no folder has been opened")]
    NoFolder,
    /// The request needs a loaded volume.
    #[error("open a study first")]
    NoVolume,
    /// The request needs a surface.
    #[error("make a surface first")]
    NoSurface,
    /// No series with this index.
    #[error("no series {0}")]
    NoSuchSeries(usize),
    /// The series could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A file could not be read or parsed.
    #[error(transparent)]
    File(#[from] FileError),
    /// Writing the file failed.
    #[error("could not write it: {0}")]
    Write(String),
    /// The cache is off or could not be opened.
    #[error("the cache is off or unavailable")]
    CacheOff,
    /// The entry is gone from the cache.
    #[error("it is no longer in the cache")]
    NotCached,
    /// The entry was damaged; it has been removed.
    #[error("the cached copy was damaged and has been removed ({0})")]
    CacheDamaged(String),
    /// The browser would not read the cache.
    #[error("the browser could not read it ({0})")]
    CacheRefused(StoreError),
    /// A segment edit changed nothing, and why.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// No spine was found, and why.
    #[error(transparent)]
    Spine(#[from] insitu_spine::SpineError),
    /// Renaming would take a vertebra past C1 or L5, or no spine was found.
    #[error("the names cannot move that way")]
    CannotShift,
    /// A merge or split of vertebrae was refused.
    #[error(transparent)]
    Revision(#[from] insitu_spine::RevisionError),
    /// The click was outside the volume (or hit no shown segment).
    #[error("nothing there: click inside the volume, on a shown segment")]
    NothingThere,
    /// A spine report was asked for before any analysis.
    #[error("no spine report yet: find the vertebrae first")]
    NoSpine,
}

/// What a click does (in 2D at a point, in 3D along a ray).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClickTool {
    /// Grow the active segment from the clicked voxel over this range.
    Grow(ValueRange),
    /// Keep only the piece of the active segment clicked.
    KeepPiece,
    /// Make the clicked segment the active one.
    Select,
}

/// A file of the segments (adjacently tagged: it rides inside a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "export", content = "as", rename_all = "snake_case")]
pub enum SegmentExport {
    /// Every shown segment as a coloured part (3MF, GLB, coloured PLY).
    Model(PartsFormat),
    /// The active segment's surface alone, as binary STL.
    ActiveStl,
    /// The labelmap with names and colours (`.seg.nrrd`) or NIfTI.
    Labelmap(LabelmapFormat),
}

/// A file of the measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasurementsFormat {
    /// One row per measurement.
    Csv,
    /// The list as JSON.
    Json,
}

/// What an `Exported` reply holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFile {
    /// The iso-surface.
    Surface(MeshFormat),
    /// The segments.
    Segments(SegmentExport),
    /// The measurements.
    Measurements(MeasurementsFormat),
    /// The spine report.
    Spine(insitu_spine::ReportFormat),
}

impl ExportFile {
    /// The file name offered for download.
    pub fn file_name(self) -> String {
        match self {
            Self::Surface(f) => format!("insitu-surface.{}", f.extension()),
            Self::Segments(SegmentExport::Model(f)) => format!("insitu-segments.{}", f.extension()),
            Self::Segments(SegmentExport::ActiveStl) => "insitu-segment.stl".into(),
            Self::Segments(SegmentExport::Labelmap(f)) => {
                format!("insitu-segments.{}", f.extension())
            }
            Self::Measurements(MeasurementsFormat::Csv) => "insitu-measurements.csv".into(),
            Self::Measurements(MeasurementsFormat::Json) => "insitu-measurements.json".into(),
            Self::Spine(f) => format!("insitu-spine.{}", f.extension()),
        }
    }

    /// Its MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Surface(f) => f.mime(),
            Self::Segments(SegmentExport::Model(f)) => f.mime(),
            Self::Segments(SegmentExport::ActiveStl) => MeshFormat::Stl.mime(),
            Self::Segments(SegmentExport::Labelmap(f)) => f.mime(),
            Self::Measurements(MeasurementsFormat::Csv) => "text/csv",
            Self::Measurements(MeasurementsFormat::Json) => "application/json",
            Self::Spine(f) => f.mime(),
        }
    }
}

/// One segment in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRow {
    /// Its label value.
    pub label: u8,
    /// Its name as shown (typed text included: memory only).
    pub name: String,
    /// Whether the name is typed text (kept in memory only).
    pub typed: bool,
    /// Its colour (sRGB).
    pub color: [u8; 3],
    /// Shown.
    pub visible: bool,
    /// Voxels it holds.
    pub voxels: usize,
    /// Its volume, mm³.
    pub volume_mm3: f64,
}

/// The segments as the panel shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentsSummary {
    /// Every segment, by label.
    pub segments: Vec<SegmentRow>,
    /// The segment the tools edit.
    pub active: Option<u8>,
    /// The crop box.
    pub crop: CropBox,
    /// Steps that can be undone.
    pub undo: usize,
    /// Steps that can be redone.
    pub redo: usize,
    /// Voxels the last edit changed.
    pub changed: usize,
    /// Milliseconds the last edit took in the worker.
    pub edit_ms: f64,
}

/// A segment's surface as the 3D view needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSurfaceSummary {
    /// Its label (0: the crop box's frame).
    pub label: u8,
    /// Its colour (sRGB).
    pub color: [u8; 3],
    /// Triangles, vertices, watertightness, bounds.
    pub facts: SurfaceFacts,
    /// Milliseconds to make it.
    pub made_ms: f64,
}

/// A series in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// Index to load it by.
    pub index: usize,
    /// Modality.
    pub modality: Modality,
    /// SeriesDescription (memory only).
    pub description: String,
    /// Columns, rows, slices.
    pub dims: [u32; 3],
    /// mm.
    pub spacing_mm: [f64; 3],
    /// Gantry tilt in degrees.
    pub tilt_degrees: f64,
    /// Everything odd about it.
    pub warnings: Vec<Warning>,
}

/// What the cache did for a load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheOutcome {
    /// Read from the cache, not decoded.
    Hit,
    /// Decoded; being written to the cache.
    Miss,
    /// Decoded as it was read (an uncompressed series, faster than reading
    /// the cache back); the cache already holds it, and its segments and
    /// surfaces come back from there.
    AlreadyKept,
    /// The user keeps nothing on this computer.
    Off,
    /// Nothing to cache (the demo).
    NotApplicable,
    /// A volume opened from the cache by its files' stamp was not what
    /// the files hold (changed in place, their times kept): decoded from
    /// them instead.
    FilesChanged,
    /// A damaged entry was dropped and the series decoded again.
    Rebuilt {
        /// What was damaged.
        damage: String,
    },
    /// The cache could not be opened; decoded without it.
    Unavailable(StoreError),
}

impl CacheOutcome {
    /// A word for tests and styles (`data-cache`).
    pub fn word(&self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::AlreadyKept => "kept",
            Self::Off => "off",
            Self::NotApplicable => "none",
            Self::FilesChanged => "changed",
            Self::Rebuilt { .. } => "rebuilt",
            Self::Unavailable(_) => "unavailable",
        }
    }
}

/// How writing a volume to the cache went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheWrite {
    /// It is in the cache.
    Stored,
    /// It could not be written (and what was begun was removed).
    Failed(StoreError),
}

/// The loaded volume, as the UI needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeSummary {
    /// Series index (None for the demo or a volume from the cache).
    pub series: Option<usize>,
    /// Display title.
    pub title: String,
    /// Modality.
    pub modality: Modality,
    /// Columns, rows, slices.
    pub dims: [u32; 3],
    /// mm.
    pub spacing_mm: [f64; 3],
    /// World bounds of the voxel centres (low, high), LPS mm.
    pub bounds: ([f64; 3], [f64; 3]),
    /// Everything odd about it.
    pub warnings: Vec<Warning>,
    /// Smallest and largest value.
    pub value_range: (f32, f32),
    /// Milliseconds from request to ready.
    pub load_ms: f64,
    /// When the worker made it ready (`Date.now()`, one clock for the
    /// page and its workers), so the page times the reply's way to it.
    pub ready_at_ms: f64,
    /// Decoder workers that decoded it in parallel (0: decoded in the
    /// study worker itself, or not decoded at all).
    pub decoders: usize,
    /// Those decoders' wasm heaps at their largest, added up (bytes): what
    /// decoding on them cost beside the study worker's heap.
    pub decoder_heap_bytes: f64,
    /// What the cache did.
    pub cache: CacheOutcome,
    /// Voxel index → patient mm (column-major), for tools that map the
    /// mouse to voxels (the crop box's edges).
    pub voxel_to_world: [f64; 16],
}

/// Who resliced the 2D views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawnOn {
    /// The worker's GPU.
    Gpu(AdapterSummary),
    /// The CPU, and why.
    Cpu(CpuReason),
}

/// Where a surface came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MadeOn {
    /// Marching cubes on the worker's GPU.
    Gpu(AdapterSummary),
    /// Marching cubes on the CPU, and why there.
    Cpu(CpuReason),
    /// Read back from the cache on this computer.
    Cache {
        /// When it was first made and cached (ms since 1970).
        cached_at_ms: f64,
    },
}

/// A surface's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurfaceSummary {
    /// Triangles, vertices, watertightness, bounds.
    pub facts: SurfaceFacts,
    /// Where it was made.
    pub made_on: MadeOn,
    /// Extraction time, ms.
    pub extract_ms: f64,
    /// Clean-up time, ms.
    pub cleanup_ms: f64,
    /// Options used.
    pub options: SurfaceOptions,
    /// Triangles of the lighter copy drawn in the 3D view when the surface
    /// is too large to draw whole (`insitu_mesh::preview`); `None`: drawn
    /// whole. Exports and checks use the whole surface either way.
    #[serde(default)]
    pub drawn_triangles: Option<usize>,
}

/// Page or study worker → decoder worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecoderRequest {
    /// From the page that started it, answering its `Ready`: the port
    /// (beside this) on which the study worker sends its jobs.
    Connect,
    /// Decode a job; its files' `File` handles travel beside it.
    Decode {
        /// The job.
        job: insitu_volume::DecodeJob,
    },
    /// A buffer of samples the study worker has copied, transferred back
    /// beside this for the decoder's next reply: a series decoded in many
    /// jobs then costs each decoder a buffer or two, not one per job left
    /// for the collector.
    Recycle,
}

/// Decoder worker → page (`Ready`) or study worker (the rest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecoderReply {
    /// Started (to the page): it may connect it.
    Ready,
    /// The job's samples (transferred beside it, in job order).
    Decoded {
        /// What failed.
        outcome: insitu_volume::JobOutcome,
        /// The decoder's wasm heap (bytes) after the job: its largest yet.
        heap_bytes: f64,
    },
}

/// What made a spine report: the panel says it, so that a list restored
/// from the cache is not mistaken for one the user edited.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum SpineCause {
    /// The analysis ran, taking `ms` in the worker.
    Analysed {
        /// Milliseconds in the worker.
        ms: f64,
    },
    /// The names were moved by a level.
    Renamed,
    /// Vertebrae were merged or split, or their labels edited by hand.
    Revised,
    /// A body's height line was placed by hand.
    HeightPlaced,
    /// A body's lines placed by hand were dropped, its heights measured
    /// again.
    HeightsMeasured,
    /// Reopened with its segments from this computer, measured again.
    Reopened,
}

impl SpineCause {
    /// Its name in the page's `data-cause`, for tests and scripts.
    pub fn name(self) -> &'static str {
        match self {
            Self::Analysed { .. } => "analysed",
            Self::Renamed => "renamed",
            Self::Revised => "revised",
            Self::HeightPlaced => "height-placed",
            Self::HeightsMeasured => "heights-measured",
            Self::Reopened => "reopened",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_files_list_the_broken_ones_first_and_at_most_a_few_hundred() {
        let not_dicom = |n: usize| {
            FileError::new(
                format!("note-{n}.txt"),
                Problem::NotDicom("too short".into()),
            )
        };
        let mut skipped: Vec<FileError> = (0..2400).map(not_dicom).collect();
        skipped.insert(
            1000,
            FileError::new(
                "slice-7.dcm",
                Problem::Parse("ends inside an element".into()),
            ),
        );
        let listed = Skipped::of(&skipped);
        assert_eq!(listed.in_all, 2401);
        assert_eq!(listed.listed.len(), SKIPPED_LISTED);
        assert_eq!(listed.listed[0].file, "slice-7.dcm");
        assert_eq!(listed.listed[1].file, "note-0.txt");
        let few = Skipped::of(&skipped[..3]);
        assert_eq!((few.in_all, few.listed.len()), (3, 3));
    }

    #[test]
    fn failures_read_as_the_user_reads_them() {
        let during = Task::MakingASurface;
        assert_eq!(
            format!("Failed while {during}: {}", Failure::NoVolume),
            "Failed while making a surface: open a study first"
        );
        let store = StoreError::BlockedByOlderTab;
        assert!(
            Failure::CacheRefused(store)
                .to_string()
                .contains("another insitu tab holds an older version")
        );
    }

    #[test]
    fn only_redraws_and_readouts_supersede_each_other() {
        assert!(
            Request::Render {
                views: vec![],
                overlay: Default::default()
            }
            .supersedes_its_kind()
        );
        assert!(
            Request::Probe {
                axis: ViewAxis::Axial,
                world: [0.0; 3]
            }
            .supersedes_its_kind()
        );
        assert!(
            !Request::Demo {
                variant: Default::default()
            }
            .supersedes_its_kind()
        );
        assert!(!Request::Surface(SurfaceOptions::at_iso(300.0)).supersedes_its_kind());
    }

    #[test]
    fn segment_spine_and_measure_requests_survive_the_wire() {
        use insitu_segment::Islands;
        for request in [
            Request::Edit(Edit::Islands(Islands::Split)),
            Request::Edit(Edit::Add { anatomy: None }),
            Request::Edit(Edit::Undo),
            Request::ExportSegments(SegmentExport::ActiveStl),
            Request::ExportSegments(SegmentExport::Model(PartsFormat::Glb)),
            Request::ToolAt {
                world: [1.0, 2.0, 3.0],
                tool: ClickTool::KeepPiece,
            },
            Request::Measure {
                shape: insitu_measure::Shape::Distance {
                    a: [0.0; 3],
                    b: [1.0, 2.0, 3.0],
                },
            },
            Request::FindSpine {
                if_unlabelled: true,
            },
            Request::ShiftLevels { by: -1 },
            Request::ReviseSpine(insitu_spine::Revision::MergeWithBelow { label: 20 }),
            Request::ReviseSpine(insitu_spine::Revision::SplitAt {
                point: [1.0, -2.0, 3.5],
            }),
            Request::SplitVertebraAlong {
                origin: [0.0, -500.0, 100.0],
                direction: [0.0, 1.0, 0.0],
            },
            Request::ExportMeasurements(MeasurementsFormat::Csv),
            Request::ExportSpine(insitu_spine::ReportFormat::Csv),
            Request::ReviseSpine(insitu_spine::Revision::SetHeight {
                label: 20,
                at: insitu_spine::HeightAt::Anterior,
                line: insitu_spine::HeightLine {
                    from: glam::DVec3::new(1.0, -30.0, 10.0),
                    to: glam::DVec3::new(1.0, -31.0, 36.5),
                },
            }),
        ] {
            let json = serde_json::to_string(&request).unwrap();
            assert_eq!(
                serde_json::from_str::<Request>(&json).unwrap(),
                request,
                "{json}"
            );
        }
    }

    /// A folder sent in parts: the `Open` names its opening and how many
    /// files it has; an `Open` without them (an older page) has its files
    /// all attached.
    #[test]
    fn an_opening_sent_in_parts_survives_the_wire() {
        for request in [
            Request::Open {
                chosen_at_ms: Some(1.5),
                opening: 3,
                files_in_all: Some(300),
            },
            Request::MoreFiles {
                opening: 3,
                files_in_all: Some(299),
            },
        ] {
            let json = serde_json::to_string(&request).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), request);
        }
        let bare: Request = serde_json::from_str(r#"{"kind":"open"}"#).unwrap();
        assert_eq!(
            bare,
            Request::Open {
                chosen_at_ms: None,
                opening: 0,
                files_in_all: None,
            }
        );
        assert!(
            !Request::MoreFiles {
                opening: 1,
                files_in_all: None
            }
            .is_cancellable()
        );
    }

    #[test]
    fn decoder_requests_survive_the_wire() {
        let job = insitu_volume::DecodeJob {
            files: vec![3, 4],
            slices: vec![Vec::new(), Vec::new()],
            frame_len: 512 * 512,
            padding_output: -1024.0,
            invert: false,
            float: false,
        };
        for request in [DecoderRequest::Decode { job }, DecoderRequest::Recycle] {
            let json = serde_json::to_string(&request).unwrap();
            assert_eq!(
                serde_json::from_str::<DecoderRequest>(&json).unwrap(),
                request,
                "{json}"
            );
        }
    }

    #[test]
    fn cache_outcomes_have_one_word_each() {
        let words: Vec<&str> = [
            CacheOutcome::Hit,
            CacheOutcome::Miss,
            CacheOutcome::Off,
            CacheOutcome::NotApplicable,
            CacheOutcome::Rebuilt { damage: "x".into() },
            CacheOutcome::Unavailable(StoreError::QuotaFull),
            CacheOutcome::AlreadyKept,
            CacheOutcome::FilesChanged,
        ]
        .iter()
        .map(CacheOutcome::word)
        .collect();
        assert_eq!(
            words,
            [
                "hit",
                "miss",
                "off",
                "none",
                "rebuilt",
                "unavailable",
                "kept",
                "changed"
            ]
        );
    }

    #[test]
    fn only_loads_replace_the_study() {
        let replacing = [
            Request::LoadSeries { index: 0 },
            Request::Demo {
                variant: Default::default(),
            },
            Request::OpenCached {
                key: "k".into(),
                clicked_at_ms: None,
            },
        ];
        assert!(replacing.iter().all(Request::replaces_the_study));
        let beside = [
            Request::SegmentSurfaces,
            Request::FindSpine {
                if_unlabelled: false,
            },
            Request::Tags { series: 0 },
        ];
        assert!(!beside.iter().any(Request::replaces_the_study));
    }
}
