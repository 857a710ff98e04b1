//! A network compiled to one precision for computation: dense layers, per-neuron affine
//! layers (BatchNorm) and activations. Dropout, Flatten and Identity layers that only
//! relabel neurons are dropped; the output head is dropped (explained at the logits) unless
//! a trailing sigmoid is explained as an activation.

use super::Network;
use super::activation::Activation;
use super::layer::{Head, Layer};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::linalg;

/// A dense layer in precision `F`, with `|W|` precomputed for sign-split propagation rules.
#[derive(Debug, Clone)]
pub struct DenseOp<F> {
    /// Inputs.
    pub n_in: usize,
    /// Outputs.
    pub n_out: usize,
    /// Row-major `n_out × n_in`.
    pub w: Vec<F>,
    /// `|W|` element-wise.
    pub w_abs: Vec<F>,
    /// Bias, if any.
    pub bias: Option<Vec<F>>,
    /// `max(b, 0)`, if the layer has a bias.
    pub bias_pos: Option<Vec<F>>,
    /// `max(−b, 0)`, if the layer has a bias.
    pub bias_neg: Option<Vec<F>>,
}

/// A per-neuron affine map `a ↦ scale·a + shift` (BatchNorm in eval mode).
#[derive(Debug, Clone)]
pub struct AffineOp<F> {
    /// γ' per neuron.
    pub scale: Vec<F>,
    /// β' per neuron.
    pub shift: Vec<F>,
}

/// One compiled operation.
#[derive(Debug, Clone)]
pub enum Op<F> {
    /// Fully connected layer.
    Dense(DenseOp<F>),
    /// Per-neuron affine layer (a linear layer with a diagonal weight).
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
}

/// A network compiled to precision `F`.
#[derive(Debug, Clone)]
pub struct Plan<F> {
    input_dim: usize,
    output_dim: usize,
    ops: Vec<Op<F>>,
    n_act: usize,
    max_width: usize,
}

fn conv<F: Float>(v: &[f64]) -> Vec<F> {
    v.iter().map(|&x| F::of(x)).collect()
}

