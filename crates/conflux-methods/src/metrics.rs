//! Fidelity metrics for attributions (evaluation.md §Metrics): infidelity (Yeh et al. 2019,
//! Captum's input-multiplied convention with `normalize=True`), sensitivity-max, and the
//! completeness error. Each returns one value per explained row; callers average.

use conflux_core::{Attribution, Error, FeatureGroups, Float, Predict, Result, Target};
use ndarray::{Array2, ArrayView2};

use crate::rng::Rng;
use crate::spec::Method;

/// Checks that an evaluation fits the data-cell limit `budget`: `method` explains all
/// `rows` at once with `targets` targets per row (with `sensitivity`, every one of
/// `samples` perturbed copies too), and `infidelity` holds `samples` perturbed copies of a
/// row at a time.
///
/// # Errors
/// [`Error::Param`] naming `samples` or `rows`, with the most that fits.
pub fn check_memory(
    method: &Method,
    d: usize,
    rows: usize,
    targets: usize,
    samples: usize,
    (infidelity, sensitivity): (bool, bool),
    budget: u64,
) -> Result<()> {
    let exceeded = conflux_core::limits::DATA_CELLS.exceeded(budget);
    if infidelity {
        let one = (samples as u64).saturating_mul(3 * d as u64);
        if one > budget {
            return Err(Error::param(
                "evaluate",
                "samples",
                samples,
                format!(
                    "infidelity holds {samples} perturbed copies of a row ({one} cells): {exceeded}; lower it"
                ),
            ));
        }
    }
    let copies = if sensitivity {
        samples.saturating_add(1)
    } else {
        1
    };
    let fit = method.rows_within(d, targets.saturating_mul(copies), budget, rows)?;
    if fit < rows {
        let why = if copies > 1 {
            format!("sensitivity-max explains {samples} perturbed copies of every row")
        } else {
            "evaluate explains every row at once".to_string()
        };
        return Err(Error::param(
            "evaluate",
            "rows",
            rows,
            format!(
                "{why}, which needs more working memory than allowed ({exceeded}); use {fit} rows or fewer"
            ),
        ));
    }
    Ok(())
}

/// Infidelity of attributions `phi` (`[d]`) for input `x`, reference `r`, output `t`, given
/// explicit perturbed inputs `xt` (`[n, d]`) and the model outputs at `x` (`fx`) and at the
/// perturbed inputs (`f_xt`, `[n]`):
/// `I_f = (x_f − x̃_f)/(x_f − r_f)` (denominator 1 where it is 0), `u = Σ_f I_f Φ_f`,
/// `v = F(x) − F(x̃)`, `β = mean(u·v)/mean(u²)`, infidelity = `mean((β·u − v)²)`.
pub fn infidelity_from(
    phi: &[f64],
    x: &[f64],
    r: &[f64],
    xt: &[f64],
    fx: f64,
    f_xt: &[f64],
) -> f64 {
    let d = x.len();
    let n = f_xt.len();
    let (mut uv, mut uu) = (0.0, 0.0);
    let mut uvs = Vec::with_capacity(n);
    for k in 0..n {
        let u: f64 = (0..d)
            .map(|f| {
                let den = x[f] - r[f];
                let i = (x[f] - xt[k * d + f]) / if den == 0.0 { 1.0 } else { den };
                i * phi[f]
            })
            .sum();
        let v = fx - f_xt[k];
        uv += u * v;
        uu += u * u;
        uvs.push((u, v));
    }
    let beta = if uu == 0.0 { 0.0 } else { uv / uu };
    uvs.iter().map(|(u, v)| (beta * u - v).powi(2)).sum::<f64>() / n as f64
}

/// How inputs are perturbed for infidelity (the CAFE paper's protocol): Gaussian noise of
/// standard deviation `sd` on continuous features (network input space), and each
/// categorical group replaced, with probability `categorical_prob`, by its values in a random
/// row of `pool`.
#[derive(Debug, Clone)]
pub struct Perturbation {
    /// Noise standard deviation on continuous features.
    pub sd: f64,
    /// Probability of resampling each categorical group.
    pub categorical_prob: f64,
    /// Categorical groups (feature indices); all other features are continuous.
    pub categorical: Vec<Vec<usize>>,
    /// Perturbed copies per row.
    pub samples: usize,
    /// Seed (per-row streams).
    pub seed: u64,
}

