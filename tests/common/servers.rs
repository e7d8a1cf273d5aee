//! Real disk servers for the diskless end-to-end tests, on loopback only (the guest reaches it as
//! 10.0.2.2 through QEMU's user network); a server on a fixed port (3260, 10809, 111) only in the
//! test's own network namespace ([`super::netns::PrivateNetwork`]): `tgtd` (iSCSI, Debian `tgt`) and
//! `qemu-nbd` (NBD, Debian `qemu-utils`). Each is started by the test, serves a private copy (or
//! a throw-away snapshot) of the root image that `qemu/build-diskless` made, and is killed on
//! drop, its files removed; its log is kept and named when the test failed.
//!
//! `qemu/setup` installs the packages (and leaves their services disabled); the helpers fail with
//! that advice when a server is missing.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TGTD: &str = "/usr/sbin/tgtd";
pub const TGTADM: &str = "/usr/sbin/tgtadm";
pub const QEMU_NBD: &str = "/usr/bin/qemu-nbd";
/// The iSCSI port: the guest's initramfs defaults to it and tgtd has to have it.
pub const ISCSI_PORT: u16 = 3260;

fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: run qemu/setup (it installs Debian's {package})"
    );
}

/// A scratch path for one server of one test.
fn scratch(test: &str, what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "kboot-diskless-{test}-{what}-{}",
        std::process::id()
    ))
}

/// A free TCP port on loopback (racy, but good enough for a test).
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

