//! Integrated Gradients (Sundararajan et al. 2017): `(x − r) ⊙ ∫₀¹ ∂F/∂x(r + α(x − r)) dα`,
//! the integral by a quadrature rule (Gauss–Legendre by default, as Captum).
//!
//! # Axioms
//! Completeness against `F(r)` up to the quadrature error (which shrinks as `steps` grows);
//! missingness; linearity.
//! # Cost
//! `steps` backward passes per row.

pub mod quadrature;

use conflux_core::{Attribution, Error, Float, Gradient, Result, Target};
use ndarray::ArrayView2;

pub use quadrature::Rule;

use crate::batch::{Batch, par_gradient};
use crate::method::{Attributor, Axiom, MethodId};

/// Integrated Gradients with `steps` nodes of `rule`.
#[derive(Debug, Clone, Copy)]
pub struct IntegratedGradients {
    steps: usize,
    rule: Rule,
}

/// The most Gauss–Legendre nodes [`IntegratedGradients::new`] accepts.
pub const MAX_GAUSS_LEGENDRE_STEPS: usize = 10_000;

impl Default for IntegratedGradients {
    fn default() -> Self {
        IntegratedGradients {
            steps: 50,
            rule: Rule::GaussLegendre,
        }
    }
}

impl IntegratedGradients {
    /// `steps ≥ 1` nodes (default 50, Captum's; CLI `ig:steps=N`) of `rule` (default
    /// Gauss–Legendre; CLI `ig:rule=riemann-trapezoid`, …).
    ///
    /// # Errors
    /// [`Error::Param`] for `steps = 0`, or more than [`MAX_GAUSS_LEGENDRE_STEPS`] with
    /// Gauss–Legendre (its nodes cost `steps²` to compute).
    pub fn new(steps: usize, rule: Rule) -> Result<Self> {
        if steps == 0 {
            return Err(Error::param(
                "integrated-gradients",
                "steps",
                0,
                "expected at least 1",
            ));
        }
        if rule == Rule::GaussLegendre && steps > MAX_GAUSS_LEGENDRE_STEPS {
            return Err(Error::param(
                "integrated-gradients",
                "steps",
                steps,
                format!(
                    "expected at most {MAX_GAUSS_LEGENDRE_STEPS} Gauss–Legendre nodes (they cost steps² to compute); use rule=riemann-trapezoid for more"
                ),
            ));
        }
        Ok(IntegratedGradients { steps, rule })
    }
    /// Number of nodes.
    pub fn steps(&self) -> usize {
        self.steps
    }
    /// The quadrature rule.
    pub fn rule(&self) -> Rule {
        self.rule
    }
}

impl<F: Float, M: Gradient<F>> Attributor<M, F> for IntegratedGradients {
    fn id(&self) -> MethodId {
        MethodId::IntegratedGradients
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
        let b = Batch::new("integrated-gradients", model, x, reference, target)?;
        let (alphas, weights) = self.rule.nodes(self.steps);
        let (d, k) = (b.d, self.steps);
        let mut points = Vec::with_capacity(b.len() * k * d);
        let mut targets = Vec::with_capacity(b.len() * k);
        for (&row, &t) in b.rows.iter().zip(&b.targets) {
            let (xr, rr) = (b.x_row(row), b.r_row(row));
            for &a in &alphas {
                points.extend(
                    xr.iter()
                        .zip(rr)
                        .map(|(&xv, &rv)| rv + F::of(a) * (xv - rv)),
                );
                targets.push(t);
            }
        }
        let g = par_gradient(model, &points, &targets, d);
        let mut scores = vec![F::zero(); b.len() * d];
        for e in 0..b.len() {
            let (xr, rr) = (b.x_row(b.rows[e]), b.r_row(b.rows[e]));
            for (s, &w) in weights.iter().enumerate() {
                let gr = &g[(e * k + s) * d..(e * k + s + 1) * d];
                for f in 0..d {
                    scores[e * d + f] += F::of(w) * gr[f];
                }
            }
            for f in 0..d {
                scores[e * d + f] *= xr[f] - rr[f];
            }
        }
        let base = baseline_outputs(model, &b);
        Ok(b.finish(scores, Some(base)))
    }
}

/// `F(r)[target]` per entry (the baseline of path methods and DeepLIFT).
pub(crate) fn baseline_outputs<F: Float, M: conflux_core::Predict<F> + ?Sized>(
    model: &M,
    b: &Batch<F>,
) -> Vec<F> {
    let n = model.output_dim();
    let refs = model.predict(b.r.as_slice().expect("standard layout"), b.r.nrows());
    b.rows
        .iter()
        .zip(&b.targets)
        .map(|(&row, &t)| refs[if b.r.nrows() == 1 { t } else { row * n + t }])
        .collect()
}
