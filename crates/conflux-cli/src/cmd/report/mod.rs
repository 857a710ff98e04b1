//! `conflux report`: one self-contained HTML file explaining a model on a CSV — overview,
//! global importance (CAFE's S+ and S− side by side), beeswarm, per-row waterfall with a row
//! picker, and conflicts. Every method streams the data once (`explain::stream`); dataset
//! views use every row (the beeswarm draws a seeded sample), per-row views the first
//! `--rows` rows.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use conflux_core::Plan;
use conflux_core::data::csv::{CsvOptions, CsvSource};
use conflux_core::io::AnyModel;
use conflux_core::net::Network;
use conflux_core::rng::Rng;
use conflux_core::stats::spearman;
use conflux_core::{Attribution, Reference, Target};
use conflux_methods::metrics::Perturbation;
use conflux_methods::spec::MethodSpec;
use serde_json::{Value, json};

mod ame;

use super::Subject;
use super::evaluate::{Scoring, Summary};
use super::explain::{
    Consumer, Job, Prepared, Resolved, reference_file, resolve_reference, stream,
};
use crate::cli::{Metric, MetricArgs, ReferenceMode, ReportArgs};
use crate::html::{self, charts, num, short, text};
use crate::output::Sink;
use crate::report::Reporter;

/// Rows the beeswarm draws (a seeded uniform sample of all rows).
const SWARM_ROWS: usize = 400;
/// Features the beeswarm and the waterfall show by name.
const TOP: usize = 12;
/// Features the importance charts draw and the tables list (the most important ones).
const CHART_FEATURES: usize = 40;
const TABLE_FEATURES: usize = 200;
/// Numbers the per-row views may hold in all (values, and scores, S+ and S− per method):
/// about 3 MB of JSON, so that the file stays under 5 MB whatever the width of the data.
const ROW_VALUES: usize = 150_000;
/// Numbers the beeswarm's sample may hold in memory (values and scores of its rows).
const SWARM_VALUES: usize = 8_000_000;
/// A feature is in conflict when its smaller part exceeds this share of its larger one.
const CONFLICT_SHARE: f64 = 0.5;

/// Runs `report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    let model = super::load_checked(
        &args.model,
        &[
            ("--data", Some(&args.data)),
            ("--reference", reference_file(&args.reference)),
            ("--reference-data", args.reference_data.as_deref()),
        ],
        Some(&args.out),
    )?;
    if args.target == conflux_core::Target::All {
        anyhow::bail!(
            "--target all: a report explains one output per row; give predicted or an index"
        );
    }
    if let AnyModel::Ame(_) = &model {
        // An AME explains itself; the network options do not apply.
        for (flag, given) in [
            ("--method", !args.methods.is_empty()),
            ("--metric", !args.metric.metrics.is_empty()),
            ("--c", args.c.is_some()),
            ("--reference", args.reference != Reference::Zeros),
            ("--reference-data", args.reference_data.is_some()),
            ("--target", args.target != Target::Predicted),
        ] {
            if given {
                anyhow::bail!(
                    "{flag}: an AME's report shows its own attention (and with --label its MGE); \
                     to run other methods on an AME use `conflux explain --method kernel-shap` (or lime, …)"
                );
            }
        }
    }
    let specs = match &model {
        AnyModel::Network(_) => method_specs(&args.methods, args.c.as_deref())?,
        AnyModel::Ame(_) => Vec::new(),
    };
    let pool = super::thread_pool(args.threads)?;
    let job = Request {
        name: args.model.model.display().to_string(),
        data: &args.data,
        label: args.label.as_deref(),
        reference: &args.reference,
        reference_data: args.reference_data.as_deref(),
        target: args.target,
        specs: &specs,
        rows: args.rows,
        seed: args.seed,
        csv: args.csv.options(),
        metric: (!args.metric.metrics.is_empty()).then_some(&args.metric),
        quiet: args.quiet,
    };
    let page = pool.install(|| match &model {
        AnyModel::Network(net) => html(net, &job),
        AnyModel::Ame(a) => {
            let summary = conflux_core::inspect::text(&model, &job.name);
            ame::html(a, &summary, &job)
        }
    })?;
    write(&args.out, &page)?;
    if !args.quiet {
        eprintln!("wrote {} ({} bytes)", args.out.display(), page.len());
    }
    Ok(())
}

/// What a report is made of.
pub struct Request<'a> {
    /// The model as the overview names it.
    pub name: String,
    /// The data file.
    pub data: &'a Path,
    /// Its label column.
    pub label: Option<&'a str>,
    /// The reference.
    pub reference: &'a Reference,
    /// Rows for a mean/median reference.
    pub reference_data: Option<&'a Path>,
    /// The explained output.
    pub target: Target,
    /// The methods (the first draws the beeswarm).
    pub specs: &'a [MethodSpec],
    /// Rows with per-row views (at most; fewer for wide data).
    pub rows: usize,
    /// Seed (sampling methods, the beeswarm's sample).
    pub seed: u64,
    /// How the data file is read.
    pub csv: CsvOptions,
    /// `--metric` and its settings: a metric table on the per-row rows.
    pub metric: Option<&'a MetricArgs>,
    /// No progress bar.
    pub quiet: bool,
}

