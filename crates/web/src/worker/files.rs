//! The dropped files, kept as the browser's `File` handles for the life of
//! the study: their bytes stay with the browser (on disk or in its own
//! memory), and are copied into the wasm heap one file at a time, to be
//! scanned and hashed, decoded, or shown in the tag browser, then let go.
//! So the heap holds the volume and one file, not the folder.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use insitu_store::{FileFacts, FilesStamp};
use insitu_volume::{DICOM_HEAD_BYTES, EarlyVolume, MemoryFile, Scan, ScannedFile, could_be_dicom};
use js_sys::{Array, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

use crate::arrivals::Arrivals;
use crate::envelope::Attachments;
use crate::laps::Laps;

/// Files read together as one Blob (one read of many files is faster than
/// one read each).
/// As many as the page sends in one message, so each batch can be read as
/// soon as its message is in.
pub const FILES_PER_BATCH: usize = crate::protocol::FILES_PER_MESSAGE;

/// Batches being read at once: the browser reads several Blobs at once
/// faster than one after another (measured in Chromium: 300 files of
/// 0.5 MB in 200 ms all at once, 220–500 ms a batch at a time), and the
/// wasm side rarely waits for the next batch. Bounded in number and in
/// bytes (the one in use always goes), so the browser's side of a read
/// holds a few batches, never the folder nor several huge files.
pub const READS_IN_FLIGHT: usize = 3;

/// Bytes read ahead of the batch in use, at most.
const READ_AHEAD_BYTES: f64 = 128.0 * 1024.0 * 1024.0;

/// Files above this size are looked at before they are read.
const SNIFF_ABOVE: f64 = 1024.0 * 1024.0;

/// The files of the open (or opening) folder.
pub struct DroppedFiles {
    files: Vec<File>,
    names: Vec<String>,
}

impl DroppedFiles {
    /// The files sent with an `Open` request, named by their path in the
    /// chosen folder, else their path in a dropped folder, else their name.
    pub fn new(attachments: &Attachments) -> Self {
        let files: Vec<File> = attachments
            .files
            .iter()
            .map(JsCast::unchecked_into)
            .collect();
        let names = files
            .iter()
            .enumerate()
            .map(|(n, file)| {
                let relative = Reflect::get(file, &"webkitRelativePath".into())
                    .ok()
                    .and_then(|p| p.as_string())
                    .filter(|p| !p.is_empty());
                let dropped = attachments
                    .names
                    .as_ref()
                    .and_then(|list| list.get(n as u32).as_string());
                relative.or(dropped).unwrap_or_else(|| file.name())
            })
            .collect();
        Self { files, names }
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// File `i`'s display name.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Starts reading files `indices` (in that order).
    pub fn start_reading(&self, indices: &[usize]) -> BatchRead {
        BatchRead::start(indices.iter().map(|&i| self.files[i].clone()).collect())
    }

    /// Reads `batches` (lists of file indices) in order, up to
    /// [`READS_IN_FLIGHT`] ahead of the one being used.
    pub fn read_ahead<'a>(&'a self, batches: &[&[usize]]) -> ReadAhead<'a> {
        let mut reads = ReadAhead {
            files: self,
            reading: VecDeque::new(),
            waiting: batches.iter().map(|b| b.to_vec()).collect(),
        };
        reads.start_more();
        reads
    }

    /// Files `indices` (in that order) as one stream through `chunk`, read
    /// a file at a time ([`StreamedBatch::next_into`]); its first read is
    /// under way.
    fn stream(&self, indices: &[usize], chunk: Chunk) -> StreamedBatch {
        let files: Vec<File> = indices.iter().map(|&i| self.files[i].clone()).collect();
        StreamedBatch::start(files, chunk)
    }

    /// The handles and names of files `indices`, to pass to another worker.
    pub fn handles(&self, indices: &[usize]) -> (Array, Array) {
        let files = indices.iter().map(|&i| self.files[i].clone()).collect();
        let names = indices
            .iter()
            .map(|&i| JsValue::from(self.names[i].as_str()))
            .collect();
        (files, names)
    }

    /// File `i`'s bytes, copied into wasm memory.
    pub async fn read(&self, i: usize) -> Option<MemoryFile> {
        let read = self.start_reading(&[i]).finish().await;
        Some(MemoryFile {
            name: self.names[i].clone(),
            bytes: read.bytes(0)?,
        })
    }

    /// Reads every header, a batch of files at a time (each batch streamed
    /// a file at a time, the browser reading ahead of the scan), hashing
    /// each file's pixels for the cache key while its bytes are here. A
    /// large file whose first bytes show it is not DICOM (a CD's viewer
    /// program, a video, a NumPy array) is not read past them; a file that
    /// cannot be read is scanned as empty, and the scan says why. An
    /// uncompressed series' pixels are converted while they are here
    /// ([`EarlyVolume`]) when `hooks` ask, so it is read once. The folder's
    /// `in_all` files past those given at the start come from `incoming`
    /// as the page sends them, read as they come; `hooks` may stop the scan
    /// before it reads anything (the folder is known) or between files.
    pub async fn scan(
        &mut self,
        in_all: usize,
        incoming: &Incoming<'_>,
        cancel: &Cell<bool>,
        laps: &RefCell<Laps>,
        hooks: &mut impl ScanHooks,
    ) -> Scanning {
        let mut in_all = in_all.max(self.files.len());
        let mut scanned: Vec<Option<ScannedFile>> = Vec::with_capacity(in_all);
        let converting = hooks.convert_early();
        let mut early = EarlyVolume::new(
            in_all,
            if converting {
                insitu_volume::budget::WASM_VOLUME_BYTES
            } else {
                0
            },
        );
        // The folder may be known from its first files.
        if hooks.first_files(self, in_all).await {
            return Scanning::Known;
        }
        // One buffer for every file's bytes, reused: no allocation per file.
        let mut scratch = Vec::new();
        let mut spare = Chunk::new();
        // Files before this one are in a batch.
        let mut batched = 0;
        let mut next = None;
        loop {
            let (batch, mut stream) = match next.take() {
                Some(started) => started,
                None => {
                    while batched == self.files.len() && self.files.len() < in_all {
                        let Some(arrived) = incoming.next().await else {
                            return Scanning::Cancelled;
                        };
                        self.take_in(arrived, &mut in_all);
                    }
                    if batched == self.files.len() {
                        break;
                    }
                    self.start_batch(&mut batched, &mut scanned, spare.take())
                        .await
                }
            };
            if cancel.get() {
                return Scanning::Cancelled;
            }
            // The next batch's first read starts now, so the browser opens
            // its files while this batch is scanned. In a probe page reading
            // 158 MB in 300 files with the scan's work between reads, the
            // waits fell from 169–253 ms to 82–122 ms; the app's load on
            // this 2-core machine was not measurably faster (the browser's
            // reading and the scan share the cores).
            while let Some(arrived) = incoming.arrived() {
                self.take_in(arrived, &mut in_all);
            }
            if batched < self.files.len() {
                next = Some(
                    self.start_batch(&mut batched, &mut scanned, spare.take())
                        .await,
                );
            }
            for &n in &batch {
                if !hooks.file_done().await {
                    return Scanning::Stopped;
                }
                // One file in wasm memory at a time.
                stream.next_into(&mut scratch).await;
                laps.borrow_mut().lap("scan: files read");
                let file = MemoryFile {
                    name: self.names[n].clone(),
                    bytes: std::mem::take(&mut scratch),
                };
                let scanned_file = ScannedFile::read(&file, true);
                if converting {
                    early.offer(n, &file.bytes, &scanned_file);
                }
                scanned[n] = Some(scanned_file);
                scratch = file.bytes;
                laps.borrow_mut().lap("scan: headers and hashes");
            }
            spare = stream.into_chunk();
            let read = batch.last().map_or(batched, |&n| n + 1);
            hooks.batch_done(read, in_all);
        }
        let scan = Scan::from_files(
            scanned
                .into_iter()
                .map(|s| s.expect("every file scanned"))
                .collect(),
        );
        Scanning::Scanned(scan, early)
    }

    /// The stamp ([`FilesStamp`]) of a folder of `in_all` files whose
    /// first are these: their names, sizes and times, and the first bytes
    /// of a few (read now, a few kB).
    pub async fn stamp(&self, in_all: usize) -> FilesStamp {
        let facts: Vec<FileFacts> = self
            .files
            .iter()
            .zip(&self.names)
            .map(|(file, name)| FileFacts {
                name,
                size: file.size() as u64,
                modified_ms: file.last_modified(),
            })
            .collect();
        let sampled = FilesStamp::sampled(&facts);
        let heads = settled(sampled.iter().map(|&n| {
            self.files[n]
                .slice_with_f64_and_f64(0.0, FilesStamp::HEAD_BYTES as f64)
                .ok()
                .map(|head| head.array_buffer())
        }))
        .await;
        let heads: Vec<Vec<u8>> = heads
            .iter()
            .map(|head| head.as_ref().map(Uint8Array::to_vec).unwrap_or_default())
            .collect();
        let heads: Vec<&[u8]> = heads.iter().map(Vec::as_slice).collect();
        FilesStamp::of(&facts, in_all as u64, &heads)
    }

    /// Adds files that came after the first ones, with the folder's count
    /// of files as the page then knew it (`in_all`, kept no lower than the
    /// files in).
    fn take_in(&mut self, (files, count): (Attachments, Option<usize>), in_all: &mut usize) {
        let more = Self::new(&files);
        self.files.extend(more.files);
        self.names.extend(more.names);
        *in_all = count.unwrap_or(*in_all).max(self.files.len());
    }

    /// Starts reading the next batch whole, through `chunk`: up to
    /// [`FILES_PER_BATCH`] files from `*from` (moved past them), less the
    /// large ones whose first bytes show they are not DICOM (scanned from
    /// those bytes alone, into `scanned`, grown to every file in).
    async fn start_batch(
        &self,
        from: &mut usize,
        scanned: &mut Vec<Option<ScannedFile>>,
        chunk: Chunk,
    ) -> (Vec<usize>, StreamedBatch) {
        scanned.resize_with(self.files.len(), || None);
        let range = *from..(*from + FILES_PER_BATCH).min(self.files.len());
        *from = range.end;
        let large: Vec<usize> = range
            .clone()
            .filter(|&n| self.files[n].size() > SNIFF_ABOVE)
            .collect();
        if !large.is_empty() {
            let heads = settled(large.iter().map(|&n| {
                self.files[n]
                    .slice_with_f64_and_f64(0.0, DICOM_HEAD_BYTES as f64)
                    .ok()
                    .map(|head| head.array_buffer())
            }))
            .await;
            for (&n, head) in large.iter().zip(&heads) {
                if let Some(head) = head
                    && !could_be_dicom(&head.to_vec())
                {
                    // Not DICOM: its head is enough for the scan to say so.
                    let file = MemoryFile {
                        name: self.names[n].clone(),
                        bytes: head.to_vec(),
                    };
                    scanned[n] = Some(ScannedFile::read(&file, false));
                }
            }
        }
        let batch: Vec<usize> = range.filter(|&n| scanned[n].is_none()).collect();
        let stream = self.stream(&batch, chunk);
        (batch, stream)
    }
}

