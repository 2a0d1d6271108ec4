//! `cordon accounts generate`: a synthetic customer base, for simulations and load tests.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use cordon_population::{Generator, GeneratorOptions, Population};
use cordon_store::{ImportFormat, ImportOptions};
use serde_json::Value;

/// Accounts stored per transaction unless `--batch` says otherwise.
const DEFAULT_BATCH: u64 = 10_000;

/// Errors listed one by one before the rest are only counted.
const ERRORS_SHOWN: usize = 10;

/// Arguments of `cordon accounts generate`.
#[derive(clap::Args)]
pub struct Args {
    /// How many accounts to generate; their ids run from acct-000000001.
    #[arg(long, value_name = "N")]
    count: u64,
    /// The seed: the same count and seed always give the same accounts.
    #[arg(long, value_name = "S")]
    seed: u64,
    /// Draw citizenships from this table instead of world population shares: a
    /// CSV with the header `iso,name,population,continent` (as
    /// `data/population/countries.csv`), e.g. a customer base's countries.
    #[arg(long, value_name = "FILE.csv")]
    population: Option<PathBuf>,
    /// Write JSON Lines to this file (replaced only once complete) instead of standard output.
    #[arg(long, value_name = "FILE.jsonl")]
    out: Option<PathBuf>,
    /// With --store: replace the subject of accounts that already exist instead of reporting them.
    #[arg(long)]
    upsert: bool,
    /// With --store: accounts stored per transaction (default 10000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    batch: Option<u64>,
}

/// Runs `cordon accounts generate`; `store` is the `--store` given to `cordon accounts`, if any.
pub fn run(a: Args, store: Option<&Path>) -> Result<ExitCode> {
    if a.count == 0 {
        bail!("--count 0: nothing to generate; give a count of at least 1");
    }
    if store.is_none() && (a.upsert || a.batch.is_some()) {
        bail!(
            "--upsert and --batch apply to a store: give `cordon accounts --store DB generate …`"
        );
    }
    let own;
    let population = match &a.population {
        None => Population::embedded()?,
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read --population `{}`", file.display()))?;
            let j = cordon_jurisdiction::Jurisdictions::embedded()?;
            own = Population::parse(&file.display().to_string(), &text, j)?;
            &own
        }
    };
    let generator = Generator::new(population, GeneratorOptions::new(a.count, a.seed))?;
    match (store, &a.out) {
        (Some(_), Some(_)) => {
            bail!("--store and --out both given: generate into a store or into a file, not both")
        }
        (Some(db), None) => into_store(generator, db, &a),
        (None, Some(file)) => into_file(generator, file),
        (None, None) => {
            let stdout = std::io::stdout();
            match write_all(generator, &mut BufWriter::new(stdout.lock())) {
                // A reader that stops early (`| head`) is not an error.
                Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
                other => {
                    other.context("cannot write to standard output")?;
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}

/// The directory an output file lives in, which must exist: a typo should
/// not create a tree for a file the user is about to look for.
fn existing_dir(path: &Path, flag: &str) -> Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!(
            "{flag} `{}`: the directory `{}` does not exist; create it first",
            path.display(),
            dir.display()
        );
    }
    Ok(dir.to_owned())
}

/// One JSON Lines row: the subject record with its `id`.
fn line(buf: &mut Vec<u8>, id: String, mut record: Value) -> std::io::Result<()> {
    if let Value::Object(m) = &mut record {
        m.insert("id".into(), Value::String(id));
    }
    serde_json::to_writer(&mut *buf, &record)?;
    buf.push(b'\n');
    Ok(())
}

fn write_all(generator: Generator<'_>, out: &mut impl Write) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    for (id, record) in generator {
        buf.clear();
        line(&mut buf, id, record)?;
        out.write_all(&buf)?;
    }
    out.flush()
}

fn into_file(generator: Generator<'_>, file: &Path) -> Result<ExitCode> {
    let dir = existing_dir(file, "--out")?;
    let name = file
        .file_name()
        .with_context(|| format!("--out `{}` names no file", file.display()))?;
    // Written beside the target and renamed over it, so the file is never half-written.
    let mut partial = name.to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    let tmp = dir.join(partial);
    let count = generator.options().count;
    // Synced before the rename, so a crash cannot leave the new name on
    // a file whose data never reached the disk.
    let written = File::create(&tmp)
        .and_then(|f| {
            let mut out = BufWriter::new(f);
            write_all(generator, &mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, file));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", file.display()));
    }
    println!("wrote {count} account(s) to `{}`", file.display());
    Ok(ExitCode::SUCCESS)
}

/// Feeds generated records to the store's import as JSON Lines, one record at a time.
struct JsonlSource<'p> {
    generator: Generator<'p>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for JsonlSource<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            match self.generator.next() {
                Some((id, record)) => line(&mut self.buf, id, record)?,
                None => return Ok(0),
            }
        }
        let n = self.buf.get(self.pos..).unwrap_or_default().read(out)?;
        self.pos += n;
        Ok(n)
    }
}

fn into_store(generator: Generator<'_>, db: &Path, a: &Args) -> Result<ExitCode> {
    // As every `accounts` command: the store and its directory are made on
    // first use.
    let store =
        crate::commands::identity::open(db, crate::commands::identity::Missing::Create, None)?;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(a.count),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} generating [{bar:40}] {pos}/{len} accounts ({eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut source = JsonlSource {
        generator,
        buf: Vec::with_capacity(512),
        pos: 0,
    };
    let options = ImportOptions {
        batch: usize::try_from(a.batch.unwrap_or(DEFAULT_BATCH)).unwrap_or(usize::MAX),
        upsert: a.upsert,
    };
    let report = store.import(&mut source, ImportFormat::Jsonl, options, &mut |lines| {
        bar.set_position(lines);
    });
    bar.finish_and_clear();
    let report = report.with_context(|| format!("generating into `{}` stopped", db.display()))?;
    for e in report.errors.iter().take(ERRORS_SHOWN) {
        eprintln!("record {}: {}", e.line, e.message);
    }
    println!(
        "generated {} account(s) with seed {}: {} new and {} updated in `{}`",
        a.count,
        a.seed,
        report.imported,
        report.updated,
        db.display()
    );
    if report.errors.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let hidden = report.errors.len().saturating_sub(ERRORS_SHOWN);
    if hidden > 0 {
        eprintln!("… and {hidden} more");
    }
    eprintln!(
        "{} account(s) not stored{}",
        report.errors.len(),
        if a.upsert {
            ""
        } else {
            "; to replace accounts that already exist, run again with --upsert"
        }
    );
    Ok(ExitCode::FAILURE)
}
