//! GRUB2 menus (netboot.md §4): a small GRUB script reader, enough for installer and
//! netboot `grub.cfg` files.
//!
//! ```text
//! set default="0"
//! set timeout=5
//! if [ "$grub_platform" = "efi" ]; then set kv=efi; fi
//! menuentry 'Install' --id install {
//!     linux   /debian-installer/amd64/linux vga=788 --- quiet
//!     initrd  /debian-installer/amd64/initrd.gz
//! }
//! submenu 'Advanced options ...' {
//!     menuentry '... Expert install' { linux /d-i/linux priority=low; initrd /d-i/initrd.gz }
//! }
//! ```
//!
//! Rules implemented here:
//! - Quoting as GRUB's lexer: `'...'` is literal; `"..."` expands `$var`/`${var}` and takes
//!   `\` before `$`, `"`, `\` and a newline; an unquoted `\` escapes the next character (a
//!   line continuation before a newline); `#` at the start of a word comments to the end of
//!   the line; newlines and `;` separate commands; `{` and `}` delimit blocks. Unquoted
//!   expansions are split into words. An unterminated quote or block is a warning and runs
//!   to the end of the file.
//! - `menuentry TITLE [--class c] [--id id] [--hotkey k] [--users u] [--unrestricted] {...}`
//!   and `submenu TITLE {...}` (children). The entry id is `--id` or the title; ids repeated
//!   in the same menu get `~2`, `~3`, … and a warning. `--hotkey` with one character sets
//!   [`Entry::hotkey`].
//! - Like GRUB, entry and submenu bodies run when chosen: after the whole file, with the
//!   variables as the file left them (plus what the body sets itself). In a body:
//!   `linux|linux16|linuxefi PATH args...` (the command line is what GRUB's loader builds:
//!   `BOOT_IMAGE=PATH args...`, PATH as written (variables expanded), words joined by single
//!   spaces, `\`, `'` and `"` backslash-escaped, a word with a space double-quoted), `initrd|initrd16|initrdefi PATH...` (the last one wins, as in
//!   GRUB), `devicetree PATH`, `chainloader +1` / `exit` → [`Action::LocalBoot`], `reboot` →
//!   [`Action::Reboot`], `halt` → [`Action::PowerOff`], `configfile FILE` →
//!   [`Action::Chain`]. Commands that cannot be honoured (`multiboot`, `loopback`,
//!   …) skip the entry with a warning; `chainloader` of a file boots it as a unified kernel
//!   image (recognised by its content at boot; another EFI program fails there).
//! - Variables: `set name=value`, `name=value`, `unset`, `export` (no-op). Built in:
//!   `grub_platform` (`efi` when [`ParseContext::efi`], else `pc`), `grub_cpu`, `root`,
//!   `prefix` and `cmdpath` (the config's server, e.g. `tftp,10.0.2.2` and
//!   `(tftp,10.0.2.2)/boot/grub`; for a config on a disk GRUB's name of its volume, e.g.
//!   `hd0,msdos1` and `(hd0,msdos1)/boot/grub`), `net_default_mac`, `net_default_ip`,
//!   `net_default_server`, `net_default_hostname`, the `feature_*` flags of GRUB 2.02+ and
//!   `menuentry_id_option`. An unset variable expands to nothing (Ubuntu's `$vt_handoff`:
//!   kboot does not run the `gfxmode` function that would set it, as no GRUB framebuffer is
//!   handed over).
//! - `set default=N|id|title|"A>B"` (read when the file is done, as GRUB does): a number
//!   counts top-level entries, a name matches an id or a title; `A>B` selects submenu `A`
//!   and makes `B` its [`Entry::default_child`]. `set timeout=N` is in seconds, `-1` (or
//!   unset) waits.
//! - `source FILE` reads FILE in place; `configfile FILE` outside an entry does too (GRUB
//!   would replace the menu with FILE's). Includes go through the fetcher and are bounded
//!   by [`MAX_INCLUDE_DEPTH`], loop detection and a budget of files; failures are warnings.
//! - `if COND; then ...; elif COND; then ...; else ...; fi`: `[ ... ]` and `test ...` with
//!   `=`, `==`, `!=`, `-z`, `-n`, `-eq`…`-ge`, `!`, `-a`, `-o` and a bare string are
//!   evaluated when every variable they read is known (for a config on a disk, always: an
//!   unset variable is empty there, as kboot reads grubenv like GRUB); `-e`/`-f`/`-s FILE` on
//!   a local volume ask the fetcher. Conditions on GRUB's own display (`loadfont`, `insmod`,
//!   `background_image`, …) read every branch quietly; anything else (`cpuid`, `hwmatch`,
//!   network `-f`) reads every branch in turn, with a warning.
//! - Paths: `(tftp)/x`, `(http)/x`, `(tftp,server)/x`, `(http,server:port)/x`, `(pxe)/x` →
//!   a URL on that server (the config's own server when none is named); a bare `/x` is on
//!   the `$root` device, by default the config's own; a relative path is relative to the
//!   config; full URLs stay. Local devices (`(hd0,msdos1)`, `(hd1,gpt2)`, `(hd0,1)`,
//!   `hd0,msdos1` in `$root`, `(lvm/vg-lv)`, `(lvmid/VG/LV)`, `(mduuid/..)`) resolve through
//!   [`ParseContext::inventory`] to `<volume>:/x` (see [`crate::config::grub_device`]); an
//!   impossible name, a volume without a filesystem, or any local device without an
//!   inventory (a network config) skips the entry with one warning.
//! - `search [--fs-uuid|--label|--file] [--set[=VAR]] [--hint*=DEV]... NAME` and
//!   `search.fs_uuid|fs_label|file NAME [VAR [HINT...]]` set VAR (default `root`) to GRUB's
//!   name of the first matching volume: the hints' volumes first, then GRUB's device order
//!   (`--file` asks the fetcher for `<volume>:NAME`). No match: a warning, VAR unchanged.
//!   Without an inventory `search` is ignored.
//! - `load_env [-f FILE] [VAR...]` reads GRUB's environment block (default
//!   `$prefix/grubenv`, [`crate::config::grubenv`]) through the fetcher, for a config on a
//!   disk; `save_env` is ignored.
//! - `blscfg [default|non-default|ID]` (and `bls_import`): the BLS entries in `$blsdir`, else
//!   `/loader/entries`, else `/boot/loader/entries`, on `$root`'s volume, from
//!   [`ParseContext::bls`], become entries as GRUB's blscfg makes them: `linux ($root)PATH
//!   OPTIONS`, `initrd ($root)PATH...` (every `initrd` line), the first `options` (else
//!   `$default_kernelopts`) with `$variables` expanded (Fedora's `$kernelopts` from
//!   grubenv), id = file name without `.conf`, newest first (RPM version order of
//!   `name-version-release`). Without an inventory `blscfg` is a warning.
//! - A submenu without a bootable entry is left out (warning).
//! - `insmod`, `loadfont`, `terminal_*`, `play`, `echo`, `save_env`, `gfx*`,
//!   `background_image`, `sleep`, `clear`, `recordfail`, `savedefault`, `fwsetup
//!   --is-supported`, `function` definitions and calls, … are ignored. `for`/`while`/`until`
//!   loops are skipped with a warning. Other unknown commands are warnings.
//! - Warnings read `<file url> line N: ...`; nothing here fails or panics.

use super::snippet;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use crate::config::grub_device::GrubDevices;
use crate::config::include::{BlsFolders, Fetcher, ParseContext, MAX_INCLUDE_DEPTH};
use crate::config::model::Action;
use crate::config::{bls, grubenv, Entry, Menu};
use crate::fetch::url::{parse_location, resolve, DeviceRef, Location};

/// Most files one parse reads through the fetcher (bounds include fan-out).
const MAX_INCLUDES: usize = 256;
/// Deepest block nesting (`menuentry`, `submenu`, `if`, …) read; deeper blocks are skipped.
const MAX_NESTING: usize = 48;

/// Parse a GRUB config fetched from `url`. Files named by `source`/`configfile` are read
/// through `fetch`. Never fails: problems go to `menu.warnings`.
pub fn parse(text: &str, url: &str, ctx: &ParseContext, fetch: &mut Fetcher<'_>) -> Menu {
    let devices = ctx
        .inventory
        .as_ref()
        .map(|inv| GrubDevices::new(inv.clone(), own_volume(url).as_deref()));
    let mut it = Interp {
        url: url.to_string(),
        file: Rc::from(url),
        fetch,
        warnings: Vec::new(),
        include_stack: Vec::new(),
        includes_left: MAX_INCLUDES,
        functions: HashSet::new(),
        var_lines: HashMap::new(),
        unset_is_empty: devices.is_some(),
        devices,
        bls: ctx.bls.clone(),
    };
    let mut env = builtin_env(url, ctx);
    if let (Some(d), Some(own)) = (&it.devices, own_volume(url)) {
        // GRUB's $root and $prefix: the device it read grub.cfg from, by GRUB's name for it.
        if let Ok(v) = d.resolve(&own) {
            let name = d.name_of(v);
            let dir = match parse_location(url) {
                Ok(Location::Device { path, .. }) => {
                    path.rfind('/').map_or("", |i| &path[..i]).to_string()
                }
                _ => String::new(),
            };
            env.insert("root".into(), name.clone());
            env.insert("prefix".into(), format!("({name}){dir}"));
            env.insert("cmdpath".into(), format!("({name}){dir}"));
        }
    }
    let nodes = it.parse_text(text);
    let mut pending = Vec::new();
    it.exec_list(&nodes, &mut env, &mut Scope::Menu(&mut pending));
    let entries = it.build_menu(pending, &env);
    let mut menu = Menu {
        entries,
        ..Default::default()
    };
    menu.timeout_ms = match env.get("timeout").map(|s| s.trim()) {
        None | Some("") => None,
        Some(t) => match t.parse::<i64>() {
            Ok(n) if n >= 0 => Some((n as u64).saturating_mul(1000)),
            Ok(_) => None,
            Err(_) => {
                let (f, l) = it.var_line("timeout");
                it.warn_at(
                    &f,
                    l,
                    format!("timeout '{}' is not a number; the menu waits", snippet(t)),
                );
                None
            }
        },
    };
    if let Some(d) = env.get("default").map(|s| s.trim().to_string()) {
        if !d.is_empty() {
            menu.default = it.resolve_default(&mut menu.entries, &d);
        }
    }
    menu.warnings = it.warnings;
    menu
}

/// The kernel name of the volume a config at `url` (`nvme0n1p1:/boot/grub/grub.cfg`) is on.
fn own_volume(url: &str) -> Option<String> {
    match parse_location(url).ok()? {
        Location::Device {
            device: DeviceRef::Name(n),
            ..
        } => Some(n),
        _ => None,
    }
}

/// One `linux` argument as GRUB puts it on the kernel command line
/// (`grub_create_loader_cmdline`): `\`, `'` and `"` get a backslash, and an argument with a
/// space is wrapped in double quotes.
fn loader_arg(a: &str) -> String {
    let mut out = String::with_capacity(a.len() + 2);
    let space = a.contains(' ');
    if space {
        out.push('"');
    }
    for c in a.chars() {
        if matches!(c, '\\' | '\'' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    if space {
        out.push('"');
    }
    out
}

/// A BLS value with `$name` replaced by the variable's value (unset: nothing), as GRUB's
/// blscfg `expand_val` does before the entry's script is built.
fn bls_expand(value: &str, env: &Env) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut name = String::new();
        while let Some(&n) = chars.peek() {
            if !is_name_char(n) {
                break;
            }
            name.push(n);
            chars.next();
        }
        if let Some(v) = env.get(&name) {
            out.push_str(v);
            out.push(' ');
        }
        if chars.peek() == Some(&' ') {
            chars.next();
        }
    }
    out
}

