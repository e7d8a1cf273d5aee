use std::collections::BTreeMap;
use std::sync::Arc;

use crate::disk::Inventory;

/// Fetches an included file by absolute URL; Err is a one-sentence reason. Parsers never do I/O themselves.
/// GRUB's `search --file` and `[ -e|-f|-s FILE ]` on a local volume also ask it for
/// `<volume>:/path`: Ok means the file exists.
pub type Fetcher<'a> = dyn FnMut(&str) -> Result<String, String> + 'a;

/// Boot Loader Spec entry files already read from a volume, keyed by their folder's location
/// without a trailing slash (`sda2:/loader/entries`): `(file name, text)` pairs. GRUB's
/// `blscfg` lists a folder, which the fetcher cannot; the I/O shell reads the folders and
/// passes them here.
pub type BlsFolders = BTreeMap<String, Vec<(String, String)>>;

/// Context a parser needs from the network: the lease values used by variables and lookups.
#[derive(Debug, Clone, Default)]
pub struct ParseContext {
    pub mac: Option<[u8; 6]>,
    pub ip: Option<std::net::Ipv4Addr>,
    pub next_server: Option<String>,
    pub hostname: Option<String>,
    pub uuid: Option<String>,
    pub efi: bool,
    /// The local disks and volumes, for a config read from a disk: GRUB device names
    /// (`hd0,msdos1`, `lvm/vg-root`) and `search` resolve against it. `None` for network
    /// configs (local devices then skip the entry; `search` is ignored).
    pub inventory: Option<Arc<Inventory>>,
    /// BLS entry folders for GRUB's `blscfg` (see [`BlsFolders`]).
    pub bls: Arc<BlsFolders>,
}
/// Maximum include depth (loops and runaway nesting stop here with a warning).
pub const MAX_INCLUDE_DEPTH: usize = 16;
