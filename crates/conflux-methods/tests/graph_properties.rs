//! CAFE's axioms and the gradients on random small graphs (convolutions with strides,
//! padding, dilation and groups; pooling with and without overlap; BatchNorm; LayerNorm;
//! residual blocks with and without projection; every activation): completeness,
//! missingness, non-negativity, forward mode = reverse mode, batch = per row, f32 ≈ f64;
//! gradients = finite differences; DeepLIFT and RevealCancel complete.
#![allow(clippy::needless_range_loop)]

use conflux_core::{Attribution, Gradient, Network, Op, Plan, Target};
use conflux_methods::Attributor;
use conflux_methods::cafe::{CafeParams, Mode};
use conflux_methods::deeplift::{DeepLift, RevealCancel};
use conflux_testkit::graphs::{Acts, graph_with_data};
use conflux_testkit::strategies;
use ndarray::ArrayView2;
use proptest::prelude::*;

const ROWS: usize = 3;

fn run<F: conflux_core::Float>(
    net: &Network,
    x: &[F],
    r: &[F],
    rows: usize,
    c: f64,
    mode: Mode,
) -> Attribution<F> {
    let plan = Plan::<F>::new(net, false).unwrap();
    let d = net.input_dim();
    let x = ArrayView2::from_shape((rows, d), x).unwrap();
    let r = ArrayView2::from_shape((r.len() / d, d), r).unwrap();
    CafeParams::new()
        .c([c])
        .mode(mode)
        .build()
        .unwrap()
        .attribute(&plan, x, r, Target::All)
        .unwrap()
}

/// Score mass of entry `e` (the scale agreement is measured against).
fn mass(a: &Attribution<f64>, e: usize) -> f64 {
    let s = a.split.as_ref().unwrap();
    s.feat_pos.row(e).sum()
        + s.feat_neg.row(e).sum()
        + s.bias_pos[e]
        + s.bias_neg[e]
        + a.output[e].abs()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(strategies::cases(48)))]

    #[test]
    fn cafe_axioms_and_modes_on_graphs((net, x, r) in graph_with_data(ROWS, Acts::All), c in 0.0f64..=1.0) {
        let d = net.input_dim();
        let fwd = run(&net, &x, &r, ROWS, c, Mode::Forward);
        let rev = run(&net, &x, &r, ROWS, c, Mode::Reverse);
        for a in [&fwd, &rev] {
            let s = a.split.as_ref().unwrap();
            let gaps = a.completeness_gap().unwrap();
            for e in 0..a.len() {
                prop_assert!(gaps[e].abs() <= 1e-8 * (1.0 + mass(a, e)), "entry {e}: gap {}", gaps[e]);
                let b = a.rows[e];
                for f in 0..d {
                    let (p, q) = (s.feat_pos[[e, f]], s.feat_neg[[e, f]]);
                    prop_assert!(p >= 0.0 && q >= 0.0);
                    if x[b * d + f] == r[f] {
                        prop_assert!(p == 0.0 && q == 0.0, "missingness: row {b} feature {f}: {p} {q}");
                    }
                }
            }
        }
        // Forward mode = reverse mode.
        let (sf, sr) = (fwd.split.as_ref().unwrap(), rev.split.as_ref().unwrap());
        for e in 0..fwd.len() {
            let tol = 1e-7 * (1.0 + mass(&fwd, e));
            for f in 0..d {
                prop_assert!((sf.feat_pos[[e, f]] - sr.feat_pos[[e, f]]).abs() <= tol);
                prop_assert!((sf.feat_neg[[e, f]] - sr.feat_neg[[e, f]]).abs() <= tol);
            }
            prop_assert!((sf.bias_pos[e] - sr.bias_pos[e]).abs() <= tol);
        }
        // Batch = per row (per-row reference rows too).
        let per_row_ref: Vec<f64> = r.iter().copied().cycle().take(ROWS * d).collect();
        let batch = run(&net, &x, &per_row_ref, ROWS, c, Mode::Reverse);
        let n = rev.len() / ROWS;
        for b in 0..ROWS {
            let one = run(&net, &x[b * d..(b + 1) * d], &r, 1, c, Mode::Reverse);
            for t in 0..n {
                let e = b * n + t;
                let tol = 1e-9 * (1.0 + mass(&rev, e));
                for f in 0..d {
                    prop_assert!((one.split.as_ref().unwrap().feat_pos[[t, f]] - sr.feat_pos[[e, f]]).abs() <= tol);
                    prop_assert!((batch.split.as_ref().unwrap().feat_neg[[e, f]] - sr.feat_neg[[e, f]]).abs() <= tol);
                }
            }
        }
    }

    /// DeepLIFT sums to `F(x) − F(r)` (every LayerNorm frozen at `x` in `F(r)`) on any
    /// graph, for a per-row and for the zero reference; RevealCancel too wherever it has a
    /// rule for every op, and names the op otherwise.
    #[test]
    fn deeplift_is_complete_on_graphs((net, x, r) in graph_with_data(ROWS, Acts::All)) {
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let d = net.input_dim();
        let xv = ArrayView2::from_shape((ROWS, d), &x[..]).unwrap();
        let zero = vec![0.0; d];
        let refuses = plan
            .nodes()
            .iter()
            .any(|n| matches!(n.op, Op::MaxPool(_) | Op::LayerNorm(_)));
        for r in [&r[..], &zero[..]] {
            let rv = ArrayView2::from_shape((r.len() / d, d), r).unwrap();
            let dl = DeepLift::default().attribute(&plan, xv, rv, Target::All).unwrap();
            let rc = RevealCancel.attribute(&plan, xv, rv, Target::All);
            prop_assert_eq!(rc.is_err(), refuses);
            for (what, a) in [("deeplift", Some(&dl)), ("reveal-cancel", rc.as_ref().ok())] {
                let Some(a) = a else { continue };
                let base = a.baseline_output.as_ref().unwrap();
                for e in 0..a.len() {
                    let gap = a.scores.row(e).sum() - (a.output[e] - base[e]);
                    prop_assert!(
                        gap.abs() <= 1e-8 * (1.0 + a.output[e].abs() + base[e].abs()),
                        "{}: entry {} gap {:e}", what, e, gap
                    );
                }
            }
        }
    }

    /// LRP on any graph conserves relevance up to rounding, once what biases and the
    /// stabiliser ε absorb is counted: at every residual join (the two operands receive what
    /// reached the sum) and in total (inputs + biases + stabiliser = F(x)).
    #[test]
    fn lrp_conserves_on_graphs((net, x, r) in graph_with_data(ROWS, Acts::All)) {
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let d = net.input_dim();
        let xv = ArrayView2::from_shape((ROWS, d), &x[..]).unwrap();
        let rv = ArrayView2::from_shape((r.len() / d, d), &r[..]).unwrap();
        let rel = conflux_methods::lrp::Lrp::default().relevance(&plan, xv, rv, Target::All).unwrap();
        let a = &rel.attribution;
        for e in 0..a.len() {
            let inputs: f64 = a.scores.row(e).sum();
            let total = inputs + rel.biases[e] + rel.stabiliser[e];
            let scale = a.output[e].abs() + rel.peak[e];
            prop_assert!(
                (total - a.output[e]).abs() <= 1e-9 * scale,
                "entry {}: inputs {} + biases {} + stabiliser {} vs F(x) {}",
                e, inputs, rel.biases[e], rel.stabiliser[e], a.output[e]
            );
            for j in &rel.joins[e] {
                prop_assert!(
                    (j.relevance - j.passed - j.stabiliser).abs() <= 1e-9 * (j.magnitude + j.relevance.abs()),
                    "entry {}: {:?}", e, j
                );
            }
        }
    }

    /// On well-conditioned graphs (no max pooling, no LayerNorm; see [`Acts::Conditioned`])
    /// at c = 1. At c < 1 CAFE's rule is discontinuous where a neuron's inputs cancel exactly
    /// (cafe.md: sign(0) = 0 switches the secant flows off), and f32's cancellation threshold
    /// (64 ulps of e+ + e−, 7.6e-6 relative) is reached far more often than f64's: residual
    /// networks with strongly conflicting inputs then differ between precisions by more
    /// than rounding. Max pooling and LayerNorm in f32 are checked on the golden networks.
    #[test]
    fn f32_follows_f64_on_graphs((net, x, r) in graph_with_data(ROWS, Acts::Conditioned)) {
        let c = 1.0;
        let a64 = run(&net, &x, &r, ROWS, c, Mode::Reverse);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let r32: Vec<f32> = r.iter().map(|&v| v as f32).collect();
        let a32 = run(&net, &x32, &r32, ROWS, c, Mode::Reverse);
        for e in 0..a64.len() {
            let tol = 1e-3 * (1.0 + mass(&a64, e));
            for (p, q) in a64.scores.row(e).iter().zip(a32.scores.row(e)) {
                prop_assert!((p - f64::from(*q)).abs() <= tol, "{p} vs {q}");
            }
        }
    }

    #[test]
    fn gradients_equal_finite_differences((net, x, _r) in graph_with_data(2, Acts::Smooth)) {
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let (d, n) = (plan.input_dim(), plan.output_dim());
        for b in 0..2 {
            let row = &x[b * d..(b + 1) * d];
            let t = b % n;
            let g = plan.gradient(row, 1, &[t]);
            let h = 1e-5;
            for f in 0..d {
                let (mut up, mut dn) = (row.to_vec(), row.to_vec());
                up[f] += h;
                dn[f] -= h;
                let fd = (plan.forward(&up, 1)[t] - plan.forward(&dn, 1)[t]) / (2.0 * h);
                prop_assert!((fd - g[f]).abs() <= 1e-5 * (1.0 + fd.abs()), "feature {f}: {} vs finite difference {fd}", g[f]);
            }
        }
    }
}

