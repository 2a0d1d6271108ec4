//! On whose behalf a request is decided: the key's account, or the
//! registered end user its organisation names.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use cordon_audit::leaf::{Mode, Source};
use cordon_store::Principal;
use cordon_subject::Subject;

use super::error;
use super::evaluate::{Stop, unavailable};
use crate::api_error::{Api, Code};
use crate::audit::DecisionContext;
use crate::end_user::{self, EndUser};
use crate::state::Gateway;

/// Who a decision is about: the key's account, or the registered end user
/// the key's organisation sent the request for.
pub(crate) struct Caller {
    /// The key's principal: its account owns what the request creates.
    pub(crate) principal: Arc<Principal>,
    /// The registered end user the request is for, if one.
    pub(crate) end_user: Option<Arc<EndUser>>,
}

impl Caller {
    /// The subject the directives are evaluated on.
    pub(super) fn subject(&self) -> &Subject {
        self.end_user
            .as_ref()
            .map_or(&self.principal.subject, |e| &e.subject)
    }

    /// The account a refusal's verification links are for: whoever's
    /// decision refused, when one person can act on it. None for the
    /// account that stands for every unregistered end user: one user's
    /// verification must not decide for all the others (the organisation
    /// attests for that account instead).
    pub(super) fn verifying_account(&self, organisation_decided: bool) -> Option<&str> {
        match &self.end_user {
            Some(e) if !organisation_decided => (!e.everyone).then_some(e.account.as_str()),
            _ => Some(&self.principal.account),
        }
    }

    pub(super) fn context<'a>(&'a self, id: &'a str, source: Source) -> DecisionContext<'a> {
        DecisionContext {
            id,
            account: Some(&self.principal.account),
            end_user: self.end_user.as_ref().map(|e| e.account.as_str()),
            mode: Mode::Enforced,
            source,
        }
    }
}

/// Who the request is decided for: the registered end user an
/// organisation's key names (in the body or the configured header), the
/// account registered for every end user, or the key's own account.
///
/// A 400 when the body and header disagree, a 403 when the end user's
/// member account is disabled, a 503 when the store cannot answer.
pub(super) async fn behalf(
    gw: &Arc<Gateway>,
    api: Api,
    principal: Arc<Principal>,
    named_in_body: Option<&str>,
    headers: &HeaderMap,
    id: &str,
) -> Result<Caller, Stop> {
    let header = gw.loaded.config.end_user_header.as_deref();
    let named = end_user::named(named_in_body, headers, header).map_err(|e| {
        error(
            api,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            &e.to_string(),
            id,
        )
    })?;
    let found = gw
        .end_user(&principal.account, &principal.subject, named.as_deref())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "identity store unavailable");
            unavailable(api, "the gateway cannot look up end users right now", id)
        })?;
    if let Some(e) = &found
        && e.disabled
    {
        return Err(error(
            api,
            StatusCode::FORBIDDEN,
            Code::EndUserDisabled,
            &format!(
                "the end user's member account `{}` of `{}` is disabled",
                e.account, principal.account
            ),
            id,
        ));
    }
    Ok(Caller {
        principal,
        end_user: found,
    })
}
