//! pprof `profile.proto` (Go's runtime/pprof, pprof-rs, py-spy-free tools...). The dispatcher has already undone
//! gzip. Samples list location ids leaf first; a location's lines list inlined frames innermost first.
//! Field numbers are from github.com/google/pprof/proto/profile.proto.

use std::collections::HashMap;

use crate::import::protobuf::{push_repeated, Field, MessageReader, WireError};
use crate::import::{ImportError, Input, Location};
use crate::job::Job;
use crate::model::{FrameIndex, Profile, ProfileBuilder, SampledThreadBuilder, WeightUnit};

const FORMAT: &str = "pprof";

/// Walks the first top-level fields: each must be a Profile field with its declared wire type. Go writes
/// `time_nanos` (field 9) first, so field 1 cannot be required at byte 0. Text and JSON fail within a few bytes
/// (their characters decode as wire types 1, 3, 4 or 5 or as unknown field numbers).
pub fn detect(head: &[u8]) -> bool {
    let mut r = MessageReader::new(head, 0);
    let mut good = 0;
    loop {
        match r.next_field() {
            Ok(Some((number, field))) => {
                let bytes = matches!(field, Field::Bytes(..));
                let ok = match number {
                    1..=6 | 11 | 15 => bytes,
                    7..=10 | 12 | 14 => matches!(field, Field::Varint(_)),
                    13 => bytes || matches!(field, Field::Varint(_)),
                    _ => false,
                };
                if !ok {
                    return false;
                }
                good += 1;
                if good >= 4 {
                    return true;
                }
            }
            // A whole small file that parses cleanly.
            Ok(None) => return good >= 2,
            // The head may cut a field: enough good fields before that still count.
            Err(_) => return good >= 3 && r.offset() + 16 >= head.len(),
        }
    }
}

fn wire_error(e: WireError) -> ImportError {
    ImportError::parse(FORMAT, e.message, Location::Byte(e.offset))
}

struct RawFunction {
    name: usize,
    file: usize,
    start_line: u64,
}

struct RawLocation {
    address: u64,
    /// (function id, line), innermost first.
    lines: Vec<(u64, u64)>,
}

#[derive(Default)]
struct RawProfile<'a> {
    sample_types: Vec<(usize, usize)>,
    samples: Vec<(Vec<u64>, Vec<u64>)>,
    locations: HashMap<u64, RawLocation>,
    functions: HashMap<u64, RawFunction>,
    strings: Vec<std::borrow::Cow<'a, str>>,
    time_nanos: u64,
    duration_nanos: u64,
    period: u64,
    default_sample_type: usize,
}

fn read_value_type(bytes: &[u8], base: usize) -> Result<(usize, usize), WireError> {
    let (mut ty, mut unit) = (0, 0);
    let mut r = MessageReader::new(bytes, base);
    while let Some((n, f)) = r.next_field()? {
        match n {
            1 => ty = f.as_u64().unwrap_or(0) as usize,
            2 => unit = f.as_u64().unwrap_or(0) as usize,
            _ => {}
        }
    }
    Ok((ty, unit))
}

