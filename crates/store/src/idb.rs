//! The IndexedDB store (rexie): `volumes` (a record per content key, as
//! JSON), `voxel_chunks` (Blob chunks, `key#n`) and `meshes` (a record plus
//! its arrays, `volume key|options`) and `segments` (a record plus the
//! run-length coded labels, keyed by the volume's key). Opening a database of an older
//! version drops the stores it no longer has; an entry of an older schema is
//! never read, and listing the volumes removes it.

use js_sys::{Float32Array, Object, Promise, Reflect, Uint8Array, Uint32Array};
use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::opfs::{VoxelFileWrite, VoxelFiles};
use crate::record::{
    CHUNK_BYTES, MeshRecord, SCHEMA_VERSION, VolumeRecord, VoxelPlace, checksum, checksum_text,
};
use crate::wait::answered_within;
use crate::{FilesStamp, SegmentsRecord, StoreError};

const VOLUMES: &str = "volumes";
const CHUNKS: &str = "voxel_chunks";
const MESHES: &str = "meshes";
const SEGMENTS: &str = "segments";

impl StoreError {
    fn during(operation: &'static str) -> impl FnOnce(rexie::Error) -> Self {
        move |e| Self::Idb {
            operation: operation.into(),
            message: e.to_string(),
        }
    }

    /// The browser refused `operation`: its DOMException, classified by
    /// name (a full storage is `QuotaFull`, which the app says plainly).
    pub(crate) fn refused(operation: &'static str, e: &JsValue) -> Self {
        match e.dyn_ref::<web_sys::DomException>() {
            Some(d) if d.name() == "QuotaExceededError" => Self::QuotaFull,
            _ => Self::Idb {
                operation: operation.into(),
                message: dom_error(e),
            },
        }
    }
}

/// How long [`Store::open`] waits for each of the browser's answers: an
/// upgrade another tab blocks, the second connection, the voxel files' folder.
pub const OPEN_WAIT_MS: u32 = 3000;

/// An open cache database.
pub struct Store {
    db: Rexie,
    /// A second connection for writes: rexie reports an aborted write
    /// (storage full) as done, without the browser's reason.
    writer: web_sys::IdbDatabase,
    /// Where volumes' voxels go as files, where the browser allows it.
    files: Option<VoxelFiles>,
}

/// Chunks read as one Blob: one read of several chunks is faster than one
/// read each (measured in Chromium), and this many keeps a read to 64 MB.
pub(crate) const CHUNKS_PER_READ: usize = 4;

/// A Blob holding a copy of `bytes`.
fn blob_of(bytes: &[u8]) -> Result<Blob, StoreError> {
    // SAFETY: the Blob copies the view before anything else runs on this
    // thread, so wasm memory cannot grow (and move) under the view.
    blob_of_array(&unsafe { Uint8Array::view(bytes) })
}

/// A Blob holding a copy of `bytes` (in the browser's memory).
fn blob_of_array(bytes: &Uint8Array) -> Result<Blob, StoreError> {
    Blob::new_with_u8_array_sequence(&js_sys::Array::of1(bytes)).map_err(|e| StoreError::Idb {
        operation: "write".into(),
        message: format!("{e:?}"),
    })
}

/// An entry's value: an object of `fields`, named `what` in the error
/// when one cannot be set.
fn value_of(what: &str, fields: &[(&str, &JsValue)]) -> Result<JsValue, StoreError> {
    let value = Object::new();
    for (name, field) in fields {
        if Reflect::set(&value, &(*name).into(), field).is_err() {
            return Err(StoreError::Corrupt(format!(
                "{what} value could not be built"
            )));
        }
    }
    Ok(value.into())
}

