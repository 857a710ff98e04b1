//! DeepLIFT RevealCancel (Shrikumar et al. 2017) with the authors' `deeplift` package
//! semantics, exactly as evaluation.md §DeepLIFT RevealCancel states them: at every
//! nonlinearity the positive and negative parts of `Δz` are separated and each gets the
//! average of its effect with and without the other (a two-player Shapley split).
//!
//! Consecutive linear layers (dense and BatchNorm) are composed into one affine map first —
//! the rule splits `Δz` once per linear block, in front of each nonlinearity.
//!
//! # Axioms
//! Completeness against the full network at the reference: Σ = F(x) − F(r).
//! # Cost
//! Two forward passes and one backward pass per target (dense loops, no sampling).

use conflux_core::{Activation, Attribution, Float, Op, Plan, Result, Target};
use ndarray::ArrayView2;

use crate::batch::Batch;
use crate::ig::baseline_outputs;
use crate::method::{Attributor, Axiom, MethodId};

/// Below this |Δz±| a pseudocount keeps `m± = Δy±/Δz±` finite (the authors' 1e-7).
const PSEUDOCOUNT: f64 = 1e-7;

/// DeepLIFT with the RevealCancel rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct RevealCancel;

/// An affine block `W·a + b` (`out × in`), followed by an optional nonlinearity.
struct Block<F> {
    n_in: usize,
    n_out: usize,
    w: Vec<F>,
    b: Vec<F>,
    act: Option<Activation>,
}

/// Composes consecutive linear ops of `plan` into blocks ending at each nonlinearity.
fn blocks<F: Float>(plan: &Plan<F>) -> Vec<Block<F>> {
    let mut out: Vec<Block<F>> = Vec::new();
    let mut cur: Option<Block<F>> = None;
    let identity = |n: usize| {
        let mut w = vec![F::zero(); n * n];
        (0..n).for_each(|i| w[i * n + i] = F::one());
        Block {
            n_in: n,
            n_out: n,
            w,
            b: vec![F::zero(); n],
            act: None,
        }
    };
    let mut width = plan.input_dim();
    for op in plan.nodes().iter().map(|n| &n.op) {
        match op {
            Op::Dense(d) => {
                let c = cur.take().unwrap_or_else(|| identity(width));
                // new = W_d · c: W = W_d·W_c, b = W_d·b_c + b_d.
                let mut w = vec![F::zero(); d.n_out * c.n_in];
                let mut b = d.bias.clone().unwrap_or_else(|| vec![F::zero(); d.n_out]);
                for j in 0..d.n_out {
                    for k in 0..d.n_in {
                        let wjk = d.w[j * d.n_in + k];
                        b[j] += wjk * c.b[k];
                        for i in 0..c.n_in {
                            w[j * c.n_in + i] += wjk * c.w[k * c.n_in + i];
                        }
                    }
                }
                cur = Some(Block {
                    n_in: c.n_in,
                    n_out: d.n_out,
                    w,
                    b,
                    act: None,
                });
                width = d.n_out;
            }
            Op::Affine(a) => {
                let mut c = cur.take().unwrap_or_else(|| identity(width));
                for j in 0..c.n_out {
                    for i in 0..c.n_in {
                        c.w[j * c.n_in + i] *= a.scale[j];
                    }
                    c.b[j] = c.b[j] * a.scale[j] + a.shift[j];
                }
                cur = Some(c);
            }
            Op::Act { act, .. } => {
                let mut c = cur.take().unwrap_or_else(|| identity(width));
                c.act = Some(*act);
                out.push(c);
            }
            // Graph ops: callers run `Plan::chain_ops` first.
            _ => unreachable!("checked by Plan::chain_ops"),
        }
    }
    if let Some(c) = cur {
        out.push(c);
    }
    out
}

fn affine<F: Float>(blk: &Block<F>, a: &[F]) -> Vec<F> {
    (0..blk.n_out)
        .map(|j| {
            blk.b[j]
                + (0..blk.n_in)
                    .map(|i| blk.w[j * blk.n_in + i] * a[i])
                    .sum::<F>()
        })
        .collect()
}

