//! Reading a `multipart/form-data` body (RFC 7578, over the multipart
//! syntax of RFC 2046 section 5.1.1), as audio, image and file uploads are
//! sent.
//!
//! The reader finds each part's name, file name, content type and where
//! its value lies in the body, without copying any value: an uploaded file
//! stays where it is in the body's bytes, and a field the gateway decides on
//! (the `model`) is read in place, so the body can be forwarded untouched or
//! with only that value spliced.
//!
//! It is strict where readers differ, because the upstream reads the same
//! bytes after the gateway has decided on them: a body that two readers
//! could see differently (a preamble, a text field given twice, a header
//! folded over two lines, a missing final boundary) is refused, never
//! guessed at. Its work is bounded on any input: one pass over the body for
//! the boundaries, at most [`MAX_PARTS`] parts of at most [`MAX_HEADERS`]
//! headers in [`MAX_HEADER_BYTES`] bytes each.

use std::collections::BTreeMap;
use std::ops::Range;

/// The most parts a body may have; more is refused, so a body of many tiny
/// parts cannot make the gateway build a long list.
pub const MAX_PARTS: usize = 256;

/// The most headers one part may have.
pub const MAX_HEADERS: usize = 16;

/// The most bytes one part's header block may take, blank line included.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// The longest boundary RFC 2046 allows.
pub const MAX_BOUNDARY_LEN: usize = 70;

/// One part of a form: a field or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The field's name (`name` of its `Content-Disposition`).
    pub name: String,
    /// The file's name, for a file part; `None` for a text field.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, if it gives one.
    pub content_type: Option<String>,
    /// Where the value lies in the body.
    pub value: Range<usize>,
}

impl Part {
    /// Whether the part is a file (it names a file name).
    pub fn is_file(&self) -> bool {
        self.filename.is_some()
    }
}

/// A parsed form: its parts in body order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The parts, in the order of the body.
    pub parts: Vec<Part>,
    /// The boundary the body was read with.
    pub boundary: String,
}

/// Why a body is not a form the gateway reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// The `Content-Type` is not `multipart/form-data`.
    #[error("the request must have `Content-Type: multipart/form-data` with a boundary")]
    NotMultipart,
    /// The `Content-Type` names no boundary.
    #[error("the `Content-Type` names no `boundary`")]
    MissingBoundary,
    /// The boundary is empty, too long, or has characters RFC 2046 does not allow.
    #[error(
        "the boundary must be 1 to {MAX_BOUNDARY_LEN} letters, digits or `'()+_,-./:=?` (and spaces, not last)"
    )]
    BadBoundary,
    /// The `Content-Type` header itself cannot be read.
    #[error("the `Content-Type` cannot be read: {0}")]
    BadContentType(String),
    /// The body does not open with the boundary.
    #[error("the body does not start with the boundary `--{boundary}`")]
    NoFirstBoundary {
        /// The boundary.
        boundary: String,
    },
    /// A part runs to the end of the body: no boundary closes it.
    #[error(
        "part {part} is not closed by the boundary: the body was cut off or its final `--{boundary}--` is missing"
    )]
    Unterminated {
        /// The part, counting from 1.
        part: usize,
        /// The boundary.
        boundary: String,
    },
    /// After a boundary comes neither a line break nor the closing `--`.
    #[error("the boundary at byte {offset} is followed by neither a line break nor `--`")]
    BadDelimiter {
        /// Where the boundary starts.
        offset: usize,
    },
    /// Something other than a line break follows the final boundary.
    #[error("the body goes on after its final boundary")]
    TrailingData,
    /// A part's header block is longer than [`MAX_HEADER_BYTES`] or has
    /// more than [`MAX_HEADERS`] headers.
    #[error(
        "part {part} has more than {MAX_HEADERS} headers or {MAX_HEADER_BYTES} bytes of headers"
    )]
    HeadersTooLarge {
        /// The part, counting from 1.
        part: usize,
    },
    /// A header line of a part cannot be read.
    #[error("part {part} has a header that cannot be read: {reason}")]
    BadHeader {
        /// The part, counting from 1.
        part: usize,
        /// What is wrong.
        reason: String,
    },
    /// A part has no `Content-Disposition: form-data; name=…`.
    #[error("part {part} has no `Content-Disposition: form-data` header naming the field")]
    NoDisposition {
        /// The part, counting from 1.
        part: usize,
    },
    /// A part's `Content-Disposition` cannot be read.
    #[error("part {part} has a `Content-Disposition` that cannot be read: {reason}")]
    BadDisposition {
        /// The part, counting from 1.
        part: usize,
        /// What is wrong.
        reason: String,
    },
    /// A field is given twice, and readers differ on which one counts.
    #[error("the field `{name}` is given twice; send it once")]
    DuplicateField {
        /// The field.
        name: String,
    },
    /// The body has more than [`MAX_PARTS`] parts.
    #[error("the body has more than {MAX_PARTS} parts")]
    TooManyParts,
    /// A field read as text is a file, or is not UTF-8.
    #[error("the field `{name}` must be text")]
    NotText {
        /// The field.
        name: String,
    },
}

