//! CAFE forward mode: every source's `(S+, S−)` carried through the network
//! (cafe.md §Computing it fast, 1). Cost ≈ (d + 1) forward passes; all outputs at once.

use conflux_core::Float;

use super::{Chunk, ChunkScores};
use crate::propagate::walk::{BiasRows, Split, Workspace, walk_forward};

/// Scores for the chunk's rows at its target, into `s`.
pub(super) fn run<F: Float>(c: &Chunk<F>, ws: &mut Workspace<F>, s: &mut ChunkScores<F>) {
    let (plan, rows) = (c.plan, c.rows);
    let d = plan.input_dim();
    let g = d + 1;
    // Source f of row b starts with its input-rule scores at neuron f; the bias source
    // (the last of each group) starts at 0.
    let input = c.input_split();
    let mut pos = vec![F::zero(); rows * g * d];
    let mut neg = vec![F::zero(); rows * g * d];
    for b in 0..rows {
        for f in 0..d {
            let at = (b * g + f) * d + f;
            pos[at] = input.pos[b * d + f];
            neg[at] = input.neg[b * d + f];
        }
    }
    let mut out = Split {
        pos,
        neg,
        rows: rows * g,
        width: d,
    };
    walk_forward(
        plan,
        &mut out,
        g,
        BiasRows::LastOfGroup,
        c.trace,
        c.rule,
        ws,
    );
    let n = out.width;
    // The explained outputs come from a plain forward pass (the propagated sums carry the
    // rule's ε and would differ from F(x) in the last digits).
    let logits = plan.forward(c.x, rows);
    s.resolve(&logits, n, c.target);
    for e in 0..s.len() {
        let (b, t) = (s.rows[e], s.targets[e]);
        for f in 0..d {
            let at = (b * g + f) * n + t;
            s.feat_pos[e * d + f] = out.pos[at];
            s.feat_neg[e * d + f] = out.neg[at];
        }
        let at = (b * g + d) * n + t;
        s.bias_pos[e] = out.pos[at];
        s.bias_neg[e] = out.neg[at];
    }
}
