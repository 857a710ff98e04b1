//! `conflux data …`: dataset generators.

use std::io::Write as _;

use anyhow::{Context, Result};
use conflux_core::data::synthetic::ConflictSpec;

use crate::cli::ConflictsArgs;
use crate::output::Sink;

/// `data conflicts`.
pub fn conflicts(a: &ConflictsArgs) -> Result<()> {
    // Values are drawn up to ~10 σ and summed over d features: keep them finite.
    if a.sigma > 1e100 {
        anyhow::bail!(
            "--sigma {:e}: expected at most 1e100 (larger values overflow the generated data)",
            a.sigma
        );
    }
    // The dataset is built in memory: its size is bounded like any table held at once.
    let limits = conflux_core::Limits::current();
    // Columns: z and k (2d features), y, and the ground truth of both (2d).
    let columns = a.dim.saturating_mul(4).saturating_add(1);
    if (columns as u64).saturating_mul(a.rows as u64) > limits.data_cells {
        anyhow::bail!(
            "--rows {} × {columns} columns is more data than may be held in memory at once: {}",
            a.rows,
            conflux_core::limits::DATA_CELLS.exceeded(limits.data_cells)
        );
    }
    let spec = ConflictSpec {
        dim: a.dim,
        likelihood: a.likelihood,
        sigma: a.sigma,
        rows: a.rows,
        seed: a.seed,
    };
    let text = spec.generate().to_csv(&spec);
    let mut sink = Sink::open(a.out.as_deref())?;
    sink.write_all(text.as_bytes())
        .context("writing the dataset")?;
    sink.commit()
}
