//! Gradient SHAP (expected gradients; Captum `GradientShap`): for each of `samples` draws, a
//! baseline from the reference set, the input with `N(0, sd²)` noise (Captum adds the noise to
//! the input; default sd = 0), a uniform point on the segment between them, and
//! `(x̃ − baseline) ⊙ ∇F(point)`; averaged. Defaults n = 5, sd = 0 (Captum's).
//!
//! # Axioms
//! Completeness only in expectation (no gap reported). # Cost
//! `samples` backward passes per row.

use conflux_core::{Attribution, Error, Float, Gradient, Result, Target};
use ndarray::ArrayView2;

use crate::batch::{Batch, mean_sampled_gradients};
use crate::method::{Attributor, Axiom, MethodId};

/// Gradient SHAP.
#[derive(Debug, Clone, Copy)]
pub struct GradientShap {
    /// Draws per row.
    pub samples: usize,
    /// Input noise standard deviation.
    pub sd: f64,
    /// Random seed (per-row streams).
    pub seed: u64,
}

impl Default for GradientShap {
    fn default() -> Self {
        GradientShap {
            samples: 5,
            sd: 0.0,
            seed: 0,
        }
    }
}

impl<F: Float, M: Gradient<F>> Attributor<M, F> for GradientShap {
    fn id(&self) -> MethodId {
        MethodId::GradientShap
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[]
    }
    fn attribute(
        &self,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        if self.samples == 0 || self.sd.is_nan() || self.sd < 0.0 {
            return Err(Error::param(
                "gradient-shap",
                "n",
                self.samples,
                "expected n ≥ 1 and sd ≥ 0",
            ));
        }
        let b = Batch::new("gradient-shap", model, x, reference, target)?;
        // The reference set: the given reference rows (one shared row, or one per input).
        let refs = b.r.nrows();
        let scores =
            mean_sampled_gradients(model, &b, self.samples, self.seed, |row, rng, p, m| {
                let base = if refs == 1 {
                    b.r_row(0)
                } else {
                    b.r_row(rng.below(refs))
                };
                let a = F::of(rng.uniform());
                for (&xv, &bv) in b.x_row(row).iter().zip(base) {
                    let xn = xv + F::of(self.sd * rng.normal());
                    p.push(bv + a * (xn - bv));
                    m.push(xn - bv);
                }
            });
        // Completeness holds only in expectation: no gap is reported.
        Ok(b.finish(scores, None))
    }
}
