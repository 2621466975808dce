//! The worker's side of the cache: the IndexedDB store (opened on first
//! use), the user's "keep nothing" setting, the key of the loaded volume,
//! and reading and writing volumes and surfaces. What to do with each
//! answer is decided in [`crate::cache`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use insitu_mesh::{Mesh, SurfaceFacts, SurfaceOptions};
use insitu_segment::{Labelmap, SegmentTable};
use insitu_store::{
    FilesStamp, MeshRecord, SegmentsRecord, Store, StoreError, VolumeRecord, VolumeWrite,
    VoxelKind, voxel_bytes,
};
use insitu_volume::{Modality, Volume, Voxels};

use crate::cache::{DATABASE, after_write};
use crate::laps::Laps;
use crate::protocol::{CacheOutcome, CacheWrite};

/// A volume read back from the cache, with what its record knew.
pub struct CachedVolume {
    /// The voxels and geometry.
    pub volume: Volume,
    /// Smallest and largest value.
    pub value_range: (f32, f32),
    /// Modality.
    pub modality: Modality,
}

/// A surface read back from the cache.
pub struct CachedSurface {
    /// The mesh.
    pub mesh: Mesh,
    /// Its facts (from the record: not measured again).
    pub facts: SurfaceFacts,
    /// When it was first cached.
    pub cached_at_ms: f64,
}