/// Wait until something accepts TCP connections on 127.0.0.1:`port`, or the child exits.
fn wait_listening(child: &mut Child, port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening on 127.0.0.1:{port}; log {}:\n{}",
                log.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{what} does not listen on 127.0.0.1:{port} after 15 s; log {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One log file for a server's stdout and stderr.
fn log_files(path: &Path) -> (Stdio, Stdio) {
    let f = std::fs::File::create(path).expect("create a server log");
    let g = f.try_clone().expect("clone the log handle");
    (f.into(), g.into())
}

/// Kill and reap a server; remove its scratch files, keeping the log when the test failed.
fn stop(child: &mut Child, files: &[&Path], log: &Path, what: &str) {
    let _ = child.kill();
    let _ = child.wait();
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    if std::thread::panicking() {
        eprintln!("{what} log: {}", log.display());
    } else {
        let _ = std::fs::remove_file(log);
    }
}

/// `tgtd` exporting a private copy of `image` as LUN 1 of target `iqn` on 127.0.0.1:3260 of the
/// test's own network namespace, to initiators connecting from 127.0.0.1 (QEMU's user network
/// makes the guest one of them).
pub struct Tgtd {
    child: Child,
    /// The port tgtd listens on (127.0.0.1).
    pub port: u16,
    control: u32,
    image: PathBuf,
    log: PathBuf,
    pub iqn: String,
}

impl Tgtd {
    pub fn start(test: &str, image: &Path, iqn: &str) -> Tgtd {
        super::netns::require_private_network("tgtd on 3260");
        Self::start_on(test, image, iqn, ISCSI_PORT)
    }

    /// [`Tgtd::start`] listening on 127.0.0.1:`port` instead of 3260.
    pub fn start_on(test: &str, image: &Path, iqn: &str, port: u16) -> Tgtd {
        require(TGTD, "tgt");
        require(TGTADM, "tgt");
        if let Err(e) = TcpListener::bind(("127.0.0.1", port)) {
            panic!(
                "127.0.0.1:{port} is busy ({e}): the iSCSI test needs that port for its own \
                 tgtd; stop whatever listens there (ss -ltnp 'sport = :{port}')"
            );
        }
        let copy = scratch(test, "lun.img");
        std::fs::copy(image, &copy).expect("copy the root image for tgtd");
        let log = scratch(test, "tgtd.log");
        // tgtd's management socket is /var/run/tgtd/socket.<control> (a path: shared by every
        // network namespace): a number no other tgtd on this machine uses (the system's uses 0).
        let control = tgtd_control_number();
        let (out, err) = log_files(&log);
        let mut child = Command::new(TGTD)
            .args(["-f", "-C", &control.to_string()])
            .args(["--iscsi", &format!("portal=127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start tgtd");
        wait_listening(&mut child, port, "tgtd", &log);
        let t = Tgtd {
            child,
            port,
            control,
            image: copy,
            log,
            iqn: iqn.into(),
        };
        let lun = t.image.display().to_string();
        t.adm(&["--op", "new", "--mode", "target", "--tid", "1", "-T", iqn]);
        t.adm(&[
            "--op",
            "new",
            "--mode",
            "logicalunit",
            "--tid",
            "1",
            "--lun",
            "1",
            "-b",
            &lun,
        ]);
        t.adm(&[
            "--op",
            "bind",
            "--mode",
            "target",
            "--tid",
            "1",
            "-I",
            "127.0.0.1",
        ]);
        t
    }

    /// Run `tgtadm --lld iscsi ARGS` against this tgtd; panics with its output on failure.
    pub fn adm(&self, args: &[&str]) -> String {
        let out = Command::new(TGTADM)
            .args(["-C", &self.control.to_string(), "--lld", "iscsi"])
            .args(args)
            .output()
            .expect("run tgtadm");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "tgtadm {args:?} failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    /// `tgtadm --op show --mode target`: the targets, LUNs and the initiators connected now.
    pub fn show(&self) -> String {
        self.adm(&["--op", "show", "--mode", "target"])
    }
}

impl Drop for Tgtd {
    fn drop(&mut self) {
        // tgtd ignores SIGTERM in the foreground; SIGKILL it and remove its socket files.
        let sock = PathBuf::from(format!("/var/run/tgtd/socket.{}", self.control));
        let lock = PathBuf::from(format!("/var/run/tgtd/socket.{}.lock", self.control));
        stop(
            &mut self.child,
            &[&self.image, &sock, &lock],
            &self.log,
            "tgtd",
        );
    }
}

/// tgtd takes `-C` numbers from 0 to 32767 (a C short). Pick one whose socket does not exist,
/// starting from a number derived from the process and the time so that two suites at once
/// start apart; every value this returns is in range, whatever the PID.
fn tgtd_control_number() -> u32 {
    const FIRST: u32 = 1000;
    const COUNT: u32 = 32767 - FIRST + 1;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let start = std::process::id().wrapping_mul(31).wrapping_add(nanos) % COUNT;
    (0..COUNT)
        .map(|i| FIRST + (start + i) % COUNT)
        .find(|n| {
            !Path::new(&format!("/var/run/tgtd/socket.{n}")).exists()
                && !Path::new(&format!("/var/run/tgtd/socket.{n}.lock")).exists()
        })
        .expect("a free tgtd control number")
}

/// `qemu-nbd` exporting `image` as export `name` on 127.0.0.1 at a free port, writable through a
/// temporary snapshot (`--snapshot`: the image itself is never written).
pub struct QemuNbd {
    child: Child,
    log: PathBuf,
    pub port: u16,
    pub name: String,
}

/// NBD's registered port: dracut's `root=nbd:<server>:<export name>` connects there.
pub const NBD_PORT: u16 = 10809;

impl QemuNbd {
    pub fn start(test: &str, image: &Path, name: &str) -> QemuNbd {
        Self::start_on(test, image, name, free_tcp_port())
    }

    /// [`QemuNbd::start`] on a given port (e.g. [`NBD_PORT`], only in the test's own network
    /// namespace); panics when it is busy.
    pub fn start_on(test: &str, image: &Path, name: &str, port: u16) -> QemuNbd {
        require(QEMU_NBD, "qemu-utils");
        if port == NBD_PORT {
            super::netns::require_private_network("qemu-nbd on 10809");
        }
        if let Err(e) = TcpListener::bind(("127.0.0.1", port)) {
            panic!(
                "127.0.0.1:{port} is busy ({e}): this test needs that port for its qemu-nbd; \
                 stop whatever listens there (ss -ltnp 'sport = :{port}')"
            );
        }
        let log = scratch(test, "qemu-nbd.log");
        let (out, err) = log_files(&log);
        let mut child = Command::new(QEMU_NBD)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--export-name", name, "--persistent", "--shared", "4"])
            .args(["--format", "raw", "--snapshot"])
            .arg(image)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start qemu-nbd");
        wait_listening(&mut child, port, "qemu-nbd", &log);
        QemuNbd {
            child,
            log,
            port,
            name: name.into(),
        }
    }
}

impl Drop for QemuNbd {
    fn drop(&mut self) {
        stop(&mut self.child, &[], &self.log, "qemu-nbd");
    }
}

/// A minimal portmapper (RPC program 100000 version 2, UDP and TCP) on 127.0.0.1:111 that
/// answers GETPORT from a fixed table: enough for klibc's nfsmount, which asks for MOUNT and NFS
/// over UDP and would otherwise wait minutes for an answer (QEMU's user network drops the ICMP
/// "port unreachable"), and for the kernel's own NFS client (kboot's `nfs://`), which asks over
/// TCP when it mounts over TCP. A real rpcbind can only be restricted to loopback for UDP, not
/// TCP.
pub struct Portmapper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Portmapper {
    /// `table`: (program, port); any version, TCP or UDP.
    pub fn start(table: Vec<(u32, u16)>) -> Portmapper {
        super::netns::require_private_network("the portmapper on 111");
        let sock = match std::net::UdpSocket::bind("127.0.0.1:111") {
            Ok(s) => s,
            Err(e) => panic!(
                "127.0.0.1:111/udp is busy or needs root ({e}): the NFS test answers portmapper \
                 queries there"
            ),
        };
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let listener = match TcpListener::bind("127.0.0.1:111") {
            Ok(l) => l,
            Err(e) => panic!(
                "127.0.0.1:111/tcp is busy or needs root ({e}): the NFS test answers portmapper \
                 queries there"
            ),
        };
        listener.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let table = std::sync::Arc::new(table);
        let (flag, udp_table) = (stop.clone(), table.clone());
        let udp = std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = portmap_reply(&buf[..n], &udp_table) {
                    let _ = sock.send_to(&reply, peer);
                }
            }
        });
        let flag = stop.clone();
        let tcp = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let table = table.clone();
                        std::thread::spawn(move || portmap_tcp(conn, &table));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        });
        Portmapper {
            stop,
            threads: vec![udp, tcp],
        }
    }
}

