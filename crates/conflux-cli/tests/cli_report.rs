//! `conflux report`: the HTML file is self-contained (no network reference), escapes what
//! the files name, and draws one shape per datum (counts checked against the data). The
//! rendering in a browser is checked separately (headless Chromium).

mod common;

use std::path::{Path, PathBuf};

use common::{conflux, ok, write};

fn demo() -> (PathBuf, PathBuf) {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    (
        assets.join("adult_mlp.json"),
        assets.join("adult_sample.csv"),
    )
}

fn report(dir: &Path, model: &Path, data: &Path, extra: &[&str]) -> String {
    let out = dir.join("report.html");
    let run = conflux()
        .args(["report", "--quiet", "--label", "income", "--rows", "50"])
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    ok(&run);
    std::fs::read_to_string(out).unwrap()
}

/// The JSON data block the page's script draws from.
fn data_block(html: &str) -> serde_json::Value {
    let start = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[test]
fn demo_report_has_every_section_and_one_shape_per_datum() {
    let dir = tempfile::tempdir().unwrap();
    let (model, data) = demo();
    let html = report(
        dir.path(),
        &model,
        &data,
        &["--method", "cafe", "--method", "deeplift"],
    );
    for id in ["overview", "importance", "beeswarm", "rows", "conflicts"] {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    // 13 features: CAFE draws S+ and S− per feature, DeepLIFT one bar each.
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 13 * 2 + 13);
    // The beeswarm: 300 rows (all sampled, fewer than its 400) × the 12 top features.
    assert_eq!(html.matches("<circle class=\"dot\"").count(), 300 * 12);
    let d = data_block(&html);
    assert_eq!(d["rows"].as_array().unwrap().len(), 50);
    assert_eq!(d["methods"].as_array().unwrap().len(), 2);
    let cafe = &d["methods"][0]["rows"][3];
    // CAFE's completeness, in the data the waterfall draws: baseline + Σ scores + biases.
    let sum: f64 = cafe["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    let total = cafe["baseline"].as_f64().unwrap() + sum + cafe["bias"].as_f64().unwrap();
    assert!((total - cafe["output"].as_f64().unwrap()).abs() < 1e-9);
    assert!(
        html.contains("id=\"method-pick\""),
        "a method picker for two methods"
    );
}

#[test]
fn the_page_makes_no_network_request() {
    let dir = tempfile::tempdir().unwrap();
    let (model, data) = demo();
    let html = report(dir.path(), &model, &data, &[]);
    let lower = html.to_lowercase();
    for bad in [
        "http://", "https://", "src=", "href=", "url(", "@import", "//cdn",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad}");
    }
    assert!(lower.contains("content-security-policy") && lower.contains("default-src 'none'"));
}

#[test]
fn names_from_the_files_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "</script><img src=x onerror=alert(1)>";
    let model = write(
        dir.path(),
        "m.json",
        format!(
            r#"{{"format": "conflux-model", "format_version": 1, "input_dim": 2, "feature_names": ["{}", "b"], "layers": [
                {{"type": "linear", "weight": [[1.0, -2.0], [0.5, 1.0]], "bias": [0.1, -0.2]}},
                {{"type": "relu"}},
                {{"type": "linear", "weight": [[1.0, 1.0]], "bias": [0.0]}}]}}"#,
            evil.replace('"', "\\\"")
        ),
    );
    let data = write(
        dir.path(),
        "x.csv",
        format!("\"{evil}\",b,income\n1,2,0\n3,-1,1\n"),
    );
    let html = report(dir.path(), &model, &data, &[]);
    assert!(!html.contains(evil), "the raw name reached the page");
    assert!(!html.contains("<img"), "an element was injected");
    assert!(html.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert_eq!(
        html.matches("</script>").count(),
        2,
        "only the page's own two scripts close"
    );
    assert_eq!(data_block(&html)["features"][0], evil);
}

