//! Model loaders and savers: conflux's JSON format, ONNX, safetensors (+ architecture).

pub mod json;
pub mod json_graph;
pub mod onnx;
pub mod read;
pub mod safetensors;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::ame::Ame;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::net::Network;

/// Any model conflux reads: a layered network or an AME.
#[derive(Debug, Clone)]
pub enum AnyModel {
    /// A feedforward network (JSON, ONNX or safetensors).
    Network(Network),
    /// An Attentive Mixture of Experts (`"format": "conflux-ame"` JSON).
    Ame(Box<Ame>),
}

/// A model and every file read to load it (the model file, sidecars, external data), so that
/// callers can refuse to write over any of them.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The model.
    pub model: AnyModel,
    /// The files read, as given or resolved (the model file first).
    pub files: Vec<PathBuf>,
}

/// Loads a network or an AME under the [`Limits::current`] limits: JSON files are told apart
/// by their `format` key; other extensions as [`load_model`].
///
/// # Errors
/// As [`load_model`] and [`crate::ame::json::load`].
pub fn load_any(path: &Path, arch: Option<&str>) -> Result<AnyModel> {
    load_any_with(path, arch, &Limits::current()).map(|l| l.model)
}

/// As [`load_any`] under `limits`, also listing the files read.
///
/// # Errors
/// As [`load_any`]; [`Error::Model`] when the model has more parameters than
/// `limits.parameters`.
pub fn load_any_with(path: &Path, arch: Option<&str>, limits: &Limits) -> Result<Loaded> {
    load_any_shaped(path, arch, None, limits)
}

/// Checks a per-row input shape (`--input-shape`, Python's `input_shape=`): 1 to 8
/// positive dimensions whose product fits in memory arithmetic. `Err` says what was
/// expected.
pub fn valid_input_shape(shape: &[usize]) -> std::result::Result<(), String> {
    if shape.is_empty() || shape.len() > 8 {
        return Err(format!("expected 1 to 8 dimensions, got {}", shape.len()));
    }
    if shape.contains(&0) {
        return Err(format!("expected positive dimensions, got {shape:?}"));
    }
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .map(|_| ())
        .ok_or_else(|| format!("shape {shape:?} is too large"))
}

/// As [`load_any_with`], with the input's per-row shape for ONNX files that declare it flat
/// or not static (`--input-shape`; for other formats it must match the model's input size).
///
/// # Errors
/// As [`load_any_with`]; [`Error::Model`] when the shape does not fit the model.
pub fn load_any_shaped(
    path: &Path,
    arch: Option<&str>,
    input_shape: Option<&[usize]>,
    limits: &Limits,
) -> Result<Loaded> {
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json {
        let (net, files) = load_model_shaped(path, arch, input_shape, limits)?;
        return Ok(Loaded {
            model: AnyModel::Network(net),
            files,
        });
    }
    let text = read::read_text(path, read::Source::Named, limits.json_bytes())?;
    Ok(Loaded {
        model: json_model(&text, path, limits)?,
        files: vec![path.to_path_buf()],
    })
}

/// A network or an AME from the text of a JSON model file (told apart by its `format` key);
/// `path` names the file in errors.
///
/// # Errors
/// [`Error::Model`]/[`Error::Layer`] naming the file, and the key or layer; a model with
/// more parameters than `limits.parameters`.
pub fn json_model(text: &str, path: &Path, limits: &Limits) -> Result<AnyModel> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Error::model(
            path,
            format!("expected a JSON model, got invalid JSON ({e})"),
        )
    })?;
    Ok(if crate::ame::json::is_ame(&v) {
        let a = crate::ame::json::from_value(&v).map_err(|e| e.with_path(path))?;
        check_parameters(path, a.param_count(), limits)?;
        AnyModel::Ame(Box::new(a))
    } else {
        let net = json::from_value(&v).map_err(|e| e.with_path(path))?;
        check_network(path, &net, limits)?;
        AnyModel::Network(net)
    })
}

fn check_parameters(path: &Path, n: usize, limits: &Limits) -> Result<()> {
    limits
        .check_parameters(n as u64)
        .map_err(|r| Error::model(path, r))
}

/// The limits every loaded network is held to, whatever its format: its parameters, and its
/// input width (an input row is a tensor too; a declared width is not backed by any data).
fn check_network(path: &Path, net: &Network, limits: &Limits) -> Result<()> {
    check_parameters(path, net.param_count(), limits)?;
    if net.input_dim() as u64 > limits.tensor_elements {
        return Err(Error::model(
            path,
            format!(
                "input_dim {} is more than allowed: {}",
                net.input_dim(),
                crate::limits::TENSOR_ELEMENTS.exceeded(limits.tensor_elements)
            ),
        ));
    }
    Ok(())
}

/// Loads a model by file extension under the [`Limits::current`] limits: `.json` (conflux
/// format), `.onnx`, or `.safetensors` (with `arch`, or a sidecar `<stem>.arch.json`).
///
/// # Errors
/// [`Error::Model`] for an unknown extension; otherwise the loader's own errors.
pub fn load_model(path: &Path, arch: Option<&str>) -> Result<Network> {
    load_model_with(path, arch, &Limits::current()).map(|(net, _)| net)
}

