//! `conflux demo`: CAFE on a bundled Adult-income MLP and bundled rows, as a readable summary.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use conflux_core::{Attribution, Reference, Target};
use conflux_methods::spec::MethodSpec;

use super::explain::{Consumer, Job, Prepared, stream};
use crate::cli::DemoArgs;

/// The bundled model (see assets/demo/README.md).
pub const MODEL_JSON: &str = include_str!("../../assets/demo/adult_mlp.json");
/// The bundled rows.
pub const DATA_CSV: &str = include_str!("../../assets/demo/adult_sample.csv");

/// One explained row kept for the summary.
struct Row {
    raw: Vec<f64>,
    output: f64,
    baseline: f64,
    pos: Vec<f64>,
    neg: Vec<f64>,
    bias_pos: f64,
    bias_neg: f64,
}

#[derive(Default)]
struct Collect {
    features: Vec<String>,
    rows: Vec<Row>,
}

impl Consumer<f64> for Collect {
    fn begin(&mut self, p: &Prepared<'_>) -> Result<()> {
        self.features.clone_from(&p.features);
        Ok(())
    }
    fn batch(
        &mut self,
        _first: usize,
        raw: &[f64],
        a: &Attribution<f64>,
        _refs: Option<&[f64]>,
    ) -> Result<()> {
        let d = self.features.len();
        let s = a.split.as_ref().context("CAFE returns split scores")?;
        for e in 0..a.len() {
            self.rows.push(Row {
                raw: raw[a.rows[e] * d..(a.rows[e] + 1) * d].to_vec(),
                output: a.output[e],
                baseline: a.baseline_output.as_ref().map_or(0.0, |b| b[e]),
                pos: s.feat_pos.row(e).to_vec(),
                neg: s.feat_neg.row(e).to_vec(),
                bias_pos: s.bias_pos[e],
                bias_neg: s.bias_neg[e],
            });
        }
        Ok(())
    }
}

