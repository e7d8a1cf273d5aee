//! Drawing the [`App`] with ratatui, into any backend.
//!
//! Only ASCII borders and the 16 basic colours: the Linux VGA console font and serial terminals
//! have nothing else. Every area is computed with saturating arithmetic, and anything below
//! [`MIN_WIDTH`]x[`MIN_HEIGHT`] gets a bare fallback, so no size can make it panic.

use ratatui::layout::{Alignment, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{entry_title, Action, App, Item, LineEditor, Mode};
use crate::fetch::Progress;

/// Borders every console can draw.
pub const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// Below this the full layout is not attempted.
pub const MIN_WIDTH: u16 = 20;
pub const MIN_HEIGHT: u16 = 6;

/// Text rows an edited command line may take.
const EDITOR_MAX_ROWS: u16 = 4;
/// Log rows shown when the screen is tall enough.
const LOG_ROWS: u16 = 3;
/// Screens at least this tall show the log.
const LOG_MIN_HEIGHT: u16 = 20;

fn reversed() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn block(title: String) -> Block<'static> {
    Block::bordered()
        .border_set(ASCII_BORDER)
        .title(Line::from(format!(" {title} ")))
}

/// Where everything goes.
#[derive(Debug, Default, Clone, Copy)]
struct Areas {
    header: Rect,
    list: Rect,
    editor: Rect,
    log: Rect,
    footer: Rect,
    error: Rect,
    status: Rect,
}

/// Take `rows` (at most what is left) off the bottom of `rest`.
fn take_bottom(rest: &mut Rect, rows: u16) -> Rect {
    let rows = rows.min(rest.height);
    rest.height -= rows;
    Rect::new(rest.x, rest.y + rest.height, rest.width, rows)
}

fn take_top(rest: &mut Rect, rows: u16) -> Rect {
    let rows = rows.min(rest.height);
    let top = Rect::new(rest.x, rest.y, rest.width, rows);
    rest.y += rows;
    rest.height -= rows;
    top
}

fn layout(area: Rect, app: &App) -> Areas {
    let mut rest = area;
    let w = area.width.max(1);
    let status = take_bottom(&mut rest, 1);
    let header = take_top(&mut rest, 1);
    let err_rows = app.error().map_or(0, |e| {
        let len = u16::try_from(e.chars().count() + "Error: ".len()).unwrap_or(u16::MAX);
        len.div_ceil(w).clamp(1, 2)
    });
    let error = take_bottom(&mut rest, err_rows);
    let footer = take_bottom(&mut rest, footer_rows(app));
    let editor_rows = match app.mode() {
        Mode::Edit { editor, .. } => {
            let inner = w.saturating_sub(2).max(1);
            let len = u16::try_from(editor.buffer.chars().count()).unwrap_or(u16::MAX);
            (len / inner + 1).min(EDITOR_MAX_ROWS) + 2
        }
        _ => 0,
    };
    // The list keeps at least 3 rows (one entry) before the editor grows into it; the editor
    // keeps at least its border and one row.
    let editor = if editor_rows == 0 {
        Rect::default()
    } else {
        let rows = editor_rows.min(rest.height.saturating_sub(3)).max(3);
        take_bottom(&mut rest, rows)
    };
    let log_rows = if area.height >= LOG_MIN_HEIGHT {
        u16::try_from(app.log().len())
            .unwrap_or(u16::MAX)
            .min(LOG_ROWS)
    } else {
        0
    };
    let log_rows = log_rows.min(rest.height.saturating_sub(5));
    let log = take_bottom(&mut rest, log_rows);
    Areas {
        header,
        list: rest,
        editor,
        log,
        footer,
        error,
        status,
    }
}

fn footer_rows(app: &App) -> u16 {
    match app.mode() {
        Mode::Menu | Mode::Edit { .. } => 1,
        Mode::Prompt { .. } => 2,
        Mode::Busy { progress, .. } => match progress {
            None => 2,
            Some(p) if p.total.is_some() => 4,
            Some(_) => 3,
        },
    }
}

