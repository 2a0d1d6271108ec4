//! Licences as records: an organisation submits its licence, an operator
//! approves it, the named individual is allowed what the foreign-national
//! order refuses while an unnamed colleague is not, and revoking it refuses
//! the next request. Submissions that do not check store nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Harness, Setup, hello, start};

const PATH: &str = "/v1/organizations/acme/licences";

/// Acme Labs (incorporated in Germany) and two of its people, verified
/// German nationals: `acme-ana`, whom the licence names, and `acme-bo`,
/// whom it does not. Returns the organisation's key.
fn acme(h: &mut Harness) -> String {
    h.store
        .add_account(
            "acme",
            json!({"kind": "organization", "name": "Acme Labs", "verification": "attested",
                   "organization": {"name": "Acme Labs", "country": "DE"}}),
        )
        .unwrap();
    for id in ["acme-ana", "acme-bo"] {
        h.store
            .add_account(
                id,
                json!({"verification": "document_verified", "citizenships": ["DE"],
                       "permanent_residencies": [], "protected_individual": false,
                       "organization": {"name": "Acme Labs", "verification": "attested"}}),
            )
            .unwrap();
        let key = h.store.create_key(id, None).unwrap().key;
        h.keys.insert(id.to_owned(), key);
    }
    h.store.create_key("acme", None).unwrap().key
}

fn licence(edit: impl FnOnce(&mut Value)) -> Value {
    let mut l = json!({
        "number": "D1234567", "authority": "BIS",
        "directives": ["foreign-national-frontier-2026"],
        "individuals": ["acme-ana"], "excluded_nationalities": ["CN"],
        "models": ["Fable-5"], "conditions": "No re-export.",
        "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-01T00:00:00Z"
    });
    edit(&mut l);
    l
}

