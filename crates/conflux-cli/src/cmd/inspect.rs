//! `conflux inspect`: layers, shapes, parameters, preprocessing and head of a model (what
//! it shows is `conflux_core::inspect`'s, shared with Python's `Model.inspect`).

use std::io::Write;

use anyhow::Result;

use crate::cli::{InspectArgs, InspectFormat};

/// Runs `inspect`.
pub fn run(args: &InspectArgs) -> Result<()> {
    let model = super::load_any(&args.model)?;
    let name = args.model.model.display().to_string();
    let mut o = std::io::stdout().lock();
    match args.format {
        InspectFormat::Json => {
            let v = conflux_core::inspect::json(&model, &name);
            writeln!(o, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        InspectFormat::Text => write!(o, "{}", conflux_core::inspect::text(&model, &name))?,
    }
    Ok(())
}