impl Perturbation {
    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::Param`] for a negative or non-finite sd, a probability outside [0, 1] or 0 samples.
    pub fn validate(&self) -> Result<()> {
        if !(self.sd >= 0.0 && self.sd.is_finite()) {
            return Err(Error::param(
                "evaluate",
                "perturb-sd",
                self.sd,
                "expected ≥ 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.categorical_prob) {
            return Err(Error::param(
                "evaluate",
                "categorical-prob",
                self.categorical_prob,
                "expected a probability in [0, 1]",
            ));
        }
        if self.samples == 0 {
            return Err(Error::param(
                "evaluate",
                "samples",
                0,
                "expected at least 1",
            ));
        }
        Ok(())
    }

    /// `samples` perturbed copies of row `row` of `pool` (`[rows, d]`), `[samples, d]`.
    pub fn draw(&self, pool: &[f64], d: usize, row: usize) -> Vec<f64> {
        let x = &pool[row * d..(row + 1) * d];
        let rows = pool.len() / d;
        let mut rng = Rng::for_row(self.seed, row);
        let mut is_cat = vec![false; d];
        self.categorical
            .iter()
            .flatten()
            .for_each(|&f| is_cat[f] = true);
        let mut out = Vec::with_capacity(self.samples * d);
        for _ in 0..self.samples {
            let mut xt: Vec<f64> = x
                .iter()
                .zip(&is_cat)
                .map(|(&v, &c)| if c { v } else { v + self.sd * rng.normal() })
                .collect();
            for g in &self.categorical {
                if rng.uniform() < self.categorical_prob {
                    let src = rng.below(rows);
                    for &f in g {
                        xt[f] = pool[src * d + f];
                    }
                }
            }
            out.extend(xt);
        }
        out
    }
}

/// Per-row infidelity of `a` (one entry per row) under `p`; `x` are the rows (`[rows, d]`,
/// network input space), `r` the reference (1 or `rows` rows).
pub fn infidelity<F: Float, M: Predict<F>>(
    model: &M,
    a: &Attribution<F>,
    x: &[f64],
    r: &[f64],
    p: &Perturbation,
) -> Vec<f64> {
    use rayon::prelude::*;
    let d = model.input_dim();
    let n_out = model.output_dim();
    (0..a.len())
        .into_par_iter()
        .map(|e| {
            let b = a.rows[e];
            let xt = p.draw(x, d, b);
            let xt_f: Vec<F> = xt.iter().map(|&v| F::of(v)).collect();
            let out = model.predict(&xt_f, p.samples);
            let f_xt: Vec<f64> = out
                .chunks_exact(n_out)
                .map(|o| o[a.targets[e]].f64())
                .collect();
            let rr = if r.len() == d {
                r
            } else {
                &r[b * d..(b + 1) * d]
            };
            let phi: Vec<f64> = a.scores.row(e).iter().map(|v| v.f64()).collect();
            infidelity_from(
                &phi,
                &x[b * d..(b + 1) * d],
                rr,
                &xt,
                a.output[e].f64(),
                &f_xt,
            )
        })
        .collect()
}

/// Per-row sensitivity-max: the largest `‖Φ(x̃) − Φ(x)‖ / ‖Φ(x)‖` over `samples` inputs
/// drawn uniformly from the L∞ ball of radius `radius` around `x` (Captum's defaults: 10
/// samples, radius 0.02), explaining the same target.
///
/// # Errors
/// The method's own errors.
#[allow(clippy::too_many_arguments)]
pub fn sensitivity_max<F: Float>(
    method: &Method,
    plan: &conflux_core::Plan<F>,
    a: &Attribution<F>,
    x: &[f64],
    r: ArrayView2<F>,
    radius: f64,
    samples: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let d = plan.input_dim();
    let mut out = Vec::with_capacity(a.len());
    for e in 0..a.len() {
        let b = a.rows[e];
        let mut rng = Rng::for_row(seed, b);
        let xt: Vec<F> = (0..samples * d)
            .map(|i| F::of(x[b * d + i % d] + radius * (2.0 * rng.uniform() - 1.0)))
            .collect();
        let xv = Array2::from_shape_vec((samples, d), xt).expect("samples × d");
        let rr = if r.nrows() == 1 {
            r.to_owned()
        } else {
            r.row(b).to_owned().insert_axis(ndarray::Axis(0))
        };
        let at = method.attribute(plan, xv.view(), rr.view(), Target::Index(a.targets[e]))?;
        let base: Vec<f64> = a.scores.row(e).iter().map(|v| v.f64()).collect();
        let norm = base.iter().map(|v| v * v).sum::<f64>().sqrt();
        let worst = (0..samples)
            .map(|k| {
                at.scores
                    .row(k)
                    .iter()
                    .zip(&base)
                    .map(|(p, q)| (p.f64() - q).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(0.0f64, f64::max);
        out.push(if norm == 0.0 {
            if worst == 0.0 { 0.0 } else { f64::INFINITY }
        } else {
            worst / norm
        });
    }
    Ok(out)
}

/// Per-entry |completeness gap|, or `None` when the method claims no completeness.
pub fn completeness<F: Float>(a: &Attribution<F>) -> Option<Vec<f64>> {
    a.completeness_gap()
        .map(|g| g.iter().map(|v| v.f64().abs()).collect())
}

/// Categorical groups from column indices and optional feature groups: each categorical
/// column forms its own group unless `groups` puts several categorical columns together.
pub fn categorical_groups(
    categorical: &[usize],
    groups: Option<&FeatureGroups>,
) -> Vec<Vec<usize>> {
    match groups {
        None => categorical.iter().map(|&f| vec![f]).collect(),
        Some(g) => {
            let mut seen = std::collections::BTreeMap::<usize, Vec<usize>>::new();
            for &f in categorical {
                seen.entry(g.group_of(f)).or_default().push(f);
            }
            seen.into_values().collect()
        }
    }
}

/// Attribution error against ground truth: RMSE per column over the rows, averaged over the
/// columns (scikit-learn's `uniform_average`, as the CAFE paper computes it).
pub fn rmse_per_column(scores: &[f64], truth: &[f64], cols: usize) -> f64 {
    let rows = scores.len() / cols.max(1);
    if rows == 0 {
        return f64::NAN;
    }
    (0..cols)
        .map(|c| {
            ((0..rows)
                .map(|r| (scores[r * cols + c] - truth[r * cols + c]).powi(2))
                .sum::<f64>()
                / rows as f64)
                .sqrt()
        })
        .sum::<f64>()
        / cols as f64
}

/// Mean and (population) standard deviation of finite values, and how many there were.
pub fn mean_sd(v: &[f64]) -> (f64, f64, usize) {
    let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let n = finite.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, 0);
    }
    let m = finite.iter().sum::<f64>() / n as f64;
    let sd = (finite.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64).sqrt();
    (m, sd, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Infidelity on fixed perturbations, computed by hand from the formula.
    #[test]
    fn infidelity_matches_the_formula() {
        // d = 2, x = (1, 2), r = (0, 1) ⇒ denominators (1, 1); Φ = (0.5, −1).
        // x̃₁ = (0.5, 2.5): I = (0.5, −0.5), u = 0.25 + 0.5 = 0.75, v = 3 − 2 = 1.
        // x̃₂ = (1.0, 1.0): I = (0, 1),      u = −1,          v = 3 − 4 = −1.
        // β = mean(u·v)/mean(u²) = (0.75 + 1)/2 / ((0.5625 + 1)/2) = 1.75/1.5625 = 1.12.
        // infidelity = mean((1.12·0.75 − 1)², (−1.12 + 1)²) = (0.0256 + 0.0144)/2 = 0.02.
        let got = infidelity_from(
            &[0.5, -1.0],
            &[1.0, 2.0],
            &[0.0, 1.0],
            &[0.5, 2.5, 1.0, 1.0],
            3.0,
            &[2.0, 4.0],
        );
        assert!((got - 0.02).abs() < 1e-12, "{got}");
        // Zero denominators count as 1: x₂ = r₂.
        let got = infidelity_from(
            &[1.0, 1.0],
            &[1.0, 1.0],
            &[0.0, 1.0],
            &[0.0, 0.0],
            1.0,
            &[0.0],
        );
        // I = (1, 1), u = 2, v = 1, β = 0.5 ⇒ 0.
        assert!(got.abs() < 1e-15);
    }

    #[test]
    fn rmse_averages_columns() {
        // Column 0 errors (1, −1) ⇒ RMSE 1; column 1 errors (0, 2) ⇒ √2.
        let got = rmse_per_column(&[1.0, 0.0, -1.0, 2.0], &[0.0, 0.0, 0.0, 0.0], 2);
        assert!((got - (1.0 + 2f64.sqrt()) / 2.0).abs() < 1e-15);
    }

    #[test]
    fn perturbations_follow_the_protocol() {
        let pool = [0.0, 1.0, 5.0, 10.0, 0.0, 7.0];
        let p = Perturbation {
            sd: 0.0,
            categorical_prob: 1.0,
            categorical: vec![vec![1]],
            samples: 4,
            seed: 2,
        };
        let xt = p.draw(&pool, 3, 0);
        for k in 0..4 {
            assert_eq!(xt[k * 3], 0.0, "sd 0: continuous features unchanged");
            assert!(
                [1.0, 0.0].contains(&xt[k * 3 + 1]),
                "categorical resampled from a data row"
            );
        }
        assert!(
            Perturbation {
                categorical_prob: 1.5,
                ..p.clone()
            }
            .validate()
            .is_err()
        );
    }
}
