//! Fuzzing every importer, in-process on stable Rust (cargo-fuzz needs nightly). Each input is imported, and what
//! imports is summarized, exported to every format and the exports re-imported: all of that must end, with a
//! profile or a clean error. A panic is a crash; not finishing within `HANG_AFTER` is a hang (watched from the
//! test thread, since a looping importer cannot be interrupted).
//!
//! Inputs: structure-aware mutants of generated documents per format (valid JSON with wrong references, extreme
//! numbers, swapped types; a protobuf encoder for pprof; JSON lines for recordings) and byte-level mutants of the
//! files in test/fixtures. Every input that ever failed is kept in test/fixtures/fuzz-regressions/<format>/ and
//! replayed by `every_kept_regression_input_imports_cleanly`.
//!
//! `npm test`: a seeded run of EMBERSCOPE_FUZZ_SECONDS (default 20). Longer: `npm run fuzz -- --minutes N`
//! (a new seed each run; figures printed: inputs, ok, clean errors, crashes, hangs).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emberscope_core::export::{export_to_vec, ExportFormat};
use emberscope_core::summary::summarize;
use emberscope_core::{import_bytes, Job};
use serde_json::{json, Value};

const HANG_AFTER: Duration = Duration::from_secs(10);
const MAX_INPUT: usize = 1 << 20;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..").canonicalize().unwrap()
}

fn regressions_dir() -> PathBuf {
    repo().join("test/fixtures/fuzz-regressions")
}

// ---------------------------------------------------------------------------------------------------------------
// Randomness: xorshift64*, seeded, so a run can be repeated.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Generators: one valid-looking document per format, small, with references that are mostly right.

const NAMES: &[&str] = &["main (a.py:1)", "f (a.py:2)", "g (b.py:30)", "<module>", "(root)", "h", "x (c.py:9)"];

fn gen_chrome(r: &mut Rng) -> Vec<u8> {
    let mut events = vec![json!({"ph":"M","name":"thread_name","pid":1,"tid":2,"args":{"name":"main"}})];
    let mut ts = 0i64;
    let mut depth = 0;
    for _ in 0..r.int(1, 40) {
        ts += r.int(0, 50);
        let (pid, tid) = (r.int(1, 2), r.int(1, 3));
        let ev = match r.below(5) {
            0 => {
                depth += 1;
                json!({"ph":"B","name":r.pick(NAMES),"ts":ts,"pid":pid,"tid":tid})
            }
            1 if depth > 0 => {
                depth -= 1;
                json!({"ph":"E","ts":ts,"pid":pid,"tid":tid})
            }
            2 => json!({"ph":"P","ts":ts,"pid":pid,"tid":tid,"sf":r.int(1, 6)}),
            3 => json!({"ph":"i","name":"mark","ts":ts,"pid":pid,"tid":tid,"s":"t"}),
            _ => json!({"ph":"X","name":r.pick(NAMES),"ts":ts,"dur":r.int(0, 30),"pid":pid,"tid":tid}),
        };
        events.push(ev);
    }
    let mut frames = serde_json::Map::new();
    for id in 1..=r.int(1, 6) {
        let mut f = json!({"name": r.pick(NAMES)});
        if id > 1 {
            f["parent"] = json!(r.int(1, id - 1).to_string());
        }
        frames.insert(id.to_string(), f);
    }
    let samples: Vec<Value> =
        (0..r.int(0, 10)).map(|k| json!({"ts":k * 10,"pid":1,"tid":2,"sf":r.int(1, 6).to_string(),"weight":1})).collect();
    let doc = if r.chance(3) {
        Value::Array(events)
    } else {
        json!({"traceEvents":events,"stackFrames":frames,"samples":samples,"displayTimeUnit":"ms"})
    };
    serde_json::to_vec(&doc).unwrap()
}

