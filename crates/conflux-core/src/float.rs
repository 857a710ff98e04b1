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
    fn erf(self) -> Self {
        libm::erff(self)
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
