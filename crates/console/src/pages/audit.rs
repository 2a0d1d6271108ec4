//! The audit log: its size, latest checkpoint and most recent decisions.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cordon_audit::leaf::{self, DecisionRecord, Record};
use cordon_audit::{Checkpoint, InclusionBundle};
use cordon_audit_log::LogReader;
use maud::html;

use crate::Console;
use crate::decision_index::Query;

/// How many recent entries the page lists.
const RECENT: u64 = 50;

/// How many entries the overview's tally reads back from the end of the
/// log at most.
pub const SEARCH_SPAN: u64 = 200_000;

/// How many matching decisions a search shows at most.
pub const SEARCH_SHOWN: usize = 100;

/// A table of decisions, each linked to its entry.
pub(crate) fn decision_table(found: &[(u64, DecisionRecord)]) -> maud::Markup {
    html! {
        div class="scroll" role="region" tabindex="0" aria-label="Decisions" { table {
            thead { tr { th { "Entry" } th { "Time" } th { "Account" } th { "Model" } th { "Effect" } th { "Decided by" } } }
            tbody { @for (i, d) in found { tr {
                td { a href={ "/console/audit/entries/" (i) } { (i) } }
                td { (d.time) } td { (d.account.as_deref().unwrap_or("—")) }
                td { (d.model.as_deref().unwrap_or(&d.model_requested)) }
                td class=(d.effect) { (d.effect) }
                td { (d.decided_by.as_deref().unwrap_or("—")) }
            } } }
        } }
    }
}

/// The decision search as posted: every field optional, all must match.
#[derive(Debug, serde::Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    account: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    directive: String,
    #[serde(default)]
    effect: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
}

fn search_form(csrf: &str, f: Option<&SearchForm>) -> maud::Markup {
    let v = |get: fn(&SearchForm) -> &str| f.map_or("", get).to_owned();
    html! {
        form method="post" action="/console/audit/search" {
            input type="hidden" name="csrf" value=(csrf);
            label { "Account" input name="account" value=(v(|f| &f.account)); }
            label { "Model" input name="model" value=(v(|f| &f.model)); }
            label { "Directive (decided by or consulted)" input name="directive" value=(v(|f| &f.directive)); }
            label { "Effect (allow, deny, verification_required, …)" input name="effect" value=(v(|f| &f.effect)); }
            label { "From (RFC 3339)" input name="since" value=(v(|f| &f.since)) placeholder="2026-12-01T00:00:00Z"; }
            label { "Until (RFC 3339)" input name="until" value=(v(|f| &f.until)); }
            button type="submit" { "Search decisions" }
        }
    }
}

/// `POST /console/audit/search`: decisions by account, model, directive,
/// effect and time, newest first.
pub async fn search(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<SearchForm>,
) -> Response {
    let s = match super::checked(&c, &headers, f.csrf.as_deref()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(dir) = c.audit_log.clone() else {
        return no_log(&s);
    };
    let time = |t: &str, field: &str| -> Result<Option<jiff::Timestamp>, String> {
        let t = t.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|e| format!("`{field}` is not an RFC 3339 time ({e})"))
    };
    let (since, until) = match (time(&f.since, "From"), time(&f.until, "Until")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return (
                StatusCode::BAD_REQUEST,
                super::layout(
                    &s,
                    "Audit log",
                    html! { p class="error" { (e) } (search_form(&s.csrf, Some(&f))) },
                ),
            )
                .into_response();
        }
    };
    let want = |field: &str| Some(field.trim().to_owned()).filter(|x| !x.is_empty());
    let query = Query {
        account: want(&f.account),
        model: want(&f.model),
        directive: want(&f.directive),
        effect: want(&f.effect),
        since,
        until,
    };
    let console = Arc::clone(&c);
    let found =
        tokio::task::spawn_blocking(move || console.decisions.search(&dir, &query, SEARCH_SHOWN))
            .await;
    let (found, read) = match found {
        Ok(Ok(f)) => (f.decisions, f.searched),
        Ok(Err(e)) => return super::failed("the audit log", &e),
        Err(e) => return super::failed("the audit log", &e),
    };
    let body = html! {
        (search_form(&s.csrf, Some(&f)))
        p { (found.len()) " decision(s) found among the last " (read) " entries"
            @if found.len() >= SEARCH_SHOWN { " (the first " (SEARCH_SHOWN) " shown)" } "." }
        (decision_table(&found))
    };
    super::layout(&s, "Decisions", body).into_response()
}

/// The audit page of a console started without an audit log.
fn no_log(s: &crate::session::Session) -> Response {
    super::layout(s, "Audit log", html! { p { (NO_LOG) } }).into_response()
}

/// What a page that reads the audit log says without one.
pub(crate) const NO_LOG: &str = "This console was started without an audit log.";

/// `GET /console/audit`.
pub async fn page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match super::logged_in(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(dir) = c.audit_log.clone() else {
        return no_log(&s);
    };
    let key = c.audit_key.clone();
    let read = tokio::task::spawn_blocking(move || {
        let reader = LogReader::open(&dir).map_err(|e| e.to_string())?;
        let size = reader.size();
        let checkpoints = super::checkpoints::newest(&reader, key.as_ref());
        let mut recent = Vec::new();
        for i in (size.saturating_sub(RECENT)..size).rev() {
            let bytes = reader.entry(i).map_err(|e| e.to_string())?;
            recent.push((i, leaf::decode(&bytes).ok()));
        }
        Ok::<_, String>((size, reader.latest_checkpoint(), recent, checkpoints))
    })
    .await;
    let (size, checkpoint, recent, checkpoints) = match read {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return super::failed("the audit log", &e),
        Err(e) => return super::failed("the audit log", &e),
    };
    let body = html! {
        h2 { "Search decisions" }
        (search_form(&s.csrf, None))
        p { (size) " entries." }
        (super::audit_verify::form(&s))
        @if let Some(cp) = &checkpoint { h2 { "Latest signed checkpoint" } pre { (cp) } }
        @if !checkpoints.is_empty() {
            h2 { "Checkpoints" }
            p { "The newest " (checkpoints.len()) " stored, newest first, each checked with the log's public key and against the root of the log's own entries." }
            div class="scroll" role="region" tabindex="0" aria-label="Checkpoints" { table {
                thead { tr { th scope="col" { "Entries covered" } th scope="col" { "Standing" } } }
                tbody { @for (size, standing) in &checkpoints { tr {
                    td { @if let Some(n) = size { (n) } @else { "does not read" } }
                    @match standing {
                        super::checkpoints::Standing::Verified { .. } => td class="allow" { "verifies" },
                        super::checkpoints::Standing::Unchecked => td { "not checked: no public key" },
                        super::checkpoints::Standing::Failed(why) => td class="error" { (why) },
                    }
                } } }
            } }
        }
        h2 { "Most recent entries" }
        div class="scroll" role="region" tabindex="0" aria-label="Most recent entries" { table {
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
        } }
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
        return (StatusCode::NOT_FOUND, super::bare("No audit log", NO_LOG)).into_response();
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
                div class="scroll" role="region" tabindex="0" aria-label="The entry" { table { tbody {
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
                } } }
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
