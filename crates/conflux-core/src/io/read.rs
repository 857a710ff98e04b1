//! Bounded, confined reads of untrusted files.
//!
//! Every file conflux reads whole (model files, sidecars, group files) goes through
//! [`read_file`]: a regular file (or, where the user named it, a pipe or `-` for standard
//! input) — never a device such as `/dev/zero` or a folder, which are refused before they are
//! opened — and never more than a byte limit. Files a model file points to (ONNX external
//! data) go through `confine`: a relative path that stays inside the model's folder after
//! `..` and symbolic links are resolved.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result, quote};
use crate::limits::MODEL_BYTES;

fn kind_of(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_fifo() {
            return "a pipe";
        }
    }
    if ft.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

fn is_pipe(ft: std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        ft.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = ft;
        false
    }
}

/// Which files may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Regular files only: files found rather than named (sidecars, external data), where a
    /// pipe could block forever.
    RegularFile,
    /// Regular files, pipes (`<(…)`, `/dev/stdin`) and `-` for standard input: files the user
    /// named.
    Named,
}

/// `true` for the path `-`, which stands for standard input (or output).
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// `true` when `path` can be read only once: `-` (standard input) or a pipe. Commands that
/// need two passes over such an input refuse it.
pub fn is_one_shot(path: &Path) -> bool {
    is_stdio(path) || std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// Opens `path` for reading: checks what it is before opening it (opening a device or a
/// pipe without a writer can have side effects or block), then checks the opened file
/// again. Returns the file and its size when it is a regular file.
///
/// # Errors
/// [`Error::Io`] when it cannot be opened; [`Error::FileKind`] for a folder, a device, or a
/// pipe where only regular files are allowed.
pub fn open_input(path: &Path, source: Source) -> Result<(File, Option<u64>)> {
    let allowed = |ft: std::fs::FileType| ft.is_file() || (source == Source::Named && is_pipe(ft));
    let refuse = |ft: std::fs::FileType| Error::FileKind {
        path: path.to_path_buf(),
        found: kind_of(ft),
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !allowed(meta.file_type()) {
        return Err(refuse(meta.file_type()));
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !allowed(meta.file_type()) {
        return Err(refuse(meta.file_type()));
    }
    Ok((file, meta.is_file().then_some(meta.len())))
}

/// Reads a whole file (`-`: standard input) of at most `max_bytes` bytes.
///
/// # Errors
/// [`Error::Io`] for an unreadable file or one over the limit; [`Error::FileKind`] as
/// [`open_input`].
pub fn read_file(path: &Path, source: Source, max_bytes: u64) -> Result<Vec<u8>> {
    let (reader, len): (Box<dyn Read>, Option<u64>) = if source == Source::Named && is_stdio(path) {
        (Box::new(std::io::stdin()), None)
    } else {
        let (f, len) = open_input(path, source)?;
        (Box::new(f), len)
    };
    let too_big = |got: String| {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the file has {got} bytes: {}",
                    MODEL_BYTES.exceeded(max_bytes)
                ),
            ),
        )
    };
    if let Some(len) = len
        && len > max_bytes
    {
        return Err(too_big(len.to_string()));
    }
    let cap = usize::try_from(len.unwrap_or(0).min(max_bytes)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(cap);
    reader
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(format!("more than {max_bytes}")));
    }
    Ok(bytes)
}

