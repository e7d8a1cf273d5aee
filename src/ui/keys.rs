//! Bytes from a console to keys: a small VT100/xterm/Linux-console decoder.
//!
//! Every console (serial lines, VTs, `/dev/console`) is read by kboot itself, so nothing depends
//! on stdin being a tty. A slow serial line may split an escape sequence: a lone Esc is held for
//! [`ESC_WAIT`] and only released by [`KeyParser::flush`] when nothing followed it.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// How long a lone Esc waits for the rest of a sequence split by a slow serial line.
pub const ESC_WAIT: Duration = Duration::from_millis(200);
/// Longest CSI parameter string kept; longer ones are junk and dropped.
const MAX_BODY: usize = 16;

fn plain(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[derive(Debug, Default, Clone)]
enum State {
    #[default]
    Ground,
    /// Got ESC.
    Esc(Instant),
    /// Got `ESC [` and these parameter/intermediate bytes.
    Csi { since: Instant, body: String },
    /// An overlong CSI: skipped up to its final byte.
    CsiJunk(Instant),
    /// Got `ESC [ [` (the Linux console's F1-F5).
    CsiBracket(Instant),
    /// Got `ESC O`.
    Ss3(Instant),
    /// Part of a UTF-8 character.
    Utf8 {
        since: Instant,
        buf: Vec<u8>,
        need: usize,
    },
}

/// Turns the bytes one console sends into keys. One per console.
#[derive(Debug, Default, Clone)]
pub struct KeyParser {
    state: State,
    /// The last byte was CR: a following LF or NUL belongs to the same Enter (CRLF terminals,
    /// telnet's CR NUL).
    after_cr: bool,
}

impl KeyParser {
    /// Bytes read from the console at `now`; returns the complete keys among them.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Vec<KeyEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            self.byte(b, now, &mut out);
        }
        out
    }

    /// Called when the console was idle: releases a held Esc (and what followed it) once
    /// [`ESC_WAIT`] has passed without the rest of a sequence.
    pub fn flush(&mut self, now: Instant) -> Vec<KeyEvent> {
        let since = match &self.state {
            State::Ground => return Vec::new(),
            State::Esc(t) | State::CsiBracket(t) | State::Ss3(t) | State::CsiJunk(t) => *t,
            State::Csi { since, .. } | State::Utf8 { since, .. } => *since,
        };
        if now.saturating_duration_since(since) < ESC_WAIT {
            return Vec::new();
        }
        let chars = |s: &str| -> Vec<KeyEvent> {
            std::iter::once(plain(KeyCode::Esc))
                .chain(s.chars().map(|c| plain(KeyCode::Char(c))))
                .collect()
        };
        match std::mem::take(&mut self.state) {
            State::Ground | State::Utf8 { .. } | State::CsiJunk(_) => Vec::new(),
            State::Esc(_) => vec![plain(KeyCode::Esc)],
            State::Csi { body, .. } => chars(&format!("[{body}")),
            State::CsiBracket(_) => chars("[["),
            State::Ss3(_) => chars("O"),
        }
    }

    fn byte(&mut self, b: u8, now: Instant, out: &mut Vec<KeyEvent>) {
        match std::mem::take(&mut self.state) {
            State::Ground => self.ground(b, now, out),
            State::Esc(since) => match b {
                b'[' => {
                    self.state = State::Csi {
                        since,
                        body: String::new(),
                    }
                }
                b'O' => self.state = State::Ss3(since),
                _ => {
                    out.push(plain(KeyCode::Esc));
                    self.ground(b, now, out);
                }
            },
            State::Csi { since, mut body } => match b {
                b'[' if body.is_empty() => self.state = State::CsiBracket(since),
                0x20..=0x3f if body.len() < MAX_BODY => {
                    body.push(char::from(b));
                    self.state = State::Csi { since, body };
                }
                // Overlong parameters: junk, skipped up to the final byte.
                0x20..=0x3f => self.state = State::CsiJunk(since),
                0x40..=0x7e => out.extend(decode_csi(&body, char::from(b))),
                // A control byte inside a sequence: the sequence was junk, the byte is not.
                _ => self.ground(b, now, out),
            },
            State::CsiJunk(since) => match b {
                0x20..=0x3f => self.state = State::CsiJunk(since),
                0x40..=0x7e => {}
                _ => self.ground(b, now, out),
            },
            State::CsiBracket(_) => match b {
                b'A'..=b'E' => out.push(plain(KeyCode::F(b - b'A' + 1))),
                0x00..=0x1f => self.ground(b, now, out),
                _ => {}
            },
            State::Ss3(_) => {
                let code = match b {
                    b'P'..=b'S' => Some(KeyCode::F(b - b'P' + 1)),
                    b'A' => Some(KeyCode::Up),
                    b'B' => Some(KeyCode::Down),
                    b'C' => Some(KeyCode::Right),
                    b'D' => Some(KeyCode::Left),
                    b'H' => Some(KeyCode::Home),
                    b'F' => Some(KeyCode::End),
                    b'M' => Some(KeyCode::Enter),
                    0x00..=0x1f => {
                        self.ground(b, now, out);
                        None
                    }
                    _ => None,
                };
                out.extend(code.map(plain));
            }
            State::Utf8 {
                since,
                mut buf,
                need,
            } => {
                if b & 0xc0 == 0x80 {
                    buf.push(b);
                    if buf.len() < need {
                        self.state = State::Utf8 { since, buf, need };
                    } else if let Some(c) = std::str::from_utf8(&buf)
                        .ok()
                        .and_then(|s| s.chars().next())
                    {
                        out.push(plain(KeyCode::Char(c)));
                    }
                } else {
                    // A broken character: drop it, keep the byte.
                    self.ground(b, now, out);
                }
            }
        }
    }

    fn ground(&mut self, b: u8, now: Instant, out: &mut Vec<KeyEvent>) {
        let after_cr = std::mem::take(&mut self.after_cr);
        if after_cr && (b == b'\n' || b == 0) {
            return;
        }
        let code = match b {
            0x1b => {
                self.state = State::Esc(now);
                return;
            }
            b'\r' => {
                self.after_cr = true;
                KeyCode::Enter
            }
            b'\n' => KeyCode::Enter,
            b'\t' => KeyCode::Tab,
            0x7f | 0x08 => KeyCode::Backspace,
            0x01..=0x1a => {
                let c = char::from(b'a' + b - 1);
                out.push(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
                return;
            }
            0x20..=0x7e => KeyCode::Char(char::from(b)),
            0xc2..=0xf4 => {
                let need = match b {
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => 4,
                };
                self.state = State::Utf8 {
                    since: now,
                    buf: vec![b],
                    need,
                };
                return;
            }
            // NUL, the other C0 controls, stray continuation bytes, invalid leads.
            _ => return,
        };
        out.push(plain(code));
    }
}

