//! Layer-wise Relevance Propagation with the ε-rule (Captum's defaults), on any graph
//! (graph.md §Other methods): on every linear-type op (dense, convolution, average pooling,
//! BatchNorm as a diagonal linear op) `R_i = a_i Σ_j w_ji R_j / (z_j + ε·sign(z_j))` (bias
//! included in `z`, sign(0) = +1, ε = 1e-9); max pooling winner-take-all (the first arg-max);
//! LayerNorm as its linear map frozen at the input, with the same ε-rule; a residual
//! `a ± b` splits its relevance in proportion to each branch's contribution,
//! `R_a = R·a/(z + ε·sign z)`, `R_b = R·(±b)/(z + ε·sign z)` (Captum hands the full relevance
//! to both branches); relevance passes through activations unchanged; the output's
//! relevance is its value `F(x)[target]`.
//!
//! # Axioms
//! None exactly: relevance is conserved only up to what the biases and the stabiliser ε
//! absorb ([`Lrp::relevance`] accounts for both).
//! # Cost
//! One forward and one backward pass.

use std::cell::RefCell;

use conflux_core::net::backward::{At, BackwardRule};
use conflux_core::net::plan::LayerNormOp;
use conflux_core::{Activation, Attribution, Float, Op, Plan, Result, Target};
use ndarray::ArrayView2;

use crate::batch::Batch;
use crate::method::{Attributor, Axiom, MethodId};
use crate::propagate::scalar::{Traces, backward};

/// LRP-ε.
#[derive(Debug, Clone, Copy)]
pub struct Lrp {
    /// The stabiliser ε (default 1e-9, Captum's `EpsilonRule`).
    pub epsilon: f64,
}

impl Default for Lrp {
    fn default() -> Self {
        Lrp { epsilon: 1e-9 }
    }
}

/// Where an entry's relevance went besides its inputs (for checking conservation): with
/// the scores, `Σ scores + biases + stabiliser = F(x)[target]` up to rounding.
#[derive(Debug, Clone, PartialEq)]
pub struct Relevance<F> {
    /// The scores (input relevance) and outputs, as [`Attributor::attribute`] returns them.
    pub attribution: Attribution<F>,
    /// Per entry, the relevance absorbed by biases (dense and convolution biases, BatchNorm
    /// shifts, the frozen LayerNorm offsets).
    pub biases: Vec<F>,
    /// Per entry, the relevance absorbed by the stabiliser: `ε·sign(z)/(z + ε·sign z)` of
    /// each neuron's relevance (large only where `z` is within a few ε of 0).
    pub stabiliser: Vec<F>,
    /// Per entry, the largest total `Σ|R|` reaching any layer's inputs: the scale rounding
    /// errors are measured against.
    pub peak: Vec<F>,
    /// Per entry and residual join (in reverse node order, as the backward sweep meets
    /// them).
    pub joins: Vec<Vec<Join<F>>>,
}

/// What one residual join `z = a ± b` did with one entry's relevance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Join<F> {
    /// `Σ R` reaching the join's output.
    pub relevance: F,
    /// `Σ R_a + Σ R_b` passed to the two operands.
    pub passed: F,
    /// The part the stabiliser absorbed.
    pub stabiliser: F,
    /// `Σ |R_a| + Σ |R_b|` (large when the operands nearly cancel).
    pub magnitude: F,
}

/// Per-row accounts of the ε-rule (in units of the output's value, like the adjoints).
#[derive(Debug, Clone, Default)]
struct Ledger<F> {
    biases: F,
    stabiliser: F,
    peak: F,
    joins: Vec<Join<F>>,
}

/// The ε-rule for one block of entries, keeping a [`Ledger`] per row.
struct Epsilon<'a, F> {
    eps: F,
    plan: &'a Plan<F>,
    ledgers: RefCell<Vec<Ledger<F>>>,
}

impl<F: Float> Epsilon<'_, F> {
    /// `g ← g / (z + ε·sign z)`, with sign(0) = +1; a zero denominator (only with ε = 0)
    /// passes nothing on. Returns, per row, what the stabiliser absorbed.
    fn normalise(&self, z: &[F], g: &mut [F], rows: usize) -> Vec<F> {
        let n = g.len() / rows.max(1);
        let mut absorbed = vec![F::zero(); rows];
        for (i, (v, &zj)) in g.iter_mut().zip(z).enumerate() {
            let sign = if zj < F::zero() { -F::one() } else { F::one() };
            let den = zj + self.eps * sign;
            *v = if den == F::zero() {
                F::zero()
            } else {
                *v / den
            };
            absorbed[i / n.max(1)] += *v * self.eps * sign;
        }
        let mut ledgers = self.ledgers.borrow_mut();
        for (l, &a) in ledgers.iter_mut().zip(&absorbed) {
            l.stabiliser += a;
        }
        absorbed
    }

    /// Adds `Σ_j bias_j·g_j` of every row to the biases' account.
    fn absorb(&self, bias: &[F], g: &[F], rows: usize) {
        let n = g.len() / rows.max(1);
        for (r, l) in self.ledgers.borrow_mut().iter_mut().enumerate().take(rows) {
            let bias_row = if bias.len() == n {
                bias
            } else {
                &bias[r * n..(r + 1) * n]
            };
            l.biases += conflux_core::linalg::dot(bias_row, &g[r * n..(r + 1) * n]);
        }
    }

    /// Raises each row's peak to `Σ|g|` of its part of `g`.
    fn peak(&self, g: &[F], rows: usize) {
        let n = g.len() / rows.max(1);
        for (r, l) in self.ledgers.borrow_mut().iter_mut().enumerate().take(rows) {
            let total = g[r * n..(r + 1) * n].iter().map(|v| v.abs()).sum::<F>();
            l.peak = l.peak.max(total);
        }
    }
}

