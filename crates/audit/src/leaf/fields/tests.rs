use crate::leaf::{
    self, AdminRecord, AttributeUsed, DecisionRecord, Mode, Obligations, Provenance, Record,
    ShadowRefusal, Source,
};

use super::*;

/// A small deterministic generator (SplitMix64), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A string that is plain unless `escapes`, and then may hold quotes,
    /// backslashes, control characters, brackets, commas and non-ASCII.
    fn text(&mut self, escapes: bool) -> String {
        const PLAIN: &[&str] = &[
            "a", "Z", "7", "-", "_", ":", ".", " ", ",", "[", "}", "é", "国",
        ];
        const ESCAPED: &[&str] = &["\"", "\\", "\n", "\u{1}", "\t", "\",\""];
        let len = self.below(12);
        (0..len)
            .map(|_| {
                if escapes && self.chance(20) {
                    ESCAPED[self.below(ESCAPED.len() as u64) as usize]
                } else {
                    PLAIN[self.below(PLAIN.len() as u64) as usize]
                }
            })
            .collect()
    }

    fn opt_text(&mut self, escapes: bool) -> Option<String> {
        self.chance(70).then(|| self.text(escapes))
    }

    fn texts(&mut self, escapes: bool) -> Vec<String> {
        (0..self.below(4)).map(|_| self.text(escapes)).collect()
    }
}

fn record(rng: &mut Rng, escapes: bool) -> DecisionRecord {
    let attributes = (0..rng.below(4))
        .map(|_| AttributeUsed {
            name: rng.text(escapes),
            value: rng.text(escapes),
            provenance: rng.chance(50).then(|| Provenance {
                source: rng.opt_text(escapes),
                verification: rng.text(escapes),
                verified_at: rng.opt_text(escapes),
            }),
        })
        .collect();
    DecisionRecord {
        id: rng.text(escapes),
        time: if rng.chance(80) {
            "2026-11-26T10:00:00.250Z".into()
        } else {
            rng.text(escapes)
        },
        account: rng.opt_text(escapes),
        model_requested: rng.text(escapes),
        model: rng.opt_text(escapes),
        endpoint: rng.text(escapes),
        effect: rng.text(escapes),
        mode: if rng.chance(50) {
            Mode::Enforced
        } else {
            Mode::Shadow
        },
        decided_by: rng.opt_text(escapes),
        consulted: rng.texts(escapes),
        obligations: Obligations {
            max_tokens: rng.chance(50).then(|| rng.next()),
            remove_features: rng.texts(escapes),
        },
        attributes,
        policy_version: rng.text(escapes),
        client_country: rng.opt_text(escapes),
        client_region: rng.opt_text(escapes),
        anonymizer: match rng.below(3) {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        },
        source: Source::Gateway,
        shadow: (0..rng.below(3))
            .map(|_| ShadowRefusal {
                directive: rng.text(escapes),
                effect: rng.text(escapes),
            })
            .collect(),
        features: rng.texts(escapes),
        end_user: rng.opt_text(escapes),
    }
}

fn encode(d: &DecisionRecord) -> Vec<u8> {
    leaf::encode(&Record::Decision(d.clone())).unwrap()
}

#[test]
fn the_walk_reads_random_leaves_as_serde_does() {
    let mut rng = Rng(7);
    let mut walked = 0;
    for k in 0..4000 {
        let escapes = k % 2 == 1;
        let d = record(&mut rng, escapes);
        let data = encode(&d);
        let by_serde = read_by_serde(&data);
        match walk(&data) {
            Some(f) => {
                walked += 1;
                assert_eq!(
                    FieldsRead::Decision(f),
                    by_serde,
                    "{}",
                    String::from_utf8_lossy(&data)
                );
            }
            None => assert!(
                escapes,
                "a plain leaf fell back: {}",
                String::from_utf8_lossy(&data)
            ),
        }
        assert_eq!(read_decision_fields(&data), by_serde);
        // What serde read is the record itself.
        let FieldsRead::Decision(f) = by_serde else {
            panic!("not a decision")
        };
        assert_eq!(f.account.as_deref(), d.account.as_deref());
        assert_eq!(&*f.model_requested, d.model_requested);
        assert_eq!(f.features.iter().collect::<Vec<_>>(), d.features);
        assert_eq!(f.end_user.as_deref(), d.end_user.as_deref());
    }
    assert!(walked >= 2000, "only {walked} leaves walked");
}