#[test]
fn bad_requests_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (model, data) = demo();
    for (extra, want) in [
        (vec!["--target", "all"], "--target all"),
        (
            vec!["--c", "0.5", "--method", "deeplift"],
            "no --method is cafe",
        ),
        (vec!["--method", "nope"], "unknown method"),
    ] {
        let out = conflux()
            .args(["report", "--quiet", "--label", "income"])
            .arg("--model")
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(dir.path().join("r.html"))
            .args(&extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: {err}");
        assert!(
            !dir.path().join("r.html").exists(),
            "{extra:?}: no file left behind"
        );
    }
}

/// Wide data (784 features, 3 000 rows) keeps the file small: per-row views hold fewer rows
/// than --rows asks for (the page says so), dataset views still use every row.
#[test]
fn wide_data_stays_under_five_megabytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = 784;
    let w1: Vec<String> = (0..2)
        .map(|j| {
            let row: Vec<String> = (0..d)
                .map(|i| format!("{}", ((i * 7 + j * 3) % 11) as f64 / 50.0 - 0.1))
                .collect();
            format!("[{}]", row.join(","))
        })
        .collect();
    let model = write(
        dir.path(),
        "wide.json",
        format!(
            r#"{{"format": "conflux-model", "format_version": 1, "input_dim": {d}, "layers": [
                {{"type": "linear", "weight": [{}], "bias": [0.1, -0.2]}}, {{"type": "relu"}},
                {{"type": "linear", "weight": [[1.0, -1.0]], "bias": [0.0]}}]}}"#,
            w1.join(",")
        ),
    );
    let mut csv = (0..d)
        .map(|i| format!("p{i}"))
        .collect::<Vec<_>>()
        .join(",")
        + ",income\n";
    for r in 0..3000 {
        let row: Vec<String> = (0..d)
            .map(|i| ((r * 31 + i * 17) % 16).to_string())
            .collect();
        csv.push_str(&row.join(","));
        csv.push_str(&format!(",{}\n", r % 2));
    }
    let data = write(dir.path(), "wide.csv", csv);
    // `report` asks for 50 rows of per-row views; 784 × 4 numbers each fit 47 times.
    let html = report(dir.path(), &model, &data, &[]);
    assert!(html.len() < 5 << 20, "{} bytes", html.len());
    let block = data_block(&html);
    let kept = block["rows"].as_array().unwrap().len();
    assert_eq!(kept, 150_000 / (d * 4));
    assert!(html.contains("--rows 50 was lowered"));
    assert!(html.contains("3000 rows × 784 features"));
    // 3 000 rows: the beeswarm draws its seeded sample of 400 rows × the 12 top features,
    // the same sample for the same seed and another for another seed.
    assert_eq!(html.matches("<circle class=\"dot\"").count(), 400 * 12);
    let swarm = |h: &str| {
        let start = h.find("<section id=\"beeswarm\">").unwrap();
        h[start..start + h[start..].find("</section>").unwrap()].to_string()
    };
    let again = report(dir.path(), &model, &data, &[]);
    assert_eq!(swarm(&again), swarm(&html));
    let other = report(dir.path(), &model, &data, &["--seed", "9"]);
    assert_ne!(swarm(&other), swarm(&html));
}

/// A megabyte-long header name is shown shortened everywhere, and a network that overflows
/// on a row is a clear error that leaves no file.
#[test]
fn long_names_are_shortened_and_overflow_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let long = "n".repeat(1 << 20);
    let model = write(
        dir.path(),
        "m.json",
        r#"{"format": "conflux-model", "format_version": 1, "input_dim": 2, "layers": [
            {"type": "linear", "weight": [[1.0, -2.0], [0.5, 1.0]], "bias": [0.1, -0.2]},
            {"type": "relu"}, {"type": "linear", "weight": [[1.0, 1.0]], "bias": [0.0]}]}"#,
    );
    let data = write(
        dir.path(),
        "x.csv",
        format!("{long},b,income\n1,2,0\n3,-1,1\n"),
    );
    let html = report(dir.path(), &model, &data, &[]);
    assert!(html.len() < 200_000, "{} bytes", html.len());
    assert!(html.contains(&format!("{}…", "n".repeat(80))));
    let big = write(dir.path(), "big.csv", "a,b,income\n1,2,0\n1e308,-1e308,1\n");
    let out = conflux()
        .args(["report", "--quiet", "--label", "income"])
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&big)
        .arg("--out")
        .arg(dir.path().join("big.html"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("data row 2") && err.contains("not a finite number"),
        "{err}"
    );
    assert!(!dir.path().join("big.html").exists());
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn run_ok(cmd: &mut assert_cmd::Command) -> String {
    ok(&cmd.output().unwrap())
}

/// `conflux report --quiet ARGS --model M --data D --out OUT`.
fn report_command(model: &Path, data: &Path, out: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut c = conflux();
    c.args(["report", "--quiet"])
        .args(args)
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out);
    c
}

