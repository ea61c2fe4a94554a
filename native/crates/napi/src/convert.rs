//! Transfer types: the core's `Profile` copied into the JS `Profile` of `electron/contract/profile.ts`, field by
//! field. Typed arrays are created from owned vectors (one copy, no per-element JS values).

use std::collections::HashMap;

use emberscope_core::import::validate::js_safe_id;
use emberscope_core::import::ImportOptions;
use emberscope_core::model::{CallGraph, Profile, Thread};
use napi::bindgen_prelude::{Float64Array, Int32Array, Uint16Array, Uint32Array, Uint8Array};
use napi_derive::napi;

#[napi(object, object_from_js = false)]
pub struct JsFrameTable {
    pub length: u32,
    pub func: Uint32Array,
    pub file: Int32Array,
    pub line: Uint32Array,
    pub kind: Uint8Array,
}

#[napi(object, object_from_js = false)]
pub struct JsStackTable {
    pub length: u32,
    pub prefix: Int32Array,
    pub frame: Uint32Array,
}

#[napi(object, object_from_js = false)]
pub struct JsSampleTable {
    pub length: u32,
    pub stack: Int32Array,
    pub time: Float64Array,
    pub weight: Float64Array,
}

#[napi(object, object_from_js = false)]
pub struct JsSpanTable {
    pub length: u32,
    pub stack: Uint32Array,
    pub frame: Uint32Array,
    pub start: Float64Array,
    pub end: Float64Array,
    pub depth: Uint16Array,
}

#[napi(object, object_from_js = false)]
pub struct JsThread {
    pub name: String,
    pub pid: f64,
    pub tid: f64,
    pub samples: JsSampleTable,
    pub spans: JsSpanTable,
}

#[napi(object, object_from_js = false)]
pub struct JsCallGraphFunctions {
    pub length: u32,
    pub frame: Uint32Array,
    pub primitive_calls: Float64Array,
    pub total_calls: Float64Array,
    #[napi(js_name = "self")]
    pub self_: Float64Array,
    pub total: Float64Array,
}

#[napi(object, object_from_js = false)]
pub struct JsCallGraphEdges {
    pub length: u32,
    pub caller: Uint32Array,
    pub callee: Uint32Array,
    pub calls: Float64Array,
    #[napi(js_name = "self")]
    pub self_: Float64Array,
    pub total: Float64Array,
}

#[napi(object, object_from_js = false)]
pub struct JsCallGraph {
    pub functions: JsCallGraphFunctions,
    pub edges: JsCallGraphEdges,
}

#[napi(object, object_from_js = false)]
pub struct JsProfile {
    pub version: u32,
    pub format: String,
    pub name: String,
    pub unit: String,
    pub has_timeline: bool,
    pub start_ns: f64,
    pub duration_ns: f64,
    pub strings: Vec<String>,
    pub frames: JsFrameTable,
    pub stacks: JsStackTable,
    pub threads: Vec<JsThread>,
    /// Omitted (not null) when absent, as `callGraph?:` in profile.ts says.
    pub call_graph: Option<JsCallGraph>,
    pub meta: HashMap<String, String>,
}

fn len32(n: usize) -> u32 {
    // Tables are indexed by u32 in the model, so their lengths fit.
    n.min(u32::MAX as usize) as u32
}

fn to_js_thread(t: &Thread) -> JsThread {
    JsThread {
        name: t.name.clone(),
        // Safe integers only (the rule of `validate::js_safe_id`): beyond 2^53 a double cannot tell ids apart.
        pid: js_safe_id(t.pid) as f64,
        tid: js_safe_id(t.tid) as f64,
        samples: JsSampleTable {
            length: len32(t.samples.len()),
            stack: Int32Array::new(t.samples.stack.clone()),
            time: Float64Array::new(t.samples.time.clone()),
            weight: Float64Array::new(t.samples.weight.clone()),
        },
        spans: JsSpanTable {
            length: len32(t.spans.len()),
            stack: Uint32Array::new(t.spans.stack.clone()),
            frame: Uint32Array::new(t.spans.frame.clone()),
            start: Float64Array::new(t.spans.start.clone()),
            end: Float64Array::new(t.spans.end.clone()),
            depth: Uint16Array::new(t.spans.depth.clone()),
        },
    }
}

