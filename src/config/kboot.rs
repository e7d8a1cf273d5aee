//! The original kboot `kboot.conf` format (netboot.md §1).
//!
//! ```text
//! message=/etc/kboot.msg        # optional
//! default=linux                 # label booted on timeout
//! timeout=1                     # seconds
//! initrd=/boot/initrd.img       # global: entries without their own initrd=
//! root=/dev/sda1                # global: entries without their own root=
//! linux='/boot/vmlinux initrd=/boot/initrd.img root=/dev/ps3da1 quiet'
//! ```
//!
//! Rules implemented here:
//! - `#` starts a comment at the start of a line, or in an unquoted value after whitespace
//!   (`default=linux  # note`); blank lines are ignored; CRLF line ends and a UTF-8 BOM are
//!   accepted.
//! - `key=value`; the value may be quoted with `'` or `"` (then it may hold spaces, `=` and
//!   `#`). A missing closing quote is a warning and the line is skipped.
//! - Global keys: `default`, `timeout` (whole seconds), `message` (kept as written in
//!   [`Menu::message`]), `initrd` (comma-separated list allowed) and `root`, which apply to
//!   entries without their own. `ip`, `netmask`, `gateway`, `dns`, `tftp_server` (the Xbox 360
//!   loader's keys) go to [`Menu::network`]; `proxy` (an `http://` proxy for the menu's
//!   kernels and initrds) to [`Menu::proxy`]. Globals apply wherever they appear in the file;
//!   a repeated global takes its last value.
//! - Any other key is an entry label: the first word of the value is the kernel, `initrd=`
//!   (comma lists, repeatable, in order), `root=` and `dtb=` are pulled out, and the command
//!   line is `root=...` followed by the remaining words in order. An empty `initrd=` or
//!   `root=` in an entry means "none" and overrides the global.
//! - Every location is resolved with [`resolve`] against the config's own location.
//! - Problems never fail the parse: each becomes a `kboot.conf line N: ...` warning and the
//!   line (or entry) is skipped. A repeated label keeps the first entry.

use super::snippet;
use std::collections::HashSet;

use crate::cmdline;
use crate::config::model::{Diskless, Handoff};
use crate::config::{Entry, Menu};
use crate::fetch::url::resolve;

/// Keys of the Xbox 360 loader's network settings.
pub const NETWORK_KEYS: &[&str] = &["ip", "netmask", "gateway", "dns", "tftp_server"];

/// Parse a kboot.conf. `base` is the location the file was fetched from (a URL or a
/// `dev:path`), used to resolve relative paths. Never fails: problems go to `menu.warnings`.
pub fn parse(text: &str, base: Option<&str>) -> Menu {
    let mut p = Parser {
        base,
        menu: Menu::default(),
        default_line: 0,
        global_initrd: None,
        global_root: None,
        pending: Vec::new(),
        labels: HashSet::new(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        p.line(i + 1, line);
    }
    p.finish()
}

/// An entry as written, resolved once the whole file (and so every global) is known.
struct Pending {
    line: usize,
    label: String,
    kernel: String,
    /// `None`: no `initrd=` in the entry, the global applies.
    initrds: Option<Vec<String>>,
    /// `None`: no `root=` in the entry, the global applies.
    root: Option<String>,
    dtb: Option<String>,
    args: Vec<String>,
}

struct Parser<'a> {
    base: Option<&'a str>,
    menu: Menu,
    default_line: usize,
    global_initrd: Option<(usize, String)>,
    global_root: Option<String>,
    pending: Vec<Pending>,
    labels: HashSet<String>,
}

/// One `key=value` line, split and unquoted.
struct KeyValue<'l> {
    key: &'l str,
    value: &'l str,
    /// A non-fatal note about the line (text after a closing quote).
    note: Option<String>,
}

/// Split a line into key and value. `Ok(None)` for blank and comment lines.
fn split_line(line: &str) -> Result<Option<KeyValue<'_>>, String> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let Some((key, rest)) = t.split_once('=') else {
        return Err(format!("expected key=value, found '{}'", snippet(t)));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("missing the key before '=' in '{}'", snippet(t)));
    }
    if key
        .chars()
        .any(|c| c.is_whitespace() || c == '\'' || c == '"')
    {
        return Err(format!(
            "'{}' is not a valid key (keys have no spaces or quotes)",
            snippet(key)
        ));
    }
    let rest = rest.trim_start();
    let mut chars = rest.chars();
    match chars.next() {
        Some(q @ ('\'' | '"')) => {
            let inner = chars.as_str();
            let Some(end) = inner.find(q) else {
                return Err(format!(
                    "the value of '{}' has no closing {q}",
                    snippet(key)
                ));
            };
            let value = &inner[..end];
            let after = inner[end + q.len_utf8()..].trim();
            let note = (!after.is_empty() && !after.starts_with('#')).then(|| {
                format!(
                    "text after the closing quote of '{}' ignored: '{}'",
                    snippet(key),
                    snippet(after)
                )
            });
            Ok(Some(KeyValue { key, value, note }))
        }
        _ => {
            // A '#' at the start of the value or after whitespace starts a comment.
            let mut cut = rest.len();
            let mut prev_space = true;
            for (i, c) in rest.char_indices() {
                if c == '#' && prev_space {
                    cut = i;
                    break;
                }
                prev_space = c.is_whitespace();
            }
            Ok(Some(KeyValue {
                key,
                value: rest[..cut].trim_end(),
                note: None,
            }))
        }
    }
}