async fn submit(h: &Harness, key: &str, body: String) -> crate::Reply {
    let auth = format!("Bearer {key}");
    h.send(
        "POST",
        PATH,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await
}

/// Waits out the gateway's principal cache, which rereads the store's
/// change counter at most every 250 ms.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_licensed_named_individual_is_allowed_an_unnamed_colleague_is_not_and_revocation_ends_it()
{
    let mut h = start(Setup::default()).await;
    let org_key = acme(&mut h);
    assert_eq!(h.chat("acme-ana", hello("fable-5")).await.status, 451);

    let r = submit(&h, &org_key, licence(|_| {}).to_string()).await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["status"], "pending");
    let rec = h.store.licence("D1234567").unwrap().unwrap();
    assert_eq!(rec.licence.holder, "acme", "the holder is the organisation");
    assert_eq!(rec.licence.models, ["fable-5"], "models are stored by id");
    settle().await;
    assert_eq!(
        h.chat("acme-ana", hello("fable-5")).await.status,
        451,
        "a pending licence lifts nothing"
    );

    h.store.approve_licence("D1234567").unwrap();
    settle().await;
    let r = h.chat("acme-ana", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.chat("acme-bo", hello("fable-5")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(
        r.header("x-cordon-directive"),
        "foreign-national-frontier-2026"
    );
    assert_eq!(
        h.chat("acme-ana", hello("mythos-5")).await.status,
        451,
        "the licence covers only fable-5"
    );
    // The decision API sees the licence on the account's subject too.
    let d = h
        .decide(json!({"api_key": h.key("acme-ana"), "model": "fable-5", "country": "DE"}))
        .await;
    assert_eq!(d.json()["effect"], "allow", "{}", d.text());

    h.store.revoke_licence("D1234567").unwrap();
    settle().await;
    assert_eq!(h.chat("acme-ana", hello("fable-5")).await.status, 451);
    h.finish();
}

#[tokio::test]
async fn a_submission_that_does_not_check_stores_nothing() {
    let mut h = start(Setup::default()).await;
    let org_key = acme(&mut h);
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            licence(|l| l["directives"] = json!(["no-such-order"])),
            400,
            "directives[0]",
            "no-such-order",
        ),
        (
            licence(|l| l["models"] = json!(["fable-5", "fable-9"])),
            400,
            "models[1]",
            "fable-9",
        ),
        (
            licence(|l| l["individuals"] = json!(["acme-ana", "us-citizen"])),
            400,
            "individuals[1]",
            "not a member",
        ),
        (
            licence(|l| l["individuals"] = json!(["ghost"])),
            400,
            "individuals[0]",
            "no account",
        ),
        (
            licence(|l| {
                l["issued"] = json!("2020-01-01T00:00:00Z");
                l["expires"] = json!("2021-01-01T00:00:00Z");
            }),
            400,
            "expires",
            "in the past",
        ),
        (
            licence(|l| l["holder"] = json!("other-org")),
            400,
            "holder",
            "its own licences",
        ),
        (
            licence(|l| l["excluded_nationalities"] = json!(["XZ"])),
            400,
            "excluded_nationalities[0]",
            "`XZ`",
        ),
        (
            licence(|l| {
                l.as_object_mut().unwrap().remove("number");
            }),
            400,
            "number",
            "missing",
        ),
    ];
    for (body, status, field, needle) in cases {
        let r = submit(&h, &org_key, body.to_string()).await;
        assert_eq!(r.status, status, "{field}: {}", r.text());
        let e = &r.json()["error"];
        assert_eq!(e["param"], field, "{}", r.text());
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{field}`")), "{message}");
        assert!(message.contains(needle), "{message}");
    }
    let r = submit(&h, &org_key, "{not json".into()).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = submit(&h, &org_key, "x".repeat(200 * 1024)).await;
    assert_eq!(r.status, 413, "{}", r.text());
    // A member's own key is not the organisation's, nor is no key.
    let r = submit(&h, &h.key("acme-ana"), licence(|_| {}).to_string()).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = h.send("POST", PATH, &[], licence(|_| {}).to_string()).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        h.store.licences().unwrap().is_empty(),
        "nothing half-written"
    );
    // A good one is taken once; the same number again is a conflict.
    let r = submit(&h, &org_key, licence(|_| {}).to_string()).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let r = submit(&h, &org_key, licence(|_| {}).to_string()).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(h.store.licences().unwrap().len(), 1);
    h.finish();
}

#[tokio::test]
async fn the_decision_api_takes_licences_in_a_subject_and_names_a_bad_field() {
    let h = start(Setup::default()).await;
    let subject = |l: Value| {
        json!({"id": "acme-ana", "verification": "document_verified", "citizenships": ["DE"],
               "permanent_residencies": [], "protected_individual": false,
               "screening": [], "licences": [l]})
    };
    let held = licence(|l| l["holder"] = json!("acme"));
    let r = h
        .decide(json!({"subject": subject(held.clone()), "model": "fable-5", "country": "DE"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["effect"], "allow", "{}", r.text());
    let bad = licence(|l| {
        l["holder"] = json!("acme");
        l["expires"] = json!("2026-10-01T00:00:00Z");
    });
    let r = h
        .decide(json!({"subject": subject(bad), "model": "fable-5", "country": "DE"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("licences[0].expires"), "{}", r.text());
    h.finish();
}

/// The demo's licence L-2026-0042 as a record: Northwind Labs' own key and
/// the engineer it names keep the foreign-national order's models; a
/// colleague as verified and as much a member, whom it does not name, does not.
#[tokio::test]
async fn a_licence_record_covers_its_holder_and_named_engineer_not_every_member() {
    let mut h = start(Setup::default()).await;
    h.store
        .add_account(
            "northwind",
            json!({"kind": "organization", "name": "Northwind Labs", "verification": "attested",
                   "organization": {"name": "Northwind Labs", "country": "US"}}),
        )
        .unwrap();
    let org_key = h.store.create_key("northwind", None).unwrap().key;
    h.keys.insert("northwind".to_owned(), org_key);
    for id in ["licensed-org", "northwind-2"] {
        h.store
            .add_account(
                id,
                json!({"verification": "document_verified", "citizenships": ["IN"],
                       "permanent_residencies": [], "protected_individual": false,
                       "organization": {"name": "Northwind Labs", "verification": "attested"}}),
            )
            .unwrap();
        let key = h.store.create_key(id, None).unwrap().key;
        h.keys.insert(id.to_owned(), key);
    }
    for who in ["licensed-org", "northwind-2"] {
        assert_eq!(h.chat(who, hello("fable-5")).await.status, 451, "{who}");
    }
    let l = cordon_subject::Licence::from_value(
        &json!({"number": "L-2026-0042", "authority": "Example authority",
                "directives": ["foreign-national-frontier-2026"], "holder": "northwind",
                "individuals": ["licensed-org"], "models": ["fable-5", "mythos-5"],
                "issued": "2026-11-18T00:00:00Z", "expires": "2027-11-20T00:00:00Z"}),
        h.store.jurisdictions(),
        None,
    )
    .unwrap();
    h.store
        .record_licence(&l, cordon_store::LicenceSource::Staff)
        .unwrap();
    settle().await;
    for model in ["fable-5", "mythos-5"] {
        let r = h.chat("licensed-org", hello(model)).await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let r = h.chat("northwind", hello(model)).await;
        assert_eq!(r.status, 200, "the holder's own key, {model}: {}", r.text());
        let r = h.chat("northwind-2", hello(model)).await;
        assert_eq!(r.status, 451, "an unnamed member, {model}: {}", r.text());
        assert_eq!(
            r.header("x-cordon-directive"),
            "foreign-national-frontier-2026"
        );
    }
    h.finish();
}
