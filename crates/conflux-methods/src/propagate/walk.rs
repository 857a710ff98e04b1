//! The only layer walk: sign-split state carried forward through a [`Plan`] and adjoints
//! carried backward.
//!
//! State is a pair of non-negative matrices `(pos, neg)` of shape `[rows, width]`. Rows are
//! grouped: the `group` consecutive rows of one input share one set of per-neuron aggregates
//! (`group = 1` carries aggregates only, `group = d + 1` carries every source separately —
//! cafe.md §Computing it fast). Linear layers apply the sign-split linear rule, evaluated as
//! `pos' = (|W|·(pos+neg) + W·(pos−neg))/2`, `neg' = (|W|·(pos+neg) − W·(pos−neg))/2`, which
//! equals `W⁺pos + W⁻neg` / `W⁻pos + W⁺neg` with half the multiply-adds.

use conflux_core::linalg;
use conflux_core::{Float, Op, Plan};

use super::rule::{ActivationRule, Aggregates, Multipliers};

/// Sign-split scores or adjoints: `rows × width`, row-major. The vectors may be longer
/// (buffers are reused across layers); only the first `rows × width` values are meaningful.
#[derive(Debug, Clone)]
pub struct Split<F> {
    /// Non-negative positive part.
    pub pos: Vec<F>,
    /// Non-negative negative part.
    pub neg: Vec<F>,
    /// Rows.
    pub rows: usize,
    /// Columns (neurons).
    pub width: usize,
}

/// The bias-ablated network `F₀` evaluated at the reference(s): the pre-activation `ρ` at
/// every activation layer and the output. One row (shared reference) or one per input row.
#[derive(Debug, Clone)]
pub struct ReferenceTrace<F> {
    /// `ρ` per activation slot, `[ref_rows, width]`.
    pub pre_act: Vec<Vec<F>>,
    /// `φ(ρ)` per activation slot, `[ref_rows, width]`.
    pub post_act: Vec<Vec<F>>,
    /// `F₀(r)` at the explained outputs, `[ref_rows, outputs]`.
    pub output: Vec<F>,
    /// 1 (shared) or the number of input rows.
    pub rows: usize,
}

impl<F: Float> ReferenceTrace<F> {
    /// Evaluates `F₀` on `rows` reference rows (row-major, preprocessed).
    pub fn new(plan: &Plan<F>, reference: &[F], rows: usize) -> Self {
        let mut cur = reference.to_vec();
        let mut pre_act = Vec::with_capacity(plan.activation_layers());
        let mut post_act = Vec::with_capacity(plan.activation_layers());
        for op in plan.ops() {
            match op {
                Op::Dense(d) => {
                    let mut next = vec![F::zero(); rows * d.n_out];
                    linalg::mul_wt(&cur, rows, d.n_in, &d.w, d.n_out, &mut next);
                    cur = next;
                }
                Op::Affine(a) => {
                    for row in cur.chunks_exact_mut(a.scale.len()) {
                        for (v, &s) in row.iter_mut().zip(&a.scale) {
                            *v *= s;
                        }
                    }
                }
                Op::Act { act, .. } => {
                    pre_act.push(cur.clone());
                    for v in &mut cur {
                        *v = act.apply(*v);
                    }
                    post_act.push(cur.clone());
                }
            }
        }
        ReferenceTrace {
            pre_act,
            post_act,
            output: cur,
            rows,
        }
    }

    /// The reference row used by input row `b`.
    #[inline]
    pub fn row_of(&self, b: usize) -> usize {
        if self.rows == 1 { 0 } else { b }
    }
}

/// Which state rows receive the bias source's contribution.
#[derive(Debug, Clone, Copy)]
pub enum BiasRows {
    /// Every row (aggregates: the bias is one of the summed sources).
    All,
    /// Only the last row of each group of `group` rows (forward mode: the bias source).
    LastOfGroup,
}

/// Buffers reused across layers and across calls (one per worker), so a walk allocates
/// nothing once warm; also holds the multipliers recorded by [`walk_forward`] for
/// [`walk_backward`].
#[derive(Debug, Default)]
pub struct Workspace<F> {
    sum: Vec<F>,
    diff: Vec<F>,
    s: Vec<F>,
    t: Vec<F>,
    e_pos: Vec<F>,
    e_neg: Vec<F>,
    /// Per activation slot, the multipliers of the last forward walk with `record`.
    pub recorded: Vec<Multipliers<F>>,
    /// Per adjoint row, the bias score collected by the last backward walk.
    pub bias: Vec<F>,
}

/// Grows `v` to at least `n` elements (never shrinks, so a warm workspace neither allocates
/// nor clears); callers use `v[..n]`, which they overwrite or clear themselves.
fn ensure<F: Float>(v: &mut Vec<F>, n: usize) {
    if v.len() < n {
        v.resize(n, F::zero());
    }
}

