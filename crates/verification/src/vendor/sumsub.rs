//! Sumsub: applicant webhooks and applicants
//! ([webhooks](https://docs.sumsub.com/docs/user-verification-webhooks),
//! [applicant data](https://docs.sumsub.com/reference/get-applicant-data),
//! [request signing](https://docs.sumsub.com/reference/authentication)).
//!
//! A webhook names the applicant (`applicantId`), the account
//! (`externalUserId`), the `type` and, for `applicantReviewed`, the
//! `reviewResult`; it states no facts, which come from the refetched
//! applicant: `info.nationality` and `info.idDocs[]` (`idDocType`,
//! `country`, `validUntil`), countries in alpha-3 (as modelled).

use cordon_jurisdiction::Jurisdictions;
use jiff::Timestamp;
use ring::hmac;

use super::country::country;
use super::json::{Node, parse_body};
use super::{Document, FetchRequest, account_at, document_kind, given_account, same_account};
use crate::PayloadError;
use crate::event::{Event, EventKind};
use crate::fact::Fact;
use crate::webhook::hex_encode;

/// Reads a webhook. `applicantReviewed` is `Completed` (with no facts)
/// when `reviewResult.reviewAnswer` is `GREEN`; `RED` is `Revoked` unless
/// `reviewRejectType` is `RETRY` (the applicant may resubmit: `Pending`);
/// `YELLOW` is `Pending`. `applicantReset` and `applicantDeleted` are
/// `Revoked`; every other type is `Pending`. The event time is
/// `createdAtMs` (`2026-12-07 10:00:00.123`, UTC).
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong.
pub fn parse(body: &[u8]) -> Result<Event, PayloadError> {
    let v = parse_body(body)?;
    let root = Node::root(&v);
    let ty = root.req_str("type")?;
    let applicant = root.req_str("applicantId")?;
    let account = account_at(&root.req("externalUserId")?)?;
    let kind = match ty {
        "applicantReviewed" => review_kind(&root.req("reviewResult")?, true)?,
        "applicantReset" | "applicantDeleted" => EventKind::Revoked,
        _ => EventKind::Pending,
    };
    let event_time = match root.opt("createdAtMs")? {
        Some(n) => Some(n.time()?),
        None => root.opt("createdAt")?.map(|n| n.time()).transpose()?,
    };
    Ok(Event {
        account,
        kind,
        facts: Vec::new(),
        object_id: Some(applicant.to_owned()),
        event_time,
    })
}

/// What a review result means. `required`: whether `reviewAnswer` must be
/// there (a webhook's must; a fetched applicant not yet reviewed has
/// none, which is `Pending`).
fn review_kind(result: &Node<'_>, required: bool) -> Result<EventKind, PayloadError> {
    let answer = if required {
        Some(result.req("reviewAnswer")?)
    } else {
        result.opt("reviewAnswer")?
    };
    let Some(answer) = answer else {
        return Ok(EventKind::Pending);
    };
    Ok(match answer.str()? {
        "GREEN" => EventKind::Completed,
        "RED" => match result.opt_str("reviewRejectType")? {
            Some("RETRY") => EventKind::Pending,
            _ => EventKind::Revoked,
        },
        "YELLOW" => EventKind::Pending,
        other => {
            return Err(answer.invalid(format!("`{other}` is not `GREEN`, `RED` or `YELLOW`")));
        }
    })
}

/// Reads an applicant fetched from `GET /resources/applicants/{id}/one`:
/// `review.reviewResult` as for a webhook, no review result yet being
/// `Pending`; a `GREEN` applicant's facts from `info`.
///
/// # Errors
/// [`PayloadError`] naming the path missing or wrong, or `externalUserId`
/// when it names another account.
pub fn read_fetched(
    account: &str,
    body: &[u8],
    jurisdictions: &Jurisdictions,
) -> Result<Event, PayloadError> {
    let expected = given_account(account)?;
    let v = parse_body(body)?;
    let applicant = Node::root(&v);
    let external = applicant.req("externalUserId")?;
    same_account(&external, &account_at(&external)?, &expected)?;
    let id = applicant.req_str("id")?;
    let (kind, reviewed_at) = match applicant.opt("review")? {
        Some(review) => {
            let kind = match review.opt("reviewResult")? {
                Some(result) => review_kind(&result, false)?,
                None => EventKind::Pending,
            };
            let at = review.opt("reviewDate")?.map(|n| n.time()).transpose()?;
            (kind, at)
        }
        None => (EventKind::Pending, None),
    };
    let facts = match (kind, applicant.opt("info")?) {
        (EventKind::Completed, Some(info)) => info_facts(&info, reviewed_at, jurisdictions)?,
        _ => Vec::new(),
    };
    Ok(Event {
        account: expected,
        kind,
        facts,
        object_id: Some(id.to_owned()),
        event_time: reviewed_at,
    })
}

/// The facts of a reviewed applicant's `info`: the nationality, else a
/// passport's country; the document is the first passport in `idDocs`,
/// else the first document.
fn info_facts(
    info: &Node<'_>,
    reviewed_at: Option<Timestamp>,
    jurisdictions: &Jurisdictions,
) -> Result<Vec<Fact>, PayloadError> {
    let mut doc = Document {
        nationality: match info.opt("nationality")? {
            Some(n) => country(&n, jurisdictions)?,
            None => None,
        },
        verified_at: reviewed_at,
        ..Document::default()
    };
    if let Some(docs) = info.opt("idDocs")? {
        let items = docs.items()?;
        let mut chosen = None;
        for item in &items {
            if item.opt_str("idDocType")? == Some("PASSPORT") {
                chosen = Some(item);
                break;
            }
        }
        if let Some(d) = chosen.or(items.first()) {
            doc.kind = d.opt_str("idDocType")?.map(document_kind);
            doc.country = match d.opt("country")? {
                Some(n) => country(&n, jurisdictions)?,
                None => None,
            };
            doc.expires_at = d.opt("validUntil")?.map(|n| n.date()).transpose()?;
        }
    }
    Ok(doc.facts())
}

/// `GET /resources/applicants/{id}/one`, signed: `X-App-Token`,
/// `X-App-Access-Ts` (unix seconds) and `X-App-Access-Sig`, the hex
/// HMAC-SHA256 of `{ts}GET{path}` with the App Token's secret key.
pub(super) fn fetch(
    base: &str,
    id: &str,
    app_token: &str,
    secret: &str,
    now: Timestamp,
) -> FetchRequest {
    let path = format!("/resources/applicants/{id}/one");
    let ts = now.as_second().to_string();
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let signature = hex_encode(hmac::sign(&key, format!("{ts}GET{path}").as_bytes()).as_ref());
    FetchRequest {
        method: "GET",
        url: format!("{base}{path}"),
        headers: vec![
            ("X-App-Token".into(), app_token.to_owned()),
            ("X-App-Access-Ts".into(), ts),
            ("X-App-Access-Sig".into(), signature),
            ("Accept".into(), "application/json".into()),
        ],
    }
}
