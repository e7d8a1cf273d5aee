//! One root source rendered for the target's initramfs family ("flavour").
//!
//! What each flavour reads comes from its own scripts:
//! - dracut (`95iscsi/iscsiroot.sh`, `95nbd/nbdroot.sh`, `95nfs/nfsroot.sh`, `40network`):
//!   `ip=<client>:<peer>:<gw>:<netmask>:<hostname>:<iface>:none`, `ifname=<iface>:<mac>`,
//!   `rd.neednet=1`, `nameserver=`, `netroot=iscsi:...`, `rd.iscsi.*`, `root=nbd:...`,
//!   `root=nfs[4]:...`. dracut also reads parameters from `/etc/cmdline.d/*.conf` inside the
//!   initramfs, which is where CHAP credentials go.
//! - Debian/Ubuntu initramfs-tools (`scripts/functions` configure_networking,
//!   open-iscsi's `local-top/iscsi`, nbd-client's `local-top/nbd`, `scripts/nfs`): kernel-style
//!   `ip=` with an empty device and `BOOTIF=01-<mac>` naming the NIC, `iscsi_*=` parameters,
//!   `/etc/iscsi.initramfs` (sourced before the command line is read) for CHAP,
//!   `nbdroot=<server>:<port>/<export> root=/dev/nbd0`, `boot=nfs root=/dev/nfs nfsroot=`.
//! - The plain kernel (no initramfs): `ip=...:off` and `root=/dev/nfs nfsroot=...` only.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use super::root::{
    bracket, cmdline_safe, expand, initiator_name, lease_netmask, IscsiRoot, NbdRoot, NfsRoot,
    RootError, RootSource, NBD_PORT,
};
use super::secrets;
use crate::net::Lease;

/// The initramfs family of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    Dracut,
    InitramfsTools,
    /// No initramfs: the kernel's own `ip=` and NFS root.
    Kernel,
}

impl Flavor {
    pub const ALL: [Flavor; 3] = [Flavor::Dracut, Flavor::InitramfsTools, Flavor::Kernel];

    /// `dracut`, `initramfs-tools`, `kernel`
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Dracut => "dracut",
            Flavor::InitramfsTools => "initramfs-tools",
            Flavor::Kernel => "kernel",
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dracut" => Ok(Flavor::Dracut),
            "initramfs-tools" | "initramfs_tools" | "debian" => Ok(Flavor::InitramfsTools),
            "kernel" | "none" => Ok(Flavor::Kernel),
            _ => Err(format!(
                "{s:?} is not a flavour: use dracut, initramfs-tools or kernel"
            )),
        }
    }
}

/// What to append to the target command line, and what to inject into its initramfs.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    /// Parameters to append (may hold secrets only when asked to, see [`RenderOptions`]).
    pub args: String,
    /// Files to add to the target's initramfs as an appended cpio segment
    /// (path inside the initrd without a leading `/`, content).
    pub secrets: Vec<(String, Vec<u8>)>,
    /// `args` with secrets replaced by `***`, for the screen and logs.
    pub masked: String,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.secrets.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("Rendered")
            .field("args", &self.masked)
            .field("secrets", &names)
            .finish()
    }
}

/// Knobs beyond the root source and the lease.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// The machine UUID (SMBIOS), for `${uuid}` and generated initiator names.
    pub uuid: Option<&'a str>,
    /// Put CHAP credentials on the command line instead of into an initramfs file (for
    /// when no cpio segment can be appended, e.g. a signed initrd). `masked` hides them.
    pub secrets_on_cmdline: bool,
}

/// The parameter dracut's network layer gives the boot interface.
pub const DRACUT_IFNAME: &str = "bootnet";
/// The file dracut reads extra parameters from (kboot's CHAP credentials).
pub const DRACUT_SECRETS_PATH: &str = "etc/cmdline.d/90-kboot-secrets.conf";
/// The file open-iscsi's initramfs-tools script sources before reading the command line.
pub const ISCSI_INITRAMFS_PATH: &str = "etc/iscsi.initramfs";

/// Render `root` for `flavor` with the network settings of `lease`.
pub fn render(root: &RootSource, flavor: Flavor, lease: &Lease) -> Result<Rendered, RootError> {
    render_with(root, flavor, lease, &RenderOptions::default())
}

