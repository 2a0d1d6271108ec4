//! The other ways in: the decision API, Envoy ext_authz, nginx auth_request,
//! AuthZEN, configuration files, start-up errors, per-core runtimes and the
//! screening API.

use super::*;

#[tokio::test]
async fn the_decision_api_health_and_metrics() {
    let h = start(Setup::default()).await;
    let body = json!({"subject": {"citizenships": ["US"], "verification": "document_verified"}, "model": "lyric-4", "ip": "2.144.0.1"});
    let r = h.decide(body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["effect"], "deny");
    assert_eq!(r.json()["decided_by"], "ofac-iran");
    let r = h
        .send(
            "POST",
            "/v1/decide",
            &[("authorization", "Bearer wrong")],
            body.to_string(),
        )
        .await;
    assert_eq!(r.status, 401);
    let body = json!({"api_key": h.key("foreign-national"), "model": "fable-5", "country": "DE"});
    let r = h.decide(body).await;
    assert_eq!(r.json()["effect"], "deny");
    let r = h.send("GET", "/healthz", &[], "").await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["policy_version"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    h.chat("foreign-national", hello("fable-5")).await;
    let r = h.send("GET", "/metrics", &[], "").await;
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.contains("cordon_decisions_total{effect=\"deny\",directive=\"foreign-national-frontier-2026\",model=\"fable-5\"}"), "{text}");
    assert!(text.contains("cordon_decision_seconds_bucket"));
    assert!(!text.contains(&h.key("foreign-national")));
    h.finish();
}

#[test]
fn the_example_configuration_file_loads() {
    let loaded = Config::load(&root().join("cordon.toml")).unwrap();
    assert_eq!(loaded.config.upstream.len(), 2);
    assert_eq!(loaded.internal_country, Some(CountryCode::US));
    assert!(loaded.config.directives.ends_with("directives"));
    let bad =
        cordon_source::SourceFile::new("c.toml", "listen = \"127.0.0.1:1\"\nlisten_port = 3\n");
    let e = Config::parse(&bad, Path::new(".")).unwrap_err().to_string();
    assert!(e.contains("listen_port"), "{e}");
}

#[test]
fn fleet_settings_out_of_range_are_refused_naming_the_field() {
    let base = "listen = \"127.0.0.1:8080\"\ndirectives = \"d\"\ncatalog = \"c.toml\"\n[operator]\nname = \"o\"\nurl = \"https://o.test\"\n";
    let parse = |top: &str, rest: &str| {
        Config::parse(
            &cordon_source::SourceFile::new("c.toml", format!("{top}\n{base}{rest}\n")),
            Path::new("."),
        )
    };
    let loaded = parse("cached_keys_trusted_ms = 1000", "[postgres]\npool_size = 8\nstatement_timeout_ms = 750\n[audit]\ndurability = \"replicated\"").unwrap();
    assert_eq!(loaded.config.cached_keys_trusted_ms, 1000);
    assert_eq!(loaded.config.postgres.pool_size, 8);
    assert_eq!(loaded.config.postgres.statement_timeout_ms, 750);
    assert_eq!(
        loaded.config.audit.durability,
        cordon_gateway::audit::Durability::Replicated
    );
    for (top, rest, field) in [
        ("cached_keys_trusted_ms = 0", "", "cached_keys_trusted_ms"),
        ("", "[postgres]\npool_size = 65", "postgres.pool_size"),
        (
            "",
            "[postgres]\nstatement_timeout_ms = 0",
            "postgres.statement_timeout_ms",
        ),
        (
            "",
            "[audit]\nreplication_timeout_ms = 0",
            "audit.replication_timeout_ms",
        ),
        (
            "",
            "[audit]\ndurability = \"sometimes\"",
            "c.toml:9:14: unknown variant `sometimes`",
        ),
        (
            "",
            "[audit]\nenabled = false\ndurability = \"replicated\"",
            "audit.durability",
        ),
        (
            "",
            "[fleet]\npublisher_keys = [\"not a key\"]",
            "fleet.publisher_keys[0]",
        ),
    ] {
        let e = parse(top, rest).unwrap_err().to_string();
        assert!(e.contains(field), "{top} {rest}: {e}");
    }
}

