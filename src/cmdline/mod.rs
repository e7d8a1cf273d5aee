//! The target kernel command line: assembly and handoff parameters.
//!
//! Splitting follows the kernel's own `next_arg()`: parameters are separated by whitespace
//! outside double quotes, and a `"` anywhere toggles quoting (`foo="a b"` is one parameter).
//! Tokens keep their quotes, so `join(&split(x))` is `x` with normalised whitespace.

pub mod flavor;
pub mod handoff;
pub mod inject;
pub mod root;
pub mod secrets;

use crate::boot::BootSpec;
use crate::config::Entry;

/// Whitespace as the kernel's `isspace()` sees it (ASCII only).
fn is_space(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\x0b'
}

/// Split a command line into parameters, honouring double quotes. Quotes are kept in the
/// tokens; an unterminated quote runs to the end of the line.
pub fn split(cmdline: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    for c in cmdline.chars() {
        if c == '"' {
            in_quote = !in_quote;
            cur.push(c);
        } else if is_space(c) && !in_quote {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Join command-line fragments with single spaces, dropping empty ones and collapsing
/// whitespace outside double quotes.
pub fn join<S: AsRef<str>>(parts: &[S]) -> String {
    let mut out = String::new();
    for part in parts {
        for tok in split(part.as_ref()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&tok);
        }
    }
    out
}

/// `cmdline` followed by `extra`, whitespace normalised.
pub fn append(cmdline: &str, extra: &str) -> String {
    join(&[cmdline, extra])
}

/// The key of one parameter: the text before the first `=`, without a leading quote.
pub fn param_key(token: &str) -> &str {
    let t = token.strip_prefix('"').unwrap_or(token);
    let key = t.split_once('=').map_or(t, |(k, _)| k);
    key.strip_suffix('"').unwrap_or(key)
}

/// The value of one parameter (`None` for a bare flag such as `quiet`), with the double
/// quotes removed as the kernel does (`foo="a b"` → `a b`).
pub fn param_value(token: &str) -> Option<String> {
    let t = token.strip_prefix('"').unwrap_or(token);
    let (_, v) = t.split_once('=')?;
    Some(v.chars().filter(|&c| c != '"').collect())
}

/// The value of the last `key=` parameter (the kernel and most initramfs scripts take the
/// last one). A bare `key` flag yields `Some("")`.
pub fn get(cmdline: &str, key: &str) -> Option<String> {
    split(cmdline)
        .iter()
        .rev()
        .find(|t| param_key(t) == key)
        .map(|t| param_value(t).unwrap_or_default())
}

/// Every value of `key=` in order (e.g. several `console=`).
pub fn get_all(cmdline: &str, key: &str) -> Vec<String> {
    split(cmdline)
        .iter()
        .filter(|t| param_key(t) == key)
        .map(|t| param_value(t).unwrap_or_default())
        .collect()
}

/// `cmdline` without any `key` or `key=...` parameter, whitespace normalised.
pub fn remove(cmdline: &str, key: &str) -> String {
    let kept: Vec<String> = split(cmdline)
        .into_iter()
        .filter(|t| param_key(t) != key)
        .collect();
    join(&kept)
}

/// What booting `entry` means, with `extra` appended to its command line. `None` when the
/// entry has no kernel (a submenu, or a broken entry).
pub fn entry_to_boot_spec(entry: &Entry, extra: Option<&str>) -> Option<BootSpec> {
    let kernel = entry.kernel.clone()?;
    Some(BootSpec {
        title: entry.title.clone(),
        kernel,
        initrds: entry.initrds.clone(),
        cmdline: append(&entry.cmdline, extra.unwrap_or("")),
        diskless: entry.diskless.clone().map(Box::new),
        sha256: entry.sha256.clone(),
        signature: entry.signature.clone(),
        config_cmdline: Some(entry.cmdline.clone()),
        config_files: entry.config_files.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_plain_and_quoted() {
        assert_eq!(split("  a  b\tc\r\n"), vec!["a", "b", "c"]);
        assert_eq!(
            split(r#"root=/dev/sda1 foo="a b" "x y=z" q"#),
            vec!["root=/dev/sda1", r#"foo="a b""#, r#""x y=z""#, "q"]
        );
        assert_eq!(
            split(r#"a="unterminated x y"#),
            vec![r#"a="unterminated x y"#]
        );
        assert!(split("").is_empty());
        assert!(split(" \t ").is_empty());
        assert_eq!(split("é ü"), vec!["é", "ü"]);
    }

    #[test]
    fn join_normalises() {
        assert_eq!(
            join(&["  quiet ", "", " root=/dev/sda1   ro"]),
            "quiet root=/dev/sda1 ro"
        );
        assert_eq!(join(&[r#"foo="a   b"   x"#]), r#"foo="a   b" x"#);
        assert_eq!(join::<&str>(&[]), "");
        let v = vec![String::from("a"), String::from("b")];
        assert_eq!(join(&v), "a b");
    }

    #[test]
    fn append_works() {
        assert_eq!(append("quiet", "single"), "quiet single");
        assert_eq!(append("", " single "), "single");
        assert_eq!(append("quiet ", ""), "quiet");
    }

    #[test]
    fn get_and_remove() {
        let c = r#"root=/dev/sda1 initrd=a,b quiet console=tty0 console=ttyS0,115200 foo="a b""#;
        assert_eq!(get(c, "root").as_deref(), Some("/dev/sda1"));
        assert_eq!(get(c, "console").as_deref(), Some("ttyS0,115200"));
        assert_eq!(get_all(c, "console"), vec!["tty0", "ttyS0,115200"]);
        assert_eq!(get(c, "quiet").as_deref(), Some(""));
        assert_eq!(get(c, "foo").as_deref(), Some("a b"));
        assert_eq!(get(c, "roo"), None);
        assert_eq!(get(c, "nope"), None);
        assert_eq!(
            remove(c, "initrd"),
            r#"root=/dev/sda1 quiet console=tty0 console=ttyS0,115200 foo="a b""#
        );
        assert_eq!(
            remove(c, "console"),
            r#"root=/dev/sda1 initrd=a,b quiet foo="a b""#
        );
        assert_eq!(
            remove(c, "quiet"),
            r#"root=/dev/sda1 initrd=a,b console=tty0 console=ttyS0,115200 foo="a b""#
        );
        assert_eq!(remove("rootwait root=x", "root"), "rootwait");
    }

    #[test]
    fn param_key_value_edge_cases() {
        assert_eq!(param_key(r#""x y=z""#), "x y");
        assert_eq!(param_value(r#""x y=z""#).as_deref(), Some("z"));
        assert_eq!(param_key("=v"), "");
        assert_eq!(param_value("a=b=c").as_deref(), Some("b=c"));
        assert_eq!(param_key("\""), "");
    }

    #[test]
    fn entry_to_spec() {
        let mut e = Entry {
            id: "linux".into(),
            title: "linux".into(),
            kernel: Some("tftp://h/k".into()),
            initrds: vec!["tftp://h/i".into()],
            cmdline: "root=/dev/sda1 quiet".into(),
            ..Default::default()
        };
        let s = entry_to_boot_spec(&e, Some("single ")).unwrap();
        assert_eq!(s.title, "linux");
        assert_eq!(s.kernel, "tftp://h/k");
        assert_eq!(s.initrds, vec!["tftp://h/i"]);
        assert_eq!(s.cmdline, "root=/dev/sda1 quiet single");
        assert_eq!(
            entry_to_boot_spec(&e, None).unwrap().cmdline,
            "root=/dev/sda1 quiet"
        );
        e.kernel = None;
        assert!(entry_to_boot_spec(&e, None).is_none());
    }
}
