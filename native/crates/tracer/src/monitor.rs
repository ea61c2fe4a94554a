//! CPython 3.12+: the hooks through `sys.monitoring` (PEP 669) instead of `PyEval_SetProfile`. One tool id, events
//! set globally (every thread, present and future, without a per-thread hook), callbacks that are C functions
//! (METH_FASTCALL, no argument parsing) feeding the same per-thread stacks and records as the profile callback.
//!
//! Events → the profile callback's: PY_START, PY_RESUME, PY_THROW = a Python call; PY_RETURN, PY_YIELD, PY_UNWIND
//! = its return (a generator's every resumption is a call, as under setprofile); with C calls on, CALL of a builtin
//! = a C call, C_RETURN, C_RAISE = its return.

use std::ffi::CStr;
use std::sync::atomic::Ordering;

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::hook::{self, ACTIVE};
use crate::{clock, tracer};

/// The tool id in use while recording (None when not).
static TOOL: hook::GilCell<Option<u8>> = hook::GilCell(std::cell::UnsafeCell::new(None));

type Fast = unsafe extern "C" fn(*mut ffi::PyObject, *mut *mut ffi::PyObject, ffi::Py_ssize_t) -> *mut ffi::PyObject;

#[inline(always)]
unsafe fn guarded(f: impl FnOnce(u64)) -> *mut ffi::PyObject {
    if ACTIVE.load(Ordering::Relaxed) {
        let now = clock::ticks();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(now))).is_err() {
            tracer::fail("a panic in the profile callback");
        }
    }
    ffi::Py_NewRef(ffi::Py_None())
}

unsafe extern "C" fn on_py_call(_: *mut ffi::PyObject, args: *mut *mut ffi::PyObject, _n: ffi::Py_ssize_t) -> *mut ffi::PyObject {
    guarded(|now| hook::enter_code(*args as *mut ffi::PyCodeObject, now))
}

unsafe extern "C" fn on_py_return(_: *mut ffi::PyObject, _args: *mut *mut ffi::PyObject, _n: ffi::Py_ssize_t) -> *mut ffi::PyObject {
    guarded(|now| hook::leave_python(now))
}

unsafe extern "C" fn on_call(_: *mut ffi::PyObject, args: *mut *mut ffi::PyObject, n: ffi::Py_ssize_t) -> *mut ffi::PyObject {
    // CALL is reported for every callable; only builtins are C calls (as PyTrace_C_CALL under setprofile).
    if n >= 3 && ffi::PyCFunction_Check(*args.add(2)) != 0 {
        return guarded(|now| hook::enter_c(tracer::c_function_value(*args.add(2)), now));
    }
    if n >= 3 && ffi::Py_TYPE(*args.add(2)) == std::ptr::addr_of_mut!(ffi::PyMethodDescr_Type) {
        return guarded(|now| hook::enter_c(tracer::method_descr_value(*args.add(2)), now));
    }
    ffi::Py_NewRef(ffi::Py_None())
}

unsafe extern "C" fn on_c_return(_: *mut ffi::PyObject, _args: *mut *mut ffi::PyObject, _n: ffi::Py_ssize_t) -> *mut ffi::PyObject {
    guarded(|now| hook::leave_c(now))
}

fn callback<'py>(py: Python<'py>, name: &'static CStr, f: Fast) -> PyResult<Bound<'py, PyAny>> {
    // Leaked on purpose: a function object points at its method def for as long as it lives (a few per process).
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: f },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: std::ptr::null(),
    }));
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyCFunction_NewEx(def, std::ptr::null_mut(), std::ptr::null_mut())) }
}

/// Takes a tool id (PROFILER_ID, else the first free one), registers the callbacks and turns the events on.
pub fn start(py: Python<'_>, c_calls: bool) -> PyResult<()> {
    stop(py)?;
    let mon = py.import("sys")?.getattr("monitoring")?;
    let mut tool = None;
    let preferred: u8 = mon.getattr("PROFILER_ID")?.extract()?;
    for id in std::iter::once(preferred).chain(0..6) {
        if mon.call_method1("get_tool", (id,))?.is_none() {
            tool = Some(id);
            break;
        }
    }
    let tool = tool.ok_or_else(|| {
        PyRuntimeError::new_err("emberscope exact mode: every sys.monitoring tool id is taken (by debuggers or profilers); stop one and retry")
    })?;
    mon.call_method1("use_tool_id", (tool, "emberscope"))?;
    let ev = mon.getattr("events")?;
    let e = |n: &str| -> PyResult<u32> { ev.getattr(n)?.extract() };
    let mut set = 0u32;
    let mut register = |names: &[&str], name: &'static CStr, f: Fast| -> PyResult<()> {
        let cb = callback(py, name, f)?;
        for n in names {
            let bit = e(n)?;
            mon.call_method1("register_callback", (tool, bit, &cb))?;
            set |= bit;
        }
        Ok(())
    };
    register(&["PY_START", "PY_RESUME", "PY_THROW"], c"emberscope_py_call", on_py_call)?;
    register(&["PY_RETURN", "PY_YIELD", "PY_UNWIND"], c"emberscope_py_return", on_py_return)?;
    if c_calls {
        register(&["CALL"], c"emberscope_call", on_call)?;
        register(&["C_RETURN", "C_RAISE"], c"emberscope_c_return", on_c_return)?;
    }
    mon.call_method1("set_events", (tool, set))?;
    unsafe { *TOOL.get() = Some(tool) };
    Ok(())
}

/// Turns the events off and gives the tool id back. Safe to call when not started.
pub fn stop(py: Python<'_>) -> PyResult<()> {
    let Some(tool) = (unsafe { TOOL.get().take() }) else { return Ok(()) };
    let mon = py.import("sys")?.getattr("monitoring")?;
    mon.call_method1("set_events", (tool, 0))?;
    mon.call_method1("free_tool_id", (tool,))?;
    Ok(())
}
