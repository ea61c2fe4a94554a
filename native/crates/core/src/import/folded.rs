//! Folded stacks, one sample (or aggregate) per line: `frame;frame;frame weight`, root first. Three dialects, told
//! apart by content:
//! - FlameGraph/perf collapsed (`a;b;c 12`): bare names, weight = sample count.
//! - py-spy `record --format raw`: frames `func (file.py:line)`; with `--threads`/`--subprocesses` the first frames
//!   are `process NNN:"cmd"` and `thread (TID): Name` / `thread (0x7f..)`, which become threads here. A child's
//!   samples carry its ancestors' `process` frames first (`process 1:"a";process 7:"b";thread (7): MainThread;...`):
//!   the innermost process owns the sample.
//! - Austin 3 text output: `# key: value` header lines, then `P<pid>;T<iid>:<tid>;file:func:line;... <metric>`,
//!   one line per sample in time order; the metric is µs of wall or CPU time (`mode: wall|cpu`), bytes
//!   (`mode: memory`) or `time,idle,memory` (`mode: full`, of which we keep the time).

use std::collections::HashMap;

use crate::import::{ImportError, Input, Location};
use crate::job::Job;
use crate::model::{FrameIndex, FrameKind, Profile, ProfileBuilder, SampledThreadBuilder, WeightUnit};

/// Lines we may skip before calling a file garbage; above this, more than half the lines must parse.
const TOLERATED_BAD_LINES: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    Plain,
    PySpy,
    Austin,
}

impl Dialect {
    fn format(self) -> &'static str {
        match self {
            Dialect::Plain => "folded",
            Dialect::PySpy => "py-spy-raw",
            Dialect::Austin => "austin",
        }
    }
}

/// True when most of the first data lines look like `stack weight` (or the file opens with Austin's header).
pub fn detect(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let first = text.trim_start();
    // JSON, HTML and XML are not folded stacks. A bare '<' is fine: py-spy's first frame is often `<module> (...)`.
    let markup = first.starts_with("<!") || first.starts_with("<?") || first.get(..5).is_some_and(|t| t.eq_ignore_ascii_case("<html"));
    if first.starts_with('{') || first.starts_with('[') || markup {
        return false;
    }
    if first.starts_with("# austin:") {
        return true;
    }
    let (mut good, mut seen) = (0, 0);
    // The last line of a head may be cut, so leave it out.
    let lines: Vec<&str> = text.lines().collect();
    let usable = if lines.len() > 1 { &lines[..lines.len() - 1] } else { &lines[..] };
    for line in usable.iter().map(|l| l.trim_end_matches('\r')) {
        if is_comment_or_blank(line) {
            continue;
        }
        seen += 1;
        if split_weight(line).is_some_and(|(stack, _)| !stack.is_empty()) {
            good += 1;
        }
        if seen >= 20 {
            break;
        }
    }
    good > 0 && good * 2 >= seen
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with("//")
}

/// Splits `stack weight` at the last run of spaces. The weight may be `a,b,c` (Austin full mode): the first wins.
/// The stack may be empty: py-spy writes ` 1` for a sample in which it found no frame, and counts it.
fn split_weight(line: &str) -> Option<(&str, f64)> {
    let line = line.trim_end();
    let cut = line.rfind([' ', '\t'])?;
    let (stack, weight) = (line[..cut].trim_end(), &line[cut + 1..]);
    let first = weight.split(',').next()?;
    let w: f64 = first.parse().ok()?;
    (w.is_finite() && (!stack.is_empty() || cut == 0)).then_some((stack, w))
}

/// Decides from the first data lines. py-spy wins when most frames look like `func (file:line)`: some py-spy
/// stacks are only built-ins without a file, so one line is not enough to tell.
fn choose_dialect(text: &str) -> Dialect {
    let (mut pyspy, mut frames, mut lines) = (0, 0, 0);
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("# austin:") {
            return Dialect::Austin;
        }
        if is_comment_or_blank(line) {
            continue;
        }
        let Some((stack, _)) = split_weight(line).filter(|(stack, _)| !stack.is_empty()) else { continue };
        if is_austin_prefix(stack) {
            return Dialect::Austin;
        }
        if stack.starts_with("process ") || stack.starts_with("thread (") {
            return Dialect::PySpy;
        }
        for f in stack.split(';') {
            frames += 1;
            pyspy += parse_pyspy_frame(f).is_some() as usize;
        }
        lines += 1;
        if lines >= 50 {
            break;
        }
    }
    if pyspy * 2 > frames { Dialect::PySpy } else { Dialect::Plain }
}

