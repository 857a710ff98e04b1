//! The driver of the single-score backward methods (DeepLIFT Rescale, LRP): traces at the
//! entries' inputs (and references), then [`Plan::backward_with`] — the one single-score
//! sweep over the graph — with the method's [`BackwardRule`], in parallel blocks of entries.
//! Sign-split methods (CAFE) use [`super::walk`].

use conflux_core::net::backward::BackwardRule;
use conflux_core::net::plan::Gate;
use conflux_core::{Float, Plan};

use crate::batch::Batch;

/// Values held per block of entries by a single-score method (traces included): blocks keep
/// the working set near cache size, bound memory per thread and give rayon work to share.
const BLOCK_ELEMENTS: usize = 1 << 18;

/// Entries per block for a method holding `copies` whole traces per entry.
pub(crate) fn block_rows<F: Float>(plan: &Plan<F>, copies: usize) -> usize {
    (BLOCK_ELEMENTS / (copies * plan.trace_len()).max(1)).clamp(1, 256)
}

/// What a rule gets of one block of entries (the traces at the inputs are passed to each
/// rule call by the sweep).
pub(crate) struct Traces<F> {
    /// Entries in the block.
    pub rows: usize,
    /// Every tensor at the entries' references: the full network (biases kept) with every
    /// LayerNorm frozen at the input (graph.md §LayerNorm; the plain network when there is
    /// no gate). Empty when not asked for.
    pub refs: Vec<Vec<F>>,
    /// Per node, the frozen LayerNorm `(w, b)` at the inputs (`None` for other ops, and for
    /// every node when the references were not asked for).
    pub gates: Vec<Option<Gate<F>>>,
}

/// The adjoints at the input (`[entries, d]`) of the target outputs, seeded with 1; with
/// `with_refs`, each entry's reference output at its target (the baseline; empty
/// otherwise); and per block what `done` makes of the block's rule after the sweep (what a
/// rule recorded). `rule` builds the method's rule for one block from its reference traces.
pub(crate) fn backward<F, R, M, X, D>(
    plan: &Plan<F>,
    b: &Batch<F>,
    with_refs: bool,
    rule: M,
    done: D,
) -> (Vec<F>, Vec<F>, Vec<X>)
where
    F: Float,
    R: BackwardRule<F>,
    M: Fn(Traces<F>) -> R + Sync,
    D: Fn(R) -> X + Sync,
    X: Send,
{
    use rayon::prelude::*;
    let (d, n) = (b.d, plan.output_dim());
    let block = block_rows(plan, if with_refs { 2 } else { 1 });
    let entries: Vec<usize> = (0..b.len()).collect();
    let parts: Vec<(Vec<F>, Vec<F>, X)> = entries
        .par_chunks(block)
        .map(|es| {
            let e = es.len();
            let xs: Vec<F> = es
                .iter()
                .flat_map(|&i| b.x_row(b.rows[i]).to_vec())
                .collect();
            let values = plan.trace(&xs, e);
            let (refs, gates) = if with_refs {
                let rs: Vec<F> = es
                    .iter()
                    .flat_map(|&i| b.r_row(b.rows[i]).to_vec())
                    .collect();
                if plan.has_gates() {
                    let gates = plan.gates_at(&values);
                    (plan.trace_frozen(&rs, e, &gates, true), gates)
                } else {
                    (plan.trace(&rs, e), vec![None; plan.nodes().len()])
                }
            } else {
                (Vec::new(), vec![None; plan.nodes().len()])
            };
            let mut seed = vec![F::zero(); e * n];
            for (k, &i) in es.iter().enumerate() {
                seed[k * n + b.targets[i]] = F::one();
            }
            let base = if with_refs {
                let out = &refs[plan.output()];
                es.iter()
                    .enumerate()
                    .map(|(k, &i)| out[k * n + b.targets[i]])
                    .collect()
            } else {
                Vec::new()
            };
            let r = rule(Traces {
                rows: e,
                refs,
                gates,
            });
            let g = plan.backward_with(&values, e, seed, &r);
            debug_assert_eq!(g.len(), e * d);
            (g, base, done(r))
        })
        .collect();
    let mut g = Vec::with_capacity(b.len() * d);
    let mut base = Vec::with_capacity(if with_refs { b.len() } else { 0 });
    let mut extra = Vec::with_capacity(parts.len());
    for (pg, pb, x) in parts {
        g.extend(pg);
        base.extend(pb);
        extra.push(x);
    }
    (g, base, extra)
}
