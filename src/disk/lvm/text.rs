//! LVM2's text metadata format (lvm2's config syntax): nested `name { key = value ... }`
//! sections, values that are strings (`"..."` with `\"` and `\\` escapes), integers, floats or
//! `[ ... ]` lists of those, and `#` comments to the end of the line.

use super::LvmError;

/// Deepest section nesting accepted (VG metadata uses 4).
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    List(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Value(Value),
    Section(Section),
}

/// A section's items in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    pub items: Vec<(String, Node)>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, n)| n)
    }

    pub fn section(&self, key: &str) -> Option<&Section> {
        match self.get(key)? {
            Node::Section(s) => Some(s),
            Node::Value(_) => None,
        }
    }

    pub fn value(&self, key: &str) -> Option<&Value> {
        match self.get(key)? {
            Node::Value(v) => Some(v),
            Node::Section(_) => None,
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.value(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.value(key)? {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The sub-sections, in order.
    pub fn sections(&self) -> impl Iterator<Item = (&str, &Section)> {
        self.items.iter().filter_map(|(k, n)| match n {
            Node::Section(s) => Some((k.as_str(), s)),
            Node::Value(_) => None,
        })
    }
}

struct Parser<'a> {
    b: &'a [u8],
    at: usize,
    line: usize,
}

/// Parses metadata text into its top-level section.
pub fn parse(text: &str) -> Result<Section, LvmError> {
    let mut p = Parser {
        b: text.as_bytes(),
        at: 0,
        line: 1,
    };
    p.section(0, true)
}

fn is_name_byte(c: u8) -> bool {
    !c.is_ascii_whitespace() && !matches!(c, b'{' | b'}' | b'[' | b']' | b'=' | b'"' | b'#' | b',')
}

impl Parser<'_> {
    fn err(&self, what: impl Into<String>) -> LvmError {
        LvmError::Syntax {
            line: self.line,
            what: what.into(),
        }
    }

    /// Skips white space and comments.
    fn skip(&mut self) {
        while let Some(&c) = self.b.get(self.at) {
            if c == b'\n' {
                self.line += 1;
                self.at += 1;
            } else if c.is_ascii_whitespace() {
                self.at += 1;
            } else if c == b'#' {
                while self.b.get(self.at).is_some_and(|&c| c != b'\n') {
                    self.at += 1;
                }
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.b.get(self.at).copied()
    }

    fn section(&mut self, depth: usize, top: bool) -> Result<Section, LvmError> {
        if depth > MAX_DEPTH {
            return Err(self.err("sections nested too deeply"));
        }
        let mut out = Section::default();
        loop {
            match self.peek() {
                None if top => return Ok(out),
                None => return Err(self.err("a section is not closed with }")),
                Some(b'}') if !top => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(c) if is_name_byte(c) => {
                    let start = self.at;
                    while self.b.get(self.at).is_some_and(|&c| is_name_byte(c)) {
                        self.at += 1;
                    }
                    let name = String::from_utf8_lossy(&self.b[start..self.at]).into_owned();
                    match self.peek() {
                        Some(b'{') => {
                            self.at += 1;
                            let s = self.section(depth + 1, false)?;
                            out.items.push((name, Node::Section(s)));
                        }
                        Some(b'=') => {
                            self.at += 1;
                            let v = self.value(true)?;
                            out.items.push((name, Node::Value(v)));
                        }
                        _ => return Err(self.err(format!("expected = or {{ after {name}"))),
                    }
                }
                Some(c) => return Err(self.err(format!("unexpected {:?}", c as char))),
            }
        }
    }

    fn value(&mut self, list_ok: bool) -> Result<Value, LvmError> {
        match self.peek() {
            Some(b'"') => self.string().map(Value::Str),
            Some(b'[') if list_ok => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Value::List(items));
                        }
                        Some(b',') if !items.is_empty() => self.at += 1,
                        None => return Err(self.err("a list is not closed with ]")),
                        _ => items.push(self.value(false)?),
                    }
                }
            }
            Some(b'[') => Err(self.err("lists inside lists are not LVM metadata")),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() || c == b'.' => {
                let start = self.at;
                while self
                    .b
                    .get(self.at)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.at += 1;
                }
                let s = std::str::from_utf8(&self.b[start..self.at]).unwrap_or("");
                if let Ok(i) = s.parse::<i64>() {
                    Ok(Value::Int(i))
                } else if let Some(f) = s.contains('.').then(|| s.parse::<f64>().ok()).flatten() {
                    Ok(Value::Float(f))
                } else {
                    Err(self.err(format!("bad number {s}")))
                }
            }
            Some(c) => Err(self.err(format!("expected a value, found {:?}", c as char))),
            None => Err(self.err("expected a value, found the end")),
        }
    }

    fn string(&mut self) -> Result<String, LvmError> {
        let start_line = self.line;
        self.at += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.at) else {
                return Err(LvmError::Syntax {
                    line: start_line,
                    what: "a string is not closed with \"".into(),
                });
            };
            self.at += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.b.get(self.at) else {
                        continue;
                    };
                    self.at += 1;
                    if e == b'\n' {
                        self.line += 1;
                    }
                    out.push(e);
                }
                b'\n' => {
                    self.line += 1;
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
