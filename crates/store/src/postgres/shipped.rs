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

/// Where a node's shipped log ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShippedHead {
    /// How many entries are shipped.
    pub size: u64,
    /// The Merkle root of the node's tree at that size, as the node shipped
    /// it; `None` before the first shipment.
    pub root: Option<[u8; 32]>,
    /// The largest size a shipped checkpoint signs, or 0.
    pub checkpoint: u64,
}

/// One shipment: the node's entries from index `first` and what the node
/// vouches for with them.
#[derive(Debug, Clone)]
pub struct Shipment<'a> {
    /// The index of the first entry; must be where the shipped log ends.
    pub first: u64,
    /// The entries, in index order.
    pub entries: &'a [&'a [u8]],
    /// The root of the node's tree after these entries, checked by the node
    /// against its own tree when it resumes shipping.
    pub root: [u8; 32],
    /// Checkpoints the node signed for sizes up to the shipment's end;
    /// ones already shipped are skipped.
    pub checkpoints: &'a [(u64, String)],
}

fn head(
    node: &str,
    size: i64,
    root: Option<Vec<u8>>,
    checkpoint: i64,
) -> Result<ShippedHead, StoreError> {
    let size = u64::try_from(size)
        .map_err(|_| StoreError::Corrupt(format!("the shipped log of `{node}` has size {size}")))?;
    let root = root
        .map(|r| {
            <[u8; 32]>::try_from(r.as_slice()).map_err(|_| {
                StoreError::Corrupt(format!(
                    "the shipped log of `{node}` has a root of {} bytes",
                    r.len()
                ))
            })
        })
        .transpose()?;
    Ok(ShippedHead {
        size,
        root,
        checkpoint: u64::try_from(checkpoint).unwrap_or(0),
    })
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
        Ok(self.shipped_head(node)?.size)
    }

    /// Where the node's shipped log ends: its size and the root the node
    /// said its tree had there. A node that never shipped has size 0.
    ///
    /// # Errors
    /// Storage failures, [`StoreError::Corrupt`] for a malformed root.
    pub fn shipped_head(&self, node: &str) -> Result<ShippedHead, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT size, root,
                    (SELECT coalesce(max(c.size), 0) FROM shipped_checkpoints c WHERE c.node = l.node)
             FROM shipped_logs l WHERE node = $1",
            &[&node],
        )?;
        match row {
            None => Ok(ShippedHead::default()),
            Some(r) => head(node, r.try_get(0)?, r.try_get(1)?, r.try_get(2)?),
        }
    }

    /// Ships `shipment` in one transaction: its entries, the root the node's
    /// tree has after them, and the checkpoints it signed. Returns the
    /// shipped log's new size.
    ///
    /// # Errors
    /// [`StoreError::ShippedLog`] when the node's log is not registered, or
    /// the shipment does not start where the shipped log ends (a gap, or
    /// entries shipped twice); storage failures.
    pub fn ship(&self, node: &str, shipment: &Shipment<'_>) -> Result<u64, StoreError> {
        let first = i64::try_from(shipment.first).unwrap_or(i64::MAX);
        let count = i64::try_from(shipment.entries.len()).unwrap_or(i64::MAX);
        self.write(|tx| {
            // The row lock orders shipments of one node: two shippers (a
            // node restarted while its old process still runs) cannot both
            // append from the same size.
            let shipped: i64 = tx
                .query_opt(
                    "SELECT size FROM shipped_logs WHERE node = $1 FOR UPDATE",
                    &[&node],
                )?
                .ok_or_else(|| StoreError::ShippedLog {
                    node: node.to_owned(),
                    message: "its log is not registered: register it with its public key first".to_owned(),
                })?
                .try_get(0)?;
            if first != shipped {
                return Err(StoreError::ShippedLog {
                    node: node.to_owned(),
                    message: format!(
                        "{shipped} entries are shipped; a shipment from index {} would leave a gap or repeat them",
                        shipment.first
                    ),
                });
            }
            if count > 0 {
                let idx: Vec<i64> = (first..first.saturating_add(count)).collect();
                tx.execute(
                    "INSERT INTO shipped_entries (node, idx, leaf)
                     SELECT $1, i, l FROM UNNEST($2::BIGINT[], $3::BYTEA[]) AS t (i, l)",
                    &[&node, &idx, &shipment.entries],
                )?;
            }
            let size = first.saturating_add(count);
            tx.execute(
                "UPDATE shipped_logs SET size = $2, root = $3 WHERE node = $1",
                &[&node, &size, &shipment.root.as_slice()],
            )?;
            if !shipment.checkpoints.is_empty() {
                let (sizes, notes): (Vec<i64>, Vec<&str>) = shipment
                    .checkpoints
                    .iter()
                    .map(|(s, n)| (i64::try_from(*s).unwrap_or(i64::MAX), n.as_str()))
                    .unzip();
                tx.execute(
                    "INSERT INTO shipped_checkpoints (node, size, note)
                     SELECT $1, s, n FROM UNNEST($2::BIGINT[], $3::TEXT[]) AS t (s, n)
                     ON CONFLICT (node, size) DO NOTHING",
                    &[&node, &sizes, &notes],
                )?;
            }
            Ok(shipment.first.saturating_add(shipment.entries.len() as u64))
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
