//! The compliance console: server-rendered pages for the people who answer
//! for an order, served by Cordon itself against the same store.
//!
//! Every page is HTML rendered here (maud, escaped by construction) and
//! works without scripts: the console sends none, and its Content Security
//! Policy allows none ([`security`]). Users log in with a local account
//! ([`users`], argon2id) or with OpenID Connect ([`oidc`]); each is given
//! a role that decides what they see and change. Every state change is a
//! form post carrying the session's CSRF token, refused without it, and
//! from another site.

pub mod chart;
pub mod decision_index;
pub mod list_entries;
pub mod oidc;
pub mod pages;
pub mod proposals;
pub mod publish;
pub mod records;
pub mod security;
pub mod session;
pub mod simulation;
pub mod users;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use records::Records;
pub use session::Sessions;
pub use users::{Role, User, Users};

/// Why the console could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The users file does not read.
    #[error("{path}:{line}: {message}")]
    Users {
        /// The file.
        path: String,
        /// The line (0 for the whole file).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A user cannot be added as asked.
    #[error("{0}")]
    InvalidUser(String),
    /// A directive change cannot be proposed, approved or rejected as asked.
    #[error("{0}")]
    InvalidProposal(String),
    /// A proposal cannot be read or kept.
    #[error("the proposal `{path}`: {message}")]
    Proposals {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An approved change could not be published to the fleet.
    #[error("cannot publish the set to the fleet: {0}")]
    Publish(String),
    /// The system gave no randomness for a salt, session id or token.
    #[error("no randomness for a token: {0}")]
    Random(String),
}

/// What the pages show and where from.
pub struct Console {
    /// The identity store.
    pub records: Arc<dyn Records>,
    /// The local users.
    pub users: Users,
    /// Who is logged in.
    pub sessions: Sessions,
    /// The directive set shown, as loaded at start and after each approval.
    pub policy: std::sync::RwLock<Arc<cordon_policy::Policy>>,
    /// The directive files changes are proposed to, when the console may
    /// change them (a single node's directory).
    pub directives: Option<proposals::DirectiveSet>,
    /// The audit log's directory, when there is one to show.
    pub audit_log: Option<PathBuf>,
    /// The log's public key, which receipts are checked with before they
    /// are handed out.
    pub audit_key: Option<cordon_audit::VerifierKey>,
    /// Logging in with OpenID Connect, when a provider is configured.
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// The audit log's decisions as searches read them.
    pub decisions: decision_index::DecisionIndex,
    /// The active screening list's entries, as the review page shows them.
    pub list_entries: list_entries::ListEntries,
    /// Now, for the pages' countdowns and dispositions.
    pub clock: Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>,
}

impl Console {
    /// The directive set shown.
    pub fn policy(&self) -> Arc<cordon_policy::Policy> {
        match self.policy.read() {
            Ok(p) => Arc::clone(&p),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Starts reading the audit log's decisions into
    /// [`Console::decisions`] on a thread of its own, so that the first
    /// search does not wait for the whole window to be decoded.
    pub fn start_indexing(self: &Arc<Self>) {
        let Some(dir) = self.audit_log.clone() else {
            return;
        };
        let console = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name("cordon-console-index".into())
            .spawn(move || {
                if let Err(e) = console.decisions.catch_up(&dir) {
                    tracing::warn!(error = %e, "cannot index the audit log's decisions yet; searches will try again");
                }
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "cannot start indexing the audit log's decisions; the first search will");
        }
    }

    fn set_policy(&self, policy: cordon_policy::Policy) {
        if let Ok(mut p) = self.policy.write() {
            *p = Arc::new(policy);
        }
    }
}

/// The console's routes, all under `/console`.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/console", get(pages::root))
        .route("/console/", get(pages::root))
        .route(
            "/console/login",
            get(pages::login::form).post(pages::login::submit),
        )
        .route("/console/logout", post(pages::login::logout))
        .route("/console/oidc/login", get(pages::oidc::start))
        .route("/console/oidc/callback", get(pages::oidc::callback))
        .route("/console/overview", get(pages::overview::page))
        .route(
            "/console/accounts",
            get(pages::accounts::index).post(pages::accounts::search),
        )
        .route("/console/accounts/{id}", get(pages::accounts::one))
        .route(
            "/console/accounts/{id}/verify",
            post(pages::accounts::verify),
        )
        .route(
            "/console/accounts/{id}/what-if",
            post(pages::what_if::decide),
        )
        .route("/console/screening", get(pages::screening::queue))
        .route("/console/screening/decide", post(pages::screening::decide))
        .route("/console/audit", get(pages::audit::page))
        .route("/console/audit/search", post(pages::audit::search))
        .route("/console/audit/verify", post(pages::audit_verify::run))
        .route("/console/audit/entries/{index}", get(pages::audit::entry))
        .route(
            "/console/audit/entries/{index}/receipt",
            get(pages::audit::receipt),
        )
        .route("/console/directives", get(pages::directives::index))
        .route("/console/directives/{id}", get(pages::directives::one))
        .route(
            "/console/directives/propose",
            post(pages::directives::propose),
        )
        .route(
            "/console/directives/proposals/{id}",
            get(pages::directives::proposal),
        )
        .route(
            "/console/directives/proposals/{id}/{verdict}",
            post(pages::directives::decide),
        )
        .route(
            "/console/directives/proposals/{id}/simulation",
            get(pages::simulation::report),
        )
        .route("/console/static/console.css", get(pages::stylesheet))
        .route("/console/static/favicon.svg", get(pages::favicon))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(console)
}

/// Serves the console on `listener` until `shutdown` resolves.
///
/// # Errors
/// When the server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    console: Arc<Console>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    console.start_indexing();
    axum::serve(listener, router(console))
        .with_graceful_shutdown(shutdown)
        .await
}
