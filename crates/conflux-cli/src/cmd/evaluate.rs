//! `conflux evaluate`: methods × metrics on the rows of a CSV, as a table (mean ± sd over
//! rows) and as JSON/CSV: per method `{"method": "id:params", "<metric>": {"mean", "sd",
//! "rows"}}`.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use conflux_core::data::csv::CsvFile;
use conflux_core::io::AnyModel;
use conflux_core::{Float, Network, Plan, Target};
use conflux_methods::metrics::{self, Perturbation};
use conflux_methods::spec::{Method, MethodSpec};
use ndarray::ArrayView2;
use serde_json::{Value, json};

use super::explain::{Resolved, resolve_reference};
use crate::cli::{EvaluateArgs, Format, Metric, MetricArgs, Precision};
use crate::report::Reporter;

/// Mean, standard deviation and row count of one metric (`None`: not applicable).
pub(crate) type Summary = Option<(f64, f64, usize)>;

/// One method's scores per metric.
struct Row {
    method: String,
    scores: Vec<(Metric, Summary)>,
}

/// `id:key=value:…` for a configured method.
pub(crate) fn label(m: &Method) -> String {
    let mut s = m.id().as_str().to_string();
    for (k, v) in m.params() {
        write!(s, ":{k}={v}").expect("writing to a String");
    }
    s
}

/// Runs `evaluate`.
pub fn run(args: &EvaluateArgs) -> Result<()> {
    let model = super::load_checked(
        &args.model,
        &[
            ("--data", Some(&args.data)),
            (
                "--reference",
                super::explain::reference_file(&args.reference),
            ),
            (
                "--groups",
                args.groups.as_ref().and_then(crate::parse::Groups::file),
            ),
        ],
        args.out.as_deref(),
    )?;
    let net = match model {
        AnyModel::Network(n) => n,
        AnyModel::Ame(a) => {
            if !args.methods.is_empty() || !args.metric.metrics.is_empty() {
                anyhow::bail!(
                    "--method/--metric: evaluate scores an AME by its own quality, MGE and Granger r²; \
                     to compare other methods on an AME use explain --method kernel-shap (or lime, …)"
                );
            }
            return super::ame::evaluate(args, &a);
        }
    };
    if args.methods.is_empty() {
        anyhow::bail!("--method: give at least one method to evaluate, e.g. --method cafe:c=0.5");
    }
    if args.metric.metrics.is_empty() {
        anyhow::bail!("--metric: give at least one metric, e.g. --metric infidelity");
    }
    let specs: Vec<MethodSpec> = args
        .methods
        .iter()
        .map(|m| m.parse().context("--method"))
        .collect::<Result<_>>()?;
    for s in &specs {
        s.build(None, 0).context("--method")?;
    }
    let pool = super::thread_pool(args.threads)?;
    let (n_rows, rows) = pool.install(|| match args.precision {
        Precision::F32 => evaluate::<f32>(args, &net, &specs),
        Precision::F64 => evaluate::<f64>(args, &net, &specs),
    })?;
    // The table.
    let mut table = String::new();
    let header: Vec<&str> = args.metric.metrics.iter().map(|m| m.name()).collect();
    writeln!(table, "| method | {} |", header.join(" | "))?;
    writeln!(table, "|---|{}", "---:|".repeat(header.len()))?;
    for r in &rows {
        let cells: Vec<String> = r
            .scores
            .iter()
            .map(|(_, s)| match s {
                Some((m, sd, _)) => format!("{m:.4} ± {sd:.4}"),
                None => "n/a".into(),
            })
            .collect();
        writeln!(table, "| {} | {} |", r.method, cells.join(" | "))?;
    }
    let machine = |format: Format| -> String {
        match format {
            Format::Json => {
                let v: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        let mut o = json!({"method": r.method});
                        for (m, s) in &r.scores {
                            o[m.name()] = s.map_or(
                                Value::Null,
                                |(mean, sd, n)| json!({"mean": mean, "sd": sd, "rows": n}),
                            );
                        }
                        o
                    })
                    .collect();
                serde_json::to_string_pretty(&json!({"rows_evaluated": n_rows, "methods": v}))
                    .expect("serialisable")
                    + "\n"
            }
            Format::Csv => {
                let mut s = String::from("method");
                for m in &args.metric.metrics {
                    write!(s, ",{0}_mean,{0}_sd,{0}_rows", m.name()).expect("String");
                }
                s.push('\n');
                for r in &rows {
                    s.push_str(&format!("\"{}\"", r.method));
                    for (_, sc) in &r.scores {
                        match sc {
                            Some((m, sd, n)) => write!(s, ",{m},{sd},{n}").expect("String"),
                            None => s.push_str(",,,"),
                        }
                    }
                    s.push('\n');
                }
                s
            }
        }
    };
    crate::output::emit(args.out.as_deref(), args.format, &table, machine)
}

