//! One module per subcommand.

pub mod ame;
pub mod ame_bench;
pub mod bench;
pub mod conflicts;
pub mod data;
pub mod demo;
pub mod evaluate;
pub mod explain;
pub mod inspect;
pub mod train;

use anyhow::{Context, Result};
use conflux_core::io::{AnyModel, Loaded};
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
    Ok(load_traced(m)?.model)
}

/// Loads `--model` and lists the files read (the model, sidecars, external data), so that
/// outputs can be checked against them.
pub fn load_traced(m: &ModelArgs) -> Result<Loaded> {
    Ok(conflux_core::io::load_any_with(
        &m.model,
        m.arch.as_deref(),
        &conflux_core::Limits::current(),
    )?)
}

/// The files of a loaded model, labelled for [`crate::output::check_outputs`].
pub fn model_inputs(loaded: &Loaded) -> Vec<(&'static str, &std::path::Path)> {
    loaded
        .files
        .iter()
        .map(|p| ("--model", p.as_path()))
        .collect()
}

/// Refuses a command that would read standard input (`-`) or one pipe for two flags: they
/// can be read only once.
pub fn check_stdin(inputs: &[(&str, Option<&std::path::Path>)]) -> Result<()> {
    let once: Vec<(&str, &std::path::Path)> = inputs
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

/// A rayon pool with `threads` workers (all cores when `None`).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("starting worker threads")
}