/// `ESC [ body fin` to a key (None for what is not a key: cursor reports, mouse, junk).
fn decode_csi(body: &str, fin: char) -> Option<KeyEvent> {
    if body.starts_with(['<', '?', '>', '=']) {
        return None;
    }
    let mut params = body.split(';');
    let first = params.next().unwrap_or("");
    let modifiers =
        params
            .next()
            .and_then(|m| m.parse::<u8>().ok())
            .map_or(KeyModifiers::NONE, |m| {
                let bits = m.saturating_sub(1);
                let mut k = KeyModifiers::NONE;
                if bits & 1 != 0 {
                    k |= KeyModifiers::SHIFT;
                }
                if bits & 2 != 0 {
                    k |= KeyModifiers::ALT;
                }
                if bits & 4 != 0 {
                    k |= KeyModifiers::CONTROL;
                }
                k
            });
    let code = match fin {
        'A' => KeyCode::Up,
        'B' => KeyCode::Down,
        'C' => KeyCode::Right,
        'D' => KeyCode::Left,
        'H' => KeyCode::Home,
        'F' => KeyCode::End,
        'Z' => KeyCode::BackTab,
        // xterm's F1-F4 with modifiers: ESC [ 1 ; 5 P. (R is left out: it is also the
        // answer to a cursor position report.)
        'P' => KeyCode::F(1),
        'Q' => KeyCode::F(2),
        'S' => KeyCode::F(4),
        '~' => match first {
            "1" | "7" => KeyCode::Home,
            "2" => KeyCode::Insert,
            "3" => KeyCode::Delete,
            "4" | "8" => KeyCode::End,
            "5" => KeyCode::PageUp,
            "6" => KeyCode::PageDown,
            "11" => KeyCode::F(1),
            "12" => KeyCode::F(2),
            "13" => KeyCode::F(3),
            "14" => KeyCode::F(4),
            "15" => KeyCode::F(5),
            "17" => KeyCode::F(6),
            "18" => KeyCode::F(7),
            "19" => KeyCode::F(8),
            "20" => KeyCode::F(9),
            "21" => KeyCode::F(10),
            "23" => KeyCode::F(11),
            "24" => KeyCode::F(12),
            _ => return None,
        },
        _ => return None,
    };
    Some(KeyEvent::new(code, modifiers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        plain(code)
    }

    fn parse(bytes: &[u8]) -> Vec<KeyEvent> {
        KeyParser::default().feed(bytes, Instant::now())
    }

    #[test]
    fn every_sequence() {
        let cases: &[(&[u8], KeyCode)] = &[
            (b"\x1b[A", KeyCode::Up),
            (b"\x1b[B", KeyCode::Down),
            (b"\x1b[C", KeyCode::Right),
            (b"\x1b[D", KeyCode::Left),
            (b"\x1bOA", KeyCode::Up),
            (b"\x1bOB", KeyCode::Down),
            (b"\x1bOC", KeyCode::Right),
            (b"\x1bOD", KeyCode::Left),
            (b"\x1b[H", KeyCode::Home),
            (b"\x1b[F", KeyCode::End),
            (b"\x1b[1~", KeyCode::Home),
            (b"\x1b[7~", KeyCode::Home),
            (b"\x1b[4~", KeyCode::End),
            (b"\x1b[8~", KeyCode::End),
            (b"\x1bOH", KeyCode::Home),
            (b"\x1bOF", KeyCode::End),
            (b"\x1b[2~", KeyCode::Insert),
            (b"\x1b[3~", KeyCode::Delete),
            (b"\x1b[5~", KeyCode::PageUp),
            (b"\x1b[6~", KeyCode::PageDown),
            (b"\x1bOP", KeyCode::F(1)),
            (b"\x1bOQ", KeyCode::F(2)),
            (b"\x1bOR", KeyCode::F(3)),
            (b"\x1bOS", KeyCode::F(4)),
            (b"\x1b[[A", KeyCode::F(1)),
            (b"\x1b[[B", KeyCode::F(2)),
            (b"\x1b[[E", KeyCode::F(5)),
            (b"\x1b[11~", KeyCode::F(1)),
            (b"\x1b[12~", KeyCode::F(2)),
            (b"\x1b[15~", KeyCode::F(5)),
            (b"\x1b[17~", KeyCode::F(6)),
            (b"\x1b[21~", KeyCode::F(10)),
            (b"\x1b[23~", KeyCode::F(11)),
            (b"\x1b[24~", KeyCode::F(12)),
            (b"\x1bOM", KeyCode::Enter),
            (b"\x1b[Z", KeyCode::BackTab),
            (b"\t", KeyCode::Tab),
            (b"\r", KeyCode::Enter),
            (b"\n", KeyCode::Enter),
            (b"\x7f", KeyCode::Backspace),
            (b"\x08", KeyCode::Backspace),
            (b"a", KeyCode::Char('a')),
            (b"~", KeyCode::Char('~')),
            (b" ", KeyCode::Char(' ')),
            ("é".as_bytes(), KeyCode::Char('é')),
            ("€".as_bytes(), KeyCode::Char('€')),
            ("😀".as_bytes(), KeyCode::Char('😀')),
        ];
        for (bytes, code) in cases {
            assert_eq!(parse(bytes), vec![k(*code)], "{bytes:?}");
        }
    }

    #[test]
    fn ctrl_letters_and_modifiers() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        assert_eq!(parse(b"\x01"), vec![ctrl('a')]);
        assert_eq!(parse(b"\x03"), vec![ctrl('c')]);
        assert_eq!(
            parse(b"\x05\x0b\x15\x17"),
            vec![ctrl('e'), ctrl('k'), ctrl('u'), ctrl('w')]
        );
        assert_eq!(parse(b"\x1a"), vec![ctrl('z')]);
        assert_eq!(
            parse(b"\x1b[1;5A"),
            vec![KeyEvent::new(KeyCode::Up, KeyModifiers::CONTROL)]
        );
        assert_eq!(
            parse(b"\x1b[5;2~"),
            vec![KeyEvent::new(KeyCode::PageUp, KeyModifiers::SHIFT)]
        );
    }

    #[test]
    fn crlf_and_cr_nul_are_one_enter() {
        assert_eq!(parse(b"\r\n"), vec![k(KeyCode::Enter)]);
        assert_eq!(parse(b"\r\0"), vec![k(KeyCode::Enter)]);
        assert_eq!(parse(b"\r\r"), vec![k(KeyCode::Enter), k(KeyCode::Enter)]);
        assert_eq!(parse(b"\n\n"), vec![k(KeyCode::Enter), k(KeyCode::Enter)]);
        assert_eq!(
            parse(b"\rx\n"),
            vec![k(KeyCode::Enter), k(KeyCode::Char('x')), k(KeyCode::Enter)]
        );
    }

    #[test]
    fn several_keys_in_one_read() {
        assert_eq!(
            parse(b"\x1b[B\x1b[Bab\x1b[6~\r"),
            vec![
                k(KeyCode::Down),
                k(KeyCode::Down),
                k(KeyCode::Char('a')),
                k(KeyCode::Char('b')),
                k(KeyCode::PageDown),
                k(KeyCode::Enter)
            ]
        );
    }

    #[test]
    fn split_sequences_are_joined() {
        let t = Instant::now();
        let mut p = KeyParser::default();
        for split in [&b"\x1b[5~"[..], b"\x1bOP", b"\x1b[[A", b"\x1b[15~"] {
            let mut got = Vec::new();
            for &b in split {
                got.extend(p.feed(&[b], t));
                // An idle moment shorter than ESC_WAIT releases nothing.
                assert!(p.flush(t + Duration::from_millis(100)).is_empty());
            }
            assert_eq!(got.len(), 1, "{split:?}");
        }
        let mut got = p.feed("é".as_bytes().get(..1).unwrap_or_default(), t);
        got.extend(p.feed("é".as_bytes().get(1..).unwrap_or_default(), t));
        assert_eq!(got, vec![k(KeyCode::Char('é'))]);
    }

    #[test]
    fn lone_esc_is_released_after_wait() {
        let t = Instant::now();
        let mut p = KeyParser::default();
        assert!(p.feed(b"\x1b", t).is_empty());
        assert!(p.flush(t + Duration::from_millis(10)).is_empty());
        assert_eq!(p.flush(t + ESC_WAIT), vec![k(KeyCode::Esc)]);
        assert!(p.flush(t + ESC_WAIT * 2).is_empty());
        // Esc Esc: the first is released at once.
        assert_eq!(p.feed(b"\x1b\x1b", t), vec![k(KeyCode::Esc)]);
        assert_eq!(p.flush(t + ESC_WAIT), vec![k(KeyCode::Esc)]);
        // Esc then a letter: both.
        assert_eq!(
            p.feed(b"\x1bx", t),
            vec![k(KeyCode::Esc), k(KeyCode::Char('x'))]
        );
        // A stale `ESC [` is given back as typed.
        assert!(p.feed(b"\x1b[", t).is_empty());
        assert_eq!(
            p.flush(t + ESC_WAIT),
            vec![k(KeyCode::Esc), k(KeyCode::Char('['))]
        );
    }

    #[test]
    fn junk_is_dropped_without_losing_what_follows() {
        // Cursor position reports, mouse reports, private modes, unknown finals.
        assert!(parse(b"\x1b[24;80R").is_empty());
        assert!(parse(b"\x1b[<0;3;4M").is_empty());
        assert!(parse(b"\x1b[?1;2c").is_empty());
        assert!(parse(b"\x1b[99~").is_empty());
        assert!(parse(b"\x1b[[Z").is_empty());
        assert!(parse(b"\x1bOz").is_empty());
        // Overlong parameters.
        let mut long = b"\x1b[".to_vec();
        long.extend(std::iter::repeat_n(b'1', 100));
        long.extend(b"~a");
        assert_eq!(parse(&long), vec![k(KeyCode::Char('a'))]);
        // A control byte in a sequence ends it and counts.
        assert_eq!(parse(b"\x1b[1\r"), vec![k(KeyCode::Enter)]);
        assert_eq!(parse(b"\x1bO\x03").len(), 1);
        // Broken UTF-8, stray continuation bytes, NUL, other C0.
        assert_eq!(parse(b"\xc3x"), vec![k(KeyCode::Char('x'))]);
        assert_eq!(
            parse(b"\x80\xbf\xff\xc0\x00\x1c\x1fy"),
            vec![k(KeyCode::Char('y'))]
        );
        // Every byte value, in every state, must not panic.
        let mut p = KeyParser::default();
        let t = Instant::now();
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                p.feed(&[0x1b, a, b, 0x1b, b'[', a, b], t);
            }
            p.flush(t + ESC_WAIT);
        }
    }
}
