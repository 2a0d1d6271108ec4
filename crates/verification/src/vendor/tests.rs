use cordon_jurisdiction::Jurisdictions;
use cordon_subject::VerificationLevel;
use serde_json::{Value, json};

use super::*;
use crate::event::EventKind;

fn j() -> &'static Jurisdictions {
    Jurisdictions::embedded().unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Sets the value at a JSON pointer that exists.
fn set(mut v: Value, pointer: &str, value: Value) -> Value {
    *v.pointer_mut(pointer).unwrap() = value;
    v
}

fn remove(mut v: Value, parent: &str, key: &str) -> Value {
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key);
    v
}

/// The one citizenship fact of `e`: its value, method and document country.
fn citizenship(e: &Event) -> (Value, Option<&str>, Option<&str>) {
    assert_eq!(e.facts.len(), 1, "{e:?}");
    let f = &e.facts[0];
    assert_eq!(f.attribute, Attribute::Citizenships);
    assert_eq!(f.level, VerificationLevel::DocumentVerified);
    (
        f.value.clone(),
        f.method.as_deref(),
        f.document_country.as_deref(),
    )
}

fn err(r: Result<Event, PayloadError>) -> String {
    r.unwrap_err().to_string()
}

mod arbitrary;
mod onfido_reports;
mod persona_inquiries;
mod refetch;
mod stripe_identity;
mod sumsub_applicants;
mod veriff_decisions;

#[test]
fn document_types_read_as_methods() {
    let cases = [
        ("passport", "passport"),
        ("PASSPORT", "passport"),
        ("pp", "passport"),
        ("ID_CARD", "id_card"),
        ("national_identity_card", "id_card"),
        ("driving_license", "driving_licence"),
        ("DRIVERS_LICENSE", "driving_licence"),
        ("DRIVERS", "driving_licence"),
        ("dl", "driving_licence"),
        ("RESIDENCE_PERMIT", "residence_permit"),
        ("VISA", "visa"),
    ];
    for (vendor, method) in cases {
        assert_eq!(document_kind(vendor), method, "{vendor}");
    }
    assert_eq!(document_kind(&"x".repeat(100)).len(), 64);
}
