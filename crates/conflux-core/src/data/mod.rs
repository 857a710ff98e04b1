//! Tabular data loading.

pub mod csv;
pub mod groups;
pub mod npy;
pub mod synthetic;
