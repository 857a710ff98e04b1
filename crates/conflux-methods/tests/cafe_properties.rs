//! CAFE's axioms and equivalences on random networks (proptest): completeness, missingness,
//! linearity, non-negativity, forward = reverse mode, batch = per-row, per-layer c against
//! the literal reference implementation.
#![allow(clippy::needless_range_loop)] // index-parallel arrays read clearest by index

use conflux_core::{Activation, Attribution, Dense, Layer, Network, Plan, Target};
use conflux_methods::Attributor;
use conflux_methods::cafe::{CafeParams, Mode};
use conflux_testkit::{reference, strategies};
use ndarray::{Array2, ArrayView2};
use proptest::prelude::*;

const ROWS: usize = 4;

/// Agreement between formulations, relative to the entry's total score mass. The modes and
/// the literal code round differently, and the secant slope (φ(ρ + e*) − φ(ρ))/|e*| is a
/// difference quotient: its rounding error grows like 1e-16/|e*|, up to 1e-7 at the
/// division guard |e*| = ε = 1e-9. Away from nearly cancelling neurons agreement is ~1e-15.
const TOL: f64 = 1e-7;

fn run(
    net: &Network,
    x: &[f64],
    r: &[f64],
    rows: usize,
    c: &[f64],
    mode: Mode,
    target: Target,
) -> Attribution<f64> {
    let plan = Plan::<f64>::new(net, false).unwrap();
    let d = net.input_dim();
    let x = ArrayView2::from_shape((rows, d), x).unwrap();
    let r = ArrayView2::from_shape((r.len() / d, d), r).unwrap();
    CafeParams::new()
        .c(c.to_vec())
        .mode(mode)
        .build()
        .unwrap()
        .attribute(&plan, x, r, target)
        .unwrap()
}

fn c_values(n_act: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        (0.0f64..=1.0).prop_map(|c| vec![c]),
        proptest::collection::vec(0.0f64..=1.0, n_act.max(1)..=n_act.max(1)),
    ]
}

