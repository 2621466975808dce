//! Stamps the page's Content-Security-Policy with the hashes of its inline
//! scripts, so the policy needs no 'unsafe-inline'.
//!
//! Trunk inlines one small module script that loads the wasm; its text is
//! only known after the build, hence this post-build step.

use base64::Engine;
use sha2::{Digest, Sha256};

/// The token in `www/index.html` that the real hashes replace.
pub const PLACEHOLDER: &str = "'sha256-INSITU_INLINE_SCRIPT_HASHES'";

/// Bodies of the inline `<script>` elements (those without `src=`).
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut bodies = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after_open = &rest[open..];
        let Some(tag_end) = after_open.find('>') else {
            break;
        };
        let tag = &after_open[..tag_end];
        let body_and_more = &after_open[tag_end + 1..];
        let Some(close) = body_and_more.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            bodies.push(&body_and_more[..close]);
        }
        rest = &body_and_more[close + "</script>".len()..];
    }
    bodies
}

/// CSP source expression `'sha256-…'` for a script body.
pub fn hash_source(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Replaces the placeholder with the hashes of every inline script.
pub fn stamp(html: &str) -> Result<String, String> {
    if !html.contains(PLACEHOLDER) {
        return Err(format!("index.html has no CSP placeholder {PLACEHOLDER}"));
    }
    let sources: Vec<String> = inline_scripts(html).into_iter().map(hash_source).collect();
    if sources.is_empty() {
        return Err("no inline loader script found in Trunk's output".into());
    }
    Ok(html.replace(PLACEHOLDER, &sources.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html = format!(
            "<meta content=\"script-src {PLACEHOLDER}\"><script src=\"a.js\"></script>\
             <script type=\"module\">import x from './a.js';</script>"
        );
        assert_eq!(inline_scripts(&html), vec!["import x from './a.js';"]);
        let stamped = stamp(&html).unwrap();
        assert!(!stamped.contains("INSITU_INLINE"));
        assert!(stamped.contains(&hash_source("import x from './a.js';")));
    }

    #[test]
    fn known_sha256_matches_browsers() {
        // echo -n "alert('Hello, world.');" | openssl sha256 -binary | base64
        assert_eq!(
            hash_source("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
    }

    #[test]
    fn missing_placeholder_or_loader_is_an_error() {
        assert!(stamp("<html></html>").is_err());
        assert!(stamp(&format!("<meta content=\"{PLACEHOLDER}\">")).is_err());
    }
}
