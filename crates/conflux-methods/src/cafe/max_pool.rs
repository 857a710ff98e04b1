//! CAFE at max pooling (graph.md §MaxPool, the authors' rule made well-defined).
//!
//! Per window, `i_r` is the arg-max of the reference and `i_x` the arg-max of the actual
//! input `t = ref + S+ − S−` (first index on ties; values within `1e-9·(1 + |value|)` count
//! as ties, so rounding noise in inactive windows does not pick an element). For `t` the
//! tolerance also covers the rounding of `S+ − S−` itself — [`NOISE_ULPS`] ulps of
//! `S+ + S−`, as the activation rule treats cancellation — which matters in `f32`, where
//! that noise exceeds 1e-9. If they agree,
//! that element's scores pass. Otherwise, along the straight path `ref + α·Δ` the two
//! candidates are equal at `α* = (ref_r − ref_x)/(Δ_x − Δ_r)` ∈ [0, 1]: the reference's
//! maximum leads before, the input's after, so `m_r = α*`, `m_x = 1 − α*`. Then
//! `ref_r + m_r·Δ_r + m_x·Δ_x = t_x` (completeness) and scores stay non-negative.

use conflux_core::Float;

use super::rule::NOISE_ULPS;
use crate::propagate::MaxChoice;

/// Relative tie tolerance of graph.md.
pub const TIE: f64 = 1e-9;

/// The first arg-max of `v` over `window`, ties (within [`TIE`], plus the rounding noise of
/// `mass`, when given) going to the earlier index.
#[inline]
fn argmax<F: Float>(v: &[F], mass: Option<&[F]>, window: &[u32]) -> u32 {
    let tie = F::of(TIE);
    let noise = F::of(NOISE_ULPS) * F::epsilon();
    let mut best = window[0];
    for &i in &window[1..] {
        let (cur, cand) = (v[best as usize], v[i as usize]);
        let slack = mass.map_or(F::zero(), |m| noise * (m[best as usize] + m[i as usize]));
        if cand - cur > tie * (F::one() + cur.abs()) + slack {
            best = i;
        }
    }
    best
}

/// The CAFE choice at one window; `mass` is `S+ + S−` per element of the pooled row.
pub fn choice<F: Float>(refs: &[F], t: &[F], mass: &[F], window: &[u32]) -> MaxChoice<F> {
    let (i_r, i_x) = (argmax(refs, None, window), argmax(t, Some(mass), window));
    if i_r == i_x {
        return MaxChoice {
            i_r,
            i_x,
            m_r: F::one(),
            m_x: F::zero(),
        };
    }
    let (r, x) = (i_r as usize, i_x as usize);
    let (delta_r, delta_x) = (t[r] - refs[r], t[x] - refs[x]);
    let den = delta_x - delta_r;
    let alpha = if den > F::zero() {
        ((refs[r] - refs[x]) / den).max(F::zero()).min(F::one())
    } else {
        F::zero()
    };
    MaxChoice {
        i_r,
        i_x,
        m_r: alpha,
        m_x: F::one() - alpha,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_point_reproduces_the_input_maximum() {
        // ref = [1, 0], t = [1.5, 3]: Δ = [0.5, 3], α* = (1 − 0)/(3 − 0.5) = 0.4.
        let c = choice(&[1.0_f64, 0.0], &[1.5, 3.0], &[0.5, 3.0], &[0, 1]);
        assert_eq!((c.i_r, c.i_x), (0, 1));
        assert!((c.m_r - 0.4).abs() < 1e-15 && (c.m_x - 0.6).abs() < 1e-15);
        // ref_r + m_r·Δ_r + m_x·Δ_x = 1 + 0.2 + 1.8 = 3 = t_x.
        assert!((1.0 + c.m_r * 0.5 + c.m_x * 3.0 - 3.0).abs() < 1e-12);
    }

    #[test]
    fn rounding_noise_is_a_tie() {
        let c = choice(
            &[0.0_f64, 0.0, 0.0],
            &[1e-12, -3e-13, 2e-12],
            &[1.0; 3],
            &[0, 1, 2],
        );
        assert_eq!((c.i_r, c.i_x, c.m_r, c.m_x), (0, 0, 1.0, 0.0));
    }

    #[test]
    fn f32_cancellation_noise_is_a_tie() {
        // S+ ≈ S− ≈ 0.3 at every element: t = 2e-8 is noise in f32 (64 ulps of 0.6 ≈ 4.6e-6).
        let c = choice(&[0.0_f32; 2], &[0.0, 2e-8], &[0.6; 2], &[0, 1]);
        assert_eq!((c.i_x, c.m_r), (0, 1.0));
    }
}
