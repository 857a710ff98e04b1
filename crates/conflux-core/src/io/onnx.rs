//! ONNX import for feedforward networks as written by `torch.onnx.export` (both the
//! TorchScript and the dynamo exporter) for `nn.Sequential` MLPs.
//!
//! The protobuf is decoded with the generated message types of `onnx-protobuf`; this module
//! validates the graph structurally (one input and output, every node input defined,
//! initializer sizes consistent, an opset present) and then walks the single chain of nodes
//! from the input to the output, turning each node (or small element-wise subgraph, such as
//! the decomposed erf-GELU of opset < 20) into a [`Layer`]. Anything else is an error naming
//! the node and its op.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use onnx_protobuf::{Message, ModelProto, NodeProto, TensorProto};

use crate::error::{Error, Result};
use crate::net::Network;
use crate::net::activation::{Activation, SELU_ALPHA, SELU_SCALE};
use crate::net::layer::{BatchNorm, Dense, Head, Layer};

/// A decoded tensor: dims and values widened to f64.
#[derive(Debug, Clone)]
struct Tensor {
    dims: Vec<usize>,
    data: Vec<f64>,
}

impl Tensor {
    fn scalar(&self) -> Option<f64> {
        (self.data.len() == 1).then(|| self.data[0])
    }
}

/// The ops this importer understands (listed in `conflux inspect` and the README).
pub const SUPPORTED_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Add",
    "Relu",
    "LeakyRelu",
    "Elu",
    "Selu",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Gelu",
    "Div/Mul/Erf/Add (decomposed GELU)",
    "Sigmoid+Mul (SiLU)",
    "BatchNormalization",
    "Flatten",
    "Identity",
    "Dropout",
    "Softmax",
    "LogSoftmax",
    "Constant",
];

/// Loads an ONNX file.
///
/// # Errors
/// [`Error::Io`] if unreadable; [`Error::Model`] for a file that does not decode or fails
/// validation; [`Error::OnnxNode`] naming the node and op for unsupported or malformed nodes.
pub fn load(path: &Path) -> Result<Network> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(&bytes, path)
}

/// Decodes and converts ONNX bytes; `path` names the file in errors and locates external data.
///
/// # Errors
/// As [`load`].
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Network> {
    if bytes.is_empty() {
        return Err(Error::model(
            path,
            "expected an ONNX model, got an empty file",
        ));
    }
    let model = ModelProto::parse_from_bytes(bytes).map_err(|e| {
        Error::model(
            path,
            format!("expected an ONNX model, got undecodable protobuf ({e})"),
        )
    })?;
    Importer::new(&model, path)?.run()
}

struct Importer<'a> {
    path: &'a Path,
    input: String,
    output: String,
    /// Initializers and `Constant` outputs.
    consts: HashMap<String, Tensor>,
    /// Non-constant nodes in file order.
    nodes: Vec<&'a NodeProto>,
    /// How many nodes consume each value.
    uses: HashMap<&'a str, usize>,
    input_width: Option<usize>,
}

fn node_name(n: &NodeProto) -> String {
    if !n.name.is_empty() {
        n.name.clone()
    } else {
        n.output.first().cloned().unwrap_or_default()
    }
}

