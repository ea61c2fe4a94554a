//! What the importers count, checked against the writing tool's own figures on real files (issue 9):
//! - py-spy raw with `--subprocesses`: threads and pids as py-spy recorded them, samples per thread as the file's
//!   lines add them up (counted here from the text, not through the importer).
//! - `threads[].samples` is the number of samples: a folded line's count, pprof's `samples/count` values (as
//!   `go tool pprof -raw` prints them).
//! - pprof's default sample type is the file's (else the last), another can be picked by name.
//! - cProfile/pstats: functions keyed by (file, line, name), as Python's own `pstats` keys them.
//! - Durations of files without a timeline are unknown (0), never a byte or sample total.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;

use emberscope_core::import::ImportOptions;
use emberscope_core::summary::summarize;
use emberscope_core::{import_bytes, import_bytes_with, Job, Profile};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../test/fixtures").join(rel)
}

fn open(rel: &str) -> Profile {
    let path = fixture(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    import_bytes(rel, &bytes, &Job::new()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `go tool pprof -raw FILE`'s sample rows: one Vec of values per sample, in sample-type order. None (and a note on
/// stderr) when Go is not installed: the importer's own figures are then checked without it.
fn go_pprof_raw(rel: &str) -> Option<(Vec<String>, Vec<Vec<i64>>)> {
    let out = match Command::new("go").args(["tool", "pprof", "-raw"]).arg(fixture(rel)).output() {
        Ok(out) if out.status.success() => out,
        other => {
            eprintln!("skipped the comparison with `go tool pprof` for {rel}: go is not usable here ({other:?})");
            return None;
        }
    };
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().skip_while(|l| *l != "Samples:").skip(1);
    let types: Vec<String> = lines.next()?.split_whitespace().map(str::to_owned).collect();
    // Sample rows (`values: location ids`) until `Locations`; heap profiles add label lines (`bytes:[1024]`).
    let rows = lines
        .take_while(|l| !l.starts_with("Locations"))
        .filter(|l| l.contains(':') && l.trim_start().starts_with(|c: char| c.is_ascii_digit() || c == '-'))
        .map(|l| l.split(':').next().unwrap().split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    Some((types, rows))
}

#[test]
fn pyspy_subprocesses_gives_each_process_its_threads_and_samples() {
    let rel = "py-spy-raw/subprocesses.txt";
    let text = std::fs::read_to_string(fixture(rel)).unwrap();
    // Counted from the text: the last `process PID:` frame owns the line, its `thread (TID)` frame names the thread.
    let mut expected: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    let mut pids = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (stack, count) = line.rsplit_once(' ').unwrap();
        let frames: Vec<&str> = stack.split(';').collect();
        let pid: i64 = frames
            .iter()
            .filter_map(|f| f.strip_prefix("process "))
            .map(|f| f.split(':').next().unwrap().parse().unwrap())
            .next_back()
            .expect("--subprocesses writes a process frame on every line");
        pids.extend(frames.iter().filter_map(|f| f.strip_prefix("process ")).map(|f| f.split(':').next().unwrap().to_owned()));
        let thread = frames.iter().find_map(|f| f.strip_prefix("thread (")).expect("--threads writes a thread frame");
        let tid: i64 = thread.split(')').next().unwrap().parse().unwrap();
        *expected.entry((pid, tid)).or_default() += count.parse::<u64>().unwrap();
    }
    assert!(pids.len() >= 3, "the fixture should hold the parent and two workers: {pids:?}");
    assert_eq!(expected.values().sum::<u64>(), 591, "py-spy said `Samples: 591` when it wrote the fixture");

    let p = open(rel);
    let s = summarize(&p, 50);
    let got: BTreeMap<(i64, i64), u64> = s.threads.iter().map(|t| ((t.pid, t.tid), t.samples)).collect();
    assert_eq!(got, expected);
    for t in &s.threads {
        assert!(t.name.contains(&format!("[pid {}]", t.pid)), "{}", t.name);
    }
    // No pseudo-frame is left in any stack.
    for f in 0..p.frames.len() as u32 {
        let name = p.frame_name(f);
        assert!(!name.starts_with("process ") && !name.starts_with("thread ("), "pseudo-frame kept: {name}");
    }
}

#[test]
fn folded_thread_samples_are_the_summed_counts() {
    for rel in ["py-spy-raw/workload.txt", "py-spy-raw/workload-threads-idle.txt"] {
        let text = std::fs::read_to_string(fixture(rel)).unwrap();
        let expected: u64 = text.lines().filter_map(|l| l.rsplit_once(' ')).map(|(_, n)| n.parse::<u64>().unwrap()).sum();
        let s = summarize(&open(rel), 50);
        assert_eq!(s.threads.iter().map(|t| t.samples).sum::<u64>(), expected, "{rel}");
        assert_eq!(s.total_weight, expected as f64, "{rel}");
        assert_eq!(s.duration_ns, 0.0, "{rel}: folded stacks have no timeline, so no duration");
    }
}

#[test]
fn austin_memory_mode_has_no_duration() {
    let text = "# austin: 3.7.0\n# mode: memory\nP1;T0:5;a.py:f:3 4096\nP1;T0:5;a.py:g:4 1024\nP1;T0:5;a.py:g:4 -512\n";
    let p = import_bytes("m.austin", text.as_bytes(), &Job::new()).unwrap();
    let s = summarize(&p, 50);
    assert_eq!((s.unit.as_str(), s.total_weight, s.duration_ns), ("bytes", 5120.0, 0.0));
    // Austin writes one line per sample, so the two allocations are two samples (the free was dropped).
    assert_eq!(s.threads[0].samples, 2);
}

#[test]
fn pprof_counts_samples_by_its_count_type_and_reads_the_default_type() {
    let cpu = open("pprof/go-cpu.pb");
    let s = summarize(&cpu, 50);
    assert!(cpu.meta.contains(&("sample_type".to_owned(), "cpu/nanoseconds".to_owned())), "{:?}", cpu.meta);
    // The file's own duration_nanos; `go tool pprof -raw` prints it rounded: `Duration: 809.` (ms).
    assert!(cpu.meta.contains(&("duration_nanos".to_owned(), "809339183".to_owned())), "{:?}", cpu.meta);
    assert_eq!(s.duration_ns, 809_339_183.0);
    if let Some((types, rows)) = go_pprof_raw("pprof/go-cpu.pb") {
        assert_eq!(types, ["samples/count", "cpu/nanoseconds"]);
        assert_eq!(s.threads[0].samples, rows.iter().map(|r| r[0] as u64).sum::<u64>());
        assert!(s.threads[0].samples as usize > cpu.threads[0].samples.len(), "counts, not records");
        assert_eq!(s.total_weight, rows.iter().map(|r| r[1] as f64).sum::<f64>());
    }

    let heap = open("pprof/go-heap.pb.gz");
    assert!(heap.meta.contains(&("sample_type".to_owned(), "inuse_space/bytes".to_owned())), "{:?}", heap.meta);
    let opts = ImportOptions { sample_type: Some("alloc_space".to_owned()), ..ImportOptions::default() };
    let bytes = std::fs::read(fixture("pprof/go-heap.pb.gz")).unwrap();
    let alloc = import_bytes_with("go-heap.pb.gz", &bytes, &Job::new(), &opts).unwrap();
    let a = summarize(&alloc, 50);
    assert_eq!(a.unit, "bytes");
    if let Some((types, rows)) = go_pprof_raw("pprof/go-heap.pb.gz") {
        let col = types.iter().position(|t| t == "alloc_space/bytes").unwrap();
        assert_eq!(a.total_weight, rows.iter().map(|r| r[col] as f64).sum::<f64>());
        // Two count types (alloc_objects, inuse_objects): the first is the sample count.
        assert_eq!(a.threads[0].samples, rows.iter().map(|r| r[0] as u64).sum::<u64>());
    }

    let opts = ImportOptions { sample_type: Some("wall".to_owned()), ..ImportOptions::default() };
    let e = import_bytes_with("go-heap.pb.gz", &bytes, &Job::new(), &opts).unwrap_err().to_string();
    assert!(e.contains("no sample type \"wall\"") && e.contains("alloc_space/bytes, inuse_objects/count"), "{e}");
}

#[test]
fn corrupt_prof_says_it_is_neither_cprofile_nor_pprof() {
    let bytes = std::fs::read(fixture("broken/random-bytes.prof")).unwrap();
    let e = import_bytes("random-bytes.prof", &bytes, &Job::new()).unwrap_err().to_string();
    assert!(e.starts_with("neither a valid cProfile/pstats file nor a valid pprof file"), "{e}");
    assert!(e.contains("as cProfile/pstats, ") && e.contains("; as pprof, "), "{e}");
}

#[test]
fn viztracer_overflow_is_a_warning() {
    let trace = br#"{"traceEvents": [
        {"ph": "X", "name": "f (a.py:3)", "pid": 1, "tid": 1, "ts": 0, "dur": 10}
    ], "viztracer_metadata": {"version": "0.16.3", "overflow": true}}"#;
    let s = summarize(&import_bytes("t.json", trace, &Job::new()).unwrap(), 50);
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("overflowed"), "{:?}", s.warnings);
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["warnings"][0].as_str().unwrap().contains("--tracer_entries"));
    let fine = br#"{"traceEvents": [{"ph": "X", "name": "f (a.py:3)", "pid": 1, "tid": 1, "ts": 0, "dur": 10}],
        "viztracer_metadata": {"version": "0.16.3", "overflow": false}}"#;
    let s = summarize(&import_bytes("t.json", fine, &Job::new()).unwrap(), 50);
    assert!(s.warnings.is_empty());
    assert!(serde_json::to_value(&s).unwrap().get("warnings").is_none());
}

