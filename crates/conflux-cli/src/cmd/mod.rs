//! One module per subcommand.

pub mod bench;
pub mod conflicts;
pub mod data;
pub mod demo;
pub mod evaluate;
pub mod explain;
pub mod inspect;
pub mod train;

use anyhow::{Context, Result};
use conflux_core::Network;

use crate::cli::ModelArgs;

/// Loads `--model` (with `--arch` for safetensors).
pub fn load_model(m: &ModelArgs) -> Result<Network> {
    Ok(conflux_core::io::load_model(&m.model, m.arch.as_deref())?)
}

/// A rayon pool with `threads` workers (all cores when `None`).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    if threads == Some(0) {
        anyhow::bail!("--threads: expected at least 1, got 0");
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("starting worker threads")
}
