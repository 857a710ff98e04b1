//! The `Float` bound: conflux computes in `f32` (fast) or `f64` (checking).

use std::fmt::{Debug, Display};

/// A floating-point type conflux can compute in (`f32` or `f64`).
pub trait Float:
    num_traits::Float
    + num_traits::FloatConst
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + Debug
    + Display
    + std::fmt::LowerExp
    + Default
    + Send
    + Sync
    + 'static
{
    /// Name used in messages and JSON (`"f32"` / `"f64"`).
    const NAME: &'static str;
    /// The error function, evaluated in this precision.
    #[must_use]
    fn erf(self) -> Self;
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn of(v: f64) -> Self;
    /// Widens to `f64`.
    fn f64(self) -> f64;
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    /// A branch-free rational approximation (vectorises inside GELU loops, unlike `erff`):
    /// max absolute error 4.3e-7 (a few f32 ulps) over the whole line, see the test.
    #[inline]
    fn erf(self) -> Self {
        erf_f32(self)
    }
    #[allow(clippy::cast_possible_truncation)]
    fn of(v: f64) -> Self {
        v as f32
    }
    fn f64(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn of(v: f64) -> Self {
        v
    }
    fn f64(self) -> f64 {
        self
    }
}

/// `true` when `a` and `b` agree to `rel` relative or `abs` absolute tolerance.
pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    let d = (a - b).abs();
    d <= abs || d <= rel * a.abs().max(b.abs())
}

/// `erf(x) ≈ x·P(x²)/Q(x²)` on `[-4, 4]` (clamped outside, where `1 − erf(4) < 2e-8`),
/// fitted by iteratively reweighted least squares in f64 (coefficients below); evaluated in
/// f32 its maximum absolute error is 4.3e-7 and its maximum relative error for |x| < 1 is
/// 6.7e-7.
#[inline]
#[allow(clippy::excessive_precision)]
pub fn erf_f32(x: f32) -> f32 {
    const P: [f32; 7] = [
        1.128_378_6,
        0.216_258_54,
        0.052_766_205,
        0.004_374_510_8,
        0.000_156_162_61,
        -1.968_786_9e-6,
        1.879_972_9e-8,
    ];
    const Q: [f32; 5] = [
        1.0,
        0.524_982_4,
        0.121_775_54,
        0.015_747_15,
        0.001_112_748_2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let z = x * x;
    // Plain multiply-adds (not `mul_add`, which is a library call without hardware FMA).
    let p = ((((((P[6] * z + P[5]) * z + P[4]) * z + P[3]) * z + P[2]) * z + P[1]) * z) + P[0];
    let q = (((Q[4] * z + Q[3]) * z + Q[2]) * z + Q[1]) * z + Q[0];
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_erf_matches_libm() {
        let mut worst = 0.0f64;
        for i in -600_000..=600_000 {
            #[allow(clippy::cast_possible_truncation)]
            let x = (f64::from(i) * 1e-5) as f32;
            let err = (f64::from(erf_f32(x)) - libm::erf(f64::from(x))).abs();
            worst = worst.max(err);
        }
        assert!(worst < 6e-7, "max abs error {worst}");
        assert!(
            erf_f32(0.0) == 0.0 && erf_f32(f32::INFINITY) > 0.999_999 && erf_f32(-9.0) < -0.999_999
        );
        assert!((erf_f32(1e-6) - 1.128_379e-6).abs() < 1e-12);
    }
}
