//! Source files and the line/column locations that every Cordon diagnostic names.
//!
//! Compliance staff fix directive files by hand; an error that says only "invalid
//! type" wastes their time. Every loader in Cordon reads its input through
//! [`SourceFile`] so that an error can say `directives/foo.toml:12:9`.
#![deny(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};

/// The largest input file Cordon reads, in bytes.
///
/// Directive, catalog and group files are hand-written and small; a file larger
/// than this is a mistake (a log or a database pointed at the wrong flag) and is
/// refused before it is parsed, so a stray path cannot exhaust memory.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A text file held in memory with its name, so byte offsets can become locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    name: String,
    text: String,
}

/// A line and column (both 1-based, column counted in characters) in a named file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file name as the user gave it.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in Unicode scalar values.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a source file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("`{path}` is {size} bytes; the limit for this kind of file is {limit} bytes")]
    TooLarge {
        /// The path that was refused.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit it exceeded.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("`{path}` is not UTF-8 text (invalid byte at line {line}, column {column})")]
    NotUtf8 {
        /// The path that was refused.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in bytes) of the first invalid byte.
        column: usize,
    },
}

impl SourceFile {
    /// Wraps text that is already in memory (embedded data, tests, standard input).
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Reads a file, refusing anything over [`MAX_FILE_BYTES`] or not UTF-8.
    ///
    /// # Errors
    /// Returns [`ReadError`] when the file cannot be read, is too large, or is not UTF-8.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let io = |source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_FILE_BYTES {
            return Err(ReadError::TooLarge {
                path: path.to_path_buf(),
                size,
                limit: MAX_FILE_BYTES,
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.utf8_error().valid_up_to();
            let prefix = e.as_bytes().get(..valid).unwrap_or_default();
            let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = valid
                - prefix
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1)
                + 1;
            ReadError::NotUtf8 {
                path: path.to_path_buf(),
                line,
                column,
            }
        })?;
        Ok(Self {
            name: path.display().to_string(),
            text,
        })
    }

    /// The file's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The location of a byte offset; offsets past the end map to the last position.
    pub fn location(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = self.text.get(..offset).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |p| p + 1);
        let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
        Location {
            file: self.name.clone(),
            line,
            column,
        }
    }

    /// The location of the start of a span, or the file's start when there is none.
    pub fn location_of(&self, span: Option<std::ops::Range<usize>>) -> Location {
        self.location(span.map_or(0, |s| s.start))
    }

    /// The byte range of the value at a dotted `path` in the file's TOML:
    /// `geo.internal_country`, `upstream[1].url`,
    /// `verification.source[0].secrets[1]` (an index picks an element of an
    /// array or of an array of tables). `None` when the text is not TOML or
    /// has no such value.
    ///
    /// For error messages about a value that parsed but is wrong: they point
    /// at the value itself, not at the first place its key's name appears
    /// (which may be a comment).
    pub fn value_span(&self, path: &str) -> Option<std::ops::Range<usize>> {
        use toml::de::{DeTable, DeValue};
        let root = DeTable::parse(&self.text).ok()?;
        let mut table = root.get_ref();
        let mut found: Option<&toml::Spanned<DeValue<'_>>> = None;
        for segment in path.split('.') {
            if let Some(v) = found {
                match v.get_ref() {
                    DeValue::Table(t) => table = t,
                    _ => return None,
                }
            }
            let (key, indices) = match segment.find('[') {
                Some(i) => (segment.get(..i)?, segment.get(i..)?),
                None => (segment, ""),
            };
            let mut value = table
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == key)
                .map(|(_, v)| v)?;
            for index in indices.split(']').filter(|p| !p.is_empty()) {
                let n: usize = index.strip_prefix('[')?.parse().ok()?;
                match value.get_ref() {
                    DeValue::Array(items) => value = items.get(n)?,
                    _ => return None,
                }
            }
            found = Some(value);
        }
        found.map(toml::Spanned::span)
    }

    /// The dotted path (as [`Self::value_span`] reads it) of the innermost
    /// value whose span holds `offset`: which field a shape error is about,
    /// e.g. `unknown.during_grace` or `rule[2].effect`. `None` when the text
    /// is not TOML or no value holds the offset.
    pub fn path_at(&self, offset: usize) -> Option<String> {
        use toml::de::{DeTable, DeValue};
        // Every value is searched: a table's own span need not cover its
        // body (a `[header]` table's span is its header).
        fn value(v: &toml::Spanned<DeValue<'_>>, offset: usize, path: &str) -> Option<String> {
            match v.get_ref() {
                DeValue::Table(t) => table(t, offset, path),
                DeValue::Array(items) => items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| value(item, offset, &format!("{path}[{i}]")))
                    .or_else(|| v.span().contains(&offset).then(|| path.to_owned())),
                _ => v.span().contains(&offset).then(|| path.to_owned()),
            }
        }
        fn table(t: &DeTable<'_>, offset: usize, path: &str) -> Option<String> {
            t.iter().find_map(|(k, v)| {
                let key: &str = k.get_ref();
                let inner = if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                value(v, offset, &inner)
            })
        }
        let root = DeTable::parse(&self.text).ok()?;
        table(root.get_ref(), offset, "")
    }

    /// Parses the file as TOML into `T`, turning a syntax or shape error into a located one.
    ///
    /// # Errors
    /// Returns [`TomlError`] naming the file, line and column where parsing failed.
    pub fn parse_toml<T: serde::de::DeserializeOwned>(&self) -> Result<T, TomlError> {
        toml::from_str(&self.text).map_err(|e| TomlError {
            location: self.location_of(e.span()),
            field: e.span().and_then(|s| self.path_at(s.start)),
            message: e.message().trim_end().to_owned(),
        })
    }
}

