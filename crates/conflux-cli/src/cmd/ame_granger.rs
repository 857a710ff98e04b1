//! `conflux bench ame-granger`: how often the Granger-causal targets ω, and the attention
//! trained towards them, name the group that drives each row, on synthetic tasks where the
//! driver is known — for the paper's linear Granger predictors and for MLP predictors
//! (`--granger-hidden`), α ∈ {0, 0.05}, classification and regression.
//!
//! Tasks (ten standard-normal features in four groups: `switch` = {s}, A = {a1, a2, a3},
//! B = {b1, b2, b3}, noise C = {c1, c2, c3}; `f_A = a1 + a2 − a3`, `f_B = b1 − b2 + b3`):
//! - **switch**: `f = f_A` if `s > 0` else `f_B`; the driver is A if `s > 0` else B.
//! - **threshold**: `f = f_A` if `|f_A| > |f_B|` else `f_B`; the driver is the group with the
//!   larger effect (no separate switch: the groups gate each other).
//! - **product**: `f = f_A · (1 + tanh 2s)` if `s > 0` else `f_B · (1 − tanh 2s)`: as switch, but
//!   the switch also scales the driver's effect (a product of groups).
//!
//! Label: `1[f > 0]` (classification; `1[f > 1]` for product, so that the scale matters) or
//! `f + N(0, 0.1²)` (regression). The arg-max of ω or
//! of the attention over the non-switch groups {A, B, C} is compared with the driver on the
//! test rows.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use conflux_core::FeatureGroups;
use conflux_core::ame::AmeTask;
use conflux_core::rng::Rng;
use conflux_core::stats::argmax;
use conflux_train::{AmeConfig, train_ame};

use crate::cli::AmeGrangerArgs;
use crate::report::Reporter;

/// The synthetic tasks.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Switch,
    Threshold,
    Product,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Switch => "switch",
            Kind::Threshold => "threshold",
            Kind::Product => "product",
        }
    }
}

/// Feature names and the four groups (switch, A, B, C) in column order.
fn layout() -> (Vec<String>, FeatureGroups) {
    let names: Vec<String> = ["s", "a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let groups = FeatureGroups::new(
        10,
        vec![
            ("switch".into(), vec![0]),
            ("A".into(), vec![1, 2, 3]),
            ("B".into(), vec![4, 5, 6]),
            ("C".into(), vec![7, 8, 9]),
        ],
    )
    .expect("a partition of the ten columns");
    (names, groups)
}

/// `rows` rows of `kind`: features `[rows, 10]`, labels, and each row's driver (group index
/// 1 = A, 2 = B).
fn generate(
    kind: Kind,
    classification: bool,
    rows: usize,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    let mut rng = Rng::for_row(seed, 0);
    let (mut x, mut y, mut driver) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let v: Vec<f64> = (0..10).map(|_| rng.normal()).collect();
        let (s, fa, fb) = (v[0], v[1] + v[2] - v[3], v[4] - v[5] + v[6]);
        let (f, d) = match kind {
            Kind::Switch => {
                if s > 0.0 {
                    (fa, 1)
                } else {
                    (fb, 2)
                }
            }
            Kind::Threshold => {
                if fa.abs() > fb.abs() {
                    (fa, 1)
                } else {
                    (fb, 2)
                }
            }
            Kind::Product => {
                if s > 0.0 {
                    (fa * (1.0 + (2.0 * s).tanh()), 1)
                } else {
                    (fb * (1.0 - (2.0 * s).tanh()), 2)
                }
            }
        };
        let threshold = if matches!(kind, Kind::Product) {
            1.0
        } else {
            0.0
        };
        let label = if classification {
            f64::from(u8::from(f > threshold))
        } else {
            f + 0.1 * rng.normal()
        };
        x.extend(v);
        y.push(label);
        driver.push(d);
    }
    (x, y, driver)
}

/// One trained AME's scores on the test rows.
struct Cell {
    omega_right: f64,
    attention_right: f64,
    /// Accuracy (classification) or RMSE (regression).
    quality: f64,
    mge: f64,
    seconds: f64,
}

/// Share of rows whose arg-max over groups 1..4 (A, B, C) of `v` (`[rows, 4]`) is the driver.
fn right(v: &[f64], driver: &[usize]) -> f64 {
    let hits = driver
        .iter()
        .enumerate()
        .filter(|&(r, &d)| 1 + argmax(&v[r * 4 + 1..(r + 1) * 4]) == d)
        .count();
    hits as f64 / driver.len().max(1) as f64
}

