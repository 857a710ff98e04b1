//! AME commands: `train ame`, `explain` of an AME by its own attention, and `evaluate` of an
//! AME (quality, MGE, Granger r², global importance).

use std::io::Write as _;

use anyhow::{Context, Result};
use conflux_core::ame::{AmeScorer, AmeTask};
use conflux_core::data::csv::CsvSource;
use conflux_core::{Ame, FeatureGroups};
use conflux_train::{AmeConfig, ImageStem, train_ame};
use serde_json::{Map, Value, json};

use crate::cli::{EvaluateArgs, ExplainArgs, ExplainFormat, Format, TaskArg, TrainAmeArgs};
use crate::output::{Sink, num};
use crate::report::Reporter;

/// Rows read per block.
const BLOCK: usize = 4096;

/// Checks that every label is valid for the AME's task (row numbers are 1-based data rows).
pub(crate) fn check_labels(
    ame: &Ame,
    path: &std::path::Path,
    first_row: usize,
    labels: &[f64],
) -> Result<()> {
    ame.task.check_labels(labels).map_err(|(i, expected)| {
        anyhow::anyhow!(
            "{}: data row {}: label {} is not valid for this {} AME (expected {expected})",
            path.display(),
            first_row + i + 1,
            labels[i],
            ame.task.name()
        )
    })
}

/// `explain` of an AME by its own attention: per row the prediction and the importance of
/// every expert (and ω where the label is present).
pub fn explain(args: &ExplainArgs, ame: &Ame) -> Result<()> {
    let format = match args.format {
        ExplainFormat::Json => Format::Json,
        ExplainFormat::Csv => Format::Csv,
        ExplainFormat::Npz => anyhow::bail!(
            "--format npz: an AME's own explanation (importance per group) is written as json or csv; \
             --method kernel-shap (or another model-agnostic method) writes npz"
        ),
    };
    if args.groups.is_some() {
        anyhow::bail!(
            "--groups: an AME's experts are fixed when it is trained; its groups are stored in the model"
        );
    }
    let d = ame.input_dim();
    let mut src = CsvSource::open(
        &args.data,
        &args.csv.options(),
        args.label.as_deref(),
        d,
        Some(&ame.features),
    )?;
    let names = ame.groups.names().to_vec();
    let (p, o) = (ame.experts(), ame.task.outputs());
    let mut sink = Sink::open(args.out.as_deref())?;
    let target = args
        .out
        .as_ref()
        .map_or("standard output".to_string(), |p| p.display().to_string());
    let write_err = || format!("writing {target}");
    let with_label = args.label.is_some();
    match format {
        Format::Json => {
            let head = json!({
                "method": "ame",
                "task": ame.task.name(),
                "features": ame.features,
                "groups": names,
            });
            let text = head.to_string();
            // Open the document and leave "rows" for the streamed entries.
            write!(sink, "{},\"rows\":[", &text[..text.len() - 1]).with_context(write_err)?;
        }
        Format::Csv => {
            let mut h = String::from("row");
            if o == 1 {
                h.push_str(",prediction");
            } else {
                for j in 0..o {
                    h.push_str(&format!(",prediction_{j}"));
                }
            }
            for g in &names {
                h.push_str(&format!(",importance_{g}"));
            }
            if with_label {
                for g in &names {
                    h.push_str(&format!(",granger_{g}"));
                }
            }
            writeln!(sink, "{h}").with_context(write_err)?;
        }
    }
    let bar = Reporter::bytes(src.progress().1, "explaining", args.quiet);
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let mut done = 0;
    loop {
        x.clear();
        labels.clear();
        let rows = src.read_block(BLOCK, &mut x, &mut labels)?;
        if rows == 0 {
            break;
        }
        if with_label {
            check_labels(ame, &args.data, done, &labels)?;
        }
        if let Some(pre) = &ame.preprocess {
            pre.apply(&mut x);
        }
        let e = ame.explain_rows(&x, with_label.then_some(&labels[..]));
        let (y, a, omega) = (e.prediction, e.importance, e.granger);
        for r in 0..rows {
            match format {
                Format::Json => {
                    if done + r > 0 {
                        sink.write_all(b",").with_context(write_err)?;
                    }
                    write!(sink, "{{\"row\":{},\"prediction\":", done + r)
                        .with_context(write_err)?;
                    write_values(&mut sink, &y[r * o..(r + 1) * o], o > 1)?;
                    sink.write_all(b",\"importance\":")
                        .with_context(write_err)?;
                    write_map(&mut sink, &names, &a[r * p..(r + 1) * p])?;
                    if with_label {
                        sink.write_all(b",\"granger\":").with_context(write_err)?;
                        write_map(&mut sink, &names, &omega[r * p..(r + 1) * p])?;
                    }
                    sink.write_all(b"}").with_context(write_err)?;
                }
                Format::Csv => {
                    write!(sink, "{}", done + r).with_context(write_err)?;
                    let mut cells: Vec<f64> = y[r * o..(r + 1) * o].to_vec();
                    cells.extend_from_slice(&a[r * p..(r + 1) * p]);
                    if with_label {
                        cells.extend_from_slice(&omega[r * p..(r + 1) * p]);
                    }
                    for v in cells {
                        sink.write_all(b",").with_context(write_err)?;
                        num(&mut sink, v).with_context(write_err)?;
                    }
                    sink.write_all(b"\n").with_context(write_err)?;
                }
            }
        }
        done += rows;
        bar.set(src.progress().0);
    }
    bar.finish();
    src.ensure_rows()?;
    if format == Format::Json {
        sink.write_all(b"]}\n").with_context(write_err)?;
    }
    sink.commit()
}

