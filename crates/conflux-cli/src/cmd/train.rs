//! `conflux train mlp`.

use anyhow::{Context, Result};
use conflux_core::Activation;
use conflux_core::data::csv::{CsvFile, CsvOptions};
use conflux_train::{Task, TrainConfig, train_mlp};

use crate::cli::{TaskArg, TrainMlpArgs};
use crate::report::Reporter;

fn activation(name: &str) -> Result<Activation> {
    Activation::with_defaults(name).with_context(|| {
        format!(
            "--activation: unknown activation '{name}'; expected {}",
            Activation::TRAINABLE
        )
    })
}

/// A training CSV read for a trainer: features, rows, labels, and the class count.
pub struct TrainingData {
    /// Feature names (every column but the label and the excluded ones).
    pub names: Vec<String>,
    /// Rows, `[rows, features]`, raw units.
    pub x: Vec<f64>,
    /// Labels.
    pub y: Vec<f64>,
    /// Classes (max label + 1) for classification tasks; 1 for regression.
    pub classes: usize,
}

/// Reads `data` for training: the features are every column but `label` and the `exclude`d
/// ones (a trailing `*` matches a prefix); classification labels are checked (non-negative
/// integers for multiclass, at least two distinct values).
pub fn read_training_data(
    data: &std::path::Path,
    csv: &CsvOptions,
    label: &str,
    exclude: &[String],
    task: TaskArg,
) -> Result<TrainingData> {
    let excluded = |c: &str| {
        exclude
            .iter()
            .any(|e| e.strip_suffix('*').map_or(e == c, |p| c.starts_with(p)))
    };
    let file = CsvFile::open(data, csv)?;
    let features: Vec<String> = file
        .header()
        .iter()
        .filter(|c| *c != label && !excluded(c))
        .cloned()
        .collect();
    if features.is_empty() {
        anyhow::bail!(
            "{}: no feature columns left besides the label and --exclude",
            file.path().display()
        );
    }
    let mut src = file.select(Some(label), true, features.len(), Some(&features))?;
    let names = src.columns().feature_names();
    let (x, y) = src.read_all()?;
    let mut classes = 1;
    if task != TaskArg::Regression {
        if task == TaskArg::Multiclass {
            classes = conflux_train::class_count(&y).with_context(|| {
                format!(
                    "{}: label column '{}'",
                    data.display(),
                    conflux_core::error::quote(label)
                )
            })?;
        }
        let mut distinct = y.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() < 2 {
            anyhow::bail!(
                "{}: label column '{label}' has {} distinct value(s); classification needs at least two classes",
                data.display(),
                distinct.len()
            );
        }
    }
    Ok(TrainingData {
        names,
        x,
        y,
        classes,
    })
}

/// Runs `train mlp`.
pub fn mlp(a: &TrainMlpArgs) -> Result<()> {
    if a.out.extension().and_then(|e| e.to_str()) != Some("json") {
        anyhow::bail!(
            "--out: expected a .json model path, got {}",
            a.out.display()
        );
    }
    let st = a.out.with_extension("safetensors");
    let side = conflux_core::io::safetensors::sidecar_path(&st);
    super::check_io(
        &[("--data", Some(&a.data))],
        &[("--out", &a.out), ("--out", &st), ("--out", &side)],
    )?;
    let act = activation(&a.activation)?;
    let data = read_training_data(&a.data, &a.csv.options(), &a.label, &a.exclude, a.task)?;
    let (d, names, x, y) = (data.names.len(), data.names, data.x, data.y);
    let task = match a.task {
        TaskArg::Regression => Task::Regression,
        TaskArg::Binary => Task::Binary,
        TaskArg::Multiclass => Task::Multiclass {
            classes: data.classes,
        },
    };
    let cfg = TrainConfig {
        task,
        hidden: a.hidden.clone(),
        activation: act,
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        weight_decay: a.weight_decay,
        patience: a.patience,
        val_split: a.val_split,
        ordered_split: false,
        shuffle: true,
        standardize: !a.no_standardize,
        bias: !a.no_bias,
        seed: a.seed,
    };
    let bar = Reporter::steps(a.epochs as u64, "training", a.quiet);
    let (net, report) = train_mlp(&x, &y, d, names, &cfg, |e| {
        bar.message(format!(
            "epoch {} · train loss {:.4} · val loss {:.4}",
            e.epoch, e.train_loss, e.val_loss
        ));
        bar.inc();
    })?;
    bar.finish();
    conflux_core::io::json::save(&net, &a.out)
        .with_context(|| format!("--out {}", a.out.display()))?;
    conflux_core::io::safetensors::save(&net, &st)
        .with_context(|| format!("writing {}", st.display()))?;
    let metrics: Vec<String> = report
        .val_metrics
        .iter()
        .map(|(k, v)| format!("{k} {v:.4}"))
        .collect();
    println!(
        "trained {} rows × {d} features; best epoch {} of {}{}; validation: {}; saved {} (+ {})",
        y.len(),
        report.best_epoch,
        report.epochs.len(),
        if report.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        if metrics.is_empty() {
            "none (val-split 0)".to_string()
        } else {
            metrics.join(", ")
        },
        a.out.display(),
        st.display()
    );
    Ok(())
}
