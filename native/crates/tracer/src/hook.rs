//! The profile callback and the per-thread state it writes through. The hot path (one Python call and its return)
//! reads the clock once per event, looks the code object up in its co_extra slot (no hash, no lock), pushes or pops
//! a small stack and, on return, stores one 16-byte record straight into the thread's chunk of the memory map.

use std::cell::UnsafeCell;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use emberscope_core::import::exact::{encode_duration, RECORD_LEN};
use pyo3::ffi;

use crate::{clock, tracer};

/// False when not recording (before start, after stop or the size cap, and in a fork child until it has its own
/// file). Checked first on every event.
pub static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Settings the hot path reads; written only while no callback can run (with the GIL, between events).
pub struct Hot {
    /// Bumped whenever the output file changes (start, fork): a thread whose `gen` differs drops its chunk.
    pub generation: u32,
    /// The clock's reading (ticks, see `clock`) at the file's start, and its ns per tick times 2^32.
    pub start_ticks: u64,
    pub mult: u64,
    pub min_duration_ns: u64,
    pub max_depth: usize,
    pub c_calls: bool,
    pub extra_index: ffi::Py_ssize_t,
    /// Test hook (EMBERSCOPE_TRACER_SIMULATE=panic): the callback panics at the first call, to show that a panic
    /// stops recording and the program goes on.
    pub simulate_panic: bool,
}

pub struct GilCell<T>(pub UnsafeCell<T>);
// Safety: only touched with the GIL held; free-threaded builds are refused at build time and at import.
unsafe impl<T> Sync for GilCell<T> {}
impl<T> GilCell<T> {
    /// Safety: the caller holds the GIL and keeps the reference for the current event only.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut T {
        &mut *self.0.get()
    }
}

pub static HOT: GilCell<Hot> = GilCell(UnsafeCell::new(Hot {
    generation: 0,
    start_ticks: 0,
    mult: 1 << 32,
    min_duration_ns: 0,
    max_depth: usize::MAX,
    c_calls: false,
    extra_index: -1,
    simulate_panic: false,
}));

/// Chunks whose thread ended: handed back to the writer (ring mode reuses them) at the next allocation.
/// A Mutex because thread-local destructors run without the GIL; never taken on the hot path.
pub static ORPHANS: Mutex<Vec<(u32, usize, u64)>> = Mutex::new(Vec::new());

/// Bit 0 of a resolved code's value: its calls are filtered out (include/exclude paths).
pub const SKIP: usize = 1;
/// Bit 1: set on every resolved value, so a resolved value is never 0 (0 is "not resolved yet").
pub const RESOLVED: usize = 2;

struct Open {
    start: u64,
    value: usize,
    c_call: bool,
}

pub struct ThreadState {
    generation: u32,
    pub tid: u64,
    stack: Vec<Open>,
    chunk_offset: usize,
    payload: *mut u8,
    len: *mut u32,
    pos: u32,
    cap: u32,
    last_end: u64,
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        if self.cap > 0 {
            if let Ok(mut o) = ORPHANS.lock() {
                o.push((self.generation, self.chunk_offset, self.last_end));
            }
        }
    }
}

thread_local! {
    static TS: UnsafeCell<ThreadState> = const { UnsafeCell::new(ThreadState {
        generation: 0,
        tid: 0,
        stack: Vec::new(),
        chunk_offset: 0,
        payload: ptr::null_mut(),
        len: ptr::null_mut(),
        pos: 0,
        cap: 0,
        last_end: 0,
    }) };
}

pub fn gettid() -> u64 {
    unsafe { libc::syscall(libc::SYS_gettid) as u64 }
}

