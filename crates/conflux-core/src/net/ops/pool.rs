//! Average pooling (`AveragePool`, `GlobalAveragePool`, `ReduceMean` over spatial axes) as a
//! sparse linear map with non-negative weights: each output is a weighted sum of its window
//! (`|W| = W`). Stored as compressed rows (one row per output element of one image).

use super::window::Window;
use super::{Bias, LinearMap};
use crate::float::Float;

/// What a pooling map was built from (what model files save).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolGeometry {
    /// `AveragePool` over `channels` planes of a window.
    Average {
        /// Channels.
        channels: usize,
        /// Window geometry.
        window: Window,
        /// Whether padding counts in the divisor.
        count_include_pad: bool,
    },
    /// The mean over each channel's `len` positions.
    Mean {
        /// Channels.
        channels: usize,
        /// Positions per channel.
        len: usize,
    },
}

/// A sparse non-negative linear map.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolOp<F> {
    /// The ONNX op it came from (for messages and `inspect`).
    pub kind: &'static str,
    /// What it was built from.
    pub geometry: PoolGeometry,
    /// Inputs per row.
    pub n_in: usize,
    /// `ptr[j]..ptr[j+1]` are output `j`'s entries.
    pub ptr: Vec<usize>,
    /// Input index per entry.
    pub idx: Vec<u32>,
    /// Weight per entry (≥ 0).
    pub w: Vec<F>,
}

impl<F: Float> PoolOp<F> {
    /// `AveragePool` over `channels` planes of `window`.
    pub fn average(channels: usize, window: &Window, count_include_pad: bool) -> Self {
        let (p_len, hw) = (window.out_len(), window.in_len());
        let mut op = PoolOp {
            kind: "AveragePool",
            geometry: PoolGeometry::Average {
                channels,
                window: window.clone(),
                count_include_pad,
            },
            n_in: channels * hw,
            ptr: vec![0],
            idx: Vec::new(),
            w: Vec::new(),
        };
        let mut taps = Vec::with_capacity(window.kernel_len());
        for c in 0..channels {
            for p in 0..p_len {
                taps.clear();
                window.taps(p, |_, at| taps.extend(at));
                let count = if count_include_pad {
                    window.padded_count(p)
                } else {
                    taps.len()
                };
                let inv = F::one() / F::of(count.max(1) as f64);
                for &t in &taps {
                    op.idx.push(u32::try_from(c * hw + t).unwrap_or(u32::MAX));
                    op.w.push(inv);
                }
                op.ptr.push(op.idx.len());
            }
        }
        op
    }

    /// The mean over each channel's `len` positions (`GlobalAveragePool`, `ReduceMean` over
    /// the spatial axes).
    pub fn mean(kind: &'static str, channels: usize, len: usize) -> Self {
        let inv = F::one() / F::of(len.max(1) as f64);
        PoolOp {
            kind,
            geometry: PoolGeometry::Mean { channels, len },
            n_in: channels * len,
            ptr: (0..=channels).map(|c| c * len).collect(),
            idx: (0..channels * len)
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect(),
            w: vec![inv; channels * len],
        }
    }

    /// Converts the weights to precision `G`.
    pub fn cast<G: Float>(&self) -> PoolOp<G> {
        PoolOp {
            kind: self.kind,
            geometry: self.geometry.clone(),
            n_in: self.n_in,
            ptr: self.ptr.clone(),
            idx: self.idx.clone(),
            w: self.w.iter().map(|&v| G::of(v.f64())).collect(),
        }
    }
}

impl<F: Float> LinearMap<F> for PoolOp<F> {
    fn n_in(&self) -> usize {
        self.n_in
    }
    fn n_out(&self) -> usize {
        self.ptr.len() - 1
    }
    fn apply(&self, x: &[F], rows: usize, _abs: bool, out: &mut [F]) {
        let (n_in, n_out) = (self.n_in, self.n_out());
        for r in 0..rows {
            let xr = &x[r * n_in..(r + 1) * n_in];
            for (j, o) in out[r * n_out..(r + 1) * n_out].iter_mut().enumerate() {
                let mut s = F::zero();
                for e in self.ptr[j]..self.ptr[j + 1] {
                    s += self.w[e] * xr[self.idx[e] as usize];
                }
                *o = s;
            }
        }
    }
    fn apply_t(&self, g: &[F], rows: usize, _abs: bool, out: &mut [F]) {
        let (n_in, n_out) = (self.n_in, self.n_out());
        out[..rows * n_in].fill(F::zero());
        for r in 0..rows {
            let gr = &g[r * n_out..(r + 1) * n_out];
            let or = &mut out[r * n_in..(r + 1) * n_in];
            for (j, &gv) in gr.iter().enumerate() {
                for e in self.ptr[j]..self.ptr[j + 1] {
                    or[self.idx[e] as usize] += self.w[e] * gv;
                }
            }
        }
    }
    fn bias(&self) -> Option<&Bias<F>> {
        None
    }
}
