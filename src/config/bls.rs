//! Boot Loader Specification type #1 entries (netboot.md §6, UAPI.1).
//!
//! ```text
//! title      Fedora Linux 40 (Workstation Edition)
//! version    6.8.5-301.fc40.x86_64
//! machine-id 6a9857a393724b7a981ebb5b8495b9ea
//! sort-key   fedora
//! options    root=UUID=6b3f... ro rhgb quiet
//! linux      /vmlinuz-6.8.5-301.fc40.x86_64
//! initrd     /initramfs-6.8.5-301.fc40.x86_64.img
//! ```
//!
//! Rules implemented here:
//! - One `key value` per line, separated by whitespace; the value runs to the end of the line
//!   with surrounding whitespace removed. Blank lines and lines starting with `#` are ignored;
//!   CRLF line ends and a UTF-8 BOM are accepted.
//! - Keys: `title`, `version`, `machine-id`, `sort-key`, `linux`, `initrd` (repeatable, in
//!   order; several paths on one line are allowed), `options` (repeatable, joined with
//!   spaces), `devicetree`, `architecture`, `uki` and `efi` (a path, like `linux`), `uki-url`
//!   (a URL). An entry with no `linux` boots its `uki`, `uki-url` or `efi` file as a unified
//!   kernel image: the boot recognises one by its content (a PE file with a `.linux` section)
//!   and splits it; another EFI program fails there with the kernel's reason. Its `options`
//!   are used only when the UKI has no `.cmdline` of its own. `devicetree-overlay`, GRUB's
//!   `grub_*` and `id` keys are recognised and ignored; any other key is a warning and is
//!   ignored. A repeated single-valued key keeps the last.
//! - `architecture` names an EFI architecture (`x64`, `ia32`, `aa64`, `arm`, `riscv64`,
//!   `loongarch64`); entries for another architecture than kboot's are skipped.
//! - GRUB's `$variable` words in `options` (Fedora's `$kernelopts`) cannot be expanded and are
//!   dropped with a warning.
//! - Paths are absolute from the root of the partition the entries live on: they are resolved
//!   below `base` (`sda1:/`, `http://server/boot/`), whatever their leading `/`.
//! - The entry id is the file name without `.conf` (and without a boot-counting `+N-M`
//!   suffix); the title falls back to that id. Entries with the same title show their version.
//! - Sorting follows the specification: entries with a `sort-key` first, ordered by sort-key,
//!   then machine-id (both increasing), then version (decreasing, newest first); the rest
//!   after, ordered by file name in decreasing version order. Versions compare like systemd's
//!   `strverscmp_improved` ([`version_cmp`]).

use super::snippet;
use std::cmp::Ordering;

use crate::cmdline;
use crate::config::{Entry, Menu};
use crate::fetch::url::resolve;

/// kboot's own architecture as the specification names it (`architecture` key).
pub const OWN_ARCH: &str = if cfg!(target_arch = "x86_64") {
    "x64"
} else if cfg!(target_arch = "x86") {
    "ia32"
} else if cfg!(target_arch = "aarch64") {
    "aa64"
} else if cfg!(target_arch = "arm") {
    "arm"
} else if cfg!(target_arch = "riscv64") {
    "riscv64"
} else if cfg!(target_arch = "loongarch64") {
    "loongarch64"
} else {
    "unknown"
};

/// A parsed entry with the fields only the sorting needs.
#[derive(Debug, Clone)]
struct BlsEntry {
    entry: Entry,
    sort_key: Option<String>,
    machine_id: Option<String>,
    version: Option<String>,
    /// The file name without `.conf` and without a boot-counting suffix.
    stem: String,
}

/// The file name without a directory, `.conf` and a boot-counting suffix (`+3-1`).
fn stem(file_name: &str) -> String {
    let name = file_name.rsplit('/').next().unwrap_or(file_name);
    let name = name.strip_suffix(".conf").unwrap_or(name);
    // Boot counting: `name+LEFT[-DONE]` with decimal counters.
    if let Some((head, counters)) = name.rsplit_once('+') {
        let ok = !counters.is_empty()
            && counters.split('-').count() <= 2
            && counters
                .split('-')
                .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()));
        if ok && !head.is_empty() {
            return head.to_string();
        }
    }
    name.to_string()
}