fn fmt_val(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Features whose smaller side is at least 5 % of the row's total score mass, strongest first.
fn conflicts(r: &Row) -> Vec<usize> {
    let mass: f64 = r.pos.iter().chain(&r.neg).sum();
    let mut idx: Vec<usize> = (0..r.pos.len())
        .filter(|&f| r.pos[f].min(r.neg[f]) >= 0.05 * mass && mass > 0.0)
        .collect();
    idx.sort_by(|&a, &b| r.pos[b].min(r.neg[b]).total_cmp(&r.pos[a].min(r.neg[a])));
    idx
}

fn top(scores: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&f| scores[f] > 1e-6).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    idx.truncate(k);
    idx
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> Result<()> {
    let net = conflux_core::io::json::from_str(MODEL_JSON).context("bundled demo model")?;
    let spec = MethodSpec {
        name: "cafe".into(),
        params: vec![("c".into(), args.c.clone())],
    };
    spec.cafe().context("--c")?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let data = dir.path().join("adult_sample.csv");
    std::fs::write(&data, DATA_CSV).with_context(|| format!("writing {}", data.display()))?;
    let job = Job {
        model: super::Subject::Net(&net),
        data: &data,
        label: Some("income"),
        reference: &Reference::Zeros,
        reference_mode: crate::cli::ReferenceMode::Auto,
        reference_data: None,
        target: Target::Index(0),
        explain_probabilities: false,
        quiet: true,
        max_rows: None,
        spec: &spec,
        groups: None,
        csv: conflux_core::data::csv::CsvOptions::default(),
        seed: 0,
    };
    let mut c = Collect::default();
    stream::<f64>(&job, &mut c)?;
    let mut o = String::new();
    let f = &c.features;
    writeln!(
        o,
        "conflux demo — CAFE (c = {}) on a bundled 13→32→16→1 ReLU MLP trained on Adult income",
        args.c
    )?;
    writeln!(
        o,
        "Explains the logit of P(income > 50K) for each row, relative to the reference 0 in the"
    )?;
    writeln!(
        o,
        "network's standardised input space (= the training mean). S+ pushes the logit up, S− down;"
    )?;
    writeln!(
        o,
        "a feature with both large S+ and S− is in conflict (its effects cancel inside the network).\n"
    )?;
    for (i, r) in c.rows.iter().take(args.rows).enumerate() {
        let net_feat: f64 = r.pos.iter().sum::<f64>() - r.neg.iter().sum::<f64>();
        let prob = 1.0 / (1.0 + (-r.output).exp());
        writeln!(
            o,
            "row {i}: P(>50K) = {prob:.3}   logit {:+.3} = F0(r) {:+.3} + features {net_feat:+.3} + biases {:+.3}",
            r.output,
            r.baseline,
            r.bias_pos - r.bias_neg
        )?;
        let list = |idx: Vec<usize>, scores: &[f64], sign: char| -> String {
            if idx.is_empty() {
                return "none".into();
            }
            idx.iter()
                .map(|&j| format!("{}={} ({sign}{:.3})", f[j], fmt_val(r.raw[j]), scores[j]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(o, "  pushes up    {}", list(top(&r.pos, 3), &r.pos, '+'))?;
        writeln!(o, "  pushes down  {}", list(top(&r.neg, 3), &r.neg, '−'))?;
        let mass: f64 = r.pos.iter().chain(&r.neg).sum::<f64>() + r.bias_pos + r.bias_neg;
        let share = if mass > 0.0 {
            100.0 * (r.bias_pos + r.bias_neg) / mass
        } else {
            0.0
        };
        writeln!(
            o,
            "  biases       B+ {:.3}, B− {:.3} ({share:.0}% of all score mass)",
            r.bias_pos, r.bias_neg
        )?;
        let cf = conflicts(r);
        let cf_text = if cf.is_empty() {
            "none".to_string()
        } else {
            cf.iter()
                .take(3)
                .map(|&j| {
                    format!(
                        "{}={} (S+ {:.3}, S− {:.3})",
                        f[j],
                        fmt_val(r.raw[j]),
                        r.pos[j],
                        r.neg[j]
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(o, "  conflicts    {cf_text}\n")?;
    }
    // Global view over every bundled row.
    let n = c.rows.len();
    #[allow(clippy::cast_precision_loss)]
    let nf = n as f64;
    let mut imp: Vec<(usize, f64, f64)> = (0..f.len())
        .map(|j| {
            let joint = c
                .rows
                .iter()
                .map(|r| (r.pos[j] - r.neg[j]).abs())
                .sum::<f64>()
                / nf;
            let conflict = c.rows.iter().map(|r| r.pos[j].min(r.neg[j])).sum::<f64>() / nf;
            (j, joint, conflict)
        })
        .collect();
    imp.sort_by(|a, b| b.1.total_cmp(&a.1));
    writeln!(
        o,
        "All {n} bundled rows — mean |S+ − S−| (importance) and mean min(S+, S−) (conflict):"
    )?;
    for (j, joint, conflict) in imp.iter().take(6) {
        writeln!(
            o,
            "  {:<28} importance {joint:.3}   conflict {conflict:.3}",
            f[*j]
        )?;
    }
    writeln!(
        o,
        "\nNext: conflux explain --model MODEL --data DATA.csv --label COL --out scores.json"
    )?;
    // The same rows as a report to look at.
    let report = args
        .report
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("conflux-demo-report.html"));
    let page = super::report::html(
        &net,
        &super::report::Request {
            name: "bundled demo model (Adult income MLP)".into(),
            data: &data,
            label: Some("income"),
            reference: &Reference::Zeros,
            reference_data: None,
            target: Target::Index(0),
            specs: std::slice::from_ref(&spec),
            rows: 1000,
            seed: 0,
            csv: conflux_core::data::csv::CsvOptions::default(),
            metric: None,
            quiet: true,
        },
    )?;
    super::report::write(&report, &page)?;
    writeln!(o, "report: {} (open it in a browser)", report.display())?;
    print!("{o}");
    Ok(())
}
