//! Licences as records: recorded by staff or submitted by the holder
//! organisation, approved, revoked, and attached to the subjects of the
//! accounts they cover.
//!
//! A licence recorded by staff is `active` at once; one the holder
//! organisation submits (`POST /v1/organizations/{id}/licences`) is
//! `pending` until an operator who has checked the document approves it.
//! Either may be revoked. Every change is journaled (`licence.recorded`,
//! `licence.submitted`, `licence.approved`, `licence.revoked`) and bumps
//! the change counter, so gateways drop their cached principals.
//!
//! Whenever the store builds an account's subject for a decision
//! ([`IdentityStore::authenticate`](crate::IdentityStore::authenticate),
//! [`SqliteStore::subject`], [`SqliteStore::licence_index`] for scans) it
//! attaches the active licences of which the account is the holder (an
//! organisation account) or a named individual who is a member of the
//! holder organisation (an individual whose `organization.name` is the
//! holder's name, as for attestations). Whether a licence then lifts a
//! directive for a request is the engine's to decide.

use std::collections::HashMap;

use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_subject::{Licence, Subject, SubjectKind};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::account::stored_subject;
use crate::{SqliteStore, StoreError, changes, sqlite};

/// Who recorded a licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceSource {
    /// Compliance staff, from the document: active at once.
    Staff,
    /// The holder organisation, with its own key: pending until approved.
    OrgSubmission,
}

impl LicenceSource {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceSource::Staff => "staff",
            LicenceSource::OrgSubmission => "org_submission",
        }
    }

    fn parse(s: &str) -> Option<LicenceSource> {
        [LicenceSource::Staff, LicenceSource::OrgSubmission]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a licence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// In the record: attached to the subjects it covers.
    Active,
    /// Submitted by the holder, waiting for an operator's approval; lifts nothing.
    Pending,
    /// Revoked; lifts nothing and cannot come back (record it anew under
    /// another number).
    Revoked,
}

impl LicenceStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceStatus::Active => "active",
            LicenceStatus::Pending => "pending",
            LicenceStatus::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Option<LicenceStatus> {
        [
            LicenceStatus::Active,
            LicenceStatus::Pending,
            LicenceStatus::Revoked,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A licence as stored: the licence and its life in the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LicenceRecord {
    /// The licence itself.
    #[serde(flatten)]
    pub licence: Licence,
    /// Who recorded it.
    pub source_kind: LicenceSource,
    /// Active, pending or revoked.
    pub status: LicenceStatus,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who recorded it (the operator, or the gateway for a submission).
    pub actor: String,
    /// When a pending licence was approved.
    pub approved_at: Option<Timestamp>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

/// The active licences of every account they cover, read once for a scan
/// of the whole store (`cordon simulate`), attached exactly as
/// [`SqliteStore::subject`] attaches them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenceIndex {
    by_account: HashMap<String, Vec<Licence>>,
}

impl LicenceIndex {
    /// The licences attached to `account`, by licence number.
    pub fn of(&self, account: &str) -> &[Licence] {
        self.by_account.get(account).map_or(&[], Vec::as_slice)
    }

    /// Attaches to `subject` the licences of the account it names (its `id`).
    pub fn attach(&self, subject: &mut Subject) {
        if let Some(id) = subject.id.as_deref() {
            subject.licences = self.of(id).to_vec();
        }
    }

    /// How many accounts hold a licence.
    pub fn accounts(&self) -> usize {
        self.by_account.len()
    }

    /// Whether no account holds a licence.
    pub fn is_empty(&self) -> bool {
        self.by_account.is_empty()
    }
}

/// The columns of a licence row, in the order [`Raw`] reads them.
pub(crate) const COLUMNS: &str = "number, authority, directives, holder, individuals, excluded_nationalities, models, conditions, issued, expires, source_kind, status, recorded_at, actor, approved_at, approved_by, revoked_at, revoked_by";

/// A licences row before its columns are checked, as every backend reads
/// it ([`COLUMNS`]; the list columns as JSON text).
pub(crate) struct Raw {
    /// number, authority, directives, holder, individuals,
    /// excluded_nationalities, models.
    pub(crate) text: [String; 7],
    /// conditions.
    pub(crate) conditions: Option<String>,
    /// issued, expires, recorded_at.
    pub(crate) times: [String; 3],
    /// source_kind.
    pub(crate) source_kind: String,
    /// status.
    pub(crate) status: String,
    /// actor.
    pub(crate) actor: String,
    /// approved_at.
    pub(crate) approved_at: Option<String>,
    /// approved_by.
    pub(crate) approved_by: Option<String>,
    /// revoked_at.
    pub(crate) revoked_at: Option<String>,
    /// revoked_by.
    pub(crate) revoked_by: Option<String>,
}

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        text: [
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ],
        conditions: r.get(7)?,
        times: [r.get(8)?, r.get(9)?, r.get(12)?],
        source_kind: r.get(10)?,
        status: r.get(11)?,
        actor: r.get(13)?,
        approved_at: r.get(14)?,
        approved_by: r.get(15)?,
        revoked_at: r.get(16)?,
        revoked_by: r.get(17)?,
    })
}

