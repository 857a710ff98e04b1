//! DeepLIFT (Rescale, RevealCancel) and LRP on the graph networks of `tests/golden/graph`
//! (CNNs, residual and LayerNorm networks), f64: completeness and conservation on every row,
//! and Captum's recorded values where Captum itself is complete. The tests name the networks
//! where Captum is not (graph README, "Limitations of Captum").

use conflux_core::io::onnx;
use conflux_core::{Attribution, Plan, Target};
use conflux_methods::Attributor;
use conflux_methods::deeplift::{DeepLift, RevealCancel};
use conflux_methods::lrp::Lrp;
use conflux_testkit::assert::assert_close;
use conflux_testkit::golden::{GRAPH_NETWORKS as NETWORKS, graph_file, graph_models};
use conflux_testkit::json::{floats as flat, matrix};
use ndarray::Array2;

struct Case {
    name: &'static str,
    plan: Plan<f64>,
    x: Array2<f64>,
    /// `(name, reference row)` for the zero and the non-zero reference.
    refs: Vec<(&'static str, Array2<f64>)>,
    target: Target,
    baselines: serde_json::Value,
}

fn cases() -> Vec<Case> {
    NETWORKS
        .iter()
        .map(|&name| {
            let main = graph_file(&format!("{name}.json"));
            let baselines = graph_file(&format!("{name}.baselines.json"));
            let net = onnx::load(&graph_models().join(format!("{name}.onnx"))).unwrap();
            let inputs = matrix(&main["inputs"]);
            let (rows, d) = (inputs.len(), inputs[0].len());
            let refs = ["zeros", "nonzero"]
                .into_iter()
                .map(|w| {
                    let r = flat(&main["references"][w]);
                    (w, Array2::from_shape_vec((1, d), r).unwrap())
                })
                .collect();
            Case {
                name,
                plan: Plan::<f64>::new(&net, false).unwrap(),
                x: Array2::from_shape_fn((rows, d), |(i, j)| inputs[i][j]),
                refs,
                target: Target::Index(baselines["target"].as_u64().unwrap() as usize),
                baselines,
            }
        })
        .collect()
}

/// `|Σ scores − (F(x) − baseline)| ≤ 1e-8·(1 + |F(x)| + |baseline|)` on every entry.
fn assert_complete(what: &str, a: &Attribution<f64>) {
    let base = a.baseline_output.as_ref().expect("a baseline");
    for (e, &b) in base.iter().enumerate() {
        let gap = a.scores.row(e).sum() - (a.output[e] - b);
        assert!(
            gap.abs() <= 1e-8 * (1.0 + a.output[e].abs() + b.abs()),
            "{what}: row {e} completeness gap {gap:e} (output {}, baseline {b})",
            a.output[e]
        );
    }
}

/// The largest absolute difference between `a` and `b`.
fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f64::max)
}

/// The recorded Captum entry of `method` at reference `which` (or without one).
fn captum<'a>(c: &'a Case, method: &str, which: Option<&str>) -> &'a serde_json::Value {
    c.baselines["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["method"] == method && m["reference"].as_str() == which)
        .unwrap_or_else(|| panic!("{}: no {method} {which:?}", c.name))
}

#[test]
fn deeplift_is_complete_and_matches_captum_where_captum_is() {
    let (mut matched, mut captum_incomplete) = (Vec::new(), Vec::new());
    for c in cases() {
        for (which, r) in &c.refs {
            let what = format!("{} {which}", c.name);
            let a = DeepLift::default()
                .attribute(&c.plan, c.x.view(), r.view(), c.target)
                .unwrap();
            assert_complete(&what, &a);
            let m = captum(&c, "DeepLift", Some(which));
            let want: Vec<f64> = matrix(&m["attributions"]).into_iter().flatten().collect();
            if m["convergence_delta_max_abs"].as_f64().unwrap() < 1e-8 {
                assert_close(&what, a.scores.as_slice().unwrap(), &want, 1e-5, 1e-6);
                matched.push(what);
            } else {
                // Captum breaks completeness here; conflux does not (asserted above), so the
                // two must differ somewhere.
                let diff = max_diff(a.scores.as_slice().unwrap(), &want);
                assert!(diff > 1e-6, "{what}: equal to an incomplete Captum");
                captum_incomplete.push(what);
            }
        }
    }
    assert_eq!(
        matched,
        [
            "cnn6_batchnorm zeros",
            "cnn6_batchnorm nonzero",
            "cnn10_relu_maxpool_avgpool zeros",
            "cnn6_2ch_overlap_maxpool zeros",
            "mlp7_residual_projection zeros",
            "mlp7_residual_projection nonzero",
        ]
    );
    // GELU and LayerNorm (no Captum rule), ReLU before MaxPool (rule disabled).
    assert_eq!(
        captum_incomplete,
        [
            "cnn10_gelu_stride2 zeros",
            "cnn10_gelu_stride2 nonzero",
            "cnn10_relu_maxpool_avgpool nonzero",
            "cnn6_2ch_overlap_maxpool nonzero",
            "mlp8_layernorm zeros",
            "mlp8_layernorm nonzero",
            "mlp7_residual zeros",
            "mlp7_residual nonzero",
        ]
    );
}