/// `base` as a directory: the partition root every entry path is relative to.
fn root_dir(base: &str) -> String {
    if base.ends_with('/') || base.ends_with(':') {
        base.to_string()
    } else {
        format!("{base}/")
    }
}

/// Resolve an entry path below the partition root `base`.
fn resolve_path(base: &str, path: &str) -> Result<String, String> {
    let root = root_dir(base);
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { path } else { rel };
    // A device root such as `sda1:` needs the slash for a relative path to resolve.
    let root = if root.ends_with(':') {
        format!("{root}/")
    } else {
        root
    };
    resolve(Some(&root), rel).map_err(|e| e.to_string())
}

/// Parse one entry file. `file_name` names it in warnings and gives the entry id; `base` is
/// the partition root the paths are relative to. `Err` is a one-sentence reason the entry
/// cannot be booted (no `linux`, another architecture, a bad path).
pub fn parse_entry(text: &str, file_name: &str, base: &str) -> Result<Entry, String> {
    let mut warnings = Vec::new();
    parse_bls(text, file_name, base, &mut warnings).map(|b| b.entry)
}

fn parse_bls(
    text: &str,
    file_name: &str,
    base: &str,
    warnings: &mut Vec<String>,
) -> Result<BlsEntry, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut title = None;
    let mut version = None;
    let mut machine_id = None;
    let mut sort_key = None;
    let mut linux: Option<(usize, String)> = None;
    let mut initrds: Vec<(usize, String)> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let mut devicetree: Option<(usize, String)> = None;
    let mut architecture = None;
    let mut other_kind = None;
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once(|c: char| c.is_whitespace()) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        let warn = |warnings: &mut Vec<String>, msg: String| {
            warnings.push(format!("{file_name} line {n}: {msg}"));
        };
        if value.is_empty() {
            warn(
                warnings,
                format!("key '{}' has no value; line ignored", snippet(key)),
            );
            continue;
        }
        let v = value.to_string();
        match key {
            "title" => title = Some(v),
            "version" => version = Some(v),
            "machine-id" => machine_id = Some(v),
            "sort-key" => sort_key = Some(v),
            "linux" => linux = Some((n, v)),
            "initrd" => initrds.extend(value.split_whitespace().map(|p| (n, p.to_string()))),
            "options" => {
                let mut kept = Vec::new();
                for word in cmdline::split(value) {
                    if word.starts_with('$') {
                        warn(
                            warnings,
                            format!(
                                "GRUB variable '{}' in options cannot be expanded by kboot; dropped",
                                snippet(&word)
                            ),
                        );
                    } else {
                        kept.push(word);
                    }
                }
                options.push(cmdline::join(&kept));
            }
            "devicetree" => devicetree = Some((n, v)),
            "architecture" => architecture = Some(v),
            "efi" | "uki" | "uki-url" => other_kind = Some((n, key.to_string(), v)),
            "devicetree-overlay" => warn(
                warnings,
                "devicetree-overlay is not supported by kboot; ignored".to_string(),
            ),
            k if k == "id" || k.starts_with("grub_") => {}
            k => warn(warnings, format!("unknown key '{}' ignored", snippet(k))),
        }
    }
    if let Some(arch) = &architecture {
        if !arch.eq_ignore_ascii_case(OWN_ARCH) {
            return Err(format!(
                "{file_name}: entry skipped: it is for architecture '{}', not kboot's '{OWN_ARCH}'",
                snippet(arch)
            ));
        }
    }
    let kernel = match (linux, other_kind) {
        (Some((kline, kpath)), _) => resolve_path(base, &kpath)
            .map_err(|e| format!("{file_name} line {kline}: entry skipped: bad linux path: {e}"))?,
        // A unified kernel image (recognised by its content when it is booted).
        (None, Some((line, key, v))) => {
            let resolved = if key == "uki-url" {
                resolve(Some(base), &v).map_err(|e| e.to_string())
            } else {
                resolve_path(base, &v)
            };
            resolved.map_err(|e| {
                format!("{file_name} line {line}: entry skipped: bad {key} path: {e}")
            })?
        }
        (None, None) => return Err(format!("{file_name}: entry skipped: it has no 'linux' key")),
    };
    let mut initrd_urls = Vec::with_capacity(initrds.len());
    for (line, p) in &initrds {
        initrd_urls.push(resolve_path(base, p).map_err(|e| {
            format!("{file_name} line {line}: entry skipped: bad initrd path: {e}")
        })?);
    }
    let devicetree = match devicetree {
        None => None,
        Some((line, p)) => Some(resolve_path(base, &p).map_err(|e| {
            format!("{file_name} line {line}: entry skipped: bad devicetree path: {e}")
        })?),
    };
    let id = stem(file_name);
    let title = title.unwrap_or_else(|| id.clone());
    Ok(BlsEntry {
        entry: Entry {
            id: id.clone(),
            title,
            kernel: Some(kernel),
            initrds: initrd_urls,
            cmdline: cmdline::join(&options),
            devicetree,
            ..Default::default()
        },
        sort_key,
        machine_id,
        version,
        stem: id,
    })
}

