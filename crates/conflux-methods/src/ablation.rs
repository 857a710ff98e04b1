//! Feature ablation / occlusion (Captum `FeatureAblation`): each group's score is
//! `F(x) − F(x with the group set to the reference)`; every member reports its group's score.
//!
//! # Axioms
//! Missingness; exact on additive models.
//! # Cost
//! `M` forward passes per row.

use conflux_core::{Attribution, FeatureGroups, Float, Predict, Result, Target};
use ndarray::ArrayView2;

use crate::batch::{Batch, per_entry};
use crate::kernel_shap::check_groups;
use crate::method::{Attributor, Axiom, MethodId};
use crate::surrogate::{groups_or_singletons, spread, values};

/// Feature ablation.
#[derive(Debug, Clone, Default)]
pub struct Ablation {
    /// Feature groups (default: one per feature).
    pub groups: Option<FeatureGroups>,
}

impl<F: Float, M: Predict<F>> Attributor<M, F> for Ablation {
    fn id(&self) -> MethodId {
        MethodId::Ablation
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[Axiom::Missingness]
    }
    fn attribute(
        &self,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        let b = Batch::new("ablation", model, x, reference, target)?;
        let g = groups_or_singletons(self.groups.as_ref(), b.d);
        check_groups(&g, b.d, "ablation")?;
        let m = g.len();
        let scores = per_entry(b.len(), b.d, |e| {
            let (xr, rr) = (b.x_row(b.rows[e]), b.r_row(b.rows[e]));
            // Coalition k has every group but k present.
            let z: Vec<bool> = (0..m).flat_map(|k| (0..m).map(move |i| i != k)).collect();
            let v = values(model, xr, rr, &g, &z, b.targets[e]);
            let full = b.output[e].f64();
            spread(&g, &v.iter().map(|vk| full - vk).collect::<Vec<_>>())
        });
        Ok(b.finish(scores, None))
    }
}
