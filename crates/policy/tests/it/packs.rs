//! The shipped directive packs, one test per case they must catch and per case they must not.

use cordon_policy::{Effect, Feature};

use super::support::*;

mod comprehensive_sanctions {
    use super::*;

    /// Who decided, by directive id.
    fn decided_by(p: &cordon_policy::Policy, d: &cordon_policy::Decision) -> String {
        p.directives()[usize::from(d.decided_by.unwrap())]
            .id
            .clone()
    }

    fn organisation(fields: &str) -> String {
        format!(
            r#"{{"kind": "organization", "verification": "document_verified", "organization": {{"name": "Acme Trading", {fields}}}}}"#
        )
    }

    #[test]
    fn a_request_from_iran_cuba_or_north_korea_is_denied_on_every_model() {
        let p = shipped();
        for (country, programme) in [
            ("IR", "ofac-iran"),
            ("CU", "ofac-cuba"),
            ("KP", "ofac-north-korea"),
        ] {
            for model in ["lyric-4", "fable-5", "echo-embed-2"] {
                let d = ask(&p, model).from(country).decide(&subject(US_CITIZEN));
                assert_eq!(d.effect, Effect::Deny, "{country} {model}");
                assert_eq!(decided_by(&p, &d), programme);
            }
        }
    }

    #[test]
    fn each_programme_is_its_own_directive_with_its_own_effective_date() {
        let p = shipped();
        for (id, effective) in [
            ("ofac-cuba", "1963-07-08T00:00:00Z"),
            ("ofac-iran", "1995-05-06T00:00:00Z"),
            ("ofac-north-korea", "2016-03-15T00:00:00Z"),
            ("ofac-crimea", "2014-12-19T00:00:00Z"),
            ("ofac-eo14065-regions", "2022-02-21T00:00:00Z"),
            ("ofac-venezuela-government", "2019-08-05T00:00:00Z"),
        ] {
            assert_eq!(p.directive(id).unwrap().effective, t(effective), "{id}");
        }
        assert!(p.directive("ofac-comprehensive-sanctions").is_none());
    }

    #[test]
    fn crimea_is_caught_from_e_o_13685_and_the_covered_regions_from_e_o_14065() {
        let p = shipped();
        let who = subject(US_CITIZEN);
        let at = |region: &str, when: &str| ask(&p, "lyric-4").region(region).at(when).decide(&who);
        assert_eq!(at("UA-43", "2014-12-18T23:59:59Z").effect, Effect::Allow);
        assert_eq!(at("UA-43", "2014-12-19T00:00:00Z").effect, Effect::Deny);
        assert_eq!(at("UA-14", "2022-02-20T23:59:59Z").effect, Effect::Allow);
        let d = at("UA-14", "2022-02-21T00:00:00Z");
        assert_eq!(d.effect, Effect::Deny);
        assert_eq!(decided_by(&p, &d), "ofac-eo14065-regions");
    }

    #[test]
    fn a_us_citizen_connecting_from_tehran_is_denied() {
        let p = shipped();
        assert_eq!(
            ask(&p, "lyric-4")
                .from("IR")
                .decide(&subject(US_CITIZEN))
                .effect,
            Effect::Deny
        );
    }

