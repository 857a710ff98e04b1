//! `train ame`, `explain`/`evaluate` of an AME, the AME benchmarks (quick variants), and
//! the AME's bad-input errors — through the binary.

mod common;

use std::path::{Path, PathBuf};

use common::{conflux, listing, ok, write};
use serde_json::Value;

/// Groups `a` (x0, x1) and `b` (x2) drive the label; `noise` (x3) does not.
fn dataset(dir: &Path) -> PathBuf {
    let mut s = String::from("x0,x1,x2,x3,y\n");
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    for _ in 0..600 {
        let x: Vec<f64> = (0..4).map(|_| next()).collect();
        let y = u8::from(2.0 * (x[0] + x[1]) + x[2] > 0.0);
        s.push_str(&format!("{},{},{},{},{y}\n", x[0], x[1], x[2], x[3]));
    }
    write(dir, "d.csv", s)
}

fn train(dir: &Path, data: &Path, extra: &[&str]) -> (PathBuf, std::process::Output) {
    let model = dir.join("m.ame.json");
    let out = conflux()
        .args([
            "train", "ame", "--quiet", "--label", "y", "--task", "binary",
        ])
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(&model)
        .args(["--epochs", "25", "--seed", "3"])
        .args(extra)
        .output()
        .unwrap();
    (model, out)
}

