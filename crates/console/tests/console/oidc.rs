//! Logging in with OpenID Connect against a mock provider on a loopback
//! port: discovery, the authorization request, the token endpoint (which
//! checks the PKCE verifier against the challenge and the client's
//! credentials), the JWK Set, and every way a login must fail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::{Reply, World, get as get_req, pair, post as post_req, send, world_with};

const CLIENT_ID: &str = "cordon-console";
const SECRET: &str = "client s3cret";
const NOW: i64 = 1_796_644_800; // 2026-12-07T12:00:00Z, the console's clock.

/// How the mock signs the next ID token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signing {
    /// With the key its JWK Set publishes.
    Published,
    /// With another key under the published key's `kid`.
    Impostor,
    /// Not at all (`alg: none`).
    Unsigned,
}

/// A code the mock handed out, and what it was issued for.
struct Issued {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

type Tweak = Box<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

struct Mock {
    issuer: String,
    key: Ed25519KeyPair,
    impostor: Ed25519KeyPair,
    codes: Mutex<HashMap<String, Issued>>,
    tweak: Mutex<Option<Tweak>>,
    signing: Mutex<Signing>,
    token_requests: Mutex<usize>,
}

impl Mock {
    /// The authorization endpoint, as a browser reaches it: checks the
    /// request and hands out a code for it.
    fn authorize(&self, location: &str) -> String {
        let (endpoint, query) = location.split_once('?').unwrap();
        assert_eq!(endpoint, format!("{}/authorize", self.issuer));
        let q = query_map(query);
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["scope"], "openid profile groups");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"].len(), 43, "a SHA-256 in base64url");
        assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32);
        let code = format!("code-{}", self.codes.lock().unwrap().len());
        self.codes.lock().unwrap().insert(
            code.clone(),
            Issued {
                challenge: q["code_challenge"].clone(),
                nonce: q["nonce"].clone(),
                redirect_uri: q["redirect_uri"].clone(),
            },
        );
        code
    }

    fn id_token(&self, nonce: &str) -> String {
        let mut claims = json!({
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "248289761001",
            "iat": NOW - 5,
            "exp": NOW + 300,
            "nonce": nonce,
            "preferred_username": "ann.sso",
            "groups": ["staff", "compliance"],
        })
        .as_object()
        .unwrap()
        .clone();
        if let Some(t) = &*self.tweak.lock().unwrap() {
            t(&mut claims);
        }
        let signing = *self.signing.lock().unwrap();
        let alg = if signing == Signing::Unsigned {
            "none"
        } else {
            "EdDSA"
        };
        let header = json!({"alg": alg, "kid": "k1", "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        );
        let signature = match signing {
            Signing::Published => URL_SAFE_NO_PAD.encode(self.key.sign(input.as_bytes())),
            Signing::Impostor => URL_SAFE_NO_PAD.encode(self.impostor.sign(input.as_bytes())),
            Signing::Unsigned => String::new(),
        };
        format!("{input}.{signature}")
    }
}

fn query_map(query: &str) -> HashMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

async fn discovery(State(m): State<Arc<Mock>>) -> Json<Value> {
    Json(json!({
        "issuer": m.issuer,
        "authorization_endpoint": format!("{}/authorize", m.issuer),
        "token_endpoint": format!("{}/token", m.issuer),
        "jwks_uri": format!("{}/jwks", m.issuer),
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(State(m): State<Arc<Mock>>) -> Json<Value> {
    Json(json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "k1", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(m.key.public_key().as_ref()),
    }]}))
}

/// The token endpoint: client_secret_basic, the code once, its
/// redirect_uri, and `BASE64URL(SHA256(code_verifier))` equal to the
/// challenge the code was issued for (RFC 7636 §4.6).
async fn token(
    State(m): State<Arc<Mock>>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    *m.token_requests.lock().unwrap() += 1;
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:client+s3cret"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error("unsupported_grant_type");
    }
    let Some(issued) = f
        .get("code")
        .and_then(|c| m.codes.lock().unwrap().remove(c))
    else {
        return oauth_error("invalid_grant");
    };
    if f.get("redirect_uri") != Some(&issued.redirect_uri) {
        return oauth_error("invalid_grant");
    }
    let Some(verifier) = f.get("code_verifier") else {
        return oauth_error("invalid_request");
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if challenge != issued.challenge {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "invalid_grant", "error_description": "PKCE verification failed"}),
            ),
        )
            .into_response();
    }
    Json(json!({
        "access_token": "never-read",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": m.id_token(&issued.nonce),
    }))
    .into_response()
}

struct Provider {
    w: World,
    mock: Arc<Mock>,
}

/// A console whose OpenID provider is a mock on a loopback port.
async fn provider(name: &str) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let mock = Arc::new(Mock {
        issuer: issuer.clone(),
        key: Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap(),
        impostor: Ed25519KeyPair::from_seed_unchecked(&[8; 32]).unwrap(),
        codes: Mutex::default(),
        tweak: Mutex::default(),
        signing: Mutex::new(Signing::Published),
        token_requests: Mutex::default(),
    });
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(Arc::clone(&mock));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let w = world_with(name, Some(console_login(&issuer)));
    Provider { w, mock }
}

