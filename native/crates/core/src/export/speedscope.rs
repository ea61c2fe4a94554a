//! TODO(helper): speedscope exporter.

use std::io::Write;

use crate::export::Exporter;
use crate::model::Profile;

pub struct SpeedscopeExporter;

impl Exporter for SpeedscopeExporter {
    fn write(&self, _profile: &Profile, _out: &mut dyn Write) -> std::io::Result<()> {
        Err(std::io::Error::other("not implemented yet"))
    }
}
