//! iPXE scripts (netboot.md §5), run symbolically into a [`Menu`].
//!
//! kboot does not interpret an iPXE script the way iPXE does (one path, driven by the user);
//! it explores every path a user could take and records where each one ends:
//! - `menu`/`item`/`choose VAR` forks: for each item, VAR is set to the item's label and the
//!   rest of the script runs (usually `&& goto ${VAR}`). Each item becomes an [`Entry`]; a
//!   `choose` reached from inside an item's path becomes a submenu (its `children`).
//! - `kernel`/`initrd`/`imgargs`/`boot` (and `chain` of a kernel) end a path with a bootable
//!   entry: kernel + initrds + the kernel's arguments (`initrd=` arguments, which only name
//!   the loaded initrds, are dropped).
//! - `chain` of a script is followed: the script is fetched through the [`Fetcher`] and run
//!   inline with the same variables (its `exit` returns to the caller, as in iPXE). If the
//!   fetch fails the entry becomes [`Action::Chain`] so the script is loaded when chosen.
//! - `exit` at the top level → [`Action::LocalBoot`]; `reboot` → [`Action::Reboot`];
//!   `poweroff` → [`Action::PowerOff`]; `shell` → [`Action::Exit`] (kboot's prompt stands in
//!   for iPXE's shell); `sanboot` with no URI → [`Action::LocalBoot`].
//! - `sanboot URI` (iSCSI, AoE, HTTP SAN) → an entry with no kernel and a warning holding
//!   `kboot.sanboot=URI`: kexec cannot start a disk's own boot loader.
//! - `sanhook URI` then `kernel`/`initrd`/`boot` → that kernel with the iSCSI disk as its
//!   diskless root (docs/diskless.md): CHAP from `username`/`password` (and the `reverse-`
//!   pair), the initiator from `initiator-iqn`; `sanunhook` forgets the disk. Other SAN kinds
//!   are warned about and left out.
//! - An item whose path comes back to its own menu (a "refresh" or a settings toggle) is left
//!   out; one that comes back to an enclosing menu ("back") becomes [`Action::Exit`].
//!
//! Conditions: `isset`, `iseq` are evaluated when every variable they read is known (set by
//! the script or from the lease in [`ParseContext`]); otherwise, and for every command whose
//! outcome depends on the network or the user (`dhcp`, `kernel URL`, `chain`, ...), the
//! success path is taken. `prompt --timeout` is taken as "no key pressed". A command that
//! fails with no `||` to catch it ends the script (as iPXE does). `${name}` and
//! `${name:type}` expand late, per command; `${net0/mac}`, `${mac}`, `${ip}`, `${next-server}`,
//! `${hostname}`, `${uuid}` come from the lease, `${platform}` is `efi` or `pcbios`,
//! `${buildarch}` is kboot's architecture (`x86_64`), `${cwuri}`/`${cwduri}` the script's own
//! location. Display and trust commands (`echo`, `prompt`, `sleep`, `console`, `cpair`,
//! `colour`, `imgverify`, `imgtrust`, ...) are ignored; unknown commands are warnings.
//!
//! Everything is bounded: goto loops, menu nesting ([`MAX_MENU_DEPTH`]), chained scripts
//! ([`MAX_INCLUDE_DEPTH`]), fetches, and the total work. Problems never fail the parse: each
//! becomes a `<script> line N: ...` warning.

use super::snippet;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::cmdline;
use crate::config::include::{Fetcher, ParseContext, MAX_INCLUDE_DEPTH};
use crate::config::model::{Action, Diskless};
use crate::config::{Entry, Menu};
use crate::fetch::url::resolve;

/// Submenus nest at most this deep.
pub const MAX_MENU_DEPTH: usize = 8;
/// Distinct chained scripts fetched per parse.
pub const MAX_FETCHES: usize = 64;
/// Commands executed along one path before it is declared a loop.
const MAX_BRANCH_STEPS: usize = 100_000;
/// Commands executed in total, over every path.
const MAX_TOTAL_STEPS: usize = 500_000;
/// Menu items explored in total (each is one path to follow and remember).
const MAX_PATHS: usize = 20_000;
/// How often one label may be jumped to along one path.
const MAX_LABEL_VISITS: u32 = 64;
/// Expanded commands longer than this are cut short (a runaway `${...}`).
const MAX_EXPANDED: usize = 64 * 1024;
/// Warnings kept per parse (the rest are counted).
const MAX_WARNINGS: usize = 200;

/// iPXE's `${buildarch}` for kboot's own architecture.
pub const BUILDARCH: &str = if cfg!(target_arch = "x86_64") {
    "x86_64"
} else if cfg!(target_arch = "x86") {
    "i386"
} else if cfg!(target_arch = "aarch64") {
    "arm64"
} else if cfg!(target_arch = "arm") {
    "arm32"
} else if cfg!(target_arch = "riscv64") {
    "riscv64"
} else if cfg!(target_arch = "loongarch64") {
    "loong64"
} else {
    "unknown"
};

/// Parse (run symbolically) an iPXE script fetched from `url`. Never fails: problems go to
/// `menu.warnings`. `fetch` is called for scripts the script chains to.
pub fn parse(text: &str, url: &str, ctx: &ParseContext, fetch: &mut Fetcher) -> Menu {
    let mut it = Interp {
        scripts: Vec::new(),
        ctx,
        fetch,
        fetched: HashMap::new(),
        warnings: Vec::new(),
        warned: HashSet::new(),
        dropped: 0,
        total_steps: 0,
        paths: 0,
        budget_warned: false,
    };
    let first = it.load(text, url);
    let st = State::new(first);
    let outcome = it.run(st);
    let mut menu = Menu::default();
    match outcome {
        Outcome::Menu(m) => {
            menu.title = m.title.clone();
            menu.timeout_ms = m.timeout_ms;
            menu.entries = it.entries(*m.clone(), 0);
            menu.default = it.checked_default(&m, &menu.entries);
        }
        other => {
            let name = it.scripts.first().map_or("script", |s| s.name.as_str());
            let name = name.to_string();
            if let Some(e) = it.single_entry(other, &name) {
                menu.entries.push(e);
            }
        }
    }
    if it.dropped > 0 {
        it.warnings
            .push(format!("{} more warnings not shown", it.dropped));
    }
    menu.warnings = it.warnings;
    menu
}

/// How a command is joined to the previous one on its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    First,
    And,
    Or,
}

/// One logical line: its number (of its first physical line) and its commands.
#[derive(Debug)]
struct Line {
    n: usize,
    cmds: Vec<(Op, Vec<String>)>,
}

#[derive(Debug)]
struct Script {
    url: String,
    /// The file name, for warnings.
    name: String,
    lines: Rc<[Line]>,
    labels: HashMap<String, usize>,
}