/// How a scan ended.
pub enum Scanning {
    /// Every file was read: the scan, and the series converted as it was
    /// read (when asked).
    Scanned(Scan, EarlyVolume),
    /// The hooks knew the folder by its first files: not read.
    Known,
    /// Cancelled.
    Cancelled,
    /// The hooks stopped it between files.
    Stopped,
}

/// What a scan's caller does along the way.
// The study worker is one thread: its futures are never sent anywhere.
#[allow(async_fn_in_trait)]
pub trait ScanHooks {
    /// Whether to convert an uncompressed series while it is read.
    fn convert_early(&self) -> bool;

    /// The folder's first files are in (those sent with the request to
    /// open it), of `in_all`: `true` stops the scan before it reads any.
    async fn first_files(&mut self, files: &DroppedFiles, in_all: usize) -> bool;

    /// Before each file is read: `false` stops the scan.
    async fn file_done(&mut self) -> bool;

    /// The first `read` of the folder's `in_all` files are scanned.
    fn batch_done(&mut self, read: usize, in_all: usize);
}

/// Where an opening's later files come from: the worker's arrivals.
pub struct Incoming<'a> {
    arrivals: &'a RefCell<Arrivals<(Attachments, Option<usize>)>>,
    wake: &'a RefCell<Option<js_sys::Function>>,
    cancel: &'a Cell<bool>,
    opening: u32,
}

