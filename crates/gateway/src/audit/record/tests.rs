use std::path::Path;

use cordon_catalog::{Catalog, Resolution};
use cordon_jurisdiction::{CountryCode, GroupRegistry, Jurisdictions};
use cordon_policy::{Policy, Trace};
use cordon_subject::{Subject, SubjectRecord};

use super::*;

/// The shipped catalog with only the shipped directive `file`, so models
/// outside its scope are controlled by nothing.
fn policy_with(file: &str) -> (Policy, &'static Jurisdictions) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("cordon-gw-record-{}-{file}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(root.join("directives").join(file), dir.join(file)).unwrap();
    let j = Jurisdictions::embedded().unwrap();
    let groups = GroupRegistry::embedded(j).unwrap();
    let catalog = Catalog::load(&root.join("catalog.toml")).unwrap();
    let policy = Policy::load_dir(&dir, catalog, j, &groups).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (policy, j)
}

/// The shipped directives and catalog.
fn shipped() -> (Policy, &'static Jurisdictions) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let j = Jurisdictions::embedded().unwrap();
    let groups = GroupRegistry::embedded(j).unwrap();
    let catalog = Catalog::load(&root.join("catalog.toml")).unwrap();
    let policy = Policy::load_dir(&root.join("directives"), catalog, j, &groups).unwrap();
    (policy, j)
}

fn subject(j: &Jurisdictions, json: &str) -> Subject {
    SubjectRecord::from_value(serde_json::from_str(json).unwrap())
        .into_subject(j)
        .unwrap()
}

fn decide(policy: &Policy, subject: &Subject, model: &str) -> (Decision, Explanation, Request) {
    let id = match policy.catalog().resolve(model) {
        Resolution::Known { id, .. } => Some(id),
        Resolution::Unknown => None,
    };
    let mut request = Request::new(id, "2026-12-10T12:00:00Z".parse().unwrap());
    request.country = Some(CountryCode::US);
    let mut trace = Trace::with_capacity(policy.max_consulted());
    let decision = policy.decide(subject, &request, &mut trace);
    let explanation = policy.explain(subject, &request, model, &decision, &trace);
    (decision, explanation, request)
}

const CTX: DecisionContext<'static> = DecisionContext {
    id: "dec_0123456789abcdef01234567",
    account: Some("foreign-national"),
    end_user: None,
    mode: Mode::Enforced,
    source: Source::Gateway,
};

#[test]
fn a_denial_records_its_directive_and_the_attribute_values_with_provenance() {
    let (policy, j) = shipped();
    let s = subject(
        j,
        r#"{"verification": "document_verified", "source": "kyc-vendor", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#,
    );
    let (decision, explanation, request) = decide(&policy, &s, "fable-5");
    let r = decision_record(&decision, &explanation, &request, &CTX);
    assert_eq!(r.effect, "deny");
    assert_eq!(
        r.decided_by.as_deref(),
        Some("foreign-national-frontier-2026")
    );
    assert!(r.consulted.len() >= 2, "{:?}", r.consulted);
    assert!(
        r.consulted
            .contains(&"foreign-national-frontier-2026".to_owned())
    );
    assert!(
        r.consulted.windows(2).all(|w| w[0] < w[1]),
        "{:?}",
        r.consulted
    );
    assert_eq!(r.model_requested, "fable-5");
    assert_eq!(r.model.as_deref(), Some("fable-5"));
    assert_eq!(r.time, "2026-12-10T12:00:00Z");
    assert_eq!(r.client_country.as_deref(), Some("US"));
    assert_eq!(r.account.as_deref(), Some("foreign-national"));
    assert_eq!(r.policy_version, policy.version());
    let de = r
        .attributes
        .iter()
        .find(|a| a.name == "subject.foreign_person" && a.value == "citizenships: DE")
        .unwrap_or_else(|| panic!("no citizenship entry in {:#?}", r.attributes));
    let p = de.provenance.as_ref().unwrap();
    assert_eq!(p.verification, "document_verified");
    assert_eq!(p.source.as_deref(), Some("kyc-vendor"));
    let mut seen = r.attributes.clone();
    seen.dedup();
    assert_eq!(seen.len(), r.attributes.len());
    assert!(controlled(&explanation));
}

