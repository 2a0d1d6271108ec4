//! The canonical, versioned encoding of what the log records.
//!
//! A leaf is one compact JSON object: `"v"` (the format version, 1) first,
//! `"kind"` (`"decision"` or `"admin"`) second, then the record's fields in
//! the fixed order of their declaration below. Every field is always present
//! (`null` for an absent value) except the two trailing lists of a decision,
//! `shadow` and `features`, which are written only when non-empty: leaves
//! written before they existed keep their bytes and their hash. There is no
//! insignificant whitespace, and strings are escaped minimally (`\"`, `\\`,
//! control characters). Exactly one byte string encodes each record, so the
//! leaf hash identifies it.
//!
//! [`decode`] accepts only that byte string: it re-encodes what it parsed and
//! refuses the input with [`LeafError::NotCanonical`] unless the two are
//! identical, so whitespace, reordered or duplicated fields, unneeded escapes
//! and unknown fields never get past it.
//!
//! [`read_decision_fields`] is the fast, lenient counterpart for a log
//! already verified: it reads a decision's request fields without proving
//! the leaf canonical, and agrees with [`decode`] on every leaf it accepts.
//!
//! Records never carry prompts, completions or key secrets; personal values
//! an auditor does not need in clear go in as [`Pseudonym`]s.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use fields::{DecisionFields, FeatureNames, FieldsRead, parse_time, read_decision_fields};

/// The leaf format version this crate writes.
pub const VERSION: u64 = 1;

/// The largest leaf: an entry bundle prefixes each leaf with a `u16` length.
pub const MAX_LEAF_BYTES: usize = crate::tile::MAX_ENTRY_BYTES;

/// Why a record could not be encoded or a leaf decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// The encoded leaf would exceed [`MAX_LEAF_BYTES`].
    #[error("the leaf is {len} bytes; a leaf holds at most {MAX_LEAF_BYTES}")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The bytes are not a JSON object with the record's fields.
    #[error("the leaf is not a valid record: {0}")]
    Malformed(String),
    /// The version is not one this crate reads.
    #[error("leaf format version `{0}` is not supported; this build reads version {VERSION}")]
    UnsupportedVersion(String),
    /// The kind is not `decision` or `admin`.
    #[error("leaf kind `{0}` is unknown; expected `decision` or `admin`")]
    UnknownKind(String),
    /// The bytes decode, but are not the canonical encoding of what they hold.
    #[error(
        "the leaf is not in canonical form (whitespace, field order, escapes or unknown fields differ from the encoding); byte {offset} differs"
    )]
    NotCanonical {
        /// The first byte offset where input and canonical encoding differ.
        offset: usize,
    },
    /// Encoding failed (not expected for these plain types).
    #[error("the record could not be encoded: {0}")]
    Encode(String),
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a record is built once per decision and encoded at once; boxing would only add an allocation"
)]
pub enum Record {
    /// A decision on a request.
    Decision(DecisionRecord),
    /// An administrative change.
    Admin(AdminRecord),
}

/// Whether the decision was enforced or only observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The gateway acted on the decision.
    Enforced,
    /// The decision was recorded but not acted on.
    Shadow,
}

/// Which component made the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The proxying gateway, on a model API request.
    Gateway,
    /// The decision API, asked by an integrator.
    DecisionApi,
    /// The command line (`cordon decide`).
    Cli,
}

/// Obligations the decision imposed on a forwarded request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Obligations {
    /// Cap on `max_tokens`, if any.
    pub max_tokens: Option<u64>,
    /// Features stripped from the request (`tools`, `web_search`, …), in the
    /// order the policy lists them.
    pub remove_features: Vec<String>,
}

/// Where an attribute value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Who supplied it (a KYC vendor, the customer, an import), if recorded.
    pub source: Option<String>,
    /// Verification level: `none`, `self_declared`, `document_verified`, `attested`.
    pub verification: String,
    /// When it was verified (RFC 3339), if recorded.
    pub verified_at: Option<String>,
}

/// One attribute value a condition read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeUsed {
    /// The attribute, e.g. `subject.citizenships`.
    pub name: String,
    /// One value as the condition saw it (`unknown` when missing); a list
    /// attribute gives one entry per value.
    pub value: String,
    /// Its provenance; `None` for request attributes, which have none.
    pub provenance: Option<Provenance>,
}

/// A shadow-mode directive that would have refused a request, had it been
/// enforced.
///
/// Recorded so an operator can measure a directive's impact on live traffic
/// before switching it to enforced; it never changes the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowRefusal {
    /// The directive's id.
    pub directive: String,
    /// Its effect after exemptions: `deny` or `verification_required`.
    pub effect: String,
}

