//! The menu state machine: events and keys in, commands out. No terminal here, so all of it is
//! unit-testable with synthetic keys and instants.
//!
//! Nothing in here may panic on anything the user or the network sends: indices are clamped,
//! strings are edited by char boundaries.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{UiCommand, UiEvent};
use crate::boot::BootSpec;
use crate::config::model::Action as ConfigAction;
use crate::config::{Entry, Menu};
use crate::fetch::Progress;

/// How many log lines the ring keeps.
pub const LOG_CAPACITY: usize = 200;

/// The fixed actions at the end of every list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Prompt,
    Reboot,
    PowerOff,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Prompt, Action::Reboot, Action::PowerOff];

    pub fn label(self) -> &'static str {
        match self {
            Action::Prompt => "Enter a kernel URL (kboot: prompt)",
            Action::Reboot => "Reboot",
            Action::PowerOff => "Power off",
        }
    }
}

/// One row of the visible list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Entry(&'a Entry),
    Action(Action),
}

/// A one-line editor: `cursor` counts chars, not bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineEditor {
    pub buffer: String,
    pub cursor: usize,
}

impl LineEditor {
    /// An editor holding `text`, the cursor at its end.
    pub fn new(text: &str) -> Self {
        LineEditor {
            buffer: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    fn len(&self) -> usize {
        self.buffer.chars().count()
    }

    /// Byte offset of char index `i` (clamped to the end).
    fn byte_at(&self, i: usize) -> usize {
        self.buffer
            .char_indices()
            .nth(i)
            .map(|(b, _)| b)
            .unwrap_or(self.buffer.len())
    }

    /// Apply an editing key. Returns false when the key is not an editing key.
    pub fn on_key(&mut self, key: &KeyEvent) -> bool {
        self.cursor = self.cursor.min(self.len());
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.len(),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Char(c) if ctrl => match c.to_ascii_lowercase() {
                'a' => self.cursor = 0,
                'e' => self.cursor = self.len(),
                'b' => self.cursor = self.cursor.saturating_sub(1),
                'f' => self.cursor = (self.cursor + 1).min(self.len()),
                'h' => self.backspace(),
                'd' => self.delete(),
                'k' => {
                    let b = self.byte_at(self.cursor);
                    self.buffer.truncate(b);
                }
                'u' => {
                    let b = self.byte_at(self.cursor);
                    self.buffer.replace_range(..b, "");
                    self.cursor = 0;
                }
                'w' => self.delete_word_back(),
                _ => return false,
            },
            // Printable ASCII only: the VGA console font and serial lines have nothing else,
            // and kernel command lines and URLs are ASCII.
            KeyCode::Char(c) if (' '..='~').contains(&c) => {
                let b = self.byte_at(self.cursor);
                self.buffer.insert(b, c);
                self.cursor += 1;
            }
            _ => return false,
        }
        true
    }

    fn backspace(&mut self) {
        if self.cursor > 0 {
            let start = self.byte_at(self.cursor - 1);
            let end = self.byte_at(self.cursor);
            self.buffer.replace_range(start..end, "");
            self.cursor -= 1;
        }
    }

    fn delete(&mut self) {
        if self.cursor < self.len() {
            let start = self.byte_at(self.cursor);
            let end = self.byte_at(self.cursor + 1);
            self.buffer.replace_range(start..end, "");
        }
    }

    fn delete_word_back(&mut self) {
        let chars: Vec<char> = self.buffer.chars().collect();
        let mut i = self.cursor.min(chars.len());
        while i > 0 && chars[i - 1] == ' ' {
            i -= 1;
        }
        while i > 0 && chars[i - 1] != ' ' {
            i -= 1;
        }
        let start = self.byte_at(i);
        let end = self.byte_at(self.cursor);
        self.buffer.replace_range(start..end, "");
        self.cursor = i;
    }
}

/// What the screen is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Browsing the list.
    Menu,
    /// Editing the command line of `base` (its `cmdline` is the original).
    Edit { base: BootSpec, editor: LineEditor },
    /// At the `kboot:` prompt.
    Prompt { editor: LineEditor },
    /// A command was sent; waiting for progress, an error, or the end.
    Busy {
        title: String,
        progress: Option<Progress>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Countdown {
    /// No countdown (none configured, stopped by a key, or already fired).
    Off,
    /// A menu asked for one; the deadline is set on the next tick.
    Pending(Duration),
    Running {
        deadline: Instant,
    },
}

/// The whole menu state.
#[derive(Debug, Clone)]
pub struct App {
    menu: Option<Menu>,
    source: Option<String>,
    /// The default entry when the config hides it (pxelinux MENU HIDE): not listed, still
    /// booted when the countdown ends.
    hidden_default: Option<Entry>,
    /// Indices of the submenus entered, from the top level down.
    path: Vec<usize>,
    selected: usize,
    mode: Mode,
    countdown: Countdown,
    /// Set by the first key or command: no countdown will start again.
    countdown_stopped: bool,
    boot_immediately: bool,
    now: Option<Instant>,
    status: String,
    error: Option<String>,
    log: VecDeque<String>,
    page_size: usize,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    pub fn new() -> Self {
        App {
            menu: None,
            hidden_default: None,
            source: None,
            path: Vec::new(),
            selected: 0,
            mode: Mode::Menu,
            countdown: Countdown::Off,
            countdown_stopped: false,
            boot_immediately: false,
            now: None,
            status: String::new(),
            error: None,
            log: VecDeque::new(),
            page_size: 10,
        }
    }

    /// Boot the default as soon as a menu arrives, ignoring its timeout (unless a key was pressed).
    pub fn set_boot_immediately(&mut self, on: bool) {
        self.boot_immediately = on;
    }

    /// Rows moved by PageUp/PageDown (the view's list height).
    pub fn set_page_size(&mut self, rows: usize) {
        self.page_size = rows.max(1);
    }

    // ---- read access for the view ----

    pub fn menu(&self) -> Option<&Menu> {
        self.menu.as_ref()
    }

    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn selected(&self) -> usize {
        self.selected
    }

    pub fn status(&self) -> &str {
        &self.status
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn log(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.log.iter().map(String::as_str)
    }

    /// True at the top level (where the default entry lives).
    pub fn at_top(&self) -> bool {
        self.path.is_empty()
    }

    /// Titles of the submenus entered, for a breadcrumb.
    pub fn breadcrumb(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut entries: &[Entry] = self.menu.as_ref().map_or(&[], |m| &m.entries);
        for &i in &self.path {
            match entries.get(i) {
                Some(e) => {
                    out.push(entry_title(e));
                    entries = &e.children;
                }
                None => break,
            }
        }
        out
    }

    /// Index of the default entry in the visible list, when at the top level with a menu.
    pub fn default_index(&self) -> Option<usize> {
        match &self.menu {
            Some(m) if self.path.is_empty() && !m.entries.is_empty() => Some(m.default_index()),
            _ => None,
        }
    }

    /// The config entries at the current level.
    fn level_entries(&self) -> &[Entry] {
        let mut entries: &[Entry] = self.menu.as_ref().map_or(&[], |m| &m.entries);
        for &i in &self.path {
            match entries.get(i) {
                Some(e) => entries = &e.children,
                None => return &[],
            }
        }
        entries
    }

    /// The visible list: entries of the current level, then the fixed actions.
    pub fn items(&self) -> Vec<Item<'_>> {
        self.level_entries()
            .iter()
            .map(Item::Entry)
            .chain(Action::ALL.iter().copied().map(Item::Action))
            .collect()
    }

    fn item_count(&self) -> usize {
        self.level_entries().len() + Action::ALL.len()
    }

    /// The running countdown: title of the default entry and whole seconds left (rounded up).
    pub fn countdown(&self) -> Option<(&str, u64)> {
        let left = match self.countdown {
            Countdown::Off => return None,
            Countdown::Pending(d) => d,
            Countdown::Running { deadline } => match self.now {
                Some(now) => deadline.saturating_duration_since(now),
                None => return None,
            },
        };
        let menu = self.menu.as_ref()?;
        let entry = menu.entries.get(menu.default_index())?;
        let ms = left.as_millis();
        let secs = u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX);
        Some((entry_title(entry), secs))
    }

    // ---- inputs ----

    fn push_log(&mut self, line: String) {
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    fn stop_countdown(&mut self) {
        self.countdown = Countdown::Off;
        self.countdown_stopped = true;
    }

    /// Something from the workers.
    pub fn on_event(&mut self, event: UiEvent) {
        match event {
            UiEvent::NetStatus(s) => self.status = one_line(&s),
            UiEvent::Log(s) => self.push_log(one_line(&s)),
            UiEvent::Progress(p) => {
                if let Mode::Busy { progress, .. } = &mut self.mode {
                    *progress = Some(p);
                }
            }
            UiEvent::Error(e) => {
                let e = one_line(&e);
                self.push_log(format!("error: {e}"));
                self.error = Some(e);
                if matches!(self.mode, Mode::Busy { .. }) {
                    self.mode = Mode::Menu;
                }
            }
            UiEvent::Ready => {
                if matches!(self.mode, Mode::Busy { .. }) {
                    self.mode = Mode::Menu;
                }
            }
            UiEvent::Menu { source, menu } => self.set_menu(source, menu),
        }
    }

    fn set_menu(&mut self, source: String, mut menu: Menu) {
        // Hidden entries are not listed; a hidden default is kept aside for the countdown.
        self.hidden_default = menu
            .entries
            .get(menu.default_index())
            .filter(|e| e.hidden)
            .cloned();
        strip_hidden(&mut menu.entries);
        if self.hidden_default.is_some() {
            menu.default = None;
        }
        // What was selected, to find it again in the new menu.
        let old_items = self.item_count();
        let old_entries = old_items - Action::ALL.len();
        let old_action = self.selected.checked_sub(old_entries);
        let old_top_id = self
            .path
            .first()
            .copied()
            .or((old_action.is_none()).then_some(self.selected))
            .and_then(|i| self.menu.as_ref()?.entries.get(i))
            .map(|e| e.id.clone());

        self.push_log(format!(
            "Menu from {source}: {} entries",
            menu.entries.len()
        ));
        for w in &menu.warnings {
            self.push_log(format!("warning: {}", one_line(w)));
        }
        self.path.clear();
        let n = menu.entries.len();
        let default = menu.default_index();
        let keep = self.countdown_stopped;
        self.selected = if !keep {
            default
        } else if let Some(a) = old_action.filter(|&a| a < Action::ALL.len()) {
            n + a
        } else if let Some(i) =
            old_top_id.and_then(|id| menu.entries.iter().position(|e| e.id == id))
        {
            i
        } else {
            default
        };
        self.selected = self.selected.min(n + Action::ALL.len() - 1);

        self.countdown = if self.countdown_stopped || n == 0 {
            Countdown::Off
        } else if self.boot_immediately {
            Countdown::Pending(Duration::ZERO)
        } else {
            match menu.timeout_ms {
                Some(ms) => Countdown::Pending(Duration::from_millis(ms)),
                None => Countdown::Off,
            }
        };
        self.menu = Some(menu);
        self.source = Some(source);
    }

    /// Time passes: starts and expires the countdown.
    pub fn on_tick(&mut self, now: Instant) -> Option<UiCommand> {
        self.now = Some(now);
        match self.countdown {
            Countdown::Off => None,
            Countdown::Pending(d) => {
                let deadline = now.checked_add(d).unwrap_or(now);
                self.countdown = Countdown::Running { deadline };
                if d.is_zero() {
                    self.expire()
                } else {
                    None
                }
            }
            Countdown::Running { deadline } if now >= deadline => self.expire(),
            Countdown::Running { .. } => None,
        }
    }

    fn expire(&mut self) -> Option<UiCommand> {
        self.stop_countdown();
        if !matches!(self.mode, Mode::Menu) {
            return None;
        }
        let entry = match &self.hidden_default {
            Some(e) => e.clone(),
            None => {
                let menu = self.menu.as_ref()?;
                menu.entries.get(menu.default_index())?.clone()
            }
        };
        self.boot_entry(&entry)
    }

    fn boot_entry(&mut self, entry: &Entry) -> Option<UiCommand> {
        if let Some(action) = &entry.action {
            return self.entry_action(entry, action.clone());
        }
        match spec_of(entry) {
            Some(spec) => Some(self.start(spec)),
            None => {
                self.error = Some(format!("'{}' has no kernel to boot.", entry_title(entry)));
                None
            }
        }
    }

    /// An entry that is not a kernel: leave a submenu, chain to a config, reboot, ...
    fn entry_action(&mut self, entry: &Entry, action: ConfigAction) -> Option<UiCommand> {
        self.stop_countdown();
        let busy = |app: &mut App, title: &str, cmd: UiCommand| {
            app.push_log(format!("{title}..."));
            app.mode = Mode::Busy {
                title: title.to_string(),
                progress: None,
            };
            Some(cmd)
        };
        match action {
            ConfigAction::Exit => {
                if let Some(i) = self.path.pop() {
                    self.selected = i;
                }
                None
            }
            ConfigAction::Reboot => busy(self, "Rebooting", UiCommand::Reboot),
            ConfigAction::PowerOff => busy(self, "Powering off", UiCommand::PowerOff),
            ConfigAction::Chain(url) => {
                let title = format!("Loading {url}");
                busy(self, &title, UiCommand::LoadConfig(url))
            }
            ConfigAction::LocalBoot => {
                self.error = Some(format!(
                    "'{}' asks to boot from the local disk: kboot cannot hand back to the firmware; choose Reboot and boot the disk from the firmware menu.",
                    entry_title(entry)
                ));
                None
            }
        }
    }

    /// Send a Boot command and show its progress.
    fn start(&mut self, spec: BootSpec) -> UiCommand {
        self.stop_countdown();
        self.push_log(format!("Booting '{}': {}", spec.title, spec.kernel));
        self.mode = Mode::Busy {
            title: spec.title.clone(),
            progress: None,
        };
        UiCommand::Boot(spec)
    }

    /// A key from the console.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<UiCommand> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        self.stop_countdown();
        self.error = None;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let cancel = key.code == KeyCode::Esc || (ctrl && key.code == KeyCode::Char('c'));
        match std::mem::replace(&mut self.mode, Mode::Menu) {
            Mode::Menu => self.on_menu_key(key),
            Mode::Busy { title, progress } => {
                if cancel {
                    self.push_log(format!("Cancelled '{title}'."));
                    Some(UiCommand::Cancel)
                } else {
                    self.mode = Mode::Busy { title, progress };
                    None
                }
            }
            Mode::Edit { base, mut editor } => {
                if cancel {
                    None
                } else if key.code == KeyCode::Enter {
                    let spec = BootSpec {
                        cmdline: editor.buffer.trim().to_string(),
                        ..base
                    };
                    Some(self.start(spec))
                } else {
                    editor.on_key(&key);
                    self.mode = Mode::Edit { base, editor };
                    None
                }
            }
            Mode::Prompt { mut editor } => {
                if cancel {
                    None
                } else if key.code == KeyCode::Enter {
                    let text = editor.buffer.trim().to_string();
                    if text.is_empty() {
                        self.mode = Mode::Prompt { editor };
                        return None;
                    }
                    self.stop_countdown();
                    self.push_log(format!("kboot: {text}"));
                    self.mode = Mode::Busy {
                        title: text.clone(),
                        progress: None,
                    };
                    Some(UiCommand::Prompt(text))
                } else {
                    editor.on_key(&key);
                    self.mode = Mode::Prompt { editor };
                    None
                }
            }
        }
    }

    fn on_menu_key(&mut self, key: KeyEvent) -> Option<UiCommand> {
        let last = self.item_count().saturating_sub(1);
        self.selected = self.selected.min(last);
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match key.code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => self.selected = (self.selected + 1).min(last),
            KeyCode::Home => self.selected = 0,
            KeyCode::End => self.selected = last,
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(self.page_size),
            KeyCode::PageDown => self.selected = (self.selected + self.page_size).min(last),
            KeyCode::Esc | KeyCode::Left => {
                if let Some(i) = self.path.pop() {
                    self.selected = i;
                }
            }
            KeyCode::Enter | KeyCode::Right => return self.activate(key.code == KeyCode::Enter),
            KeyCode::Char('e') if plain => self.edit_selected(),
            KeyCode::Char('c') if plain => {
                self.mode = Mode::Prompt {
                    editor: LineEditor::default(),
                }
            }
            KeyCode::Char(c) if plain => {
                self.select_hotkey(c);
            }
            _ => {}
        }
        None
    }

