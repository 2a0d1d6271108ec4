//! `cordon demo`: the gateway, running on the shipped defaults with sample accounts
//! and a built-in mock model server, ready for curl and the OpenAI/Anthropic SDKs.

mod walkthrough;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cordon_gateway::audit;
use cordon_gateway::config::{
    AuditConfig, GeoConfig, Limits, Operator, RefusalStatus, Upstream, UpstreamApi,
};
use cordon_gateway::verification::config::{SourceConfig, VerificationConfig};
use cordon_gateway::{Config, Gateway, Loaded};
use cordon_jurisdiction::CountryCode;
use cordon_store::SqliteStore;
use jiff::Timestamp;

use crate::commands::serve::{self, OpenedAudit};
use crate::data_dir::DataDir;
use crate::inputs;

/// Who the demo's own changes are attributed to in the audit log.
const DEMO_ACTOR: &str = "cordon demo";
/// The bearer token of the demo's auditor endpoints.
const DEMO_AUDIT_TOKEN: &str = "demo-audit-read-token";

/// Arguments of `cordon demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Address for the gateway.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The data directory: the demo's identity store (recreated on every
    /// start), the audit log, its signing key and the pseudonym salt (default:
    /// $CORDON_DATA_DIR, else `cordon-data`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Write the sample accounts' API keys to this file as JSON.
    #[arg(long)]
    keys_out: Option<PathBuf>,
    /// Decide as of this time; the demo clock starts there and runs forward
    /// (`now` for the real clock). The default lies after the sample order's grace period.
    #[arg(long, default_value = "2026-12-10T12:00:00Z")]
    at: String,
    /// MMDB database (default: the shipped free country database).
    #[arg(long)]
    geoip: Option<PathBuf>,
    /// Delay between streamed tokens from the mock model server, in milliseconds.
    #[arg(long, default_value_t = 40)]
    token_delay_ms: u64,
    /// Instead of serving, decide sample requests offline and print the access matrix.
    #[arg(long)]
    walkthrough: bool,
    /// With --walkthrough, print every decision's full explanation.
    #[arg(long, requires = "walkthrough")]
    verbose: bool,
}

/// The demo's verification source: Cordon's own event format.
pub const DEMO_KYC: &str = "demo-kyc";

/// The sample accounts: id and subject record.
pub const SAMPLE_ACCOUNTS: &[(&str, &str)] = &[
    (
        "us-citizen",
        r#"{"verification": "document_verified", "source": "demo-kyc", "citizenships": ["US"], "residence_country": "US"}"#,
    ),
    (
        "dual-national",
        r#"{"verification": "document_verified", "source": "demo-kyc", "citizenships": ["IR", "US"], "residence_country": "DE"}"#,
    ),
    (
        "foreign-national",
        r#"{"verification": "document_verified", "source": "demo-kyc", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#,
    ),
    (
        "unverified",
        r#"{"verification": "self_declared", "source": "signup-form", "citizenships": ["FR"]}"#,
    ),
    (
        "northwind",
        r#"{"kind": "organization", "name": "Northwind Labs", "verification": "attested", "source": "demo-kyc", "organization": {"name": "Northwind Labs", "country": "US"}}"#,
    ),
    (
        "licensed-org",
        r#"{"verification": "document_verified", "source": "demo-kyc", "citizenships": ["IN"], "permanent_residencies": [], "protected_individual": false, "residence_country": "IN", "organization": {"name": "Northwind Labs", "verification": "attested", "source": "licence roster"}}"#,
    ),
    (
        "tailspin",
        r#"{"kind": "organization", "name": "Tailspin Robotics", "verification": "attested", "source": "demo-kyc", "organization": {"name": "Tailspin Robotics", "country": "US"}}"#,
    ),
    // A common name that is also an alias on the SDN list: screening holds
    // the account for review (a pending hit), which a reviewer clears in
    // the console.
    (
        "ali-hassan",
        r#"{"kind": "individual", "name": "Ali Hassan", "verification": "document_verified", "source": "demo-kyc", "citizenships": ["US"], "residence_country": "US"}"#,
    ),
];

/// Licence L-2026-0042, held by Northwind Labs (`northwind`) under the
/// foreign-national order: it covers the organisation's own account and the
/// one engineer it names, `licensed-org`, not every member of the holder.
pub const DEMO_LICENCE: &str = r#"{"number": "L-2026-0042", "authority": "Example authority",
  "directives": ["foreign-national-frontier-2026"], "holder": "northwind", "individuals": ["licensed-org"],
  "models": ["fable-5", "mythos-5"], "conditions": "Licence granted to Northwind Labs for both models, for the engineer it names.",
  "issued": "2026-11-18T00:00:00Z", "expires": "2027-11-20T00:00:00Z"}"#;

