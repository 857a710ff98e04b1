//! The AME experiments: `bench ame-digits` (the 8-vs-3 masking benchmark), `bench ame-alpha`
//! (prediction error, MGE and Granger r² against α) and `bench ame-speed` (rows/s of the
//! AME's own importances against post-hoc explainers).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use conflux_core::ame::AmeTask;
use conflux_core::data::csv::{CsvFile, CsvOptions};
use conflux_core::rng::Rng;
use conflux_core::{Ame, Plan, Predict, Target};
use conflux_methods::spec::MethodSpec;
use conflux_train::ame::stratified_split;
use conflux_train::{AmeConfig, ImageStem, Task, TrainConfig, train_ame, train_mlp};
use ndarray::ArrayView2;

use crate::cli::{AmeAlphaArgs, AmeDigitsArgs, AmeSpeedArgs};
use crate::output::Sink;
use crate::report::Reporter;

/// The MNIST threes and eights (see tests/data/README.md).
const MNIST38: &str = include_str!("../../../../tests/data/mnist38/mnist_3_8.csv");
/// scikit-learn's 8×8 digits.
const DIGITS: &str = include_str!("../../../../tests/data/digits/digits_8x8.csv");
/// Adult (OpenXAI preprocessing), train and test.
const ADULT_TRAIN: &str = include_str!("../../../../tests/data/adult/adult-train.csv");
const ADULT_TEST: &str = include_str!("../../../../tests/data/adult/adult-test.csv");

/// Reads a bundled CSV (written to a temporary file so the one CSV reader is used).
fn bundled(name: &str, text: &str, label: &str) -> Result<(Vec<String>, Vec<f64>, Vec<f64>)> {
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let path = dir.path().join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    read_csv(&path, label)
}

fn read_csv(path: &Path, label: &str) -> Result<(Vec<String>, Vec<f64>, Vec<f64>)> {
    let file = CsvFile::open(path, &CsvOptions::default())?;
    let features: Vec<String> = file
        .header()
        .iter()
        .filter(|c| *c != label)
        .cloned()
        .collect();
    let mut src = file.select(Some(label), true, features.len(), Some(&features))?;
    let (x, y) = src.read_all()?;
    Ok((features, x, y))
}

fn gather(x: &[f64], d: usize, rows: &[usize]) -> Vec<f64> {
    rows.iter()
        .flat_map(|&r| x[r * d..(r + 1) * d].iter().copied())
        .collect()
}

/// Ranks features by score (descending, ties by index) and sets the top `k` to 0 in a copy.
fn mask_top(x: &[f64], scores: &[f64], k: usize) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut out = x.to_vec();
    for &i in &idx[..k] {
        out[i] = 0.0;
    }
    out
}

/// Mean drop in log-odds `log p(8)/p(3)` after masking each row's top-k pixels by `scores`.
fn log_odds_change(
    model: &dyn Fn(&[f64], usize) -> Vec<f64>,
    x: &[f64],
    scores: &[f64],
    d: usize,
    k: usize,
) -> f64 {
    let rows = x.len() / d;
    let before = model(x, rows);
    let masked: Vec<f64> = (0..rows)
        .flat_map(|r| mask_top(&x[r * d..(r + 1) * d], &scores[r * d..(r + 1) * d], k))
        .collect();
    let after = model(&masked, rows);
    before.iter().zip(&after).map(|(b, a)| b - a).sum::<f64>() / rows as f64
}

/// Per-pixel scores from an AME's attention: each expert's importance spread evenly over
/// the features of its group.
fn attention_scores(ame: &Ame, x: &[f64]) -> Vec<f64> {
    let d = ame.input_dim();
    let rows = x.len() / d;
    let fwd = ame.forward(x, rows);
    let p = ame.experts();
    let mut s = vec![0.0; rows * d];
    for r in 0..rows {
        for g in 0..p {
            let m = ame.groups.members(g);
            for &f in m {
                s[r * d + f] = fwd.a[r * p + g] / m.len() as f64;
            }
        }
    }
    s
}

