//! ONNX import of general graphs (graph.md): convolutions, pooling, normalisation, residual
//! joins and the shape arithmetic exporters write, into a [`Graph`] through the
//! [`GraphBuilder`] (which infers and checks every shape).
//!
//! Values are of three kinds while importing: data tensors of the graph (per-row shapes,
//! batch symbolic), constants (initializers and everything computable from them), and
//! *shape values* — integer lists that may contain the symbolic batch size (what `Shape` of
//! the input yields), folded through `Gather`, `Slice`, `Concat`, `Squeeze`, `Unsqueeze`,
//! `Reshape`, `Cast`, `CastLike`, `Expand` and `Identity`. A `Reshape` target must resolve to
//! the batch followed by static dimensions; anything else is an error naming the node.

use std::collections::HashMap;

use onnx_protobuf::NodeProto;

use super::{Importer, Tensor, attr, attr_f, attr_i, attr_s, quote};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::net::Network;
use crate::net::activation::Activation;
use crate::net::graph::{GraphBuilder, Kernel, NodeError, Value};
use crate::net::layer::Head;
use crate::net::ops::window::WindowSpec;

/// One integer of a shape value: a number or the symbolic batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    Batch,
    Int(i64),
}

#[derive(Debug, Clone)]
enum Entry {
    Data(Value),
    Const(Tensor),
    Shape(Vec<Dim>),
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

/// Non-negative attribute lists as `usize` (the rest is checked by the window geometry).
fn usizes(v: &[i64]) -> std::result::Result<Vec<usize>, String> {
    v.iter()
        .map(|&x| {
            usize::try_from(x).map_err(|_| format!("expected non-negative values, got {v:?}"))
        })
        .collect()
}

impl Importer<'_> {
    /// Imports the file as a graph.
    pub(super) fn run_graph(&self, limits: &Limits) -> Result<Network> {
        let dims = self.input_dims.clone().ok_or_else(|| {
            Error::model(self.path, format!("graph input '{}' declares no shape; expected (batch, …) with static dimensions after the batch", quote(&self.input)))
        })?;
        let shape: Option<Vec<usize>> = dims.iter().copied().collect();
        let shape = shape.filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::model(
                self.path,
                format!(
                    "graph input '{}' has dims {dims:?} after the batch; expected static positive dimensions",
                    quote(&self.input)
                ),
            )
        })?;
        let (mut b, input) =
            GraphBuilder::new(shape, *limits).map_err(|r| Error::model(self.path, r))?;
        let mut env: HashMap<&str, Entry> = HashMap::new();
        env.insert(self.input.as_str(), Entry::Data(input));
        let mut head = None;
        let mut i = 0;
        while i < self.nodes.len() {
            let n = self.nodes[i];
            if head.is_some() {
                return Err(
                    self.node_err(n, "expected no node after the output Softmax/LogSoftmax")
                );
            }
            let consumed =
                self.graph_node(i, &mut b, &mut env, &mut head)
                    .map_err(|e| match e {
                        Step::Node(e) => Error::OnnxNode {
                            path: self.path.into(),
                            node: super::node_name(n),
                            op: e.op,
                            reason: e.reason,
                        },
                        Step::Other(e) => e,
                    })?;
            i += consumed;
        }
        let out = match env.get(self.output.as_str()) {
            Some(Entry::Data(v)) => v.clone(),
            _ => {
                return Err(Error::model(
                    self.path,
                    format!(
                        "graph output '{}' is not computed from the input",
                        quote(&self.output)
                    ),
                ));
            }
        };
        let graph = b.finish(&out).map_err(|r| Error::model(self.path, r))?;
        Network::from_graph(graph, head, None, None).map_err(|e| e.with_path(self.path))
    }

    fn entry(
        &self,
        env: &HashMap<&str, Entry>,
        n: &NodeProto,
        k: usize,
    ) -> std::result::Result<Entry, Step> {
        let name = n.input.get(k).map_or("", String::as_str);
        if let Some(e) = env.get(name) {
            return Ok(e.clone());
        }
        if let Some(t) = self.consts.get(name) {
            return Ok(Entry::Const(t.clone()));
        }
        Err(self.fail(n, format!("input {k} ('{}') is missing", quote(name))))
    }

    fn data(
        &self,
        env: &HashMap<&str, Entry>,
        n: &NodeProto,
        k: usize,
    ) -> std::result::Result<Value, Step> {
        match self.entry(env, n, k)? {
            Entry::Data(v) => Ok(v),
            _ => Err(self.fail(
                n,
                format!("expected input {k} to be computed from the graph input, got a constant"),
            )),
        }
    }

    fn konst_at(
        &self,
        env: &HashMap<&str, Entry>,
        n: &NodeProto,
        k: usize,
    ) -> std::result::Result<Tensor, Step> {
        match self.entry(env, n, k)? {
            Entry::Const(t) => Ok(t),
            _ => Err(self.fail(n, format!("expected input {k} to be a constant"))),
        }
    }

    fn dims_at(
        &self,
        env: &HashMap<&str, Entry>,
        n: &NodeProto,
        k: usize,
    ) -> std::result::Result<Vec<Dim>, Step> {
        match self.entry(env, n, k)? {
            Entry::Shape(d) => Ok(d),
            Entry::Const(t) => ints(&t).map(|v| v.into_iter().map(Dim::Int).collect()).ok_or_else(|| {
                self.fail(n, format!("expected input {k} to hold integers"))
            }),
            Entry::Data(_) => Err(self.fail(n, format!("expected input {k} to be a constant shape, got a tensor computed from the input"))),
        }
    }

    fn fail(&self, n: &NodeProto, reason: impl Into<String>) -> Step {
        Step::Node(NodeError {
            node: super::node_name(n),
            op: n.op_type.clone(),
            reason: reason.into(),
        })
    }

    fn out(n: &NodeProto) -> &str {
        n.output.first().map_or("", String::as_str)
    }

    /// Imports node `i` (or the element-wise subgraph starting there); returns how many
    /// nodes were consumed.
    #[allow(clippy::too_many_lines)]
    fn graph_node<'n>(
        &'n self,
        i: usize,
        b: &mut GraphBuilder,
        env: &mut HashMap<&'n str, Entry>,
        head: &mut Option<Head>,
    ) -> std::result::Result<usize, Step> {
        let n: &'n NodeProto = self.nodes[i];
        let name = super::node_name(n);
        let op = n.op_type.as_str();
        let out = Self::out(n);
        let built = |r: std::result::Result<Value, NodeError>| r.map_err(Step::Node);
        let first = self.entry(env, n, 0);
        // Shape arithmetic on constants and shape values.
        if !matches!(first, Ok(Entry::Data(_))) || op == "Shape" {
            let e = self.fold(n, env)?;
            env.insert(out, e);
            return Ok(1);
        }
        let x = self.data(env, n, 0)?;
        let act = |b: &mut GraphBuilder, a: Activation| built(b.act(&name, &x, a));
        let v = match op {
            "Identity" | "Dropout" => x,
            "Gemm" => {
                let d = self.gemm(n).map_err(Step::Other)?;
                built(b.dense(&name, &x, d.out_dim(), d.in_dim(), d.weight(), d.bias()))?
            }
            "MatMul" => {
                let t = self.konst_at(env, n, 1)?;
                if t.dims.len() != 2 {
                    return Err(self.fail(
                        n,
                        format!("expected a 2-D constant weight, got dims {:?}", t.dims),
                    ));
                }
                let (k, m) = (t.dims[0], t.dims[1]);
                let mut w = vec![0.0; k * m];
                for p in 0..k {
                    for j in 0..m {
                        w[j * k + p] = t.data[p * m + j];
                    }
                }
                built(b.dense(&name, &x, m, k, &w, None))?
            }
            "Relu" | "LeakyRelu" | "Elu" | "Selu" | "Tanh" | "Softplus" | "Gelu" => {
                let a = self.activation(n).map_err(Step::Other)?;
                act(b, a)?
            }
            "Sigmoid" => {
                if let Some(len) = self.match_window(i, &n.input[0], 2, Activation::Silu) {
                    let v = act(b, Activation::Silu)?;
                    env.insert(Self::out(self.nodes[i + len - 1]), Entry::Data(v));
                    return Ok(len);
                }
                act(b, Activation::Sigmoid)?
            }
            "Div" | "Mul" | "Add" | "Sub" => {
                if matches!(op, "Div" | "Mul")
                    && let Some(len) = self.match_window(i, &n.input[0], 5, Activation::Gelu)
                {
                    let v = act(b, Activation::Gelu)?;
                    env.insert(Self::out(self.nodes[i + len - 1]), Entry::Data(v));
                    return Ok(len);
                }
                if self.nodes.get(i + 1).is_some_and(|m| {
                    m.op_type == "Erf" && m.input.first().map(String::as_str) == Some(out)
                }) {
                    return Err(self.fail(n, "unsupported element-wise subgraph: only the decomposed erf-GELU x·Φ(x) (Div/Mul, Erf, Add, Mul, Mul) is recognised"));
                }
                self.arithmetic(n, &name, &x, b, env)?
            }
            "Conv" => {
                let w = self.konst_at(env, n, 1)?;
                let bias = match n.input.get(2).filter(|s| !s.is_empty()) {
                    Some(_) => Some(self.konst_at(env, n, 2)?.data),
                    None => None,
                };
                let spec = self.window_spec(n, x.shape.len().saturating_sub(1))?;
                let groups = usize::try_from(attr_i(n, "group").unwrap_or(1)).unwrap_or(0);
                {
                    let kernel = Kernel {
                        dims: &w.dims,
                        weight: &w.data,
                        bias: bias.as_deref(),
                        groups,
                    };
                    built(b.conv(&name, &x, &kernel, &spec))?
                }
            }
            "BatchNormalization" => {
                let bn = self
                    .batch_norm(n, |k| {
                        self.konst_at(env, n, k)
                            .map(|t| t.data)
                            .map_err(|e| match e {
                                Step::Other(e) => e,
                                Step::Node(e) => self.node_err(n, e.reason),
                            })
                    })
                    .map_err(Step::Other)?;
                built(b.batch_norm(&name, &x, &bn))?
            }
            "LayerNormalization" => {
                let r = x.shape.len() as i64 + 1;
                let axis = attr_i(n, "axis").unwrap_or(-1);
                let axis = if axis < 0 { axis + r } else { axis };
                if axis < 1 || axis >= r {
                    return Err(self.fail(
                        n,
                        format!(
                            "expected an axis after the batch, got {} for rank {r}",
                            attr_i(n, "axis").unwrap_or(-1)
                        ),
                    ));
                }
                // γ (required) and β (absent: 0) broadcast to the normalised axes.
                let normalised = Value {
                    id: 0,
                    shape: x.shape[(axis - 1) as usize..].to_vec(),
                };
                let param = |k: usize| -> std::result::Result<Vec<f64>, Step> {
                    if k == 2 && n.input.get(2).is_none_or(String::is_empty) {
                        return Ok(vec![0.0; normalised.size()]);
                    }
                    let t = self.konst_at(env, n, k)?;
                    GraphBuilder::broadcast(&name, op, &normalised, &t.dims, &t.data)
                        .map_err(Step::Node)
                };
                let (gamma, beta) = (param(1)?, param(2)?);
                let eps = attr_f(n, "epsilon").unwrap_or(1e-5);
                built(b.layer_norm(&name, &x, (axis - 1) as usize, &gamma, &beta, eps))?
            }
            "MaxPool" => {
                if n.output.iter().skip(1).any(|o| !o.is_empty()) {
                    return Err(self.fail(n, "expected one output (no indices)"));
                }
                let spec = self.window_spec(n, x.shape.len().saturating_sub(1))?;
                built(b.max_pool(&name, &x, &spec))?
            }
            "AveragePool" => {
                let spec = self.window_spec(n, x.shape.len().saturating_sub(1))?;
                let cip = attr_i(n, "count_include_pad").unwrap_or(0) != 0;
                built(b.avg_pool(&name, &x, &spec, cip))?
            }
            "GlobalAveragePool" => built(b.spatial_mean(&name, "GlobalAveragePool", &x, true))?,
            "ReduceMean" => {
                let axes = match n.input.get(1).filter(|s| !s.is_empty()) {
                    Some(_) => ints(&self.konst_at(env, n, 1)?).unwrap_or_default(),
                    None => attr_ints(n, "axes").unwrap_or_default(),
                };
                let r = x.shape.len() as i64 + 1;
                let mut axes: Vec<i64> = axes
                    .iter()
                    .map(|&a| if a < 0 { a + r } else { a })
                    .collect();
                axes.sort_unstable();
                let spatial: Vec<i64> = (2..r).collect();
                if axes != spatial {
                    return Err(self.fail(n, format!("expected the mean over the spatial axes {spatial:?} of input {:?}, got axes {axes:?}", x.shape)));
                }
                let keep = attr_i(n, "keepdims").unwrap_or(1) != 0;
                built(b.spatial_mean(&name, "ReduceMean", &x, keep))?
            }
            "Flatten" => {
                let axis = attr_i(n, "axis").unwrap_or(1);
                if axis != 1 {
                    return Err(self.fail(
                        n,
                        format!("expected axis 1 (keep the batch dimension), got {axis}"),
                    ));
                }
                built(GraphBuilder::reshape(&name, op, &x, vec![x.size()]))?
            }
            "Reshape" => {
                let target = self.dims_at(env, n, 1)?;
                let allowzero = attr_i(n, "allowzero").unwrap_or(0) != 0;
                let shape = self.reshape_target(n, &x, &target, allowzero)?;
                built(GraphBuilder::reshape(&name, op, &x, shape))?
            }
            "Squeeze" | "Unsqueeze" => {
                let axes = match n.input.get(1).filter(|s| !s.is_empty()) {
                    Some(_) => ints(&self.konst_at(env, n, 1)?).unwrap_or_default(),
                    None => attr_ints(n, "axes").unwrap_or_default(),
                };
                let shape =
                    squeeze(&x.shape, &axes, op == "Unsqueeze").map_err(|r| self.fail(n, r))?;
                built(GraphBuilder::reshape(&name, op, &x, shape))?
            }
            "Transpose" => {
                let perm = attr_ints(n, "perm")
                    .unwrap_or_else(|| (0..=x.shape.len() as i64).rev().collect());
                if perm.first() != Some(&0) {
                    return Err(self.fail(
                        n,
                        format!("expected the batch axis to stay first, got perm {perm:?}"),
                    ));
                }
                let perm: Vec<usize> = perm[1..]
                    .iter()
                    .map(|&p| {
                        p.checked_sub(1)
                            .and_then(|p| usize::try_from(p).ok())
                            .unwrap_or(usize::MAX)
                    })
                    .collect();
                built(b.transpose(&name, &x, &perm))?
            }
            "Concat" => {
                let r = x.shape.len() as i64 + 1;
                let axis = attr_i(n, "axis").unwrap_or(0);
                let axis = if axis < 0 { axis + r } else { axis };
                if axis < 1 || axis >= r {
                    return Err(self.fail(
                        n,
                        format!("expected a concatenation axis after the batch, got {axis}"),
                    ));
                }
                let vals = (0..n.input.len())
                    .map(|k| self.data(env, n, k))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let refs: Vec<&Value> = vals.iter().collect();
                built(b.concat(&name, &refs, (axis - 1) as usize))?
            }
            "Slice" => {
                let get = |k: usize| -> std::result::Result<Option<Vec<i64>>, Step> {
                    match n.input.get(k).filter(|s| !s.is_empty() || k == 1) {
                        Some(_) => {
                            Ok(Some(ints(&self.konst_at(env, n, k)?).ok_or_else(|| {
                                self.fail(n, format!("expected integer input {k}"))
                            })?))
                        }
                        None => Ok(None),
                    }
                };
                let (starts, ends) = (get(1)?.unwrap_or_default(), get(2)?.unwrap_or_default());
                let r = x.shape.len() as i64 + 1;
                let axes = get(3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
                let steps = get(4)?.unwrap_or_else(|| vec![1; starts.len()]);
                if ends.len() != starts.len()
                    || axes.len() != starts.len()
                    || steps.len() != starts.len()
                {
                    return Err(self.fail(n, "expected starts, ends, axes and steps of one length"));
                }
                let mut ranges = Vec::new();
                for k in 0..starts.len() {
                    let a = if axes[k] < 0 { axes[k] + r } else { axes[k] };
                    if a < 1 || a >= r || steps[k] < 1 {
                        return Err(self.fail(n, format!("expected slices on axes after the batch with positive steps, got axis {} step {}", axes[k], steps[k])));
                    }
                    let dim = x.shape[(a - 1) as usize] as i64;
                    let clamp = |v: i64| (if v < 0 { v + dim } else { v }).clamp(0, dim) as usize;
                    ranges.push((
                        (a - 1) as usize,
                        clamp(starts[k]),
                        clamp(ends[k]),
                        steps[k] as usize,
                    ));
                }
                built(b.slice(&name, &x, &ranges))?
            }
            "Softmax" | "LogSoftmax" => {
                if x.shape.len() != 1 {
                    return Err(self.fail(
                        n,
                        format!(
                            "expected an output head over a (N, K) tensor, got {:?}",
                            x.shape
                        ),
                    ));
                }
                *head = Some(self.head(n).map_err(Step::Other)?);
                x
            }
            _ => {
                return Err(self.fail(
                    n,
                    format!(
                        "unsupported op '{}'; supported: {} (README §What is supported)",
                        quote(op),
                        crate::error::list(GRAPH_OPS)
                    ),
                ));
            }
        };
        env.insert(out, Entry::Data(v));
        Ok(1)
    }

    /// `Add`/`Sub`/`Mul`/`Div` with a data tensor first: a residual join of two tensors, or
    /// an affine map with a constant.
    fn arithmetic(
        &self,
        n: &NodeProto,
        name: &str,
        x: &Value,
        b: &mut GraphBuilder,
        env: &HashMap<&str, Entry>,
    ) -> std::result::Result<Value, Step> {
        let op = n.op_type.as_str();
        // Data in either position; a constant in the other.
        let (e0, e1) = (self.entry(env, n, 0)?, self.entry(env, n, 1)?);
        if let (Entry::Data(a), Entry::Data(c)) = (&e0, &e1) {
            return match op {
                "Add" | "Sub" => b.add(name, a, c, op == "Sub").map_err(Step::Node),
                _ => Err(self.fail(n, "a product or quotient of two tensors computed from the input is not supported (only the decomposed GELU and SiLU patterns are recognised)")),
            };
        }
        let (data_first, c) = match (&e0, &e1) {
            (Entry::Data(_), Entry::Const(c)) => (true, c.clone()),
            (Entry::Const(c), Entry::Data(_)) => (false, c.clone()),
            _ => return Err(self.fail(n, "expected a constant operand")),
        };
        let c = GraphBuilder::broadcast(name, op, x, &c.dims, &c.data).map_err(Step::Node)?;
        let size = x.size();
        let (scale, shift) = match (op, data_first) {
            ("Add", _) => (vec![1.0; size], c),
            ("Sub", true) => (vec![1.0; size], c.iter().map(|v| -v).collect()),
            ("Sub", false) => (vec![-1.0; size], c),
            ("Mul", _) => (c, vec![0.0; size]),
            ("Div", true) => {
                if c.contains(&0.0) {
                    return Err(self.fail(n, "division by a constant with a zero element"));
                }
                (c.iter().map(|v| 1.0 / v).collect(), vec![0.0; size])
            }
            _ => return Err(self.fail(n, "a constant divided by a tensor is not an affine map")),
        };
        b.affine(name, op, x, scale, shift).map_err(Step::Node)
    }

    fn window_spec(&self, n: &NodeProto, spatial: usize) -> std::result::Result<WindowSpec, Step> {
        let get =
            |name: &str, default: usize, len: usize| -> std::result::Result<Vec<usize>, Step> {
                match attr_ints(n, name) {
                    Some(v) if !v.is_empty() => {
                        usizes(&v).map_err(|r| self.fail(n, format!("{name}: {r}")))
                    }
                    _ => Ok(vec![default; len]),
                }
            };
        Ok(WindowSpec {
            kernel: match attr_ints(n, "kernel_shape") {
                Some(v) => usizes(&v).map_err(|r| self.fail(n, format!("kernel_shape: {r}")))?,
                None => Vec::new(),
            },
            stride: get("strides", 1, spatial)?,
            dilation: get("dilations", 1, spatial)?,
            pads: get("pads", 0, 2 * spatial)?,
            auto_pad: attr_s(n, "auto_pad").unwrap_or_default(),
            ceil_mode: attr_i(n, "ceil_mode").unwrap_or(0) != 0,
        })
    }

    /// The per-row shape of a `Reshape` whose target (with the symbolic batch) is `target`.
    fn reshape_target(
        &self,
        n: &NodeProto,
        x: &Value,
        target: &[Dim],
        allowzero: bool,
    ) -> std::result::Result<Vec<usize>, Step> {
        let bad = |why: &str| {
            self.fail(n, format!("target shape {target:?} for input (N, {:?}): {why}; expected the batch followed by static dimensions", x.shape))
        };
        let Some((lead, rest)) = target.split_first() else {
            return Err(bad("empty"));
        };
        match lead {
            Dim::Batch | Dim::Int(-1) => {}
            Dim::Int(0) if !allowzero => {}
            _ => return Err(bad("the first dimension is not the batch")),
        }
        let mut shape = Vec::with_capacity(rest.len());
        let mut infer = None;
        for (k, d) in rest.iter().enumerate() {
            match d {
                Dim::Int(-1) if infer.is_none() && *lead != Dim::Int(-1) => {
                    infer = Some(k);
                    shape.push(1);
                }
                Dim::Int(0) if !allowzero => shape.push(
                    *x.shape
                        .get(k)
                        .ok_or_else(|| bad("0 copies a missing dimension"))?,
                ),
                Dim::Int(v) if *v > 0 => {
                    shape.push(usize::try_from(*v).map_err(|_| bad("too large"))?)
                }
                _ => return Err(bad("a dimension is symbolic, negative or zero")),
            }
        }
        let known: usize = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| bad("too large"))?;
        if let Some(k) = infer {
            if known == 0 || !x.size().is_multiple_of(known) {
                return Err(bad("-1 cannot be inferred"));
            }
            shape[k] = x.size() / known;
        }
        if shape.is_empty() {
            return Err(bad("no dimension after the batch"));
        }
        Ok(shape)
    }

    /// Folds a node over constants and shape values.
    fn fold(&self, n: &NodeProto, env: &HashMap<&str, Entry>) -> std::result::Result<Entry, Step> {
        let op = n.op_type.as_str();
        let as_entry = |d: Vec<Dim>| -> Entry {
            if d.iter().all(|x| matches!(x, Dim::Int(_))) {
                Entry::Const(Tensor {
                    dims: vec![d.len()],
                    #[allow(clippy::cast_precision_loss)]
                    data: d
                        .iter()
                        .map(|x| if let Dim::Int(v) = x { *v as f64 } else { 0.0 })
                        .collect(),
                })
            } else {
                Entry::Shape(d)
            }
        };
        match op {
            "Shape" => {
                let dims: Vec<Dim> = match self.entry(env, n, 0)? {
                    Entry::Data(v) => std::iter::once(Dim::Batch).chain(v.shape.iter().map(|&d| Dim::Int(d as i64))).collect(),
                    Entry::Const(t) => t.dims.iter().map(|&d| Dim::Int(d as i64)).collect(),
                    Entry::Shape(d) => vec![Dim::Int(d.len() as i64)],
                };
                let r = dims.len() as i64;
                let norm = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let start = norm(attr_i(n, "start").unwrap_or(0));
                let end = norm(attr_i(n, "end").unwrap_or(r));
                Ok(as_entry(dims.get(start..end.max(start)).unwrap_or_default().to_vec()))
            }
            "Identity" | "Cast" | "CastLike" | "Squeeze" | "Unsqueeze" | "Dropout" => self.entry(env, n, 0),
            "Reshape" => match self.entry(env, n, 0)? {
                Entry::Const(mut t) => {
                    let target = self.dims_at(env, n, 1)?;
                    let allowzero = attr_i(n, "allowzero").unwrap_or(0) != 0;
                    let len = t.data.len();
                    let mut dims = Vec::with_capacity(target.len());
                    let mut infer = None;
                    for (k, d) in target.iter().enumerate() {
                        let v = match d {
                            Dim::Int(-1) if infer.is_none() => {
                                infer = Some(k);
                                1
                            }
                            Dim::Int(0) if !allowzero => *t.dims.get(k).ok_or_else(|| {
                                self.fail(n, format!("0 copies dimension {k}, which the constant of dims {:?} lacks", t.dims))
                            })?,
                            Dim::Int(v) if *v >= 0 => usize::try_from(*v).unwrap_or(usize::MAX),
                            _ => return Err(self.fail(n, format!("cannot reshape a constant to {target:?}"))),
                        };
                        dims.push(v);
                    }
                    let known = dims
                        .iter()
                        .try_fold(1usize, |a, &d| a.checked_mul(d))
                        .ok_or_else(|| self.fail(n, format!("target shape {target:?} is too large")))?;
                    if let Some(k) = infer {
                        if known == 0 || len % known != 0 {
                            return Err(self.fail(n, format!("cannot infer -1 in {target:?} for {len} values")));
                        }
                        dims[k] = len / known;
                    } else if known != len {
                        return Err(self.fail(n, format!("cannot reshape {len} values to {target:?}")));
                    }
                    t.dims = dims;
                    Ok(Entry::Const(t))
                }
                e => Ok(e),
            },
            "Concat" => {
                let mut all = Vec::new();
                let mut consts = true;
                for k in 0..n.input.len() {
                    match self.entry(env, n, k)? {
                        Entry::Shape(d) => {
                            consts = false;
                            all.extend(d);
                        }
                        Entry::Const(t) => all.extend(ints(&t).ok_or_else(|| self.fail(n, "expected integer shape parts"))?.into_iter().map(Dim::Int)),
                        Entry::Data(_) => return Err(self.fail(n, "mixes shape values and tensors computed from the input")),
                    }
                }
                let _ = consts;
                Ok(as_entry(all))
            }
            "Gather" => {
                let d = self.dims_at(env, n, 0)?;
                let idx = ints(&self.konst_at(env, n, 1)?).ok_or_else(|| self.fail(n, "expected integer indices"))?;
                let r = d.len() as i64;
                let picked = idx
                    .iter()
                    .map(|&i| {
                        let i = if i < 0 { i + r } else { i };
                        usize::try_from(i).ok().and_then(|i| d.get(i).copied()).ok_or_else(|| self.fail(n, format!("index {i} out of range for {r} values")))
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Ok(as_entry(picked))
            }
            "Slice" => {
                let d = self.dims_at(env, n, 0)?;
                let get = |k: usize| -> std::result::Result<i64, Step> {
                    let v = ints(&self.konst_at(env, n, k)?).ok_or_else(|| self.fail(n, "expected integer bounds"))?;
                    v.first().copied().ok_or_else(|| self.fail(n, "expected one bound"))
                };
                let r = d.len() as i64;
                let norm = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let (s, e) = (norm(get(1)?), norm(get(2)?));
                Ok(as_entry(d.get(s..e.max(s)).unwrap_or_default().to_vec()))
            }
            "Expand" => {
                let t = self.konst_at(env, n, 0)?;
                let shape = self.dims_at(env, n, 1)?;
                let shape: Vec<usize> = shape
                    .iter()
                    .map(|d| match d {
                        Dim::Int(v) if *v >= 1 => Ok(*v as usize),
                        _ => Err(self.fail(n, "expected a static expansion shape")),
                    })
                    .collect::<std::result::Result<_, _>>()?;
                let r = shape.len().max(t.dims.len());
                let pad = |v: &[usize]| -> Vec<usize> { std::iter::repeat_n(1, r - v.len()).chain(v.iter().copied()).collect() };
                let (td, sd) = (pad(&t.dims), pad(&shape));
                let dims: Vec<usize> = td.iter().zip(&sd).map(|(&a, &b)| a.max(b)).collect();
                if td.iter().zip(&dims).any(|(&a, &d)| a != 1 && a != d) {
                    return Err(self.fail(n, format!("cannot expand dims {:?} to {shape:?}", t.dims)));
                }
                let total = self
                    .limits_check(&dims)
                    .map_err(|r| self.fail(n, r))?;
                let v = Value { id: 0, shape: dims.clone() };
                let data = if total == 0 {
                    Vec::new()
                } else {
                    GraphBuilder::broadcast(&super::node_name(n), op, &v, &std::iter::once(1).chain(td.iter().copied()).collect::<Vec<_>>(), &t.data).map_err(Step::Node)?
                };
                Ok(Entry::Const(Tensor { dims, data }))
            }
            "Constant" => Err(self.fail(n, "unexpected constant")),
            _ => Err(self.fail(n, format!("expected an input computed from the graph input; '{}' on constants is not folded", quote(op)))),
        }
    }

    fn limits_check(&self, dims: &[usize]) -> std::result::Result<usize, String> {
        crate::limits::Limits::current()
            .check_tensor(&dims.iter().map(|&d| d as u64).collect::<Vec<_>>())
    }
}

/// A failed import step: a node error (the importer adds the file) or a finished error.
enum Step {
    Node(NodeError),
    Other(Error),
}

/// Integer values of a constant (all finite integers), if it is one.
fn ints(t: &Tensor) -> Option<Vec<i64>> {
    #[allow(clippy::cast_possible_truncation)]
    t.data
        .iter()
        .map(|&v| (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64))
        .collect()
}

/// The shape after `Squeeze`/`Unsqueeze` of full-rank axes `axes` (the batch is axis 0).
fn squeeze(
    shape: &[usize],
    axes: &[i64],
    unsqueeze: bool,
) -> std::result::Result<Vec<usize>, String> {
    let r = shape.len() as i64 + 1 + if unsqueeze { axes.len() as i64 } else { 0 };
    let mut axes: Vec<i64> = axes
        .iter()
        .map(|&a| if a < 0 { a + r } else { a })
        .collect();
    axes.sort_unstable();
    if axes.iter().any(|&a| a < 1 || a >= r) {
        return Err(format!("expected axes after the batch, got {axes:?}"));
    }
    let mut out: Vec<usize> = Vec::new();
    if unsqueeze {
        let mut src = shape.iter();
        for a in 1..r {
            if axes.contains(&a) {
                out.push(1);
            } else if let Some(&d) = src.next() {
                out.push(d);
            }
        }
    } else {
        if axes.is_empty() {
            return Ok(shape.iter().copied().filter(|&d| d != 1).collect());
        }
        for (k, &d) in shape.iter().enumerate() {
            if axes.contains(&(k as i64 + 1)) {
                if d != 1 {
                    return Err(format!("cannot squeeze axis {} of size {d}", k + 1));
                }
            } else {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Every op the graph importer understands.
pub const GRAPH_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Conv",
    "BatchNormalization",
    "LayerNormalization",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "ReduceMean",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Relu",
    "LeakyRelu",
    "Elu",
    "Selu",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Gelu",
    "Erf (decomposed GELU)",
    "Sigmoid+Mul (SiLU)",
    "Reshape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Slice",
    "Identity",
    "Dropout",
    "Shape/Gather/Cast/CastLike/Expand (shape arithmetic)",
    "Constant",
    "Softmax",
    "LogSoftmax",
];
