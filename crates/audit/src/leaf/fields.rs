//! The fields of a decision leaf a replay reads, found by walking the
//! canonical encoding (`docs/audit.md`, "Leaves": compact JSON, fields in a
//! fixed order, optional trailing `shadow`, `features` and `end_user`) instead of a
//! general JSON parser.
//!
//! The walk accepts only that exact form with strings free of escapes;
//! anything else (an escaped string, a newer version, an admin leaf, a
//! reordered or unknown field) is left to the serde reader (`Light`), so
//! the two read every leaf the walk accepts the same way.
//!
//! Unlike [`decode`](super::decode) this reader does not prove a leaf
//! canonical: it is for leaves whose log has already been verified, where
//! the strict decode would only re-prove their form at several times the
//! cost. On every leaf `decode` accepts, it reads the same values.

use std::borrow::Cow;

use jiff::Timestamp;
use serde::Deserialize;

/// The request fields of a decision leaf, borrowed from the leaf where they
/// had no escapes.
///
/// Each field holds the value of the [`DecisionRecord`](super::DecisionRecord)
/// field of the same name (`docs/audit.md`, "Decision leaf"); the fields a
/// replay does not need (`id`, `model`, `mode`, `consulted`, …) are left out.
#[derive(Debug, PartialEq, Eq)]
pub struct DecisionFields<'a> {
    /// When the decision was made, as the gateway formatted it; see
    /// [`parse_time`].
    pub time: Cow<'a, str>,
    /// The account id; `None` when the API key was unknown.
    pub account: Option<Cow<'a, str>>,
    /// The model name as the client sent it (`model_requested`).
    pub model_requested: Cow<'a, str>,
    /// The endpoint, e.g. `chat`.
    pub endpoint: Cow<'a, str>,
    /// The effect: `allow`, `allow_with_obligations`, `verification_required`, `deny`.
    pub effect: Cow<'a, str>,
    /// The client's country; `None` when unknown.
    pub client_country: Option<Cow<'a, str>>,
    /// The client's region; `None` when unknown.
    pub client_region: Option<Cow<'a, str>>,
    /// Whether the client address is an anonymiser; `None` when unknown.
    pub anonymizer: Option<bool>,
    /// The request's feature names, empty when the leaf has none.
    pub features: FeatureNames<'a>,
    /// The member account decided for, behind an organisation's key.
    pub end_user: Option<Cow<'a, str>>,
}

/// A decision leaf's feature names, in leaf order.
///
/// Opaque so that the borrowed form can only come from the walk, which
/// guarantees its strings hold no escape and so no quote.
#[derive(Debug)]
pub struct FeatureNames<'a>(Names<'a>);

#[derive(Debug)]
enum Names<'a> {
    /// The inside of the leaf's `features` array, `"a","b"`, whose strings
    /// hold no escape (so no quote); empty when there is none.
    Plain(&'a str),
    /// Decoded names.
    Decoded(Vec<Cow<'a, str>>),
}

impl FeatureNames<'_> {
    /// Each name in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let (plain, decoded) = match &self.0 {
            Names::Plain(inner) => (Some(*inner), &[][..]),
            Names::Decoded(names) => (None, names.as_slice()),
        };
        // Names hold no quote, so `","` only ever separates two of them.
        let plain = plain
            .and_then(|s| s.strip_prefix('"')?.strip_suffix('"'))
            .into_iter()
            .flat_map(|s| s.split("\",\""));
        plain.chain(decoded.iter().map(|n| &**n))
    }
}

/// Equal when they hold the same names in the same order, whichever way
/// each was read.
impl PartialEq for FeatureNames<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for FeatureNames<'_> {}

/// What a leaf is to a reader of decisions.
#[derive(Debug, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned by value once per leaf in a replay's loop; boxing would allocate per leaf"
)]
pub enum FieldsRead<'a> {
    /// A version 1 decision leaf, and its request fields.
    Decision(DecisionFields<'a>),
    /// A version 1 administrative leaf, passed over without reading it.
    Admin,
    /// Anything else: not JSON, another version or kind, or a decision
    /// missing a field the reader needs.
    Undecodable,
}

/// How a canonical admin leaf starts: passed over without parsing.
const ADMIN_PREFIX: &[u8] = br#"{"v":1,"kind":"admin","#;

/// Reads the request fields of a decision leaf (`docs/audit.md`, "Decision
/// leaf"): by a walk over the canonical encoding when it applies, else by a
/// serde reader that takes any JSON form.
///
/// Never panics. On any leaf [`decode`](super::decode) accepts as a decision
/// it reads the values of the decoded record; it also reads leaves `decode`
/// refuses (non-canonical JSON, or bytes that are not UTF-8 in a field it
/// steps over), so it is meant for a log whose leaves were verified.
pub fn read_decision_fields(bytes: &[u8]) -> FieldsRead<'_> {
    if bytes.starts_with(ADMIN_PREFIX) {
        return FieldsRead::Admin;
    }
    match walk(bytes) {
        Some(f) => FieldsRead::Decision(f),
        None => read_by_serde(bytes),
    }
}

