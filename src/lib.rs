//! kboot: a kexec-based network boot loader.
//!
//! The path of one boot, module by module:
//! `init` -> `net` -> `config` (fetched through `fetch`) -> `ui` -> `fetch` -> `cmdline` -> `boot`.

pub mod boot;
pub mod cli;
pub mod cli_cmdline;
pub mod clock;
pub mod cmdline;
pub mod config;
pub mod discovery;
pub mod disk;
pub mod fetch;
pub mod hw;
pub mod image;
pub mod init;
pub mod kmsg;
pub mod meminfo;
pub mod net;
pub mod tpm;
pub mod trust;
pub mod ui;
