//! A series' decoding split into jobs that run elsewhere (browser workers,
//! which share no memory) and put back together. A job is plain data: whole
//! files, the slices each gives and how to convert them. Its samples come
//! back and are copied slice by slice into one volume buffer, so the
//! decoded volume is never held twice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::header::Rescale;
use crate::load::{
    BuildError, FileDecodeError, Loaded, Sample, Scan, decode_frames, finish_volume,
};
use crate::pixels::Overflow;
use crate::source::Source;
use crate::{FileError, Voxels};

/// Some files of a series, to decode in one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodeJob {
    /// The job's files, as indices into the sources the scan was given.
    pub files: Vec<usize>,
    /// For each file, the slices it gives, in the order their samples
    /// come back.
    pub slices: Vec<Vec<JobSlice>>,
    /// Samples per slice.
    pub frame_len: usize,
    /// Output value of padded samples (air for CT).
    pub padding_output: f32,
    /// Invert MONOCHROME1 data without physical units.
    pub invert: bool,
    /// Decode to f32 (a fractional rescale, or i16 overflowed).
    pub float: bool,
}

/// One slice of a job: where it goes and how it is converted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JobSlice {
    /// Its index in the stack.
    pub k: usize,
    /// Frame within its file.
    pub frame: u32,
    /// Stored value → output units.
    pub rescale: Rescale,
}

/// What a job reports besides its samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    /// Slices that could not be decoded (their samples stay background).
    pub failures: Vec<(usize, FileError)>,
    /// A value did not fit i16: the series must be decoded as f32.
    pub overflow: bool,
}

impl DecodeJob {
    /// Slices in this job.
    pub fn slice_count(&self) -> usize {
        self.slices.iter().map(Vec::len).sum()
    }

    /// Stack indices of the job's slices, in the order of its samples.
    pub fn order(&self) -> impl Iterator<Item = usize> + '_ {
        self.slices.iter().flatten().map(|s| s.k)
    }
}

/// Runs `job` on its files (`sources[i]` is file `job.files[i]`): every
/// slice's samples, in job order, plus what failed.
pub fn run_job<S: Source>(job: &DecodeJob, sources: &[S]) -> (Voxels, JobOutcome) {
    if job.float {
        run_typed::<f32, S>(job, sources)
    } else {
        run_typed::<i16, S>(job, sources)
    }
}

fn run_typed<T: Sample, S: Source>(job: &DecodeJob, sources: &[S]) -> (Voxels, JobOutcome) {
    let mut voxels = vec![T::from_f32(job.padding_output); job.slice_count() * job.frame_len];
    let mut outcome = JobOutcome::default();
    let mut rest = voxels.as_mut_slice();
    for (source, slices) in sources.iter().zip(&job.slices) {
        let (mine, after) = rest.split_at_mut(slices.len() * job.frame_len);
        rest = after;
        let targets = slices.iter().zip(mine.chunks_mut(job.frame_len));
        if decode_into(job, source, slices, targets, &mut outcome).is_err() {
            outcome.overflow = true;
            break;
        }
    }
    (T::wrap(voxels), outcome)
}

/// Decodes one file's slices into their targets, recording a failure in
/// `outcome`; `Err` when a value does not fit i16.
fn decode_into<'a, T: Sample, S: Source>(
    job: &DecodeJob,
    source: &S,
    slices: &[JobSlice],
    targets: impl Iterator<Item = (&'a JobSlice, &'a mut [T])>,
    outcome: &mut JobOutcome,
) -> Result<(), Overflow> {
    let mut frames: Vec<(u32, Rescale, &mut [T])> =
        targets.map(|(s, out)| (s.frame, s.rescale, out)).collect();
    match decode_frames(source, None, job.padding_output, job.invert, &mut frames) {
        Ok(()) => Ok(()),
        Err(FileDecodeError::Overflow) => Err(Overflow),
        Err(FileDecodeError::Problem(e)) => {
            outcome
                .failures
                .extend(slices.iter().map(|s| (s.k, e.clone())));
            Ok(())
        }
    }
}

