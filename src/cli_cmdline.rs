//! `kboot cmdline`: print the diskless-root parameters kboot would append, on a host.
//!
//! ```text
//! kboot cmdline --root URI --flavor dracut|initramfs-tools|kernel [--lease JSON | --ip ...] [--initrd FILE]
//!               [--inject [MODE:]/PATH=FILE]... [--modules NAME,...] [--cpio SEGMENT]
//! ```
//! stdout gets the command line (secrets masked); stderr gets the detected flavour and the
//! names of the files kboot would inject into the initramfs.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::cmdline::flavor::{render_with, Flavor, RenderOptions};
use crate::cmdline::inject;
use crate::cmdline::root::{parse_root_uri, RootSource};
use crate::net::Lease;

/// Arguments of `kboot cmdline`.
#[derive(clap::Args, Debug, Clone)]
pub struct CmdlineArgs {
    /// Root path: iscsi:<server>:<proto>:<port>:<LUN>:<target> (RFC 4173, optional
    /// user:pass[:ruser:rpass]@ after iscsi:), nbd:<server>:<port|export>[:fstype[:flags[:opts]]],
    /// nfs:[server:]/path[:opts], nfs4:..., [server:]/path[,opts], or template:<text with ${ip}...>.
    #[arg(long)]
    pub root: String,
    /// The target's initramfs family; optional with --initrd (detected from it).
    #[arg(long)]
    pub flavor: Option<Flavor>,
    /// A JSON file holding a lease (the shape `kboot` prints; "mac" may be "aa:bb:..").
    #[arg(long, conflicts_with_all = ["ip", "netmask", "gateway", "server", "dns", "hostname", "mac", "iface"])]
    pub lease: Option<PathBuf>,
    /// Client IPv4 address.
    #[arg(long)]
    pub ip: Option<Ipv4Addr>,
    #[arg(long)]
    pub netmask: Option<Ipv4Addr>,
    #[arg(long)]
    pub gateway: Option<Ipv4Addr>,
    /// Next-server (the boot server; NFS server when the root path names none).
    #[arg(long)]
    pub server: Option<Ipv4Addr>,
    /// DNS server (repeat for several).
    #[arg(long)]
    pub dns: Vec<Ipv4Addr>,
    #[arg(long)]
    pub hostname: Option<String>,
    /// MAC address of the boot NIC, aa:bb:cc:dd:ee:ff.
    #[arg(long)]
    pub mac: Option<String>,
    /// Interface name in kboot's kernel (only for ${iface}).
    #[arg(long)]
    pub iface: Option<String>,
    /// The target's initrd: its flavour is detected from the files it holds.
    #[arg(long)]
    pub initrd: Option<PathBuf>,
    /// Machine UUID (for ${uuid} and generated initiator names).
    #[arg(long)]
    pub uuid: Option<String>,
    /// iSCSI initiator IQN (default: DHCP option 203, else iqn.2010-04.org.ipxe:<host|uuid|mac>).
    #[arg(long)]
    pub initiator: Option<String>,
    /// iSCSI: the root= of the filesystem on the disk (UUID=..., /dev/sda1); default: the
    /// whole LUN.
    #[arg(long)]
    pub rootfs: Option<String>,
    /// Put CHAP credentials on the command line (masked in the output) instead of into an
    /// initramfs file.
    #[arg(long)]
    pub secrets_on_cmdline: bool,
    /// Add a file to the target's initramfs: [MODE:]/PATH=FILE, FILE being a local file
    /// (the kboot.conf key kboot.inject= takes a URL there). Repeatable.
    #[arg(long, value_name = "[MODE:]/PATH=FILE")]
    pub inject: Vec<String>,
    /// Kernel modules the target's initramfs loads before it attaches the root, comma
    /// separated: from an injected NAME.ko, else from the initrd. Repeatable.
    #[arg(long, value_name = "NAME[,NAME...]")]
    pub modules: Vec<String>,
    /// Write the cpio segment with the files for the initramfs (secrets, --inject files,
    /// module hooks) here; append it to the initrd, 4-byte aligned.
    #[arg(long, visible_alias = "cpio")]
    pub secrets_cpio: Option<PathBuf>,
}

