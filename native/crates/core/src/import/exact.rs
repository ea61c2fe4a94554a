//! Emberscope exact-mode traces: what the in-process tracer (`native/crates/tracer`) writes, one memory-mapped
//! file per process (`<pid>.embx`) in one output directory, and the importer that reads a directory, a manifest
//! or a single file back into one profile with a span thread per thread per process.
//!
//! The file is written while the program runs, so it must be readable at any moment the writer may die
//! (`os._exit`, SIGKILL, a segfault): every length field counts only bytes that were completely written before
//! it was updated, and the reader trusts nothing else. Layout (version 1, little-endian):
//!
//! ```text
//! header (HEADER_LEN bytes): magic "EMBXACT\0", version u32, header_len u32, pid u32, ppid u32,
//!   start_mono_ns u64 (CLOCK_MONOTONIC at start: record times are relative to it, and it aligns processes),
//!   start_unix_ns u64, allocated u64 (bytes in use: header + chunks), state u32 (STATE_*), flags u32,
//!   ring_window_ns u64 (0: everything kept), recycled_chunks u64, max_bytes u64, reserved to HEADER_LEN
//! chunks, back to back from HEADER_LEN: kind u32 (KIND_*), cap u32 (payload bytes), len u32 (payload bytes
//!   written), reserved u32, tid u64, serial u64 (allocation order; a recycled ring chunk gets a new one),
//!   then `cap` payload bytes
//! KIND_RECORDS payload: 16-byte records, one per finished call:
//!   a = start_ns_since_start << 16 | depth (u16, saturating), b = code_id << 32 | duration (see `encode_duration`)
//! KIND_CODES payload: per code object or C function, 16 bytes (id u32, first line u32, kind u16 (0 Python, 1 C),
//!   name_len u16, file_len u16, reserved u16), then the name and file (UTF-8), padded to 8 bytes
//! KIND_META payload: entries of len u32 + one JSON object, padded to 4 bytes:
//!   {"thread": tid, "name": "..."}, {"process": {"argv": [...], "python": "3.11.7", "parent": pid}},
//!   {"note": "..."}
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::import::{ImportError, Input, Location};
use crate::job::Job;
use crate::model::{EventedThreadBuilder, FrameKind, Profile, ProfileBuilder, Thread, WeightUnit, definition_lines_meta};

pub const MAGIC: &[u8; 8] = b"EMBXACT\0";
pub const VERSION: u32 = 1;
pub const HEADER_LEN: usize = 128;
pub const CHUNK_HEADER_LEN: usize = 32;
pub const RECORD_LEN: usize = 16;
pub const FILE_EXT: &str = "embx";
/// The manifest a recording directory holds: `{"format": "emberscope-exact", "version": 1}` (then every `.embx`
/// beside it belongs to the recording), optionally with `"files": [...]` naming them. A file, so that everything
/// that opens one file (dialogs, the CLI, drag and drop) opens a recording.
pub const MANIFEST_NAME: &str = "manifest.json";
pub const MANIFEST_FORMAT: &str = "emberscope-exact";

pub const KIND_RECORDS: u32 = 1;
pub const KIND_CODES: u32 = 2;
pub const KIND_META: u32 = 3;

pub const STATE_RECORDING: u32 = 0;
pub const STATE_CLOSED: u32 = 1;
pub const STATE_SIZE_CAP: u32 = 2;
pub const STATE_ERROR: u32 = 3;

pub const FLAG_C_CALLS: u32 = 1;

/// Header field offsets.
pub mod off {
    pub const VERSION: usize = 8;
    pub const HEADER_LEN: usize = 12;
    pub const PID: usize = 16;
    pub const PPID: usize = 20;
    pub const START_MONO: usize = 24;
    pub const START_UNIX: usize = 32;
    pub const ALLOCATED: usize = 40;
    pub const STATE: usize = 48;
    pub const FLAGS: usize = 52;
    pub const RING_WINDOW: usize = 56;
    pub const RECYCLED: usize = 64;
    pub const MAX_BYTES: usize = 72;
}