#[test]
fn lrp_conserves_relevance_at_every_join_and_in_total() {
    let mut joins = 0;
    for c in cases() {
        let rel = Lrp::default()
            .relevance(&c.plan, c.x.view(), c.refs[0].1.view(), c.target)
            .unwrap();
        let a = &rel.attribution;
        for e in 0..a.len() {
            let inputs = a.scores.row(e).sum();
            let out = a.output[e];
            // The stabiliser's share is tiny here (no z within a few ε of 0), so inputs and
            // biases alone carry F(x) to 1e-6 (graph.md), and exactly with it counted.
            assert!(
                (inputs + rel.biases[e] - out).abs() <= 1e-6 * out.abs().max(1e-3),
                "{} row {e}: inputs {inputs} + biases {} vs F(x) {out}",
                c.name,
                rel.biases[e]
            );
            let total = inputs + rel.biases[e] + rel.stabiliser[e];
            assert!(
                (total - out).abs() <= 1e-9 * (out.abs() + rel.peak[e]),
                "{} row {e}: {total} vs {out}",
                c.name
            );
            for j in &rel.joins[e] {
                assert!(
                    (j.relevance - j.passed).abs() <= 1e-6 * j.relevance.abs().max(1e-6),
                    "{} row {e}: a join passed {} of {}",
                    c.name,
                    j.passed,
                    j.relevance
                );
                joins += 1;
            }
        }
        let m = captum(&c, "LRP", None);
        if m["status"] == "ok" {
            // Captum runs only on mlp7_residual_projection, where it hands the full relevance
            // of the residual sum to both branches and does not conserve.
            assert_eq!(c.name, "mlp7_residual_projection");
            assert!(m["convergence_delta_max_abs"].as_f64().unwrap() > 1.0);
            let want: Vec<f64> = matrix(&m["attributions"]).into_iter().flatten().collect();
            let diff = max_diff(a.scores.as_slice().unwrap(), &want);
            assert!(diff > 1e-3, "{}: equal to a non-conserving Captum", c.name);
        }
    }
    // 20 rows × one join in each of the two residual MLPs.
    assert_eq!(joins, 40);
}

#[test]
fn reveal_cancel_is_complete_or_names_the_op_it_has_no_rule_for() {
    let (mut complete, mut refused) = (0, Vec::new());
    for c in cases() {
        for (which, r) in &c.refs {
            match RevealCancel.attribute(&c.plan, c.x.view(), r.view(), c.target) {
                Ok(a) => {
                    assert_complete(&format!("{} {which}", c.name), &a);
                    complete += 1;
                }
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains("MaxPool") || msg.contains("LayerNormalization"),
                        "{}: {msg}",
                        c.name
                    );
                    assert!(msg.contains("deeplift-reveal-cancel"), "{msg}");
                    refused.push(c.name);
                }
            }
        }
    }
    refused.dedup();
    assert_eq!(
        refused,
        [
            "cnn10_relu_maxpool_avgpool",
            "cnn6_2ch_overlap_maxpool",
            "mlp8_layernorm"
        ]
    );
    assert_eq!(complete, 8);
}

/// `patch:4x4` on a 10×10 CNN (3 × 3 patches, edge patches smaller, all channels): Kernel
/// SHAP with exact enumeration equals the brute-force Shapley values of the patch game, and
/// every pixel of a patch reports its patch's score.
#[test]
fn kernel_shap_on_patches_equals_brute_force_shapley() {
    use conflux_core::FeatureGroups;
    use conflux_methods::kernel_shap::KernelShap;
    let c = cases()
        .into_iter()
        .find(|c| c.name == "cnn10_relu_maxpool_avgpool")
        .unwrap();
    let shape = c.plan.input_shape().to_vec();
    let groups = FeatureGroups::patches(&shape, 4, 4).unwrap();
    assert_eq!(groups.len(), 9);
    assert_eq!(groups.members(0).len(), 16 * shape[0]);
    assert_eq!(groups.members(8).len(), 4 * shape[0]);
    let r = &c.refs[1].1;
    let x = c.x.slice(ndarray::s![0..3, ..]).to_owned();
    let a = KernelShap {
        samples: 0,
        exact: true,
        seed: 0,
        groups: Some(groups.clone()),
    }
    .attribute(&c.plan, x.view(), r.view(), c.target)
    .unwrap();
    let m = groups.len();
    let Target::Index(t) = c.target else {
        unreachable!()
    };
    for row in 0..x.nrows() {
        // v(S) for every coalition S (bit g set: patch g from x, else from r).
        let v: Vec<f64> = (0..1usize << m)
            .map(|s| {
                let mut z = r.row(0).to_vec();
                for g in (0..m).filter(|g| s >> g & 1 == 1) {
                    for &f in groups.members(g) {
                        z[f] = x[[row, f]];
                    }
                }
                c.plan.forward(&z, 1)[t]
            })
            .collect();
        let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
        for g in 0..m {
            let mut phi = 0.0;
            for s in (0..1usize << m).filter(|s| s >> g & 1 == 0) {
                let k = s.count_ones() as usize;
                phi += fact(k) * fact(m - k - 1) / fact(m) * (v[s | 1 << g] - v[s]);
            }
            for &f in groups.members(g) {
                let got = a.scores[[row, f]];
                assert!(
                    (got - phi).abs() <= 1e-9 * (1.0 + phi.abs()),
                    "row {row} patch {g} pixel {f}: {got} vs {phi}"
                );
            }
        }
    }
}

