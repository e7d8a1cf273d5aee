//! The I/O shell around [`dhcp4::Client`]: a UDP socket on 0.0.0.0:68 bound to one interface.
//!
//! This works on an interface without an address because the client sets the BROADCAST
//! flag, so servers broadcast their replies (QEMU's user-net DHCP and dnsmasq both do).

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};

use super::dhcp4::{Client, Config, Destination, Outcome, Transmit};
use super::Lease;

/// A socket-level DHCP failure.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("creating the DHCP socket on {iface} failed: {err}")]
    Open { iface: String, err: std::io::Error },
    #[error("sending a DHCP packet on {iface} failed: {err}")]
    Send { iface: String, err: std::io::Error },
    #[error("receiving DHCP packets on {iface} failed: {err}")]
    Recv { iface: String, err: std::io::Error },
}

/// UDP port 68 bound to one interface, sending to port 67.
pub struct DhcpSocket {
    iface: String,
    sock: UdpSocket,
}

impl DhcpSocket {
    /// Bind 0.0.0.0:68 with SO_BINDTODEVICE, SO_BROADCAST and SO_REUSEADDR.
    pub fn open(iface: &str) -> Result<DhcpSocket, SocketError> {
        let err = |e: nix::Error| SocketError::Open {
            iface: iface.to_string(),
            err: std::io::Error::from(e),
        };
        let fd = socket::socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(err)?;
        socket::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(err)?;
        socket::setsockopt(&fd, sockopt::Broadcast, &true).map_err(err)?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(iface))
            .map_err(err)?;
        let addr = SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68));
        socket::bind(fd.as_raw_fd(), &addr).map_err(err)?;
        Ok(DhcpSocket {
            iface: iface.to_string(),
            sock: UdpSocket::from(fd),
        })
    }

    pub fn send(&self, t: &Transmit) -> Result<(), SocketError> {
        let to = match t.dest {
            Destination::Broadcast => Ipv4Addr::BROADCAST,
            Destination::Unicast(a) => a,
        };
        self.sock
            .send_to(&t.payload, SocketAddrV4::new(to, 67))
            .map(drop)
            .map_err(|err| SocketError::Send {
                iface: self.iface.clone(),
                err,
            })
    }

    /// Wait until `deadline` for a datagram from a server port (67); `None` at the deadline.
    pub fn recv_until(
        &self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> Result<Option<usize>, SocketError> {
        super::udp::recv_from_port_until(&self.sock, buf, 67, deadline).map_err(|err| {
            SocketError::Recv {
                iface: self.iface.clone(),
                err,
            }
        })
    }
}

/// Result of [`run`]: a lease, or why there is none.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Socket(#[from] SocketError),
    #[error("DHCP on {iface} failed: {err}")]
    Dhcp {
        iface: String,
        err: super::dhcp4::Dhcp4Error,
    },
    #[error("DHCP on {iface} stopped: another interface got a lease first")]
    Stopped { iface: String },
}

/// How often [`run_until`] looks at its stop flag while it waits for a server.
const STOP_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Run the whole exchange on `cfg.iface`, reporting status lines.
pub fn run(cfg: Config, report: &mut dyn FnMut(String)) -> Result<Lease, RunError> {
    run_until(cfg, report, &AtomicBool::new(false))
}

/// [`run`], ended early with [`RunError::Stopped`] once `stop` is set (looked at every
/// 100 ms): DHCP runs on several interfaces at once and the first lease ends the others.
pub fn run_until(
    cfg: Config,
    report: &mut dyn FnMut(String),
    stop: &AtomicBool,
) -> Result<Lease, RunError> {
    let iface = cfg.iface.clone();
    let sock = DhcpSocket::open(&iface)?;
    let mut client = Client::new(cfg);
    let mut buf = vec![0u8; 4096];
    let mut step = client.start(Instant::now());
    loop {
        for line in step.log.drain(..) {
            report(format!("{iface}: {line}"));
        }
        for t in &step.send {
            sock.send(t)?;
        }
        match step.outcome {
            Outcome::Bound(lease) => return Ok(*lease),
            Outcome::Failed(err) => return Err(RunError::Dhcp { iface, err }),
            Outcome::Pending => {}
        }
        let Some(deadline) = step.deadline else {
            // Not reachable with a started client; treat as an immediate tick.
            step = client.on_timeout(Instant::now());
            continue;
        };
        // Wait for a packet or the deadline, looking at `stop` in between.
        let got = loop {
            if stop.load(Ordering::Relaxed) {
                return Err(RunError::Stopped { iface });
            }
            let wake = deadline.min(Instant::now() + STOP_POLL);
            match sock.recv_until(&mut buf, wake)? {
                Some(n) => break Some(n),
                None if Instant::now() >= deadline => break None,
                None => {}
            }
        };
        step = match got {
            Some(n) => client.on_packet(&buf[..n], Instant::now()),
            None => client.on_timeout(Instant::now()),
        };
    }
}

/// Send a DHCPRELEASE for `lease` from `iface` (best effort; call before kexec).
pub fn release(lease: &Lease) -> Result<(), SocketError> {
    release_to(lease, false)
}

/// Release a lease that was never configured on its interface (it lost to another
/// interface's): without an address or route there, the DHCPRELEASE is broadcast.
pub fn release_unconfigured(lease: &Lease) -> Result<(), SocketError> {
    release_to(lease, true)
}

fn release_to(lease: &Lease, broadcast: bool) -> Result<(), SocketError> {
    let sock = DhcpSocket::open(&lease.iface)?;
    let client = Client::new(Config::new(&lease.iface, lease.mac, rand_xid()));
    match client.release(lease) {
        Ok(mut t) => {
            if broadcast {
                t.dest = Destination::Broadcast;
            }
            sock.send(&t)
        }
        Err(e) => Err(SocketError::Send {
            iface: lease.iface.clone(),
            err: std::io::Error::other(e.to_string()),
        }),
    }
}

/// A transaction id from the kernel's random pool (falls back to the clock).
pub fn rand_xid() -> u32 {
    let mut b = [0u8; 4];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), libc::GRND_NONBLOCK) };
    if n == 4 {
        u32::from_ne_bytes(b)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x6b62_6f74, |d| d.subsec_nanos() ^ d.as_secs() as u32)
    }
}

/// Option 93 for this machine: 0x0007 (x86-64 UEFI) when /sys/firmware/efi exists, else 0.
pub fn detect_arch() -> u16 {
    super::dhcp4::client_arch(std::path::Path::new("/sys/firmware/efi").exists())
}

/// The SMBIOS UUID from /sys/class/dmi/id/product_uuid, in its textual byte order.
pub fn detect_uuid() -> Option<[u8; 16]> {
    let s = std::fs::read_to_string("/sys/class/dmi/id/product_uuid").ok()?;
    parse_uuid(s.trim())
}

/// Parse `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case) into 16 bytes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || s.len() != 36 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_parse() {
        assert_eq!(
            parse_uuid("4C4C4544-0042-3510-8052-B3C04F4E4D32"),
            Some([
                0x4c, 0x4c, 0x45, 0x44, 0x00, 0x42, 0x35, 0x10, 0x80, 0x52, 0xb3, 0xc0, 0x4f, 0x4e,
                0x4d, 0x32
            ])
        );
        assert_eq!(parse_uuid("not-a-uuid"), None);
        assert_eq!(parse_uuid("4C4C4544-0042-3510-8052-B3C04F4E4DZZ"), None);
        assert_eq!(parse_uuid("ééééééé-0042-3510-8052-B3C04F4E4D32"), None);
    }
}
