//! Drawing the [`App`] with ratatui, into any backend.
//!
//! Only ASCII borders and the 16 basic colours: the Linux VGA console font and serial terminals
//! have nothing else. Every area is computed with saturating arithmetic, and anything below
//! [`MIN_WIDTH`]x[`MIN_HEIGHT`] gets a bare fallback, so no size can make it panic.

use ratatui::layout::{Alignment, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use super::app::{entry_title, Action, App, Item, LineEditor, Mode, Overlay};
use crate::config::model::{Action as ConfigAction, Handoff};
use crate::config::Entry;
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
/// Screens at least this tall show the log, and the log pane in their bottom half only.
const LOG_MIN_HEIGHT: u16 = 20;
/// Rows of an entry's help text under the list (one on small screens).
const HELP_ROWS: u16 = 2;

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
    /// The Tab log pane (empty when closed).
    pane: Rect,
    /// The selected entry's help text.
    help: Rect,
    footer: Rect,
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
    layout_with(area, app, app.log_pane().is_some())
}

fn layout_with(area: Rect, app: &App, pane_open: bool) -> Areas {
    let mut rest = area;
    let w = area.width.max(1);
    let status = take_bottom(&mut rest, 1);
    let header = take_top(&mut rest, 1);
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
    if pane_open {
        // Bottom half on a tall screen, all of it (the list hidden) on a small one.
        let rows = if area.height >= LOG_MIN_HEIGHT {
            rest.height / 2
        } else {
            rest.height
        };
        let pane = take_bottom(&mut rest, rows);
        return Areas {
            header,
            list: rest,
            editor,
            pane,
            footer,
            status,
            ..Areas::default()
        };
    }
    let log_rows = if area.height >= LOG_MIN_HEIGHT {
        u16::try_from(app.log().len())
            .unwrap_or(u16::MAX)
            .min(LOG_ROWS)
    } else {
        0
    };
    let log_rows = log_rows.min(rest.height.saturating_sub(5));
    let log = take_bottom(&mut rest, log_rows);
    let max_help = if area.height >= LOG_MIN_HEIGHT {
        HELP_ROWS
    } else {
        1
    };
    let help_rows = u16::try_from(help_lines(app).len())
        .unwrap_or(0)
        .min(max_help)
        .min(rest.height.saturating_sub(4));
    let help = take_bottom(&mut rest, help_rows);
    Areas {
        header,
        list: rest,
        editor,
        log,
        pane: Rect::default(),
        help,
        footer,
        status,
    }
}

