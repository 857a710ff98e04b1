//! A network compiled to one precision for computation: a DAG of typed ops over per-row
//! tensors in topological order. Tensor 0 is the input; node `k` writes tensor `k + 1`. A
//! layer-list network compiles to a chain (node `k` reads tensor `k`); Dropout, Flatten and
//! Identity layers that only relabel neurons are dropped; the output head is dropped
//! (explained at the logits) unless a trailing sigmoid is explained as an activation.

use super::Network;
use super::activation::Activation;
use super::backward::{At, BackwardRule, Exact};
use super::graph::Graph;
use super::layer::{Head, Layer};
pub use super::ops::affine::AffineOp;
pub use super::ops::conv::ConvOp;
pub use super::ops::dense::DenseOp;
pub use super::ops::gather::GatherOp;
pub use super::ops::layer_norm::LayerNormOp;
pub use super::ops::max_pool::MaxPoolOp;
pub use super::ops::pool::PoolOp;
use super::ops::{LinearMap, cast};
use crate::error::{Error, Result};
use crate::float::Float;

/// One compiled operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Op<F> {
    /// Fully connected layer (`Gemm`, `MatMul` with a constant).
    Dense(DenseOp<F>),
    /// Per-element affine map (BatchNorm, arithmetic with a constant).
    Affine(AffineOp<F>),
    /// Element-wise activation; `slot` is its index among the activation layers (what
    /// per-layer parameters such as CAFE's `c` are indexed by).
    Act {
        /// The function.
        act: Activation,
        /// Index among activation layers.
        slot: usize,
        /// Number of neurons.
        width: usize,
    },
    /// Convolution.
    Conv(ConvOp<F>),
    /// Average pooling / spatial mean (a non-negative sparse linear map).
    Pool(PoolOp<F>),
    /// Max pooling.
    MaxPool(MaxPoolOp),
    /// Layer normalisation (a gate for propagation methods).
    LayerNorm(LayerNormOp<F>),
    /// Sum (or difference, `sub`) of two tensors of the same shape: a residual join.
    Add {
        /// `a − b` instead of `a + b`.
        sub: bool,
    },
    /// Structural element moves (transpose, slice, concat).
    Gather(GatherOp),
}

impl<F: Float> Op<F> {
    /// The op's name as `inspect` shows it (ONNX names).
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Dense(_) => "Gemm",
            Op::Affine(_) => "Affine",
            Op::Act { act, .. } => act.type_name(),
            Op::Conv(_) => "Conv",
            Op::Pool(p) => p.kind,
            Op::MaxPool(_) => "MaxPool",
            Op::LayerNorm(_) => "LayerNormalization",
            Op::Add { sub: false } => "Add",
            Op::Add { sub: true } => "Sub",
            Op::Gather(g) => g.kind,
        }
    }

    /// The op as a linear map, for the linear-type ops with a (possibly dense) weight.
    pub fn linear(&self) -> Option<&dyn LinearMap<F>> {
        match self {
            Op::Dense(d) => Some(d),
            Op::Conv(c) => Some(c),
            Op::Pool(p) => Some(p),
            _ => None,
        }
    }

    /// Trainable parameters.
    pub fn param_count(&self) -> usize {
        match self {
            Op::Dense(d) => d.w.len() + d.bias.as_ref().map_or(0, Vec::len),
            Op::Conv(c) => c.w.len() + c.channel_bias.as_ref().map_or(0, Vec::len),
            Op::LayerNorm(l) => 2 * l.n,
            _ => 0,
        }
    }

    /// Converts the op to precision `G`.
    pub fn cast<G: Float>(&self) -> Op<G> {
        let back = super::ops::cast_back::<F>;
        match self {
            Op::Dense(d) => Op::Dense(DenseOp::new(
                d.n_out,
                d.n_in,
                &back(&d.w),
                d.bias.as_deref().map(back).as_deref(),
                d.outer,
            )),
            Op::Affine(a) => Op::Affine(AffineOp {
                scale: cast(&back(&a.scale)),
                shift: cast(&back(&a.shift)),
            }),
            Op::Act { act, slot, width } => Op::Act {
                act: *act,
                slot: *slot,
                width: *width,
            },
            Op::Conv(c) => Op::Conv(ConvOp::new(
                c.c_in,
                c.c_out,
                c.groups,
                c.window.clone(),
                &back(&c.w),
                c.channel_bias.as_deref().map(back).as_deref(),
            )),
            Op::Pool(p) => Op::Pool(p.cast()),
            Op::MaxPool(m) => Op::MaxPool(m.clone()),
            Op::LayerNorm(l) => Op::LayerNorm(l.cast()),
            Op::Add { sub } => Op::Add { sub: *sub },
            Op::Gather(g) => Op::Gather(g.clone()),
        }
    }
}

