//! What a propagation method supplies to the shared walk: its activation rule.
//!
//! Linear layers (dense and per-neuron affine) are handled by the walk itself with the
//! sign-split linear rule (cafe.md §Linear rule); a method decides only what happens at
//! activations.

use conflux_core::{Activation, Float};

/// Per-neuron multipliers of a sign-split activation rule: `m[a→b]` maps input scores of
/// sign `a` to output scores of sign `b` (cafe.md §Attribution multipliers).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Multipliers<F> {
    /// `M[+→+]`.
    pub pp: F,
    /// `M[+→−]`.
    pub pn: F,
    /// `M[−→+]`.
    pub np: F,
    /// `M[−→−]`.
    pub nn: F,
}

/// A rule that turns the per-neuron aggregates `(ρ, e⁺, e⁻)` at an activation into
/// multipliers. The map from input scores to output scores is then linear for every source
/// (which is what makes forward and reverse mode exact equivalents).
pub trait ActivationRule<F: Float>: Sync {
    /// Multipliers for one neuron: activation `act` (the `slot`-th activation layer),
    /// reference pre-activation `rho`, aggregated positive and negative input effects.
    fn multipliers(
        &self,
        act: Activation,
        slot: usize,
        rho: F,
        e_pos: F,
        e_neg: F,
    ) -> Multipliers<F>;
}