fn corrupt(number: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("licence `{number}`: {what}"))
}

fn time(number: &str, t: &str) -> Result<Timestamp, StoreError> {
    t.parse()
        .map_err(|e| corrupt(number, format!("time `{t}`: {e}")))
}

fn strings(number: &str, column: &str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(number, format!("`{column}`: {e}")))
}

fn from_raw(r: Raw, j: &Jurisdictions) -> Result<LicenceRecord, StoreError> {
    let [
        number,
        authority,
        directives,
        holder,
        individuals,
        excluded,
        models,
    ] = r.text;
    let [issued, expires, recorded_at] = r.times;
    let excluded_nationalities = strings(&number, "excluded_nationalities", &excluded)?
        .iter()
        .map(|c| {
            CountryCode::parse(c)
                .ok()
                .filter(|c| j.is_country(*c))
                .ok_or_else(|| corrupt(&number, format!("country code `{c}`")))
        })
        .collect::<Result<_, _>>()?;
    let licence = Licence {
        authority,
        directives: strings(&number, "directives", &directives)?,
        holder,
        individuals: strings(&number, "individuals", &individuals)?,
        excluded_nationalities,
        models: strings(&number, "models", &models)?,
        conditions: r.conditions,
        issued: time(&number, &issued)?,
        expires: time(&number, &expires)?,
        number: number.clone(),
    };
    let opt_time = |t: Option<String>| t.map(|t| time(&number, &t)).transpose();
    Ok(LicenceRecord {
        source_kind: LicenceSource::parse(&r.source_kind)
            .ok_or_else(|| corrupt(&number, format!("source kind `{}`", r.source_kind)))?,
        status: LicenceStatus::parse(&r.status)
            .ok_or_else(|| corrupt(&number, format!("status `{}`", r.status)))?,
        recorded_at: time(&number, &recorded_at)?,
        actor: r.actor,
        approved_at: opt_time(r.approved_at)?,
        approved_by: r.approved_by,
        revoked_at: opt_time(r.revoked_at)?,
        revoked_by: r.revoked_by,
        licence,
    })
}

/// Which licences a backend reads, by number.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which<'a> {
    /// Every licence, in every status.
    All,
    /// The active ones.
    Active,
    /// The active ones `account` holds or is named in: the candidates
    /// [`attach`] checks.
    ActiveNaming(&'a str),
}

/// A licence as written, its lists as JSON text.
pub(crate) struct NewRow<'a> {
    /// The licence.
    pub(crate) licence: &'a Licence,
    /// directives, individuals, excluded_nationalities, models as JSON text.
    pub(crate) lists: [String; 4],
    /// issued, expires.
    pub(crate) times: [String; 2],
    /// Who recorded it.
    pub(crate) source: LicenceSource,
    /// Its status from the start.
    pub(crate) status: LicenceStatus,
    /// When it is recorded.
    pub(crate) recorded_at: &'a str,
    /// Who records it.
    pub(crate) actor: &'a str,
}

