//! `verified_claims` to facts
//! ([OpenID Identity Assurance Schema Definition 1.0](https://openid.net/specs/openid-ida-verified-claims-1_0.html)
//! §5 "Verified claims";
//! [OpenID Connect for Identity Assurance Claims Registration 1.0](https://openid.net/specs/openid-connect-4-ida-claims-1_0.html)
//! "Additional claims about end-users" and "Extended address claim").
//!
//! Only claims inside `verified_claims` are evidence. The container exists
//! so that a recipient "cannot mix up verified claims and unverified
//! claims" (Schema Definition §5.1): a top-level `nationalities` claim says
//! nothing of who checked it, how, or under which rules, and may be no more
//! than what the user typed into a profile form. It is ignored.
//!
//! Each element of `verified_claims` (one object, or an array of them,
//! §5.2) gives its facts the provenance of its `verification` (§5.4):
//!
//! | `verified_claims` member | fact |
//! |---|---|
//! | `claims.nationalities` (alpha-3 or alpha-2 codes) | `citizenships` |
//! | `claims.address.country_code`, else `claims.address.country` when it is an alpha-2 code | `residence_country` |
//! | `claims.birthdate` (`YYYY-MM-DD` or `YYYY`; year `0000` omitted) | `birth_year` |
//! | `claims.given_name`, `middle_name`, `family_name` (joined), else `claims.name` | `name` |
//! | `claims.<us_person_claim>` (boolean, when configured) | `us_person` |
//! | `verification.trust_framework` (+ `assurance_level`) | the level, from the issuer's configuration; `trust_framework` |
//! | `verification.time` | `verified_at` |
//! | `evidence[].type` with `method` or `check_details[].check_method` | `method` |
//! | `evidence[type=document].document_details.issuer.country_code` (else `.country` when alpha-2) | `document_country` |
//! | the earliest `date_of_expiry` of the evidence (document, record, vouch) | `expires_at` (the end of that day, UTC) |

use std::collections::BTreeMap;

use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_subject::{SubjectRecord, VerificationLevel};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use super::{Issuer, VerifiedClaimsError as E};
use crate::fact::{Attribute, Fact};

/// Earliest and latest birth year accepted, as in subject records.
const BIRTH_YEARS: std::ops::RangeInclusive<u16> = 1880..=2100;

/// The facts the `verified_claims` of `claims` state, one per attribute,
/// in [`Attribute`] order. Not public: claims are read only from a token
/// whose signature verified ([`super::verify_assertion`]).
///
/// # Errors
/// [`E`] naming the `verified_claims` member that is missing or wrong, a
/// trust framework the issuer is not configured with, a three-letter
/// country code, or two elements that disagree.
pub(crate) fn facts(
    claims: &Map<String, Value>,
    issuer: &Issuer,
    jurisdictions: &Jurisdictions,
) -> Result<Vec<Fact>, E> {
    let elements: Vec<(String, &Value)> = match claims.get("verified_claims") {
        None | Some(Value::Null) => {
            let external = claims
                .get("_claim_names")
                .and_then(Value::as_object)
                .is_some_and(|n| n.contains_key("verified_claims"));
            return Err(if external { E::External } else { E::Absent });
        }
        Some(v @ Value::Object(_)) => vec![("verified_claims".to_owned(), v)],
        Some(Value::Array(items)) if items.is_empty() => return Err(E::Absent),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("verified_claims[{i}]"), v))
            .collect(),
        Some(_) => {
            return Err(E::WrongType {
                path: "verified_claims".into(),
                expected: "an object or an array of objects",
            });
        }
    };
    let mut merged: BTreeMap<Attribute, Fact> = BTreeMap::new();
    for (path, element) in elements {
        for fact in element_facts(&path, element, issuer, jurisdictions)? {
            match merged.remove(&fact.attribute) {
                None => {
                    merged.insert(fact.attribute, fact);
                }
                Some(earlier) => {
                    let both = merge(earlier, fact)?;
                    merged.insert(both.attribute, both);
                }
            }
        }
    }
    if merged.is_empty() {
        return Err(E::NoFacts {
            us_person_claim: issuer.us_person_claim.clone(),
        });
    }
    let facts: Vec<Fact> = merged.into_values().collect();
    // The same checks as any subject record: assigned codes, the birth-year
    // range, non-empty names.
    let subject: Map<String, Value> = facts
        .iter()
        .map(|f| (f.attribute.field().to_owned(), f.value.clone()))
        .collect();
    SubjectRecord::from_value(Value::Object(subject))
        .into_subject(jurisdictions)
        .map_err(|e| E::Subject(e.to_string()))?;
    Ok(facts)
}

