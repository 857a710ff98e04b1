//! CAFE and the gradient baselines on the graph networks of `tests/golden/graph` (CNNs,
//! residual and LayerNorm networks), through the ONNX files of `tests/models/graph`:
//! f64 at 1e-5 relative / 1e-6 absolute against the authors' reference (with its documented
//! corrections) and Captum; where the reference has no exact value (MaxPool windows decided
//! by rounding noise at c > 0, LayerNorm with a non-zero reference) conflux's scores are
//! checked for non-negativity and completeness instead.

use conflux_core::io::onnx;
use conflux_core::{Attribution, Plan, Target};
use conflux_methods::Attributor;
use conflux_methods::cafe::{CafeParams, Mode};
use conflux_methods::gradient::{GradientXInput, Saliency};
use conflux_methods::ig::{IntegratedGradients, Rule};
use conflux_testkit::assert::assert_close;
use conflux_testkit::golden::{self, GRAPH_NETWORKS as NETWORKS, graph_file, graph_models};
use conflux_testkit::json::{floats as flat, matrix};
use ndarray::Array2;

/// The ONNX files of a network (every export variant).
fn variants(name: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(graph_models())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let f = p.file_stem().unwrap().to_string_lossy().to_string();
            f == name
                || f.strip_prefix(name)
                    .is_some_and(|s| ["_flat", "_legacy", "_unfolded"].contains(&s))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_onnx_variant_reproduces_the_float32_outputs() {
    let mut files = 0;
    for name in NETWORKS {
        let g = graph_file(&format!("{name}.json"));
        let inputs = matrix(&g["inputs"]);
        let want: Vec<f64> = matrix(&g["output_float32"]).into_iter().flatten().collect();
        let vars = variants(name);
        assert!(!vars.is_empty(), "{name}: no ONNX files");
        for path in vars {
            let net = onnx::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let plan = Plan::<f64>::new(&net, false).unwrap();
            assert_eq!(plan.input_dim(), inputs[0].len(), "{}", path.display());
            let x: Vec<f64> = inputs.iter().flatten().copied().collect();
            let got = plan.forward(&x, inputs.len());
            assert_close(&path.display().to_string(), &got, &want, 1e-5, 1e-5);
            // f32 too.
            let plan32 = Plan::<f32>::new(&net, false).unwrap();
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let got32: Vec<f64> = plan32
                .forward(&x32, inputs.len())
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            assert_close(
                &format!("{} f32", path.display()),
                &got32,
                &want,
                1e-4,
                1e-5,
            );
            files += 1;
        }
    }
    assert_eq!(files, 13);
}

fn check_complete(what: &str, a: &Attribution<f64>) {
    let s = a.split.as_ref().unwrap();
    let base = a.baseline_output.as_ref().unwrap();
    for (e, &base_e) in base.iter().enumerate() {
        let (p, n) = (s.feat_pos.row(e), s.feat_neg.row(e));
        assert!(
            p.iter().chain(n.iter()).all(|&v| v >= 0.0),
            "{what}: negative score in entry {e}"
        );
        assert!(
            s.bias_pos[e] >= 0.0 && s.bias_neg[e] >= 0.0,
            "{what}: negative bias score"
        );
        let total = p.sum() - n.sum() + s.bias_pos[e] - s.bias_neg[e];
        let mass = p.sum() + n.sum() + s.bias_pos[e] + s.bias_neg[e];
        let gap = total - (a.output[e] - base_e);
        assert!(
            gap.abs() <= 1e-8 * (1.0 + a.output[e].abs() + mass),
            "{what}: row {e} completeness gap {gap:e}"
        );
    }
}

#[test]
fn cafe_matches_the_reference_on_graph_networks() {
    let mut exact = 0;
    let mut complete_only = 0;
    for name in NETWORKS {
        let g = graph_file(&format!("{name}.json"));
        let net = onnx::load(&golden::graph_cafe_model(name)).unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let inputs = matrix(&g["inputs"]);
        let (rows, d) = (inputs.len(), inputs[0].len());
        let x = Array2::from_shape_fn((rows, d), |(i, j)| inputs[i][j]);
        for case in g["cases"].as_array().unwrap() {
            let c = case["c"].as_f64().unwrap();
            let which = case["reference"].as_str().unwrap();
            let r = flat(&g["references"][which]);
            let r = Array2::from_shape_vec((1, d), r).unwrap();
            let t = Target::Index(case["target"].as_u64().unwrap() as usize);
            for mode in [Mode::Reverse, Mode::Forward] {
                let what = format!("{name} c={c} {which} {mode:?}");
                let a = CafeParams::new()
                    .c([c])
                    .mode(mode)
                    .build()
                    .unwrap()
                    .attribute(&plan, x.view(), r.view(), t)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                check_complete(&what, &a);
                let exp = &case["expected"];
                // graph_case_is_exact says which cases have exact values, and why.
                if !golden::graph_case_is_exact(name, case, "f64") {
                    complete_only += 1;
                    continue;
                }
                let s = a.split.as_ref().unwrap();
                let fp = exp["feat_pos"].as_array().unwrap();
                for row in 0..rows {
                    if fp[row].is_null() {
                        continue;
                    }
                    let want_p = flat(&exp["feat_pos"][row]);
                    let want_n = flat(&exp["feat_neg"][row]);
                    let got_p: Vec<f64> = s.feat_pos.row(row).to_vec();
                    let got_n: Vec<f64> = s.feat_neg.row(row).to_vec();
                    assert_close(&format!("{what} row {row} S+"), &got_p, &want_p, 1e-5, 1e-6);
                    assert_close(&format!("{what} row {row} S-"), &got_n, &want_n, 1e-5, 1e-6);
                    let bias = [s.bias_pos[row], s.bias_neg[row]];
                    let want_b = [
                        exp["bias_pos"][row].as_f64().unwrap(),
                        exp["bias_neg"][row].as_f64().unwrap(),
                    ];
                    assert_close(
                        &format!("{what} row {row} bias"),
                        &bias,
                        &want_b,
                        1e-5,
                        1e-6,
                    );
                }
                // The baseline the scores complete against.
                let want_base = flat(&g["reference_output_nobias"][which])
                    [case["target"].as_u64().unwrap() as usize];
                if !net
                    .graph()
                    .unwrap()
                    .nodes()
                    .iter()
                    .any(|n| n.op.kind() == "LayerNormalization")
                    || which == "zeros"
                {
                    let base = a.baseline_output.as_ref().unwrap();
                    assert!(
                        base.iter().all(|b| (b - want_base).abs() < 1e-6),
                        "{what}: baseline {} vs {want_base}",
                        base[0]
                    );
                }
                exact += 1;
            }
        }
    }
    // 7 networks × 6 cases × 2 modes; exact: 5 networks × 12 less LayerNorm with the
    // non-zero reference (6), plus the MaxPool networks at c = 0, zero reference (4).
    assert_eq!(exact + complete_only, 84);
    assert_eq!(exact, 58, "{exact} exact comparisons");
}

#[test]
fn gradients_match_captum_on_graph_networks() {
    let mut checked = 0;
    for name in NETWORKS {
        let g = graph_file(&format!("{name}.baselines.json"));
        let main = graph_file(&format!("{name}.json"));
        let net = onnx::load(&graph_models().join(format!("{name}.onnx"))).unwrap();
        let plan = Plan::<f64>::new(&net, false).unwrap();
        let inputs = matrix(&main["inputs"]);
        let (rows, d) = (inputs.len(), inputs[0].len());
        let x = Array2::from_shape_fn((rows, d), |(i, j)| inputs[i][j]);
        let t = Target::Index(g["target"].as_u64().unwrap() as usize);
        for m in g["methods"].as_array().unwrap() {
            let method = m["method"].as_str().unwrap();
            let r = match m["reference"].as_str() {
                Some(w) => flat(&main["references"][w]),
                None => vec![0.0; d],
            };
            let r = Array2::from_shape_vec((1, d), r).unwrap();
            let a = match method {
                "InputXGradient" => GradientXInput.attribute(&plan, x.view(), r.view(), t),
                "Saliency" => Saliency { abs: false }.attribute(&plan, x.view(), r.view(), t),
                "IntegratedGradients" => IntegratedGradients::new(64, Rule::GaussLegendre)
                    .unwrap()
                    .attribute(&plan, x.view(), r.view(), t),
                _ => continue,
            }
            .unwrap();
            let want: Vec<f64> = matrix(&m["attributions"]).into_iter().flatten().collect();
            assert_close(
                &format!("{name} {method} {:?}", m["reference"]),
                a.scores.as_slice().unwrap(),
                &want,
                1e-5,
                1e-6,
            );
            checked += 1;
        }
    }
    // Saliency, InputXGradient and IG × 2 references on 7 networks.
    assert_eq!(checked, 28);
}
