//! The process's tracer: its file, its code table and its settings. One per process, touched only with the GIL held.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use emberscope_core::import::exact as fmt;
use pyo3::ffi;

use crate::clock;
use crate::hook::{self, GilCell, ACTIVE, HOT, RESOLVED, SKIP};
use crate::writer::{self, Chunk, Full, Writer};

pub struct Settings {
    pub min_duration_ns: u64,
    pub max_depth: usize,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub c_calls: bool,
    pub ring_window_ns: u64,
    pub max_bytes: usize,
}

pub struct Tracer {
    pub settings: Settings,
    pub writer: Option<Writer>,
    /// Every code-table entry written so far, encoded: a fork child's new file starts with all of them, since
    /// the ids live on in the code objects' co_extra slots.
    codes: Vec<Vec<u8>>,
    /// Thread names by native id, re-written into a fork child's file.
    names: Vec<Vec<u8>>,
    next_id: u32,
    /// C functions by their PyMethodDef (or type, for other callables): C functions have no co_extra slot.
    c_functions: HashMap<usize, usize>,
    pub message: Option<String>,
    warned_young: bool,
    /// The hot path's clock, learned at the first start (a fork child keeps its parent's).
    pub rate: Option<clock::Rate>,
    /// (ticks, CLOCK_MONOTONIC ns) read together when the current file started.
    pub anchor: (u64, u64),
}

static STATE: GilCell<Option<Tracer>> = GilCell(UnsafeCell::new(None));

/// The tracer, when one was started in this process. Safety: GIL held.
pub unsafe fn state() -> Option<&'static mut Tracer> {
    STATE.get().as_mut()
}

pub unsafe fn install(t: Tracer) -> &'static mut Tracer {
    *STATE.get() = Some(t);
    STATE.get().as_mut().unwrap()
}

impl Tracer {
    pub fn new(settings: Settings) -> Tracer {
        Tracer {
            settings,
            writer: None,
            codes: Vec::new(),
            names: Vec::new(),
            next_id: 0,
            c_functions: HashMap::new(),
            message: None,
            warned_young: false,
            rate: None,
            anchor: (0, 0),
        }
    }

