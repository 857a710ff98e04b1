//! What `inspect` shows of a model (the CLI's text and JSON, Python's `Model.inspect`):
//! inputs, shape, preprocessing, the layer table, head, outputs and parameters of a
//! network; task, encoder, experts and groups of an AME.

use serde_json::{Value, json};

use crate::Ame;
use crate::ame::Encoder;
use crate::io::AnyModel;
use crate::net::Network;
use crate::net::summary::layer_rows;

/// The JSON form of `model`, loaded from `name`.
pub fn json(model: &AnyModel, name: &str) -> Value {
    match model {
        AnyModel::Network(net) => json!({
            "model": name,
            "input_dim": net.input_dim(),
            "input_shape": net.input_shape(),
            "output_dim": net.output_dim(),
            // Stored names only: f0, f1, … are implied (and a hostile input_dim must not
            // make them all).
            "feature_names": net.stored_feature_names(),
            "preprocess": net.preprocess().map(|p| p.kind()),
            "layers": layer_rows(net)
                .into_iter()
                .map(|(t, s, p)| json!({"type": t, "shape": s, "params": p}))
                .collect::<Vec<_>>(),
            "head": net.head().map(|h| h.type_name()),
            "parameters": net.param_count(),
            "activation_layers": net.activation_layers(),
        }),
        AnyModel::Ame(m) => json!({
            "model": name,
            "kind": "ame",
            "task": task(m),
            "input_dim": m.input_dim(),
            "feature_names": m.features,
            "experts": m.experts(),
            "groups": groups(m).iter().map(|(n, k)| json!({"name": n, "features": k})).collect::<Vec<_>>(),
            "encoder": encoder(m),
            "hidden": m.hidden(),
            "gate_width": m.gate_width(),
            "granger_hidden": m.aux_hidden.as_ref().map_or(0, |a| a.width),
            "preprocess": m.preprocess.as_ref().map(|p| p.kind()),
            "parameters": m.param_count(),
        }),
    }
}

/// The text form of `model`, loaded from `name` (lines ending in `\n`).
pub fn text(model: &AnyModel, name: &str) -> String {
    match model {
        AnyModel::Network(net) => network_text(net, name),
        AnyModel::Ame(m) => ame_text(m, name).into_iter().map(|l| l + "\n").collect(),
    }
}

/// [`text`] of a network.
pub fn network_text(net: &Network, name: &str) -> String {
    network_lines(net, name)
        .into_iter()
        .map(|l| l + "\n")
        .collect()
}

fn network_lines(net: &Network, name: &str) -> Vec<String> {
    let mut o = vec![format!("model       {name}")];
    let shown: Vec<String> = match net.stored_feature_names() {
        Some(n) => n.iter().take(8).map(|s| crate::error::quote(s)).collect(),
        None => (0..net.input_dim().min(8))
            .map(|i| format!("f{i}"))
            .collect(),
    };
    let shown = if net.input_dim() > 8 {
        format!("{}, … ({} more)", shown.join(", "), net.input_dim() - 8)
    } else {
        shown.join(", ")
    };
    o.push(format!("inputs      {} ({shown})", net.input_dim()));
    if net.graph().is_some() {
        let d: Vec<String> = net.input_shape().iter().map(ToString::to_string).collect();
        o.push(format!(
            "input shape (N, {}), rows flattened in C order",
            d.join(", ")
        ));
    }
    o.push(format!(
        "preprocess  {}",
        net.preprocess().map_or("none", |p| p.kind())
    ));
    o.push("layers".into());
    let table = layer_rows(net);
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
    o.push(format!(
        "  {:>3}  {:<tw$} {:<sw$} {:>9}",
        "#", "type", "shape", "params"
    ));
    for (i, (t, s, p)) in table.into_iter().enumerate() {
        o.push(format!("  {i:>3}  {t:<tw$} {s:<sw$} {p:>9}"));
    }
    o.push(match net.head().map(|h| h.type_name()) {
        Some(h) => format!(
            "head        {h} (kept for forward passes; explained at the logits unless --explain-probabilities)"
        ),
        None => "head        none".into(),
    });
    o.push(format!("outputs     {}", net.output_dim()));
    o.push(format!("parameters  {}", net.param_count()));
    o.push(format!(
        "activation layers  {} (per-layer --c takes 1 or {} values)",
        net.activation_layers(),
        net.activation_layers()
    ));
    o
}

fn ame_text(m: &Ame, name: &str) -> Vec<String> {
    let groups = groups(m);
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
    vec![
        format!("model       {name} (AME)"),
        format!("task        {}", task(m)),
        format!("inputs      {}", m.input_dim()),
        format!(
            "preprocess  {}",
            m.preprocess.as_ref().map_or("none", |p| p.kind())
        ),
        format!("encoder     {}", encoder(m)),
        format!(
            "experts     {} (hidden {}, gate width {})",
            m.experts(),
            m.hidden(),
            m.gate_width()
        ),
        format!("groups      {}{more}", shown.join(", ")),
        format!(
            "granger     {}",
            m.aux_hidden.as_ref().map_or_else(
                || "linear predictors (the paper's)".to_string(),
                |a| format!("MLP predictors (hidden {}, SELU)", a.width)
            )
        ),
        format!("parameters  {}", m.param_count()),
    ]
}

fn task(m: &Ame) -> String {
    match m.task {
        crate::AmeTask::Multiclass { classes } => format!("multiclass ({classes} classes)"),
        t => t.name().to_string(),
    }
}

fn encoder(m: &Ame) -> String {
    match &m.encoder {
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
    }
}

/// Every expert's name and member count.
fn groups(m: &Ame) -> Vec<(String, usize)> {
    (0..m.experts())
        .map(|g| (m.groups.names()[g].clone(), m.groups.members(g).len()))
        .collect()
}
