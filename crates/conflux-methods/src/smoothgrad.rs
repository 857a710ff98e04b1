//! SmoothGrad (Smilkov et al. 2017) as Captum's `NoiseTunnel(Saliency)`: the mean gradient
//! over `samples` noisy copies `x + N(0, sd²)` (defaults 5 and 1.0, Captum's); with
//! `multiply_by_inputs` the mean of `x̃ ⊙ ∇F(x̃)` instead (NoiseTunnel over Gradient × Input).
//!
//! # Axioms
//! None. # Cost
//! `samples` backward passes per row.

use conflux_core::{Attribution, Error, Float, Gradient, Result, Target};
use ndarray::ArrayView2;

use crate::batch::{Batch, mean_sampled_gradients};
use crate::method::{Attributor, Axiom, MethodId};

/// SmoothGrad.
#[derive(Debug, Clone, Copy)]
pub struct SmoothGrad {
    /// Noisy copies per row.
    pub samples: usize,
    /// Noise standard deviation (absolute, in the network's input space).
    pub sd: f64,
    /// Average `x̃ ⊙ ∇F(x̃)` instead of `∇F(x̃)`.
    pub multiply_by_inputs: bool,
    /// Random seed (per-row streams).
    pub seed: u64,
}

impl Default for SmoothGrad {
    fn default() -> Self {
        SmoothGrad {
            samples: 5,
            sd: 1.0,
            multiply_by_inputs: false,
            seed: 0,
        }
    }
}

impl<F: Float, M: Gradient<F>> Attributor<M, F> for SmoothGrad {
    fn id(&self) -> MethodId {
        MethodId::SmoothGrad
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
                "smoothgrad",
                "n",
                self.samples,
                "expected n ≥ 1 and sd ≥ 0",
            ));
        }
        let b = Batch::new("smoothgrad", model, x, reference, target)?;
        let scores =
            mean_sampled_gradients(model, &b, self.samples, self.seed, |row, rng, p, m| {
                for &v in b.x_row(row) {
                    let xn = v + F::of(self.sd * rng.normal());
                    p.push(xn);
                    m.push(if self.multiply_by_inputs {
                        xn
                    } else {
                        F::one()
                    });
                }
            });
        Ok(b.finish(scores, None))
    }
}