#[test]
fn train_explain_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let groups = write(
        dir.path(),
        "g.json",
        r#"{"a": ["x0", "x1"], "b": ["x2"], "noise": ["x3"]}"#,
    );
    let (model, out) = train(dir.path(), &data, &["--groups", groups.to_str().unwrap()]);
    let text = ok(&out);
    assert!(
        text.contains("trained AME on 600 rows × 4 features, 3 experts"),
        "{text}"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    assert_eq!(doc["format"], "conflux-ame");
    assert_eq!(doc["groups"][0]["name"], "a");
    assert!(doc["preprocess"]["mean"].is_array());

    // explain: per row prediction, importance (sums to 1) and, with the label, ω.
    let out = common::explain(&model, &data, &["--label", "y"]);
    let v: Value = serde_json::from_slice(ok(&out).as_bytes()).unwrap();
    assert_eq!(v["method"], "ame");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 600);
    let mut mean = [0.0; 3];
    for r in rows {
        let p = r["prediction"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        let imp = r["importance"].as_object().unwrap();
        let s: f64 = imp.values().map(|x| x.as_f64().unwrap()).sum();
        assert!((s - 1.0).abs() < 1e-9, "{r}");
        let w: f64 = r["granger"]
            .as_object()
            .unwrap()
            .values()
            .map(|x| x.as_f64().unwrap())
            .sum();
        assert!((w - 1.0).abs() < 1e-9, "{r}");
        for (i, g) in ["a", "b", "noise"].iter().enumerate() {
            mean[i] += imp[*g].as_f64().unwrap() / 600.0;
        }
    }
    assert!(mean[0] > mean[1] && mean[1] > mean[2], "{mean:?}");
    // Without the label: no ω. CSV has a column per group.
    let out = common::explain(&model, &data, &["--label", "y", "--format", "csv"]);
    let text = ok(&out);
    assert!(
        text.starts_with("row,prediction,importance_a,importance_b,importance_noise,granger_a")
    );
    assert_eq!(text.lines().count(), 601);
    let nolabel = write(
        dir.path(),
        "nolabel.csv",
        "x0,x1,x2,x3\n0.5,0.5,0.1,0\n-1,0.2,0.3,0.9\n",
    );
    let out = common::explain(&model, &nolabel, &[]);
    let v: Value = serde_json::from_slice(ok(&out).as_bytes()).unwrap();
    assert!(v["rows"][0].get("granger").is_none());
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);

    // A model-agnostic method on the AME.
    let out = common::explain(&model, &nolabel, &["--method", "kernel-shap:n=64"]);
    let v: Value = serde_json::from_slice(ok(&out).as_bytes()).unwrap();
    assert_eq!(v["method"], "kernel-shap");
    assert_eq!(v["rows"][0]["scores"].as_array().unwrap().len(), 4);
    // A method that needs layers is refused with the alternatives named.
    let out = common::explain(&model, &nolabel, &["--method", "deeplift"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("kernel-shap, shapley-sampling, lime or ablation")
    );

    // evaluate: quality, MGE, r², importances.
    let out = conflux()
        .args(["evaluate", "--label", "y", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(ok(&out).as_bytes()).unwrap();
    assert_eq!(v["rows_evaluated"], 600);
    assert!(v["quality"]["accuracy"].as_f64().unwrap() > 0.85, "{v}");
    assert!(v["mge"].as_f64().unwrap() >= 0.0);
    let r2 = v["granger_r2"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&r2));
    assert!(v["importance_by_class"]["0"]["a"].is_number());
    let table = ok(&conflux()
        .args(["evaluate", "--label", "y", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap());
    assert!(
        table.contains("| expert | mean importance | class 0 | class 1 |"),
        "{table}"
    );
}

#[test]
fn bad_ame_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let fails = |args: &[&str], want: &str| {
        let before = listing(dir.path());
        let out = conflux()
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(want), "{args:?}: {err}");
        // Usage errors (exit 2) keep the argument parser's format; every other error is one
        // line.
        if out.status.code() != Some(2) {
            assert_eq!(err.lines().count(), 1, "one line: {err}");
        }
        assert!(out.stdout.is_empty());
        assert_eq!(listing(dir.path()), before, "no output left behind");
    };
    let base = [
        "train",
        "ame",
        "--quiet",
        "--data",
        "d.csv",
        "--task",
        "binary",
        "--out",
        "m.ame.json",
        "--epochs",
        "2",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let label: &[&'static str] = if extra.contains(&"--label") {
            &[]
        } else {
            &["--label", "y"]
        };
        base.iter().chain(label).chain(extra).copied().collect()
    };
    write(
        dir.path(),
        "overlap.json",
        r#"{"a": ["x0", "x1"], "b": ["x1", "x2", "x3"]}"#,
    );
    fails(&with(&["--groups", "overlap.json"]), "in two groups");
    write(
        dir.path(),
        "missing.json",
        r#"{"a": ["x0", "x1"], "b": ["x2"]}"#,
    );
    fails(&with(&["--groups", "missing.json"]), "in no group");
    write(
        dir.path(),
        "unknown.json",
        r#"{"a": ["x0", "x1", "x2", "zz"]}"#,
    );
    fails(&with(&["--groups", "unknown.json"]), "unknown column 'zz'");
    fails(&with(&["--alpha", "1.5"]), "alpha");
    fails(&with(&["--alpha", "-0.1"]), "alpha");
    fails(&with(&["--image", "3x3"]), "image");
    fails(&with(&["--label", "nope"]), "nope");
    write(dir.path(), "one.csv", "x0,y\n1,1\n2,1\n3,1\n");
    fails(
        &[
            "train",
            "ame",
            "--data",
            "one.csv",
            "--label",
            "y",
            "--task",
            "binary",
            "--out",
            "m.ame.json",
        ],
        "at least two classes",
    );
    // A trained AME, then mismatched data and a model of another kind.
    let (model, out) = train(dir.path(), &data, &[]);
    ok(&out);
    write(dir.path(), "short.csv", "x0,x1,x2\n1,2,3\n");
    let m = model.to_str().unwrap();
    fails(&["explain", "--model", m, "--data", "short.csv"], "x3");
    fails(
        &[
            "bench", "methods", "--model", m, "--data", "d.csv", "--label", "y",
        ],
        "AME model",
    );
    let text = ok(&conflux().args(["inspect", "--model", m]).output().unwrap());
    assert!(text.contains("experts     4 (hidden 16"), "{text}");
    write(dir.path(), "badlabel.csv", "x0,x1,x2,x3,y\n1,2,3,4,7\n");
    fails(
        &[
            "evaluate",
            "--model",
            m,
            "--data",
            "badlabel.csv",
            "--label",
            "y",
        ],
        "label 7 is not valid",
    );
    fails(
        &[
            "evaluate",
            "--model",
            m,
            "--data",
            "d.csv",
            "--label",
            "y",
            "--method",
            "cafe",
            "--metric",
            "infidelity",
        ],
        "--method/--metric",
    );
    // An MLP file where an AME's fields are expected is read as a network, and a file that
    // claims to be an AME but is not is named.
    write(
        dir.path(),
        "fake.ame.json",
        r#"{"format": "conflux-ame", "format_version": 1, "task": {"kind": "binary"}}"#,
    );
    fails(
        &["explain", "--model", "fake.ame.json", "--data", "d.csv"],
        "missing key \"features\"",
    );
}

#[test]
fn quick_benchmarks_run() {
    let out = conflux()
        .args(["bench", "ame-digits", "--quick", "--quiet"])
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(text.contains("| AME attention |"), "{text}");
    assert!(text.contains("| kernel-shap:n=256 |"), "{text}");
    assert!(text.contains("| cafe:c=0.5 |"), "{text}");
    assert!(text.contains("stopped early"), "{text}");
    let out = conflux()
        .args(["bench", "ame-granger", "--quick", "--quiet"])
        .output()
        .unwrap();
    let text = ok(&out);
    // Switch task, classification and regression × linear and MLP predictors × two α.
    assert_eq!(
        text.lines().filter(|l| l.starts_with("| switch |")).count(),
        8,
        "{text}"
    );
    assert!(
        text.contains("| linear (paper) | 0.05 |") && text.contains("| MLP, hidden 32 | 0.05 |")
    );
    let out = conflux()
        .args(["bench", "ame-alpha", "--quick", "--quiet"])
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(text.contains("| 0.05 |"), "{text}");
    let out = conflux()
        .args(["bench", "ame-speed", "--quick", "--quiet", "--rows", "200"])
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(text.contains("| AME attention | AME |"), "{text}");
    assert!(text.contains("| kernel-shap:n=2048 | AME |"), "{text}");
}

/// `--granger-hidden`: 0 trains the paper's linear Granger predictors (format 1 files), the
/// default an MLP (format 2) for tabular experts and linear ones for an image stem; inspect
/// says which, and a version-3 file is refused.
#[test]
fn granger_predictors_linear_or_mlp() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path());
    let (mlp, out) = train(dir.path(), &data, &[]);
    ok(&out);
    let inspect = |model: &Path| {
        ok(&conflux()
            .args(["inspect", "--model"])
            .arg(model)
            .output()
            .unwrap())
    };
    assert!(inspect(&mlp).contains("granger     MLP predictors (hidden 32, SELU)"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&mlp).unwrap()).unwrap();
    assert_eq!(doc["format_version"], 2);
    assert_eq!(doc["aux_hidden"]["width"], 32);
    assert_eq!(doc["training"]["granger_hidden"], 32);
    let linear = dir.path().join("linear.json");
    ok(&conflux()
        .args([
            "train", "ame", "--quiet", "--label", "y", "--task", "binary", "--epochs", "3",
        ])
        .args(["--granger-hidden", "0", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&linear)
        .output()
        .unwrap());
    assert!(inspect(&linear).contains("granger     linear predictors (the paper's)"));
    // Linear models stay format 1 (older builds read them); MLP predictors need format 2,
    // and a format-1 file that carries them is refused.
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&linear).unwrap()).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert!(doc.get("aux_hidden").is_none());
    let mut mlp_doc: Value = serde_json::from_str(&std::fs::read_to_string(&mlp).unwrap()).unwrap();
    mlp_doc["format_version"] = 1.into();
    let bad = write(dir.path(), "bad_v1.json", mlp_doc.to_string());
    let err = conflux()
        .args(["inspect", "--model"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&err.stderr).contains("\"aux_hidden\" is a version 2 field"));
    // An image stem's many cell experts default to the linear predictors.
    let digits =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/digits/digits_8x8.csv");
    let image = dir.path().join("image.json");
    ok(&conflux()
        .args([
            "train",
            "ame",
            "--quiet",
            "--label",
            "label",
            "--task",
            "multiclass",
        ])
        .args(["--image", "8x8", "--epochs", "1", "--data"])
        .arg(&digits)
        .arg("--out")
        .arg(&image)
        .output()
        .unwrap());
    assert!(inspect(&image).contains("granger     linear predictors (the paper's)"));
    doc["format_version"] = 3.into();
    let v3 = write(dir.path(), "v3.json", doc.to_string());
    let err = conflux()
        .args(["inspect", "--model"])
        .arg(&v3)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&err.stderr).contains("format_version"));
}