fn gen_speedscope(r: &mut Rng) -> Vec<u8> {
    let nframes = r.int(1, 6);
    let frames: Vec<Value> = (0..nframes).map(|k| json!({"name":r.pick(NAMES),"file":"a.py","line":k + 1})).collect();
    let mut profiles = Vec::new();
    for _ in 0..r.int(1, 3) {
        if r.chance(2) {
            let mut events = Vec::new();
            let mut open: Vec<i64> = Vec::new();
            let mut at = 0i64;
            for _ in 0..r.int(0, 20) {
                at += r.int(0, 10);
                if !open.is_empty() && r.chance(2) {
                    events.push(json!({"type":"C","frame":open.pop().unwrap(),"at":at}));
                } else {
                    let f = r.int(0, nframes - 1);
                    open.push(f);
                    events.push(json!({"type":"O","frame":f,"at":at}));
                }
            }
            while let Some(f) = open.pop() {
                events.push(json!({"type":"C","frame":f,"at":at}));
            }
            profiles.push(json!({"type":"evented","name":"e","unit":"milliseconds","startValue":0,"endValue":at,"events":events}));
        } else {
            let samples: Vec<Value> =
                (0..r.int(0, 12)).map(|_| json!((0..r.int(0, 4)).map(|_| r.int(0, nframes - 1)).collect::<Vec<_>>())).collect();
            let weights: Vec<i64> = samples.iter().map(|_| r.int(0, 5)).collect();
            let unit = *r.pick(&["none", "samples", "nanoseconds", "seconds", "bytes"]);
            profiles.push(json!({"type":"sampled","name":"s","unit":unit,"startValue":0,"endValue":10,"samples":samples,"weights":weights}));
        }
    }
    let mut doc = json!({"$schema":"https://www.speedscope.app/file-format-schema.json","shared":{"frames":frames},"profiles":profiles});
    if r.chance(3) {
        doc["emberscope"] = json!({"version":1,"unit":"samples","startNs":5,"durationNs":1e9});
    }
    serde_json::to_vec(&doc).unwrap()
}

fn gen_cpuprofile(r: &mut Rng) -> Vec<u8> {
    let n = r.int(1, 8);
    let nodes: Vec<Value> = (1..=n)
        .map(|id| {
            let children: Vec<i64> = (id + 1..=n).filter(|_| r.chance(3)).collect();
            let name = if id == 1 { "(root)" } else { *r.pick(NAMES) };
            json!({"id":id,"callFrame":{"functionName":name,"url":"file:///a.js","lineNumber":id,"columnNumber":0},"children":children})
        })
        .collect();
    let samples: Vec<i64> = (0..r.int(1, 15)).map(|_| r.int(1, n)).collect();
    let deltas: Vec<i64> = samples.iter().map(|_| r.int(0, 100)).collect();
    serde_json::to_vec(&json!({"nodes":nodes,"startTime":0,"endTime":2000,"samples":samples,"timeDeltas":deltas})).unwrap()
}

fn gen_recording(r: &mut Rng) -> Vec<u8> {
    let mut out = br#"{"emberscope_recording":1,"name":"t","start_unix_ns":5,"meta":{"pid":"1"}}"#.to_vec();
    out.push(b'\n');
    let (mut strings, mut frames, mut stacks) = (0i64, 0i64, 0i64);
    for b in 0..r.int(1, 3) {
        let new_strings: Vec<String> = (0..r.int(0, 3)).map(|k| format!("s{}", strings + k)).collect();
        let total_strings = strings + new_strings.len() as i64;
        let nf = if total_strings > 0 { r.int(0, 3) } else { 0 };
        let func: Vec<i64> = (0..nf).map(|_| r.int(0, total_strings - 1)).collect();
        let file: Vec<i64> = (0..nf).map(|_| r.int(-1, total_strings - 1)).collect();
        let total_frames = frames + nf;
        let ns = if total_frames > 0 { r.int(0, 3) } else { 0 };
        let prefix: Vec<i64> = (0..ns).map(|k| r.int(-1, stacks + k - 1)).collect();
        let frame: Vec<i64> = (0..ns).map(|_| r.int(0, total_frames - 1)).collect();
        let total_stacks = stacks + ns;
        let n = r.int(0, 5);
        let threads = if b == 0 { json!([{"index":0,"pid":1,"tid":1,"name":"main"}]) } else { json!([]) };
        let batch = json!({"batch":{
            "first_string":strings,"new_strings":new_strings,
            "first_frame":frames,"new_frames":{"func":func,"file":file,"line":vec![1; nf as usize],"kind":vec![0; nf as usize]},
            "first_stack":stacks,"new_stacks":{"prefix":prefix,"frame":frame},
            "new_threads":threads,
            "samples":{"thread_index":vec![0; n as usize],"stack":(0..n).map(|_| r.int(-1, total_stacks - 1)).collect::<Vec<_>>(),
                "time_ns":(0..n).map(|k| k * 1000).collect::<Vec<_>>(),"weight":vec![1; n as usize],"gil":vec![1; n as usize],"idle":vec![0; n as usize]},
            "stats":{"taken":n,"missed":0,"samples":n,"elapsed_ns":1000000,"achieved_hz":100.0},
            "ended":null}});
        out.extend(serde_json::to_vec(&batch).unwrap());
        out.push(b'\n');
        (strings, frames, stacks) = (total_strings, total_frames, total_stacks);
    }
    out
}