fn read_profile<'a>(bytes: &'a [u8], job: &Job) -> Result<RawProfile<'a>, ImportError> {
    let mut p = RawProfile::default();
    let mut r = MessageReader::new(bytes, 0);
    let mut count = 0u64;
    while let Some((number, field)) = r.next_field().map_err(wire_error)? {
        count += 1;
        if count.is_multiple_of(4096) {
            job.set_done(r.offset() as u64);
            job.check()?;
        }
        let Field::Bytes(body, base) = field else {
            let v = field.as_u64().unwrap_or(0);
            match number {
                9 => p.time_nanos = v,
                10 => p.duration_nanos = v,
                12 => p.period = v,
                14 => p.default_sample_type = v as usize,
                _ => {}
            }
            continue;
        };
        match number {
            1 => p.sample_types.push(read_value_type(body, base).map_err(wire_error)?),
            2 => {
                let (mut locs, mut values) = (Vec::new(), Vec::new());
                let mut m = MessageReader::new(body, base);
                while let Some((n, f)) = m.next_field().map_err(wire_error)? {
                    match n {
                        1 => push_repeated(f, &mut locs).map_err(wire_error)?,
                        2 => push_repeated(f, &mut values).map_err(wire_error)?,
                        _ => {}
                    }
                }
                p.samples.push((locs, values));
            }
            4 => {
                let (mut id, mut loc) = (0, RawLocation { address: 0, lines: Vec::new() });
                let mut m = MessageReader::new(body, base);
                while let Some((n, f)) = m.next_field().map_err(wire_error)? {
                    match (n, f) {
                        (1, f) => id = f.as_u64().unwrap_or(0),
                        (3, f) => loc.address = f.as_u64().unwrap_or(0),
                        (4, Field::Bytes(line, line_base)) => {
                            let (mut func, mut num) = (0, 0);
                            let mut l = MessageReader::new(line, line_base);
                            while let Some((n, f)) = l.next_field().map_err(wire_error)? {
                                match n {
                                    1 => func = f.as_u64().unwrap_or(0),
                                    2 => num = f.as_u64().unwrap_or(0),
                                    _ => {}
                                }
                            }
                            loc.lines.push((func, num));
                        }
                        _ => {}
                    }
                }
                p.locations.insert(id, loc);
            }
            5 => {
                let (mut id, mut func) = (0, RawFunction { name: 0, file: 0, start_line: 0 });
                let mut m = MessageReader::new(body, base);
                while let Some((n, f)) = m.next_field().map_err(wire_error)? {
                    let v = f.as_u64().unwrap_or(0);
                    match n {
                        1 => id = v,
                        2 => func.name = v as usize,
                        4 => func.file = v as usize,
                        5 => func.start_line = v,
                        _ => {}
                    }
                }
                p.functions.insert(id, func);
            }
            6 => p.strings.push(String::from_utf8_lossy(body)),
            _ => {}
        }
    }
    Ok(p)
}

fn map_unit(unit: &str) -> WeightUnit {
    match unit {
        "nanoseconds" | "ns" => WeightUnit::Nanoseconds,
        "microseconds" | "us" => WeightUnit::Microseconds,
        "milliseconds" | "ms" => WeightUnit::Milliseconds,
        "seconds" | "s" => WeightUnit::Seconds,
        "bytes" => WeightUnit::Bytes,
        "count" | "samples" => WeightUnit::Samples,
        _ => WeightUnit::None,
    }
}

pub fn import(input: &Input, job: &Job) -> Result<Profile, ImportError> {
    import_with(input, job, None)
}

/// The sample type read by default, as `go tool pprof` picks it: the file's `default_sample_type` when it names one of
/// its types, else the last type (profile.proto: "If unset, clients should default to the last sample_type"). For
/// Go's CPU profile that is `cpu/nanoseconds`, for its heap profile `inuse_space/bytes`.
fn default_type(raw: &RawProfile, string: &impl Fn(usize) -> String) -> usize {
    let d = raw.default_sample_type;
    (d != 0)
        .then(|| raw.sample_types.iter().position(|&(t, _)| t == d && !string(t).is_empty()))
        .flatten()
        .unwrap_or(raw.sample_types.len() - 1)
}

