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
use std::path::{Path, PathBuf};

use onnx_protobuf::{Message, ModelProto, NodeProto, TensorProto};

use crate::error::{Error, Result, quote};
use crate::limits::Limits;
use crate::net::Network;
use crate::net::activation::{Activation, SELU_ALPHA, SELU_SCALE};
use crate::net::layer::{BatchNorm, Dense, Head, Layer};

mod graph;

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

/// The ops conflux imports (the graph importer's list; the README has the table).
pub use graph::GRAPH_OPS as SUPPORTED_OPS;

/// Loads an ONNX file under the [`Limits::current`] limits.
///
/// # Errors
/// [`Error::Io`] if unreadable; [`Error::Model`] for a file that does not decode or fails
/// validation; [`Error::OnnxNode`] naming the node and op for unsupported or malformed nodes.
pub fn load(path: &Path) -> Result<Network> {
    load_with(path, &Limits::current()).map(|(net, _)| net)
}

/// Loads an ONNX file under `limits`; also returns the external data files it read.
///
/// External data must be a relative path that stays inside the model file's folder (after
/// `..` and symbolic links are resolved) and names a regular file; only the tensor's byte
/// range is read, after it is checked against the file's size.
///
/// # Errors
/// As [`load`].
pub fn load_with(path: &Path, limits: &Limits) -> Result<(Network, Vec<PathBuf>)> {
    let bytes = super::read::read_file(path, super::read::Source::Named, limits.model_bytes)?;
    from_bytes_with(&bytes, path, limits)
}

/// Decodes and converts ONNX bytes; `path` names the file in errors and locates external data.
///
/// # Errors
/// As [`load`].
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Network> {
    from_bytes_with(bytes, path, &Limits::current()).map(|(net, _)| net)
}

/// As [`from_bytes`] under `limits`; also returns the external data files read.
///
/// # Errors
/// As [`load`].
pub fn from_bytes_with(
    bytes: &[u8],
    path: &Path,
    limits: &Limits,
) -> Result<(Network, Vec<PathBuf>)> {
    from_bytes_shaped(bytes, path, limits, None)
}

/// As [`load_with`], with the input's per-row shape given (`--input-shape`) where the file
/// declares it flat or not static.
///
/// # Errors
/// As [`load`]; [`Error::Model`] when `input_shape` contradicts a static declared dimension.
pub fn load_shaped(
    path: &Path,
    limits: &Limits,
    input_shape: Option<&[usize]>,
) -> Result<(Network, Vec<PathBuf>)> {
    let bytes = super::read::read_file(path, super::read::Source::Named, limits.model_bytes)?;
    from_bytes_shaped(&bytes, path, limits, input_shape)
}

/// As [`from_bytes_with`], with an optional input shape (see [`load_shaped`]).
///
/// # Errors
/// As [`load_shaped`].
pub fn from_bytes_shaped(
    bytes: &[u8],
    path: &Path,
    limits: &Limits,
    input_shape: Option<&[usize]>,
) -> Result<(Network, Vec<PathBuf>)> {
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
    let mut importer = Importer::new(&model, path, limits)?;
    if let Some(shape) = input_shape {
        importer.override_input(shape)?;
    }
    // Layer chains load as layer lists (every format can save those); anything else as a
    // graph. The graph importer understands every op the chain importer does, so its error
    // is the one to report.
    let net = match importer.run() {
        Ok(net) => net,
        Err(_) => importer.run_graph(limits)?,
    };
    if let Some(shape) = input_shape {
        super::check_input_shape(path, shape, &net)?;
    }
    Ok((net, importer.external))
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
    /// The input's dims after the batch (`None` where symbolic), when declared.
    input_dims: Option<Vec<Option<usize>>>,
    /// External data files read.
    external: Vec<PathBuf>,
}

/// An [`Error::OnnxNode`] naming the file, node and op.
fn node_error(path: &Path, n: &NodeProto, reason: impl Into<String>) -> Error {
    Error::OnnxNode {
        path: path.into(),
        node: node_name(n),
        op: n.op_type.clone(),
        reason: reason.into(),
    }
}

fn node_name(n: &NodeProto) -> String {
    if !n.name.is_empty() {
        n.name.clone()
    } else {
        n.output.first().cloned().unwrap_or_default()
    }
}

