//! Diskless root sources: what disk server holds the target's root, parsed from a root path
//! (DHCP option 17, a kboot.conf `kboot.root=` key, an iPXE `sanboot` URI).
//!
//! Accepted forms (scheme names are case-insensitive):
//! - RFC 4173 iSCSI: `iscsi:<server>:<proto>:<port>:<LUN>:<targetname>`; the server may be an
//!   IPv6 address in brackets, the protocol is ignored, an empty port is 3260, the LUN is
//!   hexadecimal in up to four dash-separated 16-bit groups (empty = 0), and the target name
//!   takes everything after the fourth colon (it may hold colons itself). dracut's CHAP prefix
//!   `iscsi:user:pass[:ruser:rpass]@...` is accepted; an empty prefix (`iscsi:@...`) lets a
//!   target name hold an `@`, as in dracut.
//! - NBD: `nbd:<server>:<port>|<exportname>|<port>/<exportname>[:fstype[:flags[:nbdopts]]]`.
//! - NFS: `nfs:[server:]/path[:opts]`, `nfs4:[server:]/path[:opts]` (dracut style) and
//!   `[server:]/path[,opts]` (option 17 / kernel `nfsroot=` style).
//! - Anything else: `template:<text>`, command-line text the entry writes itself, with
//!   `${ip}`-style variables expanded from the lease by [`expand`].
//!
//! Nothing here allocates without bound or panics on any input (see the fuzz target
//! `root_path`).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::net::Lease;

/// The default iSCSI port (RFC 7143).
pub const ISCSI_PORT: u16 = 3260;
/// The IANA NBD port.
pub const NBD_PORT: u16 = 10809;
/// The prefix of generated initiator names (what iPXE uses).
pub const IPXE_IQN_PREFIX: &str = "iqn.2010-04.org.ipxe";

/// Where the target's root lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    Iscsi(IscsiRoot),
    Nbd(NbdRoot),
    Nfs(NfsRoot),
    /// Command-line text for any other disk server, with `${var}` placeholders.
    Template(String),
}

/// CHAP credentials (one direction).
#[derive(Clone, PartialEq, Eq)]
pub struct Chap {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Chap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password, not even in a debug dump or a log line.
        f.debug_struct("Chap")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// An iSCSI root disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscsiRoot {
    /// Host name or address; an IPv6 address without its brackets.
    pub server: String,
    pub port: u16,
    /// The LUN as Linux numbers it (what `/dev/disk/by-path/*-lun-N` shows): RFC 4173's
    /// hexadecimal groups `g0-g1-g2-g3` become `g0 | g1 << 16 | g2 << 32 | g3 << 48`, so a
    /// plain `a` is LUN 10.
    pub lun: u64,
    pub target: String,
    /// Initiator IQN from the configuration; `None` = DHCP option 203, else generated.
    pub initiator: Option<String>,
    /// Target authenticates the initiator.
    pub chap: Option<Chap>,
    /// Initiator authenticates the target (needs `chap` too).
    pub mutual_chap: Option<Chap>,
    /// The `root=` of the filesystem on the disk (`UUID=...`, `/dev/sda1`); `None` = the
    /// whole LUN holds the filesystem.
    pub rootfs: Option<String>,
}

impl IscsiRoot {
    /// The canonical RFC 4173 form without credentials: `iscsi:<server>::<port>:<lun hex>:<target>`.
    /// An `@` in the server or target gets dracut's empty credentials prefix (`iscsi:@...`)
    /// so that the text parses back to the same root.
    pub fn to_rfc4173(&self) -> String {
        let at = if self.server.contains('@') || self.target.contains('@') {
            "@"
        } else {
            ""
        };
        format!(
            "iscsi:{at}{}::{}:{}:{}",
            bracket(&self.server),
            self.port,
            lun_to_rfc4173(self.lun),
            self.target
        )
    }
}

/// A root on a network block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbdRoot {
    /// Host name or address; an IPv6 address without its brackets.
    pub server: String,
    /// `None` = the default port (10809).
    pub port: Option<u16>,
    /// Export name (newstyle negotiation); `None` = port-only (oldstyle).
    pub export: Option<String>,
    pub fstype: Option<String>,
    /// Mount flags for the filesystem (`ro`, `noatime`, ...).
    pub flags: Option<String>,
    /// nbd-client options (dracut only).
    pub opts: Option<String>,
}

/// An NFS root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsRoot {
    /// `None` = the lease's next-server.
    pub server: Option<String>,
    /// Exported directory, absolute.
    pub path: String,
    /// Mount options, comma separated, as written.
    pub options: Option<String>,
    /// `Some(4)` for `nfs4:`.
    pub version: Option<u8>,
}

