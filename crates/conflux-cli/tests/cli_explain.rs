//! `conflux explain` end to end: the golden vectors through the CLI with the JSON model
//! format, the output schema, CSV output, references and targets.

mod common;

use common::{conflux, csv, ok, write};
use conflux_testkit::assert::assert_close;
use conflux_testkit::golden;
use conflux_testkit::json::floats;
use serde_json::Value;

#[test]
fn golden_vectors_through_the_cli_f64_and_f32() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = 0;
    for (path, g) in golden::cafe_files() {
        let model = write(
            dir.path(),
            "m.json",
            serde_json::to_string(&g.model).unwrap(),
        );
        let runs_of_case = g
            .cases
            .iter()
            .enumerate()
            .flat_map(|(ci, case)| ["f64", "f32"].map(|p| (ci, case, p)));
        for (ci, case, precision) in runs_of_case {
            let data = write(dir.path(), "x.csv", csv(&case.inputs));
            let reference = write(
                dir.path(),
                "r.csv",
                csv(std::slice::from_ref(&case.reference)),
            );
            let c = case
                .c
                .to_vec()
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(",");
            let out = conflux()
                .args([
                    "explain",
                    "--quiet",
                    "--precision",
                    precision,
                    "--c",
                    &c,
                    "--target",
                    &case.target.to_string(),
                ])
                .arg("--model")
                .arg(&model)
                .arg("--data")
                .arg(&data)
                .arg("--reference")
                .arg(&reference)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let rows = v["rows"].as_array().unwrap();
            assert_eq!(rows.len(), case.inputs.len());
            let e = &case.expected;
            let largest = e
                .feat_pos
                .iter()
                .chain(&e.feat_neg)
                .flatten()
                .chain(&e.bias_pos)
                .chain(&e.bias_neg)
                .fold(0.0f64, |m, x| m.max(x.abs()));
            let (rel, abs) = if precision == "f64" {
                (1e-5, 1e-6)
            } else {
                (1e-3, 1e-5 * largest)
            };
            let what = format!("{} case {ci} {precision}", g.name);
            for (i, row) in rows.iter().enumerate() {
                assert_eq!(row["row"], i);
                assert_eq!(row["target"], case.target);
                assert_close(&what, &floats(&row["feat_pos"]), &e.feat_pos[i], rel, abs);
                assert_close(&what, &floats(&row["feat_neg"]), &e.feat_neg[i], rel, abs);
                assert_close(
                    &what,
                    &[
                        row["bias_pos"].as_f64().unwrap(),
                        row["bias_neg"].as_f64().unwrap(),
                    ],
                    &[e.bias_pos[i], e.bias_neg[i]],
                    rel,
                    abs,
                );
                let joint: Vec<f64> = e.feat_pos[i]
                    .iter()
                    .zip(&e.feat_neg[i])
                    .map(|(p, q)| p - q)
                    .collect();
                assert_close(&what, &floats(&row["scores"]), &joint, rel, abs.max(1e-6));
                assert_close(
                    &what,
                    &[row["output"].as_f64().unwrap()],
                    &[case.output[i][case.target]],
                    rel,
                    abs,
                );
                assert_close(
                    &what,
                    &[row["baseline_output"].as_f64().unwrap()],
                    &[case.reference_output_nobias[case.target]],
                    rel,
                    abs,
                );
            }
            runs += 1;
        }
    }
    assert_eq!(runs, 2 * 269, "every golden case in f64 and f32");
}

const NET: &str = r#"{"format": "conflux-model", "format_version": 1, "input_dim": 3, "feature_names": ["a", "b", "c"],
  "preprocess": {"kind": "standardize", "mean": [1, 2, 3], "std": [2, 1, 0]},
  "layers": [{"type": "linear", "weight": [[1, -2, 0.5], [0.3, 0.2, -1]], "bias": [0.1, -0.2]}, {"type": "gelu"},
             {"type": "linear", "weight": [[1, -1], [0.5, 2]], "bias": [0, 0.3]}, {"type": "softmax"}]}"#;

