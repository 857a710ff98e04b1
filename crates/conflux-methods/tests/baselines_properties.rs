//! The baselines' claims: exact Shapley against the golden enumeration, sampling methods
//! converging to it, surrogates recovering linear models, path methods agreeing on linear
//! networks, completeness where claimed, RevealCancel by hand, seeds independent of threads.

use conflux_core::{Attribution, FeatureGroups, Network, Plan, Target, io::json};
use conflux_methods::Attributor;
use conflux_methods::ablation::Ablation;
use conflux_methods::deeplift::{DeepLift, RevealCancel};
use conflux_methods::gradient::GradientXInput;
use conflux_methods::ig::{IntegratedGradients, Rule};
use conflux_methods::kernel_shap::KernelShap;
use conflux_methods::lime::{Lime, Surrogate};
use conflux_methods::shapley_sampling::ShapleySampling;
use conflux_testkit::assert::assert_close;
use conflux_testkit::{golden, strategies};
use ndarray::{Array2, array};
use proptest::prelude::*;

fn exact() -> KernelShap {
    KernelShap {
        exact: true,
        ..KernelShap::default()
    }
}

#[test]
fn exact_shapley_matches_the_golden_enumeration() {
    let mut n = 0;
    for (_, g) in golden::baseline_files() {
        let plan = Plan::<f64>::new(&g.network(), false).unwrap();
        let d = plan.input_dim();
        for case in g.cases.iter().filter(|c| c.method == "ExactShapley") {
            let x = Array2::from_shape_fn((case.inputs.len(), d), |(i, j)| case.inputs[i][j]);
            let r = Array2::from_shape_fn((1, d), |(_, j)| case.reference[j]);
            let a = exact()
                .attribute(&plan, x.view(), r.view(), Target::Index(case.target))
                .unwrap();
            let want: Vec<f64> = case.expected.iter().flatten().copied().collect();
            assert_close(&g.name, a.scores.as_slice().unwrap(), &want, 1e-5, 1e-6);
            assert!(a.completeness_gap().unwrap().iter().all(|v| v.abs() < 1e-9));
            n += 1;
        }
    }
    assert!(n >= 12);
}

