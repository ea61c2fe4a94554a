//! Importers: one file per format, each with `detect(head) -> bool` and `import(input, job) -> Profile`. The
//! dispatcher here undoes the transport encodings (gzip, UTF-16, BOM), then sniffs content first and the file
//! extension second.

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::job::{Cancelled, Job};
use crate::model::Profile;

pub mod chrome;
pub mod cpuprofile;
pub mod exact;
pub mod folded;
pub mod json_util;
mod marshal;
pub mod pprof;
mod protobuf;
pub mod pstats;
pub mod speedscope;
pub mod trace_order;
pub mod trace_samples;
pub mod trace_scan;
pub mod trace_split;
pub mod validate;

/// Where in the input a parse failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Byte offset in the decoded (decompressed, UTF-8) input.
    Byte(u64),
    /// 1-based line number.
    Line(u64),
    Unknown,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Byte(b) => write!(f, "at byte {b}"),
            Location::Line(l) => write!(f, "at line {l}"),
            Location::Unknown => write!(f, "at an unknown position"),
        }
    }
}

#[derive(Debug)]
pub enum ImportError {
    Cancelled,
    Empty,
    Io(std::io::Error),
    /// Content matched no importer. `tried` lists what was considered.
    Unknown { hint: String },
    /// The named importer recognised the file but could not read it.
    Parse { format: &'static str, message: String, location: Location },
    /// The input is over a limit of `ImportOptions`; the message says which and how to raise it.
    TooLarge(String),
    /// An error whose message is whole as it stands: a file whose name allows two formats (`.prof`: cProfile/pstats
    /// or pprof) and that neither reads (the message says why each failed); an option the file cannot honour.
    Stated(String),
}

impl ImportError {
    pub fn parse(format: &'static str, message: impl Into<String>, location: Location) -> Self {
        ImportError::Parse { format, message: message.into(), location }
    }

    /// Stable code for the JS side: "cancelled" | "io-error" | "parse-error".
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Cancelled => "cancelled",
            ImportError::Io(_) => "io-error",
            _ => "parse-error",
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Cancelled => write!(f, "cancelled"),
            ImportError::Empty => write!(f, "the file is empty: there is no profile in it"),
            ImportError::Io(e) => write!(f, "could not read the file: {e}"),
            ImportError::Unknown { hint } => write!(
                f,
                "unknown format: tried Chrome/Perfetto trace JSON, VizTracer, speedscope, V8 .cpuprofile, pprof, \
                 cProfile/pstats and folded stacks (FlameGraph, py-spy raw, Austin); none matched. {hint}"
            ),
            ImportError::TooLarge(message) | ImportError::Stated(message) => write!(f, "{message}"),
            ImportError::Parse { format, message, location } => {
                // A whole-file problem (no events at all, say) has no position worth printing.
                match location {
                    Location::Unknown => write!(f, "not a valid {format} file: {message}"),
                    _ => write!(f, "not a valid {format} file: {message} ({location})"),
                }
            }
        }
    }
}

impl std::error::Error for ImportError {}

impl From<Cancelled> for ImportError {
    fn from(_: Cancelled) -> Self {
        ImportError::Cancelled
    }
}

impl From<std::io::Error> for ImportError {
    fn from(e: std::io::Error) -> Self {
        ImportError::Io(e)
    }
}

/// The decoded input an importer reads: UTF-8 (or binary) bytes, with the display name and extension.
pub struct Input<'a> {
    pub bytes: &'a [u8],
    /// File name without directories, e.g. "trace.json.gz".
    pub name: &'a str,
    /// Lower-case extension after stripping `.gz`, e.g. "json"; "" when none.
    pub ext: &'a str,
}

/// Limits an import applies to its input, and choices a format leaves open. `Default` is what the app and the CLI
/// use unless told otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// A gzip file may inflate to at most this many times its compressed size (but always to at least
    /// `MIN_INFLATE_ALLOWANCE`, so a tiny file of repetitive text is never refused).
    pub max_inflate_ratio: u64,
    /// And never past this many bytes, whatever the ratio allows.
    pub max_inflated_bytes: u64,
    /// pprof: the sample type to read (`cpu`, `alloc_space`, ...: a `sample_type` name of the file) instead of the
    /// file's default. Other formats ignore it; a name the file does not have is an error that lists those it has.
    pub sample_type: Option<String>,
}