/// RevealCancel at a residual join, worked by hand: `y = ReLU(W·x + V·x)` with
/// `W = [1, −1]`, `V = [1, 1]`, `x = (2, 1)`, `r = 0`. Each linear op splits its own
/// contributions (evaluation.md: the split is recomputed at every linear layer) and the
/// join adds the splits: `Δz⁺ = 2 + 3 = 5`, `Δz⁻ = −1`, so `Δy⁺ = ½·5 + ½·4 = 4.5`,
/// `Δy⁻ = ½·0 + ½·(4 − 5) = −0.5`, `m⁺ = 0.9`, `m⁻ = 0.5`. Back: `W` gives
/// `(0.9, −0.5)`, `V` gives `(0.9, 0.9)`: scores `(1.8·2, 0.4·1) = (3.6, 0.4)`, summing to
/// `F(x) − F(r) = 4`. (Composing `W + V = [2, 0]` first would hide `x₂`'s cancelling
/// effects and give `(4, 0)`, as does Rescale.)
#[test]
fn reveal_cancel_at_a_residual_join_by_hand() {
    use conflux_core::{Activation, GraphBuilder, Limits, Network};
    let (mut b, x) = GraphBuilder::new(vec![2], Limits::default()).unwrap();
    let zw = b.dense("w", &x, 1, 2, &[1.0, -1.0], None).unwrap();
    let zv = b.dense("v", &x, 1, 2, &[1.0, 1.0], None).unwrap();
    let z = b.add("join", &zw, &zv, false).unwrap();
    let y = b.act("relu", &z, Activation::Relu).unwrap();
    let net = Network::from_graph(b.finish(&y).unwrap(), None, None, None).unwrap();
    let plan = Plan::<f64>::new(&net, false).unwrap();
    let x = Array2::from_shape_vec((1, 2), vec![2.0, 1.0]).unwrap();
    let r = Array2::zeros((1, 2));
    let rc = RevealCancel
        .attribute(&plan, x.view(), r.view(), Target::Index(0))
        .unwrap();
    assert_close(
        "reveal-cancel",
        rc.scores.as_slice().unwrap(),
        &[3.6, 0.4],
        1e-12,
        1e-12,
    );
    let dl = DeepLift::default()
        .attribute(&plan, x.view(), r.view(), Target::Index(0))
        .unwrap();
    assert_close(
        "rescale",
        dl.scores.as_slice().unwrap(),
        &[4.0, 0.0],
        1e-12,
        1e-12,
    );
}

type Method = dyn Attributor<Plan<f64>, f64>;

/// Many rows (several parallel blocks, per-row references) give each row's result alone.
#[test]
fn blocks_of_rows_equal_rows_one_at_a_time() {
    for c in cases()
        .into_iter()
        .filter(|c| ["cnn6_batchnorm", "cnn10_gelu_stride2", "mlp8_layernorm"].contains(&c.name))
    {
        let (rows, d) = c.x.dim();
        let reps = 12;
        let x = Array2::from_shape_fn((rows * reps, d), |(i, j)| c.x[[i % rows, j]]);
        // Row i's reference: the non-zero reference scaled by a row-dependent factor.
        let r = Array2::from_shape_fn((rows * reps, d), |(i, j)| {
            c.refs[1].1[[0, j]] * (1.0 + (i % 7) as f64 / 10.0)
        });
        let methods: Vec<(&str, Box<Method>)> = vec![
            ("deeplift", Box::new(DeepLift::default())),
            ("lrp", Box::new(Lrp::default())),
            ("reveal-cancel", Box::new(RevealCancel)),
        ];
        for (what, m) in methods {
            let all = match m.attribute(&c.plan, x.view(), r.view(), c.target) {
                Ok(a) => a,
                Err(_) => {
                    assert_eq!((what, c.name), ("reveal-cancel", "mlp8_layernorm"));
                    continue;
                }
            };
            for i in (0..rows * reps).step_by(37) {
                let one = m
                    .attribute(
                        &c.plan,
                        x.slice(ndarray::s![i..=i, ..]),
                        r.slice(ndarray::s![i..=i, ..]),
                        c.target,
                    )
                    .unwrap();
                let what = format!("{} {what} row {i}", c.name);
                assert_close(
                    &what,
                    all.scores.row(i).as_slice().unwrap(),
                    one.scores.as_slice().unwrap(),
                    1e-10,
                    1e-12,
                );
                if let (Some(a), Some(b)) = (&all.baseline_output, &one.baseline_output) {
                    assert_close(&what, &a[i..=i], b, 1e-12, 1e-12);
                }
            }
        }
    }
}
