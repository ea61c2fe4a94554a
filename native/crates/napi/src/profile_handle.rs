//! `ProfileHandle`: an imported profile held on the Rust side. JS asks for what it needs: the summary, the full
//! columnar copy (`toProfile`), or exported bytes.

use std::path::PathBuf;
use std::sync::Arc;

use emberscope_core::export::{export_to_vec, ExportFormat};
use emberscope_core::Profile;
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;

use crate::convert::{to_js_profile, JsProfile};
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
        guard("summarizing a profile", || {
            let summary = emberscope_core::summary::summarize(&self.profile, top_n.unwrap_or(50) as usize);
            serde_json::to_value(&summary).map_err(|e| coded_error("internal", format!("could not encode the summary: {e}")))
        })
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
        guard("exporting a profile", || {
            export_to_vec(&self.profile, format)
                .map(Buffer::from)
                .map_err(|e| coded_error("internal", format!("could not export as {format:?}: {e}")))
        })
    }

    /// Writes the export to `path` on a worker thread.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn export_to_file(&self, format: String, path: String) -> napi::Result<AsyncTask<ExportTask>> {
        let Format(format) = Format::try_from(format.as_str())?;
        Ok(AsyncTask::new(ExportTask { profile: self.profile.clone(), format, path: PathBuf::from(path) }))
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
            let bytes = export_to_vec(&self.profile, self.format)
                .map_err(|e| coded_error("internal", format!("could not export as {:?}: {e}", self.format)))?;
            std::fs::write(&self.path, bytes)
                .map_err(|e| coded_error("io-error", format!("could not write '{}': {e}", self.path.display())))
        })
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}
