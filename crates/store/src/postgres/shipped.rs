//! Every node's audit log, shipped into the shared store so the fleet's
//! logs can be verified from one place (`cordon audit verify --fleet`).
//!
//! A node ships its entries in index order and the checkpoints it signed;
//! each shipment is one transaction that must start where the last one
//! ended, so a shipment repeated after an outage adds nothing and a gap is
//! refused, never stored. The node's log on its own disk stays the original:
//! what is shipped is checked against the node's registered key and the
//! checkpoints' roots when verified.

use super::PostgresStore;
use crate::StoreError;

/// One node's shipped log, as read back for verification.
#[derive(Debug, Clone)]
pub struct ShippedLog {
    /// The node.
    pub node: String,
    /// Its log's public key, as registered (`cordon audit` key text).
    pub public_key: String,
    /// Every entry shipped, in index order from 0.
    pub entries: Vec<Vec<u8>>,
    /// Every checkpoint shipped, by size.
    pub checkpoints: Vec<(u64, String)>,
}

impl PostgresStore {
    /// Registers the node's log under its public key; a node registered
    /// under another key is refused, since its shipped entries would no
    /// longer verify.
    ///
    /// # Errors
    /// [`StoreError::ShippedLog`] for another key; storage failures.
    pub fn register_log(&self, node: &str, public_key: &str) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| {
            let existing: Option<String> = tx
                .query_opt("SELECT public_key FROM shipped_logs WHERE node = $1", &[&node])?
                .map(|r| r.try_get(0))
                .transpose()?;
            match existing {
                Some(k) if k == public_key => Ok(()),
                Some(k) => Err(StoreError::ShippedLog {
                    node: node.to_owned(),
                    message: format!(
                        "it shipped a log signed by `{k}`; this log is signed by `{public_key}`: give this node another name"
                    ),
                }),
                None => {
                    tx.execute(
                        "INSERT INTO shipped_logs (node, public_key, registered_at) VALUES ($1, $2, $3)",
                        &[&node, &public_key, &now],
                    )?;
                    Ok(())
                }
            }
        })
    }

    /// How many entries of the node's log are shipped.
    ///
    /// # Errors
    /// Storage failures.
    pub fn shipped_size(&self, node: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()?
            .query_one(
                "SELECT count(*) FROM shipped_entries WHERE node = $1",
                &[&node],
            )?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Ships `entries`, the node's entries from index `first`, and the
    /// checkpoints it signed, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::ShippedLog`] when `first` is not where the shipped
    /// log ends (a gap, or entries shipped twice differently); storage
    /// failures.
    pub fn ship(
        &self,
        node: &str,
        first: u64,
        entries: &[Vec<u8>],
        checkpoints: &[(u64, String)],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let shipped: i64 = tx
                .query_one(
                    "SELECT count(*) FROM shipped_entries WHERE node = $1",
                    &[&node],
                )?
                .try_get(0)?;
            let first_i = i64::try_from(first).unwrap_or(i64::MAX);
            if first_i != shipped {
                return Err(StoreError::ShippedLog {
                    node: node.to_owned(),
                    message: format!(
                        "{shipped} entries are shipped; a shipment from index {first} would leave a gap or repeat them"
                    ),
                });
            }
            for (i, leaf) in entries.iter().enumerate() {
                let idx = first_i.saturating_add(i64::try_from(i).unwrap_or(i64::MAX));
                tx.execute(
                    "INSERT INTO shipped_entries (node, idx, leaf) VALUES ($1, $2, $3)",
                    &[&node, &idx, &leaf.as_slice()],
                )?;
            }
            for (size, note) in checkpoints {
                let size = i64::try_from(*size).unwrap_or(i64::MAX);
                tx.execute(
                    "INSERT INTO shipped_checkpoints (node, size, note) VALUES ($1, $2, $3)
                     ON CONFLICT (node, size) DO NOTHING",
                    &[&node, &size, note],
                )?;
            }
            Ok(())
        })
    }

    /// Every node's shipped log, by node name.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`] for a negative size.
    pub fn shipped_logs(&self) -> Result<Vec<ShippedLog>, StoreError> {
        let mut client = self.client()?;
        let logs = client.query(
            "SELECT node, public_key FROM shipped_logs ORDER BY node",
            &[],
        )?;
        let mut out = Vec::with_capacity(logs.len());
        for l in logs {
            let node: String = l.try_get(0)?;
            let public_key: String = l.try_get(1)?;
            let entries = client
                .query(
                    "SELECT leaf FROM shipped_entries WHERE node = $1 ORDER BY idx",
                    &[&node],
                )?
                .into_iter()
                .map(|r| r.try_get::<_, Vec<u8>>(0))
                .collect::<Result<Vec<_>, _>>()?;
            let checkpoints = client
                .query(
                    "SELECT size, note FROM shipped_checkpoints WHERE node = $1 ORDER BY size",
                    &[&node],
                )?
                .into_iter()
                .map(|r| {
                    let size: i64 = r.try_get(0)?;
                    let size = u64::try_from(size).map_err(|_| {
                        StoreError::Corrupt(format!(
                            "a shipped checkpoint of `{node}` has size {size}"
                        ))
                    })?;
                    Ok((size, r.try_get::<_, String>(1)?))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            out.push(ShippedLog {
                node,
                public_key,
                entries,
                checkpoints,
            });
        }
        Ok(out)
    }
}
