//! Accounts: a search, and one account with its attributes and hits.
//!
//! The search is a form post, not a query string: what is searched for
//! (a name, an organisation) is personal data and stays out of URLs, logs
//! and browser history.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cordon_store::AccountRecord;
use maud::{Markup, html};
use serde::Deserialize;

use crate::Console;
use crate::session::Session;

/// How many accounts a page lists.
const PAGE: usize = 50;

/// `GET /console/accounts`: the search form and the first accounts.
pub async fn index(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match allowed(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    list(&c, &s, None).await
}

/// The search form as posted.
#[derive(Debug, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /console/accounts`: accounts whose id or record (name,
/// organisation, countries, verification level, …) contains the query.
pub async fn search(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<SearchForm>,
) -> Response {
    let s = match super::checked(&c, &headers, f.csrf.as_deref()) {
        Ok(s) if s.role.may_see_accounts() => s,
        Ok(_) => return crate::security::refuse("your role does not show accounts"),
        Err(r) => return *r,
    };
    list(&c, &s, Some(f.q.trim().to_lowercase())).await
}

fn allowed(c: &Console, headers: &HeaderMap) -> Result<Session, super::Refusal> {
    let s = super::logged_in(c, headers)?;
    if s.role.may_see_accounts() {
        Ok(s)
    } else {
        Err(Box::new(crate::security::refuse(
            "your role does not show accounts",
        )))
    }
}

async fn list(c: &Console, s: &Session, query: Option<String>) -> Response {
    let records = Arc::clone(&c.records);
    let q = query.clone();
    let found = tokio::task::spawn_blocking(move || {
        Ok::<_, cordon_store::StoreError>((
            records.count()?,
            records.find(q.as_deref().unwrap_or(""), PAGE)?,
        ))
    })
    .await;
    let (total, accounts) = match found {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return super::failed("the identity store", &e),
        Err(e) => return super::failed("the identity store", &e),
    };
    let body = html! {
        form method="post" action="/console/accounts" {
            input type="hidden" name="csrf" value=(s.csrf);
            label { "Search by id, name, organisation, country or verification level"
                input name="q" value=(query.as_deref().unwrap_or("")); }
            button type="submit" { "Search" }
        }
        p { (accounts.len()) " shown of " (total) " accounts" @if query.is_some() { " (matching the search)" } "." }
        div class="scroll" role="region" tabindex="0" aria-label="Accounts" { table {
            thead { tr { th { "Account" } th { "Name" } th { "Citizenships" } th { "Verification" } th { "State" } } }
            tbody { @for a in &accounts { (row(a)) } }
        } }
    };
    super::layout(s, "Accounts", body).into_response()
}

fn field<'a>(a: &'a AccountRecord, key: &str) -> Option<&'a serde_json::Value> {
    a.subject.get(key)
}

