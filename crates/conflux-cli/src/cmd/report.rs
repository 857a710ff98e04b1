//! `conflux report`: one self-contained HTML file explaining a model on a CSV — overview,
//! global importance (CAFE's S+ and S− side by side), beeswarm, per-row waterfall with a row
//! picker, and conflicts. Every method streams the data once (`explain::stream`); dataset
//! views use every row (the beeswarm draws a seeded sample), per-row views the first
//! `--rows` rows.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use conflux_core::data::csv::CsvOptions;
use conflux_core::io::AnyModel;
use conflux_core::net::Network;
use conflux_core::rng::Rng;
use conflux_core::stats::spearman;
use conflux_core::{Attribution, Reference, Target};
use conflux_methods::spec::MethodSpec;
use serde_json::{Value, json};

use super::Subject;
use super::explain::{Consumer, Job, Prepared, reference_file, stream};
use crate::cli::{ReferenceMode, ReportArgs};
use crate::html::{self, charts, num, short, text};
use crate::output::Sink;

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
    let AnyModel::Network(net) = &model else {
        anyhow::bail!(
            "report: AME models are not drawn yet; use `conflux explain` (its own attention) or \
             `conflux evaluate` for an AME"
        );
    };
    if args.target == conflux_core::Target::All {
        anyhow::bail!(
            "--target all: a report explains one output per row; give predicted or an index"
        );
    }
    let specs = method_specs(&args.methods, args.c.as_deref())?;
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
        quiet: args.quiet,
    };
    let page = pool.install(|| html(net, &job))?;
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
    /// No progress bar.
    pub quiet: bool,
}