/// One loaded image.
#[derive(Debug, Clone)]
struct Image {
    name: String,
    url: String,
    args: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct ItemDraft {
    label: String,
    text: String,
    key: Option<char>,
    default: bool,
}

#[derive(Debug, Clone, Default)]
struct MenuDraft {
    title: Option<String>,
    items: Vec<ItemDraft>,
}

/// Where a chained script returns to.
#[derive(Debug, Clone)]
struct Frame {
    script: usize,
    pc: usize,
    ci: usize,
}

/// The state of one path through the script(s).
#[derive(Debug, Clone)]
struct State {
    script: usize,
    pc: usize,
    /// Next command on line `pc`.
    ci: usize,
    status: bool,
    vars: HashMap<String, String>,
    /// Variables whose value only the user or the network knows (`read`).
    unknown: HashSet<String>,
    kernel: Option<Image>,
    initrds: Vec<Image>,
    /// The SAN disk attached by `sanhook` (a root for the target, not something kboot boots).
    san: Option<String>,
    menus: HashMap<String, MenuDraft>,
    frames: Vec<Frame>,
    /// `choose` sites (script, line) of the enclosing menus, outermost first.
    ancestors: Vec<(usize, usize)>,
    visits: HashMap<(usize, usize), u32>,
    steps: usize,
}

impl State {
    fn new(script: usize) -> State {
        State {
            script,
            pc: 0,
            ci: 0,
            status: true,
            vars: HashMap::new(),
            unknown: HashSet::new(),
            kernel: None,
            initrds: Vec::new(),
            san: None,
            menus: HashMap::new(),
            frames: Vec::new(),
            ancestors: Vec::new(),
            visits: HashMap::new(),
            steps: 0,
        }
    }
}

#[derive(Debug, Clone)]
struct MenuOutcome {
    title: Option<String>,
    default: Option<String>,
    timeout_ms: Option<u64>,
    /// Where the menu is (for warnings).
    at: String,
    items: Vec<(ItemDraft, Outcome)>,
}

/// Where one path ends.
#[derive(Debug, Clone)]
enum Outcome {
    Boot {
        kernel: String,
        initrds: Vec<String>,
        args: Vec<String>,
        /// The disk `sanhook` attached, as the target's diskless root.
        root: Option<Box<Diskless>>,
    },
    Menu(Box<MenuOutcome>),
    Chain(String),
    LocalBoot,
    Shell,
    Reboot,
    PowerOff,
    Sanboot(String),
    /// Came back to the enclosing menu at this index of `ancestors`.
    Back(usize),
    /// Nothing bootable: where and why.
    Nothing(String),
}

/// What executing one command does to the path.
enum Flow {
    Status(bool),
    Goto(usize),
    End(Outcome),
    Choose {
        draft: MenuDraft,
        var: String,
        default: Option<String>,
        timeout_ms: Option<u64>,
    },
    Enter(usize),
    Exit(bool),
}

struct Interp<'a, 'f> {
    scripts: Vec<Script>,
    ctx: &'a ParseContext,
    fetch: &'a mut Fetcher<'f>,
    /// Chained script URL → its index, or `None` when the fetch failed.
    fetched: HashMap<String, Option<usize>>,
    warnings: Vec<String>,
    warned: HashSet<String>,
    dropped: usize,
    total_steps: usize,
    paths: usize,
    budget_warned: bool,
}

/// The file name of a URL, for warnings.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    if name.is_empty() || name.contains("//") {
        url.to_string()
    } else {
        name.to_string()
    }
}

/// Split a line into raw tokens: whitespace separates them except inside quotes; a token
/// starting with `#` starts a comment. Quotes and backslashes are kept (removed after
/// expansion).
fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                }
            }
            None => {
                if c.is_whitespace() {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                } else if c == '#' && cur.is_empty() {
                    return out;
                } else {
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                    } else if c == '\\' {
                        escaped = true;
                    }
                    cur.push(c);
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Remove quotes and backslash escapes from an expanded token.
fn unquote(tok: &str) -> String {
    let mut out = String::with_capacity(tok.len());
    let mut quote: Option<char> = None;
    let mut chars = tok.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// Split tokens into commands at `||` and `&&`.
fn split_commands(tokens: Vec<String>) -> Vec<(Op, Vec<String>)> {
    let mut out = Vec::new();
    let mut op = Op::First;
    let mut cur = Vec::new();
    for t in tokens {
        match t.as_str() {
            "||" | "&&" => {
                out.push((op, std::mem::take(&mut cur)));
                op = if t == "||" { Op::Or } else { Op::And };
            }
            _ => cur.push(t),
        }
    }
    out.push((op, cur));
    out
}

/// Split a script into logical lines and labels.
fn load_script(text: &str, url: &str, warnings: &mut Vec<String>) -> Script {
    let name = file_name(url);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut labels = HashMap::new();
    let mut pending: Option<(usize, String)> = None;
    let mut first = true;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if first {
            first = false;
            let t = raw.trim();
            if t.starts_with("#!ipxe") || t.starts_with("#!gpxe") {
                continue;
            }
            warnings.push(format!(
                "{name} line 1: the script does not start with #!ipxe; parsed as iPXE anyway"
            ));
        }
        let (start, mut joined) = match pending.take() {
            Some((s, mut acc)) => {
                acc.push_str(raw);
                (s, acc)
            }
            None => (n, raw.to_string()),
        };
        // A backslash at the end continues the line (an escaped one does not).
        let trailing = joined.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            joined.pop();
            pending = Some((start, joined));
            continue;
        }
        push_line(&mut lines, &mut labels, start, &joined);
    }
    if let Some((start, joined)) = pending {
        push_line(&mut lines, &mut labels, start, &joined);
    }
    Script {
        url: url.to_string(),
        name,
        lines: lines.into(),
        labels,
    }
}

fn push_line(lines: &mut Vec<Line>, labels: &mut HashMap<String, usize>, n: usize, text: &str) {
    let t = text.trim();
    if t.is_empty() || t.starts_with('#') {
        return;
    }
    if let Some(label) = t.strip_prefix(':') {
        let label = label.split_whitespace().next().unwrap_or("");
        labels.entry(label.to_string()).or_insert(lines.len());
        return;
    }
    let tokens = tokenize(t);
    if tokens.is_empty() {
        return;
    }
    lines.push(Line {
        n,
        cmds: split_commands(tokens),
    });
}

/// Options of image commands: (`--name` value, the remaining arguments).
fn image_options(args: &[String]) -> (Option<String>, &[String], Vec<String>) {
    let mut name = None;
    let mut ignored = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "--name" | "-n" => {
                name = args.get(i + 1).cloned();
                i += 2;
            }
            "--timeout" | "-t" => i += 2,
            "--autofree" | "-a" | "--replace" | "-r" => i += 1,
            _ if a.starts_with("--name=") => {
                name = Some(a["--name=".len()..].to_string());
                i += 1;
            }
            _ if a.starts_with("--") && a.len() > 2 => {
                ignored.push(a.to_string());
                i += 1;
            }
            _ => break,
        }
    }
    (name, args.get(i..).unwrap_or(&[]), ignored)
}