/// [`render`] with a machine UUID and the secrets choice.
pub fn render_with(
    root: &RootSource,
    flavor: Flavor,
    lease: &Lease,
    opts: &RenderOptions<'_>,
) -> Result<Rendered, RootError> {
    let mut args = network_args(flavor, lease)?;
    let mut files = Vec::new();
    match root {
        RootSource::Iscsi(r) => iscsi_args(r, flavor, lease, opts, &mut args, &mut files)?,
        RootSource::Nbd(r) => nbd_args(r, flavor, &mut args)?,
        RootSource::Nfs(r) => nfs_args(r, flavor, lease, &mut args)?,
        RootSource::Template(t) => args.push(expand(t, lease, opts.uuid)?),
    }
    let args = super::join(&args);
    Ok(Rendered {
        masked: secrets::mask(&args),
        args,
        secrets: files,
    })
}

fn check(what: &'static str, v: &str) -> Result<(), RootError> {
    if cmdline_safe(v) {
        Ok(())
    } else {
        Err(RootError::BadValue(what, v.to_string()))
    }
}

/// `ip=` and friends for the flavour, from the lease.
fn network_args(flavor: Flavor, lease: &Lease) -> Result<Vec<String>, RootError> {
    let client = lease.client.ok_or(RootError::NoAddress)?;
    let mask = lease_netmask(lease)
        .map(|m| m.to_string())
        .unwrap_or_default();
    let gw = ip_or_empty(lease.gateway);
    let host = lease.hostname.clone().unwrap_or_default();
    check("hostname", &host)?;
    if host.contains(':') {
        return Err(RootError::BadValue("hostname", host));
    }
    let has_mac = lease.mac != [0; 6];
    let mut out = Vec::new();
    match flavor {
        Flavor::Dracut => {
            if !has_mac {
                return Err(RootError::NoMac("dracut"));
            }
            out.push(format!(
                "ip={client}::{gw}:{mask}:{host}:{DRACUT_IFNAME}:none"
            ));
            out.push(format!("ifname={DRACUT_IFNAME}:{}", lease.mac_colon()));
            out.push("rd.neednet=1".into());
            for d in &lease.dns {
                out.push(format!("nameserver={d}"));
            }
        }
        Flavor::InitramfsTools | Flavor::Kernel => {
            let server = ip_or_empty(lease.next_server.filter(|a| !a.is_unspecified()));
            let mut ip = format!("ip={client}:{server}:{gw}:{mask}:{host}::off");
            // klibc's ipconfig and the kernel both take dns0:dns1 after autoconf.
            for d in lease.dns.iter().take(2) {
                ip.push_str(&format!(":{d}"));
            }
            out.push(ip);
            if flavor == Flavor::InitramfsTools && has_mac {
                out.push(format!("BOOTIF={}", lease.bootif()));
            }
        }
    }
    Ok(out)
}

