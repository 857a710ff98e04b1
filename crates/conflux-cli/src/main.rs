//! The `conflux` command-line tool.
//!
//! `main` only turns [`run`]'s result into one `error:` line and an exit code: 0 ok, 1 bad
//! input or runtime failure, 2 usage error (clap), 0 on a closed output pipe.

mod cli;
mod cmd;
mod html;
mod output;
mod parse;
mod report;

use std::process::ExitCode;

use clap::Parser;

use cli::{BenchCommand, Cli, Command, DataCommand, TrainCommand};

/// The limits in force: defaults, then `CONFLUX_MAX_*` variables, then the flags.
fn limits(cli: &Cli) -> anyhow::Result<conflux_core::Limits> {
    let mut l = conflux_core::Limits::from_env()?;
    let flags = &cli.limits;
    for (value, slot) in [
        (flags.max_tensor_elements, &mut l.tensor_elements),
        (flags.max_parameters, &mut l.parameters),
        (flags.max_model_bytes, &mut l.model_bytes),
        (flags.max_line_bytes, &mut l.line_bytes),
        (flags.max_data_cells, &mut l.data_cells),
    ] {
        if let Some(v) = value {
            *slot = v;
        }
    }
    Ok(l)
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    conflux_core::Limits::set_current(limits(cli)?);
    match &cli.command {
        Command::Explain(a) => cmd::explain::run(a),
        Command::Evaluate(a) => cmd::evaluate::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Bench(BenchCommand::Cafe(a)) => cmd::bench::cafe(a),
        Command::Bench(BenchCommand::Conflicts(a)) => cmd::conflicts::run(a),
        Command::Bench(BenchCommand::Methods(a)) => cmd::bench::methods(a),
        Command::Bench(BenchCommand::AmeDigits(a)) => cmd::ame_bench::digits(a),
        Command::Bench(BenchCommand::AmeAlpha(a)) => cmd::ame_bench::alpha(a),
        Command::Bench(BenchCommand::AmeGranger(a)) => cmd::ame_granger::run(a),
        Command::Bench(BenchCommand::AmeSpeed(a)) => cmd::ame_bench::speed(a),
        Command::Data(DataCommand::Conflicts(a)) => cmd::data::conflicts(a),
        Command::Train(TrainCommand::Mlp(a)) => cmd::train::mlp(a),
        Command::Train(TrainCommand::Ame(a)) => cmd::ame::train(a),
    }
}

/// The last line of defence for error messages (values from files are already quoted and
/// cut where they are put in): one line, no control characters, at most 2 000 characters
/// (the start and the end kept).
fn one_line(msg: &str) -> String {
    let clean: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let n = clean.chars().count();
    if n <= 2000 {
        return clean;
    }
    let head: String = clean.chars().take(1200).collect();
    let tail: String = clean.chars().skip(n - 700).collect();
    format!("{head} … ({} chars cut) … {tail}", n - 1900)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    // A bug must still end in one line, never a backtrace (RUST_BACKTRACE may be set).
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!(
            "error: internal error (please report): {}",
            msg.replace('\n', " ")
        );
    }));
    // Ctrl-C or a termination signal: remove the unfinished output file, then exit as a shell
    // expects (128 + SIGINT).
    let _ = ctrlc::set_handler(|| {
        conflux_core::io::remove_temp_files();
        eprintln!("error: interrupted; no output written");
        std::process::exit(130);
    });
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}
