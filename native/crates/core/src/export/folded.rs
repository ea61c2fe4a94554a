//! TODO(helper): folded exporter.

use std::io::Write;

use crate::export::Exporter;
use crate::model::Profile;

pub struct FoldedExporter;

impl Exporter for FoldedExporter {
    fn write(&self, _profile: &Profile, _out: &mut dyn Write) -> std::io::Result<()> {
        Err(std::io::Error::other("not implemented yet"))
    }
}