/// Serve one TCP connection to the portmapper: RPC record marking (RFC 5531 section 11), one
/// reply per call, until the client closes or stays silent for 10 s.
fn portmap_tcp(mut conn: TcpStream, table: &[(u32, u16)]) {
    use std::io::{Read, Write};
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    loop {
        let mut call = Vec::new();
        loop {
            let mut mark = [0u8; 4];
            if conn.read_exact(&mut mark).is_err() {
                return;
            }
            let mark = u32::from_be_bytes(mark);
            let len = (mark & 0x7fff_ffff) as usize;
            if len > 64 * 1024 {
                return;
            }
            let start = call.len();
            call.resize(start + len, 0);
            if conn.read_exact(&mut call[start..]).is_err() {
                return;
            }
            if mark & 0x8000_0000 != 0 {
                break;
            }
        }
        let Some(reply) = portmap_reply(&call, table) else {
            return;
        };
        let mut record = (0x8000_0000 | reply.len() as u32).to_be_bytes().to_vec();
        record.extend_from_slice(&reply);
        if conn.write_all(&record).is_err() {
            return;
        }
    }
}

impl Drop for Portmapper {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The reply to one ONC RPC call datagram to the portmapper (RFC 1833 version 2), or `None`
/// for what is not a call.
fn portmap_reply(call: &[u8], table: &[(u32, u16)]) -> Option<Vec<u8>> {
    let word = |i: usize| -> Option<u32> {
        call.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (xid, msg_type, prog, proc_) = (word(0)?, word(1)?, word(3)?, word(5)?);
    if msg_type != 0 || prog != 100_000 {
        return None;
    }
    // Skip the credentials and the verifier (flavor, length, padded body).
    let mut i = 6;
    for _ in 0..2 {
        let len = word(i + 1)? as usize;
        i += 2 + len.div_ceil(4);
    }
    let mut out = Vec::new();
    for w in [xid, 1, 0, 0, 0] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    match proc_ {
        0 => out.extend_from_slice(&0u32.to_be_bytes()),
        3 => {
            let wanted = word(i)?;
            let port = table
                .iter()
                .find(|(p, _)| *p == wanted)
                .map(|(_, port)| u32::from(*port))
                .unwrap_or(0);
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&port.to_be_bytes());
        }
        _ => out.extend_from_slice(&3u32.to_be_bytes()),
    }
    Some(out)
}

pub const GANESHA: &str = "/usr/bin/ganesha.nfsd";
pub const RPCBIND: &str = "/usr/sbin/rpcbind";
pub const RPCBIND_SOCK: &str = "/run/rpcbind.sock";

/// A user-space NFSv3 server: NFS-Ganesha (Debian `nfs-ganesha`, `nfs-ganesha-vfs`) exporting a
/// private copy of the root image's files (or a folder of the test's), NFS and MOUNT on 127.0.0.1
/// at free ports, plus a [`Portmapper`] on 127.0.0.1:111 of the test's own network namespace
/// naming them. The kernel's own nfsd is not needed (this machine's kernel has none).
///
/// Ganesha refuses to start unless it can register with an rpcbind through /run/rpcbind.sock;
/// when none runs, one is started in a network namespace of its own (`unshare -n`), so it
/// listens on no reachable address (a real rpcbind listens on every address for TCP).
pub struct Ganesha {
    child: Child,
    portmapper: Option<Portmapper>,
    rpcbind: Option<Child>,
    dir: PathBuf,
    log: PathBuf,
    conf: PathBuf,
    pid: PathBuf,
    /// The exported directory, as the client names it.
    pub export: PathBuf,
    pub port: u16,
    /// The MOUNT protocol's port.
    pub mount_port: u16,
}

impl Ganesha {
    /// Export a private copy of the files of the ext4 `image` (the diskless root).
    pub fn start(test: &str, image: &Path) -> Ganesha {
        // The root's files, copied out of the ext4 image without mounting it.
        let dir = scratch(test, "nfsroot");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("debugfs")
            .args(["-R", &format!("rdump / {}", dir.display())])
            .arg(image)
            .output()
            .expect("run debugfs (e2fsprogs)");
        assert!(out.status.success(), "debugfs rdump failed: {out:?}");
        assert!(
            dir.join("sbin/init").exists(),
            "no sbin/init in {}",
            dir.display()
        );
        Ganesha::export(test, dir)
    }

