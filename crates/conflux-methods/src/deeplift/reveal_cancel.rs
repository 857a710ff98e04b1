//! DeepLIFT RevealCancel (Shrikumar et al. 2017) with the authors' `deeplift` package
//! semantics, exactly as evaluation.md §DeepLIFT RevealCancel states them, on graphs of
//! linear-type, structural and residual ops (graph.md §Other methods): at every
//! nonlinearity the positive and negative parts of `Δz` are separated and each gets the
//! average of its effect with and without the other (a two-player Shapley split).
//!
//! Every tensor carries a split `Δ = P − N` (`P, N ≥ 0`). The network input and every
//! activation output are *sources*: `P = max(Δ, 0)`, `N = max(−Δ, 0)`. A linear-type op
//! (dense, convolution, average pooling) recomputes the split from the total `Δ` of its input
//! — `P' = W⁺·P + |W⁻|·N`, `N' = |W⁻|·P + W⁺·N` over the input's source split; per-element
//! affine ops (BatchNorm) scale the split of their input (the same as composing them into the
//! preceding layer); residual joins add the operands' splits; structural ops move them. The
//! backward sweep carries a pair of multipliers `(A_P, A_N)` per tensor (the target's
//! sensitivity to `P` and to `N`), collapsed to one multiplier on `Δ` by its sign wherever
//! the forward sweep took a source split. Max pooling and LayerNorm have no RevealCancel
//! rule: an error names them.
//!
//! # Axioms
//! Completeness against the full network at the reference: Σ = F(x) − F(r).
//! # Cost
//! Three forward passes (the prediction, traces at the input and at the reference) and one
//! backward pass per target, in parallel blocks of rows.

use conflux_core::net::ops::LinearMap;
use conflux_core::{Attribution, Error, Float, Op, Plan, Result, Target};
use ndarray::ArrayView2;

use crate::batch::Batch;
use crate::method::{Attributor, Axiom, MethodId};
use crate::propagate::scalar::block_rows;

/// Below this |Δz±| a pseudocount keeps `m± = Δy±/Δz±` finite (the authors' 1e-7).
const PSEUDOCOUNT: f64 = 1e-7;

/// DeepLIFT with the RevealCancel rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct RevealCancel;

/// A split `Δ = P − N` of one tensor, `[rows, size]` each.
#[derive(Debug, Clone, Default)]
struct Pair<F> {
    p: Vec<F>,
    n: Vec<F>,
}

impl<F: Float> Pair<F> {
    /// The source split of `delta`.
    fn source(delta: &[F]) -> Self {
        Pair {
            p: delta.iter().map(|&v| v.max(F::zero())).collect(),
            n: delta.iter().map(|&v| (-v).max(F::zero())).collect(),
        }
    }

    fn add(&mut self, other: &Pair<F>) {
        for (a, &b) in self.p.iter_mut().zip(&other.p) {
            *a += b;
        }
        for (a, &b) in self.n.iter_mut().zip(&other.n) {
            *a += b;
        }
    }
}

/// The split `(P, N)` from `s = |W|·(·)` and `t = W·(·)` (signed: multiplier pairs too).
fn halves<F: Float>(mut s: Vec<F>, mut t: Vec<F>) -> Pair<F> {
    crate::propagate::walk::halves(&mut s, &mut t, false);
    Pair { p: s, n: t }
}

/// A per-element affine op's split (`scale` per element of a row): a positive scale keeps
/// the parts, a negative one swaps them. The map is symmetric, so it is also the transpose
/// that carries the multiplier pairs back.
fn diagonal<F: Float>(scale: &[F], s: &Pair<F>) -> Pair<F> {
    let (w, zero) = (scale.len(), F::zero());
    let (mut p, mut n) = (s.p.clone(), s.n.clone());
    for i in 0..p.len() {
        let g = scale[i % w];
        let (gp, gn) = (g.max(zero), (-g).max(zero));
        (p[i], n[i]) = (gp * s.p[i] + gn * s.n[i], gn * s.p[i] + gp * s.n[i]);
    }
    Pair { p, n }
}

/// The one multiplier on `Δ` of a tensor whose split is a source split, from the pair.
fn collapse<F: Float>(adj: &Pair<F>, delta: &[F]) -> Vec<F> {
    let half = F::of(0.5);
    adj.p
        .iter()
        .zip(&adj.n)
        .zip(delta)
        .map(|((&ap, &an), &d)| {
            if d > F::zero() {
                ap
            } else if d < F::zero() {
                -an
            } else {
                half * (ap - an)
            }
        })
        .collect()
}

