//! Arbitrary bytes as a KYC vendor's payload: the first byte picks the
//! vendor (`% 5`: Stripe Identity, Persona, Veriff, Onfido, Sumsub) and
//! whether the rest is a webhook body (high bit clear) or an object the
//! gateway refetched from the vendor's API (high bit set).
//!
//! Checks: no parser panics and every error renders; an event that is not
//! `Completed` carries no facts; every fact is one citizenship at
//! `document_verified`, an assigned alpha-2 code, with an assigned
//! document country if any; an event's refetch request, if one can be
//! made, is a `GET` below the base URL whose object id stays one path
//! segment.
#![no_main]

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::VerificationLevel;
use cordon_verification::{ApiCredentials, Attribute, EventKind, Refetch, Vendor};
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

const BASE: &str = "https://vendor.example";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let Some(&vendor) = Vendor::ALL.get(usize::from(selector & 0x7f) % Vendor::ALL.len()) else {
        return;
    };
    let jurisdictions = Jurisdictions::embedded().expect("embedded jurisdictions load");
    let read = if selector & 0x80 == 0 {
        vendor.parse_webhook(body, jurisdictions)
    } else {
        vendor.read_fetched("acct_1", body, jurisdictions)
    };
    let event = match read {
        Ok(event) => event,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if event.kind != EventKind::Completed {
        assert!(event.facts.is_empty(), "{event:?}");
    }
    let assigned = |code: &str| {
        cordon_jurisdiction::CountryCode::parse(code)
            .is_ok_and(|c| c.as_str() == code && jurisdictions.is_country(c))
    };
    for fact in &event.facts {
        assert_eq!(fact.attribute, Attribute::Citizenships);
        assert_eq!(fact.level, VerificationLevel::DocumentVerified);
        let codes = fact.value.as_array().expect("citizenships are a list");
        assert_eq!(codes.len(), 1);
        assert!(
            codes.iter().all(|c| c.as_str().is_some_and(assigned)),
            "{fact:?}"
        );
        if let Some(country) = &fact.document_country {
            assert!(assigned(country), "{fact:?}");
        }
    }
    let credentials = ApiCredentials {
        api_key: "key".into(),
        api_secret: Some("secret".into()),
    };
    match vendor.refetch(&event, BASE, &credentials, Timestamp::UNIX_EPOCH) {
        Ok(request) => {
            assert_eq!(request.method, "GET");
            let path = request.url.strip_prefix(BASE).expect("below the base URL");
            let id = event.object_id.as_deref().expect("an object was named");
            assert!(
                path.split(['/', '?']).any(|segment| segment == id),
                "{path} {id}"
            );
            assert!(!path.contains("/../"), "{path}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
