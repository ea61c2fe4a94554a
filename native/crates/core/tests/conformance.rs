//! Conformance and round-trip harness (speedscope's `checkProfileSnapshot`, done our way).
//!
//! For every fixture under test/fixtures/** (except broken/, snapshots/, generate/, vm-protocol/, fuzz-regressions/),
//! speedscope's sample corpus (test/fixtures/speedscope-samples) included: import → readable snapshot
//! (test/fixtures/snapshots/<path>.txt) → export speedscope → re-import → same function figures.
//!
//! Snapshots are only compared: a missing or differing snapshot fails, and so does a snapshot whose fixture is gone.
//! They are (re)written, and stale ones removed, only by `npm run test:update-snapshots` (UPDATE_SNAPSHOTS=1).
//!
//! Round-trip rules (what a format cannot keep):
//! - Names and self times must match within 1e-6 relative, keyed by (name, file).
//! - Totals must match too, except for pstats: its totals are cProfile's exact cumtime, while the exported file
//!   only has the synthesized stacks, whose totals approximate the call tree (recursion is cut).
//! - The unit "samples" comes back as "none" (speedscope has no "samples").
//! - Through folded and chrome, units and threads are not kept: self times are compared as fractions of the
//!   total weight; chrome keys by name only.
//!
//! Files in formats we do not read are listed in `UNSUPPORTED` and must give a clean ImportError.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use emberscope_core::export::{export_to_vec, ExportFormat};
use emberscope_core::summary::{summarize, Summary};
use emberscope_core::{import_bytes, ImportError, Job, Profile};

/// Corpus files in formats Emberscope does not read: each must fail with a clean ImportError.
const UNSUPPORTED: &[&str] = &[
    "speedscope-samples/Firefox/59/firefox.json",
    "speedscope-samples/Firefox/59/simple-firefox.json",
    "speedscope-samples/Firefox/61/recursion.json",
    "speedscope-samples/Firefox/63/simple-firefox.json",
    "speedscope-samples/linux-perf/forks.linux-perf.txt",
    "speedscope-samples/linux-perf/one-sample.linux-perf.txt",
    "speedscope-samples/linux-perf/rust-mangled.linux-perf.txt",
    "speedscope-samples/linux-perf/simple-with-header.linux-perf.txt",
    "speedscope-samples/linux-perf/simple-with-pid.linux-perf.txt",
    "speedscope-samples/linux-perf/simple.linux-perf.txt",
    "speedscope-samples/linux-perf/system-wide.linux-perf.txt",
    "speedscope-samples/node/8.5.0/isolate-0x102802600-v8.log",
];

/// Deliberately broken files that may fail (the snapshot records the error) or import best-effort: the corpus's
/// `invalid/` folder, and by convention any fixture whose name says `truncated` or `invalid`.
const MAY_FAIL_PREFIXES: &[&str] = &["speedscope-samples/speedscope/invalid/"];

fn may_fail(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    MAY_FAIL_PREFIXES.iter().any(|p| key.starts_with(p)) || name.contains("truncated") || name.contains("invalid")
}

/// Valid corpus files our importers do not read yet, with the reason. Reported, and asserted to still fail, so
/// the entry is removed when the importer learns the file (a fixed file then fails this list, on purpose).
const KNOWN_GAPS: &[(&str, &str)] = &[(
    "speedscope-samples/Chrome/141/no-arg-data.json",
    "Chrome 141 performance-panel trace whose events carry no args; speedscope reads it, our chrome importer not yet",
)];

/// Not profiles: the corpus's licence (docs are skipped by their `.md`), the per-line fixtures' source.
const NOT_PROFILES: &[&str] = &["speedscope-samples/LICENSE", "lines/workload.py"];

/// How many files of speedscope's corpus we keep (README and LICENSE not counted): a file lost from the copy fails
/// here even before its snapshot is found orphaned.
const SPEEDSCOPE_SAMPLES: usize = 67;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures_dir() -> PathBuf {
    manifest().join("../../../test/fixtures")
}