/// Cache state of the study worker.
#[derive(Default)]
pub struct Cache {
    /// The database, once opened (or why it could not be).
    store: RefCell<Option<Result<Rc<Store>, StoreError>>>,
    /// The user's "keep nothing on this computer" setting.
    keep_nothing: Cell<bool>,
    /// Content key of the loaded volume once it is in the cache.
    volume_key: RefCell<Option<String>>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Cache {
    /// A cache that keeps nothing when `keep_nothing`.
    pub fn new(keep_nothing: bool) -> Self {
        let cache = Self::default();
        cache.keep_nothing.set(keep_nothing);
        cache
    }

    /// Follows the user's setting from now on.
    pub fn set_keep(&self, keep: bool) {
        self.keep_nothing.set(!keep);
    }

    /// Whether the user keeps nothing on this computer.
    pub fn keeps_nothing(&self) -> bool {
        self.keep_nothing.get()
    }

    /// The key of the loaded volume, when it is in the cache.
    pub fn volume_key(&self) -> Option<String> {
        self.volume_key.borrow().clone()
    }

    /// Records which cached volume is loaded (`None`: not cached).
    pub fn set_volume_key(&self, key: Option<String>) {
        *self.volume_key.borrow_mut() = key;
    }

    /// The database, unless the user keeps nothing (`Off`) or IndexedDB
    /// refuses (`Unavailable`, with why; tried again next time: an older
    /// tab that blocked the upgrade may have been closed since).
    pub async fn store(&self) -> Result<Rc<Store>, CacheOutcome> {
        if self.keep_nothing.get() {
            return Err(CacheOutcome::Off);
        }
        let known = self.store.borrow().clone();
        let opened = match known {
            Some(Ok(store)) => return Ok(store),
            _ => Store::open(DATABASE).await.map(Rc::new),
        };
        if let Err(e) = &opened {
            web_sys::console::warn_1(&format!("insitu: no cache: {e}").into());
        }
        *self.store.borrow_mut() = Some(opened.clone());
        opened.map_err(CacheOutcome::Unavailable)
    }

    /// The cached volume of `key`, read straight into a new voxel buffer
    /// with every chunk's checksum checked.
    pub async fn volume(
        store: &Store,
        key: &str,
        laps: &RefCell<Laps>,
    ) -> Result<Option<CachedVolume>, StoreError> {
        let Some(record) = store.volume_record(key).await? else {
            return Ok(None);
        };
        laps.borrow_mut().lap("cache record");
        Self::volume_of(store, key, record, laps).await.map(Some)
    }

    /// The cached volume of `key` whose record is in hand (the stamp's
    /// lookup read it): its voxels read as [`Cache::volume`] reads them.
    pub async fn volume_of(
        store: &Store,
        key: &str,
        record: VolumeRecord,
        laps: &RefCell<Laps>,
    ) -> Result<CachedVolume, StoreError> {
        let voxels = match record.voxel {
            VoxelKind::I16 => store.read_voxels(key, &record).await.map(Voxels::I16),
            VoxelKind::F32 => store.read_voxels(key, &record).await.map(Voxels::F32),
        }?;
        laps.borrow_mut().lap("cache voxels");
        Ok(CachedVolume {
            volume: record.volume(voxels)?,
            value_range: record.value_range,
            modality: record.modality,
        })
    }

    /// Begins writing `volume` under `key` ([`Cache::write_volume_step`]),
    /// found again by `files_stamp` when its files are dropped again.
    pub fn begin_volume_write(
        key: &str,
        volume: &Volume,
        modality: Modality,
        value_range: (f32, f32),
        files_stamp: Option<FilesStamp>,
    ) -> Result<VolumeWrite, StoreError> {
        let mut record = VolumeRecord::of(volume, modality, value_range, now_ms());
        record.files_stamp = files_stamp;
        VolumeWrite::new(key, record, voxel_bytes(volume.voxels()))
    }

    /// Writes the next chunk of `volume` (or its record, last); `None`
    /// while chunks remain, else how the write ended. What was begun is
    /// removed when the browser refuses. The caller makes it the loaded
    /// volume's key.
    pub async fn write_volume_step(
        store: &Store,
        write: &mut VolumeWrite,
        volume: &Volume,
    ) -> Option<CacheWrite> {
        let written = match write.step(store, voxel_bytes(volume.voxels())).await {
            Ok(false) => return None,
            Ok(true) => Ok(()),
            Err(e) => Err(e),
        };
        let (outcome, remove) = after_write(written);
        if remove {
            let _ = store.delete_volume(write.key()).await;
        }
        Some(outcome)
    }

    /// The surface `options` make of the loaded volume, if it was cached.
    pub async fn surface(&self, options: &SurfaceOptions) -> Option<CachedSurface> {
        let key = self.volume_key()?;
        let store = self.store().await.ok()?;
        let found = store.mesh(&key, options).await.unwrap_or_else(|e| {
            web_sys::console::warn_1(&format!("insitu: cached surface dropped: {e}").into());
            None
        });
        let (record, positions, normals, indices) = found?;
        let mesh = Mesh::from_flat_vecs(positions, normals, indices);
        let facts = SurfaceFacts::of(&mesh, Some(record.watertight));
        Some(CachedSurface {
            mesh,
            facts,
            cached_at_ms: record.cached_at_ms,
        })
    }

    /// Caches a surface of the loaded volume (when the volume is cached).
    pub async fn write_surface(&self, mesh: &Mesh, facts: &SurfaceFacts, options: SurfaceOptions) {
        let Some(key) = self.volume_key() else {
            return;
        };
        let Ok(store) = self.store().await else {
            return;
        };
        let record = MeshRecord {
            schema: insitu_store::SCHEMA_VERSION,
            options,
            triangles: facts.triangles,
            vertices: facts.vertices,
            watertight: facts.watertight.unwrap_or(false),
            hash: String::new(),
            cached_at_ms: now_ms(),
        };
        let (positions, normals, indices) = mesh.flat();
        if let Err(e) = store
            .put_mesh(&key, record, positions, normals, indices)
            .await
        {
            web_sys::console::warn_1(&format!("insitu: surface not cached: {e}").into());
        }
    }

    /// Keeps the loaded volume's segments (when the volume is cached); no
    /// segment left: nothing is kept. Whether they were written.
    pub async fn write_segments(&self, record: &SegmentsRecord, coded: &[u8]) -> bool {
        let Some(key) = self.volume_key() else {
            return false;
        };
        let Ok(store) = self.store().await else {
            return false;
        };
        let written = if record.segments.is_empty() && record.measurements.is_empty() {
            store.delete_segments(&key).await
        } else {
            store.put_segments(&key, record, coded).await
        };
        if let Err(e) = &written {
            web_sys::console::warn_1(&format!("insitu: segments not kept: {e}").into());
        }
        written.is_ok()
    }

    /// The segments, measurements and spine reading kept for the loaded
    /// volume, checked; a damaged entry is dropped (and said in the
    /// console), never used.
    pub async fn segments(&self) -> Option<KeptSegments> {
        let key = self.volume_key()?;
        let store = self.store().await.ok()?;
        let (record, coded) = match store.segments(&key).await {
            Ok(found) => found?,
            Err(e) => {
                web_sys::console::warn_1(&format!("insitu: segments not read: {e}").into());
                return None;
            }
        };
        match record.restore(&coded) {
            Ok((map, table)) => Some(KeptSegments {
                map,
                table,
                shapes: record.measurements,
                spine: record.spine,
            }),
            Err(e) => {
                web_sys::console::warn_1(&format!("insitu: segments dropped: {e}").into());
                let _ = store.delete_segments(&key).await;
                None
            }
        }
    }
}

/// What the cache kept beside a volume: its segments, its measurements
/// and, where the segments are a spine analysis's, how it was read.
pub struct KeptSegments {
    pub map: Labelmap,
    pub table: SegmentTable,
    pub shapes: Vec<insitu_measure::Shape>,
    pub spine: Option<insitu_spine::SpineReading>,
}