    /// Opens `path` as this process's file and makes it the one records go to.
    pub fn open(&mut self, path: PathBuf, argv_json: &str) -> std::io::Result<()> {
        ACTIVE.store(false, Ordering::SeqCst);
        self.writer = None;
        let rate = *self.rate.get_or_insert_with(clock::calibrate);
        clock::USE_TSC.store(rate.tsc, Ordering::SeqCst);
        let (start_ticks, start_mono) = clock::anchor(&rate);
        self.anchor = (start_ticks, start_mono);
        let start_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let s = &self.settings;
        let mut w = Writer::create(
            &path,
            &writer::Options {
                pid: std::process::id(),
                ppid: unsafe { libc::getppid() } as u32,
                start_mono,
                start_unix,
                max_bytes: s.max_bytes,
                ring_window_ns: s.ring_window_ns,
                flags: if s.c_calls { fmt::FLAG_C_CALLS } else { 0 },
            },
        )?;
        let io = |e: Full| match e {
            Full::Cap => std::io::Error::other("the size cap is too small to hold the code table"),
            Full::Disk(e) => e,
        };
        w.append_meta(&writer::encode_meta(&format!("{{\"process\":{argv_json}}}"))).map_err(io)?;
        for e in &self.codes {
            w.append_code(e).map_err(io)?;
        }
        for e in &self.names {
            w.append_meta(e).map_err(io)?;
        }
        self.writer = Some(w);
        self.message = None;
        let hot = unsafe { HOT.get() };
        hot.generation = hot.generation.wrapping_add(1);
        hot.start_ticks = start_ticks;
        hot.mult = rate.mult;
        hot.min_duration_ns = s.min_duration_ns;
        hot.max_depth = if s.max_depth == 0 { usize::MAX } else { s.max_depth };
        hot.c_calls = s.c_calls;
        hook::ORPHANS.lock().map(|mut o| o.clear()).ok();
        ACTIVE.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Marks the file as closed cleanly and stops recording; the file stays readable.
    pub fn close(&mut self, state: u32) {
        ACTIVE.store(false, Ordering::SeqCst);
        if let Some(w) = self.writer.as_mut() {
            w.set_state(state);
            w.trim();
        }
    }

    pub fn name_thread(&mut self, tid: u64, name: &str) {
        let e = writer::encode_meta(&serde_json::json!({ "thread": tid, "name": name }).to_string());
        if let Some(w) = self.writer.as_mut() {
            let _ = w.append_meta(&e);
        }
        self.names.push(e);
    }

    pub fn note(&mut self, text: &str) {
        let e = writer::encode_meta(&serde_json::json!({ "note": text }).to_string());
        if let Some(w) = self.writer.as_mut() {
            let _ = w.append_meta(&e);
        }
    }

    pub fn retire(&mut self, offset: usize, last_end: u64) {
        if let Some(w) = self.writer.as_mut() {
            w.retire(offset, last_end);
        }
    }

    pub fn records_chunk(&mut self, tid: u64, now_rel: u64) -> Option<Chunk> {
        let generation = unsafe { HOT.get().generation };
        let w = self.writer.as_mut()?;
        if let Ok(mut orphans) = hook::ORPHANS.lock() {
            for (g, offset, end) in orphans.drain(..) {
                if g == generation {
                    w.retire(offset, end);
                }
            }
        }
        match w.records_chunk(tid, now_rel) {
            Ok((c, young)) => {
                if young && !self.warned_young {
                    self.warned_young = true;
                    let text = format!(
                        "the ring reached the size cap ({} MiB) before the window of {} s had passed: it keeps less \
                         than the window; raise --max-size to keep all of it",
                        self.settings.max_bytes >> 20,
                        self.settings.ring_window_ns as f64 / 1e9
                    );
                    eprintln!("emberscope: {text}");
                    self.note(&text);
                }
                Some(c)
            }
            Err(Full::Cap) => {
                self.stop_with(
                    fmt::STATE_SIZE_CAP,
                    format!(
                        "the exact trace reached its size cap of {} MiB; recording stopped there and the program goes \
                         on untraced. Record less (--min-duration, --max-depth, --include) or raise --max-size",
                        self.settings.max_bytes >> 20
                    ),
                );
                None
            }
            Err(Full::Disk(e)) => {
                self.stop_with(fmt::STATE_ERROR, format!("the disk refused to grow the trace file ({e}); recording stopped there"));
                None
            }
        }
    }

    fn stop_with(&mut self, state: u32, text: String) {
        let path = self.writer.as_ref().map(|w| w.path.clone()).unwrap_or_default();
        eprintln!("emberscope: {text} ({path})");
        self.note(&text);
        self.close(state);
        self.message = Some(text);
    }

    fn add_code(&mut self, name: &str, file: &str, line: u32, native: bool) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        let e = writer::encode_code(id, line, native, name, file);
        if let Some(w) = self.writer.as_mut() {
            if let Err(Full::Cap) | Err(Full::Disk(_)) = w.append_code(&e) {
                // The records that follow would have no name; the importer shows them as <unknown code>.
            }
        }
        self.codes.push(e);
        let s = &self.settings;
        let skip = (!native && !s.include.is_empty() && !s.include.iter().any(|p| file.starts_with(p.as_str())))
            || (!native && s.exclude.iter().any(|p| file.starts_with(p.as_str())));
        (id as usize) << 2 | RESOLVED | if skip { SKIP } else { 0 }
    }
}

/// Called by `hook::fail` paths: stops recording and reports through sys.unraisablehook, never into the program.
pub fn fail(what: &str) {
    ACTIVE.store(false, Ordering::SeqCst);
    let text = format!("emberscope tracer: internal error ({what}); recording stopped, the program goes on");
    unsafe {
        if let Some(t) = state() {
            t.note(&text);
            t.close(fmt::STATE_ERROR);
            // Keeps stop() (atexit) from marking the file as closed cleanly.
            t.message = Some(text.clone());
        }
        let c = std::ffi::CString::new(text).unwrap_or_default();
        let mut saved = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        ffi::PyErr_Fetch(&mut saved.0, &mut saved.1, &mut saved.2);
        ffi::PyErr_SetString(ffi::PyExc_RuntimeError, c.as_ptr());
        ffi::PyErr_WriteUnraisable(std::ptr::null_mut());
        ffi::PyErr_Restore(saved.0, saved.1, saved.2);
    }
}

/// Reads a str attribute of `obj` (no Python code runs: code objects' attributes are C getters).
unsafe fn str_attr(obj: *mut ffi::PyObject, name: &CStr) -> String {
    let v = ffi::PyObject_GetAttrString(obj, name.as_ptr());
    if v.is_null() {
        ffi::PyErr_Clear();
        return String::new();
    }
    let s = str_of(v);
    ffi::Py_DECREF(v);
    s
}

unsafe fn str_of(v: *mut ffi::PyObject) -> String {
    if ffi::PyUnicode_Check(v) == 0 {
        return String::new();
    }
    let mut n: ffi::Py_ssize_t = 0;
    let p = ffi::PyUnicode_AsUTF8AndSize(v, &mut n);
    if p.is_null() {
        ffi::PyErr_Clear();
        return String::new();
    }
    String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, n as usize)).into_owned()
}

