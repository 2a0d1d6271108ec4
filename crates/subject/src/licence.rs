//! Licences as records: the export licences a subject holds.
//!
//! A licence (a BIS licence, an OFAC specific licence, a national export
//! authorisation) names its holder, may name the individuals it covers and
//! the nationalities it excludes, covers certain items and expires. A
//! [`Licence`] is that record; the policy engine decides whether it lifts a
//! directive for one request (`docs/licences.md`). Subjects carry the
//! licences they hold in [`Subject::licences`](crate::Subject::licences):
//! the identity store attaches the active licences of which an account is
//! the holder or a named individual, and the subject JSON of
//! `docs/subjects.md` may give them as a `licences` array.

use cordon_jurisdiction::{CountryCode, Jurisdictions};
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::record::{RecordError, country, err, kind_of, reject_unknown, string, timestamp};
use crate::{Subject, SubjectKind, VerificationLevel};

/// The fields of a licence object, in the order they are documented.
pub const LICENCE_FIELDS: &[&str] = &[
    "number",
    "authority",
    "directives",
    "holder",
    "individuals",
    "excluded_nationalities",
    "models",
    "conditions",
    "issued",
    "expires",
];

/// Longest licence number, in characters.
pub const MAX_NUMBER_LEN: usize = 64;
/// Longest issuing authority, in characters.
pub const MAX_AUTHORITY_LEN: usize = 200;
/// Longest conditions text, in characters.
pub const MAX_CONDITIONS_LEN: usize = 4000;
/// Most entries in any one list of a licence (directives, individuals,
/// nationalities, models).
pub const MAX_LIST_LEN: usize = 1000;
/// Most licences in one subject record.
pub const MAX_LICENCES: usize = 256;
/// Longest model name, in bytes (the catalog resolves no longer name).
const MAX_MODEL_LEN: usize = 128;
/// Longest directive id, in bytes (as directive files allow).
const MAX_DIRECTIVE_ID_LEN: usize = 128;
/// Longest account id, in bytes; the identity store allows the same.
pub const MAX_ACCOUNT_ID_LEN: usize = 64;

/// An export licence, as a record.
///
/// It lifts the directives it names, between `issued` and `expires`, for the
/// models it names (every model a directive covers when empty), either for
/// the holder organisation's own account or for the individuals it names
/// (see [`Licence::covers`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Licence {
    /// The licence number as the authority issued it (`D1234567`).
    pub number: String,
    /// Who issued it (`BIS`, `OFAC`, a national export authority).
    pub authority: String,
    /// The ids of the directives it lifts.
    pub directives: Vec<String>,
    /// The account id of the holder organisation.
    pub holder: String,
    /// The account ids of the individuals it covers. Empty means it covers
    /// only the holder organisation's own requests, never every member.
    pub individuals: Vec<String>,
    /// Nationalities it excludes: a named individual holding any of them is
    /// not covered.
    pub excluded_nationalities: Vec<CountryCode>,
    /// The catalog model ids it covers; empty means every model in the
    /// scope of each directive it lifts.
    pub models: Vec<String>,
    /// The licence's conditions as written: shown in explanations, never
    /// evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// From when it applies.
    pub issued: Timestamp,
    /// From when it no longer applies.
    pub expires: Timestamp,
}

/// How a licence covers a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceBasis {
    /// The subject is the holder organisation's own account.
    Holder,
    /// The subject is an individual the licence names, of no excluded
    /// nationality.
    NamedIndividual,
}

impl LicenceBasis {
    /// The snake_case name used in explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceBasis::Holder => "holder",
            LicenceBasis::NamedIndividual => "named_individual",
        }
    }
}

impl Licence {
    /// Whether the licence applies at `at`: at or after `issued` and
    /// before `expires`.
    #[inline]
    pub fn in_force(&self, at: Timestamp) -> bool {
        self.issued <= at && at < self.expires
    }

    /// Whether it names the directive `id` among those it lifts.
    #[inline]
    pub fn lifts(&self, id: &str) -> bool {
        self.directives.iter().any(|d| d == id)
    }

