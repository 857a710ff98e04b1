//! CAFE — Conflict-Aware Feature-wise Explanations.
//!
//! For each feature a positive score `S+` (how much it pushed the explained output up) and a
//! negative score `S−` (how much it pushed it down), plus the same two scores for the
//! network's biases taken together. Each activation layer has a conflict-sensitivity
//! constant `c ∈ [0, 1]`: at `c = 0` only observed (linearised) effects count; at `c = 1`
//! effects cancelled by conflicting features are surfaced on both sides.
//!
//! Paper: Dejl, Ayoobi, Williams, Toni, "CAFE: Conflict-Aware Feature-wise Explanations".
//! Normative rules: `shared/spec/cafe.md`.
//!
//! # Shapes
//! `x`: `[batch, d]` in the network's input space; `reference`: `[1, d]` (shared) or
//! `[batch, d]`. Result: one entry per (row, target), scores `[entries, d]`.
//!
//! # Axioms
//! Completeness against the *bias-ablated* network at the reference, `F₀(r)`; missingness;
//! linearity of the joint scores; non-negative split scores.
//!
//! # Cost
//! Reverse mode: one forward and two backward passes per target; forward mode: `d + 1`
//! forward passes for all outputs at once. [`Mode::Auto`] picks the cheaper.
//!
//! # Errors
//! A `c` list whose length is neither 1 nor the number of activation layers; shapes that do
//! not match the network; a target out of range.
//!
//! # Example
//! The XNOR-style conflict of cafe.md: both features cancel inside the hidden layer.
//! ```
//! use conflux_core::{Target, io::json};
//! use conflux_methods::{Attributor, cafe::CafeParams};
//! use ndarray::array;
//! let net = json::from_str(r#"{"input_dim": 2, "layers": [
//!   {"type": "linear", "weight": [[1, -1], [-1, 1]], "bias": null}, {"type": "relu"},
//!   {"type": "linear", "weight": [[-1, -1]], "bias": [1]}]}"#)?;
//! let plan = conflux_core::Plan::<f64>::new(&net, false)?;
//! let x = array![[1.0, 1.0]];
//! let r = array![[0.0, 0.0]];
//! let a = CafeParams::new().c([1.0]).build()?.attribute(&plan, x.view(), r.view(), Target::Index(0))?;
//! let s = a.split.as_ref().unwrap();
//! assert!((s.feat_pos[[0, 0]] - 1.0).abs() < 1e-6 && (s.feat_neg[[0, 0]] - 1.0).abs() < 1e-6);
//! assert!(a.scores[[0, 0]].abs() < 1e-9 && (s.bias_pos[0] - 1.0).abs() < 1e-12);
//! # Ok::<(), conflux_core::Error>(())
//! ```

mod forward;
pub mod max_pool;
pub mod params;
mod reverse;
pub mod rule;

use conflux_core::{Attribution, Error, Float, Plan, Result, SplitScores, Target};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

pub use params::{CafeParams, Mode};

use crate::method::{Attributor, Axiom, MethodId};
use crate::propagate::walk::{ReferenceTrace, Split, Workspace};
use rule::CafeRule;

/// Reverse-mode chunks hold at most about this many elements per tensor (128 KiB in f32:
/// the walk's working set of a few such tensors then stays in L2; on the bench CNN, 5-row
/// chunks run 1.15× faster than 20-row ones and 1.6× faster than 83-row ones).
const CACHE_ELEMENTS: usize = 1 << 15;

/// Forward-mode chunks hold at most this many (row, source) pairs.
const FORWARD_MODE_STATE_ROWS: usize = 8192;

/// CAFE with validated parameters (build with [`CafeParams`]).
#[derive(Debug, Clone)]
pub struct Cafe {
    c: Vec<f64>,
    mode: Mode,
    chunk_rows: usize,
}

/// One chunk's part of the result: entries (row, target, output, baseline) and split
/// scores, row-major `[entries, d]`, written in place into the batch's output arrays.
pub(crate) struct ChunkScores<'a, F> {
    rows: &'a mut [usize],
    targets: &'a mut [usize],
    output: &'a mut [F],
    baseline: &'a mut [F],
    scores: &'a mut [F],
    feat_pos: &'a mut [F],
    feat_neg: &'a mut [F],
    bias_pos: &'a mut [F],
    bias_neg: &'a mut [F],
}

/// The inputs of one chunk of rows.
pub(crate) struct Chunk<'a, F> {
    plan: &'a Plan<F>,
    /// `[rows, d]`, the network's input space.
    x: &'a [F],
    /// The reference rows: 1 (shared) or `rows`.
    r: &'a [F],
    rows: usize,
    trace: &'a ReferenceTrace<F>,
    rule: &'a CafeRule<F>,
    target: Target,
}

