//! How long an answer may be reused, as a private cache reads its
//! `Cache-Control` ([RFC 9111 §5.2](https://www.rfc-editor.org/rfc/rfc9111#section-5.2)):
//! `max-age`, `no-cache` and `no-store`. `s-maxage` is for shared caches
//! and is not read; neither are `Expires` and `Age`.

use jiff::SignedDuration;

/// The largest `delta-seconds` value: larger ones count as this
/// ([RFC 9111 §1.2.2](https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2)).
pub const DELTA_SECONDS_MAX: u64 = 2_147_483_648;

/// What `Cache-Control` says about reusing an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// `max-age`: fresh for this many seconds (at most
    /// [`DELTA_SECONDS_MAX`]).
    MaxAge(u64),
    /// Not to be reused without asking again: `no-store` or `no-cache`
    /// (which win over `max-age`, the most restrictive directive being
    /// honoured), a `max-age` that is not a number, or two `max-age`s that
    /// disagree ([RFC 9111 §4.2.1](https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1)).
    DoNotReuse,
    /// Nothing about freshness.
    Unstated,
}

impl Freshness {
    /// The freshness stated, for
    /// [`cordon_verification::oidc::Rotation::freshness`]: `None` when
    /// unstated, zero when the answer is not to be reused.
    pub fn stated(self) -> Option<SignedDuration> {
        match self {
            Freshness::MaxAge(s) => Some(SignedDuration::from_secs(
                i64::try_from(s).unwrap_or(i64::MAX),
            )),
            Freshness::DoNotReuse => Some(SignedDuration::ZERO),
            Freshness::Unstated => None,
        }
    }
}

/// Reads the values of an answer's `Cache-Control` field lines, which
/// together are one list ([RFC 9110 §5.3](https://www.rfc-editor.org/rfc/rfc9110#section-5.3)).
/// Elements that do not parse are skipped, except a `max-age` whose value
/// is not a number, which makes the answer [`Freshness::DoNotReuse`].
pub fn freshness<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Freshness {
    let mut no_reuse = false;
    let mut max_age: Option<u64> = None;
    for value in values {
        for element in elements(value) {
            let Some((name, arg)) = directive(element) else {
                continue;
            };
            if name.eq_ignore_ascii_case(b"no-store") || name.eq_ignore_ascii_case(b"no-cache") {
                no_reuse = true;
            } else if name.eq_ignore_ascii_case(b"max-age") {
                match arg.as_deref().and_then(delta_seconds) {
                    Some(s) if max_age.is_none_or(|m| m == s) => max_age = Some(s),
                    _ => no_reuse = true,
                }
            }
        }
    }
    match (no_reuse, max_age) {
        (true, _) => Freshness::DoNotReuse,
        (false, Some(s)) => Freshness::MaxAge(s),
        (false, None) => Freshness::Unstated,
    }
}

/// The list's elements: split at commas outside quoted strings.
fn elements(value: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in value.iter().enumerate() {
        if quoted {
            if escaped {
                escaped = false;
            } else if *b == b'\\' {
                escaped = true;
            } else if *b == b'"' {
                quoted = false;
            }
        } else if *b == b'"' {
            quoted = true;
        } else if *b == b',' {
            out.push(value.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    out.push(value.get(start..).unwrap_or_default());
    out
}

fn is_ows(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// `tchar` ([RFC 9110 §5.6.2](https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2)).
fn is_tchar(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b)
}

/// `token [ "=" ( token / quoted-string ) ]`: the name, and the argument if
/// there is one, a quoted string's quotes and escapes removed; `None` when
/// the name is not a token.
fn directive(element: &[u8]) -> Option<(&[u8], Option<Vec<u8>>)> {
    let element = trim(element);
    if element.is_empty() {
        return None;
    }
    let (name, arg) = match element.iter().position(|b| *b == b'=') {
        Some(eq) => (trim(element.get(..eq)?), Some(trim(element.get(eq + 1..)?))),
        None => (element, None),
    };
    if name.is_empty() || !name.iter().all(is_tchar) {
        return None;
    }
    let arg = match arg {
        None => None,
        // An unclosed quoted string stays as it is, and is no number.
        Some(a) if a.first() == Some(&b'"') => Some(unquote(a).unwrap_or_else(|| a.to_vec())),
        Some(a) => Some(a.to_vec()),
    };
    Some((name, arg))
}

/// The content of a quoted string that is the whole of `s`.
fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    let inner = s.strip_prefix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => out.push(*bytes.next()?),
            b'"' => return bytes.next().is_none().then_some(out),
            other => out.push(*other),
        }
    }
    None
}

/// `delta-seconds = 1*DIGIT`, saturating at [`DELTA_SECONDS_MAX`].
fn delta_seconds(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u64 = 0;
    for d in s {
        n = n
            .saturating_mul(10)
            .saturating_add(u64::from(d - b'0'))
            .min(DELTA_SECONDS_MAX);
    }
    Some(n)
}

#[cfg(test)]
mod tests;
