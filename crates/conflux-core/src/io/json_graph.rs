//! conflux's JSON model format, version 2: a graph of named nodes (README §Model files).
//!
//! ```text
//! {"format": "conflux-model", "format_version": 2,
//!  "input_shape": [C, H, W] | [F],            per row; the batch is implicit
//!  "feature_names": [...], "preprocess": {...}, "head": "softmax" | ...   (optional)
//!  "nodes": [{"name": "conv1", "op": "conv",
//!             "inputs": [{"from": "input", "shape": [1, 28, 28]}],
//!             ...the op's attributes and weights...}, ...],
//!  "output": {"from": "fc", "shape": [10]}}
//! ```
//!
//! Every input names an earlier node (or `input`) and the shape the node reads it as (a
//! reshape when it differs from the producer's; the element count must agree). Ops and their
//! keys: `linear` (`weight` `[[out × in]]`, `bias`), `conv` (`kernel_dims`, `weight` flat,
//! `bias`, `groups`, `strides`, `dilations`, `pads` (begins then ends)), `max_pool` and
//! `average_pool` (`kernel`, `strides`, `dilations`, `pads`, `ceil_mode`,
//! `count_include_pad`), `mean` (over each channel's positions), `affine` (`scale`, `shift`
//! per element), `layer_norm` (`axis`, `gamma`, `beta`, `eps`), `add`, `sub`, `gather`
//! (`index`: per output element, the index into the concatenated inputs), and every
//! activation of format 1 by its `type` name (with its parameters).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::json::{FORMAT, names_and_preprocess, short};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::net::Network;
use crate::net::activation::Activation;
use crate::net::graph::{Graph, GraphBuilder, Kernel, NodeError, Value as Tensor};
use crate::net::layer::Head;
use crate::net::ops::pool::PoolGeometry;
use crate::net::ops::window::{Window, WindowSpec};
use crate::net::plan::{Node, Op};

/// The shape node `n` reads its `k`-th input as.
fn read_shape(plan_shape: impl Fn(usize) -> Vec<usize>, n: &Node<f64>, k: usize) -> Vec<usize> {
    let size: usize = plan_shape(n.inputs[k]).iter().product();
    match &n.op {
        Op::Dense(d) if d.outer == 1 => vec![d.n_in],
        Op::Dense(d) => vec![d.outer, d.n_in],
        Op::Conv(c) => vec![c.c_in, c.window.input[0], c.window.input[1]],
        Op::MaxPool(m) => vec![m.channels, m.window.input[0], m.window.input[1]],
        Op::Pool(p) => match &p.geometry {
            PoolGeometry::Average {
                channels, window, ..
            } => {
                vec![*channels, window.input[0], window.input[1]]
            }
            PoolGeometry::Mean { channels, len } => vec![*channels, *len],
        },
        Op::LayerNorm(l) if l.n == size => vec![l.n],
        Op::LayerNorm(l) => vec![size / l.n, l.n],
        _ => vec![size],
    }
}

fn window_json(w: &Window) -> Value {
    let floor_out = |a: usize| {
        let span = w.dilation[a] * (w.kernel[a] - 1) + 1;
        (w.input[a] + w.pad[a] + w.pad_end[a] - span) / w.stride[a] + 1
    };
    json!({
        "kernel": w.kernel, "strides": w.stride, "dilations": w.dilation,
        "pads": [w.pad[0], w.pad[1], w.pad_end[0], w.pad_end[1]],
        "ceil_mode": w.output[0] != floor_out(0) || w.output[1] != floor_out(1),
    })
}

