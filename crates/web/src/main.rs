//! The UI-thread binary Trunk loads into the page.

fn main() {
    #[cfg(target_arch = "wasm32")]
    insitu_web::app::start();
}