impl MultipartError {
    /// The form field at fault, for the OpenAI error shape's `param`.
    pub fn param(&self) -> Option<&str> {
        match self {
            MultipartError::DuplicateField { name } | MultipartError::NotText { name } => {
                Some(name)
            }
            _ => None,
        }
    }
}

/// The boundary a `Content-Type` names, if it is `multipart/form-data`.
///
/// # Errors
/// [`MultipartError::NotMultipart`], [`MultipartError::MissingBoundary`],
/// [`MultipartError::BadBoundary`] or [`MultipartError::BadContentType`].
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let (media, rest) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NotMultipart);
    }
    let params = params(rest).map_err(MultipartError::BadContentType)?;
    let boundary = params
        .into_iter()
        .find(|(k, _)| k == "boundary")
        .map(|(_, v)| v)
        .ok_or(MultipartError::MissingBoundary)?;
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b);
    if boundary.is_empty()
        || boundary.len() > MAX_BOUNDARY_LEN
        || !boundary.bytes().all(allowed)
        || boundary.ends_with(' ')
    {
        return Err(MultipartError::BadBoundary);
    }
    Ok(boundary)
}

/// Parses `body` as the form its `Content-Type` announces.
///
/// # Errors
/// A [`MultipartError`] naming what is wrong and in which part.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Form, MultipartError> {
    let boundary = boundary(content_type)?;
    let parts = parts(body, &boundary)?;
    check_unique(&parts)?;
    Ok(Form { parts, boundary })
}

fn parts(body: &[u8], boundary: &str) -> Result<Vec<Part>, MultipartError> {
    let mut dash = Vec::with_capacity(boundary.len() + 4);
    dash.extend_from_slice(b"\r\n--");
    dash.extend_from_slice(boundary.as_bytes());
    // The first boundary opens the body; every later one follows a line break.
    let first = dash.get(2..).unwrap_or_default();
    if !body.starts_with(first) {
        return Err(MultipartError::NoFirstBoundary {
            boundary: boundary.to_owned(),
        });
    }
    let finder = memchr::memmem::Finder::new(&dash);
    let mut parts = Vec::new();
    let mut at = first.len();
    loop {
        let rest = body.get(at..).unwrap_or_default();
        if let Some(after) = rest.strip_prefix(b"--") {
            if after.is_empty() || after == b"\r\n" {
                return Ok(parts);
            }
            return Err(MultipartError::TrailingData);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(MultipartError::BadDelimiter {
                offset: at.saturating_sub(first.len()),
            });
        }
        at += 2;
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let number = parts.len() + 1;
        let unterminated = || MultipartError::Unterminated {
            part: number,
            boundary: boundary.to_owned(),
        };
        let rest = body.get(at..).unwrap_or_default();
        let headers_len = if rest.starts_with(b"\r\n") {
            0
        } else {
            let window = rest.get(..MAX_HEADER_BYTES).unwrap_or(rest);
            match memchr::memmem::find(window, b"\r\n\r\n") {
                Some(n) => n + 2,
                None if window.len() < rest.len() => {
                    return Err(MultipartError::HeadersTooLarge { part: number });
                }
                None => return Err(unterminated()),
            }
        };
        let header_block = rest.get(..headers_len).unwrap_or_default();
        let value_start = at + headers_len + 2;
        let value_len = body
            .get(value_start..)
            .and_then(|v| finder.find(v))
            .ok_or_else(unterminated)?;
        let (name, filename, content_type) = headers(header_block, number)?;
        parts.push(Part {
            name,
            filename,
            content_type,
            value: value_start..value_start + value_len,
        });
        at = value_start + value_len + dash.len();
    }
}

