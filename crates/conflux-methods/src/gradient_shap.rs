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

use crate::batch::{Batch, par_gradient};
use crate::method::{Attributor, Axiom, MethodId};
use crate::rng::Rng;

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
        let (d, n) = (b.d, self.samples);
        // The reference set: the given reference rows (one shared row, or one per input).
        let refs = b.r.nrows();
        let mut points = Vec::with_capacity(b.len() * n * d);
        let mut diffs = Vec::with_capacity(b.len() * n * d);
        let mut targets = Vec::with_capacity(b.len() * n);
        for (e, &row) in b.rows.iter().enumerate() {
            let mut rng = Rng::for_row(self.seed, row);
            for _ in 0..n {
                let base = if refs == 1 {
                    b.r_row(0)
                } else {
                    b.r_row(rng.below(refs))
                };
                let a = F::of(rng.uniform());
                for (&xv, &bv) in b.x_row(row).iter().zip(base) {
                    let xn = xv + F::of(self.sd * rng.normal());
                    points.push(bv + a * (xn - bv));
                    diffs.push(xn - bv);
                }
                targets.push(b.targets[e]);
            }
        }
        let g = par_gradient(model, &points, &targets, d);
        let inv = F::of(1.0 / n as f64);
        let mut scores = vec![F::zero(); b.len() * d];
        for e in 0..b.len() {
            for s in 0..n {
                let at = (e * n + s) * d;
                for f in 0..d {
                    scores[e * d + f] += inv * g[at + f] * diffs[at + f];
                }
            }
        }
        // Completeness holds only in expectation: no gap is reported.
        Ok(b.finish(scores, None))
    }
}
