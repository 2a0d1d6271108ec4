//! Ownership rules over the owners recorded in organisations' records.
//!
//! Two rules treat an owned entity as listed, and they reach different lists:
//!
//! - **OFAC's 50 percent rule**: an entity owned 50 percent or more in the
//!   aggregate, directly or indirectly, by one or more blocked persons is itself
//!   blocked (OFAC, "Revised Guidance on Entities Owned by Persons Whose
//!   Property and Interests in Property Are Blocked", 13 August 2014; FAQ 398).
//!   It applies to SDN blocking and, per OFAC's 2014 summary, to the SSI list
//!   [V-secondary]; it does not apply to BIS denial orders, the Entity List or
//!   the Unverified List. Shares are added up per list.
//! - **BIS's affiliates rule**: a foreign entity owned 50 percent or more in the
//!   aggregate by parties on the Entity List or the Military End User List
//!   (counted together) is subject to the same restrictions; its hit is on the
//!   Entity List. It is in force only on some dates
//!   ([`cordon_subject::bis_affiliates_rule_in_force`]); the hit is recorded
//!   with its basis whatever the date, and a decision counts it only while the
//!   rule is in force at the decision's time. Which SDN owners the rule also
//!   counts is not modelled [U].
//!
//! Here a party is *listed* on a list when it has a pending or confirmed hit
//! there, directly or by a rule (`docs/subjects.md` explains the choice).
//!
//! Listed status is the least fixed point of the rule, found with a worklist:
//! statuses only ever rise (none, pending, confirmed), so it ends, and an
//! ownership cycle can neither loop nor list its members by itself.

use std::collections::{BTreeSet, VecDeque};

use cordon_subject::{HitBasis, RestrictedList, ScreeningStatus};
use serde_json::{Value, json};

use super::PartyKind;
use super::status_str;

/// Aggregate listed ownership, in percent, from which a party is treated as listed.
pub(super) const THRESHOLD: f64 = 50.0;
/// Shares such as `10.2 + 38.4 + 1.4` must reach 50 despite binary rounding.
const SLACK: f64 = 1e-9;
/// Levels of ownership an explanation follows before it stops with `…`.
const MAX_DEPTH: usize = 12;
/// Owner accounts one explanation expands, so a wide diamond of shared owners stays small.
const MAX_EXPANSIONS: usize = 256;

/// The lists on which a party is listed, as masks of [`RestrictedList::bit`].
///
/// INVARIANT: `confirmed` is a subset of `listed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Marks {
    listed: u16,
    confirmed: u16,
}

impl Marks {
    /// Adds a hit's status; a cleared hit lists nothing.
    pub(super) fn add(&mut self, list: RestrictedList, status: ScreeningStatus) {
        match status {
            ScreeningStatus::Pending => self.listed |= list.bit(),
            ScreeningStatus::Confirmed => {
                self.listed |= list.bit();
                self.confirmed |= list.bit();
            }
            ScreeningStatus::Cleared => {}
        }
    }

    fn union(self, o: Marks) -> Marks {
        Marks {
            listed: self.listed | o.listed,
            confirmed: self.confirmed | o.confirmed,
        }
    }

    /// `Confirmed`, `Pending`, or `None` when not listed on `list`.
    #[cfg(test)]
    pub(super) fn status(self, list: RestrictedList) -> Option<ScreeningStatus> {
        self.status_in(list.bit())
    }

    /// The best status on any list of `mask`, or `None` when on none of them.
    fn status_in(self, mask: u16) -> Option<ScreeningStatus> {
        if self.confirmed & mask != 0 {
            Some(ScreeningStatus::Confirmed)
        } else if self.listed & mask != 0 {
            Some(ScreeningStatus::Pending)
        } else {
            None
        }
    }
}

/// One ownership rule: whose listings count, and where the owned party is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rule {
    /// The list the owned party's derived hit is on.
    pub list: RestrictedList,
    /// The lists whose listed owners count, aggregated together.
    counts: u16,
    /// Whether only entities organised outside the United States are reached.
    foreign_only: bool,
    /// The `uid` of the derived hit.
    pub uid: &'static str,
    /// The basis recorded on the derived hit.
    pub basis: HitBasis,
    /// The first word of the hit's label.
    label: &'static str,
}

