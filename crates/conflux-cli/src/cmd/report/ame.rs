//! The report of an AME: its own explanation (attention per expert group) per row and over
//! the data, per predicted class, and with `--label` the numbers of `conflux evaluate` —
//! prediction quality, MGE and Granger r² — with the Granger targets ω beside the attention.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use conflux_core::Ame;
use conflux_core::ame::{AmeEvaluation, AmeScorer, AmeTask, Encoder, granger::kl};
use conflux_core::data::csv::CsvSource;
use serde_json::{Value, json};

use super::{
    CHART_FEATURES, ROW_VALUES, Request, Reservoir, SWARM_ROWS, TABLE_FEATURES, TOP,
    beeswarm_section, images_section, picker,
};
use crate::html::{self, cell, charts, num, short, text};
use crate::report::Reporter;

/// Rows read per block.
const BLOCK: usize = 4096;

/// One row as the per-row views need it.
struct RowView {
    row: usize,
    values: Vec<f64>,
    /// The predicted class (classification).
    class: Option<usize>,
    /// The prediction for that class (probability), or the regression value.
    output: f64,
    importance: Vec<f64>,
    granger: Option<Vec<f64>>,
    /// KL(ω ‖ attention) of the row (with labels).
    mge: Option<f64>,
}

/// Everything the page shows, gathered in one pass over the data.
struct Gathered {
    entries: usize,
    sum_a: Vec<f64>,
    sum_omega: Vec<f64>,
    /// Per predicted class: rows and the sum of their attention.
    by_class: BTreeMap<usize, (usize, Vec<f64>)>,
    evaluation: Option<AmeEvaluation>,
    rows: Vec<RowView>,
    /// (data row, mean raw value per group, attention per group).
    sample: Vec<(usize, Vec<f64>, Vec<f64>)>,
}

/// The report page for `ame` (`summary`: its `inspect` text), on the current thread pool.
pub fn html(ame: &Ame, summary: &str, req: &Request<'_>) -> Result<String> {
    let started = Instant::now();
    let g = gather(ame, req)?;
    Ok(build(
        ame,
        summary,
        req,
        &g,
        started.elapsed().as_secs_f64(),
    ))
}

fn gather(ame: &Ame, req: &Request<'_>) -> Result<Gathered> {
    let (d, p, o) = (ame.input_dim(), ame.experts(), ame.task.outputs());
    let keep = super::rows_within(ROW_VALUES, d + 2 * p + o, req.rows);
    let mut src = CsvSource::open(req.data, &req.csv, req.label, d, Some(&ame.features))?;
    let bar = Reporter::bytes(src.progress().1, "explaining", req.quiet);
    let mut scorer = req.label.map(|_| AmeScorer::new(ame));
    let mut g = Gathered {
        entries: 0,
        sum_a: vec![0.0; p],
        sum_omega: vec![0.0; p],
        by_class: BTreeMap::new(),
        evaluation: None,
        rows: Vec::new(),
        sample: Vec::new(),
    };
    let mut sample = Reservoir::new(SWARM_ROWS, req.seed);
    let (mut x, mut labels, mut scaled_buf) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        x.clear();
        labels.clear();
        let n = src.read_block(BLOCK, &mut x, &mut labels)?;
        if n == 0 {
            break;
        }
        if req.label.is_some() {
            crate::cmd::ame::check_labels(ame, req.data, g.entries, &labels)?;
        }
        // The page shows raw values; the model reads scaled ones (a copy only when scaling).
        let scaled: &[f64] = match &ame.preprocess {
            Some(pre) => {
                scaled_buf.clone_from(&x);
                pre.apply(&mut scaled_buf);
                &scaled_buf
            }
            None => &x,
        };
        let e = ame.explain_rows(scaled, req.label.map(|_| &labels[..]));
        if let Some(s) = &mut scorer {
            s.add(&e.prediction, &e.importance, &e.granger, &labels);
        }
        for r in 0..n {
            let a = &e.importance[r * p..(r + 1) * p];
            let y = &e.prediction[r * o..(r + 1) * o];
            if !y.iter().chain(a).all(|v| v.is_finite()) {
                anyhow::bail!(
                    "{}: data row {}: the AME's prediction or attention is not a finite number; \
                     a report needs finite numbers",
                    req.data.display(),
                    g.entries + 1
                );
            }
            let omega = (!e.granger.is_empty()).then(|| &e.granger[r * p..(r + 1) * p]);
            let class = ame.task.predicted_class(y);
            // The prediction for the predicted class (its probability), or the value.
            let output = match (ame.task, class) {
                (AmeTask::Binary, Some(1)) | (AmeTask::Regression, _) => y[0],
                (AmeTask::Binary, _) => 1.0 - y[0],
                (AmeTask::Multiclass { .. }, c) => y[c.unwrap_or(0)],
            };
            for (s, v) in g.sum_a.iter_mut().zip(a) {
                *s += v;
            }
            if let Some(w) = omega {
                for (s, v) in g.sum_omega.iter_mut().zip(w) {
                    *s += v;
                }
            }
            if let Some(c) = class {
                let (count, sum) = g.by_class.entry(c).or_insert_with(|| (0, vec![0.0; p]));
                *count += 1;
                for (s, v) in sum.iter_mut().zip(a) {
                    *s += v;
                }
            }
            let values = &x[r * d..(r + 1) * d];
            if g.rows.len() < keep {
                g.rows.push(RowView {
                    row: g.entries,
                    values: values.to_vec(),
                    class,
                    output,
                    importance: a.to_vec(),
                    granger: omega.map(<[f64]>::to_vec),
                    mge: omega.map(|w| kl(w, a)),
                });
            }
            sample.offer(|| {
                let group_values = (0..p)
                    .map(|i| {
                        let m = ame.groups.members(i);
                        m.iter().map(|&f| values[f]).sum::<f64>() / m.len().max(1) as f64
                    })
                    .collect();
                (g.entries, group_values, a.to_vec())
            });
            g.entries += 1;
        }
        bar.set(src.progress().0);
    }
    bar.finish();
    src.ensure_rows()?;
    g.evaluation = scorer.map(AmeScorer::finish);
    g.sample = sample.items;
    Ok(g)
}

