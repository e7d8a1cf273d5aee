//! `modules.alias`: which module drives a device, found by matching the device's modalias
//! (`pci:v00008086d000010D3sv...`) against the glob patterns depmod extracted from every
//! module (`alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e`).
//!
//! The patterns use fnmatch(3) syntax, the way kmod matches them (`fnmatch(pattern, modalias,
//! 0)`): `*`, `?`, bracket expressions with ranges, `[!...]`/`[^...]` and `[:class:]`, and `\`
//! quoting the next character. The matcher is ours ([`fnmatch`]), about 80 lines, because no
//! crate fits well: `glob::Pattern` has no `[^...]` and rejects an unclosed `[` that fnmatch
//! takes literally; `glob-match`/`fast-glob` give `/`, `{a,b}` and a leading `!` path-glob
//! meanings; `yash-fnmatch` and `fnmatch-regex` pull in `regex`; and `libc::fnmatch` would
//! need unsafe FFI and NUL-free strings on every call. The unit tests compare ours with the C
//! library's fnmatch on the host.

use super::normalize;

/// Lines longer than this are refused: depmod writes lines of at most a few hundred bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// Why `modules.alias` could not be read. One sentence each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AliasError {
    #[error("modules.alias is empty (depmod always writes at least a comment)")]
    Empty,
    #[error("modules.alias is not text (line {0} is not UTF-8)")]
    NotText(usize),
    #[error("modules.alias line {0} is longer than {MAX_LINE} bytes")]
    LineTooLong(usize),
    #[error("modules.alias line {0} is not `alias <pattern> <module>`")]
    Malformed(usize),
}

/// One `alias <pattern> <module>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The fnmatch pattern, as written.
    pub pattern: String,
    /// The module name, normalized (`-` written as `_`).
    pub module: String,
}

/// Every alias of `modules.alias`, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliasTable {
    pub aliases: Vec<Alias>,
}

impl AliasTable {
    /// Parse the bytes of `modules.alias`. Blank lines and `#` comments are skipped; any other
    /// line must be `alias <pattern> <module>` (extra words are an error too).
    pub fn parse(bytes: &[u8]) -> Result<AliasTable, AliasError> {
        if bytes.is_empty() {
            return Err(AliasError::Empty);
        }
        let mut aliases = Vec::new();
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let n = i + 1;
            if raw.len() > MAX_LINE {
                return Err(AliasError::LineTooLong(n));
            }
            let line = std::str::from_utf8(raw).map_err(|_| AliasError::NotText(n))?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_ascii_whitespace();
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("alias"), Some(pattern), Some(module), None) => aliases.push(Alias {
                    pattern: pattern.to_string(),
                    module: normalize(module),
                }),
                _ => return Err(AliasError::Malformed(n)),
            }
        }
        Ok(AliasTable { aliases })
    }

    /// The modules whose patterns match `modalias`, in file order, each once.
    pub fn lookup(&self, modalias: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for a in &self.aliases {
            if !found.contains(&a.module) && fnmatch(a.pattern.as_bytes(), modalias.as_bytes()) {
                found.push(a.module.clone());
            }
        }
        found
    }
}

/// fnmatch(3) with no flags, on bytes: `*` any run (`/` and `.` included), `?` any one byte,
/// `[...]` a bracket expression (`!` or `^` first negates, `]` first is literal, `a-z` ranges,
/// `[:alpha:]`-style classes of the C locale), `\c` the character c itself. A `[` without its
/// `]` is a literal `[`; a pattern ending in a lone `\` matches nothing (as glibc).
///
/// Linear in the text for each position of the last `*` seen (the classic one-star
/// backtrack), so no input makes it explode.
pub fn fnmatch(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: the pattern just past it and the text position the
    // star's run ends at so far.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            if pattern[p] == b'*' {
                p += 1;
                star = Some((p, t));
                continue;
            }
            if let Some(&c) = text.get(t) {
                if let Some(next) = match_one(pattern, p, c) {
                    p = next;
                    t += 1;
                    continue;
                }
            }
        } else if t == text.len() {
            return true;
        }
        // Mismatch: let the last star take one more byte, or fail.
        match star {
            Some((sp, st)) if st < text.len() => {
                star = Some((sp, st + 1));
                p = sp;
                t = st + 1;
            }
            _ => return false,
        }
    }
}

