//! `conflux report`: the HTML file is self-contained (no network reference), escapes what
//! the files name, and draws one shape per datum (counts checked against the data). The
//! rendering in a browser is checked separately (headless Chromium).

mod common;

use std::path::{Path, PathBuf};

use common::{conflux, write};

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
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
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
        err.contains("data row 1") && err.contains("not a finite number"),
        "{err}"
    );
    assert!(!dir.path().join("big.html").exists());
}
