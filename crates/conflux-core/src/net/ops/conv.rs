//! Convolution (`Conv`, 1-D and 2-D, with strides, padding, dilations and groups) through
//! im2col and the GEMM of [`crate::linalg`]. Per image and group the input's windows are
//! gathered into a `[C·kh·kw, positions]` matrix (whole contiguous runs of input rows per
//! kernel tap), multiplied by the kernel `[C_out, C·kh·kw]` straight into the output's
//! `[C_out, positions]` layout; the transpose multiplies by the kernel's transpose and adds
//! the columns back (col2im).

use super::window::Window;
use super::{Bias, LinearMap};
use crate::float::Float;
use crate::linalg;

/// A convolution in precision `F`: kernel `[c_out, c_in/groups, kh, kw]`.
#[derive(Debug, Clone, PartialEq)]
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
    /// Per kernel tap `(ki, kj)` and output column `ow`: the valid `ow` range (the input
    /// column is inside the image).
    cols: Vec<(usize, usize)>,
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
        let p_len = window.out_len();
        // Valid output columns per kernel column: iw = ow·s + kj·d − pad ∈ [0, W).
        let (s, d, pad, width, out_w) = (
            window.stride[1],
            window.dilation[1],
            window.pad[1],
            window.input[1],
            window.output[1],
        );
        let cols = (0..window.kernel[1])
            .map(|kj| {
                let off = kj * d;
                let lo = if off >= pad {
                    0
                } else {
                    (pad - off).div_ceil(s)
                };
                // ow·s + off − pad ≤ W − 1  ⇔  ow ≤ (W − 1 + pad − off)/s.
                let hi = if width + pad > off {
                    ((width - 1 + pad - off) / s + 1).min(out_w)
                } else {
                    0
                };
                (lo.min(hi), hi)
            })
            .collect();
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
            cols,
        }
    }

    fn dims(&self) -> (usize, usize, usize, usize) {
        let (cin_g, cout_g) = (self.c_in / self.groups, self.c_out / self.groups);
        let kk = self.window.kernel_len();
        (cin_g, cout_g, self.window.out_len(), cin_g * kk)
    }

    /// Calls `f(row of the column matrix, input row slice offset, ow range, input stride)`
    /// for every (channel, tap, output row) whose input row exists: column-matrix row
    /// `(ci·kh + ki)·kw + kj`, output positions `oh·Wo + ow` for `ow` in the range read
    /// input `in_row + ow·s + kj·d − pad`.
    #[inline]
    fn for_runs(&self, cin_g: usize, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
        let w = &self.window;
        let (kh, kw) = (w.kernel[0], w.kernel[1]);
        let (out_h, out_w) = (w.output[0], w.output[1]);
        let hw = w.in_len();
        for ci in 0..cin_g {
            for ki in 0..kh {
                for kj in 0..kw {
                    let row = (ci * kh + ki) * kw + kj;
                    let (lo, hi) = self.cols[kj];
                    if lo >= hi {
                        continue;
                    }
                    for oh in 0..out_h {
                        let ih = (oh * w.stride[0] + ki * w.dilation[0]).checked_sub(w.pad[0]);
                        let Some(ih) = ih.filter(|&ih| ih < w.input[0]) else {
                            continue;
                        };
                        // Input index of ow = lo.
                        let start =
                            ci * hw + ih * w.input[1] + lo * w.stride[1] + kj * w.dilation[1]
                                - w.pad[1];
                        f(row, oh * out_w, start, lo, hi);
                    }
                }
            }
        }
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
        let (cin_g, cout_g, p_len, k) = self.dims();
        let (n_in, n_out, hw) = (self.n_in(), self.n_out(), self.window.in_len());
        let w = if abs { &self.w_abs } else { &self.w };
        let s = self.window.stride[1];
        let mut cols = vec![F::zero(); k * p_len];
        for b in 0..rows {
            for g in 0..self.groups {
                let xg = &x[b * n_in + g * cin_g * hw..b * n_in + (g + 1) * cin_g * hw];
                // The runs cover the same positions for every image and group; the rest
                // (padding) stays at the zeros `cols` was allocated with.
                self.for_runs(cin_g, |row, at, start, lo, hi| {
                    let dst = &mut cols[row * p_len + at + lo..row * p_len + at + hi];
                    if s == 1 {
                        dst.copy_from_slice(&xg[start..start + (hi - lo)]);
                    } else {
                        for (i, d) in dst.iter_mut().enumerate() {
                            *d = xg[start + i * s];
                        }
                    }
                });
                let wg = &w[g * cout_g * k..(g + 1) * cout_g * k];
                let dst =
                    &mut out[b * n_out + g * cout_g * p_len..b * n_out + (g + 1) * cout_g * p_len];
                linalg::mul_w(wg, cout_g, k, &cols, p_len, dst);
            }
        }
    }

    fn apply_t(&self, gr: &[F], rows: usize, abs: bool, out: &mut [F]) {
        let (cin_g, cout_g, p_len, k) = self.dims();
        let (n_in, n_out, hw) = (self.n_in(), self.n_out(), self.window.in_len());
        let w = if abs { &self.w_abs } else { &self.w };
        let s = self.window.stride[1];
        out[..rows * n_in].fill(F::zero());
        let mut cols = vec![F::zero(); k * p_len];
        for b in 0..rows {
            for g in 0..self.groups {
                let wg = &w[g * cout_g * k..(g + 1) * cout_g * k];
                let gg = &gr[b * n_out + g * cout_g * p_len..b * n_out + (g + 1) * cout_g * p_len];
                linalg::mul_tw(wg, cout_g, k, gg, p_len, &mut cols);
                let og = &mut out[b * n_in + g * cin_g * hw..b * n_in + (g + 1) * cin_g * hw];
                self.for_runs(cin_g, |row, at, start, lo, hi| {
                    let src = &cols[row * p_len + at + lo..row * p_len + at + hi];
                    if s == 1 {
                        for (o, &v) in og[start..start + (hi - lo)].iter_mut().zip(src) {
                            *o += v;
                        }
                    } else {
                        for (i, &v) in src.iter().enumerate() {
                            og[start + i * s] += v;
                        }
                    }
                });
            }
        }
    }

    fn bias(&self) -> Option<&Bias<F>> {
        self.bias.as_ref()
    }
}
