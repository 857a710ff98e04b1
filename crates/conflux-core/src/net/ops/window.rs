//! Sliding-window geometry shared by convolutions and pooling (ONNX semantics): per spatial
//! axis a kernel size, stride, dilation and leading/trailing padding, with checked arithmetic
//! (every attribute comes from an untrusted file).

/// Window geometry over one or two spatial axes (a 1-D op has height 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Input `[height, width]`.
    pub input: [usize; 2],
    /// Output `[height, width]`.
    pub output: [usize; 2],
    /// Kernel `[height, width]`.
    pub kernel: [usize; 2],
    /// Strides.
    pub stride: [usize; 2],
    /// Dilations.
    pub dilation: [usize; 2],
    /// Leading padding (top, left).
    pub pad: [usize; 2],
    /// Trailing padding (bottom, right).
    pub pad_end: [usize; 2],
}

/// The per-axis attributes as read from a node, before the output size is known.
#[derive(Debug, Clone)]
pub struct WindowSpec {
    /// Kernel per axis.
    pub kernel: Vec<usize>,
    /// Strides per axis.
    pub stride: Vec<usize>,
    /// Dilations per axis.
    pub dilation: Vec<usize>,
    /// ONNX `pads`: all leading values, then all trailing values.
    pub pads: Vec<usize>,
    /// ONNX `auto_pad`: `NOTSET`, `VALID`, `SAME_UPPER` or `SAME_LOWER`.
    pub auto_pad: String,
    /// Pooling `ceil_mode`.
    pub ceil_mode: bool,
}

/// Largest window side or stride accepted (bounds the loops before anything is allocated).
const MAX_SIDE: usize = 1 << 16;

impl WindowSpec {
    /// Resolves the geometry for a `spatial`-shaped input (1 or 2 axes).
    ///
    /// # Errors
    /// A message naming the attribute when lengths disagree, a value is 0 or too large, or
    /// the window does not fit the (padded) input.
    pub fn resolve(&self, spatial: &[usize]) -> Result<Window, String> {
        self.resolve_with(spatial, true)
    }

    /// As [`WindowSpec::resolve`] for a convolution, whose padding may exceed the kernel
    /// (ONNX allows it; the extra positions see zeros).
    ///
    /// # Errors
    /// As [`WindowSpec::resolve`], without the padding-below-kernel rule.
    pub fn resolve_conv(&self, spatial: &[usize]) -> Result<Window, String> {
        self.resolve_with(spatial, false)
    }

    fn resolve_with(&self, spatial: &[usize], pooling: bool) -> Result<Window, String> {
        let rank = spatial.len();
        if !(1..=2).contains(&rank) {
            return Err(format!(
                "expected 1 or 2 spatial axes, got {rank} (input shape {spatial:?} after batch and channels)"
            ));
        }
        for (name, v, len) in [
            ("kernel_shape", &self.kernel, rank),
            ("strides", &self.stride, rank),
            ("dilations", &self.dilation, rank),
            ("pads", &self.pads, 2 * rank),
        ] {
            if v.len() != len {
                return Err(format!(
                    "expected {name} of length {len} for {rank} spatial axes, got {v:?}"
                ));
            }
            if name != "pads" && v.iter().any(|&x| x == 0 || x > MAX_SIDE) {
                return Err(format!("expected {name} in 1..={MAX_SIDE}, got {v:?}"));
            }
            if v.iter().any(|&x| x > MAX_SIDE) {
                return Err(format!("expected {name} ≤ {MAX_SIDE}, got {v:?}"));
            }
        }
        let mut w = Window {
            input: [1, 1],
            output: [1, 1],
            kernel: [1, 1],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [0, 0],
            pad_end: [0, 0],
        };
        let off = 2 - rank;
        for (a, &n) in spatial.iter().enumerate() {
            let (k, s, d) = (self.kernel[a], self.stride[a], self.dilation[a]);
            let span = d * (k - 1) + 1;
            let (begin, end) = match self.auto_pad.as_str() {
                "" | "NOTSET" => (self.pads[a], self.pads[a + rank]),
                "VALID" => (0, 0),
                "SAME_UPPER" | "SAME_LOWER" => {
                    let out = n.div_ceil(s);
                    let total = ((out - 1) * s + span).saturating_sub(n);
                    let small = total / 2;
                    if self.auto_pad == "SAME_UPPER" {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    }
                }
                other => {
                    return Err(format!(
                        "expected auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER, got '{}'",
                        crate::error::quote(other)
                    ));
                }
            };
            if pooling && (begin >= span || end >= span) {
                return Err(format!(
                    "expected padding smaller than the kernel's span {span} on axis {a}, got {begin} and {end}"
                ));
            }
            let padded = n + begin + end;
            if padded < span {
                return Err(format!(
                    "kernel span {span} is larger than the padded input {padded} on spatial axis {a}"
                ));
            }
            let mut out = if self.ceil_mode {
                (padded - span).div_ceil(s) + 1
            } else {
                (padded - span) / s + 1
            };
            // PyTorch/ONNX: with ceil_mode the last window must start inside the input or
            // the leading padding.
            if self.ceil_mode && (out - 1) * s >= n + begin {
                out -= 1;
            }
            w.input[off + a] = n;
            w.output[off + a] = out;
            w.kernel[off + a] = k;
            w.stride[off + a] = s;
            w.dilation[off + a] = d;
            w.pad[off + a] = begin;
            w.pad_end[off + a] = end;
        }
        Ok(w)
    }
}

impl Window {
    /// Input positions per channel.
    pub fn in_len(&self) -> usize {
        self.input[0] * self.input[1]
    }
    /// Output positions per channel.
    pub fn out_len(&self) -> usize {
        self.output[0] * self.output[1]
    }
    /// Kernel positions.
    pub fn kernel_len(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// For output position `p` and kernel offset `q`, the input position, or `None` where
    /// the window covers padding. Calls `f(q, input)` for every kernel offset.
    pub fn taps(&self, p: usize, mut f: impl FnMut(usize, Option<usize>)) {
        let (oh, ow) = (p / self.output[1], p % self.output[1]);
        for ki in 0..self.kernel[0] {
            let h = (oh * self.stride[0] + ki * self.dilation[0]).checked_sub(self.pad[0]);
            for kj in 0..self.kernel[1] {
                let w = (ow * self.stride[1] + kj * self.dilation[1]).checked_sub(self.pad[1]);
                let at = match (h, w) {
                    (Some(h), Some(w)) if h < self.input[0] && w < self.input[1] => {
                        Some(h * self.input[1] + w)
                    }
                    _ => None,
                };
                f(ki * self.kernel[1] + kj, at);
            }
        }
    }

    /// The number of window positions that lie inside the padded extent (what
    /// `count_include_pad` divides by): positions past the trailing padding of a ceil-mode
    /// window are not counted.
    pub fn padded_count(&self, p: usize) -> usize {
        let pad_end = self.pad_end;
        let (oh, ow) = (p / self.output[1], p % self.output[1]);
        let mut n = 0;
        for ki in 0..self.kernel[0] {
            let h = oh * self.stride[0] + ki * self.dilation[0];
            if h >= self.input[0] + self.pad[0] + pad_end[0] {
                continue;
            }
            for kj in 0..self.kernel[1] {
                let w = ow * self.stride[1] + kj * self.dilation[1];
                if w < self.input[1] + self.pad[1] + pad_end[1] {
                    n += 1;
                }
            }
        }
        n
    }
}