/// The callback given to `PyEval_SetProfile` for every traced thread.
pub unsafe extern "C" fn profile(_obj: *mut ffi::PyObject, frame: *mut ffi::PyFrameObject, what: c_int, arg: *mut ffi::PyObject) -> c_int {
    if !ACTIVE.load(Ordering::Relaxed) {
        return 0;
    }
    let now = clock::ticks();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        TS.with(|cell| on_event(&mut *cell.get(), frame, what, arg, now));
    }));
    if r.is_err() {
        tracer::fail("a panic in the profile callback");
    }
    0
}

/// The current thread's state, for the Python-level entry points (thread start).
pub fn with_thread<R>(f: impl FnOnce(&mut ThreadState) -> R) -> R {
    TS.with(|cell| f(unsafe { &mut *cell.get() }))
}

#[inline(always)]
unsafe fn on_event(ts: &mut ThreadState, frame: *mut ffi::PyFrameObject, what: c_int, arg: *mut ffi::PyObject, now: u64) {
    let hot = HOT.get();
    match what {
        ffi::PyTrace_CALL => {
            if hot.simulate_panic {
                panic!("simulated panic (EMBERSCOPE_TRACER_SIMULATE=panic)");
            }
            let value = frame_code_value(frame, hot.extra_index);
            ts.stack.push(Open { start: now, value, c_call: false });
        }
        ffi::PyTrace_RETURN => return_python(ts, hot, now),
        ffi::PyTrace_C_CALL if hot.c_calls => {
            let value = tracer::c_function_value(arg);
            ts.stack.push(Open { start: now, value, c_call: true });
        }
        ffi::PyTrace_C_RETURN | ffi::PyTrace_C_EXCEPTION if hot.c_calls => return_c(ts, hot, now),
        _ => {}
    }
}

/// The innermost Python call returned: pops to it (a C call left open, never seen to return, goes with it).
#[inline(always)]
unsafe fn return_python(ts: &mut ThreadState, hot: &Hot, now: u64) {
    while let Some(open) = ts.stack.pop() {
        if !open.c_call {
            finish(ts, hot, open, now);
            break;
        }
    }
}

/// The innermost C call returned or raised.
#[inline(always)]
unsafe fn return_c(ts: &mut ThreadState, hot: &Hot, now: u64) {
    if let Some(open) = ts.stack.pop_if(|o| o.c_call) {
        finish(ts, hot, open, now);
    }
}

/// The co_extra API: underscore names up to 3.11, renamed PyUnstable_* in 3.12 (the old names are macros there,
/// with no symbol to link).
pub mod code_extra {
    #[cfg(not(Py_3_12))]
    pub use pyo3::ffi::{_PyCode_GetExtra as get, _PyCode_SetExtra as set, _PyEval_RequestCodeExtraIndex as request};
    #[cfg(Py_3_12)]
    extern "C" {
        #[link_name = "PyUnstable_Code_GetExtra"]
        pub fn get(code: *mut pyo3::ffi::PyObject, index: pyo3::ffi::Py_ssize_t, extra: *const *mut std::ffi::c_void) -> std::ffi::c_int;
        #[link_name = "PyUnstable_Code_SetExtra"]
        pub fn set(code: *mut pyo3::ffi::PyObject, index: pyo3::ffi::Py_ssize_t, extra: *mut std::ffi::c_void) -> std::ffi::c_int;
        #[link_name = "PyUnstable_Eval_RequestCodeExtraIndex"]
        pub fn request(free: pyo3::ffi::freefunc) -> std::ffi::c_int;
    }
}

/// True when the 3.11 struct reads below were checked against the C API at import (`check_direct_reads`).
static DIRECT: AtomicBool = AtomicBool::new(false);

// CPython 3.11's layouts (Include/internal/pycore_frame.h, Include/cpython/code.h): PyFrameObject.f_frame, the
// _PyInterpreterFrame's f_code, and PyCodeObject.co_extra (a `_PyCodeObjectExtra { Py_ssize_t ce_size; void
// *ce_extras[] }`). Reading them directly saves the hot path two calls into libpython and a reference count
// round trip per call; `check_direct_reads` proves each offset on this interpreter before they are used.
const FRAME_F_FRAME: usize = 24;
const IFRAME_F_CODE: usize = 32;
const CODE_CO_EXTRA: usize = 176;