/// Serialises a network in graph form (format version 2).
pub fn to_value(net: &Network, g: &Graph) -> Value {
    let shape_of = |t: usize| {
        if t == 0 {
            g.input_shape().to_vec()
        } else {
            g.nodes()[t - 1].shape.clone()
        }
    };
    let names: Vec<String> = std::iter::once("input".to_string())
        .chain(g.nodes().iter().enumerate().map(|(k, n)| {
            // Names are unique in the file (ONNX names are unique per node already).
            format!("{}#{k}", n.name)
        }))
        .collect();
    let nodes: Vec<Value> = g
        .nodes()
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let inputs: Vec<Value> = (0..n.inputs.len())
                .map(|i| json!({"from": names[n.inputs[i]], "shape": read_shape(shape_of, n, i)}))
                .collect();
            let mut v = match &n.op {
                Op::Dense(d) => json!({
                    "op": "linear",
                    "weight": d.w.chunks(d.n_in).collect::<Vec<_>>(),
                    "bias": d.bias,
                }),
                Op::Conv(c) => {
                    let mut v = window_json(&c.window);
                    let obj = v.as_object_mut().expect("object");
                    obj.remove("ceil_mode");
                    obj.insert("op".into(), json!("conv"));
                    obj.insert("kernel_dims".into(), json!([c.c_out, c.c_in / c.groups, c.window.kernel[0], c.window.kernel[1]]));
                    obj.insert("weight".into(), json!(c.w));
                    obj.insert("bias".into(), json!(c.channel_bias));
                    obj.insert("groups".into(), json!(c.groups));
                    v
                }
                Op::MaxPool(m) => {
                    let mut v = window_json(&m.window);
                    v["op"] = json!("max_pool");
                    v
                }
                Op::Pool(p) => match &p.geometry {
                    PoolGeometry::Average { window, count_include_pad, .. } => {
                        let mut v = window_json(window);
                        v["op"] = json!("average_pool");
                        v["count_include_pad"] = json!(count_include_pad);
                        v
                    }
                    PoolGeometry::Mean { .. } => json!({"op": "mean"}),
                },
                Op::Affine(a) => json!({"op": "affine", "scale": a.scale, "shift": a.shift}),
                Op::LayerNorm(l) => json!({
                    "op": "layer_norm", "axis": usize::from(l.n != read_shape(shape_of, n, 0).iter().product::<usize>()),
                    "gamma": l.gamma, "beta": l.beta, "eps": l.eps,
                }),
                Op::Add { sub } => json!({"op": if *sub { "sub" } else { "add" }}),
                Op::Gather(gth) => json!({"op": "gather", "kind": gth.kind, "index": gth.index}),
                Op::Act { act, .. } => {
                    let mut v = super::json::activation_to_value(*act);
                    let t = v["type"].take();
                    v.as_object_mut().expect("object").remove("type");
                    v["op"] = t;
                    v
                }
            };
            v["name"] = json!(names[k + 1]);
            v["inputs"] = json!(inputs);
            v
        })
        .collect();
    let mut top = json!({
        "format": FORMAT,
        "format_version": 2,
        "input_shape": g.input_shape(),
    });
    if let Some(names) = net.stored_feature_names() {
        top["feature_names"] = json!(names);
    }
    if let Some(p) = net.preprocess() {
        top["preprocess"] = super::json::preprocess_to_value(p);
    }
    if let Some(h) = net.head() {
        top["head"] = json!(h.type_name());
    }
    top["nodes"] = Value::Array(nodes);
    top["output"] = json!({"from": names[g.output()], "shape": g.output_shape()});
    top
}

