//! Copying a SQLite identity store into PostgreSQL, for a single node
//! becoming a fleet: accounts and API keys (what the PostgreSQL store holds
//! so far), in batches, resumable, and verified by counts and hashes.
//!
//! Each batch is one PostgreSQL transaction that inserts rows not already
//! there (`ON CONFLICT DO NOTHING`), so a copy cut short is run again and
//! carries on. Verification then reads both stores in id order and compares
//! a SHA-256 over every row, with subjects compared as JSON values: the
//! PostgreSQL store keeps them as `jsonb`, which does not keep the text's
//! key order or spacing. A row that differs (an account changed in
//! PostgreSQL since an earlier copy) makes the verification fail, naming the
//! table; nothing is overwritten.

use sha2::{Digest, Sha256};

use crate::{PostgresStore, SqliteStore, StoreError};

/// Rows per PostgreSQL transaction.
pub const COPY_BATCH: usize = 1000;

/// What a copy did and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Accounts in the source.
    pub accounts: u64,
    /// Accounts inserted by this run (the rest were there already).
    pub accounts_inserted: u64,
    /// API keys in the source.
    pub keys: u64,
    /// API keys inserted by this run.
    pub keys_inserted: u64,
    /// The hash both stores' accounts agree on, hex.
    pub accounts_sha256: String,
    /// The hash both stores' API keys agree on, hex.
    pub keys_sha256: String,
}

/// One account row, as both stores hold it.
struct AccountRow {
    id: String,
    subject: serde_json::Value,
    disabled: bool,
    created_at: String,
    updated_at: String,
}