/// What licences need from a backend, inside one of its transactions (or
/// one consistent read). The rules (what may be recorded, which status
/// changes are allowed, to whom a licence is attached, what is journaled)
/// are the functions of this module, once; each backend reads and writes rows.
pub(crate) trait LicenceRows {
    /// The licence with this number, if any.
    fn read(&mut self, number: &str) -> Result<Option<Raw>, StoreError>;
    /// The licences `which` selects, by number (bytewise).
    fn select(&mut self, which: Which<'_>) -> Result<Vec<Raw>, StoreError>;
    /// The stored subject text of account `id`, if the account exists.
    fn subject_text(&mut self, id: &str) -> Result<Option<String>, StoreError>;
    /// Inserts a new licence, neither approved nor revoked.
    fn insert(&mut self, row: &NewRow<'_>) -> Result<(), StoreError>;
    /// Applies `change` to licence `number`: its status, when and by whom.
    fn set_status(
        &mut self,
        number: &str,
        change: StatusChange,
        now: &str,
        actor: &str,
    ) -> Result<(), StoreError>;
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

/// The licence with this number, checked.
pub(crate) fn read(
    rows: &mut impl LicenceRows,
    number: &str,
    j: &Jurisdictions,
) -> Result<Option<LicenceRecord>, StoreError> {
    rows.read(number)?.map(|r| from_raw(r, j)).transpose()
}

/// The licences `which` selects, checked, by number.
pub(crate) fn select(
    rows: &mut impl LicenceRows,
    which: Which<'_>,
    j: &Jurisdictions,
) -> Result<Vec<LicenceRecord>, StoreError> {
    rows.select(which)?
        .into_iter()
        .map(|r| from_raw(r, j))
        .collect()
}

fn text_of(v: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The subject of account `id` as stored, if the account exists.
pub(crate) fn account_subject(
    rows: &mut impl LicenceRows,
    id: &str,
    j: &Jurisdictions,
) -> Result<Option<Subject>, StoreError> {
    let Some(text) = rows.subject_text(id)? else {
        return Ok(None);
    };
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| StoreError::Corrupt(format!("stored subject of account `{id}`: {e}")))?;
    stored_subject(id, &v, j).map(Some)
}

/// [`account_subject`] for attaching licences: an account whose stored
/// subject no longer reads (edited by hand) holds and confers no licence,
/// rather than stopping every decision that would look at it.
fn readable_subject(
    rows: &mut impl LicenceRows,
    id: &str,
    j: &Jurisdictions,
) -> Result<Option<Subject>, StoreError> {
    match account_subject(rows, id, j) {
        Err(StoreError::Corrupt(_)) => Ok(None),
        other => other,
    }
}

/// The name an organisation account's members carry as their
/// `organization.name`: its legal name; `None` unless it is an
/// organisation with a name.
fn organisation_name(subject: &Subject) -> Option<&str> {
    (subject.kind == SubjectKind::Organization)
        .then(|| subject.legal_name())
        .flatten()
}

/// Whether `subject` is an individual whose `organization.name` is `org`.
fn is_member(subject: &Subject, org: &str) -> bool {
    subject.kind == SubjectKind::Individual
        && subject
            .organization
            .as_ref()
            .is_some_and(|o| o.name.value == org)
}

/// Whether an active licence is attached to the subject of `account`: it
/// is the holder organisation, or a named individual who is a member of it
/// (`holder_name` is the holder's name, when the holder is an organisation
/// account with one).
fn attachable(l: &Licence, account: &str, subject: &Subject, holder_name: Option<&str>) -> bool {
    if account == l.holder {
        subject.kind == SubjectKind::Organization
    } else {
        l.individuals.iter().any(|i| i == account)
            && holder_name.is_some_and(|org| is_member(subject, org))
    }
}

/// Attaches to `subject` (of `account`) the active licences it holds.
pub(crate) fn attach(
    rows: &mut impl LicenceRows,
    account: &str,
    subject: &mut Subject,
    j: &Jurisdictions,
) -> Result<(), StoreError> {
    let candidates = select(rows, Which::ActiveNaming(account), j)?;
    let mut held = Vec::new();
    for r in candidates {
        let holder = if r.licence.holder == account {
            None
        } else {
            readable_subject(rows, &r.licence.holder, j)?
        };
        let name = holder.as_ref().and_then(organisation_name);
        if attachable(&r.licence, account, subject, name) {
            held.push(r.licence);
        }
    }
    subject.licences = held;
    Ok(())
}

/// The subject decisions about account `id` see: its stored subject with
/// the active licences it holds attached; `None` for an unknown account.
pub(crate) fn subject(
    rows: &mut impl LicenceRows,
    id: &str,
    j: &Jurisdictions,
) -> Result<Option<Subject>, StoreError> {
    let Some(mut s) = account_subject(rows, id, j)? else {
        return Ok(None);
    };
    attach(rows, id, &mut s, j)?;
    Ok(Some(s))
}

/// The active licences of every account they cover ([`LicenceIndex`]).
pub(crate) fn index(
    rows: &mut impl LicenceRows,
    j: &Jurisdictions,
) -> Result<LicenceIndex, StoreError> {
    let mut index = LicenceIndex::default();
    for r in select(rows, Which::Active, j)? {
        let l = r.licence;
        let holder = readable_subject(rows, &l.holder, j)?;
        let name = holder.as_ref().and_then(organisation_name);
        let mut covered = Vec::new();
        if let Some(h) = &holder
            && attachable(&l, &l.holder, h, name)
        {
            covered.push(l.holder.clone());
        }
        for id in &l.individuals {
            if let Some(s) = readable_subject(rows, id, j)?
                && attachable(&l, id, &s, name)
            {
                covered.push(id.clone());
            }
        }
        for id in covered {
            index.by_account.entry(id).or_default().push(l.clone());
        }
    }
    Ok(index)
}

/// Records `licence` through `rows` ([`SqliteStore::record_licence`]):
/// checks it against the store, inserts it and journals it. The caller
/// bumps the change counter and commits.
pub(crate) fn record(
    rows: &mut impl LicenceRows,
    j: &Jurisdictions,
    licence: &Licence,
    source: LicenceSource,
    now_ts: Timestamp,
    actor: &str,
) -> Result<LicenceRecord, StoreError> {
    let now = now_ts.to_string();
    check_expiry(licence, now_ts)?;
    if let Some(existing) = read(rows, &licence.number, j)? {
        return Err(StoreError::LicenceExists {
            number: licence.number.clone(),
            status: existing.status.as_str(),
        });
    }
    let holder = account_subject(rows, &licence.holder, j)?.ok_or_else(|| {
        invalid(
            licence,
            "holder",
            format!("no account `{}`", licence.holder),
        )
    })?;
    if holder.kind != SubjectKind::Organization {
        return Err(invalid(
            licence,
            "holder",
            format!(
                "account `{}` is not an organisation (its subject's `kind` is not `organization`)",
                licence.holder
            ),
        ));
    }
    let org = organisation_name(&holder).ok_or_else(|| {
        invalid(
            licence,
            "holder",
            format!(
                "organisation account `{}` has no name to match its members by",
                licence.holder
            ),
        )
    })?;
    for (i, id) in licence.individuals.iter().enumerate() {
        let field = format!("individuals[{i}]");
        let Some(s) = account_subject(rows, id, j)? else {
            return Err(invalid(licence, field, format!("no account `{id}`")));
        };
        if !is_member(&s, org) {
            return Err(invalid(
                licence,
                field,
                format!(
                    "account `{id}` is not a member of `{}` (it is not an individual whose `organization.name` is `{org}`)",
                    licence.holder
                ),
            ));
        }
    }
    let status = match source {
        LicenceSource::Staff => LicenceStatus::Active,
        LicenceSource::OrgSubmission => LicenceStatus::Pending,
    };
    rows.insert(&NewRow {
        licence,
        lists: [
            text_of(&licence.directives)?,
            text_of(&licence.individuals)?,
            text_of(&licence.excluded_nationalities)?,
            text_of(&licence.models)?,
        ],
        times: [licence.issued.to_string(), licence.expires.to_string()],
        source,
        status,
        recorded_at: &now,
        actor,
    })?;
    let action = match source {
        LicenceSource::Staff => "licence.recorded",
        LicenceSource::OrgSubmission => "licence.submitted",
    };
    rows.journal(
        &now,
        actor,
        action,
        &licence.number,
        journal_details(licence, source, status),
    )?;
    read(rows, &licence.number, j)?.ok_or_else(|| StoreError::LicenceNotFound {
        number: licence.number.clone(),
    })
}

/// Refuses a licence that has already expired, before anything is read.
fn check_expiry(licence: &Licence, now: Timestamp) -> Result<(), StoreError> {
    if licence.expires <= now {
        return Err(invalid(
            licence,
            "expires",
            format!("`{}` is in the past (it is now {now})", licence.expires),
        ));
    }
    Ok(())
}

/// A status change a licence may undergo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusChange {
    /// A pending licence approved: active, with when and by whom.
    Approve,
    /// An active or pending licence revoked, with when and by whom.
    Revoke,
}

impl StatusChange {
    /// What the change is called in messages and the journal.
    fn action(self) -> &'static str {
        match self {
            StatusChange::Approve => "approved",
            StatusChange::Revoke => "revoked",
        }
    }

    /// The statuses it may start from.
    fn from(self) -> &'static [LicenceStatus] {
        match self {
            StatusChange::Approve => &[LicenceStatus::Pending],
            StatusChange::Revoke => &[LicenceStatus::Active, LicenceStatus::Pending],
        }
    }
}

