//! CAFE against the golden vectors of the authors' reference implementation, in f64 and f32,
//! in both formulations.

use conflux_core::{Float, Plan, Target};
use conflux_methods::Attributor;
use conflux_methods::cafe::{CafeParams, Mode};
use conflux_testkit::assert::assert_close;
use conflux_testkit::golden;
use ndarray::Array2;

fn check<F: Float>(mode: Mode, rel: f64, abs_floor: f64) {
    let mut cases = 0;
    for (path, g) in golden::cafe_files() {
        let net = g.network();
        let plan = Plan::<F>::new(&net, false).unwrap();
        for (ci, case) in g.cases.iter().enumerate() {
            let d = net.input_dim();
            let rows = case.inputs.len();
            let x = Array2::from_shape_fn((rows, d), |(i, j)| F::of(case.inputs[i][j]));
            let r = Array2::from_shape_fn((1, d), |(_, j)| F::of(case.reference[j]));
            let cafe = CafeParams::new()
                .c(case.c.to_vec())
                .mode(mode)
                .build()
                .unwrap();
            let a = cafe
                .attribute(&plan, x.view(), r.view(), Target::Index(case.target))
                .unwrap();
            let s = a.split.as_ref().unwrap();
            let e = &case.expected;
            let flat = |v: &Vec<Vec<f64>>| v.iter().flatten().copied().collect::<Vec<f64>>();
            let want_all: Vec<f64> = flat(&e.feat_pos)
                .into_iter()
                .chain(flat(&e.feat_neg))
                .chain(e.bias_pos.iter().copied())
                .chain(e.bias_neg.iter().copied())
                .collect();
            let largest = want_all.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let abs = if F::NAME == "f64" {
                1e-6
            } else {
                abs_floor * largest
            };
            let f64s = |v: &[F]| v.iter().map(|x| x.f64()).collect::<Vec<f64>>();
            let what = |k: &str| {
                format!(
                    "{} case {ci} ({}, c={:?}, {mode:?}) {k}",
                    path.file_name().unwrap().to_string_lossy(),
                    F::NAME,
                    case.c
                )
            };
            assert_close(
                &what("feat_pos"),
                &f64s(s.feat_pos.as_slice().unwrap()),
                &flat(&e.feat_pos),
                rel,
                abs,
            );
            assert_close(
                &what("feat_neg"),
                &f64s(s.feat_neg.as_slice().unwrap()),
                &flat(&e.feat_neg),
                rel,
                abs,
            );
            assert_close(&what("bias_pos"), &f64s(&s.bias_pos), &e.bias_pos, rel, abs);
            assert_close(&what("bias_neg"), &f64s(&s.bias_neg), &e.bias_neg, rel, abs);
            let out: Vec<f64> = case.output.iter().map(|o| o[case.target]).collect();
            assert_close(&what("output"), &f64s(&a.output), &out, rel, abs);
            let base = vec![case.reference_output_nobias[case.target]; rows];
            assert_close(
                &what("baseline_output"),
                &f64s(a.baseline_output.as_ref().unwrap()),
                &base,
                rel,
                abs,
            );
            cases += 1;
        }
    }
    assert!(
        cases >= 200,
        "expected every golden case to run, ran {cases}"
    );
}

#[test]
fn golden_f64_reverse_mode() {
    check::<f64>(Mode::Reverse, 1e-5, 1e-6);
}

#[test]
fn golden_f64_forward_mode() {
    check::<f64>(Mode::Forward, 1e-5, 1e-6);
}

#[test]
fn golden_f64_auto_mode() {
    check::<f64>(Mode::Auto, 1e-5, 1e-6);
}

#[test]
fn golden_f32_reverse_mode() {
    check::<f32>(Mode::Reverse, 1e-3, 1e-5);
}

#[test]
fn golden_f32_forward_mode() {
    check::<f32>(Mode::Forward, 1e-3, 1e-5);
}
