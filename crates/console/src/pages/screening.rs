//! Screening review: the hits awaiting a reviewer, and their dispositions.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cordon_store::screening::ReviewDecision;
use cordon_subject::RestrictedList;
use maud::html;
use serde::Deserialize;

use crate::Console;

mod explain;

/// `GET /console/screening`.
pub async fn queue(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match super::logged_in(&c, &headers) {
        Ok(s) if s.role.may_see_accounts() => s,
        Ok(_) => return crate::security::refuse("your role does not show accounts"),
        Err(r) => return *r,
    };
    let console = Arc::clone(&c);
    let read = tokio::task::spawn_blocking(move || {
        let records = &*console.records;
        let pending = records.pending_hits()?;
        let entries = console.list_entries.active(records)?;
        // Each hit with its entry and the dispositions recorded on it before.
        let mut shown = Vec::with_capacity(pending.len());
        for h in pending {
            let history: Vec<_> = records
                .dispositions(&h.account)?
                .into_iter()
                .filter(|d| d.list == h.list && d.uid == h.uid)
                .collect();
            let entry = entries.get(&(h.list, h.uid.clone())).cloned();
            shown.push((h, entry, history));
        }
        Ok::<_, cordon_store::StoreError>(shown)
    })
    .await;
    let pending = match read {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return super::failed("the screening hits", &e),
        Err(e) => return super::failed("the screening hits", &e),
    };
    let body = html! {
        p { (pending.len()) " hit(s) awaiting review." }
        @for (h, entry, history) in &pending {
            section {
                h2 { a href={ "/console/accounts/" (h.account) } { (h.account) } ": " (h.list.code()) " entry " (h.uid) }
                p { "Account name " strong { (h.matched_name) } " matched the listed name " strong { (h.entry_name) }
                    " with score " (format!("{:.2}", h.score)) ", first seen " (super::when(h.first_seen)) "." }
                @if let Some(e) = entry {
                    @if let Some((score, why)) = explain::explain(e, &h.matched_name) {
                        h3 { "How the names align" }
                        (explain::table(&format!("How {} aligns with entry {}", h.matched_name, h.uid), score, &why))
                    }
                    details {
                        summary { "The list entry" }
                        (explain::entry(e))
                    }
                } @else {
                    p { "The entry is not in the active list snapshot." }
                }
                @if !history.is_empty() {
                    h3 { "Decided before" }
                    ul { @for d in history { li {
                        (format!("{:?}", d.decision).to_lowercase()) " by " (d.reviewer) " at " (super::when(d.decided_at))
                        @if let Some(n) = &d.note { ": " (n) }
                        @if !d.applies { " (an earlier version of the entry, or replaced)" }
                    } } }
                }
                @if s.role.may_review() {
                    form method="post" action="/console/screening/decide" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="account" value=(h.account);
                        input type="hidden" name="list" value=(h.list.code());
                        input type="hidden" name="uid" value=(h.uid);
                        label { "Decision"
                            select name="decision" {
                                option value="cleared" { "Cleared: not the listed party" }
                                option value="confirmed" { "Confirmed: the listed party" }
                            }
                        }
                        label { "Reason" input name="note" required; }
                        button type="submit" { "Record the decision" }
                    }
                }
            }
        }
    };
    super::layout(&s, "Screening review", body).into_response()
}

/// A disposition as posted.
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    account: String,
    #[serde(default)]
    list: String,
    #[serde(default)]
    uid: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

/// `POST /console/screening/decide`: a reviewer's decision on one hit,
/// recorded (and journaled) under the reviewer's name.
pub async fn decide(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<DecideForm>,
) -> Response {
    let s = match super::checked(&c, &headers, f.csrf.as_deref()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if !s.role.may_review() {
        return crate::security::refuse("only a reviewer, officer or admin decides screening hits");
    }
    let (Some(list), Some(decision)) = (
        RestrictedList::parse(&f.list),
        match f.decision.as_str() {
            "cleared" => Some(ReviewDecision::Cleared),
            "confirmed" => Some(ReviewDecision::Confirmed),
            _ => None,
        },
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            super::bare("Not recorded", "The form names no known list or decision."),
        )
            .into_response();
    };
    if f.note.trim().is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            super::bare("Not recorded", "A decision needs a reason."),
        )
            .into_response();
    }
    let records = Arc::clone(&c.records);
    let now = (c.clock)();
    let reviewer = format!("console:{}", s.user);
    let done = tokio::task::spawn_blocking(move || {
        records.set_disposition(
            &f.account,
            list,
            &f.uid,
            decision,
            &reviewer,
            Some(f.note.trim()),
            now,
        )
    })
    .await;
    match done {
        Ok(Ok(_)) => Redirect::to("/console/screening").into_response(),
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            super::bare("Not recorded", &e.to_string()),
        )
            .into_response(),
        Err(e) => super::failed("the screening hits", &e),
    }
}