impl<'a> Incoming<'a> {
    /// The files of `opening` arriving in `arrivals` (the message handler
    /// calls `wake` after adding some, and on a cancel, set in `cancel`).
    pub fn new(
        arrivals: &'a RefCell<Arrivals<(Attachments, Option<usize>)>>,
        wake: &'a RefCell<Option<js_sys::Function>>,
        cancel: &'a Cell<bool>,
        opening: u32,
    ) -> Self {
        Self {
            arrivals,
            wake,
            cancel,
            opening,
        }
    }

    /// Files that have arrived, without waiting, with the folder's count
    /// of files as the page then knew it.
    fn arrived(&self) -> Option<(Attachments, Option<usize>)> {
        self.arrivals.borrow_mut().take(self.opening)
    }

    /// The next files, once they arrive (as [`Incoming::arrived`]);
    /// `None` on a cancel.
    async fn next(&self) -> Option<(Attachments, Option<usize>)> {
        loop {
            if self.cancel.get() {
                return None;
            }
            if let Some(files) = self.arrived() {
                return Some(files);
            }
            let arrived = Promise::new(&mut |resolve, _| {
                *self.wake.borrow_mut() = Some(resolve);
            });
            let _ = JsFuture::from(arrived).await;
        }
    }
}

/// Batches read in order, a few ahead ([`DroppedFiles::read_ahead`]).
pub struct ReadAhead<'a> {
    files: &'a DroppedFiles,
    reading: VecDeque<BatchRead>,
    waiting: VecDeque<Vec<usize>>,
}

