//! The include callback and lease context shared by the config parsers.
/// Fetches an included file by absolute URL; Err is a one-sentence reason. Parsers never do I/O themselves.
pub type Fetcher<'a> = dyn FnMut(&str) -> Result<String, String> + 'a;
/// Context a parser needs from the network: the lease values used by variables and lookups.
#[derive(Debug, Clone, Default)]
pub struct ParseContext { pub mac: Option<[u8;6]>, pub ip: Option<std::net::Ipv4Addr>, pub next_server: Option<String>, pub hostname: Option<String>, pub uuid: Option<String>, pub efi: bool }
/// Maximum include depth (loops and runaway nesting stop here with a warning).
pub const MAX_INCLUDE_DEPTH: usize = 16;
