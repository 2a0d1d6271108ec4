//! `cordon check`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use cordon_geo::GeoDatabase;
use cordon_jurisdiction::{CountryCode, CountrySet};
use cordon_policy::{Mode, Policy, RegionNeed, Severity};

use crate::inputs::{self, World};

/// Arguments of `cordon check`.
#[derive(clap::Args)]
pub struct Args {
    /// The directive directory (default: `directives/`).
    dir: Option<PathBuf>,
    /// The model catalog (default: `catalog.toml`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Print findings as JSON.
    #[arg(long)]
    json: bool,
    /// The GeoIP databases the gateway will use (repeatable), to report
    /// directives that need regions none of them provides (default: the
    /// shipped `data/geoip/geo-whois-asn-country.mmdb` when present).
    #[arg(long)]
    geoip: Vec<PathBuf>,
    /// Countries whose missing regions the operator accepts, as
    /// `geo.accept_missing_regions` does for the gateway (repeatable).
    #[arg(long = "accept-missing-regions", value_name = "CC")]
    accept_missing_regions: Vec<String>,
    /// Also prove the built-in properties of `cordon analyze` over the set
    /// (docs/analysis.md); exit 1 when one is violated.
    #[arg(long)]
    analyze: bool,
}

/// The default properties of `cordon analyze`, when `--analyze` asks for them.
fn analysis(
    p: &Policy,
    a: &Args,
    label: &str,
    world: &World,
) -> Result<Option<cordon_analysis::Report>> {
    if !a.analyze {
        return Ok(None);
    }
    let input = cordon_analysis::Input {
        set: cordon_analysis::Named {
            policy: p,
            label: label.to_owned(),
        },
        against: None,
        catalog: a.catalog.as_ref().map(|c| c.display().to_string()),
        properties: {
            let mut all = cordon_analysis::Property::defaults();
            for p in cordon_analysis::declared(p)? {
                if !all.contains(&p) {
                    all.push(p);
                }
            }
            all
        },
        jurisdictions: world.jurisdictions,
        groups: &world.groups,
    };
    Ok(Some(cordon_analysis::analyze(&input)?))
}

/// Rules of shadow and enforced directives that test the request's region in
/// countries for which none of the given databases provides regions.
struct RegionReport {
    /// Which databases were judged, with their `database_type`.
    databases: Vec<String>,
    /// `(need, countries missing, accepted)`.
    gaps: Vec<(RegionNeed, Vec<CountryCode>, bool)>,
}

fn region_report(p: &Policy, a: &Args) -> Result<RegionReport> {
    let paths: Vec<PathBuf> = if a.geoip.is_empty() {
        let shipped = PathBuf::from(inputs::DEFAULT_GEOIP);
        if shipped.is_file() {
            vec![shipped]
        } else {
            Vec::new()
        }
    } else {
        a.geoip.clone()
    };
    let mut dbs = Vec::new();
    for path in &paths {
        dbs.push(GeoDatabase::open(path)?);
    }
    let mut accepted = CountrySet::EMPTY;
    for c in &a.accept_missing_regions {
        accepted.insert(
            CountryCode::parse(c).map_err(|e| anyhow!("--accept-missing-regions `{c}`: {e}"))?,
        );
    }
    let provides = dbs.iter().any(GeoDatabase::provides_regions);
    let gaps = p
        .region_needs()
        .into_iter()
        .filter_map(|need| {
            let missing = need.missing(|_| provides, &CountrySet::EMPTY);
            let unaccepted = need.missing(|_| provides, &need.accepted_with(&accepted));
            (!missing.is_empty()).then_some((need, missing, unaccepted.is_empty()))
        })
        .collect();
    Ok(RegionReport {
        databases: dbs
            .iter()
            .map(|d| format!("{} ({})", d.name(), d.database_type()))
            .collect(),
        gaps,
    })
}

pub fn run(a: Args) -> Result<ExitCode> {
    let world = World::load()?;
    let catalog = inputs::catalog(a.catalog.as_deref())?;
    let label = inputs::directives_label(a.dir.as_deref());
    match inputs::policy(a.dir.as_deref(), catalog, &world) {
        Ok(p) => {
            let regions = region_report(&p, &a)?;
            let analysis = analysis(&p, &a, &label, &world)?;
            let holds = analysis.as_ref().is_none_or(|r| r.holds);
            if a.json {
                let mut out = serde_json::json!({
                    "ok": true,
                    "policy_version": p.version(),
                    "directives": p.directives().iter().map(|d| serde_json::json!({"id": d.id, "mode": d.mode, "file": d.source.name()})).collect::<Vec<_>>(),
                    "diagnostics": p.warnings(),
                    "geoip": regions.databases,
                    "region_gaps": regions.gaps.iter().map(|(n, missing, accepted)| serde_json::json!({
                        "directive": n.directive,
                        "rule": n.rule,
                        "mode": n.mode,
                        "countries": missing,
                        "accepted": accepted,
                    })).collect::<Vec<_>>(),
                });
                if let (Some(r), Some(o)) = (&analysis, out.as_object_mut()) {
                    o.insert("analysis".into(), serde_json::to_value(r)?);
                }
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                for w in p.warnings() {
                    println!("{w}");
                }
                print_region_gaps(&regions);
                println!(
                    "{label}: {} directive(s) OK, {} warning(s)",
                    p.directives().len(),
                    p.warnings().len()
                );
                for d in p.directives() {
                    println!("  {:<40} {:?}", d.id, d.mode);
                }
                println!("policy version {}", p.version());
                if let Some(r) = &analysis {
                    println!();
                    print!("{}", r.to_text());
                }
            }
            Ok(if holds {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Err(e) => {
            let errors = e.errors().count();
            if a.json {
                let out = serde_json::json!({"ok": false, "diagnostics": e.diagnostics});
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                eprint!("{}", inputs::render_load_error(&e));
                let warnings = e
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Warning)
                    .count();
                eprintln!("{label}: {errors} error(s), {warnings} warning(s)");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Says, per rule, where a region test can never be decided by location.
fn print_region_gaps(r: &RegionReport) {
    if r.gaps.is_empty() {
        return;
    }
    let dbs = if r.databases.is_empty() {
        "no GeoIP database was named to provide".to_owned()
    } else {
        format!("{} does not provide", r.databases.join(", "))
    };
    for (need, missing, accepted) in &r.gaps {
        let codes: Vec<&str> = missing.iter().map(|c| c.as_str()).collect();
        let consequence = match (need.mode, accepted) {
            (Mode::Enforced, false) => "the gateway refuses to start with it",
            (Mode::Enforced, true) => "accepted",
            _ => "shadow: reported only",
        };
        println!(
            "region gap: `{}` rule `{}` ({}) tests the request's region in {}, which {dbs}; its location test is unknown there for every address ({consequence})",
            need.directive,
            need.rule,
            need.mode.as_str(),
            codes.join(", "),
        );
    }
}
