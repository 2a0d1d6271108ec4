//! `cordon decide`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use cordon_audit::leaf::{Mode, Source};
use cordon_catalog::Resolution;
use cordon_gateway::audit::{DecisionContext, decision_record};
use cordon_geo::{GeoChain, GeoDatabase};
use cordon_jurisdiction::{CountryCode, RegionCode};
use cordon_policy::{Decision, Endpoint, Explanation, Feature, Policy, Request, ToolType, Trace};
use cordon_store::SqliteStore;
use cordon_subject::Subject;
use jiff::Timestamp;

use super::Format;
use crate::inputs::{self, World};

/// Arguments of `cordon decide`.
#[derive(clap::Args)]
pub struct Args {
    /// The subject: inline JSON, a JSON file, or `-` for standard input (schema: docs/subjects.md).
    #[arg(long, required_unless_present = "account", conflicts_with = "account")]
    subject: Option<String>,
    /// Decide for this stored account (with --store) instead of a --subject, and journal the decision for the audit log.
    #[arg(long, value_name = "ID", requires = "store")]
    account: Option<String>,
    /// The identity store holding --account.
    #[arg(long, value_name = "DB", requires = "account")]
    store: Option<PathBuf>,
    /// The model name as a client would send it.
    #[arg(long)]
    model: String,
    /// The directive directory (default: `directives/`).
    #[arg(long)]
    directives: Option<PathBuf>,
    /// The model catalog (default: `catalog.toml`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Client IP address, geolocated with --geoip.
    #[arg(long, conflicts_with_all = ["country", "region"])]
    ip: Option<IpAddr>,
    /// Client country (ISO 3166-1 alpha-2).
    #[arg(long)]
    country: Option<String>,
    /// Client region (ISO 3166-2), with --country.
    #[arg(long, requires = "country")]
    region: Option<String>,
    /// MMDB database for --ip (default: the shipped free country database).
    #[arg(long)]
    geoip: Option<PathBuf>,
    /// The client address is a known anonymiser (Tor, VPN, hosting).
    #[arg(long)]
    anonymizer: bool,
    /// The endpoint called.
    #[arg(long, default_value = "chat")]
    endpoint: String,
    /// A feature the request uses (repeatable): tools, image_input, file_input, audio_input, streaming, fine_tuning, batch.
    #[arg(long = "feature")]
    features: Vec<String>,
    /// A tool type the request declares (repeatable).
    #[arg(long = "tool-type")]
    tool_types: Vec<String>,
    /// The request's max_tokens.
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Decide as of this time (RFC 3339; default: now).
    #[arg(long)]
    at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// In text, only what refuses, limits or was lifted (enforced or
    /// shadow) and the rules that did, without attribute values.
    #[arg(long)]
    brief: bool,
}

/// Where a request comes from, resolved from the flags.
struct Origin {
    country: Option<CountryCode>,
    region: Option<RegionCode>,
}

fn origin(a: &Args, world: &World) -> Result<Origin> {
    if let Some(ip) = a.ip {
        let path = a
            .geoip
            .clone()
            .unwrap_or_else(|| PathBuf::from(inputs::DEFAULT_GEOIP));
        if !path.is_file() {
            bail!(
                "--ip needs a GeoIP database; `{}` does not exist (pass --geoip PATH, or run from the repository root)",
                path.display()
            );
        }
        let db = GeoDatabase::open(&path)?;
        let found = GeoChain::new(vec![db]).lookup(ip)?;
        return Ok(Origin {
            country: found.location.country,
            region: found.location.region,
        });
    }
    let country = a
        .country
        .as_deref()
        .map(|c| {
            let code = CountryCode::parse(c)?;
            if world.jurisdictions.is_country(code) {
                Ok(code)
            } else {
                Err(anyhow!(
                    "--country `{code}` is not an assigned ISO 3166-1 code"
                ))
            }
        })
        .transpose()?;
    let region = a
        .region
        .as_deref()
        .map(|r| {
            let code = RegionCode::parse(r)?;
            if !world.jurisdictions.is_region(code) {
                bail!("--region `{code}` is not a known ISO 3166-2 code");
            }
            if Some(code.country()) != country {
                bail!(
                    "--region `{code}` is not in --country `{}`",
                    country.map(|c| c.to_string()).unwrap_or_default()
                );
            }
            Ok(code)
        })
        .transpose()?;
    Ok(Origin { country, region })
}

fn parse_all<T>(
    values: &[String],
    flag: &str,
    parse: fn(&str) -> Option<T>,
    names: fn() -> String,
) -> Result<Vec<T>> {
    values
        .iter()
        .map(|v| parse(v).ok_or_else(|| anyhow!("{flag} `{v}` is not one of: {}", names())))
        .collect()
}

