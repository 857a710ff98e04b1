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

/// Sign-split scores or adjoints: `rows × width`, row-major.
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

/// Recorded multipliers of one activation layer, `[inputs, width]`.
pub type LayerMultipliers<F> = Multipliers<F>;

/// Walks `state` forward through `plan`. `group` consecutive rows belong to one input row.
/// With `record`, the multipliers of every activation layer are returned (for a backward
/// sweep).
pub fn walk_forward<F: Float, R: ActivationRule<F>>(
    plan: &Plan<F>,
    mut state: Split<F>,
    group: usize,
    bias_rows: BiasRows,
    reference: &ReferenceTrace<F>,
    rule: &R,
    record: bool,
) -> (Split<F>, Vec<LayerMultipliers<F>>) {
    let mut recorded = Vec::new();
    let is_bias_row = |r: usize| match bias_rows {
        BiasRows::All => true,
        BiasRows::LastOfGroup => r % group == group - 1,
    };
    for op in plan.ops() {
        match op {
            Op::Dense(d) => {
                let rows = state.rows;
                let (sum, diff) = sum_diff(&state.pos, &state.neg);
                let mut s = vec![F::zero(); rows * d.n_out];
                let mut t = vec![F::zero(); rows * d.n_out];
                linalg::mul_wt(&sum, rows, d.n_in, &d.w_abs, d.n_out, &mut s);
                linalg::mul_wt(&diff, rows, d.n_in, &d.w, d.n_out, &mut t);
                if let Some(b) = &d.bias {
                    for r in (0..rows).filter(|&r| is_bias_row(r)) {
                        let (sr, tr) = (
                            &mut s[r * d.n_out..(r + 1) * d.n_out],
                            &mut t[r * d.n_out..(r + 1) * d.n_out],
                        );
                        for ((sv, tv), &bj) in sr.iter_mut().zip(tr.iter_mut()).zip(b) {
                            *sv += bj.abs();
                            *tv += bj;
                        }
                    }
                }
                state = from_sum_diff(&s, &t, rows, d.n_out);
            }
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
                let sums;
                let (e_pos, e_neg): (&[F], &[F]) = if group == 1 {
                    (&state.pos, &state.neg)
                } else {
                    sums = group_sums(&state, group);
                    (&sums.0, &sums.1)
                };
                let mut m = Multipliers::zeros(inputs * n);
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
                apply_multipliers(&mut state, &m, group, false);
                if record {
                    recorded.push(m);
                }
            }
        }
    }
    (state, recorded)
}

/// Walks adjoints backward through `plan` with the transposed rules (cafe.md §Computing it
/// fast, reverse mode). `group` adjoint rows share the multipliers of one input row
/// (`recorded` from [`walk_forward`]). Returns the adjoints at the input and, per adjoint row,
/// the bias score collected at every linear layer's output.
pub fn walk_backward<F: Float>(
    plan: &Plan<F>,
    mut g: Split<F>,
    group: usize,
    recorded: &[LayerMultipliers<F>],
) -> (Split<F>, Vec<F>) {
    let mut bias = vec![F::zero(); g.rows];
    let mut slot_iter = recorded.iter().rev();
    for op in plan.ops().iter().rev() {
        match op {
            Op::Dense(d) => {
                let rows = g.rows;
                if let Some(b) = &d.bias {
                    for (r, acc) in bias.iter_mut().enumerate() {
                        let (p, q) = (
                            &g.pos[r * d.n_out..(r + 1) * d.n_out],
                            &g.neg[r * d.n_out..(r + 1) * d.n_out],
                        );
                        for j in 0..d.n_out {
                            *acc += p[j] * b[j].max(F::zero()) + q[j] * (-b[j]).max(F::zero());
                        }
                    }
                }
                let (sum, diff) = sum_diff(&g.pos, &g.neg);
                let mut u = vec![F::zero(); rows * d.n_in];
                let mut v = vec![F::zero(); rows * d.n_in];
                linalg::mul_w(&sum, rows, d.n_out, &d.w_abs, d.n_in, &mut u);
                linalg::mul_w(&diff, rows, d.n_out, &d.w, d.n_in, &mut v);
                g = from_sum_diff(&u, &v, rows, d.n_in);
            }
            Op::Affine(a) => {
                let n = a.scale.len();
                for (r, acc) in bias.iter_mut().enumerate() {
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
            Op::Act { .. } => {
                let m = slot_iter.next().expect("one recorded layer per activation");
                apply_multipliers(&mut g, m, group, true);
            }
        }
    }
    (g, bias)
}

/// Per input, the sums over its `group` rows: the aggregates `e+`, `e−` of every neuron.
fn group_sums<F: Float>(state: &Split<F>, group: usize) -> (Vec<F>, Vec<F>) {
    let n = state.width;
    let inputs = state.rows / group;
    let mut e_pos = vec![F::zero(); inputs * n];
    let mut e_neg = vec![F::zero(); inputs * n];
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
    (e_pos, e_neg)
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
    let n = s.width;
    for (r, (p, q)) in s
        .pos
        .chunks_exact_mut(n)
        .zip(s.neg.chunks_exact_mut(n))
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

fn sum_diff<F: Float>(pos: &[F], neg: &[F]) -> (Vec<F>, Vec<F>) {
    pos.iter().zip(neg).map(|(&p, &n)| (p + n, p - n)).unzip()
}

/// `pos = (s + t)/2`, `neg = (s − t)/2`, clamped at 0 against rounding.
fn from_sum_diff<F: Float>(s: &[F], t: &[F], rows: usize, width: usize) -> Split<F> {
    let half = F::of(0.5);
    let (pos, neg) = s
        .iter()
        .zip(t)
        .map(|(&a, &b)| {
            (
                ((a + b) * half).max(F::zero()),
                ((a - b) * half).max(F::zero()),
            )
        })
        .unzip();
    Split {
        pos,
        neg,
        rows,
        width,
    }
}
