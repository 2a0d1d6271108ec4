use super::*;

pub(crate) fn decision() -> DecisionRecord {
    DecisionRecord {
        id: "dec_0123456789abcdef01234567".into(),
        time: "2025-03-01T12:00:00Z".into(),
        account: Some("acct_42".into()),
        model_requested: "frontier-large".into(),
        model: Some("frontier-large-2025-01".into()),
        endpoint: "chat".into(),
        effect: "deny".into(),
        mode: Mode::Enforced,
        decided_by: Some("us-bis-ai-diffusion".into()),
        consulted: vec!["us-bis-ai-diffusion".into(), "us-ofac-sdn".into()],
        obligations: Obligations::default(),
        attributes: vec![AttributeUsed {
            name: "subject.citizenships".into(),
            value: "CN".into(),
            provenance: Some(Provenance {
                source: Some("kyc-vendor".into()),
                verification: "document_verified".into(),
                verified_at: Some("2024-11-02T09:30:00Z".into()),
            }),
        }],
        policy_version: "2025-02-28.1".into(),
        client_country: Some("SG".into()),
        client_region: None,
        anonymizer: Some(false),
        source: Source::Gateway,
        shadow: Vec::new(),
        features: Vec::new(),
        end_user: None,
    }
}

/// `decision()` as the format wrote it before `shadow` and `features`
/// existed: those leaves must keep decoding to the same bytes.
const DECISION_BEFORE_SHADOW: &str = concat!(
    r#"{"v":1,"kind":"decision","id":"dec_0123456789abcdef01234567","#,
    r#""time":"2025-03-01T12:00:00Z","account":"acct_42","#,
    r#""model_requested":"frontier-large","model":"frontier-large-2025-01","#,
    r#""endpoint":"chat","effect":"deny","mode":"enforced","#,
    r#""decided_by":"us-bis-ai-diffusion","#,
    r#""consulted":["us-bis-ai-diffusion","us-ofac-sdn"],"#,
    r#""obligations":{"max_tokens":null,"remove_features":[]},"#,
    r#""attributes":[{"name":"subject.citizenships","value":"CN","#,
    r#""provenance":{"source":"kyc-vendor","verification":"document_verified","#,
    r#""verified_at":"2024-11-02T09:30:00Z"}}],"#,
    r#""policy_version":"2025-02-28.1","client_country":"SG","#,
    r#""client_region":null,"anonymizer":false,"source":"gateway"}"#
);

fn with_shadow_and_features() -> DecisionRecord {
    let mut d = decision();
    d.effect = "allow".into();
    d.decided_by = None;
    d.shadow = vec![
        ShadowRefusal {
            directive: "us-bis-ai-diffusion".into(),
            effect: "deny".into(),
        },
        ShadowRefusal {
            directive: "us-ofac-sdn".into(),
            effect: "verification_required".into(),
        },
    ];
    d.features = vec!["tools".into(), "web_search".into()];
    d
}

/// A decision about a registered end user behind an organisation's key.
fn for_an_end_user() -> DecisionRecord {
    let mut d = with_shadow_and_features();
    d.end_user = Some("northwind.u-7".into());
    d
}

