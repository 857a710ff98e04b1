//! conflux-methods: attribution methods on one shared layer walk.
//!
//! Each method lives in its own module behind the small [`Attributor`] trait. Propagation
//! methods supply only their activation rule ([`propagate::ActivationRule`]); the walk over
//! the layers is [`propagate::walk`], the only one.

pub mod ablation;
pub mod background;
mod batch;
pub mod cafe;
pub mod deeplift;
pub mod gradient;
pub mod gradient_shap;
pub mod ig;
pub mod kernel_shap;
pub mod lime;
pub mod lrp;
pub mod method;
pub mod metrics;
pub mod propagate;
pub use conflux_core::rng;
pub mod shapley_sampling;
pub mod smoothgrad;
pub mod spec;
mod surrogate;

pub use method::{Attributor, Axiom, MethodId};
