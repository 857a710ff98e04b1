//! Quadrature rules on [0, 1] for path integrals: "give me nodes and weights" (Captum's
//! `approximation_methods`).

/// A quadrature rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rule {
    /// Gauss–Legendre (Captum's default for Integrated Gradients).
    #[default]
    GaussLegendre,
    /// Left Riemann sum.
    RiemannLeft,
    /// Right Riemann sum.
    RiemannRight,
    /// Midpoint Riemann sum.
    RiemannMiddle,
    /// Trapezoid rule.
    RiemannTrapezoid,
}

impl std::str::FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "gausslegendre" | "gauss-legendre" => Rule::GaussLegendre,
            "riemann_left" | "riemann-left" | "left" => Rule::RiemannLeft,
            "riemann_right" | "riemann-right" | "right" => Rule::RiemannRight,
            "riemann_middle" | "riemann-middle" | "middle" => Rule::RiemannMiddle,
            "riemann_trapezoid" | "riemann-trapezoid" | "trapezoid" => Rule::RiemannTrapezoid,
            other => {
                return Err(format!(
                    "expected gausslegendre, riemann-left, riemann-right, riemann-middle or riemann-trapezoid, got '{other}'"
                ));
            }
        })
    }
}

impl Rule {
    /// The name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Rule::GaussLegendre => "gausslegendre",
            Rule::RiemannLeft => "riemann-left",
            Rule::RiemannRight => "riemann-right",
            Rule::RiemannMiddle => "riemann-middle",
            Rule::RiemannTrapezoid => "riemann-trapezoid",
        }
    }

    /// `n` nodes `α_k ∈ [0, 1]` and weights `w_k` with `Σ w_k g(α_k) ≈ ∫₀¹ g`.
    pub fn nodes(self, n: usize) -> (Vec<f64>, Vec<f64>) {
        #[allow(clippy::cast_precision_loss)]
        let nf = n as f64;
        match self {
            Rule::GaussLegendre => gauss_legendre(n),
            Rule::RiemannLeft => ((0..n).map(|i| i as f64 / nf).collect(), vec![1.0 / nf; n]),
            Rule::RiemannRight => ((1..=n).map(|i| i as f64 / nf).collect(), vec![1.0 / nf; n]),
            Rule::RiemannMiddle => (
                (0..n).map(|i| (i as f64 + 0.5) / nf).collect(),
                vec![1.0 / nf; n],
            ),
            Rule::RiemannTrapezoid => {
                if n < 2 {
                    return (vec![0.5], vec![1.0]);
                }
                let h = 1.0 / (nf - 1.0);
                let alphas = (0..n).map(|i| i as f64 * h).collect();
                let mut w = vec![h; n];
                w[0] = h / 2.0;
                w[n - 1] = h / 2.0;
                (alphas, w)
            }
        }
    }
}

/// Gauss–Legendre nodes and weights on [0, 1] (Newton iteration on Pₙ from the Chebyshev
/// guesses; converges to machine precision in a few steps).
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut alphas = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    #[allow(clippy::cast_precision_loss)]
    let nf = n as f64;
    for i in 1..=n {
        #[allow(clippy::cast_precision_loss)]
        let mut x = (std::f64::consts::PI * (i as f64 - 0.25) / (nf + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            // Pₙ(x) and Pₙ'(x) by the three-term recurrence.
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                #[allow(clippy::cast_precision_loss)]
                let kf = k as f64;
                let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
                p0 = p1;
                p1 = p2;
            }
            let p = if n == 0 { 1.0 } else { p1 };
            let pm1 = if n == 1 { 1.0 } else { p0 };
            dp = nf * (x * p - pm1) / (x * x - 1.0);
            let dx = p / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        alphas.push(0.5 * (1.0 + x));
        weights.push(1.0 / ((1.0 - x * x) * dp * dp)); // (2/((1−x²)P'²))/2
    }
    alphas.reverse();
    weights.reverse();
    (alphas, weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_integrate_polynomials() {
        // ∫₀¹ x^k = 1/(k+1); n-point Gauss–Legendre is exact up to degree 2n − 1.
        for n in [1, 2, 5, 64] {
            let (a, w) = Rule::GaussLegendre.nodes(n);
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-13);
            for k in 0..(2 * n).min(40) {
                let got: f64 = a.iter().zip(&w).map(|(x, w)| w * x.powi(k as i32)).sum();
                assert!(
                    (got - 1.0 / (k as f64 + 1.0)).abs() < 1e-12,
                    "n={n} k={k}: {got}"
                );
            }
        }
        let (a, w) = Rule::RiemannTrapezoid.nodes(3);
        assert_eq!((a, w), (vec![0.0, 0.5, 1.0], vec![0.25, 0.5, 0.25]));
        let (a, _) = Rule::RiemannMiddle.nodes(2);
        assert_eq!(a, vec![0.25, 0.75]);
    }
}
