//! The append-only recording file a session writes while it samples, and `load` to rebuild a profile from it.
//!
//! Format, version 1: JSON lines, UTF-8.
//! - line 1, the header: `{"emberscope_recording":1,"name":"...","start_unix_ns":1700000000000000000,"meta":{"pid":"123",...}}`
//! - then one line per batch: `{"batch":{...}}` with the fields of `Batch` (columnar deltas, global indexes).
//!   The last batch of a session that ended normally has `"ended":"<reason>"`.
//!
//! The writer flushes after every batch (every ~100 ms), so a crash loses well under a second. A file whose last
//! line was cut mid-write loads without that line; its profile says so in `meta.recovered`. A newer
//! `emberscope_recording` version is refused with a clear error rather than misread.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::batch::{apply_batch, create_live_profile, Batch, SessionStats};
use crate::model::Profile;

pub const RECORDING_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub emberscope_recording: u32,
    pub name: String,
    /// Integer ns: a float would not survive the JSON round trip bit for bit.
    pub start_unix_ns: u64,
    pub meta: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct BatchLine {
    batch: Batch,
}

/// Writes a recording; each `append` is one line, flushed at once.
pub struct RecordingWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl RecordingWriter {
    pub fn create(path: &Path, header: &Header) -> std::io::Result<RecordingWriter> {
        let file = File::create(path)?;
        let mut w = RecordingWriter { path: path.to_owned(), out: BufWriter::new(file) };
        serde_json::to_writer(&mut w.out, header)?;
        w.out.write_all(b"\n")?;
        w.out.flush()?;
        Ok(w)
    }

    pub fn append(&mut self, batch: &Batch) -> std::io::Result<()> {
        // Serialize through a borrowed wrapper to avoid cloning the batch.
        #[derive(Serialize)]
        struct Line<'a> {
            batch: &'a Batch,
        }
        serde_json::to_writer(&mut self.out, &Line { batch })?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Puts the header's facts, the last stats and the end reason into `meta`, identically for `Session::finish` and
/// `load`, so the two agree on a recording that ended normally.
pub(crate) fn finalize_profile(p: &mut Profile, header: &Header, stats: &SessionStats, ended: Option<&str>) {
    p.name = header.name.clone();
    p.start_ns = header.start_unix_ns as f64;
    let mut meta: BTreeMap<String, String> = header.meta.clone();
    meta.insert("samples_taken".into(), stats.taken.to_string());
    meta.insert("samples_missed".into(), stats.missed.to_string());
    meta.insert("achieved_hz".into(), format!("{:.1}", stats.achieved_hz));
    meta.insert("end_reason".into(), ended.unwrap_or("recording ended without an end marker").to_owned());
    p.meta = meta.into_iter().collect();
    p.duration_ns = p.duration_ns.max(stats.elapsed_ns as f64);
}

/// Rebuilds the profile of a recording, complete or cut short by a crash.
pub fn load(path: &Path) -> Result<Profile, String> {
    let file = File::open(path).map_err(|e| format!("cannot open recording {}: {e}", path.display()))?;
    load_from(BufReader::new(file), &path.display().to_string())
}

/// True when `head` starts like a recording's header line (the import dispatcher's sniff).
pub fn detect(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(64)]);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.starts_with("{\"emberscope_recording\":")
}