/// One node of the graph: an op, the tensors it reads and the shape it writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<F> {
    /// The op.
    pub op: Op<F>,
    /// Tensor ids read (0 = the network input, `k + 1` = node `k`'s output).
    pub inputs: Vec<usize>,
    /// The node's name (ONNX node name, or `layer K`).
    pub name: String,
    /// Per-row output shape (without the batch dimension).
    pub shape: Vec<usize>,
}

impl<F> Node<F> {
    /// Elements per row of the output.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A network compiled to precision `F`.
#[derive(Debug, Clone)]
pub struct Plan<F> {
    input_shape: Vec<usize>,
    nodes: Vec<Node<F>>,
    /// Elements per row of each tensor.
    sizes: Vec<usize>,
    /// Consumers of each tensor (the output counts as one).
    uses: Vec<usize>,
    output: usize,
    n_act: usize,
    max_width: usize,
    chain: bool,
    gates: bool,
}

/// A LayerNorm frozen at an input: per element the weight `w` and the offset `b`
/// (`[rows, size]` each), so that `LN(a) = w ⊙ a + b` at that input.
pub type Gate<F> = (Vec<F>, Vec<F>);

/// How [`Plan::eval`] treats biases and gates.
#[derive(Clone, Copy)]
struct Eval<'a, F> {
    with_bias: bool,
    /// Frozen LayerNorm gates `(w, b)` per node (`[rows, size]` each), for the references
    /// of propagation methods.
    gates: Option<&'a [Option<Gate<F>>]>,
    keep: bool,
}