/// The report page for `net` (runs on the current thread pool).
pub fn html(net: &Network, req: &Request<'_>) -> Result<String> {
    anyhow::ensure!(!req.specs.is_empty(), "report: no method to run");
    // The metric settings are checked (and their rows read) before the data is streamed.
    let metric_inputs = match req.metric {
        Some(m) => Some(metric_inputs(net, req, m)?),
        None => None,
    };
    let image = image_shape(&net.input_shape());
    // Images wider than IMAGE_CELLS pixels are shown in cells of f × f pixels.
    let cells = image.map(Cells::new).filter(Cells::pooled);
    let (values, scores) = cells
        .as_ref()
        .map_or((net.input_dim(), net.input_dim()), |c| {
            (c.channels * c.len(), c.len())
        });
    // Per-row views: the first `rows` rows, fewer (maybe none) when the data is wide; the
    // dataset maps of an image model count against the same budget.
    let methods = req.specs.len();
    let maps = if image.is_some() {
        3 * scores * methods
    } else {
        0
    };
    let keep = rows_within(
        ROW_VALUES.saturating_sub(maps),
        values + 3 * scores * methods,
        req.rows,
    );
    let started = Instant::now();
    let mut runs = Vec::new();
    for (k, spec) in req.specs.iter().enumerate() {
        let job = Job {
            model: Subject::Net(net),
            data: req.data,
            label: req.label,
            reference: req.reference,
            reference_data: req.reference_data,
            reference_mode: ReferenceMode::Auto,
            target: req.target,
            explain_probabilities: false,
            quiet: req.quiet,
            max_rows: None,
            spec,
            groups: None,
            seed: req.seed,
            csv: req.csv,
        };
        // Only the first method draws the beeswarm.
        let swarm = if k == 0 {
            swarm_rows(values.max(scores))
        } else {
            0
        };
        let mut g = Gather::new(keep, swarm, cells.clone(), req.seed);
        let t = Instant::now();
        stream::<f64>(&job, &mut g)?;
        runs.push(g.finish(spec.to_string(), t.elapsed().as_secs_f64()));
    }
    let scores = match (req.metric, &metric_inputs) {
        (Some(m), Some(inputs)) => metric_scores(net, req, m, inputs)?,
        _ => Vec::new(),
    };
    let summary = conflux_core::inspect::network_text(net, &req.name);
    Ok(build(
        req,
        &summary,
        &runs,
        &scores,
        image.map(|i| (i, cells)),
        started.elapsed().as_secs_f64(),
    ))
}

/// An image model's `(channels, height, width)` and, for large images, the cells the
/// report holds it in.
type ImageView = ((usize, usize, usize), Option<Cells>);

/// Rows of `per_row` numbers that fit in `budget`, at most `wanted` (0 when not even one).
pub(crate) fn rows_within(budget: usize, per_row: usize, wanted: usize) -> usize {
    wanted.min(budget / per_row.max(1))
}

/// Rows the beeswarm samples for rows of `width` numbers: [`SWARM_ROWS`], fewer for very
/// wide data so that the sample stays within [`SWARM_VALUES`] in memory.
pub(crate) fn swarm_rows(width: usize) -> usize {
    SWARM_ROWS.min(SWARM_VALUES / (2 * width.max(1))).max(1)
}

/// An image as per-row views show it: cells of `f × f` pixels, so that no side has more
/// than [`IMAGE_CELLS`] cells. Scores add up over a cell (and its channels), so a cell's
/// score is the share of the output its pixels carry; input values are averaged per channel.
#[derive(Debug, Clone)]
pub(crate) struct Cells {
    channels: usize,
    height: usize,
    width: usize,
    f: usize,
    /// Cells down and across.
    rows: usize,
    cols: usize,
}

impl Cells {
    pub(crate) fn new((channels, height, width): (usize, usize, usize)) -> Self {
        let f = height.max(width).div_ceil(IMAGE_CELLS).max(1);
        Cells {
            channels,
            height,
            width,
            f,
            rows: height.div_ceil(f),
            cols: width.div_ceil(f),
        }
    }

    /// What per-row views and maps hold of per-feature scores `v`: every feature, or the
    /// cells' sums of a large image.
    pub(crate) fn view(cells: Option<&Cells>, v: &[f64]) -> Vec<f64> {
        cells.map_or_else(|| v.to_vec(), |c| c.scores(v))
    }

    /// Whether cells hold more than one pixel.
    pub(crate) fn pooled(&self) -> bool {
        self.f > 1
    }

    /// Cells per channel.
    pub(crate) fn len(&self) -> usize {
        self.rows * self.cols
    }

    fn cell(&self, i: usize, j: usize) -> usize {
        (i / self.f) * self.cols + j / self.f
    }

    /// Per channel, the mean of each cell's pixels: `[channels, rows, cols]`.
    pub(crate) fn input(&self, v: &[f64]) -> Vec<f64> {
        let (n, hw) = (self.len(), self.height * self.width);
        let (mut sum, mut count) = (vec![0.0; self.channels * n], vec![0usize; n]);
        for i in 0..self.height {
            for j in 0..self.width {
                let k = self.cell(i, j);
                count[k] += 1;
                for c in 0..self.channels {
                    sum[c * n + k] += v[c * hw + i * self.width + j];
                }
            }
        }
        for (k, s) in sum.iter_mut().enumerate() {
            *s /= count[k % n].max(1) as f64;
        }
        sum
    }

    /// Each cell's sum over its pixels and channels: `[rows, cols]`.
    pub(crate) fn scores(&self, v: &[f64]) -> Vec<f64> {
        let (n, hw) = (self.len(), self.height * self.width);
        let mut out = vec![0.0; n];
        for c in 0..self.channels {
            for i in 0..self.height {
                for j in 0..self.width {
                    out[self.cell(i, j)] += v[c * hw + i * self.width + j];
                }
            }
        }
        out
    }

