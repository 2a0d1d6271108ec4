//! Re-screening: read the accounts, screen their names, apply dispositions and
//! the 50 percent rule, and write the accounts whose hits changed.
//!
//! Both [`rescreen`] (names screened anew) and [`refresh`] (the stored matches
//! taken again, after a disposition) go through [`plan`] and [`write`], so a
//! hit's status is decided in one place.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_subject::{
    HitBasis, RestrictedList, Screened, ScreeningHit, ScreeningStatus, Subject, SubjectKind,
    SubjectRecord,
};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::ownership::{self, Listing, Ownership};
use super::review::{Decisions, insert_hit, latest_dispositions, read_hits};
use super::rows::{ScreeningBackend, ScreeningRows};
use super::{
    AFFILIATES_UID, Candidate, Hit, HitChange, MatchedBy, NameScreener, OWNERSHIP_UID, PartyKind,
    RESCREEN_BATCH, RescreenReport, StatusChange, UnknownOwner, Unreadable, snapshots,
};
use crate::StoreError;
use crate::account::merge;

/// One name of an account to screen.
#[derive(Debug, Clone, PartialEq)]
struct Query {
    by: MatchedBy,
    name: String,
    kind: PartyKind,
    country: Option<CountryCode>,
    birth_year: Option<u16>,
}

/// One recorded owner.
#[derive(Debug, Clone)]
struct OwnerRecord {
    name: String,
    percent: f64,
    account: Option<String>,
}

/// An account as screening reads it.
#[derive(Debug, Clone)]
struct Account {
    id: String,
    kind: PartyKind,
    /// The name a derived hit is reported under: the legal name, else the id.
    label: String,
    queries: Vec<Query>,
    owners: Vec<OwnerRecord>,
    /// Organised outside the United States, or where is not recorded.
    foreign: bool,
    /// The `screening` attribute as read.
    attribute: Vec<ScreeningHit>,
    /// Whether the record has a `screening` attribute at all (never screened if not).
    recorded: bool,
    /// The record's `screened`, as read.
    screened: Option<Screened>,
}

/// Which accounts to read.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// Every account.
    All,
    /// Accounts with stored hits, recorded owners or hits written by hand:
    /// the only ones a disposition can change, since an account with none of
    /// them lists nobody.
    Affected,
    /// The affected accounts and these: what screening a few accounts anew
    /// can change, so that creating an account does not read every other.
    AffectedAnd(&'a HashSet<&'a str>),
}

/// What screening reads from the store.
struct Universe {
    /// Sorted by id.
    accounts: Vec<Account>,
    /// Stored hits by account.
    hits: HashMap<String, Vec<Hit>>,
    decisions: Decisions,
    /// The highest disposition id read.
    watermark: i64,
    unreadable: Vec<Unreadable>,
}

/// A name of an account that may be a list entry.
#[derive(Debug, Clone)]
struct Match {
    by: MatchedBy,
    name: String,
    candidate: Candidate,
}

