//! Snapshots of every text format the crate emits, made with the fixed key.

use std::collections::BTreeMap;

use cordon_audit::leaf::{self, AttributeUsed, Mode, Obligations, Provenance, Source};
use cordon_audit::merkle::{self, MemoryTree};
use cordon_audit::{
    AdminRecord, Checkpoint, ConsistencyBundle, DecisionRecord, InclusionBundle, Pseudonym, Record,
    VerifierKey,
};

use crate::{snap, test_key};

/// A tree of `n` leaves `entry 0`, `entry 1`, …
fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(merkle::leaf_hash(format!("entry {i}").as_bytes()));
    }
    t
}

fn signed(t: &MemoryTree) -> String {
    Checkpoint::new(test_key().name(), t.size(), t.root())
        .sign(&test_key())
        .unwrap()
}

pub fn decision() -> DecisionRecord {
    DecisionRecord {
        id: "dec_5f0c1e2d3b4a69788796a5b4".into(),
        time: "2025-03-01T12:00:00Z".into(),
        account: Some("acct_7d2f".into()),
        model_requested: "frontier-large".into(),
        model: Some("frontier-large-2025-01".into()),
        endpoint: "chat".into(),
        effect: "allow_with_obligations".into(),
        mode: Mode::Enforced,
        decided_by: None,
        consulted: vec!["us-bis-ai-diffusion".into(), "eu-dual-use-annex-i".into()],
        obligations: Obligations {
            max_tokens: Some(4096),
            remove_features: vec!["tools".into(), "web_search".into()],
        },
        attributes: vec![
            AttributeUsed {
                name: "subject.citizenships".into(),
                value: "SG".into(),
                provenance: Some(Provenance {
                    source: Some("kyc-vendor".into()),
                    verification: "document_verified".into(),
                    verified_at: Some("2024-11-02T09:30:00Z".into()),
                }),
            },
            AttributeUsed {
                name: "request.country".into(),
                value: "SG".into(),
                provenance: None,
            },
        ],
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

pub fn admin() -> AdminRecord {
    let mut details = BTreeMap::new();
    details.insert("attribute".into(), "residence_country".into());
    details.insert("value".into(), "DE".into());
    details.insert("verification".into(), "attested".into());
    AdminRecord {
        id: "adm_0001".into(),
        time: "2025-03-01T12:05:00Z".into(),
        actor: Pseudonym::new(b"operator salt", "ops@example.com").into_string(),
        action: "account.attribute_set".into(),
        subject: Some("acct_7d2f".into()),
        details,
    }
}

#[test]
fn verifier_key_text() {
    let text = test_key().verifier().to_text();
    assert_eq!(VerifierKey::parse(&text).unwrap(), test_key().verifier());
    snap!("verifier_key", text);
}

#[test]
fn signing_key_text() {
    snap!("signing_key", test_key().to_text());
}

#[test]
fn signed_checkpoint() {
    let text = signed(&tree(5));
    assert_eq!(
        Checkpoint::open(&text, &test_key().verifier())
            .unwrap()
            .size,
        5
    );
    snap!("checkpoint", text);
}

#[test]
fn inclusion_bundle() {
    let leaf = leaf::encode(&Record::Decision(decision())).unwrap();
    let mut t = tree(6);
    t.push(merkle::leaf_hash(&leaf));
    t.push(merkle::leaf_hash(b"entry 7"));
    let bundle = InclusionBundle {
        extra: Some(leaf.clone()),
        index: 6,
        proof: merkle::inclusion_proof(&t, 6, t.size()).unwrap(),
        checkpoint: signed(&t),
    };
    let text = bundle.encode();
    let checked = InclusionBundle::parse(&text)
        .unwrap()
        .check(&test_key().verifier())
        .unwrap();
    assert_eq!(checked.leaf, leaf);
    snap!("inclusion_bundle", text);
}

#[test]
fn consistency_bundle() {
    let (old, new) = (tree(5), tree(12));
    let bundle = ConsistencyBundle {
        old: signed(&old),
        new: signed(&new),
        proof: merkle::consistency_proof(&new, 5, 12).unwrap(),
    };
    let text = bundle.encode();
    ConsistencyBundle::parse(&text)
        .unwrap()
        .check(&test_key().verifier())
        .unwrap();
    snap!("consistency_bundle", text);
}

#[test]
fn decision_leaf() {
    let bytes = leaf::encode(&Record::Decision(decision())).unwrap();
    assert_eq!(leaf::decode(&bytes).unwrap(), Record::Decision(decision()));
    snap!("decision_leaf", String::from_utf8(bytes).unwrap());
}

#[test]
fn admin_leaf() {
    let bytes = leaf::encode(&Record::Admin(admin())).unwrap();
    assert_eq!(leaf::decode(&bytes).unwrap(), Record::Admin(admin()));
    snap!("admin_leaf", String::from_utf8(bytes).unwrap());
}
