//! The JSON importers (Chrome trace incl. VizTracer and py-spy, speedscope, V8 .cpuprofile) against real files:
//! our fixtures (written by the real tools, see test/fixtures/generate/gen_json_fixtures.sh) and speedscope's
//! sample corpus (test/fixtures/speedscope-samples).

use std::path::{Path, PathBuf};

use emberscope_core::import::{chrome, cpuprofile, speedscope, ImportError, Location};
use emberscope_core::model::{FrameKind, Profile, Thread, WeightUnit};
use emberscope_core::{import_bytes, import_file, Job};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../test/fixtures")
}

fn corpus() -> PathBuf {
    fixtures().join("speedscope-samples")
}

fn open(path: &Path) -> Profile {
    import_file(path, &Job::new()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn thread<'a>(p: &'a Profile, name: &str) -> &'a Thread {
    p.threads
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no thread {name:?} in {:?}",
                p.threads.iter().map(|t| &t.name).collect::<Vec<_>>()
            )
        })
}

/// (name, start, end, depth) of a thread's spans, times in µs.
fn spans(p: &Profile, t: &Thread) -> Vec<(String, f64, f64, u16)> {
    (0..t.spans.len())
        .map(|i| {
            (
                p.frame_name(t.spans.frame[i]).to_owned(),
                t.spans.start[i] / 1e3,
                t.spans.end[i] / 1e3,
                t.spans.depth[i],
            )
        })
        .collect()
}

/// Structural invariants every evented thread must satisfy: start order, ends after starts, each span nested in
/// the innermost earlier span one level up, and its stack = that span's stack + its own frame.
fn check_spans(p: &Profile, t: &Thread) {
    let s = &t.spans;
    let mut open: Vec<usize> = Vec::new();
    for i in 0..s.len() {
        assert!(
            s.start[i] <= s.end[i],
            "{}: span {i} ends before it starts",
            t.name
        );
        if i > 0 {
            assert!(
                s.start[i - 1] <= s.start[i],
                "{}: spans not in start order at {i}",
                t.name
            );
        }
        let d = s.depth[i] as usize;
        assert!(d <= open.len(), "{}: span {i} skips a level", t.name);
        open.truncate(d);
        assert_eq!(p.stacks.frame[s.stack[i] as usize], s.frame[i]);
        match open.last() {
            Some(&parent) => {
                assert_eq!(
                    p.stacks.prefix[s.stack[i] as usize], s.stack[parent] as i32,
                    "{}: span {i}",
                    t.name
                );
                assert!(
                    s.start[i] >= s.start[parent] && s.end[i] <= s.end[parent],
                    "{}: span {i} escapes",
                    t.name
                );
            }
            None => assert_eq!(p.stacks.prefix[s.stack[i] as usize], -1),
        }
        open.push(i);
    }
}

fn frames_named<'a>(p: &'a Profile, name: &'a str) -> impl Iterator<Item = u32> + 'a {
    (0..p.frames.len() as u32).filter(move |&f| p.frame_name(f) == name)
}

fn parse_error(result: Result<Profile, ImportError>) -> (&'static str, String, Location) {
    match result {
        Err(ImportError::Parse {
            format,
            message,
            location,
        }) => (format, message, location),
        Err(e) => panic!("expected a parse error, got {e}"),
        Ok(p) => panic!(
            "expected a parse error, got a profile with {} threads",
            p.threads.len()
        ),
    }
}

