//! Model loaders and savers: conflux's JSON format, ONNX, safetensors (+ architecture).

pub mod json;
pub mod onnx;
pub mod safetensors;

use std::io::Write;
use std::path::Path;

use crate::ame::Ame;
use crate::error::{Error, Result};
use crate::net::Network;

/// Any model conflux reads: a layered network or an AME.
#[derive(Debug, Clone)]
pub enum AnyModel {
    /// A feedforward network (JSON, ONNX or safetensors).
    Network(Network),
    /// An Attentive Mixture of Experts (`"format": "conflux-ame"` JSON).
    Ame(Box<Ame>),
}

/// Loads a network or an AME: JSON files are told apart by their `format` key; other
/// extensions as [`load_model`].
///
/// # Errors
/// As [`load_model`] and [`crate::ame::json::load`].
pub fn load_any(path: &Path, arch: Option<&str>) -> Result<AnyModel> {
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json {
        return load_model(path, arch).map(AnyModel::Network);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::model(
            path,
            format!("expected a JSON model, got invalid JSON ({e})"),
        )
    })?;
    if crate::ame::json::is_ame(&v) {
        crate::ame::json::from_value(&v)
            .map(|a| AnyModel::Ame(Box::new(a)))
            .map_err(|e| e.with_path(path))
    } else {
        json::from_value(&v)
            .map(AnyModel::Network)
            .map_err(|e| e.with_path(path))
    }
}

/// Loads a model by file extension: `.json` (conflux format), `.onnx`, or `.safetensors`
/// (with `arch`, or a sidecar `<stem>.arch.json`).
///
/// # Errors
/// [`Error::Model`] for an unknown extension; otherwise the loader's own errors.
pub fn load_model(path: &Path, arch: Option<&str>) -> Result<Network> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => json::load(path),
        Some("onnx") => onnx::load(path),
        Some("safetensors") => safetensors::load(path, arch),
        _ => Err(Error::model(
            path,
            "expected a model file ending in .json, .onnx or .safetensors",
        )),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder is written,
/// flushed and renamed over `path`, so no partial file is ever visible under that name.
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
