//! conflux-methods: attribution methods on one shared layer walk.
//!
//! Each method lives in its own module behind the small [`Attributor`] trait. Propagation
//! methods supply only their activation rule ([`propagate::ActivationRule`]); the walk over
//! the layers is [`propagate::walk`], the only one.

pub mod cafe;
pub mod method;
pub mod propagate;
pub mod spec;

pub use method::{Attributor, Axiom, MethodId};
