//! KYC vendors' payloads read as events, and the requests that refetch a
//! verification from the vendor's API (docs/verification-vendors.md).
//!
//! Each vendor module reads the vendor's webhook payload
//! (`parse(body, jurisdictions)`), called once its signature verified
//! ([`crate::webhook`]), and the object its API returns
//! (`read_fetched(account, body, jurisdictions)`). What the webhook
//! carries differs: Stripe's, Persona's and Veriff's name the account and
//! the decision; Onfido's and Sumsub's are thin and say only that
//! something changed. Only Stripe and Persona sign a timestamp, so for the
//! others a delivery could be replayed; refetching the object from the
//! vendor before granting anything (the [`Refetch`] requests, made by the
//! gateway) closes that and gives the vendor's own view of the object.
//!
//! Every fact a vendor establishes is at `document_verified`. The only
//! attribute mapped is `citizenships`: from a nationality the vendor read
//! off a document, else from a passport's issuing country. The document's
//! issuing country is kept apart as `document_country`; it is not a
//! nationality (a German residence permit says nothing of its holder's
//! citizenship). No vendor says whether someone is a U.S. person: that is
//! derived from the citizenship (and permanent residence) evidence.

pub mod onfido;
pub mod persona;
pub mod stripe;
pub mod sumsub;
pub mod veriff;

pub(crate) mod country;
mod json;

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::VerificationLevel;
use jiff::Timestamp;
use serde_json::Value;

use crate::PayloadError;
use crate::event::Event;
use crate::fact::{Attribute, Fact};
use json::Node;

/// The longest account id an event may name (as in Cordon's own format).
pub const MAX_ACCOUNT_LEN: usize = 64;

/// The longest object id a refetch puts in a URL.
pub const MAX_OBJECT_ID_LEN: usize = 128;

/// The KYC vendors with an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// Stripe Identity (verification sessions).
    StripeIdentity,
    /// Persona (inquiries).
    Persona,
    /// Veriff (sessions and their decisions).
    Veriff,
    /// Onfido, now Entrust (document reports).
    Onfido,
    /// Sumsub (applicants).
    Sumsub,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 5] = [
        Vendor::StripeIdentity,
        Vendor::Persona,
        Vendor::Veriff,
        Vendor::Onfido,
        Vendor::Sumsub,
    ];

    /// The name used in configuration (`format = "…"`) and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::StripeIdentity => "stripe_identity",
            Vendor::Persona => "persona",
            Vendor::Veriff => "veriff",
            Vendor::Onfido => "onfido",
            Vendor::Sumsub => "sumsub",
        }
    }

    /// Parses a configuration name.
    pub fn parse(name: &str) -> Option<Vendor> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// Reads a webhook payload whose signature verified.
    ///
    /// # Errors
    /// [`PayloadError`] naming the JSON path that is missing or wrong.
    pub fn parse_webhook(
        self,
        body: &[u8],
        jurisdictions: &Jurisdictions,
    ) -> Result<Event, PayloadError> {
        match self {
            Vendor::StripeIdentity => stripe::parse(body, jurisdictions),
            Vendor::Persona => persona::parse(body, jurisdictions),
            Vendor::Veriff => veriff::parse(body, jurisdictions),
            Vendor::Onfido => onfido::parse(body),
            Vendor::Sumsub => sumsub::parse(body),
        }
    }
}

/// An HTTP request for the gateway to make. This crate does no I/O.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// The method: always `GET`.
    pub method: &'static str,
    /// The full URL: the configured base URL and the vendor's path.
    pub url: String,
    /// The headers to send, credentials included.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for FetchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("FetchRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .finish()
    }
}

/// The credentials of a vendor's API.
#[derive(Clone, Default)]
pub struct ApiCredentials {
    /// Stripe: a secret or restricted key (`sk_…`, `rk_…`); Persona: an API
    /// key; Veriff: the API key (`X-AUTH-CLIENT`); Onfido: an API token;
    /// Sumsub: the App Token (`X-App-Token`).
    pub api_key: String,
    /// The secret that signs requests: Veriff's shared secret key, Sumsub's
    /// App Token secret key. The others need none.
    pub api_secret: Option<String>,
}

