//! The Granger-causal quantities of ame.md, per sample, in f64: the losses, the target
//! distribution ω, the KL divergence behind the MGE, and the Granger correlation r².
//! The trainer computes the same formulas on tensors; its tests compare against these.

use super::{Ame, AmeOutput, AmeTask, AuxOutput};

/// `δ`: the floor of `Δε` and the clip of `ω` and `a` in the KL.
pub const DELTA: f64 = 1e-7;
/// Probabilities are clipped to `[PROB_EPS, 1 − PROB_EPS]` inside logarithms.
pub const PROB_EPS: f64 = 1e-7;

/// The main loss of one prediction (`o` values after the output function) against its
/// label: squared error (regression) or cross-entropy on probabilities (classification;
/// the label is the class index, 0/1 for binary).
pub fn main_loss(task: AmeTask, pred: &[f64], label: f64) -> f64 {
    match task {
        AmeTask::Regression => (pred[0] - label).powi(2),
        _ => cross_entropy(task, pred, label),
    }
}

/// The auxiliary loss `L_aux`: absolute error (regression) or cross-entropy.
pub fn aux_loss(task: AmeTask, pred: &[f64], label: f64) -> f64 {
    match task {
        AmeTask::Regression => (pred[0] - label).abs(),
        _ => cross_entropy(task, pred, label),
    }
}

fn cross_entropy(task: AmeTask, pred: &[f64], label: f64) -> f64 {
    let clip = |p: f64| p.clamp(PROB_EPS, 1.0 - PROB_EPS);
    match task {
        AmeTask::Binary => -(label * clip(pred[0]).ln() + (1.0 - label) * clip(1.0 - pred[0]).ln()),
        _ => -clip(pred[label as usize]).ln(),
    }
}

/// `ω` for one sample from its auxiliary errors: `Δε_i = max(ε_−i − ε_all, δ)`,
/// `ω_i = Δε_i / Σ_j Δε_j`.
pub fn omega_from_errors(eps_all: f64, eps_minus: &[f64]) -> Vec<f64> {
    let delta: Vec<f64> = eps_minus
        .iter()
        .map(|&e| (e - eps_all).max(DELTA))
        .collect();
    let s: f64 = delta.iter().sum();
    delta.iter().map(|d| d / s).collect()
}

/// `KL(ω ‖ a)` with both clipped to `[δ, 1]`.
pub fn kl(omega: &[f64], a: &[f64]) -> f64 {
    omega
        .iter()
        .zip(a)
        .map(|(&w, &v)| {
            let (w, v) = (w.clamp(DELTA, 1.0), v.clamp(DELTA, 1.0));
            w * (w / v).ln()
        })
        .sum()
}

/// The loss terms of ame.md, each a mean over rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossTerms {
    /// `L_main(y_true, y)`.
    pub main: f64,
    /// `L_MGE`: mean `KL(ω ‖ a)` — the MGE.
    pub mge: f64,
    /// `L_rep`: the sum over every auxiliary output of its mean main loss.
    pub rep: f64,
    /// `(1 − α)·main + α·mge + rep`.
    pub total: f64,
}

impl Ame {
    /// Granger-causal targets `ω`, `[rows, p]`, for a forward pass and its labels.
    pub fn omega(&self, aux: &AuxOutput, labels: &[f64]) -> Vec<f64> {
        let (p, o) = (self.experts(), self.task.outputs());
        let mut out = Vec::with_capacity(labels.len() * p);
        for (r, &t) in labels.iter().enumerate() {
            let eps_all = aux_loss(self.task, &aux.all[r * o..(r + 1) * o], t);
            let eps_minus: Vec<f64> = (0..p)
                .map(|i| aux_loss(self.task, &aux.minus[(r * p + i) * o..][..o], t))
                .collect();
            out.extend(omega_from_errors(eps_all, &eps_minus));
        }
        out
    }

