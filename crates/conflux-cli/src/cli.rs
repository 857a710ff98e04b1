//! Command-line definition (clap derive). Flags follow interface.md §CLI conventions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use conflux_core::{Reference, Target};

use crate::parse;

/// conflux — explain neural networks with CAFE (positive and negative feature scores, the
/// biases' share, conflict sensitivity per layer).
#[derive(Debug, Parser)]
#[command(name = "conflux", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Resource limits for untrusted files (every subcommand).
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Resource limits (README §Trust and limits); each overrides its `CONFLUX_MAX_*` variable.
/// Values take K, M, G or T suffixes (×1024ⁿ).
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits for untrusted input")]
pub struct LimitArgs {
    /// Elements of one tensor in a model file [default: 256M; env CONFLUX_MAX_TENSOR_ELEMENTS].
    #[arg(long, global = true, value_name = "N", value_parser = parse::limit)]
    pub max_tensor_elements: Option<u64>,
    /// Parameters of one model [default: 256M; env CONFLUX_MAX_PARAMETERS].
    #[arg(long, global = true, value_name = "N", value_parser = parse::limit)]
    pub max_parameters: Option<u64>,
    /// Bytes of a model file; JSON files (models, sidecars, groups) a sixteenth of it
    /// [default: 2G; env CONFLUX_MAX_MODEL_BYTES].
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse::limit)]
    pub max_model_bytes: Option<u64>,
    /// Bytes of one CSV line [default: 16M; env CONFLUX_MAX_LINE_BYTES].
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse::limit)]
    pub max_line_bytes: Option<u64>,
    /// Cells of data held in memory by commands that need the whole table [default: 256M;
    /// env CONFLUX_MAX_DATA_CELLS].
    #[arg(long, global = true, value_name = "N", value_parser = parse::limit)]
    pub max_data_cells: Option<u64>,
}

/// How CSV inputs are read (every command that reads data).
#[derive(Debug, Args)]
pub struct CsvArgs {
    /// The CSV files have no header row: every line is data and the columns are named f0,
    /// f1, … (also for --label and --groups).
    #[arg(long)]
    pub no_header: bool,
}

