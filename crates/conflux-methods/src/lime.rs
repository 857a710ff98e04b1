//! LIME (Ribeiro et al. 2016) as Captum's `Lime` defaults: `samples` binary coalitions with
//! each feature group present with probability ½, weighted by the exponential kernel on the
//! cosine distance between the input and the perturbed input (`exp(−d²/(2·width²))`, width
//! 1), and a weighted linear surrogate — least squares with intercept by default (exact on
//! linear models), or Captum's `Lasso(α)`.
//!
//! # Axioms
//! None exactly (a local surrogate); recovers `w ⊙ (x − r)` on linear models.
//! # Cost
//! `samples` forward passes per row (default 50).

use conflux_core::{Attribution, Error, FeatureGroups, Float, Predict, Result, Target};
use ndarray::ArrayView2;

use crate::batch::{Batch, per_entry};
use crate::kernel_shap::check_groups;
use crate::method::{Attributor, Axiom, MethodId};
use crate::rng::Rng;
use crate::surrogate::{groups_or_singletons, masked_inputs, solve, spread, values};

/// The surrogate model fitted to the samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Surrogate {
    /// Weighted least squares with intercept (default).
    LeastSquares,
    /// Weighted Lasso with intercept and penalty `alpha` (Captum's default surrogate, 0.01).
    Lasso {
        /// L1 penalty.
        alpha: f64,
    },
}

/// LIME.
#[derive(Debug, Clone)]
pub struct Lime {
    /// Perturbed samples per row (default 50, Captum's).
    pub samples: usize,
    /// Width of the exponential kernel (default 1).
    pub kernel_width: f64,
    /// The surrogate.
    pub surrogate: Surrogate,
    /// Random seed (per-row streams).
    pub seed: u64,
    /// Feature groups (default: one per feature).
    pub groups: Option<FeatureGroups>,
}

impl Default for Lime {
    fn default() -> Self {
        Lime {
            samples: 50,
            kernel_width: 1.0,
            surrogate: Surrogate::LeastSquares,
            seed: 0,
            groups: None,
        }
    }
}

fn cosine_distance<F: Float>(a: &[F], b: &[F]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x.f64() * y.f64()).sum();
    let na: f64 = a.iter().map(|x| x.f64() * x.f64()).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x.f64() * x.f64()).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        1.0
    } else {
        1.0 - dot / (na * nb)
    }
}

impl Lime {
    fn row<F: Float, M: Predict<F> + ?Sized>(
        &self,
        model: &M,
        x: &[F],
        r: &[F],
        g: &FeatureGroups,
        t: usize,
        rng: &mut Rng,
    ) -> Vec<f64> {
        let (m, n) = (g.len(), self.samples);
        let z: Vec<bool> = (0..n * m).map(|_| rng.uniform() < 0.5).collect();
        let v = values(model, x, r, g, &z, t);
        let inputs = masked_inputs(x, r, g, &z);
        let d = x.len();
        let w: Vec<f64> = (0..n)
            .map(|k| {
                let dist = cosine_distance(x, &inputs[k * d..(k + 1) * d]);
                (-dist * dist / (2.0 * self.kernel_width * self.kernel_width)).exp()
            })
            .collect();
        let design: Vec<f64> = z.iter().map(|&b| f64::from(u8::from(b))).collect();
        match self.surrogate {
            Surrogate::LeastSquares => solve::weighted_least_squares(&design, &v, &w, m, true).0,
            Surrogate::Lasso { alpha } => solve::weighted_lasso(&design, &v, &w, m, alpha).0,
        }
    }
}

impl<F: Float, M: Predict<F>> Attributor<M, F> for Lime {
    fn id(&self) -> MethodId {
        MethodId::Lime
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
        let b = Batch::new("lime", model, x, reference, target)?;
        let g = groups_or_singletons(self.groups.as_ref(), b.d);
        check_groups(&g, b.d, "lime")?;
        if self.samples == 0 {
            return Err(Error::param("lime", "n", 0, "expected at least 1 sample"));
        }
        if self.kernel_width.is_nan() || self.kernel_width <= 0.0 {
            return Err(Error::param(
                "lime",
                "kernel_width",
                self.kernel_width,
                "expected a positive width",
            ));
        }
        let scores = per_entry(b.len(), b.d, |e| {
            let (xr, rr) = (b.x_row(b.rows[e]), b.r_row(b.rows[e]));
            spread(
                &g,
                &self.row(
                    model,
                    xr,
                    rr,
                    &g,
                    b.targets[e],
                    &mut Rng::for_row(self.seed, b.rows[e]),
                ),
            )
        });
        Ok(b.finish(scores, None))
    }
}
