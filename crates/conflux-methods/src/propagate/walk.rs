//! The only graph walk of the sign-split methods: state carried forward through a [`Plan`]
//! in topological order and adjoints carried backward in reverse, fan-out summed.
//!
//! State is a pair of non-negative matrices `(pos, neg)` of shape `[rows, width]` per
//! tensor. Rows are grouped: the `group` consecutive rows of one input share one set of
//! per-neuron aggregates (`group = 1` carries aggregates only, `group = d + 1` carries every
//! source separately — cafe.md §Computing it fast). Linear-type ops (dense, convolution,
//! average pooling) apply the sign-split linear rule through their [`LinearMap`], evaluated as
//! `pos' = (|W|·(pos+neg) + W·(pos−neg))/2`, `neg' = (|W|·(pos+neg) − W·(pos−neg))/2`, which
//! equals `W⁺pos + W⁻neg` / `W⁻pos + W⁺neg` with half the multiply-adds. Per-element affine
//! ops and the frozen LayerNorm gate are diagonal linear ops; residual joins add; structural
//! ops move both parts alike. The method decides activations and max pooling
//! ([`ActivationRule`]).

use conflux_core::linalg;
use conflux_core::net::ops::LinearMap;
use conflux_core::net::plan::Gate;
use conflux_core::{Float, Op, Plan};

use super::rule::{ActivationRule, Aggregates, MaxChoice, Multipliers};

/// Sign-split scores or adjoints: `rows × width`, row-major. The vectors may be longer
/// (buffers are reused across layers); only the first `rows × width` values are meaningful.
#[derive(Debug, Clone, Default)]
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

impl<F: Float> Split<F> {
    fn zeros(rows: usize, width: usize) -> Self {
        Split {
            pos: vec![F::zero(); rows * width],
            neg: vec![F::zero(); rows * width],
            rows,
            width,
        }
    }

    /// Adds `other` (same shape) into `self`.
    fn add(&mut self, other: &Split<F>) {
        let len = self.rows * self.width;
        for (a, &b) in self.pos[..len].iter_mut().zip(&other.pos[..len]) {
            *a += b;
        }
        for (a, &b) in self.neg[..len].iter_mut().zip(&other.neg[..len]) {
            *a += b;
        }
    }
}

/// The bias-ablated network `F₀` evaluated at the reference(s), every LayerNorm frozen at
/// the explained input (graph.md §LayerNorm): the reference value of every tensor and the
/// output. One row (shared reference, no gates) or one per input row.
#[derive(Debug, Clone)]
pub struct ReferenceTrace<F> {
    /// Reference value of every tensor, `[rows, size(t)]`.
    pub values: Vec<Vec<F>>,
    /// Per node: the frozen LayerNorm `(w, b)` at the input rows (`None` for other ops).
    pub gates: Vec<Option<Gate<F>>>,
    /// `F₀(r)` at the explained outputs, `[rows, outputs]`.
    pub output: Vec<F>,
    /// 1 (shared) or the number of input rows.
    pub rows: usize,
}

