//! Files and kernel modules kboot adds to the target's initramfs: `kboot.inject=` and
//! `kboot.modules=` (docs/diskless.md, section 6).
//!
//! Everything goes into ONE uncompressed newc segment appended to the fetched initrd (with the
//! root's secrets, see [`super::secrets`]). A file in a later segment replaces the same path
//! from an earlier one, and the kernel creates what the segment lists, so:
//! - Appended `.ko` files are not in the initrd's `modules.dep.bin`, and kmod's modprobe finds
//!   modules only through that index (no text fallback, and kmod 30 cannot load by path). So
//!   the modules are loaded by path with `insmod`, from a hook the flavour runs before it
//!   attaches the root:
//!   - initramfs-tools: `/conf/conf.d/kboot-modules`. Debian's `/init` sources every
//!     `conf/conf.d/*` once /proc, /sys and /dev are mounted, before `init-top`. The
//!     `scripts/*` hook folders are run only through their generated `ORDER` file, which an
//!     appended segment would have to replace (after decompressing the whole initrd to read
//!     it), and a wrong `ORDER` skips udev.
//!   - dracut: `/lib/dracut/hooks/pre-udev/40-kboot-modules.sh`, found by glob, plus
//!     `/etc/modules-load.d/kboot.conf` naming the modules that are already in the initrd (for
//!     systemd's modules-load in systemd-based images; an injected one would fail its lookup).
//!
//!   Both hooks may be sourced more than once (open-iscsi's script sources conf.d again), so a
//!   module whose `/sys/module/<name>` exists is skipped.
//! - A directory entry replaces what the target has at that path when the types differ: a
//!   `lib` directory entry would delete a merged-/usr initrd's `lib -> usr/lib` symlink (Debian
//!   12's initrd is such). So the segment never holds entries for the top-level `bin`, `sbin`,
//!   `lib*` (every initramfs has them, as directories or symlinks) or `var/run`.
//!
//! The parsers here are sans-IO and never panic (fuzz target `inject`).

use crate::cmdline::flavor::Flavor;
use crate::config::model::Inject;
use crate::image::{ImageError, Initramfs, Node};

/// Longest initramfs path kboot writes.
pub const MAX_PATH: usize = 1024;
/// Largest file kboot injects, after decompression (a module or firmware, not a root);
/// smaller in unit tests, which try a bomb.
pub const MAX_FILE: u64 = if cfg!(test) { 1 << 20 } else { 64 << 20 };
/// Linux's MODULE_NAME_LEN minus the NUL.
pub const MAX_MODULE_NAME: usize = 55;
/// The initramfs-tools hook (sourced by `/init`).
pub const TOOLS_HOOK: &str = "conf/conf.d/kboot-modules";
/// The dracut hook (sourced by dracut's `source_hook pre-udev`).
pub const DRACUT_HOOK: &str = "lib/dracut/hooks/pre-udev/40-kboot-modules.sh";
/// The dracut hook's `insmod`: the image's own, else kmod called as insmod (kmod picks its
/// command from the name it is called by).
const DRACUT_INSMOD: &str = "kboot_insmod() {\n\
    \x20   if command -v insmod >/dev/null 2>&1; then insmod \"$@\"; return; fi\n\
    \x20   kmod=$(command -v kmod) || return 1\n\
    \x20   ln -sf \"$kmod\" /tmp/insmod && /tmp/insmod \"$@\"\n\
    }\n";
/// systemd's modules-load.d entry.
pub const MODULES_LOAD: &str = "etc/modules-load.d/kboot.conf";
/// Directories that are symlinks into /usr in merged-/usr initramfs images and exist in every
/// initramfs: never written as directory entries.
pub const NO_DIR_ENTRY: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32", "var/run"];

