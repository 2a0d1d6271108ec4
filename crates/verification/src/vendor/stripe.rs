//! Stripe Identity: `identity.verification_session.*` events and
//! verification sessions
//! ([sessions](https://docs.stripe.com/api/identity/verification_sessions),
//! [reports](https://docs.stripe.com/api/identity/verification_reports)).
//!
//! The event's `data.object` is the verification session; its account is
//! `metadata.cordon_account`, else `client_reference_id` (both set must
//! agree). The facts come from the session's last verification report,
//! which a webhook names only by id: a webhook's `verified` event is
//! `Completed` with no facts unless the report happens to be expanded, and
//! the facts arrive with the refetched session. Stripe's document report
//! has `type`, `issuing_country` and `expiration_date` but no nationality,
//! so only a passport yields a citizenship (its issuing country).

use cordon_jurisdiction::Jurisdictions;
use jiff::Timestamp;

use super::country::country;
use super::json::{Node, parse_body};
use super::{Document, FetchRequest, account_at, document_kind, given_account, same_account};
use crate::PayloadError;
use crate::event::{Event, EventKind};
use crate::fact::Fact;

/// The session metadata key naming the account.
pub const ACCOUNT_METADATA_KEY: &str = "cordon_account";

/// The prefix of the events understood.
const PREFIX: &str = "identity.verification_session.";

/// Reads a webhook event: `verified` is `Completed`; `canceled` and
/// `redacted` are `Revoked`; every other session event (`requires_input`,
/// `processing`, `created`) is `Pending`. The event time is its `created`.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong; an event that is not
/// about a verification session is [`PayloadError::UnknownType`].
pub fn parse(body: &[u8], jurisdictions: &Jurisdictions) -> Result<Event, PayloadError> {
    let v = parse_body(body)?;
    let root = Node::root(&v);
    let ty = root.req_str("type")?;
    let kind = match ty.strip_prefix(PREFIX) {
        Some("verified") => EventKind::Completed,
        Some("canceled" | "redacted") => EventKind::Revoked,
        Some(_) => EventKind::Pending,
        None => {
            return Err(PayloadError::UnknownType {
                found: ty.to_owned(),
                expected: "an `identity.verification_session.*` event",
            });
        }
    };
    let event_time = root.opt("created")?.map(|n| n.unix()).transpose()?;
    let session = root.req("data")?.req("object")?;
    let (account, _) = session_account(&session)?;
    session_event(&session, kind, account, event_time, false, jurisdictions)
}

/// Reads a session fetched with its last report expanded: status
/// `verified` is `Completed`, `canceled` (or a redacted session) is
/// `Revoked`, `requires_input` and `processing` are `Pending`. The event
/// time is the report's `created`.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong, or the account
/// fields when they name another account.
pub fn read_fetched(
    account: &str,
    body: &[u8],
    jurisdictions: &Jurisdictions,
) -> Result<Event, PayloadError> {
    let expected = given_account(account)?;
    let v = parse_body(body)?;
    let session = Node::root(&v);
    let (found, at) = session_account(&session)?;
    same_account(&at, &found, &expected)?;
    let redacted = match session.opt("redaction")? {
        Some(r) => r.opt_str("status")? == Some("redacted"),
        None => false,
    };
    let status = session.req("status")?;
    let kind = match status.str()? {
        _ if redacted => EventKind::Revoked,
        "verified" => EventKind::Completed,
        "canceled" => EventKind::Revoked,
        "requires_input" | "processing" => EventKind::Pending,
        other => {
            return Err(status.invalid(format!(
                "`{other}` is not `requires_input`, `processing`, `verified` or `canceled`"
            )));
        }
    };
    let event_time = match session.opt("last_verification_report")? {
        Some(r) if r.value.is_object() => r.opt("created")?.map(|n| n.unix()).transpose()?,
        _ => None,
    };
    session_event(&session, kind, expected, event_time, true, jurisdictions)
}

/// The session's account and the node it was read from.
fn session_account<'a>(session: &Node<'a>) -> Result<(String, Node<'a>), PayloadError> {
    let from_metadata = match session.opt("metadata")? {
        Some(m) => m.opt(ACCOUNT_METADATA_KEY)?,
        None => None,
    };
    let from_reference = session.opt("client_reference_id")?;
    match (from_metadata, from_reference) {
        (Some(m), Some(r)) => {
            let (a, b) = (account_at(&m)?, account_at(&r)?);
            if a != b {
                return Err(m.invalid(format!("it names `{a}` and `{}` names `{b}`", r.name())));
            }
            Ok((a, m))
        }
        (Some(n), None) | (None, Some(n)) => Ok((account_at(&n)?, n)),
        (None, None) => Err(PayloadError::Missing(format!(
            "{} (or {})",
            session.child(&format!("metadata.{ACCOUNT_METADATA_KEY}")),
            session.child("client_reference_id")
        ))),
    }
}

fn session_event(
    session: &Node<'_>,
    kind: EventKind,
    account: String,
    event_time: Option<Timestamp>,
    fetched: bool,
    jurisdictions: &Jurisdictions,
) -> Result<Event, PayloadError> {
    if let Some(object) = session.opt("object")?
        && object.str()? != "identity.verification_session"
    {
        return Err(object.invalid("it is not `identity.verification_session`"));
    }
    let id = session.req_str("id")?;
    let facts = match (kind, session.opt("last_verification_report")?) {
        (EventKind::Completed, Some(r)) if r.value.is_object() => report_facts(&r, jurisdictions)?,
        (EventKind::Completed, Some(r)) if !r.value.is_string() => {
            return Err(r.wrong("a report id or an expanded report"));
        }
        (EventKind::Completed, _) if fetched => {
            return Err(PayloadError::Invalid {
                field: session.child("last_verification_report"),
                reason: "a verified session is fetched with the report expanded \
                         (`expand[]=last_verification_report`)"
                    .into(),
            });
        }
        _ => Vec::new(),
    };
    Ok(Event {
        account,
        kind,
        facts,
        object_id: Some(id.to_owned()),
        event_time,
    })
}

/// The facts of an expanded verification report: a citizenship for a
/// verified passport, nothing for other documents.
fn report_facts(
    report: &Node<'_>,
    jurisdictions: &Jurisdictions,
) -> Result<Vec<Fact>, PayloadError> {
    let Some(doc) = report.opt("document")? else {
        return Ok(Vec::new());
    };
    if doc.opt_str("status")? != Some("verified") {
        return Ok(Vec::new());
    }
    let country = match doc.opt("issuing_country")? {
        Some(n) => country(&n, jurisdictions)?,
        None => None,
    };
    let expires_at = match doc.opt("expiration_date")? {
        Some(n) => n.day_month_year()?,
        None => None,
    };
    Ok(Document {
        kind: doc.opt_str("type")?.map(document_kind),
        country,
        nationality: None,
        expires_at,
        verified_at: report.opt("created")?.map(|n| n.unix()).transpose()?,
    }
    .facts())
}

/// `GET /v1/identity/verification_sessions/{id}` with the last report
/// expanded, and its document's expiration date (a sensitive field Stripe
/// returns only when asked for, to a key allowed to read it).
pub(super) fn fetch(base: &str, id: &str, api_key: &str) -> FetchRequest {
    FetchRequest {
        method: "GET",
        url: format!(
            "{base}/v1/identity/verification_sessions/{id}\
             ?expand%5B%5D=last_verification_report\
             &expand%5B%5D=last_verification_report.document.expiration_date"
        ),
        headers: vec![("Authorization".into(), format!("Bearer {api_key}"))],
    }
}