fn write_values(w: &mut Sink, v: &[f64], list: bool) -> Result<()> {
    if list {
        w.write_all(b"[")?;
    }
    for (i, &x) in v.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        num(w, x)?;
    }
    if list {
        w.write_all(b"]")?;
    }
    Ok(())
}

fn write_map(w: &mut Sink, names: &[String], v: &[f64]) -> Result<()> {
    w.write_all(b"{")?;
    for (i, (n, &x)) in names.iter().zip(v).enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(w, "{}:", Value::String(n.clone()))?;
        num(w, x)?;
    }
    w.write_all(b"}")?;
    Ok(())
}

/// `evaluate` of an AME: prediction quality, MGE, Granger r² and global importances (mean
/// attention overall and per class). Needs `--label`.
pub fn evaluate(args: &EvaluateArgs, ame: &Ame) -> Result<()> {
    let Some(label) = args.label.as_deref() else {
        anyhow::bail!(
            "--label: evaluating an AME needs the label column (for accuracy/RMSE, the MGE and ω)"
        );
    };
    let d = ame.input_dim();
    let mut src = CsvSource::open(
        &args.data,
        &args.csv.options(),
        Some(label),
        d,
        Some(&ame.features),
    )?;
    // Streamed in blocks: memory does not grow with the rows.
    let mut scorer = AmeScorer::new(ame);
    let limit = args.max_rows.unwrap_or(usize::MAX);
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let mut done = 0;
    while done < limit {
        x.clear();
        labels.clear();
        let n = src.read_block(BLOCK.min(limit - done), &mut x, &mut labels)?;
        if n == 0 {
            break;
        }
        check_labels(ame, &args.data, done, &labels)?;
        if let Some(pre) = &ame.preprocess {
            pre.apply(&mut x);
        }
        scorer.add_rows(&x, &labels);
        done += n;
    }
    src.ensure_rows()?;
    let e = scorer.finish();
    let names = ame.groups.names();
    let imp = |v: &[f64]| -> Map<String, Value> {
        names
            .iter()
            .zip(v)
            .map(|(n, &a)| (n.clone(), json!(a)))
            .collect()
    };
    let mut quality = Map::new();
    for (k, v) in &e.quality {
        quality.insert((*k).to_string(), json!(v));
    }
    let by_class: Map<String, Value> = e
        .importance_by_class
        .iter()
        .map(|(c, v)| (c.to_string(), Value::Object(imp(v))))
        .collect();
    let doc = json!({
        "model": "ame",
        "task": ame.task.name(),
        "rows_evaluated": e.rows,
        "quality": quality,
        "mge": e.mge,
        "granger_r2": e.granger_r2,
        "importance": imp(&e.importance),
        "importance_by_class": by_class,
    });
    // The table.
    let mut table = String::new();
    let q: Vec<String> = e
        .quality
        .iter()
        .map(|(k, v)| format!("{k} {v:.4}"))
        .collect();
    table.push_str(&format!(
        "AME ({}, {} experts) on {} rows: {}; MGE {:.4}; Granger r² {:.3}\n",
        ame.task.name(),
        ame.experts(),
        e.rows,
        q.join(", "),
        e.mge,
        e.granger_r2
    ));
    table.push_str("| expert | mean importance |");
    for (c, _) in &e.importance_by_class {
        table.push_str(&format!(" class {c} |"));
    }
    table.push_str("\n|---|---:|");
    table.push_str(&"---:|".repeat(e.importance_by_class.len()));
    table.push('\n');
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| e.importance[b].total_cmp(&e.importance[a]));
    for g in order {
        table.push_str(&format!("| {} | {:.4} |", names[g], e.importance[g]));
        for (_, v) in &e.importance_by_class {
            table.push_str(&format!(" {:.4} |", v[g]));
        }
        table.push('\n');
    }
    let machine = |f: Format| -> String {
        match f {
            Format::Json => serde_json::to_string_pretty(&doc).expect("serialisable") + "\n",
            Format::Csv => {
                let mut s = String::from("expert,mean_importance");
                for (c, _) in &e.importance_by_class {
                    s.push_str(&format!(",class_{c}"));
                }
                s.push('\n');
                for (g, n) in names.iter().enumerate() {
                    s.push_str(&format!("\"{n}\",{}", e.importance[g]));
                    for (_, v) in &e.importance_by_class {
                        s.push_str(&format!(",{}", v[g]));
                    }
                    s.push('\n');
                }
                s
            }
        }
    };
    crate::output::emit(args.out.as_deref(), args.format, &table, machine)
}

