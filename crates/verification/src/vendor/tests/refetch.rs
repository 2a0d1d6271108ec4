use super::*;

fn event(id: Option<&str>) -> Event {
    Event {
        account: "acct_1".into(),
        kind: EventKind::Pending,
        facts: Vec::new(),
        object_id: id.map(str::to_owned),
        event_time: None,
    }
}

fn creds(secret: Option<&str>) -> ApiCredentials {
    ApiCredentials {
        api_key: "key_1".into(),
        api_secret: secret.map(str::to_owned),
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn header<'r>(r: &'r FetchRequest, name: &str) -> &'r str {
    r.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[test]
fn each_vendor_s_request_fetches_the_object() {
    let r = Vendor::StripeIdentity
        .refetch(
            &event(Some("vs_1")),
            "https://api.stripe.com/",
            &creds(None),
            now(),
        )
        .unwrap();
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.url,
        "https://api.stripe.com/v1/identity/verification_sessions/vs_1\
         ?expand%5B%5D=last_verification_report\
         &expand%5B%5D=last_verification_report.document.expiration_date"
    );
    assert_eq!(header(&r, "Authorization"), "Bearer key_1");
    let r = Vendor::Persona
        .refetch(
            &event(Some("inq_1")),
            "https://withpersona.com",
            &creds(None),
            now(),
        )
        .unwrap();
    assert_eq!(
        r.url,
        "https://withpersona.com/api/v1/inquiries/inq_1?include=verifications"
    );
    assert_eq!(header(&r, "Authorization"), "Bearer key_1");
    let r = Vendor::Onfido
        .refetch(
            &event(Some("rep-1")),
            "https://api.eu.onfido.com",
            &creds(None),
            now(),
        )
        .unwrap();
    assert_eq!(r.url, "https://api.eu.onfido.com/v3.6/reports/rep-1");
    assert_eq!(header(&r, "Authorization"), "Token token=key_1");
}

#[test]
fn veriff_and_sumsub_requests_are_signed() {
    // Expected MACs computed independently (Python's hmac module).
    let r = Vendor::Veriff
        .refetch(
            &event(Some("sess-1")),
            "https://stationapi.veriff.com",
            &creds(Some("veriff-secret")),
            now(),
        )
        .unwrap();
    assert_eq!(
        r.url,
        "https://stationapi.veriff.com/v1/sessions/sess-1/decision"
    );
    assert_eq!(header(&r, "X-AUTH-CLIENT"), "key_1");
    assert_eq!(
        header(&r, "X-HMAC-SIGNATURE"),
        "318b1af663421ba20b3abe5f5d49fd5b7ee45d647d439ab5bed643212350963b"
    );
    let r = Vendor::Sumsub
        .refetch(
            &event(Some("ap_1")),
            "https://api.sumsub.com",
            &creds(Some("sumsub-app-secret")),
            now(),
        )
        .unwrap();
    assert_eq!(
        r.url,
        "https://api.sumsub.com/resources/applicants/ap_1/one"
    );
    assert_eq!(header(&r, "X-App-Token"), "key_1");
    assert_eq!(header(&r, "X-App-Access-Ts"), "1800000000");
    assert_eq!(
        header(&r, "X-App-Access-Sig"),
        "8be6e728180b3d56bb9abd2de463b0e607fb94eee9e21e110568e3e6d0bb1c90"
    );
    for v in [Vendor::Veriff, Vendor::Sumsub] {
        assert_eq!(
            v.refetch(&event(Some("x")), "https://h", &creds(None), now()),
            Err(RefetchError::MissingSecret { vendor: v.as_str() })
        );
    }
}

#[test]
fn ids_and_base_urls_that_could_go_elsewhere_are_refused() {
    for v in Vendor::ALL {
        let c = creds(Some("s"));
        assert_eq!(
            v.refetch(&event(None), "https://h", &c, now()),
            Err(RefetchError::NoObjectId)
        );
        let long = "a".repeat(MAX_OBJECT_ID_LEN + 1);
        for bad in [
            "",
            "..",
            "../v1/customers",
            "a/b",
            "a?b",
            "a b",
            "a%2F",
            long.as_str(),
        ] {
            assert_eq!(
                v.refetch(&event(Some(bad)), "https://h", &c, now()),
                Err(RefetchError::BadObjectId(bad.into())),
                "{v:?} {bad}"
            );
        }
        for base in ["", "ftp://h", "api.stripe.com", "//h"] {
            assert_eq!(
                v.refetch(&event(Some("x")), base, &c, now()),
                Err(RefetchError::BadBaseUrl(base.into()))
            );
        }
        assert!(
            v.refetch(&event(Some("x")), "http://127.0.0.1:9", &c, now())
                .is_ok()
        );
    }
}

#[test]
fn credentials_are_not_shown() {
    let c = ApiCredentials {
        api_key: "sk_live_secret".into(),
        api_secret: Some("hidden".into()),
    };
    assert!(!format!("{c:?}").contains("secret"));
    let r = Vendor::StripeIdentity
        .refetch(&event(Some("vs_1")), "https://h", &c, now())
        .unwrap();
    let shown = format!("{r:?}");
    assert!(
        shown.contains("Authorization") && !shown.contains("sk_live"),
        "{shown}"
    );
}

#[test]
fn names_read_back() {
    for v in Vendor::ALL {
        assert_eq!(Vendor::parse(v.as_str()), Some(v));
    }
    assert_eq!(Vendor::parse("cordon"), None);
}

#[test]
fn a_refetch_round_trip_goes_through_the_trait() {
    let fetched = json!({"id": "rep_1", "name": "document", "status": "complete",
                         "result": "clear", "properties": {"nationality": "USA",
                         "document_type": "driving_licence", "issuing_country": "USA"}});
    let refetch: &dyn Refetch = &Vendor::Onfido;
    let e = refetch
        .read_fetched("acct_7", &bytes(&fetched), j())
        .unwrap();
    assert_eq!(e.account, "acct_7");
    assert_eq!(
        citizenship(&e),
        (json!(["US"]), Some("driving_licence"), Some("US"))
    );
}
