//! Where input bytes come from: named buffers in memory (the browser's
//! `File`s, tests) or files on disk (the CLI), read one at a time.

use std::borrow::Cow;
use std::io;

/// One input file, readable (again) on demand.
///
/// Loading reads each file twice — headers first for every file, then pixels
/// slice by slice in stacking order — so that only one input file is held
/// beside the volume at any time.
pub trait Source {
    /// The name shown to the user (relative path in the dropped folder).
    fn name(&self) -> &str;
    /// The file's bytes.
    fn bytes(&self) -> io::Result<Cow<'_, [u8]>>;
}

/// A borrowed source reads as the source itself (jobs pick some of a list).
impl<S: Source + ?Sized> Source for &S {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        (**self).bytes()
    }
}

/// A named byte buffer already in memory.
#[derive(Debug, Clone)]
pub struct MemoryFile {
    /// Display name.
    pub name: String,
    /// Whole file content.
    pub bytes: Vec<u8>,
}

impl Source for MemoryFile {
    fn name(&self) -> &str {
        &self.name
    }
    fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(&self.bytes))
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use disk::{DiskFile, files_under};

#[cfg(not(target_arch = "wasm32"))]
mod disk {
    use super::*;
    use std::path::{Path, PathBuf};

    /// A file on disk, read when needed.
    #[derive(Debug, Clone)]
    pub struct DiskFile {
        /// Name relative to the folder that was opened.
        pub name: String,
        /// Full path.
        pub path: PathBuf,
    }

    impl Source for DiskFile {
        fn name(&self) -> &str {
            &self.name
        }
        fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
            std::fs::read(&self.path).map(Cow::Owned)
        }
    }

    /// Every regular file under `root`, recursively, sorted by path so runs
    /// are reproducible (order never decides slice order).
    pub fn files_under(root: &Path) -> io::Result<Vec<DiskFile>> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            if dir.is_file() {
                out.push(dir.clone());
                continue;
            }
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.is_file() {
                    out.push(path);
                }
            }
        }
        out.sort();
        Ok(out
            .into_iter()
            .map(|path| DiskFile {
                name: path
                    .strip_prefix(root)
                    .ok()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned(),
                path,
            })
            .collect())
    }
}