    /// The mean over channels of [`Cells::input`]: one brightness per cell.
    pub(crate) fn brightness(&self, v: &[f64]) -> Vec<f64> {
        let n = self.len();
        let per_channel = self.input(v);
        (0..n)
            .map(|k| {
                (0..self.channels)
                    .map(|c| per_channel[c * n + k])
                    .sum::<f64>()
                    / self.channels as f64
            })
            .collect()
    }

    /// Names of the cells: `cell r,c (pixels a–b × c–d)`.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.len());
        for r in 0..self.rows {
            for c in 0..self.cols {
                out.push(format!(
                    "cell {r},{c} (rows {}–{}, cols {}–{})",
                    r * self.f,
                    ((r + 1) * self.f).min(self.height) - 1,
                    c * self.f,
                    ((c + 1) * self.f).min(self.width) - 1
                ));
            }
        }
        out
    }
}

/// A method's label and its metrics (mean ± sd over rows).
type MethodScores = (String, Vec<(Metric, Summary)>);

/// What `--metric` scores the methods on, prepared (and checked) before the data is
/// streamed: the first `--rows` rows (scaled), the shared reference and the perturbations.
pub(crate) struct MetricInputs {
    x: Vec<f64>,
    reference: Vec<f64>,
    perturbation: Perturbation,
}

/// Checks `--metric`'s settings and reads its rows.
fn metric_inputs(net: &Network, req: &Request<'_>, m: &MetricArgs) -> Result<MetricInputs> {
    if m.metrics.contains(&Metric::Rmse) {
        anyhow::bail!(
            "--metric rmse: the report does not read ground-truth columns; use `conflux evaluate --metric rmse`"
        );
    }
    let Resolved::Shared(reference) = resolve_reference(
        Subject::Net(net),
        req.data,
        &req.csv,
        req.label,
        req.reference,
        req.reference_data,
        ReferenceMode::Auto,
    )?
    else {
        anyhow::bail!(
            "--metric: the metrics take one shared reference row (zeros, mean, median or a one-row file)"
        );
    };
    let mut src = CsvSource::open(
        req.data,
        &req.csv,
        req.label,
        net.input_dim(),
        net.stored_feature_names(),
    )?;
    let features = src.columns().feature_names();
    let perturbation = super::evaluate::perturbation(m, &features, None, req.seed)?;
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    src.read_block(req.rows, &mut x, &mut labels)?;
    if let Some(p) = net.preprocess() {
        p.apply(&mut x);
    }
    Ok(MetricInputs {
        x,
        reference,
        perturbation,
    })
}

/// `evaluate`'s metrics of every method on the metric rows, with the shared reference:
/// `(method, [(metric, mean ± sd over rows)])`.
fn metric_scores(
    net: &Network,
    req: &Request<'_>,
    m: &MetricArgs,
    inputs: &MetricInputs,
) -> Result<Vec<MethodScores>> {
    let plan = Plan::<f64>::new(net, false)?;
    let scoring = Scoring {
        plan: &plan,
        x: &inputs.x,
        reference: &inputs.reference,
        perturbation: &inputs.perturbation,
        metric: m,
        target: req.target,
        seed: req.seed,
        truth: None,
    };
    let bar = Reporter::steps(
        (req.specs.len() * m.metrics.len()) as u64,
        "scoring",
        req.quiet,
    );
    let mut out = Vec::new();
    for spec in req.specs {
        let method = spec.build(None, req.seed).context("--method")?;
        method.validate(&plan).context("--method")?;
        out.push((
            super::evaluate::label(&method),
            scoring.score(&method, &bar)?,
        ));
    }
    bar.finish();
    Ok(out)
}

