//! pxelinux / syslinux configs (netboot.md §3).
//!
//! ```text
//! DEFAULT vesamenu.c32
//! TIMEOUT 50
//! MENU TITLE Installer boot menu
//! LABEL install
//!     MENU LABEL ^Install
//!     MENU DEFAULT
//!     KERNEL debian-installer/amd64/linux
//!     APPEND vga=788 initrd=debian-installer/amd64/initrd.gz --- quiet
//! MENU BEGIN advanced
//!     MENU TITLE Advanced options
//!     INCLUDE debian-installer/amd64/boot-screens/adtxt.cfg
//! MENU END
//! ```
//!
//! Rules implemented here (syslinux 4–6 behaviour unless noted):
//! - One keyword per line, case-insensitive; `#` starts a comment line; blank lines, leading
//!   whitespace, CRLF line ends and a UTF-8 BOM are accepted. Keywords that only change the
//!   look (`SAY`, `DISPLAY`, `F1`…`F12`, `FONT`, `MENU COLOR`, `MENU BACKGROUND`, …) are ignored
//!   silently; `PATH` is ignored with a warning; an unknown keyword is a warning.
//! - Paths resolve against the TFTP root of the config's server, which is the directory that
//!   holds `pxelinux.0`: the config URL with its `pxelinux.cfg/...` part cut off (when the URL
//!   has no `pxelinux.cfg/` segment, the config's own directory). `::path` is absolute from the
//!   server's root; full URLs stay as they are. Includes resolve the same way (pxelinux has one
//!   working directory, not one per file).
//! - `LABEL` starts an entry, ended by the next `LABEL`, `MENU BEGIN` or `MENU END`.
//!   `MENU LABEL` gives its title (`^x` marks the hotkey `x`, the `^` is not shown),
//!   `MENU HIDE` hides it, `TEXT HELP`…`ENDTEXT` is its help. `KERNEL`/`LINUX` name the kernel
//!   (words after the file name are command-line arguments), `INITRD` a comma-separated list,
//!   `APPEND` the command line, whose `initrd=a,b` arguments become initrds (after those of
//!   `INITRD`); `APPEND -` means no command line. A global `APPEND`, `IPAPPEND`/`SYSAPPEND`
//!   (before the first `LABEL`, or between a `MENU END` and the next `LABEL`) applies to the
//!   entries recorded after it that have none of their own.
//! - `IPAPPEND`/`SYSAPPEND` bits become [`Handoff::Pxelinux`]; without them an entry gets
//!   `Handoff::Pxelinux(0)`: like pxelinux, kboot appends nothing.
//! - `LOCALBOOT` → [`Action::LocalBoot`], `MENU EXIT` → [`Action::Exit`], `CONFIG file [dir]`
//!   → [`Action::Chain`]. COM32 modules cannot run under kboot: `menu.c32`/`vesamenu.c32`
//!   with a config file argument is a chain to that file, `reboot.c32` and `poweroff.c32` map
//!   to their actions, any other module (`chain.c32`, `pxechn.c32`, …), `memdisk`, boot
//!   sectors and PXE images skip the entry with a warning. `MENU DISABLE`d entries (headings)
//!   and `MENU SEPARATOR` are dropped silently.
//! - `MENU BEGIN [tag]`…`MENU END` make a submenu (an entry with `children`); its id is the tag
//!   or `submenu-N`, its title the `MENU TITLE` or `MENU LABEL` given inside it (before its
//!   first `LABEL`). `MENU INCLUDE file tag` is `MENU BEGIN tag` + the file + `MENU END`.
//!   Ids are unique per menu level: a label repeated in the same level gets `~2`, `~3`, … and
//!   a warning; the same label in different submenus is fine.
//! - `INCLUDE file` / `MENU INCLUDE file` read the file in place through the fetcher. An
//!   include that fails, loops back to a file being read, is nested deeper than
//!   [`MAX_INCLUDE_DEPTH`] or exceeds the include budget is a warning; the rest is kept.
//! - The default: `ONTIMEOUT`, then `DEFAULT`, then the top-level `MENU DEFAULT`.
//!   A `DEFAULT`/`ONTIMEOUT` naming a top-level label selects it; `menu`/`vesamenu(.c32)`
//!   means "show the menu" (no default from it); another command line (`DEFAULT vmlinuz
//!   quiet`) becomes an extra entry `default`/`ontimeout` that boots it. syslinux's menu
//!   module applies the global `DEFAULT label` after reading the whole file, over the
//!   label's `MENU DEFAULT`, so a `DEFAULT` that names a label wins here too; `MENU DEFAULT`
//!   decides when `DEFAULT` names a module (the usual `DEFAULT vesamenu.c32`) or nothing.
//!   A label found only inside a submenu cannot be a default (the model has top-level
//!   defaults only): warning.
//! - `TIMEOUT` is in tenths of a second, 0 = wait; without `TIMEOUT`, `TOTALTIMEOUT` is used;
//!   neither = wait. Without a menu (`UI`/`DEFAULT` naming `menu` or `vesamenu`) and without
//!   `PROMPT 1`, pxelinux boots its default at once: `timeout_ms` is `Some(0)` then.
//! - Warnings read `<file url> line N: ...`; nothing here fails or panics.

use super::snippet;
use std::collections::HashSet;
use std::rc::Rc;

use crate::cmdline;
use crate::config::include::{Fetcher, ParseContext, MAX_INCLUDE_DEPTH};
use crate::config::model::{Action, Handoff};
use crate::config::{Entry, Menu};
use crate::fetch::url::resolve;

/// Most files one parse reads through the fetcher (bounds include fan-out).
const MAX_INCLUDES: usize = 256;
/// Deepest `MENU BEGIN` nesting kept; deeper ones are flattened with a warning.
const MAX_MENU_DEPTH: usize = 32;

/// Parse a pxelinux config fetched from `url`. Included files are read through `fetch`.
/// Never fails: problems go to `menu.warnings`.
pub fn parse(text: &str, url: &str, _ctx: &ParseContext, fetch: &mut Fetcher<'_>) -> Menu {
    let mut p = Parser {
        url: url.to_string(),
        root: tftp_root(url),
        fetch,
        menu: Menu::default(),
        levels: vec![Level::new(Rc::from(url), 0, None)],
        flattened: 0,
        label: None,
        global_append: None,
        global_ipappend: None,
        default_cmd: None,
        ontimeout: None,
        menu_default: None,
        timeout: None,
        total_timeout: None,
        prompt: false,
        has_ui: false,
        include_stack: Vec::new(),
        includes_left: MAX_INCLUDES,
        submenu_counter: 0,
    };
    p.file(text, Rc::from(url));
    p.finish()
}

