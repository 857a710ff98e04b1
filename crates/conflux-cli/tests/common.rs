//! Shared helpers for the CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The `conflux` binary with a clean, deterministic environment.
pub fn conflux() -> Command {
    let mut c = Command::cargo_bin("conflux").expect("binary built");
    c.env("RUST_BACKTRACE", "1");
    c
}

/// Asserts that a finished `conflux` run succeeded (showing its stderr when not); its
/// stdout as text.
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `content` to `dir/name`.
pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write fixture");
    p
}

/// A CSV with header `f0..` and the given rows.
pub fn csv(rows: &[Vec<f64>]) -> String {
    let d = rows[0].len();
    let mut s = (0..d)
        .map(|i| format!("f{i}"))
        .collect::<Vec<_>>()
        .join(",");
    s.push('\n');
    for r in rows {
        s.push_str(
            &r.iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(","),
        );
        s.push('\n');
    }
    s
}

/// Files in `dir` (names), sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs `conflux explain --quiet --model MODEL --data DATA EXTRA…`.
pub fn explain(model: &Path, data: &Path, extra: &[&str]) -> std::process::Output {
    conflux()
        .args(["explain", "--quiet"])
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(data)
        .args(extra)
        .output()
        .expect("conflux runs")
}

/// As [`explain`], asserting success and parsing the JSON document on stdout.
pub fn explain_json(model: &Path, data: &Path, extra: &[&str]) -> serde_json::Value {
    let out = explain(model, data, extra);
    serde_json::from_str(&ok(&out)).expect("JSON on stdout")
}

/// Runs `conflux ARGS… --model MODEL --data DATA` (any subcommand that reads a model and a CSV).
pub fn run_on(args: &[&str], model: &Path, data: &Path) -> std::process::Output {
    conflux()
        .args(args)
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(data)
        .output()
        .expect("conflux runs")
}
