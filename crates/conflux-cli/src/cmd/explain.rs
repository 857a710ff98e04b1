//! `conflux explain`: stream a CSV through an attribution method and write JSON or CSV.

use std::path::Path;

use anyhow::{Context, Result};
use conflux_core::data::csv::{CsvOptions, CsvSource};
use conflux_core::io::AnyModel;
use conflux_core::reference::column_stat;
use conflux_core::{Attribution, Float, Plan, Reference, Target};
use conflux_methods::background::{Against, explain_batch};
use conflux_methods::spec::{BATCH_ROWS, Method, MethodSpec};
use ndarray::ArrayView2;
use serde_json::json;

use crate::cli::{ExplainArgs, ExplainFormat, Precision, ReferenceMode};
use crate::output::{
    Meta, RefKind, Sink, Writer, csv::CsvWriter, json::JsonWriter, npz::NpzWriter,
};
use crate::parse::Groups;
use crate::report::Reporter;

use super::Subject;

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> Result<()> {
    if args.format == ExplainFormat::Npz
        && args
            .out
            .as_deref()
            .is_none_or(conflux_core::io::read::is_stdio)
    {
        anyhow::bail!("--format npz writes a binary archive: give --out FILE.npz");
    }
    let model = super::load_checked(
        &args.model,
        &[
            ("--data", Some(&args.data)),
            ("--reference", reference_file(&args.reference)),
            ("--reference-data", args.reference_data.as_deref()),
            ("--groups", args.groups.as_ref().and_then(Groups::file)),
        ],
        args.out.as_deref(),
    )?;
    let subject = match &model {
        AnyModel::Network(n) => Subject::Net(n),
        // An AME explains itself: its attention is the default method.
        AnyModel::Ame(a) if args.method.is_none() && args.c.is_none() => {
            return super::ame::explain(args, a);
        }
        AnyModel::Ame(a) => Subject::Ame(a),
    };
    let spec = method_spec(args)?;
    let pool = super::thread_pool(args.threads)?;
    pool.install(|| match args.precision {
        Precision::F32 => write_all::<f32>(args, subject, &spec),
        Precision::F64 => write_all::<f64>(args, subject, &spec),
    })
}

/// The file of `--reference FILE.csv`.
pub fn reference_file(r: &Reference) -> Option<&Path> {
    match r {
        Reference::File(p) => Some(p),
        _ => None,
    }
}

/// The method from `--method` and `--c` (c is CAFE's shorthand).
fn method_spec(args: &ExplainArgs) -> Result<MethodSpec> {
    let mut spec: MethodSpec = args
        .method
        .as_deref()
        .unwrap_or("cafe")
        .parse()
        .context("--method")?;
    if let Some(c) = &args.c {
        if spec.name != "cafe" {
            anyhow::bail!("--c sets CAFE's c, but --method is {}", spec.name);
        }
        if spec.params.iter().any(|(k, _)| k == "c") {
            anyhow::bail!("--c and --method …:c=… both set c; give it once");
        }
        spec.params.push(("c".into(), c.clone()));
    }
    // Reject unknown methods and bad parameters before touching any file.
    spec.build(None, 0).with_context(|| {
        if args.c.is_some() {
            "--c".to_string()
        } else {
            "--method".to_string()
        }
    })?;
    Ok(spec)
}

/// What the streaming loop needs to know about the inputs.
pub struct Job<'a> {
    /// The model.
    pub model: Subject<'a>,
    /// CSV to explain.
    pub data: &'a Path,
    /// Label column.
    pub label: Option<&'a str>,
    /// Reference choice.
    pub reference: &'a Reference,
    /// Rows for mean/median.
    pub reference_data: Option<&'a Path>,
    /// How a reference file's rows are used.
    pub reference_mode: ReferenceMode,
    /// Targets.
    pub target: Target,
    /// Explain after a sigmoid head.
    pub explain_probabilities: bool,
    /// No progress bar.
    pub quiet: bool,
    /// Stop after this many rows (demo).
    pub max_rows: Option<usize>,
    /// The method to run.
    pub spec: &'a MethodSpec,
    /// `--groups` (sampling methods).
    pub groups: Option<&'a Groups>,
    /// `--seed` (sampling methods).
    pub seed: u64,
    /// How the CSV files are read.
    pub csv: CsvOptions,
}

