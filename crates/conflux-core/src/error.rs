//! The one error type of the conflux libraries.
//!
//! Every variant carries the context a user needs to fix the input: the file, the row and
//! column, the layer index or the ONNX node, and what was expected. Messages start in lower
//! case and have no trailing period; the CLI prefixes them with `error: `.

use std::path::PathBuf;

/// Result alias used throughout conflux.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors raised by the conflux libraries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, so not chained as a source).
        cause: std::io::Error,
    },
    /// A data file (CSV) has a bad cell, row or header.
    #[error("{}:{}: {reason}", path.display(), location)]
    Data {
        /// The file.
        path: PathBuf,
        /// Where in the file (line and column).
        location: DataLocation,
        /// What was expected and what was found.
        reason: String,
    },
    /// A model file is malformed as a whole (not one layer or node in particular).
    #[error("{}: {reason}", path.display())]
    Model {
        /// The model file.
        path: PathBuf,
        /// What was expected and what was found.
        reason: String,
    },
    /// One layer of a model is malformed.
    #[error("{}: layer {index} ({kind}): {reason}", path.display())]
    Layer {
        /// The model file (empty when the network was built in code).
        path: PathBuf,
        /// 0-based index of the layer in the file's layer list.
        index: usize,
        /// The layer's type as written in the file.
        kind: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// One ONNX node is malformed or unsupported.
    #[error("{}: node '{node}' (op {op}): {reason}", path.display())]
    OnnxNode {
        /// The ONNX file.
        path: PathBuf,
        /// The node's name (or its output name when unnamed).
        node: String,
        /// The node's operator type.
        op: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// Two shapes that must agree do not.
    #[error("{op}: expected {expected}, got {got}")]
    Shape {
        /// The operation that checked the shapes.
        op: &'static str,
        /// The expected shape.
        expected: String,
        /// The shape found.
        got: String,
    },
    /// A method or command parameter is out of its valid range.
    #[error("{method}: parameter {name} = {value}: {reason}")]
    Param {
        /// The method (or component) that owns the parameter.
        method: &'static str,
        /// The parameter's name as users type it.
        name: &'static str,
        /// The value given.
        value: String,
        /// The valid range.
        reason: String,
    },
}

/// A place in a data file: 1-based line number (the header is line 1) and optional column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLocation {
    /// 1-based line number in the file (0 when the whole file is meant).
    pub line: u64,
    /// 1-based column number and column name, when one column is meant.
    pub column: Option<(usize, String)>,
}

impl std::fmt::Display for DataLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some((i, name)) => write!(f, "{}:{} (column '{}')", self.line, i, name),
            None => write!(f, "{}", self.line),
        }
    }
}

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }

    /// Builds an [`Error::Model`] for `path`.
    pub fn model(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Model {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Builds an [`Error::Layer`].
    pub fn layer(
        path: impl Into<PathBuf>,
        index: usize,
        kind: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Layer {
            path: path.into(),
            index,
            kind: kind.into(),
            reason: reason.into(),
        }
    }

    /// Builds an [`Error::Param`].
    pub fn param(
        method: &'static str,
        name: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::Param {
            method,
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Replaces an empty path in a model error with `path` (networks built in code carry none).
    #[must_use]
    pub fn with_path(self, p: impl Into<PathBuf>) -> Self {
        match self {
            Error::Layer {
                path,
                index,
                kind,
                reason,
            } if path.as_os_str().is_empty() => Error::Layer {
                path: p.into(),
                index,
                kind,
                reason,
            },
            Error::Model { path, reason } if path.as_os_str().is_empty() => Error::Model {
                path: p.into(),
                reason,
            },
            other => other,
        }
    }
}
