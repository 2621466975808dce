//! The cache where the app uses it, a dedicated worker, in a real headless
//! Chromium: volumes' voxels go into the origin private file system through
//! sync access handles; round trip, damage, a file another reader holds,
//! orphans and removal.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{assert_chunk_1_damage, pattern, record, stored_with_chunk_1_damaged};
use insitu_store::{Store, StoreError, VolumeWrite, VoxelPlace};
use js_sys::{Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = Reflect::get(target, &method.into())?.dyn_into()?;
    let out = f.apply(target, &args.iter().collect())?;
    match out.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(value) => Ok(value),
    }
}

/// Database `database`'s voxel folder, looked at independently of the
/// store.
async fn folder(database: &str) -> Result<JsValue, JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into())?;
    let storage = Reflect::get(&navigator, &"storage".into())?;
    let root = call(&storage, "getDirectory", &[]).await?;
    call(
        &root,
        "getDirectoryHandle",
        &[format!("{database}-voxels").into()],
    )
    .await
}

/// The names of the files in database `database`'s voxel folder.
async fn files_in(database: &str) -> Vec<String> {
    let Ok(folder) = folder(database).await else {
        return Vec::new();
    };
    let names = call(&folder, "keys", &[]).await.unwrap();
    let mut out = Vec::new();
    loop {
        let step = call(&names, "next", &[]).await.unwrap();
        if Reflect::get(&step, &"done".into()).unwrap().is_truthy() {
            return out;
        }
        out.push(
            Reflect::get(&step, &"value".into())
                .unwrap()
                .as_string()
                .unwrap(),
        );
    }
}

/// Volume `key`'s file, opened for sync access by the test (another reader).
async fn hold(database: &str, key: &str) -> JsValue {
    let folder = folder(database).await.unwrap();
    let file = call(&folder, "getFileHandle", &[format!("{key}.voxels").into()])
        .await
        .unwrap();
    call(&file, "createSyncAccessHandle", &[]).await.unwrap()
}

#[wasm_bindgen_test]
async fn a_volume_goes_into_one_file_and_back() {
    let name = "insitu-test-files";
    let store = Store::open(name).await.expect("open");
    assert!(store.keeps_voxel_files(), "a dedicated worker has OPFS");
    // 512 x 512 x 170 i16: 85 MB, six chunks, the last one partial.
    let rec = record([512, 512, 170]);
    let voxels = pattern(rec.voxel_bytes());
    store
        .put_volume("k1", rec.clone(), &voxels)
        .await
        .expect("put");
    assert_eq!(files_in(name).await, ["k1.voxels"]);
    let back = store.volume_record("k1").await.unwrap().expect("present");
    assert_eq!(back.voxels_in, VoxelPlace::File);
    assert_eq!(back.chunk_hashes.len(), 6);
    let out: Vec<u8> = store.read_voxels("k1", &back).await.expect("read");
    assert!(out == voxels, "voxels differ after the round trip");
    let as_i16: Vec<i16> = store.read_voxels("k1", &back).await.expect("read i16");
    assert!(bytemuck::cast_slice::<i16, u8>(&as_i16) == voxels);

    // Another reader holds the file (a second tab): read through a Blob;
    // the same volume written meanwhile goes into IndexedDB chunks.
    let held = hold(name, "k1").await;
    let out: Vec<u8> = store.read_voxels("k1", &back).await.expect("read held");
    assert!(out == voxels, "voxels differ when read as a Blob");
    store
        .put_volume("k1", rec.clone(), &voxels)
        .await
        .expect("put beside a reader");
    let beside = store.volume_record("k1").await.unwrap().expect("present");
    assert_eq!(beside.voxels_in, VoxelPlace::Chunks);
    let out: Vec<u8> = store.read_voxels("k1", &beside).await.expect("read chunks");
    assert!(out == voxels, "voxels differ when written beside a reader");
    call(&held, "close", &[]).await.unwrap();

    store.delete_volume("k1").await.unwrap();
    assert!(store.volume_record("k1").await.unwrap().is_none());
    assert!(
        files_in(name).await.is_empty(),
        "the file goes with its volume"
    );
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

#[wasm_bindgen_test]
async fn damage_in_a_voxel_file_is_caught() {
    let name = "insitu-test-file-damage";
    let store = Store::open(name).await.expect("open");
    // One flipped byte in chunk 1, read through the sync handle and as a Blob.
    let (back, voxels) = stored_with_chunk_1_damaged(&store).await;
    assert_eq!(back.voxels_in, VoxelPlace::File);
    assert_chunk_1_damage(&store.read_voxels::<u8>("k", &back).await.unwrap_err());
    let held = hold(name, "k").await;
    assert_chunk_1_damage(&store.read_voxels::<u8>("k", &back).await.unwrap_err());
    // Cut short: its size says so before anything is read.
    call(&held, "truncate", &[JsValue::from(1000)])
        .await
        .unwrap();
    call(&held, "close", &[]).await.unwrap();
    let err = store.read_voxels::<u8>("k", &back).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt(ref m) if m.contains("holds 1000 bytes")),
        "{err}"
    );
    // Gone: damage too (the app drops the entry and rebuilds it).
    store.clear().await.unwrap();
    assert!(files_in(name).await.is_empty(), "clear removes every file");
    store.put_volume("k", back.clone(), &voxels).await.unwrap();
    let back = store.volume_record("k").await.unwrap().unwrap();
    let folder = folder(name).await.unwrap();
    call(&folder, "removeEntry", &["k.voxels".into()])
        .await
        .unwrap();
    let err = store.read_voxels::<u8>("k", &back).await.unwrap_err();
    assert!(err.is_damage(), "{err}");
    store.close();
    Store::delete_database(name).await.expect("delete database");
    assert!(files_in(name).await.is_empty());
}

/// A write in steps has no record until its last chunk; a write left
/// half-done (a tab closed) leaves a file no record names, which listing
/// the volumes removes, but not while a write holds it open.
#[wasm_bindgen_test]
async fn a_half_written_file_is_never_read_and_is_swept() {
    let name = "insitu-test-file-steps";
    let store = Store::open(name).await.expect("open");
    let rec = record([512, 512, 70]);
    let voxels = pattern(rec.voxel_bytes());
    let mut write = VolumeWrite::new("k", rec.clone(), &voxels).expect("sizes match");
    assert!(!write.step(&store, &voxels).await.expect("chunk"));
    assert!(store.volume_record("k").await.unwrap().is_none());
    // Held open by the write: listing leaves it.
    assert!(store.volumes().await.unwrap().is_empty());
    assert_eq!(files_in(name).await, ["k.voxels"]);
    drop(write);
    // Closed and named by no record: swept.
    assert!(store.volumes().await.unwrap().is_empty());
    assert!(files_in(name).await.is_empty(), "the orphan is removed");

    let mut write = VolumeWrite::new("k", rec, &voxels).expect("sizes match");
    while !write.step(&store, &voxels).await.expect("step") {}
    let back = store.volume_record("k").await.unwrap().expect("present");
    let out: Vec<u8> = store.read_voxels("k", &back).await.expect("read");
    assert!(out == voxels, "voxels differ after a write in steps");
    assert_eq!(store.volumes().await.unwrap().len(), 1);
    assert_eq!(files_in(name).await, ["k.voxels"]);
    store.close();
    Store::delete_database(name).await.expect("delete database");
}
