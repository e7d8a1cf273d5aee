//! A fault-injecting UDP proxy for TFTP tests and benchmarks (std only, threads).
//!
//! The client talks to [`Proxy::addr`] as if it were the server's port 69. The proxy forwards
//! each client's packets from an upstream socket of its own to the server, and mirrors the
//! server's transfer IDs: when the server answers from a new port T (RFC 1350 TID), the proxy
//! opens a socket of its own for T and relays T's packets to the client from it, so the client
//! sees a new TID too, and what the client sends to that socket goes to the server's port T.
//!
//! Each direction is a lane with its own seeded RNG (deterministic decisions) that can drop
//! N % of packets, duplicate N %, reorder (hold one packet and release it after the next one,
//! or after [`HOLD_MAX`] when no next one comes) and delay every packet by D.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a packet held for reordering waits for a next one.
pub const HOLD_MAX: Duration = Duration::from_millis(5);
/// How often the socket threads look at the stop flag.
const TICK: Duration = Duration::from_millis(20);

/// What the proxy does to each packet, in each direction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Percentage of packets dropped (0..=100).
    pub drop_pct: u32,
    /// Percentage of packets sent twice.
    pub dup_pct: u32,
    /// Percentage of packets held back and sent after the next one.
    pub reorder_pct: u32,
    /// Added to every packet's trip.
    pub delay: Duration,
    /// Seed of the decisions (each direction derives its own stream from it).
    pub seed: u64,
}

impl Faults {
    /// A one-line description for test names and tables.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.drop_pct > 0 {
            parts.push(format!("drop {}%", self.drop_pct));
        }
        if self.dup_pct > 0 {
            parts.push(format!("dup {}%", self.dup_pct));
        }
        if self.reorder_pct > 0 {
            parts.push(format!("reorder {}%", self.reorder_pct));
        }
        if !self.delay.is_zero() {
            parts.push(format!("delay {} ms", self.delay.as_secs_f64() * 1e3));
        }
        if parts.is_empty() {
            "clean".into()
        } else {
            parts.join(" + ")
        }
    }
}

/// Counters of what the proxy did.
#[derive(Debug, Default)]
pub struct Stats {
    pub forwarded: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
}

impl Stats {
    /// `(forwarded, dropped, duplicated, reordered)`.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.forwarded.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.duplicated.load(Ordering::Relaxed),
            self.reordered.load(Ordering::Relaxed),
        )
    }
}

/// xorshift64*: small, deterministic, good enough for coin flips.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pct(&mut self, pct: u32) -> bool {
        pct > 0 && (self.next() % 100) < u64::from(pct)
    }
}

/// One datagram on its way: sent from `via` to `to`.
struct Packet {
    via: Arc<UdpSocket>,
    to: SocketAddr,
    data: Vec<u8>,
}

impl Packet {
    fn copy(&self) -> Packet {
        Packet {
            via: self.via.clone(),
            to: self.to,
            data: self.data.clone(),
        }
    }
}

struct LaneState {
    rng: Rng,
    held: Option<(Instant, Packet)>,
}

