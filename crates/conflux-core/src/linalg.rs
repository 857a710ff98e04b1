//! Dense products used by every forward and propagation pass.
//!
//! Large products go to the `gemm` crate (single-threaded: callers parallelise over row
//! blocks with rayon, which beats library threading on the small shapes of tabular MLPs);
//! narrow ones (≤ 4 outputs, or ≤ 2 rows) use hand-written dot/axpy loops, several times
//! faster than a library call at those sizes.
#![allow(unsafe_code)]

use crate::float::Float;

/// Below this many multiply-adds a product is done by the hand-written loops.
const SMALL: usize = 2048;

/// `out[m×n] = a[m×k] · wᵀ` where `w` is row-major `n × k` (a dense layer's weight).
///
/// # Panics
/// When a slice is shorter than its shape (an internal invariant: callers size them).
pub fn mul_wt<F: Float>(a: &[F], m: usize, k: usize, w: &[F], n: usize, out: &mut [F]) {
    assert!(a.len() >= m * k && w.len() >= n * k && out.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out[..m * n].fill(F::zero());
        return;
    }
    if n <= 4 || m <= 2 || m * n * k < SMALL {
        for (ai, oi) in a.chunks_exact(k).zip(out.chunks_exact_mut(n)).take(m) {
            for (wj, o) in w.chunks_exact(k).zip(oi.iter_mut()) {
                *o = dot(ai, wj);
            }
        }
        return;
    }
    // SAFETY: the assert above guarantees every index the strides reach is in bounds:
    // dst is m×n row-major (cs 1, rs n), lhs m×k row-major (cs 1, rs k), rhs = wᵀ is k×n
    // with element (p, j) at w[j·k + p] (cs k, rs 1). The three slices do not overlap
    // (`out` is a unique borrow).
    unsafe {
        strided(
            (m, n, k),
            out.as_mut_ptr(),
            (a.as_ptr(), 1, k as isize),
            (w.as_ptr(), k as isize, 1),
        );
    }
}

/// `out[m×k] = g[m×n] · w` where `w` is row-major `n × k` (the transposed pass of a dense
/// layer).
///
/// # Panics
/// When a slice is shorter than its shape.
pub fn mul_w<F: Float>(g: &[F], m: usize, n: usize, w: &[F], k: usize, out: &mut [F]) {
    assert!(g.len() >= m * n && w.len() >= n * k && out.len() >= m * k);
    if m == 0 || k == 0 {
        return;
    }
    if n <= 4 || m <= 2 || m * n * k < SMALL {
        for (gi, oi) in g.chunks_exact(n).zip(out.chunks_exact_mut(k)).take(m) {
            oi.fill(F::zero());
            for (&gj, wj) in gi.iter().zip(w.chunks_exact(k)) {
                if gj != F::zero() {
                    for (o, &wv) in oi.iter_mut().zip(wj) {
                        *o += gj * wv;
                    }
                }
            }
        }
        return;
    }
    // SAFETY: as in `mul_wt`; dst m×k row-major (cs 1, rs k), lhs m×n row-major (cs 1,
    // rs n), rhs = w n×k row-major (cs 1, rs k).
    unsafe {
        strided(
            (m, k, n),
            out.as_mut_ptr(),
            (g.as_ptr(), 1, n as isize),
            (w.as_ptr(), 1, k as isize),
        );
    }
}

/// `out[m×k] = wᵀ · g` where `w` is row-major `n × m` and `g` row-major `n × k` (the
/// transposed pass of a convolution in column layout).
///
/// # Panics
/// When a slice is shorter than its shape.
pub fn mul_tw<F: Float>(w: &[F], n: usize, m: usize, g: &[F], k: usize, out: &mut [F]) {
    assert!(w.len() >= n * m && g.len() >= n * k && out.len() >= m * k);
    if m == 0 || k == 0 {
        return;
    }
    if n <= 4 || m * n * k < SMALL {
        out[..m * k].fill(F::zero());
        for (wj, gj) in w.chunks_exact(m).zip(g.chunks_exact(k)).take(n) {
            for (&wv, oi) in wj.iter().zip(out.chunks_exact_mut(k)) {
                if wv != F::zero() {
                    for (o, &gv) in oi.iter_mut().zip(gj) {
                        *o += wv * gv;
                    }
                }
            }
        }
        return;
    }
    // SAFETY: as in `mul_wt`; dst m×k row-major (cs 1, rs k), lhs = wᵀ m×n with element
    // (i, j) at w[j·m + i] (cs m, rs 1), rhs = g n×k row-major (cs 1, rs k).
    unsafe {
        strided(
            (m, k, n),
            out.as_mut_ptr(),
            (w.as_ptr(), m as isize, 1),
            (g.as_ptr(), 1, k as isize),
        );
    }
}

/// `dst[m×n] (row-major) = lhs[m×k] · rhs[k×n]`, each operand given by its pointer and its
/// (column, row) strides, through `gemm` on one thread.
///
/// # Safety
/// `dst` must be valid for `m·n` writes and not overlap the operands; every element the
/// strides reach in `lhs` and `rhs` must be in bounds (callers assert their slice lengths).
unsafe fn strided<F: Float>(
    (m, n, k): (usize, usize, usize),
    dst: *mut F,
    (lhs, lhs_cs, lhs_rs): (*const F, isize, isize),
    (rhs, rhs_cs, rhs_rs): (*const F, isize, isize),
) {
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            false,
            lhs,
            lhs_cs,
            lhs_rs,
            rhs,
            rhs_cs,
            rhs_rs,
            F::zero(),
            F::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Dot product with eight independent accumulators (lets LLVM vectorise without
/// reassociating a single sum).
#[inline]
pub fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += *x * *y;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_wt(a: &[f64], m: usize, k: usize, w: &[f64], n: usize) -> Vec<f64> {
        let mut o = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                o[i * n + j] = (0..k).map(|p| a[i * k + p] * w[j * k + p]).sum();
            }
        }
        o
    }

    #[test]
    fn products_match_naive_on_all_paths() {
        for &(m, k, n) in &[
            (1, 3, 2),
            (5, 13, 2),
            (64, 100, 256),
            (33, 17, 9),
            (7, 1, 40),
        ] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 11) as f64) - 5.0).collect();
            let w: Vec<f64> = (0..n * k)
                .map(|i| ((i * 13 % 7) as f64) * 0.5 - 1.0)
                .collect();
            let mut o = vec![0.0; m * n];
            mul_wt(&a, m, k, &w, n, &mut o);
            assert_eq!(o, naive_wt(&a, m, k, &w, n), "mul_wt {m}x{k}x{n}");
            // g·w with g = o (m×n), w (n×k).
            let mut back = vec![0.0; m * k];
            mul_w(&o, m, n, &w, k, &mut back);
            for i in 0..m {
                for p in 0..k {
                    let want: f64 = (0..n).map(|j| o[i * n + j] * w[j * k + p]).sum();
                    assert!((back[i * k + p] - want).abs() <= 1e-9 * want.abs().max(1.0));
                }
            }
        }
    }
}
