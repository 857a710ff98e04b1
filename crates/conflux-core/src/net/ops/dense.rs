//! A fully connected layer `z = W·a + b` (`Gemm`, `MatMul` with a constant), applied to the
//! last axis of its input: a `(…, n_in)` tensor is `outer` rows of `n_in`.

use super::{Bias, LinearMap};
use crate::float::Float;
use crate::linalg;

/// A dense layer in precision `F`, with `|W|` precomputed for sign-split propagation rules.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseOp<F> {
    /// Inputs.
    pub n_in: usize,
    /// Outputs.
    pub n_out: usize,
    /// Row-major `n_out × n_in`.
    pub w: Vec<F>,
    /// `|W|` element-wise.
    pub w_abs: Vec<F>,
    /// Bias, if any.
    pub bias: Option<Vec<F>>,
    /// `max(b, 0)`, if the layer has a bias.
    pub bias_pos: Option<Vec<F>>,
    /// `max(−b, 0)`, if the layer has a bias.
    pub bias_neg: Option<Vec<F>>,
    /// How many `n_in` vectors one row of the input holds (1 for a `(N, F)` input).
    pub outer: usize,
    /// The bias repeated for every one of the `outer` vectors.
    pub full_bias: Option<Bias<F>>,
}

impl<F: Float> DenseOp<F> {
    /// Builds the op from `f64` weights (row-major `n_out × n_in`) in precision `F`.
    pub fn new(n_out: usize, n_in: usize, w: &[f64], bias: Option<&[f64]>, outer: usize) -> Self {
        let w: Vec<F> = super::cast(w);
        let w_abs = w.iter().map(|v| v.abs()).collect();
        let bias: Option<Vec<F>> = bias.map(super::cast);
        let split = |sign: F| {
            bias.as_ref()
                .map(|b| b.iter().map(|&v| (sign * v).max(F::zero())).collect())
        };
        let full_bias = bias.as_ref().map(|b| Bias::new(b.repeat(outer)));
        DenseOp {
            n_in,
            n_out,
            w,
            w_abs,
            bias_pos: split(F::one()),
            bias_neg: split(-F::one()),
            bias,
            outer,
            full_bias,
        }
    }
}

impl<F: Float> LinearMap<F> for DenseOp<F> {
    fn n_in(&self) -> usize {
        self.outer * self.n_in
    }
    fn n_out(&self) -> usize {
        self.outer * self.n_out
    }
    fn apply(&self, x: &[F], rows: usize, abs: bool, out: &mut [F]) {
        let w = if abs { &self.w_abs } else { &self.w };
        linalg::mul_wt(x, rows * self.outer, self.n_in, w, self.n_out, out);
    }
    fn apply_t(&self, g: &[F], rows: usize, abs: bool, out: &mut [F]) {
        let w = if abs { &self.w_abs } else { &self.w };
        linalg::mul_w(g, rows * self.outer, self.n_out, w, self.n_in, out);
    }
    fn bias(&self) -> Option<&Bias<F>> {
        self.full_bias.as_ref()
    }
}