const TIER_SHIFT: u32 = 30;
const TIER_VALUE: u32 = (1 << TIER_SHIFT) - 1;

/// Durations in 32 bits: the top two bits pick the unit (ns, µs, ms) and the other 30 hold the value, so a call
/// is exact to the ns below 1.07 s, to the µs below 17.9 min, and to the ms below 12.4 days (saturating there).
/// Sixteen bytes per call instead of 24; a call long enough to need the coarser unit loses < 0.1% of it.
#[inline(always)]
pub fn encode_duration(ns: u64) -> u32 {
    if ns <= TIER_VALUE as u64 {
        ns as u32
    } else if ns / 1_000 <= TIER_VALUE as u64 {
        (1 << TIER_SHIFT) | (ns / 1_000) as u32
    } else {
        (2 << TIER_SHIFT) | (ns / 1_000_000).min(TIER_VALUE as u64) as u32
    }
}

pub fn decode_duration(d: u32) -> u64 {
    let v = (d & TIER_VALUE) as u64;
    match d >> TIER_SHIFT {
        0 => v,
        1 => v * 1_000,
        _ => v * 1_000_000,
    }
}

pub fn detect(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// A manifest names its format in its first bytes: `{"format": "emberscope-exact"`.
pub fn detect_manifest(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(256)]);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.starts_with(&format!("{{\"format\":\"{MANIFEST_FORMAT}\""))
}

const FORMAT: &str = "Emberscope exact trace";

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

struct Code {
    name: String,
    file: String,
    line: u32,
    native: bool,
}

struct Record {
    start: u64,
    end: u64,
    depth: u16,
    code: u32,
}

/// One process's file, parsed.
struct ProcessTrace {
    pid: u32,
    start_mono: u64,
    state: u32,
    ring_window: u64,
    recycled: u64,
    max_bytes: u64,
    /// By code id, which the tracer gives out in the order it first sees each code. Frames (and their strings) are
    /// interned in this order, so it must not hang on a per-process hash seed: the same file gives the same profile.
    codes: BTreeMap<u32, Code>,
    /// (tid, records), tids in order of first appearance.
    threads: Vec<(u64, Vec<Record>)>,
    thread_names: HashMap<u64, String>,
    argv: Vec<String>,
    notes: Vec<String>,
}

