//! The cache in a real headless Chromium (wasm-bindgen-test): a large
//! volume round trip in chunks, damage of every kind caught on read, an
//! old-schema database dropped on upgrade, meshes found by their options,
//! a volume's opening views kept beside them, a volume deleted by key
//! range beside one whose key begins alike.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{assert_chunk_1_damage, pattern, record, stored_with_chunk_1_damaged};
use insitu_store::{
    CHUNK_BYTES, FileFacts, FilesStamp, MeshRecord, SCHEMA_VERSION, Store, StoreError,
    SurfaceOptions, VolumeWrite, VoxelPlace,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_large_volume_round_trips_in_checked_chunks() {
    let name = "insitu-test-volume";
    let store = Store::open(name).await.expect("open");
    // 512 x 512 x 170 i16: 85 MB, six chunks (the last one partial), read
    // in two Blob reads.
    let rec = record([512, 512, 170]);
    let voxels = pattern(rec.voxel_bytes());
    assert_eq!(rec.chunk_count(), 6);
    store
        .put_volume("k1", rec.clone(), &voxels)
        .await
        .expect("put");
    let back = store
        .volume_record("k1")
        .await
        .expect("record")
        .expect("present");
    assert_eq!(back.dims, rec.dims);
    assert_eq!(back.chunk_hashes.len(), 6);
    let out: Vec<u8> = store.read_voxels("k1", &back).await.expect("read");
    assert!(out == voxels, "voxels differ after the round trip");
    // As i16, as the app reads a CT.
    let fresh: Vec<i16> = store.read_voxels("k1", &back).await.expect("read as i16");
    assert_eq!(fresh.len(), 512 * 512 * 170);
    assert!(
        bytemuck::cast_slice::<i16, u8>(&fresh) == voxels,
        "a new buffer differs"
    );
    assert_eq!(store.volumes().await.unwrap().len(), 1);
    // A record that says "file" (read back in a worker) stored again from a
    // page says where its chunks went, and reads back from there.
    let mut claimed = rec.clone();
    claimed.voxels_in = VoxelPlace::File;
    store.put_volume("k2", claimed, &voxels).await.expect("put");
    let again = store.volume_record("k2").await.unwrap().expect("present");
    assert_eq!(again.voxels_in, VoxelPlace::Chunks);
    let out: Vec<u8> = store.read_voxels("k2", &again).await.expect("read");
    assert!(out == voxels, "voxels differ when stored from a page");
    store.delete_volume("k2").await.unwrap();
    store.delete_volume("k1").await.unwrap();
    assert!(store.volume_record("k1").await.unwrap().is_none());
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

/// A volume written a step at a time (as the worker does, stopping for
/// requests between steps): no record until every chunk is in, so a write
/// left half-done is never read as a volume; then it reads back whole; a
/// half-done one is removed by `delete_volume`.
#[wasm_bindgen_test]
async fn a_volume_written_in_steps_has_no_record_until_its_last_chunk() {
    let name = "insitu-test-steps";
    let store = Store::open(name).await.expect("open");
    let rec = record([512, 512, 70]);
    let voxels = pattern(rec.voxel_bytes());
    assert_eq!(rec.chunk_count(), 3);
    let mut write = VolumeWrite::new("k", rec.clone(), &voxels).expect("sizes match");
    for _ in 0..3 {
        assert!(!write.step(&store, &voxels).await.expect("chunk"));
        assert!(store.volume_record("k").await.unwrap().is_none());
        assert!(store.volumes().await.unwrap().is_empty());
    }
    assert!(write.step(&store, &voxels).await.expect("record"));
    let back = store.volume_record("k").await.unwrap().expect("present");
    assert_eq!(back.chunk_hashes.len(), 3);
    let out: Vec<u8> = store.read_voxels("k", &back).await.expect("read");
    assert!(out == voxels, "voxels differ after a write in steps");
    // Other bytes than the write began with are refused, not stored.
    let mut other = VolumeWrite::new("k2", rec.clone(), &voxels).expect("sizes match");
    assert!(!other.step(&store, &voxels).await.unwrap());
    assert!(matches!(
        other.step(&store, &voxels[..CHUNK_BYTES]).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        VolumeWrite::new("k3", rec, &voxels[1..]),
        Err(StoreError::Corrupt(_))
    ));
    // A write given up: its chunks go with delete_volume.
    store.delete_volume("k2").await.unwrap();
    store.delete_volume("k").await.unwrap();
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

/// The key of the volume the files of `stamp` were last opened from.
async fn key_of_files(store: &Store, stamp: FilesStamp) -> Option<String> {
    store
        .volume_of_files(stamp)
        .await
        .unwrap()
        .map(|(key, _)| key)
}

/// A folder dropped again is found by its files' stamp, before its files
/// are read: the newest volume stamped so, none once the stamp is taken
/// back (files found to hold other pixels), and a stamp set after the
/// write (a volume found by its content key) counts too.
#[wasm_bindgen_test]
async fn volumes_are_found_by_their_files_stamp() {
    let name = "insitu-test-stamps";
    let store = Store::open(name).await.expect("open");
    let files = |size| FileFacts {
        name: "series/IM0001",
        size,
        modified_ms: 1.7e12,
    };
    let (one, two) = (
        FilesStamp::of(&[files(10)], 1, &[b"head"]),
        FilesStamp::of(&[files(12)], 1, &[b"head"]),
    );
    let mut rec = record([64, 64, 4]);
    let voxels = pattern(rec.voxel_bytes());
    rec.files_stamp = Some(one);
    rec.cached_at_ms = 1.0;
    store
        .put_volume("older", rec.clone(), &voxels)
        .await
        .expect("put");
    rec.cached_at_ms = 2.0;
    store
        .put_volume("newer", rec.clone(), &voxels)
        .await
        .expect("put");
    rec.files_stamp = None;
    store
        .put_volume("unstamped", rec, &voxels)
        .await
        .expect("put");
    assert_eq!(key_of_files(&store, one).await.as_deref(), Some("newer"));
    assert!(store.volume_of_files(two).await.unwrap().is_none());
    store.set_files_stamp("newer", None).await.unwrap();
    assert_eq!(key_of_files(&store, one).await.as_deref(), Some("older"));
    store.set_files_stamp("unstamped", Some(two)).await.unwrap();
    assert_eq!(
        key_of_files(&store, two).await.as_deref(),
        Some("unstamped")
    );
    // Restamping keeps the record readable, voxels and all.
    let back = store
        .volume_record("unstamped")
        .await
        .unwrap()
        .expect("present");
    let out: Vec<u8> = store.read_voxels("unstamped", &back).await.expect("read");
    assert!(out == voxels, "voxels differ after restamping");
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

#[wasm_bindgen_test]
async fn damaged_chunks_and_records_are_caught() {
    let name = "insitu-test-damage";
    let store = Store::open(name).await.expect("open");
    // One flipped byte in chunk 1 (a page keeps chunks as Blobs).
    let (back, voxels) = stored_with_chunk_1_damaged(&store).await;
    assert_eq!(back.voxels_in, VoxelPlace::Chunks);
    assert_chunk_1_damage(&store.read_voxels::<u8>("k", &back).await.unwrap_err());
    assert_chunk_1_damage(&store.read_voxels::<i16>("k", &back).await.unwrap_err());

    // A truncated chunk.
    store
        .overwrite_chunk("k", 1, &voxels[CHUNK_BYTES..CHUNK_BYTES + 100])
        .await
        .unwrap();
    let err = store.read_voxels::<u8>("k", &back).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(ref m) if m.contains("holds 100 bytes")),
        "{err}"
    );
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

#[wasm_bindgen_test]
async fn an_old_schema_database_is_dropped_on_upgrade() {
    let name = "insitu-test-upgrade";
    // Schema 1: one object store of raw byte chunks.
    let v1 = rexie::Rexie::builder(name)
        .version(1)
        .add_object_store(rexie::ObjectStore::new("chunks"))
        .build()
        .await
        .expect("open v1");
    let tx = v1
        .transaction(&["chunks"], rexie::TransactionMode::ReadWrite)
        .unwrap();
    tx.store("chunks")
        .unwrap()
        .put(
            &js_sys::Uint8Array::from(&[1u8, 2, 3][..]).into(),
            Some(&"old".into()),
        )
        .await
        .unwrap();
    tx.done().await.unwrap();
    v1.close();

    let store = Store::open(name).await.expect("open");
    assert!(store.volumes().await.unwrap().is_empty());
    store.close();
    let reopened = rexie::Rexie::builder(name).build().await.unwrap();
    let mut stores = reopened.store_names();
    stores.sort();
    assert_eq!(
        stores,
        ["meshes", "segments", "volumes", "voxel_chunks"],
        "the v1 store is gone"
    );
    assert_eq!(reopened.version().unwrap(), SCHEMA_VERSION);
    reopened.close();
    Store::delete_database(name).await.expect("delete database");
}

/// Schema 2 kept voxel chunks as typed arrays; its entries are never read
/// by this schema, and listing the volumes removes them with their chunks.
#[wasm_bindgen_test]
async fn entries_of_the_previous_schema_are_removed() {
    let name = "insitu-test-schema-2";
    let v2 = rexie::Rexie::builder(name)
        .version(2)
        .add_object_store(rexie::ObjectStore::new("volumes"))
        .add_object_store(rexie::ObjectStore::new("voxel_chunks"))
        .add_object_store(rexie::ObjectStore::new("meshes"))
        .build()
        .await
        .expect("open v2");
    let mut old = record([4, 4, 2]);
    old.schema = 2;
    old.chunk_hashes = vec![insitu_store::checksum(&[&[0u8; 64][..]])];
    let put = |store: &'static str, key: &'static str, value: JsValue| {
        let tx = v2
            .transaction(&[store], rexie::TransactionMode::ReadWrite)
            .unwrap();
        async move {
            tx.store(store)
                .unwrap()
                .put(&value, Some(&key.into()))
                .await
                .unwrap();
            tx.done().await.unwrap();
        }
    };
    put(
        "volumes",
        "old",
        serde_json::to_string(&old).unwrap().as_str().into(),
    )
    .await;
    put(
        "voxel_chunks",
        "old#00000",
        js_sys::Uint8Array::from(&[0u8; 64][..]).into(),
    )
    .await;
    v2.close();

    let store = Store::open(name).await.expect("open");
    let err = store.volume_record("old").await.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(ref m) if m.contains("schema 2")),
        "{err}"
    );
    assert!(store.volumes().await.unwrap().is_empty());
    store.close();
    let reopened = rexie::Rexie::builder(name).build().await.unwrap();
    for store_name in ["volumes", "voxel_chunks"] {
        let tx = reopened
            .transaction(&[store_name], rexie::TransactionMode::ReadOnly)
            .unwrap();
        let keys = tx
            .store(store_name)
            .unwrap()
            .get_all_keys(None, None)
            .await
            .unwrap();
        assert!(keys.is_empty(), "{store_name} still holds {keys:?}");
    }
    reopened.close();
    Store::delete_database(name).await.expect("delete database");
}

#[wasm_bindgen_test]
async fn meshes_round_trip_by_their_options() {
    let name = "insitu-test-mesh";
    let store = Store::open(name).await.expect("open");
    let options = SurfaceOptions {
        iso: 300.0,
        largest: true,
        min_island: None,
        smooth: 2,
        decimate: Some(100_000),
        engine: insitu_mesh::Engine::Auto,
    };
    let positions: Vec<f32> = (0..3000).map(|i| i as f32 * 0.25).collect();
    let normals: Vec<f32> = (0..3000).map(|i| (i % 3) as f32).collect();
    let indices: Vec<u32> = (0..3000).rev().collect();
    let rec = MeshRecord {
        schema: SCHEMA_VERSION,
        options,
        triangles: 1000,
        vertices: 1000,
        watertight: false,
        hash: String::new(),
        cached_at_ms: 2.0,
    };
    store
        .put_mesh("vol", rec, &positions, &normals, &indices)
        .await
        .unwrap();
    let (back, p, n, i) = store.mesh("vol", &options).await.unwrap().expect("cached");
    assert_eq!(
        (back.triangles, p, n, i),
        (1000, positions, normals, indices)
    );
    let other = SurfaceOptions {
        iso: 400.0,
        ..options
    };
    assert!(store.mesh("vol", &other).await.unwrap().is_none());
    // The engine is not part of a surface's identity: GPU and CPU agree.
    let on_the_gpu = SurfaceOptions {
        engine: insitu_mesh::Engine::Gpu,
        ..options
    };
    assert!(store.mesh("vol", &on_the_gpu).await.unwrap().is_some());
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

#[wasm_bindgen_test]
async fn opening_views_round_trip_beside_the_surfaces_and_go_with_their_volume() {
    let name = "insitu-test-opening-views";
    let store = Store::open(name).await.expect("open");
    let bytes: Vec<u8> = (0..300_000u32).map(|n| (n % 253) as u8).collect();
    assert!(store.opening_views("vol").await.unwrap().is_none());
    store
        .put_opening_views("vol", &js_sys::Uint8Array::from(bytes.as_slice()))
        .await
        .unwrap();
    let back = store.opening_views("vol").await.unwrap().expect("kept");
    assert_eq!(back.to_vec(), bytes);
    // Not another volume's, and no surface's options read as them.
    assert!(store.opening_views("vol2").await.unwrap().is_none());
    let options = SurfaceOptions {
        iso: 300.0,
        largest: false,
        min_island: None,
        smooth: 0,
        decimate: None,
        engine: insitu_mesh::Engine::Auto,
    };
    assert!(store.mesh("vol", &options).await.unwrap().is_none());
    store.delete_volume("vol").await.unwrap();
    assert!(store.opening_views("vol").await.unwrap().is_none());
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

#[wasm_bindgen_test]
async fn segments_round_trip_checked_and_go_with_their_volume() {
    use insitu_segment::{Anatomy, Labelmap, SegmentName, SegmentTable};
    use insitu_store::SegmentsRecord;
    let name = "insitu-test-segments";
    let store = Store::open(name).await.expect("open");
    let dims = [128, 128, 64];
    let mut labels = vec![0u8; 128 * 128 * 64];
    labels[5000..300_000].fill(1);
    labels[400_000..400_010].fill(2);
    let map = Labelmap::from_labels(dims, labels).unwrap();
    let mut table = SegmentTable::default();
    table.add(Some(Anatomy::T12)).unwrap();
    table.add(None).unwrap();
    table.get_mut(2).unwrap().name = SegmentName::Typed("typed by the user".into());
    let (rec, coded) = SegmentsRecord::of(&map, &table, 3.0);
    store
        .put_volume("vol", record(dims), &pattern(record(dims).voxel_bytes()))
        .await
        .unwrap();
    store.put_segments("vol", &rec, &coded).await.unwrap();
    let (back, back_coded) = store.segments("vol").await.unwrap().expect("kept");
    let (back_map, back_table) = back.restore(&back_coded).unwrap();
    assert_eq!(back_map, map);
    assert_eq!(
        back_table.get(1).unwrap().name,
        SegmentName::Anatomy(Anatomy::T12)
    );
    assert_eq!(back_table.get(2).unwrap().name, SegmentName::Numbered(2));
    // Damage is caught on restore.
    let mut damaged = back_coded.clone();
    damaged[0] ^= 1;
    assert!(back.restore(&damaged).unwrap_err().is_damage());
    // Deleting the volume deletes its segments.
    store.delete_volume("vol").await.unwrap();
    assert!(store.segments("vol").await.unwrap().is_none());
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

/// Deleting a volume takes its chunks, surfaces and opening views by key
/// range, and nothing of a volume whose key begins with its key; the
/// stamp's lookup among many kept volumes reads their records in one
/// transaction and still finds the newest so stamped.
#[wasm_bindgen_test]
async fn a_volume_deleted_leaves_one_whose_key_begins_alike() {
    let name = "insitu-test-prefix";
    let store = Store::open(name).await.expect("open");
    // Two chunks each (the second partial).
    let rec = record([512, 512, 40]);
    let voxels = pattern(rec.voxel_bytes());
    assert_eq!(rec.chunk_count(), 2);
    let options = SurfaceOptions {
        iso: 300.0,
        largest: false,
        min_island: None,
        smooth: 0,
        decimate: None,
        engine: insitu_mesh::Engine::Auto,
    };
    let mesh = MeshRecord {
        schema: SCHEMA_VERSION,
        options,
        triangles: 1,
        vertices: 3,
        watertight: false,
        hash: String::new(),
        cached_at_ms: 1.0,
    };
    let views = js_sys::Uint8Array::from(&[7u8; 1000][..]);
    for key in ["v", "v2"] {
        store.put_volume(key, rec.clone(), &voxels).await.unwrap();
        store
            .put_mesh(key, mesh.clone(), &[0.0; 9], &[0.0; 9], &[0, 1, 2])
            .await
            .unwrap();
        store.put_opening_views(key, &views).await.unwrap();
    }
    store.delete_volume("v").await.unwrap();
    assert!(store.volume_record("v").await.unwrap().is_none());
    assert!(store.mesh("v", &options).await.unwrap().is_none());
    assert!(store.opening_views("v").await.unwrap().is_none());
    let kept = store.volume_record("v2").await.unwrap().expect("v2 kept");
    let out: Vec<u8> = store.read_voxels("v2", &kept).await.expect("v2 reads");
    assert!(out == voxels, "v2's voxels differ after v was deleted");
    assert!(store.mesh("v2", &options).await.unwrap().is_some());
    assert!(store.opening_views("v2").await.unwrap().is_some());

    // Forty small volumes, one stamped twice: the newer is found.
    let stamp = FilesStamp::of(
        &[FileFacts {
            name: "series/IM0001",
            size: 1000,
            modified_ms: 1.7e12,
        }],
        40,
        &[b"head"],
    );
    let small = record([8, 8, 2]);
    let small_voxels = pattern(small.voxel_bytes());
    for n in 0..40 {
        let mut r = small.clone();
        r.cached_at_ms = f64::from(n);
        r.files_stamp = (n == 7 || n == 31).then_some(stamp);
        store
            .put_volume(&format!("s{n:02}"), r, &small_voxels)
            .await
            .unwrap();
    }
    let started = js_sys::Date::now();
    let found = key_of_files(&store, stamp).await;
    let took = js_sys::Date::now() - started;
    assert_eq!(found.as_deref(), Some("s31"));
    assert_eq!(store.volumes().await.unwrap().len(), 41);
    wasm_bindgen_test::console_log!("the stamp looked up among 41 volumes in {took} ms");
    store.close();

    // Only v2's chunks and surfaces are left of the two.
    let reopened = rexie::Rexie::builder(name).build().await.unwrap();
    for (store_name, left) in [("voxel_chunks", "v2#"), ("meshes", "v2|")] {
        let tx = reopened
            .transaction(&[store_name], rexie::TransactionMode::ReadOnly)
            .unwrap();
        let keys: Vec<String> = tx
            .store(store_name)
            .unwrap()
            .get_all_keys(None, None)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|k| k.as_string())
            .filter(|k| k.starts_with('v'))
            .collect();
        assert!(
            !keys.is_empty() && keys.iter().all(|k| k.starts_with(left)),
            "{store_name}: {keys:?}"
        );
    }
    reopened.close();
    Store::delete_database(name).await.expect("delete database");
}