/// Receives the streamed results.
pub trait Consumer<F> {
    /// Called once, before the first batch.
    fn begin(&mut self, prepared: &Prepared<'_>) -> Result<()>;
    /// Called per batch: first data row of the batch, raw rows (`[rows, d]`, raw units), the
    /// attribution, per-row references (input space) if any.
    fn batch(
        &mut self,
        first_row: usize,
        raw: &[f64],
        a: &Attribution<F>,
        refs: Option<&[F]>,
    ) -> Result<()>;
}

/// Header information once references, columns and the method are resolved.
pub struct Prepared<'a> {
    /// The configured method.
    pub method: &'a Method,
    /// Feature names (from the CSV header, in model-input order).
    pub features: Vec<String>,
    /// The reference: shared (input space), per row, or a background averaged over.
    pub reference: RefKind,
    /// Whether the explained graph has LayerNorm gates (frozen by propagation methods).
    pub gates: bool,
    /// The per-row input shape (`[F]`, or `[C, H, W]` for images).
    pub input_shape: Vec<usize>,
}

/// Streams `job.data` through the job's method into `out`. Returns the number of rows
/// explained.
pub fn stream<F: Float>(job: &Job, out: &mut dyn Consumer<F>) -> Result<usize> {
    let model = job.model;
    let d = model.input_dim();
    let plan = match model {
        Subject::Net(net) => Some(Plan::<F>::new(net, job.explain_probabilities)?),
        Subject::Ame(_) => None,
    };
    let mut src = CsvSource::open(job.data, &job.csv, job.label, d, model.names())?;
    // The method, with groups resolved against the data's feature names, checked against the
    // network before any data row is read.
    let shape = plan
        .as_ref()
        .map_or_else(|| vec![d], |p| p.input_shape().to_vec());
    let groups = match job.groups {
        Some(g) => Some(g.resolve(&src.columns().feature_names(), &shape)?),
        None => None,
    };
    let flag = if job.spec.name == "cafe" {
        "--c"
    } else {
        "--method"
    };
    let method = job.spec.build(groups.as_ref(), job.seed).context(flag)?;
    let outputs = match (&plan, model) {
        (Some(plan), _) => {
            method.validate(plan).context(flag)?;
            plan.output_dim()
        }
        (None, Subject::Ame(ame)) => {
            if !method.is_model_agnostic() {
                anyhow::bail!(
                    "--method {}: an AME is explained by its own attention (the default) or by \
                     a model-agnostic method: kernel-shap, shapley-sampling, lime or ablation",
                    job.spec.name
                );
            }
            ame.task.outputs()
        }
        (None, Subject::Net(_)) => unreachable!("networks are compiled"),
    };
    job.target.validate(outputs).context("--target")?;
    // Rows per call, so that the method's working memory stays within the data-cell limit.
    let batch_rows = method.rows_within(
        d,
        job.target.per_row(outputs),
        conflux_core::Limits::current().data_cells,
        BATCH_ROWS,
    )?;
    let preprocess = |x: &mut [f64]| {
        if let Some(p) = model.preprocess() {
            p.apply(x);
        }
    };
    // Resolve the reference: shared (one row) or a second source read in lockstep.
    let (shared, mut per_row, background) = match resolve_reference(
        model,
        job.data,
        &job.csv,
        job.label,
        job.reference,
        job.reference_data,
        job.reference_mode,
    )? {
        Resolved::Shared(r) => (Some(r), None, None),
        Resolved::PerRow(src) => (None, Some(src), None),
        Resolved::Background(rows) => {
            if !method.uses_reference() {
                anyhow::bail!(
                    "--reference-mode average: {} does not use a reference, so there is nothing to average",
                    job.spec.name
                );
            }
            (None, None, Some(rows))
        }
    };
    let reference = match (&shared, &background) {
        (Some(r), _) => RefKind::Shared(r.clone()),
        (None, Some(b)) => RefKind::Average(b.len() / d.max(1)),
        (None, None) => RefKind::PerRow,
    };
    out.begin(&Prepared {
        method: &method,
        features: src.columns().feature_names(),
        reference,
        gates: plan.as_ref().is_some_and(Plan::has_gates),
        input_shape: shape,
    })?;
    let shared_f: Option<Vec<F>> = shared
        .as_ref()
        .map(|r| r.iter().map(|&v| F::of(v)).collect());
    let background_f: Option<Vec<F>> = background
        .as_ref()
        .map(|r| r.iter().map(|&v| F::of(v)).collect());
    let bar = Reporter::bytes(src.progress().1, "explaining", job.quiet);
    let (mut raw, mut labels, mut xr) = (Vec::new(), Vec::new(), Vec::new());
    let mut done = 0;
    loop {
        let want = job
            .max_rows
            .map_or(batch_rows, |m| batch_rows.min(m - done));
        raw.clear();
        let rows = if want == 0 {
            0
        } else {
            src.read_block(want, &mut raw, &mut labels)?
        };
        labels.clear();
        if rows == 0 {
            break;
        }
        let mut x = raw.clone();
        preprocess(&mut x);
        let xf: Vec<F> = x.iter().map(|&v| F::of(v)).collect();
        let refs: Option<Vec<F>> = match &mut per_row {
            Some(rs) => {
                xr.clear();
                let got = rs.read_block(rows, &mut xr)?;
                if got != rows {
                    anyhow::bail!(
                        "{}: expected 1 reference row or one per data row, got {} rows for at least {} data rows",
                        reference_path(job.reference),
                        done + got,
                        done + rows
                    );
                }
                preprocess(&mut xr);
                Some(xr.iter().map(|&v| F::of(v)).collect())
            }
            None => None,
        };
        let xv = ArrayView2::from_shape((rows, d), &xf[..]).expect("rows × d");
        let attribute = |xv: ArrayView2<F>, rv: ArrayView2<F>| match (&plan, model) {
            (Some(plan), _) => method.attribute(plan, xv, rv, job.target),
            (None, Subject::Ame(ame)) => method.attribute_black_box(ame, xv, rv, job.target),
            (None, Subject::Net(_)) => unreachable!("networks are compiled"),
        };
        let against = match (&refs, &shared_f, &background_f) {
            (Some(r), _, _) => {
                Against::Rows(ArrayView2::from_shape((rows, d), &r[..]).expect("rows × d"))
            }
            (None, Some(r), _) => {
                Against::Rows(ArrayView2::from_shape((1, d), &r[..]).expect("1 × d"))
            }
            (None, None, Some(b)) => Against::Background(
                ArrayView2::from_shape((b.len() / d, d), &b[..]).expect("n × d"),
            ),
            (None, None, None) => unreachable!("a reference is shared, per row or a background"),
        };
        let a = explain_batch(&method, xv, against, batch_rows, attribute)?;
        out.batch(done, &raw, &a, refs.as_deref())?;
        done += rows;
        bar.set(src.progress().0);
    }
    bar.finish();
    src.ensure_rows()?;
    if let Some(rs) = &mut per_row {
        let extra = rs.read_block(1, &mut xr)?;
        if extra > 0 && job.max_rows.is_none() {
            anyhow::bail!(
                "{}: expected 1 reference row or one per data row ({done}), got more",
                reference_path(job.reference)
            );
        }
    }
    Ok(done)
}

