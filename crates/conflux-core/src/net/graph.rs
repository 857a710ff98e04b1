//! The graph form of a network (graph.md): a DAG of typed ops over tensors with static
//! per-row shapes (the batch dimension is symbolic), in `f64`. [`GraphBuilder`] is the one
//! place shapes are inferred and checked: every loader (ONNX, conflux's JSON format 2)
//! adds nodes through it, and every error names the node, the op and the shapes.

use super::activation::Activation;
use super::layer::BatchNorm;
use super::ops::window::{Window, WindowSpec};
use super::plan::{AffineOp, ConvOp, DenseOp, GatherOp, LayerNormOp, MaxPoolOp, Node, Op, PoolOp};
use crate::limits::Limits;

/// A validated graph in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    input_shape: Vec<usize>,
    nodes: Vec<Node<f64>>,
    output: usize,
    output_shape: Vec<usize>,
}

impl Graph {
    /// The per-row input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
    /// Elements per input row.
    pub fn input_dim(&self) -> usize {
        self.input_shape.iter().product()
    }
    /// The nodes in topological order.
    pub fn nodes(&self) -> &[Node<f64>] {
        &self.nodes
    }
    /// The tensor holding the output.
    pub fn output(&self) -> usize {
        self.output
    }
    /// The per-row output shape.
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }
    /// Elements per output row.
    pub fn output_dim(&self) -> usize {
        self.output_shape.iter().product()
    }
    /// Number of element-wise activation layers.
    pub fn activation_layers(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Act { .. }))
            .count()
    }
    /// Trainable parameters.
    pub fn param_count(&self) -> usize {
        self.nodes.iter().map(|n| n.op.param_count()).sum()
    }
    /// Whether the graph is a plain chain of dense, affine and activation layers.
    pub fn is_chain(&self) -> bool {
        super::plan::is_chain(&self.nodes, self.output)
    }
}

/// A convolution's parameters as read from a file.
#[derive(Debug, Clone, Copy)]
pub struct Kernel<'a> {
    /// Kernel dims `[c_out, c_in/groups, k…]`.
    pub dims: &'a [usize],
    /// Kernel values, row-major.
    pub weight: &'a [f64],
    /// Per-output-channel bias.
    pub bias: Option<&'a [f64]>,
    /// Groups.
    pub groups: usize,
}

/// A tensor during construction: its id and its current shape (reshapes change the shape,
/// not the data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// Tensor id (0 = the input, `k + 1` = node `k`'s output).
    pub id: usize,
    /// Per-row shape.
    pub shape: Vec<usize>,
}

impl Value {
    /// Elements per row.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Why a node could not be added: its name, op and what was wrong (loaders add the file).
#[derive(Debug, Clone)]
pub struct NodeError {
    /// Node name.
    pub node: String,
    /// Op name.
    pub op: String,
    /// What was expected and found (including the shapes).
    pub reason: String,
}

type Built = Result<Value, NodeError>;

/// Builds a [`Graph`] node by node, inferring and checking shapes.
#[derive(Debug)]
pub struct GraphBuilder {
    input_shape: Vec<usize>,
    nodes: Vec<Node<f64>>,
    slot: usize,
    limits: Limits,
    params: u64,
}

fn fail(node: &str, op: &str, reason: impl Into<String>) -> NodeError {
    NodeError {
        node: node.into(),
        op: op.into(),
        reason: reason.into(),
    }
}

fn show(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    format!("(N, {})", dims.join(", "))
}

impl GraphBuilder {
    /// Starts a graph whose input has per-row shape `input_shape`.
    ///
    /// # Errors
    /// When the shape is empty, has a zero dimension or exceeds the tensor limit.
    pub fn new(input_shape: Vec<usize>, limits: Limits) -> Result<(Self, Value), String> {
        if input_shape.is_empty() || input_shape.contains(&0) {
            return Err(format!(
                "expected an input shape with positive dimensions, got {}",
                show(&input_shape)
            ));
        }
        limits.check_tensor(&input_shape.iter().map(|&d| d as u64).collect::<Vec<_>>())?;
        if input_shape.iter().product::<usize>() > u32::MAX as usize {
            return Err(format!(
                "input shape {} has more than 2^32 elements per row",
                show(&input_shape)
            ));
        }
        let v = Value {
            id: 0,
            shape: input_shape.clone(),
        };
        Ok((
            GraphBuilder {
                input_shape,
                nodes: Vec::new(),
                slot: 0,
                limits,
                params: 0,
            },
            v,
        ))
    }