#[test]
fn imports_viztracer_with_locations_threads_and_meta() {
    let p = open(&fixtures().join("viztracer/threads.json"));
    assert_eq!(p.format, "viztracer");
    assert_eq!(p.unit, WeightUnit::Microseconds);
    assert!(p.has_timeline);
    assert!(p.start_ns > 0.0, "start_ns is the earliest ts in ns");
    assert!(
        p.meta.contains(&("version".to_owned(), "1.1.1".to_owned())),
        "{:?}",
        p.meta
    );
    assert_eq!(p.threads.len(), 3);
    let main = thread(&p, "MainThread");
    thread(&p, "worker-0");
    thread(&p, "worker-1");

    let fib: Vec<u32> = frames_named(&p, "fib").collect();
    assert_eq!(
        fib.len(),
        1,
        "one fib frame: name, file and line parsed out of \"fib (file:7)\""
    );
    assert!(p
        .frame_file(fib[0])
        .unwrap()
        .ends_with("test/fixtures/generate/workload_threads.py"));
    assert_eq!(p.frames.line[fib[0] as usize], 7);
    assert_eq!(p.frames.kind[fib[0] as usize], FrameKind::User as u8);
    let threading = (0..p.frames.len() as u32).find(|&f| {
        p.frame_file(f)
            .is_some_and(|f| f.ends_with("/threading.py"))
    });
    assert_eq!(
        p.frames.kind[threading.unwrap() as usize],
        FrameKind::Stdlib as u8
    );
    let len = frames_named(&p, "builtins.len")
        .next()
        .expect("C functions are kept");
    assert_eq!(p.frame_file(len), None);
    assert_eq!(p.frames.kind[len as usize], FrameKind::Native as u8);

    let fib_spans = spans(&p, main)
        .into_iter()
        .filter(|s| s.0 == "fib")
        .collect::<Vec<_>>();
    assert!(
        fib_spans.len() > 500,
        "fib(13) recursion: {} spans",
        fib_spans.len()
    );
    let deepest = fib_spans.iter().map(|s| s.3).max().unwrap();
    let shallowest = fib_spans.iter().map(|s| s.3).min().unwrap();
    assert!(
        deepest - shallowest >= 8,
        "fib nests: depth {shallowest}..{deepest}"
    );
    for t in &p.threads {
        check_spans(&p, t);
    }
    // The longest root span on the main thread is VizTracer's exec of the script, with its <module> inside.
    let main_spans = spans(&p, main);
    let root = main_spans
        .iter()
        .filter(|s| s.3 == 0)
        .max_by(|a, b| (a.2 - a.1).total_cmp(&(b.2 - b.1)))
        .unwrap();
    assert_eq!(root.0, "builtins.exec");
    assert!(main_spans
        .iter()
        .any(|s| s.0 == "<module>" && s.3 == 1 && s.1 >= root.1 && s.2 <= root.2));
}

#[test]
fn gzip_variant_imports_the_same() {
    let plain = open(&fixtures().join("viztracer/threads.json"));
    let gz = open(&fixtures().join("viztracer/threads.json.gz"));
    assert_eq!(gz.format, "viztracer");
    assert_eq!(gz.threads, plain.threads);
    assert_eq!(gz.frames, plain.frames);
    assert_eq!(gz.strings, plain.strings);
}

#[test]
fn imports_py_spy_chrometrace_with_args_locations() {
    let p = open(&fixtures().join("py-spy/threads.chrome.json"));
    assert_eq!(p.format, "py-spy-chrome");
    assert_eq!(p.unit, WeightUnit::Microseconds);
    assert_eq!(p.threads.len(), 3);
    for t in &p.threads {
        assert!(t.name.starts_with("pid "), "no metadata events: {}", t.name);
        check_spans(&p, t);
    }
    let crunch = frames_named(&p, "crunch")
        .next()
        .expect("crunch was sampled");
    assert!(p
        .frame_file(crunch)
        .unwrap()
        .ends_with("workload_threads.py"));
    assert!(
        p.frames.line[crunch as usize] >= 17,
        "py-spy gives the current line inside crunch"
    );
    // Root frames are py-spy's per-thread pseudo frames.
    let roots: Vec<String> = p
        .threads
        .iter()
        .filter_map(|t| t.spans.frame.first().map(|&f| p.frame_name(f).to_owned()))
        .collect();
    assert!(roots.iter().all(|r| r.starts_with("thread (")), "{roots:?}");
}

