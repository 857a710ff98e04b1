//! CAFE's activation rule (cafe.md §Activation rule), evaluated a row of neurons at a time.
//!
//! **Division guard.** cafe.md divides by `|e*| + ε` and `e± + ε` (ε = 1e-9), as the
//! authors' code does. We divide by `max(|e*|, ε)` and `max(e±, ε)` instead: identical when
//! the quantity is 0 (the guard's purpose) and, where it is at least ε, exact — whereas `+ ε`
//! shrinks every flow by the relative amount ε/|e*|, which breaks completeness by about
//! 1e-8 of the score mass on ordinary networks (more than the 1e-8 bound we test). Scores
//! differ from the reference implementation by that same relative ε/|e*| (1e-9 for values
//! of order 1), far inside the golden tolerances; below ε the guard still damps secant
//! slopes of rounding-noise `e*` to zero.
//!
//! **Cancellation.** `e* = e+ − e−` within [`NOISE_ULPS`] ulps of `e+ + e−` is rounding
//! noise (e.g. inputs that cancel exactly, as in cafe.md's XNOR example, summed in a
//! different order) and is taken as exactly 0; the rule is continuous there, so this only
//! removes a noise-driven difference between the forward and reverse formulations.
//! The activation is dispatched once per row and the neuron loop is branch-free arithmetic
//! on slices (selects instead of branches), so it vectorises for the piecewise-linear and
//! smooth activations alike.

use conflux_core::{Activation, Float};

use crate::propagate::rule::{ActivationRule, Aggregates, MaxChoice, MultipliersMut};

/// ε of cafe.md, used as a division guard (see the module docs).
pub const EPSILON: f64 = 1e-9;

/// `e*` within this many ulps of `e+ + e−` is treated as exactly 0 (see [`CafeRule`]).
pub const NOISE_ULPS: f64 = 64.0;

/// The CAFE rule with one conflict-sensitivity constant per activation layer.
#[derive(Debug, Clone)]
pub struct CafeRule<F> {
    /// `c` per activation slot.
    pub c: Vec<F>,
}

impl<F: Float> ActivationRule<F> for CafeRule<F> {
    fn multipliers(
        &self,
        act: Activation,
        slot: usize,
        agg: &Aggregates<F>,
        out: MultipliersMut<F>,
    ) {
        let c = self.c[slot];
        // One monomorphised loop per activation (the closure inlines into it).
        match act {
            Activation::Relu => row(|x: F| x.max(F::zero()), c, agg, out),
            Activation::Identity => row(|x: F| x, c, agg, out),
            Activation::Tanh => row(|x: F| x.tanh(), c, agg, out),
            Activation::Gelu => row(
                |x: F| F::of(0.5) * x * (F::one() + (x * F::FRAC_1_SQRT_2()).erf()),
                c,
                agg,
                out,
            ),
            Activation::Sigmoid => row(conflux_core::net::activation::sigmoid, c, agg, out),
            other => row(|x: F| other.apply(x), c, agg, out),
        }
    }

    fn max_pool(&self, refs: &[F], t: &[F], mass: &[F], window: &[u32]) -> MaxChoice<F> {
        super::max_pool::choice(refs, t, mass, window)
    }
}

#[inline]
fn relu<F: Float>(u: F) -> F {
    u.max(F::zero())
}