fn is_austin_prefix(stack: &str) -> bool {
    let mut parts = stack.splitn(3, ';');
    let (Some(p), Some(t)) = (parts.next(), parts.next()) else { return false };
    p.len() > 1 && p.starts_with('P') && p[1..].bytes().all(|b| b.is_ascii_digit()) && t.starts_with('T')
}

/// `func (file.py:line)` → (func, file, line). Native frames may lack the line: `func (libfoo.so)`.
fn parse_pyspy_frame(frame: &str) -> Option<(&str, &str, u32)> {
    let inner_start = frame.rfind(" (")?;
    let inner = frame[inner_start + 2..].strip_suffix(')')?;
    let func = &frame[..inner_start];
    match inner.rsplit_once(':') {
        Some((file, line)) if line.bytes().all(|b| b.is_ascii_digit()) && !line.is_empty() => {
            Some((func, file, line.parse().unwrap_or(0)))
        }
        _ => Some((func, inner, 0)),
    }
}

/// Austin `file:func:line`, parsed from the right because Windows paths contain `:`.
fn parse_austin_frame(frame: &str) -> (&str, Option<&str>, u32) {
    let mut parts = frame.rsplitn(3, ':');
    let line = parts.next().unwrap_or("");
    match (parts.next(), parts.next()) {
        (Some(func), Some(file)) => (func, Some(file), line.parse().unwrap_or(0)),
        _ => (frame, None, 0),
    }
}

/// The thread a sample belongs to and its display name.
#[derive(Clone, Debug)]
struct ThreadKey {
    pid: i64,
    tid: i64,
    name: String,
    /// The name is the thread's own (py-spy's `thread (TID): Name`), not one made up from ids.
    labelled: bool,
}

/// Per-file parsing state: interned frames by their text, threads by (pid, tid).
struct FoldedReader {
    dialect: Dialect,
    builder: ProfileBuilder,
    /// Owned keys (one allocation per distinct frame text): a line that is not UTF-8 is decoded into a String that
    /// does not outlive it.
    frame_cache: HashMap<Box<str>, FrameIndex>,
    threads: Vec<(SampledThreadBuilder, f64)>, // (thread, cumulative time in ns)
    thread_index: HashMap<(i64, i64), usize>,
    /// Per thread: whether its name came from a `thread (TID): Name` label.
    labelled: Vec<bool>,
    ns_per_weight: f64,
    scratch: Vec<FrameIndex>,
}

impl FoldedReader {
    fn intern_frame(&mut self, text: &str) -> FrameIndex {
        if let Some(&f) = self.frame_cache.get(text) {
            return f;
        }
        let f = match self.dialect {
            Dialect::Plain => self.builder.frame(text, None, 0),
            Dialect::PySpy => match parse_pyspy_frame(text) {
                Some((func, file, line)) => self.builder.frame(func, Some(file), line),
                None => self.builder.frame(text, None, 0),
            },
            Dialect::Austin => match parse_austin_frame(text) {
                // Austin writes `:INVALID:` for frames it could not read.
                ("INVALID", Some(""), _) => self.builder.frame_with_kind("<invalid frame>", None, 0, FrameKind::Other),
                (func, file, line) => self.builder.frame(func, file, line),
            },
        };
        self.frame_cache.insert(text.into(), f);
        f
    }