    /// How the licence covers `subject`, if it does, for a directive that
    /// counts only attributes verified at `min` and unexpired at `at`:
    ///
    /// - the subject is the holder organisation itself (its account id is
    ///   the holder and it is an organisation); or
    /// - the subject is an individual the licence names, whose citizenships
    ///   are known (recorded, every one at `min` or above and unexpired) and
    ///   none of which is excluded. Unknown citizenship means the licence
    ///   does not cover the subject: an excluded nationality could be among
    ///   them, so this fails closed, and a dual national with one excluded
    ///   nationality is not covered.
    ///
    /// A member of the holder organisation whom the licence does not name is
    /// not covered.
    pub fn covers(
        &self,
        subject: &Subject,
        min: VerificationLevel,
        at: Timestamp,
    ) -> Option<LicenceBasis> {
        let id = subject.id.as_deref()?;
        if id == self.holder {
            return (subject.kind == SubjectKind::Organization).then_some(LicenceBasis::Holder);
        }
        if subject.kind != SubjectKind::Individual || !self.individuals.iter().any(|i| i == id) {
            return None;
        }
        let citizenships = subject.citizenships.as_deref()?;
        let mut clear = true;
        for c in citizenships {
            if !c.provenance.qualifies(min, at) {
                return None;
            }
            clear &= !self.excluded_nationalities.contains(&c.value);
        }
        clear.then_some(LicenceBasis::NamedIndividual)
    }

    /// The licence as a JSON object in the form of `docs/subjects.md`
    /// (`conditions` left out when there are none).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads one licence object; errors name the field relative to the
    /// licence (`individuals[1]`, `expires`).
    ///
    /// `issued` may be left out only when `default_issued` is given (a
    /// submission dated on arrival); a subject record's licences state it.
    ///
    /// # Errors
    /// [`RecordError::Field`] for the first bad field: unknown fields,
    /// missing ones, wrong types, a number, directive id or account id that
    /// does not have its form, an unassigned country code, an entry listed
    /// twice, a list or text over its limit, or an expiry not after the
    /// issue.
    pub fn from_value(
        v: &Value,
        j: &Jurisdictions,
        default_issued: Option<Timestamp>,
    ) -> Result<Licence, RecordError> {
        licence("", v, j, default_issued)
    }
}

/// Joins a path and a field name.
fn at_path(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// Reads the licence at `path` (`licences[2]`, or `""` for a bare one).
pub(crate) fn licence(
    path: &str,
    v: &Value,
    j: &Jurisdictions,
    default_issued: Option<Timestamp>,
) -> Result<Licence, RecordError> {
    let Value::Object(map) = v else {
        return Err(err(
            if path.is_empty() { "$" } else { path },
            format!(
                "expected a licence object with `number`, `authority`, `directives`, `holder`, `issued` and `expires`, found {}",
                kind_of(v)
            ),
        ));
    };
    reject_unknown(path, map, LICENCE_FIELDS)?;
    let f = |k: &str| at_path(path, k);
    let required = |k: &str| map.get(k).ok_or_else(|| err(&f(k), "missing"));
    let number = licence_number(&f("number"), required("number")?)?;
    let authority = text(
        &f("authority"),
        required("authority")?,
        MAX_AUTHORITY_LEN,
        "an issuing authority",
    )?;
    let directives = list(map, path, "directives", |field, v| {
        identifier(field, v, MAX_DIRECTIVE_ID_LEN, "a directive id")
    })?;
    if directives.is_empty() {
        return Err(err(
            &f("directives"),
            "is empty: a licence lifts at least one directive",
        ));
    }
    let holder = identifier(
        &f("holder"),
        required("holder")?,
        MAX_ACCOUNT_ID_LEN,
        "an account id",
    )?;
    let individuals = list(map, path, "individuals", |field, v| {
        identifier(field, v, MAX_ACCOUNT_ID_LEN, "an account id")
    })?;
    if let Some(i) = individuals.iter().position(|i| *i == holder) {
        return Err(err(
            &f(&format!("individuals[{i}]")),
            format!(
                "`{holder}` is the holder; a licence covers its holder's own requests without naming it, and names only individuals"
            ),
        ));
    }
    let excluded_nationalities = list(map, path, "excluded_nationalities", |field, v| {
        country(field, v, j)
    })?;
    let models = list(map, path, "models", model_name)?;
    let conditions = match map.get("conditions") {
        Some(Value::Null) | None => None,
        Some(v) => Some(text(
            &f("conditions"),
            v,
            MAX_CONDITIONS_LEN,
            "the licence's conditions",
        )?),
    };
    let issued = match (map.get("issued"), default_issued) {
        (Some(v), _) => timestamp(&f("issued"), v)?,
        (None, Some(t)) => t,
        (None, None) => return Err(err(&f("issued"), "missing")),
    };
    let expires = timestamp(&f("expires"), required("expires")?)?;
    if expires <= issued {
        return Err(err(
            &f("expires"),
            format!("`{expires}` is not after the licence was issued (`{issued}`)"),
        ));
    }
    Ok(Licence {
        number,
        authority,
        directives,
        holder,
        individuals,
        excluded_nationalities,
        models,
        conditions,
        issued,
        expires,
    })
}

/// The `licences` array of a subject record.
pub(crate) fn licences(v: &Value, j: &Jurisdictions) -> Result<Vec<Licence>, RecordError> {
    let Value::Array(items) = v else {
        return Err(err(
            "licences",
            format!("expected a list of licence objects, found {}", kind_of(v)),
        ));
    };
    if items.len() > MAX_LICENCES {
        return Err(err(
            "licences",
            format!(
                "lists {} licences, more than the {MAX_LICENCES} a subject may hold",
                items.len()
            ),
        ));
    }
    let mut out: Vec<Licence> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("licences[{i}]");
        let l = licence(&path, item, j, None)?;
        if out.iter().any(|o| o.number == l.number) {
            return Err(err(
                &format!("{path}.number"),
                format!("licence `{}` is listed twice", l.number),
            ));
        }
        out.push(l);
    }
    Ok(out)
}