impl<F: Float> Plan<F> {
    /// Compiles `net`. With `explain_probabilities`, a trailing sigmoid head becomes an
    /// activation layer; a softmax head is then an error (it is not element-wise).
    ///
    /// # Errors
    /// [`Error::Param`] for a softmax head with `explain_probabilities`.
    pub fn new(net: &Network, explain_probabilities: bool) -> Result<Self> {
        let mut ops = Vec::new();
        let mut width = net.input_dim();
        let mut max_width = width;
        let mut slot = 0;
        let mut push_act = |ops: &mut Vec<Op<F>>, act: Activation, width: usize| {
            ops.push(Op::Act { act, slot, width });
            slot += 1;
        };
        for layer in net.layers() {
            match layer {
                Layer::Dense(d) => {
                    let w: Vec<F> = conv(d.weight());
                    let w_abs = w.iter().map(|v| v.abs()).collect();
                    let bias: Option<Vec<F>> = d.bias().map(conv);
                    let split = |sign: F| {
                        bias.as_ref()
                            .map(|b| b.iter().map(|&v| (sign * v).max(F::zero())).collect())
                    };
                    ops.push(Op::Dense(DenseOp {
                        n_in: d.in_dim(),
                        n_out: d.out_dim(),
                        w,
                        w_abs,
                        bias_pos: split(F::one()),
                        bias_neg: split(-F::one()),
                        bias,
                    }));
                    width = d.out_dim();
                    max_width = max_width.max(width);
                }
                Layer::BatchNorm(b) => {
                    let (scale, shift) = b.scale_shift();
                    ops.push(Op::Affine(AffineOp {
                        scale: conv(&scale),
                        shift: conv(&shift),
                    }));
                }
                Layer::Act(a) => push_act(&mut ops, *a, width),
                Layer::Flatten | Layer::Dropout { .. } => {}
            }
        }
        if explain_probabilities {
            match net.head() {
                Some(Head::Sigmoid) => push_act(&mut ops, Activation::Sigmoid, width),
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
        Ok(Plan {
            input_dim: net.input_dim(),
            output_dim: width,
            n_act: slot,
            ops,
            max_width,
        })
    }

    /// Number of inputs.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }
    /// Number of outputs of the explained part.
    pub fn output_dim(&self) -> usize {
        self.output_dim
    }
    /// The operations in order.
    pub fn ops(&self) -> &[Op<F>] {
        &self.ops
    }
    /// Number of activation layers.
    pub fn activation_layers(&self) -> usize {
        self.n_act
    }
    /// The widest layer (for buffer sizing).
    pub fn max_width(&self) -> usize {
        self.max_width
    }

    /// Forward pass on `rows` row-major inputs (already preprocessed), biases included.
    pub fn forward(&self, x: &[F], rows: usize) -> Vec<F> {
        self.run(x, rows, true)
    }

    /// Forward pass split into blocks of `chunk` rows evaluated in parallel (rayon).
    pub fn forward_par(&self, x: &[F], rows: usize, chunk: usize) -> Vec<F> {
        use rayon::prelude::*;
        let d = self.input_dim;
        if rows <= chunk {
            return self.forward(x, rows);
        }
        x.par_chunks(chunk * d)
            .flat_map_iter(|c| self.forward(c, c.len() / d))
            .collect()
    }

    /// Forward pass of the bias-ablated network `F₀` (every bias and BatchNorm shift zero).
    pub fn forward_no_bias(&self, x: &[F], rows: usize) -> Vec<F> {
        self.run(x, rows, false)
    }

    /// Forward pass keeping every op's input: `values[k]` enters op `k`, `values[ops]` is the
    /// output (`[rows, width]` each). For backward passes of gradient-based methods.
    pub fn trace(&self, x: &[F], rows: usize) -> Vec<Vec<F>> {
        let mut values = Vec::with_capacity(self.ops.len() + 1);
        values.push(x.to_vec());
        for op in &self.ops {
            let cur = values.last().expect("non-empty");
            let next = match op {
                Op::Dense(d) => {
                    let mut next = vec![F::zero(); rows * d.n_out];
                    linalg::mul_wt(cur, rows, d.n_in, &d.w, d.n_out, &mut next);
                    if let Some(b) = &d.bias {
                        for row in next.chunks_exact_mut(d.n_out) {
                            for (v, &bj) in row.iter_mut().zip(b) {
                                *v += bj;
                            }
                        }
                    }
                    next
                }
                Op::Affine(a) => {
                    let n = a.scale.len();
                    let mut next = cur.clone();
                    for row in next.chunks_exact_mut(n) {
                        for ((v, &s), &t) in row.iter_mut().zip(&a.scale).zip(&a.shift) {
                            *v = *v * s + t;
                        }
                    }
                    next
                }
                Op::Act { act, .. } => cur.iter().map(|&v| act.apply(v)).collect(),
            };
            values.push(next);
        }
        values
    }

    fn run(&self, x: &[F], rows: usize, with_bias: bool) -> Vec<F> {
        debug_assert_eq!(x.len(), rows * self.input_dim);
        let mut cur = x.to_vec();
        let mut next = Vec::new();
        for op in &self.ops {
            match op {
                Op::Dense(d) => {
                    next.resize(rows * d.n_out, F::zero());
                    linalg::mul_wt(&cur, rows, d.n_in, &d.w, d.n_out, &mut next);
                    if let (true, Some(b)) = (with_bias, &d.bias) {
                        for row in next.chunks_exact_mut(d.n_out) {
                            for (v, &bj) in row.iter_mut().zip(b) {
                                *v += bj;
                            }
                        }
                    }
                    std::mem::swap(&mut cur, &mut next);
                }
                Op::Affine(a) => {
                    let n = a.scale.len();
                    for row in cur.chunks_exact_mut(n) {
                        for ((v, &s), &t) in row.iter_mut().zip(&a.scale).zip(&a.shift) {
                            *v = *v * s + if with_bias { t } else { F::zero() };
                        }
                    }
                }
                Op::Act { act, .. } => {
                    for v in &mut cur {
                        *v = act.apply(*v);
                    }
                }
            }
        }
        cur
    }
}
