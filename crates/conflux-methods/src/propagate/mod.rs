//! The one layer walk shared by propagation methods, and the trait their rules implement.

pub mod rule;
pub mod walk;

pub use rule::{ActivationRule, Multipliers};
pub use walk::{BiasRows, ReferenceTrace, Split, Workspace, walk_backward, walk_forward};