/// Python's own figures for every function of the file: (file, line, name) -> (nc, tt, ct, callers).
type PstatsRows = HashMap<(String, u32, String), (f64, f64, f64, Vec<(String, u32, String)>)>;

fn python_pstats(rel: &str) -> Option<PstatsRows> {
    let script = r#"
import json, pstats, sys
s = pstats.Stats(sys.argv[1])
print(json.dumps([[f, l, n, nc, tt, ct, [list(k) for k in callers]] for (f, l, n), (cc, nc, tt, ct, callers) in s.stats.items()]))
"#;
    let out = match Command::new("python3").arg("-c").arg(script).arg(fixture(rel)).output() {
        Ok(out) if out.status.success() => out,
        other => {
            eprintln!("skipped the comparison with Python's pstats: python3 is not usable here ({other:?})");
            return None;
        }
    };
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let key = |v: &serde_json::Value| (v[0].as_str().unwrap().to_owned(), v[1].as_u64().unwrap() as u32, v[2].as_str().unwrap().to_owned());
    Some(
        rows.iter()
            .map(|r| {
                let callers = r[6].as_array().unwrap().iter().map(key).collect();
                (key(r), (r[3].as_f64().unwrap(), r[4].as_f64().unwrap(), r[5].as_f64().unwrap(), callers))
            })
            .collect(),
    )
}