impl Scan {
    /// Splits series `index` into jobs of whole files for `decoders`
    /// workers that take them in turn: as few rounds as keep each job's
    /// samples within `most_bytes` (a file's frames are never parted),
    /// the jobs of about equal size, in stacking order (`usize::MAX`: one
    /// job per decoder). A worker's heap holds one job's files and samples
    /// at a time, so decoders never hold a second copy of a whole-spine
    /// series (1.3 GB) between them.
    pub fn decode_rounds(
        &self,
        index: usize,
        decoders: usize,
        most_bytes: usize,
        float: bool,
    ) -> Result<Vec<DecodeJob>, BuildError> {
        let plan = self
            .series
            .get(index)
            .ok_or(BuildError::NoSuchSeries(index))?;
        let files = self.files_in_stack_order(index)?;
        let sample_bytes = if float { 4 } else { 2 };
        let frame_bytes = plan.input_dims[0] as usize * plan.input_dims[1] as usize * sample_bytes;
        let decoders = decoders.max(1);
        let slices_per_job = (most_bytes / frame_bytes.max(1)).max(1);
        let rounds = plan
            .slices
            .len()
            .div_ceil(decoders.saturating_mul(slices_per_job))
            .max(1);
        let per_job = plan.slices.len().div_ceil(decoders * rounds).max(1);
        Ok(self.group_jobs(index, files, float, |job, _| job.slice_count() >= per_job))
    }

    /// Splits series `index` into jobs of at most `files_per_job` whole
    /// files, in stacking order: batches for a decode that holds only one
    /// batch of files at a time.
    pub fn decode_batches(
        &self,
        index: usize,
        files_per_job: usize,
        float: bool,
    ) -> Result<Vec<DecodeJob>, BuildError> {
        let files = self.files_in_stack_order(index)?;
        let most = files_per_job.max(1);
        Ok(self.group_jobs(index, files, float, |job, _| job.files.len() >= most))
    }

    /// The files of series `index` with the slices each gives, ordered by
    /// their first slice.
    fn files_in_stack_order(
        &self,
        index: usize,
    ) -> Result<Vec<(usize, Vec<JobSlice>)>, BuildError> {
        let plan = self
            .series
            .get(index)
            .ok_or(BuildError::NoSuchSeries(index))?;
        let mut by_file: BTreeMap<usize, Vec<JobSlice>> = BTreeMap::new();
        let mut first_k: BTreeMap<usize, usize> = BTreeMap::new();
        for (k, slice) in plan.slices.iter().enumerate() {
            let file = self.file_of_header(slice.header);
            first_k.entry(file).or_insert(k);
            by_file.entry(file).or_default().push(JobSlice {
                k,
                frame: slice.frame,
                rescale: slice.rescale,
            });
        }
        let mut files: Vec<(usize, Vec<JobSlice>)> = by_file.into_iter().collect();
        files.sort_by_key(|(file, _)| first_k[file]);
        Ok(files)
    }

    /// Files into jobs, a new job starting when `full(current, jobs so far)`.
    fn group_jobs(
        &self,
        index: usize,
        files: Vec<(usize, Vec<JobSlice>)>,
        float: bool,
        full: impl Fn(&DecodeJob, usize) -> bool,
    ) -> Vec<DecodeJob> {
        let plan = &self.series[index];
        // The files' own frames (a reduced series is averaged on assembly).
        let frame_len = plan.input_dims[0] as usize * plan.input_dims[1] as usize;
        let empty = || DecodeJob {
            files: Vec::new(),
            slices: Vec::new(),
            frame_len,
            padding_output: plan.padding_output,
            invert: plan.invert,
            float,
        };
        let mut jobs = vec![empty()];
        for (file, slices) in files {
            let current = jobs.last().expect("one job at least");
            if !current.files.is_empty() && full(current, jobs.len()) {
                jobs.push(empty());
            }
            let current = jobs.last_mut().expect("one job at least");
            current.files.push(file);
            current.slices.push(slices);
        }
        jobs
    }

