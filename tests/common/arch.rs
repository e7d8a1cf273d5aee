//! The architecture a guest runs: which QEMU, machine, serial console and `out/` folder.
//! x86_64 is QEMU's default PC; aarch64 is `-M virt` with a Cortex-A57 (TCG), its PL011 UART
//! the console (ttyAMA0), its images from `qemu/build --arch aarch64` in out/aarch64.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arch {
    #[default]
    X86_64,
    Aarch64,
}

impl Arch {
    /// The folder under out/ and the name qemu/build takes (`--arch`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    pub fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
        }
    }

    /// Debian's package with that QEMU, for the error when it is missing.
    pub fn qemu_package(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86",
            Arch::Aarch64 => "qemu-system-arm",
        }
    }

    /// The serial console's name on kboot's command line.
    pub fn console(self) -> &'static str {
        match self {
            Arch::X86_64 => "ttyS0",
            Arch::Aarch64 => "ttyAMA0",
        }
    }

    /// The machine when the test names none.
    pub fn default_machine(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[],
            Arch::Aarch64 => &["-M", "virt", "-cpu", "cortex-a57"],
        }
    }

    /// kboot's kernel alone and the payload (initramfs embedded) under out/<arch>/.
    pub fn kernel(self) -> &'static str {
        match self {
            Arch::X86_64 => "bzImage",
            Arch::Aarch64 => "Image",
        }
    }

    pub fn payload(self) -> &'static str {
        match self {
            Arch::X86_64 => "kboot.bzImage",
            Arch::Aarch64 => "kboot.Image",
        }
    }

    /// A file under out/<arch>/ that `qemu/build [--arch aarch64]` makes; fails the test with
    /// what to run when it is missing.
    pub fn built(self, name: &str) -> PathBuf {
        let p = super::repo().join("out").join(self.name()).join(name);
        let build = match self {
            Arch::X86_64 => "qemu/build",
            Arch::Aarch64 => "qemu/build --arch aarch64",
        };
        assert!(
            p.exists(),
            "{} is missing: run {build} first (the README's test command does)",
            p.display()
        );
        p
    }
    /// A fresh TFTP folder for one test: kboot's kernel as a target (`bzImage-kboot` or
    /// `Image-kboot`), the demo initrd, on arm64 Debian's arm64 kernel (`vmlinuz-debian`: the
    /// x86 tests boot kboot's own kernel as their target), and `conf` written as `conf_name`.
    pub fn tftp_folder(self, test: &str, conf_name: &str, conf: &str) -> PathBuf {
        let prefix = match self {
            Arch::X86_64 => "kboot-e2e".to_string(),
            _ => format!("kboot-e2e-{}", self.name()),
        };
        let dir = std::env::temp_dir().join(format!("{prefix}-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut files = vec![
            (self.kernel(), format!("{}-kboot", self.kernel())),
            ("demo-initrd.cpio.gz", "demo-initrd.cpio.gz".into()),
        ];
        if self == Arch::Aarch64 {
            files.push(("tftp/vmlinuz-debian", "vmlinuz-debian".into()));
        }
        for (from, to) in files {
            std::fs::copy(self.built(from), dir.join(to)).unwrap();
        }
        let conf_path = dir.join(conf_name);
        std::fs::create_dir_all(conf_path.parent().unwrap()).unwrap();
        std::fs::write(conf_path, conf).unwrap();
        dir
    }
}
