//! What a single-score backward sweep decides at each op: the exact gradient by default, and
//! a method's own rule where it differs (DeepLIFT's multipliers, LRP's ε-normalisation). The
//! sweep itself — reverse topological order, fan-out summed — is [`Plan::backward_with`]
//! (`super::plan`); a method supplies only a [`BackwardRule`].
//!
//! [`Plan::backward_with`]: super::plan::Plan::backward_with

use super::activation::Activation;
use super::ops::layer_norm::LayerNormOp;
use super::ops::max_pool::MaxPoolOp;
use crate::float::Float;

/// Where a rule runs: node `node` of the plan, its first input tensor `input_tensor`, and the
/// forward values (at the explained inputs) of that input and of the node's output.
#[derive(Debug, Clone, Copy)]
pub struct At<'a, F> {
    /// Index of the node in [`super::plan::Plan::nodes`].
    pub node: usize,
    /// Tensor id of the node's first input.
    pub input_tensor: usize,
    /// Forward value of the first input, `[rows, size]`.
    pub input: &'a [F],
    /// Forward value of the output, `[rows, size]`.
    pub output: &'a [F],
    /// Rows.
    pub rows: usize,
}

/// A single-score backward rule. Every method defaults to the exact gradient, so a rule
/// overrides only the ops where it differs.
pub trait BackwardRule<F: Float> {
    /// The adjoint through an element-wise activation, in place (default: `g ← φ'(z)·g`).
    fn activation(&self, at: &At<F>, act: Activation, g: &mut [F]) {
        for (v, &z) in g.iter_mut().zip(at.input) {
            *v *= act.derivative(z);
        }
    }

    /// The adjoint through max pooling, from `g` (output) into `out` (input; default: to
    /// each window's first arg-max).
    fn max_pool(&self, at: &At<F>, op: &MaxPoolOp, g: &[F], out: &mut [F]) {
        op.apply_t(at.input, g, at.rows, out);
    }

    /// The adjoint through LayerNorm, from `g` into `out` (default: the full Jacobian).
    fn layer_norm(&self, at: &At<F>, op: &LayerNormOp<F>, g: &[F], out: &mut [F]) {
        op.apply_t(at.input, g, out);
    }

    /// Applied to the adjoint at a linear-type op's output (dense, convolution, pooling,
    /// per-element affine) before it is transposed (default: nothing).
    fn linear_output(&self, _at: &At<F>, _g: &mut [F]) {}

    /// Applied to the adjoint at a linear-type op's input after it is transposed (default:
    /// nothing).
    fn linear_input(&self, _at: &At<F>, _g: &mut [F]) {}

    /// A residual join `a ± b` (`at.input` is `a`, `b` the second operand): turns the sum's
    /// adjoint `g` into `a`'s in place and writes `b`'s into `gb` (default: `g` and `±g`).
    fn join(&self, _at: &At<F>, _b: &[F], sub: bool, g: &mut [F], gb: &mut [F]) {
        for (o, &v) in gb.iter_mut().zip(g.iter()) {
            *o = if sub { -v } else { v };
        }
    }
}

/// The exact gradient.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exact;

impl<F: Float> BackwardRule<F> for Exact {}
