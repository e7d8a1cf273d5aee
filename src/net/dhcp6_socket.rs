//! The I/O shell around [`dhcp6::Client`]: a UDP socket on [::]:546 bound to one interface,
//! sending to ff02::1:2 port 547 out of that interface.
//!
//! The interface needs a usable link-local address first (the source of every DHCPv6
//! message); [`super::slaac::V6Netlink::wait_link_local`] waits for it.

use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Instant;

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn6};

use super::dhcp6::{Client, Config, Outcome, Transmit, ALL_DHCP_SERVERS, CLIENT_PORT, SERVER_PORT};
use super::Lease6;

/// A socket-level DHCPv6 failure.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("creating the DHCPv6 socket on {iface} failed: {err}")]
    Open { iface: String, err: std::io::Error },
    #[error("sending a DHCPv6 packet on {iface} failed: {err}")]
    Send { iface: String, err: std::io::Error },
    #[error("receiving DHCPv6 packets on {iface} failed: {err}")]
    Recv { iface: String, err: std::io::Error },
}

/// UDP port 546 bound to one interface.
pub struct Dhcp6Socket {
    iface: String,
    index: u32,
    sock: UdpSocket,
}

impl Dhcp6Socket {
    /// Bind [::]:546 with SO_BINDTODEVICE, SO_REUSEADDR, IPV6_V6ONLY and IPV6_MULTICAST_IF.
    pub fn open(iface: &str, index: u32) -> Result<Dhcp6Socket, SocketError> {
        let err = |e: nix::Error| SocketError::Open {
            iface: iface.to_string(),
            err: std::io::Error::from(e),
        };
        let fd = socket::socket(
            AddressFamily::Inet6,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(err)?;
        socket::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(err)?;
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true).map_err(err)?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &std::ffi::OsString::from(iface))
            .map_err(err)?;
        let idx = libc::c_int::try_from(index).unwrap_or(0);
        // SAFETY: setsockopt on a socket we own with a correctly sized int.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_MULTICAST_IF,
                (&idx as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(SocketError::Open {
                iface: iface.to_string(),
                err: std::io::Error::last_os_error(),
            });
        }
        let addr = SockaddrIn6::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, CLIENT_PORT, 0, 0));
        socket::bind(fd.as_raw_fd(), &addr).map_err(err)?;
        Ok(Dhcp6Socket {
            iface: iface.to_string(),
            index,
            sock: UdpSocket::from(fd),
        })
    }

    pub fn send(&self, t: &Transmit) -> Result<(), SocketError> {
        self.sock
            .send_to(
                &t.payload,
                SocketAddrV6::new(ALL_DHCP_SERVERS, SERVER_PORT, 0, self.index),
            )
            .map(drop)
            .map_err(|err| SocketError::Send {
                iface: self.iface.clone(),
                err,
            })
    }

    /// Wait until `deadline` for a datagram from port 547; `None` at the deadline.
    pub fn recv_until(
        &self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> Result<Option<usize>, SocketError> {
        super::udp::recv_from_port_until(&self.sock, buf, SERVER_PORT, deadline).map_err(|err| {
            SocketError::Recv {
                iface: self.iface.clone(),
                err,
            }
        })
    }
}

/// Result of [`run`]: options (and addresses, when stateful), or why there are none.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Socket(#[from] SocketError),
    #[error("DHCPv6 on {iface} failed: {err}")]
    Dhcp {
        iface: String,
        err: super::dhcp6::Dhcp6Error,
    },
}

/// Run the whole exchange on `cfg.iface` (interface index `index`), reporting status lines.
pub fn run(cfg: Config, index: u32, report: &mut dyn FnMut(String)) -> Result<Lease6, RunError> {
    let iface = cfg.iface.clone();
    let sock = Dhcp6Socket::open(&iface, index)?;
    let mut client = Client::new(cfg);
    let mut buf = vec![0u8; 65536];
    let mut step = client.start(Instant::now());
    loop {
        for line in step.log.drain(..) {
            report(format!("{iface}: {line}"));
        }
        for t in &step.send {
            sock.send(t)?;
        }
        match step.outcome {
            Outcome::Done(lease) => return Ok(*lease),
            Outcome::Failed(err) => return Err(RunError::Dhcp { iface, err }),
            Outcome::Pending => {}
        }
        let Some(deadline) = step.deadline else {
            step = client.on_timeout(Instant::now());
            continue;
        };
        step = match sock.recv_until(&mut buf, deadline)? {
            Some(n) => client.on_packet(&buf[..n], Instant::now()),
            None => client.on_timeout(Instant::now()),
        };
    }
}
