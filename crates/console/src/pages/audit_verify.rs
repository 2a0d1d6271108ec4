//! "Verify the log" on the audit page: the check `cordon audit verify`
//! makes, run on the server over the whole log — every entry's bytes, hash
//! and position, every batch, every stored checkpoint's signature with the
//! log's public key and its consistency with the one before — and its
//! outcome shown. It reads and changes nothing, so it is not journaled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use cordon_audit::Checkpoint;
use cordon_audit_log::{LogReader, VerifyError, VerifyReport};
use maud::{Markup, html};
use serde::Deserialize;

use crate::Console;
use crate::session::Session;

/// Whether the role may run the verification: the log's readers of record.
pub(crate) fn may_verify(s: &Session) -> bool {
    matches!(s.role, crate::Role::Auditor | crate::Role::Admin)
}

/// The button on the audit page.
pub(crate) fn form(s: &Session) -> Markup {
    html! {
        @if may_verify(s) {
            form method="post" action="/console/audit/verify" {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { "Verify the whole log" }
            }
        }
    }
}

/// The verification form: only its token.
#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: Option<String>,
}

/// What a run found.
enum Outcome {
    /// Everything checked; the latest checkpoint's size, if there is one.
    Verified(VerifyReport, Option<u64>),
    /// The first problem.
    Broken(VerifyError),
}

/// `POST /console/audit/verify`.
pub async fn run(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<VerifyForm>,
) -> Response {
    let s = match super::checked(&c, &headers, f.csrf.as_deref()) {
        Ok(s) if may_verify(&s) => s,
        Ok(_) => return crate::security::refuse("only an auditor or admin verifies the log"),
        Err(r) => return *r,
    };
    let (Some(dir), Some(key)) = (c.audit_log.clone(), c.audit_key.clone()) else {
        return super::layout(
            &s,
            "Audit log verification",
            html! { p { "This console was started without an audit log and its public key, so it has nothing to verify with." } },
        )
        .into_response();
    };
    let started = Instant::now();
    let done = tokio::task::spawn_blocking(move || {
        let reader = LogReader::open(&dir).map_err(|e| e.to_string())?;
        let outcome = match cordon_audit_log::verify(&reader, &key) {
            Ok(report) => {
                // Its signature was checked by the run; this reads its size.
                let signed = reader
                    .latest_checkpoint()
                    .and_then(|text| Checkpoint::open(&text, &key).ok())
                    .map(|cp| cp.size);
                Outcome::Verified(report, signed)
            }
            Err(e) => Outcome::Broken(e),
        };
        Ok::<_, String>((outcome, key.to_text()))
    })
    .await;
    let (outcome, key) = match done {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return super::failed("the audit log", &e),
        Err(e) => return super::failed("the audit log", &e),
    };
    let body = result(&outcome, &key, started.elapsed());
    super::layout(&s, "Audit log verification", body).into_response()
}

/// The result page's body.
fn result(outcome: &Outcome, key: &str, took: Duration) -> Markup {
    html! {
        @match outcome {
            Outcome::Verified(r, signed) => {
                p class="verified" role="status" { "Verified: the log is intact." }
                div class="scroll" role="region" tabindex="0" aria-label="The verification" { table {
                    tbody {
                        tr { th { "Entries checked" } td data-figure="entries" { (r.entries) } }
                        tr { th { "Batches" } td { (r.batches) } }
                        tr { th { "Segments" } td { (r.segments) } }
                        tr { th { "Checkpoints verified with the public key" } td data-figure="checkpoints" { (r.checkpoints) } }
                        tr { th { "Signed" } td { @match signed {
                            Some(n) if *n == r.entries => { "all " (n) " entries" }
                            Some(n) => { "the first " (n) " entries; " (r.entries.saturating_sub(*n)) " not yet covered by a checkpoint" }
                            None => { "nothing: the log has no checkpoint yet" }
                        } } }
                        tr { th { "Root" } td { code { (base64::engine::general_purpose::STANDARD.encode(r.root)) } } }
                        tr { th { "Key" } td { code { (key) } } }
                        @if r.ignored_tail_bytes > 0 {
                            tr { th { "Ignored" } td class="error" {
                                (r.ignored_tail_bytes) " bytes at the end of the last segment that do not read as a whole record: a write cut short by a crash, or damage to the last record; a writer cuts them when it opens the log"
                            } }
                        }
                    }
                } }
            }
            Outcome::Broken(e) => {
                p class="error" role="alert" { "The log does not verify." }
                @if let Some(i) = first_bad_entry(e) {
                    p { "The first entry that cannot be trusted: " strong data-figure="bad-entry" { (i) } "." }
                }
                pre { (e) }
            }
        }
        p { "Took " (format!("{:.2}", took.as_secs_f64())) " s. Nothing was changed or journaled." }
        p { a href="/console/audit" { "Back to the audit log" } }
    }
}

/// The index of the first entry a problem leaves untrusted, when it names one.
fn first_bad_entry(e: &VerifyError) -> Option<u64> {
    match e {
        VerifyError::Entry { index, .. } | VerifyError::Batch { index, .. } => Some(*index),
        _ => None,
    }
}
