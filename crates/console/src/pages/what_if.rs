//! "What if": a request decided for an account with some attributes
//! changed, without saving anything: how an officer sees what a
//! verification, or a move, would change before anyone makes it.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cordon_catalog::Resolution;
use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_policy::{Request, Trace};
use cordon_subject::SubjectRecord;
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use crate::Console;

/// The what-if form as posted.
#[derive(Debug, Deserialize)]
pub struct WhatIfForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    model: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    patch: String,
}

/// `POST /console/accounts/{id}/what-if`: the decision and its explanation
/// for the account's record with `patch` applied; nothing is stored and
/// nothing is journaled. The active licences the account holds are
/// applied, judged against the changed record as the gateway judges them.
pub async fn decide(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<WhatIfForm>,
) -> Response {
    let s = match super::checked(&c, &headers, f.csrf.as_deref()) {
        Ok(s) if s.role.may_see_accounts() => s,
        Ok(_) => return crate::security::refuse("your role does not show accounts"),
        Err(r) => return *r,
    };
    let bad = |why: String| {
        (
            StatusCode::BAD_REQUEST,
            super::layout(
                &s,
                "What if",
                html! { p class="error" role="alert" { (why) } },
            ),
        )
            .into_response()
    };
    let records = Arc::clone(&c.records);
    let wanted = id.clone();
    let record = match tokio::task::spawn_blocking(move || records.account(&wanted)).await {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => return bad(format!("no account `{id}`")),
        Ok(Err(e)) => return super::failed("the identity store", &e),
        Err(e) => return super::failed("the identity store", &e),
    };
    let patch: Value = match serde_json::from_str(if f.patch.trim().is_empty() {
        "{}"
    } else {
        &f.patch
    }) {
        Ok(Value::Object(p)) => Value::Object(p),
        Ok(_) => return bad("the changed attributes must be a JSON object".into()),
        Err(e) => return bad(format!("the changed attributes are not JSON: {e}")),
    };
    let mut merged = record.subject.clone();
    if let (Some(m), Value::Object(p)) = (merged.as_object_mut(), &patch) {
        for (k, v) in p {
            if v.is_null() {
                m.remove(k);
            } else {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    let jurisdictions = match Jurisdictions::embedded() {
        Ok(j) => j,
        Err(e) => return super::failed("the country tables", &e),
    };
    let mut subject = match SubjectRecord::from_json(&merged.to_string())
        .and_then(|r| r.into_subject(jurisdictions))
    {
        Ok(s) => s,
        Err(e) => return bad(format!("the changed record is not a subject: {e}")),
    };
    subject.id = Some(id.clone());
    // The licences the account holds, judged against the changed record as
    // the gateway would judge them against the stored one.
    let records = Arc::clone(&c.records);
    let account = id.clone();
    let subject = match tokio::task::spawn_blocking(move || {
        records
            .attach_licences(&account, &mut subject)
            .map(|()| subject)
    })
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return super::failed("the licences", &e),
        Err(e) => return super::failed("the licences", &e),
    };
    let policy = c.policy();
    let model = f.model.trim();
    let model_id = match policy.catalog().resolve(model) {
        Resolution::Known { id, .. } => Some(id),
        Resolution::Unknown => return bad(format!("the catalog has no model `{model}`")),
    };
    let mut request = Request::new(model_id, (c.clock)());
    let country = f.country.trim();
    if !country.is_empty() {
        match CountryCode::parse(&country.to_ascii_uppercase()) {
            Ok(cc) => request.country = Some(cc),
            Err(e) => return bad(format!("`{country}` is not a country: {e}")),
        }
    }
    let mut trace = Trace::with_capacity(policy.max_consulted());
    let decision = policy.decide(&subject, &request, &mut trace);
    let explanation = policy.explain(&subject, &request, model, &decision, &trace);
    let body = html! {
        p { "Account " a href={ "/console/accounts/" (id) } { (id) } " with these attributes changed, nothing saved:" }
        pre { (serde_json::to_string_pretty(&patch).unwrap_or_default()) }
        h2 { "Decision" }
        pre { (explanation.to_text()) }
        @if !subject.licences.is_empty() {
            p { "Licences applied, as the gateway applies them: "
                @for (i, l) in subject.licences.iter().enumerate() { @if i > 0 { ", " } code { (l.number) } } "." }
        }
    };
    super::layout(&s, "What if", body).into_response()
}
