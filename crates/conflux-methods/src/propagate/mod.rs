//! The layer walks shared by propagation methods — sign-split ([`walk`], CAFE) and
//! single-score ([`scalar`], DeepLIFT, LRP) — and the traits their rules implement.

pub mod rule;
pub mod scalar;
pub mod walk;

pub use rule::{ActivationRule, MaxChoice, Multipliers};
pub use walk::{BiasRows, ReferenceTrace, Split, Workspace, walk_backward, walk_forward};
