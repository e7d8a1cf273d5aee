//! `modules.dep`: where each module's file is and which modules it needs, and the order to load
//! a module in (its dependencies first, each once).
//!
//! A line is `kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz: kernel/drivers/ptp/ptp.ko.xz
//! kernel/drivers/pps/pps_core.ko.xz`, paths relative to `/lib/modules/<release>/`. depmod
//! already lists the whole closure, but kboot walks the lists as a graph anyway (as kmod does),
//! so a file that lists only direct dependencies works too.

use super::normalize;
use std::collections::{HashMap, HashSet};

/// Lines longer than this are refused (depmod's longest are a few KiB).
pub const MAX_LINE: usize = 64 * 1024;

/// Why `modules.dep` could not be read, or a module not ordered. One sentence each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepError {
    #[error("modules.dep is empty")]
    Empty,
    #[error("modules.dep is not text (line {0} is not UTF-8)")]
    NotText(usize),
    #[error("modules.dep line {0} is longer than {MAX_LINE} bytes")]
    LineTooLong(usize),
    #[error("modules.dep line {0} has no `path.ko: dependencies` colon")]
    MissingColon(usize),
    #[error("modules.dep line {0} names no module file before its colon")]
    NoModule(usize),
    #[error("modules.dep line {line} names `{word}`, which is not a .ko file")]
    NotAModule { line: usize, word: String },
    #[error("module {0} is not in modules.dep")]
    Unknown(String),
    #[error("module {module} needs {missing}, which is not in modules.dep")]
    MissingDependency { module: String, missing: String },
    #[error("modules.dep has a dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// One module of `modules.dep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepEntry {
    /// The file, relative to the modules directory, as written.
    pub path: String,
    /// The names (normalized) of the modules it needs, as listed.
    pub deps: Vec<String>,
}

/// `modules.dep` as a map from module name (normalized, `-` as `_`) to its entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepTable {
    pub modules: HashMap<String, DepEntry>,
}

/// The module name of a path in modules.dep: `kernel/a/usb-storage.ko.xz` -> `usb_storage`.
/// None when the file is not a `.ko`, `.ko.gz`, `.ko.xz` or `.ko.zst`.
pub fn module_name(path: &str) -> Option<String> {
    let file = path.rsplit('/').next()?;
    let stem = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))?;
    (!stem.is_empty()).then(|| normalize(stem))
}

