//! `MaxPool`: each output is the maximum of its window (padding excluded). The forward value
//! and the gradient (routed to the first arg-max, as PyTorch) live here; what a propagation
//! method does at a max (CAFE's two-candidate split) lives in the method's folder.

use super::window::Window;
use crate::float::Float;

/// A max pooling in compressed-row form: the candidates of each output element.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxPoolOp {
    /// Channels.
    pub channels: usize,
    /// Window geometry.
    pub window: Window,
    /// Inputs per row.
    pub n_in: usize,
    /// `ptr[j]..ptr[j+1]` index output `j`'s candidates in `idx`.
    pub ptr: Vec<usize>,
    /// Candidate input indices (in window order, so the first maximum is PyTorch's).
    pub idx: Vec<u32>,
}

impl MaxPoolOp {
    /// `MaxPool` over `channels` planes of `window`.
    ///
    /// # Errors
    /// A message when a window holds no input element (only padding).
    pub fn new(channels: usize, window: &Window) -> Result<Self, String> {
        let (p_len, hw) = (window.out_len(), window.in_len());
        let mut op = MaxPoolOp {
            channels,
            window: window.clone(),
            n_in: channels * hw,
            ptr: vec![0],
            idx: Vec::new(),
        };
        for c in 0..channels {
            for p in 0..p_len {
                let start = op.idx.len();
                window.taps(p, |_, at| {
                    if let Some(t) = at {
                        op.idx.push(u32::try_from(c * hw + t).unwrap_or(u32::MAX));
                    }
                });
                if op.idx.len() == start {
                    return Err(format!(
                        "output position {p} of the {}×{} output covers only padding",
                        window.output[0], window.output[1]
                    ));
                }
                op.ptr.push(op.idx.len());
            }
        }
        Ok(op)
    }

    /// Outputs per row.
    pub fn n_out(&self) -> usize {
        self.ptr.len() - 1
    }

    /// The candidates of output `j`.
    #[inline]
    pub fn window(&self, j: usize) -> &[u32] {
        &self.idx[self.ptr[j]..self.ptr[j + 1]]
    }

    /// The first arg-max of output `j`'s window in `x` (one row).
    #[inline]
    pub fn argmax<F: Float>(&self, x: &[F], j: usize) -> usize {
        let cand = self.window(j);
        let mut best = cand[0] as usize;
        let mut top = x[best];
        // Selects, not branches: which element wins is data, and unpredictable.
        for &i in &cand[1..] {
            let v = x[i as usize];
            let better = v > top;
            best = if better { i as usize } else { best };
            top = if better { v } else { top };
        }
        best
    }

    /// Forward value for `rows` rows.
    pub fn apply<F: Float>(&self, x: &[F], rows: usize, out: &mut [F]) {
        let (n_in, n_out) = (self.n_in, self.n_out());
        for r in 0..rows {
            let xr = &x[r * n_in..(r + 1) * n_in];
            for (o, w) in out[r * n_out..(r + 1) * n_out]
                .iter_mut()
                .zip(self.ptr.windows(2))
            {
                let cand = &self.idx[w[0]..w[1]];
                *o = cand[1..]
                    .iter()
                    .fold(xr[cand[0] as usize], |best, &i| best.max(xr[i as usize]));
            }
        }
    }

    /// Gradient: each output's adjoint goes to its window's first arg-max in `x`.
    pub fn apply_t<F: Float>(&self, x: &[F], g: &[F], rows: usize, out: &mut [F]) {
        let (n_in, n_out) = (self.n_in, self.n_out());
        out[..rows * n_in].fill(F::zero());
        for r in 0..rows {
            let xr = &x[r * n_in..(r + 1) * n_in];
            for j in 0..n_out {
                out[r * n_in + self.argmax(xr, j)] += g[r * n_out + j];
            }
        }
    }
}
