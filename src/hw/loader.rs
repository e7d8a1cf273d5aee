//! Loading modules: the module pack's tables, what is loaded already, the blacklist, and the
//! order of `finit_module` calls. The kernel call sits behind [`Insert`] so the order,
//! deduplication and blacklist logic is tested with a fake; [`Finit`] is the real one.
//!
//! Blacklist (`kboot.blacklist=`), as modprobe's `blacklist` does: it stops only loads found
//! through `modules.alias` (a device asking for the module). A module named explicitly
//! (`kboot.modprobe=`) still loads, and so does a blacklisted module that another module
//! needs, because the kernel could not load the other one without it.

use super::alias::{AliasError, AliasTable};
use super::dep::{module_name, DepError, DepTable};
use super::normalize;
use crate::boot::initrd::Compression;
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// Why the module pack could not be opened. One sentence each.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no module pack in {0}")]
    NoPack(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Dep(#[from] DepError),
    #[error(transparent)]
    Alias(#[from] AliasError),
}

/// Why a module could not be loaded. One sentence each, with the kernel's reason.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Dep(#[from] DepError),
    #[error("cannot read module {module} ({path}): {source}")]
    Read {
        module: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot unpack module {module} ({path}): {reason}")]
    Unpack {
        module: String,
        path: PathBuf,
        reason: String,
    },
    #[error("the kernel refused module {module}: {}", kernel_reason(*.errno))]
    Refused {
        module: String,
        errno: nix::errno::Errno,
    },
}

/// The kernel's reason for refusing a module, worded as modprobe words it where the plain
/// errno text misleads (ENOENT from finit_module is about symbols, not files).
pub fn kernel_reason(errno: nix::errno::Errno) -> String {
    use nix::errno::Errno;
    match errno {
        Errno::ENOENT => "Unknown symbol in module, or unknown parameter (see dmesg)".into(),
        Errno::ENOEXEC => "Exec format error (not a module for this kernel or architecture)".into(),
        Errno::ESRCH => "Module has wrong symbol version (see dmesg)".into(),
        Errno::EINVAL => "Invalid argument (bad parameters or module, see dmesg)".into(),
        Errno::EPERM => "Operation not permitted: the kernel is in lockdown and the module is not signed by its build (use the module pack made with kboot's kernel), or module loading is disabled".into(),
        Errno::EKEYREJECTED => {
            "Key was rejected: the module's signature does not match it (the file was changed after it was signed)".into()
        }
        e => e.desc().to_string(),
    }
}

/// Puts one module file into the kernel.
pub trait Insert {
    /// Load `module` from `path`. `Ok(true)` when loaded now, `Ok(false)` when the kernel
    /// already had it.
    fn insert(&mut self, module: &str, path: &Path) -> Result<bool, LoadError>;
}

/// The real [`Insert`]: `finit_module(2)`. A compressed module (xz, zstd, gzip, found by its
/// magic bytes) is unpacked into a memfd first, so kboot does not depend on the kernel's
/// CONFIG_MODULE_DECOMPRESS.
#[derive(Debug, Default)]
pub struct Finit;

impl Insert for Finit {
    fn insert(&mut self, module: &str, path: &Path) -> Result<bool, LoadError> {
        use nix::kmod::{finit_module, ModuleInitFlags};
        let file = module_file(module, path)?;
        match finit_module(&file, c"", ModuleInitFlags::empty()) {
            Ok(()) => Ok(true),
            Err(nix::errno::Errno::EEXIST) => Ok(false),
            Err(errno) => Err(LoadError::Refused {
                module: module.to_string(),
                errno,
            }),
        }
    }
}

/// The module file ready for `finit_module`: the file itself when it is not compressed, else
/// a memfd holding it unpacked (xz, zstd or gzip, told by its magic bytes, not its name).
pub fn module_file(module: &str, path: &Path) -> Result<std::fs::File, LoadError> {
    let read = |source| LoadError::Read {
        module: module.to_string(),
        path: path.to_path_buf(),
        source,
    };
    let data = std::fs::read(path).map_err(read)?;
    let Some(kind) = Compression::sniff(&data) else {
        return std::fs::File::open(path).map_err(read);
    };
    let mut mem = crate::fetch::memfd(module).map_err(read)?;
    kind.decode(&mut data.as_slice(), &mut mem)
        .map_err(|e| LoadError::Unpack {
            module: module.to_string(),
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(mem)
}

/// An [`Insert`] that loads nothing and remembers what it was asked, for `kboot modules` and
/// tests.
#[derive(Debug, Default)]
pub struct DryRun {
    pub inserted: Vec<String>,
}

impl Insert for DryRun {
    fn insert(&mut self, module: &str, _path: &Path) -> Result<bool, LoadError> {
        self.inserted.push(module.to_string());
        Ok(true)
    }
}

/// What one alias match led to.
#[derive(Debug)]
pub struct Outcome {
    /// The module the alias named.
    pub module: String,
    /// The modules loaded now, dependencies first (empty when all were loaded already), or
    /// why not.
    pub result: Result<Vec<String>, LoadError>,
}

/// The module pack and what the kernel has: loads modules with their dependencies, each once.
pub struct Loader<I: Insert> {
    dir: PathBuf,
    deps: DepTable,
    aliases: AliasTable,
    loaded: HashSet<String>,
    failed: HashSet<String>,
    blacklist: HashSet<String>,
    insert: I,
}

impl<I: Insert> Loader<I> {
    /// Read `modules.dep`, `modules.alias` and (if there) `modules.builtin` from `dir`, e.g.
    /// `/lib/modules/6.1.0-kboot`. Built-in modules count as loaded.
    pub fn open(dir: &Path, insert: I) -> Result<Self, OpenError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| OpenError::Read { path, source })
        };
        if !dir.join("modules.dep").is_file() {
            return Err(OpenError::NoPack(dir.to_path_buf()));
        }
        let deps = DepTable::parse(&read("modules.dep")?)?;
        let aliases = AliasTable::parse(&read("modules.alias")?)?;
        let mut loader = Loader::new(dir, deps, aliases, insert);
        if let Ok(builtin) = std::fs::read_to_string(dir.join("modules.builtin")) {
            loader.mark_loaded(builtin.lines().filter_map(module_name));
        }
        Ok(loader)
    }

    /// A loader over tables already parsed; module paths are relative to `dir`.
    pub fn new(dir: &Path, deps: DepTable, aliases: AliasTable, insert: I) -> Self {
        Loader {
            dir: dir.to_path_buf(),
            deps,
            aliases,
            loaded: HashSet::new(),
            failed: HashSet::new(),
            blacklist: HashSet::new(),
            insert,
        }
    }

    /// Count these modules as loaded (from /proc/modules or modules.builtin).
    pub fn mark_loaded<S: AsRef<str>>(&mut self, names: impl IntoIterator<Item = S>) {
        self.loaded
            .extend(names.into_iter().map(|n| normalize(n.as_ref())));
    }

    /// Never load these for a device (see the module documentation for what that covers).
    pub fn set_blacklist<S: AsRef<str>>(&mut self, names: impl IntoIterator<Item = S>) {
        self.blacklist = names.into_iter().map(|n| normalize(n.as_ref())).collect();
    }

    /// Is this module loaded (or built in)?
    pub fn is_loaded(&self, module: &str) -> bool {
        self.loaded.contains(&normalize(module))
    }

    /// The inserter, e.g. a [`DryRun`] to read what it was asked.
    pub fn inserter(&self) -> &I {
        &self.insert
    }

    /// The modules `modules.alias` gives for a modalias, blacklisted ones left out.
    pub fn modules_for(&self, modalias: &str) -> Vec<String> {
        let mut found = self.aliases.lookup(modalias);
        found.retain(|m| !self.blacklist.contains(m));
        found
    }

    /// Load `module` (any spelling) and what it needs, dependencies first. Returns the modules
    /// loaded now, in order; those loaded before are skipped. Stops at the first failure.
    pub fn load(&mut self, module: &str) -> Result<Vec<String>, LoadError> {
        let module = normalize(module);
        if self.loaded.contains(&module) {
            return Ok(Vec::new());
        }
        let order = self.deps.load_order(&module)?;
        let mut now = Vec::new();
        for name in order {
            if self.loaded.contains(&name) {
                continue;
            }
            let Some(entry) = self.deps.modules.get(&name) else {
                continue; // load_order only names modules of the table
            };
            let path = self.dir.join(&entry.path);
            let result = self.insert.insert(&name, &path);
            match result {
                Ok(fresh) => {
                    self.loaded.insert(name.clone());
                    if fresh {
                        now.push(name);
                    }
                }
                Err(e) => {
                    self.failed.insert(module);
                    return Err(e);
                }
            }
        }
        Ok(now)
    }

    /// Load every module `modules.alias` gives for a device's modalias, blacklisted ones left
    /// out. Modules already loaded, and modules that failed before, are not tried again (so a
    /// broken module is reported once, not once per device).
    pub fn load_for(&mut self, modalias: &str) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for module in self.modules_for(modalias) {
            if self.loaded.contains(&module) || self.failed.contains(&module) {
                continue;
            }
            let result = self.load(&module);
            outcomes.push(Outcome { module, result });
        }
        outcomes
    }
}

