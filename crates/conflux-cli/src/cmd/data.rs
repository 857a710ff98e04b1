//! `conflux data …`: dataset generators.

use std::io::Write as _;

use anyhow::{Context, Result};
use conflux_core::data::synthetic::ConflictSpec;

use crate::cli::ConflictsArgs;
use crate::output::Sink;

/// `data conflicts`.
pub fn conflicts(a: &ConflictsArgs) -> Result<()> {
    if a.dim == 0 {
        anyhow::bail!("--dim: expected at least 1, got 0");
    }
    if !(0.0..=1.0).contains(&a.likelihood) {
        anyhow::bail!(
            "--likelihood: expected a probability in [0, 1], got {}",
            a.likelihood
        );
    }
    if a.sigma.is_nan() || a.sigma <= 0.0 {
        anyhow::bail!(
            "--sigma: expected a positive standard deviation, got {}",
            a.sigma
        );
    }
    if a.rows == 0 {
        anyhow::bail!("--rows: expected at least 1, got 0");
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
