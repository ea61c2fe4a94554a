//! TODO(helper): folded importer.

use crate::import::{ImportError, Input, Location};
use crate::job::Job;
use crate::model::Profile;

pub fn detect(_head: &[u8]) -> bool {
    false
}

pub fn import(_input: &Input, _job: &Job) -> Result<Profile, ImportError> {
    Err(ImportError::parse("folded", "not implemented yet", Location::Unknown))
}