/// The network device (`tftp,host` or `http,host:port`) a config at `url` came from.
fn url_device(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    let scheme = u.scheme();
    Some(match u.port() {
        Some(p) => format!("{scheme},{host}:{p}"),
        None => format!("{scheme},{host}"),
    })
}

fn builtin_env(url: &str, ctx: &ParseContext) -> HashMap<String, String> {
    let mut env = HashMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("grub_platform", if ctx.efi { "efi" } else { "pc" }.into());
    let cpu = match (std::env::consts::ARCH, ctx.efi) {
        ("x86_64", true) => "x86_64",
        ("x86_64" | "x86", _) => "i386",
        ("aarch64", _) => "arm64",
        (a, _) => a,
    };
    set("grub_cpu", cpu.into());
    if let Some(dev) = url_device(url) {
        let dir = url::Url::parse(url)
            .ok()
            .map(|u| {
                let p = u.path();
                p.rfind('/').map_or("", |i| &p[..i]).to_string()
            })
            .unwrap_or_default();
        set("root", dev.clone());
        set("prefix", format!("({dev}){dir}"));
        set("cmdpath", format!("({dev}){dir}"));
        if let Some(host) = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
        {
            set("net_default_server", host.clone());
            set("pxe_default_server", host);
        }
    }
    if let Some(mac) = ctx.mac {
        let m = mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        set("net_default_mac", m);
    }
    if let Some(ip) = ctx.ip {
        set("net_default_ip", ip.to_string());
    }
    if let Some(h) = &ctx.hostname {
        set("net_default_hostname", h.clone());
    }
    if let Some(s) = &ctx.next_server {
        set("net_default_server", s.clone());
    }
    for f in [
        "feature_menuentry_id",
        "feature_menuentry_options",
        "feature_default_font_path",
        "feature_all_video_module",
        "feature_chainloader_bpb",
        "feature_ntldr",
        "feature_platform_search_hint",
        "feature_timeout_style",
        "feature_200_final",
    ] {
        set(f, "y".into());
    }
    set("menuentry_id_option", "--id".into());
    env
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit { text: String, quoted: bool },
    Var { name: String, quoted: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Word {
    parts: Vec<Part>,
}

impl Word {
    /// The word as a keyword: only when it is one unquoted literal.
    fn keyword(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Lit {
                text,
                quoted: false,
            }] => Some(text),
            _ => None,
        }
    }

    fn push_lit(&mut self, c: char, quoted: bool) {
        if let Some(Part::Lit { text, quoted: q }) = self.parts.last_mut() {
            if *q == quoted {
                text.push(c);
                return;
            }
        }
        self.parts.push(Part::Lit {
            text: c.to_string(),
            quoted,
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(Word, usize),
    Sep(usize),
    Open(usize),
    Close(usize),
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Tokenize a whole file. Warnings are (line, message).
fn lex(text: &str) -> (Vec<Tok>, Vec<(usize, String)>) {
    let mut toks = Vec::new();
    let mut warns = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    let mut word: Option<(Word, usize)> = None;

    fn flush(word: &mut Option<(Word, usize)>, toks: &mut Vec<Tok>) {
        if let Some((w, l)) = word.take() {
            toks.push(Tok::Word(w, l));
        }
    }

    // Reads `name` or `{name}` after a `$`; returns None when the `$` is literal.
    fn var_name(
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
        line: &mut usize,
    ) -> Option<String> {
        match chars.peek().copied() {
            Some('{') => {
                chars.next();
                let mut name = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        return Some(name);
                    }
                    if c == '\n' {
                        *line += 1;
                    }
                    name.push(c);
                }
                Some(name)
            }
            Some(c) if is_name_char(c) => {
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if !is_name_char(c) {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
                Some(name)
            }
            Some(c @ ('?' | '#' | '*' | '@')) => {
                chars.next();
                Some(c.to_string())
            }
            _ => None,
        }
    }

    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                flush(&mut word, &mut toks);
                toks.push(Tok::Sep(line));
                line += 1;
            }
            ';' => {
                flush(&mut word, &mut toks);
                toks.push(Tok::Sep(line));
            }
            c if c == ' ' || c == '\t' || c == '\r' || c == '\x0b' || c == '\x0c' => {
                flush(&mut word, &mut toks)
            }
            '#' if word.is_none() => {
                while let Some(&c) = chars.peek() {
                    if c == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            '{' => {
                flush(&mut word, &mut toks);
                toks.push(Tok::Open(line));
            }
            '}' => {
                flush(&mut word, &mut toks);
                toks.push(Tok::Close(line));
            }
            '\\' => match chars.next() {
                Some('\n') => line += 1,
                Some(n) => word
                    .get_or_insert_with(|| (Word::default(), line))
                    .0
                    .push_lit(n, true),
                None => {}
            },
            '\'' => {
                let start = line;
                let w = &mut word.get_or_insert_with(|| (Word::default(), line)).0;
                // An empty '' still makes a word.
                w.parts.push(Part::Lit {
                    text: String::new(),
                    quoted: true,
                });
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '\'' {
                        closed = true;
                        break;
                    }
                    if c == '\n' {
                        line += 1;
                    }
                    w.push_lit(c, true);
                }
                if !closed {
                    warns.push((
                        start,
                        "a ' quote is never closed; it runs to the end of the file".to_string(),
                    ));
                }
            }
            '"' => {
                let start = line;
                let w = &mut word.get_or_insert_with(|| (Word::default(), line)).0;
                w.parts.push(Part::Lit {
                    text: String::new(),
                    quoted: true,
                });
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.peek().copied() {
                            Some('\n') => {
                                chars.next();
                                line += 1;
                            }
                            Some(n @ ('$' | '"' | '\\')) => {
                                chars.next();
                                w.push_lit(n, true);
                            }
                            _ => w.push_lit('\\', true),
                        },
                        '$' => match var_name(&mut chars, &mut line) {
                            Some(name) => w.parts.push(Part::Var { name, quoted: true }),
                            None => w.push_lit('$', true),
                        },
                        c => {
                            if c == '\n' {
                                line += 1;
                            }
                            w.push_lit(c, true)
                        }
                    }
                }
                if !closed {
                    warns.push((
                        start,
                        "a \" quote is never closed; it runs to the end of the file".to_string(),
                    ));
                }
            }
            '$' => {
                let w = &mut word.get_or_insert_with(|| (Word::default(), line)).0;
                match var_name(&mut chars, &mut line) {
                    Some(name) => w.parts.push(Part::Var {
                        name,
                        quoted: false,
                    }),
                    None => w.push_lit('$', false),
                }
            }
            c => word
                .get_or_insert_with(|| (Word::default(), line))
                .0
                .push_lit(c, false),
        }
    }
    flush(&mut word, &mut toks);
    (toks, warns)
}

// ---------------------------------------------------------------------------------------
// Parser

#[derive(Debug, Clone)]
enum Node {
    Cmd {
        line: usize,
        words: Vec<Word>,
    },
    /// `menuentry`/`submenu` (`submenu` = true) with its argument words and body.
    Block {
        line: usize,
        submenu: bool,
        args: Vec<Word>,
        body: Rc<Vec<Node>>,
    },
    If {
        line: usize,
        arms: Vec<(Vec<Node>, Vec<Node>)>,
        els: Option<Vec<Node>>,
    },
}

struct TokParser<'t> {
    toks: &'t [Tok],
    pos: usize,
    depth: usize,
    warns: Vec<(usize, String)>,
}