/// A resolved `--reference`.
pub enum Resolved {
    /// One row shared by every input, in the network's input space.
    Shared(Vec<f64>),
    /// A file with one row per data row (raw units), opened, its first rows held.
    PerRow(Box<PerRow>),
    /// Every row of a file, in the network's input space (`[n, d]`): a background that
    /// results are averaged over.
    Background(Vec<f64>),
}

/// A per-row reference file read in lockstep with the data.
pub struct PerRow {
    src: CsvSource,
    /// Raw rows already read (while telling one row from several), served first.
    held: Vec<f64>,
    d: usize,
}

impl PerRow {
    /// Appends up to `rows` reference rows (raw units) to `out`; returns how many.
    fn read_block(&mut self, rows: usize, out: &mut Vec<f64>) -> Result<usize> {
        let from_held = (self.held.len() / self.d).min(rows);
        out.extend(self.held.drain(..from_held * self.d));
        let mut unused = Vec::new();
        let more = if rows > from_held {
            self.src.read_block(rows - from_held, out, &mut unused)?
        } else {
            0
        };
        Ok(from_held + more)
    }
}

/// Resolves `--reference`: one shared row (zeros, statistics, a one-row file) or a file with
/// one row per data row. A reference file is opened once (it may be standard input).
///
/// # Errors
/// Unreadable or malformed reference data.
pub fn resolve_reference(
    model: Subject<'_>,
    data: &Path,
    csv: &CsvOptions,
    label: Option<&str>,
    reference: &Reference,
    reference_data: Option<&Path>,
    mode: ReferenceMode,
) -> Result<Resolved> {
    let d = model.input_dim();
    if mode != ReferenceMode::Auto
        && mode != ReferenceMode::Shared
        && !matches!(reference, Reference::File(_))
    {
        anyhow::bail!(
            "--reference-mode {}: needs --reference FILE.csv or FILE.npy (rows to pair with the data or to average over)",
            clap::ValueEnum::to_possible_value(&mode)
                .expect("a named mode")
                .get_name()
        );
    }
    let mut r = match reference {
        Reference::Zeros => return Ok(Resolved::Shared(vec![0.0; d])),
        Reference::Mean | Reference::Median => {
            let source = reference_data.unwrap_or(data);
            if reference_data.is_none() && conflux_core::io::read::is_one_shot(data) {
                anyhow::bail!(
                    "--reference {}: the statistics need a pass over the data before the explanations, and --data {} is standard input or a pipe, which can be read only once; give the rows for the statistics with --reference-data FILE.csv",
                    if *reference == Reference::Mean {
                        "mean"
                    } else {
                        "median"
                    },
                    data.display()
                );
            }
            let mut s = CsvSource::open_with(source, csv, label, false, d, model.names())?;
            let (x, _) = s.read_all()?;
            column_stat(&x, d, *reference == Reference::Median)
        }
        Reference::File(path) => {
            let mut s = CsvSource::open_with(path, csv, label, false, d, model.names())?;
            if mode == ReferenceMode::Average {
                let (mut rows, _) = s.read_all()?;
                if let Some(p) = model.preprocess() {
                    p.apply(&mut rows);
                }
                return Ok(Resolved::Background(rows));
            }
            let (mut first, mut lab) = (Vec::new(), Vec::new());
            s.read_block(2, &mut first, &mut lab)?;
            s.ensure_rows()?;
            if mode == ReferenceMode::Shared && s.rows_read() > 1 {
                anyhow::bail!(
                    "{}: --reference-mode shared takes a file of exactly one row; this one has more (use each or average)",
                    path.display()
                );
            }
            if s.rows_read() > 1 || mode == ReferenceMode::Each {
                return Ok(Resolved::PerRow(Box::new(PerRow {
                    src: s,
                    held: first,
                    d,
                })));
            }
            first
        }
    };
    if let Some(p) = model.preprocess() {
        p.apply(&mut r);
    }
    Ok(Resolved::Shared(r))
}