impl ReadAhead<'_> {
    /// The next batch's bytes, once read (reads after it are started
    /// first); `None` after the last.
    pub async fn next(&mut self) -> Option<ReadBatch> {
        let current = self.reading.pop_front()?;
        self.start_more();
        Some(current.finish().await)
    }

    /// Starts waiting batches while fewer than [`READS_IN_FLIGHT`] are
    /// under way and those past the first hold under [`READ_AHEAD_BYTES`].
    fn start_more(&mut self) {
        while self.reading.len() < READS_IN_FLIGHT
            && let Some(batch) = self.waiting.front()
        {
            let ahead: f64 = self.reading.iter().skip(1).map(BatchRead::bytes).sum();
            let size: f64 = batch.iter().map(|&i| self.files.files[i].size()).sum();
            if !self.reading.is_empty() && ahead + size > READ_AHEAD_BYTES {
                break;
            }
            let batch = self.waiting.pop_front().expect("looked at");
            self.reading.push_back(self.files.start_reading(&batch));
        }
    }
}

/// A batch of files being read as one Blob.
pub struct BatchRead {
    files: Vec<File>,
    /// Under way from [`BatchRead::start`]; `None` when the batch is too
    /// large for one buffer.
    together: Option<JsFuture>,
}

/// A batch read: each file's bytes in the browser's memory, copied into
/// wasm memory one file at a time on request.
pub struct ReadBatch {
    parts: Vec<Option<Uint8Array>>,
}

impl ReadBatch {
    /// File `i` of the batch, copied into wasm memory; `None` when it could
    /// not be read.
    pub fn bytes(&self, i: usize) -> Option<Vec<u8>> {
        self.parts.get(i)?.as_ref().map(Uint8Array::to_vec)
    }

    /// File `i` of the batch copied into `buffer` (its old bytes replaced;
    /// empty when the file could not be read).
    pub fn copy_into(&self, i: usize, buffer: &mut Vec<u8>) {
        match self.parts.get(i).and_then(Option::as_ref) {
            Some(part) => {
                buffer.resize(part.length() as usize, 0);
                part.copy_to(buffer);
            }
            None => buffer.clear(),
        }
    }
}

impl BatchRead {
    /// How many bytes the batch's files hold.
    fn bytes(&self) -> f64 {
        self.files.iter().map(|f| f.size()).sum()
    }