fn gen_folded(r: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    for _ in 0..r.int(1, 10) {
        let frames: Vec<&str> = (0..r.int(1, 5)).map(|_| *r.pick(NAMES)).collect();
        let count = *r.pick(&["1", "7", "0", "-3", "99999999999999999999", "1e400", "NaN", "2.5"]);
        out += &format!("{} {count}\n", frames.join(";"));
    }
    out.into_bytes()
}

/// A pprof `Profile` message, hand-encoded, with ids that may dangle.
fn gen_pprof(r: &mut Rng) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(out: &mut Vec<u8>, number: u64, body: &[u8]) {
        varint(out, number << 3 | 2);
        varint(out, body.len() as u64);
        out.extend_from_slice(body);
    }
    fn int_field(out: &mut Vec<u8>, number: u64, v: u64) {
        varint(out, number << 3);
        varint(out, v);
    }
    let strings = ["", "cpu", "nanoseconds", "main", "f", "a.go"];
    let mut p = Vec::new();
    let mut vt = Vec::new();
    int_field(&mut vt, 1, 1);
    int_field(&mut vt, 2, 2);
    field(&mut p, 1, &vt);
    let nloc = r.int(1, 5) as u64;
    for _ in 0..r.int(1, 8) {
        let mut s = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..r.int(0, 4) {
            varint(&mut ids, r.int(0, nloc as i64 + 1) as u64);
        }
        field(&mut s, 1, &ids);
        let mut vals = Vec::new();
        varint(&mut vals, *r.pick(&[1u64, 10, u64::MAX, 1 << 63]));
        field(&mut s, 2, &vals);
        field(&mut p, 2, &s);
    }
    for id in 1..=nloc {
        let mut loc = Vec::new();
        int_field(&mut loc, 1, id);
        let mut line = Vec::new();
        int_field(&mut line, 1, r.int(0, 3) as u64);
        int_field(&mut line, 2, r.int(0, 100) as u64);
        field(&mut loc, 4, &line);
        field(&mut p, 4, &loc);
    }
    for id in 1..=2u64 {
        let mut f = Vec::new();
        int_field(&mut f, 1, id);
        int_field(&mut f, 2, r.int(0, 7) as u64);
        int_field(&mut f, 4, 5);
        field(&mut p, 5, &f);
    }
    for s in strings {
        field(&mut p, 6, s.as_bytes());
    }
    p
}