/// A member of the `tailspin` organisation, registered as the end user
/// [`DEMO_END_USER`] of its key: a verified German national.
const DEMO_MEMBER: (&str, &str) = (
    "tailspin.eve",
    r#"{"verification": "document_verified", "source": "demo-kyc", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE", "organization": {"name": "Tailspin Robotics"}}"#,
);

/// The identifier `tailspin`'s application sends for its end user Eve.
pub const DEMO_END_USER: &str = "eve@tailspin.example";

pub fn run(a: Args) -> Result<ExitCode> {
    if a.walkthrough {
        return walkthrough::run(a.geoip, a.verbose);
    }
    let _log = crate::commands::serve::init_logging(crate::commands::serve::LogFormat::Text);
    let start: Timestamp = if a.at == "now" {
        crate::clock::now()
    } else {
        a.at.parse()
            .with_context(|| format!("--at `{}` is not an RFC 3339 time", a.at))?
    };
    let data = DataDir::resolve(a.data_dir.as_deref());
    data.create()?;
    let data_dir = data.root().to_path_buf();
    let geoip = a
        .geoip
        .clone()
        .unwrap_or_else(|| PathBuf::from(inputs::DEFAULT_GEOIP));
    if !geoip.is_file() {
        bail!(
            "the demo needs the GeoIP database `{}`: run it from the repository root or pass --geoip",
            geoip.display()
        );
    }
    let sanctions = PathBuf::from(inputs::DEFAULT_SANCTIONS);
    if !sanctions.is_dir() {
        bail!(
            "the demo needs the restricted-party lists `{}`: run it from the repository root",
            sanctions.display()
        );
    }
    let (directives, catalog) = shipped_policy_files(&data_dir)?;
    let console_inputs = (directives.clone(), catalog.clone());

    let audit_config = AuditConfig {
        read_token: Some(DEMO_AUDIT_TOKEN.into()),
        ..AuditConfig::default()
    };
    let opened = serve::open_audit(&data, &audit_config, None)?;
    let store_path = data_dir.join("identity.db");
    if store_path.exists() {
        // Changes a previous demo made but did not copy before it stopped.
        let old = SqliteStore::open(&store_path)
            .with_context(|| format!("cannot open `{}`", store_path.display()))?;
        audit::copy_journal(&old, opened.trail.log(), opened.trail.salt())
            .context("cannot copy the previous demo's changes into the audit log")?;
    }
    let _ = std::fs::remove_file(&store_path);
    let store = SqliteStore::open(&store_path)
        .with_context(|| format!("cannot create `{}`", store_path.display()))?
        .with_actor(DEMO_ACTOR);
    // The shipped lists first: every account below is screened as it is
    // created, as in a store where lists were imported. Never screened
    // would be unknown, and the restricted-party directive refuses it.
    let lists = super::lists::parse(&super::lists::read_paths(&[sanctions])?, true)?;
    store
        .save_snapshot(&lists, None, crate::clock::now())
        .context("cannot store the shipped restricted-party lists")?;
    let mut keys = BTreeMap::new();
    for (id, subject) in SAMPLE_ACCOUNTS {
        let subject: serde_json::Value =
            serde_json::from_str(subject).context("a sample subject is invalid JSON")?;
        store
            .add_account(id, subject)
            .with_context(|| format!("cannot add sample account `{id}`"))?;
        let issued = store
            .create_key(id, Some("demo"))
            .with_context(|| format!("cannot create a key for `{id}`"))?;
        keys.insert((*id).to_owned(), issued.key.clone());
    }
    let licence = cordon_subject::Licence::from_value(
        &serde_json::from_str(DEMO_LICENCE).context("the demo licence is invalid JSON")?,
        store.jurisdictions(),
        None,
    )
    .map_err(|e| anyhow::anyhow!("the demo licence does not check: {e}"))?;
    store
        .record_licence(&licence, cordon_store::licence::LicenceSource::Staff)
        .context("cannot record the demo licence")?;
    let (member, subject) = DEMO_MEMBER;
    store
        .add_account(member, serde_json::from_str(subject)?)
        .with_context(|| format!("cannot add sample account `{member}`"))?;
    store
        .register_end_users(
            "tailspin",
            &[cordon_store::end_users::Registration {
                end_user: DEMO_END_USER.into(),
                account: member.into(),
            }],
        )
        .context("cannot register the demo end user")?;
    // The demo's KYC source: Cordon's own event format, Standard Webhooks
    // signing with a secret made for this run.
    let webhook_secret = cordon_verification::webhook::Secret::generate()
        .map_err(|e| anyhow::anyhow!("cannot make the demo webhook secret: {e}"))?;
    if let Some(path) = &a.keys_out {
        let mut file = serde_json::to_value(&keys)?;
        if let Some(obj) = file.as_object_mut() {
            obj.insert(
                "webhooks".into(),
                serde_json::json!({ DEMO_KYC: webhook_secret }),
            );
        }
        std::fs::write(path, serde_json::to_string_pretty(&file)? + "\n")
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }

    let store = Arc::new(store);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let (gw, copier, served) = runtime.block_on(async move {
        let mock = cordon_gateway::mock::start(
            "127.0.0.1:0".parse()?,
            Duration::from_millis(a.token_delay_ms),
            Duration::ZERO,
        )
        .await
        .context("cannot start the mock model server")?;
        let loaded = Loaded {
            config: Config {
                listen: a.listen,
                directives,
                catalog,
                store: Some(store_path.clone()),
                operator: Operator {
                    name: "Cordon demo operator".into(),
                    url: "https://cordon.example/operator".into(),
                },
                refusal_status: RefusalStatus::Status451,
                trusted_proxies: Vec::new(),
                geo: GeoConfig {
                    databases: vec![geoip],
                    allow_missing: false,
                    internal_country: Some("US".into()),
                    anonymizer_lists: Vec::new(),
                    // The demo runs on the shipped country-only database, so
                    // Crimea and the covered oblasts are unseen by location;
                    // a deployment configures a City database instead.
                    accept_missing_regions: vec!["UA".into()],
                },
                limits: Limits::default(),
                decision_token: Some("demo-decision-token".into()),
                reload_interval_secs: 2,
                upstream: vec![Upstream {
                    name: "mock".into(),
                    url: format!("http://{}", mock.addr),
                    models: Vec::new(),
                    families: vec![
                        "fable".into(),
                        "mythos".into(),
                        "lyric".into(),
                        "echo".into(),
                    ],
                    api: UpstreamApi::Both,
                    api_key: None,
                    ca_bundle: None,
                    client_certificate: None,
                    client_key: None,
                }],
                audit: audit_config,
                end_user_header: None,
                tls: None,
                verification: VerificationConfig {
                    issuers: Vec::new(),
                    link_secret: None,
                    start_url: Some("https://cordon.example/verify".into()),
                    sources: vec![SourceConfig {
                        name: DEMO_KYC.into(),
                        format: "cordon".into(),
                        secrets: vec![webhook_secret.clone()],
                        api_key: None,
                        algorithms: Vec::new(),
                        kind: None,
                        max_level: None,
                        tolerance_secs: None,
                        refetch: false,
                        api_base: None,
                        api_secret: None,
                    }],
                },
                egress: Default::default(),
                envoy: Default::default(),
                fleet: Default::default(),
                postgres: Default::default(),
                cached_keys_trusted_ms: 250,
            },
            trusted_proxies: Vec::new(),
            internal_country: Some(CountryCode::US),
            verification: Vec::new(),
            issuers: Vec::new(),
            link_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"unused until replaced below"),
            refetching: Vec::new(),
        };
        let mut loaded = loaded;
        loaded.verification = loaded
            .config
            .verification
            .sources()
            .map_err(|(field, message)| anyhow::anyhow!("`{field}`: {message}"))?;
        loaded.link_key = loaded
            .config
            .verification
            .link_key()
            .map_err(|(field, message)| anyhow::anyhow!("`{field}`: {message}"))?;
        let origin = Instant::now();
        let clock = Arc::new(move || start.checked_add(origin.elapsed()).unwrap_or(start));
        let gw = Arc::new(Gateway::new(loaded, store.clone(), clock.clone())?);
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        let banner = AuditBanner::of(&opened, &data_dir);
        let copier = serve::start_audit(&gw, opened.trail, store.clone(), DEMO_ACTOR)?;
        print_banner(
            addr,
            &keys,
            start,
            gw.compiled().policy.version(),
            &data_dir,
            a.keys_out.as_deref(),
        );
        banner.print(&format!("http://{addr}"), keys.get("us-citizen"));
        let audit_dir = banner.dir.clone();
        start_console(
            &data,
            &store_path,
            &console_inputs,
            audit_dir,
            clock.clone(),
        )
        .await?;
        println!("Press Ctrl-C to stop.");
        let served = cordon_gateway::serve(gw.clone(), listener, serve::shutdown_signal())
            .await
            .context("the server failed");
        anyhow::Ok((gw, copier, served))
    })?;
    serve::stop_audit(&gw, copier);
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Where the demo's audit log is and how to check it.
struct AuditBanner {
    dir: PathBuf,
    public_key: String,
    public_key_file: Option<PathBuf>,
    data_dir: PathBuf,
}