/// Why an injection cannot be done. One sentence each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    #[error("kboot.inject= is empty: write kboot.inject=[<mode>:]/<path in the initramfs>=<URL>")]
    Empty,
    #[error("kboot.inject={0:?} has no '=<URL>' after the path: write kboot.inject=[<mode>:]/<path>=<URL>")]
    NoLocation(String),
    #[error("the mode {0:?} in kboot.inject= is not 3 or 4 octal digits (like 0644 or 755)")]
    BadMode(String),
    #[error("the initramfs path {0:?} is not absolute, or holds '..', an empty name or a character other than letters, digits and . _ - + , @ : ~ %")]
    BadPath(String),
    #[error("kboot.modules={0:?} is not a comma-separated list of module names (letters, digits, '_' and '-', up to 55 each)")]
    BadModules(String),
    #[error("{0} is written twice into the initramfs: give each kboot.inject= its own path")]
    Duplicate(String),
    #[error("kboot.inject= and kboot.modules= need an initramfs to add to: give the entry an initrd= (and no kboot.flavor=kernel)")]
    NoInitramfs,
    #[error("the module {name} is injected compressed as {path}: end the path with {name}.ko so that kboot unpacks it (the target's insmod may not read compressed modules)")]
    Compressed { name: String, path: String },
    #[error("{0} is a compressed module that kboot cannot unpack ({1}): inject it uncompressed")]
    Unpack(String, String),
    #[error("{0} is larger than 64 MiB unpacked, more than kboot injects")]
    TooBig(String),
    #[error("cannot fetch {url} for kboot.inject=: {reason}")]
    Fetch { url: String, reason: String },
    #[error("cannot build the initramfs segment: {0}")]
    Image(String),
}

/// Parse the value of `kboot.inject=`: `[<mode>:]/<path>=<location>`. The location is returned
/// as written (the caller resolves it against the config's location); the path comes back
/// relative and normalised. The mode defaults to 0644.
pub fn parse_inject(value: &str) -> Result<Inject, InjectError> {
    if value.is_empty() {
        return Err(InjectError::Empty);
    }
    let (mode, rest) = if value.starts_with('/') {
        (0o644, value)
    } else {
        let Some((m, rest)) = value.split_once(':') else {
            return Err(InjectError::BadPath(value.chars().take(80).collect()));
        };
        (parse_mode(m)?, rest)
    };
    let Some((path, location)) = rest.split_once('=') else {
        return Err(InjectError::NoLocation(value.chars().take(80).collect()));
    };
    if location.is_empty() {
        return Err(InjectError::NoLocation(value.chars().take(80).collect()));
    }
    Ok(Inject {
        path: normalise_path(path)?,
        url: location.to_string(),
        mode,
    })
}

fn parse_mode(m: &str) -> Result<u32, InjectError> {
    let ok = (3..=4).contains(&m.len()) && m.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match ok.then(|| u32::from_str_radix(m, 8).ok()).flatten() {
        Some(mode) => Ok(mode),
        None => Err(InjectError::BadMode(m.chars().take(20).collect())),
    }
}

/// `/a/b.ko` → `a/b.ko`. Absolute, no `.`/`..`/empty components, a conservative character
/// set (the path goes into shell scripts), at most [`MAX_PATH`] bytes, and not one of the
/// directories in [`NO_DIR_ENTRY`] itself.
pub fn normalise_path(path: &str) -> Result<String, InjectError> {
    let bad = || InjectError::BadPath(path.chars().take(80).collect());
    let rel = path.strip_prefix('/').ok_or_else(bad)?;
    if rel.is_empty() || rel.len() > MAX_PATH || NO_DIR_ENTRY.contains(&rel) {
        return Err(bad());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-+,@:~%".contains(c);
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." || !part.chars().all(allowed) {
            return Err(bad());
        }
    }
    Ok(rel.to_string())
}

/// Parse the value of `kboot.modules=`: `name[,name...]`.
pub fn parse_modules(value: &str) -> Result<Vec<String>, InjectError> {
    let bad = || InjectError::BadModules(value.chars().take(80).collect());
    let mut out = Vec::new();
    for name in value.split(',') {
        let ok = !name.is_empty()
            && name.len() <= MAX_MODULE_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(bad());
        }
        out.push(name.to_string());
    }
    Ok(out)
}

