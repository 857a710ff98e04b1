//! DeepLIFT (Shrikumar et al. 2017), Rescale rule, as Captum computes it: each
//! nonlinearity's multiplier is `Δy/Δz` against the reference (the full network, biases
//! kept, at `r`), or the gradient at the input where `|Δz| < 1e-10`; attributions are
//! `(x − r) ⊙` the back-propagated multipliers. RevealCancel is in [`reveal_cancel`].
//!
//! # Axioms
//! Completeness (summation-to-delta: Σ = F(x) − F(r)), missingness, linearity of the final
//! layer.
//! # Cost
//! Two forward passes (input and reference) and one backward pass per target.

pub mod reveal_cancel;

use conflux_core::{Activation, Attribution, Float, Plan, Result, Target};
use ndarray::ArrayView2;

pub use reveal_cancel::RevealCancel;

use crate::batch::Batch;
use crate::ig::baseline_outputs;
use crate::method::{Attributor, Axiom, MethodId};
use crate::propagate::scalar::{ScalarRule, backward};

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

struct Rescale {
    eps: f64,
}

impl<F: Float> ScalarRule<F> for Rescale {
    fn activation(&self, act: Activation, z: &[F], z_ref: &[F], m: &mut [F]) {
        let eps = F::of(self.eps);
        for ((mv, &zx), &zr) in m.iter_mut().zip(z).zip(z_ref) {
            let dz = zx - zr;
            *mv = if dz.abs() < eps {
                act.derivative(zx)
            } else {
                (act.apply(zx) - act.apply(zr)) / dz
            };
        }
    }
}

/// The traces at the entries' inputs and references, and the one-hot adjoints at their
/// targets.
pub(crate) struct EntryTraces<F> {
    pub values: Vec<Vec<F>>,
    pub ref_values: Vec<Vec<F>>,
    pub seed: Vec<F>,
}

pub(crate) fn entry_traces<F: Float>(plan: &Plan<F>, b: &Batch<F>) -> EntryTraces<F> {
    let e = b.len();
    let xs: Vec<F> = b.rows.iter().flat_map(|&r| b.x_row(r).to_vec()).collect();
    let rs: Vec<F> = b.rows.iter().flat_map(|&r| b.r_row(r).to_vec()).collect();
    let n = plan.output_dim();
    let mut seed = vec![F::zero(); e * n];
    for (i, &t) in b.targets.iter().enumerate() {
        seed[i * n + t] = F::one();
    }
    EntryTraces {
        values: plan.trace(&xs, e),
        ref_values: plan.trace(&rs, e),
        seed,
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
        plan.chain_ops("deeplift")?;
        let b = Batch::new("deeplift", plan, x, reference, target)?;
        let t = entry_traces(plan, &b);
        let m = backward(
            plan,
            &t.values,
            &t.ref_values,
            b.len(),
            t.seed,
            &Rescale { eps: self.eps },
        );
        let d = b.d;
        let mut scores = m;
        for (e, &row) in b.rows.iter().enumerate() {
            for ((s, &xv), &rv) in scores[e * d..(e + 1) * d]
                .iter_mut()
                .zip(b.x_row(row))
                .zip(b.r_row(row))
            {
                *s *= xv - rv;
            }
        }
        let base = baseline_outputs(plan, &b);
        Ok(b.finish(scores, Some(base)))
    }
}
