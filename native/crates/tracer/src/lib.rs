//! `_emberscope_tracer`: Emberscope's exact mode, a call tracer that runs inside the traced CPython process and
//! writes one crash-safe memory-mapped file per process (format: `emberscope_core::import::exact`).
//!
//! Python API (the bootstrap in `python/emberscope_exact_boot.py` is the one caller):
//! `start(path, process_json, *, min_duration_ns, max_depth, include, exclude, c_calls, ring_seconds, max_bytes)`,
//! `stop()`, `after_fork_in_child(path)`, `name_thread(native_id, name)`, `note(text)`, `status() -> dict`.

mod clock;
mod hook;
#[cfg(Py_3_12)]
mod monitor;
mod tracer;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use pyo3::exceptions::{PyImportError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use pyo3::{ffi, wrap_pyfunction};

use crate::hook::{ACTIVE, HOT};
use crate::tracer::{Settings, Tracer};

/// The CPython this module was built for ("3.11"): the extension suffix already keeps other versions from loading
/// it, this says why when someone renames the file.
const BUILT_FOR: &str = env!("EMBERSCOPE_PY_BUILD");
/// Test hook: `EMBERSCOPE_TRACER_SIMULATE=free-threaded|version|implementation` makes import fail as it would on
/// such an interpreter, `panic` makes the profile callback panic at the first call (test/python/test_exact_bounds.py);
/// nothing else reads it.
const SIMULATE_ENV: &str = "EMBERSCOPE_TRACER_SIMULATE";
/// Default size cap of one process's file.
const DEFAULT_MAX_BYTES: usize = 2 << 30;

/// Python objects the tracer uses after import, loaded once at import so a missing one fails there, by name.
struct Loaded {
    threading_setprofile: Py<PyAny>,
    threading_enumerate: Py<PyAny>,
    current_thread: Py<PyAny>,
}

static LOADED: PyOnceLock<Loaded> = PyOnceLock::new();

#[cfg(not(Py_3_12))]
extern "C" {
    // Exported by 3.11 (cpython/ceval.h); what PyEval_SetProfileAllThreads does per thread in 3.12.
    fn _PyEval_SetProfile(tstate: *mut ffi::PyThreadState, func: Option<ffi::Py_tracefunc>, arg: *mut ffi::PyObject) -> std::ffi::c_int;
}

fn check_supported(py: Python<'_>) -> PyResult<()> {
    let simulate = std::env::var(SIMULATE_ENV).unwrap_or_default();
    let sys = py.import("sys")?;
    let implementation: String = sys.getattr("implementation")?.getattr("name")?.extract()?;
    if implementation != "cpython" || simulate == "implementation" {
        return Err(PyImportError::new_err(format!(
            "emberscope exact mode needs CPython; this interpreter is {implementation}. Use sampling instead \
             (emberscope record without --exact)"
        )));
    }
    let version: (u32, u32) = sys.getattr("version_info")?.get_item(0)?.extract::<u32>().and_then(|major| {
        Ok((major, sys.getattr("version_info")?.get_item(1)?.extract::<u32>()?))
    })?;
    let running = format!("{}.{}", version.0, version.1);
    if running != BUILT_FOR || simulate == "version" {
        return Err(PyImportError::new_err(format!(
            "emberscope exact mode: this tracer was built for CPython {BUILT_FOR}, and this is CPython {running}. \
             Rebuild it for this interpreter (PYO3_PYTHON={} npm run build:tracer) or record by sampling",
            sys.getattr("executable")?
        )));
    }
    let gil_disabled = py
        .import("sysconfig")?
        .getattr("get_config_var")?
        .call1(("Py_GIL_DISABLED",))?
        .extract::<Option<i64>>()
        .unwrap_or(None)
        .unwrap_or(0);
    if gil_disabled != 0 || simulate == "free-threaded" {
        return Err(PyImportError::new_err(
            "emberscope exact mode does not support free-threaded CPython (Py_GIL_DISABLED, e.g. python3.13t): its \
             per-process code table relies on the GIL. Run the program with a regular CPython build, or record by \
             sampling",
        ));
    }
    Ok(())
}

fn load_objects(py: Python<'_>) -> PyResult<Loaded> {
    fn need<'py>(what: &str, r: PyResult<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        r.map_err(|e| PyImportError::new_err(format!("emberscope exact mode: cannot load {what}: {e}")))
    }
    let threading = need("the threading module", py.import("threading").map(|m| m.into_any()))?;
    Ok(Loaded {
        threading_setprofile: need("threading.setprofile", threading.getattr("setprofile"))?.unbind(),
        threading_enumerate: need("threading.enumerate", threading.getattr("enumerate"))?.unbind(),
        current_thread: need("threading.current_thread", threading.getattr("current_thread"))?.unbind(),
    })
}

/// The co_extra slot holds a plain integer (the code's table id): nothing to free.
unsafe extern "C" fn keep_extra(_: *mut std::ffi::c_void) {}

