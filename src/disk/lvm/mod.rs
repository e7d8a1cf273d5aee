//! LVM2, read-only and without lvm2's tools: the PV label ([`label`]), the metadata area
//! ([`mda`]), the text metadata ([`text`]) and the volume group it describes ([`vg`]), which
//! gives each linear logical volume as a dm-linear table. All sans-IO; `disk::scan` reads the
//! bytes and `disk::dm` maps the tables.
//!
//! Format as lvm2 writes it (lib/format_text/layout.h, format-text.c, import_vsn1.c in the
//! lvm2 sources), checked against Debian 12's lvm2 (tests/fixtures/lvm/).

pub mod crc;
pub mod label;
pub mod mda;
pub mod text;
pub mod vg;

/// Why an LVM2 structure could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LvmError {
    #[error("bad LVM2 label: {0}")]
    Label(String),
    #[error("bad LVM2 metadata area: {0}")]
    MetadataArea(String),
    #[error("LVM2 metadata line {line}: {what}")]
    Syntax { line: usize, what: String },
    #[error("LVM2 metadata: {0}")]
    Metadata(String),
}

/// Parses metadata text all the way to the volume group.
pub fn parse_vg(text: &str) -> Result<vg::Vg, LvmError> {
    vg::from_metadata(&text::parse(text)?)
}

#[cfg(test)]
mod tests;
