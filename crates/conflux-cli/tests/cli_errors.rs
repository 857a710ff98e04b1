//! Bad input through the CLI: a one-line error naming the file and row/column or node, a
//! non-zero exit, no output file left behind, never a panic or backtrace.

mod common;

use std::path::Path;

use common::{conflux, listing, write};
use conflux_testkit::onnx::{Attr, OnnxBuilder};

const MODEL: &str = r#"{"input_dim": 2, "layers": [{"type": "linear", "weight": [[1, -1], [0.5, 2]], "bias": [0, 1]}, {"type": "relu"}, {"type": "linear", "weight": [[1, 1]], "bias": null}]}"#;

/// Runs `explain` with `--out` inside `dir` and checks the failure contract.
fn fails(dir: &Path, args: &[&str], want: &[&str], code: i32) {
    let before = listing(dir);
    let out = conflux()
        .current_dir(dir)
        .args(["explain", "--quiet", "--out", "out.json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    if code == 1 {
        assert_eq!(
            stderr.lines().count(),
            1,
            "{args:?}: one line, got {stderr}"
        );
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    for w in want {
        assert!(stderr.contains(w), "{args:?}: expected {w:?} in {stderr}");
    }
    assert_eq!(listing(dir), before, "{args:?}: no output file left behind");
}

#[test]
fn bad_data_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "m.json", MODEL);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "text.csv",
            "a,b\n1,2\n3,oops\n",
            &["text.csv:3:2 (column 'b')", "expected a number, got 'oops'"],
        ),
        (
            "wide.csv",
            "a,b,c\n1,2,3\n",
            &["wide.csv:1", "expected 2 feature columns, got 3"],
        ),
        (
            "ragged.csv",
            "a,b\n1,2\n3\n",
            &["ragged.csv:3", "expected 2 columns like the header, got 1"],
        ),
        (
            "nan.csv",
            "a,b\n1,NaN\n",
            &[
                "nan.csv:2:2 (column 'b')",
                "expected a finite number, got 'NaN'",
            ],
        ),
        (
            "inf.csv",
            "a,b\n-inf,1\n",
            &["inf.csv:2:1 (column 'a')", "expected a finite number"],
        ),
        ("empty.csv", "", &["empty.csv:1", "empty file"]),
        ("header.csv", "a,b\n", &["header.csv:2", "only the header"]),
    ];
    for (name, content, want) in cases {
        write(d, name, content);
        fails(d, &["--model", "m.json", "--data", name], want, 1);
    }
    fails(
        d,
        &["--model", "m.json", "--data", "missing.csv"],
        &["missing.csv", "No such file"],
        1,
    );
    write(d, "ok.csv", "a,b\n1,2\n");
    fails(
        d,
        &["--model", "m.json", "--data", "ok.csv", "--label", "y"],
        &["ok.csv:1", "label column 'y'"],
        1,
    );
    // Bad rows late in a long file still leave no output file behind.
    let mut long = String::from("a,b\n");
    for i in 0..10_000 {
        long.push_str(&format!("{i},1\n"));
    }
    long.push_str("1,x\n");
    write(d, "long.csv", &long);
    fails(
        d,
        &["--model", "m.json", "--data", "long.csv"],
        &["long.csv:10002:2"],
        1,
    );
}