/// RevealCancel scores of one input row `x` against `r` at output `t`.
fn explain_row<F: Float>(blocks: &[Block<F>], x: &[F], r: &[F], t: usize) -> Vec<F> {
    let zero = F::zero();
    let half = F::of(0.5);
    let pc = F::of(PSEUDOCOUNT);
    // Forward: per block, the input differences Δa and the multipliers m± of its
    // nonlinearity (1 where there is none).
    let (mut ax, mut ar) = (x.to_vec(), r.to_vec());
    let mut delta_in = Vec::with_capacity(blocks.len());
    let mut mults = Vec::with_capacity(blocks.len());
    for blk in blocks {
        let da: Vec<F> = ax.iter().zip(&ar).map(|(a, b)| *a - *b).collect();
        let zr = affine(blk, &ar);
        let zx = affine(blk, &ax);
        let (mut mp, mut mn) = (vec![F::one(); blk.n_out], vec![F::one(); blk.n_out]);
        if let Some(act) = blk.act {
            for j in 0..blk.n_out {
                let (mut dzp, mut dzn) = (zero, zero);
                for (i, &d) in da.iter().enumerate() {
                    let c = d * blk.w[j * blk.n_in + i];
                    if c > zero {
                        dzp += c;
                    } else {
                        dzn += c;
                    }
                }
                let z0 = zr[j];
                let f = |v: F| act.apply(v);
                let dyp = half * (f(z0 + dzp) - f(z0)) + half * (f(z0 + dzn + dzp) - f(z0 + dzn));
                let dyn_ = half * (f(z0 + dzn) - f(z0)) + half * (f(z0 + dzp + dzn) - f(z0 + dzp));
                mp[j] = dyp / if dzp.abs() < pc { dzp + pc } else { dzp };
                mn[j] = dyn_ / if dzn.abs() < pc { dzn - pc } else { dzn };
            }
            ax = zx.iter().map(|&v| act.apply(v)).collect();
            ar = zr.iter().map(|&v| act.apply(v)).collect();
        } else {
            ax = zx;
            ar = zr;
        }
        delta_in.push(da);
        mults.push((mp, mn));
    }
    // Backward: the target output starts at 1.
    let last = blocks.last().map_or(x.len(), |b| b.n_out);
    let mut m = vec![zero; last];
    m[t] = F::one();
    for (k, blk) in blocks.iter().enumerate().rev() {
        let (mp, mn) = &mults[k];
        let m_pos: Vec<F> = m.iter().zip(mp).map(|(a, b)| *a * *b).collect();
        let m_neg: Vec<F> = m.iter().zip(mn).map(|(a, b)| *a * *b).collect();
        let da = &delta_in[k];
        m = (0..blk.n_in)
            .map(|i| {
                let (mut a, mut b) = (zero, zero);
                for j in 0..blk.n_out {
                    let w = blk.w[j * blk.n_in + i];
                    let (wp, wn) = (w.max(zero), w.min(zero));
                    a += m_pos[j] * wp + m_neg[j] * wn;
                    b += m_pos[j] * wn + m_neg[j] * wp;
                }
                if da[i] > zero {
                    a
                } else if da[i] < zero {
                    b
                } else {
                    half * (a + b)
                }
            })
            .collect();
    }
    m.iter()
        .zip(x.iter().zip(r))
        .map(|(mi, (xi, ri))| *mi * (*xi - *ri))
        .collect()
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
        plan.chain_ops("deeplift-reveal-cancel")?;
        let b = Batch::new("deeplift-reveal-cancel", plan, x, reference, target)?;
        let blks = blocks(plan);
        let scores = crate::batch::per_entry(b.len(), b.d, |e| {
            explain_row(&blks, b.x_row(b.rows[e]), b.r_row(b.rows[e]), b.targets[e])
        });
        let base = baseline_outputs(plan, &b);
        Ok(b.finish(scores, Some(base)))
    }
}
