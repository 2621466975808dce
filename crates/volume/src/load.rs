//! The two passes of loading: scan every file's header, then build one
//! series' volume by decoding its frames straight into the voxel buffer.

use std::collections::BTreeMap;

use crate::error::{FileError, Problem};
use crate::header::{ImageHeader, Rescale};
use crate::parse::{Depth, parse};
use crate::pixels::{Conversion, Overflow, Slot, convert, frame_samples};
use crate::series::{SeriesPlan, Warning, plan};
use crate::source::Source;
use crate::transfer_syntax::check_supported;
use crate::{Volume, Voxels};

/// What a folder holds: the series found and the files that were skipped.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Every stack found, in display order.
    pub series: Vec<SeriesPlan>,
    /// Files that contribute nothing, each with its reason.
    pub skipped: Vec<FileError>,
    headers: Vec<(usize, ImageHeader)>,
    /// Per file: the digest of its encoded pixels, when taken at the scan
    /// (the browser hashes each file while it has its bytes).
    pub(crate) digests: Vec<Option<u128>>,
}

/// One file as the scan saw it: its header, or why it has none, and, when
/// asked for, the digest of its encoded pixels (for the content key).
#[derive(Debug, Clone)]
pub struct ScannedFile {
    header: Result<ImageHeader, FileError>,
    digest: Option<u128>,
}

impl ScannedFile {
    /// Reads `source`'s header and, if `with_digest`, hashes its encoded
    /// pixels: one read of its bytes for both.
    pub fn read(source: &impl Source, with_digest: bool) -> Self {
        let bytes = match source.bytes() {
            Ok(bytes) => bytes,
            Err(e) => {
                return Self {
                    header: Err(FileError::new(source.name(), Problem::Io(e.to_string()))),
                    digest: None,
                };
            }
        };
        let header = read_header(source.name(), &bytes);
        let digest =
            (with_digest && header.is_ok()).then(|| crate::content_key::pixel_digest(&bytes));
        Self { header, digest }
    }

    /// The header, when the file is a usable image.
    pub(crate) fn header(&self) -> Option<&ImageHeader> {
        self.header.as_ref().ok()
    }
}

/// A built volume and what the user should know about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The voxels and their geometry.
    pub volume: Volume,
    /// The series' warnings plus any slice that failed while decoding.
    pub warnings: Vec<Warning>,
    /// The voxels' lowest and highest value when it was taken as they
    /// were converted (while each slice was in the cache: no pass over
    /// the whole volume for it); `None`: ask [`Volume::value_range`].
    pub value_range: Option<(f32, f32)>,
}

/// The series could not be built at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum BuildError {
    /// No series with this index.
    #[error("no series {0} in this scan")]
    NoSuchSeries(usize),
    /// Every slice failed; the first failure is reported.
    #[error("no slice of the series could be read; first failure: {0}")]
    NothingReadable(FileError),
    /// The volume needs more memory than a volume may take here
    /// (`budget_bytes`; 0 when the allocation itself was refused);
    /// `offers`: the reduced loads that would fit.
    #[error(
        "this series needs {needed:.2} GB of memory for its voxels, more than {can} (nothing was decoded){reduced}",
        needed = *.needed_bytes as f64 / 1e9,
        can = if *.budget_bytes == 0 { "this browser tab was given".to_owned() } else { format!("the {:.2} GB a browser tab can hold for one volume", *.budget_bytes as f64 / 1e9) },
        reduced = if .offers.is_empty() { "" } else { "; it can be read reduced" }
    )]
    TooLarge {
        /// Bytes the voxels need.
        needed_bytes: u64,
        /// The budget they exceed (0: the allocation was refused).
        budget_bytes: u64,
        /// Reduced loads that fit, least lossy first.
        offers: Vec<crate::ReducedLoad>,
    },
}

/// Reads one file's header, classifying why it is not a usable image.
fn read_header(name: &str, bytes: &[u8]) -> Result<ImageHeader, FileError> {
    let fail = |problem| FileError::new(name, problem);
    let obj = guarded(|| parse(bytes, Depth::Headers)).map_err(fail)?;
    let header = ImageHeader::read(&obj).map_err(fail)?;
    check_supported(&header.transfer_syntax).map_err(fail)?;
    check_plausible_size(&header, bytes.len()).map_err(fail)?;
    Ok(header)
}