/// The name, file name and content type a part's header block gives.
fn headers(
    block: &[u8],
    part: usize,
) -> Result<(String, Option<String>, Option<String>), MultipartError> {
    let bad = |reason: &str| MultipartError::BadHeader {
        part,
        reason: reason.to_owned(),
    };
    let text = std::str::from_utf8(block).map_err(|_| bad("it is not UTF-8"))?;
    let mut disposition = None;
    let mut content_type = None;
    for (n, line) in text.split_terminator("\r\n").enumerate() {
        if n == MAX_HEADERS {
            return Err(MultipartError::HeadersTooLarge { part });
        }
        if line.starts_with([' ', '\t']) {
            return Err(bad("a header is folded over two lines"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad(&format!("`{}` has no `:`", truncated(line))))?;
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(bad(&format!("`{}` is not a header name", truncated(name))));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad(&format!("`{name}` has a control character")));
        }
        let slot = if name.eq_ignore_ascii_case("content-disposition") {
            &mut disposition
        } else if name.eq_ignore_ascii_case("content-type") {
            &mut content_type
        } else {
            continue;
        };
        if slot.replace(value.trim()).is_some() {
            return Err(bad(&format!("`{name}` is given twice")));
        }
    }
    let disposition = disposition.ok_or(MultipartError::NoDisposition { part })?;
    let bad_disposition = |reason: String| MultipartError::BadDisposition { part, reason };
    let (kind, rest) = disposition.split_once(';').unwrap_or((disposition, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(bad_disposition(format!(
            "it is `{}`, not `form-data`",
            truncated(kind.trim())
        )));
    }
    let mut name = None;
    let mut filename = None;
    for (k, v) in params(rest).map_err(bad_disposition)? {
        let slot = match k.as_str() {
            "name" => &mut name,
            "filename" | "filename*" => &mut filename,
            _ => continue,
        };
        if slot.replace(v).is_some() {
            return Err(bad_disposition(format!("`{k}` is given twice")));
        }
    }
    let name = name.ok_or_else(|| bad_disposition("it names no field (`name`)".into()))?;
    Ok((name, filename, content_type.map(str::to_owned)))
}

/// The `; key=value` parameters of a header value (RFC 9110 section 5.6.6),
/// keys lowercased, quoted values unquoted.
fn params(mut rest: &str) -> Result<Vec<(String, String)>, String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return Ok(out);
        }
        let key_len = rest.find(|c: char| !token(c)).unwrap_or(rest.len());
        let (key, after) = rest.split_at(key_len);
        if key.is_empty() {
            return Err(format!("`{}` is not a parameter", truncated(rest)));
        }
        let after = after.trim_start_matches([' ', '\t']);
        let Some(after) = after.strip_prefix('=') else {
            return Err(format!("the parameter `{}` has no value", truncated(key)));
        };
        let after = after.trim_start_matches([' ', '\t']);
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => unquote(quoted)
                .ok_or_else(|| format!("the value of `{}` is not closed", truncated(key)))?,
            None => {
                let n = after.find(|c: char| !token(c)).unwrap_or(after.len());
                let (v, a) = after.split_at(n);
                (v.to_owned(), a)
            }
        };
        let after = after.trim_start_matches([' ', '\t']);
        if !after.is_empty() && !after.starts_with(';') {
            return Err(format!(
                "unexpected `{}` after the parameter `{}`",
                truncated(after),
                truncated(key)
            ));
        }
        out.push((key.to_ascii_lowercase(), value));
        rest = after;
    }
}

/// A quoted string's value (after its opening quote) and what follows its
/// closing quote; a backslash escapes the next character.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, s.get(i + 1..).unwrap_or_default())),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

/// Refuses a name given twice when one of its parts is a text field:
/// readers differ on which one counts. Files may repeat (several images),
/// as may fields named as lists (`include[]`).
fn check_unique(parts: &[Part]) -> Result<(), MultipartError> {
    let mut seen: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    for p in parts {
        let entry = seen.entry(p.name.as_str()).or_default();
        entry.0 += 1;
        entry.1 |= !p.is_file();
        if entry.0 > 1 && entry.1 && !p.name.ends_with("[]") {
            return Err(MultipartError::DuplicateField {
                name: p.name.clone(),
            });
        }
    }
    Ok(())
}

/// At most 64 bytes of `s`, for an error message.
fn truncated(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

impl Form {
    /// The first part named `name`.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// The text of the field `name` in `body` (the body the form was parsed
    /// from), if the form has it. [`parse`] has already refused a text field
    /// given twice.
    ///
    /// # Errors
    /// [`MultipartError::NotText`] when the part is a file or not UTF-8.
    pub fn text<'b>(&self, body: &'b [u8], name: &str) -> Result<Option<&'b str>, MultipartError> {
        let Some(p) = self.part(name) else {
            return Ok(None);
        };
        let not_text = || MultipartError::NotText {
            name: name.to_owned(),
        };
        if p.is_file() {
            return Err(not_text());
        }
        let bytes = body.get(p.value.clone()).ok_or_else(not_text)?;
        std::str::from_utf8(bytes).map(Some).map_err(|_| not_text())
    }
}

/// One part to build a form from: name, file name, content type, value.
pub type PartSpec<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// Builds a form body from parts with `boundary`: for the mock upstream,
/// tests and the fuzz target.
pub fn encode(boundary: &str, parts: &[PartSpec<'_>]) -> Vec<u8> {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = Vec::new();
    for (name, filename, content_type, value) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", quote(name));
        if let Some(f) = filename {
            disposition.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(t) = content_type {
            out.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests;