impl<F: Float> ReferenceTrace<F> {
    /// Evaluates `F₀` on the references (row-major, preprocessed) for `rows` trace rows:
    /// `reference` holds one row per trace row, or one row shared by all of them. When the
    /// plan has LayerNorm gates they are frozen at the input rows `x` (`rows` rows, required
    /// then), which makes the trace per row even for a shared reference.
    ///
    /// # Panics
    /// When the plan has gates and `x` is missing (an internal invariant).
    pub fn new(plan: &Plan<F>, reference: &[F], rows: usize, x: Option<&[F]>) -> Self {
        let d = plan.input_dim();
        let broadcast;
        let reference = if reference.len() == d && rows > 1 {
            broadcast = reference.repeat(rows);
            &broadcast[..]
        } else {
            reference
        };
        let gates = if plan.has_gates() {
            let x = x.expect("inputs are given for a plan with gates");
            plan.gates_at(&plan.trace(x, rows))
        } else {
            vec![None; plan.nodes().len()]
        };
        let values = plan.trace_frozen(reference, rows, &gates, false);
        ReferenceTrace {
            output: values[plan.output()].clone(),
            values,
            gates,
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
/// little once warm; also holds what [`walk_forward`] records for [`walk_backward`].
#[derive(Debug, Default)]
pub struct Workspace<F> {
    sum: Vec<F>,
    diff: Vec<F>,
    s: Vec<F>,
    t: Vec<F>,
    e_pos: Vec<F>,
    e_neg: Vec<F>,
    /// Per activation slot, the multipliers of the last forward walk.
    pub recorded: Vec<Multipliers<F>>,
    /// Per node, the max-pooling choices of the last forward walk (`[inputs, outputs]`).
    pub choices: Vec<Vec<MaxChoice<F>>>,
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

/// The sign-split linear rule for a linear-type op, in place on `state` (forward: `W`;
/// transposed: `Wᵀ`). `bias_row(r)` says whether row `r` receives the bias source.
fn linear_split<F: Float>(
    state: &mut Split<F>,
    op: &dyn LinearMap<F>,
    transposed: bool,
    bias_row: impl Fn(usize) -> bool,
    ws: &mut Workspace<F>,
) {
    let rows = state.rows;
    let (n_in, n_out) = if transposed {
        (op.n_out(), op.n_in())
    } else {
        (op.n_in(), op.n_out())
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
        op.apply_t(sum, rows, true, s_out);
        op.apply_t(diff, rows, false, t_out);
    } else {
        op.apply(sum, rows, true, s_out);
        op.apply(diff, rows, false, t_out);
        if let Some(b) = op.bias() {
            for r in (0..rows).filter(|&r| bias_row(r)) {
                let range = r * n_out..(r + 1) * n_out;
                for ((sv, tv), &bj) in s_out[range.clone()]
                    .iter_mut()
                    .zip(&mut t_out[range])
                    .zip(&b.value)
                {
                    *sv += bj.abs();
                    *tv += bj;
                }
            }
        }
    }
    halves(s_out, t_out, true);
    std::mem::swap(&mut state.pos, &mut ws.s);
    std::mem::swap(&mut state.neg, &mut ws.t);
    state.width = n_out;
}

/// `(s, t) ← ((s + t)/2, (s − t)/2)`: the positive and negative parts of a sign-split linear
/// application from `s = |W|·(p + n)` and `t = W·(p − n)` (`W⁺p + |W⁻|n` and
/// `|W⁻|p + W⁺n`). `clamp` floors both at 0 (non-negative states, against rounding).
pub(crate) fn halves<F: Float>(s: &mut [F], t: &mut [F], clamp: bool) {
    let half = F::of(0.5);
    for (a, b) in s.iter_mut().zip(t.iter_mut()) {
        let (x, y) = (*a, *b);
        (*a, *b) = ((x + y) * half, (x - y) * half);
        if clamp {
            (*a, *b) = (a.max(F::zero()), b.max(F::zero()));
        }
    }
}

/// A diagonal linear op, in place: row `r` uses weights `scale(r)` and, where `bias(r)` is
/// given, adds its sign-split parts (per-element affine ops, the frozen LayerNorm gate).
fn diagonal<'a, F: Float>(
    state: &mut Split<F>,
    scale: impl Fn(usize) -> &'a [F],
    bias: impl Fn(usize) -> Option<&'a [F]>,
) {
    let n = state.width;
    for r in 0..state.rows {
        let (g, h) = (scale(r), bias(r));
        let (p, q) = (
            &mut state.pos[r * n..(r + 1) * n],
            &mut state.neg[r * n..(r + 1) * n],
        );
        for j in 0..n {
            let h = h.map_or(F::zero(), |h| h[j]);
            let (gp, gn) = (g[j].max(F::zero()), (-g[j]).max(F::zero()));
            let (pv, nv) = (p[j], q[j]);
            p[j] = gp * pv + gn * nv + h.max(F::zero());
            q[j] = gn * pv + gp * nv + (-h).max(F::zero());
        }
    }
}

/// Walks `state` (the input's) forward through `plan`; leaves the output's state in it.
/// `group` consecutive rows belong to one input row. The multipliers and max-pooling
/// choices are left in `ws` (for a backward sweep).
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
    ws.choices
        .resize_with(plan.nodes().len().max(ws.choices.len()), Vec::new);
    let rows = state.rows;
    let inputs = rows / group;
    let mut states: Vec<Option<Split<F>>> = vec![None; plan.nodes().len() + 1];
    states[0] = Some(std::mem::take(state));
    let mut left: Vec<usize> = (0..=plan.nodes().len()).map(|t| plan.uses(t)).collect();
    for (k, node) in plan.nodes().iter().enumerate() {
        let first = node.inputs[0];
        // The input's state is moved when this node is its last consumer (and does not read
        // it twice, as `x + x` does); a gather builds its output from references instead.
        let sole = left[first] == 1 && node.inputs[1..].iter().all(|&i| i != first);
        let mut cur = if matches!(node.op, Op::Gather(_)) {
            Split::default()
        } else if sole {
            states[first].take().expect("tensor state is live")
        } else {
            states[first].clone().expect("tensor state is live")
        };
        match &node.op {
            Op::Affine(a) => diagonal(
                &mut cur,
                |_| &a.scale,
                |r| is_bias_row(r).then_some(a.shift.as_slice()),
            ),
            Op::LayerNorm(_) => {
                let (w, b) = reference.gates[k]
                    .as_ref()
                    .expect("gates of every LayerNorm");
                let n = cur.width;
                diagonal(
                    &mut cur,
                    |r| &w[(r / group) * n..(r / group + 1) * n],
                    |r| is_bias_row(r).then(|| &b[(r / group) * n..(r / group + 1) * n]),
                );
            }
            Op::Act { act, slot, width } => {
                let n = *width;
                let (rho, f_rho) = (&reference.values[first], &reference.values[k + 1]);
                let (e_pos, e_neg) = aggregates(&cur, group, &mut ws.e_pos, &mut ws.e_neg);
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
                apply_multipliers(&mut cur, m, group, false);
            }
            Op::MaxPool(mp) => {
                let (n_in, n_out) = (mp.n_in, mp.n_out());
                let refs = &reference.values[first];
                let (e_pos, e_neg) = aggregates(&cur, group, &mut ws.e_pos, &mut ws.e_neg);
                let mut choices = std::mem::take(&mut ws.choices[k]);
                choices.clear();
                let (mut t, mut mass) = (vec![F::zero(); n_in], vec![F::zero(); n_in]);
                for b in 0..inputs {
                    let rb = &refs[reference.row_of(b) * n_in..(reference.row_of(b) + 1) * n_in];
                    for i in 0..n_in {
                        let (p, q) = (e_pos[b * n_in + i], e_neg[b * n_in + i]);
                        t[i] = rb[i] + p - q;
                        mass[i] = p + q;
                    }
                    for j in 0..n_out {
                        choices.push(rule.max_pool(rb, &t, &mass, mp.window(j)));
                    }
                }
                let mut out = Split::zeros(rows, n_out);
                for r in 0..rows {
                    let ch = &choices[(r / group) * n_out..(r / group + 1) * n_out];
                    for (j, c) in ch.iter().enumerate() {
                        let (ir, ix) = (r * n_in + c.i_r as usize, r * n_in + c.i_x as usize);
                        out.pos[r * n_out + j] = c.m_r * cur.pos[ir] + c.m_x * cur.pos[ix];
                        out.neg[r * n_out + j] = c.m_r * cur.neg[ir] + c.m_x * cur.neg[ix];
                    }
                }
                ws.choices[k] = choices;
                cur = out;
            }
            Op::Add { sub } => {
                let other = states[node.inputs[1]]
                    .as_ref()
                    .expect("tensor state is live");
                let len = rows * cur.width;
                let (op, on) = if *sub {
                    (&other.neg, &other.pos)
                } else {
                    (&other.pos, &other.neg)
                };
                for (a, &b) in cur.pos[..len].iter_mut().zip(&op[..len]) {
                    *a += b;
                }
                for (a, &b) in cur.neg[..len].iter_mut().zip(&on[..len]) {
                    *a += b;
                }
            }
            Op::Gather(g) => {
                let n_out = g.index.len();
                let mut out = Split::zeros(rows, n_out);
                let ins: Vec<&Split<F>> = node
                    .inputs
                    .iter()
                    .map(|&i| states[i].as_ref().expect("tensor state is live"))
                    .collect();
                let pos: Vec<&[F]> = ins.iter().map(|s| &s.pos[..rows * s.width]).collect();
                g.apply(&pos, rows, &mut out.pos);
                let neg: Vec<&[F]> = ins.iter().map(|s| &s.neg[..rows * s.width]).collect();
                g.apply(&neg, rows, &mut out.neg);
                cur = out;
            }
            op => {
                let lin = op.linear().expect("remaining ops are linear");
                linear_split(&mut cur, lin, false, is_bias_row, ws);
            }
        }
        cur.width = plan.size(k + 1);
        for &i in &node.inputs {
            left[i] -= 1;
            if left[i] == 0 {
                states[i] = None;
            }
        }
        states[k + 1] = Some(cur);
    }
    *state = states[plan.output()].take().expect("output state");
}

/// The per-input aggregates `e+`, `e−`: the state itself when each input has one row.
fn aggregates<'s, F: Float>(
    cur: &'s Split<F>,
    group: usize,
    e_pos: &'s mut Vec<F>,
    e_neg: &'s mut Vec<F>,
) -> (&'s [F], &'s [F]) {
    if group == 1 {
        (&cur.pos, &cur.neg)
    } else {
        group_sums(cur, group, e_pos, e_neg);
        (e_pos, e_neg)
    }
}

/// Walks adjoints backward through `plan` with the transposed rules (cafe.md §Computing it
/// fast, reverse mode). `g` holds the adjoints at the output; `group` adjoint rows share the
/// multipliers of one input row (recorded by [`walk_forward`]). Leaves the adjoints at the
/// input in `g` and, per adjoint row, the bias score collected at every op with a bias in
/// `ws.bias`.
pub fn walk_backward<F: Float>(
    plan: &Plan<F>,
    g: &mut Split<F>,
    group: usize,
    reference: &ReferenceTrace<F>,
    ws: &mut Workspace<F>,
) {
    let rows = g.rows;
    ensure(&mut ws.bias, rows);
    ws.bias[..rows].fill(F::zero());
    let mut adj: Vec<Option<Split<F>>> = vec![None; plan.nodes().len() + 1];
    adj[plan.output()] = Some(std::mem::take(g));
    let collect = |bias: &mut [F], cur: &Split<F>, r: usize, bp: &[F], bn: &[F]| {
        let n = cur.width;
        bias[r] += linalg::dot(&cur.pos[r * n..(r + 1) * n], bp)
            + linalg::dot(&cur.neg[r * n..(r + 1) * n], bn);
    };
    for (k, node) in plan.nodes().iter().enumerate().rev() {
        let Some(mut cur) = adj[k + 1].take() else {
            continue;
        };
        let first = node.inputs[0];
        match &node.op {
            Op::Affine(a) => {
                let n = a.scale.len();
                for (r, acc) in ws.bias[..rows].iter_mut().enumerate() {
                    let (p, q) = (
                        &mut cur.pos[r * n..(r + 1) * n],
                        &mut cur.neg[r * n..(r + 1) * n],
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
            Op::LayerNorm(_) => {
                let (w, b) = reference.gates[k]
                    .as_ref()
                    .expect("gates of every LayerNorm");
                let n = cur.width;
                let mut hp = vec![F::zero(); n];
                let mut hn = vec![F::zero(); n];
                for r in 0..rows {
                    let bb = &b[(r / group) * n..(r / group + 1) * n];
                    for j in 0..n {
                        hp[j] = bb[j].max(F::zero());
                        hn[j] = (-bb[j]).max(F::zero());
                    }
                    collect(&mut ws.bias, &cur, r, &hp, &hn);
                }
                diagonal(
                    &mut cur,
                    |r| &w[(r / group) * n..(r / group + 1) * n],
                    |_| None,
                );
            }
            Op::Act { slot, .. } => apply_multipliers(&mut cur, &ws.recorded[*slot], group, true),
            Op::MaxPool(mp) => {
                let (n_in, n_out) = (mp.n_in, mp.n_out());
                let choices = &ws.choices[k];
                let mut out = Split::zeros(rows, n_in);
                for r in 0..rows {
                    let ch = &choices[(r / group) * n_out..(r / group + 1) * n_out];
                    for (j, c) in ch.iter().enumerate() {
                        let (ir, ix) = (r * n_in + c.i_r as usize, r * n_in + c.i_x as usize);
                        let (p, q) = (cur.pos[r * n_out + j], cur.neg[r * n_out + j]);
                        out.pos[ir] += c.m_r * p;
                        out.neg[ir] += c.m_r * q;
                        out.pos[ix] += c.m_x * p;
                        out.neg[ix] += c.m_x * q;
                    }
                }
                cur = out;
            }
            Op::Add { sub } => {
                let other = if *sub {
                    Split {
                        pos: cur.neg.clone(),
                        neg: cur.pos.clone(),
                        ..cur
                    }
                } else {
                    cur.clone()
                };
                accumulate(&mut adj, node.inputs[1], other);
            }
            Op::Gather(gth) => {
                let mut pos = vec![Vec::new(); node.inputs.len()];
                let mut neg = vec![Vec::new(); node.inputs.len()];
                gth.apply_t(&cur.pos[..rows * cur.width], rows, &mut pos);
                gth.apply_t(&cur.neg[..rows * cur.width], rows, &mut neg);
                for ((&i, p), q) in node.inputs.iter().zip(pos).zip(neg) {
                    let width = plan.size(i);
                    accumulate(
                        &mut adj,
                        i,
                        Split {
                            pos: p,
                            neg: q,
                            rows,
                            width,
                        },
                    );
                }
                continue;
            }
            op => {
                let lin = op.linear().expect("remaining ops are linear");
                if let Some(b) = lin.bias() {
                    for r in 0..rows {
                        collect(&mut ws.bias, &cur, r, &b.pos, &b.neg);
                    }
                }
                linear_split(&mut cur, lin, true, |_| false, ws);
            }
        }
        cur.width = plan.size(first);
        accumulate(&mut adj, first, cur);
    }
    *g = adj[0]
        .take()
        .unwrap_or_else(|| Split::zeros(rows, plan.input_dim()));
}

/// Adds an adjoint contribution to tensor `t` (fan-out sums).
fn accumulate<F: Float>(adj: &mut [Option<Split<F>>], t: usize, v: Split<F>) {
    match &mut adj[t] {
        Some(a) => a.add(&v),
        slot @ None => *slot = Some(v),
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
