//! Structural ops that move elements without arithmetic — `Transpose`, `Slice`, `Concat`
//! (and any composition of them): output element `j` of a row is element `index[j]` of the
//! row-wise concatenation of the inputs. Reshape-like ops (`Reshape`, `Flatten`, `Squeeze`,
//! `Unsqueeze`) keep the C-order layout and need no op at all. Every method applies a
//! gather to its state alike; the transpose scatters (adds) back.

use crate::float::Float;

/// An index map from the concatenated inputs to the output.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherOp {
    /// The ONNX op it came from.
    pub kind: &'static str,
    /// Elements per row of each input.
    pub in_sizes: Vec<usize>,
    /// Source index (into the concatenated inputs) of each output element.
    pub index: Vec<u32>,
}

impl GatherOp {
    /// Elements per row of the concatenated inputs.
    pub fn n_in(&self) -> usize {
        self.in_sizes.iter().sum()
    }

    /// Forward: `out[r, j] = cat(inputs)[r, index[j]]`.
    pub fn apply<F: Float>(&self, inputs: &[&[F]], rows: usize, out: &mut [F]) {
        let n = self.index.len();
        let mut starts = Vec::with_capacity(self.in_sizes.len());
        let mut acc = 0;
        for &s in &self.in_sizes {
            starts.push(acc);
            acc += s;
        }
        for r in 0..rows {
            for (j, &src) in self.index.iter().enumerate() {
                let src = src as usize;
                let k = starts.partition_point(|&s| s <= src) - 1;
                let size = self.in_sizes[k];
                out[r * n + j] = inputs[k][r * size + src - starts[k]];
            }
        }
    }

    /// Transpose: adds `g[r, j]` to input `index[j]`; `outs[k]` (one per input) are
    /// overwritten.
    pub fn apply_t<F: Float>(&self, g: &[F], rows: usize, outs: &mut [Vec<F>]) {
        let n = self.index.len();
        let mut starts = Vec::with_capacity(self.in_sizes.len());
        let mut acc = 0;
        for (o, &s) in outs.iter_mut().zip(&self.in_sizes) {
            starts.push(acc);
            acc += s;
            o.clear();
            o.resize(rows * s, F::zero());
        }
        for r in 0..rows {
            for (j, &src) in self.index.iter().enumerate() {
                let src = src as usize;
                let k = starts.partition_point(|&s| s <= src) - 1;
                let size = self.in_sizes[k];
                outs[k][r * size + src - starts[k]] += g[r * n + j];
            }
        }
    }
}