/// A decision on one request. Field order is the wire order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    /// The decision id returned to the client (`dec_…`).
    pub id: String,
    /// When the decision was made, RFC 3339 UTC, as the gateway formatted it.
    pub time: String,
    /// The account id; `None` when the API key was unknown.
    pub account: Option<String>,
    /// The model name as the client sent it.
    pub model_requested: String,
    /// The catalog id it resolved to; `None` when unknown.
    pub model: Option<String>,
    /// The endpoint, e.g. `chat`.
    pub endpoint: String,
    /// The effect: `allow`, `allow_with_obligations`, `verification_required`, `deny`.
    pub effect: String,
    /// Enforced or shadow.
    pub mode: Mode,
    /// The directive that decided a refusal, if any.
    pub decided_by: Option<String>,
    /// Ids of every directive consulted, in id order.
    pub consulted: Vec<String>,
    /// Obligations applied.
    pub obligations: Obligations,
    /// Attribute values the conditions read, with provenance.
    pub attributes: Vec<AttributeUsed>,
    /// The policy version that decided.
    pub policy_version: String,
    /// The client's country (ISO 3166-1 alpha-2); `None` when unknown.
    pub client_country: Option<String>,
    /// The client's region (ISO 3166-2); `None` when unknown.
    pub client_region: Option<String>,
    /// Whether the client address is an anonymiser; `None` when unknown.
    pub anonymizer: Option<bool>,
    /// The component that decided.
    pub source: Source,
    /// Shadow-mode directives that would have refused the request, in id
    /// order; omitted from the leaf when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadow: Vec<ShadowRefusal>,
    /// The request's feature names (`tools`, `web_search`, …) as the policy
    /// saw them; omitted from the leaf when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// The member account the decision was about when the request came
    /// with an organisation's key on behalf of one of its registered end
    /// users (`account` is then the organisation); omitted from the leaf
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<String>,
}

/// An administrative change. Field order is the wire order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminRecord {
    /// A unique id for the change.
    pub id: String,
    /// When it happened, RFC 3339 UTC.
    pub time: String,
    /// Who made it (an operator, usually as a [`Pseudonym`], or `system`).
    pub actor: String,
    /// What was done, e.g. `directives.activated`, `key.revoked`.
    pub action: String,
    /// What it was done to (an account id, a directive set hash), if anything.
    pub subject: Option<String>,
    /// Further details; keys sorted, values plain strings.
    pub details: BTreeMap<String, String>,
}

impl Record {
    /// The `kind` field's value.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Decision(_) => "decision",
            Record::Admin(_) => "admin",
        }
    }
}

/// Encodes a record as its canonical leaf bytes.
///
/// # Errors
/// [`LeafError::TooLarge`] when the leaf would exceed [`MAX_LEAF_BYTES`].
pub fn encode(record: &Record) -> Result<Vec<u8>, LeafError> {
    let bytes = match record {
        Record::Decision(d) => encode::decision(d),
        Record::Admin(a) => encode::admin(a),
    };
    if bytes.len() > MAX_LEAF_BYTES {
        return Err(LeafError::TooLarge { len: bytes.len() });
    }
    Ok(bytes)
}

/// Decodes canonical leaf bytes.
///
/// # Errors
/// [`LeafError::TooLarge`], [`LeafError::Malformed`] (not JSON, missing or
/// unknown fields, wrong types), [`LeafError::UnsupportedVersion`],
/// [`LeafError::UnknownKind`], or [`LeafError::NotCanonical`] when the bytes
/// are not exactly what [`encode`] writes for the record they hold.
pub fn decode(bytes: &[u8]) -> Result<Record, LeafError> {
    if bytes.len() > MAX_LEAF_BYTES {
        return Err(LeafError::TooLarge { len: bytes.len() });
    }
    let malformed = |e: serde_json::Error| LeafError::Malformed(e.to_string());
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(malformed)?;
    let version = object
        .remove("v")
        .ok_or_else(|| LeafError::Malformed("missing field `v`".into()))?;
    if version.as_u64() != Some(VERSION) {
        return Err(LeafError::UnsupportedVersion(version.to_string()));
    }
    let kind = match object.remove("kind") {
        Some(serde_json::Value::String(kind)) => kind,
        Some(other) => return Err(LeafError::UnknownKind(other.to_string())),
        None => return Err(LeafError::Malformed("missing field `kind`".into())),
    };
    let rest = serde_json::Value::Object(object);
    let record = match kind.as_str() {
        "decision" => Record::Decision(serde_json::from_value(rest).map_err(malformed)?),
        "admin" => Record::Admin(serde_json::from_value(rest).map_err(malformed)?),
        _ => return Err(LeafError::UnknownKind(kind)),
    };
    let canonical = encode(&record)?;
    if canonical != bytes {
        let offset = canonical
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(bytes.len()));
        return Err(LeafError::NotCanonical { offset });
    }
    Ok(record)
}

/// A salted hash standing in for a personal value (a name, an e-mail):
/// `h1:` and the hex of `SHA-256(salt || 0x00 || value)`.
///
/// The operator keeps the salt out of the log, so an auditor cannot guess
/// values from the log alone, while the operator can still show which
/// entries concern a given person by recomputing the pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pseudonym(String);

impl Pseudonym {
    /// The pseudonym of `value` under `salt`.
    pub fn new(salt: &[u8], value: &str) -> Pseudonym {
        let mut h = Sha256::new();
        h.update(salt);
        h.update([0x00]);
        h.update(value.as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let mut text = String::with_capacity(3 + 64);
        text.push_str("h1:");
        for b in digest {
            text.push_str(&format!("{b:02x}"));
        }
        Pseudonym(text)
    }

    /// Whether `text` is the pseudonym of `value` under `salt`.
    pub fn matches(text: &str, salt: &[u8], value: &str) -> bool {
        Pseudonym::new(salt, value).0 == text
    }

    /// The text form, `h1:<64 hex digits>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text form, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

mod encode;
mod fields;

#[cfg(test)]
mod tests;
