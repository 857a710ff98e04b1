//! Shapley value sampling (Castro et al. 2009; Captum `ShapleyValueSampling`): average each
//! group's marginal contribution over random permutations, adding groups one at a time from
//! the reference to the input.
//!
//! # Axioms
//! Completeness (efficiency) exactly for every number of permutations; converges to the
//! Shapley values.
//! # Cost
//! `samples · (M + 1)` forward passes per row (default 25 permutations, Captum's).

use conflux_core::{Attribution, Error, FeatureGroups, Float, Predict, Result, Target};
use ndarray::ArrayView2;

use crate::batch::{Batch, per_entry};
use crate::kernel_shap::{check_groups, singleton_baseline};
use crate::method::{Attributor, Axiom, MethodId};
use crate::rng::Rng;
use crate::surrogate::{groups_or_singletons, spread, values};

/// Shapley value sampling.
#[derive(Debug, Clone)]
pub struct ShapleySampling {
    /// Permutations per row (default 25).
    pub samples: usize,
    /// Random seed (per-row streams).
    pub seed: u64,
    /// Feature groups (default: one per feature).
    pub groups: Option<FeatureGroups>,
}

impl Default for ShapleySampling {
    fn default() -> Self {
        ShapleySampling {
            samples: 25,
            seed: 0,
            groups: None,
        }
    }
}

fn row<F: Float, M: Predict<F> + ?Sized>(
    model: &M,
    x: &[F],
    r: &[F],
    g: &FeatureGroups,
    t: usize,
    n: usize,
    rng: &mut Rng,
) -> Vec<f64> {
    let m = g.len();
    let mut perms = Vec::with_capacity(n);
    // Coalitions along each permutation: the empty one, then one more group at a time.
    let mut z = Vec::with_capacity(n * (m + 1) * m);
    for _ in 0..n {
        let mut p: Vec<usize> = (0..m).collect();
        rng.shuffle(&mut p);
        let mut cur = vec![false; m];
        z.extend_from_slice(&cur);
        for &i in &p {
            cur[i] = true;
            z.extend_from_slice(&cur);
        }
        perms.push(p);
    }
    let v = values(model, x, r, g, &z, t);
    let mut phi = vec![0.0; m];
    for (k, p) in perms.iter().enumerate() {
        let vk = &v[k * (m + 1)..(k + 1) * (m + 1)];
        for (s, &i) in p.iter().enumerate() {
            phi[i] += vk[s + 1] - vk[s];
        }
    }
    phi.iter_mut().for_each(|p| *p /= n as f64);
    phi
}

impl<F: Float, M: Predict<F>> Attributor<M, F> for ShapleySampling {
    fn id(&self) -> MethodId {
        MethodId::ShapleySampling
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[Axiom::Completeness, Axiom::Missingness, Axiom::Linearity]
    }
    fn attribute(
        &self,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        let b = Batch::new("shapley-sampling", model, x, reference, target)?;
        let g = groups_or_singletons(self.groups.as_ref(), b.d);
        check_groups(&g, b.d, "shapley-sampling")?;
        if self.samples == 0 {
            return Err(Error::param(
                "shapley-sampling",
                "n",
                0,
                "expected at least 1 permutation",
            ));
        }
        let scores = per_entry(b.len(), b.d, |e| {
            let (xr, rr) = (b.x_row(b.rows[e]), b.r_row(b.rows[e]));
            spread(
                &g,
                &row(
                    model,
                    xr,
                    rr,
                    &g,
                    b.targets[e],
                    self.samples,
                    &mut Rng::for_row(self.seed, b.rows[e]),
                ),
            )
        });
        let base = singleton_baseline(model, &b, &g);
        Ok(b.finish(scores, base))
    }
}
