//! The session thread: owns the `PythonSpy`s (one per sampled pid), samples on a jittered schedule, interns stacks,
//! and every batch interval cuts a `Batch` that goes to the recording file and to the channel.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use py_spy::{Config, PythonSpy, StackTrace};
use rand::Rng;

use super::batch::{apply_batch, create_live_profile, Batch, BatchCutter, BatchSamples, SessionStats, ThreadInfo};
use super::discover::{detect_free_threaded, looks_like_python};
use super::procfs::{list_descendants, read_exe_and_maps, read_zombie_exit};
use super::recording::{finalize_profile, Header, RecordingWriter};
use super::session::Shared;
use super::spawn::{ProcessExit, Spawned};
use super::SessionOptions;
use crate::model::{Profile, ProfileBuilder};

/// How often the process tree is scanned for new Python children when `subprocesses` is on.
const CHILD_SCAN_INTERVAL: Duration = Duration::from_millis(200);
/// Attach attempts per child pid before we stop trying (non-Python children, short-lived helpers).
const CHILD_ATTACH_ATTEMPTS: u32 = 25;

struct Spied {
    pid: i64,
    spy: PythonSpy,
}

pub(crate) struct Worker {
    opts: SessionOptions,
    config: Config,
    spies: Vec<Spied>,
    root_pid: i64,
    child: Option<Spawned>,
    /// How the root process ended, once it has.
    root_exit: Option<ProcessExit>,
    header: Header,
    recorder: Option<RecordingWriter>,
    recorder_error: Option<String>,
    tx: Option<SyncSender<Batch>>,
    /// Batches the channel had no room for, merged into one: the UI gets them late, never loses them.
    pending: Option<Batch>,
    shared: Arc<Shared>,
    builder: ProfileBuilder,
    cutter: BatchCutter,
    thread_index: HashMap<(i64, i64), u32>,
    thread_names: Vec<String>,
    new_threads: Vec<ThreadInfo>,
    samples: BatchSamples,
    stats: SessionStats,
    start: Instant,
    child_attempts: HashMap<i64, u32>,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        opts: SessionOptions,
        spy: PythonSpy,
        config: Config,
        child: Option<Spawned>,
        header: Header,
        recorder: Option<RecordingWriter>,
        tx: SyncSender<Batch>,
        shared: Arc<Shared>,
    ) -> Worker {
        let root_pid = spy.pid as i64;
        Worker {
            opts,
            config,
            spies: vec![Spied { pid: root_pid, spy }],
            root_pid,
            child,
            root_exit: None,
            header,
            recorder,
            recorder_error: None,
            tx: Some(tx),
            pending: None,
            shared,
            builder: ProfileBuilder::new(),
            cutter: BatchCutter::default(),
            thread_index: HashMap::new(),
            thread_names: Vec::new(),
            new_threads: Vec::new(),
            samples: BatchSamples::default(),
            stats: SessionStats::default(),
            start: Instant::now(),
            child_attempts: HashMap::new(),
        }
    }
}

/// The thread body. Returns the whole profile; the reason it ended is in `meta.end_reason`.
pub(crate) fn run_worker(mut w: Worker) -> Profile {
    let reason = w.sample_until_end();
    if let Some(child) = w.child.as_mut() {
        // Stopping a recording ends the program we started for it; one that already exited is just reaped.
        child.terminate();
    }
    w.cut_and_send(Some(reason.clone()));
    w.deliver_final();
    let mut live = std::mem::replace(&mut *w.shared.live.lock().unwrap_or_else(|e| e.into_inner()), create_live_profile(""));
    finalize_profile(&mut live, &w.header, &w.stats, Some(&reason));
    if let Some(e) = &w.recorder_error {
        live.meta.push(("recording_error".into(), e.clone()));
        live.meta.sort();
    }
    // `exit` before `ended`: whoever sees the end also sees how the program ended.
    *w.shared.exit.lock().unwrap_or_else(|e| e.into_inner()) = w.root_exit;
    *w.shared.ended.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
    w.shared.ended_cv.notify_all();
    live
}

/// How far behind schedule the sampler catches up by sampling back to back; beyond it, ticks count as missed.
/// A blocking read pauses every thread of the target and can cost about as much as a 1000 Hz period, so at high
/// rates the schedule drifts behind for seconds and must be allowed to catch up (250 ms lost 10% of ticks at 1000 Hz;
/// 1 s loses none in bench:sampler). A longer stall (the machine slept) resets the schedule.
const MAX_CATCH_UP: Duration = Duration::from_secs(1);

