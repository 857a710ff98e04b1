//! Plumbing shared by the methods that are not sign-split propagations: shape checks, target
//! resolution, per-row references and assembling the result. (No attribution maths here.)

use conflux_core::{Attribution, Error, Float, Predict, Result, Target};
use ndarray::{Array2, ArrayView2};

/// Inputs of one attribution call, checked and flattened.
pub(crate) struct Batch<F> {
    /// `[rows, d]`, standard layout.
    pub x: Array2<F>,
    /// `[1 or rows, d]`, standard layout.
    pub r: Array2<F>,
    /// Features.
    pub d: usize,
    /// Entry `e` explains output `targets[e]` of row `rows[e]`.
    pub rows: Vec<usize>,
    /// Target of each entry.
    pub targets: Vec<usize>,
    /// `F(x)[target]` of each entry.
    pub output: Vec<F>,
}

impl<F: Float> Batch<F> {
    /// Checks shapes and resolves the targets with one forward pass.
    pub fn new<M: Predict<F> + ?Sized>(
        method: &'static str,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Self> {
        let d = model.input_dim();
        let rows = x.nrows();
        if x.ncols() != d {
            return Err(Error::Shape {
                op: method,
                expected: format!("inputs with {d} features"),
                got: x.ncols().to_string(),
            });
        }
        if reference.ncols() != d || (reference.nrows() != 1 && reference.nrows() != rows) {
            return Err(Error::Shape {
                op: method,
                expected: format!("a reference of 1 or {rows} rows × {d} features"),
                got: format!("{} × {}", reference.nrows(), reference.ncols()),
            });
        }
        target.validate(model.output_dim())?;
        let x = x.as_standard_layout().into_owned();
        let r = reference.as_standard_layout().into_owned();
        let n = model.output_dim();
        let out = model.predict(x.as_slice().expect("standard layout"), rows);
        let (mut rs, mut ts, mut os) = (Vec::new(), Vec::new(), Vec::new());
        for (b, o) in out.chunks_exact(n).enumerate() {
            for t in target.resolve(o) {
                rs.push(b);
                ts.push(t);
                os.push(o[t]);
            }
        }
        Ok(Batch {
            x,
            r,
            d,
            rows: rs,
            targets: ts,
            output: os,
        })
    }

    /// Input row `b`.
    pub fn x_row(&self, b: usize) -> &[F] {
        &self.x.as_slice().expect("standard layout")[b * self.d..(b + 1) * self.d]
    }

    /// The reference of input row `b`.
    pub fn r_row(&self, b: usize) -> &[F] {
        let i = if self.r.nrows() == 1 { 0 } else { b };
        &self.r.as_slice().expect("standard layout")[i * self.d..(i + 1) * self.d]
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The result from per-entry scores (`[entries, d]`) and optional baseline outputs.
    pub fn finish(self, scores: Vec<F>, baseline: Option<Vec<F>>) -> Attribution<F> {
        let e = self.rows.len();
        Attribution {
            rows: self.rows,
            targets: self.targets,
            output: self.output,
            baseline_output: baseline,
            scores: Array2::from_shape_vec((e, self.d), scores).expect("entries × d scores"),
            split: None,
        }
    }
}

/// Runs `f` for every entry in parallel (rayon) and concatenates the `d`-long results.
pub(crate) fn per_entry<F: Float>(
    n: usize,
    d: usize,
    f: impl Fn(usize) -> Vec<F> + Sync + Send,
) -> Vec<F> {
    use rayon::prelude::*;
    let parts: Vec<Vec<F>> = (0..n).into_par_iter().map(f).collect();
    let mut out = Vec::with_capacity(n * d);
    for p in parts {
        debug_assert_eq!(p.len(), d);
        out.extend(p);
    }
    out
}

/// `∂F_t/∂x` at many points (`[n, d]`, one target each), in parallel blocks of rows.
pub(crate) fn par_gradient<F: Float, M: conflux_core::Gradient<F> + ?Sized>(
    model: &M,
    points: &[F],
    targets: &[usize],
    d: usize,
) -> Vec<F> {
    use rayon::prelude::*;
    let block = model.block_rows().max(1);
    let parts: Vec<Vec<F>> = points
        .par_chunks(block * d)
        .zip(targets.par_chunks(block))
        .map(|(p, t)| model.gradient(p, t.len(), t))
        .collect();
    parts.concat()
}

/// Model outputs at many points (`[n, d]`), in parallel blocks of rows.
pub(crate) fn par_predict<F: Float, M: Predict<F> + ?Sized>(
    model: &M,
    points: &[F],
    d: usize,
) -> Vec<F> {
    use rayon::prelude::*;
    let block = model.block_rows().max(1);
    let parts: Vec<Vec<F>> = points
        .par_chunks(block * d)
        .map(|p| model.predict(p, p.len() / d))
        .collect();
    parts.concat()
}

/// `mean_k (m_k ⊙ ∇F_t(p_k))` over `n` sampled points `p_k` per entry, where
/// `draw(row, rng, p, m)` appends one point and its per-feature multiplier (the noise
/// methods: SmoothGrad, Gradient SHAP). Row `r` draws from its own stream of `seed`.
pub(crate) fn mean_sampled_gradients<F: Float, M: conflux_core::Gradient<F> + ?Sized>(
    model: &M,
    b: &Batch<F>,
    n: usize,
    seed: u64,
    draw: impl Fn(usize, &mut crate::rng::Rng, &mut Vec<F>, &mut Vec<F>),
) -> Vec<F> {
    let d = b.d;
    let mut points = Vec::with_capacity(b.len() * n * d);
    let mut mults = Vec::with_capacity(b.len() * n * d);
    let mut targets = Vec::with_capacity(b.len() * n);
    for (&row, &t) in b.rows.iter().zip(&b.targets) {
        let mut rng = crate::rng::Rng::for_row(seed, row);
        for _ in 0..n {
            draw(row, &mut rng, &mut points, &mut mults);
            targets.push(t);
        }
    }
    let g = par_gradient(model, &points, &targets, d);
    let inv = F::of(1.0 / n as f64);
    let mut scores = vec![F::zero(); b.len() * d];
    for (k, (gr, mr)) in g.chunks_exact(d).zip(mults.chunks_exact(d)).enumerate() {
        let e = k / n;
        for f in 0..d {
            scores[e * d + f] += inv * gr[f] * mr[f];
        }
    }
    scores
}