impl<'a> Importer<'a> {
    /// Replaces the declared input dims after the batch by `shape`: symbolic dims are filled,
    /// static ones must agree, and a flat declared input of the same size is reinterpreted.
    fn override_input(&mut self, shape: &[usize]) -> Result<()> {
        super::valid_input_shape(shape)
            .map_err(|why| Error::model(self.path, format!("--input-shape: {why}")))?;
        let size: usize = shape.iter().product();
        if let Some(declared) = &self.input_dims {
            let flat_same = declared.len() == 1 && declared[0].is_none_or(|d| d == size);
            let agrees = declared.len() == shape.len()
                && declared
                    .iter()
                    .zip(shape)
                    .all(|(d, &s)| d.is_none_or(|d| d == s));
            if !(flat_same || agrees) {
                return Err(Error::model(
                    self.path,
                    format!(
                        "--input-shape {shape:?} contradicts the graph input '{}' (dims after the batch {declared:?}; None: symbolic)",
                        quote(&self.input)
                    ),
                ));
            }
        }
        self.input_dims = Some(shape.iter().map(|&d| Some(d)).collect());
        if shape.len() == 1 {
            self.input_width = Some(size);
        }
        Ok(())
    }

    fn new(model: &'a ModelProto, path: &'a Path, limits: &Limits) -> Result<Self> {
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
        let mut decoder = Decoder {
            dir: &dir,
            limits,
            parameters: 0,
            external: Vec::new(),
        };
        let mut consts = HashMap::new();
        for t in &graph.initializer {
            let tensor = decoder
                .decode(t)
                .map_err(|r| bad(format!("initializer '{}': {r}", quote(&t.name))))?;
            if consts.insert(t.name.clone(), tensor).is_some() {
                return Err(bad(format!(
                    "initializer '{}' is defined twice; every tensor name must be produced once",
                    quote(&t.name)
                )));
            }
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
        if input.is_empty() {
            return Err(bad("expected a named graph input, got an empty name".into()));
        }
        let input_width = data_inputs[0]
            .type_
            .as_ref()
            .and_then(|t| t.tensor_type().shape.as_ref().map(|s| s.dim.clone()))
            .and_then(|d| {
                d.last()
                    .and_then(|d| d.has_dim_value().then(|| d.dim_value()))
            })
            .and_then(|w| u64::try_from(w).ok())
            .filter(|&w| w > 0 && w <= limits.tensor_elements)
            .and_then(|w| usize::try_from(w).ok());
        let input_dims = data_inputs[0]
            .type_
            .as_ref()
            .and_then(|t| t.tensor_type().shape.as_ref().map(|s| s.dim.clone()))
            .map(|d| {
                d.iter()
                    .skip(1)
                    .map(|d| {
                        d.has_dim_value()
                            .then(|| d.dim_value())
                            .and_then(|v| u64::try_from(v).ok())
                            .filter(|&v| v > 0 && v <= limits.tensor_elements)
                            .and_then(|v| usize::try_from(v).ok())
                    })
                    .collect()
            });
        let node_err = |n: &NodeProto, reason: String| node_error(path, n, reason);
        // Every node input must be defined before it is used (topological order, hence no
        // cycles), and every tensor name is produced once.
        let mut defined: HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        defined.insert(&input);
        let mut nodes = Vec::new();
        let mut uses: HashMap<&str, usize> = HashMap::new();
        for n in &graph.node {
            for i in n.input.iter().filter(|i| !i.is_empty()) {
                if !defined.contains(i.as_str()) {
                    let later = graph.node.iter().any(|m| m.output.iter().any(|o| o == i));
                    return Err(node_err(
                        n,
                        if later {
                            format!(
                                "input '{}' is produced by a later node; expected nodes in topological order (no cycles)",
                                quote(i)
                            )
                        } else {
                            format!(
                                "input '{}' is not defined by the graph input, an initializer or an earlier node",
                                quote(i)
                            )
                        },
                    ));
                }
                *uses.entry(i.as_str()).or_default() += 1;
            }
            if n.output.iter().all(String::is_empty) {
                return Err(node_err(n, "expected at least one output, got none".into()));
            }
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                if !defined.insert(o.as_str()) {
                    return Err(node_err(
                        n,
                        format!(
                            "output '{}' is already produced by the graph input, an initializer or an earlier node; every tensor name must be produced once",
                            quote(o)
                        ),
                    ));
                }
            }
            if n.op_type == "Constant" {
                let t = decoder.constant(n).map_err(|r| node_error(path, n, r))?;
                if let Some(o) = n.output.first() {
                    consts.insert(o.clone(), t);
                }
            } else {
                nodes.push(n);
            }
        }
        let output = graph.output[0].name.clone();
        if !defined.contains(output.as_str()) {
            return Err(bad(format!(
                "graph output '{}' is not produced by any node",
                quote(&output)
            )));
        }
        // No dangling outputs: every node feeds another node or the graph output.
        if let Some(n) = graph.node.iter().find(|n| {
            !n.output
                .iter()
                .any(|o| !o.is_empty() && (uses.contains_key(o.as_str()) || *o == output))
        }) {
            return Err(node_err(
                n,
                "its outputs are used by no node and are not the graph output (a dangling node)"
                    .into(),
            ));
        }
        Ok(Importer {
            path,
            input,
            output,
            consts,
            nodes,
            uses,
            input_width,
            input_dims,
            external: decoder.external,
        })
    }