/// Field `name` of an entry's value (undefined where it has none).
fn field_of(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

/// Where [`Store::read_voxels`] takes a volume's bytes from: its chunks'
/// reads, already started, or its file.
enum VoxelSource<'a> {
    Chunks(Vec<Promise>),
    File(&'a VoxelFiles),
}

/// A volume being stored a chunk at a time ([`VolumeWrite::step`]), so
/// its writer can stop between chunks to let other work run (a large
/// volume's write takes seconds). Its record goes last, so a write never
/// finished leaves chunks but no record: never read as a volume, and
/// removed by [`Store::delete_volume`]. The chunks go into a voxel file
/// where the browser allows it (a dedicated worker), else into IndexedDB.
#[derive(Debug)]
pub struct VolumeWrite {
    key: String,
    record: VolumeRecord,
    written: usize,
    /// The voxel file being written; `None` before the first step and for
    /// chunks in IndexedDB.
    file: Option<VoxelFileWrite>,
}

impl VolumeWrite {
    /// A write of `voxels` (all of the volume's bytes) under `key`; `Corrupt`
    /// when their size is not the record's.
    pub fn new(key: &str, mut record: VolumeRecord, voxels: &[u8]) -> Result<Self, StoreError> {
        if voxels.len() != record.voxel_bytes() {
            return Err(StoreError::Corrupt(format!(
                "{} voxel bytes for a record of {}",
                voxels.len(),
                record.voxel_bytes()
            )));
        }
        record.schema = SCHEMA_VERSION;
        record.chunk_hashes = Vec::with_capacity(record.chunk_count());
        // Until the first step opens a voxel file, if it can.
        record.voxels_in = VoxelPlace::Chunks;
        Ok(Self {
            key: key.to_owned(),
            record,
            written: 0,
            file: None,
        })
    }

    /// The key written under.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Writes the next chunk of `voxels` (the same bytes as given to
    /// [`VolumeWrite::new`]: checked by size), or the record once every
    /// chunk is in (one transaction each: a few tens of MB); `true` when
    /// the record is written.
    pub async fn step(&mut self, store: &Store, voxels: &[u8]) -> Result<bool, StoreError> {
        if voxels.len() != self.record.voxel_bytes() {
            return Err(StoreError::Corrupt(
                "the volume changed during its write".into(),
            ));
        }
        if self.written == 0
            && self.file.is_none()
            && let Some(files) = &store.files
        {
            self.file = files.writer(&self.key).await?;
            if self.file.is_some() {
                self.record.voxels_in = VoxelPlace::File;
            }
        }
        match voxels.chunks(CHUNK_BYTES).nth(self.written) {
            Some(chunk) => {
                match &mut self.file {
                    Some(file) => file.write(self.written * CHUNK_BYTES, chunk)?,
                    None => {
                        store
                            .put_value(
                                CHUNKS,
                                &chunk_key(&self.key, self.written),
                                &blob_of(chunk)?.into(),
                            )
                            .await?
                    }
                }
                self.record.chunk_hashes.push(checksum(&[chunk]));
                self.written += 1;
                Ok(false)
            }
            None => {
                if let Some(file) = &mut self.file {
                    file.finish()?;
                }
                let json = serde_json::to_string(&self.record).expect("records serialise");
                store
                    .put_value(VOLUMES, &self.key, &JsValue::from_str(&json))
                    .await?;
                Ok(true)
            }
        }
    }
}

/// The keys from `first` up to, not including, `end`.
fn keys_from_to(
    first: &str,
    end: &str,
    operation: &'static str,
) -> Result<rexie::KeyRange, StoreError> {
    rexie::KeyRange::bound(
        &JsValue::from_str(first),
        &JsValue::from_str(end),
        Some(false),
        Some(true),
    )
    .map_err(|e| StoreError::Idb {
        operation: operation.into(),
        message: e.to_string(),
    })
}

/// A volume record from its stored value; `Corrupt` when it is
/// unreadable or of another schema.
fn record_of(value: &JsValue) -> Result<VolumeRecord, StoreError> {
    let json = value
        .as_string()
        .ok_or_else(|| StoreError::Corrupt("volume record is not text".into()))?;
    let record: VolumeRecord = serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("volume record: {e}")))?;
    if record.schema != SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "schema {} (this app reads {SCHEMA_VERSION})",
            record.schema
        )));
    }
    if record.chunk_hashes.len() != record.chunk_count() {
        return Err(StoreError::Corrupt(
            "chunk list does not match the size".into(),
        ));
    }
    Ok(record)
}

/// Chunk `n` of volume `key`: zero-padded, so a key range returns the
/// chunks in order.
fn chunk_key(key: &str, n: usize) -> String {
    format!("{key}#{n:05}")
}