/// What the metrics need besides the method: the rows (scaled), the shared reference
/// (scaled), the perturbations and the flags.
pub(crate) struct Scoring<'a, F: Float> {
    pub plan: &'a Plan<F>,
    pub x: &'a [f64],
    pub reference: &'a [f64],
    pub perturbation: &'a Perturbation,
    pub metric: &'a MetricArgs,
    pub target: Target,
    pub seed: u64,
    /// Ground truth `[rows, d]` for `--metric rmse`.
    pub truth: Option<&'a [f64]>,
}

impl<F: Float> Scoring<'_, F> {
    /// Runs `method` on the rows and scores it with every `--metric` (a bar step each).
    pub fn score(&self, method: &Method, bar: &Reporter) -> Result<Vec<(Metric, Summary)>> {
        let (plan, x, reference, m) = (self.plan, self.x, self.reference, self.metric);
        let d = plan.input_dim();
        let rows = x.len() / d.max(1);
        metrics::check_memory(
            method,
            d,
            rows,
            self.target.per_row(plan.output_dim()),
            m.samples,
            (
                m.metrics.contains(&Metric::Infidelity),
                m.metrics.contains(&Metric::SensitivityMax),
            ),
            conflux_core::Limits::current().data_cells,
        )?;
        let xf: Vec<F> = x.iter().map(|&v| F::of(v)).collect();
        let rf: Vec<F> = reference.iter().map(|&v| F::of(v)).collect();
        let xv = ArrayView2::from_shape((rows, d), &xf[..])?;
        let rv = ArrayView2::from_shape((1, d), &rf[..])?;
        let a = method.attribute(plan, xv, rv, self.target)?;
        let mut scores = Vec::new();
        for &metric in &m.metrics {
            let values = match metric {
                Metric::Infidelity => Some(metrics::infidelity(
                    plan,
                    &a,
                    x,
                    reference,
                    self.perturbation,
                )),
                Metric::SensitivityMax => Some(metrics::sensitivity_max(
                    method, plan, &a, x, rv, m.radius, m.samples, self.seed,
                )?),
                Metric::Completeness => metrics::completeness(&a),
                Metric::Rmse => {
                    let t = self
                        .truth
                        .context("--metric rmse needs the ground-truth columns")?;
                    let scores: Vec<f64> = a.scores.iter().map(|v| v.f64()).collect();
                    let expanded: Vec<f64> = a
                        .rows
                        .iter()
                        .flat_map(|&r| t[r * d..(r + 1) * d].iter().copied())
                        .collect();
                    Some(vec![metrics::rmse_per_column(&scores, &expanded, d)])
                }
            };
            scores.push((metric, values.map(|v| metrics::mean_sd(&v))));
            bar.inc();
        }
        Ok(scores)
    }
}

