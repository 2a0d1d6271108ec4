//! `cordon`: the export-control gateway and its compliance tools.

mod clock;
mod commands;
mod data_dir;
mod inputs;
mod log_writer;

use std::process::ExitCode;

/// The gateway allocates and frees a few dozen small objects per request on
/// its worker threads, and the audit writer frees each leaf on its own
/// thread; mimalloc's per-thread free lists take both without the locking
/// and consolidation glibc's arenas do there. It is built without
/// transparent huge pages, which took the gateway holding 1,000 streams
/// from 116 to 161 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// Cordon enforces export-control and sanctions directives on AI model APIs.
#[derive(Parser)]
#[command(name = "cordon", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where no directive set or catalog is named and the working directory
    /// has none, use the ones compiled into this binary. Never chosen silently:
    /// a compliance answer comes from the set the user named.
    #[arg(long, global = true)]
    builtin: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Walk through the shipped directive set: check it, decide sample requests, print the matrix summary.
    Demo(commands::demo::Args),
    /// Play the demo's KYC vendor: deliver a signed verification of an account to the running demo.
    DemoVerify(commands::demo_verify::Args),
    /// Validate a directive set and catalog; exit 1 listing every error.
    Check(commands::check::Args),
    /// Show where each directive stands in its lifecycle and what changes next.
    Directives(commands::directives::Args),
    /// Decide one request and explain why.
    Decide(commands::decide::Args),
    /// Prove properties of a directive set over every subject, location, model, feature and time.
    Analyze(commands::analyze::Args),
    /// Print the country × model access table, or what changes between two directive sets.
    Matrix(commands::matrix::Args),
    /// Run the gateway in front of model servers.
    Serve(commands::serve::Args),
    /// Manage accounts, their attributes and API keys.
    Accounts(commands::accounts::Args),
    /// Run the mock model server used by the demo and benchmarks.
    MockUpstream(commands::mock_upstream::Args),
    /// Record, list, approve and revoke export licences (holder, named individuals, excluded nationalities, models, expiry).
    Licences(commands::licences::Args),
    /// Import, update and review the restricted-party lists (OFAC, Consolidated Screening List).
    Lists(commands::lists::Args),
    /// Screen a name, or a file of names, against the restricted-party lists.
    Screen(commands::screen::Args),
    /// Verify the audit log, prove decisions are in it, and search it.
    Audit(commands::audit::Args),
    /// Show who gains, loses or must verify access if a proposed directive set replaces the current one.
    Simulate(commands::simulate::Args),
    /// The gateway nodes that share an identity store.
    Fleet(commands::fleet::Args),
    /// The compliance console: web pages for officers, reviewers and auditors.
    Console(commands::console::Args),
    /// Look after the identity store itself: bring its schema up to date (SQLite file or PostgreSQL).
    Store(commands::store::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    inputs::allow_builtin(cli.builtin);
    let result = match cli.command {
        Command::Demo(a) => commands::demo::run(a),
        Command::DemoVerify(a) => commands::demo_verify::run(a),
        Command::Check(a) => commands::check::run(a),
        Command::Directives(a) => commands::directives::run(a),
        Command::Decide(a) => commands::decide::run(a),
        Command::Analyze(a) => commands::analyze::run(a),
        Command::Matrix(a) => commands::matrix::run(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Accounts(a) => commands::accounts::run(a),
        Command::MockUpstream(a) => commands::mock_upstream::run(a),
        Command::Licences(a) => commands::licences::run(a),
        Command::Lists(a) => commands::lists::run(a),
        Command::Screen(a) => commands::screen::run(a),
        Command::Audit(a) => commands::audit::run(a),
        Command::Simulate(a) => commands::simulate::run(a),
        Command::Fleet(a) => commands::fleet::run(a),
        Command::Console(a) => commands::console::run(a),
        Command::Store(a) => commands::store::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