#[test]
fn a_model_no_directive_covers_is_uncontrolled_and_records_no_attributes() {
    let (policy, j) = policy_with("foreign-national-frontier.toml");
    let s = subject(j, r#"{"citizenships": ["DE"]}"#);
    let (decision, explanation, request) = decide(&policy, &s, "echo-embed-2");
    let r = decision_record(&decision, &explanation, &request, &CTX);
    assert!(!controlled(&explanation));
    assert!(r.consulted.is_empty());
    assert!(r.attributes.is_empty());
    assert_eq!(r.effect, "allow");
}

#[test]
fn an_unknown_model_is_a_denial_with_no_resolved_model() {
    let (policy, j) = shipped();
    let s = subject(j, r#"{}"#);
    let (decision, explanation, request) = decide(&policy, &s, "no-such-model");
    let r = decision_record(&decision, &explanation, &request, &CTX);
    assert_eq!(r.effect, "deny");
    assert_eq!(r.model, None);
    assert_eq!(r.model_requested, "no-such-model");
}

#[test]
fn list_values_give_one_entry_each_and_unqualified_values_keep_their_provenance() {
    let mut out = Vec::new();
    let p = cordon_subject::Provenance::at_level(cordon_subject::VerificationLevel::SelfDeclared);
    attributes_of(
        "subject.citizenships",
        &serde_json::json!(["IR", "US (below document_verified or expired)"]),
        &[("IR", &p), ("US", &p)],
        &mut out,
    );
    let values: Vec<_> = out.iter().map(|a| a.value.as_str()).collect();
    assert_eq!(values, ["IR", "US (below document_verified or expired)"]);
    assert!(
        out.iter()
            .all(|a| a.provenance.as_ref().unwrap().verification == "self_declared")
    );
}

/// The shipped frontier directive alone, switched to shadow mode.
fn frontier_in_shadow() -> (Policy, &'static Jurisdictions) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("directives/foreign-national-frontier.toml"))
        .unwrap()
        .replace("mode = \"enforced\"", "mode = \"shadow\"");
    let j = Jurisdictions::embedded().unwrap();
    let groups = GroupRegistry::embedded(j).unwrap();
    let catalog = Catalog::load(&root.join("catalog.toml")).unwrap();
    let files = [cordon_source::SourceFile::new("frontier.toml", text)];
    (Policy::from_files(&files, catalog, j, &groups).unwrap(), j)
}

const FOREIGN_NATIONAL: &str = r#"{"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#;

#[test]
fn a_shadow_refusal_is_recorded_without_deciding() {
    let (policy, j) = frontier_in_shadow();
    let s = subject(j, FOREIGN_NATIONAL);
    let (decision, explanation, mut request) = decide(&policy, &s, "fable-5");
    request.features.insert(cordon_policy::Feature::Tools);
    request.features.insert(cordon_policy::Feature::Streaming);
    let r = decision_record(&decision, &explanation, &request, &CTX);
    assert_eq!(r.effect, "allow");
    assert_eq!(r.decided_by, None);
    assert_eq!(
        r.shadow,
        vec![ShadowRefusal {
            directive: "foreign-national-frontier-2026".into(),
            effect: "deny".into(),
        }]
    );
    assert_eq!(r.features, vec!["tools".to_owned(), "streaming".to_owned()]);
    assert!(controlled(&explanation));
}

#[test]
fn a_shadow_directive_that_allows_or_is_exempted_is_not_a_shadow_refusal() {
    let (policy, j) = frontier_in_shadow();
    // A U.S. citizen is allowed by the directive itself.
    let us = subject(
        j,
        r#"{"verification": "document_verified", "citizenships": ["US"], "residence_country": "US"}"#,
    );
    let (decision, explanation, request) = decide(&policy, &us, "fable-5");
    let r = decision_record(&decision, &explanation, &request, &CTX);
    assert_eq!(
        r.consulted,
        vec!["foreign-national-frontier-2026".to_owned()]
    );
    assert!(r.shadow.is_empty(), "{:?}", r.shadow);
    assert!(r.features.is_empty());
    // A refusal lifted by a licence record naming the individual.
    let licensed = subject(
        j,
        r#"{"id": "licensed-org", "verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false,
            "organization": {"name": "Northwind Labs"},
            "licences": [{"number": "L-2026-0042", "authority": "Example authority",
                "directives": ["foreign-national-frontier-2026"], "holder": "northwind",
                "individuals": ["licensed-org"], "excluded_nationalities": [], "models": [],
                "issued": "2026-11-18T00:00:00Z", "expires": "2027-11-20T00:00:00Z"}]}"#,
    );
    let (decision, explanation, request) = decide(&policy, &licensed, "fable-5");
    let r = decision_record(&decision, &explanation, &request, &CTX);
    assert_eq!(
        explanation.shadow[0].effect_before_exemption,
        Some(cordon_policy::Effect::Deny),
        "the licence must be what lifts it"
    );
    assert!(r.shadow.is_empty(), "{:?}", r.shadow);
}

#[test]
fn a_long_model_name_is_kept_as_a_prefix_and_a_hash() {
    assert_eq!(bounded_model_name("fable-5"), "fable-5");
    let exact = "m".repeat(MAX_MODEL_NAME);
    assert_eq!(bounded_model_name(&exact), exact);
    let long = format!("{}{}", "é".repeat(100), "x".repeat(1 << 20));
    let b = bounded_model_name(&long);
    assert!(b.len() <= 64 * 4 + 80, "{}", b.len());
    assert!(b.starts_with(&"é".repeat(64)), "{b}");
    assert!(b.contains("…sha256:"), "{b}");
    // The same name always gives the same record; another name another one.
    assert_eq!(b, bounded_model_name(&long));
    assert_ne!(b, bounded_model_name(&format!("{long}y")));
}

/// The request path records from an explanation of `Detail::Decision`
/// (no rule reports, no value repeated across reasons); its leaf must be
/// the one the full explanation gives, byte for byte.
#[test]
fn the_decision_detail_records_the_same_leaf_as_the_full_explanation() {
    let (policy, j) = shipped();
    let subjects = [
        r#"{"verification": "document_verified", "source": "kyc-vendor", "citizenships": ["US"], "residence_country": "US", "screening": []}"#,
        r#"{"verification": "document_verified", "source": "kyc-vendor", "citizenships": ["DE", "IR"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#,
        r#"{"verification": "self_declared", "citizenships": ["DE"], "residence_country": "DE"}"#,
        r#"{"kind": "organization", "verification": "document_verified", "organization": {"name": "Example Trading Ltd", "country": "CN"}}"#,
        "{}",
    ];
    let mut compared = 0;
    for json in subjects {
        let s = subject(j, json);
        for model in ["fable-5", "lyric-4", "echo-embed-2", "no-such-model"] {
            for country in ["US", "DE", "CN", "RU", "IR"] {
                let id = match policy.catalog().resolve(model) {
                    Resolution::Known { id, .. } => Some(id),
                    Resolution::Unknown => None,
                };
                let mut request = Request::new(id, "2026-12-10T12:00:00Z".parse().unwrap());
                request.country = CountryCode::parse(country).ok();
                let mut trace = Trace::with_capacity(policy.max_consulted());
                let decision = policy.decide(&s, &request, &mut trace);
                let full = policy.explain(&s, &request, model, &decision, &trace);
                let brief = policy.explain_with(
                    &s,
                    &request,
                    model,
                    &decision,
                    &trace,
                    cordon_policy::Detail::Decision,
                );
                let leaf = |e: &Explanation| {
                    cordon_audit::leaf::encode(&cordon_audit::leaf::Record::Decision(
                        decision_record(&decision, e, &request, &CTX),
                    ))
                    .unwrap()
                };
                assert_eq!(
                    String::from_utf8(leaf(&full)).unwrap(),
                    String::from_utf8(leaf(&brief)).unwrap(),
                    "{model} from {country} for {json}"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 5 * 4 * 5);
}