/// The perturbations of `--metric infidelity`: `--categorical` columns (by name among
/// `features`, widened to their `groups`) are resampled, the others noised.
pub(crate) fn perturbation(
    m: &MetricArgs,
    features: &[String],
    groups: Option<&conflux_core::FeatureGroups>,
    seed: u64,
) -> Result<Perturbation> {
    let categorical = m
        .categorical
        .iter()
        .map(|c| {
            features.iter().position(|f| f == c).with_context(|| {
                format!(
                    "--categorical: unknown column '{}'; features are {}",
                    conflux_core::error::quote(c),
                    conflux_core::error::list(features)
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let p = Perturbation {
        sd: m.perturb_sd,
        categorical_prob: m.categorical_prob,
        categorical: metrics::categorical_groups(&categorical, groups),
        samples: m.samples,
        seed,
    };
    p.validate()?;
    Ok(p)
}

fn evaluate<F: Float>(
    args: &EvaluateArgs,
    net: &Network,
    specs: &[MethodSpec],
) -> Result<(usize, Vec<Row>)> {
    let d = net.input_dim();
    let plan = Plan::<F>::new(net, false)?;
    args.target
        .validate(plan.output_dim())
        .context("--target")?;
    let csv = args.csv.options();
    let file = CsvFile::open(&args.data, &csv)?;
    let rmse = args.metric.metrics.contains(&Metric::Rmse);
    // A model without stored feature names takes every column but the label; with
    // --metric rmse the ground-truth columns are not features either.
    let unnamed_features = match net.stored_feature_names() {
        None if rmse => Some(
            file.header()
                .iter()
                .filter(|h| Some(h.as_str()) != args.label.as_deref())
                .filter(|h| !h.starts_with(&args.truth_prefix))
                .cloned()
                .collect::<Vec<_>>(),
        ),
        _ => None,
    };
    let data_name = file.path().to_path_buf();
    let mut src = file.select(
        args.label.as_deref(),
        true,
        d,
        net.stored_feature_names().or(unnamed_features.as_deref()),
    )?;
    let features = src.columns().feature_names();
    // Ground truth for --metric rmse: columns <prefix><feature>, read in the same pass.
    if rmse {
        let names: Vec<String> = features
            .iter()
            .map(|f| format!("{}{f}", args.truth_prefix))
            .collect();
        if let Some(missing) = names.iter().find(|n| !src.columns().header.contains(n)) {
            anyhow::bail!(
                "--metric rmse: {} has no ground-truth column '{}' (--truth-prefix {})",
                data_name.display(),
                conflux_core::error::quote(missing),
                conflux_core::error::quote(&args.truth_prefix)
            );
        }
        src = src.with_extra(&names)?;
    }
    let (mut x, mut labels, mut truth_values) = (Vec::new(), Vec::new(), Vec::new());
    src.read_block_with(
        args.max_rows.unwrap_or(usize::MAX),
        &mut x,
        &mut labels,
        &mut truth_values,
    )?;
    src.ensure_rows()?;
    let rows = src.rows_read();
    drop(src);
    if let Some(p) = net.preprocess() {
        p.apply(&mut x);
    }
    let Resolved::Shared(reference) = resolve_reference(
        super::Subject::Net(net),
        &args.data,
        &csv,
        args.label.as_deref(),
        &args.reference,
        None,
        crate::cli::ReferenceMode::Auto,
    )?
    else {
        anyhow::bail!(
            "--reference: evaluate takes one shared reference row (zeros, mean, median or a one-row file)"
        );
    };
    let groups = match &args.groups {
        Some(g) => Some(g.resolve(&features, plan.input_shape())?),
        None => None,
    };
    let perturbation = perturbation(&args.metric, &features, groups.as_ref(), args.seed)?;
    let scoring = Scoring {
        plan: &plan,
        x: &x,
        reference: &reference,
        perturbation: &perturbation,
        metric: &args.metric,
        target: args.target,
        seed: args.seed,
        truth: rmse.then_some(&truth_values[..]),
    };
    let bar = Reporter::steps(
        (specs.len() * args.metric.metrics.len()) as u64,
        "evaluating",
        args.quiet,
    );
    let mut out = Vec::new();
    for spec in specs {
        let method = spec.build(groups.as_ref(), args.seed).context("--method")?;
        method.validate(&plan).context("--method")?;
        out.push(Row {
            method: label(&method),
            scores: scoring.score(&method, &bar)?,
        });
    }
    bar.finish();
    Ok((rows, out))
}