/// Every ownership rule, in the order hits are derived.
pub(super) const RULES: [Rule; 3] = [
    Rule {
        list: RestrictedList::Sdn,
        counts: RestrictedList::Sdn.bit(),
        foreign_only: false,
        uid: super::OWNERSHIP_UID,
        basis: HitBasis::Ofac50Percent,
        label: "ownership",
    },
    Rule {
        list: RestrictedList::Ssi,
        counts: RestrictedList::Ssi.bit(),
        foreign_only: false,
        uid: super::OWNERSHIP_UID,
        basis: HitBasis::Ofac50Percent,
        label: "ownership",
    },
    Rule {
        list: RestrictedList::El,
        counts: RestrictedList::El.bit() | RestrictedList::Meu.bit(),
        foreign_only: true,
        uid: super::AFFILIATES_UID,
        basis: HitBasis::BisAffiliates,
        label: "affiliates rule",
    },
];

/// The rule deriving `list` hits, if any: lists no rule reaches are never derived.
#[cfg(test)]
pub(super) fn rule_for(list: RestrictedList) -> Option<Rule> {
    RULES.into_iter().find(|r| r.list == list)
}

/// OFAC's 50 percent rule for `list` (SDN or SSI), for tests that name the list.
#[cfg(test)]
pub(super) fn ofac(list: RestrictedList) -> Rule {
    RULES
        .into_iter()
        .find(|r| r.list == list && r.basis == HitBasis::Ofac50Percent)
        .unwrap_or(RULES[0])
}

/// A pending or confirmed hit that lists a party or an owner.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Listing {
    /// The list.
    pub list: RestrictedList,
    /// The entry's id.
    pub uid: String,
    /// The entry's name that matched.
    pub name: String,
    /// Pending or confirmed.
    pub status: ScreeningStatus,
}

/// One recorded owner of a party.
#[derive(Debug, Clone)]
pub(super) struct Owner {
    /// Its place in `organization.owners`.
    pub index: usize,
    /// Its name as recorded.
    pub name: String,
    /// Its share, in percent.
    pub percent: f64,
    /// The hits of its name.
    pub listings: Vec<Listing>,
    /// Its account, as an index into the parties, when it has one in the store.
    pub account: Option<usize>,
}

/// An account with the hits of its own names and its owners.
#[derive(Debug, Clone)]
pub(super) struct Party {
    /// The account id.
    pub id: String,
    /// Person or organisation.
    pub kind: PartyKind,
    /// The hits of its own names.
    pub listings: Vec<Listing>,
    /// Its owners (organisations only).
    pub owners: Vec<Owner>,
    /// Whether it is organised outside the United States (or where is not
    /// recorded): the BIS affiliates rule reaches foreign entities only.
    pub foreign: bool,
}

/// A hit derived by the rule for one party and list.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Derived {
    /// Confirmed if confirmed owners alone reach the threshold, else pending.
    pub status: ScreeningStatus,
    /// Percent owned by listed owners.
    pub listed: f64,
    /// Percent owned by confirmed owners.
    pub confirmed: f64,
    /// One line naming the direct owners that count, for the `entry` of the hit.
    pub label: String,
    /// The whole chain, e.g. `acme ← 30% "BANK ROSSIYA" (SDN 12345, confirmed) + …`.
    pub explanation: String,
    /// The chain as JSON, with `explanation`.
    pub chain: Value,
}

/// The listed status of every party, once the rule has been applied.
#[derive(Debug)]
pub(super) struct Ownership<'a> {
    parties: &'a [Party],
    direct: Vec<Marks>,
    effective: Vec<Marks>,
}

fn marks(listings: &[Listing]) -> Marks {
    let mut m = Marks::default();
    for l in listings {
        m.add(l.list, l.status);
    }
    m
}

fn owner_marks(o: &Owner, effective: &[Marks]) -> Marks {
    let via = o
        .account
        .and_then(|b| effective.get(b).copied())
        .unwrap_or_default();
    marks(&o.listings).union(via)
}

/// Percent of `party` owned by owners listed on a list of `mask`, and by confirmed ones.
fn share(party: &Party, mask: u16, effective: &[Marks]) -> (f64, f64) {
    let (mut listed, mut confirmed) = (0.0, 0.0);
    for o in &party.owners {
        match owner_marks(o, effective).status_in(mask) {
            Some(ScreeningStatus::Confirmed) => {
                listed += o.percent;
                confirmed += o.percent;
            }
            Some(_) => listed += o.percent,
            None => {}
        }
    }
    (listed, confirmed)
}

fn reaches(percent: f64) -> bool {
    percent >= THRESHOLD - SLACK
}

fn derived_marks(party: &Party, effective: &[Marks]) -> Marks {
    let mut m = Marks::default();
    if party.owners.is_empty() {
        return m;
    }
    for rule in RULES {
        if rule.foreign_only && !party.foreign {
            continue;
        }
        let (listed, confirmed) = share(party, rule.counts, effective);
        if reaches(confirmed) {
            m.add(rule.list, ScreeningStatus::Confirmed);
        } else if reaches(listed) {
            m.add(rule.list, ScreeningStatus::Pending);
        }
    }
    m
}

