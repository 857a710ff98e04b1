//! What `conflux evaluate` reports for an AME on labelled rows: prediction quality, the MGE,
//! the Granger correlation r² between `a` and `ω`, and global importances.

use std::collections::BTreeMap;

use super::granger::kl;
use super::{Ame, AmeTask};
use crate::stats::Correlation;
// Kept at their former paths; they live with the other statistics.
pub use crate::stats::{argmax, auc};

/// An AME's scores on a labelled dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct AmeEvaluation {
    /// Rows scored.
    pub rows: usize,
    /// `("rmse", v)` for regression, `("accuracy", v)` (and `("auc", v)` for binary).
    pub quality: Vec<(&'static str, f64)>,
    /// Mean `KL(ω ‖ a)`: the MGE (lower is better; 0 = attention equals the Granger target).
    pub mge: f64,
    /// Squared Pearson correlation between `a` and `ω` over all rows and experts.
    pub granger_r2: f64,
    /// Mean attention per expert.
    pub importance: Vec<f64>,
    /// Mean attention per expert for each class present (classification), by label.
    pub importance_by_class: Vec<(usize, Vec<f64>)>,
}

impl Ame {
    /// Scores the AME on `x` (`[rows, d]`, scaled) with `labels`.
    pub fn evaluate(&self, x: &[f64], labels: &[f64]) -> AmeEvaluation {
        let mut scorer = AmeScorer::new(self);
        scorer.add_rows(x, labels);
        scorer.finish()
    }
}

/// [`Ame::evaluate`] over rows that arrive in blocks: the same numbers, in memory bounded
/// by the experts and classes (plus one prediction per row for a binary AME's AUC).
#[derive(Debug, Clone)]
pub struct AmeScorer<'a> {
    ame: &'a Ame,
    rows: usize,
    kl: f64,
    r2: Correlation,
    squared_error: f64,
    hits: usize,
    sum_a: Vec<f64>,
    /// Per class label: rows and the sum of their attention.
    by_class: BTreeMap<usize, (usize, Vec<f64>)>,
    /// A binary AME's predictions and labels, for the AUC.
    binary: (Vec<f64>, Vec<f64>),
}

impl<'a> AmeScorer<'a> {
    /// An empty scorer for `ame`.
    pub fn new(ame: &'a Ame) -> Self {
        AmeScorer {
            ame,
            rows: 0,
            kl: 0.0,
            r2: Correlation::default(),
            squared_error: 0.0,
            hits: 0,
            sum_a: vec![0.0; ame.experts()],
            by_class: BTreeMap::new(),
            binary: (Vec::new(), Vec::new()),
        }
    }

    /// Runs the AME on a block of labelled rows (`x` scaled) and adds them.
    pub fn add_rows(&mut self, x: &[f64], labels: &[f64]) {
        let (fwd, _, omega) = self.ame.granger_pass(x, labels);
        self.add(&fwd.y, &fwd.a, &omega, labels);
    }

    /// Adds rows already run: predictions `y` `[rows, o]`, attention `a` and Granger
    /// targets `omega` `[rows, p]`, and their labels (as [`Ame::explain_rows`] gives them
    /// with labels).
    ///
    /// # Panics
    /// When the lengths do not agree with `labels` (a caller's bug, e.g. `explain_rows`
    /// without labels has no `omega`).
    pub fn add(&mut self, y: &[f64], a: &[f64], omega: &[f64], labels: &[f64]) {
        let (p, o, task) = (self.ame.experts(), self.ame.task.outputs(), self.ame.task);
        let n = labels.len();
        assert!(
            y.len() == n * o && a.len() == n * p && omega.len() == n * p,
            "AmeScorer::add: {n} labels need {} predictions and {} attention and ω values",
            n * o,
            n * p
        );
        for (r, &label) in labels.iter().enumerate() {
            let (ar, wr, yr) = (
                &a[r * p..(r + 1) * p],
                &omega[r * p..(r + 1) * p],
                &y[r * o..(r + 1) * o],
            );
            self.kl += kl(wr, ar);
            for (&ai, &wi) in ar.iter().zip(wr) {
                self.r2.push(ai, wi);
            }
            for (s, &ai) in self.sum_a.iter_mut().zip(ar) {
                *s += ai;
            }
            match task {
                AmeTask::Regression => self.squared_error += (yr[0] - label).powi(2),
                _ => {
                    self.hits += usize::from(task.predicted_class(yr) == Some(label as usize));
                    let (n, sum) = self
                        .by_class
                        .entry(label as usize)
                        .or_insert_with(|| (0, vec![0.0; p]));
                    *n += 1;
                    for (s, &ai) in sum.iter_mut().zip(ar) {
                        *s += ai;
                    }
                    if task == AmeTask::Binary {
                        self.binary.0.push(yr[0]);
                        self.binary.1.push(label);
                    }
                }
            }
        }
        self.rows += labels.len();
    }

    /// The evaluation of every row added.
    pub fn finish(self) -> AmeEvaluation {
        let n = self.rows.max(1) as f64;
        let quality = match self.ame.task {
            AmeTask::Regression => vec![("rmse", (self.squared_error / n).sqrt())],
            task => {
                let mut q = vec![("accuracy", self.hits as f64 / n)];
                if task == AmeTask::Binary {
                    q.push(("auc", auc(&self.binary.0, &self.binary.1)));
                }
                q
            }
        };
        AmeEvaluation {
            rows: self.rows,
            quality,
            mge: self.kl / n,
            granger_r2: self.r2.pearson().powi(2),
            importance: self.sum_a.iter().map(|s| s / n).collect(),
            importance_by_class: self
                .by_class
                .into_iter()
                .map(|(c, (m, sum))| (c, sum.iter().map(|s| s / m as f64).collect()))
                .collect(),
        }
    }
}