#[test]
fn truncated_trace_mid_event_is_a_located_parse_error() {
    let (format, message, location) = parse_error(import_file(
        &fixtures().join("chrome/py-spy-truncated.json"),
        &Job::new(),
    ));
    assert_eq!(format, "chrome");
    assert!(message.contains("truncated"), "{message}");
    match location {
        Location::Byte(b) => assert!(b > 19_000 && b <= 20_000, "{b}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn corrupt_trace_points_at_the_bad_byte() {
    let text = b"[\n{\"ph\":\"X\",\"ts\":1,\"dur\":2,\"name\":\"a\",\"pid\":1,\"tid\":1},\n{\"ph\":\"X\",\"ts\":,\"name\":\"b\"}\n]";
    let (format, _, location) = parse_error(import_bytes("bad.json", text, &Job::new()));
    assert_eq!(format, "chrome");
    let Location::Byte(b) = location else {
        panic!("{location:?}")
    };
    assert_eq!(text[b as usize], b',', "points at the missing value");

    let (_, message, _) = parse_error(import_bytes(
        "bad.json",
        b"[{\"ph\":\"X\",\"ts\":1} {\"ph\":\"X\"}]",
        &Job::new(),
    ));
    assert!(message.contains("expected ','"), "{message}");
}

#[test]
fn imports_every_trace_event_edge_case_like_speedscope() {
    let dir = corpus().join("trace-event");
    let mut n = 0;
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let p = open(&path);
        assert_eq!(p.format, "chrome", "{}", path.display());
        for t in &p.threads {
            check_spans(&p, t);
        }
        n += 1;
    }
    assert!(n >= 30);

    let names = |file: &str| {
        let p = open(&dir.join(file));
        spans(&p, &p.threads[0])
    };
    let simple = vec![
        ("alpha".to_owned(), 0.0, 14.0, 0),
        ("beta".to_owned(), 1.0, 13.0, 1),
        ("gamma".to_owned(), 2.0, 7.0, 2),
        ("epsilon".to_owned(), 7.0, 11.0, 2),
    ];
    assert_eq!(names("simple.json"), simple);
    assert_eq!(names("simple-object.json").len(), 3);
    // Chrome's unterminated arrays: no `]`, a trailing comma, trailing whitespace.
    for partial in [
        "simple-partial.json",
        "simple-partial-trailing-comma.json",
        "simple-partial-whitespace.json",
    ] {
        assert_eq!(names(partial), simple, "{partial}");
    }
    // Out-of-order B/E pairs are sorted by ts before nesting.
    assert_eq!(
        names("out-of-order.json")
            .iter()
            .map(|s| (s.0.as_str(), s.3))
            .collect::<Vec<_>>(),
        [("A", 0), ("B", 1), ("C", 2)]
    );
    // An E for something that is not on top is dropped; the open call closes at the end.
    assert_eq!(
        names("mismatched-name.json"),
        [("alpha".to_owned(), 0.0, 10.0, 0)]
    );
    assert_eq!(names("too-many-end-events.json").len(), 2);
    // X events at equal ts: the longer one is the parent.
    let matching = names("x-events-matching-start.json");
    assert_eq!(matching[1], ("beta".to_owned(), 1.0, 3.0, 1));
    assert_eq!(matching[2], ("gamma".to_owned(), 1.0, 2.0, 2));
    // Zero-length B/E pairs stay calls.
    assert!(names("zero-duration-events.json").contains(&("B".to_owned(), 1.0, 1.0, 1)));

    let multi = open(&dir.join("multiprocess.json"));
    assert_eq!(multi.threads.len(), 8);
    assert_eq!(multi.threads[0].name, "p0t0 (p0)");
    assert_eq!(thread(&multi, "p2t1 (pid 2)").spans.len(), 1);
    assert_eq!(thread(&multi, "p3 / tid 1").spans.len(), 1);

    // Hermes-style samples + stackFrames become sampled threads (merged with the span thread of the same tid).
    let sampled = open(&dir.join("multi-thread-with-samples.json"));
    let js = thread(&sampled, "mqt_js");
    assert_eq!(js.samples.len(), 3);
    let leaf = sampled.stack_frames(js.samples.stack[1]);
    assert_eq!(
        leaf.iter()
            .map(|&f| sampled.frame_name(f))
            .collect::<Vec<_>>(),
        ["[root]", "function1"]
    );
}

#[test]
fn imports_chrome_devtools_traces() {
    for (file, min_threads) in [
        ("Chrome/65/simple-timeline.json", 5),
        ("Chrome/66/worker.json", 5),
        ("Chrome/69/simple.json", 5),
        ("Chrome/70/worker.json", 5),
        ("Chrome/116/Trace-20230603T221323.json", 5),
    ] {
        let p = open(&corpus().join(file));
        assert_eq!(p.format, "chrome");
        assert!(
            p.threads.len() >= min_threads,
            "{file}: {} threads",
            p.threads.len()
        );
        assert!(
            p.threads
                .iter()
                .any(|t| t.name == "CrRendererMain" || t.name.starts_with("CrRendererMain")),
            "{file}"
        );
        for t in &p.threads {
            check_spans(&p, t);
        }
    }
    // A DevTools trace holding only a CPU profile (ProfileChunk events) has no spans to show: a clear error.
    let (format, message, _) = parse_error(import_file(
        &corpus().join("Chrome/141/no-arg-data.json"),
        &Job::new(),
    ));
    assert_eq!(format, "chrome");
    assert!(message.contains("no duration events"), "{message}");
}

#[test]
fn imports_speedscope_files() {
    let dir = corpus().join("speedscope");
    for file in [
        "0.0.1/simple.speedscope.json",
        "0.0.1/simple-no-pretty-print.speedscope.json",
    ] {
        let p = open(&dir.join(file));
        assert_eq!(p.format, "speedscope");
        assert_eq!(p.unit, WeightUnit::None);
        assert!(p.has_timeline);
        let t = &p.threads[0];
        assert_eq!(t.name, "simple.txt");
        check_spans(&p, t);
        let got: Vec<_> = spans(&p, t)
            .into_iter()
            .map(|(n, s, e, d)| (n, s * 1e3, e * 1e3, d))
            .collect();
        assert_eq!(got[3], ("d".to_owned(), 2.0, 6.0, 2), "{file}");
        assert_eq!(got.len(), 5);
    }

    let p = open(&dir.join("0.1.2/simple-sampled.speedscope.json"));
    assert_eq!(p.unit, WeightUnit::Seconds);
    let s = &p.threads[0].samples;
    assert_eq!(s.weight, [1.0, 1.0, 4.0, 3.0, 5.0]);
    assert_eq!(s.time, [0.0, 1e9, 2e9, 6e9, 9e9], "cumulative weight in ns");
    assert_eq!(
        p.stack_frames(s.stack[2])
            .iter()
            .map(|&f| p.frame_name(f))
            .collect::<Vec<_>>(),
        ["a", "b", "d"]
    );

    let two = open(&dir.join("0.6.0/two-sampled.speedscope.json"));
    assert_eq!(
        two.threads
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert!(two
        .meta
        .contains(&("exporter".to_owned(), "speedscope@0.6.0".to_owned())));

    for (file, needle) in [
        ("invalid/incomplete-trace.json", "still open"),
        ("invalid/out-of-order-events.json", "innermost"),
    ] {
        let (format, message, _) = parse_error(import_file(&dir.join(file), &Job::new()));
        assert_eq!(format, "speedscope");
        assert!(message.contains(needle), "{file}: {message}");
    }
}

#[test]
fn imports_py_spy_speedscope_output() {
    let p = open(&fixtures().join("py-spy/threads.speedscope.json"));
    assert_eq!(p.format, "speedscope");
    assert_eq!(p.unit, WeightUnit::Seconds);
    assert!(p.has_timeline);
    assert!(
        p.meta
            .iter()
            .any(|(k, v)| k == "exporter" && v.starts_with("py-spy@")),
        "{:?}",
        p.meta
    );
    assert_eq!(p.threads.len(), 3);
    assert!(p.threads.iter().any(|t| t.name.contains("worker-0")));
    for t in &p.threads {
        assert!(!t.samples.is_empty());
        let root = p.stack_frames(t.samples.stack[0])[0];
        assert!(
            p.frame_name(root).starts_with("thread ("),
            "stacks are root first"
        );
        assert!(t.samples.time.windows(2).all(|w| w[0] <= w[1]));
    }
    let crunch = frames_named(&p, "crunch").next().expect("crunch sampled");
    assert_eq!(p.frames.kind[crunch as usize], FrameKind::User as u8);
}

#[test]
fn speedscope_syntax_errors_are_located() {
    let text = b"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n\"profiles\": [ { \"type\": } ]}";
    let (format, _, location) = parse_error(import_bytes("x.speedscope.json", text, &Job::new()));
    assert_eq!(format, "speedscope");
    let Location::Byte(b) = location else {
        panic!("{location:?}")
    };
    assert_eq!(text[b as usize], b'}');
}

#[test]
fn imports_node_cpuprofile() {
    let p = open(&fixtures().join("cpuprofile/node-workload.cpuprofile"));
    assert_eq!(p.format, "cpuprofile");
    assert_eq!(p.unit, WeightUnit::Microseconds);
    assert_eq!(p.threads.len(), 1);
    let s = &p.threads[0].samples;
    assert!(s.len() > 100);
    assert!(s.time.windows(2).all(|w| w[0] <= w[1]));
    // Weights are the gaps between samples: they add up to the profile's span (~0.4 s of work).
    let total: f64 = s.weight.iter().sum();
    assert!((300_000.0..1_000_000.0).contains(&total), "{total} µs");
    let fib = frames_named(&p, "fib").next().expect("fib sampled");
    assert!(p.frame_file(fib).unwrap().ends_with("gen_json_workload.js"));
    assert_eq!(
        p.frames.line[fib as usize], 4,
        "V8 lines are 0-based; ours are 1-based"
    );
    assert_eq!(p.frames.kind[fib as usize], FrameKind::Other as u8);
    // V8's synthetic (root) is not a frame of any stack.
    assert_eq!(frames_named(&p, "(root)").count(), 0);
    // The hottest workload function by self time is one of the three hot loops.
    let mut self_w = std::collections::HashMap::<&str, f64>::new();
    for i in 0..s.len() {
        if s.stack[i] >= 0 {
            let leaf = p.stacks.frame[s.stack[i] as usize];
            *self_w.entry(p.frame_name(leaf)).or_default() += s.weight[i];
        }
    }
    let hottest = ["fib", "buildStrings", "sortNumbers", "main"]
        .iter()
        .max_by(|a, b| {
            self_w
                .get(*a)
                .unwrap_or(&0.0)
                .total_cmp(self_w.get(*b).unwrap_or(&0.0))
        });
    assert_ne!(
        self_w.get(*hottest.unwrap()).copied().unwrap_or(0.0),
        0.0,
        "{self_w:?}"
    );
}

#[test]
fn imports_corpus_cpuprofiles_new_and_old_layout() {
    for file in [
        "Chrome/65/simple.cpuprofile",
        "node/10.11.0/example.cpuprofile",
    ] {
        let p = open(&corpus().join(file));
        assert_eq!(p.format, "cpuprofile", "{file}");
        let s = &p.threads[0].samples;
        assert_eq!(s.len(), 29, "{file}");
        let d = frames_named(&p, "d").next().unwrap();
        assert_eq!(p.frames.line[d as usize], 14, "{file}");
        let leaf = p.stack_frames(s.stack[5]);
        assert_eq!(
            leaf.iter().map(|&f| p.frame_name(f)).collect::<Vec<_>>(),
            ["(anonymous)", "a", "b", "d"],
            "{file}"
        );
    }
    let big = open(&corpus().join("Chrome/65/sucrase.cpuprofile"));
    assert!(big.threads[0].samples.len() > 10_000);
}

#[test]
fn truncated_cpuprofile_is_a_parse_error() {
    let bytes = std::fs::read(fixtures().join("cpuprofile/node-workload.cpuprofile")).unwrap();
    let (format, message, location) = parse_error(import_bytes(
        "x.cpuprofile",
        &bytes[..bytes.len() / 2],
        &Job::new(),
    ));
    assert_eq!(format, "cpuprofile");
    assert!(message.contains("truncated"), "{message}");
    assert!(matches!(location, Location::Byte(b) if b as usize <= bytes.len() / 2));
}

#[test]
fn detects_formats_from_the_head() {
    let read = |p: PathBuf| std::fs::read(p).unwrap();
    let vz = read(fixtures().join("viztracer/threads.json"));
    let head = &vz[..1000]; // cut mid-token
    assert!(chrome::detect(head));
    assert!(!speedscope::detect(head) && !cpuprofile::detect(head));
    assert!(chrome::detect(b"  [ {\"pid\":1,\"ph\":\"B\""));
    assert!(!chrome::detect(b"[1, 2, 3]"));
    assert!(!chrome::detect(b"a;b;c 1\n"));

    let devtools = read(corpus().join("Chrome/116/Trace-20230603T221323.json"));
    let head = &devtools[..devtools.len().min(64 * 1024)];
    assert!(chrome::detect(head));
    assert!(
        !cpuprofile::detect(head),
        "a trace embedding cpuProfile nodes is not a .cpuprofile"
    );

    let cpu = read(fixtures().join("cpuprofile/node-workload.cpuprofile"));
    assert!(cpuprofile::detect(&cpu[..200]));
    assert!(!chrome::detect(&cpu[..200]) && !speedscope::detect(&cpu[..200]));

    let ss = read(fixtures().join("py-spy/threads.speedscope.json"));
    assert!(speedscope::detect(&ss[..300]));
    assert!(!speedscope::detect(
        b"{\"$schema\": \"https://json-schema.org/draft-07/schema\"}"
    ));
}

#[test]
fn cancellation_stops_a_large_import() {
    let mut text = String::from("[");
    for i in 0..20_000 {
        text.push_str(&format!(
            "{{\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":{i},\"dur\":0.5,\"name\":\"f\"}},"
        ));
    }
    let job = Job::new();
    job.cancel();
    assert!(matches!(
        import_bytes("big.json", text.as_bytes(), &job),
        Err(ImportError::Cancelled)
    ));
    let p = import_bytes("big.json", text.as_bytes(), &Job::new()).unwrap();
    assert_eq!(p.threads[0].spans.len(), 20_000);
}

#[test]
fn never_panics_on_cut_or_damaged_input() {
    let files = [
        fixtures().join("py-spy/threads.chrome.json"),
        corpus().join("trace-event/simple-hermes.json"),
        corpus().join("trace-event/multi-thread-with-samples.json"),
        corpus().join("speedscope/0.6.0/two-sampled.speedscope.json"),
        corpus().join("Chrome/65/simple.cpuprofile"),
        corpus().join("node/10.11.0/example.cpuprofile"),
    ];
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let step = (bytes.len() / 150).max(1);
        for cut in (1..bytes.len()).step_by(step) {
            let _ = import_bytes("x.json", &bytes[..cut], &Job::new());
            let mut damaged = bytes.clone();
            damaged[cut] = b"}]\",:0x\\"[cut % 8];
            let _ = import_bytes("x.json", &damaged, &Job::new());
        }
    }
    // Deep nesting is bounded by serde_json's recursion limit, not the stack.
    let deep = format!(
        "[{{\"ph\":\"X\",\"ts\":1,\"args\":{}}}]",
        "[".repeat(100_000)
    );
    assert!(import_bytes("deep.json", deep.as_bytes(), &Job::new()).is_err());
    // Very deep but valid B nesting: depth saturates instead of overflowing.
    let mut text = String::from("[");
    for i in 0..70_000 {
        text.push_str(&format!(
            "{{\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":{i},\"name\":\"r\"}},"
        ));
    }
    let p = import_bytes("deep.json", text.as_bytes(), &Job::new()).unwrap();
    assert_eq!(p.threads[0].spans.len(), 70_000);
    assert_eq!(*p.threads[0].spans.depth.last().unwrap(), u16::MAX);
}