/// Scores of one block of `rows` rows (`x`, `r`: `[rows, d]`) at `targets`, and the
/// reference outputs `F(r)` at the targets.
fn explain_block<F: Float>(
    plan: &Plan<F>,
    x: &[F],
    r: &[F],
    rows: usize,
    targets: &[usize],
) -> (Vec<F>, Vec<F>) {
    let (vx, vr) = (plan.trace(x, rows), plan.trace(r, rows));
    let n_out = plan.output_dim();
    let base = targets
        .iter()
        .enumerate()
        .map(|(b, &t)| vr[plan.output()][b * n_out + t])
        .collect();
    let delta: Vec<Vec<F>> = vx
        .iter()
        .zip(&vr)
        .map(|(a, b)| a.iter().zip(b).map(|(&u, &v)| u - v).collect())
        .collect();
    let nodes = plan.nodes();
    // Forward: the split of every tensor and the multipliers (m+, m−) of every activation.
    let mut split: Vec<Pair<F>> = vec![Pair::default(); nodes.len() + 1];
    split[0] = Pair::source(&delta[0]);
    let mut mults: Vec<Option<(Vec<F>, Vec<F>)>> = vec![None; nodes.len()];
    let (zero, half, pc) = (F::zero(), F::of(0.5), F::of(PSEUDOCOUNT));
    for (k, node) in nodes.iter().enumerate() {
        let first = node.inputs[0];
        split[k + 1] = match &node.op {
            Op::Act { act, .. } => {
                let (s, z0) = (&split[first], &vr[first]);
                let (mut mp, mut mn) = (vec![zero; z0.len()], vec![zero; z0.len()]);
                for i in 0..z0.len() {
                    let (dzp, dzn, z) = (s.p[i], -s.n[i], z0[i]);
                    let f = |v: F| act.apply(v);
                    let dyp = half * (f(z + dzp) - f(z)) + half * (f(z + dzn + dzp) - f(z + dzn));
                    let dyn_ = half * (f(z + dzn) - f(z)) + half * (f(z + dzp + dzn) - f(z + dzp));
                    mp[i] = dyp / if dzp.abs() < pc { dzp + pc } else { dzp };
                    mn[i] = dyn_ / if dzn.abs() < pc { dzn - pc } else { dzn };
                }
                mults[k] = Some((mp, mn));
                Pair::source(&delta[k + 1])
            }
            Op::Affine(a) => {
                let s = &split[first];
                diagonal(&a.scale, s)
            }
            Op::Add { sub } => {
                let mut out = split[first].clone();
                let b = &split[node.inputs[1]];
                if *sub {
                    out.add(&Pair {
                        p: b.n.clone(),
                        n: b.p.clone(),
                    });
                } else {
                    out.add(b);
                }
                out
            }
            Op::Gather(g) => {
                let size = plan.size(k + 1);
                let (mut p, mut n) = (vec![zero; rows * size], vec![zero; rows * size]);
                let ps: Vec<&[F]> = node.inputs.iter().map(|&i| &split[i].p[..]).collect();
                g.apply(&ps, rows, &mut p);
                let ns: Vec<&[F]> = node.inputs.iter().map(|&i| &split[i].n[..]).collect();
                g.apply(&ns, rows, &mut n);
                Pair { p, n }
            }
            op => {
                let lin = linear(op);
                let size = lin.n_out();
                let abs: Vec<F> = delta[first].iter().map(|v| v.abs()).collect();
                let (mut s, mut t) = (vec![zero; rows * size], vec![zero; rows * size]);
                lin.apply(&abs, rows, true, &mut s);
                lin.apply(&delta[first], rows, false, &mut t);
                halves(s, t)
            }
        };
    }
    // Backward: pairs (A_P, A_N); the target's Δ = P − N seeds (1, −1).
    let mut adj: Vec<Option<Pair<F>>> = vec![None; nodes.len() + 1];
    let mut seed = Pair {
        p: vec![zero; rows * n_out],
        n: vec![zero; rows * n_out],
    };
    for (b, &t) in targets.iter().enumerate() {
        seed.p[b * n_out + t] = F::one();
        seed.n[b * n_out + t] = -F::one();
    }
    adj[plan.output()] = Some(seed);
    let accumulate = |adj: &mut Vec<Option<Pair<F>>>, t: usize, v: Pair<F>| match &mut adj[t] {
        Some(a) => a.add(&v),
        slot @ None => *slot = Some(v),
    };
    for (k, node) in nodes.iter().enumerate().rev() {
        let Some(a) = adj[k + 1].take() else {
            continue;
        };
        let first = node.inputs[0];
        let back = match &node.op {
            Op::Act { .. } => {
                let m = collapse(&a, &delta[k + 1]);
                let (mp, mn) = mults[k].as_ref().expect("recorded in the forward sweep");
                Pair {
                    p: m.iter().zip(mp).map(|(&v, &u)| v * u).collect(),
                    n: m.iter().zip(mn).map(|(&v, &u)| -v * u).collect(),
                }
            }
            Op::Affine(af) => diagonal(&af.scale, &a),
            Op::Add { sub } => {
                let other = if *sub {
                    Pair {
                        p: a.n.clone(),
                        n: a.p.clone(),
                    }
                } else {
                    a.clone()
                };
                accumulate(&mut adj, node.inputs[1], other);
                a
            }
            Op::Gather(g) => {
                let mut ps = vec![Vec::new(); node.inputs.len()];
                let mut ns = vec![Vec::new(); node.inputs.len()];
                g.apply_t(&a.p, rows, &mut ps);
                g.apply_t(&a.n, rows, &mut ns);
                for ((&i, p), n) in node.inputs.iter().zip(ps).zip(ns) {
                    accumulate(&mut adj, i, Pair { p, n });
                }
                continue;
            }
            op => {
                let lin = linear(op);
                let size = lin.n_in();
                let s_in: Vec<F> = a.p.iter().zip(&a.n).map(|(&u, &v)| u + v).collect();
                let t_in: Vec<F> = a.p.iter().zip(&a.n).map(|(&u, &v)| u - v).collect();
                let (mut s, mut t) = (vec![zero; rows * size], vec![zero; rows * size]);
                lin.apply_t(&s_in, rows, true, &mut s);
                lin.apply_t(&t_in, rows, false, &mut t);
                // The op took its input as a source split: one multiplier on its Δ.
                let m = collapse(&halves(s, t), &delta[first]);
                Pair {
                    n: m.iter().map(|&v| -v).collect(),
                    p: m,
                }
            }
        };
        accumulate(&mut adj, first, back);
    }
    let scores = match adj[0].take() {
        Some(a) => collapse(&a, &delta[0])
            .iter()
            .zip(&delta[0])
            .map(|(&m, &dv)| m * dv)
            .collect(),
        None => vec![zero; rows * plan.input_dim()],
    };
    (scores, base)
}

