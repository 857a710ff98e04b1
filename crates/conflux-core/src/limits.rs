//! Resource limits for untrusted input.
//!
//! Model files and data come from other people, so every size read from a file is bounded
//! before anything is allocated for it. The limits are generous for real models and data and
//! can be raised for legitimate giants, per process with environment variables (read by
//! [`Limits::from_env`]) or, in the CLI, with the flags of the same names.
//!
//! | limit | default | environment variable | CLI flag |
//! | --- | --- | --- | --- |
//! | elements of one tensor | 2²⁸ (268 435 456) | `CONFLUX_MAX_TENSOR_ELEMENTS` | `--max-tensor-elements` |
//! | parameters of a model | 2²⁸ | `CONFLUX_MAX_PARAMETERS` | `--max-parameters` |
//! | bytes of a model file (ONNX, safetensors; JSON files: a sixteenth) | 2 GiB | `CONFLUX_MAX_MODEL_BYTES` | `--max-model-bytes` |
//! | bytes of one CSV line | 16 MiB | `CONFLUX_MAX_LINE_BYTES` | `--max-line-bytes` |
//! | cells of data held in memory at once | 2²⁸ | `CONFLUX_MAX_DATA_CELLS` | `--max-data-cells` |
//!
//! Streaming commands (`explain`) hold one block of rows at a time; commands that need the
//! whole table (training, `evaluate`, a median reference) are bounded by the last limit.

use std::sync::RwLock;

use crate::error::{Error, Result};

/// Resource limits applied by the loaders and readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum elements of one tensor (weight matrix, bias, initializer).
    pub tensor_elements: u64,
    /// Maximum parameters of one model (all tensors together).
    pub parameters: u64,
    /// Maximum size in bytes of a model file read into memory whole (ONNX, safetensors);
    /// JSON files (models, sidecars, groups) get [`Limits::json_bytes`].
    pub model_bytes: u64,
    /// Maximum bytes of one CSV line (a quoted field spanning lines counts as one line).
    pub line_bytes: u64,
    /// Maximum cells (rows × columns) of data held in memory at once.
    pub data_cells: u64,
}

/// One limit's names, for messages and parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitName {
    /// What is limited, in words ("elements per tensor").
    pub what: &'static str,
    /// The CLI flag that raises it.
    pub flag: &'static str,
    /// The environment variable that raises it.
    pub env: &'static str,
}

/// Names of [`Limits::tensor_elements`].
pub const TENSOR_ELEMENTS: LimitName = LimitName {
    what: "elements per tensor",
    flag: "--max-tensor-elements",
    env: "CONFLUX_MAX_TENSOR_ELEMENTS",
};
/// Names of [`Limits::parameters`].
pub const PARAMETERS: LimitName = LimitName {
    what: "parameters per model",
    flag: "--max-parameters",
    env: "CONFLUX_MAX_PARAMETERS",
};
/// Names of [`Limits::model_bytes`].
pub const MODEL_BYTES: LimitName = LimitName {
    what: "bytes per model file",
    flag: "--max-model-bytes",
    env: "CONFLUX_MAX_MODEL_BYTES",
};
/// Names of [`Limits::line_bytes`].
pub const LINE_BYTES: LimitName = LimitName {
    what: "bytes per CSV line",
    flag: "--max-line-bytes",
    env: "CONFLUX_MAX_LINE_BYTES",
};
/// Names of [`Limits::data_cells`].
pub const DATA_CELLS: LimitName = LimitName {
    what: "data cells in memory",
    flag: "--max-data-cells",
    env: "CONFLUX_MAX_DATA_CELLS",
};