/// Real profiles compress 5-30x; 200x leaves room for repetitive traces while refusing a bomb (1 MB -> 1 GB).
pub const DEFAULT_MAX_INFLATE_RATIO: u64 = 200;
pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 4 << 30;
/// The ratio limit never applies below this size: a 2 KB gzip of a 600 KB trace is fine.
pub const MIN_INFLATE_ALLOWANCE: u64 = 256 << 20;

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_inflate_ratio: DEFAULT_MAX_INFLATE_RATIO,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
            sample_type: None,
        }
    }
}

impl ImportOptions {
    /// Most bytes a gzip stream of `compressed` bytes may inflate to.
    pub fn inflate_limit(&self, compressed: u64) -> u64 {
        compressed.saturating_mul(self.max_inflate_ratio).max(MIN_INFLATE_ALLOWANCE).min(self.max_inflated_bytes)
    }
}

/// Opens a file by path with the default limits; see `import_file_with`.
pub fn import_file(path: &Path, job: &Job) -> Result<Profile, ImportError> {
    import_file_with(path, job, &ImportOptions::default())
}

/// Opens a file by path: reads it into memory, undoes gzip/UTF-16, sniffs and imports.
pub fn import_file_with(path: &Path, job: &Job, options: &ImportOptions) -> Result<Profile, ImportError> {
    // An exact-mode recording is a directory of per-process files (or its manifest), not one file.
    if exact::is_trace_path(path) {
        let mut profile = exact::import_path(path, job)?;
        check_and_clamp(&mut profile)?;
        return Ok(profile);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let raw = read_whole_file(path, job)?;
    let result = import_bytes_with(&name, &raw, job, options);
    release_in_background(raw);
    result
}

/// Giving a big buffer's pages back to the kernel takes a while (10 ms for the 129 MB bench trace): a short-lived
/// thread does it, so the profile reaches the caller that much sooner.
fn release_in_background(buf: Vec<u8>) {
    if buf.len() >= PARALLEL_READ_MIN {
        // When no thread can be started, the closure, and the buffer with it, is dropped right here.
        let _ = std::thread::Builder::new().name("emberscope-free".to_owned()).spawn(move || drop(buf));
    }
}

/// Reads the whole file with plain reads, not a memory map: a file that another process truncates while we read
/// it (a profiler rewriting its output, a copy in progress) must give an error, and a mapped page past the new end
/// of file would kill the process with SIGBUS instead. The price, measured on the 129 MB bench trace (same process,
/// read and map alternating): about 90 ms more per open, 354 instead of 520 MB/s of parse throughput.
fn read_whole_file(path: &Path, job: &Job) -> Result<Vec<u8>, ImportError> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Err(ImportError::Empty);
    }
    let expected = usize::try_from(len).map_err(|_| ImportError::Io(std::io::Error::other("the file is too large")))?;
    let mut buf = zeroed_buffer(expected).ok_or_else(|| {
        ImportError::Io(std::io::Error::other(format!("not enough memory to read {len} bytes")))
    })?;
    // Bytes appended after the open are not read (a recording still being written opens as of that moment). A big
    // file is read as two halves on two threads: most of a read's time is the kernel faulting in the fresh pages
    // of `buf` and copying into them, work that splits across cores (129 MB bench trace on 2 cores: 68 -> 40 ms).
    let got = if expected >= PARALLEL_READ_MIN {
        let half = expected / 2;
        let (first, second) = buf.split_at_mut(half);
        let (a, b) = std::thread::scope(|s| {
            let other = std::thread::Builder::new()
                .name("emberscope-read".to_owned())
                .spawn_scoped(s, || read_range(&file, second, half as u64, job));
            let a = read_range(&file, first, 0, job);
            (a, other.ok().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))))
        });
        // No thread could be started (a process at its thread limit): this one reads the second half too.
        let b = match b {
            Some(b) => b,
            None => read_range(&file, &mut buf[half..], half as u64, job),
        };
        a? + b?
    } else {
        read_range(&file, &mut buf, 0, job)?
    };
    if got != expected {
        return Err(ImportError::Io(std::io::Error::other(format!(
            "the file shrank while it was being read ({len} bytes when opened, only {got} could be read); if a \
             program is rewriting it, wait until it has finished and open it again"
        ))));
    }
    Ok(buf)
}