/// The non-empty lines of the selected entry's help text.
fn help_lines(app: &App) -> Vec<String> {
    match app.selected_item() {
        Some(Item::Entry(e)) => e
            .help
            .as_deref()
            .unwrap_or("")
            .lines()
            .map(clean)
            .filter(|l| !l.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// One line of config text fit for the terminal: no control characters, trimmed.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn footer_rows(app: &App) -> u16 {
    match app.mode() {
        Mode::Menu if app.countdown_warning().is_some() => 2,
        Mode::Menu | Mode::Edit { .. } => 1,
        Mode::Prompt { .. } | Mode::Wifi(_) => 2,
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

/// Text rows of the log pane for an area of this size (its PageUp/PageDown step).
pub fn log_rows(area: Rect, app: &App) -> u16 {
    layout_with(area, app, true)
        .pane
        .height
        .saturating_sub(2)
        .max(1)
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
    if let (Mode::Wifi(w), true) = (app.mode(), a.list.height > 0) {
        draw_wifi(frame, w, a.list);
    } else if a.list.height > 0 {
        draw_list(frame, app, a.list);
    }
    if let Mode::Edit { base, editor } = app.mode() {
        draw_editor(frame, &base.title, editor, a.editor);
    }
    draw_log(frame, app, a.log);
    draw_help_text(frame, app, a.help);
    if let Some(back) = app.log_pane() {
        draw_log_pane(frame, app, back, a.pane);
    }
    draw_footer(frame, app, a.footer);
    let status = if app.status().is_empty() {
        "No network yet"
    } else {
        app.status()
    };
    frame.render_widget(
        Paragraph::new(format!(" {status}")).style(reversed()),
        a.status,
    );
    match app.overlay() {
        Some(Overlay::Help) => draw_help_overlay(frame, area),
        Some(Overlay::Details) => draw_details(frame, app, area),
        None => {}
    }
    if let Some(e) = app.error() {
        draw_error(frame, e, area);
    }
}

/// Word-wrap `text` at `width` columns (words longer than a line are cut into pieces).
pub fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        let mut len = 0;
        for word in para.split_whitespace() {
            let mut chars: Vec<char> = word.chars().collect();
            let wlen = chars.len();
            if len > 0 && len + 1 + wlen <= width {
                line.push(' ');
                line.extend(chars);
                len += 1 + wlen;
                continue;
            }
            if len > 0 {
                out.push(std::mem::take(&mut line));
            }
            while chars.len() > width {
                let rest = chars.split_off(width);
                out.push(chars.into_iter().collect());
                chars = rest;
            }
            len = chars.len();
            line = chars.into_iter().collect();
        }
        out.push(line);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// A `w` x `h` rectangle in the middle of `area` (clamped to it).
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Clear `rect`, draw a bordered box titled `title` and the lines inside it.
fn draw_box(frame: &mut Frame<'_>, rect: Rect, title: &str, colour: Color, lines: Vec<Line>) {
    let b = block(title.to_string()).border_style(Style::default().fg(colour));
    let inner = b.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(b, rect);
    let inner = Rect::new(
        inner.x.saturating_add(1),
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Every key, for the `?` overlay.
pub const HELP: &[(&str, &str)] = &[
    ("Up/Down PgUp/PgDn", "move in the list"),
    ("Home/End", "first/last item"),
    ("Enter", "boot the entry, open a submenu"),
    ("Right", "open a submenu"),
    ("Esc/Left", "back: clear the filter, leave a submenu"),
    ("1-9, letters", "select by number or hotkey"),
    ("e", "edit the command line, then Enter"),
    ("c", "kboot: prompt (Up/Down: history)"),
    ("/", "filter by title (Enter: keep, Esc: clear)"),
    ("i, F2", "entry details (i: unless a hotkey)"),
    ("Tab", "log pane (PgUp/PgDn scroll, Esc closes)"),
    ("?, F1", "this help"),
    ("Ctrl-A/E/K/U/W", "editing: start/end/cut/cut/word"),
    ("Esc, Ctrl-C", "cancel editing or a download"),
];

fn draw_help_overlay(frame: &mut Frame<'_>, area: Rect) {
    let key_w = HELP.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:<key_w$}"), bold()),
                Span::raw(format!("  {v}")),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from("Press any key to close."));
    let w = lines.iter().map(Line::width).max().unwrap_or(0) + 4;
    let w = u16::try_from(w).unwrap_or(u16::MAX);
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, w, h);
    draw_box(frame, rect, "Keys", Color::Cyan, lines);
}

/// `label` then `value` wrapped at `width`, continuation lines indented under the value.
fn field(out: &mut Vec<Line<'static>>, label: &str, value: &str, width: usize) {
    const LABEL_W: usize = 13;
    let wrapped = wrap_text(value, width.saturating_sub(LABEL_W).max(8));
    for (i, l) in wrapped.into_iter().enumerate() {
        let head = if i == 0 { label } else { "" };
        out.push(Line::from(vec![
            Span::styled(format!("{head:<LABEL_W$}"), bold()),
            Span::raw(l),
        ]));
    }
}

fn handoff_text(h: Handoff) -> String {
    match h {
        Handoff::Default => "ip= and BOOTIF= from kboot's lease (default)".to_string(),
        Handoff::Pxelinux(bits) => {
            let mut v = Vec::new();
            if bits & 1 != 0 {
                v.push("ip=");
            }
            if bits & 2 != 0 {
                v.push("BOOTIF=");
            }
            let what = if v.is_empty() {
                "nothing".to_string()
            } else {
                v.join(" and ")
            };
            format!("IPAPPEND {bits}: {what}")
        }
        Handoff::Off => "nothing appended".to_string(),
    }
}

fn action_text(a: &ConfigAction) -> String {
    match a {
        ConfigAction::LocalBoot => "boot from the local disk".to_string(),
        ConfigAction::Exit => "leave this submenu".to_string(),
        ConfigAction::Reboot => "reboot".to_string(),
        ConfigAction::PowerOff => "power off".to_string(),
        ConfigAction::Chain(url) => format!("load the config {url}"),
    }
}

/// The lines of the details box for `e`, `width` columns wide.
fn entry_details(e: &Entry, detected: Option<&str>, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let c = |s: &str| clean(s);
    field(&mut out, "Title", &c(entry_title(e)), width);
    field(&mut out, "Label", &c(&e.id), width);
    if !e.children.is_empty() {
        let n = e.children.len();
        field(&mut out, "Submenu", &format!("{n} entries"), width);
    }
    if let Some(a) = &e.action {
        field(&mut out, "Action", &c(&action_text(a)), width);
    }
    if e.children.is_empty() && e.action.is_none() {
        let kernel = e.kernel.as_deref().map_or("(none)".to_string(), c);
        field(&mut out, "Kernel", &kernel, width);
        if e.initrds.is_empty() {
            field(&mut out, "Initrd", "(none)", width);
        }
        for (i, url) in e.initrds.iter().enumerate() {
            field(&mut out, if i == 0 { "Initrd" } else { "" }, &c(url), width);
        }
        if let Some(dt) = &e.devicetree {
            field(&mut out, "Device tree", &c(dt), width);
        }
        let cmdline = if e.cmdline.trim().is_empty() {
            "(empty)".to_string()
        } else {
            c(&e.cmdline)
        };
        field(&mut out, "Command line", &cmdline, width);
        field(&mut out, "Network", &handoff_text(e.handoff), width);
        match &e.signature {
            Some(crate::config::model::Signature::SignedBy(key)) => field(
                &mut out,
                "Signature",
                &c(&format!("signed by {key}")),
                width,
            ),
            Some(crate::config::model::Signature::NotSigned(why)) => field(
                &mut out,
                "Signature",
                &c(&format!("not signed: {why}")),
                width,
            ),
            None => {}
        }
        if let Some(d) = &e.diskless {
            let root = crate::cmdline::secrets::mask_value(&d.root);
            field(&mut out, "Diskless root", &c(&root), width);
            let flavor = match (&d.flavor, detected) {
                (Some(f), _) => f.clone(),
                (None, Some(found)) => found.to_string(),
                (None, None) => "detected in the initrd when it is fetched".to_string(),
            };
            field(&mut out, "Initramfs", &c(&flavor), width);
            for (i, f) in d.inject.iter().enumerate() {
                let text = format!("/{} <- {}", f.path, f.url);
                field(
                    &mut out,
                    if i == 0 { "Injected" } else { "" },
                    &c(&text),
                    width,
                );
            }
            if !d.modules.is_empty() {
                field(&mut out, "Modules", &c(&d.modules.join(", ")), width);
            }
            if d.secrets_on_cmdline {
                field(&mut out, "Secrets", "on the command line", width);
            }
        }
    }
    if let Some(k) = e.hotkey {
        field(&mut out, "Hotkey", &c(&k.to_string()), width);
    }
    if let Some(help) = &e.help {
        let text: Vec<String> = help.lines().map(clean).collect();
        field(&mut out, "Help", text.join("\n").trim(), width);
    }
    out
}

fn draw_details(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let w = area.width.saturating_sub(4).min(100);
    let inner_w = usize::from(w.saturating_sub(4));
    let mut lines = match app.selected_item() {
        Some(Item::Entry(e)) => entry_details(e, app.detected_flavor(&e.id), inner_w),
        Some(Item::Action(a)) => vec![Line::from(a.label().to_string())],
        None => vec![Line::from("Nothing selected.")],
    };
    let max = usize::from(area.height.saturating_sub(4));
    if lines.len() + 2 > max {
        lines.truncate(max.saturating_sub(3));
        lines.push(Line::from("..."));
    }
    lines.push(Line::from(""));
    lines.push(Line::from("Press any key to close."));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    draw_box(frame, centered(area, w, h), "Details", Color::Cyan, lines);
}

/// " (loaded)" or " (loading 12.0 MiB of 40.0 MiB)" after the countdown.
fn preload_text(p: crate::ui::app::Preload) -> String {
    match (p.done, p.total) {
        (true, _) => " (loaded)".to_string(),
        (false, Some(t)) if t > 0 => {
            format!(" (loading {} of {})", human_bytes(p.bytes), human_bytes(t))
        }
        (false, _) => format!(" (loading {})", human_bytes(p.bytes)),
    }
}

fn draw_error(frame: &mut Frame<'_>, error: &str, area: Rect) {
    let w = area.width.saturating_sub(4).min(64);
    let inner_w = usize::from(w.saturating_sub(4));
    let mut lines: Vec<Line> = wrap_text(error, inner_w)
        .into_iter()
        .map(|l| Line::styled(l, bold()))
        .collect();
    let max = usize::from(area.height.saturating_sub(4)).max(1);
    lines.truncate(max);
    lines.push(Line::from(""));
    lines.push(Line::from("Press any key to continue."));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    draw_box(frame, centered(area, w, h), "Error", Color::Red, lines);
}

fn draw_help_text(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let lines: Vec<Line> = help_lines(app)
        .into_iter()
        .take(usize::from(area.height))
        .map(|l| Line::styled(format!(" {l}"), Style::default().fg(Color::Cyan)))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_log_pane(frame: &mut Frame<'_>, app: &App, back: usize, area: Rect) {
    if area.height < 3 {
        return;
    }
    let rows = usize::from(area.height - 2);
    let n = app.log().len();
    let back = back.min(n.saturating_sub(rows));
    let end = n - back;
    let start = end.saturating_sub(rows);
    let title = if back > 0 {
        format!("Log {}-{} of {n} (PgUp/PgDn, Tab: close)", start + 1, end)
    } else {
        "Log (PgUp/PgDn, Tab: close)".to_string()
    };
    let lines: Vec<Line> = app
        .log()
        .skip(start)
        .take(end - start)
        .map(|l| {
            let style = if l.starts_with("error:") {
                Style::default().fg(Color::Red)
            } else if l.starts_with("warning:") {
                Style::default().fg(Color::Yellow)
            } else {
                Style::default()
            };
            Line::styled(l.to_string(), style)
        })
        .collect();
    let b = block(title);
    let inner = b.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(b, area);
    frame.render_widget(Paragraph::new(lines), inner);
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

/// The Wi-Fi screen's list: SSID, signal, security and band of each network in range.
fn draw_wifi(frame: &mut Frame<'_>, w: &crate::ui::app::WifiScreen, area: Rect) {
    let rows = usize::from(area.height.saturating_sub(2)).max(1);
    let start = (w.selected + 1).saturating_sub(rows);
    let width = usize::from(area.width.saturating_sub(4));
    let name_width = width.saturating_sub(30).max(8);
    let lines: Vec<Line> = w
        .networks
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(i, n)| {
            let name: String = n.title().chars().take(name_width).collect();
            let text = format!(
                "{name:<name_width$} {:>4} dBm  {:<9} {}",
                n.signal,
                n.security.label(),
                n.band
            );
            let text: String = text.chars().take(width).collect();
            if i == w.selected {
                Line::styled(format!("> {text}"), reversed())
            } else {
                Line::from(format!("  {text}"))
            }
        })
        .collect();
    let block = Block::bordered().title(" Wi-Fi networks ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_list(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let mut title = if app.menu().is_none() {
        "Waiting for a boot menu...".to_string()
    } else if app.at_top() {
        "Boot menu".to_string()
    } else {
        app.breadcrumb().join(" > ")
    };
    if let Some(f) = app.filter() {
        let q = f.editor.buffer.trim();
        if !q.is_empty() {
            title.push_str(&format!(" - filter '{q}'"));
            if !app.items().iter().any(|i| matches!(i, Item::Entry(_))) {
                title.push_str(": no match");
            }
        }
    }
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
    scrolled_line("kboot: ", editor, width)
}

/// `prefix text` on one line, scrolled horizontally so that the cursor stays visible.
fn scrolled_line(prefix: &str, editor: &LineEditor, width: u16) -> (String, u16) {
    let text: Vec<char> = prefix.chars().chain(editor.buffer.chars()).collect();
    let width = usize::from(width.max(1));
    let col = prefix.len() + editor.cursor.min(text.len() - prefix.len());
    let start = (col + 1).saturating_sub(width);
    let shown: String = text.iter().skip(start).take(width).collect();
    (shown, u16::try_from(col - start).unwrap_or(0))
}

fn draw_footer(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let lines: Vec<Line> = match app.mode() {
        Mode::Menu if app.filter().is_some_and(|f| f.editing) => {
            let editor = app.filter().map(|f| f.editor.clone()).unwrap_or_default();
            let (text, col) = scrolled_line("Filter: ", &editor, area.width);
            frame.set_cursor_position(Position::new(area.x + col, area.y));
            vec![Line::from(text)]
        }
        Mode::Menu => {
            if let Some((title, secs)) = app.countdown() {
                let loaded = app.preload().map(preload_text).unwrap_or_default();
                let long = format!("Booting '{title}' in {secs} s{loaded} - press any key to stop");
                let short = format!("Booting '{title}' in {secs} s{loaded}");
                let text = [long, short]
                    .into_iter()
                    .find(|t| t.chars().count() <= usize::from(area.width))
                    .unwrap_or_else(|| format!("Boot in {secs} s"));
                let mut lines = vec![Line::styled(
                    text,
                    Style::default()
                        .fg(Color::Yellow)
                        .add_modifier(Modifier::BOLD),
                )];
                if let Some(why) = app.countdown_warning() {
                    lines.push(Line::styled(
                        clean(&format!("Not signed: {why}")),
                        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                    ));
                }
                lines
            } else if app.at_top() && app.filter().is_none() {
                vec![Line::from(
                    "Enter: boot  e: edit  c: kboot: prompt  /: filter  Tab: log  ?: help",
                )]
            } else {
                vec![Line::from(
                    "Enter: boot  e: edit  c: prompt  Esc: back  /: filter  ?: help",
                )]
            }
        }
        Mode::Edit { .. } => vec![Line::from("Enter: boot  Esc: cancel  Ctrl-K: cut to end")],
        Mode::Wifi(w) => match (&w.passphrase, w.networks.get(w.selected)) {
            (Some(editor), Some(net)) => {
                // Masked: one `*` per character typed.
                let masked = LineEditor {
                    buffer: "*".repeat(editor.buffer.chars().count()),
                    cursor: editor.cursor,
                };
                let prefix = format!("Passphrase for {}: ", net.title());
                let (text, col) = scrolled_line(&prefix, &masked, area.width);
                frame.set_cursor_position(Position::new(area.x + col, area.y));
                vec![Line::from(text), Line::from("Enter: join  Esc: cancel")]
            }
            _ => vec![
                Line::styled(w.status.clone(), bold()),
                Line::from("Enter: join  r: scan again  Esc: back to the menu"),
            ],
        },
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
    out.push(Line::from(file_line(&p.url)));
    let rate = format!("{}/s", human_bytes(p.rate));
    let eta = match p.total {
        Some(total) if p.rate > 0 && total > p.bytes => {
            format!(", ETA {}", eta_text((total - p.bytes).div_ceil(p.rate)))
        }
        _ => String::new(),
    };
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
                "{} of {}, {rate}{eta}",
                human_bytes(p.bytes),
                human_bytes(total)
            )));
        }
        None => out.push(Line::from(format!("{}, {rate}", human_bytes(p.bytes)))),
    }
}