    /// The nodes added so far.
    pub fn nodes(&self) -> &[Node<f64>] {
        &self.nodes
    }

    fn push(&mut self, name: &str, op: Op<f64>, inputs: Vec<usize>, shape: Vec<usize>) -> Built {
        let kind = op.kind();
        let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        if shape.contains(&0) {
            return Err(fail(
                name,
                kind,
                format!("output shape {} has a zero dimension", show(&shape)),
            ));
        }
        self.limits
            .check_tensor(&dims)
            .map_err(|r| fail(name, kind, format!("output shape {}: {r}", show(&shape))))?;
        if shape.iter().product::<usize>() > u32::MAX as usize {
            return Err(fail(
                name,
                kind,
                format!(
                    "output shape {} has more than 2^32 elements per row",
                    show(&shape)
                ),
            ));
        }
        self.params = self.params.saturating_add(op.param_count() as u64);
        self.limits
            .check_parameters(self.params)
            .map_err(|r| fail(name, kind, r))?;
        self.nodes.push(Node {
            op,
            inputs,
            name: name.into(),
            shape: shape.clone(),
        });
        Ok(Value {
            id: self.nodes.len(),
            shape,
        })
    }

    /// Refuses an op whose working tables (index maps, im2col buffers: the product of
    /// `factors`) would exceed the tensor-element limit, before anything is built.
    fn check_work(&self, name: &str, op: &str, factors: &[usize]) -> Result<(), NodeError> {
        let dims: Vec<u64> = factors.iter().map(|&d| d as u64).collect();
        self.limits.check_tensor(&dims).map(|_| ()).map_err(|r| {
            fail(
                name,
                op,
                format!("its working tables ({factors:?} entries) are too large: {r}"),
            )
        })
    }

    /// Finishes the graph with `output` as its output.
    ///
    /// # Errors
    /// When the output is the input itself (no nodes).
    pub fn finish(self, output: &Value) -> Result<Graph, String> {
        if self.nodes.is_empty() {
            return Err(
                "expected at least one op between the input and the output, got none".into(),
            );
        }
        Ok(Graph {
            input_shape: self.input_shape,
            nodes: self.nodes,
            output: output.id,
            output_shape: output.shape.clone(),
        })
    }

    /// A fully connected layer over the last axis: weight row-major `n_out × n_in`.
    ///
    /// # Errors
    /// When the last axis is not `n_in` or the sizes disagree.
    pub fn dense(
        &mut self,
        name: &str,
        x: &Value,
        n_out: usize,
        n_in: usize,
        w: &[f64],
        bias: Option<&[f64]>,
    ) -> Built {
        let op = "Gemm";
        let last = *x.shape.last().unwrap_or(&0);
        if last != n_in || n_out == 0 || w.len() != n_out * n_in {
            return Err(fail(
                name,
                op,
                format!(
                    "expected a weight of {n_out}×{last} for input {}, got {n_out}×{n_in} ({} values)",
                    show(&x.shape),
                    w.len()
                ),
            ));
        }
        if let Some(b) = bias
            && b.len() != n_out
        {
            return Err(fail(
                name,
                op,
                format!("expected a bias of {n_out} values, got {}", b.len()),
            ));
        }
        let outer = x.size() / n_in;
        let mut shape = x.shape.clone();
        *shape.last_mut().expect("non-empty") = n_out;
        self.push(
            name,
            Op::Dense(DenseOp::new(n_out, n_in, w, bias, outer)),
            vec![x.id],
            shape,
        )
    }