/// Rows of the entry list (inside its border) for an area of this size: the page for PageUp/Down.
pub fn list_rows(area: Rect, app: &App) -> u16 {
    layout(area, app).list.height.saturating_sub(2).max(1)
}

/// Draw the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        draw_tiny(frame, app, area);
        return;
    }
    let a = layout(area, app);
    draw_header(frame, app, a.header);
    draw_list(frame, app, a.list);
    if let Mode::Edit { base, editor } = app.mode() {
        draw_editor(frame, &base.title, editor, a.editor);
    }
    draw_log(frame, app, a.log);
    draw_footer(frame, app, a.footer);
    if let Some(e) = app.error() {
        let p = Paragraph::new(format!("Error: {e}"))
            .style(Style::default().fg(Color::Red).add_modifier(Modifier::BOLD))
            .wrap(Wrap { trim: true });
        frame.render_widget(p, a.error);
    }
    let status = if app.status().is_empty() {
        "No network yet"
    } else {
        app.status()
    };
    frame.render_widget(
        Paragraph::new(format!(" {status}")).style(reversed()),
        a.status,
    );
}

fn draw_tiny(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let items = app.items();
    let selected = items.get(app.selected()).map_or("", |i| item_title(*i));
    let mut lines = vec![
        Line::styled("kboot", bold()),
        Line::styled(selected.to_string(), reversed()),
    ];
    if let Some(e) = app.error() {
        lines.push(Line::styled(e.to_string(), Style::default().fg(Color::Red)));
    }
    if let Some((_, secs)) = app.countdown() {
        lines.push(Line::from(format!("Boot in {secs} s")));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_header(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let title = app.menu().and_then(|m| m.title.as_deref()).unwrap_or("");
    let mut spans = vec![Span::styled("kboot", bold())];
    if !title.is_empty() {
        spans.push(Span::raw(format!(" - {title}")));
    }
    let left = Line::from(spans);
    let used = left.width();
    frame.render_widget(Paragraph::new(left), area);
    if let Some(src) = app.source() {
        let need = used + 2 + src.chars().count();
        if need <= usize::from(area.width) {
            frame.render_widget(
                Paragraph::new(src.to_string()).alignment(Alignment::Right),
                area,
            );
        }
    }
}

fn item_title(item: Item<'_>) -> &str {
    match item {
        Item::Entry(e) => entry_title(e),
        Item::Action(a) => a.label(),
    }
}

fn draw_list(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let title = if app.menu().is_none() {
        "Waiting for a boot menu...".to_string()
    } else if app.at_top() {
        "Boot menu".to_string()
    } else {
        app.breadcrumb().join(" > ")
    };
    let default = app.default_index();
    let items: Vec<ListItem> = app
        .items()
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mark = if Some(i) == default { '*' } else { ' ' };
            let text = match item {
                Item::Entry(e) if !e.children.is_empty() => format!("{mark} {} >", entry_title(e)),
                _ => format!("{mark} {}", item_title(item)),
            };
            let style = match item {
                Item::Action(Action::Prompt) => Style::default().fg(Color::Cyan),
                Item::Action(_) => Style::default().fg(Color::Yellow),
                Item::Entry(_) => Style::default(),
            };
            ListItem::new(text).style(style)
        })
        .collect();
    let list = List::new(items)
        .block(block(title))
        .highlight_symbol(">")
        .highlight_style(reversed());
    let mut state = ListState::default().with_selected(Some(app.selected()));
    frame.render_stateful_widget(list, area, &mut state);
}

/// Char-wrap `text` at `width` and return the rows to show (at most `rows`, scrolled so that
/// the cursor is visible) plus the cursor's (col, row) within them.
fn wrap_editor(editor: &LineEditor, width: u16, rows: u16) -> (Vec<String>, u16, u16) {
    let width = usize::from(width.max(1));
    let rows = usize::from(rows.max(1));
    let chars: Vec<char> = editor.buffer.chars().collect();
    let cursor = editor.cursor.min(chars.len());
    let lines: Vec<String> = if chars.is_empty() {
        vec![String::new()]
    } else {
        chars.chunks(width).map(|c| c.iter().collect()).collect()
    };
    let (crow, ccol) = (cursor / width, cursor % width);
    let first = (crow + 1).saturating_sub(rows);
    let shown = lines.into_iter().skip(first).take(rows).collect();
    let col = u16::try_from(ccol).unwrap_or(0);
    let row = u16::try_from(crow - first).unwrap_or(0);
    (shown, col, row)
}