/// Changes the status of licence `number` through `rows` and journals it;
/// the caller bumps the change counter and commits.
pub(crate) fn change_status(
    rows: &mut impl LicenceRows,
    j: &Jurisdictions,
    number: &str,
    change: StatusChange,
    now: &str,
    actor: &str,
) -> Result<LicenceRecord, StoreError> {
    let before = read(rows, number, j)?.ok_or_else(|| StoreError::LicenceNotFound {
        number: number.to_owned(),
    })?;
    if !change.from().contains(&before.status) {
        return Err(StoreError::LicenceStatus {
            number: number.to_owned(),
            status: before.status.as_str(),
            action: change.action(),
        });
    }
    rows.set_status(number, change, now, actor)?;
    let after = read(rows, number, j)?.ok_or_else(|| StoreError::LicenceNotFound {
        number: number.to_owned(),
    })?;
    rows.journal(
        now,
        actor,
        &format!("licence.{}", change.action()),
        number,
        json!({
            "holder": after.licence.holder,
            "from": before.status.as_str(),
            "to": after.status.as_str(),
        }),
    )?;
    Ok(after)
}

/// The SQLite rows of licences, on the caller's connection or transaction.
pub(crate) struct Lite<'a>(pub(crate) &'a Connection);

impl LicenceRows for Lite<'_> {
    fn read(&mut self, number: &str) -> Result<Option<Raw>, StoreError> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {COLUMNS} FROM licences WHERE number = ?1"),
                [number],
                raw,
            )
            .optional()?)
    }

    fn select(&mut self, which: Which<'_>) -> Result<Vec<Raw>, StoreError> {
        let (filter, account) = match which {
            Which::All => ("1", None),
            Which::Active => ("status = 'active'", None),
            Which::ActiveNaming(a) => (
                "status = 'active' AND (holder = ?1 OR EXISTS (SELECT 1 FROM json_each(licences.individuals) WHERE json_each.value = ?1))",
                Some(a),
            ),
        };
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM licences WHERE {filter} ORDER BY number"
        ))?;
        let rows = match account {
            Some(a) => stmt.query_map([a], raw)?.collect::<Result<_, _>>()?,
            None => stmt.query_map([], raw)?.collect::<Result<_, _>>()?,
        };
        Ok(rows)
    }

    fn subject_text(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .query_row("SELECT subject FROM accounts WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn insert(&mut self, row: &NewRow<'_>) -> Result<(), StoreError> {
        let l = row.licence;
        let [directives, individuals, excluded, models] = &row.lists;
        let [issued, expires] = &row.times;
        self.0.execute(
            &format!(
                "INSERT INTO licences ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, NULL, NULL, NULL, NULL)"
            ),
            params![
                l.number,
                l.authority,
                directives,
                l.holder,
                individuals,
                excluded,
                models,
                l.conditions,
                issued,
                expires,
                row.source.as_str(),
                row.status.as_str(),
                row.recorded_at,
                row.actor,
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
                "UPDATE licences SET status = 'active', approved_at = ?2, approved_by = ?3 WHERE number = ?1"
            }
            StatusChange::Revoke => {
                "UPDATE licences SET status = 'revoked', revoked_at = ?2, revoked_by = ?3 WHERE number = ?1"
            }
        };
        self.0.execute(sql, params![number, now, actor])?;
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

/// SHA-256 of `text`, hex.
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The journal details of a licence: everything but the free-text
/// conditions, which may name people and are journaled by their hash.
fn journal_details(l: &Licence, source: LicenceSource, status: LicenceStatus) -> Value {
    let mut d = json!({
        "number": l.number,
        "authority": l.authority,
        "directives": l.directives,
        "holder": l.holder,
        "individuals": l.individuals,
        "excluded_nationalities": l.excluded_nationalities,
        "models": l.models,
        "issued": l.issued.to_string(),
        "expires": l.expires.to_string(),
        "source_kind": source.as_str(),
        "status": status.as_str(),
    });
    if let (Some(obj), Some(c)) = (d.as_object_mut(), &l.conditions) {
        obj.insert("conditions_sha256".into(), Value::String(sha256_hex(c)));
    }
    d
}

fn invalid(l: &Licence, field: impl Into<String>, message: impl Into<String>) -> StoreError {
    StoreError::InvalidLicence {
        number: l.number.clone(),
        field: field.into(),
        message: message.into(),
    }
}

impl SqliteStore {
    /// Records a licence: `active` when staff record it, `pending` when the
    /// holder organisation submits it. Checked against the store first, in
    /// the same transaction, so nothing is half-written: the number must be
    /// new, the expiry in the future, the holder an organisation account
    /// with a name, and every named individual an account that is a member
    /// of it. Whether its directives and models exist is for the caller to
    /// check against the directive set and catalog it has.
    ///
    /// # Errors
    /// [`StoreError::LicenceExists`], [`StoreError::InvalidLicence`] naming
    /// the field (`expires`, `holder`, `individuals[1]`), or storage failures.
    pub fn record_licence(
        &self,
        licence: &Licence,
        source: LicenceSource,
    ) -> Result<LicenceRecord, StoreError> {
        let now_ts = self.clock_now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rec = record(
            &mut Lite(&tx),
            self.jurisdictions(),
            licence,
            source,
            now_ts,
            self.actor(),
        )?;
        sqlite::bump(&tx)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Approves a pending licence: it becomes active and is attached to the
    /// subjects it covers from the next decision on.
    ///
    /// # Errors
    /// [`StoreError::LicenceNotFound`], [`StoreError::LicenceStatus`] unless
    /// it is pending, or storage failures.
    pub fn approve_licence(&self, number: &str) -> Result<LicenceRecord, StoreError> {
        self.change_status(number, StatusChange::Approve)
    }

    /// Revokes an active or pending licence: it lifts nothing from the
    /// next decision on.
    ///
    /// # Errors
    /// [`StoreError::LicenceNotFound`], [`StoreError::LicenceStatus`] when it
    /// is already revoked, or storage failures.
    pub fn revoke_licence(&self, number: &str) -> Result<LicenceRecord, StoreError> {
        self.change_status(number, StatusChange::Revoke)
    }

    fn change_status(
        &self,
        number: &str,
        change: StatusChange,
    ) -> Result<LicenceRecord, StoreError> {
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let after = change_status(
            &mut Lite(&tx),
            self.jurisdictions(),
            number,
            change,
            &now,
            self.actor(),
        )?;
        sqlite::bump(&tx)?;
        tx.commit()?;
        Ok(after)
    }

    /// Every licence, in every status, by number.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`] for a row that does not
    /// read back.
    pub fn licences(&self) -> Result<Vec<LicenceRecord>, StoreError> {
        select(&mut Lite(&self.lock()), Which::All, self.jurisdictions())
    }

    /// The licence with this number, if any.
    ///
    /// # Errors
    /// As [`Self::licences`].
    pub fn licence(&self, number: &str) -> Result<Option<LicenceRecord>, StoreError> {
        read(&mut Lite(&self.lock()), number, self.jurisdictions())
    }

    /// The subject decisions about account `id` see: its stored subject,
    /// `id` set, with the active licences it holds attached; `None` for an
    /// unknown account. The gateway, `cordon decide --account` and
    /// `cordon accounts show` all build subjects this way.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn subject(&self, id: &str) -> Result<Option<Subject>, StoreError> {
        subject(&mut Lite(&self.lock()), id, self.jurisdictions())
    }

    /// Attaches to `subject`, taken as account `account`'s, the active
    /// licences it holds, judged against `subject` as given rather than as
    /// stored: what a decision would see if the account's record changed.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn attach_licences(&self, account: &str, subject: &mut Subject) -> Result<(), StoreError> {
        attach(
            &mut Lite(&self.lock()),
            account,
            subject,
            self.jurisdictions(),
        )
    }

    /// The active licences of every account they cover, for a scan of the
    /// whole store: the same licences [`Self::subject`] attaches. A store
    /// from before licences existed (schema version 4 or older, opened read
    /// only) has none.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn licence_index(&self) -> Result<LicenceIndex, StoreError> {
        let conn = self.lock();
        let has_table = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'licences'",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !has_table {
            return Ok(LicenceIndex::default());
        }
        index(&mut Lite(&conn), self.jurisdictions())
    }
}

#[cfg(test)]
mod tests;
