//! Evidence: every fact received about an account, and the account's
//! subject derived from its record and the evidence in force
//! ([`cordon_verification::derive`]).
//!
//! An account's *record* is what staff and imports wrote (`accounts add`,
//! `set`, `import`); until the first evidence arrives it is the stored
//! subject itself (the `record` column is `NULL`). From then on the record
//! is kept apart and the subject is derived again whenever the record or the
//! evidence changes, in the same transaction, with the change counter
//! bumped, so the gateway's next request sees the new facts.
//!
//! Deliveries are remembered by (source, delivery id): a replay changes
//! nothing and reports what the first delivery did.

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::VerificationLevel;
use cordon_verification::{Contradiction, Event, EventKind, Evidence, SourceKind, derive};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value, json};

use crate::{SqliteStore, StoreError, changes, sqlite};

/// What became of a verification event.
#[derive(Debug, Clone, PartialEq)]
pub enum Intake {
    /// Its facts were recorded (or, for a revocation, the source's facts
    /// withdrawn) and the subject derived again.
    Accepted {
        /// Evidence rows written (or withdrawn).
        rows: usize,
        /// Whether the derived subject changed.
        changed: bool,
        /// Contradictions the derivation found.
        contradictions: Vec<Contradiction>,
    },
    /// Not a decision (requires input, in review): nothing changed.
    Pending,
    /// The account does not exist: kept as an orphan delivery.
    Orphan,
    /// The delivery id was seen before; nothing changed.
    Replay {
        /// What the first delivery came to.
        first: String,
    },
}

impl Intake {
    /// The short name stored with the delivery and used in metrics.
    pub fn outcome(&self) -> &str {
        match self {
            Intake::Accepted { .. } => "accepted",
            Intake::Pending => "pending",
            Intake::Orphan => "orphan",
            Intake::Replay { .. } => "replay",
        }
    }
}

/// A verification event as the store takes it.
#[derive(Debug, Clone, Copy)]
pub struct Delivered<'a> {
    /// The configured source's name.
    pub source: &'a str,
    /// What kind of party it is.
    pub kind: SourceKind,
    /// The delivery's id, the idempotency key.
    pub delivery_id: Option<&'a str>,
    /// SHA-256 of the raw payload, hex.
    pub payload_sha256: &'a str,
    /// The event.
    pub event: &'a Event,
}

/// An evidence row before its columns are checked, as every backend reads
/// it ([`EVIDENCE_COLUMNS`]; `value` as JSON text).
pub(crate) type RawEvidence = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
    Option<String>,
);

/// The columns of an evidence row, in the order [`RawEvidence`] holds them.
pub(crate) const EVIDENCE_COLUMNS: &str = "id, account, attribute, value, level, source_kind, source, object_id, trust_framework, method, document_country, verified_at, expires_at, received_at, delivery_id, payload_sha256, withdrawn_at";

fn corrupt(what: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("evidence {what}: {e}"))
}

fn opt_time(v: Option<String>) -> Result<Option<Timestamp>, StoreError> {
    v.map(|t| {
        t.parse()
            .map_err(|e| corrupt("time")(format!("`{t}`: {e}")))
    })
    .transpose()
}

fn evidence_from_raw(r: RawEvidence) -> Result<Evidence, StoreError> {
    let (
        id,
        account,
        attribute,
        value,
        level,
        source_kind,
        source,
        object_id,
        trust_framework,
        method,
        document_country,
        verified_at,
        expires_at,
        received_at,
        delivery_id,
        payload_sha256,
        withdrawn_at,
    ) = r;
    Ok(Evidence {
        id,
        attribute: cordon_verification::Attribute::from_field(&attribute)
            .ok_or_else(|| corrupt("attribute")(attribute.clone()))?,
        value: serde_json::from_str(&value).map_err(|e| corrupt("value")(e.to_string()))?,
        level: VerificationLevel::parse(&level).ok_or_else(|| corrupt("level")(level.clone()))?,
        source_kind: SourceKind::parse(&source_kind)
            .ok_or_else(|| corrupt("source kind")(source_kind.clone()))?,
        source,
        object_id,
        trust_framework,
        method,
        document_country,
        verified_at: opt_time(verified_at)?,
        expires_at: opt_time(expires_at)?,
        received_at: received_at
            .parse()
            .map_err(|e| corrupt("received_at")(format!("`{received_at}`: {e}")))?,
        delivery_id,
        payload_sha256,
        withdrawn_at: opt_time(withdrawn_at)?,
        account,
    })
}