/// `sample_type`: a type name of the file to read instead of the default (`ImportOptions::sample_type`).
pub fn import_with(input: &Input, job: &Job, sample_type: Option<&str>) -> Result<Profile, ImportError> {
    let raw = read_profile(input.bytes, job)?;
    let string = |i: usize| raw.strings.get(i).map_or("", |s| s.as_ref());
    if raw.strings.first().is_some_and(|s| !s.is_empty()) {
        return Err(ImportError::parse(FORMAT, "the string table must start with \"\"", Location::Unknown));
    }
    if raw.sample_types.is_empty() {
        return Err(ImportError::parse(
            FORMAT,
            "no sample_type: this is not a profile.proto file, or it is cut short",
            Location::Byte(input.bytes.len() as u64),
        ));
    }
    let types: Vec<String> =
        raw.sample_types.iter().map(|&(t, u)| format!("{}/{}", string(t), string(u))).collect();
    let chosen = match sample_type {
        None => default_type(&raw, &|i| string(i).to_owned()),
        Some(name) => raw.sample_types.iter().position(|&(t, _)| string(t) == name).ok_or_else(|| {
            ImportError::Stated(format!(
                "this pprof file has no sample type {name:?}; its types are {} (name/unit): pick one of those names",
                types.join(", ")
            ))
        })?,
    };
    // Samples taken: a count type's values (Go's `samples/count`), summed over the samples read; without one,
    // each sample record counts once.
    let count_type = raw.sample_types.iter().position(|&(_, u)| matches!(string(u), "count" | "samples"));
    let mut counted = 0u64;
    let (type_name, unit_name) = (string(raw.sample_types[chosen].0), string(raw.sample_types[chosen].1));
    let unit = map_unit(unit_name);
    let ns_per = unit.ns_per_unit().unwrap_or(1.0);

    let mut b = ProfileBuilder::new();
    let mut frames_of_location: HashMap<u64, Vec<FrameIndex>> = HashMap::new();
    let mut thread = SampledThreadBuilder::new("pprof", 0, 0);
    let mut clock = 0.0;
    let mut stack_frames: Vec<FrameIndex> = Vec::new();
    let mut skipped = 0usize;
    for (i, (locs, values)) in raw.samples.iter().enumerate() {
        if i % 4096 == 0 {
            job.check()?;
        }
        // Values are int64 on the wire; negative ones (diffed profiles) cannot be drawn.
        let weight = values.get(chosen).map_or(0, |&v| v as i64);
        if weight < 0 {
            skipped += 1;
            continue;
        }
        counted += count_type.map_or(1, |c| values.get(c).map_or(0, |&v| (v as i64).max(0) as u64));
        stack_frames.clear();
        for id in locs.iter().rev() {
            if !frames_of_location.contains_key(id) {
                let frames = resolve_location(&mut b, &raw, *id, &string);
                frames_of_location.insert(*id, frames);
            }
            stack_frames.extend(frames_of_location[id].iter().copied());
        }
        let stack = b.stack_of(&stack_frames);
        thread.append(stack, clock, weight as f64);
        clock += weight as f64 * ns_per;
    }
    let mut thread = thread.finish();
    thread.counted_samples = Some(counted);
    let mut p = b.finish(FORMAT, "", unit, vec![thread]);
    p.has_timeline = false;
    p.start_ns = raw.time_nanos as f64;
    // The samples are aggregates laid end to end; the file's own duration_nanos is the recording's length.
    p.duration_ns = raw.duration_nanos as f64;
    p.meta = vec![
        ("no_timeline".to_owned(), "pprof aggregates samples by stack: no time order".to_owned()),
        ("sample_type".to_owned(), format!("{type_name}/{unit_name}")),
        ("sample_types".to_owned(), types.join(", ")),
    ];
    if raw.duration_nanos > 0 {
        p.meta.push(("duration_nanos".to_owned(), raw.duration_nanos.to_string()));
    }
    if raw.period > 0 {
        p.meta.push(("period".to_owned(), raw.period.to_string()));
    }
    if skipped > 0 {
        p.meta.push(("skipped_negative_samples".to_owned(), skipped.to_string()));
    }
    p.meta.sort();
    Ok(p)
}

/// A location's frames root first (its lines are innermost first). Unsymbolized locations show their address.
fn resolve_location<'s>(
    b: &mut ProfileBuilder,
    raw: &RawProfile,
    id: u64,
    string: &impl Fn(usize) -> &'s str,
) -> Vec<FrameIndex> {
    let Some(loc) = raw.locations.get(&id) else {
        return vec![b.frame(&format!("<unknown location {id}>"), None, 0)];
    };
    if loc.lines.is_empty() {
        return vec![b.frame(&format!("0x{:x}", loc.address), None, 0)];
    }
    loc.lines
        .iter()
        .rev()
        .map(|&(func_id, line)| match raw.functions.get(&func_id) {
            Some(f) => {
                let line = if line > 0 { line } else { f.start_line };
                b.frame(string(f.name), Some(string(f.file)), line.min(u32::MAX as u64) as u32)
            }
            None => b.frame(&format!("<unknown function {func_id}>"), None, 0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_rejects_text_and_json() {
        assert!(!detect(b"a;b;c 1\n"));
        assert!(!detect(b"{\"traceEvents\":[]}"));
        assert!(!detect(b"P123;T0:5;a.py:f:1 10\n"));
        assert!(!detect(b"# austin: 3.7.0\n"));
    }
}