/// The provenance one element gives its facts.
struct Provenance {
    level: VerificationLevel,
    verified_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    trust_framework: String,
    method: Option<String>,
    document_country: Option<String>,
}

impl Provenance {
    fn fact(&self, attribute: Attribute, value: Value) -> Fact {
        Fact {
            verified_at: self.verified_at,
            expires_at: self.expires_at,
            trust_framework: Some(self.trust_framework.clone()),
            method: self.method.clone(),
            document_country: self.document_country.clone(),
            ..Fact::new(attribute, value, self.level)
        }
    }
}

/// The facts of one `verified_claims` element
/// (Schema Definition §5.2 "Base elements").
fn element_facts(
    path: &str,
    element: &Value,
    issuer: &Issuer,
    j: &Jurisdictions,
) -> Result<Vec<Fact>, E> {
    let Value::Object(element) = element else {
        return Err(E::WrongType {
            path: path.to_owned(),
            expected: "an object",
        });
    };
    let verification = object(element, path, "verification")?.ok_or_else(|| E::Missing {
        path: format!("{path}.verification"),
    })?;
    let claims = object(element, path, "claims")?.ok_or_else(|| E::Missing {
        path: format!("{path}.claims"),
    })?;
    let provenance = provenance(&format!("{path}.verification"), verification, issuer, j)?;
    let cpath = format!("{path}.claims");
    let mut out = Vec::new();

    if let Some(list) = array(claims, &cpath, "nationalities")? {
        let mut codes: Vec<Value> = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let ipath = format!("{cpath}.nationalities[{i}]");
            let text = item.as_str().ok_or_else(|| E::WrongType {
                path: ipath.clone(),
                expected: "a string (a country code)",
            })?;
            let Some(code) = country(&ipath, text, j)? else {
                continue;
            };
            let code = Value::String(code);
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        // An empty list would say "no citizenship at all", which no
        // verification establishes; it is left out.
        if !codes.is_empty() {
            out.push(provenance.fact(Attribute::Citizenships, Value::Array(codes)));
        }
    }

    if let Some(address) = object(claims, &cpath, "address")? {
        let apath = format!("{cpath}.address");
        if let Some(code) = code_or_country(address, &apath, j)? {
            out.push(provenance.fact(Attribute::ResidenceCountry, Value::String(code)));
        }
    }

    if let Some(birthdate) = string(claims, &cpath, "birthdate")?
        && let Some(year) = birth_year(&format!("{cpath}.birthdate"), birthdate)?
    {
        out.push(provenance.fact(Attribute::BirthYear, Value::from(year)));
    }

    let mut parts = Vec::new();
    for part in ["given_name", "middle_name", "family_name"] {
        if let Some(s) = string(claims, &cpath, part)? {
            let s = s.trim();
            if !s.is_empty() {
                parts.push(s);
            }
        }
    }
    let name = if parts.is_empty() {
        string(claims, &cpath, "name")?
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    } else {
        Some(parts.join(" "))
    };
    if let Some(name) = name {
        out.push(provenance.fact(Attribute::Name, Value::String(name)));
    }

    if let Some(claim) = &issuer.us_person_claim {
        match claims.get(claim) {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => out.push(provenance.fact(Attribute::UsPerson, Value::Bool(*b))),
            Some(_) => {
                return Err(E::WrongType {
                    path: format!("{cpath}.{claim}"),
                    expected: "a boolean (the configured `us_person` claim)",
                });
            }
        }
    }
    Ok(out)
}

