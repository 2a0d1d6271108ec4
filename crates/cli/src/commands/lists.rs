//! `cordon lists`: restricted-party list snapshots, updates and reviews.

mod download;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use cordon_screening::lists::ListFile;
use cordon_screening::screener::Screener;
use cordon_screening::snapshot::{self, Snapshot};
use cordon_store::screening::{RescreenReport, ReviewDecision, ScreeningStore, rescreen};
use cordon_store::{PostgresStore, is_postgres_url};
use cordon_subject::RestrictedList;

use super::accounts::{DEFAULT_STORE, open_store};
use super::screen::{ListsSource, StoreScreener, load_screener};

/// Arguments of `cordon lists`.
#[derive(clap::Args)]
pub struct Args {
    /// The identity store, which also keeps list snapshots and reviews: a
    /// SQLite file, or a `postgres://` URL.
    #[arg(long, global = true, default_value = DEFAULT_STORE, value_name = "PATH|URL")]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Import list files (files or directories) as a new snapshot and re-screen every account.
    Import {
        /// OFAC CSV files (sdn.csv, alt.csv, add.csv, sdn_comments.csv, cons_*.csv),
        /// trade.gov consolidated.csv, BIS dpl.txt, or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The lists' publication date (YYYY-MM-DD), recorded with the snapshot.
        #[arg(long, value_name = "DATE")]
        published: Option<String>,
        /// Exit 1 if any row was rejected (the good rows are imported either way).
        #[arg(long)]
        strict: bool,
        /// Let these files replace the active snapshot even though they do
        /// not hold every list it has (those lists are dropped).
        #[arg(long)]
        replace: bool,
    },
    /// Download the current files from their publication addresses, import them and re-screen.
    Update {
        /// Fetch every file from this base address instead (e.g. a mirror): BASE/sdn.csv, …
        #[arg(long, value_name = "URL")]
        base: Option<String>,
        /// Override one file's address, `FILE=URL`; `FILE=-` skips that file (repeatable).
        #[arg(long = "source", value_name = "FILE=URL")]
        sources: Vec<String>,
        /// Where the downloads are kept (default: `lists/<time>` beside the store).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The lists' publication date (YYYY-MM-DD); default today.
        #[arg(long, value_name = "DATE")]
        published: Option<String>,
    },
    /// Show the active snapshot: content hash, publication date, entries per list, sources.
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: super::Format,
        /// List every snapshot, newest first.
        #[arg(long)]
        history: bool,
    },
    /// Print every indexed name as JSON lines (`list`, `uid`, `kind`, `name`, `name_kind`).
    Names {
        /// A directory of list files, or a store file (default: the store's active snapshot).
        #[arg(long, value_name = "DIR_OR_DB")]
        lists: Option<PathBuf>,
    },
    /// Record a reviewer's decision on an account's hit: cleared (false positive) or confirmed.
    Review {
        /// The account id.
        account: String,
        /// The list code, e.g. SDN.
        #[arg(long)]
        list: String,
        /// The list's entry id, e.g. the SDN ent_num.
        #[arg(long, value_name = "UID")]
        entry: String,
        /// `cleared` or `confirmed`.
        #[arg(long)]
        decision: String,
        /// Who decided.
        #[arg(long)]
        reviewer: String,
        /// Why.
        #[arg(long)]
        note: Option<String>,
    },
    /// Show hits: one account's, or every hit pending review.
    Hits {
        /// The account id (default: every pending hit).
        account: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: super::Format,
    },
}