fn net_data_c() -> impl Strategy<Value = (Network, Vec<f64>, Vec<f64>, Vec<f64>)> {
    strategies::network_with_data(4, 32, 12, ROWS).prop_flat_map(|(net, x, r)| {
        let n = net.activation_layers();
        (Just(net), Just(x), Just(r), c_values(n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(strategies::cases(96)))]

    #[test]
    fn completeness_missingness_nonnegativity((net, x, r, c) in net_data_c()) {
        let d = net.input_dim();
        for mode in [Mode::Forward, Mode::Reverse] {
            let a = run(&net, &x, &r, ROWS, &c, mode, Target::All);
            let s = a.split.as_ref().unwrap();
            let gaps = a.completeness_gap().unwrap();
            for e in 0..a.len() {
                let scale: f64 = s.feat_pos.row(e).sum() + s.feat_neg.row(e).sum() + s.bias_pos[e] + s.bias_neg[e]
                    + a.output[e].abs() + a.baseline_output.as_ref().unwrap()[e].abs();
                prop_assert!(gaps[e].abs() < 1e-8 * scale.max(1e-300), "{mode:?} entry {e}: gap {} vs scale {scale}", gaps[e]);
                let b = a.rows[e];
                for f in 0..d {
                    let (p, q) = (s.feat_pos[[e, f]], s.feat_neg[[e, f]]);
                    prop_assert!(p >= 0.0 && q >= 0.0, "negative split score {p} {q}");
                    if x[b * d + f] == r[f] {
                        prop_assert!(p == 0.0 && q == 0.0, "missingness: row {b} feature {f}: {p} {q}");
                    }
                }
                prop_assert!(s.bias_pos[e] >= 0.0 && s.bias_neg[e] >= 0.0);
            }
        }
    }

    #[test]
    fn forward_mode_equals_reverse_mode_and_the_literal_spec((net, x, r, c) in net_data_c()) {
        let d = net.input_dim();
        let fwd = run(&net, &x, &r, ROWS, &c, Mode::Forward, Target::All);
        let rev = run(&net, &x, &r, ROWS, &c, Mode::Reverse, Target::All);
        let (sf, sr) = (fwd.split.as_ref().unwrap(), rev.split.as_ref().unwrap());
        for e in 0..fwd.len() {
            let scale = sf.feat_pos.row(e).sum() + sf.feat_neg.row(e).sum() + sf.bias_pos[e] + sf.bias_neg[e] + 1e-12;
            let (b, t) = (fwd.rows[e], fwd.targets[e]);
            let (lp, ln, lbp, lbn) = reference::cafe_row(&net, &x[b * d..(b + 1) * d], &r, &c, t);
            for f in 0..d {
                for (got, want) in [(sf.feat_pos[[e, f]], lp[f]), (sr.feat_pos[[e, f]], lp[f]), (sf.feat_neg[[e, f]], ln[f]), (sr.feat_neg[[e, f]], ln[f])] {
                    prop_assert!((got - want).abs() <= TOL * scale, "entry {e} feature {f}: {got} vs literal {want}");
                }
            }
            for (got, want) in [(sf.bias_pos[e], lbp), (sr.bias_pos[e], lbp), (sf.bias_neg[e], lbn), (sr.bias_neg[e], lbn)] {
                prop_assert!((got - want).abs() <= TOL * scale, "entry {e} bias: {got} vs literal {want}");
            }
        }
    }

    #[test]
    fn batch_equals_per_row_and_chunking((net, x, r, c) in net_data_c()) {
        let d = net.input_dim();
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let xv = ArrayView2::from_shape((ROWS, d), &x[..]).unwrap();
        let rv = ArrayView2::from_shape((1, d), &r[..]).unwrap();
        // Chunks of one row run in parallel: must equal one chunk.
        let whole = CafeParams::new().c(c.clone()).build().unwrap().attribute(&plan, xv, rv, Target::Predicted).unwrap();
        let chunked = CafeParams::new().c(c.clone()).chunk_rows(1).build().unwrap().attribute(&plan, xv, rv, Target::Predicted).unwrap();
        // (Different row counts may take different product kernels: equal to rounding.)
        prop_assert_eq!(&whole.targets, &chunked.targets);
        for (a, b) in whole.scores.iter().zip(chunked.scores.iter()) {
            prop_assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()), "chunked {b} vs whole {a}");
        }
        for b in 0..ROWS {
            let one = run(&net, &x[b * d..(b + 1) * d], &r, 1, &c, Mode::Auto, Target::Predicted);
            prop_assert_eq!(one.targets[0], whole.targets[b]);
            for f in 0..d {
                prop_assert!((one.scores[[0, f]] - whole.scores[[b, f]]).abs() <= 1e-12 * (1.0 + one.scores[[0, f]].abs()));
            }
        }
        // A per-row reference equal to the shared one gives the same scores.
        let per_row: Vec<f64> = (0..ROWS).flat_map(|_| r.iter().copied()).collect();
        let pr = run(&net, &x, &per_row, ROWS, &c, Mode::Auto, Target::Predicted);
        for (a, b) in pr.scores.iter().zip(whole.scores.iter()) {
            prop_assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()));
        }
    }

    #[test]
    fn per_layer_c_is_used_per_layer((net, x, r) in strategies::network_with_data(4, 16, 6, 1), c in proptest::collection::vec(0.0f64..=1.0, 4)) {
        let n = net.activation_layers();
        let c = c[..n].to_vec();
        let a = run(&net, &x, &r, 1, &c, Mode::Reverse, Target::Index(0));
        let (lp, ln, _, _) = reference::cafe_row(&net, &x, &r, &c, 0);
        let s = a.split.as_ref().unwrap();
        for f in 0..net.input_dim() {
            prop_assert!((s.feat_pos[[0, f]] - lp[f]).abs() <= 1e-9 * (1.0 + lp[f].abs()));
            prop_assert!((s.feat_neg[[0, f]] - ln[f]).abs() <= 1e-9 * (1.0 + ln[f].abs()));
        }
    }

    #[test]
    fn joint_scores_are_linear_in_the_network(
        (f1, f2, acts, d) in linear_pair(),
        alpha in -2.0f64..2.0, beta in -2.0f64..2.0,
        x in proptest::collection::vec(-2.0f64..2.0, 8), r in proptest::collection::vec(-1.0f64..1.0, 8),
        c in 0.0f64..=1.0,
    ) {
        let (x, r) = (&x[..d], &r[..d]);
        let combined = combine(&f1, &f2, &acts, alpha, beta, d);
        let a1 = run(&f1, x, r, 1, &[c], Mode::Auto, Target::Index(0));
        let a2 = run(&f2, x, r, 1, &[c], Mode::Auto, Target::Index(0));
        let ac = run(&combined, x, r, 1, &[c], Mode::Auto, Target::Index(0));
        let bias = |a: &Attribution<f64>| { let s = a.split.as_ref().unwrap(); s.bias_pos[0] - s.bias_neg[0] };
        for f in 0..d {
            let want = alpha * a1.scores[[0, f]] + beta * a2.scores[[0, f]];
            prop_assert!((ac.scores[[0, f]] - want).abs() <= 1e-9 * (1.0 + want.abs()), "feature {f}: {} vs {want}", ac.scores[[0, f]]);
        }
        let want = alpha * bias(&a1) + beta * bias(&a2);
        prop_assert!((bias(&ac) - want).abs() <= 1e-9 * (1.0 + want.abs()));
    }
}

