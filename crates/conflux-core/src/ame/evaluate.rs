//! What `conflux evaluate` reports for an AME on labelled rows: prediction quality, the MGE,
//! the Granger correlation r² between `a` and `ω`, and global importances.

use super::granger::{kl, pearson_r2};
use super::{Ame, AmeTask};

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

/// Area under the ROC curve (ties counted half); NaN with one class only.
pub fn auc(scores: &[f64], labels: &[f64]) -> f64 {
    let ranks = crate::stats::ranks(scores);
    let (mut rank_sum, mut pos) = (0.0, 0.0);
    for (r, &l) in ranks.iter().zip(labels) {
        if l > 0.5 {
            rank_sum += r;
            pos += 1.0;
        }
    }
    let neg = scores.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        f64::NAN
    } else {
        (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
    }
}

impl Ame {
    /// Scores the AME on `x` (`[rows, d]`, scaled) with `labels`.
    pub fn evaluate(&self, x: &[f64], labels: &[f64]) -> AmeEvaluation {
        let rows = labels.len();
        let (p, o) = (self.experts(), self.task.outputs());
        let (fwd, _, omega) = self.granger_pass(x, labels);
        let n = rows.max(1) as f64;
        let mge = (0..rows)
            .map(|r| kl(&omega[r * p..(r + 1) * p], &fwd.a[r * p..(r + 1) * p]))
            .sum::<f64>()
            / n;
        let granger_r2 = pearson_r2(&fwd.a, &omega);
        let mean_of = |rs: &[usize]| -> Vec<f64> {
            let m = rs.len().max(1) as f64;
            (0..p)
                .map(|i| rs.iter().map(|&r| fwd.a[r * p + i]).sum::<f64>() / m)
                .collect()
        };
        let all: Vec<usize> = (0..rows).collect();
        let importance = mean_of(&all);
        let argmax = |v: &[f64]| {
            v.iter()
                .enumerate()
                .fold(0, |b, (i, x)| if *x > v[b] { i } else { b })
        };
        let (quality, importance_by_class) = match self.task {
            AmeTask::Regression => {
                let mse = fwd
                    .y
                    .iter()
                    .zip(labels)
                    .map(|(y, t)| (y - t).powi(2))
                    .sum::<f64>()
                    / n;
                (vec![("rmse", mse.sqrt())], Vec::new())
            }
            task => {
                let hits = (0..rows)
                    .filter(|&r| {
                        let pred = match task {
                            AmeTask::Binary => usize::from(fwd.y[r] > 0.5),
                            _ => argmax(&fwd.y[r * o..(r + 1) * o]),
                        };
                        pred == labels[r] as usize
                    })
                    .count();
                let mut q = vec![("accuracy", hits as f64 / n)];
                if task == AmeTask::Binary {
                    q.push(("auc", auc(&fwd.y, labels)));
                }
                let mut classes: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
                classes.sort_unstable();
                classes.dedup();
                let by_class = classes
                    .into_iter()
                    .map(|c| {
                        let rs: Vec<usize> =
                            (0..rows).filter(|&r| labels[r] as usize == c).collect();
                        (c, mean_of(&rs))
                    })
                    .collect();
                (q, by_class)
            }
        };
        AmeEvaluation {
            rows,
            quality,
            mge,
            granger_r2,
            importance,
            importance_by_class,
        }
    }
}