/// Builds the request from the flags.
fn request(a: &Args, policy: &Policy, origin: &Origin, at: Timestamp) -> Result<Request> {
    let model = match policy.catalog().resolve(&a.model) {
        Resolution::Known { id, .. } => Some(id),
        Resolution::Unknown => None,
    };
    let mut r = Request::new(model, at);
    r.endpoint = Endpoint::parse(&a.endpoint).ok_or_else(|| {
        anyhow!(
            "--endpoint `{}` is not one of: {}",
            a.endpoint,
            Endpoint::names()
        )
    })?;
    r.features = parse_all(&a.features, "--feature", Feature::parse, Feature::names)?
        .into_iter()
        .collect();
    r.tool_types = parse_all(
        &a.tool_types,
        "--tool-type",
        ToolType::parse,
        ToolType::names,
    )?
    .into_iter()
    .collect();
    if !r.tool_types.is_empty() {
        r.features.insert(Feature::Tools);
    }
    r.max_tokens = a.max_tokens;
    r.country = origin.country;
    r.region = origin.region;
    r.anonymizer = Some(a.anonymizer);
    Ok(r)
}

/// Decides and explains one request.
pub fn decide(
    policy: &Policy,
    subject: &Subject,
    request: &Request,
    requested_model: &str,
) -> Explanation {
    decide_explained(policy, subject, request, requested_model).1
}

/// Decides one request; the decision with its explanation.
fn decide_explained(
    policy: &Policy,
    subject: &Subject,
    request: &Request,
    requested_model: &str,
) -> (Decision, Explanation) {
    let mut trace = Trace::with_capacity(policy.max_consulted());
    let decision = policy.decide(subject, request, &mut trace);
    let explanation = policy.explain(subject, request, requested_model, &decision, &trace);
    (decision, explanation)
}

/// A stored account to decide for, and the store to journal the decision in.
struct Stored {
    store: SqliteStore,
    path: PathBuf,
    account: String,
}

/// Opens the store (which must exist) and reads the account's subject.
fn stored_subject(path: &std::path::Path, account: &str) -> Result<(Stored, Subject)> {
    let store = super::accounts::open_existing(path)?;
    let record = store
        .get(account)
        .with_context(|| format!("cannot read account `{account}`"))?
        .ok_or_else(|| anyhow!("no account `{account}` in `{}`", path.display()))?;
    if record.disabled {
        eprintln!(
            "warning: account `{account}` is disabled; the gateway refuses its keys before deciding"
        );
    }
    // As the gateway sees it: the stored subject with the licences it holds.
    let subject = store
        .subject(account)
        .with_context(|| format!("the stored subject of account `{account}` is invalid"))?
        .ok_or_else(|| anyhow!("no account `{account}` in `{}`", path.display()))?;
    Ok((
        Stored {
            store,
            path: path.to_path_buf(),
            account: account.to_owned(),
        },
        subject,
    ))
}

/// Journals the decision in the store, whose change journal the gateway
/// copies into the audit log; returns the decision id.
fn journal(
    stored: &Stored,
    decision: &Decision,
    explanation: &Explanation,
    request: &Request,
) -> Result<String> {
    let id = cordon_gateway::proxy::decision_id();
    let record = decision_record(
        decision,
        explanation,
        request,
        &DecisionContext {
            id: &id,
            account: Some(&stored.account),
            end_user: None,
            mode: Mode::Enforced,
            source: Source::Cli,
        },
    );
    let details = serde_json::to_value(&record).context("cannot encode the decision record")?;
    stored
        .store
        .journal("decision", &id, details)
        .with_context(|| {
            format!(
                "cannot journal decision `{id}` in `{}`",
                stored.path.display()
            )
        })?;
    Ok(id)
}

pub fn run(a: Args) -> Result<ExitCode> {
    let world = World::load()?;
    let at = super::time(a.at.as_deref())?;
    let (stored, subject) = match (&a.store, &a.account, &a.subject) {
        (Some(path), Some(account), _) => {
            let (stored, subject) = stored_subject(path, account)?;
            (Some(stored), subject)
        }
        (_, _, Some(subject)) => (None, inputs::subject(subject, &world)?),
        _ => bail!("pass --subject, or --store and --account"),
    };
    let catalog = inputs::catalog(a.catalog.as_deref())?;
    let policy = inputs::policy(a.directives.as_deref(), catalog, &world).map_err(|e| {
        anyhow!(
            "the directive set `{}` is invalid:\n{}",
            inputs::directives_label(a.directives.as_deref()),
            inputs::render_load_error(&e)
        )
    })?;
    let origin = origin(&a, &world)?;
    let req = request(&a, &policy, &origin, at)?;
    if a.format == Format::Csv {
        bail!("--format csv is for tables; use text or json");
    }
    let (decision, explanation) = decide_explained(&policy, &subject, &req, &a.model);
    let id = stored
        .as_ref()
        .map(|s| journal(s, &decision, &explanation, &req))
        .transpose()?;
    if a.format == Format::Json {
        let mut value =
            serde_json::to_value(&explanation).context("cannot render the decision as JSON")?;
        if let (Some(id), Some(object)) = (&id, value.as_object_mut()) {
            object.insert("decision_id".into(), serde_json::Value::String(id.clone()));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&value).context("cannot render the decision as JSON")?
        );
    } else if a.brief {
        print!("{}", explanation.to_brief_text());
    } else {
        print!("{}", explanation.to_text());
    }
    if let (Some(id), Some(s)) = (&id, &stored) {
        eprintln!(
            "journalled decision `{id}` in `{}`; it reaches the audit log when the gateway next copies the journal",
            s.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
