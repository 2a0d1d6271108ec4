//! Evidence and verification events in PostgreSQL: the rows of
//! [`crate::evidence`], whose rules (replays, orphans, what a revocation
//! withdraws, how a subject is derived from its record and evidence and
//! when again, what is journaled) are shared with SQLite.
//!
//! Every write takes the change lock first ([`changes::serialize`]): two
//! nodes handed the same delivery then record it once and see the other as
//! a replay, and two nodes deriving the same account again journal it once.

use ::postgres::Row;
use cordon_verification::Evidence;
use serde_json::{Map, Value};

use super::rows::{Pg, columns};
use super::{PostgresStore, changes, screening};
use crate::evidence::{
    self, DeliveryRow, Derivation, EVIDENCE_COLUMNS, EvidenceRows, NewEvidence, RawEvidence,
};
use crate::{Delivered, Intake, Rederived, StoreError};

fn text(row: Option<Row>) -> Result<Option<String>, StoreError> {
    row.map(|r| r.try_get(0).map_err(StoreError::from))
        .transpose()
}

impl EvidenceRows for Pg<'_, '_> {
    fn delivery_outcome(
        &mut self,
        source: &str,
        delivery_id: &str,
    ) -> Result<Option<String>, StoreError> {
        text(self.0.query_opt(
            "SELECT outcome FROM deliveries WHERE source = $1 AND delivery_id = $2",
            &[&source, &delivery_id],
        )?)
    }

    fn remember_delivery(&mut self, d: &DeliveryRow<'_>) -> Result<(), StoreError> {
        // SQLite's `INSERT OR REPLACE`: a delivery taken again (an orphan
        // whose account exists by now) replaces what it came to before.
        self.0.execute(
            "INSERT INTO deliveries (source, delivery_id, received_at, outcome, account, payload_sha256, event_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (source, delivery_id) DO UPDATE SET
                 received_at = excluded.received_at, outcome = excluded.outcome,
                 account = excluded.account, payload_sha256 = excluded.payload_sha256,
                 event_time = excluded.event_time",
            &[
                &d.source,
                &d.delivery_id,
                &d.received_at,
                &d.outcome,
                &d.account,
                &d.payload_sha256,
                &d.event_time,
            ],
        )?;
        Ok(())
    }

    fn record_text(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        text(self.0.query_opt(
            "SELECT COALESCE(record, subject)::text FROM accounts WHERE id = $1",
            &[&id],
        )?)
    }

    fn subject_text(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        text(
            self.0
                .query_opt("SELECT subject::text FROM accounts WHERE id = $1", &[&id])?,
        )
    }

    fn evidence(&mut self, account: &str) -> Result<Vec<RawEvidence>, StoreError> {
        // `value` is JSONB here: read as text, as SQLite stores it.
        let select = EVIDENCE_COLUMNS.replacen(", value,", ", value::text,", 1);
        self.0
            .query(
                &format!("SELECT {select} FROM evidence WHERE account = $1 ORDER BY id"),
                &[&account],
            )?
            .iter()
            .map(columns)
            .collect()
    }

    fn insert_evidence(&mut self, row: &NewEvidence<'_>) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO evidence (account, attribute, value, level, source_kind, source, object_id, trust_framework, method, document_country, verified_at, expires_at, received_at, delivery_id, payload_sha256, withdrawn_at)
             VALUES ($1, $2, $3::text::jsonb, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            &[
                &row.account,
                &row.attribute,
                &row.value,
                &row.level,
                &row.source_kind,
                &row.source,
                &row.object_id,
                &row.trust_framework,
                &row.method,
                &row.document_country,
                &row.verified_at,
                &row.expires_at,
                &row.received_at,
                &row.delivery_id,
                &row.payload_sha256,
                &row.withdrawn_at,
            ],
        )?;
        Ok(())
    }

    fn withdraw(&mut self, id: i64, now: &str) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE evidence SET withdrawn_at = $2 WHERE id = $1",
            &[&id, &now],
        )?;
        Ok(())
    }

    fn revocations(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.0
            .query(
                "SELECT through FROM revocations
                 WHERE account = $1 AND source = $2 AND object_id IN ($3, '')",
                &[&account, &source, &object_id],
            )?
            .iter()
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .collect()
    }

    fn revocation(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.0
            .query_opt(
                "SELECT through FROM revocations
                 WHERE account = $1 AND source = $2 AND object_id = $3",
                &[&account, &source, &object_id],
            )?
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    fn store_revocation(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
        through: &str,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO revocations (account, source, object_id, through) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account, source, object_id) DO UPDATE SET through = excluded.through",
            &[&account, &source, &object_id, &through],
        )?;
        Ok(())
    }

    fn store_derivation(&mut self, d: &Derivation<'_>) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE accounts SET record = $2::text::jsonb, subject = $3::text::jsonb,
                 updated_at = $4, rederive_at = $5
             WHERE id = $1",
            &[&d.id, &d.record, &d.subject, &d.updated_at, &d.rederive_at],
        )?;
        Ok(())
    }

    fn due(&mut self, now: i64, limit: i64) -> Result<Vec<String>, StoreError> {
        self.0
            .query(
                "SELECT id FROM accounts WHERE rederive_at IS NOT NULL AND rederive_at <= $1
                 ORDER BY rederive_at, id COLLATE \"C\" LIMIT $2",
                &[&now, &limit],
            )?
            .iter()
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .collect()
    }

    fn set_aside(&mut self, id: &str) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE accounts SET rederive_at = NULL WHERE id = $1",
            &[&id],
        )?;
        Ok(())
    }

    fn journal(
        &mut self,
        now: &str,
        actor: &str,
        action: &str,
        subject: &str,
        details: Value,
    ) -> Result<(), StoreError> {
        changes::record(self.0, now, actor, action, subject, details)
    }
}