/// The sign-split linear rule for a dense layer, in place on `state` (forward: `W`;
/// transposed: `Wᵀ`). `bias_row(r)` says whether row `r` receives the bias source.
fn dense_split<F: Float>(
    state: &mut Split<F>,
    d: &conflux_core::DenseOp<F>,
    transposed: bool,
    bias_row: impl Fn(usize) -> bool,
    ws: &mut Workspace<F>,
) {
    let rows = state.rows;
    let (n_in, n_out) = if transposed {
        (d.n_out, d.n_in)
    } else {
        (d.n_in, d.n_out)
    };
    let (len_in, len_out) = (rows * n_in, rows * n_out);
    ensure(&mut ws.sum, len_in);
    ensure(&mut ws.diff, len_in);
    ensure(&mut ws.s, len_out);
    ensure(&mut ws.t, len_out);
    let (sum, diff) = (&mut ws.sum[..len_in], &mut ws.diff[..len_in]);
    for (((s, t), &p), &n) in sum
        .iter_mut()
        .zip(diff.iter_mut())
        .zip(&state.pos[..len_in])
        .zip(&state.neg[..len_in])
    {
        *s = p + n;
        *t = p - n;
    }
    let (s_out, t_out) = (&mut ws.s[..len_out], &mut ws.t[..len_out]);
    if transposed {
        linalg::mul_w(sum, rows, n_in, &d.w_abs, n_out, s_out);
        linalg::mul_w(diff, rows, n_in, &d.w, n_out, t_out);
    } else {
        linalg::mul_wt(sum, rows, n_in, &d.w_abs, n_out, s_out);
        linalg::mul_wt(diff, rows, n_in, &d.w, n_out, t_out);
        if let Some(b) = &d.bias {
            for r in (0..rows).filter(|&r| bias_row(r)) {
                let range = r * n_out..(r + 1) * n_out;
                for ((sv, tv), &bj) in s_out[range.clone()]
                    .iter_mut()
                    .zip(&mut t_out[range])
                    .zip(b)
                {
                    *sv += bj.abs();
                    *tv += bj;
                }
            }
        }
    }
    // pos = (s + t)/2, neg = (s − t)/2, clamped at 0 against rounding.
    let half = F::of(0.5);
    for (a, b) in s_out.iter_mut().zip(t_out.iter_mut()) {
        let (x, y) = (*a, *b);
        *a = ((x + y) * half).max(F::zero());
        *b = ((x - y) * half).max(F::zero());
    }
    std::mem::swap(&mut state.pos, &mut ws.s);
    std::mem::swap(&mut state.neg, &mut ws.t);
    state.width = n_out;
}

/// Walks `state` forward through `plan` in place. `group` consecutive rows belong to one
/// input row. The multipliers of every activation layer are left in `ws.recorded` (for a
/// backward sweep).
pub fn walk_forward<F: Float, R: ActivationRule<F>>(
    plan: &Plan<F>,
    state: &mut Split<F>,
    group: usize,
    bias_rows: BiasRows,
    reference: &ReferenceTrace<F>,
    rule: &R,
    ws: &mut Workspace<F>,
) {
    let is_bias_row = |r: usize| match bias_rows {
        BiasRows::All => true,
        BiasRows::LastOfGroup => r % group == group - 1,
    };
    ws.recorded.resize_with(
        plan.activation_layers().max(ws.recorded.len()),
        Multipliers::default,
    );
    for op in plan.ops() {
        match op {
            Op::Dense(d) => dense_split(state, d, false, is_bias_row, ws),
            Op::Affine(a) => {
                let n = a.scale.len();
                for r in 0..state.rows {
                    let bias = is_bias_row(r);
                    let (p, q) = (
                        &mut state.pos[r * n..(r + 1) * n],
                        &mut state.neg[r * n..(r + 1) * n],
                    );
                    for j in 0..n {
                        let (g, h) = (a.scale[j], if bias { a.shift[j] } else { F::zero() });
                        let (gp, gn) = (g.max(F::zero()), (-g).max(F::zero()));
                        let (pv, nv) = (p[j], q[j]);
                        p[j] = gp * pv + gn * nv + h.max(F::zero());
                        q[j] = gn * pv + gp * nv + (-h).max(F::zero());
                    }
                }
            }
            Op::Act { act, slot, width } => {
                let n = *width;
                let inputs = state.rows / group;
                let (rho, f_rho) = (&reference.pre_act[*slot], &reference.post_act[*slot]);
                // Per-neuron aggregates: the state itself when each input has one row.
                if group > 1 {
                    group_sums(state, group, &mut ws.e_pos, &mut ws.e_neg);
                }
                let (e_pos, e_neg): (&[F], &[F]) = if group == 1 {
                    (&state.pos, &state.neg)
                } else {
                    (&ws.e_pos, &ws.e_neg)
                };
                let m = &mut ws.recorded[*slot];
                m.ensure(inputs * n);
                for b in 0..inputs {
                    let rr = reference.row_of(b) * n..(reference.row_of(b) + 1) * n;
                    let row = b * n..(b + 1) * n;
                    let agg = Aggregates {
                        rho: &rho[rr.clone()],
                        f_rho: &f_rho[rr],
                        e_pos: &e_pos[row.clone()],
                        e_neg: &e_neg[row.clone()],
                    };
                    rule.multipliers(*act, *slot, &agg, m.slice_mut(row));
                }
                apply_multipliers(state, m, group, false);
            }
        }
    }
}

