//! The console over HTTP, as a browser uses it: login, sessions, CSRF,
//! roles and escaping, against a real SQLite store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test fixtures fail the test loudly"
)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use cordon_console::{Console, Role, Users};
use cordon_store::SqliteStore;
use http_body_util::BodyExt;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

struct World {
    app: axum::Router,
    verifier: cordon_audit::VerifierKey,
    store: Arc<SqliteStore>,
    dir: PathBuf,
    listed: String,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[path = "console/oidc.rs"]
mod oidc;

fn world(name: &str) -> World {
    world_configured(name, None, None)
}

/// A console on a fresh store, with OpenID Connect login when `oidc` is given.
fn world_with(name: &str, oidc: Option<Arc<cordon_console::oidc::Oidc>>) -> World {
    world_configured(name, oidc, None)
}

/// A world whose console publishes approved sets through `publisher`.
fn world_publishing(name: &str, publisher: Option<cordon_console::publish::Publisher>) -> World {
    world_configured(name, None, publisher)
}

/// A console on a fresh store, with OpenID Connect login when `oidc` is
/// given and publishing approved sets through `publisher` when it is.
fn world_configured(
    name: &str,
    oidc: Option<Arc<cordon_console::oidc::Oidc>>,
    publisher: Option<cordon_console::publish::Publisher>,
) -> World {
    let dir = std::env::temp_dir().join(format!("cordon-console-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::open(dir.join("identity.db")).unwrap());
    // A few real SDN entries, so an account named after one is a hit.
    let sdn = std::fs::read_to_string(root().join("data/sanctions/sdn.csv")).unwrap();
    let excerpt: String = sdn.lines().take(20).map(|l| format!("{l}\n")).collect();
    let snapshot = cordon_screening::snapshot::import(&[cordon_screening::lists::ListFile {
        name: "sdn.csv",
        bytes: excerpt.as_bytes(),
    }])
    .unwrap();
    store
        .save_snapshot(&snapshot, None, "2026-12-01T00:00:00Z".parse().unwrap())
        .unwrap();
    let listed = "AEROCARIBBEAN AIRLINES".to_owned();
    store
        .add_account(
            "listed-co",
            serde_json::json!({"kind": "organization", "organization": {"name": listed, "country": "CU"}}),
        )
        .unwrap();
    store
        .add_account(
            "tricky",
            serde_json::json!({"name": "<script>alert(1)</script> Smith", "citizenships": ["DE"]}),
        )
        .unwrap();
    let users = Users::at(dir.join("users.jsonl"));
    for (n, role) in [
        ("ann", Role::Admin),
        ("vic", Role::Viewer),
        ("rey", Role::Reviewer),
        ("aud", Role::Auditor),
        ("oli", Role::Officer),
    ] {
        users.add(n, role, PASSWORD).unwrap();
    }
    let jurisdictions = cordon_jurisdiction::Jurisdictions::embedded().unwrap();
    let groups = cordon_jurisdiction::GroupRegistry::embedded(jurisdictions).unwrap();
    let catalog = cordon_catalog_for_tests(&root());
    let policy = cordon_policy::Policy::load_dir(
        &root().join("directives"),
        catalog,
        jurisdictions,
        &groups,
    )
    .unwrap();
    let set_dir = dir.join("directives");
    std::fs::create_dir_all(&set_dir).unwrap();
    for e in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, set_dir.join(p.file_name().unwrap())).unwrap();
    }
    let set = cordon_console::proposals::DirectiveSet {
        dir: set_dir,
        catalog: root().join("catalog.toml"),
        proposals: dir.join("proposals"),
        jurisdictions,
        groups: cordon_jurisdiction::GroupRegistry::embedded(jurisdictions).unwrap(),
        simulations: Default::default(),
        deciding: Default::default(),
        publisher,
    };
    // An audit log with two changes, a checkpoint over the first only.
    let key = cordon_audit::SigningKey::from_seed("console.test/audit", [9; 32]).unwrap();
    let verifier = key.verifier();
    let audit_dir = dir.join("audit");
    {
        let (log, _) = cordon_audit_log::AuditLog::open(
            cordon_audit_log::LogConfig::new(&audit_dir, "console.test/audit"),
            key,
        )
        .unwrap();
        let change = |n: u32| {
            cordon_audit::leaf::encode(&cordon_audit::Record::Admin(cordon_audit::AdminRecord {
                id: format!("chg_{n}"),
                time: "2026-12-07T12:00:00Z".into(),
                actor: "console:ann".into(),
                action: "directive.approved".into(),
                subject: Some("x.toml".into()),
                details: Default::default(),
            }))
            .unwrap()
        };
        log.append_blocking(change(0)).unwrap();
        log.checkpoint_now().unwrap();
        log.append_blocking(change(1)).unwrap();
        log.shutdown();
    }
    let console = Arc::new(Console {
        records: store.clone(),
        users,
        sessions: Default::default(),
        policy: std::sync::RwLock::new(Arc::new(policy)),
        directives: Some(set),
        audit_log: Some(audit_dir),
        audit_key: Some(verifier.clone()),
        oidc,
        decisions: Default::default(),
        list_entries: Default::default(),
        clock: Arc::new(|| "2026-12-07T12:00:00Z".parse().unwrap()),
    });
    World {
        app: cordon_console::router(console),
        verifier,
        store,
        dir,
        listed,
    }
}

fn cordon_catalog_for_tests(root: &std::path::Path) -> cordon_catalog::Catalog {
    cordon_catalog::Catalog::load(&root.join("catalog.toml")).unwrap()
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..at + 64].to_owned()
    }
}

async fn send(w: &World, req: Request<Body>) -> Reply {
    let r = w.app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body =
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

fn post(path: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut b =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(form.to_owned())).unwrap()
}