/// Two single-output networks with the same depth and the same activation per layer.
fn linear_pair() -> impl Strategy<Value = (Network, Network, Vec<Activation>, usize)> {
    (
        1usize..=8,
        proptest::collection::vec((1usize..=12, 1usize..=12, strategies::activation()), 1..=3),
    )
        .prop_flat_map(|(d, hidden)| {
            let acts: Vec<Activation> = hidden.iter().map(|h| h.2).collect();
            let w1: Vec<usize> = hidden.iter().map(|h| h.0).collect();
            let w2: Vec<usize> = hidden.iter().map(|h| h.1).collect();
            (
                one_net(d, w1, acts.clone()),
                one_net(d, w2, acts.clone()),
                Just(acts),
                Just(d),
            )
        })
}

fn one_net(d: usize, widths: Vec<usize>, acts: Vec<Activation>) -> impl Strategy<Value = Network> {
    let mut dims = vec![d];
    dims.extend(&widths);
    dims.push(1);
    let layers: Vec<_> = dims
        .windows(2)
        .map(|w| {
            let (n_in, n_out) = (w[0], w[1]);
            (
                proptest::collection::vec(-1.0f64..1.0, n_in * n_out),
                proptest::collection::vec(-0.5f64..0.5, n_out),
            )
                .prop_map(move |(wt, b)| Dense::new(n_out, n_in, wt, Some(b)).unwrap())
        })
        .collect();
    layers.prop_map(move |dense| {
        let mut ls = Vec::new();
        for (i, dl) in dense.into_iter().enumerate() {
            ls.push(Layer::Dense(dl));
            if i < acts.len() {
                ls.push(Layer::Act(acts[i]));
            }
        }
        Network::new(d, ls, None, None, None).unwrap()
    })
}

/// `α·F1 + β·F2` as one network: stacked first layer, block-diagonal hidden layers, a
/// combining last layer.
fn combine(
    f1: &Network,
    f2: &Network,
    acts: &[Activation],
    alpha: f64,
    beta: f64,
    d: usize,
) -> Network {
    let dense = |n: &Network| {
        n.layers()
            .iter()
            .filter_map(|l| {
                if let Layer::Dense(x) = l {
                    Some(x.clone())
                } else {
                    None
                }
            })
            .collect::<Vec<_>>()
    };
    let (l1, l2) = (dense(f1), dense(f2));
    let mut layers = Vec::new();
    let last = l1.len() - 1;
    for i in 0..=last {
        let (a, b) = (&l1[i], &l2[i]);
        let (bias_a, bias_b) = (a.bias().unwrap(), b.bias().unwrap());
        let layer = if i == last {
            let w: Vec<f64> = a
                .weight()
                .iter()
                .map(|v| alpha * v)
                .chain(b.weight().iter().map(|v| beta * v))
                .collect();
            Dense::new(
                1,
                a.in_dim() + b.in_dim(),
                w,
                Some(vec![alpha * bias_a[0] + beta * bias_b[0]]),
            )
            .unwrap()
        } else {
            let (n_in, out) = if i == 0 {
                (d, a.out_dim() + b.out_dim())
            } else {
                (a.in_dim() + b.in_dim(), a.out_dim() + b.out_dim())
            };
            let mut w = Array2::<f64>::zeros((out, n_in));
            for j in 0..a.out_dim() {
                for k in 0..a.in_dim() {
                    w[[j, k]] = a.row(j)[k];
                }
            }
            let off_in = if i == 0 { 0 } else { a.in_dim() };
            for j in 0..b.out_dim() {
                for k in 0..b.in_dim() {
                    w[[a.out_dim() + j, off_in + k]] = b.row(j)[k];
                }
            }
            Dense::new(
                out,
                n_in,
                w.into_raw_vec_and_offset().0,
                Some(bias_a.iter().chain(bias_b).copied().collect()),
            )
            .unwrap()
        };
        layers.push(Layer::Dense(layer));
        if i < last {
            layers.push(Layer::Act(acts[i]));
        }
    }
    Network::new(d, layers, None, None, None).unwrap()
}
