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
    #[error("{}: layer {index} ({}): {reason}", path.display(), quote(kind))]
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
    #[error("{}: node '{}' (op {}): {reason}", path.display(), quote(node), quote(op))]
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
    /// A path names something that is not a file that may be read (a folder, a device, or a
    /// pipe where it could block).
    #[error("{}: expected a regular file, got {found}", path.display())]
    FileKind {
        /// The path.
        path: PathBuf,
        /// What it is instead ("a folder", "a character device", …).
        found: &'static str,
    },
    /// A method or command parameter is out of its valid range.
    #[error("{method}: parameter {name} = {}: {reason}", quote(value))]
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
            Some((i, name)) => write!(f, "{}:{} (column '{}')", self.line, i, quote(name)),
            None => write!(f, "{}", self.line),
        }
    }
}

/// Characters of an input value quoted in an error message before it is cut.
pub const QUOTE_CHARS: usize = 80;
/// Items of a list (columns, choices) shown in an error message before the rest is counted.
pub const LIST_ITEMS: usize = 8;

/// A value from an input file, made safe to quote in a one-line message: control characters
/// escaped and, past [`QUOTE_CHARS`] characters, cut with `…` and the total length.
///
/// ```
/// use conflux_core::error::quote;
/// assert_eq!(quote("a\nb"), "a\\nb");
/// let long = "9".repeat(1_000_000);
/// assert_eq!(quote(&long), format!("{}… (1000000 chars)", "9".repeat(80)));
/// ```
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    for (shown, c) in s.chars().enumerate() {
        if shown == QUOTE_CHARS {
            out.push_str(&format!("… ({} chars)", s.chars().count()));
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON value from an input file for a message: serialised only as far as needed, then as
/// [`quote`] (a 52 MB array costs no more than a short one).
///
/// ```
/// use conflux_core::error::quote_json;
/// let v = serde_json::json!(vec![1; 1_000_000]);
/// assert!(quote_json(&v).starts_with("[1,1,1,") && quote_json(&v).ends_with("…"));
/// assert_eq!(quote_json(&serde_json::json!({"a": "b"})), r#"{"a":"b"}"#);
/// ```
pub fn quote_json(v: &serde_json::Value) -> String {
    /// A writer that accepts a few bytes and then refuses, ending the serialisation.
    struct Head(Vec<u8>);
    impl std::io::Write for Head {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let room = 4 * QUOTE_CHARS - self.0.len().min(4 * QUOTE_CHARS);
            if room == 0 {
                return Err(std::io::Error::other("enough"));
            }
            let n = buf.len().min(room);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut head = Head(Vec::new());
    let complete = serde_json::to_writer(&mut head, v).is_ok();
    let text = String::from_utf8_lossy(&head.0);
    if complete {
        return quote(&text);
    }
    // Cut short: the total length is unknown, so only the mark.
    let shown: String = text.chars().take(QUOTE_CHARS).collect();
    format!("{}…", quote(&shown))
}

/// A list of names from an input file for a message: each [`quote`]d, at most [`LIST_ITEMS`]
/// shown, then how many more there are.
///
/// ```
/// use conflux_core::error::list;
/// assert_eq!(list(&["a", "b"]), "a, b");
/// let many: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
/// assert_eq!(list(&many), "c0, c1, c2, c3, c4, c5, c6, c7, … (92 more)");
/// ```
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .take(LIST_ITEMS)
        .map(|s| quote(s.as_ref()))
        .collect();
    if items.len() > LIST_ITEMS {
        parts.push(format!("… ({} more)", items.len() - LIST_ITEMS));
    }
    parts.join(", ")
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
