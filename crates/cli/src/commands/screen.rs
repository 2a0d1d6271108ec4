//! `cordon screen`: screen names against the restricted-party lists.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use cordon_jurisdiction::CountryCode;
use cordon_screening::screener::{DEFAULT_LIMIT, DEFAULT_THRESHOLD, PartyKind, Query, Screener};
use cordon_store::SqliteStore;
use serde_json::{Value, json};

use super::accounts::DEFAULT_STORE;

/// Arguments of `cordon screen`.
#[derive(clap::Args)]
pub struct Args {
    /// The name to screen (or use --batch).
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    name: Option<String>,
    /// A directory of list files, or a store (a SQLite file or a
    /// `postgres://` URL) with an imported snapshot (default: the store's
    /// active snapshot).
    #[arg(long, value_name = "DIR_OR_DB")]
    lists: Option<PathBuf>,
    /// `person` or `org`: a person never matches an organisation, vessel or aircraft.
    #[arg(long = "type", value_name = "person|org")]
    kind: Option<String>,
    /// ISO country code tied to the party; a match raises the score a little, a conflict lowers it.
    #[arg(long, value_name = "CC")]
    country: Option<String>,
    /// Year of birth (persons).
    #[arg(long, value_name = "YEAR")]
    birth_year: Option<u16>,
    /// Lowest score listed, 0 to 1; 0 lists every candidate.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f64,
    /// Most hits per name (0: no limit).
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    limit: usize,
    /// Output format for a single name (batch output is always JSON lines).
    #[arg(long, value_enum, default_value = "text")]
    format: super::Format,
    /// Screen every row of a CSV (header with a `name` column) or JSON Lines
    /// (`{"name": …}`) file, or `-` for JSON Lines on standard input; writes one
    /// JSON object per row to standard output, in input order.
    #[arg(long, value_name = "FILE")]
    batch: Option<PathBuf>,
    /// The store used when --lists is not given: a SQLite file or a `postgres://` URL.
    #[arg(long, default_value = DEFAULT_STORE, value_name = "PATH|URL")]
    store: PathBuf,
}