impl<'a> Importer<'a> {
    fn new(model: &'a ModelProto, path: &'a Path) -> Result<Self> {
        let bad = |r: String| Error::model(path, r);
        if !model
            .opset_import
            .iter()
            .any(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        {
            return Err(bad(
                "expected an opset_import for the default ONNX domain, got none (empty or truncated file?)".into(),
            ));
        }
        let graph = model
            .graph
            .as_ref()
            .ok_or_else(|| bad("expected a graph, got none (empty or truncated file?)".into()))?;
        if graph.node.is_empty() {
            return Err(bad("expected a graph with nodes, got an empty graph".into()));
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = dir.as_path();
        let mut consts = HashMap::new();
        for t in &graph.initializer {
            let tensor =
                decode_tensor(t, dir).map_err(|r| bad(format!("initializer '{}': {r}", t.name)))?;
            consts.insert(t.name.clone(), tensor);
        }
        let data_inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !consts.contains_key(&i.name))
            .collect();
        if data_inputs.len() != 1 {
            return Err(bad(format!(
                "expected exactly one graph input (besides initializers), got {}",
                data_inputs.len()
            )));
        }
        if graph.output.len() != 1 {
            return Err(bad(format!(
                "expected exactly one graph output, got {}",
                graph.output.len()
            )));
        }
        let input = data_inputs[0].name.clone();
        let input_width = data_inputs[0]
            .type_
            .as_ref()
            .and_then(|t| t.tensor_type().shape.as_ref().map(|s| s.dim.clone()))
            .and_then(|d| {
                d.last()
                    .and_then(|d| d.has_dim_value().then(|| d.dim_value()))
            })
            .and_then(|w| usize::try_from(w).ok())
            .filter(|&w| w > 0);
        // Every node input must be defined before it is used (topological order).
        let mut defined: HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        defined.insert(&input);
        let mut nodes = Vec::new();
        let mut uses: HashMap<&str, usize> = HashMap::new();
        for n in &graph.node {
            for i in n.input.iter().filter(|i| !i.is_empty()) {
                if !defined.contains(i.as_str()) {
                    return Err(Error::OnnxNode {
                        path: path.into(),
                        node: node_name(n),
                        op: n.op_type.clone(),
                        reason: format!(
                            "input '{i}' is not defined by the graph input, an initializer or an earlier node"
                        ),
                    });
                }
                *uses.entry(i.as_str()).or_default() += 1;
            }
            if n.op_type == "Constant" {
                let t = constant_value(n, dir).map_err(|r| Error::OnnxNode {
                    path: path.into(),
                    node: node_name(n),
                    op: n.op_type.clone(),
                    reason: r,
                })?;
                if let Some(o) = n.output.first() {
                    consts.insert(o.clone(), t);
                }
            } else {
                nodes.push(n);
            }
            defined.extend(n.output.iter().map(String::as_str));
        }
        let output = graph.output[0].name.clone();
        if !defined.contains(output.as_str()) {
            return Err(bad(format!(
                "graph output '{output}' is not produced by any node"
            )));
        }
        Ok(Importer {
            path,
            input,
            output,
            consts,
            nodes,
            uses,
            input_width,
        })
    }

    fn node_err(&self, n: &NodeProto, reason: impl Into<String>) -> Error {
        Error::OnnxNode {
            path: self.path.into(),
            node: node_name(n),
            op: n.op_type.clone(),
            reason: reason.into(),
        }
    }

    fn konst(&self, n: &NodeProto, name: &str) -> Result<&Tensor> {
        self.consts.get(name).ok_or_else(|| {
            self.node_err(
                n,
                format!("expected '{name}' to be an initializer or constant"),
            )
        })
    }

    /// The node's data input must be the current chain value.
    fn chain_input(&self, n: &NodeProto, cur: &str) -> Result<()> {
        if n.input.first().map(String::as_str) != Some(cur) {
            return Err(self.node_err(
                n,
                format!(
                    "expected its first input to be '{cur}' (a sequential network), got {:?}",
                    n.input.first()
                ),
            ));
        }
        Ok(())
    }

    fn run(&self) -> Result<Network> {
        let mut layers: Vec<Layer> = Vec::new();
        let mut head = None;
        let mut cur: &str = &self.input;
        let mut i = 0;
        while i < self.nodes.len() {
            let n = self.nodes[i];
            if head.is_some() {
                return Err(
                    self.node_err(n, "expected no node after the output Softmax/LogSoftmax")
                );
            }
            let op = n.op_type.as_str();
            let mut consumed = 1;
            match op {
                "Gemm" => {
                    self.chain_input(n, cur)?;
                    layers.push(Layer::Dense(self.gemm(n)?));
                }
                "MatMul" => {
                    self.chain_input(n, cur)?;
                    let w = self.matmul_weight(n)?;
                    let out = n.output[0].as_str();
                    let mut bias = None;
                    if let Some(next) = self.nodes.get(i + 1)
                        && next.op_type == "Add"
                        && next.input.iter().any(|x| x == out)
                        && self.uses.get(out) == Some(&1)
                    {
                        let other = next
                            .input
                            .iter()
                            .find(|x| *x != out)
                            .ok_or_else(|| self.node_err(next, "expected a bias input"))?;
                        let b = self.konst(next, other)?;
                        let expand = broadcast_bias(b, w.1).ok_or_else(|| {
                            self.node_err(
                                next,
                                format!("expected a bias of {} values, got dims {:?}", w.1, b.dims),
                            )
                        })?;
                        bias = Some(expand);
                        consumed = 2;
                    }
                    let (k, m, wt) = w;
                    layers.push(Layer::Dense(
                        Dense::new(m, k, wt, bias).map_err(|r| self.node_err(n, r))?,
                    ));
                }
                "Relu" => self.act(n, cur, &mut layers, Activation::Relu)?,
                "LeakyRelu" => {
                    let slope = attr_f(n, "alpha").unwrap_or(0.01);
                    self.act(n, cur, &mut layers, Activation::LeakyRelu { slope })?;
                }
                "Elu" => {
                    let alpha = attr_f(n, "alpha").unwrap_or(1.0);
                    self.act(n, cur, &mut layers, Activation::Elu { alpha })?;
                }
                "Selu" => {
                    let a = attr_f(n, "alpha").unwrap_or(SELU_ALPHA);
                    let g = attr_f(n, "gamma").unwrap_or(SELU_SCALE);
                    if (a - SELU_ALPHA).abs() > 1e-5 || (g - SELU_SCALE).abs() > 1e-5 {
                        return Err(self.node_err(
                            n,
                            format!(
                                "expected the standard SELU constants, got alpha {a}, gamma {g}"
                            ),
                        ));
                    }
                    self.act(n, cur, &mut layers, Activation::Selu)?;
                }
                "Tanh" => self.act(n, cur, &mut layers, Activation::Tanh)?,
                "Softplus" => self.act(
                    n,
                    cur,
                    &mut layers,
                    Activation::Softplus {
                        beta: 1.0,
                        // ONNX Softplus has no threshold; PyTorch's default (20) differs
                        // from the exact form by < 3e-9.
                        threshold: 20.0,
                    },
                )?,
                "Gelu" => {
                    let act = match attr_s(n, "approximate").as_deref() {
                        None | Some("none") => Activation::Gelu,
                        Some("tanh") => Activation::GeluTanh,
                        Some(other) => {
                            return Err(self.node_err(
                                n,
                                format!("expected approximate 'none' or 'tanh', got '{other}'"),
                            ));
                        }
                    };
                    self.act(n, cur, &mut layers, act)?;
                }
                "Sigmoid" => {
                    self.chain_input(n, cur)?;
                    if let Some(silu_len) = self.match_window(i, cur, 2, Activation::Silu) {
                        layers.push(Layer::Act(Activation::Silu));
                        consumed = silu_len;
                    } else {
                        layers.push(Layer::Act(Activation::Sigmoid));
                    }
                }
                "Div" | "Mul" => {
                    if !n.input.iter().any(|x| x == cur) {
                        return Err(self.node_err(
                            n,
                            format!("expected an input '{cur}' (a sequential network)"),
                        ));
                    }
                    consumed = self.match_window(i, cur, 5, Activation::Gelu).ok_or_else(|| {
                        self.node_err(n, "unsupported element-wise subgraph: only the decomposed erf-GELU x·Φ(x) (Div/Mul, Erf, Add, Mul, Mul) is recognised")
                    })?;
                    layers.push(Layer::Act(Activation::Gelu));
                }
                "BatchNormalization" => {
                    self.chain_input(n, cur)?;
                    if n.input.len() < 5 {
                        return Err(self.node_err(
                            n,
                            format!(
                                "expected 5 inputs (X, scale, B, mean, var), got {}",
                                n.input.len()
                            ),
                        ));
                    }
                    let get = |k: usize| self.konst(n, &n.input[k]).map(|t| t.data.clone());
                    let bn = BatchNorm {
                        weight: get(1)?,
                        bias: get(2)?,
                        mean: get(3)?,
                        var: get(4)?,
                        eps: attr_f(n, "epsilon").unwrap_or(1e-5),
                    };
                    bn.validate().map_err(|r| self.node_err(n, r))?;
                    layers.push(Layer::BatchNorm(bn));
                }
                "Flatten" => {
                    self.chain_input(n, cur)?;
                    let axis = attr_i(n, "axis").unwrap_or(1);
                    if axis != 1 {
                        return Err(self.node_err(
                            n,
                            format!("expected axis 1 (keep the batch dimension), got {axis}"),
                        ));
                    }
                    layers.push(Layer::Flatten);
                }
                "Identity" => self.chain_input(n, cur)?,
                "Dropout" => {
                    self.chain_input(n, cur)?;
                    layers.push(Layer::Dropout { p: 0.0 });
                }
                "Softmax" | "LogSoftmax" => {
                    self.chain_input(n, cur)?;
                    let axis = attr_i(n, "axis").unwrap_or(-1);
                    if axis != -1 && axis != 1 {
                        return Err(self.node_err(
                            n,
                            format!("expected axis -1 or 1 (over the outputs), got {axis}"),
                        ));
                    }
                    head = Some(if op == "Softmax" {
                        Head::Softmax
                    } else {
                        Head::LogSoftmax
                    });
                }
                _ => {
                    return Err(self.node_err(
                        n,
                        format!(
                            "unsupported op '{op}'; supported: {}",
                            SUPPORTED_OPS.join(", ")
                        ),
                    ));
                }
            }
            let last = self.nodes[i + consumed - 1];
            cur = last.output.first().map_or("", String::as_str);
            i += consumed;
        }
        if cur != self.output {
            return Err(Error::model(
                self.path,
                format!(
                    "expected the node chain to end at the graph output '{}', got '{cur}'",
                    self.output
                ),
            ));
        }
        let input_dim = layers
            .iter()
            .find_map(|l| match l {
                Layer::Dense(d) => Some(d.in_dim()),
                Layer::BatchNorm(b) => Some(b.dim()),
                _ => None,
            })
            .or(self.input_width)
            .ok_or_else(|| {
                Error::model(
                    self.path,
                    "expected at least one Gemm/MatMul layer, got none",
                )
            })?;
        if let Some(w) = self.input_width
            && w != input_dim
        {
            return Err(Error::model(
                self.path,
                format!(
                    "graph input '{}' has width {w} but the first layer expects {input_dim}",
                    self.input
                ),
            ));
        }
        Network::new(input_dim, layers, head, None, None).map_err(|e| e.with_path(self.path))
    }

    fn act(&self, n: &NodeProto, cur: &str, layers: &mut Vec<Layer>, a: Activation) -> Result<()> {
        self.chain_input(n, cur)?;
        layers.push(Layer::Act(a));
        Ok(())
    }

    fn gemm(&self, n: &NodeProto) -> Result<Dense> {
        if n.input.len() < 2 {
            return Err(self.node_err(n, "expected inputs A, B[, C]"));
        }
        if attr_i(n, "transA").unwrap_or(0) != 0 {
            return Err(self.node_err(n, "expected transA = 0 (rows are samples), got 1"));
        }
        let alpha = attr_f(n, "alpha").unwrap_or(1.0);
        let beta = attr_f(n, "beta").unwrap_or(1.0);
        let b = self.konst(n, &n.input[1])?;
        if b.dims.len() != 2 {
            return Err(self.node_err(n, format!("expected a 2-D weight B, got dims {:?}", b.dims)));
        }
        let trans_b = attr_i(n, "transB").unwrap_or(0) != 0;
        let (out, inp) = if trans_b {
            (b.dims[0], b.dims[1])
        } else {
            (b.dims[1], b.dims[0])
        };
        let mut w = vec![0.0; out * inp];
        for j in 0..out {
            for p in 0..inp {
                let v = if trans_b {
                    b.data[j * inp + p]
                } else {
                    b.data[p * out + j]
                };
                w[j * inp + p] = alpha * v;
            }
        }
        let bias = match n.input.get(2).filter(|s| !s.is_empty()) {
            None => None,
            Some(c) => {
                let c = self.konst(n, c)?;
                let v = broadcast_bias(c, out).ok_or_else(|| {
                    self.node_err(
                        n,
                        format!("expected bias C of {out} values, got dims {:?}", c.dims),
                    )
                })?;
                Some(v.into_iter().map(|x| beta * x).collect())
            }
        };
        Dense::new(out, inp, w, bias).map_err(|r| self.node_err(n, r))
    }

    /// MatMul weight `[in × out]` → `(in, out, row-major out × in)`.
    fn matmul_weight(&self, n: &NodeProto) -> Result<(usize, usize, Vec<f64>)> {
        let b = self.konst(n, n.input.get(1).map_or("", String::as_str))?;
        if b.dims.len() != 2 {
            return Err(self.node_err(n, format!("expected a 2-D weight, got dims {:?}", b.dims)));
        }
        let (k, m) = (b.dims[0], b.dims[1]);
        let mut w = vec![0.0; k * m];
        for p in 0..k {
            for j in 0..m {
                w[j * k + p] = b.data[p * m + j];
            }
        }
        Ok((k, m, w))
    }

    /// Tries to read nodes `i..i+len` as one element-wise function of `x = cur` equal to
    /// `target` (checked numerically at probe points), with no intermediate value used
    /// outside the window. Returns `len` on success.
    fn match_window(&self, i: usize, cur: &str, len: usize, target: Activation) -> Option<usize> {
        let window = self.nodes.get(i..i + len)?;
        let produced: HashSet<&str> = window
            .iter()
            .flat_map(|n| n.output.iter().map(String::as_str))
            .collect();
        let out = window.last()?.output.first()?.as_str();
        // Intermediate values must be consumed only inside the window.
        for v in &produced {
            if *v == out {
                continue;
            }
            let inside = window
                .iter()
                .flat_map(|n| n.input.iter())
                .filter(|x| x == v)
                .count();
            if self.uses.get(v).copied().unwrap_or(0) != inside {
                return None;
            }
        }
        for &x in &[-3.1, -1.2, -0.4, 0.0, 0.3, 0.9, 2.7] {
            let mut vals: HashMap<&str, f64> = HashMap::from([(cur, x)]);
            for n in window {
                let arg = |k: usize| -> Option<f64> {
                    let name = n.input.get(k)?.as_str();
                    vals.get(name)
                        .copied()
                        .or_else(|| self.consts.get(name)?.scalar())
                };
                let v = match n.op_type.as_str() {
                    "Div" => arg(0)? / arg(1)?,
                    "Mul" => arg(0)? * arg(1)?,
                    "Add" => arg(0)? + arg(1)?,
                    "Sub" => arg(0)? - arg(1)?,
                    "Erf" => libm::erf(arg(0)?),
                    "Sigmoid" => crate::net::activation::sigmoid(arg(0)?),
                    "Tanh" => arg(0)?.tanh(),
                    _ => return None,
                };
                vals.insert(n.output.first()?.as_str(), v);
            }
            let got = *vals.get(out)?;
            let want = target.apply(x);
            if (got - want).abs() > 1e-5 * (1.0 + want.abs()) {
                return None;
            }
        }
        Some(len)
    }
}

fn broadcast_bias(t: &Tensor, n: usize) -> Option<Vec<f64>> {
    if t.data.len() == n && t.dims.iter().filter(|&&d| d != 1).count() <= 1 {
        Some(t.data.clone())
    } else if t.data.len() == 1 {
        Some(vec![t.data[0]; n])
    } else {
        None
    }
}

fn attr<'n>(n: &'n NodeProto, name: &str) -> Option<&'n onnx_protobuf::AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}
fn attr_f(n: &NodeProto, name: &str) -> Option<f64> {
    attr(n, name).map(|a| f64::from(a.f))
}
fn attr_i(n: &NodeProto, name: &str) -> Option<i64> {
    attr(n, name).map(|a| a.i)
}
fn attr_s(n: &NodeProto, name: &str) -> Option<String> {
    attr(n, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

fn constant_value(n: &NodeProto, dir: &Path) -> std::result::Result<Tensor, String> {
    for a in &n.attribute {
        match a.name.as_str() {
            "value" => {
                let t =
                    a.t.as_ref()
                        .ok_or("expected a tensor in attribute 'value'")?;
                return decode_tensor(t, dir);
            }
            "value_float" => {
                return Ok(Tensor {
                    dims: vec![],
                    data: vec![f64::from(a.f)],
                });
            }
            "value_floats" => {
                return Ok(Tensor {
                    dims: vec![a.floats.len()],
                    data: a.floats.iter().map(|&v| f64::from(v)).collect(),
                });
            }
            #[allow(clippy::cast_precision_loss)]
            "value_int" => {
                return Ok(Tensor {
                    dims: vec![],
                    data: vec![a.i as f64],
                });
            }
            #[allow(clippy::cast_precision_loss)]
            "value_ints" => {
                return Ok(Tensor {
                    dims: vec![a.ints.len()],
                    data: a.ints.iter().map(|&v| v as f64).collect(),
                });
            }
            _ => {}
        }
    }
    Err("expected a 'value', 'value_float(s)' or 'value_int(s)' attribute".into())
}

const FLOAT: i32 = 1;
const INT32: i32 = 6;
const INT64: i32 = 7;
const DOUBLE: i32 = 11;
const EXTERNAL: i32 = 1;

fn decode_tensor(t: &TensorProto, dir: &Path) -> std::result::Result<Tensor, String> {
    let dims = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| format!("expected non-negative dims, got {:?}", t.dims))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let count: usize = dims.iter().product();
    let external;
    let raw: &[u8] = if t.data_location.value() == EXTERNAL {
        external = read_external(t, dir)?;
        &external
    } else {
        &t.raw_data
    };
    let width = match t.data_type {
        FLOAT | INT32 => 4,
        INT64 | DOUBLE => 8,
        other => {
            return Err(format!(
                "expected a float, double or integer tensor, got data type {other}"
            ));
        }
    };
    let data: Vec<f64> = if !raw.is_empty() {
        if raw.len() != count * width {
            return Err(format!(
                "expected {count} values ({} bytes) for dims {dims:?}, got {} bytes",
                count * width,
                raw.len()
            ));
        }
        #[allow(clippy::cast_precision_loss)]
        raw.chunks_exact(width)
            .map(|c| match t.data_type {
                FLOAT => f64::from(f32::from_le_bytes(c.try_into().expect("4-byte chunk"))),
                INT32 => f64::from(i32::from_le_bytes(c.try_into().expect("4-byte chunk"))),
                INT64 => i64::from_le_bytes(c.try_into().expect("8-byte chunk")) as f64,
                _ => f64::from_le_bytes(c.try_into().expect("8-byte chunk")),
            })
            .collect()
    } else {
        #[allow(clippy::cast_precision_loss)]
        match t.data_type {
            FLOAT => t.float_data.iter().map(|&v| f64::from(v)).collect(),
            INT32 => t.int32_data.iter().map(|&v| f64::from(v)).collect(),
            INT64 => t.int64_data.iter().map(|&v| v as f64).collect(),
            _ => t.double_data.clone(),
        }
    };
    if data.len() != count {
        return Err(format!(
            "expected {count} values for dims {dims:?}, got {}",
            data.len()
        ));
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "expected finite values, got {} at index {i}",
            data[i]
        ));
    }
    Ok(Tensor { dims, data })
}

fn read_external(t: &TensorProto, dir: &Path) -> std::result::Result<Vec<u8>, String> {
    let get = |k: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == k)
            .map(|e| e.value.as_str())
    };
    let location = get("location").ok_or("expected external data with a 'location' entry")?;
    let file = dir.join(location);
    let bytes =
        std::fs::read(&file).map_err(|e| format!("external data file {}: {e}", file.display()))?;
    let parse = |k: &str| -> std::result::Result<Option<usize>, String> {
        get(k)
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| format!("expected an integer '{k}', got '{v}'"))
            })
            .transpose()
    };
    let offset = parse("offset")?.unwrap_or(0);
    let length = parse("length")?.unwrap_or(bytes.len().saturating_sub(offset));
    let end = offset
        .checked_add(length)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            format!(
                "external data {}: expected bytes {offset}..{} , but the file has {} bytes",
                file.display(),
                offset + length,
                bytes.len()
            )
        })?;
    Ok(bytes[offset..end].to_vec())
}
