//! Onfido (Entrust): webhook notifications and document reports
//! ([webhooks](https://documentation.identity.entrust.com/api/latest/#webhooks),
//! [reports](https://documentation.identity.entrust.com/api/latest/#reports)).
//!
//! A webhook is thin: `payload.resource_type`, `payload.action` and
//! `payload.object.{id, status, completed_at_iso8601, href}`. It names no
//! account and states no facts, so every webhook event is `Pending`, with
//! an empty `account`: the gateway knows which account a report belongs to
//! (it made the check) and reads the report it refetches as that
//! account's. Only reports are refetched (`report.completed`): an event
//! about a check or a workflow run has no object id to fetch.
//!
//! A document report has `name` `document`, `status`, `result` (`clear` or
//! `consider`), `sub_result` and `properties.{nationality, issuing_country,
//! document_type, date_of_expiry}`, countries in alpha-3.

use cordon_jurisdiction::Jurisdictions;

use super::country::country;
use super::json::{Node, parse_body};
use super::{Document, FetchRequest, document_kind, given_account};
use crate::PayloadError;
use crate::event::{Event, EventKind};

/// Reads a webhook notification: always `Pending`, its object id the
/// report's id (none for other resources), its time
/// `completed_at_iso8601`.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong.
pub fn parse(body: &[u8]) -> Result<Event, PayloadError> {
    let v = parse_body(body)?;
    let payload = Node::root(&v).req("payload")?;
    let resource_type = payload.req_str("resource_type")?;
    payload.req_str("action")?;
    let object = payload.req("object")?;
    let id = object.req_str("id")?;
    let event_time = object
        .opt("completed_at_iso8601")?
        .map(|n| n.time())
        .transpose()?;
    Ok(Event {
        account: String::new(),
        kind: EventKind::Pending,
        facts: Vec::new(),
        object_id: (resource_type == "report").then(|| id.to_owned()),
        event_time,
    })
}

/// Reads a fetched report as an event about `account`. A document report
/// that is complete and `clear` is `Completed`; `consider` with
/// `sub_result` `rejected` or `suspected`, or a `withdrawn` report, is
/// `Revoked`; anything else (still running, `caution`, another kind of
/// report) is `Pending`.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong.
pub fn read_fetched(
    account: &str,
    body: &[u8],
    jurisdictions: &Jurisdictions,
) -> Result<Event, PayloadError> {
    let account = given_account(account)?;
    let v = parse_body(body)?;
    let report = Node::root(&v);
    let id = report.req_str("id")?;
    let name = report.req_str("name")?;
    let status = report.req_str("status")?;
    let result = report.opt_str("result")?;
    let sub_result = report.opt_str("sub_result")?;
    let kind = match (name, status, result, sub_result) {
        (_, "withdrawn", _, _) => EventKind::Revoked,
        ("document", "complete", Some("clear"), _) => EventKind::Completed,
        ("document", "complete", Some("consider"), Some("rejected" | "suspected")) => {
            EventKind::Revoked
        }
        _ => EventKind::Pending,
    };
    let facts = if kind == EventKind::Completed {
        let doc = match report.opt("properties")? {
            Some(p) => Document {
                kind: p.opt_str("document_type")?.map(document_kind),
                country: match p.opt("issuing_country")? {
                    Some(n) => country(&n, jurisdictions)?,
                    None => None,
                },
                nationality: match p.opt("nationality")? {
                    Some(n) => country(&n, jurisdictions)?,
                    None => None,
                },
                expires_at: p.opt("date_of_expiry")?.map(|n| n.date()).transpose()?,
                verified_at: report.opt("created_at")?.map(|n| n.time()).transpose()?,
            },
            None => Document::default(),
        };
        doc.facts()
    } else {
        Vec::new()
    };
    Ok(Event {
        account,
        kind,
        facts,
        object_id: Some(id.to_owned()),
        event_time: None,
    })
}

/// The tag that names the Cordon account on an Onfido check: the
/// integrator creates each check with `tags: ["cordon-account:<id>"]`.
/// Reports name no customer of the integrator's, so the check is where the
/// account is read.
pub const ACCOUNT_TAG: &str = "cordon-account:";

/// `GET /v3.6/checks/{check_id}` for the fetched report's check, whose tags
/// name the account.
///
/// # Errors
/// [`PayloadError`] for a report without a usable `check_id`.
pub(super) fn check_fetch(
    base: &str,
    report: &[u8],
    api_token: &str,
) -> Result<FetchRequest, PayloadError> {
    let v = parse_body(report)?;
    let node = Node::root(&v).req("check_id")?;
    let id = node.str()?;
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if !ok {
        return Err(node.invalid("not an Onfido object id"));
    }
    Ok(FetchRequest {
        method: "GET",
        url: format!("{base}/v3.6/checks/{id}"),
        headers: vec![
            ("Authorization".into(), format!("Token token={api_token}")),
            ("Accept".into(), "application/json".into()),
        ],
    })
}

/// The account a fetched check names in its tags ([`ACCOUNT_TAG`]):
/// exactly one such tag.
///
/// # Errors
/// [`PayloadError`] naming `tags` when none or several name an account.
pub(super) fn account_of_check(check: &[u8]) -> Result<String, PayloadError> {
    let v = parse_body(check)?;
    let tags = Node::root(&v).req("tags")?;
    let mut found = None;
    for tag in tags.items()? {
        if let Some(account) = tag.str()?.strip_prefix(ACCOUNT_TAG) {
            if found.is_some() {
                return Err(tags.invalid(format!("more than one `{ACCOUNT_TAG}` tag")));
            }
            found = Some(super::given_account(account)?);
        }
    }
    found.ok_or_else(|| {
        tags.invalid(format!(
            "no `{ACCOUNT_TAG}<account>` tag: create checks with the Cordon account as a tag"
        ))
    })
}

/// `GET /v3.6/reports/{id}` with `Authorization: Token token=…`. The
/// webhook's `href` is not followed: the configured base URL decides
/// where credentials go.
pub(super) fn fetch(base: &str, id: &str, api_token: &str) -> FetchRequest {
    FetchRequest {
        method: "GET",
        url: format!("{base}/v3.6/reports/{id}"),
        headers: vec![
            ("Authorization".into(), format!("Token token={api_token}")),
            ("Accept".into(), "application/json".into()),
        ],
    }
}