impl<F: Float> BackwardRule<F> for Epsilon<'_, F> {
    fn activation(&self, _at: &At<F>, _act: Activation, _g: &mut [F]) {}

    fn layer_norm(&self, at: &At<F>, op: &LayerNormOp<F>, g: &[F], out: &mut [F]) {
        let len = at.input.len();
        let (mut w, mut b) = (vec![F::zero(); len], vec![F::zero(); len]);
        op.gate(at.input, &mut w, &mut b);
        out[..len].copy_from_slice(&g[..len]);
        self.normalise(at.output, out, at.rows);
        self.absorb(&b, out, at.rows);
        for ((o, &wv), &a) in out.iter_mut().zip(&w).zip(at.input) {
            *o = *o * wv * a;
        }
        self.peak(out, at.rows);
    }

    fn linear_output(&self, at: &At<F>, g: &mut [F]) {
        self.normalise(at.output, g, at.rows);
        match &self.plan.nodes()[at.node].op {
            Op::Affine(a) => self.absorb(&a.shift, g, at.rows),
            op => {
                if let Some(b) = op.linear().and_then(|l| l.bias()) {
                    self.absorb(&b.value, g, at.rows);
                }
            }
        }
    }

    fn linear_input(&self, at: &At<F>, g: &mut [F]) {
        for (v, &a) in g.iter_mut().zip(at.input) {
            *v *= a;
        }
        self.peak(g, at.rows);
    }

    fn join(&self, at: &At<F>, b: &[F], sub: bool, g: &mut [F], gb: &mut [F]) {
        let n = g.len() / at.rows.max(1);
        let before: Vec<F> = g
            .chunks_exact(n.max(1))
            .map(|r| r.iter().copied().sum())
            .collect();
        let stabiliser = self.normalise(at.output, g, at.rows);
        for (((ga, o), &a), &bv) in g.iter_mut().zip(gb.iter_mut()).zip(at.input).zip(b) {
            let ratio = *ga;
            *ga = ratio * a;
            *o = ratio * if sub { -bv } else { bv };
        }
        let mut ledgers = self.ledgers.borrow_mut();
        for (r, l) in ledgers.iter_mut().enumerate().take(at.rows) {
            let (ra, rb) = (&g[r * n..(r + 1) * n], &gb[r * n..(r + 1) * n]);
            let sum = |v: &[F]| v.iter().copied().sum::<F>();
            let abs = |v: &[F]| v.iter().map(|x| x.abs()).sum::<F>();
            l.joins.push(Join {
                relevance: before[r],
                passed: sum(ra) + sum(rb),
                stabiliser: stabiliser[r],
                magnitude: abs(ra) + abs(rb),
            });
        }
    }
}

impl Lrp {
    /// The scores with where the rest of each entry's relevance went: absorbed by biases, and
    /// passed on at every residual join (for checking conservation).
    ///
    /// # Errors
    /// As [`Attributor::attribute`].
    pub fn relevance<F: Float>(
        &self,
        plan: &Plan<F>,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Relevance<F>> {
        let b = Batch::new("lrp", plan, x, reference, target)?;
        let eps = F::of(self.epsilon);
        let make = |traces: Traces<F>| Epsilon {
            eps,
            plan,
            ledgers: RefCell::new(vec![Ledger::default(); traces.rows]),
        };
        let (g, _, blocks) = backward(plan, &b, false, make, |rule| rule.ledgers.into_inner());
        let ledgers: Vec<Ledger<F>> = blocks.into_iter().flatten().collect();
        // The adjoints are relevance per unit of output: scale by F(x)[target].
        let d = b.d;
        let mut scores = g;
        let (mut biases, mut stabiliser, mut peak, mut joins) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((e, &o), l) in b.output.iter().enumerate().zip(ledgers) {
            scores[e * d..(e + 1) * d].iter_mut().for_each(|v| *v *= o);
            biases.push(l.biases * o);
            stabiliser.push(l.stabiliser * o);
            peak.push(l.peak * o.abs());
            joins.push(
                l.joins
                    .iter()
                    .map(|j| Join {
                        relevance: j.relevance * o,
                        passed: j.passed * o,
                        stabiliser: j.stabiliser * o,
                        magnitude: j.magnitude * o.abs(),
                    })
                    .collect(),
            );
        }
        Ok(Relevance {
            attribution: b.finish(scores, None),
            biases,
            stabiliser,
            peak,
            joins,
        })
    }
}

impl<F: Float> Attributor<Plan<F>, F> for Lrp {
    fn id(&self) -> MethodId {
        MethodId::Lrp
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[]
    }
    fn attribute(
        &self,
        plan: &Plan<F>,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        Ok(self.relevance(plan, x, reference, target)?.attribution)
    }
}
