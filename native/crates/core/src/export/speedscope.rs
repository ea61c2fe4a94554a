//! speedscope's file format (https://www.speedscope.app/file-format-schema.json). Sampled threads become
//! "sampled" profiles, span threads "evented" profiles with O/C events; frames are shared, index for index with
//! our frame table. Streams through a BufWriter: no whole-file String is built.
//!
//! What does not survive: pstats call graphs (only the synthesized stacks are written) and thread pid/tid. Sample
//! times, the unit "samples" (speedscope says "none") and the duration go in keys of our own that speedscope
//! ignores and our importer reads (`emberscope`, `emberscopeTimesNs`).

use std::io::{BufWriter, Write};

use crate::export::{write_json_str, Exporter};
use crate::model::{Profile, Thread, WeightUnit};

pub struct SpeedscopeExporter;

const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

/// speedscope's ValueUnit has no "samples": a count of samples is unitless there.
fn speedscope_unit(unit: WeightUnit) -> &'static str {
    match unit {
        WeightUnit::Samples | WeightUnit::None => "none",
        other => other.as_str(),
    }
}

impl Exporter for SpeedscopeExporter {
    fn write(&self, profile: &Profile, out: &mut dyn Write) -> std::io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 16, out);
        write!(w, "{{\"$schema\":\"{SCHEMA}\",\"exporter\":\"emberscope\",\"name\":")?;
        write_json_str(&mut w, &profile.name)?;
        // What speedscope's schema cannot say, for our own importer (speedscope ignores unknown keys): the real
        // unit ("samples" has no speedscope name), the duration and the start, and whether frame lines are
        // definition lines (functions keyed by line). Sample times go in each profile.
        write!(
            w,
            ",\"emberscope\":{{\"version\":1,\"unit\":\"{}\",\"startNs\":{},\"durationNs\":{}{}}}",
            profile.unit.as_str(),
            json_num(profile.start_ns),
            json_num(profile.duration_ns),
            if profile.lines_are_definitions() { ",\"frameLines\":\"definition\"" } else { "" }
        )?;
        write!(w, ",\"activeProfileIndex\":0,\"shared\":{{\"frames\":[")?;
        for i in 0..profile.frames.len() {
            if i > 0 {
                w.write_all(b",")?;
            }
            w.write_all(b"{\"name\":")?;
            write_json_str(&mut w, profile.frame_name(i as u32))?;
            if let Some(file) = profile.frame_file(i as u32) {
                w.write_all(b",\"file\":")?;
                write_json_str(&mut w, file)?;
            }
            let line = profile.frames.line[i];
            if line > 0 {
                write!(w, ",\"line\":{line}")?;
            }
            w.write_all(b"}")?;
        }
        w.write_all(b"]},\"profiles\":[")?;
        let mut first = true;
        for t in &profile.threads {
            // A thread with neither kind of data still gets a (sampled, empty) profile so thread lists match.
            if !t.samples.is_empty() || t.spans.is_empty() {
                if !first {
                    w.write_all(b",")?;
                }
                first = false;
                write_sampled(&mut w, profile, t)?;
            }
            if !t.spans.is_empty() {
                if !first {
                    w.write_all(b",")?;
                }
                first = false;
                write_evented(&mut w, profile, t)?;
            }
        }
        w.write_all(b"]}\n")?;
        w.flush()
    }
}

fn write_sampled(w: &mut impl Write, p: &Profile, t: &Thread) -> std::io::Result<()> {
    let total: f64 = t.samples.weight.iter().sum();
    w.write_all(b"{\"type\":\"sampled\",\"name\":")?;
    write_json_str(w, &t.name)?;
    write!(w, ",\"unit\":\"{}\",\"startValue\":0,\"endValue\":{},\"samples\":[", speedscope_unit(p.unit), json_num(total))?;
    for (i, &s) in t.samples.stack.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"[")?;
        for (j, f) in p.stack_frames(s).iter().enumerate() {
            if j > 0 {
                w.write_all(b",")?;
            }
            write!(w, "{f}")?;
        }
        w.write_all(b"]")?;
    }
    w.write_all(b"],\"weights\":")?;
    write_numbers(w, &t.samples.weight)?;
    // speedscope lays samples end to end by weight; the real times (ns since the profile's start) keep the timeline.
    if p.has_timeline {
        w.write_all(b",\"emberscopeTimesNs\":")?;
        write_numbers(w, &t.samples.time)?;
    }
    w.write_all(b"}")
}