/// A cProfile dump (`marshal` of `{(file, line, func): (cc, nc, tt, ct, {caller: (nc, cc, tt, ct)})}`), with
/// callers that may be missing, recursive or cyclic, extreme floats and the odd back-reference to any index.
fn gen_pstats(r: &mut Rng) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, t: &str) {
        out.extend([b'z', t.len() as u8]);
        out.extend(t.as_bytes());
    }
    /// A key tuple; flagged ones enter marshal's reference table, so an `r` may point at them.
    fn key(out: &mut Vec<u8>, k: i64, flagged: bool) {
        out.extend([if flagged { b')' | 0x80 } else { b')' }, 3]);
        text(out, &format!("m{k}.py"));
        out.push(b'i');
        out.extend((k as i32).to_le_bytes());
        text(out, &format!("f{k}"));
    }
    /// The figures a stats or caller tuple holds after its tag: two call counts, then two times.
    fn figures(out: &mut Vec<u8>, r: &mut Rng) {
        for _ in 0..2 {
            out.push(b'i');
            out.extend((r.int(0, 5) as i32).to_le_bytes());
        }
        for _ in 0..2 {
            let x = if r.chance(10) { *r.pick(&[-1.0, 1e308, f64::MAX, 5e-324]) } else { *r.pick(&[0.0, 0.001, 1.5]) };
            out.push(b'g');
            out.extend(x.to_le_bytes());
        }
    }
    let n = r.int(1, 6);
    let mut out = vec![b'{'];
    for k in 0..n {
        key(&mut out, k, r.chance(2));
        out.extend([b')', 5]);
        figures(&mut out, r);
        out.push(b'{');
        for _ in 0..r.int(0, 3) {
            if r.chance(40) {
                out.push(b'r');
                out.extend((r.int(0, 8) as u32).to_le_bytes());
            } else {
                key(&mut out, r.int(0, n), false); // n itself names no function
            }
            out.extend([b')', 4]);
            figures(&mut out, r);
        }
        out.push(b'0');
    }
    out.push(b'0');
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Mutators.

const TOKENS: &[&str] = &[
    "-1", "0", "9007199254740992", "9007199254740993", "18446744073709551616", "-9223372036854775809", "1e309",
    "-1e308", "1e-400", "NaN", "null", "true", "[]", "{}", "\"\"", "\"x\"", "[[[[[[[[", "}}}}", ",", ":", "\"\\u0000\"",
    "\"\\ud800\"", "\u{feff}", "\r\n",
];

fn mutate_bytes(r: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..r.int(1, 4) {
        let len = data.len();
        match r.below(8) {
            0 if len > 0 => {
                let i = r.below(len);
                data[i] ^= 1 << r.below(8);
            }
            1 if len > 0 => {
                let i = r.below(len);
                data[i] = r.next() as u8;
            }
            2 => {
                let i = r.below(len + 1);
                let t = r.pick(TOKENS).as_bytes().to_vec();
                data.splice(i..i, t);
            }
            3 if len > 0 => {
                let i = r.below(len);
                let n = r.below((len - i).min(64)) + 1;
                data.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = r.below(len);
                let n = r.below((len - i).min(256)) + 1;
                let chunk = data[i..i + n].to_vec();
                let at = r.below(len + 1);
                data.splice(at..at, chunk);
            }
            5 if len > 0 => data.truncate(r.below(len)),
            6 if !other.is_empty() => {
                // Splice: our head, the other input's tail.
                let i = r.below(len + 1);
                let j = r.below(other.len());
                data.truncate(i);
                data.extend_from_slice(&other[j..]);
            }
            _ => {
                let i = r.below(len + 1);
                data.insert(i, *r.pick(b"{}[]\",:0123456789-.eE \n\t\\"));
            }
        }
    }
    data.truncate(MAX_INPUT);
}

/// Extreme or wrong replacements for a JSON value: numbers far out of range, indices off by one, swapped types.
fn wrong_value(r: &mut Rng, v: &Value) -> Value {
    let n = v.as_f64().unwrap_or(0.0);
    match r.below(12) {
        0 => json!(-1),
        1 => json!(n as i64 + 1),
        2 => json!(9007199254740993u64),
        3 => json!(u64::MAX),
        4 => json!(i64::MIN),
        5 => json!(1e308),
        6 => json!(-1e308),
        7 => json!(0.5),
        8 => Value::String(v.to_string()),
        9 => Value::Null,
        10 => json!([v.clone()]),
        _ => json!({"v": v.clone()}),
    }
}