impl std::fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiCredentials(<redacted>)")
    }
}

/// Why no refetch request could be made for an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefetchError {
    /// The event names no object to fetch (an Onfido event about a check
    /// or a workflow run rather than a report).
    #[error("the event names no object to fetch")]
    NoObjectId,
    /// The object id is not one that can go into a URL path as it is.
    #[error("the object id `{0}` is not 1 to {MAX_OBJECT_ID_LEN} letters, digits, `_`, `-` or `.`")]
    BadObjectId(String),
    /// The base URL is not `http://` or `https://`.
    #[error("the base URL `{0}` must start with `https://` (or `http://` for a local mock)")]
    BadBaseUrl(String),
    /// The vendor signs API requests and no secret is configured.
    #[error("{vendor} signs API requests: `api_secret` must be configured")]
    MissingSecret {
        /// The vendor's name.
        vendor: &'static str,
    },
}

/// How a vendor's verification object is fetched from its API and read.
///
/// The gateway makes the request against a configurable base URL and
/// feeds the response body back; when a source refetches, what it grants
/// comes only from the fetched object.
pub trait Refetch {
    /// The request that fetches the object `event` is about, signed where
    /// the vendor signs requests (Sumsub, Veriff) at `now`.
    ///
    /// # Errors
    /// [`RefetchError`]: no object id, an id unfit for a URL, a base URL
    /// that is not HTTP, or a missing signing secret.
    fn refetch(
        &self,
        event: &Event,
        base_url: &str,
        credentials: &ApiCredentials,
        now: Timestamp,
    ) -> Result<FetchRequest, RefetchError>;

    /// A second request that finds the account a fetched object is about,
    /// for vendors whose object names none of the integrator's (Onfido: its
    /// check's tags); `None` for the others.
    ///
    /// # Errors
    /// [`PayloadError`] when the fetched object does not say where to look.
    fn account_lookup(
        &self,
        fetched: &[u8],
        base_url: &str,
        credentials: &ApiCredentials,
    ) -> Result<Option<FetchRequest>, PayloadError>;

    /// The account the answer to [`Refetch::account_lookup`] names.
    ///
    /// # Errors
    /// [`PayloadError`] naming the path missing or wrong.
    fn account_from_lookup(&self, body: &[u8]) -> Result<String, PayloadError>;

    /// Reads the fetched object as an event about `account`. Where the
    /// object names its account, it must be `account`.
    ///
    /// # Errors
    /// [`PayloadError`] naming the JSON path that is missing or wrong.
    fn read_fetched(
        &self,
        account: &str,
        body: &[u8],
        jurisdictions: &Jurisdictions,
    ) -> Result<Event, PayloadError>;
}