fn ip_or_empty(a: Option<Ipv4Addr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

fn iscsi_args(
    r: &IscsiRoot,
    flavor: Flavor,
    lease: &Lease,
    opts: &RenderOptions<'_>,
    args: &mut Vec<String>,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), RootError> {
    check("the iSCSI server", &r.server)?;
    check("the iSCSI target", &r.target)?;
    if let Some(fs) = &r.rootfs {
        check("the root filesystem", fs)?;
    }
    let initiator = initiator_name(r, lease, opts.uuid);
    check("the initiator name", &initiator)?;
    let mut creds: Vec<(&str, &str)> = Vec::new();
    if let Some(c) = &r.chap {
        creds.push(("user", &c.user));
        creds.push(("password", &c.password));
        if let Some(m) = &r.mutual_chap {
            creds.push(("in_user", &m.user));
            creds.push(("in_password", &m.password));
        }
    } else if r.mutual_chap.is_some() {
        return Err(RootError::BadChap);
    }
    for (_, v) in &creds {
        if !cmdline_safe(v) {
            return Err(RootError::BadSecret);
        }
        if v.is_empty() {
            return Err(RootError::BadChap);
        }
    }
    let port = r.port;
    let lun = r.lun;
    match flavor {
        Flavor::Kernel => {
            return Err(RootError::Unsupported(
                "the plain kernel cannot attach an iSCSI root: it needs an initramfs (dracut or initramfs-tools)".into(),
            ))
        }
        Flavor::Dracut => {
            let server = bracket(&r.server);
            // dracut takes the text before the first '@' as credentials; an empty prefix
            // keeps an '@' in the server or target name.
            let at = if r.server.contains('@') || r.target.contains('@') {
                "@"
            } else {
                ""
            };
            args.push(format!(
                "netroot=iscsi:{at}{server}::{port}:{lun}:{}",
                r.target
            ));
            args.push(format!("rd.iscsi.initiator={initiator}"));
            // Without a configured filesystem the whole LUN is the root; dracut waits for
            // it under the name udev's path_id gives it.
            let root = match &r.rootfs {
                Some(fs) => fs.clone(),
                None => format!(
                    "/dev/disk/by-path/ip-{}:{port}-iscsi-{}-lun-{lun}",
                    r.server, r.target
                ),
            };
            args.push(format!("root={root}"));
            let keys = [
                "rd.iscsi.username",
                "rd.iscsi.password",
                "rd.iscsi.in.username",
                "rd.iscsi.in.password",
            ];
            let line: Vec<String> = creds
                .iter()
                .zip(keys)
                .map(|((_, v), k)| format!("{k}={v}"))
                .collect();
            if !line.is_empty() {
                if opts.secrets_on_cmdline {
                    args.extend(line);
                } else {
                    let text = format!("{}\n", line.join(" "));
                    files.push((DRACUT_SECRETS_PATH.into(), text.into_bytes()));
                }
            }
        }
        Flavor::InitramfsTools => {
            args.push(format!("iscsi_initiator={initiator}"));
            args.push(format!("iscsi_target_name={}", r.target));
            args.push(format!("iscsi_target_ip={}", r.server));
            args.push(format!("iscsi_target_port={port}"));
            match &r.rootfs {
                Some(fs) => args.push(format!("root={fs}")),
                None => {
                    // open-iscsi's script then mounts the whole LUN it finds under
                    // /dev/disk/by-path/*-iscsi-*-<lun>; its parser splits on ':' and so
                    // cannot take an IPv6 address here.
                    if r.server.contains('@') || r.target.contains('@') {
                        return Err(RootError::Unsupported(
                            "open-iscsi's initramfs-tools script reads an '@' in root=iscsi: as credentials: set the root filesystem (kboot.rootfs=)".into(),
                        ));
                    }
                    if r.server.contains(':') {
                        return Err(RootError::Unsupported(
                            "initramfs-tools cannot mount a whole iSCSI LUN from an IPv6 server: set the root filesystem (kboot.rootfs=)".into(),
                        ));
                    }
                    args.push(format!(
                        "root=iscsi:{}::{port}:{lun}:{}",
                        r.server, r.target
                    ));
                }
            }
            let keys = [
                ("iscsi_username", "ISCSI_USERNAME"),
                ("iscsi_password", "ISCSI_PASSWORD"),
                ("iscsi_in_username", "ISCSI_IN_USERNAME"),
                ("iscsi_in_password", "ISCSI_IN_PASSWORD"),
            ];
            if !creds.is_empty() {
                if opts.secrets_on_cmdline {
                    for ((_, v), (k, _)) in creds.iter().zip(keys) {
                        args.push(format!("{k}={v}"));
                    }
                } else {
                    let mut text = String::from("# written by kboot\n");
                    for ((_, v), (_, var)) in creds.iter().zip(keys) {
                        text.push_str(&format!("{var}={}\n", shell_quote(v)));
                    }
                    files.push((ISCSI_INITRAMFS_PATH.into(), text.into_bytes()));
                }
            }
        }
    }
    Ok(())
}

/// `'text'` for a POSIX shell, with `'` written as `'\''`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn nbd_args(r: &NbdRoot, flavor: Flavor, args: &mut Vec<String>) -> Result<(), RootError> {
    check("the NBD server", &r.server)?;
    for (what, v) in [
        ("the NBD export", &r.export),
        ("the filesystem type", &r.fstype),
        ("the mount flags", &r.flags),
        ("the nbd-client options", &r.opts),
    ] {
        if let Some(v) = v {
            check(what, v)?;
        }
    }
    match flavor {
        Flavor::Kernel => Err(RootError::Unsupported(
            "the plain kernel cannot attach an NBD root: it needs an initramfs (dracut or initramfs-tools)".into(),
        )),
        Flavor::Dracut => {
            if r.server.contains(':') {
                return Err(RootError::Unsupported(
                    "dracut's NBD root splits on ':' and cannot take an IPv6 server".into(),
                ));
            }
            let what = match (&r.port, &r.export) {
                (Some(p), Some(_)) if *p != NBD_PORT => {
                    return Err(RootError::Unsupported(
                        "dracut's NBD root takes a port or an export name, not both (an export name uses port 10809)".into(),
                    ))
                }
                (_, Some(e)) => e.clone(),
                (Some(p), None) => p.to_string(),
                (None, None) => NBD_PORT.to_string(),
            };
            if what.contains(':') {
                return Err(RootError::Unsupported(format!(
                    "the NBD export name {what:?} contains ':', which dracut's root=nbd: cannot carry"
                )));
            }
            let mut s = format!("root=nbd:{}:{what}", r.server);
            let tail = [&r.fstype, &r.flags, &r.opts];
            if let Some(last) = tail.iter().rposition(|x| x.is_some()) {
                for x in &tail[..=last] {
                    s.push(':');
                    s.push_str(x.as_deref().unwrap_or(""));
                }
            }
            args.push(s);
            Ok(())
        }
        Flavor::InitramfsTools => {
            let Some(export) = &r.export else {
                return Err(RootError::Unsupported(
                    "initramfs-tools' nbd-client script needs an export name; this NBD root gives only a port".into(),
                ));
            };
            if export.contains(',') {
                return Err(RootError::Unsupported(format!(
                    "the NBD export name {export:?} contains ',', which initramfs-tools' nbdroot= cannot carry"
                )));
            }
            if r.opts.is_some() {
                return Err(RootError::Unsupported(
                    "initramfs-tools' nbd-client script takes no nbd-client options".into(),
                ));
            }
            let port = r.port.unwrap_or(NBD_PORT);
            args.push(format!("nbdroot={}:{port}/{export}", bracket(&r.server)));
            args.push("root=/dev/nbd0".into());
            if let Some(fs) = &r.fstype {
                args.push(format!("rootfstype={fs}"));
            }
            if let Some(fl) = &r.flags {
                args.push(format!("rootflags={fl}"));
            }
            Ok(())
        }
    }
}