fn write_numbers(w: &mut impl Write, xs: &[f64]) -> std::io::Result<()> {
    w.write_all(b"[")?;
    for (i, &x) in xs.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(json_num(x).as_bytes())?;
    }
    w.write_all(b"]")
}

/// Spans → O/C events. Span times are ns; they are written in the profile's unit when it is a time.
fn write_evented(w: &mut impl Write, p: &Profile, t: &Thread) -> std::io::Result<()> {
    // A non-time unit keeps its name (so the unit survives a round trip); the values are then plain ns.
    let (unit, per) = match p.unit.ns_per_unit() {
        Some(k) => (p.unit.as_str(), k),
        None => (speedscope_unit(p.unit), 1.0),
    };
    let spans = &t.spans;
    let start = spans.start.first().copied().unwrap_or(0.0);
    let end = spans.end.iter().copied().fold(start, f64::max);
    let name = if t.samples.is_empty() { t.name.clone() } else { format!("{} (spans)", t.name) };
    w.write_all(b"{\"type\":\"evented\",\"name\":")?;
    write_json_str(w, &name)?;
    write!(w, ",\"unit\":\"{unit}\",\"startValue\":{},\"endValue\":{},\"events\":[", json_num(start / per), json_num(end / per))?;
    let mut open: Vec<usize> = Vec::new();
    // speedscope rejects events that go back in time; clamp so a child never closes after its parent.
    let mut last_at = f64::NEG_INFINITY;
    let mut first = true;
    let mut event = |w: &mut dyn Write, kind: char, frame: u32, at: f64| -> std::io::Result<()> {
        let at = at.max(last_at);
        last_at = at;
        let sep = if first { "" } else { "," };
        first = false;
        write!(w, "{sep}{{\"type\":\"{kind}\",\"frame\":{frame},\"at\":{}}}", json_num(at / per))
    };
    for i in 0..spans.len() {
        while open.len() > spans.depth[i] as usize {
            let j = open.pop().unwrap_or_default();
            event(w, 'C', spans.frame[j], spans.end[j])?;
        }
        event(w, 'O', spans.frame[i], spans.start[i])?;
        open.push(i);
    }
    while let Some(j) = open.pop() {
        event(w, 'C', spans.frame[j], spans.end[j])?;
    }
    w.write_all(b"]}")
}

/// JSON has no NaN/Infinity; integers print without a fraction.
pub(crate) fn json_num(x: f64) -> String {
    if !x.is_finite() {
        "0".to_owned()
    } else if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventedThreadBuilder, ProfileBuilder, SampledThreadBuilder};

    #[test]
    fn writes_schema_shaped_sampled_and_evented_profiles() {
        let mut b = ProfileBuilder::new();
        let (f, g) = (b.frame("f", Some("a.py"), 3), b.frame("g \"q\"", None, 0));
        let s = b.stack_of(&[f, g]);
        let mut sampled = SampledThreadBuilder::new("s", 1, 1);
        sampled.append(s, 0.0, 2.0);
        let mut evented = EventedThreadBuilder::new("e", 1, 2);
        evented.enter(&mut b, f, 1000.0);
        evented.enter(&mut b, g, 1000.0);
        evented.leave(3000.0);
        evented.leave(5000.0);
        let p = b.finish("test", "n", WeightUnit::Microseconds, vec![sampled.finish(), evented.finish(5000.0)]);
        let mut out = Vec::new();
        SpeedscopeExporter.write(&p, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["$schema"], SCHEMA);
        assert_eq!(v["exporter"], "emberscope");
        assert_eq!(v["shared"]["frames"][1]["name"], "g \"q\"");
        assert_eq!(v["shared"]["frames"][0], serde_json::json!({"name": "f", "file": "a.py", "line": 3}));
        assert_eq!(v["profiles"][0]["samples"], serde_json::json!([[0, 1]]));
        let events: Vec<(String, u64, f64)> = v["profiles"][1]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["type"].as_str().unwrap().to_owned(), e["frame"].as_u64().unwrap(), e["at"].as_f64().unwrap()))
            .collect();
        let expect = [("O", 0, 1.0), ("O", 1, 1.0), ("C", 1, 3.0), ("C", 0, 5.0)];
        assert_eq!(events, expect.map(|(t, f, a)| (t.to_owned(), f, a)));
    }
}
