//! The hot path's clock: the CPU's time-stamp counter where it is safe, `CLOCK_MONOTONIC` elsewhere.
//!
//! Every event reads the clock, so its cost is paid twice per call. On this project's VMs a vDSO
//! `clock_gettime` costs 40–130 ns; `rdtsc` costs a few (VizTracer reads it too). Records are stored in ns, so
//! ticks are converted when a call finishes: `ns = ticks * mult >> 32`, with `mult` calibrated against
//! `CLOCK_MONOTONIC` once per process.
//!
//! - **When rdtsc is used**: x86-64, `/proc/cpuinfo` lists `constant_tsc` (the rate does not follow the CPU's
//!   frequency) and `nonstop_tsc` (it does not stop in deep C-states), and the kernel's clocksource is `tsc`
//!   (the kernel checked that the counters of all cores agree, so a thread that moves to another core mid-call
//!   reads the same time line). Otherwise, and when `EMBERSCOPE_TRACER_CLOCK=monotonic`, the clock is
//!   `CLOCK_MONOTONIC` itself (ticks are ns, `mult` is 1.0).
//! - **Calibration**: [`CALIBRATION_NS`] of spinning at the first start in a process. Each end of the interval is
//!   the tightest of a few `rdtsc, clock_gettime, rdtsc` brackets; the rate's error is at most the two brackets'
//!   half-widths over the interval (reported by `status()` as `clock_error_ppm`; a few ppm here, against
//!   100–200 ns of jitter per `clock_gettime` read). Durations are off by that fraction (a few ns per ms); start
//!   times drift from `CLOCK_MONOTONIC` by it over a run (a few µs per second, which only matters when lining up
//!   processes of one run; `status()` measures it as `clock_drift_ns`). Fork children inherit the rate.

use std::sync::atomic::{AtomicBool, Ordering};

/// How long the first start spins to learn the counter's rate.
pub const CALIBRATION_NS: u64 = 2_000_000;

/// True when the hot path reads the time-stamp counter (set once per process, before recording starts).
pub static USE_TSC: AtomicBool = AtomicBool::new(false);

/// The counter's rate and how good it is.
#[derive(Clone, Copy)]
pub struct Rate {
    /// ns per tick, times 2^32.
    pub mult: u64,
    pub tsc: bool,
    pub hz: f64,
    pub error_ppm: f64,
}

pub const NS_RATE: Rate = Rate { mult: 1 << 32, tsc: false, hz: 1e9, error_ppm: 0.0 };

#[inline(always)]
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The hot path's clock, in ticks (see [`Rate`]).
#[inline(always)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if USE_TSC.load(Ordering::Relaxed) {
        // Safety: rdtsc exists on every x86-64 CPU; whether its values are usable was checked in `calibrate`.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    mono_ns()
}

/// Ticks to ns.
#[inline(always)]
pub fn to_ns(ticks: u64, mult: u64) -> u64 {
    ((ticks as u128 * mult as u128) >> 32) as u64
}

/// A (ticks, CLOCK_MONOTONIC) pair read as close together as possible: the ticks are the middle of the tightest
/// of a few brackets, returned with that bracket's width.
#[cfg(target_arch = "x86_64")]
fn pair() -> (u64, u64, u64) {
    use core::arch::x86_64::_rdtsc;
    let mut best = (0, 0, u64::MAX);
    for _ in 0..7 {
        let a = unsafe { _rdtsc() };
        let m = mono_ns();
        let b = unsafe { _rdtsc() };
        if b > a && b - a < best.2 {
            best = (a + (b - a) / 2, m, b - a);
        }
    }
    best
}

/// Whether this machine's time-stamp counter can stand in for CLOCK_MONOTONIC (see the module's doc).
fn tsc_is_safe() -> bool {
    if !cfg!(target_arch = "x86_64") || std::env::var("EMBERSCOPE_TRACER_CLOCK").is_ok_and(|v| v == "monotonic") {
        return false;
    }
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = flags.lines().find(|l| l.starts_with("flags")).unwrap_or("");
    let has = |f: &str| flags.split_whitespace().any(|w| w == f);
    let source = std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource").unwrap_or_default();
    has("constant_tsc") && has("nonstop_tsc") && source.trim() == "tsc"
}

/// Picks the clock and learns its rate; spins for [`CALIBRATION_NS`] when it is the counter.
pub fn calibrate() -> Rate {
    #[cfg(target_arch = "x86_64")]
    if tsc_is_safe() {
        let (t0, m0, w0) = pair();
        while mono_ns() < m0 + CALIBRATION_NS {
            std::hint::spin_loop();
        }
        let (t1, m1, w1) = pair();
        if t1 > t0 && m1 > m0 && w0 != u64::MAX && w1 != u64::MAX {
            let ns_per_tick = (m1 - m0) as f64 / (t1 - t0) as f64;
            let hz = 1e9 / ns_per_tick;
            // Outside 100 MHz–20 GHz the counter is not what we think it is (a broken hypervisor): keep the clock.
            if (1e8..2e10).contains(&hz) {
                let error_ppm = (w0 + w1) as f64 / 2.0 / (t1 - t0) as f64 * 1e6;
                return Rate { mult: (ns_per_tick * 4_294_967_296.0).round() as u64, tsc: true, hz, error_ppm };
            }
        }
    }
    NS_RATE
}

/// A (ticks, CLOCK_MONOTONIC ns) pair read together, to anchor ticks to the file's start time.
pub fn anchor(rate: &Rate) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    if rate.tsc {
        let (t, m, _) = pair();
        return (t, m);
    }
    let m = mono_ns();
    (m, m)
}
