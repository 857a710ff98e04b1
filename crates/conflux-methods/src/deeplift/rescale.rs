//! DeepLIFT's Rescale rule at the non-linear points of a graph (graph.md §Other methods):
//! every element-wise activation by `Δy/Δz` (the gradient at the input where
//! `|Δz| < eps`, as Captum), max pooling by CAFE's two-candidate split (exact, where
//! Captum's rule is disabled by a preceding ReLU), LayerNorm as its gate frozen at the input.
//! Linear-type, structural and residual ops are linear: the walk's default (gradient).

use conflux_core::net::backward::{At, BackwardRule};
use conflux_core::net::plan::{LayerNormOp, MaxPoolOp};
use conflux_core::{Activation, Float};

use crate::cafe::max_pool::choice;
use crate::propagate::scalar::Traces;

/// The Rescale rule for one block of entries.
pub(super) struct Rescale<F> {
    /// Below this `|Δz|` the gradient at the input is used.
    pub eps: F,
    /// The block's reference traces.
    pub traces: Traces<F>,
}

impl<F: Float> BackwardRule<F> for Rescale<F> {
    fn activation(&self, at: &At<F>, act: Activation, g: &mut [F]) {
        let (z_ref, y_ref) = (
            &self.traces.refs[at.input_tensor],
            &self.traces.refs[at.node + 1],
        );
        for ((((v, &z), &zr), &y), &yr) in g
            .iter_mut()
            .zip(at.input)
            .zip(z_ref)
            .zip(at.output)
            .zip(y_ref)
        {
            let dz = z - zr;
            *v *= if dz.abs() < self.eps || dz == F::zero() {
                act.derivative(z)
            } else {
                (y - yr) / dz
            };
        }
    }

    fn max_pool(&self, at: &At<F>, op: &MaxPoolOp, g: &[F], out: &mut [F]) {
        let (n_in, n_out) = (op.n_in, op.n_out());
        let refs = &self.traces.refs[at.input_tensor];
        // The values come from exact forward passes: no propagated rounding to tolerate.
        let mass = vec![F::zero(); n_in];
        out[..at.rows * n_in].fill(F::zero());
        for r in 0..at.rows {
            let (xr, rr) = (
                &at.input[r * n_in..(r + 1) * n_in],
                &refs[r * n_in..(r + 1) * n_in],
            );
            let o = &mut out[r * n_in..(r + 1) * n_in];
            for j in 0..n_out {
                let c = choice(rr, xr, &mass, op.window(j));
                let gj = g[r * n_out + j];
                o[c.i_r as usize] += c.m_r * gj;
                o[c.i_x as usize] += c.m_x * gj;
            }
        }
    }

    fn layer_norm(&self, at: &At<F>, _op: &LayerNormOp<F>, g: &[F], out: &mut [F]) {
        let (w, _) = self.traces.gates[at.node]
            .as_ref()
            .expect("gates of every LayerNorm");
        for ((o, &gv), &wv) in out.iter_mut().zip(g).zip(w) {
            *o = gv * wv;
        }
    }
}
