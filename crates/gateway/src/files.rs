//! `/v1/files` (OpenAI): uploads, listed, read, downloaded and deleted only
//! by the account that uploaded them ([`crate::owned`]).
//!
//! An upload is a form of `purpose` and `file`, forwarded as sent once the
//! key is authenticated. A file for `purpose=batch` is a batch's input:
//! every line is read as the request it is before the upload is forwarded,
//! a bad line refuses the upload naming its line, and what each line asks
//! for (custom id, url, model, features, tool types, token cap, end user;
//! never the prompt) is recorded with the file, so the batch made from it
//! can be decided line by line when it is created.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Request, Response, Uri, header};
use cordon_store::ObjectKind;
use serde_json::Value;

use crate::multipart;
use crate::owned::{self, Call};
use crate::proxy::Outgoing;
use crate::state::Gateway;

mod lines;

pub(crate) use lines::{BATCH_URLS, Line};

/// Counts the response under its route, and passes it on.
fn counted(gw: &Gateway, route: &'static str, r: Response<Body>) -> Response<Body> {
    gw.metrics.response(route, r.status().as_u16());
    r
}

/// Either branch of a handler's result: the response.
fn either(r: Result<Response<Body>, Response<Body>>) -> Response<Body> {
    r.unwrap_or_else(|e| e)
}

/// `POST /v1/files`.
pub(crate) async fn upload(State(gw): State<Arc<Gateway>>, req: Request<Body>) -> Response<Body> {
    let r = either(upload_file(Arc::clone(&gw), req).await);
    counted(&gw, "/v1/files", r)
}

async fn upload_file(
    gw: Arc<Gateway>,
    req: Request<Body>,
) -> Result<Response<Body>, Response<Body>> {
    let (parts, body) = req.into_parts();
    let call = Call::start(Arc::clone(&gw), &parts.headers).await?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .ok_or_else(|| {
            call.bad(
                "the request must have `Content-Type: multipart/form-data`",
                None,
            )
        })?;
    let body = call.read_body(&parts.headers, body).await?;
    let ct = content_type.to_str().unwrap_or_default();
    let form = multipart::parse(ct, &body).map_err(|e| call.bad(&e.to_string(), e.param()))?;
    let purpose = form
        .text(&body, "purpose")
        .map_err(|e| call.bad(&e.to_string(), e.param()))?
        .ok_or_else(|| call.bad("missing required parameter `purpose`", Some("purpose")))?
        .to_owned();
    let file = form.part("file").filter(|p| p.is_file()).ok_or_else(|| {
        call.bad(
            "missing required file `file` (a part with a file name)",
            Some("file"),
        )
    })?;
    // The upstream keeps one file: which of two it took would be a guess,
    // and a batch runs the one whose lines were read.
    if form.parts.iter().filter(|p| p.name == "file").count() > 1 {
        return Err(call.bad(
            "the field `file` is given twice; send one file",
            Some("file"),
        ));
    }
    let mut details = serde_json::Map::new();
    details.insert("purpose".into(), purpose.clone().into());
    if purpose == "batch" {
        let content = body.get(file.value.clone()).unwrap_or_default();
        let lines = lines::read(content).map_err(|e| call.bad(&e.to_string(), Some("file")))?;
        let summaries = lines.iter().map(Line::summary).collect();
        details.insert("lines".into(), Value::Array(summaries));
    }
    let upstream = call.upstream()?.name.clone();
    details.insert("upstream".into(), upstream.into());
    let out = Outgoing {
        method: Method::POST,
        path: "/v1/files",
        content_type: Some(content_type),
        body,
    };
    let details = Value::Object(details);
    let answer = call
        .create(ObjectKind::File, out, &parts.headers, None, details)
        .await?;
    Ok(answer.into_response(&call.id))
}

/// `GET /v1/files`: the caller's files only.
pub(crate) async fn list(
    State(gw): State<Arc<Gateway>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response<Body> {
    let r = either(
        async {
            let call = Call::start(Arc::clone(&gw), &headers).await?;
            let page = call
                .list(ObjectKind::File, "/v1/files", uri.query(), &headers)
                .await?;
            Ok(owned::json_response(&page, &call.id))
        }
        .await,
    );
    counted(&gw, "/v1/files", r)
}

/// `GET /v1/files/{id}`.
pub(crate) async fn retrieve(
    State(gw): State<Arc<Gateway>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let r = either(pass(&gw, Method::GET, &file, "", &headers).await);
    counted(&gw, "/v1/files/{id}", r)
}

/// `GET /v1/files/{id}/content`: streamed as the upstream sends it.
pub(crate) async fn content(
    State(gw): State<Arc<Gateway>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let r = either(pass(&gw, Method::GET, &file, "/content", &headers).await);
    counted(&gw, "/v1/files/{id}/content", r)
}

/// `DELETE /v1/files/{id}`: forgotten once the upstream has deleted it.
pub(crate) async fn delete(
    State(gw): State<Arc<Gateway>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let r = either(
        async {
            let call = Call::start(Arc::clone(&gw), &headers).await?;
            call.owned(ObjectKind::File, &file).await?;
            let path = format!("/v1/files/{file}");
            let out = Outgoing {
                method: Method::DELETE,
                ..owned::get(&path)
            };
            let answer = call.fetch(out, &headers).await?;
            if answer.status.is_success() {
                call.forget(ObjectKind::File, &file).await;
            }
            Ok(answer.into_response(&call.id))
        }
        .await,
    );
    counted(&gw, "/v1/files/{id}", r)
}

/// A call about one of the caller's files, passed upstream as it is.
async fn pass(
    gw: &Arc<Gateway>,
    method: Method,
    file: &str,
    suffix: &str,
    headers: &HeaderMap,
) -> Result<Response<Body>, Response<Body>> {
    let call = Call::start(Arc::clone(gw), headers).await?;
    call.owned(ObjectKind::File, file).await?;
    let path = format!("/v1/files/{file}{suffix}");
    let out = Outgoing {
        method,
        ..owned::get(&path)
    };
    call.send(out, headers).await
}