    fn add_sample(&mut self, key: Option<ThreadKey>, frames: &[&str], weight: f64) {
        let key = key.unwrap_or(ThreadKey { pid: 0, tid: 0, name: "all samples".to_owned(), labelled: false });
        let index = match self.thread_index.get(&(key.pid, key.tid)) {
            Some(&i) => {
                // py-spy names a thread only when it can read the name: a later labelled line names it.
                if key.labelled && !self.labelled[i] {
                    self.threads[i].0.thread.name = key.name;
                    self.labelled[i] = true;
                }
                i
            }
            None => {
                self.threads.push((SampledThreadBuilder::new(&key.name, key.pid, key.tid), 0.0));
                self.labelled.push(key.labelled);
                self.thread_index.insert((key.pid, key.tid), self.threads.len() - 1);
                self.threads.len() - 1
            }
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for f in frames {
            let fi = self.intern_frame(f);
            scratch.push(fi);
        }
        let stack = self.builder.stack_of(&scratch);
        self.scratch = scratch;
        let (thread, clock) = &mut self.threads[index];
        // No timestamps in these files: samples are laid end to end, each as long as its weight.
        thread.append(stack, *clock, weight);
        *clock += weight * self.ns_per_weight;
    }
}

/// Splits off py-spy's `process NNN:"cmd"` and `thread (TID): Name` pseudo-frames. The command line may hold `;`.
/// With `--subprocesses` a child's line starts with one `process` frame per ancestor: all are split off, and the
/// last (the process that was sampled) owns the sample.
fn split_pyspy_prefix(stack: &str) -> (Option<ThreadKey>, &str) {
    let mut rest = stack;
    let mut pid = 0;
    let mut key = None;
    while let Some(after) = rest.strip_prefix("process ") {
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        pid = after[..digits].parse().unwrap_or(0);
        let end = after.find("\";").map(|i| i + 2).or_else(|| after.find(';').map(|i| i + 1));
        rest = end.map_or("", |e| &after[e..]);
        key = Some(ThreadKey { pid, tid: 0, name: format!("process {pid}"), labelled: false });
    }
    if let Some(after) = rest.strip_prefix("thread (") {
        let close = after.find(')').unwrap_or(after.len());
        let id = &after[..close];
        let tid = parse_thread_id(id);
        let tail = &after[close.min(after.len())..];
        let (label, remainder) = match tail.find(';') {
            Some(i) => (&tail[..i], &tail[i + 1..]),
            None => (tail, ""),
        };
        let label = label.trim_start_matches(')').trim_start_matches(':').trim();
        let name = if label.is_empty() { format!("thread {id}") } else { format!("{label} ({id})") };
        let name = if pid != 0 { format!("{name} [pid {pid}]") } else { name };
        key = Some(ThreadKey { pid, tid, name, labelled: !label.is_empty() });
        rest = remainder;
    }
    (key, rest)
}

fn parse_thread_id(id: &str) -> i64 {
    let id = id.trim();
    if let Some(hex) = id.strip_prefix("0x").or_else(|| id.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).map_or(0, |v| v as i64);
    }
    id.parse::<i64>().or_else(|_| u64::from_str_radix(id, 16).map(|v| v as i64)).unwrap_or(0)
}

/// `P<pid>;T<iid>:<tid>;rest` → key and rest. Austin 2 wrote `T<tid>` alone.
fn split_austin_prefix(stack: &str) -> (Option<ThreadKey>, &str) {
    let mut parts = stack.splitn(3, ';');
    let p = parts.next().unwrap_or("");
    let t = parts.next().unwrap_or("");
    let rest = parts.next().unwrap_or("");
    // Past the letter (`P`, `T`): by chars, since a broken line can start with anything or be empty.
    fn past_letter(s: &str) -> &str {
        s.char_indices().nth(1).map_or("", |(i, _)| &s[i..])
    }
    let pid = past_letter(p).parse().unwrap_or(0);
    let id = past_letter(t).rsplit(':').next().unwrap_or("");
    let tid = parse_thread_id(id);
    (Some(ThreadKey { pid, tid, name: format!("thread {id} [pid {pid}]"), labelled: false }), rest)
}

