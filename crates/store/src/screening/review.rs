//! Hits and reviewers' dispositions: reading them, and recording a disposition.

use std::collections::HashMap;

use cordon_subject::{RestrictedList, ScreeningStatus};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use super::{Disposition, Hit, MatchedBy, ReviewDecision, parse_status, resolve, status_str};
use crate::{SqliteStore, StoreError};

/// The latest disposition of each hit by (account, list, uid): entry version and decision.
pub(super) type Decisions = HashMap<(String, RestrictedList, String), (String, ReviewDecision)>;

/// Longest reviewer name, in characters.
const MAX_REVIEWER_LEN: usize = 200;
/// Longest disposition note, in characters.
const MAX_NOTE_LEN: usize = 4000;

const HIT_COLUMNS: &str = "account, list, uid, entry_version, entry_name, matched_name, matched_by, \
     score, status, ownership, first_seen";

/// A hit row before its text columns are checked.
type RawHit = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    f64,
    String,
    Option<String>,
    String,
);

/// A disposition row before its text columns are checked.
type RawDisposition = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
);

impl SqliteStore {
    /// Records a reviewer's decision on an account's current hit.
    ///
    /// The decision is kept against the entry version the hit has now, and
    /// applies until the list changes the entry. The account's `screening`
    /// attribute, and those of organisations it owns (the 50 percent rule),
    /// change in the same transaction, and the change counter is bumped so
    /// running gateways reload.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; [`StoreError::HitNotFound`] if the
    /// account has no current hit on that entry; [`StoreError::DerivedHit`] for
    /// a hit of the 50 percent rule; [`StoreError::InvalidDisposition`] for an
    /// empty or over-long reviewer or note.
    #[expect(clippy::too_many_arguments, reason = "one argument per recorded field")]
    pub fn set_disposition(
        &self,
        account: &str,
        list: RestrictedList,
        uid: &str,
        decision: ReviewDecision,
        reviewer: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Disposition, StoreError> {
        let invalid = |message: String| StoreError::InvalidDisposition {
            account: account.to_owned(),
            message,
        };
        let reviewer = reviewer.trim();
        if reviewer.is_empty()
            || reviewer.chars().count() > MAX_REVIEWER_LEN
            || reviewer.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "reviewer `{reviewer}` must be 1 to {MAX_REVIEWER_LEN} characters without control characters"
            )));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE_LEN) {
            return Err(invalid(format!(
                "the note is longer than {MAX_NOTE_LEN} characters"
            )));
        }
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let hit = read_hits(&tx, Some(account))?
            .into_iter()
            .find(|h| h.list == list && h.uid == uid);
        let Some(hit) = hit else {
            if !account_exists(&tx, account)? {
                return Err(StoreError::AccountNotFound {
                    id: account.to_owned(),
                });
            }
            return Err(StoreError::HitNotFound {
                account: account.to_owned(),
                list: list.code().to_owned(),
                uid: uid.to_owned(),
            });
        };
        if super::is_derived_uid(&hit.uid) || hit.matched_by.contains(&MatchedBy::Ownership) {
            return Err(StoreError::DerivedHit {
                account: account.to_owned(),
                list: list.code().to_owned(),
            });
        }
        tx.execute(
            "INSERT INTO screening_dispositions
             (account, list, uid, entry_version, status, reviewer, note, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                account,
                list.code(),
                uid,
                hit.entry_version,
                decision.as_str(),
                reviewer,
                note,
                now.to_string()
            ],
        )?;
        let id = tx.last_insert_rowid();
        crate::changes::record(
            &tx,
            &now.to_string(),
            reviewer,
            "screening.disposition",
            account,
            serde_json::json!({
                "list": list.code(),
                "uid": uid,
                "entry_version": hit.entry_version,
                "decision": decision.as_str(),
                "note": note,
            }),
        )?;
        resolve::refresh(&tx, self.jurisdictions(), now)?;
        crate::sqlite::bump(&tx)?;
        tx.commit()?;
        Ok(Disposition {
            id,
            account: account.to_owned(),
            list,
            uid: uid.to_owned(),
            entry_version: hit.entry_version,
            decision,
            reviewer: reviewer.to_owned(),
            note: note.map(str::to_owned),
            decided_at: now,
            applies: true,
        })
    }

    /// Every disposition recorded for an account, oldest first, each marked
    /// with whether it decides the current hit.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn dispositions(&self, account: &str) -> Result<Vec<Disposition>, StoreError> {
        let conn = self.lock();
        if !account_exists(&conn, account)? {
            return Err(StoreError::AccountNotFound {
                id: account.to_owned(),
            });
        }
        let current: HashMap<(RestrictedList, String), String> = read_hits(&conn, Some(account))?
            .into_iter()
            .map(|h| ((h.list, h.uid), h.entry_version))
            .collect();
        let mut stmt = conn.prepare(
            "SELECT id, account, list, uid, entry_version, status, reviewer, note, decided_at
             FROM screening_dispositions WHERE account = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([account], |r| TryFrom::try_from(r))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(disposition_from_raw(r?)?);
        }
        let mut latest: HashMap<(RestrictedList, &str), i64> = HashMap::new();
        for d in &out {
            latest.insert((d.list, d.uid.as_str()), d.id);
        }
        let applies: Vec<bool> = out
            .iter()
            .map(|d| {
                latest.get(&(d.list, d.uid.as_str())) == Some(&d.id)
                    && current.get(&(d.list, d.uid.clone())) == Some(&d.entry_version)
            })
            .collect();
        for (d, a) in out.iter_mut().zip(applies) {
            d.applies = a;
        }
        Ok(out)
    }

    /// The current hits of an account, by list and entry id, owners' hits included.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn hits(&self, account: &str) -> Result<Vec<Hit>, StoreError> {
        let conn = self.lock();
        if !account_exists(&conn, account)? {
            return Err(StoreError::AccountNotFound {
                id: account.to_owned(),
            });
        }
        read_hits(&conn, Some(account))
    }

    /// Every hit awaiting a reviewer, by account, list and entry id. Hits of
    /// the 50 percent rule are left out: they follow their owners' hits.
    ///
    /// # Errors
    /// [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn pending_hits(&self) -> Result<Vec<Hit>, StoreError> {
        let conn = self.lock();
        Ok(read_hits(&conn, None)?
            .into_iter()
            .filter(|h| h.status == ScreeningStatus::Pending && !super::is_derived_uid(&h.uid))
            .collect())
    }
}