fn speedscope_samples() -> PathBuf {
    fixtures_dir().join("speedscope-samples")
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            list_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// (snapshot key, path) for every profile file the harness covers.
fn corpus() -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let root = fixtures_dir();
    let mut all = Vec::new();
    list_files(&root, &mut all);
    for p in all {
        let rel = p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let top = rel.split('/').next().unwrap_or("");
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        // Not profiles to snapshot: generator scripts and sources, the VM host protocol's wire messages, the damaged
        // inputs fuzz_importers.rs found (it replays them), docs.
        if matches!(top, "broken" | "snapshots" | "generate" | "vm-protocol" | "fuzz-regressions")
            || name.ends_with(".md")
            || name.starts_with('.')
            || NOT_PROFILES.contains(&rel.as_str())
        {
            continue;
        }
        files.push((rel, p));
    }
    let samples = files.iter().filter(|(k, _)| k.starts_with("speedscope-samples/")).count();
    assert_eq!(
        samples,
        SPEEDSCOPE_SAMPLES,
        "{} holds {samples} profiles, expected {SPEEDSCOPE_SAMPLES}: restore the missing ones (git checkout) or update the count",
        speedscope_samples().display()
    );
    files
}

fn snapshots_dir() -> PathBuf {
    fixtures_dir().join("snapshots")
}

fn updating_snapshots() -> bool {
    std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1")
}

fn import_path(path: &Path) -> Result<Profile, ImportError> {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    import_bytes(&name, &bytes, &Job::new())
}

/// Imports, turning a panic into an Err string so one bad file does not hide the others.
fn import_guarded(path: &Path) -> Result<Result<Profile, ImportError>, String> {
    catch_unwind(AssertUnwindSafe(|| import_path(path))).map_err(|e| {
        e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
    })
}

/// Six significant digits: stable across float noise, precise enough to catch real changes.
fn round6(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = 6 - 1 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    let r = (x * scale).round() / scale;
    let s = if digits > 0 { format!("{r:.*}", digits as usize) } else { format!("{r:.0}") };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

fn render_snapshot(p: &Profile, s: &Summary) -> String {
    let mut out = String::new();
    out += &format!("format: {}\nunit: {}\nhas_timeline: {}\n", s.format, s.unit, p.has_timeline);
    out += &format!("duration_ns: {}\ntotal_weight: {}\n", round6(s.duration_ns), round6(s.total_weight));
    out += &format!("frames: {}\nstacks: {}\ncall_graph: {}\n", p.frames.len(), p.stacks.len(), p.call_graph.is_some());
    out += &format!("threads: {}\n", s.threads.len());
    for t in &s.threads {
        out += &format!("  {:?} pid {} tid {}: {} samples, {} spans\n", t.name, t.pid, t.tid, t.samples, t.spans);
    }
    out += "top 10 by self:\n";
    for f in s.top.iter().take(10) {
        let at = match (f.file.is_empty(), f.line) {
            (true, _) => String::new(),
            (false, 0) => format!(" {}", f.file),
            (false, line) => format!(" {}:{line}", f.file),
        };
        out += &format!("  {:?}{at}  self {}  total {}\n", f.name, round6(f.self_), round6(f.total));
    }
    let meta: Vec<String> = p.meta.iter().map(|(k, v)| format!("  {k}: {v}\n")).collect();
    out += &format!("meta:\n{}", meta.concat());
    out
}

const UPDATE_HINT: &str = "if the change is intended, run `npm run test:update-snapshots` and review the diff";

/// Compares with the stored snapshot. Only UPDATE_SNAPSHOTS=1 writes one; a missing snapshot is a failure.
fn check_snapshot(key: &str, text: &str, failures: &mut Vec<String>) {
    let path = snapshots_dir().join(format!("{key}.txt"));
    if updating_snapshots() {
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            println!("wrote snapshot {}", path.display());
        }
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(old) if old == text => {}
        Ok(old) => failures.push(format!(
            "{key}: snapshot differs from {} ({UPDATE_HINT})\n--- stored\n{old}--- now\n{text}",
            path.display()
        )),
        Err(e) => failures.push(format!("{key}: no snapshot at {} ({e}); {UPDATE_HINT}", path.display())),
    }
}

