//! IndexedDB round trips in a real headless Chromium (wasm-bindgen-test).
#![cfg(target_arch = "wasm32")]

use insitu_store::Store;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Bytes that differ at every position, so a shifted or truncated read fails.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

#[wasm_bindgen_test]
async fn multi_megabyte_typed_array_round_trips() {
    let name = "insitu-test-round-trip";
    let store = Store::open(name).await.expect("open");
    let bytes = pattern(24 << 20);
    store
        .put_bytes("volume/chunk-0", &bytes)
        .await
        .expect("put");
    let back = store.get_bytes("volume/chunk-0").await.expect("get");
    assert_eq!(back.as_deref().map(<[u8]>::len), Some(bytes.len()));
    assert!(back.unwrap() == bytes, "stored bytes differ");
    store.close();
    Store::delete_database(name).await.expect("delete database");
}

#[wasm_bindgen_test]
async fn reopened_database_keeps_values_and_forgets_deleted_ones() {
    let name = "insitu-test-reopen";
    let store = Store::open(name).await.expect("open");
    store.put_bytes("a", &pattern(1000)).await.expect("put a");
    store.put_bytes("b", &[7; 3]).await.expect("put b");
    store.close();

    let store = Store::open(name).await.expect("reopen");
    assert_eq!(store.get_bytes("a").await.unwrap(), Some(pattern(1000)));
    store.delete("b").await.expect("delete");
    assert_eq!(store.get_bytes("b").await.unwrap(), None);
    assert_eq!(store.get_bytes("never-written").await.unwrap(), None);
    store.close();
    Store::delete_database(name).await.expect("delete database");
}
