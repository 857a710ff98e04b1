//! Tabular data loading.

pub mod csv;
pub mod groups;
