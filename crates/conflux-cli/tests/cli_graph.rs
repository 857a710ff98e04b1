//! CNNs, residual and LayerNorm networks through `conflux explain` and `inspect`: the graph
//! golden vectors (`tests/golden/graph`) from the ONNX files of `tests/models/graph`, in f64
//! and f32, and every export variant explained with complete scores.

mod common;

use common::{conflux, ok};
use conflux_testkit::assert::assert_close;
use conflux_testkit::golden::{
    GRAPH_NETWORKS as NETWORKS, graph_cafe_model, graph_file, graph_paths,
};
use conflux_testkit::json::floats;
use serde_json::Value;

fn explain(args: &[&str]) -> Value {
    let out = conflux()
        .args(["explain", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Non-negative split scores that sum to `output − baseline_output`.
fn assert_complete(what: &str, v: &Value, rel: f64) {
    for row in v["rows"].as_array().unwrap() {
        let (p, n) = (floats(&row["feat_pos"]), floats(&row["feat_neg"]));
        let (bp, bn) = (
            row["bias_pos"].as_f64().unwrap(),
            row["bias_neg"].as_f64().unwrap(),
        );
        assert!(
            p.iter().chain(&n).chain([&bp, &bn]).all(|&s| s >= 0.0),
            "{what}: negative score"
        );
        let total: f64 = p.iter().sum::<f64>() - n.iter().sum::<f64>() + bp - bn;
        let mass: f64 = p.iter().chain(&n).sum::<f64>() + bp + bn;
        let (out, base) = (
            row["output"].as_f64().unwrap(),
            row["baseline_output"].as_f64().unwrap(),
        );
        let gap = total - (out - base);
        assert!(
            gap.abs() <= rel * (1.0 + out.abs() + mass),
            "{what}: row {} gap {gap:e}",
            row["row"]
        );
    }
}

#[test]
fn graph_golden_vectors_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (mut exact, mut complete) = (0, 0);
    for name in NETWORKS {
        let g = graph_file(&format!("{name}.json"));
        let model = graph_cafe_model(name);
        let (_, data, nonzero) = graph_paths(name);
        let d = g["n_features"].as_u64().unwrap() as usize;
        let zeros = dir.path().join("zeros.csv");
        let header: Vec<String> = (0..d).map(|i| format!("f{i}")).collect();
        std::fs::write(
            &zeros,
            format!("{}\n{}\n", header.join(","), vec!["0"; d].join(",")),
        )
        .unwrap();
        let gates = name.contains("layernorm");
        for case in g["cases"].as_array().unwrap() {
            let c = case["c"].as_f64().unwrap();
            let which = case["reference"].as_str().unwrap();
            let reference = if which == "zeros" { &zeros } else { &nonzero };
            let target = case["target"].to_string();
            for precision in ["f64", "f32"] {
                let what = format!("{name} c={c} {which} {precision}");
                let v = explain(&[
                    "--model",
                    model.to_str().unwrap(),
                    "--data",
                    data.to_str().unwrap(),
                    "--reference",
                    reference.to_str().unwrap(),
                    "--c",
                    &format!("{c:?}"),
                    "--target",
                    &target,
                    "--precision",
                    precision,
                ]);
                let kind = if gates {
                    "bias_ablated_reference_frozen_gates"
                } else {
                    "bias_ablated_reference"
                };
                assert_eq!(v["baseline_kind"], kind, "{what}");
                assert_complete(&what, &v, if precision == "f64" { 1e-8 } else { 1e-4 });
                if !conflux_testkit::golden::graph_case_is_exact(name, case, precision) {
                    complete += 1;
                    continue;
                }
                let e = &case["expected"];
                let largest = ["feat_pos", "feat_neg"]
                    .iter()
                    .flat_map(|k| e[k].as_array().unwrap().iter().flat_map(floats))
                    .fold(0.0f64, |m, x| m.max(x.abs()));
                let (rel, abs) = if precision == "f64" {
                    (1e-5, 1e-6)
                } else {
                    (1e-3, 1e-4 * largest)
                };
                for (i, row) in v["rows"].as_array().unwrap().iter().enumerate() {
                    if e["feat_pos"][i].is_null() {
                        continue;
                    }
                    assert_close(
                        &what,
                        &floats(&row["feat_pos"]),
                        &floats(&e["feat_pos"][i]),
                        rel,
                        abs,
                    );
                    assert_close(
                        &what,
                        &floats(&row["feat_neg"]),
                        &floats(&e["feat_neg"][i]),
                        rel,
                        abs,
                    );
                    assert_close(
                        &what,
                        &[
                            row["bias_pos"].as_f64().unwrap(),
                            row["bias_neg"].as_f64().unwrap(),
                        ],
                        &[
                            e["bias_pos"][i].as_f64().unwrap(),
                            e["bias_neg"][i].as_f64().unwrap(),
                        ],
                        rel,
                        abs.max(1e-6),
                    );
                }
                exact += 1;
            }
        }
    }
    assert_eq!((exact, complete), (56, 28));
}

#[test]
fn every_export_variant_explains_completely_and_inspect_shows_the_graph() {
    let root = conflux_testkit::repo_root();
    let mut files = 0;
    for entry in std::fs::read_dir(root.join("tests/models/graph")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "onnx") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let name = NETWORKS
            .iter()
            .find(|n| stem == **n || stem.starts_with(&format!("{n}_")))
            .unwrap();
        let (_, data, _) = graph_paths(name);
        for (precision, rel) in [("f64", 1e-8), ("f32", 1e-4)] {
            let v = explain(&[
                "--model",
                path.to_str().unwrap(),
                "--data",
                data.to_str().unwrap(),
                "--c",
                "0.5",
                "--precision",
                precision,
            ]);
            assert_eq!(v["rows"].as_array().unwrap().len(), 20, "{stem}");
            assert_complete(&stem, &v, rel);
        }
        // Gradient methods run on every graph too.
        let s = explain(&[
            "--model",
            path.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--method",
            "integrated-gradients",
        ]);
        assert_eq!(s["rows"].as_array().unwrap().len(), 20, "{stem}");
        let out = conflux()
            .args(["inspect", "--format", "json", "--model"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let i: Value = serde_json::from_slice(&out.stdout).unwrap();
        let layers = i["layers"].as_array().unwrap();
        assert!(
            layers
                .iter()
                .any(|l| l["type"].as_str().unwrap().contains("[c0]")),
            "{stem}: {i}"
        );
        files += 1;
    }
    assert_eq!(files, 13);
}

#[test]
fn npy_data_and_references_give_the_csv_results() {
    let dir = tempfile::tempdir().unwrap();
    let name = "cnn10_relu_maxpool_avgpool";
    let g = graph_file(&format!("{name}.json"));
    let rows: Vec<f64> = g["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(floats)
        .collect();
    let reference = floats(&g["references"]["nonzero"]);
    let data_npy = dir.path().join("x.npy");
    std::fs::write(
        &data_npy,
        conflux_testkit::npy::npy_bytes(&[20, 1, 10, 10], &rows, true),
    )
    .unwrap();
    let ref_npy = dir.path().join("r.npy");
    std::fs::write(
        &ref_npy,
        conflux_testkit::npy::npy_bytes(&[1, 1, 10, 10], &reference, true),
    )
    .unwrap();
    let (model, csv, ref_csv) = graph_paths(name);
    let run = |data: &std::path::Path, r: &std::path::Path| {
        explain(&[
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--reference",
            r.to_str().unwrap(),
            "--precision",
            "f64",
            "--target",
            "7",
        ])
    };
    let (a, b) = (run(&csv, &ref_csv), run(&data_npy, &ref_npy));
    assert_eq!(a["rows"], b["rows"]);
    assert_eq!(b["rows"].as_array().unwrap().len(), 20);
    // A per-row reference .npy (20 rows) is read in lockstep with the data.
    let per_row: Vec<f64> = reference.iter().copied().cycle().take(20 * 100).collect();
    std::fs::write(
        &ref_npy,
        conflux_testkit::npy::npy_bytes(&[20, 100], &per_row, true),
    )
    .unwrap();
    let c = run(&data_npy, &ref_npy);
    let (rows_b, rows_c) = (b["rows"].as_array().unwrap(), c["rows"].as_array().unwrap());
    assert_eq!(rows_c.len(), 20);
    for (rb, rc) in rows_b.iter().zip(rows_c) {
        for key in [
            "scores",
            "feat_pos",
            "feat_neg",
            "bias_pos",
            "baseline_output",
        ] {
            // F₀(r) over 20 rows rounds differently from one row (blocked products).
            let (x, y) = match (rb[key].as_f64(), rc[key].as_f64()) {
                (Some(p), Some(q)) => (vec![p], vec![q]),
                _ => (floats(&rb[key]), floats(&rc[key])),
            };
            assert_close(
                &format!("per-row reference = shared: {key}"),
                &y,
                &x,
                1e-12,
                1e-12,
            );
        }
    }
    // A wrong shape is refused, naming the file and the expected width.
    std::fs::write(
        &data_npy,
        conflux_testkit::npy::npy_bytes(&[2, 7], &[0.0; 14], true),
    )
    .unwrap();
    let out = conflux()
        .args([
            "explain",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data_npy.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("x.npy") && e.contains("expected rows of 100 values"),
        "{e}"
    );
}

/// The stored entries of a ZIP archive: (name, bytes), checking each CRC-32.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut at = 0;
    while u32_at(at) == 0x0403_4b50 {
        assert_eq!(u16_at(at + 8), 0, "stored entries");
        let (crc, size) = (u32_at(at + 14), u32_at(at + 18) as usize);
        let (name_len, extra) = (u16_at(at + 26), u16_at(at + 28));
        let name = String::from_utf8(bytes[at + 30..at + 30 + name_len].to_vec()).unwrap();
        let start = at + 30 + name_len + extra;
        let data = bytes[start..start + size].to_vec();
        let mut c = !0u32;
        for &b in &data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        assert_eq!(!c, crc, "{name}: CRC");
        out.push((name, data));
        at = start + size;
    }
    assert_eq!(
        u32_at(at),
        0x0201_4b50,
        "central directory follows the entries"
    );
    out
}

#[test]
fn npz_output_holds_the_json_scores_in_the_input_shape() {
    let dir = tempfile::tempdir().unwrap();
    let name = "cnn6_2ch_overlap_maxpool";
    let (model, data, _) = graph_paths(name);
    let out = dir.path().join("s.npz");
    let common = [
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--precision",
        "f64",
        "--c",
        "0.5",
    ];
    let json = explain(&common);
    let status = conflux()
        .args(["explain", "--quiet"])
        .args(common)
        .args(["--format", "npz", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(status.status.success());
    let entries = unzip(&std::fs::read(&out).unwrap());
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "scores.npy",
            "feat_pos.npy",
            "feat_neg.npy",
            "bias_pos.npy",
            "bias_neg.npy",
            "output.npy",
            "baseline_output.npy",
            "row.npy",
            "target.npy"
        ]
    );
    let rows = json["rows"].as_array().unwrap();
    for (n, bytes) in &entries {
        let p = dir.path().join(n);
        std::fs::write(&p, bytes).unwrap();
        // The (entries, C, H, W) arrays; the 1-D ones are checked through their bytes below.
        if n.starts_with("scores") || n.starts_with("feat") {
            let mut r =
                conflux_core::data::npy::NpyReader::open(&p).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(r.shape, vec![20, 2, 6, 6], "{n}");
            let mut v = Vec::new();
            r.read_rows(20, &mut v).unwrap();
            let key = n.trim_end_matches(".npy");
            let want: Vec<f64> = rows.iter().flat_map(|row| floats(&row[key])).collect();
            assert_eq!(v, want, "{n}");
        }
    }
    let row_npy = &entries.iter().find(|(n, _)| n == "row.npy").unwrap().1;
    assert!(String::from_utf8_lossy(&row_npy[..80]).contains("'<i8'"));
    // bias_pos: 20 little-endian f64 after the 64-byte-aligned header, as in the JSON.
    let bias = &entries.iter().find(|(n, _)| n == "bias_pos.npy").unwrap().1;
    let got: Vec<f64> = bias[bias.len() - 160..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let want: Vec<f64> = rows
        .iter()
        .map(|r| r["bias_pos"].as_f64().unwrap())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn input_shape_fills_symbolic_dimensions() {
    use conflux_testkit::onnx::{Attr, OnnxBuilder};
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("fcn.onnx");
    let bytes = OnnxBuilder::shaped(&[Some(1), None, None], 17)
        .init(
            "W",
            &[2, 1, 3, 3],
            &[
                0.1, -0.2, 0.3, 0.1, 0.5, -0.1, 0.2, 0.1, -0.3, 0.2, 0.1, 0.0, -0.1, 0.4, 0.2, 0.1,
                0.0, 0.3,
            ],
        )
        .node(
            "Conv",
            &["x", "W"],
            &["c"],
            &[("pads", Attr::Ints(vec![1, 1, 1, 1]))],
        )
        .node("Relu", &["c"], &["r"], &[])
        .node("GlobalAveragePool", &["r"], &["g"], &[])
        .node("Flatten", &["g"], &["y"], &[])
        .build("y");
    std::fs::write(&model, bytes).unwrap();
    let m = model.to_str().unwrap();
    let out = conflux().args(["inspect", "--model", m]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected static positive dimensions"));
    let out = conflux()
        .args(["inspect", "--model", m, "--input-shape", "1,4,5"])
        .output()
        .unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("input shape (N, 1, 4, 5)"));
    // The CSV rows are 20 pixels; CAFE is complete on them.
    let data = dir.path().join("x.csv");
    let header: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let row: Vec<String> = (0..20)
        .map(|i| format!("{}", (i % 7) as f64 / 7.0))
        .collect();
    std::fs::write(&data, format!("{}\n{}\n", header.join(","), row.join(","))).unwrap();
    let v = explain(&[
        "--model",
        m,
        "--input-shape",
        "1,4,5",
        "--data",
        data.to_str().unwrap(),
        "--precision",
        "f64",
        "--target",
        "all",
    ]);
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    assert_complete("fcn", &v, 1e-8);
    // A shape that contradicts a static dimension is refused.
    let out = conflux()
        .args(["inspect", "--model", m, "--input-shape", "3,4,5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("contradicts the graph input"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// DeepLIFT, RevealCancel and LRP on every graph network through `explain` (f64, the
/// non-zero reference): DeepLIFT complete with the frozen-gate baseline where LayerNorm is
/// present, RevealCancel complete or refused with the op named, LRP scores for every row.
#[test]
fn propagation_baselines_explain_graphs() {
    let mut refused = Vec::new();
    for name in NETWORKS {
        let (model, data, reference) = graph_paths(name);
        let args = |method: &'static str| {
            [
                "--model".to_string(),
                model.display().to_string(),
                "--data".into(),
                data.display().to_string(),
                "--reference".into(),
                reference.display().to_string(),
                "--precision".into(),
                "f64".into(),
                "--method".into(),
                method.into(),
            ]
        };
        for method in ["deeplift", "deeplift-reveal-cancel"] {
            let out = conflux()
                .args(["explain", "--quiet"])
                .args(args(method))
                .output()
                .unwrap();
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(method, "deeplift-reveal-cancel", "{name}: {err}");
                assert!(err.contains("(op MaxPool)") || err.contains("(op LayerNormalization)"));
                refused.push(name);
                continue;
            }
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let kind = if method == "deeplift" && name.contains("layernorm") {
                "reference_frozen_gates"
            } else {
                "reference"
            };
            assert_eq!(v["baseline_kind"], kind, "{name} {method}");
            let rows = v["rows"].as_array().unwrap();
            assert_eq!(rows.len(), 20, "{name} {method}");
            for row in rows {
                let (out, base) = (
                    row["output"].as_f64().unwrap(),
                    row["baseline_output"].as_f64().unwrap(),
                );
                let sum: f64 = floats(&row["scores"]).iter().sum();
                assert!(
                    (sum - (out - base)).abs() <= 1e-8 * (1.0 + out.abs() + base.abs()),
                    "{name} {method}: {sum} vs {out} − {base}"
                );
            }
        }
        let v = explain(&args("lrp").each_ref().map(String::as_str));
        let rows = v["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 20, "{name} lrp");
        assert!(
            rows.iter()
                .all(|r| floats(&r["scores"]).iter().all(|s| s.is_finite())),
            "{name} lrp"
        );
    }
    assert_eq!(
        refused,
        [
            "cnn10_relu_maxpool_avgpool",
            "cnn6_2ch_overlap_maxpool",
            "mlp8_layernorm"
        ]
    );
}

/// `--groups patch:KxK`: Kernel SHAP on a CNN gives every pixel of a patch the patch's
/// score (whatever the channel); a malformed size or a tabular model is a clear error.
#[test]
fn patch_groups_through_the_cli() {
    let root = conflux_testkit::repo_root();
    let name = "cnn6_2ch_overlap_maxpool";
    let (model, data, _) = graph_paths(name);
    let (m, d) = (model.to_str().unwrap(), data.to_str().unwrap());
    let v = explain(&[
        "--model",
        m,
        "--data",
        d,
        "--method",
        "kernel-shap:exact=true",
        "--groups",
        "patch:4x4",
        "--precision",
        "f64",
    ]);
    // [2, 6, 6] in 4×4 patches: the top-left patch is rows 0–3, columns 0–3 of both channels.
    let top_left: Vec<usize> = (0..2)
        .flat_map(|c| (0..4).flat_map(move |y| (0..4).map(move |x| c * 36 + y * 6 + x)))
        .collect();
    let mut distinct = 0;
    for row in v["rows"].as_array().unwrap() {
        let s = floats(&row["scores"]);
        assert!(top_left.iter().all(|&f| s[f] == s[0]), "{s:?}");
        // Rows 4–5 × columns 4–5 (the corner patch) form their own group.
        assert_eq!(s[4 * 6 + 4], s[36 + 5 * 6 + 5]);
        assert!(s.iter().all(|v| v.is_finite()));
        if s[0] != s[4 * 6 + 4] {
            distinct += 1;
        }
    }
    assert!(distinct > 0, "every row gave two patches the same score");
    // A tabular model has no patches.
    let tab = conflux_testkit::golden::graph_models().join("mlp7_residual.onnx");
    let tab_data = root.join("tests/golden/graph/mlp7_residual.rows.csv");
    let out = conflux()
        .args(["explain", "--quiet", "--model", tab.to_str().unwrap()])
        .args([
            "--data",
            tab_data.to_str().unwrap(),
            "--method",
            "kernel-shap",
        ])
        .args(["--groups", "patch:2x2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--groups") && err.contains("an image [C, H, W]"),
        "{err}"
    );
    for (groups, want) in [
        ("patch:0x4", "expected patch:KxK"),
        ("patch:4", "expected patch:KxK"),
    ] {
        let out = conflux()
            .args(["explain", "--quiet", "--model", m, "--data", d])
            .args(["--method", "kernel-shap", "--groups", groups])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{groups}: {err}");
    }
}

/// `bench methods` on an image model: every method is timed, sampling methods on patches;
/// the one that has no rule for max pooling (RevealCancel) is listed with the reason
/// instead of ending the run, unless it was asked for by name.
#[test]
fn bench_methods_on_an_image_model() {
    let name = "cnn6_2ch_overlap_maxpool";
    let (model, data, _) = graph_paths(name);
    let (m, d) = (model.to_str().unwrap(), data.to_str().unwrap());
    let out = conflux()
        .args(["bench", "methods", "--model", m, "--data", d, "--rows", "4"])
        .args(["--groups", "patch:3x3", "--threads", "1"])
        .output()
        .unwrap();
    ok(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("72 features (sampling methods: 4 groups)"),
        "{table}"
    );
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| method"))
        .collect();
    assert_eq!(
        rows.len(),
        conflux_methods::spec::KNOWN_METHODS.len(),
        "{table}"
    );
    for row in &rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if cells[1] == "deeplift-reveal-cancel" {
            assert!(cells[2].contains("(op MaxPool)"), "{row}");
        } else {
            assert!(cells[2].parse::<f64>().is_ok_and(|r| r > 0.0), "{row}");
        }
    }
    let out = conflux()
        .args(["bench", "methods", "--model", m, "--data", d, "--rows", "4"])
        .args(["--method", "deeplift-reveal-cancel"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("(op MaxPool)"));
}

/// `--reference-mode average`: every data row against every row of the reference file, the
/// results averaged (a background distribution); equal to the mean of one-row runs, complete
/// for the mean; the header says what was averaged. Misuse is a clear error.
#[test]
fn reference_mode_average_is_the_mean_of_shared_runs() {
    let name = "cnn6_batchnorm";
    let (model, data, _) = graph_paths(name);
    let text = std::fs::read_to_string(&data).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    // Background: data rows 5..9 (five rows).
    let bg = dir.path().join("bg.csv");
    std::fs::write(&bg, format!("{}\n{}\n", lines[0], lines[6..11].join("\n"))).unwrap();
    let (m, d) = (model.to_str().unwrap(), data.to_str().unwrap());
    for method in ["cafe", "deeplift", "kernel-shap:n=64"] {
        let run = |reference: &std::path::Path, mode: &str| {
            explain(&[
                "--model",
                m,
                "--data",
                d,
                "--precision",
                "f64",
                "--method",
                method,
                "--groups",
                "patch:3x3",
                "--reference",
                reference.to_str().unwrap(),
                "--reference-mode",
                mode,
            ])
        };
        let avg = run(&bg, "average");
        assert_eq!(avg["reference"], "average of 5 rows", "{method}");
        // The CSV carries the same means in its baseline_output and completeness_gap columns.
        let csv = conflux()
            .args([
                "explain",
                "--quiet",
                "--model",
                m,
                "--data",
                d,
                "--precision",
                "f64",
            ])
            .args([
                "--method",
                method,
                "--groups",
                "patch:3x3",
                "--format",
                "csv",
            ])
            .args([
                "--reference",
                bg.to_str().unwrap(),
                "--reference-mode",
                "average",
            ])
            .output()
            .unwrap();
        assert!(
            csv.status.success(),
            "{}",
            String::from_utf8_lossy(&csv.stderr)
        );
        let csv = String::from_utf8(csv.stdout).unwrap();
        let mut csv_lines = csv.lines();
        let header: Vec<&str> = csv_lines.next().unwrap().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (base_col, gap_col) = (col("baseline_output"), col("completeness_gap"));
        for (line, row) in csv_lines.zip(avg["rows"].as_array().unwrap()) {
            let cells: Vec<&str> = line.split(',').collect();
            for (c, field) in [(base_col, "baseline_output"), (gap_col, "completeness_gap")] {
                match row[field].as_f64() {
                    Some(v) => assert_eq!(cells[c].parse::<f64>().unwrap(), v, "{method} {field}"),
                    None => assert_eq!(cells[c], "", "{method} {field}"),
                }
            }
        }
        let singles: Vec<Value> = (6..11)
            .map(|i| {
                let one = dir.path().join(format!("r{i}.csv"));
                std::fs::write(&one, format!("{}\n{}\n", lines[0], lines[i])).unwrap();
                run(&one, "shared")
            })
            .collect();
        let rows = avg["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 20);
        for (e, row) in rows.iter().enumerate() {
            let mut fields = vec!["scores"];
            if method == "cafe" {
                fields.extend(["feat_pos", "feat_neg"]);
            }
            for field in fields {
                let got = floats(&row[field]);
                let mut want = vec![0.0; got.len()];
                for s in &singles {
                    for (w, v) in want.iter_mut().zip(floats(&s["rows"][e][field])) {
                        *w += v / 5.0;
                    }
                }
                assert_close(
                    &format!("{method} row {e} {field}"),
                    &got,
                    &want,
                    1e-9,
                    1e-12,
                );
            }
            if method != "kernel-shap:n=64" {
                let base: f64 = singles
                    .iter()
                    .map(|s| s["rows"][e]["baseline_output"].as_f64().unwrap() / 5.0)
                    .sum();
                let got = row["baseline_output"].as_f64().unwrap();
                assert!(
                    (got - base).abs() < 1e-9,
                    "{method} row {e}: {got} vs {base}"
                );
                let gap = row["completeness_gap"].as_f64().unwrap();
                assert!(gap.abs() < 1e-8, "{method} row {e}: mean gap {gap}");
            }
        }
    }
    for (args, want) in [
        (
            vec!["--reference-mode", "average"],
            "needs --reference FILE",
        ),
        (
            vec![
                "--reference",
                bg.to_str().unwrap(),
                "--reference-mode",
                "shared",
            ],
            "exactly one row",
        ),
        (
            vec![
                "--reference",
                bg.to_str().unwrap(),
                "--reference-mode",
                "average",
                "--method",
                "saliency",
            ],
            "does not use a reference",
        ),
    ] {
        let out = conflux()
            .args(["explain", "--quiet", "--model", m, "--data", d])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
