//! Reading the id a provider gives a created object from the start of its
//! response, as the bytes pass: a JSON object's top-level `id`, or the
//! `response.id` of a Responses stream's `response.created` event.
//!
//! The gateway calls the provider with one key, so it must record who
//! created each object; the id is known only from the response. The
//! response is passed through as it comes, so the id is read incrementally,
//! one chunk at a time, in bounded memory: nothing of the body is kept but
//! the id (and, for a stream, the event being read, up to [`WATCH_LIMIT`]).

use serde::Deserialize;

/// How many bytes of a response are watched for the id before giving up.
///
/// A provider puts `id` first in its objects and `response.created` first
/// in its streams; the bound only stops a response that has neither from
/// being watched (or, for a stream, held in memory) to its end.
pub const WATCH_LIMIT: usize = 1 << 20;

/// The longest id accepted: the store's bound.
pub const MAX_ID_LEN: usize = cordon_store::provider_objects::MAX_OBJECT_ID_LEN;

/// Whether `id` is one the gateway records and accepts in a URL: 1 to
/// [`MAX_ID_LEN`] ASCII letters, digits, `_` and `-`, as providers' ids are
/// (`resp_…`, `ftjob-…`, `msgbatch_…`, `file-…`).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What watching has found so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// The id is not known yet: feed more.
    NeedMore,
    /// The id, valid by [`valid_id`].
    Found(String),
    /// The response does not give an id where one is looked for; the
    /// reason is for the log.
    GaveUp(&'static str),
}

/// Reads the id from a response fed to it chunk by chunk.
#[derive(Debug)]
pub struct IdWatcher {
    format: Format,
    seen: usize,
    done: Option<Watch>,
}

#[derive(Debug)]
enum Format {
    Json(JsonScan),
    Sse(SseScan),
}

impl IdWatcher {
    /// A watcher of a JSON object's top-level `id`.
    pub fn json() -> Self {
        IdWatcher {
            format: Format::Json(JsonScan::default()),
            seen: 0,
            done: None,
        }
    }

    /// A watcher of a server-sent-event stream's `response.created` event.
    pub fn sse() -> Self {
        IdWatcher {
            format: Format::Sse(SseScan::default()),
            seen: 0,
            done: None,
        }
    }

    /// Feeds the next chunk. Once the answer is [`Watch::Found`] or
    /// [`Watch::GaveUp`], it stays so whatever is fed after.
    pub fn feed(&mut self, chunk: &[u8]) -> Watch {
        if let Some(done) = &self.done {
            return done.clone();
        }
        let room = WATCH_LIMIT.saturating_sub(self.seen);
        let (chunk, cut) = match chunk.get(..room) {
            Some(c) if c.len() < chunk.len() => (c, true),
            _ => (chunk, false),
        };
        self.seen += chunk.len();
        let mut found = match &mut self.format {
            Format::Json(s) => s.feed(chunk),
            Format::Sse(s) => s.feed(chunk),
        };
        if found == Watch::NeedMore && (cut || self.seen >= WATCH_LIMIT) {
            found = Watch::GaveUp("no id in the first MiB of the response");
        }
        if found != Watch::NeedMore {
            self.done = Some(found.clone());
        }
        found
    }

    /// What watching found once the response has ended: an id never
    /// completed is not found.
    pub fn finish(&mut self) -> Watch {
        match self.done.clone() {
            Some(done) => done,
            None => {
                let end = Watch::GaveUp("the response ended before giving an id");
                self.done = Some(end.clone());
                end
            }
        }
    }
}

/// Where a JSON scan is, one byte at a time: only the top-level object's
/// keys are read; every value but the `id` string is skipped.
#[derive(Debug, Default)]
struct JsonScan {
    state: JsonState,
    /// The key or the `id` value being read, with its escapes, bounded.
    text: Vec<u8>,
    escaped: bool,
    /// Nesting depth of a value being skipped.
    depth: usize,
    /// Inside a string of a value being skipped.
    in_string: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum JsonState {
    /// Before the top-level `{`.
    #[default]
    Start,
    /// After `{` or `,`: a key or `}`.
    Key,
    /// Inside a key.
    InKey,
    /// After a key other than `id`: `:` then a value to skip.
    ColonSkip,
    /// After the key `id`: `:` then its value.
    ColonId,
    /// Before a value to skip.
    Skip,
    /// Inside a string value being skipped.
    SkipString,
    /// Inside an object or array being skipped.
    SkipNested,
    /// Inside a number or literal being skipped.
    SkipScalar,
    /// Before the `id` value.
    IdValue,
    /// Inside the `id` string.
    InId,
    /// After a value: `,` or `}`.
    After,
}

impl JsonScan {
    fn feed(&mut self, chunk: &[u8]) -> Watch {
        for &b in chunk {
            if let Some(w) = self.byte(b) {
                return w;
            }
        }
        Watch::NeedMore
    }

