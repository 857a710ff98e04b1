//! CAFE's activation rule (cafe.md §Activation rule), one neuron at a time.

use conflux_core::{Activation, Float};

use crate::propagate::{ActivationRule, Multipliers};

/// ε of cafe.md (the authors' code divides by `s + 1e-9`).
pub const EPSILON: f64 = 1e-9;

/// The CAFE rule with one conflict-sensitivity constant per activation layer.
#[derive(Debug, Clone)]
pub struct CafeRule<F> {
    /// `c` per activation slot.
    pub c: Vec<F>,
}

impl<F: Float> ActivationRule<F> for CafeRule<F> {
    #[inline]
    fn multipliers(
        &self,
        act: Activation,
        slot: usize,
        rho: F,
        e_pos: F,
        e_neg: F,
    ) -> Multipliers<F> {
        multipliers(act, self.c[slot], rho, e_pos, e_neg)
    }
}

#[inline]
fn relu<F: Float>(u: F) -> F {
    u.max(F::zero())
}

/// The multipliers `M[a→b]` of cafe.md for one neuron.
#[inline]
pub fn multipliers<F: Float>(act: Activation, c: F, rho: F, e_pos: F, e_neg: F) -> Multipliers<F> {
    let zero = F::zero();
    let eps = F::of(EPSILON);
    let e_star = e_pos - e_neg;
    // cafe.md: pos = [e* ≥ 0]; σ = sign(e*) with sign(0) = 0.
    let pos = e_star >= zero;
    let sigma = if e_star > zero {
        F::one()
    } else if e_star < zero {
        -F::one()
    } else {
        zero
    };
    let f_rho = act.apply(rho);
    let f_star = act.apply(rho + e_star);
    let f_tp = act.apply(rho + e_pos);
    let f_tn = act.apply(rho - e_neg);

    // Observed change, split by direction.
    let r_up = relu(f_star - f_rho);
    let r_dn = relu(f_rho - f_star);
    // Hypothetical (cancelled) change.
    let (h_up, h_dn) = if pos {
        (
            relu(f_tp - f_star).max(relu(f_rho - f_tn)),
            relu(f_star - f_tp).max(relu(f_tn - f_rho)),
        )
    } else {
        (
            relu(f_tp - f_rho).max(relu(f_star - f_tn)),
            relu(f_rho - f_tp).max(relu(f_tn - f_star)),
        )
    };
    // Peak flows.
    let (p_pp, p_pn, p_np, p_nn) = if pos {
        (r_up + h_up, r_dn + h_dn, h_dn, h_up)
    } else {
        (h_up, h_dn, r_up + h_dn, r_dn + h_up)
    };
    // Clipped linear (secant) flows.
    let denom = e_star.abs() + eps;
    let up = relu(sigma * (f_star - f_rho)) / denom;
    let dn = relu(sigma * (f_rho - f_star)) / denom;
    let l_pp = (e_pos * up).min(p_pp);
    let l_pn = (e_pos * dn).min(p_pn);
    let l_np = (e_neg * dn).min(p_np);
    let l_nn = (e_neg * up).min(p_nn);
    let one_c = F::one() - c;
    let dp = e_pos + eps;
    let dn_ = e_neg + eps;
    Multipliers {
        pp: (one_c * l_pp + c * p_pp) / dp,
        pn: (one_c * l_pn + c * p_pn) / dp,
        np: (one_c * l_np + c * p_np) / dn_,
        nn: (one_c * l_nn + c * p_nn) / dn_,
    }
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
        let m = multipliers(Activation::Relu, 0.0_f64, 0.0, 2.0, 1.0);
        assert!((m.pp - 1.0).abs() < 1e-8 && (m.nn - 1.0).abs() < 1e-8);
        assert!(m.pn.abs() < 1e-12 && m.np.abs() < 1e-12);
        // Output scores then carry S+ = 2, S− = 1: joint 1 = relu(1) − relu(0).
    }

    #[test]
    fn leaky_slope_on_negative_side() {
        // ρ = −1, e+ = 0, e− = 2 through LeakyReLU(0.1): φ(ρ) = −0.1, φ(t*) = −0.3.
        // R↓ = 0.2 (neg side), H's are 0 (monotone, one-sided input). M[−→−] = 0.2/2 = 0.1.
        let m = multipliers(
            Activation::LeakyRelu { slope: 0.1 },
            0.5_f64,
            -1.0,
            0.0,
            2.0,
        );
        assert!((m.nn - 0.1).abs() < 1e-8, "{m:?}");
        assert!(m.np.abs() < 1e-12);
    }
}