/// Below this a second reader thread costs more than it saves.
const PARALLEL_READ_MIN: usize = 8 << 20;

/// `len` zero bytes, or None when memory is short. Zeroed allocation of this size comes straight from the kernel
/// (calloc: fresh pages, no memset), so each page is touched once, by the read that fills it.
fn zeroed_buffer(len: usize) -> Option<Vec<u8>> {
    let layout = std::alloc::Layout::array::<u8>(len).ok()?;
    // SAFETY: `layout` has a non-zero size (callers never ask for 0 bytes) and the alignment of u8; the pointer,
    // when not null, is `len` initialized (zeroed) bytes from the global allocator with that layout, as
    // `Vec::from_raw_parts` requires.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout);
        (!ptr.is_null()).then(|| Vec::from_raw_parts(ptr, len, len))
    }
}

/// Fills `dest` from the file at `offset`, stopping early only at end of file. Returns how many bytes it read.
fn read_range(file: &std::fs::File, dest: &mut [u8], offset: u64, job: &Job) -> Result<usize, ImportError> {
    // Chunks of 16 MiB: cancel stays responsive on a slow disk.
    const CHUNK: usize = 16 << 20;
    let mut done = 0;
    while done < dest.len() {
        job.check()?;
        let want = CHUNK.min(dest.len() - done);
        match read_at(file, &mut dest[done..done + want], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, dest: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, dest, offset)
}

#[cfg(windows)]
fn read_at(file: &std::fs::File, dest: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, dest, offset)
}

/// Imports from bytes already in memory (uploads, tests) with the default limits.
pub fn import_bytes(name: &str, raw: &[u8], job: &Job) -> Result<Profile, ImportError> {
    import_bytes_with(name, raw, job, &ImportOptions::default())
}

