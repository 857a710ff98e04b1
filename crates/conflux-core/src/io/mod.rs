//! Model loaders and savers: conflux's JSON format, ONNX, safetensors (+ architecture).

pub mod json;
pub mod onnx;
pub mod safetensors;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::net::Network;

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