fn build(ame: &Ame, summary: &str, req: &Request<'_>, g: &Gathered, seconds: f64) -> String {
    let names = ame.groups.names();
    let n = g.entries.max(1) as f64;
    let mean_a: Vec<f64> = g.sum_a.iter().map(|s| s / n).collect();
    let mean_omega: Option<Vec<f64>> = g
        .evaluation
        .as_ref()
        .map(|_| g.sum_omega.iter().map(|s| s / n).collect());
    let mut sections = Vec::new();

    // Overview.
    let mut s = String::from("<section id=\"overview\"><h2>Overview</h2>");
    s.push_str(&format!(
        "<p>Data <code>{}</code>: {} rows × {} features in {} expert groups. The AME explains itself: its attention over the groups is the importance, computed in the same forward pass as the prediction. Run time {} s.</p>",
        text(&req.data.display().to_string()),
        g.entries,
        ame.input_dim(),
        names.len(),
        num(seconds)
    ));
    match &g.evaluation {
        Some(e) => {
            s.push_str("<table id=\"ame-quality\"><thead><tr><th>measure</th><th>value</th></tr></thead><tbody>");
            for (k, v) in &e.quality {
                s.push_str(&format!("<tr><td>{k}</td><td>{}</td></tr>", num(*v)));
            }
            s.push_str(&format!(
                "<tr><td>MGE</td><td>{}</td></tr><tr><td>Granger r²</td><td>{}</td></tr></tbody></table>",
                num(e.mge),
                num(e.granger_r2)
            ));
            s.push_str("<p class=\"caption\">With the label column: the prediction quality, the MGE (mean KL divergence from the Granger-causal targets ω to the attention; 0 means the attention is exactly what leaving each group out costs, lower is more trustworthy) and r² between attention and ω over every row and group. The same numbers as <code>conflux evaluate</code>.</p>");
        }
        None => s.push_str("<p class=\"caption\">Give <code>--label COL</code> to add the prediction quality, the MGE and the Granger r², which say how far to trust these importances.</p>"),
    }
    s.push_str(&format!(
        "<h3>Model</h3><pre>{}</pre></section>",
        text(summary)
    ));
    sections.push(s);

    // Global importance, overall and per predicted class.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| mean_a[b].total_cmp(&mean_a[a]));
    let items: Vec<charts::Importance<'_>> = order
        .iter()
        .take(CHART_FEATURES)
        .map(|&i| charts::Importance {
            name: &names[i],
            pos: None,
            neg: None,
            abs: mean_a[i],
        })
        .collect();
    let mut s = String::from("<section id=\"importance\"><h2>Global importance</h2>");
    s.push_str(&charts::importance(
        &items,
        "ame attention",
        "mean attention",
    ));
    s.push_str(&format!(
        "<p class=\"caption\">Per expert group, the mean attention over every row ({} of {} groups drawn). Attention sums to 1 in each row. The table adds the mean Granger target ω (with <code>--label</code>) and the mean attention in the rows predicted as each class; click a header to sort.</p>",
        items.len(),
        names.len()
    ));
    s.push_str("<table class=\"sortable importance-table\"><thead><tr><th>group</th><th>mean attention</th>");
    if mean_omega.is_some() {
        s.push_str("<th>mean ω</th>");
    }
    for (c, (count, _)) in &g.by_class {
        s.push_str(&format!("<th>predicted {c} ({count} rows)</th>"));
    }
    s.push_str("</tr></thead><tbody>");
    for &i in order.iter().take(TABLE_FEATURES) {
        s.push_str(&format!(
            "<tr><td>{}</td>{}",
            text(&short(&names[i])),
            cell(mean_a[i])
        ));
        if let Some(w) = &mean_omega {
            s.push_str(&cell(w[i]));
        }
        for (count, sum) in g.by_class.values() {
            s.push_str(&cell(sum[i] / *count as f64));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></section>");
    sections.push(s);

    sections.push(beeswarm_section(
        "ame attention",
        names,
        &mean_a,
        &g.sample,
        g.entries,
        (
            "group",
            "further right, more of the prediction came from the group.",
            "attention (share of the prediction) →",
        ),
    ));

    // Per row.
    let orders: &[(&str, &str)] = if g.evaluation.is_some() {
        &[
            ("row", "by row"),
            ("output", "by prediction"),
            ("mge", "by KL(ω ‖ attention)"),
        ]
    } else {
        &[("row", "by row"), ("output", "by prediction")]
    };
    sections.push(format!(
        "<section id=\"rows\"><h2>Per row: importance of each group</h2>{}<p id=\"waterfall-info\"></p><svg id=\"attention\" class=\"chart\" role=\"img\" aria-label=\"attention per group\"></svg><p class=\"caption\">The AME's attention over its expert groups for the row shown (orange; the {TOP} largest, the rest together){}. Hover a bar for its value. The first {} rows of the data are available here.</p></section>",
        picker(&["ame"], orders),
        if g.evaluation.is_some() {
            ", and below each in blue the Granger target ω: the share of the error that leaving the group out adds. Bars of different length are attention the data does not support"
        } else {
            ""
        },
        g.rows.len()
    ));

    if let Encoder::Image { height, width, .. } = &ame.encoder {
        sections.push(images_section(
            1,
            *height,
            *width,
            "The input, then the attention of each pixel's expert group (orange) and, with --label, the group's Granger target ω (blue).",
        ));
    }

    let data = page_data(ame, g, &mean_a);
    html::page("conflux report", &sections, &data)
}

/// The data block the script draws per-row views from.
fn page_data(ame: &Ame, g: &Gathered, mean_a: &[f64]) -> Value {
    let rows: Vec<Value> = g
        .rows
        .iter()
        .map(|v| {
            json!({
                "output": v.output,
                "label": v.class,
                "importance": v.importance,
                "granger": v.granger,
                "mge": v.mge,
            })
        })
        .collect();
    let image = match &ame.encoder {
        Encoder::Image { height, width, .. } => Some(
            json!({"channels": 1, "height": height, "width": width, "cells": super::IMAGE_CELLS}),
        ),
        Encoder::Tabular { .. } => None,
    };
    json!({
        "kind": "ame",
        "groups": ame.groups.names().iter().map(|f| short(f)).collect::<Vec<_>>(),
        "group_of": image.as_ref().map(|_| (0..ame.input_dim()).map(|f| ame.groups.group_of(f)).collect::<Vec<_>>()),
        "top": TOP,
        "rows": g.rows.iter().map(|v| json!({"row": v.row, "values": v.values})).collect::<Vec<_>>(),
        "methods": [{"spec": "ame", "rows": rows, "global": {"importance": mean_a}}],
        "image": image,
        "evaluation": g.evaluation.as_ref().map(|e| json!({
            "rows": e.rows,
            "quality": e.quality.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect::<serde_json::Map<String, Value>>(),
            "mge": e.mge,
            "granger_r2": e.granger_r2,
        })),
    })
}