/// As [`load_model`] under `limits`, also listing the files read.
///
/// # Errors
/// As [`load_model`]; [`Error::Model`] when the model has more parameters than
/// `limits.parameters`.
pub fn load_model_with(
    path: &Path,
    arch: Option<&str>,
    limits: &Limits,
) -> Result<(Network, Vec<PathBuf>)> {
    load_model_shaped(path, arch, None, limits)
}

/// `--input-shape` must hold as many elements as the model's input.
pub(crate) fn check_input_shape(path: &Path, shape: &[usize], net: &Network) -> Result<()> {
    valid_input_shape(shape).map_err(|why| Error::model(path, format!("--input-shape: {why}")))?;
    let size: usize = shape.iter().product();
    if size != net.input_dim() {
        return Err(Error::model(
            path,
            format!(
                "--input-shape {shape:?} has {size} elements, the model's input has {}",
                net.input_dim()
            ),
        ));
    }
    Ok(())
}

/// As [`load_model_with`], with an optional input shape (see [`load_any_shaped`]).
///
/// # Errors
/// As [`load_any_shaped`].
pub fn load_model_shaped(
    path: &Path,
    arch: Option<&str>,
    input_shape: Option<&[usize]>,
    limits: &Limits,
) -> Result<(Network, Vec<PathBuf>)> {
    let (net, files) = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => (json::load_with(path, limits)?, vec![path.to_path_buf()]),
        Some("onnx") => {
            let (net, mut external) = onnx::load_shaped(path, limits, input_shape)?;
            external.insert(0, path.to_path_buf());
            (net, external)
        }
        Some("safetensors") => safetensors::load_with(path, arch, limits)?,
        _ => {
            return Err(Error::model(
                path,
                "expected a model file ending in .json, .onnx or .safetensors",
            ));
        }
    };
    if let Some(shape) = input_shape {
        check_input_shape(path, shape, &net)?;
    }
    check_network(path, &net, limits)?;
    Ok((net, files))
}

/// A temporary file `.conflux-*.tmp` in `dir`, created with the permissions a new file gets
/// from the process umask (normally 0644), so the renamed output looks like any other file.
/// It is removed when dropped, on every error path, and by [`remove_temp_files`].
fn temp_file_in(dir: &Path) -> std::io::Result<NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(".conflux-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = b.tempfile_in(dir)?;
    TEMP_FILES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(tmp.path().to_path_buf());
    Ok(tmp)
}

/// Every temporary file [`temp_file_in`] created in this process (a file is removed when its
/// owner drops it or renamed when it is committed; the names are random, so a stale entry is
/// harmless).
static TEMP_FILES: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes the temporary files of this process that still exist: for a signal handler, when
/// the owners will not get to drop them (an interrupted command leaves nothing behind).
pub fn remove_temp_files() {
    let files = TEMP_FILES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for f in files.iter() {
        let _ = std::fs::remove_file(f);
    }
}

/// An output file written so that no partial file is ever visible under its name: a
/// temporary file beside the target, renamed over it by [`OutputFile::commit`] (following a
/// symbolic link, so the link keeps pointing at the new file, and keeping a replaced file's
/// permissions). An existing device or pipe (`/dev/null`, `>(…)`) cannot be replaced and is
/// written in place. Dropped without a commit, the temporary file is removed.
#[derive(Debug)]
pub struct OutputFile {
    path: PathBuf,
    out: Out,
}

#[derive(Debug)]
enum Out {
    Direct(File),
    Replace {
        tmp: NamedTempFile,
        target: PathBuf,
        keep: Option<std::fs::Permissions>,
    },
}

impl OutputFile {
    /// Opens the output for `path`.
    ///
    /// # Errors
    /// [`Error::Io`] naming `path` for a folder, an unwritable device or a folder where no
    /// temporary file can be created.
    pub fn create(path: &Path) -> Result<Self> {
        let io = |e| Error::io(path, e);
        let out = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "expected a file to write, got a folder",
                )));
            }
            Ok(m) if !m.is_file() => Out::Direct(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io)?,
            ),
            found => {
                let target = match &found {
                    Ok(_) => path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
                    Err(_) => path.to_path_buf(),
                };
                let dir = match target.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                Out::Replace {
                    tmp: temp_file_in(dir).map_err(io)?,
                    keep: found.ok().map(|m| m.permissions()),
                    target,
                }
            }
        };
        Ok(OutputFile {
            path: path.to_path_buf(),
            out,
        })
    }

    /// Flushes to disk and renames the temporary file over the target.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path (the temporary file is then removed).
    pub fn commit(self) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        match self.out {
            Out::Direct(mut f) => f.flush().map_err(io),
            Out::Replace { tmp, target, keep } => {
                tmp.as_file().sync_all().map_err(io)?;
                if let Some(p) = keep {
                    tmp.as_file().set_permissions(p).map_err(io)?;
                }
                tmp.persist(&target).map_err(|e| io(e.error))?;
                Ok(())
            }
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.out {
            Out::Direct(f) => f.write(buf),
            Out::Replace { tmp, .. } => tmp.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Out::Direct(f) => f.flush(),
            Out::Replace { tmp, .. } => tmp.flush(),
        }
    }
}

/// Writes `bytes` to `path` as an [`OutputFile`]: no partial file is ever visible under
/// that name.
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OutputFile::create(path)?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.commit()
}
