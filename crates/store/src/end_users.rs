//! End users behind an organisation's key: the people an organisation's
//! application serves, each registered as a member account of the
//! organisation so that facts about the person (an attestation, a KYC check)
//! have an account to land on, and a decision can be about the person rather
//! than the organisation that holds the key.
//!
//! A request names its end user in the API's own field (OpenAI's
//! `safety_identifier` or `user`, Anthropic's `metadata.user_id`) or in a
//! header the operator configures; the gateway asks
//! [`IdentityStore::end_user`](crate::IdentityStore::end_user) which member
//! account that is. Identifiers are chosen by the organisation and may be
//! e-mail addresses, so only their SHA-256 is stored.
//!
//! The identifier [`EVERY_END_USER`] registers a member account that stands
//! for every end user of the organisation not registered on their own: an
//! organisation that attests for all its users at once attests for that
//! account.

use cordon_jurisdiction::Jurisdictions;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::sqlite::{bump, exists, insert_account, read_account};
use crate::{AccountRecord, SqliteStore, StoreError, changes, validate_account_id};

/// The identifier that registers the account standing for every end user
/// of an organisation not registered on their own.
pub const EVERY_END_USER: &str = "*";

/// The most end users one call registers or removes.
pub const MAX_PER_CALL: usize = 1_000;

/// The longest end-user identifier, in bytes (as the gateway reads them).
pub const MAX_END_USER_LEN: usize = 256;

/// One end user to register: the organisation's identifier for the person,
/// and the member account that stands for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The organisation's own identifier for the person, as its requests
    /// send it; [`EVERY_END_USER`] for the account that stands for everyone
    /// not registered on their own.
    pub end_user: String,
    /// The member account (created when it does not exist).
    pub account: String,
}

/// A registered end user as listed: the identifier is not kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegisteredEndUser {
    /// The organisation account.
    pub organization: String,
    /// Hex SHA-256 of the identifier; `*` for [`EVERY_END_USER`].
    pub end_user_sha256: String,
    /// The member account.
    pub account: String,
    /// When it was registered (RFC 3339).
    pub registered_at: String,
}

/// What a registration did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Registered {
    /// End users registered or moved to another account.
    pub registered: usize,
    /// Member accounts created for them, in the order named.
    pub created: Vec<String>,
}

/// The member account a request's end user resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct EndUserAccount {
    /// The member account.
    pub account: AccountRecord,
    /// Whether it stands for every unregistered end user rather than for
    /// the one named.
    pub everyone: bool,
}