fn to_js_call_graph(g: &CallGraph) -> JsCallGraph {
    let f = &g.functions;
    let e = &g.edges;
    JsCallGraph {
        functions: JsCallGraphFunctions {
            length: len32(f.frame.len()),
            frame: Uint32Array::new(f.frame.clone()),
            primitive_calls: Float64Array::new(f.primitive_calls.clone()),
            total_calls: Float64Array::new(f.total_calls.clone()),
            self_: Float64Array::new(f.self_.clone()),
            total: Float64Array::new(f.total.clone()),
        },
        edges: JsCallGraphEdges {
            length: len32(e.caller.len()),
            caller: Uint32Array::new(e.caller.clone()),
            callee: Uint32Array::new(e.callee.clone()),
            calls: Float64Array::new(e.calls.clone()),
            self_: Float64Array::new(e.self_.clone()),
            total: Float64Array::new(e.total.clone()),
        },
    }
}

pub fn to_js_profile(p: &Profile) -> JsProfile {
    JsProfile {
        version: p.version,
        format: p.format.clone(),
        name: p.name.clone(),
        unit: p.unit.as_str().to_owned(),
        has_timeline: p.has_timeline,
        start_ns: p.start_ns,
        duration_ns: p.duration_ns,
        strings: p.strings.clone(),
        frames: JsFrameTable {
            length: len32(p.frames.len()),
            func: Uint32Array::new(p.frames.func.clone()),
            file: Int32Array::new(p.frames.file.clone()),
            line: Uint32Array::new(p.frames.line.clone()),
            kind: Uint8Array::new(p.frames.kind.clone()),
        },
        stacks: JsStackTable {
            length: len32(p.stacks.len()),
            prefix: Int32Array::new(p.stacks.prefix.clone()),
            frame: Uint32Array::new(p.stacks.frame.clone()),
        },
        threads: p.threads.iter().map(to_js_thread).collect(),
        call_graph: p.call_graph.as_ref().map(to_js_call_graph),
        meta: p.meta.iter().cloned().collect(),
    }
}

/// Import limits from JS (`ImportOptions` of the core); every field optional, defaults as the core's.
#[napi(object)]
pub struct JsImportOptions {
    /// A gzip file may inflate to this many times its compressed size (never below 256 MiB). Default 200.
    pub max_inflate_ratio: Option<f64>,
    /// ...and never past this many bytes. Default 4 GiB.
    pub max_inflated_bytes: Option<f64>,
    /// pprof: the sample type to read (a `sample_type` name of the file, e.g. `alloc_space`) instead of the file's
    /// default. Other formats ignore it.
    pub sample_type: Option<String>,
}

/// Checks the JS options once at the boundary; absent fields keep the core's defaults.
pub fn to_import_options(js: Option<JsImportOptions>) -> napi::Result<ImportOptions> {
    let mut o = ImportOptions::default();
    let Some(js) = js else { return Ok(o) };
    let whole = |name: &str, v: f64, min: f64| -> napi::Result<u64> {
        if v.is_finite() && v >= min && v.fract() == 0.0 && v <= 2f64.powi(53) {
            Ok(v as u64)
        } else {
            Err(crate::coded_error(
                "bad-request",
                format!("{name} must be a whole number of at least {min}, got {v}"),
            ))
        }
    };
    if let Some(r) = js.max_inflate_ratio {
        o.max_inflate_ratio = whole("maxInflateRatio", r, 1.0)?;
    }
    if let Some(b) = js.max_inflated_bytes {
        o.max_inflated_bytes = whole("maxInflatedBytes", b, 1.0)?;
    }
    match js.sample_type {
        Some(t) if t.trim().is_empty() => {
            return Err(crate::coded_error("bad-request", "sampleType must name a sample type, e.g. \"cpu\""));
        }
        t => o.sample_type = t.map(|t| t.trim().to_owned()),
    }
    Ok(o)
}

/// Past ±(2^53 - 1) napi turns a JSON integer into a BigInt, which `JSON.stringify` (the CLI's `--json`, serve's
/// wire codec) refuses: one such number broke the trace list for every client. Every integer that crosses to JS as
/// JSON goes through here and stays a Number: exact within that range, the nearest double beyond it. (Thread ids
/// are already clamped at import; this holds for any field, counts included, now and later.)
pub fn js_safe_json(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    const MAX_SAFE: i64 = (1 << 53) - 1;
    match v {
        Value::Number(n) if !n.is_f64() && !n.as_i64().is_some_and(|i| (-MAX_SAFE..=MAX_SAFE).contains(&i)) => {
            n.as_f64().map_or(Value::Null, Value::from)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(js_safe_json).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, x)| (k, js_safe_json(x))).collect()),
        other => other,
    }
}
