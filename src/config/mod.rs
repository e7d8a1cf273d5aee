//! Boot menu configs: the model and one parser per format.

pub mod bls;
pub mod grub;
pub mod include;
pub mod ipxe;
pub mod kboot;
pub mod model;
pub mod prompt;
pub mod pxelinux;

pub use model::{Entry, Menu};
