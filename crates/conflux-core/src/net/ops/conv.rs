//! Convolution (`Conv`, 1-D and 2-D, with strides, padding, dilations and groups) through
//! im2col and the GEMM of [`crate::linalg`]: the input's windows are gathered into a matrix
//! with one row per (image, output position), multiplied by the kernel, and scattered back
//! (col2im) for the transpose. Row blocks bound the im2col buffer.

use super::window::Window;
use super::{Bias, LinearMap};
use crate::float::Float;
use crate::linalg;

/// Most im2col elements held at once (per call); larger batches run in row blocks.
const COLS_BUDGET: usize = 1 << 21;

/// Marks a kernel tap that falls on padding.
const PAD: u32 = u32::MAX;

/// A convolution in precision `F`: kernel `[c_out, c_in/groups, kh, kw]`.
#[derive(Debug, Clone)]
pub struct ConvOp<F> {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Groups.
    pub groups: usize,
    /// Window geometry.
    pub window: Window,
    /// Kernel, row-major `[c_out, c_in/groups · kh · kw]`.
    pub w: Vec<F>,
    /// `|W|`.
    pub w_abs: Vec<F>,
    /// Per-channel bias as given.
    pub channel_bias: Option<Vec<F>>,
    /// Bias per output element (channel bias repeated over positions).
    pub bias: Option<Bias<F>>,
    /// For each output position and kernel tap, the input position (or `PAD`).
    taps: Vec<u32>,
}

impl<F: Float> ConvOp<F> {
    /// Builds the op from `f64` parameters. The caller has checked the shapes (see
    /// [`crate::net::graph`]).
    pub fn new(
        c_in: usize,
        c_out: usize,
        groups: usize,
        window: Window,
        w: &[f64],
        bias: Option<&[f64]>,
    ) -> Self {
        let (p_len, k_len) = (window.out_len(), window.kernel_len());
        let mut taps = vec![PAD; p_len * k_len];
        for p in 0..p_len {
            window.taps(p, |q, at| {
                if let Some(at) = at {
                    taps[p * k_len + q] = u32::try_from(at).unwrap_or(PAD);
                }
            });
        }
        let w: Vec<F> = super::cast(w);
        let w_abs = w.iter().map(|v| v.abs()).collect();
        let channel_bias: Option<Vec<F>> = bias.map(super::cast);
        let bias = channel_bias.as_ref().map(|b| {
            Bias::new(
                b.iter()
                    .flat_map(|&v| std::iter::repeat_n(v, p_len))
                    .collect(),
            )
        });
        ConvOp {
            c_in,
            c_out,
            groups,
            window,
            w,
            w_abs,
            channel_bias,
            bias,
            taps,
        }
    }

    fn dims(&self) -> (usize, usize, usize, usize, usize) {
        let (cin_g, cout_g) = (self.c_in / self.groups, self.c_out / self.groups);
        let (p, kk) = (self.window.out_len(), self.window.kernel_len());
        (cin_g, cout_g, p, kk, cin_g * kk)
    }

    /// Rows per block so the im2col buffer stays within budget.
    fn block(&self) -> usize {
        let (_, _, p, _, k) = self.dims();
        (COLS_BUDGET / (p * k).max(1)).max(1)
    }
}

impl<F: Float> LinearMap<F> for ConvOp<F> {
    fn n_in(&self) -> usize {
        self.c_in * self.window.in_len()
    }
    fn n_out(&self) -> usize {
        self.c_out * self.window.out_len()
    }

    fn apply(&self, x: &[F], rows: usize, abs: bool, out: &mut [F]) {
        let (cin_g, cout_g, p_len, kk, k) = self.dims();
        let (n_in, n_out, hw) = (self.n_in(), self.n_out(), self.window.in_len());
        let w = if abs { &self.w_abs } else { &self.w };
        let block = self.block();
        let mut cols = Vec::new();
        let mut prod = Vec::new();
        for r0 in (0..rows).step_by(block) {
            let rb = block.min(rows - r0);
            cols.clear();
            cols.resize(rb * p_len * k, F::zero());
            prod.clear();
            prod.resize(rb * p_len * cout_g, F::zero());
            for g in 0..self.groups {
                // im2col: row (image, position), column (channel in group, tap).
                for b in 0..rb {
                    let xb = &x[(r0 + b) * n_in..(r0 + b + 1) * n_in];
                    for p in 0..p_len {
                        let dst = &mut cols[(b * p_len + p) * k..(b * p_len + p + 1) * k];
                        let taps = &self.taps[p * kk..(p + 1) * kk];
                        for ci in 0..cin_g {
                            let src = &xb[(g * cin_g + ci) * hw..(g * cin_g + ci + 1) * hw];
                            for (d, &t) in dst[ci * kk..(ci + 1) * kk].iter_mut().zip(taps) {
                                *d = if t == PAD { F::zero() } else { src[t as usize] };
                            }
                        }
                    }
                }
                let wg = &w[g * cout_g * k..(g + 1) * cout_g * k];
                linalg::mul_wt(&cols, rb * p_len, k, wg, cout_g, &mut prod);
                for b in 0..rb {
                    let ob = &mut out[(r0 + b) * n_out..(r0 + b + 1) * n_out];
                    for p in 0..p_len {
                        let src = &prod[(b * p_len + p) * cout_g..(b * p_len + p + 1) * cout_g];
                        for (co, &v) in src.iter().enumerate() {
                            ob[(g * cout_g + co) * p_len + p] = v;
                        }
                    }
                }
            }
        }
    }

    fn apply_t(&self, gr: &[F], rows: usize, abs: bool, out: &mut [F]) {
        let (cin_g, cout_g, p_len, kk, k) = self.dims();
        let (n_in, n_out, hw) = (self.n_in(), self.n_out(), self.window.in_len());
        let w = if abs { &self.w_abs } else { &self.w };
        out[..rows * n_in].fill(F::zero());
        let block = self.block();
        let mut gt = Vec::new();
        let mut cols = Vec::new();
        for r0 in (0..rows).step_by(block) {
            let rb = block.min(rows - r0);
            gt.clear();
            gt.resize(rb * p_len * cout_g, F::zero());
            cols.clear();
            cols.resize(rb * p_len * k, F::zero());
            for g in 0..self.groups {
                for b in 0..rb {
                    let gb = &gr[(r0 + b) * n_out..(r0 + b + 1) * n_out];
                    for p in 0..p_len {
                        let dst = &mut gt[(b * p_len + p) * cout_g..(b * p_len + p + 1) * cout_g];
                        for (co, d) in dst.iter_mut().enumerate() {
                            *d = gb[(g * cout_g + co) * p_len + p];
                        }
                    }
                }
                let wg = &w[g * cout_g * k..(g + 1) * cout_g * k];
                linalg::mul_w(&gt, rb * p_len, cout_g, wg, k, &mut cols);
                // col2im: scatter-add every tap back to its input position.
                for b in 0..rb {
                    let ob = &mut out[(r0 + b) * n_in..(r0 + b + 1) * n_in];
                    for p in 0..p_len {
                        let src = &cols[(b * p_len + p) * k..(b * p_len + p + 1) * k];
                        let taps = &self.taps[p * kk..(p + 1) * kk];
                        for ci in 0..cin_g {
                            let dst = &mut ob[(g * cin_g + ci) * hw..(g * cin_g + ci + 1) * hw];
                            for (&v, &t) in src[ci * kk..(ci + 1) * kk].iter().zip(taps) {
                                if t != PAD {
                                    dst[t as usize] += v;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn bias(&self) -> Option<&Bias<F>> {
        self.bias.as_ref()
    }
}