    /// Starts reading `files`.
    fn start(files: Vec<File>) -> Self {
        // Larger batches (big multi-frame files) are read file by file.
        const MOST_AT_ONCE: f64 = 256.0 * 1024.0 * 1024.0;
        let total: f64 = files.iter().map(|f| f.size()).sum();
        let parts: Array = files.iter().collect();
        let together = web_sys::Blob::new_with_blob_sequence(&parts)
            .ok()
            .filter(|_| total <= MOST_AT_ONCE)
            .map(|blob| JsFuture::from(blob.array_buffer()));
        Self { files, together }
    }

    /// Reads `files` each on its own.
    fn alone(files: Vec<File>) -> Self {
        Self {
            files,
            together: None,
        }
    }

    /// Each file's bytes; if the read together failed, each file is read on
    /// its own, so that only the unreadable ones come back `None`.
    pub async fn finish(self) -> ReadBatch {
        let total = self.bytes();
        if let Some(read) = self.together
            && let Ok(buffer) = read.await
            && let Ok(buffer) = buffer.dyn_into::<js_sys::ArrayBuffer>()
            // A file changed on disk since it was listed: read each again.
            && f64::from(buffer.byte_length()) == total
        {
            let mut at = 0.0;
            let parts = self
                .files
                .iter()
                .map(|file| {
                    let part = Uint8Array::new_with_byte_offset_and_length(
                        &buffer,
                        at as u32,
                        file.size() as u32,
                    );
                    at += file.size();
                    Some(part)
                })
                .collect();
            return ReadBatch { parts };
        }
        ReadBatch {
            parts: settled(self.files.iter().map(|file| Some(file.array_buffer()))).await,
        }
    }
}

/// Awaits every read at once; each gives its bytes (in the browser's
/// memory), or `None` when it was not asked for or failed.
async fn settled(reads: impl Iterator<Item = Option<Promise>>) -> Vec<Option<Uint8Array>> {
    let asked = Array::new();
    let wanted: Vec<bool> = reads
        .map(|read| {
            let wanted = read.is_some();
            asked.push(&read.map_or(JsValue::UNDEFINED, JsValue::from));
            wanted
        })
        .collect();
    let results: Array = JsFuture::from(Promise::all_settled(&asked))
        .await
        .map(JsCast::unchecked_into)
        .unwrap_or_default();
    wanted
        .iter()
        .enumerate()
        .map(|(i, &wanted)| {
            let value = Reflect::get(&results.get(i as u32), &"value".into()).ok()?;
            (wanted && value.is_instance_of::<js_sys::ArrayBuffer>())
                .then(|| Uint8Array::new(&value))
        })
        .collect()
}

/// The buffer a stream reads into, handed to the browser for each read and
/// back: the same bytes every time, so a load's reads leave no garbage
/// behind them. Each batch read whole into a new `ArrayBuffer` left the
/// series' size to the collector, which ran seconds later: opening a
/// 512²×300 series (158 MB of files) with the cache off, the renderer
/// process rose 258–326 MB that way and 204–213 MB this way (the study
/// worker's heap is 179 MB of it), as fast (measured in Chromium).
pub struct Chunk {
    buffer: js_sys::ArrayBuffer,
}

impl Chunk {
    /// Bytes one read asks for, at most.
    const BYTES: u32 = 1024 * 1024;

    /// A chunk's buffer, new.
    pub fn new() -> Self {
        Self {
            buffer: js_sys::ArrayBuffer::new(Self::BYTES),
        }
    }

    /// The buffer, moved out (an empty one left behind).
    fn take(&mut self) -> Self {
        std::mem::replace(
            self,
            Self {
                buffer: js_sys::ArrayBuffer::new(0),
            },
        )
    }

    /// The buffer to read into, a new one where a read that failed kept it.
    fn view(&mut self) -> Uint8Array {
        if self.buffer.byte_length() == 0 {
            self.buffer = js_sys::ArrayBuffer::new(Self::BYTES);
        }
        Uint8Array::new(&self.buffer)
    }
}

impl Default for Chunk {
    fn default() -> Self {
        Self::new()
    }
}