fn reference_path(r: &Reference) -> String {
    match r {
        Reference::File(p) => p.display().to_string(),
        _ => "--reference".into(),
    }
}

/// Writes explain output to a sink.
struct Output<'a> {
    sink: Sink,
    writer: Option<Writer>,
    format: ExplainFormat,
    target: &'a str,
}

impl<F: Float> Consumer<F> for Output<'_> {
    fn begin(&mut self, p: &Prepared<'_>) -> Result<()> {
        let params: serde_json::Map<String, serde_json::Value> = p
            .method
            .params()
            .into_iter()
            .map(|(k, v)| {
                // Numbers, booleans and lists of numbers as JSON values; anything else as text.
                let value = if k == "c" {
                    json!(
                        v.split(',')
                            .filter_map(|x| x.parse::<f64>().ok())
                            .collect::<Vec<_>>()
                    )
                } else {
                    serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v))
                };
                (k.to_string(), value)
            })
            .collect();
        let split = matches!(p.method, Method::Cafe(_));
        let mut writer = match self.format {
            ExplainFormat::Json => Writer::Json(JsonWriter::default()),
            ExplainFormat::Csv => Writer::Csv(CsvWriter::new(split)),
            ExplainFormat::Npz => Writer::Npz(Box::new(NpzWriter::new(
                p.input_shape.clone(),
                split,
                F::NAME == "f64",
                conflux_core::Limits::current().data_cells,
            ))),
        };
        let meta = Meta {
            method: p.method.id().as_str(),
            params: serde_json::Value::Object(params),
            features: &p.features,
            reference: &p.reference,
            baseline_kind: p.method.baseline_kind(p.gates),
            precision: F::NAME,
        };
        writer
            .begin(&mut self.sink, &meta)
            .with_context(|| format!("writing {}", self.target))?;
        self.writer = Some(writer);
        Ok(())
    }

    fn batch(
        &mut self,
        first_row: usize,
        _raw: &[f64],
        a: &Attribution<F>,
        refs: Option<&[F]>,
    ) -> Result<()> {
        let w = self
            .writer
            .as_mut()
            .expect("begin runs before the first batch");
        w.batch(&mut self.sink, first_row, a, refs)
            .with_context(|| format!("writing {}", self.target))
    }
}

fn write_all<F: Float>(args: &ExplainArgs, model: Subject<'_>, spec: &MethodSpec) -> Result<()> {
    let job = Job {
        model,
        data: &args.data,
        label: args.label.as_deref(),
        reference: &args.reference,
        reference_data: args.reference_data.as_deref(),
        reference_mode: args.reference_mode,
        target: args.target,
        explain_probabilities: args.explain_probabilities,
        quiet: args.quiet,
        max_rows: None,
        spec,
        groups: args.groups.as_ref(),
        seed: args.seed,
        csv: args.csv.options(),
    };
    let target = args
        .out
        .as_ref()
        .map_or("standard output".to_string(), |p| p.display().to_string());
    let mut out = Output {
        sink: Sink::open(args.out.as_deref())?,
        writer: None,
        format: args.format,
        target: &target,
    };
    stream::<F>(&job, &mut out)?;
    let mut writer = out.writer.take().expect("begin ran");
    writer
        .finish(&mut out.sink)
        .with_context(|| format!("writing {target}"))?;
    out.sink.commit()
}
