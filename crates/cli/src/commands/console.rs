//! `cordon console`: the compliance console, and its local users.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use cordon_console::{Console, Records, Role, Users};
use cordon_store::{PostgresStore, is_postgres_url};

use crate::data_dir::{DataDir, DataDirArg};
use crate::inputs::{self, World};

/// The users file's name in the data directory.
pub const USERS_FILE: &str = "console-users.jsonl";

/// Arguments of `cordon console`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The identity store: a SQLite file (default: the data directory's) or `postgres://…`.
    #[arg(long, value_name = "STORE")]
    store: Option<PathBuf>,
    /// The directive directory shown (default: `directives/`).
    #[arg(long, value_name = "DIR")]
    directives: Option<PathBuf>,
    /// The model catalog (default: `catalog.toml`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// The audit log shown (default: the data directory's, when it has one).
    #[arg(long, value_name = "DIR")]
    audit_log: Option<PathBuf>,
    /// OpenID Connect login: a TOML file naming the provider, the client and
    /// the role mapping (docs/console.md, "Logging in with OpenID Connect").
    #[arg(long, value_name = "FILE")]
    oidc: Option<PathBuf>,
    /// The fleet publisher's private key (`cordon directives keygen`): an
    /// approved change is then published to the fleet's shared store
    /// (`--store postgres://…`) as a signed bundle, as `cordon directives
    /// publish` does, instead of only changing this node's files.
    #[arg(long, value_name = "FILE")]
    publisher_key: Option<PathBuf>,
    #[command(flatten)]
    data_dir: DataDirArg,
}

#[derive(clap::Subcommand)]
enum Command {
    /// The console's local users.
    Admin(AdminArgs),
}

