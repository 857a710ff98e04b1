//! Saliency (∂F_o/∂x) and Gradient × Input (x ⊙ ∂F_o/∂x), as Captum computes them.
//!
//! # Axioms
//! None of completeness, missingness or linearity in the reference (the reference is unused).
//! # Cost
//! One backward pass per row.

use conflux_core::{Attribution, Float, Gradient, Result, Target};
use ndarray::ArrayView2;

use crate::batch::{Batch, par_gradient};
use crate::method::{Attributor, Axiom, MethodId};

/// Plain gradient of the target output (Captum `Saliency`); `abs` takes absolute values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Saliency {
    /// Report |∂F/∂x| (Captum's default is `abs=True`; conflux's is signed, as the papers use).
    pub abs: bool,
}

/// Input times gradient (Captum `InputXGradient`); the reference is not used.
#[derive(Debug, Clone, Copy, Default)]
pub struct GradientXInput;

/// Gradients at every entry's input row.
fn entry_gradients<F: Float, M: Gradient<F> + ?Sized>(model: &M, b: &Batch<F>) -> Vec<F> {
    let points: Vec<F> = b.rows.iter().flat_map(|&r| b.x_row(r).to_vec()).collect();
    par_gradient(model, &points, &b.targets, b.d)
}

impl<F: Float, M: Gradient<F>> Attributor<M, F> for Saliency {
    fn id(&self) -> MethodId {
        MethodId::Saliency
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[]
    }
    fn attribute(
        &self,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        let b = Batch::new("saliency", model, x, reference, target)?;
        let mut g = entry_gradients(model, &b);
        if self.abs {
            g.iter_mut().for_each(|v| *v = v.abs());
        }
        Ok(b.finish(g, None))
    }
}

impl<F: Float, M: Gradient<F>> Attributor<M, F> for GradientXInput {
    fn id(&self) -> MethodId {
        MethodId::GradientXInput
    }
    fn axioms(&self) -> &'static [Axiom] {
        &[]
    }
    fn attribute(
        &self,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        let b = Batch::new("gradient-x-input", model, x, reference, target)?;
        let g = entry_gradients(model, &b);
        let scores = g
            .chunks_exact(b.d)
            .zip(&b.rows)
            .flat_map(|(gr, &r)| {
                gr.iter()
                    .zip(b.x_row(r))
                    .map(|(g, x)| *g * *x)
                    .collect::<Vec<F>>()
            })
            .collect();
        Ok(b.finish(scores, None))
    }
}
