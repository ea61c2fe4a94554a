//! Chrome Trace Event JSON (array or `{"traceEvents": [...]}`), including VizTracer's and py-spy's flavours.
//!
//! Speed matters here (VizTracer traces run to GBs), so the top level is walked by hand and each event is
//! deserialized straight from the input slice into a borrowed struct: no DOM, no String per event, names interned
//! through a map keyed by the borrowed `&str`. Only `B`/`E`/`X` become spans and `M` names threads; every other
//! phase (instant, counter, flow, async, ...) is read and dropped. Ordering and the repair of unbalanced `E` events
//! follow speedscope's importer (see `trace_order.rs`), whose edge-case corpus is the reference.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::import::json_util::{
    self, id_of, json_error, parse_one, skip_ws, split_located_name, FxMap, IdField, LaxStr, Num,
};
use crate::import::trace_order::{self, Begin, End, ThreadEvents};
use crate::import::trace_samples::{self, RawSample, StackFrames};
use crate::import::trace_scan::{self, FlatEvent};
use crate::import::trace_split::{self, Part, PartEnd, Plan};
use crate::import::{ImportError, Input, Location};
use crate::job::Job;
use crate::model::{FrameIndex, FrameKind, Profile, ProfileBuilder, Thread, WeightUnit, definition_lines_meta};

const FORMAT: &str = "chrome";
/// Events between cancellation checks and progress updates.
const CHECK_EVERY: usize = 4096;

pub fn detect(head: &[u8]) -> bool {
    let h = json_util::trim_head(head);
    match h.first() {
        Some(b'[') => {
            let rest = &h[1..];
            let first = skip_ws(rest, 0);
            // An empty head after `[` (a file of only "[") is not a trace; `{` with a phase is.
            rest.get(first) == Some(&b'{') && json_util::contains(rest, b"\"ph\"")
        }
        Some(b'{') => json_util::contains(h, b"\"traceEvents\""),
        _ => false,
    }
}

/// The fields of a trace event we use. Unknown fields are skipped by serde without being materialized.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow, default)]
    ph: LaxStr<'a>,
    #[serde(borrow, default)]
    name: LaxStr<'a>,
    #[serde(default)]
    ts: Option<Num>,
    #[serde(default)]
    dur: Option<Num>,
    #[serde(default)]
    tdur: Option<Num>,
    #[serde(default)]
    pid: IdField,
    #[serde(default)]
    tid: IdField,
    #[serde(borrow, default)]
    cat: LaxStr<'a>,
    #[serde(borrow, default)]
    args: Args<'a>,
}