impl AuditBanner {
    fn of(opened: &OpenedAudit, data_dir: &Path) -> Self {
        AuditBanner {
            dir: opened.dir.clone(),
            public_key: opened.verifier.to_text(),
            public_key_file: opened.verifier_file.clone(),
            data_dir: data_dir.to_path_buf(),
        }
    }

    fn print(&self, base: &str, key: Option<&String>) {
        println!("\nAudit log (every decision and change, durable before each answer):");
        println!("  log:        {}", self.dir.display());
        match &self.public_key_file {
            Some(f) => println!("  public key: {} ({})", f.display(), self.public_key),
            None => println!("  public key: {}", self.public_key),
        }
        println!(
            "  verify it:  cordon audit verify --data-dir {}",
            self.data_dir.display()
        );
        println!(
            "  receipts:   every response carries `x-cordon-audit-index: N`; fetch the receipt with\n              curl -s {base}/v1/audit/receipts/N -H 'Authorization: Bearer {}'",
            key.map_or("<key>", String::as_str)
        );
        println!(
            "  auditors:   curl -s {base}/audit/checkpoint -H 'Authorization: Bearer {DEMO_AUDIT_TOKEN}' (C2SP tlog-tiles under {base}/audit/)"
        );
    }
}

/// The shipped directives and catalog: the repository's, or the embedded copies written to `dir`.
/// Starts the compliance console beside the demo gateway, on a port of its
/// own, against the demo's store and audit log; the first time, with an
/// administrator whose password it prints.
async fn start_console(
    data: &DataDir,
    store: &Path,
    (directives, catalog): &(PathBuf, PathBuf),
    audit_log: PathBuf,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
) -> Result<()> {
    let users = cordon_console::Users::at(data.root().join(super::console::USERS_FILE));
    let login = if users.load()?.is_empty() {
        let password = cordon_console::session::token()?
            .chars()
            .take(20)
            .collect::<String>();
        users.add("admin", cordon_console::Role::Admin, &password)?;
        format!("log in as `admin` with the password `{password}`")
    } else {
        format!("log in as a user of `{}`", users.path().display())
    };
    let world = inputs::World::load()?;
    let policy = inputs::policy(Some(directives), inputs::catalog(Some(catalog))?, &world)
        .map_err(|e| anyhow::anyhow!("{}", inputs::render_load_error(&e)))?;
    let console = Arc::new(cordon_console::Console {
        records: super::console::open_records(store)?,
        users,
        sessions: Default::default(),
        policy: std::sync::RwLock::new(Arc::new(policy)),
        directives: Some(super::console::directive_set(
            data,
            directives.clone(),
            catalog.clone(),
            world,
        )),
        audit_log: Some(audit_log),
        audit_key: super::console::audit_key(data)?,
        oidc: None,
        decisions: Default::default(),
        list_entries: Default::default(),
        clock,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen for the console")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = cordon_console::serve(listener, console, serve::shutdown_signal()).await {
            tracing::error!(error = %e, "the console stopped");
        }
    });
    println!("\nCompliance console on http://{addr}/console/ ({login}).");
    Ok(())
}

