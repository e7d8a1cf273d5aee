//! Every console the menu runs on: `console=` names to devices, raw mode, size, one ratatui
//! terminal per console, and one reader thread per console feeding raw bytes to the loop.
//!
//! kboot reads all consoles itself (poll + read on each fd), so it does not depend on stdin
//! being a tty, and keys from any console reach the one shared [`App`](super::App).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::termios::{self, ControlFlags, SetArg, SpecialCharacterIndices, Termios};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, style, terminal};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::outbox::{Outbox, OutboxWriter};
use super::term::take_cpr;

/// How long a serial terminal's cursor position report is taken as its size. The menu is
/// drawn at [`FALLBACK_SIZE`] meanwhile and redrawn at the reported size.
const CPR_WINDOW: Duration = Duration::from_secs(3);
/// Asks a terminal for its size: save the cursor, move it as far as it goes, report where it
/// landed, restore it.
const CPR_QUERY: &[u8] = b"\x1b[s\x1b[999;999H\x1b[6n\x1b[u";
/// How long closing a console waits for its last bytes (the restored screen) to be written.
const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// How often a reader thread looks at the stop flag.
const READ_POLL_MS: u16 = 100;
/// The size used when nothing else is known.
pub const FALLBACK_SIZE: (u16, u16) = (80, 24);

/// The device for one `console=` value: `ttyS0,115200n8` -> `/dev/ttyS0`, `tty0` -> `/dev/tty0`
/// (or `/dev/tty1` without it), `hvc0` -> `/dev/hvc0`; an absolute path is taken as it is.
/// `None` for consoles that are no terminal (`netcon0`, `lp0`, `ttynull`, `uart8250,...`).
pub fn device_path(console: &str) -> Option<PathBuf> {
    let name = console.split(',').next().unwrap_or("").trim();
    if name.starts_with('/') {
        return Some(PathBuf::from(name));
    }
    let name = name.strip_prefix("/dev/").unwrap_or(name);
    let sane = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !sane || name == "ttynull" || !(name.starts_with("tty") || name.starts_with("hvc")) {
        return None;
    }
    if name == "tty0" && !Path::new("/dev/tty0").exists() && Path::new("/dev/tty1").exists() {
        return Some(PathBuf::from("/dev/tty1"));
    }
    Some(PathBuf::from(format!("/dev/{name}")))
}

