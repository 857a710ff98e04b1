//! A per-element affine map `a ↦ scale·a + shift`: BatchNormalization in eval mode (its
//! per-channel parameters repeated over the spatial positions), and `Mul`/`Div`/`Add`/`Sub`
//! by a constant. A linear op with a diagonal weight; `shift` is its bias.

use crate::float::Float;

/// A per-element affine map (a linear layer with a diagonal weight).
#[derive(Debug, Clone, PartialEq)]
pub struct AffineOp<F> {
    /// Scale per element.
    pub scale: Vec<F>,
    /// Shift per element (the bias).
    pub shift: Vec<F>,
}

impl<F: Float> AffineOp<F> {
    /// `x ← scale·x (+ shift)` on every row, in place.
    pub fn apply(&self, x: &mut [F], with_bias: bool) {
        for row in x.chunks_exact_mut(self.scale.len()) {
            if with_bias {
                for ((v, &s), &t) in row.iter_mut().zip(&self.scale).zip(&self.shift) {
                    *v = *v * s + t;
                }
            } else {
                // `v·s` alone (not `v·s + 0`, which turns −0 into +0).
                for (v, &s) in row.iter_mut().zip(&self.scale) {
                    *v *= s;
                }
            }
        }
    }

    /// `g ← scale·g` on every row (the transpose), in place.
    pub fn apply_t(&self, g: &mut [F]) {
        for row in g.chunks_exact_mut(self.scale.len()) {
            for (v, &s) in row.iter_mut().zip(&self.scale) {
                *v *= s;
            }
        }
    }
}