pub fn import(input: &Input, job: &Job) -> Result<Profile, ImportError> {
    let head = &input.bytes[..input.bytes.len().min(64 * 1024)];
    let dialect = choose_dialect(&String::from_utf8_lossy(head));
    let mut meta: Vec<(String, String)> = Vec::new();
    let mut unit = WeightUnit::Samples;
    let mut austin_mode = String::new();
    let mut reader = FoldedReader {
        dialect,
        builder: ProfileBuilder::new(),
        frame_cache: HashMap::new(),
        threads: Vec::new(),
        thread_index: HashMap::new(),
        labelled: Vec::new(),
        ns_per_weight: 1.0,
        scratch: Vec::new(),
    };
    let (mut good, mut bad, mut negative) = (0u64, 0u64, 0u64);
    let mut first_bad: Option<(u64, String)> = None;
    // Lines with bytes that are not UTF-8 (a Latin-1 file; Austin reading a torn string out of a running process):
    // read with U+FFFD in place of those bytes, counted, and named in a warning, rather than refusing the file.
    let mut lossy = 0u64;
    let mut first_lossy: Option<(u64, u8, usize)> = None;
    let mut offset = 0usize;
    for (i, raw_line) in input.bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let line_start = offset;
        offset += raw_line.len() + 1;
        if i % 4096 == 0 {
            job.set_done(line_start as u64);
            job.check()?;
        }
        let decoded = String::from_utf8_lossy(raw_line);
        if let std::borrow::Cow::Owned(_) = decoded {
            lossy += 1;
            if first_lossy.is_none() {
                let col = std::str::from_utf8(raw_line).err().map_or(0, |e| e.valid_up_to());
                first_lossy = Some((line_no, raw_line[col], col + 1));
            }
        }
        let line = decoded.trim_end_matches('\r');
        if is_comment_or_blank(line) {
            if let Some((k, v)) = line.strip_prefix('#').and_then(|l| l.split_once(':')) {
                if dialect == Dialect::Austin {
                    let (k, v) = (k.trim(), v.trim());
                    if k == "mode" {
                        austin_mode = v.to_owned();
                        unit = if v == "memory" { WeightUnit::Bytes } else { WeightUnit::Microseconds };
                        reader.ns_per_weight = unit.ns_per_unit().unwrap_or(1.0);
                    }
                    meta.push((format!("austin.{k}"), v.to_owned()));
                }
            }
            continue;
        }
        let Some((stack, weight)) = split_weight(line) else {
            bad += 1;
            first_bad.get_or_insert((line_no, line.chars().take(60).collect()));
            continue;
        };
        if weight < 0.0 {
            // Austin's memory mode reports frees as negative deltas; a flame graph can only show allocations.
            negative += 1;
            continue;
        }
        let (key, frames_text) = match dialect {
            Dialect::Austin if is_austin_prefix(stack) || stack.starts_with('P') => split_austin_prefix(stack),
            Dialect::PySpy => split_pyspy_prefix(stack),
            _ => (None, stack),
        };
        let frames: Vec<&str> = if frames_text.is_empty() { Vec::new() } else { frames_text.split(';').collect() };
        reader.add_sample(key, &frames, weight);
        good += 1;
    }
    if let Some((line_no, text)) = &first_bad {
        if good == 0 || (bad > TOLERATED_BAD_LINES && bad > good) {
            return Err(ImportError::parse(
                dialect.format(),
                format!(
                    "{bad} of {} lines are not `frame;frame;... weight` (first: {text:?}); this does not look like \
                     folded stacks",
                    good + bad
                ),
                Location::Line(*line_no),
            ));
        }
        meta.push(("skipped_lines".to_owned(), bad.to_string()));
        meta.push(("first_skipped_line".to_owned(), line_no.to_string()));
    }
    if good == 0 {
        return Err(ImportError::parse(dialect.format(), "no samples: every line is a comment", Location::Line(1)));
    }
    if negative > 0 {
        meta.push(("dropped_negative_weights".to_owned(), negative.to_string()));
    }
    if let Some((line_no, byte, col)) = first_lossy {
        meta.push(("lines_not_utf8".to_owned(), lossy.to_string()));
        let which = if lossy == 1 {
            format!("line {line_no} is not UTF-8 (byte 0x{byte:02X} at column {col})")
        } else {
            format!("{lossy} lines are not UTF-8 (the first: byte 0x{byte:02X} at line {line_no}, column {col})")
        };
        meta.push((
            "warning.not_utf8".to_owned(),
            format!(
                "{which}: those bytes show as \u{FFFD} in frame names; if the file is in another encoding, re-save \
                 it as UTF-8"
            ),
        ));
    }
    if dialect == Dialect::Austin && unit == WeightUnit::Samples {
        // Austin always writes `# mode:`; without it, assume its default (wall time in µs).
        unit = WeightUnit::Microseconds;
        let k = unit.ns_per_unit().unwrap_or(1.0);
        for (t, _) in &mut reader.threads {
            t.thread.samples.time.iter_mut().for_each(|x| *x *= k);
        }
    }
    let threads = reader.threads.into_iter().map(|(t, _)| t.finish()).collect();
    let mut profile = reader.builder.finish(dialect.format(), "", unit, threads);
    // Austin lines are samples in time order, so wall-mode weights laid end to end are a real timeline; the others
    // are aggregates (or CPU time, which is not wall time).
    profile.has_timeline = dialect == Dialect::Austin && (austin_mode == "wall" || austin_mode == "full");
    if !profile.has_timeline {
        // Weights laid end to end are a sample count, CPU time or bytes, not how long the program ran: unknown.
        profile.duration_ns = 0.0;
        meta.push(("no_timeline".to_owned(), "folded stacks are aggregated: sample order is not time order".to_owned()));
    }
    meta.sort();
    profile.meta = meta;
    Ok(profile)
}

#[cfg(test)]
mod tests {
    #[test]
    fn detects_py_spy_raw_starting_with_module_frame() {
        let text = b"<module> (w.py:23);main (w.py:18);hot_loop (w.py:10) 14\n<module> (w.py:23) 1\n";
        assert!(super::detect(text));
        assert!(!super::detect(b"<!DOCTYPE html>\n<html><body>1 2</body></html>\n"));
    }