    /// Whether series `index` holds compressed pixel data, whose decoding
    /// (not the reading of its files) dominates a load: worth spreading
    /// over workers. Uncompressed slices are only copied and rescaled,
    /// faster in place than shipped to another worker and back.
    pub fn is_decode_bound(&self, index: usize) -> bool {
        self.series.get(index).is_some_and(|plan| {
            plan.slices.iter().any(|s| {
                crate::transfer_syntax::is_encapsulated(&self.header_of(s.header).transfer_syntax)
            })
        })
    }

    /// Whether series `index` has a fractional rescale, so decodes to f32
    /// from the start.
    pub fn needs_float(&self, index: usize) -> Result<bool, BuildError> {
        let plan = self
            .series
            .get(index)
            .ok_or(BuildError::NoSuchSeries(index))?;
        Ok(!plan.slices.iter().all(|s| s.rescale.is_integral()))
    }

    /// An empty volume for series `index` that the jobs' samples are copied
    /// into.
    pub fn start_assembly(&self, index: usize, float: bool) -> Result<Assembly, BuildError> {
        let plan = self
            .series
            .get(index)
            .ok_or(BuildError::NoSuchSeries(index))?;
        let len = plan.geometry.voxel_count();
        // A refused allocation is an error to show, never an abort.
        let refused = || BuildError::TooLarge {
            needed_bytes: crate::budget::voxel_bytes(len as u64, float),
            budget_bytes: 0,
            offers: Vec::new(),
        };
        Ok(Assembly {
            index,
            frame_len: plan.geometry.dims.x as usize * plan.geometry.dims.y as usize,
            blocks: (plan.block > 1).then_some(Blocks {
                block: plan.block as usize,
                cols: plan.input_dims[0] as usize,
                input_len: plan.input_dims[0] as usize * plan.input_dims[1] as usize,
            }),
            voxels: if float {
                Voxels::F32(filled(len, plan.padding_output).ok_or_else(refused)?)
            } else {
                Voxels::I16(filled(len, plan.padding_output as i16).ok_or_else(refused)?)
            },
            failures: Vec::new(),
        })
    }
}

/// `len` copies of `value`, or `None` when the memory is refused.
fn filled<T: Copy>(len: usize, value: T) -> Option<Vec<T>> {
    let mut voxels = Vec::new();
    voxels.try_reserve_exact(len).ok()?;
    voxels.resize(len, value);
    Some(voxels)
}

/// A volume being put together from jobs' samples.
#[derive(Debug)]
pub struct Assembly {
    index: usize,
    frame_len: usize,
    /// A reduced series: how each file frame is averaged into a slice.
    blocks: Option<Blocks>,
    voxels: Voxels,
    failures: Vec<(usize, FileError)>,
}

/// Block averaging of a reduced series' frames.
#[derive(Debug, Clone, Copy)]
struct Blocks {
    block: usize,
    cols: usize,
    input_len: usize,
}

impl Blocks {
    /// `frame` (a file's frame) averaged into `out` (a slice).
    fn reduce<T: Sample>(&self, frame: &[T], out: &mut [T]) {
        crate::reduce::block_average(frame, self.cols, self.block, out, T::to_f64, T::mean);
    }
}

/// A file's frame into its slice: copied, or averaged in blocks.
fn place<T: Sample>(blocks: Option<Blocks>, frame: &[T], out: &mut [T]) {
    match blocks {
        Some(blocks) => blocks.reduce(frame, out),
        None => out.copy_from_slice(frame),
    }
}

/// A value did not fit i16: the series must be assembled as f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedsFloat;

/// The voxels of each of `slices` (distinct stack indices) in `voxels`.
fn slots<'a, T>(
    voxels: &'a mut [T],
    frame_len: usize,
    slices: &'a [JobSlice],
) -> impl Iterator<Item = (&'a JobSlice, &'a mut [T])> {
    let mut frames: Vec<Option<&'a mut [T]>> = voxels.chunks_mut(frame_len).map(Some).collect();
    slices
        .iter()
        .filter_map(move |s| Some((s, frames.get_mut(s.k)?.take()?)))
        .collect::<Vec<_>>()
        .into_iter()
}