    fn node_err(&self, n: &NodeProto, reason: impl Into<String>) -> Error {
        node_error(self.path, n, reason)
    }

    fn konst(&self, n: &NodeProto, name: &str) -> Result<&Tensor> {
        self.consts.get(name).ok_or_else(|| {
            self.node_err(
                n,
                format!(
                    "expected '{}' to be an initializer or constant",
                    quote(name)
                ),
            )
        })
    }

    /// The activation of a one-node element-wise op (`Relu`, `LeakyRelu`, `Elu`, `Selu`,
    /// `Tanh`, `Softplus`, `Gelu`), its attributes checked. Both importers read them here.
    fn activation(&self, n: &NodeProto) -> Result<Activation> {
        Ok(match n.op_type.as_str() {
            "Relu" => Activation::Relu,
            "Tanh" => Activation::Tanh,
            "LeakyRelu" => Activation::LeakyRelu {
                slope: attr_f(n, "alpha").unwrap_or(0.01),
            },
            "Elu" => Activation::Elu {
                alpha: attr_f(n, "alpha").unwrap_or(1.0),
            },
            "Selu" => {
                let a = attr_f(n, "alpha").unwrap_or(SELU_ALPHA);
                let g = attr_f(n, "gamma").unwrap_or(SELU_SCALE);
                if (a - SELU_ALPHA).abs() > 1e-5 || (g - SELU_SCALE).abs() > 1e-5 {
                    return Err(self.node_err(
                        n,
                        format!("expected the standard SELU constants, got alpha {a}, gamma {g}"),
                    ));
                }
                Activation::Selu
            }
            // ONNX Softplus has no threshold; PyTorch's default (20) differs from the exact
            // form by < 3e-9.
            "Softplus" => Activation::Softplus {
                beta: 1.0,
                threshold: 20.0,
            },
            "Gelu" => match attr_s(n, "approximate").as_deref() {
                None | Some("none") => Activation::Gelu,
                Some("tanh") => Activation::GeluTanh,
                Some(other) => {
                    return Err(self.node_err(
                        n,
                        format!(
                            "expected approximate 'none' or 'tanh', got '{}'",
                            quote(other)
                        ),
                    ));
                }
            },
            other => {
                return Err(self.node_err(n, format!("'{}' is not an activation", quote(other))));
            }
        })
    }

    /// BatchNormalization's parameters; `get(k)` reads input `k` as a constant.
    fn batch_norm(
        &self,
        n: &NodeProto,
        get: impl Fn(usize) -> Result<Vec<f64>>,
    ) -> Result<BatchNorm> {
        if n.input.len() < 5 {
            return Err(self.node_err(
                n,
                format!(
                    "expected 5 inputs (X, scale, B, mean, var), got {}",
                    n.input.len()
                ),
            ));
        }
        let bn = BatchNorm {
            weight: get(1)?,
            bias: get(2)?,
            mean: get(3)?,
            var: get(4)?,
            eps: attr_f(n, "epsilon").unwrap_or(1e-5),
        };
        bn.validate().map_err(|r| self.node_err(n, r))?;
        Ok(bn)
    }