/// [`report_command`], which must succeed; the page.
fn render(model: &Path, data: &Path, out: &Path, args: &[&str]) -> String {
    run_ok(&mut report_command(model, data, out, args));
    std::fs::read_to_string(out).unwrap()
}

/// [`report_command`], which must fail with exit status 1 and leave no `out`; its stderr.
fn refused(model: &Path, data: &Path, out: &Path, args: &[&str]) -> String {
    let run = report_command(model, data, out, args).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(!out.exists(), "no file left behind");
    String::from_utf8_lossy(&run.stderr).into_owned()
}

/// An image model (a 1×10×10 CNN): the data block carries the image shape and the dataset
/// maps the script draws, and `--metric` adds the metric table with `evaluate`'s numbers.
#[test]
fn image_model_report_has_maps_and_the_metric_table() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo("tests/models/graph/cnn10_relu_maxpool_avgpool.onnx");
    let data = repo("tests/golden/graph/cnn10_relu_maxpool_avgpool.rows.csv");
    let out = dir.path().join("cnn.html");
    let methods = ["--method", "cafe", "--method", "deeplift"];
    let metrics = ["--metric", "infidelity", "--metric", "completeness"];
    let html = render(&model, &data, &out, &[&methods[..], &metrics[..]].concat());
    for id in ["images", "comparison", "rows"] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    let d = data_block(&html);
    assert_eq!(d["image"]["channels"], 1);
    assert_eq!(d["image"]["height"], 10);
    assert_eq!(d["image"]["width"], 10);
    let cafe = &d["methods"][0];
    for k in ["abs", "pos", "neg"] {
        assert_eq!(cafe["global"][k].as_array().unwrap().len(), 100, "{k}");
    }
    assert!(
        d["methods"][1]["global"]["pos"].is_null(),
        "DeepLIFT has no split"
    );
    // The mean |S+ − S−| map is the mean of the per-row |scores| (all 20 rows are kept).
    let rows = cafe["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 20);
    for f in [0, 33, 99] {
        let mean = rows
            .iter()
            .map(|r| r["scores"][f].as_f64().unwrap().abs())
            .sum::<f64>()
            / 20.0;
        assert!((mean - cafe["global"]["abs"][f].as_f64().unwrap()).abs() < 1e-12);
    }
    // The metric table holds what `evaluate` prints for the same rows.
    let eval: serde_json::Value = serde_json::from_str(&run_ok(
        conflux()
            .args([
                "evaluate", "--quiet", "--format", "json", "--out", "-", "--model",
            ])
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .args(methods)
            .args(metrics),
    ))
    .unwrap();
    let table_start = html.find("<table id=\"metrics\"").unwrap();
    let table = &html[table_start..table_start + html[table_start..].find("</table>").unwrap()];
    for m in eval["methods"].as_array().unwrap() {
        let label = m["method"].as_str().unwrap();
        let row_start = table.find(&format!("<td>{label}</td>")).expect(label);
        let row = &table[row_start..row_start + table[row_start..].find("</tr>").unwrap()];
        let want = m["infidelity"]["mean"].as_f64().unwrap();
        let got: f64 = row
            .split("data-v=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (got - want).abs() <= 1e-12 * want.abs(),
            "{label}: {got} vs {want}"
        );
    }
}

