//! Small dense solvers for surrogate models (p ≤ a few hundred unknowns), in f64.

/// Solves `A·x = b` (`A` n×n row-major, overwritten) by Gaussian elimination with partial
/// pivoting. Returns `None` when `A` is singular to working precision.
pub fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    let scale = a
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let piv =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[piv * n + col].abs() <= 1e-13 * scale {
            return None;
        }
        if piv != col {
            for k in 0..n {
                a.swap(piv * n + k, col * n + k);
            }
            b.swap(piv, col);
        }
        for i in col + 1..n {
            let f = a[i * n + col] / a[col * n + col];
            if f != 0.0 {
                for k in col..n {
                    a[i * n + k] -= f * a[col * n + k];
                }
                b[i] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i * n + k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i * n + i];
    }
    Some(x)
}

/// Weighted least squares `min Σ w_k (y_k − c − X_k·β)²` (`X` n×p row-major; `c` only with
/// `intercept`; weights `w_k ≥ 0`, negative ones count as 0). Returns `(β, c)`. A rank-deficient design (fewer distinct samples than
/// unknowns) gets a vanishing ridge (1e-10 of the largest diagonal entry), which selects
/// the small-norm solution instead of failing.
pub fn weighted_least_squares(
    x: &[f64],
    y: &[f64],
    w: &[f64],
    p: usize,
    intercept: bool,
) -> (Vec<f64>, f64) {
    let q = p + usize::from(intercept);
    let n = y.len();
    // Normal equations AᵀWA β = AᵀWy. With √w·A stored transposed (q × n), AᵀWA is one
    // dense product (gemm), which matters at hundreds of features × thousands of samples.
    let mut zt = vec![0.0; q * n];
    let mut aty = vec![0.0; q];
    for (k, (&yk, &wk)) in y.iter().zip(w).enumerate() {
        let wk = wk.max(0.0);
        let sw = wk.sqrt();
        for i in 0..p {
            let v = x[k * p + i];
            zt[i * n + k] = sw * v;
            aty[i] += wk * v * yk;
        }
        if intercept {
            zt[p * n + k] = sw;
            aty[p] += wk * yk;
        }
    }
    let mut ata = vec![0.0; q * q];
    conflux_core::linalg::mul_wt(&zt, q, n, &zt, q, &mut ata);
    let sol = solve(ata.clone(), aty.clone(), q).unwrap_or_else(|| {
        let ridge = 1e-10
            * (0..q)
                .map(|i| ata[i * q + i])
                .fold(0.0f64, f64::max)
                .max(1e-300);
        let mut reg = ata;
        (0..q).for_each(|i| reg[i * q + i] += ridge);
        solve(reg, aty, q).unwrap_or_else(|| vec![0.0; q])
    });
    let c = if intercept { sol[p] } else { 0.0 };
    (sol[..p].to_vec(), c)
}

/// Weighted Lasso with intercept, scikit-learn's objective
/// `(1/(2·Σw)) Σ w_k (y_k − c − X_k·β)² + α‖β‖₁`, by cyclic coordinate descent (Captum's
/// `SkLearnLasso(alpha)` surrogate for LIME).
pub fn weighted_lasso(x: &[f64], y: &[f64], w: &[f64], p: usize, alpha: f64) -> (Vec<f64>, f64) {
    let n = y.len();
    let sw: f64 = w.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    // Centre by the weighted means (the intercept is not penalised).
    let xm: Vec<f64> = (0..p)
        .map(|j| (0..n).map(|k| w[k] * x[k * p + j]).sum::<f64>() / sw)
        .collect();
    let ym = (0..n).map(|k| w[k] * y[k]).sum::<f64>() / sw;
    let xc: Vec<f64> = (0..n * p).map(|i| x[i] - xm[i % p]).collect();
    let mut resid: Vec<f64> = y.iter().map(|v| v - ym).collect();
    let norm: Vec<f64> = (0..p)
        .map(|j| {
            (0..n)
                .map(|k| w[k] * xc[k * p + j] * xc[k * p + j])
                .sum::<f64>()
                / sw
        })
        .collect();
    let mut beta = vec![0.0; p];
    for _ in 0..10_000 {
        let mut max_step = 0.0f64;
        for j in 0..p {
            if norm[j] == 0.0 {
                continue;
            }
            let rho = (0..n)
                .map(|k| w[k] * xc[k * p + j] * (resid[k] + xc[k * p + j] * beta[j]))
                .sum::<f64>()
                / sw;
            let new = rho.signum() * (rho.abs() - alpha).max(0.0) / norm[j];
            let step = new - beta[j];
            if step != 0.0 {
                for k in 0..n {
                    resid[k] -= xc[k * p + j] * step;
                }
                beta[j] = new;
                max_step = max_step.max(step.abs());
            }
        }
        if max_step < 1e-12 {
            break;
        }
    }
    let c = ym - (0..p).map(|j| xm[j] * beta[j]).sum::<f64>();
    (beta, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_a_linear_function() {
        // y = 1 + 2·a − 3·b on four points, arbitrary positive weights.
        let x = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let y = [1.0, 3.0, -2.0, 0.0];
        let (b, c) = weighted_least_squares(&x, &y, &[1.0, 2.0, 0.5, 3.0], 2, true);
        assert!(
            (c - 1.0).abs() < 1e-12 && (b[0] - 2.0).abs() < 1e-12 && (b[1] + 3.0).abs() < 1e-12
        );
        // Lasso with α = 0 is least squares; a large α zeroes the coefficients.
        let (b, c) = weighted_lasso(&x, &y, &[1.0; 4], 2, 0.0);
        assert!(
            (c - 1.0).abs() < 1e-8 && (b[0] - 2.0).abs() < 1e-8 && (b[1] + 3.0).abs() < 1e-8,
            "{b:?} {c}"
        );
        let (b, _) = weighted_lasso(&x, &y, &[1.0; 4], 2, 100.0);
        assert_eq!(b, vec![0.0, 0.0]);
        assert!(solve(vec![1.0, 2.0, 2.0, 4.0], vec![1.0, 2.0], 2).is_none());
    }
}