    /// A convolution: kernel `[c_out, c_in/groups, k…]` row-major.
    ///
    /// # Errors
    /// When the input is not `(C, L)` / `(C, H, W)`, the channels or groups disagree, or
    /// the window does not fit.
    pub fn conv(&mut self, name: &str, x: &Value, kernel: &Kernel, spec: &WindowSpec) -> Built {
        let (kernel_dims, w, bias, groups) =
            (kernel.dims, kernel.weight, kernel.bias, kernel.groups);
        let op = "Conv";
        let err = |r: String| fail(name, op, format!("input {}: {r}", show(&x.shape)));
        if !(2..=3).contains(&x.shape.len()) || kernel_dims.len() != x.shape.len() + 1 {
            return Err(err(format!(
                "expected a (C, L) or (C, H, W) input and a kernel of one more axis, got kernel {kernel_dims:?}"
            )));
        }
        let (c_in, c_out, cin_g) = (x.shape[0], kernel_dims[0], kernel_dims[1]);
        if groups == 0 || c_in % groups != 0 || c_out % groups != 0 || cin_g * groups != c_in {
            return Err(err(format!(
                "expected groups dividing {c_in} input and {c_out} output channels with kernel input channels = C/groups, got groups {groups}, kernel {kernel_dims:?}"
            )));
        }
        let kernel_len = kernel_dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| err(format!("kernel {kernel_dims:?} is too large")))?;
        if w.len() != kernel_len {
            return Err(err(format!(
                "expected {kernel_len} kernel values, got {}",
                w.len()
            )));
        }
        if let Some(b) = bias
            && b.len() != c_out
        {
            return Err(err(format!(
                "expected a bias of {c_out} values, got {}",
                b.len()
            )));
        }
        let mut spec = spec.clone();
        if spec.kernel.is_empty() {
            spec.kernel = kernel_dims[2..].to_vec();
        }
        if spec.kernel != kernel_dims[2..] {
            return Err(err(format!(
                "kernel_shape {:?} disagrees with the weight's {:?}",
                spec.kernel,
                &kernel_dims[2..]
            )));
        }
        let window = spec.resolve_conv(&x.shape[1..]).map_err(err)?;
        // The im2col buffer: (C/groups · kernel) × output positions.
        self.check_work(name, op, &[cin_g, window.kernel_len(), window.out_len()])?;
        let mut shape = vec![c_out];
        if x.shape.len() == 3 {
            shape.push(window.output[0]);
        }
        shape.push(window.output[1]);
        let op = ConvOp::new(c_in, c_out, groups, window, w, bias);
        self.push(name, Op::Conv(op), vec![x.id], shape)
    }

    /// A per-element affine map; `scale` and `shift` per element of a row.
    ///
    /// # Errors
    /// When the lengths are not the input's size.
    pub fn affine(
        &mut self,
        name: &str,
        kind: &str,
        x: &Value,
        scale: Vec<f64>,
        shift: Vec<f64>,
    ) -> Built {
        if scale.len() != x.size() || shift.len() != x.size() {
            return Err(fail(
                name,
                kind,
                format!(
                    "expected {} scale and shift values for input {}, got {} and {}",
                    x.size(),
                    show(&x.shape),
                    scale.len(),
                    shift.len()
                ),
            ));
        }
        self.push(
            name,
            Op::Affine(AffineOp { scale, shift }),
            vec![x.id],
            x.shape.clone(),
        )
    }

    /// A constant operand broadcast (numpy rules) to the input's per-row shape; the
    /// constant's leading batch axis, if any, must be 1.
    ///
    /// # Errors
    /// When the constant cannot broadcast to the input without changing its shape.
    pub fn broadcast(
        name: &str,
        kind: &str,
        x: &Value,
        dims: &[usize],
        data: &[f64],
    ) -> Result<Vec<f64>, NodeError> {
        let full: Vec<usize> = std::iter::once(1).chain(x.shape.iter().copied()).collect();
        let bad = || {
            fail(
                name,
                kind,
                format!(
                    "constant of dims {dims:?} does not broadcast to input {}",
                    show(&x.shape)
                ),
            )
        };
        if dims.len() > full.len()
            || dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(data.len())
        {
            return Err(bad());
        }
        let pad = full.len() - dims.len();
        let d: Vec<usize> = std::iter::repeat_n(1, pad)
            .chain(dims.iter().copied())
            .collect();
        if d.iter().zip(&full).any(|(&a, &b)| a != 1 && a != b) {
            return Err(bad());
        }
        // Strides of the constant over the full shape (0 where broadcast).
        let mut strides = vec![0; d.len()];
        let mut acc = 1;
        for a in (0..d.len()).rev() {
            strides[a] = if d[a] == 1 { 0 } else { acc };
            acc *= d[a];
        }
        let size = x.size();
        let mut out = vec![0.0; size];
        for (i, o) in out.iter_mut().enumerate() {
            let (mut rem, mut at) = (i, 0);
            for a in (1..full.len()).rev() {
                at += (rem % full[a]) * strides[a];
                rem /= full[a];
            }
            *o = data[at];
        }
        Ok(out)
    }