fn parse_process(bytes: &[u8], name: &str, job: &Job) -> Result<ProcessTrace, ImportError> {
    let bad = |m: String, at: usize| ImportError::parse(FORMAT, format!("{name}: {m}"), Location::Byte(at as u64));
    if bytes.len() < HEADER_LEN || !detect(bytes) {
        return Err(bad("not an exact trace (no EMBXACT header)".into(), 0));
    }
    let version = u32_at(bytes, off::VERSION);
    if version != VERSION {
        return Err(bad(
            format!("format version {version}; this Emberscope reads version {VERSION}. Open it with the Emberscope that recorded it"),
            off::VERSION,
        ));
    }
    let header_len = u32_at(bytes, off::HEADER_LEN) as usize;
    // `allocated` is written before a chunk is used, so it never claims bytes that do not exist; a file cut short
    // (a copy in progress) is read up to where it ends.
    let allocated = (u64_at(bytes, off::ALLOCATED) as usize).min(bytes.len());
    let mut p = ProcessTrace {
        pid: u32_at(bytes, off::PID),
        start_mono: u64_at(bytes, off::START_MONO),
        state: u32_at(bytes, off::STATE),
        ring_window: u64_at(bytes, off::RING_WINDOW),
        recycled: u64_at(bytes, off::RECYCLED),
        max_bytes: u64_at(bytes, off::MAX_BYTES),
        codes: Default::default(),
        threads: Vec::new(),
        thread_names: Default::default(),
        argv: Vec::new(),
        notes: Vec::new(),
    };
    let mut record_chunks: Vec<(u64, u64, &[u8])> = Vec::new(); // (serial, tid, payload)
    let mut at = header_len.max(HEADER_LEN);
    while at + CHUNK_HEADER_LEN <= allocated {
        job.check()?;
        let kind = u32_at(bytes, at);
        let cap = u32_at(bytes, at + 4) as usize;
        let len = (u32_at(bytes, at + 8) as usize).min(cap);
        let tid = u64_at(bytes, at + 16);
        let serial = u64_at(bytes, at + 24);
        if kind == 0 {
            break; // allocated but the writer died before it wrote the chunk header
        }
        let body = at + CHUNK_HEADER_LEN;
        if cap == 0 || body + cap > bytes.len() {
            // A chunk cut short by the end of the file: read what is there.
            let end = (body + len).min(bytes.len());
            if end <= body {
                break;
            }
            if kind == KIND_RECORDS {
                record_chunks.push((serial, tid, &bytes[body..end]));
            }
            break;
        }
        let payload = &bytes[body..body + len];
        match kind {
            KIND_RECORDS => record_chunks.push((serial, tid, payload)),
            KIND_CODES => parse_codes(payload, &mut p.codes),
            KIND_META => parse_meta(payload, &mut p),
            _ => return Err(bad(format!("unknown chunk kind {kind}"), at)),
        }
        at = body + cap;
    }
    record_chunks.sort_by_key(|c| c.0);
    for (_, tid, payload) in record_chunks {
        let slot = match p.threads.iter().position(|t| t.0 == tid) {
            Some(i) => i,
            None => {
                p.threads.push((tid, Vec::new()));
                p.threads.len() - 1
            }
        };
        let out = &mut p.threads[slot].1;
        for r in payload.chunks_exact(RECORD_LEN) {
            let a = u64_at(r, 0);
            let b = u64_at(r, 8);
            let start = a >> 16;
            out.push(Record {
                start,
                end: start + decode_duration(b as u32),
                depth: a as u16,
                code: (b >> 32) as u32,
            });
        }
    }
    Ok(p)
}

fn parse_codes(payload: &[u8], codes: &mut BTreeMap<u32, Code>) {
    let mut at = 0;
    while at + 16 <= payload.len() {
        let id = u32_at(payload, at);
        let line = u32_at(payload, at + 4);
        let kind = u16_at(payload, at + 8);
        let name_len = u16_at(payload, at + 10) as usize;
        let file_len = u16_at(payload, at + 12) as usize;
        let text = at + 16;
        if text + name_len + file_len > payload.len() {
            break;
        }
        let name = String::from_utf8_lossy(&payload[text..text + name_len]).into_owned();
        let file = String::from_utf8_lossy(&payload[text + name_len..text + name_len + file_len]).into_owned();
        codes.insert(id, Code { name, file, line, native: kind == 1 });
        at = (text + name_len + file_len + 7) & !7;
    }
}

fn parse_meta(payload: &[u8], p: &mut ProcessTrace) {
    let mut at = 0;
    while at + 4 <= payload.len() {
        let len = u32_at(payload, at) as usize;
        if len == 0 || at + 4 + len > payload.len() {
            break;
        }
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&payload[at + 4..at + 4 + len]) {
            if let (Some(tid), Some(name)) = (v.get("thread").and_then(|t| t.as_u64()), v.get("name").and_then(|n| n.as_str())) {
                p.thread_names.insert(tid, name.to_owned());
            } else if let Some(proc_) = v.get("process") {
                if let Some(argv) = proc_.get("argv").and_then(|a| a.as_array()) {
                    p.argv = argv.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect();
                }
            } else if let Some(note) = v.get("note").and_then(|n| n.as_str()) {
                p.notes.push(note.to_owned());
            }
        }
        at = (at + 4 + len + 3) & !3;
    }
}