/// Does the pattern element at `p` (not `*`) match the byte `c`? The index after it if so.
fn match_one(pattern: &[u8], p: usize, c: u8) -> Option<usize> {
    match pattern[p] {
        b'?' => Some(p + 1),
        b'[' => match bracket(pattern, p, c) {
            Some((true, next)) => Some(next),
            Some((false, _)) => None,
            None => (c == b'[').then_some(p + 1),
        },
        b'\\' => (pattern.get(p + 1) == Some(&c)).then_some(p + 2),
        lit => (lit == c).then_some(p + 1),
    }
}

/// The bracket expression at `pattern[open] == '['` against `c`: whether it matches and the
/// index after its `]`, or None when it has no closing `]` (then `[` is an ordinary byte).
fn bracket(pattern: &[u8], open: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let b = *pattern.get(i)?;
        if b == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if b == b'[' && pattern.get(i + 1) == Some(&b':') {
            if let Some(len) = pattern[i + 2..].windows(2).position(|w| w == b":]") {
                let name = &pattern[i + 2..i + 2 + len];
                matched |= class(name, c);
                i += 2 + len + 2;
                continue;
            }
        }
        let (lo, after) = bracket_char(pattern, i)?;
        i = after;
        if pattern.get(i) == Some(&b'-') && pattern.get(i + 1).is_some_and(|&x| x != b']') {
            let (hi, after) = bracket_char(pattern, i + 1)?;
            i = after;
            matched |= lo <= c && c <= hi;
        } else {
            matched |= lo == c;
        }
    }
}

/// One character inside brackets, `\` quoting the next: the byte and the index after it.
fn bracket_char(pattern: &[u8], i: usize) -> Option<(u8, usize)> {
    match *pattern.get(i)? {
        b'\\' => Some((*pattern.get(i + 1)?, i + 2)),
        b => Some((b, i + 1)),
    }
}