impl CsvArgs {
    /// The reader options: header or not, and the limits in force.
    pub fn options(&self) -> conflux_core::data::csv::CsvOptions {
        conflux_core::data::csv::CsvOptions {
            has_header: !self.no_header,
            ..conflux_core::data::csv::CsvOptions::default()
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explain every row of a CSV with an attribution method (default: CAFE, c = 0.5; for an
    /// AME model, its own attention: prediction, importance per group and, with --label, the
    /// Granger target ω).
    ///
    /// Example: conflux explain --model model.json --data rows.csv --label income --out scores.json
    Explain(Box<ExplainArgs>),
    /// Score attribution methods with fidelity metrics (infidelity, sensitivity-max,
    /// completeness, rmse) on the rows of a CSV; for an AME model (no --method/--metric):
    /// accuracy/AUC or RMSE, MGE, Granger r², mean importance overall and per class.
    ///
    /// Example: conflux evaluate --model m.json --data test.csv --label y --method cafe:c=0.5
    /// --method deeplift --method kernel-shap:n=200 --metric infidelity --seed 1
    Evaluate(Box<EvaluateArgs>),
    /// Show a model's layers, shapes, parameter count, preprocessing and output head.
    Inspect(InspectArgs),
    /// Write one self-contained HTML report (no network, opens by double-click): overview,
    /// global importance with CAFE's positive and negative parts, beeswarm, a per-row
    /// waterfall with a row picker, and conflicts.
    ///
    /// Example: conflux report --model model.json --data rows.csv --label income --out report.html
    Report(Box<ReportArgs>),
    /// Explain a bundled Adult-income model on bundled rows and print a readable summary.
    Demo(DemoArgs),
    /// Benchmarks (rows/s).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Generate datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Train models.
    #[command(subcommand)]
    Train(TrainCommand),
}

/// Trainers.
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Train an MLP (AdamW, early stopping on the validation loss, best weights kept) and save
    /// it as a conflux JSON model (plus safetensors and an .arch.json sidecar).
    ///
    /// Example: conflux train mlp --data adult-train.csv --label income --task binary
    /// --hidden 64,64 --epochs 20 --seed 1 --out adult.json
    Mlp(Box<TrainMlpArgs>),
    /// Train an Attentive Mixture of Experts with the Granger-causal objective: a model that
    /// predicts and says how important each feature (group) was in the same forward pass.
    /// Saves one self-describing JSON file (weights, config, feature names, groups, scaler).
    ///
    /// Example: conflux train ame --data adult-train.csv --label income --task binary
    /// --alpha 0.05 --seed 1 --out adult.ame.json
    Ame(Box<TrainAmeArgs>),
}

/// Learning tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Real label, MSE loss, one output.
    Regression,
    /// 0/1 label, one logit (sigmoid head).
    Binary,
    /// Class labels 0..K, K logits (softmax head).
    Multiclass,
}

/// `train mlp` flags.
#[derive(Debug, Args)]
pub struct TrainMlpArgs {
    /// Training CSV with a header row (- for standard input).
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// The label column.
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// Columns that are not features (comma-separated; a trailing * matches a prefix, e.g.
    /// gt_* for the ground truth of `data conflicts`).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// The task.
    #[arg(long, value_enum)]
    pub task: TaskArg,
    /// Hidden layer widths, comma-separated.
    #[arg(
        long,
        default_value = "64,64",
        value_name = "LIST",
        value_delimiter = ',',
        value_parser = parse::count
    )]
    pub hidden: Vec<usize>,
    /// Hidden activation: relu, gelu, tanh, sigmoid, silu, selu, elu, leaky_relu, softplus.
    #[arg(long, default_value = "relu", value_name = "NAME")]
    pub activation: String,
    /// Maximum epochs.
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 64, value_name = "B", value_parser = parse::count, allow_hyphen_values = true)]
    pub batch_size: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 1e-3, value_name = "LR", value_parser = parse::positive, allow_hyphen_values = true)]
    pub lr: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 1e-2, value_name = "W", value_parser = parse::non_negative, allow_hyphen_values = true)]
    pub weight_decay: f64,
    /// Epochs without validation improvement before stopping (0: never).
    #[arg(long, default_value_t = 5, value_name = "P", value_parser = parse::natural, allow_hyphen_values = true)]
    pub patience: usize,
    /// Fraction of rows held out for validation, in [0, 1) (0: none, no early stopping).
    #[arg(long, default_value_t = 0.2, value_name = "F", value_parser = parse::split, allow_hyphen_values = true)]
    pub val_split: f64,
    /// Do not standardise the inputs.
    #[arg(long)]
    pub no_standardize: bool,
    /// Dense layers without biases (PyTorch `bias=False`).
    #[arg(long)]
    pub no_bias: bool,
    /// Seed (initialisation, split, shuffling).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Output model (.json); STEM.safetensors and STEM.arch.json are written beside it (none
    /// of them may be an input).
    #[arg(long, value_name = "FILE.json")]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `train ame` flags.