/// The module names in `/proc/modules` (the first word of each line).
pub fn parse_proc_modules(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_ascii_whitespace().next())
        .map(normalize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz: kernel/drivers/ptp/ptp.ko.xz kernel/drivers/pps/pps_core.ko.xz
kernel/drivers/ptp/ptp.ko.xz: kernel/drivers/pps/pps_core.ko.xz
kernel/drivers/pps/pps_core.ko.xz:
kernel/drivers/hid/usbhid/usbhid.ko.zst: kernel/drivers/hid/hid.ko.zst
kernel/drivers/hid/hid.ko.zst:
kernel/drivers/usb/storage/usb-storage.ko: kernel/drivers/scsi/scsi_mod.ko
kernel/drivers/usb/storage/uas.ko: kernel/drivers/usb/storage/usb-storage.ko kernel/drivers/scsi/scsi_mod.ko
kernel/drivers/scsi/scsi_mod.ko:
kernel/a.ko: kernel/b.ko
kernel/b.ko: kernel/a.ko
";

    const ALIAS: &str = "\
# Aliases extracted from modules themselves.
alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e
alias usb:v*p*d*dc*dsc*dp*ic03isc01ip01in* usbhid
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* usb-storage
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* uas
alias pci:v00001234d* a
";

    const NIC: &str = "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00";
    const STICK: &str = "usb:v0781p5583d0100dc00dsc00dp00ic08isc06ip50in00";

    /// A fake kernel: records inserts, says EEXIST for `preloaded`, fails `broken`.
    #[derive(Default)]
    struct Fake {
        inserted: Vec<(String, PathBuf)>,
        preloaded: Vec<String>,
        broken: Vec<String>,
    }

    impl Insert for Fake {
        fn insert(&mut self, module: &str, path: &Path) -> Result<bool, LoadError> {
            if self.broken.iter().any(|b| b == module) {
                return Err(LoadError::Refused {
                    module: module.into(),
                    errno: nix::errno::Errno::ENOEXEC,
                });
            }
            self.inserted.push((module.into(), path.to_path_buf()));
            Ok(!self.preloaded.iter().any(|p| p == module))
        }
    }

    fn inserted(l: &Loader<Fake>) -> Vec<&str> {
        l.insert.inserted.iter().map(|(m, _)| m.as_str()).collect()
    }

    /// A module pack in a temporary folder.
    struct Pack(PathBuf);
    impl Pack {
        fn new(tag: &str) -> Pack {
            let dir = std::env::temp_dir().join(format!("kboot-hw-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            std::fs::write(dir.join("modules.dep"), DEP).expect("write");
            std::fs::write(dir.join("modules.alias"), ALIAS).expect("write");
            std::fs::write(
                dir.join("modules.builtin"),
                "kernel/drivers/scsi/scsi_mod.ko\n",
            )
            .expect("write");
            Pack(dir)
        }
        fn open(&self, fake: Fake) -> Loader<Fake> {
            Loader::open(&self.0, fake).expect("opens")
        }
    }
    impl Drop for Pack {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn loads_dependencies_first_once_with_paths_under_the_pack() {
        let pack = Pack::new("order");
        let mut l = pack.open(Fake::default());
        let out = l.load_for(NIC);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].result.as_ref().expect("loads"),
            &vec!["pps_core", "ptp", "e1000e"]
        );
        assert_eq!(
            l.insert.inserted[0].1,
            pack.0.join("kernel/drivers/pps/pps_core.ko.xz")
        );
        // The same NIC again, or a second one: nothing more.
        assert!(l.load_for(NIC).is_empty());
        assert_eq!(l.load("ptp").expect("loaded already"), Vec::<String>::new());
        assert_eq!(inserted(&l), vec!["pps_core", "ptp", "e1000e"]);
    }

    #[test]
    fn builtin_and_running_modules_are_not_inserted() {
        let pack = Pack::new("builtin");
        let mut l = pack.open(Fake::default());
        l.mark_loaded(parse_proc_modules(
            "usb_storage 81920 0 - Live 0x0000000000000000\n",
        ));
        let out = l.load_for(STICK);
        // usb-storage is running and scsi_mod built in: only uas is loaded.
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].module, "uas");
        assert_eq!(inserted(&l), vec!["uas"]);
    }

    #[test]
    fn eexist_counts_as_loaded_but_not_as_new() {
        let pack = Pack::new("eexist");
        let mut l = pack.open(Fake {
            preloaded: vec!["hid".into()],
            ..Fake::default()
        });
        assert_eq!(l.load("usbhid").expect("loads"), vec!["usbhid"]);
        assert!(l.is_loaded("hid"));
    }

    #[test]
    fn blacklist_stops_alias_loads_only() {
        let pack = Pack::new("blacklist");
        let mut l = pack.open(Fake::default());
        l.set_blacklist(["usb-storage", "e1000e"]);
        assert!(l.load_for(NIC).is_empty());
        // uas is not blacklisted and needs usb-storage: that still loads, as a dependency.
        let out = l.load_for(STICK);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].module, "uas");
        assert_eq!(inserted(&l), vec!["usb_storage", "uas"]);
        // Asked for by name, a blacklisted module loads.
        assert_eq!(
            l.load("e1000e").expect("loads"),
            vec!["pps_core", "ptp", "e1000e"]
        );
    }

    #[test]
    fn failures_stop_the_chain_carry_the_reason_and_are_not_retried() {
        let pack = Pack::new("fail");
        let mut l = pack.open(Fake {
            broken: vec!["ptp".into()],
            ..Fake::default()
        });
        let out = l.load_for(NIC);
        let err = out[0].result.as_ref().expect_err("ptp is broken");
        assert_eq!(
            err.to_string(),
            "the kernel refused module ptp: Exec format error (not a module for this kernel or architecture)"
        );
        assert_eq!(inserted(&l), vec!["pps_core"]);
        assert!(
            l.load_for(NIC).is_empty(),
            "not tried again for another device"
        );
    }

    #[test]
    fn cycles_and_unknown_modules_are_errors_without_inserts() {
        let pack = Pack::new("cycle");
        let mut l = pack.open(Fake::default());
        let out = l.load_for("pci:v00001234d00000001");
        assert!(matches!(
            out[0].result,
            Err(LoadError::Dep(DepError::Cycle(_)))
        ));
        assert!(matches!(
            l.load("nope"),
            Err(LoadError::Dep(DepError::Unknown(_)))
        ));
        assert!(inserted(&l).is_empty());
    }

    #[test]
    fn a_missing_pack_is_no_pack() {
        let dir = std::env::temp_dir().join(format!("kboot-hw-none-{}", std::process::id()));
        assert!(matches!(
            Loader::open(&dir, DryRun::default()),
            Err(OpenError::NoPack(_))
        ));
    }

    #[test]
    fn compressed_modules_are_unpacked_into_memory_and_plain_ones_opened() {
        use std::io::{Read, Seek, Write};
        let pack = Pack::new("unpack");
        let elf = b"\x7fELF fake module body".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&elf).expect("compress");
        let gz_path = pack.0.join("m.ko.gz");
        std::fs::write(&gz_path, gz.finish().expect("compress")).expect("write");
        let plain_path = pack.0.join("m.ko");
        std::fs::write(&plain_path, &elf).expect("write");
        for path in [&gz_path, &plain_path] {
            let mut f = module_file("m", path).expect("opens");
            let mut back = Vec::new();
            f.rewind().expect("rewind");
            f.read_to_end(&mut back).expect("read");
            assert_eq!(back, elf, "{}", path.display());
        }
        let bad = pack.0.join("bad.ko.xz");
        std::fs::write(&bad, b"\xfd7zXZ\x00 not really xz").expect("write");
        let err = module_file("bad", &bad).expect_err("corrupt");
        assert!(
            err.to_string().starts_with("cannot unpack module bad"),
            "{err}"
        );
        assert!(matches!(
            module_file("gone", &pack.0.join("gone.ko")),
            Err(LoadError::Read { .. })
        ));
    }

    #[test]
    fn kernel_reasons_are_sentences() {
        use nix::errno::Errno;
        assert!(kernel_reason(Errno::ENOENT).starts_with("Unknown symbol in module"));
        assert_eq!(kernel_reason(Errno::ENODEV), Errno::ENODEV.desc());
    }
}