fn max_err(a: &Attribution<f64>, b: &Attribution<f64>) -> f64 {
    a.scores
        .iter()
        .zip(b.scores.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A 6-feature GELU network with conflicts (golden gelu_6_10_5_3).
fn gelu_net() -> (Plan<f64>, Array2<f64>, Array2<f64>) {
    let g = golden::baseline_files()
        .into_iter()
        .find(|(_, g)| g.name == "gelu_6_10_5_3")
        .unwrap()
        .1;
    let plan = Plan::new(&g.network(), false).unwrap();
    let c = &g.cases[0];
    let x = Array2::from_shape_fn((3, 6), |(i, j)| c.inputs[i][j]);
    let r = Array2::from_shape_fn((1, 6), |(_, j)| c.reference[j]);
    (plan, x, r)
}

#[test]
fn sampling_methods_converge_to_exact_shapley() {
    let (plan, x, r) = gelu_net();
    let want = exact()
        .attribute(&plan, x.view(), r.view(), Target::Index(1))
        .unwrap();
    let scale = want.scores.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut last = (f64::INFINITY, f64::INFINITY);
    for (n, tol) in [(64, 0.5), (1024, 0.12), (16384, 0.03)] {
        let ks = KernelShap {
            samples: n,
            seed: 3,
            ..KernelShap::default()
        }
        .attribute(&plan, x.view(), r.view(), Target::Index(1))
        .unwrap();
        let sv = ShapleySampling {
            samples: n / 4,
            seed: 3,
            groups: None,
        }
        .attribute(&plan, x.view(), r.view(), Target::Index(1))
        .unwrap();
        let (ek, es) = (max_err(&ks, &want) / scale, max_err(&sv, &want) / scale);
        assert!(
            ek < tol && es < tol,
            "n = {n}: kernel shap {ek}, sampling {es} (tolerance {tol})"
        );
        assert!(
            ek < last.0 * 1.5 && es < last.1 * 1.5,
            "errors should shrink: {ek} {es} after {last:?}"
        );
        last = (ek, es);
        // Efficiency holds exactly for every sample size.
        for a in [&ks, &sv] {
            assert!(a.completeness_gap().unwrap().iter().all(|v| v.abs() < 1e-9));
        }
    }
}

fn linear_model() -> Network {
    json::from_str(r#"{"input_dim": 4, "layers": [{"type": "linear", "weight": [[0.5, -2, 1.5, 0.25], [1, 1, -1, 0]], "bias": [0.3, -0.1]}, {"type": "identity"}, {"type": "linear", "weight": [[1.5, -0.5]], "bias": [0.2]}]}"#).unwrap()
}

#[test]
fn surrogates_recover_linear_models() {
    let plan = Plan::<f64>::new(&linear_model(), false).unwrap();
    // Effective weights: 1.5·row0 − 0.5·row1.
    let w = [0.75 - 0.5, -3.0 - 0.5, 2.25 + 0.5, 0.375];
    let x = array![[1.0, -2.0, 0.5, 3.0], [0.2, 0.4, -1.0, 1.0]];
    let r = array![[0.5, 0.5, -0.5, 1.0]];
    let (xr, rr) = (&x, &r);
    let want: Vec<f64> = (0..2)
        .flat_map(|i| (0..4).map(move |f| w[f] * (xr[[i, f]] - rr[[0, f]])))
        .collect();
    for (name, a) in [
        (
            "lime",
            Lime {
                samples: 200,
                seed: 1,
                ..Lime::default()
            }
            .attribute(&plan, x.view(), r.view(), Target::Index(0))
            .unwrap(),
        ),
        (
            "kernel-shap",
            KernelShap {
                samples: 100,
                seed: 1,
                ..KernelShap::default()
            }
            .attribute(&plan, x.view(), r.view(), Target::Index(0))
            .unwrap(),
        ),
        (
            "exact",
            exact()
                .attribute(&plan, x.view(), r.view(), Target::Index(0))
                .unwrap(),
        ),
        (
            "sampling",
            ShapleySampling {
                samples: 3,
                seed: 1,
                groups: None,
            }
            .attribute(&plan, x.view(), r.view(), Target::Index(0))
            .unwrap(),
        ),
        (
            "ablation",
            Ablation::default()
                .attribute(&plan, x.view(), r.view(), Target::Index(0))
                .unwrap(),
        ),
        (
            "deeplift",
            DeepLift::default()
                .attribute(&plan, x.view(), r.view(), Target::Index(0))
                .unwrap(),
        ),
        (
            "ig",
            IntegratedGradients::new(3, Rule::RiemannLeft)
                .unwrap()
                .attribute(&plan, x.view(), r.view(), Target::Index(0))
                .unwrap(),
        ),
    ] {
        assert_close(name, a.scores.as_slice().unwrap(), &want, 1e-9, 1e-9);
    }
    // Lasso shrinks towards zero but keeps the signs.
    let lasso = Lime {
        samples: 200,
        seed: 1,
        surrogate: Surrogate::Lasso { alpha: 0.01 },
        ..Lime::default()
    }
    .attribute(&plan, x.view(), r.view(), Target::Index(0))
    .unwrap();
    for (g, w) in lasso.scores.iter().zip(&want) {
        assert!(g.abs() <= w.abs() + 1e-9 && (g * w >= 0.0), "{g} vs {w}");
    }
    // With a zero reference, Gradient × Input is the same as DeepLIFT and IG.
    let z = array![[0.0, 0.0, 0.0, 0.0]];
    let gxi = GradientXInput
        .attribute(&plan, x.view(), z.view(), Target::Index(0))
        .unwrap();
    let dl = DeepLift::default()
        .attribute(&plan, x.view(), z.view(), Target::Index(0))
        .unwrap();
    let ig = IntegratedGradients::default()
        .attribute(&plan, x.view(), z.view(), Target::Index(0))
        .unwrap();
    assert_close(
        "gxi vs deeplift",
        gxi.scores.as_slice().unwrap(),
        dl.scores.as_slice().unwrap(),
        1e-12,
        1e-12,
    );
    assert_close(
        "gxi vs ig",
        gxi.scores.as_slice().unwrap(),
        ig.scores.as_slice().unwrap(),
        1e-12,
        1e-12,
    );
}

#[test]
fn groups_move_together() {
    let plan = Plan::<f64>::new(&linear_model(), false).unwrap();
    let groups = FeatureGroups::new(
        4,
        vec![
            ("ab".into(), vec![0, 1]),
            ("c".into(), vec![2]),
            ("d".into(), vec![3]),
        ],
    )
    .unwrap();
    let x = array![[1.0, -2.0, 0.5, 3.0]];
    let r = array![[0.0, 0.0, 0.0, 0.0]];
    let a = KernelShap {
        exact: true,
        groups: Some(groups.clone()),
        ..KernelShap::default()
    }
    .attribute(&plan, x.view(), r.view(), Target::Index(0))
    .unwrap();
    // Group "ab" = 0.25·1 + (−3.5)·(−2) = 7.25, reported on both members.
    assert!((a.scores[[0, 0]] - 7.25).abs() < 1e-12 && (a.scores[[0, 1]] - 7.25).abs() < 1e-12);
    assert!(
        a.baseline_output.is_none(),
        "no per-feature completeness with groups"
    );
    let bad = FeatureGroups::new(3, vec![("a".into(), vec![0, 1, 2])]).unwrap();
    assert!(
        Ablation { groups: Some(bad) }
            .attribute(&plan, x.view(), r.view(), Target::Index(0))
            .is_err()
    );
}

/// evaluation.md: y = ReLU(x₁ − x₂), x = (2, 1), r = 0 ⇒ RevealCancel (1.5, −0.5), Rescale
/// (2, −1); the XNOR network at (1, 1) ⇒ RevealCancel (0, 0).
#[test]
fn reveal_cancel_by_hand() {
    let net = json::from_str(r#"{"input_dim": 2, "layers": [{"type": "linear", "weight": [[1, -1]], "bias": null}, {"type": "relu"}]}"#).unwrap();
    let plan = Plan::<f64>::new(&net, false).unwrap();
    let (x, r) = (array![[2.0, 1.0]], array![[0.0, 0.0]]);
    let rc = RevealCancel
        .attribute(&plan, x.view(), r.view(), Target::Index(0))
        .unwrap();
    assert_close(
        "reveal-cancel",
        rc.scores.as_slice().unwrap(),
        &[1.5, -0.5],
        1e-12,
        1e-12,
    );
    let dl = DeepLift::default()
        .attribute(&plan, x.view(), r.view(), Target::Index(0))
        .unwrap();
    assert_close(
        "rescale",
        dl.scores.as_slice().unwrap(),
        &[2.0, -1.0],
        1e-12,
        1e-12,
    );
    let xnor = json::from_str(r#"{"input_dim": 2, "layers": [{"type": "linear", "weight": [[1, -1], [-1, 1]], "bias": null}, {"type": "relu"}, {"type": "linear", "weight": [[-1, -1]], "bias": [1]}]}"#).unwrap();
    let plan = Plan::<f64>::new(&xnor, false).unwrap();
    let rc = RevealCancel
        .attribute(&plan, array![[1.0, 1.0]].view(), r.view(), Target::Index(0))
        .unwrap();
    assert_close(
        "xnor",
        rc.scores.as_slice().unwrap(),
        &[0.0, 0.0],
        1e-12,
        1e-12,
    );
}

#[test]
fn same_seed_same_output_whatever_the_thread_count() {
    let (plan, x, r) = gelu_net();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            (
                KernelShap {
                    samples: 50,
                    seed: 9,
                    ..KernelShap::default()
                }
                .attribute(&plan, x.view(), r.view(), Target::All)
                .unwrap(),
                Lime {
                    seed: 9,
                    ..Lime::default()
                }
                .attribute(&plan, x.view(), r.view(), Target::All)
                .unwrap(),
            )
        })
    };
    assert_eq!(run(1), run(2));
    assert_ne!(
        run(1).0,
        KernelShap {
            samples: 50,
            seed: 10,
            ..KernelShap::default()
        }
        .attribute(&plan, x.view(), r.view(), Target::All)
        .unwrap()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(strategies::cases(48)))]

    /// RevealCancel on the graph walk equals the literal per-row implementation on layer
    /// chains (dense, BatchNorm with either sign, every activation).
    #[test]
    fn reveal_cancel_equals_the_literal_rows((net, x, r) in strategies::network_with_data(3, 16, 8, 2)) {
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let d = net.input_dim();
        let xv = Array2::from_shape_vec((2, d), x.clone()).unwrap();
        let rv = Array2::from_shape_vec((1, d), r.clone()).unwrap();
        let a = RevealCancel.attribute(&plan, xv.view(), rv.view(), Target::All).unwrap();
        for e in 0..a.len() {
            let row = a.rows[e];
            let want = conflux_testkit::reference::reveal_cancel_row(
                &plan, &x[row * d..(row + 1) * d], &r, a.targets[e]);
            let got = a.scores.row(e).to_vec();
            let scale = 1.0 + want.iter().map(|v| v.abs()).sum::<f64>();
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g - w).abs() <= 1e-9 * scale, "{:?} vs {:?}", got, want);
            }
        }
    }

    /// DeepLIFT (Rescale and RevealCancel) sum to F(x) − F(r); IG's gap is small with 512 nodes;
    /// all three give 0 to features equal to the reference.
    #[test]
    fn completeness_and_missingness((net, x, r) in strategies::network_with_data(3, 16, 8, 2)) {
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let d = net.input_dim();
        let xv = Array2::from_shape_vec((2, d), x.clone()).unwrap();
        let rv = Array2::from_shape_vec((1, d), r.clone()).unwrap();
        for a in [
            DeepLift::default().attribute(&plan, xv.view(), rv.view(), Target::All).unwrap(),
            RevealCancel.attribute(&plan, xv.view(), rv.view(), Target::All).unwrap(),
        ] {
            for (e, gap) in a.completeness_gap().unwrap().iter().enumerate() {
                let scale = 1.0 + a.output[e].abs() + a.scores.row(e).iter().map(|v| v.abs()).sum::<f64>();
                prop_assert!(gap.abs() < 1e-6 * scale, "gap {gap}");
            }
            for e in 0..a.len() {
                for f in 0..d {
                    if x[a.rows[e] * d + f] == r[f] {
                        prop_assert!(a.scores[[e, f]] == 0.0);
                    }
                }
            }
        }
        // IG's completeness gap is quadrature error: small with many nodes (Gauss–Legendre
        // converges slowly across ReLU kinks, so no monotone decrease is claimed).
        let ig = IntegratedGradients::new(512, Rule::GaussLegendre).unwrap().attribute(&plan, xv.view(), rv.view(), Target::Index(0)).unwrap();
        for (e, gap) in ig.completeness_gap().unwrap().iter().enumerate() {
            let scale = 1.0 + (ig.output[e] - ig.baseline_output.as_ref().unwrap()[e]).abs() + ig.scores.row(e).iter().map(|v| v.abs()).sum::<f64>();
            prop_assert!(gap.abs() < 2e-3 * scale, "IG gap {gap} at 512 nodes, scale {scale}");
        }
    }
}
