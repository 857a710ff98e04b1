//! `LayerNormalization` over the trailing `n` elements: `y = γ ⊙ (a − μ(a))/σ(a) + β` with
//! `σ = √(var + eps)` (biased variance, as PyTorch and ONNX). Forward value, the full
//! Jacobian's transpose (gradients freeze nothing) and the *gate*: at an input `t` the op is
//! the affine map `a ↦ w ⊙ a + b` with `w = γ/σ(t)`, `b = β − μ(t)·γ/σ(t)`, which the
//! propagation methods freeze (graph.md §LayerNorm).

use crate::float::Float;

/// A layer normalisation over groups of `n` consecutive elements.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNormOp<F> {
    /// Normalised group size.
    pub n: usize,
    /// γ per element of a group.
    pub gamma: Vec<F>,
    /// β per element of a group.
    pub beta: Vec<F>,
    /// ε added to the variance.
    pub eps: F,
}

impl<F: Float> LayerNormOp<F> {
    /// `(μ, 1/σ)` of one group.
    #[inline]
    pub fn stats(&self, a: &[F]) -> (F, F) {
        let nf = F::of(self.n as f64);
        let mu = a.iter().copied().sum::<F>() / nf;
        let var = a.iter().map(|&v| (v - mu) * (v - mu)).sum::<F>() / nf;
        (mu, F::one() / (var + self.eps).sqrt())
    }

    /// Forward value on whole rows (any number of groups per row).
    pub fn apply(&self, x: &[F], out: &mut [F], with_bias: bool) {
        for (a, y) in x.chunks_exact(self.n).zip(out.chunks_exact_mut(self.n)) {
            let (mu, inv) = self.stats(a);
            for j in 0..self.n {
                let b = if with_bias { self.beta[j] } else { F::zero() };
                y[j] = self.gamma[j] * (a[j] - mu) * inv + b;
            }
        }
    }

    /// The gate at `t`: per element the frozen weight `w` and bias `b`.
    pub fn gate(&self, t: &[F], w: &mut [F], b: &mut [F]) {
        for ((a, wg), bg) in t
            .chunks_exact(self.n)
            .zip(w.chunks_exact_mut(self.n))
            .zip(b.chunks_exact_mut(self.n))
        {
            let (mu, inv) = self.stats(a);
            for j in 0..self.n {
                wg[j] = self.gamma[j] * inv;
                bg[j] = self.beta[j] - mu * self.gamma[j] * inv;
            }
        }
    }

    /// The gradient at input `x`: `out = Jᵀ·g` for the full Jacobian.
    pub fn apply_t(&self, x: &[F], g: &[F], out: &mut [F]) {
        let nf = F::of(self.n as f64);
        for ((a, gg), o) in x
            .chunks_exact(self.n)
            .zip(g.chunks_exact(self.n))
            .zip(out.chunks_exact_mut(self.n))
        {
            let (mu, inv) = self.stats(a);
            // dL/da = inv·(g' − mean(g') − x̂·mean(g'·x̂)), g' = γ·g, x̂ = (a − μ)·inv.
            let (mut m1, mut m2) = (F::zero(), F::zero());
            for j in 0..self.n {
                let gp = self.gamma[j] * gg[j];
                m1 += gp;
                m2 += gp * (a[j] - mu) * inv;
            }
            m1 = m1 / nf;
            m2 = m2 / nf;
            for j in 0..self.n {
                let gp = self.gamma[j] * gg[j];
                o[j] = inv * (gp - m1 - (a[j] - mu) * inv * m2);
            }
        }
    }

    /// Converts to precision `G`.
    pub fn cast<G: Float>(&self) -> LayerNormOp<G> {
        LayerNormOp {
            n: self.n,
            gamma: self.gamma.iter().map(|&v| G::of(v.f64())).collect(),
            beta: self.beta.iter().map(|&v| G::of(v.f64())).collect(),
            eps: G::of(self.eps.f64()),
        }
    }
}
