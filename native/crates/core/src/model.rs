//! The columnar profile model. Mirrors `electron/contract/profile.ts` field by field; that file's comments are the
//! format spec. Tables are struct-of-arrays; indexes are `u32` with `-1` (as `i32`) sentinels where documented.

use std::collections::HashMap;

use crate::import::json_util::FxBuild;

pub type StringIndex = u32;
pub type FrameIndex = u32;
/// `-1` means "no stack" where an `i32` is used.
pub type StackIndex = u32;

pub const PROFILE_VERSION: u32 = 1;

/// Where a frame's code comes from; drives colour groups. Values match `FrameKind` in profile.ts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    User = 0,
    Stdlib = 1,
    ThirdParty = 2,
    Native = 3,
    Other = 4,
    Idle = 5,
}

impl FrameKind {
    /// Classifies a frame by its file path and name. Python files under site/dist-packages are third-party; other
    /// files under a `lib/pythonX.Y` directory, and `<frozen ...>` modules, are the standard library; shared objects
    /// and `<native>`-like files are native; any other `.py` is the user's own code.
    pub fn classify(func: &str, file: Option<&str>) -> FrameKind {
        let lower_func = func;
        if lower_func == "<idle>" || lower_func == "(idle)" {
            return FrameKind::Idle;
        }
        let Some(file) = file.filter(|f| !f.is_empty()) else {
            return FrameKind::Other;
        };
        if file.contains("site-packages") || file.contains("dist-packages") {
            return FrameKind::ThirdParty;
        }
        if file.starts_with("<frozen") {
            return FrameKind::Stdlib;
        }
        let is_py = file.ends_with(".py") || file.ends_with(".pyx") || file.ends_with(".pyi");
        if is_py {
            if is_stdlib_path(file) {
                return FrameKind::Stdlib;
            }
            return FrameKind::User;
        }
        if file.ends_with(".so")
            || file.contains(".so.")
            || file.ends_with(".dylib")
            || file.ends_with(".dll")
            || file.ends_with(".pyd")
            || file.ends_with(".c")
            || file.ends_with(".cc")
            || file.ends_with(".cpp")
            || file.ends_with(".h")
            || file.ends_with(".rs")
            || file.starts_with("[")
            || file.starts_with("<built-in")
        {
            return FrameKind::Native;
        }
        if file.starts_with('<') {
            // `<string>`, `<stdin>`, `<module>`-style pseudo files are code the user ran.
            return FrameKind::User;
        }
        FrameKind::Other
    }
}

fn is_stdlib_path(file: &str) -> bool {
    // .../lib/python3.11/json/decoder.py, C:\Python311\Lib\json\decoder.py
    let f = file.replace('\\', "/");
    if let Some(pos) = f.find("/lib/python") {
        let rest = &f[pos + "/lib/python".len()..];
        return rest.chars().next().is_some_and(|c| c.is_ascii_digit());
    }
    f.contains("/Lib/")
}

/// Unit of weights and of function self/total figures. Sample times and span bounds are always ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightUnit {
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Bytes,
    Samples,
    None,
}

