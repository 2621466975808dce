//! Cache writes, and the volume's copy to the GPU for the 2D views, run
//! when the worker is idle: after `Loaded` the user waits for the 2D views
//! and the surface, not for IndexedDB nor the GPU's copy, so these are done
//! once nothing else is asked for (the copy first). Each job knows the study generation it belongs to: a volume
//! is cached even when another is open by then, but it becomes the loaded
//! volume's key only if it still is the loaded one, and a surface or
//! segments of a volume no longer open are not written.

use std::collections::VecDeque;
use std::rc::Rc;

use insitu_mesh::{Mesh, SurfaceFacts, SurfaceOptions};
use insitu_store::Store;
use insitu_volume::{Modality, Volume};

use super::{Worker, post};
use crate::envelope::Attachments;
use crate::protocol::Reply;

/// Quiet time before an idle worker starts a write: the UI's next request
/// (the views after `Loaded`, the surface after the views) comes first.
pub const QUIET_MS: i32 = 150;

/// A write waiting for the worker to be idle.
pub enum Later {
    /// The loaded volume, under its content key.
    Volume {
        store: Rc<Store>,
        key: String,
        volume: Rc<Volume>,
        modality: Modality,
        value_range: (f32, f32),
        generation: u64,
    },
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
    /// on the CPU until then).
    SliceVolume { generation: u64 },
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
        if let Later::SliceVolume { generation } = job
            && self
                .waiting
                .iter()
                .any(|w| matches!(w, Later::SliceVolume { generation: g } if *g == generation))
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
        Later::Volume {
            store,
            key,
            volume,
            modality,
            value_range,
            generation,
        } => {
            worker.laps.borrow_mut().restart();
            let write = worker
                .cache
                .write_volume(&store, &key, &volume, modality, value_range)
                .await;
            worker.laps.borrow_mut().lap("cache write");
            worker.laps.borrow().log("volume cached");
            if generation == worker.study.borrow().volume_generation() {
                if write == crate::protocol::CacheWrite::Stored {
                    worker.cache.set_volume_key(Some(key));
                }
                post(&Reply::CacheUpdate(write), Attachments::default());
            }
        }
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
        Later::SliceVolume { generation } if generation == current => {
            super::views::upload(worker, generation).await;
        }
        Later::Surface { .. } | Later::Segments { .. } | Later::SliceVolume { .. } => {}
    }
}
