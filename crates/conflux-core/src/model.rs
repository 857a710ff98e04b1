//! Capability traits: what an attribution method needs from a model.
//!
//! Sampling methods (Kernel SHAP, LIME, Shapley sampling, ablation) need only [`Predict`];
//! path methods (Integrated Gradients, SmoothGrad, Gradient SHAP, Saliency) need
//! [`Gradient`]. A compiled network ([`crate::Plan`]) has both; other models (AME) implement
//! what they can.

use crate::float::Float;
use crate::net::plan::Plan;

/// A model that maps `[rows, input_dim]` inputs to `[rows, output_dim]` outputs.
pub trait Predict<F: Float>: Sync {
    /// Number of inputs.
    fn input_dim(&self) -> usize;
    /// Number of outputs.
    fn output_dim(&self) -> usize;
    /// Outputs for `rows` row-major inputs.
    fn predict(&self, x: &[F], rows: usize) -> Vec<F>;
    /// Rows per block when many points are evaluated in parallel blocks (default 256).
    fn block_rows(&self) -> usize {
        256
    }
}

/// A model whose outputs can be differentiated with respect to its inputs.
pub trait Gradient<F: Float>: Predict<F> {
    /// `∂F_{t_b}/∂x_b` for every row `b` and its target `targets[b]`, `[rows, input_dim]`.
    fn gradient(&self, x: &[F], rows: usize, targets: &[usize]) -> Vec<F>;
}

impl<F: Float> Predict<F> for Plan<F> {
    fn input_dim(&self) -> usize {
        Plan::input_dim(self)
    }
    fn output_dim(&self) -> usize {
        Plan::output_dim(self)
    }
    fn predict(&self, x: &[F], rows: usize) -> Vec<F> {
        self.forward(x, rows)
    }
    /// Blocks whose widest tensor stays within a cache-sized piece (image networks hold
    /// thousands of values per row and tensor; big blocks only add page faults).
    fn block_rows(&self) -> usize {
        ((1 << 16) / self.max_width().max(1)).clamp(1, 256)
    }
}

impl<F: Float> Gradient<F> for Plan<F> {
    fn gradient(&self, x: &[F], rows: usize, targets: &[usize]) -> Vec<F> {
        let values = self.trace(x, rows);
        let n = Plan::output_dim(self);
        let mut g = vec![F::zero(); rows * n];
        for (b, &t) in targets.iter().enumerate() {
            g[b * n + t] = F::one();
        }
        self.backward(&values, rows, g)
    }
}