#[derive(Debug, Args)]
pub struct TrainAmeArgs {
    /// Training CSV with a header row (- for standard input).
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// The label column.
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// Columns that are not features (comma-separated; a trailing * matches a prefix).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// The task.
    #[arg(long, value_enum)]
    pub task: TaskArg,
    /// Feature groups, one expert each: {"group": ["col", …], …} (default: one expert per
    /// feature).
    #[arg(long, value_name = "FILE.json")]
    pub groups: Option<PathBuf>,
    /// Weight α of the Granger-causal objective in [0, 1] (0 disables it).
    #[arg(
        long,
        default_value_t = 0.05,
        value_name = "A",
        allow_hyphen_values = true,
        value_parser = parse::probability
    )]
    pub alpha: f64,
    /// Expert hidden widths (SELU), comma-separated; with --image, the first convolution's
    /// channels.
    #[arg(long, default_value = "16", value_name = "LIST", value_delimiter = ',', value_parser = parse::count)]
    pub hidden: Vec<usize>,
    /// Width of the shared attention projection (default min(p·(h+o), 256)).
    #[arg(long, value_name = "K", value_parser = parse::count, allow_hyphen_values = true)]
    pub gate_width: Option<usize>,
    /// Dropout on the attention weights during training, in [0, 1).
    #[arg(long, default_value_t = 0.2, value_name = "P", value_parser = parse::split, allow_hyphen_values = true)]
    pub attention_dropout: f64,
    /// Maximum epochs.
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 64, value_name = "B", value_parser = parse::count, allow_hyphen_values = true)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3, value_name = "LR", value_parser = parse::positive, allow_hyphen_values = true)]
    pub lr: f64,
    /// Epochs without validation improvement before stopping (0: never).
    #[arg(long, default_value_t = 12, value_name = "P", value_parser = parse::natural, allow_hyphen_values = true)]
    pub patience: usize,
    /// Fraction of rows held out for validation, in [0, 1) (stratified for classification).
    #[arg(long, default_value_t = 0.2, value_name = "F", value_parser = parse::split, allow_hyphen_values = true)]
    pub val_split: f64,
    /// Images: HEIGHTxWIDTH single-channel pixels (columns in row-major order) read by a
    /// strided-conv stem; each output cell is an expert.
    #[arg(long, value_name = "HxW")]
    pub image: Option<String>,
    /// Number of 2×2 stride-2 convolutions in the image stem.
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub stem_convs: usize,
    /// Hidden width of the Granger-causal predictors that measure each group's contribution
    /// (small SELU MLPs over the experts' hidden states, which see interactions between
    /// groups); 0 = the paper's linear predictors [default: 32 for tabular experts, 0 with
    /// --image, whose many cell experts make them costly].
    #[arg(long, value_name = "N", value_parser = parse::natural, allow_hyphen_values = true)]
    pub granger_hidden: Option<usize>,
    /// Do not standardise the inputs (and, for regression, the label).
    #[arg(long)]
    pub no_standardize: bool,
    /// Seed (initialisation, split, shuffling, attention dropout).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Output model (.json, e.g. model.ame.json).
    #[arg(long, value_name = "FILE.json")]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Dataset generators.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// The CAFE paper's synthetic conflicts: columns z0…, k0… (features), y (label), gt_z0…,
    /// gt_k0… (ground-truth attributions).
    ///
    /// Example: conflux data conflicts --dim 3 --likelihood 0.25 --rows 10000 --seed 1 --out c.csv
    Conflicts(ConflictsArgs),
}

/// `data conflicts` flags.
#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// Continuous features d (the data has 2d feature columns).
    #[arg(long, value_name = "D", value_parser = parse::count, allow_hyphen_values = true)]
    pub dim: usize,
    /// Conflict likelihood q in [0, 1].
    #[arg(long, value_name = "Q", value_parser = parse::probability, allow_hyphen_values = true)]
    pub likelihood: f64,
    /// Rows.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub rows: usize,
    /// Noise standard deviation of the continuous features (> 0).
    #[arg(long, default_value_t = 10.0, value_name = "SIGMA", value_parser = parse::positive, allow_hyphen_values = true)]
    pub sigma: f64,
    /// Seed.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Output CSV (written atomically); default (or -): standard output.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
}

/// Model loading flags shared by subcommands.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model file: .json (conflux network or AME model), .onnx, or .safetensors (with --arch
    /// or a STEM.arch.json sidecar).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Architecture for .safetensors weights, nn.Sequential order, e.g. "linear,relu,linear".
    #[arg(long, value_name = "LIST")]
    pub arch: Option<String>,
    /// The input's per-row shape, e.g. 1,28,28, for ONNX files whose declared input is flat
    /// or has symbolic dimensions besides the batch.
    #[arg(long, value_name = "C,H,W", value_parser = crate::parse::shape)]
    pub input_shape: Option<crate::parse::Shape>,
}