/// The directory that holds `pxelinux.0` for a config at `url`.
pub fn tftp_root(url: &str) -> String {
    // ASCII lowercasing keeps byte offsets.
    match url.to_ascii_lowercase().find("/pxelinux.cfg/") {
        Some(i) => url[..=i].to_string(),
        None => url.to_string(),
    }
}

/// Split off the first whitespace-separated word.
fn first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

/// What a `KERNEL`-like keyword asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KernelKind {
    /// `KERNEL`: the type follows the file name's extension.
    Auto,
    /// `LINUX`: always a Linux kernel.
    Linux,
    /// `COM32`: always a module.
    Com32,
    /// `BOOT`, `BSS`, `PXE`, `FDIMAGE`, `COMBOOT`: images kboot cannot start.
    Other,
}

/// A `LABEL` being read.
struct Label {
    file: Rc<str>,
    line: usize,
    name: String,
    title: Option<String>,
    hotkey: Option<char>,
    kernel: Option<(KernelKind, String, usize)>,
    append: Option<String>,
    initrd: Option<String>,
    ipappend: Option<u32>,
    localboot: bool,
    config: Option<String>,
    exit: bool,
    menu_default: bool,
    hidden: bool,
    disabled: bool,
    help: Option<String>,
    unsupported: Option<String>,
}

/// One menu level: the top menu or a `MENU BEGIN` block.
struct Level {
    file: Rc<str>,
    line: usize,
    tag: Option<String>,
    title: Option<String>,
    label_title: Option<(String, Option<char>)>,
    entries: Vec<Entry>,
    ids: HashSet<String>,
    /// A `LABEL` has been seen in this level (later `MENU LABEL`s belong to labels).
    had_label: bool,
}

impl Level {
    fn new(file: Rc<str>, line: usize, tag: Option<String>) -> Level {
        Level {
            file,
            line,
            tag,
            title: None,
            label_title: None,
            entries: Vec::new(),
            ids: HashSet::new(),
            had_label: false,
        }
    }

    /// Make `id` unique in this level: `id`, `id~2`, `id~3`, …
    fn unique_id(&mut self, id: &str) -> (String, bool) {
        if self.ids.insert(id.to_string()) {
            return (id.to_string(), false);
        }
        let mut n = 2usize;
        loop {
            let cand = format!("{id}~{n}");
            if self.ids.insert(cand.clone()) {
                return (cand, true);
            }
            n += 1;
        }
    }
}

struct Parser<'f, 'a> {
    url: String,
    root: String,
    fetch: &'f mut Fetcher<'a>,
    menu: Menu,
    levels: Vec<Level>,
    /// `MENU BEGIN`s past [`MAX_MENU_DEPTH`] whose `MENU END` is still to come.
    flattened: usize,
    label: Option<Label>,
    global_append: Option<String>,
    global_ipappend: Option<u32>,
    default_cmd: Option<(Rc<str>, usize, String)>,
    ontimeout: Option<(Rc<str>, usize, String)>,
    /// Id of the top-level entry marked `MENU DEFAULT`.
    menu_default: Option<String>,
    timeout: Option<u64>,
    total_timeout: Option<u64>,
    prompt: bool,
    has_ui: bool,
    include_stack: Vec<String>,
    includes_left: usize,
    submenu_counter: usize,
}

/// Keywords that only change how syslinux looks or talks: ignored silently.
const IGNORED: &[&str] = &[
    "say",
    "display",
    "font",
    "kbdmap",
    "serial",
    "console",
    "noescape",
    "nocomplete",
    "allowoptions",
    "implicit",
    "nohalt",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "f6",
    "f7",
    "f8",
    "f9",
    "f10",
    "f11",
    "f12",
    "f0",
];

/// `MENU` sub-keywords that only change the look: ignored silently.
const MENU_IGNORED: &[&str] = &[
    "color",
    "colour",
    "background",
    "width",
    "margin",
    "rows",
    "tabmsgrow",
    "cmdlinerow",
    "endrow",
    "passwordrow",
    "timeoutrow",
    "helpmsgrow",
    "helpmsgendrow",
    "hshift",
    "vshift",
    "master",
    "passwd",
    "hidden",
    "shiftkey",
    "save",
    "nosave",
    "clear",
    "autoboot",
    "tabmsg",
    "notabmsg",
    "passprompt",
    "resolution",
    "msgcolor",
    "msgcolour",
    "indent",
    "immediate",
    "noimmediate",
    "separator",
    "start",
    "help",
];

impl<'f, 'a> Parser<'f, 'a> {
    fn warn(&mut self, file: &str, line: usize, msg: impl AsRef<str>) {
        self.menu
            .warnings
            .push(format!("{file} line {line}: {}", msg.as_ref()));
    }

    /// Resolve a path as pxelinux does.
    fn resolve(&self, path: &str) -> Result<String, String> {
        let r = if let Some(rest) = path.strip_prefix("::") {
            resolve(
                Some(&self.url),
                &format!("/{}", rest.trim_start_matches('/')),
            )
        } else {
            resolve(Some(&self.root), path)
        };
        r.map_err(|e| e.to_string())
    }