fn draw_editor(frame: &mut Frame<'_>, title: &str, editor: &LineEditor, area: Rect) {
    let b = block(format!("Command line of '{title}'"));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let (lines, col, row) = wrap_editor(editor, inner.width, inner.height);
    let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(lines), inner);
    frame.set_cursor_position(Position::new(inner.x + col, inner.y + row));
}

fn draw_log(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let n = usize::from(area.height);
    let skip = app.log().len().saturating_sub(n);
    let lines: Vec<Line> = app
        .log()
        .skip(skip)
        .map(|l| Line::from(l.to_string()))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// `kboot: text` on one line, scrolled horizontally so that the cursor stays visible.
fn prompt_line(editor: &LineEditor, width: u16) -> (String, u16) {
    const PREFIX: &str = "kboot: ";
    let text: Vec<char> = PREFIX.chars().chain(editor.buffer.chars()).collect();
    let width = usize::from(width.max(1));
    let col = PREFIX.len() + editor.cursor.min(text.len() - PREFIX.len());
    let start = (col + 1).saturating_sub(width);
    let shown: String = text.iter().skip(start).take(width).collect();
    (shown, u16::try_from(col - start).unwrap_or(0))
}

fn draw_footer(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let lines: Vec<Line> = match app.mode() {
        Mode::Menu => {
            if let Some((title, secs)) = app.countdown() {
                let long = format!("Booting '{title}' in {secs} s - press any key to stop");
                let short = format!("Booting '{title}' in {secs} s");
                let text = [long, short]
                    .into_iter()
                    .find(|t| t.chars().count() <= usize::from(area.width))
                    .unwrap_or_else(|| format!("Boot in {secs} s"));
                vec![Line::styled(
                    text,
                    Style::default()
                        .fg(Color::Yellow)
                        .add_modifier(Modifier::BOLD),
                )]
            } else if app.at_top() {
                vec![Line::from("Enter: boot  e: edit  c: kboot: prompt")]
            } else {
                vec![Line::from("Enter: boot  e: edit  c: prompt  Esc: back")]
            }
        }
        Mode::Edit { .. } => vec![Line::from("Enter: boot  Esc: cancel  Ctrl-K: cut to end")],
        Mode::Prompt { editor } => {
            let (text, col) = prompt_line(editor, area.width);
            frame.set_cursor_position(Position::new(area.x + col, area.y));
            vec![
                Line::from(text),
                Line::from("Enter: go  Esc: back  (URL [args] or a label)"),
            ]
        }
        Mode::Busy { title, progress } => {
            let mut v = vec![Line::styled(
                format!("Loading '{title}'  (Esc: cancel)"),
                bold(),
            )];
            match progress {
                None => v.push(Line::from("Waiting...")),
                Some(p) => progress_lines(p, area.width, &mut v),
            }
            v
        }
    };
    frame.render_widget(Paragraph::new(lines), area);
}

fn progress_lines(p: &Progress, width: u16, out: &mut Vec<Line<'static>>) {
    out.push(Line::from(p.url.clone()));
    let rate = format!("{}/s", human_bytes(p.rate));
    match p.total {
        Some(total) => {
            let frac = if total == 0 {
                1.0
            } else {
                (p.bytes.min(total) as f64) / (total as f64)
            };
            let pct = (frac * 100.0).floor() as u64;
            let inner = usize::from(width.saturating_sub(7));
            let filled = ((inner as f64) * frac).floor() as usize;
            let filled = filled.min(inner);
            out.push(Line::from(vec![
                Span::raw("["),
                Span::styled("#".repeat(filled), Style::default().fg(Color::Green)),
                Span::raw(".".repeat(inner - filled)),
                Span::raw(format!("] {pct:>3}%")),
            ]));
            out.push(Line::from(format!(
                "{} of {}, {rate}",
                human_bytes(p.bytes),
                human_bytes(total)
            )));
        }
        None => out.push(Line::from(format!("{}, {rate}", human_bytes(p.bytes)))),
    }
}

/// "512 B", "1.5 KiB", "27.0 MiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::app::tests_support::{entry, key, sample_menu, type_str};
    use crate::ui::UiEvent;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::crossterm::event::KeyCode;
    use ratatui::Terminal;
    use std::time::{Duration, Instant};

    fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        t.draw(|f| draw(f, app)).expect("draw");
        t
    }

    fn lines(buf: &Buffer) -> Vec<String> {
        let a = buf.area;
        (a.top()..a.bottom())
            .map(|y| {
                (a.left()..a.right())
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect()
    }

    #[track_caller]
    fn assert_screen(t: &Terminal<TestBackend>, expected: &[&str]) {
        let got = lines(t.backend().buffer());
        let w = usize::from(t.backend().buffer().area.width);
        let want: Vec<String> = expected.iter().map(|l| format!("{l:<w$}")).collect();
        if got != want {
            panic!(
                "screen differs.\n--- got ---\n{}\n--- want ---\n{}",
                got.join("\n"),
                want.join("\n")
            );
        }
    }

    fn app_with_menu() -> (App, Instant) {
        let mut app = App::new();
        app.on_event(UiEvent::NetStatus("eth0 10.0.2.15/24 via 10.0.2.2".into()));
        app.on_event(UiEvent::Menu {
            source: "tftp://10.0.2.2/kboot.conf".into(),
            menu: sample_menu(),
        });
        let t0 = Instant::now();
        app.on_tick(t0);
        (app, t0)
    }

    fn progress(bytes: u64, total: Option<u64>) -> UiEvent {
        UiEvent::Progress(Progress {
            url: "tftp://10.0.2.2/linux/vmlinuz".into(),
            bytes,
            total,
            rate: 1536 << 10,
        })
    }

    #[test]
    fn menu_with_countdown() {
        let (mut app, t0) = app_with_menu();
        app.on_tick(t0 + Duration::from_millis(200));
        let t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                                 tftp://10.0.2.2/kboot.conf",
            "+ Boot menu -------------------------------------------------------------------+",
            "|>* linux                                                                      |",
            "|   Rescue shell                                                               |",
            "|   Enter a kernel URL (kboot: prompt)                                         |",
            "|   Reboot                                                                     |",
            "|   Power off                                                                  |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "+------------------------------------------------------------------------------+",
            "Menu from tftp://10.0.2.2/kboot.conf: 2 entries",
            "Booting 'linux' in 5 s - press any key to stop",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
        let buf = t.backend().buffer();
        // The selected (default) entry is in reverse video, the others are not.
        assert!(buf[(2, 2)].modifier.contains(Modifier::REVERSED));
        assert!(!buf[(2, 3)].modifier.contains(Modifier::REVERSED));
        // The status bar too; the countdown in yellow.
        assert!(buf[(0, 23)].modifier.contains(Modifier::REVERSED));
        assert_eq!(buf[(0, 22)].fg, Color::Yellow);
    }

    #[test]
    fn editor() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Char('e')));
        app.on_key(key(KeyCode::End));
        type_str(&mut app, " kboot_test=edited");
        let mut t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                                 tftp://10.0.2.2/kboot.conf",
            "+ Boot menu -------------------------------------------------------------------+",
            "|>* linux                                                                      |",
            "|   Rescue shell                                                               |",
            "|   Enter a kernel URL (kboot: prompt)                                         |",
            "|   Reboot                                                                     |",
            "|   Power off                                                                  |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "+------------------------------------------------------------------------------+",
            "Menu from tftp://10.0.2.2/kboot.conf: 2 entries",
            "+ Command line of 'linux' -----------------------------------------------------+",
            "|console=ttyS0 quiet kboot_test=edited                                         |",
            "+------------------------------------------------------------------------------+",
            "Enter: boot  Esc: cancel  Ctrl-K: cut to end",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
        // The cursor sits after the last char, inside the box.
        t.backend_mut().assert_cursor_position((1 + 37, 20));
    }

    #[test]
    fn long_command_line_wraps_and_keeps_cursor_visible() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Char('e')));
        type_str(&mut app, &" x=0123456789".repeat(40));
        // 40x12: list rows 1-3, editor box rows 4-9 (text rows 5-8), hint 10, status 11.
        let mut t = render(&app, 40, 12);
        let total = "console=ttyS0 quiet".len() + 13 * 40;
        let col = u16::try_from(total % 38).unwrap_or(0);
        t.backend_mut().assert_cursor_position((1 + col, 8));
        app.on_key(key(KeyCode::Home));
        let mut t = render(&app, 40, 12);
        t.backend_mut().assert_cursor_position((1, 5));
        let screen = lines(t.backend().buffer());
        assert!(
            screen[5].starts_with("|console=ttyS0 quiet x=0123"),
            "{screen:#?}"
        );
    }

    #[test]
    fn prompt() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Char('c')));
        type_str(&mut app, "tftp://10.0.2.2/vmlinuz console=ttyS0");
        let mut t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                                 tftp://10.0.2.2/kboot.conf",
            "+ Boot menu -------------------------------------------------------------------+",
            "|>* linux                                                                      |",
            "|   Rescue shell                                                               |",
            "|   Enter a kernel URL (kboot: prompt)                                         |",
            "|   Reboot                                                                     |",
            "|   Power off                                                                  |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "+------------------------------------------------------------------------------+",
            "Menu from tftp://10.0.2.2/kboot.conf: 2 entries",
            "kboot: tftp://10.0.2.2/vmlinuz console=ttyS0",
            "Enter: go  Esc: back  (URL [args] or a label)",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
        t.backend_mut().assert_cursor_position((7 + 37, 21));
    }

    #[test]
    fn prompt_scrolls_horizontally() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Char('c')));
        type_str(&mut app, "http://boot.example.org/images/debian/vmlinuz");
        let mut t = render(&app, 40, 12);
        let screen = lines(t.backend().buffer());
        assert_eq!(
            screen[9],
            format!("{:<40}", "/boot.example.org/images/debian/vmlinuz")
        );
        t.backend_mut().assert_cursor_position((39, 9));
    }

    #[test]
    fn progress_with_total() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Enter));
        app.on_event(progress(3 << 20, Some(8 << 20)));
        let t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                                 tftp://10.0.2.2/kboot.conf",
            "+ Boot menu -------------------------------------------------------------------+",
            "|>* linux                                                                      |",
            "|   Rescue shell                                                               |",
            "|   Enter a kernel URL (kboot: prompt)                                         |",
            "|   Reboot                                                                     |",
            "|   Power off                                                                  |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "+------------------------------------------------------------------------------+",
            "Menu from tftp://10.0.2.2/kboot.conf: 2 entries",
            "Booting 'linux': tftp://10.0.2.2/linux/vmlinuz",
            "Loading 'linux'  (Esc: cancel)",
            "tftp://10.0.2.2/linux/vmlinuz",
            "[###########################..............................................]  37%",
            "3.0 MiB of 8.0 MiB, 1.5 MiB/s",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
    }

    #[test]
    fn progress_without_total() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Enter));
        let screen = lines(render(&app, 80, 24).backend().buffer());
        assert_eq!(screen[22].trim_end(), "Waiting...");
        app.on_event(progress(1536, None));
        let screen = lines(render(&app, 80, 24).backend().buffer());
        assert_eq!(screen[20].trim_end(), "Loading 'linux'  (Esc: cancel)");
        assert_eq!(screen[22].trim_end(), "1.5 KiB, 1.5 MiB/s");
    }

    #[test]
    fn error() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Down));
        app.on_key(key(KeyCode::Enter));
        app.on_event(UiEvent::Error(
            "TFTP server 10.0.2.2 said: file not found (rescue/vmlinuz).".into(),
        ));
        let t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                                 tftp://10.0.2.2/kboot.conf",
            "+ Boot menu -------------------------------------------------------------------+",
            "| * linux                                                                      |",
            "|>  Rescue shell                                                               |",
            "|   Enter a kernel URL (kboot: prompt)                                         |",
            "|   Reboot                                                                     |",
            "|   Power off                                                                  |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "+------------------------------------------------------------------------------+",
            "Menu from tftp://10.0.2.2/kboot.conf: 2 entries",
            "Booting 'Rescue shell': tftp://10.0.2.2/rescue/vmlinuz",
            "error: TFTP server 10.0.2.2 said: file not found (rescue/vmlinuz).",
            "Enter: boot  e: edit  c: kboot: prompt",
            "Error: TFTP server 10.0.2.2 said: file not found (rescue/vmlinuz).",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
        assert_eq!(t.backend().buffer()[(0, 22)].fg, Color::Red);
    }

    #[test]
    fn no_config_yet() {
        let app = App::new();
        let t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot",
            "+ Waiting for a boot menu... --------------------------------------------------+",
            "|>  Enter a kernel URL (kboot: prompt)                                         |",
            "|   Reboot                                                                     |",
            "|   Power off                                                                  |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "+------------------------------------------------------------------------------+",
            "Enter: boot  e: edit  c: kboot: prompt",
            " No network yet",
        ]);
    }

    #[test]
    fn small_40x12() {
        let (app, _) = app_with_menu();
        let t = render(&app, 40, 12);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu",
            "+ Boot menu ---------------------------+",
            "|>* linux                              |",
            "|   Rescue shell                       |",
            "|   Enter a kernel URL (kboot: prompt) |",
            "|   Reboot                             |",
            "|   Power off                          |",
            "|                                      |",
            "|                                      |",
            "+--------------------------------------+",
            "Booting 'linux' in 5 s",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
    }

    #[test]
    fn tiny_20x5() {
        let (app, _) = app_with_menu();
        let t = render(&app, 20, 5);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot",
            "linux",
            "Boot in 5 s",
            "",
            "",
        ]);
    }

    #[test]
    fn long_list_scrolls_to_selection() {
        let mut app = App::new();
        let mut menu = sample_menu();
        for i in 0..30 {
            menu.entries
                .push(entry(&format!("e{i}"), &format!("Entry {i}"), ""));
        }
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu,
        });
        app.on_key(key(KeyCode::End));
        let screen = lines(render(&app, 40, 12).backend().buffer());
        assert!(
            screen.iter().any(|l| l.starts_with("|>  Power off")),
            "{screen:#?}"
        );
    }

    /// Every small size, and some big ones, in every mode: nothing may panic.
    #[test]
    fn no_size_panics() {
        let mut apps = vec![App::new()];
        let (app, _) = app_with_menu();
        apps.push(app.clone());
        let mut a = app.clone();
        a.on_key(key(KeyCode::Char('e')));
        type_str(&mut a, &"y".repeat(300));
        apps.push(a);
        let mut a = app.clone();
        a.on_key(key(KeyCode::Char('c')));
        type_str(&mut a, &"z".repeat(300));
        apps.push(a);
        let mut a = app.clone();
        a.on_key(key(KeyCode::Enter));
        a.on_event(progress(u64::MAX, Some(3)));
        apps.push(a);
        let mut a = app.clone();
        a.on_key(key(KeyCode::Enter));
        a.on_event(progress(5, Some(0)));
        a.on_event(UiEvent::Error("x".repeat(500)));
        apps.push(a);
        for app in &apps {
            for w in (0..=42).chain([60, 80, 81, 132]) {
                for h in (0..=13).chain([20, 24, 25, 50]) {
                    render(app, w, h);
                }
            }
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(27 << 20), "27.0 MiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }
}
