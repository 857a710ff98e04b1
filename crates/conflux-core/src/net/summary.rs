//! The layer table `inspect` shows (the CLI's text and JSON, the Python `Model.inspect`):
//! per layer or graph node its type, a shape text and its parameter count.

use super::Network;
use super::graph::Graph;
use super::layer::Layer;

/// One row of the layer table: type, shape text, parameter count.
pub fn layer_rows(net: &Network) -> Vec<(String, String, usize)> {
    if let Some(g) = net.graph() {
        return graph_rows(g);
    }
    let mut width = net.input_dim();
    let mut out = Vec::new();
    for l in net.layers() {
        let shape = match l {
            Layer::Dense(d) => {
                width = d.out_dim();
                format!(
                    "{} → {}{}",
                    d.in_dim(),
                    d.out_dim(),
                    if d.bias().is_some() { "" } else { " (no bias)" }
                )
            }
            Layer::Act(super::activation::Activation::LeakyRelu { slope }) => {
                format!("{width} (negative_slope {slope})")
            }
            Layer::Act(super::activation::Activation::Elu { alpha }) => {
                format!("{width} (alpha {alpha})")
            }
            Layer::Act(super::activation::Activation::GeluTanh) => {
                format!("{width} (tanh approximation)")
            }
            Layer::Act(super::activation::Activation::Softplus { beta, threshold }) => {
                format!("{width} (beta {beta}, threshold {threshold})")
            }
            Layer::BatchNorm(b) => format!("{width} (eps {:e})", b.eps),
            Layer::Dropout { p } => format!("{width} (p {p}, inactive at inference)"),
            _ => width.to_string(),
        };
        out.push((l.type_name().to_string(), shape, l.param_count()));
    }
    out
}

/// Graph nodes: op (and the activation index per-layer `c` uses), node name, input and
/// output shapes, parameters.
fn graph_rows(g: &Graph) -> Vec<(String, String, usize)> {
    let show = |s: &[usize]| {
        let d: Vec<String> = s.iter().map(ToString::to_string).collect();
        format!("(N, {})", d.join(", "))
    };
    let shape_of = |t: usize| {
        if t == 0 {
            g.input_shape().to_vec()
        } else {
            g.nodes()[t - 1].shape.clone()
        }
    };
    g.nodes()
        .iter()
        .map(|n| {
            let kind = match &n.op {
                super::plan::Op::Act { slot, .. } => format!("{} [c{slot}]", n.op.kind()),
                op => op.kind().to_string(),
            };
            let ins: Vec<String> = n.inputs.iter().map(|&t| show(&shape_of(t))).collect();
            let name = crate::error::quote(&n.name);
            (
                kind,
                format!("{name}: {} → {}", ins.join(" + "), show(&n.shape)),
                n.op.param_count(),
            )
        })
        .collect()
}
