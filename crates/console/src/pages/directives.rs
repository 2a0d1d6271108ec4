//! Directives: the set with modes and standing, and changes to it under
//! the two-person rule: proposed by one officer, checked with file:line
//! findings shown beside the text, approved by another, then written where
//! the gateway reloads from. Each step is journaled under the user's name.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use crate::Console;
use crate::proposals::{Proposal, Status, is_error};
use crate::session::Session;

/// Whether the role may propose, approve or reject directive changes.
fn may_change(s: &Session) -> bool {
    matches!(s.role, crate::Role::Officer | crate::Role::Admin)
}

/// `GET /console/directives`.
pub async fn index(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match super::logged_in(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let policy = c.policy();
    let proposals = match c.directives.as_ref().map(|d| d.proposals()).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return super::failed("the proposals", &e),
    };
    let body = html! {
        p { "Policy version " code { (policy.version()) } }
        div class="scroll" role="region" tabindex="0" aria-label="Directives" { table {
            thead { tr { th { "Directive" } th { "Mode" } th { "File" } th { "Citation" } } }
            tbody { @for d in policy.directives() { tr {
                td { a href={ "/console/directives/" (d.id) } { strong { (d.id) } } br; (d.title) } td { (d.mode.as_str()) }
                td { code { (file_name(d.source.name())) } } td { (d.citation) }
            } } }
        } }
        h2 { "Proposed changes" }
        @if proposals.is_empty() { p { "None." } } @else {
            div class="scroll" role="region" tabindex="0" aria-label="Proposed changes" { table {
                thead { tr { th { "#" } th { "File" } th { "Proposed by" } th { "Check" } th { "Status" } } }
                tbody { @for p in &proposals { tr {
                    td { a href={ "/console/directives/proposals/" (p.id) } { (p.id) } }
                    td { code { (p.file) } } td { (p.proposed_by) " at " (p.proposed_at) }
                    td { @if p.has_errors { span class="refused" { "does not check" } } @else { "checks" } }
                    td { (status(p)) }
                } } }
            } }
        }
        @if c.directives.is_some() && may_change(&s) {
            h2 { "Propose a change" }
            form method="post" action="/console/directives/propose" class="login" {
                input type="hidden" name="csrf" value=(s.csrf);
                label { "File (added, or replaced if it exists)" input name="file" required placeholder="my-order.toml"; }
                label { "Its text" textarea name="text" rows="16" cols="80" required {} }
                button type="submit" { "Check and propose" }
            }
        }
    };
    super::layout(&s, "Directives", body).into_response()
}

/// How many of a directive's latest decisions its page lists.
const LATELY: usize = 50;