impl Worker {
    fn sample_until_end(&mut self) -> String {
        let period = Duration::from_secs_f64(1.0 / self.opts.rate_hz as f64);
        let interval = self.opts.batch_interval;
        let mut rng = rand::rng();
        let mut next_tick = Instant::now();
        let mut last_cut = Instant::now();
        let mut last_scan = Instant::now();
        let mut active = Duration::ZERO;
        let mut active_since = Some(Instant::now());
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                self.account_elapsed(active, active_since);
                return "stopped".into();
            }
            let now = Instant::now();
            if self.shared.paused.load(Ordering::SeqCst) {
                if let Some(since) = active_since.take() {
                    active += now - since;
                }
                if now - last_cut >= interval {
                    self.account_elapsed(active, None);
                    self.cut_and_send(None);
                    last_cut = now;
                }
                std::thread::park_timeout(interval);
                continue;
            }
            let since = *active_since.get_or_insert_with(|| {
                next_tick = now;
                now
            });
            let active_now = active + (now - since);
            if let Some(limit) = self.opts.duration {
                if active_now >= limit {
                    self.account_elapsed(active, active_since);
                    return format!("duration limit reached ({:.1} s)", limit.as_secs_f64());
                }
            }
            if now >= next_tick {
                let behind = now - next_tick;
                if behind >= MAX_CATCH_UP {
                    // Far behind (the machine stalled, or the target was frozen): those ticks are gone. Count them
                    // as missed and start afresh rather than firing a long burst.
                    self.stats.missed += (behind.as_nanos() / period.as_nanos()) as u64;
                    next_tick = now;
                }
                // A little late (a read took long, or we waited for a core): sample now and keep the schedule, so
                // the next ticks come sooner and the rate catches up. Each sample is stamped with the time it was
                // really taken, so the timeline stays true; only the spacing is uneven for a moment.
                if let Some(reason) = self.sample_tick(now) {
                    self.account_elapsed(active, active_since);
                    return reason;
                }
                // Randomized intervals: a fixed period can alias with periodic work in the target (a loop that
                // runs every 10 ms would be always or never caught at 100 Hz; py-spy issue #94). py-spy draws
                // exponential gaps; we draw uniform ones in [0.5, 1.5) periods, which randomizes the phase just
                // as well but keeps the count in a window close to rate x time, so "achieved rate" stays meaningful.
                next_tick += period.mul_f64(rng.random_range(0.5..1.5));
            }
            if self.opts.subprocesses && now - last_scan >= CHILD_SCAN_INTERVAL {
                self.attach_new_children();
                last_scan = now;
            }
            if now - last_cut >= interval {
                self.account_elapsed(active, active_since);
                self.cut_and_send(None);
                last_cut = now;
            }
            let wake_at = next_tick.min(last_cut + interval);
            let now = Instant::now();
            if wake_at > now {
                // park, not sleep: stop() and resume() unpark us at once.
                std::thread::park_timeout(wake_at - now);
            }
        }
    }

    fn account_elapsed(&mut self, active: Duration, active_since: Option<Instant>) {
        let total = active + active_since.map_or(Duration::ZERO, |s| s.elapsed());
        self.stats.elapsed_ns = total.as_nanos() as u64;
        let secs = total.as_secs_f64();
        self.stats.achieved_hz = if secs > 0.0 { self.stats.taken as f64 / secs } else { 0.0 };
    }

    /// Reads every spied process once. Returns the end reason when nothing is left to sample.
    fn sample_tick(&mut self, now: Instant) -> Option<String> {
        let t_ns = (now - self.start).as_nanos() as f64;
        let (mut any_ok, mut any_err) = (false, false);
        let mut gone: Vec<i64> = Vec::new();
        for i in 0..self.spies.len() {
            let pid = self.spies[i].pid;
            match self.spies[i].spy.get_stack_traces() {
                Ok(traces) => {
                    any_ok = true;
                    for trace in &traces {
                        self.record_trace(trace, t_ns);
                    }
                }
                Err(_) if pid == self.root_pid => match self.read_root_exit() {
                    Some(exit) => {
                        self.root_exit = Some(exit);
                        gone.push(pid);
                    }
                    None => any_err = true,
                },
                // A child that fails is dropped, and re-attached by the next scan if it still runs Python: after a
                // fork+exec the spy we made for the pre-exec copy reads the wrong image.
                Err(_) => gone.push(pid),
            }
        }
        self.spies.retain(|s| !gone.contains(&s.pid));
        if any_ok {
            self.stats.taken += 1;
        } else if any_err {
            self.stats.missed += 1;
        }
        if self.spies.is_empty() {
            return Some(match self.root_exit {
                Some(exit) if exit == ProcessExit::default() && self.child.is_none() => {
                    "process exited (status unknown: it was not started by Emberscope)".into()
                }
                Some(exit) => exit.reason(),
                None => "all sampled processes exited".into(),
            });
        }
        None
    }

    fn record_trace(&mut self, trace: &StackTrace, t_ns: f64) {
        if !trace.active && !self.opts.include_idle {
            return;
        }
        let pid = trace.pid as i64;
        let tid = trace.os_thread_id.map_or(trace.thread_id as i64, |t| t as i64);
        let name = trace.thread_name.clone();
        let index = match self.thread_index.get(&(pid, tid)) {
            Some(&i) => {
                if let Some(n) = name.filter(|n| *n != self.thread_names[i as usize]) {
                    self.thread_names[i as usize] = n.clone();
                    self.new_threads.push(ThreadInfo { index: i, pid, tid, name: n });
                }
                i
            }
            None => {
                let i = self.thread_names.len() as u32;
                let n = name.unwrap_or_else(|| format!("thread {tid}"));
                self.thread_index.insert((pid, tid), i);
                self.thread_names.push(n.clone());
                self.new_threads.push(ThreadInfo { index: i, pid, tid, name: n });
                i
            }
        };
        // py-spy lists frames innermost first; the stack table is built root first.
        let mut stack: i32 = -1;
        for f in trace.frames.iter().rev() {
            let frame = self.builder.frame(&f.name, Some(&f.filename), f.line.max(0) as u32);
            stack = self.builder.stack(stack, frame) as i32;
        }
        let s = &mut self.samples;
        s.thread_index.push(index);
        s.stack.push(stack);
        s.time_ns.push(t_ns);
        s.weight.push(1.0);
        s.gil.push(trace.owns_gil as u8);
        s.idle.push((!trace.active) as u8);
        self.stats.samples += 1;
    }

    /// How the root process ended, or None while it still runs (a read failed for another reason). A program we
    /// started reports through its launcher shell; an attached one through its zombie's /proc stat, if we look
    /// before its parent reaps it.
    fn read_root_exit(&mut self) -> Option<ProcessExit> {
        match self.child.as_mut() {
            Some(child) => child.exit(),
            None => read_zombie_exit(self.root_pid),
        }
    }

    fn attach_new_children(&mut self) {
        let descendants = list_descendants(self.root_pid);
        let spied: HashSet<i64> = self.spies.iter().map(|s| s.pid).collect();
        for pid in descendants {
            if spied.contains(&pid) {
                continue;
            }
            let attempts = self.child_attempts.entry(pid).or_insert(0);
            if *attempts >= CHILD_ATTACH_ATTEMPTS {
                continue;
            }
            *attempts += 1;
            let (exe, maps) = read_exe_and_maps(pid);
            if !looks_like_python(&exe, &[], maps.as_deref()) || detect_free_threaded(&exe, maps.as_deref()) {
                continue;
            }
            if let Ok(spy) = PythonSpy::new(pid as py_spy::Pid, &self.config) {
                self.spies.push(Spied { pid, spy });
            }
        }
    }

    fn cut_and_send(&mut self, ended: Option<String>) {
        let threads = std::mem::take(&mut self.new_threads);
        let samples = std::mem::take(&mut self.samples);
        let mut batch = self.cutter.cut(&self.builder, threads, samples);
        batch.stats = self.stats;
        if ended.is_some() {
            batch.exit = self.root_exit;
        }
        batch.ended = ended;
        // Cannot fail: the cutter continues exactly where the last batch ended. Held only for the append.
        let _ = apply_batch(&mut self.shared.live.lock().unwrap_or_else(|e| e.into_inner()), &batch);
        if let Some(rec) = self.recorder.as_mut() {
            if let Err(e) = rec.append(&batch) {
                // Keep sampling: the in-memory profile still has everything; the failure is reported in meta.
                self.recorder_error = Some(format!("writing {} failed: {e}", rec.path().display()));
                self.recorder = None;
            }
        }
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner()) = self.stats;
        self.deliver(batch);
    }

    /// Never blocks: when the channel is full the batch is merged into `pending` and goes with the next attempt.
    fn deliver(&mut self, batch: Batch) {
        let Some(tx) = &self.tx else { return };
        let merged = match self.pending.take() {
            Some(mut p) => {
                p.merge(batch);
                p
            }
            None => batch,
        };
        match tx.try_send(merged) {
            Ok(()) => {}
            Err(TrySendError::Full(b)) => self.pending = Some(b),
            Err(TrySendError::Disconnected(_)) => self.tx = None,
        }
    }

    /// The end-of-session batch goes to the channel if there is room, else to `Shared::leftover`, which the
    /// `BatchStream` yields after the channel is drained. Then the sender is dropped, ending the stream.
    fn deliver_final(&mut self) {
        if let Some(b) = self.pending.take() {
            let leftover = match &self.tx {
                Some(tx) => match tx.try_send(b) {
                    Ok(()) => None,
                    Err(TrySendError::Full(b)) => Some(b),
                    Err(TrySendError::Disconnected(_)) => None,
                },
                None => None,
            };
            *self.shared.leftover.lock().unwrap_or_else(|e| e.into_inner()) = leftover;
        }
        self.tx = None;
    }
}
