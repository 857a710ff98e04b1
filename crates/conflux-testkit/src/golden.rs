//! The repository's copy of the golden vectors (`tests/golden/`, schema in its README).

use std::path::PathBuf;

use conflux_core::Network;
use serde::Deserialize;

/// One CAFE golden file.
#[derive(Debug, Deserialize)]
pub struct CafeGolden {
    /// Case name.
    pub name: String,
    /// The network, as a conflux model file.
    pub model: serde_json::Value,
    /// Test cases.
    pub cases: Vec<CafeCase>,
}

/// `c` as one value or one per activation layer.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum CValue {
    /// One value for every layer.
    One(f64),
    /// One value per activation layer.
    PerLayer(Vec<f64>),
}

impl CValue {
    /// As a list.
    pub fn to_vec(&self) -> Vec<f64> {
        match self {
            CValue::One(c) => vec![*c],
            CValue::PerLayer(v) => v.clone(),
        }
    }
}

/// Expected CAFE scores.
#[derive(Debug, Deserialize)]
pub struct CafeExpected {
    /// `[rows][features]`.
    pub feat_pos: Vec<Vec<f64>>,
    /// `[rows][features]`.
    pub feat_neg: Vec<Vec<f64>>,
    /// Per row.
    pub bias_pos: Vec<f64>,
    /// Per row.
    pub bias_neg: Vec<f64>,
}

/// One case: inputs, reference, target, c and expected values.
#[derive(Debug, Deserialize)]
pub struct CafeCase {
    /// Conflict sensitivity.
    pub c: CValue,
    /// `[rows][features]`.
    pub inputs: Vec<Vec<f64>>,
    /// Shared reference.
    pub reference: Vec<f64>,
    /// Explained output.
    pub target: usize,
    /// Expected scores.
    pub expected: CafeExpected,
    /// All outputs per row.
    pub output: Vec<Vec<f64>>,
    /// `F₀(r)`, all outputs.
    pub reference_output_nobias: Vec<f64>,
}

impl CafeGolden {
    /// The network.
    ///
    /// # Panics
    /// When the model block is not a valid model (a test failure).
    pub fn network(&self) -> Network {
        conflux_core::io::json::from_value(&self.model)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

/// Directory of the golden vectors in this repository.
pub fn dir() -> PathBuf {
    crate::repo_root().join("tests/golden")
}

/// Every JSON file of `tests/golden/<sub>`, parsed, sorted by name. Panics (fails the test)
/// when the folder is missing or holds fewer than `expect` files: a missing golden file is
/// never skipped.
fn load_dir<T: serde::de::DeserializeOwned>(sub: &str, expect: usize) -> Vec<(PathBuf, T)> {
    let d = dir().join(sub);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("golden folder {} missing: {e}", d.display()))
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= expect,
        "expected {expect} golden files in {}, found {}",
        d.display(),
        paths.len()
    );
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("golden file readable");
            let g: T =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, g)
        })
        .collect()
}

/// Every CAFE golden file (all 12), with its path.
pub fn cafe_files() -> Vec<(PathBuf, CafeGolden)> {
    load_dir("cafe", 12)
}

/// One baselines golden file (`tests/golden/baselines/`).
#[derive(Debug, Deserialize)]
pub struct BaselineGolden {
    /// Case name.
    pub name: String,
    /// The network, as a conflux model file.
    pub model: serde_json::Value,
    /// Test cases.
    pub cases: Vec<BaselineCase>,
}

/// One method on one batch of inputs.
#[derive(Debug, Deserialize)]
pub struct BaselineCase {
    /// Captum's class name (`InputXGradient`, `Saliency`, `DeepLift`, `IntegratedGradients`,
    /// `LRP`) or `ExactShapley`.
    pub method: String,
    /// The method's parameters as recorded.
    pub params: serde_json::Value,
    /// `[rows][features]`.
    pub inputs: Vec<Vec<f64>>,
    /// Shared reference.
    pub reference: Vec<f64>,
    /// Explained output.
    pub target: usize,
    /// `[rows][features]`.
    pub expected: Vec<Vec<f64>>,
}

impl BaselineGolden {
    /// The network.
    ///
    /// # Panics
    /// When the model block is not a valid model (a test failure).
    pub fn network(&self) -> Network {
        conflux_core::io::json::from_value(&self.model)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

/// Every baselines golden file (all 12); panics when the folder is missing or incomplete.
pub fn baseline_files() -> Vec<(PathBuf, BaselineGolden)> {
    load_dir("baselines", 12)
}

/// The networks of `tests/golden/graph` (CNNs, residual, LayerNorm).
pub const GRAPH_NETWORKS: [&str; 7] = [
    "cnn6_batchnorm",
    "cnn10_gelu_stride2",
    "cnn10_relu_maxpool_avgpool",
    "cnn6_2ch_overlap_maxpool",
    "mlp8_layernorm",
    "mlp7_residual",
    "mlp7_residual_projection",
];

/// A JSON file of `tests/golden/graph`, e.g. `graph_file("cnn6_batchnorm.json")`.
pub fn graph_file(name: &str) -> serde_json::Value {
    let path = dir().join("graph").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The files of graph network `name`: its default ONNX export, its 20 rows (CSV) and its
/// non-zero reference (one-row CSV).
pub fn graph_paths(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = dir().join("graph");
    (
        graph_models().join(format!("{name}.onnx")),
        dir.join(format!("{name}.rows.csv")),
        dir.join(format!("{name}.reference_nonzero.csv")),
    )
}

/// `tests/models/graph`.
pub fn graph_models() -> PathBuf {
    crate::repo_root().join("tests/models/graph")
}

/// The ONNX file CAFE is compared on: BatchNorm kept (the default export folds it into the
/// convolution, a different network for CAFE).
pub fn graph_cafe_model(name: &str) -> PathBuf {
    let stem = if name == "cnn6_batchnorm" {
        "cnn6_batchnorm_unfolded"
    } else {
        name
    };
    graph_models().join(format!("{stem}.onnx"))
}

/// Whether a CAFE case of a graph network has exact expected values at `precision`
/// (`"f64"` or `"f32"`); the others are checked through completeness and sign.
///
/// MaxPool networks are exact only at c = 0 with the zero reference, in f64. With the non-zero
/// reference some windows are doubly degenerate: the reference ties (all 0 after a ReLU) and so
/// does the input (a receptive field of zero pixels gives the bias alone), so α* is 0/0.
/// graph.md's tie tolerance passes the first element; the reference implementation takes the
/// arg-max of rounding noise in t (e.g. cnn6_2ch_overlap_maxpool row 0, channel 3, window 0:
/// reference 0 and 0, t 5.4727e-2 at both; it picks element 1). At c > 0 such noise decides
/// every inactive window. In f32 a window whose two largest inputs are within rounding of each
/// other may pick the other element (row 5 of cnn6_2ch_overlap_maxpool). Cases the reference
/// could not compute (`status: error`: LayerNorm with a non-zero reference) have no values.
pub fn graph_case_is_exact(name: &str, case: &serde_json::Value, precision: &str) -> bool {
    let maxpool = name.contains("maxpool");
    let c = case["c"].as_f64().expect("c");
    let zero_reference = case["reference"] == "zeros";
    case["status"] != "error" && !(maxpool && (c > 0.0 || !zero_reference || precision == "f32"))
}
