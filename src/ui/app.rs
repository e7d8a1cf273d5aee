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
pub const LOG_CAPACITY: usize = 500;
/// How many `kboot:` prompt lines Up/Down can recall.
pub const HISTORY_CAPACITY: usize = 20;

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
    /// The Wi-Fi screen (`w`): networks in range, a passphrase prompt, the last result.
    Wifi(WifiScreen),
}

/// One network on the Wi-Fi screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WifiNetwork {
    pub ssid: Vec<u8>,
    pub signal: i32,
    pub security: crate::net::wifi::Security,
    pub band: &'static str,
}

impl WifiNetwork {
    /// The SSID as shown (control characters replaced).
    pub fn title(&self) -> String {
        one_line(&String::from_utf8_lossy(&self.ssid))
    }
}

/// What the Wi-Fi screen shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WifiScreen {
    pub networks: Vec<WifiNetwork>,
    pub selected: usize,
    /// "scanning…", "3 networks", "wrong passphrase for Guest Net", ...
    pub status: String,
    /// Typing the passphrase of `networks[selected]` (shown masked).
    pub passphrase: Option<LineEditor>,
}

/// A box drawn over the screen that the next key closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// Every key (`?`, F1).
    Help,
    /// The selected entry: URLs, command line, help text (`i`, F2).
    Details,
}

/// The type-to-filter line (`/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub editor: LineEditor,
    /// Keys go to the filter line (until Enter).
    pub editing: bool,
}

impl Filter {
    /// True when `e` matches: case-insensitive substring of its title or label.
    pub fn matches(&self, e: &Entry) -> bool {
        let q = self.editor.buffer.trim().to_lowercase();
        q.is_empty()
            || entry_title(e).to_lowercase().contains(&q)
            || e.id.to_lowercase().contains(&q)
    }
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
    log_page_size: usize,
    overlay: Option<Overlay>,
    /// `Some(lines scrolled back from the end)` while the log pane is open.
    log_pane: Option<usize>,
    filter: Option<Filter>,
    /// Earlier `kboot:` lines, oldest first.
    history: VecDeque<String>,
    /// Which history line the prompt shows (`None`: the line being typed).
    history_pos: Option<usize>,
    /// The line being typed, kept while browsing the history.
    history_draft: String,
    /// The early download of the default entry during the countdown.
    preload: Option<Preload>,
    /// Initramfs flavours detected in entries' initrds, by entry id.
    detected: std::collections::BTreeMap<String, String>,
    /// Entries whose initrd is being looked into (asked by opening their details).
    inspecting: std::collections::BTreeSet<String>,
}

