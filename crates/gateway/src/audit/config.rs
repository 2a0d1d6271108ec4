//! The `[audit]` section of `cordon.toml`.
//!
//! It is read alongside [`crate::Config`] rather than as one of its fields, so
//! the gateway's own settings keep their shape; the section is taken out of
//! the top-level table while the rest is deserialised, which keeps the file's
//! line and column in every error.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

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

/// The audit log's settings (`[audit]`, docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
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
}

fn default_max_batch() -> usize {
    4096
}

fn default_checkpoint_interval() -> u64 {
    10
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            dir: None,
            key: None,
            salt: None,
            origin: None,
            batch_window_ms: 0,
            max_batch: default_max_batch(),
            checkpoint_interval_secs: default_checkpoint_interval(),
            on_failure: OnFailure::Refuse,
            read_token: None,
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
        if self.origin.as_deref().is_some_and(|o| o.trim().is_empty()) {
            return Some(("audit.origin", "must not be empty".into()));
        }
        None
    }
}

/// A configuration file's top-level table with its `[audit]` section taken
/// out: `T` is deserialised from the other keys, the section into `audit`.
pub(crate) struct WithAudit<T> {
    pub rest: T,
    pub audit: AuditConfig,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for WithAudit<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TopVisitor(PhantomData))
    }
}

struct TopVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TopVisitor<T> {
    type Value = WithAudit<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a configuration table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut audit = None;
        let rest = T::deserialize(de::value::MapAccessDeserializer::new(SkipAudit {
            inner: map,
            audit: &mut audit,
        }))?;
        Ok(WithAudit {
            rest,
            audit: audit.unwrap_or_default(),
        })
    }
}

/// Passes every entry through except `audit`, which it keeps.
struct SkipAudit<'a, A> {
    inner: A,
    audit: &'a mut Option<AuditConfig>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipAudit<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = Some(seed);
        loop {
            match self.inner.next_key_seed(KeySeed { seed: &mut seed })? {
                None => return Ok(None),
                Some(Some(key)) => return Ok(Some(key)),
                Some(None) => {
                    if self.audit.is_some() {
                        return Err(de::Error::duplicate_field("audit"));
                    }
                    *self.audit = Some(self.inner.next_value()?);
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

/// Reads one key: `None` for `audit`, otherwise the caller's seed applied to
/// it. It runs inside the outer deserialiser, so an unknown key is reported
/// at its own position in the file.
struct KeySeed<'s, K> {
    seed: &'s mut Option<K>,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, K> {
    type Value = Option<K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let key = String::deserialize(d)?;
        if key == "audit" {
            return Ok(None);
        }
        let Some(seed) = self.seed.take() else {
            return Err(de::Error::custom("a key was read twice"));
        };
        let key: de::value::StringDeserializer<D::Error> = key.into_deserializer();
        seed.deserialize(key).map(Some)
    }
}