/// Refuses headers that promise more pixels than the file can hold, before
/// anything is allocated: a corrupt Rows/Columns/NumberOfFrames must give an
/// error, not a multi-gigabyte allocation.
fn check_plausible_size(header: &ImageHeader, file_len: usize) -> Result<(), Problem> {
    let expected = header.frame_bytes() as u64 * header.frames.len() as u64;
    let uncompressed = matches!(
        header.transfer_syntax.as_str(),
        "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.2"
    );
    if uncompressed && expected > file_len as u64 {
        return Err(Problem::Truncated {
            got: file_len,
            expected: expected as usize,
        });
    }
    // Compressed (or deflated) data: allow generous ratios, not absurd ones.
    let limit = (file_len as u64).saturating_mul(2000).max(64 << 20);
    if expected > limit {
        return Err(Problem::BadValue {
            tag: "Rows".into(),
            why: format!(
                "{}x{}x{} frames would need {expected} bytes from a {file_len}-byte file",
                header.cols,
                header.rows,
                header.frames.len()
            ),
        });
    }
    Ok(())
}

/// Runs parser/decoder code, turning a panic in a dependency into an error
/// so one hostile file never takes down the whole load.
fn guarded<T>(f: impl FnOnce() -> Result<T, Problem>) -> Result<T, Problem> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err(Problem::Parse("decoder crashed on this file".into())))
    }
    #[cfg(target_arch = "wasm32")]
    {
        f()
    }
}