impl TokParser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    /// Read commands until one of `stops` (a keyword starting a command) or `}` (when
    /// `in_block`) or the end. Returns the nodes and the stop keyword (`"}"` for a brace,
    /// `""` for the end).
    fn list(&mut self, stops: &[&str], in_block: bool) -> (Vec<Node>, String) {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return (out, String::new()),
                Some(Tok::Sep(_)) => self.pos += 1,
                Some(Tok::Close(l)) => {
                    let l = *l;
                    self.pos += 1;
                    if in_block {
                        return (out, "}".to_string());
                    }
                    self.warns
                        .push((l, "'}' without a block to close is ignored".to_string()));
                }
                Some(Tok::Open(l)) => {
                    let l = *l;
                    self.pos += 1;
                    self.warns.push((
                        l,
                        "a '{' block without menuentry or submenu is read in place".to_string(),
                    ));
                    let (body, _) = self.block(l, "{");
                    out.extend(body);
                }
                Some(Tok::Word(w, l)) => {
                    let l = *l;
                    if let Some(k) = w.keyword() {
                        if stops.contains(&k) {
                            let k = k.to_string();
                            self.pos += 1;
                            return (out, k);
                        }
                    }
                    if let Some(n) = self.command(l) {
                        out.push(n);
                    }
                }
            }
        }
    }

    /// The words of a simple command, up to a separator or brace.
    fn words(&mut self) -> Vec<Word> {
        let mut words = Vec::new();
        while let Some(Tok::Word(w, _)) = self.peek() {
            words.push(w.clone());
            self.pos += 1;
        }
        words
    }

    /// A `{ ... }` body, the `{` already read.
    fn block(&mut self, line: usize, what: &str) -> (Vec<Node>, bool) {
        if self.depth >= MAX_NESTING {
            self.warns.push((
                line,
                format!("{what} blocks nested deeper than {MAX_NESTING} are skipped"),
            ));
            self.skip_block();
            return (Vec::new(), false);
        }
        self.depth += 1;
        let (body, stop) = self.list(&[], true);
        self.depth -= 1;
        if stop != "}" {
            self.warns.push((
                line,
                format!(
                    "the {what} block is never closed with '}}'; it runs to the end of the file"
                ),
            ));
        }
        (body, true)
    }

    /// Skip to the `}` matching an already read `{`, without recursion.
    fn skip_block(&mut self) {
        let mut depth = 1usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::Open(_) => depth += 1,
                Tok::Close(_) => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// One command starting at a word.
    fn command(&mut self, line: usize) -> Option<Node> {
        let first = match self.peek() {
            Some(Tok::Word(w, _)) => w.clone(),
            _ => return None,
        };
        match first.keyword() {
            Some(k @ ("menuentry" | "submenu")) => {
                let submenu = k == "submenu";
                self.pos += 1;
                let args = self.words();
                // `menuentry 'x'` newline `{` is accepted.
                let mut p = self.pos;
                while let Some(Tok::Sep(_)) = self.toks.get(p) {
                    p += 1;
                }
                if let Some(Tok::Open(l)) = self.toks.get(p) {
                    let l = *l;
                    self.pos = p + 1;
                    let (body, _) = self.block(l, k);
                    Some(Node::Block {
                        line,
                        submenu,
                        args,
                        body: Rc::new(body),
                    })
                } else {
                    self.warns
                        .push((line, format!("{k} without a '{{' block is ignored")));
                    None
                }
            }
            Some("function") => {
                self.pos += 1;
                let name = self.words();
                let mut p = self.pos;
                while let Some(Tok::Sep(_)) = self.toks.get(p) {
                    p += 1;
                }
                if let Some(Tok::Open(_)) = self.toks.get(p) {
                    self.pos = p + 1;
                    self.skip_block();
                }
                // Function names are remembered so calls are not "unknown commands".
                let mut words = vec![first];
                words.extend(name);
                Some(Node::Cmd { line, words })
            }
            Some("if") => {
                self.pos += 1;
                if self.depth >= MAX_NESTING {
                    self.warns.push((
                        line,
                        format!("if blocks nested deeper than {MAX_NESTING} are skipped"),
                    ));
                    self.skip_keyword_block(&["if"], "fi");
                    return None;
                }
                self.depth += 1;
                let mut arms = Vec::new();
                let mut els = None;
                loop {
                    let (cond, stop) = self.list(&["then"], false);
                    if stop != "then" {
                        self.warns
                            .push((line, "if without 'then' is ignored".to_string()));
                        break;
                    }
                    let (body, stop) = self.list(&["elif", "else", "fi"], false);
                    arms.push((cond, body));
                    match stop.as_str() {
                        "elif" => continue,
                        "else" => {
                            let (body, stop) = self.list(&["fi"], false);
                            els = Some(body);
                            if stop != "fi" {
                                self.warns.push((
                                    line,
                                    "if without 'fi'; it runs to the end of the file".to_string(),
                                ));
                            }
                        }
                        "fi" => {}
                        _ => self.warns.push((
                            line,
                            "if without 'fi'; it runs to the end of the file".to_string(),
                        )),
                    }
                    break;
                }
                self.depth -= 1;
                Some(Node::If { line, arms, els })
            }
            Some(k @ ("for" | "while" | "until")) => {
                self.warns
                    .push((line, format!("'{k}' loops are not run by kboot; skipped")));
                self.pos += 1;
                self.skip_keyword_block(&["for", "while", "until"], "done");
                None
            }
            Some(k @ ("then" | "elif" | "else" | "fi" | "do" | "done")) => {
                self.warns.push((
                    line,
                    format!("'{k}' without a matching if or loop is ignored"),
                ));
                self.pos += 1;
                None
            }
            _ => {
                let words = self.words();
                Some(Node::Cmd { line, words })
            }
        }
    }

    /// Skip to the `end` keyword matching an already read opener, counting nested openers
    /// (only words that start a command count).
    fn skip_keyword_block(&mut self, openers: &[&str], end: &str) {
        let mut depth = 1usize;
        let mut at_start = true;
        while let Some(t) = self.peek() {
            match t {
                Tok::Word(w, _) => {
                    if at_start {
                        if let Some(k) = w.keyword() {
                            if openers.contains(&k) {
                                depth += 1;
                            } else if k == end {
                                depth -= 1;
                                if depth == 0 {
                                    self.pos += 1;
                                    return;
                                }
                            }
                        }
                    }
                    at_start = false;
                }
                _ => at_start = true,
            }
            self.pos += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Interpreter

type Env = HashMap<String, String>;

/// An entry or submenu as defined; its body runs once the whole file is read.
struct Pending {
    file: Rc<str>,
    line: usize,
    submenu: bool,
    title: String,
    id: String,
    hotkey: Option<char>,
    body: Rc<Vec<Node>>,
}

/// What a body being run builds.
#[derive(Default)]
struct EntryState {
    kernel: Option<String>,
    args: Vec<String>,
    initrds: Vec<String>,
    devicetree: Option<String>,
    action: Option<Action>,
    /// Why the entry cannot be booted (the first reason found).
    skip: Option<String>,
}

enum Scope<'s> {
    Menu(&'s mut Vec<Pending>),
    Entry(&'s mut EntryState),
}

/// Commands a menu needs no action for.
const IGNORED: &[&str] = &[
    "insmod",
    "rmmod",
    "loadfont",
    "font",
    "terminal_input",
    "terminal_output",
    "terminal",
    "terminfo",
    "play",
    "echo",
    "search",
    "search.file",
    "search.fs_label",
    "search.fs_uuid",
    "load_env",
    "save_env",
    "export",
    "background_image",
    "background_color",
    "gfxmode",
    "gfxterm_background",
    "sleep",
    "clear",
    "true",
    "false",
    "set_background_image",
    "load_video",
    "probe",
    "regexp",
    "serial",
    "net_bootp",
    "net_dhcp",
    "net_ls_addr",
    "net_ls_cards",
    "net_add_addr",
    "net_add_route",
    "cat",
    "ls",
    "lsmod",
    "help",
    "keystatus",
    "cpuid",
    "test",
    "[",
    "eval",
    "return",
    "break",
    "continue",
    "shift",
    "setparams",
    "smbios",
    "tpm2_key_protector_init",
    "cryptomount",
    "increment",
    "decrement",
    "password",
    "password_pbkdf2",
    "hiddenentry",
    "videoinfo",
    "boot",
    "savedefault",
    "recordfail",
    "gettext",
    "locale",
];

struct Interp<'f, 'a> {
    url: String,
    /// The file whose nodes are running (for warnings and relative paths).
    file: Rc<str>,
    fetch: &'f mut Fetcher<'a>,
    warnings: Vec<String>,
    include_stack: Vec<String>,
    includes_left: usize,
    functions: HashSet<String>,
    /// File and line of the last `set default=` / `set timeout=`.
    var_lines: HashMap<String, (Rc<str>, usize)>,
    /// Local disks, for a config read from one (GRUB device names, `search`).
    devices: Option<GrubDevices>,
    /// Whether an unset variable is known to be empty (a config from a disk: kboot reads its
    /// grubenv as GRUB does) rather than something kboot cannot know (a network config).
    unset_is_empty: bool,
    /// BLS entry folders for `blscfg`.
    bls: Arc<BlsFolders>,
}

/// A word's value: the expansion and whether a variable it read is unknown.
struct Expanded {
    words: Vec<String>,
    unknown: bool,
}

fn expand(word: &Word, env: &Env) -> Expanded {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut unknown = false;
    for part in &word.parts {
        match part {
            Part::Lit { text, .. } => {
                cur.push_str(text);
                have = true;
            }
            Part::Var { name, quoted } => {
                let value = match env.get(name) {
                    Some(v) => v.as_str(),
                    None => {
                        unknown = true;
                        ""
                    }
                };
                if *quoted {
                    cur.push_str(value);
                    have = true;
                } else {
                    // Unquoted expansions split at whitespace.
                    let mut pieces = value.split(|c: char| c.is_ascii_whitespace()).peekable();
                    let starts_with_space = value.starts_with(|c: char| c.is_ascii_whitespace());
                    if starts_with_space && have {
                        words.push(std::mem::take(&mut cur));
                        have = false;
                    }
                    let mut first = true;
                    while let Some(p) = pieces.next() {
                        if p.is_empty() {
                            continue;
                        }
                        if !first && have {
                            words.push(std::mem::take(&mut cur));
                        }
                        cur.push_str(p);
                        have = true;
                        first = false;
                        if pieces.peek().is_none() {
                            break;
                        }
                    }
                    if value.ends_with(|c: char| c.is_ascii_whitespace()) && have {
                        words.push(std::mem::take(&mut cur));
                        have = false;
                    }
                }
            }
        }
    }
    if have {
        words.push(cur);
    }
    Expanded { words, unknown }
}

/// Expand a list of words; `unknown` when any read an unknown variable.
fn expand_all(words: &[Word], env: &Env) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut unknown = false;
    for w in words {
        let e = expand(w, env);
        unknown |= e.unknown;
        out.extend(e.words);
    }
    (out, unknown)
}

fn is_var_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_') && c.all(is_name_char)
}

/// `name=value` as one word's expansion.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (k, v) = word.split_once('=')?;
    is_var_name(k).then_some((k, v))
}

/// The result of evaluating a condition.
enum Truth {
    Yes,
    No,
    Unknown(String),
    /// Undecidable, but only about what GRUB itself shows (fonts, video modules): every
    /// branch is read without a warning.
    Quiet,
}

/// Condition commands that only test GRUB's own display setup.
const QUIET_CONDITIONS: &[&str] = &[
    "loadfont",
    "insmod",
    "load_video",
    "terminal_output",
    "terminal_input",
    "background_image",
];

/// Evaluate `[ ... ]` / `test ...` arguments (after the command word). `file` answers
/// `-e`/`-f`/`-s`/`-d` tests (`None`: cannot be known).
fn eval_test(args: &[String], file: &mut dyn FnMut(&str, &str) -> Option<bool>) -> Option<bool> {
    // `-o` binds looser than `-a`, both looser than the rest.
    if let Some(i) = args.iter().position(|a| a == "-o") {
        let l = eval_test(&args[..i], file);
        if l == Some(true) {
            return Some(true);
        }
        let r = eval_test(&args[i + 1..], file);
        return match (l, r) {
            (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        };
    }
    if let Some(i) = args.iter().position(|a| a == "-a") {
        let l = eval_test(&args[..i], file);
        if l == Some(false) {
            return Some(false);
        }
        let r = eval_test(&args[i + 1..], file);
        return match (l, r) {
            (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        };
    }
    match args {
        [] => Some(false),
        [a] => Some(!a.is_empty()),
        [bang, rest @ ..] if bang == "!" => eval_test(rest, file).map(|b| !b),
        [op, a] if op == "-z" => Some(a.is_empty()),
        [op, a] if op == "-n" => Some(!a.is_empty()),
        [op, a] if matches!(op.as_str(), "-e" | "-f" | "-s" | "-d") => file(op, a),
        [a, op, b] => {
            let num = |s: &str| s.trim().parse::<i64>().ok();
            match op.as_str() {
                "=" | "==" => Some(a == b),
                "!=" => Some(a != b),
                "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge" => {
                    let (x, y) = (num(a)?, num(b)?);
                    Some(match op.as_str() {
                        "-eq" => x == y,
                        "-ne" => x != y,
                        "-lt" => x < y,
                        "-le" => x <= y,
                        "-gt" => x > y,
                        _ => x >= y,
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

impl<'f, 'a> Interp<'f, 'a> {
    fn warn_at(&mut self, file: &str, line: usize, msg: impl AsRef<str>) {
        self.warnings
            .push(format!("{file} line {line}: {}", msg.as_ref()));
    }

    fn warn(&mut self, line: usize, msg: impl AsRef<str>) {
        let file = self.file.clone();
        self.warn_at(&file, line, msg);
    }

    fn parse_text(&mut self, text: &str) -> Vec<Node> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (toks, lex_warns) = lex(text);
        for (l, w) in lex_warns {
            self.warn(l, w);
        }
        let mut p = TokParser {
            toks: &toks,
            pos: 0,
            depth: 0,
            warns: Vec::new(),
        };
        let (nodes, _) = p.list(&[], false);
        for (l, w) in p.warns {
            self.warn(l, w);
        }
        nodes
    }

    fn exec_list(&mut self, nodes: &[Node], env: &mut Env, scope: &mut Scope<'_>) {
        for n in nodes {
            self.exec(n, env, scope);
        }
    }

    fn exec(&mut self, node: &Node, env: &mut Env, scope: &mut Scope<'_>) {
        match node {
            Node::Cmd { line, words } => self.command(*line, words, env, scope),
            Node::Block {
                line,
                submenu,
                args,
                body,
            } => {
                let (args, _) = expand_all(args, env);
                let kind = if *submenu { "submenu" } else { "menuentry" };
                let Scope::Menu(pending) = scope else {
                    self.warn(*line, format!("a {kind} inside a menuentry is ignored"));
                    return;
                };
                let mut title = None;
                let mut id = None;
                let mut hotkey = None;
                let mut i = 0;
                while i < args.len() {
                    let a = &args[i];
                    let (opt, inline) = match a.split_once('=') {
                        Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
                        _ => (a.as_str(), None),
                    };
                    match opt {
                        "--class" | "--users" | "--id" | "--hotkey" | "--source" => {
                            let v = match inline {
                                Some(v) => Some(v),
                                None => {
                                    i += 1;
                                    args.get(i).cloned()
                                }
                            };
                            match (opt, v) {
                                ("--id", Some(v)) => id = Some(v),
                                ("--hotkey", Some(v)) => {
                                    let mut c = v.chars();
                                    if let (Some(k), None) = (c.next(), c.next()) {
                                        hotkey = Some(k.to_ascii_lowercase());
                                    }
                                }
                                _ => {}
                            }
                        }
                        "--unrestricted" => {}
                        o if o.starts_with("--") && title.is_none() => {
                            self.warn(*line, format!("{kind} option '{}' ignored", snippet(o)));
                        }
                        _ => {
                            if title.is_none() {
                                title = Some(a.clone());
                            }
                        }
                    }
                    i += 1;
                }
                let Some(title) = title else {
                    self.warn(*line, format!("{kind} without a title is ignored"));
                    return;
                };
                let id = id
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| title.clone());
                pending.push(Pending {
                    file: self.file.clone(),
                    line: *line,
                    submenu: *submenu,
                    title,
                    id,
                    hotkey,
                    body: body.clone(),
                });
            }
            Node::If { line, arms, els } => {
                let mut undecided = false;
                for (cond, body) in arms {
                    match self.condition(cond, env, scope) {
                        Truth::Yes => {
                            self.exec_list(body, env, scope);
                            return;
                        }
                        Truth::No => {}
                        Truth::Unknown(why) => {
                            if !undecided {
                                self.warn(*line, format!("{why}; every branch of this if is read"));
                                undecided = true;
                            }
                            self.exec_list(body, env, scope);
                        }
                        Truth::Quiet => self.exec_list(body, env, scope),
                    }
                }
                if let Some(b) = els {
                    self.exec_list(b, env, scope);
                }
            }
        }
    }

    /// Run a condition list: everything but the last command runs; the last decides.
    fn condition(&mut self, cond: &[Node], env: &mut Env, scope: &mut Scope<'_>) -> Truth {
        let Some((last, before)) = cond.split_last() else {
            return Truth::Unknown("an empty if condition cannot be decided".into());
        };
        self.exec_list(before, env, scope);
        let Node::Cmd { words, .. } = last else {
            return Truth::Unknown(
                "an if condition that is not a command cannot be decided".into(),
            );
        };
        let (mut args, unknown) = expand_all(words, env);
        let negate = args.first().is_some_and(|a| a == "!");
        if negate {
            args.remove(0);
        }
        let Some(cmd) = args.first().cloned() else {
            return Truth::Unknown("an empty if condition cannot be decided".into());
        };
        let env_ro: &Env = env;
        let mut file = |op: &str, p: &str| self.file_test(op, p, env_ro);
        let result = match cmd.as_str() {
            "[" => {
                if args.last().map(String::as_str) != Some("]") {
                    return Truth::Unknown("a '[' test without ']' cannot be decided".into());
                }
                eval_test(&args[1..args.len() - 1], &mut file)
            }
            "test" => eval_test(&args[1..], &mut file),
            "true" => Some(true),
            "false" => Some(false),
            c if QUIET_CONDITIONS.contains(&c) => return Truth::Quiet,
            _ => {
                return Truth::Unknown(format!(
                    "the if condition '{}' depends on the machine",
                    snippet(&cmd)
                ))
            }
        };
        if unknown && !self.unset_is_empty {
            return Truth::Unknown(format!(
                "the if condition '{}' reads a variable kboot does not know",
                snippet(&args.join(" "))
            ));
        }
        match result {
            Some(b) if b != negate => Truth::Yes,
            Some(_) => Truth::No,
            None => Truth::Unknown(format!(
                "the test '{}' cannot be decided here",
                snippet(&args.join(" "))
            )),
        }
    }

    fn command(&mut self, line: usize, words: &[Word], env: &mut Env, scope: &mut Scope<'_>) {
        if let Some("function") = words.first().and_then(Word::keyword) {
            if let Some(name) = words.get(1).and_then(Word::keyword) {
                self.functions.insert(name.to_string());
            }
            return;
        }
        let (args, _) = expand_all(words, env);
        let Some(cmd) = args.first() else {
            return;
        };
        if let Some((k, v)) = assignment(cmd) {
            self.set_var(line, k, v, env);
            return;
        }
        let rest = &args[1..];
        match cmd.as_str() {
            "set" => {
                for a in rest {
                    match a.split_once('=') {
                        Some((k, v)) if is_var_name(k) => self.set_var(line, k, v, env),
                        _ => {}
                    }
                }
            }
            "unset" => {
                for a in rest {
                    env.remove(a);
                }
            }
            "source" => self.include(line, rest.first(), env, scope),
            "configfile" => match scope {
                Scope::Entry(st) => {
                    let Some(f) = rest.first() else {
                        return;
                    };
                    match self.path(f, env) {
                        Ok(u) => st.action = Some(Action::Chain(u)),
                        Err(e) => {
                            st.skip.get_or_insert(e);
                        }
                    }
                }
                Scope::Menu(_) => self.include(line, rest.first(), env, scope),
            },
            "blscfg" | "bls_import" => self.blscfg(line, rest, env, scope),
            "search" | "search.fs_uuid" | "search.fs_label" | "search.file" => {
                self.search(line, cmd, rest, env)
            }
            "load_env" => self.load_env(line, rest, env),
            "linux" | "linux16" | "linuxefi" | "initrd" | "initrd16" | "initrdefi"
            | "devicetree" | "chainloader" | "reboot" | "halt" | "exit" | "multiboot"
            | "multiboot2" | "module" | "module2" | "loopback" | "kfreebsd" | "knetbsd"
            | "kopenbsd" | "appleloader" | "fwsetup" | "ntldr" | "xnu_kernel" | "xnu_kernel64" => {
                let Scope::Entry(st) = scope else {
                    // `fwsetup --is-supported` (30_uefi-firmware) only asks GRUB a question.
                    if cmd != "fwsetup" {
                        self.warn(
                            line,
                            format!("'{}' outside a menuentry is ignored", snippet(cmd)),
                        );
                    }
                    return;
                };
                self.entry_command(cmd, rest, env, st);
            }
            c if IGNORED.contains(&c) || c.starts_with("terminal_") || c.starts_with("gfx") => {}
            c if c.starts_with('[') => {}
            c if self.functions.contains(c) => {}
            c => self.warn(line, format!("unknown command '{}' ignored", snippet(c))),
        }
    }

    fn entry_command(&mut self, cmd: &str, rest: &[String], env: &Env, st: &mut EntryState) {
        let fail = |st: &mut EntryState, why: String| {
            st.skip.get_or_insert(why);
        };
        match cmd {
            "linux" | "linux16" | "linuxefi" => {
                let Some(k) = rest.first() else {
                    fail(st, format!("'{cmd}' names no kernel"));
                    return;
                };
                match self.path(k, env) {
                    Ok(u) => st.kernel = Some(u),
                    Err(e) => fail(st, e),
                }
                // GRUB's loader passes the kernel's path too: `BOOT_IMAGE=PATH ARGS...`.
                st.args = rest.iter().map(|a| loader_arg(a)).collect();
            }
            "initrd" | "initrd16" | "initrdefi" => {
                st.initrds.clear();
                for i in rest {
                    match self.path(i, env) {
                        Ok(u) => st.initrds.push(u),
                        Err(e) => fail(st, e),
                    }
                }
            }
            "devicetree" => match rest.first().map(|d| self.path(d, env)) {
                Some(Ok(u)) => st.devicetree = Some(u),
                Some(Err(e)) => fail(st, e),
                None => {}
            },
            "chainloader" => match rest.iter().position(|a| !a.starts_with("--")) {
                Some(i)
                    if rest[i].starts_with("+")
                        || rest[i].starts_with("(hd") && !rest[i].contains(")/") =>
                {
                    st.action = Some(Action::LocalBoot)
                }
                // An EFI file: booted as a unified kernel image (the boot recognises one by
                // its content and splits it; another EFI program fails there).
                Some(i) => match self.path(&rest[i], env) {
                    Ok(u) => {
                        st.kernel = Some(u);
                        st.args = rest[i..].iter().map(|a| loader_arg(a)).collect();
                    }
                    Err(e) => fail(st, e),
                },
                None => fail(st, "'chainloader' names nothing to boot".into()),
            },
            "exit" => st.action = Some(Action::LocalBoot),
            "reboot" => st.action = Some(Action::Reboot),
            "halt" => st.action = Some(Action::PowerOff),
            other => fail(st, format!("'{other}' is not supported by kboot")),
        }
    }

    /// Resolve a GRUB path to a URL; Err is a one-phrase reason.
    fn path(&self, p: &str, env: &Env) -> Result<String, String> {
        let (device, path) = if let Some(rest) = p.strip_prefix('(') {
            match rest.split_once(')') {
                Some((d, path)) => (Some(d.to_string()), path.to_string()),
                None => return Err(format!("'{}' has no ')' after its device", snippet(p))),
            }
        } else if p.starts_with('/') {
            (env.get("root").cloned(), p.to_string())
        } else {
            // A full URL, or a path relative to the config.
            return resolve(Some(&self.url), p).map_err(|e| e.to_string());
        };
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        let own = url_device(&self.url);
        let device = device.filter(|d| !d.is_empty());
        let Some(device) = device else {
            return resolve(Some(&self.url), &path).map_err(|e| e.to_string());
        };
        let device = device.trim_matches(|c| c == '(' || c == ')');
        if Some(device) == own.as_deref() {
            return resolve(Some(&self.url), &path).map_err(|e| e.to_string());
        }
        let (kind, server) = match device.split_once(',') {
            Some((k, s)) => (k, Some(s)),
            None => match device.split_once(':') {
                Some((k, s)) if k == "pxe" => (k, Some(s)),
                _ => (device, None),
            },
        };
        let scheme = match kind {
            "tftp" | "pxe" | "pxe0" => "tftp",
            "http" => "http",
            "https" => "https",
            _ => {
                let Some(devs) = &self.devices else {
                    return Err(format!(
                        "'{}' is on the local device '{}', which kboot cannot map without its disk inventory",
                        snippet(p),
                        snippet(device)
                    ));
                };
                let vol = devs
                    .resolve(device)
                    .map_err(|e| format!("'{}': {e}", snippet(p)))?;
                if vol.fs.is_none() {
                    return Err(format!(
                        "'{}' is on {}, which has no filesystem kboot can read{}",
                        snippet(p),
                        vol.name,
                        vol.note
                            .as_ref()
                            .map_or(String::new(), |n| format!(" ({n})"))
                    ));
                }
                return resolve(None, &format!("{}:{path}", vol.name)).map_err(|e| e.to_string());
            }
        };
        let server = match server.filter(|s| !s.is_empty()) {
            Some(s) => s.to_string(),
            None => {
                let u = url::Url::parse(&self.url).ok();
                let host = u.as_ref().and_then(|u| u.host_str()).map(String::from);
                let same_scheme = u.as_ref().is_some_and(|u| u.scheme() == scheme);
                match (host, u.as_ref().and_then(|u| u.port())) {
                    (Some(h), Some(port)) if same_scheme => format!("{h}:{port}"),
                    (Some(h), _) => h,
                    (None, _) => match env.get("net_default_server") {
                        Some(s) if !s.is_empty() => s.clone(),
                        _ => return Err(format!("'{}' names no server", snippet(p))),
                    },
                }
            }
        };
        resolve(None, &format!("{scheme}://{server}{path}")).map_err(|e| e.to_string())
    }

    fn include(
        &mut self,
        line: usize,
        target: Option<&String>,
        env: &mut Env,
        scope: &mut Scope<'_>,
    ) {
        let Some(target) = target else {
            self.warn(line, "source without a file name is ignored");
            return;
        };
        let url = match self.path(target, env) {
            Ok(u) => u,
            Err(e) => {
                self.warn(line, format!("'{}' not read: {e}", snippet(target)));
                return;
            }
        };
        if url == self.url || self.include_stack.contains(&url) {
            self.warn(
                line,
                format!("'{url}' loops back to a file being read; skipped"),
            );
            return;
        }
        if self.include_stack.len() >= MAX_INCLUDE_DEPTH {
            self.warn(
                line,
                format!("'{url}' is nested deeper than {MAX_INCLUDE_DEPTH} files; skipped"),
            );
            return;
        }
        if self.includes_left == 0 {
            self.warn(
                line,
                format!("'{url}' skipped: more than {MAX_INCLUDES} files included"),
            );
            return;
        }
        self.includes_left -= 1;
        match (self.fetch)(&url) {
            Ok(text) => {
                let saved = std::mem::replace(&mut self.file, Rc::from(url.as_str()));
                self.include_stack.push(url);
                let nodes = self.parse_text(&text);
                self.exec_list(&nodes, env, scope);
                self.include_stack.pop();
                self.file = saved;
            }
            Err(e) => self.warn(
                line,
                format!("'{url}' could not be read ({e}); the rest of the menu is kept"),
            ),
        }
    }

    fn set_var(&mut self, line: usize, k: &str, v: &str, env: &mut Env) {
        if k == "default" || k == "timeout" {
            self.var_lines
                .insert(k.to_string(), (self.file.clone(), line));
        }
        env.insert(k.to_string(), v.to_string());
    }

    /// Where `set name=` was last read, for warnings.
    fn var_line(&self, name: &str) -> (Rc<str>, usize) {
        self.var_lines
            .get(name)
            .cloned()
            .unwrap_or_else(|| (Rc::from(self.url.as_str()), 1))
    }

    /// Run pending entries' bodies and build the entries of one menu level.
    fn build_menu(&mut self, pending: Vec<Pending>, env: &Env) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        let mut ids = HashSet::new();
        for p in pending {
            let saved = std::mem::replace(&mut self.file, p.file.clone());
            let mut env = env.clone();
            let entry = if p.submenu {
                let mut sub = Vec::new();
                self.exec_list(&p.body, &mut env, &mut Scope::Menu(&mut sub));
                let children = self.build_menu(sub, &env);
                if children.is_empty() {
                    self.warn(
                        p.line,
                        format!(
                            "submenu '{}' has no entries kboot can boot; it is left out",
                            snippet(&p.title)
                        ),
                    );
                    None
                } else {
                    Some(Entry {
                        id: p.id.clone(),
                        title: p.title.clone(),
                        children,
                        hotkey: p.hotkey,
                        ..Default::default()
                    })
                }
            } else {
                let mut st = EntryState::default();
                self.exec_list(&p.body, &mut env, &mut Scope::Entry(&mut st));
                self.finish_entry(&p, st)
            };
            self.file = saved;
            let Some(mut e) = entry else {
                continue;
            };
            if !ids.insert(e.id.clone()) {
                let mut n = 2;
                let id = loop {
                    let cand = format!("{}~{n}", e.id);
                    if ids.insert(cand.clone()) {
                        break cand;
                    }
                    n += 1;
                };
                self.warn_at(
                    &p.file,
                    p.line,
                    format!(
                        "menuentry id '{}' is repeated in its menu; this one is '{}'",
                        snippet(&e.id),
                        snippet(&id)
                    ),
                );
                e.id = id;
            }
            out.push(e);
        }
        out
    }

    fn finish_entry(&mut self, p: &Pending, st: EntryState) -> Option<Entry> {
        let file = p.file.clone();
        if let Some(why) = st.skip {
            self.warn_at(
                &file,
                p.line,
                format!("menuentry '{}' skipped: {why}", snippet(&p.title)),
            );
            return None;
        }
        let mut e = Entry {
            id: p.id.clone(),
            title: p.title.clone(),
            hotkey: p.hotkey,
            ..Default::default()
        };
        if let Some(a) = st.action {
            e.action = Some(a);
            return Some(e);
        }
        let Some(kernel) = st.kernel else {
            self.warn_at(
                &file,
                p.line,
                format!(
                    "menuentry '{}' skipped: it has no linux command",
                    snippet(&p.title)
                ),
            );
            return None;
        };
        e.kernel = Some(kernel);
        e.initrds = st.initrds;
        e.devicetree = st.devicetree;
        // As GRUB's loader builds it: `BOOT_IMAGE=` and the `linux` words (the kernel's path
        // as written, then the arguments) joined by single spaces.
        e.cmdline = format!("BOOT_IMAGE={}", st.args.join(" "));
        Some(e)
    }

    /// `set default=` value → a top-level entry id. A path `A>B` into a submenu sets the
    /// submenus' [`Entry::default_child`] on the way down.
    fn resolve_default(&mut self, entries: &mut [Entry], d: &str) -> Option<String> {
        let (url, line) = self.var_line("default");
        let find = |list: &[Entry], key: &str| -> Option<usize> {
            match key.trim().parse::<usize>() {
                Ok(n) => (n < list.len()).then_some(n),
                Err(_) => list
                    .iter()
                    .position(|e| e.id == key)
                    .or_else(|| list.iter().position(|e| e.title == key)),
            }
        };
        let mut parts = d.split('>');
        let first = parts.next().unwrap_or("");
        let Some(i) = find(entries, first) else {
            self.warn_at(
                &url,
                line,
                format!(
                    "default '{}' names no entry; the first entry is the default",
                    snippet(d)
                ),
            );
            return None;
        };
        let top = entries[i].id.clone();
        let mut level = &mut entries[i];
        for part in parts {
            let Some(j) = find(&level.children, part) else {
                self.warn_at(
                    &url,
                    line,
                    format!(
                        "default '{}': '{}' names no entry of submenu '{}'; its first entry is the default",
                        snippet(d),
                        snippet(part),
                        snippet(&level.title)
                    ),
                );
                break;
            };
            level.default_child = Some(level.children[j].id.clone());
            level = &mut level.children[j];
        }
        Some(top)
    }

    /// `[ -e|-f|-s|-d FILE ]` on a local volume, through the fetcher (a file it returns
    /// exists). `None` (undecidable) for network configs, folders and when the budget of
    /// files is spent.
    fn file_test(&mut self, op: &str, p: &str, env: &Env) -> Option<bool> {
        if self.devices.is_none() || op == "-d" || self.includes_left == 0 {
            return None;
        }
        let url = self.path(p, env).ok()?;
        if !matches!(parse_location(&url), Ok(Location::Device { .. })) {
            return None;
        }
        self.includes_left -= 1;
        Some(match (self.fetch)(&url) {
            Ok(text) => op != "-s" || !text.is_empty(),
            Err(_) => false,
        })
    }

    /// Whether `vol:/file` exists, for `search --file`.
    fn file_exists(&mut self, vol: &str, file: &str) -> bool {
        let Ok(url) = resolve(None, &format!("{vol}:{file}")) else {
            return false;
        };
        if self.includes_left == 0 {
            return false;
        }
        self.includes_left -= 1;
        (self.fetch)(&url).is_ok()
    }

    /// `search [--fs-uuid|--label|--file] [--set[=VAR]] [--hint...] NAME [HINT...]` and the
    /// `search.fs_uuid NAME [VAR [HINT...]]` forms: VAR (default `root`) becomes GRUB's name of
    /// the first volume that matches, hints first, then in GRUB's device order. Without a disk
    /// inventory (network configs) search is ignored.
    fn search(&mut self, line: usize, cmd: &str, rest: &[String], env: &mut Env) {
        #[derive(Clone, Copy, PartialEq)]
        enum Kind {
            Uuid,
            Label,
            File,
        }
        let Some(devs) = self.devices.clone() else {
            return;
        };
        let mut kind = match cmd {
            "search.fs_uuid" => Some(Kind::Uuid),
            "search.fs_label" => Some(Kind::Label),
            "search.file" => Some(Kind::File),
            _ => None,
        };
        let dotted = kind.is_some();
        let mut var: Option<String> = None;
        let mut hints: Vec<String> = Vec::new();
        let mut positional: Vec<String> = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let a = &rest[i];
            let (opt, inline) = match a.split_once('=') {
                Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            match opt {
                "--fs-uuid" | "-u" => kind = Some(Kind::Uuid),
                "--label" | "-l" => kind = Some(Kind::Label),
                "--file" | "-f" => kind = Some(Kind::File),
                "--no-floppy" | "-n" | "--efidisk-only" => {}
                "--set" | "-s" => {
                    var = Some(match inline {
                        Some(v) => v,
                        None => {
                            // `--set VAR NAME`: the next word is the variable when a name
                            // still follows it.
                            let not_opt = |w: &String| !w.starts_with('-');
                            let next = rest.get(i + 1).filter(|w| not_opt(w));
                            let more = rest.get(i + 2..).unwrap_or(&[]).iter().any(not_opt);
                            match next {
                                Some(v) if more => {
                                    i += 1;
                                    v.clone()
                                }
                                _ => "root".to_string(),
                            }
                        }
                    })
                }
                o if o == "-h" || o.starts_with("--hint") => {
                    let v = match inline {
                        Some(v) => Some(v),
                        None => {
                            i += 1;
                            rest.get(i).cloned()
                        }
                    };
                    hints.extend(v);
                }
                o if o.starts_with('-') && o.len() > 1 => {
                    self.warn(line, format!("search option '{}' ignored", snippet(o)))
                }
                _ => positional.push(a.clone()),
            }
            i += 1;
        }
        let Some(kind) = kind else {
            self.warn(
                line,
                "search without --fs-uuid, --label or --file is ignored",
            );
            return;
        };
        let Some(name) = positional.first().cloned() else {
            self.warn(line, "search names nothing to look for; ignored");
            return;
        };
        let mut extra = positional.into_iter().skip(1);
        if dotted {
            if let Some(v) = extra.next() {
                var = Some(v);
            }
        }
        hints.extend(extra);
        let Some(var) = var else {
            return; // GRUB only prints what it found
        };
        let hit = |it: &mut Self, v: &crate::disk::Volume| -> bool {
            let fs = v.fs.as_ref();
            match kind {
                Kind::Uuid => fs
                    .and_then(|f| f.uuid.as_deref())
                    .is_some_and(|u| u.eq_ignore_ascii_case(&name)),
                Kind::Label => fs.and_then(|f| f.label.as_deref()) == Some(name.as_str()),
                Kind::File => fs.is_some() && it.file_exists(&v.name, &name),
            }
        };
        let mut found = None;
        for h in &hints {
            if let Ok(v) = devs.resolve(h) {
                if hit(self, v) {
                    found = Some(v);
                    break;
                }
            }
        }
        if found.is_none() {
            for v in devs.volumes_in_order() {
                if hit(self, v) {
                    found = Some(v);
                    break;
                }
            }
        }
        match found {
            Some(v) => {
                let n = devs.name_of(v);
                self.set_var(line, &var, &n, env);
            }
            None => {
                let what = match kind {
                    Kind::Uuid => "filesystem UUID",
                    Kind::Label => "label",
                    Kind::File => "file",
                };
                let now = env.get(&var).cloned().unwrap_or_default();
                self.warn(
                    line,
                    format!(
                        "search: no volume has the {what} '{}'; ${var} stays '{}'",
                        snippet(&name),
                        snippet(&now)
                    ),
                );
            }
        }
    }

    /// `load_env [-f FILE] [--skip-sig] [VAR...]`: the variables of GRUB's environment block
    /// (`$prefix/grubenv`), read through the fetcher. Ignored for network configs.
    fn load_env(&mut self, line: usize, rest: &[String], env: &mut Env) {
        if self.devices.is_none() {
            return;
        }
        let mut file = None;
        let mut only: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let a = rest[i].as_str();
            match a {
                "-f" | "--file" => {
                    i += 1;
                    file = rest.get(i).cloned();
                }
                _ if a.starts_with("--file=") => file = Some(a["--file=".len()..].to_string()),
                _ if a.starts_with('-') => {}
                _ => only.push(a),
            }
            i += 1;
        }
        let file = file
            .unwrap_or_else(|| format!("{}/grubenv", env.get("prefix").map_or("", String::as_str)));
        let url = match self.path(&file, env) {
            Ok(u) => u,
            Err(e) => {
                self.warn(
                    line,
                    format!("load_env: '{}' not read: {e}", snippet(&file)),
                );
                return;
            }
        };
        if self.includes_left == 0 {
            self.warn(
                line,
                format!("load_env: '{url}' skipped: more than {MAX_INCLUDES} files read"),
            );
            return;
        }
        self.includes_left -= 1;
        let text = match (self.fetch)(&url) {
            Ok(t) => t,
            Err(e) => {
                self.warn(
                    line,
                    format!("load_env: '{url}' could not be read ({e}); its variables stay unset"),
                );
                return;
            }
        };
        match grubenv::parse(text.as_bytes()) {
            Ok(vars) => {
                for (k, v) in vars {
                    if (only.is_empty() || only.contains(&k.as_str())) && is_var_name(&k) {
                        self.set_var(line, &k, &v, env);
                    }
                }
            }
            Err(e) => self.warn(line, format!("load_env: '{url}': {e}")),
        }
    }

    /// `blscfg [default|non-default|ID]`: the Boot Loader Spec entries in `$blsdir` (else
    /// `/loader/entries`, then `/boot/loader/entries`) on `$root`'s volume become menu
    /// entries, as GRUB's blscfg builds them: newest version first, `linux ($root)PATH
    /// OPTIONS` with GRUB variables in the options expanded, the id the file name.
    fn blscfg(&mut self, line: usize, args: &[String], env: &Env, scope: &mut Scope<'_>) {
        let Some(devs) = self.devices.clone() else {
            self.warn(line, "blscfg: BLS entries are read by the BLS parser");
            return;
        };
        let Scope::Menu(pending) = scope else {
            self.warn(line, "blscfg inside a menuentry is ignored");
            return;
        };
        let root = env.get("root").cloned().unwrap_or_default();
        let vol = match devs.resolve(&root) {
            Ok(v) => v.name.clone(),
            Err(e) => {
                self.warn(line, format!("blscfg: $root: {e}"));
                return;
            }
        };
        let dirs: Vec<String> = match env.get("blsdir").filter(|d| !d.is_empty()) {
            Some(d) => vec![d.clone()],
            None => vec!["/loader/entries".into(), "/boot/loader/entries".into()],
        };
        let bls = self.bls.clone();
        let Some((dir, files)) = dirs.iter().find_map(|d| {
            let key = format!("{vol}:{}", d.trim_end_matches('/'));
            bls.get(&key).map(|f| (key, f))
        }) else {
            self.warn(
                line,
                format!(
                    "blscfg: no Boot Loader Spec entries in {}",
                    dirs.iter()
                        .map(|d| format!("{vol}:{d}"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            );
            return;
        };
        let mut list: Vec<(String, Vec<(String, String)>)> = files
            .iter()
            .filter_map(|(name, text)| {
                let stem = name.strip_suffix(".conf")?;
                (!stem.is_empty() && !name.starts_with('.'))
                    .then(|| (stem.to_string(), bls::grub_keys(text)))
            })
            .collect();
        list.sort_by(|a, b| bls::grub_blscfg_cmp(&b.0, &a.0));
        list.dedup_by(|a, b| bls::grub_blscfg_cmp(&a.0, &b.0).is_eq());
        let default = env.get("default").cloned();
        for (idx, (id, keys)) in list.iter().enumerate() {
            let get = |k: &str| {
                keys.iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.as_str())
            };
            let Some(linux) = get("linux") else {
                continue; // GRUB skips these (EFI programs are chainloaded there)
            };
            let title = get("title").unwrap_or(linux).to_string();
            let is_default = default.as_deref().is_some_and(|d| {
                d == id || d == title || d.trim().parse::<usize>().ok() == Some(idx)
            });
            let wanted = match args.first().map(String::as_str) {
                None => true,
                Some("default") => is_default,
                Some("non-default") => !is_default,
                Some(other) => other == id,
            };
            if !wanted {
                continue;
            }
            let options = get("options")
                .map(|o| bls_expand(o, env))
                .or_else(|| env.get("default_kernelopts").map(|o| bls_expand(o, env)));
            let mut script = format!("linux ($root){linux}");
            if let Some(o) = options {
                script.push(' ');
                script.push_str(&o);
            }
            let initrds: Vec<&str> = keys
                .iter()
                .filter(|(k, _)| k == "initrd")
                .map(|(_, v)| v.as_str())
                .collect();
            if !initrds.is_empty() {
                script.push_str("\ninitrd");
                for i in initrds {
                    script.push_str(" ($root)");
                    script.push_str(i);
                }
            }
            if let Some(dt) = get("devicetree") {
                script.push_str("\ndevicetree ($root)");
                script.push_str(&bls_expand(dt, env));
            }
            script.push('\n');
            let file: Rc<str> = Rc::from(format!("{dir}/{id}.conf").as_str());
            let saved = std::mem::replace(&mut self.file, file.clone());
            let body = self.parse_text(&script);
            self.file = saved;
            let hotkey = get("grub_hotkey").and_then(|h| {
                let mut c = h.chars();
                match (c.next(), c.next()) {
                    (Some(k), None) => Some(k.to_ascii_lowercase()),
                    _ => None,
                }
            });
            pending.push(Pending {
                file,
                line: 1,
                submenu: false,
                title,
                id: id.clone(),
                hotkey,
                body: Rc::new(body),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Handoff;

    const URL: &str = "tftp://10.0.2.2/boot/grub/grub.cfg";

    fn g_ctx(text: &str, ctx: &ParseContext, files: &[(&str, &str)]) -> Menu {
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
        parse(text, URL, ctx, &mut fetch)
    }

    fn g(text: &str) -> Menu {
        g_ctx(text, &ParseContext::default(), &[])
    }

    #[test]
    fn simple_entries_paths_and_cmdline() {
        let m = g("set timeout=5\nset default=1\nmenuentry 'Install' --class debian --id inst {\n  linux /d-i/linux vga=788 --- quiet\n  initrd /d-i/initrd.gz\n}\nmenuentry \"Rescue\" {\n\tlinux\t(tftp)/d-i/linux rescue/enable=true\n\tinitrd (tftp,10.0.2.9)/a.gz (http)/b.gz\n}\n");
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.timeout_ms, Some(5000));
        assert_eq!(m.default.as_deref(), Some("Rescue"));
        let e = &m.entries[0];
        assert_eq!((e.id.as_str(), e.title.as_str()), ("inst", "Install"));
        assert_eq!(e.kernel.as_deref(), Some("tftp://10.0.2.2/d-i/linux"));
        assert_eq!(e.initrds, vec!["tftp://10.0.2.2/d-i/initrd.gz"]);
        assert_eq!(e.cmdline, "BOOT_IMAGE=/d-i/linux vga=788 --- quiet");
        assert_eq!(e.handoff, Handoff::Default);
        let e = &m.entries[1];
        assert_eq!(e.kernel.as_deref(), Some("tftp://10.0.2.2/d-i/linux"));
        assert_eq!(
            e.initrds,
            vec!["tftp://10.0.2.9/a.gz", "http://10.0.2.2/b.gz"]
        );
    }

    #[test]
    fn quoting_rules() {
        let m = g(r#"set v="a b"
set w='$v'
menuentry 'It'\''s "q"' {
  linux /k x=$v y="$v" z='$v' e=\$v f="\"\\" g=${w}x h=\#
}
"#);
        assert_eq!(m.warnings, Vec::<String>::new());
        let e = &m.entries[0];
        assert_eq!(e.title, "It's \"q\"");
        // As GRUB's loader builds it: `\`, `'` and `"` escaped, spaces quoted.
        assert_eq!(
            e.cmdline,
            "BOOT_IMAGE=/k x=a b \"y=a b\" z=$v e=$v f=\\\"\\\\ g=$vx h=#"
        );
    }

    #[test]
    fn semicolons_comments_and_continuations() {
        let m = g("set a=1; set b=2 # comment ; set c=3\nmenuentry x { linux /k \\\n  quiet; initrd /i }\n# menuentry y { linux /k }\n");
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].cmdline, "BOOT_IMAGE=/k quiet");
        assert_eq!(m.entries[0].initrds, vec!["tftp://10.0.2.2/i"]);
    }

    #[test]
    fn submenus_and_default_path() {
        let m = g("set default='Adv>Expert'\nmenuentry A { linux /a }\nsubmenu Adv --id adv {\n  menuentry Expert { linux /e priority=low }\n  menuentry A { linux /a2 }\n}\n");
        assert_eq!(m.entries[1].id, "adv");
        assert_eq!(m.entries[1].children.len(), 2);
        assert_eq!(m.entries[1].children[1].id, "A");
        assert_eq!(
            m.entries[1].children[0].cmdline,
            "BOOT_IMAGE=/e priority=low"
        );
        assert_eq!(m.default.as_deref(), Some("adv"));
        assert_eq!(m.entries[1].default_child.as_deref(), Some("Expert"));
        assert_eq!(
            m.default_entry().map(|e| e.cmdline.as_str()),
            Some("BOOT_IMAGE=/e priority=low")
        );
        assert_eq!(m.warnings, Vec::<String>::new());
        let m = g("set default='Adv>Nope'\nsubmenu Adv { menuentry E { linux /e } }\n");
        assert_eq!(m.default.as_deref(), Some("Adv"));
        assert_eq!(m.entries[0].default_child, None);
        assert_eq!(m.warnings.len(), 1);
        assert!(
            m.warnings[0].starts_with(&format!("{URL} line 1:")),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn default_by_index_id_and_title() {
        let t = "menuentry A --id a { linux /a }\nmenuentry B { linux /b }\n";
        assert_eq!(
            g(&format!("set default=1\n{t}")).default.as_deref(),
            Some("B")
        );
        assert_eq!(
            g(&format!("set default=a\n{t}")).default.as_deref(),
            Some("a")
        );
        assert_eq!(
            g(&format!("set default=A\n{t}")).default.as_deref(),
            Some("a")
        );
        let m = g(&format!("set default=7\n{t}"));
        assert_eq!(m.default, None);
        assert_eq!(m.warnings.len(), 1);
    }

    #[test]
    fn timeouts() {
        assert_eq!(g("set timeout=-1\n").timeout_ms, None);
        assert_eq!(g("").timeout_ms, None);
        assert_eq!(g("timeout=0\n").timeout_ms, Some(0));
        let m = g("set timeout=soon\n");
        assert_eq!(m.timeout_ms, None);
        assert_eq!(m.warnings.len(), 1);
    }

    #[test]
    fn platform_conditionals() {
        let t = "if [ \"$grub_platform\" = \"efi\" ]; then\n menuentry E { linuxefi /e }\nelif [ x$grub_platform == xpc ]; then\n menuentry P { linux16 /p }\nelse\n menuentry O { linux /o }\nfi\n";
        let m = g(t);
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(
            m.entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            vec!["P"]
        );
        let efi = ParseContext {
            efi: true,
            ..Default::default()
        };
        let m = g_ctx(t, &efi, &[]);
        assert_eq!(
            m.entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            vec!["E"]
        );
    }

    #[test]
    fn undecidable_conditions_take_every_branch() {
        let m = g("if loadfont unicode; then\n set gfx=1\nfi\nif [ -s $prefix/grubenv ]; then\n menuentry A { linux /a }\nelse\n menuentry B { linux /b }\nfi\nif [ \"${next_entry}\" ] ; then set default=\"${next_entry}\"; fi\n");
        assert_eq!(m.entries.len(), 2);
        // loadfont only concerns GRUB's own display: read quietly.
        assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("line 4:"));
        assert_eq!(m.default, None);
    }

    #[test]
    fn test_operators() {
        let m = g("set n=3\nif [ $n -gt 2 -a 1 ]; then menuentry X { linux /x }; fi\nif test $n -ge 3; then menuentry Y { linux /y }; fi\nif [ ! -z \"$n\" ]; then menuentry Z { linux /z }; fi\nif ! [ -n \"\" ]; then menuentry W { linux /w }; fi\n");
        let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, vec!["X", "Y", "Z", "W"], "{:?}", m.warnings);
    }

    #[test]
    fn menuentry_id_option_idiom() {
        let m = g("if [ x\"${feature_menuentry_id}\" = xy ]; then\n  menuentry_id_option=\"--id\"\nelse\n  menuentry_id_option=\"\"\nfi\nexport menuentry_id_option\nmenuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-1234' {\n linux /vmlinuz root=UUID=1234 ro quiet\n}\n");
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.entries[0].id, "gnulinux-simple-1234");
        assert_eq!(m.entries[0].title, "Debian GNU/Linux");
    }

    #[test]
    fn variables_from_context_and_late_binding() {
        let ctx = ParseContext {
            mac: Some([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            ip: Some("10.0.2.15".parse().unwrap()),
            ..Default::default()
        };
        let m = g_ctx("menuentry A { linux $prefix/k mac=$net_default_mac ip=$net_default_ip v=$ver }\nset ver=2\n", &ctx, &[]);
        let e = &m.entries[0];
        assert_eq!(e.kernel.as_deref(), Some("tftp://10.0.2.2/boot/grub/k"));
        assert_eq!(
            e.cmdline,
            "BOOT_IMAGE=(tftp,10.0.2.2)/boot/grub/k mac=52:54:00:12:34:56 ip=10.0.2.15 v=2"
        );
    }

    #[test]
    fn set_inside_entry_stays_local() {
        let m = g("set root=(tftp,10.0.2.7)\nmenuentry A { set root=(http,h:8080); linux /k }\nmenuentry B { linux /k }\n");
        assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h:8080/k"));
        assert_eq!(m.entries[1].kernel.as_deref(), Some("tftp://10.0.2.7/k"));
    }

    #[test]
    fn local_devices_skip_the_entry() {
        let m = g("menuentry Disk { linux (hd0,1)/vmlinuz }\nmenuentry Root { set root='hd0,gpt2'; linux /vmlinuz }\nmenuentry Loop { loopback loop /x.iso; linux (loop)/k }\nmenuentry Net { linux /k }\n");
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].id, "Net");
        assert_eq!(m.warnings.len(), 3, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("line 1: menuentry 'Disk' skipped"));
    }

    #[test]
    fn source_and_configfile() {
        let m = g_ctx(
            "source $prefix/common.cfg\nmenuentry Chain { configfile /other/grub.cfg }\nconfigfile (tftp)/more.cfg\nsource /missing.cfg\nmenuentry Last { linux /l }\n",
            &ParseContext::default(),
            &[
                ("tftp://10.0.2.2/boot/grub/common.cfg", "set timeout=3\nmenuentry Common { linux /c }\n"),
                ("tftp://10.0.2.2/more.cfg", "menuentry More { linux /m }\nsource /more.cfg\n"),
            ],
        );
        let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, vec!["Common", "Chain", "More", "Last"]);
        assert_eq!(
            m.entries[1].action,
            Some(Action::Chain("tftp://10.0.2.2/other/grub.cfg".into()))
        );
        assert_eq!(m.timeout_ms, Some(3000));
        assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
        assert!(m.warnings[0].starts_with("tftp://10.0.2.2/more.cfg line 2:"));
        assert!(m.warnings[1].contains("missing.cfg"));
    }

    #[test]
    fn actions_and_ignored_commands() {
        let m = g("insmod part_gpt\nloadfont unicode\nterminal_output gfxterm\nplay 480 440 1\nsearch --no-floppy --set=root --label X\nload_env\nfunction load_video { insmod all_video }\nmenuentry Local { chainloader +1 }\nmenuentry Re { reboot }\nmenuentry Off { halt }\nmenuentry Fw { load_video; fwsetup }\nmenuentry Efi { chainloader /EFI/x.efi }\nfrobnicate\nblscfg\n");
        let a: Vec<_> = m
            .entries
            .iter()
            .map(|e| (e.id.as_str(), e.action.clone()))
            .collect();
        assert_eq!(
            a,
            vec![
                ("Local", Some(Action::LocalBoot)),
                ("Re", Some(Action::Reboot)),
                ("Off", Some(Action::PowerOff)),
                ("Efi", None)
            ]
        );
        // An EFI file chainloaded is booted as a unified kernel image.
        assert_eq!(
            m.entries[3].kernel.as_deref(),
            Some("tftp://10.0.2.2/EFI/x.efi")
        );
        assert_eq!(m.warnings.len(), 3, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("line 13: unknown command 'frobnicate'"));
        assert!(m.warnings[1].contains("line 14: blscfg: BLS entries are read by the BLS parser"));
    }

    #[test]
    fn hotkey_and_duplicate_titles() {
        let m = g("menuentry 'A' --hotkey=i { linux /a }\nmenuentry 'A' --hotkey x { linux /b }\n");
        assert_eq!(m.entries[0].hotkey, Some('i'));
        assert_eq!(m.entries[1].id, "A~2");
        assert_eq!(m.entries[1].title, "A");
        assert_eq!(m.warnings.len(), 1);
    }

    #[test]
    fn initrd_replaces_and_devicetree() {
        let m = g("menuentry A { initrd /x; linux /k; initrd /a /b; devicetree /d.dtb }\n");
        let e = &m.entries[0];
        assert_eq!(e.initrds, vec!["tftp://10.0.2.2/a", "tftp://10.0.2.2/b"]);
        assert_eq!(e.devicetree.as_deref(), Some("tftp://10.0.2.2/d.dtb"));
    }

    #[test]
    fn http_config_keeps_its_port() {
        let mut f = |_: &str| Err("no".to_string());
        let m = parse(
            "menuentry A { linux /k; initrd ($root)/i rel }\n",
            "http://h:8080/grub/grub.cfg",
            &ParseContext::default(),
            &mut f,
        );
        assert_eq!(m.entries[0].kernel.as_deref(), Some("http://h:8080/k"));
        assert_eq!(
            m.entries[0].initrds,
            vec!["http://h:8080/i", "http://h:8080/grub/rel"]
        );
    }

    #[test]
    fn malformed_input_keeps_what_it_can() {
        let m = g("menuentry A { linux /a }\nmenuentry 'B { linux /b }\n");
        assert_eq!(m.entries.len(), 1);
        assert!(!m.warnings.is_empty());
        let m = g("menuentry A { linux /a\nmenuentry B { linux /b }\n");
        assert!(
            m.warnings.iter().any(|w| w.contains("never closed")),
            "{:?}",
            m.warnings
        );
        let m = g("}\nfi\nif true; then\nmenuentry A { linux /a }\n");
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.warnings.len(), 3, "{:?}", m.warnings);
        let m = g(
            "menuentry A\nmenuentry { linux /a }\nmenuentry B { linux }\nmenuentry C { echo hi }\n",
        );
        assert!(m.entries.is_empty());
        assert_eq!(m.warnings.len(), 4, "{:?}", m.warnings);
    }

    #[test]
    fn crlf_and_junk_do_not_panic() {
        let m = g("set timeout=2\r\nmenuentry 'A' {\r\n  linux /k quiet\r\n}\r\n");
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.entries[0].cmdline, "BOOT_IMAGE=/k quiet");
        let _ = g(&"{".repeat(10_000));
        let _ = g(&"submenu x {".repeat(5_000));
        let _ = g(&"if true; then ".repeat(5_000));
        let _ = g(&"}".repeat(100));
        let _ = g("$\n${\n\"$\n'\n\\");
        let junk: String = (0u32..5000)
            .filter_map(|i| char::from_u32(i * 31 % 0x2000))
            .collect();
        let _ = g(&junk);
        let huge = format!(
            "menuentry '{}' {{ linux /k {} }}\n",
            "é".repeat(100_000),
            "a=b ".repeat(50_000)
        );
        assert_eq!(g(&huge).entries.len(), 1);
    }

    #[test]
    fn include_loops_are_bounded() {
        let text = "source /a.cfg\nsource /b.cfg\nmenuentry X { linux /x }\n";
        let mut calls = 0;
        let mut f = |_: &str| {
            calls += 1;
            Ok(text.to_string())
        };
        let m = parse(text, URL, &ParseContext::default(), &mut f);
        assert!(calls <= MAX_INCLUDES);
        assert!(!m.entries.is_empty());
        assert!(m.warnings.iter().any(|w| w.contains("loops back")));
    }

    #[test]
    fn every_prefix_and_splice_of_a_sample_parses() {
        // A cheap stand-in for the fuzz target: cut and splice a sample at every character
        // boundary, with a fetcher that returns the same text for every include.
        let sample: &str = "set default=\"0\"\nif [ x$a = xb ]; then source /a.cfg; elif true; then set timeout=3; else configfile /c.cfg; fi\nmenuentry 'A' --id a { linux ($root)/k \"q $v\" x='y'; initrd /i }\nsubmenu S { menuentry B { linux /b } }\n";
        let cuts: Vec<usize> = sample.char_indices().map(|(i, _)| i).collect();
        for &i in &cuts {
            for text in [&sample[..i], &sample[i..]] {
                let owned = format!("{text}{text}");
                let mut fetch = |_: &str| Ok(owned.clone());
                let _ = parse(text, URL, &ParseContext::default(), &mut fetch);
            }
        }
    }

    // ---- local disks ----

    const DISK_URL: &str = "nvme0n1p2:/grub/grub.cfg";

    fn disk_ctx(inv: crate::disk::Inventory) -> ParseContext {
        ParseContext {
            inventory: Some(Arc::new(inv)),
            ..Default::default()
        }
    }

    fn d_with(text: &str, ctx: &ParseContext, files: &[(&str, &str)]) -> Menu {
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
        parse(text, DISK_URL, ctx, &mut fetch)
    }

    fn d(text: &str, files: &[(&str, &str)]) -> Menu {
        d_with(
            text,
            &disk_ctx(crate::config::grub_device::tests::sample()),
            files,
        )
    }

    fn kernels(m: &Menu) -> Vec<(&str, &str)> {
        m.entries
            .iter()
            .map(|e| (e.id.as_str(), e.kernel.as_deref().unwrap_or("")))
            .collect()
    }

    #[test]
    fn local_devices_resolve_through_the_inventory() {
        let m = d(
            "menuentry A { set root='hd0,gpt2'; linux /vmlinuz x }\n\
             menuentry B { linux (hd1,msdos5)/k }\n\
             menuentry C { linux (lvm/debian--vg-root)/boot/k }\n\
             menuentry D { linux (lvmid/Vg0000-aaaa-bbbb-cccc-dddd-eeee-ffffff/Lv0000-aaaa-bbbb-cccc-dddd-eeee-ffffff)/k }\n\
             menuentry E { linux (mduuid/0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d)/k }\n\
             menuentry F { linux /k r=$root p=$prefix; initrd /i ($root)/j }\n\
             menuentry G { set root=hd1,1; linux /k }\n",
            &[],
        );
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(
            kernels(&m),
            vec![
                ("A", "nvme0n1p2:/vmlinuz"),
                ("B", "sda5:/k"),
                ("C", "dm-0:/boot/k"),
                ("D", "dm-0:/k"),
                ("E", "md127:/k"),
                ("F", "nvme0n1p2:/k"),
                ("G", "sda1:/k"),
            ]
        );
        assert_eq!(
            m.entries[5].cmdline,
            "BOOT_IMAGE=/k r=hd0,gpt2 p=(hd0,gpt2)/grub"
        );
        assert_eq!(m.entries[5].initrds, ["nvme0n1p2:/i", "nvme0n1p2:/j"]);
    }

    #[test]
    fn impossible_devices_skip_the_entry_with_one_warning() {
        let m = d(
            "menuentry A { linux (hd99,1)/k }\n\
             menuentry B { set root=hd0,msdos2; linux /k }\n\
             menuentry C { linux (hd0,gpt0)/k }\n\
             menuentry D { linux (garbage)/k }\n\
             menuentry E { linux (hd0,msdos1,bsd1)/k }\n\
             menuentry F { linux (cd)/k }\n\
             menuentry G { linux (hd0,gpt3)/k; initrd (hd0,gpt3)/i }\n\
             menuentry OK { linux /k }\n",
            &[],
        );
        assert_eq!(kernels(&m), vec![("OK", "nvme0n1p2:/k")]);
        assert_eq!(m.warnings.len(), 7, "{:#?}", m.warnings);
        assert!(
            m.warnings[0].contains("hd99 does not exist"),
            "{}",
            m.warnings[0]
        );
        assert!(
            m.warnings[1].contains("gpt partition table"),
            "{}",
            m.warnings[1]
        );
        assert!(
            m.warnings[6].contains("nvme0n1p3, which has no filesystem"),
            "{}",
            m.warnings[6]
        );
    }

    #[test]
    fn search_forms_and_hints() {
        let m = d(
            "search --no-floppy --fs-uuid --set=root --hint-bios=hd1,msdos1 --hint-baremetal=ahci0,msdos1 55555555-5555-5555-5555-555555555555\n\
             search --label root --set=lv\n\
             search.fs_uuid 11111111-1111-1111-1111-111111111111 one hd1,msdos1\n\
             search.fs_label EFI esp\n\
             search --file --set=f /marker\n\
             search --set u --fs-uuid 77777777-7777-7777-7777-777777777777\n\
             search -s -u abcd-1234\n\
             menuentry A { linux /k r=$root lv=$lv one=$one esp=$esp f=$f u=$u }\n",
            &[("sda5:/marker", "")],
        );
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.entries[0].kernel.as_deref(), Some("nvme0n1p1:/k"));
        assert_eq!(
            m.entries[0].cmdline,
            "BOOT_IMAGE=/k r=hd0,gpt1 lv=lvm/debian--vg-root one=hd1,msdos1 esp=hd0,gpt1 f=hd1,msdos5 u=mduuid/0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
        );
    }

    #[test]
    fn search_prefers_hints_and_keeps_root_when_nothing_matches() {
        let mut inv = crate::config::grub_device::tests::sample();
        for v in &mut inv.volumes {
            if v.name == "sda1" || v.name == "nvme0n1p2" {
                if let Some(f) = v.fs.as_mut() {
                    f.label = Some("boot".into());
                }
            }
        }
        let ctx = disk_ctx(inv);
        let t = |hint: &str| {
            let m = d_with(
                &format!("search -l boot --set=root {hint}\nmenuentry A {{ linux /k }}\n"),
                &ctx,
                &[],
            );
            m.entries[0].kernel.clone().unwrap_or_default()
        };
        assert_eq!(t(""), "nvme0n1p2:/k");
        assert_eq!(t("--hint=hd1,msdos1"), "sda1:/k");
        assert_eq!(t("--hint-bios=hd9,msdos1 --hint-efi=hd1,msdos1"), "sda1:/k");
        // The idiom grub-mkconfig writes: both branches give the same device.
        let idiom = "set root='hd1,msdos1'\nif [ x$feature_platform_search_hint = xy ]; then\n  search --no-floppy --fs-uuid --set=root --hint-bios=hd1,msdos1 --hint-efi=hd1,msdos1 --hint-baremetal=ahci0,msdos1 11111111-1111-1111-1111-111111111111\nelse\n  search --no-floppy --fs-uuid --set=root 11111111-1111-1111-1111-111111111111\nfi\nmenuentry A { linux /k }\n";
        let m = d_with(idiom, &ctx, &[]);
        assert_eq!(m.entries[0].kernel.as_deref(), Some("sda1:/k"));
        let m = d_with(&idiom.replace("= xy", "= xn"), &ctx, &[]);
        assert_eq!(m.entries[0].kernel.as_deref(), Some("sda1:/k"));
        let m = d_with(
            "set root=hd1,msdos5\nsearch -u 00000000-dead-0000-0000-000000000000 --set=root\nsearch --set=x\nsearch foo\nmenuentry A { linux /k }\n",
            &ctx,
            &[],
        );
        assert_eq!(m.entries[0].kernel.as_deref(), Some("sda5:/k"));
        assert_eq!(m.warnings.len(), 3, "{:#?}", m.warnings);
        assert!(m.warnings[0].contains("$root stays 'hd1,msdos5'"));
    }

    #[test]
    fn grubenv_saved_entry_and_file_tests() {
        let env = |vars: &str| {
            let mut b = format!("# GRUB Environment Block\n{vars}");
            while b.len() < 1024 {
                b.push('#');
            }
            b
        };
        let cfg = "if [ -s $prefix/grubenv ]; then\n  load_env\nfi\nif [ \"${next_entry}\" ] ; then\n   set default=\"${next_entry}\"\nelse\n   set default=\"${saved_entry}\"\nfi\nmenuentry 'Debian' --id simple { linux /k $vt_handoff }\nsubmenu 'Advanced options' --id adv {\n menuentry 'Normal' --id n { linux /k }\n menuentry 'Recovery' --id r { linux /k single }\n}\n";
        let saved = env("saved_entry=Advanced options>Recovery\n");
        let m = d(cfg, &[("nvme0n1p2:/grub/grubenv", &saved)]);
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.default.as_deref(), Some("adv"));
        assert_eq!(m.default_entry().map(|e| e.id.as_str()), Some("r"));
        // Ubuntu's $vt_handoff is unset here: nothing is added.
        assert_eq!(m.entries[0].cmdline, "BOOT_IMAGE=/k");
        let next = env("saved_entry=adv>r\nnext_entry=simple\n");
        let m = d(cfg, &[("nvme0n1p2:/grub/grubenv", &next)]);
        assert_eq!(m.default.as_deref(), Some("simple"));
        // No grubenv: the -s test is false, unset variables are empty, the first entry.
        let m = d(cfg, &[]);
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.default, None);
        // A file that is not an environment block: one warning.
        let m = d(cfg, &[("nvme0n1p2:/grub/grubenv", "saved_entry=adv\n")]);
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("GRUB Environment Block"));
        // load_env -f with a whitelist.
        let m = d(
            "load_env -f (hd1,msdos1)/e a\nmenuentry A { linux /k a=$a b=$b }\n",
            &[("sda1:/e", &env("a=1\nb=2\n"))],
        );
        assert_eq!(m.entries[0].cmdline, "BOOT_IMAGE=/k a=1 b=");
        let m = d("load_env -f /missing\nmenuentry A { linux /k }\n", &[]);
        assert_eq!(m.warnings.len(), 1);
        // -e/-f on local files; -d cannot be known.
        let m = d(
            "if [ -f /x -a -e /y ]; then menuentry A { linux /a }; fi\nif [ -f /nope -o ! -e /x ]; then menuentry B { linux /b }; fi\nif [ -d /x ]; then menuentry C { linux /c }; fi\n",
            &[("nvme0n1p2:/x", "1"), ("nvme0n1p2:/y", "")],
        );
        let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["A", "C"]);
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    }

    #[test]
    fn blscfg_reads_the_entries_on_root() {
        let mut ctx = disk_ctx(crate::config::grub_device::tests::sample());
        let mut bls = BlsFolders::new();
        bls.insert(
            "nvme0n1p2:/loader/entries".into(),
            vec![
                ("a-5.0-1.conf".into(), "title Old\nlinux /vmlinuz-5\noptions $kernelopts x=\"a b\"\n".into()),
                ("a-6.0-1.conf".into(), "title New\nlinux /vmlinuz-6\ninitrd /i1\ninitrd /i2\noptions root=/dev/x ro\ngrub_hotkey n\n".into()),
                ("a-6.0-1b.conf".into(), "title NoLinux\nefi /x.efi\n".into()),
                ("notes.txt".into(), "linux /x\n".into()),
            ],
        );
        bls.insert(
            "sda1:/custom".into(),
            vec![("c.conf".into(), "title C\nlinux /c\n".into())],
        );
        ctx.bls = Arc::new(bls);
        let m = d_with(
            "set kernelopts=\"root=UUID=1 quiet\"\nset default=a-5.0-1\nblscfg\n",
            &ctx,
            &[],
        );
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(
            kernels(&m),
            vec![
                ("a-6.0-1", "nvme0n1p2:/vmlinuz-6"),
                ("a-5.0-1", "nvme0n1p2:/vmlinuz-5")
            ]
        );
        assert_eq!(m.entries[0].title, "New");
        assert_eq!(m.entries[0].hotkey, Some('n'));
        assert_eq!(m.entries[0].initrds, ["nvme0n1p2:/i1", "nvme0n1p2:/i2"]);
        assert_eq!(
            m.entries[1].cmdline,
            "BOOT_IMAGE=(hd0,gpt2)/vmlinuz-5 root=UUID=1 quiet \"x=a b\""
        );
        assert_eq!(m.default.as_deref(), Some("a-5.0-1"));
        let m = d_with("set default=a-5.0-1\nblscfg default\n", &ctx, &[]);
        assert_eq!(kernels(&m), vec![("a-5.0-1", "nvme0n1p2:/vmlinuz-5")]);
        let m = d_with(
            "set root=hd1,msdos1\nset blsdir=/custom\nbls_import\n",
            &ctx,
            &[],
        );
        assert_eq!(kernels(&m), vec![("c", "sda1:/c")]);
        let m = d_with(
            "set root=hd1,msdos5\nblscfg\nmenuentry { blscfg }\n",
            &ctx,
            &[],
        );
        assert!(m.entries.is_empty());
        assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
        assert!(m.warnings[0].contains("no Boot Loader Spec entries in sda5:/loader/entries"));
    }

    #[test]
    fn empty_submenus_are_dropped() {
        let m = d(
            "submenu 'Advanced' { menuentry X { linux (hd7,1)/k } }\nsubmenu Outer { submenu Inner { } }\nmenuentry A { linux /k }\n",
            &[],
        );
        assert_eq!(kernels(&m), vec![("A", "nvme0n1p2:/k")]);
        assert!(m.warnings.iter().any(|w| w.contains("submenu 'Advanced'")));
    }

    #[test]
    fn grub_quotes_loader_arguments() {
        assert_eq!(loader_arg("a"), "a");
        assert_eq!(loader_arg("a b"), "\"a b\"");
        assert_eq!(loader_arg("x='y'"), "x=\\'y\\'");
        assert_eq!(loader_arg("\\\""), "\\\\\\\"");
        assert_eq!(loader_arg(""), "");
    }

    #[test]
    fn every_prefix_of_a_disk_sample_parses() {
        let sample: &str = "search --no-floppy --fs-uuid --set=root --hint='lvmid/a/b' --hint-bios=hd0,msdos1 X\nload_env -f $prefix/grubenv\nif [ -f (hd1,gpt9)/x -o -s /y ]; then blscfg; fi\nmenuentry 'A' { set root=(hd0,gpt2); linux (lvm/a-b)/k $vt_handoff; initrd (mduuid/ab)/i }\n";
        let ctx = disk_ctx(crate::config::grub_device::tests::sample());
        let cuts: Vec<usize> = sample.char_indices().map(|(i, _)| i).collect();
        for &i in &cuts {
            for text in [&sample[..i], &sample[i..]] {
                let owned = format!("# GRUB Environment Block\n{text}");
                let mut fetch = |_: &str| Ok(owned.clone());
                let _ = parse(text, DISK_URL, &ctx, &mut fetch);
            }
        }
    }
}