    /// Read one file's lines (the top config or an include).
    fn file(&mut self, text: &str, file: Rc<str>) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // An open `TEXT` block: (line, is TEXT HELP, lines).
        let mut help: Option<(usize, bool, Vec<String>)> = None;
        for (i, raw) in text.split('\n').enumerate() {
            let n = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if let Some((_, _, lines)) = help.as_mut() {
                if line.trim().eq_ignore_ascii_case("endtext") {
                    if let Some((start, true, lines)) = help.take() {
                        self.set_help(&file, start, lines);
                    }
                } else {
                    lines.push(line.trim_end().to_string());
                }
                continue;
            }
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let (kw, rest) = first_word(t);
            if kw.eq_ignore_ascii_case("text") {
                let (what, _) = first_word(rest);
                if !what.eq_ignore_ascii_case("help") {
                    self.warn(
                        &file,
                        n,
                        format!(
                            "TEXT '{}' is not TEXT HELP; its block is ignored",
                            snippet(what)
                        ),
                    );
                }
                help = Some((n, what.eq_ignore_ascii_case("help"), Vec::new()));
                continue;
            }
            self.keyword(&file, n, kw, rest);
        }
        if let Some((start, is_help, lines)) = help {
            self.warn(
                &file,
                start,
                "TEXT has no ENDTEXT; the text runs to the end of the file",
            );
            if is_help {
                self.set_help(&file, start, lines);
            }
        }
    }

    fn set_help(&mut self, file: &str, line: usize, lines: Vec<String>) {
        let text = lines.join("\n").trim_matches('\n').to_string();
        match self.label.as_mut() {
            Some(l) => l.help = (!text.is_empty()).then_some(text),
            None => self.warn(file, line, "TEXT HELP outside a LABEL is ignored"),
        }
    }

    fn keyword(&mut self, file: &Rc<str>, n: usize, kw: &str, rest: &str) {
        let k = kw.to_ascii_lowercase();
        match k.as_str() {
            "default" => self.default_cmd = Some((file.clone(), n, rest.to_string())),
            "ontimeout" => self.ontimeout = Some((file.clone(), n, rest.to_string())),
            "ui" => {
                let (m, _) = first_word(rest);
                if is_menu_module(m) {
                    self.has_ui = true;
                } else {
                    self.warn(
                        file,
                        n,
                        format!(
                            "UI '{}' is not a menu kboot knows; kboot shows its own menu",
                            snippet(m)
                        ),
                    );
                    self.has_ui = true;
                }
            }
            "prompt" => self.prompt = rest.trim() != "0" && !rest.trim().is_empty(),
            "timeout" | "totaltimeout" => match rest.trim().parse::<u64>() {
                Ok(t) => {
                    if k == "timeout" {
                        self.timeout = Some(t);
                    } else {
                        self.total_timeout = Some(t);
                    }
                }
                Err(_) => self.warn(
                    file,
                    n,
                    format!(
                        "{} '{}' is not a whole number of tenths of a second; line skipped",
                        kw.to_ascii_uppercase(),
                        snippet(rest)
                    ),
                ),
            },
            "label" => {
                self.end_label();
                if rest.is_empty() {
                    self.warn(file, n, "LABEL without a name; its entry is skipped");
                }
                if let Some(l) = self.levels.last_mut() {
                    l.had_label = true;
                }
                self.label = Some(Label {
                    file: file.clone(),
                    line: n,
                    name: rest.to_string(),
                    title: None,
                    hotkey: None,
                    kernel: None,
                    append: None,
                    initrd: None,
                    ipappend: None,
                    localboot: false,
                    config: None,
                    exit: false,
                    menu_default: false,
                    hidden: false,
                    disabled: false,
                    help: None,
                    unsupported: None,
                });
            }
            "kernel" | "linux" | "com32" | "boot" | "bss" | "pxe" | "fdimage" | "comboot" => {
                let kind = match k.as_str() {
                    "kernel" => KernelKind::Auto,
                    "linux" => KernelKind::Linux,
                    "com32" => KernelKind::Com32,
                    _ => KernelKind::Other,
                };
                match self.label.as_mut() {
                    Some(l) => l.kernel = Some((kind, rest.to_string(), n)),
                    None => self.outside_label(file, n, kw),
                }
            }
            "append" => match self.label.as_mut() {
                Some(l) => l.append = Some(rest.to_string()),
                None => self.global_append = Some(rest.to_string()),
            },
            "initrd" => match self.label.as_mut() {
                Some(l) => l.initrd = Some(rest.to_string()),
                None => self.outside_label(file, n, kw),
            },
            "ipappend" | "sysappend" => match parse_bits(rest) {
                Some(bits) => match self.label.as_mut() {
                    Some(l) => l.ipappend = Some(bits),
                    None => self.global_ipappend = Some(bits),
                },
                None => self.warn(
                    file,
                    n,
                    format!(
                        "{} '{}' is not a number; line skipped",
                        kw.to_ascii_uppercase(),
                        snippet(rest)
                    ),
                ),
            },
            "localboot" => match self.label.as_mut() {
                Some(l) => l.localboot = true,
                None => self.outside_label(file, n, kw),
            },
            "config" => {
                let (target, _dir) = first_word(rest);
                if target.is_empty() {
                    self.warn(file, n, "CONFIG without a file name; line skipped");
                    return;
                }
                match self.label.as_mut() {
                    Some(l) => l.config = Some(target.to_string()),
                    None => {
                        // A global CONFIG restarts pxelinux with another file; offer it as an
                        // entry instead of following it blindly.
                        self.warn(
                            file,
                            n,
                            "CONFIG outside a LABEL is offered as a menu entry 'config'",
                        );
                        self.end_label();
                        self.label = Some(Label {
                            file: file.clone(),
                            line: n,
                            name: "config".to_string(),
                            title: Some(format!("Load {target}")),
                            hotkey: None,
                            kernel: None,
                            append: None,
                            initrd: None,
                            ipappend: None,
                            localboot: false,
                            config: Some(target.to_string()),
                            exit: false,
                            menu_default: false,
                            hidden: false,
                            disabled: false,
                            help: None,
                            unsupported: None,
                        });
                        self.end_label();
                    }
                }
            }
            "include" => {
                let (target, _) = first_word(rest);
                self.include(file, n, target);
            }
            "path" => self.warn(
                file,
                n,
                "PATH is ignored: kboot finds modules by itself and runs none",
            ),
            "menu" => self.menu_keyword(file, n, rest),
            "endtext" => self.warn(file, n, "ENDTEXT without TEXT HELP is ignored"),
            _ if IGNORED.contains(&k.as_str()) => {}
            _ => self.warn(
                file,
                n,
                format!("unknown keyword '{}'; line ignored", snippet(kw)),
            ),
        }
    }

    fn outside_label(&mut self, file: &str, n: usize, kw: &str) {
        self.warn(
            file,
            n,
            format!(
                "{} outside a LABEL is ignored",
                snippet(&kw.to_ascii_uppercase())
            ),
        );
    }

    fn menu_keyword(&mut self, file: &Rc<str>, n: usize, rest: &str) {
        let (sub, arg) = first_word(rest);
        let s = sub.to_ascii_lowercase();
        match s.as_str() {
            "title" => {
                let title = (!arg.is_empty()).then(|| arg.to_string());
                if self.levels.len() > 1 {
                    if let Some(l) = self.levels.last_mut() {
                        l.title = title;
                    }
                } else {
                    self.menu.title = title;
                }
            }
            "label" => {
                let (title, hotkey) = hotkey_title(arg);
                match self.label.as_mut() {
                    Some(l) => {
                        l.title = Some(title);
                        l.hotkey = hotkey;
                    }
                    None => {
                        let depth = self.levels.len();
                        match self.levels.last_mut() {
                            Some(l) if depth > 1 && !l.had_label => {
                                l.label_title = Some((title, hotkey))
                            }
                            _ => self.warn(file, n, "MENU LABEL outside a LABEL is ignored"),
                        }
                    }
                }
            }
            "default" => match self.label.as_mut() {
                Some(l) => l.menu_default = true,
                None => self.outside_label(file, n, "MENU DEFAULT"),
            },
            "hide" => match self.label.as_mut() {
                Some(l) => l.hidden = true,
                None => self.outside_label(file, n, "MENU HIDE"),
            },
            "disable" => match self.label.as_mut() {
                Some(l) => l.disabled = true,
                None => self.outside_label(file, n, "MENU DISABLE"),
            },
            "exit" => match self.label.as_mut() {
                Some(l) => l.exit = true,
                None => self.outside_label(file, n, "MENU EXIT"),
            },
            "goto" | "quit" => match self.label.as_mut() {
                Some(l) => {
                    l.unsupported = Some(format!(
                        "MENU {} is not supported by kboot",
                        s.to_ascii_uppercase()
                    ))
                }
                None => self.outside_label(file, n, &format!("MENU {}", sub)),
            },
            "begin" => {
                let (tag, _) = first_word(arg);
                self.begin(file, n, (!tag.is_empty()).then(|| tag.to_string()));
            }
            "end" => self.end(file, n),
            "include" => {
                let (target, tag) = first_word(arg);
                let (tag, _) = first_word(tag);
                if tag.is_empty() {
                    self.include(file, n, target);
                } else {
                    self.begin(file, n, Some(tag.to_string()));
                    self.include(file, n, target);
                    self.end(file, n);
                }
            }
            _ if MENU_IGNORED.contains(&s.as_str()) => {}
            _ => self.warn(
                file,
                n,
                format!("unknown keyword 'MENU {}'; line ignored", snippet(sub)),
            ),
        }
    }

    fn begin(&mut self, file: &Rc<str>, n: usize, tag: Option<String>) {
        self.end_label();
        if self.levels.len() > MAX_MENU_DEPTH || self.flattened > 0 {
            if self.flattened == 0 {
                self.warn(
                    file,
                    n,
                    format!(
                        "submenus nested deeper than {MAX_MENU_DEPTH} levels are read into their parent"
                    ),
                );
            }
            self.flattened += 1;
            return;
        }
        self.levels.push(Level::new(file.clone(), n, tag));
    }

    fn end(&mut self, file: &Rc<str>, n: usize) {
        self.end_label();
        if self.flattened > 0 {
            self.flattened -= 1;
            return;
        }
        if self.levels.len() <= 1 {
            self.warn(file, n, "MENU END without MENU BEGIN is ignored");
            return;
        }
        self.close_level();
    }

    /// Pop the innermost submenu into its parent as an entry.
    fn close_level(&mut self) {
        let Some(level) = self.levels.pop() else {
            return;
        };
        self.submenu_counter += 1;
        let base_id = level
            .tag
            .clone()
            .unwrap_or_else(|| format!("submenu-{}", self.submenu_counter));
        let (title, hotkey) = match (&level.title, &level.label_title) {
            (_, Some((t, h))) => (t.clone(), *h),
            (Some(t), None) => (t.clone(), None),
            (None, None) => (base_id.clone(), None),
        };
        if level.entries.is_empty() {
            self.warn(
                &level.file,
                level.line,
                format!("submenu '{}' has no entries", snippet(&title)),
            );
        }
        let Some(parent) = self.levels.last_mut() else {
            return;
        };
        let (id, renamed) = parent.unique_id(&base_id);
        parent.entries.push(Entry {
            id: id.clone(),
            title,
            children: level.entries,
            hotkey,
            ..Default::default()
        });
        if renamed {
            self.warn(
                &level.file,
                level.line,
                format!(
                    "submenu '{}' repeats an id in its menu; it is '{id}' here",
                    snippet(&base_id)
                ),
            );
        }
    }

    fn include(&mut self, file: &Rc<str>, n: usize, target: &str) {
        if target.is_empty() {
            self.warn(file, n, "INCLUDE without a file name; line skipped");
            return;
        }
        let url = match self.resolve(target) {
            Ok(u) => u,
            Err(e) => {
                self.warn(file, n, format!("INCLUDE skipped: {e}"));
                return;
            }
        };
        if url == self.url || self.include_stack.contains(&url) {
            self.warn(
                file,
                n,
                format!("INCLUDE of '{url}' loops back to a file being read; skipped"),
            );
            return;
        }
        if self.include_stack.len() >= MAX_INCLUDE_DEPTH {
            self.warn(
                file,
                n,
                format!(
                    "INCLUDE of '{url}' is nested deeper than {MAX_INCLUDE_DEPTH} files; skipped"
                ),
            );
            return;
        }
        if self.includes_left == 0 {
            self.warn(
                file,
                n,
                format!("INCLUDE of '{url}' skipped: more than {MAX_INCLUDES} files included"),
            );
            return;
        }
        self.includes_left -= 1;
        match (self.fetch)(&url) {
            Ok(text) => {
                self.include_stack.push(url.clone());
                self.file(&text, Rc::from(url.as_str()));
                self.include_stack.pop();
            }
            Err(e) => self.warn(
                file,
                n,
                format!("INCLUDE of '{url}' failed ({e}); the rest of the menu is kept"),
            ),
        }
    }

    /// Finish the current `LABEL`: turn it into an entry of the current level.
    fn end_label(&mut self) {
        let Some(l) = self.label.take() else {
            return;
        };
        if l.name.is_empty() || l.disabled {
            return;
        }
        let (file, line, name) = (l.file.clone(), l.line, l.name.clone());
        let menu_default = l.menu_default && !l.hidden;
        match self.build(l) {
            Ok(e) => {
                let depth = self.levels.len();
                let Some(level) = self.levels.last_mut() else {
                    return;
                };
                let (id, renamed) = level.unique_id(&e.id);
                level.entries.push(Entry {
                    id: id.clone(),
                    ..e
                });
                if renamed {
                    self.warn(
                        &file,
                        line,
                        format!(
                            "label '{}' is repeated in its menu; this one is '{}'",
                            snippet(&name),
                            snippet(&id)
                        ),
                    );
                }
                if menu_default && depth == 1 {
                    self.menu_default = Some(id);
                }
            }
            Err(msg) => self.warn(
                &file,
                line,
                format!("label '{}' skipped: {msg}", snippet(&name)),
            ),
        }
    }

    fn build(&mut self, l: Label) -> Result<Entry, String> {
        let title = l.title.clone().unwrap_or_else(|| l.name.clone());
        let mut e = Entry {
            id: l.name.clone(),
            title,
            hotkey: l.hotkey,
            help: l.help.clone(),
            hidden: l.hidden,
            handoff: Handoff::Pxelinux(l.ipappend.or(self.global_ipappend).unwrap_or(0)),
            ..Default::default()
        };
        if let Some(why) = l.unsupported {
            return Err(why);
        }
        if l.exit {
            e.action = Some(Action::Exit);
            return Ok(e);
        }
        if let Some(c) = &l.config {
            e.action = Some(Action::Chain(self.resolve(c)?));
            return Ok(e);
        }
        if l.localboot {
            e.action = Some(Action::LocalBoot);
            return Ok(e);
        }
        let Some((kind, kernel_line, _)) = l.kernel else {
            return Err("it has no KERNEL, LINUX, LOCALBOOT or CONFIG".to_string());
        };
        let (kernel, kernel_args) = first_word(&kernel_line);
        if kernel.is_empty() {
            return Err("its KERNEL line names no file".to_string());
        }
        let append = l.append.or_else(|| self.global_append.clone());
        let append = match append.as_deref().map(str::trim) {
            Some("-") | None => String::new(),
            Some(a) => a.to_string(),
        };
        let base = basename(kernel).to_ascii_lowercase();
        let ext = base.rsplit_once('.').map(|(_, x)| x).unwrap_or("");
        let is_module = kind == KernelKind::Com32
            || (kind == KernelKind::Auto && (ext == "c32" || ext == "cbt" || ext == "com"));
        if is_module {
            let module = base.strip_suffix(".c32").unwrap_or(&base);
            return match module {
                "menu" | "vesamenu" => {
                    let (cfg, _) = first_word(&append);
                    if cfg.is_empty() {
                        Err(format!("'{base}' with no config file just shows this menu"))
                    } else {
                        e.action = Some(Action::Chain(self.resolve(cfg)?));
                        Ok(e)
                    }
                }
                "reboot" => {
                    e.action = Some(Action::Reboot);
                    Ok(e)
                }
                "poweroff" => {
                    e.action = Some(Action::PowerOff);
                    Ok(e)
                }
                _ => Err(format!("the COM32 module '{base}' cannot be run by kboot")),
            };
        }
        if kind == KernelKind::Other
            || (kind == KernelKind::Auto
                && matches!(ext, "0" | "bs" | "bss" | "bin" | "img" | "pxe"))
        {
            return Err(format!(
                "'{base}' is a boot sector, disk image or PXE program, which kboot cannot start"
            ));
        }
        if base == "memdisk" {
            return Err("memdisk images cannot be booted by kboot".to_string());
        }
        e.kernel = Some(self.resolve(kernel)?);
        for i in l.initrd.as_deref().map(comma_list).unwrap_or_default() {
            e.initrds.push(self.resolve(&i)?);
        }
        let mut args = Vec::new();
        for word in cmdline::split(kernel_args)
            .into_iter()
            .chain(cmdline::split(&append))
        {
            if cmdline::param_key(&word) == "initrd" {
                let v = cmdline::param_value(&word).unwrap_or_default();
                for i in comma_list(&v) {
                    e.initrds.push(self.resolve(&i)?);
                }
            } else {
                args.push(word);
            }
        }
        e.cmdline = cmdline::join(&args);
        Ok(e)
    }

    fn finish(mut self) -> Menu {
        self.end_label();
        while self.levels.len() > 1 {
            if let Some(l) = self.levels.last() {
                let (file, line) = (l.file.clone(), l.line);
                self.warn(
                    &file,
                    line,
                    "MENU BEGIN has no MENU END; the submenu ends with the file",
                );
            }
            self.close_level();
        }
        let Some(top) = self.levels.pop() else {
            return self.menu;
        };
        self.menu.entries = top.entries;
        let mut ids = top.ids;

        let mut default = None;
        for (which, cmd) in [
            ("ONTIMEOUT", self.ontimeout.take()),
            ("DEFAULT", self.default_cmd.take()),
        ] {
            let Some((file, line, cmd)) = cmd else {
                continue;
            };
            let (first, args) = first_word(&cmd);
            if first.is_empty() {
                continue;
            }
            if is_menu_module(first) {
                self.has_ui = true;
                continue;
            }
            if default.is_some() {
                continue;
            }
            if self.menu.find(first).is_some() {
                if !args.is_empty() {
                    self.warn(
                        &file,
                        line,
                        format!(
                            "{which} arguments after label '{}' are ignored",
                            snippet(first)
                        ),
                    );
                }
                default = Some(first.to_string());
                continue;
            }
            if self
                .menu
                .entries
                .iter()
                .any(|e| contains_id(&e.children, first))
            {
                self.warn(
                    &file,
                    line,
                    format!(
                        "{which} '{}' is a label inside a submenu, which kboot cannot make the default",
                        snippet(first)
                    ),
                );
                continue;
            }
            if first.to_ascii_lowercase().ends_with(".c32") {
                self.warn(
                    &file,
                    line,
                    format!(
                        "{which} '{}' is a COM32 module kboot cannot run; ignored",
                        snippet(first)
                    ),
                );
                continue;
            }
            // A kernel command line: pxelinux boots it as written.
            let label = Label {
                file: file.clone(),
                line,
                name: which.to_ascii_lowercase(),
                title: Some(cmd.clone()),
                hotkey: None,
                kernel: Some((KernelKind::Auto, cmd.clone(), line)),
                append: Some("-".to_string()),
                initrd: None,
                ipappend: None,
                localboot: false,
                config: None,
                exit: false,
                menu_default: false,
                hidden: false,
                disabled: false,
                help: None,
                unsupported: None,
            };
            match self.build(label) {
                Ok(mut e) => {
                    let mut id = e.id.clone();
                    let mut k = 2;
                    while ids.contains(&id) {
                        id = format!("{}~{k}", e.id);
                        k += 1;
                    }
                    ids.insert(id.clone());
                    e.id = id.clone();
                    self.warn(
                        &file,
                        line,
                        format!(
                            "{which} '{}' names no label; it is booted as a kernel command line (entry '{id}')",
                            snippet(&cmd)
                        ),
                    );
                    self.menu.entries.push(e);
                    default = Some(id);
                }
                Err(msg) => self.warn(&file, line, format!("{which} ignored: {msg}")),
            }
        }
        self.menu.default = default.or(self.menu_default.take());

        let tenths = match (self.timeout, self.total_timeout) {
            (Some(t), _) if t > 0 => Some(t),
            (_, Some(t)) if t > 0 => Some(t),
            _ => None,
        };
        self.menu.timeout_ms = tenths.map(|t| t.saturating_mul(100));
        if !self.has_ui && !self.prompt && self.menu.default.is_some() {
            // No menu and no prompt: pxelinux boots the default at once.
            self.menu.timeout_ms = Some(0);
        }
        self.menu
    }
}