/// Which accounts a run records as screened.
#[derive(Debug, Clone, Copy)]
enum Run<'a> {
    /// None: the stored matches taken again.
    None,
    /// Every account not yet recorded as screened against this snapshot.
    All(&'a Screened),
    /// These accounts, screened anew (just created, or their names changed).
    Only(&'a Screened, &'a HashSet<&'a str>),
}

/// An account to write: its new hits and the hits it puts in its attribute.
#[derive(Debug)]
struct Planned {
    id: String,
    hits: Vec<Hit>,
    attribute: Vec<ScreeningHit>,
    /// The screening run to record, when the account was screened anew.
    screened: Option<Screened>,
}

/// The body of [`super::rescreen`], on either backend.
pub(crate) fn rescreen(
    store: &impl ScreeningBackend,
    screener: &dyn NameScreener,
    now: Timestamp,
) -> Result<RescreenReport, StoreError> {
    let j = store.tables();
    // One read transaction, so accounts, hits and dispositions agree.
    let (universe, snapshot) =
        store.reading(|rows| Ok((load(rows, j, Scope::All)?, snapshots::active_id(rows)?)))?;
    let mut report = RescreenReport {
        snapshot,
        accounts: count(universe.accounts.len()),
        unreadable: universe.unreadable.clone(),
        ..RescreenReport::default()
    };

    type Key = (String, PartyKind, Option<CountryCode>, Option<u16>);
    let mut cache: HashMap<Key, Vec<Candidate>> = HashMap::new();
    let mut matches: Vec<Vec<Match>> = Vec::with_capacity(universe.accounts.len());
    for a in &universe.accounts {
        matches.push(fresh_matches(a, &mut |q| {
            let key = (q.name.clone(), q.kind, q.country, q.birth_year);
            cache
                .entry(key)
                .or_insert_with(|| screener.screen(&q.name, q.kind, q.country, q.birth_year))
                .clone()
        }));
    }
    report.names = count(cache.len());
    drop(cache);

    // Only a run against an active snapshot is a screening: without lists,
    // nobody has been screened and every account stays unknown.
    let run = snapshot.map(|id| Screened {
        snapshot: id.0,
        at: now,
    });
    let run = run.as_ref().map_or(Run::None, Run::All);
    let planned = plan(&universe, matches, now, run, &mut report);
    for batch in planned.chunks(RESCREEN_BATCH) {
        store.writing(|rows| {
            let mut rewritten = false;
            for p in batch {
                rewritten |= write(rows, j, p, now)?;
            }
            if rewritten {
                rows.bump()?;
            }
            Ok(())
        })?;
    }

    // A disposition recorded while names were screened was applied to the
    // hits as they were then; apply it to the hits just written.
    store.writing(|rows| {
        if rows.disposition_watermark()? != universe.watermark && refresh(rows, j, now)? {
            rows.bump()?;
        }
        Ok(())
    })?;
    Ok(report)
}

/// Applies the stored matches again (after a disposition): statuses, the 50
/// percent rule and attributes, inside the caller's transaction. Returns whether a record changed.
pub(super) fn refresh(
    rows: &mut dyn ScreeningRows,
    j: &Jurisdictions,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let universe = load(rows, j, Scope::Affected)?;
    let matches: Vec<Vec<Match>> = universe
        .accounts
        .iter()
        .map(|a| stored_matches(a, universe.hits.get(&a.id).map_or(&[][..], Vec::as_slice)))
        .collect();
    let mut report = RescreenReport::default();
    let planned = plan(&universe, matches, now, Run::None, &mut report);
    let mut rewritten = false;
    for p in &planned {
        rewritten |= write(rows, j, p, now)?;
    }
    Ok(rewritten)
}

/// Screens the names of the accounts `ids` through `screener` and records
/// `run` on them, inside the caller's transaction; every other account keeps its stored matches,
/// so ownership is applied again with the new ones. Returns whether a record
/// changed.
pub(super) fn screen_accounts(
    rows: &mut dyn ScreeningRows,
    j: &Jurisdictions,
    ids: &HashSet<&str>,
    screener: &dyn NameScreener,
    run: &Screened,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let universe = load(rows, j, Scope::AffectedAnd(ids))?;
    let matches: Vec<Vec<Match>> = universe
        .accounts
        .iter()
        .map(|a| {
            if ids.contains(a.id.as_str()) {
                fresh_matches(a, &mut |q| {
                    screener.screen(&q.name, q.kind, q.country, q.birth_year)
                })
            } else {
                stored_matches(a, universe.hits.get(&a.id).map_or(&[][..], Vec::as_slice))
            }
        })
        .collect();
    let mut report = RescreenReport::default();
    let planned = plan(&universe, matches, now, Run::Only(run, ids), &mut report);
    let mut rewritten = false;
    for p in &planned {
        rewritten |= write(rows, j, p, now)?;
    }
    Ok(rewritten)
}

/// The matches of an account's names, each screened through `screen`.
fn fresh_matches(a: &Account, screen: &mut dyn FnMut(&Query) -> Vec<Candidate>) -> Vec<Match> {
    let mut found = Vec::new();
    for q in &a.queries {
        found.extend(screen(q).into_iter().map(|candidate| Match {
            by: q.by,
            name: q.name.clone(),
            candidate,
        }));
    }
    found
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Reads accounts (of `scope`), all stored hits and the latest dispositions.
fn load(
    rows: &mut dyn ScreeningRows,
    j: &Jurisdictions,
    scope: Scope,
) -> Result<Universe, StoreError> {
    let affected_only = !matches!(scope, Scope::All);
    let mut subjects: BTreeMap<String, String> =
        rows.subjects(affected_only)?.into_iter().collect();
    if let Scope::AffectedAnd(ids) = scope {
        for id in ids {
            if subjects.contains_key(*id) {
                continue;
            }
            if let Some(text) = rows.subject(id)? {
                subjects.insert((*id).to_owned(), text);
            }
        }
    }
    let mut accounts = Vec::new();
    let mut unreadable = Vec::new();
    for (id, text) in subjects {
        match SubjectRecord::from_json(&text).and_then(|rec| rec.into_subject(j)) {
            Ok(s) => accounts.push(account(id, s)),
            Err(e) => unreadable.push(Unreadable {
                account: id,
                message: e.to_string(),
            }),
        }
    }
    let mut hits: HashMap<String, Vec<Hit>> = HashMap::new();
    for h in read_hits(rows, None)? {
        hits.entry(h.account.clone()).or_default().push(h);
    }
    let (decisions, watermark) = latest_dispositions(rows)?;
    Ok(Universe {
        accounts,
        hits,
        decisions,
        watermark,
        unreadable,
    })
}

/// The names of a subject to screen, and its owners.
fn account(id: String, s: Subject) -> Account {
    let kind = PartyKind::from(s.kind);
    let mut queries = Vec::new();
    let org = s.organization.as_ref();
    let country = match s.kind {
        SubjectKind::Individual => s.residence_country.as_ref().map(|c| c.value).or_else(|| {
            s.citizenships
                .as_ref()
                .and_then(|c| c.first())
                .map(|c| c.value)
        }),
        SubjectKind::Organization => org.and_then(|o| o.country.as_ref()).map(|c| c.value),
    };
    if let Some(n) = &s.name {
        queries.push(Query {
            by: MatchedBy::Name,
            name: n.value.clone(),
            kind,
            country,
            birth_year: match s.kind {
                SubjectKind::Individual => s.birth_year.as_ref().map(|y| y.value),
                SubjectKind::Organization => None,
            },
        });
    }
    // An individual acting for a listed employer deals for it: the
    // employer's name is screened as the individual's own.
    if let (SubjectKind::Individual, Some(o)) = (s.kind, org) {
        queries.push(Query {
            by: MatchedBy::Employer,
            name: o.name.value.clone(),
            kind: PartyKind::Organization,
            country: o.country.as_ref().map(|c| c.value),
            birth_year: None,
        });
    }
    let mut owners = Vec::new();
    if let (SubjectKind::Organization, Some(o)) = (s.kind, org) {
        let same = s
            .name
            .as_ref()
            .is_some_and(|n| n.value.to_lowercase() == o.name.value.to_lowercase());
        if !same {
            queries.push(Query {
                by: MatchedBy::Organization,
                name: o.name.value.clone(),
                kind: PartyKind::Organization,
                country,
                birth_year: None,
            });
        }
        for (i, owner) in o.owners.iter().enumerate() {
            queries.push(Query {
                by: MatchedBy::Owner(i),
                name: owner.name.clone(),
                kind: owner.kind.map_or(PartyKind::Organization, PartyKind::from),
                country: owner.country,
                birth_year: None,
            });
            owners.push(OwnerRecord {
                name: owner.name.clone(),
                percent: owner.percent.get(),
                account: owner.account.clone(),
            });
        }
    }
    Account {
        label: s.legal_name().unwrap_or(&id).to_owned(),
        // An entity with no recorded country may be foreign: the affiliates
        // rule is applied rather than silently skipped.
        foreign: org
            .and_then(|o| o.country.as_ref())
            .is_none_or(|c| c.value != CountryCode::US),
        kind,
        queries,
        owners,
        recorded: s.screening.is_some(),
        attribute: s.screening.unwrap_or_default(),
        screened: s.screened,
        id,
    }
}

/// The matches a stored account's hits record, for names it still has.
fn stored_matches(a: &Account, hits: &[Hit]) -> Vec<Match> {
    let mut out = Vec::new();
    for h in hits.iter().filter(|h| !super::is_derived_uid(&h.uid)) {
        for &by in &h.matched_by {
            let name = match a.queries.iter().find(|q| q.by == by) {
                Some(q) => q.name.clone(),
                // The name was removed from the record since it was screened.
                None => continue,
            };
            out.push(Match {
                by,
                name,
                candidate: Candidate {
                    list: h.list,
                    uid: h.uid.clone(),
                    entry_version: h.entry_version.clone(),
                    entry_name: h.entry_name.clone(),
                    score: h.score,
                },
            });
        }
    }
    out
}

/// Decides every account's hits and reports what differs from the stored ones.
/// Returns the accounts to write.
fn plan(
    u: &Universe,
    matches: Vec<Vec<Match>>,
    now: Timestamp,
    run: Run<'_>,
    report: &mut RescreenReport,
) -> Vec<Planned> {
    let mut hits: Vec<BTreeMap<(RestrictedList, String), Hit>> = u
        .accounts
        .iter()
        .zip(matches)
        .map(|(a, m)| group(a, m, &u.decisions, now))
        .collect();

    let manual: Vec<Vec<ScreeningHit>> = u
        .accounts
        .iter()
        .map(|a| {
            let old = u.hits.get(&a.id).map_or(&[][..], Vec::as_slice);
            without(&a.attribute, &attribute_of(old))
        })
        .collect();
    let index: HashMap<&str, usize> = u
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let parties: Vec<ownership::Party> = u
        .accounts
        .iter()
        .zip(&hits)
        .zip(&manual)
        .map(|((a, h), m)| party(a, h, m, &index, report))
        .collect();
    let resolved = Ownership::resolve(&parties);
    report.ownership_cycles = ownership::cycles(&parties)
        .into_iter()
        .map(|c| {
            c.into_iter()
                .filter_map(|i| u.accounts.get(i).map(|a| a.id.clone()))
                .collect()
        })
        .collect();
    for (i, (a, h)) in u.accounts.iter().zip(hits.iter_mut()).enumerate() {
        if a.owners.is_empty() {
            continue;
        }
        for rule in ownership::RULES {
            let Some(d) = resolved.derived(i, rule) else {
                continue;
            };
            let chain = d.chain.to_string();
            h.insert(
                (rule.list, rule.uid.to_owned()),
                Hit {
                    account: a.id.clone(),
                    list: rule.list,
                    uid: rule.uid.to_owned(),
                    entry_version: hex(&Sha256::digest(chain.as_bytes())),
                    entry_name: d.label,
                    matched_name: a.label.clone(),
                    matched_by: vec![MatchedBy::Ownership],
                    score: (d.listed / 100.0).min(1.0),
                    status: d.status,
                    ownership: Some(d.chain),
                    first_seen: now,
                },
            );
        }
    }

    let mut planned = Vec::new();
    for ((a, new), manual) in u.accounts.iter().zip(hits).zip(manual) {
        let old = u.hits.get(&a.id).map_or(&[][..], Vec::as_slice);
        let rows_changed = compare(old, &new, report);
        let new: Vec<Hit> = new.into_values().collect();
        let computed = attribute_of(&new);
        let attribute = combine(manual, computed.clone());
        // An account screened anew records the run unless it already
        // records this snapshot: then only a changed hit rewrites it.
        let newly_screened = match run {
            Run::None => None,
            Run::All(r) => (!a.recorded
                || a.screened.as_ref().is_none_or(|s| s.snapshot != r.snapshot))
            .then_some(r),
            Run::Only(r, ids) => ids.contains(a.id.as_str()).then_some(r),
        };
        let changed = rows_changed || !same_hits(&attribute, &a.attribute);
        if changed {
            report.accounts_changed += 1;
        }
        if changed || newly_screened.is_some() {
            planned.push(Planned {
                id: a.id.clone(),
                hits: new,
                attribute: computed,
                screened: newly_screened.cloned(),
            });
        }
    }
    planned
}

/// An account's matches as hits, one per entry, with their status.
fn group(
    a: &Account,
    matches: Vec<Match>,
    decisions: &Decisions,
    now: Timestamp,
) -> BTreeMap<(RestrictedList, String), Hit> {
    let mut out: BTreeMap<(RestrictedList, String), Hit> = BTreeMap::new();
    for m in matches {
        let c = m.candidate;
        match out.entry((c.list, c.uid.clone())) {
            Entry::Vacant(v) => {
                let status = match decisions.get(&(a.id.clone(), c.list, c.uid.clone())) {
                    Some((version, d)) if *version == c.entry_version => d.status(),
                    _ => ScreeningStatus::Pending,
                };
                v.insert(Hit {
                    account: a.id.clone(),
                    list: c.list,
                    uid: c.uid,
                    entry_version: c.entry_version,
                    entry_name: c.entry_name,
                    matched_name: m.name,
                    matched_by: vec![m.by],
                    score: c.score,
                    status,
                    ownership: None,
                    first_seen: now,
                });
            }
            Entry::Occupied(mut o) => {
                let h = o.get_mut();
                let primary = h.matched_by.first().copied();
                // The subject's own name comes first; then the best score.
                let better = match primary {
                    Some(p) if m.by == p => c.score > h.score,
                    Some(p) => m.by < p,
                    None => true,
                };
                if better {
                    h.matched_name = m.name;
                    h.entry_name = c.entry_name;
                    h.score = c.score;
                }
                if !h.matched_by.contains(&m.by) {
                    h.matched_by.push(m.by);
                    h.matched_by.sort();
                }
            }
        }
    }
    out
}

/// The account as the 50 percent rule sees it: listed by its own hits,
/// including those written by hand in its record (`manual`).
fn party(
    a: &Account,
    hits: &BTreeMap<(RestrictedList, String), Hit>,
    manual: &[ScreeningHit],
    index: &HashMap<&str, usize>,
    report: &mut RescreenReport,
) -> ownership::Party {
    let listings = |keep: &dyn Fn(&Hit) -> bool| -> Vec<Listing> {
        hits.values()
            .filter(|h| h.status != ScreeningStatus::Cleared && keep(h))
            .map(|h| Listing {
                list: h.list,
                uid: h.uid.clone(),
                name: h.entry_name.clone(),
                status: h.status,
            })
            .collect()
    };
    let owners = a
        .owners
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let account = o.account.as_deref().and_then(|id| {
                let found = index.get(id).copied();
                if found.is_none() {
                    report.unknown_owners.push(UnknownOwner {
                        account: a.id.clone(),
                        owner: i,
                        owner_account: id.to_owned(),
                    });
                }
                found
            });
            ownership::Owner {
                index: i,
                name: o.name.clone(),
                percent: o.percent,
                listings: listings(&|h| h.matched_by.contains(&MatchedBy::Owner(i))),
                account,
            }
        })
        .collect();
    let mut own = listings(&|h| h.is_own());
    own.extend(
        manual
            .iter()
            .filter(|h| h.status != ScreeningStatus::Cleared)
            .map(|h| Listing {
                list: h.list,
                uid: h.entry.clone().unwrap_or_else(|| "-".to_owned()),
                name: "recorded in the subject record".to_owned(),
                status: h.status,
            }),
    );
    ownership::Party {
        id: a.id.clone(),
        kind: a.kind,
        listings: own,
        owners,
        foreign: a.foreign,
    }
}