/// `explain` flags.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// CSV with a header row, raw units (the model's preprocessing is applied); - for
    /// standard input. Image rows are the input tensor flattened in C order. Or a NumPy
    /// FILE.npy of float32/float64, shape (N, F) or (N, C, H, W).
    #[arg(long, value_name = "FILE.csv|FILE.npy")]
    pub data: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Column to exclude from the features (the label).
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Method with parameters, e.g. cafe:c=0.2,0.5, ig:steps=64, kernel-shap:n=2000,
    /// lime:surrogate=lasso [default: cafe]. Methods: cafe, saliency, gradient-x-input, lrp,
    /// deeplift, deeplift-reveal-cancel, integrated-gradients (ig), smoothgrad, gradient-shap,
    /// kernel-shap, shapley-sampling, lime, ablation.
    #[arg(long, value_name = "NAME[:key=value…]")]
    pub method: Option<String>,
    /// CAFE's conflict sensitivity: one value in [0, 1] or one per activation layer
    /// [default: 0.5].
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub c: Option<String>,
    /// zeros (in the network's input space), mean, median, or FILE.csv / FILE.npy (raw units;
    /// one row, or one per data row). mean and median read the data twice: with --data -
    /// they need --reference-data.
    #[arg(long, default_value = "zeros", value_name = "REF")]
    pub reference: Reference,
    /// Rows for --reference mean/median (default: the --data rows).
    #[arg(long, value_name = "FILE.csv")]
    pub reference_data: Option<PathBuf>,
    /// How the rows of a --reference file are used: auto (one row shared, else one per data
    /// row), shared (exactly one row), each (row i explains data row i), or average (every
    /// data row against every reference row, scores averaged: a background distribution, as
    /// DeepLiftShap and SHAP; memory does not grow with the background).
    #[arg(long, value_enum, default_value_t = ReferenceMode::Auto, value_name = "MODE")]
    pub reference_mode: ReferenceMode,
    /// predicted (arg-max output), an output index N (0-based), or all.
    #[arg(long, default_value = "predicted", value_name = "TARGET")]
    pub target: Target,
    /// Computation precision.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
    /// Output format: json, csv, or npz (NumPy archive of scores, feat_pos, feat_neg in the
    /// input's shape, bias_pos, bias_neg, output, baseline_output, row, target; needs --out).
    #[arg(long, value_enum, default_value_t = ExplainFormat::Json)]
    pub format: ExplainFormat,
    /// Output file (written atomically; never one of the inputs); default (or -): standard
    /// output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Explain after a trailing sigmoid head (probabilities) instead of the logits.
    #[arg(long)]
    pub explain_probabilities: bool,
    /// Feature groups for sampling methods: {"group": ["column", …], …}, every feature in
    /// exactly one group; or patch:KxK for square image patches spanning all channels
    /// (tiled from the top-left corner, edge patches smaller).
    #[arg(long, value_name = "FILE.json|patch:KxK", value_parser = parse::groups)]
    pub groups: Option<parse::Groups>,
    /// Seed for sampling methods (same seed ⇒ same output, whatever the thread count).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub threads: Option<usize>,
    /// No progress bar (it is also off when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
}

/// The metrics `evaluate` scores methods with (and `report` tabulates).
#[derive(Debug, Args)]
pub struct MetricArgs {
    /// A metric (repeatable): infidelity, sensitivity-max, completeness (and for evaluate,
    /// rmse against ground-truth columns).
    #[arg(long = "metric", value_enum)]
    pub metrics: Vec<Metric>,
    /// Infidelity: noise standard deviation on continuous features (input space).
    #[arg(long, default_value_t = 0.5, value_name = "SD", value_parser = parse::non_negative, allow_hyphen_values = true)]
    pub perturb_sd: f64,
    /// Infidelity: probability of resampling each categorical column (or group).
    #[arg(long, default_value_t = 0.1, value_name = "P", value_parser = parse::probability, allow_hyphen_values = true)]
    pub categorical_prob: f64,
    /// Categorical columns, comma-separated (resampled, not noised).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Perturbations per row (infidelity and sensitivity-max).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub samples: usize,
    /// Sensitivity-max: radius of the L∞ ball (> 0).
    #[arg(long, default_value_t = 0.02, value_name = "R", value_parser = parse::positive, allow_hyphen_values = true)]
    pub radius: f64,
}