/// A snapshot whose fixture is gone means a fixture was lost (or renamed without its snapshot): a failure, or,
/// when updating, removed.
fn check_orphan_snapshots(keys: &[String], failures: &mut Vec<String>) {
    let root = snapshots_dir();
    let mut stored = Vec::new();
    list_files(&root, &mut stored);
    for path in stored {
        let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let key = rel.strip_suffix(".txt").unwrap_or(&rel);
        if keys.iter().any(|k| k == key) {
            continue;
        }
        if updating_snapshots() {
            std::fs::remove_file(&path).unwrap();
            println!("removed stale snapshot {}", path.display());
        } else {
            failures.push(format!(
                "{}: snapshot of test/fixtures/{key}, which is missing: restore the fixture, or remove the snapshot with `npm run test:update-snapshots`",
                path.display()
            ));
        }
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + 1e-15
}

/// Every function of `before` is in `after` with the same self (and total when `totals`), keyed by `key`.
fn compare_figures(
    label: &str,
    before: &Summary,
    after: &Summary,
    key: impl Fn(&emberscope_core::summary::FunctionSummary) -> String,
    normalize: bool,
    totals: bool,
) -> Result<(), String> {
    // Fractions of the weight that sits in some function (samples with an empty stack have no line in a folded
    // file, so `total_weight` itself is not comparable).
    let norm = |s: &Summary| {
        let in_functions: f64 = s.top.iter().map(|f| f.self_).sum();
        if normalize && in_functions != 0.0 { in_functions } else { 1.0 }
    };
    let (nb, na) = (norm(before), norm(after));
    let mut after_by: HashMap<String, (f64, f64)> = HashMap::new();
    for f in &after.top {
        let e = after_by.entry(key(f)).or_default();
        e.0 += f.self_;
        e.1 += f.total;
    }
    let mut before_by: HashMap<String, (f64, f64)> = HashMap::new();
    for f in &before.top {
        let e = before_by.entry(key(f)).or_default();
        e.0 += f.self_;
        e.1 += f.total;
    }
    for (k, &(s, t)) in &before_by {
        let Some(&(s2, t2)) = after_by.get(k) else {
            if s == 0.0 && !totals {
                continue;
            }
            return Err(format!("{label}: function {k} is missing after the round trip"));
        };
        if !close(s / nb, s2 / na, 1e-6) {
            return Err(format!("{label}: self of {k} was {s}, is {s2} after the round trip"));
        }
        if totals && !close(t / nb, t2 / na, 1e-6) {
            return Err(format!("{label}: total of {k} was {t}, is {t2} after the round trip"));
        }
    }
    Ok(())
}

/// (name, file, line): where a format keys functions by name and file only, the line is the same for all of one
/// function's rows, so this key is right for both.
fn full_key(f: &emberscope_core::summary::FunctionSummary) -> String {
    format!("{} ({}:{})", f.name, f.file, f.line)
}

/// What speedscope's file-format-schema.json requires, plus what its importer assumes: frame indexes in range,
/// one weight per sample, events in time order that open and close like a stack.
fn check_speedscope_shape(bytes: &[u8]) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    if v["$schema"] != "https://www.speedscope.app/file-format-schema.json" || v["exporter"] != "emberscope" {
        return Err("missing $schema or exporter".into());
    }
    let frames = v["shared"]["frames"].as_array().ok_or("no shared.frames")?;
    if frames.iter().any(|f| !f["name"].is_string()) {
        return Err("a frame has no name".into());
    }
    let units = ["bytes", "microseconds", "milliseconds", "nanoseconds", "none", "seconds"];
    for p in v["profiles"].as_array().ok_or("no profiles")? {
        let unit = p["unit"].as_str().unwrap_or("");
        if !units.contains(&unit) || !p["name"].is_string() || !p["startValue"].is_number() || !p["endValue"].is_number() {
            return Err(format!("profile header is not schema-shaped: unit {unit:?}"));
        }
        let in_range = |i: &serde_json::Value| i.as_u64().is_some_and(|i| (i as usize) < frames.len());
        match p["type"].as_str() {
            Some("sampled") => {
                let samples = p["samples"].as_array().ok_or("no samples")?;
                if samples.len() != p["weights"].as_array().map_or(usize::MAX, Vec::len) {
                    return Err("samples and weights differ in length".into());
                }
                if !samples.iter().all(|s| s.as_array().is_some_and(|s| s.iter().all(in_range))) {
                    return Err("a sample has a frame index out of range".into());
                }
            }
            Some("evented") => {
                let (mut open, mut last) = (Vec::new(), f64::NEG_INFINITY);
                for e in p["events"].as_array().ok_or("no events")? {
                    let at = e["at"].as_f64().ok_or("event without at")?;
                    if at < last || !in_range(&e["frame"]) {
                        return Err(format!("event out of order or out of range at {at}"));
                    }
                    last = at;
                    match e["type"].as_str() {
                        Some("O") => open.push(e["frame"].clone()),
                        Some("C") if open.pop().as_ref() == Some(&e["frame"]) => {}
                        _ => return Err(format!("unbalanced close at {at}")),
                    }
                }
                if !open.is_empty() {
                    return Err("events leave frames open".into());
                }
            }
            other => return Err(format!("profile type {other:?}")),
        }
    }
    Ok(())
}

