//! `cordon demo --walkthrough`: decide sample requests offline and print the matrix.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use cordon_catalog::Resolution;
use cordon_geo::{GeoChain, GeoDatabase};
use cordon_jurisdiction::CountryCode;
use cordon_policy::{Effect, Feature, Matrix, Request};
use cordon_subject::{Licence, SubjectRecord};
use jiff::Timestamp;

use crate::commands::decide::decide;
use crate::inputs::{self, World};

/// One sample request.
struct Scenario {
    who: &'static str,
    subject: &'static str,
    model: &'static str,
    ip: &'static str,
    at: &'static str,
    features: &'static [Feature],
}

const AFTER_GRACE: &str = "2026-12-10T12:00:00Z";
const IN_GRACE: &str = "2026-11-25T12:00:00Z";

const VERIFIED_GERMAN: &str = r#"{"screening": [], "verification": "document_verified", "source": "kyc-vendor",
  "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#;
const SELF_DECLARED_GERMAN: &str = r#"{"screening": [], "verification": "self_declared", "source": "signup-form", "citizenships": ["DE"], "residence_country": "DE"}"#;
/// The same U.S. citizen with no screening on record: unknown, not clean.
const US_CITIZEN_NEVER_SCREENED: &str = r#"{"verification": "document_verified", "source": "kyc-vendor", "citizenships": ["US"], "residence_country": "US"}"#;
const US_CITIZEN: &str = r#"{"screening": [], "verification": "document_verified", "source": "kyc-vendor", "citizenships": ["US"], "residence_country": "US"}"#;
const DUAL_US_IR: &str = r#"{"screening": [], "verification": "document_verified", "source": "kyc-vendor", "citizenships": ["IR", "US"], "residence_country": "DE"}"#;
const IRANIAN_IN_GERMANY: &str = r#"{"screening": [], "verification": "document_verified", "source": "kyc-vendor",
  "citizenships": ["IR"], "permanent_residencies": ["DE"], "protected_individual": false, "residence_country": "DE"}"#;
/// The engineer licence L-2026-0042 names (the demo's `licensed-org`).
const NORTHWIND_ENGINEER: &str = r#"{"screening": [], "id": "licensed-org", "verification": "document_verified", "source": "kyc-vendor",
  "citizenships": ["IN"], "permanent_residencies": [], "protected_individual": false, "residence_country": "IN",
  "organization": {"name": "Northwind Labs", "verification": "attested", "source": "licence-holder roster"}}"#;
/// A colleague at Northwind Labs, as verified, whom the licence does not name.
const NORTHWIND_COLLEAGUE: &str = r#"{"screening": [], "id": "northwind-2", "verification": "document_verified", "source": "kyc-vendor",
  "citizenships": ["IN"], "permanent_residencies": [], "protected_individual": false, "residence_country": "IN",
  "organization": {"name": "Northwind Labs", "verification": "attested", "source": "licence-holder roster"}}"#;
const SDN_CONFIRMED: &str = r#"{"citizenships": ["AE"], "screening": [{"list": "SDN", "status": "confirmed", "entry": "36"}]}"#;
const EL_PENDING: &str =
    r#"{"citizenships": ["SG"], "screening": [{"list": "EL", "status": "pending"}]}"#;

const SCENARIOS: &[Scenario] = &[
    Scenario {
        who: "U.S. citizen, verified",
        subject: US_CITIZEN,
        model: "fable-5",
        ip: "8.8.8.8",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "German national, verified",
        subject: VERIFIED_GERMAN,
        model: "Fable-5",
        ip: "5.9.0.1",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "German national, verified",
        subject: VERIFIED_GERMAN,
        model: "lyric-4",
        ip: "5.9.0.1",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "German national, self-declared, in grace",
        subject: SELF_DECLARED_GERMAN,
        model: "mythos",
        ip: "5.9.0.1",
        at: IN_GRACE,
        features: &[],
    },
    Scenario {
        who: "German national, self-declared, after grace",
        subject: SELF_DECLARED_GERMAN,
        model: "mythos",
        ip: "5.9.0.1",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "dual U.S./Iranian national",
        subject: DUAL_US_IR,
        model: "fable-5",
        ip: "5.9.0.1",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "U.S. citizen connecting from Iran",
        subject: US_CITIZEN,
        model: "lyric-4",
        ip: "2.144.0.1",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "Iranian national living in Germany",
        subject: IRANIAN_IN_GERMANY,
        model: "lyric-4",
        ip: "5.9.0.1",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "Iranian national living in Germany",
        subject: IRANIAN_IN_GERMANY,
        model: "fable-5",
        ip: "5.9.0.1",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "Northwind Labs engineer (licence L-2026-0042)",
        subject: NORTHWIND_ENGINEER,
        model: "mythos-5",
        ip: "8.8.8.8",
        at: AFTER_GRACE,
        features: &[Feature::Tools],
    },
    Scenario {
        who: "Northwind colleague not named in the licence",
        subject: NORTHWIND_COLLEAGUE,
        model: "mythos-5",
        ip: "8.8.8.8",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "party confirmed on the SDN list",
        subject: SDN_CONFIRMED,
        model: "lyric-4",
        ip: "8.8.8.8",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "Entity List hit pending review",
        subject: EL_PENDING,
        model: "lyric-4",
        ip: "8.8.8.8",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "U.S. citizen, never screened",
        subject: US_CITIZEN_NEVER_SCREENED,
        model: "lyric-4",
        ip: "8.8.8.8",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "U.S. citizen, unknown model",
        subject: US_CITIZEN,
        model: "fable-6",
        ip: "8.8.8.8",
        at: AFTER_GRACE,
        features: &[],
    },
    Scenario {
        who: "U.S. citizen, location unknown",
        subject: US_CITIZEN,
        model: "lyric-4",
        ip: "10.1.2.3",
        at: AFTER_GRACE,
        features: &[],
    },
];