/// How far the early download of the default entry got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preload {
    /// Bytes so far.
    pub bytes: u64,
    /// The total, when every file's size is known.
    pub total: Option<u64>,
    /// All files are here.
    pub done: bool,
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
            log_page_size: 10,
            overlay: None,
            log_pane: None,
            filter: None,
            history: VecDeque::new(),
            history_pos: None,
            history_draft: String::new(),
            preload: None,
            detected: std::collections::BTreeMap::new(),
            inspecting: std::collections::BTreeSet::new(),
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

    /// Rows scrolled by PageUp/PageDown in the log pane (its height).
    pub fn set_log_page_size(&mut self, rows: usize) {
        self.log_page_size = rows.max(1);
    }

    // ---- read access for the view ----

    pub fn menu(&self) -> Option<&Menu> {
        self.menu.as_ref()
    }

    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The early download of the default entry, while the countdown runs.
    pub fn preload(&self) -> Option<Preload> {
        self.countdown().and(self.preload)
    }

    /// What is known of the initramfs flavour in this entry's initrd: the detection result,
    /// or that it is being looked for.
    pub fn detected_flavor(&self, entry_id: &str) -> Option<&str> {
        match self.detected.get(entry_id) {
            Some(found) => Some(found),
            None if self.inspecting.contains(entry_id) => {
                Some("looking inside the initrd (the details update when it is fetched)")
            }
            None => None,
        }
    }

    /// Open the selected item's details; a diskless entry whose flavour is left to detection
    /// asks the supervisor to look inside its initrd (once).
    fn open_details(&mut self) -> Option<UiCommand> {
        self.overlay = Some(Overlay::Details);
        let Some(Item::Entry(e)) = self.selected_item() else {
            return None;
        };
        let wanted = e.diskless.as_ref().is_some_and(|d| d.flavor.is_none())
            && !e.initrds.is_empty()
            && !self.detected.contains_key(&e.id)
            && !self.inspecting.contains(&e.id);
        if !wanted {
            return None;
        }
        let cmd = UiCommand::Inspect {
            entry: e.id.clone(),
            initrds: e.initrds.clone(),
            sha256: e.sha256.clone(),
        };
        self.inspecting.insert(e.id.clone());
        Some(cmd)
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

    pub fn overlay(&self) -> Option<Overlay> {
        self.overlay
    }

    /// `Some(lines scrolled back)` while the log pane is open.
    pub fn log_pane(&self) -> Option<usize> {
        self.log_pane
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Earlier `kboot:` prompt lines, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// The item under the cursor.
    pub fn selected_item(&self) -> Option<Item<'_>> {
        self.items().get(self.selected).copied()
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
            Some(m) if self.path.is_empty() && !m.entries.is_empty() => {
                let d = m.default_index();
                self.visible().iter().position(|&i| i == d)
            }
            _ => None,
        }
    }

    /// Indices (into the current level) of the entries the filter lets through.
    fn visible(&self) -> Vec<usize> {
        let entries = self.level_entries();
        match &self.filter {
            None => (0..entries.len()).collect(),
            Some(f) => (0..entries.len())
                .filter(|&i| f.matches(&entries[i]))
                .collect(),
        }
    }

    /// The level index of the entry at list row `row` (None for the fixed actions).
    fn real_index(&self, row: usize) -> Option<usize> {
        self.visible().get(row).copied()
    }

    /// Drop the filter, keeping the selected entry selected.
    fn clear_filter(&mut self) {
        if self.filter.is_none() {
            return;
        }
        let n = self.visible().len();
        let entry = self.real_index(self.selected);
        let action = self.selected.checked_sub(n);
        self.filter = None;
        let total = self.level_entries().len();
        self.selected = match (entry, action) {
            (Some(i), _) => i,
            (None, Some(a)) => total + a,
            (None, None) => 0,
        };
        self.selected = self.selected.min(self.item_count().saturating_sub(1));
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
        let entries = self.level_entries();
        self.visible()
            .into_iter()
            .filter_map(|i| entries.get(i).map(Item::Entry))
            .chain(Action::ALL.iter().copied().map(Item::Action))
            .collect()
    }

    fn item_count(&self) -> usize {
        self.visible().len() + Action::ALL.len()
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
        let entry = menu.default_entry()?;
        let ms = left.as_millis();
        let secs = u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX);
        Some((entry_title(entry), secs))
    }

    /// Why the entry the countdown boots is not signed by a trusted key (a red line under the
    /// countdown), when kboot checks signatures and it is not.
    pub fn countdown_warning(&self) -> Option<&str> {
        self.countdown()?;
        match &self.menu.as_ref()?.default_entry()?.signature {
            Some(crate::config::model::Signature::NotSigned(why)) => Some(why),
            _ => None,
        }
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
            UiEvent::WifiScan(result) => {
                if let Mode::Wifi(w) = &mut self.mode {
                    match result {
                        Ok(list) => {
                            w.status = match list.len() {
                                0 => "no network in range (r: scan again)".into(),
                                1 => "1 network".into(),
                                n => format!("{n} networks"),
                            };
                            w.networks = list;
                            w.selected = w.selected.min(w.networks.len().saturating_sub(1));
                        }
                        Err(e) => w.status = one_line(&e),
                    }
                }
            }
            UiEvent::WifiJoined(text) => {
                self.push_log(one_line(&text));
                if matches!(self.mode, Mode::Wifi(_)) {
                    self.mode = Mode::Menu;
                    self.selected = 0;
                }
            }
            UiEvent::WifiStatus(text) => {
                let text = one_line(&text);
                self.push_log(text.clone());
                if let Mode::Wifi(w) = &mut self.mode {
                    w.status = text;
                }
            }
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
            UiEvent::Preload(p) => self.preload = Some(p),
            UiEvent::Detected { entry, flavor } => {
                self.inspecting.remove(&entry);
                self.detected.insert(entry, one_line(&flavor));
            }
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
        let old_entries = self.visible().len();
        let old_action = self.selected.checked_sub(old_entries);
        let old_top_id = self
            .path
            .first()
            .copied()
            .or_else(|| self.real_index(self.selected))
            .and_then(|i| self.menu.as_ref()?.entries.get(i))
            .map(|e| e.id.clone());
        self.filter = None;

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
                // A submenu as the default boots its own default entry (GRUB's `A>B`).
                self.menu.as_ref()?.default_entry()?.clone()
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
                self.go_back();
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
        // A dialog or an overlay takes the key that closes it: Enter on an error box must not
        // boot anything.
        if self.error.take().is_some() || self.overlay.take().is_some() {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let cancel = key.code == KeyCode::Esc || (ctrl && key.code == KeyCode::Char('c'));
        if key.code == KeyCode::Tab && !ctrl {
            self.log_pane = match self.log_pane {
                Some(_) => None,
                None => Some(0),
            };
            return None;
        }
        if let Some(back) = self.log_pane {
            let max = self.log.len().saturating_sub(1);
            match key.code {
                KeyCode::PageUp => {
                    self.log_pane = Some((back + self.log_page_size).min(max));
                    return None;
                }
                KeyCode::PageDown => {
                    self.log_pane = Some(back.saturating_sub(self.log_page_size));
                    return None;
                }
                KeyCode::Esc => {
                    self.log_pane = None;
                    return None;
                }
                _ => {}
            }
        }
        if key.code == KeyCode::F(1) {
            self.overlay = Some(Overlay::Help);
            return None;
        }
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
            Mode::Wifi(screen) => self.on_wifi_key(screen, key, cancel),
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
                } else if matches!(key.code, KeyCode::Up | KeyCode::Down) {
                    self.recall(&mut editor, key.code == KeyCode::Up);
                    self.mode = Mode::Prompt { editor };
                    None
                } else if key.code == KeyCode::Enter {
                    let text = editor.buffer.trim().to_string();
                    if text.is_empty() {
                        self.mode = Mode::Prompt { editor };
                        return None;
                    }
                    self.stop_countdown();
                    self.remember(&text);
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

    /// A key on the Wi-Fi screen.
    fn on_wifi_key(&mut self, mut w: WifiScreen, key: KeyEvent, cancel: bool) -> Option<UiCommand> {
        if let Some(mut editor) = w.passphrase.take() {
            if cancel {
                self.mode = Mode::Wifi(w);
                return None;
            }
            if key.code == KeyCode::Enter {
                let net = w.networks.get(w.selected)?.clone();
                w.status = format!("joining {}…", net.title());
                self.mode = Mode::Wifi(w);
                return Some(UiCommand::WifiJoin {
                    ssid: net.ssid,
                    passphrase: Some(crate::net::wifi::Secret::new(editor.buffer)),
                    security: net.security,
                });
            }
            editor.on_key(&key);
            w.passphrase = Some(editor);
            self.mode = Mode::Wifi(w);
            return None;
        }
        if cancel {
            // Back to the menu.
            return None;
        }
        let last = w.networks.len().saturating_sub(1);
        let mut command = None;
        match key.code {
            KeyCode::Up => w.selected = w.selected.saturating_sub(1),
            KeyCode::Down => w.selected = (w.selected + 1).min(last),
            KeyCode::Home => w.selected = 0,
            KeyCode::End => w.selected = last,
            KeyCode::Char('r') => {
                w.status = "scanning…".into();
                command = Some(UiCommand::WifiScan);
            }
            KeyCode::Enter => {
                if let Some(net) = w.networks.get(w.selected) {
                    use crate::net::wifi::Security;
                    match net.security {
                        Security::Unsupported => {
                            w.status = format!(
                            "{} uses WEP or enterprise (802.1X) security, which kboot cannot join",
                            net.title()
                        )
                        }
                        s if s.needs_passphrase() => w.passphrase = Some(LineEditor::default()),
                        _ => {
                            w.status = format!("joining {}…", net.title());
                            command = Some(UiCommand::WifiJoin {
                                ssid: net.ssid.clone(),
                                passphrase: None,
                                security: net.security,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
        self.mode = Mode::Wifi(w);
        command
    }

    /// Up/Down/Home/End/PageUp/PageDown in the list; false for any other key.
    fn navigate(&mut self, code: KeyCode) -> bool {
        let last = self.item_count().saturating_sub(1);
        self.selected = match code {
            KeyCode::Up => self.selected.saturating_sub(1),
            KeyCode::Down => self.selected + 1,
            KeyCode::Home => 0,
            KeyCode::End => last,
            KeyCode::PageUp => self.selected.saturating_sub(self.page_size),
            KeyCode::PageDown => self.selected.saturating_add(self.page_size),
            _ => return false,
        }
        .min(last);
        true
    }

    /// Leave a submenu (the filter first, if there is one).
    fn go_back(&mut self) {
        if self.filter.is_some() {
            self.clear_filter();
        } else if let Some(i) = self.path.pop() {
            self.selected = i;
        }
    }

    fn open_prompt(&mut self) {
        self.history_pos = None;
        self.history_draft.clear();
        self.mode = Mode::Prompt {
            editor: LineEditor::default(),
        };
    }

    /// Add a prompt line to the history ring (not twice in a row).
    fn remember(&mut self, text: &str) {
        if self.history.back().map(String::as_str) != Some(text) {
            if self.history.len() >= HISTORY_CAPACITY {
                self.history.pop_front();
            }
            self.history.push_back(text.to_string());
        }
        self.history_pos = None;
        self.history_draft.clear();
    }

    /// Up (`older`) or Down at the prompt: show an earlier line, or the one being typed.
    fn recall(&mut self, editor: &mut LineEditor, older: bool) {
        let n = self.history.len();
        let pos = match (self.history_pos, older) {
            (None, true) if n > 0 => {
                self.history_draft = editor.buffer.clone();
                Some(n - 1)
            }
            (None, _) => return,
            (Some(p), true) => Some(p.saturating_sub(1)),
            (Some(p), false) if p + 1 < n => Some(p + 1),
            (Some(_), false) => None,
        };
        self.history_pos = pos;
        let text = match pos {
            Some(p) => self.history.get(p).cloned().unwrap_or_default(),
            None => std::mem::take(&mut self.history_draft),
        };
        *editor = LineEditor::new(&text);
    }

    fn on_menu_key(&mut self, key: KeyEvent) -> Option<UiCommand> {
        let last = self.item_count().saturating_sub(1);
        self.selected = self.selected.min(last);
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        let editing = self.filter.as_ref().is_some_and(|f| f.editing);
        // Up/Down/Home/End/PageUp/PageDown move in the list, the rest edits the filter.
        if editing && self.navigate(key.code) {
            return None;
        }
        if let Some(mut f) = self.filter.take_if(|_| editing) {
            match key.code {
                KeyCode::Esc => {
                    self.filter = Some(f);
                    self.clear_filter();
                }
                KeyCode::Enter => {
                    f.editing = false;
                    self.filter = Some(f);
                }
                _ => {
                    let before = f.editor.buffer.clone();
                    f.editor.on_key(&key);
                    let changed = f.editor.buffer != before;
                    self.filter = Some(f);
                    if changed {
                        self.selected = 0;
                    }
                }
            }
            return None;
        }
        if self.navigate(key.code) {
            return None;
        }
        match key.code {
            KeyCode::Esc | KeyCode::Left => self.go_back(),
            KeyCode::Enter | KeyCode::Right => return self.activate(key.code == KeyCode::Enter),
            KeyCode::F(2) => return self.open_details(),
            KeyCode::Char('e') if plain => self.edit_selected(),
            KeyCode::Char('c') if plain => self.open_prompt(),
            KeyCode::Char('?') if plain => self.overlay = Some(Overlay::Help),
            KeyCode::Char('/') if plain => {
                let editor = match self.filter.take() {
                    Some(f) => f.editor,
                    None => LineEditor::default(),
                };
                self.filter = Some(Filter {
                    editor,
                    editing: true,
                });
                self.selected = 0;
            }
            // `i` shows details unless an entry here claims it as its hotkey (Debian's
            // "^Install"); F2 always does.
            KeyCode::Char(c) if plain && !self.select_hotkey(c) && c.eq_ignore_ascii_case(&'i') => {
                return self.open_details();
            }
            // `w` opens the Wi-Fi screen, unless an entry claims it as its hotkey.
            KeyCode::Char('w') if plain && !self.has_hotkey('w') => {
                self.mode = Mode::Wifi(WifiScreen {
                    status: "scanning…".into(),
                    ..Default::default()
                });
                return Some(UiCommand::WifiScan);
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
                let i = self.real_index(self.selected)?;
                self.filter = None;
                self.path.push(i);
                self.selected = 0;
                None
            }
            Item::Entry(_) | Item::Action(_) if !enter => None,
            Item::Entry(e) => {
                let e = e.clone();
                self.boot_entry(&e)
            }
            Item::Action(Action::Prompt) => {
                self.open_prompt();
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
    /// Whether an entry on this level has `c` as its hotkey.
    fn has_hotkey(&self, c: char) -> bool {
        let entries = self.level_entries();
        self.visible().iter().any(|&i| {
            entries
                .get(i)
                .and_then(|e| e.hotkey)
                .is_some_and(|h| h.eq_ignore_ascii_case(&c))
        })
    }

    fn select_hotkey(&mut self, c: char) -> bool {
        let wanted = c.to_ascii_lowercase();
        let entries = self.level_entries();
        let visible = self.visible();
        let hit = visible
            .iter()
            .position(|&i| {
                entries
                    .get(i)
                    .and_then(|e| e.hotkey)
                    .map(|h| h.to_ascii_lowercase())
                    == Some(wanted)
            })
            .or_else(|| {
                let n = c.to_digit(10)? as usize;
                (1..=visible.len().min(9)).contains(&n).then(|| n - 1)
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
        diskless: e.diskless.clone().map(Box::new),
        sha256: e.sha256.clone(),
        signature: e.signature.clone(),
        config_cmdline: Some(e.cmdline.clone()),
        config_files: e.config_files.clone(),
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
    fn a_submenu_as_default_boots_its_own_default_entry() {
        // GRUB's `set default="Advanced options>Recovery"` and the disks' menu, whose entries
        // are submenus: the countdown boots the entry inside, never the submenu itself.
        let mut menu = sample_menu();
        let mut adv = entry("adv", "Advanced options", "");
        adv.kernel = None;
        adv.initrds.clear();
        adv.children = vec![
            entry("normal", "Debian", "root=/dev/vda1 ro"),
            entry(
                "recovery",
                "Debian (recovery mode)",
                "root=/dev/vda1 ro single",
            ),
        ];
        adv.default_child = Some("recovery".into());
        menu.entries.push(adv);
        menu.default = Some("adv".into());
        let mut app = App::new();
        app.on_event(UiEvent::Menu {
            source: "nvme0n1p1:/boot/grub/grub.cfg".into(),
            menu,
        });
        let t0 = Instant::now();
        assert_eq!(app.on_tick(t0), None);
        assert_eq!(app.countdown(), Some(("Debian (recovery mode)", 5)));
        let spec = boot_of(app.on_tick(t0 + Duration::from_secs(5)));
        assert_eq!(spec.title, "Debian (recovery mode)");
        assert_eq!(spec.cmdline, "root=/dev/vda1 ro single");
    }

    #[test]
    fn the_wifi_screen_scans_asks_the_passphrase_and_joins() {
        use crate::net::wifi::Security;
        let (mut app, _) = with_menu();
        assert_eq!(
            app.on_key(key(KeyCode::Char('w'))),
            Some(UiCommand::WifiScan)
        );
        let net = |ssid: &str, signal, security| WifiNetwork {
            ssid: ssid.as_bytes().to_vec(),
            signal,
            security,
            band: "2.4 GHz",
        };
        app.on_event(UiEvent::WifiScan(Ok(vec![
            net("Guest Net", -40, Security::Wpa2Psk),
            net("cafe", -60, Security::Open),
            net("corp", -70, Security::Unsupported),
        ])));
        let Mode::Wifi(w) = app.mode() else {
            panic!("{:?}", app.mode())
        };
        assert_eq!(w.status, "3 networks");
        // Enter on a WPA2 network asks for the passphrase; typed, Enter joins with it.
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        type_str(&mut app, "pass word");
        let Some(UiCommand::WifiJoin {
            ssid, passphrase, ..
        }) = app.on_key(key(KeyCode::Enter))
        else {
            panic!("no join")
        };
        assert_eq!(ssid, b"Guest Net");
        assert_eq!(
            passphrase.map(|p| p.expose().to_string()).as_deref(),
            Some("pass word")
        );
        app.on_event(UiEvent::WifiStatus("wrong passphrase for Guest Net".into()));
        let Mode::Wifi(w) = app.mode() else {
            panic!("{:?}", app.mode())
        };
        assert_eq!(w.status, "wrong passphrase for Guest Net");
        // A join that worked goes back to the menu.
        let mut joined = app.clone();
        joined.on_event(UiEvent::WifiJoined("joined Guest Net".into()));
        assert_eq!(joined.mode(), &Mode::Menu);
        // An open network joins at once; an enterprise one says why not; r rescans.
        app.on_key(key(KeyCode::Down));
        let cmd = app.on_key(key(KeyCode::Enter));
        assert!(
            matches!(
                cmd,
                Some(UiCommand::WifiJoin {
                    passphrase: None,
                    ..
                })
            ),
            "{cmd:?}"
        );
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        let Mode::Wifi(w) = app.mode() else {
            panic!("{:?}", app.mode())
        };
        assert!(w.status.contains("enterprise"), "{}", w.status);
        assert_eq!(
            app.on_key(key(KeyCode::Char('r'))),
            Some(UiCommand::WifiScan)
        );
        // Esc leaves the passphrase prompt, then the screen.
        app.on_key(key(KeyCode::Home));
        app.on_key(key(KeyCode::Enter));
        app.on_key(key(KeyCode::Esc));
        assert!(matches!(app.mode(), Mode::Wifi(w) if w.passphrase.is_none()));
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.mode(), &Mode::Menu);
        // A scan error is a sentence on the screen.
        app.on_key(key(KeyCode::Char('w')));
        app.on_event(UiEvent::WifiScan(Err(
            "no Wi-Fi device: is its driver or firmware in the module pack?".into(),
        )));
        assert!(matches!(app.mode(), Mode::Wifi(w) if w.status.starts_with("no Wi-Fi device")));
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
        // The key that closes the dialog does nothing else; the menu works after it.
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert_eq!(app.error(), None);
        assert_eq!(app.selected(), 0);
        app.on_key(key(KeyCode::Down));
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

    #[test]
    fn log_pane_toggles_and_scrolls() {
        let (mut app, _) = with_menu();
        for i in 0..30 {
            app.on_event(UiEvent::Log(format!("line {i}")));
        }
        app.set_log_page_size(10);
        assert_eq!(app.log_pane(), None);
        app.on_key(key(KeyCode::Tab));
        assert_eq!(app.log_pane(), Some(0));
        app.on_key(key(KeyCode::PageUp));
        assert_eq!(app.log_pane(), Some(10));
        for _ in 0..10 {
            app.on_key(key(KeyCode::PageUp));
        }
        assert_eq!(app.log_pane(), Some(app.log().len() - 1), "clamped");
        app.on_key(key(KeyCode::PageDown));
        assert_eq!(app.log_pane(), Some(app.log().len() - 11));
        // Up/Down still move the menu selection.
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.selected(), 1);
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.log_pane(), None);
        assert!(app.at_top());
        app.on_key(key(KeyCode::Tab));
        app.on_key(key(KeyCode::Tab));
        assert_eq!(app.log_pane(), None);
        // PageDown without the pane moves the list again.
        app.on_key(key(KeyCode::PageDown));
        assert_eq!(app.selected(), 4);
    }

    #[test]
    fn warnings_and_errors_reach_the_log() {
        let mut app = App::new();
        let mut m = sample_menu();
        m.warnings
            .push("pxelinux.cfg/default line 7: MENU VSHIFT ignored".into());
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: m,
        });
        app.on_event(UiEvent::Error("no lease".into()));
        let log: Vec<&str> = app.log().collect();
        assert!(log.contains(&"warning: pxelinux.cfg/default line 7: MENU VSHIFT ignored"));
        assert!(log.contains(&"error: no lease"));
    }

    #[test]
    fn help_overlay_opens_and_any_key_closes() {
        let (mut app, _) = with_menu();
        app.on_key(key(KeyCode::Char('?')));
        assert_eq!(app.overlay(), Some(Overlay::Help));
        // The closing key does nothing else.
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert_eq!(app.overlay(), None);
        assert_eq!(app.mode(), &Mode::Menu);
        app.on_key(key(KeyCode::F(1)));
        assert_eq!(app.overlay(), Some(Overlay::Help));
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.selected(), 0);
        // At the prompt `?` is text, F1 is help.
        app.on_key(key(KeyCode::Char('c')));
        type_str(&mut app, "a?");
        assert_eq!(app.overlay(), None);
        app.on_key(key(KeyCode::F(1)));
        assert_eq!(app.overlay(), Some(Overlay::Help));
        app.on_key(key(KeyCode::Char('x')));
        match app.mode() {
            Mode::Prompt { editor } => assert_eq!(editor.buffer, "a?"),
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn details_by_i_and_f2_unless_i_is_a_hotkey() {
        let (mut app, _) = with_menu();
        app.on_key(key(KeyCode::Down));
        app.on_key(key(KeyCode::Char('i')));
        assert_eq!(app.overlay(), Some(Overlay::Details));
        assert!(matches!(app.selected_item(), Some(Item::Entry(e)) if e.id == "rescue"));
        app.on_key(key(KeyCode::Char('i')));
        assert_eq!(app.overlay(), None);
        app.on_key(key(KeyCode::F(2)));
        assert_eq!(app.overlay(), Some(Overlay::Details));
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.overlay(), None);
        assert!(app.at_top());
        // Debian's "^Install": the hotkey wins, F2 still shows details.
        let mut m = sample_menu();
        m.entries[1].hotkey = Some('i');
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: m,
        });
        app.on_key(key(KeyCode::Home));
        app.on_key(key(KeyCode::Char('i')));
        assert_eq!(app.overlay(), None);
        assert_eq!(app.selected(), 1);
        app.on_key(key(KeyCode::F(2)));
        assert_eq!(app.overlay(), Some(Overlay::Details));
    }

    #[test]
    fn details_of_a_diskless_entry_ask_once_what_its_initrd_is() {
        let (mut app, _) = with_menu();
        let mut m = sample_menu();
        m.entries[1].initrds = vec!["tftp://10.0.2.2/initrd.img".into()];
        m.entries[1].diskless = Some(crate::config::model::Diskless {
            root: "nbd:10.0.2.2:root".into(),
            ..Default::default()
        });
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: m,
        });
        // Not diskless: no question.
        assert_eq!(app.on_key(key(KeyCode::F(2))), None);
        app.on_key(key(KeyCode::Esc));
        app.on_key(key(KeyCode::Down));
        let id = match app.on_key(key(KeyCode::Char('i'))) {
            Some(UiCommand::Inspect { entry, initrds, .. }) => {
                assert_eq!(initrds, vec!["tftp://10.0.2.2/initrd.img".to_string()]);
                entry
            }
            other => panic!("{other:?}"),
        };
        assert!(app
            .detected_flavor(&id)
            .is_some_and(|t| t.contains("looking")));
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.on_key(key(KeyCode::F(2))), None, "asked already");
        app.on_key(key(KeyCode::Esc));
        app.on_event(UiEvent::Detected {
            entry: id.clone(),
            flavor: "dracut (detected in the initrd)".into(),
        });
        assert_eq!(
            app.detected_flavor(&id),
            Some("dracut (detected in the initrd)")
        );
        assert_eq!(app.on_key(key(KeyCode::F(2))), None, "known now");
    }

    fn filter_menu() -> App {
        let mut app = App::new();
        let mut m = sample_menu();
        m.entries
            .push(entry("debian-install", "Debian Installer", ""));
        m.entries.push(entry("debian-rescue", "Debian rescue", ""));
        m.entries.push(Entry {
            id: "tools".into(),
            title: "Tools".into(),
            children: vec![entry("memtest", "Memtest86+", "")],
            ..Entry::default()
        });
        app.on_event(UiEvent::Menu {
            source: "x".into(),
            menu: m,
        });
        app.on_tick(Instant::now());
        app
    }

    fn listed(app: &App) -> Vec<String> {
        app.items()
            .iter()
            .filter_map(|i| match i {
                Item::Entry(e) => Some(e.id.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn filter_live_enter_keeps_esc_clears() {
        let mut app = filter_menu();
        app.on_key(key(KeyCode::Char('/')));
        assert!(app.filter().is_some_and(|f| f.editing));
        type_str(&mut app, "RESC");
        assert_eq!(listed(&app), vec!["rescue", "debian-rescue"]);
        assert_eq!(app.selected(), 0);
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.selected(), 1);
        app.on_key(key(KeyCode::Backspace));
        assert_eq!(
            app.selected(),
            0,
            "a changed filter selects the first match"
        );
        type_str(&mut app, "c");
        // Enter keeps the filter, the first match selected; letters are hotkeys again.
        assert_eq!(app.on_key(key(KeyCode::Enter)), None);
        assert!(app.filter().is_some_and(|f| !f.editing));
        assert_eq!(listed(&app), vec!["rescue", "debian-rescue"]);
        app.on_key(key(KeyCode::Char('2')));
        assert_eq!(app.selected(), 1);
        let spec = match app.on_key(key(KeyCode::Enter)) {
            Some(UiCommand::Boot(s)) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(spec.title, "Debian rescue");
        app.on_event(UiEvent::Ready);
        // Esc clears the filter and keeps the entry selected.
        app.on_key(key(KeyCode::Esc));
        assert!(app.filter().is_none());
        assert_eq!(listed(&app).len(), 5);
        assert!(matches!(app.selected_item(), Some(Item::Entry(e)) if e.id == "debian-rescue"));
        assert!(app.at_top());
    }

    #[test]
    fn filter_esc_while_typing_and_no_match() {
        let mut app = filter_menu();
        app.on_key(key(KeyCode::Down));
        app.on_key(key(KeyCode::Char('/')));
        type_str(&mut app, "zzz");
        assert!(listed(&app).is_empty());
        assert_eq!(app.items().len(), Action::ALL.len());
        assert_eq!(app.default_index(), None);
        app.on_key(key(KeyCode::Esc));
        assert!(app.filter().is_none());
        assert_eq!(listed(&app).len(), 5);
        assert_eq!(app.default_index(), Some(0));
        // By label too, and into a submenu (the filter ends there).
        app.on_key(key(KeyCode::Char('/')));
        type_str(&mut app, "tools");
        app.on_key(key(KeyCode::Enter));
        app.on_key(key(KeyCode::Enter));
        assert_eq!(app.breadcrumb(), vec!["Tools"]);
        assert!(app.filter().is_none());
        assert_eq!(listed(&app), vec!["memtest"]);
        app.on_key(key(KeyCode::Esc));
        assert!(app.at_top());
        assert!(matches!(app.selected_item(), Some(Item::Entry(e)) if e.id == "tools"));
    }

    #[test]
    fn filter_selects_default_mark_and_actions() {
        let mut app = filter_menu();
        app.on_key(key(KeyCode::Char('/')));
        type_str(&mut app, "debian");
        assert_eq!(app.default_index(), None, "the default is filtered out");
        app.on_key(key(KeyCode::End));
        assert_eq!(app.selected_item(), Some(Item::Action(Action::PowerOff)));
        app.on_key(key(KeyCode::Esc));
        assert_eq!(app.selected_item(), Some(Item::Action(Action::PowerOff)));
    }

    #[test]
    fn prompt_history_recalls_lines() {
        let (mut app, _) = with_menu();
        for line in ["one", "two", "two", "three"] {
            app.on_key(key(KeyCode::Char('c')));
            type_str(&mut app, line);
            assert!(matches!(
                app.on_key(key(KeyCode::Enter)),
                Some(UiCommand::Prompt(_))
            ));
            app.on_event(UiEvent::Ready);
        }
        assert_eq!(
            app.history().collect::<Vec<_>>(),
            vec!["one", "two", "three"]
        );
        app.on_key(key(KeyCode::Char('c')));
        type_str(&mut app, "draft");
        let buf = |app: &App| match app.mode() {
            Mode::Prompt { editor } => editor.buffer.clone(),
            m => panic!("{m:?}"),
        };
        app.on_key(key(KeyCode::Up));
        assert_eq!(buf(&app), "three");
        app.on_key(key(KeyCode::Up));
        app.on_key(key(KeyCode::Up));
        app.on_key(key(KeyCode::Up));
        assert_eq!(buf(&app), "one");
        app.on_key(key(KeyCode::Down));
        assert_eq!(buf(&app), "two");
        app.on_key(key(KeyCode::Down));
        app.on_key(key(KeyCode::Down));
        assert_eq!(buf(&app), "draft");
        app.on_key(key(KeyCode::Down));
        assert_eq!(buf(&app), "draft");
        app.on_key(key(KeyCode::Up));
        type_str(&mut app, " x");
        assert_eq!(
            app.on_key(key(KeyCode::Enter)),
            Some(UiCommand::Prompt("three x".into()))
        );
    }

    #[test]
    fn prompt_history_is_a_ring_of_20() {
        let mut app = App::new();
        for i in 0..25 {
            app.on_key(key(KeyCode::Char('c')));
            type_str(&mut app, &format!("l{i}"));
            app.on_key(key(KeyCode::Enter));
            app.on_event(UiEvent::Ready);
        }
        let h: Vec<&str> = app.history().collect();
        assert_eq!(h.len(), HISTORY_CAPACITY);
        assert_eq!(h[0], "l5");
        // Up on an empty history does nothing.
        let mut app = App::new();
        app.on_key(key(KeyCode::Char('c')));
        app.on_key(key(KeyCode::Up));
        app.on_key(key(KeyCode::Down));
        assert!(matches!(app.mode(), Mode::Prompt { editor } if editor.buffer.is_empty()));
    }

    #[test]
    fn error_dialog_over_prompt_keeps_the_prompt() {
        let (mut app, _) = with_menu();
        app.on_key(key(KeyCode::Char('c')));
        type_str(&mut app, "abc");
        app.on_event(UiEvent::Error("DHCP: no answer".into()));
        assert_eq!(app.error(), Some("DHCP: no answer"));
        app.on_key(key(KeyCode::Char('x')));
        assert_eq!(app.error(), None);
        assert!(matches!(app.mode(), Mode::Prompt { editor } if editor.buffer == "abc"));
    }
}
