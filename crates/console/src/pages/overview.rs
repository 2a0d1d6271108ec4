//! The overview: the directives in force and scheduled, what awaits a
//! reviewer, and the audit log's state.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cordon_policy::Mode;
use maud::html;

use crate::Console;

/// `GET /console/overview`.
pub async fn page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match super::logged_in(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let now = (c.clock)();
    let records = Arc::clone(&c.records);
    let counts = tokio::task::spawn_blocking(move || {
        Ok::<_, cordon_store::StoreError>((records.count()?, records.pending_hits()?.len()))
    })
    .await;
    let (accounts, pending) = match counts {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return super::failed("the identity store", &e),
        Err(e) => return super::failed("the identity store", &e),
    };
    let audit = c.audit_log.as_deref().map(super::audit::summary);
    let body = html! {
        ul class="figures" {
            li { strong { (c.policy().directives().iter().filter(|d| d.mode == Mode::Enforced).count()) } " directives enforced" }
            li { strong { (c.policy().directives().iter().filter(|d| d.mode == Mode::Shadow).count()) } " in shadow" }
            li { strong { (accounts) } " accounts" }
            li { strong { (pending) } " screening hits awaiting review" }
            @if let Some(Ok((size, _))) = &audit {
                li { strong { (size) } " audit log entries" }
            }
        }
        p { "Policy version " code { (c.policy().version()) } }
        h2 { "Directives" }
        div class="scroll" role="region" tabindex="0" aria-label="Directives" { table {
            thead { tr { th { "Directive" } th { "Mode" } th { "Standing" } th { "Effective" } th { "Grace until" } } }
            tbody {
                @for d in c.policy().directives() {
                    tr {
                        td { strong { (d.id) } br; (d.title) }
                        td { (d.mode.as_str()) }
                        td {
                            @if d.mode == Mode::Draft { "draft: decides nothing" }
                            @else if d.mode == Mode::Retired { "retired" }
                            @else if d.expires.is_some_and(|x| now >= x) { "expired" }
                            @else if now < d.effective { "scheduled: in " (countdown(now, d.effective)) }
                            @else if d.grace_until.is_some_and(|g| now < g) { "in grace for " (countdown(now, d.grace_until.unwrap_or(now))) }
                            @else if d.mode == Mode::Shadow { "in shadow: logs, refuses nothing" }
                            @else { "in force" }
                        }
                        td { (super::when(d.effective)) }
                        td { @if let Some(g) = d.grace_until { (super::when(g)) } @else { "—" } }
                    }
                }
            }
        } }
        @if let Some(Ok((_, Some(cp)))) = &audit {
            h2 { "Audit log" }
            p { "Latest signed checkpoint:" }
            pre { (cp) }
        }
    };
    super::layout(&s, "Overview", body).into_response()
}

/// How long from `now` until `then`, in days, hours and minutes.
fn countdown(now: jiff::Timestamp, then: jiff::Timestamp) -> String {
    let secs = (then.as_second() - now.as_second()).max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else {
        format!("{h} h {m} min")
    }
}