pub fn run(geoip: Option<PathBuf>, verbose: bool) -> Result<ExitCode> {
    let world = World::load()?;
    // The demo's own job is the shipped set: it names the built-in one.
    let catalog = inputs::builtin_catalog()?;
    let policy = inputs::builtin_policy(catalog, &world).map_err(|e| {
        anyhow!(
            "the shipped directive set is invalid:\n{}",
            inputs::render_load_error(&e)
        )
    })?;
    println!(
        "Cordon demo — the shipped directive set ({})",
        inputs::BUILTIN_LABEL
    );
    println!("policy version {}\n", policy.version());
    for d in policy.directives() {
        println!(
            "  {:<42} {:<9} {}",
            d.id,
            format!("{:?}", d.mode).to_lowercase(),
            d.title
        );
    }
    for w in policy.warnings() {
        println!("  note: {w}");
    }

    let geoip = geoip.unwrap_or_else(|| PathBuf::from(inputs::DEFAULT_GEOIP));
    let geo = GeoChain::new(vec![GeoDatabase::open(&geoip).with_context(|| {
        format!("the demo geolocates sample clients with `{}`; run it from the repository root or pass --geoip", geoip.display())
    })?]);
    println!(
        "\nGeoIP: {} (private addresses map to no country)\n",
        geoip.display()
    );

    println!(
        "{:<46} {:<9} {:<16} {:<24} decided by / note",
        "who", "model", "from", "effect"
    );
    println!("{}", "-".repeat(130));
    let mut first_refusal = None;
    // The demo's licence record, attached as the store attaches it: to the
    // holder's own account and to the individuals it names, no one else.
    let licence = Licence::from_value(
        &serde_json::from_str(super::DEMO_LICENCE).context("the demo licence is invalid JSON")?,
        world.jurisdictions,
        None,
    )
    .map_err(|e| anyhow!("the demo licence does not check: {e}"))?;
    for s in SCENARIOS {
        let mut subject = SubjectRecord::from_json(s.subject)
            .and_then(|r| r.into_subject(world.jurisdictions))
            .context("a demo subject is invalid")?;
        if subject
            .id
            .as_deref()
            .is_some_and(|id| id == licence.holder || licence.individuals.iter().any(|i| i == id))
        {
            subject.licences.push(licence.clone());
        }
        let at: Timestamp = s.at.parse().context("a demo time is invalid")?;
        let ip: IpAddr = s.ip.parse().context("a demo address is invalid")?;
        let located = geo.lookup(ip)?;
        let model = match policy.catalog().resolve(s.model) {
            Resolution::Known { id, .. } => Some(id),
            Resolution::Unknown => None,
        };
        let mut req = Request::new(model, at);
        req.country = located.location.country;
        req.region = located.location.region;
        req.anonymizer = located.location.anonymizer;
        req.features = s.features.iter().copied().collect();
        let e = decide(&policy, &subject, &req, s.model);
        let from = format!(
            "{} {}",
            s.ip,
            located
                .location
                .country
                .map_or("??".to_owned(), |c: CountryCode| c.to_string())
        );
        let note = if let Some(d) = &e.decided_by {
            d.clone()
        } else if let Some(x) = e.reasons.iter().find_map(|r| r.exemption.as_ref()) {
            format!("exempt: licence {}", x.licence)
        } else if let Some(w) = e.warnings.first() {
            w.chars().take(60).collect()
        } else {
            String::new()
        };
        println!(
            "{:<46} {:<9} {:<16} {:<24} {}",
            s.who,
            s.model,
            from,
            e.effect.as_str(),
            note
        );
        if verbose {
            println!("{}", e.to_text());
        }
        if first_refusal.is_none() && e.effect == Effect::Deny && e.decided_by.is_some() {
            first_refusal = Some(e);
        }
    }
    if let Some(e) = first_refusal.filter(|_| !verbose) {
        println!("\nThe first refusal, explained (cordon decide --format text):\n");
        print!("{}", e.to_text());
    }

    let at: Timestamp = AFTER_GRACE.parse().context("demo time")?;
    let started = std::time::Instant::now();
    let matrix = Matrix::build(&policy, world.jurisdictions, at);
    let elapsed = started.elapsed();
    println!(
        "\nAccess matrix at {at} ({} countries × {} models, built in {elapsed:.1?}):",
        matrix.rows.len(),
        matrix.models.len()
    );
    for (i, m) in matrix.models.iter().enumerate() {
        let denied: Vec<String> = matrix
            .rows
            .iter()
            .filter(|r| {
                r.effects
                    .get(i)
                    .is_some_and(|e| *e > Effect::AllowWithObligations)
            })
            .map(|r| r.country.to_string())
            .collect();
        let shown: Vec<&str> = denied.iter().map(String::as_str).take(12).collect();
        let more = if denied.len() > 12 {
            format!(" … (+{})", denied.len() - 12)
        } else {
            String::new()
        };
        println!(
            "  {m:<14} refused for {:>3} countries: {}{more}",
            denied.len(),
            shown.join(" ")
        );
    }
    println!(
        "\nNext: `cordon decide --help`, `cordon matrix`, `cordon check directives/`; README.md."
    );
    Ok(ExitCode::SUCCESS)
}