/// Adds the differences between stored and new hits to the report; returns
/// whether there are any.
fn compare(
    old: &[Hit],
    new: &BTreeMap<(RestrictedList, String), Hit>,
    report: &mut RescreenReport,
) -> bool {
    let mut changed = false;
    let old_by_key: HashMap<(RestrictedList, &str), &Hit> =
        old.iter().map(|h| ((h.list, h.uid.as_str()), h)).collect();
    for h in new.values() {
        match old_by_key.get(&(h.list, h.uid.as_str())) {
            None => {
                report.new_hits.push(change(h));
                changed = true;
            }
            Some(o) => {
                if o.status != h.status {
                    report.status_changes.push(StatusChange {
                        hit: change(h),
                        from: o.status,
                        entry_changed: o.entry_version != h.entry_version,
                    });
                }
                changed |= !same_row(o, h);
            }
        }
    }
    for o in old {
        if !new.contains_key(&(o.list, o.uid.clone())) {
            report.removed_hits.push(change(o));
            changed = true;
        }
    }
    changed
}

fn change(h: &Hit) -> HitChange {
    HitChange {
        account: h.account.clone(),
        list: h.list,
        uid: h.uid.clone(),
        name: h.entry_name.clone(),
        matched_by: h.matched_by.clone(),
        score: h.score,
        status: h.status,
    }
}

