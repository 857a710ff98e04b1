//! The ops of the graph IR, one file each. An op file holds what every method shares: its
//! forward value, its transpose (gradients and reverse sweeps) and, for linear-type ops, the
//! application of `|W|` that the sign-split rules (CAFE, DeepLIFT, LRP, RevealCancel) build
//! `W⁺`/`W⁻` from (`W± = (|W| ± W)/2`). What a method does at non-linear points lives in
//! the method's folder, not here.

pub mod affine;
pub mod conv;
pub mod dense;
pub mod gather;
pub mod layer_norm;
pub mod max_pool;
pub mod pool;
pub mod window;

use crate::float::Float;

/// A bias added to a linear-type op's output, per output element (per row), with its
/// sign-split parts `max(b, 0)` and `max(−b, 0)` precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bias<F> {
    /// The bias.
    pub value: Vec<F>,
    /// `max(b, 0)`.
    pub pos: Vec<F>,
    /// `max(−b, 0)`.
    pub neg: Vec<F>,
}

impl<F: Float> Bias<F> {
    /// Splits `value` by sign.
    pub fn new(value: Vec<F>) -> Self {
        let pos = value.iter().map(|&v| v.max(F::zero())).collect();
        let neg = value.iter().map(|&v| (-v).max(F::zero())).collect();
        Bias { value, pos, neg }
    }

    /// Adds the bias to every row of `out`.
    pub fn add_to(&self, out: &mut [F]) {
        for row in out.chunks_exact_mut(self.value.len()) {
            for (o, &b) in row.iter_mut().zip(&self.value) {
                *o += b;
            }
        }
    }
}

/// A linear-type op with constant weights `W` (per row: `n_in` inputs to `n_out` outputs)
/// and an optional bias. Everything the walks need from it: `W·x`, `|W|·x` and their
/// transposes.
pub trait LinearMap<F: Float>: Sync {
    /// Inputs per row.
    fn n_in(&self) -> usize;
    /// Outputs per row.
    fn n_out(&self) -> usize;
    /// `out = W·x` (or `|W|·x` with `abs`) for `rows` rows, without the bias; `out` is
    /// overwritten.
    fn apply(&self, x: &[F], rows: usize, abs: bool, out: &mut [F]);
    /// `out = Wᵀ·g` (or `|W|ᵀ·g`) for `rows` rows; `out` is overwritten.
    fn apply_t(&self, g: &[F], rows: usize, abs: bool, out: &mut [F]);
    /// The bias per output element, if any.
    fn bias(&self) -> Option<&Bias<F>>;
}

pub(crate) fn cast<F: Float>(v: &[f64]) -> Vec<F> {
    v.iter().map(|&x| F::of(x)).collect()
}

pub(crate) fn cast_back<F: Float>(v: &[F]) -> Vec<f64> {
    v.iter().map(|&x| x.f64()).collect()
}