/// Writes `page` to `out` atomically.
pub fn write(out: &Path, page: &str) -> Result<()> {
    let mut sink = Sink::open(Some(out))?;
    sink.write_all(page.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    sink.commit()
}

/// The methods to run: `--method` (repeatable; default CAFE), with `--c` for CAFE.
fn method_specs(methods: &[String], c: Option<&str>) -> Result<Vec<MethodSpec>> {
    let names: Vec<&str> = if methods.is_empty() {
        vec!["cafe"]
    } else {
        methods.iter().map(String::as_str).collect()
    };
    let mut specs = Vec::new();
    for m in names {
        let mut spec: MethodSpec = m.parse().context("--method")?;
        if let (Some(c), "cafe") = (c, spec.name.as_str()) {
            if spec.params.iter().any(|(k, _)| k == "c") {
                anyhow::bail!("--c and --method cafe:c=… both set c; give it once");
            }
            spec.params.push(("c".into(), c.to_string()));
        }
        spec.build(None, 0).context("--method")?;
        specs.push(spec);
    }
    if c.is_some() && !specs.iter().any(|s| s.name == "cafe") {
        anyhow::bail!("--c sets CAFE's c, but no --method is cafe");
    }
    Ok(specs)
}

/// One row as the per-row views need it.
struct RowView {
    row: usize,
    values: Vec<f64>,
    output: f64,
    baseline: Option<f64>,
    scores: Vec<f64>,
    split: Option<(Vec<f64>, Vec<f64>, f64)>,
    gap: Option<f64>,
}

/// What one method's run leaves for the page.
struct Run {
    spec: String,
    seconds: f64,
    features: Vec<String>,
    baseline_kind: Option<String>,
    entries: usize,
    mean_abs: Vec<f64>,
    mean_pos: Option<Vec<f64>>,
    mean_neg: Option<Vec<f64>>,
    mean_conflict: Option<Vec<f64>>,
    max_gap: Option<f64>,
    /// The largest gap relative to the row's scale (1 + |output| + |baseline| + Σ|scores|).
    max_rel_gap: f64,
    rows: Vec<RowView>,
    /// The beeswarm's sample: (data row, raw values, scores).
    sample: Vec<(usize, Vec<f64>, Vec<f64>)>,
}

/// A seeded uniform sample of at most `size` items from a stream (Algorithm R): an item
/// is built only when it is kept.
pub(crate) struct Reservoir<T> {
    size: usize,
    seen: usize,
    rng: Rng,
    /// The sample, in no particular order.
    pub items: Vec<T>,
}

impl<T> Reservoir<T> {
    pub(crate) fn new(size: usize, seed: u64) -> Self {
        Reservoir {
            size,
            seen: 0,
            rng: Rng::for_row(seed, usize::MAX - 7),
            items: Vec::new(),
        }
    }

    /// Offers the next item of the stream.
    pub(crate) fn offer(&mut self, make: impl FnOnce() -> T) {
        let slot = if self.items.len() < self.size {
            Some(self.items.len())
        } else {
            Some(self.rng.below(self.seen + 1)).filter(|&j| j < self.size)
        };
        self.seen += 1;
        if let Some(j) = slot {
            if j == self.items.len() {
                self.items.push(make());
            } else {
                self.items[j] = make();
            }
        }
    }
}

/// Streams one method's results into sums over every row, the first rows in full, and a
/// seeded reservoir sample for the beeswarm.
struct Gather {
    keep: usize,
    /// Per-row views and the sample in cells (large images).
    cells: Option<Cells>,
    features: Vec<String>,
    baseline_kind: Option<String>,
    entries: usize,
    sum_abs: Vec<f64>,
    sum_pos: Vec<f64>,
    sum_neg: Vec<f64>,
    sum_conflict: Vec<f64>,
    split: bool,
    max_gap: Option<f64>,
    max_rel_gap: f64,
    rows: Vec<RowView>,
    sample: Reservoir<(usize, Vec<f64>, Vec<f64>)>,
}

impl Gather {
    fn new(keep: usize, swarm: usize, cells: Option<Cells>, seed: u64) -> Self {
        Gather {
            keep,
            cells,
            features: Vec::new(),
            baseline_kind: None,
            entries: 0,
            sum_abs: Vec::new(),
            sum_pos: Vec::new(),
            sum_neg: Vec::new(),
            sum_conflict: Vec::new(),
            split: false,
            max_gap: None,
            max_rel_gap: 0.0,
            rows: Vec::new(),
            sample: Reservoir::new(swarm, seed),
        }
    }

    fn finish(self, spec: String, seconds: f64) -> Run {
        let n = self.entries.max(1) as f64;
        let mean = |v: &[f64]| v.iter().map(|s| s / n).collect::<Vec<f64>>();
        Run {
            spec,
            seconds,
            features: self.features,
            baseline_kind: self.baseline_kind,
            entries: self.entries,
            mean_abs: mean(&self.sum_abs),
            mean_pos: self.split.then(|| mean(&self.sum_pos)),
            mean_neg: self.split.then(|| mean(&self.sum_neg)),
            mean_conflict: self.split.then(|| mean(&self.sum_conflict)),
            max_gap: self.max_gap,
            max_rel_gap: self.max_rel_gap,
            rows: self.rows,
            sample: self.sample.items,
        }
    }
}

impl Consumer<f64> for Gather {
    fn begin(&mut self, p: &Prepared<'_>) -> Result<()> {
        let d = p.features.len();
        self.features.clone_from(&p.features);
        self.baseline_kind = p.method.baseline_kind(p.gates).map(str::to_string);
        for v in [
            &mut self.sum_abs,
            &mut self.sum_pos,
            &mut self.sum_neg,
            &mut self.sum_conflict,
        ] {
            *v = vec![0.0; d];
        }
        Ok(())
    }

    fn batch(
        &mut self,
        first_row: usize,
        raw: &[f64],
        a: &Attribution<f64>,
        _refs: Option<&[f64]>,
    ) -> Result<()> {
        let d = self.features.len();
        let gaps = a.completeness_gap();
        self.split = a.split.is_some();
        // Score arrays are `[entries, d]` in standard layout: a row is a plain slice.
        fn slice(m: &ndarray::Array2<f64>) -> Result<&[f64]> {
            m.as_slice().context("scores in standard layout")
        }
        let all_scores = slice(&a.scores)?;
        let split = match &a.split {
            Some(s) => Some((slice(&s.feat_pos)?, slice(&s.feat_neg)?)),
            None => None,
        };
        for e in 0..a.len() {
            let scores = &all_scores[e * d..(e + 1) * d];
            let parts = split.map(|(p, n)| (&p[e * d..(e + 1) * d], &n[e * d..(e + 1) * d]));
            let values = &raw[a.rows[e] * d..(a.rows[e] + 1) * d];
            if !a.output[e].is_finite() || scores.iter().any(|v| !v.is_finite()) {
                anyhow::bail!(
                    "data row {}: the model's output or a score is not a finite number (the \
                     network overflows on this row); a report needs finite numbers",
                    first_row + a.rows[e] + 1
                );
            }
            for (s, v) in self.sum_abs.iter_mut().zip(scores) {
                *s += v.abs();
            }
            if let Some((p, n)) = parts {
                for f in 0..d {
                    self.sum_pos[f] += p[f];
                    self.sum_neg[f] += n[f];
                    self.sum_conflict[f] += p[f].min(n[f]);
                }
            }
            let gap = gaps.as_ref().map(|g| g[e]);
            if let Some(g) = gap {
                self.max_gap = Some(self.max_gap.map_or(g.abs(), |m: f64| m.max(g.abs())));
                let mut scale = 1.0 + a.output[e].abs();
                scale += a.baseline_output.as_ref().map_or(0.0, |b| b[e].abs());
                scale += match (&a.split, parts) {
                    (Some(sp), Some((p, n))) => {
                        p.iter().sum::<f64>()
                            + n.iter().sum::<f64>()
                            + sp.bias_pos[e]
                            + sp.bias_neg[e]
                    }
                    _ => scores.iter().map(|v| v.abs()).sum::<f64>(),
                };
                self.max_rel_gap = self.max_rel_gap.max(g.abs() / scale);
            }
            let row = first_row + a.rows[e];
            let view = |v: &[f64]| Cells::view(self.cells.as_ref(), v);
            if self.rows.len() < self.keep {
                self.rows.push(RowView {
                    row,
                    values: self
                        .cells
                        .as_ref()
                        .map_or_else(|| values.to_vec(), |c| c.input(values)),
                    output: a.output[e],
                    baseline: a.baseline_output.as_ref().map(|b| b[e]),
                    scores: view(scores),
                    split: a
                        .split
                        .as_ref()
                        .zip(parts)
                        .map(|(s, (p, n))| (view(p), view(n), s.bias_pos[e] - s.bias_neg[e])),
                    gap,
                });
            }
            let cells = &self.cells;
            self.sample.offer(|| match cells {
                Some(c) => (row, c.brightness(values), c.scores(scores)),
                None => (row, values.to_vec(), scores.to_vec()),
            });
            self.entries += 1;
        }
        Ok(())
    }
}

/// The page.
fn build(
    req: &Request<'_>,
    summary: &str,
    runs: &[Run],
    scores: &[MethodScores],
    image: Option<ImageView>,
    seconds: f64,
) -> String {
    let first = &runs[0];
    let features = &first.features;
    let mut sections = Vec::new();

    // Overview.
    let mut s = String::from("<section id=\"overview\"><h2>Overview</h2>");
    s.push_str(&format!(
        "<p>Data <code>{}</code>: {} rows × {} features. Methods: {}. Total run time {} s.</p>",
        text(&req.data.display().to_string()),
        first.entries,
        features.len(),
        runs.iter()
            .map(|r| format!("<code>{}</code>", text(&r.spec)))
            .collect::<Vec<_>>()
            .join(", "),
        num(seconds)
    ));
    s.push_str("<table id=\"methods\"><thead><tr><th>method</th><th>baseline</th><th>max |completeness gap|</th><th>run time (s)</th></tr></thead><tbody>");
    for r in runs {
        let gap = r.max_gap.map_or_else(
            || "<span>not claimed</span>".to_string(),
            |g| {
                if r.max_rel_gap <= 1e-6 {
                    format!("<span class=\"ok\">✓ {}</span>", num(g))
                } else {
                    format!("<span class=\"bad\">✗ {} (not exact)</span>", num(g))
                }
            },
        );
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{gap}</td><td>{}</td></tr>",
            text(&r.spec),
            text(r.baseline_kind.as_deref().unwrap_or("none")),
            num(r.seconds)
        ));
    }
    s.push_str("</tbody></table><p class=\"caption\">Completeness: Σ scores (plus CAFE's bias scores) should equal the output minus the baseline output; the gap is the largest miss over all rows.</p>");
    s.push_str(&format!(
        "<h3>Model</h3><pre>{}</pre></section>",
        text(summary)
    ));
    sections.push(s);

    // Global importance, per method.
    let mut s = String::from("<section id=\"importance\"><h2>Global importance</h2>");
    for r in runs {
        let mut order: Vec<usize> = (0..r.features.len()).collect();
        order.sort_by(|&a, &b| r.mean_abs[b].total_cmp(&r.mean_abs[a]));
        let items: Vec<charts::Importance<'_>> = order
            .iter()
            .take(CHART_FEATURES)
            .map(|&f| charts::Importance {
                name: &r.features[f],
                pos: r.mean_pos.as_ref().map(|v| v[f]),
                neg: r.mean_neg.as_ref().map(|v| v[f]),
                abs: r.mean_abs[f],
            })
            .collect();
        s.push_str(&format!("<h3>{}</h3>", text(&r.spec)));
        s.push_str(&charts::importance(&items, &r.spec, "mean |score|"));
        if order.len() > CHART_FEATURES {
            s.push_str(&format!(
                "<p class=\"caption\">The {CHART_FEATURES} most important of {} features are drawn; the table lists the first {}.</p>",
                order.len(),
                order.len().min(TABLE_FEATURES)
            ));
        }
        s.push_str(if r.mean_pos.is_some() {
            "<p class=\"caption\">Per feature, over every row: the mean of CAFE's negative part S− (blue, left) and positive part S+ (orange, right). A feature with both bars long pushes the output both ways; its joint score S+ − S− hides that. Features sorted by mean |S+ − S−|; click a table header to sort.</p>"
        } else {
            "<p class=\"caption\">Per feature, over every row: the mean |score|. Click a table header to sort.</p>"
        });
        s.push_str("<table class=\"sortable importance-table\"><thead><tr><th>feature</th><th>mean |score|</th>");
        if r.mean_pos.is_some() {
            s.push_str("<th>mean S+</th><th>mean S−</th><th>mean min(S+, S−)</th>");
        }
        s.push_str("</tr></thead><tbody>");
        for &f in order.iter().take(TABLE_FEATURES) {
            s.push_str(&format!(
                "<tr><td>{}</td>{}",
                text(&short(&r.features[f])),
                html::cell(r.mean_abs[f])
            ));
            if let (Some(p), Some(n), Some(c)) = (&r.mean_pos, &r.mean_neg, &r.mean_conflict) {
                for v in [p[f], n[f], c[f]] {
                    s.push_str(&html::cell(v));
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section>");
    sections.push(s);

    // Beeswarm of the first method (over cells for a large image).
    let cells = image.as_ref().and_then(|(_, c)| c.as_ref());
    let (lanes, lane_importance) = match cells {
        Some(c) => (c.names(), c.scores(&first.mean_abs)),
        None => (features.clone(), first.mean_abs.clone()),
    };
    sections.push(beeswarm_section(
        &first.spec,
        &lanes,
        &lane_importance,
        &first.sample,
        first.entries,
        (
            "feature",
            "left of the axis the feature lowered the output, right it raised it.",
            "score (← lowers the output · raises it →)",
        ),
    ));

    // Per-row waterfall and conflicts (drawn by the page's script from the data block).
    let specs: Vec<&str> = runs.iter().map(|r| r.spec.as_str()).collect();
    let picker = picker(
        &specs,
        &[
            ("row", "by row"),
            ("output", "by prediction"),
            ("conflict", "by conflict"),
        ],
    );
    sections.push(format!(
        "<section id=\"rows\"><h2>Per row: from the baseline to the output</h2>{picker}<p id=\"waterfall-info\"></p><svg id=\"waterfall\" class=\"chart\" role=\"img\" aria-label=\"waterfall\"></svg><p class=\"caption\">Each bar is one feature's score: orange raised the output, blue lowered it, grey is what the biases did (CAFE). Bars start where the previous ended, from the baseline output (top) to the row's output (bottom); hover a bar for the feature's value and, for CAFE, its S+ and S−. The first {} rows of the data are available here{}.</p><h3>Conflicts in this row</h3><ul id=\"row-conflicts\"></ul><p class=\"caption\">Features whose smaller part (S+ or S−) is more than half their larger one: large opposing effects that cancel in the joint score.</p></section>",
        first.rows.len(),
        if first.rows.is_empty() && first.entries > 0 {
            format!(" (none: one row of data this wide is more than the {ROW_VALUES} numbers per-row views may hold in the file)")
        } else if first.rows.len() < req.rows.min(first.entries) {
            format!(" (--rows {} was lowered to keep the file small for data this wide)", req.rows)
        } else {
            String::new()
        }
    ));

    if let Some(((c, h, w), cells)) = &image {
        let mut reading = String::from(if first.mean_pos.is_some() {
            "Per row: the input, then where the image pushed the output up (S+, orange), where it pushed it down (S−, blue, on the same scale as S+) and the joint score S+ − S− (orange raises, blue lowers); pixels strong in both S+ and S− are conflicts that the joint map cancels away. Over every row: the mean S+, the mean S− and the mean |S+ − S−| (all ≥ 0, darker is more)."
        } else {
            "Per row: the input, then the score per pixel (orange raised the output, blue lowered it). Over every row: the mean |score| (≥ 0, darker is more)."
        });
        if let Some(cells) = cells {
            reading.push_str(&format!(
                " The image is wider than {IMAGE_CELLS} pixels, so the report holds cells of {f} × {f} pixels: a cell's score is the sum of its pixels' (so the waterfall, beeswarm and per-row conflicts here are per cell), its input the mean.",
                f = cells.f
            ));
        }
        sections.push(images_section(*c, *h, *w, &reading));
    }

    // Method comparison: rank agreement of |scores|, and the metric table.
    if runs.len() > 1 || !scores.is_empty() {
        sections.push(comparison_section(runs, scores));
    }

    // Global conflicts (CAFE).
    if let (Some(c), Some(p), Some(n)) = (&first.mean_conflict, &first.mean_pos, &first.mean_neg) {
        let mut order: Vec<usize> = (0..features.len()).collect();
        order.sort_by(|&a, &b| c[b].total_cmp(&c[a]));
        let mut s = String::from(
            "<section id=\"conflicts\"><h2>Conflicts</h2><table class=\"sortable\"><thead><tr><th>feature</th><th>mean min(S+, S−)</th><th>mean S+</th><th>mean S−</th><th>mean |S+ − S−|</th></tr></thead><tbody>",
        );
        for &f in order.iter().take(TOP) {
            s.push_str(&format!("<tr><td>{}</td>", text(&short(&features[f]))));
            for v in [c[f], p[f], n[f], first.mean_abs[f]] {
                s.push_str(&html::cell(v));
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table><p class=\"caption\">Features that push the output up and down at once, averaged over every row: the larger min(S+, S−), the more of the feature's effect cancels out — which gradients, DeepLIFT and Integrated Gradients do not show.</p></section>");
        sections.push(s);
    }

    let data = page_data(runs, image.as_ref());
    html::page("conflux report", &sections, &data)
}

/// The beeswarm section: lanes for the [`TOP`] `names` by `importance`, one dot per sampled
/// `(row, values, scores)` and lane, coloured by the value scaled over the sample. `lane`
/// names what a lane is (feature, group) and how to read a dot's position.
pub(crate) fn beeswarm_section(
    method: &str,
    names: &[String],
    importance: &[f64],
    sample: &[(usize, Vec<f64>, Vec<f64>)],
    entries: usize,
    (unit, reading, axis): (&str, &str, &str),
) -> String {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]));
    order.truncate(TOP);
    let lanes: Vec<&str> = order.iter().map(|&f| names[f].as_str()).collect();
    let mut dots = Vec::new();
    for (lane, &f) in order.iter().enumerate() {
        let (lo, hi) = sample
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v, _)| {
                (lo.min(v[f]), hi.max(v[f]))
            });
        for (row, values, scores) in sample {
            dots.push(charts::Dot {
                lane,
                score: scores[f],
                value: (hi > lo).then(|| (values[f] - lo) / (hi - lo)),
                row: *row,
            });
        }
    }
    format!(
        "<section id=\"beeswarm\"><h2>Beeswarm ({})</h2>{}<p class=\"caption\">One dot per row and {unit} ({} rows drawn, a seeded sample of {}): {reading} Colour is the {unit}'s value in that row, blue low to orange high. The {} most important {unit}s, most important on top.</p></section>",
        text(method),
        charts::beeswarm(&lanes, &dots, axis),
        sample.len(),
        entries,
        lanes.len()
    )
}