    /// The output head of a `Softmax`/`LogSoftmax` node (over the outputs).
    fn head(&self, n: &NodeProto) -> Result<Head> {
        let axis = attr_i(n, "axis").unwrap_or(-1);
        if axis != -1 && axis != 1 {
            return Err(self.node_err(
                n,
                format!("expected axis -1 or 1 (over the outputs), got {axis}"),
            ));
        }
        Ok(if n.op_type == "Softmax" {
            Head::Softmax
        } else {
            Head::LogSoftmax
        })
    }

    /// The node's data input must be the current chain value.
    fn chain_input(&self, n: &NodeProto, cur: &str) -> Result<()> {
        if n.input.first().map(String::as_str) != Some(cur) {
            return Err(self.node_err(
                n,
                format!(
                    "expected its first input to be '{}' (a sequential network), got '{}'",
                    quote(cur),
                    quote(n.input.first().map_or("", String::as_str))
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
                                format!(
                                    "expected a bias of {} values, got dims {}",
                                    w.1,
                                    show_dims(&b.dims)
                                ),
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
                "Relu" | "LeakyRelu" | "Elu" | "Selu" | "Tanh" | "Softplus" | "Gelu" => {
                    let act = self.activation(n)?;
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
                            format!("expected an input '{}' (a sequential network)", quote(cur)),
                        ));
                    }
                    consumed = self.match_window(i, cur, 5, Activation::Gelu).ok_or_else(|| {
                        self.node_err(n, "unsupported element-wise subgraph: only the decomposed erf-GELU x·Φ(x) (Div/Mul, Erf, Add, Mul, Mul) is recognised")
                    })?;
                    layers.push(Layer::Act(Activation::Gelu));
                }
                "BatchNormalization" => {
                    self.chain_input(n, cur)?;
                    let bn =
                        self.batch_norm(n, |k| self.konst(n, &n.input[k]).map(|t| t.data.clone()))?;
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
                    head = Some(self.head(n)?);
                }
                _ => {
                    return Err(self.node_err(
                        n,
                        // Not a layer chain: the graph importer runs next and its error
                        // (which lists the supported ops) is the one reported.
                        format!("'{}' is not part of a layer chain", quote(op)),
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
                    "expected the node chain to end at the graph output '{}', got '{}'",
                    quote(&self.output),
                    quote(cur)
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
                    quote(&self.input)
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
            return Err(self.node_err(
                n,
                format!("expected a 2-D weight B, got dims {}", show_dims(&b.dims)),
            ));
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
                        format!(
                            "expected bias C of {out} values, got dims {}",
                            show_dims(&c.dims)
                        ),
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
            return Err(self.node_err(
                n,
                format!("expected a 2-D weight, got dims {}", show_dims(&b.dims)),
            ));
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

/// Dims for a message (a hostile file may have millions).
fn show_dims(d: &[usize]) -> String {
    quote(&format!("{d:?}"))
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

/// Decodes tensors under the limits, counting parameters and recording external files.
struct Decoder<'d> {
    dir: &'d Path,
    limits: &'d Limits,
    /// Elements decoded so far (initializers and constants).
    parameters: u64,
    external: Vec<PathBuf>,
}

impl Decoder<'_> {
    fn constant(&mut self, n: &NodeProto) -> std::result::Result<Tensor, String> {
        for a in &n.attribute {
            let t = match a.name.as_str() {
                "value" => {
                    let t =
                        a.t.as_ref()
                            .ok_or("expected a tensor in attribute 'value'")?;
                    return self.decode(t);
                }
                "value_float" => Tensor {
                    dims: vec![],
                    data: vec![f64::from(a.f)],
                },
                "value_floats" => Tensor {
                    dims: vec![a.floats.len()],
                    data: a.floats.iter().map(|&v| f64::from(v)).collect(),
                },
                #[allow(clippy::cast_precision_loss)]
                "value_int" => Tensor {
                    dims: vec![],
                    data: vec![a.i as f64],
                },
                #[allow(clippy::cast_precision_loss)]
                "value_ints" => Tensor {
                    dims: vec![a.ints.len()],
                    data: a.ints.iter().map(|&v| v as f64).collect(),
                },
                _ => continue,
            };
            self.count(t.data.len() as u64)?;
            return Ok(t);
        }
        Err("expected a 'value', 'value_float(s)' or 'value_int(s)' attribute".into())
    }

    /// Adds `n` elements to the model's parameter count.
    fn count(&mut self, n: u64) -> std::result::Result<(), String> {
        self.parameters = self.parameters.saturating_add(n);
        self.limits.check_parameters(self.parameters)
    }

    fn decode(&mut self, t: &TensorProto) -> std::result::Result<Tensor, String> {
        let dims64 = t
            .dims
            .iter()
            .map(|&d| {
                u64::try_from(d).map_err(|_| {
                    format!(
                        "expected non-negative dims, got {}",
                        quote(&format!("{:?}", t.dims))
                    )
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        // Checked product, bounded before anything is allocated for it.
        let count = self.limits.check_tensor(&dims64)?;
        self.count(count as u64)?;
        let dims: Vec<usize> = dims64.iter().map(|&d| d as usize).collect();
        let width = match t.data_type {
            FLOAT | INT32 => 4,
            INT64 | DOUBLE => 8,
            other => {
                return Err(format!(
                    "expected a float, double or integer tensor, got data type {other}"
                ));
            }
        };
        let bytes = count
            .checked_mul(width)
            .ok_or_else(|| format!("dims {} do not fit in memory", show_dims(&dims)))?;
        let external;
        let raw: &[u8] = if t.data_location.value() == EXTERNAL {
            external = self.read_external(t, bytes as u64)?;
            &external
        } else {
            &t.raw_data
        };
        let data: Vec<f64> = if !raw.is_empty() {
            if raw.len() != bytes {
                return Err(format!(
                    "expected {count} values ({bytes} bytes) for dims {}, got {} bytes",
                    show_dims(&dims),
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
            let got = match t.data_type {
                FLOAT => t.float_data.len(),
                INT32 => t.int32_data.len(),
                INT64 => t.int64_data.len(),
                _ => t.double_data.len(),
            };
            if got != count {
                return Err(format!(
                    "expected {count} values for dims {}, got {got}",
                    show_dims(&dims)
                ));
            }
            #[allow(clippy::cast_precision_loss)]
            match t.data_type {
                FLOAT => t.float_data.iter().map(|&v| f64::from(v)).collect(),
                INT32 => t.int32_data.iter().map(|&v| f64::from(v)).collect(),
                INT64 => t.int64_data.iter().map(|&v| v as f64).collect(),
                _ => t.double_data.clone(),
            }
        };
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "expected finite values, got {} at index {i}",
                data[i]
            ));
        }
        Ok(Tensor { dims, data })
    }

    /// Reads `bytes` bytes of external data: the location confined to the model's folder,
    /// the range checked against the file's size before anything is read.
    fn read_external(
        &mut self,
        t: &TensorProto,
        bytes: u64,
    ) -> std::result::Result<Vec<u8>, String> {
        let get = |k: &str| {
            t.external_data
                .iter()
                .find(|e| e.key == k)
                .map(|e| e.value.as_str())
        };
        let location = get("location").ok_or("expected external data with a 'location' entry")?;
        let file = super::read::confine(self.dir, location)?;
        let parse = |k: &str| -> std::result::Result<Option<u64>, String> {
            get(k)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        format!("expected a non-negative integer '{k}', got '{}'", quote(v))
                    })
                })
                .transpose()
        };
        let offset = parse("offset")?.unwrap_or(0);
        if let Some(length) = parse("length")?
            && length != bytes
        {
            return Err(format!(
                "external data '{}': expected length {bytes} for the tensor's dims, got {length}",
                quote(location)
            ));
        }
        let data = super::read::read_range(&file, offset, bytes)?;
        if !self.external.contains(&file) {
            self.external.push(file);
        }
        Ok(data)
    }
}

const FLOAT: i32 = 1;
const INT32: i32 = 6;
const INT64: i32 = 7;
const DOUBLE: i32 = 11;
const EXTERNAL: i32 = 1;