fn nfs_args(
    r: &NfsRoot,
    flavor: Flavor,
    lease: &Lease,
    args: &mut Vec<String>,
) -> Result<(), RootError> {
    let server = match &r.server {
        Some(s) => s.clone(),
        None => lease
            .next_server
            .filter(|a| !a.is_unspecified())
            .map(|a| a.to_string())
            .ok_or(RootError::NfsNoServer)?,
    };
    check("the NFS server", &server)?;
    check("the NFS path", &r.path)?;
    if let Some(o) = &r.options {
        check("the NFS options", o)?;
    }
    match flavor {
        Flavor::Dracut => {
            if r.path.contains(':') || r.options.as_deref().is_some_and(|o| o.contains(':')) {
                return Err(RootError::Unsupported(
                    "dracut's root=nfs: cannot carry a ':' in the path or the options".into(),
                ));
            }
            let scheme = if r.version == Some(4) { "nfs4" } else { "nfs" };
            let mut s = format!("root={scheme}:{}:{}", bracket(&server), r.path);
            if let Some(o) = &r.options {
                s.push(':');
                s.push_str(o);
            }
            args.push(s);
        }
        Flavor::InitramfsTools | Flavor::Kernel => {
            if server.parse::<Ipv4Addr>().is_err() {
                return Err(RootError::Unsupported(format!(
                    "{} mounts an NFS root by IPv4 address only, and {server:?} is not one",
                    if flavor == Flavor::Kernel {
                        "the kernel"
                    } else {
                        "initramfs-tools (klibc nfsmount)"
                    }
                )));
            }
            if r.path.contains(',') {
                return Err(RootError::Unsupported(
                    "an nfsroot= path cannot contain ',' (it starts the options)".into(),
                ));
            }
            let mut options = r.options.clone();
            if r.version == Some(4) {
                if flavor == Flavor::InitramfsTools {
                    return Err(RootError::Unsupported(
                        "initramfs-tools mounts NFS roots with klibc's nfsmount, which speaks NFS v2/v3 only: use nfs: instead of nfs4:".into(),
                    ));
                }
                let has_vers = options.as_deref().is_some_and(|o| {
                    o.split(',')
                        .any(|x| x.starts_with("vers=") || x.starts_with("nfsvers="))
                });
                if !has_vers {
                    options = Some(match options {
                        Some(o) => format!("vers=4,{o}"),
                        None => "vers=4".into(),
                    });
                }
            }
            if flavor == Flavor::InitramfsTools {
                args.push("boot=nfs".into());
            }
            args.push("root=/dev/nfs".into());
            let mut s = format!("nfsroot={server}:{}", r.path);
            if let Some(o) = &options {
                s.push(',');
                s.push_str(o);
            }
            args.push(s);
        }
    }
    Ok(())
}

