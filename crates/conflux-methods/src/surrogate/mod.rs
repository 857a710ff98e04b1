//! The engine shared by the coalition-sampling methods (Kernel SHAP, LIME, Shapley value
//! sampling, ablation): build inputs in which absent feature groups take the reference
//! value, evaluate the model on them in parallel batches, and fit or average. Kernel SHAP and
//! LIME are configurations of the same weighted-regression step ([`solve`]).

pub mod solve;

use conflux_core::{FeatureGroups, Float, Predict};

/// Inputs for coalitions `z` (`[n, groups]`, 1 = present): present groups take `x`, absent
/// ones the reference `r`.
pub(crate) fn masked_inputs<F: Float>(
    x: &[F],
    r: &[F],
    groups: &FeatureGroups,
    z: &[bool],
) -> Vec<F> {
    let (d, m) = (x.len(), groups.len());
    let n = z.len() / m.max(1);
    let mut out = Vec::with_capacity(n * d);
    for k in 0..n {
        let zk = &z[k * m..(k + 1) * m];
        out.extend((0..d).map(|f| if zk[groups.group_of(f)] { x[f] } else { r[f] }));
    }
    out
}

/// `F(input)[target]` for every coalition, in f64.
pub(crate) fn values<F: Float, M: Predict<F> + ?Sized>(
    model: &M,
    x: &[F],
    r: &[F],
    groups: &FeatureGroups,
    z: &[bool],
    target: usize,
) -> Vec<f64> {
    let inputs = masked_inputs(x, r, groups, z);
    let n_out = model.output_dim();
    let out = crate::batch::par_predict(model, &inputs, x.len());
    out.chunks_exact(n_out).map(|o| o[target].f64()).collect()
}

/// Per-feature scores from per-group scores (each member reports its group's score).
pub(crate) fn spread<F: Float>(groups: &FeatureGroups, phi: &[f64]) -> Vec<F> {
    (0..groups.features())
        .map(|f| F::of(phi[groups.group_of(f)]))
        .collect()
}

/// The groups to use: the configured ones, or one per feature.
pub(crate) fn groups_or_singletons(
    groups: Option<&FeatureGroups>,
    d: usize,
) -> std::borrow::Cow<'_, FeatureGroups> {
    match groups {
        Some(g) => std::borrow::Cow::Borrowed(g),
        None => std::borrow::Cow::Owned(FeatureGroups::singletons(
            &(0..d).map(|i| format!("f{i}")).collect::<Vec<_>>(),
        )),
    }
}