/// One API key row, as both stores hold it.
struct KeyRow {
    prefix: String,
    account: String,
    secret_hash: Vec<u8>,
    label: Option<String>,
    created_at: String,
    revoked_at: Option<String>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn sqlite_accounts(s: &SqliteStore) -> Result<Vec<AccountRow>, StoreError> {
    let conn = s.lock();
    let mut stmt = conn.prepare(
        "SELECT id, subject, disabled, created_at, updated_at FROM accounts ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (id, subject, disabled, created_at, updated_at) = r?;
        let subject =
            serde_json::from_str(&subject).map_err(|e| corrupt(&format!("account `{id}`"), e))?;
        out.push(AccountRow {
            id,
            subject,
            disabled: disabled != 0,
            created_at,
            updated_at,
        });
    }
    Ok(out)
}

fn sqlite_keys(s: &SqliteStore) -> Result<Vec<KeyRow>, StoreError> {
    let conn = s.lock();
    let mut stmt = conn.prepare(
        "SELECT prefix, account, secret_hash, label, created_at, revoked_at FROM api_keys ORDER BY prefix",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(KeyRow {
            prefix: r.get(0)?,
            account: r.get(1)?,
            secret_hash: r.get(2)?,
            label: r.get(3)?,
            created_at: r.get(4)?,
            revoked_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn postgres_accounts(p: &PostgresStore) -> Result<Vec<AccountRow>, StoreError> {
    let rows = p.client()?.query(
        "SELECT id, subject::text, disabled, created_at, updated_at FROM accounts ORDER BY id COLLATE \"C\"",
        &[],
    )?;
    rows.into_iter()
        .map(|r| {
            let id: String = r.try_get(0)?;
            let text: String = r.try_get(1)?;
            let subject =
                serde_json::from_str(&text).map_err(|e| corrupt(&format!("account `{id}`"), e))?;
            Ok(AccountRow {
                id,
                subject,
                disabled: r.try_get(2)?,
                created_at: r.try_get(3)?,
                updated_at: r.try_get(4)?,
            })
        })
        .collect()
}

fn postgres_keys(p: &PostgresStore) -> Result<Vec<KeyRow>, StoreError> {
    let rows = p.client()?.query(
        "SELECT prefix, account, secret_hash, label, created_at, revoked_at FROM api_keys ORDER BY prefix COLLATE \"C\"",
        &[],
    )?;
    rows.into_iter()
        .map(|r| {
            Ok(KeyRow {
                prefix: r.try_get(0)?,
                account: r.try_get(1)?,
                secret_hash: r.try_get(2)?,
                label: r.try_get(3)?,
                created_at: r.try_get(4)?,
                revoked_at: r.try_get(5)?,
            })
        })
        .collect()
}

/// A field into the running hash, length-prefixed so no two rows collide
/// by where one field ends and the next begins.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
    h.update(bytes);
}

fn accounts_hash(rows: &[AccountRow]) -> String {
    let mut h = Sha256::new();
    for r in rows {
        field(&mut h, r.id.as_bytes());
        // serde_json's maps are sorted by key: one text per value.
        field(&mut h, r.subject.to_string().as_bytes());
        field(&mut h, &[u8::from(r.disabled)]);
        field(&mut h, r.created_at.as_bytes());
        field(&mut h, r.updated_at.as_bytes());
    }
    hex(&h.finalize())
}

fn keys_hash(rows: &[KeyRow]) -> String {
    let mut h = Sha256::new();
    for r in rows {
        field(&mut h, r.prefix.as_bytes());
        field(&mut h, r.account.as_bytes());
        field(&mut h, &r.secret_hash);
        field(&mut h, r.label.as_deref().unwrap_or("\u{0}").as_bytes());
        field(&mut h, r.created_at.as_bytes());
        field(
            &mut h,
            r.revoked_at.as_deref().unwrap_or("\u{0}").as_bytes(),
        );
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies `from`'s accounts and keys into `to`, calling `progress(done,
/// total)` after each batch, then verifies both stores hold the same rows.
///
/// # Errors
/// Storage failures; [`StoreError::CopyMismatch`] when the stores differ
/// after the copy (naming the table and both hashes).
pub fn sqlite_to_postgres(
    from: &SqliteStore,
    to: &PostgresStore,
    mut progress: impl FnMut(u64, u64),
) -> Result<CopyReport, StoreError> {
    let accounts = sqlite_accounts(from)?;
    let keys = sqlite_keys(from)?;
    let total = u64::try_from(accounts.len() + keys.len()).unwrap_or(u64::MAX);
    let mut done = 0u64;
    let mut report = CopyReport {
        accounts: u64::try_from(accounts.len()).unwrap_or(u64::MAX),
        keys: u64::try_from(keys.len()).unwrap_or(u64::MAX),
        ..CopyReport::default()
    };
    // One statement per batch (arrays unnested server-side): a round trip
    // per batch, not per row.
    for batch in accounts.chunks(COPY_BATCH) {
        let ids: Vec<&str> = batch.iter().map(|r| r.id.as_str()).collect();
        let subjects: Vec<String> = batch.iter().map(|r| r.subject.to_string()).collect();
        let disabled: Vec<bool> = batch.iter().map(|r| r.disabled).collect();
        let created: Vec<&str> = batch.iter().map(|r| r.created_at.as_str()).collect();
        let updated: Vec<&str> = batch.iter().map(|r| r.updated_at.as_str()).collect();
        report.accounts_inserted += to.write(|tx| {
            Ok(tx.execute(
                "INSERT INTO accounts (id, subject, disabled, created_at, updated_at)
                 SELECT id, subject::jsonb, disabled, created_at, updated_at
                 FROM UNNEST($1::text[], $2::text[], $3::bool[], $4::text[], $5::text[])
                      AS t (id, subject, disabled, created_at, updated_at)
                 ON CONFLICT (id) DO NOTHING",
                &[&ids, &subjects, &disabled, &created, &updated],
            )?)
        })?;
        done += u64::try_from(batch.len()).unwrap_or(u64::MAX);
        progress(done, total);
    }
    for batch in keys.chunks(COPY_BATCH) {
        let prefixes: Vec<&str> = batch.iter().map(|r| r.prefix.as_str()).collect();
        let accounts: Vec<&str> = batch.iter().map(|r| r.account.as_str()).collect();
        let hashes: Vec<&[u8]> = batch.iter().map(|r| r.secret_hash.as_slice()).collect();
        let labels: Vec<Option<&str>> = batch.iter().map(|r| r.label.as_deref()).collect();
        let created: Vec<&str> = batch.iter().map(|r| r.created_at.as_str()).collect();
        let revoked: Vec<Option<&str>> = batch.iter().map(|r| r.revoked_at.as_deref()).collect();
        report.keys_inserted += to.write(|tx| {
            Ok(tx.execute(
                "INSERT INTO api_keys (prefix, account, secret_hash, label, created_at, revoked_at)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::text[])
                 ON CONFLICT (prefix) DO NOTHING",
                &[&prefixes, &accounts, &hashes, &labels, &created, &revoked],
            )?)
        })?;
        done += u64::try_from(batch.len()).unwrap_or(u64::MAX);
        progress(done, total);
    }
    // Nodes drop what they cached: the store changed under them.
    to.write(|tx| {
        crate::postgres::bump_after_copy(tx, report.accounts_inserted, report.keys_inserted)
    })?;
    let (source, copied) = (
        accounts_hash(&accounts),
        accounts_hash(&postgres_accounts(to)?),
    );
    if source != copied {
        return Err(StoreError::CopyMismatch {
            table: "accounts",
            source_sha256: source,
            copied_sha256: copied,
        });
    }
    let (source_k, copied_k) = (keys_hash(&keys), keys_hash(&postgres_keys(to)?));
    if source_k != copied_k {
        return Err(StoreError::CopyMismatch {
            table: "api_keys",
            source_sha256: source_k,
            copied_sha256: copied_k,
        });
    }
    report.accounts_sha256 = source;
    report.keys_sha256 = source_k;
    Ok(report)
}
