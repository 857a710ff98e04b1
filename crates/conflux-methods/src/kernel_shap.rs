//! Kernel SHAP (Lundberg & Lee 2017) and exact Shapley values, with coalition value
//! `F(x_S, r_{¬S})[target]` (absent feature groups set to the reference).
//!
//! Kernel SHAP samples `samples` coalitions from the Shapley kernel (size `k` with
//! probability ∝ (M−1)/(k(M−k)), then a uniform subset) and solves the kernel-weighted least
//! squares with the efficiency constraint `Σφ = F(x) − F(r)` built in, so it converges to the
//! exact Shapley values as `samples` grows. Captum's default of 25 samples is far too few for
//! accuracy beyond a handful of features: raise it (`kernel-shap:n=2000`). `exact=true`
//! enumerates all 2^M coalitions instead (M ≤ 20 groups).
//!
//! # Axioms
//! Completeness (efficiency) exactly; missingness (a group equal to its reference gets 0
//! in exact mode, ≈ 0 sampled); linearity.
//! # Cost
//! `samples` (or 2^M) forward passes per row.

use conflux_core::{Attribution, Error, FeatureGroups, Float, Predict, Result, Target};
use ndarray::ArrayView2;

use crate::batch::{Batch, per_entry};
use crate::method::{Attributor, Axiom, MethodId};
use crate::rng::Rng;
use crate::surrogate::{groups_or_singletons, solve, spread, values};

/// Largest group count for exact enumeration.
pub const MAX_EXACT_GROUPS: usize = 20;

/// Kernel SHAP / exact Shapley.
#[derive(Debug, Clone)]
pub struct KernelShap {
    /// Sampled coalitions per row (default 25, Captum's).
    pub samples: usize,
    /// Enumerate every coalition (exact Shapley values).
    pub exact: bool,
    /// Random seed (per-row streams).
    pub seed: u64,
    /// Feature groups (default: one per feature).
    pub groups: Option<FeatureGroups>,
}

impl Default for KernelShap {
    fn default() -> Self {
        KernelShap {
            samples: 25,
            exact: false,
            seed: 0,
            groups: None,
        }
    }
}

/// Exact Shapley values of the `m` players from all `2^m` coalition values (`v[mask]`).
pub fn shapley_from_values(v: &[f64], m: usize) -> Vec<f64> {
    // w(s) = s!(m−s−1)!/m!
    let mut w = vec![0.0; m];
    for (s, ws) in w.iter_mut().enumerate() {
        let mut x = 1.0 / m as f64;
        // s!(m−s−1)!/m! = 1/(m·C(m−1, s))
        let mut c = 1.0;
        for i in 0..s {
            c = c * (m - 1 - i) as f64 / (i + 1) as f64;
        }
        x /= c;
        *ws = x;
    }
    let mut phi = vec![0.0; m];
    for mask in 0..(1usize << m) {
        let s = mask.count_ones() as usize;
        for (i, p) in phi.iter_mut().enumerate() {
            if mask & (1 << i) == 0 {
                *p += w[s] * (v[mask | (1 << i)] - v[mask]);
            }
        }
    }
    phi
}

fn exact<F: Float, M: Predict<F> + ?Sized>(
    model: &M,
    x: &[F],
    r: &[F],
    g: &FeatureGroups,
    t: usize,
) -> Vec<f64> {
    let m = g.len();
    let z: Vec<bool> = (0..(1usize << m))
        .flat_map(|mask| (0..m).map(move |i| mask & (1 << i) != 0))
        .collect();
    shapley_from_values(&values(model, x, r, g, &z, t), m)
}