/// `vmlinuz from tftp://10.0.2.2/linux/`: the file name first, then where it comes from.
fn file_line(url: &str) -> String {
    let url = clean(url);
    let path_start = url.find("://").map_or(0, |i| i + 3);
    match url[path_start..].rfind('/') {
        Some(i) if path_start + i + 1 < url.len() => {
            let (dir, name) = url.split_at(path_start + i + 1);
            format!("{name} from {dir}")
        }
        _ => url,
    }
}

/// "7 s", "2 min 05 s", "1 h 02 min".
pub fn eta_text(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, secs / 60 % 60),
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

    #[test]
    fn the_wifi_screen_lists_networks_and_masks_the_passphrase() {
        use crate::net::wifi::Security;
        use crate::ui::app::WifiNetwork;
        use ratatui::crossterm::event::{KeyCode, KeyEvent};
        let mut app = App::new();
        app.on_key(KeyEvent::from(KeyCode::Char('w')));
        app.on_event(UiEvent::WifiScan(Ok(vec![WifiNetwork {
            ssid: b"Guest Net".to_vec(),
            signal: -41,
            security: Security::Wpa2Wpa3,
            band: "5 GHz",
        }])));
        let t = render(&app, 80, 24);
        let screen = lines(t.backend().buffer()).join("\n");
        assert!(screen.contains("Wi-Fi networks"), "{screen}");
        assert!(screen.contains("> Guest Net"), "{screen}");
        assert!(screen.contains("-41 dBm  WPA2/WPA3 5 GHz"), "{screen}");
        assert!(screen.contains("r: scan again"), "{screen}");
        app.on_key(KeyEvent::from(KeyCode::Enter));
        for c in "hunter22".chars() {
            app.on_key(KeyEvent::from(KeyCode::Char(c)));
        }
        let t = render(&app, 80, 24);
        let screen = lines(t.backend().buffer()).join("\n");
        assert!(
            screen.contains("Passphrase for Guest Net: ********"),
            "{screen}"
        );
        assert!(!screen.contains("hunter22"), "{screen}");
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
    fn an_unsigned_default_gets_a_red_line_under_the_countdown_and_details_say_why() {
        use crate::config::model::Signature;
        let mut menu = sample_menu();
        for e in &mut menu.entries {
            e.signature = Some(Signature::NotSigned("kboot.conf is not signed".into()));
        }
        let mut app = App::new();
        app.on_event(UiEvent::Menu {
            source: "tftp://10.0.2.2/kboot.conf".into(),
            menu: menu.clone(),
        });
        let t0 = Instant::now();
        app.on_tick(t0);
        let t = render(&app, 80, 24);
        let screen = lines(t.backend().buffer());
        let row = screen
            .iter()
            .position(|l| l.starts_with("Not signed: kboot.conf is not signed"))
            .unwrap_or_else(|| panic!("no warning line:\n{}", screen.join("\n")));
        assert!(screen[row - 1].starts_with("Booting 'linux' in 5 s"));
        assert_eq!(t.backend().buffer()[(0, row as u16)].fg, Color::Red);
        let e = &menu.entries[0];
        let details: Vec<String> = entry_details(e, None, 70)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert!(
            details
                .iter()
                .any(|l| l.contains("Signature") && l.contains("not signed: kboot.conf")),
            "{details:?}"
        );
        let mut signed = e.clone();
        signed.signature = Some(Signature::SignedBy("E7620F1842B4E81F".into()));
        let details: Vec<String> = entry_details(&signed, None, 70)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert!(
            details
                .iter()
                .any(|l| l.contains("signed by E7620F1842B4E81F")),
            "{details:?}"
        );
        // Signed (or not checked): no red line.
        let mut app = App::new();
        menu.entries[0].signature = Some(Signature::SignedBy("E7620F1842B4E81F".into()));
        app.on_event(UiEvent::Menu {
            source: "tftp://10.0.2.2/kboot.conf".into(),
            menu,
        });
        app.on_tick(t0);
        let screen = lines(render(&app, 80, 24).backend().buffer()).join("\n");
        assert!(!screen.contains("Not signed"), "{screen}");
    }

    #[test]
    fn the_countdown_shows_the_early_download() {
        let (mut app, t0) = app_with_menu();
        app.on_tick(t0 + Duration::from_millis(200));
        app.on_event(UiEvent::Preload(crate::ui::app::Preload {
            bytes: 3 * 1024 * 1024,
            total: Some(8 * 1024 * 1024),
            done: false,
        }));
        let line = |app: &App| {
            let t = render(app, 80, 24);
            let buf = t.backend().buffer();
            (0..80)
                .map(|x| buf[(x, 22)].symbol().to_string())
                .collect::<String>()
        };
        assert_eq!(
            line(&app).trim_end(),
            "Booting 'linux' in 5 s (loading 3.0 MiB of 8.0 MiB) - press any key to stop"
        );
        app.on_event(UiEvent::Preload(crate::ui::app::Preload {
            bytes: 8 * 1024 * 1024,
            total: Some(8 * 1024 * 1024),
            done: true,
        }));
        assert_eq!(
            line(&app).trim_end(),
            "Booting 'linux' in 5 s (loaded) - press any key to stop"
        );
        // Once the countdown is stopped, the download state is not shown any more.
        app.on_key(key(KeyCode::Down));
        assert!(!line(&app).contains("loaded"), "{}", line(&app));
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
            "vmlinuz from tftp://10.0.2.2/linux/",
            "[###########################..............................................]  37%",
            "3.0 MiB of 8.0 MiB, 1.5 MiB/s, ETA 4 s",
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
            "|       + Error -------------------------------------------------------+       |",
            "|       | TFTP server 10.0.2.2 said: file not found (rescue/vmlinuz).  |       |",
            "|       |                                                              |       |",
            "|       | Press any key to continue.                                   |       |",
            "|       +--------------------------------------------------------------+       |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "+------------------------------------------------------------------------------+",
            "Menu from tftp://10.0.2.2/kboot.conf: 2 entries",
            "Booting 'Rescue shell': tftp://10.0.2.2/rescue/vmlinuz",
            "error: TFTP server 10.0.2.2 said: file not found (rescue/vmlinuz).",
            "Enter: boot  e: edit  c: kboot: prompt  /: filter  Tab: log  ?: help",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
        // A red box; the menu under it is intact.
        assert_eq!(t.backend().buffer()[(8, 9)].fg, Color::Red);
        assert_eq!(t.backend().buffer()[(8, 10)].fg, Color::Red);
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
            "Enter: boot  e: edit  c: kboot: prompt  /: filter  Tab: log  ?: help",
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

    fn with_log(app: &mut App, n: usize) {
        for i in 0..n {
            app.on_event(UiEvent::Log(format!("dhcp: line {i}")));
        }
        app.on_event(UiEvent::Log(
            "warning: grub.cfg line 3: unknown command 'insmod2'".into(),
        ));
        app.on_event(UiEvent::Error("TFTP timeout".into()));
        app.on_key(key(KeyCode::Enter)); // close the error dialog
    }

    #[test]
    fn log_pane_bottom_half() {
        let (mut app, _) = app_with_menu();
        with_log(&mut app, 20);
        app.on_key(key(KeyCode::Tab));
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
            "+------------------------------------------------------------------------------+",
            "+ Log (PgUp/PgDn, Tab: close) -------------------------------------------------+",
            "|dhcp: line 14                                                                 |",
            "|dhcp: line 15                                                                 |",
            "|dhcp: line 16                                                                 |",
            "|dhcp: line 17                                                                 |",
            "|dhcp: line 18                                                                 |",
            "|dhcp: line 19                                                                 |",
            "|warning: grub.cfg line 3: unknown command 'insmod2'                           |",
            "|error: TFTP timeout                                                           |",
            "+------------------------------------------------------------------------------+",
            "Enter: boot  e: edit  c: kboot: prompt  /: filter  Tab: log  ?: help",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
    }

    #[test]
    fn log_pane_scrolled() {
        let (mut app, _) = app_with_menu();
        with_log(&mut app, 20);
        app.on_key(key(KeyCode::Tab));
        app.set_log_page_size(usize::from(log_rows(Rect::new(0, 0, 80, 24), &app)));
        app.on_key(key(KeyCode::PageUp));
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
            "+------------------------------------------------------------------------------+",
            "+ Log 8-15 of 23 (PgUp/PgDn, Tab: close) --------------------------------------+",
            "|dhcp: line 6                                                                  |",
            "|dhcp: line 7                                                                  |",
            "|dhcp: line 8                                                                  |",
            "|dhcp: line 9                                                                  |",
            "|dhcp: line 10                                                                 |",
            "|dhcp: line 11                                                                 |",
            "|dhcp: line 12                                                                 |",
            "|dhcp: line 13                                                                 |",
            "+------------------------------------------------------------------------------+",
            "Enter: boot  e: edit  c: kboot: prompt  /: filter  Tab: log  ?: help",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
    }

    #[test]
    fn log_pane_full_screen_when_small() {
        let (mut app, _) = app_with_menu();
        with_log(&mut app, 3);
        app.on_key(key(KeyCode::Tab));
        let t = render(&app, 40, 12);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu",
            "+ Log (PgUp/PgDn, Tab: close) ---------+",
            "|Menu from tftp://10.0.2.2/kboot.conf: |",
            "|dhcp: line 0                          |",
            "|dhcp: line 1                          |",
            "|dhcp: line 2                          |",
            "|warning: grub.cfg line 3: unknown comm|",
            "|error: TFTP timeout                   |",
            "|                                      |",
            "+--------------------------------------+",
            "Enter: boot  e: edit  c: kboot: prompt",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
    }

    #[test]
    fn help_overlay() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Char('?')));
        let t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                                 tftp://10.0.2.2/kboot.conf",
            "+ Boot menu -------------------------------------------------------------------+",
            "|>* linux                                                                      |",
            "|   Resc+ Keys --------------------------------------------------------+       |",
            "|   Ente| Up/Down PgUp/PgDn  move in the list                          |       |",
            "|   Rebo| Home/End           first/last item                           |       |",
            "|   Powe| Enter              boot the entry, open a submenu            |       |",
            "|       | Right              open a submenu                            |       |",
            "|       | Esc/Left           back: clear the filter, leave a submenu   |       |",
            "|       | 1-9, letters       select by number or hotkey                |       |",
            "|       | e                  edit the command line, then Enter         |       |",
            "|       | c                  kboot: prompt (Up/Down: history)          |       |",
            "|       | /                  filter by title (Enter: keep, Esc: clear) |       |",
            "|       | i, F2              entry details (i: unless a hotkey)        |       |",
            "|       | Tab                log pane (PgUp/PgDn scroll, Esc closes)   |       |",
            "|       | ?, F1              this help                                 |       |",
            "|       | Ctrl-A/E/K/U/W     editing: start/end/cut/cut/word           |       |",
            "|       | Esc, Ctrl-C        cancel editing or a download              |       |",
            "|       |                                                              |       |",
            "|       | Press any key to close.                                      |       |",
            "+-------+--------------------------------------------------------------+-------+",
            "Menu from tftp://10.0.2.2/kboot.conf: 2 entries",
            "Enter: boot  e: edit  c: kboot: prompt  /: filter  Tab: log  ?: help",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
    }

    fn detailed_menu() -> App {
        let mut app = App::new();
        let mut m = sample_menu();
        let e = &mut m.entries[0];
        e.cmdline = "console=ttyS0,115200n8 root=/dev/nfs nfsroot=10.0.2.2:/srv/nfs/debian,vers=4.2 ip=dhcp rw quiet splash".into();
        e.initrds.push("tftp://10.0.2.2/linux/extra.cpio.gz".into());
        e.devicetree = Some("tftp://10.0.2.2/linux/board.dtb".into());
        e.hotkey = Some('l');
        e.help =
            Some("Boots Debian from NFS.\nUse this one for the lab machines.\nThird line.".into());
        e.handoff = Handoff::Pxelinux(3);
        app.on_event(UiEvent::NetStatus("eth0 10.0.2.15/24 via 10.0.2.2".into()));
        app.on_event(UiEvent::Menu {
            source: "tftp://10.0.2.2/pxelinux.cfg/default".into(),
            menu: m,
        });
        app.on_key(key(KeyCode::Home)); // stop the countdown
        app
    }

    #[test]
    fn details_show_a_masked_diskless_root_and_how_the_flavour_is_chosen() {
        let e = Entry {
            id: "d".into(),
            kernel: Some("tftp://10.0.2.2/vmlinuz".into()),
            diskless: Some(crate::config::model::Diskless {
                root: "iscsi:joe:s3cret@10.0.2.2::::iqn.2026-11.x:root".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let text: String = entry_details(&e, None, 70)
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.to_string())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        assert!(text.contains("Diskless root"), "{text}");
        assert!(!text.contains("s3cret"), "the password leaked: {text}");
        assert!(text.contains("detected in the initrd"), "{text}");
        let mut e = e;
        if let Some(d) = e.diskless.as_mut() {
            d.inject.push(crate::config::model::Inject {
                path: "lib/modules/kboot/dummy.ko".into(),
                url: "tftp://10.0.2.2/dummy.ko".into(),
                mode: 0o644,
            });
            d.modules = vec!["dummy".into(), "nbd".into()];
        }
        let text: String = entry_details(&e, Some("initramfs-tools (detected in the initrd)"), 70)
            .iter()
            .flat_map(|l| l.spans.iter().map(|s| s.content.to_string()))
            .collect();
        assert!(
            text.contains("initramfs-tools (detected in the initrd)"),
            "{text}"
        );
        assert!(
            text.contains("/lib/modules/kboot/dummy.ko <- tftp://10.0.2.2/dummy.ko"),
            "{text}"
        );
        assert!(text.contains("dummy, nbd"), "{text}");
    }

    #[test]
    fn details_overlay() {
        let mut app = detailed_menu();
        app.on_key(key(KeyCode::F(2)));
        let t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                       tftp://10.0.2.2/pxelinux.cfg/default",
            "+ Boot menu -------------------------------------------------------------------+",
            "|>* linux                                                                      |",
            "| + Details -----------------------------------------------------------------+ |",
            "| | Title        linux                                                       | |",
            "| | Label        linux                                                       | |",
            "| | Kernel       tftp://10.0.2.2/linux/vmlinuz                               | |",
            "| | Initrd       tftp://10.0.2.2/linux/initrd.img                            | |",
            "| |              tftp://10.0.2.2/linux/extra.cpio.gz                         | |",
            "| | Device tree  tftp://10.0.2.2/linux/board.dtb                             | |",
            "| | Command line console=ttyS0,115200n8 root=/dev/nfs                        | |",
            "| |              nfsroot=10.0.2.2:/srv/nfs/debian,vers=4.2 ip=dhcp rw quiet  | |",
            "| |              splash                                                      | |",
            "| | Network      IPAPPEND 3: ip= and BOOTIF=                                 | |",
            "| | Hotkey       l                                                           | |",
            "| | Help         Boots Debian from NFS.                                      | |",
            "| |              Use this one for the lab machines.                          | |",
            "| |              Third line.                                                 | |",
            "+-|                                                                          |-+",
            " B| Press any key to close.                                                  |",
            " U+--------------------------------------------------------------------------+",
            "Menu from tftp://10.0.2.2/pxelinux.cfg/default: 2 entries",
            "Enter: boot  e: edit  c: kboot: prompt  /: filter  Tab: log  ?: help",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
    }

    #[test]
    fn entry_help_text_under_the_list() {
        let app = detailed_menu();
        let t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                       tftp://10.0.2.2/pxelinux.cfg/default",
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
            "+------------------------------------------------------------------------------+",
            " Boots Debian from NFS.",
            " Use this one for the lab machines.",
            "Menu from tftp://10.0.2.2/pxelinux.cfg/default: 2 entries",
            "Enter: boot  e: edit  c: kboot: prompt  /: filter  Tab: log  ?: help",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
        let screen = lines(render(&app, 40, 12).backend().buffer());
        assert_eq!(screen[9].trim_end(), " Boots Debian from NFS.");
    }

    #[test]
    fn filter_line_and_kept_filter() {
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Char('/')));
        type_str(&mut app, "resc");
        let mut t = render(&app, 80, 24);
        #[rustfmt::skip]
        assert_screen(&t, &[
            "kboot - Lab boot menu                                 tftp://10.0.2.2/kboot.conf",
            "+ Boot menu - filter 'resc' ---------------------------------------------------+",
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
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "|                                                                              |",
            "+------------------------------------------------------------------------------+",
            "Menu from tftp://10.0.2.2/kboot.conf: 2 entries",
            "Filter: resc",
            " eth0 10.0.2.15/24 via 10.0.2.2",
        ]);
        t.backend_mut().assert_cursor_position((12, 22));
        app.on_key(key(KeyCode::Enter));
        let screen = lines(render(&app, 80, 24).backend().buffer());
        assert!(
            screen[1].starts_with("+ Boot menu - filter 'resc' ---"),
            "{screen:#?}"
        );
        assert!(screen[22].starts_with("Enter: boot  e: edit  c: prompt  Esc: back"));
        app.on_key(key(KeyCode::Char('/')));
        type_str(&mut app, "x");
        let screen = lines(render(&app, 80, 24).backend().buffer());
        assert!(
            screen[1].starts_with("+ Boot menu - filter 'rescx': no match ---"),
            "{screen:#?}"
        );
    }

    #[test]
    fn progress_eta_and_file_name() {
        assert_eq!(eta_text(0), "0 s");
        assert_eq!(eta_text(59), "59 s");
        assert_eq!(eta_text(125), "2 min 05 s");
        assert_eq!(eta_text(3725), "1 h 02 min");
        assert_eq!(
            file_line("tftp://10.0.2.2/a/vmlinuz"),
            "vmlinuz from tftp://10.0.2.2/a/"
        );
        assert_eq!(file_line("http://host"), "http://host");
        assert_eq!(file_line("http://host/dir/"), "http://host/dir/");
        assert_eq!(file_line("/local/file"), "file from /local/");
        let (mut app, _) = app_with_menu();
        app.on_key(key(KeyCode::Enter));
        app.on_event(UiEvent::Progress(Progress {
            url: "http://10.0.2.2/big.iso".into(),
            bytes: 100 << 20,
            total: Some(700 << 20),
            rate: 2 << 20,
        }));
        let screen = lines(render(&app, 80, 24).backend().buffer());
        assert_eq!(screen[20].trim_end(), "big.iso from http://10.0.2.2/");
        assert_eq!(
            screen[22].trim_end(),
            "100.0 MiB of 700.0 MiB, 2.0 MiB/s, ETA 5 min 00 s"
        );
        // Done or stalled: no ETA.
        app.on_event(progress(8 << 20, Some(8 << 20)));
        let screen = lines(render(&app, 80, 24).backend().buffer());
        assert_eq!(screen[22].trim_end(), "8.0 MiB of 8.0 MiB, 1.5 MiB/s");
    }

    #[test]
    fn word_wrap() {
        assert_eq!(wrap_text("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap_text("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap_text("", 4), vec![""]);
        assert_eq!(wrap_text("x\ny", 0), vec!["x", "y"]);
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
        let mut a = detailed_menu();
        for k in [KeyCode::Tab, KeyCode::PageUp] {
            a.on_key(key(k));
        }
        apps.push(a.clone());
        for k in [KeyCode::Tab, KeyCode::Char('?')] {
            a.on_key(key(k));
        }
        apps.push(a.clone());
        a.on_key(key(KeyCode::Esc));
        a.on_key(key(KeyCode::Char('i')));
        apps.push(a.clone());
        a.on_key(key(KeyCode::Esc));
        a.on_key(key(KeyCode::Char('/')));
        type_str(&mut a, &"q".repeat(200));
        apps.push(a.clone());
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