#[derive(clap::Args)]
struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(clap::Subcommand)]
enum AdminCommand {
    /// Adds a local user; the password is read from the first line of standard input.
    Add {
        /// The login name.
        name: String,
        /// viewer, reviewer, officer, auditor or admin.
        #[arg(long, default_value = "admin")]
        role: String,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
}

/// Runs `cordon console`.
pub fn run(a: Args) -> Result<ExitCode> {
    if let Some(Command::Admin(AdminArgs {
        command:
            AdminCommand::Add {
                name,
                role,
                data_dir,
            },
    })) = a.command
    {
        return add_user(&data_dir.resolve(), &name, &role);
    }
    let _log = crate::commands::serve::init_logging(crate::commands::serve::LogFormat::Text);
    let data = a.data_dir.resolve();
    // With OpenID Connect, people may log in without any local user.
    let users = if a.oidc.is_some() {
        Users::at(data.root().join(USERS_FILE))
    } else {
        users(&data)?
    };
    let store = a.store.clone().unwrap_or_else(|| data.identity_store());
    let audit_log = a
        .audit_log
        .clone()
        .or_else(|| Some(data.audit_log()).filter(|d| d.is_dir()));
    let console = open(Setup {
        data: &data,
        users,
        store: &store,
        directives: a
            .directives
            .clone()
            .unwrap_or_else(|| PathBuf::from(inputs::DEFAULT_DIRECTIVES)),
        catalog: a
            .catalog
            .clone()
            .unwrap_or_else(|| PathBuf::from(inputs::DEFAULT_CATALOG)),
        audit_log,
        audit_key: None,
        oidc: a.oidc.as_deref(),
        publisher_key: a.publisher_key.as_deref(),
    })?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        println!(
            "Cordon console on http://{}/console/",
            listener.local_addr()?
        );
        cordon_console::serve(listener, console, crate::commands::serve::shutdown_signal())
            .await
            .context("the console server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The data directory's console users, refused when there are none: a
/// console nobody can log in to is a mistake, not a configuration.
pub fn users(data: &DataDir) -> Result<Users> {
    let users = Users::at(data.root().join(USERS_FILE));
    if users.load()?.is_empty() {
        bail!(
            "no console users in `{}`: add the first administrator with `cordon console admin add NAME` (the password is read from standard input)",
            users.path().display()
        );
    }
    Ok(users)
}

/// What a console is opened on, by `cordon console` or on a path of
/// `cordon serve`.
pub struct Setup<'a> {
    /// The data directory: proposals and the audit log's public key.
    pub data: &'a DataDir,
    /// Who may log in.
    pub users: Users,
    /// The identity store: a SQLite file or `postgres://…`.
    pub store: &'a Path,
    /// The directive directory shown and changed.
    pub directives: PathBuf,
    /// The model catalog the directives are checked against.
    pub catalog: PathBuf,
    /// The audit log shown, when there is one.
    pub audit_log: Option<PathBuf>,
    /// The audit log's public key; without one, the data directory's.
    pub audit_key: Option<cordon_audit::VerifierKey>,
    /// The OpenID Connect settings file, when people log in that way.
    pub oidc: Option<&'a Path>,
    /// The fleet publisher's private key, when approvals publish.
    pub publisher_key: Option<&'a Path>,
}

/// Opens the console: its store, directive set, audit log and logins.
pub fn open(setup: Setup<'_>) -> Result<Arc<Console>> {
    let oidc = match setup.oidc {
        Some(path) => {
            let provider = cordon_console::oidc::Provider::load(path)?;
            tracing::info!(issuer = %provider.issuer, redirect_uri = %provider.redirect_uri, "console login with OpenID Connect");
            Some(Arc::new(cordon_console::oidc::Oidc::new(provider)))
        }
        None => None,
    };
    let publisher = setup
        .publisher_key
        .map(|key| publisher(setup.store, key))
        .transpose()?;
    let records = open_records(setup.store)?;
    let world = World::load()?;
    let catalog = inputs::catalog(Some(&setup.catalog))?;
    let policy = inputs::policy(Some(&setup.directives), catalog, &world)
        .map_err(|e| anyhow!("{}", inputs::render_load_error(&e)))?;
    let mut directives = directive_set(setup.data, setup.directives, setup.catalog, world);
    directives.publisher = publisher;
    Ok(Arc::new(Console {
        records,
        users: setup.users,
        sessions: Default::default(),
        policy: std::sync::RwLock::new(Arc::new(policy)),
        directives: Some(directives),
        audit_key: match setup.audit_key {
            Some(key) => Some(key),
            None => audit_key(setup.data)?,
        },
        audit_log: setup.audit_log,
        oidc,
        decisions: Default::default(),
        list_entries: Default::default(),
        clock: Arc::new(crate::clock::now),
    }))
}

/// The directive files in `dir`, checked against `catalog`, that the
/// console proposes changes to; proposals are kept in the data directory.
pub fn directive_set(
    data: &DataDir,
    dir: PathBuf,
    catalog: PathBuf,
    world: World,
) -> cordon_console::proposals::DirectiveSet {
    cordon_console::proposals::DirectiveSet {
        dir,
        catalog,
        proposals: data.root().join("console-proposals"),
        jurisdictions: world.jurisdictions,
        groups: world.groups,
        simulations: Default::default(),
        deciding: Default::default(),
        publisher: None,
    }
}

/// What publishes approved changes to the fleet whose shared store is
/// `store`, signed with the key in `key`.
fn publisher(store: &Path, key: &Path) -> Result<cordon_console::publish::Publisher> {
    let Some(url) = store.to_str().filter(|l| is_postgres_url(l)) else {
        bail!(
            "--publisher-key publishes to a fleet's shared store, but the store `{}` is not one: give --store postgres://…",
            store.display()
        );
    };
    let key = crate::data_dir::load_signing_key(key)?;
    let store = PostgresStore::connect(url)
        .context("cannot open the fleet's shared store")?
        .with_clock(crate::clock::now)
        .with_actor("cordon console");
    Ok(cordon_console::publish::Publisher {
        key,
        store: Arc::new(store),
    })
}

/// The data directory's audit log public key, when it has one.
pub fn audit_key(data: &DataDir) -> Result<Option<cordon_audit::VerifierKey>> {
    let path = data.verifier_key();
    if !path.is_file() {
        return Ok(None);
    }
    crate::data_dir::load_verifier_key(&path).map(Some)
}

/// The store at `location` (a SQLite file that must exist, or a
/// `postgres://` URL) as the console reads it.
pub fn open_records(location: &Path) -> Result<Arc<dyn Records>> {
    if let Some(url) = location.to_str().filter(|l| is_postgres_url(l)) {
        return Ok(Arc::new(
            PostgresStore::connect(url)?
                .with_clock(crate::clock::now)
                .with_actor("cordon console"),
        ));
    }
    Ok(Arc::new(
        super::accounts::open_existing(location)?
            .with_clock(crate::clock::now)
            .with_actor("cordon console"),
    ))
}

fn add_user(data: &DataDir, name: &str, role: &str) -> Result<ExitCode> {
    let Some(role) = Role::parse(role) else {
        bail!(
            "`{role}` is not a role; expected one of: {}",
            Role::ALL.map(Role::as_str).join(", ")
        );
    };
    data.create()?;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    let users = Users::at(data.root().join(USERS_FILE));
    users.add(name, role, password)?;
    println!(
        "added console user `{name}` ({}) to `{}`",
        role.as_str(),
        users.path().display()
    );
    Ok(ExitCode::SUCCESS)
}