/// An AME with an image stem: attention per group per row, per predicted class, and with
/// --label the MGE and Granger r² that `conflux evaluate` prints.
#[test]
fn ame_report_shows_attention_and_evaluate_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo("tests/data/digits/digits_8x8.csv");
    let model = dir.path().join("digits.ame.json");
    run_ok(
        conflux()
            .args([
                "train",
                "ame",
                "--quiet",
                "--label",
                "label",
                "--task",
                "multiclass",
            ])
            .args(["--image", "8x8", "--epochs", "2", "--seed", "1", "--data"])
            .arg(&data)
            .arg("--out")
            .arg(&model),
    );
    let out = dir.path().join("ame.html");
    let html = render(&model, &data, &out, &["--label", "label", "--rows", "30"]);
    for id in ["overview", "importance", "beeswarm", "rows", "images"] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert!(html.contains("<table id=\"ame-quality\">"));
    let d = data_block(&html);
    assert_eq!(d["kind"], "ame");
    let groups = d["groups"].as_array().unwrap().len();
    assert_eq!(
        groups, 4,
        "an 8×8 image with two 2×2 convolutions: 2×2 cells"
    );
    assert_eq!(html.matches("<rect class=\"bar\"").count(), groups);
    // 1 797 rows: the beeswarm draws its 400-row sample × every group.
    assert_eq!(html.matches("<circle class=\"dot\"").count(), 400 * groups);
    assert_eq!(d["group_of"].as_array().unwrap().len(), 64);
    let rows = d["methods"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 30);
    for r in rows {
        let a: f64 = r["importance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((a - 1.0).abs() < 1e-9, "attention sums to 1");
        assert_eq!(r["granger"].as_array().unwrap().len(), groups);
    }
    let eval: serde_json::Value = serde_json::from_str(&run_ok(
        conflux()
            .args([
                "evaluate", "--quiet", "--label", "label", "--format", "json", "--out", "-",
            ])
            .arg("--model")
            .arg(&model)
            .arg("--data")
            .arg(&data),
    ))
    .unwrap();
    let e = &d["evaluation"];
    assert_eq!(e["rows"], 1797);
    for (got, want) in [
        (&e["mge"], &eval["mge"]),
        (&e["granger_r2"], &eval["granger_r2"]),
        (&e["quality"]["accuracy"], &eval["quality"]["accuracy"]),
    ] {
        let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
        assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{g} vs {w}");
    }
    // Network options are refused for an AME, naming the flag.
    let err = refused(
        &model,
        &data,
        &dir.path().join("bad.html"),
        &["--method", "cafe"],
    );
    assert!(err.contains("--method: an AME's report"), "{err}");
}

