//! Codecs written here because no usable pure-Rust crate exists.

pub mod jpeg_dct;
pub mod jpeg_ls;

/// A decoded greyscale image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Bits per sample.
    pub bits: u32,
    /// Samples, row by row.
    pub samples: Vec<u16>,
}