fn contains_id(entries: &[Entry], id: &str) -> bool {
    entries
        .iter()
        .any(|e| e.id == id || contains_id(&e.children, id))
}

fn is_menu_module(word: &str) -> bool {
    let b = basename(word).to_ascii_lowercase();
    let b = b.strip_suffix(".c32").unwrap_or(&b);
    b == "menu" || b == "vesamenu"
}

fn basename(path: &str) -> &str {
    path.rsplit(['/', ':']).next().unwrap_or(path)
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// IPAPPEND/SYSAPPEND value: decimal or `0x` hex.
fn parse_bits(s: &str) -> Option<u32> {
    let (w, _) = first_word(s);
    match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => w.parse().ok(),
    }
}

/// `MENU LABEL` text: the `^` before a character marks it as the hotkey; the marks are not
/// shown.
fn hotkey_title(s: &str) -> (String, Option<char>) {
    let mut title = String::with_capacity(s.len());
    let mut hotkey = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '^' {
            if let Some(&next) = chars.peek() {
                if hotkey.is_none() && !next.is_whitespace() && next != '^' {
                    hotkey = Some(next.to_ascii_lowercase());
                }
            }
            continue;
        }
        title.push(c);
    }
    (title, hotkey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const URL: &str = "tftp://10.0.2.2/boot/pxelinux.cfg/default";

    fn p_with(text: &str, files: &[(&str, &str)]) -> Menu {
        let files: HashMap<String, String> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut fetch = |u: &str| {
            files
                .get(u)
                .cloned()
                .ok_or_else(|| format!("{u} does not exist"))
        };
        parse(text, URL, &ParseContext::default(), &mut fetch)
    }

    fn p(text: &str) -> Menu {
        p_with(text, &[])
    }

    #[test]
    fn basic_label_and_paths() {
        let m = p("UI menu.c32\nDEFAULT linux\nTIMEOUT 50\nLABEL linux\n  KERNEL vmlinuz\n  APPEND initrd=a.img,/b.img quiet initrd=::c.img console=ttyS0\n");
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.default.as_deref(), Some("linux"));
        assert_eq!(m.timeout_ms, Some(5000));
        let e = &m.entries[0];
        assert_eq!(e.kernel.as_deref(), Some("tftp://10.0.2.2/boot/vmlinuz"));
        assert_eq!(
            e.initrds,
            vec![
                "tftp://10.0.2.2/boot/a.img",
                "tftp://10.0.2.2/b.img",
                "tftp://10.0.2.2/c.img"
            ]
        );
        assert_eq!(e.cmdline, "quiet console=ttyS0");
        assert_eq!(e.handoff, Handoff::Pxelinux(0));
    }

    #[test]
    fn tftp_root_without_pxelinux_cfg_is_the_config_dir() {
        assert_eq!(tftp_root(URL), "tftp://10.0.2.2/boot/");
        assert_eq!(
            tftp_root("http://h/x/syslinux.cfg"),
            "http://h/x/syslinux.cfg"
        );
        let mut f = |_: &str| Err("none".to_string());
        let m = parse(
            "LABEL a\nKERNEL k\n",
            "http://h/x/isolinux.cfg",
            &ParseContext::default(),
            &mut f,
        );
        assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h/x/k"));
    }

    #[test]
    fn full_urls_stay() {
        let m = p("LABEL a\nLINUX http://s/k\nINITRD http://s/i1,i2\n");
        let e = &m.entries[0];
        assert_eq!(e.kernel.as_deref(), Some("http://s/k"));
        assert_eq!(e.initrds, vec!["http://s/i1", "tftp://10.0.2.2/boot/i2"]);
    }

    #[test]
    fn initrd_keyword_then_append_initrds() {
        let m = p("LABEL a\nKERNEL k\nINITRD one\nAPPEND initrd=two x=1\n");
        assert_eq!(
            m.entries[0].initrds,
            vec!["tftp://10.0.2.2/boot/one", "tftp://10.0.2.2/boot/two"]
        );
        assert_eq!(m.entries[0].cmdline, "x=1");
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let m = p("label a\n  kernel k\n  Append quiet\n  menu LABEL ^Alpha\nmEnU dEfAuLt\n");
        assert_eq!(m.entries[0].title, "Alpha");
        assert_eq!(m.entries[0].hotkey, Some('a'));
        assert_eq!(m.default.as_deref(), Some("a"));
    }

    #[test]
    fn hotkey_marker_removed_from_title() {
        let m = p("LABEL x\nMENU LABEL Install in ^Expert mode\nKERNEL k\n");
        assert_eq!(m.entries[0].title, "Install in Expert mode");
        assert_eq!(m.entries[0].hotkey, Some('e'));
    }

    #[test]
    fn ipappend_and_sysappend_bits() {
        let m = p("IPAPPEND 2\nLABEL a\nKERNEL k\nLABEL b\nKERNEL k\nIPAPPEND 3\nLABEL c\nKERNEL k\nSYSAPPEND 0x1\n");
        assert_eq!(m.entries[0].handoff, Handoff::Pxelinux(2));
        assert_eq!(m.entries[1].handoff, Handoff::Pxelinux(3));
        assert_eq!(m.entries[2].handoff, Handoff::Pxelinux(1));
    }

    #[test]
    fn append_dash_and_global_append() {
        let m = p("APPEND root=/dev/nfs\nLABEL a\nKERNEL k\nLABEL b\nKERNEL k\nAPPEND -\nLABEL c\nKERNEL k\nAPPEND own\n");
        assert_eq!(m.entries[0].cmdline, "root=/dev/nfs");
        assert_eq!(m.entries[1].cmdline, "");
        assert_eq!(m.entries[2].cmdline, "own");
    }

    #[test]
    fn localboot_exit_config_and_modules() {
        let m = p("LABEL local\nLOCALBOOT 0\nLABEL other\nCONFIG ::other/menu.cfg\nLABEL m\nKERNEL vesamenu.c32\nAPPEND pxelinux.cfg/rescue\nLABEL r\nCOM32 reboot.c32\nLABEL off\nKERNEL poweroff.c32\nLABEL chain\nKERNEL chain.c32\nAPPEND hd0\nLABEL md\nKERNEL memdisk\nAPPEND initrd=fd.img\nLABEL px\nKERNEL ipxe.0\n");
        let a: Vec<_> = m
            .entries
            .iter()
            .map(|e| (e.id.as_str(), e.action.clone()))
            .collect();
        assert_eq!(
            a,
            vec![
                ("local", Some(Action::LocalBoot)),
                (
                    "other",
                    Some(Action::Chain("tftp://10.0.2.2/other/menu.cfg".into()))
                ),
                (
                    "m",
                    Some(Action::Chain(
                        "tftp://10.0.2.2/boot/pxelinux.cfg/rescue".into()
                    ))
                ),
                ("r", Some(Action::Reboot)),
                ("off", Some(Action::PowerOff)),
            ]
        );
        assert_eq!(m.warnings.len(), 3, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("chain.c32"));
        assert!(m.warnings[1].contains("memdisk"));
        assert!(m.warnings[2].starts_with(&format!("{URL} line 18:")));
    }

    #[test]
    fn submenus_with_repeated_labels_and_exit() {
        let m = p("MENU TITLE Top\nLABEL install\nKERNEL k\nMENU BEGIN adv\nMENU TITLE Advanced\nLABEL back\nMENU LABEL ^Back\nMENU EXIT\nLABEL install\nKERNEL k2\nMENU END\nMENU BEGIN\nMENU LABEL Untagged\nLABEL install\nKERNEL k3\nMENU END\n");
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.title.as_deref(), Some("Top"));
        assert_eq!(m.entries.len(), 3);
        let adv = &m.entries[1];
        assert_eq!((adv.id.as_str(), adv.title.as_str()), ("adv", "Advanced"));
        assert_eq!(adv.children[0].action, Some(Action::Exit));
        assert_eq!(adv.children[0].hotkey, Some('b'));
        assert_eq!(adv.children[1].id, "install");
        assert_eq!(
            adv.children[1].kernel.as_deref(),
            Some("tftp://10.0.2.2/boot/k2")
        );
        let un = &m.entries[2];
        assert_eq!(
            (un.id.as_str(), un.title.as_str()),
            ("submenu-2", "Untagged")
        );
        assert_eq!(un.children[0].id, "install");
    }

    #[test]
    fn repeated_label_in_the_same_menu_gets_a_suffix() {
        let m = p("LABEL a\nKERNEL k\nLABEL a\nKERNEL k2\n");
        assert_eq!(m.entries[1].id, "a~2");
        assert_eq!(m.warnings.len(), 1);
    }

    #[test]
    fn menu_end_without_begin_and_unterminated_begin() {
        let m = p("MENU END\nLABEL a\nKERNEL k\nMENU BEGIN x\nLABEL b\nKERNEL k\n");
        assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("line 1: MENU END without MENU BEGIN"));
        assert_eq!(m.entries[1].children[0].id, "b");
    }

    #[test]
    fn text_help_and_hide() {
        let m = p("LABEL a\nKERNEL k\nMENU HIDE\nTEXT HELP\n  Boots the thing.\n  Second line.\nENDTEXT\nLABEL b\nKERNEL k\n");
        assert_eq!(
            m.entries[0].help.as_deref(),
            Some("  Boots the thing.\n  Second line.")
        );
        assert!(m.entries[0].hidden);
        assert!(!m.entries[1].hidden);
    }

    #[test]
    fn include_chain_relative_to_tftp_root() {
        let m = p_with(
            "INCLUDE menus/a.cfg\nLABEL top\nKERNEL k\n",
            &[
                (
                    "tftp://10.0.2.2/boot/menus/a.cfg",
                    "LABEL a\nKERNEL ka\nMENU INCLUDE menus/b.cfg sub\n",
                ),
                ("tftp://10.0.2.2/boot/menus/b.cfg", "LABEL b\nKERNEL kb\n"),
            ],
        );
        assert_eq!(m.warnings, Vec::<String>::new());
        let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "sub", "top"]);
        assert_eq!(
            m.entries[1].children[0].kernel.as_deref(),
            Some("tftp://10.0.2.2/boot/kb")
        );
    }

    #[test]
    fn include_loop_and_missing_include_keep_the_rest() {
        let m = p_with(
            "INCLUDE a.cfg\nINCLUDE missing.cfg\nLABEL z\nKERNEL k\n",
            &[(
                "tftp://10.0.2.2/boot/a.cfg",
                "LABEL a\nKERNEL k\nINCLUDE a.cfg\nINCLUDE pxelinux.cfg/default\n",
            )],
        );
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.warnings.len(), 3, "{:?}", m.warnings);
        assert!(m.warnings[0].starts_with("tftp://10.0.2.2/boot/a.cfg line 3:"));
        assert!(m.warnings[0].contains("loops back"));
        assert!(m.warnings[2].contains("missing.cfg"));
    }

    #[test]
    fn default_precedence() {
        // DEFAULT naming a label wins over MENU DEFAULT (syslinux applies it last).
        let m = p("DEFAULT b\nLABEL a\nKERNEL k\nMENU DEFAULT\nLABEL b\nKERNEL k\n");
        assert_eq!(m.default.as_deref(), Some("b"));
        // DEFAULT vesamenu.c32: MENU DEFAULT decides; menu shown, no instant boot.
        let m = p("DEFAULT vesamenu.c32\nLABEL a\nKERNEL k\nLABEL b\nKERNEL k\nMENU DEFAULT\n");
        assert_eq!(m.default.as_deref(), Some("b"));
        assert_eq!(m.timeout_ms, None);
        // ONTIMEOUT wins for the countdown (cobbler style).
        let m = p("DEFAULT menu\nPROMPT 0\nTIMEOUT 200\nTOTALTIMEOUT 6000\nONTIMEOUT local\nLABEL linux\nKERNEL k\nMENU DEFAULT\nLABEL local\nLOCALBOOT -1\n");
        assert_eq!(m.default.as_deref(), Some("local"));
        assert_eq!(m.timeout_ms, Some(20_000));
        assert_eq!(m.warnings, Vec::<String>::new());
    }

    #[test]
    fn default_command_line_synthesizes_an_entry() {
        let m = p("PROMPT 1\nDEFAULT vmlinuz initrd=i.img quiet\n");
        assert_eq!(m.default.as_deref(), Some("default"));
        let e = &m.entries[0];
        assert_eq!(e.kernel.as_deref(), Some("tftp://10.0.2.2/boot/vmlinuz"));
        assert_eq!(e.initrds, vec!["tftp://10.0.2.2/boot/i.img"]);
        assert_eq!(e.cmdline, "quiet");
        assert_eq!(m.warnings.len(), 1);
    }

    #[test]
    fn no_menu_no_prompt_boots_at_once() {
        let m = p("DEFAULT a\nTIMEOUT 30\nLABEL a\nKERNEL k\n");
        assert_eq!(m.timeout_ms, Some(0));
        let m = p("DEFAULT a\nPROMPT 1\nTIMEOUT 30\nLABEL a\nKERNEL k\n");
        assert_eq!(m.timeout_ms, Some(3000));
        let m = p("UI menu.c32\nTIMEOUT 0\nTOTALTIMEOUT 9\nLABEL a\nKERNEL k\n");
        assert_eq!(m.timeout_ms, Some(900));
        let m = p("UI menu.c32\nTIMEOUT 0\nLABEL a\nKERNEL k\n");
        assert_eq!(m.timeout_ms, None);
    }

    #[test]
    fn default_inside_submenu_warns() {
        let m = p("UI menu.c32\nDEFAULT inner\nMENU BEGIN s\nLABEL inner\nKERNEL k\nMENU END\n");
        assert_eq!(m.default, None);
        assert!(
            m.warnings[0].contains("inside a submenu"),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn unknown_ignored_and_path() {
        let m = p("SAY hello\nMENU COLOR border 0 #ffffffff #00000000\nMENU BACKGROUND x.png\nFROB 1\nPATH /lib\nMENU WIBBLE\n# comment\nF1 help.txt\n");
        assert_eq!(m.warnings.len(), 3, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("line 4: unknown keyword 'FROB'"));
        assert!(m.warnings[1].contains("line 5: PATH"));
        assert!(m.warnings[2].contains("'MENU WIBBLE'"));
    }

    #[test]
    fn crlf_bom_and_missing_kernel() {
        let m = p("\u{feff}LABEL a\r\n  KERNEL k\r\n  APPEND quiet\r\nLABEL b\r\n  APPEND x\r\n");
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].cmdline, "quiet");
        assert!(m.warnings[0].contains("line 4: label 'b' skipped"));
    }

    #[test]
    fn junk_and_huge_lines_do_not_panic() {
        let huge = format!(
            "LABEL {}\nKERNEL {}\nAPPEND {}\n",
            "é".repeat(5000),
            "ü".repeat(70_000),
            "x ".repeat(100_000)
        );
        let m = p(&huge);
        assert_eq!(m.entries.len(), 1);
        let junk: String = (0u32..3000)
            .filter_map(|i| char::from_u32(i * 37 % 0x3000))
            .collect();
        let _ = p(&junk);
        let _ = p("MENU BEGIN\n".repeat(1000).as_str());
        let _ = p("TEXT HELP\nLABEL x");
        let _ = p("MENU INCLUDE\nINCLUDE\nLABEL\nMENU LABEL ^\nTIMEOUT -1\nIPAPPEND x\n");
    }

    #[test]
    fn deep_submenus_are_flattened() {
        let m = p(&format!(
            "{}LABEL x\nKERNEL k\n{}",
            "MENU BEGIN\n".repeat(100),
            "MENU END\n".repeat(100)
        ));
        let mut depth = 0;
        let mut e = &m.entries[0];
        while let Some(c) = e.children.first() {
            depth += 1;
            e = c;
        }
        assert_eq!(depth, MAX_MENU_DEPTH);
        assert_eq!(e.id, "x");
    }

    #[test]
    fn every_prefix_and_splice_of_a_sample_parses() {
        // A cheap stand-in for the fuzz target: cut and splice a sample at every character
        // boundary, with a fetcher that returns the same text for every include.
        let sample: &str = "DEFAULT vesamenu.c32\nMENU TITLE T\nINCLUDE a.cfg\nLABEL a\n MENU LABEL ^A\n KERNEL k\n APPEND initrd=i quiet\nMENU BEGIN s\nTEXT HELP\nhi\nENDTEXT\nLABEL b\nLOCALBOOT 0\nMENU END\nIPAPPEND 3\n";
        let cuts: Vec<usize> = sample.char_indices().map(|(i, _)| i).collect();
        for &i in &cuts {
            for text in [&sample[..i], &sample[i..]] {
                let owned = format!("{text}{text}");
                let mut fetch = |_: &str| Ok(owned.clone());
                let _ = parse(text, URL, &ParseContext::default(), &mut fetch);
            }
        }
    }
}
