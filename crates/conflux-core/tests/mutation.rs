//! Deterministic mutation test of every loader (the CI-sized companion of the fuzzers in
//! `fuzz/`): every bundled model and CSV is damaged by byte and bit flips, truncations,
//! insertions of random bytes and of tokens that tend to break parsers (huge and negative
//! numbers, quotes, brackets, separators), and slice duplications. Each damaged file must
//! give a clean error or a valid result — a model that validates and computes outputs of the
//! right shape, a table of the right width — and never a panic.
//!
//! `CONFLUX_EXTENDED=1` runs ten times as many cases.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use conflux_core::data::csv::{CsvFile, CsvOptions};
use conflux_core::io::load_any_with;
use conflux_core::rng::Rng;
use conflux_testkit::fixtures::{SMALL_LIMITS as LIMITS, run_model};

const TOKENS: &[&[u8]] = &[
    b"-1",
    b"0",
    b"1e400",
    b"-1e400",
    b"NaN",
    b"inf",
    b"18446744073709551615",
    b"9223372036854775807",
    b"4294967296",
    b"\"",
    b"\"\"",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"\n",
    b"\r",
    b":",
    b"null",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"\xff\xfe",
    b"\0",
];

/// The `k`-th mutation of `base`, and its description.
fn mutate(base: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut b = base.to_vec();
    let len = b.len().max(1);
    let at = rng.below(len);
    let what = match rng.below(7) {
        0 if !b.is_empty() => {
            let v = rng.below(256) as u8;
            let i = at.min(b.len() - 1);
            b[i] = v;
            format!("byte {at} := {v}")
        }
        1 if !b.is_empty() => {
            let bit = rng.below(8);
            let i = at.min(b.len() - 1);
            b[i] ^= 1 << bit;
            format!("bit {bit} of byte {at} flipped")
        }
        2 => {
            b.truncate(at);
            format!("truncated to {at} bytes")
        }
        3 => {
            let n = 1 + rng.below(16);
            let ins: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
            b.splice(at.min(b.len())..at.min(b.len()), ins);
            format!("{n} random bytes inserted at {at}")
        }
        4 | 5 => {
            let t = TOKENS[rng.below(TOKENS.len())];
            let end = (at + rng.below(8)).min(b.len());
            b.splice(at.min(b.len())..end, t.iter().copied());
            format!("{:?} over bytes {at}..{end}", String::from_utf8_lossy(t))
        }
        _ => {
            let from = rng.below(len);
            let n = rng.below(64).min(b.len().saturating_sub(from));
            let slice = b[from.min(b.len())..from.min(b.len()) + n].to_vec();
            b.splice(at.min(b.len())..at.min(b.len()), slice);
            format!("{n} bytes from {from} repeated at {at}")
        }
    };
    (b, what)
}

/// Loads a model file and, when it loads, runs it: must not panic. Returns whether it
/// loaded.
fn exercise_model(path: &Path) -> bool {
    match load_any_with(path, None, &LIMITS) {
        Ok(loaded) => {
            run_model(&loaded.model);
            true
        }
        Err(_) => false,
    }
}

/// Reads a CSV as a model's data (every column but the last, which is the label).
fn exercise_csv(bytes: Vec<u8>) -> bool {
    let opts = CsvOptions::with_limits(&LIMITS);
    let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let Ok(file) = CsvFile::from_reader(Path::new("m.csv"), Box::new(leaked), 0, &opts) else {
        return false;
    };
    let header = file.header().to_vec();
    let label = header.last().cloned();
    let d = header.len().saturating_sub(1).max(1);
    let Ok(mut src) = file.select(label.as_deref(), true, d, None) else {
        return false;
    };
    match src.read_all() {
        Ok((x, y)) => {
            assert_eq!(x.len(), d * y.len(), "table width");
            true
        }
        Err(_) => false,
    }
}

#[test]
fn damaged_files_give_clean_errors_or_valid_results() {
    let per_file = if std::env::var_os("CONFLUX_EXTENDED").is_some() {
        3000
    } else {
        300
    };
    let seeds = conflux_testkit::fixtures::seed_files(40);
    let dir = tempfile::tempdir().unwrap();
    let arch = seeds
        .iter()
        .find(|(n, _)| n == "adult_mlp.arch.json")
        .map(|(_, b)| b.clone())
        .unwrap();
    let weights = seeds
        .iter()
        .find(|(n, _)| n == "adult_mlp.safetensors")
        .map(|(_, b)| b.clone())
        .unwrap();
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut valid = 0;
    for (f, (name, base)) in seeds.iter().enumerate() {
        // The undamaged file itself must load (or, for CSVs, read).
        for k in 0..=per_file {
            let mut rng = Rng::for_row(0x5eed_0008 + f as u64, k);
            let (bytes, what) = if k == 0 {
                (base.clone(), "unchanged".to_string())
            } else {
                mutate(base, &mut rng)
            };
            cases += 1;
            let result = catch_unwind(AssertUnwindSafe(|| {
                if name.ends_with(".csv") {
                    let read = exercise_csv(bytes);
                    assert!(read || k > 0, "the undamaged {name} reads");
                    return read;
                }
                // A safetensors file is loaded with its sidecar: one of them is damaged.
                let (file, side) = match name.as_str() {
                    "adult_mlp.safetensors" => ("m.safetensors", Some(arch.clone())),
                    "adult_mlp.arch.json" => {
                        std::fs::write(dir.path().join("m.safetensors"), &weights).unwrap();
                        ("m.arch.json", None)
                    }
                    n if n.ends_with(".onnx") => ("m.onnx", None),
                    _ => ("m.json", None),
                };
                std::fs::write(dir.path().join(file), &bytes).unwrap();
                if let Some(side) = side {
                    std::fs::write(dir.path().join("m.arch.json"), side).unwrap();
                }
                let model = if file == "m.arch.json" {
                    "m.safetensors"
                } else {
                    file
                };
                if k == 0 {
                    load_any_with(&dir.path().join(model), None, &LIMITS)
                        .unwrap_or_else(|e| panic!("the undamaged {name} loads: {e}"));
                }
                exercise_model(&dir.path().join(model))
            }));
            match result {
                Ok(true) => valid += 1,
                Ok(false) => {}
                Err(_) => failures.push(format!("{name}: {what} (case {k})")),
            }
        }
    }
    // 12 MLP and 13 graph ONNX exports, a format-2 graph JSON, the demo model, 2 AMEs,
    // safetensors + sidecar, 6 CSVs.
    assert!(seeds.len() >= 33, "{} seed files", seeds.len());
    assert_eq!(cases, seeds.len() * (per_file + 1));
    // Both outcomes are exercised: many damaged files still load (flipped weights, digits).
    assert!(
        valid > seeds.len() && valid < cases,
        "{valid} of {cases} loaded"
    );
    eprintln!("{cases} damaged files: {valid} loaded and ran, the rest were refused cleanly");
    assert!(
        failures.is_empty(),
        "{} of {cases} damaged files panicked:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
