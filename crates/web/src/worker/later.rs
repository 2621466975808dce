//! Cache writes, and the volume's copy to the GPU for the 2D views, run
//! when the worker is idle: after `Loaded` the user waits for the 2D views
//! and the surface, not for IndexedDB nor the GPU's copy, so these are done
//! once nothing else is asked for (the copy first). A volume's write and
//! its copy to the GPU (16 MB a step; seconds for a large one) stop between
//! steps when a request comes, and go on once the worker is idle again.
//! Each job knows the study generation it belongs to: a volume no longer
//! held by the study (another replaced it) is not written on (its memory is
//! given back, not kept for the write; what was written of it is removed),
//! and a surface or segments of a volume no longer open are not written.

use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use insitu_gpu::SliceUpload;
use insitu_mesh::{Mesh, SurfaceFacts, SurfaceOptions};
use insitu_store::{Store, VolumeWrite};
use insitu_volume::{Modality, Volume};

use super::cache::Cache;
use super::{Worker, now_ms, post};
use crate::cache::after_write;
use crate::envelope::Attachments;
use crate::protocol::CacheWrite;
use crate::protocol::Reply;

/// Quiet time before an idle worker starts a write: the UI's next request
/// (the views after `Loaded`, the surface after the views) comes first.
pub const QUIET_MS: i32 = 150;

/// A write waiting for the worker to be idle.
pub enum Later {
    /// The loaded volume, under its content key.
    Volume(VolumeJob),
    /// A surface of the volume of `generation`.
    Surface {
        mesh: Rc<Mesh>,
        facts: SurfaceFacts,
        options: SurfaceOptions,
        generation: u64,
    },
    /// The segments and measurements of the volume of `generation`, as they
    /// are when the write runs.
    Segments { generation: u64 },
    /// The volume of `generation` copied to the GPU for the 2D views (drawn
    /// on the CPU until then); once begun, with its texture part filled.
    SliceVolume {
        generation: u64,
        begun: Option<SliceCopy>,
    },
}

/// A volume's copy to the GPU under way: the texture part filled, the
/// milliseconds its slabs took so far and how often it stopped for a
/// request.
pub struct SliceCopy {
    pub upload: SliceUpload,
    pub spent_ms: f64,
    pub stops: u32,
}

/// A volume to write under its content key, a step at a time.
pub struct VolumeJob {
    /// Where it goes.
    pub store: Rc<Store>,
    /// Its content key.
    pub key: String,
    /// Held weakly: a volume the study let go of is not kept for its write.
    pub volume: Weak<Volume>,
    /// For its record.
    pub modality: Modality,
    /// For its record: smallest and largest value.
    pub value_range: (f32, f32),
    /// For its record: the files it came from.
    pub files_stamp: Option<insitu_store::FilesStamp>,
    /// The study generation it was loaded as.
    pub generation: u64,
    /// Once begun: the write, the milliseconds its steps took so far and
    /// how often it stopped for a request.
    pub write: Option<(VolumeWrite, f64, u32)>,
}

/// Writes in the order they were asked for; segments once however often
/// they changed meanwhile.
#[derive(Default)]
pub struct Deferred {
    waiting: VecDeque<Later>,
}

impl Deferred {
    /// Adds a write at the back (segments already waiting are not added
    /// again: the write takes them as they are when it runs).
    pub fn push(&mut self, job: Later) {
        let waiting_segments = |g: u64| {
            self.waiting
                .iter()
                .any(|w| matches!(w, Later::Segments { generation } if *generation == g))
        };
        if let Later::Segments { generation } = job
            && waiting_segments(generation)
        {
            return;
        }
        self.waiting.push_back(job);
    }

    /// Adds a job at the front, unless it waits already.
    pub fn first(&mut self, job: Later) {
        if let Later::SliceVolume { generation, .. } = job
            && self
                .waiting
                .iter()
                .any(|w| matches!(w, Later::SliceVolume { generation: g, .. } if *g == generation))
        {
            return;
        }
        self.waiting.push_front(job);
    }

