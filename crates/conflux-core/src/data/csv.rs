//! Streaming CSV reader for numeric feature tables.
//!
//! Rows are read in blocks so memory stays bounded whatever the file size, and no line may
//! be longer than [`CsvOptions::max_line_bytes`] — enforced while reading, so a file with one
//! gigantic line (or `/dev/zero`) costs no more memory than the limit. The path `-` reads
//! standard input. Every problem is reported with the file, the 1-based line (the header is
//! line 1) and the column: non-numeric cells, NaN/infinity, ragged rows, a missing label
//! column, duplicate column names, a header that looks like data, an empty or header-only
//! file.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{DataLocation, Error, Result, list, quote};
use crate::limits::{DATA_CELLS, LINE_BYTES, Limits};

/// How a CSV file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    /// The first line names the columns (default). Without a header every line is data and
    /// the columns are named `f0`, `f1`, ….
    pub has_header: bool,
    /// Maximum bytes of one line (a quoted field spanning lines counts as one line).
    pub max_line_bytes: u64,
    /// Maximum cells held in memory by one read ([`CsvSource::read_block`] into one buffer).
    pub max_cells: u64,
}

impl Default for CsvOptions {
    /// A header row, and the [`Limits::current`] line and cell limits.
    fn default() -> Self {
        CsvOptions::with_limits(&Limits::current())
    }
}

impl CsvOptions {
    /// A header row and the given limits.
    pub fn with_limits(limits: &Limits) -> Self {
        CsvOptions {
            has_header: true,
            max_line_bytes: limits.line_bytes,
            max_cells: limits.data_cells,
        }
    }
}

/// How the CSV's columns map to the model's inputs.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Header names in file order.
    pub header: Vec<String>,
    /// For each model input, the CSV column index it is read from.
    pub features: Vec<usize>,
    /// The label column, if `--label` was given.
    pub label: Option<usize>,
    /// Further columns read beside the features (e.g. ground truth), in request order.
    pub extra: Vec<usize>,
}

impl Columns {
    /// The feature names in model-input order (as written in the CSV header).
    pub fn feature_names(&self) -> Vec<String> {
        self.features
            .iter()
            .map(|&i| self.header[i].clone())
            .collect()
    }
}

/// Raised by [`LineLimit`] inside the I/O error the CSV parser passes on.
#[derive(Debug, Clone, Copy)]
struct LineTooLong {
    line: u64,
    /// The byte limit, or the column limit when `columns`.
    max: u64,
    columns: bool,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = if self.columns { "columns" } else { "bytes" };
        write!(f, "line {} has more than {} {unit}", self.line, self.max)
    }
}

/// The most columns a line may have: a sixteenth of the line limit, at least 1024 (so that
/// the parser's per-field bookkeeping stays within a small multiple of the line limit).
fn max_columns(max_line_bytes: u64) -> u64 {
    (max_line_bytes / 16).max(1024)
}

impl std::error::Error for LineTooLong {}

/// Where the CSV grammar is, as far as line ends are concerned (csv-core's states, reduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

/// A reader that fails as soon as one CSV line (a record; quoted line breaks included)
/// exceeds `max` bytes, before the parser has buffered it.
struct LineLimit<R> {
    inner: R,
    max: u64,
    /// Bytes of the current record so far.
    run: u64,
    lex: Lex,
    /// 1-based line of the current position and of the current record's start.
    line: u64,
    record_line: u64,
    /// Fields of the current record so far, and the most allowed.
    fields: u64,
    max_fields: u64,
    /// The overlong line found, reported at the next read: the bytes before it are passed on
    /// first, so the error surfaces when the parser reaches that line, not when it reads ahead.
    failed: Option<LineTooLong>,
}

