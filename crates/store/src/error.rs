//! Why the cache could not do something: plain data, so it crosses the
//! worker boundary as it is and the app decides on variants, never on the
//! browser's wording.

use serde::{Deserialize, Serialize};

/// Why the cache could not do something.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum StoreError {
    /// The browser's storage for this app is full (`QuotaExceededError`).
    #[error("the browser's storage for this app is full")]
    QuotaFull,
    /// Another tab holds the database open at an older schema and blocks
    /// the upgrade (given up after three seconds).
    #[error(
        "another insitu tab holds an older version of the cache open; close it to use the cache"
    )]
    BlockedByOlderTab,
    /// The browser did not answer `operation` within the bound it is given
    /// (`OPEN_WAIT_MS`): the load goes on without the cache.
    #[error("IndexedDB did not answer the {operation} in time; the study loads without the cache")]
    NoAnswer {
        /// What was being done.
        operation: String,
    },
    /// IndexedDB refused for another reason.
    #[error("IndexedDB {operation} failed: {message}")]
    Idb {
        /// What was being done.
        operation: String,
        /// The browser's words.
        message: String,
    },
    /// A stored entry is not what was written (checksum, size, schema).
    #[error("cached entry damaged: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The entry itself is damaged (drop it), rather than the browser
    /// refusing to read it (leave it for next time).
    pub fn is_damage(&self) -> bool {
        matches!(self, Self::Corrupt(_))
    }
}