/// `cmdline` with every parameter `rendered` sets removed, then `rendered.args` appended:
/// the entry's own `ip=dhcp` or `root=` must not fight ours (dracut takes several `ip=`).
pub fn apply(cmdline: &str, rendered: &Rendered) -> String {
    let mut out = cmdline.to_string();
    for tok in super::split(&rendered.args) {
        out = super::remove(&out, super::param_key(&tok));
    }
    super::append(&out, &rendered.args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::root::parse_root_uri;

    fn lease() -> Lease {
        Lease {
            iface: "eth0".into(),
            mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            client: Some(Ipv4Addr::new(10, 0, 2, 15)),
            netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
            dns: vec![Ipv4Addr::new(10, 0, 2, 3)],
            next_server: Some(Ipv4Addr::new(10, 0, 2, 2)),
            ..Default::default()
        }
    }

    #[test]
    fn flavor_names_round_trip() {
        for f in Flavor::ALL {
            assert_eq!(f.name().parse::<Flavor>(), Ok(f));
        }
        assert!("grub".parse::<Flavor>().is_err());
    }

    #[test]
    fn missing_lease_parts_are_clear_errors() {
        let root = parse_root_uri("nfs:10.0.2.9:/r").unwrap();
        assert_eq!(
            render(&root, Flavor::Kernel, &Lease::default()),
            Err(RootError::NoAddress)
        );
        let mut l = lease();
        l.mac = [0; 6];
        assert_eq!(
            render(&root, Flavor::Dracut, &l),
            Err(RootError::NoMac("dracut"))
        );
        // initramfs-tools lets ipconfig pick the NIC without BOOTIF.
        let r = render(&root, Flavor::InitramfsTools, &l).unwrap();
        assert!(!r.args.contains("BOOTIF"));
        l.hostname = Some("a:b".into());
        assert!(matches!(
            render(&root, Flavor::Kernel, &l),
            Err(RootError::BadValue("hostname", _))
        ));
    }

    #[test]
    fn apply_replaces_conflicting_parameters() {
        let root = parse_root_uri("nfs:10.0.2.2:/r").unwrap();
        let r = render(&root, Flavor::Kernel, &lease()).unwrap();
        assert_eq!(
            apply("quiet ip=dhcp root=/dev/sda1 console=ttyS0", &r),
            "quiet console=ttyS0 ip=10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0:::off:10.0.2.3 \
             root=/dev/nfs nfsroot=10.0.2.2:/r"
        );
    }

    #[test]
    fn chap_and_mutual_validation() {
        let mut r = match parse_root_uri("iscsi:u:p:m:q@h::::t").unwrap() {
            RootSource::Iscsi(r) => r,
            _ => unreachable!(),
        };
        r.chap = None;
        assert_eq!(
            render(&RootSource::Iscsi(r.clone()), Flavor::Dracut, &lease()),
            Err(RootError::BadChap)
        );
        r.chap = Some(super::super::root::Chap {
            user: "u".into(),
            password: "a b".into(),
        });
        assert!(matches!(
            render(&RootSource::Iscsi(r), Flavor::Dracut, &lease()),
            Err(RootError::BadSecret)
        ));
    }

    #[test]
    fn at_signs_in_target_names() {
        let root = parse_root_uri("iscsi:@h::::iqn.x:te@st").unwrap();
        let r = render(&root, Flavor::Dracut, &lease()).unwrap();
        assert!(r.args.contains(" netroot=iscsi:@h::3260:0:iqn.x:te@st "));
        assert_eq!(r.masked, r.args);
        assert!(matches!(
            render(&root, Flavor::InitramfsTools, &lease()),
            Err(RootError::Unsupported(_))
        ));
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("$x"), "'$x'");
    }
}
