//! Boot menu configs: the model and one parser per format.

pub mod bls;
pub mod detect;
pub mod disks;
pub mod grub;
pub mod grub_device;
pub mod grubenv;
pub mod include;
pub mod ipxe;
pub mod kboot;
pub mod load;
pub mod model;
pub mod os_release;
pub mod parse;
pub mod prompt;
pub mod pxelinux;

pub use model::{Entry, Menu};

/// At most 60 characters of `s` (then `…`), for warnings and messages that quote a config.
pub(crate) fn snippet(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}
