//! From the gateway's verdict to Envoy's `CheckResponse`.
//!
//! Only [`ok`] builds a response with gRPC status `OK`, and only for
//! [`Verdict::Allowed`](cordon_gateway::authz::Verdict::Allowed); every
//! other answer, including Cordon being unable to decide, is a
//! `DeniedHttpResponse` that Envoy sends to the client as it is.

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, header};
use envoy_types::ext_authz::v3::pb::{
    CheckResponse, DeniedHttpResponse, HeaderAppendAction, HeaderValue, HeaderValueOption,
    HttpResponse, HttpStatus, OkHttpResponse,
};
use envoy_types::pb::google::rpc;
use http_body_util::BodyExt;

/// gRPC status codes (<https://grpc.github.io/grpc/core/md_doc_statuscodes.html>).
mod code {
    pub const OK: i32 = 0;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const UNAUTHENTICATED: i32 = 16;
}

/// The headers of an allowed request's response that the client sees too,
/// as it would from `cordon serve`.
const CLIENT_HEADERS: [&str; 3] = [
    cordon_gateway::proxy::DECISION_ID,
    "x-cordon-effect",
    cordon_gateway::audit::AUDIT_INDEX,
];

/// Response headers Envoy sets itself, or that describe a connection.
const NOT_PASSED: [header::HeaderName; 4] = [
    header::CONTENT_LENGTH,
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// The answer that lets a request through: `upstream` (the decision id,
/// effect, model and audit index) is set on the request, overwriting any
/// value the client sent; any other `x-cordon-*` header the client sent
/// (`sent`) is removed, so the upstream sees only Cordon's; and the
/// decision id, effect and audit index are added to the client's response.
pub fn ok(upstream: &HeaderMap, sent: &HeaderMap) -> CheckResponse {
    let headers_to_remove = sent
        .keys()
        .filter(|k| k.as_str().starts_with("x-cordon-") && !upstream.contains_key(*k))
        .map(|k| k.as_str().to_owned())
        .collect();
    let response_headers_to_add = options(
        upstream
            .iter()
            .filter(|(k, _)| CLIENT_HEADERS.contains(&k.as_str())),
    );
    CheckResponse {
        status: Some(rpc::Status {
            code: code::OK,
            message: String::new(),
            details: Vec::new(),
        }),
        dynamic_metadata: None,
        http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
            headers: options(upstream.iter()),
            headers_to_remove,
            response_headers_to_add,
            ..OkHttpResponse::default()
        })),
    }
}

/// The answer that refuses a request with `response`: its status (451,
/// 401, 400, 404, 413, 503, …), its headers and its body go to the client.
///
/// The gRPC status is `UNAUTHENTICATED` for a 401 and `PERMISSION_DENIED`
/// otherwise; Envoy treats every status but `OK` as a refusal.
pub async fn denied(response: Response<Body>) -> CheckResponse {
    let (parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        // Cordon's bodies are built in memory; this cannot fail, and an
        // empty body still refuses.
        Err(_) => String::new(),
    };
    let grpc = if parts.status == StatusCode::UNAUTHORIZED {
        code::UNAUTHENTICATED
    } else {
        code::PERMISSION_DENIED
    };
    CheckResponse {
        status: Some(rpc::Status {
            code: grpc,
            message: format!("cordon refused the request with HTTP {}", parts.status),
            details: Vec::new(),
        }),
        dynamic_metadata: None,
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus {
                code: i32::from(parts.status.as_u16()),
            }),
            headers: options(
                parts
                    .headers
                    .iter()
                    .filter(|(k, _)| !NOT_PASSED.contains(k)),
            ),
            body,
        })),
    }
}

/// Header options: the first value of a name replaces whatever the message
/// had; further values of the same name are appended.
fn options<'a>(
    headers: impl Iterator<Item = (&'a header::HeaderName, &'a header::HeaderValue)>,
) -> Vec<HeaderValueOption> {
    let mut seen: Vec<&header::HeaderName> = Vec::new();
    headers
        .map(|(name, value)| {
            let action = if seen.contains(&name) {
                HeaderAppendAction::AppendIfExistsOrAdd
            } else {
                seen.push(name);
                HeaderAppendAction::OverwriteIfExistsOrAdd
            };
            // `append` (deprecated) stays unset, so Envoy follows `append_action`.
            HeaderValueOption {
                header: Some(header_value(name, value)),
                append_action: action.into(),
                ..HeaderValueOption::default()
            }
        })
        .collect()
}

fn header_value(name: &header::HeaderName, value: &header::HeaderValue) -> HeaderValue {
    match value.to_str() {
        Ok(text) => HeaderValue {
            key: name.as_str().to_owned(),
            value: text.to_owned(),
            raw_value: Vec::new(),
        },
        Err(_) => HeaderValue {
            key: name.as_str().to_owned(),
            value: String::new(),
            raw_value: value.as_bytes().to_vec(),
        },
    }
}
