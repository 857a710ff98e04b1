//! CAFE's parameters: builder → validated [`super::Cafe`].

use conflux_core::{Error, Result};

use super::Cafe;

/// Which exact formulation evaluates CAFE (cafe.md §Computing it fast).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Pick the cheaper one per call: forward mode when `d < 2·targets`, else reverse.
    #[default]
    Auto,
    /// Carry every source's scores through the network (cost ∝ d + 1).
    Forward,
    /// One aggregate forward sweep and two backward sweeps per target (cost independent of d).
    Reverse,
}

/// Builder for [`Cafe`]; `build` validates once.
#[derive(Debug, Clone)]
pub struct CafeParams {
    c: Vec<f64>,
    mode: Mode,
    chunk_rows: usize,
}

impl Default for CafeParams {
    fn default() -> Self {
        CafeParams {
            c: vec![0.5],
            mode: Mode::Auto,
            chunk_rows: 128,
        }
    }
}

impl CafeParams {
    /// Defaults: `c = 0.5` (the paper's recommendation), automatic mode.
    pub fn new() -> Self {
        Self::default()
    }

    /// Conflict sensitivity `c ∈ [0, 1]`: one value for every activation layer, or one per
    /// activation layer in order. `0` reflects only observed effects; `1` also the effects of
    /// features cancelled by conflicting ones. Default `0.5`. CLI: `--c 0.5` or
    /// `--method cafe:c=0.2,0.8`.
    #[must_use]
    pub fn c(mut self, c: impl Into<Vec<f64>>) -> Self {
        self.c = c.into();
        self
    }

    /// Formulation (default [`Mode::Auto`]); both give the same scores to float precision.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Rows per parallel work item (default 128; forward mode caps it to bound memory).
    #[must_use]
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::Param`] for an empty `c`, a `c` outside `[0, 1]`, or `chunk_rows = 0`.
    pub fn build(self) -> Result<Cafe> {
        if self.c.is_empty() {
            return Err(Error::param(
                "cafe",
                "c",
                "[]",
                "expected at least one value in [0, 1]",
            ));
        }
        if let Some(bad) = self.c.iter().find(|c| !(0.0..=1.0).contains(*c)) {
            return Err(Error::param("cafe", "c", bad, "expected a value in [0, 1]"));
        }
        if self.chunk_rows == 0 {
            return Err(Error::param("cafe", "chunk_rows", 0, "expected at least 1"));
        }
        Ok(Cafe {
            c: self.c,
            mode: self.mode,
            chunk_rows: self.chunk_rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_values() {
        for c in [vec![], vec![-0.1], vec![0.5, 1.5], vec![f64::NAN]] {
            let e = CafeParams::new().c(c.clone()).build().unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Param {
                        method: "cafe",
                        name: "c",
                        ..
                    }
                ),
                "{c:?}: {e}"
            );
        }
        assert!(matches!(
            CafeParams::new().chunk_rows(0).build().unwrap_err(),
            Error::Param {
                name: "chunk_rows",
                ..
            }
        ));
        assert!(CafeParams::new().c([0.0, 1.0]).build().is_ok());
    }
}