/// Runs `cordon lists`.
pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Command::Import {
            paths,
            published,
            strict,
            replace,
        } => {
            let store = open_lists_store(&a.store)?;
            let published = parse_date(published.as_deref())?;
            let files = read_paths(&paths)?;
            let problems = import(&*store, &files, published, Dropping::from_flag(replace))?;
            Ok(if strict && problems > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Update {
            base,
            sources,
            dir,
            published,
        } => {
            let store = open_lists_store(&a.store)?;
            let sources = download::sources(base.as_deref(), &sources)?;
            let now = crate::clock::now();
            let dir = dir.unwrap_or_else(|| {
                let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
                // A PostgreSQL store has no directory of its own to keep them beside.
                let beside = if a.store.to_str().is_some_and(is_postgres_url) {
                    Path::new(".")
                } else {
                    a.store.parent().unwrap_or(Path::new("."))
                };
                beside.join("lists").join(stamp)
            });
            let bar = progress(sources.len() as u64, "downloading {msg}")?;
            let written = download::fetch_all(&sources, &dir, &bar)?;
            bar.finish_and_clear();
            eprintln!(
                "downloaded {} files into `{}`",
                written.len(),
                dir.display()
            );
            let published = match parse_date(published.as_deref())? {
                Some(d) => d,
                None => jiff::tz::Offset::UTC.to_datetime(now).date(),
            };
            let files = read_paths(&written)?;
            import(&*store, &files, Some(published), Dropping::Refused)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { format, history } => {
            let store = open_lists_store(&a.store)?;
            let snapshots = if history {
                store.snapshots()?
            } else {
                store.active_snapshot()?.into_iter().collect()
            };
            if snapshots.is_empty() {
                bail!(
                    "the store `{}` has no list snapshot yet; run `cordon lists import data/sanctions` or `cordon lists update`",
                    a.store.display()
                );
            }
            match format {
                super::Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&snapshots)?);
                }
                _ => {
                    for s in &snapshots {
                        println!(
                            "snapshot {}{}: {} entries, imported {}, published {}",
                            s.id.0,
                            if s.active { " (active)" } else { "" },
                            s.counts.values().sum::<u64>(),
                            s.imported_at,
                            s.published
                                .map_or_else(|| "unknown".to_owned(), |d| d.to_string()),
                        );
                        println!("  content sha256 {}", s.hash);
                        for (list, n) in &s.counts {
                            println!("  {:<5} {n:>6}  {}", list.code(), list_title(*list));
                        }
                        if s.problems > 0 {
                            println!("  {} rows were rejected at import", s.problems);
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Names { lists } => {
            let source = ListsSource::resolve(lists.as_deref(), &a.store);
            let (screener, _) = load_screener(&source)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for e in screener.entries() {
                for n in &e.names {
                    let line = serde_json::json!({
                        "list": e.list,
                        "uid": e.uid,
                        "kind": e.kind,
                        "name": n.text,
                        "name_kind": n.kind,
                    });
                    std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
                }
            }
            std::io::Write::flush(&mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Review {
            account,
            list,
            entry,
            decision,
            reviewer,
            note,
        } => {
            let store = open_lists_store(&a.store)?;
            let list = RestrictedList::parse(&list).with_context(|| {
                format!("--list `{list}` is not a list code (SDN, EL, DPL, UVL, MEU, ISN, DTC, CAP, CMIC, SSI, FSE, PLC, MBS)")
            })?;
            let decision = ReviewDecision::parse(&decision).with_context(|| {
                format!("--decision `{decision}` must be `cleared` or `confirmed`")
            })?;
            let d = store.set_disposition(
                &account,
                list,
                &entry,
                decision,
                &reviewer,
                note.as_deref(),
                crate::clock::now(),
            )?;
            println!(
                "recorded: account `{}` {} {} is {} (by {}, against entry version {})",
                d.account,
                d.list,
                d.uid,
                d.decision.as_str(),
                d.reviewer,
                short(&d.entry_version)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Hits { account, format } => {
            let store = open_lists_store(&a.store)?;
            let hits = match &account {
                Some(id) => store.hits(id)?,
                None => store.pending_hits()?,
            };
            match format {
                super::Format::Json => println!("{}", serde_json::to_string_pretty(&hits)?),
                _ => {
                    if hits.is_empty() {
                        println!("no hits");
                    }
                    for h in &hits {
                        println!(
                            "{:<24} {:<5} {:<10} {:<9} {:.3}  {}",
                            h.account,
                            h.list.code(),
                            h.uid,
                            format!("{:?}", h.status).to_lowercase(),
                            h.score,
                            h.entry_name
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens the store `--store` names: a SQLite file (created with its
/// directory if missing) or a PostgreSQL store, whose schema must be
/// migrated (`cordon store migrate`).
pub fn open_lists_store(location: &Path) -> Result<Box<dyn ScreeningStore>> {
    if let Some(url) = location.to_str().filter(|l| is_postgres_url(l)) {
        let store = PostgresStore::connect(url)?.with_clock(crate::clock::now);
        return Ok(Box::new(store));
    }
    Ok(Box::new(open_store(location)?))
}

/// A list file read into memory.
pub struct ReadFile {
    /// The path, for messages.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Reads files and the list files directly inside directories.
///
/// Inside a directory only names a list reader knows are taken, so provenance
/// notes and sub-directories (an older vintage) are left alone.
pub fn read_paths(paths: &[PathBuf]) -> Result<Vec<ReadFile>> {
    let mut found = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read the directory `{}`", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_list_file_name(f))
                .collect();
            names.sort();
            if names.is_empty() {
                bail!(
                    "the directory `{}` holds no list files (sdn.csv, alt.csv, add.csv, sdn_comments.csv, cons_*.csv, consolidated.csv, csl.csv, dpl.txt)",
                    p.display()
                );
            }
            found.extend(names);
        } else {
            found.push(p.clone());
        }
    }
    let total: u64 = found
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let bar = progress_bar(
        total,
        "{spinner} reading {msg} [{bar:30}] {bytes}/{total_bytes}",
    )?;
    let mut files = Vec::with_capacity(found.len());
    for f in &found {
        bar.set_message(f.display().to_string());
        let file = read_one(f)?;
        bar.inc(file.bytes.len() as u64);
        files.push(file);
    }
    bar.finish_and_clear();
    Ok(files)
}

fn read_one(p: &Path) -> Result<ReadFile> {
    let bytes = std::fs::read(p).with_context(|| format!("cannot read `{}`", p.display()))?;
    Ok(ReadFile {
        name: p.display().to_string(),
        bytes,
    })
}

fn is_list_file_name(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "sdn.csv" | "alt.csv" | "add.csv" | "consolidated.csv" | "csl.csv" | "dpl.txt"
    ) || name.ends_with("comments.csv")
        || (name.starts_with("cons_") && name.ends_with(".csv"))
}

/// Parses files into a snapshot, printing every rejected row to stderr
/// (or, when `summary_only`, just how many there were).
pub fn parse(files: &[ReadFile], summary_only: bool) -> Result<Snapshot> {
    let list_files: Vec<ListFile<'_>> = files
        .iter()
        .map(|f| ListFile {
            name: &f.name,
            bytes: &f.bytes,
        })
        .collect();
    let snapshot = snapshot::import(&list_files)?;
    if summary_only {
        if !snapshot.problems.is_empty() {
            eprintln!(
                "note: {} list rows were rejected (`cordon lists import` lists them)",
                snapshot.problems.len()
            );
        }
    } else {
        for p in &snapshot.problems {
            eprintln!("warning: {p}");
        }
    }
    Ok(snapshot)
}

/// Whether an import may drop lists the active snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dropping {
    /// No: an import that lacks one of them is refused before anything changes.
    Refused,
    /// Yes (`--replace`): the files are the whole new snapshot.
    Allowed,
}

impl Dropping {
    fn from_flag(replace: bool) -> Dropping {
        if replace {
            Dropping::Allowed
        } else {
            Dropping::Refused
        }
    }
}

/// The lists the active snapshot holds that `snapshot` does not.
fn dropped_lists(
    store: &dyn ScreeningStore,
    snapshot: &Snapshot,
) -> Result<Vec<(RestrictedList, u64)>> {
    let Some(active) = store.active_snapshot()? else {
        return Ok(Vec::new());
    };
    Ok(active
        .counts
        .iter()
        .filter(|(l, n)| **n > 0 && !snapshot.counts.contains_key(*l))
        .map(|(l, n)| (*l, *n))
        .collect())
}

/// Imports files as the active snapshot and re-screens every account; returns the rejected-row count.
///
/// A snapshot is the whole of what accounts are screened against, so files
/// that lack a list the active snapshot holds would drop it, and with it
/// every hit on it: that is refused unless `dropping` allows it.
fn import(
    store: &dyn ScreeningStore,
    files: &[ReadFile],
    published: Option<jiff::civil::Date>,
    dropping: Dropping,
) -> Result<usize> {
    let started = std::time::Instant::now();
    let snapshot = parse(files, false)?;
    let problems = snapshot.problems.len();
    let dropped = dropped_lists(store, &snapshot)?;
    if !dropped.is_empty() {
        let named: Vec<String> = dropped
            .iter()
            .map(|(l, n)| format!("{} ({n} entries)", l.code()))
            .collect();
        if dropping == Dropping::Refused {
            bail!(
                "these files do not hold every list of the active snapshot: importing them alone would drop {}; import them with the other list files, or pass --replace to drop those lists",
                named.join(", ")
            );
        }
        eprintln!("warning: --replace: dropping {}", named.join(", "));
    }
    let saved = store.save_snapshot(&snapshot, published, crate::clock::now())?;
    let counts: Vec<String> = snapshot
        .counts
        .iter()
        .map(|(l, n)| format!("{} {n}", l.code()))
        .collect();
    println!(
        "snapshot {}{}: {} entries ({}), {} rows rejected, content sha256 {}",
        saved.id.0,
        if saved.unchanged {
            " (unchanged: same content as the active snapshot)"
        } else {
            ""
        },
        snapshot.entries.len(),
        counts.join(", "),
        problems,
        short(&snapshot.content_hash),
    );
    let spinner = indicatif::ProgressBar::new_spinner()
        .with_message("indexing the lists and re-screening every account");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let screener = Screener::new(snapshot.entries);
    let report = rescreen(store, &StoreScreener::new(&screener), crate::clock::now())?;
    spinner.finish_and_clear();
    let dropped: Vec<RestrictedList> = dropped.iter().map(|(l, _)| *l).collect();
    print_report(&report, &dropped);
    eprintln!("done in {:.2} s", started.elapsed().as_secs_f64());
    Ok(problems)
}

/// Prints a re-screening; a hit removed because its list was dropped
/// (`dropped`) is said to be so, not reported as a delisting.
fn print_report(r: &RescreenReport, dropped: &[RestrictedList]) {
    println!(
        "re-screened {} accounts ({} names): {} new hits, {} removed, {} status changes, {} accounts changed",
        r.accounts,
        r.names,
        r.new_hits.len(),
        r.removed_hits.len(),
        r.status_changes.len(),
        r.accounts_changed
    );
    for h in &r.new_hits {
        println!(
            "  new      {:<24} {:<5} {:<10} {:.3} {}",
            h.account,
            h.list.code(),
            h.uid,
            h.score,
            h.name
        );
    }
    for h in &r.removed_hits {
        let why = if dropped.contains(&h.list) {
            "  (its list was dropped, not re-read)"
        } else {
            ""
        };
        println!(
            "  removed  {:<24} {:<5} {:<10} {:.3} {}{why}",
            h.account,
            h.list.code(),
            h.uid,
            h.score,
            h.name
        );
    }
    for c in &r.status_changes {
        println!(
            "  status   {:<24} {:<5} {:<10} {:?} -> {:?}{}",
            c.hit.account,
            c.hit.list.code(),
            c.hit.uid,
            c.from,
            c.hit.status,
            if c.entry_changed {
                " (the list entry changed; review again)"
            } else {
                ""
            }
        );
    }
    for cycle in &r.ownership_cycles {
        println!("  warning: ownership cycle {}", cycle.join(" -> "));
    }
    for u in &r.unknown_owners {
        println!(
            "  warning: account `{}` owner {} names account `{}`, which does not exist",
            u.account, u.owner, u.owner_account
        );
    }
}

fn parse_date(s: Option<&str>) -> Result<Option<jiff::civil::Date>> {
    s.map(|s| {
        s.parse::<jiff::civil::Date>()
            .with_context(|| format!("--published `{s}` is not a date (YYYY-MM-DD)"))
    })
    .transpose()
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}

/// A progress bar on stderr.
pub fn progress(len: u64, label: &str) -> Result<indicatif::ProgressBar> {
    progress_bar(
        len,
        &format!("{{spinner}} {label} [{{bar:30}}] {{pos}}/{{len}}"),
    )
}

/// A progress bar on stderr drawn with an indicatif `template`.
fn progress_bar(len: u64, template: &str) -> Result<indicatif::ProgressBar> {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(indicatif::ProgressStyle::with_template(template)?.progress_chars("=> "));
    Ok(bar)
}

fn list_title(l: RestrictedList) -> &'static str {
    match l {
        RestrictedList::Sdn => "OFAC Specially Designated Nationals",
        RestrictedList::El => "BIS Entity List",
        RestrictedList::Dpl => "BIS Denied Persons List",
        RestrictedList::Uvl => "BIS Unverified List",
        RestrictedList::Meu => "BIS Military End User List",
        RestrictedList::Isn => "State Nonproliferation Sanctions",
        RestrictedList::Dtc => "State ITAR Debarred",
        RestrictedList::Cap => "OFAC CAPTA List",
        RestrictedList::Cmic => "OFAC Chinese Military-Industrial Complex",
        RestrictedList::Ssi => "OFAC Sectoral Sanctions Identifications",
        RestrictedList::Fse => "OFAC Foreign Sanctions Evaders",
        RestrictedList::Plc => "OFAC Palestinian Legislative Council",
        RestrictedList::Mbs => "OFAC Non-SDN Menu-Based Sanctions",
    }
}
