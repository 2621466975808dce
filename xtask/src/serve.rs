//! A static file server for `dist/` on loopback only.
//!
//! Plain static hosting is the deployment model (no COOP/COEP, no server
//! logic), so this is all the app ever needs from a server.

use std::path::{Component, Path, PathBuf};

use crate::proc::Result;

/// Content type for a file name; `application/wasm` matters for streaming
/// compilation.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" | "webmanifest" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Maps a request path to a file under `dist`, refusing anything that would
/// leave it; `/` and directories map to `index.html`.
pub fn resolve(dist: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let mut file = dist.to_path_buf();
    for component in Path::new(path.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

/// Serves `dist` on http://127.0.0.1:`port` until interrupted.
pub fn serve(dist: &Path, port: u16) -> Result {
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    eprintln!("\ninsitu is served at http://127.0.0.1:{port}/  (Ctrl-C to stop)");
    for request in server.incoming_requests() {
        let response = match resolve(dist, request.url()).and_then(|f| {
            std::fs::read(&f)
                .ok()
                .map(|bytes| (content_type(&f), bytes))
        }) {
            Some((kind, bytes)) => tiny_http::Response::from_data(bytes)
                .with_header(header("Content-Type", kind))
                .with_header(header("Cache-Control", "no-cache")),
            None => tiny_http::Response::from_string("not found").with_status_code(404),
        };
        let _ = request.respond(response);
    }
    Ok(())
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("static header is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_dist() {
        let dist = std::env::temp_dir().join(format!("insitu-serve-{}", std::process::id()));
        std::fs::create_dir_all(dist.join("sub")).unwrap();
        std::fs::write(dist.join("index.html"), "x").unwrap();
        std::fs::write(dist.join("sub/app.wasm"), "x").unwrap();
        assert_eq!(resolve(&dist, "/"), Some(dist.join("index.html")));
        assert_eq!(
            resolve(&dist, "/sub/app.wasm?v=1"),
            Some(dist.join("sub/app.wasm"))
        );
        assert_eq!(resolve(&dist, "/../etc/passwd"), None);
        assert_eq!(resolve(&dist, "/missing.js"), None);
        assert_eq!(content_type(Path::new("a/b.wasm")), "application/wasm");
        std::fs::remove_dir_all(&dist).unwrap();
    }
}
