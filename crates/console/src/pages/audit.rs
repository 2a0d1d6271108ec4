//! The audit log: its size, latest checkpoint and most recent decisions.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cordon_audit::leaf::{self, Record};
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
                        td { (i) }
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
