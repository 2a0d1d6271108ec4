//! End users behind an organisation's key, in PostgreSQL: the rows of
//! [`crate::end_users`], whose rules (what may be registered, what is
//! created and journaled, how an end user resolves) are shared with SQLite.

use cordon_jurisdiction::Jurisdictions;
use serde_json::{Map, Value};

use super::rows::Pg;
use super::{PostgresStore, accounts, changes, screening};
use crate::end_users::{
    self, EndUserAccount, EndUserRows, Registered, RegisteredEndUser, Registration,
};
use crate::{AccountRecord, StoreError};

impl EndUserRows for Pg<'_, '_> {
    fn account(&mut self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        accounts::read_account(self.0, id)
    }

    fn exists(&mut self, id: &str) -> Result<bool, StoreError> {
        accounts::exists(self.0, id)
    }

    fn insert_account(
        &mut self,
        id: &str,
        subject: &Map<String, Value>,
        now: &str,
    ) -> Result<(), StoreError> {
        // The id was just read as free under the change lock, so it is
        // still free; a conflict would mean the lock was not taken.
        if accounts::insert_account(self.0, id, subject, now)? {
            Ok(())
        } else {
            Err(StoreError::AccountExists { id: id.to_owned() })
        }
    }

    fn register(
        &mut self,
        organization: &str,
        digest: &str,
        account: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO end_users (organization, end_user_sha256, account, registered_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (organization, end_user_sha256)
             DO UPDATE SET account = excluded.account, registered_at = excluded.registered_at",
            &[&organization, &digest, &account, &now],
        )?;
        Ok(())
    }

    fn unregister(&mut self, organization: &str, digest: &str) -> Result<usize, StoreError> {
        let n = self.0.execute(
            "DELETE FROM end_users WHERE organization = $1 AND end_user_sha256 = $2",
            &[&organization, &digest],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn registered(
        &mut self,
        organization: &str,
        digest: &str,
    ) -> Result<Option<String>, StoreError> {
        self.0
            .query_opt(
                "SELECT account FROM end_users WHERE organization = $1 AND end_user_sha256 = $2",
                &[&organization, &digest],
            )?
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
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
    /// Registers end users of organisation `organization`, all or none, as
    /// [`SqliteStore::register_end_users`](crate::SqliteStore::register_end_users)
    /// does: member accounts that do not exist are created, each journaled,
    /// and the registration is journaled with the member accounts (never the
    /// identifiers). The accounts created are screened against the active
    /// snapshot in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`] for the organisation,
    /// [`StoreError::InvalidPatch`] naming the entry that is not usable;
    /// storage failures. Nothing is recorded then.
    pub fn register_end_users(
        &self,
        organization: &str,
        registrations: &[Registration],
    ) -> Result<Registered, StoreError> {
        end_users::check_count(organization, registrations.len(), "register")?;
        let lists = self.active_lists()?;
        let now = self.now();
        let j: &Jurisdictions = self.jurisdictions;
        self.write(|tx| {
            changes::serialize(tx)?;
            let out = end_users::register(
                &mut Pg(tx),
                j,
                &self.actor,
                organization,
                registrations,
                &now,
            )?;
            let created: Vec<&str> = out.created.iter().map(String::as_str).collect();
            screening::screen_accounts(tx, j, &created, lists.as_ref(), (self.clock)())?;
            changes::bump(tx)?;
            Ok(out)
        })
    }

    /// Removes end users of `organization`; their member accounts stay.
    /// Returns how many were registered.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`] for the organisation,
    /// [`StoreError::InvalidPatch`] for an empty or oversized list; storage
    /// failures.
    pub fn remove_end_users(
        &self,
        organization: &str,
        end_users: &[String],
    ) -> Result<usize, StoreError> {
        end_users::check_count(organization, end_users.len(), "remove")?;
        let now = self.now();
        self.write(|tx| {
            changes::serialize(tx)?;
            let removed =
                end_users::remove(&mut Pg(tx), &self.actor, organization, end_users, &now)?;
            if removed > 0 {
                changes::bump(tx)?;
            }
            Ok(removed)
        })
    }

    /// The end users registered for `organization`, by member account
    /// (ordered bytewise, as SQLite orders them).
    ///
    /// # Errors
    /// Only storage failures.
    pub fn end_users(&self, organization: &str) -> Result<Vec<RegisteredEndUser>, StoreError> {
        self.client()?
            .query(
                "SELECT organization, end_user_sha256, account, registered_at FROM end_users
                 WHERE organization = $1
                 ORDER BY account COLLATE \"C\", end_user_sha256 COLLATE \"C\"",
                &[&organization],
            )?
            .iter()
            .map(|r| {
                Ok(RegisteredEndUser {
                    organization: r.try_get(0)?,
                    end_user_sha256: r.try_get(1)?,
                    account: r.try_get(2)?,
                    registered_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The member account an end user of `organization` resolves to, as
    /// [`SqliteStore::end_user_account`](crate::SqliteStore::end_user_account)
    /// resolves it; both reads in one transaction, so a registration moved
    /// meanwhile is seen whole or not at all.
    ///
    /// # Errors
    /// Only storage failures.
    pub fn end_user_account(
        &self,
        organization: &str,
        end_user: Option<&str>,
    ) -> Result<Option<EndUserAccount>, StoreError> {
        self.read(|tx| end_users::resolve(&mut Pg(tx), organization, end_user))
    }
}