fn text(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| text(Some(i)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

fn name(a: &AccountRecord) -> String {
    let own = text(field(a, "name"));
    if own.is_empty() {
        text(field(a, "organization").and_then(|o| o.get("name")))
    } else {
        own
    }
}

fn row(a: &AccountRecord) -> Markup {
    html! {
        tr {
            td { a href={ "/console/accounts/" (a.id) } { (a.id) } }
            td { (name(a)) }
            td { (text(field(a, "citizenships"))) }
            td { (text(field(a, "verification"))) }
            td { @if a.disabled { "disabled" } @else { "enabled" } }
        }
    }
}

/// `GET /console/accounts/{id}`: every attribute and every screening hit.
pub async fn one(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = match allowed(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let records = Arc::clone(&c.records);
    let wanted = id.clone();
    let log = c.audit_log.clone();
    let console = Arc::clone(&c);
    let found = tokio::task::spawn_blocking(move || {
        let account = records.account(&wanted)?;
        let (hits, evidence) = match &account {
            Some(_) => (records.hits(&wanted)?, records.evidence(&wanted)?),
            None => (Vec::new(), Vec::new()),
        };
        // Its recent decisions, when the log is here to read.
        let decisions = log.and_then(|dir| {
            let query = crate::decision_index::Query {
                account: Some(wanted.clone()),
                ..Default::default()
            };
            console
                .decisions
                .search(&dir, &query, 20)
                .map(|f| (f.decisions, f.searched))
                .map_err(
                    |e| tracing::warn!(error = %e, "cannot read the audit log for an account page"),
                )
                .ok()
        });
        Ok::<_, cordon_store::StoreError>((account, hits, evidence, decisions))
    })
    .await;
    let (account, hits, evidence, decisions) = match found {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return super::failed("the identity store", &e),
        Err(e) => return super::failed("the identity store", &e),
    };
    let Some(a) = account else {
        return (
            StatusCode::NOT_FOUND,
            super::layout(
                &s,
                "No such account",
                html! { p { "No account has the id " code { (id) } "." } },
            ),
        )
            .into_response();
    };
    let attributes: Vec<(String, String)> = a
        .subject
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::to_string_pretty(v).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let body = html! {
        p { "Created " (super::when(a.created_at)) ", last changed " (super::when(a.updated_at)) "; "
            @if a.disabled { strong { "disabled" } } @else { "enabled" } "." }
        h2 { "Attributes" }
        div class="scroll" role="region" tabindex="0" aria-label="Attributes" { table {
            thead { tr { th { "Attribute" } th { "Value" } } }
            tbody { @for (k, v) in &attributes { tr { td { code { (k) } } td { pre { (v) } } } } }
        } }
        h2 { "What if" }
        form method="post" action={ "/console/accounts/" (a.id) "/what-if" } class="login" {
            input type="hidden" name="csrf" value=(s.csrf);
            label { "Model" input name="model" value="fable-5" required; }
            label { "The caller's country (ISO code; empty: unknown)" input name="country"; }
            label { "Attributes changed (JSON: each field replaces the account's, null removes it)"
                textarea name="patch" rows="4" cols="60" { "{}" } }
            button type="submit" { "Decide without saving" }
        }
        @if matches!(s.role, crate::Role::Officer | crate::Role::Admin) {
            h2 { "Record a verification by hand" }
            form method="post" action={ "/console/accounts/" (a.id) "/verify" } class="login" {
                input type="hidden" name="csrf" value=(s.csrf);
                label { "Verification level"
                    select name="verification" {
                        option value="document_verified" { "document_verified: an identity document was checked" }
                        option value="attested" { "attested: vouched for by an accountable party" }
                    }
                }
                label { "Citizenships (ISO codes, comma-separated)" input name="citizenships" required; }
                label { "How it was verified" input name="how" required placeholder="passport seen in person"; }
                button type="submit" { "Record the verification" }
            }
        }
        h2 { "Evidence" }
        @if evidence.is_empty() { p { "None: the attributes were written by staff or imported." } } @else {
            div class="scroll" role="region" tabindex="0" aria-label="Evidence" { table {
                thead { tr { th { "Attribute" } th { "Value" } th { "Level" } th { "Source" } th { "Verified" } th { "Expires" } } }
                tbody { @for e in &evidence { tr {
                    td { (serde_json::to_value(e.attribute).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                    td { code { (e.value) } }
                    td { (e.level.as_str()) }
                    td { (e.source_kind.as_str()) ": " (e.source) }
                    td { (e.verified_at.map(super::when).unwrap_or_default()) }
                    td { (e.expires_at.map(super::when).unwrap_or_default()) }
                } } }
            } }
        }
        @if let Some((found, _)) = &decisions {
            h2 { "Recent decisions" }
            @if found.is_empty() { p { "None in the recent log." } } @else { (super::audit::decision_table(found)) }
        }
        h2 { "Screening hits" }
        @if hits.is_empty() { p { "None." } } @else {
            div class="scroll" role="region" tabindex="0" aria-label="Screening hits" { table {
                thead { tr { th { "List" } th { "Entry" } th { "Matched name" } th { "Score" } th { "Status" } } }
                tbody { @for h in &hits { tr {
                    td { (h.list.code()) } td { (h.entry_name) " (" (h.uid) ")" }
                    td { (h.matched_name) } td { (format!("{:.2}", h.score)) } td { (format!("{:?}", h.status).to_lowercase()) }
                } } }
            } }
        }
    };
    super::layout(&s, &format!("Account {}", a.id), body).into_response()
}

/// A verification recorded by hand, as posted.
#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    verification: String,
    #[serde(default)]
    citizenships: String,
    #[serde(default)]
    how: String,
}

/// `POST /console/accounts/{id}/verify`: an officer records what they
/// verified themselves (the level, the citizenships, how), in the account's
/// record, journaled under their name with how it was done.
pub async fn verify(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<VerifyForm>,
) -> Response {
    let s = match super::checked(&c, &headers, f.csrf.as_deref()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if !matches!(s.role, crate::Role::Officer | crate::Role::Admin) {
        return crate::security::refuse("only an officer or admin records a verification");
    }
    let citizenships: Vec<String> = f
        .citizenships
        .split(',')
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    if !matches!(f.verification.as_str(), "document_verified" | "attested")
        || citizenships.is_empty()
        || f.how.trim().is_empty()
    {
        return (
            StatusCode::BAD_REQUEST,
            super::bare(
                "Not recorded",
                "A verification needs its level, at least one citizenship and how it was done.",
            ),
        )
            .into_response();
    }
    let records = Arc::clone(&c.records);
    let now = (c.clock)();
    let actor = format!("console:{}", s.user);
    let account = id.clone();
    let done = tokio::task::spawn_blocking(move || {
        let patch = serde_json::json!({
            "verification": f.verification,
            "citizenships": citizenships,
            "source": actor,
            "verified_at": now.to_string(),
        });
        records.set_attributes(&account, patch.clone())?;
        records.journal_as(
            &actor,
            "account.verified_by_hand",
            &account,
            serde_json::json!({"set": patch, "how": f.how.trim()}),
        )
    })
    .await;
    match done {
        Ok(Ok(())) => {
            axum::response::Redirect::to(&format!("/console/accounts/{id}")).into_response()
        }
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            super::bare("Not recorded", &e.to_string()),
        )
            .into_response(),
        Err(e) => super::failed("the identity store", &e),
    }
}
