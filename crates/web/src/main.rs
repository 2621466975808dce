//! The insitu web app: a thin shell that wires the page to the cores.
//!
//! Everything heavy lives in the pure crates (`volume`, `mesh`) and in `gpu`;
//! this binary only touches the DOM, starts workers and moves data between them.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod dom;

fn main() {
    #[cfg(target_arch = "wasm32")]
    app::start();
}
