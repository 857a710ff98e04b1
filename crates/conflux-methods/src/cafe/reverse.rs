//! CAFE reverse mode: one forward sweep carrying only the per-neuron aggregates (recording the
//! multipliers), then one backward sweep per (target, output sign) through the transposed
//! rules (cafe.md §Computing it fast, 2). Cost ≈ one forward + two backward passes per
//! target, independent of the number of features.

use conflux_core::Float;

use super::{Chunk, ChunkScores};
use crate::propagate::walk::{BiasRows, Split, Workspace, walk_backward, walk_forward};

/// Scores for the chunk's rows at its target, into `s`.
pub(super) fn run<F: Float>(c: &Chunk<F>, ws: &mut Workspace<F>, s: &mut ChunkScores<F>) {
    let (plan, rows) = (c.plan, c.rows);
    let d = plan.input_dim();
    let input = c.input_split();
    let mut state = input.clone();
    walk_forward(plan, &mut state, 1, BiasRows::All, c.trace, c.rule, ws);
    let n = plan.output_dim();
    // The explained outputs come from a plain forward pass (the propagated sums carry the
    // rule's ε and would differ from F(x) in the last digits).
    let logits = plan.forward(c.x, rows);
    s.resolve(&logits, n, c.target);
    // Adjoint rows: entry e owns rows 2e (for S+ at its target) and 2e + 1 (for S−).
    let entries = s.len();
    let per_row = c.target.per_row(n);
    let mut g = Split {
        pos: vec![F::zero(); 2 * entries * n],
        neg: vec![F::zero(); 2 * entries * n],
        rows: 2 * entries,
        width: n,
    };
    for (e, &t) in s.targets.iter().enumerate() {
        g.pos[2 * e * n + t] = F::one();
        g.neg[(2 * e + 1) * n + t] = F::one();
    }
    walk_backward(plan, &mut g, 2 * per_row, c.trace, ws);
    let (gin, bias) = (&g, &ws.bias);
    for e in 0..entries {
        let b = s.rows[e];
        let (dp, dn) = (
            &input.pos[b * d..(b + 1) * d],
            &input.neg[b * d..(b + 1) * d],
        );
        for (k, dst) in [(2 * e, &mut *s.feat_pos), (2 * e + 1, &mut *s.feat_neg)] {
            let (gp, gn) = (&gin.pos[k * d..(k + 1) * d], &gin.neg[k * d..(k + 1) * d]);
            for f in 0..d {
                dst[e * d + f] = gp[f] * dp[f] + gn[f] * dn[f];
            }
        }
        s.bias_pos[e] = bias[2 * e];
        s.bias_neg[e] = bias[2 * e + 1];
    }
}