/// A JSON string borrowed from the leaf, or owned when it had escapes.
/// A newtype because serde borrows a `Cow` only as a struct field, not
/// inside an `Option` or a `Vec`.
#[derive(Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// The fields of a decision leaf a replay reads. Every other field is
/// skipped unparsed.
#[derive(Deserialize)]
struct Light<'a> {
    v: u64,
    #[serde(borrow)]
    kind: Text<'a>,
    #[serde(borrow, default)]
    time: Option<Text<'a>>,
    #[serde(borrow, default)]
    account: Option<Text<'a>>,
    #[serde(borrow, default)]
    model_requested: Option<Text<'a>>,
    #[serde(borrow, default)]
    endpoint: Option<Text<'a>>,
    #[serde(borrow, default)]
    effect: Option<Text<'a>>,
    #[serde(borrow, default)]
    client_country: Option<Text<'a>>,
    #[serde(borrow, default)]
    client_region: Option<Text<'a>>,
    #[serde(default)]
    anonymizer: Option<bool>,
    #[serde(borrow, default)]
    features: Vec<Text<'a>>,
    #[serde(borrow, default)]
    end_user: Option<Text<'a>>,
}

/// Reads a leaf with serde: slower, but takes any JSON form.
fn read_by_serde(data: &[u8]) -> FieldsRead<'_> {
    let Ok(l) = serde_json::from_slice::<Light<'_>>(data) else {
        return FieldsRead::Undecodable;
    };
    match (l.v, &*l.kind.0) {
        (1, "decision") => {}
        (1, "admin") => return FieldsRead::Admin,
        _ => return FieldsRead::Undecodable,
    }
    let (Some(time), Some(model), Some(endpoint), Some(effect)) =
        (l.time, l.model_requested, l.endpoint, l.effect)
    else {
        return FieldsRead::Undecodable;
    };
    FieldsRead::Decision(DecisionFields {
        time: time.0,
        account: l.account.map(|t| t.0),
        model_requested: model.0,
        endpoint: endpoint.0,
        effect: effect.0,
        client_country: l.client_country.map(|t| t.0),
        client_region: l.client_region.map(|t| t.0),
        anonymizer: l.anonymizer,
        features: FeatureNames(Names::Decoded(
            l.features.into_iter().map(|t| t.0).collect(),
        )),
        end_user: l.end_user.map(|t| t.0),
    })
}

/// Parses a leaf's `time` (`docs/audit.md`, "Decision leaf": RFC 3339 as the
/// gateway formatted it) to an instant; `None` when it is not RFC 3339.
///
/// The gateway's `YYYY-MM-DDTHH:MM:SS[.fff]Z` is read by hand, a few times
/// faster than a general parser; anything else (offsets, leap seconds,
/// lowercase) goes to jiff, which reads the fixed form to the same instant,
/// so the result is always what jiff would return.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    fixed_time(text.as_bytes()).or_else(|| text.parse().ok())
}

fn fixed_time(s: &[u8]) -> Option<Timestamp> {
    let digits = |from: usize, n: usize| -> Option<i64> {
        s.get(from..from + n)?.iter().try_fold(0i64, |v, &b| {
            b.is_ascii_digit().then(|| v * 10 + i64::from(b - b'0'))
        })
    };
    let at = |k: usize, b: u8| s.get(k) == Some(&b);
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let nanos = match s.get(19..)? {
        b"Z" => 0,
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => {
            let n = digits(20, fraction.len())?;
            n * 10i64.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Timestamp::new(seconds, i32::try_from(nanos).ok()?).ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date, counted in 400-year
/// eras of 146,097 days starting on 1 March.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A position in a leaf.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Steps over `expected`, or fails.
    #[inline]
    fn lit(&mut self, expected: &[u8]) -> Option<()> {
        let end = self.at + expected.len();
        let here = self.bytes.get(self.at..end)?;
        same(here, expected).then(|| self.at = end)
    }

    /// Steps over `expected` when it comes next.
    fn lit_if(&mut self, expected: &[u8]) -> bool {
        self.lit(expected).is_some()
    }

    /// A string without escapes or control characters.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw_string()?).ok()
    }

    /// The bytes of a string without escapes or control characters, for a
    /// field the replay does not read: not checked as UTF-8 (see [`walk`]).
    #[inline]
    fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.lit(b"\"")?;
        let rest = self.bytes.get(self.at..)?;
        let len = find(rest, |b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at += len + 1;
        rest.get(..len)
    }

    fn opt_raw_string(&mut self) -> Option<()> {
        if !self.lit_if(b"null") {
            self.raw_string()?;
        }
        Some(())
    }

    /// Steps to just after the next `anchor`, whatever comes before it.
    fn past(&mut self, anchor: &[u8]) -> Option<()> {
        let first = *anchor.first()?;
        loop {
            let rest = self.bytes.get(self.at..)?;
            self.at += find(rest, |b| b == first)?;
            if self.lit_if(anchor) {
                return Some(());
            }
            self.at += 1;
        }
    }

    fn opt_string(&mut self) -> Option<Option<&'a str>> {
        if self.lit_if(b"null") {
            Some(None)
        } else {
            self.string().map(Some)
        }
    }

    /// A list of plain strings; returns its inside.
    fn strings(&mut self) -> Option<&'a str> {
        self.lit(b"[")?;
        let start = self.at;
        if !self.lit_if(b"]") {
            loop {
                self.string()?;
                if self.lit_if(b"]") {
                    break;
                }
                self.lit(b",")?;
            }
        }
        std::str::from_utf8(self.bytes.get(start..self.at - 1)?).ok()
    }

    /// Steps over one array or object, whatever it holds: strings are
    /// crossed with their escapes, brackets counted outside them. Scalars
    /// inside are not checked; the log's verification vouches for the
    /// bytes, and a value the gateway could not have written only leaves
    /// fields the replay does not read.
    fn container(&mut self) -> Option<()> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let rest = self.bytes.get(self.at..)?;
        for (k, &b) in rest.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.at += k + 1;
                        return Some(());
                    }
                }
                _ if depth == 0 => return None,
                _ => {}
            }
        }
        None
    }
}

