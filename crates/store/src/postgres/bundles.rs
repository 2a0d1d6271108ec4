//! The fleet's published directive bundles and the one in force
//! (`cordon directives publish`).
//!
//! The store keeps bundles as given: it does not read them. Checking the
//! content against its id and the signature against trusted keys is the
//! node's business, so a store that was tampered with cannot make a node
//! enforce something no trusted publisher signed.

use super::{PostgresStore, changes};
use crate::StoreError;

/// A published bundle as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    /// Its id, `sha256:` and the hex SHA-256 of `content`.
    pub id: String,
    /// The policy version it compiled to where it was published.
    pub policy_version: String,
    /// Its encoding.
    pub content: Vec<u8>,
    /// The publisher's signed note naming it.
    pub signature: String,
    /// When it was first published.
    pub published_at: String,
    /// Who first published it.
    pub published_by: String,
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The bundle in force before, if any.
    pub previous: Option<String>,
    /// Whether the bundle in force changed (publishing the active one again
    /// changes nothing).
    pub changed: bool,
}

impl PostgresStore {
    /// Stores `bundle` (once per id) and makes it the fleet's active
    /// version, journaled as `policy.published` and announced to every
    /// node in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::InvalidBundleId`]; storage failures.
    pub fn publish_bundle(
        &self,
        id: &str,
        policy_version: &str,
        content: &[u8],
        signature: &str,
    ) -> Result<Published, StoreError> {
        if !is_bundle_id(id) {
            return Err(StoreError::InvalidBundleId { id: id.to_owned() });
        }
        let now = self.now();
        let actor = self.actor.clone();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO policy_bundles (id, policy_version, content, signature, published_at, published_by)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                &[&id, &policy_version, &content, &signature, &now, &actor],
            )?;
            let previous: Option<String> = tx
                .query_opt("SELECT bundle FROM policy_active WHERE id = 1 FOR UPDATE", &[])?
                .map(|r| r.try_get(0))
                .transpose()?;
            if previous.as_deref() == Some(id) {
                return Ok(Published {
                    previous,
                    changed: false,
                });
            }
            tx.execute(
                "INSERT INTO policy_active (id, bundle, activated_at) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET bundle = $1, activated_at = $2",
                &[&id, &now],
            )?;
            changes::record(
                tx,
                &now,
                &actor,
                "policy.published",
                "",
                serde_json::json!({
                    "bundle": id,
                    "policy_version": policy_version,
                    "previous": previous,
                }),
            )?;
            changes::bump(tx)?;
            Ok(Published {
                previous,
                changed: true,
            })
        })
    }

    /// The id of the fleet's active bundle, if one was published: cheap
    /// enough for every node to ask every second.
    ///
    /// # Errors
    /// Storage failures.
    pub fn active_bundle_id(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()?
            .query_opt("SELECT bundle FROM policy_active WHERE id = 1", &[])?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    /// The bundle stored under `id`, if any.
    ///
    /// # Errors
    /// Storage failures.
    pub fn bundle(&self, id: &str) -> Result<Option<StoredBundle>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT id, policy_version, content, signature, published_at, published_by
             FROM policy_bundles WHERE id = $1",
            &[&id],
        )?;
        row.map(|r| {
            Ok(StoredBundle {
                id: r.try_get(0)?,
                policy_version: r.try_get(1)?,
                content: r.try_get(2)?,
                signature: r.try_get(3)?,
                published_at: r.try_get(4)?,
                published_by: r.try_get(5)?,
            })
        })
        .transpose()
    }
}

fn is_bundle_id(id: &str) -> bool {
    id.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}