/// Build the menu of a `loader/entries` directory: every `(file name, text)` is parsed with
/// [`parse_entry`]; broken entries become warnings; the rest are sorted as the specification
/// says. The default is the first entry after sorting.
pub fn menu_from_entries(entries: Vec<(String, String)>, base: &str) -> Menu {
    let mut menu = Menu::default();
    let mut parsed = Vec::with_capacity(entries.len());
    for (name, text) in &entries {
        match parse_bls(text, name, base, &mut menu.warnings) {
            Ok(b) => parsed.push(b),
            Err(e) => menu.warnings.push(e),
        }
    }
    parsed.sort_by(compare_entries);
    // Ids must be unique: a repeated file stem (same name in two directories) keeps the first.
    let mut seen = std::collections::HashSet::new();
    parsed.retain(|b| {
        let fresh = seen.insert(b.entry.id.clone());
        if !fresh {
            menu.warnings.push(format!(
                "{}: entry skipped: another entry has the same id",
                snippet(&b.stem)
            ));
        }
        fresh
    });
    // Titles shared by several entries are told apart by their versions.
    let titles: Vec<String> = parsed.iter().map(|b| b.entry.title.clone()).collect();
    for b in &mut parsed {
        let same = titles.iter().filter(|t| **t == b.entry.title).count();
        if same > 1 {
            if let Some(v) = &b.version {
                if !b.entry.title.contains(v.as_str()) {
                    b.entry.title = format!("{} ({v})", b.entry.title);
                }
            }
        }
    }
    menu.entries = parsed.into_iter().map(|b| b.entry).collect();
    menu
}