/// Equal in everything but `first_seen`.
fn same_row(a: &Hit, b: &Hit) -> bool {
    a.entry_version == b.entry_version
        && a.entry_name == b.entry_name
        && a.matched_name == b.matched_name
        && a.matched_by == b.matched_by
        && a.score == b.score
        && a.status == b.status
        && a.ownership == b.ownership
}

/// The attribute hits that stored hits stand for: the subject's own and derived ones.
fn attribute_of(hits: &[Hit]) -> Vec<ScreeningHit> {
    hits.iter()
        .filter(|h| h.is_own())
        .map(|h| ScreeningHit {
            list: h.list,
            status: h.status,
            entry: Some(if super::is_derived_uid(&h.uid) {
                h.entry_name.clone()
            } else {
                h.uid.clone()
            }),
            basis: match h.uid.as_str() {
                OWNERSHIP_UID => Some(HitBasis::Ofac50Percent),
                AFFILIATES_UID => Some(HitBasis::BisAffiliates),
                _ if h.matched_by.iter().all(|b| *b == MatchedBy::Employer) => {
                    Some(HitBasis::Employer)
                }
                _ => None,
            },
        })
        .collect()
}

/// `attribute` less one of each of `managed`: the hits written by hand.
fn without(attribute: &[ScreeningHit], managed: &[ScreeningHit]) -> Vec<ScreeningHit> {
    let mut rest = attribute.to_vec();
    for m in managed {
        if let Some(pos) = rest.iter().position(|h| h == m) {
            rest.remove(pos);
        }
    }
    rest
}