/// Every node's path, so one can be picked at random.
fn paths(v: &Value, here: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(here.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                here.push(PathStep::Index(i));
                paths(x, here, out);
                here.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                here.push(PathStep::Key(k.clone()));
                paths(x, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum PathStep {
    Index(usize),
    Key(String),
}

fn at_path<'a>(v: &'a mut Value, path: &[PathStep]) -> &'a mut Value {
    path.iter().fold(v, |v, step| match step {
        PathStep::Index(i) => &mut v[*i],
        PathStep::Key(k) => &mut v[k.as_str()],
    })
}

fn mutate_json(r: &mut Rng, doc: &mut Value) {
    for _ in 0..r.int(1, 3) {
        let mut all = Vec::new();
        paths(doc, &mut Vec::new(), &mut all);
        let path = r.pick(&all).clone();
        let node = at_path(doc, &path);
        match r.below(5) {
            0 | 1 => *node = wrong_value(r, node),
            2 => {
                if let Value::Object(m) = node {
                    if !m.is_empty() {
                        let k = m.keys().nth(r.below(m.len())).cloned().unwrap();
                        m.remove(&k);
                    }
                }
            }
            3 => {
                if let Value::Array(a) = node {
                    if !a.is_empty() {
                        let x = a[r.below(a.len())].clone();
                        let at = r.below(a.len() + 1);
                        a.insert(at, x);
                    }
                }
            }
            _ => {
                if let Value::Array(a) = node {
                    let n = r.below(a.len() + 1);
                    a.truncate(n);
                }
            }
        }
    }
}

/// A structural mutant when the input is JSON (or JSON lines), else a byte mutant.
fn mutate(r: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    if r.chance(2) {
        if let Ok(mut doc) = serde_json::from_slice::<Value>(seed) {
            mutate_json(r, &mut doc);
            return serde_json::to_vec(&doc).unwrap();
        }
        let text = String::from_utf8_lossy(seed);
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > 1 && lines.iter().all(|l| serde_json::from_str::<Value>(l).is_ok()) {
            let k = r.below(lines.len());
            let mut doc: Value = serde_json::from_str(lines[k]).unwrap();
            mutate_json(r, &mut doc);
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            out[k] = doc.to_string();
            return (out.join("\n") + "\n").into_bytes();
        }
    }
    let mut data = seed.to_vec();
    mutate_bytes(r, &mut data, other);
    data
}

// ---------------------------------------------------------------------------------------------------------------
// Seeds.

struct Seed {
    format: String,
    /// The name the importer sees (its extension matters to the dispatcher).
    name: String,
    bytes: Vec<u8>,
}

fn fixture_seeds() -> Vec<Seed> {
    let root = repo().join("test/fixtures");
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
            let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden || ["snapshots", "fuzz-regressions", "generate"].iter().any(|skip| rel.starts_with(skip)) {
                continue;
            }
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if !bytes.is_empty() && bytes.len() <= MAX_INPUT && !rel.ends_with(".md") && !rel.ends_with("LICENSE") {
                    let format = rel.split('/').next().unwrap_or("other").to_owned();
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    out.push(Seed { format, name, bytes });
                }
            }
        }
    }
    out
}

type Generator = fn(&mut Rng) -> Vec<u8>;

const GENERATORS: &[(&str, &str, Generator)] = &[
    ("chrome", "gen.json", gen_chrome),
    ("speedscope", "gen.speedscope.json", gen_speedscope),
    ("cpuprofile", "gen.cpuprofile", gen_cpuprofile),
    ("recording", "gen.jsonl", gen_recording),
    ("folded", "gen.txt", gen_folded),
    ("pprof", "gen.pb", gen_pprof),
    ("pstats", "gen.pstats", gen_pstats),
];

// ---------------------------------------------------------------------------------------------------------------
// Running one input.

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok,
    CleanError,
    Crash(String),
    Hang,
}

