//! NumPy `.npy` files as data and references (graph.md §Inputs and outputs for images): a
//! C-order array of `f4` or `f8` (little-endian), `(N, F)` or `(N, C, H, W)`; each of the
//! `N` rows is one input flattened in C order. The header is untrusted input: its shape is
//! checked against the file's size before anything is allocated, and rows are read in
//! blocks.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{DataLocation, Error, Result, quote};
use crate::io::read::{Source, open_input};

/// Largest header accepted (NumPy writes ≤ a few hundred bytes).
const MAX_HEADER: usize = 1 << 16;

/// An opened `.npy` file, positioned at its next row.
pub struct NpyReader {
    path: PathBuf,
    reader: Box<dyn Read + Send>,
    f64_data: bool,
    /// The array's shape (rows first).
    pub shape: Vec<usize>,
    rows: usize,
    cols: usize,
    next: usize,
    file_len: u64,
    data_offset: u64,
}

impl std::fmt::Debug for NpyReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyReader")
            .field("path", &self.path)
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        location: DataLocation {
            line: 0,
            column: None,
        },
        reason: reason.into(),
    }
}

/// `true` when `path` names a `.npy` file.
pub fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// The value of `key` in the header dict (text after `'key':`, trimmed).
fn field<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

impl NpyReader {
    /// Opens `path` and checks its header: dtype `<f4`/`<f8`, C order, at least two
    /// dimensions, and a data size equal to what the shape implies.
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable, [`Error::Data`] naming the file and what was expected.
    pub fn open(path: &Path) -> Result<Self> {
        let (file, len) = open_input(path, Source::Named)?;
        let file_len = len.ok_or_else(|| bad(path, "expected a regular .npy file, got a pipe"))?;
        Self::from_reader(path, Box::new(BufReader::new(file)), file_len)
    }

