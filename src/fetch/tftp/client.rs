//! The I/O shell around [`Transfer`]: one `std::net::UdpSocket`, read timeouts as the clock.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::packet::{code, MAX_PACKET};
use super::transfer::{Step, Transfer};
use super::{server_name, TftpError, TftpOptions};

/// Receive buffer asked for, so that big windows are not dropped by the kernel.
const RCVBUF: usize = 4 << 20;
/// Longest a single `recv` blocks, so cancellation is noticed quickly.
const POLL: Duration = Duration::from_millis(100);
/// Progress is reported at least every this many bytes.
const PROGRESS_STEP: u64 = 256 << 10;

/// Downloads `path` from the TFTP server at `server` (IPv4 or IPv6, usually port 69) into
/// `sink`, streaming: the file is never held in memory. `progress` is called with the bytes
/// received and the total size when the server announced it (tsize), at least every 256 KiB
/// and once at the end. Setting `cancel` stops the download within ~100 ms. Returns the size.
pub fn download(
    server: SocketAddr,
    path: &str,
    opts: &TftpOptions,
    sink: &mut dyn Write,
    progress: &mut dyn FnMut(u64, Option<u64>),
    cancel: &AtomicBool,
) -> Result<u64, TftpError> {
    let io_err = |source: std::io::Error| TftpError::Io {
        server: server_name(server),
        file: path.to_string(),
        source,
    };
    let bind: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(bind).map_err(io_err)?;
    raise_rcvbuf(&socket);
    let poll = opts.timeout.clamp(Duration::from_millis(1), POLL);
    socket.set_read_timeout(Some(poll)).map_err(io_err)?;

    let mut t = Transfer::new(server, path, opts, Instant::now())?;
    let mut buf = vec![0u8; MAX_PACKET + 1];
    let mut reported: Option<(u64, Option<u64>)> = None;
    loop {
        while let Some(tx) = t.poll_transmit() {
            if let Err(e) = socket.send_to(&tx.bytes, tx.to) {
                // An error packet to a stray TID is best effort; anything else is fatal.
                if Some(tx.to) == t.peer() || tx.to == server {
                    t.abort(code::NOT_DEFINED, "client socket error");
                    return Err(io_err(e));
                }
            }
        }
        if cancel.load(Ordering::Relaxed) {
            let step = t.cancel();
            flush(&socket, &mut t);
            return match step.outcome {
                Some(o) => o,
                None => Err(TftpError::Cancelled {
                    server: server_name(server),
                    file: path.to_string(),
                }),
            };
        }
        let step: Step<'_> = match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let datagram = buf.get(..n).unwrap_or(&[]);
                t.handle_datagram(Instant::now(), from, datagram)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                t.handle_timeout(Instant::now())
            }
            // ICMP port unreachable from an earlier send shows up here on Linux; the
            // retransmission logic deals with a server that is not there.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                t.handle_timeout(Instant::now())
            }
            Err(e) => {
                t.abort(code::NOT_DEFINED, "client socket error");
                flush(&socket, &mut t);
                return Err(io_err(e));
            }
        };
        // A steady trickle of stray packets must not hold the clock back.
        let step = if step.write.is_none() && step.outcome.is_none() {
            t.handle_timeout(Instant::now())
        } else {
            step
        };
        if let Some(data) = step.write {
            if let Err(source) = sink.write_all(data) {
                t.abort(code::DISK_FULL, "client cannot store the file");
                flush(&socket, &mut t);
                return Err(TftpError::Write {
                    server: server_name(server),
                    file: path.to_string(),
                    source,
                });
            }
        }
        let now = t.progress();
        let due = match reported {
            None => now.0 > 0 || now.1.is_some(),
            Some(last) => now.1 != last.1 || now.0 >= last.0 + PROGRESS_STEP,
        };
        if let Some(outcome) = step.outcome {
            flush(&socket, &mut t);
            if outcome.is_ok() {
                progress(now.0, now.1);
            }
            return outcome;
        }
        if due {
            progress(now.0, now.1);
            reported = Some(now);
        }
    }
}

/// Sends whatever the transfer still has queued (final ACK, ERROR), ignoring failures.
fn flush(socket: &UdpSocket, t: &mut Transfer) {
    while let Some(tx) = t.poll_transmit() {
        let _ = socket.send_to(&tx.bytes, tx.to);
    }
}

