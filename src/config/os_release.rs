//! `/etc/os-release` (os-release(5)): what is installed on a root filesystem, for titles such
//! as "Debian GNU/Linux 12 (bookworm) on nvme0n1".
//!
//! Rules: `KEY=value` lines; blank lines and `#` comments are skipped; a value is unquoted,
//! or in `"..."` (where `\` escapes `"`, `\`, `$` and `` ` ``) or `'...'` (literal); an
//! unterminated quote or any other malformed line is skipped. Only the keys kboot shows are
//! read: [`OsRelease::pretty_name`] falls back to `NAME VERSION`, then `NAME`.

/// The fields kboot uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub pretty_name: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
}

impl OsRelease {
    /// The name to show: `PRETTY_NAME`, else `NAME VERSION`, else `NAME`.
    pub fn display_name(&self) -> Option<String> {
        let clean = |s: &String| {
            let t: String = s.chars().filter(|c| !c.is_control()).collect();
            let t = t.trim().to_string();
            (!t.is_empty()).then_some(t)
        };
        if let Some(p) = self.pretty_name.as_ref().and_then(clean) {
            return Some(p);
        }
        let name = self.name.as_ref().and_then(clean)?;
        Some(match self.version.as_ref().and_then(clean) {
            Some(v) => format!("{name} {v}"),
            None => name,
        })
    }
}

/// One value: unquoted, `"..."` or `'...'`; `None` when malformed.
fn value(raw: &str) -> Option<String> {
    let raw = raw.trim_end();
    let mut out = String::new();
    let mut chars = raw.chars();
    match raw.chars().next() {
        Some('"') => {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                        Some(n) => {
                            out.push('\\');
                            out.push(n);
                        }
                        None => return None,
                    },
                    c => out.push(c),
                }
            }
            (closed && chars.as_str().trim().is_empty()).then_some(out)
        }
        Some('\'') => {
            let inner = raw[1..].strip_suffix('\'')?;
            (!inner.contains('\'')).then(|| inner.to_string())
        }
        _ => (!raw.contains(['"', '\'', ' ', '\t'])).then(|| raw.to_string()),
    }
}

/// Parse an os-release file; malformed lines are skipped.
pub fn parse(text: &str) -> OsRelease {
    let mut os = OsRelease::default();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let Some(v) = value(raw) else {
            continue;
        };
        match key.trim() {
            "PRETTY_NAME" => os.pretty_name = Some(v),
            "NAME" => os.name = Some(v),
            "VERSION" => os.version = Some(v),
            _ => {}
        }
    }
    os
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_fedora_and_fallbacks() {
        let deb = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n";
        assert_eq!(
            parse(deb).display_name().as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        let fed = "NAME='Fedora Linux'\nVERSION=\"40 (Server Edition)\"\n# c\nPRETTY_NAME='Fedora Linux 40 (Server Edition)'\n";
        assert_eq!(
            parse(fed).display_name().as_deref(),
            Some("Fedora Linux 40 (Server Edition)")
        );
        assert_eq!(
            parse("NAME=Arch\nVERSION=\"rolling \\\"x\\\"\"\n")
                .display_name()
                .as_deref(),
            Some("Arch rolling \"x\"")
        );
        assert_eq!(
            parse("NAME=Alpine\n").display_name().as_deref(),
            Some("Alpine")
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert_eq!(parse("").display_name(), None);
        assert_eq!(parse("PRETTY_NAME=\"open\nNAME=x y\n").display_name(), None);
        assert_eq!(
            parse("PRETTY_NAME='a'b'\nPRETTY_NAME=\"q\"junk\nPRETTY_NAME=\"\\").display_name(),
            None
        );
        assert_eq!(
            parse("PRETTY_NAME=\"\x1b[2J\"\n").display_name(),
            Some("[2J".into())
        );
        assert_eq!(parse("PRETTY_NAME=\"  \"\n").display_name(), None);
        let _ = parse("\u{feff}=\n==\n'\"\n\\\n");
    }
}
