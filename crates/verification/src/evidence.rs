//! Evidence rows and the subject derived from the evidence in force.
//!
//! Every fact received is one row: who said it, how, when, about what, and
//! until when. The account's subject is derived from its record (what staff
//! and imports wrote) and the rows in force:
//!
//! 1. a withdrawn row, or one expired at the time of derivation, does not
//!    count;
//! 2. per attribute and source, the latest row wins (by the source's
//!    verification time, then by arrival);
//! 3. across sources (the record counting as one), the highest level wins;
//! 4. sources at that level that agree are merged (a set attribute takes the
//!    union: a second passport is a second citizenship); sources that
//!    disagree about a single value are a [`Contradiction`], reported and
//!    resolved to the more cautious value: `false` for `us_person` and
//!    `protected_individual`, and unknown (the field left out) for anything
//!    else, which directives then treat as they treat any unknown.

use std::collections::BTreeMap;

use cordon_subject::VerificationLevel;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::fact::Attribute;
use crate::record::{self, Written};

/// What kind of party a piece of evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A KYC vendor's verification, delivered by webhook.
    KycVendor,
    /// An OpenID Connect identity assertion (`verified_claims`).
    Oidc,
    /// An organisation's signed attestation about its members.
    OrgAttestation,
    /// The customer's own declaration under a versioned statement.
    SelfDeclaration,
    /// The operator's staff (`cordon accounts add|set`).
    Staff,
    /// An import file.
    Import,
}

impl SourceKind {
    /// Every kind.
    pub const ALL: [SourceKind; 6] = [
        SourceKind::KycVendor,
        SourceKind::Oidc,
        SourceKind::OrgAttestation,
        SourceKind::SelfDeclaration,
        SourceKind::Staff,
        SourceKind::Import,
    ];

    /// The snake_case name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::KycVendor => "kyc_vendor",
            SourceKind::Oidc => "oidc",
            SourceKind::OrgAttestation => "org_attestation",
            SourceKind::SelfDeclaration => "self_declaration",
            SourceKind::Staff => "staff",
            SourceKind::Import => "import",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(s: &str) -> Option<SourceKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One fact received, as stored. No document image and no raw payload:
/// only the payload's SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The row's id in the store (0 before it is stored).
    pub id: i64,
    /// The account.
    pub account: String,
    /// What the fact is about.
    pub attribute: Attribute,
    /// The value, bare, in the subject JSON's form.
    pub value: Value,
    /// How well it was established.
    pub level: VerificationLevel,
    /// What kind of party stated it.
    pub source_kind: SourceKind,
    /// The configured source's name (`stripe-identity`, an issuer).
    pub source: String,
    /// The source's own id of what it verified.
    pub object_id: Option<String>,
    /// The trust framework the source names.
    pub trust_framework: Option<String>,
    /// How it was established.
    pub method: Option<String>,
    /// The issuing country of the document checked (not a nationality).
    pub document_country: Option<String>,
    /// When the source established it.
    pub verified_at: Option<Timestamp>,
    /// When it stops counting.
    pub expires_at: Option<Timestamp>,
    /// When Cordon received it.
    pub received_at: Timestamp,
    /// The delivery it arrived in (webhook id), if any.
    pub delivery_id: Option<String>,
    /// SHA-256 of the raw payload, hex.
    pub payload_sha256: String,
    /// When the source withdrew it, if it did.
    pub withdrawn_at: Option<Timestamp>,
}

impl Evidence {
    /// Whether the row counts at `now`: not withdrawn, not expired.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.withdrawn_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// The time that orders a source's rows: its own, else arrival.
    fn when(&self) -> Timestamp {
        self.verified_at.unwrap_or(self.received_at)
    }
}

/// Sources at the same level that disagree about one value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contradiction {
    /// The attribute.
    pub attribute: Attribute,
    /// The level they agree on.
    pub level: VerificationLevel,
    /// Each source and what it says.
    pub values: Vec<(String, Value)>,
    /// The value kept, `None` for unknown.
    pub resolved: Option<Value>,
}

/// Where an attribute of the derived subject comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Basis {
    /// The attribute.
    pub attribute: Attribute,
    /// The level of the value kept.
    pub level: VerificationLevel,
    /// The record (`None`) or the evidence rows (their ids) it rests on.
    pub evidence: Option<Vec<i64>>,
}

/// A subject derived from a record and evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// The subject record to store and decide on.
    pub subject: Value,
    /// What rests on what.
    pub basis: Vec<Basis>,
    /// Disagreements found and how they were resolved.
    pub contradictions: Vec<Contradiction>,
}

/// One source's claim on an attribute.
struct Claim<'a> {
    source: String,
    value: Value,
    provenance: Written,
    /// The row, `None` for the record.
    row: Option<&'a Evidence>,
}

