//! Error responses in the shape of the API that was called.
//!
//! Unmodified OpenAI and Anthropic SDKs parse these bodies into their own
//! exception types, so a refused customer sees our message where their code
//! already looks for errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The API family a request was made to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// OpenAI-compatible: `{"error": {"message", "type", "param", "code"}}`.
    OpenAi,
    /// Anthropic-compatible: `{"type": "error", "error": {"type", "message"}}`.
    Anthropic,
}

/// A stable machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Refused under an export-control or sanctions directive.
    Denied,
    /// Refused until the customer verifies attributes.
    VerificationRequired,
    /// The end user a request names stands for a disabled member account.
    EndUserDisabled,
    /// No or bad API key.
    InvalidApiKey,
    /// A webhook delivery's signature does not check.
    InvalidSignature,
    /// The model is not in the catalog.
    ModelNotFound,
    /// The body is not valid JSON or lacks a field.
    InvalidRequest,
    /// The body is too large.
    RequestTooLarge,
    /// The body did not arrive in time.
    RequestTimeout,
    /// The route does not exist.
    NotFound,
    /// The upstream failed.
    UpstreamError,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// The gateway cannot decide (policy or store unavailable).
    Unavailable,
    /// The decision could not be recorded in the audit log, so it was not
    /// carried out.
    AuditUnavailable,
}

impl Code {
    /// The code string.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Denied => "cordon_denied",
            Code::VerificationRequired => "cordon_verification_required",
            Code::EndUserDisabled => "end_user_disabled",
            Code::InvalidApiKey => "invalid_api_key",
            Code::InvalidSignature => "invalid_signature",
            Code::ModelNotFound => "model_not_found",
            Code::InvalidRequest => "invalid_request",
            Code::RequestTooLarge => "request_too_large",
            Code::RequestTimeout => "request_timeout",
            Code::NotFound => "not_found",
            Code::UpstreamError => "upstream_error",
            Code::UpstreamTimeout => "upstream_timeout",
            Code::Unavailable => "unavailable",
            Code::AuditUnavailable => "audit_unavailable",
        }
    }

    fn openai_type(self) -> &'static str {
        match self {
            Code::Denied | Code::VerificationRequired | Code::EndUserDisabled => "permission_error",
            Code::InvalidApiKey | Code::InvalidSignature => "authentication_error",
            Code::ModelNotFound | Code::NotFound => "not_found_error",
            Code::InvalidRequest | Code::RequestTooLarge | Code::RequestTimeout => {
                "invalid_request_error"
            }
            Code::UpstreamError
            | Code::UpstreamTimeout
            | Code::Unavailable
            | Code::AuditUnavailable => "api_error",
        }
    }

    fn anthropic_type(self) -> &'static str {
        match self {
            Code::Denied | Code::VerificationRequired | Code::EndUserDisabled => "permission_error",
            Code::InvalidApiKey | Code::InvalidSignature => "authentication_error",
            Code::ModelNotFound | Code::NotFound => "not_found_error",
            Code::InvalidRequest | Code::RequestTimeout => "invalid_request_error",
            Code::RequestTooLarge => "request_too_large",
            Code::UpstreamError | Code::UpstreamTimeout | Code::AuditUnavailable => "api_error",
            Code::Unavailable => "overloaded_error",
        }
    }
}

/// The JSON body of an error.
pub fn body(
    api: Api,
    code: Code,
    message: &str,
    param: Option<&str>,
    extra: Option<Value>,
) -> Value {
    let mut v = match api {
        Api::OpenAi => {
            json!({"error": {"message": message, "type": code.openai_type(), "param": param, "code": code.as_str()}})
        }
        Api::Anthropic => {
            json!({"type": "error", "error": {"type": code.anthropic_type(), "message": message}})
        }
    };
    if let (Some(extra), Some(obj)) = (extra, v.as_object_mut()) {
        obj.insert("cordon".into(), extra);
    }
    v
}

/// An error response.
pub fn response(api: Api, status: StatusCode, code: Code, message: &str) -> Response {
    field_response(api, status, code, message, None)
}

/// An error response about one field of the request body, named in the
/// message and, in the OpenAI shape, as `param`.
pub fn field_response(
    api: Api,
    status: StatusCode,
    code: Code,
    message: &str,
    param: Option<&str>,
) -> Response {
    let mut r = (status, axum::Json(body(api, code, message, param, None))).into_response();
    if status.is_client_error() {
        r.headers_mut()
            .insert("x-should-retry", HeaderValue::from_static("false"));
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