fn sampled<F: Float, M: Predict<F> + ?Sized>(
    model: &M,
    x: &[F],
    r: &[F],
    g: &FeatureGroups,
    t: usize,
    n: usize,
    rng: &mut Rng,
) -> Vec<f64> {
    let m = g.len();
    let all: Vec<bool> = [vec![false; m], vec![true; m]].concat();
    let ends = values(model, x, r, g, &all, t);
    let (v0, v1) = (ends[0], ends[1]);
    if m == 1 {
        return vec![v1 - v0];
    }
    // Coalition sizes 1..m−1 with the Shapley kernel's total weight per size.
    let size_w: Vec<f64> = (1..m)
        .map(|k| (m - 1) as f64 / (k * (m - k)) as f64)
        .collect();
    let total: f64 = size_w.iter().sum();
    let mut z = vec![false; n * m];
    let mut idx: Vec<usize> = (0..m).collect();
    for k in 0..n {
        let mut u = rng.uniform() * total;
        let mut size = m - 1;
        for (s, w) in size_w.iter().enumerate() {
            if u < *w {
                size = s + 1;
                break;
            }
            u -= w;
        }
        rng.shuffle(&mut idx);
        for &i in &idx[..size] {
            z[k * m + i] = true;
        }
    }
    let v = values(model, x, r, g, &z, t);
    // Efficiency built in: φ_m = Δ − Σ_{i<m} φ_i, so y − z_m·Δ = Σ_{i<m} (z_i − z_m)·φ_i.
    let delta = v1 - v0;
    let p = m - 1;
    let mut design = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for k in 0..n {
        let zk = &z[k * m..(k + 1) * m];
        let zm = f64::from(u8::from(zk[m - 1]));
        design.extend((0..p).map(|i| f64::from(u8::from(zk[i])) - zm));
        y.push(v[k] - v0 - zm * delta);
    }
    let (mut phi, _) = solve::weighted_least_squares(&design, &y, &vec![1.0; n], p, false);
    let last = delta - phi.iter().sum::<f64>();
    phi.push(last);
    phi
}

impl<F: Float, M: Predict<F>> Attributor<M, F> for KernelShap {
    fn id(&self) -> MethodId {
        MethodId::KernelShap
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[Axiom::Completeness, Axiom::Linearity]
    }
    fn attribute(
        &self,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        let b = Batch::new("kernel-shap", model, x, reference, target)?;
        let g = groups_or_singletons(self.groups.as_ref(), b.d);
        check_groups(&g, b.d, "kernel-shap")?;
        if self.exact && g.len() > MAX_EXACT_GROUPS {
            return Err(Error::param(
                "kernel-shap",
                "exact",
                true,
                format!(
                    "exact Shapley needs at most {MAX_EXACT_GROUPS} groups, got {}; use samples instead",
                    g.len()
                ),
            ));
        }
        if !self.exact && self.samples == 0 {
            return Err(Error::param(
                "kernel-shap",
                "n",
                0,
                "expected at least 1 sample",
            ));
        }
        let scores = per_entry(b.len(), b.d, |e| {
            let (xr, rr, t) = (b.x_row(b.rows[e]), b.r_row(b.rows[e]), b.targets[e]);
            let phi = if self.exact {
                exact(model, xr, rr, &g, t)
            } else {
                sampled(
                    model,
                    xr,
                    rr,
                    &g,
                    t,
                    self.samples,
                    &mut Rng::for_row(self.seed, b.rows[e]),
                )
            };
            spread(&g, &phi)
        });
        let base = singleton_baseline(model, &b, &g);
        Ok(b.finish(scores, base))
    }
}

/// Errors when the groups do not cover exactly the model's features.
pub(crate) fn check_groups(g: &FeatureGroups, d: usize, method: &'static str) -> Result<()> {
    if g.features() != d {
        return Err(Error::param(
            method,
            "groups",
            g.features(),
            format!("expected groups over the model's {d} features"),
        ));
    }
    Ok(())
}

/// `F(r)[target]` per entry when every group is a single feature (then the scores sum to
/// `F(x) − F(r)`); `None` with real groups (each member repeats its group's score).
pub(crate) fn singleton_baseline<F: Float, M: Predict<F> + ?Sized>(
    model: &M,
    b: &Batch<F>,
    g: &FeatureGroups,
) -> Option<Vec<F>> {
    (g.len() == b.d).then(|| crate::ig::baseline_outputs(model, b))
}
