//! The gateway's configuration file (`cordon.toml`), specified in `docs/configuration.md`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cordon_jurisdiction::CountryCode;
use cordon_source::{Location, SourceFile};
use serde::Deserialize;

use crate::cidr::Cidr;

pub use crate::audit::config::{AuditConfig, OnFailure};

/// Which HTTP status a legal refusal uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RefusalStatus {
    /// 451 Unavailable For Legal Reasons (RFC 7725).
    #[default]
    #[serde(rename = "451")]
    Status451,
    /// 403 Forbidden, for clients that mishandle 451.
    #[serde(rename = "403")]
    Status403,
}

impl RefusalStatus {
    /// The status code.
    pub fn code(self) -> axum::http::StatusCode {
        match self {
            RefusalStatus::Status451 => axum::http::StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
            RefusalStatus::Status403 => axum::http::StatusCode::FORBIDDEN,
        }
    }
}

/// The wire format an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamApi {
    /// OpenAI-compatible (`/v1/chat/completions`).
    Openai,
    /// Anthropic-compatible (`/v1/messages`).
    Anthropic,
    /// Both paths are forwarded as they are.
    Both,
}

/// One upstream model server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// A name for logs and metrics.
    pub name: String,
    /// Base URL: `https://api.openai.com`, or `http://host:port` for a
    /// server on a trusted network (a local model server, a mock).
    pub url: String,
    /// Models served (catalog ids, aliases or snapshots).
    #[serde(default)]
    pub models: Vec<String>,
    /// Families served.
    #[serde(default)]
    pub families: Vec<String>,
    /// The API it speaks.
    #[serde(default = "default_api")]
    pub api: UpstreamApi,
    /// A key the gateway sends upstream (`Authorization: Bearer` and `x-api-key`);
    /// the caller's own key is never forwarded.
    #[serde(default)]
    pub api_key: Option<String>,
    /// A PEM file of CA certificates trusted for this upstream besides the
    /// built-in roots and `egress.ca_bundle` (`https://` only).
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// A client certificate chain (PEM) presented when the upstream asks for
    /// one (mutual TLS); with `client_key`.
    #[serde(default)]
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

impl Upstream {
    /// Whether the gateway speaks TLS to it.
    pub fn is_https(&self) -> bool {
        self.url.starts_with("https://")
    }
}

fn default_api() -> UpstreamApi {
    UpstreamApi::Both
}

/// Who blocks, for the RFC 7725 `Link: <…>; rel="blocked-by"` header.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// The operator's name.
    pub name: String,
    /// A URL identifying the operator (the `blocked-by` link).
    pub url: String,
}

/// Where the caller is.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GeoConfig {
    /// MMDB databases, consulted in order.
    #[serde(default)]
    pub databases: Vec<PathBuf>,
    /// Start without any database (every location unknown) instead of failing.
    #[serde(default)]
    pub allow_missing: bool,
    /// The country of clients on loopback and private networks; absent means unknown.
    #[serde(default)]
    pub internal_country: Option<String>,
    /// Files of CIDR ranges (one per line, `#` comments) whose addresses are anonymisers.
    #[serde(default)]
    pub anonymizer_lists: Vec<PathBuf>,
    /// Countries (ISO 3166-1 codes) for which the operator accepts that no
    /// database provides regions, so enforced directives that test
    /// `request.region` there are unknown for every address (e.g. `["UA"]`
    /// with a country-only database: Crimea then goes unseen by location).
    /// Without it the gateway refuses to start with such a directive enforced.
    #[serde(default)]
    pub accept_missing_regions: Vec<String>,
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Upstream timeout for response headers, in seconds.
    #[serde(default = "default_timeout")]
    pub upstream_timeout_secs: u64,
    /// How long a client has to send a request's headers, from the
    /// connection's start or the end of the previous response (so it also
    /// closes idle keep-alive connections), in seconds.
    #[serde(default = "default_header_read")]
    pub header_read_timeout_secs: u64,
    /// How long a client has to send a request's body once its headers
    /// arrived, in seconds: a trickled body cannot hold a connection.
    #[serde(default = "default_body_read")]
    pub body_read_timeout_secs: u64,
    /// Open connections one client address may hold; more are closed at
    /// once. 0 means no cap.
    #[serde(default = "default_per_ip")]
    pub max_connections_per_ip: usize,
    /// The most bytes a request's target and header fields may take
    /// together; more is a 431 in the API's shape.
    #[serde(default = "default_header_bytes")]
    pub max_header_bytes: usize,
    /// The most header fields a request may have; more is a 431 in the
    /// API's shape.
    #[serde(default = "default_headers")]
    pub max_headers: usize,
}

fn default_header_bytes() -> usize {
    32 * 1024
}