/// The generator covers what the properties claim: every op kind appears among 300 graphs.
#[test]
fn generated_graphs_cover_every_op() {
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..300 {
        let net = conflux_testkit::graphs::graph(seed, Acts::All);
        for n in net.graph().unwrap().nodes() {
            kinds.insert(n.op.kind().to_string());
            if let conflux_core::Op::Conv(c) = &n.op {
                if c.groups > 1 {
                    kinds.insert("grouped".into());
                }
                if c.window.dilation[0] > 1 {
                    kinds.insert("dilated".into());
                }
                if c.window.stride[0] > 1 {
                    kinds.insert("strided".into());
                }
            }
        }
    }
    for k in [
        "Conv",
        "Affine",
        "MaxPool",
        "AveragePool",
        "Add",
        "Sub",
        "LayerNormalization",
        "Gemm",
        "relu",
        "gelu",
        "tanh",
        "sigmoid",
        "grouped",
        "dilated",
        "strided",
    ] {
        assert!(kinds.contains(k), "{k} never generated: {kinds:?}");
    }
}

/// An empty batch on a graph with LayerNorm gates gives an empty result.
#[test]
fn empty_batch_with_gates() {
    let net = (0..200)
        .map(|s| conflux_testkit::graphs::graph(s, Acts::All))
        .find(|n| Plan::<f64>::new(n, false).unwrap().has_gates())
        .expect("a generated graph with LayerNorm");
    let d = net.input_dim();
    let a = run(&net, &[], &vec![0.0; d], 0, 0.5, Mode::Reverse);
    assert_eq!(a.len(), 0);
}