/// One file of the appended segment.
#[derive(Clone, PartialEq, Eq)]
pub struct InitrdFile {
    /// Relative path inside the initramfs.
    pub path: String,
    pub mode: u32,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for InitrdFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The data may be a secret: never printed.
        write!(
            f,
            "{} ({:o}, {} bytes)",
            self.path,
            self.mode,
            self.data.len()
        )
    }
}

/// The content to store for an injected file: a module compressed with xz, zstd or gzip is
/// unpacked when its initramfs path ends in `.ko` (the target's insmod, klibc's in
/// initramfs-tools, reads plain modules only); anything else is kept as it is.
pub fn prepare(path: &str, data: Vec<u8>) -> Result<Vec<u8>, InjectError> {
    use crate::boot::initrd::Compression;
    if data.len() as u64 > MAX_FILE {
        return Err(InjectError::TooBig(format!("/{path}")));
    }
    if !path.ends_with(".ko") {
        return Ok(data);
    }
    let Some(kind) = Compression::sniff(&data) else {
        return Ok(data);
    };
    let mut out = Bounded {
        data: Vec::new(),
        over: false,
    };
    let res = kind.decode(&mut &data[..], &mut out);
    if out.over {
        return Err(InjectError::TooBig(format!("/{path}")));
    }
    res.map(|()| out.data)
        .map_err(|e| InjectError::Unpack(format!("/{path}"), e.to_string()))
}