/// What is stored for an identifier: the hex SHA-256 of the organisation and
/// the identifier, or `*` for [`EVERY_END_USER`].
///
/// The organisation is hashed in so that one person's identifier at two
/// organisations does not give the same stored value.
pub fn end_user_digest(organization: &str, end_user: &str) -> String {
    if end_user == EVERY_END_USER {
        return EVERY_END_USER.to_owned();
    }
    let mut h = Sha256::new();
    h.update(organization.as_bytes());
    h.update([0]);
    h.update(end_user.as_bytes());
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

fn invalid(organization: &str, message: String) -> StoreError {
    StoreError::InvalidPatch {
        id: organization.to_owned(),
        message,
    }
}

/// The organisation's legal name, which its members carry as
/// `organization.name`: its `name`, else its own `organization.name` (as
/// [`Subject::legal_name`](cordon_subject::Subject::legal_name) reads it).
fn organization_name(rec: &AccountRecord) -> Option<&str> {
    let s = &rec.subject;
    if s.get("kind").and_then(Value::as_str) != Some("organization") {
        return None;
    }
    fn text(v: &Value) -> Option<&str> {
        v.as_str()
            .or_else(|| v.get("value").and_then(Value::as_str))
    }
    s.get("name")
        .and_then(text)
        .or_else(|| s.pointer("/organization/name").and_then(text))
}

/// Whether `rec` is an individual member of the organisation called `name`.
fn is_member(rec: &AccountRecord, name: &str) -> bool {
    let s = &rec.subject;
    let individual = s
        .get("kind")
        .and_then(Value::as_str)
        .is_none_or(|k| k == "individual");
    individual && s.pointer("/organization/name").and_then(Value::as_str) == Some(name)
}

/// What registering, removing and resolving end users needs from a
/// backend, inside one of its transactions. The rules (what may be
/// registered, what is created, what is journaled) are here, once; each
/// backend only reads and writes rows.
pub(crate) trait EndUserRows {
    /// The account with this id, if any.
    fn account(&mut self, id: &str) -> Result<Option<AccountRecord>, StoreError>;
    /// Whether an account with this id exists (its subject is not read).
    fn exists(&mut self, id: &str) -> Result<bool, StoreError>;
    /// Inserts a new account with a validated, canonical subject.
    fn insert_account(
        &mut self,
        id: &str,
        subject: &Map<String, Value>,
        now: &str,
    ) -> Result<(), StoreError>;
    /// Registers `digest` of `organization` for `account`, replacing an
    /// earlier registration of it.
    fn register(
        &mut self,
        organization: &str,
        digest: &str,
        account: &str,
        now: &str,
    ) -> Result<(), StoreError>;
    /// Removes the registration of `digest`; returns how many rows went.
    fn unregister(&mut self, organization: &str, digest: &str) -> Result<usize, StoreError>;
    /// The account registered for `digest`, if any.
    fn registered(
        &mut self,
        organization: &str,
        digest: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Journals one change.
    fn journal(
        &mut self,
        now: &str,
        actor: &str,
        action: &str,
        subject: &str,
        details: Value,
    ) -> Result<(), StoreError>;
}

/// Registers end users of `organization` through `rows`, all or none (the
/// caller rolls back on an error), journaling every member account created
/// and the registration. The caller screens the created accounts and bumps
/// the change counter.
pub(crate) fn register(
    rows: &mut impl EndUserRows,
    j: &Jurisdictions,
    actor: &str,
    organization: &str,
    registrations: &[Registration],
    now: &str,
) -> Result<Registered, StoreError> {
    let org = rows
        .account(organization)?
        .ok_or_else(|| StoreError::AccountNotFound {
            id: organization.to_owned(),
        })?;
    let name = organization_name(&org)
        .ok_or_else(|| {
            invalid(
                organization,
                "is not an organisation account with a name its members carry".to_owned(),
            )
        })?
        .to_owned();
    let mut out = Registered::default();
    let mut accounts = Vec::with_capacity(registrations.len());
    for (k, r) in registrations.iter().enumerate() {
        if r.end_user.is_empty() || r.end_user.len() > MAX_END_USER_LEN {
            return Err(invalid(
                organization,
                format!("end_users[{k}].id must be 1 to {MAX_END_USER_LEN} bytes"),
            ));
        }
        validate_account_id(&r.account).map_err(|_| {
            invalid(
                organization,
                format!(
                    "end_users[{k}].account `{}` is not an account id (1-64 characters of a-z, 0-9, `.`, `_`, `-`)",
                    r.account
                ),
            )
        })?;
        if r.account == organization {
            return Err(invalid(
                organization,
                format!("end_users[{k}].account is the organisation itself"),
            ));
        }
        match rows.account(&r.account)? {
            Some(rec) if is_member(&rec, &name) => {}
            Some(_) => {
                return Err(invalid(
                    organization,
                    format!(
                        "end_users[{k}].account `{}` is not an individual member of `{organization}` (its `organization.name` is not `{name}`)",
                        r.account
                    ),
                ));
            }
            None if out.created.contains(&r.account) => {}
            None => {
                let subject = crate::account::canonical_subject(
                    &r.account,
                    json!({
                        "kind": "individual",
                        "organization": {
                            "name": name,
                            "verification": "attested",
                            "source": organization,
                        },
                    }),
                    j,
                )?;
                rows.insert_account(&r.account, &subject, now)?;
                rows.journal(
                    now,
                    actor,
                    "account.created",
                    &r.account,
                    json!({ "subject": subject, "end_user_of": organization }),
                )?;
                out.created.push(r.account.clone());
            }
        }
        let digest = end_user_digest(organization, &r.end_user);
        rows.register(organization, &digest, &r.account, now)?;
        out.registered += 1;
        accounts.push(r.account.clone());
    }
    accounts.sort_unstable();
    accounts.dedup();
    rows.journal(
        now,
        actor,
        "end_users.registered",
        organization,
        json!({ "count": out.registered, "accounts": accounts }),
    )?;
    Ok(out)
}

/// Refuses a call that registers or removes no end user or too many, before
/// anything is read.
pub(crate) fn check_count(organization: &str, n: usize, verb: &str) -> Result<(), StoreError> {
    if n == 0 || n > MAX_PER_CALL {
        return Err(invalid(
            organization,
            format!("{verb} 1 to {MAX_PER_CALL} end users at a time"),
        ));
    }
    Ok(())
}

/// Removes end users of `organization` through `rows`, journaling the
/// removal when any was registered; returns how many were. The caller bumps
/// the change counter when that is more than none.
pub(crate) fn remove(
    rows: &mut impl EndUserRows,
    actor: &str,
    organization: &str,
    end_users: &[String],
    now: &str,
) -> Result<usize, StoreError> {
    if !rows.exists(organization)? {
        return Err(StoreError::AccountNotFound {
            id: organization.to_owned(),
        });
    }
    let mut removed = 0;
    for e in end_users {
        removed += rows.unregister(organization, &end_user_digest(organization, e))?;
    }
    if removed > 0 {
        rows.journal(
            now,
            actor,
            "end_users.removed",
            organization,
            json!({ "count": removed }),
        )?;
    }
    Ok(removed)
}

/// The member account an end user of `organization` resolves to, read
/// through `rows`: the one registered for the identifier, else the one
/// registered for [`EVERY_END_USER`], else none.
pub(crate) fn resolve(
    rows: &mut impl EndUserRows,
    organization: &str,
    end_user: Option<&str>,
) -> Result<Option<EndUserAccount>, StoreError> {
    let named = match end_user {
        Some(e) if e != EVERY_END_USER => {
            rows.registered(organization, &end_user_digest(organization, e))?
        }
        _ => None,
    };
    let (account, everyone) = match named {
        Some(a) => (a, false),
        None => match rows.registered(organization, EVERY_END_USER)? {
            Some(a) => (a, true),
            None => return Ok(None),
        },
    };
    Ok(rows
        .account(&account)?
        .map(|account| EndUserAccount { account, everyone }))
}

/// The SQLite rows of end users, in the caller's transaction.
struct Lite<'a>(&'a Connection);

impl EndUserRows for Lite<'_> {
    fn account(&mut self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        read_account(self.0, id)
    }

    fn exists(&mut self, id: &str) -> Result<bool, StoreError> {
        exists(self.0, id)
    }

    fn insert_account(
        &mut self,
        id: &str,
        subject: &Map<String, Value>,
        now: &str,
    ) -> Result<(), StoreError> {
        insert_account(self.0, id, subject, now)
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
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (organization, end_user_sha256)
             DO UPDATE SET account = excluded.account, registered_at = excluded.registered_at",
            params![organization, digest, account, now],
        )?;
        Ok(())
    }

    fn unregister(&mut self, organization: &str, digest: &str) -> Result<usize, StoreError> {
        Ok(self.0.execute(
            "DELETE FROM end_users WHERE organization = ?1 AND end_user_sha256 = ?2",
            params![organization, digest],
        )?)
    }

    fn registered(
        &mut self,
        organization: &str,
        digest: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT account FROM end_users WHERE organization = ?1 AND end_user_sha256 = ?2",
                params![organization, digest],
                |r| r.get::<_, String>(0),
            )
            .optional()?)
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

