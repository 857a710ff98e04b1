//! `inspect`, `demo`, `bench`, and explain on ONNX models through the binary.

mod common;

use std::path::PathBuf;

use common::{conflux, ok, write};
use serde_json::Value;

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo")
}

#[test]
fn demo_runs_and_its_model_reproduces_scikit_learn() {
    let reports = tempfile::tempdir().unwrap();
    let report = reports.path().join("demo.html");
    let out = conflux()
        .args(["demo", "--rows", "3", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "row 0: P(>50K) = 0.001",
        "row 2: P(>50K) = 0.704",
        "pushes up",
        "pushes down",
        "conflicts",
        "All 300 bundled rows",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("row 3:"), "--rows 3 prints three rows");
    // It writes the report of the same rows and says where.
    assert!(
        text.contains(&format!("report: {}", report.display())),
        "{text}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<section id=\"rows\">") && html.contains("300 rows × 13 features"));
    // The bundled model gives scikit-learn's probabilities on the bundled rows.
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(assets().join("adult_mlp_expected.json")).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ten: String = std::fs::read_to_string(assets().join("adult_sample.csv"))
        .unwrap()
        .lines()
        .take(11)
        .map(|l| format!("{l}\n"))
        .collect();
    let data = write(dir.path(), "ten.csv", ten);
    let out = common::explain(
        &assets().join("adult_mlp.json"),
        &data,
        &["--precision", "f64", "--label", "income"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (row, p) in v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected["probability"].as_array().unwrap())
    {
        let logit = row["output"].as_f64().unwrap();
        let prob = 1.0 / (1.0 + (-logit).exp());
        assert!((prob - p.as_f64().unwrap()).abs() < 1e-9, "{prob} vs {p}");
    }
}

#[test]
fn inspect_text_and_json() {
    let model = assets().join("adult_mlp.json");
    let out = conflux()
        .args(["inspect"])
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "inputs      13 (age, fnlwgt",
        "preprocess  standardize",
        "linear      13 → 32",
        "head        sigmoid",
        "parameters  993",
        "activation layers  2",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let out = conflux()
        .args(["inspect", "--format", "json"])
        .arg("--model")
        .arg(conflux_testkit::repo_root().join("tests/models/extra_gelu_mlp_legacy.onnx"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["input_dim"], 6);
    assert_eq!(v["output_dim"], 3);
    assert_eq!(v["activation_layers"], 2);
    let types: Vec<&str> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["linear", "gelu", "linear", "gelu", "linear"]);
}

#[test]
fn explain_onnx_models_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let models = conflux_testkit::repo_root().join("tests/models");
    for stem in [
        "extra_batchnorm_mlp",
        "extra_gelu_mlp",
        "extra_sigmoid_tanh_mlp",
    ] {
        let side: Value = serde_json::from_str(
            &std::fs::read_to_string(models.join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        let rows: Vec<Vec<f64>> = side["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            })
            .collect();
        let data = write(dir.path(), "x.csv", common::csv(&rows));
        for file in side["files"].as_object().unwrap().keys() {
            let out = common::explain(
                &models.join(file),
                &data,
                &["--precision", "f64", "--target", "all"],
            );
            assert!(
                out.status.success(),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let outputs = side["outputs"].as_array().unwrap();
            for r in v["rows"].as_array().unwrap() {
                let (i, t) = (
                    r["row"].as_u64().unwrap() as usize,
                    r["target"].as_u64().unwrap() as usize,
                );
                let want = outputs[i][t].as_f64().unwrap();
                assert!(
                    (r["output"].as_f64().unwrap() - want).abs() < 1e-5,
                    "{file} row {i} target {t}"
                );
                assert!(
                    r["completeness_gap"].as_f64().unwrap().abs() < 1e-7,
                    "{file}: gap {}",
                    r["completeness_gap"]
                );
            }
        }
    }
}

#[test]
fn bench_cafe_quick_prints_the_table() {
    let out = conflux()
        .args(["bench", "cafe", "--quick"])
        .output()
        .unwrap();
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| network | threads | batch | forward rows/s | CAFE rows/s |"));
    let rows = text.lines().filter(|l| l.starts_with("| (")).count();
    assert_eq!(
        rows, 12,
        "3 networks (two MLPs, a CNN) × 2 thread counts × 2 batch sizes:\n{text}"
    );
    for l in text.lines().filter(|l| l.starts_with("| (")) {
        let cells: Vec<&str> = l.split('|').map(str::trim).collect();
        assert!(
            cells[4].parse::<f64>().unwrap() > 0.0 && cells[5].parse::<f64>().unwrap() > 0.0,
            "{l}"
        );
    }
}

#[test]
fn help_lists_every_subcommand_and_flag() {
    let out = conflux().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in [
        "explain", "evaluate", "inspect", "demo", "bench", "train", "data",
    ] {
        assert!(text.contains(sub), "{sub} in --help");
    }
    for (args, flags) in [
        (
            &["evaluate", "--help"][..],
            &[
                "--method",
                "--metric",
                "--perturb-sd",
                "--categorical-prob",
                "--categorical",
                "--samples",
                "--seed",
                "--format",
                "--out",
            ][..],
        ),
        (
            &["train", "mlp", "--help"][..],
            &[
                "--task",
                "--hidden",
                "--activation",
                "--epochs",
                "--batch-size",
                "--lr",
                "--weight-decay",
                "--patience",
                "--val-split",
                "--no-standardize",
                "--seed",
                "--out",
            ][..],
        ),
        (
            &["data", "conflicts", "--help"][..],
            &["--dim", "--likelihood", "--rows", "--seed", "--out"][..],
        ),
        (
            &["bench", "conflicts", "--help"][..],
            &["--full", "--quick"][..],
        ),
        (
            &["bench", "methods", "--help"][..],
            &["--model", "--data", "--rows"][..],
        ),
    ] {
        let out = conflux().args(args).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for f in flags {
            assert!(text.contains(f), "{f} in {args:?}");
        }
    }
    let out = conflux().args(["explain", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--model",
        "--data",
        "--label",
        "--reference",
        "--c",
        "--target",
        "--precision",
        "--format",
        "--out",
        "--quiet",
        "--method",
        "--arch",
        "--explain-probabilities",
    ] {
        assert!(text.contains(flag), "{flag} in explain --help");
    }
}

#[test]
fn explain_probabilities_through_a_sigmoid_head() {
    let model = assets().join("adult_mlp.json");
    let dir = tempfile::tempdir().unwrap();
    let five: String = std::fs::read_to_string(assets().join("adult_sample.csv"))
        .unwrap()
        .lines()
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    let data = write(dir.path(), "five.csv", five);
    let run = |extra: &[&str]| {
        conflux()
            .args([
                "explain",
                "--quiet",
                "--precision",
                "f64",
                "--label",
                "income",
            ])
            .args(extra)
            .arg("--model")
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap()
    };
    let logits: Value = serde_json::from_slice(&run(&[]).stdout).unwrap();
    // The head becomes a third activation layer: three c values are accepted, two are not.
    let out = run(&["--explain-probabilities", "--c", "0.5,0.5,1"]);
    ok(&out);
    let probs: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (l, p) in logits["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(probs["rows"].as_array().unwrap())
    {
        let z = l["output"].as_f64().unwrap();
        assert!((p["output"].as_f64().unwrap() - 1.0 / (1.0 + (-z).exp())).abs() < 1e-12);
        assert!(p["completeness_gap"].as_f64().unwrap().abs() < 1e-9);
    }
    let out = run(&["--explain-probabilities", "--c", "0.5,0.5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--c: cafe: parameter c = [0.5, 0.5]: expected 1 value or 3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn evaluate_methods_and_metrics() {
    let model = assets().join("adult_mlp.json");
    let dir = tempfile::tempdir().unwrap();
    let rows: String = std::fs::read_to_string(assets().join("adult_sample.csv"))
        .unwrap()
        .lines()
        .take(21)
        .map(|l| format!("{l}\n"))
        .collect();
    let data = write(dir.path(), "twenty.csv", rows);
    let out_path = dir.path().join("eval.json");
    let out = conflux()
        .args([
            "evaluate",
            "--quiet",
            "--label",
            "income",
            "--method",
            "cafe:c=0.5",
            "--method",
            "deeplift",
            "--method",
            "lime:n=64",
        ])
        .args([
            "--metric",
            "infidelity",
            "--metric",
            "completeness",
            "--metric",
            "sensitivity-max",
            "--categorical",
            "sex_Male,race_White",
            "--seed",
            "3",
        ])
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&out_path)
        .output()
        .unwrap();
    ok(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("| method | infidelity | completeness | sensitivity-max |"),
        "{table}"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let methods = v["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 3);
    assert_eq!(methods[0]["method"], "cafe:c=0.5");
    for m in methods {
        let inf = &m["infidelity"];
        assert_eq!(inf["rows"], 20);
        assert!(inf["mean"].as_f64().unwrap() >= 0.0 && inf["sd"].as_f64().unwrap() >= 0.0);
        assert!(m["sensitivity-max"]["mean"].as_f64().unwrap() >= 0.0);
    }
    assert!(methods[0]["completeness"]["mean"].as_f64().unwrap() < 1e-9);
    assert!(
        methods[2]["completeness"].is_null(),
        "LIME claims no completeness"
    );
    // The same seed reproduces the numbers.
    let again = common::run_on(
        &[
            "evaluate",
            "--quiet",
            "--label",
            "income",
            "--method",
            "lime:n=64",
            "--metric",
            "infidelity",
            "--categorical",
            "sex_Male,race_White",
            "--seed",
            "3",
            "--format",
            "json",
        ],
        &model,
        &data,
    );
    let w: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(w["methods"][0]["infidelity"], methods[2]["infidelity"]);
    // Bad input: unknown categorical column, bad probability.
    let bad = common::run_on(
        &[
            "evaluate",
            "--label",
            "income",
            "--method",
            "cafe",
            "--metric",
            "infidelity",
            "--categorical",
            "nope",
        ],
        &model,
        &data,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--categorical: unknown column 'nope'"));
    let bad = common::run_on(
        &[
            "evaluate",
            "--label",
            "income",
            "--method",
            "cafe",
            "--metric",
            "infidelity",
            "--categorical-prob",
            "2",
        ],
        &model,
        &data,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains(
            "invalid value '2' for '--categorical-prob <P>': expected a number in [0, 1]"
        )
    );
}

#[test]
fn data_conflicts_writes_the_synthetic_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.csv");
    conflux()
        .args([
            "data",
            "conflicts",
            "--dim",
            "3",
            "--likelihood",
            "0.25",
            "--rows",
            "200",
            "--seed",
            "7",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "z0,z1,z2,k0,k1,k2,y,gt_z0,gt_z1,gt_z2,gt_k0,gt_k1,gt_k2"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 200);
    for r in &rows {
        // Ground truth sums to y; a cancelled feature's truth is undone by its flag.
        assert!((r[7..13].iter().sum::<f64>() - r[6]).abs() < 1e-9);
        for i in 0..3 {
            assert_eq!(r[10 + i] != 0.0, r[3 + i] == 1.0 && r[i] != 0.0);
        }
    }
    let again = conflux()
        .args([
            "data",
            "conflicts",
            "--dim",
            "3",
            "--likelihood",
            "0.25",
            "--rows",
            "200",
            "--seed",
            "7",
        ])
        .output()
        .unwrap();
    assert_eq!(again.stdout, text.as_bytes(), "same seed, same data");
    let bad = conflux()
        .args(["data", "conflicts", "--dim", "0", "--likelihood", "0.2"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'--dim <D>': expected an integer ≥ 1"));
}

#[test]
fn train_mlp_is_deterministic_and_checks_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = assets().join("adult_sample.csv");
    let train = |out: &str, seed: &str| {
        conflux()
            .args([
                "train", "mlp", "--quiet", "--label", "income", "--task", "binary", "--hidden",
                "8", "--epochs", "3", "--seed", seed, "--out",
            ])
            .arg(dir.path().join(out))
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap()
    };
    let first = train("a.json", "3");
    ok(&first);
    assert!(String::from_utf8_lossy(&first.stdout).contains("validation: accuracy"));
    assert!(train("b.json", "3").status.success());
    assert!(train("c.json", "4").status.success());
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    assert_eq!(read("a.json"), read("b.json"), "same seed, same model");
    assert_ne!(read("a.json"), read("c.json"));
    // The saved model loads, carries its scaler and head, and the safetensors twin agrees.
    let net = conflux_core::io::json::load(&dir.path().join("a.json")).unwrap();
    assert_eq!(net.head(), Some(conflux_core::Head::Sigmoid));
    assert!(net.preprocess().is_some());
    let twin = conflux_core::io::load_model(&dir.path().join("a.safetensors"), None).unwrap();
    let x: Vec<f64> = (0..13).map(|i| i as f64 * 0.1).collect();
    assert!((net.forward(&x, 1)[0] - twin.forward(&x, 1)[0]).abs() < 1e-6);
    // Bad input.
    let one_class = write(dir.path(), "one.csv", "a,b,y\n1,2,1\n3,4,1\n5,6,1\n");
    let out = conflux()
        .args(["train", "mlp", "--label", "y", "--task", "binary", "--out"])
        .arg(dir.path().join("x.json"))
        .arg("--data")
        .arg(&one_class)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs at least two classes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = conflux()
        .args([
            "train",
            "mlp",
            "--label",
            "nope",
            "--task",
            "regression",
            "--out",
        ])
        .arg(dir.path().join("x.json"))
        .arg("--data")
        .arg(&one_class)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("label column 'nope'"));
    assert!(!dir.path().join("x.json").exists());
}

#[test]
fn bench_conflicts_quick_and_bench_methods() {
    let out = conflux()
        .args(["bench", "conflicts", "--quick", "--quiet"])
        .output()
        .unwrap();
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| 2 |") && l.contains(" ± "))
        .collect();
    assert_eq!(rows.len(), 2, "ReLU and GELU rows for d = 2:\n{text}");
    for r in &rows {
        // 6 leading columns + 14 methods, each "measured (paper)", the methods "mean ± sd".
        assert_eq!(r.matches('(').count(), 16, "{r}");
        assert_eq!(r.matches(" ± ").count(), 14, "{r}");
    }
    // The spread over every trained network: with one dataset and one initialisation,
    // min = median = max = the mean, and the sd over datasets is 0.
    let spread: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| 2 | ReLU |") || l.starts_with("| 2 | GELU |"))
        .collect();
    assert_eq!(spread.len(), 2, "{text}");
    for (r, s) in rows.iter().zip(&spread) {
        let means: Vec<&str> = r
            .split(" | ")
            .skip(6)
            .map(|c| c.split(" ± ").next().unwrap())
            .collect();
        let cells: Vec<&str> = s.trim_end_matches(" |").split(" | ").skip(2).collect();
        assert_eq!(cells.len(), 14, "{s}");
        for (m, c) in means.iter().zip(&cells) {
            assert_eq!(*c, format!("{m} / {m} / {m}"), "{r}\n{s}");
        }
        assert!(r.contains(" ± 0.00 ("), "{r}");
    }
    assert_eq!(
        text.matches("CAFE mean error c = 0 → 0.75").count(),
        2,
        "{text}"
    );
    let out = conflux()
        .args([
            "bench", "methods", "--rows", "16", "--label", "income", "--method", "cafe",
            "--method", "lime", "--method", "ig",
        ])
        .arg("--model")
        .arg(assets().join("adult_mlp.json"))
        .arg("--data")
        .arg(assets().join("adult_sample.csv"))
        .output()
        .unwrap();
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("| cafe") || l.starts_with("| lime") || l.starts_with("| ig"))
            .count(),
        3,
        "{text}"
    );
}

#[test]
fn ground_truth_rmse_on_synthetic_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("c.csv");
    let model = dir.path().join("m.json");
    conflux()
        .args([
            "data",
            "conflicts",
            "--dim",
            "2",
            "--likelihood",
            "0.3",
            "--rows",
            "600",
            "--seed",
            "2",
            "--out",
        ])
        .arg(&data)
        .assert()
        .success();
    let out = conflux()
        .args([
            "train",
            "mlp",
            "--quiet",
            "--label",
            "y",
            "--exclude",
            "gt_*",
            "--task",
            "regression",
            "--hidden",
            "16,16",
            "--epochs",
            "40",
            "--no-standardize",
            "--seed",
            "1",
            "--out",
        ])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("trained 600 rows × 4 features"));
    let rmse_json = |model: &std::path::Path| -> Value {
        let out = common::run_on(
            &[
                "evaluate", "--quiet", "--label", "y", "--method", "cafe:c=0", "--method",
                "cafe:c=1", "--metric", "rmse", "--format", "json",
            ],
            model,
            &data,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = rmse_json(&model);
    for m in v["methods"].as_array().unwrap() {
        let r = m["rmse"]["mean"].as_f64().unwrap();
        assert!(r.is_finite() && r > 0.0, "{m}");
        assert_eq!(m["rmse"]["rows"], 1, "one value per method");
    }
    assert_eq!(v["rows_evaluated"], 600);
    // A model without stored feature names (an ONNX export, say): the ground-truth columns
    // are not taken for features, and the numbers are the same.
    let mut unnamed: Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    unnamed.as_object_mut().unwrap().remove("feature_names");
    let unnamed_path = dir.path().join("unnamed.json");
    std::fs::write(&unnamed_path, unnamed.to_string()).unwrap();
    assert_eq!(rmse_json(&unnamed_path)["methods"], v["methods"]);
    // Without ground-truth columns the metric is an error naming the column.
    let out = common::run_on(
        &[
            "evaluate",
            "--label",
            "y",
            "--method",
            "cafe",
            "--metric",
            "rmse",
            "--truth-prefix",
            "truth_",
        ],
        &model,
        &data,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no ground-truth column 'truth_z0'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
