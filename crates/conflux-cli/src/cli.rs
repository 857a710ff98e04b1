//! Command-line definition (clap derive). Flags follow interface.md §CLI conventions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use conflux_core::{Reference, Target};

/// conflux — explain neural networks with CAFE (positive and negative feature scores, the
/// biases' share, conflict sensitivity per layer).
#[derive(Debug, Parser)]
#[command(name = "conflux", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explain every row of a CSV with an attribution method (default: CAFE, c = 0.5).
    ///
    /// Example: conflux explain --model model.json --data rows.csv --label income --out scores.json
    Explain(Box<ExplainArgs>),
    /// Show a model's layers, shapes, parameter count, preprocessing and output head.
    Inspect(InspectArgs),
    /// Explain a bundled Adult-income model on bundled rows and print a readable summary.
    Demo(DemoArgs),
    /// Benchmarks (rows/s).
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// Model loading flags shared by subcommands.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model file: .json (conflux format), .onnx, or .safetensors (with --arch or a
    /// STEM.arch.json sidecar).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Architecture for .safetensors weights, nn.Sequential order, e.g. "linear,relu,linear".
    #[arg(long, value_name = "LIST")]
    pub arch: Option<String>,
}

/// `explain` flags.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// CSV with a header row, raw units (the model's preprocessing is applied).
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
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
    /// zeros (in the network's input space), mean, median, or FILE.csv (raw units; one row,
    /// or one per data row).
    #[arg(long, default_value = "zeros", value_name = "REF")]
    pub reference: Reference,
    /// Rows for --reference mean/median (default: the --data rows).
    #[arg(long, value_name = "FILE.csv")]
    pub reference_data: Option<PathBuf>,
    /// predicted (arg-max output), an output index N (0-based), or all.
    #[arg(long, default_value = "predicted", value_name = "TARGET")]
    pub target: Target,
    /// Computation precision.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Output file (written atomically); default: standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Explain after a trailing sigmoid head (probabilities) instead of the logits.
    #[arg(long)]
    pub explain_probabilities: bool,
    /// Feature groups for sampling methods: {"group": ["column", …], …}, every feature in
    /// exactly one group.
    #[arg(long, value_name = "FILE.json")]
    pub groups: Option<PathBuf>,
    /// Seed for sampling methods (same seed ⇒ same output, whatever the thread count).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar (it is also off when stderr is not a terminal).
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
    #[arg(long, default_value_t = 5)]
    pub rows: usize,
    /// CAFE's conflict sensitivity.
    #[arg(long, default_value = "0.5", value_name = "LIST")]
    pub c: String,
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Rows/s of CAFE (c = 0.5, f32, target 0) and of a plain forward pass of the same
    /// engine, for a 13→100→2 ReLU MLP and a 100→256→256→256→1 GELU MLP, at batch 1 and
    /// 4096, on 1 and 2 threads.
    Cafe(BenchArgs),
}

/// Benchmark flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Seconds to measure each cell.
    #[arg(long, default_value_t = 1.0)]
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

/// Output format of `inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// Human-readable table.
    Text,
    /// JSON.
    Json,
}
