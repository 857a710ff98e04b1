//! Output sinks (stdout or an atomically written file) and the explain writers.

pub mod csv;
pub mod json;
pub mod npz;

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use conflux_core::io::OutputFile;
use conflux_core::io::read::is_stdio;
use conflux_core::{Attribution, Float};

/// Bytes of standard output held back before they are written.
const STDOUT_HOLD: usize = 1 << 20;

/// Where output goes: standard output, or an [`OutputFile`] (a temporary file renamed over
/// the target only when everything succeeded, so no partial file is ever left looking
/// complete).
pub enum Sink {
    /// Standard output, held back in memory until 1 MiB has accumulated, so that a run that
    /// fails early prints no partial document.
    Stdout(Vec<u8>),
    /// A file (or an existing device or pipe).
    File(BufWriter<OutputFile>, PathBuf),
}

impl Sink {
    /// Opens the sink for `out` (stdout when `None` or `-`).
    pub fn open(out: Option<&Path>) -> Result<Self> {
        Ok(match out {
            Some(p) if !is_stdio(p) => Sink::File(
                BufWriter::with_capacity(1 << 16, OutputFile::create(p)?),
                p.to_path_buf(),
            ),
            _ => Sink::Stdout(Vec::with_capacity(1 << 16)),
        })
    }

    /// Flushes and, for a file, renames it into place.
    pub fn commit(self) -> Result<()> {
        match self {
            Sink::Stdout(buf) => {
                let mut out = io::stdout().lock();
                out.write_all(&buf)
                    .and_then(|()| out.flush())
                    .context("writing to standard output")
            }
            Sink::File(w, path) => {
                let f = w
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("{}: write failed", path.display()))?;
                Ok(f.commit()?)
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(held) => {
                held.extend_from_slice(buf);
                if held.len() >= STDOUT_HOLD {
                    io::stdout().lock().write_all(held)?;
                    held.clear();
                }
                Ok(buf.len())
            }
            Sink::File(w, _) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(_) => Ok(()),
            Sink::File(w, _) => w.flush(),
        }
    }
}

/// Refuses to run when an output path is one of the command's inputs (the same file by
/// another name too: a symbolic link or a hard link), before anything is written. `-`
/// (standard input or output) and paths that do not exist yet never clash.
///
/// `inputs` pairs each input with the flag that named it, for the message.
pub fn check_outputs(outputs: &[(&str, &Path)], inputs: &[(&str, &Path)]) -> Result<()> {
    for (oflag, out) in outputs {
        if is_stdio(out) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(out) else {
            continue;
        };
        for (iflag, input) in inputs {
            if !is_stdio(input) && same_file(&meta, out, input) {
                anyhow::bail!(
                    "{oflag} {}: this is the input {iflag} {}; conflux never writes over its inputs, choose another output path",
                    out.display(),
                    input.display()
                );
            }
        }
    }
    Ok(())
}

/// Whether `b` is the file `a` (whose metadata is `ma`).
fn same_file(ma: &std::fs::Metadata, a: &Path, b: &Path) -> bool {
    let Ok(mb) = std::fs::metadata(b) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if ma.dev() == mb.dev() && ma.ino() == mb.ino() {
            return true;
        }
    }
    let _ = (ma, mb);
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Writes a command's results: with `out`, the machine-readable form (`format`, JSON by
/// default) to that file atomically and the table to standard output; with `out` = `-`,
/// the machine-readable form to standard output; without, the `format`'s form or else the
/// table to standard output.
pub fn emit(
    out: Option<&Path>,
    format: Option<crate::cli::Format>,
    table: &str,
    machine: impl Fn(crate::cli::Format) -> String,
) -> Result<()> {
    let out = match out {
        Some(p) if is_stdio(p) => {
            print!("{}", machine(format.unwrap_or(crate::cli::Format::Json)));
            return Ok(());
        }
        other => other,
    };
    match (out, format) {
        (Some(path), f) => {
            let mut sink = Sink::open(Some(path))?;
            sink.write_all(machine(f.unwrap_or(crate::cli::Format::Json)).as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            sink.commit()?;
            print!("{table}");
        }
        (None, Some(f)) => print!("{}", machine(f)),
        (None, None) => print!("{table}"),
    }
    Ok(())
}

/// The reference an explanation was made against, as the output header reports it.
pub enum RefKind {
    /// One row shared by every input, in the network's input space.
    Shared(Vec<f64>),
    /// One row per data row.
    PerRow,
    /// The mean over a background of this many rows.
    Average(usize),
}

/// What the header of an explain output holds.
pub struct Meta<'a> {
    /// Method id.
    pub method: &'a str,
    /// Parameters as a JSON object.
    pub params: serde_json::Value,
    /// Feature names.
    pub features: &'a [String],
    /// The reference: shared (network input space), per row, or an averaged background.
    pub reference: &'a RefKind,
    /// `bias_ablated_reference` (CAFE), `reference`, or `None`.
    pub baseline_kind: Option<&'a str>,
    /// `f32` or `f64`.
    pub precision: &'a str,
}

/// An explain writer, JSON or CSV.
pub enum Writer {
    /// JSON document.
    Json(json::JsonWriter),
    /// CSV lines.
    Csv(csv::CsvWriter),
    /// NumPy archive.
    Npz(Box<npz::NpzWriter>),
}

impl Writer {
    /// Writes the header.
    pub fn begin(&mut self, sink: &mut Sink, meta: &Meta) -> io::Result<()> {
        match self {
            Writer::Json(w) => w.begin(sink, meta),
            Writer::Csv(w) => w.begin(sink, meta),
            Writer::Npz(_) => Ok(()),
        }
    }

    /// Writes the entries of one batch whose first data row is `first_row`; `refs` holds the
    /// batch's per-row references (network input space) when references are per row.
    pub fn batch<F: Float>(
        &mut self,
        sink: &mut Sink,
        first_row: usize,
        a: &Attribution<F>,
        refs: Option<&[F]>,
    ) -> io::Result<()> {
        match self {
            Writer::Json(w) => w.batch(sink, first_row, a, refs),
            Writer::Csv(w) => w.batch(sink, first_row, a),
            Writer::Npz(w) => w.batch(first_row, a),
        }
    }

    /// Writes the trailer.
    pub fn finish(&mut self, sink: &mut Sink) -> io::Result<()> {
        match self {
            Writer::Json(w) => w.finish(sink),
            Writer::Csv(_) => Ok(()),
            Writer::Npz(w) => w.finish(sink),
        }
    }
}

/// Writes a number in shortest round-trip form for its precision, with an exponent for very
/// small or large magnitudes (`null` if not finite).
pub fn num<F: Float>(w: &mut impl Write, v: F) -> io::Result<()> {
    let a = v.abs();
    if !v.is_finite() {
        w.write_all(b"null")
    } else if a != F::zero() && (a < F::of(1e-5) || a >= F::of(1e16)) {
        write!(w, "{v:e}")
    } else {
        write!(w, "{v}")
    }
}