/// The demo's directive set and catalog: a copy in its data directory of the
/// working directory's `directives/` and `catalog.toml` when it has them
/// (else of the set compiled in), made fresh on every start. A copy, because
/// the demo's console may change it: an approved change must never rewrite
/// the repository's shipped files.
fn shipped_policy_files(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let ddir = dir.join("directives");
    if ddir.exists() {
        std::fs::remove_dir_all(&ddir)
            .with_context(|| format!("cannot clear `{}`", ddir.display()))?;
    }
    std::fs::create_dir_all(&ddir)?;
    let cat = dir.join("catalog.toml");
    let repo = (
        PathBuf::from(inputs::DEFAULT_DIRECTIVES),
        PathBuf::from(inputs::DEFAULT_CATALOG),
    );
    if repo.0.is_dir() && repo.1.is_file() {
        for entry in std::fs::read_dir(&repo.0)? {
            let path = entry?.path();
            if let Some(name) = path
                .file_name()
                .filter(|_| path.extension().is_some_and(|x| x == "toml"))
            {
                std::fs::copy(&path, ddir.join(name))
                    .with_context(|| format!("cannot copy `{}`", path.display()))?;
            }
        }
        std::fs::copy(&repo.1, &cat)
            .with_context(|| format!("cannot copy `{}`", repo.1.display()))?;
        return Ok((ddir, cat));
    }
    for (name, text) in inputs::EMBEDDED_DIRECTIVES {
        let file = Path::new(name)
            .file_name()
            .context("embedded directive name")?;
        std::fs::write(ddir.join(file), text)?;
    }
    std::fs::write(&cat, inputs::EMBEDDED_CATALOG)?;
    Ok((ddir, cat))
}

