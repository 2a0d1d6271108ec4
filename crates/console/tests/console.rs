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

fn world(name: &str) -> World {
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
    let overview = send(&w, get("/console/overview", Some(&oli))).await;
    let row = overview
        .body
        .find("<strong>foreign-national-frontier-2026</strong>")
        .unwrap();
    let end = row + overview.body[row..].find("</tr>").unwrap();
    assert!(
        overview.body[row..end].contains("<td>shadow</td>"),
        "{}",
        &overview.body[row..end]
    );

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
