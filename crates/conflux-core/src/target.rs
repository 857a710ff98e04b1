//! Which output neuron(s) to explain (interface.md §Targets).

use crate::error::{Error, Result};

/// The output(s) an attribution explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// The arg-max output of each row (output 0 for a single-output model).
    #[default]
    Predicted,
    /// One output, 0-based.
    Index(usize),
    /// Every output (one result per input row and output).
    All,
}

impl Target {
    /// Checks an explicit index against the model's output count.
    ///
    /// # Errors
    /// [`Error::Param`] when the index is out of range.
    pub fn validate(&self, outputs: usize) -> Result<()> {
        match *self {
            Target::Index(i) if i >= outputs => Err(Error::param(
                "explain",
                "target",
                i,
                format!(
                    "expected an output index in 0..{outputs} (the model has {outputs} output(s))"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The targets of one row given its outputs (logits).
    pub fn resolve<F: crate::Float>(&self, outputs: &[F]) -> Vec<usize> {
        match *self {
            Target::Index(i) => vec![i],
            Target::All => (0..outputs.len()).collect(),
            Target::Predicted => {
                let mut best = 0;
                for (i, v) in outputs.iter().enumerate() {
                    if *v > outputs[best] {
                        best = i;
                    }
                }
                vec![best]
            }
        }
    }

    /// Targets per row for a model with `outputs` outputs (1 unless [`Target::All`]).
    pub fn per_row(&self, outputs: usize) -> usize {
        match self {
            Target::All => outputs,
            _ => 1,
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "predicted" => Ok(Target::Predicted),
            "all" => Ok(Target::All),
            n => n.parse::<usize>().map(Target::Index).map_err(|_| {
                format!("expected 'predicted', 'all' or an output index (0-based), got '{n}'")
            }),
        }
    }
}