/// Resolves a code object to a code-table entry (once: the result goes into its co_extra slot).
pub unsafe fn resolve_code(code: *mut ffi::PyCodeObject) -> usize {
    let mut saved = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
    ffi::PyErr_Fetch(&mut saved.0, &mut saved.1, &mut saved.2);
    let obj = code as *mut ffi::PyObject;
    // co_qualname is 3.11+; 3.9 and 3.10 have only the bare name.
    let name = if cfg!(Py_3_11) { str_attr(obj, c"co_qualname") } else { str_attr(obj, c"co_name") };
    let file = str_attr(obj, c"co_filename");
    let line_obj = ffi::PyObject_GetAttrString(obj, c"co_firstlineno".as_ptr());
    let line = if line_obj.is_null() {
        ffi::PyErr_Clear();
        0
    } else {
        let l = ffi::PyLong_AsLong(line_obj);
        ffi::Py_DECREF(line_obj);
        if l < 0 {
            ffi::PyErr_Clear();
            0
        } else {
            l as u32
        }
    };
    let value = match state() {
        Some(t) => t.add_code(&name, &file, line, false),
        None => RESOLVED | SKIP,
    };
    ffi::PyErr_Restore(saved.0, saved.1, saved.2);
    value
}

/// The code-table value of a C function (by its PyMethodDef, or its type for other callables).
pub unsafe fn c_function_value(callable: *mut ffi::PyObject) -> usize {
    let Some(t) = state() else { return RESOLVED | SKIP };
    let is_cfunction = ffi::PyCFunction_Check(callable) != 0;
    let key = if is_cfunction {
        (*(callable as *mut ffi::PyCFunctionObject)).m_ml as usize
    } else {
        ffi::Py_TYPE(callable) as usize
    };
    if let Some(&v) = t.c_functions.get(&key) {
        return v;
    }
    let mut saved = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
    ffi::PyErr_Fetch(&mut saved.0, &mut saved.1, &mut saved.2);
    let name = if is_cfunction {
        let f = &*(callable as *mut ffi::PyCFunctionObject);
        let method = if f.m_ml.is_null() || (*f.m_ml).ml_name.is_null() {
            "?".to_owned()
        } else {
            CStr::from_ptr((*f.m_ml).ml_name).to_string_lossy().into_owned()
        };
        let owner = if f.m_self.is_null() {
            String::new()
        } else if ffi::PyModule_Check(f.m_self) != 0 {
            str_attr(f.m_self, c"__name__")
        } else {
            type_name(ffi::Py_TYPE(f.m_self))
        };
        if owner.is_empty() { method } else { format!("{owner}.{method}") }
    } else {
        type_name(ffi::Py_TYPE(callable))
    };
    ffi::PyErr_Restore(saved.0, saved.1, saved.2);
    let v = t.add_code(&name, "", 0, true);
    t.c_functions.insert(key, v);
    v
}

/// The code-table value of a builtin method called through its descriptor (3.12+'s CALL event reports
/// `s.strip()` as the `str.strip` method descriptor, where setprofile saw a bound builtin): named as the bound
/// builtin would be (`str.strip`), keyed by its PyMethodDef like one.
#[cfg(Py_3_12)]
pub unsafe fn method_descr_value(descr: *mut ffi::PyObject) -> usize {
    // CPython's PyMethodDescrObject (Include/cpython/descrobject.h), the fields up to d_method.
    #[repr(C)]
    struct MethodDescr {
        ob_base: ffi::PyObject,
        d_type: *mut ffi::PyTypeObject,
        d_name: *mut ffi::PyObject,
        d_qualname: *mut ffi::PyObject,
        d_method: *mut ffi::PyMethodDef,
    }
    let Some(t) = state() else { return RESOLVED | SKIP };
    let d = &*(descr as *const MethodDescr);
    let key = d.d_method as usize;
    if let Some(&v) = t.c_functions.get(&key) {
        return v;
    }
    let method = if d.d_method.is_null() || (*d.d_method).ml_name.is_null() {
        "?".to_owned()
    } else {
        CStr::from_ptr((*d.d_method).ml_name).to_string_lossy().into_owned()
    };
    let name = format!("{}.{method}", type_name(d.d_type));
    let v = t.add_code(&name, "", 0, true);
    t.c_functions.insert(key, v);
    v
}

unsafe fn type_name(tp: *mut ffi::PyTypeObject) -> String {
    if tp.is_null() || (*tp).tp_name.is_null() {
        return "?".to_owned();
    }
    CStr::from_ptr((*tp).tp_name).to_string_lossy().into_owned()
}
