//! Restricted-party screening status as a subject attribute.

use std::fmt;

/// A U.S. restricted-party list, by its Consolidated Screening List source code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RestrictedList {
    /// OFAC Specially Designated Nationals and Blocked Persons.
    Sdn,
    /// BIS Entity List.
    El,
    /// BIS Denied Persons List.
    Dpl,
    /// BIS Unverified List.
    Uvl,
    /// BIS Military End User List.
    Meu,
    /// State Department Nonproliferation Sanctions.
    Isn,
    /// State Department ITAR Debarred.
    Dtc,
    /// OFAC CAPTA List.
    Cap,
    /// OFAC Non-SDN Chinese Military-Industrial Complex Companies List.
    Cmic,
    /// OFAC Sectoral Sanctions Identifications List.
    Ssi,
    /// OFAC Foreign Sanctions Evaders.
    Fse,
    /// OFAC Palestinian Legislative Council List.
    Plc,
    /// OFAC Non-SDN Menu-Based Sanctions List.
    Mbs,
}

impl RestrictedList {
    /// Every list, in code order of declaration.
    pub const ALL: [RestrictedList; 13] = [
        RestrictedList::Sdn,
        RestrictedList::El,
        RestrictedList::Dpl,
        RestrictedList::Uvl,
        RestrictedList::Meu,
        RestrictedList::Isn,
        RestrictedList::Dtc,
        RestrictedList::Cap,
        RestrictedList::Cmic,
        RestrictedList::Ssi,
        RestrictedList::Fse,
        RestrictedList::Plc,
        RestrictedList::Mbs,
    ];

    /// The CSL source code, e.g. `SDN`.
    pub fn code(self) -> &'static str {
        match self {
            RestrictedList::Sdn => "SDN",
            RestrictedList::El => "EL",
            RestrictedList::Dpl => "DPL",
            RestrictedList::Uvl => "UVL",
            RestrictedList::Meu => "MEU",
            RestrictedList::Isn => "ISN",
            RestrictedList::Dtc => "DTC",
            RestrictedList::Cap => "CAP",
            RestrictedList::Cmic => "CMIC",
            RestrictedList::Ssi => "SSI",
            RestrictedList::Fse => "FSE",
            RestrictedList::Plc => "PLC",
            RestrictedList::Mbs => "MBS",
        }
    }

    /// Parses a code, case-insensitively.
    pub fn parse(s: &str) -> Option<RestrictedList> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(s))
    }

    /// A bit for this list in a `u16` mask.
    #[inline]
    pub const fn bit(self) -> u16 {
        1u16 << (self as u16)
    }
}

impl fmt::Display for RestrictedList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for RestrictedList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for RestrictedList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RestrictedList::parse(&s).ok_or_else(|| {
            let codes: Vec<&str> = RestrictedList::ALL.iter().map(|l| l.code()).collect();
            serde::de::Error::custom(format!(
                "unknown list `{s}`, expected one of {}",
                codes.join(", ")
            ))
        })
    }
}

/// Where a screening hit stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreeningStatus {
    /// A possible match awaiting a reviewer.
    Pending,
    /// A reviewer confirmed the subject is the listed party.
    Confirmed,
    /// A reviewer cleared the hit as a false positive.
    Cleared,
}

/// When, and against which list snapshot, a subject was last screened.
///
/// Written by re-screening for every account it screens; its absence, with no
/// `screening` list either, means the subject was never screened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Screened {
    /// The id of the list snapshot screened against.
    pub snapshot: i64,
    /// When the screening ran.
    pub at: jiff::Timestamp,
}

/// Why a hit is on record when the subject's own name did not match: a rule
/// that extends a listing to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitBasis {
    /// OFAC's 50 percent rule: owned 50 percent or more in the aggregate by
    /// blocked persons (SDN, and the SSI list).
    #[serde(rename = "ofac_50_percent")]
    Ofac50Percent,
    /// BIS's affiliates rule: a foreign entity owned 50 percent or more by
    /// Entity List or MEU parties. Counts only while the rule is in force
    /// ([`bis_affiliates_rule_in_force`]).
    BisAffiliates,
    /// The subject's employer (an individual's `organization`) is the listed
    /// party: dealing with an employee acting for it is dealing with it.
    Employer,
}

/// Whether BIS's affiliates rule is in force at `at`.
///
/// Published 2025-09-29 and in force from then; suspended for one year from
/// 2025-11-10 through 2026-11-09; in force again from 2026-11-10 unless BIS
/// acts (facts § 8 [V-secondary]). Whether the suspension was extended is not
/// known [U]: if it was, the third window must move.
pub fn bis_affiliates_rule_in_force(at: jiff::Timestamp) -> bool {
    // Midnight UTC: the Federal Register gives dates, not times.
    const PUBLISHED: i64 = 1_759_104_000; // 2025-09-29T00:00:00Z
    const SUSPENDED: i64 = 1_762_732_800; // 2025-11-10T00:00:00Z
    const REIMPOSED: i64 = 1_794_268_800; // 2026-11-10T00:00:00Z
    let t = at.as_second();
    (PUBLISHED..SUSPENDED).contains(&t) || t >= REIMPOSED
}

/// One screening hit on record for a subject.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningHit {
    /// The list the matched entry is on.
    pub list: RestrictedList,
    /// Review status.
    pub status: ScreeningStatus,
    /// The list's own id for the entry (e.g. the SDN `ent_num`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// For a hit the subject's own name did not make: the rule that extends
    /// the listing to it. `None` for a direct hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<HitBasis>,
}

impl ScreeningHit {
    /// Whether the hit counts at `at`: a hit by the BIS affiliates rule counts
    /// only while that rule is in force.
    pub fn counts_at(&self, at: jiff::Timestamp) -> bool {
        self.basis != Some(HitBasis::BisAffiliates) || bis_affiliates_rule_in_force(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_bis_affiliates_rule_is_in_force_only_outside_its_suspension() {
        for (at, in_force) in [
            ("2025-09-28T23:59:59Z", false),
            ("2025-09-29T00:00:00Z", true),
            ("2025-11-09T23:59:59Z", true),
            ("2025-11-10T00:00:00Z", false),
            ("2026-11-09T23:59:59Z", false),
            ("2026-11-10T00:00:00Z", true),
            ("2027-06-01T00:00:00Z", true),
        ] {
            assert_eq!(bis_affiliates_rule_in_force(t(at)), in_force, "{at}");
        }
    }

    #[test]
    fn only_an_affiliates_rule_hit_depends_on_the_date() {
        let hit = |basis| ScreeningHit {
            list: RestrictedList::El,
            status: ScreeningStatus::Confirmed,
            entry: None,
            basis,
        };
        let suspended = t("2026-01-01T00:00:00Z");
        assert!(!hit(Some(HitBasis::BisAffiliates)).counts_at(suspended));
        assert!(hit(Some(HitBasis::Ofac50Percent)).counts_at(suspended));
        assert!(hit(None).counts_at(suspended));
        let json = serde_json::to_string(&hit(Some(HitBasis::Ofac50Percent))).unwrap();
        assert!(json.contains("\"ofac_50_percent\""), "{json}");
    }
}
