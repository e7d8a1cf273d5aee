//! Boot menu configs: the model and one parser per format.

pub mod kboot;
pub mod model;
pub mod prompt;

pub use model::{Entry, Menu};