/// Imports from bytes already in memory; then checks every internal reference of the result (see `validate`).
pub fn import_bytes_with(name: &str, raw: &[u8], job: &Job, options: &ImportOptions) -> Result<Profile, ImportError> {
    if raw.is_empty() {
        return Err(ImportError::Empty);
    }
    job.set_total(raw.len() as u64);
    let decompressed;
    let mut bytes = raw;
    if raw.starts_with(&[0x1f, 0x8b]) {
        decompressed = gunzip(raw, job, options)?;
        bytes = &decompressed;
        job.set_total(bytes.len() as u64);
    }
    let transcoded;
    if let Some(utf8) = decode_utf16(bytes) {
        transcoded = utf8;
        bytes = transcoded.as_bytes();
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes = &bytes[3..];
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    let ext = base.rsplit_once('.').map_or("", |(_, e)| e);
    let input = Input { bytes, name, ext };
    job.set_done(0);
    let mut profile = dispatch(&input, job, options)?;
    if profile.name.is_empty() {
        profile.name = name.to_owned();
    }
    check_and_clamp(&mut profile)?;
    job.set_done(bytes.len() as u64);
    Ok(profile)
}

/// Every import's last step, whatever it read (bytes or an exact-mode directory): the tables must be consistent,
/// and ids are clamped to what JS can hold.
fn check_and_clamp(profile: &mut Profile) -> Result<(), ImportError> {
    validate::check_profile(profile).map_err(|m| ImportError::parse(validate::format_name(profile), m, Location::Unknown))?;
    validate::clamp_ids(profile);
    Ok(())
}

fn dispatch(input: &Input, job: &Job, options: &ImportOptions) -> Result<Profile, ImportError> {
    let head = &input.bytes[..input.bytes.len().min(64 * 1024)];
    // Content first, most specific first: the binary formats, then JSON flavours, then line formats.
    let sample_type = options.sample_type.as_deref();
    if pprof::detect(head) {
        return pprof::import_with(input, job, sample_type);
    }
    if pstats::detect(head) {
        return pstats::import(input, job);
    }
    if exact::detect(head) {
        return exact::import(input, job);
    }
    if exact::detect_manifest(head) {
        return Err(ImportError::Unknown {
            hint: "This is the manifest of an Emberscope exact recording: open its directory (or the manifest by its \
                   path) so the per-process .embx files next to it can be read."
                .to_owned(),
        });
    }
    // A live session's recording (JSON lines), e.g. one a crashed session left behind.
    #[cfg(feature = "sampler")]
    if crate::sampler::recording::detect(head) {
        return crate::sampler::recording::load_from(input.bytes, input.name)
            .map_err(|m| ImportError::parse("Emberscope recording", m, Location::Unknown));
    }
    if speedscope::detect(head) {
        return speedscope::import(input, job);
    }
    if cpuprofile::detect(head) {
        return cpuprofile::import(input, job);
    }
    if looks_like_firefox_profile(head) {
        return Err(ImportError::Unknown {
            hint: "This looks like a Firefox profile, which Emberscope does not read yet; profiler.firefox.com \
                   can open it and share it in other formats."
                .to_owned(),
        });
    }
    if chrome::detect(head) {
        return chrome::import(input, job);
    }
    if folded::detect(head) {
        return folded::import(input, job);
    }
    // Extension second: the content was not conclusive (e.g. a truncated head), so let the named importer
    // give a precise error.
    match input.ext {
        // cProfile users save `.prof` too (snakeviz, `python -m cProfile -o x.prof`): say why it is neither.
        "prof" => import_prof(input, job, sample_type),
        "pb" | "pprof" => pprof::import_with(input, job, sample_type),
        "pstats" | "cprofile" => pstats::import(input, job),
        "cpuprofile" => cpuprofile::import(input, job),
        "speedscope" => speedscope::import(input, job),
        "json" => {
            if head.windows(b"\"$schema\"".len()).any(|w| w == b"\"$schema\"") {
                speedscope::import(input, job)
            } else {
                chrome::import(input, job)
            }
        }
        "txt" | "folded" | "collapsed" | "austin" => folded::import(input, job),
        _ => Err(ImportError::Unknown {
            hint: "Check that it is a profile file, not a log or a report.".to_owned(),
        }),
    }
}

/// A `.prof` that neither content sniffer took: read it as pprof (a short or odd pprof head can fail `detect`);
/// when that fails too, the error says why it is neither a cProfile/pstats file nor a pprof file.
fn import_prof(input: &Input, job: &Job, sample_type: Option<&str>) -> Result<Profile, ImportError> {
    let pprof_error = match pprof::import_with(input, job, sample_type) {
        Ok(p) => return Ok(p),
        Err(e @ (ImportError::Cancelled | ImportError::TooLarge(_) | ImportError::Stated(_))) => return Err(e),
        Err(e) => e,
    };
    let pstats_error = match pstats::import(input, job) {
        Ok(p) => return Ok(p),
        Err(ImportError::Cancelled) => return Err(ImportError::Cancelled),
        Err(e) => e,
    };
    let why = |e: &ImportError| match e {
        ImportError::Parse { message, location: Location::Unknown, .. } => message.clone(),
        ImportError::Parse { message, location, .. } => format!("{message} ({location})"),
        other => other.to_string(),
    };
    Err(ImportError::Stated(format!(
        "neither a valid cProfile/pstats file nor a valid pprof file (a .prof file is one or the other): as \
         cProfile/pstats, {}; as pprof, {}. Check that the file is complete (not cut short by a copy or a download) \
         and was written by `cProfile`/`pstats.dump_stats` or by a pprof tool",
        why(&pstats_error),
        why(&pprof_error)
    )))
}

/// Firefox profiles: Gecko profiler JSON (`meta` + `libs` + `threads`) or a DevTools performance-panel export
/// (`label`, `duration`, `markers`, then a Gecko `profile` with `libs`).
fn looks_like_firefox_profile(head: &[u8]) -> bool {
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if head.starts_with(b"{\"label\"") && has(b"\"duration\"") && has(b"\"markers\"") {
        return true;
    }
    head.first() == Some(&b'{')
        && has(b"\"libs\"")
        && (has(b"\"threads\"") || has(b"\"profile\""))
        && (has(b"\"meta\"") || head.starts_with(b"{\"label\""))
}

fn gunzip(raw: &[u8], job: &Job, options: &ImportOptions) -> Result<Vec<u8>, ImportError> {
    // Report progress against compressed bytes consumed; output grows as it goes.
    struct Counting<'a> {
        inner: &'a [u8],
        pos: usize,
        job: &'a Job,
    }
    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.job.is_cancelled() {
                // Not ErrorKind::Interrupted: readers (flate2's header parser among them) retry on that forever.
                return Err(std::io::Error::other("cancelled"));
            }
            let n = (self.inner.len() - self.pos).min(buf.len()).min(1 << 20);
            buf[..n].copy_from_slice(&self.inner[self.pos..self.pos + n]);
            self.pos += n;
            self.job.set_done(self.pos as u64 / 2);
            Ok(n)
        }
    }
    let limit = options.inflate_limit(raw.len() as u64);
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit as usize));
    // One byte past the limit tells "exactly at the limit" from "over it".
    let dec = flate2::read::MultiGzDecoder::new(Counting { inner: raw, pos: 0, job });
    match dec.take(limit.saturating_add(1)).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > limit => Err(ImportError::TooLarge(format!(
            "the gzip file inflates to more than {} ({} compressed), past the limit of {}x the compressed size (at \
             least {}, at most {}) that guards against decompression bombs. If the file is genuine, raise the limit \
             (import options maxInflateRatio / maxInflatedBytes)",
            show_bytes(limit),
            show_bytes(raw.len() as u64),
            options.max_inflate_ratio,
            show_bytes(MIN_INFLATE_ALLOWANCE.min(options.max_inflated_bytes)),
            show_bytes(options.max_inflated_bytes),
        ))),
        Ok(_) => Ok(out),
        Err(_) if job.is_cancelled() => Err(ImportError::Cancelled),
        Err(e) => Err(ImportError::parse(
            "gzip",
            format!("{e}; the compressed data is corrupt or truncated"),
            Location::Byte(out.len() as u64),
        )),
    }
}