/// Reads a format-2 model from its top-level object.
pub(crate) fn from_top(top: &Map<String, Value>) -> Result<Network> {
    let bad = |r: String| Error::model("", r);
    let usizes = |v: Option<&Value>, what: &str| -> Result<Vec<usize>> {
        v.and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_u64().and_then(|u| usize::try_from(u).ok()))
                    .collect()
            })
            .ok_or_else(|| {
                bad(format!(
                    "expected {what} to be an array of non-negative integers"
                ))
            })
    };
    let input_shape = usizes(top.get("input_shape"), "\"input_shape\"")?;
    let (mut b, input) = GraphBuilder::new(input_shape, Limits::current()).map_err(bad)?;
    let mut env: HashMap<String, Tensor> = HashMap::from([("input".to_string(), input)]);
    let nodes = top
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("expected a \"nodes\" array".into()))?;
    for (i, nv) in nodes.iter().enumerate() {
        let obj = nv.as_object().ok_or_else(|| {
            Error::layer("", i, "?", format!("expected an object, got {}", short(nv)))
        })?;
        let op = obj.get("op").and_then(Value::as_str).unwrap_or("?");
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::layer("", i, op, "missing required key \"name\""))?
            .to_string();
        let r = NodeReader { obj, env: &env };
        let v = r.build(&mut b, &name, op).map_err(|e| {
            Error::layer(
                "",
                i,
                op,
                format!("node '{}': {}", crate::error::quote(&name), e.reason),
            )
        })?;
        if env.insert(name.clone(), v).is_some() {
            return Err(Error::layer(
                "",
                i,
                op,
                format!("node name '{}' is used twice", crate::error::quote(&name)),
            ));
        }
    }
    let out = top
        .get("output")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("expected \"output\": {\"from\": NAME, \"shape\": [...]}".into()))?;
    let out = NodeReader {
        obj: out,
        env: &env,
    }
    .tensor(&Value::Object(out.clone()))
    .map_err(|e| bad(format!("output: {}", e.reason)))?;
    let head = match top.get("head") {
        None | Some(Value::Null) => None,
        Some(h) => Some(match h.as_str() {
            Some("softmax") => Head::Softmax,
            Some("log_softmax") => Head::LogSoftmax,
            Some("sigmoid") => Head::Sigmoid,
            _ => {
                return Err(bad(format!(
                    "expected head softmax, log_softmax or sigmoid, got {}",
                    short(h)
                )));
            }
        }),
    };
    let graph = b.finish(&out).map_err(bad)?;
    let (names, preprocess) = names_and_preprocess(top)?;
    Network::from_graph(graph, head, names, preprocess)
}

struct NodeReader<'a> {
    obj: &'a Map<String, Value>,
    env: &'a HashMap<String, Tensor>,
}

fn err(reason: impl Into<String>) -> NodeError {
    NodeError {
        node: String::new(),
        op: String::new(),
        reason: reason.into(),
    }
}

