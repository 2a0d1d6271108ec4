//! The audit log: its size, latest checkpoint and most recent decisions.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cordon_audit::leaf::{self, Record};
use cordon_audit::{Checkpoint, InclusionBundle};
use cordon_audit_log::LogReader;
use maud::html;

use crate::Console;

/// How many recent entries the page lists.
const RECENT: u64 = 50;

/// The log's size and latest checkpoint.
///
/// # Errors
/// The reason the log could not be opened.
pub fn summary(dir: &Path) -> Result<(u64, Option<String>), String> {
    let reader = LogReader::open(dir).map_err(|e| e.to_string())?;
    Ok((reader.size(), reader.latest_checkpoint()))
}

/// `GET /console/audit`.
pub async fn page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match super::logged_in(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(dir) = c.audit_log.clone() else {
        return super::layout(
            &s,
            "Audit log",
            html! { p { "This console was started without an audit log." } },
        )
        .into_response();
    };
    let read = tokio::task::spawn_blocking(move || {
        let reader = LogReader::open(&dir).map_err(|e| e.to_string())?;
        let size = reader.size();
        let mut recent = Vec::new();
        for i in (size.saturating_sub(RECENT)..size).rev() {
            let bytes = reader.entry(i).map_err(|e| e.to_string())?;
            recent.push((i, leaf::decode(&bytes).ok()));
        }
        Ok::<_, String>((size, reader.latest_checkpoint(), recent))
    })
    .await;
    let (size, checkpoint, recent) = match read {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return super::failed("the audit log", &e),
        Err(e) => return super::failed("the audit log", &e),
    };
    let body = html! {
        p { (size) " entries." }
        @if let Some(cp) = &checkpoint { h2 { "Latest signed checkpoint" } pre { (cp) } }
        h2 { "Most recent entries" }
        table {
            thead { tr { th { "Index" } th { "Time" } th { "Kind" } th { "Account" } th { "Model" } th { "Effect" } th { "Decided by" } } }
            tbody {
                @for (i, record) in &recent {
                    tr {
                        td { a href={ "/console/audit/entries/" (i) } { (i) } }
                        @match record {
                            Some(Record::Decision(d)) => {
                                td { (d.time) } td { "decision" }
                                td { (d.account.as_deref().unwrap_or("—")) }
                                td { (d.model.as_deref().unwrap_or(&d.model_requested)) }
                                td class=(d.effect) { (d.effect) }
                                td { (d.decided_by.as_deref().unwrap_or("—")) }
                            }
                            Some(Record::Admin(a)) => {
                                td { (a.time) } td { "change: " (a.action) }
                                td { (a.subject.as_deref().unwrap_or("—")) } td { "" } td { "" } td { (a.actor) }
                            }
                            None => { td colspan="6" { "an entry this console does not read" } }
                        }
                    }
                }
            }
        }
    };
    super::layout(&s, "Audit log", body).into_response()
}