    /// BatchNormalization in eval mode over axis 0 of the per-row shape (channels).
    ///
    /// # Errors
    /// When the channel count differs from the parameters'.
    pub fn batch_norm(&mut self, name: &str, x: &Value, bn: &BatchNorm) -> Built {
        let op = "BatchNormalization";
        bn.validate().map_err(|r| fail(name, op, r))?;
        if x.shape[0] != bn.dim() {
            return Err(fail(
                name,
                op,
                format!(
                    "expected {} channels (the parameters'), got input {}",
                    bn.dim(),
                    show(&x.shape)
                ),
            ));
        }
        let per = x.size() / bn.dim();
        let (scale, shift) = bn.scale_shift();
        let rep = |v: &[f64]| {
            v.iter()
                .flat_map(|&s| std::iter::repeat_n(s, per))
                .collect()
        };
        self.affine(name, op, x, rep(&scale), rep(&shift))
    }

    /// An element-wise activation.
    ///
    /// # Errors
    /// Never for valid activations (kept fallible like every node).
    pub fn act(&mut self, name: &str, x: &Value, act: Activation) -> Built {
        let width = x.size();
        let slot = self.slot;
        let v = self.push(
            name,
            Op::Act { act, slot, width },
            vec![x.id],
            x.shape.clone(),
        )?;
        self.slot += 1;
        Ok(v)
    }

    fn spatial(name: &str, op: &str, x: &Value) -> Result<(), NodeError> {
        if !(2..=3).contains(&x.shape.len()) {
            return Err(fail(
                name,
                op,
                format!(
                    "expected a (C, L) or (C, H, W) input, got {}",
                    show(&x.shape)
                ),
            ));
        }
        Ok(())
    }

    /// A pooling op's window over `x`, its working tables bounded.
    fn pool_window(
        &self,
        name: &str,
        op: &str,
        x: &Value,
        spec: &WindowSpec,
    ) -> Result<Window, NodeError> {
        Self::spatial(name, op, x)?;
        let window = spec
            .resolve(&x.shape[1..])
            .map_err(|r| fail(name, op, format!("input {}: {r}", show(&x.shape))))?;
        self.check_work(
            name,
            op,
            &[x.shape[0], window.out_len(), window.kernel_len()],
        )?;
        Ok(window)
    }

    fn pooled_shape(x: &Value, out: [usize; 2]) -> Vec<usize> {
        let mut shape = vec![x.shape[0]];
        if x.shape.len() == 3 {
            shape.push(out[0]);
        }
        shape.push(out[1]);
        shape
    }

    /// `AveragePool`.
    ///
    /// # Errors
    /// When the input is not spatial or the window does not fit.
    pub fn avg_pool(
        &mut self,
        name: &str,
        x: &Value,
        spec: &WindowSpec,
        count_include_pad: bool,
    ) -> Built {
        let op = "AveragePool";
        let window = self.pool_window(name, op, x, spec)?;
        let shape = Self::pooled_shape(x, window.output);
        self.push(
            name,
            Op::Pool(PoolOp::average(x.shape[0], &window, count_include_pad)),
            vec![x.id],
            shape,
        )
    }

    /// `MaxPool`.
    ///
    /// # Errors
    /// When the input is not spatial or the window does not fit.
    pub fn max_pool(&mut self, name: &str, x: &Value, spec: &WindowSpec) -> Built {
        let op = "MaxPool";
        let window = self.pool_window(name, op, x, spec)?;
        let shape = Self::pooled_shape(x, window.output);
        let m = MaxPoolOp::new(x.shape[0], &window).map_err(|r| fail(name, op, r))?;
        self.push(name, Op::MaxPool(m), vec![x.id], shape)
    }