#[test]
fn an_end_user_is_a_trailing_field_and_round_trips() {
    let d = for_an_end_user();
    let bytes = encode(&Record::Decision(d.clone())).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(
        text.ends_with(r#","features":["tools","web_search"],"end_user":"northwind.u-7"}"#),
        "{text}"
    );
    assert_eq!(decode(&bytes).unwrap(), Record::Decision(d));
    // Without it the leaf keeps the bytes it had before the field existed.
    let plain = encode(&Record::Decision(with_shadow_and_features())).unwrap();
    assert!(!std::str::from_utf8(&plain).unwrap().contains("end_user"));
}

fn admin() -> AdminRecord {
    AdminRecord {
        id: "adm_1".into(),
        time: "2025-03-01T12:00:00Z".into(),
        actor: Pseudonym::new(b"salt", "ops@example.com").into_string(),
        action: "account.attribute_set".into(),
        subject: Some("acct_42".into()),
        details: [
            ("attribute".to_owned(), "residence_country".to_owned()),
            ("value".to_owned(), "DE".to_owned()),
        ]
        .into_iter()
        .collect(),
    }
}

#[test]
fn version_and_kind_come_first() {
    let bytes = encode(&Record::Decision(decision())).unwrap();
    assert!(
        bytes.starts_with(br#"{"v":1,"kind":"decision","id":"dec_"#),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let bytes = encode(&Record::Admin(admin())).unwrap();
    assert!(bytes.starts_with(br#"{"v":1,"kind":"admin","id":"adm_1","#));
}

#[test]
fn records_round_trip() {
    for record in [Record::Decision(decision()), Record::Admin(admin())] {
        let bytes = encode(&record).unwrap();
        assert_eq!(decode(&bytes).unwrap(), record);
    }
}

#[test]
fn leaves_from_before_shadow_and_features_keep_their_bytes() {
    let record = decode(DECISION_BEFORE_SHADOW.as_bytes()).unwrap();
    assert_eq!(record, Record::Decision(decision()));
    assert_eq!(encode(&record).unwrap(), DECISION_BEFORE_SHADOW.as_bytes());
}

#[test]
fn shadow_refusals_and_features_trail_the_leaf_and_round_trip() {
    let record = Record::Decision(with_shadow_and_features());
    let bytes = encode(&record).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.ends_with(concat!(
            r#""source":"gateway","shadow":[{"directive":"us-bis-ai-diffusion","effect":"deny"},"#,
            r#"{"directive":"us-ofac-sdn","effect":"verification_required"}],"#,
            r#""features":["tools","web_search"]}"#
        )),
        "{text}"
    );
    assert_eq!(decode(&bytes).unwrap(), record);
    assert_eq!(bytes, serde_bytes(&record));

    // Either list alone.
    let mut only_features = with_shadow_and_features();
    only_features.shadow.clear();
    let record = Record::Decision(only_features);
    let bytes = encode(&record).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("\"shadow\""));
    assert_eq!(decode(&bytes).unwrap(), record);
}

#[test]
fn empty_or_reordered_shadow_and_features_are_not_canonical() {
    let canonical =
        String::from_utf8(encode(&Record::Decision(with_shadow_and_features())).unwrap()).unwrap();
    let old = DECISION_BEFORE_SHADOW;
    let variants = [
        // Empty lists are omitted, never written.
        old.replacen(
            r#""source":"gateway"}"#,
            r#""source":"gateway","shadow":[]}"#,
            1,
        ),
        old.replacen(
            r#""source":"gateway"}"#,
            r#""source":"gateway","features":[]}"#,
            1,
        ),
        // The trailing fields come in their fixed order, after `source`.
        canonical
            .replacen(r#""source":"gateway","shadow":"#, r#""shadow":"#, 1)
            .replacen(r#""features":"#, r#""source":"gateway","features":"#, 1),
        canonical.replacen(
            r#"{"directive":"us-bis-ai-diffusion","effect":"deny"}"#,
            r#"{"effect":"deny","directive":"us-bis-ai-diffusion"}"#,
            1,
        ),
    ];
    for text in variants {
        let err = decode(text.as_bytes()).unwrap_err();
        assert!(
            matches!(err, LeafError::NotCanonical { .. }),
            "{text} gave {err:?}"
        );
    }
    // Unknown fields inside a shadow entry are refused outright.
    let extra = canonical.replacen(r#""effect":"deny"}"#, r#""effect":"deny","rule":"r"}"#, 1);
    assert!(matches!(
        decode(extra.as_bytes()),
        Err(LeafError::Malformed(_))
    ));
}

#[test]
fn absent_values_are_written_as_null() {
    let mut d = decision();
    d.account = None;
    d.anonymizer = None;
    let text = String::from_utf8(encode(&Record::Decision(d)).unwrap()).unwrap();
    assert!(text.contains(r#""account":null"#), "{text}");
    assert!(text.contains(r#""anonymizer":null"#), "{text}");
}

#[test]
fn non_canonical_spellings_are_refused() {
    let canonical = String::from_utf8(encode(&Record::Admin(admin())).unwrap()).unwrap();
    let variants = [
        canonical.replacen(r#""v":1,"#, r#""v": 1,"#, 1),
        format!("{canonical}\n"),
        format!(" {canonical}"),
        canonical.replacen(r#"{"v":1,"kind":"admin","#, r#"{"kind":"admin","v":1,"#, 1),
        canonical.replacen(r#""id":"adm_1""#, r#""id":"adm\u005f1""#, 1),
        canonical.replacen(r#""id":"adm_1""#, r#""id":"adm_0","id":"adm_1""#, 1),
        canonical.replacen(
            r#""subject":"acct_42""#,
            r#""extra":1,"subject":"acct_42""#,
            1,
        ),
        canonical.replacen(
            r#""attribute":"residence_country","value":"DE""#,
            r#""value":"DE","attribute":"residence_country""#,
            1,
        ),
    ];
    for text in variants {
        let err = decode(text.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                LeafError::NotCanonical { .. } | LeafError::Malformed(_)
            ),
            "{text} gave {err:?}"
        );
    }
    // Missing optional field: serde would default it, the canonical check refuses.
    let missing = canonical.replacen(r#","subject":"acct_42""#, "", 1);
    assert!(matches!(
        decode(missing.as_bytes()),
        Err(LeafError::NotCanonical { .. })
    ));
}

#[test]
fn unknown_versions_and_kinds_are_named() {
    assert_eq!(
        decode(br#"{"v":2,"kind":"decision"}"#),
        Err(LeafError::UnsupportedVersion("2".into()))
    );
    assert_eq!(
        decode(br#"{"v":"1","kind":"admin"}"#),
        Err(LeafError::UnsupportedVersion("\"1\"".into()))
    );
    assert_eq!(
        decode(br#"{"v":1,"kind":"login"}"#),
        Err(LeafError::UnknownKind("login".into()))
    );
    assert_eq!(
        decode(br#"{"v":1,"kind":7}"#),
        Err(LeafError::UnknownKind("7".into()))
    );
    assert!(matches!(
        decode(br#"{"kind":"admin"}"#),
        Err(LeafError::Malformed(_))
    ));
    assert!(matches!(decode(b"[1]"), Err(LeafError::Malformed(_))));
    assert!(matches!(decode(b"\xff"), Err(LeafError::Malformed(_))));
    let bad_mode = String::from_utf8(encode(&Record::Decision(decision())).unwrap())
        .unwrap()
        .replace(r#""mode":"enforced""#, r#""mode":"advisory""#);
    assert!(
        matches!(decode(bad_mode.as_bytes()), Err(LeafError::Malformed(m)) if m.contains("advisory"))
    );
}

#[test]
fn size_limit_applies_both_ways() {
    let mut a = admin();
    a.details.insert("blob".into(), "x".repeat(MAX_LEAF_BYTES));
    assert!(matches!(
        encode(&Record::Admin(a)),
        Err(LeafError::TooLarge { .. })
    ));
    let huge = vec![b' '; MAX_LEAF_BYTES + 1];
    assert_eq!(
        decode(&huge),
        Err(LeafError::TooLarge {
            len: MAX_LEAF_BYTES + 1
        })
    );
    // Just under the limit is fine.
    let mut a = admin();
    let base = encode(&Record::Admin(a.clone())).unwrap().len();
    let filler = MAX_LEAF_BYTES - base - r#","blob":"""#.len();
    a.details.insert("blob".into(), "x".repeat(filler));
    let bytes = encode(&Record::Admin(a.clone())).unwrap();
    assert_eq!(bytes.len(), MAX_LEAF_BYTES);
    assert_eq!(decode(&bytes).unwrap(), Record::Admin(a));
}

#[test]
fn strings_with_escapes_and_unicode_round_trip() {
    let mut a = admin();
    a.details.insert(
        "note".into(),
        "quote \" backslash \\ newline \n tab \t nul \u{0} unit \u{1f} é 漢 \u{7f}".into(),
    );
    let bytes = encode(&Record::Admin(a.clone())).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    // Minimal escapes: short forms, other control characters as lower-case
    // `\u00xx`, DEL and non-ASCII written as is.
    for expected in [
        r#"\""#, r"\\", r"\n", r"\t", r"\u0000", r"\u001f", "\u{7f}", "é 漢",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
    assert_eq!(decode(&bytes).unwrap(), Record::Admin(a));
}

#[test]
fn pseudonyms_are_salted_sha256() {
    let p = Pseudonym::new(b"salt", "alice@example.com");
    assert_eq!(p.as_str().len(), 67);
    assert!(p.as_str().starts_with("h1:"));
    assert_ne!(p, Pseudonym::new(b"other salt", "alice@example.com"));
    assert_ne!(p, Pseudonym::new(b"salt", "bob@example.com"));
    // The 0x00 separator keeps salt and value apart.
    assert_ne!(Pseudonym::new(b"ab", "c"), Pseudonym::new(b"a", "bc"));
    assert!(Pseudonym::matches(p.as_str(), b"salt", "alice@example.com"));
    assert!(!Pseudonym::matches(
        p.as_str(),
        b"salt",
        "alice@example.org"
    ));
    // SHA-256("s" || 0x00 || "v"), computed independently.
    let mut h = Sha256::new();
    h.update(b"s\x00v");
    let expected: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        Pseudonym::new(b"s", "v").to_string(),
        format!("h1:{expected}")
    );
}

/// What `serde_json` writes for a record: the reference the direct encoder
/// must match byte for byte.
fn serde_bytes(record: &Record) -> Vec<u8> {
    #[derive(Serialize)]
    struct Wire<'a, T> {
        v: u64,
        kind: &'static str,
        #[serde(flatten)]
        record: &'a T,
    }
    let kind = record.kind();
    match record {
        Record::Decision(d) => serde_json::to_vec(&Wire {
            v: VERSION,
            kind,
            record: d,
        }),
        Record::Admin(a) => serde_json::to_vec(&Wire {
            v: VERSION,
            kind,
            record: a,
        }),
    }
    .unwrap()
}

#[test]
fn fixtures_encode_as_serde_json_writes_them() {
    for record in [
        Record::Decision(decision()),
        Record::Decision(with_shadow_and_features()),
        Record::Admin(admin()),
    ] {
        assert_eq!(encode(&record).unwrap(), serde_bytes(&record));
    }
}

mod props {
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            // Every control character, escapes and multi-byte text, densely.
            proptest::collection::vec(
                prop_oneof![
                    (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('\0')),
                    Just('"'),
                    Just('\\'),
                    Just('/'),
                    Just('\u{7f}'),
                    Just('é'),
                    Just('\u{2028}'),
                    Just('😀'),
                    any::<char>(),
                ],
                0..12,
            )
            .prop_map(|cs| cs.into_iter().collect()),
        ]
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }

    fn attribute() -> impl Strategy<Value = AttributeUsed> {
        (
            text(),
            text(),
            proptest::option::of((opt_text(), text(), opt_text())),
        )
            .prop_map(|(name, value, p)| AttributeUsed {
                name,
                value,
                provenance: p.map(|(source, verification, verified_at)| Provenance {
                    source,
                    verification,
                    verified_at,
                }),
            })
    }

    prop_compose! {
        fn decision_record()(
            strings in proptest::collection::vec(text(), 6),
            options in proptest::collection::vec(opt_text(), 5),
            consulted in proptest::collection::vec(text(), 0..4),
            max_tokens in proptest::option::of(any::<u64>()),
            remove_features in proptest::collection::vec(text(), 0..3),
            attributes in proptest::collection::vec(attribute(), 0..4),
            shadow in any::<bool>(),
            anonymizer in proptest::option::of(any::<bool>()),
            source in 0u8..3,
            shadow_refusals in proptest::collection::vec((text(), text()), 0..3),
            features in proptest::collection::vec(text(), 0..3),
            end_user in proptest::option::of(text()),
        ) -> DecisionRecord {
            let s = |i: usize| strings[i].clone();
            let o = |i: usize| options[i].clone();
            DecisionRecord {
                id: s(0),
                time: s(1),
                account: o(0),
                model_requested: s(2),
                model: o(1),
                endpoint: s(3),
                effect: s(4),
                mode: if shadow { Mode::Shadow } else { Mode::Enforced },
                decided_by: o(2),
                consulted,
                obligations: Obligations { max_tokens, remove_features },
                attributes,
                policy_version: s(5),
                client_country: o(3),
                client_region: o(4),
                anonymizer,
                source: match source {
                    0 => Source::Gateway,
                    1 => Source::DecisionApi,
                    _ => Source::Cli,
                },
                shadow: shadow_refusals
                    .into_iter()
                    .map(|(directive, effect)| ShadowRefusal { directive, effect })
                    .collect(),
                features,
                end_user,
            }
        }
    }

    prop_compose! {
        fn admin_record()(
            strings in proptest::collection::vec(text(), 4),
            subject in opt_text(),
            details in proptest::collection::btree_map(text(), text(), 0..5),
        ) -> AdminRecord {
            AdminRecord {
                id: strings[0].clone(),
                time: strings[1].clone(),
                actor: strings[2].clone(),
                action: strings[3].clone(),
                subject,
                details,
            }
        }
    }

    proptest! {
        #[test]
        fn decision_leaves_are_what_serde_json_writes(d in decision_record()) {
            let record = Record::Decision(d);
            let bytes = encode(&record).unwrap();
            prop_assert_eq!(&bytes, &serde_bytes(&record));
            prop_assert_eq!(decode(&bytes).unwrap(), record);
        }

        #[test]
        fn admin_leaves_are_what_serde_json_writes(a in admin_record()) {
            let record = Record::Admin(a);
            let bytes = encode(&record).unwrap();
            prop_assert_eq!(&bytes, &serde_bytes(&record));
            prop_assert_eq!(decode(&bytes).unwrap(), record);
        }
    }
}