/// Why a root path or a template could not be used. Each message is one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    #[error("the root path is empty")]
    Empty,
    #[error("the root path {0:?} contains whitespace, a quote or a control character, which a kernel command line cannot carry")]
    BadChar(String),
    #[error("the root path {0:?} has no scheme kboot knows (iscsi:, nbd:, nfs:, nfs4:, template: or server:/path)")]
    UnknownScheme(String),
    #[error("the {0} root path names no server")]
    NoServer(&'static str),
    #[error("{0:?} in brackets is not an IPv6 address")]
    BadIpv6(String),
    #[error("the server {0:?} has an unclosed '[' or text after its ']'")]
    BadBracket(String),
    #[error(
        "the iSCSI root path {0:?} has fewer than the five fields server:protocol:port:LUN:target"
    )]
    IscsiFields(String),
    #[error("the iSCSI root path names no target")]
    NoTarget,
    #[error("the port {0:?} is not a number from 1 to 65535")]
    BadPort(String),
    #[error("the LUN {0:?} is not up to four dash-separated groups of up to four hex digits")]
    BadLun(String),
    #[error("CHAP credentials must be user:password or user:password:target-user:target-password with no empty field")]
    BadChap,
    #[error("the NBD root path {0:?} gives neither a port nor an export name")]
    NbdNoExport(String),
    #[error("the NFS root path {0:?} has no absolute export path")]
    NfsNoPath(String),
    #[error("the template is empty")]
    EmptyTemplate,
    #[error("the template has an unclosed '${{'")]
    UnclosedVariable,
    #[error("the template uses ${{{0}}}, which is not one of ip, netmask, gateway, server, dns, hostname, mac, mac_dashed, uuid, iface")]
    UnknownVariable(String),
    #[error("the value of {0} ({1:?}) contains whitespace, a quote or a control character")]
    BadValue(&'static str, String),
    #[error("the lease has no client address, so no ip= parameter can be written")]
    NoAddress,
    #[error("the lease has no MAC address, which {0} needs to name the boot interface")]
    NoMac(&'static str),
    #[error("the NFS root names no server and the lease has no next-server")]
    NfsNoServer,
    #[error("a CHAP credential contains whitespace, a quote or a control character")]
    BadSecret,
    #[error("{0}")]
    Unsupported(String),
}

/// Parse a root path. Leading/trailing whitespace and NULs (DHCP options sometimes carry a
/// terminating NUL) are ignored.
pub fn parse_root_uri(s: &str) -> Result<RootSource, RootError> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0');
    if s.is_empty() {
        return Err(RootError::Empty);
    }
    if let Some(rest) = strip_scheme(s, "template:") {
        if rest.trim().is_empty() {
            return Err(RootError::EmptyTemplate);
        }
        if rest.chars().any(|c| c.is_control()) {
            return Err(RootError::BadChar(masked(s)));
        }
        return Ok(RootSource::Template(rest.to_string()));
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        return Err(RootError::BadChar(masked(s)));
    }
    if let Some(rest) = strip_scheme(s, "iscsi:") {
        return parse_iscsi(rest).map(RootSource::Iscsi);
    }
    if let Some(rest) = strip_scheme(s, "nbd:") {
        return parse_nbd(s, rest).map(RootSource::Nbd);
    }
    if let Some(rest) = strip_scheme(s, "nfs4:") {
        return parse_nfs_dracut(s, rest, Some(4)).map(RootSource::Nfs);
    }
    if let Some(rest) = strip_scheme(s, "nfs:") {
        return parse_nfs_dracut(s, rest, None).map(RootSource::Nfs);
    }
    if s.contains("://") {
        return Err(RootError::UnknownScheme(masked(s)));
    }
    if s.starts_with('/') || s.contains(":/") {
        return parse_nfs_bare(s).map(RootSource::Nfs);
    }
    Err(RootError::UnknownScheme(masked(s)))
}

/// `s` with credentials masked, for error messages.
fn masked(s: &str) -> String {
    super::secrets::mask_value(s)
}

/// `s` without `scheme` (ASCII case-insensitive), if it starts with it.
fn strip_scheme<'a>(s: &'a str, scheme: &str) -> Option<&'a str> {
    let head = s.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &s[scheme.len()..])
}

/// Split `server:rest` where the server may be `[v6]`. Returns (server without brackets,
/// text after the separating colon or `None` when there is no colon).
fn split_server(s: &str) -> Result<(String, Option<&str>), RootError> {
    if let Some(inner) = s.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return Err(RootError::BadBracket(s.to_string()));
        };
        if addr.parse::<Ipv6Addr>().is_err() {
            return Err(RootError::BadIpv6(addr.to_string()));
        }
        return match after {
            "" => Ok((addr.to_string(), None)),
            _ => match after.strip_prefix(':') {
                Some(rest) => Ok((addr.to_string(), Some(rest))),
                None => Err(RootError::BadBracket(s.to_string())),
            },
        };
    }
    match s.split_once(':') {
        Some((server, rest)) => Ok((server.to_string(), Some(rest))),
        None => Ok((s.to_string(), None)),
    }
}