/// Runs a configured method on any model known by its outputs, or on a network.
fn timed_scores(
    spec: &str,
    net: Option<&Plan<f64>>,
    ame: Option<&Ame>,
    x: &[f64],
    d: usize,
    seed: u64,
) -> Result<(Vec<f64>, f64)> {
    let rows = x.len() / d;
    let method = spec.parse::<MethodSpec>()?.build(None, seed)?;
    let xv = ArrayView2::from_shape((rows, d), x)?;
    let zero = vec![0.0; d];
    let rv = ArrayView2::from_shape((1, d), &zero[..])?;
    let t = Instant::now();
    let a = match (net, ame) {
        (Some(plan), _) => method.attribute(plan, xv, rv, Target::Index(0))?,
        (None, Some(ame)) => method.attribute_black_box(ame, xv, rv, Target::Index(0))?,
        (None, None) => anyhow::bail!("no model"),
    };
    let secs = t.elapsed().as_secs_f64();
    Ok((a.scores.iter().copied().collect(), secs))
}

struct DigitsData {
    d: usize,
    side: usize,
    x: Vec<f64>,
    y: Vec<f64>,
    names: Vec<String>,
}

fn digits_data(quick: bool, data: Option<&Path>) -> Result<DigitsData> {
    let (names, x, y, scale, side) = if quick {
        let (n, x, y) = bundled("digits_8x8.csv", DIGITS, "label")?;
        (n, x, y, 16.0, 8)
    } else {
        let (n, x, y) = match data {
            Some(p) => read_csv(p, "label")?,
            None => bundled("mnist_3_8.csv", MNIST38, "label")?,
        };
        (n, x, y, 255.0, 28)
    };
    let d = names.len();
    if d != side * side {
        anyhow::bail!("expected {side}×{side} pixel columns, got {d}");
    }
    // Threes (0) and eights (1), pixels scaled to [0, 1] (background 0).
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (r, &l) in y.iter().enumerate() {
        if l == 3.0 || l == 8.0 {
            xs.extend(x[r * d..(r + 1) * d].iter().map(|v| v / scale));
            ys.push(f64::from(u8::from(l == 8.0)));
        }
    }
    Ok(DigitsData {
        d,
        side,
        x: xs,
        y: ys,
        names,
    })
}