impl LimitName {
    /// "the limit is N `what` (raise it with FLAG or ENV)", for the end of an error message.
    pub fn exceeded(&self, limit: u64) -> String {
        format!(
            "the limit is {limit} {} (raise it with {} or {})",
            self.what, self.flag, self.env
        )
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

static CURRENT: RwLock<Option<Limits>> = RwLock::new(None);

impl Limits {
    /// The built-in defaults (see the module table).
    pub const DEFAULT: Limits = Limits {
        tensor_elements: 1 << 28,
        parameters: 1 << 28,
        model_bytes: 2 << 30,
        line_bytes: 16 << 20,
        data_cells: 1 << 28,
    };

    /// No limit at all (for code that builds models itself, and for tests).
    pub const NONE: Limits = Limits {
        tensor_elements: u64::MAX,
        parameters: u64::MAX,
        model_bytes: u64::MAX,
        line_bytes: u64::MAX,
        data_cells: u64::MAX,
    };

    /// The defaults with every `CONFLUX_MAX_*` environment variable that is set applied.
    ///
    /// # Errors
    /// [`Error::Param`] naming the variable when one is set to anything but a positive integer.
    pub fn from_env() -> Result<Self> {
        let mut l = Limits::DEFAULT;
        for (name, slot) in l.slots() {
            if let Some(v) = std::env::var_os(name.env) {
                let s = v.to_string_lossy();
                *slot = parse_limit(&s).map_err(|reason| {
                    Error::param("environment", name.env, crate::error::quote(&s), reason)
                })?;
            }
        }
        Ok(l)
    }

    /// The limits and their names, for parsing and overriding one by one.
    pub fn slots(&mut self) -> [(LimitName, &mut u64); 5] {
        [
            (TENSOR_ELEMENTS, &mut self.tensor_elements),
            (PARAMETERS, &mut self.parameters),
            (MODEL_BYTES, &mut self.model_bytes),
            (LINE_BYTES, &mut self.line_bytes),
            (DATA_CELLS, &mut self.data_cells),
        ]
    }

    /// The limits in force: those passed to [`Limits::set_current`], else the defaults with
    /// valid `CONFLUX_MAX_*` environment variables applied.
    pub fn current() -> Limits {
        let set = *CURRENT
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        set.unwrap_or_else(|| Limits::from_env().unwrap_or_default())
    }

    /// Sets the limits used by every loader of this process from now on (the CLI calls this
    /// once, after reading its flags).
    pub fn set_current(limits: Limits) {
        *CURRENT
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(limits);
    }

    /// Maximum size of a JSON file (model, AME, sidecar, groups): a sixteenth of
    /// [`Limits::model_bytes`], because its parse tree takes up to sixteen times the text
    /// (a one-digit number and its comma become a 32-byte value).
    pub fn json_bytes(&self) -> u64 {
        self.model_bytes / 16
    }

    /// Checks one tensor's element count: `dims` multiplied with checked arithmetic.
    ///
    /// # Errors
    /// A message (for the caller's error variant) when the product overflows or exceeds
    /// [`Limits::tensor_elements`].
    pub(crate) fn check_tensor(&self, dims: &[u64]) -> std::result::Result<usize, String> {
        let count = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&c| c <= self.tensor_elements)
            .ok_or_else(|| {
                format!(
                    "dims {} hold more elements than allowed: {}",
                    crate::error::quote(&format!("{dims:?}")),
                    TENSOR_ELEMENTS.exceeded(self.tensor_elements)
                )
            })?;
        usize::try_from(count).map_err(|_| format!("dims {dims:?} do not fit in memory"))
    }

    /// Checks a model's total parameter count.
    ///
    /// # Errors
    /// A message when `total` exceeds [`Limits::parameters`].
    pub fn check_parameters(&self, total: u64) -> std::result::Result<(), String> {
        if total > self.parameters {
            return Err(format!(
                "the model has {total} parameters: {}",
                PARAMETERS.exceeded(self.parameters)
            ));
        }
        Ok(())
    }
}

/// Parses a limit: a positive integer, optionally with a binary suffix `K`, `M`, `G` or `T`
/// (`16M` = 16 × 2²⁰).
///
/// # Errors
/// A message saying what was expected.
pub fn parse_limit(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 10),
        Some('m' | 'M') => (&t[..t.len() - 1], 20),
        Some('g' | 'G') => (&t[..t.len() - 1], 30),
        Some('t' | 'T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let expected = "expected a positive integer, optionally with K, M, G or T (×1024ⁿ)";
    let n: u64 = digits.parse().map_err(|_| expected.to_string())?;
    if n == 0 {
        return Err(expected.into());
    }
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{expected}; got a value beyond 2⁶⁴"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_products_are_checked() {
        let l = Limits::DEFAULT;
        assert_eq!(l.check_tensor(&[3, 4]), Ok(12));
        assert_eq!(l.check_tensor(&[]), Ok(1));
        assert_eq!(l.check_tensor(&[0, 1 << 40]), Ok(0));
        // 2^32 · 2^32 wraps to 0 in u64 arithmetic without the check.
        let e = l.check_tensor(&[1 << 32, 1 << 32]).unwrap_err();
        assert!(e.contains("--max-tensor-elements"), "{e}");
        let e = l.check_tensor(&[1 << 20, 1 << 9]).unwrap_err();
        assert!(e.contains("268435456 elements per tensor"), "{e}");
        assert_eq!(Limits::NONE.check_tensor(&[1 << 20, 1 << 9]), Ok(1 << 29));
        assert!(l.check_parameters(1 << 28).is_ok());
        assert!(l.check_parameters((1 << 28) + 1).is_err());
    }

    #[test]
    fn limits_parse_with_suffixes() {
        assert_eq!(parse_limit("123"), Ok(123));
        assert_eq!(parse_limit("16M"), Ok(16 << 20));
        assert_eq!(parse_limit("2g"), Ok(2 << 30));
        assert_eq!(parse_limit("1k"), Ok(1024));
        for bad in ["0", "-1", "", "M", "1.5G", "abc", "99999999999T"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }
}