/// `[v6]` for an address with colons, the text itself otherwise.
pub fn bracket(server: &str) -> String {
    if server.contains(':') {
        format!("[{server}]")
    } else {
        server.to_string()
    }
}

fn parse_port(s: &str) -> Result<u16, RootError> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RootError::BadPort(s.to_string()));
    }
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(RootError::BadPort(s.to_string())),
    }
}

/// RFC 4173 LUN: empty = 0; otherwise 1–4 groups of 1–4 hex digits joined by `-`, the
/// groups being the 16-bit words of the 8-byte SAM LUN. Returned as Linux's LUN number.
pub fn parse_lun(s: &str) -> Result<u64, RootError> {
    if s.is_empty() {
        return Ok(0);
    }
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() > 4 {
        return Err(RootError::BadLun(s.to_string()));
    }
    let mut lun = 0u64;
    for (i, g) in groups.iter().enumerate() {
        if g.is_empty() || g.len() > 4 || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RootError::BadLun(s.to_string()));
        }
        let word = u64::from_str_radix(g, 16).map_err(|_| RootError::BadLun(s.to_string()))?;
        lun |= word << (16 * i);
    }
    Ok(lun)
}

/// Linux LUN number back to RFC 4173 hex groups (trailing zero groups dropped).
pub fn lun_to_rfc4173(lun: u64) -> String {
    let mut groups: Vec<u16> = (0..4).map(|i| (lun >> (16 * i)) as u16).collect();
    while groups.len() > 1 && groups.last() == Some(&0) {
        groups.pop();
    }
    groups
        .iter()
        .map(|g| format!("{g:x}"))
        .collect::<Vec<_>>()
        .join("-")
}

fn parse_iscsi(rest: &str) -> Result<IscsiRoot, RootError> {
    // dracut's credentials prefix: everything before the first '@'.
    let (auth, rest) = match rest.split_once('@') {
        Some((auth, after)) => (Some(auth), after),
        None => (None, rest),
    };
    let (chap, mutual_chap) = match auth {
        None | Some("") => (None, None),
        Some(a) => {
            let f: Vec<&str> = a.split(':').collect();
            if !(f.len() == 2 || f.len() == 4) || f.iter().any(|x| x.is_empty()) {
                return Err(RootError::BadChap);
            }
            let chap = Chap {
                user: f[0].into(),
                password: f[1].into(),
            };
            let mutual = (f.len() == 4).then(|| Chap {
                user: f[2].into(),
                password: f[3].into(),
            });
            (Some(chap), mutual)
        }
    };
    let whole = format!("iscsi:{rest}");
    let (server, after) = split_server(rest)?;
    if server.is_empty() {
        return Err(RootError::NoServer("iSCSI"));
    }
    let after = after.ok_or_else(|| RootError::IscsiFields(whole.clone()))?;
    let mut fields = after.splitn(4, ':');
    let (Some(_proto), Some(port), Some(lun), Some(target)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(RootError::IscsiFields(whole));
    };
    if target.is_empty() {
        return Err(RootError::NoTarget);
    }
    let port = if port.is_empty() {
        ISCSI_PORT
    } else {
        parse_port(port)?
    };
    Ok(IscsiRoot {
        server,
        port,
        lun: parse_lun(lun)?,
        target: target.to_string(),
        initiator: None,
        chap,
        mutual_chap,
        rootfs: None,
    })
}

fn parse_nbd(whole: &str, rest: &str) -> Result<NbdRoot, RootError> {
    let (server, after) = split_server(rest)?;
    if server.is_empty() {
        return Err(RootError::NoServer("NBD"));
    }
    let after = after.unwrap_or("");
    let mut f = after.splitn(4, ':');
    let what = f.next().unwrap_or("");
    let opt = |x: Option<&str>| x.filter(|v| !v.is_empty()).map(str::to_string);
    let (fstype, flags, opts) = (opt(f.next()), opt(f.next()), opt(f.next()));
    let (port, export) = if what.is_empty() {
        return Err(RootError::NbdNoExport(whole.to_string()));
    } else if what.bytes().all(|b| b.is_ascii_digit()) {
        (Some(parse_port(what)?), None)
    } else if let Some((p, e)) = what
        .split_once('/')
        .filter(|(p, _)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        if e.is_empty() {
            return Err(RootError::NbdNoExport(whole.to_string()));
        }
        (Some(parse_port(p)?), Some(e.to_string()))
    } else {
        (None, Some(what.to_string()))
    };
    Ok(NbdRoot {
        server,
        port,
        export,
        fstype,
        flags,
        opts,
    })
}