/// Run `kboot cmdline`.
pub fn run(args: CmdlineArgs) -> Result<(), String> {
    let lease = lease_from_args(&args)?;
    let mut root = parse_root_uri(&args.root).map_err(|e| e.to_string())?;
    if let RootSource::Iscsi(r) = &mut root {
        if args.initiator.is_some() {
            r.initiator = args.initiator.clone();
        }
        if args.rootfs.is_some() {
            r.rootfs = args.rootfs.clone();
        }
    } else if args.initiator.is_some() || args.rootfs.is_some() {
        return Err("--initiator and --rootfs apply to iSCSI roots only".into());
    }
    let mut injects = Vec::new();
    for v in &args.inject {
        injects.push(inject::parse_inject(v).map_err(|e| format!("--inject: {e}"))?);
    }
    let mut modules = Vec::new();
    for v in &args.modules {
        modules.extend(inject::parse_modules(v).map_err(|e| format!("--modules: {e}"))?);
    }
    let flavor = choose_flavor(&args)?;
    let opts = RenderOptions {
        uuid: args.uuid.as_deref(),
        secrets_on_cmdline: args.secrets_on_cmdline,
    };
    let rendered = render_with(&root, flavor, &lease, &opts).map_err(|e| e.to_string())?;
    let files = inject::collect(flavor, &injects, &modules, &rendered.secrets, read_local)
        .map_err(|e| e.to_string())?;
    println!("{}", rendered.masked);
    if !files.is_empty() {
        let names: Vec<String> = files.iter().map(|f| format!("/{}", f.path)).collect();
        eprintln!(
            "the initramfs gets an appended cpio segment with: {}",
            names.join(", ")
        );
    }
    if let Some(path) = &args.secrets_cpio {
        let seg = inject::segment(&files).map_err(|e| e.to_string())?;
        write_private(path, &seg)?;
        eprintln!("wrote the cpio segment to {}", path.display());
    }
    Ok(())
}

/// `--inject`'s FILE, at most as large as kboot injects.
fn read_local(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut data = Vec::new();
    f.take(inject::MAX_FILE + 1)
        .read_to_end(&mut data)
        .map_err(|e| e.to_string())?;
    if data.len() as u64 > inject::MAX_FILE {
        return Err("the file is larger than 64 MiB".into());
    }
    Ok(data)
}

