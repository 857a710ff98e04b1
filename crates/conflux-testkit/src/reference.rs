//! Literal, slow implementations of the specs, written for readability rather than speed, to
//! test the fast code against (zennit's `test_rules.py` pattern).

use conflux_core::{Activation, Float, Layer, Network, Op, Plan};

/// CAFE scores of one row: `(feat_pos, feat_neg, bias_pos, bias_neg)` at output `target`,
/// following cafe.md line by line: every source's `S±[k, j]` carried explicitly, weights
/// split into `W⁺`, `W⁻`. Output heads are not explained (logits).
pub fn cafe_row(
    net: &Network,
    x: &[f64],
    r: &[f64],
    c: &[f64],
    target: usize,
) -> (Vec<f64>, Vec<f64>, f64, f64) {
    let d = net.input_dim();
    let sources = d + 1; // features, then the bias
    // Input rule.
    let mut s_pos = vec![vec![0.0; d]; sources];
    let mut s_neg = vec![vec![0.0; d]; sources];
    for f in 0..d {
        s_pos[f][f] = (x[f] - r[f]).max(0.0);
        s_neg[f][f] = (r[f] - x[f]).max(0.0);
    }
    let mut reference = r.to_vec();
    let mut slot = 0;
    let linear = |s_pos: &mut Vec<Vec<f64>>,
                  s_neg: &mut Vec<Vec<f64>>,
                  reference: &mut Vec<f64>,
                  w: &dyn Fn(usize, usize) -> f64,
                  b: &dyn Fn(usize) -> f64,
                  n_in: usize,
                  n_out: usize| {
        let mut np = vec![vec![0.0; n_out]; sources];
        let mut nn = vec![vec![0.0; n_out]; sources];
        let mut nr = vec![0.0; n_out];
        for j in 0..n_out {
            for i in 0..n_in {
                let (wp, wn) = (w(j, i).max(0.0), (-w(j, i)).max(0.0));
                for k in 0..sources {
                    np[k][j] += wp * s_pos[k][i] + wn * s_neg[k][i];
                    nn[k][j] += wn * s_pos[k][i] + wp * s_neg[k][i];
                }
                nr[j] += w(j, i) * reference[i];
            }
            np[d][j] += b(j).max(0.0);
            nn[d][j] += (-b(j)).max(0.0);
        }
        *s_pos = np;
        *s_neg = nn;
        *reference = nr;
    };
    for layer in net.layers() {
        match layer {
            Layer::Dense(l) => {
                let w = |j: usize, i: usize| l.row(j)[i];
                let b = |j: usize| l.bias().map_or(0.0, |b| b[j]);
                linear(
                    &mut s_pos,
                    &mut s_neg,
                    &mut reference,
                    &w,
                    &b,
                    l.in_dim(),
                    l.out_dim(),
                );
            }
            Layer::BatchNorm(bn) => {
                let (scale, shift) = bn.scale_shift();
                let n = scale.len();
                let w = |j: usize, i: usize| if i == j { scale[j] } else { 0.0 };
                let b = |j: usize| shift[j];
                linear(&mut s_pos, &mut s_neg, &mut reference, &w, &b, n, n);
            }
            Layer::Act(act) => {
                let cc = if c.len() == 1 { c[0] } else { c[slot] };
                slot += 1;
                for j in 0..reference.len() {
                    let e_pos: f64 = (0..sources).map(|k| s_pos[k][j]).sum();
                    let e_neg: f64 = (0..sources).map(|k| s_neg[k][j]).sum();
                    let m = literal_multipliers(*act, cc, reference[j], e_pos, e_neg);
                    for k in 0..sources {
                        let (p, n) = (s_pos[k][j], s_neg[k][j]);
                        s_pos[k][j] = m[0] * p + m[2] * n;
                        s_neg[k][j] = m[1] * p + m[3] * n;
                    }
                    reference[j] = act.apply(reference[j]);
                }
            }
            Layer::Flatten | Layer::Dropout { .. } => {}
        }
    }
    let fp = (0..d).map(|f| s_pos[f][target]).collect();
    let fn_ = (0..d).map(|f| s_neg[f][target]).collect();
    (fp, fn_, s_pos[d][target], s_neg[d][target])
}

