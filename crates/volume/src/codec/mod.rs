//! Codecs written here because no usable pure-Rust crate exists.

pub mod jpeg_ls;
