//! Errors that name the file and say what is wrong with it.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why one input file did not (fully) contribute to a volume. Plain data:
/// it crosses workers and the UI boundary as it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum Problem {
    /// Not DICOM at all: a README, a `.DS_Store`, a PDF report.
    #[error("not a DICOM file ({0})")]
    NotDicom(String),
    /// A DICOMDIR: an index of other files, not an image.
    #[error("DICOMDIR (a directory index, not an image)")]
    DicomDir,
    /// DICOM without pixel data: structured report, RT plan, presentation state.
    #[error("no pixel data (SOP class {0})")]
    NoPixelData(String),
    /// The data set could not be parsed.
    #[error("unreadable DICOM: {0}")]
    Parse(String),
    /// A tag the volume needs is absent.
    #[error("missing {0}")]
    MissingTag(Cow<'static, str>),
    /// A tag has a value we cannot use.
    #[error("invalid {tag}: {why}")]
    BadValue {
        /// Keyword of the tag.
        tag: Cow<'static, str>,
        /// What is wrong with its value.
        why: String,
    },
    /// Pixel encoding we do not decode.
    #[error("unsupported transfer syntax {name} ({uid}); supported: {supported}")]
    UnsupportedTransferSyntax {
        /// Human name of the transfer syntax.
        name: String,
        /// Its UID.
        uid: String,
        /// The list of what we do decode.
        supported: String,
    },
    /// Pixel layout that is not a scalar image (colour, 1-bit, 32-bit float).
    #[error("unsupported pixel format: {0}")]
    UnsupportedPixels(String),
    /// The pixel data is shorter than rows × columns × frames says.
    #[error("pixel data truncated: {got} bytes, {expected} expected")]
    Truncated {
        /// Bytes present.
        got: usize,
        /// Bytes the header promises.
        expected: usize,
    },
    /// The codec failed on this frame.
    #[error("pixel data could not be decoded: {0}")]
    Decode(String),
    /// Reading the file failed.
    #[error("read failed: {0}")]
    Io(String),
}

/// A [`Problem`] with the file it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileError {
    /// The file's display name.
    pub file: String,
    /// What is wrong.
    pub problem: Problem,
}

impl FileError {
    /// Attaches `problem` to `file`.
    pub fn new(file: impl Into<String>, problem: Problem) -> Self {
        Self {
            file: file.into(),
            problem,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

impl std::error::Error for FileError {}
