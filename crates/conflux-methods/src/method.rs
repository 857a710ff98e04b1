//! The attribution-method trait and method identifiers.

use conflux_core::{Attribution, Float, Result, Target};
use ndarray::ArrayView2;

/// Identifies a method (kebab-case ids as typed on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MethodId {
    /// Conflict-Aware Feature-wise Explanations.
    Cafe,
    /// Plain gradient.
    Saliency,
    /// Input times gradient.
    GradientXInput,
    /// Layer-wise relevance propagation, ε-rule.
    Lrp,
    /// DeepLIFT, Rescale rule.
    DeepLift,
    /// DeepLIFT, RevealCancel rule.
    DeepLiftRevealCancel,
    /// Integrated Gradients.
    IntegratedGradients,
    /// SmoothGrad.
    SmoothGrad,
    /// Gradient SHAP (expected gradients).
    GradientShap,
    /// Kernel SHAP (and exact Shapley values).
    KernelShap,
    /// Shapley value sampling.
    ShapleySampling,
    /// LIME.
    Lime,
    /// Feature ablation (occlusion).
    Ablation,
}

impl MethodId {
    /// The kebab-case id.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodId::Cafe => "cafe",
            MethodId::Saliency => "saliency",
            MethodId::GradientXInput => "gradient-x-input",
            MethodId::Lrp => "lrp",
            MethodId::DeepLift => "deeplift",
            MethodId::DeepLiftRevealCancel => "deeplift-reveal-cancel",
            MethodId::IntegratedGradients => "integrated-gradients",
            MethodId::SmoothGrad => "smoothgrad",
            MethodId::GradientShap => "gradient-shap",
            MethodId::KernelShap => "kernel-shap",
            MethodId::ShapleySampling => "shapley-sampling",
            MethodId::Lime => "lime",
            MethodId::Ablation => "ablation",
        }
    }
}

impl std::fmt::Display for MethodId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Properties a method guarantees (checked by the conformance tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axiom {
    /// Scores (plus bias scores) sum to `output − baseline_output`.
    Completeness,
    /// A feature equal to its reference gets zero.
    Missingness,
    /// Joint scores are linear in the explained network.
    Linearity,
    /// Split scores are non-negative.
    NonNegSplit,
}

/// An attribution method for models of type `M`, computing in precision `F`.
pub trait Attributor<M: ?Sized, F: Float> {
    /// The method's id.
    fn id(&self) -> MethodId;
    /// The axioms it satisfies.
    fn axioms(&self) -> &'static [Axiom];
    /// Explains `x` (`[batch, features]`, the model's input space) relative to `reference`
    /// (one row shared by all inputs, or one row per input).
    ///
    /// # Errors
    /// Shape or parameter errors naming what was expected.
    fn attribute(
        &self,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>>;
}