/// `args`: only the thread/process name of `M` events and the source location some writers add (py-spy:
/// filename/line; Hermes: url/line). Not-an-object args are ignored.
#[derive(Default)]
struct Args<'a> {
    name: Option<Cow<'a, str>>,
    file: Option<Cow<'a, str>>,
    line: Option<f64>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Args<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Args<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("event args")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Args<'de>, A::Error> {
                let mut a = Args::default();
                while let Some(LaxStr(key)) = m.next_key::<LaxStr<'de>>()? {
                    match key.as_deref() {
                        Some("name") => a.name = m.next_value::<LaxStr>()?.0,
                        Some("filename" | "url" | "file") => a.file = m.next_value::<LaxStr>()?.0,
                        Some("line") => a.line = m.next_value::<Num>()?.finite(),
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(a)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Args<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Args::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Args<'de>, E> {
                Ok(Args::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Args<'de>, E> {
                Ok(Args::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Args<'de>, E> {
                Ok(Args::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Args<'de>, E> {
                Ok(Args::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Args<'de>, E> {
                Ok(Args::default())
            }
            fn visit_unit<E>(self) -> Result<Args<'de>, E> {
                Ok(Args::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Everything gathered in one pass over the events.
#[derive(Default)]
struct Collector<'a> {
    names: FxMap<Cow<'a, str>, u32>,
    name_list: Vec<Cow<'a, str>>,
    /// (name, file name + 1 or 0, line) → key; a key becomes one frame.
    keys: FxMap<(u32, u32, u32), u32>,
    key_list: Vec<(u32, u32, u32)>,
    /// Fast path: the key of a bare name (no file/line in args), `u32::MAX` until seen.
    bare_key: Vec<u32>,
    threads: FxMap<(i64, i64), usize>,
    thread_list: Vec<ThreadEvents>,
    last_thread: Option<((i64, i64), usize)>,
    process_names: FxMap<i64, String>,
    thread_names: FxMap<(i64, i64), String>,
    min_ts: f64,
    py_spy: bool,
    events: usize,
}

impl<'a> Collector<'a> {
    fn intern_name(&mut self, s: Cow<'a, str>) -> u32 {
        if let Some(&i) = self.names.get(s.as_ref()) {
            return i;
        }
        let i = self.name_list.len() as u32;
        self.name_list.push(s.clone());
        self.names.insert(s, i);
        self.bare_key.push(u32::MAX);
        i
    }

    fn key(&mut self, name: u32, file: u32, line: u32) -> u32 {
        if file == 0 && line == 0 {
            if let Some(&k) = self.bare_key.get(name as usize) {
                if k != u32::MAX {
                    return k;
                }
            }
        }
        let k = *self.keys.entry((name, file, line)).or_insert_with(|| {
            self.key_list.push((name, file, line));
            (self.key_list.len() - 1) as u32
        });
        if file == 0 && line == 0 {
            if let Some(slot) = self.bare_key.get_mut(name as usize) {
                *slot = k;
            }
        }
        k
    }

    fn thread(&mut self, pid: i64, tid: i64) -> &mut ThreadEvents {
        let idx = match self.last_thread {
            Some((k, i)) if k == (pid, tid) => i,
            _ => {
                let next = self.thread_list.len();
                let i = *self.threads.entry((pid, tid)).or_insert(next);
                if i == next {
                    self.thread_list.push(ThreadEvents {
                        pid,
                        tid,
                        ..Default::default()
                    });
                }
                self.last_thread = Some(((pid, tid), i));
                i
            }
        };
        &mut self.thread_list[idx]
    }

    fn add(&mut self, ev: Ev<'a>) {
        match ev.ph {
            b'B' | b'E' | b'X' => {}
            b'M' => return self.add_metadata(ev),
            _ => return,
        }
        // speedscope requires `ts` on duration events; without it there is nothing to place.
        let Some(ts) = ev.ts.filter(|t| t.is_finite()) else {
            return;
        };
        self.py_spy |= ev.py_spy;
        let name = self.intern_name(ev.name.unwrap_or(Cow::Borrowed("(unnamed)")));
        let file = match ev.file {
            Some(f) if !f.is_empty() => self.intern_name(f) + 1,
            _ => 0,
        };
        let line = ev
            .line
            .filter(|l| *l >= 0.0 && *l < u32::MAX as f64)
            .map_or(0, |l| l as u32);
        let key = self.key(name, file, line);
        if ts < self.min_ts || self.events == 0 {
            self.min_ts = ts;
        }
        self.events += 1;
        let t = self.thread(ev.pid, ev.tid);
        match ev.ph {
            b'B' => t.begins.push(Begin {
                ts,
                dur: 0.0,
                name,
                key,
            }),
            b'E' => t.ends.push(End { ts, name, key }),
            _ => {
                let dur = ev.dur.unwrap_or(0.0);
                t.xs.push(Begin {
                    ts,
                    dur: if dur > 0.0 { dur } else { 0.0 },
                    name,
                    key,
                });
            }
        }
    }

    /// Folds in the tables of the events that follow this collector's in the file, as if `add` had seen them:
    /// names, keys and threads new to `self` are appended in the order `later` first saw them.
    fn absorb(&mut self, later: Collector<'a>) {
        let name_map: Vec<u32> = later.name_list.into_iter().map(|n| self.intern_name(n)).collect();
        let key_map: Vec<u32> = later
            .key_list
            .iter()
            .map(|&(name, file, line)| {
                let file = if file == 0 { 0 } else { name_map[(file - 1) as usize] + 1 };
                self.key(name_map[name as usize], file, line)
            })
            .collect();
        let (name, key) = (|n: u32| name_map[n as usize], |k: u32| key_map[k as usize]);
        let begin = |b: &Begin| Begin { name: name(b.name), key: key(b.key), ..*b };
        for te in later.thread_list {
            let t = self.thread(te.pid, te.tid);
            t.begins.extend(te.begins.iter().map(begin));
            t.xs.extend(te.xs.iter().map(begin));
            t.ends.extend(te.ends.iter().map(|e| End { name: name(e.name), key: key(e.key), ..*e }));
        }
        self.process_names.extend(later.process_names);
        self.thread_names.extend(later.thread_names);
        if later.events > 0 && (self.events == 0 || later.min_ts < self.min_ts) {
            self.min_ts = later.min_ts;
        }
        self.py_spy |= later.py_spy;
        self.events += later.events;
    }

    fn add_metadata(&mut self, ev: Ev<'a>) {
        let Some(value) = ev.meta_name else { return };
        match ev.name.as_deref() {
            Some("process_name") => {
                self.process_names.insert(ev.pid, value.into_owned());
            }
            Some("thread_name") => {
                self.thread_names
                    .insert((ev.pid, ev.tid), value.into_owned());
            }
            _ => {}
        }
    }
}

/// One event as the collector sees it, from either reader.
struct Ev<'a> {
    ph: u8,
    name: Option<Cow<'a, str>>,
    py_spy: bool,
    ts: Option<f64>,
    /// `dur`, else `tdur`.
    dur: Option<f64>,
    pid: i64,
    tid: i64,
    file: Option<Cow<'a, str>>,
    line: Option<f64>,
    /// `args.name` (the value of `M` events).
    meta_name: Option<Cow<'a, str>>,
}

impl<'a> Ev<'a> {
    fn from_flat(f: FlatEvent<'a>) -> Self {
        Ev {
            ph: f.ph.and_then(|p| p.bytes().next()).unwrap_or(0),
            name: f.name.map(Cow::Borrowed),
            py_spy: f.cat == Some("py-spy"),
            ts: f.ts,
            dur: f.dur.or(f.tdur),
            pid: f.pid.unwrap_or(0),
            tid: f.tid.unwrap_or(0),
            file: None,
            line: None,
            meta_name: None,
        }
    }

    fn from_raw(r: RawEvent<'a>) -> Self {
        Ev {
            ph: r
                .ph
                .0
                .as_deref()
                .and_then(|p| p.bytes().next())
                .unwrap_or(0),
            name: r.name.0,
            py_spy: r.cat.0.as_deref() == Some("py-spy"),
            ts: r.ts.and_then(Num::finite),
            dur: r
                .dur
                .and_then(Num::finite)
                .or_else(|| r.tdur.and_then(Num::finite)),
            pid: id_of(&r.pid),
            tid: id_of(&r.tid),
            file: r.args.file,
            line: r.args.line,
            meta_name: r.args.name,
        }
    }
}

/// What the object form carried besides the events.
#[derive(Default)]
struct Extras<'a> {
    viztracer: Option<serde_json::Value>,
    other_data: Option<serde_json::Value>,
    samples: Vec<RawSample>,
    stack_frames: Option<StackFrames<'a>>,
}

/// How much of an import runs on several threads. `Default` is what imports use; tests force each path and
/// check that the result is the sequential one.
#[derive(Clone, Debug)]
pub struct Parallelism {
    /// How the event array is split for scanning.
    pub scan: Plan,
    /// Threads that build the trace threads' spans (1: the calling thread only)...
    pub build_workers: usize,
    /// ...when the trace has at least this many duration events.
    pub build_min_events: usize,
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism {
            scan: Plan::default(),
            build_workers: trace_split::workers(),
            build_min_events: 100_000,
        }
    }
}

impl Parallelism {
    pub fn sequential() -> Self {
        Parallelism { scan: Plan::sequential(), build_workers: 1, build_min_events: usize::MAX }
    }
}

pub fn import(input: &Input, job: &Job) -> Result<Profile, ImportError> {
    import_with(input, job, &Parallelism::default())
}

pub fn import_with(input: &Input, job: &Job, parallel: &Parallelism) -> Result<Profile, ImportError> {
    let bytes = input.bytes;
    let mut c = Collector::default();
    let mut extras = Extras::default();
    let start = skip_ws(
        bytes,
        bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).map_or(0, |_| 3),
    );
    match bytes.get(start) {
        Some(b'[') => {
            scan_events(bytes, start, &mut c, job, &parallel.scan)?;
        }
        Some(b'{') => scan_object(bytes, start, &mut c, &mut extras, job, &parallel.scan)?,
        _ => {
            return Err(ImportError::parse(
                FORMAT,
                "expected a JSON array of trace events or an object with \"traceEvents\"",
                Location::Byte(start as u64),
            ))
        }
    }
    job.check()?;
    build_profile(input, c, extras, parallel)
}