/// The provenance of a `verification` element (Schema Definition §5.4.2
/// "Element structure", §5.4.4 "Evidence element").
fn provenance(
    vpath: &str,
    verification: &Map<String, Value>,
    issuer: &Issuer,
    j: &Jurisdictions,
) -> Result<Provenance, E> {
    let framework = string(verification, vpath, "trust_framework")?.ok_or_else(|| E::Missing {
        path: format!("{vpath}.trust_framework"),
    })?;
    // The schema asks recipients to ignore `verified_claims` under a
    // framework they do not understand; Cordon refuses the assertion
    // instead, so that an issuer sending what the operator did not
    // configure is seen rather than silently dropped.
    let config = issuer.trust_frameworks.get(framework).ok_or_else(|| {
        let configured: Vec<&str> = issuer.trust_frameworks.keys().map(String::as_str).collect();
        E::UnknownTrustFramework {
            path: format!("{vpath}.trust_framework"),
            framework: framework.to_owned(),
            configured: if configured.is_empty() {
                "none".into()
            } else {
                configured.join(", ")
            },
        }
    })?;
    let level = config.level_for(string(verification, vpath, "assurance_level")?);
    let verified_at = match string(verification, vpath, "time")? {
        Some(t) => Some(time(&format!("{vpath}.time"), t)?),
        None => None,
    };
    let mut methods: Vec<String> = Vec::new();
    let mut expires_at: Option<Timestamp> = None;
    let mut document_country: Option<String> = None;
    for (i, ev) in array(verification, vpath, "evidence")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let epath = format!("{vpath}.evidence[{i}]");
        let Value::Object(ev) = ev else {
            return Err(E::WrongType {
                path: epath,
                expected: "an object",
            });
        };
        let kind = string(ev, &epath, "type")?.ok_or_else(|| E::Missing {
            path: format!("{epath}.type"),
        })?;
        let mut how: Vec<&str> = Vec::new();
        // `method` is the form of the drafts before 1.0, still sent by some
        // providers; 1.0 has `check_details[].check_method`.
        if let Some(m) = string(ev, &epath, "method")? {
            how.push(m);
        }
        for (k, check) in array(ev, &epath, "check_details")?
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let cpath = format!("{epath}.check_details[{k}]");
            let Value::Object(check) = check else {
                return Err(E::WrongType {
                    path: cpath,
                    expected: "an object",
                });
            };
            if let Some(m) = string(check, &cpath, "check_method")? {
                how.push(m);
            }
        }
        let described = if how.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}:{}", how.join("+"))
        };
        if !methods.contains(&described) {
            methods.push(described);
        }
        // Where each evidence type keeps its expiry (§5.4.4.2–4).
        let holder = match kind {
            "document" => Some("document_details"),
            "electronic_record" => Some("record"),
            "vouch" => Some("attestation"),
            _ => None,
        };
        let Some(holder) = holder else {
            continue;
        };
        let Some(details) = object(ev, &epath, holder)? else {
            continue;
        };
        let dpath = format!("{epath}.{holder}");
        if let Some(d) = string(details, &dpath, "date_of_expiry")? {
            let end = end_of_day(&format!("{dpath}.date_of_expiry"), d)?;
            expires_at = Some(expires_at.map_or(end, |e| e.min(end)));
        }
        if kind == "document"
            && document_country.is_none()
            && let Some(doc_issuer) = object(details, &dpath, "issuer")?
        {
            document_country = code_or_country(doc_issuer, &format!("{dpath}.issuer"), j)?;
        }
    }
    Ok(Provenance {
        level,
        verified_at,
        expires_at,
        trust_framework: framework.to_owned(),
        method: if methods.is_empty() {
            None
        } else {
            Some(methods.join(", "))
        },
        document_country,
    })
}

/// Two facts about one attribute from two elements as one: a set takes the
/// union, a single value must agree. The merged fact is as weak as the
/// weaker (the lower level, the earlier expiry) and as recent as the more
/// recent.
fn merge(a: Fact, b: Fact) -> Result<Fact, E> {
    let value = if a.attribute.is_set() {
        let mut items = a.value.as_array().cloned().unwrap_or_default();
        for v in b.value.as_array().into_iter().flatten() {
            if !items.contains(v) {
                items.push(v.clone());
            }
        }
        Value::Array(items)
    } else if a.value == b.value {
        a.value
    } else {
        return Err(E::Conflict {
            attribute: a.attribute.field(),
            first: a.value,
            second: b.value,
        });
    };
    let join = |x: Option<String>, y: Option<String>| match (x, y) {
        (Some(x), Some(y)) if x == y => Some(x),
        (Some(x), Some(y)) => Some(format!("{x}; {y}")),
        (x, y) => x.or(y),
    };
    Ok(Fact {
        attribute: a.attribute,
        value,
        level: a.level.min(b.level),
        verified_at: a.verified_at.max(b.verified_at),
        expires_at: match (a.expires_at, b.expires_at) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        },
        trust_framework: join(a.trust_framework, b.trust_framework),
        method: join(a.method, b.method),
        document_country: if a.document_country == b.document_country {
            a.document_country
        } else {
            None
        },
    })
}

/// A country code read strictly: an assigned ISO 3166-1 alpha-2 code, or
/// the alpha-3 (ICAO Doc 9303) code that the Claims Registration specifies,
/// in either case, upper-cased to alpha-2; `None` for an ICAO code that
/// names no state (stateless, refugee, British non-citizen classes, the
/// United Nations), which establishes no citizenship.
fn country(path: &str, text: &str, j: &Jurisdictions) -> Result<Option<String>, E> {
    let upper = text.to_ascii_uppercase();
    if crate::vendor::country::NO_STATE.contains(&upper.as_str()) {
        return Ok(None);
    }
    let letters = upper.bytes().all(|b| b.is_ascii_alphabetic());
    let alpha2 = match upper.len() {
        3 if letters => crate::vendor::country::alpha2_of(&upper),
        2 if letters => Some(upper.as_str()),
        _ => None,
    };
    match alpha2.and_then(|c| CountryCode::parse(c).ok()) {
        Some(c) if j.is_country(c) => Ok(Some(c.as_str().to_owned())),
        _ => Err(E::Invalid {
            path: path.to_owned(),
            reason: format!(
                "`{text}` is not the ISO 3166-1 alpha-2 or alpha-3 code of an assigned country"
            ),
        }),
    }
}