/// One evidence row to write, its value as JSON text.
pub(crate) struct NewEvidence<'a> {
    /// The account.
    pub(crate) account: &'a str,
    /// The attribute's field name.
    pub(crate) attribute: &'static str,
    /// The value, as JSON text.
    pub(crate) value: String,
    /// The level's name.
    pub(crate) level: &'static str,
    /// The source kind's name.
    pub(crate) source_kind: &'static str,
    /// The configured source's name.
    pub(crate) source: &'a str,
    /// The object (session, check) the source stated it about.
    pub(crate) object_id: Option<&'a str>,
    /// The trust framework the source named.
    pub(crate) trust_framework: Option<&'a str>,
    /// How the fact was checked.
    pub(crate) method: Option<&'a str>,
    /// The country of the document checked.
    pub(crate) document_country: Option<&'a str>,
    /// When it was verified (RFC 3339).
    pub(crate) verified_at: Option<String>,
    /// When it expires (RFC 3339).
    pub(crate) expires_at: Option<String>,
    /// When it arrived.
    pub(crate) received_at: &'a str,
    /// The delivery it came in.
    pub(crate) delivery_id: Option<&'a str>,
    /// SHA-256 of the delivery's payload, hex.
    pub(crate) payload_sha256: &'a str,
    /// When it was withdrawn: at arrival for a fact from before a
    /// revocation already received.
    pub(crate) withdrawn_at: Option<&'a str>,
}

/// A delivery as remembered, for replays.
pub(crate) struct DeliveryRow<'a> {
    /// The configured source's name.
    pub(crate) source: &'a str,
    /// The delivery's id.
    pub(crate) delivery_id: &'a str,
    /// When it arrived.
    pub(crate) received_at: &'a str,
    /// What it came to ([`Intake::outcome`]).
    pub(crate) outcome: &'a str,
    /// The account it is about.
    pub(crate) account: &'a str,
    /// SHA-256 of its payload, hex.
    pub(crate) payload_sha256: &'a str,
    /// The event's own time (RFC 3339).
    pub(crate) event_time: Option<String>,
}

/// An account's record, derived subject and when to derive it again, as
/// written together.
pub(crate) struct Derivation<'a> {
    /// The account.
    pub(crate) id: &'a str,
    /// The record, as JSON text.
    pub(crate) record: &'a str,
    /// The derived subject, as JSON text.
    pub(crate) subject: &'a str,
    /// When it was derived.
    pub(crate) updated_at: &'a str,
    /// The second from which it is due to be derived again, if ever.
    pub(crate) rederive_at: Option<i64>,
}