/// The specification's order: sort-key entries first (sort-key, machine-id increasing, version
/// decreasing), then by file name in decreasing version order.
fn compare_entries(a: &BlsEntry, b: &BlsEntry) -> Ordering {
    match (&a.sort_key, &b.sort_key) {
        (Some(ka), Some(kb)) => ka
            .cmp(kb)
            .then_with(|| opt_cmp(&a.machine_id, &b.machine_id))
            .then_with(|| match (&a.version, &b.version) {
                (Some(va), Some(vb)) => version_cmp(vb, va),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| version_cmp(&b.stem, &a.stem)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => version_cmp(&b.stem, &a.stem),
    }
}

/// Increasing, entries with the field before those without.
fn opt_cmp(a: &Option<String>, b: &Option<String>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn is_version_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'~' | b'-' | b'^' | b'.')
}

/// Compare two version strings as the specification describes (systemd's
/// `strverscmp_improved`): `Greater` means `a` is newer. Characters other than alphanumerics
/// and `~-^.` are skipped; `~` sorts before everything (pre-releases), even the end of the
/// string; then `-` (release separator), `^` (post-release) and `.` each sort below any
/// alphanumeric segment; numeric segments compare by value and are newer than alphabetic
/// ones; alphabetic segments compare byte-wise, a longer one being newer.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let at = |s: &[u8], k: usize| s.get(k).copied().unwrap_or(0);
    loop {
        while i < a.len() && !is_version_char(a[i]) {
            i += 1;
        }
        while j < b.len() && !is_version_char(b[j]) {
            j += 1;
        }
        let (ca, cb) = (at(a, i), at(b, j));
        if ca == b'~' || cb == b'~' {
            let r = (ca != b'~').cmp(&(cb != b'~'));
            if r != Ordering::Equal {
                return r;
            }
            i += 1;
            j += 1;
            continue;
        }
        if i >= a.len() || j >= b.len() {
            return a[i.min(a.len())..].cmp(&b[j.min(b.len())..]);
        }
        let mut progressed = false;
        for sep in [b'-', b'^', b'.'] {
            let (ca, cb) = (at(a, i), at(b, j));
            if ca == sep || cb == sep {
                let r = (ca != sep).cmp(&(cb != sep));
                if r != Ordering::Equal {
                    return r;
                }
                i += 1;
                j += 1;
                progressed = true;
            }
        }
        let (ca, cb) = (at(a, i), at(b, j));
        if ca.is_ascii_digit() || cb.is_ascii_digit() {
            let ea = i + a[i.min(a.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let eb = j + b[j.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let r = (ea > i).cmp(&(eb > j));
            if r != Ordering::Equal {
                return r;
            }
            while i < ea && a[i] == b'0' {
                i += 1;
            }
            while j < eb && b[j] == b'0' {
                j += 1;
            }
            let r = (ea - i)
                .cmp(&(eb - j))
                .then_with(|| a[i..ea].cmp(&b[j..eb]));
            if r != Ordering::Equal {
                return r;
            }
            i = ea;
            j = eb;
        } else {
            let ea = i + a[i.min(a.len())..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            let eb = j + b[j.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            let la = ea - i;
            let lb = eb - j;
            let m = la.min(lb);
            let r = a[i..i + m].cmp(&b[j..j + m]).then_with(|| la.cmp(&lb));
            if r != Ordering::Equal {
                return r;
            }
            if la == 0 && lb == 0 && !progressed {
                // Cannot happen (both start with a version character), but never spin.
                i += 1;
                j += 1;
            }
            i = i.max(ea);
            j = j.max(eb);
        }
    }
}

/// An entry's `key value` pairs as GRUB's blscfg reads them (`read_entry`): leading blanks
/// and `#` comment lines are skipped, the key ends at the first space (else tab), the value
/// starts after the blanks that follow; a line without a value (a blank line too) ends the
/// entry. A trailing CR is dropped.
pub fn grub_keys(text: &str) -> Vec<(String, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_start_matches([' ', '\t']);
        if line.starts_with('#') {
            continue;
        }
        let sep = line.find(' ').or_else(|| line.find('\t'));
        let Some(sep) = sep.filter(|&i| i + 1 < line.len()) else {
            break;
        };
        let value = line[sep + 1..].trim_start_matches([' ', '\t']);
        out.push((line[..sep].to_string(), value.to_string()));
    }
    out
}

/// RPM's version comparison (`rpmvercmp`), which GRUB's blscfg uses: runs of digits compare
/// as numbers, runs of letters as strings, a digit run beats a letter run, `~` sorts before
/// anything (even the end), `+` after the end.
pub fn rpm_vercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'+';
    while i < a.len() || j < b.len() {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'+') || cb == Some(b'+') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'+') {
                return Ordering::Greater;
            }
            if cb != Some(b'+') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let (si, sj) = (i, j);
        let numeric = ca.is_ascii_digit();
        let class = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        while i < a.len() && class(a[i]) {
            i += 1;
        }
        while j < b.len() && class(b[j]) {
            j += 1;
        }
        if j == sj {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut x, mut y) = (&a[si..i], &b[sj..j]);
        if numeric {
            while x.first() == Some(&b'0') {
                x = &x[1..];
            }
            while y.first() == Some(&b'0') {
                y = &y[1..];
            }
            match x.len().cmp(&y.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match x.cmp(y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// GRUB blscfg's order of two entry file names (without `.conf`): split as
/// `name-version-release` at the last two `-`, each part compared with [`rpm_vercmp`].
/// `Greater` = `a` is newer (shown first).
pub fn grub_blscfg_cmp(a: &str, b: &str) -> Ordering {
    fn split(s: &str) -> (&str, &str, &str) {
        let (head, release) = match s.rsplit_once('-') {
            Some((h, r)) => (h, Some(r)),
            None => (s, None),
        };
        let (name, version) = match head.rsplit_once('-') {
            Some((n, v)) => (n, Some(v)),
            None => (head, None),
        };
        match (version, release) {
            (Some(v), r) => (name, v, r.unwrap_or("")),
            (None, r) => (name, r.unwrap_or(""), ""),
        }
    }
    let (an, av, ar) = split(a);
    let (bn, bv, br) = split(b);
    rpm_vercmp(an, bn)
        .then_with(|| rpm_vercmp(av, bv))
        .then_with(|| rpm_vercmp(ar, br))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_version_order() {
        use std::cmp::Ordering::*;
        assert_eq!(rpm_vercmp("6.8.11", "6.8.5"), Greater);
        assert_eq!(rpm_vercmp("1.0", "1.0"), Equal);
        assert_eq!(rpm_vercmp("1.0~rc1", "1.0"), Less);
        assert_eq!(rpm_vercmp("1.0+p1", "1.0"), Greater);
        assert_eq!(rpm_vercmp("1.0a", "1.0"), Greater);
        assert_eq!(rpm_vercmp("1.a", "1.1"), Less);
        assert_eq!(rpm_vercmp("010", "9"), Greater);
        assert_eq!(rpm_vercmp("fc40", "fc39"), Greater);
        let m = "6a9857a393724b7a981ebb5b8495b9ea";
        let mut v = vec![
            format!("{m}-0-rescue"),
            format!("{m}-6.8.5-301.fc40.x86_64"),
            format!("{m}-6.8.11-300.fc40.x86_64"),
        ];
        v.sort_by(|a, b| grub_blscfg_cmp(b, a));
        assert_eq!(
            v,
            vec![
                format!("{m}-6.8.11-300.fc40.x86_64"),
                format!("{m}-6.8.5-301.fc40.x86_64"),
                format!("{m}-0-rescue"),
            ]
        );
        for (a, b) in [
            ("", ""),
            ("-", "--"),
            ("~", "+"),
            ("a-b", "a"),
            ("\u{e9}", "1"),
        ] {
            let _ = grub_blscfg_cmp(a, b);
            assert_eq!(rpm_vercmp(a, b), rpm_vercmp(b, a).reverse(), "{a:?} {b:?}");
        }
    }

    #[test]
    fn grub_reads_keys_like_blscfg() {
        let k = grub_keys(
            "title Fedora\r\n  # c\nlinux\t/vmlinuz\noptions  $kernelopts x \nnovalue\ninitrd /i\n",
        );
        assert_eq!(
            k,
            vec![
                ("title".to_string(), "Fedora".to_string()),
                ("linux".to_string(), "/vmlinuz".to_string()),
                ("options".to_string(), "$kernelopts x ".to_string()),
            ]
        );
        assert!(grub_keys("").is_empty());
        assert!(grub_keys("\nlinux /k\n").is_empty());
        let _ = grub_keys("\u{feff}a \t\n\t \n#");
    }

    #[test]
    fn versions_compare_like_systemd() {
        use Ordering::*;
        let cases = [
            ("1", "1", Equal),
            ("2", "1", Greater),
            ("10", "9", Greater),
            ("010", "10", Equal),
            ("1.1", "1", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1~rc1", "1~rc2", Less),
            ("123-9", "123.1-1", Less),
            ("1^1", "1", Greater),
            ("1^1", "1.1", Less),
            ("6.8.5-301.fc40.x86_64", "6.8.11-300.fc40.x86_64", Less),
            ("6.9.1-100.fc40.x86_64", "6.8.11-300.fc40.x86_64", Greater),
            ("a", "1", Less),
            ("abc", "abcd", Less),
            ("1a", "1", Greater),
            ("", "~", Greater),
            ("1_2", "12", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(version_cmp(a, b), want, "{a} vs {b}");
            assert_eq!(version_cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn version_cmp_never_panics_or_spins() {
        const P: &[&str] = &["", "~", "-", "^", ".", "0", "1", "a", "é", "_", "09", "z~"];
        for a in P {
            for b in P {
                for c in P {
                    let x = format!("{a}{b}{c}");
                    for d in P {
                        let y = format!("{d}{c}{a}");
                        let _ = version_cmp(&x, &y);
                    }
                }
            }
        }
    }

    #[test]
    fn stems() {
        assert_eq!(stem("loader/entries/fedora-6.8.conf"), "fedora-6.8");
        assert_eq!(stem("a+3.conf"), "a");
        assert_eq!(stem("a+3-1.conf"), "a");
        assert_eq!(stem("a+x.conf"), "a+x");
        assert_eq!(stem("+3.conf"), "+3");
        assert_eq!(stem("plain"), "plain");
    }

    #[test]
    fn paths_resolve_below_the_root() {
        assert_eq!(resolve_path("sda1:/", "/vmlinuz").unwrap(), "sda1:/vmlinuz");
        assert_eq!(resolve_path("sda1:", "/a/b").unwrap(), "sda1:/a/b");
        assert_eq!(
            resolve_path("http://s/boot", "/vmlinuz").unwrap(),
            "http://s/boot/vmlinuz"
        );
        assert_eq!(
            resolve_path("http://s/boot/", "x/initrd").unwrap(),
            "http://s/boot/x/initrd"
        );
        assert!(resolve_path("http://s/boot/", "/").is_ok());
    }

    #[test]
    fn one_entry() {
        let e = parse_entry(
            "title T\nlinux /k\ninitrd /i1\ninitrd /i2 /i3\noptions a=1\noptions b\ndevicetree /d.dtb\n",
            "x.conf",
            "sda1:/",
        )
        .unwrap();
        assert_eq!(e.id, "x");
        assert_eq!(e.kernel.as_deref(), Some("sda1:/k"));
        assert_eq!(e.initrds, vec!["sda1:/i1", "sda1:/i2", "sda1:/i3"]);
        assert_eq!(e.cmdline, "a=1 b");
        assert_eq!(e.devicetree.as_deref(), Some("sda1:/d.dtb"));
    }

    #[test]
    fn other_architectures_and_efi_are_skipped() {
        let other = if OWN_ARCH == "aa64" { "x64" } else { "aa64" };
        let e = parse_entry(
            &format!("linux /k\narchitecture {other}\n"),
            "a.conf",
            "sda1:/",
        );
        assert!(e.unwrap_err().contains("architecture"));
        let e = parse_entry(
            &format!("linux /k\narchitecture {}\n", OWN_ARCH.to_uppercase()),
            "a.conf",
            "sda1:/",
        );
        assert!(e.is_ok());
        // A UKI (`uki`, `efi`, `uki-url`) is the entry's kernel; the boot splits it.
        let e = parse_entry("efi /EFI/x.efi\n", "a.conf", "sda1:/").unwrap();
        assert_eq!(e.kernel.as_deref(), Some("sda1:/EFI/x.efi"));
        let e = parse_entry("uki /EFI/Linux/a.efi\noptions quiet\n", "a.conf", "sda1:/").unwrap();
        assert_eq!(e.kernel.as_deref(), Some("sda1:/EFI/Linux/a.efi"));
        assert_eq!(e.cmdline, "quiet");
        let e = parse_entry("uki-url http://h/a.efi\n", "a.conf", "sda1:/").unwrap();
        assert_eq!(e.kernel.as_deref(), Some("http://h/a.efi"));
        let e = parse_entry("title x\n", "a.conf", "sda1:/");
        assert!(e.unwrap_err().contains("no 'linux' key"));
    }
}
