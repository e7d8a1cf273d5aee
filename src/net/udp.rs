//! The receive loop the DHCPv4, DHCPv6 and SNTP sockets share.

use std::io::{self, ErrorKind};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Wait until `deadline` for a datagram whose source port is `port` (others are dropped);
/// `Ok(None)` at the deadline. Timeouts and EINTR are not errors.
pub(crate) fn recv_from_port_until(
    sock: &UdpSocket,
    buf: &mut [u8],
    port: u16,
    deadline: Instant,
) -> io::Result<Option<usize>> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        match sock.recv_from(buf) {
            Ok((n, from)) if from.port() == port => return Ok(Some(n)),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_wanted_source_port_counts_and_the_deadline_ends_the_wait() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let wanted = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        other.send_to(b"stranger", to).unwrap();
        wanted.send_to(b"server", to).unwrap();
        let port = wanted.local_addr().unwrap().port();
        let mut buf = [0u8; 64];
        let deadline = Instant::now() + Duration::from_secs(5);
        let n = recv_from_port_until(&rx, &mut buf, port, deadline)
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"server");
        let t = Instant::now();
        let deadline = t + Duration::from_millis(100);
        assert_eq!(
            recv_from_port_until(&rx, &mut buf, port, deadline).unwrap(),
            None
        );
        assert!(t.elapsed() >= Duration::from_millis(100));
    }
}