/// `[M++, M+−, M−+, M−−]` written exactly as cafe.md states them, with the division guard
/// `max(·, ε)` in place of `· + ε` (see `conflux_methods::cafe::rule`).
pub fn literal_multipliers(act: Activation, c: f64, rho: f64, e_pos: f64, e_neg: f64) -> [f64; 4] {
    let eps = 1e-9;
    let phi = |t: f64| act.apply(t);
    let p = |u: f64| u.max(0.0);
    // Differences within rounding noise of the sums are exactly 0 (conflux_methods::cafe::rule).
    let raw = e_pos - e_neg;
    let e_star = if raw.abs() <= 64.0 * f64::EPSILON * (e_pos + e_neg) {
        0.0
    } else {
        raw
    };
    let (t_pos, t_neg, t_star) = (rho + e_pos, rho - e_neg, rho + e_star);
    let pos = if e_star >= 0.0 { 1.0 } else { 0.0 };
    let neg = 1.0 - pos;
    let sigma = if e_star > 0.0 {
        1.0
    } else if e_star < 0.0 {
        -1.0
    } else {
        0.0
    };
    let r_up = p(phi(t_star) - phi(rho));
    let r_dn = p(phi(rho) - phi(t_star));
    let (h_up, h_dn) = if e_star >= 0.0 {
        (
            p(phi(t_pos) - phi(t_star)).max(p(phi(rho) - phi(t_neg))),
            p(phi(t_star) - phi(t_pos)).max(p(phi(t_neg) - phi(rho))),
        )
    } else {
        (
            p(phi(t_pos) - phi(rho)).max(p(phi(t_star) - phi(t_neg))),
            p(phi(rho) - phi(t_pos)).max(p(phi(t_neg) - phi(t_star))),
        )
    };
    let peak = [
        pos * r_up + h_up,
        pos * r_dn + h_dn,
        neg * r_up + h_dn,
        neg * r_dn + h_up,
    ];
    let lin = [
        (e_pos * p(sigma * (phi(t_star) - phi(rho))) / e_star.abs().max(eps)).min(peak[0]),
        (e_pos * p(sigma * (phi(rho) - phi(t_star))) / e_star.abs().max(eps)).min(peak[1]),
        (e_neg * p(sigma * (phi(rho) - phi(t_star))) / e_star.abs().max(eps)).min(peak[2]),
        (e_neg * p(sigma * (phi(t_star) - phi(rho))) / e_star.abs().max(eps)).min(peak[3]),
    ];
    let e_from = [e_pos, e_pos, e_neg, e_neg];
    std::array::from_fn(|i| ((1.0 - c) * lin[i] + c * peak[i]) / e_from[i].max(eps))
}

/// Below this |Δz±| RevealCancel's pseudocount keeps `m± = Δy±/Δz±` finite.
const PSEUDOCOUNT: f64 = 1e-7;

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
            _ => panic!("reveal_cancel_row takes layer chains (dense, BatchNorm, activations)"),
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

/// DeepLIFT RevealCancel scores of one input row `x` against `r` at output `t`, on a layer
/// chain (dense, BatchNorm, activations), as evaluation.md states them, with dense and
/// BatchNorm layers composed into one affine block in front of each nonlinearity (the
/// project's first, per-row implementation). On chains where each block holds one dense
/// layer this is exactly the per-layer split of the graph implementation.
pub fn reveal_cancel_row<F: Float>(plan: &Plan<F>, x: &[F], r: &[F], t: usize) -> Vec<F> {
    let blocks = &blocks(plan)[..];
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
