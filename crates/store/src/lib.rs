//! The IndexedDB cache of derived data (volumes, meshes), browser only.
//!
//! Values are stored as typed arrays in an object store; large volumes are
//! written in chunks by the caller, because one value of 150 MB never finishes
//! in Chromium while 4–64 MB chunks write at several hundred MB/s. This crate
//! knows volumes and meshes, never DICOM metadata, so nothing it persists can
//! identify a patient.
#![cfg(target_arch = "wasm32")]

use js_sys::Uint8Array;
use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};

/// Schema version of the database; bump it with every change of object stores.
pub const SCHEMA_VERSION: u32 = 1;

/// Object store holding byte chunks keyed by content-derived strings.
const CHUNKS: &str = "chunks";

/// A failed IndexedDB operation, with what we were doing when it failed.
#[derive(Debug, thiserror::Error)]
#[error("IndexedDB {operation} failed: {message}")]
pub struct StoreError {
    operation: &'static str,
    message: String,
}

impl StoreError {
    fn during(operation: &'static str) -> impl FnOnce(rexie::Error) -> Self {
        move |e| Self {
            operation,
            message: e.to_string(),
        }
    }
}

/// An open cache database.
pub struct Store {
    db: Rexie,
}

impl Store {
    /// Opens (creating or upgrading) the database called `name`.
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let db = Rexie::builder(name)
            .version(SCHEMA_VERSION)
            .add_object_store(ObjectStore::new(CHUNKS))
            .build()
            .await
            .map_err(StoreError::during("open"))?;
        Ok(Self { db })
    }

    /// Stores `bytes` under `key`, replacing any previous value.
    pub async fn put_bytes(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[CHUNKS], TransactionMode::ReadWrite)
            .map_err(StoreError::during("put"))?;
        let store = tx.store(CHUNKS).map_err(StoreError::during("put"))?;
        let value = Uint8Array::from(bytes);
        store
            .put(&value, Some(&JsValue::from_str(key)))
            .await
            .map_err(StoreError::during("put"))?;
        tx.done().await.map_err(StoreError::during("put commit"))?;
        Ok(())
    }

    /// Reads the bytes stored under `key`, `None` when absent.
    pub async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self
            .db
            .transaction(&[CHUNKS], TransactionMode::ReadOnly)
            .map_err(StoreError::during("get"))?;
        let store = tx.store(CHUNKS).map_err(StoreError::during("get"))?;
        let value = store
            .get(JsValue::from_str(key))
            .await
            .map_err(StoreError::during("get"))?;
        tx.done().await.map_err(StoreError::during("get commit"))?;
        Ok(value
            .and_then(|v| v.dyn_into::<Uint8Array>().ok())
            .map(|array| array.to_vec()))
    }

    /// Removes the value under `key` (absent keys are fine).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(&[CHUNKS], TransactionMode::ReadWrite)
            .map_err(StoreError::during("delete"))?;
        let store = tx.store(CHUNKS).map_err(StoreError::during("delete"))?;
        store
            .delete(JsValue::from_str(key))
            .await
            .map_err(StoreError::during("delete"))?;
        tx.done()
            .await
            .map_err(StoreError::during("delete commit"))?;
        Ok(())
    }

    /// Closes the connection so the database can be deleted or upgraded.
    pub fn close(self) {
        self.db.close();
    }

    /// Deletes the whole database called `name`.
    pub async fn delete_database(name: &str) -> Result<(), StoreError> {
        Rexie::delete(name)
            .await
            .map_err(StoreError::during("delete database"))
    }
}
