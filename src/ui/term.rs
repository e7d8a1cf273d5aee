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
    /// When /init started (PID 1 only): once the first frame is drawn, the log and the kernel
    /// log say how long after that was.
    pub started: Option<Instant>,
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
            // A console still writing its previous frame is drawn on a later round.
            dirty = !draw_all(consoles, &mut app)?;
            if last_draw.is_none() {
                // Timed before the deferred work starts.
                let elapsed = opts.started.map(|s| s.elapsed());
                super::run_after_first_frame();
                if let Some(elapsed) = elapsed {
                    let line = format!("first frame {} ms after /init", elapsed.as_millis());
                    crate::kmsg::info(&line);
                    app.on_event(UiEvent::Log(line));
                    dirty = true;
                }
            }
            last_draw = Some(now);
        }

        // Keys: wait for bytes from any console, then take whatever else is already there.
        let mut got: Vec<(usize, Vec<u8>)> = Vec::new();
        match key_rx.recv_timeout(POLL) {
            Ok(msg) => {
                got.push(msg);
                got.extend(key_rx.try_iter());
            }
            Err(RecvTimeoutError::Timeout) => {}
            // No console gives keys any more: keep showing what happens.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        let mut keys: Vec<(usize, KeyEvent)> = Vec::new();
        let mut fed = vec![false; n];
        for (i, mut bytes) in got {
            // A serial terminal's size report comes in with the keys.
            if let Some(c) = consoles.list.get_mut(i) {
                if c.take_size_report(&mut bytes).unwrap_or(false) {
                    let note = format!("console {}: {}x{}", c.name, c.area.width, c.area.height);
                    app.on_event(UiEvent::Log(note));
                    dirty = true;
                }
            }
            if let Some(p) = parsers.get_mut(i) {
                fed[i] = true;
                keys.extend(p.feed(&bytes, Instant::now()).into_iter().map(|k| (i, k)));
            }
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

/// Draw the app on every live console whose previous frame is written; returns whether all
/// were drawn. A console whose writes fail is left alone from then on; only when none is left
/// is it an error.
fn draw_all(consoles: &mut Consoles, app: &mut App) -> Result<bool, UiError> {
    let mut last_err = None;
    let mut all = true;
    for c in consoles.list.iter_mut().filter(|c| !c.dead) {
        if c.failed() {
            c.dead = true;
            last_err = Some(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("{} stopped taking output", c.name),
            ));
            continue;
        }
        if c.busy() {
            all = false;
            continue;
        }
        app.set_page_size(usize::from(view::list_rows(c.area, app)));
        app.set_log_page_size(usize::from(view::log_rows(c.area, app)));
        if let Err(e) = c.term.draw(|f| view::draw(f, app)) {
            c.dead = true;
            last_err = Some(e);
        }
    }
    match last_err {
        Some(e) if consoles.list.iter().all(|c| c.dead) => Err(UiError::Io(e)),
        _ => Ok(all),
    }
}

/// Find `ESC [ rows ; cols R` in what the terminal sent (keys typed meanwhile may surround it).
#[cfg(test)]
fn parse_cpr(bytes: &[u8]) -> Option<(u16, u16)> {
    find_cpr(bytes).map(|(pos, _)| pos)
}

/// Takes a cursor position report out of `bytes`, so that only the keys around it are left.
pub fn take_cpr(bytes: &mut Vec<u8>) -> Option<(u16, u16)> {
    let (pos, range) = find_cpr(bytes)?;
    bytes.drain(range);
    Some(pos)
}

/// The report's (rows, cols) and where it lies in `bytes`.
fn find_cpr(bytes: &[u8]) -> Option<((u16, u16), std::ops::Range<usize>)> {
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == 0x1b && bytes[i + 1] == b'[' {
            let rest = &bytes[i + 2..];
            if let Some(end) = rest.iter().position(|&b| b == b'R') {
                let body = std::str::from_utf8(&rest[..end]).ok();
                if let Some((r, c)) = body.and_then(|b| b.split_once(';')) {
                    if let (Ok(r), Ok(c)) = (r.parse::<u16>(), c.parse::<u16>()) {
                        if r > 0 && c > 0 {
                            return Some(((r, c), i..i + 2 + end + 1));
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
        // Taken out, the keys around it are left.
        let mut b = b"j\x1b[A\x1b[30;100Rk".to_vec();
        assert_eq!(take_cpr(&mut b), Some((30, 100)));
        assert_eq!(b, b"j\x1b[Ak");
        let mut b = b"\x1b[A".to_vec();
        assert_eq!(take_cpr(&mut b), None);
        assert_eq!(b, b"\x1b[A");
    }

    /// A console whose output is stuck (its buffer full, nobody reading: a serial line held by
    /// flow control) must not freeze the menu on the others.
    #[test]
    fn a_blocked_console_does_not_freeze_the_others() {
        use crate::ui::app::tests_support::sample_menu;
        use nix::pty::{openpty, Winsize};
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;

        let ws = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let a = openpty(&ws, None).expect("pty a");
        let b = openpty(&ws, None).expect("pty b");
        let path_a = nix::unistd::ttyname(&a.slave).expect("ttyname a");
        let path_b = nix::unistd::ttyname(&b.slave).expect("ttyname b");
        let mut key_a = std::fs::File::from(a.master);
        let seen_a = drain(key_a.try_clone().expect("clone"), None);
        // B's master is never read: fill its output until a write would block.
        let mut fill = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path_b)
            .expect("open b");
        let mut filled = 0usize;
        loop {
            match fill.write(&[b'.'; 4096]) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("filling b: {e}"),
            }
            assert!(filled < 64 << 20, "b never filled up");
        }

        let (ev_tx, ev_rx) = mpsc::channel();
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let opts = RunOptions {
            consoles: vec![path_b.display().to_string(), path_a.display().to_string()],
            ..RunOptions::default()
        };
        let ui = std::thread::spawn(move || run(&ev_rx, cmd_tx, opts));
        let mut menu = sample_menu();
        menu.timeout_ms = None;
        ev_tx
            .send(UiEvent::Menu {
                source: "tftp://10.0.2.2/kboot.conf".into(),
                menu,
            })
            .expect("send menu");
        wait_for("the menu on a", || contains(&seen_a, b"Rescue"));
        let la = len(&seen_a);
        key_a.write_all(b"\x1b[B").expect("key");
        wait_for("a redraw on a", || len(&seen_a) > la);
        key_a.write_all(b"\r").expect("key");
        match cmd_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(UiCommand::Boot(spec)) => assert_eq!(spec.title, "Rescue shell"),
            other => panic!("expected Boot, got {other:?}"),
        }
        // Ending the menu does not wait for b either.
        drop(ev_tx);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ui.is_finished() {
            assert!(Instant::now() < deadline, "the menu did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(matches!(ui.join(), Ok(Ok(()))));
        drop(b.master);
    }

    /// All a pty master receives, in a thread; answers the first cursor position query with
    /// `cpr` when given.
    fn drain(
        master: std::fs::File,
        cpr: Option<&'static [u8]>,
    ) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
        use std::io::{Read, Write};
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let out = seen.clone();
        let mut f = master;
        std::thread::spawn(move || {
            let mut w = f.try_clone().ok();
            let mut buf = [0u8; 4096];
            let mut pending = cpr;
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let Ok(mut all) = out.lock() else { break };
                all.extend_from_slice(&buf[..n]);
                if let Some(answer) = pending {
                    if all.windows(4).any(|x| x == b"\x1b[6n") {
                        pending = None;
                        if let Some(w) = w.as_mut() {
                            let _ = w.write_all(answer);
                        }
                    }
                }
            }
        });
        seen
    }

    fn wait_for(what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn contains(seen: &std::sync::Mutex<Vec<u8>>, needle: &[u8]) -> bool {
        seen.lock()
            .map(|s| s.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    }

    fn len(seen: &std::sync::Mutex<Vec<u8>>) -> usize {
        seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Two pseudo-terminals as two consoles: one knows its size (80x24), the other answers
    /// the cursor position report (100x30). Keys from both drive one menu; both are redrawn.
    #[test]
    fn two_consoles_one_menu() {
        use crate::ui::app::tests_support::sample_menu;
        use nix::pty::{openpty, Winsize};
        use nix::sys::termios::{tcgetattr, LocalFlags};
        use std::io::Write;

        let ws = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let a = openpty(&ws, None).expect("pty a");
        let b = openpty(None, None).expect("pty b");
        let path_a = nix::unistd::ttyname(&a.slave).expect("ttyname a");
        let path_b = nix::unistd::ttyname(&b.slave).expect("ttyname b");
        let mut key_a = std::fs::File::from(a.master);
        let mut key_b = std::fs::File::from(b.master);
        let seen_a = drain(key_a.try_clone().expect("clone"), None);
        let seen_b = drain(key_b.try_clone().expect("clone"), Some(b"\x1b[30;100R"));

        let (ev_tx, ev_rx) = mpsc::channel();
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let opts = RunOptions {
            consoles: vec![
                path_a.display().to_string(),
                format!("{},115200n8", path_b.display()),
            ],
            ..RunOptions::default()
        };
        let ui = std::thread::spawn(move || run(&ev_rx, cmd_tx, opts));

        let mut menu = sample_menu();
        menu.timeout_ms = None;
        ev_tx
            .send(UiEvent::Menu {
                source: "tftp://10.0.2.2/kboot.conf".into(),
                menu,
            })
            .expect("send menu");
        wait_for("the menu on both consoles", || {
            contains(&seen_a, b"Rescue") && contains(&seen_b, b"Rescue")
        });
        // Each console has its own size: the status bar sits on row 24 of A, row 30 of B. B
        // was drawn at 80x24 first, without waiting for its size report, then again at the
        // size it reported.
        wait_for("B redrawn at its reported size", || {
            contains(&seen_b, b"\x1b[30;1H")
        });
        assert!(contains(&seen_a, b"\x1b[24;1H"));
        assert!(!contains(&seen_a, b"\x1b[30;1H"));
        let b_text = seen_b.lock().map(|s| s.clone()).unwrap_or_default();
        let at = |needle: &[u8]| b_text.windows(needle.len()).position(|w| w == needle);
        let first = at(b"\x1b[24;1H").expect("B's first frame at 80x24");
        let sized = at(b"\x1b[30;1H").expect("B's frame at 100x30");
        assert!(first < sized, "B's first frame waited for its size report");
        // Both consoles are in raw mode.
        let raw = |fd| {
            tcgetattr(fd)
                .map(|t| !t.local_flags.contains(LocalFlags::ECHO))
                .unwrap_or(false)
        };
        assert!(raw(&a.slave) && raw(&b.slave));

        // Down on B, Down on A, Up on B (split in two writes): the second entry; both redrawn.
        let (la, lb) = (len(&seen_a), len(&seen_b));
        key_b.write_all(b"\x1b[B").expect("key");
        wait_for("a redraw on both", || {
            len(&seen_a) > la && len(&seen_b) > lb
        });
        key_a.write_all(b"\x1bOB").expect("key");
        key_b.write_all(b"\x1b[").expect("key");
        std::thread::sleep(Duration::from_millis(50));
        key_b.write_all(b"A").expect("key");
        std::thread::sleep(Duration::from_millis(100));
        key_a.write_all(b"\r").expect("key");
        match cmd_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(UiCommand::Boot(spec)) => assert_eq!(spec.title, "Rescue shell"),
            other => panic!("expected Boot, got {other:?}"),
        }
        wait_for("progress on both", || {
            contains(&seen_a, b"Loading") && contains(&seen_b, b"Loading")
        });

        // Closing the events ends the menu and restores both consoles.
        drop(ev_tx);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ui.is_finished() {
            assert!(Instant::now() < deadline, "the menu did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(matches!(ui.join(), Ok(Ok(()))));
        let echo = |fd| {
            tcgetattr(fd)
                .map(|t| t.local_flags.contains(LocalFlags::ECHO))
                .unwrap_or(false)
        };
        assert!(echo(&a.slave) && echo(&b.slave), "termios restored");
        wait_for("the cursor shown again on both", || {
            contains(&seen_a, b"\x1b[?25h") && contains(&seen_b, b"\x1b[?25h")
        });
    }
}