/// Raises the receive buffer to [`RCVBUF`]: `SO_RCVBUFFORCE` as root, else `SO_RCVBUF`
/// (capped by `net.core.rmem_max`). Failure only costs speed, so it is ignored.
fn raise_rcvbuf(socket: &UdpSocket) {
    use nix::sys::socket::{setsockopt, sockopt};
    if setsockopt(&socket.as_fd(), sockopt::RcvBufForce, &RCVBUF).is_err() {
        let _ = setsockopt(&socket.as_fd(), sockopt::RcvBuf, &RCVBUF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::tftp::packet::{encode_data, encode_oack, Packet};

    /// A scripted one-shot server on loopback: answers the RRQ from a new port with an OACK,
    /// then sends `content` in lock-step, and returns what it saw.
    fn serve_once(listener: UdpSocket, content: Vec<u8>) -> std::thread::JoinHandle<Vec<u16>> {
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (n, client) = listener.recv_from(&mut buf).expect("rrq");
            assert!(matches!(Packet::parse(&buf[..n]), Ok(Packet::Rrq(_))));
            let ip = listener.local_addr().expect("addr").ip();
            let s = UdpSocket::bind((ip, 0)).expect("tid socket");
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            s.send_to(
                &encode_oack(&[("blksize", "100"), ("tsize", &content.len().to_string())])
                    .expect("oack"),
                client,
            )
            .expect("send");
            let mut acks = Vec::new();
            loop {
                let (n, _) = s.recv_from(&mut buf).expect("ack");
                let Ok(Packet::Ack { block: b }) = Packet::parse(&buf[..n]) else {
                    panic!("expected ACK");
                };
                acks.push(b);
                let start = usize::from(b) * 100;
                if start > content.len() {
                    break;
                }
                let end = (start + 100).min(content.len());
                s.send_to(&encode_data(b + 1, &content[start..end]), client)
                    .expect("send");
                if end - start < 100 {
                    let (n, _) = s.recv_from(&mut buf).expect("final ack");
                    if let Ok(Packet::Ack { block: b }) = Packet::parse(&buf[..n]) {
                        acks.push(b);
                    }
                    break;
                }
            }
            acks
        })
    }

    #[test]
    fn downloads_over_loopback_udp() {
        download_from("127.0.0.1:0");
    }

    #[test]
    fn downloads_over_ipv6_loopback() {
        if UdpSocket::bind("[::1]:0").is_err() {
            eprintln!("no IPv6 loopback here, skipping");
            return;
        }
        download_from("[::1]:0");
    }

    fn download_from(bind: &str) {
        let listener = UdpSocket::bind(bind).expect("bind");
        let server = listener.local_addr().expect("addr");
        let content: Vec<u8> = (0..1234u32).map(|i| (i % 251) as u8).collect();
        let handle = serve_once(listener, content.clone());
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let n = download(
            server,
            "f",
            &TftpOptions {
                blksize: 100,
                windowsize: 1,
                ..TftpOptions::default()
            },
            &mut out,
            &mut |b, t| seen.push((b, t)),
            &AtomicBool::new(false),
        )
        .expect("download");
        assert_eq!(n, 1234);
        assert_eq!(out, content);
        assert_eq!(seen.last(), Some(&(1234, Some(1234))));
        let acks = handle.join().expect("server thread");
        assert_eq!(acks, (0..=13).collect::<Vec<u16>>());
    }

    #[test]
    fn cancel_and_timeout_without_server() {
        // A bound socket that never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let server = silent.local_addr().expect("addr");
        let cancel = AtomicBool::new(true);
        let e = download(
            server,
            "f",
            &TftpOptions::default(),
            &mut Vec::new(),
            &mut |_, _| {},
            &cancel,
        );
        assert!(matches!(e, Err(TftpError::Cancelled { .. })));
        let start = Instant::now();
        let e = download(
            server,
            "f",
            &TftpOptions {
                timeout: Duration::from_millis(20),
                retries: 2,
                ..TftpOptions::default()
            },
            &mut Vec::new(),
            &mut |_, _| {},
            &AtomicBool::new(false),
        );
        assert!(
            matches!(e, Err(TftpError::Timeout { tries: 3, .. })),
            "{e:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
