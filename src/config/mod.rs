//! Boot menu configs: the model and one parser per format.

pub mod model;

pub use model::{Entry, Menu};
