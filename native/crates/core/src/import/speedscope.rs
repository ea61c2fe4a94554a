//! speedscope's own JSON format (https://www.speedscope.app/file-format-schema.json): shared frames, then profiles
//! that are either "evented" (open/close events at frame indexes) or "sampled" (root-first stacks with weights).
//! One thread per profile. Files are usually written by tools (py-spy, rbspy, ...), so broken nesting is an error
//! here, as it is in speedscope, rather than something to repair.

use serde::Deserialize;

use crate::import::json_util::{self, json_error, LaxStr, Num};
use crate::import::{ImportError, Input, Location};
use crate::job::Job;
use crate::model::{
    EventedThreadBuilder, FrameIndex, Profile, ProfileBuilder, SampledThreadBuilder, Thread,
    WeightUnit, definition_lines_meta, FRAME_LINES_DEFINITION,
};

const FORMAT: &str = "speedscope";

pub fn detect(head: &[u8]) -> bool {
    let h = json_util::trim_head(head);
    h.first() == Some(&b'{')
        && json_util::contains(h, b"\"$schema\"")
        && json_util::contains(h, b"speedscope.app/file-format-schema")
}

#[derive(Deserialize)]
struct FileJson<'a> {
    #[serde(default)]
    shared: SharedJson<'a>,
    #[serde(default)]
    profiles: Vec<ProfileJson<'a>>,
    #[serde(borrow, default)]
    name: LaxStr<'a>,
    #[serde(borrow, default)]
    exporter: LaxStr<'a>,
    #[serde(rename = "activeProfileIndex", default)]
    active_profile_index: Option<Num>,
    /// Written by our exporter: what speedscope's schema cannot hold.
    #[serde(borrow, default)]
    emberscope: Option<OwnJson<'a>>,
}

/// Our own keys (see export/speedscope.rs). Each is optional and ignored when malformed.
#[derive(Deserialize)]
struct OwnJson<'a> {
    #[serde(borrow, default)]
    unit: LaxStr<'a>,
    #[serde(rename = "startNs", default)]
    start_ns: Option<Num>,
    #[serde(rename = "durationNs", default)]
    duration_ns: Option<Num>,
    /// "definition" when every frame line is a definition line (`model::FRAME_LINES_DEFINITION`).
    #[serde(rename = "frameLines", borrow, default)]
    frame_lines: LaxStr<'a>,
}

#[derive(Deserialize, Default)]
struct SharedJson<'a> {
    #[serde(borrow, default)]
    frames: Vec<FrameJson<'a>>,
}

#[derive(Deserialize)]
struct FrameJson<'a> {
    #[serde(borrow, default)]
    name: LaxStr<'a>,
    #[serde(borrow, default)]
    file: LaxStr<'a>,
    #[serde(default)]
    line: Option<Num>,
}

/// Flat rather than a tagged enum: serde buffers tagged enums, which would copy every event.
#[derive(Deserialize)]
struct ProfileJson<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: LaxStr<'a>,
    #[serde(borrow, default)]
    name: LaxStr<'a>,
    #[serde(borrow, default)]
    unit: LaxStr<'a>,
    #[serde(rename = "startValue", default)]
    start_value: Option<Num>,
    #[serde(default)]
    events: Vec<EventJson<'a>>,
    #[serde(default)]
    samples: Vec<Vec<u32>>,
    #[serde(default)]
    weights: Vec<f64>,
    /// Our exporter's real sample times (ns since the profile's start); speedscope lays samples end to end.
    #[serde(rename = "emberscopeTimesNs", default)]
    times_ns: Option<Vec<f64>>,
}

#[derive(Deserialize)]
struct EventJson<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: LaxStr<'a>,
    frame: u32,
    at: f64,
}

