//! Layer-wise Relevance Propagation with the ε-rule, as Captum's defaults: on every linear
//! layer `R_i = a_i Σ_j w_ji R_j / (z_j + ε·sign(z_j))` (bias included in `z`, sign(0) = +1,
//! ε = 1e-9); relevance passes through activations unchanged; the output's relevance is its
//! value `F(x)[target]`.
//!
//! # Axioms
//! None exactly: relevance is conserved only up to what the biases and ε absorb.
//! # Cost
//! One forward and one backward pass.

use conflux_core::{Activation, Attribution, Float, Plan, Result, Target};
use ndarray::ArrayView2;

use crate::batch::Batch;
use crate::deeplift::entry_traces;
use crate::method::{Attributor, Axiom, MethodId};
use crate::propagate::scalar::{ScalarRule, backward};

/// LRP-ε.
#[derive(Debug, Clone, Copy)]
pub struct Lrp {
    /// The stabiliser ε (default 1e-9, Captum's `EpsilonRule`).
    pub epsilon: f64,
}

impl Default for Lrp {
    fn default() -> Self {
        Lrp { epsilon: 1e-9 }
    }
}

struct Epsilon(f64);

impl<F: Float> ScalarRule<F> for Epsilon {
    fn activation(&self, _act: Activation, _z: &[F], _z_ref: &[F], m: &mut [F]) {
        m.fill(F::one());
    }
    fn linear_output(&self, z: &[F], g: &mut [F]) {
        let eps = F::of(self.0);
        for (v, &zj) in g.iter_mut().zip(z) {
            let sign = if zj < F::zero() { -F::one() } else { F::one() };
            *v = *v / (zj + eps * sign);
        }
    }
    fn linear_input(&self, a: &[F], g: &mut [F]) {
        for (v, &ai) in g.iter_mut().zip(a) {
            *v *= ai;
        }
    }
}

impl<F: Float> Attributor<Plan<F>, F> for Lrp {
    fn id(&self) -> MethodId {
        MethodId::Lrp
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[]
    }
    fn attribute(
        &self,
        plan: &Plan<F>,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        plan.chain_ops("lrp")?;
        let b = Batch::new("lrp", plan, x, reference, target)?;
        let t = entry_traces(plan, &b);
        let r = backward(
            plan,
            &t.values,
            &t.ref_values,
            b.len(),
            t.seed,
            &Epsilon(self.epsilon),
        );
        let d = b.d;
        let scores = r
            .chunks_exact(d)
            .zip(&b.output)
            .flat_map(|(re, &o)| re.iter().map(move |&v| v * o))
            .collect();
        Ok(b.finish(scores, None))
    }
}