/// `evaluate` flags.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// CSV with a header row, raw units; - for standard input.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Column to exclude from the features (the label).
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// A method to score (repeatable), e.g. cafe:c=0.5, deeplift, kernel-shap:n=200.
    #[arg(long = "method", value_name = "NAME[:key=value…]")]
    pub methods: Vec<String>,
    #[command(flatten)]
    pub metric: MetricArgs,
    /// RMSE: prefix of the ground-truth columns (`gt_` matches `conflux data conflicts`).
    #[arg(long, default_value = "gt_", value_name = "PREFIX")]
    pub truth_prefix: String,
    /// zeros (default), mean, median, or a one-row FILE.csv (raw units). mean and median read
    /// the data twice (not possible with --data -).
    #[arg(long, default_value = "zeros", value_name = "REF")]
    pub reference: Reference,
    /// predicted, an output index N, or all.
    #[arg(long, default_value = "predicted", value_name = "TARGET")]
    pub target: Target,
    /// Feature groups for sampling methods and categorical resampling (FILE.json, or
    /// patch:KxK image patches).
    #[arg(long, value_name = "FILE.json|patch:KxK", value_parser = parse::groups)]
    pub groups: Option<parse::Groups>,
    /// Seed for perturbations and sampling methods.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Use at most this many rows of --data.
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub max_rows: Option<usize>,
    /// Computation precision.
    #[arg(long, value_enum, default_value_t = Precision::F64)]
    pub precision: Precision,
    /// Machine-readable output format (with --out, or instead of the table on stdout).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Output file (written atomically; never one of the inputs); the table still goes to
    /// stdout. With -, the machine-readable form goes to stdout instead of the table.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Metrics of `evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Metric {
    /// Infidelity (Yeh et al., Captum's normalised, input-multiplied convention).
    Infidelity,
    /// Sensitivity-max (Yeh et al.).
    SensitivityMax,
    /// |Σ scores − (output − baseline output)| for methods that claim completeness.
    Completeness,
    /// RMSE against ground-truth columns `<truth-prefix><feature>` in --data (per column over
    /// rows, averaged over columns; one value per method).
    Rmse,
}

impl Metric {
    /// The name used in output.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Infidelity => "infidelity",
            Metric::SensitivityMax => "sensitivity-max",
            Metric::Completeness => "completeness",
            Metric::Rmse => "rmse",
        }
    }
}

/// `report` flags.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// CSV with a header row, raw units (the model's preprocessing is applied).
    #[arg(long, value_name = "FILE.csv|FILE.npy")]
    pub data: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Label column (not a feature).
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Methods to run, repeatable (default cafe); the first one draws the beeswarm.
    #[arg(long = "method", value_name = "NAME[:key=value…]")]
    pub methods: Vec<String>,
    /// CAFE's conflict sensitivity (one value or one per activation layer).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub c: Option<String>,
    /// zeros (in the network's input space), mean, median, or FILE.csv (as explain).
    #[arg(long, default_value = "zeros", value_name = "REF")]
    pub reference: Reference,
    /// Rows for --reference mean/median (default: the --data rows).
    #[arg(long, value_name = "FILE.csv")]
    pub reference_data: Option<PathBuf>,
    /// Output to explain: predicted (the arg-max) or an index N.
    #[arg(long, default_value = "predicted", value_name = "TARGET")]
    pub target: Target,
    /// A metric table of the methods (`evaluate`'s metrics on the per-row rows;
    /// --metric infidelity, sensitivity-max or completeness, repeatable).
    #[command(flatten)]
    pub metric: MetricArgs,
    /// Rows that get per-row views (the first N rows); dataset views use every row.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub rows: usize,
    /// Seed (sampling methods, the beeswarm's sample).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub threads: Option<usize>,
    /// The HTML file to write (atomically; never one of the inputs).
    #[arg(long, value_name = "FILE.html")]
    pub out: PathBuf,
    /// No progress bar and no closing line.
    #[arg(long)]
    pub quiet: bool,
}