#[test]
fn the_envoy_grpc_listener_needs_a_port_of_its_own() {
    let base = "listen = \"127.0.0.1:8080\"\ndirectives = \"d\"\ncatalog = \"c.toml\"\n[operator]\nname = \"o\"\nurl = \"https://o.test\"\n";
    let parse = |envoy: &str| {
        let text = format!("{base}[envoy]\n{envoy}\n");
        Config::parse(
            &cordon_source::SourceFile::new("c.toml", text),
            Path::new("."),
        )
    };
    let loaded = parse("grpc_listen = \"127.0.0.1:9191\"").unwrap();
    assert_eq!(
        loaded.config.envoy.grpc_listen,
        Some("127.0.0.1:9191".parse().unwrap())
    );
    for clash in ["127.0.0.1:8080", "0.0.0.0:8080"] {
        let e = parse(&format!("grpc_listen = \"{clash}\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("envoy.grpc_listen") && e.contains("port of its own"),
            "{e}"
        );
        assert!(e.starts_with("c.toml:8:"), "located at the value: {e}");
    }
    let e = parse("grpc = \"127.0.0.1:9191\"").unwrap_err().to_string();
    assert!(e.contains("grpc"), "unknown fields are refused: {e}");
    let without = Config::parse(
        &cordon_source::SourceFile::new("c.toml", base),
        Path::new("."),
    )
    .unwrap();
    assert_eq!(without.config.envoy.grpc_listen, None, "absent means off");
}

#[test]
fn a_bad_value_is_located_at_the_value_not_at_a_comment_naming_its_field() {
    let text = std::fs::read_to_string(root().join("cordon.toml")).unwrap();
    // The shipped file has a `url` in `[operator]` before the upstreams',
    // where a search for the field's name used to point.
    let line_of =
        |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let broken = text.replacen("internal_country = \"US\"", "internal_country = \"USA\"", 1);
    assert_ne!(broken, text, "the example sets internal_country");
    let e = Config::parse(
        &cordon_source::SourceFile::new("c.toml", broken.clone()),
        &root(),
    )
    .unwrap_err()
    .to_string();
    let line = line_of(&broken, "internal_country = \"USA\"");
    assert!(e.starts_with(&format!("c.toml:{line}:")), "{e}");
    // The second upstream's URL, by index.
    let second = text.match_indices("url = \"http://").nth(1).unwrap().0;
    let mut broken = text.clone();
    broken.replace_range(second..second + "url = \"http://".len(), "url = \"ftp://");
    let e = Config::parse(
        &cordon_source::SourceFile::new("c.toml", broken.clone()),
        &root(),
    )
    .unwrap_err()
    .to_string();
    let line = broken.get(..second).unwrap().matches('\n').count() + 1;
    assert!(e.starts_with(&format!("c.toml:{line}:")), "{e}");
    assert!(e.contains("upstream[1].url"), "{e}");
}

#[tokio::test]
async fn envoy_ext_authz_decides_on_the_original_request() {
    let h = start(Setup::default()).await;
    let before = h.upstream_requests();
    let r = h
        .post(
            "us-citizen",
            "/ext_authz/v1/chat/completions",
            hello("fable-5"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-cordon-effect"), "allow");
    assert_eq!(r.header("x-cordon-model"), "fable-5");
    let r = h
        .post(
            "foreign-national",
            "/ext_authz/v1/chat/completions",
            hello("fable-5"),
        )
        .await;
    assert_eq!(r.status, 451);
    assert_eq!(r.json()["error"]["code"], "cordon_denied");
    let r = h
        .post(
            "foreign-national",
            "/ext_authz/v1/messages",
            json!({"model": "fable-5", "max_tokens": 5, "messages": []}),
        )
        .await;
    assert_eq!(r.json()["type"], "error");
    assert_eq!(
        h.post(
            "us-citizen",
            "/ext_authz/v1/no/such/route",
            hello("echo-embed-2")
        )
        .await
        .status,
        404,
        "unknown routes are not authorised"
    );
    assert_eq!(h.upstream_requests(), before, "ext_authz never forwards");
}

#[tokio::test]
async fn nginx_auth_request_answers_200_401_or_403_with_the_refusal_in_headers() {
    let h = start(Setup::default()).await;
    assert_eq!(h.nginx("us-citizen", "fable-5").await.status, 200);
    let r = h.nginx("foreign-national", "fable-5").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-cordon-status"), "451");
    assert_eq!(r.header("x-cordon-code"), "cordon_denied");
    assert!(
        r.header("x-cordon-message")
            .contains("foreign-national-frontier-2026")
    );
    assert_eq!(
        r.header("x-cordon-directive"),
        "foreign-national-frontier-2026"
    );
    let r = h.nginx("us-citizen", "fable-9").await;
    assert_eq!((r.status, r.header("x-cordon-status")), (403, "404"));
    let r = h
        .send(
            "GET",
            "/nginx/auth",
            &[
                ("authorization", "Bearer ck_bad_bad"),
                ("x-original-uri", "/v1/chat/completions"),
                ("x-cordon-model", "lyric-4"),
            ],
            "",
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn authzen_evaluation() {
    let h = start(Setup::default()).await;
    let r = h
        .authzen(
            json!({"type": "account", "id": "us-citizen"}),
            "fable-5",
            json!({"country": "US"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["decision"], true);
    let r = h
        .authzen(
            json!({"type": "account", "id": "foreign-national"}),
            "fable-5",
            json!({"country": "DE"}),
        )
        .await;
    assert_eq!(r.json()["decision"], false);
    assert_eq!(
        r.json()["context"]["reason_admin"]["decided_by"],
        "foreign-national-frontier-2026"
    );
    let r = h.authzen(json!({"type": "subject", "id": "x", "properties": {"citizenships": ["US"], "verification": "document_verified"}}), "lyric-4", json!({"ip": "2.144.0.1"})).await;
    assert_eq!(r.json()["decision"], false, "a request from Iran");
    let r = h
        .authzen(
            json!({"type": "account", "id": "us-citizen"}),
            "fable-5",
            json!({}),
        )
        .await;
    assert_eq!(
        r.json()["decision"],
        false,
        "no location given: unknown, and the sanctions pack fails closed"
    );
    let r = h
        .authzen(json!({"type": "robot", "id": "x"}), "fable-5", json!({}))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn operators_can_choose_403_for_legal_refusals() {
    let h = start(Setup {
        refusal_status: RefusalStatus::Status403,
        ..Setup::default()
    })
    .await;
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "cordon_denied");
    assert_eq!(r.header("x-should-retry"), "false");
}

#[tokio::test]
async fn aliases_and_snapshots_of_a_restricted_model_are_refused_too() {
    let h = start(Setup::default()).await;
    for model in [
        "fable",
        "FABLE-5",
        "fable-5-2026-09-15",
        "Mythos Latest",
        " mythos ",
    ] {
        assert_eq!(
            h.chat("foreign-national", hello(model)).await.status,
            451,
            "{model}"
        );
    }
}

/// A configuration file's text for start-up tests: the shipped directives and
/// catalog, one GeoIP database, one upstream.
fn start_up_config(geo_database: &str, mock: std::net::SocketAddr) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\ndirectives = \"{d}\"\ncatalog = \"{c}\"\nstore = \"/tmp/x.db\"\n[operator]\nname = \"o\"\nurl = \"https://o\"\n[geo]\ndatabases = [\"{geo_database}\"]\n[[upstream]]\nname = \"m\"\nurl = \"http://{mock}\"\nfamilies = [\"lyric\"]\n",
        d = root().join("directives").display(),
        c = root().join("catalog.toml").display(),
    )
}

#[tokio::test]
async fn a_missing_geoip_database_is_a_start_up_error() {
    let mock = mock::start(
        "127.0.0.1:0".parse().unwrap(),
        Duration::ZERO,
        Duration::ZERO,
    )
    .await
    .unwrap();
    let text = start_up_config("/nonexistent/geo.mmdb", mock.addr);
    let loaded = Config::parse(
        &cordon_source::SourceFile::new("c.toml", text.clone()),
        Path::new("."),
    )
    .unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let clock: cordon_gateway::Clock = Arc::new(|| "2026-12-10T00:00:00Z".parse().unwrap());
    let err = Gateway::new(loaded, store.clone(), clock.clone())
        .err()
        .expect("a missing database must stop the start");
    assert!(
        err.to_string().contains("/nonexistent/geo.mmdb")
            && err.to_string().contains("allow_missing"),
        "{err}"
    );
    let text = text.replace(
        "[geo]\n",
        "[geo]\nallow_missing = true\naccept_missing_regions = [\"UA\"]\n",
    );
    let loaded = Config::parse(
        &cordon_source::SourceFile::new("c.toml", text),
        Path::new("."),
    )
    .unwrap();
    assert!(
        Gateway::new(loaded, store, clock).is_ok(),
        "explicitly allowed"
    );
}

#[tokio::test]
async fn an_enforced_directive_needing_regions_no_database_provides_stops_the_start() {
    // The shipped Crimea and E.O. 14065 directives test `request.location`
    // against Ukrainian regions; the shipped database is country-only.
    let mock = mock::start(
        "127.0.0.1:0".parse().unwrap(),
        Duration::ZERO,
        Duration::ZERO,
    )
    .await
    .unwrap();
    let g = root().join("data/geoip/geo-whois-asn-country.mmdb");
    let shipped = start_up_config(&g.display().to_string(), mock.addr);
    let parse = |text: &str| {
        Config::parse(
            &cordon_source::SourceFile::new("c.toml", text.to_owned()),
            Path::new("."),
        )
        .unwrap()
    };
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let clock: cordon_gateway::Clock = Arc::new(|| "2026-12-10T00:00:00Z".parse().unwrap());
    // The shipped directives state the gap themselves, so they start.
    assert!(Gateway::new(parse(&shipped), store.clone(), clock.clone()).is_ok());
    // Without that statement, the gap stops the start.
    let dir = super::edited_directives("region-gap", |_, text| {
        text.replace("accept_missing_regions = [\"UA\"]\n", "")
    });
    let text = shipped.replace(
        &root().join("directives").display().to_string(),
        &dir.display().to_string(),
    );
    let err = Gateway::new(parse(&text), store.clone(), clock.clone())
        .err()
        .expect("a region gap in an enforced directive must stop the start");
    let msg = err.to_string();
    for needle in [
        "directive `ofac-crimea` rule `location` needs regions in UA",
        "directive `ofac-eo14065-regions` rule `location` needs regions in UA",
        "accept_missing_regions",
    ] {
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
    // Accepting a gap elsewhere is not accepting this one.
    let other = text.replace("[geo]\n", "[geo]\naccept_missing_regions = [\"RU\"]\n");
    assert!(Gateway::new(parse(&other), store.clone(), clock.clone()).is_err());
    let accepted = text.replace("[geo]\n", "[geo]\naccept_missing_regions = [\"UA\"]\n");
    assert!(Gateway::new(parse(&accepted), store, clock).is_ok());
    // A bad code is a configuration error naming the field.
    let bad = text.replace("[geo]\n", "[geo]\naccept_missing_regions = [\"Ukraine\"]\n");
    let e = Config::parse(
        &cordon_source::SourceFile::new("c.toml", bad),
        Path::new("."),
    )
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("geo.accept_missing_regions[0]"),
        "{e}"
    );
}

#[tokio::test]
async fn during_the_grace_period_unknowns_pass_with_a_warning_header() {
    let h = start(Setup {
        at: "2026-11-25T12:00:00Z",
        ..Setup::default()
    })
    .await;
    let r = h.chat("unverified", hello("mythos-5")).await;
    assert_eq!(r.status, 200);
    let warning = r.header("x-cordon-warning");
    assert!(
        warning.contains("foreign-national-frontier-2026")
            && warning.contains("grace period ends 2026-12-04T00:00:00Z"),
        "{warning}"
    );
    // Known foreign nationals are refused from the effective date, grace or not.
    assert_eq!(
        h.chat("foreign-national", hello("mythos-5")).await.status,
        451
    );
}

#[tokio::test]
async fn one_runtime_per_worker_serves_the_same_gateway_on_one_port() {
    let h = start(Setup::default()).await;
    let servers = cordon_gateway::PerCore::bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
    let addr = servers.local_addr();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let gw = h.gw.clone();
    let thread = std::thread::spawn(move || servers.serve(gw, stopped));
    let per_core = Harness { addr, ..h };
    for _ in 0..8 {
        assert_eq!(
            per_core.chat("us-citizen", hello("lyric-4")).await.status,
            200
        );
        assert_eq!(
            per_core
                .chat("foreign-national", hello("fable-5"))
                .await
                .status,
            451
        );
    }
    stop.send(true).unwrap();
    tokio::task::spawn_blocking(move || thread.join().unwrap().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_screening_api_answers_from_the_loaded_lists() {
    let h = start(Setup::default()).await;
    let body = json!({"name": "Radovan KARADZIC", "type": "person"}).to_string();
    let auth = [("authorization", "Bearer t0ken")];
    // Before any lists are loaded the endpoint says so rather than "no hit".
    let r = h.send("POST", "/v1/screen", &auth, body.clone()).await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));

    let sdn = std::fs::read(root().join("data/sanctions/sdn.csv")).unwrap();
    let snapshot = cordon_screening::snapshot::import(&[cordon_screening::lists::ListFile {
        name: "sdn.csv",
        bytes: &sdn,
    }])
    .unwrap();
    h.gw.set_screening(cordon_gateway::Screening {
        screener: cordon_screening::screener::Screener::new(snapshot.entries),
        snapshot: json!({"content_hash": snapshot.content_hash}),
    });
    let r = h.send("POST", "/v1/screen", &auth, body.clone()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["hits"][0]["list"], "SDN");
    assert_eq!(v["hits"][0]["uid"], "7705");
    assert_eq!(v["snapshot"]["content_hash"], json!(snapshot.content_hash));

    let r = h
        .send(
            "POST",
            "/v1/screen",
            &[("authorization", "Bearer wrong")],
            body,
        )
        .await;
    assert_eq!(r.status, 401);
    let r = h
        .send(
            "POST",
            "/v1/screen",
            &auth,
            json!({"name": "x", "type": "ship"}).to_string(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`type`")
    );
    let r = h
        .send(
            "POST",
            "/v1/screen",
            &auth,
            json!({"name": "x".repeat(5000)}).to_string(),
        )
        .await;
    assert_eq!(r.status, 400);
}
