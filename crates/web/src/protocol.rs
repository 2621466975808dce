//! Messages between the UI thread and the study worker. Serialised with
//! serde-wasm-bindgen; large payloads (pixels, meshes, files) travel beside
//! them as transferred `ArrayBuffer`s, never copied.

use serde::{Deserialize, Serialize};

use insitu_volume::reslice::{Plane, ViewAxis};

/// UI thread → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Read and scan the `File`s sent beside the message, then load the
    /// largest series.
    Open,
    /// Build the synthetic demo spine and load it.
    Demo,
    /// Build series `index` of the last scan.
    LoadSeries {
        /// Index in the scan's series list.
        index: usize,
    },
    /// Sample and window the given views.
    Render {
        /// One entry per view to draw.
        views: Vec<ViewRequest>,
    },
    /// HU at a world point (cursor readout).
    Probe {
        /// View the cursor is over (echoed back).
        axis: ViewAxis,
        /// LPS mm.
        world: [f64; 3],
    },
    /// Extract the iso-surface with clean-up.
    Surface(SurfaceRequest),
    /// Serialise the current surface.
    Export {
        /// "stl", "obj" or "ply".
        format: String,
    },
    /// The 8-bit copy of the volume for volume rendering, asked for the
    /// first time a volume mode is shown (most loads never need it).
    VolumeTexture,
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
    },
    /// Whether derived data may be kept on this computer (the user's
    /// "keep nothing" setting, also given in the worker's name at start).
    SetCache {
        /// Cache volumes and meshes in IndexedDB.
        keep: bool,
    },
}

/// Surface options chosen in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurfaceRequest {
    /// Iso level in HU.
    pub iso: f32,
    /// Keep only the largest piece.
    pub largest: bool,
    /// Drop pieces with fewer triangles than this (None: keep all).
    pub min_island: Option<usize>,
    /// Taubin iterations (0: none).
    pub smooth: usize,
    /// Triangle budget (None: keep all).
    pub decimate: Option<usize>,
    /// Where marching cubes runs.
    pub engine: Engine,
}

/// Where marching cubes runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// WebGPU on a hardware adapter, else the CPU (a software GPU is slower).
    Auto,
    /// WebGPU whatever the adapter (CPU only when there is none).
    Gpu,
    /// The CPU.
    Cpu,
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

/// Worker → UI thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// The worker listens: messages posted before this could be lost (its
    /// handler is installed only once the wasm module has started).
    Ready,
    /// Work under way.
    Progress {
        /// "reading", "scanning", "decoding", "meshing"…
        phase: String,
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
        skipped: Vec<SkippedFile>,
        /// Files read.
        files: usize,
    },
    /// A volume is ready.
    Loaded(VolumeSummary),
    /// The loaded volume was written to the cache ("stored"), or could not
    /// be ("failed", with why: quota, say); the app works on without it.
    CacheUpdate {
        /// "stored" or "failed".
        state: String,
        /// Why it failed, for the user.
        note: String,
    },
    /// A load was cancelled; the study open before it (if any) is kept.
    Cancelled {
        /// A volume is still loaded.
        still_open: bool,
    },
    /// Windowed RGBA pixels, one transferred buffer per view, in order.
    Rendered {
        /// The views drawn, matching the buffers.
        views: Vec<ViewRequest>,
        /// Who resliced them, short: "GPU · WebGPU", "GPU · WebGL2", "CPU".
        engine: String,
        /// The adapter in full, or why not the GPU.
        engine_detail: String,
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
    /// File bytes transferred beside it.
    Exported {
        /// Suggested download name.
        file_name: String,
        /// MIME type.
        mime: String,
    },
    /// The 8-bit copy of the volume for volume rendering (`insitu_gpu::hu_to_byte`
    /// per voxel, transferred beside it), at most 256 voxels per axis.
    VolumeTexture {
        /// Voxels per axis.
        dims: [u32; 3],
        /// Voxel centre → patient mm, column-major.
        voxel_to_world: [f64; 16],
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
        during: String,
        /// Why, naming the file where there is one.
        message: String,
    },
}

/// A series in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// Index to load it by.
    pub index: usize,
    /// Modality.
    pub modality: String,
    /// SeriesDescription (memory only).
    pub description: String,
    /// Columns, rows, slices.
    pub dims: [u32; 3],
    /// mm.
    pub spacing_mm: [f64; 3],
    /// Gantry tilt in degrees.
    pub tilt_degrees: f64,
    /// Warnings as sentences.
    pub warnings: Vec<String>,
}

/// A file that contributed nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// File name.
    pub file: String,
    /// Why.
    pub reason: String,
}

/// The loaded volume, as the UI needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeSummary {
    /// Series index (None for the demo).
    pub series: Option<usize>,
    /// Display title.
    pub title: String,
    /// Modality.
    pub modality: String,
    /// Columns, rows, slices.
    pub dims: [u32; 3],
    /// mm.
    pub spacing_mm: [f64; 3],
    /// World bounds of the voxel centres (low, high), LPS mm.
    pub bounds: ([f64; 3], [f64; 3]),
    /// Warnings as sentences.
    pub warnings: Vec<String>,
    /// Smallest and largest value.
    pub value_range: (f32, f32),
    /// Milliseconds from request to ready.
    pub load_ms: f64,
    /// Decoder workers that decoded it in parallel (0: decoded in the
    /// study worker itself, or not decoded at all, as the demo).
    pub decoders: usize,
    /// The cache: "hit" (read from it, not decoded), "miss" (decoded; being
    /// stored), "off" (keep nothing), "none" (the demo), or "rebuilt: why"
    /// (a damaged entry was dropped and decoded again).
    pub cache: String,
}

/// A surface's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurfaceSummary {
    /// Triangles.
    pub triangles: usize,
    /// Vertices.
    pub vertices: usize,
    /// Closed 2-manifold.
    pub watertight: bool,
    /// Where marching cubes ran, and why there.
    pub engine: String,
    /// Extraction time, ms.
    pub extract_ms: f64,
    /// Clean-up time, ms.
    pub cleanup_ms: f64,
    /// Options used.
    pub request: SurfaceRequest,
    /// World bounds (low, high) of the surface.
    pub bounds: ([f32; 3], [f32; 3]),
}

/// Decoder worker → study worker. The job itself goes the other way as a
/// serialised [`insitu_volume::DecodeJob`], its files' bytes transferred
/// beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecoderReply {
    /// Started; jobs may be sent.
    Ready,
    /// The job's samples (transferred beside it, in job order) and what failed.
    Decoded(insitu_volume::JobOutcome),
}