impl WeightUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            WeightUnit::Nanoseconds => "nanoseconds",
            WeightUnit::Microseconds => "microseconds",
            WeightUnit::Milliseconds => "milliseconds",
            WeightUnit::Seconds => "seconds",
            WeightUnit::Bytes => "bytes",
            WeightUnit::Samples => "samples",
            WeightUnit::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<WeightUnit> {
        Some(match s {
            "nanoseconds" => WeightUnit::Nanoseconds,
            "microseconds" => WeightUnit::Microseconds,
            "milliseconds" => WeightUnit::Milliseconds,
            "seconds" => WeightUnit::Seconds,
            "bytes" => WeightUnit::Bytes,
            "samples" => WeightUnit::Samples,
            "none" => WeightUnit::None,
            _ => return None,
        })
    }

    /// Nanoseconds in one unit, or `None` when the unit is not a time.
    pub fn ns_per_unit(self) -> Option<f64> {
        match self {
            WeightUnit::Nanoseconds => Some(1.0),
            WeightUnit::Microseconds => Some(1e3),
            WeightUnit::Milliseconds => Some(1e6),
            WeightUnit::Seconds => Some(1e9),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameTable {
    pub func: Vec<StringIndex>,
    /// `-1` when unknown.
    pub file: Vec<i32>,
    /// 1-based; 0 when unknown.
    pub line: Vec<u32>,
    pub kind: Vec<u8>,
}

impl FrameTable {
    pub fn len(&self) -> usize {
        self.func.len()
    }
    pub fn is_empty(&self) -> bool {
        self.func.is_empty()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackTable {
    /// `-1` for root stacks; always smaller than the row's own index.
    pub prefix: Vec<i32>,
    pub frame: Vec<FrameIndex>,
}

impl StackTable {
    pub fn len(&self) -> usize {
        self.frame.len()
    }
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SampleTable {
    /// `-1` for an empty stack.
    pub stack: Vec<i32>,
    /// ns since `Profile::start_ns`, non-decreasing.
    pub time: Vec<f64>,
    /// In `Profile::unit`.
    pub weight: Vec<f64>,
}

impl SampleTable {
    pub fn len(&self) -> usize {
        self.stack.len()
    }
    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }
}

/// One row per call, in start order (ties: outer first).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanTable {
    pub stack: Vec<StackIndex>,
    pub frame: Vec<FrameIndex>,
    /// ns since `Profile::start_ns`.
    pub start: Vec<f64>,
    pub end: Vec<f64>,
    /// 0 for a root call.
    pub depth: Vec<u16>,
}

impl SpanTable {
    pub fn len(&self) -> usize {
        self.frame.len()
    }
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }

    /// The span rule for self time, in one walk: each span gives `add(its stack, +duration)` and, when it has a
    /// parent, `add(the parent's stack, -duration)`, durations divided by `ns_per_unit`, in span order. A stack's
    /// sum is then its self weight: duration minus direct children's. A depth that skips a level is clamped to the
    /// open stack, as `renderer/src/model/spans.ts` does. No per-span buffer: a trace has millions of spans.
    pub fn for_each_self_weight(&self, ns_per_unit: f64, mut add: impl FnMut(StackIndex, f64)) {
        let mut open: Vec<StackIndex> = Vec::new();
        for i in 0..self.len() {
            open.truncate(self.depth[i] as usize);
            let dur = (self.end[i] - self.start[i]).max(0.0) / ns_per_unit;
            add(self.stack[i], dur);
            if let Some(&parent) = open.last() {
                add(parent, -dur);
            }
            open.push(self.stack[i]);
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Thread {
    pub name: String,
    pub pid: i64,
    pub tid: i64,
    pub samples: SampleTable,
    pub spans: SpanTable,
    /// How many samples the profiler took on this thread, when neither the sample rows nor their weights say it:
    /// pprof read by a time or byte type whose file also has a count type. `None`: see `Thread::sample_count`.
    pub counted_samples: Option<u64>,
}

impl Thread {
    /// The number of samples the profiler took (`threads[].samples` of the summary): `counted_samples` when the
    /// importer knows it; the summed weights when the unit is samples (folded stacks and py-spy raw aggregate
    /// identical stacks into one line with a count); otherwise one per sample row.
    pub fn sample_count(&self, unit: WeightUnit) -> u64 {
        if let Some(n) = self.counted_samples {
            return n;
        }
        if unit == WeightUnit::Samples {
            return self.samples.weight.iter().sum::<f64>().round().max(0.0) as u64;
        }
        self.samples.len() as u64
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallGraphFunctions {
    pub frame: Vec<FrameIndex>,
    pub primitive_calls: Vec<f64>,
    pub total_calls: Vec<f64>,
    pub self_: Vec<f64>,
    pub total: Vec<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallGraphEdges {
    pub caller: Vec<FrameIndex>,
    pub callee: Vec<FrameIndex>,
    pub calls: Vec<f64>,
    pub self_: Vec<f64>,
    pub total: Vec<f64>,
}

/// cProfile/pstats: exact per-function figures and caller edges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallGraph {
    pub functions: CallGraphFunctions,
    pub edges: CallGraphEdges,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub version: u32,
    pub format: String,
    pub name: String,
    pub unit: WeightUnit,
    pub has_timeline: bool,
    pub start_ns: f64,
    pub duration_ns: f64,
    pub strings: Vec<String>,
    pub frames: FrameTable,
    pub stacks: StackTable,
    pub threads: Vec<Thread>,
    pub call_graph: Option<CallGraph>,
    /// Sorted for stable output. Two kinds of key have a meaning beyond display: `warning.*` (what the file says
    /// went wrong while it was recorded; the summary's `warnings`) and `frame_lines` (`FRAME_LINES_DEFINITION`).
    pub meta: Vec<(String, String)>,
}

/// `meta["frame_lines"]` when every frame's line is its function's definition line (pstats, exact mode, V8 and
/// trace-event files), not the line running when sampled (py-spy, Austin). Functions are then keyed by
/// (name, file, line), as pstats keys them, so two `<genexpr>`s in one file stay two functions.
pub const FRAME_LINES_DEFINITION: &str = "definition";

/// The meta entry an importer adds when its format's frame lines are definition lines (see above).
pub fn definition_lines_meta() -> (String, String) {
    ("frame_lines".to_owned(), FRAME_LINES_DEFINITION.to_owned())
}

impl Profile {
    /// True when functions are (name, file, line) rather than (name, file): see `FRAME_LINES_DEFINITION`.
    pub fn lines_are_definitions(&self) -> bool {
        let (key, value) = definition_lines_meta();
        self.meta.iter().any(|(k, v)| *k == key && *v == value)
    }

    /// The `warning.*` meta values, in key order.
    pub fn warnings(&self) -> Vec<String> {
        self.meta.iter().filter(|(k, _)| k.starts_with("warning.")).map(|(_, v)| v.clone()).collect()
    }

    pub fn frame_name(&self, frame: FrameIndex) -> &str {
        &self.strings[self.frames.func[frame as usize] as usize]
    }
    pub fn frame_file(&self, frame: FrameIndex) -> Option<&str> {
        let f = self.frames.file[frame as usize];
        (f >= 0).then(|| self.strings[f as usize].as_str())
    }
    /// Frames of a stack, root first.
    pub fn stack_frames(&self, stack: i32) -> Vec<FrameIndex> {
        let mut out = Vec::new();
        let mut s = stack;
        while s >= 0 {
            out.push(self.stacks.frame[s as usize]);
            s = self.stacks.prefix[s as usize];
        }
        out.reverse();
        out
    }
}

/// Interns strings, frames and stacks. Every importer builds through this, so equal things share one index.
#[derive(Default)]
pub struct ProfileBuilder {
    pub strings: Vec<String>,
    // FxHash: these maps are hit once per event/sample on import; SipHash was a large share of import time.
    string_index: HashMap<String, StringIndex, FxBuild>,
    pub frames: FrameTable,
    frame_index: HashMap<(StringIndex, i32, u32), FrameIndex, FxBuild>,
    pub stacks: StackTable,
    stack_index: HashMap<(i32, FrameIndex), StackIndex, FxBuild>,
}

impl ProfileBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn intern(&mut self, s: &str) -> StringIndex {
        if let Some(&i) = self.string_index.get(s) {
            return i;
        }
        let i = self.strings.len() as StringIndex;
        self.strings.push(s.to_owned());
        self.string_index.insert(s.to_owned(), i);
        i
    }

    /// Frame for (function, file, line). Kind is classified from the name and file.
    pub fn frame(&mut self, func: &str, file: Option<&str>, line: u32) -> FrameIndex {
        // Classifying allocates and scans the path: do it only for a frame not seen before (the sampler and the
        // importers ask for the same frames over and over).
        self.frame_with(func, file, line, || FrameKind::classify(func, file))
    }

    pub fn frame_with_kind(&mut self, func: &str, file: Option<&str>, line: u32, kind: FrameKind) -> FrameIndex {
        self.frame_with(func, file, line, || kind)
    }

    fn frame_with(&mut self, func: &str, file: Option<&str>, line: u32, kind: impl FnOnce() -> FrameKind) -> FrameIndex {
        let func_i = self.intern(func);
        let file_i = match file {
            Some(f) if !f.is_empty() => self.intern(f) as i32,
            _ => -1,
        };
        let key = (func_i, file_i, line);
        if let Some(&i) = self.frame_index.get(&key) {
            return i;
        }
        let i = self.frames.func.len() as FrameIndex;
        self.frames.func.push(func_i);
        self.frames.file.push(file_i);
        self.frames.line.push(line);
        self.frames.kind.push(kind() as u8);
        self.frame_index.insert(key, i);
        i
    }

    /// The stack `prefix` + `frame` (`prefix` -1 for a root).
    pub fn stack(&mut self, prefix: i32, frame: FrameIndex) -> StackIndex {
        if let Some(&i) = self.stack_index.get(&(prefix, frame)) {
            return i;
        }
        let i = self.stacks.frame.len() as StackIndex;
        self.stacks.prefix.push(prefix);
        self.stacks.frame.push(frame);
        self.stack_index.insert((prefix, frame), i);
        i
    }

    /// The stack for frames listed root first; -1 for an empty list.
    pub fn stack_of(&mut self, frames_root_first: &[FrameIndex]) -> i32 {
        let mut s: i32 = -1;
        for &f in frames_root_first {
            s = self.stack(s, f) as i32;
        }
        s
    }

    pub fn finish(self, format: &str, name: &str, unit: WeightUnit, threads: Vec<Thread>) -> Profile {
        let mut p = Profile {
            version: PROFILE_VERSION,
            format: format.to_owned(),
            name: name.to_owned(),
            unit,
            has_timeline: true,
            start_ns: 0.0,
            duration_ns: 0.0,
            strings: self.strings,
            frames: self.frames,
            stacks: self.stacks,
            threads,
            call_graph: None,
            meta: Vec::new(),
        };
        p.duration_ns = compute_duration(&p);
        p
    }
}

/// Latest end of any span or sample time (sample times are starts; the last sample's own weight is added when the
/// unit is a time).
pub fn compute_duration(p: &Profile) -> f64 {
    let mut d: f64 = 0.0;
    let ns = p.unit.ns_per_unit();
    for t in &p.threads {
        if let Some(&e) = t.spans.end.iter().max_by(|a, b| a.total_cmp(b)) {
            d = d.max(e);
        }
        if let (Some(&last_t), Some(&last_w)) = (t.samples.time.last(), t.samples.weight.last()) {
            d = d.max(last_t + ns.map_or(0.0, |k| last_w * k));
        }
    }
    d
}

/// Builds an evented thread from enter/leave events (any order of nesting errors is reported by the importer).
pub struct EventedThreadBuilder {
    pub thread: Thread,
    open: Vec<(usize, StackIndex)>, // (row in spans, stack)
}

impl EventedThreadBuilder {
    pub fn new(name: &str, pid: i64, tid: i64) -> Self {
        EventedThreadBuilder {
            thread: Thread { name: name.to_owned(), pid, tid, ..Default::default() },
            open: Vec::new(),
        }
    }

    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// Frame on top of the open-call stack.
    pub fn top_frame(&self) -> Option<FrameIndex> {
        self.open.last().map(|&(row, _)| self.thread.spans.frame[row])
    }

    pub fn enter(&mut self, b: &mut ProfileBuilder, frame: FrameIndex, at_ns: f64) {
        let prefix = self.open.last().map_or(-1, |&(_, s)| s as i32);
        let stack = b.stack(prefix, frame);
        let row = self.thread.spans.frame.len();
        let spans = &mut self.thread.spans;
        spans.stack.push(stack);
        spans.frame.push(frame);
        spans.start.push(at_ns);
        spans.end.push(at_ns);
        spans.depth.push(self.open.len().min(u16::MAX as usize) as u16);
        self.open.push((row, stack));
    }

    /// Closes the innermost open call. Returns its frame, or None when nothing is open.
    pub fn leave(&mut self, at_ns: f64) -> Option<FrameIndex> {
        let (row, _) = self.open.pop()?;
        let start = self.thread.spans.start[row];
        self.thread.spans.end[row] = at_ns.max(start);
        Some(self.thread.spans.frame[row])
    }

    /// Closes every open call at `at_ns` (for truncated traces) and returns the thread.
    pub fn finish(mut self, at_ns: f64) -> Thread {
        while self.leave(at_ns).is_some() {}
        self.thread
    }
}

/// Appends samples, interning their stacks.
pub struct SampledThreadBuilder {
    pub thread: Thread,
}

impl SampledThreadBuilder {
    pub fn new(name: &str, pid: i64, tid: i64) -> Self {
        SampledThreadBuilder { thread: Thread { name: name.to_owned(), pid, tid, ..Default::default() } }
    }

    pub fn append(&mut self, stack: i32, time_ns: f64, weight: f64) {
        let s = &mut self.thread.samples;
        s.stack.push(stack);
        s.time.push(time_ns);
        s.weight.push(weight);
    }

    pub fn finish(self) -> Thread {
        self.thread
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_origins() {
        assert_eq!(FrameKind::classify("f", Some("/home/u/app/main.py")), FrameKind::User);
        assert_eq!(FrameKind::classify("f", Some("/usr/lib/python3.11/json/decoder.py")), FrameKind::Stdlib);
        assert_eq!(
            FrameKind::classify("f", Some("/usr/lib/python3.11/site-packages/numpy/core.py")),
            FrameKind::ThirdParty
        );
        assert_eq!(FrameKind::classify("f", Some("<frozen importlib._bootstrap>")), FrameKind::Stdlib);
        assert_eq!(FrameKind::classify("memcpy", Some("libc.so.6")), FrameKind::Native);
        assert_eq!(FrameKind::classify("main", None), FrameKind::Other);
    }

    #[test]
    fn interns_frames_and_stacks() {
        let mut b = ProfileBuilder::new();
        let a = b.frame("a", Some("x.py"), 1);
        let a2 = b.frame("a", Some("x.py"), 1);
        let c = b.frame("c", Some("x.py"), 2);
        assert_eq!(a, a2);
        let s1 = b.stack_of(&[a, c]);
        let s2 = b.stack_of(&[a, c]);
        assert_eq!(s1, s2);
        let root = b.stack_of(&[a]);
        assert_eq!(b.stacks.prefix[s1 as usize], root);
    }
}