impl PostgresStore {
    /// Records verification events in one transaction, one outcome each in
    /// order, as [`SqliteStore::record_events`](crate::SqliteStore::record_events)
    /// does: deliveries remembered (a repeat is a replay), evidence written
    /// or withdrawn, subjects derived again, each event journaled, and the
    /// change counter bumped when any was accepted. An account whose
    /// screened facts changed (a verified legal name, the employer, the
    /// country hints) is screened again against the active snapshot in the
    /// same transaction.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`] when a stored record or
    /// evidence does not read; an error records none of them.
    pub fn record_events(&self, batch: &[Delivered<'_>]) -> Result<Vec<Intake>, StoreError> {
        let now = (self.clock)();
        let lists = if evidence::screens(batch) {
            self.active_lists()?
        } else {
            None
        };
        self.write(|tx| {
            changes::serialize(tx)?;
            let out =
                evidence::record_batch(&mut Pg(tx), self.jurisdictions, &self.actor, batch, now)?;
            let again = evidence::to_screen_again(batch, &out);
            screening::screen_accounts(tx, self.jurisdictions, &again, lists.as_ref(), now)?;
            if evidence::any_accepted(&out) {
                changes::bump(tx)?;
            }
            Ok(out)
        })
    }

    /// Records one verification event ([`Self::record_events`]).
    ///
    /// # Errors
    /// As [`Self::record_events`].
    pub fn record_event(&self, d: Delivered<'_>) -> Result<Intake, StoreError> {
        let mut out = self.record_events(&[d])?;
        out.pop()
            .ok_or_else(|| StoreError::Corrupt("no outcome for one event".into()))
    }

    /// Journals a delivery that authenticated but was refused; like SQLite,
    /// this changes nothing cached, so the change counter stays.
    ///
    /// # Errors
    /// Storage failures.
    pub fn record_rejection(
        &self,
        source: &str,
        delivery_id: Option<&str>,
        payload_sha256: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let details = evidence::rejection_details(source, delivery_id, payload_sha256, reason);
        self.write(|tx| {
            changes::record(
                tx,
                &now,
                &self.actor,
                "verification.rejected",
                source,
                details,
            )
        })
    }

    /// Every evidence row of `account`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`], storage failures or
    /// [`StoreError::Corrupt`].
    pub fn evidence(&self, account: &str) -> Result<Vec<Evidence>, StoreError> {
        self.read(|tx| {
            let mut rows = Pg(tx);
            if evidence::record_of(&mut rows, account)?.is_none() {
                return Err(StoreError::AccountNotFound {
                    id: account.to_owned(),
                });
            }
            evidence::evidence_of(&mut rows, account)
        })
    }

    /// The record (what staff and imports wrote) and the derivation of the
    /// subject from it and the evidence, as of now.
    ///
    /// # Errors
    /// As [`Self::evidence`].
    pub fn derivation(
        &self,
        account: &str,
    ) -> Result<(Map<String, Value>, cordon_verification::Derived), StoreError> {
        let now = (self.clock)();
        self.read(|tx| evidence::derivation_of(&mut Pg(tx), self.jurisdictions, account, now))
    }

    /// Derives again the subjects whose evidence had a row expire since
    /// their last derivation, at most `limit`, as
    /// [`SqliteStore::rederive_due`](crate::SqliteStore::rederive_due) does.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`] for a record or evidence
    /// that does not read.
    pub fn rederive_due(&self, limit: usize) -> Result<Rederived, StoreError> {
        let now = (self.clock)();
        self.write(|tx| {
            // Every node polls this every few seconds: the change lock is
            // taken only when something is due.
            if Pg(tx).due(now.as_second(), 1)?.is_empty() {
                return Ok(Rederived::default());
            }
            changes::serialize(tx)?;
            let out = evidence::rederive(&mut Pg(tx), self.jurisdictions, &self.actor, limit, now)?;
            if !out.changed.is_empty() {
                changes::bump(tx)?;
            }
            Ok(out)
        })
    }
}
