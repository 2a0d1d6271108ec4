//! Hits and reviewers' dispositions: reading them, and recording a disposition.

use std::collections::HashMap;

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::{RestrictedList, ScreeningStatus};
use jiff::Timestamp;
use serde_json::Value;

use super::rows::{
    DispositionRow, HitRow, RawDisposition, RawHit, ScreeningBackend, ScreeningRows,
};
use super::{Disposition, Hit, MatchedBy, ReviewDecision, parse_status, resolve, status_str};
use crate::{SqliteStore, StoreError};

/// The latest disposition of each hit by (account, list, uid): entry version and decision.
pub(super) type Decisions = HashMap<(String, RestrictedList, String), (String, ReviewDecision)>;

/// Longest reviewer name, in characters.
const MAX_REVIEWER_LEN: usize = 200;
/// Longest disposition note, in characters.
const MAX_NOTE_LEN: usize = 4000;

/// Records a reviewer's decision on an account's current hit
/// ([`SqliteStore::set_disposition`]), inside `rows`' write transaction.
#[expect(clippy::too_many_arguments, reason = "one argument per recorded field")]
pub(crate) fn set(
    rows: &mut dyn ScreeningRows,
    j: &Jurisdictions,
    account: &str,
    list: RestrictedList,
    uid: &str,
    decision: ReviewDecision,
    reviewer: &str,
    note: Option<&str>,
    now: Timestamp,
) -> Result<Disposition, StoreError> {
    let (reviewer, note) = checked(account, reviewer, note)?;
    let hit = read_hits(rows, Some(account))?
        .into_iter()
        .find(|h| h.list == list && h.uid == uid);
    let Some(hit) = hit else {
        if !rows.account_exists(account)? {
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
    let id = rows.insert_disposition(&DispositionRow {
        account,
        list: list.code(),
        uid,
        entry_version: &hit.entry_version,
        status: decision.as_str(),
        reviewer,
        note,
        decided_at: now.to_string(),
    })?;
    rows.journal(
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
    resolve::refresh(rows, j, now)?;
    rows.bump()?;
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

/// The reviewer and note trimmed, or why they cannot be recorded.
fn checked<'a>(
    account: &str,
    reviewer: &'a str,
    note: Option<&'a str>,
) -> Result<(&'a str, Option<&'a str>), StoreError> {
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
    Ok((reviewer, note))
}

/// Every disposition recorded for `account`, oldest first, each marked with
/// whether it decides the current hit.
pub(crate) fn of_account(
    rows: &mut dyn ScreeningRows,
    account: &str,
) -> Result<Vec<Disposition>, StoreError> {
    if !rows.account_exists(account)? {
        return Err(StoreError::AccountNotFound {
            id: account.to_owned(),
        });
    }
    let current: HashMap<(RestrictedList, String), String> = read_hits(rows, Some(account))?
        .into_iter()
        .map(|h| ((h.list, h.uid), h.entry_version))
        .collect();
    let mut out = rows
        .dispositions(account)?
        .into_iter()
        .map(disposition_from_raw)
        .collect::<Result<Vec<_>, _>>()?;
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

/// The current hits of `account`, owners' hits included.
pub(crate) fn hits_of(rows: &mut dyn ScreeningRows, account: &str) -> Result<Vec<Hit>, StoreError> {
    if !rows.account_exists(account)? {
        return Err(StoreError::AccountNotFound {
            id: account.to_owned(),
        });
    }
    read_hits(rows, Some(account))
}

/// Every hit awaiting a reviewer, but those of the ownership rules.
pub(crate) fn pending(rows: &mut dyn ScreeningRows) -> Result<Vec<Hit>, StoreError> {
    Ok(read_hits(rows, None)?
        .into_iter()
        .filter(|h| h.status == ScreeningStatus::Pending && !super::is_derived_uid(&h.uid))
        .collect())
}

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
        let j = self.jurisdictions();
        self.writing(|rows| set(rows, j, account, list, uid, decision, reviewer, note, now))
    }

    /// Every disposition recorded for an account, oldest first, each marked
    /// with whether it decides the current hit.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn dispositions(&self, account: &str) -> Result<Vec<Disposition>, StoreError> {
        self.reading(|rows| of_account(rows, account))
    }

    /// The current hits of an account, by list and entry id, owners' hits included.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn hits(&self, account: &str) -> Result<Vec<Hit>, StoreError> {
        self.reading(|rows| hits_of(rows, account))
    }

    /// Every hit awaiting a reviewer, by account, list and entry id. Hits of
    /// the 50 percent rule are left out: they follow their owners' hits.
    ///
    /// # Errors
    /// [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn pending_hits(&self) -> Result<Vec<Hit>, StoreError> {
        self.reading(pending)
    }
}

/// The stored hits of one account, or of all, ordered by account, list and id.
pub(super) fn read_hits(
    rows: &mut dyn ScreeningRows,
    account: Option<&str>,
) -> Result<Vec<Hit>, StoreError> {
    rows.hits(account)?.into_iter().map(hit_from_raw).collect()
}

/// Writes one hit.
pub(super) fn insert_hit(rows: &mut dyn ScreeningRows, h: &Hit) -> Result<(), StoreError> {
    let matched_by: Vec<String> = h.matched_by.iter().map(|m| m.path()).collect();
    let ownership = h
        .ownership
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    rows.insert_hit(&HitRow {
        account: &h.account,
        list: h.list.code(),
        uid: &h.uid,
        entry_version: &h.entry_version,
        entry_name: &h.entry_name,
        matched_name: &h.matched_name,
        matched_by: matched_by.join(","),
        score: h.score,
        status: status_str(h.status),
        ownership,
        first_seen: h.first_seen.to_string(),
    })
}

/// The latest disposition of every hit, by (account, list, uid), and the
/// highest disposition id (to notice dispositions recorded later).
pub(super) fn latest_dispositions(
    rows: &mut dyn ScreeningRows,
) -> Result<(Decisions, i64), StoreError> {
    let mut out = HashMap::new();
    let mut watermark = 0;
    for (id, account, list, uid, version, status) in rows.decisions()? {
        let list = parse_list(&list)?;
        let decision = ReviewDecision::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("disposition {id}: status `{status}`")))?;
        out.insert((account, list, uid), (version, decision));
        watermark = id;
    }
    Ok((out, watermark))
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