fn default_headers() -> usize {
    100
}

fn default_header_read() -> u64 {
    10
}

fn default_body_read() -> u64 {
    30
}

fn default_per_ip() -> usize {
    1024
}

fn default_max_body() -> usize {
    4 * 1024 * 1024
}

fn default_timeout() -> u64 {
    120
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: default_max_body(),
            upstream_timeout_secs: default_timeout(),
            header_read_timeout_secs: default_header_read(),
            body_read_timeout_secs: default_body_read(),
            max_connections_per_ip: default_per_ip(),
            max_header_bytes: default_header_bytes(),
            max_headers: default_headers(),
        }
    }
}

/// Envoy's gRPC external authorisation (`[envoy]`); served by `cordon serve`
/// beside the HTTP listener.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EnvoyConfig {
    /// Where to serve `envoy.service.auth.v3.Authorization/Check` over
    /// gRPC (HTTP/2 without TLS); absent means not at all. Bind it on an
    /// internal address: like the HTTP `ext_authz` endpoint, it trusts the
    /// request Envoy describes.
    #[serde(default)]
    pub grpc_listen: Option<SocketAddr>,
}

/// How the node connects to a PostgreSQL store (`[postgres]`); ignored
/// with a SQLite store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The most connections the node holds for queries (1 to 64); one more
    /// listens for the store's change notifications.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// How long one statement may run before the server cancels it, in
    /// milliseconds; a request whose lookup is cancelled fails closed.
    #[serde(default = "default_statement_timeout")]
    pub statement_timeout_ms: u64,
}

fn default_pool_size() -> usize {
    4
}

fn default_statement_timeout() -> u64 {
    5000
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            pool_size: default_pool_size(),
            statement_timeout_ms: default_statement_timeout(),
        }
    }
}

/// How a node takes part in a fleet on a shared store (`[fleet]`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// The public keys (signed-note verifier keys, `name+id+key`) whose
    /// published directive bundles this node enforces. A bundle signed by
    /// none of them is not loaded, and the node is flagged.
    #[serde(default)]
    pub publisher_keys: Vec<String>,
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directive directory.
    pub directives: PathBuf,
    /// Model catalog.
    pub catalog: PathBuf,
    /// Identity store: a SQLite file, created on first start, or a
    /// `postgres://` URL shared by a fleet of nodes (migrated first with
    /// `cordon store migrate`); `None` means `identity.db` in the data
    /// directory (`cordon serve --data-dir`).
    #[serde(default)]
    pub store: Option<PathBuf>,
    /// The blocking party named in refusals.
    pub operator: Operator,
    /// 451 (default) or 403 for legal refusals.
    #[serde(default)]
    pub refusal_status: RefusalStatus,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Geolocation.
    #[serde(default)]
    pub geo: GeoConfig,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// A bearer token required by the decision API (`/v1/decide`, AuthZEN, ext_authz,
    /// auth_request); absent means those endpoints are disabled.
    #[serde(default)]
    pub decision_token: Option<String>,
    /// Seconds between checks of the directive and catalog files for changes.
    #[serde(default = "default_reload")]
    pub reload_interval_secs: u64,
    /// Upstream model servers.
    #[serde(default)]
    pub upstream: Vec<Upstream>,
    /// The audit log.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Where verification events come from.
    #[serde(default)]
    pub verification: crate::verification::config::VerificationConfig,
    /// A request header that names the end user behind an organisation's
    /// key, read besides the APIs' own fields (OpenAI `safety_identifier` /
    /// `user`, Anthropic `metadata.user_id`); absent means only those.
    #[serde(default)]
    pub end_user_header: Option<String>,
    /// TLS on the listener; absent means plain HTTP (TLS ends at a load
    /// balancer in front).
    #[serde(default)]
    pub tls: Option<crate::listener_tls::ListenerTlsConfig>,
    /// How the gateway reaches other servers (vendor APIs, identity
    /// providers' key sets).
    #[serde(default)]
    pub egress: crate::egress::EgressConfig,
    /// Envoy's gRPC external authorisation.
    #[serde(default)]
    pub envoy: EnvoyConfig,
    /// The node's part in a fleet on a shared store.
    #[serde(default)]
    pub fleet: FleetConfig,
    /// How the node connects to a PostgreSQL store.
    #[serde(default)]
    pub postgres: PostgresConfig,
    /// How long a cached API key is trusted without asking the store whether
    /// anything changed, in milliseconds; past it, a store that cannot
    /// answer fails the request closed. Stated in `/healthz`.
    #[serde(default = "default_cached_keys_trusted")]
    pub cached_keys_trusted_ms: u64,
}

fn default_cached_keys_trusted() -> u64 {
    250
}