impl<R: Read> LineLimit<R> {
    fn new(inner: R, max: u64) -> Self {
        LineLimit {
            inner,
            max,
            run: 0,
            lex: Lex::StartField,
            line: 1,
            record_line: 1,
            fields: 1,
            max_fields: max_columns(max),
            failed: None,
        }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(f) = self.failed {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, f));
        }
        let n = self.inner.read(buf)?;
        let mut k = 0;
        while k < n {
            // Fast path: outside quotes, bytes other than quote, comma and line ends only make
            // the line longer (most of a numeric CSV).
            if self.lex != Lex::InQuoted {
                let plain = buf[k..n]
                    .iter()
                    .position(|&b| matches!(b, b'"' | b',' | b'\n' | b'\r'))
                    .unwrap_or(n - k);
                if plain > 0 && self.run + plain as u64 <= self.max {
                    self.lex = Lex::InField;
                    self.run += plain as u64;
                    k += plain;
                    continue;
                }
            }
            let b = buf[k];
            let end = b == b'\n' || b == b'\r';
            self.lex = match (self.lex, b) {
                (Lex::InQuoted, b'"') => Lex::QuoteInQuoted,
                (Lex::InQuoted, _) => Lex::InQuoted,
                (Lex::StartField | Lex::QuoteInQuoted, b'"') => Lex::InQuoted,
                (_, b',') => Lex::StartField,
                (_, _) if end => Lex::StartField,
                _ => Lex::InField,
            };
            if b == b'\n' {
                self.line += 1;
            }
            if end && self.lex == Lex::StartField {
                self.run = 0;
                self.fields = 1;
                self.record_line = self.line;
            } else {
                self.run += 1;
                if b == b',' && self.lex == Lex::StartField {
                    self.fields += 1;
                }
                let over = if self.run > self.max {
                    Some((self.max, false))
                } else if self.fields > self.max_fields {
                    Some((self.max_fields, true))
                } else {
                    None
                };
                if let Some((max, columns)) = over {
                    self.failed = Some(LineTooLong {
                        line: self.record_line,
                        max,
                        columns,
                    });
                    return if k > 0 { Ok(k) } else { self.read(buf) };
                }
            }
            k += 1;
        }
        Ok(n)
    }
}

type Reader = ::csv::Reader<LineLimit<Box<dyn Read + Send>>>;

fn data_err(
    path: &Path,
    line: u64,
    column: Option<(usize, String)>,
    reason: impl Into<String>,
) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        location: DataLocation { line, column },
        reason: reason.into(),
    }
}

/// A CSV file whose header has been read, not yet mapped to a model's inputs.
pub struct CsvFile {
    path: PathBuf,
    reader: Reader,
    header: Vec<String>,
    /// The first data row, already read (files without a header).
    pending: Option<::csv::StringRecord>,
    file_len: u64,
    max_cells: u64,
}

impl std::fmt::Debug for CsvFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvFile")
            .field("path", &self.path)
            .field("columns", &self.header.len())
            .finish_non_exhaustive()
    }
}

impl CsvFile {
    /// Opens `path` (`-`: standard input) and reads the header.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened or is a folder or device;
    /// [`Error::Data`] for an empty file, an over-long line, duplicate column names or a
    /// header that looks like data.
    pub fn open(path: &Path, opts: &CsvOptions) -> Result<Self> {
        if crate::io::read::is_stdio(path) {
            return Self::from_reader(Path::new("<stdin>"), Box::new(std::io::stdin()), 0, opts);
        }
        let (file, len) = crate::io::read::open_input(path, crate::io::read::Source::Named)?;
        Self::from_reader(path, Box::new(file), len.unwrap_or(0), opts)
    }