/// What a `chain` target is, judged from its name.
#[derive(Debug, PartialEq, Eq)]
enum ChainKind {
    Kernel,
    Script,
    /// A firmware program (NBP, EFI binary, syslinux module) kboot cannot run.
    Firmware,
}

fn chain_kind(url: &str, args: &[String], have_initrds: bool) -> ChainKind {
    let name = file_name(url).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if matches!(
        ext,
        "efi"
            | "kpxe"
            | "kkpxe"
            | "kkkpxe"
            | "pxe"
            | "0"
            | "com"
            | "c32"
            | "iso"
            | "img"
            | "usb"
            | "dsk"
    ) {
        return ChainKind::Firmware;
    }
    if matches!(
        ext,
        "ipxe" | "gpxe" | "php" | "cgi" | "cfg" | "pl" | "py" | "txt" | "sh"
    ) {
        return ChainKind::Script;
    }
    let kernelish = [
        "vmlinuz", "vmlinux", "bzimage", "linux", "kernel", ".lkrn", "memdisk", "wimboot",
    ];
    if have_initrds
        || kernelish.iter().any(|k| name.contains(k))
        || args.iter().any(|a| a.contains('='))
    {
        return ChainKind::Kernel;
    }
    ChainKind::Script
}

/// A MAC address in iPXE's formats.
fn format_mac(mac: &[u8; 6], ty: &str) -> String {
    let sep = match ty {
        "hexhyp" => "-",
        "hexraw" => "",
        _ => ":",
    };
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Percent-encode everything but unreserved characters (`${x:uristring}`).
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Settings whose value comes from outside the script (DHCP options, SMBIOS, the user) and
/// that kboot cannot know: tests on them are undecidable.
fn is_outside_setting(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "filename",
        "root-path",
        "dns",
        "domain",
        "gateway",
        "netmask",
        "ntp",
        "syslog",
        "syslogs",
        "user-class",
        "vendor-class",
        "username",
        "password",
        "reverse-username",
        "reverse-password",
        "initiator-iqn",
        "keep-san",
        "skip-san-boot",
        "san-drive",
        "serial",
        "manufacturer",
        "product",
        "asset",
        "board-serial",
        "chassis",
        "busid",
        "busloc",
        "bustype",
        "chip",
        "ifname",
        "version",
        "unixtime",
        "dhcp-server",
        "priority",
        "scriptlet",
        "pxebs",
        "mtu",
        "ip6",
        "len6",
        "gateway6",
        "dns6",
        "memsize",
        "cpuvendor",
        "cpumodel",
        "sysmac",
        "bootfile",
    ];
    NAMES.contains(&name) || name.parse::<u8>().is_ok()
}

/// The URIs of a `sanboot`/`sanhook` line, after its options.
fn san_uris(rest: &[String]) -> &[String] {
    let mut i = 0;
    while i < rest.len() {
        match rest[i].as_str() {
            "--drive" | "-d" | "--filename" | "-f" | "--label" | "-l" | "--uuid" | "-u"
            | "--extra" | "-e" => i += 2,
            a if a.starts_with('-') => i += 1,
            _ => break,
        }
    }
    &rest[i.min(rest.len())..]
}

/// What `boot` starts, on the entry: the kernel, initrds and arguments, and a disk `sanhook`
/// attached as the target's diskless root (whose rendering brings its own `ip=`/`BOOTIF=`).
fn set_boot(
    e: &mut Entry,
    kernel: String,
    initrds: Vec<String>,
    args: &[String],
    root: Option<Box<Diskless>>,
) {
    e.kernel = Some(kernel);
    e.initrds = initrds;
    e.cmdline = cmdline::join(args);
    if let Some(root) = root {
        e.diskless = Some(*root);
        e.handoff = crate::config::model::Handoff::Off;
    }
}

/// A variable name without its scope (`net0/`, `net0.dhcp/`) and its type (`:hexhyp`).
fn split_name(raw: &str) -> (&str, &str) {
    let (name, ty) = raw.split_once(':').unwrap_or((raw, ""));
    let name = name.rsplit('/').next().unwrap_or(name);
    (name, ty)
}

impl Interp<'_, '_> {
    fn warn(&mut self, msg: String) {
        if self.warned.contains(&msg) {
            return;
        }
        if self.warnings.len() >= MAX_WARNINGS {
            self.dropped += 1;
            return;
        }
        self.warned.insert(msg.clone());
        self.warnings.push(msg);
    }

    fn at(&self, st: &State) -> String {
        let s = &self.scripts[st.script];
        let n = s.lines.get(st.pc).map_or(0, |l| l.n);
        format!("{} line {n}", s.name)
    }

    fn load(&mut self, text: &str, url: &str) -> usize {
        let mut w = Vec::new();
        let script = load_script(text, url, &mut w);
        for m in w {
            self.warn(m);
        }
        self.scripts.push(script);
        self.scripts.len() - 1
    }

    /// The value of `${raw}`, or `None` when it is not known.
    fn lookup(&self, st: &State, raw: &str) -> Option<String> {
        let (name, ty) = split_name(raw);
        if st.unknown.contains(name) {
            return None;
        }
        let value = if let Some(v) = st.vars.get(name) {
            Some(v.clone())
        } else {
            let ctx = self.ctx;
            match name {
                "mac" => ctx.mac.map(|m| format_mac(&m, ty)),
                "ip" => ctx.ip.map(|ip| ip.to_string()),
                "next-server" | "66" => ctx.next_server.clone(),
                "hostname" | "12" => ctx.hostname.clone(),
                "uuid" => ctx.uuid.clone(),
                "platform" => Some(if ctx.efi { "efi" } else { "pcbios" }.to_string()),
                "buildarch" => Some(BUILDARCH.to_string()),
                "cwuri" => Some(self.scripts[st.script].url.clone()),
                "cwduri" => {
                    let u = &self.scripts[st.script].url;
                    Some(u.rfind('/').map_or(u.clone(), |i| u[..=i].to_string()))
                }
                // Settings iPXE fills from DHCP, SMBIOS or the user that kboot does not know.
                n if is_outside_setting(n) => None,
                // Anything else is a script variable that was never set: empty.
                _ => Some(String::new()),
            }
        };
        value.map(|v| if ty == "uristring" { uri_encode(&v) } else { v })
    }