/// `inspect` flags.
#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
    pub format: InspectFormat,
}

/// `demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Rows of the bundled data to summarise.
    #[arg(long, default_value_t = 5, value_parser = parse::count, allow_hyphen_values = true)]
    pub rows: usize,
    /// CAFE's conflict sensitivity.
    #[arg(long, default_value = "0.5", value_name = "LIST")]
    pub c: String,
    /// Where to write the HTML report of the demo (default: conflux-demo-report.html in
    /// the system's temporary folder).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Rows/s of CAFE (c = 0.5, f32, target 0) and of a plain forward pass of the same
    /// engine, for a 13→100→2 ReLU MLP and a 100→256→256→256→1 GELU MLP, at batch 1 and
    /// 4096, on 1 and 2 threads.
    Cafe(BenchArgs),
    /// The CAFE paper's Table 1: attribution RMSE against ground truth on synthetic
    /// conflicts, every method and CAFE at c ∈ {0, .25, .5, .75, 1}, ReLU and GELU, d = 2..5,
    /// with the paper's numbers beside.
    Conflicts(ConflictsBenchArgs),
    /// Rows/s of every method on the same model and rows, and the ratio to CAFE (like the
    /// CAFE paper's Table 3).
    Methods(MethodsBenchArgs),
    /// The AME 8-vs-3 masking benchmark: train AME(α=0.1), AME(α=0) and an MLP on the MNIST
    /// threes and eights (image stem, 49 experts), rank the test eights' pixels by the AME's
    /// attention, Kernel SHAP and LIME (and the MLP's by CAFE and Kernel SHAP), mask the top
    /// 10 % and report the mean change in log-odds and each method's time. --quick: 8×8 digits,
    /// one expert per pixel.
    #[command(name = "ame-digits")]
    AmeDigits(AmeDigitsArgs),
    /// AMEs on Adult for α ∈ {0, 0.01, …, 0.1}: test error, MGE and Granger r² against α.
    #[command(name = "ame-alpha")]
    AmeAlpha(AmeAlphaArgs),
    /// How often the Granger-causal targets ω and the attention name each row's driver on
    /// synthetic tasks with a known driver (switch, threshold, product), for the paper's
    /// linear Granger predictors and MLP ones, α ∈ {0, 0.05}.
    AmeGranger(AmeGrangerArgs),
    /// Rows/s of an AME's own importances against Kernel SHAP, LIME (on the AME), DeepLIFT and
    /// CAFE (on an MLP of similar size), on Adult.
    #[command(name = "ame-speed")]
    AmeSpeed(AmeSpeedArgs),
}