/// Import, then summarize, export to every format and re-import each export.
fn exercise(name: &str, bytes: &[u8], job: &Job) -> bool {
    let Ok(profile) = import_bytes(name, bytes, job) else { return false };
    summarize(&profile, 20);
    for (format, ext) in [(ExportFormat::Speedscope, "x.speedscope.json"), (ExportFormat::Chrome, "x.json"), (ExportFormat::Collapsed, "x.txt")] {
        let out = export_to_vec(&profile, format).expect("export to memory cannot fail");
        if let Ok(back) = import_bytes(ext, &out, job) {
            summarize(&back, 20);
        }
    }
    true
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

const WORKER: &str = "fuzz-input";

/// Panics of fuzz workers are recorded, not printed (there may be thousands); any other panic (a test's own
/// assertion) prints as usual.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(WORKER) {
                *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{info}"));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs one input on its own thread; a hang leaves that thread behind (cancelled, but it may never look).
fn run_one(name: &str, bytes: Vec<u8>) -> Outcome {
    let job = Arc::new(Job::new());
    let (name, worker_job) = (name.to_owned(), job.clone());
    run_watched(HANG_AFTER, &job, move || exercise(&name, &bytes, &worker_job))
}

/// Runs `work` on a worker thread under `catch_unwind`: true is Ok, false a clean error, a panic a crash, and no
/// answer within `limit` a hang (then `job` is cancelled, in case the loop looks at it).
fn run_watched(limit: Duration, job: &Job, work: impl FnOnce() -> bool + Send + 'static) -> Outcome {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(WORKER.to_owned())
        .stack_size(64 << 20)
        .spawn(move || {
            let outcome = match catch_unwind(AssertUnwindSafe(work)) {
                Ok(true) => Outcome::Ok,
                Ok(false) => Outcome::CleanError,
                Err(_) => Outcome::Crash(LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default()),
            };
            let _ = tx.send(outcome);
        })
        .expect("the fuzzer could not start a worker thread");
    match rx.recv_timeout(limit) {
        Ok(o) => o,
        Err(_) => {
            job.cancel();
            Outcome::Hang
        }
    }
}

/// Keeps a failing input where the replay test finds it; the name keeps the original extension.
fn keep_regression(format: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let dir = regressions_dir().join(format);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{h:016x}-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[derive(Default)]
struct Figures {
    inputs: u64,
    ok: u64,
    clean_errors: u64,
    crashes: u64,
    hangs: u64,
}

impl Figures {
    fn add(&mut self, o: &Outcome) {
        self.inputs += 1;
        match o {
            Outcome::Ok => self.ok += 1,
            Outcome::CleanError => self.clean_errors += 1,
            Outcome::Crash(_) => self.crashes += 1,
            Outcome::Hang => self.hangs += 1,
        }
    }
    fn line(&self) -> String {
        format!(
            "inputs {}, ok {}, clean errors {}, crashes {}, hangs {}",
            self.inputs, self.ok, self.clean_errors, self.crashes, self.hangs
        )
    }
}

#[test]
fn fuzz_importers_for_a_time_budget() {
    let seconds: f64 = std::env::var("EMBERSCOPE_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20.0);
    let seed: u64 = std::env::var("EMBERSCOPE_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_E4BE_2500);
    quiet_panics();
    let mut r = Rng(seed | 1);
    // Grouped by folder, a folder picked first: one folder of many files must not drown the others.
    let mut fixtures: BTreeMap<String, Vec<Seed>> = BTreeMap::new();
    for s in fixture_seeds() {
        fixtures.entry(s.format.clone()).or_default().push(s);
    }
    let folders: Vec<Vec<Seed>> = fixtures.into_values().collect();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut by_format: BTreeMap<String, Figures> = BTreeMap::new();
    let mut total = Figures::default();
    let mut failures = Vec::new();
    while Instant::now() < deadline {
        // Half generated-and-mutated, half mutated fixtures; a few unmutated of each as controls.
        let (format, name, bytes) = if r.chance(2) {
            let (format, name, generate) = r.pick(GENERATORS);
            let doc = generate(&mut r);
            let bytes = if r.chance(8) { doc } else { mutate(&mut r, &doc, &[]) };
            (format.to_string(), name.to_string(), bytes)
        } else {
            let folder = r.pick(&folders);
            let s = r.pick(folder);
            let other = &r.pick(folder).bytes;
            let bytes = if r.chance(16) { s.bytes.clone() } else { mutate(&mut r, &s.bytes, other) };
            (s.format.clone(), s.name.clone(), bytes)
        };
        let outcome = run_one(&name, bytes.clone());
        by_format.entry(format.clone()).or_default().add(&outcome);
        total.add(&outcome);
        if matches!(outcome, Outcome::Crash(_) | Outcome::Hang) {
            let kept = keep_regression(&format, &name, &bytes);
            failures.push(format!("{outcome:?} on {}", kept.display()));
            if outcome == Outcome::Hang {
                break; // A looping thread is left behind: stop here rather than measure a machine it slows down.
            }
        }
    }
    println!("fuzz seed {seed}, {seconds} s:");
    for (format, f) in &by_format {
        println!("  {format:<20} {}", f.line());
    }
    println!("  {:<20} {}", "total", total.line());
    assert!(total.inputs > 100, "too few inputs for a fuzz run: {}", total.line());
    assert!(failures.is_empty(), "{} failing inputs (kept for replay):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_kept_regression_input_imports_cleanly() {
    quiet_panics();
    let dir = regressions_dir();
    let mut failures = Vec::new();
    let mut count = 0;
    for format in std::fs::read_dir(&dir).into_iter().flatten().filter_map(Result::ok) {
        for file in std::fs::read_dir(format.path()).into_iter().flatten().filter_map(Result::ok) {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let name = file.file_name().to_string_lossy().into_owned();
            // The kept name is "<hash>-<original name>": the importer sees the original.
            let original = name.split_once('-').map_or(name.as_str(), |(_, n)| n).to_owned();
            let outcome = run_one(&original, std::fs::read(&path).unwrap());
            count += 1;
            if matches!(outcome, Outcome::Crash(_) | Outcome::Hang) {
                failures.push(format!("{}: {outcome:?}", display(&path)));
            }
        }
    }
    println!("replayed {count} kept inputs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn display(p: &Path) -> String {
    p.strip_prefix(repo()).unwrap_or(p).display().to_string()
}

/// The generators must make documents the importers accept most of the time, or the structural mutants would only
/// ever test the first syntax check.
#[test]
fn generated_documents_mostly_import() {
    let mut r = Rng(7);
    for (format, name, generate) in GENERATORS {
        if *format == "recording" && !cfg!(feature = "sampler") {
            continue; // recordings are read only with the sampler built in
        }
        let mut ok = 0;
        let mut last_error = String::new();
        for _ in 0..50 {
            match import_bytes(name, &generate(&mut r), &Job::new()) {
                Ok(_) => ok += 1,
                Err(e) => {
                    last_error = e.to_string();
                    if std::env::var_os("SHOW_GEN_ERRORS").is_some() {
                        eprintln!("{format}: {last_error}");
                    }
                }
            }
        }
        assert!(ok >= 25, "{format}: only {ok} of 50 generated documents imported; last error: {last_error}");
    }
}

/// The watchdog itself: a loop is a hang, a panic a crash (with its message), and each is told apart from the rest.
#[test]
fn the_watchdog_tells_hangs_and_crashes_from_errors() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STOP: AtomicBool = AtomicBool::new(false);
    quiet_panics();
    let job = Job::new();
    let spin = || {
        while !STOP.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
        true
    };
    assert_eq!(run_watched(Duration::from_millis(200), &job, spin), Outcome::Hang);
    assert!(job.is_cancelled());
    STOP.store(true, Ordering::Relaxed); // let the abandoned worker end
    let crash = run_watched(Duration::from_secs(5), &Job::new(), || panic!("deliberate"));
    assert!(matches!(&crash, Outcome::Crash(m) if m.contains("deliberate")), "{crash:?}");
    assert_eq!(run_watched(Duration::from_secs(5), &Job::new(), || false), Outcome::CleanError);
    assert_eq!(run_watched(Duration::from_secs(5), &Job::new(), || true), Outcome::Ok);
}
