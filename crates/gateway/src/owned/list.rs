//! A list of kept objects with only the caller's own in it.
//!
//! The provider lists every customer's objects as one account's (they are
//! all the gateway's), so the gateway reads the upstream's list and keeps
//! in `data` only the caller's; `first_id` and `last_id`, where the list
//! has them, name the caller's first and last. A page that holds none of
//! the caller's while the upstream has more is read on from its last
//! object, up to [`MAX_PAGES`] pages, so a caller whose objects are few
//! among many still finds them. A page can still come back shorter than
//! asked, or empty with `has_more`.
//!
//! A cursor the client gives (`after`; Anthropic's `after_id` and
//! `before_id`) must be one of its own objects: paging from another
//! account's would tell where that object stands in the list, that is,
//! that it exists.

use axum::body::Body;
use axum::http::{Method, Response, request::Parts};
use cordon_store::ObjectKind;
use serde_json::Value;

use super::answer::{Whole, bad_upstream, read_whole};
use crate::api_error::Api;
use crate::config::Upstream;
use crate::proxy::{self, Outbound};
use crate::state::Gateway;

/// The most upstream pages one list call reads looking for the caller's
/// objects among others'.
const MAX_PAGES: usize = 8;

/// What is listed, and for whom.
pub(crate) struct Listing<'a> {
    /// The API whose shape it speaks.
    pub(crate) api: Api,
    /// The kind of object listed.
    pub(crate) kind: ObjectKind,
    /// The list's path, the upstream's too.
    pub(crate) path: &'a str,
    /// The caller's account.
    pub(crate) account: &'a str,
}

/// The cursor that pages forward in `api`'s lists, and the one that pages
/// back, if it has one.
fn cursors(api: Api) -> (&'static str, Option<&'static str>) {
    match api {
        Api::OpenAi => ("after", None),
        Api::Anthropic => ("after_id", Some("before_id")),
    }
}

/// The value of the query pair `pair` when it is `name=…`.
fn value_of<'q>(pair: &'q str, name: &str) -> Option<&'q str> {
    pair.strip_prefix(name)?.strip_prefix('=')
}

/// The value of the query pair `name=…` in `pairs`, if given.
fn given<'q>(pairs: &[&'q str], name: &str) -> Option<&'q str> {
    pairs.iter().find_map(|p| value_of(p, name))
}

/// The upstream's list at `listing.path` with the client's query, filtered
/// to the caller's own objects; read from `upstream` with the client's
/// API-version headers in `parts`.
///
/// # Errors
/// A 400 for a cursor that is not one of the caller's objects, the
/// upstream's own error as it is, a 502 for an answer that is not a list,
/// a 503 when the store cannot say whose the objects are.
pub(crate) async fn list(
    gw: &Gateway,
    listing: &Listing<'_>,
    upstream: &Upstream,
    parts: &Parts,
    id: &str,
) -> Result<Whole, Response<Body>> {
    let Listing {
        api,
        kind,
        path,
        account,
    } = *listing;
    let pairs: Vec<&str> = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    let (forward, back) = cursors(api);
    for name in std::iter::once(forward).chain(back) {
        if let Some(cursor) = given(&pairs, name) {
            check_cursor(gw, listing, name, cursor, id).await?;
        }
    }
    // Reading on goes forward; a client paging back gets one page.
    let reads_on = back.is_none_or(|b| given(&pairs, b).is_none());
    let others: Vec<&str> = pairs
        .iter()
        .copied()
        .filter(|p| value_of(p, forward).is_none())
        .collect();
    let mut after = given(&pairs, forward).map(str::to_owned);
    let mut pages = 0;
    loop {
        pages += 1;
        let mut query = others.clone();
        let cursor = after.as_ref().map(|a| format!("{forward}={a}"));
        query.extend(cursor.as_deref());
        let target = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let outbound = Outbound::bodiless(Method::GET, &target);
        let r = proxy::send(gw, api, upstream, &parts.headers, outbound, id).await?;
        let mut page = read_whole(gw, api, r, id).await?;
        let raw_last = keep_mine(gw, kind, account, &mut page.json, api, id).await?;
        let empty = page
            .json
            .get("data")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        let more = page.json.get("has_more").and_then(Value::as_bool) == Some(true);
        match raw_last {
            Some(last) if empty && more && reads_on && pages < MAX_PAGES => after = Some(last),
            _ => return Ok(page),
        }
    }
}

/// A 400 unless `cursor` is one of the caller's objects.
async fn check_cursor(
    gw: &Gateway,
    listing: &Listing<'_>,
    name: &str,
    cursor: &str,
    id: &str,
) -> Result<(), Response<Body>> {
    let mine = super::owned_among(gw, listing.kind, listing.account, vec![cursor.to_owned()])
        .await
        .map_err(|e| super::store_down(listing.api, &e, id))?;
    if mine.contains(cursor) {
        return Ok(());
    }
    let message = format!("`{name}` names no {} of yours", super::noun(listing.kind));
    Err(proxy::invalid(listing.api, &message, Some(name), id))
}

/// Keeps only `account`'s objects in the page's `data`, with `first_id`
/// and `last_id` (where the page has them) naming its first and last;
/// returns the id of the page's last object before filtering, from which
/// the next page is read.
async fn keep_mine(
    gw: &Gateway,
    kind: ObjectKind,
    account: &str,
    page: &mut Value,
    api: Api,
    id: &str,
) -> Result<Option<String>, Response<Body>> {
    let id_of = |o: &Value| o.get("id").and_then(Value::as_str).map(str::to_owned);
    let Some(data) = page.get_mut("data").and_then(Value::as_array_mut) else {
        return Err(bad_upstream(api, "has no `data` list", id));
    };
    let raw_last = data.last().and_then(id_of);
    let ids: Vec<String> = data.iter().filter_map(id_of).collect();
    let mine = super::owned_among(gw, kind, account, ids)
        .await
        .map_err(|e| super::store_down(api, &e, id))?;
    data.retain(|o| id_of(o).is_some_and(|i| mine.contains(&i)));
    let first = data.first().and_then(|o| o.get("id")).cloned();
    let last = data.last().and_then(|o| o.get("id")).cloned();
    if let Some(obj) = page.as_object_mut() {
        for (key, value) in [("first_id", first), ("last_id", last)] {
            if obj.contains_key(key) {
                obj.insert(key.into(), value.unwrap_or(Value::Null));
            }
        }
    }
    Ok(raw_last)
}