    /// One byte; `Some` once the answer is known.
    fn byte(&mut self, b: u8) -> Option<Watch> {
        use JsonState as S;
        let ws = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.state {
            S::Start | S::Key | S::ColonSkip | S::ColonId | S::Skip | S::IdValue | S::After
                if ws => {}
            S::Start if b == b'{' => self.state = S::Key,
            S::Start => return Some(Watch::GaveUp("the response is not a JSON object")),
            S::Key if b == b'"' => {
                self.text.clear();
                self.escaped = false;
                self.state = S::InKey;
            }
            S::Key if b == b'}' => return Some(Watch::GaveUp("the response has no `id`")),
            S::InKey | S::InId => return self.string_byte(b),
            S::ColonSkip if b == b':' => self.state = S::Skip,
            S::ColonId if b == b':' => self.state = S::IdValue,
            S::Skip => match b {
                b'"' => {
                    self.escaped = false;
                    self.state = S::SkipString;
                }
                b'{' | b'[' => {
                    self.depth = 1;
                    self.in_string = false;
                    self.escaped = false;
                    self.state = S::SkipNested;
                }
                _ => self.state = S::SkipScalar,
            },
            S::SkipString => {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.state = S::After;
                }
            }
            S::SkipNested => self.nested_byte(b),
            S::SkipScalar => match b {
                b',' => self.state = S::Key,
                b'}' => return Some(Watch::GaveUp("the response has no `id`")),
                _ if ws => self.state = S::After,
                _ => {}
            },
            S::IdValue if b == b'"' => {
                self.text.clear();
                self.escaped = false;
                self.state = S::InId;
            }
            S::IdValue => return Some(Watch::GaveUp("the response's `id` is not a string")),
            S::After if b == b',' => self.state = S::Key,
            S::After if b == b'}' => return Some(Watch::GaveUp("the response has no `id`")),
            _ => return Some(Watch::GaveUp("the response is not well-formed JSON")),
        }
        None
    }

    /// A byte of a key or of the `id` string.
    fn string_byte(&mut self, b: u8) -> Option<Watch> {
        if self.text.len() > MAX_ID_LEN * 6 + 2 {
            // Longer than any id, even fully escaped: not the key `id`,
            // and not an id the store would keep.
            return Some(Watch::GaveUp("a key or the `id` is too long"));
        }
        if self.escaped {
            self.escaped = false;
            self.text.push(b);
            return None;
        }
        match b {
            b'\\' => {
                self.escaped = true;
                self.text.push(b);
                None
            }
            b'"' => {
                let text = decode_string(&self.text);
                if self.state == JsonState::InKey {
                    self.state = if text.as_deref() == Some("id") {
                        JsonState::ColonId
                    } else {
                        JsonState::ColonSkip
                    };
                    None
                } else {
                    Some(match text {
                        Some(id) if valid_id(&id) => Watch::Found(id),
                        _ => Watch::GaveUp("the response's `id` is not a provider id"),
                    })
                }
            }
            _ => {
                self.text.push(b);
                None
            }
        }
    }

    /// A byte of an object or array being skipped.
    fn nested_byte(&mut self, b: u8) {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.state = JsonState::After;
                }
            }
            _ => {}
        }
    }
}

/// The text of a JSON string's contents (between its quotes), escapes
/// decoded; `None` when it is not valid.
fn decode_string(raw: &[u8]) -> Option<String> {
    if !raw.contains(&b'\\') {
        return std::str::from_utf8(raw).ok().map(str::to_owned);
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice(&quoted).ok()
}

/// The most events of a stream read before giving up: the Responses API
/// sends `response.created` first.
const MAX_EVENTS: usize = 8;

/// Where an event-stream scan is: the line being read and the event's
/// `data`, per the HTML event-stream format (lines end in CRLF, LF or CR;
/// a blank line ends an event).
#[derive(Debug, Default)]
struct SseScan {
    line: Vec<u8>,
    data: Vec<u8>,
    /// The last byte was a CR, so an LF right after it ends nothing more.
    after_cr: bool,
    events: usize,
}

impl SseScan {
    fn feed(&mut self, chunk: &[u8]) -> Watch {
        for &b in chunk {
            if self.after_cr && b == b'\n' {
                self.after_cr = false;
                continue;
            }
            self.after_cr = b == b'\r';
            if b == b'\r' || b == b'\n' {
                if let Some(w) = self.end_line() {
                    return w;
                }
            } else {
                self.line.push(b);
            }
        }
        Watch::NeedMore
    }

    /// A line has ended: a field of the event, or the blank line that
    /// dispatches it.
    fn end_line(&mut self) -> Option<Watch> {
        if self.line.is_empty() {
            if self.data.is_empty() {
                return None;
            }
            self.events += 1;
            let data = std::mem::take(&mut self.data);
            if let Some(id) = created_id(&data) {
                return Some(if valid_id(&id) {
                    Watch::Found(id)
                } else {
                    Watch::GaveUp("the stream's response id is not a provider id")
                });
            }
            if self.events >= MAX_EVENTS {
                return Some(Watch::GaveUp(
                    "no `response.created` event first in the stream",
                ));
            }
            return None;
        }
        let line = std::mem::take(&mut self.line);
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => (line.get(..i).unwrap_or_default(), line.get(i + 1..)),
            None => (line.as_slice(), None),
        };
        if field == b"data" {
            let value = value.unwrap_or_default();
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if !self.data.is_empty() {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
        }
        None
    }
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "type")]
    kind: String,
    response: Option<CreatedResponse>,
}

#[derive(Deserialize)]
struct CreatedResponse {
    id: String,
}

/// The response id of a `response.created` event's data, if it is one.
fn created_id(data: &[u8]) -> Option<String> {
    let event: Created = serde_json::from_slice(data).ok()?;
    (event.kind == "response.created")
        .then_some(event.response)
        .flatten()
        .map(|r| r.id)
}

#[cfg(test)]
mod tests;
