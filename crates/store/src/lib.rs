//! The cache of derived data (volumes, meshes): record types that cannot
//! hold a patient identifier (`record`, pure Rust, tested natively) and their
//! IndexedDB store (`idb`, browser only, on rexie), whose voxels go into the
//! origin private file system where a dedicated worker can write them
//! (`opfs`).
//!
//! Volumes are written in chunks with an XXH3-128 checksum each, verified on
//! every read: a corrupted, truncated or old-schema entry is reported as
//! such, never returned as if valid.

mod error;
pub mod record;
mod segments;
mod stamp;

#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod opfs;
#[cfg(target_arch = "wasm32")]
mod wait;

pub use error::StoreError;
#[cfg(target_arch = "wasm32")]
pub use idb::{OPEN_WAIT_MS, Store, VolumeWrite};
pub use record::{
    CHUNK_BYTES, MeshRecord, Modality, SCHEMA_VERSION, SurfaceOptions, Thumbnail, VolumeRecord,
    VoxelKind, VoxelPlace, checksum, storage_description, voxel_bytes,
};
pub use segments::{SegmentsRecord, StoredName, StoredSegment, decode_runs, encode_runs};
pub use stamp::{FileFacts, FilesStamp};