fn print_banner(
    addr: SocketAddr,
    keys: &BTreeMap<String, String>,
    start: Timestamp,
    version: &str,
    data_dir: &Path,
    keys_out: Option<&Path>,
) {
    let key = |k: &str| keys.get(k).cloned().unwrap_or_default();
    let base = format!("http://{addr}");
    println!("Cordon demo gateway on {base}");
    println!("  policy {version}");
    println!(
        "  decisions as of {start} (the clock runs forward from there; --at now for real time)"
    );
    println!(
        "  clients on this machine are located in the US (loopback); a mock model server answers allowed requests"
    );
    println!(
        "  identity store: {}",
        data_dir.join("identity.db").display()
    );
    if let Some(p) = keys_out {
        println!("  API keys written to {}", p.display());
    }
    println!("\nSample accounts and keys:");
    for (id, k) in keys {
        println!("  {id:<17} {k}");
    }
    let chat = |who: &str, model: &str, extra: &str| {
        format!(
            "curl -s {base}/v1/chat/completions -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\\n     -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]{extra}}}'",
            key(who)
        )
    };
    let examples = [
        (
            "Allow — a U.S. citizen uses fable-5",
            "us-citizen",
            "fable-5",
            "",
            "",
        ),
        (
            "Stream — chunk by chunk through the gateway",
            "us-citizen",
            "mythos-5",
            ", \"stream\": true",
            " -N",
        ),
        (
            "Deny (451) — a verified foreign national asks for fable-5",
            "foreign-national",
            "fable-5",
            "",
            " -i",
        ),
        (
            "Verification required (451) — an unverified account asks for mythos-5",
            "unverified",
            "mythos-5",
            "",
            " -i",
        ),
        (
            "Licence L-2026-0042 — the Northwind Labs engineer it names uses fable-5",
            "licensed-org",
            "fable-5",
            "",
            "",
        ),
    ];
    for (title, who, model, extra, flags) in examples {
        println!("\n{title}:\n  {}{flags}", chat(who, model, extra));
    }
    println!(
        "\nAnthropic API — messages, streamed:\n  curl -sN {base}/v1/messages -H 'x-api-key: {}' -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' \\\n     -d '{{\"model\": \"fable-5\", \"max_tokens\": 100, \"stream\": true, \"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]}}'",
        key("dual-national")
    );
    println!(
        "\nModels each account may use now:\n  curl -s {base}/v1/models -H 'Authorization: Bearer {}'",
        key("foreign-national")
    );
    println!(
        "\nThe Python SDKs (once, in a virtualenv: python3 -m venv /tmp/sdk && . /tmp/sdk/bin/activate && pip install openai anthropic)."
    );
    println!(
        "\nOpenAI Python SDK:\n  python3 -c \"from openai import OpenAI; c = OpenAI(base_url='{base}/v1', api_key='{}'); print(c.chat.completions.create(model='fable-5', messages=[{{'role': 'user', 'content': 'Hi'}}]).choices[0].message.content)\"",
        key("us-citizen")
    );
    println!(
        "\nAnthropic Python SDK (a refusal raises anthropic.APIStatusError with status_code 451):\n  python3 -c \"import anthropic; c = anthropic.Anthropic(base_url='{base}', api_key='{}'); print(c.messages.create(model='fable-5', max_tokens=50, messages=[{{'role': 'user', 'content': 'Hi'}}]))\"",
        key("foreign-national")
    );
    println!(
        "\nAlso: {base}/healthz, {base}/metrics, and POST {base}/v1/decide with 'Authorization: Bearer demo-decision-token'."
    );
}
