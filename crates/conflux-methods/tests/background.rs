//! Attributions averaged over a background of references (`background::average`): equal to
//! the mean of single-reference runs for every part of the result, whatever the block size,
//! and complete for the mean where each run is.

use conflux_core::{Attribution, Plan, Target};
use conflux_methods::background::average;
use conflux_methods::spec::MethodSpec;
use conflux_testkit::assert::assert_close;
use conflux_testkit::strategies;
use ndarray::{Array2, s};
use proptest::test_runner::{Config, TestRunner};

/// The mean of `attribute(x, background row j)` over `j`, entry by entry.
fn mean_of_runs(runs: &[Attribution<f64>]) -> Attribution<f64> {
    let n = runs.len() as f64;
    let mut m = runs[0].clone();
    m.scores = runs
        .iter()
        .map(|a| &a.scores)
        .fold(Array2::zeros(m.scores.dim()), |acc, s| acc + s)
        / n;
    if let Some(b) = &mut m.baseline_output {
        for (e, v) in b.iter_mut().enumerate() {
            *v = runs
                .iter()
                .map(|a| a.baseline_output.as_ref().unwrap()[e])
                .sum::<f64>()
                / n;
        }
    }
    if let Some(sp) = &mut m.split {
        sp.feat_pos = runs
            .iter()
            .fold(Array2::zeros(sp.feat_pos.dim()), |acc, a| {
                acc + &a.split.as_ref().unwrap().feat_pos
            })
            / n;
        sp.feat_neg = runs
            .iter()
            .fold(Array2::zeros(sp.feat_neg.dim()), |acc, a| {
                acc + &a.split.as_ref().unwrap().feat_neg
            })
            / n;
        for e in 0..sp.bias_pos.len() {
            sp.bias_pos[e] = runs
                .iter()
                .map(|a| a.split.as_ref().unwrap().bias_pos[e])
                .sum::<f64>()
                / n;
            sp.bias_neg[e] = runs
                .iter()
                .map(|a| a.split.as_ref().unwrap().bias_neg[e])
                .sum::<f64>()
                / n;
        }
    }
    m
}

fn assert_same(what: &str, got: &Attribution<f64>, want: &Attribution<f64>) {
    assert_eq!(got.rows, want.rows, "{what}");
    assert_eq!(got.targets, want.targets, "{what}");
    let close =
        |w: &str, a: &[f64], b: &[f64]| assert_close(&format!("{what} {w}"), a, b, 1e-10, 1e-12);
    // Computed in a call of other rows, outputs may differ in the last bit.
    close("output", &got.output, &want.output);
    close(
        "scores",
        got.scores.as_slice().unwrap(),
        want.scores.as_slice().unwrap(),
    );
    match (&got.baseline_output, &want.baseline_output) {
        (Some(a), Some(b)) => close("baseline", a, b),
        (None, None) => {}
        _ => panic!("{what}: baseline present in one only"),
    }
    if let (Some(a), Some(b)) = (&got.split, &want.split) {
        close(
            "feat_pos",
            a.feat_pos.as_slice().unwrap(),
            b.feat_pos.as_slice().unwrap(),
        );
        close(
            "feat_neg",
            a.feat_neg.as_slice().unwrap(),
            b.feat_neg.as_slice().unwrap(),
        );
        close("bias_pos", &a.bias_pos, &b.bias_pos);
        close("bias_neg", &a.bias_neg, &b.bias_neg);
    } else {
        assert_eq!(got.split.is_some(), want.split.is_some(), "{what}");
    }
}

#[test]
fn the_average_is_the_mean_of_single_reference_runs() {
    let mut runner = TestRunner::new(Config::with_cases(strategies::cases(12)));
    runner
        .run(
            &strategies::network_with_data(3, 12, 6, 3),
            |(net, x, _)| {
                let plan = Plan::<f64>::new(&net, false).unwrap();
                let d = net.input_dim();
                let x = Array2::from_shape_vec((3, d), x).unwrap();
                // Seven background rows: blocks of 1, 3 (7 = 3 + 3 + 1) and all seven.
                let bg = Array2::from_shape_fn((7, d), |(i, f)| {
                    ((i * 7 + f * 3) % 11) as f64 / 5.0 - 1.0
                });
                for spec in [
                    "cafe:c=0.5",
                    "deeplift",
                    "deeplift-reveal-cancel",
                    "integrated-gradients:steps=16",
                    "kernel-shap:exact=true",
                    "gradient-shap:n=3",
                ] {
                    let method = spec.parse::<MethodSpec>().unwrap().build(None, 7).unwrap();
                    for target in [Target::Predicted, Target::All] {
                        let runs: Vec<Attribution<f64>> = (0..7)
                            .map(|j| {
                                method
                                    .attribute(&plan, x.view(), bg.slice(s![j..=j, ..]), target)
                                    .unwrap()
                            })
                            .collect();
                        let want = mean_of_runs(&runs);
                        for max_entries in [1, 9, 100] {
                            let got = average(x.view(), bg.view(), max_entries, |xv, rv| {
                                method.attribute(&plan, xv, rv, target)
                            })
                            .unwrap();
                            if spec.starts_with("gradient-shap") && max_entries > 3 {
                                // Sampling streams are per input row: repeated rows draw anew,
                                // so only the one-reference-per-call path reproduces the runs.
                                continue;
                            }
                            assert_same(
                                &format!("{spec} {target:?} max_entries {max_entries}"),
                                &got,
                                &want,
                            );
                            let exact = !spec.starts_with("integrated")
                                && !spec.starts_with("gradient-shap");
                            if let (true, Some(gaps)) = (exact, got.completeness_gap()) {
                                for (e, g) in gaps.iter().enumerate() {
                                    let mass: f64 = got.scores.row(e).iter().map(|v| v.abs()).sum();
                                    let scale = 1.0 + got.output[e].abs() + mass;
                                    assert!(g.abs() < 1e-8 * scale, "{spec}: mean gap {g}");
                                }
                            }
                        }
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn an_empty_or_misshapen_background_is_an_error() {
    let x = Array2::<f64>::zeros((2, 3));
    let call = |_: ndarray::ArrayView2<f64>,
                _: ndarray::ArrayView2<f64>|
     -> conflux_core::Result<Attribution<f64>> { panic!("not called") };
    let e = average(x.view(), Array2::zeros((0, 3)).view(), 10, call).unwrap_err();
    assert!(e.to_string().contains("no rows"), "{e}");
    let e = average(x.view(), Array2::zeros((2, 4)).view(), 10, call).unwrap_err();
    assert!(e.to_string().contains("3 features"), "{e}");
}