    /// Expand every `${...}` in `s` (innermost first). Returns the text and whether an
    /// unknown variable was read.
    fn expand(&mut self, st: &State, s: &str) -> (String, bool) {
        let mut out = s.to_string();
        let mut unknown = false;
        for _ in 0..256 {
            let Some(open0) = out.find("${") else {
                return (out, unknown);
            };
            let Some(close_rel) = out[open0..].find('}') else {
                let msg = format!(
                    "{}: unterminated '${{' in '{}' is kept as text",
                    self.at(st),
                    snippet(s)
                );
                self.warn(msg);
                return (out, unknown);
            };
            let close = open0 + close_rel;
            let open = open0 + out[open0..close].rfind("${").unwrap_or(0);
            let name = &out[open + 2..close];
            let value = match self.lookup(st, name) {
                Some(v) => v,
                None => {
                    unknown = true;
                    String::new()
                }
            };
            if out.len() - (close + 1 - open) + value.len() > MAX_EXPANDED {
                let msg = format!(
                    "{}: a variable expands to too much text; cut short",
                    self.at(st)
                );
                self.warn(msg);
                return (out, unknown);
            }
            out.replace_range(open..=close, &value);
        }
        let msg = format!("{}: variables expand without end; cut short", self.at(st));
        self.warn(msg);
        (out, unknown)
    }

    fn budget_left(&mut self, st: &mut State) -> Result<(), Outcome> {
        self.total_steps += 1;
        st.steps += 1;
        if self.total_steps > MAX_TOTAL_STEPS {
            if !self.budget_warned {
                self.budget_warned = true;
                let msg = format!(
                    "{}: the script needs too much work to explore; the remaining paths are left out",
                    self.at(st)
                );
                self.warn(msg);
            }
            return Err(Outcome::Nothing(
                "the script needs too much work to explore".into(),
            ));
        }
        if st.steps > MAX_BRANCH_STEPS {
            return Err(Outcome::Nothing(format!(
                "{}: the path runs too long (a loop?)",
                self.at(st)
            )));
        }
        Ok(())
    }

    /// Follow one path to its end.
    fn run(&mut self, mut st: State) -> Outcome {
        loop {
            if let Err(o) = self.budget_left(&mut st) {
                return o;
            }
            let nlines = self.scripts[st.script].lines.len();
            if st.pc >= nlines {
                match st.frames.pop() {
                    Some(f) => {
                        st.script = f.script;
                        st.pc = f.pc;
                        st.ci = f.ci;
                        st.status = true;
                        continue;
                    }
                    None => {
                        return Outcome::Nothing(format!(
                            "{} ends without booting anything",
                            self.scripts[st.script].name
                        ))
                    }
                }
            }
            let ncmds = self.scripts[st.script].lines[st.pc].cmds.len();
            if st.ci >= ncmds {
                if !st.status {
                    let at = self.at(&st);
                    match st.frames.pop() {
                        Some(f) => {
                            // A failing chained script makes the `chain` command fail.
                            st.script = f.script;
                            st.pc = f.pc;
                            st.ci = f.ci;
                            st.status = false;
                            continue;
                        }
                        None => {
                            return Outcome::Nothing(format!(
                                "{at}: a command fails there, which ends an iPXE script"
                            ))
                        }
                    }
                }
                st.pc += 1;
                st.ci = 0;
                continue;
            }
            let lines = Rc::clone(&self.scripts[st.script].lines);
            let (op, toks) = &lines[st.pc].cmds[st.ci];
            st.ci += 1;
            let runs = match *op {
                Op::First => true,
                Op::And => st.status,
                Op::Or => !st.status,
            };
            if !runs {
                continue;
            }
            match self.exec(&mut st, toks) {
                Flow::Status(b) => st.status = b,
                Flow::Goto(idx) => {
                    let key = (st.script, idx);
                    let v = st.visits.entry(key).or_insert(0);
                    *v += 1;
                    if *v > MAX_LABEL_VISITS {
                        let at = self.at(&st);
                        self.warn(format!("{at}: goto loops forever; this path is left out"));
                        return Outcome::Nothing(format!("{at}: goto loops forever"));
                    }
                    st.pc = idx;
                    st.ci = 0;
                    st.status = true;
                }
                Flow::End(o) => return o,
                Flow::Enter(idx) => {
                    if st.frames.len() >= MAX_INCLUDE_DEPTH {
                        let at = self.at(&st);
                        let url = self.scripts[idx].url.clone();
                        self.warn(format!(
                            "{at}: scripts chain deeper than {MAX_INCLUDE_DEPTH}; '{}' is loaded only when chosen",
                            snippet(&url)
                        ));
                        return Outcome::Chain(url);
                    }
                    st.frames.push(Frame {
                        script: st.script,
                        pc: st.pc,
                        ci: st.ci,
                    });
                    st.script = idx;
                    st.pc = 0;
                    st.ci = 0;
                    st.status = true;
                }
                Flow::Exit(ok) => match st.frames.pop() {
                    Some(f) => {
                        st.script = f.script;
                        st.pc = f.pc;
                        st.ci = f.ci;
                        st.status = ok;
                    }
                    None => return Outcome::LocalBoot,
                },
                Flow::Choose {
                    draft,
                    var,
                    default,
                    timeout_ms,
                } => return self.fork(st, draft, var, default, timeout_ms),
            }
        }
    }

    /// Run the rest of the path once per menu item.
    fn fork(
        &mut self,
        st: State,
        draft: MenuDraft,
        var: String,
        default: Option<String>,
        timeout_ms: Option<u64>,
    ) -> Outcome {
        let site = (st.script, st.pc);
        if let Some(k) = st.ancestors.iter().position(|s| *s == site) {
            return Outcome::Back(k);
        }
        let at = self.at(&st);
        if st.ancestors.len() >= MAX_MENU_DEPTH {
            self.warn(format!(
                "{at}: menus nest deeper than {MAX_MENU_DEPTH}; the inner menu is left out"
            ));
            return Outcome::Nothing(format!("{at}: menus nest too deep"));
        }
        let default = default.or_else(|| {
            draft
                .items
                .iter()
                .find(|i| i.default)
                .map(|i| i.label.clone())
        });
        let mut items = Vec::with_capacity(draft.items.len());
        for item in draft.items {
            self.paths += 1;
            if self.paths > MAX_PATHS || self.total_steps > MAX_TOTAL_STEPS {
                self.warn(format!(
                    "{at}: the script has too many paths to explore; the remaining items are left out"
                ));
                break;
            }
            let mut b = st.clone();
            b.ancestors.push(site);
            b.vars.insert(var.clone(), item.label.clone());
            b.unknown.remove(&var);
            b.visits.clear();
            b.steps = 0;
            let o = self.run(b);
            items.push((item, o));
        }
        Outcome::Menu(Box::new(MenuOutcome {
            title: draft.title,
            default,
            timeout_ms,
            at,
            items,
        }))
    }