#[inline(always)]
fn row<F: Float>(phi: impl Fn(F) -> F, c: F, agg: &Aggregates<F>, out: MultipliersMut<F>) {
    let n = agg.rho.len();
    let (rho, f_rho, e_pos, e_neg) = (
        &agg.rho[..n],
        &agg.f_rho[..n],
        &agg.e_pos[..n],
        &agg.e_neg[..n],
    );
    let (pp, pn, np, nn) = (
        &mut out.pp[..n],
        &mut out.pn[..n],
        &mut out.np[..n],
        &mut out.nn[..n],
    );
    let zero = F::zero();
    let eps = F::of(EPSILON);
    let one_c = F::one() - c;
    let noise = F::of(NOISE_ULPS) * F::epsilon();
    for j in 0..n {
        let (r, ep, en, fr) = (rho[j], e_pos[j], e_neg[j], f_rho[j]);
        // cafe.md defines e* = e+ − e− from the carried sums (the authors' code does the
        // same). A difference within rounding noise of the sums is exactly 0: otherwise the
        // sign and secant of pure noise (amplified by 1/ε) would differ between equivalent
        // formulations.
        let raw = ep - en;
        let e_star = if raw.abs() <= noise * (ep + en) {
            zero
        } else {
            raw
        };
        // cafe.md: pos = [e* ≥ 0]; σ = sign(e*) with sign(0) = 0.
        let pos = e_star >= zero;
        let f_star = phi(r + e_star);
        let f_tp = phi(r + ep);
        let f_tn = phi(r - en);
        let d = f_star - fr;
        // Observed change, split by direction.
        let r_up = relu(d);
        let r_dn = relu(-d);
        // Hypothetical (cancelled) change.
        let h_up = if pos {
            relu(f_tp - f_star).max(relu(fr - f_tn))
        } else {
            relu(f_tp - fr).max(relu(f_star - f_tn))
        };
        let h_dn = if pos {
            relu(f_star - f_tp).max(relu(f_tn - fr))
        } else {
            relu(fr - f_tp).max(relu(f_tn - f_star))
        };
        // Peak flows.
        let (r_up_pos, r_dn_pos) = if pos { (r_up, r_dn) } else { (zero, zero) };
        let (r_up_neg, r_dn_neg) = if pos { (zero, zero) } else { (r_up, r_dn) };
        let p_pp = r_up_pos + h_up;
        let p_pn = r_dn_pos + h_dn;
        let p_np = r_up_neg + h_dn;
        let p_nn = r_dn_neg + h_up;
        // Clipped linear (secant) flows: (σ·d)₊ and (−σ·d)₊ (both 0 when e* = 0).
        let inv = F::one() / e_star.abs().max(eps);
        let sd_up = if e_star > zero {
            r_up
        } else if e_star < zero {
            r_dn
        } else {
            zero
        };
        let sd_dn = if e_star > zero {
            r_dn
        } else if e_star < zero {
            r_up
        } else {
            zero
        };
        let (up, dn) = (sd_up * inv, sd_dn * inv);
        let l_pp = (ep * up).min(p_pp);
        let l_pn = (ep * dn).min(p_pn);
        let l_np = (en * dn).min(p_np);
        let l_nn = (en * up).min(p_nn);
        let inv_p = F::one() / ep.max(eps);
        let inv_n = F::one() / en.max(eps);
        pp[j] = (one_c * l_pp + c * p_pp) * inv_p;
        pn[j] = (one_c * l_pn + c * p_pn) * inv_p;
        np[j] = (one_c * l_np + c * p_np) * inv_n;
        nn[j] = (one_c * l_nn + c * p_nn) * inv_n;
    }
}

/// The multipliers `[M++, M+−, M−+, M−−]` of one neuron (for tests and documentation).
pub fn multipliers<F: Float>(act: Activation, c: F, rho: F, e_pos: F, e_neg: F) -> [F; 4] {
    let mut m = crate::propagate::rule::Multipliers::zeros(1);
    let f_rho = [act.apply(rho)];
    let agg = Aggregates {
        rho: &[rho],
        f_rho: &f_rho,
        e_pos: &[e_pos],
        e_neg: &[e_neg],
    };
    CafeRule { c: vec![c] }.multipliers(act, 0, &agg, m.slice_mut(0..1));
    [m.pp[0], m.pn[0], m.np[0], m.nn[0]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_relu_conflict_by_hand() {
        // ρ = 0, e+ = 2, e− = 1 through ReLU: t* = 1, t+ = 2, t− = −1.
        // R↑ = 1, R↓ = 0; H↑ = max((2−1)₊, (0−0)₊) = 1, H↓ = max((1−2)₊, (0−0)₊) = 0.
        // P[+→+] = 2, P[+→−] = 0, P[−→+] = 0, P[−→−] = 1.
        // L[+→+] = min(2·1/1, 2) = 2, L[−→−] = min(1·1/1, 1) = 1, others 0.
        // c = 0: M[+→+] = 2/2 = 1, M[−→−] = 1/1 = 1.
        let [pp, pn, np, nn] = multipliers(Activation::Relu, 0.0_f64, 0.0, 2.0, 1.0);
        assert!((pp - 1.0).abs() < 1e-8 && (nn - 1.0).abs() < 1e-8);
        assert!(pn.abs() < 1e-12 && np.abs() < 1e-12);
    }

    #[test]
    fn leaky_slope_on_negative_side() {
        // ρ = −1, e+ = 0, e− = 2 through LeakyReLU(0.1): φ(ρ) = −0.1, φ(t*) = −0.3.
        // R↓ = 0.2 (neg side), H's are 0 (monotone, one-sided input). M[−→−] = 0.2/2 = 0.1.
        let [_, _, np, nn] = multipliers(
            Activation::LeakyRelu { slope: 0.1 },
            0.5_f64,
            -1.0,
            0.0,
            2.0,
        );
        assert!((nn - 0.1).abs() < 1e-8, "{nn}");
        assert!(np.abs() < 1e-12);
    }
}