    use super::*;

    fn import_str(text: &str) -> Result<Profile, ImportError> {
        import(&Input { bytes: text.as_bytes(), name: "t.txt", ext: "txt" }, &Job::new())
    }

    #[test]
    fn parses_plain_with_crlf_and_invalid_lines() {
        let p = import_str("# c\r\na;b;c 1\r\na;b 5\r\ninvalid line\r\n").unwrap();
        assert_eq!(p.format, "folded");
        assert_eq!(p.threads[0].samples.weight, vec![1.0, 5.0]);
        assert!(p.meta.contains(&("skipped_lines".to_owned(), "1".to_owned())));
        assert_eq!(p.stack_frames(p.threads[0].samples.stack[0]).len(), 3);
    }

    #[test]
    fn reads_lines_that_are_not_utf8_with_a_warning() {
        let bytes = b"main;caf\xe9 3\nmain;render 5\nmain;na\xefve 2\n";
        let p = import(&Input { bytes, name: "t.txt", ext: "txt" }, &Job::new()).unwrap();
        assert_eq!(p.threads[0].samples.weight, vec![3.0, 5.0, 2.0]);
        let leaf = |i: usize| p.frame_name(*p.stack_frames(p.threads[0].samples.stack[i]).last().unwrap()).to_owned();
        assert_eq!((leaf(0), leaf(2)), ("caf\u{FFFD}".to_owned(), "na\u{FFFD}ve".to_owned()));
        assert!(p.meta.contains(&("lines_not_utf8".to_owned(), "2".to_owned())));
        let w = p.warnings();
        assert!(w.len() == 1 && w[0].contains("2 lines are not UTF-8") && w[0].contains("the first: byte 0xE9 at line 1, column 9"), "{w:?}");
    }

    #[test]
    fn rejects_mostly_garbage() {
        let text = "a;b 1\n".to_owned() + &"hello world\n".repeat(20);
        let e = import_str(&text).unwrap_err().to_string();
        assert!(e.contains("folded") && e.contains("at line 2"), "{e}");
    }

    #[test]
    fn splits_pyspy_threads_even_with_semicolons_in_command() {
        let line = "process 7:\"python a;b.py\";thread (0x7F1): MainThread;main (a.py:3);f (a.py:9) 2\n";
        let p = import_str(line).unwrap();
        assert_eq!(p.format, "py-spy-raw");
        assert_eq!((p.threads[0].pid, p.threads[0].tid), (7, 0x7F1));
        let frames = p.stack_frames(p.threads[0].samples.stack[0]);
        assert_eq!(p.frame_name(frames[1]), "f");
        assert_eq!(p.frame_file(frames[1]), Some("a.py"));
        assert_eq!(p.frames.line[frames[1] as usize], 9);
    }

    #[test]
    fn reads_austin_threads_and_units() {
        let text = "# austin: 3.7.0\n# mode: wall\n\nP1;T0:5;C:\\a.py:main:3;C:\\a.py:f:4 10\nP1;T0:6 7\n";
        let p = import_str(text).unwrap();
        assert_eq!(p.format, "austin");
        assert_eq!(p.unit, WeightUnit::Microseconds);
        assert_eq!(p.threads.len(), 2);
        let frames = p.stack_frames(p.threads[0].samples.stack[0]);
        assert_eq!(p.frame_file(frames[0]), Some("C:\\a.py"));
        assert_eq!(p.threads[1].samples.stack, vec![-1]);
        assert_eq!(p.duration_ns, 10_000.0);
    }

    #[test]
    fn austin_memory_mode_is_bytes_and_drops_frees() {
        let text = "# austin: 3.7.0\n# mode: memory\nP1;T0:5;a.py:f:3 4096\nP1;T0:5;a.py:g:4 -1024\n";
        let p = import_str(text).unwrap();
        assert_eq!(p.unit, WeightUnit::Bytes);
        assert!(!p.has_timeline);
        assert_eq!(p.threads[0].samples.weight, vec![4096.0]);
        assert!(p.meta.contains(&("dropped_negative_weights".to_owned(), "1".to_owned())));
    }

    #[test]
    fn cancellation_is_honoured() {
        let job = Job::new();
        job.cancel();
        let e = import(&Input { bytes: b"a;b 1\n", name: "t.txt", ext: "txt" }, &job).unwrap_err();
        assert!(matches!(e, ImportError::Cancelled));
    }
}
