//! Tabular data loading.

pub mod csv;
pub mod groups;
pub mod synthetic;