/// `[server:]/path[:opts]` after `nfs:` / `nfs4:`.
fn parse_nfs_dracut(whole: &str, rest: &str, version: Option<u8>) -> Result<NfsRoot, RootError> {
    let (server, tail) = if rest.starts_with('/') {
        (None, rest)
    } else {
        let (server, after) = split_server(rest)?;
        if server.is_empty() {
            return Err(RootError::NoServer("NFS"));
        }
        (Some(server), after.unwrap_or(""))
    };
    let (path, options) = match tail.split_once(':') {
        Some((p, o)) => (p, (!o.is_empty()).then(|| o.to_string())),
        None => (tail, None),
    };
    if !path.starts_with('/') {
        return Err(RootError::NfsNoPath(whole.to_string()));
    }
    Ok(NfsRoot {
        server,
        path: path.to_string(),
        options,
        version,
    })
}

/// `[server:]/path[,opts]` (option 17, kernel `nfsroot=`).
fn parse_nfs_bare(s: &str) -> Result<NfsRoot, RootError> {
    let (server, tail) = if s.starts_with('/') {
        (None, s)
    } else {
        let (server, after) = split_server(s)?;
        if server.is_empty() {
            return Err(RootError::NoServer("NFS"));
        }
        (Some(server), after.unwrap_or(""))
    };
    let (path, options) = match tail.split_once(',') {
        Some((p, o)) => (p, (!o.is_empty()).then(|| o.to_string())),
        None => (tail, None),
    };
    if !path.starts_with('/') {
        return Err(RootError::NfsNoPath(s.to_string()));
    }
    Ok(NfsRoot {
        server,
        path: path.to_string(),
        options,
        version: None,
    })
}

/// True when `v` can sit inside one kernel command-line parameter.
pub(crate) fn cmdline_safe(v: &str) -> bool {
    !v.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"')
}

/// `aa-bb-cc-dd-ee-ff`
pub fn mac_dashed(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join("-")
}

/// The lease's next-server, else the DHCP server identifier (what `${server}` means).
pub fn lease_server(lease: &Lease) -> Option<Ipv4Addr> {
    lease
        .next_server
        .filter(|a| !a.is_unspecified())
        .or(lease.server_id.filter(|a| !a.is_unspecified()))
}

/// The netmask of the lease (option 1, else the classful default).
pub fn lease_netmask(lease: &Lease) -> Option<Ipv4Addr> {
    if lease.netmask.is_some() {
        return lease.netmask;
    }
    let p = u32::from(lease.prefix_len()?);
    Some(Ipv4Addr::from(u32::MAX.checked_shl(32 - p).unwrap_or(0)))
}