/// What evidence needs from a backend, inside one of its transactions. The
/// rules (replays, orphans, which facts a revocation withdraws, how a
/// subject is derived and when again, what is journaled) are the functions
/// of this module, once; each backend reads and writes rows.
pub(crate) trait EvidenceRows {
    /// What delivery (`source`, `delivery_id`) came to, if it was seen.
    fn delivery_outcome(
        &mut self,
        source: &str,
        delivery_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Remembers a delivery, replacing what an earlier one with its id came to.
    fn remember_delivery(&mut self, d: &DeliveryRow<'_>) -> Result<(), StoreError>;
    /// The record of `id` as JSON text: the `record` column, or the
    /// subject while no evidence was ever received; `None` for an unknown account.
    fn record_text(&mut self, id: &str) -> Result<Option<String>, StoreError>;
    /// The stored subject of `id` as JSON text.
    fn subject_text(&mut self, id: &str) -> Result<Option<String>, StoreError>;
    /// Every evidence row of `account`, oldest first.
    fn evidence(&mut self, account: &str) -> Result<Vec<RawEvidence>, StoreError>;
    /// Writes one evidence row.
    fn insert_evidence(&mut self, row: &NewEvidence<'_>) -> Result<(), StoreError>;
    /// Marks evidence row `id` withdrawn at `now`.
    fn withdraw(&mut self, id: i64, now: &str) -> Result<(), StoreError>;
    /// The times through which revocations of (`account`, `source`) hold
    /// for object `object_id` or for everything (`""`).
    fn revocations(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
    ) -> Result<Vec<String>, StoreError>;
    /// The time through which the revocation of (`account`, `source`)
    /// for exactly `object_id` (`""`: everything) holds, if one was remembered.
    fn revocation(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Remembers the revocation of (`account`, `source`, `object_id`) as
    /// holding through `through`, replacing what was remembered; which of
    /// two revocations is later is decided by [`withdraw`], on times.
    fn store_revocation(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
        through: &str,
    ) -> Result<(), StoreError>;
    /// Stores an account's record, derived subject and next derivation.
    fn store_derivation(&mut self, d: &Derivation<'_>) -> Result<(), StoreError>;
    /// Up to `limit` accounts due to be derived again at second `now`, the
    /// longest due first (then by id, bytewise).
    fn due(&mut self, now: i64, limit: i64) -> Result<Vec<String>, StoreError>;
    /// Sets account `id` aside from derivation until its next change.
    fn set_aside(&mut self, id: &str) -> Result<(), StoreError>;
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

/// Every evidence row of `account`, oldest first.
pub(crate) fn evidence_of(
    rows: &mut impl EvidenceRows,
    account: &str,
) -> Result<Vec<Evidence>, StoreError> {
    rows.evidence(account)?
        .into_iter()
        .map(evidence_from_raw)
        .collect()
}

/// The record of `id` (what staff and imports wrote), read through `rows`.
pub(crate) fn record_of(
    rows: &mut impl EvidenceRows,
    id: &str,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let Some(text) = rows.record_text(id)? else {
        return Ok(None);
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(StoreError::Corrupt(format!(
            "the record of account `{id}` is not an object"
        ))),
        Err(e) => Err(StoreError::Corrupt(format!(
            "the record of account `{id}`: {e}"
        ))),
    }
}

/// The record of `id` (what staff and imports wrote): the `record` column,
/// or the subject while no evidence was ever received. `None` for an
/// unknown account.
pub(crate) fn read_record(
    conn: &rusqlite::Connection,
    id: &str,
) -> Result<Option<Map<String, Value>>, StoreError> {
    record_of(&mut Lite(conn), id)
}

/// Stores `record` as the record of `id` and the subject derived from it
/// and the account's evidence ([`crate::account::store_record`]).
pub(crate) fn store_record(
    tx: &rusqlite::Connection,
    j: &Jurisdictions,
    id: &str,
    record: &Map<String, Value>,
    now: Timestamp,
) -> Result<(), StoreError> {
    crate::account::store_record(&mut Lite(tx), j, id, record, now)
}

/// Whether the stored subject text `before` says something other than
/// `after`. Compared as JSON values, since a backend may store JSON in a
/// form of its own (PostgreSQL's `jsonb` reorders keys and spaces them);
/// text that does not read as JSON is taken as different.
fn subject_differs(before: Option<&str>, after: &Value) -> bool {
    before
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .is_none_or(|b| &b != after)
}

/// Derives the subject of `id` from `record` and its evidence at `now` and
/// stores record, subject and when to derive again: the second after the
/// earliest expiry among the rows in force and the record's values, when a
/// lower-ranked value it hides may count again ([`SqliteStore::rederive_due`]). Returns whether
/// the subject changed, and the derivation.
pub(crate) fn write_derived(
    rows: &mut impl EvidenceRows,
    j: &Jurisdictions,
    id: &str,
    record: &Map<String, Value>,
    now: Timestamp,
) -> Result<(bool, cordon_verification::Derived), StoreError> {
    let before = rows.subject_text(id)?;
    let evidence = evidence_of(rows, id)?;
    let derived = derivation(j, id, record, &evidence, now)?;
    let text =
        serde_json::to_string(&derived.subject).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let record_text =
        serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let record_expiry =
        cordon_verification::evidence::record_expiry(&Value::Object(record.clone()), now);
    let rederive_at = evidence
        .iter()
        .filter(|e| e.in_force(now))
        .filter_map(|e| e.expires_at)
        .chain(record_expiry)
        .min()
        .map(|t| t.as_second().saturating_add(1));
    rows.store_derivation(&Derivation {
        id,
        record: &record_text,
        subject: &text,
        updated_at: &now.to_string(),
        rederive_at,
    })?;
    Ok((
        subject_differs(before.as_deref(), &derived.subject),
        derived,
    ))
}

/// The subject of `id` derived from `record` and its evidence at `now`,
/// checked as every stored subject is.
fn derivation(
    j: &Jurisdictions,
    id: &str,
    record: &Map<String, Value>,
    evidence: &[Evidence],
    now: Timestamp,
) -> Result<cordon_verification::Derived, StoreError> {
    let derived = derive(&Value::Object(record.clone()), evidence, now);
    // Derivation writes only values the sources' events were checked for,
    // so this holds unless the store was edited by hand.
    cordon_subject::SubjectRecord::from_value(derived.subject.clone())
        .into_subject(j)
        .map_err(|e| {
            StoreError::Corrupt(format!(
                "the subject derived for account `{id}` does not check: {e}"
            ))
        })?;
    Ok(derived)
}

/// The record of `account` and the derivation of its subject at `now`.
pub(crate) fn derivation_of(
    rows: &mut impl EvidenceRows,
    j: &Jurisdictions,
    account: &str,
    now: Timestamp,
) -> Result<(Map<String, Value>, cordon_verification::Derived), StoreError> {
    let record = record_of(rows, account)?.ok_or_else(|| StoreError::AccountNotFound {
        id: account.to_owned(),
    })?;
    let evidence = evidence_of(rows, account)?;
    let derived = derivation(j, account, &record, &evidence, now)?;
    Ok((record, derived))
}

/// What one call of [`SqliteStore::rederive_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rederived {
    /// Accounts that were due and derived again.
    pub examined: usize,
    /// Those whose subject changed.
    pub changed: Vec<String>,
    /// Those whose subject no longer derives (a hand-edited store), with
    /// why: set aside until their next change.
    pub failed: Vec<(String, String)>,
}

/// Whether an event of `batch` states a fact screening reads (a verified
/// legal name, the employer, the country hints): its account may have to be
/// screened again.
pub(crate) fn screens(batch: &[Delivered<'_>]) -> bool {
    batch
        .iter()
        .any(|d| d.event.facts.iter().any(|f| f.attribute.screened()))
}

/// The accounts of `batch` whose subject changed in a fact screening
/// reads, given the outcomes of [`record_batch`]: they are screened again
/// in the same transaction.
pub(crate) fn to_screen_again<'a>(batch: &'a [Delivered<'_>], outcomes: &[Intake]) -> Vec<&'a str> {
    batch
        .iter()
        .zip(outcomes)
        .filter(|(d, intake)| {
            matches!(intake, Intake::Accepted { changed: true, .. })
                && d.event.facts.iter().any(|f| f.attribute.screened())
        })
        .map(|(d, _)| d.event.account.as_str())
        .collect()
}

/// Records `batch` through `rows`, one outcome each in order
/// ([`SqliteStore::record_events`]). The caller screens again the accounts
/// whose screened facts changed, bumps the change counter when any event was
/// accepted, and commits.
pub(crate) fn record_batch(
    rows: &mut impl EvidenceRows,
    j: &Jurisdictions,
    actor: &str,
    batch: &[Delivered<'_>],
    now_ts: Timestamp,
) -> Result<Vec<Intake>, StoreError> {
    let now = now_ts.to_string();
    batch
        .iter()
        .map(|d| record_one(rows, j, actor, *d, now_ts, &now))
        .collect()
}

/// Whether any outcome of a batch changed the store: then the change
/// counter must move.
pub(crate) fn any_accepted(outcomes: &[Intake]) -> bool {
    outcomes
        .iter()
        .any(|o| matches!(o, Intake::Accepted { .. }))
}

fn record_one(
    rows: &mut impl EvidenceRows,
    j: &Jurisdictions,
    actor: &str,
    d: Delivered<'_>,
    now_ts: Timestamp,
    now: &str,
) -> Result<Intake, StoreError> {
    if let Some(id) = d.delivery_id {
        let first = rows.delivery_outcome(d.source, id)?;
        // An orphan is taken again: its account may exist by now.
        if let Some(first) = first.filter(|f| f != "orphan") {
            return Ok(Intake::Replay { first });
        }
    }
    let e = d.event;
    let exists = record_of(rows, &e.account)?;
    let outcome = match (&exists, e.kind) {
        (None, _) => Intake::Orphan,
        (Some(_), EventKind::Pending) => Intake::Pending,
        (Some(record), kind) => {
            let written = match kind {
                EventKind::Completed => insert_facts(rows, &d, now)?,
                _ => withdraw(rows, &d, now)?,
            };
            let (changed, derived) = write_derived(rows, j, &e.account, record, now_ts)?;
            Intake::Accepted {
                rows: written,
                changed,
                contradictions: derived.contradictions,
            }
        }
    };
    if let Some(id) = d.delivery_id {
        rows.remember_delivery(&DeliveryRow {
            source: d.source,
            delivery_id: id,
            received_at: now,
            outcome: outcome.outcome(),
            account: &e.account,
            payload_sha256: d.payload_sha256,
            event_time: e.event_time.map(|t| t.to_string()),
        })?;
    }
    let facts: Vec<Value> = e
        .facts
        .iter()
        .map(|f| json!({"attribute": f.attribute.field(), "level": f.level.as_str()}))
        .collect();
    let mut details = json!({
        "source": d.source,
        "source_kind": d.kind.as_str(),
        "event": e.kind.as_str(),
        "outcome": outcome.outcome(),
        "facts": facts,
        "payload_sha256": d.payload_sha256,
    });
    if let (Some(obj), Some(id)) = (details.as_object_mut(), d.delivery_id) {
        obj.insert("delivery_id".into(), Value::String(id.to_owned()));
    }
    if let (Some(obj), Some(oid)) = (details.as_object_mut(), &e.object_id) {
        obj.insert("object_id".into(), Value::String(oid.clone()));
    }
    if let (Some(obj), Intake::Accepted { contradictions, .. }) =
        (details.as_object_mut(), &outcome)
        && !contradictions.is_empty()
    {
        let names: Vec<&str> = contradictions.iter().map(|c| c.attribute.field()).collect();
        obj.insert("contradictions".into(), json!(names));
    }
    rows.journal(
        now,
        actor,
        &format!("verification.{}", outcome.outcome()),
        &e.account,
        details,
    )?;
    Ok(outcome)
}

/// The journal details of a delivery that authenticated but was refused.
pub(crate) fn rejection_details(
    source: &str,
    delivery_id: Option<&str>,
    payload_sha256: &str,
    reason: &str,
) -> Value {
    let mut details = json!({
        "source": source,
        "reason": reason,
        "payload_sha256": payload_sha256,
    });
    if let (Some(obj), Some(id)) = (details.as_object_mut(), delivery_id) {
        obj.insert("delivery_id".into(), Value::String(id.to_owned()));
    }
    details
}

/// Derives again, through `rows`, the subjects of up to `limit` accounts
/// due at `now` ([`SqliteStore::rederive_due`]), journaling each that
/// changed. The caller bumps the change counter when any did, and commits.
pub(crate) fn rederive(
    rows: &mut impl EvidenceRows,
    j: &Jurisdictions,
    actor: &str,
    limit: usize,
    now: Timestamp,
) -> Result<Rederived, StoreError> {
    let now_text = now.to_string();
    let due = rows.due(now.as_second(), i64::try_from(limit).unwrap_or(i64::MAX))?;
    let mut changed = Vec::new();
    let mut failed = Vec::new();
    let examined = due.len();
    for id in due {
        let record =
            record_of(rows, &id)?.ok_or_else(|| StoreError::AccountNotFound { id: id.clone() })?;
        let did_change = match write_derived(rows, j, &id, &record, now) {
            Ok((changed, _)) => changed,
            // One account whose subject no longer derives must not stop
            // every later one: it is set aside and named.
            Err(StoreError::Corrupt(reason)) => {
                rows.set_aside(&id)?;
                failed.push((id, reason));
                continue;
            }
            Err(e) => return Err(e),
        };
        if did_change {
            rows.journal(
                &now_text,
                actor,
                "account.rederived",
                &id,
                json!({"reason": "evidence expired"}),
            )?;
            changed.push(id);
        }
    }
    Ok(Rederived {
        examined,
        changed,
        failed,
    })
}

impl SqliteStore {
    /// Records a verification event in one transaction: remembers its
    /// delivery (a replay changes nothing), writes one evidence row per fact
    /// (or withdraws the source's rows for a revocation), derives the
    /// subject again, bumps the change counter and journals what happened
    /// (attributes, levels and the payload's hash; no values).
    ///
    /// Out-of-order deliveries are ordered by the event's time: a fact is
    /// dated by its own verification time, else the event's, else its
    /// arrival, and the latest per source wins; a revocation withdraws only
    /// what the source stated up to the revocation's time.
    ///
    /// # Errors
    /// [`StoreError::Storage`], or [`StoreError::Corrupt`] when the stored
    /// record or evidence does not read.
    pub fn record_event(&self, d: Delivered<'_>) -> Result<Intake, StoreError> {
        let mut out = self.record_events(&[d])?;
        out.pop()
            .ok_or_else(|| StoreError::Corrupt("no outcome for one event".into()))
    }

    /// [`Self::record_event`] for several events in one transaction, so
    /// they share one sync (group commit); each gets the outcome it would
    /// have had alone, in order (a delivery repeated within the batch is a
    /// replay of the first).
    ///
    /// # Errors
    /// As [`Self::record_event`]; an error records none of them.
    pub fn record_events(&self, batch: &[Delivered<'_>]) -> Result<Vec<Intake>, StoreError> {
        let now_ts = self.clock_now();
        // What screening reads may arrive by webhook (a verified legal name,
        // the employer, the country hints): such an account is screened
        // again in the same transaction.
        let lists = if screens(batch) {
            self.active_lists()?
        } else {
            None
        };
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = record_batch(
            &mut Lite(&tx),
            self.jurisdictions(),
            self.actor(),
            batch,
            now_ts,
        )?;
        let rescreen = to_screen_again(batch, &out);
        if !rescreen.is_empty() {
            crate::screening::screen_accounts(
                &tx,
                self.jurisdictions(),
                &rescreen,
                lists.as_ref(),
                now_ts,
            )?;
        }
        if any_accepted(&out) {
            sqlite::bump(&tx)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Journals a delivery that authenticated but was refused (a payload
    /// that does not read, a level above the source's maximum), so that it
    /// reaches the audit log. Deliveries that do not authenticate are only
    /// counted, never stored: anyone can send them.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn record_rejection(
        &self,
        source: &str,
        delivery_id: Option<&str>,
        payload_sha256: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = self.now();
        changes::record(
            &self.lock(),
            &now,
            self.actor(),
            "verification.rejected",
            source,
            rejection_details(source, delivery_id, payload_sha256, reason),
        )
    }

    /// Every evidence row of `account`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`], [`StoreError::Storage`] or
    /// [`StoreError::Corrupt`].
    pub fn evidence(&self, account: &str) -> Result<Vec<Evidence>, StoreError> {
        let conn = self.lock();
        let mut rows = Lite(&conn);
        if record_of(&mut rows, account)?.is_none() {
            return Err(StoreError::AccountNotFound {
                id: account.to_owned(),
            });
        }
        evidence_of(&mut rows, account)
    }

    /// The record (what staff and imports wrote) and the derivation of the
    /// subject from it and the evidence, as of now: which attribute rests on
    /// which rows, and the contradictions found.
    ///
    /// # Errors
    /// As [`Self::evidence`].
    pub fn derivation(
        &self,
        account: &str,
    ) -> Result<(Map<String, Value>, cordon_verification::Derived), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        derivation_of(
            &mut Lite(&tx),
            self.jurisdictions(),
            account,
            self.clock_now(),
        )
    }

    /// Derives again the subject of every account whose evidence had a row
    /// expire since its last derivation, at most `limit` accounts per call.
    ///
    /// An expired row stops counting at once in every decision (its value
    /// carries its expiry), but a lower-ranked row it outranked, say a
    /// self-declaration under an attestation, counts again only once the
    /// subject is derived anew: the gateway calls this every few seconds.
    /// Each changed account is journaled as `account.rederived` (no values)
    /// and bumps the change counter, so cached principals are read again.
    ///
    /// # Errors
    /// [`StoreError::Storage`], or [`StoreError::Corrupt`] for a record or
    /// evidence that does not read.
    pub fn rederive_due(&self, limit: usize) -> Result<Rederived, StoreError> {
        let now = self.clock_now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = rederive(
            &mut Lite(&tx),
            self.jurisdictions(),
            self.actor(),
            limit,
            now,
        )?;
        if !out.changed.is_empty() {
            crate::sqlite::bump(&tx)?;
        }
        tx.commit()?;
        Ok(out)
    }
}

/// Writes one evidence row per fact of a completed event; returns how many.
fn insert_facts(
    rows: &mut impl EvidenceRows,
    d: &Delivered<'_>,
    now: &str,
) -> Result<usize, StoreError> {
    let e = d.event;
    let revoked_through = revoked_through(rows, d)?;
    for f in &e.facts {
        let value =
            serde_json::to_string(&f.value).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let dated_at = f.verified_at.or(e.event_time);
        // A fact from before a revocation that already arrived (a vendor's
        // retry, a delivery overtaken by the revocation) is kept as
        // evidence, withdrawn from the start.
        let effective = dated_at.or_else(|| now.parse().ok());
        // A fact dated exactly at the revocation is taken in arrival order:
        // it came after, so it counts.
        let withdrawn = match (revoked_through, effective) {
            (Some(through), Some(at)) if at < through => Some(now),
            _ => None,
        };
        rows.insert_evidence(&NewEvidence {
            account: &e.account,
            attribute: f.attribute.field(),
            value,
            level: f.level.as_str(),
            source_kind: d.kind.as_str(),
            source: d.source,
            object_id: e.object_id.as_deref(),
            trust_framework: f.trust_framework.as_deref(),
            method: f.method.as_deref(),
            document_country: f.document_country.as_deref(),
            verified_at: dated_at.map(|t| t.to_string()),
            expires_at: f.expires_at.map(|t| t.to_string()),
            received_at: now,
            delivery_id: d.delivery_id,
            payload_sha256: d.payload_sha256,
            withdrawn_at: withdrawn,
        })?;
    }
    Ok(e.facts.len())
}

/// The key a revocation is kept under: the revoked object, or `""` for one
/// that revokes everything the source said.
fn revocation_key(d: &Delivered<'_>) -> String {
    d.event.object_id.clone().unwrap_or_default()
}

/// The latest revocation that covers `d`'s facts: one of the same object,
/// or one of everything the source said.
fn revoked_through(
    rows: &mut impl EvidenceRows,
    d: &Delivered<'_>,
) -> Result<Option<Timestamp>, StoreError> {
    let mut latest: Option<Timestamp> = None;
    for r in rows.revocations(&d.event.account, d.source, &revocation_key(d))? {
        let t: Timestamp = r
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("a revocation's time: {e}")))?;
        latest = Some(latest.map_or(t, |l| l.max(t)));
    }
    Ok(latest)
}

/// Withdraws what `d`'s source stated about the account up to the
/// revocation's time (everything, without one): about the revoked object
/// only when the revocation names one, since a customer's abandoned or
/// declined new session must not take back an earlier session's findings.
/// The revocation is remembered, so a fact from before it that arrives
/// later is withdrawn too. Returns how many rows were withdrawn.
fn withdraw(
    rows: &mut impl EvidenceRows,
    d: &Delivered<'_>,
    now: &str,
) -> Result<usize, StoreError> {
    let e = d.event;
    let through = e
        .event_time
        .map_or_else(|| now.to_owned(), |t| t.to_string());
    remember_revocation(rows, &e.account, d.source, &revocation_key(d), &through)?;
    let ids: Vec<i64> = evidence_of(rows, &e.account)?
        .into_iter()
        .filter(|r| r.source == d.source && r.withdrawn_at.is_none())
        .filter(|r| e.object_id.is_none() || r.object_id == e.object_id)
        .filter(|r| {
            e.event_time
                .is_none_or(|until| r.verified_at.unwrap_or(r.received_at) <= until)
        })
        .map(|r| r.id)
        .collect();
    for id in &ids {
        rows.withdraw(*id, now)?;
    }
    Ok(ids.len())
}

/// Remembers a revocation through `through` unless one remembered before
/// holds later. Compared as times, not text: RFC 3339 text of different
/// precision does not sort by time (`12:00:00Z` sorts after
/// `12:00:00.5Z`), and a database's `max` over the text would keep the
/// earlier revocation.
fn remember_revocation(
    rows: &mut impl EvidenceRows,
    account: &str,
    source: &str,
    object_id: &str,
    through: &str,
) -> Result<(), StoreError> {
    let time = |t: &str| {
        t.parse::<Timestamp>()
            .map_err(|e| StoreError::Corrupt(format!("a revocation's time `{t}`: {e}")))
    };
    if let Some(before) = rows.revocation(account, source, object_id)?
        && time(&before)? >= time(through)?
    {
        return Ok(());
    }
    rows.store_revocation(account, source, object_id, through)
}

/// The SQLite rows of evidence, on the caller's connection or transaction.
pub(crate) struct Lite<'a>(pub(crate) &'a rusqlite::Connection);

impl EvidenceRows for Lite<'_> {
    fn delivery_outcome(
        &mut self,
        source: &str,
        delivery_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT outcome FROM deliveries WHERE source = ?1 AND delivery_id = ?2",
                params![source, delivery_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn remember_delivery(&mut self, d: &DeliveryRow<'_>) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT OR REPLACE INTO deliveries (source, delivery_id, received_at, outcome, account, payload_sha256, event_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                d.source,
                d.delivery_id,
                d.received_at,
                d.outcome,
                d.account,
                d.payload_sha256,
                d.event_time
            ],
        )?;
        Ok(())
    }

    fn record_text(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT COALESCE(record, subject) FROM accounts WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn subject_text(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .query_row("SELECT subject FROM accounts WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn evidence(&mut self, account: &str) -> Result<Vec<RawEvidence>, StoreError> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE account = ?1 ORDER BY id"
        ))?;
        let raw = stmt.query_map([account], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
                r.get(13)?,
                r.get(14)?,
                r.get(15)?,
                r.get(16)?,
            ))
        })?;
        Ok(raw.collect::<Result<_, _>>()?)
    }

    fn insert_evidence(&mut self, row: &NewEvidence<'_>) -> Result<(), StoreError> {
        let mut stmt = self.0.prepare_cached(
            "INSERT INTO evidence (account, attribute, value, level, source_kind, source, object_id, trust_framework, method, document_country, verified_at, expires_at, received_at, delivery_id, payload_sha256, withdrawn_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        stmt.execute(params![
            row.account,
            row.attribute,
            row.value,
            row.level,
            row.source_kind,
            row.source,
            row.object_id,
            row.trust_framework,
            row.method,
            row.document_country,
            row.verified_at,
            row.expires_at,
            row.received_at,
            row.delivery_id,
            row.payload_sha256,
            row.withdrawn_at,
        ])?;
        Ok(())
    }

    fn withdraw(&mut self, id: i64, now: &str) -> Result<(), StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("UPDATE evidence SET withdrawn_at = ?2 WHERE id = ?1")?;
        stmt.execute(params![id, now])?;
        Ok(())
    }

    fn revocations(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT through FROM revocations WHERE account = ?1 AND source = ?2 AND object_id IN (?3, '')",
        )?;
        let rows = stmt.query_map(params![account, source, object_id], |r| {
            r.get::<_, String>(0)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revocation(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT through FROM revocations WHERE account = ?1 AND source = ?2 AND object_id = ?3",
                params![account, source, object_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn store_revocation(
        &mut self,
        account: &str,
        source: &str,
        object_id: &str,
        through: &str,
    ) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO revocations (account, source, object_id, through) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account, source, object_id) DO UPDATE SET through = excluded.through",
            params![account, source, object_id, through],
        )?;
        Ok(())
    }

    fn store_derivation(&mut self, d: &Derivation<'_>) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE accounts SET record = ?2, subject = ?3, updated_at = ?4, rederive_at = ?5 WHERE id = ?1",
            params![d.id, d.record, d.subject, d.updated_at, d.rederive_at],
        )?;
        Ok(())
    }

    fn due(&mut self, now: i64, limit: i64) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.0.prepare(
            "SELECT id FROM accounts WHERE rederive_at IS NOT NULL AND rederive_at <= ?1
             ORDER BY rederive_at, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_aside(&mut self, id: &str) -> Result<(), StoreError> {
        self.0
            .execute("UPDATE accounts SET rederive_at = NULL WHERE id = ?1", [id])?;
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

#[cfg(test)]
mod tests;
