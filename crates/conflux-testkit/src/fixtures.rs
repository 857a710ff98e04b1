//! Small model files of every format conflux reads, built in code: the seeds of the
//! mutation test (and of the fuzzers' corpora, `fuzz/README.md`).

use std::path::Path;

use conflux_core::ame::{Conv2x2, Encoder, ExpertLayer};
use conflux_core::io::AnyModel;
use conflux_core::{Ame, AmeTask, FeatureGroups, Limits, Network, Plan};

/// Limits small enough that no damaged or fuzzed size can take much memory (the mutation
/// test and the fuzzers).
pub const SMALL_LIMITS: Limits = Limits {
    tensor_elements: 1 << 20,
    parameters: 1 << 22,
    model_bytes: 64 << 20,
    line_bytes: 1 << 20,
    data_cells: 1 << 22,
};

/// Runs a network that loaded: a forward pass on two rows and the compiled plan, shapes
/// checked (panics on a wrong shape: a loaded model must be valid).
pub fn run_network(net: &Network) {
    let d = net.input_dim();
    if d > 1 << 16 {
        return;
    }
    let x: Vec<f64> = (0..2 * d).map(|i| (i % 7) as f64 - 3.0).collect();
    let y = net.forward(&x, 2);
    assert_eq!(y.len(), 2 * net.output_dim(), "output shape");
    let plan = Plan::<f32>::new(net, false).expect("a loaded network compiles");
    assert_eq!(plan.output_dim(), net.output_dim());
}

/// Runs any model that loaded (networks as [`run_network`]; AMEs forward, shapes checked).
pub fn run_model(m: &AnyModel) {
    match m {
        AnyModel::Network(net) => run_network(net),
        AnyModel::Ame(ame) => {
            let d = ame.input_dim();
            let x: Vec<f64> = (0..2 * d).map(|i| (i % 5) as f64 - 2.0).collect();
            let out = ame.forward(&x, 2);
            assert_eq!(out.y.len(), 2 * ame.task.outputs(), "prediction shape");
            assert_eq!(out.a.len(), 2 * ame.experts(), "attention shape");
        }
    }
}

/// An AME over `encoder` with every head filled from `ramp(len, scale)`; `(p, o, h, k)`
/// are experts, outputs, hidden width and gate width.
fn with_heads(
    task: AmeTask,
    features: Vec<String>,
    groups: FeatureGroups,
    encoder: Encoder,
    (p, o, h, k): (usize, usize, usize, usize),
    ramp: &dyn Fn(usize, f64) -> Vec<f64>,
) -> Ame {
    Ame {
        task,
        features,
        groups,
        preprocess: None,
        encoder,
        out_w: ramp(p * o * h, 0.2),
        out_b: ramp(p * o, 0.1),
        gate_w: ramp(k * p * (h + o), -0.05),
        gate_b: ramp(k, 0.01),
        context: ramp(p * k, 0.5),
        aux_all_w: ramp(o * p * h, 0.4),
        aux_all_b: ramp(o, 0.0),
        aux_minus_w: ramp(p * o * p * h, 0.25),
        aux_minus_b: ramp(p * o, 0.3),
        aux_hidden: None,
    }
}

/// A tabular regression AME: two experts over one feature each, hidden width 2.
pub fn tabular_ame() -> Ame {
    let names = vec!["x0".to_string(), "x1".to_string()];
    let (p, h) = (2, 2);
    let ramp = |n: usize, s: f64| (0..n).map(|i| s * (i as f64 + 1.0)).collect::<Vec<_>>();
    let encoder = Encoder::Tabular {
        layers: vec![ExpertLayer {
            inputs: 1,
            outputs: h,
            w: ramp(p * h, 0.3),
            b: ramp(p * h, -0.1),
        }],
    };
    let groups = FeatureGroups::singletons(&names);
    with_heads(
        AmeTask::Regression,
        names,
        groups,
        encoder,
        (p, 1, h, 2),
        &ramp,
    )
}

