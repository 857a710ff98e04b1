//! conflux-core: the network IR, model loaders (JSON, ONNX, safetensors), CSV loading and the
//! dense kernels shared by every attribution method. No method logic and no printing here.
//!
//! ```
//! use conflux_core::io::json;
//! let net = json::from_str(r#"{"input_dim": 2, "layers": [
//!     {"type": "linear", "weight": [[1.0, -1.0]], "bias": [0.5]}, {"type": "relu"}]}"#)?;
//! assert_eq!(net.forward(&[2.0, 1.0], 1), vec![1.5]);
//! # Ok::<(), conflux_core::Error>(())
//! ```

pub mod ame;
pub mod attribution;
pub mod data;
pub mod error;
pub mod float;
pub mod inspect;
pub mod io;
pub mod limits;
pub mod linalg;
pub mod model;
pub mod net;
pub mod reference;
pub mod rng;
pub mod stats;
pub mod target;

pub use ame::{Ame, AmeTask};
pub use attribution::{Attribution, SplitScores};
pub use data::groups::FeatureGroups;
pub use error::{DataLocation, Error, Result};
pub use float::Float;
pub use limits::Limits;
pub use model::{Gradient, Predict};
pub use net::activation::Activation;
pub use net::graph::{Graph, GraphBuilder, Value};
pub use net::layer::{BatchNorm, Dense, Head, Layer};
pub use net::plan::{AffineOp, DenseOp, Node, Op, Plan};
pub use net::{Network, Preprocess};
pub use reference::Reference;
pub use target::Target;
