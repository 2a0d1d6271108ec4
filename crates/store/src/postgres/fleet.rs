//! Node reports in PostgreSQL ([`crate::fleet`]).

use super::PostgresStore;
use crate::StoreError;
use crate::fleet::{COLUMNS, Fleet, NodeReport, RawReport};

impl Fleet for PostgresStore {
    fn report_node(&self, r: &NodeReport) -> Result<(), StoreError> {
        let size = i64::try_from(r.audit_size).unwrap_or(i64::MAX);
        self.client()?.execute(
            "INSERT INTO fleet_nodes (node, listen, policy_version, started_at, heartbeat_at, audit_size, audit_checkpoint, healthy, detail, policy_bundle)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (node) DO UPDATE SET listen = $2, policy_version = $3, started_at = $4,
                heartbeat_at = $5, audit_size = $6, audit_checkpoint = $7, healthy = $8, detail = $9,
                policy_bundle = $10",
            &[
                &r.node,
                &r.listen,
                &r.policy_version,
                &r.started_at.to_string(),
                &r.heartbeat_at.to_string(),
                &size,
                &r.audit_checkpoint,
                &r.healthy,
                &r.detail,
                &r.policy_bundle,
            ],
        )?;
        Ok(())
    }

    fn nodes(&self) -> Result<Vec<NodeReport>, StoreError> {
        let rows = self.client()?.query(
            &format!("SELECT {COLUMNS} FROM fleet_nodes ORDER BY node"),
            &[],
        )?;
        rows.into_iter()
            .map(|r| {
                RawReport {
                    node: r.try_get(0)?,
                    listen: r.try_get(1)?,
                    policy_version: r.try_get(2)?,
                    started_at: r.try_get(3)?,
                    heartbeat_at: r.try_get(4)?,
                    audit_size: r.try_get(5)?,
                    audit_checkpoint: r.try_get(6)?,
                    healthy: r.try_get(7)?,
                    detail: r.try_get(8)?,
                    policy_bundle: r.try_get(9)?,
                }
                .parse()
            })
            .collect()
    }
}