fn round_trip(key: &str, p: &Profile, s: &Summary, format: ExportFormat) -> Result<(), String> {
    let bytes = export_to_vec(p, format).map_err(|e| format!("{key}: export {format:?} failed: {e}"))?;
    if format == ExportFormat::Speedscope {
        check_speedscope_shape(&bytes).map_err(|e| format!("{key}: speedscope export: {e}"))?;
    }
    let name = format!("roundtrip.{}", format.extension());
    let back = import_bytes(&name, &bytes, &Job::new())
        .map_err(|e| format!("{key}: re-import of the {format:?} export failed: {e}"))?;
    let s2 = summarize(&back, usize::MAX);
    let label = format!("{key} via {format:?}");
    match format {
        ExportFormat::Speedscope => {
            let unit_ok = s2.unit == s.unit || (s.unit == "samples" && s2.unit == "none");
            if !unit_ok {
                return Err(format!("{label}: unit {} came back as {}", s.unit, s2.unit));
            }
            compare_figures(&label, s, &s2, full_key, false, p.call_graph.is_none())
        }
        // Folded text cannot say that its lines are definition lines: functions come back keyed by (name, file).
        ExportFormat::Collapsed => compare_figures(&label, s, &s2, |f| format!("{} ({})", f.name, f.file), true, false),
        ExportFormat::Chrome => compare_figures(&label, s, &s2, |f| f.name.clone(), true, false),
    }
}