impl NodeReader<'_> {
    fn floats(&self, key: &str) -> std::result::Result<Vec<f64>, NodeError> {
        let v = self
            .obj
            .get(key)
            .ok_or_else(|| err(format!("missing required key \"{key}\"")))?;
        let flat: Option<Vec<f64>> = match v {
            Value::Array(a) if a.iter().all(Value::is_array) => a
                .iter()
                .flat_map(|r| r.as_array().into_iter().flatten())
                .map(Value::as_f64)
                .collect(),
            Value::Array(a) => a.iter().map(Value::as_f64).collect(),
            _ => None,
        };
        let flat =
            flat.ok_or_else(|| err(format!("expected \"{key}\" to be an array of numbers")))?;
        if flat.iter().any(|x| !x.is_finite()) {
            return Err(err(format!("expected finite \"{key}\" values")));
        }
        Ok(flat)
    }
    fn opt_floats(&self, key: &str) -> std::result::Result<Option<Vec<f64>>, NodeError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.floats(key).map(Some),
        }
    }
    fn ints(
        &self,
        key: &str,
        default: Option<Vec<usize>>,
    ) -> std::result::Result<Vec<usize>, NodeError> {
        match self.obj.get(key) {
            None => default.ok_or_else(|| err(format!("missing required key \"{key}\""))),
            Some(v) => v
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|x| x.as_u64().and_then(|u| usize::try_from(u).ok()))
                        .collect()
                })
                .ok_or_else(|| {
                    err(format!(
                        "expected \"{key}\" to be an array of non-negative integers"
                    ))
                }),
        }
    }
    fn tensor(&self, v: &Value) -> std::result::Result<Tensor, NodeError> {
        let from = v
            .get("from")
            .and_then(Value::as_str)
            .ok_or_else(|| err("expected an input {\"from\": NAME, \"shape\": [...]}"))?;
        let src = self.env.get(from).ok_or_else(|| {
            err(format!(
                "input '{}' is not an earlier node or \"input\"",
                crate::error::quote(from)
            ))
        })?;
        let shape: Vec<usize> = v
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_u64().and_then(|u| usize::try_from(u).ok()))
                    .collect()
            })
            .ok_or_else(|| err("expected an input \"shape\" of non-negative integers"))?;
        GraphBuilder::reshape("", "Reshape", src, shape)
    }
    fn inputs(&self, n: usize) -> std::result::Result<Vec<Tensor>, NodeError> {
        let a = self
            .obj
            .get("inputs")
            .and_then(Value::as_array)
            .ok_or_else(|| err("missing required key \"inputs\""))?;
        if a.len() != n && n != 0 {
            return Err(err(format!("expected {n} inputs, got {}", a.len())));
        }
        a.iter().map(|v| self.tensor(v)).collect()
    }
    fn spec(&self) -> std::result::Result<WindowSpec, NodeError> {
        Ok(WindowSpec {
            kernel: self.ints("kernel", Some(Vec::new()))?,
            stride: self.ints("strides", None)?,
            dilation: self.ints("dilations", None)?,
            pads: self.ints("pads", None)?,
            auto_pad: String::new(),
            ceil_mode: self
                .obj
                .get("ceil_mode")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        op: &str,
    ) -> std::result::Result<Tensor, NodeError> {
        let one = || self.inputs(1).map(|mut v| v.remove(0));
        match op {
            "linear" => {
                let x = one()?;
                let w = self.floats("weight")?;
                let n_in = *x.shape.last().unwrap_or(&0);
                if n_in == 0 || w.len() % n_in != 0 {
                    return Err(err(format!(
                        "expected a weight with {n_in} columns (the input's last axis), got {} values",
                        w.len()
                    )));
                }
                b.dense(
                    name,
                    &x,
                    w.len() / n_in,
                    n_in,
                    &w,
                    self.opt_floats("bias")?.as_deref(),
                )
            }
            "conv" => {
                let x = one()?;
                let dims = self.ints("kernel_dims", None)?;
                let w = self.floats("weight")?;
                let bias = self.opt_floats("bias")?;
                let groups = self
                    .obj
                    .get("groups")
                    .and_then(Value::as_u64)
                    .and_then(|g| usize::try_from(g).ok())
                    .unwrap_or(1);
                let mut spec = self.spec()?;
                if spec.kernel.is_empty() {
                    spec.kernel = dims.get(2..).unwrap_or_default().to_vec();
                }
                let k = Kernel {
                    dims: &dims,
                    weight: &w,
                    bias: bias.as_deref(),
                    groups,
                };
                b.conv(name, &x, &k, &spec)
            }
            "max_pool" => b.max_pool(name, &one()?, &self.spec()?),
            "average_pool" => {
                let cip = self
                    .obj
                    .get("count_include_pad")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                b.avg_pool(name, &one()?, &self.spec()?, cip)
            }
            "mean" => b.spatial_mean(name, "ReduceMean", &one()?, false),
            "affine" => b.affine(
                name,
                "affine",
                &one()?,
                self.floats("scale")?,
                self.floats("shift")?,
            ),
            "layer_norm" => {
                let axis = self
                    .obj
                    .get("axis")
                    .and_then(Value::as_u64)
                    .and_then(|a| usize::try_from(a).ok())
                    .unwrap_or(0);
                let eps = self.obj.get("eps").and_then(Value::as_f64).unwrap_or(1e-5);
                b.layer_norm(
                    name,
                    &one()?,
                    axis,
                    &self.floats("gamma")?,
                    &self.floats("beta")?,
                    eps,
                )
            }
            "add" | "sub" => {
                let v = self.inputs(2)?;
                b.add(name, &v[0], &v[1], op == "sub")
            }
            "gather" => {
                let v = self.inputs(0)?;
                let index = self.ints("index", None)?;
                b.gather_index(name, &v.iter().collect::<Vec<_>>(), &index)
            }
            other => {
                let mut layer = self.obj.clone();
                layer.remove("inputs");
                layer.remove("name");
                layer.remove("op");
                layer.insert("type".into(), json!(other));
                let act: Activation = super::json::activation_from(&Value::Object(layer))
                    .map_err(|e| err(e.to_string()))?;
                b.act(name, &one()?, act)
            }
        }
    }
}