/// A TOML syntax or shape error at a location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct TomlError {
    /// Where the parser stopped.
    pub location: Location,
    /// The dotted path of the value the error is about, when it is about one
    /// (a shape error such as an unknown variant; not a syntax error).
    pub field: Option<String>,
    /// What the parser expected, in its words.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_error_names_the_path_of_its_value() {
        let text = "id = \"x\"\n\n[unknown]\neffect = \"deny\"\nduring_grace = \"maybe\"\n\n[[rule]]\nid = \"a\"\n\n[[rule]]\nid = \"b\"\neffect = 3\n";
        let f = SourceFile::new("d.toml", text);
        let at = |needle: &str| f.path_at(text.find(needle).unwrap_or(0));
        assert_eq!(at("\"maybe\"").as_deref(), Some("unknown.during_grace"));
        assert_eq!(at("3\n").as_deref(), Some("rule[1].effect"));
        assert_eq!(at("\"x\"").as_deref(), Some("id"));
        assert_eq!(SourceFile::new("n", "not toml [").path_at(3), None);
    }

    #[test]
    fn a_value_is_found_by_its_path_not_by_its_name_in_a_comment() {
        let text = "# url = \"see below\"\nlisten = \"0.0.0.0:80\"\n\n[[upstream]]\nurl = \"a\"\n\n[[upstream]]\nname = \"b\"\nurl = \"https://b\"\nmodels = [\"x\", \"y\"]\n\n[geo]\ninternal_country = \"ZZ\"\n";
        let f = SourceFile::new("c.toml", text);
        let at = |path: &str| f.value_span(path).map(|s| f.location(s.start).to_string());
        assert_eq!(at("upstream[1].url").as_deref(), Some("c.toml:9:7"));
        assert_eq!(at("upstream[0].url").as_deref(), Some("c.toml:5:7"));
        assert_eq!(at("upstream[1].models[1]").as_deref(), Some("c.toml:10:16"));
        assert_eq!(at("geo.internal_country").as_deref(), Some("c.toml:13:20"));
        assert_eq!(at("listen").as_deref(), Some("c.toml:2:10"));
        assert_eq!(at("upstream[2].url"), None);
        assert_eq!(at("listen.port"), None);
        assert_eq!(at("nothing"), None);
        assert_eq!(SourceFile::new("x", "not = = toml").value_span("not"), None);
    }

    #[test]
    fn locations_are_one_based_and_count_characters() {
        let f = SourceFile::new("x.toml", "ab\nçd = 1\n");
        assert_eq!(f.location(0).to_string(), "x.toml:1:1");
        assert_eq!(f.location(3).to_string(), "x.toml:2:1");
        // `ç` is two bytes; `d` is the second character of line 2.
        assert_eq!(f.location(5).to_string(), "x.toml:2:2");
        assert_eq!(f.location(999).line, 3);
    }

    #[test]
    fn toml_errors_carry_the_line() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        let f = SourceFile::new("t.toml", "\n\na = \"x\"\n");
        let e = f.parse_toml::<T>().unwrap_err();
        assert_eq!(e.location.line, 3);
        assert!(e.message.contains("u32"), "{}", e.message);
    }

    #[test]
    fn non_utf8_files_are_refused_with_position() {
        let dir = std::env::temp_dir().join(format!("cordon-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.toml");
        std::fs::write(&p, b"a = 1\nb = \"\xff\"\n").unwrap();
        let e = SourceFile::read(&p).unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::NotUtf8 {
                    line: 2,
                    column: 6,
                    ..
                }
            ),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