fn status_rank(s: ScreeningStatus) -> u8 {
    match s {
        ScreeningStatus::Confirmed => 0,
        ScreeningStatus::Pending => 1,
        ScreeningStatus::Cleared => 2,
    }
}

fn sorted(mut hits: Vec<ScreeningHit>) -> Vec<ScreeningHit> {
    hits.sort_by(|a, b| {
        (a.list, &a.entry, status_rank(a.status)).cmp(&(b.list, &b.entry, status_rank(b.status)))
    });
    hits.dedup();
    hits
}

/// Hand-written and computed hits, sorted, without repeats.
fn combine(manual: Vec<ScreeningHit>, computed: Vec<ScreeningHit>) -> Vec<ScreeningHit> {
    let mut all = manual;
    all.extend(computed);
    sorted(all)
}

/// The same hits, in any order.
fn same_hits(a: &[ScreeningHit], b: &[ScreeningHit]) -> bool {
    sorted(a.to_vec()) == sorted(b.to_vec())
}

/// Writes one account's hits and, if it changes, its `screening` attribute.
///
/// The record is read again inside the transaction, so an attribute changed since the
/// accounts were read is kept, and the hits written by hand are told apart
/// from the ones stored with it. Returns whether the record was rewritten.
fn write(
    rows: &mut dyn ScreeningRows,
    j: &Jurisdictions,
    p: &Planned,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let Some(record) = rows.record(&p.id)? else {
        return Ok(false);
    };
    let corrupt = |e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("stored subject of account `{}`: {e}", p.id))
    };
    let current: Vec<ScreeningHit> = match record.get("screening") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| corrupt(&e))?,
        None => Vec::new(),
    };
    let stored = read_hits(rows, Some(&p.id))?;
    let attribute = combine(
        without(&current, &attribute_of(&stored)),
        p.attribute.clone(),
    );
    // The run [`plan`] decided to record: a first screening, another
    // snapshot, or names screened anew.
    let run = p.screened.as_ref();
    let rewrite = !same_hits(&attribute, &current) || run.is_some();
    if rewrite {
        let mut patch = json!({ "screening": attribute });
        if let (Some(r), Some(obj)) = (run, patch.as_object_mut()) {
            obj.insert(
                "screened".to_owned(),
                serde_json::to_value(r).map_err(|e| corrupt(&e))?,
            );
        }
        let merged: Map<String, Value> = merge(&p.id, record, patch, j)?;
        rows.store_record(j, &p.id, &merged, now)?;
        rows.journal(
            &now.to_string(),
            "screening",
            "account.screening_updated",
            &p.id,
            json!({ "screening": attribute }),
        )?;
    }
    let first_seen: HashMap<(RestrictedList, &str), Timestamp> = stored
        .iter()
        .map(|h| ((h.list, h.uid.as_str()), h.first_seen))
        .collect();
    rows.delete_hits(&p.id)?;
    for h in &p.hits {
        let mut h = h.clone();
        if let Some(t) = first_seen.get(&(h.list, h.uid.as_str())) {
            h.first_seen = *t;
        }
        insert_hit(rows, &h)?;
    }
    Ok(rewrite)
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