    /// Reads the header from `reader`; `path` names the source in errors, `len` is its size
    /// in bytes for progress (0 when unknown).
    ///
    /// # Errors
    /// As [`CsvFile::open`].
    pub fn from_reader(
        path: &Path,
        reader: Box<dyn Read + Send>,
        len: u64,
        opts: &CsvOptions,
    ) -> Result<Self> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(LineLimit::new(reader, opts.max_line_bytes));
        let mut record = ::csv::StringRecord::new();
        let got = reader
            .read_record(&mut record)
            .map_err(|e| csv_err(path, &e))?;
        if !got {
            return Err(data_err(
                path,
                1,
                None,
                if opts.has_header {
                    "expected a header row, got an empty file"
                } else {
                    "expected a data row, got an empty file"
                },
            ));
        }
        let (header, pending) = if opts.has_header {
            let header: Vec<String> = record.iter().map(str::to_owned).collect();
            check_header(path, &header)?;
            (header, None)
        } else {
            let header = (0..record.len()).map(|i| format!("f{i}")).collect();
            (header, Some(record))
        };
        Ok(CsvFile {
            path: path.to_path_buf(),
            reader,
            header,
            pending,
            file_len: len,
            max_cells: opts.max_cells,
        })
    }

    /// Column names in file order (`f0`, `f1`, … without a header).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The name of the source in messages (`<stdin>` for standard input).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Maps the columns to the model's `input_dim` inputs: by name when `names` (the model's
    /// stored feature names) are all in the header, otherwise by position over the non-label
    /// columns. With `label_required = false` a label column absent from the header is not an
    /// error (reference files need not carry the label).
    ///
    /// # Errors
    /// [`Error::Data`] for a missing label column or a column count that does not match.
    pub fn select(
        self,
        label: Option<&str>,
        label_required: bool,
        input_dim: usize,
        names: Option<&[String]>,
    ) -> Result<CsvSource> {
        let path = &self.path;
        let header = &self.header;
        let index: HashMap<&str, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        let label_idx = match label {
            None => None,
            Some(l) if !label_required && !index.contains_key(l) => None,
            Some(l) => Some(*index.get(l).ok_or_else(|| {
                data_err(
                    path,
                    1,
                    None,
                    format!(
                        "expected a label column '{}' in the header, got columns {}",
                        quote(l),
                        list(header)
                    ),
                )
            })?),
        };
        let candidates = header.len() - usize::from(label_idx.is_some());
        let by_name = names.and_then(|names| {
            names
                .iter()
                .map(|n| {
                    index
                        .get(n.as_str())
                        .copied()
                        .filter(|&i| Some(i) != label_idx)
                })
                .collect::<Option<Vec<_>>>()
        });
        let features = match by_name {
            Some(f) => f,
            None if candidates == input_dim => (0..header.len())
                .filter(|&i| Some(i) != label_idx)
                .collect(),
            None => {
                let hint = match names {
                    Some(n) => {
                        let missing: Vec<&str> = n
                            .iter()
                            .filter(|x| !index.contains_key(x.as_str()))
                            .map(String::as_str)
                            .collect();
                        format!(
                            " (model feature columns missing from the header: {})",
                            list(&missing)
                        )
                    }
                    None => String::new(),
                };
                return Err(data_err(
                    path,
                    1,
                    None,
                    format!(
                        "wrong column count: expected {input_dim} feature columns{}, got {candidates}{hint}",
                        if label_idx.is_some() {
                            " besides the label"
                        } else {
                            ""
                        },
                    ),
                ));
            }
        };
        Ok(CsvSource {
            columns: Columns {
                header: self.header.clone(),
                features,
                label: label_idx,
                extra: Vec::new(),
            },
            backend: Backend::Csv {
                file: self,
                record: ::csv::StringRecord::new(),
            },
            rows_read: 0,
        })
    }
}