impl<F: Float> Plan<F> {
    /// Compiles `net`. With `explain_probabilities`, a trailing sigmoid head becomes an
    /// activation layer; a softmax head is then an error (it is not element-wise).
    ///
    /// # Errors
    /// [`Error::Param`] for a softmax head with `explain_probabilities`.
    pub fn new(net: &Network, explain_probabilities: bool) -> Result<Self> {
        let (input_shape, mut nodes) = match net.graph() {
            Some(g) => (
                g.input_shape().to_vec(),
                g.nodes()
                    .iter()
                    .map(|n| Node {
                        op: n.op.cast(),
                        inputs: n.inputs.clone(),
                        name: n.name.clone(),
                        shape: n.shape.clone(),
                    })
                    .collect(),
            ),
            None => (vec![net.input_dim()], chain_nodes(net)),
        };
        let mut slot = nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Act { .. }))
            .count();
        let mut output = net.graph().map_or(nodes.len(), Graph::output);
        if explain_probabilities {
            match net.head() {
                Some(Head::Sigmoid) => {
                    let shape = match output {
                        0 => input_shape.clone(),
                        t => nodes[t - 1].shape.clone(),
                    };
                    let width = shape.iter().product();
                    nodes.push(Node {
                        op: Op::Act {
                            act: Activation::Sigmoid,
                            slot,
                            width,
                        },
                        inputs: vec![output],
                        name: "head".into(),
                        shape,
                    });
                    slot += 1;
                    output = nodes.len();
                }
                Some(h @ (Head::Softmax | Head::LogSoftmax)) => {
                    return Err(Error::param(
                        "explain",
                        "explain-probabilities",
                        h.type_name(),
                        "a softmax head is not element-wise and cannot be explained; explain the logits (the default)",
                    ));
                }
                None => {}
            }
        }
        Ok(Self::assemble(input_shape, nodes, output, slot))
    }

    fn assemble(input_shape: Vec<usize>, nodes: Vec<Node<F>>, output: usize, n_act: usize) -> Self {
        let mut sizes = vec![input_shape.iter().product::<usize>()];
        sizes.extend(nodes.iter().map(Node::size));
        let mut uses = vec![0; sizes.len()];
        for n in &nodes {
            for &i in &n.inputs {
                uses[i] += 1;
            }
        }
        uses[output] += 1;
        let chain = is_chain(&nodes, output);
        let gates = nodes.iter().any(|n| matches!(n.op, Op::LayerNorm(_)));
        Plan {
            max_width: sizes.iter().copied().max().unwrap_or(1),
            input_shape,
            sizes,
            uses,
            output,
            n_act,
            chain,
            gates,
            nodes,
        }
    }

    /// Number of inputs (elements per row).
    pub fn input_dim(&self) -> usize {
        self.sizes[0]
    }
    /// The per-row input shape (`[F]` for tabular networks, `[C, H, W]` for images).
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
    /// Number of outputs of the explained part.
    pub fn output_dim(&self) -> usize {
        self.sizes[self.output]
    }
    /// The nodes in topological order.
    pub fn nodes(&self) -> &[Node<F>] {
        &self.nodes
    }
    /// Elements per row of tensor `t`.
    pub fn size(&self, t: usize) -> usize {
        self.sizes[t]
    }
    /// Consumers of tensor `t` (the output counts as one).
    pub fn uses(&self, t: usize) -> usize {
        self.uses[t]
    }
    /// The tensor holding the explained output.
    pub fn output(&self) -> usize {
        self.output
    }
    /// Number of activation layers.
    pub fn activation_layers(&self) -> usize {
        self.n_act
    }
    /// The widest tensor (for buffer sizing).
    pub fn max_width(&self) -> usize {
        self.max_width
    }
    /// Elements per row of a whole [`Plan::trace`] (every tensor).
    pub fn trace_len(&self) -> usize {
        self.sizes.iter().sum()
    }
    /// Whether the graph contains a LayerNorm gate.
    pub fn has_gates(&self) -> bool {
        self.gates
    }

    /// Forward pass on `rows` row-major inputs (already preprocessed), biases included.
    pub fn forward(&self, x: &[F], rows: usize) -> Vec<F> {
        self.eval(
            x,
            rows,
            Eval {
                with_bias: true,
                gates: None,
                keep: false,
            },
        )
        .swap_remove(0)
    }

    /// Forward pass split into blocks of `chunk` rows evaluated in parallel (rayon).
    pub fn forward_par(&self, x: &[F], rows: usize, chunk: usize) -> Vec<F> {
        use rayon::prelude::*;
        let d = self.input_dim();
        if rows <= chunk {
            return self.forward(x, rows);
        }
        x.par_chunks(chunk * d)
            .flat_map_iter(|c| self.forward(c, c.len() / d))
            .collect()
    }

    /// Forward pass of the bias-ablated network `F₀` (every bias and BatchNorm shift zero).
    /// LayerNorm is evaluated as it is (its β dropped); see [`Plan::trace_frozen`] for the
    /// frozen-gate form propagation methods use.
    pub fn forward_no_bias(&self, x: &[F], rows: usize) -> Vec<F> {
        self.eval(
            x,
            rows,
            Eval {
                with_bias: false,
                gates: None,
                keep: false,
            },
        )
        .swap_remove(0)
    }

    /// Forward pass keeping every tensor: `values[t]` is tensor `t` (`[rows, size(t)]`);
    /// for a chain `values[k]` enters op `k` and the last is the output.
    pub fn trace(&self, x: &[F], rows: usize) -> Vec<Vec<F>> {
        self.eval(
            x,
            rows,
            Eval {
                with_bias: true,
                gates: None,
                keep: true,
            },
        )
    }

    /// Per LayerNorm node the frozen `(w, b)` at the actual inputs in `values`.
    pub fn gates_at(&self, values: &[Vec<F>]) -> Vec<Option<Gate<F>>> {
        self.nodes
            .iter()
            .map(|n| match &n.op {
                Op::LayerNorm(l) => {
                    let t = &values[n.inputs[0]];
                    let (mut w, mut b) = (vec![F::zero(); t.len()], vec![F::zero(); t.len()]);
                    l.gate(t, &mut w, &mut b);
                    Some((w, b))
                }
                _ => None,
            })
            .collect()
    }

    /// The network with every LayerNorm frozen to its gate `(w, b)` in `gates` (per row,
    /// from [`Plan::gates_at`]), keeping every tensor: the reference activations of the
    /// propagation methods. `with_bias` keeps every bias and the gates' `b` (DeepLIFT's
    /// reference, the full network); without, the network is bias-ablated (CAFE's `F₀`).
    pub fn trace_frozen(
        &self,
        x: &[F],
        rows: usize,
        gates: &[Option<Gate<F>>],
        with_bias: bool,
    ) -> Vec<Vec<F>> {
        self.eval(
            x,
            rows,
            Eval {
                with_bias,
                gates: Some(gates),
                keep: true,
            },
        )
    }

    fn eval(&self, x: &[F], rows: usize, how: Eval<F>) -> Vec<Vec<F>> {
        debug_assert_eq!(x.len(), rows * self.input_dim());
        if self.chain && !how.keep {
            return vec![self.run_chain(x, rows, how.with_bias)];
        }
        let mut values: Vec<Vec<F>> = Vec::with_capacity(self.sizes.len());
        values.push(x.to_vec());
        let mut left = self.uses.clone();
        for (k, node) in self.nodes.iter().enumerate() {
            let size = self.sizes[k + 1];
            let first = node.inputs[0];
            // In place where the input has no other consumer.
            let in_place =
                !how.keep && left[first] == 1 && matches!(node.op, Op::Affine(_) | Op::Act { .. });
            let mut out = if in_place {
                std::mem::take(&mut values[first])
            } else {
                Vec::new()
            };
            match &node.op {
                Op::Affine(a) => {
                    if !in_place {
                        out = values[first].clone();
                    }
                    a.apply(&mut out, how.with_bias);
                }
                Op::Act { act, .. } => {
                    if !in_place {
                        out = values[first].clone();
                    }
                    act.apply_slice(&mut out);
                }
                op => {
                    out.resize(rows * size, F::zero());
                    let input = &values[first];
                    match op {
                        Op::MaxPool(m) => m.apply(input, rows, &mut out),
                        Op::LayerNorm(l) => match how.gates.and_then(|g| g[k].as_ref()) {
                            Some((w, b)) => {
                                for (((o, &v), &wv), &bv) in out.iter_mut().zip(input).zip(w).zip(b)
                                {
                                    *o = if how.with_bias { v * wv + bv } else { v * wv };
                                }
                            }
                            None => l.apply(input, &mut out, how.with_bias),
                        },
                        Op::Add { sub } => {
                            let other = &values[node.inputs[1]];
                            for ((o, &a), &b) in out.iter_mut().zip(input).zip(other) {
                                *o = if *sub { a - b } else { a + b };
                            }
                        }
                        Op::Gather(g) => {
                            let ins: Vec<&[F]> =
                                node.inputs.iter().map(|&i| values[i].as_slice()).collect();
                            g.apply(&ins, rows, &mut out);
                        }
                        _ => {
                            let lin = op.linear().expect("remaining ops are linear");
                            lin.apply(input, rows, false, &mut out);
                            if how.with_bias
                                && let Some(b) = lin.bias()
                            {
                                b.add_to(&mut out);
                            }
                        }
                    }
                }
            }
            values.push(out);
            if !how.keep {
                for &i in &node.inputs {
                    left[i] -= 1;
                    if left[i] == 0 {
                        values[i] = Vec::new();
                    }
                }
            }
        }
        if how.keep {
            values
        } else {
            vec![std::mem::take(&mut values[self.output])]
        }
    }

    /// A chain's forward pass with two buffers swapped between layers (no per-tensor
    /// bookkeeping: the single-row case of tabular networks is dominated by it).
    fn run_chain(&self, x: &[F], rows: usize, with_bias: bool) -> Vec<F> {
        let mut cur = x.to_vec();
        let mut next = Vec::new();
        for node in &self.nodes {
            match &node.op {
                Op::Dense(d) => {
                    next.resize(rows * d.n_out, F::zero());
                    d.apply(&cur, rows, false, &mut next);
                    if let (true, Some(b)) = (with_bias, &d.full_bias) {
                        b.add_to(&mut next[..rows * d.n_out]);
                    }
                    std::mem::swap(&mut cur, &mut next);
                }
                Op::Affine(a) => a.apply(&mut cur, with_bias),
                Op::Act { act, .. } => act.apply_slice(&mut cur),
                _ => unreachable!("a chain holds dense, affine and activation ops"),
            }
        }
        cur
    }

    /// Reverse-mode gradient: adjoints `g` at the output (`[rows, outputs]`) back to the
    /// input, through the forward values `values` ([`Plan::trace`]). Max pooling routes to
    /// the first arg-max; LayerNorm uses its full Jacobian.
    pub fn backward(&self, values: &[Vec<F>], rows: usize, g: Vec<F>) -> Vec<F> {
        self.backward_with(values, rows, g, &Exact)
    }

    /// The one single-score backward sweep: adjoints `g` at the output (`[rows, outputs]`)
    /// back to the input in reverse topological order, fan-out summed, through the forward
    /// values `values` ([`Plan::trace`] at the explained inputs). `rule` decides at every
    /// op where a method differs from the exact gradient.
    pub fn backward_with<R: BackwardRule<F> + ?Sized>(
        &self,
        values: &[Vec<F>],
        rows: usize,
        g: Vec<F>,
        rule: &R,
    ) -> Vec<F> {
        let mut adj: Vec<Option<Vec<F>>> = vec![None; self.sizes.len()];
        adj[self.output] = Some(g);
        let add = |adj: &mut Vec<Option<Vec<F>>>, t: usize, v: Vec<F>| match &mut adj[t] {
            Some(a) => {
                for (x, y) in a.iter_mut().zip(&v) {
                    *x += *y;
                }
            }
            slot @ None => *slot = Some(v),
        };
        for (k, node) in self.nodes.iter().enumerate().rev() {
            let Some(mut g) = adj[k + 1].take() else {
                continue;
            };
            let first = node.inputs[0];
            let n_in = self.sizes[first];
            let at = At {
                node: k,
                input_tensor: first,
                input: &values[first],
                output: &values[k + 1],
                rows,
            };
            match &node.op {
                Op::Affine(a) => {
                    rule.linear_output(&at, &mut g);
                    a.apply_t(&mut g);
                    rule.linear_input(&at, &mut g);
                }
                Op::Act { act, .. } => rule.activation(&at, *act, &mut g),
                Op::MaxPool(m) => {
                    let mut out = vec![F::zero(); rows * n_in];
                    rule.max_pool(&at, m, &g, &mut out);
                    g = out;
                }
                Op::LayerNorm(l) => {
                    let mut out = vec![F::zero(); rows * n_in];
                    rule.layer_norm(&at, l, &g, &mut out);
                    g = out;
                }
                Op::Add { sub } => {
                    let mut other = vec![F::zero(); g.len()];
                    rule.join(&at, &values[node.inputs[1]], *sub, &mut g, &mut other);
                    add(&mut adj, node.inputs[1], other);
                }
                Op::Gather(gather) => {
                    let mut outs = vec![Vec::new(); node.inputs.len()];
                    gather.apply_t(&g, rows, &mut outs);
                    for (&i, o) in node.inputs.iter().zip(outs) {
                        add(&mut adj, i, o);
                    }
                    continue;
                }
                op => {
                    let lin = op.linear().expect("remaining ops are linear");
                    rule.linear_output(&at, &mut g);
                    let mut out = vec![F::zero(); rows * n_in];
                    lin.apply_t(&g, rows, false, &mut out);
                    g = out;
                    rule.linear_input(&at, &mut g);
                }
            }
            add(&mut adj, first, g);
        }
        adj[0]
            .take()
            .unwrap_or_else(|| vec![F::zero(); rows * self.input_dim()])
    }
}

