//! `conflux inspect`: layers, shapes, parameters, preprocessing and head of a model.

use std::io::Write;

use anyhow::Result;
use conflux_core::Ame;
use conflux_core::ame::Encoder;
use conflux_core::io::AnyModel;
use serde_json::json;

use crate::cli::{InspectArgs, InspectFormat};

/// Runs `inspect`.
pub fn run(args: &InspectArgs) -> Result<()> {
    let net = match super::load_any(&args.model)? {
        AnyModel::Network(n) => n,
        AnyModel::Ame(a) => return ame(args, &a),
    };
    let mut o = std::io::stdout().lock();
    let head = net.head().map(|h| h.type_name());
    match args.format {
        InspectFormat::Json => {
            let layers: Vec<_> = conflux_core::net::summary::layer_rows(&net)
                .into_iter()
                .map(|(t, s, p)| json!({"type": t, "shape": s, "params": p}))
                .collect();
            let v = json!({
                "model": args.model.model.display().to_string(),
                "input_dim": net.input_dim(),
                "input_shape": net.input_shape(),
                "output_dim": net.output_dim(),
                // Stored names only: f0, f1, … are implied (and a hostile input_dim must not
                // make them all).
                "feature_names": net.stored_feature_names(),
                "preprocess": net.preprocess().map(|p| p.kind()),
                "layers": layers,
                "head": head,
                "parameters": net.param_count(),
                "activation_layers": net.activation_layers(),
            });
            writeln!(o, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        InspectFormat::Text => {
            writeln!(o, "model       {}", args.model.model.display())?;
            let shown: Vec<String> = match net.stored_feature_names() {
                Some(n) => n
                    .iter()
                    .take(8)
                    .map(|s| conflux_core::error::quote(s))
                    .collect(),
                None => (0..net.input_dim().min(8))
                    .map(|i| format!("f{i}"))
                    .collect(),
            };
            let shown = if net.input_dim() > 8 {
                format!("{}, … ({} more)", shown.join(", "), net.input_dim() - 8)
            } else {
                shown.join(", ")
            };
            writeln!(o, "inputs      {} ({shown})", net.input_dim())?;
            if net.graph().is_some() {
                let d: Vec<String> = net.input_shape().iter().map(ToString::to_string).collect();
                writeln!(
                    o,
                    "input shape (N, {}), rows flattened in C order",
                    d.join(", ")
                )?;
            }
            writeln!(
                o,
                "preprocess  {}",
                net.preprocess().map_or("none", |p| p.kind())
            )?;
            writeln!(o, "layers")?;
            let table = conflux_core::net::summary::layer_rows(&net);
            // Column widths fit the longest entry (layer lists keep their compact table).
            let tw = table
                .iter()
                .map(|r| r.0.chars().count())
                .max()
                .unwrap_or(0)
                .max(11);
            let sw = table
                .iter()
                .map(|r| r.1.chars().count())
                .max()
                .unwrap_or(0)
                .max(28);
            writeln!(
                o,
                "  {:>3}  {:<tw$} {:<sw$} {:>9}",
                "#", "type", "shape", "params"
            )?;
            for (i, (t, s, p)) in table.into_iter().enumerate() {
                writeln!(o, "  {i:>3}  {t:<tw$} {s:<sw$} {p:>9}")?;
            }
            match head {
                Some(h) => writeln!(
                    o,
                    "head        {h} (kept for forward passes; explained at the logits unless --explain-probabilities)"
                )?,
                None => writeln!(o, "head        none")?,
            }
            writeln!(o, "outputs     {}", net.output_dim())?;
            writeln!(o, "parameters  {}", net.param_count())?;
            writeln!(
                o,
                "activation layers  {} (per-layer --c takes 1 or {} values)",
                net.activation_layers(),
                net.activation_layers()
            )?;
        }
    }
    Ok(())
}

/// `inspect` of an AME: task, experts and their groups, encoder, widths, parameters.
fn ame(args: &InspectArgs, m: &Ame) -> Result<()> {
    let mut o = std::io::stdout().lock();
    let task = match m.task {
        conflux_core::AmeTask::Regression => "regression".to_string(),
        conflux_core::AmeTask::Binary => "binary".to_string(),
        conflux_core::AmeTask::Multiclass { classes } => format!("multiclass ({classes} classes)"),
    };
    let encoder = match &m.encoder {
        Encoder::Tabular { layers } => format!(
            "tabular experts, SELU, widths {}",
            layers
                .iter()
                .map(|l| l.outputs.to_string())
                .collect::<Vec<_>>()
                .join(" → ")
        ),
        Encoder::Image {
            height,
            width,
            convs,
        } => format!(
            "image stem {height}×{width}, {} strided 2×2 convolutions (ELU), channels {}",
            convs.len(),
            convs
                .iter()
                .map(|c| c.c_out.to_string())
                .collect::<Vec<_>>()
                .join(" → ")
        ),
    };
    let groups: Vec<(String, usize)> = (0..m.experts())
        .map(|g| (m.groups.names()[g].clone(), m.groups.members(g).len()))
        .collect();
    match args.format {
        InspectFormat::Json => {
            let v = json!({
                "model": args.model.model.display().to_string(),
                "kind": "ame",
                "task": task,
                "input_dim": m.input_dim(),
                "feature_names": m.features,
                "experts": m.experts(),
                "groups": groups.iter().map(|(n, k)| json!({"name": n, "features": k})).collect::<Vec<_>>(),
                "encoder": encoder,
                "hidden": m.hidden(),
                "gate_width": m.gate_width(),
                "preprocess": m.preprocess.as_ref().map(|p| p.kind()),
                "parameters": m.param_count(),
            });
            writeln!(o, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        InspectFormat::Text => {
            writeln!(o, "model       {} (AME)", args.model.model.display())?;
            writeln!(o, "task        {task}")?;
            writeln!(o, "inputs      {}", m.input_dim())?;
            writeln!(
                o,
                "preprocess  {}",
                m.preprocess.as_ref().map_or("none", |p| p.kind())
            )?;
            writeln!(o, "encoder     {encoder}")?;
            writeln!(
                o,
                "experts     {} (hidden {}, gate width {})",
                m.experts(),
                m.hidden(),
                m.gate_width()
            )?;
            let shown: Vec<String> = groups
                .iter()
                .take(12)
                .map(|(n, k)| format!("{n} ({k})"))
                .collect();
            let more = if groups.len() > 12 {
                format!(", … ({} more)", groups.len() - 12)
            } else {
                String::new()
            };
            writeln!(o, "groups      {}{more}", shown.join(", "))?;
            writeln!(o, "parameters  {}", m.param_count())?;
        }
    }
    Ok(())
}