fn default_reload() -> u64 {
    2
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] cordon_source::ReadError),
    /// The file is not valid TOML of the expected shape.
    #[error(transparent)]
    Toml(#[from] cordon_source::TomlError),
    /// A value is wrong.
    #[error("{location}: `{field}`: {message}")]
    Invalid {
        /// The file.
        location: Location,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A configuration with its relative paths resolved against the file's directory.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Parsed trusted proxy ranges.
    pub trusted_proxies: Vec<Cidr>,
    /// Parsed internal country.
    pub internal_country: Option<CountryCode>,
    /// The verification sources, built from `[verification]`.
    pub verification: Vec<cordon_verification::Source>,
    /// The issuers of identity assertions, with their keys.
    pub issuers: Vec<crate::verification::config::ConfiguredIssuer>,
    /// The key start links are signed with (`verification.link_secret`, or
    /// one made at start).
    pub link_key: ring::hmac::Key,
    /// The sources that refetch, with their API settings.
    pub refetching: Vec<crate::verification::config::Refetching>,
}

impl Loaded {
    /// Secrets still set to the example file's placeholders (`change-me…`):
    /// `(field, what it guards)`. Anyone who has read the example knows them.
    pub fn placeholder_secrets(&self) -> Vec<(&'static str, &'static str)> {
        let placeholder = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("change-me"))
        };
        let mut out = Vec::new();
        if placeholder(&self.config.decision_token) {
            out.push(("decision_token", "the decision API"));
        }
        if placeholder(&self.config.audit.read_token) {
            out.push(("audit.read_token", "the auditor endpoints"));
        }
        out
    }
}