impl Store {
    /// Opens (creating or upgrading) the database called `name`.
    ///
    /// An upgrade waits while another tab holds the database open at an
    /// older version (an insitu tab from before an update); after
    /// [`OPEN_WAIT_MS`] this gives up and says so, rather than keep the
    /// caller (a load) waiting. The open goes on in the background and is
    /// closed when it completes. The second connection (for writes) is
    /// given as long and then said to have no answer
    /// ([`StoreError::NoAnswer`]); the voxel files' folder too, and then
    /// voxels go to IndexedDB.
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let build = Rexie::builder(name)
            .version(SCHEMA_VERSION)
            .add_object_store(ObjectStore::new(VOLUMES))
            .add_object_store(ObjectStore::new(CHUNKS))
            .add_object_store(ObjectStore::new(MESHES))
            .add_object_store(ObjectStore::new(SEGMENTS))
            .build();
        let opened = answered_within(OPEN_WAIT_MS, build, |late| {
            if let Ok(db) = late {
                db.close();
            }
        })
        .await;
        let db = opened
            .ok_or(StoreError::BlockedByOlderTab)?
            .map_err(StoreError::during("open"))?;
        let owned = name.to_owned();
        let writer = answered_within(
            OPEN_WAIT_MS,
            async move { open_writer(&owned).await },
            |late| {
                if let Ok(writer) = late {
                    writer.close();
                }
            },
        )
        .await;
        let writer = match writer {
            Some(Ok(writer)) => writer,
            Some(Err(e)) => {
                db.close();
                return Err(e);
            }
            None => {
                db.close();
                return Err(StoreError::NoAnswer {
                    operation: "open".into(),
                });
            }
        };
        let owned = name.to_owned();
        // No answer from the private file system: voxels go to IndexedDB.
        let files = answered_within(
            OPEN_WAIT_MS,
            async move { VoxelFiles::open(&owned).await },
            |_| (),
        )
        .await
        .flatten();
        Ok(Self { db, writer, files })
    }

    /// Stores a volume: its voxel bytes in chunks, then its record (with
    /// the chunks' checksums), so a record is only ever there with all of
    /// its chunks.
    pub async fn put_volume(
        &self,
        key: &str,
        record: VolumeRecord,
        voxels: &[u8],
    ) -> Result<(), StoreError> {
        let mut write = VolumeWrite::new(key, record, voxels)?;
        while !write.step(self, voxels).await? {}
        Ok(())
    }

    /// The record of a cached volume; `Corrupt` when it is unreadable or of
    /// another schema.
    pub async fn volume_record(&self, key: &str) -> Result<Option<VolumeRecord>, StoreError> {
        match self.get_value(VOLUMES, key).await? {
            Some(value) => record_of(&value).map(Some),
            None => Ok(None),
        }
    }

    /// Every volume's key with its record (or why it cannot be read), read
    /// in one transaction: a transaction per record made the stamp's lookup
    /// and the Recent list slower with each study kept (41 kept: 29–32 ms,
    /// now 3–5).
    async fn records(&self) -> Result<Vec<(String, Result<VolumeRecord, StoreError>)>, StoreError> {
        let tx = self
            .db
            .transaction(&[VOLUMES], TransactionMode::ReadOnly)
            .map_err(StoreError::during("list"))?;
        let store = tx.store(VOLUMES).map_err(StoreError::during("list"))?;
        let keys = store
            .get_all_keys(None, None)
            .await
            .map_err(StoreError::during("list"))?;
        let values = store
            .get_all(None, None)
            .await
            .map_err(StoreError::during("list"))?;
        tx.done().await.map_err(StoreError::during("list"))?;
        // Both in key order, from one transaction: pair for pair.
        if keys.len() != values.len() {
            return Err(StoreError::Corrupt(format!(
                "{} volume keys for {} records",
                keys.len(),
                values.len()
            )));
        }
        Ok(keys
            .into_iter()
            .zip(values)
            .filter_map(|(key, value)| Some((key.as_string()?, record_of(&value))))
            .collect())
    }

    /// A volume's voxels as a new vector of `T`, every chunk's size and
    /// checksum checked. The chunks are read while the vector is allocated,
    /// and each byte is written once, by its chunk: a volume-sized buffer
    /// is never zero-filled first (that costs as much as reading it back
    /// from IndexedDB).
    pub async fn read_voxels<T: bytemuck::Pod>(
        &self,
        key: &str,
        record: &VolumeRecord,
    ) -> Result<Vec<T>, StoreError> {
        let bytes = record.voxel_bytes();
        if !bytes.is_multiple_of(size_of::<T>()) {
            return Err(StoreError::Corrupt(format!(
                "{bytes} voxel bytes is no whole number of {}-byte values",
                size_of::<T>()
            )));
        }
        // Where the bytes come from, settled before the buffer is allocated.
        let source = match (record.voxels_in, &self.files) {
            (VoxelPlace::Chunks, _) => {
                VoxelSource::Chunks(self.start_reading_voxels(key, record).await?)
            }
            (VoxelPlace::File, Some(files)) => VoxelSource::File(files),
            (VoxelPlace::File, None) => {
                return Err(StoreError::Idb {
                    operation: "read".into(),
                    message: "this browser gives no access to the site's private files".into(),
                });
            }
        };
        let mut out = Vec::<T>::with_capacity(bytes / size_of::<T>());
        let at = out.as_mut_ptr().cast::<u8>();
        // SAFETY: the capacity holds `bytes` bytes; the length is set only
        // once every chunk has been written (an error drops the vector with
        // length 0, never reading what was not written).
        unsafe {
            match source {
                VoxelSource::Chunks(reads) => land(reads, record, at).await?,
                VoxelSource::File(files) => files.read_into(key, record, at).await?,
            }
            out.set_len(bytes / size_of::<T>());
        }
        Ok(out)
    }

    /// Starts reading a volume's chunks, one read per [`CHUNKS_PER_READ`],
    /// in order; [`land`] copies them. Sizes are checked here, checksums as
    /// they land.
    async fn start_reading_voxels(
        &self,
        key: &str,
        record: &VolumeRecord,
    ) -> Result<Vec<Promise>, StoreError> {
        // All chunks in one request (a key range), not one transaction each.
        let range = keys_from_to(
            &chunk_key(key, 0),
            &chunk_key(key, record.chunk_count()),
            "read",
        )?;
        let tx = self
            .db
            .transaction(&[CHUNKS], TransactionMode::ReadOnly)
            .map_err(StoreError::during("read"))?;
        let store = tx.store(CHUNKS).map_err(StoreError::during("read"))?;
        let chunks = store
            .get_all(Some(range), None)
            .await
            .map_err(StoreError::during("read"))?;
        tx.done().await.map_err(StoreError::during("read"))?;
        if chunks.len() != record.chunk_count() {
            return Err(StoreError::Corrupt(format!(
                "{} of {} chunks present",
                chunks.len(),
                record.chunk_count()
            )));
        }
        let sizes = (0..record.chunk_count())
            .map(|n| CHUNK_BYTES.min(record.voxel_bytes() - n * CHUNK_BYTES));
        let mut blobs = Vec::with_capacity(chunks.len());
        for (n, (value, size)) in chunks.into_iter().zip(sizes).enumerate() {
            let blob = value
                .dyn_into::<Blob>()
                .map_err(|_| StoreError::Corrupt(format!("chunk {n} is not a stored chunk")))?;
            if blob.size() as usize != size {
                return Err(StoreError::Corrupt(format!(
                    "chunk {n} holds {} bytes, {size} expected",
                    blob.size()
                )));
            }
            blobs.push(blob);
        }
        blobs
            .chunks(CHUNKS_PER_READ)
            .map(|group| {
                let parts: js_sys::Array = group.iter().collect();
                Blob::new_with_blob_sequence(&parts)
                    .map(|together| together.array_buffer())
                    .map_err(|e| StoreError::Idb {
                        operation: "read".into(),
                        message: format!("{e:?}"),
                    })
            })
            .collect()
    }

    /// Every cached volume with its record. Entries that can never be read
    /// (an older schema, an unreadable record) are removed on the way.
    /// Voxel files no record names (a tab closed during a write) are
    /// removed too, except those a write holds open.
    pub async fn volumes(&self) -> Result<Vec<(String, VolumeRecord)>, StoreError> {
        let mut out = Vec::new();
        for (key, record) in self.records().await? {
            match record {
                Ok(record) => out.push((key, record)),
                Err(StoreError::Corrupt(_)) => self.delete_volume(&key).await?,
                Err(e) => return Err(e),
            }
        }
        // A folder that cannot be listed leaves its orphans for next time:
        // the list is what the user asked for.
        if let Some(files) = &self.files
            && let Ok(keys) = files.keys().await
        {
            for key in keys {
                if !out.iter().any(|(k, _)| *k == key) {
                    // Refused while a write holds the file: it is not lost.
                    let _ = files.remove(&key).await;
                }
            }
        }
        Ok(out)
    }

    /// The key and record of the cached volume last opened from the files
    /// of `stamp` (the newest, should two say so); records that cannot be
    /// read are passed over here and removed when the volumes are listed.
    pub async fn volume_of_files(
        &self,
        stamp: FilesStamp,
    ) -> Result<Option<(String, VolumeRecord)>, StoreError> {
        Ok(self
            .records()
            .await?
            .into_iter()
            .filter_map(|(key, record)| Some((key, record.ok()?)))
            .filter(|(_, record)| record.files_stamp == Some(stamp))
            .reduce(|newest, other| {
                if other.1.cached_at_ms > newest.1.cached_at_ms {
                    other
                } else {
                    newest
                }
            }))
    }

    /// Says which files a cached volume was last opened from (`None`:
    /// none, for a stamp found to answer to other pixels).
    pub async fn set_files_stamp(
        &self,
        key: &str,
        stamp: Option<FilesStamp>,
    ) -> Result<(), StoreError> {
        let Some(mut record) = self.volume_record(key).await? else {
            return Ok(());
        };
        if record.files_stamp == stamp {
            return Ok(());
        }
        record.files_stamp = stamp;
        let json = serde_json::to_string(&record).expect("records serialise");
        self.put_value(VOLUMES, key, &JsValue::from_str(&json))
            .await
    }

    /// Removes a volume, its chunks or voxel file, its meshes and its
    /// segments.
    pub async fn delete_volume(&self, key: &str) -> Result<(), StoreError> {
        self.delete_value(VOLUMES, key).await?;
        if let Some(files) = &self.files {
            // Refused while another tab reads it: with its record gone it
            // is an orphan, removed when the volumes are next listed.
            let _ = files.remove(key).await;
        }
        self.delete_value(SEGMENTS, key).await?;
        // Each by one range: a request per chunk (330 for a 2,500-slice
        // CT) after listing every volume's chunks took seconds.
        self.delete_prefixed(CHUNKS, key, '#').await?;
        self.delete_prefixed(MESHES, key, '|').await
    }

    /// Stores a surface of volume `volume_key`.
    pub async fn put_mesh(
        &self,
        volume_key: &str,
        mut record: MeshRecord,
        positions: &[f32],
        normals: &[f32],
        indices: &[u32],
    ) -> Result<(), StoreError> {
        record.schema = SCHEMA_VERSION;
        record.hash = mesh_hash(positions, normals, indices);
        let json = serde_json::to_string(&record).expect("records serialise");
        let value = value_of(
            "mesh",
            &[
                ("record", &JsValue::from_str(&json)),
                ("positions", &Float32Array::from(positions).into()),
                ("normals", &Float32Array::from(normals).into()),
                ("indices", &Uint32Array::from(indices).into()),
            ],
        )?;
        let key = format!("{volume_key}|{}", record.options.identity());
        self.put_value(MESHES, &key, &value).await
    }

    /// A cached surface of volume `volume_key` made with `options`:
    /// (record, positions, normals, indices), checksum verified.
    #[allow(clippy::type_complexity)]
    pub async fn mesh(
        &self,
        volume_key: &str,
        options: &insitu_mesh::SurfaceOptions,
    ) -> Result<Option<(MeshRecord, Vec<f32>, Vec<f32>, Vec<u32>)>, StoreError> {
        let key = format!("{volume_key}|{}", options.identity());
        let Some(value) = self.get_value(MESHES, &key).await? else {
            return Ok(None);
        };
        let field = |name: &str| field_of(&value, name);
        let record: MeshRecord = field("record")
            .as_string()
            .and_then(|json| serde_json::from_str(&json).ok())
            .ok_or_else(|| StoreError::Corrupt("mesh record unreadable".into()))?;
        if record.schema != SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "mesh schema {}",
                record.schema
            )));
        }
        let floats = |name: &str| {
            field(name)
                .dyn_into::<Float32Array>()
                .map(|a| a.to_vec())
                .map_err(|_| StoreError::Corrupt(format!("mesh {name} missing")))
        };
        let positions = floats("positions")?;
        let normals = floats("normals")?;
        let indices = field("indices")
            .dyn_into::<Uint32Array>()
            .map(|a| a.to_vec())
            .map_err(|_| StoreError::Corrupt("mesh indices missing".into()))?;
        if mesh_hash(&positions, &normals, &indices) != record.hash {
            return Err(StoreError::Corrupt("mesh checksum mismatch".into()));
        }
        Ok(Some((record, positions, normals, indices)))
    }

    /// Stores the first 2D views drawn of volume `volume_key` (opaque
    /// bytes in the app's own layout, left in the browser's memory),
    /// kept beside its surfaces and removed with it: a folder dropped
    /// again shows them while its voxels are read back.
    pub async fn put_opening_views(
        &self,
        volume_key: &str,
        views: &Uint8Array,
    ) -> Result<(), StoreError> {
        // A Blob, as the voxel chunks: IndexedDB reads it back faster than
        // a typed array it must clone.
        let value = value_of(
            "opening views",
            &[
                ("hash", &JsValue::from_str(&checksum_in_pieces(views))),
                ("views", &blob_of_array(views)?.into()),
            ],
        )?;
        self.put_value(MESHES, &opening_views_key(volume_key), &value)
            .await
    }

    /// The first 2D views kept of volume `volume_key`
    /// ([`Store::put_opening_views`]), checksum verified.
    pub async fn opening_views(&self, volume_key: &str) -> Result<Option<Uint8Array>, StoreError> {
        let Some(value) = self
            .get_value(MESHES, &opening_views_key(volume_key))
            .await?
        else {
            return Ok(None);
        };
        let field = |name: &str| field_of(&value, name);
        let blob = field("views")
            .dyn_into::<Blob>()
            .map_err(|_| StoreError::Corrupt("opening views missing".into()))?;
        let buffer = JsFuture::from(blob.array_buffer())
            .await
            .map_err(|e| StoreError::refused("read", &e))?;
        let views = Uint8Array::new(&buffer);
        if field("hash").as_string() != Some(checksum_in_pieces(&views)) {
            return Err(StoreError::Corrupt(
                "opening views checksum mismatch".into(),
            ));
        }
        Ok(Some(views))
    }

    /// Stores the segments of volume `volume_key` (replacing any).
    pub async fn put_segments(
        &self,
        volume_key: &str,
        record: &SegmentsRecord,
        coded: &[u8],
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).expect("records serialise");
        let value = value_of(
            "segments",
            &[
                ("record", &JsValue::from_str(&json)),
                ("labels", &Uint8Array::from(coded).into()),
            ],
        )?;
        self.put_value(SEGMENTS, volume_key, &value).await
    }

    /// The segments of volume `volume_key`, if kept: the record and the
    /// coded labels (checked by [`SegmentsRecord::restore`]).
    pub async fn segments(
        &self,
        volume_key: &str,
    ) -> Result<Option<(SegmentsRecord, Vec<u8>)>, StoreError> {
        let Some(value) = self.get_value(SEGMENTS, volume_key).await? else {
            return Ok(None);
        };
        let field = |name: &str| field_of(&value, name);
        let record: SegmentsRecord = field("record")
            .as_string()
            .and_then(|json| serde_json::from_str(&json).ok())
            .ok_or_else(|| StoreError::Corrupt("segments record unreadable".into()))?;
        let coded = field("labels")
            .dyn_into::<Uint8Array>()
            .map(|a| a.to_vec())
            .map_err(|_| StoreError::Corrupt("segment labels missing".into()))?;
        Ok(Some((record, coded)))
    }

    /// Removes the segments of volume `volume_key`.
    pub async fn delete_segments(&self, volume_key: &str) -> Result<(), StoreError> {
        self.delete_value(SEGMENTS, volume_key).await
    }

    /// Empties every store and removes every voxel file (one another tab
    /// holds open goes when the volumes are next listed).
    pub async fn clear(&self) -> Result<(), StoreError> {
        // The database is emptied even if the folder cannot be listed: a
        // file no record names is never read, and goes at the next listing.
        if let Some(files) = &self.files
            && let Ok(keys) = files.keys().await
        {
            for key in keys {
                let _ = files.remove(&key).await;
            }
        }
        for name in [VOLUMES, CHUNKS, MESHES, SEGMENTS] {
            let tx = self
                .db
                .transaction(&[name], TransactionMode::ReadWrite)
                .map_err(StoreError::during("clear"))?;
            let store = tx.store(name).map_err(StoreError::during("clear"))?;
            store.clear().await.map_err(StoreError::during("clear"))?;
            tx.done().await.map_err(StoreError::during("clear"))?;
        }
        Ok(())
    }

    /// Overwrites chunk `n` of `key` with `bytes` wherever its record says
    /// the chunks are: tests damage entries with it to check that damage
    /// is caught.
    pub async fn overwrite_chunk(
        &self,
        key: &str,
        n: usize,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let place = self.volume_record(key).await?.map(|r| r.voxels_in);
        match (place, &self.files) {
            (Some(VoxelPlace::File), Some(files)) => {
                files.overwrite(key, n * CHUNK_BYTES, bytes).await
            }
            _ => {
                self.put_value(CHUNKS, &chunk_key(key, n), &blob_of(bytes)?.into())
                    .await
            }
        }
    }

    /// Where this store puts voxels: files where the browser allows it.
    pub fn keeps_voxel_files(&self) -> bool {
        self.files.is_some()
    }

    /// Closes the connections so the database can be deleted or upgraded.
    pub fn close(self) {
        self.writer.close();
        self.db.close();
    }

    /// Deletes the whole database called `name` and its voxel files.
    pub async fn delete_database(name: &str) -> Result<(), StoreError> {
        crate::opfs::remove_folder(name).await?;
        Rexie::delete(name)
            .await
            .map_err(StoreError::during("delete database"))
    }

    /// Writes one value in its own transaction, and says why the browser
    /// refused it (`QuotaExceededError` when the storage is full).
    async fn put_value(&self, store: &str, key: &str, value: &JsValue) -> Result<(), StoreError> {
        let refused = |e: JsValue| StoreError::refused("write", &e);
        let tx = self
            .writer
            .transaction_with_str_and_mode(store, web_sys::IdbTransactionMode::Readwrite)
            .map_err(refused)?;
        tx.object_store(store)
            .and_then(|s| s.put_with_key(value, &JsValue::from_str(key)))
            .map_err(refused)?;
        let settled = Promise::new(&mut |resolve, reject| {
            let aborted = tx.clone();
            tx.set_oncomplete(Some(
                Closure::once_into_js(move || resolve.call0(&JsValue::NULL)).unchecked_ref(),
            ));
            tx.set_onabort(Some(
                Closure::once_into_js(move || {
                    let why = aborted.error().map_or(JsValue::NULL, JsValue::from);
                    reject.call1(&JsValue::NULL, &why)
                })
                .unchecked_ref(),
            ));
        });
        JsFuture::from(settled).await.map(drop).map_err(refused)
    }

    async fn get_value(&self, store: &str, key: &str) -> Result<Option<JsValue>, StoreError> {
        let tx = self
            .db
            .transaction(&[store], TransactionMode::ReadOnly)
            .map_err(StoreError::during("read"))?;
        let s = tx.store(store).map_err(StoreError::during("read"))?;
        let value = s
            .get(JsValue::from_str(key))
            .await
            .map_err(StoreError::during("read"))?;
        tx.done().await.map_err(StoreError::during("read"))?;
        Ok(value)
    }

    async fn delete_value(&self, store: &str, key: &str) -> Result<(), StoreError> {
        self.delete_where(store, JsValue::from_str(key)).await
    }

    /// Deletes every entry of `store` whose key is `key` then `separator`
    /// and anything: the keys from `key·separator` up to, not including,
    /// `key·(separator + 1)`.
    async fn delete_prefixed(
        &self,
        store: &str,
        key: &str,
        separator: char,
    ) -> Result<(), StoreError> {
        let next = char::from_u32(separator as u32 + 1).expect("an ASCII separator");
        let range = keys_from_to(
            &format!("{key}{separator}"),
            &format!("{key}{next}"),
            "delete",
        )?;
        self.delete_where(store, range.into()).await
    }

    /// Deletes the entries of `store` that `query` (a key or a key range)
    /// names, in one transaction.
    async fn delete_where(&self, store: &str, query: JsValue) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[store], TransactionMode::ReadWrite)
            .map_err(StoreError::during("delete"))?;
        let s = tx.store(store).map_err(StoreError::during("delete"))?;
        s.delete(query)
            .await
            .map_err(StoreError::during("delete"))?;
        tx.done().await.map_err(StoreError::during("delete"))?;
        Ok(())
    }
}