const DATA: &str = "b,label,a,c\n1,0,2,3\n3,1,0,5\n2,0,1,3\n";

#[test]
fn schema_names_reference_and_targets() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "m.json", NET);
    let data = write(dir.path(), "d.csv", DATA);
    let out = common::explain(
        &model,
        &data,
        &["--target", "all", "--label", "label", "--precision", "f64"],
    );
    ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["method"], "cafe");
    assert_eq!(v["params"]["c"], serde_json::json!([0.5]));
    assert_eq!(v["baseline_kind"], "bias_ablated_reference");
    // Columns are matched by the model's feature names, not by position.
    assert_eq!(v["features"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(floats(&v["reference"]), vec![0.0, 0.0, 0.0]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6, "3 rows × 2 targets");
    assert_eq!(
        (rows[1]["row"].as_u64(), rows[1]["target"].as_u64()),
        (Some(0), Some(1))
    );
    for r in rows {
        assert!(r["completeness_gap"].as_f64().unwrap().abs() < 1e-8);
        for k in ["scores", "feat_pos", "feat_neg"] {
            assert_eq!(r[k].as_array().unwrap().len(), 3);
        }
    }
    // Row 2 equals the training mean in a and c (input 0 after standardising): missingness.
    let r2 = &rows[4];
    assert_eq!(r2["feat_pos"][0], 0.0);
    assert_eq!(r2["feat_neg"][2], 0.0);
    // --reference mean: the reference is the data mean, standardised.
    let out = common::explain(
        &model,
        &data,
        &[
            "--reference",
            "mean",
            "--label",
            "label",
            "--precision",
            "f64",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = [(1.0 - 1.0) / 2.0, 2.0 - 2.0, (11.0 / 3.0 - 3.0) / 1.0];
    assert_close(
        "mean reference",
        &floats(&v["reference"]),
        &want,
        1e-12,
        1e-12,
    );
    // --reference median.
    let out = common::explain(
        &model,
        &data,
        &["--reference", "median", "--label", "label"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_close(
        "median reference",
        &floats(&v["reference"]),
        &[0.0, 0.0, 0.0],
        1e-6,
        1e-6,
    );
}

#[test]
fn per_row_reference_file_and_csv_output() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "m.json", NET);
    let data = write(dir.path(), "d.csv", DATA);
    // The reference equal to each data row ⇒ all feature scores 0 (missingness), per row.
    let reference = write(dir.path(), "r.csv", "a,b,c\n2,1,3\n0,3,5\n1,2,3\n");
    let out_path = dir.path().join("scores.csv");
    conflux()
        .args([
            "explain", "--quiet", "--format", "csv", "--label", "label", "--target", "1",
        ])
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .arg("--reference")
        .arg(&reference)
        .arg("--out")
        .arg(&out_path)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out_path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,target,output,baseline_output,score:a,score:b,score:c,pos:a,pos:b,pos:c,neg:a,neg:b,neg:c,bias_pos,bias_neg,completeness_gap"
    );
    let body: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(body.len(), 3);
    for r in &body {
        assert_eq!(r[1], 1.0, "target 1");
        assert!(
            r[4..13].iter().all(|&v| v == 0.0),
            "x = r ⇒ zero feature scores: {r:?}"
        );
        assert!(r[15].abs() < 1e-5, "completeness gap {}", r[15]);
    }
    // A reference file with a wrong number of rows is an error and leaves no output.
    let bad = write(dir.path(), "r2.csv", "a,b,c\n2,1,3\n0,3,5\n");
    let out2 = dir.path().join("o2.json");
    let o = conflux()
        .args(["explain", "--quiet", "--label", "label"])
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .arg("--reference")
        .arg(&bad)
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("r2.csv: expected 1 reference row or one per data row"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out2.exists());
}

#[test]
fn probabilities_head_and_precision_agree() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "m.json", NET);
    let data = write(dir.path(), "d.csv", DATA);
    // A softmax head cannot be explained element-wise.
    let o = common::explain(
        &model,
        &data,
        &["--explain-probabilities", "--label", "label"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("softmax head is not element-wise"));
    // f32 and f64 agree to f32 precision.
    let run = |p: &str| -> Value {
        let o = common::explain(&model, &data, &["--label", "label", "--precision", p]);
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let (a, b) = (run("f32"), run("f64"));
    for (x, y) in a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["rows"].as_array().unwrap())
    {
        assert_close(
            "f32 vs f64",
            &floats(&x["scores"]),
            &floats(&y["scores"]),
            1e-4,
            1e-5,
        );
    }
}

#[test]
fn every_method_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "m.json", NET);
    let data = write(dir.path(), "d.csv", DATA);
    let methods = [
        ("cafe", Some("bias_ablated_reference")),
        ("saliency", None),
        ("gradient-x-input", None),
        ("lrp", None),
        ("deeplift", Some("reference")),
        ("deeplift-reveal-cancel", Some("reference")),
        ("ig:steps=16:rule=riemann-middle", Some("reference")),
        ("smoothgrad:n=4", None),
        ("gradient-shap", None),
        ("kernel-shap:exact=true", Some("reference")),
        ("kernel-shap:n=64", Some("reference")),
        ("shapley-sampling:n=8", Some("reference")),
        ("lime:n=64", None),
        ("lime:surrogate=lasso:alpha=0.001", None),
        ("ablation", None),
    ];
    for (m, kind) in methods {
        let v = common::explain_json(
            &model,
            &data,
            &[
                "--method",
                m,
                "--label",
                "label",
                "--precision",
                "f64",
                "--seed",
                "5",
            ],
        );
        let name = m.split(':').next().unwrap();
        assert_eq!(
            v["method"],
            if name == "ig" {
                "integrated-gradients"
            } else {
                name
            },
            "{m}"
        );
        assert_eq!(v["baseline_kind"], serde_json::json!(kind), "{m}");
        for r in v["rows"].as_array().unwrap() {
            assert_eq!(r["scores"].as_array().unwrap().len(), 3, "{m}");
            assert_eq!(
                r.get("feat_pos").is_some(),
                name == "cafe",
                "{m}: split fields only for CAFE"
            );
            if kind.is_some() && !m.starts_with("ig") {
                assert!(
                    r["completeness_gap"].as_f64().unwrap().abs() < 1e-7,
                    "{m}: {}",
                    r["completeness_gap"]
                );
            }
        }
    }
    // Seeded methods: the same seed gives the same output on 1 and 2 threads; CSV without split
    // columns for methods that have none.
    let run = |threads: &str, seed: &str| {
        common::explain(
            &model,
            &data,
            &[
                "--method",
                "kernel-shap:n=32",
                "--label",
                "label",
                "--seed",
                seed,
                "--threads",
                threads,
                "--format",
                "csv",
            ],
        )
        .stdout
    };
    assert_eq!(run("1", "4"), run("2", "4"));
    assert_ne!(run("1", "4"), run("1", "5"));
    let text = String::from_utf8(run("1", "4")).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "row,target,output,baseline_output,score:a,score:b,score:c,completeness_gap"
    );
    // Groups: both members of a group report the group's score.
    let groups = write(dir.path(), "g.json", r#"{"ab": ["a", "b"], "c": ["c"]}"#);
    let v = common::explain_json(
        &model,
        &data,
        &[
            "--method",
            "kernel-shap:exact=true",
            "--label",
            "label",
            "--groups",
            groups.to_str().unwrap(),
        ],
    );
    for r in v["rows"].as_array().unwrap() {
        assert_eq!(r["scores"][0], r["scores"][1]);
        assert!(
            r["completeness_gap"].is_null(),
            "no per-feature completeness with groups"
        );
    }
}