/// Expand `${var}` placeholders in a template from the lease and the machine UUID. A value
/// the lease lacks expands to nothing; an unknown variable or an unclosed `${` is an error,
/// and so is a value that would break the command line (whitespace, quotes). A `$` not
/// followed by `{` stays as it is.
pub fn expand(template: &str, lease: &Lease, uuid: Option<&str>) -> Result<String, RootError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find("${") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else {
            return Err(RootError::UnclosedVariable);
        };
        let name = &after[..end];
        let (key, value): (&'static str, String) = match name {
            "ip" => ("ip", opt_ip(lease.client)),
            "netmask" => ("netmask", opt_ip(lease_netmask(lease))),
            "gateway" => ("gateway", opt_ip(lease.gateway)),
            "server" => ("server", opt_ip(lease_server(lease))),
            "dns" => ("dns", opt_ip(lease.dns.first().copied())),
            "hostname" => ("hostname", lease.hostname.clone().unwrap_or_default()),
            "mac" => ("mac", lease.mac_colon()),
            "mac_dashed" => ("mac_dashed", mac_dashed(&lease.mac)),
            "uuid" => ("uuid", uuid.unwrap_or_default().to_string()),
            "iface" => ("iface", lease.iface.clone()),
            other => return Err(RootError::UnknownVariable(other.to_string())),
        };
        if !cmdline_safe(&value) {
            return Err(RootError::BadValue(key, value));
        }
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn opt_ip(a: Option<Ipv4Addr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

/// The initiator IQN: the root's own (configuration), else DHCP option 203, else
/// `iqn.2010-04.org.ipxe:<hostname>` (or `<uuid>`, or the MAC as 12 hex digits), as iPXE
/// names itself.
pub fn initiator_name(root: &IscsiRoot, lease: &Lease, uuid: Option<&str>) -> String {
    if let Some(i) = root.initiator.as_deref().filter(|s| !s.is_empty()) {
        return i.to_string();
    }
    if let Some(i) = lease.iscsi_initiator.as_deref().filter(|s| !s.is_empty()) {
        return i.to_string();
    }
    let suffix = lease
        .hostname
        .as_deref()
        .filter(|h| !h.is_empty())
        .or(uuid.filter(|u| !u.is_empty()))
        .map(iqn_sanitize)
        .unwrap_or_else(|| lease.mac.iter().map(|b| format!("{b:02x}")).collect());
    format!("{IPXE_IQN_PREFIX}:{suffix}")
}

/// IQN-safe text: lower case, only `a-z 0-9 - . :`; anything else becomes `-`.
fn iqn_sanitize(s: &str) -> String {
    s.chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

impl fmt::Display for RootSource {
    /// A display form with no secrets (CHAP passwords appear as `***`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootSource::Iscsi(r) => {
                let rfc = r.to_rfc4173();
                match (&r.chap, &r.mutual_chap) {
                    (Some(c), Some(m)) => write!(
                        f,
                        "iscsi:{}:***:{}:***@{}",
                        c.user,
                        m.user,
                        rfc.trim_start_matches("iscsi:").trim_start_matches('@')
                    ),
                    (Some(c), None) => write!(
                        f,
                        "iscsi:{}:***@{}",
                        c.user,
                        rfc.trim_start_matches("iscsi:").trim_start_matches('@')
                    ),
                    _ => f.write_str(&rfc),
                }
            }
            RootSource::Nbd(n) => {
                write!(f, "nbd:{}:", bracket(&n.server))?;
                match (&n.port, &n.export) {
                    (Some(p), Some(e)) => write!(f, "{p}/{e}")?,
                    (Some(p), None) => write!(f, "{p}")?,
                    (None, Some(e)) => f.write_str(e)?,
                    (None, None) => write!(f, "{NBD_PORT}")?,
                }
                let tail = [&n.fstype, &n.flags, &n.opts];
                let last = tail.iter().rposition(|x| x.is_some());
                if let Some(last) = last {
                    for x in &tail[..=last] {
                        write!(f, ":{}", x.as_deref().unwrap_or(""))?;
                    }
                }
                Ok(())
            }
            RootSource::Nfs(n) if n.path.contains(':') && n.version.is_none() => {
                // Only the option 17 form carries a ':' in the path.
                if let Some(s) = &n.server {
                    write!(f, "{}:", bracket(s))?;
                }
                f.write_str(&n.path)?;
                if let Some(o) = &n.options {
                    write!(f, ",{o}")?;
                }
                Ok(())
            }
            RootSource::Nfs(n) => {
                let scheme = if n.version == Some(4) { "nfs4" } else { "nfs" };
                write!(f, "{scheme}:")?;
                if let Some(s) = &n.server {
                    write!(f, "{}:", bracket(s))?;
                }
                f.write_str(&n.path)?;
                if let Some(o) = &n.options {
                    write!(f, ":{o}")?;
                }
                Ok(())
            }
            RootSource::Template(t) => write!(f, "template:{t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iscsi(s: &str) -> IscsiRoot {
        match parse_root_uri(s) {
            Ok(RootSource::Iscsi(r)) => r,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn err(s: &str) -> RootError {
        parse_root_uri(s).expect_err(s)
    }

    #[test]
    fn rfc4173_full_form() {
        let r = iscsi("iscsi:10.0.2.2:6:3261:1:iqn.2004-01.org.example:disk1");
        assert_eq!(r.server, "10.0.2.2");
        assert_eq!(r.port, 3261);
        assert_eq!(r.lun, 1);
        assert_eq!(r.target, "iqn.2004-01.org.example:disk1");
        assert_eq!((r.chap, r.mutual_chap, r.initiator), (None, None, None));
    }

    #[test]
    fn rfc4173_empty_fields_take_defaults() {
        let r = iscsi("iscsi:10.0.2.2::::iqn.2004-01.org.example:disk1");
        assert_eq!((r.port, r.lun), (3260, 0));
        let r = iscsi("iscsi:srv.example.com:::0:iqn.x");
        assert_eq!(
            (r.server.as_str(), r.port, r.lun),
            ("srv.example.com", 3260, 0)
        );
        // The protocol is ignored, whatever it says.
        assert_eq!(iscsi("iscsi:h:17:::t").target, "t");
        assert_eq!(iscsi("iscsi:h:tcp:::t").port, 3260);
    }

    #[test]
    fn rfc4173_target_names_keep_their_colons() {
        let r = iscsi("iscsi:h::::iqn.2001-04.com.example:storage:disk2:sys1:xyz");
        assert_eq!(r.target, "iqn.2001-04.com.example:storage:disk2:sys1:xyz");
        let r = iscsi("iscsi:h::::eui.02004567A425678D");
        assert_eq!(r.target, "eui.02004567A425678D");
        // A trailing colon belongs to the target name too.
        assert_eq!(iscsi("iscsi:h::::a:").target, "a:");
    }

    #[test]
    fn rfc4173_ipv6_in_brackets() {
        let r = iscsi("iscsi:[fe80::1:2]:6:3260:0:iqn.x:y");
        assert_eq!(r.server, "fe80::1:2");
        assert_eq!(r.target, "iqn.x:y");
        assert_eq!(iscsi("iscsi:[::1]::::t").server, "::1");
        assert!(matches!(
            err("iscsi:[fe80::1:::t"),
            RootError::BadBracket(_)
        ));
        assert!(matches!(
            err("iscsi:[fe80::1]x:::t"),
            RootError::BadBracket(_)
        ));
        assert!(matches!(err("iscsi:[not-v6]::::t"), RootError::BadIpv6(_)));
        assert!(matches!(
            err("iscsi:[10.0.0.1]::::t"),
            RootError::BadIpv6(_)
        ));
        assert!(matches!(err("iscsi:[::1]"), RootError::IscsiFields(_)));
    }

    #[test]
    fn rfc4173_lun_is_hex_in_groups() {
        assert_eq!(iscsi("iscsi:h:::a:t").lun, 10);
        assert_eq!(iscsi("iscsi:h:::1F:t").lun, 31);
        assert_eq!(iscsi("iscsi:h:::ffff:t").lun, 0xffff);
        // RFC 4173's own examples.
        assert_eq!(
            iscsi("iscsi:h:::4752-3A4F-6b7e-2F99:t").lun,
            0x2f99_6b7e_3a4f_4752
        );
        assert_eq!(
            iscsi("iscsi:h:::6734-9-156f-127:t").lun,
            0x0127_156f_0009_6734
        );
        assert_eq!(iscsi("iscsi:h:::4186-9:t").lun, 0x0009_4186);
        for bad in ["g", "12345", "1--2", "-1", "1-", "1-2-3-4-5", "0x1", "+1"] {
            assert!(
                matches!(err(&format!("iscsi:h:::{bad}:t")), RootError::BadLun(_)),
                "{bad}"
            );
        }
        assert_eq!(lun_to_rfc4173(0), "0");
        assert_eq!(lun_to_rfc4173(10), "a");
        assert_eq!(lun_to_rfc4173(0x0009_4186), "4186-9");
        assert_eq!(lun_to_rfc4173(0x2f99_6b7e_3a4f_4752), "4752-3a4f-6b7e-2f99");
    }

    #[test]
    fn rfc4173_ports() {
        assert_eq!(iscsi("iscsi:h::65535::t").port, 65535);
        for bad in ["0", "65536", "99999999999", "-1", "x", "32 60", "+3"] {
            let e = parse_root_uri(&format!("iscsi:h::{bad}::t")).unwrap_err();
            assert!(
                matches!(e, RootError::BadPort(_) | RootError::BadChar(_)),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn rfc4173_malformed() {
        assert!(matches!(err("iscsi:"), RootError::NoServer(_)));
        assert!(matches!(err("iscsi:::::t"), RootError::NoServer(_)));
        assert!(matches!(err("iscsi:h"), RootError::IscsiFields(_)));
        assert!(matches!(err("iscsi:h:6:3260:0"), RootError::IscsiFields(_)));
        assert!(matches!(err("iscsi:h::::"), RootError::NoTarget));
        assert!(matches!(err("iscsi:h :::: t"), RootError::BadChar(_)));
        assert!(matches!(err("iscsi:h::::t\"x"), RootError::BadChar(_)));
        assert_eq!(err(""), RootError::Empty);
        assert_eq!(err(" \0"), RootError::Empty);
    }

    #[test]
    fn scheme_is_case_insensitive_and_option17_nul_is_trimmed() {
        assert_eq!(iscsi("ISCSI:h::::t\0").target, "t");
        assert_eq!(iscsi(" iScSi:h::::t\n").server, "h");
    }

    #[test]
    fn dracut_chap_prefix() {
        let r = iscsi("iscsi:joe:secret@10.0.2.2::3260:0:iqn.x:y");
        assert_eq!(
            r.chap,
            Some(Chap {
                user: "joe".into(),
                password: "secret".into()
            })
        );
        assert_eq!(r.mutual_chap, None);
        assert_eq!(r.server, "10.0.2.2");
        let r = iscsi("iscsi:u:p:tu:tp@[::1]::::t");
        assert_eq!(r.mutual_chap.as_ref().unwrap().user, "tu");
        assert_eq!(r.mutual_chap.as_ref().unwrap().password, "tp");
        assert_eq!(r.server, "::1");
        // An empty prefix lets the target name hold an '@'.
        let r = iscsi("iscsi:@h::::iqn.x:te@st");
        assert_eq!((r.target.as_str(), r.chap), ("iqn.x:te@st", None));
        for bad in [
            "u@h::::t",
            "u:p:x@h::::t",
            "u::@h::::t",
            ":p@h::::t",
            "a:b:c:d:e@h::::t",
        ] {
            assert_eq!(err(&format!("iscsi:{bad}")), RootError::BadChap, "{bad}");
        }
        // The debug form never shows the password.
        assert!(!format!("{:?}", iscsi("iscsi:u:hunter2@h::::t")).contains("hunter2"));
        // Nor does an error message.
        assert!(!err("iscsi:u:hunter2@h:: ::t")
            .to_string()
            .contains("hunter2"));
        assert!(!err("sftp://u:hunter2@h/").to_string().contains("hunter2"));
    }

    #[test]
    fn display_round_trips_without_secrets() {
        for s in [
            "iscsi:10.0.2.2::3260:0:iqn.x:y",
            "iscsi:[fe80::1]::3260:4186-9:t",
            "nbd:10.0.2.2:10809",
            "nbd:h:root:ext4",
            "nbd:[::1]:1234/root:ext4:ro:timeout=30",
            "nfs:10.0.2.2:/srv/root:vers=3,tcp",
            "nfs4:[::1]:/r",
            "nfs:/r",
            "template:x=${ip}",
        ] {
            let parsed = parse_root_uri(s).unwrap();
            assert_eq!(parsed.to_string(), s);
            assert_eq!(parse_root_uri(&parsed.to_string()).unwrap(), parsed);
        }
        let r = parse_root_uri("iscsi:u:pw:m:mpw@h::::t").unwrap();
        assert_eq!(r.to_string(), "iscsi:u:***:m:***@h::3260:0:t");
    }

    #[test]
    fn nbd_forms() {
        let n = |s: &str| match parse_root_uri(s) {
            Ok(RootSource::Nbd(n)) => n,
            other => panic!("{s}: {other:?}"),
        };
        let r = n("nbd:10.0.2.2:10809");
        assert_eq!((r.port, r.export), (Some(10809), None));
        let r = n("nbd:10.0.2.2:root:ext4:noatime:bs=4096,timeout=30");
        assert_eq!(r.export.as_deref(), Some("root"));
        assert_eq!(r.port, None);
        assert_eq!(r.fstype.as_deref(), Some("ext4"));
        assert_eq!(r.flags.as_deref(), Some("noatime"));
        assert_eq!(r.opts.as_deref(), Some("bs=4096,timeout=30"));
        let r = n("nbd:[fd00::2]:2000/disk");
        assert_eq!(r.server, "fd00::2");
        assert_eq!((r.port, r.export.as_deref()), (Some(2000), Some("disk")));
        let r = n("nbd:h:exp::ro");
        assert_eq!((r.fstype, r.flags.as_deref()), (None, Some("ro")));
        assert!(matches!(err("nbd:h"), RootError::NbdNoExport(_)));
        assert!(matches!(err("nbd:h:"), RootError::NbdNoExport(_)));
        assert!(matches!(err("nbd:h:12/"), RootError::NbdNoExport(_)));
        assert!(matches!(err("nbd::1"), RootError::NoServer(_)));
        assert!(matches!(err("nbd:h:0"), RootError::BadPort(_)));
        assert!(matches!(err("nbd:h:70000/x"), RootError::BadPort(_)));
    }

    #[test]
    fn nfs_forms() {
        let n = |s: &str| match parse_root_uri(s) {
            Ok(RootSource::Nfs(n)) => n,
            other => panic!("{s}: {other:?}"),
        };
        let r = n("nfs:10.0.2.2:/srv/root:vers=3,tcp");
        assert_eq!(r.server.as_deref(), Some("10.0.2.2"));
        assert_eq!(r.path, "/srv/root");
        assert_eq!(r.options.as_deref(), Some("vers=3,tcp"));
        assert_eq!(r.version, None);
        let r = n("nfs4:srv:/exports/a");
        assert_eq!((r.version, r.options), (Some(4), None));
        let r = n("nfs:/srv/root");
        assert_eq!((r.server, r.path.as_str()), (None, "/srv/root"));
        // Option 17 / nfsroot= style: commas start the options.
        let r = n("10.0.2.2:/srv/root,vers=3,ro");
        assert_eq!(r.server.as_deref(), Some("10.0.2.2"));
        assert_eq!(r.path, "/srv/root");
        assert_eq!(r.options.as_deref(), Some("vers=3,ro"));
        let r = n("/srv/root");
        assert_eq!((r.server, r.options), (None, None));
        let r = n("[fd00::1]:/r");
        assert_eq!(r.server.as_deref(), Some("fd00::1"));
        assert!(matches!(err("nfs:h:relative"), RootError::NfsNoPath(_)));
        assert!(matches!(err("nfs:h"), RootError::NfsNoPath(_)));
        assert!(matches!(err("nfs::/x"), RootError::NoServer(_)));
        assert!(matches!(err("http://h/x"), RootError::UnknownScheme(_)));
        assert!(matches!(err("aoe:e1.0"), RootError::UnknownScheme(_)));
        assert!(matches!(err("/dev/sda1 x"), RootError::BadChar(_)));
    }

    #[test]
    fn templates() {
        assert_eq!(
            parse_root_uri("template:rd.myscsi=${server} x").unwrap(),
            RootSource::Template("rd.myscsi=${server} x".into())
        );
        assert_eq!(err("template:  "), RootError::EmptyTemplate);
        assert!(matches!(err("template:a\nb"), RootError::BadChar(_)));
        let lease = Lease {
            iface: "eth0".into(),
            mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            client: Some(Ipv4Addr::new(10, 0, 2, 15)),
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
            dns: vec![Ipv4Addr::new(10, 0, 2, 3), Ipv4Addr::new(1, 1, 1, 1)],
            hostname: Some("client1".into()),
            next_server: Some(Ipv4Addr::new(10, 0, 2, 4)),
            ..Default::default()
        };
        let t = "a=${ip}/${netmask}/${gateway} s=${server} d=${dns} h=${hostname} \
                 m=${mac} md=${mac_dashed} u=${uuid} i=${iface} $x ${}x";
        let e = expand(t, &lease, Some("1234-5678"));
        assert_eq!(e, Err(RootError::UnknownVariable(String::new())));
        let t = &t[..t.len() - 5];
        assert_eq!(
            expand(t, &lease, Some("1234-5678")).unwrap(),
            "a=10.0.2.15/255.0.0.0/10.0.2.2 s=10.0.2.4 d=10.0.2.3 h=client1 \
             m=52:54:00:12:34:56 md=52-54-00-12-34-56 u=1234-5678 i=eth0 $x"
        );
        assert_eq!(
            expand("${uuid}|${gateway}", &Lease::default(), None).unwrap(),
            "|"
        );
        assert_eq!(
            expand("x${ip", &lease, None),
            Err(RootError::UnclosedVariable)
        );
        assert_eq!(
            expand("${IP}", &lease, None),
            Err(RootError::UnknownVariable("IP".into()))
        );
        let bad = Lease {
            hostname: Some("a b".into()),
            ..Default::default()
        };
        assert!(matches!(
            expand("${hostname}", &bad, None),
            Err(RootError::BadValue("hostname", _))
        ));
        // Multi-byte text around variables is kept intact.
        assert_eq!(expand("é${iface}ü", &lease, None).unwrap(), "éeth0ü");
    }

    /// What the fuzz target checks, over a fixed set of tricky inputs and their
    /// single-character mutations (the fuzz target itself needs nightly).
    #[test]
    fn display_reparses_to_the_same_root() {
        let seeds = [
            "iscsi:@a@b::::t",
            "iscsi:@h::::t@x",
            "iscsi:u:p@h::::t@x",
            "iscsi:[::1]:6:1:1-2-3-4:iqn.a:b:c",
            "h:/a:b,ro",
            "/a:b",
            "nfs:h:/a,b:c",
            "nfs4:h:/a",
            "nbd:h:0012/x:ext4::o:p",
            "nbd:[::1]:exp/x",
            "10.0.0.1:/srv,vers=3",
        ];
        let alphabet = [":", "@", "[", "]", "/", ",", "0", "a", "", "é", "-"];
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            for i in 0..=chars.len() {
                for a in alphabet {
                    for replace in [false, true] {
                        let mut v: String = chars[..i].iter().collect();
                        v.push_str(a);
                        let from = if replace { (i + 1).min(chars.len()) } else { i };
                        v.extend(&chars[from..]);
                        let Ok(root) = parse_root_uri(&v) else {
                            continue;
                        };
                        let shown = root.to_string();
                        if let RootSource::Iscsi(r) = &root {
                            if r.chap.is_some() {
                                assert!(shown.contains(":***"), "{v}");
                                continue;
                            }
                        }
                        assert_eq!(parse_root_uri(&shown), Ok(root), "{v:?} -> {shown:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn initiator_defaults() {
        let mut r = iscsi("iscsi:h::::t");
        let mut lease = Lease {
            mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            ..Default::default()
        };
        assert_eq!(
            initiator_name(&r, &lease, None),
            "iqn.2010-04.org.ipxe:525400123456"
        );
        assert_eq!(
            initiator_name(&r, &lease, Some("8C2F-AA")),
            "iqn.2010-04.org.ipxe:8c2f-aa"
        );
        lease.hostname = Some("Client_1".into());
        assert_eq!(
            initiator_name(&r, &lease, Some("u")),
            "iqn.2010-04.org.ipxe:client-1"
        );
        lease.iscsi_initiator = Some("iqn.2000-01.com.dhcp:x".into());
        assert_eq!(initiator_name(&r, &lease, None), "iqn.2000-01.com.dhcp:x");
        r.initiator = Some("iqn.1999-01.com.conf:y".into());
        assert_eq!(initiator_name(&r, &lease, None), "iqn.1999-01.com.conf:y");
    }
}