/// Where a volume's opening views are kept: among its surfaces (`key|…`),
/// so they go wherever its surfaces go; no surface's options read so.
fn opening_views_key(volume_key: &str) -> String {
    format!("{volume_key}|opening-views")
}

/// [`checksum`] of bytes in the browser's memory, copied through a small
/// buffer a piece at a time: never all of them in the wasm heap.
fn checksum_in_pieces(bytes: &Uint8Array) -> String {
    const PIECE: u32 = 1 << 16;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut piece = vec![0u8; PIECE as usize];
    let length = bytes.length();
    let mut at = 0;
    while at < length {
        let end = at.saturating_add(PIECE).min(length);
        let part = &mut piece[..(end - at) as usize];
        bytes.subarray(at, end).copy_to(part);
        hasher.update(part);
        at = end;
    }
    checksum_text(&hasher)
}

/// The checksum of a mesh's arrays, as little-endian bytes (wasm32 is
/// little-endian: the arrays are hashed in place).
fn mesh_hash(positions: &[f32], normals: &[f32], indices: &[u32]) -> String {
    checksum(&[
        bytemuck::cast_slice(positions),
        bytemuck::cast_slice(normals),
        bytemuck::cast_slice(indices),
    ])
}

/// Writes each chunk of `reads` to its place from `out` as it arrives and
/// checks its checksum.
///
/// # Safety
/// `out` must be valid for writes of `record.voxel_bytes()` bytes.
pub(crate) async unsafe fn land(
    reads: Vec<Promise>,
    record: &VolumeRecord,
    out: *mut u8,
) -> Result<(), StoreError> {
    let total = record.voxel_bytes();
    let mut group = Uint8Array::new_with_length(0);
    let mut reads = reads.into_iter();
    for (n, hash) in record.chunk_hashes.iter().enumerate() {
        let start = n * CHUNK_BYTES;
        let len = CHUNK_BYTES.min(total - start);
        if n % CHUNKS_PER_READ == 0 {
            let read = reads
                .next()
                .ok_or_else(|| StoreError::Corrupt("fewer reads than chunks".into()))?;
            let buffer = JsFuture::from(read).await.map_err(|e| StoreError::Idb {
                operation: "read".into(),
                message: format!("chunks from {n}: {e:?}"),
            })?;
            group = Uint8Array::new(&buffer);
        }
        // Each chunk's size was checked before the read.
        let at = ((n % CHUNKS_PER_READ) * CHUNK_BYTES) as u32;
        if at as usize + len > group.length() as usize {
            return Err(StoreError::Corrupt(format!("chunk {n} was not read whole")));
        }
        let array = group.subarray(at, at + len as u32);
        // SAFETY: `start + len <= total` bytes of `out` are writable, and
        // after the copy these `len` bytes are initialised.
        let slot = unsafe {
            let at = out.add(start);
            array.raw_copy_to_ptr(at);
            std::slice::from_raw_parts(at, len)
        };
        if checksum(&[slot]) != *hash {
            return Err(StoreError::Corrupt(format!("chunk {n} checksum mismatch")));
        }
    }
    Ok(())
}