#[test]
fn bad_models() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "x.csv", "a,b\n1,2\n");
    write(
        d,
        "shape.json",
        r#"{"input_dim": 2, "layers": [{"type": "linear", "weight": [[1, 2], [3]], "bias": null}]}"#,
    );
    fails(
        d,
        &["--model", "shape.json", "--data", "x.csv"],
        &[
            "shape.json: layer 0 (linear)",
            "\"weight\"[1] to have 2 values",
        ],
        1,
    );
    write(
        d,
        "chain.json",
        r#"{"input_dim": 2, "layers": [{"type": "linear", "weight": [[1, 2, 3]], "bias": null}]}"#,
    );
    fails(
        d,
        &["--model", "chain.json", "--data", "x.csv"],
        &[
            "chain.json: layer 0 (linear)",
            "expected weight with 2 columns",
        ],
        1,
    );
    write(
        d,
        "bias.json",
        r#"{"input_dim": 2, "layers": [{"type": "linear", "weight": [[1, 2]], "bias": [1, 2]}]}"#,
    );
    fails(
        d,
        &["--model", "bias.json", "--data", "x.csv"],
        &["layer 0 (linear)", "bias of length 1"],
        1,
    );
    write(
        d,
        "unknown.json",
        r#"{"input_dim": 2, "layers": [{"type": "linear", "weight": [[1, 2]], "bias": null}, {"type": "swishy"}]}"#,
    );
    fails(
        d,
        &["--model", "unknown.json", "--data", "x.csv"],
        &["unknown.json: layer 1 (swishy)", "unknown layer type"],
        1,
    );
    write(
        d,
        "key.json",
        r#"{"input_dim": 2, "layers": [{"type": "relu", "slope": 2}]}"#,
    );
    fails(
        d,
        &["--model", "key.json", "--data", "x.csv"],
        &["layer 0 (relu)", "unknown key \"slope\""],
        1,
    );
    write(d, "notjson.json", "{ nope");
    fails(
        d,
        &["--model", "notjson.json", "--data", "x.csv"],
        &["notjson.json", "invalid JSON"],
        1,
    );
    // ONNX: truncated, corrupt, empty, unsupported op.
    let good = OnnxBuilder::new(2, 17)
        .init("W", &[1, 2], &[1.0, 2.0])
        .node("Gemm", &["x", "W"], &["h"], &[("transB", Attr::I(1))])
        .node("Relu", &["h"], &["y"], &[])
        .build("y");
    write(d, "good.onnx", &good);
    conflux()
        .current_dir(d)
        .args([
            "explain",
            "--quiet",
            "--model",
            "good.onnx",
            "--data",
            "x.csv",
        ])
        .assert()
        .success();
    write(d, "trunc.onnx", &good[..good.len() - 9]);
    fails(
        d,
        &["--model", "trunc.onnx", "--data", "x.csv"],
        &["trunc.onnx"],
        1,
    );
    write(d, "corrupt.onnx", b"\x08\x07garbage\xff\xff\xff\xff");
    fails(
        d,
        &["--model", "corrupt.onnx", "--data", "x.csv"],
        &["corrupt.onnx", "expected an ONNX model"],
        1,
    );
    write(d, "empty.onnx", b"");
    fails(
        d,
        &["--model", "empty.onnx", "--data", "x.csv"],
        &["empty.onnx", "empty file"],
        1,
    );
    let lstm = OnnxBuilder::new(2, 17)
        .init("W", &[1, 2], &[1.0, 2.0])
        .node("Gemm", &["x", "W"], &["h"], &[("transB", Attr::I(1))])
        .node("LSTM", &["h"], &["y"], &[])
        .build("y");
    write(d, "lstm.onnx", &lstm);
    fails(
        d,
        &["--model", "lstm.onnx", "--data", "x.csv"],
        &["lstm.onnx: node 'lstm_1' (op LSTM)", "unsupported op"],
        1,
    );
    // Max pooling is supported, on spatial inputs: on a (N, F) tensor the error names the
    // node, the op and the shape.
    let pool = OnnxBuilder::new(2, 17)
        .init("W", &[1, 2], &[1.0, 2.0])
        .node("Gemm", &["x", "W"], &["h"], &[("transB", Attr::I(1))])
        .node("MaxPool", &["h"], &["y"], &[])
        .build("y");
    write(d, "pool.onnx", &pool);
    fails(
        d,
        &["--model", "pool.onnx", "--data", "x.csv"],
        &[
            "pool.onnx: node 'maxpool_1' (op MaxPool)",
            "(C, L) or (C, H, W) input, got (N, 1)",
        ],
        1,
    );
    write(d, "model.bin", "x");
    fails(
        d,
        &["--model", "model.bin", "--data", "x.csv"],
        &[
            "model.bin",
            "expected a model file ending in .json, .onnx or .safetensors",
        ],
        1,
    );
}