/// Reads a whole UTF-8 text file of at most `max_bytes` bytes.
///
/// # Errors
/// As [`read_file`]; [`Error::Model`] when the bytes are not UTF-8.
pub fn read_text(path: &Path, source: Source, max_bytes: u64) -> Result<String> {
    let bytes = read_file(path, source, max_bytes)?;
    String::from_utf8(bytes).map_err(|e| {
        Error::model(
            path,
            format!(
                "expected UTF-8 text, got invalid bytes at byte {}",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Resolves `location`, a path written inside a model file, against the model's folder
/// `dir`: it must be relative and, after `..` and symbolic links are resolved, name a regular
/// file inside `dir`. Returns the resolved path.
///
/// # Errors
/// A message saying which rule the location breaks.
pub(crate) fn confine(dir: &Path, location: &str) -> std::result::Result<PathBuf, String> {
    let shown = quote(location);
    if location.is_empty() || location.contains('\0') {
        return Err(format!(
            "external data location '{shown}' is not a file name"
        ));
    }
    let rel = Path::new(location);
    if rel
        .components()
        .any(|c| matches!(c, Component::RootDir | Component::Prefix(_)))
    {
        return Err(format!(
            "external data location '{shown}' is absolute; expected a path relative to the model's folder"
        ));
    }
    // Lexically first, so that nothing outside the folder is even looked at.
    let mut depth = 0usize;
    for c in rel.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir => {
                return Err(format!(
                    "external data location '{shown}' leads outside the model's folder; external data must stay beside the model"
                ));
            }
            _ => {}
        }
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let root = dir
        .canonicalize()
        .map_err(|e| format!("model folder {}: {e}", dir.display()))?;
    let target = dir
        .join(rel)
        .canonicalize()
        .map_err(|e| format!("external data file '{shown}': {e}"))?;
    if !target.starts_with(&root) {
        return Err(format!(
            "external data location '{shown}' leads outside the model's folder ({}); external data must stay beside the model",
            root.display()
        ));
    }
    let meta =
        std::fs::metadata(&target).map_err(|e| format!("external data file '{shown}': {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "external data file '{shown}': expected a regular file, got {}",
            kind_of(meta.file_type())
        ));
    }
    Ok(target)
}

/// Reads bytes `offset..offset + length` of the regular file `path`, after checking the range
/// against the file's size (nothing outside the range is read).
///
/// # Errors
/// A message naming the file and the range.
pub(crate) fn read_range(
    path: &Path,
    offset: u64,
    length: u64,
) -> std::result::Result<Vec<u8>, String> {
    let shown = path.display();
    let mut file = File::open(path).map_err(|e| format!("external data file {shown}: {e}"))?;
    let size = file
        .metadata()
        .map_err(|e| format!("external data file {shown}: {e}"))?
        .len();
    let end = offset.checked_add(length).filter(|&e| e <= size).ok_or_else(|| {
        format!(
            "external data file {shown}: expected bytes {offset}..{} but the file has {size} bytes",
            offset.saturating_add(length)
        )
    })?;
    let n = usize::try_from(end - offset)
        .map_err(|_| format!("external data file {shown}: range too large"))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| format!("external data file {shown}: {e}"))?;
    let mut buf = vec![0u8; n];
    file.read_exact(&mut buf)
        .map_err(|e| format!("external data file {shown}: {e}"))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confinement_rules() {
        let root = tempfile::tempdir().unwrap();
        let models = root.path().join("models");
        std::fs::create_dir(&models).unwrap();
        std::fs::write(models.join("w.bin"), [0u8; 8]).unwrap();
        std::fs::create_dir(models.join("sub")).unwrap();
        std::fs::write(models.join("sub/v.bin"), [0u8; 8]).unwrap();
        std::fs::write(root.path().join("secret"), b"top secret").unwrap();
        assert!(confine(&models, "w.bin").is_ok());
        assert!(confine(&models, "sub/v.bin").is_ok());
        assert!(confine(&models, "sub/../w.bin").is_ok());
        for (loc, want) in [
            ("/etc/passwd", "is absolute"),
            ("../secret", "outside the model's folder"),
            ("sub/../../secret", "outside the model's folder"),
            ("sub", "expected a regular file, got a folder"),
            ("missing.bin", "missing.bin"),
            ("", "not a file name"),
        ] {
            let e = confine(&models, loc).unwrap_err();
            assert!(e.contains(want), "{loc}: {e}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("secret"), models.join("link")).unwrap();
            let e = confine(&models, "link").unwrap_err();
            assert!(e.contains("outside the model's folder"), "{e}");
            std::os::unix::fs::symlink("/dev/zero", models.join("zero")).unwrap();
            let e = confine(&models, "zero").unwrap_err();
            assert!(e.contains("outside"), "{e}");
        }
    }

    #[test]
    fn ranges_are_checked_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.bin");
        std::fs::write(&p, (0u8..16).collect::<Vec<_>>()).unwrap();
        assert_eq!(read_range(&p, 4, 3).unwrap(), vec![4, 5, 6]);
        assert_eq!(read_range(&p, 16, 0).unwrap(), Vec::<u8>::new());
        assert!(read_range(&p, 10, 7).unwrap_err().contains("has 16 bytes"));
        assert!(read_range(&p, u64::MAX, 2).is_err());
    }

    #[test]
    fn whole_reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        std::fs::write(&p, vec![b' '; 100]).unwrap();
        let e = read_file(&p, Source::Named, 99).unwrap_err().to_string();
        assert!(
            e.contains("100 bytes") && e.contains("--max-model-bytes"),
            "{e}"
        );
        assert_eq!(read_file(&p, Source::Named, 100).unwrap().len(), 100);
        let e = read_file(dir.path(), Source::Named, 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a regular file, got a folder"), "{e}");
        #[cfg(target_os = "linux")]
        {
            let e = read_file(Path::new("/dev/zero"), Source::Named, 100)
                .unwrap_err()
                .to_string();
            assert!(e.contains("got a character device"), "{e}");
        }
        #[cfg(unix)]
        {
            // A pipe without a writer: refused where only regular files may be read, and
            // without opening it (which would block).
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo");
            let e = read_file(&fifo, Source::RegularFile, 100)
                .unwrap_err()
                .to_string();
            assert!(e.contains("got a pipe"), "{e}");
            assert!(is_one_shot(&fifo) && !is_one_shot(&p));
        }
    }
}
