//! The fuzz targets: each feeds its input to one loader or parser under small limits (so
//! that no input can ask for much memory) and runs whatever loads — a model that loads must
//! compute outputs of the right shape (`conflux-testkit::fixtures`, shared with the mutation
//! test), a table that reads must have the right width.

use std::io::Cursor;
use std::path::Path;

use conflux_core::Plan;
use conflux_core::data::csv::{CsvFile, CsvOptions};
use conflux_testkit::fixtures::{SMALL_LIMITS as LIMITS, run_model, run_network};

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

/// A `.npy` file: header checked, every row read.
pub fn npy(data: &[u8]) {
    let reader = Box::new(Cursor::new(data.to_vec()));
    let Ok(mut r) = conflux_core::data::npy::NpyReader::from_reader(Path::new("x.npy"), reader, data.len() as u64) else {
        return;
    };
    let (rows, cols) = (r.rows(), r.cols());
    let mut x = Vec::new();
    let mut read = 0;
    while let Ok(n) = r.read_rows(7, &mut x) {
        if n == 0 {
            break;
        }
        read += n;
    }
    assert!(read <= rows && x.len() == read * cols);
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