#[test]
fn pstats_keys_functions_by_file_line_and_name_as_python_does() {
    let rel = "pstats/same-names.pstats";
    let p = open(rel);
    let s = summarize(&p, usize::MAX);
    let ours: HashMap<(String, u32, String), (f64, f64)> =
        s.top.iter().map(|f| ((f.file.clone(), f.line, f.name.clone()), (f.self_, f.total))).collect();
    assert_eq!(ours.len(), s.top.len(), "every (file, line, name) is one row");
    // Same-named twins are separate rows.
    for name in ["<genexpr>", "__init__", "helper", "<listcomp>"] {
        let n = s.top.iter().filter(|f| f.name == name && f.file == "same_names.py").count();
        assert_eq!(n, 2, "{name}");
    }
    let Some(python) = python_pstats(rel) else { return };
    let file_of = |f: &str| if f == "~" { String::new() } else { f.to_owned() };
    for ((file, line, name), (nc, tt, ct, callers)) in &python {
        let key = (file_of(file), *line, name.clone());
        if *tt == 0.0 && *ct == 0.0 {
            assert!(!ours.contains_key(&key), "{key:?} has no time and is not listed");
            continue;
        }
        let (self_, total) = ours.get(&key).unwrap_or_else(|| panic!("{key:?} missing from the summary"));
        assert!((self_ - tt).abs() < 1e-9 && (total - ct).abs() < 1e-9, "{key:?}: ours {self_} {total}, pstats {tt} {ct}");
        // The call graph: the same call count, and exactly pstats' callers.
        let graph = p.call_graph.as_ref().unwrap();
        let frame_key = |fr: u32| (p.frame_file(fr).unwrap_or("").to_owned(), p.frames.line[fr as usize], p.frame_name(fr).to_owned());
        let row = (0..graph.functions.frame.len()).find(|&i| frame_key(graph.functions.frame[i]) == key).unwrap();
        assert_eq!(graph.functions.total_calls[row], *nc, "{key:?}");
        let mut ours_callers: Vec<_> = (0..graph.edges.callee.len())
            .filter(|&i| frame_key(graph.edges.callee[i]) == key)
            .map(|i| frame_key(graph.edges.caller[i]))
            .collect();
        let mut theirs: Vec<_> = callers.iter().map(|(f, l, n)| (file_of(f), *l, n.clone())).collect();
        ours_callers.sort();
        theirs.sort();
        assert_eq!(ours_callers, theirs, "callers of {key:?}");
    }
}