/// Rounds away binary noise for display (`10.2 + 38.4 + 1.4` prints `50`).
fn pct(p: f64) -> f64 {
    (p * 1e6).round() / 1e6
}

fn best(listings: &[Listing], mask: u16) -> Option<&Listing> {
    let mut on = listings.iter().filter(|l| l.list.bit() & mask != 0);
    let first = on.next()?;
    Some(
        std::iter::once(first)
            .chain(on)
            .find(|l| l.status == ScreeningStatus::Confirmed)
            .unwrap_or(first),
    )
}

fn listing_json(l: &Listing) -> Value {
    json!({"uid": l.uid, "name": l.name, "status": status_str(l.status)})
}

impl<'a> Ownership<'a> {
    /// Applies the rule to every party until nothing changes.
    pub(super) fn resolve(parties: &'a [Party]) -> Self {
        let direct: Vec<Marks> = parties.iter().map(|p| marks(&p.listings)).collect();
        let mut effective = direct.clone();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); parties.len()];
        for (a, p) in parties.iter().enumerate() {
            for b in p.owners.iter().filter_map(|o| o.account) {
                if let Some(d) = dependents.get_mut(b) {
                    d.push(a);
                }
            }
        }
        let mut queued: Vec<bool> = parties.iter().map(|p| !p.owners.is_empty()).collect();
        let mut queue: VecDeque<usize> = (0..parties.len())
            .filter(|&a| queued.get(a).copied().unwrap_or(false))
            .collect();
        while let Some(a) = queue.pop_front() {
            if let Some(q) = queued.get_mut(a) {
                *q = false;
            }
            let (Some(party), Some(current)) = (parties.get(a), effective.get(a).copied()) else {
                continue;
            };
            // Marks only grow, bounded by 26 bits per party: the loop ends.
            let next = current.union(derived_marks(party, &effective));
            if next == current {
                continue;
            }
            if let Some(e) = effective.get_mut(a) {
                *e = next;
            }
            for &d in dependents.get(a).map_or(&[][..], Vec::as_slice) {
                if let Some(q) = queued.get_mut(d)
                    && !*q
                {
                    *q = true;
                    queue.push_back(d);
                }
            }
        }
        Ownership {
            parties,
            direct,
            effective,
        }
    }

    /// The party's status on `list`, directly or by the rule.
    #[cfg(test)]
    pub(super) fn status(&self, a: usize, list: RestrictedList) -> Option<ScreeningStatus> {
        self.effective.get(a).and_then(|m| m.status(list))
    }

    /// The hit `rule` derives for party `a`, if the party is one the rule
    /// reaches and its listed owners reach the threshold.
    pub(super) fn derived(&self, a: usize, rule: Rule) -> Option<Derived> {
        let party = self.parties.get(a)?;
        if rule.foreign_only && !party.foreign {
            return None;
        }
        let list = rule.counts;
        let (listed, confirmed) = share(party, list, &self.effective);
        let status = if reaches(confirmed) {
            ScreeningStatus::Confirmed
        } else if reaches(listed) {
            ScreeningStatus::Pending
        } else {
            return None;
        };
        let mut path = vec![a];
        let mut budget = MAX_EXPANSIONS;
        let (parts, short, owners) = self.explain(a, list, &mut path, &mut budget);
        let explanation = format!("{} ← {}", party.id, parts.join(" + "));
        let label = format!("{} {}%: {}", rule.label, pct(listed), short.join(", "));
        let chain = json!({
            "list": rule.list,
            "basis": rule.basis,
            "status": status_str(status),
            "listed_percent": pct(listed),
            "confirmed_percent": pct(confirmed),
            "owners": owners,
            "explanation": explanation,
        });
        Some(Derived {
            status,
            listed,
            confirmed,
            label,
            explanation,
            chain,
        })
    }

    /// The listed owners of party `a` on `list`: one text per owner, a short
    /// form of each, and their JSON. `path` holds the parties being explained,
    /// so a cycle is named instead of followed.
    fn explain(
        &self,
        a: usize,
        list: u16,
        path: &mut Vec<usize>,
        budget: &mut usize,
    ) -> (Vec<String>, Vec<String>, Vec<Value>) {
        let (mut parts, mut short, mut owners) = (Vec::new(), Vec::new(), Vec::new());
        let Some(party) = self.parties.get(a) else {
            return (parts, short, owners);
        };
        for o in &party.owners {
            let Some(status) = owner_marks(o, &self.effective).status_in(list) else {
                continue;
            };
            let p = pct(o.percent);
            let by_name = best(&o.listings, list);
            let via = o.account.and_then(|b| {
                let s = self.effective.get(b)?.status_in(list)?;
                Some((b, self.parties.get(b)?, s))
            });
            let mut owner = json!({
                "owner": o.index,
                "name": o.name,
                "percent": p,
                "status": status_str(status),
                "entries": o.listings.iter().filter(|l| l.list.bit() & list != 0).map(listing_json).collect::<Vec<_>>(),
            });
            // Explain by whichever basis gives the owner its status, the account's first.
            match (via, by_name) {
                (Some((b, account, s)), _) if s == status || by_name.is_none() => {
                    let kind = match account.kind {
                        PartyKind::Person => "person",
                        PartyKind::Organization => "org",
                    };
                    let (basis_text, basis) = self.basis(b, list, path, budget);
                    parts.push(format!("{p}% via {kind} \"{}\"{basis_text}", account.id));
                    short.push(format!("{p}% via {}", account.id));
                    if let Some(obj) = owner.as_object_mut() {
                        obj.insert("account".to_owned(), json!(account.id));
                        obj.insert("via".to_owned(), basis);
                    }
                }
                (_, Some(l)) => {
                    parts.push(format!(
                        "{p}% \"{}\" ({} {}, {})",
                        o.name,
                        l.list,
                        l.uid,
                        status_str(l.status)
                    ));
                    short.push(format!("{p}% {} {}", l.list, l.uid));
                }
                (_, None) => {}
            }
            owners.push(owner);
        }
        (parts, short, owners)
    }

    /// Why owner account `b` is listed on `list`: its own hit, or its owners.
    fn basis(
        &self,
        b: usize,
        list: u16,
        path: &mut Vec<usize>,
        budget: &mut usize,
    ) -> (String, Value) {
        let direct = self.direct.get(b).and_then(|m| m.status_in(list));
        if let (Some(_), Some(l)) = (
            direct,
            self.parties.get(b).and_then(|p| best(&p.listings, list)),
        ) {
            return (
                format!(" ({} {}, {})", l.list, l.uid, status_str(l.status)),
                json!({"entries": [listing_json(l)]}),
            );
        }
        if path.contains(&b) {
            return (" (ownership cycle)".to_owned(), json!({"cycle": true}));
        }
        if path.len() >= MAX_DEPTH || *budget == 0 {
            return (" (…)".to_owned(), json!({"truncated": true}));
        }
        *budget -= 1;
        path.push(b);
        let (parts, _, owners) = self.explain(b, list, path, budget);
        path.pop();
        let text = if parts.len() > 1 {
            format!(" ← ({})", parts.join(" + "))
        } else {
            format!(" ← {}", parts.join(""))
        };
        (text, json!({"owners": owners}))
    }
}

