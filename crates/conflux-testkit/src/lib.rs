//! Test helpers for conflux (not published): golden vectors, tolerance assertions, proptest
//! strategies for random networks, and literal (slow) reference implementations of the
//! specs to test the fast code against.

pub mod assert;
pub mod fixtures;
pub mod golden;
pub mod graphs;
pub mod json;
pub mod npy;
pub mod onnx;
pub mod reference;
pub mod strategies;

/// The repository root (tests read fixtures from it, never from outside the repo).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