/// "1.5 GiB", "200 MiB", "12 KiB", "80 bytes".
fn show_bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size {
            let x = n as f64 / size as f64;
            return if x == x.trunc() { format!("{x} {unit}") } else { format!("{x:.1} {unit}") };
        }
    }
    format!("{n} bytes")
}

/// UTF-16 (with a BOM, or detected by NUL bytes in the head) → UTF-8. None when the input is not UTF-16.
fn decode_utf16(bytes: &[u8]) -> Option<String> {
    let (le, body) = if bytes.starts_with(&[0xFF, 0xFE]) {
        (true, &bytes[2..])
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        (false, &bytes[2..])
    } else {
        // No BOM: text whose every other byte is NUL in the head is UTF-16 too.
        let head = &bytes[..bytes.len().min(256)];
        if head.len() < 4 || !head.len().is_multiple_of(2) {
            return None;
        }
        let even_nul = head.iter().step_by(2).filter(|&&b| b == 0).count();
        let odd_nul = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        let half = head.len() / 2;
        if odd_nul * 10 >= half * 9 && even_nul == 0 {
            (true, bytes)
        } else if even_nul * 10 >= half * 9 && odd_nul == 0 {
            (false, bytes)
        } else {
            return None;
        }
    };
    let units = body.chunks_exact(2).map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) });
    Some(char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect())
}
