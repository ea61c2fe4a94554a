//! Chrome Trace Event JSON, object form (`{"traceEvents": [...]}`), which Perfetto and chrome://tracing open.
//! Spans become complete (`X`) events; `M` events name processes and threads.
//!
//! Sampled threads become `X` events too, like speedscope's time-order view: consecutive samples that share a
//! stack prefix merge into one event per frame. Samples are laid end to end by weight from the thread's first
//! sample time, so each event's duration is exactly the weight it stands for (a timestamp gap between samples
//! would otherwise be charged to whatever was on the stack). Non-time units (samples, bytes) are drawn as if one
//! unit were one millisecond, so the trace is readable; `otherData.unit` says so.

use std::collections::HashSet;
use std::io::{BufWriter, Write};

use crate::export::speedscope::json_num;
use crate::export::{write_json_str, Exporter};
use crate::model::{FrameIndex, Profile, Thread};

pub struct ChromeExporter;

/// Nanoseconds one weight unit is drawn as, for units that are not times.
const NS_PER_NON_TIME_UNIT: f64 = 1e6;

struct EventWriter<'w, W: Write> {
    w: &'w mut W,
    first: bool,
}

impl<W: Write> EventWriter<'_, W> {
    fn sep(&mut self) -> std::io::Result<()> {
        if !self.first {
            self.w.write_all(b",\n")?;
        }
        self.first = false;
        Ok(())
    }

    fn metadata(&mut self, kind: &str, pid: i64, tid: i64, name: &str) -> std::io::Result<()> {
        self.sep()?;
        write!(self.w, "{{\"ph\":\"M\",\"name\":\"{kind}\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":")?;
        write_json_str(self.w, name)?;
        self.w.write_all(b"}}")
    }

    /// A complete event; times in ns, written as µs.
    fn complete(&mut self, p: &Profile, frame: FrameIndex, pid: i64, tid: i64, start_ns: f64, end_ns: f64) -> std::io::Result<()> {
        self.sep()?;
        self.w.write_all(b"{\"ph\":\"X\",\"name\":")?;
        write_json_str(self.w, p.frame_name(frame))?;
        write!(
            self.w,
            ",\"cat\":\"{}\",\"pid\":{pid},\"tid\":{tid},\"ts\":{},\"dur\":{}",
            p.format.replace('"', ""),
            json_num(start_ns / 1e3),
            json_num((end_ns - start_ns).max(0.0) / 1e3)
        )?;
        let file = p.frame_file(frame);
        let line = p.frames.line[frame as usize];
        if file.is_some() || line > 0 {
            self.w.write_all(b",\"args\":{")?;
            if let Some(file) = file {
                self.w.write_all(b"\"file\":")?;
                write_json_str(self.w, file)?;
                if line > 0 {
                    self.w.write_all(b",")?;
                }
            }
            if line > 0 {
                write!(self.w, "\"line\":{line}")?;
            }
            self.w.write_all(b"}")?;
        }
        self.w.write_all(b"}")
    }
}

impl Exporter for ChromeExporter {
    fn write(&self, profile: &Profile, out: &mut dyn Write) -> std::io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 16, out);
        w.write_all(b"{\"traceEvents\":[\n")?;
        let mut ev = EventWriter { w: &mut w, first: true };
        // Two threads of ours may share (pid, tid) (e.g. imported files without ids); Perfetto would merge them.
        let mut used: HashSet<(i64, i64)> = HashSet::new();
        let mut named_pids: HashSet<i64> = HashSet::new();
        for (i, t) in profile.threads.iter().enumerate() {
            let pid = t.pid;
            let mut tid = t.tid;
            while !used.insert((pid, tid)) {
                tid = tid.wrapping_add(1_000_000 + i as i64);
            }
            if named_pids.insert(pid) {
                ev.metadata("process_name", pid, tid, &format!("{} (pid {pid})", profile.name))?;
            }
            ev.metadata("thread_name", pid, tid, &t.name)?;
            for s in 0..t.spans.len() {
                ev.complete(profile, t.spans.frame[s], pid, tid, t.spans.start[s], t.spans.end[s])?;
            }
            write_sample_events(&mut ev, profile, t, pid, tid)?;
        }
        w.write_all(b"\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"emberscope\",\"format\":")?;
        write_json_str(&mut w, &profile.format)?;
        w.write_all(b",\"unit\":")?;
        let unit = match profile.unit.ns_per_unit() {
            Some(_) => profile.unit.as_str().to_owned(),
            None => format!("{} (drawn as 1 ms each)", profile.unit.as_str()),
        };
        write_json_str(&mut w, &unit)?;
        w.write_all(b"}}\n")?;
        w.flush()
    }
}

fn write_sample_events<W: Write>(ev: &mut EventWriter<W>, p: &Profile, t: &Thread, pid: i64, tid: i64) -> std::io::Result<()> {
    let scale = p.unit.ns_per_unit().unwrap_or(NS_PER_NON_TIME_UNIT);
    let mut clock = t.samples.time.first().copied().unwrap_or(0.0);
    // Open frames, root first, with their start times; closed ones become (start, depth, end, frame).
    let mut open: Vec<(FrameIndex, f64)> = Vec::new();
    let mut closed: Vec<(f64, usize, f64, FrameIndex)> = Vec::new();
    for (&stack, &weight) in t.samples.stack.iter().zip(&t.samples.weight) {
        if weight <= 0.0 {
            continue;
        }
        let frames = p.stack_frames(stack);
        let common = open.iter().zip(&frames).take_while(|((a, _), b)| a == *b).count();
        while open.len() > common {
            let (f, start) = open.pop().unwrap_or_default();
            closed.push((start, open.len(), clock, f));
        }
        open.extend(frames[common..].iter().map(|&f| (f, clock)));
        clock += weight * scale;
    }
    while let Some((f, start)) = open.pop() {
        closed.push((start, open.len(), clock, f));
    }
    // Frames close innermost first, but readers (and the spec's advice) want parents before children: sort by
    // start, then depth, so a parent and a child starting together nest the right way.
    closed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (start, _, end, f) in closed {
        ev.complete(p, f, pid, tid, start, end)?;
    }
    Ok(())
}
