//! No input makes a parser panic: arbitrary JSON built from the keys the
//! parsers look for, and arbitrary bytes.

use proptest::prelude::*;

use super::*;

const KEYS: &[&str] = &[
    "type",
    "id",
    "data",
    "object",
    "metadata",
    "cordon_account",
    "client_reference_id",
    "last_verification_report",
    "document",
    "status",
    "issuing_country",
    "expiration_date",
    "day",
    "month",
    "year",
    "created",
    "redaction",
    "attributes",
    "name",
    "payload",
    "included",
    "reference-id",
    "country-code",
    "id-class",
    "nationality",
    "expiration-date",
    "completed-at",
    "created-at",
    "verification",
    "vendorData",
    "person",
    "validUntil",
    "country",
    "decisionTime",
    "action",
    "resource_type",
    "completed_at_iso8601",
    "result",
    "sub_result",
    "properties",
    "document_type",
    "date_of_expiry",
    "applicantId",
    "externalUserId",
    "reviewResult",
    "reviewAnswer",
    "reviewRejectType",
    "createdAtMs",
    "review",
    "info",
    "idDocs",
    "idDocType",
    "reviewDate",
];

const TEXTS: &[&str] = &[
    "identity.verification_session.verified",
    "identity.verification_session.canceled",
    "inquiry.approved",
    "inquiry.declined",
    "verification/government-id",
    "passed",
    "pp",
    "passport",
    "PASSPORT",
    "verified",
    "approved",
    "declined",
    "review",
    "document",
    "complete",
    "clear",
    "consider",
    "rejected",
    "report",
    "applicantReviewed",
    "GREEN",
    "RED",
    "RETRY",
    "US",
    "USA",
    "XXA",
    "ZZ",
    "2031-05-17",
    "2026-12-07T10:00:00Z",
    "acct_1",
    "",
    "redacted",
    "withdrawn",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0..TEXTS.len()).prop_map(|i| Value::from(TEXTS[i])),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((0..KEYS.len(), inner), 0..6).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (KEYS[k].to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn exercise(body: &[u8]) {
    let creds = ApiCredentials {
        api_key: "k".into(),
        api_secret: Some("s".into()),
    };
    for v in Vendor::ALL {
        if let Ok(e) = v.parse_webhook(body, j()) {
            let _ = v.refetch(&e, "https://h", &creds, Timestamp::UNIX_EPOCH);
        }
        if let Err(e) = v.read_fetched("acct_1", body, j()) {
            let _ = e.to_string();
        }
    }
}

proptest! {
    #[test]
    fn no_json_makes_a_parser_panic(v in json()) {
        exercise(v.to_string().as_bytes());
    }

    #[test]
    fn no_bytes_make_a_parser_panic(b in prop::collection::vec(any::<u8>(), 0..256)) {
        exercise(&b);
    }
}