/// `bench ame-digits` flags.
#[derive(Debug, Args)]
pub struct AmeDigitsArgs {
    /// Small and fast: 8×8 digits, fewer epochs and samples (for tests).
    #[arg(long)]
    pub quick: bool,
    /// MNIST-style CSV (p0…p783, label) instead of the bundled threes and eights.
    #[arg(long, value_name = "FILE.csv")]
    pub data: Option<PathBuf>,
    /// Test eights to explain.
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub images: usize,
    /// Maximum training epochs (default 60; 15 with --quick).
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub epochs: Option<usize>,
    /// Kernel SHAP coalitions and LIME samples (default 2048; 256 with --quick).
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub samples: Option<usize>,
    /// Hidden width of the AMEs' Granger-causal predictors (0: linear; default: `train ame`'s).
    #[arg(long, value_name = "N", value_parser = parse::natural, allow_hyphen_values = true)]
    pub granger_hidden: Option<usize>,
    /// Seed (split, training, sampling).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Also write the results as CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `bench ame-alpha` flags.
#[derive(Debug, Args)]
pub struct AmeAlphaArgs {
    /// α ∈ {0, 0.05} on a slice of the data, few epochs (for tests).
    #[arg(long)]
    pub quick: bool,
    /// Maximum epochs (default 100, early stopping with patience 12).
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub epochs: Option<usize>,
    /// Only these α (comma-separated; default 0, 0.01, …, 0.1).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub alphas: Vec<f64>,
    /// Hidden width of the Granger-causal predictors (0: linear; default: `train ame`'s).
    #[arg(long, value_name = "N", value_parser = parse::natural, allow_hyphen_values = true)]
    pub granger_hidden: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Also write the table as CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `bench ame-granger` flags.
#[derive(Debug, Args)]
pub struct AmeGrangerArgs {
    /// The switch task only, 600 rows, 3 epochs (for tests).
    #[arg(long)]
    pub quick: bool,
    /// Hidden width of the MLP Granger predictors compared with the linear ones.
    #[arg(long, default_value_t = 32, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub granger_hidden: usize,
    /// Maximum epochs (default 200, early stopping with patience 12).
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub epochs: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Also write the table as CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `bench ame-speed` flags.
#[derive(Debug, Args)]
pub struct AmeSpeedArgs {
    /// Few training epochs and rows (for tests).
    #[arg(long)]
    pub quick: bool,
    /// Rows to explain.
    #[arg(long, default_value_t = 9045, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub rows: usize,
    /// Seed.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `bench methods` flags.
#[derive(Debug, Args)]
pub struct MethodsBenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// CSV with a header row, raw units; - for standard input.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Column to exclude from the features.
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Rows of --data to explain.
    #[arg(long, default_value_t = 512, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub rows: usize,
    /// Methods to time (repeatable) [default: every method with its defaults].
    #[arg(long = "method", value_name = "NAME[:key=value…]")]
    pub methods: Vec<String>,
    /// Feature groups for the sampling methods (FILE.json, or patch:KxK image patches;
    /// images have too many pixels to sample one by one).
    #[arg(long, value_name = "FILE.json|patch:KxK", value_parser = parse::groups)]
    pub groups: Option<parse::Groups>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub threads: Option<usize>,
}

/// `bench conflicts` flags.
#[derive(Debug, Args)]
pub struct ConflictsBenchArgs {
    /// The authors' exact protocol: 2000 epochs, best of 5 initialisations (hours).
    #[arg(long, conflicts_with = "quick")]
    pub full: bool,
    /// A tiny run for tests (d = 2 only, 1 seed, 2000 rows, 20 epochs).
    #[arg(long)]
    pub quick: bool,
    /// Data seeds (datasets) per configuration.
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub seeds: Option<usize>,
    /// Initialisations per dataset (the best validation RMSE is kept).
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub inits: Option<usize>,
    /// Maximum epochs per network.
    #[arg(long, value_name = "N", value_parser = parse::count, allow_hyphen_values = true)]
    pub epochs: Option<usize>,
    /// Only these d (comma-separated, from 2..5).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub dims: Vec<usize>,
    /// Only this activation (relu or gelu).
    #[arg(long, value_name = "ACT")]
    pub act: Option<String>,
    /// Train the networks without biases.
    #[arg(long)]
    pub no_bias: bool,
    /// Also write the table as CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Benchmark flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Seconds to measure each cell.
    #[arg(long, default_value_t = 1.0, value_parser = parse::positive, allow_hyphen_values = true)]
    pub seconds: f64,
    /// A very short run (for tests).
    #[arg(long)]
    pub quick: bool,
}

/// Computation precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Precision {
    /// 32-bit floats (fast).
    F32,
    /// 64-bit floats (checking).
    F64,
}

/// Output format of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON document (interface.md §Output schema).
    Json,
    /// One line per (row, target).
    Csv,
}

/// Output format of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// One JSON document (interface.md §Output schema).
    Json,
    /// One line per (row, target).
    Csv,
    /// A NumPy `.npz` archive (arrays in the input's shape, for heatmaps).
    Npz,
}

/// Output format of `inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// Human-readable table.
    Text,
    /// JSON.
    Json,
}

/// How the rows of a `--reference` file are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReferenceMode {
    /// One row: shared; several: one per data row.
    Auto,
    /// Exactly one row, shared by every data row.
    Shared,
    /// One row per data row.
    Each,
    /// Every row, as a background: results averaged over it.
    Average,
}