/// The code-table value of the frame's code object.
#[inline(always)]
unsafe fn frame_code_value(frame: *mut ffi::PyFrameObject, index: ffi::Py_ssize_t) -> usize {
    if cfg!(all(Py_3_11, not(Py_3_12))) && DIRECT.load(Ordering::Relaxed) {
        let iframe = *((frame as *const u8).add(FRAME_F_FRAME) as *const *const u8);
        // Borrowed: the frame holds a reference for as long as the callback runs.
        let code = *(iframe.add(IFRAME_F_CODE) as *const *mut ffi::PyCodeObject);
        let extra = *((code as *const u8).add(CODE_CO_EXTRA) as *const *const ffi::Py_ssize_t);
        if !extra.is_null() && *extra > index {
            let value = *extra.add(1 + index as usize) as usize;
            if value != 0 {
                return value;
            }
        }
        return code_value(code, index);
    }
    let code = ffi::PyFrame_GetCode(frame);
    let value = code_value(code, index);
    ffi::Py_DECREF(code as *mut ffi::PyObject);
    value
}

/// Turns on the direct struct reads when this interpreter's layout is the one they assume: the current frame's
/// code through the offsets is the one `PyFrame_GetCode` gives, and on a fresh code object the word at
/// `CODE_CO_EXTRA` goes from NULL to a pointer to our value exactly when `_PyCode_SetExtra` stores it. Anything
/// else (another version, a debug build, no Python frame) keeps the C API. Safety: GIL held, `index` is ours.
pub unsafe fn check_direct_reads(probe: *mut ffi::PyObject, index: ffi::Py_ssize_t) -> bool {
    if !cfg!(all(Py_3_11, not(Py_3_12))) || index < 0 || ffi::PyCode_Check(probe) == 0 {
        return false;
    }
    if ((*ffi::Py_TYPE(probe)).tp_basicsize as usize) < CODE_CO_EXTRA + 8 {
        return false;
    }
    let frame = ffi::PyEval_GetFrame();
    if frame.is_null() {
        return false;
    }
    let api = ffi::PyFrame_GetCode(frame);
    ffi::Py_DECREF(api as *mut ffi::PyObject);
    let iframe = *((frame as *const u8).add(FRAME_F_FRAME) as *const *const u8);
    if iframe.is_null() || *(iframe.add(IFRAME_F_CODE) as *const *mut ffi::PyCodeObject) != api {
        return false;
    }
    let slot = (probe as *const u8).add(CODE_CO_EXTRA) as *const *const ffi::Py_ssize_t;
    if !(*slot).is_null() {
        return false;
    }
    const MARK: usize = 0x5eed_0002;
    if code_extra::set(probe, index, MARK as *mut c_void) != 0 {
        ffi::PyErr_Clear();
        return false;
    }
    let extra = *slot;
    let ok = !extra.is_null() && *extra > index && *extra.add(1 + index as usize) as usize == MARK;
    DIRECT.store(ok, Ordering::SeqCst);
    ok
}

/// The code's id and flags from its co_extra slot, resolving it (once per code object) on a miss.
#[inline(always)]
unsafe fn code_value(code: *mut ffi::PyCodeObject, index: ffi::Py_ssize_t) -> usize {
    let mut extra: *mut c_void = ptr::null_mut();
    code_extra::get(code as *mut ffi::PyObject, index, &mut extra as *mut *mut c_void as *const *mut c_void);
    if !extra.is_null() {
        return extra as usize;
    }
    let value = tracer::resolve_code(code);
    code_extra::set(code as *mut ffi::PyObject, index, value as *mut c_void);
    value
}