/// Method comparison: Spearman agreement of |scores| between every pair of methods, and
/// the metric table (`scores`, from `--metric`).
fn comparison_section(runs: &[Run], scores: &[MethodScores]) -> String {
    let mut s = String::from("<section id=\"comparison\"><h2>Method comparison</h2>");
    if runs.len() > 1 {
        s.push_str("<table id=\"agreement\"><thead><tr><th>methods</th><th>global rank agreement</th><th>mean per-row rank agreement</th></tr></thead><tbody>");
        for i in 0..runs.len() {
            for j in i + 1..runs.len() {
                let (a, b) = (&runs[i], &runs[j]);
                let global = spearman(&a.mean_abs, &b.mean_abs);
                let rows = a.rows.len().min(b.rows.len());
                let per_row: f64 = (0..rows)
                    .map(|k| spearman(&abs(&a.rows[k].scores), &abs(&b.rows[k].scores)))
                    .sum::<f64>()
                    / rows.max(1) as f64;
                s.push_str(&format!(
                    "<tr><td>{} vs {}</td><td>{}</td><td>{}</td></tr>",
                    text(&short(&a.spec)),
                    text(&short(&b.spec)),
                    num(global),
                    num(per_row)
                ));
            }
        }
        s.push_str(&format!("</tbody></table><p class=\"caption\">Spearman rank correlation of the features' |scores| between two methods: globally (of the mean |score| per feature over every row) and per row (averaged over the first {} rows). 1: the methods rank the features alike; 0: unrelated; the waterfall's line above says it for the row shown.</p>", runs[0].rows.len()));
    }
    if let Some((_, first)) = scores.first() {
        s.push_str("<table id=\"metrics\" class=\"sortable\"><thead><tr><th>method</th>");
        for (m, _) in first {
            s.push_str(&format!("<th>{}</th>", m.name()));
        }
        s.push_str("</tr></thead><tbody>");
        for (spec, row) in scores {
            s.push_str(&format!("<tr><td>{}</td>", text(&short(spec))));
            for (_, v) in row {
                s.push_str(&match v {
                    Some((mean, sd, _)) => {
                        format!("<td data-v=\"{mean:e}\">{} ± {}</td>", num(*mean), num(*sd))
                    }
                    None => "<td>n/a</td>".to_string(),
                });
            }
            s.push_str("</tr>");
        }
        let rows = scores
            .first()
            .and_then(|(_, v)| v.iter().find_map(|(_, x)| x.map(|t| t.2)))
            .unwrap_or(0);
        s.push_str(&format!("</tbody></table><p class=\"caption\">The metrics of <code>conflux evaluate</code> on the first {rows} rows, mean ± sd over rows (lower is better): infidelity, the mean squared error of scores · perturbation against the output's change under noise; sensitivity-max, how much the scores move within a small ball; completeness, |Σ scores − (output − baseline output)|. n/a: the method makes no such claim.</p>"));
    }
    s.push_str("</section>");
    s
}