/// Whether `nodes` (with the output tensor `output`) form a plain chain of dense, affine and
/// activation layers: what layer-list networks compile to and single-score methods walk.
pub(crate) fn is_chain<F>(nodes: &[Node<F>], output: usize) -> bool {
    output == nodes.len()
        && nodes.iter().enumerate().all(|(k, n)| {
            n.inputs == [k]
                && match &n.op {
                    Op::Dense(d) => d.outer == 1,
                    Op::Affine(_) | Op::Act { .. } => true,
                    _ => false,
                }
        })
}

/// The nodes of a layer-list network: a chain.
fn chain_nodes<F: Float>(net: &Network) -> Vec<Node<F>> {
    let mut nodes = Vec::new();
    let mut width = net.input_dim();
    let mut slot = 0;
    for (i, layer) in net.layers().iter().enumerate() {
        let op = match layer {
            Layer::Dense(d) => {
                width = d.out_dim();
                Op::Dense(DenseOp::new(
                    d.out_dim(),
                    d.in_dim(),
                    d.weight(),
                    d.bias(),
                    1,
                ))
            }
            Layer::BatchNorm(b) => {
                let (scale, shift) = b.scale_shift();
                Op::Affine(AffineOp {
                    scale: cast(&scale),
                    shift: cast(&shift),
                })
            }
            Layer::Act(a) => {
                slot += 1;
                Op::Act {
                    act: *a,
                    slot: slot - 1,
                    width,
                }
            }
            Layer::Flatten | Layer::Dropout { .. } => continue,
        };
        nodes.push(Node {
            op,
            inputs: vec![nodes.len()],
            name: format!("layer {i}"),
            shape: vec![width],
        });
    }
    nodes
}
