//! Emberscope core: the columnar profile model, importers, exporters, summaries and the sampler.
//! Knows nothing of Node or Electron; `cargo test` covers it on its own.

pub mod aggregate;
pub mod export;
pub mod import;
pub mod job;
pub mod model;
#[cfg(feature = "sampler")]
pub mod sampler;
pub mod summary;

pub use import::{import_bytes, import_bytes_with, import_file, import_file_with, ImportError, ImportOptions};
pub use job::Job;
pub use model::Profile;
