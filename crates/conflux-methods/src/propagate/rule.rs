//! What a propagation method supplies to the shared walk: its activation rule.
//!
//! Linear layers (dense and per-neuron affine) are handled by the walk itself with the
//! sign-split linear rule (cafe.md §Linear rule); a method decides only what happens at
//! activations.

use conflux_core::{Activation, Float};

/// Per-neuron multipliers of a sign-split activation rule, stored as four parallel arrays
/// (`[rows × width]`): `pp[i]` is `M[+→+]` of neuron-row `i`, and so on
/// (cafe.md §Attribution multipliers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Multipliers<F> {
    /// `M[+→+]`.
    pub pp: Vec<F>,
    /// `M[+→−]`.
    pub pn: Vec<F>,
    /// `M[−→+]`.
    pub np: Vec<F>,
    /// `M[−→−]`.
    pub nn: Vec<F>,
}

impl<F: Float> Multipliers<F> {
    /// Zeroed multipliers for `n` neuron-rows.
    pub fn zeros(n: usize) -> Self {
        let z = vec![F::zero(); n];
        Multipliers {
            pp: z.clone(),
            pn: z.clone(),
            np: z.clone(),
            nn: z,
        }
    }

    /// Grows to at least `n` neuron-rows (never shrinks; contents unspecified until written).
    pub fn ensure(&mut self, n: usize) {
        for v in [&mut self.pp, &mut self.pn, &mut self.np, &mut self.nn] {
            if v.len() < n {
                v.resize(n, F::zero());
            }
        }
    }

    /// The mutable view of neuron-rows `range`.
    pub fn slice_mut(&mut self, range: std::ops::Range<usize>) -> MultipliersMut<'_, F> {
        MultipliersMut {
            pp: &mut self.pp[range.clone()],
            pn: &mut self.pn[range.clone()],
            np: &mut self.np[range.clone()],
            nn: &mut self.nn[range],
        }
    }
}

/// Mutable view of one row of [`Multipliers`].
pub struct MultipliersMut<'a, F> {
    /// `M[+→+]`.
    pub pp: &'a mut [F],
    /// `M[+→−]`.
    pub pn: &'a mut [F],
    /// `M[−→+]`.
    pub np: &'a mut [F],
    /// `M[−→−]`.
    pub nn: &'a mut [F],
}

/// The per-neuron inputs of an activation rule for one row of neurons.
pub struct Aggregates<'a, F> {
    /// Reference pre-activations `ρ`.
    pub rho: &'a [F],
    /// `φ(ρ)`.
    pub f_rho: &'a [F],
    /// Aggregated positive input effects `e+`.
    pub e_pos: &'a [F],
    /// Aggregated negative input effects `e−`.
    pub e_neg: &'a [F],
}

/// What a method decides at one max-pooling window: the output's scores are
/// `m_r·S±[i_r] + m_x·S±[i_x]` (indices into the pooled input row). Passing one element
/// through is `i_r = i_x`, `m_r = 1`, `m_x = 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxChoice<F> {
    /// The element the reference's maximum comes from.
    pub i_r: u32,
    /// The element the input's maximum comes from.
    pub i_x: u32,
    /// Weight of `i_r`'s scores.
    pub m_r: F,
    /// Weight of `i_x`'s scores.
    pub m_x: F,
}

/// A rule that turns the per-neuron aggregates `(ρ, e⁺, e⁻)` at an activation into
/// multipliers. The map from input scores to output scores is then linear for every source
/// (which is what makes forward and reverse mode exact equivalents).
pub trait ActivationRule<F: Float>: Sync {
    /// Fills `out` for one row of neurons of activation `act` (the `slot`-th activation
    /// layer).
    fn multipliers(
        &self,
        act: Activation,
        slot: usize,
        agg: &Aggregates<F>,
        out: MultipliersMut<F>,
    );

    /// The split at one max-pooling window: `refs` and `t` are the reference and actual
    /// values of the pooled input row, `mass` its `e+ + e−` (the scale of the rounding noise
    /// in `t`), `window` the window's candidate indices (in order).
    fn max_pool(&self, refs: &[F], t: &[F], mass: &[F], window: &[u32]) -> MaxChoice<F>;
}