/// Element-wise |v|.
fn abs(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x.abs()).collect()
}

/// The row picker: a method choice when there are several, the data row, previous/next,
/// and the orders `(key, label)` next/previous follow (keys of the script's row objects).
pub(crate) fn picker(methods: &[&str], orders: &[(&str, &str)]) -> String {
    let mut p = String::from("<div class=\"picker\">");
    if methods.len() > 1 {
        p.push_str("<label>method <select id=\"method-pick\">");
        for (i, m) in methods.iter().enumerate() {
            p.push_str(&format!(
                "<option value=\"{i}\">{}</option>",
                text(&short(m))
            ));
        }
        p.push_str("</select></label>");
    }
    p.push_str("<label>data row <input id=\"row-pick\" type=\"number\" min=\"0\"></label><button id=\"row-prev\" type=\"button\">◀ previous</button><button id=\"row-next\" type=\"button\">next ▶</button><label>order <select id=\"row-sort\">");
    for (key, label) in orders {
        p.push_str(&format!("<option value=\"{key}\">{label}</option>"));
    }
    p.push_str("</select></label></div>");
    p
}

/// `(channels, height, width)` when the model reads images: a `[C, H, W]` input with both
/// sides at least 2 (a 2-D input may be a sequence, `[C, L]`, and is not drawn as one).
pub(crate) fn image_shape(shape: &[usize]) -> Option<(usize, usize, usize)> {
    match *shape {
        [c, h, w] if h >= 2 && w >= 2 => Some((c, h, w)),
        _ => None,
    }
}