/// The country of an address-like object: `country_code` read strictly,
/// else `country` when it happens to be an assigned alpha-2 code. OpenID
/// Connect Core §5.1.1 defines `country` as a free-text country *name*
/// ("Germany", "UK"): anything but a code there is not read.
fn code_or_country(
    address: &Map<String, Value>,
    path: &str,
    j: &Jurisdictions,
) -> Result<Option<String>, E> {
    if let Some(code) = string(address, path, "country_code")? {
        return country(&format!("{path}.country_code"), code, j);
    }
    Ok(string(address, path, "country")?.and_then(|name| country(path, name, j).ok().flatten()))
}

/// The year of an OpenID Connect `birthdate` (Core §5.1: `YYYY-MM-DD`,
/// `YYYY`, or year `0000` for "omitted").
fn birth_year(path: &str, text: &str) -> Result<Option<u16>, E> {
    let invalid = |reason: String| E::Invalid {
        path: path.to_owned(),
        reason,
    };
    let year_text = match text.len() {
        4 => text,
        10 => {
            date(path, text)?;
            text.get(..4).unwrap_or_default()
        }
        _ => {
            return Err(invalid(format!(
                "`{text}` is neither `YYYY-MM-DD` nor `YYYY`"
            )));
        }
    };
    if !year_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("`{text}` does not start with a year")));
    }
    let year: u16 = year_text
        .parse()
        .map_err(|_| invalid(format!("`{text}` does not start with a year")))?;
    if year == 0 {
        return Ok(None);
    }
    if !BIRTH_YEARS.contains(&year) {
        return Err(invalid(format!(
            "the year {year} is outside {}–{}",
            BIRTH_YEARS.start(),
            BIRTH_YEARS.end()
        )));
    }
    Ok(Some(year))
}

/// An ISO 8601 `YYYY-MM-DD` date.
fn date(path: &str, text: &str) -> Result<Date, E> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let parsed = if shaped {
        text.parse::<Date>().ok()
    } else {
        None
    };
    parsed.ok_or_else(|| E::Invalid {
        path: path.to_owned(),
        reason: format!("`{text}` is not a `YYYY-MM-DD` date"),
    })
}

/// The instant a document valid through `text` (a `YYYY-MM-DD` date)
/// stops counting: the start of the next day, UTC.
fn end_of_day(path: &str, text: &str) -> Result<Timestamp, E> {
    let d = date(path, text)?;
    d.tomorrow()
        .and_then(|t| TimeZone::UTC.to_timestamp(t.at(0, 0, 0, 0)))
        .map_err(|e| E::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// An ISO 8601 `YYYY-MM-DDThh:mm[:ss]TZD` time (Schema Definition §5.4.2
/// `time`): an offset (`Z` or `±hh:mm`) is required, seconds are not.
fn time(path: &str, text: &str) -> Result<Timestamp, E> {
    let with_seconds;
    let mut candidate = text;
    // `2021-05-11T14:29Z` → `2021-05-11T14:29:00Z`.
    if let (Some(head), Some(tail)) = (text.get(..16), text.get(16..))
        && text.as_bytes().get(10) == Some(&b'T')
        && (tail.starts_with('Z') || tail.starts_with('+') || tail.starts_with('-'))
    {
        with_seconds = format!("{head}:00{tail}");
        candidate = &with_seconds;
    }
    candidate.parse::<Timestamp>().map_err(|e| E::Invalid {
        path: path.to_owned(),
        reason: format!("`{text}` is not a date and time with an offset: {e}"),
    })
}

/// An optional string member; absent and `null` are `None`.
fn string<'a>(obj: &'a Map<String, Value>, path: &str, name: &str) -> Result<Option<&'a str>, E> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(E::WrongType {
            path: format!("{path}.{name}"),
            expected: "a string",
        }),
    }
}

/// An optional object member; absent and `null` are `None`.
fn object<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, E> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(E::WrongType {
            path: format!("{path}.{name}"),
            expected: "an object",
        }),
    }
}

/// An optional array member; absent and `null` are `None`.
fn array<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<&'a [Value]>, E> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.as_slice())),
        Some(_) => Err(E::WrongType {
            path: format!("{path}.{name}"),
            expected: "an array",
        }),
    }
}
