//! Columnar deltas of a live profile. The sampler thread interns into one `ProfileBuilder`; every ~100 ms it cuts a
//! `Batch` holding only what is new since the previous cut (strings, frames, stacks, threads) plus the samples taken
//! in between. Indexes in a batch are global (they continue the previous batches), so batches are applied in order
//! by plain appends, and two consecutive batches merge into one by appending too. That is what lets the channel to
//! the UI coalesce batches without losing anything, and lets the recording file be a list of batches.

use serde::{Deserialize, Serialize};

use super::spawn::ProcessExit;
use crate::model::{compute_duration, FrameTable, Profile, ProfileBuilder, StackTable, Thread, WeightUnit};

/// A thread seen for the first time. `index` is its position in `Profile::threads`. An entry whose `index` is already
/// known renames that thread (py-spy learns thread names lazily).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadInfo {
    pub index: u32,
    pub pid: i64,
    pub tid: i64,
    pub name: String,
}

/// Samples taken since the last cut, one row per (thread, tick).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchSamples {
    /// Index into the session's threads (see `ThreadInfo::index`).
    pub thread_index: Vec<u32>,
    /// -1 for an empty stack.
    pub stack: Vec<i32>,
    /// ns since the session started (wall time, pauses included).
    pub time_ns: Vec<f64>,
    /// 1 = one sample.
    pub weight: Vec<f64>,
    /// 1 when the thread held the GIL at that tick.
    pub gil: Vec<u8>,
    /// 1 when the OS (or py-spy's heuristic) said the thread was idle; only present with `include_idle`.
    pub idle: Vec<u8>,
}

impl BatchSamples {
    pub fn len(&self) -> usize {
        self.stack.len()
    }
    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }
}

/// Running totals of a session, as of the batch that carries them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    /// Ticks at which every process was read successfully.
    pub taken: u64,
    /// Ticks skipped because the sampler fell behind schedule, plus ticks whose read failed.
    pub missed: u64,
    /// Sample rows (one per thread per tick).
    pub samples: u64,
    /// Sampling time in ns, pauses excluded.
    pub elapsed_ns: u64,
    /// `taken / elapsed`, in Hz.
    pub achieved_hz: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Index of the first entry of `new_strings` in the session's string table (a consistency check for appliers).
    pub first_string: u32,
    pub new_strings: Vec<String>,
    pub first_frame: u32,
    #[serde(with = "frame_table_serde")]
    pub new_frames: FrameTable,
    pub first_stack: u32,
    #[serde(with = "stack_table_serde")]
    pub new_stacks: StackTable,
    pub new_threads: Vec<ThreadInfo>,
    pub samples: BatchSamples,
    pub stats: SessionStats,
    /// Set on the last batch of a session: why it ended ("stopped", "process exited (code 3)", ...).
    pub ended: Option<String>,
    /// Set on the last batch when the sampled program exited: its code or signal, as numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ProcessExit>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.new_strings.is_empty()
            && self.new_frames.is_empty()
            && self.new_stacks.is_empty()
            && self.new_threads.is_empty()
            && self.samples.is_empty()
            && self.ended.is_none()
    }

    /// Appends `later` (cut right after `self`) so one batch carries both. Stats and `ended` take the later values.
    pub fn merge(&mut self, later: Batch) {
        debug_assert_eq!(self.first_string as usize + self.new_strings.len(), later.first_string as usize);
        self.new_strings.extend(later.new_strings);
        let f = &mut self.new_frames;
        f.func.extend(later.new_frames.func);
        f.file.extend(later.new_frames.file);
        f.line.extend(later.new_frames.line);
        f.kind.extend(later.new_frames.kind);
        self.new_stacks.prefix.extend(later.new_stacks.prefix);
        self.new_stacks.frame.extend(later.new_stacks.frame);
        self.new_threads.extend(later.new_threads);
        let s = &mut self.samples;
        s.thread_index.extend(later.samples.thread_index);
        s.stack.extend(later.samples.stack);
        s.time_ns.extend(later.samples.time_ns);
        s.weight.extend(later.samples.weight);
        s.gil.extend(later.samples.gil);
        s.idle.extend(later.samples.idle);
        self.stats = later.stats;
        if later.ended.is_some() {
            self.ended = later.ended;
        }
        if later.exit.is_some() {
            self.exit = later.exit;
        }
    }
}

