//! `POST /v1/files` (OpenAI): an upload, recorded as the uploader's. Later
//! calls about a file (read, list, download, delete) are in
//! [`crate::owned::calls`], answered only to that account.
//!
//! An upload is a form of `purpose` and `file`, forwarded as sent once the
//! key is authenticated. A file for `purpose=batch` is a batch's input:
//! every line is read as the request it is before the upload is forwarded,
//! a bad line refuses the upload naming its line, and what each line asks
//! for (custom id, url, model, features, tool types, token cap, end user;
//! never the prompt) is recorded with the file, so the batch made from it
//! can be decided line by line when it is created ([`crate::batches`]).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, Request, Response, header};
use cordon_store::ObjectKind;
use serde_json::Value;

use crate::api_error::Api;
use crate::multipart;
use crate::owned::{self, Creation};
use crate::proxy::{self, Outbound, Payload};
use crate::state::Gateway;

mod lines;

pub(crate) use lines::{BATCH_URLS, Line};

/// The route, and the upstream's.
const ROUTE: &str = "/v1/files";

const API: Api = Api::OpenAi;

/// `POST /v1/files`.
pub(crate) async fn upload(State(gw): State<Arc<Gateway>>, req: Request<Body>) -> Response<Body> {
    let id = proxy::decision_id();
    let r = match upload_file(&gw, req, &id).await {
        Ok(r) | Err(r) => r,
    };
    gw.metrics.response(ROUTE, r.status().as_u16());
    r
}

async fn upload_file(
    gw: &Arc<Gateway>,
    req: Request<Body>,
    id: &str,
) -> Result<Response<Body>, Response<Body>> {
    let (parts, body) = req.into_parts();
    let bad = |message: &str, param: Option<&str>| proxy::invalid(API, message, param, id);
    let principal = proxy::authenticate(gw, API, &parts.headers, id).await?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .ok_or_else(|| {
            bad(
                "the request must have `Content-Type: multipart/form-data`",
                None,
            )
        })?;
    let body = proxy::read_limited(gw, API, &parts.headers, body, id).await?;
    let ct = content_type.to_str().unwrap_or_default();
    let form = multipart::parse(ct, &body).map_err(|e| bad(&e.to_string(), e.param()))?;
    let purpose = form
        .text(&body, "purpose")
        .map_err(|e| bad(&e.to_string(), e.param()))?
        .ok_or_else(|| bad("missing required parameter `purpose`", Some("purpose")))?
        .to_owned();
    let file = form.part("file").filter(|p| p.is_file()).ok_or_else(|| {
        bad(
            "missing required file `file` (a part with a file name)",
            Some("file"),
        )
    })?;
    // The upstream keeps one file: which of two it took would be a guess,
    // and a batch runs the one whose lines were read.
    if form.parts.iter().filter(|p| p.name == "file").count() > 1 {
        return Err(bad(
            "the field `file` is given twice; send one file",
            Some("file"),
        ));
    }
    let upstream = owned::api_upstream(gw, API, id)?;
    let mut details = serde_json::Map::new();
    details.insert("purpose".into(), purpose.clone().into());
    if purpose == "batch" {
        let content = body.get(file.value.clone()).unwrap_or_default();
        let lines = lines::read(content).map_err(|e| bad(&e.to_string(), Some("file")))?;
        let summaries = lines.iter().map(Line::summary).collect();
        details.insert("lines".into(), Value::Array(summaries));
    }
    details.insert("upstream".into(), upstream.name.clone().into());
    let creation = Creation {
        kind: ObjectKind::File,
        account: principal.account.clone(),
        model: None,
        details: Value::Object(details),
        decision_id: id.to_owned(),
    };
    let outbound = Outbound {
        method: Method::POST,
        path: ROUTE,
        body: Some(Payload {
            content_type,
            bytes: body,
        }),
    };
    let made = owned::create_read(gw, API, upstream, &parts.headers, outbound, &creation).await?;
    Ok(made.into_response())
}