#[test]
fn bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "m.json", MODEL);
    write(d, "x.csv", "a,b\n1,2\n");
    let base = ["--model", "m.json", "--data", "x.csv"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    fails(
        d,
        &with(&["--c", "1.5"]),
        &["parameter c = 1.5", "expected a value in [0, 1]"],
        1,
    );
    fails(d, &with(&["--c", "-0.1"]), &["parameter c = -0.1"], 1);
    fails(
        d,
        &with(&["--c", "0.5,0.5"]),
        &["expected 1 value or 1 (one per activation layer), got 2"],
        1,
    );
    fails(
        d,
        &with(&["--c", "abc"]),
        &["expected comma-separated numbers, got 'abc'"],
        1,
    );
    fails(
        d,
        &with(&["--target", "3"]),
        &["target = 3", "expected an output index in 0..1"],
        1,
    );
    fails(
        d,
        &with(&["--method", "shap"]),
        &["--method", "unknown method"],
        1,
    );
    fails(
        d,
        &with(&["--method", "lime:n=zero"]),
        &["lime: parameter n = zero: expected a positive integer"],
        1,
    );
    fails(
        d,
        &with(&["--method", "ig:steps=0"]),
        &["parameter steps = 0"],
        1,
    );
    fails(
        d,
        &with(&["--method", "ig:bogus=1"]),
        &["unknown parameter; expected one of steps, rule"],
        1,
    );
    fails(
        d,
        &with(&["--method", "lime", "--c", "0.5"]),
        &["--c sets CAFE's c, but --method is lime"],
        1,
    );
    fails(
        d,
        &with(&["--method", "cafe:c"]),
        &["expected key=value"],
        1,
    );
    fails(
        d,
        &with(&["--threads", "0"]),
        &["--threads <N>': expected an integer ≥ 1"],
        2,
    );
    // Groups: overlapping, incomplete, unknown columns, not JSON.
    write(d, "overlap.json", r#"{"g1": ["a", "b"], "g2": ["b"]}"#);
    fails(
        d,
        &with(&["--method", "kernel-shap", "--groups", "overlap.json"]),
        &["--groups", "overlap.json", "feature 1 is in two groups"],
        1,
    );
    write(d, "partial.json", r#"{"g1": ["a"]}"#);
    fails(
        d,
        &with(&["--method", "lime", "--groups", "partial.json"]),
        &["partial.json", "feature 1 is in no group"],
        1,
    );
    write(d, "unknown.json", r#"{"g1": ["a", "zz"], "g2": ["b"]}"#);
    fails(
        d,
        &with(&["--method", "ablation", "--groups", "unknown.json"]),
        &["unknown.json", "unknown column 'zz'"],
        1,
    );
    write(d, "broken.json", "[1,");
    fails(
        d,
        &with(&["--method", "ablation", "--groups", "broken.json"]),
        &["broken.json", "invalid JSON"],
        1,
    );
    // Usage errors (clap) exit 2.
    fails(d, &with(&["--target", "most"]), &["--target"], 2);
    fails(d, &with(&["--precision", "f16"]), &["--precision"], 2);
    fails(d, &with(&["--reference", "somewhere"]), &["--reference"], 2);
    fails(d, &["--data", "x.csv"], &["--model"], 2);
}

/// `evaluate` sizes sensitivity-max's work before allocating it: the perturbed copies of
/// every row must fit the data-cell limit, and the error says how many rows would
/// (infidelity's copies of one row are `cli_hardening`'s).
#[test]
fn evaluate_work_that_does_not_fit_is_refused() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    let out = conflux()
        .args([
            "evaluate", "--quiet", "--method", "cafe", "--label", "income",
        ])
        .arg("--model")
        .arg(assets.join("adult_mlp.json"))
        .arg("--data")
        .arg(assets.join("adult_sample.csv"))
        .args(["--metric", "sensitivity-max", "--samples", "1000000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "parameter rows = 300: sensitivity-max explains 1000000 perturbed copies of every row"
        ) && stderr.contains("use 20 rows or fewer"),
        "{stderr}"
    );
}