pub fn import(input: &Input, job: &Job) -> Result<Profile, ImportError> {
    let bytes = input.bytes;
    let start = json_util::skip_ws(bytes, 0);
    let file: FileJson = serde_json::from_slice(bytes)
        .map_err(|e| json_error(FORMAT, bytes, 0, &e, "the speedscope file"))?;
    job.set_done(bytes.len() as u64 / 2);
    if file.profiles.is_empty() {
        return Err(ImportError::parse(
            FORMAT,
            "the file has no profiles",
            Location::Byte(start as u64),
        ));
    }

    let mut b = ProfileBuilder::new();
    let frames: Vec<FrameIndex> = file
        .shared
        .frames
        .iter()
        .map(|f| {
            let line = f
                .line
                .and_then(Num::finite)
                .filter(|l| *l > 0.0 && *l < u32::MAX as f64)
                .map_or(0, |l| l as u32);
            b.frame(
                f.name.0.as_deref().unwrap_or("(unnamed)"),
                f.file.0.as_deref(),
                line,
            )
        })
        .collect();

    let units: Vec<WeightUnit> = file
        .profiles
        .iter()
        .map(|p| {
            p.unit
                .0
                .as_deref()
                .and_then(WeightUnit::parse)
                .unwrap_or(WeightUnit::None)
        })
        .collect();
    // Our own export names the real unit ("samples", which speedscope writes as "none").
    let own_unit = file.emberscope.as_ref().and_then(|o| o.unit.0.as_deref()).and_then(WeightUnit::parse);
    let unit = match own_unit {
        Some(u) if u.ns_per_unit() == units[0].ns_per_unit() => u,
        _ => units[0],
    };
    // Times are ns when the unit is a time; otherwise the raw value stands in (cumulative weight).
    let scale = |u: WeightUnit| u.ns_per_unit().unwrap_or(1.0);
    let origin = file
        .profiles
        .iter()
        .zip(&units)
        .filter_map(|(p, &u)| p.start_value.and_then(Num::finite).map(|s| s * scale(u)))
        .min_by(|a, b| a.total_cmp(b))
        .unwrap_or(0.0);

    let mut threads = Vec::with_capacity(file.profiles.len());
    let mut has_timeline = true;
    for (i, (p, &u)) in file.profiles.iter().zip(&units).enumerate() {
        job.check()?;
        let name = p
            .name
            .0
            .as_deref()
            .map_or_else(|| format!("profile {}", i + 1), str::to_owned);
        let start = p.start_value.and_then(Num::finite).unwrap_or(0.0);
        let thread = match p.kind.0.as_deref() {
            Some("evented") => build_evented(&mut b, &frames, p, &name, i, scale(u), origin, job)?,
            Some("sampled") => {
                has_timeline &= u.ns_per_unit().is_some();
                // Weights are shown in the file's first unit; convert other time units into it.
                let factor = match (u.ns_per_unit(), unit.ns_per_unit()) {
                    (Some(a), Some(b)) => a / b,
                    _ => 1.0,
                };
                build_sampled(
                    &mut b,
                    &frames,
                    p,
                    &name,
                    i,
                    start,
                    scale(u),
                    origin,
                    factor,
                )?
            }
            other => return Err(ImportError::parse(
                FORMAT,
                format!(
                    "profile \"{name}\" has type {other:?}; expected \"evented\" or \"sampled\""
                ),
                Location::Unknown,
            )),
        };
        threads.push(thread);
    }

    let mut profile = b.finish(FORMAT, input.name, unit, threads);
    profile.has_timeline = has_timeline || file.profiles.iter().all(|p| p.times_ns.is_some() || p.kind.0.as_deref() != Some("sampled"));
    profile.start_ns = origin;
    if let Some(own) = &file.emberscope {
        if let Some(start) = own.start_ns.and_then(Num::finite) {
            profile.start_ns = start + origin;
        }
        if let Some(d) = own.duration_ns.and_then(Num::finite) {
            profile.duration_ns = profile.duration_ns.max(d);
        }
    }
    let mut meta = vec![("tool".to_owned(), FORMAT.to_owned())];
    if file.emberscope.as_ref().and_then(|o| o.frame_lines.0.as_deref()) == Some(FRAME_LINES_DEFINITION) {
        meta.push(definition_lines_meta());
    }
    if let Some(e) = file.exporter.0 {
        meta.push(("exporter".to_owned(), e.into_owned()));
    }
    if let Some(n) = file.name.0 {
        meta.push(("name".to_owned(), n.into_owned()));
    }
    if let Some(i) = file.active_profile_index.and_then(Num::finite) {
        meta.push(("activeProfileIndex".to_owned(), i.to_string()));
    }
    meta.sort();
    profile.meta = meta;
    Ok(profile)
}

