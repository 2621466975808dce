//! The insitu web app: a thin shell that moves messages and draws.
//!
//! Every decision lives in the pure crates (`volume`, `mesh`, `gpu`'s engine
//! policy, `store`'s records) or in this crate's pure modules, tested
//! natively: the messages ([`protocol`]), the study a worker holds
//! ([`study`]) and its segments ([`segments`]), the worker's queue
//! ([`queue`]), the files arriving for a scan ([`arrivals`]), its use
//! of the cache ([`cache`]) and the first views it keeps there
//! ([`opening_views`]). The browser glue is wasm only: the UI thread ([`app`]) draws
//! and handles input; the study worker ([`worker`]) reads files, decodes,
//! reslices and meshes, with decoder workers ([`decoders`]) for large
//! compressed series; every message between them goes through
//! [`envelope`].

pub mod arrivals;
pub mod cache;
pub mod opening_views;
pub mod protocol;
pub mod queue;
pub mod segments;
pub mod study;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
mod decoders;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod envelope;
#[cfg(target_arch = "wasm32")]
mod laps;
#[cfg(target_arch = "wasm32")]
pub mod worker;
