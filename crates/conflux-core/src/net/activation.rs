//! Element-wise activation functions (PyTorch's definitions and defaults).

use crate::float::Float;

/// SELU's scale λ (PyTorch's constant).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
/// SELU's α (PyTorch's constant).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

/// A scalar activation applied element-wise. Closed set: every attribution rule can match it
/// exhaustively.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x ≥ 0`, `slope·x` otherwise (PyTorch `negative_slope`, default 0.01).
    LeakyRelu {
        /// The slope for negative inputs.
        slope: f64,
    },
    /// `x` for `x > 0`, `α·(eˣ − 1)` otherwise (default α = 1).
    Elu {
        /// The saturation value for negative inputs.
        alpha: f64,
    },
    /// `λ·ELU_α(x)` with PyTorch's fixed λ and α.
    Selu,
    /// Exact GELU, `x·Φ(x) = x·(1 + erf(x/√2))/2`.
    Gelu,
    /// GELU's tanh approximation (PyTorch `approximate="tanh"`).
    GeluTanh,
    /// SiLU / swish, `x·σ(x)`.
    Silu,
    /// `log(1 + e^{βx})/β`, linear above `threshold/β` (PyTorch defaults β = 1, threshold = 20).
    Softplus {
        /// β.
        beta: f64,
        /// Above `β·x > threshold` the function is the identity.
        threshold: f64,
    },
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// `x`.
    Identity,
}

impl Activation {
    /// The names a trainer accepts (with PyTorch's default parameters).
    pub const TRAINABLE: &'static str =
        "relu, gelu, gelu_tanh, tanh, sigmoid, silu, selu, elu, leaky_relu or softplus";

    /// The activation named `name` with PyTorch's default parameters (`elu`: α = 1,
    /// `leaky_relu`: slope 0.01, `softplus`: β = 1, threshold 20); `-` and `_` alike.
    pub fn with_defaults(name: &str) -> Option<Activation> {
        Some(match name.replace('-', "_").as_str() {
            "relu" => Activation::Relu,
            "gelu" => Activation::Gelu,
            "gelu_tanh" => Activation::GeluTanh,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "silu" => Activation::Silu,
            "selu" => Activation::Selu,
            "elu" => Activation::Elu { alpha: 1.0 },
            "leaky_relu" => Activation::LeakyRelu { slope: 0.01 },
            "softplus" => Activation::Softplus {
                beta: 1.0,
                threshold: 20.0,
            },
            _ => return None,
        })
    }

    /// The type name used in conflux's JSON model format.
    pub fn type_name(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Gelu | Activation::GeluTanh => "gelu",
            Activation::Silu => "silu",
            Activation::Softplus { .. } => "softplus",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Identity => "identity",
        }
    }

    /// Evaluates the activation at `x` in precision `F`.
    #[inline]
    pub fn apply<F: Float>(&self, x: F) -> F {
        let zero = F::zero();
        let one = F::one();
        match *self {
            Activation::Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            Activation::LeakyRelu { slope } => {
                if x >= zero {
                    x
                } else {
                    F::of(slope) * x
                }
            }
            Activation::Elu { alpha } => {
                if x > zero {
                    x
                } else {
                    F::of(alpha) * x.exp_m1()
                }
            }
            Activation::Selu => {
                let y = if x > zero {
                    x
                } else {
                    F::of(SELU_ALPHA) * x.exp_m1()
                };
                F::of(SELU_SCALE) * y
            }
            Activation::Gelu => {
                let half = F::of(0.5);
                half * x * (one + (x * F::FRAC_1_SQRT_2()).erf())
            }
            Activation::GeluTanh => {
                let k = F::of((2.0 / std::f64::consts::PI).sqrt());
                let half = F::of(0.5);
                half * x * (one + (k * (x + F::of(0.044_715) * x * x * x)).tanh())
            }
            Activation::Silu => x * sigmoid(x),
            Activation::Softplus { beta, threshold } => {
                let bx = F::of(beta) * x;
                if bx > F::of(threshold) {
                    x
                } else {
                    // log(1 + e^{bx}) computed without overflow for large negative bx.
                    (bx.exp().ln_1p()) / F::of(beta)
                }
            }
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::Identity => x,
        }
    }

    /// Applies the activation to every element of `v` in place: one loop per activation (the
    /// dispatch is hoisted out of it, so the common ones vectorise). Bit-identical to
    /// [`Activation::apply`] per element.
    pub fn apply_slice<F: Float>(&self, v: &mut [F]) {
        #[inline(always)]
        fn each<F: Float>(v: &mut [F], f: impl Fn(F) -> F) {
            for x in v {
                *x = f(*x);
            }
        }
        match *self {
            Activation::Relu => each(v, |x| if x > F::zero() { x } else { F::zero() }),
            Activation::Identity => {}
            Activation::Gelu => each(v, |x| {
                F::of(0.5) * x * (F::one() + (x * F::FRAC_1_SQRT_2()).erf())
            }),
            Activation::Tanh => each(v, |x| x.tanh()),
            Activation::Sigmoid => each(v, sigmoid),
            a => each(v, |x| a.apply(x)),
        }
    }

    /// The derivative `φ'(x)` in precision `F`. At kinks PyTorch's convention: the `x ≤ 0`
    /// branch (ReLU'(0) = 0, LeakyReLU'(0) = slope, ELU'(0) = α).
    #[inline]
    pub fn derivative<F: Float>(&self, x: F) -> F {
        let zero = F::zero();
        let one = F::one();
        match *self {
            Activation::Relu => {
                if x > zero {
                    one
                } else {
                    zero
                }
            }
            Activation::LeakyRelu { slope } => {
                if x > zero {
                    one
                } else {
                    F::of(slope)
                }
            }
            Activation::Elu { alpha } => {
                if x > zero {
                    one
                } else {
                    F::of(alpha) * x.exp()
                }
            }
            Activation::Selu => {
                let d = if x > zero {
                    one
                } else {
                    F::of(SELU_ALPHA) * x.exp()
                };
                F::of(SELU_SCALE) * d
            }
            Activation::Gelu => {
                // Φ(x) + x·φ(x), φ the standard normal density.
                let half = F::of(0.5);
                let cdf = half * (one + (x * F::FRAC_1_SQRT_2()).erf());
                let pdf = (-half * x * x).exp() * F::of(1.0 / (2.0 * std::f64::consts::PI).sqrt());
                cdf + x * pdf
            }
            Activation::GeluTanh => {
                let k = F::of((2.0 / std::f64::consts::PI).sqrt());
                let c = F::of(0.044_715);
                let half = F::of(0.5);
                let u = k * (x + c * x * x * x);
                let t = u.tanh();
                half * (one + t) + half * x * (one - t * t) * k * (one + F::of(3.0) * c * x * x)
            }
            Activation::Silu => {
                let s = sigmoid(x);
                s * (one + x * (one - s))
            }
            Activation::Softplus { beta, threshold } => {
                if F::of(beta) * x > F::of(threshold) {
                    one
                } else {
                    sigmoid(F::of(beta) * x)
                }
            }
            Activation::Sigmoid => {
                let s = sigmoid(x);
                s * (one - s)
            }
            Activation::Tanh => {
                let t = x.tanh();
                one - t * t
            }
            Activation::Identity => one,
        }
    }

    /// All activations with their default parameters (for tests and random networks).
    pub fn all() -> [Activation; 11] {
        [
            Activation::Relu,
            Activation::LeakyRelu { slope: 0.01 },
            Activation::Elu { alpha: 1.0 },
            Activation::Selu,
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Silu,
            Activation::Softplus {
                beta: 1.0,
                threshold: 20.0,
            },
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Identity,
        ]
    }
}

