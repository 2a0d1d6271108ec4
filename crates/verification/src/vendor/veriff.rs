//! Veriff: decision webhooks, event webhooks, and session decisions
//! ([decision webhook](https://devdocs.veriff.com/docs/decision-webhook),
//! [API](https://devdocs.veriff.com/apidocs)).
//!
//! A decision is `{"status": "success", "verification": {…}}`: the
//! session's `id`, `attemptId`, `status`, `vendorData` (the account),
//! `decisionTime`, `person.nationality`, and `document.{type, country,
//! validUntil}` (as modelled). An event webhook (`{"id", "attemptId",
//! "action": "started"|"submitted", "vendorData"}`) is never a decision.
//! The decision fetched from the API has the same shape, with
//! `verification` `null` until there is one.

use cordon_jurisdiction::Jurisdictions;
use ring::hmac;

use super::country::country;
use super::json::{Node, parse_body};
use super::{Document, FetchRequest, account_at, document_kind, given_account, same_account};
use crate::PayloadError;
use crate::event::{Event, EventKind};
use crate::webhook::hex_encode;

/// Reads a decision or event webhook. `verification.status` `approved` is
/// `Completed`; `declined`, `expired` and `abandoned` are `Revoked`;
/// `resubmission_requested` and `review` are `Pending`, as is every event
/// webhook.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong; an unknown status is
/// [`PayloadError::Invalid`] on `verification.status`.
pub fn parse(body: &[u8], jurisdictions: &Jurisdictions) -> Result<Event, PayloadError> {
    let v = parse_body(body)?;
    let root = Node::root(&v);
    match root.opt("verification")? {
        Some(verification) => {
            let account = account_at(&verification.req("vendorData")?)?;
            decision(&verification, account, jurisdictions)
        }
        None => {
            // An event webhook: the session started or was submitted.
            root.req_str("action")?;
            Ok(Event {
                account: account_at(&root.req("vendorData")?)?,
                kind: EventKind::Pending,
                facts: Vec::new(),
                object_id: Some(root.req_str("id")?.to_owned()),
                event_time: None,
            })
        }
    }
}

/// Reads a decision fetched from `GET /v1/sessions/{id}/decision`; a
/// `null` verification (no decision yet) is `Pending`.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong, or
/// `verification.vendorData` when it names another account.
pub fn read_fetched(
    account: &str,
    body: &[u8],
    jurisdictions: &Jurisdictions,
) -> Result<Event, PayloadError> {
    let expected = given_account(account)?;
    let v = parse_body(body)?;
    let root = Node::root(&v);
    let Some(verification) = root.opt("verification")? else {
        root.object()?;
        return Ok(Event {
            account: expected,
            kind: EventKind::Pending,
            facts: Vec::new(),
            object_id: None,
            event_time: None,
        });
    };
    if let Some(vendor_data) = verification.opt("vendorData")? {
        same_account(&vendor_data, &account_at(&vendor_data)?, &expected)?;
    }
    decision(&verification, expected, jurisdictions)
}

fn decision(
    verification: &Node<'_>,
    account: String,
    jurisdictions: &Jurisdictions,
) -> Result<Event, PayloadError> {
    let id = verification.req_str("id")?;
    let status = verification.req("status")?;
    let kind = match status.str()? {
        "approved" => EventKind::Completed,
        "declined" | "expired" | "abandoned" => EventKind::Revoked,
        "resubmission_requested" | "review" => EventKind::Pending,
        other => {
            return Err(status.invalid(format!(
                "`{other}` is not a decision (approved, declined, resubmission_requested, \
                 review, expired, abandoned)"
            )));
        }
    };
    let decided = verification
        .opt("decisionTime")?
        .map(|n| n.time())
        .transpose()?;
    let facts = if kind == EventKind::Completed {
        let nationality = match verification.opt("person")? {
            Some(person) => match person.opt("nationality")? {
                Some(n) => country(&n, jurisdictions)?,
                None => None,
            },
            None => None,
        };
        let mut doc = Document {
            nationality,
            verified_at: decided,
            ..Document::default()
        };
        if let Some(d) = verification.opt("document")? {
            doc.kind = d.opt_str("type")?.map(document_kind);
            doc.country = match d.opt("country")? {
                Some(n) => country(&n, jurisdictions)?,
                None => None,
            };
            doc.expires_at = d.opt("validUntil")?.map(|n| n.date()).transpose()?;
        }
        doc.facts()
    } else {
        Vec::new()
    };
    Ok(Event {
        account,
        kind,
        facts,
        object_id: Some(id.to_owned()),
        event_time: decided,
    })
}

/// `GET /v1/sessions/{id}/decision`, with `X-AUTH-CLIENT` and the
/// `X-HMAC-SIGNATURE` of the session id (a `GET` has no body; Veriff signs
/// the id in its place, as modelled).
pub(super) fn fetch(base: &str, id: &str, api_key: &str, secret: &str) -> FetchRequest {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let signature = hex_encode(hmac::sign(&key, id.as_bytes()).as_ref());
    FetchRequest {
        method: "GET",
        url: format!("{base}/v1/sessions/{id}/decision"),
        headers: vec![
            ("X-AUTH-CLIENT".into(), api_key.to_owned()),
            ("X-HMAC-SIGNATURE".into(), signature),
            ("Content-Type".into(), "application/json".into()),
        ],
    }
}