/// `bench ame-digits`.
pub fn digits(a: &AmeDigitsArgs) -> Result<()> {
    if let Some(out) = &a.out {
        super::check_io(&[("--data", a.data.as_deref())], &[("--out", out)])?;
    }
    let data = digits_data(a.quick, a.data.as_deref())?;
    let d = data.d;
    let mut rng = Rng::for_row(a.seed, usize::MAX - 7);
    let (train, mut test) = stratified_split(&data.y, 0.2, true, &mut rng);
    test.sort_unstable();
    let (x_tr, y_tr) = (gather(&data.x, d, &train), gather(&data.y, 1, &train));
    let (x_te, y_te) = (gather(&data.x, d, &test), gather(&data.y, 1, &test));
    let eights: Vec<usize> = (0..test.len()).filter(|&r| y_te[r] == 1.0).collect();
    let eights: Vec<usize> = eights.into_iter().take(a.images).collect();
    let x8 = gather(&x_te, d, &eights);
    let k = (d as f64 * 0.1).round() as usize;
    let epochs = a.epochs.unwrap_or(if a.quick { 15 } else { 60 });
    let ks_n = a.samples.unwrap_or(if a.quick { 256 } else { 2048 });
    let progress = Reporter::steps(6, "ame-digits", a.quiet);
    let ame_cfg = |alpha: f64, epochs: usize| {
        let mut cfg = AmeConfig::new(AmeTask::Binary);
        cfg.alpha = alpha;
        cfg.epochs = epochs;
        cfg.standardize = false;
        cfg.seed = a.seed;
        cfg.batch_size = 32;
        cfg.granger_hidden = a.granger_hidden;
        if !a.quick {
            cfg.image = Some(ImageStem {
                height: data.side,
                width: data.side,
                convs: 2,
            });
        }
        cfg
    };
    let t = Instant::now();
    let (ame, rep) = train_ame(
        &x_tr,
        &y_tr,
        data.names.clone(),
        None,
        &ame_cfg(0.1, epochs),
        |_| {},
    )?;
    let train_secs = t.elapsed().as_secs_f64();
    progress.inc();
    let (ame0, _) = train_ame(
        &x_tr,
        &y_tr,
        data.names.clone(),
        None,
        &ame_cfg(0.0, epochs),
        |_| {},
    )?;
    progress.inc();
    let mlp_cfg = TrainConfig {
        hidden: if a.quick { vec![32, 16] } else { vec![128, 64] },
        epochs,
        batch_size: 32,
        patience: 12,
        standardize: false,
        seed: a.seed,
        ..TrainConfig::new(Task::Binary)
    };
    let (mlp, _) = train_mlp(&x_tr, &y_tr, d, data.names.clone(), &mlp_cfg, |_| {})?;
    progress.inc();
    let ame_logit = |m: &Ame| {
        let m = m.clone();
        move |x: &[f64], rows: usize| -> Vec<f64> { Predict::<f64>::predict(&m, x, rows) }
    };
    let plan = Plan::<f64>::new(&mlp, false)?;
    let mlp_logit = |x: &[f64], rows: usize| -> Vec<f64> { plan.forward(x, rows) };

    // Table 1: rankings of AME(α = 0.1)'s pixels.
    let mut rows_ame: Vec<(String, f64, f64)> = Vec::new();
    let t = Instant::now();
    let att = attention_scores(&ame, &x8);
    let att_secs = t.elapsed().as_secs_f64();
    let f = ame_logit(&ame);
    rows_ame.push((
        "AME attention".into(),
        log_odds_change(&f, &x8, &att, d, k),
        att_secs,
    ));
    for spec in [format!("kernel-shap:n={ks_n}"), format!("lime:n={ks_n}")] {
        let (s, secs) = timed_scores(&spec, None, Some(&ame), &x8, d, a.seed)?;
        rows_ame.push((spec, log_odds_change(&f, &x8, &s, d, k), secs));
        progress.inc();
    }
    // The same rankings on AME(α = 0) by its attention, for comparison.
    let att0 = attention_scores(&ame0, &x8);
    let f0 = ame_logit(&ame0);
    let change0 = log_odds_change(&f0, &x8, &att0, d, k);

    // Table 2: the MLP with CAFE and Kernel SHAP.
    let mut rows_mlp: Vec<(String, f64, f64)> = Vec::new();
    for spec in [
        "cafe:c=0.5".to_string(),
        "deeplift".to_string(),
        "gradient-x-input".to_string(),
        format!("kernel-shap:n={ks_n}"),
    ] {
        let (s, secs) = timed_scores(&spec, Some(&plan), None, &x8, d, a.seed)?;
        rows_mlp.push((spec, log_odds_change(&mlp_logit, &x8, &s, d, k), secs));
    }
    progress.inc();

    // Table 3: AMEs stopped early: higher MGE ↔ smaller log-odds change?
    let mut stops: Vec<(usize, f64, f64)> = Vec::new();
    for e in [1usize, 3, 10] {
        if e >= rep.epochs.len() {
            continue;
        }
        let mut cfg = ame_cfg(0.1, e);
        cfg.patience = 0;
        let (m, _) = train_ame(&x_tr, &y_tr, data.names.clone(), None, &cfg, |_| {})?;
        let mge = m.evaluate(&x_te, &y_te).mge;
        let s = attention_scores(&m, &x8);
        stops.push((e, mge, log_odds_change(&ame_logit(&m), &x8, &s, d, k)));
    }
    let full_eval = ame.evaluate(&x_te, &y_te);
    stops.push((rep.best_epoch, full_eval.mge, rows_ame[0].1));
    progress.inc();
    progress.finish();

    // Report.
    let eval0 = ame0.evaluate(&x_te, &y_te);
    let mlp_acc = {
        let z = mlp_logit(&x_te, test.len());
        z.iter()
            .zip(&y_te)
            .filter(|(z, y)| (**z > 0.0) == (**y > 0.5))
            .count() as f64
            / test.len() as f64
    };
    let mut out = String::new();
    writeln!(
        out,
        "{} 3 vs 8: {} train / {} test images, {} test eights explained, top {k} of {d} pixels masked (set to 0); seed {}.",
        if a.quick {
            "8×8 digits (one expert per pixel)"
        } else {
            "MNIST 28×28 (image stem, 7×7 = 49 experts)"
        },
        train.len(),
        test.len(),
        eights.len(),
        a.seed
    )?;
    writeln!(
        out,
        "Models (test set): AME(α=0.1) accuracy {:.3}, MGE {:.3}, r² {:.3} (best epoch {}, trained in {:.1} s); AME(α=0) accuracy {:.3}, MGE {:.3}, r² {:.3}; MLP accuracy {:.3}.\n",
        full_eval.quality[0].1,
        full_eval.mge,
        full_eval.granger_r2,
        rep.best_epoch,
        train_secs,
        eval0.quality[0].1,
        eval0.mge,
        eval0.granger_r2,
        mlp_acc
    )?;
    let ks_time = rows_ame[1].2;
    writeln!(out, "AME(α=0.1), ranked by each method:\n")?;
    writeln!(
        out,
        "| method | mean log-odds change | time (s) | time / AME attention |"
    )?;
    writeln!(out, "|---|---:|---:|---:|")?;
    for (m, c, s) in &rows_ame {
        writeln!(
            out,
            "| {m} | {c:.3} | {s:.4} | {:.0}× |",
            s / att_secs.max(1e-9)
        )?;
    }
    writeln!(
        out,
        "\nAME attention's change is {:.0} % of Kernel SHAP's, at {:.0}× less time. AME(α=0) by its own attention: {change0:.3}.\n",
        100.0 * rows_ame[0].1 / rows_ame[1].1,
        ks_time / att_secs.max(1e-9)
    )?;
    writeln!(out, "MLP, ranked by each method:\n")?;
    writeln!(out, "| method | mean log-odds change | time (s) |")?;
    writeln!(out, "|---|---:|---:|")?;
    for (m, c, s) in &rows_mlp {
        writeln!(out, "| {m} | {c:.3} | {s:.4} |")?;
    }
    writeln!(out, "\nAME(α=0.1) stopped early:\n")?;
    writeln!(out, "| epochs | test MGE | log-odds change (attention) |")?;
    writeln!(out, "|---:|---:|---:|")?;
    for (e, mge, c) in &stops {
        writeln!(out, "| {e} | {mge:.3} | {c:.3} |")?;
    }
    print!("{out}");
    if let Some(path) = &a.out {
        let mut csv = String::from("model,method,log_odds_change,seconds\n");
        for (m, c, s) in &rows_ame {
            writeln!(csv, "ame_alpha_0.1,\"{m}\",{c},{s}")?;
        }
        writeln!(csv, "ame_alpha_0,\"AME attention\",{change0},")?;
        for (m, c, s) in &rows_mlp {
            writeln!(csv, "mlp,\"{m}\",{c},{s}")?;
        }
        for (e, mge, c) in &stops {
            writeln!(
                csv,
                "ame_alpha_0.1_epochs_{e}_mge_{mge},\"AME attention\",{c},"
            )?;
        }
        write_file(path, &csv)?;
    }
    Ok(())
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut sink = Sink::open(Some(path))?;
    sink.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    sink.commit()
}