/// Derives the subject from `record` and the `evidence` rows, at `now` (see
/// the module docs).
pub fn derive(record: &Value, evidence: &[Evidence], now: Timestamp) -> Derived {
    let mut subject = record.as_object().cloned().unwrap_or_default();
    let mut claims: BTreeMap<Attribute, Vec<Claim<'_>>> = BTreeMap::new();
    for rf in record::facts(record) {
        // An expired record value claims nothing: evidence below it counts.
        if rf.fact.expires_at.is_some_and(|e| e <= now) {
            continue;
        }
        claims.entry(rf.fact.attribute).or_default().push(Claim {
            source: rf.source.clone().unwrap_or_else(|| "record".into()),
            value: rf.fact.value,
            provenance: Written {
                level: rf.fact.level,
                source: rf.source,
                verified_at: rf.fact.verified_at,
                expires: rf.fact.expires_at,
            },
            row: None,
        });
    }
    // The latest row in force per attribute and source. A set read off one
    // identity document (a vendor's session: the row names the document's
    // country) counts per session: a second passport checked in a new
    // session is a second citizenship, not a correction of the first. A
    // source that states the whole set (Cordon's own format) replaces it.
    let mut latest: BTreeMap<(Attribute, &str, Option<&str>), &Evidence> = BTreeMap::new();
    for e in evidence.iter().filter(|e| e.in_force(now)) {
        let object = if e.attribute.is_set() && e.document_country.is_some() {
            e.object_id.as_deref()
        } else {
            None
        };
        let slot = latest
            .entry((e.attribute, e.source.as_str(), object))
            .or_insert(e);
        if (e.when(), e.id) > (slot.when(), slot.id) {
            *slot = e;
        }
    }
    for ((attribute, source, _), e) in latest {
        claims.entry(attribute).or_default().push(Claim {
            source: source.to_owned(),
            value: e.value.clone(),
            provenance: Written {
                level: e.level,
                source: Some(source.to_owned()),
                verified_at: e.verified_at,
                expires: e.expires_at,
            },
            row: Some(e),
        });
    }
    let mut basis = Vec::new();
    let mut contradictions = Vec::new();
    for (attribute, all) in claims {
        let Some(top) = all.iter().map(|c| c.provenance.level).max() else {
            continue;
        };
        let best: Vec<&Claim<'_>> = all.iter().filter(|c| c.provenance.level == top).collect();
        let from_rows: Option<Vec<i64>> = if best.iter().all(|c| c.row.is_none()) {
            None
        } else {
            Some(best.iter().filter_map(|c| c.row.map(|r| r.id)).collect())
        };
        let only_record = from_rows.is_none();
        let field = attribute.field().to_owned();
        if attribute.is_set() {
            if only_record {
                basis.push(Basis {
                    attribute,
                    level: top,
                    evidence: None,
                });
                continue;
            }
            let mut items: Vec<(Value, Written)> = Vec::new();
            for c in &best {
                for v in c.value.as_array().into_iter().flatten() {
                    if !items.iter().any(|(x, _)| x == v) {
                        items.push((v.clone(), c.provenance.clone()));
                    }
                }
            }
            subject.insert(field, record::write_list(&items));
        } else {
            let first = best.first().map(|c| &c.value);
            let agree = best.iter().all(|c| Some(&c.value) == first);
            if agree {
                if only_record {
                    basis.push(Basis {
                        attribute,
                        level: top,
                        evidence: None,
                    });
                    continue;
                }
                let newest = best
                    .iter()
                    .max_by_key(|c| c.provenance.verified_at)
                    .copied();
                if let Some(c) = newest {
                    subject.insert(field, record::write(attribute, &c.value, &c.provenance));
                }
            } else {
                let resolved = match attribute {
                    Attribute::UsPerson | Attribute::ProtectedIndividual => {
                        Some(Value::Bool(false))
                    }
                    _ => None,
                };
                match &resolved {
                    Some(v) => {
                        let p = Written {
                            level: top,
                            source: Some("contradiction".into()),
                            verified_at: best.iter().filter_map(|c| c.provenance.verified_at).max(),
                            expires: best.iter().filter_map(|c| c.provenance.expires).min(),
                        };
                        subject.insert(field, record::write(attribute, v, &p));
                    }
                    None => {
                        subject.remove(&field);
                    }
                }
                contradictions.push(Contradiction {
                    attribute,
                    level: top,
                    values: best
                        .iter()
                        .map(|c| (c.source.clone(), c.value.clone()))
                        .collect(),
                    resolved,
                });
            }
        }
        basis.push(Basis {
            attribute,
            level: top,
            evidence: from_rows,
        });
    }
    region_in_country(&mut subject, &mut contradictions);
    Derived {
        subject: Value::Object(subject),
        basis,
        contradictions,
    }
}

/// When the record's next value expires after `now`: the subject must be
/// derived again then, as evidence it outranked may count.
pub fn record_expiry(record: &Value, now: Timestamp) -> Option<Timestamp> {
    record::facts(record)
        .into_iter()
        .filter_map(|rf| rf.fact.expires_at)
        .filter(|e| *e > now)
        .min()
}

/// A region of residence from one source and a country from another may
/// not fit together (a declared `UA-43` under a verified `DE`): the region
/// is then unknown, reported as a contradiction, so the subject stays one a
/// directive can decide on.
fn region_in_country(subject: &mut Map<String, Value>, contradictions: &mut Vec<Contradiction>) {
    fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
        v.as_str().or_else(|| v.get(key).and_then(Value::as_str))
    }
    let (Some(region), Some(country)) = (
        subject
            .get("residence_region")
            .and_then(|v| text(v, "region")),
        subject
            .get("residence_country")
            .and_then(|v| text(v, "country")),
    ) else {
        return;
    };
    let fits = region
        .split_once('-')
        .is_some_and(|(c, _)| c.eq_ignore_ascii_case(country));
    if fits {
        return;
    }
    let values = vec![
        (
            "residence_region".to_owned(),
            Value::String(region.to_owned()),
        ),
        (
            "residence_country".to_owned(),
            Value::String(country.to_owned()),
        ),
    ];
    let level = subject
        .get("residence_region")
        .and_then(|v| v.get("verification"))
        .and_then(Value::as_str)
        .and_then(VerificationLevel::parse)
        .unwrap_or(VerificationLevel::None);
    subject.remove("residence_region");
    contradictions.push(Contradiction {
        attribute: Attribute::ResidenceRegion,
        level,
        values,
        resolved: None,
    });
}

#[cfg(test)]
mod tests;