/// Reads the array at `pos` (which holds `[`). Returns the offset after `]`, or None when the input ends first:
/// Chrome writes traces incrementally and accepts a missing `]` or a trailing comma, so we do too. A big array is
/// scanned in parts on several threads (see `trace_split`), with the same result.
fn scan_events<'a>(
    bytes: &'a [u8],
    pos: usize,
    c: &mut Collector<'a>,
    job: &Job,
    plan: &Plan,
) -> Result<Option<usize>, ImportError> {
    let first = pos + 1;
    let starts = plan.starts(bytes, first);
    trace_split::scan_in_parts(
        first,
        &starts,
        c,
        Collector::default,
        |c, part| scan_part(bytes, c, part, job),
        Collector::absorb,
    )
}

/// Scans the elements from `part.start` until the array ends or, at the start of an element, `part.stop`.
fn scan_part<'a>(
    bytes: &'a [u8],
    c: &mut Collector<'a>,
    part: &mut Part,
    job: &Job,
) -> Result<PartEnd, ImportError> {
    let mut pos = part.start;
    let mut count = 0usize;
    loop {
        pos = skip_ws(bytes, pos);
        if let Some(stop) = part.stop {
            if pos == stop {
                return Ok(PartEnd::AtNext);
            }
            if pos > stop {
                part.passed_stop();
            }
        }
        match bytes.get(pos) {
            None => return Ok(PartEnd::Array(None)),
            Some(b']') => return Ok(PartEnd::Array(Some(pos + 1))),
            _ => {}
        }
        let next = match trace_scan::scan_flat_event(bytes, pos) {
            Some((flat, next)) => {
                c.add(Ev::from_flat(flat));
                next
            }
            None => {
                let (raw, next) = parse_one::<RawEvent>(bytes, pos)
                    .map_err(|e| json_error(FORMAT, bytes, pos, &e, "a trace event"))?;
                c.add(Ev::from_raw(raw));
                next
            }
        };
        pos = skip_ws(bytes, next);
        match bytes.get(pos) {
            None => return Ok(PartEnd::Array(None)),
            Some(b',') => pos += 1,
            Some(b']') => return Ok(PartEnd::Array(Some(pos + 1))),
            Some(_) => {
                return Err(ImportError::parse(
                    FORMAT,
                    "expected ',' or ']' after a trace event",
                    Location::Byte(pos as u64),
                ))
            }
        }
        count += 1;
        if count.is_multiple_of(CHECK_EVERY) {
            job.check()?;
            if part.abandoned() {
                return Ok(PartEnd::Abandoned);
            }
            part.report(pos, job);
        }
    }
}