    /// Enter on the selected item (Right only opens submenus).
    fn activate(&mut self, enter: bool) -> Option<UiCommand> {
        let item = self.items().get(self.selected).copied()?;
        match item {
            Item::Entry(e) if !e.children.is_empty() => {
                self.path.push(self.selected);
                self.selected = 0;
                None
            }
            Item::Entry(_) | Item::Action(_) if !enter => None,
            Item::Entry(e) => {
                let e = e.clone();
                self.boot_entry(&e)
            }
            Item::Action(Action::Prompt) => {
                self.mode = Mode::Prompt {
                    editor: LineEditor::default(),
                };
                None
            }
            Item::Action(a @ (Action::Reboot | Action::PowerOff)) => {
                let (title, cmd) = match a {
                    Action::Reboot => ("Rebooting", UiCommand::Reboot),
                    _ => ("Powering off", UiCommand::PowerOff),
                };
                self.push_log(format!("{title}..."));
                self.mode = Mode::Busy {
                    title: title.to_string(),
                    progress: None,
                };
                Some(cmd)
            }
        }
    }

    /// A hotkey (pxelinux `^x`, iPXE `--key`) or a digit 1-9 selects that entry of the current
    /// level (Enter then boots it). `e` and `c` stay kboot's keys (edit, prompt) even when an
    /// entry claims them as hotkeys.
    fn select_hotkey(&mut self, c: char) -> bool {
        let wanted = c.to_ascii_lowercase();
        let entries = self.level_entries();
        let hit = entries
            .iter()
            .position(|e| e.hotkey.map(|h| h.to_ascii_lowercase()) == Some(wanted))
            .or_else(|| {
                let n = c.to_digit(10)? as usize;
                (1..=entries.len().min(9)).contains(&n).then(|| n - 1)
            });
        match hit {
            Some(i) => {
                self.selected = i;
                true
            }
            None => false,
        }
    }

