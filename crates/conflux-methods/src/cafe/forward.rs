//! CAFE forward mode: every source's `(S+, S−)` carried through the network
//! (cafe.md §Computing it fast, 1). Cost ≈ (d + 1) forward passes; all outputs at once.

use conflux_core::{Float, Plan, Target};

use super::{ChunkScores, rule::CafeRule};
use crate::propagate::walk::{BiasRows, ReferenceTrace, Split, Workspace, walk_forward};

/// Scores for `rows` inputs (`x`, `r`: row-major; `r` has 1 or `rows` rows) at `target`.
#[allow(clippy::too_many_arguments)]
pub(super) fn run<F: Float>(
    plan: &Plan<F>,
    x: &[F],
    r: &[F],
    rows: usize,
    trace: &ReferenceTrace<F>,
    rule: &CafeRule<F>,
    target: Target,
    ws: &mut Workspace<F>,
    s: &mut ChunkScores<F>,
) {
    let d = plan.input_dim();
    let g = d + 1;
    // cafe.md §Input rule: S+[f, f] = (x_f − r_f)₊, S−[f, f] = (r_f − x_f)₊, bias source 0.
    let mut pos = vec![F::zero(); rows * g * d];
    let mut neg = vec![F::zero(); rows * g * d];
    for b in 0..rows {
        let rb = trace.row_of(b);
        for f in 0..d {
            let delta = x[b * d + f] - r[rb * d + f];
            let at = (b * g + f) * d + f;
            pos[at] = delta.max(F::zero());
            neg[at] = (-delta).max(F::zero());
        }
    }
    let mut out = Split {
        pos,
        neg,
        rows: rows * g,
        width: d,
    };
    walk_forward(plan, &mut out, g, BiasRows::LastOfGroup, trace, rule, ws);
    let n = out.width;
    // The explained outputs come from a plain forward pass (the propagated sums carry the
    // rule's ε and would differ from F(x) in the last digits).
    let logits = plan.forward(x, rows);
    s.resolve(&logits, n, target);
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