/// pthread_atfork child handler: runs in every fork child before any Python code, so the child never writes
/// into its parent's file. The bootstrap's os.register_at_fork hook then opens the child's own file.
extern "C" fn after_fork_child() {
    ACTIVE.store(false, Ordering::SeqCst);
}

/// Installs (or removes) the C profile function on every thread of the interpreter (3.11 and older; 3.12+ uses
/// sys.monitoring, monitor.rs).
#[cfg(not(Py_3_12))]
unsafe fn set_profile_all(on: bool) {
    let func: Option<ffi::Py_tracefunc> = if on { Some(hook::profile) } else { None };
    let mut t = ffi::PyInterpreterState_ThreadHead(ffi::PyInterpreterState_Get());
    while !t.is_null() {
        _PyEval_SetProfile(t, func, std::ptr::null_mut());
        t = ffi::PyThreadState_Next(t);
    }
}

#[pyfunction]
#[pyo3(signature = (path, process_json, *, min_duration_ns=0, max_depth=0, include=Vec::new(), exclude=Vec::new(),
    c_calls=false, ring_seconds=0.0, max_bytes=DEFAULT_MAX_BYTES))]
#[allow(clippy::too_many_arguments)]
fn start(
    py: Python<'_>,
    path: PathBuf,
    process_json: &str,
    min_duration_ns: u64,
    max_depth: usize,
    include: Vec<String>,
    exclude: Vec<String>,
    c_calls: bool,
    ring_seconds: f64,
    max_bytes: usize,
) -> PyResult<()> {
    if ACTIVE.load(Ordering::SeqCst) {
        return Err(PyRuntimeError::new_err("emberscope exact mode is already recording in this process"));
    }
    if !(0.0..=1e7).contains(&ring_seconds) {
        return Err(PyValueError::new_err("ring_seconds must be between 0 (keep everything) and 1e7"));
    }
    if max_bytes < (1 << 20) {
        return Err(PyValueError::new_err("max_bytes must be at least 1 MiB"));
    }
    let settings = Settings {
        min_duration_ns,
        max_depth,
        include,
        exclude,
        c_calls,
        ring_window_ns: (ring_seconds * 1e9) as u64,
        max_bytes,
    };
    // A second start in the same process keeps the code table: code objects keep their ids in co_extra (and the
    // include/exclude verdict made when each was first seen).
    let t = match unsafe { tracer::state() } {
        Some(t) => {
            t.settings = settings;
            t
        }
        None => unsafe { tracer::install(Tracer::new(settings)) },
    };
    open_trace(t, path, process_json)?;
    let loaded = LOADED.get(py).ok_or_else(|| PyRuntimeError::new_err("the module was not initialised"))?;
    for th in loaded.threading_enumerate.bind(py).call0()?.try_iter()? {
        let th = th?;
        if let (Ok(Some(id)), Ok(name)) = (th.getattr("native_id")?.extract::<Option<u64>>(), th.getattr("name")?.extract::<String>()) {
            t.name_thread(id, &name);
        }
    }
    // New threads still get a one-shot threading.setprofile hook: it names the thread (on 3.12+ that is all it does).
    loaded.threading_setprofile.bind(py).call1((wrap_pyfunction!(thread_hook, py)?,))?;
    #[cfg(Py_3_12)]
    monitor::start(py, c_calls)?;
    #[cfg(not(Py_3_12))]
    unsafe {
        set_profile_all(true)
    };
    Ok(())
}

/// Set with threading.setprofile: runs once in each new thread at its first call, names the thread and hands over
/// to the C callback, counting the call it was told about.
#[pyfunction]
fn thread_hook(py: Python<'_>, frame: Bound<'_, PyAny>, event: &str, _arg: Bound<'_, PyAny>) -> PyResult<()> {
    unsafe {
        if !ACTIVE.load(Ordering::SeqCst) {
            ffi::PyEval_SetProfile(None, std::ptr::null_mut());
            return Ok(());
        }
        // 3.12+: sys.monitoring already covers this thread, so the hook only names it and goes away.
        let next: Option<ffi::Py_tracefunc> = if cfg!(Py_3_12) { None } else { Some(hook::profile) };
        ffi::PyEval_SetProfile(next, std::ptr::null_mut());
    }
    if let (Some(loaded), Some(t)) = (LOADED.get(py), unsafe { tracer::state() }) {
        let name: String = loaded.current_thread.bind(py).call0()?.getattr("name")?.extract()?;
        t.name_thread(hook::gettid(), &name);
    }
    if !cfg!(Py_3_12) && event == "call" && unsafe { ffi::PyFrame_Check(frame.as_ptr()) } != 0 {
        unsafe { hook::enter_frame(frame.as_ptr() as *mut ffi::PyFrameObject) };
    }
    Ok(())
}