fn frame_at(
    frames: &[FrameIndex],
    index: u32,
    profile: &str,
    what: &str,
) -> Result<FrameIndex, ImportError> {
    frames.get(index as usize).copied().ok_or_else(|| {
        ImportError::parse(
            FORMAT,
            format!(
                "profile \"{profile}\": {what} refers to frame {index}, but shared.frames has only {} entries",
                frames.len()
            ),
            Location::Unknown,
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn build_evented(
    b: &mut ProfileBuilder,
    frames: &[FrameIndex],
    p: &ProfileJson,
    name: &str,
    index: usize,
    scale: f64,
    origin: f64,
    job: &Job,
) -> Result<Thread, ImportError> {
    let mut t = EventedThreadBuilder::new(name, 0, index as i64);
    let mut last_at = f64::NEG_INFINITY;
    let bad = |i: usize, msg: String| {
        ImportError::parse(
            FORMAT,
            format!("profile \"{name}\", event {i}: {msg}"),
            Location::Unknown,
        )
    };
    for (i, ev) in p.events.iter().enumerate() {
        if i % 4096 == 4095 {
            job.check()?;
        }
        if ev.at < last_at {
            return Err(bad(
                i,
                format!(
                    "time {} is before the previous event's {last_at}; events must be in order",
                    ev.at
                ),
            ));
        }
        last_at = ev.at;
        let frame = frame_at(frames, ev.frame, name, "an event")?;
        let at = ev.at * scale - origin;
        match ev.kind.0.as_deref() {
            Some("O") => t.enter(b, frame, at),
            Some("C") => match t.top_frame() {
                Some(top) if top == frame => {
                    t.leave(at);
                }
                Some(top) => {
                    return Err(bad(
                        i,
                        format!(
                            "closes frame {} while frame {} is the innermost open one",
                            ev.frame,
                            frame_index_of(frames, top)
                        ),
                    ))
                }
                None => {
                    return Err(bad(
                        i,
                        format!("closes frame {} but no frame is open", ev.frame),
                    ))
                }
            },
            other => return Err(bad(i, format!("type {other:?}; expected \"O\" or \"C\""))),
        }
    }
    if t.depth() > 0 {
        return Err(ImportError::parse(
            FORMAT,
            format!(
                "profile \"{name}\": {} frame(s) are still open at the end (incomplete trace)",
                t.depth()
            ),
            Location::Unknown,
        ));
    }
    Ok(t.finish(last_at.max(0.0) * scale - origin))
}

/// The file-level index of an interned frame, for error messages.
fn frame_index_of(frames: &[FrameIndex], f: FrameIndex) -> usize {
    frames.iter().position(|&x| x == f).unwrap_or(0)
}

#[allow(clippy::too_many_arguments)]
fn build_sampled(
    b: &mut ProfileBuilder,
    frames: &[FrameIndex],
    p: &ProfileJson,
    name: &str,
    index: usize,
    start: f64,
    scale: f64,
    origin: f64,
    factor: f64,
) -> Result<Thread, ImportError> {
    if p.samples.len() != p.weights.len() && !p.weights.is_empty() {
        return Err(ImportError::parse(
            FORMAT,
            format!(
                "profile \"{name}\" has {} samples but {} weights",
                p.samples.len(),
                p.weights.len()
            ),
            Location::Unknown,
        ));
    }
    let mut t = SampledThreadBuilder::new(name, 0, index as i64);
    // Real times from our own export, when there is one per sample; otherwise samples lie end to end by weight.
    let times = p.times_ns.as_ref().filter(|t| t.len() == p.samples.len());
    let mut cumulative = start;
    let mut stack_frames = Vec::new();
    for (i, sample) in p.samples.iter().enumerate() {
        stack_frames.clear();
        for &f in sample {
            stack_frames.push(frame_at(frames, f, name, "a sample")?);
        }
        let stack = b.stack_of(&stack_frames);
        let w = p.weights.get(i).copied().unwrap_or(1.0);
        let at = times.map_or(cumulative * scale - origin, |t| t[i]);
        t.append(stack, at, w * factor);
        cumulative += w;
    }
    Ok(t.finish())
}