impl<F: Float> Chunk<'_, F> {
    /// cafe.md §Input rule, per row: `(x − r)₊` and `(r − x)₊`, `[rows, d]`.
    fn input_split(&self) -> Split<F> {
        let d = self.plan.input_dim();
        let mut pos = vec![F::zero(); self.rows * d];
        let mut neg = vec![F::zero(); self.rows * d];
        for b in 0..self.rows {
            // One shared reference row, or one per input row.
            let rb = if self.r.len() == d { 0 } else { b };
            for f in 0..d {
                let delta = self.x[b * d + f] - self.r[rb * d + f];
                pos[b * d + f] = delta.max(F::zero());
                neg[b * d + f] = (-delta).max(F::zero());
            }
        }
        Split {
            pos,
            neg,
            rows: self.rows,
            width: d,
        }
    }
}

/// Splits the first `n` elements off `s`.
fn take<'a, T>(s: &mut &'a mut [T], n: usize) -> &'a mut [T] {
    let (head, tail) = std::mem::take(s).split_at_mut(n);
    *s = tail;
    head
}

impl<F: Float> ChunkScores<'_, F> {
    /// Fills rows, targets and outputs for `target` from the chunk's outputs (`[rows, n]`).
    fn resolve(&mut self, logits: &[F], n: usize, target: Target) {
        let mut e = 0;
        for (b, out) in logits.chunks_exact(n).enumerate() {
            for t in target.resolve(out) {
                self.rows[e] = b;
                self.targets[e] = t;
                self.output[e] = out[t];
                e += 1;
            }
        }
        debug_assert_eq!(e, self.len());
    }

    fn len(&self) -> usize {
        self.rows.len()
    }
}

impl Cafe {
    /// The conflict-sensitivity constants as given (one, or one per activation layer).
    pub fn c(&self) -> &[f64] {
        &self.c
    }

    /// `c` for each activation slot of `plan`.
    ///
    /// # Errors
    /// [`Error::Param`] when the list length is neither 1 nor the number of activation layers.
    pub fn c_per_layer<F: Float>(&self, plan: &Plan<F>) -> Result<Vec<F>> {
        let n = plan.activation_layers();
        match self.c.len() {
            1 => Ok(vec![F::of(self.c[0]); n]),
            k if k == n => Ok(self.c.iter().map(|&c| F::of(c)).collect()),
            k => Err(Error::param(
                "cafe",
                "c",
                format!("{:?}", self.c),
                format!("expected 1 value or {n} (one per activation layer), got {k}"),
            )),
        }
    }

    /// The formulation used for `targets_per_row` targets on `d` features.
    pub fn resolved_mode(&self, d: usize, targets_per_row: usize) -> Mode {
        match self.mode {
            Mode::Auto if d < 2 * targets_per_row => Mode::Forward,
            Mode::Auto => Mode::Reverse,
            m => m,
        }
    }

    /// Explains one chunk of rows (the first is row `first` of the batch) into `s`.
    #[allow(clippy::too_many_arguments)]
    fn chunk<F: Float>(
        &self,
        plan: &Plan<F>,
        x: &[F],
        r: &[F],
        first: usize,
        shared: Option<&ReferenceTrace<F>>,
        rule: &CafeRule<F>,
        target: Target,
        ws: &mut Workspace<F>,
        s: &mut ChunkScores<F>,
    ) {
        let d = plan.input_dim();
        let n = plan.output_dim();
        let rows = x.len() / d;
        if rows == 0 {
            return;
        }
        let local;
        let trace = if let Some(t) = shared {
            t
        } else {
            local = ReferenceTrace::new(plan, r, rows, Some(x));
            &local
        };
        let c = Chunk {
            plan,
            x,
            r,
            rows,
            trace,
            rule,
            target,
        };
        match self.resolved_mode(d, target.per_row(n)) {
            Mode::Forward => forward::run(&c, ws, s),
            _ => reverse::run(&c, ws, s),
        }
        for e in 0..s.len() {
            s.baseline[e] = trace.output[trace.row_of(s.rows[e]) * n + s.targets[e]];
            s.rows[e] += first;
        }
        for ((v, &p), &q) in s
            .scores
            .iter_mut()
            .zip(s.feat_pos.iter())
            .zip(s.feat_neg.iter())
        {
            *v = p - q;
        }
    }
}

impl<F: Float> Attributor<Plan<F>, F> for Cafe {
    fn id(&self) -> MethodId {
        MethodId::Cafe
    }

