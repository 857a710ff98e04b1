//! conflux-methods: attribution methods on one shared layer walk.
//!
//! Each method lives in its own module behind the small [`Attributor`] trait. Propagation
//! methods supply only their activation rule ([`propagate::ActivationRule`]); the walk over
//! the layers is [`propagate::walk`], the only one.

mod batch;
pub mod cafe;
pub mod deeplift;
pub mod gradient;
pub mod ig;
pub mod lrp;
pub mod method;
pub mod propagate;
pub mod rng;
pub mod spec;

pub use method::{Attributor, Axiom, MethodId};