    /// Forward pass, auxiliary predictors and `ω` for labelled rows `x` (scaled).
    pub fn granger_pass(&self, x: &[f64], labels: &[f64]) -> (AmeOutput, AuxOutput, Vec<f64>) {
        let fwd = self.forward(x, labels.len());
        let aux = self.auxiliary(&fwd);
        let omega = self.omega(&aux, labels);
        (fwd, aux, omega)
    }

    /// The loss terms on `x` (scaled) and `labels`, with weight `alpha` on the MGE term
    /// (inference mode: no attention dropout). Also returns the forward pass and `ω`.
    pub fn loss_terms(
        &self,
        x: &[f64],
        labels: &[f64],
        alpha: f64,
    ) -> (LossTerms, AmeOutput, Vec<f64>) {
        let (p, o) = (self.experts(), self.task.outputs());
        let (fwd, aux, omega) = self.granger_pass(x, labels);
        let n = labels.len().max(1) as f64;
        let (mut main, mut mge, mut rep) = (0.0, 0.0, 0.0);
        for (r, &t) in labels.iter().enumerate() {
            main += main_loss(self.task, &fwd.y[r * o..(r + 1) * o], t);
            mge += kl(&omega[r * p..(r + 1) * p], &fwd.a[r * p..(r + 1) * p]);
            rep += main_loss(self.task, &aux.all[r * o..(r + 1) * o], t);
            for i in 0..p {
                rep += main_loss(self.task, &fwd.c[(r * p + i) * o..][..o], t);
                rep += main_loss(self.task, &aux.minus[(r * p + i) * o..][..o], t);
            }
        }
        let (main, mge, rep) = (main / n, mge / n, rep / n);
        let terms = LossTerms {
            main,
            mge,
            rep,
            total: (1.0 - alpha) * main + alpha * mge + rep,
        };
        (terms, fwd, omega)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omega_by_hand() {
        // ε_all = 1; ε_−i = 1.5, 1.25, 0.5 ⇒ Δε = 0.5, 0.25, δ ⇒ ω ≈ 2/3, 1/3, 0.
        let w = omega_from_errors(1.0, &[1.5, 1.25, 0.5]);
        let s = 0.75 + DELTA;
        assert!((w[0] - 0.5 / s).abs() < 1e-15);
        assert!((w[1] - 0.25 / s).abs() < 1e-15);
        assert!((w[2] - DELTA / s).abs() < 1e-15);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        // No expert helps: uniform.
        let u = omega_from_errors(2.0, &[1.0, 2.0]);
        assert_eq!(u, vec![0.5, 0.5]);
    }

    #[test]
    fn kl_by_hand() {
        // KL((0.5, 0.5) ‖ (0.25, 0.75)) = 0.5 ln 2 + 0.5 ln(2/3).
        let v = kl(&[0.5, 0.5], &[0.25, 0.75]);
        assert!((v - (0.5 * 2f64.ln() + 0.5 * (2.0f64 / 3.0).ln())).abs() < 1e-15);
        assert_eq!(kl(&[0.3, 0.7], &[0.3, 0.7]), 0.0);
        // a = 0 is clipped to δ: finite.
        let big = kl(&[1.0, 0.0], &[0.0, 1.0]);
        assert!((big - ((1.0 / DELTA).ln() + DELTA * DELTA.ln())).abs() < 1e-12);
    }

    #[test]
    fn losses_by_hand() {
        assert_eq!(main_loss(AmeTask::Regression, &[1.5], 1.0), 0.25);
        assert_eq!(aux_loss(AmeTask::Regression, &[1.5], 1.0), 0.5);
        let b = main_loss(AmeTask::Binary, &[0.8], 1.0);
        assert!((b + 0.8f64.ln()).abs() < 1e-15);
        let b0 = aux_loss(AmeTask::Binary, &[0.8], 0.0);
        assert!((b0 + 0.2f64.ln()).abs() < 1e-12);
        let m = main_loss(AmeTask::Multiclass { classes: 3 }, &[0.2, 0.5, 0.3], 2.0);
        assert!((m + 0.3f64.ln()).abs() < 1e-15);
    }
}