impl Refetch for Vendor {
    fn refetch(
        &self,
        event: &Event,
        base_url: &str,
        credentials: &ApiCredentials,
        now: Timestamp,
    ) -> Result<FetchRequest, RefetchError> {
        let id = event.object_id.as_deref().ok_or(RefetchError::NoObjectId)?;
        let id_ok = !id.is_empty()
            && id.len() <= MAX_OBJECT_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            && id != "."
            && id != "..";
        if !id_ok {
            return Err(RefetchError::BadObjectId(id.to_owned()));
        }
        let base = base_url.trim().trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(RefetchError::BadBaseUrl(base_url.to_owned()));
        }
        let secret = || {
            credentials
                .api_secret
                .as_deref()
                .ok_or(RefetchError::MissingSecret {
                    vendor: self.as_str(),
                })
        };
        Ok(match self {
            Vendor::StripeIdentity => stripe::fetch(base, id, &credentials.api_key),
            Vendor::Persona => persona::fetch(base, id, &credentials.api_key),
            Vendor::Veriff => veriff::fetch(base, id, &credentials.api_key, secret()?),
            Vendor::Onfido => onfido::fetch(base, id, &credentials.api_key),
            Vendor::Sumsub => sumsub::fetch(base, id, &credentials.api_key, secret()?, now),
        })
    }

    fn account_lookup(
        &self,
        fetched: &[u8],
        base_url: &str,
        credentials: &ApiCredentials,
    ) -> Result<Option<FetchRequest>, PayloadError> {
        match self {
            Vendor::Onfido => {
                let base = base_url.trim().trim_end_matches('/');
                onfido::check_fetch(base, fetched, &credentials.api_key).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn account_from_lookup(&self, body: &[u8]) -> Result<String, PayloadError> {
        match self {
            Vendor::Onfido => onfido::account_of_check(body),
            _ => Err(PayloadError::Invalid {
                field: "(account)".into(),
                reason: format!("{} objects name their account themselves", self.as_str()),
            }),
        }
    }

    fn read_fetched(
        &self,
        account: &str,
        body: &[u8],
        jurisdictions: &Jurisdictions,
    ) -> Result<Event, PayloadError> {
        match self {
            Vendor::StripeIdentity => stripe::read_fetched(account, body, jurisdictions),
            Vendor::Persona => persona::read_fetched(account, body, jurisdictions),
            Vendor::Veriff => veriff::read_fetched(account, body, jurisdictions),
            Vendor::Onfido => onfido::read_fetched(account, body, jurisdictions),
            Vendor::Sumsub => sumsub::read_fetched(account, body, jurisdictions),
        }
    }
}

/// The account id at `node`: a string of 1 to [`MAX_ACCOUNT_LEN`] bytes.
fn account_at(node: &Node<'_>) -> Result<String, PayloadError> {
    let text = node.str()?;
    if text.is_empty() || text.len() > MAX_ACCOUNT_LEN {
        return Err(node.invalid(format!("an account id is 1 to {MAX_ACCOUNT_LEN} bytes")));
    }
    Ok(text.to_owned())
}

/// Checks that the account a fetched object names is the one the gateway
/// fetched it for.
fn same_account(node: &Node<'_>, found: &str, expected: &str) -> Result<(), PayloadError> {
    if found == expected {
        Ok(())
    } else {
        Err(node.invalid(format!(
            "the fetched object belongs to `{found}`, not to `{expected}`"
        )))
    }
}

/// The account given to `read_fetched`, checked like one read from a
/// payload.
fn given_account(account: &str) -> Result<String, PayloadError> {
    account_at(&Node {
        value: &Value::String(account.to_owned()),
        path: "(account)".into(),
    })
}

/// What a vendor read off one identity document.
#[derive(Debug, Clone, Default)]
struct Document {
    /// The document type, as a `method`: `passport`, `id_card`,
    /// `driving_licence`, `residence_permit`, or the vendor's own name.
    kind: Option<String>,
    /// The issuing country (alpha-2).
    country: Option<String>,
    /// The holder's nationality as the vendor read it (alpha-2).
    nationality: Option<String>,
    /// When the document expires.
    expires_at: Option<Timestamp>,
    /// When the vendor verified it.
    verified_at: Option<Timestamp>,
}

impl Document {
    /// The facts the document establishes: a citizenship from the
    /// nationality read, else from a passport's issuing country; nothing
    /// otherwise (an issuing country alone is not a nationality, and a
    /// fact needs an attribute).
    fn facts(&self) -> Vec<Fact> {
        let passport = self.kind.as_deref() == Some("passport");
        let citizenship = self
            .nationality
            .clone()
            .or_else(|| self.country.clone().filter(|_| passport));
        let Some(code) = citizenship else {
            return Vec::new();
        };
        vec![Fact {
            verified_at: self.verified_at,
            expires_at: self.expires_at,
            method: Some(self.kind.clone().unwrap_or_else(|| "document".into())),
            document_country: self.country.clone(),
            ..Fact::new(
                Attribute::Citizenships,
                Value::Array(vec![Value::String(code)]),
                VerificationLevel::DocumentVerified,
            )
        }]
    }
}

/// A vendor's document type name as a `method`.
fn document_kind(vendor_name: &str) -> String {
    match vendor_name.to_ascii_lowercase().as_str() {
        "passport" | "pp" => "passport".into(),
        "id_card" | "national_identity_card" | "id" => "id_card".into(),
        "driving_license" | "driving_licence" | "drivers_license" | "drivers" | "dl" => {
            "driving_licence".into()
        }
        "residence_permit" => "residence_permit".into(),
        other => other.chars().take(64).collect(),
    }
}

#[cfg(test)]
mod tests;