/// The ownership cycles among parties (each as party indices, starting at
/// the lowest), found by a depth-first walk that never revisits a party.
pub(super) fn cycles(parties: &[Party]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        New,
        OnPath,
        Done,
    }
    let mut colour = vec![Colour::New; parties.len()];
    let mut found: BTreeSet<Vec<usize>> = BTreeSet::new();
    for start in 0..parties.len() {
        if colour.get(start) != Some(&Colour::New) {
            continue;
        }
        // (party, next owner to look at); `path` mirrors the parties on it.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        let mut path: Vec<usize> = vec![start];
        if let Some(c) = colour.get_mut(start) {
            *c = Colour::OnPath;
        }
        while let Some(top) = stack.last_mut() {
            let (v, i) = *top;
            top.1 += 1;
            let owners = parties.get(v).map_or(&[][..], |p| p.owners.as_slice());
            let Some(o) = owners.get(i) else {
                if let Some(c) = colour.get_mut(v) {
                    *c = Colour::Done;
                }
                stack.pop();
                path.pop();
                continue;
            };
            let Some(w) = o.account else { continue };
            match colour.get(w) {
                Some(Colour::New) => {
                    if let Some(c) = colour.get_mut(w) {
                        *c = Colour::OnPath;
                    }
                    stack.push((w, 0));
                    path.push(w);
                }
                Some(Colour::OnPath) => {
                    if let Some(pos) = path.iter().position(|&x| x == w) {
                        let mut cycle: Vec<usize> = path.get(pos..).unwrap_or_default().to_vec();
                        if let Some(min) = cycle.iter().enumerate().min_by_key(|(_, x)| **x) {
                            let at = min.0;
                            cycle.rotate_left(at);
                        }
                        found.insert(cycle);
                    }
                }
                _ => {}
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests;
