//! Licences in PostgreSQL: the rows of [`crate::licence`], whose rules
//! (what may be recorded, which status changes are allowed, to whom an
//! active licence is attached, what is journaled) are shared with SQLite.

use ::postgres::{Row, Transaction};
use cordon_jurisdiction::Jurisdictions;
use cordon_subject::{Licence, Subject};
use serde_json::Value;

use super::rows::Pg;
use super::{PostgresStore, changes};
use crate::licence::{self, LicenceRows, NewRow, Raw, StatusChange, Which};
use crate::{LicenceIndex, LicenceRecord, LicenceSource, StoreError};

/// [`licence::COLUMNS`] with the list columns (JSONB here) read as text.
const COLUMNS: &str = "number, authority, directives::text, holder, individuals::text, excluded_nationalities::text, models::text, conditions, issued, expires, source_kind, status, recorded_at, actor, approved_at, approved_by, revoked_at, revoked_by";

fn raw(r: &Row) -> Result<Raw, StoreError> {
    Ok(Raw {
        text: [
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
            r.try_get(5)?,
            r.try_get(6)?,
        ],
        conditions: r.try_get(7)?,
        times: [r.try_get(8)?, r.try_get(9)?, r.try_get(12)?],
        source_kind: r.try_get(10)?,
        status: r.try_get(11)?,
        actor: r.try_get(13)?,
        approved_at: r.try_get(14)?,
        approved_by: r.try_get(15)?,
        revoked_at: r.try_get(16)?,
        revoked_by: r.try_get(17)?,
    })
}

impl LicenceRows for Pg<'_, '_> {
    fn read(&mut self, number: &str) -> Result<Option<Raw>, StoreError> {
        self.0
            .query_opt(
                &format!("SELECT {COLUMNS} FROM licences WHERE number = $1"),
                &[&number],
            )?
            .as_ref()
            .map(raw)
            .transpose()
    }

    fn select(&mut self, which: Which<'_>) -> Result<Vec<Raw>, StoreError> {
        // Numbers are ordered bytewise, as SQLite orders them, whatever the
        // database's collation.
        let rows = match which {
            Which::All => self.0.query(
                &format!("SELECT {COLUMNS} FROM licences ORDER BY number COLLATE \"C\""),
                &[],
            )?,
            Which::Active => self.0.query(
                &format!(
                    "SELECT {COLUMNS} FROM licences WHERE status = 'active' ORDER BY number COLLATE \"C\""
                ),
                &[],
            )?,
            Which::ActiveNaming(account) => self.0.query(
                &format!(
                    "SELECT {COLUMNS} FROM licences
                     WHERE status = 'active' AND (holder = $1 OR individuals @> jsonb_build_array($1::text))
                     ORDER BY number COLLATE \"C\""
                ),
                &[&account],
            )?,
        };
        rows.iter().map(raw).collect()
    }

    fn subject_text(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        self.0
            .query_opt("SELECT subject::text FROM accounts WHERE id = $1", &[&id])?
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    fn insert(&mut self, row: &NewRow<'_>) -> Result<(), StoreError> {
        let l = row.licence;
        let [directives, individuals, excluded, models] = &row.lists;
        let [issued, expires] = &row.times;
        self.0.execute(
            &format!(
                "INSERT INTO licences ({}) VALUES ($1, $2, $3::text::jsonb, $4, $5::text::jsonb, $6::text::jsonb, $7::text::jsonb, $8, $9, $10, $11, $12, $13, $14, NULL, NULL, NULL, NULL)",
                licence::COLUMNS
            ),
            &[
                &l.number,
                &l.authority,
                directives,
                &l.holder,
                individuals,
                excluded,
                models,
                &l.conditions,
                issued,
                expires,
                &row.source.as_str(),
                &row.status.as_str(),
                &row.recorded_at,
                &row.actor,
            ],
        )?;
        Ok(())
    }

    fn set_status(
        &mut self,
        number: &str,
        change: StatusChange,
        now: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let sql = match change {
            StatusChange::Approve => {
                "UPDATE licences SET status = 'active', approved_at = $2, approved_by = $3 WHERE number = $1"
            }
            StatusChange::Revoke => {
                "UPDATE licences SET status = 'revoked', revoked_at = $2, revoked_by = $3 WHERE number = $1"
            }
        };
        self.0.execute(sql, &[&number, &now, &actor])?;
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

/// Attaches to `subject` (of `account`) the active licences it holds,
/// read in the caller's transaction.
pub(super) fn attach(
    tx: &mut Transaction<'_>,
    account: &str,
    subject: &mut Subject,
    j: &Jurisdictions,
) -> Result<(), StoreError> {
    licence::attach(&mut Pg(tx), account, subject, j)
}

impl PostgresStore {
    /// Records a licence, as
    /// [`SqliteStore::record_licence`](crate::SqliteStore::record_licence)
    /// does: `active` from staff, `pending` from the holder organisation,
    /// checked against the store in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::LicenceExists`], [`StoreError::InvalidLicence`] naming
    /// the field (`expires`, `holder`, `individuals[1]`), or storage failures.
    pub fn record_licence(
        &self,
        licence: &Licence,
        source: LicenceSource,
    ) -> Result<LicenceRecord, StoreError> {
        let now = (self.clock)();
        self.write(|tx| {
            // The checks read the holder and the individuals: no other
            // change may slip in between them and the insert.
            changes::serialize(tx)?;
            let rec = licence::record(
                &mut Pg(tx),
                self.jurisdictions,
                licence,
                source,
                now,
                &self.actor,
            )?;
            changes::bump(tx)?;
            Ok(rec)
        })
    }

    /// Approves a pending licence: it becomes active.
    ///
    /// # Errors
    /// [`StoreError::LicenceNotFound`], [`StoreError::LicenceStatus`] unless
    /// it is pending, or storage failures.
    pub fn approve_licence(&self, number: &str) -> Result<LicenceRecord, StoreError> {
        self.change_licence(number, StatusChange::Approve)
    }

    /// Revokes an active or pending licence.
    ///
    /// # Errors
    /// [`StoreError::LicenceNotFound`], [`StoreError::LicenceStatus`] when it
    /// is already revoked, or storage failures.
    pub fn revoke_licence(&self, number: &str) -> Result<LicenceRecord, StoreError> {
        self.change_licence(number, StatusChange::Revoke)
    }

    fn change_licence(
        &self,
        number: &str,
        change: StatusChange,
    ) -> Result<LicenceRecord, StoreError> {
        let now = self.now();
        self.write(|tx| {
            changes::serialize(tx)?;
            let after = licence::change_status(
                &mut Pg(tx),
                self.jurisdictions,
                number,
                change,
                &now,
                &self.actor,
            )?;
            changes::bump(tx)?;
            Ok(after)
        })
    }

    /// Every licence, in every status, by number.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`] for a row that does not
    /// read back.
    pub fn licences(&self) -> Result<Vec<LicenceRecord>, StoreError> {
        self.read(|tx| licence::select(&mut Pg(tx), Which::All, self.jurisdictions))
    }

    /// The licence with this number, if any.
    ///
    /// # Errors
    /// As [`Self::licences`].
    pub fn licence(&self, number: &str) -> Result<Option<LicenceRecord>, StoreError> {
        self.read(|tx| licence::read(&mut Pg(tx), number, self.jurisdictions))
    }

    /// The active licences of every account they cover, for a scan of the
    /// whole store: the same licences [`Self::subject`] attaches.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn licence_index(&self) -> Result<LicenceIndex, StoreError> {
        self.read(|tx| licence::index(&mut Pg(tx), self.jurisdictions))
    }
}