fn console_login(issuer: &str) -> Arc<cordon_console::oidc::Oidc> {
    let settings = format!(
        r#"
        name = "Mock IdP"
        issuer = "{issuer}"
        client_id = "{CLIENT_ID}"
        client_secret_env = "MOCK_SECRET"
        public_base_url = "https://cordon.example.com"
        scopes = ["profile", "groups"]
        role_claim = "groups"
        [roles]
        staff = "viewer"
        compliance = "officer"
        "#
    );
    let provider = cordon_console::oidc::Provider::parse(&settings, "oidc.toml", |v| {
        (v == "MOCK_SECRET").then(|| SECRET.to_owned())
    })
    .unwrap();
    Arc::new(cordon_console::oidc::Oidc::new(provider))
}

/// A login started: the pre-login cookie (`name=value`) and where the
/// browser was sent.
struct Started {
    cookie: String,
    location: String,
}

impl Started {
    fn state(&self) -> String {
        query_map(self.location.split_once('?').unwrap().1)["state"].clone()
    }

    /// The callback's query for `code` with this login's state.
    fn answer(&self, code: &str) -> String {
        format!("code={code}&state={}", self.state())
    }
}

async fn start(p: &Provider) -> Started {
    let r = send(&p.w, get_req("/console/oidc/login", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let set = r.cookie("__Host-cordon-oidc").unwrap();
    assert!(
        set.contains("; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600"),
        "{set}"
    );
    Started {
        cookie: pair(&set),
        location: r.headers[header::LOCATION].to_str().unwrap().to_owned(),
    }
}

async fn callback(p: &Provider, query: &str, cookie: Option<&str>) -> Reply {
    send(
        &p.w,
        get_req(&format!("/console/oidc/callback?{query}"), cookie),
    )
    .await
}

/// Starts a login, has the provider authorize it, and calls back.
async fn round_trip(p: &Provider) -> Reply {
    let s = start(p).await;
    let code = p.mock.authorize(&s.location);
    callback(p, &s.answer(&code), Some(&s.cookie)).await
}

/// A failed login: the status, a page naming `named`, no session.
fn refused(r: &Reply, status: StatusCode, named: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body.contains(named), "expected {named:?} in {}", r.body);
    assert!(r.cookie("__Host-cordon-session").is_none());
}

#[tokio::test]
async fn a_login_goes_through_the_provider_and_its_claim_gives_the_role() {
    let p = provider("oidc-flow").await;
    let page = send(&p.w, get_req("/console/login", None)).await;
    assert!(
        page.body
            .contains("<a class=\"button\" href=\"/console/oidc/login\">Log in with Mock IdP</a>"),
        "{}",
        page.body
    );
    let s = start(&p).await;
    let q = query_map(s.location.split_once('?').unwrap().1);
    assert_eq!(
        q["redirect_uri"],
        "https://cordon.example.com/console/oidc/callback"
    );
    assert!(
        !s.location
            .contains(&s.cookie[s.cookie.find('=').unwrap() + 1..])
    );
    let code = p.mock.authorize(&s.location);
    let r = callback(&p, &s.answer(&code), Some(&s.cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/console/overview");
    assert!(
        r.cookie("__Host-cordon-oidc")
            .unwrap()
            .contains("Max-Age=0")
    );
    let session = pair(&r.cookie("__Host-cordon-session").unwrap());
    let overview = send(&p.w, get_req("/console/overview", Some(&session))).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(
        overview.body.contains("ann.sso (officer)"),
        "{}",
        overview.body
    );

    // A change is journaled under the issuer and subject, never the shown name.
    let page = send(&p.w, get_req("/console/accounts/tricky", Some(&session))).await;
    let r = send(
        &p.w,
        post_req(
            "/console/accounts/tricky/verify",
            Some(&session),
            &format!(
                "csrf={}&verification=document_verified&citizenships=DE&how=passport",
                page.csrf()
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let journaled =
        p.w.store
            .pending_changes(100)
            .unwrap()
            .into_iter()
            .find(|c| c.action == "account.verified_by_hand")
            .unwrap();
    assert_eq!(
        journaled.actor,
        format!("console:oidc:{}#248289761001", p.mock.issuer)
    );
}

#[tokio::test]
async fn a_login_whose_state_or_browser_does_not_match_is_refused() {
    let p = provider("oidc-state").await;
    // Another state than the one sent.
    let s = start(&p).await;
    let code = p.mock.authorize(&s.location);
    let r = callback(&p, &format!("code={code}&state=forged"), Some(&s.cookie)).await;
    refused(&r, StatusCode::BAD_REQUEST, "state");
    // The pending login went with that attempt: the right state is too late.
    let r = callback(&p, &s.answer(&code), Some(&s.cookie)).await;
    refused(&r, StatusCode::BAD_REQUEST, "already used");

    // A callback replayed after a good login.
    let s = start(&p).await;
    let code = p.mock.authorize(&s.location);
    let query = s.answer(&code);
    let r = callback(&p, &query, Some(&s.cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = callback(&p, &query, Some(&s.cookie)).await;
    refused(&r, StatusCode::BAD_REQUEST, "already used");

    // Login CSRF: a callback in a browser that did not start the login.
    let s = start(&p).await;
    let code = p.mock.authorize(&s.location);
    let r = callback(&p, &s.answer(&code), None).await;
    refused(&r, StatusCode::BAD_REQUEST, "login cookie is missing");
    let other = start(&p).await;
    let r = callback(&p, &s.answer(&code), Some(&other.cookie)).await;
    refused(&r, StatusCode::BAD_REQUEST, "state");
    // A callback whose query does not read still uses up the login.
    let s = start(&p).await;
    let r = callback(&p, "code=a&code=b", Some(&s.cookie)).await;
    refused(&r, StatusCode::BAD_REQUEST, "does not read");
    let code = p.mock.authorize(&s.location);
    let r = callback(&p, &s.answer(&code), Some(&s.cookie)).await;
    refused(&r, StatusCode::BAD_REQUEST, "already used");
    // None of these reached the token endpoint.
    assert_eq!(*p.mock.token_requests.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_code_is_redeemed_only_with_the_verifier_of_its_challenge() {
    let p = provider("oidc-pkce").await;
    // The attacker's code, issued for the attacker's challenge, injected
    // into the victim's login: the victim's verifier does not fit it.
    let attacker = start(&p).await;
    let code = p.mock.authorize(&attacker.location);
    let victim = start(&p).await;
    let r = callback(
        &p,
        &format!("code={code}&state={}", victim.state()),
        Some(&victim.cookie),
    )
    .await;
    refused(&r, StatusCode::UNAUTHORIZED, "PKCE verification failed");
}

#[tokio::test]
async fn an_id_token_that_does_not_check_gives_no_session() {
    let p = provider("oidc-token").await;
    type Change = fn(&mut Map<String, Value>);
    let cases: [(Change, &str); 5] = [
        (
            |c| drop(c.insert("nonce".into(), "another".into())),
            "`nonce`",
        ),
        (
            |c| drop(c.insert("aud".into(), "someone-else".into())),
            "does not include `cordon-console`",
        ),
        (
            |c| drop(c.insert("iss".into(), "https://evil.example".into())),
            "is not the configured issuer",
        ),
        (
            |c| drop(c.insert("exp".into(), json!(NOW - 3600))),
            "expired",
        ),
        (
            |c| {
                c.insert("aud".into(), json!(["cordon-console", "other"]));
                c.insert("azp".into(), "other".into());
            },
            "`azp`",
        ),
    ];
    for (change, named) in cases {
        *p.mock.tweak.lock().unwrap() = Some(Box::new(change));
        refused(&round_trip(&p).await, StatusCode::UNAUTHORIZED, named);
    }
    *p.mock.tweak.lock().unwrap() = None;
    *p.mock.signing.lock().unwrap() = Signing::Impostor;
    refused(
        &round_trip(&p).await,
        StatusCode::UNAUTHORIZED,
        "signature does not verify",
    );
    *p.mock.signing.lock().unwrap() = Signing::Unsigned;
    refused(&round_trip(&p).await, StatusCode::UNAUTHORIZED, "unsigned");
    // The same mock gives a session once the token is right again.
    *p.mock.signing.lock().unwrap() = Signing::Published;
    assert_eq!(round_trip(&p).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_person_whose_claim_maps_to_no_role_is_refused_a_session() {
    let p = provider("oidc-role").await;
    *p.mock.tweak.lock().unwrap() = Some(Box::new(|c| {
        c.insert("groups".into(), json!(["contractors"]));
    }));
    refused(
        &round_trip(&p).await,
        StatusCode::FORBIDDEN,
        "(`contractors`) maps to no console role",
    );
}

#[tokio::test]
async fn the_provider_s_refusal_and_absence_are_named() {
    let p = provider("oidc-down").await;
    let s = start(&p).await;
    let r = callback(
        &p,
        &format!(
            "error=access_denied&error_description=not+today&state={}",
            s.state()
        ),
        Some(&s.cookie),
    )
    .await;
    refused(&r, StatusCode::UNAUTHORIZED, "`access_denied` (not today)");

    // A provider on a port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let w = world_with("oidc-unreachable", Some(console_login(&issuer)));
    let r = send(&w, get_req("/console/oidc/login", None)).await;
    refused(&r, StatusCode::BAD_GATEWAY, "could not be reached");
    assert!(r.cookie("__Host-cordon-oidc").is_none());
}

#[tokio::test]
async fn without_a_provider_there_is_no_button_and_no_callback() {
    let w = super::world("oidc-none");
    let page = send(&w, get_req("/console/login", None)).await;
    assert!(!page.body.contains("/console/oidc/login"), "{}", page.body);
    for path in [
        "/console/oidc/login",
        "/console/oidc/callback?code=c&state=s",
    ] {
        let r = send(&w, get_req(path, None)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.cookie("__Host-cordon-session").is_none());
    }
}