/// Walks the top-level object, streaming `traceEvents` and `samples` and skipping bulky members (VizTracer's
/// `file_info` holds whole source files) without building them.
fn scan_object<'a>(
    bytes: &'a [u8],
    start: usize,
    c: &mut Collector<'a>,
    extras: &mut Extras<'a>,
    job: &Job,
    plan: &Plan,
) -> Result<(), ImportError> {
    let mut pos = skip_ws(bytes, start + 1);
    if bytes.get(pos) == Some(&b'}') {
        return Ok(());
    }
    loop {
        let (LaxStr(key), next) = parse_one::<LaxStr>(bytes, pos)
            .map_err(|e| json_error(FORMAT, bytes, pos, &e, "a member name"))?;
        pos = skip_ws(bytes, next);
        if bytes.get(pos) != Some(&b':') {
            return Err(ImportError::parse(
                FORMAT,
                "expected ':' after a member name",
                Location::Byte(pos as u64),
            ));
        }
        pos = skip_ws(bytes, pos + 1);
        let key = key.unwrap_or_default();
        let value_end = match key.as_ref() {
            "traceEvents" if bytes.get(pos) == Some(&b'[') => {
                match scan_events(bytes, pos, c, job, plan)? {
                    Some(end) => end,
                    // A trace cut off inside traceEvents: keep what was read, like the array form.
                    None => return Ok(()),
                }
            }
            "samples" if bytes.get(pos) == Some(&b'[') => {
                let (v, end) = parse_one::<Vec<RawSample>>(bytes, pos)
                    .map_err(|e| json_error(FORMAT, bytes, pos, &e, "the samples array"))?;
                extras.samples = v;
                end
            }
            "stackFrames" => {
                let (v, end) = parse_one::<StackFrames>(bytes, pos)
                    .map_err(|e| json_error(FORMAT, bytes, pos, &e, "the stackFrames object"))?;
                extras.stack_frames = Some(v);
                end
            }
            "viztracer_metadata" | "otherData" => {
                let (v, end) = parse_one::<serde_json::Value>(bytes, pos)
                    .map_err(|e| json_error(FORMAT, bytes, pos, &e, "the trace metadata"))?;
                if key == "otherData" {
                    extras.other_data = Some(v);
                } else {
                    extras.viztracer = Some(v);
                }
                end
            }
            "file_info" => {
                // Its presence marks VizTracer even when viztracer_metadata is missing.
                extras.viztracer.get_or_insert(serde_json::Value::Null);
                skip_value(bytes, pos)?
            }
            _ => skip_value(bytes, pos)?,
        };
        pos = skip_ws(bytes, value_end);
        match bytes.get(pos) {
            Some(b',') => pos = skip_ws(bytes, pos + 1),
            Some(b'}') => return Ok(()),
            // Truncated after a complete member: as forgiving as a truncated array.
            None if !c.thread_list.is_empty() => return Ok(()),
            _ => {
                return Err(ImportError::parse(
                    FORMAT,
                    "expected ',' or '}' in the trace object",
                    Location::Byte(pos as u64),
                ))
            }
        }
    }
}