/// `GET /console/directives/{id}`: one directive with its source, citation
/// and the decisions it made or was consulted on lately.
pub async fn one(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match super::logged_in(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let policy = c.policy();
    let Some(d) = policy.directives().iter().find(|d| d.id == id) else {
        return (
            StatusCode::NOT_FOUND,
            super::layout(
                &s,
                "Directives",
                html! { p { "No directive in force or scheduled has this id." } },
            ),
        )
            .into_response();
    };
    let lately = match c.audit_log.clone() {
        Some(dir) => {
            let console = Arc::clone(&c);
            let query = crate::decision_index::Query {
                directive: Some(d.id.clone()),
                ..Default::default()
            };
            match tokio::task::spawn_blocking(move || {
                console.decisions.search(&dir, &query, LATELY)
            })
            .await
            {
                Ok(Ok(found)) => Some(found),
                Ok(Err(e)) => return super::failed("the audit log", &e),
                Err(e) => return super::failed("the audit log", &e),
            }
        }
        None => None,
    };
    let now = (c.clock)();
    let body = html! {
        p { (d.title) }
        div class="scroll" role="region" tabindex="0" aria-label="The directive" { table {
            tbody {
                tr { th scope="row" { "Authority" } td { (d.authority) } }
                tr { th scope="row" { "Citation" } td { (d.citation) } }
                @if let Some(link) = &d.link { tr { th scope="row" { "Link" } td { code { (link) } } } }
                tr { th scope="row" { "Issued" } td { (d.issued) } }
                tr { th scope="row" { "Mode" } td { (d.mode.as_str()) } }
                tr { th scope="row" { "Effective" } td { (super::when(d.effective)) @if now < d.effective { " (scheduled)" } } }
                tr { th scope="row" { "Grace until" } td { @if let Some(g) = d.grace_until { (super::when(g)) } @else { "—" } } }
                tr { th scope="row" { "Expires" } td { @if let Some(x) = d.expires { (super::when(x)) } @else { "—" } } }
                tr { th scope="row" { "Models" } td {
                    @if d.scope.models.is_empty() && d.scope.families.is_empty() && d.scope.tags.is_empty() { "all" }
                    @else {
                        (d.scope.models.join(", "))
                        @if !d.scope.families.is_empty() { " families: " (d.scope.families.join(", ")) }
                        @if !d.scope.tags.is_empty() { " tags: " (d.scope.tags.join(", ")) }
                    }
                } }
                tr { th scope="row" { "Refused customers read" } td { (d.message) } }
                tr { th scope="row" { "File" } td { code { (file_name(d.source.name())) } } }
            }
        } }
        h2 { "Decisions lately" }
        @match &lately {
            None => p { (super::audit::NO_LOG) },
            Some(found) => {
                p { (found.decisions.len()) " decision(s) that it decided or was consulted on, newest first, among the last " (found.searched) " entries"
                    @if found.decisions.len() >= LATELY { " (the latest " (LATELY) " shown)" } "." }
                (super::audit::decision_table(&found.decisions))
            }
        }
        h2 { "Source" }
        div class="scroll" role="region" tabindex="0" aria-label="The directive's file, by line" { table {
            tbody { @for (i, line) in d.source.text().lines().enumerate() {
                tr { td { (i + 1) } td { pre { (line) } } }
            } }
        } }
    };
    super::layout(&s, &d.id, body).into_response()
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

fn status(p: &Proposal) -> String {
    match p.status {
        Status::Proposed => "awaiting a second officer".to_owned(),
        Status::Approved => {
            let mut said = format!(
                "approved by {} at {}",
                p.decided_by.as_deref().unwrap_or("?"),
                p.decided_at.as_deref().unwrap_or("?")
            );
            if let Some(t) = &p.scheduled {
                said.push_str(&format!(", scheduled to take effect at {t}"));
            }
            if let Some(b) = &p.bundle {
                said.push_str(&format!(", published to the fleet as bundle {b}"));
            }
            said
        }
        Status::Rejected => format!("rejected by {}", p.decided_by.as_deref().unwrap_or("?")),
    }
}

/// A proposal as posted.
#[derive(Debug, Deserialize)]
pub struct ProposeForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    file: String,
    #[serde(default)]
    text: String,
}

/// `POST /console/directives/propose`.
pub async fn propose(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<ProposeForm>,
) -> Response {
    let s = match super::checked(&c, &headers, f.csrf.as_deref()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if !may_change(&s) {
        return crate::security::refuse("only an officer or admin proposes directive changes");
    }
    let console = Arc::clone(&c);
    let at = (c.clock)().to_string();
    let user = s.user.clone();
    let done = tokio::task::spawn_blocking(move || {
        let Some(set) = &console.directives else {
            return Err("this console shows a directive set it may not change".to_owned());
        };
        let text = f.text.replace("\r\n", "\n");
        let p = set
            .propose(f.file.trim(), &text, &user, &at)
            .map_err(|e| e.to_string())?;
        console
            .records
            .journal_as(
                &format!("console:{user}"),
                "directive.proposed",
                &p.file,
                json!({"proposal": p.id, "checks": !p.has_errors, "policy_version": p.policy_version}),
            )
            .map_err(|e| e.to_string())?;
        Ok(p)
    })
    .await;
    match done {
        Ok(Ok(p)) => {
            Redirect::to(&format!("/console/directives/proposals/{}", p.id)).into_response()
        }
        Ok(Err(e)) => (StatusCode::BAD_REQUEST, super::bare("Not proposed", &e)).into_response(),
        Err(e) => super::failed("the proposals", &e),
    }
}

/// The session and proposal `id` a page shows, or the response for a
/// browser not logged in, or a proposal that does not exist.
pub(crate) fn viewed(
    c: &Console,
    headers: &HeaderMap,
    id: u64,
) -> Result<(Session, Proposal), super::Refusal> {
    let s = super::logged_in(c, headers)?;
    let found = match c.directives.as_ref().map(|d| d.proposal(id)).transpose() {
        Ok(p) => p.flatten(),
        Err(e) => return Err(Box::new(super::failed("the proposals", &e))),
    };
    let Some(p) = found else {
        return Err(Box::new(
            (
                StatusCode::NOT_FOUND,
                super::layout(
                    &s,
                    "No such proposal",
                    html! { p { "No proposal has that number." } },
                ),
            )
                .into_response(),
        ));
    };
    Ok((s, p))
}

/// `GET /console/directives/proposals/{id}`: the text with its findings
/// beside the lines they name, and the decision forms.
pub async fn proposal(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    let (s, p) = match viewed(&c, &headers, id) {
        Ok(found) => found,
        Err(r) => return *r,
    };
    let impact = if super::simulation::simulated(&p) {
        Some(super::simulation::current(&c, &p).await)
    } else {
        None
    };
    // Findings on this file, by line.
    let on_line = |n: usize| -> Vec<&String> {
        let marker = format!("{}:{n}:", p.file);
        p.findings.iter().filter(|f| f.contains(&marker)).collect()
    };
    let body = html! {
        p { "Proposed by " strong { (p.proposed_by) } " at " (p.proposed_at) "; " (status(&p)) "." }
        @if p.has_errors {
            p class="error" role="alert" { "The directive set does not check with this change, so it cannot be approved." }
        } @else if let Some(v) = &p.policy_version {
            p { "The set checks with it; its policy version would be " code { (v) } "." }
        }
        @if !p.findings.is_empty() {
            h2 { "Findings" }
            ul { @for f in &p.findings { li class=[is_error(f).then_some("error")] { code { (f) } } } }
        }
        @match &impact {
            Some(Ok(run)) => (super::simulation::summary(p.id, run)),
            Some(Err(e)) => p class="error" role="alert" { "The impact simulation did not run: " (e) },
            None => {},
        }
        h2 { code { (p.file) } }
        div class="scroll" role="region" tabindex="0" aria-label="The proposed text, by line" { table {
            tbody { @for (i, line) in p.text.lines().enumerate() {
                tr {
                    td { (i + 1) }
                    td { pre { (line) } @for f in on_line(i + 1) { p class=[is_error(f).then_some("error")] { (f) } } }
                }
            } }
        } }
        @if p.status == Status::Proposed && may_change(&s) {
            h2 { "Decide" }
            @if p.proposed_by != s.user && !p.has_errors {
                form method="post" action={ "/console/directives/proposals/" (p.id) "/approve" } class="login" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label { "Takes effect from (UTC; leave empty for the time the file states, or set a later one)"
                        input type="datetime-local" name="effective"; }
                    button type="submit" { "Approve and apply" }
                }
            } @else if p.proposed_by == s.user {
                p { "You proposed this change: a second officer approves it." }
            }
            form method="post" action={ "/console/directives/proposals/" (p.id) "/reject" } {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { @if p.proposed_by == s.user { "Withdraw" } @else { "Reject" } }
            }
        }
    };
    let mut page = super::layout(&s, &format!("Proposal {}", p.id), body).into_response();
    if matches!(impact, Some(Ok(_))) {
        page.headers_mut().insert(
            axum::http::header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(super::simulation::FRAMING_CSP),
        );
    }
    page
}

/// A decision form: its token and, for an approval, when the change is
/// to take effect (empty: as its file says).
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    effective: String,
}