/// A batch of files read as one stream, a file at a time, through its
/// [`Chunk`]. Where the browser's Blob streams are not byte streams, the
/// batch is read whole into one `ArrayBuffer`, as before; where a read
/// fails (a file moved or changed since it was chosen), the rest of the
/// batch is read file by file, so that only a file that cannot be read
/// comes back empty.
pub struct StreamedBatch {
    files: std::vec::IntoIter<File>,
    reader: Option<web_sys::ReadableStreamByobReader>,
    chunk: Chunk,
    /// The first read, started with the stream.
    first: Option<JsFuture>,
    /// The batch being read whole, where it could not be streamed.
    reading_whole: Option<BatchRead>,
    /// The batch read whole, and the next file's place in it.
    whole: Option<(ReadBatch, usize)>,
    /// Bytes read and not yet taken: the next file's first ones.
    held: Option<Uint8Array>,
}

impl StreamedBatch {
    /// Starts reading `files`: the stream's first read, or the whole batch.
    fn start(files: Vec<File>, mut chunk: Chunk) -> Self {
        let parts: Array = files.iter().collect();
        let reader = web_sys::Blob::new_with_blob_sequence(&parts)
            .ok()
            .and_then(|blob| web_sys::ReadableStreamByobReader::new(&blob.stream()).ok());
        let first = reader
            .as_ref()
            .map(|reader| JsFuture::from(reader.read_with_array_buffer_view(&chunk.view())));
        let reading_whole = reader.is_none().then(|| BatchRead::start(files.clone()));
        Self {
            files: files.into_iter(),
            reader,
            chunk,
            first,
            reading_whole,
            whole: None,
            held: None,
        }
    }

    /// The buffer, for the next batch (a new one where a read kept it).
    fn into_chunk(mut self) -> Chunk {
        if let Some(reader) = self.reader.take() {
            // Unread bytes (a file grew since it was chosen) stay unread.
            let _ = reader.cancel();
        }
        self.chunk
    }

    /// The next file's bytes into `buffer` (its old bytes replaced; empty
    /// when the file could not be read).
    pub async fn next_into(&mut self, buffer: &mut Vec<u8>) {
        let Some(file) = self.files.next() else {
            buffer.clear();
            return;
        };
        if let Some(read) = self.reading_whole.take() {
            self.whole = Some((read.finish().await, 0));
        }
        if let Some((read, at)) = &mut self.whole {
            read.copy_into(*at, buffer);
            *at += 1;
            return;
        }
        let size = file.size() as usize;
        buffer.resize(size, 0);
        let mut filled = 0;
        while filled < size {
            let held = match self.held.take() {
                Some(held) => held,
                None => match self.read_chunk().await {
                    Some(read) => read,
                    None => {
                        // Failed: this file and the rest of the batch on
                        // their own.
                        if let Some(reader) = self.reader.take() {
                            let _ = reader.cancel();
                        }
                        let rest: Vec<File> =
                            std::iter::once(file).chain(self.files.by_ref()).collect();
                        let read = BatchRead::alone(rest.clone()).finish().await;
                        read.copy_into(0, buffer);
                        self.files = rest.into_iter();
                        self.files.next();
                        self.whole = Some((read, 1));
                        return;
                    }
                },
            };
            let n = (held.length() as usize).min(size - filled);
            held.subarray(0, n as u32)
                .copy_to(&mut buffer[filled..filled + n]);
            filled += n;
            if n < held.length() as usize {
                // The next file's first bytes.
                self.held = Some(held.subarray(n as u32, held.length()));
            }
        }
    }

    /// One read of up to a chunk, across files' ends (small files would
    /// otherwise cost a read each); `None` when the stream failed or
    /// ended early.
    async fn read_chunk(&mut self) -> Option<Uint8Array> {
        let reader = self.reader.as_ref()?;
        let read = match self.first.take() {
            Some(read) => read,
            None => JsFuture::from(reader.read_with_array_buffer_view(&self.chunk.view())),
        };
        let result = read.await.ok()?;
        let value: Uint8Array = Reflect::get(&result, &"value".into())
            .ok()?
            .dyn_into()
            .ok()?;
        // The bytes come back in the view, moved to a new buffer object:
        // keep it for the next read.
        self.chunk.buffer = value.buffer();
        let done = Reflect::get(&result, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        (!done && value.length() > 0).then_some(value)
    }
}