/// Runs `cordon screen`.
pub fn run(a: Args) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.threshold) {
        bail!("--threshold {} is outside 0 to 1", a.threshold);
    }
    let kind = a.kind.as_deref().map(parse_kind).transpose()?;
    let country = a.country.as_deref().map(parse_country).transpose()?;
    let source = ListsSource::resolve(a.lists.as_deref(), &a.store);
    let (screener, label) = load_screener(&source)?;
    if let Some(batch) = &a.batch {
        return batch_run(&screener, batch, &a, kind, country);
    }
    let name = a.name.as_deref().unwrap_or_default();
    let query = Query {
        name,
        kind,
        country,
        birth_year: a.birth_year,
        threshold: a.threshold,
        limit: a.limit,
    };
    let hits = screener.screen(&query);
    let views: Vec<_> = hits.iter().filter_map(|h| screener.view(h)).collect();
    match a.format {
        super::Format::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"query": name, "hits": views}))?
            );
        }
        _ => {
            println!(
                "screened `{name}` against {} names ({label}); threshold {}",
                screener.indexed_names(),
                a.threshold
            );
            if views.is_empty() {
                println!("no hit");
            }
            for v in &views {
                println!(
                    "{:.3}  {} {}  {} ({:?})",
                    v.score,
                    v.list.code(),
                    v.uid,
                    v.name,
                    v.kind
                );
                if v.matched_name != v.name {
                    println!(
                        "       matched {:?} `{}`",
                        v.matched_name_kind, v.matched_name
                    );
                }
                if !v.programs.is_empty() {
                    println!("       programs {}", v.programs.join(", "));
                }
                for t in &v.explanation.tokens {
                    println!(
                        "       {:<20} ~ {:<20} similarity {:.2} weight {:.2}",
                        t.query,
                        t.matched.as_deref().unwrap_or("(none)"),
                        t.similarity,
                        t.weight
                    );
                }
                for n in &v.explanation.notes {
                    println!("       note: {n}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_kind(s: &str) -> Result<PartyKind> {
    PartyKind::parse(s).with_context(|| format!("type `{s}` is neither `person` nor `org`"))
}

fn parse_country(s: &str) -> Result<CountryCode> {
    CountryCode::parse(s.trim())
        .with_context(|| format!("country `{s}` is not an ISO 3166-1 alpha-2 code"))
}

/// Where list entries come from.
pub enum ListsSource {
    /// A directory of list files, parsed on the spot.
    Dir(PathBuf),
    /// A store's active snapshot: a SQLite file, or a `postgres://` URL.
    Store(PathBuf),
}

impl ListsSource {
    /// `--lists` if given (a directory or a store file), else the store.
    pub fn resolve(lists: Option<&Path>, store: &Path) -> ListsSource {
        match lists {
            Some(p) if p.is_dir() => ListsSource::Dir(p.to_owned()),
            Some(p) => ListsSource::Store(p.to_owned()),
            None => ListsSource::Store(store.to_owned()),
        }
    }
}

/// Builds the screener, and a label saying where its entries came from.
pub fn load_screener(source: &ListsSource) -> Result<(Screener, String)> {
    match source {
        ListsSource::Dir(dir) => {
            let files = super::lists::read_paths(std::slice::from_ref(dir))?;
            let snapshot = super::lists::parse(&files, true)?;
            let label = format!(
                "`{}`, content sha256 {}",
                dir.display(),
                &snapshot.content_hash
            );
            Ok((Screener::new(snapshot.entries), label))
        }
        ListsSource::Store(path) => {
            if let Some(url) = path.to_str().filter(|p| cordon_store::is_postgres_url(p)) {
                return load_shared(url);
            }
            if !path.is_file() {
                bail!(
                    "no lists: `{}` does not exist; import lists with `cordon lists import data/sanctions` or pass --lists DIR",
                    path.display()
                );
            }
            let store = SqliteStore::open(path)
                .with_context(|| format!("cannot open the store `{}`", path.display()))?;
            let Some(active) = store.active_snapshot()? else {
                bail!(
                    "the store `{}` has no list snapshot; run `cordon lists import data/sanctions` or pass --lists DIR",
                    path.display()
                );
            };
            let entries = store.snapshot_entries(active.id)?;
            let label = format!("snapshot {} in `{}`", active.id.0, path.display());
            Ok((Screener::new(entries), label))
        }
    }
}

/// The screener over the active snapshot of the PostgreSQL store at `url`.
fn load_shared(url: &str) -> Result<(Screener, String)> {
    let store = cordon_store::PostgresStore::connect(url)?;
    let Some(active) = store.active_snapshot()? else {
        bail!(
            "the store `{}` has no list snapshot; run `cordon lists import data/sanctions --store URL` or pass --lists DIR",
            store.target()
        );
    };
    let entries = store.snapshot_entries(active.id)?;
    let label = format!("snapshot {} in `{}`", active.id.0, store.target());
    Ok((Screener::new(entries), label))
}

/// The store's re-screening over the matcher, at the default threshold.
pub use cordon_store::screening::MatcherScreener as StoreScreener;

/// One batch row, parsed.
struct Row {
    name: String,
    kind: Option<PartyKind>,
    country: Option<CountryCode>,
    birth_year: Option<u16>,
}

fn batch_run(
    screener: &Screener,
    path: &Path,
    a: &Args,
    default_kind: Option<PartyKind>,
    default_country: Option<CountryCode>,
) -> Result<ExitCode> {
    let rows = read_batch(path)?;
    let bar = super::lists::progress(rows.len() as u64, "screening")?;
    // Rows are screened in parallel chunks and written in input order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = rows.len().div_ceil(threads).max(1);
    let mut outputs: Vec<Vec<String>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| {
                let bar = bar.clone();
                s.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for (i, row) in part.iter().enumerate() {
                        out.push(screen_row(screener, row, a, default_kind, default_country));
                        if i % 256 == 255 {
                            bar.inc(256);
                        }
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            outputs.push(h.join().unwrap_or_default());
        }
    });
    bar.finish_and_clear();
    let mut bad = 0usize;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in outputs.iter().flatten() {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    for r in &rows {
        if let Err(e) = r {
            bad += 1;
            eprintln!("warning: {e}");
        }
    }
    eprintln!("screened {} rows ({bad} unreadable)", rows.len());
    Ok(ExitCode::SUCCESS)
}

fn screen_row(
    screener: &Screener,
    row: &Result<Row, String>,
    a: &Args,
    default_kind: Option<PartyKind>,
    default_country: Option<CountryCode>,
) -> String {
    match row {
        Ok(row) => {
            let query = Query {
                name: &row.name,
                kind: row.kind.or(default_kind),
                country: row.country.or(default_country),
                birth_year: row.birth_year.or(a.birth_year),
                threshold: a.threshold,
                limit: a.limit,
            };
            let hits = screener.screen(&query);
            let views: Vec<_> = hits.iter().filter_map(|h| screener.view(h)).collect();
            json!({"query": row.name, "hits": views}).to_string()
        }
        Err(e) => json!({"query": Value::Null, "hits": [], "error": e}).to_string(),
    }
}

/// Reads batch rows; a bad row becomes an error naming its line, and the rest are kept.
fn read_batch(path: &Path) -> Result<Vec<Result<Row, String>>> {
    let name = path.display().to_string();
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .with_context(|| format!("cannot read `{name}`"))?;
        let headers = rdr
            .headers()
            .with_context(|| format!("`{name}`: cannot read the header row"))?
            .clone();
        let col = |n: &str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(n))
        };
        let Some(name_col) = col("name") else {
            bail!("`{name}`: the header row has no `name` column");
        };
        let kind_col = col("type").or_else(|| col("kind"));
        let country_col = col("country");
        let year_col = col("birth_year");
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            rows.push(match rec {
                Err(e) => Err(format!("{name}:{line}: {e}")),
                Ok(rec) => {
                    let get = |c: Option<usize>| {
                        c.and_then(|c| rec.get(c))
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                    };
                    row_from(
                        get(Some(name_col)),
                        get(kind_col),
                        get(country_col),
                        get(year_col),
                    )
                    .map_err(|e| format!("{name}:{line}: {e}"))
                }
            });
        }
        return Ok(rows);
    }
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open `{name}`"))?,
        ))
    };
    let mut rows = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let line_no = i + 1;
        let bytes = line.with_context(|| format!("cannot read `{name}`"))?;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            rows.push(Err(format!("{name}:{line_no}: not valid UTF-8")));
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        rows.push(match serde_json::from_str::<Value>(text) {
            Err(e) => Err(format!("{name}:{line_no}: not JSON: {e}")),
            Ok(Value::Object(m)) => {
                let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::trim);
                let year = m.get("birth_year").map(|v| match v {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                row_from(
                    s("name"),
                    s("type").or_else(|| s("kind")).filter(|k| !k.is_empty()),
                    s("country").filter(|c| !c.is_empty()),
                    year.as_deref(),
                )
                .map_err(|e| format!("{name}:{line_no}: {e}"))
            }
            Ok(_) => Err(format!("{name}:{line_no}: not a JSON object")),
        });
    }
    Ok(rows)
}

fn row_from(
    name: Option<&str>,
    kind: Option<&str>,
    country: Option<&str>,
    year: Option<&str>,
) -> Result<Row, String> {
    let Some(name) = name else {
        return Err("field `name`: missing or not a string".into());
    };
    let kind = kind
        .map(parse_kind)
        .transpose()
        .map_err(|e| format!("field `type`: {e}"))?;
    let country = country
        .map(parse_country)
        .transpose()
        .map_err(|e| format!("field `country`: {e}"))?;
    let birth_year = year
        .map(|y| {
            y.trim()
                .parse::<u16>()
                .map_err(|_| format!("field `birth_year`: `{y}` is not a year"))
        })
        .transpose()?;
    Ok(Row {
        name: name.to_owned(),
        kind,
        country,
        birth_year,
    })
}
