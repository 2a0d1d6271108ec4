//! `cordon accounts attest`: an organisation's attestation about its
//! members, recorded as evidence exactly as the gateway's
//! `POST /v1/organizations/{id}/attestations` records it.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use cordon_store::{Delivered, Intake};

use crate::commands::identity::Admin;
use cordon_verification::{SourceKind, intake::sha256_hex, statement};
use serde_json::{Value, json};

pub(super) fn run(
    store: &dyn Admin,
    org: &str,
    members: &[String],
    subject: Value,
    expires: &str,
    id: &str,
) -> Result<ExitCode> {
    let Some(org_rec) = store.account(org)? else {
        bail!("no account `{org}`");
    };
    if org_rec.subject.get("kind").and_then(Value::as_str) != Some("organization") {
        bail!(
            "`{org}` is not an organisation account (its subject's `kind` is not `organization`)"
        );
    }
    let org_name = org_rec
        .subject
        .get("name")
        .or_else(|| org_rec.subject.pointer("/organization/name"))
        .and_then(Value::as_str)
        .with_context(|| {
            format!("organisation account `{org}` has no name to match its members by")
        })?
        .to_owned();
    let body = json!({
        "statement": statement::ATTESTATION, "id": id, "members": members,
        "subject": subject, "expires": expires,
    })
    .to_string();
    let now = jiff::Timestamp::now();
    let attested = statement::attestation(body.as_bytes(), now, store.jurisdictions())
        .context("the attestation does not check")?;
    for e in &attested.events {
        let belongs = store.account(&e.account)?.is_some_and(|rec| {
            rec.subject
                .pointer("/organization/name")
                .and_then(Value::as_str)
                == Some(org_name.as_str())
        });
        if !belongs {
            bail!(
                "account `{}` is not a member of `{org}` (its `organization.name` is not `{org_name}`); nothing was recorded",
                e.account
            );
        }
    }
    let sha = sha256_hex(body.as_bytes());
    let ids: Vec<String> = attested
        .events
        .iter()
        .map(|e| format!("{}:{}", attested.id, e.account))
        .collect();
    let delivered: Vec<Delivered<'_>> = attested
        .events
        .iter()
        .zip(&ids)
        .map(|(e, delivery)| Delivered {
            source: org,
            kind: SourceKind::OrgAttestation,
            delivery_id: Some(delivery),
            payload_sha256: &sha,
            event: e,
        })
        .collect();
    let outcomes = store.record_events(&delivered)?;
    for (e, o) in attested.events.iter().zip(&outcomes) {
        let what = match o {
            Intake::Accepted { changed: true, .. } => "recorded; the subject changed".to_owned(),
            Intake::Accepted { .. } => "recorded; the subject is unchanged".to_owned(),
            Intake::Replay { first } => format!("already recorded ({first})"),
            Intake::Pending => "pending".to_owned(),
            Intake::Orphan => "no such account".to_owned(),
        };
        println!("{}: {what}", e.account);
    }
    eprintln!(
        "attestation `{}` by `{org}` for {} member(s), attested until {}",
        attested.id,
        attested.events.len(),
        attested.expires
    );
    Ok(ExitCode::SUCCESS)
}