/// A single `.embx` file from memory: one process.
pub fn import(input: &Input, job: &Job) -> Result<Profile, ImportError> {
    let p = parse_process(input.bytes, input.name, job)?;
    build_profile(vec![p], input.name, job)
}

/// A recording directory (every `*.embx` in it) or its manifest.
pub fn import_path(path: &Path, job: &Job) -> Result<Profile, ImportError> {
    let files = list_files(path)?;
    let mut procs = Vec::new();
    for f in &files {
        job.check()?;
        let bytes = std::fs::read(f)?;
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        procs.push(parse_process(&bytes, &name, job)?);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    build_profile(procs, &name, job)
}

/// Whether `path` is something `import_path` reads: a directory holding `.embx` files, or a manifest.
pub fn is_trace_path(path: &Path) -> bool {
    if path.is_dir() {
        return std::fs::read_dir(path).map_or(false, |rd| {
            rd.flatten().any(|e| e.path().extension().is_some_and(|x| x == FILE_EXT))
        });
    }
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
    detect_manifest(&head[..n])
}

fn list_files(path: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == FILE_EXT))
            .collect()
    } else {
        let text = std::fs::read_to_string(path)?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ImportError::parse("Emberscope exact manifest", e.to_string(), Location::Unknown))?;
        let version = v.get("version").and_then(|x| x.as_u64()).unwrap_or(0);
        if version != VERSION as u64 {
            return Err(ImportError::parse(
                "Emberscope exact manifest",
                format!("manifest version {version}; this Emberscope reads version {VERSION}"),
                Location::Unknown,
            ));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        match v.get("files").and_then(|f| f.as_array()) {
            Some(a) => {
                let names: Vec<&str> = a.iter().filter_map(|s| s.as_str()).collect();
                // Only files beside the manifest: a manifest must not make the importer read elsewhere.
                if let Some(bad) = names.iter().find(|n| n.contains(['/', '\\']) || !n.ends_with(&format!(".{FILE_EXT}"))) {
                    return Err(ImportError::parse(
                        "Emberscope exact manifest",
                        format!("\"files\" may name only .{FILE_EXT} files beside the manifest, not {bad:?}"),
                        Location::Unknown,
                    ));
                }
                names.iter().map(|n| dir.join(n)).collect()
            }
            // No list: the processes of a run add their files as they start, so the manifest (written by the
            // first) stands for every .embx beside it.
            None => return list_files(dir),
        }
    };
    files.sort();
    if files.is_empty() {
        return Err(ImportError::parse(
            FORMAT,
            format!("{} holds no .{FILE_EXT} files: the traced program never started the tracer", path.display()),
            Location::Unknown,
        ));
    }
    Ok(files)
}