    /// The mean over every axis after the channels (`GlobalAveragePool`, `ReduceMean` over
    /// the spatial axes), keeping them as size 1 with `keepdims`.
    ///
    /// # Errors
    /// When the input has no spatial axes.
    pub fn spatial_mean(
        &mut self,
        name: &str,
        kind: &'static str,
        x: &Value,
        keepdims: bool,
    ) -> Built {
        if x.shape.len() < 2 {
            return Err(fail(
                name,
                kind,
                format!(
                    "expected a (C, …) input with spatial axes, got {}",
                    show(&x.shape)
                ),
            ));
        }
        let len = x.size() / x.shape[0];
        let mut shape = vec![x.shape[0]];
        if keepdims {
            shape.extend(std::iter::repeat_n(1, x.shape.len() - 1));
        }
        self.push(
            name,
            Op::Pool(PoolOp::mean(kind, x.shape[0], len)),
            vec![x.id],
            shape,
        )
    }

    /// `LayerNormalization` over the trailing axes from `axis` (per-row axis index).
    ///
    /// # Errors
    /// When γ/β do not have the normalised size.
    pub fn layer_norm(
        &mut self,
        name: &str,
        x: &Value,
        axis: usize,
        gamma: &[f64],
        beta: &[f64],
        eps: f64,
    ) -> Built {
        let op = "LayerNormalization";
        if axis >= x.shape.len() {
            return Err(fail(
                name,
                op,
                format!("axis {axis} is out of range for input {}", show(&x.shape)),
            ));
        }
        let n: usize = x.shape[axis..].iter().product();
        if gamma.len() != n || beta.len() != n {
            return Err(fail(
                name,
                op,
                format!(
                    "expected scale and bias of {n} values (the normalised axes of {}), got {} and {}",
                    show(&x.shape),
                    gamma.len(),
                    beta.len()
                ),
            ));
        }
        if !(eps.is_finite() && eps >= 0.0) || gamma.iter().chain(beta).any(|v| !v.is_finite()) {
            return Err(fail(name, op, "expected finite parameters and epsilon ≥ 0"));
        }
        let l = LayerNormOp {
            n,
            gamma: gamma.to_vec(),
            beta: beta.to_vec(),
            eps,
        };
        self.push(name, Op::LayerNorm(l), vec![x.id], x.shape.clone())
    }

    /// `a + b` (or `a − b`) of two tensors of the same shape.
    ///
    /// # Errors
    /// When the shapes differ.
    pub fn add(&mut self, name: &str, a: &Value, b: &Value, sub: bool) -> Built {
        let op = if sub { "Sub" } else { "Add" };
        if a.shape != b.shape {
            return Err(fail(
                name,
                op,
                format!(
                    "expected two inputs of the same shape, got {} and {}",
                    show(&a.shape),
                    show(&b.shape)
                ),
            ));
        }
        self.push(name, Op::Add { sub }, vec![a.id, b.id], a.shape.clone())
    }

    /// Changes the shape without moving data (`Reshape`, `Flatten`, `Squeeze`, `Unsqueeze`).
    ///
    /// # Errors
    /// When the element counts differ.
    pub fn reshape(name: &str, kind: &str, x: &Value, shape: Vec<usize>) -> Built {
        let size = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if size != Some(x.size()) || shape.is_empty() {
            return Err(fail(
                name,
                kind,
                format!(
                    "cannot reshape input {} ({} values per row) to {}",
                    show(&x.shape),
                    x.size(),
                    show(&shape)
                ),
            ));
        }
        Ok(Value { id: x.id, shape })
    }

    fn gather(
        &mut self,
        name: &str,
        kind: &'static str,
        inputs: &[&Value],
        index: Vec<u32>,
        shape: Vec<usize>,
    ) -> Built {
        let g = GatherOp {
            kind,
            in_sizes: inputs.iter().map(|v| v.size()).collect(),
            index,
        };
        self.push(
            name,
            Op::Gather(g),
            inputs.iter().map(|v| v.id).collect(),
            shape,
        )
    }

    /// A general gather (format 2 files): output element `j` is element `index[j]` of the
    /// concatenated inputs; the output is flat.
    ///
    /// # Errors
    /// When an index is out of range or the output is empty.
    pub fn gather_index(&mut self, name: &str, inputs: &[&Value], index: &[usize]) -> Built {
        let total: usize = inputs.iter().map(|v| v.size()).sum();
        if total > u32::MAX as usize {
            return Err(fail(
                name,
                "gather",
                format!("{total} input elements per row exceed 2^32"),
            ));
        }
        if inputs.is_empty() || index.is_empty() {
            return Err(fail(
                name,
                "gather",
                "expected at least one input and one index",
            ));
        }
        if let Some(&bad) = index.iter().find(|&&i| i >= total) {
            return Err(fail(
                name,
                "gather",
                format!("index {bad} is out of range for {total} input elements"),
            ));
        }
        let n = index.len();
        let index = index.iter().map(|&i| i as u32).collect();
        self.gather(name, "Gather", inputs, index, vec![n])
    }

