//! The console: raw mode, size detection (serial lines report 0x0), the key/event loop.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::crossterm::{cursor, execute, style, terminal};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::app::App;
use super::view;
use super::{UiCommand, UiEvent};

/// How long to wait for a key before looking at events and the clock again.
const POLL: Duration = Duration::from_millis(50);
/// Redraw at least this often (the countdown, a stuck screen after line noise).
const REDRAW: Duration = Duration::from_secs(1);
/// How long to wait for the cursor position report of a serial terminal.
const CPR_TIMEOUT: Duration = Duration::from_millis(200);
/// How long a lone Esc waits for the rest of a sequence split by a slow serial line.
const ESC_WAIT: Duration = Duration::from_millis(200);
/// The size used when nothing else is known.
pub const FALLBACK_SIZE: (u16, u16) = (80, 24);

/// How [`run`](super::run) behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Boot the default entry as soon as a menu arrives, without a countdown.
    pub boot_immediately: bool,
    /// Console size as (columns, rows), e.g. from the kernel command line; `None` = detect.
    pub size: Option<(u16, u16)>,
}

/// Why the menu stopped.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("console: {0}")]
    Io(#[from] io::Error),
    #[error("the menu crashed: {0}")]
    Panic(String),
}

/// Raw mode for as long as it lives; restores the console on drop (also when unwinding).
struct ConsoleGuard;

impl ConsoleGuard {
    fn enter() -> io::Result<Self> {
        terminal::enable_raw_mode()?;
        let guard = ConsoleGuard;
        execute!(
            io::stdout(),
            style::ResetColor,
            terminal::Clear(terminal::ClearType::All),
            cursor::MoveTo(0, 0),
            cursor::Hide
        )?;
        Ok(guard)
    }
}

impl Drop for ConsoleGuard {
    fn drop(&mut self) {
        let _ = execute!(
            io::stdout(),
            style::ResetColor,
            terminal::Clear(terminal::ClearType::All),
            cursor::MoveTo(0, 0),
            cursor::Show
        );
        let _ = terminal::disable_raw_mode();
    }
}

/// See [`super::run`].
pub fn run(
    events: &Receiver<UiEvent>,
    commands: Sender<UiCommand>,
    opts: RunOptions,
) -> Result<(), UiError> {
    let guard = ConsoleGuard::enter()?;
    let result = catch_unwind(AssertUnwindSafe(|| run_loop(events, &commands, &opts)));
    drop(guard);
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Err(UiError::Panic(msg))
        }
    }
}