/// Does the first word of an entry look like a parameter (`root=...`) rather than a kernel?
/// `UUID=..:path`, `LABEL=..:path` and URLs with `=` in them are kernels.
fn looks_like_param(word: &str) -> bool {
    match word.split_once('=') {
        Some((k, _)) => {
            let location_prefix = k.eq_ignore_ascii_case("UUID")
                || k.eq_ignore_ascii_case("LABEL")
                || k.contains(':')
                || k.contains('/');
            !location_prefix
        }
        None => false,
    }
}

fn comma_list(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `root=value`, quoted when the value holds whitespace.
fn root_param(root: &str) -> String {
    if root.chars().any(char::is_whitespace) {
        format!("root=\"{root}\"")
    } else {
        format!("root={root}")
    }
}

impl Parser<'_> {
    fn warn(&mut self, line: usize, msg: impl AsRef<str>) {
        self.menu
            .warnings
            .push(format!("kboot.conf line {line}: {}", msg.as_ref()));
    }

    fn line(&mut self, n: usize, line: &str) {
        let kv = match split_line(line) {
            Ok(Some(kv)) => kv,
            Ok(None) => return,
            Err(msg) => {
                self.warn(n, format!("{msg}; line skipped"));
                return;
            }
        };
        if let Some(note) = kv.note {
            self.warn(n, note);
        }
        let (key, value) = (kv.key, kv.value.trim());
        match key {
            "default" => {
                self.menu.default = (!value.is_empty()).then(|| value.to_string());
                self.default_line = n;
            }
            "timeout" => match value.parse::<u64>() {
                Ok(s) => self.menu.timeout_ms = Some(s.saturating_mul(1000)),
                Err(_) => self.warn(
                    n,
                    format!(
                        "timeout '{}' is not a whole number of seconds; line skipped",
                        snippet(value)
                    ),
                ),
            },
            "message" => self.menu.message = (!value.is_empty()).then(|| value.to_string()),
            "proxy" => self.proxy(n, value),
            "initrd" => self.global_initrd = Some((n, value.to_string())),
            "root" => self.global_root = Some(value.to_string()),
            k if NETWORK_KEYS.contains(&k) => {
                self.menu.network.push((k.to_string(), value.to_string()))
            }
            label => self.entry(n, label, value),
        }
    }

    /// `proxy=http://host:port`: an HTTP proxy for the menu's kernels and initrds.
    fn proxy(&mut self, n: usize, value: &str) {
        if value.is_empty() {
            self.menu.proxy = None;
            return;
        }
        let with_scheme = crate::fetch::proxy::with_scheme(value);
        match url::Url::parse(&with_scheme) {
            Ok(u)
                if u.scheme() == "http"
                    && u.host_str().is_some_and(|h| !h.is_empty())
                    && matches!(u.path(), "" | "/")
                    && u.query().is_none() =>
            {
                self.menu.proxy = Some(with_scheme)
            }
            _ => self.warn(
                n,
                format!(
                    "proxy '{}' is not an HTTP proxy such as http://192.0.2.9:3128; line skipped",
                    snippet(&cmdline::secrets::mask_value(value))
                ),
            ),
        }
    }

    fn entry(&mut self, n: usize, label: &str, value: &str) {
        if self.labels.contains(label) {
            self.warn(
                n,
                format!(
                    "entry '{}' is defined again; the first definition is kept",
                    snippet(label)
                ),
            );
            return;
        }
        self.labels.insert(label.to_string());
        let words = cmdline::split(value);
        let mut iter = words.into_iter().peekable();
        let kernel = match iter.peek() {
            Some(w) if !looks_like_param(w) => iter.next(),
            _ => None,
        };
        let Some(kernel) = kernel else {
            let why = match words_first(value) {
                Some(w) => format!(
                    "entry '{}' has no kernel (its first word '{}' is a parameter); entry skipped",
                    snippet(label),
                    snippet(&w)
                ),
                None => format!("entry '{}' has no kernel; entry skipped", snippet(label)),
            };
            self.warn(n, why);
            return;
        };
        let mut p = Pending {
            line: n,
            label: label.to_string(),
            kernel,
            initrds: None,
            root: None,
            dtb: None,
            args: Vec::new(),
        };
        for word in iter {
            match cmdline::param_key(&word) {
                "initrd" => {
                    let v = cmdline::param_value(&word).unwrap_or_default();
                    p.initrds
                        .get_or_insert_with(Vec::new)
                        .extend(comma_list(&v));
                }
                "root" => p.root = Some(cmdline::param_value(&word).unwrap_or_default()),
                "dtb" => p.dtb = cmdline::param_value(&word).filter(|v| !v.is_empty()),
                _ => p.args.push(word),
            }
        }
        self.pending.push(p);
    }

    fn finish(mut self) -> Menu {
        let base = self.base;
        let global_initrds: Vec<String> = match self.global_initrd.take() {
            None => Vec::new(),
            Some((line, value)) => {
                let mut out = Vec::new();
                for loc in comma_list(&value) {
                    match resolve(base, &loc) {
                        Ok(u) => out.push(u),
                        Err(e) => {
                            self.warn(line, format!("global initrd ignored: {e}"));
                            out.clear();
                            break;
                        }
                    }
                }
                out
            }
        };
        let global_root = self.global_root.take().unwrap_or_default();
        for p in std::mem::take(&mut self.pending) {
            match build_entry(base, &global_initrds, &global_root, p) {
                Ok(e) => self.menu.entries.push(e),
                Err((line, msg)) => self.warn(line, msg),
            }
        }
        if let Some(d) = &self.menu.default {
            if self.menu.find(d).is_none() {
                let msg = format!(
                    "default '{}' names no entry; the first entry is the default",
                    snippet(d)
                );
                self.menu.default = None;
                let line = self.default_line;
                self.warn(line, msg);
            }
        }
        self.menu
    }
}