    /// Execute one command.
    fn exec(&mut self, st: &mut State, raw: &[String]) -> Flow {
        if raw.is_empty() {
            // `cmd ||` with nothing after: the failure is absorbed.
            return Flow::Status(true);
        }
        let mut unknown = false;
        let mut args = Vec::with_capacity(raw.len());
        for t in raw {
            let (e, u) = self.expand(st, t);
            unknown |= u;
            args.push(unquote(&e));
        }
        let at = self.at(st);
        let cmd = args[0].clone();
        let rest = &args[1..];
        match cmd.as_str() {
            "dhcp" | "ifopen" | "ifconf" | "ifclose" | "ifstat" | "iflinkwait" | "route"
            | "ntp" | "nslookup" | "ipstat" | "nstat" | "vcreate" | "vdestroy" | "pciscan"
            | "echo" | "sleep" | "console" | "cpair" | "colour" | "color" | "show" | "imgstat"
            | "time" | "cpuid" | "login" | "config" | "present" | "md5sum" | "sha1sum"
            | "sha256sum" | "sha512sum" | "certstat" | "certstore" | "certfree" | "fcstat"
            | "fcels" | "lotest" | "ibstat" | "sync" | "shim" | "fdt" | "imgdecrypt"
            | "imgextract" => Flow::Status(true),
            "prompt" => {
                // With a timeout nobody presses the key: the command fails.
                let timed = rest.iter().any(|a| a == "--timeout" || a == "-t");
                Flow::Status(!timed)
            }
            "imgverify" | "imgtrust" => {
                self.warn(format!(
                    "{at}: {cmd} is ignored: kboot verifies images with its own signatures"
                ));
                Flow::Status(true)
            }
            "params" | "param" => {
                self.warn(format!(
                    "{at}: {cmd} (HTTP form parameters) is not supported; the request goes without them"
                ));
                Flow::Status(true)
            }
            "set" => {
                let Some(name) = rest.first() else {
                    self.warn(format!("{at}: set needs a setting name"));
                    return Flow::Status(false);
                };
                let (n, _) = split_name(name);
                if rest.len() == 1 {
                    st.vars.remove(n);
                    st.unknown.remove(n);
                } else {
                    st.vars.insert(n.to_string(), rest[1..].join(" "));
                    if unknown {
                        st.unknown.insert(n.to_string());
                    } else {
                        st.unknown.remove(n);
                    }
                }
                Flow::Status(true)
            }
            "clear" => {
                if let Some(name) = rest.first() {
                    let (n, _) = split_name(name);
                    st.vars.remove(n);
                    st.unknown.remove(n);
                }
                Flow::Status(true)
            }
            "read" => {
                if let Some(name) = rest.first() {
                    let (n, _) = split_name(name);
                    st.unknown.insert(n.to_string());
                }
                Flow::Status(true)
            }
            "inc" => {
                let Some(name) = rest.first() else {
                    return Flow::Status(false);
                };
                let (n, _) = split_name(name);
                let by: i64 = rest.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
                let cur: i64 = st
                    .vars
                    .get(n)
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                st.vars
                    .insert(n.to_string(), cur.saturating_add(by).to_string());
                Flow::Status(true)
            }
            "isset" => {
                if unknown {
                    return Flow::Status(true);
                }
                Flow::Status(rest.first().is_some_and(|v| !v.is_empty()))
            }
            "iseq" => {
                if unknown {
                    return Flow::Status(true);
                }
                let a = rest.first().map(String::as_str).unwrap_or("");
                let b = rest.get(1).map(String::as_str).unwrap_or("");
                Flow::Status(a == b)
            }
            "goto" => {
                let label = rest.first().map(String::as_str).unwrap_or("");
                match self.scripts[st.script].labels.get(label) {
                    Some(&idx) => Flow::Goto(idx),
                    None => {
                        self.warn(format!(
                            "{at}: goto '{}' names no label in {}",
                            snippet(label),
                            self.scripts[st.script].name
                        ));
                        Flow::Status(false)
                    }
                }
            }
            "menu" => {
                let mut name = String::new();
                let mut delete = false;
                let mut i = 0;
                while i < rest.len() {
                    match rest[i].as_str() {
                        "--name" | "-n" => {
                            name = rest.get(i + 1).cloned().unwrap_or_default();
                            i += 2;
                        }
                        "--delete" | "-d" => {
                            delete = true;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                if delete {
                    st.menus.remove(&name);
                } else {
                    let title = rest.get(i..).unwrap_or(&[]).join(" ");
                    st.menus.insert(
                        name,
                        MenuDraft {
                            title: (!title.is_empty()).then_some(title),
                            items: Vec::new(),
                        },
                    );
                }
                Flow::Status(true)
            }
            "item" => self.item(st, rest, &at),
            "choose" => self.choose(st, rest, &at),
            "kernel" | "imgselect" | "imgload" | "initrd" | "module" | "imgfetch" | "chain"
            | "imgexec" => self.image(st, &cmd, rest, &at),
            "imgargs" => {
                let name = rest.first().map(String::as_str).unwrap_or("");
                match st.kernel.as_mut() {
                    Some(k) if k.name == name => {
                        k.args = rest[1..].to_vec();
                        Flow::Status(true)
                    }
                    _ => {
                        self.warn(format!(
                            "{at}: imgargs names '{}', which is not the loaded kernel",
                            snippet(name)
                        ));
                        Flow::Status(false)
                    }
                }
            }
            "imgfree" => {
                match rest.first() {
                    None => {
                        st.kernel = None;
                        st.initrds.clear();
                    }
                    Some(n) => {
                        if st.kernel.as_ref().is_some_and(|k| &k.name == n) {
                            st.kernel = None;
                        }
                        st.initrds.retain(|i| &i.name != n);
                    }
                }
                Flow::Status(true)
            }
            "boot" => {
                if let Some(n) = rest.first() {
                    if st.kernel.as_ref().is_none_or(|k| &k.name != n) {
                        self.warn(format!(
                            "{at}: boot names '{}', which is not the loaded kernel",
                            snippet(n)
                        ));
                        return Flow::Status(false);
                    }
                }
                match self.boot(st) {
                    Some(o) => Flow::End(o),
                    None => {
                        self.warn(format!("{at}: boot without a kernel loaded fails"));
                        Flow::Status(false)
                    }
                }
            }
            "sanboot" => {
                let uris = san_uris(rest);
                match uris.first() {
                    None => Flow::End(Outcome::LocalBoot),
                    Some(uri) => {
                        self.warn(format!(
                            "{at}: SAN boot is not supported yet; kboot.sanboot={uri}"
                        ));
                        Flow::End(Outcome::Sanboot(uri.clone()))
                    }
                }
            }
            "sanhook" => {
                let uris = san_uris(rest);
                match uris.first() {
                    None => {
                        self.warn(format!("{at}: sanhook without a URI fails"));
                        Flow::Status(false)
                    }
                    Some(uri) => {
                        if uris.len() > 1 {
                            self.warn(format!(
                                "{at}: sanhook with several URIs (multipath): the target gets the first"
                            ));
                        }
                        st.san = Some(uri.to_string());
                        Flow::Status(true)
                    }
                }
            }
            "sanunhook" => {
                st.san = None;
                Flow::Status(true)
            }
            "exit" => {
                let code = rest
                    .first()
                    .and_then(|c| c.parse::<i64>().ok())
                    .unwrap_or(0);
                Flow::Exit(code == 0)
            }
            "shell" => Flow::End(Outcome::Shell),
            "reboot" => Flow::End(Outcome::Reboot),
            "poweroff" => Flow::End(Outcome::PowerOff),
            "autoboot" => {
                self.warn(format!(
                    "{at}: autoboot (boot whatever DHCP names) cannot be followed; this path is left out"
                ));
                Flow::Status(false)
            }
            _ => {
                self.warn(format!("{at}: unknown command '{}' ignored", snippet(&cmd)));
                Flow::Status(true)
            }
        }
    }

    fn item(&mut self, st: &mut State, rest: &[String], at: &str) -> Flow {
        let mut menu = String::new();
        let mut item = ItemDraft::default();
        let mut gap = false;
        let mut i = 0;
        while i < rest.len() {
            match rest[i].as_str() {
                "--menu" | "-m" => {
                    menu = rest.get(i + 1).cloned().unwrap_or_default();
                    i += 2;
                }
                "--key" | "-k" => {
                    let k = rest.get(i + 1).map(String::as_str).unwrap_or("");
                    let mut chars = k.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => item.key = Some(c),
                        _ => self.warn(format!(
                            "{at}: item key '{}' is not a single character; ignored",
                            snippet(k)
                        )),
                    }
                    i += 2;
                }
                "--default" | "-d" => {
                    item.default = true;
                    i += 1;
                }
                "--gap" | "-g" => {
                    gap = true;
                    i += 1;
                }
                _ => break,
            }
        }
        let words = rest.get(i..).unwrap_or(&[]);
        let Some(draft) = st.menus.get_mut(&menu) else {
            self.warn(format!("{at}: item before any menu command"));
            return Flow::Status(false);
        };
        if gap || words.is_empty() {
            return Flow::Status(true);
        }
        item.label = words[0].clone();
        item.text = words[1..].join(" ");
        draft.items.push(item);
        Flow::Status(true)
    }

    fn choose(&mut self, st: &mut State, rest: &[String], at: &str) -> Flow {
        let mut menu = String::new();
        let mut default = None;
        let mut timeout_ms = None;
        let mut keep = false;
        let mut i = 0;
        while i < rest.len() {
            match rest[i].as_str() {
                "--menu" | "-m" => {
                    menu = rest.get(i + 1).cloned().unwrap_or_default();
                    i += 2;
                }
                "--default" | "-d" => {
                    default = rest.get(i + 1).filter(|d| !d.is_empty()).cloned();
                    i += 2;
                }
                "--timeout" | "-t" => {
                    let v = rest.get(i + 1).map(String::as_str).unwrap_or("");
                    match v.parse::<u64>() {
                        Ok(0) => timeout_ms = None,
                        Ok(ms) => timeout_ms = Some(ms),
                        Err(_) => self.warn(format!(
                            "{at}: choose timeout '{}' is not a number of milliseconds; ignored",
                            snippet(v)
                        )),
                    }
                    i += 2;
                }
                "--keep" | "-k" => {
                    keep = true;
                    i += 1;
                }
                _ => break,
            }
        }
        let Some(var) = rest.get(i).cloned() else {
            self.warn(format!(
                "{at}: choose needs a setting to store the choice in"
            ));
            return Flow::Status(false);
        };
        let draft = if keep {
            st.menus.get(&menu).cloned()
        } else {
            st.menus.remove(&menu)
        };
        let Some(draft) = draft else {
            self.warn(format!("{at}: choose without a menu"));
            return Flow::Status(false);
        };
        if draft.items.is_empty() {
            self.warn(format!("{at}: the menu has no items to choose from"));
            return Flow::Status(false);
        }
        let (var, _) = split_name(&var);
        Flow::Choose {
            draft,
            var: var.to_string(),
            default,
            timeout_ms,
        }
    }

    fn image(&mut self, st: &mut State, cmd: &str, rest: &[String], at: &str) -> Flow {
        let (name, rest, ignored) = image_options(rest);
        for o in ignored {
            self.warn(format!("{at}: {cmd} option '{}' ignored", snippet(&o)));
        }
        let Some(target) = rest.first() else {
            self.warn(format!("{at}: {cmd} needs a URL"));
            return Flow::Status(false);
        };
        let args = rest[1..].to_vec();
        let is_exec = matches!(cmd, "chain" | "imgexec");
        // `chain NAME` / `imgexec NAME` of an image loaded earlier.
        if is_exec && st.kernel.as_ref().is_some_and(|k| &k.name == target) {
            if let Some(k) = st.kernel.as_mut() {
                if !args.is_empty() {
                    k.args = args;
                }
            }
            return match self.boot(st) {
                Some(o) => Flow::End(o),
                None => Flow::Status(false),
            };
        }
        let base = self.scripts[st.script].url.clone();
        let url = match resolve(Some(&base), target) {
            Ok(u) => u,
            Err(e) => {
                self.warn(format!("{at}: {cmd} cannot use '{}': {e}", snippet(target)));
                return Flow::Status(false);
            }
        };
        let image = Image {
            name: name.unwrap_or_else(|| file_name(&url)),
            url: url.clone(),
            args,
        };
        match cmd {
            "initrd" | "module" | "imgfetch" => {
                if !image.args.is_empty() {
                    self.warn(format!(
                        "{at}: {cmd} arguments are ignored (kboot passes the initrd as it is)"
                    ));
                }
                st.initrds.push(image);
                Flow::Status(true)
            }
            "kernel" | "imgselect" | "imgload" => {
                self.note_special_kernel(&image.name, at);
                st.kernel = Some(image);
                Flow::Status(true)
            }
            _ => match chain_kind(&url, &image.args, !st.initrds.is_empty()) {
                ChainKind::Kernel => {
                    self.note_special_kernel(&image.name, at);
                    st.kernel = Some(image);
                    match self.boot(st) {
                        Some(o) => Flow::End(o),
                        None => Flow::Status(false),
                    }
                }
                ChainKind::Firmware => {
                    self.warn(format!(
                        "{at}: '{}' is a firmware program or disk image, which kboot cannot boot",
                        snippet(&url)
                    ));
                    Flow::End(Outcome::Nothing(format!(
                        "{at}: '{}' cannot be booted by kboot",
                        snippet(&url)
                    )))
                }
                ChainKind::Script => {
                    if !image.args.is_empty() {
                        self.warn(format!("{at}: arguments to the chained script are ignored"));
                    }
                    self.chain_script(&url, at)
                }
            },
        }
    }

    fn note_special_kernel(&mut self, name: &str, at: &str) {
        let n = name.to_ascii_lowercase();
        if n.starts_with("memdisk") || n.starts_with("wimboot") {
            self.warn(format!(
                "{at}: '{}' needs firmware services a kexec'd kernel does not have; booting it will probably fail",
                snippet(name)
            ));
        }
    }

    /// Fetch and enter a chained script, or end the path with [`Action::Chain`].
    fn chain_script(&mut self, url: &str, at: &str) -> Flow {
        if let Some(cached) = self.fetched.get(url) {
            return match cached {
                Some(idx) => Flow::Enter(*idx),
                None => Flow::End(Outcome::Chain(url.to_string())),
            };
        }
        if self.fetched.len() >= MAX_FETCHES {
            self.warn(format!(
                "{at}: more than {MAX_FETCHES} chained scripts; '{}' is loaded only when chosen",
                snippet(url)
            ));
            return Flow::End(Outcome::Chain(url.to_string()));
        }
        match (self.fetch)(url) {
            Ok(text) => {
                let idx = self.load(&text, url);
                self.fetched.insert(url.to_string(), Some(idx));
                Flow::Enter(idx)
            }
            Err(e) => {
                self.warn(format!(
                    "{at}: chained script '{}' not read now ({e}); it is loaded when chosen",
                    snippet(url)
                ));
                self.fetched.insert(url.to_string(), None);
                Flow::End(Outcome::Chain(url.to_string()))
            }
        }
    }

    fn boot(&mut self, st: &State) -> Option<Outcome> {
        let k = st.kernel.as_ref()?;
        let args = k
            .args
            .iter()
            .filter(|a| cmdline::param_key(a) != "initrd")
            .cloned()
            .collect();
        let root = match st.san.clone() {
            Some(uri) => self.san_root(st, &uri),
            None => None,
        };
        Some(Outcome::Boot {
            kernel: k.url.clone(),
            initrds: st.initrds.iter().map(|i| i.url.clone()).collect(),
            args,
            root,
        })
    }

    /// The disk a `sanhook` attached, as the diskless root of the kernel booted after it: the
    /// iSCSI URI (RFC 4173, as iPXE writes it) with the CHAP settings (`username`, `password`,
    /// `reverse-username`, `reverse-password`) and `initiator-iqn`. Other SAN kinds have no
    /// rendering for the target's initramfs: warned, and the kernel boots without them.
    fn san_root(&mut self, st: &State, uri: &str) -> Option<Box<Diskless>> {
        let Some(path) = uri.strip_prefix("iscsi:") else {
            self.warn(format!(
                "sanhook {}: kboot hands only iSCSI disks to the target's initramfs; the kernel boots without it",
                snippet(uri)
            ));
            return None;
        };
        let get = |this: &Self, name: &str| this.lookup(st, name).filter(|v| !v.is_empty());
        let mut creds = Vec::new();
        if let (Some(u), Some(p)) = (get(self, "username"), get(self, "password")) {
            creds = vec![u, p];
            if let (Some(ru), Some(rp)) =
                (get(self, "reverse-username"), get(self, "reverse-password"))
            {
                creds.extend([ru, rp]);
            }
        }
        if creds.iter().any(|c| c.contains([':', '@'])) {
            self.warn(format!(
                "sanhook {}: a CHAP name or password holds ':' or '@', which the root path cannot carry; the disk is attached without CHAP",
                snippet(uri)
            ));
            creds.clear();
        }
        let root = if creds.is_empty() {
            uri.to_string()
        } else {
            format!("iscsi:{}@{path}", creds.join(":"))
        };
        if let Err(e) = crate::cmdline::root::parse_root_uri(&root) {
            // The error text never holds the password (root.rs masks it).
            self.warn(format!("sanhook: {e}; the kernel boots without the disk"));
            return None;
        }
        Some(Box::new(Diskless {
            root,
            initiator: get(self, "initiator-iqn"),
            ..Diskless::default()
        }))
    }

    /// The entries of a menu at nesting `depth` (0 = top).
    fn entries(&mut self, m: MenuOutcome, depth: usize) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for (item, outcome) in m.items {
            if out.iter().any(|e| e.id == item.label) {
                self.warn(format!(
                    "{}: item '{}' appears twice in the menu; the first is kept",
                    m.at,
                    snippet(&item.label)
                ));
                continue;
            }
            let mut e = Entry {
                id: item.label.clone(),
                title: if item.text.is_empty() {
                    item.label.clone()
                } else {
                    item.text.clone()
                },
                hotkey: item.key,
                ..Default::default()
            };
            match outcome {
                Outcome::Boot {
                    kernel,
                    initrds,
                    args,
                    root,
                } => set_boot(&mut e, kernel, initrds, &args, root),
                Outcome::Menu(sub) => {
                    e.children = self.entries(*sub, depth + 1);
                    if e.children.is_empty() {
                        self.warn(format!(
                            "{}: item '{}' opens a menu with nothing bootable; left out",
                            m.at,
                            snippet(&item.label)
                        ));
                        continue;
                    }
                }
                Outcome::Chain(url) => e.action = Some(Action::Chain(url)),
                Outcome::LocalBoot => e.action = Some(Action::LocalBoot),
                Outcome::Shell => e.action = Some(Action::Exit),
                Outcome::Reboot => e.action = Some(Action::Reboot),
                Outcome::PowerOff => e.action = Some(Action::PowerOff),
                Outcome::Sanboot(_) => {}
                Outcome::Back(k) => {
                    if k >= depth {
                        self.warn(format!(
                            "{}: item '{}' only comes back to the same menu; left out",
                            m.at,
                            snippet(&item.label)
                        ));
                        continue;
                    }
                    e.action = Some(Action::Exit);
                }
                Outcome::Nothing(why) => {
                    self.warn(format!(
                        "{}: item '{}' left out: {why}",
                        m.at,
                        snippet(&item.label)
                    ));
                    continue;
                }
            }
            out.push(e);
        }
        out
    }

    fn checked_default(&mut self, m: &MenuOutcome, entries: &[Entry]) -> Option<String> {
        let d = m.default.clone()?;
        if entries.iter().any(|e| e.id == d) {
            Some(d)
        } else {
            self.warn(format!(
                "{}: the default '{}' is no entry; the first entry is the default",
                m.at,
                snippet(&d)
            ));
            None
        }
    }

    /// The one entry of a script that boots without a menu.
    fn single_entry(&mut self, o: Outcome, name: &str) -> Option<Entry> {
        let mut e = Entry::default();
        match o {
            Outcome::Boot {
                kernel,
                initrds,
                args,
                root,
            } => {
                e.id = "boot".into();
                e.title = format!("{name}: {}", file_name(&kernel));
                set_boot(&mut e, kernel, initrds, &args, root);
            }
            Outcome::Chain(url) => {
                e.id = "chain".into();
                e.title = format!("{name}: chain {}", file_name(&url));
                e.action = Some(Action::Chain(url));
            }
            Outcome::LocalBoot => {
                e.id = "local".into();
                e.title = "Boot from the local disk".into();
                e.action = Some(Action::LocalBoot);
            }
            Outcome::Shell => {
                e.id = "shell".into();
                e.title = "kboot prompt".into();
                e.action = Some(Action::Exit);
            }
            Outcome::Reboot => {
                e.id = "reboot".into();
                e.title = "Reboot".into();
                e.action = Some(Action::Reboot);
            }
            Outcome::PowerOff => {
                e.id = "poweroff".into();
                e.title = "Power off".into();
                e.action = Some(Action::PowerOff);
            }
            Outcome::Sanboot(uri) => {
                e.id = "sanboot".into();
                e.title = format!("SAN boot {}", snippet(&uri));
            }
            Outcome::Menu(_) | Outcome::Back(_) => return None,
            Outcome::Nothing(why) => {
                self.warn(format!("{name}: nothing to boot: {why}"));
                return None;
            }
        }
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Menu {
        let ctx = ParseContext::default();
        let mut f = |_: &str| -> Result<String, String> { Err("no files".into()) };
        parse(text, "http://10.0.2.2/boot/boot.ipxe", &ctx, &mut f)
    }

    const SAN: &str = "iscsi:10.0.2.2::3260:1:iqn.2026-11.org.kboot:root";

    #[test]
    fn sanhook_then_boot_gives_the_kernel_an_iscsi_root() {
        let m = run(&format!(
            "#!ipxe\nset initiator-iqn iqn.2026-11.org.kboot:client\nsanhook --drive 0x81 {SAN}\n\
             kernel vmlinuz console=ttyS0\ninitrd initrd.img\nboot\n"
        ));
        let e = &m.entries[0];
        assert_eq!(e.kernel.as_deref(), Some("http://10.0.2.2/boot/vmlinuz"));
        let d = e.diskless.as_ref().expect("the hooked disk is the root");
        assert_eq!(d.root, SAN);
        assert_eq!(d.initiator.as_deref(), Some("iqn.2026-11.org.kboot:client"));
        assert_eq!(d.flavor, None, "detected from the initrd at boot");
        assert_eq!(e.handoff, crate::config::model::Handoff::Off);
        assert_eq!(e.cmdline, "console=ttyS0");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn sanhook_chap_settings_go_into_the_root_path() {
        let m = run(&format!(
            "#!ipxe\nset username joe\nset password s3cret\nsanhook {SAN}\nkernel vmlinuz\nboot\n"
        ));
        let d = m.entries[0].diskless.as_ref().unwrap();
        assert_eq!(
            d.root,
            "iscsi:joe:s3cret@10.0.2.2::3260:1:iqn.2026-11.org.kboot:root"
        );
        let m = run(&format!(
            "#!ipxe\nset username joe\nset password s3cret\nset reverse-username tgt\n\
             set reverse-password t0p\nsanhook {SAN}\nkernel vmlinuz\nboot\n"
        ));
        let d = m.entries[0].diskless.as_ref().unwrap();
        assert!(
            d.root.starts_with("iscsi:joe:s3cret:tgt:t0p@10.0.2.2:"),
            "{}",
            d.root
        );
        // A name the root path cannot carry: no CHAP, and a warning without the password.
        let m = run(&format!(
            "#!ipxe\nset username joe\nset password pa:ss\nsanhook {SAN}\nkernel vmlinuz\nboot\n"
        ));
        assert_eq!(m.entries[0].diskless.as_ref().unwrap().root, SAN);
        assert!(
            m.warnings.iter().any(|w| w.contains("without CHAP")),
            "{:?}",
            m.warnings
        );
        assert!(
            !m.warnings.iter().any(|w| w.contains("pa:ss")),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn sanhook_in_a_menu_item_and_sanunhook() {
        let m = run(&format!(
            "#!ipxe\nmenu Boot\nitem san Diskless\nitem plain Plain\nchoose t && goto ${{t}}\n\
             :san\nsanhook {SAN}\nkernel vmlinuz\nboot\n\
             :plain\nsanhook {SAN}\nsanunhook\nkernel vmlinuz\nboot\n"
        ));
        let san = m.entries.iter().find(|e| e.id == "san").unwrap();
        assert_eq!(san.diskless.as_ref().unwrap().root, SAN);
        let plain = m.entries.iter().find(|e| e.id == "plain").unwrap();
        assert_eq!(plain.diskless, None);
        assert_eq!(plain.handoff, crate::config::model::Handoff::Default);
    }

    #[test]
    fn other_or_broken_san_disks_are_warned_and_left_out() {
        for (uri, warning) in [
            ("http://10.0.2.2/disk.img", "only iSCSI"),
            ("aoe:e0.1", "only iSCSI"),
            ("iscsi:10.0.2.2::notaport::iqn.x", "sanhook"),
            ("iscsi:", "sanhook"),
        ] {
            let m = run(&format!("#!ipxe\nsanhook {uri}\nkernel vmlinuz\nboot\n"));
            let e = &m.entries[0];
            assert_eq!(e.kernel.as_deref(), Some("http://10.0.2.2/boot/vmlinuz"));
            assert_eq!(e.diskless, None, "{uri}");
            assert!(
                m.warnings.iter().any(|w| w.contains(warning)),
                "{uri}: {:?}",
                m.warnings
            );
        }
        let m = run("#!ipxe\nsanhook\nkernel vmlinuz\nboot\n");
        assert!(
            m.warnings.iter().any(|w| w.contains("without a URI")),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn tokens_and_commands() {
        assert_eq!(
            tokenize(r#"echo "a b" c\ d 'e f' # note"#),
            vec!["echo", "\"a b\"", "c\\ d", "'e f'"]
        );
        assert_eq!(unquote("\"a b\""), "a b");
        assert_eq!(unquote("c\\ d"), "c d");
        let c = split_commands(tokenize("isset ${x} && goto a || goto b ||"));
        assert_eq!(c.len(), 4);
        assert_eq!(c[1].0, Op::And);
        assert_eq!(c[3], (Op::Or, vec![]));
    }

    #[test]
    fn simple_boot() {
        let m =
            run("#!ipxe\ndhcp\nkernel vmlinuz initrd=initrd.img quiet\ninitrd initrd.img\nboot\n");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(m.entries.len(), 1);
        let e = &m.entries[0];
        assert_eq!(e.kernel.as_deref(), Some("http://10.0.2.2/boot/vmlinuz"));
        assert_eq!(e.initrds, vec!["http://10.0.2.2/boot/initrd.img"]);
        assert_eq!(e.cmdline, "quiet");
    }

    #[test]
    fn chain_kinds() {
        assert_eq!(
            chain_kind("http://h/menu.ipxe", &[], false),
            ChainKind::Script
        );
        assert_eq!(
            chain_kind("http://h/boot.php?mac=1", &[], false),
            ChainKind::Script
        );
        assert_eq!(
            chain_kind("http://h/vmlinuz", &[], false),
            ChainKind::Kernel
        );
        assert_eq!(
            chain_kind("http://h/x", &["a=b".into()], false),
            ChainKind::Kernel
        );
        assert_eq!(chain_kind("http://h/x", &[], true), ChainKind::Kernel);
        assert_eq!(
            chain_kind("tftp://h/ipxe.efi", &[], false),
            ChainKind::Firmware
        );
    }
}