impl Assembly {
    /// The voxels of slice `k`, to copy its samples into: i16 when the
    /// assembly is i16 (else `None`).
    pub fn slice_i16(&mut self, k: usize) -> Option<&mut [i16]> {
        let range = k * self.frame_len..(k + 1) * self.frame_len;
        match &mut self.voxels {
            Voxels::I16(v) => v.get_mut(range),
            Voxels::F32(_) => None,
        }
    }

    /// The voxels of slice `k` of an f32 assembly (else `None`).
    pub fn slice_f32(&mut self, k: usize) -> Option<&mut [f32]> {
        let range = k * self.frame_len..(k + 1) * self.frame_len;
        match &mut self.voxels {
            Voxels::F32(v) => v.get_mut(range),
            Voxels::I16(_) => None,
        }
    }

    /// Copies a job's samples (in job order) into place, averaging each
    /// frame into its slice when the series is read reduced.
    pub fn put(&mut self, job: &DecodeJob, samples: &Voxels) {
        let blocks = self.blocks;
        let n = blocks.map_or(self.frame_len, |b| b.input_len);
        for (i, k) in job.order().enumerate() {
            match samples {
                Voxels::I16(s) => {
                    if let (Some(out), Some(src)) = (self.slice_i16(k), s.get(i * n..(i + 1) * n)) {
                        place(blocks, src, out);
                    }
                }
                Voxels::F32(s) => {
                    if let (Some(out), Some(src)) = (self.slice_f32(k), s.get(i * n..(i + 1) * n)) {
                        place(blocks, src, out);
                    }
                }
            }
        }
    }

    /// Decodes a job's files (the `i`th source is file `job.files[i]`)
    /// straight into their slices. Sources are taken one at a time, so a
    /// caller that makes each on demand holds one file's bytes at a time.
    pub fn decode<S: Source>(
        &mut self,
        job: &DecodeJob,
        sources: impl IntoIterator<Item = S>,
    ) -> Result<(), NeedsFloat> {
        if let Some(blocks) = self.blocks {
            return self.decode_reduced(job, sources, blocks);
        }
        let mut outcome = JobOutcome::default();
        let n = self.frame_len;
        for (source, slices) in sources.into_iter().zip(&job.slices) {
            let source = &source;
            let decoded = match &mut self.voxels {
                Voxels::I16(v) => {
                    decode_into(job, source, slices, slots(v, n, slices), &mut outcome)
                }
                Voxels::F32(v) => {
                    decode_into(job, source, slices, slots(v, n, slices), &mut outcome)
                }
            };
            decoded.map_err(|Overflow| NeedsFloat)?;
        }
        self.record(&outcome);
        Ok(())
    }

    /// [`Assembly::decode`] for a reduced series: one file's full frames
    /// at a time into scratch, each averaged into its slice.
    fn decode_reduced<S: Source>(
        &mut self,
        job: &DecodeJob,
        sources: impl IntoIterator<Item = S>,
        blocks: Blocks,
    ) -> Result<(), NeedsFloat> {
        let mut outcome = JobOutcome::default();
        let float = matches!(self.voxels, Voxels::F32(_));
        for (source, slices) in sources.into_iter().zip(&job.slices) {
            let single = DecodeJob {
                files: vec![0],
                slices: vec![slices.clone()],
                frame_len: blocks.input_len,
                padding_output: job.padding_output,
                invert: job.invert,
                float,
            };
            let (samples, file_outcome) = run_job(&single, std::slice::from_ref(&source));
            if file_outcome.overflow {
                return Err(NeedsFloat);
            }
            self.put(&single, &samples);
            outcome.failures.extend(file_outcome.failures);
        }
        self.record(&outcome);
        Ok(())
    }

    /// Records a job's failed slices.
    pub fn record(&mut self, outcome: &JobOutcome) {
        self.failures.extend(outcome.failures.iter().cloned());
    }

    /// The finished volume (same result as [`Scan::build`]).
    pub fn finish(self, scan: &Scan) -> Result<Loaded, BuildError> {
        let plan = scan
            .series
            .get(self.index)
            .ok_or(BuildError::NoSuchSeries(self.index))?;
        finish_volume(plan, self.voxels, self.failures)
    }
}