    fn axioms(&self) -> &'static [Axiom] {
        &[
            Axiom::Completeness,
            Axiom::Missingness,
            Axiom::Linearity,
            Axiom::NonNegSplit,
        ]
    }

    fn attribute(
        &self,
        plan: &Plan<F>,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        let d = plan.input_dim();
        let batch = x.nrows();
        if x.ncols() != d {
            return Err(Error::Shape {
                op: "cafe",
                expected: format!("inputs with {d} features"),
                got: format!("{}", x.ncols()),
            });
        }
        if reference.ncols() != d || (reference.nrows() != 1 && reference.nrows() != batch) {
            return Err(Error::Shape {
                op: "cafe",
                expected: format!("a reference of 1 or {batch} rows × {d} features"),
                got: format!("{} × {}", reference.nrows(), reference.ncols()),
            });
        }
        target.validate(plan.output_dim())?;
        let rule = CafeRule {
            c: self.c_per_layer(plan)?,
        };
        let x = x.as_standard_layout();
        let r = reference.as_standard_layout();
        let (xs, rs) = (
            x.as_slice().expect("standard layout"),
            r.as_slice().expect("standard layout"),
        );
        let shared = (reference.nrows() == 1 && !plan.has_gates())
            .then(|| ReferenceTrace::new(plan, rs, 1, None));
        // Chunks small enough that one tensor of the widest layer stays in cache (image
        // networks have tensors of thousands of elements per row).
        let mut chunk = self
            .chunk_rows
            .min((CACHE_ELEMENTS / plan.max_width().max(1)).max(1));
        if self.resolved_mode(d, target.per_row(plan.output_dim())) == Mode::Forward {
            chunk = chunk.min((FORWARD_MODE_STATE_ROWS / (d + 1)).max(1));
        }
        let n_chunks = batch.div_ceil(chunk).max(1);
        // The result arrays are allocated once; each chunk writes its own slice of them.
        let per_row = target.per_row(plan.output_dim());
        let entries = batch * per_row;
        let (mut rows, mut targets) = (vec![0; entries], vec![0; entries]);
        let (mut output, mut baseline, mut bias_pos, mut bias_neg) = (
            vec![F::zero(); entries],
            vec![F::zero(); entries],
            vec![F::zero(); entries],
            vec![F::zero(); entries],
        );
        let (mut scores, mut feat_pos, mut feat_neg) = (
            vec![F::zero(); entries * d],
            vec![F::zero(); entries * d],
            vec![F::zero(); entries * d],
        );
        let mut jobs = Vec::with_capacity(n_chunks);
        {
            let (mut r_, mut t_, mut o_, mut b_, mut bp_, mut bn_) = (
                &mut rows[..],
                &mut targets[..],
                &mut output[..],
                &mut baseline[..],
                &mut bias_pos[..],
                &mut bias_neg[..],
            );
            let (mut s_, mut p_, mut n_) = (&mut scores[..], &mut feat_pos[..], &mut feat_neg[..]);
            for i in 0..n_chunks {
                let (lo, hi) = (i * chunk, ((i + 1) * chunk).min(batch));
                let e = (hi - lo) * per_row;
                let view = ChunkScores {
                    rows: take(&mut r_, e),
                    targets: take(&mut t_, e),
                    output: take(&mut o_, e),
                    baseline: take(&mut b_, e),
                    bias_pos: take(&mut bp_, e),
                    bias_neg: take(&mut bn_, e),
                    scores: take(&mut s_, e * d),
                    feat_pos: take(&mut p_, e * d),
                    feat_neg: take(&mut n_, e * d),
                };
                jobs.push((lo, hi, view));
            }
        }
        let work = |ws: &mut Workspace<F>, (lo, hi, mut view): (usize, usize, ChunkScores<F>)| {
            let r_rows = if reference.nrows() == 1 {
                rs
            } else {
                &rs[lo * d..hi * d]
            };
            self.chunk(
                plan,
                &xs[lo * d..hi * d],
                r_rows,
                lo,
                shared.as_ref(),
                &rule,
                target,
                ws,
                &mut view,
            );
        };
        if n_chunks == 1 {
            let mut ws = Workspace::default();
            jobs.into_iter().for_each(|j| work(&mut ws, j));
        } else {
            // One workspace per worker split, reused across its chunks.
            jobs.into_par_iter().for_each_init(Workspace::default, work);
        }
        let mat = |v| Array2::from_shape_vec((entries, d), v).expect("entries × d");
        Ok(Attribution {
            rows,
            targets,
            output,
            baseline_output: Some(baseline),
            scores: mat(scores),
            split: Some(SplitScores {
                feat_pos: mat(feat_pos),
                feat_neg: mat(feat_neg),
                bias_pos,
                bias_neg,
            }),
        })
    }
}