/// `GET /console/audit/entries/{index}`: one entry, decoded, with a link to
/// its receipt.
pub async fn entry(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    UrlPath(index): UrlPath<u64>,
) -> Response {
    let s = match super::logged_in(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(dir) = c.audit_log.clone() else {
        return (
            StatusCode::NOT_FOUND,
            super::bare(
                "No audit log",
                "This console was started without an audit log.",
            ),
        )
            .into_response();
    };
    let read = tokio::task::spawn_blocking(move || {
        let reader = LogReader::open(&dir).map_err(|e| e.to_string())?;
        if index >= reader.size() {
            return Ok(None);
        }
        let bytes = reader.entry(index).map_err(|e| e.to_string())?;
        Ok::<_, String>(Some(leaf::decode(&bytes).map_err(|e| e.to_string())))
    })
    .await;
    let record = match read {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => {
            return (
                StatusCode::NOT_FOUND,
                super::layout(
                    &s,
                    "No such entry",
                    html! { p { "The log has no entry " (index) "." } },
                ),
            )
                .into_response();
        }
        Ok(Err(e)) => return super::failed("the audit log", &e),
        Err(e) => return super::failed("the audit log", &e),
    };
    let body = html! {
        @match &record {
            Ok(Record::Decision(d)) => {
                table { tbody {
                    tr { th { "Decision" } td { code { (d.id) } } }
                    tr { th { "Time" } td { (d.time) } }
                    tr { th { "Account" } td { (d.account.as_deref().unwrap_or("—")) } }
                    tr { th { "Model" } td { (d.model.as_deref().unwrap_or(&d.model_requested)) } }
                    tr { th { "Endpoint" } td { (d.endpoint) } }
                    tr { th { "Effect" } td class=(d.effect) { (d.effect) } }
                    tr { th { "Decided by" } td { (d.decided_by.as_deref().unwrap_or("—")) } }
                    tr { th { "Directives consulted" } td { (d.consulted.join(", ")) } }
                    tr { th { "Country" } td { (d.client_country.as_deref().unwrap_or("unknown")) } }
                    tr { th { "Policy version" } td { code { (d.policy_version) } } }
                } }
                h2 { "Attributes the decision used" }
                ul { @for a in &d.attributes { li { (a.value) } } }
            }
            Ok(Record::Admin(a)) => {
                p { "A change: " code { (a.action) } " by " (a.actor) " at " (a.time) "." }
            }
            Err(e) => { p class="error" { "This entry does not read: " (e) } }
        }
        p { a href={ "/console/audit/entries/" (index) "/receipt" } { "Download the receipt" }
            " (C2SP tlog-proof; check it with " code { "cordon audit check-proof" } " and the log's public key)" }
    };
    super::layout(&s, &format!("Audit log entry {index}"), body).into_response()
}

/// `GET /console/audit/entries/{index}/receipt`: the entry's inclusion
/// proof against the latest signed checkpoint, with the entry itself, as a
/// download; checked with the log's public key before it is handed out.
pub async fn receipt(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    UrlPath(index): UrlPath<u64>,
) -> Response {
    if let Err(r) = super::logged_in(&c, &headers) {
        return *r;
    }
    let (Some(dir), Some(key)) = (c.audit_log.clone(), c.audit_key.clone()) else {
        return (
            StatusCode::NOT_FOUND,
            super::bare(
                "No receipts",
                "This console has no audit log, or not its public key.",
            ),
        )
            .into_response();
    };
    let made = tokio::task::spawn_blocking(move || -> Result<String, (StatusCode, String)> {
        let unreadable = |e: String| (StatusCode::INTERNAL_SERVER_ERROR, e);
        let reader = LogReader::open(&dir).map_err(|e| unreadable(e.to_string()))?;
        if index >= reader.size() {
            return Err((StatusCode::NOT_FOUND, format!("the log has no entry {index}")));
        }
        let text = reader.latest_checkpoint().ok_or_else(|| {
            (StatusCode::CONFLICT, "no checkpoint is signed yet: try again in a few seconds".to_owned())
        })?;
        let checkpoint = Checkpoint::open(&text, &key).map_err(|e| unreadable(e.to_string()))?;
        if checkpoint.size <= index {
            return Err((
                StatusCode::CONFLICT,
                format!("the latest signed checkpoint covers {} entries, not yet entry {index}: the gateway signs one every few seconds; try again", checkpoint.size),
            ));
        }
        let bundle = InclusionBundle {
            extra: Some(reader.entry(index).map_err(|e| unreadable(e.to_string()))?),
            index,
            proof: reader.inclusion_proof(index, checkpoint.size).map_err(|e| unreadable(e.to_string()))?,
            checkpoint: text,
        };
        bundle.check(&key).map_err(|e| unreadable(format!("the receipt does not verify: {e}")))?;
        Ok(bundle.encode())
    })
    .await;
    match made {
        Ok(Ok(text)) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"receipt-{index}.tlog-proof\""),
                ),
            ],
            text,
        )
            .into_response(),
        Ok(Err((status, e))) => (status, super::bare("No receipt", &e)).into_response(),
        Err(e) => super::failed("the audit log", &e),
    }
}