fn skip_value(bytes: &[u8], pos: usize) -> Result<usize, ImportError> {
    parse_one::<IgnoredAny>(bytes, pos)
        .map(|(_, end)| end)
        .map_err(|e| json_error(FORMAT, bytes, pos, &e, "a member"))
}

fn build_profile(input: &Input, c: Collector, extras: Extras, parallel: &Parallelism) -> Result<Profile, ImportError> {
    let is_viztracer = extras.viztracer.is_some();
    let format = if is_viztracer {
        "viztracer"
    } else if c.py_spy {
        "py-spy-chrome"
    } else {
        FORMAT
    };
    let mut b = ProfileBuilder::new();
    let frames: Vec<FrameIndex> = c
        .key_list
        .iter()
        .map(|&(name, file, line)| {
            let name = c.name_list[name as usize].as_ref();
            if file > 0 {
                let file = c.name_list[(file - 1) as usize].as_ref();
                return b.frame(name, Some(file), line);
            }
            match split_located_name(name) {
                (func, Some(file), line) => b.frame(func, Some(file), line),
                // VizTracer logs C functions as `module.func` with no location.
                (func, None, _) if is_viztracer => {
                    b.frame_with_kind(func, None, 0, FrameKind::Native)
                }
                (func, None, _) => b.frame(func, None, 0),
            }
        })
        .collect();

    let multi_process = {
        let mut pids: Vec<i64> = c.thread_list.iter().map(|t| t.pid).collect();
        pids.extend(extras.samples.iter().map(|s| id_of(&s.pid)));
        pids.sort_unstable();
        pids.dedup();
        pids.len() > 1
    };
    let name_thread = |pid: i64, tid: i64| -> String {
        let process = c.process_names.get(&pid);
        match (c.thread_names.get(&(pid, tid)), process) {
            (Some(t), Some(p)) if multi_process => format!("{t} ({p})"),
            (Some(t), None) if multi_process => format!("{t} (pid {pid})"),
            (Some(t), _) => t.clone(),
            (None, Some(p)) => format!("{p} / tid {tid}"),
            (None, None) => format!("pid {pid} / tid {tid}"),
        }
    };

    let sampled_min = trace_samples::min_ts(&extras.samples);
    let t0 = match (c.events > 0, sampled_min) {
        (true, Some(s)) => c.min_ts.min(s),
        (true, None) => c.min_ts,
        (false, Some(s)) => s,
        (false, None) => {
            return Err(ImportError::parse(
                format,
                "the trace has no duration events (B/E/X) or samples to show",
                Location::Unknown,
            ))
        }
    };

    let named: Vec<(ThreadEvents, String)> = c
        .thread_list
        .into_iter()
        .map(|te| {
            let name = name_thread(te.pid, te.tid);
            (te, name)
        })
        .collect();
    let workers = if c.events >= parallel.build_min_events { parallel.build_workers } else { 1 };
    let mut threads: Vec<Thread> = trace_order::build_threads(&mut b, &frames, named, t0, workers);
    if let Some(sf) = &extras.stack_frames {
        for st in trace_samples::build_threads(&mut b, sf, &extras.samples, t0, &name_thread) {
            // A thread with both spans and samples stays one thread.
            match threads
                .iter_mut()
                .find(|t| (t.pid, t.tid) == (st.pid, st.tid))
            {
                Some(t) => t.samples = st.samples,
                None => threads.push(st),
            }
        }
    }
    threads.sort_by_key(|t| (t.pid, t.tid));

    let mut p = b.finish(format, "", WeightUnit::Microseconds, threads);
    p.start_ns = t0 * 1e3;
    if !input.name.is_empty() {
        p.name = input.name.to_owned();
    }
    p.meta = collect_meta(format, &extras);
    Ok(p)
}

