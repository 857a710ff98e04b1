//! DeepLIFT (Shrikumar et al. 2017), Rescale rule, on any graph: each nonlinearity's
//! multiplier is `Δy/Δz` against the reference (the full network, biases kept, at `r`), or
//! the gradient at the input where `|Δz| < 1e-10` (as Captum); max pooling and LayerNorm as
//! graph.md states (the `rescale` module); attributions are `(x − r) ⊙` the back-propagated
//! multipliers. RevealCancel is in [`reveal_cancel`].
//!
//! # Axioms
//! Completeness (summation-to-delta: Σ = F(x) − F(r), with every LayerNorm frozen at `x` in
//! `F(r)` where the graph has one), missingness, linearity of the final layer.
//! # Cost
//! Two forward passes (input and reference) and one backward pass per target.

mod rescale;
pub mod reveal_cancel;

use conflux_core::{Attribution, Float, Plan, Result, Target};
use ndarray::ArrayView2;

pub use reveal_cancel::RevealCancel;

use crate::batch::Batch;
use crate::method::{Attributor, Axiom, MethodId};
use crate::propagate::scalar::backward;
use rescale::Rescale;

/// DeepLIFT with the Rescale rule.
#[derive(Debug, Clone, Copy)]
pub struct DeepLift {
    /// Below this |Δz| the gradient at the input is used (Captum's `eps`, 1e-10).
    pub eps: f64,
}

impl Default for DeepLift {
    fn default() -> Self {
        DeepLift { eps: 1e-10 }
    }
}

impl<F: Float> Attributor<Plan<F>, F> for DeepLift {
    fn id(&self) -> MethodId {
        MethodId::DeepLift
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[Axiom::Completeness, Axiom::Missingness]
    }
    fn attribute(
        &self,
        plan: &Plan<F>,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        let b = Batch::new("deeplift", plan, x, reference, target)?;
        let eps = F::of(self.eps);
        let (mut scores, base, _) =
            backward(plan, &b, true, |traces| Rescale { eps, traces }, |_| ());
        let d = b.d;
        for (e, &row) in b.rows.iter().enumerate() {
            for ((s, &xv), &rv) in scores[e * d..(e + 1) * d]
                .iter_mut()
                .zip(b.x_row(row))
                .zip(b.r_row(row))
            {
                *s *= xv - rv;
            }
        }
        Ok(b.finish(scores, Some(base)))
    }
}
