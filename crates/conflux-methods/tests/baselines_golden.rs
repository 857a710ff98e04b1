//! The baselines against Captum 0.9 (and exact Shapley enumeration) on the golden networks,
//! f64, 1e-5 relative / 1e-6 absolute.

use std::collections::BTreeMap;

use conflux_core::{Plan, Target};
use conflux_methods::Attributor;
use conflux_methods::deeplift::DeepLift;
use conflux_methods::gradient::{GradientXInput, Saliency};
use conflux_methods::ig::{IntegratedGradients, Rule};
use conflux_methods::lrp::Lrp;
use conflux_testkit::assert::assert_close;
use conflux_testkit::golden;
use ndarray::Array2;

#[test]
fn baselines_match_captum() {
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    for (path, g) in golden::baseline_files() {
        let net = g.network();
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let d = net.input_dim();
        for (ci, case) in g.cases.iter().enumerate() {
            let rows = case.inputs.len();
            let x = Array2::from_shape_fn((rows, d), |(i, j)| case.inputs[i][j]);
            let r = Array2::from_shape_fn((1, d), |(_, j)| case.reference[j]);
            let t = Target::Index(case.target);
            let a = match case.method.as_str() {
                "InputXGradient" => GradientXInput.attribute(&plan, x.view(), r.view(), t),
                "Saliency" => {
                    assert_eq!(case.params["abs"], false);
                    Saliency { abs: false }.attribute(&plan, x.view(), r.view(), t)
                }
                "DeepLift" => DeepLift::default().attribute(&plan, x.view(), r.view(), t),
                "IntegratedGradients" => {
                    let steps = case.params["n_steps"].as_u64().unwrap() as usize;
                    assert_eq!(case.params["method"], "gausslegendre");
                    IntegratedGradients::new(steps, Rule::GaussLegendre)
                        .unwrap()
                        .attribute(&plan, x.view(), r.view(), t)
                }
                "LRP" => Lrp::default().attribute(&plan, x.view(), r.view(), t),
                "ExactShapley" => continue,
                other => panic!("{}: unknown method {other}", path.display()),
            }
            .unwrap();
            let want: Vec<f64> = case.expected.iter().flatten().copied().collect();
            let what = format!("{} case {ci} {}", g.name, case.method);
            assert_close(&what, a.scores.as_slice().unwrap(), &want, 1e-5, 1e-6);
            *checked.entry(case.method.clone()).or_default() += 1;
        }
    }
    for m in [
        "InputXGradient",
        "Saliency",
        "DeepLift",
        "IntegratedGradients",
        "LRP",
    ] {
        assert!(
            checked.get(m).copied().unwrap_or(0) >= 12,
            "{m}: {checked:?}"
        );
    }
}