    /// The next job.
    pub fn take_next(&mut self) -> Option<Later> {
        self.waiting.pop_front()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Runs one deferred job.
pub async fn run(worker: &Worker, job: Later) {
    let current = worker.study.borrow().volume_generation();
    match job {
        Later::Volume(job) => write_volume(worker, job).await,
        Later::Surface {
            mesh,
            facts,
            options,
            generation,
        } if generation == current => {
            worker.cache.write_surface(&mesh, &facts, options).await;
        }
        Later::Segments { generation } if generation == current => {
            super::segments::keep(worker).await;
        }
        Later::SliceVolume { generation, begun } if generation == current => {
            super::views::upload(worker, generation, begun).await;
        }
        Later::Surface { .. } | Later::Segments { .. } | Later::SliceVolume { .. } => {}
    }
}

/// Logs a job done in steps between requests: `what` took `spent_ms` in
/// its steps, and stopped `stops` times for a request (tests read it).
pub fn log_stepped(what: &str, spent_ms: f64, stops: u32) {
    let heap_mb = super::heap_bytes() / 1e6;
    web_sys::console::info_1(
        &format!(
            "insitu timings: {what} {spent_ms:.0} ms (stops for requests: {stops}) · \
             heap {heap_mb:.1} MB"
        )
        .into(),
    );
}

/// A volume's write ended with `outcome`: it becomes the loaded volume's
/// key if it is still the loaded one and was stored, and the UI is told.
fn post_volume_write(worker: &Worker, job: &VolumeJob, outcome: CacheWrite) {
    if job.generation == worker.study.borrow().volume_generation() {
        if outcome == CacheWrite::Stored {
            worker.cache.set_volume_key(Some(job.key.clone()));
        }
        post(&Reply::CacheUpdate(outcome), Attachments::default());
    }
}

/// Keeps the first views drawn of `job`'s volume beside it, once it is
/// stored. Without them a re-drop waits for the voxels to show anything;
/// a write the browser refuses loses only that.
async fn keep_opening_views(worker: &Worker, job: &VolumeJob) {
    let bytes = worker
        .opening
        .borrow()
        .as_ref()
        .and_then(|opening| opening.bytes_of(job.generation));
    if let Some(bytes) = bytes
        && let Err(e) = job.store.put_opening_views(&job.key, &bytes).await
    {
        web_sys::console::warn_1(&format!("insitu: opening views not kept: {e}").into());
    }
}

/// Writes `job`'s volume a step at a time; when a request waits, puts the
/// job back at the front of the idle jobs, with its progress, and returns.
async fn write_volume(worker: &Worker, mut job: VolumeJob) {
    let Some(held) = job.volume.upgrade() else {
        // Replaced before it was written: what was begun goes.
        if job.write.is_some() {
            let _ = job.store.delete_volume(&job.key).await;
        }
        return;
    };
    let (mut write, mut spent_ms, stops) = match job.write.take() {
        Some(begun) => begun,
        None => match Cache::begin_volume_write(
            &job.key,
            &held,
            job.modality,
            job.value_range,
            job.files_stamp,
        ) {
            Ok(write) => (write, 0.0, 0),
            Err(e) => return post_volume_write(worker, &job, after_write(Err(e)).0),
        },
    };
    loop {
        let started = now_ms();
        let step = Cache::write_volume_step(&job.store, &mut write, &held).await;
        spent_ms += now_ms() - started;
        if let Some(outcome) = step {
            log_stepped("volume cached: cache write", spent_ms, stops);
            if outcome == CacheWrite::Stored {
                keep_opening_views(worker, &job).await;
            }
            return post_volume_write(worker, &job, outcome);
        }
        if let Some(ms) =
            crate::decoders::setting("cache-step-ms").and_then(|ms| ms.parse::<i32>().ok())
        {
            // (A request ends the wait, as it would end a step.)
            super::wait_for_a_request(worker, ms).await;
        }
        if !worker.queue.borrow().is_empty() {
            // A request waits: it goes first, the write after.
            job.write = Some((write, spent_ms, stops + 1));
            worker.later.borrow_mut().first(Later::Volume(job));
            return;
        }
    }
}