/// A `Vec` that refuses to grow past [`MAX_FILE`] (decompression bombs).
struct Bounded {
    data: Vec<u8>,
    over: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if (self.data.len() + buf.len()) as u64 > MAX_FILE {
            self.over = true;
            return Err(std::io::Error::other("too big"));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `a-b` and `a_b` are the same module; sysfs shows `a_b`.
fn module_key(name: &str) -> String {
    name.replace('-', "_")
}

/// Where each module comes from: `Some(path)` of an injected `<name>.ko`, `None` = the
/// initrd's own (modprobe by name).
fn module_sources<'a>(
    injected: &'a [InitrdFile],
    modules: &[String],
) -> Result<Vec<(String, Option<&'a str>)>, InjectError> {
    let mut out = Vec::new();
    for name in modules {
        let key = module_key(name);
        let base = |f: &'a InitrdFile| f.path.rsplit('/').next().unwrap_or(&f.path);
        let plain = injected
            .iter()
            .rev()
            .find(|f| module_key(base(f)) == format!("{key}.ko"));
        if let Some(f) = plain {
            out.push((key, Some(f.path.as_str())));
            continue;
        }
        let compressed = injected.iter().find(|f| {
            [".ko.xz", ".ko.zst", ".ko.gz"]
                .iter()
                .any(|ext| module_key(base(f)) == format!("{key}{ext}"))
        });
        if let Some(f) = compressed {
            return Err(InjectError::Compressed {
                name: name.clone(),
                path: format!("/{}", f.path),
            });
        }
        out.push((key, None));
    }
    Ok(out)
}

/// The files kboot adds for `modules` on `flavor`, given the injected files (which they may
/// name). Empty when there are no modules.
pub fn module_hooks(
    flavor: Flavor,
    injected: &[InitrdFile],
    modules: &[String],
) -> Result<Vec<InitrdFile>, InjectError> {
    if modules.is_empty() {
        return Ok(Vec::new());
    }
    let sources = module_sources(injected, modules)?;
    // dracut images made without its kernel-modules module have kmod's modprobe but no
    // insmod (Debian 12's dracut 059 with -m "base network ..."): the dracut hook brings a
    // function that calls kmod under that name.
    let insmod = match flavor {
        Flavor::Dracut => "kboot_insmod",
        _ => "insmod",
    };
    let mut lines = Vec::new();
    for (name, path) in &sources {
        lines.push(match path {
            Some(p) => format!(
                "[ -d /sys/module/{name} ] || {insmod} /{p} || echo \"kboot: cannot load the module {name} from /{p}\" >&2"
            ),
            None => format!(
                "[ -d /sys/module/{name} ] || modprobe {name} || echo \"kboot: cannot load the module {name}\" >&2"
            ),
        });
    }
    let body = lines.join("\n");
    let mut out = Vec::new();
    match flavor {
        Flavor::Kernel => return Err(InjectError::NoInitramfs),
        Flavor::InitramfsTools => out.push(InitrdFile {
            path: TOOLS_HOOK.into(),
            mode: 0o644,
            data: format!(
                "# Written by kboot (kboot.modules=): load kernel modules before the root is attached.\n\
                 # /init sources this file, and open-iscsi sources it again: load what is not loaded yet.\n\
                 {body}\n"
            )
            .into_bytes(),
        }),
        Flavor::Dracut => {
            out.push(InitrdFile {
                path: DRACUT_HOOK.into(),
                mode: 0o755,
                data: format!(
                    "#!/bin/sh\n\
                     # Written by kboot (kboot.modules=): load kernel modules before udev starts.\n\
                     {DRACUT_INSMOD}\
                     {body}\n"
                )
                .into_bytes(),
            });
            let by_name: Vec<&str> = sources
                .iter()
                .filter(|(_, p)| p.is_none())
                .map(|(n, _)| n.as_str())
                .collect();
            if !by_name.is_empty() {
                out.push(InitrdFile {
                    path: MODULES_LOAD.into(),
                    mode: 0o644,
                    data: format!(
                        "# Written by kboot (kboot.modules=); injected modules are loaded by /{DRACUT_HOOK}.\n{}\n",
                        by_name.join("\n")
                    )
                    .into_bytes(),
                });
            }
        }
    }
    Ok(out)
}

/// Everything that goes into the appended segment, in order: the root's secrets (mode 0600),
/// the injected files (fetched with `fetch`, at most [`MAX_FILE`] bytes each, and unpacked by
/// [`prepare`]) and the module hooks. Empty when there is nothing to add.
pub fn collect(
    flavor: Flavor,
    inject: &[Inject],
    modules: &[String],
    secrets: &[(String, Vec<u8>)],
    mut fetch: impl FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<InitrdFile>, InjectError> {
    if flavor == Flavor::Kernel && !(inject.is_empty() && modules.is_empty()) {
        return Err(InjectError::NoInitramfs);
    }
    let mut files: Vec<InitrdFile> = secrets
        .iter()
        .map(|(path, data)| InitrdFile {
            path: path.clone(),
            mode: 0o600,
            data: data.clone(),
        })
        .collect();
    let mut injected = Vec::with_capacity(inject.len());
    for i in inject {
        let data = fetch(&i.url).map_err(|reason| InjectError::Fetch {
            url: super::secrets::mask_value(&i.url),
            reason,
        })?;
        injected.push(InitrdFile {
            path: i.path.clone(),
            mode: i.mode,
            data: prepare(&i.path, data)?,
        });
    }
    let hooks = module_hooks(flavor, &injected, modules)?;
    files.extend(injected);
    files.extend(hooks);
    Ok(files)
}

/// One uncompressed newc segment holding `files` and their parent directories (0755), except
/// the directories in [`NO_DIR_ENTRY`]; a multiple of 4 bytes long, ending with the trailer.
pub fn segment(files: &[InitrdFile]) -> Result<Vec<u8>, InjectError> {
    let mut fs = Initramfs::default();
    let mut seen = std::collections::HashSet::new();
    for f in files {
        if !seen.insert(f.path.as_str()) {
            return Err(InjectError::Duplicate(format!("/{}", f.path)));
        }
        fs.add(&f.path, Node::File(f.data.clone()), f.mode)
            .map_err(|e: ImageError| InjectError::Image(e.to_string()))?;
    }
    for dir in NO_DIR_ENTRY {
        fs.remove_dir(dir);
    }
    fs.write_cpio(Vec::new())
        .map_err(|e| InjectError::Image(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, data: &[u8]) -> InitrdFile {
        InitrdFile {
            path: path.into(),
            mode: 0o644,
            data: data.to_vec(),
        }
    }

    /// (name, mode, data) of every member of a segment, trailer left out.
    fn members(seg: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        use std::io::Read;
        let mut out = Vec::new();
        let mut rest = seg;
        loop {
            let mut r = cpio::NewcReader::new(rest).unwrap();
            if r.entry().is_trailer() {
                return out;
            }
            let (name, mode) = (r.entry().name().to_string(), r.entry().mode());
            let mut data = Vec::new();
            r.read_to_end(&mut data).unwrap();
            out.push((name, mode, data));
            rest = r.finish().unwrap();
        }
    }

    #[test]
    fn inject_values() {
        let i = parse_inject("/lib/modules/kboot/dummy.ko=dummy.ko").unwrap();
        assert_eq!(
            (i.path.as_str(), i.url.as_str(), i.mode),
            ("lib/modules/kboot/dummy.ko", "dummy.ko", 0o644)
        );
        // The URL keeps its own '=' and ':'; the mode prefix is octal.
        let i = parse_inject("0755:/usr/bin/tool=http://h:8080/t?a=b").unwrap();
        assert_eq!(
            (i.path.as_str(), i.url.as_str(), i.mode),
            ("usr/bin/tool", "http://h:8080/t?a=b", 0o755)
        );
        assert_eq!(parse_inject("4755:/x=y").unwrap().mode, 0o4755);
        assert_eq!(parse_inject("/a:b/c@d=e").unwrap().path, "a:b/c@d");
    }

    #[test]
    fn malformed_inject_values() {
        for (v, want) in [
            ("", InjectError::Empty),
            ("/x", InjectError::NoLocation("/x".into())),
            ("/x=", InjectError::NoLocation("/x=".into())),
            ("x=y", InjectError::BadPath("x=y".into())),
            ("0644:x=y", InjectError::BadPath("x".into())),
            ("644=/x=y", InjectError::BadPath("644=/x=y".into())),
            ("0844:/x=y", InjectError::BadMode("0844".into())),
            ("64:/x=y", InjectError::BadMode("64".into())),
            ("07777:/x=y", InjectError::BadMode("07777".into())),
            (":/x=y", InjectError::BadMode("".into())),
            ("/=y", InjectError::BadPath("/".into())),
            ("/a//b=y", InjectError::BadPath("/a//b".into())),
            ("/a/../b=y", InjectError::BadPath("/a/../b".into())),
            ("/a/./b=y", InjectError::BadPath("/a/./b".into())),
            ("/a/=y", InjectError::BadPath("/a/".into())),
            ("/a b=y", InjectError::BadPath("/a b".into())),
            ("/a'b=y", InjectError::BadPath("/a'b".into())),
            ("/a$b=y", InjectError::BadPath("/a$b".into())),
            ("/a\nb=y", InjectError::BadPath("/a\nb".into())),
            ("/é=y", InjectError::BadPath("/é".into())),
            ("/lib=y", InjectError::BadPath("/lib".into())),
            ("/var/run=y", InjectError::BadPath("/var/run".into())),
        ] {
            assert_eq!(parse_inject(v), Err(want), "{v:?}");
        }
        let long = format!("/{}=y", "a".repeat(MAX_PATH + 1));
        assert!(matches!(parse_inject(&long), Err(InjectError::BadPath(_))));
        // Error texts are one sentence that says what to write.
        assert!(parse_inject("/x")
            .unwrap_err()
            .to_string()
            .contains("kboot.inject=[<mode>:]/<path>=<URL>"));
    }

    #[test]
    fn module_lists() {
        assert_eq!(parse_modules("dummy").unwrap(), vec!["dummy"]);
        assert_eq!(
            parse_modules("virtio-net,e1000e").unwrap(),
            vec!["virtio-net", "e1000e"]
        );
        for bad in ["", ",", "a,", ",a", "a,,b", "a b", "a.ko", "a/b", "é"] {
            assert!(parse_modules(bad).is_err(), "{bad:?}");
        }
        assert!(parse_modules(&"m".repeat(MAX_MODULE_NAME)).is_ok());
        assert!(parse_modules(&"m".repeat(MAX_MODULE_NAME + 1)).is_err());
    }

    #[test]
    fn hooks_per_flavour() {
        let injected = [file("lib/modules/kboot/my-drv.ko", b"\x7fELF")];
        let mods = vec!["my_drv".to_string(), "nbd".to_string()];
        let tools = module_hooks(Flavor::InitramfsTools, &injected, &mods).unwrap();
        assert_eq!(tools.len(), 1);
        assert_eq!(tools[0].path, TOOLS_HOOK);
        let text = String::from_utf8(tools[0].data.clone()).unwrap();
        assert!(text.contains(
            "\n[ -d /sys/module/my_drv ] || insmod /lib/modules/kboot/my-drv.ko || echo \"kboot: cannot load the module my_drv from /lib/modules/kboot/my-drv.ko\" >&2\n"
        ), "{text}");
        assert!(text.ends_with(
            "\n[ -d /sys/module/nbd ] || modprobe nbd || echo \"kboot: cannot load the module nbd\" >&2\n"
        ), "{text}");
        // The lines come in the order of kboot.modules=.
        assert!(text.find("my_drv").unwrap() < text.find("nbd").unwrap());

        let dracut = module_hooks(Flavor::Dracut, &injected, &mods).unwrap();
        let paths: Vec<&str> = dracut.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec![DRACUT_HOOK, MODULES_LOAD]);
        assert_eq!(dracut[0].mode, 0o755);
        assert!(dracut[0].data.starts_with(b"#!/bin/sh\n"));
        let load = String::from_utf8(dracut[1].data.clone()).unwrap();
        assert!(
            load.ends_with("\nnbd\n"),
            "only modules in the initrd: {load}"
        );
        assert!(!load.contains("\nmy_drv"));

        // Only injected modules: no modules-load.d entry.
        let only = module_hooks(Flavor::Dracut, &injected, &["my-drv".into()]).unwrap();
        assert_eq!(only.len(), 1);

        assert_eq!(
            module_hooks(Flavor::Kernel, &injected, &mods),
            Err(InjectError::NoInitramfs)
        );
        assert_eq!(module_hooks(Flavor::Kernel, &injected, &[]), Ok(vec![]));
        let xz = [file("lib/modules/x.ko.xz", b"")];
        assert!(matches!(
            module_hooks(Flavor::InitramfsTools, &xz, &["x".into()]),
            Err(InjectError::Compressed { .. })
        ));
    }

    #[test]
    fn collect_orders_secrets_files_and_hooks() {
        let inject = vec![
            parse_inject("/lib/modules/kboot/dummy.ko=tftp://h/dummy.ko").unwrap(),
            parse_inject("0755:/usr/bin/t=http://u:pw@h/t").unwrap(),
        ];
        let mods = vec!["dummy".to_string()];
        let secrets = vec![("etc/iscsi.initramfs".to_string(), b"P='x'".to_vec())];
        let mut asked = Vec::new();
        let files = collect(Flavor::InitramfsTools, &inject, &mods, &secrets, |u| {
            asked.push(u.to_string());
            Ok(u.as_bytes().to_vec())
        })
        .unwrap();
        assert_eq!(asked, vec!["tftp://h/dummy.ko", "http://u:pw@h/t"]);
        let got: Vec<(&str, u32)> = files.iter().map(|f| (f.path.as_str(), f.mode)).collect();
        assert_eq!(
            got,
            vec![
                ("etc/iscsi.initramfs", 0o600),
                ("lib/modules/kboot/dummy.ko", 0o644),
                ("usr/bin/t", 0o755),
                (TOOLS_HOOK, 0o644),
            ]
        );
        assert_eq!(files[1].data, b"tftp://h/dummy.ko");
        assert!(segment(&files).is_ok());

        // A failed fetch names the URL without its password.
        let err = collect(Flavor::Dracut, &inject[1..], &[], &[], |_| {
            Err("timed out".into())
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot fetch http://u:***@h/t for kboot.inject=: timed out"
        );
        assert_eq!(
            collect(Flavor::Kernel, &inject, &[], &[], |_| Ok(vec![])),
            Err(InjectError::NoInitramfs)
        );
        assert_eq!(
            collect(Flavor::Kernel, &[], &[], &[], |_| Ok(vec![])),
            Ok(vec![])
        );
        // A file written where kboot writes its hook is refused, not silently replaced.
        let clash = vec![parse_inject("/conf/conf.d/kboot-modules=x").unwrap()];
        let files = collect(Flavor::InitramfsTools, &clash, &mods, &[], |_| Ok(vec![])).unwrap();
        assert!(matches!(segment(&files), Err(InjectError::Duplicate(_))));
    }

    #[test]
    fn segment_contents_and_merged_usr() {
        let files = [
            InitrdFile {
                path: "lib/modules/kboot/dummy.ko".into(),
                mode: 0o644,
                data: b"module".to_vec(),
            },
            InitrdFile {
                path: TOOLS_HOOK.into(),
                mode: 0o644,
                data: b"hook\n".to_vec(),
            },
            InitrdFile {
                path: "usr/bin/tool".into(),
                mode: 0o755,
                data: b"#!".to_vec(),
            },
            InitrdFile {
                path: "etc/iscsi.initramfs".into(),
                mode: 0o600,
                data: b"X=1".to_vec(),
            },
        ];
        let seg = segment(&files).unwrap();
        assert_eq!(seg.len() % 4, 0);
        let m = members(&seg);
        let names: Vec<&str> = m.iter().map(|(n, _, _)| n.as_str()).collect();
        // No "lib" entry: in Debian 12's merged-/usr initrd it is a symlink to usr/lib, and
        // a directory entry would make the kernel delete it. Deeper parents are there.
        assert_eq!(
            names,
            vec![
                "conf",
                "conf/conf.d",
                "conf/conf.d/kboot-modules",
                "etc",
                "etc/iscsi.initramfs",
                "lib/modules",
                "lib/modules/kboot",
                "lib/modules/kboot/dummy.ko",
                "usr",
                "usr/bin",
                "usr/bin/tool",
            ]
        );
        let get = |n: &str| m.iter().find(|(x, _, _)| x == n).unwrap().clone();
        assert_eq!(get("lib/modules").1, libc::S_IFDIR | 0o755);
        assert_eq!(get("usr/bin/tool").1, libc::S_IFREG | 0o755);
        assert_eq!(get("etc/iscsi.initramfs").1, libc::S_IFREG | 0o600);
        assert_eq!(get("lib/modules/kboot/dummy.ko").2, b"module");
        // The walker kboot uses on initrds reads it as one plain segment.
        let segs = crate::boot::initrd::segments(&seg).unwrap();
        assert_eq!(segs.len(), 1);

        let twice = [file("a/b", b"1"), file("a/b", b"2")];
        assert_eq!(segment(&twice), Err(InjectError::Duplicate("/a/b".into())));
        assert!(segment(&[file("../x", b"")]).is_err());
    }

    #[test]
    fn compressed_modules_are_unpacked_for_ko_paths() {
        let plain = b"\x7fELF module body ".repeat(100);
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        };
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &plain[..], &mut xz).unwrap();
        let zst = ruzstd::encoding::compress_to_vec(
            &plain[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for packed in [&gz, &xz, &zst] {
            assert_eq!(prepare("lib/m/x.ko", packed.clone()).unwrap(), plain);
            // Kept as they are under any other name.
            assert_eq!(prepare("lib/m/x.ko.xz", packed.clone()).unwrap(), *packed);
        }
        assert_eq!(prepare("x.ko", plain.clone()).unwrap(), plain);
        let mut broken = xz.clone();
        broken.truncate(xz.len() / 2);
        assert!(matches!(
            prepare("x.ko", broken),
            Err(InjectError::Unpack(_, _))
        ));
        assert!(matches!(
            prepare("x.ko", b"BZh91AY&SY".to_vec()),
            Err(InjectError::Unpack(_, _))
        ));
    }

    #[test]
    fn decompression_bombs_are_bounded() {
        let zeros = vec![0u8; MAX_FILE as usize + 1];
        let zst = ruzstd::encoding::compress_to_vec(
            &zeros[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        drop(zeros);
        assert!(zst.len() < 1 << 20);
        assert_eq!(
            prepare("x.ko", zst),
            Err(InjectError::TooBig("/x.ko".into()))
        );
    }
}