/// The images section: the script draws the maps of the row picked above and of the
/// dataset means; `reading` says how to read them.
pub(crate) fn images_section(c: usize, h: usize, w: usize, reading: &str) -> String {
    format!(
        "<section id=\"images\"><h2>Images</h2><p class=\"caption\">Input: {c} channel(s) of {h} × {w} pixels. The row and method picked above.</p><div id=\"image-row\" class=\"maps\"></div><h3>Over every row</h3><div id=\"image-global\" class=\"maps\"></div><p class=\"caption\">{reading} Each map sums its channels. White is zero; the colour scale's maximum is under each map.</p></section>"
    )
}

/// Largest side of a drawn map (in cells); the script pools larger images into blocks.
const IMAGE_CELLS: usize = 64;

/// The data block the script draws per-row views from.
fn page_data(runs: &[Run], image: Option<&ImageView>) -> Value {
    let cells = image.and_then(|(_, c)| c.as_ref());
    let view = |v: &[f64]| Cells::view(cells, v);
    let first = &runs[0];
    let methods: Vec<Value> = runs
        .iter()
        .map(|r| {
            let rows: Vec<Value> = r
                .rows
                .iter()
                .map(|v| {
                    let conflict: f64 = v.split.as_ref().map_or(0.0, |(p, n, _)| {
                        p.iter().zip(n).map(|(a, b)| a.min(*b)).sum()
                    });
                    json!({
                        "output": v.output,
                        "baseline": v.baseline,
                        "scores": v.scores,
                        "pos": v.split.as_ref().map(|s| &s.0),
                        "neg": v.split.as_ref().map(|s| &s.1),
                        "bias": v.split.as_ref().map(|s| s.2),
                        "gap": v.gap,
                        "conflict": conflict,
                    })
                })
                .collect();
            // Dataset maps for image models (three numbers per pixel).
            let global = image.map(|_| {
                json!({
                    "abs": view(&r.mean_abs),
                    "pos": r.mean_pos.as_deref().map(view),
                    "neg": r.mean_neg.as_deref().map(view),
                })
            });
            json!({"spec": r.spec, "rows": rows, "global": global})
        })
        .collect();
    let rows: Vec<Value> = first
        .rows
        .iter()
        .map(|v| json!({"row": v.row, "values": v.values}))
        .collect();
    json!({
        // What per-row views name: the features, or the cells of a large image.
        "features": cells.map_or_else(
            || first.features.iter().map(|f| short(f)).collect::<Vec<_>>(),
            Cells::names
        ),
        "top": TOP,
        "conflict_share": CONFLICT_SHARE,
        "rows": rows,
        "methods": methods,
        // The grid the maps are drawn on: pixels, or cells of a large image.
        "image": image.map(|((c, h, w), cells)| match cells {
            Some(k) => json!({"channels": c, "height": k.rows, "width": k.cols, "pixels_per_cell": k.f}),
            None => json!({"channels": c, "height": h, "width": w, "pixels_per_cell": 1}),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_sum_scores_and_average_inputs_over_partial_blocks() {
        // 2 channels of 5 × 130: f = 3, so 2 × 44 cells, the last row and column partial.
        let cells = Cells::new((2, 5, 130));
        assert!(cells.pooled());
        assert_eq!((cells.rows, cells.cols, cells.len()), (2, 44, 88));
        let v: Vec<f64> = (0..2 * 5 * 130).map(|i| (i % 13) as f64 - 6.0).collect();
        let s = cells.scores(&v);
        assert!((s.iter().sum::<f64>() - v.iter().sum::<f64>()).abs() < 1e-9);
        // The last cell holds rows 3–4, column 129 of both channels: 4 pixels.
        let px = |c: usize, i: usize, j: usize| v[c * 650 + i * 130 + j];
        let last = px(0, 3, 129) + px(0, 4, 129) + px(1, 3, 129) + px(1, 4, 129);
        assert!((s[87] - last).abs() < 1e-12);
        // Its input is the mean of its 2 pixels per channel, not a sum or a mean over 9.
        let input = cells.input(&v);
        assert!((input[87] - (px(0, 3, 129) + px(0, 4, 129)) / 2.0).abs() < 1e-12);
        assert!((input[88 + 87] - (px(1, 3, 129) + px(1, 4, 129)) / 2.0).abs() < 1e-12);
        assert_eq!(cells.names()[87], "cell 1,43 (rows 3–4, cols 129–129)");
        // Small images are not pooled; 2-D inputs are not images.
        assert!(!Cells::new((3, 64, 64)).pooled());
        assert_eq!(image_shape(&[4, 100]), None);
        assert_eq!(image_shape(&[1, 28, 28]), Some((1, 28, 28)));
        assert_eq!(rows_within(100, 30, 1000), 3);
        assert_eq!(rows_within(100, 300, 1000), 0);
    }
}
