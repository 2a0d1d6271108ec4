//! The person behind an organisation's key.
//!
//! An organisation's application calls the API with the organisation's key
//! on behalf of its own users, and names the user in the API's field
//! (OpenAI's `safety_identifier` or `user`, Anthropic's `metadata.user_id`,
//! read by [`crate::inspect`]) or in a header the operator configures. When
//! the organisation has registered that user as a member account (or
//! registered one account for every user), the decision is about that
//! member: the person's citizenship, not the organisation's incorporation.
//! Anything else is decided on the organisation as before.

use std::sync::Arc;

use axum::http::HeaderMap;
use cordon_subject::{Subject, SubjectKind};
use sha2::{Digest, Sha256};

use crate::inspect::MAX_END_USER_LEN;
use crate::state::Gateway;

pub(crate) mod registration;

/// The member account a request is decided for, instead of the key's
/// organisation.
#[derive(Debug, Clone)]
pub struct EndUser {
    /// The member account.
    pub account: String,
    /// Its subject.
    pub subject: Subject,
    /// Whether it is the account registered for every end user not
    /// registered on their own.
    pub everyone: bool,
    /// Whether the member account is disabled: its requests are refused.
    pub disabled: bool,
}

/// Why a request's end user cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndUserError {
    /// The configured header and the body name different people.
    #[error("the `{header}` header and the body's end-user field name different end users")]
    Disagree {
        /// The configured header.
        header: String,
    },
    /// The header is not text of the accepted length.
    #[error("the `{header}` header must be 1 to {MAX_END_USER_LEN} bytes of visible ASCII")]
    BadHeader {
        /// The configured header.
        header: String,
    },
}

/// The end user a request names: the body's field, the configured header,
/// or both when they agree.
///
/// # Errors
/// [`EndUserError`] when the two disagree or the header is malformed.
pub fn named(
    from_body: Option<&str>,
    headers: &HeaderMap,
    header: Option<&str>,
) -> Result<Option<String>, EndUserError> {
    let from_header = match header {
        None => None,
        Some(h) => match headers.get(h) {
            None => None,
            Some(v) => {
                let text = v
                    .to_str()
                    .ok()
                    .filter(|t| !t.is_empty() && t.len() <= MAX_END_USER_LEN)
                    .ok_or_else(|| EndUserError::BadHeader { header: h.into() })?;
                Some(text)
            }
        },
    };
    match (from_body, from_header) {
        (Some(b), Some(h)) if b != h => Err(EndUserError::Disagree {
            header: header.unwrap_or_default().to_owned(),
        }),
        (b, h) => Ok(b.or(h).map(str::to_owned)),
    }
}

/// The cache key of an organisation's end user (the identifier itself is
/// not kept in memory longer than the request).
pub(crate) fn cache_key(organization: &str, end_user: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(organization.as_bytes());
    match end_user {
        Some(e) => {
            h.update([1]);
            h.update(e.as_bytes());
        }
        None => h.update([0]),
    }
    h.finalize().into()
}

impl Gateway {
    /// The member account a request by `organization`'s key is decided
    /// for, through the principal cache: `None` for a key that is not an
    /// organisation's, or an end user the organisation has not registered
    /// (with no account for every end user).
    ///
    /// # Errors
    /// Only when the store fails, with its message.
    pub async fn end_user(
        self: &Arc<Self>,
        organization: &str,
        subject: &Subject,
        end_user: Option<&str>,
    ) -> Result<Option<Arc<EndUser>>, String> {
        if subject.kind != SubjectKind::Organization {
            return Ok(None);
        }
        let key = cache_key(organization, end_user);
        if let Some(found) = self.cached_end_user(&key) {
            return Ok(found);
        }
        let store = Arc::clone(&self.store);
        let org = organization.to_owned();
        let named = end_user.map(str::to_owned);
        let jurisdictions = self.jurisdictions;
        let found = tokio::task::spawn_blocking(move || {
            let Some(e) = store
                .end_user(&org, named.as_deref())
                .map_err(|e| e.to_string())?
            else {
                return Ok::<_, String>(None);
            };
            // With the licences the member holds, as for a key's own account.
            let subject = match store.subject(&e.account.id).map_err(|e| e.to_string())? {
                Some(s) => s,
                None => e
                    .account
                    .to_subject(jurisdictions)
                    .map_err(|e| e.to_string())?,
            };
            Ok(Some(Arc::new(EndUser {
                account: e.account.id,
                subject,
                everyone: e.everyone,
                disabled: e.account.disabled,
            })))
        })
        .await
        .map_err(|e| e.to_string())??;
        self.cache_end_user(key, found.clone());
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-end-user", HeaderValue::from_bytes(v).unwrap());
        h
    }

    #[test]
    fn the_header_names_the_end_user_when_configured_and_must_agree_with_the_body() {
        let h = headers(b"u-1");
        assert_eq!(named(None, &h, Some("x-end-user")), Ok(Some("u-1".into())));
        assert_eq!(
            named(Some("u-1"), &h, Some("x-end-user")),
            Ok(Some("u-1".into()))
        );
        assert_eq!(named(None, &h, None), Ok(None), "not configured: not read");
        assert_eq!(
            named(Some("u-2"), &HeaderMap::new(), Some("x-end-user")),
            Ok(Some("u-2".into()))
        );
        assert!(matches!(
            named(Some("u-2"), &h, Some("x-end-user")),
            Err(EndUserError::Disagree { .. })
        ));
        assert!(matches!(
            named(None, &headers(b"caf\xc3\xa9"), Some("x-end-user")),
            Err(EndUserError::BadHeader { .. })
        ));
        assert!(matches!(
            named(None, &headers(b""), Some("x-end-user")),
            Err(EndUserError::BadHeader { .. })
        ));
    }

    #[test]
    fn cache_keys_tell_no_end_user_from_an_empty_one_and_organisations_apart() {
        assert_ne!(cache_key("a", None), cache_key("a", Some("")));
        assert_ne!(cache_key("a", Some("u")), cache_key("b", Some("u")));
        assert_eq!(cache_key("a", Some("u")), cache_key("a", Some("u")));
    }
}