    fn edit_selected(&mut self) {
        let spec = match self.items().get(self.selected) {
            Some(Item::Entry(e)) => spec_of(e),
            _ => None,
        };
        match spec {
            Some(base) => {
                self.mode = Mode::Edit {
                    editor: LineEditor::new(&base.cmdline),
                    base,
                }
            }
            None => self.error = Some("Only an entry with a kernel can be edited.".to_string()),
        }
    }
}

/// Drop hidden entries at every level.
fn strip_hidden(entries: &mut Vec<Entry>) {
    entries.retain(|e| !e.hidden);
    for e in entries {
        strip_hidden(&mut e.children);
    }
}

/// The title shown for an entry (its label when it has no title).
pub fn entry_title(e: &Entry) -> &str {
    if e.title.trim().is_empty() {
        &e.id
    } else {
        &e.title
    }
}

fn spec_of(e: &Entry) -> Option<BootSpec> {
    if !e.children.is_empty() {
        return None;
    }
    Some(BootSpec {
        title: entry_title(e).to_string(),
        kernel: e.kernel.clone()?,
        initrds: e.initrds.clone(),
        cmdline: e.cmdline.clone(),
    })
}

/// Control characters (newlines, escapes from a hostile server) never reach the terminal.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    pub(crate) fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    pub(crate) fn entry(id: &str, title: &str, cmdline: &str) -> Entry {
        Entry {
            id: id.into(),
            title: title.into(),
            kernel: Some(format!("tftp://10.0.2.2/{id}/vmlinuz")),
            initrds: vec![format!("tftp://10.0.2.2/{id}/initrd.img")],
            cmdline: cmdline.into(),
            children: vec![],
            ..Default::default()
        }
    }

    pub(crate) fn sample_menu() -> Menu {
        Menu {
            title: Some("Lab boot menu".into()),
            default: Some("linux".into()),
            timeout_ms: Some(5000),
            entries: vec![
                entry("linux", "linux", "console=ttyS0 quiet"),
                entry("rescue", "Rescue shell", "console=ttyS0 single"),
            ],
            warnings: vec![],
            ..Default::default()
        }
    }

    pub(crate) fn type_str(app: &mut App, s: &str) {
        for c in s.chars() {
            assert_eq!(app.on_key(key(KeyCode::Char(c))), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    fn with_menu() -> (App, Instant) {
        let mut app = App::new();
        app.on_event(UiEvent::Menu {
            source: "tftp://10.0.2.2/kboot.conf".into(),
            menu: sample_menu(),
        });
        let t0 = Instant::now();
        assert_eq!(app.on_tick(t0), None);
        (app, t0)
    }

    fn boot_of(cmd: Option<UiCommand>) -> BootSpec {
        match cmd {
            Some(UiCommand::Boot(spec)) => spec,
            other => panic!("expected Boot, got {other:?}"),
        }
    }

    #[test]
    fn countdown_expiry_boots_default() {
        let (mut app, t0) = with_menu();
        assert_eq!(app.countdown(), Some(("linux", 5)));
        assert_eq!(app.on_tick(t0 + Duration::from_millis(4100)), None);
        assert_eq!(app.countdown(), Some(("linux", 1)));
        let spec = boot_of(app.on_tick(t0 + Duration::from_millis(5000)));
        assert_eq!(spec.title, "linux");
        assert_eq!(spec.kernel, "tftp://10.0.2.2/linux/vmlinuz");
        assert_eq!(spec.initrds, vec!["tftp://10.0.2.2/linux/initrd.img"]);
        assert_eq!(spec.cmdline, "console=ttyS0 quiet");
        assert!(matches!(app.mode(), Mode::Busy { .. }));
        // Fires once only.
        assert_eq!(app.on_tick(t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn any_key_cancels_countdown() {
        let (mut app, t0) = with_menu();
        assert_eq!(app.on_key(key(KeyCode::Char('x'))), None);
        assert_eq!(app.countdown(), None);
        assert_eq!(app.on_tick(t0 + Duration::from_secs(60)), None);
        assert_eq!(app.mode(), &Mode::Menu);
    }

    #[test]
    fn no_timeout_means_wait_forever() {
        let mut app = App::new();
        let mut menu = sample_menu();
        menu.timeout_ms = None;
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu,
        });
        let t0 = Instant::now();
        assert_eq!(app.on_tick(t0), None);
        assert_eq!(app.on_tick(t0 + Duration::from_secs(3600)), None);
        assert_eq!(app.countdown(), None);
    }

    #[test]
    fn boot_immediately_ignores_timeout() {
        let mut app = App::new();
        app.set_boot_immediately(true);
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: sample_menu(),
        });
        let spec = boot_of(app.on_tick(Instant::now()));
        assert_eq!(spec.title, "linux");
    }

    #[test]
    fn down_enter_boots_second_entry() {
        let (mut app, _) = with_menu();
        assert_eq!(app.on_key(key(KeyCode::Down)), None);
        let spec = boot_of(app.on_key(key(KeyCode::Enter)));
        assert_eq!(spec.title, "Rescue shell");
        assert_eq!(spec.cmdline, "console=ttyS0 single");
    }

    #[test]
    fn navigation_is_clamped() {
        let (mut app, _) = with_menu();
        app.on_key(key(KeyCode::Up));
        app.on_key(key(KeyCode::Up));
        assert_eq!(app.selected(), 0);
        app.on_key(key(KeyCode::PageDown));
        assert_eq!(app.selected(), 4);
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.selected(), 4);
        app.on_key(key(KeyCode::Home));
        assert_eq!(app.selected(), 0);
        app.on_key(key(KeyCode::End));
        assert_eq!(app.items()[app.selected()], Item::Action(Action::PowerOff));
        assert_eq!(app.on_key(key(KeyCode::Enter)), Some(UiCommand::PowerOff));
    }

    #[test]
    fn edit_appends_and_boots() {
        let (mut app, _) = with_menu();
        assert_eq!(app.on_key(key(KeyCode::Char('e'))), None);
        assert!(matches!(app.mode(), Mode::Edit { .. }));
        assert_eq!(app.on_key(key(KeyCode::End)), None);
        type_str(&mut app, " kboot_test=edited");
        let spec = boot_of(app.on_key(key(KeyCode::Enter)));
        assert_eq!(spec.title, "linux");
        assert_eq!(spec.cmdline, "console=ttyS0 quiet kboot_test=edited");
        assert_eq!(spec.kernel, "tftp://10.0.2.2/linux/vmlinuz");
    }

    #[test]
    fn edit_keys() {
        let (mut app, _) = with_menu();
        app.on_key(key(KeyCode::Char('e')));
        app.on_key(ctrl('u')); // delete before cursor (all)
        type_str(&mut app, "ac");
        app.on_key(key(KeyCode::Left));
        type_str(&mut app, "b");
        app.on_key(key(KeyCode::Home));
        app.on_key(key(KeyCode::Delete));
        app.on_key(ctrl('e'));
        app.on_key(key(KeyCode::Backspace));
        type_str(&mut app, "XYZ");
        app.on_key(ctrl('a'));
        app.on_key(key(KeyCode::Right));
        app.on_key(ctrl('k'));
        match app.mode() {
            Mode::Edit { editor, .. } => {
                assert_eq!(editor.buffer, "b");
                assert_eq!(editor.cursor, 1);
            }
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn esc_cancels_edit() {
        let (mut app, t0) = with_menu();
        app.on_key(key(KeyCode::Char('e')));
        type_str(&mut app, " junk");
        assert_eq!(app.on_key(key(KeyCode::Esc)), None);
        assert_eq!(app.mode(), &Mode::Menu);
        // The original entry is untouched and the countdown stays off.
        assert_eq!(app.on_tick(t0 + Duration::from_secs(60)), None);
        let spec = boot_of(app.on_key(key(KeyCode::Enter)));
        assert_eq!(spec.cmdline, "console=ttyS0 quiet");
    }

    #[test]
    fn edit_of_action_is_an_error() {
        let (mut app, _) = with_menu();
        app.on_key(key(KeyCode::End));
        app.on_key(key(KeyCode::Char('e')));
        assert_eq!(app.mode(), &Mode::Menu);
        assert!(app.error().is_some());
        app.on_key(key(KeyCode::Up));
        assert_eq!(app.error(), None);
    }

    #[test]
    fn prompt_sends_text() {
        let (mut app, _) = with_menu();
        assert_eq!(app.on_key(key(KeyCode::Char('c'))), None);
        assert!(matches!(app.mode(), Mode::Prompt { .. }));
        type_str(&mut app, "tftp://10.0.2.2/vmlinuz console=ttyS0");
        assert_eq!(
            app.on_key(key(KeyCode::Enter)),
            Some(UiCommand::Prompt(
                "tftp://10.0.2.2/vmlinuz console=ttyS0".into()
            ))
        );
        assert!(matches!(app.mode(), Mode::Busy { .. }));
    }

    #[test]
    fn prompt_esc_and_empty_enter() {
        let (mut app, _) = with_menu();
        app.on_key(key(KeyCode::Char('c')));
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert!(matches!(app.mode(), Mode::Prompt { .. }));
        type_str(&mut app, "abc");
        assert_eq!(app.on_key(key(KeyCode::Esc)), None);
        assert_eq!(app.mode(), &Mode::Menu);
    }

    #[test]
    fn error_ends_busy_and_shows_until_key() {
        let (mut app, _) = with_menu();
        boot_of(app.on_key(key(KeyCode::Enter)));
        app.on_event(UiEvent::Error("TFTP server said: file not found.".into()));
        assert_eq!(app.mode(), &Mode::Menu);
        assert_eq!(app.error(), Some("TFTP server said: file not found."));
        assert!(app.log().any(|l| l.contains("file not found")));
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.error(), None);
        assert_eq!(app.selected(), 1);
    }

    #[test]
    fn progress_shown_while_busy_and_esc_cancels() {
        let (mut app, _) = with_menu();
        // Ignored while not busy.
        let p = Progress {
            url: "tftp://10.0.2.2/linux/vmlinuz".into(),
            bytes: 1 << 20,
            total: Some(4 << 20),
            rate: 1 << 20,
        };
        app.on_event(UiEvent::Progress(p.clone()));
        assert_eq!(app.mode(), &Mode::Menu);
        boot_of(app.on_key(key(KeyCode::Enter)));
        app.on_event(UiEvent::Progress(p.clone()));
        assert_eq!(
            app.mode(),
            &Mode::Busy {
                title: "linux".into(),
                progress: Some(p)
            }
        );
        assert_eq!(app.on_key(key(KeyCode::Down)), None);
        assert_eq!(app.on_key(key(KeyCode::Esc)), Some(UiCommand::Cancel));
        assert_eq!(app.mode(), &Mode::Menu);
    }

    #[test]
    fn no_config_yet_shows_actions_and_prompt_works() {
        let mut app = App::new();
        assert_eq!(app.on_tick(Instant::now()), None);
        assert_eq!(
            app.items(),
            vec![
                Item::Action(Action::Prompt),
                Item::Action(Action::Reboot),
                Item::Action(Action::PowerOff)
            ]
        );
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert!(matches!(app.mode(), Mode::Prompt { .. }));
        app.on_key(key(KeyCode::Esc));
        app.on_key(key(KeyCode::Char('c')));
        type_str(&mut app, "linux");
        assert_eq!(
            app.on_key(key(KeyCode::Enter)),
            Some(UiCommand::Prompt("linux".into()))
        );
    }

    #[test]
    fn hidden_entries_are_not_listed_but_a_hidden_default_still_boots() {
        let mut app = App::new();
        let mut menu = sample_menu();
        menu.entries[0].hidden = true; // "linux", the default
        app.on_event(UiEvent::Menu {
            source: "tftp://10.0.2.2/kboot.conf".into(),
            menu,
        });
        let listed: Vec<String> = app
            .items()
            .iter()
            .filter_map(|i| match i {
                Item::Entry(e) => Some(e.id.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(listed, vec!["rescue"]);
        let t = Instant::now();
        assert_eq!(app.on_tick(t), None);
        let spec = boot_of(app.on_tick(t + Duration::from_secs(6)));
        assert_eq!(spec.title, "linux");
    }

    #[test]
    fn hotkeys_and_digits_select_and_e_still_edits() {
        let (mut app, _) = with_menu();
        let mut menu = sample_menu();
        menu.entries[1].hotkey = Some('e');
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu,
        });
        assert_eq!(app.on_key(key(KeyCode::Char('E'))), None);
        assert_eq!(app.selected(), 1, "upper-case hotkey selects");
        assert!(matches!(app.mode(), Mode::Menu));
        assert_eq!(app.on_key(key(KeyCode::Char('1'))), None);
        assert_eq!(app.selected(), 0);
        assert_eq!(app.on_key(key(KeyCode::Char('e'))), None);
        assert!(matches!(app.mode(), Mode::Edit { .. }), "e still edits");
    }

    #[test]
    fn config_actions_chain_exit_and_local_boot() {
        use crate::config::model::Action as A;
        let mut app = App::new();
        let mut menu = sample_menu();
        menu.entries[0].kernel = None;
        menu.entries[0].action = Some(A::Chain("tftp://10.0.2.2/other.cfg".into()));
        menu.entries[1].kernel = None;
        menu.entries[1].action = Some(A::LocalBoot);
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu,
        });
        assert_eq!(
            app.on_key(key(KeyCode::Enter)),
            Some(UiCommand::LoadConfig("tftp://10.0.2.2/other.cfg".into()))
        );
        app.on_event(UiEvent::Ready);
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert!(app.error().unwrap_or_default().contains("local disk"));
        // MENU EXIT inside a submenu goes back up.
        let mut sub = sample_menu();
        sub.entries[0].children = vec![
            entry("inner", "Inner", "x"),
            Entry {
                id: "back".into(),
                title: "Back".into(),
                action: Some(A::Exit),
                ..Default::default()
            },
        ];
        let mut app = App::new();
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: sub,
        });
        app.on_key(key(KeyCode::Enter));
        assert!(!app.at_top());
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert!(app.at_top());
    }

    #[test]
    fn late_menu_starts_countdown_when_untouched() {
        let mut app = App::new();
        let t0 = Instant::now();
        app.on_tick(t0);
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: sample_menu(),
        });
        assert_eq!(app.selected(), 0);
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(app.on_tick(t1), None);
        boot_of(app.on_tick(t1 + Duration::from_secs(5)));
    }

    #[test]
    fn late_menu_after_key_keeps_selection_and_no_countdown() {
        let mut app = App::new();
        let t0 = Instant::now();
        app.on_tick(t0);
        app.on_key(key(KeyCode::Down)); // "Reboot"
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: sample_menu(),
        });
        assert_eq!(app.items()[app.selected()], Item::Action(Action::Reboot));
        assert_eq!(app.on_tick(t0 + Duration::from_secs(60)), None);
        assert_eq!(app.countdown(), None);

        // A replacement keeps the selected entry by id.
        app.on_key(key(KeyCode::Home));
        app.on_key(key(KeyCode::Down)); // rescue
        let mut m = sample_menu();
        m.entries.insert(0, entry("new", "New", ""));
        app.on_event(UiEvent::Menu {
            source: "y".into(),
            menu: m,
        });
        assert!(matches!(app.items()[app.selected()], Item::Entry(e) if e.id == "rescue"));
        // A shorter menu clamps.
        let mut m = sample_menu();
        m.entries.truncate(0);
        app.on_event(UiEvent::Menu {
            source: "z".into(),
            menu: m,
        });
        assert!(app.selected() < app.items().len());
    }

    #[test]
    fn entry_without_kernel_is_an_error() {
        let mut app = App::new();
        let mut m = sample_menu();
        m.entries[0].kernel = None;
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: m,
        });
        let t0 = Instant::now();
        app.on_tick(t0);
        assert_eq!(app.on_tick(t0 + Duration::from_secs(5)), None);
        assert!(app.error().unwrap_or("").contains("no kernel"));
        assert_eq!(app.mode(), &Mode::Menu);
    }

    #[test]
    fn submenus_open_and_close() {
        let mut app = App::new();
        let mut m = sample_menu();
        m.entries.push(Entry {
            id: "more".into(),
            title: "More".into(),
            children: vec![entry("memtest", "Memtest", "")],
            ..Entry::default()
        });
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: m,
        });
        app.on_key(key(KeyCode::End));
        app.on_key(key(KeyCode::Up));
        app.on_key(key(KeyCode::Up));
        app.on_key(key(KeyCode::Up));
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert_eq!(app.breadcrumb(), vec!["More"]);
        assert_eq!(app.items().len(), 4);
        app.on_key(key(KeyCode::Esc));
        assert!(app.at_top());
        assert_eq!(app.selected(), 2);
        app.on_key(key(KeyCode::Right));
        let spec = boot_of(app.on_key(key(KeyCode::Enter)));
        assert_eq!(spec.title, "Memtest");
    }

    #[test]
    fn control_chars_are_stripped() {
        let mut app = App::new();
        app.on_event(UiEvent::NetStatus("eth0\x1b[2J up\n".into()));
        assert_eq!(app.status(), "eth0 [2J up");
    }

    #[test]
    fn log_ring_is_bounded() {
        let mut app = App::new();
        for i in 0..(LOG_CAPACITY + 10) {
            app.on_event(UiEvent::Log(format!("line {i}")));
        }
        assert_eq!(app.log().len(), LOG_CAPACITY);
        assert_eq!(app.log().next(), Some("line 10"));
    }
}