/// `bench ame-alpha`: AMEs on Adult for α ∈ {0, 0.01, …, 0.1}.
pub fn alpha(a: &AmeAlphaArgs) -> Result<()> {
    let (names, x, y) = bundled("adult-train.csv", ADULT_TRAIN, "income")?;
    let (_, xt, yt) = bundled("adult-test.csv", ADULT_TEST, "income")?;
    let alphas: Vec<f64> = if a.quick {
        vec![0.0, 0.05]
    } else if !a.alphas.is_empty() {
        a.alphas.clone()
    } else {
        (0..=10).map(|i| f64::from(i) / 100.0).collect()
    };
    let (x, y, xt, yt) = if a.quick {
        (
            x[..4000 * 13].to_vec(),
            y[..4000].to_vec(),
            xt[..2000 * 13].to_vec(),
            yt[..2000].to_vec(),
        )
    } else {
        (x, y, xt, yt)
    };
    let bar = Reporter::steps(alphas.len() as u64, "ame-alpha", a.quiet);
    let mut rows = Vec::new();
    for &alpha in &alphas {
        let mut cfg = AmeConfig::new(AmeTask::Binary);
        cfg.alpha = alpha;
        cfg.granger_hidden = a.granger_hidden;
        cfg.epochs = a.epochs.unwrap_or(if a.quick { 5 } else { 100 });
        cfg.batch_size = 256;
        cfg.seed = a.seed;
        let t = Instant::now();
        let (ame, rep) = train_ame(&x, &y, names.clone(), None, &cfg, |_| {})?;
        let secs = t.elapsed().as_secs_f64();
        let mut xs = xt.clone();
        if let Some(p) = &ame.preprocess {
            p.apply(&mut xs);
        }
        let e = ame.evaluate(&xs, &yt);
        rows.push((alpha, e, rep.best_epoch, secs));
        bar.inc();
    }
    bar.finish();
    let granger = a
        .granger_hidden
        .unwrap_or(AmeConfig::new(AmeTask::Binary).granger_width());
    let mut out = format!(
        "AME on Adult (13 experts, one per feature), trained on adult-train ({} rows, 20 % of them for early stopping), scored on adult-test ({} rows); Granger predictors {}; seed {}.\n\n",
        y.len(),
        yt.len(),
        if granger == 0 {
            "linear".to_string()
        } else {
            format!("MLP (hidden {granger})")
        },
        a.seed
    );
    writeln!(
        out,
        "| α | test error (1 − accuracy) | AUC | test MGE | Granger r² | best epoch | train s |"
    )?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|")?;
    let mut csv = String::from("alpha,error,auc,mge,granger_r2,best_epoch,seconds\n");
    for (alpha, e, best, secs) in &rows {
        let err = 1.0 - e.quality[0].1;
        let auc = e.quality.get(1).map_or(f64::NAN, |q| q.1);
        writeln!(
            out,
            "| {alpha:.2} | {err:.4} | {auc:.4} | {:.4} | {:.3} | {best} | {secs:.1} |",
            e.mge, e.granger_r2
        )?;
        writeln!(
            csv,
            "{alpha},{err},{auc},{},{},{best},{secs}",
            e.mge, e.granger_r2
        )?;
    }
    print!("{out}");
    if let Some(path) = &a.out {
        write_file(path, &csv)?;
    }
    Ok(())
}

