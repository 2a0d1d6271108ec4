//! Persona: `inquiry.*` events and inquiries
//! ([webhooks](https://docs.withpersona.com/docs/webhooks),
//! [inquiries](https://docs.withpersona.com/reference/retrieve-an-inquiry)).
//!
//! A webhook is a JSON:API document whose `data` is the event: its name is
//! `data.attributes.name`, its time `data.attributes.created-at` (which
//! orders events: Persona may deliver them twice and out of order), and
//! the inquiry is `data.attributes.payload.data`, with its verifications
//! in `data.attributes.payload.included` (as modelled). The account is the
//! inquiry's `reference-id`. Facts come from the latest passed
//! `verification/government-id` (or `-nfc`): `nationality` when present,
//! else the issuing `country-code` of a passport (`id-class` `pp`).

use cordon_jurisdiction::Jurisdictions;
use jiff::Timestamp;

use super::country::country;
use super::json::{Node, parse_body};
use super::{Document, FetchRequest, account_at, document_kind, given_account, same_account};
use crate::PayloadError;
use crate::event::{Event, EventKind};
use crate::fact::Fact;

/// The verification types read for facts.
const GOVERNMENT_ID: [&str; 2] = [
    "verification/government-id",
    "verification/government-id-nfc",
];

/// Reads a webhook event: `inquiry.approved` and `inquiry.completed` are
/// `Completed`, `inquiry.declined` is `Revoked`, every other inquiry event
/// (`created`, `started`, `expired`, `failed`, `marked-for-review`,
/// `transitioned`) is `Pending`.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong; an event that is not
/// about an inquiry is [`PayloadError::UnknownType`].
pub fn parse(body: &[u8], jurisdictions: &Jurisdictions) -> Result<Event, PayloadError> {
    let v = parse_body(body)?;
    let attributes = Node::root(&v).req("data")?.req("attributes")?;
    let name = attributes.req_str("name")?;
    let kind = match name.strip_prefix("inquiry.") {
        Some("approved" | "completed") => EventKind::Completed,
        Some("declined") => EventKind::Revoked,
        Some(_) => EventKind::Pending,
        None => {
            return Err(PayloadError::UnknownType {
                found: name.to_owned(),
                expected: "an `inquiry.*` event",
            });
        }
    };
    let event_time = attributes
        .opt("created-at")?
        .map(|n| n.time())
        .transpose()?;
    let payload = attributes.req("payload")?;
    let inquiry = payload.req("data")?;
    let account = account_at(&inquiry.req("attributes")?.req("reference-id")?)?;
    inquiry_event(
        &inquiry,
        payload.opt("included")?,
        kind,
        account,
        event_time,
        jurisdictions,
    )
}

/// Reads an inquiry fetched with its verifications included: status
/// `approved` or `completed` is `Completed`, `declined` is `Revoked`,
/// `created`, `pending`, `needs_review`, `failed` and `expired` are
/// `Pending`.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong, or `reference-id`
/// when it names another account.
pub fn read_fetched(
    account: &str,
    body: &[u8],
    jurisdictions: &Jurisdictions,
) -> Result<Event, PayloadError> {
    let expected = given_account(account)?;
    let v = parse_body(body)?;
    let root = Node::root(&v);
    let inquiry = root.req("data")?;
    let attributes = inquiry.req("attributes")?;
    let reference = attributes.req("reference-id")?;
    same_account(&reference, &account_at(&reference)?, &expected)?;
    let status = attributes.req("status")?;
    let kind = match status.str()? {
        "approved" | "completed" => EventKind::Completed,
        "declined" => EventKind::Revoked,
        "created" | "pending" | "needs_review" | "failed" | "expired" => EventKind::Pending,
        other => {
            return Err(status.invalid(format!(
                "`{other}` is not an inquiry status (created, pending, completed, \
                 needs_review, approved, declined, failed, expired)"
            )));
        }
    };
    inquiry_event(
        &inquiry,
        root.opt("included")?,
        kind,
        expected,
        None,
        jurisdictions,
    )
}

fn inquiry_event(
    inquiry: &Node<'_>,
    included: Option<Node<'_>>,
    kind: EventKind,
    account: String,
    event_time: Option<Timestamp>,
    jurisdictions: &Jurisdictions,
) -> Result<Event, PayloadError> {
    if let Some(ty) = inquiry.opt("type")?
        && ty.str()? != "inquiry"
    {
        return Err(ty.invalid("it is not `inquiry`"));
    }
    let id = inquiry.req_str("id")?;
    let facts = match (kind, included) {
        (EventKind::Completed, Some(included)) => government_id_facts(&included, jurisdictions)?,
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

/// The facts of the latest passed government-id verification.
fn government_id_facts(
    included: &Node<'_>,
    jurisdictions: &Jurisdictions,
) -> Result<Vec<Fact>, PayloadError> {
    let mut best: Option<Document> = None;
    for item in included.items()? {
        let Some(ty) = item.opt_str("type")? else {
            continue;
        };
        if !GOVERNMENT_ID.contains(&ty) {
            continue;
        }
        let a = item.req("attributes")?;
        if a.opt_str("status")? != Some("passed") {
            continue;
        }
        let doc = Document {
            kind: a.opt_str("id-class")?.map(document_kind),
            country: match a.opt("country-code")? {
                Some(n) => country(&n, jurisdictions)?,
                None => None,
            },
            nationality: match a.opt("nationality")? {
                Some(n) => country(&n, jurisdictions)?,
                None => None,
            },
            expires_at: a.opt("expiration-date")?.map(|n| n.date()).transpose()?,
            verified_at: a.opt("completed-at")?.map(|n| n.time()).transpose()?,
        };
        if best
            .as_ref()
            .is_none_or(|b| doc.verified_at >= b.verified_at)
        {
            best = Some(doc);
        }
    }
    Ok(best.map(|d| d.facts()).unwrap_or_default())
}

/// `GET /api/v1/inquiries/{id}?include=verifications`.
pub(super) fn fetch(base: &str, id: &str, api_key: &str) -> FetchRequest {
    FetchRequest {
        method: "GET",
        url: format!("{base}/api/v1/inquiries/{id}?include=verifications"),
        headers: vec![
            ("Authorization".into(), format!("Bearer {api_key}")),
            ("Accept".into(), "application/json".into()),
        ],
    }
}
