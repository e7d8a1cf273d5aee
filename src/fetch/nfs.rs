//! `nfs://server[:port]/export/path/file`: mounted read-only through the kernel's NFS client,
//! copied, unmounted.
//!
//! A URL does not say where the export ends and the path inside it begins, so kboot tries the
//! directory prefixes of the path from the longest to the shortest (`/srv/boot/x/vmlinuz`:
//! `/srv/boot/x`, `/srv/boot`, `/srv`, `/`) and uses the first that mounts. Each prefix is
//! tried with NFSv3 (`vers=3,nolock`: no lock daemon in kboot) and then NFSv4, whose
//! pseudo-root also makes `/` work when the server exports a deeper directory. The kernel
//! resolves no names, so the server's address is looked up first and passed as `addr=`.

use std::net::{IpAddr, ToSocketAddrs};

use super::local::{mount_ro, Mounted};

/// Why an NFS location could not be mounted, as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum NfsError {
    #[error("{url} names no file after the server")]
    NoFile { url: String },
    #[error("cannot find NFS server '{host}': {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot mount any export of {server} holding {path} (tried {tried}): {reason}")]
    Mount {
        server: String,
        path: String,
        tried: String,
        reason: String,
    },
}

/// One way to split a URL path into an export and a file inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The directory to mount, e.g. `/srv/boot`.
    pub export: String,
    /// The file relative to the export, e.g. `x/vmlinuz`.
    pub file: String,
}

/// The candidate splits of a (percent-decoded) URL path, longest export first. Empty, `.`
/// and `..` segments are dropped (`..` removes the previous one). No file, no splits.
pub fn splits(path: &str) -> Vec<Split> {
    let mut segs: Vec<&str> = Vec::new();
    for s in path.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    if segs.is_empty() || path.ends_with('/') {
        return Vec::new();
    }
    (0..segs.len())
        .rev()
        .map(|i| Split {
            export: format!("/{}", segs[..i].join("/")),
            file: segs[i..].join("/"),
        })
        .collect()
}

/// The mount options tried for each export, in order.
pub fn option_sets(addr: IpAddr, port: Option<u16>) -> Vec<(&'static str, String)> {
    let port = port.map(|p| format!(",port={p}")).unwrap_or_default();
    vec![
        ("nfs", format!("vers=3,nolock,addr={addr}{port}")),
        ("nfs4", format!("vers=4,addr={addr}{port}")),
    ]
}

/// The `server:/export` source string for mount(2) (IPv6 addresses in brackets).
pub fn source(addr: IpAddr, export: &str) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{export}"),
        IpAddr::V6(a) => format!("[{a}]:{export}"),
    }
}

/// Mounts the export holding `path` on `host`; returns the mount and the file inside it.
pub fn mount_for(
    url: &str,
    host: &str,
    port: Option<u16>,
    path: &str,
) -> Result<(Mounted, String), NfsError> {
    let candidates = splits(path);
    if candidates.is_empty() {
        return Err(NfsError::NoFile {
            url: url.to_string(),
        });
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addr = match bare.parse::<IpAddr>() {
        Ok(a) => a,
        Err(_) => (bare, 2049)
            .to_socket_addrs()
            .map_err(|e| NfsError::Resolve {
                host: bare.to_string(),
                reason: e.to_string(),
            })?
            .next()
            .map(|s| s.ip())
            .ok_or_else(|| NfsError::Resolve {
                host: bare.to_string(),
                reason: "no address".into(),
            })?,
    };
    let mut tried = Vec::new();
    let mut last = String::from("no export tried");
    for split in &candidates {
        for (fstype, data) in option_sets(addr, port) {
            let src = source(addr, &split.export);
            match mount_ro(&src, &[fstype], Some(&data)) {
                Ok(m) => {
                    if m.dir().join(&split.file).exists() {
                        return Ok((m, split.file.clone()));
                    }
                    // Mounted, but the file is not there: a shorter export will not hold it
                    // either unless this one is a different filesystem; keep trying.
                    last = format!("{} is not in {}", split.file, split.export);
                }
                Err((_, e)) => last = e.desc().to_string(),
            }
            tried.push(format!("{} ({fstype})", split.export));
        }
    }
    Err(NfsError::Mount {
        server: bare.to_string(),
        path: path.to_string(),
        tried: tried.join(", "),
        reason: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(export: &str, file: &str) -> Split {
        Split {
            export: export.into(),
            file: file.into(),
        }
    }

    #[test]
    fn splits_longest_export_first() {
        assert_eq!(
            splits("/srv/boot/x/vmlinuz"),
            vec![
                s("/srv/boot/x", "vmlinuz"),
                s("/srv/boot", "x/vmlinuz"),
                s("/srv", "boot/x/vmlinuz"),
                s("/", "srv/boot/x/vmlinuz"),
            ]
        );
        assert_eq!(splits("/vmlinuz"), vec![s("/", "vmlinuz")]);
        assert_eq!(splits("//a/./b/../c"), vec![s("/a", "c"), s("/", "a/c")]);
    }

    #[test]
    fn no_file_no_splits() {
        assert!(splits("").is_empty());
        assert!(splits("/").is_empty());
        assert!(splits("/srv/boot/").is_empty());
        assert!(splits("/..").is_empty());
    }

    #[test]
    fn options_and_sources() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(source(v4, "/srv"), "192.0.2.1:/srv");
        assert_eq!(source(v6, "/srv"), "[2001:db8::1]:/srv");
        let o = option_sets(v4, Some(2050));
        assert_eq!(
            o[0],
            ("nfs", "vers=3,nolock,addr=192.0.2.1,port=2050".into())
        );
        assert_eq!(o[1], ("nfs4", "vers=4,addr=192.0.2.1,port=2050".into()));
    }

    #[test]
    fn a_url_without_a_file_is_an_error() {
        let e = mount_for("nfs://192.0.2.1/", "192.0.2.1", None, "/").unwrap_err();
        assert!(matches!(e, NfsError::NoFile { .. }), "{e}");
    }
}