/// Called by the thread-start hook for the call whose event it received before the C callback was installed.
pub unsafe fn enter_frame(frame: *mut ffi::PyFrameObject) {
    let hot = HOT.get();
    let now = clock::ticks();
    let value = frame_code_value(frame, hot.extra_index);
    with_thread(|ts| ts.stack.push(Open { start: now, value, c_call: false }));
}

#[inline(always)]
unsafe fn finish(ts: &mut ThreadState, hot: &Hot, open: Open, now: u64) {
    let depth = ts.stack.len();
    let duration = clock::to_ns(now.saturating_sub(open.start), hot.mult);
    if open.value & SKIP != 0 || depth >= hot.max_depth || duration < hot.min_duration_ns {
        return;
    }
    if ts.generation != hot.generation || ts.pos as usize + RECORD_LEN > ts.cap as usize {
        if !next_chunk(ts, hot, now) {
            return;
        }
    }
    let start = clock::to_ns(open.start.saturating_sub(hot.start_ticks), hot.mult);
    let a = start << 16 | depth.min(u16::MAX as usize) as u64;
    let b = ((open.value >> 2) as u64) << 32 | encode_duration(duration) as u64;
    let p = ts.payload.add(ts.pos as usize) as *mut u64;
    p.write(a.to_le());
    p.add(1).write(b.to_le());
    ts.pos += RECORD_LEN as u32;
    // The record is whole before the length that makes it visible to a reader of the file.
    ts.len.write_volatile(ts.pos);
    ts.last_end = start + duration;
}

#[cold]
unsafe fn next_chunk(ts: &mut ThreadState, hot: &Hot, now: u64) -> bool {
    let Some(t) = tracer::state() else { return false };
    if ts.generation == hot.generation && ts.cap > 0 {
        t.retire(ts.chunk_offset, ts.last_end);
    }
    if ts.generation != hot.generation {
        // A new file (start, or the first event in a fork child): the old chunk belongs to the old file, and a
        // fork child's thread id is its own.
        ts.tid = gettid();
        ts.generation = hot.generation;
    }
    ts.cap = 0;
    match t.records_chunk(ts.tid, clock::to_ns(now.saturating_sub(hot.start_ticks), hot.mult)) {
        Some(c) => {
            ts.chunk_offset = c.offset;
            ts.payload = c.payload;
            ts.len = c.len;
            ts.cap = c.cap;
            ts.pos = 0;
            true
        }
        None => false,
    }
}

// The sys.monitoring callbacks' entry points (3.12+, monitor.rs): the same stack and records as `on_event`, given
// the code object directly instead of a frame.

/// A Python call (or a generator's resumption) of `code` (borrowed) began at `now`.
#[cfg(Py_3_12)]
#[inline(always)]
pub unsafe fn enter_code(code: *mut ffi::PyCodeObject, now: u64) {
    let hot = HOT.get();
    if hot.simulate_panic {
        panic!("simulated panic (EMBERSCOPE_TRACER_SIMULATE=panic)");
    }
    let value = code_value(code, hot.extra_index);
    TS.with(|cell| (*cell.get()).stack.push(Open { start: now, value, c_call: false }));
}

/// The innermost Python call returned, yielded or unwound: pops to it (a C call left open goes with it).
#[cfg(Py_3_12)]
#[inline(always)]
pub unsafe fn leave_python(now: u64) {
    TS.with(|cell| return_python(&mut *cell.get(), HOT.get(), now));
}

/// A call of a builtin (its code-table value) began.
#[cfg(Py_3_12)]
pub unsafe fn enter_c(value: usize, now: u64) {
    TS.with(|cell| (*cell.get()).stack.push(Open { start: now, value, c_call: true }));
}

/// The innermost C call returned or raised.
#[cfg(Py_3_12)]
pub unsafe fn leave_c(now: u64) {
    TS.with(|cell| return_c(&mut *cell.get(), HOT.get(), now));
}
