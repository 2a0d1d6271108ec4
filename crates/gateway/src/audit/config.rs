//! The `[audit]` section of `cordon.toml`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// What happens to a request no directive controls when the log cannot be written.
///
/// A request that any directive consulted is always refused: its decision
/// must be in the log before it takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Refuse it with 503 `audit_unavailable`, like a controlled request.
    #[default]
    Refuse,
    /// Let it through unrecorded (and count it in the metrics).
    Allow,
}

/// When a decision counts as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Once its batch is synced to the node's own disk; a node with a
    /// shared store ships it there within a second.
    #[default]
    Local,
    /// Once its batch is synced to the node's disk and committed in the
    /// shared store too, for operators who cannot lose a node's disk.
    /// Needs a shared store (`store = "postgres://…"`).
    Replicated,
}

/// The audit log's settings (`[audit]`, docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Whether decisions are recorded at all. Turning it off is for
    /// benchmarks and development: nothing a regulator can check is kept.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The log directory; default `audit` inside the data directory.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// The private checkpoint-signing key file; default `audit-key` inside
    /// the data directory, generated on first start.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// The pseudonym salt file; default `audit-salt` inside the data
    /// directory, generated on first start.
    #[serde(default)]
    pub salt: Option<PathBuf>,
    /// The checkpoint origin (and key name) a newly generated key gets.
    #[serde(default)]
    pub origin: Option<String>,
    /// How long the writer waits after the first queued leaf to gather more,
    /// in milliseconds; 0 commits whatever queued during the previous sync.
    #[serde(default)]
    pub batch_window_ms: u64,
    /// The most leaves one sync commits.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Seconds between signed checkpoints while the log grows; 0 signs only
    /// on demand (receipts).
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval_secs: u64,
    /// What happens to uncontrolled requests when the log cannot be written.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Bearer token for the auditor endpoints under `/audit/`; absent
    /// disables them.
    #[serde(default)]
    pub read_token: Option<String>,
    /// When a decision counts as recorded: on this node's disk, or there
    /// and in the shared store.
    #[serde(default)]
    pub durability: Durability,
    /// In `replicated` durability, how long a decision waits for the shared
    /// store before it is refused (503 `audit_unavailable`), in milliseconds.
    #[serde(default = "default_replication_timeout")]
    pub replication_timeout_ms: u64,
}

fn enabled() -> bool {
    true
}

fn default_max_batch() -> usize {
    4096
}

fn default_checkpoint_interval() -> u64 {
    10
}

fn default_replication_timeout() -> u64 {
    2000
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            dir: None,
            key: None,
            salt: None,
            origin: None,
            batch_window_ms: 0,
            max_batch: default_max_batch(),
            checkpoint_interval_secs: default_checkpoint_interval(),
            on_failure: OnFailure::Refuse,
            read_token: None,
            durability: Durability::Local,
            replication_timeout_ms: default_replication_timeout(),
        }
    }
}

impl AuditConfig {
    /// The batch window as a duration.
    pub fn batch_window(&self) -> Duration {
        Duration::from_millis(self.batch_window_ms)
    }

    /// The checkpoint interval, `None` when checkpoints are signed on demand only.
    pub fn checkpoint_interval(&self) -> Option<Duration> {
        (self.checkpoint_interval_secs > 0)
            .then(|| Duration::from_secs(self.checkpoint_interval_secs))
    }

    /// How long a decision waits for the shared store in `replicated` durability.
    pub fn replication_timeout(&self) -> Duration {
        Duration::from_millis(self.replication_timeout_ms)
    }

    /// Checks values serde cannot: returns the field and what is wrong.
    pub(crate) fn problem(&self) -> Option<(&'static str, String)> {
        if self.max_batch == 0 || self.max_batch > usize::from(u16::MAX) {
            return Some((
                "audit.max_batch",
                format!("{} is outside 1 to 65535", self.max_batch),
            ));
        }
        if self.batch_window_ms > 1000 {
            return Some((
                "audit.batch_window_ms",
                format!(
                    "{} ms would hold every request that long; use at most 1000",
                    self.batch_window_ms
                ),
            ));
        }
        if self
            .read_token
            .as_deref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            return Some((
                "audit.read_token",
                "must be at least 16 characters (it guards the whole log)".into(),
            ));
        }
        if !(1..=60_000).contains(&self.replication_timeout_ms) {
            return Some((
                "audit.replication_timeout_ms",
                format!(
                    "{} is outside 1 to 60000 (a decision waits that long for the shared store)",
                    self.replication_timeout_ms
                ),
            ));
        }
        if self.durability == Durability::Replicated && !self.enabled {
            return Some((
                "audit.durability",
                "`replicated` needs the audit log on (`audit.enabled = true`)".into(),
            ));
        }
        if self.origin.as_deref().is_some_and(|o| o.trim().is_empty()) {
            return Some(("audit.origin", "must not be empty".into()));
        }
        None
    }
}
