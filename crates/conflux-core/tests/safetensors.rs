//! safetensors weights with nn.Sequential names plus an architecture (flag or sidecar).

use std::path::Path;

use conflux_core::io::{load_model, safetensors as st};
use conflux_core::{Activation, Layer};
use safetensors::{Dtype, tensor::TensorView};

fn write(path: &Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.2.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            (
                t.0.to_string(),
                TensorView::new(Dtype::F32, t.1.clone(), b).unwrap(),
            )
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn mlp(dir: &Path, prefix: &str) -> std::path::PathBuf {
    let p = dir.join("m.safetensors");
    write(
        &p,
        &[
            (
                &format!("{prefix}0.weight"),
                vec![2, 3],
                vec![0.5, -1.0, 0.25, 1.5, 0.75, -0.5],
            ),
            (&format!("{prefix}0.bias"), vec![2], vec![0.1, -0.2]),
            (&format!("{prefix}2.weight"), vec![1, 2], vec![1.0, -2.0]),
            (&format!("{prefix}2.bias"), vec![1], vec![0.3]),
        ],
    );
    p
}

#[test]
fn loads_with_arch_flag_and_prefix() {
    let dir = tempfile::tempdir().unwrap();
    for prefix in ["", "net."] {
        let p = mlp(dir.path(), prefix);
        let net = load_model(&p, Some("linear,leaky_relu:0.1,linear,sigmoid")).unwrap();
        assert_eq!(
            net.layers()[1],
            Layer::Act(Activation::LeakyRelu { slope: 0.1 })
        );
        assert_eq!(net.head(), Some(conflux_core::Head::Sigmoid));
        // x = (1, 1, 1): h = (-0.15, 1.55) → leaky → (-0.015, 1.55) → -0.015 − 3.1 + 0.3.
        let y = net.forward(&[1.0, 1.0, 1.0], 1)[0];
        let logit: f64 = -0.015 - 3.1 + 0.3;
        assert!((y - 1.0 / (1.0 + (-logit).exp())).abs() < 1e-6, "{y}");
    }
}

#[test]
fn reads_sidecar_and_reports_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let p = mlp(dir.path(), "");
    let e = load_model(&p, None).unwrap_err().to_string();
    assert!(e.contains("--arch") && e.contains("m.arch.json"), "{e}");
    std::fs::write(
        st::sidecar_path(&p),
        r#"{"arch": "linear,relu,linear", "feature_names": ["a","b","c"], "preprocess": {"kind": "minmax", "min": [0,0,0], "max": [1,2,4]}}"#,
    )
    .unwrap();
    let net = load_model(&p, None).unwrap();
    assert_eq!(net.feature_names(), vec!["a", "b", "c"]);
    assert_eq!(net.preprocess().unwrap().kind(), "minmax");
    // An architecture that leaves tensors unused or lacks some is an error naming them.
    let e = load_model(&p, Some("linear,relu")).unwrap_err().to_string();
    assert!(e.contains("not used") && e.contains("2.weight"), "{e}");
    let e = load_model(&p, Some("linear,relu,relu,linear"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("layer 3 (linear)") && e.contains("missing tensor '3.weight'"),
        "{e}"
    );
    let e = load_model(&p, Some("linear,conv,linear"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer 1 (conv)"), "{e}");
}
