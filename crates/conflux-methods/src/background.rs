//! Attributions averaged over a background distribution of reference rows (DeepLiftShap's
//! and SHAP's background semantics, for any method that takes a reference), in bounded
//! memory: the background is visited in blocks, each block explaining every input row
//! against each of its reference rows in one call, and only running sums are kept — memory
//! does not grow with rows × background rows.
//!
//! Every part of the result is the mean over the background: scores, the CAFE split
//! (`feat_pos`, `feat_neg`, `bias_pos`, `bias_neg`) and `baseline_output`, so completeness
//! holds for the means exactly when it holds for each reference. Outputs and targets do not
//! depend on the reference.

use std::collections::HashMap;

use conflux_core::{Attribution, Error, Float, Result, SplitScores};
use ndarray::{Array2, ArrayView2};

/// What a batch of rows is explained against.
#[derive(Debug, Clone, Copy)]
pub enum Against<'a, F> {
    /// One reference row shared by every row, or one per row (the batch's slice).
    Rows(ArrayView2<'a, F>),
    /// A background: every row against every one of its rows, averaged.
    Background(ArrayView2<'a, F>),
}

/// Explains one batch of `x` with `method` (through `attribute`, which runs it on a
/// network or a black box) against `against`; a background is averaged in calls sized as
/// a batch of `batch_rows` rows is.
///
/// # Errors
/// As [`average`] and `attribute`.
pub fn explain_batch<F, A>(
    method: &crate::spec::Method,
    x: ArrayView2<F>,
    against: Against<'_, F>,
    batch_rows: usize,
    attribute: A,
) -> Result<Attribution<F>>
where
    F: Float,
    A: FnMut(ArrayView2<F>, ArrayView2<F>) -> Result<Attribution<F>>,
{
    match against {
        Against::Rows(r) => {
            let mut attribute = attribute;
            attribute(x, r)
        }
        Against::Background(b) => average(x, b, method.background_entries(batch_rows), attribute),
    }
}

/// `attribute(x, r)` averaged over the rows of `background`. `attribute` explains its `x`
/// against a reference of one row (shared) or one row per input row; calls hold at most
/// `max(rows, max_entries)` input rows (the input rows repeated for a block of background
/// rows).
///
/// # Errors
/// An empty background, or what `attribute` returns.
pub fn average<F, A>(
    x: ArrayView2<F>,
    background: ArrayView2<F>,
    max_entries: usize,
    mut attribute: A,
) -> Result<Attribution<F>>
where
    F: Float,
    A: FnMut(ArrayView2<F>, ArrayView2<F>) -> Result<Attribution<F>>,
{
    let (rows, d) = x.dim();
    let n_bg = background.nrows();
    if n_bg == 0 {
        return Err(Error::param(
            "reference",
            "reference-mode",
            "average",
            "the background holds no rows",
        ));
    }
    if background.ncols() != d {
        return Err(Error::Shape {
            op: "reference",
            expected: format!("background rows of {d} features"),
            got: background.ncols().to_string(),
        });
    }
    // Background rows per call: one (the shared-reference path of every method) when the
    // input rows fill a call, more for few input rows.
    let k = (max_entries / rows.max(1)).clamp(1, n_bg);
    let mut acc: Option<Sums<F>> = None;
    let mut start = 0;
    while start < n_bg {
        let block = k.min(n_bg - start);
        let a = if block == 1 {
            attribute(x, background.slice(ndarray::s![start..=start, ..]))?
        } else {
            // Row q = b·block + j: input row b against background row start + j.
            let xr = Array2::from_shape_fn((rows * block, d), |(q, f)| x[[q / block, f]]);
            let rr = Array2::from_shape_fn((rows * block, d), |(q, f)| {
                background[[start + q % block, f]]
            });
            attribute(xr.view(), rr.view())?
        };
        let sums = acc.get_or_insert_with(|| Sums::new(&a, block, d));
        sums.add(&a, block)?;
        start += block;
    }
    Ok(acc.expect("at least one block").finish(n_bg))
}

/// Running sums per (input row, target) entry, in `f64` whatever `F` (thousands of
/// background rows would otherwise add `n·ε_F` of rounding in `f32`).
struct Sums<F> {
    rows: Vec<usize>,
    targets: Vec<usize>,
    output: Vec<F>,
    index: HashMap<(usize, usize), usize>,
    scores: Array2<f64>,
    baseline: Option<Vec<f64>>,
    split: Option<SplitScores<f64>>,
}

impl<F: Float> Sums<F> {
    /// Entries from the first call: those of each input row's first repetition.
    fn new(a: &Attribution<F>, block: usize, d: usize) -> Self {
        let (mut rows, mut targets, mut output) = (Vec::new(), Vec::new(), Vec::new());
        let mut index = HashMap::new();
        for e in 0..a.len() {
            if a.rows[e].is_multiple_of(block) {
                let row = a.rows[e] / block;
                index.insert((row, a.targets[e]), rows.len());
                rows.push(row);
                targets.push(a.targets[e]);
                output.push(a.output[e]);
            }
        }
        let n = rows.len();
        Sums {
            rows,
            targets,
            output,
            index,
            scores: Array2::zeros((n, d)),
            baseline: a.baseline_output.as_ref().map(|_| vec![0.0; n]),
            split: a.split.as_ref().map(|_| SplitScores {
                feat_pos: Array2::zeros((n, d)),
                feat_neg: Array2::zeros((n, d)),
                bias_pos: vec![0.0; n],
                bias_neg: vec![0.0; n],
            }),
        }
    }

    fn add(&mut self, a: &Attribution<F>, block: usize) -> Result<()> {
        let add_row = |dst: ndarray::ArrayViewMut1<f64>, src: ndarray::ArrayView1<F>| {
            for (o, v) in dst.into_iter().zip(src) {
                *o += v.f64();
            }
        };
        for e in 0..a.len() {
            let key = (a.rows[e] / block, a.targets[e]);
            let Some(&i) = self.index.get(&key) else {
                return Err(Error::param(
                    "reference",
                    "reference-mode",
                    "average",
                    "the explained outputs changed with the reference (an internal error)",
                ));
            };
            add_row(self.scores.row_mut(i), a.scores.row(e));
            if let (Some(s), Some(b)) = (&mut self.baseline, &a.baseline_output) {
                s[i] += b[e].f64();
            }
            if let (Some(s), Some(p)) = (&mut self.split, &a.split) {
                add_row(s.feat_pos.row_mut(i), p.feat_pos.row(e));
                add_row(s.feat_neg.row_mut(i), p.feat_neg.row(e));
                s.bias_pos[i] += p.bias_pos[e].f64();
                s.bias_neg[i] += p.bias_neg[e].f64();
            }
        }
        Ok(())
    }

    fn finish(self, n: usize) -> Attribution<F> {
        #[allow(clippy::cast_precision_loss)]
        let n = n as f64;
        let mean = |v: f64| F::of(v / n);
        let means = |v: Vec<f64>| v.into_iter().map(mean).collect::<Vec<F>>();
        Attribution {
            rows: self.rows,
            targets: self.targets,
            output: self.output,
            baseline_output: self.baseline.map(means),
            scores: self.scores.mapv(mean),
            split: self.split.map(|s| SplitScores {
                feat_pos: s.feat_pos.mapv(mean),
                feat_neg: s.feat_neg.mapv(mean),
                bias_pos: means(s.bias_pos),
                bias_neg: means(s.bias_neg),
            }),
        }
    }
}