fn build_profile(mut procs: Vec<ProcessTrace>, name: &str, job: &Job) -> Result<Profile, ImportError> {
    procs.sort_by_key(|p| (p.start_mono, p.pid));
    let origin = procs.iter().map(|p| p.start_mono).min().unwrap_or(0);
    let many = procs.len() > 1;
    let mut b = ProfileBuilder::new();
    let mut threads: Vec<Thread> = Vec::new();
    let mut meta = Vec::new();
    let mut calls = 0u64;
    for p in &mut procs {
        let shift = (p.start_mono - origin) as f64;
        // In code id order (`codes` is ordered); `frames` itself is only looked up.
        let frames: HashMap<u32, u32> = p
            .codes
            .iter()
            .map(|(&id, c)| {
                let kind = if c.native { FrameKind::Native } else { FrameKind::classify(&c.name, Some(&c.file)) };
                let file = (!c.file.is_empty()).then_some(c.file.as_str());
                (id, b.frame_with_kind(&c.name, file, c.line, kind))
            })
            .collect();
        let unknown = b.frame("<unknown code>", None, 0);
        // A ring recording keeps the window ending at the last call that finished.
        let cutoff = if p.ring_window > 0 {
            let last = p.threads.iter().flat_map(|t| t.1.iter().map(|r| r.end)).max().unwrap_or(0);
            last.saturating_sub(p.ring_window)
        } else {
            0
        };
        for (tid, records) in &mut p.threads {
            job.check()?;
            records.retain(|r| r.end >= cutoff);
            // Records are written as calls finish (children before parents); the timeline wants start order,
            // outer first on ties. Two calls at one depth can start at the same ns only if the first took 0 ns, so
            // the earlier end goes first; the full key leaves an unstable sort nothing to choose, so the order is
            // the data's alone.
            records.sort_unstable_by_key(|r| (r.start, r.depth, r.end, r.code));
            calls += records.len() as u64;
            let tname = p.thread_names.get(tid).cloned().unwrap_or_else(|| format!("Thread {tid}"));
            let label = if many { format!("{tname} (pid {})", p.pid) } else { tname };
            let mut t = EventedThreadBuilder::new(&label, p.pid as i64, *tid as i64);
            let mut open: Vec<(u64, u16)> = Vec::new(); // (end, depth)
            for r in records.iter() {
                while let Some(&(end, depth)) = open.last() {
                    if end < r.start || (end == r.start && depth >= r.depth) || end < r.end {
                        t.leave(shift + end as f64);
                        open.pop();
                    } else {
                        break;
                    }
                }
                let frame = frames.get(&r.code).copied().unwrap_or(unknown);
                t.enter(&mut b, frame, shift + r.start as f64);
                open.push((r.end, r.depth));
            }
            while let Some((end, _)) = open.pop() {
                t.leave(shift + end as f64);
            }
            threads.push(t.thread);
        }
        let label = if p.argv.is_empty() { String::new() } else { p.argv.join(" ") };
        meta.push((format!("process {}", p.pid), label));
        let state = match p.state {
            STATE_RECORDING => "ended without closing the trace (os._exit, a signal or a crash); every finished call is here",
            STATE_CLOSED => "closed cleanly",
            STATE_SIZE_CAP => "stopped at the size cap",
            _ => "stopped after an internal error",
        };
        meta.push((format!("process {} trace", p.pid), state.to_owned()));
        // `warning.*` meta is shown above the views: calls are missing and the user should know why.
        match p.state {
            STATE_SIZE_CAP => meta.push((
                format!("warning.exact {} size cap", p.pid),
                format!(
                    "process {}: recording stopped at the size cap ({} MiB); its later calls are missing (record with a \
                     larger --max-size, or fewer calls: --min-duration, --max-depth, --include)",
                    p.pid,
                    p.max_bytes >> 20
                ),
            )),
            STATE_ERROR => meta.push((
                format!("warning.exact {} error", p.pid),
                format!("process {}: the tracer stopped after an internal error; its later calls are missing", p.pid),
            )),
            _ => {}
        }
        if p.recycled > 0 {
            meta.push((format!("process {} ring", p.pid), format!("{} chunks recycled; the last {} s kept", p.recycled, p.ring_window as f64 / 1e9)));
        }
        for (i, n) in p.notes.iter().enumerate() {
            meta.push((format!("process {} note {}", p.pid, i + 1), n.clone()));
        }
    }
    let mut profile = b.finish("emberscope-exact", name, WeightUnit::Nanoseconds, threads);
    meta.push(("calls".to_owned(), calls.to_string()));
    // The tracer records each code object's first line.
    meta.push(definition_lines_meta());
    meta.push(("processes".to_owned(), procs.len().to_string()));
    meta.sort();
    profile.meta = meta;
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_within_their_tier() {
        for ns in [0u64, 1, 999, 1_073_741_823, 1_073_741_824, 5_000_000_123, 3_600_000_000_000, u64::MAX] {
            let d = decode_duration(encode_duration(ns));
            assert!(d <= ns, "{ns} -> {d}");
            if ns < 1 << 30 {
                assert_eq!(d, ns);
            } else if ns < 1_000_000_000_000_000 {
                assert!(ns - d < ns / 1000 + 1_000_000, "{ns} -> {d}");
            }
        }
    }

    /// One closed process file holding `codes` (id, name) and, on one thread, `records` (start, end, depth, code)
    /// in the order given.
    fn embx(codes: &[(u32, &str)], records: &[(u64, u64, u16, u32)]) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: u32, serial: u64, payload: &[u8]) {
            for v in [kind, payload.len() as u32, payload.len() as u32, 0] {
                out.extend(v.to_le_bytes());
            }
            out.extend(7u64.to_le_bytes()); // tid
            out.extend(serial.to_le_bytes());
            out.extend(payload);
        }
        let mut out = vec![0u8; HEADER_LEN];
        out[..8].copy_from_slice(MAGIC);
        out[off::VERSION..off::VERSION + 4].copy_from_slice(&VERSION.to_le_bytes());
        out[off::HEADER_LEN..off::HEADER_LEN + 4].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        out[off::PID..off::PID + 4].copy_from_slice(&7u32.to_le_bytes());
        out[off::STATE..off::STATE + 4].copy_from_slice(&STATE_CLOSED.to_le_bytes());
        let mut payload = Vec::new();
        for &(id, name) in codes {
            for v in [id, 1] {
                payload.extend(v.to_le_bytes());
            }
            for v in [0u16, name.len() as u16, 4, 0] {
                payload.extend(v.to_le_bytes());
            }
            payload.extend(name.bytes().chain(*b"t.py"));
            payload.resize(payload.len().next_multiple_of(8), 0);
        }
        chunk(&mut out, KIND_CODES, 0, &payload);
        let payload: Vec<u8> = records
            .iter()
            .flat_map(|&(start, end, depth, code)| {
                let a = (start << 16) | depth as u64;
                let b = ((code as u64) << 32) | encode_duration(end - start) as u64;
                a.to_le_bytes().into_iter().chain(b.to_le_bytes())
            })
            .collect();
        chunk(&mut out, KIND_RECORDS, 1, &payload);
        let allocated = out.len() as u64;
        out[off::ALLOCATED..off::ALLOCATED + 8].copy_from_slice(&allocated.to_le_bytes());
        out
    }

    fn import_embx(bytes: &[u8]) -> Profile {
        import(&Input { bytes, name: "t.embx", ext: FILE_EXT }, &Job::new()).unwrap()
    }

    /// The profile depends on the calls, not on the order the file lists them in: a 0 ns call and its sibling that
    /// start on the same ns nest the same way whichever comes first in the file.
    #[test]
    fn record_order_in_the_file_does_not_change_the_profile() {
        let codes = [(0, "main"), (1, "tick"), (2, "work")];
        // As the tracer writes them, calls in the order they finish: tick (0 ns), work, then main around both.
        let finished = [(100, 100, 1, 1), (100, 150, 1, 2), (50, 200, 0, 0)];
        let reversed: Vec<_> = finished.iter().rev().copied().collect();
        let a = import_embx(&embx(&codes, &finished));
        let b = import_embx(&embx(&codes, &reversed));
        assert_eq!(a, b);
        let spans = &a.threads[0].spans;
        let names: Vec<&str> = spans.frame.iter().map(|&f| a.strings[a.frames.func[f as usize] as usize].as_str()).collect();
        assert_eq!(names, ["main", "tick", "work"]);
        assert_eq!(spans.depth, [0, 1, 1], "tick took 0 ns: work is its sibling, not its child");
        assert_eq!((spans.start.clone(), spans.end.clone()), (vec![50.0, 100.0, 100.0], vec![200.0, 100.0, 150.0]));
    }

    #[test]
    fn detects_a_manifest() {
        assert!(detect_manifest(br#"{ "format": "emberscope-exact", "version": 1, "files": []}"#));
        assert!(!detect_manifest(br#"{"traceEvents": []}"#));
    }
}