#[allow(clippy::too_many_arguments)]
fn one(
    kind: Kind,
    classification: bool,
    granger_hidden: usize,
    alpha: f64,
    train_rows: usize,
    test_rows: usize,
    epochs: usize,
    seed: u64,
) -> Result<Cell> {
    let (names, groups) = layout();
    let (x, y, _) = generate(kind, classification, train_rows, seed);
    let (xt, yt, driver) = generate(kind, classification, test_rows, seed + 1000);
    let task = if classification {
        AmeTask::Binary
    } else {
        AmeTask::Regression
    };
    let mut cfg = AmeConfig::new(task);
    cfg.alpha = alpha;
    cfg.granger_hidden = Some(granger_hidden);
    cfg.epochs = epochs;
    cfg.seed = seed;
    let t = Instant::now();
    let (ame, _) = train_ame(&x, &y, names, Some(groups), &cfg, |_| {})?;
    let seconds = t.elapsed().as_secs_f64();
    let mut xs = xt;
    if let Some(p) = &ame.preprocess {
        p.apply(&mut xs);
    }
    let e = ame.explain_rows(&xs, Some(&yt));
    let eval = ame.evaluate(&xs, &yt);
    Ok(Cell {
        omega_right: right(&e.granger, &driver),
        attention_right: right(&e.importance, &driver),
        quality: eval.quality[0].1,
        mge: eval.mge,
        seconds,
    })
}

/// Runs `bench ame-granger`.
pub fn run(a: &AmeGrangerArgs) -> Result<()> {
    let (train_rows, test_rows, epochs) = if a.quick {
        (600, 300, 3)
    } else {
        (6000, 2000, a.epochs.unwrap_or(200))
    };
    let kinds: &[Kind] = if a.quick {
        &[Kind::Switch]
    } else {
        &[Kind::Switch, Kind::Threshold, Kind::Product]
    };
    let widths = [0, a.granger_hidden];
    let alphas = [0.0, 0.05];
    let total = kinds.len() * 2 * widths.len() * alphas.len();
    let bar = Reporter::steps(total as u64, "ame-granger", a.quiet);
    let start = Instant::now();
    let mut out = format!(
        "Per-row drivers on synthetic tasks: {train_rows} training rows (20 % of them for early stopping), {test_rows} test rows, ≤ {epochs} epochs, seed {}. Cells: % of test rows whose arg-max over {{A, B, C}} is the driver.\n\n",
        a.seed
    );
    writeln!(
        out,
        "| task | label | Granger predictors | α | ω right | attention right | accuracy / RMSE | MGE | train s |"
    )?;
    writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|---:|")?;
    let mut csv = String::from(
        "task,label,granger_hidden,alpha,omega_right,attention_right,quality,mge,seconds\n",
    );
    for &kind in kinds {
        for classification in [true, false] {
            for &g in &widths {
                for &alpha in &alphas {
                    let c = one(
                        kind,
                        classification,
                        g,
                        alpha,
                        train_rows,
                        test_rows,
                        epochs,
                        a.seed,
                    )?;
                    let label = if classification {
                        "classification"
                    } else {
                        "regression"
                    };
                    let predictors = if g == 0 {
                        "linear (paper)".to_string()
                    } else {
                        format!("MLP, hidden {g}")
                    };
                    writeln!(
                        out,
                        "| {} | {label} | {predictors} | {alpha:.2} | {:.1} % | {:.1} % | {:.3} | {:.3} | {:.1} |",
                        kind.name(),
                        100.0 * c.omega_right,
                        100.0 * c.attention_right,
                        c.quality,
                        c.mge,
                        c.seconds
                    )?;
                    writeln!(
                        csv,
                        "{},{label},{g},{alpha},{},{},{},{},{}",
                        kind.name(),
                        c.omega_right,
                        c.attention_right,
                        c.quality,
                        c.mge,
                        c.seconds
                    )?;
                    bar.inc();
                }
            }
        }
    }
    bar.finish();
    writeln!(out, "\nRun time: {:.1} s", start.elapsed().as_secs_f64())?;
    print!("{out}");
    if let Some(path) = &a.out {
        super::ame_bench::write_file(path, &csv)?;
    }
    Ok(())
}
