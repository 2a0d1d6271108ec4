//! `cordon directives publish`: one policy version for a fleet. The set is
//! checked, stored in the shared store as a content-addressed bundle signed
//! by its publisher, and made the fleet's active version; every node loads
//! it within a second and reports it (`cordon fleet status`).
//!
//! `cordon directives keygen` makes the publisher's key pair; nodes trust
//! the public half in `fleet.publisher_keys`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use cordon_audit::SigningKey;
use cordon_fleet::{Bundle, BundleFile};
use cordon_source::SourceFile;
use cordon_store::PostgresStore;
use serde_json::json;

use super::set_mode::{check, read_set};
use crate::data_dir;
use crate::inputs::{self, World};

/// Arguments of `cordon directives publish`.
#[derive(clap::Args)]
pub struct Args {
    /// The directive directory to publish.
    dir: PathBuf,
    /// The model catalog published with it (default: `catalog.toml`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// The shared store (`postgres://…`) the fleet's nodes use.
    #[arg(long, value_name = "URL")]
    store: String,
    /// The publisher's private key (`cordon directives keygen`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Who publishes, as the change journal names them.
    #[arg(long, value_name = "NAME")]
    actor: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `cordon directives keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key; the public key goes beside it, with `.pub` added.
    file: PathBuf,
    /// The key's name, shown in signatures and in messages of nodes that do
    /// not trust it (conventionally who publishes, as a host name and path).
    #[arg(long, default_value = "policy.cordon.localhost/publisher")]
    name: String,
}

/// Runs `cordon directives publish`.
pub fn run(a: Args) -> Result<ExitCode> {
    if !cordon_store::is_postgres_url(&a.store) {
        bail!(
            "--store `{}` is not a shared store: publishing is for nodes on PostgreSQL (`postgres://…`); a single node reads its directive files",
            a.store
        );
    }
    if !a.dir.is_dir() {
        bail!(
            "the directive directory `{}` does not exist",
            a.dir.display()
        );
    }
    let catalog_path = a
        .catalog
        .clone()
        .unwrap_or_else(|| PathBuf::from(inputs::DEFAULT_CATALOG));
    let key = data_dir::load_signing_key(&a.key)?;
    let world = World::load()?;
    let files = read_set(&a.dir)?;
    let policy = check(&files, Some(&catalog_path), &world).map_err(|e| {
        anyhow!(
            "the directive set `{}` is invalid, so it was not published:\n{e}",
            a.dir.display()
        )
    })?;
    let catalog = SourceFile::read(&catalog_path)
        .with_context(|| format!("cannot read the catalog `{}`", catalog_path.display()))?;
    let bundle = Bundle::new(
        policy.version(),
        files.iter().map(bundle_file).collect(),
        bundle_file(&catalog),
    );
    let signed = bundle.sign(&key)?;
    let store = PostgresStore::connect(&a.store)
        .context("cannot open the shared store")?
        .with_actor(a.actor.as_deref().unwrap_or("cordon directives publish"));
    let published = store
        .publish_bundle(
            &signed.id,
            policy.version(),
            &signed.content,
            &signed.signature,
        )
        .context("cannot publish the bundle")?;
    if a.json {
        println!(
            "{}",
            json!({
                "bundle": signed.id,
                "policy_version": policy.version(),
                "directives": policy.directives().len(),
                "changed": published.changed,
                "previous": published.previous,
                "signed_by": key.verifier().to_text(),
            })
        );
    } else if published.changed {
        println!(
            "published {} (policy version {}, {} directives) as the fleet's active version; before it: {}",
            signed.id,
            policy.version(),
            policy.directives().len(),
            published.previous.as_deref().unwrap_or("none")
        );
    } else {
        println!(
            "{} (policy version {}) is already the fleet's active version; nothing changed",
            signed.id,
            policy.version()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cordon directives keygen`.
pub fn keygen(a: KeygenArgs) -> Result<ExitCode> {
    if a.file.exists() {
        bail!(
            "`{}` exists; a publisher key is not replaced (nodes trust its public half): choose another file",
            a.file.display()
        );
    }
    let key = SigningKey::generate(&a.name)
        .with_context(|| format!("`{}` is not a usable key name", a.name))?;
    let public = public_path(&a.file);
    data_dir::write_atomic(&a.file, format!("{}\n", key.to_text()).as_bytes(), 0o600)?;
    data_dir::write_atomic(
        &public,
        format!("{}\n", key.verifier().to_text()).as_bytes(),
        0o644,
    )?;
    println!("{}", key.verifier().to_text());
    eprintln!(
        "wrote the private key to `{}` (readable by its owner only) and the public key above to `{}`; add the public key to every node's `fleet.publisher_keys`",
        a.file.display(),
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// A file as a bundle holds it: its name without the directory.
fn bundle_file(f: &SourceFile) -> BundleFile {
    let name = Path::new(f.name())
        .file_name()
        .map_or_else(|| f.name().to_owned(), |n| n.to_string_lossy().into_owned());
    BundleFile {
        name,
        text: f.text().to_owned(),
    }
}
