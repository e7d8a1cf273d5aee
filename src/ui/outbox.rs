//! Console output that never blocks the menu: each console's bytes go to a thread of its own
//! that writes them, so a console whose writes block (a serial line stopped by flow control,
//! a terminal nobody reads) stalls only itself.
//!
//! The menu draws a console only when its previous frame is fully written ([`Outbox::busy`]);
//! ratatui draws by difference against the last frame it drew, so a skipped frame loses
//! nothing: the next draw brings the screen up to date once the line moves again.

use std::fs::File;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    /// Bytes handed over and not yet taken by the writer thread.
    queue: Vec<u8>,
    /// The writer thread is in a write.
    writing: bool,
    /// No more bytes will come: the thread ends once the queue is written.
    closed: bool,
    /// A write failed: the console is gone.
    failed: bool,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The [`Write`] side: collects a frame's bytes and hands them to the writer thread on
/// `flush` (ratatui flushes once per frame).
pub struct OutboxWriter {
    buf: Vec<u8>,
    shared: Arc<Shared>,
}

impl Write for OutboxWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut st = self.shared.lock();
        if st.failed {
            self.buf.clear();
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the console stopped taking output",
            ));
        }
        st.queue.append(&mut self.buf);
        drop(st);
        self.shared.cv.notify_all();
        Ok(())
    }
}

/// The menu's handle on one console's writer thread.
pub struct Outbox {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Outbox {
    /// Start the writer thread for `out`; `name` names the thread.
    pub fn spawn(out: File, name: &str) -> io::Result<(Outbox, OutboxWriter)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("kboot-out-{name}"))
            .spawn(move || write_loop(out, &theirs))?;
        let writer = OutboxWriter {
            buf: Vec::new(),
            shared: shared.clone(),
        };
        Ok((
            Outbox {
                shared,
                thread: Some(thread),
            },
            writer,
        ))
    }

    /// Bytes handed over are still being written: drawing now would only pile up more.
    pub fn busy(&self) -> bool {
        let st = self.shared.lock();
        !st.queue.is_empty() || st.writing
    }

    /// A write failed: the console is gone.
    pub fn failed(&self) -> bool {
        self.shared.lock().failed
    }

    /// Let the thread write what is queued and end, waiting at most `limit` for it; a console
    /// that does not take its bytes by then is left to its thread (which ends when the write
    /// returns), so closing never blocks.
    pub fn close(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut st = self.shared.lock();
        st.closed = true;
        self.shared.cv.notify_all();
        while (!st.queue.is_empty() || st.writing) && !st.failed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            st = match self.shared.cv.wait_timeout(st, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        drop(st);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.close(Duration::from_millis(500));
    }
}

fn write_loop(mut out: File, shared: &Shared) {
    loop {
        let mut st = shared.lock();
        while st.queue.is_empty() && !st.closed {
            st = match shared.cv.wait(st) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
        }
        if st.queue.is_empty() {
            return;
        }
        let chunk = std::mem::take(&mut st.queue);
        st.writing = true;
        drop(st);
        let result = out.write_all(&chunk).and_then(|()| out.flush());
        let mut st = shared.lock();
        st.writing = false;
        if result.is_err() {
            st.failed = true;
            st.queue.clear();
        }
        let end = st.failed;
        drop(st);
        shared.cv.notify_all();
        if end {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn bytes_arrive_in_order_and_close_drains_them() {
        let (r, w) = nix::unistd::pipe().expect("pipe");
        let (mut outbox, mut writer) = Outbox::spawn(File::from(w), "t").expect("spawn");
        for i in 0..100 {
            write!(writer, "{i},").expect("write");
            writer.flush().expect("flush");
        }
        outbox.close(Duration::from_secs(5));
        drop(writer);
        drop(outbox);
        let mut got = String::new();
        File::from(r).read_to_string(&mut got).expect("read");
        let want: String = (0..100).map(|i| format!("{i},")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_blocked_console_is_busy_and_closing_it_does_not_block() {
        // A pipe nobody reads: its buffer fills and the writer thread blocks in write.
        let (_r, w) = nix::unistd::pipe().expect("pipe");
        let (mut outbox, mut writer) = Outbox::spawn(File::from(w), "t").expect("spawn");
        writer.write_all(&vec![b'x'; 1 << 20]).expect("write");
        writer.flush().expect("flush");
        // Handing over more never blocks the caller.
        let t = Instant::now();
        for _ in 0..10 {
            writer.write_all(b"frame").expect("write");
            writer.flush().expect("flush");
        }
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(outbox.busy());
        assert!(!outbox.failed());
        let t = Instant::now();
        outbox.close(Duration::from_millis(100));
        assert!(t.elapsed() < Duration::from_secs(2), "close blocked");
    }

    #[test]
    fn a_closed_console_fails_and_says_so() {
        let (r, w) = nix::unistd::pipe().expect("pipe");
        drop(r);
        let (outbox, mut writer) = Outbox::spawn(File::from(w), "t").expect("spawn");
        writer.write_all(b"hello").expect("write");
        writer.flush().expect("flush");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !outbox.failed() {
            assert!(Instant::now() < deadline, "the failure was not noticed");
            std::thread::sleep(Duration::from_millis(10));
        }
        writer.write_all(b"more").expect("write");
        assert!(writer.flush().is_err());
        assert!(!outbox.busy());
    }
}
