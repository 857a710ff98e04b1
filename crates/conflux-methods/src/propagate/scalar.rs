//! The backward walk of single-score propagation methods (DeepLIFT Rescale, LRP): a gradient
//! pass in which each activation's derivative is replaced by the rule's multiplier and linear
//! layers may be wrapped by the rule (LRP's ε-normalisation). Sign-split methods (CAFE) use
//! [`super::walk`].

use conflux_core::{Activation, Float, Op, Plan, linalg};

/// What a single-score propagation rule decides.
pub trait ScalarRule<F: Float>: Sync {
    /// Multipliers replacing `φ'` for one activation layer: pre-activations at the input
    /// `z` and at the reference `z_ref` (both `[rows, width]`), into `m`.
    fn activation(&self, act: Activation, z: &[F], z_ref: &[F], m: &mut [F]);
    /// Applied to the adjoint at a linear layer's output `z` before transposing (default:
    /// nothing).
    fn linear_output(&self, _z: &[F], _g: &mut [F]) {}
    /// Applied to the adjoint at a linear layer's input `a` after transposing (default:
    /// nothing).
    fn linear_input(&self, _a: &[F], _g: &mut [F]) {}
}

/// Walks the adjoint `g` (`[rows, outputs]`) back to the input. `values` and `ref_values`
/// are [`Plan::trace`]s at the inputs and at their references (same row count).
pub fn backward<F: Float, R: ScalarRule<F>>(
    plan: &Plan<F>,
    values: &[Vec<F>],
    ref_values: &[Vec<F>],
    rows: usize,
    mut g: Vec<F>,
    rule: &R,
) -> Vec<F> {
    for (k, op) in plan.nodes().iter().map(|n| &n.op).enumerate().rev() {
        match op {
            Op::Dense(d) => {
                rule.linear_output(&values[k + 1], &mut g);
                let mut next = vec![F::zero(); rows * d.n_in];
                linalg::mul_w(&g, rows, d.n_out, &d.w, d.n_in, &mut next);
                g = next;
                rule.linear_input(&values[k], &mut g);
            }
            Op::Affine(a) => {
                rule.linear_output(&values[k + 1], &mut g);
                for row in g.chunks_exact_mut(a.scale.len()) {
                    for (v, &s) in row.iter_mut().zip(&a.scale) {
                        *v *= s;
                    }
                }
                rule.linear_input(&values[k], &mut g);
            }
            Op::Act { act, .. } => {
                let act = *act;
                let mut m = vec![F::zero(); g.len()];
                rule.activation(act, &values[k], &ref_values[k], &mut m);
                for (v, &mv) in g.iter_mut().zip(&m) {
                    *v *= mv;
                }
            }
            // Graph ops: callers run `Plan::chain_ops` first.
            _ => unreachable!("checked by Plan::chain_ops"),
        }
    }
    g
}
