//! A proposal's impact simulation: its summary on the proposal page, and
//! the full report as its own page, framed there.
//!
//! The report is a complete HTML document with its own `<style>` element
//! and `style` attributes. Rather than loosen the console's policy, it is
//! served alone at `…/simulation` with a policy of its own: its one style
//! element allowed by hash, style attributes allowed (they can fetch
//! nothing: every fetch is refused), no script, framed only by the console
//! itself; the proposal page frames it in a sandboxed `iframe`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use cordon_simulate::Transition;
use maud::{Markup, html};

use crate::Console;
use crate::proposals::{Proposal, Status};
use crate::simulation::{Compared, Run};

/// Whether proposal `p` is simulated: only a change still awaiting a
/// decision whose set checks.
pub(crate) fn simulated(p: &Proposal) -> bool {
    p.status == Status::Proposed && !p.has_errors
}

/// The current run of proposal `p`: the kept one if the store and the set
/// in force are as it saw them, else a new one, kept.
pub(crate) async fn current(c: &Arc<Console>, p: &Proposal) -> Result<Arc<Run>, String> {
    let console = Arc::clone(c);
    let p = p.clone();
    let done = tokio::task::spawn_blocking(move || {
        let Some(set) = &console.directives else {
            return Err("this console has no directive set to simulate".to_owned());
        };
        let baseline = console.policy();
        let store_version = console.records.version().map_err(|e| e.to_string())?;
        if let Some(run) = set.simulations.latest(p.id)
            && run.is_current(store_version, baseline.version())
        {
            return Ok(run);
        }
        let proposed = set.proposed_policy(&p)?;
        let label = format!("proposal {}: {}", p.id, p.file);
        let sets = Compared {
            baseline,
            proposed: Arc::new(proposed),
            label: &label,
        };
        let run = crate::simulation::run(
            console.records.as_ref(),
            sets,
            set.jurisdictions,
            (console.clock)(),
        )
        .map_err(|e| e.to_string())?;
        let run = Arc::new(run);
        set.simulations.keep(p.id, Arc::clone(&run));
        Ok(run)
    })
    .await;
    done.map_err(|e| e.to_string())?
}

/// The summary shown on the proposal page, with the report framed below.
pub(crate) fn summary(id: u64, run: &Run) -> Markup {
    let r = &run.report;
    let a = &r.accounts_by_transition;
    html! {
            h2 { "Impact on the accounts in the store" }
            p class="simulated" {
                "Simulated at " (super::when(run.ran_at)) " against store version " (run.store_version)
                " in " (format!("{:.2}", run.took.as_secs_f64())) " s; decisions as of " (super::when(r.at)) "."
            }
            div class="scroll" role="region" tabindex="0" aria-label="Impact on the accounts" { table class="impact" {
                thead { tr { th { "Accounts" } th { "How many" } } }
                tbody {
                    tr { td { "simulated" } td data-figure="accounts" { (r.accounts) } }
                    tr { td { "affected" } td data-figure="affected_accounts" { (r.affected_accounts) } }
                    @for t in [Transition::LoseAccess, Transition::GainAccess, Transition::VerificationRequired, Transition::VerificationRequiredAfterGrace] {
                        tr {
                            td { (t.as_str().replace('_', " ")) }
                            td data-figure={ "accounts_by_transition." (t.as_str()) } { (a.get(t).unwrap_or(0)) }
                        }
                    }
                }
            } }
            @if r.changed_directives.is_empty() {
                p { "No directive changes in effect: the proposed set decides as the set in force does." }
            } @else {
    div class="scroll" role="region" tabindex="0" aria-label="Changed directives" {             table {
                    thead { tr { th { "Directive" } th { "Change" } th { "Mode" } th { "Standing" } th { "Effective" } } }
                    tbody { @for d in &r.changed_directives { tr {
                        td { (d.id) } td { (d.change.as_str()) } td { (d.mode.as_str()) }
                        td { (d.standing.as_str()) } td { (super::when(d.effective)) }
                    } } }
                } }
            }
            @for note in &r.notes { p class="note" { (note) } }
            iframe class="report" title="The impact report" sandbox=""
                src={ "/console/directives/proposals/" (id) "/simulation" } {}
        }
}

/// The Content Security Policy of the proposal page: the console's, and
/// frames from the console itself (the report).
pub(crate) const FRAMING_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The report's policy: its own style element by `style_source`, style
/// attributes, data images; nothing fetched, nothing run, framed only by
/// the console, sandboxed even when opened alone.
fn report_csp(style_source: &str) -> String {
    format!(
        "default-src 'none'; style-src {style_source}; style-src-elem {style_source}; style-src-attr 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox"
    )
}

/// `GET /console/directives/proposals/{id}/simulation`: the report alone.
pub async fn report(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    let (s, p) = match super::directives::viewed(&c, &headers, id) {
        Ok(found) => found,
        Err(r) => return *r,
    };
    if !simulated(&p) {
        return (
            StatusCode::NOT_FOUND,
            super::layout(
                &s,
                "No simulation",
                html! { p { "Only a change awaiting a decision, whose set checks, is simulated." } },
            ),
        )
            .into_response();
    }
    let run = match current(&c, &p).await {
        Ok(run) => run,
        Err(e) => return super::failed("the simulation", &e),
    };
    let mut response = Html(run.html.clone()).into_response();
    let h = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&report_csp(&run.style_source)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}