/// Numerically stable logistic sigmoid.
#[inline]
pub fn sigmoid<F: Float>(x: F) -> F {
    let one = F::one();
    if x >= F::zero() {
        one / (one + (-x).exp())
    } else {
        let e = x.exp();
        e / (one + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_reference_values() {
        // Values of the defining formulas in float64 (Python's math.erf/tanh/expm1/log1p).
        let cases: [(Activation, f64, f64); 8] = [
            (Activation::Gelu, -1.5, -0.100_210_801_903_287_13),
            (Activation::Gelu, 0.7, 0.530_625_443_443_848_9),
            (Activation::GeluTanh, -1.5, -0.100_428_423_019_767_07),
            (Activation::Selu, -1.5, -1.365_814_353_367_252_7),
            (Activation::Silu, 0.7, 0.467_731_440_517_716_26),
            (
                Activation::Softplus {
                    beta: 1.0,
                    threshold: 20.0,
                },
                -1.5,
                0.201_413_277_982_752_4,
            ),
            (
                Activation::Elu { alpha: 1.0 },
                -1.5,
                -0.776_869_839_851_570_2,
            ),
            (Activation::LeakyRelu { slope: 0.01 }, -1.5, -0.015),
        ];
        for (act, x, want) in cases {
            let got = act.apply(x);
            assert!(
                (got - want).abs() < 1e-12,
                "{act:?}({x}) = {got}, want {want}"
            );
            let got32 = act.apply(x as f32);
            assert!((f64::from(got32) - want).abs() < 1e-6, "{act:?} f32");
        }
    }

    #[test]
    fn derivatives_match_central_differences() {
        for act in Activation::all() {
            for &x in &[-2.3, -0.7, 0.4, 1.9] {
                let h = 1e-6;
                let fd = (act.apply(x + h) - act.apply(x - h)) / (2.0 * h);
                let d: f64 = act.derivative(x);
                assert!((d - fd).abs() < 1e-6, "{act:?} at {x}: {d} vs {fd}");
            }
        }
        assert_eq!(Activation::Relu.derivative(0.0_f64), 0.0);
    }

    #[test]
    fn softplus_threshold_is_identity() {
        let sp = Activation::Softplus {
            beta: 2.0,
            threshold: 20.0,
        };
        assert_eq!(sp.apply(11.0_f64), 11.0);
        assert!((sp.apply(-30.0_f64) - (0.5 * (-60.0_f64).exp().ln_1p())).abs() < 1e-30);
    }
}