/// `load` over any reader; `display` names the source in errors (a path, or a file name for bytes in memory).
pub fn load_from(reader: impl BufRead, display: &str) -> Result<Profile, String> {
    struct Shown<'a>(&'a str);
    impl Shown<'_> {
        fn display(&self) -> &str {
            self.0
        }
    }
    let path = Shown(display);
    let mut lines = reader.lines().enumerate().peekable();
    let read_err = |n: usize, e: std::io::Error| format!("{}: line {}: read failed: {e}", path.display(), n + 1);
    let Some((_, first)) = lines.next() else {
        return Err(format!("{}: empty file, not an Emberscope recording", path.display()));
    };
    let first = first.map_err(|e| read_err(0, e))?;
    let header: Header = serde_json::from_str(&first)
        .map_err(|e| format!("{}: line 1 is not an Emberscope recording header: {e}", path.display()))?;
    if header.emberscope_recording == 0 || header.emberscope_recording > RECORDING_VERSION {
        return Err(format!(
            "{}: recording version {} is not supported (this build reads up to {RECORDING_VERSION})",
            path.display(),
            header.emberscope_recording
        ));
    }
    let mut profile = create_live_profile(&header.name);
    let mut stats = SessionStats::default();
    let mut ended: Option<String> = None;
    let mut recovered: Option<String> = None;
    while let Some((n, line)) = lines.next() {
        let line = line.map_err(|e| read_err(n, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: BatchLine = match serde_json::from_str(&line) {
            Ok(b) => b,
            // A crash can cut only the line being written: the last one. A complete line that is wrong is an error.
            Err(e) if lines.peek().is_none() && e.is_eof() => {
                recovered = Some(format!("dropped a partial last line {} ({e})", n + 1));
                break;
            }
            Err(e) => return Err(format!("{}: line {} is not a valid batch: {e}", path.display(), n + 1)),
        };
        apply_batch(&mut profile, &parsed.batch).map_err(|e| format!("{}: line {}: {e}", path.display(), n + 1))?;
        stats = parsed.batch.stats;
        if parsed.batch.ended.is_some() {
            ended = parsed.batch.ended;
        }
    }
    finalize_profile(&mut profile, &header, &stats, ended.as_deref());
    if let Some(r) = recovered {
        profile.meta.push(("recovered".into(), r));
        profile.meta.sort();
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProfileBuilder;
    use crate::sampler::batch::{BatchCutter, BatchSamples, ThreadInfo};

    fn write_sample_recording(path: &Path) -> Profile {
        let header = Header {
            emberscope_recording: 1,
            name: "t".into(),
            start_unix_ns: 5,
            meta: BTreeMap::from([("pid".into(), "1".into())]),
        };
        let mut w = RecordingWriter::create(path, &header).unwrap();
        let mut b = ProfileBuilder::new();
        let mut cut = BatchCutter::default();
        let mut live = create_live_profile("t");
        for k in 0..3u32 {
            let f = b.frame(&format!("f{k}"), Some("/a.py"), k + 1);
            let s = b.stack_of(&[f]);
            let threads =
                if k == 0 { vec![ThreadInfo { index: 0, pid: 1, tid: 1, name: "main".into() }] } else { vec![] };
            let samples = BatchSamples {
                thread_index: vec![0],
                stack: vec![s],
                time_ns: vec![k as f64],
                weight: vec![1.0],
                gil: vec![1],
                idle: vec![0],
            };
            let mut batch = cut.cut(&b, threads, samples);
            batch.stats.taken = k as u64 + 1;
            apply_batch(&mut live, &batch).unwrap();
            w.append(&batch).unwrap();
        }
        finalize_profile(&mut live, &header, &SessionStats { taken: 3, ..Default::default() }, None);
        live
    }

    #[test]
    fn loads_what_was_written_and_survives_a_cut_line() {
        let dir = std::env::temp_dir().join(format!("emberscope-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.jsonl");
        let live = write_sample_recording(&path);
        let loaded = load(&path).unwrap();
        assert_eq!(loaded, live);
        assert_eq!(loaded.threads[0].samples.len(), 3);

        // Cut the file in the middle of its last line, as a crash would.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
        let cut = load(&path).unwrap();
        assert_eq!(cut.threads[0].samples.len(), 2);
        assert!(cut.meta.iter().any(|(k, _)| k == "recovered"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_import_dispatcher_recognises_a_recording() {
        let dir = std::env::temp_dir().join(format!("emberscope-rec-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("session.jsonl");
        let live = write_sample_recording(&path);
        let bytes = std::fs::read(&path).unwrap();
        assert!(detect(&bytes));
        assert!(!detect(b"{\"traceEvents\":[]}"));
        let imported = crate::import::import_bytes("session.jsonl", &bytes, &crate::job::Job::new()).unwrap();
        assert_eq!(imported, live);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