/// The linear-type op (checked by [`RevealCancel::check`] before the sweeps).
fn linear<F: Float>(op: &Op<F>) -> &dyn LinearMap<F> {
    op.linear().expect("checked: the remaining ops are linear")
}

impl RevealCancel {
    /// Whether RevealCancel has a rule for every op of `plan`.
    ///
    /// # Errors
    /// [`Error::Param`] naming the first max pooling or LayerNorm node.
    pub fn check<F: Float>(plan: &Plan<F>) -> Result<()> {
        match plan
            .nodes()
            .iter()
            .find(|n| matches!(n.op, Op::MaxPool(_) | Op::LayerNorm(_)))
        {
            None => Ok(()),
            Some(n) => Err(Error::param(
                "deeplift-reveal-cancel",
                "model",
                format!("node '{}' (op {})", n.name, n.op.kind()),
                "RevealCancel has no rule for max pooling or LayerNorm; use deeplift (Rescale) or cafe on this network",
            )),
        }
    }
}

impl<F: Float> Attributor<Plan<F>, F> for RevealCancel {
    fn id(&self) -> MethodId {
        MethodId::DeepLiftRevealCancel
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[Axiom::Completeness, Axiom::Missingness]
    }
    fn attribute(
        &self,
        plan: &Plan<F>,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        use rayon::prelude::*;
        Self::check(plan)?;
        let b = Batch::new("deeplift-reveal-cancel", plan, x, reference, target)?;
        // Two traces, the differences, the split and the multiplier pairs: about 7 copies.
        let block = block_rows(plan, 7);
        let entries: Vec<usize> = (0..b.len()).collect();
        let parts: Vec<(Vec<F>, Vec<F>)> = entries
            .par_chunks(block)
            .map(|es| {
                let xs: Vec<F> = es
                    .iter()
                    .flat_map(|&i| b.x_row(b.rows[i]).to_vec())
                    .collect();
                let rs: Vec<F> = es
                    .iter()
                    .flat_map(|&i| b.r_row(b.rows[i]).to_vec())
                    .collect();
                let ts: Vec<usize> = es.iter().map(|&i| b.targets[i]).collect();
                explain_block(plan, &xs, &rs, es.len(), &ts)
            })
            .collect();
        let (mut scores, mut base) = (Vec::new(), Vec::new());
        for (s, o) in parts {
            scores.extend(s);
            base.extend(o);
        }
        Ok(b.finish(scores, Some(base)))
    }
}
