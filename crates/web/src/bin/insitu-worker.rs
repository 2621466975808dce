//! The study worker binary: Trunk builds it as a Web Worker.

fn main() {
    #[cfg(target_arch = "wasm32")]
    insitu_web::worker::start();
}