/// Column names must be present and unique, and a header made only of numbers is a data
/// row.
fn check_header(path: &Path, header: &[String]) -> Result<()> {
    if let Some(i) = header.iter().position(String::is_empty) {
        return Err(data_err(
            path,
            1,
            Some((i + 1, String::new())),
            if header.len() == 1 {
                "expected a header row naming the columns, got an empty line".to_string()
            } else {
                "the column has no name; every column needs one (an unnamed first column is \
                 often an index written by pandas: to_csv(index=False) leaves it out)"
                    .to_string()
            },
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if let Some(first) = seen.insert(h.as_str(), i) {
            return Err(data_err(
                path,
                1,
                None,
                format!(
                    "columns {} and {} are both named '{}'; column names must be unique",
                    first + 1,
                    i + 1,
                    quote(h)
                ),
            ));
        }
    }
    // interface.md: without --no-header, a header that parses as numbers is an error.
    if header.iter().all(|h| h.parse::<f64>().is_ok()) {
        return Err(data_err(
            path,
            1,
            None,
            format!(
                "the first line looks like data, not a header (every name is a number: {}); \
                 add a header row naming the columns (numbers as names, as pandas writes for \
                 unnamed columns, must be renamed), or pass --no-header to read every line as \
                 data with columns named f0, f1, …",
                list(header)
            ),
        ));
    }
    Ok(())
}

/// Reads up to `max_rows` CSV records (see [`CsvSource::read_block_with`]).
#[allow(clippy::too_many_arguments)]
fn csv_block(
    file: &mut CsvFile,
    record: &mut ::csv::StringRecord,
    columns: &Columns,
    rows_read: usize,
    max_rows: usize,
    x: &mut Vec<f64>,
    labels: &mut Vec<f64>,
    extra: &mut Vec<f64>,
) -> Result<usize> {
    let mut n = 0;
    let width = columns.header.len();
    let per_row = (columns.features.len() + columns.extra.len()).max(1) as u64;
    while n < max_rows {
        let line = if let Some(first) = file.pending.take() {
            *record = first;
            1
        } else {
            if !file
                .reader
                .read_record(record)
                .map_err(|e| csv_err(&file.path, &e))?
            {
                break;
            }
            record.position().map_or(0, ::csv::Position::line)
        };
        if record.len() == 1 && record[0].is_empty() {
            continue; // blank line
        }
        if record.len() != width {
            return Err(data_err(
                &file.path,
                line,
                None,
                format!(
                    "expected {width} columns like the header, got {}",
                    record.len()
                ),
            ));
        }
        if (x.len() + extra.len()) as u64 + per_row > file.max_cells {
            return Err(data_err(
                &file.path,
                line,
                None,
                format!(
                    "more data than may be held in memory at once ({} rows so far): {}; \
                         fewer rows (e.g. --max-rows) also help",
                    rows_read + n,
                    DATA_CELLS.exceeded(file.max_cells)
                ),
            ));
        }
        for &c in &columns.features {
            x.push(cell(file, record, columns, line, c)?);
        }
        if let Some(c) = columns.label {
            labels.push(cell(file, record, columns, line, c)?);
        }
        for &c in &columns.extra {
            extra.push(cell(file, record, columns, line, c)?);
        }
        n += 1;
    }
    Ok(n)
}

fn cell(
    file: &CsvFile,
    record: &::csv::StringRecord,
    columns: &Columns,
    line: u64,
    c: usize,
) -> Result<f64> {
    let s = &record[c];
    let col = || Some((c + 1, columns.header[c].clone()));
    let v: f64 = s.parse().map_err(|_| {
        data_err(
            &file.path,
            line,
            col(),
            format!("expected a number, got '{}'", quote(s)),
        )
    })?;
    if !v.is_finite() {
        return Err(data_err(
            &file.path,
            line,
            col(),
            format!("expected a finite number, got '{}'", quote(s)),
        ));
    }
    Ok(v)
}

/// A data file opened for block-wise reading, its columns mapped to a model's inputs: a CSV
/// file, or a NumPy `.npy` array (rows flattened in C order, columns named `f0, f1, …`).
pub struct CsvSource {
    backend: Backend,
    columns: Columns,
    rows_read: usize,
}

enum Backend {
    Csv {
        file: CsvFile,
        record: ::csv::StringRecord,
    },
    Npy {
        reader: super::npy::NpyReader,
        max_cells: u64,
    },
}

impl std::fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSource")
            .field("path", &self.path())
            .field("rows_read", &self.rows_read)
            .finish_non_exhaustive()
    }
}