/// Whether two slices of the same length are equal: word by word, the
/// last word overlapping, with no call to `memcmp` (these are short keys,
/// compared ~20 times per leaf).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    fn word(s: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        if let Some(src) = s.get(at..at + 8) {
            w.copy_from_slice(src);
        }
        u64::from_le_bytes(w)
    }
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// Where the first byte `hit` accepts is: by blocks, each tested whole
/// without branching, which vectorises (`position` alone does not).
fn find(bytes: &[u8], hit: impl Fn(u8) -> bool) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut blocks = bytes.chunks(BLOCK);
    let mut base = 0;
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | hit(b)) {
            return block.iter().position(|&b| hit(b)).map(|k| base + k);
        }
        base += block.len();
    }
    None
}

/// Walks a canonical decision leaf (as [`encode`](fn@super::encode) writes it);
/// `None` when the leaf is in any other form.
///
/// Fields the replay does not read are stepped over, not validated: a leaf
/// the encoder cannot produce (bytes that are not UTF-8 in the id, say) is
/// counted by the fields it does read, where serde would set it aside. The
/// log's verification vouches that the gateway wrote the bytes, and the
/// gateway writes only canonical leaves.
fn walk(data: &[u8]) -> Option<DecisionFields<'_>> {
    let mut c = Cursor { bytes: data, at: 0 };
    c.lit(br#"{"v":1,"kind":"decision","id":"#)?;
    c.raw_string()?;
    c.lit(br#","time":"#)?;
    let time = c.string()?;
    c.lit(br#","account":"#)?;
    let account = c.opt_string()?;
    c.lit(br#","model_requested":"#)?;
    let model = c.string()?;
    c.lit(br#","model":"#)?;
    c.opt_raw_string()?;
    c.lit(br#","endpoint":"#)?;
    let endpoint = c.string()?;
    c.lit(br#","effect":"#)?;
    let effect = c.string()?;
    c.lit(br#","mode":"#)?;
    c.raw_string()?;
    c.lit(br#","decided_by":"#)?;
    c.opt_raw_string()?;
    c.lit(br#","consulted":["#)?;
    // The directives consulted, the obligations and the attributes the
    // conditions read are not needed: step to the field after them. In
    // JSON a `"` after a `,` is never inside a string (there it would be
    // escaped), and no object of these fields has a `policy_version` key,
    // so the anchor is found only where that field starts.
    c.past(br#"],"policy_version":"#)?;
    c.raw_string()?;
    c.lit(br#","client_country":"#)?;
    let client_country = c.opt_string()?;
    c.lit(br#","client_region":"#)?;
    let client_region = c.opt_string()?;
    c.lit(br#","anonymizer":"#)?;
    let anonymizer = if c.lit_if(b"true") {
        Some(true)
    } else if c.lit_if(b"false") {
        Some(false)
    } else {
        c.lit(b"null")?;
        None
    };
    c.lit(br#","source":"#)?;
    c.raw_string()?;
    if c.lit_if(br#","shadow":"#) {
        c.container()?;
    }
    let features = if c.lit_if(br#","features":"#) {
        c.strings()?
    } else {
        ""
    };
    let end_user = if c.lit_if(br#","end_user":"#) {
        Some(c.string()?)
    } else {
        None
    };
    c.lit(b"}")?;
    if c.peek().is_some() {
        return None;
    }
    Some(DecisionFields {
        time: Cow::Borrowed(time),
        account: account.map(Cow::Borrowed),
        model_requested: Cow::Borrowed(model),
        endpoint: Cow::Borrowed(endpoint),
        effect: Cow::Borrowed(effect),
        client_country: client_country.map(Cow::Borrowed),
        client_region: client_region.map(Cow::Borrowed),
        anonymizer,
        features: FeatureNames(Names::Plain(features)),
        end_user: end_user.map(Cow::Borrowed),
    })
}

#[cfg(test)]
mod tests;