/// First pass: every file's header, grouped into series.
pub fn scan<S: Source + Sync>(sources: &[S]) -> Scan {
    let read = |source: &S| ScannedFile::read(source, false);
    #[cfg(not(target_arch = "wasm32"))]
    let files: Vec<ScannedFile> = {
        use rayon::prelude::*;
        sources.par_iter().map(read).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let files: Vec<ScannedFile> = sources.iter().map(read).collect();
    Scan::from_files(files)
}

impl Scan {
    /// The scan of files read one by one elsewhere (file `i` is
    /// `files[i]`): the browser reads a batch of files at a time and lets
    /// each go once it is scanned.
    pub fn from_files(files: Vec<ScannedFile>) -> Scan {
        let mut headers = Vec::new();
        let mut skipped = Vec::new();
        let mut digests = Vec::with_capacity(files.len());
        for (i, file) in files.into_iter().enumerate() {
            digests.push(file.digest);
            match file.header {
                Ok(header) => headers.push((i, header)),
                Err(e) => skipped.push(e),
            }
        }
        Scan {
            series: plan(&headers),
            skipped,
            headers,
            digests,
        }
    }

    /// Index (into the scanned sources) of the file holding a series' first
    /// slice: the one the tag browser shows.
    pub fn first_file_of(&self, series: usize) -> Option<usize> {
        let plan = self.series.get(series)?;
        let slice = plan.slices.first()?;
        self.headers.get(slice.header).map(|(file, _)| *file)
    }

    /// The series with the most slices: what opens by default.
    pub fn largest_series(&self) -> Option<usize> {
        self.series
            .iter()
            .max_by_key(|s| (s.info.dims[2], std::cmp::Reverse(s.info.index)))
            .map(|s| s.info.index)
    }

    /// Header number `header` of the scan.
    pub(crate) fn header_of(&self, header: usize) -> &ImageHeader {
        &self.headers[header].1
    }

    /// Index (into the scanned sources) of the file behind header `header`.
    pub(crate) fn file_of_header(&self, header: usize) -> usize {
        self.headers[header].0
    }

    /// Second pass: decodes series `index` into a volume.
    pub fn build<S: Source + Sync>(
        &self,
        index: usize,
        sources: &[S],
    ) -> Result<Loaded, BuildError> {
        self.build_with_progress(index, sources, &|_, _| {})
    }

    /// [`Scan::build`], calling `progress(slices decoded, slices)` as slices
    /// are done (from any thread): a progress bar for long loads.
    pub fn build_with_progress<S: Source + Sync>(
        &self,
        index: usize,
        sources: &[S],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Loaded, BuildError> {
        let plan = self
            .series
            .get(index)
            .ok_or(BuildError::NoSuchSeries(index))?;
        if plan.block > 1 {
            // Pixels averaged into blocks: the assembly reduces each frame.
            return self.build_reduced(index, sources);
        }
        let integral = plan.slices.iter().all(|s| s.rescale.is_integral());
        if integral {
            // Overflow (values beyond i16) falls through to an f32 build.
            if let Ok(result) = self.fill::<i16, S>(plan, sources, progress) {
                return result;
            }
        }
        self.fill::<f32, S>(plan, sources, progress)
            .unwrap_or_else(|Overflow| unreachable!("f32 never overflows"))
    }

    /// A reduced series, a batch of files at a time through an
    /// [`crate::Assembly`] (as the browser decodes), i16 unless a value
    /// does not fit.
    fn build_reduced<S: Source + Sync>(
        &self,
        index: usize,
        sources: &[S],
    ) -> Result<Loaded, BuildError> {
        let mut float = self.needs_float(index)?;
        'attempt: loop {
            let jobs = self.decode_batches(index, 64, float)?;
            let mut assembly = self.start_assembly(index, float)?;
            for job in &jobs {
                let files = job.files.iter().map(|&f| &sources[f]);
                if assembly.decode(job, files).is_err() {
                    float = true;
                    continue 'attempt;
                }
            }
            return assembly.finish(self);
        }
    }

    fn fill<T: Sample, S: Source + Sync>(
        &self,
        plan: &SeriesPlan,
        sources: &[S],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Result<Loaded, BuildError>, Overflow> {
        let frame_len = plan.geometry.dims.x as usize * plan.geometry.dims.y as usize;
        let mut voxels = vec![T::from_f32(plan.padding_output); frame_len * plan.slices.len()];
        // Slices grouped by file so a multi-frame file is parsed once.
        let mut by_file: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (k, slice) in plan.slices.iter().enumerate() {
            by_file
                .entry(self.headers[slice.header].0)
                .or_default()
                .push(k);
        }
        let failures =
            self.decode_files(plan, sources, &by_file, &mut voxels, frame_len, progress)?;
        Ok(finish_volume(plan, T::wrap(voxels), failures))
    }

    /// Decodes every slice into its place; returns the slices that failed.
    fn decode_files<T: Sample, S: Source + Sync>(
        &self,
        plan: &SeriesPlan,
        sources: &[S],
        by_file: &BTreeMap<usize, Vec<usize>>,
        voxels: &mut [T],
        frame_len: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Vec<(usize, FileError)>, Overflow> {
        let one_slice_per_file = by_file.len() == plan.slices.len();
        let total = plan.slices.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let advance = |n: usize| {
            let now = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
            progress(now, total);
        };
        let decode_one =
            |k: usize, out: &mut [T]| -> Result<Option<(usize, FileError)>, Overflow> {
                let file = self.headers[plan.slices[k].header].0;
                let result = match self.decode_file_slices(plan, &sources[file], &mut [(k, out)]) {
                    Ok(()) => Ok(None),
                    Err(FileDecodeError::Overflow) => Err(Overflow),
                    Err(FileDecodeError::Problem(e)) => Ok(Some((k, e))),
                };
                advance(1);
                result
            };
        let mut failures = Vec::new();
        if one_slice_per_file {
            #[cfg(not(target_arch = "wasm32"))]
            {
                use rayon::prelude::*;
                let results: Vec<_> = voxels
                    .par_chunks_mut(frame_len)
                    .enumerate()
                    .map(|(k, out)| decode_one(k, out))
                    .collect();
                for r in results {
                    failures.extend(r?);
                }
            }
            #[cfg(target_arch = "wasm32")]
            for (k, out) in voxels.chunks_mut(frame_len).enumerate() {
                failures.extend(decode_one(k, out)?);
            }
        } else {
            let mut slots: Vec<Option<&mut [T]>> = voxels.chunks_mut(frame_len).map(Some).collect();
            for (&file, ks) in by_file {
                let mut targets: Vec<(usize, &mut [T])> = ks
                    .iter()
                    .map(|&k| (k, slots[k].take().expect("each slice once")))
                    .collect();
                match self.decode_file_slices(plan, &sources[file], &mut targets) {
                    Ok(()) => {}
                    Err(FileDecodeError::Overflow) => return Err(Overflow),
                    Err(FileDecodeError::Problem(e)) => {
                        failures.extend(ks.iter().map(|&k| (k, e.clone())))
                    }
                }
                advance(ks.len());
            }
        }
        failures.sort_by_key(|f| f.0);
        Ok(failures)
    }

    fn decode_file_slices<T: Sample>(
        &self,
        plan: &SeriesPlan,
        source: &impl Source,
        targets: &mut [(usize, &mut [T])],
    ) -> Result<(), FileDecodeError> {
        let header = &self.headers[plan.slices[targets[0].0].header].1;
        let mut frames: Vec<(u32, Rescale, &mut [T])> = targets
            .iter_mut()
            .map(|(k, out)| (plan.slices[*k].frame, plan.slices[*k].rescale, &mut **out))
            .collect();
        decode_frames(
            source,
            Some(header),
            plan.padding_output,
            plan.invert,
            &mut frames,
        )
    }
}

/// Decodes frames of one file, each with its rescale, into its output.
/// `header` is the scan's; without it (a job run elsewhere) it is read
/// again from the same bytes, which gives the same header.
pub(crate) fn decode_frames<T: Sample>(
    source: &impl Source,
    header: Option<&ImageHeader>,
    padding_output: f32,
    invert: bool,
    frames: &mut [(u32, Rescale, &mut [T])],
) -> Result<(), FileDecodeError> {
    let fail = |p| FileDecodeError::Problem(FileError::new(source.name(), p));
    let bytes = source
        .bytes()
        .map_err(|e| fail(Problem::Io(e.to_string())))?;
    if let Some(header) = header
        && let Some(samples) = crate::parse::native_pixel_value(&bytes)
    {
        return convert_native(samples, header, padding_output, invert, frames).map_err(
            |e| match e {
                NativeError::Overflow => FileDecodeError::Overflow,
                NativeError::Truncated(p) => fail(p),
            },
        );
    }
    let obj = guarded(|| parse(&bytes, Depth::Full)).map_err(fail)?;
    let read;
    let header = match header {
        Some(h) => h,
        None => {
            read = ImageHeader::read(&obj).map_err(fail)?;
            &read
        }
    };
    for (frame, rescale, out) in frames.iter_mut() {
        let samples = guarded(|| frame_samples(&obj, header, *frame)).map_err(fail)?;
        convert_frame(&samples, header, *rescale, padding_output, invert, out)
            .map_err(|Overflow| FileDecodeError::Overflow)?;
    }
    Ok(())
}

/// One frame's stored samples into `out`, as `header` lays them out.
pub(crate) fn convert_frame<T: Sample>(
    samples: &[u8],
    header: &ImageHeader,
    rescale: Rescale,
    padding_output: f32,
    invert: bool,
    out: &mut [T],
) -> Result<(), Overflow> {
    let conversion = Conversion {
        pixel: header.pixel,
        rescale,
        padding: header.padding,
        padding_output,
        invert,
    };
    T::convert(samples, &conversion, out)
}

enum NativeError {
    Overflow,
    Truncated(Problem),
}

/// Converts frames straight from a native file's Pixel Data value (the
/// scan's header says how its samples are laid out): the common CT case,
/// at memory speed, with no parse of the element tree.
fn convert_native<T: Sample>(
    samples: &[u8],
    header: &ImageHeader,
    padding_output: f32,
    invert: bool,
    frames: &mut [(u32, Rescale, &mut [T])],
) -> Result<(), NativeError> {
    let size = header.frame_bytes();
    for (frame, rescale, out) in frames.iter_mut() {
        let start = size * *frame as usize;
        let frame_samples = samples
            .get(start..start + size)
            .ok_or(NativeError::Truncated(Problem::Truncated {
                got: samples.len(),
                expected: size * header.frames.len(),
            }))?;
        convert_frame(frame_samples, header, *rescale, padding_output, invert, out)
            .map_err(|Overflow| NativeError::Overflow)?;
    }
    Ok(())
}

pub(crate) enum FileDecodeError {
    Overflow,
    Problem(FileError),
}

/// Voxel element types the volume can be built in.
pub(crate) trait Sample: Copy + Send + Sync + 'static {
    fn from_f32(v: f32) -> Self;
    fn to_f64(self) -> f64;
    /// The voxel for the mean `sum / n` (rounded for integers).
    fn mean(sum: f64, n: f64) -> Self;
    fn wrap(v: Vec<Self>) -> Voxels;
    fn convert(samples: &[u8], conv: &Conversion, out: &mut [Self]) -> Result<(), Overflow>;
}

impl Sample for i16 {
    fn from_f32(v: f32) -> Self {
        v as i16
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn mean(sum: f64, n: f64) -> Self {
        (sum / n).round() as i16
    }
    fn wrap(v: Vec<Self>) -> Voxels {
        Voxels::I16(v)
    }
    fn convert(samples: &[u8], conv: &Conversion, out: &mut [Self]) -> Result<(), Overflow> {
        convert(samples, conv, Slot::I16(out))
    }
}

impl Sample for f32 {
    fn from_f32(v: f32) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn mean(sum: f64, n: f64) -> Self {
        (sum / n) as f32
    }
    fn wrap(v: Vec<Self>) -> Voxels {
        Voxels::F32(v)
    }
    fn convert(samples: &[u8], conv: &Conversion, out: &mut [Self]) -> Result<(), Overflow> {
        convert(samples, conv, Slot::F32(out))
    }
}

/// The volume from decoded voxels, with a warning per failed slice; an
/// error when no slice could be read.
pub(crate) fn finish_volume(
    plan: &SeriesPlan,
    voxels: Voxels,
    mut failures: Vec<(usize, FileError)>,
) -> Result<Loaded, BuildError> {
    failures.sort_by_key(|f| f.0);
    if failures.len() == plan.slices.len() {
        let first = failures.into_iter().next().expect("at least one slice").1;
        return Err(BuildError::NothingReadable(first));
    }
    let mut warnings = plan.info.warnings.clone();
    for (slice, error) in failures {
        warnings.push(Warning::SliceFailed { slice, error });
    }
    let mut volume = Volume::new(plan.geometry, voxels).expect("buffer sized from the geometry");
    if let Some(offsets) = &plan.slice_offsets_mm {
        volume = volume.with_slice_offsets(offsets.clone());
    }
    Ok(Loaded {
        volume,
        warnings,
        value_range: None,
    })
}