/// The `name=value` part of a `Set-Cookie`.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Logs `user` in; the session cookie (`name=value`).
async fn login(w: &World, user: &str) -> String {
    let page = send(w, get("/console/login", None)).await;
    let login_cookie = pair(&page.cookie("__Host-cordon-login").unwrap());
    let r = send(
        w,
        post(
            "/console/login",
            Some(&login_cookie),
            &format!(
                "username={user}&password={}&csrf={}",
                PASSWORD.replace(' ', "+"),
                page.csrf()
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    pair(&r.cookie("__Host-cordon-session").unwrap())
}

#[tokio::test]
async fn the_login_page_has_a_strict_policy_and_host_only_cookies() {
    let w = world("login-page");
    let r = send(&w, get("/console/", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(r.headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(
        r.body
            .contains("<form class=\"login\" method=\"post\" action=\"/console/login\">")
    );
    assert!(!r.body.contains("<script"));
    let c = r.cookie("__Host-cordon-login").unwrap();
    assert!(
        c.contains("; Path=/; Secure; HttpOnly; SameSite=Lax"),
        "{c}"
    );
}

#[tokio::test]
async fn every_page_starts_with_its_skip_link_and_scrolls_tables_in_labelled_regions() {
    let w = world("a11y");
    let ann = login(&w, "ann").await;
    let login_page = send(&w, get("/console/login", None)).await;
    let missing = send(&w, get("/console/accounts/no-such", Some(&ann))).await;
    let refused = send(&w, post("/console/logout", Some(&ann), "csrf=stale")).await;
    let mut pages = vec![
        ("login", login_page.body),
        ("no such account", missing.body),
        ("refused", refused.body),
    ];
    for path in [
        "/console/overview",
        "/console/accounts",
        "/console/accounts/tricky",
        "/console/screening",
        "/console/audit",
        "/console/directives",
    ] {
        pages.push((path, send(&w, get(path, Some(&ann))).await.body));
    }
    let region = "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"";
    for (name, body) in &pages {
        // The skip link is the first link or control on the page.
        let skip = body.find("<a class=\"skip\" href=\"#main\">Skip to content</a>");
        let first = ["<a ", "<input", "<button", "<select", "<textarea"]
            .iter()
            .filter_map(|tag| body.find(tag))
            .min();
        assert!(skip.is_some() && skip == first, "{name}: {body}");
        assert!(body.contains("<main id=\"main\">"), "{name}");
        // Every table sits in a labelled region that scrolls on its own.
        let tables = body.matches("<table>").count();
        assert_eq!(tables, body.matches(region).count(), "{name}: {body}");
        for (at, _) in body.match_indices("<table>") {
            let before = body.get(..at).unwrap_or_default();
            assert!(
                before.ends_with("\">"),
                "{name}: a table outside its region"
            );
            let opened = before.rfind(region).unwrap();
            assert!(!before[opened..].contains("</div>"), "{name}");
        }
    }
    assert!(
        pages
            .iter()
            .any(|(_, body)| body.contains(&format!("{region}Attributes\"><table>"))),
        "the account page's attributes are in their region"
    );
}

#[tokio::test]
async fn a_login_without_its_token_or_from_another_site_is_refused() {
    let w = world("login-csrf");
    let page = send(&w, get("/console/login", None)).await;
    let login_cookie = pair(&page.cookie("__Host-cordon-login").unwrap());
    let form = format!("username=ann&password={}", PASSWORD.replace(' ', "+"));
    // No token at all.
    let r = send(&w, post("/console/login", Some(&login_cookie), &form)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookie("__Host-cordon-session").is_none());
    // A token that is not the cookie's.
    let other = "0".repeat(64);
    let r = send(
        &w,
        post(
            "/console/login",
            Some(&login_cookie),
            &format!("{form}&csrf={other}"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The right token, from another site.
    let mut req = post(
        "/console/login",
        Some(&login_cookie),
        &format!("{form}&csrf={}", page.csrf()),
    );
    req.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let r = send(&w, req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    // A wrong password: no session.
    let r = send(
        &w,
        post(
            "/console/login",
            Some(&login_cookie),
            &format!(
                "username=ann&password=wrong+password+1&csrf={}",
                page.csrf()
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong user name or password."));
    assert!(r.cookie("__Host-cordon-session").is_none());
}

#[tokio::test]
async fn a_login_replaces_whatever_session_id_the_browser_brought() {
    let w = world("fixation");
    let planted = login(&w, "vic").await;
    let page = send(&w, get("/console/login", None)).await;
    let cookies = format!(
        "{}; {planted}",
        pair(&page.cookie("__Host-cordon-login").unwrap())
    );
    let r = send(
        &w,
        post(
            "/console/login",
            Some(&cookies),
            &format!(
                "username=ann&password={}&csrf={}",
                PASSWORD.replace(' ', "+"),
                page.csrf()
            ),
        ),
    )
    .await;
    let fresh = pair(&r.cookie("__Host-cordon-session").unwrap());
    assert_ne!(fresh, planted);
    // The old id no longer opens anything; the new one does.
    let old = send(&w, get("/console/overview", Some(&planted))).await;
    assert_eq!(old.status, StatusCode::SEE_OTHER);
    let new = send(&w, get("/console/overview", Some(&fresh))).await;
    assert_eq!(new.status, StatusCode::OK);
    assert!(new.body.contains("foreign-national-frontier-2026"));
    // The partial order ships as a draft: shown, and not as in force.
    let partial = new
        .body
        .find("foreign-national-frontier-2026-partial")
        .unwrap();
    let row_end = partial + new.body[partial..].find("</tr>").unwrap();
    assert!(new.body[partial..row_end].contains("draft: decides nothing"));
}

#[tokio::test]
async fn a_name_with_markup_is_shown_as_text() {
    let w = world("escape");
    let session = login(&w, "ann").await;
    let r = send(&w, get("/console/accounts/tricky", Some(&session))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("<script>"), "{}", r.body);
    assert!(
        r.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; Smith")
    );
    let page = send(&w, get("/console/accounts", Some(&session))).await;
    let found = send(
        &w,
        post(
            "/console/accounts",
            Some(&session),
            &format!("q=smith&csrf={}", page.csrf()),
        ),
    )
    .await;
    assert!(found.body.contains("href=\"/console/accounts/tricky\""));
    assert!(!found.body.contains("listed-co"), "the search filters");
}

#[tokio::test]
async fn only_a_reviewer_with_the_session_s_token_decides_a_hit() {
    let w = world("review");
    let hits = w.store.pending_hits().unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].entry_name, w.listed);
    let form = |csrf: &str| {
        format!(
            "csrf={csrf}&account=listed-co&list=SDN&uid={}&decision=confirmed&note=same+airline",
            hits[0].uid
        )
    };
    // A viewer sees the queue but no form, and a post is refused.
    let viewer = login(&w, "vic").await;
    let q = send(&w, get("/console/screening", Some(&viewer))).await;
    assert!(q.body.contains("listed-co") && !q.body.contains("/console/screening/decide"));
    let r = send(
        &w,
        post("/console/screening/decide", Some(&viewer), &form(&q.csrf())),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A reviewer without the token is refused too.
    let reviewer = login(&w, "rey").await;
    let r = send(
        &w,
        post(
            "/console/screening/decide",
            Some(&reviewer),
            &form(&"1".repeat(64)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(w.store.pending_hits().unwrap().len(), 1);
    // With it, the decision is recorded under the reviewer's name.
    let q = send(&w, get("/console/screening", Some(&reviewer))).await;
    let r = send(
        &w,
        post(
            "/console/screening/decide",
            Some(&reviewer),
            &form(&q.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(w.store.pending_hits().unwrap().is_empty());
    let d = w.store.dispositions("listed-co").unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].reviewer, "console:rey");
}

#[tokio::test]
async fn an_auditor_sees_the_audit_pages_but_no_accounts() {
    let w = world("auditor");
    let auditor = login(&w, "aud").await;
    assert_eq!(
        send(&w, get("/console/audit", Some(&auditor))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&w, get("/console/accounts", Some(&auditor)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&w, get("/console/accounts/tricky", Some(&auditor)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Logging out ends the session.
    let page = send(&w, get("/console/overview", Some(&auditor))).await;
    let r = send(
        &w,
        post(
            "/console/logout",
            Some(&auditor),
            &format!("csrf={}", page.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(&w, get("/console/overview", Some(&auditor)))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_directive_change_is_checked_and_applied_only_with_a_second_officer() {
    let w = world("two-person");
    let ann = login(&w, "ann").await;
    let page = send(&w, get("/console/directives", Some(&ann))).await;
    assert!(page.body.contains("Propose a change"));
    let propose = |session: String, file: &str, text: &str, csrf: String| {
        let form = format!(
            "csrf={csrf}&file={file}&text={}",
            text.replace('%', "%25")
                .replace('&', "%26")
                .replace('=', "%3D")
                .replace('+', "%2B")
                .replace('\n', "%0A")
                .replace(' ', "+")
                .replace('"', "%22")
                .replace('#', "%23")
        );
        post("/console/directives/propose", Some(&session.clone()), &form)
    };
    // A viewer may not propose.
    let vic = login(&w, "vic").await;
    let vpage = send(&w, get("/console/directives", Some(&vic))).await;
    assert!(!vpage.body.contains("Propose a change"));
    let r = send(&w, propose(vic.clone(), "x.toml", "id = 1", vpage.csrf())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A broken file: proposed, shown with its finding on its line, not approvable.
    let r = send(
        &w,
        propose(ann.clone(), "zz-half.toml", "id = \"half\"\n", page.csrf()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let at = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    let shown = send(&w, get(&at, Some(&ann))).await;
    assert!(shown.body.contains("does not check"), "{}", shown.body);
    assert!(shown.body.contains("zz-half.toml:1:"), "{}", shown.body);
    assert!(!shown.body.contains("/approve"));

    // A good change: the foreign-national order moved to shadow.
    let path = root().join("directives/foreign-national-frontier.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("mode = \"enforced\"", "mode = \"shadow\"");
    let r = send(
        &w,
        propose(
            ann.clone(),
            "foreign-national-frontier.toml",
            &text,
            page.csrf(),
        ),
    )
    .await;
    let at = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    let mine = send(&w, get(&at, Some(&ann))).await;
    assert!(
        mine.body.contains("The set checks with it"),
        "{}",
        mine.body
    );
    assert!(
        !mine.body.contains("/approve"),
        "no approve button for who proposed it"
    );
    // The proposer approving it anyway is refused.
    let r = send(
        &w,
        post(
            &format!("{at}/approve"),
            Some(&ann),
            &format!("csrf={}", mine.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("second officer"), "{}", r.body);
    let on_disk = w.dir.join("directives/foreign-national-frontier.toml");
    assert!(
        std::fs::read_to_string(&on_disk)
            .unwrap()
            .contains("mode = \"enforced\"")
    );

    // A second officer approves: written where the gateway reloads from,
    // and shown at once.
    let oli = login(&w, "oli").await;
    let theirs = send(&w, get(&at, Some(&oli))).await;
    assert!(theirs.body.contains("/approve"));
    let r = send(
        &w,
        post(
            &format!("{at}/approve"),
            Some(&oli),
            &format!("csrf={}", theirs.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        std::fs::read_to_string(&on_disk)
            .unwrap()
            .contains("mode = \"shadow\"")
    );
    let after = send(&w, get(&at, Some(&oli))).await;
    assert!(after.body.contains("approved by oli"), "{}", after.body);
    let row = overview_row(&w, &oli, "foreign-national-frontier-2026").await;
    assert!(row.contains("<td>shadow</td>"), "{row}");

    // Each step is journaled under the person who took it.
    let journal: Vec<(String, String)> = w
        .store
        .pending_changes(100)
        .unwrap()
        .into_iter()
        .filter(|c| c.action.starts_with("directive."))
        .map(|c| (c.actor, c.action))
        .collect();
    assert_eq!(
        journal,
        vec![
            ("console:ann".to_owned(), "directive.proposed".to_owned()),
            ("console:ann".to_owned(), "directive.proposed".to_owned()),
            ("console:oli".to_owned(), "directive.approved".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_receipt_downloads_only_for_an_entry_a_signed_checkpoint_covers_and_verifies() {
    let w = world("receipt");
    let aud = login(&w, "aud").await;
    let list = send(&w, get("/console/audit", Some(&aud))).await;
    assert!(
        list.body.contains("href=\"/console/audit/entries/0\""),
        "{}",
        list.body
    );
    let entry = send(&w, get("/console/audit/entries/0", Some(&aud))).await;
    assert!(entry.body.contains("directive.approved"));
    let r = send(&w, get("/console/audit/entries/0/receipt", Some(&aud))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"receipt-0.tlog-proof\""
    );
    let bundle = cordon_audit::InclusionBundle::parse(&r.body).unwrap();
    let checked = bundle.check(&w.verifier).unwrap();
    assert!(String::from_utf8_lossy(&checked.leaf).contains("chg_0"));
    // Entry 1 is after the only checkpoint; entry 2 does not exist.
    let r = send(&w, get("/console/audit/entries/1/receipt", Some(&aud))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("not yet entry 1"), "{}", r.body);
    let r = send(&w, get("/console/audit/entries/2/receipt", Some(&aud))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Not without a session.
    let r = send(&w, get("/console/audit/entries/0/receipt", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn decisions_are_found_by_what_they_decided_and_shown_on_their_account() {
    let w = world("decisions");
    let ann = login(&w, "ann").await;
    let page = send(&w, get("/console/audit", Some(&ann))).await;
    assert!(page.body.contains("Search decisions"));
    // The test log holds changes only: a search finds no decision, and a
    // bad time is named.
    let r = send(
        &w,
        post(
            "/console/audit/search",
            Some(&ann),
            &format!("csrf={}&effect=deny", page.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains("0 decision(s) found among the last 2 entries"),
        "{}",
        r.body
    );
    let r = send(
        &w,
        post(
            "/console/audit/search",
            Some(&ann),
            &format!("csrf={}&since=yesterday", page.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("`From` is not an RFC 3339 time"),
        "{}",
        r.body
    );
    // Without the token, refused.
    let r = send(&w, post("/console/audit/search", Some(&ann), "effect=deny")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // An account page shows its evidence section and its decisions section.
    let r = send(&w, get("/console/accounts/tricky", Some(&ann))).await;
    assert!(r.body.contains("<h2>Evidence</h2>") && r.body.contains("<h2>Recent decisions</h2>"));
}

#[tokio::test]
async fn an_officer_records_a_verification_by_hand_and_a_viewer_cannot() {
    let w = world("verify");
    let form = |csrf: &str| {
        format!(
            "csrf={csrf}&verification=document_verified&citizenships=de,%20fr&how=passport+seen+in+person"
        )
    };
    let vic = login(&w, "vic").await;
    let page = send(&w, get("/console/accounts/tricky", Some(&vic))).await;
    assert!(!page.body.contains("Record the verification"));
    let r = send(
        &w,
        post(
            "/console/accounts/tricky/verify",
            Some(&vic),
            &form(&page.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let oli = login(&w, "oli").await;
    let page = send(&w, get("/console/accounts/tricky", Some(&oli))).await;
    assert!(page.body.contains("Record the verification"));
    let r = send(
        &w,
        post(
            "/console/accounts/tricky/verify",
            Some(&oli),
            &form(&page.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let subject = w.store.subject("tricky").unwrap().unwrap();
    assert_eq!(
        subject.verification,
        cordon_subject::VerificationLevel::DocumentVerified
    );
    let rec = w.store.get("tricky").unwrap().unwrap();
    assert_eq!(rec.subject["citizenships"], serde_json::json!(["DE", "FR"]));
    assert_eq!(rec.subject["source"], "console:oli");
    let journaled = w
        .store
        .pending_changes(100)
        .unwrap()
        .into_iter()
        .find(|c| c.action == "account.verified_by_hand")
        .unwrap();
    assert_eq!(journaled.actor, "console:oli");
    assert_eq!(journaled.details["how"], "passport seen in person");
    // A level the form does not offer is refused.
    let r = send(
        &w,
        post(
            "/console/accounts/tricky/verify",
            Some(&oli),
            &format!(
                "csrf={}&verification=self_declared&citizenships=DE&how=x",
                page.csrf()
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn what_if_decides_with_changed_attributes_and_saves_nothing() {
    let w = world("what-if");
    let vic = login(&w, "vic").await;
    let page = send(&w, get("/console/accounts/tricky", Some(&vic))).await;
    let before = w.store.get("tricky").unwrap().unwrap();
    let ask = |patch: &str| {
        format!(
            "csrf={}&model=fable-5&country=US&patch={}",
            page.csrf(),
            patch
                .replace('{', "%7B")
                .replace('}', "%7D")
                .replace('"', "%22")
                .replace(' ', "+")
                .replace('[', "%5B")
                .replace(']', "%5D")
                .replace(',', "%2C")
                .replace(':', "%3A")
        )
    };
    let as_is = send(
        &w,
        post("/console/accounts/tricky/what-if", Some(&vic), &ask("{}")),
    )
    .await;
    assert_eq!(as_is.status, StatusCode::OK, "{}", as_is.body);
    let verified = send(
        &w,
        post(
            "/console/accounts/tricky/what-if",
            Some(&vic),
            &ask(
                r#"{"citizenships": ["US"], "verification": "document_verified", "screening": []}"#,
            ),
        ),
    )
    .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let decision = |r: &Reply| {
        let at = r.body.find("<h2>Decision</h2>").unwrap();
        r.body[at..].lines().take(3).collect::<Vec<_>>().join(" ")
    };
    assert!(!decision(&as_is).contains("allow"), "{}", decision(&as_is));
    assert!(
        decision(&verified).contains("allow"),
        "{}",
        decision(&verified)
    );
    assert_eq!(
        w.store.get("tricky").unwrap().unwrap(),
        before,
        "nothing saved"
    );
    // Bad input is named.
    let r = send(
        &w,
        post("/console/accounts/tricky/what-if", Some(&vic), &ask("[1]")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("must be a JSON object"));
}

#[tokio::test]
async fn what_if_applies_the_licences_the_account_holds() {
    let w = world("what-if-licence");
    w.store
        .add_account(
            "acme",
            serde_json::json!({"kind": "organization", "organization": {"name": "Acme Labs", "country": "US"}}),
        )
        .unwrap();
    w.store
        .add_account(
            "acme-ana",
            serde_json::json!({"name": "Ana Example", "citizenships": ["DE"], "verification": "document_verified", "organization": {"name": "Acme Labs"}}),
        )
        .unwrap();
    let licence = cordon_subject::Licence::from_value(
        &serde_json::json!({
            "number": "D1234567", "authority": "BIS",
            "directives": ["foreign-national-frontier-2026"],
            "holder": "acme", "individuals": ["acme-ana"],
            "excluded_nationalities": [], "models": ["fable-5"],
            "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-01T00:00:00Z"
        }),
        cordon_jurisdiction::Jurisdictions::embedded().unwrap(),
        None,
    )
    .unwrap();
    w.store
        .record_licence(&licence, cordon_store::LicenceSource::Staff)
        .unwrap();
    let vic = login(&w, "vic").await;
    let page = send(&w, get("/console/accounts/acme-ana", Some(&vic))).await;
    let ask = |patch: &str| {
        format!(
            "csrf={}&model=fable-5&country=US&patch={}",
            page.csrf(),
            form_encode(patch)
        )
    };
    let decision = |r: &Reply| {
        let at = r.body.find("<h2>Decision</h2>").unwrap();
        r.body[at..].lines().take(3).collect::<Vec<_>>().join(" ")
    };
    // As recorded: a document-verified German national, named by the
    // licence of the organisation she is a member of.
    let licensed = send(
        &w,
        post("/console/accounts/acme-ana/what-if", Some(&vic), &ask("{}")),
    )
    .await;
    assert_eq!(licensed.status, StatusCode::OK, "{}", licensed.body);
    assert!(
        decision(&licensed).contains("allow"),
        "{}",
        decision(&licensed)
    );
    assert!(licensed.body.contains("D1234567"), "{}", licensed.body);
    // Moved to another organisation, the licence no longer covers her and
    // the order refuses her.
    let elsewhere = send(
        &w,
        post(
            "/console/accounts/acme-ana/what-if",
            Some(&vic),
            &ask(r#"{"organization": {"name": "Other Co"}}"#),
        ),
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.body);
    assert!(
        !decision(&elsewhere).contains("allow"),
        "{}",
        decision(&elsewhere)
    );
    assert!(!elsewhere.body.contains("Licences applied"));
}

/// A form field's value, percent-encoded.
fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The number in the element of `body` carrying `data-figure="{path}"`.
fn figure(body: &str, path: &str) -> u64 {
    let marker = format!("data-figure=\"{path}\">");
    let at = body.find(&marker).unwrap_or_else(|| panic!("no {path}")) + marker.len();
    body[at..]
        .chars()
        .take_while(|c| *c != '<')
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Proposes `file` with `text` as `session`; the proposal's address.
async fn propose(w: &World, session: &str, file: &str, text: &str) -> String {
    let page = send(w, get("/console/directives", Some(session))).await;
    let r = send(
        w,
        post(
            "/console/directives/propose",
            Some(session),
            &format!(
                "csrf={}&file={file}&text={}",
                page.csrf(),
                form_encode(text)
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.headers[header::LOCATION].to_str().unwrap().to_owned()
}

/// The foreign-national order's file with `from` replaced by `to`.
fn foreign_national_order(from: &str, to: &str) -> String {
    let text =
        std::fs::read_to_string(root().join("directives/foreign-national-frontier.toml")).unwrap();
    assert!(text.contains(from), "{from}");
    text.replace(from, to)
}

#[tokio::test]
async fn a_proposal_shows_its_impact_on_the_store_and_frames_the_report() {
    use base64::Engine as _;
    use sha2::Digest as _;

    let w = world("simulation");
    // A document-verified foreign national living abroad: refused fable-5
    // and mythos-5 by the order in force, given them back if it goes to
    // shadow. (Simulated requests come from the recorded residence.)
    w.store
        .add_account(
            "verified-de",
            serde_json::json!({"name": "Vera", "citizenships": ["DE"], "residence_country": "DE", "verification": "document_verified"}),
        )
        .unwrap();
    let ann = login(&w, "ann").await;
    let at = propose(
        &w,
        &ann,
        "foreign-national-frontier.toml",
        &foreign_national_order("mode = \"enforced\"", "mode = \"shadow\""),
    )
    .await;
    let page = send(&w, get(&at, Some(&ann))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Simulated at "), "{}", page.body);
    let accounts = w.store.count().unwrap();
    assert_eq!(figure(&page.body, "accounts"), accounts);
    let gained = figure(&page.body, "accounts_by_transition.gain_access");
    assert!(
        gained >= 1,
        "the verified German national gains access: {}",
        page.body
    );
    assert_eq!(figure(&page.body, "accounts_by_transition.lose_access"), 0);
    assert!(
        page.body
            .contains("<td>foreign-national-frontier-2026</td><td>modified</td><td>shadow</td>"),
        "{}",
        page.body
    );
    // The page may frame the console's own pages, and frames the report
    // sandboxed.
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("frame-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "{csp}"
    );
    let frame = format!(
        "<iframe class=\"report\" title=\"The impact report\" sandbox=\"\" src=\"{at}/simulation\">"
    );
    assert!(page.body.contains(&frame), "{}", page.body);

    // The report: the same figures, its one style element allowed by its
    // hash, no script, framed by the console only.
    let report = send(&w, get(&format!("{at}/simulation"), Some(&ann))).await;
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(
        figure(&report.body, "accounts_by_transition.gain_access"),
        gained
    );
    let style = report
        .body
        .split_once("<style>")
        .unwrap()
        .1
        .split_once("</style>")
        .unwrap()
        .0;
    let hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style.as_bytes()));
    let csp = report.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains(&format!("style-src-elem 'sha256-{hash}'")),
        "{csp}"
    );
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("frame-ancestors 'self'")
            && csp.contains("sandbox"),
        "{csp}"
    );
    assert!(
        !csp.contains("script-src") && !report.body.contains("<script"),
        "{csp}"
    );
    assert_eq!(report.headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    // Any other page is still never framed.
    let other = send(&w, get("/console/directives", Some(&ann))).await;
    assert_eq!(other.headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(
        !other.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-src")
    );
    // Not for anyone logged out.
    let r = send(&w, get(&format!("{at}/simulation"), None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // Kept while the store is unchanged; run again once it changes.
    let ran = |body: &str| {
        let at = body.find("Simulated at ").unwrap();
        body[at..at + 80].to_owned()
    };
    let again = send(&w, get(&at, Some(&ann))).await;
    assert_eq!(ran(&again.body), ran(&page.body));
    w.store
        .add_account("newcomer", serde_json::json!({"name": "New", "citizenships": ["FR"], "residence_country": "FR", "verification": "document_verified"}))
        .unwrap();
    let after = send(&w, get(&at, Some(&ann))).await;
    assert_ne!(ran(&after.body), ran(&page.body));
    assert_eq!(figure(&after.body, "accounts"), accounts + 1);
    assert_eq!(
        figure(&after.body, "accounts_by_transition.gain_access"),
        gained + 1
    );
}

/// Every file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn an_auditor_verifies_the_whole_log_and_is_told_where_it_breaks() {
    let w = world("verify-log");
    let aud = login(&w, "aud").await;
    let page = send(&w, get("/console/audit", Some(&aud))).await;
    assert!(page.body.contains("action=\"/console/audit/verify\""));
    // A viewer neither sees the button nor may run it.
    let vic = login(&w, "vic").await;
    let vpage = send(&w, get("/console/audit", Some(&vic))).await;
    assert!(!vpage.body.contains("/console/audit/verify"));
    let r = send(
        &w,
        post(
            "/console/audit/verify",
            Some(&vic),
            &format!("csrf={}", vpage.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Without the token: refused.
    let r = send(&w, post("/console/audit/verify", Some(&aud), "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let verify = || {
        post(
            "/console/audit/verify",
            Some(&aud),
            &format!("csrf={}", page.csrf()),
        )
    };
    let intact = send(&w, verify()).await;
    assert_eq!(intact.status, StatusCode::OK, "{}", intact.body);
    assert!(
        intact.body.contains("Verified: the log is intact."),
        "{}",
        intact.body
    );
    assert_eq!(figure(&intact.body, "entries"), 2);
    assert_eq!(figure(&intact.body, "checkpoints"), 1);
    assert!(
        intact
            .body
            .contains("the first 1 entries; 1 not yet covered"),
        "{}",
        intact.body
    );
    assert!(
        intact.body.contains(&w.verifier.to_text()),
        "{}",
        intact.body
    );

    // One byte of the first entry changed in its segment file. (Damage to
    // the last record reads as a write torn by a crash, which a writer cuts:
    // the run reports it as an ignored tail instead.)
    let damaged = files_under(&w.dir.join("audit"))
        .into_iter()
        .find_map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let at = bytes.windows(5).position(|x| x == b"chg_0")?;
            let mut bytes = bytes;
            bytes[at + 4] = b'7';
            std::fs::write(&p, bytes).unwrap();
            Some(p)
        })
        .expect("the first entry's bytes in a segment file");
    let broken = send(&w, verify()).await;
    assert_eq!(broken.status, StatusCode::OK, "{}", broken.body);
    assert!(
        broken.body.contains("The log does not verify."),
        "{}",
        broken.body
    );
    assert!(!broken.body.contains("Verified"), "{}", broken.body);
    assert_eq!(figure(&broken.body, "bad-entry"), 0, "{}", broken.body);
    let name = damaged.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        broken.body.contains(&name),
        "names the segment: {}",
        broken.body
    );
    // Reading is not a change: nothing journaled.
    assert!(
        w.store
            .pending_changes(100)
            .unwrap()
            .iter()
            .all(|c| !c.action.contains("verif")),
    );
}

#[tokio::test]
async fn an_approver_schedules_a_change_for_later_and_the_overview_counts_down() {
    let w = world("schedule");
    let ann = login(&w, "ann").await;
    let oli = login(&w, "oli").await;
    let on_disk = w.dir.join("directives/foreign-national-frontier.toml");
    let approve = |at: &str, csrf: String, effective: &str| {
        post(
            &format!("{at}/approve"),
            Some(&oli),
            &format!("csrf={csrf}&effective={}", form_encode(effective)),
        )
    };

    // The order as shipped: its grace period ends 2026-12-04, so it cannot
    // be postponed past then without changing that too.
    let as_shipped = foreign_national_order("mode = \"enforced\"", "mode = \"enforced\"");
    let at = propose(&w, &ann, "foreign-national-frontier.toml", &as_shipped).await;
    let page = send(&w, get(&at, Some(&oli))).await;
    assert!(
        page.body
            .contains("type=\"datetime-local\" name=\"effective\"")
    );
    let r = send(&w, approve(&at, page.csrf(), "2026-12-20T09:00")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("does not check"), "{}", r.body);
    // A time not later than now is refused, naming now.
    let r = send(&w, approve(&at, page.csrf(), "2026-12-07T11:00")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("not later than now"), "{}", r.body);
    // Nonsense is named.
    let r = send(&w, approve(&at, page.csrf(), "soon")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), as_shipped);

    // Without a grace period: postponed to three days from now.
    let no_grace = foreign_national_order("grace_until = 2026-12-04T00:00:00Z\n", "");
    let at = propose(&w, &ann, "foreign-national-frontier.toml", &no_grace).await;
    let page = send(&w, get(&at, Some(&oli))).await;
    let r = send(&w, approve(&at, page.csrf(), "2026-12-10T12:00")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let written = std::fs::read_to_string(&on_disk).unwrap();
    assert_eq!(
        written,
        no_grace.replace(
            "effective = 2026-11-20T00:00:00Z",
            "effective = 2026-12-10T12:00:00Z"
        )
    );
    let after = send(&w, get(&at, Some(&oli))).await;
    assert!(
        after
            .body
            .contains("scheduled to take effect at 2026-12-10T12:00:00Z"),
        "{}",
        after.body
    );
    let row = overview_row(&w, &oli, "foreign-national-frontier-2026").await;
    assert!(row.contains("scheduled: in 3 d 0 h"), "{row}");
    // Journaled with the time.
    let approved = journaled(&w, "directive.approved");
    assert_eq!(approved.details["effective"], "2026-12-10T12:00:00Z");

    // A file that states a later time keeps it: approval postpones, never
    // brings forward.
    let later = no_grace.replace(
        "effective = 2026-11-20T00:00:00Z",
        "effective = 2027-03-01T00:00:00Z",
    );
    let at = propose(&w, &ann, "foreign-national-frontier.toml", &later).await;
    let page = send(&w, get(&at, Some(&oli))).await;
    let r = send(&w, approve(&at, page.csrf(), "2026-12-08T00:00:00Z")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), later);
}

/// The overview's row of directive `id`, as `session` sees it.
async fn overview_row(w: &World, session: &str, id: &str) -> String {
    let overview = send(w, get("/console/overview", Some(session))).await;
    let row = overview
        .body
        .find(&format!("<strong>{id}</strong>"))
        .unwrap();
    let end = row + overview.body[row..].find("</tr>").unwrap();
    overview.body[row..end].to_owned()
}

/// A fleet's shared store that keeps what is published to it.
#[derive(Default)]
struct Published(std::sync::Mutex<Vec<cordon_fleet::SignedBundle>>);

impl cordon_console::publish::BundleStore for Published {
    fn publish_bundle(
        &self,
        id: &str,
        _policy_version: &str,
        content: &[u8],
        signature: &str,
    ) -> Result<cordon_store::postgres::Published, cordon_store::StoreError> {
        let mut all = self.0.lock().unwrap();
        let previous = all.last().map(|b| b.id.clone());
        all.push(cordon_fleet::SignedBundle {
            id: id.to_owned(),
            content: content.to_vec(),
            signature: signature.to_owned(),
        });
        Ok(cordon_store::postgres::Published {
            changed: previous.as_deref() != Some(id),
            previous,
        })
    }
}

#[tokio::test]
async fn with_a_publisher_key_an_approval_publishes_a_signed_bundle_of_the_whole_set() {
    let fleet = Arc::new(Published::default());
    let (w, trusted) = publishing_world("publish", fleet.clone());
    let ann = login(&w, "ann").await;
    let oli = login(&w, "oli").await;
    let text = foreign_national_order("mode = \"enforced\"", "mode = \"shadow\"");
    let at = propose(&w, &ann, "foreign-national-frontier.toml", &text).await;
    assert!(
        fleet.0.lock().unwrap().is_empty(),
        "proposing publishes nothing"
    );
    let r = approve(&w, &oli, &at).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // One bundle, verifying under the publisher's public key, holding every
    // file of the set with the change, and the catalog.
    let published = fleet.0.lock().unwrap().clone();
    assert_eq!(published.len(), 1);
    let bundle = published[0].open(&[trusted]).unwrap();
    let shipped = std::fs::read_dir(root().join("directives"))
        .unwrap()
        .count();
    assert_eq!(bundle.directives.len(), shipped);
    let changed = bundle
        .directives
        .iter()
        .find(|f| f.name == "foreign-national-frontier.toml")
        .unwrap();
    assert_eq!(changed.text, text);
    assert_eq!(
        bundle.catalog.text,
        std::fs::read_to_string(root().join("catalog.toml")).unwrap()
    );
    // Under another key it does not verify.
    let stranger = cordon_audit::SigningKey::from_seed("someone.else/publisher", [8; 32]).unwrap();
    assert!(published[0].open(&[stranger.verifier()]).is_err());
    // The set the console now shows is the one published.
    let after = send(&w, get(&at, Some(&oli))).await;
    assert!(
        after.body.contains(&format!(
            "published to the fleet as bundle {}",
            published[0].id
        )),
        "{}",
        after.body
    );
    let overview = send(&w, get("/console/overview", Some(&oli))).await;
    assert!(
        overview.body.contains(&bundle.policy_version),
        "the console shows the published policy version"
    );
    let approved = journaled(&w, "directive.approved");
    assert_eq!(approved.details["bundle"], published[0].id.as_str());
}

/// A migrated database of its own on the server `CORDON_TEST_POSTGRES`
/// names; `None` (the test passes vacuously) without one, which
/// `tests/postgres/run.sh` never leaves unset.
fn postgres_store(test: &str) -> Option<Arc<cordon_store::PostgresStore>> {
    let Ok(server) = std::env::var("CORDON_TEST_POSTGRES") else {
        eprintln!("skipped: CORDON_TEST_POSTGRES is not set (tests/postgres/run.sh sets it)");
        return None;
    };
    let db = format!("cordon_console_{test}");
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    let url = format!("{base}/{db}");
    cordon_store::PostgresStore::migrate(&url).unwrap();
    Some(Arc::new(
        cordon_store::PostgresStore::connect(&url)
            .unwrap()
            .with_actor("cordon console"),
    ))
}

#[tokio::test]
async fn postgres_an_approval_becomes_the_fleet_s_active_signed_bundle() {
    // The PostgreSQL client blocks: it runs off the test's runtime.
    let Some(fleet) = tokio::task::spawn_blocking(|| postgres_store("publish"))
        .await
        .unwrap()
    else {
        return;
    };
    let active = |fleet: Arc<cordon_store::PostgresStore>| {
        tokio::task::spawn_blocking(move || fleet.active_bundle_id().unwrap())
    };
    let (w, trusted) = publishing_world("publish-postgres", fleet.clone());
    let ann = login(&w, "ann").await;
    let oli = login(&w, "oli").await;
    let text = foreign_national_order("mode = \"enforced\"", "mode = \"shadow\"");
    let at = propose(&w, &ann, "foreign-national-frontier.toml", &text).await;
    assert_eq!(active(fleet.clone()).await.unwrap(), None);
    let r = approve(&w, &oli, &at).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = active(fleet.clone())
        .await
        .unwrap()
        .expect("an active bundle");
    let stored = tokio::task::spawn_blocking(move || fleet.bundle(&id).unwrap().unwrap())
        .await
        .unwrap();
    let bundle = cordon_fleet::SignedBundle {
        id: stored.id,
        content: stored.content,
        signature: stored.signature,
    }
    .open(&[trusted])
    .unwrap();
    assert_eq!(bundle.policy_version, stored.policy_version);
    assert!(
        bundle
            .directives
            .iter()
            .any(|f| f.name == "foreign-national-frontier.toml" && f.text == text)
    );
    // The console holds the last connection, which closes blocking.
    tokio::task::spawn_blocking(move || drop(w)).await.unwrap();
}

/// A world whose console publishes to `fleet` with a test publisher key;
/// and the key's public half.
fn publishing_world(
    name: &str,
    fleet: Arc<dyn cordon_console::publish::BundleStore>,
) -> (World, cordon_audit::VerifierKey) {
    let key =
        cordon_audit::SigningKey::from_seed("policy.console.test/publisher", [7; 32]).unwrap();
    let trusted = key.verifier();
    let publisher = cordon_console::publish::Publisher { key, store: fleet };
    (world_publishing(name, Some(publisher)), trusted)
}

/// Approves the proposal at `at` as `session`, taking effect as its file says.
async fn approve(w: &World, session: &str, at: &str) -> Reply {
    let page = send(w, get(at, Some(session))).await;
    send(
        w,
        post(
            &format!("{at}/approve"),
            Some(session),
            &format!("csrf={}", page.csrf()),
        ),
    )
    .await
}

/// The first change journaled as `action`.
fn journaled(w: &World, action: &str) -> cordon_store::AdminChange {
    w.store
        .pending_changes(100)
        .unwrap()
        .into_iter()
        .find(|c| c.action == action)
        .unwrap()
}

/// A decision at `time` for `account`, with `effect` decided by `directive`.
fn decision_leaf(account: &str, time: &str, effect: &str, directive: Option<&str>) -> Vec<u8> {
    use cordon_audit::leaf::{DecisionRecord, Mode, Obligations, Source};
    cordon_audit::leaf::encode(&cordon_audit::Record::Decision(DecisionRecord {
        id: format!("dec_{account}_{time}"),
        time: time.into(),
        account: Some(account.into()),
        model_requested: "fable".into(),
        model: Some("fable-5".into()),
        endpoint: "chat".into(),
        effect: effect.into(),
        mode: Mode::Enforced,
        decided_by: directive.map(str::to_owned),
        consulted: Vec::new(),
        obligations: Obligations::default(),
        attributes: Vec::new(),
        policy_version: "v1".into(),
        client_country: None,
        client_region: None,
        anonymizer: None,
        source: Source::Cli,
        shadow: Vec::new(),
        features: Vec::new(),
        end_user: None,
    }))
    .unwrap()
}

#[tokio::test]
async fn the_overview_charts_refusals_and_the_funnel_and_checks_the_latest_checkpoint() {
    let w = world("charts");
    let aud = login(&w, "aud").await;
    // Before: a checkpoint over the first of two changes, which verifies.
    let before = send(&w, get("/console/overview", Some(&aud))).await;
    assert!(
        before.body.contains("The latest checkpoint verifies")
            && before.body.contains("over its first 1 entries"),
        "{}",
        before.body
    );
    assert!(before.body.contains("No refusals in these hours."));
    {
        let key = cordon_audit::SigningKey::from_seed("console.test/audit", [9; 32]).unwrap();
        let (log, _) = cordon_audit_log::AuditLog::open(
            cordon_audit_log::LogConfig::new(w.dir.join("audit"), "console.test/audit"),
            key,
        )
        .unwrap();
        let verified = |account: &str| {
            cordon_audit::leaf::encode(&cordon_audit::Record::Admin(cordon_audit::AdminRecord {
                id: format!("chg_{account}"),
                time: "2026-12-07T11:10:00Z".into(),
                actor: "system".into(),
                action: "verification.accepted".into(),
                subject: Some(account.into()),
                details: Default::default(),
            }))
            .unwrap()
        };
        let frontier = Some("frontier");
        for leaf in [
            decision_leaf(
                "a",
                "2026-12-07T11:00:00Z",
                "verification_required",
                frontier,
            ),
            decision_leaf(
                "b",
                "2026-12-07T11:01:00Z",
                "verification_required",
                frontier,
            ),
            decision_leaf("c", "2026-12-07T09:30:00Z", "deny", Some("embargo")),
            // Older than the hours charted: in the funnel, not the chart.
            decision_leaf(
                "d",
                "2026-12-01T09:30:00Z",
                "verification_required",
                frontier,
            ),
            verified("a"),
            verified("b"),
            decision_leaf("a", "2026-12-07T11:20:00Z", "allow", None),
        ] {
            log.append_blocking(leaf).unwrap();
        }
        log.checkpoint_now().unwrap();
        log.shutdown();
    }
    let page = send(&w, get("/console/overview", Some(&aud))).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains("over its first 9 entries"),
        "the newest checkpoint is read and checked: {body}"
    );
    assert!(body.contains(r#"<svg id="refusals-by-directive" role="img" aria-labelledby="refusals-by-directive-title""#));
    // The numbers: two refusals in the 11:00 hour and one at 09:00, by
    // directive then by model; three refused for want of verification,
    // two verifying, one allowed again.
    for row in [
        r#"<th scope="row">07 11:00</th><td>2</td><td>0</td><td>2</td>"#,
        r#"<th scope="row">07 09:00</th><td>0</td><td>1</td><td>1</td>"#,
        r#"<th scope="row">07 11:00</th><td>2</td><td>2</td>"#,
        r#"<th scope="row">Refused for want of verification</th><td>3</td>"#,
        r#"<th scope="row">Verification started</th><td>2</td><td>66 %</td>"#,
        r#"<th scope="row">Restored</th><td>1</td><td>33 %</td>"#,
    ] {
        assert!(body.contains(row), "{row} in {body}");
    }
    assert!(body.contains("from the last 9 audit log entries"));
}

/// Appends `leaves` to the test world's audit log.
fn append_to_log(w: &World, leaves: Vec<Vec<u8>>) {
    let key = cordon_audit::SigningKey::from_seed("console.test/audit", [9; 32]).unwrap();
    let (log, _) = cordon_audit_log::AuditLog::open(
        cordon_audit_log::LogConfig::new(w.dir.join("audit"), "console.test/audit"),
        key,
    )
    .unwrap();
    for leaf in leaves {
        log.append_blocking(leaf).unwrap();
    }
    log.shutdown();
}

#[tokio::test]
async fn a_directive_s_page_shows_its_citation_its_source_and_its_decisions_lately() {
    let w = world("directive-page");
    let vic = login(&w, "vic").await;
    let id = "foreign-national-frontier-2026";
    let index = send(&w, get("/console/directives", Some(&vic))).await;
    assert!(
        index
            .body
            .contains(&format!("href=\"/console/directives/{id}\"")),
        "the set links each directive: {}",
        index.body
    );
    let before = send(&w, get(&format!("/console/directives/{id}"), Some(&vic))).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert!(before.body.contains("0 decision(s)"), "{}", before.body);
    // Searched once, the log's decisions are indexed; those appended later
    // are found too.
    append_to_log(
        &w,
        vec![
            decision_leaf("someone", "2026-12-07T11:00:00Z", "deny", Some(id)),
            decision_leaf("else", "2026-12-07T11:01:00Z", "allow", Some("another")),
        ],
    );
    let page = send(&w, get(&format!("/console/directives/{id}"), Some(&vic))).await;
    let body = &page.body;
    let text =
        std::fs::read_to_string(root().join("directives/foreign-national-frontier.toml")).unwrap();
    let directive_line = text
        .lines()
        .find(|l| l.starts_with("citation"))
        .unwrap()
        .split('"')
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(
        body.contains(&directive_line),
        "the citation: {directive_line} in {body}"
    );
    assert!(body.contains("1 decision(s)"), "{body}");
    assert!(
        body.contains("someone") && !body.contains(">else<"),
        "{body}"
    );
    assert!(
        body.contains("<pre>mode = &quot;enforced&quot;</pre>"),
        "its source, line by line: {body}"
    );
    let missing = send(&w, get("/console/directives/no-such-order", Some(&vic))).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_pending_hit_shows_how_the_names_align_token_by_token_and_its_list_entry() {
    let w = world("screening-explained");
    let rey = login(&w, "rey").await;
    let page = send(&w, get("/console/screening", Some(&rey))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("How the names align"), "{body}");
    // Each token of the account's name, the entry token it met, and how
    // closely: the listed airline's own name meets itself.
    assert!(
        body.contains(
            "<td><code>AEROCARIBBEAN</code></td><td><code>AEROCARIBBEAN</code></td><td>1.00</td><td>50 %</td>"
        ),
        "{body}"
    );
    assert!(body.contains("query coverage 1.00"), "{body}");
    // The entry as the list gives it: its names and program.
    assert!(
        body.contains("AEROCARIBBEAN AIRLINES <span class=\"muted\">(primary)</span>"),
        "{body}"
    );
    assert!(body.contains("<dt>Programs</dt><dd>CUBA</dd>"), "{body}");
}

#[tokio::test]
async fn the_audit_page_lists_checkpoints_each_checked_with_the_log_s_key() {
    let w = world("checkpoints");
    let aud = login(&w, "aud").await;
    let page = send(&w, get("/console/audit", Some(&aud))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<tbody><tr><td>1</td><td class=\"allow\">verifies</td></tr></tbody>"),
        "the one checkpoint, over the first entry: {}",
        page.body
    );
}

/// The routes that take a POST, as the router names them: read from its
/// source, so a route added without a case below fails the test.
fn posted_routes() -> Vec<String> {
    let source =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
            .unwrap();
    let mut routes = Vec::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let end = rest.find(".route(").unwrap_or(rest.len());
        let call = &rest[..end];
        let path = call.split('"').nth(1).unwrap().to_owned();
        if call.contains("post(") {
            routes.push(path);
        }
    }
    routes
}

#[tokio::test]
async fn every_state_changing_route_refuses_a_post_without_the_session_s_token() {
    let w = world("csrf-everywhere");
    let ann = login(&w, "ann").await;
    let cases = [
        (
            "/console/login",
            "/console/login",
            "username=ann&password=x",
        ),
        ("/console/logout", "/console/logout", ""),
        ("/console/accounts", "/console/accounts", "q=listed"),
        (
            "/console/accounts/{id}/verify",
            "/console/accounts/tricky/verify",
            "level=document_verified&citizenships=US&how=passport",
        ),
        (
            "/console/accounts/{id}/what-if",
            "/console/accounts/tricky/what-if",
            "model=fable-5&country=US&patch=%7B%7D",
        ),
        (
            "/console/screening/decide",
            "/console/screening/decide",
            "account=listed-co&list=SDN&uid=36&decision=cleared&note=x",
        ),
        (
            "/console/audit/search",
            "/console/audit/search",
            "account=x",
        ),
        ("/console/audit/verify", "/console/audit/verify", ""),
        (
            "/console/directives/propose",
            "/console/directives/propose",
            "file=x.toml&text=id",
        ),
        (
            "/console/directives/proposals/{id}/{verdict}",
            "/console/directives/proposals/1/approve",
            "",
        ),
    ];
    let covered: Vec<String> = cases
        .iter()
        .map(|(route, _, _)| (*route).to_owned())
        .collect();
    assert_eq!(
        posted_routes(),
        covered,
        "every route that takes a POST has a case here"
    );
    for (_, path, form) in cases {
        let without = send(&w, post(path, Some(&ann), form)).await;
        assert_eq!(
            without.status,
            StatusCode::FORBIDDEN,
            "{path} without a token: {}",
            without.body
        );
        let wrong = send(
            &w,
            post(path, Some(&ann), &format!("csrf=not-the-token&{form}")),
        )
        .await;
        assert_eq!(
            wrong.status,
            StatusCode::FORBIDDEN,
            "{path} with another token: {}",
            wrong.body
        );
    }
    // Nothing was changed: the hit still awaits review, the account is as
    // it was, and the session still works.
    assert_eq!(w.store.pending_hits().unwrap().len(), 1);
    let tricky = cordon_store::IdentityStore::account(&*w.store, "tricky")
        .unwrap()
        .unwrap();
    assert!(
        tricky.subject.get("verification").is_none(),
        "{:?}",
        tricky.subject
    );
    let overview = send(&w, get("/console/overview", Some(&ann))).await;
    assert_eq!(overview.status, StatusCode::OK);
}

#[tokio::test]
async fn a_schedule_that_would_rewrite_a_look_alike_line_is_refused() {
    let w = world("schedule-look-alike");
    let ann = login(&w, "ann").await;
    let oli = login(&w, "oli").await;
    let on_disk = w.dir.join("directives/foreign-national-frontier.toml");
    let before = std::fs::read_to_string(&on_disk).unwrap();
    // A title on several lines, one of which reads like the directive's
    // `effective`, and the real one under a quoted key, which the rewrite
    // leaves alone.
    let tricky = foreign_national_order("grace_until = 2026-12-04T00:00:00Z\n", "")
        .replacen(
            "effective = 2026-11-20T00:00:00Z",
            "\"effective\" = 2026-11-20T00:00:00Z",
            1,
        )
        .replacen(
            "title = \"Foreign",
            "title = \"\"\"\neffective = 2026-12-01T00:00:00Z\nForeign",
            1,
        )
        .replacen(
            "fable-5 and mythos-5\"\n",
            "fable-5 and mythos-5\"\"\"\n",
            1,
        );
    let at = propose(&w, &ann, "foreign-national-frontier.toml", &tricky).await;
    let page = send(&w, get(&at, Some(&oli))).await;
    assert!(!page.body.contains("does not check"), "{}", page.body);
    let r = send(
        &w,
        post(
            &format!("{at}/approve"),
            Some(&oli),
            &format!("csrf={}&effective=2026-12-10T12:00", page.csrf()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("could not be scheduled"), "{}", r.body);
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), before);
}