/// `POST /console/directives/proposals/{id}/approve` and `…/reject`.
pub async fn decide(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path((id, verdict)): Path<(u64, String)>,
    Form(f): Form<DecideForm>,
) -> Response {
    let s = match super::checked(&c, &headers, f.csrf.as_deref()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if !may_change(&s) {
        return crate::security::refuse("only an officer or admin decides directive changes");
    }
    let approve = match verdict.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return (
                StatusCode::NOT_FOUND,
                super::bare("Not found", "No such action."),
            )
                .into_response();
        }
    };
    let effective = match f.effective.trim() {
        "" => None,
        text if approve => match crate::proposals::schedule::parse_time(text) {
            Ok(t) => Some(t),
            Err(e) => {
                return (StatusCode::BAD_REQUEST, super::bare("Not decided", &e)).into_response();
            }
        },
        _ => None,
    };
    let console = Arc::clone(&c);
    let now = (c.clock)();
    let user = s.user.clone();
    let done = tokio::task::spawn_blocking(move || {
        let Some(set) = &console.directives else {
            return Err((StatusCode::BAD_REQUEST, "this console may not change its directive set".to_owned()));
        };
        let decided = if approve {
            set.approve(id, &user, now, effective)
        } else {
            set.reject(id, &user, &now.to_string())
        };
        let p = decided.map_err(|e| {
            let status = match e {
                crate::ConsoleError::InvalidProposal(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, e.to_string())
        })?;
        // A decided change is simulated no more.
        set.simulations.forget(p.id);
        console
            .records
            .journal_as(
                &format!("console:{user}"),
                if approve { "directive.approved" } else { "directive.rejected" },
                &p.file,
                json!({"proposal": p.id, "proposed_by": p.proposed_by, "policy_version": p.policy_version, "effective": p.scheduled, "bundle": p.bundle}),
            )
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        if approve {
            match set.load() {
                Ok(policy) => console.set_policy(policy),
                Err(e) => tracing::error!(error = %e, "the approved directive set does not load"),
            }
        }
        Ok(p)
    })
    .await;
    match done {
        Ok(Ok(p)) => {
            Redirect::to(&format!("/console/directives/proposals/{}", p.id)).into_response()
        }
        Ok(Err((status, e))) => (status, super::bare("Not decided", &e)).into_response(),
        Err(e) => super::failed("the proposals", &e),
    }
}