/// Remembers how much of a builder's tables earlier batches already carried.
#[derive(Default)]
pub struct BatchCutter {
    strings: usize,
    frames: usize,
    stacks: usize,
}

impl BatchCutter {
    /// Moves everything new in `builder` since the last cut, plus `samples`/`threads`, into a batch.
    pub fn cut(&mut self, builder: &ProfileBuilder, threads: Vec<ThreadInfo>, samples: BatchSamples) -> Batch {
        let fr = &builder.frames;
        let batch = Batch {
            first_string: self.strings as u32,
            new_strings: builder.strings[self.strings..].to_vec(),
            first_frame: self.frames as u32,
            new_frames: FrameTable {
                func: fr.func[self.frames..].to_vec(),
                file: fr.file[self.frames..].to_vec(),
                line: fr.line[self.frames..].to_vec(),
                kind: fr.kind[self.frames..].to_vec(),
            },
            first_stack: self.stacks as u32,
            new_stacks: StackTable {
                prefix: builder.stacks.prefix[self.stacks..].to_vec(),
                frame: builder.stacks.frame[self.stacks..].to_vec(),
            },
            new_threads: threads,
            samples,
            stats: SessionStats::default(),
            ended: None,
            exit: None,
        };
        self.strings = builder.strings.len();
        self.frames = builder.frames.len();
        self.stacks = builder.stacks.len();
        batch
    }
}

/// An empty live profile that batches are applied to (by the session for `finish`, by `recording::load`).
pub fn create_live_profile(name: &str) -> Profile {
    ProfileBuilder::new().finish("emberscope-live", name, WeightUnit::Samples, Vec::new())
}

/// Appends a batch to a profile built by `create_live_profile`. Errors when the batch does not continue the tables
/// (a gap or overlap means a lost or repeated batch, so the result would be silently wrong).
pub fn apply_batch(p: &mut Profile, b: &Batch) -> Result<(), String> {
    let check = |what: &str, have: usize, first: u32| {
        if have == first as usize {
            Ok(())
        } else {
            Err(format!("batch {what} start at {first} but the profile has {have}"))
        }
    };
    check("strings", p.strings.len(), b.first_string)?;
    check("frames", p.frames.len(), b.first_frame)?;
    check("stacks", p.stacks.len(), b.first_stack)?;
    check_references(p, b)?;
    p.strings.extend(b.new_strings.iter().cloned());
    p.frames.func.extend(&b.new_frames.func);
    p.frames.file.extend(&b.new_frames.file);
    p.frames.line.extend(&b.new_frames.line);
    p.frames.kind.extend(&b.new_frames.kind);
    p.stacks.prefix.extend(&b.new_stacks.prefix);
    p.stacks.frame.extend(&b.new_stacks.frame);
    for t in &b.new_threads {
        let i = t.index as usize;
        if i < p.threads.len() {
            p.threads[i].name = t.name.clone();
        } else if i == p.threads.len() {
            p.threads.push(Thread { name: t.name.clone(), pid: t.pid, tid: t.tid, ..Default::default() });
        } else {
            return Err(format!("thread {i} announced but only {} threads are known", p.threads.len()));
        }
    }
    let s = &b.samples;
    for k in 0..s.len() {
        let Some(t) = p.threads.get_mut(s.thread_index[k] as usize) else {
            return Err(format!("sample for unknown thread {}", s.thread_index[k]));
        };
        if s.stack[k] >= p.stacks.len() as i32 {
            return Err(format!("sample refers to stack {} of {}", s.stack[k], p.stacks.len()));
        }
        t.samples.stack.push(s.stack[k]);
        t.samples.time.push(s.time_ns[k]);
        t.samples.weight.push(s.weight[k]);
    }
    p.duration_ns = compute_duration(p).max(b.stats.elapsed_ns as f64).max(p.duration_ns);
    Ok(())
}