/// `[:name:]` in the C locale; an unknown name matches nothing.
fn class(name: &[u8], c: u8) -> bool {
    match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => c.is_ascii_whitespace() || c == 0x0b,
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALIASES: &str = "\
# Aliases extracted from modules themselves.
alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e
alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000
alias usb:v*p*d*dc*dsc*dp*ic03isc01ip01in* usbhid
alias usb:v*p*d*dc*dsc*dp*ic03isc*ip*in* usbhid
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* usb-storage
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* uas
alias pci:v*d*sv*sd*bc0Csc03i30* xhci-pci
alias virtio:d00000001v* virtio_net
alias acpi*:PNP0501:* serial_core
alias scsi:t-0x0[07]* sd_mod
alias dmi:bvn*:bvr*:bd*:svnLENOVO:pn20[A-C]?:* thinkpad_acpi
alias platform:i8042[!0-9] i8042
";

    fn table() -> AliasTable {
        AliasTable::parse(ALIASES.as_bytes()).expect("parses")
    }

    #[test]
    fn parses_lines_in_order_with_normalized_names() {
        let t = table();
        assert_eq!(t.aliases.len(), 12);
        assert_eq!(t.aliases[0].module, "e1000e");
        assert_eq!(t.aliases[4].module, "usb_storage");
        assert_eq!(t.aliases[6].pattern, "pci:v*d*sv*sd*bc0Csc03i30*");
    }

    #[test]
    fn pci_nic_and_usb_controller() {
        let t = table();
        assert_eq!(
            t.lookup("pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00"),
            vec!["e1000e"]
        );
        assert_eq!(
            t.lookup("pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30"),
            vec!["xhci_pci"]
        );
        assert!(t
            .lookup("pci:v00008086d000010D4sv00008086sd0000A01Fbc02sc00i00")
            .is_empty());
    }

    #[test]
    fn usb_keyboard_matches_once_and_storage_matches_both_drivers() {
        let t = table();
        // Two usbhid patterns match a boot keyboard: it is named once.
        assert_eq!(
            t.lookup("usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00"),
            vec!["usbhid"]
        );
        assert_eq!(
            t.lookup("usb:v0781p5583d0100dc00dsc00dp00ic08isc06ip50in00"),
            vec!["usb_storage", "uas"]
        );
    }

    #[test]
    fn classes_question_marks_and_negation() {
        let t = table();
        assert_eq!(t.lookup("scsi:t-0x00"), vec!["sd_mod"]);
        assert_eq!(t.lookup("scsi:t-0x07"), vec!["sd_mod"]);
        assert!(t.lookup("scsi:t-0x05").is_empty());
        let dmi = "dmi:bvnLENOVO:bvrN2HET:bd01/01/2020:svnLENOVO:pn20B7:pvr:";
        assert_eq!(t.lookup(dmi), vec!["thinkpad_acpi"]);
        assert!(t.lookup(&dmi.replace("pn20B7", "pn20D7")).is_empty());
        assert_eq!(t.lookup("platform:i8042x"), vec!["i8042"]);
        assert!(t.lookup("platform:i80427").is_empty());
        assert_eq!(t.lookup("acpi:PNP0501:"), vec!["serial_core"]);
    }

    #[test]
    fn fnmatch_edge_cases() {
        assert!(fnmatch(b"", b""));
        assert!(!fnmatch(b"", b"a"));
        assert!(fnmatch(b"*", b""));
        assert!(fnmatch(b"a*b*c", b"aXbYbZc"));
        assert!(!fnmatch(b"a*b*c", b"aXbYbZ"));
        assert!(fnmatch(b"[]]", b"]"));
        assert!(fnmatch(b"[!]]", b"a"));
        assert!(fnmatch(b"[^a-c]", b"d"));
        assert!(!fnmatch(b"[^a-c]", b"b"));
        assert!(fnmatch(b"[a-]", b"-"));
        assert!(fnmatch(b"[[:xdigit:]]x", b"Fx"));
        assert!(fnmatch(b"a[", b"a["));
        assert!(fnmatch(b"\\*", b"*"));
        assert!(!fnmatch(b"\\*", b"a"));
        assert!(!fnmatch(b"a\\", b"a\\"));
        assert!(fnmatch(b"*/*", b"a/b"));
    }

    #[test]
    fn a_pathological_pattern_is_still_quick() {
        let text = vec![b'a'; 10_000];
        let pattern = b"*a*a*a*a*a*a*a*a*a*b";
        assert!(!fnmatch(pattern, &text));
    }

    /// Ours against the C library's fnmatch(3) (glibc on the host, C locale, flags 0).
    #[test]
    fn agrees_with_libc_fnmatch() {
        let patterns = [
            "pci:v00008086d*sv*",
            "*",
            "?",
            "a?c",
            "[abc]",
            "[!abc]",
            "[^abc]",
            "[a-c]x",
            "[]a]",
            "[!]a]",
            "[a-]",
            "[-a]",
            "[",
            "a[b",
            "[[:digit:]]*",
            "[![:upper:]]",
            "*[0-9]",
            "\\?",
            "[\\]]",
            "x*y*z",
            "**a",
            "usb:v*p*d*dc*dsc*dp*ic03isc01ip01in*",
        ];
        let texts = [
            "",
            "a",
            "b",
            "d",
            "]",
            "-",
            "[",
            "ab",
            "abc",
            "a[b",
            "x",
            "xyz",
            "xaybz",
            "?",
            "\\",
            "5",
            "Q",
            "q",
            "9abc",
            "abc9",
            "ba",
            "aa",
            "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00",
            "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00",
        ];
        for p in patterns {
            for t in texts {
                let cp = std::ffi::CString::new(p).expect("no NUL");
                let ct = std::ffi::CString::new(t).expect("no NUL");
                // SAFETY: two valid NUL-terminated strings that outlive the call.
                let libc_says = unsafe { libc::fnmatch(cp.as_ptr(), ct.as_ptr(), 0) } == 0;
                assert_eq!(
                    fnmatch(p.as_bytes(), t.as_bytes()),
                    libc_says,
                    "pattern {p:?} text {t:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_files_are_errors() {
        assert_eq!(AliasTable::parse(b""), Err(AliasError::Empty));
        assert_eq!(
            AliasTable::parse(b"# only a comment\n"),
            Ok(AliasTable::default())
        );
        assert_eq!(
            AliasTable::parse(b"alias pci:v* e1000e\n\xff\xfe\x00garbage"),
            Err(AliasError::NotText(2))
        );
        assert_eq!(
            AliasTable::parse(b"alias pci:v*\n"),
            Err(AliasError::Malformed(1))
        );
        assert_eq!(
            AliasTable::parse(b"\nsoftdep e1000e pre: ptp\n"),
            Err(AliasError::Malformed(2))
        );
        assert_eq!(
            AliasTable::parse(b"alias a b c\n"),
            Err(AliasError::Malformed(1))
        );
        let mut huge = b"alias ".to_vec();
        huge.extend(std::iter::repeat_n(b'*', MAX_LINE));
        huge.extend(b" e1000e\n");
        assert_eq!(AliasTable::parse(&huge), Err(AliasError::LineTooLong(1)));
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(AliasTable::parse(&garbage).is_err());
    }
}
