//! A network namespace of the test's own: servers that need a fixed port (iSCSI's 3260, NBD's
//! 10809, the portmapper's 111) listen there, so two test suites on one machine never meet on a
//! port and nothing the tests start is reachable from the host's network.
//!
//! The namespace belongs to the calling thread (each test runs on its own thread): what the test
//! spawns after [`PrivateNetwork::enter`] (QEMU with its user network, tgtd, qemu-nbd, our
//! threads) lives in it, and QEMU's 10.0.2.2 is that namespace's loopback. Dropping the guard
//! puts the thread back into the namespace it came from; the namespace goes away with the last
//! process and socket in it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

/// The test thread is in a network namespace of its own while this lives.
pub struct PrivateNetwork {
    original: File,
}

impl PrivateNetwork {
    /// Move the calling thread into a new network namespace with loopback up, plus a veth pair
    /// (both ends inside, nothing leaves) holding 192.0.2.1/24: glibc's getaddrinfo with
    /// AI_ADDRCONFIG finds no address at all, not even 127.0.0.1, on a host whose only IPv4
    /// address is loopback's (NFS-Ganesha's `Bind_addr = 127.0.0.1` failed with "Name or service
    /// not known"). Needs root (as the QEMU network tests do).
    pub fn enter() -> PrivateNetwork {
        let original =
            File::open("/proc/thread-self/ns/net").expect("open this thread's network namespace");
        // SAFETY: unshare(2) with CLONE_NEWNET changes only the calling thread's namespace.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET) failed ({}): the test needs root to make a network namespace",
            std::io::Error::last_os_error()
        );
        let guard = PrivateNetwork { original };
        for args in [
            &["link", "set", "lo", "up"][..],
            &[
                "link", "add", "kbns0", "type", "veth", "peer", "name", "kbns1",
            ],
            &["addr", "add", "192.0.2.1/24", "dev", "kbns0"],
            &["link", "set", "kbns0", "up"],
            &["link", "set", "kbns1", "up"],
        ] {
            let out = Command::new("ip")
                .args(args)
                .output()
                .expect("run ip (iproute2)");
            assert!(out.status.success(), "ip {args:?}: {out:?}");
        }
        PRIVATE.with(|p| p.set(true));
        guard
    }
}

impl Drop for PrivateNetwork {
    fn drop(&mut self) {
        PRIVATE.with(|p| p.set(false));
        // SAFETY: setns(2) on a namespace file we opened; changes only the calling thread.
        let rc = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 && !std::thread::panicking() {
            panic!(
                "setns back to the original network namespace failed: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

thread_local! {
    /// Whether this thread is inside a [`PrivateNetwork`] now. (Comparing namespace inodes with
    /// PID 1's does not work everywhere: /proc/1/ns/net may not be readable, even by root.)
    static PRIVATE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread is in a network namespace of the test's own.
pub fn in_private_network() -> bool {
    PRIVATE.with(|p| p.get())
}

/// Panic with advice unless the calling thread is in a private network namespace: a server on a
/// fixed port must not be started on the host's network.
pub fn require_private_network(what: &str) {
    assert!(
        in_private_network(),
        "{what} listens on a fixed port: start the test with \
         `let _net = common::netns::PrivateNetwork::enter();` so it gets a network of its own"
    );
}