impl Config {
    /// Reads and checks a configuration file.
    ///
    /// # Errors
    /// A located error for unreadable files, bad TOML, unknown fields and bad values.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let file = SourceFile::read(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&file, base)
    }

    /// Parses configuration text; relative paths are resolved against `base`.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn parse(file: &SourceFile, base: &Path) -> Result<Loaded, ConfigError> {
        let mut config: Config = file.parse_toml()?;
        // Point at the value itself; a field that is missing (or the text
        // not walkable) falls back to the first place its name appears.
        let invalid = |field: &str, message: String| ConfigError::Invalid {
            location: file.location(file.value_span(field).map_or_else(
                || {
                    let name = field.split('.').next_back().unwrap_or(field);
                    let name = name.split('[').next().unwrap_or(name);
                    file.text().find(name).unwrap_or(0)
                },
                |span| span.start,
            )),
            field: field.to_owned(),
            message,
        };
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut config.directives);
        resolve(&mut config.catalog);
        // A URL is not a path beside the configuration file.
        if let Some(p) = config
            .store
            .as_mut()
            .filter(|p| !p.to_str().is_some_and(cordon_store::is_postgres_url))
        {
            resolve(p);
        }
        config.geo.databases.iter_mut().for_each(resolve);
        config.geo.anonymizer_lists.iter_mut().for_each(resolve);
        let audit = &mut config.audit;
        for p in [&mut audit.dir, &mut audit.key, &mut audit.salt]
            .into_iter()
            .flatten()
        {
            resolve(p);
        }
        if let Some((field, message)) = config.audit.problem() {
            return Err(invalid(field, message));
        }
        if !(1..=64).contains(&config.postgres.pool_size) {
            return Err(invalid(
                "postgres.pool_size",
                format!("{} is outside 1 to 64", config.postgres.pool_size),
            ));
        }
        if !(1..=600_000).contains(&config.postgres.statement_timeout_ms) {
            return Err(invalid(
                "postgres.statement_timeout_ms",
                format!(
                    "{} is outside 1 to 600000",
                    config.postgres.statement_timeout_ms
                ),
            ));
        }
        if !(1..=60_000).contains(&config.cached_keys_trusted_ms) {
            return Err(invalid(
                "cached_keys_trusted_ms",
                format!(
                    "{} is outside 1 to 60000 (a revoked key may keep working this long while the store cannot answer)",
                    config.cached_keys_trusted_ms
                ),
            ));
        }
        for (i, key) in config.fleet.publisher_keys.iter().enumerate() {
            cordon_audit::VerifierKey::parse(key).map_err(|e| {
                invalid(
                    &format!("fleet.publisher_keys[{i}]"),
                    format!("not a publisher's public key (`cordon audit keygen` writes one): {e}"),
                )
            })?;
        }
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, s)| Cidr::parse(s).map_err(|e| invalid(&format!("trusted_proxies[{i}]"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, c) in config.geo.accept_missing_regions.iter().enumerate() {
            let field = format!("geo.accept_missing_regions[{i}]");
            if let Err(e) = CountryCode::parse(c) {
                return Err(invalid(&field, e.to_string()));
            }
        }
        let internal_country = config
            .geo
            .internal_country
            .as_deref()
            .map(|c| {
                CountryCode::parse(c).map_err(|e| invalid("geo.internal_country", e.to_string()))
            })
            .transpose()?;
        if let Some(t) = &mut config.tls {
            resolve(&mut t.certificate);
            resolve(&mut t.key);
        }
        for u in &mut config.upstream {
            for p in [
                &mut u.ca_bundle,
                &mut u.client_certificate,
                &mut u.client_key,
            ]
            .into_iter()
            .flatten()
            {
                resolve(p);
            }
        }
        for (i, u) in config.upstream.iter().enumerate() {
            if !u.url.starts_with("http://") && !u.is_https() {
                return Err(invalid(
                    &format!("upstream[{i}].url"),
                    format!("`{}` must start with https:// or http://", u.url),
                ));
            }
            let tls_option = [
                ("ca_bundle", u.ca_bundle.is_some()),
                ("client_certificate", u.client_certificate.is_some()),
                ("client_key", u.client_key.is_some()),
            ]
            .into_iter()
            .find(|(_, set)| *set);
            if let (false, Some((name, _))) = (u.is_https(), tls_option) {
                return Err(invalid(
                    &format!("upstream[{i}].{name}"),
                    format!(
                        "upstream `{}` is plain http://, so it has no TLS to configure",
                        u.name
                    ),
                ));
            }
            if u.client_certificate.is_some() != u.client_key.is_some() {
                let missing = if u.client_key.is_none() {
                    "client_key"
                } else {
                    "client_certificate"
                };
                return Err(invalid(
                    &format!(
                        "upstream[{i}].{}",
                        if missing == "client_key" {
                            "client_certificate"
                        } else {
                            "client_key"
                        }
                    ),
                    format!(
                        "a client certificate needs both `client_certificate` and `client_key`; `{missing}` is missing"
                    ),
                ));
            }
            if u.models.is_empty() && u.families.is_empty() {
                return Err(invalid(
                    &format!("upstream[{i}].name"),
                    format!("upstream `{}` serves no models or families", u.name),
                ));
            }
        }
        if config.limits.max_body_bytes == 0 {
            return Err(invalid(
                "limits.max_body_bytes",
                "must be at least 1".into(),
            ));
        }
        if let Some(h) = &mut config.end_user_header {
            *h = h.to_ascii_lowercase();
            let reserved = [
                "authorization",
                "x-api-key",
                "content-type",
                "content-length",
                "host",
                "cookie",
                "forwarded",
                "x-forwarded-for",
            ];
            if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(invalid(
                    "end_user_header",
                    format!("`{h}` is not a header name"),
                ));
            }
            if reserved.contains(&h.as_str()) {
                return Err(invalid(
                    "end_user_header",
                    format!(
                        "`{h}` already means something else; pick a header of its own such as `x-end-user-id`"
                    ),
                ));
            }
        }
        for (field, value) in [
            (
                "limits.header_read_timeout_secs",
                config.limits.header_read_timeout_secs,
            ),
            (
                "limits.body_read_timeout_secs",
                config.limits.body_read_timeout_secs,
            ),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1".into()));
            }
        }
        if let Some(grpc) = config.envoy.grpc_listen
            && grpc.port() != 0
            && grpc.port() == config.listen.port()
            && (grpc.ip() == config.listen.ip()
                || grpc.ip().is_unspecified()
                || config.listen.ip().is_unspecified())
        {
            return Err(invalid(
                "envoy.grpc_listen",
                format!(
                    "`{grpc}` is the HTTP listener's address (`listen = \"{}\"`); give the gRPC listener a port of its own",
                    config.listen
                ),
            ));
        }
        if config.reload_interval_secs == 0 {
            return Err(invalid("reload_interval_secs", "must be at least 1".into()));
        }
        for i in &mut config.verification.issuers {
            if let Some(p) = &mut i.jwks_file {
                resolve(p);
            }
        }
        if let Some(p) = &mut config.egress.ca_bundle {
            resolve(p);
        }
        if let Some((field, message)) = config.egress.problem() {
            return Err(invalid(field, message));
        }
        let verification = config
            .verification
            .sources()
            .map_err(|(field, message)| invalid(&field, message))?;
        let issuers = config
            .verification
            .issuers()
            .map_err(|(field, message)| invalid(&field, message))?;
        let link_key = config
            .verification
            .link_key()
            .map_err(|(field, message)| invalid(&field, message))?;
        let refetching = config
            .verification
            .refetching()
            .map_err(|(field, message)| invalid(&field, message))?;
        Ok(Loaded {
            config,
            trusted_proxies,
            internal_country,
            verification,
            issuers,
            link_key,
            refetching,
        })
    }
}
