//! The gateway nodes that share a store: each reports itself every second,
//! and `cordon fleet status` reads the reports.
//!
//! A report is what the node knows of itself (its policy version, its audit
//! log's size and last checkpoint, whether it is healthy); how fresh the
//! report is (its heartbeat) says whether the node is alive. Both stores
//! keep them, so one node on SQLite reports as a fleet of one.

use jiff::Timestamp;
use rusqlite::params;
use serde::Serialize;

use crate::{SqliteStore, StoreError};

/// What one node last said of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeReport {
    /// The node's name, unique in the fleet (by default its host and
    /// listening address).
    pub node: String,
    /// The address it serves on.
    pub listen: String,
    /// The policy version it enforces.
    pub policy_version: String,
    /// The published bundle it runs (`sha256:…`), or `None` when it runs
    /// its own directive files.
    pub policy_bundle: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last reported.
    pub heartbeat_at: Timestamp,
    /// Its audit log's size, in entries.
    pub audit_size: u64,
    /// Its audit log's last checkpoint (`size root`), if any.
    pub audit_checkpoint: Option<String>,
    /// Whether it considers itself healthy.
    pub healthy: bool,
    /// Why not, or what else it wants known (empty when nothing).
    pub detail: String,
}

/// Where nodes report themselves.
pub trait Fleet: Send + Sync {
    /// Records `report` as the node's latest, replacing its previous one.
    ///
    /// # Errors
    /// Only storage failures.
    fn report_node(&self, report: &NodeReport) -> Result<(), StoreError>;

    /// Every node's latest report, by name.
    ///
    /// # Errors
    /// Only storage failures, or [`StoreError::Corrupt`] for a report that
    /// does not read.
    fn nodes(&self) -> Result<Vec<NodeReport>, StoreError>;
}

/// The columns of a report, in the order both stores read them.
pub(crate) const COLUMNS: &str = "node, listen, policy_version, started_at, heartbeat_at, audit_size, audit_checkpoint, healthy, detail, policy_bundle";

/// A report's row as read, before its times and numbers are checked.
pub(crate) struct RawReport {
    pub node: String,
    pub listen: String,
    pub policy_version: String,
    pub started_at: String,
    pub heartbeat_at: String,
    pub audit_size: i64,
    pub audit_checkpoint: Option<String>,
    pub healthy: bool,
    pub detail: String,
    pub policy_bundle: Option<String>,
}

impl RawReport {
    /// The report, or why the row does not read.
    pub(crate) fn parse(self) -> Result<NodeReport, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("the report of node `{}`: {what}", self.node));
        let started_at = self.started_at.parse().map_err(|_| corrupt("started_at"))?;
        let heartbeat_at = self
            .heartbeat_at
            .parse()
            .map_err(|_| corrupt("heartbeat_at"))?;
        let audit_size = u64::try_from(self.audit_size).map_err(|_| corrupt("audit_size"))?;
        Ok(NodeReport {
            node: self.node,
            listen: self.listen,
            policy_version: self.policy_version,
            policy_bundle: self.policy_bundle,
            started_at,
            heartbeat_at,
            audit_size,
            audit_checkpoint: self.audit_checkpoint,
            healthy: self.healthy,
            detail: self.detail,
        })
    }
}

impl Fleet for SqliteStore {
    fn report_node(&self, r: &NodeReport) -> Result<(), StoreError> {
        let size = i64::try_from(r.audit_size).unwrap_or(i64::MAX);
        self.lock().execute(
            "INSERT INTO fleet_nodes (node, listen, policy_version, started_at, heartbeat_at, audit_size, audit_checkpoint, healthy, detail, policy_bundle)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (node) DO UPDATE SET listen = ?2, policy_version = ?3, started_at = ?4,
                heartbeat_at = ?5, audit_size = ?6, audit_checkpoint = ?7, healthy = ?8, detail = ?9,
                policy_bundle = ?10",
            params![
                r.node,
                r.listen,
                r.policy_version,
                r.started_at.to_string(),
                r.heartbeat_at.to_string(),
                size,
                r.audit_checkpoint,
                r.healthy,
                r.detail,
                r.policy_bundle
            ],
        )?;
        Ok(())
    }

    fn nodes(&self) -> Result<Vec<NodeReport>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM fleet_nodes ORDER BY node"))?;
        let rows = stmt.query_map([], |r| {
            Ok(RawReport {
                node: r.get(0)?,
                listen: r.get(1)?,
                policy_version: r.get(2)?,
                started_at: r.get(3)?,
                heartbeat_at: r.get(4)?,
                audit_size: r.get(5)?,
                audit_checkpoint: r.get(6)?,
                healthy: r.get(7)?,
                detail: r.get(8)?,
                policy_bundle: r.get(9)?,
            })
        })?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?.parse()?);
        }
        Ok(out)
    }
}