/// Every index a batch carries must point into the tables as they will be once it is applied: a recording file is
/// input like any other, and a stack that is its own prefix would send every later walk into an endless loop.
fn check_references(p: &Profile, b: &Batch) -> Result<(), String> {
    let strings = p.strings.len() + b.new_strings.len();
    let frames = p.frames.len() + b.new_frames.len();
    let f = &b.new_frames;
    for k in 0..f.len() {
        let (func, file) = (f.func[k], f.file[k]);
        if func as usize >= strings || file < -1 || file >= 0 && file as usize >= strings {
            return Err(format!("frame {} names string {func}/{file} but there are {strings} strings", b.first_frame as usize + k));
        }
    }
    let st = &b.new_stacks;
    for k in 0..st.len() {
        let own = b.first_stack as usize + k;
        if st.prefix[k] < -1 || st.prefix[k] >= own as i32 {
            return Err(format!("stack {own} has prefix {} but a prefix must be -1 or an earlier stack", st.prefix[k]));
        }
        if st.frame[k] as usize >= frames {
            return Err(format!("stack {own} has frame {} but there are {frames} frames", st.frame[k]));
        }
    }
    let s = &b.samples;
    let n = s.len();
    let cols = [s.thread_index.len(), s.time_ns.len(), s.weight.len()];
    let flags_ok = [s.gil.len(), s.idle.len()].iter().all(|&m| m == 0 || m == n);
    if cols.iter().any(|&m| m != n) || !flags_ok {
        return Err(format!(
            "sample columns differ in length (stack {n}, thread_index {}, time_ns {}, weight {}, gil {}, idle {})",
            cols[0], cols[1], cols[2], s.gil.len(), s.idle.len()
        ));
    }
    if let Some(k) = s.stack.iter().position(|&x| x < -1) {
        return Err(format!("sample {k} has stack {} (-1 is the only negative allowed)", s.stack[k]));
    }
    if let Some(k) = (0..n).find(|&k| !s.time_ns[k].is_finite() || !s.weight[k].is_finite()) {
        return Err(format!("sample {k} has a time or weight that is not a finite number"));
    }
    Ok(())
}

// The model's tables do not derive serde (the core keeps them plain); these adapters give the recording file a
// stable columnar JSON shape: {"func":[..],"file":[..],"line":[..],"kind":[..]}.
mod frame_table_serde {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Cols {
        func: Vec<u32>,
        file: Vec<i32>,
        line: Vec<u32>,
        kind: Vec<u8>,
    }

    pub fn serialize<S: Serializer>(t: &FrameTable, s: S) -> Result<S::Ok, S::Error> {
        Cols { func: t.func.clone(), file: t.file.clone(), line: t.line.clone(), kind: t.kind.clone() }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FrameTable, D::Error> {
        let c = Cols::deserialize(d)?;
        if c.file.len() != c.func.len() || c.line.len() != c.func.len() || c.kind.len() != c.func.len() {
            return Err(serde::de::Error::custom("frame columns differ in length"));
        }
        Ok(FrameTable { func: c.func, file: c.file, line: c.line, kind: c.kind })
    }
}

mod stack_table_serde {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Cols {
        prefix: Vec<i32>,
        frame: Vec<u32>,
    }

    pub fn serialize<S: Serializer>(t: &StackTable, s: S) -> Result<S::Ok, S::Error> {
        Cols { prefix: t.prefix.clone(), frame: t.frame.clone() }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<StackTable, D::Error> {
        let c = Cols::deserialize(d)?;
        if c.prefix.len() != c.frame.len() {
            return Err(serde::de::Error::custom("stack columns differ in length"));
        }
        Ok(StackTable { prefix: c.prefix, frame: c.frame })
    }
}