/// Write a file readable by its owner only (it holds passwords).
fn write_private(path: &std::path::Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(data)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn choose_flavor(args: &CmdlineArgs) -> Result<Flavor, String> {
    let Some(path) = &args.initrd else {
        return args
            .flavor
            .ok_or_else(|| "give --flavor (dracut, initramfs-tools, kernel) or --initrd".into());
    };
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let detected = crate::boot::initrd::detect_flavor(&bytes);
    match (detected, args.flavor) {
        (Some(d), None) => {
            eprintln!("flavour: {d} (detected in {})", path.display());
            Ok(d)
        }
        (Some(d), Some(f)) => {
            if d != f {
                eprintln!(
                    "warning: {} looks like {d}, but --flavor {f} wins",
                    path.display()
                );
            }
            Ok(f)
        }
        (None, Some(f)) => Ok(f),
        (None, None) => Err(format!(
            "cannot tell which initramfs family built {}: give --flavor",
            path.display()
        )),
    }
}

fn lease_from_args(args: &CmdlineArgs) -> Result<Lease, String> {
    if let Some(path) = &args.lease {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return lease_from_json(&text).map_err(|e| format!("{}: {e}", path.display()));
    }
    let mac = match &args.mac {
        Some(m) => crate::net::link::parse_mac(m)
            .ok_or_else(|| format!("{m:?} is not a MAC address like 52:54:00:12:34:56"))?,
        None => [0; 6],
    };
    Ok(Lease {
        iface: args.iface.clone().unwrap_or_default(),
        mac,
        client: args.ip,
        netmask: args.netmask,
        gateway: args.gateway,
        dns: args.dns.clone(),
        hostname: args.hostname.clone(),
        next_server: args.server,
        ..Default::default()
    })
}

/// A lease from JSON of the [`Lease`] shape; missing fields take their defaults, `mac` may
/// also be a string (`"52:54:00:12:34:56"`), unknown fields are an error (typos).
pub fn lease_from_json(text: &str) -> Result<Lease, String> {
    let user: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Object(user) = user else {
        return Err("a lease is a JSON object".into());
    };
    let mut merged = match serde_json::to_value(Lease::default()) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => return Err("internal error: the default lease is not an object".into()),
    };
    for (k, v) in user {
        if !merged.contains_key(&k) {
            return Err(format!("{k:?} is not a lease field"));
        }
        let v = match (k.as_str(), v) {
            ("mac", serde_json::Value::String(s)) => {
                let mac = crate::net::link::parse_mac(&s)
                    .ok_or_else(|| format!("{s:?} is not a MAC address"))?;
                serde_json::json!(mac)
            }
            (_, v) => v,
        };
        merged.insert(k, v);
    }
    serde_json::from_value(serde_json::Value::Object(merged)).map_err(|e| format!("bad lease: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: CmdlineArgs,
    }

    fn parse(v: &[&str]) -> Result<CmdlineArgs, clap::Error> {
        T::try_parse_from(std::iter::once("t").chain(v.iter().copied())).map(|t| t.a)
    }

    #[test]
    fn lease_json_partial_and_mac_string() {
        let l = lease_from_json(
            r#"{"client":"10.0.2.15","mac":"52:54:00:12:34:56","dns":["10.0.2.3"]}"#,
        )
        .unwrap();
        assert_eq!(l.client, Some(Ipv4Addr::new(10, 0, 2, 15)));
        assert_eq!(l.mac, [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(l.dns, vec![Ipv4Addr::new(10, 0, 2, 3)]);
        // What kboot itself serialises reads back.
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(lease_from_json(&json).unwrap(), l);
        assert!(lease_from_json(r#"{"clinet":"1.2.3.4"}"#)
            .unwrap_err()
            .contains("\"clinet\" is not a lease field"));
        assert!(lease_from_json("[1]").is_err());
        assert!(lease_from_json(r#"{"mac":"zz"}"#).is_err());
        assert!(lease_from_json(r#"{"client":"nope"}"#).is_err());
    }

    #[test]
    fn arguments() {
        let a = parse(&[
            "--root",
            "nfs:10.0.2.2:/r",
            "--flavor",
            "kernel",
            "--ip",
            "10.0.2.15",
            "--dns",
            "1.1.1.1",
            "--dns",
            "8.8.8.8",
            "--mac",
            "52-54-00-12-34-56",
        ])
        .unwrap();
        assert_eq!(a.flavor, Some(Flavor::Kernel));
        let l = lease_from_args(&a).unwrap();
        assert_eq!(l.dns.len(), 2);
        assert_eq!(l.mac[0], 0x52);
        assert!(run(a).is_ok());
        assert!(parse(&["--root", "x", "--flavor", "grub"]).is_err());
        assert!(parse(&["--root", "x", "--lease", "f", "--ip", "1.2.3.4"]).is_err());
        let a = parse(&["--root", "nfs:h:/r", "--ip", "10.0.2.15"]).unwrap();
        assert!(run(a).unwrap_err().contains("--flavor"));
        let a = parse(&["--root", "nfs:h:/r", "--flavor", "dracut", "--rootfs", "x"]).unwrap();
        assert!(run(a).unwrap_err().contains("iSCSI roots only"));
    }

    #[test]
    fn flavour_from_an_initrd_file() {
        let dir = std::env::temp_dir().join(format!("kboot-cli-cmdline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut fs = crate::image::Initramfs::default();
        fs.add(
            "usr/lib/dracut/modules.txt",
            crate::image::Node::File(b"iscsi\n".to_vec()),
            0o644,
        )
        .unwrap();
        let initrd = dir.join("initrd.img");
        std::fs::write(&initrd, fs.write_cpio(Vec::new()).unwrap()).unwrap();
        let seg = dir.join("secrets.cpio");
        let a = parse(&[
            "--root",
            "iscsi:u:p@10.0.2.2::::iqn.x:y",
            "--initrd",
            initrd.to_str().unwrap(),
            "--ip",
            "10.0.2.15",
            "--mac",
            "52:54:00:12:34:56",
            "--secrets-cpio",
            seg.to_str().unwrap(),
        ])
        .unwrap();
        assert_eq!(choose_flavor(&a), Ok(Flavor::Dracut));
        run(a).unwrap();
        let segs = crate::boot::initrd::segments(&std::fs::read(&seg).unwrap()).unwrap();
        assert_eq!(
            segs[0].files,
            vec![
                "etc",
                "etc/cmdline.d",
                "etc/cmdline.d/90-kboot-secrets.conf"
            ]
        );
        // Injected files and module hooks join the secrets in the one segment.
        let ko = dir.join("dummy.ko");
        std::fs::write(&ko, b"\x7fELF").unwrap();
        let a = parse(&[
            "--root",
            "template:x=${server}",
            "--flavor",
            "initramfs-tools",
            "--ip",
            "10.0.2.15",
            "--inject",
            &format!("/lib/modules/kboot/dummy.ko={}", ko.display()),
            "--modules",
            "dummy,nbd",
            "--cpio",
            seg.to_str().unwrap(),
        ])
        .unwrap();
        run(a).unwrap();
        let segs = crate::boot::initrd::segments(&std::fs::read(&seg).unwrap()).unwrap();
        assert_eq!(
            segs[0].files,
            vec![
                "conf",
                "conf/conf.d",
                "conf/conf.d/kboot-modules",
                "lib/modules",
                "lib/modules/kboot",
                "lib/modules/kboot/dummy.ko"
            ]
        );
        let a = parse(&[
            "--root",
            "10.0.2.2:/r",
            "--flavor",
            "kernel",
            "--ip",
            "10.0.2.15",
            "--modules",
            "nbd",
        ])
        .unwrap();
        assert!(run(a).unwrap_err().contains("initrd="));
        let a = parse(&[
            "--root",
            "10.0.2.2:/r",
            "--flavor",
            "dracut",
            "--ip",
            "10.0.2.15",
            "--inject",
            "lib/x=y",
        ])
        .unwrap();
        assert!(run(a).unwrap_err().starts_with("--inject: "));
        let a = parse(&[
            "--root",
            "10.0.2.2:/r",
            "--flavor",
            "dracut",
            "--mac",
            "52:54:00:12:34:56",
            "--ip",
            "10.0.2.15",
            "--inject",
            "/lib/x=/nonexistent/kboot-test",
        ])
        .unwrap();
        assert!(run(a).unwrap_err().contains("/nonexistent/kboot-test"));

        std::fs::write(&initrd, b"\0\0\0\0").unwrap();
        let a = parse(&["--root", "/r", "--initrd", initrd.to_str().unwrap()]).unwrap();
        assert!(choose_flavor(&a).unwrap_err().contains("give --flavor"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