/// The devices for all `console=` values, in order, each once.
pub fn device_paths(consoles: &[String]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in consoles.iter().filter_map(|c| device_path(c)) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

nix::ioctl_read_bad!(tiocgwinsz, libc::TIOCGWINSZ, libc::winsize);

/// The size the kernel knows for a tty (a VT, a pty); `None` on serial lines (0x0) and non-ttys.
pub fn kernel_size(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` to the pointer, which is valid for the call.
    unsafe { tiocgwinsz(fd.as_raw_fd(), &mut ws) }.ok()?;
    (ws.ws_col > 0 && ws.ws_row > 0).then_some((ws.ws_col, ws.ws_row))
}

/// Raw mode (no echo, no line editing, no signals, bytes as typed); returns what to restore.
fn enter_raw(fd: BorrowedFd<'_>) -> Option<Termios> {
    let saved = termios::tcgetattr(fd).ok()?;
    let mut raw = saved.clone();
    termios::cfmakeraw(&mut raw);
    // A serial line without modem control lines must not wait for carrier.
    raw.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
    raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
    Some(saved)
}

/// Open a console device read-write without making it our controlling tty and without waiting
/// for carrier, then switch back to blocking I/O.
fn open_device(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let flags = nix::fcntl::fcntl(&f, nix::fcntl::FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let flags = nix::fcntl::OFlag::from_bits_truncate(flags) & !nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(&f, nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(f)
}

pub type Backend = CrosstermBackend<OutboxWriter>;

/// One console: its input fd, its own terminal (size, screen buffer), the thread that writes
/// its output, and the mode to restore.
pub struct Console {
    pub name: String,
    input: File,
    pub term: Terminal<Backend>,
    pub area: Rect,
    /// The kernel knows its size (VT, pty): look again for resizes.
    sized_by_kernel: bool,
    /// A cursor position report (the terminal's size) is awaited until then.
    cpr_until: Option<Instant>,
    saved: Option<Termios>,
    /// Set after a write failed; a dead console is skipped.
    pub dead: bool,
    /// Declared last: dropped after the terminal has queued the restored screen.
    outbox: Outbox,
}

impl Console {
    /// Set up a console over `input` (keys) and `output` (screen): raw mode, size, clear.
    /// `size` is used for consoles whose kernel knows no size (serial), instead of probing.
    pub fn new(
        name: String,
        input: File,
        output: File,
        size: Option<(u16, u16)>,
    ) -> io::Result<Self> {
        let saved = enter_raw(input.as_fd());
        let known = kernel_size(output.as_fd()).or_else(|| kernel_size(input.as_fd()));
        let (outbox, mut out) = Outbox::spawn(output, &name.replace('/', "_"))?;
        let (w, h, cpr_until) = match (known, size) {
            (Some((w, h)), _) => (w, h, None),
            (None, Some((w, h))) if w > 0 && h > 0 => (w, h, None),
            _ => {
                // Never wait for the answer: the first frame is drawn at 80x24 at once and
                // again at the real size when the report comes in with the keys.
                out.write_all(CPR_QUERY)?;
                let (w, h) = FALLBACK_SIZE;
                (w, h, Some(Instant::now() + CPR_WINDOW))
            }
        };
        execute!(
            out,
            style::ResetColor,
            terminal::Clear(terminal::ClearType::All),
            cursor::MoveTo(0, 0),
            cursor::Hide
        )?;
        let area = Rect::new(0, 0, w, h);
        let term = Terminal::with_options(
            CrosstermBackend::new(out),
            TerminalOptions {
                viewport: Viewport::Fixed(area),
            },
        )?;
        Ok(Console {
            name,
            input,
            term,
            area,
            sized_by_kernel: known.is_some(),
            cpr_until,
            saved,
            dead: false,
            outbox,
        })
    }

    /// Its previous frame is still being written (a slow or stopped line): draw it later.
    pub fn busy(&self) -> bool {
        self.outbox.busy()
    }

    /// Its output failed: the console is gone.
    pub fn failed(&self) -> bool {
        self.outbox.failed()
    }

    /// Take the terminal's size report out of `bytes` read from this console, if one is
    /// awaited and there; the terminal is then resized. Returns whether it was.
    pub fn take_size_report(&mut self, bytes: &mut Vec<u8>) -> io::Result<bool> {
        let Some(until) = self.cpr_until else {
            return Ok(false);
        };
        if Instant::now() > until {
            self.cpr_until = None;
            return Ok(false);
        }
        let Some((rows, cols)) = take_cpr(bytes) else {
            return Ok(false);
        };
        self.cpr_until = None;
        let (w, h) = (cols.clamp(2, 512), rows.clamp(2, 256));
        if (w, h) != (self.area.width, self.area.height) {
            self.area = Rect::new(0, 0, w, h);
            self.term.resize(self.area)?;
        }
        Ok(true)
    }

    /// Open the console device at `path`.
    pub fn open(path: &Path, size: Option<(u16, u16)>) -> io::Result<Self> {
        let f = open_device(path)?;
        let out = f.try_clone()?;
        Console::new(path.display().to_string(), f, out, size)
    }

    /// The process's stdin (keys) and stdout (screen).
    pub fn stdio(size: Option<(u16, u16)>) -> io::Result<Self> {
        let input = File::from(io::stdin().as_fd().try_clone_to_owned()?);
        let output = File::from(io::stdout().as_fd().try_clone_to_owned()?);
        Console::new("stdio".into(), input, output, size)
    }

    /// A new size from the kernel (a VT resized), if it changed; then the terminal is resized.
    pub fn check_resize(&mut self) -> io::Result<bool> {
        if !self.sized_by_kernel {
            return Ok(false);
        }
        match kernel_size(self.input.as_fd()) {
            Some((w, h)) if (w, h) != (self.area.width, self.area.height) => {
                self.area = Rect::new(0, 0, w, h);
                self.term.resize(self.area)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// A reader thread for this console: sends `(index, bytes)` until `stop` is set, the
    /// receiver is gone, or the console hangs up.
    pub fn spawn_reader(
        &self,
        index: usize,
        tx: Sender<(usize, Vec<u8>)>,
        stop: Arc<AtomicBool>,
    ) -> io::Result<JoinHandle<()>> {
        let f = self.input.try_clone()?;
        std::thread::Builder::new()
            .name(format!("kboot-keys-{index}"))
            .spawn(move || read_loop(&f, index, &tx, &stop))
    }
}

fn read_loop(f: &File, index: usize, tx: &Sender<(usize, Vec<u8>)>, stop: &AtomicBool) {
    use nix::poll::{PollFd, PollFlags};
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, READ_POLL_MS) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => return,
        }
        let ev = fds[0].revents().unwrap_or(PollFlags::empty());
        if !ev.contains(PollFlags::POLLIN) {
            // Hung up or invalid: this console gives no more keys.
            return;
        }
        match nix::unistd::read(f, &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if tx.send((index, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            Err(_) => return,
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = execute!(
            self.term.backend_mut(),
            style::ResetColor,
            terminal::Clear(terminal::ClearType::All),
            cursor::MoveTo(0, 0),
            cursor::Show
        );
        // The restored screen is written before the mode is (unless the line is stuck).
        self.outbox.close(CLOSE_WAIT);
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(self.input.as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// All consoles of one menu run, and their reader threads (stopped and joined on drop, before
/// the consoles are restored).
pub struct Consoles {
    pub list: Vec<Console>,
    stop: Arc<AtomicBool>,
    readers: Vec<JoinHandle<()>>,
}

impl Consoles {
    /// The consoles named by `console=` values; stdin/stdout when there are none or none of
    /// them opens. Errors of single consoles are returned as lines for the log.
    pub fn open(consoles: &[String], size: Option<(u16, u16)>) -> io::Result<(Self, Vec<String>)> {
        let mut list = Vec::new();
        let mut notes = Vec::new();
        for path in device_paths(consoles) {
            match Console::open(&path, size) {
                Ok(c) => {
                    notes.push(format!(
                        "console {}: {}x{}",
                        c.name, c.area.width, c.area.height
                    ));
                    list.push(c);
                }
                Err(e) => notes.push(format!("console {}: {e}", path.display())),
            }
        }
        if list.is_empty() {
            list.push(Console::stdio(size)?);
        }
        Ok((
            Consoles {
                list,
                stop: Arc::new(AtomicBool::new(false)),
                readers: Vec::new(),
            },
            notes,
        ))
    }

    /// Start one reader thread per console.
    pub fn start_readers(&mut self, tx: &Sender<(usize, Vec<u8>)>) -> io::Result<()> {
        for (i, c) in self.list.iter().enumerate() {
            self.readers
                .push(c.spawn_reader(i, tx.clone(), self.stop.clone())?);
        }
        Ok(())
    }
}

impl Drop for Consoles {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.readers.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_names_to_devices() {
        let p = |s: &str| device_path(s).map(|p| p.display().to_string());
        assert_eq!(p("ttyS0,115200n8").as_deref(), Some("/dev/ttyS0"));
        assert_eq!(p("ttyS1").as_deref(), Some("/dev/ttyS1"));
        assert_eq!(p("hvc0").as_deref(), Some("/dev/hvc0"));
        assert_eq!(p("ttyAMA0,115200").as_deref(), Some("/dev/ttyAMA0"));
        assert_eq!(p("tty2").as_deref(), Some("/dev/tty2"));
        assert!(matches!(
            p("tty0").as_deref(),
            Some("/dev/tty0" | "/dev/tty1")
        ));
        assert_eq!(p("/dev/pts/3").as_deref(), Some("/dev/pts/3"));
        for bad in [
            "",
            ",115200",
            "netcon0",
            "lp0",
            "ttynull",
            "uart8250,io,0x3f8",
            "tty/../x",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
        let all = device_paths(&[
            "ttyS0,115200".into(),
            "tty1".into(),
            "ttyS0".into(),
            "netcon0".into(),
        ]);
        assert_eq!(
            all,
            vec![PathBuf::from("/dev/ttyS0"), PathBuf::from("/dev/tty1")]
        );
    }
}