impl CsvSource {
    /// Opens `path` (`-`: standard input), reads the header and maps columns to the model's
    /// `input_dim` inputs (see [`CsvFile::select`]).
    ///
    /// # Errors
    /// As [`CsvFile::open`] and [`CsvFile::select`].
    pub fn open(
        path: &Path,
        opts: &CsvOptions,
        label: Option<&str>,
        input_dim: usize,
        names: Option<&[String]>,
    ) -> Result<Self> {
        Self::open_with(path, opts, label, true, input_dim, names)
    }

    /// A `.npy` array as a source: `input_dim` elements per row, no label column.
    fn npy(
        path: &Path,
        opts: &CsvOptions,
        label: Option<&str>,
        label_required: bool,
        input_dim: usize,
    ) -> Result<Self> {
        let reader = super::npy::NpyReader::open(path)?;
        if let Some(l) = label.filter(|_| label_required) {
            return Err(data_err(
                path,
                0,
                None,
                format!(
                    "a .npy file holds only the inputs; the label '{}' must come from a CSV file",
                    quote(l)
                ),
            ));
        }
        if reader.cols() != input_dim {
            return Err(data_err(
                path,
                0,
                None,
                format!(
                    "expected rows of {input_dim} values (the model's input), got shape {:?} ({} per row)",
                    reader.shape,
                    reader.cols()
                ),
            ));
        }
        Ok(CsvSource {
            columns: Columns {
                header: (0..input_dim).map(|i| format!("f{i}")).collect(),
                features: (0..input_dim).collect(),
                label: None,
                extra: Vec::new(),
            },
            backend: Backend::Npy {
                reader,
                max_cells: opts.max_cells,
            },
            rows_read: 0,
        })
    }

    /// As [`CsvSource::open`]; with `label_required = false` a label column absent from the
    /// header is not an error (reference files need not carry the label).
    ///
    /// # Errors
    /// As [`CsvSource::open`].
    pub fn open_with(
        path: &Path,
        opts: &CsvOptions,
        label: Option<&str>,
        label_required: bool,
        input_dim: usize,
        names: Option<&[String]>,
    ) -> Result<Self> {
        if super::npy::is_npy(path) {
            return Self::npy(path, opts, label, label_required, input_dim);
        }
        CsvFile::open(path, opts)?.select(label, label_required, input_dim, names)
    }

