//! What both in-browser test files store (a record of given dims, bytes a
//! misplaced read cannot pass for) and the damage both check.

use insitu_store::{
    CHUNK_BYTES, Modality, SCHEMA_VERSION, Store, StoreError, Thumbnail, VolumeRecord, VoxelKind,
    VoxelPlace,
};

/// Bytes that differ at every position, so a shifted or truncated read fails.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

/// A CT record of `dims` i16 voxels, its chunks not yet written.
pub fn record(dims: [u32; 3]) -> VolumeRecord {
    VolumeRecord {
        schema: SCHEMA_VERSION,
        dims,
        steps_mm: [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.25]],
        origin_mm: [-120.0, -80.0, 33.0],
        slice_offsets_mm: None,
        voxel: VoxelKind::I16,
        value_range: (-1024.0, 2000.0),
        modality: Modality::Ct,
        chunk_hashes: Vec::new(),
        voxels_in: VoxelPlace::Chunks,
        files_stamp: None,
        cached_at_ms: 1.0,
        thumbnail: Thumbnail {
            width: 2,
            height: 1,
            grey: vec![0, 255],
        },
    }
}

/// Stores a 256×256×200 volume under `k` and flips one byte of its chunk 1
/// wherever the store keeps it: its record (as stored) and its bytes.
pub async fn stored_with_chunk_1_damaged(store: &Store) -> (VolumeRecord, Vec<u8>) {
    let rec = record([256, 256, 200]);
    let voxels = pattern(rec.voxel_bytes());
    store.put_volume("k", rec, &voxels).await.expect("put");
    let back = store.volume_record("k").await.unwrap().unwrap();
    let mut flipped = voxels[CHUNK_BYTES..].to_vec();
    flipped[12345] ^= 0x40;
    store.overwrite_chunk("k", 1, &flipped).await.unwrap();
    (back, voxels)
}

/// Asserts that `err` is chunk 1's checksum failing.
pub fn assert_chunk_1_damage(err: &StoreError) {
    assert!(
        matches!(err, StoreError::Corrupt(m) if m.contains("chunk 1 checksum")),
        "{err}"
    );
}