/// A packet due at a time; ordered by (time, sequence) so equal times keep their order.
struct Due {
    at: Instant,
    seq: u64,
    packet: Packet,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Inner {
    server: SocketAddr,
    faults: Faults,
    stop: AtomicBool,
    stats: Stats,
    /// 0: client to server, 1: server to client.
    lanes: [Mutex<LaneState>; 2],
    queue: Mutex<(BinaryHeap<Reverse<Due>>, u64)>,
    wake: Condvar,
    /// Per client: its upstream socket.
    sessions: Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn spawn(self: &Arc<Self>, f: impl FnOnce(Arc<Inner>) + Send + 'static) {
        let me = self.clone();
        let h = std::thread::spawn(move || f(me));
        lock(&self.threads).push(h);
    }

    /// Applies the lane's faults to `p` and sends (or schedules) what survives.
    fn submit(&self, lane: usize, p: Packet) {
        let f = &self.faults;
        let mut out = Vec::with_capacity(3);
        {
            let mut st = lock(&self.lanes[lane]);
            if st.rng.pct(f.drop_pct) {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let dup = st.rng.pct(f.dup_pct);
            if dup {
                self.stats.duplicated.fetch_add(1, Ordering::Relaxed);
                out.push(p.copy());
            }
            if let Some((_, held)) = st.held.take() {
                out.push(p);
                out.push(held);
            } else if st.rng.pct(f.reorder_pct) {
                self.stats.reordered.fetch_add(1, Ordering::Relaxed);
                st.held = Some((Instant::now(), p));
                drop(st);
                self.wake.notify_one();
            } else {
                out.push(p);
            }
        }
        for p in out {
            self.emit(p);
        }
    }

    fn emit(&self, p: Packet) {
        if self.faults.delay.is_zero() {
            self.send(&p);
        } else {
            let mut q = lock(&self.queue);
            q.1 += 1;
            let seq = q.1;
            q.0.push(Reverse(Due {
                at: Instant::now() + self.faults.delay,
                seq,
                packet: p,
            }));
            drop(q);
            self.wake.notify_one();
        }
    }

    fn send(&self, p: &Packet) {
        if p.via.send_to(&p.data, p.to).is_ok() {
            self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The timer thread: sends delayed packets when due, releases held ones after HOLD_MAX.
    fn timer(self: Arc<Self>) {
        let mut q = lock(&self.queue);
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let mut due = Vec::new();
            while q.0.peek().is_some_and(|Reverse(d)| d.at <= now) {
                if let Some(Reverse(d)) = q.0.pop() {
                    due.push(d.packet);
                }
            }
            let mut next = q.0.peek().map(|Reverse(d)| d.at);
            drop(q);
            for p in due {
                self.send(&p);
            }
            for lane in &self.lanes {
                let mut st = lock(lane);
                if let Some((since, _)) = &st.held {
                    let release = *since + HOLD_MAX;
                    if release <= Instant::now() {
                        if let Some((_, p)) = st.held.take() {
                            drop(st);
                            self.emit(p);
                        }
                    } else {
                        next = Some(next.map_or(release, |n| n.min(release)));
                    }
                }
            }
            q = lock(&self.queue);
            if q.0.peek().is_some_and(|Reverse(d)| d.at <= Instant::now()) {
                continue;
            }
            let wait = next
                .map(|n| n.saturating_duration_since(Instant::now()))
                .unwrap_or(TICK)
                .min(TICK);
            q = self
                .wake
                .wait_timeout(q, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Client packets to the "port 69" socket: start or continue a session.
    fn front(self: Arc<Self>, front: Arc<UdpSocket>) {
        let mut buf = vec![0u8; 65536];
        while !self.stop.load(Ordering::Relaxed) {
            let Ok((n, client)) = front.recv_from(&mut buf) else {
                continue;
            };
            let up = match self.session(client, &front) {
                Ok(up) => up,
                Err(_) => continue,
            };
            self.submit(
                0,
                Packet {
                    via: up,
                    to: self.server,
                    data: buf[..n].to_vec(),
                },
            );
        }
    }

    fn session(
        self: &Arc<Self>,
        client: SocketAddr,
        front: &UdpSocket,
    ) -> io::Result<Arc<UdpSocket>> {
        let mut sessions = lock(&self.sessions);
        if let Some(up) = sessions.get(&client) {
            return Ok(up.clone());
        }
        let local = front.local_addr()?;
        let up = Arc::new(bind_like(local)?);
        sessions.insert(client, up.clone());
        let up2 = up.clone();
        self.spawn(move |me| me.upstream(up2, client));
        Ok(up)
    }

    /// Server packets to a client's upstream socket: relay from the socket mirroring the
    /// server's TID.
    fn upstream(self: Arc<Self>, up: Arc<UdpSocket>, client: SocketAddr) {
        let mut tids: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
        let mut buf = vec![0u8; 65536];
        while !self.stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = up.recv_from(&mut buf) else {
                continue;
            };
            let mirror = match tids.get(&from) {
                Some(s) => s.clone(),
                None => {
                    let Ok(local) = up.local_addr() else { continue };
                    let Ok(s) = bind_like(local) else { continue };
                    let s = Arc::new(s);
                    tids.insert(from, s.clone());
                    let (s2, up2) = (s.clone(), up.clone());
                    self.spawn(move |me| me.mirror(s2, up2, from));
                    s
                }
            };
            self.submit(
                1,
                Packet {
                    via: mirror,
                    to: client,
                    data: buf[..n].to_vec(),
                },
            );
        }
    }

    /// Client packets to a mirrored TID socket: to the server's port T.
    fn mirror(self: Arc<Self>, mirror: Arc<UdpSocket>, up: Arc<UdpSocket>, tid: SocketAddr) {
        let mut buf = vec![0u8; 65536];
        while !self.stop.load(Ordering::Relaxed) {
            let Ok((n, _client)) = mirror.recv_from(&mut buf) else {
                continue;
            };
            self.submit(
                0,
                Packet {
                    via: up.clone(),
                    to: tid,
                    data: buf[..n].to_vec(),
                },
            );
        }
    }
}

/// A socket on the same IP as `like`, any port, with the stop-flag read timeout and big
/// buffers (a window of 64 KiB blocks must not be dropped by the proxy's own socket).
fn bind_like(like: SocketAddr) -> io::Result<UdpSocket> {
    let s = UdpSocket::bind(SocketAddr::new(like.ip(), 0))?;
    s.set_read_timeout(Some(TICK))?;
    raise_buffers(&s);
    Ok(s)
}

fn raise_buffers(s: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 4 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE] {
        // SAFETY: setsockopt on a socket we own with a valid c_int.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

/// A running proxy; stopped (threads joined) on drop.
pub struct Proxy {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

impl Proxy {
    /// Starts a proxy for the TFTP server at `server`, listening on `listen` (port 0: any).
    pub fn start(listen: SocketAddr, server: SocketAddr, faults: Faults) -> io::Result<Proxy> {
        let front = UdpSocket::bind(listen)?;
        front.set_read_timeout(Some(TICK))?;
        raise_buffers(&front);
        let addr = front.local_addr()?;
        let inner = Arc::new(Inner {
            server,
            faults,
            stop: AtomicBool::new(false),
            stats: Stats::default(),
            lanes: [
                Mutex::new(LaneState {
                    rng: Rng::new(faults.seed ^ 0xC1),
                    held: None,
                }),
                Mutex::new(LaneState {
                    rng: Rng::new(faults.seed ^ 0x5E),
                    held: None,
                }),
            ],
            queue: Mutex::new((BinaryHeap::new(), 0)),
            wake: Condvar::new(),
            sessions: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
        });
        let front = Arc::new(front);
        inner.spawn(move |me| me.front(front));
        inner.spawn(Inner::timer);
        Ok(Proxy { addr, inner })
    }

    /// Where clients send their requests.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
        self.inner.wake.notify_all();
        loop {
            let Some(h) = lock(&self.inner.threads).pop() else {
                break;
            };
            let _ = h.join();
        }
    }
}