    /// Also reads the columns `names` (in this order) into the `extra` buffer of
    /// [`CsvSource::read_block_with`].
    ///
    /// # Errors
    /// [`Error::Data`] naming the first column missing from the header.
    pub fn with_extra(mut self, names: &[String]) -> Result<Self> {
        let index: HashMap<&str, usize> = self
            .columns
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        let extra = names
            .iter()
            .map(|n| {
                index.get(n.as_str()).copied().ok_or_else(|| {
                    data_err(
                        self.path(),
                        1,
                        None,
                        format!("expected a column '{}' in the header", quote(n)),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.columns.extra = extra;
        Ok(self)
    }

    /// The column mapping.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The name of the source in messages (`<stdin>` for standard input).
    pub fn path(&self) -> &Path {
        match &self.backend {
            Backend::Csv { file, .. } => &file.path,
            Backend::Npy { reader, .. } => reader.path(),
        }
    }

    /// Data rows read so far.
    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    /// Bytes of the file consumed so far and the file's size (for progress bars; 0 when
    /// unknown, as for standard input).
    pub fn progress(&self) -> (u64, u64) {
        match &self.backend {
            Backend::Csv { file, .. } => (file.reader.position().byte(), file.file_len),
            Backend::Npy { reader, .. } => reader.progress(),
        }
    }

    /// Reads up to `max_rows` rows, appending features (model-input order, row-major) to `x`
    /// and, with a label column, labels to `labels`. Returns the number of rows read (0 at
    /// the end of the file).
    ///
    /// # Errors
    /// [`Error::Data`] naming the line and column of the first bad cell or ragged row, or
    /// the line at which `x` would hold more cells than [`CsvOptions::max_cells`].
    pub fn read_block(
        &mut self,
        max_rows: usize,
        x: &mut Vec<f64>,
        labels: &mut Vec<f64>,
    ) -> Result<usize> {
        self.read_block_with(max_rows, x, labels, &mut Vec::new())
    }

    /// As [`CsvSource::read_block`], appending the [`CsvSource::with_extra`] columns to
    /// `extra`.
    ///
    /// # Errors
    /// As [`CsvSource::read_block`].
    pub fn read_block_with(
        &mut self,
        max_rows: usize,
        x: &mut Vec<f64>,
        labels: &mut Vec<f64>,
        extra: &mut Vec<f64>,
    ) -> Result<usize> {
        let columns = &self.columns;
        let n = match &mut self.backend {
            Backend::Npy { reader, max_cells } => {
                let room =
                    usize::try_from(max_cells.saturating_sub((x.len() + extra.len()) as u64))
                        .unwrap_or(usize::MAX)
                        / reader.cols().max(1);
                if room == 0 && max_rows > 0 && reader.rows() > self.rows_read {
                    return Err(data_err(
                        reader.path(),
                        0,
                        None,
                        format!(
                            "more data than may be held in memory at once ({} rows so far): {}; \
                             fewer rows (e.g. --max-rows) also help",
                            self.rows_read,
                            DATA_CELLS.exceeded(*max_cells)
                        ),
                    ));
                }
                reader.read_rows(max_rows.min(room), x)?
            }
            Backend::Csv { file, record } => csv_block(
                file,
                record,
                columns,
                self.rows_read,
                max_rows,
                x,
                labels,
                extra,
            )?,
        };
        self.rows_read += n;
        Ok(n)
    }

    /// Reads the rest of the file.
    ///
    /// # Errors
    /// As [`CsvSource::read_block`]; also when the file has no data rows.
    pub fn read_all(&mut self) -> Result<(Vec<f64>, Vec<f64>)> {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        while self.read_block(1 << 16, &mut x, &mut y)? > 0 {}
        self.ensure_rows()?;
        Ok((x, y))
    }

    /// Errors when no data row has been read (a header-only file).
    ///
    /// # Errors
    /// [`Error::Data`] for a header-only file.
    pub fn ensure_rows(&self) -> Result<()> {
        if self.rows_read == 0 {
            return Err(data_err(
                self.path(),
                2,
                None,
                "expected at least one data row, got only the header",
            ));
        }
        Ok(())
    }
}

fn csv_err(path: &Path, e: &::csv::Error) -> Error {
    let line = e.position().map_or(0, ::csv::Position::line);
    match e.kind() {
        ::csv::ErrorKind::Io(io) => {
            if let Some(long) = io.get_ref().and_then(|i| i.downcast_ref::<LineTooLong>()) {
                let reason = if long.columns {
                    format!(
                        "line too wide: the limit is {} columns (a sixteenth of the line limit, \
                         at least 1024; raise it with --max-line-bytes or CONFLUX_MAX_LINE_BYTES)",
                        long.max
                    )
                } else {
                    format!("line too long: {}", LINE_BYTES.exceeded(long.max))
                };
                return data_err(path, long.line, None, reason);
            }
            Error::io(path, std::io::Error::new(io.kind(), io.to_string()))
        }
        ::csv::ErrorKind::Utf8 { .. } => {
            data_err(path, line, None, "expected UTF-8 text, got invalid bytes")
        }
        _ => data_err(path, line, None, format!("malformed CSV ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn opts() -> CsvOptions {
        CsvOptions::with_limits(&Limits::DEFAULT)
    }

    fn from(content: &'static [u8], o: &CsvOptions) -> Result<CsvFile> {
        CsvFile::from_reader(Path::new("mem.csv"), Box::new(content), 0, o)
    }

    /// The error of reading `content` as two feature columns.
    fn read_err(content: &'static [u8], o: &CsvOptions) -> String {
        from(content, o)
            .and_then(|f| f.select(None, true, 2, None))
            .and_then(|mut s| s.read_all())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn long_lines_fail_while_reading() {
        let o = CsvOptions {
            max_line_bytes: 16,
            ..opts()
        };
        // Lines of up to 16 bytes pass; CRLF and lone CR end lines too.
        let mut src = from(b"a,b\n1,2\r\n12345678901234,1\r3,4\n", &o)
            .unwrap()
            .select(None, true, 2, None)
            .unwrap();
        assert_eq!(src.read_all().unwrap().0.len(), 6);
        let e = read_err(b"a,b\n1,2\n123456789012345678,1\n", &o);
        assert!(
            e.starts_with("mem.csv:3: line too long: the limit is 16 bytes per CSV line")
                && e.contains("--max-line-bytes"),
            "{e}"
        );
        // A quoted field spanning lines is one line; "" inside quotes does not end it.
        let e = read_err(b"a,b\n\"1\n2\n\"\"3\n4\n5\n6\n7\n8\",2\n", &o);
        assert!(e.starts_with("mem.csv:2: line too long"), "{e}");
        // The header too, and an endless stream of zero bytes.
        let e = from(&[b'x'; 100], &o).unwrap_err().to_string();
        assert!(e.starts_with("mem.csv:1: line too long"), "{e}");
        let zeros = std::io::repeat(0).take(1 << 30);
        let e = CsvFile::from_reader(Path::new("zero"), Box::new(zeros), 0, &o)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("zero:1: line too long"), "{e}");
    }

    #[test]
    fn header_conventions() {
        let e = from(b",a,b\n0,1,2\n", &opts()).unwrap_err().to_string();
        assert!(
            e.contains("mem.csv:1:1 (column ''): the column has no name"),
            "{e}"
        );
        let e = from(b"\"\"\n1\n", &opts()).unwrap_err().to_string();
        assert!(e.contains("got an empty line"), "{e}");
        // The header's width is bounded before its names are stored.
        let narrow = CsvOptions {
            max_line_bytes: 32 << 10,
            ..opts()
        };
        let wide: Vec<String> = (0..3000).map(|i| format!("c{i}")).collect();
        let text: &'static [u8] = Box::leak(
            format!("{}\n", wide.join(","))
                .into_bytes()
                .into_boxed_slice(),
        );
        let e = from(text, &narrow).unwrap_err().to_string();
        assert!(
            e.contains("mem.csv:1: line too wide: the limit is 2048 columns"),
            "{e}"
        );
        // Commas inside quotes are not column breaks.
        let quoted: &'static [u8] = Box::leak(
            format!("a,b\n\"{}\",1\n", ",".repeat(3000))
                .into_bytes()
                .into_boxed_slice(),
        );
        let mut src = from(quoted, &narrow)
            .unwrap()
            .select(None, true, 2, None)
            .unwrap();
        assert!(
            src.read_all()
                .unwrap_err()
                .to_string()
                .contains("expected a number")
        );
        let e = from(b"a,b,a\n1,2,3\n", &opts()).unwrap_err().to_string();
        assert!(
            e.contains("mem.csv:1: columns 1 and 3 are both named 'a'"),
            "{e}"
        );
        let e = from(b"1.5,2e3,-4\n1,2,3\n", &opts())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mem.csv:1: the first line looks like data") && e.contains("--no-header"),
            "{e}"
        );
        // Numbers are not names (interface.md), pandas' 0, 1, 2, … included.
        assert!(from(b"0,1,2\n1,2,3\n", &opts()).is_err());
        // Without a header the first line is data and the columns are f0, f1, ….
        let no = CsvOptions {
            has_header: false,
            ..opts()
        };
        let f = from(b"1.5,2e3,-4\n1,2,3\n", &no).unwrap();
        assert_eq!(f.header(), ["f0", "f1", "f2"]);
        let mut src = f.select(Some("f2"), true, 2, None).unwrap();
        let (x, y) = src.read_all().unwrap();
        assert_eq!((x, y), (vec![1.5, 2e3, 1.0, 2.0], vec![-4.0, 3.0]));
        let e = read_err(b"1,2\n1,x\n", &no);
        assert!(e.contains("mem.csv:2:2 (column 'f1')"), "{e}");
    }

    #[test]
    fn extra_columns_and_cell_budget() {
        let names = ["a".to_string(), "b".to_string()];
        let truth = ["gt_a".to_string(), "gt_b".to_string()];
        let mut src = from(b"a,gt_a,b,gt_b\n1,10,2,20\n3,30,4,40\n", &opts())
            .unwrap()
            .select(None, false, 2, Some(&names))
            .unwrap()
            .with_extra(&truth)
            .unwrap();
        let (mut x, mut y, mut t) = (vec![], vec![], vec![]);
        assert_eq!(src.read_block_with(10, &mut x, &mut y, &mut t).unwrap(), 2);
        assert_eq!(
            (x, t),
            (vec![1.0, 2.0, 3.0, 4.0], vec![10.0, 20.0, 30.0, 40.0])
        );
        let small = CsvOptions {
            max_cells: 5,
            ..opts()
        };
        let e = read_err(b"a,b\n1,2\n3,4\n5,6\n", &small);
        assert!(
            e.contains("mem.csv:4: more data than may be held in memory at once (2 rows so far)")
                && e.contains("--max-data-cells"),
            "{e}"
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let mut text = b"a,b\n1,".to_vec();
        text.extend(std::iter::repeat_n(b'7', 100_000));
        text.extend(b"x\n");
        let text: &'static [u8] = Box::leak(text.into_boxed_slice());
        let e = read_err(text, &opts());
        assert!(e.len() < 200 && e.contains("(100001 chars)"), "{e}");
    }

    fn tmp(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn reads_by_name_and_label() {
        let f = tmp("b,y,a\n1,0,2\n3,1,4\n");
        let names = vec!["a".to_string(), "b".to_string()];
        let mut src = CsvSource::open(f.path(), &opts(), Some("y"), 2, Some(&names)).unwrap();
        let (x, y) = src.read_all().unwrap();
        assert_eq!(x, vec![2.0, 1.0, 4.0, 3.0]);
        assert_eq!(y, vec![0.0, 1.0]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let f = tmp("a,b\n1,2\n3,x\n");
        let mut src = CsvSource::open(f.path(), &opts(), None, 2, None).unwrap();
        let e = src.read_all().unwrap_err().to_string();
        assert!(
            e.ends_with(":3:2 (column 'b'): expected a number, got 'x'"),
            "{e}"
        );
        let f = tmp("a,b\n1,2\n3\n");
        let e = CsvSource::open(f.path(), &opts(), None, 2, None)
            .unwrap()
            .read_all()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":3: expected 2 columns like the header, got 1"),
            "{e}"
        );
        let f = tmp("a,b\n1,inf\n");
        let e = CsvSource::open(f.path(), &opts(), None, 2, None)
            .unwrap()
            .read_all()
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a finite number, got 'inf'"), "{e}");
        let f = tmp("a,b\n");
        let e = CsvSource::open(f.path(), &opts(), None, 2, None)
            .unwrap()
            .read_all()
            .unwrap_err()
            .to_string();
        assert!(e.contains("only the header"), "{e}");
        let f = tmp("");
        let e = CsvSource::open(f.path(), &opts(), None, 2, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty file"), "{e}");
        let f = tmp("a,b,c\n1,2,3\n");
        let e = CsvSource::open(f.path(), &opts(), None, 2, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 2 feature columns, got 3"), "{e}");
    }
}