/// Walks adjoints backward through `plan` in place with the transposed rules (cafe.md
/// §Computing it fast, reverse mode). `group` adjoint rows share the multipliers of one input
/// row (`ws.recorded` from [`walk_forward`]). Leaves the adjoints at the input in `g` and,
/// per adjoint row, the bias score collected at every linear layer's output in `ws.bias`.
pub fn walk_backward<F: Float>(
    plan: &Plan<F>,
    g: &mut Split<F>,
    group: usize,
    ws: &mut Workspace<F>,
) {
    ensure(&mut ws.bias, g.rows);
    ws.bias[..g.rows].fill(F::zero());
    for op in plan.ops().iter().rev() {
        match op {
            Op::Dense(d) => {
                if let (Some(b_pos), Some(b_neg)) = (&d.bias_pos, &d.bias_neg) {
                    let n = d.n_out;
                    for (r, acc) in ws.bias[..g.rows].iter_mut().enumerate() {
                        *acc += linalg::dot(&g.pos[r * n..(r + 1) * n], b_pos)
                            + linalg::dot(&g.neg[r * n..(r + 1) * n], b_neg);
                    }
                }
                dense_split(g, d, true, |_| false, ws);
            }
            Op::Affine(a) => {
                let n = a.scale.len();
                for (r, acc) in ws.bias[..g.rows].iter_mut().enumerate() {
                    let (p, q) = (
                        &mut g.pos[r * n..(r + 1) * n],
                        &mut g.neg[r * n..(r + 1) * n],
                    );
                    for j in 0..n {
                        let (s, h) = (a.scale[j], a.shift[j]);
                        *acc += p[j] * h.max(F::zero()) + q[j] * (-h).max(F::zero());
                        let (sp, sn) = (s.max(F::zero()), (-s).max(F::zero()));
                        let (pv, nv) = (p[j], q[j]);
                        p[j] = sp * pv + sn * nv;
                        q[j] = sn * pv + sp * nv;
                    }
                }
            }
            Op::Act { slot, .. } => apply_multipliers(g, &ws.recorded[*slot], group, true),
        }
    }
}

/// Per input, the sums over its `group` rows: the aggregates `e+`, `e−` of every neuron.
fn group_sums<F: Float>(state: &Split<F>, group: usize, e_pos: &mut Vec<F>, e_neg: &mut Vec<F>) {
    let n = state.width;
    let inputs = state.rows / group;
    ensure(e_pos, inputs * n);
    ensure(e_neg, inputs * n);
    e_pos[..inputs * n].fill(F::zero());
    e_neg[..inputs * n].fill(F::zero());
    for r in 0..state.rows {
        let (b, src) = (r / group, r * n..(r + 1) * n);
        let dst = b * n..(b + 1) * n;
        for (a, &x) in e_pos[dst.clone()].iter_mut().zip(&state.pos[src.clone()]) {
            *a += x;
        }
        for (a, &x) in e_neg[dst].iter_mut().zip(&state.neg[src]) {
            *a += x;
        }
    }
}

/// Applies per-neuron multipliers to every row; row `r` uses the multipliers of input
/// `r / group`. Forward: `pos' = M++·pos + M−+·neg`, `neg' = M+−·pos + M−−·neg`; transposed
/// (adjoints): `pos' = M++·pos + M+−·neg`, `neg' = M−+·pos + M−−·neg`.
fn apply_multipliers<F: Float>(
    s: &mut Split<F>,
    m: &Multipliers<F>,
    group: usize,
    transposed: bool,
) {
    let (n, len) = (s.width, s.rows * s.width);
    for (r, (p, q)) in s.pos[..len]
        .chunks_exact_mut(n)
        .zip(s.neg[..len].chunks_exact_mut(n))
        .enumerate()
    {
        let row = (r / group) * n..(r / group + 1) * n;
        let (pp, pn, np, nn) = (
            &m.pp[row.clone()],
            &m.pn[row.clone()],
            &m.np[row.clone()],
            &m.nn[row],
        );
        let (to_pos_from_neg, to_neg_from_pos) = if transposed { (pn, np) } else { (np, pn) };
        for j in 0..n {
            let (pv, nv) = (p[j], q[j]);
            p[j] = pp[j] * pv + to_pos_from_neg[j] * nv;
            q[j] = to_neg_from_pos[j] * pv + nn[j] * nv;
        }
    }
}