/// A list field: absent means empty; each entry read by `read`, none twice.
fn list<T: PartialEq + std::fmt::Display>(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    read: impl Fn(&str, &Value) -> Result<T, RecordError>,
) -> Result<Vec<T>, RecordError> {
    let field = at_path(path, key);
    let items = match map.get(key) {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(err(
                &field,
                format!("expected a list, found {}", kind_of(other)),
            ));
        }
    };
    if items.len() > MAX_LIST_LEN {
        return Err(err(
            &field,
            format!(
                "has {} entries, more than the {MAX_LIST_LEN} allowed",
                items.len()
            ),
        ));
    }
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let value = read(&at, item)?;
        if out.contains(&value) {
            return Err(err(&at, format!("`{value}` is listed twice")));
        }
        out.push(value);
    }
    Ok(out)
}

/// Free text: trimmed, not empty, at most `max` characters, no control
/// characters other than line breaks and tabs.
fn text(field: &str, v: &Value, max: usize, what: &str) -> Result<String, RecordError> {
    let s = string(field, v)?.trim();
    if s.is_empty() {
        return Err(err(field, format!("is empty; expected {what}")));
    }
    if s.chars().count() > max {
        return Err(err(field, format!("is longer than {max} characters")));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(err(field, "contains control characters"));
    }
    Ok(s.to_owned())
}

/// A licence number: 1 to 64 characters of letters, digits, `-`, `.`,
/// `_`, `/`, `:`.
fn licence_number(field: &str, v: &Value) -> Result<String, RecordError> {
    let s = string(field, v)?.trim();
    let ok = !s.is_empty()
        && s.len() <= MAX_NUMBER_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'/' | b':'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(err(
            field,
            format!(
                "`{s}` is not a licence number: use 1 to {MAX_NUMBER_LEN} letters, digits, `-`, `.`, `_`, `/` and `:`"
            ),
        ))
    }
}

/// An id of lower-case letters, digits, `-`, `_`, `.` (directive ids and
/// account ids share the form).
fn identifier(field: &str, v: &Value, max: usize, what: &str) -> Result<String, RecordError> {
    let s = string(field, v)?;
    if is_lower_id(s, max) {
        Ok(s.to_owned())
    } else {
        Err(err(
            field,
            format!(
                "`{s}` is not {what}: use 1 to {max} characters of lower-case `a`-`z`, digits, `-`, `_` and `.`"
            ),
        ))
    }
}

/// Whether `s` has the form of an account id: 1 to 64 characters of
/// lower-case `a`-`z`, digits, `.`, `_` and `-`.
pub fn is_account_id(s: &str) -> bool {
    is_lower_id(s, MAX_ACCOUNT_ID_LEN)
}

/// Whether `s` is 1 to `max` bytes of `[a-z0-9._-]`: the form of account
/// ids (at most 64) and directive ids (at most 128).
fn is_lower_id(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// A model name: not empty, at most 128 bytes, ASCII (as catalog names are).
fn model_name(field: &str, v: &Value) -> Result<String, RecordError> {
    let s = string(field, v)?.trim();
    if s.is_empty() || s.len() > MAX_MODEL_LEN || !s.is_ascii() {
        return Err(err(
            field,
            format!(
                "`{s}` is not a model id: expected 1 to {MAX_MODEL_LEN} ASCII characters naming a catalog model"
            ),
        ));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests;