/// `bench ame-speed`: rows/s of the AME's importances and of post-hoc explainers.
pub fn speed(a: &AmeSpeedArgs) -> Result<()> {
    let (names, x, y) = bundled("adult-train.csv", ADULT_TRAIN, "income")?;
    let d = names.len();
    let rows_train = if a.quick { 3000 } else { y.len() };
    let mut cfg = AmeConfig::new(AmeTask::Binary);
    cfg.epochs = if a.quick { 2 } else { 20 };
    cfg.batch_size = 256;
    cfg.seed = a.seed;
    let (ame, _) = train_ame(
        &x[..rows_train * d],
        &y[..rows_train],
        names.clone(),
        None,
        &cfg,
        |_| {},
    )?;
    let (mlp, _) = train_mlp(
        &x[..rows_train * d],
        &y[..rows_train],
        d,
        names,
        &TrainConfig {
            epochs: cfg.epochs,
            batch_size: 256,
            seed: a.seed,
            ..TrainConfig::new(Task::Binary)
        },
        |_| {},
    )?;
    let n = a.rows.min(y.len());
    let mut xs = x[..n * d].to_vec();
    if let Some(p) = &ame.preprocess {
        p.apply(&mut xs);
    }
    let mut xm = x[..n * d].to_vec();
    if let Some(p) = mlp.preprocess() {
        p.apply(&mut xm);
    }
    let plan = Plan::<f64>::new(&mlp, false)?;
    let mut table = format!(
        "Adult, {n} rows, 13 features. AME: 13 experts × 16 SELU units (its own attention); MLP 13→64→64→1 ReLU for the gradient methods and CAFE. f64.\n\n| method | model | seconds | rows/s | ratio to AME attention |\n|---|---|---:|---:|---:|\n"
    );
    // The AME's importances: one forward pass, row blocks over the worker threads (as the
    // other methods' batches are).
    let t = Instant::now();
    let attention: Vec<f64> = {
        use rayon::prelude::*;
        xs.par_chunks(256 * d)
            .flat_map_iter(|b| ame.forward(b, b.len() / d).a)
            .collect()
    };
    std::hint::black_box(&attention);
    let att = t.elapsed().as_secs_f64();
    let mut results = vec![("AME attention".to_string(), "AME", att)];
    let sample_rows = if a.quick { 20 } else { 500 }.min(n);
    for spec in ["kernel-shap:n=2048", "lime:n=2048", "kernel-shap:n=200"] {
        let (_, secs) = timed_scores(spec, None, Some(&ame), &xs[..sample_rows * d], d, a.seed)?;
        results.push((
            spec.to_string(),
            "AME",
            secs * n as f64 / sample_rows as f64,
        ));
    }
    for spec in ["deeplift", "cafe:c=0.5"] {
        let (_, secs) = timed_scores(spec, Some(&plan), None, &xm, d, a.seed)?;
        results.push((spec.to_string(), "MLP", secs));
    }
    for (m, model, secs) in &results {
        writeln!(
            table,
            "| {m} | {model} | {secs:.4} | {:.0} | {:.2}× |",
            n as f64 / secs.max(1e-12),
            secs / att.max(1e-12)
        )?;
    }
    writeln!(
        table,
        "\nKernel SHAP and LIME were timed on the first {sample_rows} rows and scaled to {n}."
    )?;
    print!("{table}");
    Ok(())
}