    #[test]
    fn iran_turns_on_ordinary_residence_not_nationality() {
        // 31 CFR part 560: persons ordinarily resident in Iran, not Iranian
        // nationals. A verified Iranian citizen living and connecting elsewhere
        // is not caught, and an unknown residence is not a reason to verify
        // (contrast Cuba, below).
        let p = shipped();
        let abroad = subject(
            r#"{"verification": "document_verified", "citizenships": ["IR"], "permanent_residencies": [], "residence_country": "DE"}"#,
        );
        assert_eq!(
            ask(&p, "lyric-4").from("DE").decide(&abroad).effect,
            Effect::Allow
        );
        let unknown_residence =
            subject(r#"{"verification": "document_verified", "citizenships": ["IR"]}"#);
        assert_eq!(
            ask(&p, "lyric-4")
                .from("DE")
                .decide(&unknown_residence)
                .effect,
            Effect::Allow
        );
        let resident = subject(r#"{"citizenships": ["DE"], "residence_country": "IR"}"#);
        let d = ask(&p, "lyric-4").from("DE").decide(&resident);
        assert_eq!(d.effect, Effect::Deny);
        assert_eq!(decided_by(&p, &d), "ofac-iran");
    }

    #[test]
    fn an_iranian_citizen_living_in_germany_and_connecting_from_germany_is_not_caught() {
        let p = shipped();
        let who = subject(r#"{"citizenships": ["IR"], "residence_country": "DE"}"#);
        assert_eq!(
            ask(&p, "lyric-4").from("DE").decide(&who).effect,
            Effect::Allow
        );
    }

    #[test]
    fn a_customer_resident_in_iran_is_denied_wherever_they_connect_from() {
        let p = shipped();
        let who = subject(
            r#"{"verification": "self_declared", "citizenships": ["DE"], "residence_country": "IR"}"#,
        );
        assert_eq!(
            ask(&p, "lyric-4").from("DE").decide(&who).effect,
            Effect::Deny
        );
    }

    #[test]
    fn cuba_blocks_a_cuban_national_on_a_temporary_stay_abroad() {
        // 31 CFR part 515 blocks Cuban nationals; living in Germany without a
        // German citizenship or permanent residency is not permanent residence
        // outside Cuba (§ 515.505).
        let p = shipped();
        let who = subject(
            r#"{"verification": "document_verified", "citizenships": ["CU"], "permanent_residencies": [], "residence_country": "DE"}"#,
        );
        let d = ask(&p, "lyric-4").from("DE").decide(&who);
        assert_eq!(d.effect, Effect::Deny);
        assert_eq!(decided_by(&p, &d), "ofac-cuba");
    }

    #[test]
    fn cuba_a_verified_cuban_citizen_with_unknown_residence_must_verify_it() {
        let p = shipped();
        let who = subject(r#"{"verification": "document_verified", "citizenships": ["CU"]}"#);
        let e = ask(&p, "lyric-4").from("ES").explain(&who);
        assert_eq!(e.effect, Effect::VerificationRequired);
        assert_eq!(e.decided_by.as_deref(), Some("ofac-cuba"));
        assert!(
            e.verify
                .iter()
                .any(|v| v.attribute == "subject.residence_country"),
            "{:?}",
            e.verify
        );
    }

    #[test]
    fn cuba_a_cuban_citizen_permanently_resident_outside_cuba_is_unblocked() {
        // § 515.505: unblocked by permanent residence outside Cuba, shown by a
        // permanent residency (or a citizenship) of the country of residence.
        let p = shipped();
        for who in [
            r#"{"verification": "document_verified", "citizenships": ["CU"], "permanent_residencies": ["ES"], "residence_country": "ES"}"#,
            r#"{"verification": "document_verified", "citizenships": ["CU", "ES"], "permanent_residencies": [], "residence_country": "ES"}"#,
            r#"{"verification": "document_verified", "citizenships": ["CU"], "permanent_residencies": ["US"], "residence_country": "US"}"#,
        ] {
            assert_eq!(
                ask(&p, "lyric-4").from("ES").decide(&subject(who)).effect,
                Effect::Allow,
                "{who}"
            );
        }
    }

    #[test]
    fn cuba_a_customer_whose_nationality_is_not_recorded_is_not_caught_as_a_cuban_national() {
        let p = shipped();
        let e = ask(&p, "lyric-4")
            .from("FR")
            .explain(&subject(NOTHING_KNOWN));
        assert_eq!(e.effect, Effect::Allow);
    }

    #[test]
    fn an_organisation_incorporated_or_headquartered_in_an_embargoed_country_is_denied_wherever_it_connects_from()
     {
        let p = shipped();
        for (fields, programme) in [
            (r#""country": "IR""#, "ofac-iran"),
            (r#""country": "GB", "headquarters": "CU""#, "ofac-cuba"),
            (
                r#""country": "AE", "headquarters": "KP""#,
                "ofac-north-korea",
            ),
        ] {
            let d = ask(&p, "lyric-4")
                .from("US")
                .decide(&subject(&organisation(fields)));
            assert_eq!(d.effect, Effect::Deny, "{fields}");
            assert_eq!(decided_by(&p, &d), programme, "{fields}");
        }
    }

    #[test]
    fn an_organisation_registered_or_headquartered_in_crimea_or_the_covered_regions_is_denied() {
        let p = shipped();
        for (fields, programme) in [
            (r#""country": "RU", "region": "UA-43""#, "ofac-crimea"),
            (
                r#""country": "DE", "headquarters": "UA", "headquarters_region": "UA-40""#,
                "ofac-crimea",
            ),
            (
                r#""country": "UA", "region": "UA-14""#,
                "ofac-eo14065-regions",
            ),
        ] {
            let d = ask(&p, "lyric-4")
                .from("DE")
                .decide(&subject(&organisation(fields)));
            assert_eq!(d.effect, Effect::Deny, "{fields}");
            assert_eq!(decided_by(&p, &d), programme, "{fields}");
        }
    }

    #[test]
    fn an_organisation_known_to_be_elsewhere_and_not_government_owned_is_not_caught() {
        let p = shipped();
        let e = ask(&p, "lyric-4")
            .from("DE")
            .explain(&subject(&organisation(
                r#""country": "DE", "headquarters": "DE", "governments": []"#,
            )));
        assert_eq!(e.effect, Effect::Allow);
        // Only its (unrecorded) residence is open; its places and owners are known.
        assert!(
            e.warnings
                .iter()
                .all(|w| !w.contains("rule `organization`") && !w.contains("rule `government`")),
            "{:?}",
            e.warnings
        );
    }

    #[test]
    fn an_organisation_whose_places_and_owners_are_unknown_is_allowed_with_a_warning() {
        let p = shipped();
        let e = ask(&p, "lyric-4")
            .from("DE")
            .explain(&subject(&organisation(r#""verification": "none""#)));
        assert_eq!(e.effect, Effect::Allow);
        for rule in [
            "`ofac-iran` rule `organization`",
            "`ofac-iran` rule `government`",
        ] {
            assert!(
                e.warnings.iter().any(|w| w.contains(rule)),
                "{rule}: {:?}",
                e.warnings
            );
        }
    }

    #[test]
    fn a_blocked_government_is_denied_without_being_listed() {
        // OFAC FAQ 398: the governments of Iran, Cuba, North Korea and
        // Venezuela are blocked without being named on the SDN list; an
        // organisation they are, own or control is caught wherever it is.
        let p = shipped();
        for (government, programme) in [
            ("IR", "ofac-iran"),
            ("CU", "ofac-cuba"),
            ("KP", "ofac-north-korea"),
            ("VE", "ofac-venezuela-government"),
        ] {
            let who = subject(&organisation(&format!(
                r#""country": "CH", "headquarters": "CH", "governments": ["{government}"]"#
            )));
            let d = ask(&p, "lyric-4").from("CH").decide(&who);
            assert_eq!(d.effect, Effect::Deny, "{government}");
            assert_eq!(decided_by(&p, &d), programme, "{government}");
        }
    }

    #[test]
    fn venezuela_is_not_embargoed_only_its_government_is_blocked() {
        let p = shipped();
        let who = subject(
            r#"{"verification": "document_verified", "citizenships": ["VE"], "residence_country": "VE"}"#,
        );
        assert_eq!(
            ask(&p, "lyric-4").from("VE").decide(&who).effect,
            Effect::Allow
        );
        let state_of_another_country = subject(&organisation(
            r#""country": "FR", "headquarters": "FR", "governments": ["FR"]"#,
        ));
        assert_eq!(
            ask(&p, "lyric-4")
                .from("FR")
                .decide(&state_of_another_country)
                .effect,
            Effect::Allow
        );
    }

    #[test]
    fn a_customer_resident_in_crimea_is_denied() {
        let p = shipped();
        let who = subject(r#"{"residence_country": "UA", "residence_region": "UA-43"}"#);
        assert_eq!(
            ask(&p, "lyric-4").from("DE").decide(&who).effect,
            Effect::Deny
        );
    }

    #[test]
    fn a_billing_address_in_crimea_is_denied_where_geolocation_has_no_region() {
        // The second signal for a country-only GeoIP database.
        let p = shipped();
        let who = subject(
            r#"{"citizenships": ["UA"], "billing_country": "UA", "billing_region": "UA-43"}"#,
        );
        let d = ask(&p, "lyric-4").from("UA").decide(&who);
        assert_eq!(d.effect, Effect::Deny);
        assert_eq!(decided_by(&p, &d), "ofac-crimea");
        let donetsk = subject(r#"{"billing_country": "UA", "billing_region": "UA-14"}"#);
        let d = ask(&p, "lyric-4").from("UA").decide(&donetsk);
        assert_eq!(decided_by(&p, &d), "ofac-eo14065-regions");
    }

    #[test]
    fn a_billing_address_in_an_embargoed_country_is_denied() {
        let p = shipped();
        let who = subject(r#"{"billing_country": "IR"}"#);
        let d = ask(&p, "lyric-4").from("DE").decide(&who);
        assert_eq!(d.effect, Effect::Deny);
        assert_eq!(decided_by(&p, &d), "ofac-iran");
    }

    #[test]
    fn no_billing_address_on_record_is_not_a_gap() {
        let p = shipped();
        let e = ask(&p, "lyric-4").from("US").explain(&subject(US_CITIZEN));
        assert_eq!(e.effect, Effect::Allow);
        assert!(
            e.warnings.iter().all(|w| !w.contains("`billing`")),
            "{:?}",
            e.warnings
        );
    }

    #[test]
    fn requests_from_crimea_sevastopol_and_the_covered_oblasts_are_denied() {
        let p = shipped();
        for region in ["UA-43", "UA-40", "UA-14", "UA-09"] {
            assert_eq!(
                ask(&p, "lyric-4")
                    .region(region)
                    .decide(&subject(US_CITIZEN))
                    .effect,
                Effect::Deny,
                "{region}"
            );
        }
    }

    #[test]
    fn the_whole_covered_oblasts_are_blocked_as_a_stated_policy_choice() {
        // OFAC FAQ 1009 allows postal codes and maps: blocking the whole
        // oblasts is Cordon's choice, and the directive says so.
        let p = shipped();
        let d = p.directive("ofac-eo14065-regions").unwrap();
        assert!(d.title.contains("policy choice"), "{}", d.title);
        assert!(d.citation.contains("FAQ 1009"), "{}", d.citation);
    }

    #[test]
    fn requests_from_the_rest_of_ukraine_are_not_caught() {
        let p = shipped();
        for region in ["UA-30", "UA-46", "UA-23", "UA-65"] {
            assert_eq!(
                ask(&p, "lyric-4")
                    .region(region)
                    .decide(&subject(US_CITIZEN))
                    .effect,
                Effect::Allow,
                "{region}"
            );
        }
    }

    #[test]
    fn a_ukrainian_address_without_region_data_is_allowed_with_a_warning() {
        let p = shipped();
        let e = ask(&p, "lyric-4").from("UA").explain(&subject(US_CITIZEN));
        assert_eq!(e.effect, Effect::Allow);
        for id in ["ofac-crimea", "ofac-eo14065-regions"] {
            assert!(
                e.warnings
                    .iter()
                    .any(|w| w.contains(id) && w.contains("unknown")),
                "{id}: {:?}",
                e.warnings
            );
        }
    }

    #[test]
    fn a_request_whose_location_is_unknown_is_denied_by_the_fail_closed_directive() {
        let p = shipped();
        let e = ask(&p, "lyric-4").nowhere().explain(&subject(US_CITIZEN));
        assert_eq!(e.effect, Effect::Deny);
        assert_eq!(e.decided_by.as_deref(), Some("ofac-location-undetermined"));
        assert!(e.message.unwrap().contains("could not determine"));
    }

    #[test]
    fn unknown_residence_from_a_known_location_outside_is_not_caught() {
        let p = shipped();
        assert_eq!(
            ask(&p, "lyric-4")
                .from("FR")
                .decide(&subject(NOTHING_KNOWN))
                .effect,
            Effect::Allow
        );
    }

    #[test]
    fn syria_is_not_caught_since_its_sanctions_were_revoked() {
        let p = shipped();
        assert_eq!(
            ask(&p, "lyric-4")
                .from("SY")
                .decide(&subject(US_CITIZEN))
                .effect,
            Effect::Allow
        );
    }

    #[test]
    fn russia_as_a_country_is_not_caught() {
        // The free GeoIP database codes most Crimean addresses as RU; the pack does
        // not turn that into a ban on Russia.
        let p = shipped();
        assert_eq!(
            ask(&p, "lyric-4")
                .from("RU")
                .decide(&subject(US_CITIZEN))
                .effect,
            Effect::Allow
        );
    }
}

mod russia_belarus_shadow {
    use super::*;

    fn shadow_ids(e: &cordon_policy::Explanation) -> Vec<&str> {
        e.shadow
            .iter()
            .filter(|r| r.effect == Effect::Deny)
            .map(|r| r.id.as_str())
            .collect()
    }

    #[test]
    fn e_o_14071_it_services_to_persons_located_in_russia_is_measured_in_shadow_only() {
        let p = shipped();
        let d = p.directive("russia-it-services-2024").unwrap();
        assert_eq!(d.mode, cordon_policy::Mode::Shadow);
        let e = ask(&p, "lyric-4").from("RU").explain(&subject(US_CITIZEN));
        assert_eq!(e.effect, Effect::Allow, "shadow never decides");
        assert!(shadow_ids(&e).contains(&"russia-it-services-2024"));
    }

    #[test]
    fn e_o_14071_determination_is_consulted_from_2024_09_12() {
        let p = shipped();
        let who = subject(US_CITIZEN);
        let before = ask(&p, "lyric-4")
            .from("RU")
            .at("2024-09-11T23:59:59Z")
            .explain(&who);
        // A shadow directive is tried before it takes effect, as if in force.
        let phase = |e: &cordon_policy::Explanation| {
            e.shadow
                .iter()
                .find(|r| r.id == "russia-it-services-2024")
                .map(|r| r.phase)
        };
        assert_eq!(phase(&before), Some(cordon_policy::Phase::Upcoming));
        let after = ask(&p, "lyric-4")
            .from("RU")
            .at("2024-09-12T00:00:00Z")
            .explain(&who);
        assert_eq!(phase(&after), Some(cordon_policy::Phase::InForce));
    }

    #[test]
    fn e_o_14071_reaches_an_organisation_located_in_russia_not_a_russian_citizen_abroad() {
        let p = shipped();
        let citizen_abroad = subject(
            r#"{"verification": "document_verified", "citizenships": ["RU"], "residence_country": "DE"}"#,
        );
        let e = ask(&p, "lyric-4").from("DE").explain(&citizen_abroad);
        assert!(!shadow_ids(&e).contains(&"russia-it-services-2024"));
        let org = subject(
            r#"{"kind": "organization", "organization": {"name": "Acme", "country": "RU"}}"#,
        );
        let e = ask(&p, "lyric-4").from("DE").explain(&org);
        assert!(shadow_ids(&e).contains(&"russia-it-services-2024"));
    }

    #[test]
    fn ear_746_8_russia_and_belarus_is_measured_in_shadow_only() {
        let p = shipped();
        for country in ["RU", "BY"] {
            let e = ask(&p, "fable-4")
                .from(country)
                .explain(&subject(US_CITIZEN));
            assert_eq!(e.effect, Effect::Allow, "{country}");
            assert!(
                shadow_ids(&e).contains(&"ear-746-8-russia-belarus"),
                "{country}"
            );
        }
    }

    #[test]
    fn the_shadow_directives_say_counsel_decides() {
        let root = root();
        for f in [
            "russia-it-services-shadow.toml",
            "ear-russia-belarus-shadow.toml",
        ] {
            let text = std::fs::read_to_string(root.join("directives").join(f)).unwrap();
            assert!(text.contains("for counsel to decide"), "{f}");
            assert!(text.contains("mode = \"shadow\""), "{f}");
        }
    }
}

mod foreign_nationals {
    use super::*;

    #[test]
    fn a_verified_foreign_national_is_denied_from_the_effective_time() {
        let p = shipped();
        let who = subject(VERIFIED_GERMAN);
        assert_eq!(
            ask(&p, "fable-5")
                .from("DE")
                .at("2026-11-19T23:59:59Z")
                .decide(&who)
                .effect,
            Effect::Allow
        );
        assert_eq!(
            ask(&p, "fable-5")
                .from("DE")
                .at("2026-11-20T00:00:00Z")
                .decide(&who)
                .effect,
            Effect::Deny
        );
        assert_eq!(
            ask(&p, "mythos-5")
                .from("DE")
                .at(IN_GRACE)
                .decide(&who)
                .effect,
            Effect::Deny,
            "grace only spares unknowns"
        );
    }

    #[test]
    fn an_explicit_us_person_value_neither_refuses_nor_admits() {
        // The order is about nationality; a recorded `us_person` answers
        // OFAC's location-inclusive question, not this one.
        let p = shipped();
        for value in ["false", "true"] {
            let who = subject(&format!(
                r#"{{"us_person": {{"value": {value}, "verification": "attested"}}}}"#
            ));
            assert_eq!(
                ask(&p, "fable-5").decide(&who).effect,
                Effect::VerificationRequired,
                "us_person {value}"
            );
        }
    }

    #[test]
    fn a_foreign_national_working_in_the_united_states_is_refused() {
        // An H-1B engineer in California is a U.S. person under 15 CFR
        // 772.1(3) and OFAC's definitions, yet a foreign person under the
        // order (15 CFR 734.13(b)): refused, whatever a vendor recorded.
        let p = shipped();
        let who = subject(
            r#"{"verification": "document_verified", "citizenships": ["IN"], "permanent_residencies": [], "protected_individual": false,
                "residence_country": "US", "us_person": {"value": true, "verification": "attested"}}"#,
        );
        let e = ask(&p, "fable-5").from("US").explain(&who);
        assert_eq!(e.effect, Effect::Deny);
        assert_eq!(
            e.message.as_deref(),
            Some(
                "Access to this model is not available to foreign nationals under an export-control order; U.S. citizens and nationals, U.S. lawful permanent residents and protected individuals keep access."
            )
        );
    }

    #[test]
    fn us_nationals_by_a_territory_keep_access() {
        let p = shipped();
        for territory in ["PR", "GU", "VI", "AS", "MP"] {
            let who = subject(&format!(
                r#"{{"verification": "document_verified", "citizenships": ["{territory}"]}}"#
            ));
            assert_eq!(
                ask(&p, "fable-5").decide(&who).effect,
                Effect::Allow,
                "{territory}"
            );
        }
    }

    #[test]
    fn the_order_defines_the_excepted_classes_and_cites_the_ear() {
        let p = shipped();
        let d = p
            .directives()
            .iter()
            .find(|d| d.id == "foreign-national-frontier-2026")
            .unwrap();
        assert!(d.about_persons);
        assert_eq!(
            d.foreign_person
                .unwrap()
                .except
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            [
                "us_citizens",
                "us_nationals",
                "permanent_residents",
                "protected_individuals"
            ]
        );
        let cite = d.foreign_person_citation.as_deref().unwrap();
        assert!(cite.contains("15 CFR 772.1") && cite.contains("15 CFR 734.13(b)"));
    }

    #[test]
    fn unknown_nationality_keeps_access_with_a_warning_during_the_grace_period() {
        let p = shipped();
        let e = ask(&p, "fable-5")
            .at(IN_GRACE)
            .explain(&subject(NOTHING_KNOWN));
        assert_eq!(e.effect, Effect::Allow);
        assert!(
            e.warnings
                .iter()
                .any(|w| w.contains("grace period ends 2026-12-04T00:00:00Z")),
            "{:?}",
            e.warnings
        );
    }

    #[test]
    fn unknown_nationality_requires_verification_once_the_grace_period_ends() {
        let p = shipped();
        let e = ask(&p, "fable-5")
            .at("2026-12-04T00:00:00Z")
            .explain(&subject(NOTHING_KNOWN));
        assert_eq!(e.effect, Effect::VerificationRequired);
        assert_eq!(
            e.decided_by.as_deref(),
            Some("foreign-national-frontier-2026")
        );
        assert_eq!(
            e.remedy.as_deref(),
            Some("https://cordon.example/verify-nationality")
        );
        // What proves the person's status, not `subject.foreign_person`,
        // which no one records.
        assert_eq!(
            e.verify.iter().map(|v| v.attribute).collect::<Vec<_>>(),
            [
                "subject.citizenships",
                "subject.permanent_residencies",
                "subject.protected_individual"
            ],
            "{:?}",
            e.verify
        );
        assert!(
            e.verify
                .iter()
                .all(|v| v.min_verification.as_str() == "document_verified")
        );
    }

    #[test]
    fn a_self_declared_us_citizenship_counts_as_unknown() {
        let p = shipped();
        let who = subject(r#"{"verification": "self_declared", "citizenships": ["US"]}"#);
        assert_eq!(
            ask(&p, "fable-5").decide(&who).effect,
            Effect::VerificationRequired
        );
        assert_eq!(
            ask(&p, "fable-5")
                .decide(&subject(SELF_DECLARED_GERMAN))
                .effect,
            Effect::VerificationRequired
        );
    }

    #[test]
    fn a_verified_us_citizen_keeps_access() {
        let p = shipped();
        assert_eq!(
            ask(&p, "fable-5").decide(&subject(US_CITIZEN)).effect,
            Effect::Allow
        );
    }

    #[test]
    fn a_dual_national_who_is_a_us_citizen_keeps_access() {
        let p = shipped();
        let who = subject(
            r#"{"verification": "document_verified", "citizenships": ["IR", "US"], "residence_country": "DE"}"#,
        );
        assert_eq!(
            ask(&p, "fable-5").from("DE").decide(&who).effect,
            Effect::Allow
        );
    }

    #[test]
    fn a_us_permanent_resident_keeps_access() {
        let p = shipped();
        let who = subject(
            r#"{"verification": "document_verified", "citizenships": ["IN"], "permanent_residencies": ["US"]}"#,
        );
        assert_eq!(ask(&p, "fable-5").decide(&who).effect, Effect::Allow);
    }

    #[test]
    fn a_protected_individual_keeps_access() {
        let p = shipped();
        let who = subject(
            r#"{"verification": "document_verified", "citizenships": ["AF"], "permanent_residencies": [], "protected_individual": true}"#,
        );
        assert_eq!(ask(&p, "fable-5").decide(&who).effect, Effect::Allow);
    }

    #[test]
    fn a_foreign_national_whose_verification_expired_must_verify_again() {
        let p = shipped();
        let who = subject(
            r#"{"verification": "document_verified", "expires": "2026-12-01T00:00:00Z", "citizenships": ["US"]}"#,
        );
        assert_eq!(
            ask(&p, "fable-5").decide(&who).effect,
            Effect::VerificationRequired
        );
    }

    #[test]
    fn other_models_are_untouched() {
        let p = shipped();
        for model in ["lyric-4", "fable-4", "echo-embed-2"] {
            assert_eq!(
                ask(&p, model)
                    .from("DE")
                    .decide(&subject(VERIFIED_GERMAN))
                    .effect,
                Effect::Allow,
                "{model}"
            );
        }
    }

    #[test]
    fn aliases_snapshots_and_odd_spellings_of_the_models_are_covered() {
        let p = shipped();
        for model in [
            "FABLE-5",
            " fable ",
            "fable-5-2026-09-15",
            "Mythos",
            "mythos-latest",
            "MYTHOS-5-2026-10-01",
        ] {
            assert_eq!(
                ask(&p, model)
                    .from("DE")
                    .decide(&subject(VERIFIED_GERMAN))
                    .effect,
                Effect::Deny,
                "{model}"
            );
        }
    }

    #[test]
    fn an_unknown_model_is_refused_not_passed() {
        let p = shipped();
        let e = ask(&p, "fable-6").explain(&subject(US_CITIZEN));
        assert_eq!(e.effect, Effect::Deny);
        assert!(e.model.id.is_none());
    }

    /// Licence L-2026-0042 of Northwind Labs (`northwind`) as the demo
    /// records it: it names the engineer `licensed-org`, excludes no
    /// nationality, covers both models and lapses on 2027-11-20.
    /// What lifted the foreign-national order in an explanation (licence
    /// number and basis), and its effect before that.
    fn the_order(
        e: &cordon_policy::Explanation,
    ) -> (
        Option<(String, Option<cordon_subject::LicenceBasis>)>,
        Option<Effect>,
    ) {
        let r = e
            .reasons
            .iter()
            .find(|r| r.id == "foreign-national-frontier-2026")
            .unwrap();
        (
            r.exemption.as_ref().map(|x| (x.licence.clone(), x.basis)),
            r.effect_before_exemption,
        )
    }

    fn northwind_licence(individuals: &[&str], excluded: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "number": "L-2026-0042", "authority": "Example authority",
            "directives": ["foreign-national-frontier-2026"],
            "holder": "northwind", "individuals": individuals,
            "excluded_nationalities": excluded, "models": [],
            "issued": "2026-11-18T00:00:00Z", "expires": "2027-11-20T00:00:00Z"
        })
    }

    /// A verified Indian member of Northwind Labs, membership attested.
    fn northwind_member(
        id: &str,
        citizenships: &[&str],
        licences: &[serde_json::Value],
    ) -> cordon_subject::Subject {
        subject(
            &serde_json::json!({
                "id": id, "verification": "document_verified", "citizenships": citizenships,
                "permanent_residencies": [], "protected_individual": false,
                "organization": {"name": "Northwind Labs", "verification": "attested"},
                "licences": licences,
            })
            .to_string(),
        )
    }

    #[test]
    fn the_order_carries_no_file_exemption() {
        let p = shipped();
        let d = p
            .directives()
            .iter()
            .find(|d| d.id == "foreign-national-frontier-2026")
            .unwrap();
        assert!(d.exemptions.is_empty());
    }

    #[test]
    fn an_unnamed_verified_member_of_the_licence_holder_is_not_covered() {
        let p = shipped();
        // Verified, attested as a member, holding the licence record it does
        // not appear in: the order still refuses.
        let who = northwind_member(
            "nw-2",
            &["IN"],
            &[northwind_licence(&["licensed-org"], &[])],
        );
        let e = ask(&p, "mythos-5").explain(&who);
        assert_eq!(e.effect, Effect::Deny);
        assert_eq!(the_order(&e), (None, None));
        // Nor does membership alone, with no licence at all.
        let who = northwind_member("nw-2", &["IN"], &[]);
        assert_eq!(ask(&p, "mythos-5").decide(&who).effect, Effect::Deny);
    }

    #[test]
    fn the_named_individual_keeps_access_unless_of_an_excluded_nationality() {
        let p = shipped();
        let who = northwind_member(
            "licensed-org",
            &["IN"],
            &[northwind_licence(&["licensed-org"], &[])],
        );
        let e = ask(&p, "mythos-5").explain(&who);
        assert_eq!(e.effect, Effect::Allow);
        assert_eq!(
            the_order(&e),
            (
                Some((
                    "L-2026-0042".to_owned(),
                    Some(cordon_subject::LicenceBasis::NamedIndividual)
                )),
                Some(Effect::Deny)
            )
        );
        let excluded = northwind_member(
            "licensed-org",
            &["IN"],
            &[northwind_licence(&["licensed-org"], &["IN"])],
        );
        assert_eq!(ask(&p, "mythos-5").decide(&excluded).effect, Effect::Deny);
    }

    #[test]
    fn the_holders_own_account_is_covered() {
        let p = shipped();
        let org = |licences: &[serde_json::Value]| {
            subject(
                &serde_json::json!({
                    "id": "northwind", "kind": "organization", "verification": "attested",
                    "name": "Northwind Labs", "organization": {"name": "Northwind Labs", "country": "US"},
                    "licences": licences,
                })
                .to_string(),
            )
        };
        assert_eq!(
            ask(&p, "fable-5").decide(&org(&[])).effect,
            Effect::VerificationRequired
        );
        let e = ask(&p, "fable-5").explain(&org(&[northwind_licence(&["licensed-org"], &[])]));
        assert_eq!(e.effect, Effect::Allow);
        assert_eq!(
            the_order(&e),
            (
                Some((
                    "L-2026-0042".to_owned(),
                    Some(cordon_subject::LicenceBasis::Holder)
                )),
                Some(Effect::VerificationRequired)
            )
        );
    }

    #[test]
    fn the_licence_lapses_at_its_expiry() {
        let p = shipped();
        let who = northwind_member(
            "licensed-org",
            &["IN"],
            &[northwind_licence(&["licensed-org"], &[])],
        );
        assert_eq!(
            ask(&p, "fable-5")
                .at("2027-11-19T23:59:59Z")
                .decide(&who)
                .effect,
            Effect::Allow
        );
        assert_eq!(
            ask(&p, "fable-5")
                .at("2027-11-20T00:00:00Z")
                .decide(&who)
                .effect,
            Effect::Deny
        );
    }
}

mod partial_order {
    use super::*;
    use cordon_policy::Policy;

    /// The shipped set with the partial order enforced and the full order retired.
    fn partial() -> Policy {
        shipped_with(|name, text| match name {
            "foreign-national-frontier-partial.toml" => {
                text.replace("mode = \"draft\"", "mode = \"enforced\"")
            }
            "foreign-national-frontier.toml" => {
                text.replace("mode = \"enforced\"", "mode = \"retired\"")
            }
            _ => text,
        })
    }

    #[test]
    fn the_draft_is_never_consulted_as_shipped() {
        let p = shipped();
        let e = ask(&p, "fable-5")
            .from("DE")
            .explain(&subject(VERIFIED_GERMAN));
        assert!(
            e.reasons
                .iter()
                .all(|r| r.id != "foreign-national-frontier-2026-partial")
        );
    }

    #[test]
    fn a_foreign_national_may_use_the_models_without_tools_and_with_capped_output() {
        let p = partial();
        let d = ask(&p, "fable-5")
            .from("DE")
            .with(|r| r.features.insert(Feature::Tools))
            .decide(&subject(VERIFIED_GERMAN));
        assert_eq!(d.effect, Effect::AllowWithObligations);
        assert_eq!(d.obligations.max_tokens, Some(4096));
        assert!(d.obligations.remove_features.contains(Feature::Tools));
    }

    #[test]
    fn a_us_citizen_has_no_obligations() {
        let p = partial();
        let d = ask(&p, "fable-5").decide(&subject(US_CITIZEN));
        assert_eq!(d.effect, Effect::Allow);
        assert!(d.obligations.is_empty());
    }

    #[test]
    fn after_grace_an_unknown_nationality_gets_the_restricted_portion() {
        let p = partial();
        assert_eq!(
            ask(&p, "mythos-5").decide(&subject(NOTHING_KNOWN)).effect,
            Effect::AllowWithObligations
        );
        assert_eq!(
            ask(&p, "mythos-5")
                .at(IN_GRACE)
                .decide(&subject(NOTHING_KNOWN))
                .effect,
            Effect::Allow
        );
    }
}

mod restricted_parties {
    use super::*;

    fn hit(list: &str, status: &str) -> String {
        format!(
            r#"{{"citizenships": ["US"], "verification": "document_verified", "screening": [{{"list": "{list}", "status": "{status}"}}]}}"#
        )
    }

    #[test]
    fn a_confirmed_party_on_sdn_fse_el_or_dpl_is_denied_every_model() {
        let p = shipped();
        for list in ["SDN", "FSE", "EL", "DPL"] {
            for model in ["lyric-4", "fable-5", "echo-embed-2"] {
                assert_eq!(
                    ask(&p, model)
                        .decide(&subject(&hit(list, "confirmed")))
                        .effect,
                    Effect::Deny,
                    "{list} {model}"
                );
            }
        }
    }

    #[test]
    fn each_list_is_refused_under_its_own_law() {
        let p = shipped();
        for (list, rule, law) in [
            ("SDN", "sdn-blocked", "31 CFR chapter V"),
            ("FSE", "fse-no-services", "E.O. 13608"),
            ("DPL", "denial-order", "736.2(b)(4)"),
            ("EL", "entity-list-operator-policy", "744.11"),
            ("UVL", "unverified-list-statement", "744.15"),
        ] {
            let e = ask(&p, "lyric-4").explain(&subject(&hit(list, "confirmed")));
            let reason = e
                .reasons
                .iter()
                .find(|r| r.id == "restricted-parties")
                .unwrap();
            let fired: Vec<_> = reason
                .rules
                .iter()
                .filter(|r| r.truth == cordon_subject::Truth::True)
                .collect();
            assert_eq!(fired.len(), 1, "{list}");
            assert_eq!(fired[0].id, rule, "{list}");
            assert!(
                fired[0].citation.as_deref().unwrap().contains(law),
                "{list}"
            );
        }
    }

    #[test]
    fn an_entity_list_refusal_is_labelled_the_operators_policy() {
        let p = shipped();
        let e = ask(&p, "lyric-4").explain(&subject(&hit("EL", "confirmed")));
        let m = e.message.unwrap();
        assert!(m.contains("Entity List") && m.contains("policy"), "{m}");
        let d = p.directive("restricted-parties").unwrap();
        let rule = d
            .rules
            .iter()
            .find(|r| r.id == "entity-list-operator-policy")
            .unwrap();
        assert!(
            rule.citation
                .as_deref()
                .unwrap()
                .contains("operator's policy")
        );
    }

    #[test]
    fn an_unverified_list_party_must_give_a_statement_not_be_allowed() {
        let p = shipped();
        let e = ask(&p, "lyric-4").explain(&subject(&hit("UVL", "confirmed")));
        assert_eq!(e.effect, Effect::VerificationRequired);
        assert!(e.message.unwrap().contains("UVL statement"));
    }

    #[test]
    fn a_denial_order_cites_general_prohibition_four() {
        let p = shipped();
        let e = ask(&p, "lyric-4").explain(&subject(&hit("DPL", "confirmed")));
        assert_eq!(e.effect, Effect::Deny);
        assert!(e.message.unwrap().contains("denial order"));
        let d = p.directive("restricted-parties").unwrap();
        assert!(d.citation.contains("736.2(b)(4)"), "{}", d.citation);
        assert!(!d.citation.contains("764.3"), "{}", d.citation);
    }

    #[test]
    fn a_hit_pending_review_requires_verification() {
        let p = shipped();
        let e = ask(&p, "lyric-4").explain(&subject(&hit("EL", "pending")));
        assert_eq!(e.effect, Effect::VerificationRequired);
        assert_eq!(e.decided_by.as_deref(), Some("restricted-parties"));
    }

    #[test]
    fn a_pending_hit_is_told_it_is_a_possible_match_not_a_match() {
        let p = shipped();
        for list in ["SDN", "FSE", "DPL", "EL", "UVL"] {
            let e = ask(&p, "lyric-4").explain(&subject(&hit(list, "pending")));
            assert_eq!(e.effect, Effect::VerificationRequired, "{list}");
            let m = e.message.unwrap();
            assert!(m.contains("possible match"), "{list}: {m}");
            assert!(
                !m.contains("confirmed") && !m.contains("matches a party"),
                "{list}: {m}"
            );
        }
    }

    #[test]
    fn sectoral_lists_ssi_and_cmic_are_not_access_bans() {
        let p = shipped();
        for list in ["SSI", "CMIC"] {
            for status in ["confirmed", "pending"] {
                assert_eq!(
                    ask(&p, "lyric-4")
                        .decide(&subject(&hit(list, status)))
                        .effect,
                    Effect::Allow,
                    "{list} {status}"
                );
            }
        }
    }

    #[test]
    fn a_bis_affiliates_rule_hit_counts_only_while_the_rule_is_in_force() {
        // Suspended 2025-11-10 through 2026-11-09; in force from 2026-11-10.
        let p = shipped();
        let who = subject(
            r#"{"kind": "organization", "organization": {"name": "Affiliate GmbH", "country": "DE"},
                "screening": [{"list": "EL", "status": "confirmed", "entry": "affiliates rule 60%: 60% EL e-1", "basis": "bis_affiliates"}]}"#,
        );
        for (at, effect) in [
            ("2026-11-05T12:00:00Z", Effect::Allow),
            ("2026-11-09T23:59:59Z", Effect::Allow),
            ("2026-11-10T00:00:00Z", Effect::Deny),
            ("2026-12-07T12:00:00Z", Effect::Deny),
        ] {
            assert_eq!(
                ask(&p, "lyric-4").at(at).decide(&who).effect,
                effect,
                "{at}"
            );
        }
    }

    #[test]
    fn an_ofac_fifty_percent_hit_counts_whatever_the_date() {
        let p = shipped();
        let who = subject(
            r#"{"kind": "organization", "organization": {"name": "Owned LLC", "country": "DE"},
                "screening": [{"list": "SDN", "status": "confirmed", "entry": "ownership 60%: 60% SDN 1", "basis": "ofac_50_percent"}]}"#,
        );
        assert_eq!(
            ask(&p, "lyric-4")
                .at("2026-11-05T12:00:00Z")
                .decide(&who)
                .effect,
            Effect::Deny
        );
    }

    #[test]
    fn a_cleared_hit_is_not_caught() {
        let p = shipped();
        assert_eq!(
            ask(&p, "lyric-4")
                .decide(&subject(&hit("SDN", "cleared")))
                .effect,
            Effect::Allow
        );
    }

    #[test]
    fn a_screened_subject_with_no_hit_is_not_caught() {
        let p = shipped();
        let who = unscreened(
            r#"{"citizenships": ["US"], "verification": "document_verified", "screening": []}"#,
        );
        assert_eq!(ask(&p, "lyric-4").decide(&who).effect, Effect::Allow);
    }

    #[test]
    fn never_screened_is_not_clean_and_the_directive_unknown_decides() {
        let p = shipped();
        let who = unscreened(r#"{"citizenships": ["US"], "verification": "document_verified"}"#);
        let e = ask(&p, "lyric-4").explain(&who);
        assert_eq!(e.effect, Effect::Deny);
        assert_eq!(e.decided_by.as_deref(), Some("restricted-parties"));
        // The rule's ground was not established: the directive's message says why.
        let m = e.message.unwrap();
        assert!(m.contains("until it has been screened"), "{m}");
        let reason = e
            .reasons
            .iter()
            .find(|r| r.id == "restricted-parties")
            .unwrap();
        let value = reason
            .values
            .iter()
            .find(|v| v.attribute == "subject.screening.confirmed")
            .unwrap();
        assert_eq!(value.value, "unknown");
    }

    #[test]
    fn a_confirmed_hit_outranks_a_pending_one() {
        let p = shipped();
        let who = subject(
            r#"{"screening": [{"list": "EL", "status": "pending"}, {"list": "SDN", "status": "confirmed"}]}"#,
        );
        assert_eq!(ask(&p, "lyric-4").decide(&who).effect, Effect::Deny);
    }
}

mod historical_tiers {
    use super::*;

    #[test]
    fn the_ai_diffusion_directive_is_labelled_a_hypothetical_illustration() {
        // The rule controlled model weights (ECCN 4E091) and chips; it did not
        // restrict API access by the caller's country (reference section 8).
        let p = shipped();
        let d = p.directive("ai-diffusion-tier3-2025").unwrap();
        assert!(
            d.title.starts_with("Hypothetical illustration"),
            "{}",
            d.title
        );
        assert!(d.citation.starts_with("Hypothetical"), "{}", d.citation);
        assert!(d.citation.contains("4E091"), "{}", d.citation);
    }

    #[test]
    fn the_retired_ai_diffusion_directive_is_checked_but_never_consulted() {
        let p = shipped();
        assert!(p.directive("ai-diffusion-tier3-2025").is_some());
        assert!(p.warnings().iter().any(|w| w.message.contains("rescinded")));
        let e = ask(&p, "fable-5")
            .from("CN")
            .at("2025-03-01T00:00:00Z")
            .explain(&subject(US_CITIZEN));
        assert!(e.reasons.iter().all(|r| r.id != "ai-diffusion-tier3-2025"));
    }

    #[test]
    fn enforced_as_history_it_denies_tier_3_only_while_it_was_in_force() {
        let p = shipped_with(|name, text| {
            if name == "ai-diffusion-tier3-historical.toml" {
                text.replace("mode = \"retired\"", "mode = \"enforced\"")
            } else {
                text
            }
        });
        let who = subject(US_CITIZEN);
        assert_eq!(
            ask(&p, "fable-5")
                .from("CN")
                .at("2025-03-01T00:00:00Z")
                .decide(&who)
                .effect,
            Effect::Deny
        );
        assert_eq!(
            ask(&p, "fable-5")
                .from("FR")
                .at("2025-03-01T00:00:00Z")
                .decide(&who)
                .effect,
            Effect::Allow
        );
        assert_eq!(
            ask(&p, "fable-5")
                .from("CN")
                .at("2025-05-13T00:00:00Z")
                .decide(&who)
                .effect,
            Effect::Allow,
            "expired"
        );
        assert_eq!(
            ask(&p, "lyric-4")
                .from("CN")
                .at("2025-03-01T00:00:00Z")
                .decide(&who)
                .effect,
            Effect::Allow,
            "not a frontier model"
        );
    }
}
