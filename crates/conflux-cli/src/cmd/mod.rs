//! One module per subcommand.

pub mod ame;
pub mod ame_bench;
pub mod ame_granger;
pub mod bench;
pub mod conflicts;
pub mod data;
pub mod demo;
pub mod evaluate;
pub mod explain;
pub mod inspect;
pub mod report;
pub mod train;

use anyhow::{Context, Result};
use std::path::Path;

use conflux_core::io::AnyModel;
use conflux_core::{Ame, Network, Preprocess};

use crate::cli::ModelArgs;

/// Loads `--model` as a layered network (with `--arch` for safetensors); an AME file is an
/// error naming the commands that take one.
pub fn load_model(m: &ModelArgs) -> Result<Network> {
    match load_any(m)? {
        AnyModel::Network(n) => Ok(n),
        AnyModel::Ame(_) => anyhow::bail!(
            "{}: this is an AME model; this command needs a layered network (explain and evaluate take AMEs)",
            m.model.display()
        ),
    }
}

/// Loads `--model`: a network or an AME.
pub fn load_any(m: &ModelArgs) -> Result<AnyModel> {
    Ok(conflux_core::io::load_any_shaped(
        &m.model,
        m.arch.as_deref(),
        m.input_shape.as_ref().map(|s| s.0.as_slice()),
        &conflux_core::Limits::current(),
    )?
    .model)
}

/// A command's inputs by flag (`None`: flag not given).
pub type Inputs<'a> = [(&'a str, Option<&'a Path>)];

/// Loads `--model`, then checks the command's files before anything is read from the data or
/// written: [`check_io`] over `inputs` plus every file the model read (the model, sidecars,
/// external data), with `--out`.
pub fn load_checked(m: &ModelArgs, inputs: &Inputs, out: Option<&Path>) -> Result<AnyModel> {
    let loaded = conflux_core::io::load_any_shaped(
        &m.model,
        m.arch.as_deref(),
        m.input_shape.as_ref().map(|s| s.0.as_slice()),
        &conflux_core::Limits::current(),
    )?;
    let mut all: Vec<(&str, Option<&Path>)> = loaded
        .files
        .iter()
        .map(|p| ("--model", Some(p.as_path())))
        .collect();
    all.extend_from_slice(inputs);
    check_io(&all, out.map(|o| ("--out", o)).as_slice())?;
    Ok(loaded.model)
}

/// Refuses, before anything is read or written, an output that is one of the inputs
/// ([`crate::output::check_outputs`]) and standard input or a pipe named twice
/// ([`check_stdin`]).
pub fn check_io(inputs: &Inputs, outputs: &[(&str, &Path)]) -> Result<()> {
    check_stdin(inputs)?;
    let given: Vec<(&str, &Path)> = inputs
        .iter()
        .filter_map(|(flag, p)| p.map(|p| (*flag, p)))
        .collect();
    crate::output::check_outputs(outputs, &given)
}

/// Refuses a command that would read standard input (`-`) or one pipe for two flags: they
/// can be read only once.
pub fn check_stdin(inputs: &Inputs) -> Result<()> {
    let once: Vec<(&str, &Path)> = inputs
        .iter()
        .filter_map(|(flag, p)| p.map(|p| (*flag, p)))
        .filter(|(_, p)| conflux_core::io::read::is_one_shot(p))
        .collect();
    for (i, (flag, path)) in once.iter().enumerate() {
        if let Some((first, _)) = once[..i].iter().find(|(_, q)| q == path) {
            anyhow::bail!(
                "{first} {0} and {flag} {0}: standard input or a pipe can be read only once; give one of them as a file",
                path.display()
            );
        }
    }
    Ok(())
}

/// The model a command works on, borrowed.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    /// A layered network.
    Net(&'a Network),
    /// An AME.
    Ame(&'a Ame),
}

impl Subject<'_> {
    /// Inputs.
    pub fn input_dim(&self) -> usize {
        match self {
            Subject::Net(n) => n.input_dim(),
            Subject::Ame(a) => a.input_dim(),
        }
    }
    /// Feature names stored in the model, if any.
    pub fn names(&self) -> Option<&[String]> {
        match self {
            Subject::Net(n) => n.stored_feature_names(),
            Subject::Ame(a) => Some(&a.features),
        }
    }
    /// The input scaler.
    pub fn preprocess(&self) -> Option<&Preprocess> {
        match self {
            Subject::Net(n) => n.preprocess(),
            Subject::Ame(a) => a.preprocess.as_ref(),
        }
    }
}

/// For commands that explain every row in one call: refuses when `rows` rows (with `targets`
/// targets or copies each) need more working memory than the data-cell limit, naming
/// `rows_flag`, the flag that lowers the row count.
pub fn check_rows_fit(
    method: &conflux_methods::spec::Method,
    d: usize,
    targets: usize,
    rows: usize,
    rows_flag: &str,
) -> Result<()> {
    let budget = conflux_core::Limits::current().data_cells;
    let fit = method.rows_within(d, targets, budget, rows)?;
    if fit < rows {
        anyhow::bail!(
            "--method {}: {rows} rows at once need more working memory than allowed ({}); use \
             {rows_flag} {fit} or fewer",
            method.id().as_str(),
            conflux_core::limits::DATA_CELLS.exceeded(budget)
        );
    }
    Ok(())
}

/// A rayon pool with `threads` workers (all cores when `None`).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("starting worker threads")
}
