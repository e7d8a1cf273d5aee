//! The menu loop: every console at once, keys from any of them, one shared [`App`].

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::KeyEvent;

use super::app::App;
use super::consoles::Consoles;
use super::keys::KeyParser;
use super::view;
use super::{UiCommand, UiEvent};

/// How long to wait for a key before looking at events and the clock again.
const POLL: Duration = Duration::from_millis(50);
/// Redraw at least this often (the countdown, a stuck screen after line noise), and look for
/// resized VTs.
const REDRAW: Duration = Duration::from_secs(1);

/// How [`run`](super::run) behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Boot the default entry as soon as a menu arrives, without a countdown.
    pub boot_immediately: bool,
    /// Console size as (columns, rows), e.g. from the kernel command line, for consoles whose
    /// kernel knows no size (serial lines); `None` = ask the terminal, else 80x24. A VT's own
    /// size always wins.
    pub size: Option<(u16, u16)>,
    /// The `console=` values of kboot's command line (`ttyS0,115200n8`, `tty0`, `hvc0`; an
    /// absolute device path is taken as it is): the menu runs on all of them at once. Empty:
    /// stdin/stdout only.
    pub consoles: Vec<String>,
}

/// Why the menu stopped.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("console: {0}")]
    Io(#[from] io::Error),
    #[error("the menu crashed: {0}")]
    Panic(String),
}

/// See [`super::run`].
pub fn run(
    events: &Receiver<UiEvent>,
    commands: Sender<UiCommand>,
    opts: RunOptions,
) -> Result<(), UiError> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (mut consoles, notes) = Consoles::open(&opts.consoles, opts.size)?;
        let r = run_loop(&mut consoles, notes, events, &commands, &opts);
        drop(consoles);
        r
    }));
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
    consoles: &mut Consoles,
    notes: Vec<String>,
    events: &Receiver<UiEvent>,
    commands: &Sender<UiCommand>,
    opts: &RunOptions,
) -> Result<(), UiError> {
    let (key_tx, key_rx) = mpsc::channel();
    consoles.start_readers(&key_tx)?;
    drop(key_tx);
    let n = consoles.list.len();
    let mut parsers = vec![KeyParser::default(); n];
    let mut app = App::new();
    app.set_boot_immediately(opts.boot_immediately);
    for note in notes {
        app.on_event(UiEvent::Log(note));
    }
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
        let periodic = last_draw.is_none_or(|t| now.duration_since(t) >= REDRAW);
        if periodic {
            for c in consoles.list.iter_mut().filter(|c| !c.dead) {
                if c.check_resize().unwrap_or(false) {
                    dirty = true;
                }
            }
        }
        if dirty || periodic {
            draw_all(consoles, &mut app)?;
            last_draw = Some(now);
            dirty = false;
        }

        // Keys: wait for bytes from any console, then take whatever else is already there.
        let mut keys: Vec<(usize, KeyEvent)> = Vec::new();
        let mut fed = vec![false; n];
        let mut take = |(i, bytes): (usize, Vec<u8>), keys: &mut Vec<(usize, KeyEvent)>| {
            if let Some(p) = parsers.get_mut(i) {
                fed[i] = true;
                keys.extend(p.feed(&bytes, Instant::now()).into_iter().map(|k| (i, k)));
            }
        };
        match key_rx.recv_timeout(POLL) {
            Ok(msg) => {
                take(msg, &mut keys);
                while let Ok(msg) = key_rx.try_recv() {
                    take(msg, &mut keys);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // No console gives keys any more: keep showing what happens.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        // Only release a held Esc of a console that sent nothing now: after a stall the rest
        // of the sequence is read before the Esc is judged alone.
        for (i, p) in parsers.iter_mut().enumerate() {
            if !fed[i] {
                keys.extend(p.flush(Instant::now()).into_iter().map(|k| (i, k)));
            }
        }
        for (i, k) in keys {
            dirty = true;
            if let Some(c) = consoles.list.get(i) {
                app.set_page_size(usize::from(view::list_rows(c.area, &app)));
                app.set_log_page_size(usize::from(view::log_rows(c.area, &app)));
            }
            if let Some(cmd) = app.on_key(k) {
                if commands.send(cmd).is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// Draw the app on every live console. A console whose writes fail is left alone from then
/// on; only when none is left is it an error.
fn draw_all(consoles: &mut Consoles, app: &mut App) -> Result<(), UiError> {
    let mut last_err = None;
    for c in consoles.list.iter_mut().filter(|c| !c.dead) {
        app.set_page_size(usize::from(view::list_rows(c.area, app)));
        app.set_log_page_size(usize::from(view::log_rows(c.area, app)));
        if let Err(e) = c.term.draw(|f| view::draw(f, app)) {
            c.dead = true;
            last_err = Some(e);
        }
    }
    match last_err {
        Some(e) if consoles.list.iter().all(|c| c.dead) => Err(UiError::Io(e)),
        _ => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