/// Runs `train ame`.
pub fn train(a: &TrainAmeArgs) -> Result<()> {
    if a.out.extension().and_then(|e| e.to_str()) != Some("json") {
        anyhow::bail!(
            "--out: expected a .json model path (e.g. model.ame.json), got {}",
            a.out.display()
        );
    }
    super::check_io(
        &[("--data", Some(&a.data)), ("--groups", a.groups.as_deref())],
        &[("--out", &a.out)],
    )?;
    let data =
        super::train::read_training_data(&a.data, &a.csv.options(), &a.label, &a.exclude, a.task)?;
    let (d, names, x, y) = (data.names.len(), data.names, data.x, data.y);
    let task = match a.task {
        TaskArg::Regression => AmeTask::Regression,
        TaskArg::Binary => AmeTask::Binary,
        TaskArg::Multiclass => AmeTask::Multiclass {
            classes: data.classes,
        },
    };
    let groups = match &a.groups {
        Some(p) => {
            if a.image.is_some() {
                anyhow::bail!("--groups and --image both define the experts; give one");
            }
            Some(FeatureGroups::load(p, &names).context("--groups")?)
        }
        None => None,
    };
    let image = match &a.image {
        None => None,
        Some(spec) => {
            let (h, w) = crate::parse::dims2(spec).with_context(|| {
                format!("--image: expected HEIGHTxWIDTH (e.g. 28x28), got '{spec}'")
            })?;
            Some(ImageStem {
                height: h,
                width: w,
                convs: a.stem_convs,
            })
        }
    };
    let mut cfg = AmeConfig::new(task);
    cfg.hidden = a.hidden.clone();
    cfg.gate_width = a.gate_width;
    cfg.alpha = a.alpha;
    cfg.granger_hidden = a.granger_hidden;
    cfg.attention_dropout = a.attention_dropout;
    cfg.epochs = a.epochs;
    cfg.batch_size = a.batch_size;
    cfg.lr = a.lr;
    cfg.patience = a.patience;
    cfg.val_split = a.val_split;
    cfg.standardize = !a.no_standardize;
    cfg.image = image;
    cfg.seed = a.seed;
    let bar = Reporter::steps(a.epochs as u64, "training AME", a.quiet);
    let (ame, report) = train_ame(&x, &y, names, groups, &cfg, |e| {
        bar.message(format!(
            "epoch {} · train loss {:.4} · val main {:.4} · val MGE {:.4}",
            e.epoch, e.train_loss, e.val.main, e.val.mge
        ));
        bar.inc();
    })?;
    bar.finish();
    let training = report.record(&cfg);
    conflux_core::ame::json::save(&ame, Some(training), &a.out)
        .with_context(|| format!("--out {}", a.out.display()))?;
    let val = report.validation.as_ref().map_or_else(
        || "none (val-split 0)".to_string(),
        |v| {
            let q: Vec<String> = v
                .quality
                .iter()
                .map(|(k, x)| format!("{k} {x:.4}"))
                .collect();
            format!(
                "{}, MGE {:.4}, Granger r² {:.3}",
                q.join(", "),
                v.mge,
                v.granger_r2
            )
        },
    );
    println!(
        "trained AME on {} rows × {d} features, {} experts; best epoch {} of {}{}; validation: {val}; saved {}",
        y.len(),
        ame.experts(),
        report.best_epoch,
        report.epochs.len(),
        if report.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        a.out.display()
    );
    Ok(())
}
