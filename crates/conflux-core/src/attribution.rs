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

    /// Concatenates batch results in order; the row indices of each part are offset by the
    /// `usize` given with it.
    pub fn concat(parts: Vec<(usize, Attribution<F>)>) -> Option<Attribution<F>> {
        let d = parts.first()?.1.scores.ncols();
        let n: usize = parts.iter().map(|(_, p)| p.len()).sum();
        let has_base = parts.iter().all(|(_, p)| p.baseline_output.is_some());
        let has_split = parts.iter().all(|(_, p)| p.split.is_some());
        let (mut rows, mut targets, mut output) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut base = Vec::new();
        let (mut scores, mut fp, mut fneg, mut bp, mut bn) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (off, p) in parts {
            rows.extend(p.rows.iter().map(|r| r + off));
            targets.extend(p.targets);
            output.extend(p.output);
            base.extend(p.baseline_output.unwrap_or_default());
            scores.extend(p.scores.into_iter());
            if let Some(sp) = p.split {
                fp.extend(sp.feat_pos.into_iter());
                fneg.extend(sp.feat_neg.into_iter());
                bp.extend(sp.bias_pos);
                bn.extend(sp.bias_neg);
            }
        }
        let mat =
            |v: Vec<F>| Array2::from_shape_vec((n, d), v).expect("parts share the feature count");
        Some(Attribution {
            rows,
            targets,
            output,
            baseline_output: has_base.then_some(base),
            scores: mat(scores),
            split: has_split.then(|| SplitScores {
                feat_pos: mat(fp),
                feat_neg: mat(fneg),
                bias_pos: bp,
                bias_neg: bn,
            }),
        })
    }
}
