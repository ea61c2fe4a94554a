//! Thin napi-rs binding over `emberscope-core`: transfer types (`convert.rs`), option conversion (`TryFrom` with a
//! clear error) and one `*_impl` behind each export. Nothing here knows about profiles beyond copying them.
//!
//! Error convention: every error crossing into JS has a reason of the form `"<code>: <message>"`, where `<code>` is
//! one of `cancelled`, `io-error`, `parse-error`, `bad-request`, `internal`. napi-rs fixes the JS error's own `code`
//! to the napi status, so `electron/services/native.ts` splits the prefix back out into `err.code`.
//!
//! Panics: every export runs its body under `guard`, which catches unwinding panics and turns them into an
//! `internal:` error, so a bug in an importer rejects one request instead of taking the app down.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::{Error, Status};

mod convert;
mod import_job;
mod profile_handle;
mod sampler; // live sampling (listPythonProcesses, SamplingSession); owned by the sampler work

pub use import_job::ImportJob;
pub use profile_handle::ProfileHandle;

/// An error whose reason carries our stable code as a prefix (see the module docs).
pub(crate) fn coded_error(code: &str, message: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("{code}: {message}"))
}

/// The JS-side form of an import failure, keeping the core's code.
pub(crate) fn import_error(err: &emberscope_core::ImportError) -> Error {
    match err {
        // The core's Display is the bare word; say what was cancelled.
        emberscope_core::ImportError::Cancelled => coded_error("cancelled", "the import was cancelled"),
        other => coded_error(other.code(), other),
    }
}

/// Runs `body`, turning a panic into an `internal:` error instead of unwinding into Node (which would abort).
pub(crate) fn guard<T>(what: &str, body: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            Err(coded_error(
                "internal",
                format!("the native core panicked while {what}: {detail}. This is a bug in Emberscope; please report it with the file"),
            ))
        }
    }
}

/// What the addon was built from, for the app's start-up check (its version must equal the app's) and About box.
#[napi_derive::napi(object)]
pub struct JsVersions {
    /// This addon's crate version (the workspace version, the same as the app's package.json).
    pub addon: String,
    /// The `emberscope-core` crate (importers and the sampler) it links.
    pub core: String,
    /// The `py-spy` crate the sampler is built on, from Cargo.lock.
    pub py_spy: String,
}

#[napi_derive::napi]
pub fn versions() -> napi::Result<JsVersions> {
    guard("reading the versions", || {
        Ok(JsVersions {
            addon: env!("CARGO_PKG_VERSION").to_owned(),
            core: env!("EMBERSCOPE_CORE_VERSION").to_owned(),
            py_spy: env!("EMBERSCOPE_PY_SPY_VERSION").to_owned(),
        })
    })
}

/// Panics on purpose inside `guard`, on the JS thread or (with `on_worker`) on a worker thread, so that the JS tests
/// can prove a panic becomes an `internal:` error rather than an abort. `napi` crates cannot link a `cargo test`
/// binary (the N-API symbols live in Node), so this is where the guard is tested.
#[napi_derive::napi(js_name = "__panicForTest", ts_return_type = "void | Promise<void>")]
pub fn panic_for_test(on_worker: bool) -> napi::Result<napi::Either<(), napi::bindgen_prelude::AsyncTask<PanicTask>>> {
    if on_worker {
        return Ok(napi::Either::B(napi::bindgen_prelude::AsyncTask::new(PanicTask)));
    }
    guard("running the panic self-test", || panic!("deliberate panic (self-test)"))
}

pub struct PanicTask;

impl napi::Task for PanicTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        guard("running the panic self-test", || panic!("deliberate panic on a worker (self-test)"))
    }

    fn resolve(&mut self, _env: napi::Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}
