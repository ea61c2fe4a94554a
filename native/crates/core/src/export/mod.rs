//! Exporters share one trait, like py-spy's `Recorder`: feed a profile, write bytes.

use std::io::Write;

use crate::model::Profile;

pub mod chrome;
pub mod folded;
pub mod speedscope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Speedscope,
    Chrome,
    Collapsed,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "speedscope" => Some(Self::Speedscope),
            "chrome" | "perfetto" => Some(Self::Chrome),
            "collapsed" | "folded" => Some(Self::Collapsed),
            _ => None,
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Self::Speedscope => "speedscope.json",
            Self::Chrome => "trace.json",
            Self::Collapsed => "folded.txt",
        }
    }
}

pub trait Exporter {
    fn write(&self, profile: &Profile, out: &mut dyn Write) -> std::io::Result<()>;
}

pub fn exporter(format: ExportFormat) -> Box<dyn Exporter> {
    match format {
        ExportFormat::Speedscope => Box::new(speedscope::SpeedscopeExporter),
        ExportFormat::Chrome => Box::new(chrome::ChromeExporter),
        ExportFormat::Collapsed => Box::new(folded::FoldedExporter),
    }
}

pub fn export_to_vec(profile: &Profile, format: ExportFormat) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    exporter(format).write(profile, &mut out)?;
    Ok(out)
}

/// Writes `s` as a JSON string literal (quotes and escapes) without building an intermediate String.
pub(crate) fn write_json_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, s).map_err(std::io::Error::other)
}
