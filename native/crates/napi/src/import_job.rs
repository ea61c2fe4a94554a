//! `ImportJob`: opens a file (or bytes) on a libuv worker thread, with progress polling and cancellation through the
//! core's shared `Job`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use emberscope_core::{import_bytes_with, import_file_with, ImportError, ImportOptions, Job, Profile};
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;

use crate::convert::{to_import_options, JsImportOptions};
use crate::profile_handle::ProfileHandle;
use crate::{coded_error, guard, import_error};

enum Source {
    File(PathBuf),
    Bytes { name: String, data: Vec<u8> },
}

#[napi(object, object_from_js = false)]
pub struct ImportProgress {
    /// Units done (bytes of decoded input, usually).
    pub done: f64,
    /// 0 when not known yet.
    pub total: f64,
}

/// One import. `run()` may be called once; `cancel()` any time (before, during or after).
#[napi]
pub struct ImportJob {
    job: Arc<Job>,
    options: ImportOptions,
    // Taken by `run` so that bytes are moved, not copied, onto the worker thread.
    source: Arc<Mutex<Option<Source>>>,
}

#[napi]
impl ImportJob {
    /// An import of the file at `path` (read into memory on the worker thread); `options` sets the gzip limits and
    /// pprof's sample type.
    #[napi(constructor)]
    pub fn new(path: String, options: Option<JsImportOptions>) -> napi::Result<Self> {
        let options = to_import_options(options)?;
        let source = Arc::new(Mutex::new(Some(Source::File(PathBuf::from(path)))));
        Ok(ImportJob { job: Arc::new(Job::new()), options, source })
    }

    /// An import of bytes already in memory; `name` is used for extension sniffing and as the display name.
    #[napi(factory)]
    pub fn from_bytes(name: String, data: Buffer, options: Option<JsImportOptions>) -> napi::Result<Self> {
        let options = to_import_options(options)?;
        let source = Arc::new(Mutex::new(Some(Source::Bytes { name, data: data.to_vec() })));
        Ok(ImportJob { job: Arc::new(Job::new()), options, source })
    }

    /// Resolves to a `ProfileHandle`; rejects with `cancelled: …`, `io-error: …`, `parse-error: …` or `internal: …`.
    #[napi(ts_return_type = "Promise<ProfileHandle>")]
    pub fn run(&self) -> AsyncTask<ImportTask> {
        AsyncTask::new(ImportTask { job: self.job.clone(), options: self.options.clone(), source: self.source.clone() })
    }

    #[napi]
    pub fn progress(&self) -> ImportProgress {
        let (done, total) = self.job.progress();
        ImportProgress { done: done as f64, total: total as f64 }
    }

    #[napi]
    pub fn cancel(&self) {
        self.job.cancel();
    }
}

pub struct ImportTask {
    job: Arc<Job>,
    options: ImportOptions,
    source: Arc<Mutex<Option<Source>>>,
}

impl ImportTask {
    fn compute_impl(&mut self) -> napi::Result<Profile> {
        if self.job.is_cancelled() {
            return Err(import_error(&ImportError::Cancelled));
        }
        let source = self.source.lock().map_err(|_| coded_error("internal", "the import job's state is poisoned"))?.take();
        let result = match source {
            None => return Err(coded_error("bad-request", "this import job was already run; create a new ImportJob")),
            Some(Source::File(path)) => {
                let meta = std::fs::metadata(&path).map_err(|e| {
                    coded_error("io-error", format!("could not open '{}': {e}", path.display()))
                })?;
                if meta.is_dir() {
                    return Err(coded_error(
                        "io-error",
                        format!("'{}' is a directory; choose a profile file inside it", path.display()),
                    ));
                }
                import_file_with(&path, &self.job, &self.options).map_err(|e| match e {
                    ImportError::Io(io) => {
                        coded_error("io-error", format!("could not read '{}': {io}", path.display()))
                    }
                    other => import_error(&other),
                })
            }
            Some(Source::Bytes { name, data }) => {
                import_bytes_with(&name, &data, &self.job, &self.options).map_err(|e| import_error(&e))
            }
        };
        // An importer that finished despite a cancel still reports the cancel: the caller asked to drop the result.
        if self.job.is_cancelled() {
            return Err(import_error(&ImportError::Cancelled));
        }
        result
    }
}

impl Task for ImportTask {
    type Output = Profile;
    type JsValue = ProfileHandle;

    fn compute(&mut self) -> napi::Result<Profile> {
        guard("importing a profile", || self.compute_impl())
    }

    fn resolve(&mut self, _env: Env, output: Profile) -> napi::Result<ProfileHandle> {
        Ok(ProfileHandle::new(output))
    }
}
