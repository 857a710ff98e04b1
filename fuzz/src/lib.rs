//! What the fuzz targets share: small limits (so that no input can ask for much memory) and
//! the checks run on whatever loads — a model that loads must compute outputs of the right
//! shape, a table that reads must have the right width.

use std::io::Cursor;
use std::path::Path;

use conflux_core::data::csv::{CsvFile, CsvOptions};
use conflux_core::io::AnyModel;
use conflux_core::{Limits, Network, Plan};

/// Limits small enough that no fuzzed size can take much memory.
pub const LIMITS: Limits = Limits {
    tensor_elements: 1 << 20,
    parameters: 1 << 22,
    model_bytes: 64 << 20,
    line_bytes: 1 << 20,
    data_cells: 1 << 22,
};

/// Runs a network that loaded: forward pass and compiled plan, shapes checked.
pub fn run_network(net: &Network) {
    let d = net.input_dim();
    if d > 1 << 16 {
        return;
    }
    let x: Vec<f64> = (0..2 * d).map(|i| (i % 7) as f64 - 3.0).collect();
    let y = net.forward(&x, 2);
    assert_eq!(y.len(), 2 * net.output_dim());
    let plan = Plan::<f32>::new(net, false).expect("a loaded network compiles");
    assert_eq!(plan.output_dim(), net.output_dim());
}

/// Runs any model that loaded.
pub fn run_model(m: &AnyModel) {
    match m {
        AnyModel::Network(net) => run_network(net),
        AnyModel::Ame(ame) => {
            let d = ame.input_dim();
            let x: Vec<f64> = (0..2 * d).map(|i| (i % 5) as f64 - 2.0).collect();
            let out = ame.forward(&x, 2);
            assert_eq!(out.y.len(), 2 * ame.task.outputs());
            assert_eq!(out.a.len(), 2 * ame.experts());
        }
    }
}

/// ONNX bytes (external data resolves against a folder that does not exist).
pub fn onnx(data: &[u8]) {
    let path = Path::new("/nonexistent-conflux-fuzz/model.onnx");
    if let Ok((net, _)) = conflux_core::io::onnx::from_bytes_with(data, path, &LIMITS) {
        run_network(&net);
    }
}

/// A JSON model file: a conflux network or an AME.
pub fn json_model(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = conflux_core::io::json_model(text, Path::new("model.json"), &LIMITS) {
        run_model(&m);
    }
}

/// safetensors weights with their architecture: the first two bytes give the length of the
/// sidecar text that follows (used as `--arch` when the first byte is odd), the rest is
/// the safetensors file.
pub fn safetensors(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
    let (side, weights) = data[2..].split_at(n);
    let Ok(side) = std::str::from_utf8(side) else {
        return;
    };
    let (arch, side) = if data[0] % 2 == 1 {
        (Some(side), None)
    } else {
        (None, Some(side))
    };
    let path = Path::new("model.safetensors");
    if let Ok(net) = conflux_core::io::safetensors::from_bytes(weights, path, arch, side, &LIMITS) {
        run_network(&net);
    }
}

/// A CSV read as a model's data: the first byte chooses header or not and the label column
/// (none or the last), the rest is the file.
pub fn csv(data: &[u8]) {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let opts = CsvOptions {
        has_header: flags & 1 == 0,
        ..CsvOptions::with_limits(&LIMITS)
    };
    let reader = Box::new(Cursor::new(text.to_vec()));
    let Ok(file) = CsvFile::from_reader(Path::new("data.csv"), reader, 0, &opts) else {
        return;
    };
    let header = file.header().to_vec();
    let label = (flags & 2 != 0).then(|| header.last().cloned()).flatten();
    let d = header.len() - usize::from(label.is_some());
    let Ok(mut src) = file.select(label.as_deref(), true, d.max(1), None) else {
        return;
    };
    if let Ok((x, y)) = src.read_all() {
        assert_eq!(x.len(), d * src.rows_read());
        assert_eq!(y.len(), if label.is_some() { src.rows_read() } else { 0 });
    }
}

/// A `--method NAME[:key=value…]` spec: parsed, built (with and without groups), checked
/// against a small network and, when its working set is small, run on two rows.
pub fn method_spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(spec) = text.parse::<conflux_methods::spec::MethodSpec>() else {
        return;
    };
    let net = conflux_core::io::json::from_str(
        r#"{"input_dim": 3, "layers": [
            {"type": "linear", "weight": [[1, -1, 0.5], [0.5, 2, -1], [-1, 1, 1], [0, 1, -2]], "bias": [0, 1, -0.5, 0.2]},
            {"type": "relu"},
            {"type": "linear", "weight": [[1, 1, -1, 0.5], [0.5, -1, 1, 1]], "bias": [0.1, -0.1]}]}"#,
    )
    .expect("the fixed network is valid");
    let plan = Plan::<f64>::new(&net, false).expect("compiles");
    let groups =
        conflux_core::FeatureGroups::new(3, vec![("a".into(), vec![0, 2]), ("b".into(), vec![1])])
            .expect("a partition");
    for g in [None, Some(&groups)] {
        let Ok(method) = spec.build(g, 7) else {
            continue;
        };
        if method.validate(&plan).is_err() {
            continue;
        }
        let _ = method.params();
        let Ok(rows) = method.rows_within(3, 2, 1 << 20, 2) else {
            continue;
        };
        if method.cells_per_row(3) > 5_000 {
            continue;
        }
        let x = ndarray::Array2::from_shape_vec((2, 3), vec![1.0, -2.0, 0.5, 0.3, 0.0, -1.0])
            .expect("2 × 3");
        let r = ndarray::Array2::<f64>::zeros((1, 3));
        if let Ok(a) = method.attribute(&plan, x.view(), r.view(), conflux_core::Target::All) {
            assert_eq!(a.scores.len(), 2 * 2 * 3, "{rows} rows");
        }
    }
}