fn words_first(value: &str) -> Option<String> {
    cmdline::split(value).into_iter().next()
}

/// Resolve one entry's locations and assemble its command line; `Err` is (line, warning).
fn build_entry(
    base: Option<&str>,
    global_initrds: &[String],
    global_root: &str,
    p: Pending,
) -> Result<Entry, (usize, String)> {
    let (line, label) = (p.line, p.label);
    let fail = |what: &str, e: crate::fetch::url::UrlError| {
        (
            line,
            format!("entry '{}' skipped: bad {what}: {e}", snippet(&label)),
        )
    };
    let kernel = resolve(base, &p.kernel).map_err(|e| fail("kernel", e))?;
    let initrds = match &p.initrds {
        None => global_initrds.to_vec(),
        Some(list) => list
            .iter()
            .map(|i| resolve(base, i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail("initrd", e))?,
    };
    let devicetree = match &p.dtb {
        None => None,
        Some(d) => Some(resolve(base, d).map_err(|e| fail("dtb", e))?),
    };
    let root = p.root.as_deref().unwrap_or(global_root);
    let mut parts: Vec<String> = Vec::with_capacity(p.args.len() + 1);
    if !root.is_empty() {
        parts.push(root_param(root));
    }
    // kboot's per-entry switch: `kboot.ip=off` appends no ip=/BOOTIF= handoff; it is kboot's,
    // so it does not reach the target.
    let mut handoff = Handoff::Default;
    let mut diskless: Option<Diskless> = None;
    let mut sha_kernel: Option<String> = None;
    let mut sha_initrds: Vec<String> = Vec::new();
    for arg in p.args {
        let (key, value) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        let value = value.trim_matches('"').to_string();
        match key {
            "kboot.ip" if value == "off" => handoff = Handoff::Off,
            "kboot.ip" if value == "on" => handoff = Handoff::Default,
            // Diskless roots (docs/diskless.md): kboot's keys, not passed to the target.
            "kboot.root" => diskless.get_or_insert_with(Diskless::default).root = value,
            "kboot.flavor" | "kboot.flavour" => {
                let flavor = (value != "auto").then_some(value);
                diskless.get_or_insert_with(Diskless::default).flavor = flavor
            }
            "kboot.rootfs" => diskless.get_or_insert_with(Diskless::default).rootfs = Some(value),
            "kboot.initiator" => {
                diskless.get_or_insert_with(Diskless::default).initiator = Some(value)
            }
            "kboot.secrets" => {
                let on_cmdline = match value.as_str() {
                    "initramfs" => false,
                    "cmdline" => true,
                    other => {
                        return Err((
                            line,
                            format!(
                                "entry '{}' skipped: kboot.secrets='{}' is neither 'initramfs' nor 'cmdline'",
                                snippet(&label),
                                snippet(other)
                            ),
                        ))
                    }
                };
                diskless
                    .get_or_insert_with(Diskless::default)
                    .secrets_on_cmdline = on_cmdline
            }
            // Files and modules for the target's initramfs (src/cmdline/inject.rs).
            "kboot.inject" => {
                let bad = |e: String| (line, format!("entry '{}' skipped: {e}", snippet(&label)));
                let mut i =
                    cmdline::inject::parse_inject(&value).map_err(|e| bad(e.to_string()))?;
                i.url = resolve(base, &i.url)
                    .map_err(|e| bad(format!("bad kboot.inject= location: {e}")))?;
                diskless
                    .get_or_insert_with(Diskless::default)
                    .inject
                    .push(i)
            }
            "kboot.modules" => {
                let names = cmdline::inject::parse_modules(&value)
                    .map_err(|e| (line, format!("entry '{}' skipped: {e}", snippet(&label))))?;
                diskless
                    .get_or_insert_with(Diskless::default)
                    .modules
                    .extend(names)
            }
            // Per-file SHA-256, checked while streaming.
            "kboot.sha256.kernel" => sha_kernel = Some(value),
            "kboot.sha256.initrd" => sha_initrds = value.split(',').map(str::to_string).collect(),
            _ => parts.push(arg),
        }
    }
    if let Some(d) = &diskless {
        if d.root.is_empty() {
            return Err((
                line,
                format!(
                    "entry '{}' skipped: kboot.flavor/rootfs/initiator/inject/modules/secrets without kboot.root=: add kboot.root=iscsi:... (or nbd:, nfs:, template:, dhcp)",
                    snippet(&label)
                ),
            ));
        }
        // The rendering for the target's initramfs brings its own ip=/BOOTIF=.
        handoff = Handoff::Off;
    }
    let bad_sha = |what: &str, e: crate::fetch::FetchError| {
        (
            line,
            format!(
                "entry '{}' skipped: kboot.sha256.{what}: {e}",
                snippet(&label)
            ),
        )
    };
    let mut sha256 = std::collections::BTreeMap::new();
    if let Some(hex) = sha_kernel {
        crate::fetch::integrity::parse_sha256(&hex).map_err(|e| bad_sha("kernel", e))?;
        sha256.insert(kernel.clone(), hex);
    }
    if !sha_initrds.is_empty() {
        if sha_initrds.len() != initrds.len() {
            return Err((
                line,
                format!(
                    "entry '{}' skipped: kboot.sha256.initrd lists {} digests for {} initrds",
                    snippet(&label),
                    sha_initrds.len(),
                    initrds.len()
                ),
            ));
        }
        for (url, hex) in initrds.iter().zip(sha_initrds) {
            crate::fetch::integrity::parse_sha256(&hex).map_err(|e| bad_sha("initrd", e))?;
            sha256.insert(url.clone(), hex);
        }
    }
    Ok(Entry {
        id: label.clone(),
        title: label,
        kernel: Some(kernel),
        initrds,
        cmdline: cmdline::join(&parts),
        devicetree,
        handoff,
        diskless,
        sha256,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "tftp://10.0.2.2/boot/kboot.conf";

    #[test]
    fn diskless_keys_become_the_entry_root_and_leave_the_command_line() {
        let m = p("a='vmlinuz initrd=initrd.img kboot.root=iscsi:10.0.2.2::3260:1:iqn.2026-11.x:root kboot.flavor=initramfs-tools kboot.rootfs=LABEL=root rw'\n\
                   b='vmlinuz kboot.root=dhcp kboot.flavor=auto'\n\
                   c='vmlinuz kboot.rootfs=/dev/sda1'\n");
        let a = &m.entries[0];
        let d = a.diskless.as_ref().unwrap();
        assert_eq!(d.root, "iscsi:10.0.2.2::3260:1:iqn.2026-11.x:root");
        assert_eq!(d.flavor.as_deref(), Some("initramfs-tools"));
        assert_eq!(d.rootfs.as_deref(), Some("LABEL=root"));
        assert_eq!(a.cmdline, "rw");
        assert_eq!(a.handoff, Handoff::Off, "the rendering brings its own ip=");
        let b = m.entries[1].diskless.as_ref().unwrap();
        assert_eq!((b.root.as_str(), b.flavor.as_deref()), ("dhcp", None));
        assert_eq!(m.entries.len(), 2, "c has no kboot.root=: skipped");
        assert!(m.warnings.iter().any(|w| w.contains("without kboot.root")));
    }

    #[test]
    fn kboot_secrets_says_where_chap_credentials_go() {
        let m = p(
            "a='vmlinuz kboot.root=iscsi:u:p@10.0.2.2::::iqn.x:r kboot.secrets=cmdline'\n\
                   b='vmlinuz kboot.root=iscsi:u:p@10.0.2.2::::iqn.x:r kboot.secrets=initramfs'\n\
                   c='vmlinuz kboot.root=iscsi:u:p@10.0.2.2::::iqn.x:r'\n\
                   d='vmlinuz kboot.root=iscsi:u:p@10.0.2.2::::iqn.x:r kboot.secrets=screen'\n\
                   e='vmlinuz kboot.secrets=cmdline'\n",
        );
        let on_cmdline: Vec<bool> = m
            .entries
            .iter()
            .map(|e| e.diskless.as_ref().unwrap().secrets_on_cmdline)
            .collect();
        assert_eq!(on_cmdline, [true, false, false], "{:?}", m.warnings);
        assert!(
            m.entries.iter().all(|e| e.cmdline.is_empty()),
            "keys stay kboot's"
        );
        assert!(m
            .warnings
            .iter()
            .any(|w| w.contains("neither 'initramfs' nor 'cmdline'")));
        assert!(m.warnings.iter().any(|w| w.contains("without kboot.root")));
    }

    #[test]
    fn inject_and_modules_keys() {
        let m = p("t='vmlinuz initrd=initrd.img kboot.root=\"template:nbdroot=${server}:10809/root root=/dev/nbd0\" \
                     kboot.inject=/lib/modules/kboot/dummy.ko=mods/dummy.ko \
                     kboot.inject=0755:/usr/bin/t=http://h/t?x=1 kboot.modules=dummy kboot.modules=nbd,virtio-net quiet'\n\
                   bad-mode='vmlinuz kboot.root=nfs:h:/r kboot.inject=999:/x=y'\n\
                   bad-path='vmlinuz kboot.root=nfs:h:/r kboot.inject=x=y'\n\
                   no-url='vmlinuz kboot.root=nfs:h:/r kboot.inject=/x'\n\
                   bad-url='vmlinuz kboot.root=nfs:h:/r kboot.inject=/x=http://[zz/'\n\
                   bad-mod='vmlinuz kboot.root=nfs:h:/r kboot.modules=a,,b'\n\
                   no-root='vmlinuz kboot.modules=dummy'\n");
        assert_eq!(m.entries.len(), 1, "{:?}", m.warnings);
        let t = &m.entries[0];
        assert_eq!(t.cmdline, "quiet", "kboot's keys do not reach the target");
        let d = t.diskless.as_ref().unwrap();
        assert_eq!(
            d.root,
            "template:nbdroot=${server}:10809/root root=/dev/nbd0"
        );
        let got: Vec<(&str, &str, u32)> = d
            .inject
            .iter()
            .map(|i| (i.path.as_str(), i.url.as_str(), i.mode))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "lib/modules/kboot/dummy.ko",
                    "tftp://10.0.2.2/boot/mods/dummy.ko",
                    0o644
                ),
                ("usr/bin/t", "http://h/t?x=1", 0o755),
            ]
        );
        assert_eq!(d.modules, vec!["dummy", "nbd", "virtio-net"]);
        for (label, what) in [
            ("bad-mode", "octal"),
            ("bad-path", "not absolute"),
            ("no-url", "no '=<URL>'"),
            ("bad-url", "location"),
            ("bad-mod", "module names"),
            ("no-root", "without kboot.root"),
        ] {
            assert!(
                m.warnings
                    .iter()
                    .any(|w| w.contains(&format!("entry '{label}' skipped")) && w.contains(what)),
                "{label}: {:?}",
                m.warnings
            );
        }
    }

    #[test]
    fn sha256_keys_attach_digests_to_the_resolved_urls() {
        let k = "a".repeat(64);
        let i1 = "b".repeat(64);
        let i2 = "C".repeat(64);
        let m = p(&format!(
            "ok='vmlinuz initrd=one.img,two.img kboot.sha256.kernel={k} kboot.sha256.initrd={i1},{i2} quiet'\n\
             short='vmlinuz initrd=one.img kboot.sha256.initrd={i1},{i2}'\n\
             bad='vmlinuz kboot.sha256.kernel=xyz'\n"
        ));
        assert_eq!(m.entries.len(), 1, "warnings: {:?}", m.warnings);
        let e = &m.entries[0];
        assert_eq!(e.cmdline, "quiet");
        assert_eq!(e.sha256.get("tftp://10.0.2.2/boot/vmlinuz"), Some(&k));
        assert_eq!(e.sha256.get("tftp://10.0.2.2/boot/one.img"), Some(&i1));
        assert_eq!(e.sha256.get("tftp://10.0.2.2/boot/two.img"), Some(&i2));
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("2 digests for 1 initrds")),
            "{:?}",
            m.warnings
        );
        assert!(
            m.warnings.iter().any(|w| w.contains("kboot.sha256.kernel")),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn kboot_ip_off_opts_an_entry_out_of_the_handoff() {
        let m = p("a='vmlinuz kboot.ip=off quiet'\nb='vmlinuz quiet'\n");
        assert_eq!(m.entries[0].handoff, Handoff::Off);
        assert_eq!(m.entries[0].cmdline, "quiet");
        assert_eq!(m.entries[1].handoff, Handoff::Default);
    }

    fn p(text: &str) -> Menu {
        parse(text, Some(BASE))
    }

    #[test]
    fn proxy_is_a_global_http_proxy() {
        let m = p("proxy=http://192.0.2.9:3128\nlinux=vmlinuz\n");
        assert_eq!(m.proxy.as_deref(), Some("http://192.0.2.9:3128"));
        assert_eq!(m.entries.len(), 1);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        let m = p("linux=vmlinuz\nproxy='proxy.example:8080/'\n");
        assert_eq!(m.proxy.as_deref(), Some("http://proxy.example:8080/"));
        let m = p("proxy=http://user:pw@192.0.2.9:3128\n");
        assert_eq!(m.proxy.as_deref(), Some("http://user:pw@192.0.2.9:3128"));
        // The last one wins; empty removes it.
        assert_eq!(p("proxy=a:1\nproxy=\n").proxy, None);
    }

    #[test]
    fn a_proxy_that_is_not_an_http_proxy_is_a_warning() {
        for bad in [
            "socks5://192.0.2.9:1080",
            "https://192.0.2.9:3128",
            "http://192.0.2.9:3128/vmlinuz",
            "http://:3128",
            "vmlinuz quiet",
            "http://u:secret@[::1:3128",
        ] {
            let m = p(&format!("proxy='{bad}'\n"));
            assert_eq!(m.proxy, None, "{bad}");
            assert_eq!(m.warnings.len(), 1, "{bad}");
            assert!(
                m.warnings[0].starts_with("kboot.conf line 1: proxy '"),
                "{:?}",
                m.warnings
            );
            assert!(!m.warnings[0].contains("secret"), "{:?}", m.warnings);
            assert!(m.entries.is_empty(), "{bad}: not an entry either");
        }
    }

    const EXAMPLE: &str = r#"message=/etc/kboot.msg        # optional
default=linux                 # label booted on timeout
timeout=1                     # seconds (a hint in the original)
initrd=/boot/initrd.img       # global: used by entries without their own initrd=
root=/dev/sda1                # global: used by entries without their own root=
linux='/boot/vmlinux initrd=/boot/initrd.img root=/dev/ps3da1 video=ps3fb:mode:131 quiet'
tftp='tftp://192.168.0.5/fire/boot/vmlinux root=/dev/nfs rw ip=dhcp'
http_nfs='http://192.168.0.5/ice/boot/vmlinux initrd=nfs://192.168.0.5/ice/boot/initrd root=/dev/nfs'
"#;

    #[test]
    fn netboot_md_example_verbatim() {
        let m = p(EXAMPLE);
        assert_eq!(m.warnings, Vec::<String>::new());
        assert_eq!(m.message.as_deref(), Some("/etc/kboot.msg"));
        assert_eq!(m.default.as_deref(), Some("linux"));
        assert_eq!(m.timeout_ms, Some(1000));
        assert_eq!(m.title, None);
        assert_eq!(m.entries.len(), 3);

        let e = &m.entries[0];
        assert_eq!((e.id.as_str(), e.title.as_str()), ("linux", "linux"));
        assert_eq!(e.kernel.as_deref(), Some("tftp://10.0.2.2/boot/vmlinux"));
        assert_eq!(e.initrds, vec!["tftp://10.0.2.2/boot/initrd.img"]);
        assert_eq!(e.cmdline, "root=/dev/ps3da1 video=ps3fb:mode:131 quiet");

        let e = &m.entries[1];
        assert_eq!(e.id, "tftp");
        assert_eq!(
            e.kernel.as_deref(),
            Some("tftp://192.168.0.5/fire/boot/vmlinux")
        );
        // Global initrd applies (the entry has none of its own).
        assert_eq!(e.initrds, vec!["tftp://10.0.2.2/boot/initrd.img"]);
        assert_eq!(e.cmdline, "root=/dev/nfs rw ip=dhcp");

        let e = &m.entries[2];
        assert_eq!(e.id, "http_nfs");
        assert_eq!(
            e.kernel.as_deref(),
            Some("http://192.168.0.5/ice/boot/vmlinux")
        );
        assert_eq!(e.initrds, vec!["nfs://192.168.0.5/ice/boot/initrd"]);
        assert_eq!(e.cmdline, "root=/dev/nfs");
        assert_eq!(m.default_index(), 0);
    }

    #[test]
    fn global_root_applies_to_entries_without_root() {
        let m = p("root=/dev/sda1\na='vmlinux quiet'\nb='vmlinux root=/dev/sdb2 quiet'\n");
        assert_eq!(m.entries[0].cmdline, "root=/dev/sda1 quiet");
        assert_eq!(m.entries[1].cmdline, "root=/dev/sdb2 quiet");
    }

    #[test]
    fn globals_after_entries_still_apply() {
        let m = p("a='vmlinux quiet'\nroot=/dev/sda1\ninitrd=i.img\n");
        assert_eq!(m.entries[0].cmdline, "root=/dev/sda1 quiet");
        assert_eq!(m.entries[0].initrds, vec!["tftp://10.0.2.2/boot/i.img"]);
    }

    #[test]
    fn empty_entry_initrd_and_root_override_globals() {
        let m = p("root=/dev/sda1\ninitrd=i.img\na='vmlinux initrd= root= quiet'\n");
        assert!(m.entries[0].initrds.is_empty());
        assert_eq!(m.entries[0].cmdline, "quiet");
    }

    #[test]
    fn several_initrds_in_order() {
        let m = p("a='k initrd=one,two quiet initrd=three , initrd=/abs/four'\n");
        assert_eq!(
            m.entries[0].initrds,
            vec![
                "tftp://10.0.2.2/boot/one",
                "tftp://10.0.2.2/boot/two",
                "tftp://10.0.2.2/boot/three",
                "tftp://10.0.2.2/abs/four",
            ]
        );
        assert_eq!(m.entries[0].cmdline, "quiet ,");
    }

    #[test]
    fn global_initrd_comma_list() {
        let m = p("initrd=a.img,http://h/b.img\nx=k\n");
        assert_eq!(
            m.entries[0].initrds,
            vec!["tftp://10.0.2.2/boot/a.img", "http://h/b.img"]
        );
    }

    #[test]
    fn dtb_is_pulled_out() {
        let m = p("a='k dtb=board.dtb console=ttyS0'\n");
        assert_eq!(
            m.entries[0].devicetree.as_deref(),
            Some("tftp://10.0.2.2/boot/board.dtb")
        );
        assert_eq!(m.entries[0].cmdline, "console=ttyS0");
    }

    #[test]
    fn double_quotes_and_equals_in_value() {
        let m = p("a=\"k console=ttyS0,115200 x=y=z\"\n");
        assert_eq!(m.entries[0].cmdline, "console=ttyS0,115200 x=y=z");
        assert!(m.warnings.is_empty());
    }

    #[test]
    fn kernel_quotes_inside_single_quotes() {
        let m = p(r#"a='k foo="a b c" root="/dev/disk/by-label/my root"'"#);
        assert_eq!(
            m.entries[0].cmdline,
            r#"root="/dev/disk/by-label/my root" foo="a b c""#
        );
    }

    #[test]
    fn hash_inside_quotes_is_not_a_comment() {
        let m = p("a='k msg=#1' # trailing comment\nb=k#notacomment\n");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(m.entries[0].cmdline, "msg=#1");
        assert_eq!(
            m.entries[1].kernel.as_deref(),
            Some("tftp://10.0.2.2/boot/k#notacomment")
        );
    }

    #[test]
    fn comments_and_blank_lines() {
        let m = p("# a comment\n\n   # indented comment\n\t\n a = k  # note\n");
        assert!(m.warnings.is_empty());
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].id, "a");
        assert_eq!(m.entries[0].cmdline, "");
    }

    #[test]
    fn missing_closing_quote_skips_line() {
        let m = p("a='k quiet\nb=k\n");
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].id, "b");
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].starts_with("kboot.conf line 1: "));
        assert!(m.warnings[0].contains("closing '"), "{}", m.warnings[0]);
    }

    #[test]
    fn text_after_closing_quote_warns_but_keeps_entry() {
        let m = p("a='k quiet' junk\n");
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].contains("junk"));
    }

    #[test]
    fn line_without_equals_or_key() {
        let m = p("just words\n=value\nmy label=k\nok=k\n");
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.warnings.len(), 3);
        assert!(m.warnings[0].starts_with("kboot.conf line 1: expected key=value"));
        assert!(m.warnings[1].starts_with("kboot.conf line 2: missing the key"));
        assert!(m.warnings[2].starts_with("kboot.conf line 3: 'my label'"));
    }

    #[test]
    fn empty_values() {
        let m = p("default=\nmessage=\ninitrd=\nroot=\na=\nb=''\nc=k\n");
        assert_eq!(m.default, None);
        assert_eq!(m.message, None);
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].id, "c");
        assert!(m.entries[0].initrds.is_empty());
        assert_eq!(m.entries[0].cmdline, "");
        assert_eq!(m.warnings.len(), 2);
        assert!(m.warnings[0].contains("line 5: entry 'a' has no kernel"));
        assert!(m.warnings[1].contains("line 6: entry 'b' has no kernel"));
    }

    #[test]
    fn label_with_only_args() {
        let m = p("a='root=/dev/sda1 quiet'\n");
        assert!(m.entries.is_empty());
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].contains("first word 'root=/dev/sda1' is a parameter"));
    }

    #[test]
    fn device_paths() {
        let m = p("a='sda1:/boot/vmlinux initrd=UUID=12-34:/initrd' \nb='LABEL=boot:/k'\n");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(m.entries[0].kernel.as_deref(), Some("sda1:/boot/vmlinux"));
        assert_eq!(m.entries[0].initrds, vec!["UUID=12-34:/initrd"]);
        assert_eq!(m.entries[1].kernel.as_deref(), Some("LABEL=boot:/k"));
    }

    #[test]
    fn device_base() {
        let m = parse(
            "a='vmlinux initrd=../initrd'\n",
            Some("sda1:/boot/kboot.conf"),
        );
        assert_eq!(m.entries[0].kernel.as_deref(), Some("sda1:/boot/vmlinux"));
        assert_eq!(m.entries[0].initrds, vec!["sda1:/initrd"]);
    }

    #[test]
    fn relative_and_absolute_paths() {
        let m = p("a='vmlinux'\nb='/vmlinux'\nc='../x/vmlinux'\nd='sub/vmlinux'\n");
        let k: Vec<_> = m
            .entries
            .iter()
            .map(|e| e.kernel.clone().unwrap())
            .collect();
        assert_eq!(
            k,
            vec![
                "tftp://10.0.2.2/boot/vmlinux",
                "tftp://10.0.2.2/vmlinux",
                "tftp://10.0.2.2/x/vmlinux",
                "tftp://10.0.2.2/boot/sub/vmlinux",
            ]
        );
    }

    #[test]
    fn no_base_skips_relative_entries() {
        let m = parse("a='vmlinux'\nb='http://h/k'\ninitrd=i\n", None);
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].id, "b");
        assert!(m.entries[0].initrds.is_empty());
        assert_eq!(m.warnings.len(), 2);
        assert!(m
            .warnings
            .iter()
            .any(|w| w.starts_with("kboot.conf line 3: global initrd ignored")));
        assert!(m
            .warnings
            .iter()
            .any(|w| w.starts_with("kboot.conf line 1: entry 'a' skipped: bad kernel")));
    }

    #[test]
    fn bad_locations_skip_the_entry() {
        let m = p("a='http://[::1/k'\nb='k initrd=tftp://'\nc='k dtb=gopher://h/x'\nd=k\n");
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].id, "d");
        assert_eq!(m.warnings.len(), 3);
        assert!(m.warnings[0].contains("line 1: entry 'a' skipped: bad kernel"));
        assert!(m.warnings[1].contains("line 2: entry 'b' skipped: bad initrd"));
        assert!(m.warnings[2].contains("line 3: entry 'c' skipped: bad dtb"));
    }

    #[test]
    fn timeout_values() {
        assert_eq!(p("timeout=0").timeout_ms, Some(0));
        assert_eq!(p("timeout= 30 ").timeout_ms, Some(30_000));
        assert_eq!(p("timeout='5'").timeout_ms, Some(5_000));
        assert_eq!(p("timeout=99999999999999999").timeout_ms, Some(u64::MAX));
        for bad in ["timeout=abc", "timeout=-1", "timeout=1.5", "timeout="] {
            let m = p(bad);
            assert_eq!(m.timeout_ms, None, "{bad}");
            assert_eq!(m.warnings.len(), 1, "{bad}");
            assert!(m.warnings[0].contains("not a whole number"), "{bad}");
        }
    }

    #[test]
    fn default_naming_missing_label() {
        let m = p("default=nope\na=k\n");
        assert_eq!(m.default, None);
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].starts_with("kboot.conf line 1: default 'nope' names no entry"));
        assert_eq!(m.default_index(), 0);
    }

    #[test]
    fn default_naming_a_skipped_entry() {
        let m = p("default=a\na='root=x'\nb=k\n");
        assert_eq!(m.default, None);
        assert_eq!(m.warnings.len(), 2);
    }

    #[test]
    fn default_picks_later_entry() {
        let m = p("a=k\nb=k2\ndefault=b\n");
        assert_eq!(m.default.as_deref(), Some("b"));
        assert_eq!(m.default_index(), 1);
    }

    #[test]
    fn duplicate_labels_first_wins() {
        let m = p("a='k1 one'\nb=k\na='k2 two'\n");
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.entries[0].cmdline, "one");
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].starts_with("kboot.conf line 3: entry 'a' is defined again"));
    }

    #[test]
    fn entry_order_kept() {
        let m = p("z=k\na=k\nm=k\n");
        let ids: Vec<_> = m.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, vec!["z", "a", "m"]);
    }

    #[test]
    fn network_keys_stored_without_warning() {
        let m = p("ip=10.0.0.2\nnetmask=255.255.255.0\ngateway=10.0.0.1\ndns=1.1.1.1\ntftp_server=10.0.0.1\na=k\n");
        assert!(m.warnings.is_empty());
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.network.len(), 5);
        assert_eq!(m.network[0], ("ip".into(), "10.0.0.2".into()));
        assert_eq!(m.network[4], ("tftp_server".into(), "10.0.0.1".into()));
    }

    #[test]
    fn weird_whitespace() {
        let m = p("  \t a  =   '  k    quiet\t\tro  '   \n\tdefault\t=\ta\t\n");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(
            m.entries[0].kernel.as_deref(),
            Some("tftp://10.0.2.2/boot/k")
        );
        assert_eq!(m.entries[0].cmdline, "quiet ro");
        assert_eq!(m.default.as_deref(), Some("a"));
    }

    #[test]
    fn crlf_and_bom() {
        let m = p("\u{feff}default=a\r\ntimeout=2\r\na='k quiet'\r\n\r\n");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(m.default.as_deref(), Some("a"));
        assert_eq!(m.timeout_ms, Some(2000));
        assert_eq!(m.entries[0].cmdline, "quiet");
    }

    #[test]
    fn crlf_with_missing_quote_reports_the_right_line() {
        let m = p("a=k\r\nb='k\r\n");
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].starts_with("kboot.conf line 2:"));
    }

    #[test]
    fn huge_lines() {
        let args = "x ".repeat(100_000);
        let text = format!("a='k {args}'\nb={}\n", "é".repeat(50_000));
        let m = p(&text);
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.entries[0].cmdline.len(), 199_999);
        let junk = format!("{}\n", "ü".repeat(100_000));
        let m = p(&junk);
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].chars().count() < 200);
    }

    #[test]
    fn non_ascii() {
        let m = p("débian='nói/vmlinuz quiet lang=日本語'\ndefault=débian\n");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(m.entries[0].id, "débian");
        assert_eq!(
            m.entries[0].kernel.as_deref(),
            Some("tftp://10.0.2.2/boot/n%C3%B3i/vmlinuz")
        );
        assert_eq!(m.entries[0].cmdline, "quiet lang=日本語");
        assert_eq!(m.default.as_deref(), Some("débian"));
    }

    #[test]
    fn multibyte_quotes_and_hashes_do_not_panic() {
        for t in [
            "é='",
            "a='é",
            "a=\"é\"é",
            "a=é#",
            "a= #é",
            "é",
            "=é",
            "a=’k’",
            "#é\na=k",
            "\u{feff}",
            "a='k initrd=é,,ü dtb=' ",
            "a='\"'",
            "a=\"'\"",
            "'=x",
            "a=k\u{0}",
        ] {
            let _ = p(t);
            let _ = parse(t, None);
            let _ = parse(t, Some("sda1:/x"));
        }
    }

    #[test]
    fn empty_input() {
        let m = p("");
        assert!(m.entries.is_empty());
        assert!(m.warnings.is_empty());
        assert_eq!(m.default, None);
        assert_eq!(m.timeout_ms, None);
    }

    #[test]
    fn uppercase_uuid_kernel_is_not_a_parameter() {
        assert!(!looks_like_param("UUID=ab:/k"));
        assert!(!looks_like_param("label=ab:/k"));
        assert!(!looks_like_param("http://h/k?a=b"));
        assert!(looks_like_param("root=/dev/sda1"));
        assert!(looks_like_param("quiet=1"));
        assert!(!looks_like_param("vmlinuz"));
    }

    /// Every combination of four tricky pieces parses without panicking, and every entry
    /// that survives has a canonical absolute kernel location.
    #[test]
    fn combinations_never_panic() {
        const PIECES: &[&str] = &[
            "a", "=", "'", "\"", "#", " ", "\t", "\r\n", "\n", "é", "initrd=", "root=", "dtb=",
            ",", "sda1:", "tftp://", "/", "default=", "timeout=", "1",
        ];
        for a in PIECES {
            for b in PIECES {
                for c in PIECES {
                    for d in PIECES {
                        let text = format!("{a}{b}{c}{d}");
                        let m = parse(&text, Some(BASE));
                        for e in &m.entries {
                            let k = e.kernel.as_deref().unwrap();
                            assert_eq!(resolve(None, k).as_deref(), Ok(k), "{text:?}");
                        }
                    }
                }
            }
        }
    }
}
