//! Tabular data loading.

pub mod csv;