    /// `Transpose` of the per-row axes (`perm` over per-row axes; the batch stays first).
    ///
    /// # Errors
    /// When `perm` is not a permutation of the axes.
    pub fn transpose(&mut self, name: &str, x: &Value, perm: &[usize]) -> Built {
        let r = x.shape.len();
        let mut seen = vec![false; r];
        if perm.len() != r
            || perm
                .iter()
                .any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
        {
            return Err(fail(
                name,
                "Transpose",
                format!(
                    "expected a permutation of the {r} axes after the batch, got {perm:?} for input {}",
                    show(&x.shape)
                ),
            ));
        }
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(x.clone());
        }
        let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
        let in_strides = strides(&x.shape);
        let index = (0..x.size())
            .map(|j| {
                let mut rem = j;
                let mut src = 0;
                for a in (0..r).rev() {
                    src += (rem % shape[a]) * in_strides[perm[a]];
                    rem /= shape[a];
                }
                src as u32
            })
            .collect();
        self.gather(name, "Transpose", &[x], index, shape)
    }

    /// `Slice` along per-row axes: per axis `(start, end, step)` already clamped (step > 0).
    ///
    /// # Errors
    /// When a slice is empty or out of range.
    pub fn slice(
        &mut self,
        name: &str,
        x: &Value,
        ranges: &[(usize, usize, usize, usize)],
    ) -> Built {
        let mut shape = x.shape.clone();
        let mut picks: Vec<Vec<usize>> = x.shape.iter().map(|&n| (0..n).collect()).collect();
        for &(axis, start, end, step) in ranges {
            if axis >= x.shape.len() || step == 0 || start >= end || end > x.shape[axis] {
                return Err(fail(
                    name,
                    "Slice",
                    format!(
                        "slice {start}..{end} step {step} on axis {axis} does not fit input {}",
                        show(&x.shape)
                    ),
                ));
            }
            picks[axis] = (start..end).step_by(step).collect();
            shape[axis] = picks[axis].len();
        }
        if shape == x.shape {
            return Ok(x.clone());
        }
        let st = strides(&x.shape);
        let size: usize = shape.iter().product();
        let index = (0..size)
            .map(|j| {
                let mut rem = j;
                let mut src = 0;
                for a in (0..shape.len()).rev() {
                    src += picks[a][rem % shape[a]] * st[a];
                    rem /= shape[a];
                }
                src as u32
            })
            .collect();
        self.gather(name, "Slice", &[x], index, shape)
    }

    /// `Concat` along per-row axis `axis`.
    ///
    /// # Errors
    /// When the other axes differ.
    pub fn concat(&mut self, name: &str, inputs: &[&Value], axis: usize) -> Built {
        let first = inputs
            .first()
            .ok_or_else(|| fail(name, "Concat", "expected at least one input"))?;
        let r = first.shape.len();
        if axis >= r
            || inputs.iter().any(|v| {
                v.shape.len() != r || (0..r).any(|a| a != axis && v.shape[a] != first.shape[a])
            })
        {
            let shapes: Vec<String> = inputs.iter().map(|v| show(&v.shape)).collect();
            return Err(fail(
                name,
                "Concat",
                format!(
                    "expected inputs equal except on axis {axis}, got {}",
                    shapes.join(", ")
                ),
            ));
        }
        if inputs.len() == 1 {
            return Ok((*first).clone());
        }
        let mut shape = first.shape.clone();
        shape[axis] = inputs.iter().map(|v| v.shape[axis]).sum();
        let outer: usize = first.shape[..axis].iter().product();
        let mut index = Vec::with_capacity(shape.iter().product());
        let mut base = Vec::new();
        let mut acc = 0;
        for v in inputs {
            base.push(acc);
            acc += v.size();
        }
        for o in 0..outer {
            for (v, &b) in inputs.iter().zip(&base) {
                let chunk: usize = v.shape[axis..].iter().product();
                index.extend((0..chunk).map(|i| (b + o * chunk + i) as u32));
            }
        }
        self.gather(name, "Concat", inputs, index, shape)
    }
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}
