//! Fetching kernels, initrds and configs by URL.

pub mod tftp;

/// Progress of one transfer, reported to the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The URL being fetched.
    pub url: String,
    pub bytes: u64,
    /// Total size when known (TFTP tsize, HTTP Content-Length).
    pub total: Option<u64>,
    /// Bytes per second since the transfer started.
    pub rate: u64,
}