fn collect_meta(format: &str, extras: &Extras) -> Vec<(String, String)> {
    let mut meta = vec![("tool".to_owned(), format.to_owned())];
    let flatten = |meta: &mut Vec<(String, String)>, prefix: &str, v: &serde_json::Value| {
        if let Some(obj) = v.as_object() {
            for (k, v) in obj {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                meta.push((format!("{prefix}{k}"), text));
            }
        }
    };
    // py-spy writes the running line into its names; VizTracer and the other tracers name where a function starts.
    if format != "py-spy-chrome" {
        meta.push(definition_lines_meta());
    }
    if let Some(v) = &extras.viztracer {
        flatten(&mut meta, "viztracer.", v);
        if v.get("overflow").and_then(serde_json::Value::as_bool) == Some(true) {
            meta.push((
                "warning.overflow".to_owned(),
                "VizTracer's buffer overflowed while recording (viztracer_metadata.overflow): the oldest calls were \
                 overwritten, so the trace starts late and early totals are low; record again with a larger \
                 --tracer_entries"
                    .to_owned(),
            ));
        }
        if let Some(version) = v.get("version").and_then(|v| v.as_str()) {
            meta.push(("version".to_owned(), version.to_owned()));
        }
    }
    if let Some(v) = &extras.other_data {
        flatten(&mut meta, "", v);
    }
    meta.sort();
    meta.dedup_by(|a, b| a.0 == b.0);
    meta
}
