//! ONNX import: the exported PyTorch models reproduce their sidecar outputs, and fixtures
//! built here with the protobuf types cover every supported op, heads, external data and
//! the error paths.

use std::path::{Path, PathBuf};

use conflux_core::io::onnx;
use conflux_core::{Activation, Head, Layer, Network, Preprocess};
use conflux_testkit::assert::assert_close;
use conflux_testkit::onnx::{Attr, OnnxBuilder};

fn models_dir() -> PathBuf {
    conflux_testkit::repo_root().join("tests/models")
}

#[test]
fn exported_models_reproduce_sidecar_outputs() {
    let mut checked = 0;
    for stem in [
        "extra_batchnorm_mlp",
        "extra_gelu_mlp",
        "extra_sigmoid_tanh_mlp",
    ] {
        let side: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(models_dir().join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        let inputs: Vec<f64> = side["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect();
        let want: Vec<f64> = side["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect();
        let files = side["files"].as_object().unwrap();
        assert_eq!(files.len(), 3, "{stem}: three exports");
        for file in files.keys() {
            let net =
                onnx::load(&models_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let rows = inputs.len() / net.input_dim();
            assert_close(file, &net.forward(&inputs, rows), &want, 1e-5, 1e-5);
            if stem == "extra_batchnorm_mlp" {
                assert!(
                    net.layers()
                        .iter()
                        .any(|l| matches!(l, Layer::BatchNorm(_))),
                    "{file}: BatchNorm kept as its own layer"
                );
            }
            if stem == "extra_gelu_mlp" {
                assert_eq!(net.activation_layers(), 2);
                assert!(
                    net.layers()
                        .iter()
                        .all(|l| !matches!(l, Layer::Act(a) if *a != Activation::Gelu)),
                    "{file}: GELU recognised"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// W (2×3) and b for a 3 → 2 layer.
const W: [f32; 6] = [0.5, -1.0, 0.25, 1.5, 0.75, -0.5];
const B: [f32; 2] = [0.1, -0.2];
const X: [f64; 6] = [1.0, -2.0, 0.5, -0.3, 0.8, 2.0];

fn reference_net(act: Option<Activation>, head: Option<Head>) -> Network {
    let dense = conflux_core::Dense::new(
        2,
        3,
        W.iter().map(|&v| f64::from(v)).collect(),
        Some(B.iter().map(|&v| f64::from(v)).collect()),
    )
    .unwrap();
    let mut layers = vec![Layer::Dense(dense)];
    if let Some(a) = act {
        layers.push(Layer::Act(a));
    }
    Network::new(3, layers, head, None, None).unwrap()
}

fn gemm() -> OnnxBuilder {
    OnnxBuilder::new(3, 17)
        .init("W", &[2, 3], &W)
        .init("B", &[2], &B)
        .node("Gemm", &["x", "W", "B"], &["h"], &[("transB", Attr::I(1))])
}

fn check(bytes: &[u8], want: &Network) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "m.onnx", bytes);
    let net = onnx::load(&p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(net.head(), want.head());
    assert_close(
        "fixture",
        &net.forward(&X, 2),
        &want.forward(&X, 2),
        1e-6,
        1e-6,
    );
}

#[test]
fn every_activation_op() {
    type Case = (&'static str, Vec<(&'static str, Attr)>, Activation);
    let cases: Vec<Case> = vec![
        ("Relu", vec![], Activation::Relu),
        (
            "LeakyRelu",
            vec![("alpha", Attr::F(0.2))],
            Activation::LeakyRelu {
                slope: f64::from(0.2f32),
            },
        ),
        (
            "Elu",
            vec![("alpha", Attr::F(0.5))],
            Activation::Elu { alpha: 0.5 },
        ),
        ("Selu", vec![], Activation::Selu),
        ("Sigmoid", vec![], Activation::Sigmoid),
        ("Tanh", vec![], Activation::Tanh),
        (
            "Softplus",
            vec![],
            Activation::Softplus {
                beta: 1.0,
                threshold: 20.0,
            },
        ),
        ("Gelu", vec![], Activation::Gelu),
        (
            "Gelu",
            vec![("approximate", Attr::S("tanh"))],
            Activation::GeluTanh,
        ),
    ];
    for (op, attrs, act) in cases {
        let bytes = gemm().node(op, &["h"], &["y"], &attrs).build("y");
        check(&bytes, &reference_net(Some(act), None));
    }
}

#[test]
fn decomposed_gelu_in_both_groupings_and_silu() {
    let sqrt2 = std::f32::consts::SQRT_2;
    // New exporter: x·(0.5·(erf(x/√2) + 1)), constants as initializers.
    let new = gemm()
        .init("s", &[], &[sqrt2])
        .init("one", &[], &[1.0])
        .init("half", &[], &[0.5])
        .node("Div", &["h", "s"], &["a"], &[])
        .node("Erf", &["a"], &["b"], &[])
        .node("Add", &["b", "one"], &["c"], &[])
        .node("Mul", &["half", "c"], &["d"], &[])
        .node("Mul", &["h", "d"], &["y"], &[])
        .build("y");
    check(&new, &reference_net(Some(Activation::Gelu), None));
    // Legacy exporter: (x·(erf(x/√2) + 1))·0.5, constants in Constant nodes.
    let legacy = gemm()
        .node(
            "Constant",
            &[],
            &["s"],
            &[("value", Attr::T(vec![], vec![sqrt2]))],
        )
        .node("Div", &["h", "s"], &["a"], &[])
        .node("Erf", &["a"], &["b"], &[])
        .node(
            "Constant",
            &[],
            &["one"],
            &[("value", Attr::T(vec![], vec![1.0]))],
        )
        .node("Add", &["b", "one"], &["c"], &[])
        .node("Mul", &["h", "c"], &["d"], &[])
        .node(
            "Constant",
            &[],
            &["half"],
            &[("value", Attr::T(vec![], vec![0.5]))],
        )
        .node("Mul", &["d", "half"], &["y"], &[])
        .build("y");
    check(&legacy, &reference_net(Some(Activation::Gelu), None));
    // A wrong constant is not silently accepted as GELU.
    let wrong = gemm()
        .init("s", &[], &[2.0])
        .init("one", &[], &[1.0])
        .init("half", &[], &[0.5])
        .node("Div", &["h", "s"], &["a"], &[])
        .node("Erf", &["a"], &["b"], &[])
        .node("Add", &["b", "one"], &["c"], &[])
        .node("Mul", &["half", "c"], &["d"], &[])
        .node("Mul", &["h", "d"], &["y"], &[])
        .build("y");
    let dir = tempfile::tempdir().unwrap();
    let e = onnx::load(&write(dir.path(), "w.onnx", &wrong))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node 'div_1' (op Div)") && e.contains("erf-GELU"),
        "{e}"
    );
    let silu = gemm()
        .node("Sigmoid", &["h"], &["s"], &[])
        .node("Mul", &["h", "s"], &["y"], &[])
        .build("y");
    check(&silu, &reference_net(Some(Activation::Silu), None));
}

#[test]
fn matmul_add_flatten_dropout_identity_and_gemm_attributes() {
    // MatMul stores W as in × out.
    let wt: Vec<f32> = (0..3)
        .flat_map(|p| (0..2).map(move |j| W[j * 3 + p]))
        .collect();
    let bytes = OnnxBuilder::new(3, 17)
        .init("Wt", &[3, 2], &wt)
        .init("B", &[2], &B)
        .node("Flatten", &["x"], &["f"], &[("axis", Attr::I(1))])
        .node("MatMul", &["f", "Wt"], &["m"], &[])
        .node("Add", &["m", "B"], &["h"], &[])
        .node("Dropout", &["h"], &["dr"], &[])
        .node("Identity", &["dr"], &["y"], &[])
        .build("y");
    check(&bytes, &reference_net(None, None));
    // Gemm with transB = 0, alpha and beta: W' = alpha·Bᵀ, b' = beta·C.
    let half_w: Vec<f32> = wt.iter().map(|v| v / 2.0).collect();
    let double_b: Vec<f32> = B.iter().map(|v| v * 2.0).collect();
    let bytes = OnnxBuilder::new(3, 17)
        .init("Wt", &[3, 2], &half_w)
        .init("B", &[2], &double_b)
        .node(
            "Gemm",
            &["x", "Wt", "B"],
            &["y"],
            &[("alpha", Attr::F(2.0)), ("beta", Attr::F(0.5))],
        )
        .build("y");
    check(&bytes, &reference_net(None, None));
}

#[test]
fn softmax_and_log_softmax_heads() {
    for (op, head) in [("Softmax", Head::Softmax), ("LogSoftmax", Head::LogSoftmax)] {
        let bytes = gemm()
            .node(op, &["h"], &["y"], &[("axis", Attr::I(-1))])
            .build("y");
        check(&bytes, &reference_net(None, Some(head)));
    }
    let dir = tempfile::tempdir().unwrap();
    let bytes = gemm()
        .node("Softmax", &["h"], &["p"], &[])
        .node("Relu", &["p"], &["y"], &[])
        .build("y");
    let e = onnx::load(&write(dir.path(), "m.onnx", &bytes))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("op Relu") && e.contains("no node after the output Softmax"),
        "{e}"
    );
}

#[test]
fn batchnorm_is_its_own_layer() {
    let bytes = gemm()
        .init("g", &[2], &[1.5, 0.5])
        .init("be", &[2], &[0.1, -0.3])
        .init("mu", &[2], &[0.2, 0.4])
        .init("var", &[2], &[2.0, 0.5])
        .node(
            "BatchNormalization",
            &["h", "g", "be", "mu", "var"],
            &["y"],
            &[("epsilon", Attr::F(1e-5))],
        )
        .build("y");
    let dir = tempfile::tempdir().unwrap();
    let net = onnx::load(&write(dir.path(), "m.onnx", &bytes)).unwrap();
    let Layer::BatchNorm(bn) = &net.layers()[1] else {
        panic!("expected BatchNorm, got {:?}", net.layers()[1])
    };
    assert_eq!(bn.mean, vec![f64::from(0.2f32), f64::from(0.4f32)]);
    let y = net.forward(&X[..3], 1);
    let h0 = 0.5 * 1.0 + -1.0 * -2.0 + 0.25 * 0.5 + 0.1;
    let want = 1.5 * (h0 - 0.2) / (2.0f64 + 1e-5).sqrt() + 0.1;
    assert!((y[0] - want).abs() < 1e-6, "{} vs {want}", y[0]);
}

#[test]
fn external_data_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut blob: Vec<u8> = vec![0; 16]; // padding before the weights
    blob.extend(W.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(dir.path().join("m.onnx.data"), &blob).unwrap();
    let bytes = OnnxBuilder::new(3, 18)
        .external_init("W", &[2, 3], "m.onnx.data", 16, 24)
        .init("B", &[2], &B)
        .node("Gemm", &["x", "W", "B"], &["y"], &[("transB", Attr::I(1))])
        .build("y");
    let p = write(dir.path(), "m.onnx", &bytes);
    let net = onnx::load(&p).unwrap();
    assert_close(
        "external",
        &net.forward(&X, 2),
        &reference_net(None, None).forward(&X, 2),
        1e-6,
        1e-6,
    );
    // Data file too short: an error naming the initializer.
    std::fs::write(dir.path().join("m.onnx.data"), &blob[..20]).unwrap();
    let e = onnx::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("initializer 'W'") && e.contains("m.onnx.data"),
        "{e}"
    );
}

#[test]
fn unsupported_op_names_node_and_op() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = gemm().node("LSTM", &["h"], &["y"], &[]).build("y");
    let e = onnx::load(&write(dir.path(), "m.onnx", &bytes))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node 'lstm_1' (op LSTM)") && e.contains("unsupported op 'LSTM'"),
        "{e}"
    );
}

#[test]
fn structural_validation() {
    let dir = tempfile::tempdir().unwrap();
    let good = gemm().node("Relu", &["h"], &["y"], &[]).build("y");
    // Empty file, truncated file, garbage: all rejected with the file named.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.onnx", vec![], "empty file"),
        ("trunc.onnx", good[..good.len() / 2].to_vec(), "trunc.onnx"),
        (
            "garbage.onnx",
            b"this is not an onnx file at all".to_vec(),
            "garbage.onnx",
        ),
    ];
    for (name, bytes, want) in cases {
        let e = onnx::load(&write(dir.path(), name, &bytes))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want) && e.contains(name), "{name}: {e}");
    }
    // An undefined input.
    let bytes = gemm().node("Relu", &["nope"], &["y"], &[]).build("y");
    let e = onnx::load(&write(dir.path(), "u.onnx", &bytes))
        .unwrap_err()
        .to_string();
    assert!(e.contains("input 'nope' is not defined"), "{e}");
    // Initializer size inconsistent with its dims.
    let bytes = OnnxBuilder::new(3, 17)
        .init("W", &[2, 3], &W[..5])
        .init("B", &[2], &B)
        .node("Gemm", &["x", "W", "B"], &["y"], &[("transB", Attr::I(1))])
        .build("y");
    let e = onnx::load(&write(dir.path(), "s.onnx", &bytes))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("initializer 'W'") && e.contains("expected 6 values"),
        "{e}"
    );
    // Output not produced.
    let bytes = gemm().build("zzz");
    let e = onnx::load(&write(dir.path(), "o.onnx", &bytes))
        .unwrap_err()
        .to_string();
    assert!(e.contains("'zzz' is not produced"), "{e}");
}

#[test]
fn preprocess_round_trips_through_json() {
    let mut net = reference_net(Some(Activation::Gelu), Some(Head::Sigmoid));
    net.set_preprocess(Some(Preprocess::Standardize {
        mean: vec![1.0, 2.0, 3.0],
        std: vec![0.5, 0.0, 2.0],
    }))
    .unwrap();
    net.set_feature_names(vec!["a".into(), "b".into(), "c".into()])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    conflux_core::io::json::save(&net, &p).unwrap();
    let back = conflux_core::io::json::load(&p).unwrap();
    assert_eq!(back, net);
}