#[test]
fn the_walk_reads_the_fields_of_a_typical_leaf() {
    let d = DecisionRecord {
        id: "dec_1".into(),
        time: "2026-11-26T10:00:00.250Z".into(),
        account: Some("acct-1".into()),
        model_requested: "fable-5".into(),
        model: Some("fable-5".into()),
        endpoint: "chat".into(),
        effect: "deny".into(),
        mode: Mode::Enforced,
        decided_by: Some("x".into()),
        consulted: vec!["x".into(), "y".into()],
        obligations: Obligations::default(),
        attributes: vec![AttributeUsed {
            name: "citizenship".into(),
            value: "[\"DE\"]".into(),
            provenance: None,
        }],
        policy_version: "sha256:0".into(),
        client_country: Some("DE".into()),
        client_region: None,
        anonymizer: Some(true),
        source: Source::Gateway,
        shadow: Vec::new(),
        features: vec!["tools".into(), "web,search".into()],
        end_user: None,
    };
    let data = encode(&d);
    let f = walk(&data).expect("a canonical leaf with an escaped attribute value");
    assert_eq!(&*f.time, "2026-11-26T10:00:00.250Z");
    assert_eq!(f.account.as_deref(), Some("acct-1"));
    assert_eq!((&*f.endpoint, &*f.effect), ("chat", "deny"));
    assert_eq!(f.client_country.as_deref(), Some("DE"));
    assert_eq!(f.client_region, None);
    assert_eq!(f.anonymizer, Some(true));
    assert_eq!(
        f.features.iter().collect::<Vec<_>>(),
        ["tools", "web,search"]
    );
}

#[test]
fn other_forms_are_left_to_serde() {
    let admin = AdminRecord {
        id: "adm_1".into(),
        time: "2026-11-26T09:00:00Z".into(),
        actor: "system".into(),
        action: "directives.activated".into(),
        subject: None,
        details: Default::default(),
    };
    assert_eq!(
        read_decision_fields(&leaf::encode(&Record::Admin(admin)).unwrap()),
        FieldsRead::Admin
    );
    let reordered = br#"{"kind":"decision","v":1,"time":"t","model_requested":"m","endpoint":"e","effect":"allow"}"#;
    assert!(walk(reordered).is_none());
    assert!(
        matches!(read_decision_fields(reordered), FieldsRead::Decision(f) if &*f.model_requested == "m")
    );
    let base = encode(&record(&mut Rng(1), false));
    let mut trailing = base.clone();
    trailing.push(b' ');
    assert!(walk(&trailing).is_none());
    let cut = &base[..base.len() - 1];
    assert!(walk(cut).is_none());
    assert_eq!(read_decision_fields(cut), FieldsRead::Undecodable);
    assert_eq!(
        read_decision_fields(br#"{"v":2,"kind":"decision"}"#),
        FieldsRead::Undecodable
    );
    assert_eq!(read_decision_fields(b"not json"), FieldsRead::Undecodable);
}

#[test]
fn times_in_the_fixed_form_read_as_jiff_reads_them() {
    let mut rng = Rng(11);
    let mut fixed = 0;
    for _ in 0..20_000 {
        let year = if rng.chance(10) {
            rng.below(10_000)
        } else {
            1995 + rng.below(40)
        };
        let fraction = match rng.below(4) {
            0 => String::new(),
            1 => ".".to_string(),
            _ => format!(".{}", &rng.next().to_string()[..1 + rng.below(10) as usize]),
        };
        let text = format!(
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}{}",
            rng.below(14),
            rng.below(33),
            rng.below(25),
            rng.below(61),
            rng.below(62),
            if rng.chance(95) { "Z" } else { "+01:00" },
        );
        let by_jiff = text.parse::<Timestamp>().ok();
        if let Some(t) = fixed_time(text.as_bytes()) {
            fixed += 1;
            assert_eq!(Some(t), by_jiff, "{text}");
        }
        assert_eq!(parse_time(&text), by_jiff, "{text}");
    }
    assert!(fixed > 5_000, "only {fixed} read by hand");
    let t = |s: &str| fixed_time(s.as_bytes()).map(|t| t.to_string());
    assert_eq!(
        t("2026-11-26T10:00:00.250Z").as_deref(),
        Some("2026-11-26T10:00:00.25Z")
    );
    assert_eq!(
        t("2024-02-29T00:00:00Z").as_deref(),
        Some("2024-02-29T00:00:00Z")
    );
    assert_eq!(t("1969-12-31T23:59:59.999999999Z").map(|_| ()), Some(()));
    assert_eq!(t("2025-02-29T00:00:00Z"), None);
    assert_eq!(t("2026-11-26T10:00:60Z"), None, "a leap second is jiff's");
}