pub(super) fn account_exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row("SELECT 1 FROM accounts WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The stored hits of one account, or of all, ordered by account, list and id.
pub(super) fn read_hits(conn: &Connection, account: Option<&str>) -> Result<Vec<Hit>, StoreError> {
    let sql = match account {
        Some(_) => format!(
            "SELECT {HIT_COLUMNS} FROM screening_hits WHERE account = ?1 ORDER BY account, list, uid"
        ),
        None => format!("SELECT {HIT_COLUMNS} FROM screening_hits ORDER BY account, list, uid"),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let raw = |r: &rusqlite::Row<'_>| -> rusqlite::Result<RawHit> { TryFrom::try_from(r) };
    let rows = match account {
        Some(a) => stmt.query_map([a], raw)?.collect::<Result<Vec<_>, _>>()?,
        None => stmt.query_map([], raw)?.collect::<Result<Vec<_>, _>>()?,
    };
    rows.into_iter().map(hit_from_raw).collect()
}

/// Writes one hit.
pub(super) fn insert_hit(conn: &Connection, h: &Hit) -> Result<(), StoreError> {
    let matched_by: Vec<String> = h.matched_by.iter().map(|m| m.path()).collect();
    let ownership = h
        .ownership
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached(&format!(
        "INSERT INTO screening_hits ({HIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        h.account,
        h.list.code(),
        h.uid,
        h.entry_version,
        h.entry_name,
        h.matched_name,
        matched_by.join(","),
        h.score,
        status_str(h.status),
        ownership,
        h.first_seen.to_string()
    ])?;
    Ok(())
}

/// The latest disposition of every hit, by (account, list, uid), and the
/// highest disposition id (to notice dispositions recorded later).
pub(super) fn latest_dispositions(conn: &Connection) -> Result<(Decisions, i64), StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, account, list, uid, entry_version, status FROM screening_dispositions ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = HashMap::new();
    let mut watermark = 0;
    for r in rows {
        let (id, account, list, uid, version, status) = r?;
        let list = parse_list(&list)?;
        let decision = ReviewDecision::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("disposition {id}: status `{status}`")))?;
        out.insert((account, list, uid), (version, decision));
        watermark = id;
    }
    Ok((out, watermark))
}

/// The highest disposition id.
pub(super) fn disposition_watermark(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(id), 0) FROM screening_dispositions",
        [],
        |r| r.get(0),
    )?)
}

fn parse_list(s: &str) -> Result<RestrictedList, StoreError> {
    RestrictedList::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown list `{s}`")))
}

fn parse_time(what: &str, s: &str) -> Result<Timestamp, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("{what} `{s}` is not a time: {e}")))
}

fn hit_from_raw(
    (
        account,
        list,
        uid,
        entry_version,
        entry_name,
        matched_name,
        matched_by,
        score,
        status,
        ownership,
        first_seen,
    ): RawHit,
) -> Result<Hit, StoreError> {
    let corrupt = |what: &str| {
        StoreError::Corrupt(format!(
            "screening hit `{uid}` on `{list}` of account `{account}`: {what}"
        ))
    };
    let matched_by = matched_by
        .split(',')
        .map(MatchedBy::parse)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| corrupt(&format!("matched_by `{matched_by}`")))?;
    let status = parse_status(&status).ok_or_else(|| corrupt(&format!("status `{status}`")))?;
    let ownership = ownership
        .map(|o| serde_json::from_str::<Value>(&o))
        .transpose()
        .map_err(|e| corrupt(&format!("ownership: {e}")))?;
    Ok(Hit {
        list: parse_list(&list)?,
        first_seen: parse_time("first_seen", &first_seen)?,
        account,
        uid,
        entry_version,
        entry_name,
        matched_name,
        matched_by,
        score,
        status,
        ownership,
    })
}

fn disposition_from_raw(
    (id, account, list, uid, entry_version, status, reviewer, note, decided_at): RawDisposition,
) -> Result<Disposition, StoreError> {
    Ok(Disposition {
        id,
        list: parse_list(&list)?,
        decision: ReviewDecision::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("disposition {id}: status `{status}`")))?,
        decided_at: parse_time("decided_at", &decided_at)?,
        account,
        uid,
        entry_version,
        reviewer,
        note,
        applies: false,
    })
}