/// The report page for `net` (runs on the current thread pool).
pub fn html(net: &Network, req: &Request<'_>) -> Result<String> {
    anyhow::ensure!(!req.specs.is_empty(), "report: no method to run");
    // Per-row views: the first `rows` rows, fewer when the data is wide.
    let per_row = net.input_dim().max(1) * (1 + 3 * req.specs.len());
    let keep = req.rows.min((ROW_VALUES / per_row).max(1));
    let started = Instant::now();
    let mut runs = Vec::new();
    for spec in req.specs {
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
        let mut g = Gather::new(keep, req.seed);
        let t = Instant::now();
        stream::<f64>(&job, &mut g)?;
        runs.push(g.finish(spec.to_string(), t.elapsed().as_secs_f64()));
    }
    let summary = conflux_core::inspect::network_text(net, &req.name);
    Ok(build(req, &summary, &runs, started.elapsed().as_secs_f64()))
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

/// Streams one method's results into sums over every row, the first rows in full, and a
/// seeded reservoir sample for the beeswarm.
struct Gather {
    keep: usize,
    rng: Rng,
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
    sample: Vec<(usize, Vec<f64>, Vec<f64>)>,
}

impl Gather {
    fn new(keep: usize, seed: u64) -> Self {
        Gather {
            keep,
            rng: Rng::for_row(seed, usize::MAX - 7),
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
            sample: Vec::new(),
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
            sample: self.sample,
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
        for e in 0..a.len() {
            let scores = a.scores.row(e);
            let values = &raw[a.rows[e] * d..(a.rows[e] + 1) * d];
            if !a.output[e].is_finite() || scores.iter().any(|v| !v.is_finite()) {
                anyhow::bail!(
                    "data row {}: the model's output or a score is not a finite number (the \
                     network overflows on this row); a report needs finite numbers",
                    first_row + a.rows[e]
                );
            }
            for f in 0..d {
                self.sum_abs[f] += scores[f].abs();
            }
            if let Some(s) = &a.split {
                let (p, n) = (s.feat_pos.row(e), s.feat_neg.row(e));
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
                scale += match &a.split {
                    Some(sp) => {
                        sp.feat_pos.row(e).iter().sum::<f64>()
                            + sp.feat_neg.row(e).iter().sum::<f64>()
                            + sp.bias_pos[e]
                            + sp.bias_neg[e]
                    }
                    None => scores.iter().map(|v| v.abs()).sum::<f64>(),
                };
                self.max_rel_gap = self.max_rel_gap.max(g.abs() / scale);
            }
            let row = first_row + a.rows[e];
            if self.rows.len() < self.keep {
                self.rows.push(RowView {
                    row,
                    values: values.to_vec(),
                    output: a.output[e],
                    baseline: a.baseline_output.as_ref().map(|b| b[e]),
                    scores: scores.to_vec(),
                    split: a.split.as_ref().map(|s| {
                        (
                            s.feat_pos.row(e).to_vec(),
                            s.feat_neg.row(e).to_vec(),
                            s.bias_pos[e] - s.bias_neg[e],
                        )
                    }),
                    gap,
                });
            }
            // Reservoir sampling (Algorithm R): every entry is drawn with equal chance; the
            // row is copied only when it is kept.
            let slot = if self.sample.len() < SWARM_ROWS {
                Some(self.sample.len())
            } else {
                Some(self.rng.below(self.entries + 1)).filter(|&j| j < SWARM_ROWS)
            };
            if let Some(j) = slot {
                let item = (row, values.to_vec(), scores.to_vec());
                if j == self.sample.len() {
                    self.sample.push(item);
                } else {
                    self.sample[j] = item;
                }
            }
            self.entries += 1;
        }
        Ok(())
    }
}

/// The page.
fn build(req: &Request<'_>, summary: &str, runs: &[Run], seconds: f64) -> String {
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
        s.push_str(&charts::importance(&items, &r.spec));
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
                "<tr><td>{}</td><td data-v=\"{:e}\">{}</td>",
                text(&short(&r.features[f])),
                r.mean_abs[f],
                num(r.mean_abs[f])
            ));
            if let (Some(p), Some(n), Some(c)) = (&r.mean_pos, &r.mean_neg, &r.mean_conflict) {
                for v in [p[f], n[f], c[f]] {
                    s.push_str(&format!("<td data-v=\"{v:e}\">{}</td>", num(v)));
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section>");
    sections.push(s);

    // Beeswarm of the first method.
    let mut order: Vec<usize> = (0..features.len()).collect();
    order.sort_by(|&a, &b| first.mean_abs[b].total_cmp(&first.mean_abs[a]));
    order.truncate(TOP);
    let names: Vec<&str> = order.iter().map(|&f| features[f].as_str()).collect();
    let mut dots = Vec::new();
    for (lane, &f) in order.iter().enumerate() {
        let (lo, hi) = first
            .sample
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v, _)| {
                (lo.min(v[f]), hi.max(v[f]))
            });
        for (row, values, scores) in &first.sample {
            dots.push(charts::Dot {
                lane,
                score: scores[f],
                value: (hi > lo).then(|| (values[f] - lo) / (hi - lo)),
                row: *row,
            });
        }
    }
    sections.push(format!(
        "<section id=\"beeswarm\"><h2>Beeswarm ({})</h2>{}<p class=\"caption\">One dot per row and feature ({} rows drawn, a seeded sample of {}): left of the axis the feature lowered the output, right it raised it. Colour is the feature's value in that row, blue low to orange high. The {} most important features, most important on top.</p></section>",
        text(&first.spec),
        charts::beeswarm(&names, &dots),
        first.sample.len(),
        first.entries,
        names.len()
    ));

    // Per-row waterfall and conflicts (drawn by the page's script from the data block).
    let mut picker = String::from("<div class=\"picker\">");
    if runs.len() > 1 {
        picker.push_str("<label>method <select id=\"method-pick\">");
        for (i, r) in runs.iter().enumerate() {
            picker.push_str(&format!(
                "<option value=\"{i}\">{}</option>",
                text(&short(&r.spec))
            ));
        }
        picker.push_str("</select></label>");
    }
    picker.push_str("<label>data row <input id=\"row-pick\" type=\"number\" min=\"0\"></label><button id=\"row-prev\" type=\"button\">◀ previous</button><button id=\"row-next\" type=\"button\">next ▶</button><label>order <select id=\"row-sort\"><option value=\"row\">by row</option><option value=\"output\">by prediction</option><option value=\"conflict\">by conflict</option></select></label></div>");
    sections.push(format!(
        "<section id=\"rows\"><h2>Per row: from the baseline to the output</h2>{picker}<p id=\"waterfall-info\"></p><svg id=\"waterfall\" class=\"chart\" role=\"img\" aria-label=\"waterfall\"></svg><p class=\"caption\">Each bar is one feature's score: orange raised the output, blue lowered it, grey is what the biases did (CAFE). Bars start where the previous ended, from the baseline output (top) to the row's output (bottom); hover a bar for the feature's value and, for CAFE, its S+ and S−. The first {} rows of the data are available here{}.</p><h3>Conflicts in this row</h3><ul id=\"row-conflicts\"></ul><p class=\"caption\">Features whose smaller part (S+ or S−) is more than half their larger one: large opposing effects that cancel in the joint score.</p></section>",
        first.rows.len(),
        if first.rows.len() < req.rows.min(first.entries) {
            format!(" (--rows {} was lowered to keep the file small for data this wide)", req.rows)
        } else {
            String::new()
        }
    ));

    // Method comparison: rank agreement of |scores|.
    if runs.len() > 1 {
        let mut s = String::from(
            "<section id=\"comparison\"><h2>Method comparison</h2><table><thead><tr><th>methods</th><th>global rank agreement</th><th>mean per-row rank agreement</th></tr></thead><tbody>",
        );
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
        s.push_str(&format!("</tbody></table><p class=\"caption\">Spearman rank correlation of the features' |scores| between two methods: globally (of the mean |score| per feature over every row) and per row (averaged over the first {} rows). 1: the methods rank the features alike; 0: unrelated; the waterfall's line above says it for the row shown.</p></section>", first.rows.len()));
        sections.push(s);
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
                s.push_str(&format!("<td data-v=\"{v:e}\">{}</td>", num(v)));
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table><p class=\"caption\">Features that push the output up and down at once, averaged over every row: the larger min(S+, S−), the more of the feature's effect cancels out — which gradients, DeepLIFT and Integrated Gradients do not show.</p></section>");
        sections.push(s);
    }

    let data = page_data(runs);
    html::page("conflux report", &sections, &data)
}

/// Element-wise |v|.
fn abs(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x.abs()).collect()
}

/// The data block the script draws per-row views from.
fn page_data(runs: &[Run]) -> Value {
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
            json!({"spec": r.spec, "rows": rows})
        })
        .collect();
    let rows: Vec<Value> = first
        .rows
        .iter()
        .map(|v| json!({"row": v.row, "values": v.values}))
        .collect();
    json!({
        "features": first.features.iter().map(|f| short(f)).collect::<Vec<_>>(),
        "top": TOP,
        "conflict_share": CONFLICT_SHARE,
        "rows": rows,
        "methods": methods,
    })
}
