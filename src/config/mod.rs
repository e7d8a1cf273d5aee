//! Boot menu configs: the model and one parser per format.

pub mod include;
pub mod kboot;
pub mod model;
pub mod prompt;

pub use model::{Entry, Menu};
