//! The result of an attribution: one entry per (input row, target).

use ndarray::Array2;

use crate::float::Float;

/// Positive/negative split scores (CAFE), per entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitScores<F> {
    /// `S+[f]`, `[entries, features]`.
    pub feat_pos: Array2<F>,
    /// `S−[f]`, `[entries, features]`.
    pub feat_neg: Array2<F>,
    /// `B+` per entry.
    pub bias_pos: Vec<F>,
    /// `B−` per entry.
    pub bias_neg: Vec<F>,
}

/// Scores for a batch: entry `i` explains output `targets[i]` of input row `rows[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution<F> {
    /// Input row (0-based, within the batch) of each entry.
    pub rows: Vec<usize>,
    /// Explained output of each entry.
    pub targets: Vec<usize>,
    /// The explained value `F(x)[target]` (logits unless probabilities are explained).
    pub output: Vec<F>,
    /// The baseline the scores are relative to (CAFE: `F₀(r)[target]`), if any.
    pub baseline_output: Option<Vec<F>>,
    /// Joint scores (`S+ − S−` for split methods), `[entries, features]`.
    pub scores: Array2<F>,
    /// The positive/negative split, for methods that have one.
    pub split: Option<SplitScores<F>>,
}

impl<F: Float> Attribution<F> {
    /// Appends `other` (a later batch whose input row 0 is row `offset` here), entry by
    /// entry. Both must have the same parts (baseline, split) and feature count.
    pub fn append(&mut self, other: Attribution<F>, offset: usize) {
        self.rows.extend(other.rows.iter().map(|r| r + offset));
        self.targets.extend(other.targets);
        self.output.extend(other.output);
        if let (Some(a), Some(b)) = (&mut self.baseline_output, other.baseline_output) {
            a.extend(b);
        }
        let cat = |a: &Array2<F>, b: &Array2<F>| {
            ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()]).expect("same width")
        };
        self.scores = cat(&self.scores, &other.scores);
        if let (Some(a), Some(b)) = (&mut self.split, other.split) {
            a.feat_pos = cat(&a.feat_pos, &b.feat_pos);
            a.feat_neg = cat(&a.feat_neg, &b.feat_neg);
            a.bias_pos.extend(b.bias_pos);
            a.bias_neg.extend(b.bias_neg);
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// `true` when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Per entry: `Σ scores + (B+ − B−) − (output − baseline_output)`, or `None` when the
    /// method has no baseline (claims no completeness).
    pub fn completeness_gap(&self) -> Option<Vec<F>> {
        let base = self.baseline_output.as_ref()?;
        Some(
            (0..self.len())
                .map(|i| {
                    let mut s: F = self.scores.row(i).iter().copied().sum();
                    if let Some(sp) = &self.split {
                        s += sp.bias_pos[i] - sp.bias_neg[i];
                    }
                    s - (self.output[i] - base[i])
                })
                .collect(),
        )
    }
}