/// Stops recording and marks the file closed cleanly. Safe to call twice, or after the size cap stopped it.
#[pyfunction]
fn stop(py: Python<'_>) -> PyResult<()> {
    #[cfg(Py_3_12)]
    monitor::stop(py)?;
    unsafe {
        #[cfg(not(Py_3_12))]
        set_profile_all(false);
        if let Some(t) = tracer::state() {
            if t.message.is_none() {
                t.close(emberscope_core::import::exact::STATE_CLOSED);
            }
        }
    }
    if let Some(loaded) = LOADED.get(py) {
        loaded.threading_setprofile.bind(py).call1((py.None(),))?;
    }
    ACTIVE.store(false, Ordering::SeqCst);
    Ok(())
}

/// In a fork child (os.register_at_fork(after_in_child=...)): the child's records go to `path` from now on.
#[pyfunction]
fn after_fork_in_child(path: PathBuf, process_json: &str) -> PyResult<()> {
    let Some(t) = (unsafe { tracer::state() }) else { return Ok(()) };
    if t.message.is_some() {
        return Ok(()); // the parent had stopped (size cap): the child stays untraced too
    }
    open_trace(t, path, process_json)
}

/// Makes `path` this process's trace file (`start`, and a fork child's own file).
fn open_trace(t: &mut Tracer, path: PathBuf, process_json: &str) -> PyResult<()> {
    t.open(path.clone(), process_json)
        .map_err(|e| PyRuntimeError::new_err(format!("emberscope: cannot create the trace file {}: {e}", path.display())))
}

#[pyfunction]
fn name_thread(native_id: u64, name: &str) {
    if let Some(t) = unsafe { tracer::state() } {
        t.name_thread(native_id, name);
    }
}

#[pyfunction]
fn note(text: &str) {
    if let Some(t) = unsafe { tracer::state() } {
        t.note(text);
    }
}

/// {"active": bool, "path": str | None, "bytes": int, "message": str | None, "built_for": str}, and once started
/// "clock" ("tsc" | "monotonic"), "clock_hz", "clock_error_ppm", "clock_drift_ns" (see clock.rs).
#[pyfunction]
fn status(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("active", ACTIVE.load(Ordering::SeqCst))?;
    let t = unsafe { tracer::state() };
    d.set_item("path", t.as_ref().and_then(|t| t.writer.as_ref().map(|w| w.path.clone())))?;
    d.set_item("bytes", t.as_ref().and_then(|t| t.writer.as_ref().map(|w| w.bytes_used())).unwrap_or(0))?;
    d.set_item("message", t.as_ref().and_then(|t| t.message.clone()))?;
    d.set_item("built_for", BUILT_FOR)?;
    if let Some(t) = t.as_ref() {
        if let Some(rate) = t.rate {
            // How far the hot path's clock (converted to ns) is from CLOCK_MONOTONIC now, since the file started.
            let (t0, m0) = t.anchor;
            let (now_ticks, now_mono) = clock::anchor(&rate);
            let drift = (m0 + clock::to_ns(now_ticks.saturating_sub(t0), rate.mult)) as i64 - now_mono as i64;
            d.set_item("clock", if rate.tsc { "tsc" } else { "monotonic" })?;
            d.set_item("clock_hz", rate.hz)?;
            d.set_item("clock_error_ppm", rate.error_ppm)?;
            d.set_item("clock_drift_ns", drift)?;
        }
    }
    Ok(d)
}

#[pymodule]
fn _emberscope_tracer(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    check_supported(py)?;
    let loaded = load_objects(py)?;
    let _ = LOADED.set(py, loaded);
    // Code objects carry their table id in a co_extra slot: one array index per call instead of a hash lookup,
    // and a freed code object takes its id with it (no stale pointer can alias a new one).
    let index = unsafe { hook::code_extra::request(keep_extra) };
    if index < 0 {
        return Err(PyImportError::new_err(
            "emberscope exact mode: the interpreter has no free code-object extra slot (_PyEval_RequestCodeExtraIndex \
             failed); another tool (a JIT or debugger) took them all",
        ));
    }
    // A throwaway code object to prove the hot path's direct struct reads on this interpreter (hook.rs).
    let probe = py.eval(c"compile('0', '<emberscope-probe>', 'eval')", None, None)?;
    let direct = unsafe { hook::check_direct_reads(probe.as_ptr(), index as ffi::Py_ssize_t) };
    unsafe {
        HOT.get().extra_index = index as ffi::Py_ssize_t;
        HOT.get().simulate_panic = std::env::var(SIMULATE_ENV).is_ok_and(|v| v == "panic");
    }
    if unsafe { libc::pthread_atfork(None, None, Some(after_fork_child)) } != 0 {
        return Err(PyImportError::new_err("emberscope exact mode: pthread_atfork failed; fork children could not be traced safely"));
    }
    m.add_function(wrap_pyfunction!(start, m)?)?;
    m.add_function(wrap_pyfunction!(stop, m)?)?;
    m.add_function(wrap_pyfunction!(after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(name_thread, m)?)?;
    m.add_function(wrap_pyfunction!(note, m)?)?;
    m.add_function(wrap_pyfunction!(status, m)?)?;
    m.add_function(wrap_pyfunction!(thread_hook, m)?)?;
    m.add("BUILT_FOR", BUILT_FOR)?;
    m.add("DIRECT_READS", direct)?;
    Ok(())
}