/// "QuotaExceededError: …" from a DOMException (or whatever was thrown).
fn dom_error(e: &JsValue) -> String {
    match e.dyn_ref::<web_sys::DomException>() {
        Some(d) => format!("{}: {}", d.name(), d.message()),
        None if e.is_null() => "the browser aborted it without a reason".into(),
        None => format!("{e:?}"),
    }
}

/// A plain connection to database `name` (already created and upgraded
/// by rexie), for [`Store::put_value`].
async fn open_writer(name: &str) -> Result<web_sys::IdbDatabase, StoreError> {
    let failed = |e: JsValue| StoreError::refused("open", &e);
    let factory: web_sys::IdbFactory = Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| StoreError::Idb {
            operation: "open".into(),
            message: "this browser has no IndexedDB".into(),
        })?;
    let request = factory.open(name).map_err(failed)?;
    let opened = Promise::new(&mut |resolve, reject| {
        let done = request.clone();
        request.set_onsuccess(Some(
            Closure::once_into_js(move || {
                resolve.call1(&JsValue::NULL, &done.result().unwrap_or_default())
            })
            .unchecked_ref(),
        ));
        let failed = request.clone();
        request.set_onerror(Some(
            Closure::once_into_js(move || {
                let why = failed
                    .error()
                    .ok()
                    .flatten()
                    .map_or(JsValue::NULL, JsValue::from);
                reject.call1(&JsValue::NULL, &why)
            })
            .unchecked_ref(),
        ));
    });
    JsFuture::from(opened)
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn bytes_checked_in_pieces_sum_as_they_would_whole() {
        // Past two pieces, ending inside the third.
        let bytes: Vec<u8> = (0..150_001u32).map(|n| (n * 7 % 251) as u8).collect();
        let in_browser = Uint8Array::from(bytes.as_slice());
        assert_eq!(checksum_in_pieces(&in_browser), checksum(&[&bytes]));
        assert_eq!(
            checksum_in_pieces(&Uint8Array::new_with_length(0)),
            checksum(&[])
        );
    }
}
