//! Literal, slow implementations of the specs, written for readability rather than speed, to
//! test the fast code against (zennit's `test_rules.py` pattern).

use conflux_core::{Activation, Layer, Network};

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