    /// As [`NpyReader::open`] on `reader`, which holds `file_len` bytes (`path` names it in
    /// errors).
    ///
    /// # Errors
    /// As [`NpyReader::open`].
    pub fn from_reader(
        path: &Path,
        mut reader: Box<dyn Read + Send>,
        file_len: u64,
    ) -> Result<Self> {
        let mut magic = [0u8; 8];
        reader
            .read_exact(&mut magic)
            .map_err(|_| bad(path, "expected a .npy file, got fewer than 8 bytes"))?;
        if &magic[..6] != b"\x93NUMPY" {
            return Err(bad(
                path,
                "expected a .npy file (magic \\x93NUMPY), got other bytes",
            ));
        }
        let header_len = match magic[6] {
            1 => {
                let mut b = [0u8; 2];
                reader
                    .read_exact(&mut b)
                    .map_err(|_| bad(path, "truncated .npy header"))?;
                usize::from(u16::from_le_bytes(b))
            }
            2 | 3 => {
                let mut b = [0u8; 4];
                reader
                    .read_exact(&mut b)
                    .map_err(|_| bad(path, "truncated .npy header"))?;
                usize::try_from(u32::from_le_bytes(b)).unwrap_or(usize::MAX)
            }
            v => {
                return Err(bad(
                    path,
                    format!("expected .npy format version 1, 2 or 3, got {v}"),
                ));
            }
        };
        if header_len > MAX_HEADER {
            return Err(bad(
                path,
                format!("expected a header of at most {MAX_HEADER} bytes, got {header_len}"),
            ));
        }
        let mut raw = vec![0u8; header_len];
        reader
            .read_exact(&mut raw)
            .map_err(|_| bad(path, "truncated .npy header"))?;
        let header = String::from_utf8_lossy(&raw).into_owned();
        let data_offset = (if magic[6] == 1 { 10 } else { 12 } + header_len) as u64;
        let descr = field(&header, "descr").ok_or_else(|| bad(path, "header has no 'descr'"))?;
        let f64_data = if descr.starts_with("'<f8'") {
            true
        } else if descr.starts_with("'<f4'") {
            false
        } else {
            let shown: String = descr.chars().take(12).collect();
            return Err(bad(
                path,
                format!(
                    "expected dtype '<f4' or '<f8' (little-endian float32/float64), got {}",
                    quote(&shown)
                ),
            ));
        };
        let fortran = field(&header, "fortran_order")
            .ok_or_else(|| bad(path, "header has no 'fortran_order'"))?;
        if !fortran.starts_with("False") {
            return Err(bad(
                path,
                "expected C order (fortran_order False); save with numpy.ascontiguousarray",
            ));
        }
        let shape_text = field(&header, "shape")
            .and_then(|s| s.strip_prefix('('))
            .and_then(|s| s.split(')').next())
            .ok_or_else(|| bad(path, "header has no 'shape' tuple"))?;
        let shape = shape_text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<usize>().map_err(|_| {
                    bad(
                        path,
                        format!("expected integer dimensions, got ({})", quote(shape_text)),
                    )
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        if shape.len() < 2 {
            return Err(bad(
                path,
                format!("expected (N, F) or (N, C, H, W) rows, got shape {shape:?}"),
            ));
        }
        let cols = shape[1..].iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let bytes = cols
            .and_then(|c| c.checked_mul(shape[0]))
            .and_then(|n| n.checked_mul(if f64_data { 8 } else { 4 }));
        let (Some(cols), Some(bytes)) = (cols, bytes) else {
            return Err(bad(path, format!("shape {shape:?} is too large")));
        };
        if file_len.checked_sub(data_offset) != Some(bytes as u64) {
            return Err(bad(
                path,
                format!(
                    "the header's shape {shape:?} needs {bytes} bytes of data, the file has {}",
                    file_len.saturating_sub(data_offset)
                ),
            ));
        }
        Ok(NpyReader {
            path: path.to_path_buf(),
            reader,
            f64_data,
            rows: shape[0],
            cols,
            shape,
            next: 0,
            file_len,
            data_offset,
        })
    }

    /// Elements per row.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Rows in the file.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Bytes consumed and the file's size.
    pub fn progress(&self) -> (u64, u64) {
        let item = if self.f64_data { 8 } else { 4 };
        (
            self.data_offset + (self.next * self.cols * item) as u64,
            self.file_len,
        )
    }

    /// Appends up to `max_rows` rows to `x`; returns how many were read (0 at the end).
    ///
    /// # Errors
    /// [`Error::Data`] naming the row and element of a NaN or infinite value (`x` is then
    /// left as it was).
    pub fn read_rows(&mut self, max_rows: usize, x: &mut Vec<f64>) -> Result<usize> {
        let n = max_rows.min(self.rows - self.next);
        let entry = x.len();
        let item = if self.f64_data { 8 } else { 4 };
        if n == 0 {
            // A (0, …) array may declare any width: nothing is allocated for it.
            return Ok(0);
        }
        // n ≥ 1 rows exist, so the size check bounded a row by the file's length.
        let mut buf = vec![0u8; self.cols * item];
        for r in 0..n {
            self.reader
                .read_exact(&mut buf)
                .map_err(|e| Error::io(&self.path, e))?;
            let start = x.len();
            if self.f64_data {
                x.extend(
                    buf.chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))),
                );
            } else {
                x.extend(
                    buf.chunks_exact(4)
                        .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes")))),
                );
            }
            if let Some(i) = x[start..].iter().position(|v| !v.is_finite()) {
                let row = self.next + r;
                let bad_value = x[start + i];
                // Nothing of a failed call is left in `x`.
                x.truncate(entry);
                return Err(Error::Data {
                    path: self.path.clone(),
                    location: DataLocation {
                        line: 0,
                        column: None,
                    },
                    reason: format!(
                        "row {row}, element {i}: expected a finite number, got {bad_value}"
                    ),
                });
            }
        }
        self.next += n;
        Ok(n)
    }
}
