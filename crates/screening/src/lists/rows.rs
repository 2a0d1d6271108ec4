//! Splitting a list file into rows, with per-row UTF-8 and truncation checks.

use csv::{ByteRecord, StringRecord};

use super::{ListError, RowProblem};

/// The byte OFAC files end with (DOS end-of-file, SUB).
const DOS_EOF: u8 = 0x1A;

/// One row, decoded.
#[derive(Debug)]
pub(crate) struct Row {
    /// The 1-based line the row starts on.
    pub line: u64,
    /// Its fields, as the CSV gives them (quotes removed, not trimmed).
    pub record: StringRecord,
}

impl Row {
    /// A field by index, or `""` when the row is short.
    pub fn get(&self, i: usize) -> &str {
        self.record.get(i).unwrap_or("")
    }
}

/// The rows of one file.
///
/// A UTF-8 byte-order mark at the start and `0x1A`, CR and LF bytes at the end
/// are dropped before parsing; blank lines are skipped.
pub(crate) struct Rows<'a> {
    file: &'a str,
    /// The bytes parsed (after the dropped prefix and suffix).
    data: &'a [u8],
    /// Bytes dropped from the front, added back to offsets in messages.
    skipped: usize,
    reader: csv::Reader<&'a [u8]>,
    /// Column names for messages; `columns[i]` names field `i`.
    columns: Vec<String>,
    done: bool,
    /// A byte offset and the 1-based line it is on, for counting forward.
    mark: (usize, u64),
}

impl<'a> Rows<'a> {
    /// Starts reading `bytes` as `delimiter`-separated rows.
    pub fn new(file: &'a str, bytes: &'a [u8], delimiter: u8) -> Self {
        let (data, skipped) = trim_file(bytes);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(data);
        Rows {
            file,
            data,
            skipped,
            reader,
            columns: Vec::new(),
            done: false,
            mark: (0, 1),
        }
    }

    /// The 1-based line of a byte offset; offsets must not decrease between calls.
    fn line_at(&mut self, offset: usize) -> u64 {
        let (from, line) = self.mark;
        let newlines = self
            .data
            .get(from..offset)
            .map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count());
        let line = line + u64::try_from(newlines).unwrap_or(0);
        self.mark = (offset.max(from), line);
        line
    }

    /// Names the columns, for the `field` of problems.
    pub fn set_columns(&mut self, columns: Vec<String>) {
        self.columns = columns;
    }

    /// The name of column `i`, if known.
    pub fn column(&self, i: usize) -> Option<&str> {
        self.columns.get(i).map(String::as_str)
    }

    /// The file name, as given.
    pub fn file(&self) -> &'a str {
        self.file
    }

    /// A problem on `line` of this file.
    pub fn problem(&self, line: u64, field: Option<&str>, message: String) -> RowProblem {
        RowProblem::new(self.file, line, field, message)
    }

    /// Checks that a row has exactly the expected number of fields.
    pub fn check_width(&self, row: &Row, expected: usize) -> Result<(), RowProblem> {
        let found = row.record.len();
        if found == expected {
            return Ok(());
        }
        let hint = if found < expected {
            " (is the row or the file cut off?)"
        } else {
            ""
        };
        Err(self.problem(
            row.line,
            None,
            format!("expected {expected} columns, found {found}{hint}"),
        ))
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Row, RowProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut record = ByteRecord::new();
        match self.reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                // Reading from a byte slice with `flexible` on cannot fail;
                // should it, the rest of the file is unreadable.
                self.done = true;
                let line = e.position().map_or(1, csv::Position::line).max(1);
                return Some(Err(self.problem(line, None, e.to_string())));
            }
        }
        // The csv crate places a record after a CRLF at the LF and counts
        // lines only once it is consumed, so lines are counted here instead.
        let mut start = record
            .position()
            .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(0));
        while self
            .data
            .get(start)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            start += 1;
        }
        let end = usize::try_from(self.reader.position().byte()).unwrap_or(self.data.len());
        let line = self.line_at(start);
        let raw = self.data.get(start..end).unwrap_or_default();
        if end >= self.data.len() && raw.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            self.done = true;
            return Some(Err(self.problem(
                line,
                None,
                "a quoted field opened in this row is never closed (is the file cut off?)"
                    .to_owned(),
            )));
        }
        match StringRecord::from_byte_record(record) {
            Ok(record) => Some(Ok(Row { line, record })),
            Err(e) => {
                let within = std::str::from_utf8(raw)
                    .err()
                    .map_or(0, |u| u.valid_up_to());
                let offset = self.skipped + start + within;
                let field = self.column(e.utf8_error().field()).map(str::to_owned);
                Some(Err(self.problem(
                    line,
                    field.as_deref(),
                    format!("invalid UTF-8 at byte offset {offset}; the row is skipped"),
                )))
            }
        }
    }
}

/// Drops a leading byte-order mark and trailing `0x1A`, CR and LF bytes.
///
/// Returns the remaining bytes and how many were dropped from the front.
fn trim_file(bytes: &[u8]) -> (&[u8], usize) {
    let (data, skipped) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    let mut end = data.len();
    while end > 0
        && data
            .get(end - 1)
            .is_some_and(|b| matches!(b, &DOS_EOF | b'\r' | b'\n'))
    {
        end -= 1;
    }
    (data.get(..end).unwrap_or_default(), skipped)
}

/// The first row of a file, lossily decoded, for format sniffing.
pub(crate) fn first_record(bytes: &[u8], delimiter: u8) -> Option<Vec<String>> {
    let (data, _) = trim_file(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(data);
    let mut record = ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => Some(
            record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// A field with surrounding whitespace removed, or `None` for OFAC's null
/// marker `-0-` or an empty field.
pub(crate) fn non_null(field: &str) -> Option<&str> {
    let t = field.trim();
    (!t.is_empty() && t != "-0-").then_some(t)
}

/// A header row: column names and their positions.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    names: Vec<String>,
}

impl Header {
    /// Reads the header row of `rows` and names its columns.
    ///
    /// Returns `Ok(None)` for a file without any row.
    ///
    /// # Errors
    /// [`ListError::BadHeader`] when the header row cannot be decoded.
    pub fn read(rows: &mut Rows<'_>) -> Result<Option<Header>, ListError> {
        let row = match rows.next() {
            None => return Ok(None),
            Some(Ok(row)) => row,
            Some(Err(p)) => {
                return Err(ListError::BadHeader {
                    file: rows.file().to_owned(),
                    message: p.message,
                });
            }
        };
        let names: Vec<String> = row.record.iter().map(|c| c.trim().to_owned()).collect();
        rows.set_columns(names.clone());
        Ok(Some(Header { names }))
    }

    /// The position of a column, by case-insensitive name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }

    /// The position of a column the reader cannot do without.
    ///
    /// # Errors
    /// [`ListError::MissingColumn`] naming the file, the column and the header.
    pub fn require(&self, file: &str, name: &str) -> Result<usize, ListError> {
        self.find(name).ok_or_else(|| ListError::MissingColumn {
            file: file.to_owned(),
            column: name.to_owned(),
            found: self.names.join(", "),
        })
    }

    /// The number of columns.
    pub fn width(&self) -> usize {
        self.names.len()
    }
}