fn run_loop(
    events: &Receiver<UiEvent>,
    commands: &Sender<UiCommand>,
    opts: &RunOptions,
) -> Result<(), UiError> {
    let (w, h) = match opts.size {
        Some((w, h)) if w > 0 && h > 0 => (w, h),
        _ => detect_size(),
    };
    let mut area = Rect::new(0, 0, w, h);
    let mut term = Terminal::with_options(
        CrosstermBackend::new(io::stdout()),
        TerminalOptions {
            viewport: Viewport::Fixed(area),
        },
    )?;
    let mut app = App::new();
    app.set_boot_immediately(opts.boot_immediately);
    let mut esc = EscJoiner::default();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_countdown = None;

    loop {
        let now = Instant::now();
        loop {
            match events.try_recv() {
                Ok(ev) => {
                    app.on_event(ev);
                    dirty = true;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(()),
            }
        }
        if let Some(cmd) = app.on_tick(now) {
            dirty = true;
            if commands.send(cmd).is_err() {
                return Ok(());
            }
        }
        let countdown = app.countdown().map(|(_, s)| s);
        if countdown != last_countdown {
            last_countdown = countdown;
            dirty = true;
        }
        if dirty || last_draw.is_none_or(|t| now.duration_since(t) >= REDRAW) {
            app.set_page_size(usize::from(view::list_rows(area, &app)));
            term.draw(|f| view::draw(f, &app))?;
            last_draw = Some(now);
            dirty = false;
        }

        let mut keys = Vec::new();
        let idle = !event::poll(POLL)?;
        if !idle {
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    keys.extend(esc.push(k, Instant::now()));
                }
                Event::Resize(w, h) if w > 0 && h > 0 => {
                    area = Rect::new(0, 0, w, h);
                    term.resize(area)?;
                    dirty = true;
                }
                _ => {}
            }
        }
        if idle {
            // Only release a held Esc when no input is waiting: after a stall (a loaded
            // machine, a slow line) the rest of the sequence is read before it is judged alone.
            keys.extend(esc.flush(Instant::now()));
        }
        for k in keys {
            dirty = true;
            if let Some(cmd) = app.on_key(k) {
                if commands.send(cmd).is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// The console size as (columns, rows): what the kernel knows, else what the terminal at the
/// other end of a serial line answers, else 80x24.
fn detect_size() -> (u16, u16) {
    match terminal::size() {
        Ok((w, h)) if w > 0 && h > 0 => (w, h),
        _ => probe_size().unwrap_or(FALLBACK_SIZE),
    }
}

/// Ask the terminal where the cursor lands after moving it to 999;999 (raw mode must be on).
fn probe_size() -> Option<(u16, u16)> {
    let mut out = io::stdout();
    out.write_all(b"\x1b[s\x1b[999;999H\x1b[6n\x1b[u").ok()?;
    out.flush().ok()?;
    let stdin = io::stdin();
    let fd = stdin.as_fd();
    let deadline = Instant::now() + CPR_TIMEOUT;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 256 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, ms) {
            Ok(0) => break,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
        if let Some((rows, cols)) = parse_cpr(&got) {
            return Some((cols.clamp(2, 512), rows.clamp(2, 256)));
        }
    }
    None
}

/// Find `ESC [ rows ; cols R` in what the terminal sent (keys typed meanwhile may surround it).
pub fn parse_cpr(bytes: &[u8]) -> Option<(u16, u16)> {
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == 0x1b && bytes[i + 1] == b'[' {
            let rest = &bytes[i + 2..];
            if let Some(end) = rest.iter().position(|&b| b == b'R') {
                let body = std::str::from_utf8(&rest[..end]).ok();
                if let Some((r, c)) = body.and_then(|b| b.split_once(';')) {
                    if let (Ok(r), Ok(c)) = (r.parse::<u16>(), c.parse::<u16>()) {
                        if r > 0 && c > 0 {
                            return Some((r, c));
                        }
                    }
                }
            }
        }
        i += 1;
    }
    None
}

/// Joins escape sequences that a slow serial line split so that crossterm saw a lone Esc
/// followed by `[`, `A`: it holds an Esc for [`ESC_WAIT`] and turns `Esc [ A` back into Up.
#[derive(Debug, Default)]
pub struct EscJoiner {
    state: EscState,
}

#[derive(Debug, Default)]
enum EscState {
    #[default]
    Idle,
    Esc(Instant),
    Seq {
        since: Instant,
        intro: char,
        body: String,
    },
}

fn plain(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

impl EscJoiner {
    /// A key from crossterm; returns the keys to act on now.
    pub fn push(&mut self, key: KeyEvent, now: Instant) -> Vec<KeyEvent> {
        match std::mem::take(&mut self.state) {
            EscState::Idle => {
                if key.code == KeyCode::Esc && key.modifiers.is_empty() {
                    self.state = EscState::Esc(now);
                    Vec::new()
                } else {
                    vec![key]
                }
            }
            EscState::Esc(since) => match key.code {
                KeyCode::Char(c @ ('[' | 'O')) => {
                    self.state = EscState::Seq {
                        since,
                        intro: c,
                        body: String::new(),
                    };
                    Vec::new()
                }
                _ => {
                    let mut out = vec![plain(KeyCode::Esc)];
                    out.extend(self.push(key, now));
                    out
                }
            },
            EscState::Seq {
                since,
                intro,
                mut body,
            } => match key.code {
                KeyCode::Char(c) if (c.is_ascii_digit() || c == ';') && body.len() < 16 => {
                    body.push(c);
                    self.state = EscState::Seq { since, intro, body };
                    Vec::new()
                }
                KeyCode::Char(c) if ('@'..='~').contains(&c) => {
                    decode(&body, c).map(plain).into_iter().collect()
                }
                // Not a sequence after all: drop what was held, keep this key.
                _ => vec![key],
            },
        }
    }

    /// Called after every poll: releases a held Esc once nothing followed it in time.
    pub fn flush(&mut self, now: Instant) -> Vec<KeyEvent> {
        let since = match &self.state {
            EscState::Idle => return Vec::new(),
            EscState::Esc(since) | EscState::Seq { since, .. } => *since,
        };
        if now.duration_since(since) < ESC_WAIT {
            return Vec::new();
        }
        match std::mem::take(&mut self.state) {
            EscState::Seq { intro, body, .. } => std::iter::once(plain(KeyCode::Esc))
                .chain(
                    std::iter::once(intro)
                        .chain(body.chars())
                        .map(|c| plain(KeyCode::Char(c))),
                )
                .collect(),
            _ => vec![plain(KeyCode::Esc)],
        }
    }
}

/// `CSI body final` (or `SS3 final`) to a key.
fn decode(body: &str, fin: char) -> Option<KeyCode> {
    let first = body.split(';').next().unwrap_or("");
    Some(match fin {
        'A' => KeyCode::Up,
        'B' => KeyCode::Down,
        'C' => KeyCode::Right,
        'D' => KeyCode::Left,
        'H' => KeyCode::Home,
        'F' => KeyCode::End,
        '~' => match first {
            "1" | "7" => KeyCode::Home,
            "2" => KeyCode::Insert,
            "3" => KeyCode::Delete,
            "4" | "8" => KeyCode::End,
            "5" => KeyCode::PageUp,
            "6" => KeyCode::PageDown,
            _ => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        plain(code)
    }

    #[test]
    fn cpr_parsing() {
        assert_eq!(parse_cpr(b"\x1b[24;80R"), Some((24, 80)));
        assert_eq!(parse_cpr(b"xy\x1b[50;132Rzz"), Some((50, 132)));
        assert_eq!(parse_cpr(b"\x1b[A\x1b[24;80R"), Some((24, 80)));
        assert_eq!(parse_cpr(b"\x1b[24;80"), None);
        assert_eq!(parse_cpr(b"\x1b[0;0R"), None);
        assert_eq!(parse_cpr(b"\x1b[99999;1R"), None);
        assert_eq!(parse_cpr(b""), None);
    }

    #[test]
    fn lone_esc_is_released_after_wait() {
        let t = Instant::now();
        let mut j = EscJoiner::default();
        assert!(j.push(k(KeyCode::Esc), t).is_empty());
        assert!(j.flush(t + Duration::from_millis(10)).is_empty());
        assert_eq!(j.flush(t + ESC_WAIT), vec![k(KeyCode::Esc)]);
        assert!(j.flush(t + ESC_WAIT * 2).is_empty());
    }

    #[test]
    fn split_sequences_are_joined() {
        let t = Instant::now();
        let mut j = EscJoiner::default();
        assert!(j.push(k(KeyCode::Esc), t).is_empty());
        assert!(j.push(k(KeyCode::Char('[')), t).is_empty());
        assert_eq!(j.push(k(KeyCode::Char('A')), t), vec![k(KeyCode::Up)]);
        j.push(k(KeyCode::Esc), t);
        j.push(k(KeyCode::Char('[')), t);
        j.push(k(KeyCode::Char('5')), t);
        assert_eq!(j.push(k(KeyCode::Char('~')), t), vec![k(KeyCode::PageUp)]);
        j.push(k(KeyCode::Esc), t);
        j.push(k(KeyCode::Char('O')), t);
        assert_eq!(j.push(k(KeyCode::Char('F')), t), vec![k(KeyCode::End)]);
    }

    #[test]
    fn esc_then_other_key() {
        let t = Instant::now();
        let mut j = EscJoiner::default();
        j.push(k(KeyCode::Esc), t);
        assert_eq!(
            j.push(k(KeyCode::Char('x')), t),
            vec![k(KeyCode::Esc), k(KeyCode::Char('x'))]
        );
        assert_eq!(j.push(k(KeyCode::Down), t), vec![k(KeyCode::Down)]);
        j.push(k(KeyCode::Esc), t);
        assert!(j.push(k(KeyCode::Esc), t).len() == 1);
        assert_eq!(j.flush(t + ESC_WAIT), vec![k(KeyCode::Esc)]);
    }
}