impl SqliteStore {
    /// Registers end users of organisation `organization`, all or none.
    ///
    /// A member account that does not exist is created as an individual
    /// whose `organization.name` is the organisation's name, attested by the
    /// organisation, and with nothing else known: facts about the person
    /// arrive as evidence. One that exists must be an individual member of
    /// the organisation. Registering an identifier again moves it to the
    /// account now named. Journaled as `end_users.registered` with the
    /// member accounts, never the identifiers.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`] for the organisation,
    /// [`StoreError::InvalidPatch`] naming the entry when the organisation is
    /// not one, an identifier is empty or too long, an account id is invalid,
    /// or an existing account is not a member; nothing is recorded then.
    pub fn register_end_users(
        &self,
        organization: &str,
        registrations: &[Registration],
    ) -> Result<Registered, StoreError> {
        check_count(organization, registrations.len(), "register")?;
        let lists = self.active_lists()?;
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = register(
            &mut Lite(&tx),
            self.jurisdictions(),
            self.actor(),
            organization,
            registrations,
            &now,
        )?;
        let created: Vec<&str> = out.created.iter().map(String::as_str).collect();
        crate::screening::screen_accounts(
            &tx,
            self.jurisdictions(),
            &created,
            lists.as_ref(),
            self.clock_now(),
        )?;
        bump(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Removes end users of `organization`; their member accounts stay.
    /// Returns how many were registered.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`] for the organisation,
    /// [`StoreError::InvalidPatch`] for an empty or oversized list.
    pub fn remove_end_users(
        &self,
        organization: &str,
        end_users: &[String],
    ) -> Result<usize, StoreError> {
        check_count(organization, end_users.len(), "remove")?;
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let removed = remove(&mut Lite(&tx), self.actor(), organization, end_users, &now)?;
        if removed > 0 {
            bump(&tx)?;
        }
        tx.commit()?;
        Ok(removed)
    }

    /// The end users registered for `organization`, by member account.
    ///
    /// # Errors
    /// Only storage failures.
    pub fn end_users(&self, organization: &str) -> Result<Vec<RegisteredEndUser>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT organization, end_user_sha256, account, registered_at FROM end_users
             WHERE organization = ?1 ORDER BY account, end_user_sha256",
        )?;
        let rows = stmt.query_map([organization], |r| {
            Ok(RegisteredEndUser {
                organization: r.get(0)?,
                end_user_sha256: r.get(1)?,
                account: r.get(2)?,
                registered_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The member account an end user of `organization` resolves to: the one
    /// registered for the identifier, else the one registered for
    /// [`EVERY_END_USER`], else none. With no identifier, only the latter.
    ///
    /// # Errors
    /// Only storage failures.
    pub fn end_user_account(
        &self,
        organization: &str,
        end_user: Option<&str>,
    ) -> Result<Option<EndUserAccount>, StoreError> {
        resolve(&mut Lite(&self.lock()), organization, end_user)
    }
}

#[cfg(test)]
mod tests;