/// A binary image AME: a 4×4 image, one 2×2 stride-2 convolution, four experts.
pub fn image_ame() -> Ame {
    let (hgt, wid, cell) = (4, 4, 2);
    let features: Vec<String> = (0..hgt * wid).map(|i| format!("p{i}")).collect();
    let (p, h) = (4, 2);
    let ramp = |n: usize, s: f64| {
        (0..n)
            .map(|i| s * ((i % 5) as f64 - 2.0))
            .collect::<Vec<_>>()
    };
    let encoder = Encoder::Image {
        height: hgt,
        width: wid,
        convs: vec![Conv2x2 {
            c_in: 1,
            c_out: h,
            w: ramp(h * 4, 0.3),
            b: ramp(h, 0.1),
        }],
    };
    let groups = Ame::image_groups(hgt, wid, cell);
    with_heads(
        AmeTask::Binary,
        features,
        groups,
        encoder,
        (p, 1, h, 3),
        &ramp,
    )
}

/// Every bundled model and CSV of the repository, with its bytes: ONNX exports, the demo
/// model, AME and safetensors files built here (the safetensors weights paired with their
/// architecture sidecar), and the first `csv_lines` lines of every bundled CSV.
pub fn seed_files(csv_lines: usize) -> Vec<(String, Vec<u8>)> {
    let root = crate::repo_root();
    let mut out = Vec::new();
    // MLPs, and the graph networks (CNNs, residual, LayerNorm) with a format-2 JSON copy of
    // one of them.
    let mut onnx = Vec::new();
    for sub in ["tests/models", "tests/models/graph"] {
        onnx.extend(
            std::fs::read_dir(root.join(sub))
                .expect("tests/models exists")
                .map(|e| e.expect("listing tests/models").path())
                .filter(|p| p.extension().is_some_and(|e| e == "onnx")),
        );
    }
    onnx.sort();
    for p in onnx {
        out.push((name(&p), std::fs::read(&p).expect("model readable")));
    }
    let cnn = conflux_core::io::onnx::load(
        &root.join("tests/models/graph/cnn10_relu_maxpool_avgpool.onnx"),
    )
    .expect("graph model loads");
    out.push((
        "cnn10.graph.json".into(),
        serde_json::to_vec(&conflux_core::io::json::to_value(&cnn)).expect("JSON"),
    ));
    let demo = root.join("crates/conflux-cli/assets/demo");
    out.push((
        "adult_mlp.json".into(),
        std::fs::read(demo.join("adult_mlp.json")).expect("demo model readable"),
    ));
    for (n, a) in [
        ("tabular.ame.json", tabular_ame()),
        ("image.ame.json", image_ame()),
    ] {
        let v = conflux_core::ame::json::to_value(&a, None);
        out.push((n.into(), serde_json::to_vec(&v).expect("JSON")));
    }
    // safetensors + sidecar, from the demo network.
    let net = conflux_core::io::json::load(&demo.join("adult_mlp.json")).expect("demo model");
    let dir = std::env::temp_dir().join(format!("conflux-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp folder");
    let st = dir.join("adult_mlp.safetensors");
    conflux_core::io::safetensors::save(&net, &st).expect("safetensors saved");
    out.push((
        "adult_mlp.safetensors".into(),
        std::fs::read(&st).expect("safetensors"),
    ));
    out.push((
        "adult_mlp.arch.json".into(),
        std::fs::read(conflux_core::io::safetensors::sidecar_path(&st)).expect("sidecar"),
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut csvs = vec![demo.join("adult_sample.csv")];
    for sub in ["adult", "digits", "mnist38"] {
        let mut v: Vec<_> = std::fs::read_dir(root.join("tests/data").join(sub))
            .expect("tests/data exists")
            .map(|e| e.expect("listing").path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        v.sort();
        csvs.extend(v);
    }
    for p in csvs {
        let text = std::fs::read(&p).expect("CSV readable");
        let mut cut = Vec::new();
        for line in text.split_inclusive(|&b| b == b'\n').take(csv_lines) {
            cut.extend_from_slice(line);
        }
        out.push((name(&p), cut));
    }
    out
}

fn name(p: &Path) -> String {
    p.file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}
