//! SNTP servers for the tests, written here: they answer on a socket of their own (any
//! address, port 0 for a free one) and keep SERVER_EPOCH plus the time since they started.
#![allow(dead_code)]

use kboot::net::sntp::unix_nanos_to_ntp;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

/// 2030-01-01 00:00:00 UTC: the time the good server keeps, far from the host's.
pub const SERVER_EPOCH: i64 = 1_893_456_000;

pub enum Behaviour {
    Good,
    WrongOrigin,
    Silent,
    Kiss(&'static [u8; 4]),
}

pub struct Server {
    pub addr: SocketAddr,
    /// Datagrams received.
    pub requests: Arc<AtomicUsize>,
}

/// A server on `bind` behaving as told; `None` when `bind` cannot be bound (no IPv6).
pub fn serve(bind: &str, behaviour: Behaviour) -> Option<Server> {
    let socket = UdpSocket::bind(bind).ok()?;
    let addr = socket.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let started = Instant::now();
    thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            counter.fetch_add(1, Ordering::SeqCst);
            // A client request: 48 bytes, mode 3.
            if n != 48 || buf[0] & 7 != 3 {
                continue;
            }
            let mut origin = [0u8; 8];
            origin.copy_from_slice(&buf[40..48]);
            let now = SERVER_EPOCH * 1_000_000_000 + started.elapsed().as_nanos() as i64;
            let ts = unix_nanos_to_ntp(now).to_be_bytes();
            let mut r = [0u8; 48];
            r[0] = (4 << 3) | 4;
            r[1] = 1;
            r[12..16].copy_from_slice(b"GPS\0");
            r[24..32].copy_from_slice(&origin);
            r[32..40].copy_from_slice(&ts);
            r[40..48].copy_from_slice(&ts);
            match behaviour {
                Behaviour::Good => {}
                Behaviour::Silent => continue,
                Behaviour::WrongOrigin => r[31] ^= 1,
                Behaviour::Kiss(code) => {
                    r[1] = 0;
                    r[12..16].copy_from_slice(code);
                }
            }
            let _ = socket.send_to(&r, from);
        }
    });
    Some(Server { addr, requests })
}