#[test]
fn corpus_imports_snapshots_and_round_trips() {
    let mut failures = Vec::new();
    let mut checked = 0;
    let files = corpus();
    for (key, path) in &files {
        let key = key.as_str();
        let result = match import_guarded(&path) {
            Ok(r) => r,
            Err(panic) => {
                failures.push(format!("{key}: importer PANICKED: {panic}"));
                continue;
            }
        };
        let unsupported = UNSUPPORTED.contains(&key);
        match result {
            Err(e) if unsupported => {
                let msg = e.to_string();
                if msg.is_empty() || msg.contains("panick") {
                    failures.push(format!("{key}: unclear error for an unsupported format: {msg:?}"));
                }
                check_snapshot(key, &format!("unsupported: {msg}\n"), &mut failures);
            }
            Ok(_) if unsupported => failures.push(format!("{key}: imports, but is listed as unsupported")),
            Err(e) if may_fail(key) => {
                check_snapshot(key, &format!("error: {e}\n"), &mut failures);
            }
            Err(e) if KNOWN_GAPS.iter().any(|(k, _)| *k == key) => {
                println!("known gap: {key}: {e}");
                check_snapshot(key, &format!("known gap: {e}\n"), &mut failures);
            }
            Ok(_) if KNOWN_GAPS.iter().any(|(k, _)| *k == key) => {
                failures.push(format!("{key}: imports now: remove it from KNOWN_GAPS"));
            }
            Err(e) => failures.push(format!("{key}: import failed: {e}")),
            Ok(p) => {
                checked += 1;
                let s = summarize(&p, usize::MAX);
                check_snapshot(key, &render_snapshot(&p, &s), &mut failures);
                if let Err(e) = round_trip(key, &p, &s, ExportFormat::Speedscope) {
                    failures.push(e);
                }
            }
        }
    }
    let keys: Vec<String> = files.into_iter().map(|(k, _)| k).collect();
    check_orphan_snapshots(&keys, &mut failures);
    // Every listed file must exist, so a lost file does not turn its entry into a check that never runs.
    for listed in UNSUPPORTED.iter().chain(KNOWN_GAPS.iter().map(|(k, _)| k)) {
        if !keys.iter().any(|k| k == listed) {
            failures.push(format!("{listed} is listed in conformance.rs but missing from test/fixtures"));
        }
    }
    println!("checked {checked} profiles");
    assert!(checked >= 10, "expected at least our own 10+ fixtures to import, got {checked}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn folded_and_chrome_exports_round_trip() {
    let mut failures = Vec::new();
    for rel in ["austin/wall.austin", "pprof/go-cpu.pb.gz", "py-spy-raw/workload-threads-idle.txt", "pstats/workload.pstats"]
    {
        let p = import_path(&fixtures_dir().join(rel)).unwrap();
        let s = summarize(&p, usize::MAX);
        for format in [ExportFormat::Collapsed, ExportFormat::Chrome] {
            if let Err(e) = round_trip(rel, &p, &s, format) {
                failures.push(e);
            }
        }
    }
    // Span (tracing) profiles from speedscope's corpus.
    for rel in ["trace-event/simple.json", "trace-event/multiprocess.json", "speedscope/0.0.1/simple.speedscope.json"] {
        let p = import_path(&speedscope_samples().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(p.threads.iter().any(|t| !t.spans.is_empty()), "{rel} should have spans");
        let s = summarize(&p, usize::MAX);
        for format in [ExportFormat::Collapsed, ExportFormat::Chrome] {
            if let Err(e) = round_trip(rel, &p, &s, format) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// (file in test/fixtures/broken, what the error must say). Empty inputs are refused by the dispatcher before any
/// format is tried, so their message names no format or place: it says the file is empty.
const BROKEN: &[(&str, &[&str])] = &[
    ("empty.txt", &["empty"]),
    ("whitespace-only.txt", &["empty"]),
    ("truncated-trace.json", &["not a valid", "at byte"]),
    ("truncated.json.gz", &["gzip", "corrupt or truncated", "at byte"]),
    ("random-bytes.prof", &["neither a valid cProfile/pstats file nor a valid pprof file", "at byte"]),
    ("cut-in-half.pstats", &["pstats", "cut short", "at byte"]),
    ("bad-varint.pb", &["pprof", "varint", "at byte 874"]),
    ("html-not-json.json", &["not a valid", "at byte"]),
];

#[test]
fn broken_files_give_errors_that_name_format_and_place() {
    let dir = fixtures_dir().join("broken");
    let mut failures = Vec::new();
    let mut listed = 0;
    for (name, needles) in BROKEN {
        listed += 1;
        let e = match import_guarded(&dir.join(name)) {
            Err(panic) => {
                failures.push(format!("{name}: PANICKED: {panic}"));
                continue;
            }
            Ok(Ok(p)) => {
                failures.push(format!("{name}: imported ({}), expected an error", p.format));
                continue;
            }
            Ok(Err(e)) => e,
        };
        let msg = e.to_string();
        for n in *needles {
            if !msg.contains(n) {
                failures.push(format!("{name}: error {msg:?} does not mention {n:?}"));
            }
        }
    }
    let mut present = Vec::new();
    list_files(&dir, &mut present);
    assert_eq!(present.len(), listed, "every file in broken/ must be listed in BROKEN");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cancelled_job_stops_an_import() {
    let job = Job::new();
    job.cancel();
    let bytes = std::fs::read(fixtures_dir().join("austin/wall.austin")).unwrap();
    assert!(matches!(import_bytes("wall.austin", &bytes, &job), Err(ImportError::Cancelled)));
}

/// A cancel that lands while gzip is being undone ends the import (it once made flate2 retry for ever: it treats
/// an `Interrupted` read error as "try again").
#[test]
fn cancelled_job_stops_a_gzipped_import() {
    let job = Job::new();
    job.cancel();
    let bytes = std::fs::read(fixtures_dir().join("austin/full.austin.gz")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(matches!(import_bytes("full.austin.gz", &bytes, &job), Err(ImportError::Cancelled)));
    });
    let cancelled = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the import must end, not spin");
    assert!(cancelled);
}

/// cProfile's own reader must agree with ours: every function's calls, tottime and cumtime, read back by Python's
/// `pstats` from the same file. python3 is a prerequisite of the test suite: without it this fails, it never skips.
#[test]
fn pstats_figures_match_pythons_pstats_module() {
    let path = fixtures_dir().join("pstats/workload.pstats");
    let script = "import json, pstats, sys\n\
                  s = pstats.Stats(sys.argv[1])\n\
                  print(json.dumps([[f, l, n, cc, nc, tt, ct] for (f, l, n), (cc, nc, tt, ct, _) in s.stats.items()]))";
    let out = match std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output() {
        Ok(o) if o.status.success() => o.stdout,
        Ok(o) => panic!("python3 could not read {}: {}", path.display(), String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("python3 is needed for the pstats cross-check and could not be run ({e}): install Python 3"),
    };
    /// (file, line, function, cc, nc, tt, ct) as Python's pstats sees them.
    type Row = (String, u32, String, f64, f64, f64, f64);
    let rows: Vec<Row> = serde_json::from_slice(&out).unwrap();
    let p = import_path(&path).unwrap();
    let g = p.call_graph.as_ref().expect("pstats keeps its call graph");
    assert_eq!(g.functions.frame.len(), rows.len());
    type Figures = (f64, f64, f64, f64);
    let mut ours: HashMap<(String, u32, String), Figures> = HashMap::new();
    for i in 0..g.functions.frame.len() {
        let f = g.functions.frame[i];
        let file = p.frame_file(f).unwrap_or("~").to_owned();
        let key = (file, p.frames.line[f as usize], p.frame_name(f).to_owned());
        ours.insert(key, (g.functions.primitive_calls[i], g.functions.total_calls[i], g.functions.self_[i], g.functions.total[i]));
    }
    for (file, line, name, cc, nc, tt, ct) in rows {
        let got = ours.get(&(file.clone(), line, name.clone())).unwrap_or_else(|| panic!("{file}:{line} {name} missing"));
        // serde_json parses floats fast, not correctly rounded (no `float_roundtrip`): allow one ulp or so.
        let same = got.0 == cc && got.1 == nc && close(got.2, tt, 1e-12) && close(got.3, ct, 1e-12);
        assert!(same, "{file}:{line} {name}: ours {got:?}, pstats ({cc}, {nc}, {tt}, {ct})");
    }
}

/// The synthesized stacks must carry each function's exact self time (tottime), so the flame graph and the
/// function table agree; totals only approximate cumtime (recursion is cut), so they are not compared.
#[test]
fn pstats_synthesized_stacks_keep_exact_self_time() {
    for rel in ["pstats/workload.pstats", "pstats/dump_stats.prof"] {
        let p = import_path(&fixtures_dir().join(rel)).unwrap();
        assert!(p.meta.iter().any(|(k, v)| k == "synthesized_stacks" && v == "true"));
        let exact = summarize(&p, usize::MAX);
        let mut stacks_only = p.clone();
        stacks_only.call_graph = None;
        let from_stacks = summarize(&stacks_only, usize::MAX);
        let by_key: HashMap<String, f64> = from_stacks.top.iter().map(|f| (full_key(f), f.self_)).collect();
        for f in &exact.top {
            let got = by_key.get(&full_key(f)).copied().unwrap_or(0.0);
            assert!(close(f.self_, got, 1e-9), "{rel}: {} self {} in cProfile, {got} in the synthesized stacks", f.name, f.self_);
        }
        // Recursion shows as one frame per level in cProfile's figures but must not inflate the tree's root total.
        let root_total = from_stacks.top.iter().map(|f| f.total).fold(0.0, f64::max);
        assert!(close(root_total, from_stacks.total_weight, 1e-9) || root_total < from_stacks.total_weight);
    }
}