/// A 3×130×130 image model (50 700 inputs): per-row views and maps hold cells of 3 × 3
/// pixels (44 × 44), the file stays under 5 MB, and CAFE's completeness holds per cell.
#[test]
fn large_images_are_shown_in_cells_within_the_size_bound() {
    let dir = tempfile::tempdir().unwrap();
    let weight: Vec<String> = (0..54)
        .map(|i| format!("{}", ((i * 7) % 11) as f64 / 5.0 - 1.0))
        .collect();
    let model = write(
        dir.path(),
        "big.json",
        format!(
            r#"{{"format": "conflux-model", "format_version": 2, "input_shape": [3, 130, 130], "nodes": [
  {{"name": "conv", "op": "conv", "inputs": [{{"from": "input", "shape": [3, 130, 130]}}], "kernel_dims": [2, 3, 3, 3],
    "weight": [{}], "bias": [0.1, -0.1], "strides": [1, 1], "dilations": [1, 1], "pads": [1, 1, 1, 1]}},
  {{"name": "act", "op": "relu", "inputs": [{{"from": "conv", "shape": [2, 130, 130]}}]}},
  {{"name": "gap", "op": "mean", "inputs": [{{"from": "act", "shape": [2, 130, 130]}}]}},
  {{"name": "fc", "op": "linear", "inputs": [{{"from": "gap", "shape": [2]}}], "weight": [[1.0, -1.0]], "bias": [0.0]}}],
 "output": {{"from": "fc", "shape": [1]}}}}"#,
            weight.join(", ")
        ),
    );
    let d = 3 * 130 * 130;
    let mut csv = (0..d)
        .map(|i| format!("p{i}"))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for r in 0..10 {
        let row: Vec<String> = (0..d)
            .map(|i| format!("{}", ((i * 31 + r * 17) % 97) as f64 / 97.0))
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let data = write(dir.path(), "big.csv", csv);
    let out = dir.path().join("big.html");
    let html = render(
        &model,
        &data,
        &out,
        &["--method", "cafe", "--method", "deeplift"],
    );
    assert!(html.len() < 5_000_000, "{} bytes", html.len());
    let d = data_block(&html);
    assert_eq!(d["image"]["pixels_per_cell"], 3);
    assert_eq!(
        (d["image"]["height"].as_u64(), d["image"]["width"].as_u64()),
        (Some(44), Some(44))
    );
    assert_eq!(d["features"].as_array().unwrap().len(), 44 * 44);
    let rows = d["rows"].as_array().unwrap();
    assert!(
        !rows.is_empty() && rows.len() < 10,
        "the budget keeps a few rows: {}",
        rows.len()
    );
    assert_eq!(rows[0]["values"].as_array().unwrap().len(), 3 * 44 * 44);
    assert_eq!(
        d["methods"][0]["global"]["pos"].as_array().unwrap().len(),
        44 * 44
    );
    for r in d["methods"][0]["rows"].as_array().unwrap() {
        let scores: f64 = r["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        let total = r["baseline"].as_f64().unwrap() + scores + r["bias"].as_f64().unwrap();
        assert!(
            (total - r["output"].as_f64().unwrap()).abs() < 1e-9,
            "completeness per cell"
        );
    }
    assert!(html.contains("cells of 3 × 3 pixels"));
}

/// A binary AME on tabular data: the page names the predicted class and its probability
/// per row, the per-class columns count every row, and `--metric` is refused for an AME.
#[test]
fn binary_ame_report_per_predicted_class() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("x0,x1,x2,y\n");
    for i in 0..400 {
        let (a, b, c) = (
            ((i * 37) % 101) as f64 / 50.0 - 1.0,
            ((i * 53) % 97) as f64 / 48.0 - 1.0,
            ((i * 11) % 89) as f64 / 44.0 - 1.0,
        );
        csv.push_str(&format!("{a},{b},{c},{}\n", u8::from(a + 0.5 * b > 0.0)));
    }
    let data = write(dir.path(), "d.csv", csv);
    let model = dir.path().join("m.ame.json");
    run_ok(
        conflux()
            .args([
                "train", "ame", "--quiet", "--label", "y", "--task", "binary", "--epochs", "5",
                "--data",
            ])
            .arg(&data)
            .arg("--out")
            .arg(&model),
    );
    let out = dir.path().join("b.html");
    let html = render(&model, &data, &out, &["--label", "y"]);
    assert!(!html.contains("<section id=\"images\">"));
    let d = data_block(&html);
    assert!(d["image"].is_null());
    assert!(d["evaluation"]["quality"]["auc"].as_f64().unwrap() > 0.5);
    for r in d["methods"][0]["rows"].as_array().unwrap() {
        let p = r["output"].as_f64().unwrap();
        assert!(
            (0.5..=1.0).contains(&p),
            "the predicted class's probability: {p}"
        );
        assert!(r["label"] == 0 || r["label"] == 1);
    }
    // "predicted k (n rows)" headers: every row is in one class.
    let counts: usize = html
        .split("<th>predicted ")
        .skip(1)
        .map(|h| {
            h.split(" (")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(counts, 400);
    let err = refused(
        &model,
        &data,
        &dir.path().join("bad.html"),
        &["--metric", "infidelity"],
    );
    assert!(err.contains("--metric: an AME's report"), "{err}");
}
