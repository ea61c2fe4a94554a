//! `ProfileHandle`: an imported profile held on the Rust side. JS asks for what it needs: the summary, the full
//! columnar copy (`toProfile`), or exported bytes.

use std::path::PathBuf;
use std::sync::Arc;

use emberscope_core::export::{export_to_vec, ExportFormat};
use emberscope_core::Profile;
use napi::bindgen_prelude::{AsyncTask, Buffer, ToNapiValue, TypeName, ValueType};
use napi::{Env, Task};
use napi_derive::napi;

use crate::convert::{js_safe_json, to_js_profile, JsProfile};
use crate::{coded_error, guard};

/// An export format named by JS, checked once at the boundary.
pub struct Format(pub ExportFormat);

impl TryFrom<&str> for Format {
    type Error = napi::Error;

    fn try_from(name: &str) -> napi::Result<Self> {
        match name {
            "speedscope" => Ok(Format(ExportFormat::Speedscope)),
            "chrome" => Ok(Format(ExportFormat::Chrome)),
            "collapsed" => Ok(Format(ExportFormat::Collapsed)),
            other => Err(coded_error(
                "bad-request",
                format!("unknown format '{other}': expected speedscope, chrome or collapsed"),
            )),
        }
    }
}

#[napi]
pub struct ProfileHandle {
    profile: Arc<Profile>,
}

impl ProfileHandle {
    pub fn new(profile: Profile) -> Self {
        ProfileHandle { profile: Arc::new(profile) }
    }
}

#[napi]
impl ProfileHandle {
    /// Importer that produced it (`Profile.format`).
    #[napi(getter)]
    pub fn format(&self) -> String {
        self.profile.format.clone()
    }

    /// Display name (`Profile.name`).
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.profile.name.clone()
    }

    /// False for files without a real time order (folded stacks, pstats): their `durationNs` is not wall time.
    #[napi(getter)]
    pub fn has_timeline(&self) -> bool {
        self.profile.has_timeline
    }

    /// The `ProfileSummary` of profile.ts, with the `top_n` functions of most self weight.
    // The import paths are relative to native/crates/napi/index.d.ts, where `npm run build:native` writes the types.
    #[napi(ts_return_type = "import('../../../electron/contract/profile').ProfileSummary")]
    pub fn summary(&self, top_n: Option<u32>) -> napi::Result<serde_json::Value> {
        guard("summarizing a profile", || summary_json(&self.profile, top_n))
    }

    /// A full copy of the columnar data as the `Profile` of profile.ts (typed arrays, string table, meta).
    #[napi(ts_return_type = "import('../../../electron/contract/profile').Profile")]
    pub fn to_profile(&self) -> napi::Result<JsProfile> {
        guard("copying a profile to JavaScript", || Ok(to_js_profile(&self.profile)))
    }

    /// Exported bytes, computed on the JS thread: fine for the sizes a user saves interactively.
    #[napi]
    pub fn export_to(&self, format: String) -> napi::Result<Buffer> {
        let Format(format) = Format::try_from(format.as_str())?;
        guard("exporting a profile", || export_bytes(&self.profile, format).map(Buffer::from))
    }

    /// `summary` on a worker thread: the JS thread (which serves every client) only receives the result.
    #[napi(ts_return_type = "Promise<import('../../../electron/contract/profile').ProfileSummary>")]
    pub fn summary_async(&self, top_n: Option<u32>) -> AsyncTask<OffThread<JsonValue, JsonValue>> {
        let profile = self.profile.clone();
        OffThread::task("summarizing a profile", move || summary_json(&profile, top_n).map(JsonValue))
    }

    /// `toProfile` on a worker thread: the columns are copied there; the typed arrays then take over the vectors.
    #[napi(ts_return_type = "Promise<import('../../../electron/contract/profile').Profile>")]
    pub fn to_profile_async(&self) -> AsyncTask<OffThread<JsProfile, JsProfile>> {
        let profile = self.profile.clone();
        OffThread::task("copying a profile to JavaScript", move || Ok(to_js_profile(&profile)))
    }

    /// The aggregated form on a worker thread (core `aggregate`): per thread, one sample per distinct stack weighing
    /// its self weight, no spans, no timeline. Draws the flame graph, sandwich and tables exactly, at a fraction of
    /// the size; the app shows it while the full columns come.
    #[napi(ts_return_type = "Promise<import('../../../electron/contract/profile').Profile>")]
    pub fn to_aggregated_profile_async(&self) -> AsyncTask<OffThread<JsProfile, JsProfile>> {
        let profile = self.profile.clone();
        OffThread::task("aggregating a profile", move || {
            Ok(to_js_profile(&emberscope_core::aggregate::aggregate(&profile)))
        })
    }

    /// `exportTo` on a worker thread (a 1M-event trace takes about a second to export).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn export_to_async(&self, format: String) -> napi::Result<AsyncTask<OffThread<Vec<u8>, Buffer>>> {
        let Format(format) = Format::try_from(format.as_str())?;
        let profile = self.profile.clone();
        Ok(AsyncTask::new(OffThread {
            what: "exporting a profile",
            work: Some(Box::new(move || export_bytes(&profile, format))),
            finish: |bytes| Ok(Buffer::from(bytes)),
        }))
    }

    /// Writes the export to `path` on a worker thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn export_to_file(&self, format: String, path: String) -> napi::Result<AsyncTask<ExportTask>> {
        let Format(format) = Format::try_from(format.as_str())?;
        Ok(AsyncTask::new(ExportTask { profile: self.profile.clone(), format, path: PathBuf::from(path) }))
    }
}

