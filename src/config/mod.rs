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
