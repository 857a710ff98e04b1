//! CNNs, residual and LayerNorm networks through `conflux explain` and `inspect`: the graph
//! golden vectors (`tests/golden/graph`) from the ONNX files of `tests/models/graph`, in f64
//! and f32, and every export variant explained with complete scores.

mod common;

use common::conflux;
use conflux_testkit::assert::assert_close;
use conflux_testkit::golden::{GRAPH_NETWORKS as NETWORKS, graph_cafe_model, graph_file};
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
    let root = conflux_testkit::repo_root();
    let dir = tempfile::tempdir().unwrap();
    let (mut exact, mut complete) = (0, 0);
    for name in NETWORKS {
        let g = graph_file(&format!("{name}.json"));
        let model = graph_cafe_model(name);
        let data = root.join(format!("tests/golden/graph/{name}.rows.csv"));
        let d = g["n_features"].as_u64().unwrap() as usize;
        let zeros = dir.path().join("zeros.csv");
        let header: Vec<String> = (0..d).map(|i| format!("f{i}")).collect();
        std::fs::write(
            &zeros,
            format!("{}\n{}\n", header.join(","), vec!["0"; d].join(",")),
        )
        .unwrap();
        let nonzero = root.join(format!("tests/golden/graph/{name}.reference_nonzero.csv"));
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
        let data = root.join(format!("tests/golden/graph/{name}.rows.csv"));
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
    let root = conflux_testkit::repo_root();
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
    let model = root.join(format!("tests/models/graph/{name}.onnx"));
    let csv = root.join(format!("tests/golden/graph/{name}.rows.csv"));
    let ref_csv = root.join(format!("tests/golden/graph/{name}.reference_nonzero.csv"));
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
    let root = conflux_testkit::repo_root();
    let dir = tempfile::tempdir().unwrap();
    let name = "cnn6_2ch_overlap_maxpool";
    let model = root.join(format!("tests/models/graph/{name}.onnx"));
    let data = root.join(format!("tests/golden/graph/{name}.rows.csv"));
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