/// The summary as JS receives it (`top_n` functions, default 50), for `summary` and `summaryAsync`.
fn summary_json(profile: &Profile, top_n: Option<u32>) -> napi::Result<serde_json::Value> {
    let summary = emberscope_core::summary::summarize(profile, top_n.unwrap_or(50) as usize);
    serde_json::to_value(&summary)
        .map(js_safe_json)
        .map_err(|e| coded_error("internal", format!("could not encode the summary: {e}")))
}

/// The exported bytes, for `exportTo`, `exportToAsync` and `exportToFile`.
fn export_bytes(profile: &Profile, format: ExportFormat) -> napi::Result<Vec<u8>> {
    export_to_vec(profile, format).map_err(|e| coded_error("internal", format!("could not export as {format:?}: {e}")))
}

/// A JSON value for JS (the summary): a task's result must name its JS type, which `serde_json::Value` cannot.
pub struct JsonValue(serde_json::Value);

impl TypeName for JsonValue {
    fn type_name() -> &'static str {
        "JsonValue"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for JsonValue {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: forwarded as is, with the env napi gave us.
        unsafe { serde_json::Value::to_napi_value(env, val.0) }
    }
}

/// Work on a profile run on a libuv worker thread (panics caught as for every export); `finish` only turns the
/// result into its JS form on the JS thread.
pub struct OffThread<O, J> {
    what: &'static str,
    work: Option<Box<dyn FnOnce() -> napi::Result<O> + Send>>,
    finish: fn(O) -> napi::Result<J>,
}

impl<T: Send + 'static + ToNapiValue + TypeName> OffThread<T, T> {
    fn task(what: &'static str, work: impl FnOnce() -> napi::Result<T> + Send + 'static) -> AsyncTask<Self> {
        AsyncTask::new(OffThread { what, work: Some(Box::new(work)), finish: Ok })
    }
}

impl<O: Send + 'static, J: ToNapiValue + TypeName> Task for OffThread<O, J> {
    type Output = O;
    type JsValue = J;

    fn compute(&mut self) -> napi::Result<O> {
        let work = self.work.take().ok_or_else(|| coded_error("internal", format!("{} ran twice", self.what)))?;
        guard(self.what, work)
    }

    fn resolve(&mut self, _env: Env, output: O) -> napi::Result<J> {
        (self.finish)(output)
    }
}

pub struct ExportTask {
    profile: Arc<Profile>,
    format: ExportFormat,
    path: PathBuf,
}

impl Task for ExportTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        guard("exporting a profile", || {
            let bytes = export_bytes(&self.profile, self.format)?;
            std::fs::write(&self.path, bytes)
                .map_err(|e| coded_error("io-error", format!("could not write '{}': {e}", self.path.display())))
        })
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}