    /// Export the folder `dir` as it is; it is removed on drop.
    pub fn export(test: &str, dir: PathBuf) -> Ganesha {
        require(GANESHA, "nfs-ganesha");
        require(RPCBIND, "rpcbind");
        let rpcbind = if std::os::unix::net::UnixStream::connect(RPCBIND_SOCK).is_ok() {
            None
        } else {
            let _ = std::fs::remove_file(RPCBIND_SOCK);
            let _ = std::fs::remove_file("/run/rpcbind.lock");
            let mut c = Command::new("unshare")
                .args(["-n", RPCBIND, "-f"])
                .stdin(Stdio::null())
                .spawn()
                .expect("start rpcbind in a private network namespace");
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::os::unix::net::UnixStream::connect(RPCBIND_SOCK).is_err() {
                if let Ok(Some(s)) = c.try_wait() {
                    panic!("rpcbind exited ({s})");
                }
                assert!(Instant::now() < deadline, "rpcbind did not start");
                std::thread::sleep(Duration::from_millis(100));
            }
            Some(c)
        };
        let export = dir.canonicalize().unwrap();
        let port = free_tcp_port();
        let mount_port = free_tcp_port();
        let conf = scratch(test, "ganesha.conf");
        let pid = scratch(test, "ganesha.pid");
        let log = scratch(test, "ganesha.log");
        std::fs::write(
            &conf,
            format!(
                "NFS_CORE_PARAM {{\n  Bind_addr = 127.0.0.1;\n  NFS_Port = {port};\n  \
                 MNT_Port = {mount_port};\n  Enable_NLM = false;\n  Enable_RQUOTA = false;\n  \
                 Protocols = 3;\n}}\nNFSV4 {{ Graceless = true; }}\n\
                 NFS_KRB5 {{ Active_krb5 = false; }}\n\
                 EXPORT {{\n  Export_Id = 1;\n  Path = {dir};\n  Pseudo = /kbootroot;\n  \
                 Access_Type = RW;\n  Squash = No_Root_Squash;\n  SecType = sys;\n  \
                 Protocols = 3;\n  Transports = TCP;\n  FSAL {{ Name = VFS; }}\n}}\n",
                dir = export.display()
            ),
        )
        .unwrap();
        let (out, err) = log_files(&log);
        let mut child = Command::new(GANESHA)
            .arg("-F")
            .arg("-L")
            .arg(&log)
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(&pid)
            .args(["-N", "NIV_EVENT"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start ganesha.nfsd");
        wait_listening(&mut child, port, "ganesha.nfsd", &log);
        wait_listening(&mut child, mount_port, "ganesha.nfsd", &log);
        // The guest asks our portmapper: a system rpcbind, if one runs, is on another network.
        let portmapper = Some(Portmapper::start(vec![
            (100_003, port),
            (100_005, mount_port),
        ]));
        Ganesha {
            child,
            portmapper,
            rpcbind,
            dir,
            log,
            conf,
            pid,
            export,
            port,
            mount_port,
        }
    }
}

impl Drop for Ganesha {
    fn drop(&mut self) {
        drop(self.portmapper.take());
        stop(
            &mut self.child,
            &[&self.conf, &self.pid],
            &self.log,
            "ganesha.nfsd",
        );
        if let Some(mut r) = self.rpcbind.take() {
            let _ = r.kill();
            let _ = r.wait();
            // Its socket, lock and the state files it writes on exit.
            for f in [
                RPCBIND_SOCK,
                "/run/rpcbind.lock",
                "/run/rpcbind/rpcbind.xdr",
                "/run/rpcbind/portmap.xdr",
            ] {
                let _ = std::fs::remove_file(f);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TCP relay from 127.0.0.1:`listen` to an iSCSI target on 127.0.0.1:`target` that rewrites
/// the portal in SendTargets answers: a target names the address its socket has (tgtd answers
/// `TargetAddress=127.0.0.1:<port>,1`), but the guest behind QEMU's user network reaches the
/// host as 10.0.2.2. An initiator that discovers before it logs in (dracut's iscsiroot runs
/// `iscsiadm -m discovery` and then logs in to the node it found *at the portal it asked*)
/// needs the address it used. Every other byte passes unchanged; PDUs are read by their
/// header's lengths, so header or data digests must not be negotiated (open-iscsi's default).
pub struct IscsiPortalRelay {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
    /// How many Text responses had a TargetAddress rewritten.
    pub rewritten: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl IscsiPortalRelay {
    /// Relay 127.0.0.1:`listen` to 127.0.0.1:`target`, advertising `portal` (`10.0.2.2:3260,1`).
    pub fn start(listen: u16, target: u16, portal: &str) -> IscsiPortalRelay {
        if listen == ISCSI_PORT {
            super::netns::require_private_network("the iSCSI relay on 3260");
        }
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = match TcpListener::bind(("127.0.0.1", listen)) {
            Ok(l) => l,
            Err(e) => panic!(
                "127.0.0.1:{listen} is busy ({e}): the iSCSI test relays that port to its tgtd; \
                 stop whatever listens there (ss -ltnp 'sport = :{listen}')"
            ),
        };
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let rewritten = Arc::new(AtomicUsize::new(0));
        let (flag, list, count) = (stop.clone(), conns.clone(), rewritten.clone());
        let portal = portal.to_string();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let client = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                };
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                {
                    let mut l = list.lock().unwrap();
                    l.push(client.try_clone().unwrap());
                    l.push(server.try_clone().unwrap());
                }
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(std::net::Shutdown::Write);
                });
                let (portal, count) = (portal.clone(), count.clone());
                std::thread::spawn(move || {
                    let _ = relay_answers(server, client, &portal, &count);
                });
            }
        });
        IscsiPortalRelay {
            stop,
            thread: Some(thread),
            conns,
            rewritten,
        }
    }
}

impl Drop for IscsiPortalRelay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Copy the target's PDUs to the initiator, rewriting `TargetAddress=` in Text responses.
fn relay_answers(
    mut from: TcpStream,
    mut to: TcpStream,
    portal: &str,
    count: &std::sync::atomic::AtomicUsize,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    const TEXT_RESPONSE: u8 = 0x24;
    loop {
        let mut bhs = [0u8; 48];
        from.read_exact(&mut bhs)?;
        let ahs = usize::from(bhs[4]) * 4;
        let len = usize::from(bhs[5]) << 16 | usize::from(bhs[6]) << 8 | usize::from(bhs[7]);
        let mut rest = vec![0u8; ahs + len.div_ceil(4) * 4];
        from.read_exact(&mut rest)?;
        if bhs[0] & 0x3f == TEXT_RESPONSE {
            let data = &rest[ahs..ahs + len];
            let mut changed = false;
            let mut out = Vec::new();
            for pair in data.split(|b| *b == 0).filter(|p| !p.is_empty()) {
                if pair.starts_with(b"TargetAddress=") {
                    out.extend_from_slice(format!("TargetAddress={portal}").as_bytes());
                    changed = true;
                } else {
                    out.extend_from_slice(pair);
                }
                out.push(0);
            }
            if changed {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let n = out.len();
                bhs[5..8].copy_from_slice(&(n as u32).to_be_bytes()[1..]);
                out.resize(n.div_ceil(4) * 4, 0);
                let mut pdu = rest[..ahs].to_vec();
                pdu.extend_from_slice(&out);
                rest = pdu;
            }
        }
        to.write_all(&bhs)?;
        to.write_all(&rest)?;
    }
}