impl DepTable {
    /// Parse the bytes of `modules.dep`. Blank lines and `#` comments are skipped.
    pub fn parse(bytes: &[u8]) -> Result<DepTable, DepError> {
        if bytes.is_empty() {
            return Err(DepError::Empty);
        }
        let mut modules = HashMap::new();
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let n = i + 1;
            if raw.len() > MAX_LINE {
                return Err(DepError::LineTooLong(n));
            }
            let line = std::str::from_utf8(raw).map_err(|_| DepError::NotText(n))?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (path, deps) = line.split_once(':').ok_or(DepError::MissingColon(n))?;
            let path = path.trim();
            if path.is_empty() {
                return Err(DepError::NoModule(n));
            }
            let not_a_module = |word: &str| DepError::NotAModule {
                line: n,
                word: word.chars().take(200).collect(),
            };
            let name = module_name(path).ok_or_else(|| not_a_module(path))?;
            let deps = deps
                .split_ascii_whitespace()
                .map(|d| module_name(d).ok_or_else(|| not_a_module(d)))
                .collect::<Result<Vec<_>, _>>()?;
            // A second line for the same module: the first wins, as in kmod's index.
            modules.entry(name).or_insert(DepEntry {
                path: path.to_string(),
                deps,
            });
        }
        Ok(DepTable { modules })
    }

    /// The entry of a module, by any spelling of its name (`usb-storage` or `usb_storage`).
    pub fn get(&self, module: &str) -> Option<&DepEntry> {
        self.modules.get(&normalize(module))
    }

    /// The modules to load for `module`, dependencies first and `module` last, each once. A
    /// cycle or a dependency missing from the table is an error; nothing is loaded then.
    pub fn load_order(&self, module: &str) -> Result<Vec<String>, DepError> {
        let root = normalize(module);
        if !self.modules.contains_key(&root) {
            return Err(DepError::Unknown(root));
        }
        let mut order: Vec<String> = Vec::new();
        let mut done: HashSet<String> = HashSet::new();
        let mut on_stack: HashSet<String> = HashSet::from([root.clone()]);
        // Depth-first with an explicit stack (a long chain cannot overflow the thread's
        // stack): each frame is a module and how many of its dependencies are done.
        let mut stack: Vec<(String, usize)> = vec![(root, 0)];
        while let Some((name, next)) = stack.last_mut() {
            let deps = self.modules.get(name.as_str()).map(|e| e.deps.as_slice());
            let Some(dep) = deps.unwrap_or_default().get(*next) else {
                let name = name.clone();
                stack.pop();
                on_stack.remove(&name);
                done.insert(name.clone());
                order.push(name);
                continue;
            };
            *next += 1;
            if done.contains(dep) {
                continue;
            }
            if !self.modules.contains_key(dep) {
                return Err(DepError::MissingDependency {
                    module: name.clone(),
                    missing: dep.clone(),
                });
            }
            if on_stack.contains(dep) {
                let start = stack.iter().position(|(n, _)| n == dep).unwrap_or(0);
                let mut cycle: Vec<String> =
                    stack[start..].iter().map(|(n, _)| n.clone()).collect();
                cycle.push(dep.clone());
                return Err(DepError::Cycle(cycle));
            }
            on_stack.insert(dep.clone());
            stack.push((dep.clone(), 0));
        }
        Ok(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz: kernel/drivers/ptp/ptp.ko.xz kernel/drivers/pps/pps_core.ko.xz
kernel/drivers/ptp/ptp.ko.xz: kernel/drivers/pps/pps_core.ko.xz
kernel/drivers/pps/pps_core.ko.xz:
kernel/drivers/usb/storage/usb-storage.ko.zst: kernel/drivers/scsi/scsi_mod.ko
kernel/drivers/usb/storage/uas.ko.gz: kernel/drivers/usb/storage/usb-storage.ko.zst kernel/drivers/scsi/scsi_mod.ko
kernel/drivers/scsi/scsi_mod.ko:
";

    fn table() -> DepTable {
        DepTable::parse(DEP.as_bytes()).expect("parses")
    }

    #[test]
    fn names_and_paths() {
        let t = table();
        assert_eq!(t.modules.len(), 6);
        assert_eq!(
            t.get("usb-storage").map(|e| e.path.as_str()),
            Some("kernel/drivers/usb/storage/usb-storage.ko.zst")
        );
        assert_eq!(module_name("a/b/x-y.ko"), Some("x_y".into()));
        assert_eq!(module_name("a/b/x.o"), None);
        assert_eq!(module_name(".ko"), None);
    }

    #[test]
    fn dependencies_come_first_each_once() {
        let t = table();
        assert_eq!(
            t.load_order("e1000e"),
            Ok(vec!["pps_core".into(), "ptp".into(), "e1000e".into()])
        );
        assert_eq!(
            t.load_order("uas"),
            Ok(vec!["scsi_mod".into(), "usb_storage".into(), "uas".into()])
        );
        assert_eq!(t.load_order("pps_core"), Ok(vec!["pps_core".into()]));
    }

    #[test]
    fn only_direct_dependencies_listed_still_gives_the_closure() {
        let t = DepTable::parse(b"a.ko: b.ko\nb.ko: c.ko\nc.ko:\n").expect("parses");
        assert_eq!(
            t.load_order("a"),
            Ok(vec!["c".into(), "b".into(), "a".into()])
        );
    }

    #[test]
    fn cycles_and_missing_entries_are_errors() {
        let t =
            DepTable::parse(b"a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\nd.ko: e.ko\n").expect("parses");
        assert_eq!(
            t.load_order("a"),
            Err(DepError::Cycle(vec![
                "a".into(),
                "b".into(),
                "c".into(),
                "a".into()
            ]))
        );
        assert_eq!(
            t.load_order("d"),
            Err(DepError::MissingDependency {
                module: "d".into(),
                missing: "e".into()
            })
        );
        assert_eq!(t.load_order("zzz"), Err(DepError::Unknown("zzz".into())));
        let selfish = DepTable::parse(b"s.ko: s.ko\n").expect("parses");
        assert!(matches!(selfish.load_order("s"), Err(DepError::Cycle(_))));
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("m{i}.ko: m{}.ko\n", i + 1));
        }
        text.push_str("m20000.ko:\n");
        let t = DepTable::parse(text.as_bytes()).expect("parses");
        let order = t.load_order("m0").expect("orders");
        assert_eq!(order.len(), 20_001);
        assert_eq!(order.first().map(String::as_str), Some("m20000"));
    }

    #[test]
    fn malformed_files_are_errors() {
        assert_eq!(DepTable::parse(b""), Err(DepError::Empty));
        assert_eq!(
            DepTable::parse(b"kernel/a.ko kernel/b.ko\n"),
            Err(DepError::MissingColon(1))
        );
        assert_eq!(DepTable::parse(b": b.ko\n"), Err(DepError::NoModule(1)));
        assert!(matches!(
            DepTable::parse(b"a.ko: libc.so\n"),
            Err(DepError::NotAModule { line: 1, .. })
        ));
        assert_eq!(
            DepTable::parse(b"a.ko:\n\x00\xff\xfe:"),
            Err(DepError::NotText(2))
        );
        let mut huge = b"a.ko:".to_vec();
        huge.extend(std::iter::repeat_n(b' ', MAX_LINE));
        assert_eq!(DepTable::parse(&huge), Err(DepError::LineTooLong(1)));
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(DepTable::parse(&garbage).is_err());
    }
}
